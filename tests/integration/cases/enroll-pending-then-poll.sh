#!/usr/bin/env bash
# When GlobalSign is slower than [scep] pending_after_seconds the device
# gets PENDING at once; the order finishes in the background and CertPoll
# (and a resent PKCSReq) with the same transactionID get the certificate.
. "$GW_SRC/tests/integration/lib.sh"
gw_need openssl curl
gw_tmpdir
gw_start_sim --latency-ms 3000
gw_init
SIM_ORDERS0=$(sim_orders)
gw_conf_set scep pending_after_seconds 1
gw_start

c=$(gw_challenge)
enroll_expect slow PENDING --challenge "$c" --cn slow --txid slow-txid
for ((i = 0; i < 30; i++)); do
	rc=0
	"$GW_BUILD/scepreq" poll --url "$GW_URL" --key "$T/slow.key" \
	    --txid slow-txid --cn slow --cert-out "$T/slow.pem" >"$T/poll.out" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] && break
	[ "$rc" -eq 3 ] || { cat "$T/poll.out" >&2; gw_fail "poll exited $rc"; }
	sleep 0.5
done
gw_assert_eq 0 "$rc" "CertPoll after the order completed"
assert_issued slow
cp "$T/slow.key" "$T/resend.key"
enroll_expect resend SUCCESS --challenge "$c" --cn slow --txid slow-txid
gw_assert_eq 1 "$(sim_orders)" "orders at epki-sim"
gw_stop
