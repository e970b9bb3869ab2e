#!/usr/bin/env bash
# "Issue but drop the reply": GlobalSign makes the order and spends the
# licence, but the gateway times out. The device gets PENDING; the
# reconciler must FIND the order (GetOrders by CommonName and date) and
# must not order again: orders == enrollments.
. "$GW_SRC/tests/integration/cases/faults.bash"
fault_up
calls0=$(sim_state calls.OrderAndIssueCertificate) # init's RA order

# Longer than [epki] timeout_seconds (2): the gateway sees a timeout.
sim_fault 'drop op=OrderAndIssueCertificate count=1 ms=4000'
device dropped PENDING
gw_assert_eq 1 "$(sim_state fired.drop)" "drop faults fired"
gw_assert_contains "$T/scepgw.log" "reconciled: order .* was issued"
gw_assert_not_contains "$T/scepgw.log" "ordering it now"
# A reply dropped at once (connection closed right after the order).
sim_fault 'drop op=OrderAndIssueCertificate count=1 ms=0'
device dropped-fast PENDING
device clean SUCCESS
sleep 2 # let any wrong re-order show up in the count
assert_ledger
gw_assert_eq 3 "$(($(sim_state calls.OrderAndIssueCertificate) - calls0))" \
    "OrderAndIssueCertificate calls"
gw_assert_not_contains "$T/scepgw.log" "ordering it now"
gw_stop
