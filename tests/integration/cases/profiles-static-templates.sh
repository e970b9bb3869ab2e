#!/usr/bin/env bash
# [profile NAME] sections (README "Profiles"): /scep/kiosk enrolls with
# its static challenge, many times, under its own EPKI profile and
# identity templates; a static secret under 128 bits stops the start; the
# static secret is never logged and is refused on the default path; an
# unknown profile is 404; a template variable with no value and
# require_binding both refuse without consuming the challenge; a challenge
# issued for one profile is refused on the others.
. "$GW_SRC/tests/integration/lib.sh"
gw_need openssl curl python3
gw_tmpdir
gw_start_sim
gw_init
# A static secret under 128 bits (README "Security model") stops the start,
# naming the file but not the secret: 31 hex digits, one short of 32.
short=$(openssl rand -hex 16)
short=${short:1}
(umask 077 && printf '%s\n' "$short" >"$T/static.txt")
gw_conf_set "profile kiosk" challenge static
gw_conf_set "profile kiosk" static_challenge_file "$T/static.txt"
rc=0
gw_run "$T/serve-short.log" 10 "$GW_BUILD/scepgw" serve -c "$GW_CONF" || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] ||
    gw_fail "serve started with a 124-bit static secret"
gw_assert_contains "$T/serve-short.log" \
    'static.txt: the secret is 31 hex digits, under 128 bits'
gw_assert_not_contains "$T/serve-short.log" "$short"
secret=kiosk-$(openssl rand -hex 16)
(umask 077 && printf '%s\n' "$secret" >"$T/static.txt")
gw_conf_set "profile kiosk" subject_cn 'kiosk-${csr.cn}'
gw_conf_set "profile kiosk" ou Kiosks
gw_conf_set "profile bound" require_binding yes
gw_conf_set "profile upn" email '${csr.upn}'
SIM_ORDERS0=$(sim_orders)
gw_start
base=${GW_URL%/scep}

# Paths: the alias suffix is not a profile; an unknown name is 404.
for p in /scep/pkiclient.exe /scep/kiosk /scep/kiosk/pkiclient.exe /scep/default; do
	code=$(curl -s -o /dev/null -w '%{http_code}' "$base$p?operation=GetCACaps")
	gw_assert_eq 200 "$code" "GetCACaps at $p"
done
for p in /scep/nosuch /scep/bad.name /scepx; do
	code=$(curl -s -o /dev/null -w '%{http_code}' "$base$p?operation=GetCACaps")
	gw_assert_eq 404 "$code" "GetCACaps at $p"
done

# The static challenge, twice; the CN from the template, OU literal.
GW_URL=$base/scep/kiosk enroll_expect k1 SUCCESS --challenge "$secret" --cn k1
GW_URL=$base/scep/kiosk enroll_expect k2 SUCCESS --challenge "$secret" --cn k2
assert_issued k1
openssl x509 -in "$T/k1.pem" -noout -subject -nameopt RFC2253 >"$T/k1.subj"
gw_assert_contains "$T/k1.subj" "CN=kiosk-k1"
gw_assert_contains "$T/k1.subj" "OU=Kiosks"
GW_URL=$base/scep/kiosk enroll_expect k3 FAILURE --challenge "wrong-$secret" --cn k3
# The static secret is not a one-time challenge of the default profile.
enroll_expect d1 FAILURE --challenge "$secret" --cn d1
gw_assert_eq 2 "$(sim_orders)" "orders at epki-sim"

# require_binding: a challenge without identity is refused, not consumed.
plain=$(gw_challenge)
GW_URL=$base/scep/bound enroll_expect b1 FAILURE --challenge "$plain" --cn b1
gw_assert_contains "$T/scepgw.log" "requires a challenge issued with an identity"
bound=$(gw_challenge --cn bob)
GW_URL=$base/scep/bound enroll_expect b2 SUCCESS --challenge "$bound" --cn ignored
openssl x509 -in "$T/b2.pem" -noout -subject -nameopt RFC2253 >"$T/b2.subj"
gw_assert_contains "$T/b2.subj" "CN=bob"

# A variable without a value: FAILURE, logged by name; challenge kept.
GW_URL=$base/scep/upn enroll_expect u1 FAILURE --challenge "$plain" --cn u1
gw_assert_contains "$T/scepgw.log" "no value for variable csr.upn"
"$GW_BUILD/scepgw" challenge list -c "$GW_CONF" | awk '$2 == "unused"' | grep -q . ||
    gw_fail "a refused enrollment consumed its challenge"
GW_URL=$base/scep/default enroll_expect d2 SUCCESS --challenge "$plain" --cn d2
gw_assert_eq 4 "$(sim_orders)" "orders at epki-sim"

# A challenge issued for one profile works there only.
forbound=$(gw_challenge --cn carol --profile bound)
enroll_expect p1 FAILURE --challenge "$forbound" --cn p1
gw_assert_contains "$T/scepgw.log" "issued for profile bound, used on profile default"
GW_URL=$base/scep/bound enroll_expect p2 SUCCESS --challenge "$forbound" --cn p2
gw_assert_eq 5 "$(sim_orders)" "orders at epki-sim"
rc=0
"$GW_BUILD/scepgw" challenge new -c "$GW_CONF" --profile nosuch >/dev/null 2>&1 || rc=$?
gw_assert_eq 1 "$rc" "challenge new for an unknown profile"

gw_assert_not_contains "$T/scepgw.log" "$secret"
gw_stop
