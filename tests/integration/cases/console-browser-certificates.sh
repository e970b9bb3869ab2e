#!/usr/bin/env bash
# ctest-labels: long
# The console's certificates in a real browser (README "Admin web
# console"): headless Chromium through Selenium (tests/lib/console-
# browser.py, mode certificates) against a gateway and epki-sim: the admin
# finds an enrolled device's certificate by CN, opens it (the SHA-256
# fingerprint openssl prints), revokes it after the confirmation page and
# sees it REVOKED, and GlobalSign got exactly that call; a viewer sees no
# revoke button on another certificate and a POST crafted with the
# viewer's own CSRF token is refused, the certificate stays valid. No
# browser console errors; screenshots in
# $GW_BUILD/test-output/console-browser-certificates/.
. "$GW_SRC/tests/integration/lib.sh"
gw_need curl openssl chromium chromedriver
PY=/usr/bin/python3
[ -x "$PY" ] && "$PY" -c 'import selenium' 2>/dev/null ||
    gw_skip "python3-selenium is not installed"
gw_tmpdir
OUT=$GW_BUILD/test-output/console-browser-certificates
rm -rf "$OUT"
mkdir -p "$OUT"
gw_start_sim
gw_init
gw_admin_enable
for u in 'root adm-pw admin' 'view view-pw viewer'; do
	set -- $u
	printf '%s\n' "$2" | "$GW_BUILD/scepgw" user add "$1" --role "$3" \
	    -c "$GW_CONF" >>"$T/user.out" 2>&1 || gw_fail "user add $1: $(cat "$T/user.out")"
done
gw_start
enroll_expect one SUCCESS --challenge "$(gw_challenge --cn browser-cert-one)"
enroll_expect two SUCCESS --challenge "$(gw_challenge --cn browser-cert-two)"
s1=$(openssl x509 -in "$T/one.pem" -noout -serial | cut -d= -f2)
s2=$(openssl x509 -in "$T/two.pem" -noout -serial | cut -d= -f2)
fp=$(openssl x509 -in "$T/one.pem" -noout -fingerprint -sha256 | cut -d= -f2)
r0=$(sim_state calls.Revoke)

gw_run "$T/browser.log" 240 "$PY" "$GW_SRC/tests/lib/console-browser.py" certificates \
    "$GW_ADMIN_URL" "$OUT" - root adm-pw browser-cert-one "$s1" "$fp" view view-pw "$s2" ||
    gw_fail "browser, certificates: $(cat "$T/browser.log")"
for f in 01-certificates 02-found 03-detail 04-confirm 05-revoked 06-viewer-detail 07-viewer-refused; do
	[ -s "$OUT/$f.png" ] || gw_fail "no screenshot $f.png"
done
gw_assert_eq $((r0 + 1)) "$(sim_state calls.Revoke)" "one Revoke call, the admin's"
gw_assert_contains "$T/scepgw.log" "console: user=root: revoke serial=$s1 order=.* reason=keyCompromise: revoked"
gw_assert_contains "$T/scepgw.log" "console: user=view: /ui/certificates/$s2/revoke refused: a viewer changes nothing"
"$GW_BUILD/scepgw" cert list -c "$GW_CONF" >"$T/list.out"
gw_assert_contains "$T/list.out" "^$s1 .*REVOKED"
gw_assert_not_contains "$T/list.out" "^$s2 .*REVOKED"
gw_stop
