#!/usr/bin/env bash
# The reply to an order is lost on a connection that an earlier order
# left open (keep-alive): GlobalSign made the order and spent the
# licence, then the connection died before a byte of the answer came
# back. libcurl 7.88 would resend such a POST on a fresh connection by
# itself (a reused connection that "died" is retried) and pay for a second
# certificate; the gateway must instead see a transport error, answer
# PENDING and let the reconciler find the first order: orders ==
# enrollments. The reconciler runs at start-up and then only every hour
# here: the lost answer must be looked up at once (reconcile_kick), or
# the device's polling (40 s) gives up.
. "$GW_SRC/tests/integration/cases/faults.bash"
FAULT_RECONCILE_SECONDS=3600 fault_up
calls0=$(sim_state calls.OrderAndIssueCertificate) # init's RA order

device warm SUCCESS # leaves its connection to epki-sim open
sim_fault 'drop op=OrderAndIssueCertificate count=1 ms=0'
device dropped PENDING
gw_assert_eq 1 "$(sim_state fired.drop)" "drop faults fired"
device clean SUCCESS # leaves its connection open too
# Reset before the order is made, on that kept connection (a server that
# closed it as the request came): not resent either; the lookup finds
# nothing, and the reconciler orders once the first call cannot still be
# running (timeout_seconds + 6), waking for that moment, not the hour.
sim_fault 'reset op=OrderAndIssueCertificate count=1'
device reset PENDING
gw_assert_eq 1 "$(sim_state fired.reset)" "reset faults fired"
sleep 2 # let any wrong re-order show up in the count
assert_ledger
gw_assert_eq 5 "$(($(sim_state calls.OrderAndIssueCertificate) - calls0))" \
    "OrderAndIssueCertificate calls (one per device, and the reset one)"
gw_assert_contains "$T/scepgw.log" "txid=reset-txid: .*ordering it now"
gw_assert_contains "$T/scepgw.log" "reconciled: order .* was issued"
gw_stop
