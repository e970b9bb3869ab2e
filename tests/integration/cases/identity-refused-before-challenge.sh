#!/usr/bin/env bash
# The identity a certificate gets is decided by the gateway and checked
# before the challenge is spent (README "Identity templates"): a CSR
# asking for a UPN it was not given, a CN with a control character, a CN
# longer than GlobalSign's 64, an e-mail that is no address or is outside
# the profile's email_domains, and a CSR with two subjectAltName
# extensions each get FAILURE badRequest with a log line naming the field;
# the challenge stays unused and nothing is ordered. The same challenges
# then enroll.
. "$GW_SRC/tests/integration/lib.sh"
gw_need openssl curl
gw_tmpdir
gw_start_sim
gw_init
gw_conf_set "profile long" subject_cn 'kiosk-${csr.cn}'
gw_conf_set "profile smime" email_domains 'example.com, example.org'
SIM_ORDERS0=$(sim_orders)
gw_start
base=${GW_URL%/scep}

# csr NAME CHALLENGE DN-LINES [EXT-LINES]: $T/NAME.key and $T/NAME.csr.
csr() {
	local name=$1 c=$2 dn=$3 ext=${4:-}
	openssl genrsa -out "$T/$name.key" 2048 2>/dev/null
	openssl req -new -key "$T/$name.key" -out "$T/$name.csr" -config <(
		printf '[req]\ndistinguished_name=dn\nattributes=att\nprompt=no\n'
		printf 'string_mask=utf8only\nutf8=yes\n'
		[ -n "$ext" ] && printf 'req_extensions=ext\n'
		printf '[dn]\n%b\n[att]\nchallengePassword=%s\n' "$dn" "$c"
		[ -n "$ext" ] && printf '[ext]\n%s\n' "$ext"
	) || gw_fail "openssl req for $name"
}

# state ID: the state `challenge list` shows for challenge ID.
state() {
	"$GW_BUILD/scepgw" challenge list -c "$GW_CONF" | awk -v id="$1" '$1 == id { print $2 }'
}

# refused NAME URL LOG-ERE: FAILURE badRequest, the log says why.
refused() {
	GW_URL=$2 enroll_expect "$1" FAILURE --csr "$T/$1.csr"
	gw_assert_contains "$T/$1.out" "failinfo=badRequest" "$1"
	gw_assert_contains "$T/scepgw.log" "$3" "$1 log"
}

bound=$(gw_challenge --cn alice)
bound_id=$("$GW_BUILD/scepgw" challenge list -c "$GW_CONF" | awk 'END { print $1 }')
plain=$(gw_challenge)
plain_id=$("$GW_BUILD/scepgw" challenge list -c "$GW_CONF" | awk 'END { print $1 }')

# A challenge bound to cn=alice; the CSR asks for the administrator's UPN.
csr upn "$bound" 'CN=whatever' \
    'subjectAltName=otherName:1.3.6.1.4.1.311.20.2.3;UTF8:administrator@corp.example'
refused upn "$GW_URL" "asks for UPN administrator@corp.example, the UPN decided is none"

# A CN with a control character (it could never be ordered).
csr ctl "$plain" 'CN=evil\001name'
refused ctl "$GW_URL" "subject_cn refused: not valid UTF-8, or has a control character"

# A CN of 66 characters once the profile's template is applied.
csr long "$plain" "CN=$(printf 'x%.0s' {1..60})"
refused long "$base/scep/long" "profile long: subject_cn refused: 66 characters; at most 64"

# An e-mail that is no address.
csr mail "$plain" 'CN=mail\nemailAddress=a@@example.com'
refused mail "$GW_URL" "email refused: not an e-mail address"

# An e-mail outside the profile's email_domains.
csr dom "$plain" 'CN=ceo' 'subjectAltName=email:ceo@other.example'
refused dom "$base/scep/smime" "profile smime: email refused: ceo@other.example is not in email_domains"

# Two subjectAltName extensions: the second (an e-mail) would hide the first.
csr two "$bound" 'CN=two' \
    "$(printf '%s\n%s' 'subjectAltName=otherName:1.3.6.1.4.1.311.20.2.3;UTF8:administrator@corp.example' \
	'2.5.29.17=DER:300f810d62406578616d706c652e636f6d')"
refused two "$GW_URL" "CSR refused: two subjectAltName extensions"

gw_assert_eq unused "$(state "$bound_id")" "bound challenge after the refusals"
gw_assert_eq unused "$(state "$plain_id")" "plain challenge after the refusals"
gw_assert_eq 0 "$(sim_orders)" "orders at epki-sim after the refusals"

# Bindings GlobalSign could not take are refused when the challenge is made.
for bad in "--cn $(printf 'y%.0s' {1..65})" "--ou $(printf 'y%.0s' {1..65})" \
    "--email not-an-address" "--upn no-at-sign" "--cn $(printf 'a\001b')"; do
	rc=0
	# shellcheck disable=SC2086
	"$GW_BUILD/scepgw" challenge new -c "$GW_CONF" $bad >/dev/null 2>"$T/bad.err" || rc=$?
	gw_assert_eq 2 "$rc" "challenge new $bad"
done

rc=0
"$GW_BUILD/scepgw" challenge new -c "$GW_CONF" --profile smime \
    --email ceo@other.example >/dev/null 2>"$T/dom.err" || rc=$?
gw_assert_eq 1 "$rc" "challenge new --email outside the profile's email_domains"
gw_assert_contains "$T/dom.err" "not in \[profile smime\] email_domains"

# The same challenges, asked properly, enroll.
csr good "$bound" 'CN=whatever'
GW_URL=$GW_URL enroll_expect good SUCCESS --csr "$T/good.csr"
assert_issued good
openssl x509 -in "$T/good.pem" -noout -subject -nameopt RFC2253 >"$T/good.subj"
gw_assert_contains "$T/good.subj" "CN=alice"
csr okmail "$plain" 'CN=bob' 'subjectAltName=email:bob@Example.ORG'
GW_URL=$base/scep/smime enroll_expect okmail SUCCESS --csr "$T/okmail.csr"
assert_issued okmail
openssl x509 -in "$T/okmail.pem" -noout -ext subjectAltName >"$T/okmail.san" 2>&1
gw_assert_contains "$T/okmail.san" "bob@Example.ORG"
gw_assert_eq used "$(state "$bound_id")" "bound challenge"
gw_assert_eq used "$(state "$plain_id")" "plain challenge"
gw_assert_eq 2 "$(sim_orders)" "orders at epki-sim"
gw_stop
