#!/usr/bin/env bash
# Intune hears of every outcome once, and before the device (README
# "Microsoft Intune"): GlobalSign slow -> PENDING, and the CertPoll that
# finds the certificate notifies before SUCCESS; a successNotification
# that fails (500s, a non-Success code) keeps the certificate from the
# device (PENDING), and a later poll delivers it once the notification is
# accepted; a notification still failing at a restart is sent by the
# reconciler, as is one cut off by a crash (by the poll after the claim
# of the dead one expired); a GlobalSign refusal after validation sends one
# failureNotification (an integer hResult, a short description) and
# FAILURE; a renewal signed by the old certificate is a new enrollment
# validated and notified again, and one without a challenge is refused.
. "$GW_SRC/tests/integration/intune.bash"
igw_setup
gw_conf_set scep pending_after_seconds 1
igw_start

# GlobalSign slow: PENDING, then CertPoll; Intune notified before SUCCESS.
curl -fsS -m 10 --data 'latency_ms=3000' "http://127.0.0.1:$SIM_PORT/sim/config" >/dev/null
igw_device slow dev-slow
igw_enroll slow PENDING
igw_poll_until slow
assert_issued slow
gw_assert_eq "validate success" "$(igw_hops tx-slow)" "Intune calls for tx-slow"
igw_order_ok slow
curl -fsS -m 10 --data 'latency_ms=0' "http://127.0.0.1:$SIM_PORT/sim/config" >/dev/null

# successNotification fails after the client's retries: the device gets
# PENDING, never the certificate; a poll delivers it once Intune took the
# notification.
isim_admin fault '{"hop":"success","mode":"500","count":3}' >/dev/null
igw_device n500 dev-n500
igw_enroll n500 PENDING
[ ! -s "$T/n500.pem" ] || gw_fail "the device got a certificate Intune was not told of"
igw_poll_until n500
assert_issued n500
igw_order_ok n500
isim_admin fault '{"hop":"success","mode":"code","code":"SomethingNew","count":1}' >/dev/null
igw_device ncode dev-ncode
igw_enroll ncode PENDING
igw_poll_until ncode
igw_order_ok ncode
gw_assert_contains "$T/scepgw.log" \
    'txid=tx-ncode: Intune successNotification: refused: code=SomethingNew'

# Still failing when the gateway stops: the restarted gateway's reconciler
# sends it; the device's poll then gets the certificate.
isim_admin fault '{"hop":"success","mode":"503"}' >/dev/null
igw_device later dev-later
igw_enroll later PENDING
gw_stop
isim_admin fault '{"mode":"clear"}' >/dev/null
igw_start
igw_wait_notified tx-later
igw_poll_until later
assert_issued later
igw_order_ok later
gw_assert_contains "$T/scepgw.log" \
    'txid=tx-later: Intune successNotification \(reconciler\): accepted'

# A crash while the notification is in flight (the device had PENDING):
# once the dead sender's claim has expired ([intune] timeout_seconds and
# 5 s), the restarted gateway sends it, once.
isim_admin fault '{"hop":"success","mode":"hang","ms":600000,"count":1}' >/dev/null
igw_device crash dev-crash
igw_enroll crash PENDING
kill -9 "$GW_PID"
wait "$GW_PID" 2>/dev/null || true
GW_PID=
igw_start
igw_poll_until crash
igw_wait_notified tx-crash
assert_issued crash
igw_order_ok crash

# GlobalSign refuses the order after Intune validated it: one
# failureNotification, then FAILURE.
curl -fsS -m 10 --data 'licences=0' "http://127.0.0.1:$SIM_PORT/sim/config" >/dev/null
igw_device refused dev-refused
igw_enroll refused FAILURE
curl -fsS -m 10 --data 'licences=1000' "http://127.0.0.1:$SIM_PORT/sim/config" >/dev/null
gw_assert_eq "validate failure" "$(igw_hops tx-refused)" "Intune calls for tx-refused"
jq -e '[.entries[] | select(.body.transactionId == "tx-refused" and
    .hop == "failure")] | first | (.body.hResult | type) == "number" and
    (.body.errorDescription | length) <= 255 and
    (.body.errorDescription | length) > 0' "$T/isim-log.json" >/dev/null ||
    gw_fail "the failureNotification's hResult or description"

# Renewal: a new key and a new challenge, signed by the old certificate;
# validated and notified like a first enrollment.
igw_device renew dev-slow
igw_enroll renew SUCCESS --renew-cert "$T/slow.pem" --renew-key "$T/slow.key"
igw_order_ok renew
# As Apple devices send it: a PKCSReq signed by the old certificate.
igw_device renew2 dev-slow
igw_enroll renew2 SUCCESS --renew-cert "$T/renew.pem" --renew-key "$T/renew.key" --pkcsreq
igw_order_ok renew2
# Without a challenge, the old certificate alone does not renew here.
GW_URL=$IGW_URL enroll_expect plain FAILURE --cn dev-slow --txid tx-plain \
    --renew-cert "$T/slow.pem" --renew-key "$T/slow.key"
gw_assert_eq "" "$(igw_hops tx-plain)" "Intune calls for a renewal without challenge"

# An Apple renewal that gets PENDING: its CertPoll, signed by the old
# certificate as its PKCSReq was, finds the certificate; a poll signed by
# another certificate of ours does not.
curl -fsS -m 10 --data 'latency_ms=3000' "http://127.0.0.1:$SIM_PORT/sim/config" >/dev/null
igw_device renew3 dev-slow
igw_enroll renew3 PENDING --renew-cert "$T/renew2.pem" --renew-key "$T/renew2.key" --pkcsreq
rc=0
"$GW_BUILD/scepreq" poll --url "$IGW_URL" --key "$T/renew3.key" \
    --csr "$T/renew3.csr" --txid tx-renew3 --renew-cert "$T/ncode.pem" \
    --renew-key "$T/ncode.key" --cert-out "$T/other.pem" >"$T/other.out" 2>&1 || rc=$?
gw_assert_eq 2 "$rc" "CertPoll of tx-renew3 signed by another certificate"
gw_assert_contains "$T/other.out" 'failinfo=badCertId'
for ((i = 0; i < 60; i++)); do
	rc=0
	"$GW_BUILD/scepreq" poll --url "$IGW_URL" --key "$T/renew3.key" \
	    --csr "$T/renew3.csr" --txid tx-renew3 --renew-cert "$T/renew2.pem" \
	    --renew-key "$T/renew2.key" --cert-out "$T/renew3.pem" \
	    >"$T/renew3.poll" 2>&1 || rc=$?
	[ "$rc" -eq 3 ] || break
	sleep 0.5
done
date +%s%3N >"$T/renew3.done"
[ "$rc" -eq 0 ] || { cat "$T/renew3.poll" >&2; gw_fail "renew3: CertPoll ended $rc"; }
gw_assert_cert_key "$T/renew3.pem" "$T/renew3.key"
igw_order_ok renew3
curl -fsS -m 10 --data 'latency_ms=0' "http://127.0.0.1:$SIM_PORT/sim/config" >/dev/null

igw_ledger 8
igw_no_secrets
gw_stop
