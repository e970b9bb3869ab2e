#!/usr/bin/env bash
# ctest-labels: long
# The admin web console in a real browser (README "Admin web console"):
# headless Chromium through Selenium (tests/lib/console-browser.py)
# against a gateway and epki-sim: log in as admin, the dashboard, no
# browser console errors, a form posted without its CSRF token is 403,
# the console does not load inside a foreign page's iframe, log out; then,
# with a two-second [console] absolute_seconds, the expired session sends
# the browser to the login page. Also an administrator's round trip:
# create a challenge, fetch its .mobileconfig, enroll a device with it,
# find the enrollment and its history, revoke its certificate at
# GlobalSign after the confirmation, log out. Screenshots of each page are kept in
# $GW_BUILD/test-output/console-browser/.
. "$GW_SRC/tests/integration/lib.sh"
gw_need curl openssl chromium chromedriver
PY=/usr/bin/python3
[ -x "$PY" ] && "$PY" -c 'import selenium' 2>/dev/null ||
    gw_skip "python3-selenium is not installed"
gw_tmpdir
OUT=$GW_BUILD/test-output/console-browser
rm -rf "$OUT"
mkdir -p "$OUT"
gw_start_sim
gw_init
gw_admin_enable
printf 'adm pw\n' | "$GW_BUILD/scepgw" user add root --role admin \
    -c "$GW_CONF" >"$T/user.out" 2>&1 || gw_fail "user add: $(cat "$T/user.out")"
gw_start
enroll_expect b1 SUCCESS --challenge "$(gw_challenge)" --cn 'browser <b>one</b>'

# A foreign page (another origin) that frames the console.
mkdir -p "$T/www"
printf '<!DOCTYPE html><html><body><iframe src="%s/ui/login" width="600" height="400"></iframe></body></html>\n' \
    "$GW_ADMIN_URL" >"$T/www/frame.html"
WWW_PORT=$(gw_free_port)
gw_spawn "$T/www.log" "$PY" -m http.server --bind 127.0.0.1 --directory "$T/www" "$WWW_PORT"
for ((i = 0; i < 100; i++)); do
	curl -fsS -o /dev/null "http://127.0.0.1:$WWW_PORT/frame.html" 2>/dev/null && break
	sleep 0.1
done

gw_run "$T/browser-main.log" 240 "$PY" "$GW_SRC/tests/lib/console-browser.py" main \
    "$GW_ADMIN_URL" "$OUT" "http://127.0.0.1:$WWW_PORT/frame.html" root 'adm pw' ||
    gw_fail "browser, main: $(cat "$T/browser-main.log")"
for f in 01-login 02-dashboard 03-csrf-refused 04-framed 05-logged-out; do
	[ -s "$OUT/$f.png" ] || gw_fail "no screenshot $f.png"
done
gw_assert_contains "$T/scepgw.log" 'console: user=root: /ui/logout refused: CSRF token missing or wrong'

# The administrator's round trip: a challenge, its .mobileconfig, a
# device enrolled with it, its enrollment and history, its certificate
# revoked at GlobalSign after the confirmation.
R0=$(sim_state calls.Revoke)
SCEPREQ=$GW_BUILD/scepreq gw_run "$T/browser-flow.log" 300 "$PY" \
    "$GW_SRC/tests/lib/console-browser.py" flow "$GW_ADMIN_URL" "$OUT" - root 'adm pw' ||
    gw_fail "browser, flow: $(cat "$T/browser-flow.log")"
for f in f01-login f02-dashboard f03-challenge f04-enrollments f05-history \
    f06-certificate f07-confirm f08-revoked f09-logged-out; do
	[ -s "$OUT/$f.png" ] || gw_fail "no screenshot $f.png"
done
SERIAL=$(sed -n 's/^serial //p' "$T/browser-flow.log")
[ -n "$SERIAL" ] || gw_fail "the flow named no serial"
gw_assert_eq $((R0 + 1)) "$(sim_state calls.Revoke)" "GlobalSign's Revoke calls after the flow"
"$GW_BUILD/scepgw" cert list -c "$GW_CONF" >"$T/certs.txt" || gw_fail "cert list"
gw_assert_contains "$T/certs.txt" "$SERIAL .*REVOKED"
gw_assert_contains "$T/scepgw.log" 'mobileconfig of challenge [0-9]+ downloaded'

gw_stop
gw_conf_set console absolute_seconds 2
gw_start
gw_run "$T/browser-expire.log" 240 "$PY" "$GW_SRC/tests/lib/console-browser.py" expire \
    "$GW_ADMIN_URL" "$OUT" - root 'adm pw' ||
    gw_fail "browser, expiry: $(cat "$T/browser-expire.log")"
[ -s "$OUT/06-expired-to-login.png" ] || gw_fail "no screenshot of the expired session"
gw_assert_contains "$T/scepgw.log" 'console: user=root: session expired'
gw_stop
