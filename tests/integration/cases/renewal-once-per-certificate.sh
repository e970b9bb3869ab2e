#!/usr/bin/env bash
# A certificate renews once (README "Renewal"): a second renewal signed by
# it, under a new transactionID or replayed under the first one's with
# another CSR, gets FAILURE badMessageCheck and orders nothing, while the
# same request resent gets the stored answer and the successor renews in
# its turn. A renewal under the transactionID of the certificate it renews
# (certmonger keeps its key, so its transactionID) is a new transaction;
# replayed, it orders nothing either. A revoked certificate renews nothing,
# and of renewals of one certificate racing each other, one is ordered.
. "$GW_SRC/tests/integration/lib.sh"
gw_up

serial_of() { openssl x509 -in "$T/$1.pem" -noout -serial | cut -d= -f2; }

c=$(gw_challenge --cn alice)
enroll_expect old SUCCESS --challenge "$c"
enroll_expect r1 SUCCESS --txid r1-txid --renew-cert "$T/old.pem" \
    --renew-key "$T/old.key"
assert_issued r1
gw_assert_eq 2 "$(sim_orders)" "orders after the first renewal"

# Resent as it was: the stored answer.
cp "$T/r1.key" "$T/r1-again.key"
enroll_expect r1-again SUCCESS --txid r1-txid --renew-cert "$T/old.pem" \
    --renew-key "$T/old.key"
gw_assert_eq "$(serial_of r1)" "$(serial_of r1-again)" "serial of the resent renewal"

# Replayed with another CSR for the same key: no second order.
cp "$T/r1.key" "$T/r1-replay.key"
enroll_expect r1-replay FAILURE --txid r1-txid --cn other \
    --renew-cert "$T/old.pem" --renew-key "$T/old.key"
gw_assert_contains "$T/r1-replay.out" "failinfo=badMessageCheck"

# A second renewal of old.pem, new transactionID and key.
enroll_expect r2 FAILURE --renew-cert "$T/old.pem" --renew-key "$T/old.key"
gw_assert_contains "$T/r2.out" "failinfo=badMessageCheck"
gw_assert_contains "$T/scepgw.log" \
    "RenewalReq refused: signer serial=$(serial_of old): it was renewed already, by txid=r1-txid"
# Apple-style, without a challenge: not a renewal.
enroll_expect r2-apple FAILURE --renew-cert "$T/old.pem" \
    --renew-key "$T/old.key" --pkcsreq
gw_assert_eq 2 "$(sim_orders)" "orders after the refused renewals"

# The successor renews in its turn, once.
enroll_expect r3 SUCCESS --renew-cert "$T/r1.pem" --renew-key "$T/r1.key"
assert_issued r3
enroll_expect r4 FAILURE --renew-cert "$T/r1.pem" --renew-key "$T/r1.key"
gw_assert_eq 3 "$(sim_orders)" "orders after the successor renewed"

# certmonger: the same key and transactionID renew the certificate that
# transaction issued, with a new CSR.
c=$(gw_challenge --cn cm)
enroll_expect cm SUCCESS --challenge "$c" --txid cm-txid
cp "$T/cm.key" "$T/cm2.key"
enroll_expect cm2 SUCCESS --txid cm-txid --cn cm-renewed \
    --renew-cert "$T/cm.pem" --renew-key "$T/cm.key"
assert_issued cm2
[ "$(serial_of cm)" != "$(serial_of cm2)" ] || gw_fail "cm2 kept the old certificate"
gw_assert_eq 5 "$(sim_orders)" "orders after the certmonger renewal"
# Its messages replayed, with yet another CSR: nothing ordered.
cp "$T/cm.key" "$T/cm3.key"
enroll cm3 --txid cm-txid --cn cm-third --renew-cert "$T/cm.pem" \
    --renew-key "$T/cm.key" || true
gw_assert_contains "$T/cm3.out" "status=FAILURE"
cp "$T/cm.key" "$T/cm4.key"
enroll_expect cm4 SUCCESS --txid cm-txid --cn cm-renewed \
    --renew-cert "$T/cm.pem" --renew-key "$T/cm.key"
gw_assert_eq "$(serial_of cm2)" "$(serial_of cm4)" "serial of the replayed certmonger renewal"
gw_assert_eq 5 "$(sim_orders)" "orders after the replays"

# Revoked through `scepgw cert revoke`.
gw_assert_ok "cert revoke" "$GW_BUILD/scepgw" cert revoke -c "$GW_CONF" \
    "$(serial_of r3)"
enroll_expect r5 FAILURE --renew-cert "$T/r3.pem" --renew-key "$T/r3.key"
gw_assert_contains "$T/r5.out" "failinfo=badMessageCheck"
gw_assert_contains "$T/scepgw.log" "signer serial=$(serial_of r3): it is revoked"
gw_assert_eq 5 "$(sim_orders)" "orders after the revoked certificate"

# Six renewals of one certificate at once, each with its own key and
# transactionID: one is ordered.
c=$(gw_challenge --cn racer)
enroll_expect racer SUCCESS --challenge "$c"
for i in 1 2 3 4 5 6; do
	openssl genrsa -out "$T/race$i.key" 2048 2>/dev/null
done
pids=()
for i in 1 2 3 4 5 6; do
	enroll "race$i" --renew-cert "$T/racer.pem" --renew-key "$T/racer.key" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
won=$(cat "$T"/race[1-6].out | grep -c 'status=SUCCESS' || true)
lost=$(cat "$T"/race[1-6].out | grep -c 'failinfo=badMessageCheck' || true)
gw_assert_eq 1 "$won" "racing renewals issued"
gw_assert_eq 5 "$lost" "racing renewals refused"
gw_assert_eq 7 "$(sim_orders)" "orders at epki-sim"
gw_stop
