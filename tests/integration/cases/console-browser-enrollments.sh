#!/usr/bin/env bash
# ctest-labels: long
# The console's enrollments in a real browser (README "Admin web
# console"): headless Chromium through Selenium (tests/lib/console-
# browser.py, mode enrollments) against a gateway and epki-sim: the page
# from the navigation bar, a search by CN prefix (a CN holding markup shown
# as text), the transaction's page and its history, the refused requests;
# no browser console errors. Screenshots in
# $GW_BUILD/test-output/console-browser-enrollments/.
. "$GW_SRC/tests/integration/lib.sh"
gw_need curl openssl chromium chromedriver
PY=/usr/bin/python3
[ -x "$PY" ] && "$PY" -c 'import selenium' 2>/dev/null ||
    gw_skip "python3-selenium is not installed"
gw_tmpdir
OUT=$GW_BUILD/test-output/console-browser-enrollments
rm -rf "$OUT"
mkdir -p "$OUT"
gw_start_sim
gw_init
gw_admin_enable
printf 'view pw\n' | "$GW_BUILD/scepgw" user add view --role viewer \
    -c "$GW_CONF" >"$T/user.out" 2>&1 || gw_fail "user add: $(cat "$T/user.out")"
gw_start
enroll_expect b1 SUCCESS --challenge "$(gw_challenge)" --cn 'browser <b>one</b>' --txid browser-txid
enroll_expect b2 FAILURE --challenge 00112233445566778899aabbccddeeff --cn refused-dev --txid refused-txid
# The delivered event is queued after the answer: wait for it.
for ((i = 0; i < 100; i++)); do
	curl -fsS -m 10 -H "Authorization: Bearer $TOKEN" \
	    "$GW_ADMIN_URL/api/v1/enrollments/browser-txid" >"$T/api.json" &&
	    grep -q '"delivered"' "$T/api.json" && break
	sleep 0.1
done
gw_assert_contains "$T/api.json" '"delivered"'

gw_run "$T/browser.log" 240 "$PY" "$GW_SRC/tests/lib/console-browser.py" enrollments \
    "$GW_ADMIN_URL" "$OUT" browser-txid view 'view pw' ||
    gw_fail "browser, enrollments: $(cat "$T/browser.log")"
for f in enrollments-01-search enrollments-02-detail enrollments-03-refused; do
	[ -s "$OUT/$f.png" ] || gw_fail "no screenshot $f.png"
done
gw_stop
