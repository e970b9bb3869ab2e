#!/usr/bin/env bash
# When GlobalSign was unreachable, the transaction stays `ordering` and
# the device gets PENDING. Once GlobalSign answers again the reconciler
# looks the order up, finds none, and only then orders: the device's
# CertPoll gets the certificate and exactly one licence is spent.
. "$GW_SRC/tests/integration/lib.sh"
gw_need openssl curl
gw_tmpdir
gw_start_sim
gw_init
SIM_ORDERS0=$(sim_orders)
gw_conf_set epki reconcile_seconds 1
gw_conf_set epki timeout_seconds 2
gw_start

# GlobalSign goes away.
kill -TERM "$SIM_PID"
wait "$SIM_PID" 2>/dev/null || true
c=$(gw_challenge --cn unreachable)
enroll_expect dev PENDING --challenge "$c" --txid unreachable-txid
gw_assert_contains "$T/scepgw.log" "did not complete the order"

# It comes back on the same port.
gw_spawn "$T/epki-sim2.log" "$GW_BUILD/epki-sim" \
    --listen "127.0.0.1:$SIM_PORT" --dir "$SIM_DIR"
gw_wait_log "$T/epki-sim2.log" 'listening on' "$GW_LAST_PID" >/dev/null ||
    gw_fail "epki-sim did not restart"
rc=3
for ((k = 0; k < 60 && rc == 3; k++)); do
	rc=0
	"$GW_BUILD/scepreq" poll --url "$GW_URL" --key "$T/dev.key" \
	    --txid unreachable-txid --cert-out "$T/dev.pem" >"$T/poll.out" 2>&1 || rc=$?
	[ "$rc" -eq 3 ] && sleep 0.5
done
[ "$rc" -eq 0 ] || { cat "$T/poll.out" >&2; gw_fail "poll exited $rc"; }
assert_issued dev
gw_assert_eq 1 "$(sim_orders)" "orders at epki-sim"
gw_assert_contains "$T/scepgw.log" "ordering it now"
gw_stop
