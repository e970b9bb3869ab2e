#!/usr/bin/env bash
# Values from the network reach the log escaped, once, in the log sink: an
# operation parameter with a percent-encoded line feed cannot forge a log
# line of its own (it shows as \x0a inside the one line of its request), a
# backslash shows as \x5c, and valid UTF-8 is kept as it is.
. "$GW_SRC/tests/integration/lib.sh"
gw_up

forged='2026-01-01T00:00:00.000Z info: 10.0.0.9 txid=abc: issued serial=DEADBEEF'
enc=$(printf '%s' "$forged" | sed 's/ /%20/g; s/:/%3A/g')
code=$(curl -sS -o /dev/null -w '%{http_code}' \
    "$GW_URL?operation=x%0a$enc") || gw_fail "curl failed"
gw_assert_eq 400 "$code" "unsupported operation"
code=$(curl -sS -o /dev/null -w '%{http_code}' \
    "$GW_URL?operation=back%5cslash%C3%A9%FF") || gw_fail "curl failed"
gw_assert_eq 400 "$code" "unsupported operation"
gw_stop

# No line of the log starts with the forged text; the request's own line
# carries it, escaped.
if grep -q '^2026-01-01T00:00:00.000Z info: 10.0.0.9' "$T/scepgw.log"; then
	gw_fail "a forged line reached the log"
fi
gw_assert_contains "$T/scepgw.log" \
    'info: 127\.0\.0\.1 x\\x0a2026-01-01T00:00:00\.000Z info: 10\.0\.0\.9 txid=abc: issued serial=DEADBEEF status=400' \
    "escaped operation"
gw_assert_contains "$T/scepgw.log" \
    "127\\.0\\.0\\.1 back\\\\x5cslashé\\\\xff status=400" "backslash, UTF-8, bad byte"
