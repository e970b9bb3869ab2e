#!/usr/bin/env bash
# A proxy's HTML error page (HTTP 502, then 503) instead of a SOAP answer
# is a transport error: the device gets PENDING and the reconciler
# finishes both orders. One licence per certificate.
. "$GW_SRC/tests/integration/cases/faults.bash"
fault_up

sim_fault 'http502 op=OrderAndIssueCertificate count=1'
device_start bad-gateway PENDING
sim_fault 'http503 op=OrderAndIssueCertificate count=1'
device_start unavailable PENDING
device_finish bad-gateway
device_finish unavailable
gw_assert_eq 1 "$(sim_state fired.http502)" "HTTP 502 faults fired"
gw_assert_eq 1 "$(sim_state fired.http503)" "HTTP 503 faults fired"
device clean SUCCESS
assert_ledger
gw_stop
