#!/usr/bin/env bash
# GlobalSign's ErrorCode -1 ("internal system error", SuccessCode -1) is
# transient: not a FAILURE for the device but PENDING, and the reconciler
# finishes the order; a lookup that also gets -1 is simply tried again.
. "$GW_SRC/tests/integration/cases/faults.bash"
fault_up

sim_fault 'internal op=OrderAndIssueCertificate count=1'
sim_fault 'internal op=GetOrders count=1'
device internal PENDING
gw_assert_contains "$T/scepgw.log" "ErrorCode -1"
gw_assert_eq 2 "$(sim_state fired.internal)" "internal-error faults fired"
device clean SUCCESS
assert_ledger
gw_stop
