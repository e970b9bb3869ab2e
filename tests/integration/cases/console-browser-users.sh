#!/usr/bin/env bash
# ctest-labels: long
# The console's users page in a real browser (README "Admin web
# console", Users): headless Chromium through Selenium
# (tests/lib/console-browser.py, mode users) logs in as admin, sees on
# the dashboard GlobalSign's last error (a refused login) with its fix, adds a
# viewer with the form, sees it listed, removes it through the
# confirmation page and sees it gone, with no browser console errors;
# `scepgw user list` agrees. Screenshots in
# $GW_BUILD/test-output/console-browser-users/.
. "$GW_SRC/tests/integration/lib.sh"
gw_need curl openssl chromium chromedriver
PY=/usr/bin/python3
[ -x "$PY" ] && "$PY" -c 'import selenium' 2>/dev/null ||
    gw_skip "python3-selenium is not installed"
gw_tmpdir
OUT=$GW_BUILD/test-output/console-browser-users
rm -rf "$OUT"
mkdir -p "$OUT"
gw_start_sim
gw_init
gw_admin_enable
printf 'adm pw\n' | "$GW_BUILD/scepgw" user add root --role admin \
    -c "$GW_CONF" >"$T/user.out" 2>&1 || gw_fail "user add: $(cat "$T/user.out")"
gw_start
# The last call to GlobalSign fails with a refused login (-4001): the
# dashboard shows it with its fix.
enroll_expect ok SUCCESS --challenge "$(gw_challenge)" --cn ok
curl -fsS -m 10 -d 'fault=login&op=OrderAndIssueCertificate&count=1' \
    "http://127.0.0.1:$SIM_PORT/sim/fault" >/dev/null || gw_fail "sim fault"
enroll_expect bad FAILURE --challenge "$(gw_challenge)" --cn bad

gw_run "$T/browser-users.log" 240 "$PY" "$GW_SRC/tests/lib/console-browser.py" users \
    "$GW_ADMIN_URL" "$OUT" - root 'adm pw' ||
    gw_fail "browser, users: $(cat "$T/browser-users.log")"
for f in 00-dashboard-epki-error 01-users 02-user-added 03-remove-confirm 04-user-removed; do
	[ -s "$OUT/$f.png" ] || gw_fail "no screenshot $f.png"
done
gw_assert_contains "$T/scepgw.log" 'console: user=root: added user browser-viewer \(viewer\)'
gw_assert_contains "$T/scepgw.log" 'console: user=root: removed user browser-viewer'
gw_assert_not_contains "$T/scepgw.log" 'viewer pw|adm pw'
"$GW_BUILD/scepgw" user list -c "$GW_CONF" >"$T/users.txt" || gw_fail "user list"
gw_assert_not_contains "$T/users.txt" '^browser-viewer '
gw_stop
