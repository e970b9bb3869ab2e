#!/usr/bin/env bash
# ctest-labels: long
# A gateway killed with an order in flight that GlobalSign never received
# (README "How an enrollment works" 7, "PostgreSQL"). Gateways a and b
# share one PostgreSQL; epki-sim holds a's OrderAndIssueCertificate call
# for 30 s and then resets it without making the order. a tells the
# device PENDING and is SIGKILLed while still waiting for the answer. b
# takes the transaction over only once a's lease ran out by more than M
# (by the database's clock), looks it up at GlobalSign, finds no order,
# orders it itself once (after the takeover wait), and the device polling
# b gets its certificate. Ledger: orders at epki-sim == licences spent ==
# certificates == 1, no challenge used twice, nothing left ordering.
# (cluster-two-gateways-postgresql.sh covers the order that GlobalSign
# did make.) Without PostgreSQL: skipped.
CL_TIMEOUT=5
. "$GW_SRC/tests/integration/cases/cluster.bash"
cluster_up
cluster_start a
cluster_start b
A_LOG=${CL_LOG[a]}
B_LOG=${CL_LOG[b]}
gw_assert_contains "$A_LOG" "incarnation 1 \(gw-a\): lease $CL_LEASE s"
gw_assert_contains "$B_LOG" "incarnation 2 \(gw-b\): lease $CL_LEASE s"

# The order call is held 30 s (longer than a lives, longer than E), then
# the connection is closed with nothing done at epki-sim.
for f in 'fault=latency&op=OrderAndIssueCertificate&count=1&ms=30000' \
    'fault=reset&op=OrderAndIssueCertificate&count=1'; do
	curl -fsS -m 10 -d "$f" "http://127.0.0.1:$SIM_PORT/sim/fault" \
	    >/dev/null || gw_fail "sim fault $f"
done
rc=0
enroll_on "${CL_URL[a]}" lost || rc=$?
[ "$rc" -eq 3 ] || { cat "$T/lost.out" >&2; gw_fail "the device on a got $rc, not PENDING (3)"; }
# PENDING after 1 s, the call times out only after E = 5 s: kill a now,
# while it still waits for epki-sim.
cluster_kill a
killed=$(now_ms)
gw_assert_eq 1 "$(sim_state fired.latency)" "order calls epki-sim was holding"
gw_assert_not_contains "$A_LOG" "txid=lost-txid: .*(timed out|timeout)"
gw_assert_eq 0 "$(sim_orders)" "orders at epki-sim after the kill"
gw_assert_eq 1 "$(gw_pg_sql "SELECT owner FROM transactions WHERE txid = 'lost-txid' AND state = 1")" \
    "owner of the order in flight"

# b takes it over after a's lease (+ M), finds nothing, orders it once.
poll_on "${CL_URL[b]}" lost lost-txid 90
DELIVERED=1
took=$(log_ms "$B_LOG" 'took over 1 orders from node 1 \(gw-a\)') ||
    gw_fail "b did not say it took a's order over"
ordered=$(log_ms "$B_LOG" 'txid=lost-txid: GlobalSign has no order for this request; ordering it now') ||
    gw_fail "b did not order the lost request again"
gw_log "takeover $((took - killed)) ms after SIGKILL; ordered again $((ordered - killed)) ms after it"
[ $((took - killed)) -ge 10000 ] ||
    gw_fail "b took the order over $((took - killed)) ms after the kill, before a's lease ran out"
[ "$ordered" -ge "$took" ] || gw_fail "b ordered before it took the transaction over"
gw_assert_eq t "$(gw_pg_sql "SELECT t.taken_at > n.lease_until + interval '5 s'
    FROM transactions t, nodes n WHERE t.txid = 'lost-txid' AND n.id = 1")" \
    "taken over more than M after a's lease ended"
gw_assert_eq 1 "$(sim_state fired.reset)" "order calls reset at epki-sim"
gw_assert_eq 1 "$(grep -c 'ordering it now' "$B_LOG")" "orders b placed again"
gw_assert_not_contains "$B_LOG" "reconciled: order .* was issued"
gw_assert_not_contains "$A_LOG" "ordering it now"

sleep 2 # a wrong second order would show in the count
cluster_ledger
gw_assert_eq 1 "$(gw_pg_sql "SELECT count(*) FROM transactions WHERE state = 2 AND txid = 'lost-txid'")" \
    "the transaction issued"
rc=0
gw__kill "${CL_PID[b]}" || rc=$?
gw_assert_eq 0 "$rc" "gateway b's exit status on SIGTERM"
