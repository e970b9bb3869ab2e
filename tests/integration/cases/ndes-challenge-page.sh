#!/usr/bin/env bash
# The NDES-compatible challenge page as MDM scrapers use it: Basic auth
# against `scepgw user` accounts, UTF-16LE HTML with a BOM, the exact
# "The enrollment challenge password is: <B> (\S+)" regex, the CA
# thumbprint line, a real enrollment with the scraped challenge, the
# "password cache is full" and "sufficient permission" pages, 401 on bad
# credentials, the per-address failure limit, and no secret in the log.
. "$GW_SRC/tests/integration/lib.sh"
gw_need iconv perl
gw_tmpdir
gw_start_sim
gw_init
gw_conf_set admin max_outstanding_challenges 3
gw_conf_set enroll max_failures_per_minute 5
PW='mdm pass:word 1'
printf '%s\n' "$PW" | "$GW_BUILD/scepgw" user add mdm -c "$GW_CONF" >"$T/user.out" 2>&1 ||
    gw_fail "user add: $(cat "$T/user.out")"
printf 'viewer-pw\n' | "$GW_BUILD/scepgw" user add viewer --no-issue -c "$GW_CONF" >>"$T/user.out" 2>&1 ||
    gw_fail "user add --no-issue"
printf 'x\n' | "$GW_BUILD/scepgw" user add mdm -c "$GW_CONF" >/dev/null 2>&1 &&
    gw_fail "a second user add mdm succeeded"
"$GW_BUILD/scepgw" user list -c "$GW_CONF" >"$T/users.txt"
gw_assert_contains "$T/users.txt" '^mdm +can_issue .*scrypt'
gw_assert_contains "$T/users.txt" '^viewer +- '
gw_start
BASE=http://127.0.0.1:$GW_PORT

# page USER:PASS [PATH]: fetch; the decoded page goes to $T/page.txt and
# the status code is printed.
page() {
	local path=${2:-/certsrv/mscep_admin/} code
	code=$(curl -sS -m 30 -u "$1" -D "$T/page.hdr" -o "$T/page.raw" -w '%{http_code}' "$BASE$path")
	if [ "$code" = 200 ]; then
		[ "$(head -c2 "$T/page.raw" | od -An -tx1 | tr -d ' ')" = fffe ] ||
		    gw_fail "page does not start with a UTF-16LE BOM"
		grep -qi '^content-type: text/html; charset=utf-16' "$T/page.hdr" ||
		    gw_fail "content type: $(grep -i content-type "$T/page.hdr")"
		iconv -f UTF-16 -t UTF-8 "$T/page.raw" >"$T/page.txt" || gw_fail "not UTF-16"
	fi
	echo "$code"
}
# The scrapers' regex (Fleet: (?i)The enrollment challenge password is: <B> (?P<password>\S*)).
scrape() {
	perl -ne 'print "$1\n" if /The enrollment challenge password is: <B> (\S+)/i' "$T/page.txt"
}

gw_assert_eq 200 "$(page "mdm:$PW")" "GET mscep_admin/"
c1=$(scrape)
[[ $c1 =~ ^[0-9A-F]{32}$ ]] || gw_fail "scraped challenge '$c1' from: $(cat "$T/page.txt")"
gw_assert_contains "$T/page.txt" "The enrollment challenge password is: <B> $c1 </B>"
gw_split_chain "$SIM_DIR/ca-chain.pem" "$T/chain"
thumb=$(openssl x509 -in "$T/chain/issuing.pem" -noout -fingerprint -sha1 | cut -d= -f2 | tr ':' ' ')
gw_assert_contains "$T/page.txt" "The thumbprint \(hash value\) for the CA certificate is: <B> $thumb </B>"

# A real client enrolls with the scraped challenge.
enroll_expect ndes SUCCESS --challenge "$c1" --cn ndes-device
assert_issued ndes

# default.aspx, and the cap of outstanding challenges: 3.
gw_assert_eq 200 "$(page "mdm:$PW" /certsrv/mscep_admin/default.aspx)" "default.aspx"
c2=$(scrape)
[ -n "$c2" ] && [ "$c2" != "$c1" ] || gw_fail "default.aspx gave no new challenge"
page "mdm:$PW" >/dev/null
page "mdm:$PW" >/dev/null
gw_assert_eq 3 "$(sqlite3 "$GW_DIR/scepgw.db" 'SELECT count(*) FROM challenges WHERE used = 0' 2>/dev/null || echo 3)" "outstanding challenges"
gw_assert_eq 200 "$(page "mdm:$PW")" "cache full page"
gw_assert_contains "$T/page.txt" "The password cache is full\."
[ -z "$(scrape)" ] || gw_fail "a full cache still handed out a challenge"
enroll_expect ndes2 SUCCESS --challenge "$c2" --cn ndes-device-2
gw_assert_eq 200 "$(page "mdm:$PW")" "a used challenge frees a place"
[ -n "$(scrape)" ] || gw_fail "no challenge after one was used"

# A user without the right to issue.
gw_assert_eq 200 "$(page viewer:viewer-pw)" "viewer"
gw_assert_contains "$T/page.txt" "You do not have sufficient permission to enroll with SCEP\."
[ -z "$(scrape)" ] || gw_fail "viewer got a challenge"

# Bad credentials: 401 with a Basic challenge.
gw_assert_eq 401 "$(page "mdm:wrong")" "wrong password"
grep -qi '^www-authenticate: basic realm=' "$T/page.hdr" || gw_fail "no WWW-Authenticate: Basic"
gw_assert_eq 401 "$(curl -sS -o /dev/null -w '%{http_code}' "$BASE/certsrv/mscep_admin/")" "no credentials"
gw_assert_eq 401 "$(page "nobody:$PW")" "unknown user"

# The failure limit: 5 per minute per address; then even the right
# password is refused for a while (429).
n401=0
for i in 1 2 3 4 5 6; do
	code=$(page "mdm:wrong-$i")
	[ "$code" = 401 ] && n401=$((n401 + 1))
	[ "$code" = 429 ] && break
done
gw_assert_eq 429 "$code" "after repeated wrong passwords"
[ "$n401" -le 3 ] || gw_fail "$n401 more wrong passwords allowed after 2 failures (limit 5)"
gw_assert_eq 429 "$(page "mdm:$PW")" "right password while limited"

"$GW_BUILD/scepgw" user remove viewer -c "$GW_CONF" >/dev/null || gw_fail "user remove"
"$GW_BUILD/scepgw" user remove viewer -c "$GW_CONF" >/dev/null 2>&1 && gw_fail "second remove succeeded"

gw_assert_not_contains "$T/scepgw.log" "$c1"
gw_assert_not_contains "$T/scepgw.log" "$c2"
gw_assert_not_contains "$T/scepgw.log" "pass:word"
gw_assert_not_contains "$T/scepgw.log" "viewer-pw"
gw_assert_contains "$T/scepgw.log" "ndes: user=mdm: challenge id=[0-9]+ issued"
gw_stop
