#!/usr/bin/env bash
# Challenges are one-time and checked atomically: a wrong, used, expired
# or revoked challenge gets a signed FAILURE badRequest, orders nothing,
# and a failed attempt does not consume the real challenge.
. "$GW_SRC/tests/integration/lib.sh"
gw_up
gw_need sqlite3

c=$(gw_challenge)
enroll_expect wrong FAILURE --challenge "0000$c" --cn wrong
gw_assert_contains "$T/wrong.out" "failinfo=badRequest"
enroll_expect none FAILURE --cn none
gw_assert_contains "$T/none.out" "failinfo=badRequest"
gw_assert_eq 0 "$(sim_orders)" "orders after refused challenges"

enroll_expect first SUCCESS --challenge "$c" --cn first
assert_issued first
enroll_expect reuse FAILURE --challenge "$c" --cn reuse
gw_assert_contains "$T/reuse.out" "failinfo=badRequest"

# Expired: move the expiry of a fresh challenge into the past.
e=$(gw_challenge)
sqlite3 "$GW_DIR/scepgw.db" "UPDATE challenges SET expires = 1 WHERE used = 0 AND revoked = 0;"
enroll_expect expired FAILURE --challenge "$e" --cn expired

r=$(gw_challenge)
id=$("$GW_BUILD/scepgw" challenge list -c "$GW_CONF" | awk '$2 == "unused" { print $1 }' | tail -n1)
[ -n "$id" ] || gw_fail "challenge list shows no unused challenge"
"$GW_BUILD/scepgw" challenge revoke "$id" -c "$GW_CONF" >/dev/null
enroll_expect revoked FAILURE --challenge "$r" --cn revoked

gw_assert_eq 1 "$(sim_orders)" "orders at epki-sim"
gw_assert_contains "$T/scepgw.log" "challenge refused: challenge already used"
gw_assert_contains "$T/scepgw.log" "challenge refused: challenge expired"
gw_assert_contains "$T/scepgw.log" "challenge refused: challenge revoked"
gw_assert_not_contains "$T/scepgw.log" "$c"
gw_stop
