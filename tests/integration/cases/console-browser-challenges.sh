#!/usr/bin/env bash
# ctest-labels: long
# The console's challenges page in a real browser (README "Admin web
# console", **Challenges.**): headless Chromium through Selenium
# (tests/lib/console-browser.py, mode challenges) logs in, creates a
# challenge with the form, sees its secret and QR code, fetches the
# .mobileconfig of its one-time link, enrolls with scepreq using the
# profile's URL and Challenge, and finds the challenge used in the list;
# no browser console errors. The QR code, rendered (rsvg-convert) and
# read back (zbarimg), is the secret. Screenshots in
# $GW_BUILD/test-output/console-browser-challenges/.
. "$GW_SRC/tests/integration/lib.sh"
gw_need curl openssl chromium chromedriver rsvg-convert zbarimg
PY=/usr/bin/python3
[ -x "$PY" ] && "$PY" -c 'import selenium' 2>/dev/null ||
    gw_skip "python3-selenium is not installed"
gw_tmpdir
OUT=$GW_BUILD/test-output/console-browser-challenges
rm -rf "$OUT"
mkdir -p "$OUT"
gw_start_sim
gw_init
gw_admin_enable
printf 'adm pw\n' | "$GW_BUILD/scepgw" user add root --role admin \
    -c "$GW_CONF" >"$T/user.out" 2>&1 || gw_fail "user add: $(cat "$T/user.out")"
gw_start

SCEPREQ=$GW_BUILD/scepreq gw_run "$T/browser.log" 240 "$PY" \
    "$GW_SRC/tests/lib/console-browser.py" challenges "$GW_ADMIN_URL" "$OUT" - root 'adm pw' ||
    gw_fail "browser, challenges: $(cat "$T/browser.log")"
for f in c01-challenges c02-created-qr c03-used; do
	[ -s "$OUT/$f.png" ] || gw_fail "no screenshot $f.png"
done
rsvg-convert -w 400 -o "$T/qr.png" "$OUT/qr.svg" || gw_fail "rsvg-convert"
gw_assert_eq "QR-Code:$(cat "$OUT/secret.txt")" "$(zbarimg -q "$T/qr.png")" "QR code decodes to the secret"
gw_assert_contains "$T/scepgw.log" 'mobileconfig of challenge [0-9]+ downloaded'
gw_assert_not_contains "$T/scepgw.log" "$(cat "$OUT/secret.txt")"
gw_stop
