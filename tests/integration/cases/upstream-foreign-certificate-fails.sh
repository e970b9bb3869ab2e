#!/usr/bin/env bash
# A certificate from GlobalSign that does not chain to [ra] ca_chain
# (epki-sim's "foreign" fault: signed by another key, the CA's name as
# issuer) is neither stored nor delivered: the device gets FAILURE, the
# log says why, the transaction is failed and never ordered again. Both
# ways an answer arrives: the order itself, and the reconciler's lookup
# after a lost answer.
. "$GW_SRC/tests/integration/cases/faults.bash"
fault_up

# The order path.
sim_fault 'foreign op=OrderAndIssueCertificate count=1'
c=$(gw_challenge --cn forged)
enroll_expect forged FAILURE --challenge "$c" --txid forged-txid
gw_assert_contains "$T/forged.out" "failinfo=badRequest"
gw_assert_contains "$T/forged.out" "unusable certificate"
gw_assert_contains "$T/scepgw.log" \
    "txid=forged-txid: order .*: GlobalSign's certificate refused: not signed by a certificate of \[ra\] ca_chain"
gw_assert_eq 1 "$(sim_orders)" "orders at epki-sim"

# The reconciler path: the order's answer is lost, the lookup by
# CommonName (then by OrderID) finds a certificate that is not the CA's.
sim_fault 'drop op=OrderAndIssueCertificate count=1 ms=0'
sim_fault 'foreign op=all'
c=$(gw_challenge --cn lost)
enroll_expect lost PENDING --challenge "$c" --txid lost-txid
gw_wait_log "$T/scepgw.log" \
    "txid=lost-txid: order .*: GlobalSign.s certificate refused" "$GW_PID" 20 \
    >/dev/null || gw_fail "the reconciler did not refuse the certificate"
rc=0
"$GW_BUILD/scepreq" poll --url "$GW_URL" --key "$T/lost.key" \
    --txid lost-txid >"$T/lost.poll.out" 2>&1 || rc=$?
gw_assert_eq 2 "$rc" "CertPoll of the failed transaction (2: FAILURE)"
gw_assert_contains "$T/lost.poll.out" "unusable certificate"

# Past the moment a lost order could be placed again (timeout_seconds 2
# + 6 s): nothing was ordered again, nothing was retried.
sleep 10
rc=0
"$GW_BUILD/scepreq" poll --url "$GW_URL" --key "$T/forged.key" \
    --txid forged-txid >"$T/forged.poll.out" 2>&1 || rc=$?
gw_assert_eq 2 "$rc" "CertPoll of the failed transaction (2: FAILURE)"
gw_assert_eq 2 "$(sim_orders)" "orders at epki-sim"
gw_assert_not_contains "$T/scepgw.log" "ordering it now"
gw_assert_eq 1 "$(grep -c "txid=lost-txid: order .*refused" "$T/scepgw.log")" \
    "refusals of the lost order"

# The CA's own certificates still go through.
sim_fault 'fault=clear'
device clean SUCCESS
gw_stop
