#!/usr/bin/env bash
# A taken-over order is ordered again only once its takeover is 6 s old
# (README "How an enrollment works" 7), even when the first call ended
# long ago: GlobalSign may list an order its previous owner placed an
# instant before dying late. scepgw is SIGKILLed with an order it could
# not place (GlobalSign unreachable); restarted well after [epki]
# timeout_seconds + 6 s, the new incarnation takes the order over, finds
# none at GlobalSign, and orders it 6 s after the takeover, once.
. "$GW_SRC/tests/integration/lib.sh"
gw_need openssl curl
gw_tmpdir
gw_start_sim
gw_init
SIM_ORDERS0=$(sim_orders)
gw_conf_set epki reconcile_seconds 1
gw_conf_set epki timeout_seconds 2
gw_start

kill -TERM "$SIM_PID"
wait "$SIM_PID" 2>/dev/null || true
c=$(gw_challenge --cn taken-over)
enroll_expect dev PENDING --challenge "$c" --txid taken-txid
kill -KILL "$GW_PID"
wait "$GW_PID" 2>/dev/null || true
GW_PID=
sleep 9 # past updated + timeout_seconds + 6

gw_spawn "$T/epki-sim2.log" "$GW_BUILD/epki-sim" \
    --listen "127.0.0.1:$SIM_PORT" --dir "$SIM_DIR"
gw_wait_log "$T/epki-sim2.log" 'listening on' "$GW_LAST_PID" >/dev/null ||
    gw_fail "epki-sim did not restart"
gw_start
rc=3
for ((k = 0; k < 60 && rc == 3; k++)); do
	rc=0
	"$GW_BUILD/scepreq" poll --url "$GW_URL" --key "$T/dev.key" \
	    --txid taken-txid --cert-out "$T/dev.pem" >"$T/poll.out" 2>&1 || rc=$?
	[ "$rc" -eq 3 ] && sleep 0.5
done
[ "$rc" -eq 0 ] || { cat "$T/poll.out" >&2; gw_fail "poll exited $rc"; }
assert_issued dev
gw_assert_eq 1 "$(sim_orders)" "orders at epki-sim"
gw_assert_contains "$T/scepgw.log" "took over 1 orders from node 1 "
# Log times are UTC with milliseconds; the database's are whole seconds.
at() {
	date -u -d "$(grep -m1 -E -- "$1" "$T/scepgw.log" | cut -d' ' -f1)" +%s%3N
}
took=$(at "took over 1 orders")
ordered=$(at "txid=taken-txid: GlobalSign has no order for this request; ordering it now")
[ $((ordered - took)) -ge 5000 ] ||
    gw_fail "ordered again $((ordered - took)) ms after the takeover, not 6 s"
gw_stop
