#!/usr/bin/env bash
# NDES page users are limited to profiles (README "Security model"):
# `scepgw user add NAME --profile P[,P]` (repeatable), "default" when none
# is given; `user set NAME --profile ...` changes them; `user list` shows
# them. A challenge fetched from the page is
# bound to one of the user's profiles (`?profile=NAME`, else the first),
# refused unconsumed on every other profile, and a profile the user does
# not have gets NDES's "sufficient permission" page and no challenge.
. "$GW_SRC/tests/integration/lib.sh"
gw_need iconv perl
gw_tmpdir
gw_start_sim
gw_init
(umask 077 && openssl rand -base64 24 >"$T/static.txt")
# Many refusals on purpose: keep the failure limit out of the way.
gw_conf_set enroll max_failures_per_minute 100
gw_conf_set "profile kiosk" ou Kiosks
gw_conf_set "profile vpn" ou VPN
gw_conf_set "profile shared" challenge static
gw_conf_set "profile shared" static_challenge_file "$T/static.txt"

# user_add NAME ARGS...: `scepgw user add` with password NAME-pw.
user_add() {
	local name=$1
	shift
	printf '%s-pw\n' "$name" |
	    "$GW_BUILD/scepgw" user add "$name" "$@" -c "$GW_CONF" >>"$T/user.out" 2>&1
}
user_add mdm || gw_fail "user add mdm: $(cat "$T/user.out")"
user_add kio --profile kiosk || gw_fail "user add --profile kiosk: $(cat "$T/user.out")"
user_add multi --profile vpn,kiosk --profile default ||
    gw_fail "user add with three profiles: $(cat "$T/user.out")"
rc=0
user_add typo --profile nosuch || rc=$?
gw_assert_eq 1 "$rc" "user add --profile nosuch"
gw_assert_contains "$T/user.out" 'no \[profile nosuch\]'
rc=0
user_add stat --profile shared || rc=$?
gw_assert_eq 1 "$rc" "user add --profile of a static-only profile"
gw_assert_contains "$T/user.out" 'takes only its static challenge'
rc=0
user_add twice --profile kiosk,kiosk || rc=$?
gw_assert_eq 2 "$rc" "user add with a repeated profile"
"$GW_BUILD/scepgw" user list -c "$GW_CONF" >"$T/users.txt"
gw_assert_contains "$T/users.txt" '^name +rights +created +profiles +hash'
gw_assert_contains "$T/users.txt" '^mdm +can_issue .* default +scrypt'
gw_assert_contains "$T/users.txt" '^kio +can_issue .* kiosk +scrypt'
gw_assert_contains "$T/users.txt" '^multi +can_issue .* vpn,kiosk,default +scrypt'
gw_assert_not_contains "$T/users.txt" '^(typo|stat|twice) '
SIM_ORDERS0=$(sim_orders)
gw_start
BASE=http://127.0.0.1:$GW_PORT

# fetch USER [QUERY]: the page's challenge (empty when it gave none); the
# decoded page is in $T/page.txt.
fetch() {
	curl -fsS -m 30 -u "$1:$1-pw" -o "$T/page.raw" \
	    "$BASE/certsrv/mscep_admin/${2:+?$2}" || gw_fail "page for $1 $2"
	iconv -f UTF-16 -t UTF-8 "$T/page.raw" >"$T/page.txt" || gw_fail "not UTF-16"
	perl -ne 'print "$1\n" if /The enrollment challenge password is: <B> (\S+)/i' "$T/page.txt"
}
unused() {
	"$GW_BUILD/scepgw" challenge list -c "$GW_CONF" | awk '$2 == "unused"' | wc -l
}

# A user without --profile: its challenges are for the default profile
# only, however many profiles the gateway serves.
c=$(fetch mdm)
[ -n "$c" ] || gw_fail "mdm got no challenge: $(cat "$T/page.txt")"
GW_URL=$BASE/scep/kiosk enroll_expect m1 FAILURE --challenge "$c" --cn m1
gw_assert_contains "$T/scepgw.log" 'issued for profile default, used on profile kiosk'
GW_URL=$BASE/scep/vpn enroll_expect m2 FAILURE --challenge "$c" --cn m2
gw_assert_eq 1 "$(unused)" "refusals left the challenge unused"
enroll_expect m3 SUCCESS --challenge "$c" --cn m3
gw_assert_contains "$T/scepgw.log" 'ndes: user=mdm: challenge id=[0-9]+ issued for profile default'

# A user limited to kiosk.
c=$(fetch kio)
[ -n "$c" ] || gw_fail "kio got no challenge"
enroll_expect k1 FAILURE --challenge "$c" --cn k1
GW_URL=$BASE/scep/vpn enroll_expect k2 FAILURE --challenge "$c" --cn k2
GW_URL=$BASE/scep/kiosk enroll_expect k3 SUCCESS --challenge "$c" --cn k3
openssl x509 -in "$T/k3.pem" -noout -subject -nameopt RFC2253 >"$T/k3.subj"
gw_assert_contains "$T/k3.subj" 'OU=Kiosks'
# ... who asks for another profile gets NDES's permission page.
n0=$(unused)
c=$(fetch kio profile=vpn)
[ -z "$c" ] || gw_fail "kio got a challenge for vpn"
gw_assert_contains "$T/page.txt" 'You do not have sufficient permission to enroll with SCEP\.'
gw_assert_contains "$T/scepgw.log" "ndes: user=kio: refused: profile not among the user's \(kiosk\)"
c=$(fetch kio 'profile=kiosk%0Aforged')
[ -z "$c" ] || gw_fail "kio got a challenge for a forged profile name"
gw_assert_not_contains "$T/scepgw.log" 'forged'
gw_assert_eq "$n0" "$(unused)" "challenges stored for refused profiles"

# A user with several: the first by default, the others by ?profile=.
c=$(fetch multi)
GW_URL=$BASE/scep/kiosk enroll_expect u1 FAILURE --challenge "$c" --cn u1
GW_URL=$BASE/scep/vpn enroll_expect u2 SUCCESS --challenge "$c" --cn u2
c=$(fetch multi profile=kiosk)
GW_URL=$BASE/scep/vpn enroll_expect u3 FAILURE --challenge "$c" --cn u3
GW_URL=$BASE/scep/kiosk enroll_expect u4 SUCCESS --challenge "$c" --cn u4
c=$(fetch multi profile=default)
GW_URL=$BASE/scep/default enroll_expect u5 SUCCESS --challenge "$c" --cn u5
c=$(fetch multi profile=shared)
[ -z "$c" ] || gw_fail "multi got a challenge for a profile it does not have"
gw_assert_eq 5 "$(sim_orders)" "orders at epki-sim"

# `user set` changes a user's profiles, and the page follows at once.
"$GW_BUILD/scepgw" user set kio --profile vpn -c "$GW_CONF" >"$T/set.out" 2>&1 ||
    gw_fail "user set: $(cat "$T/set.out")"
c=$(fetch kio)
GW_URL=$BASE/scep/kiosk enroll_expect s1 FAILURE --challenge "$c" --cn s1
GW_URL=$BASE/scep/vpn enroll_expect s2 SUCCESS --challenge "$c" --cn s2
for args in "nobody --profile vpn:1" "kio:2" "kio --no-issue --profile vpn:2" \
    "kio --profile nosuch:1" "kio --profile shared:1"; do
	rc=0
	# shellcheck disable=SC2086 # word splitting wanted
	"$GW_BUILD/scepgw" user set ${args%:*} -c "$GW_CONF" >/dev/null 2>&1 || rc=$?
	gw_assert_eq "${args##*:}" "$rc" "user set ${args%:*}"
done
"$GW_BUILD/scepgw" user list -c "$GW_CONF" >"$T/users.txt"
gw_assert_contains "$T/users.txt" '^kio +can_issue .* vpn +scrypt'
gw_assert_eq 6 "$(sim_orders)" "orders at epki-sim"
gw_stop
