#!/usr/bin/env bash
# [epki] max_response_bytes bounds what is read from GlobalSign: a reply
# one past it is a transport error, so the device gets PENDING (the order
# may exist upstream: never FAILURE, never a second order) and nothing
# from the oversized reply is used. With the default limit the reconciler
# finishes the order and CertPoll gets the certificate.
. "$GW_SRC/tests/integration/lib.sh"
gw_up
gw_conf_set epki max_response_bytes 1024
gw_conf_set epki reconcile_seconds 1
gw_stop
gw_start
enroll_expect big PENDING --challenge "$(gw_challenge)" --cn big --txid big-reply-1
gw_assert_contains "$T/scepgw.log" "response body too large"
gw_stop

gw_conf_set epki max_response_bytes 1048576
gw_start
for ((i = 0; i < 60; i++)); do
	rc=0
	"$GW_BUILD/scepreq" poll --url "$GW_URL" --key "$T/big.key" \
	    --txid big-reply-1 --cn big --cert-out "$T/big.pem" >"$T/poll.out" 2>&1 || rc=$?
	[ "$rc" = 0 ] && break
	[ "$rc" = 3 ] || { cat "$T/poll.out" >&2; gw_fail "CertPoll exited $rc"; }
	sleep 0.5
done
gw_assert_contains "$T/poll.out" "status=SUCCESS"
gw_assert_cert_key "$T/big.pem" "$T/big.key"
gw_assert_eq 1 "$(sim_orders)" "orders"
gw_stop
