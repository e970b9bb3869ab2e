#!/usr/bin/env bash
# Never lose a certificate, never pay twice: scepgw is killed (SIGKILL)
# while GlobalSign is still working on orders. After a restart the
# reconciler finds each order at GlobalSign (GetOrders by CommonName,
# matched by public key) instead of ordering again, and every device's
# CertPoll gets its certificate. epki-sim counts exactly one order per
# enrollment. The restarted process is a new incarnation: it takes the
# orders of the killed one over, and says so (README "How an enrollment
# works" 7).
. "$GW_SRC/tests/integration/lib.sh"
gw_need openssl curl
gw_tmpdir
gw_start_sim --latency-ms 2500
gw_init
SIM_ORDERS0=$(sim_orders)
gw_conf_set scep pending_after_seconds 1
gw_conf_set epki reconcile_seconds 1
gw_conf_set epki timeout_seconds 10
gw_start

n=3
pids=()
for ((i = 1; i <= n; i++)); do
	c=$(gw_challenge --cn "killed-$i")
	enroll_expect "dev$i" PENDING --challenge "$c" --txid "kill-txid-$i" &
	pids+=($!)
done
for pid in "${pids[@]}"; do
	wait "$pid" || gw_fail "an enrollment did not get PENDING"
done
kill -KILL "$GW_PID"
wait "$GW_PID" 2>/dev/null || true
GW_PID=
sleep 3 # the orders complete at epki-sim with nobody listening
gw_assert_eq "$n" "$(sim_orders)" "orders placed before the kill"

gw_start
for ((i = 1; i <= n; i++)); do
	rc=3
	for ((k = 0; k < 60 && rc == 3; k++)); do
		rc=0
		"$GW_BUILD/scepreq" poll --url "$GW_URL" --key "$T/dev$i.key" \
		    --txid "kill-txid-$i" --cert-out "$T/dev$i.pem" \
		    >"$T/poll$i.out" 2>&1 || rc=$?
		[ "$rc" -eq 3 ] && sleep 0.5
	done
	[ "$rc" -eq 0 ] || { cat "$T/poll$i.out" >&2; gw_fail "dev$i: poll exited $rc"; }
	assert_issued "dev$i"
done
gw_assert_eq "$n" "$(sim_orders)" "orders after reconciliation"
gw_assert_contains "$T/scepgw.log" "reconciled: order .* was issued"
gw_assert_not_contains "$T/scepgw.log" "ordering it now"
# The killed incarnation was the first one (id 1); its name is the host's.
gw_assert_contains "$T/scepgw.log" "took over $n orders from node 1 \\($(hostname)\\)"
gw_assert_contains "$T/scepgw.log" "incarnation 2 \\($(hostname)\\): lease 40 s"
gw_stop
