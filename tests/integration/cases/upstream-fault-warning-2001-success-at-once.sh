#!/usr/bin/env bash
# SuccessCode 1 with warning -2001 (notification email not sent) is a
# success: the device gets its certificate at once, the warning is
# logged, and nothing is ordered again.
. "$GW_SRC/tests/integration/cases/faults.bash"
fault_up

sim_fault 'warning op=OrderAndIssueCertificate count=1'
device warned SUCCESS
gw_assert_contains "$T/scepgw.log" "ErrorCode -2001"
gw_assert_eq 1 "$(sim_state fired.warning)" "warning faults fired"
sleep 2 # a reconciler round would re-order now if it wrongly could
assert_ledger
gw_stop
