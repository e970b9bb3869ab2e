#!/usr/bin/env bash
# Guessing challenges is slower than 10 tries per minute per address:
# with [enroll] max_failures_per_minute = 5, after 5 wrong challenges the
# next request from the same address is refused without its challenge
# being looked at, so a right challenge is not consumed either.
. "$GW_SRC/tests/integration/lib.sh"
gw_tmpdir
gw_start_sim
gw_init
gw_conf_set enroll max_failures_per_minute 5
SIM_ORDERS0=$(sim_orders)
gw_start

good=$(gw_challenge)
ok=$(gw_challenge)
enroll_expect first SUCCESS --challenge "$ok" --cn first
for i in 1 2 3 4 5; do
	enroll_expect "guess$i" FAILURE --challenge "$(openssl rand -hex 16)" --cn guess
done
enroll_expect limited FAILURE --challenge "$good" --cn limited
gw_assert_contains "$T/limited.out" "failinfo=badRequest"
gw_assert_contains "$T/scepgw.log" "too many failed attempts from this address"
"$GW_BUILD/scepgw" challenge list -c "$GW_CONF" | awk '$2 == "unused"' | grep -q . ||
    gw_fail "the right challenge was consumed while limited"
gw_assert_eq 1 "$(sim_orders)" "orders at epki-sim"
gw_assert_not_contains "$T/scepgw.log" "$good"
gw_stop
