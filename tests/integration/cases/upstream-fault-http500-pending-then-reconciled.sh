#!/usr/bin/env bash
# An order answered with HTTP 500 and a SOAP Fault was not made: the
# device gets PENDING, the reconciler finds no order at GlobalSign, orders
# once, and the device's CertPoll gets the certificate. One licence per
# certificate.
. "$GW_SRC/tests/integration/cases/faults.bash"
fault_up

sim_fault 'http500 op=OrderAndIssueCertificate count=1'
device faulted PENDING
gw_assert_contains "$T/scepgw.log" "did not complete the order"
gw_assert_contains "$T/scepgw.log" "ordering it now"
device clean SUCCESS
gw_assert_eq 1 "$(sim_state fired.http500)" "HTTP 500 faults fired"
assert_ledger
gw_stop
