#!/usr/bin/env bash
# The connection is reset before any answer (and before the order is
# made): the device gets PENDING, the reconciler looks the order up, finds
# none, orders once, and CertPoll gets the certificate.
. "$GW_SRC/tests/integration/cases/faults.bash"
fault_up

sim_fault 'reset op=OrderAndIssueCertificate count=1'
device reset PENDING
gw_assert_eq 1 "$(sim_state fired.reset)" "reset faults fired"
device clean SUCCESS
assert_ledger
gw_stop
