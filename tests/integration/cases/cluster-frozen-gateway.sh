#!/usr/bin/env bash
# ctest-labels: long
# A gateway frozen past its lease (README "How an enrollment works" 7,
# "PostgreSQL"). Gateways a and b share one PostgreSQL; epki-sim answers
# orders 4.5 s late (E = 5 s), so a has three orders in flight (made at
# epki-sim, devices told PENDING, answers not yet read) when it is
# SIGSTOPped. b takes them over once a's
# lease ran out by more than M, finds each at GlobalSign instead of
# ordering again, and the devices polling b get their certificates.
# SIGCONT a: its lease thread finds the lease gone (a late renewal, then
# "was lost") and registers a new incarnation; an enrollment sent to a
# right away is not ordered (the gate is closed until the new
# incarnation's first renewal) and is ordered once, later; polling a for
# what b finished gives b's certificates, unchanged. Ledger: orders ==
# licences == certificates, no challenge used twice. Without PostgreSQL:
# skipped.
CL_TIMEOUT=5
. "$GW_SRC/tests/integration/cases/cluster.bash"
cluster_up
cluster_start a
cluster_start b
A_LOG=${CL_LOG[a]}
B_LOG=${CL_LOG[b]}
gw_assert_contains "$A_LOG" "incarnation 1 \(gw-a\): lease $CL_LEASE s"
gw_assert_contains "$B_LOG" "incarnation 2 \(gw-b\): lease $CL_LEASE s"

# Three orders in flight on a: made at once at epki-sim, answered 4.5 s
# later (within E); the devices are told PENDING after 1 s.
curl -fsS -m 10 -d 'fault=latency&op=OrderAndIssueCertificate&count=3&ms=4500' \
    "http://127.0.0.1:$SIM_PORT/sim/fault" >/dev/null || gw_fail "sim fault"
pids=()
for d in f1 f2 f3; do
	enroll_on "${CL_URL[a]}" "$d" &
	pids+=($!)
done
for p in "${pids[@]}"; do
	rc=0
	wait "$p" || rc=$?
	[ "$rc" -eq 3 ] || gw_fail "a device enrolling on a got $rc, not PENDING (3)"
done
gw_assert_eq 3 "$(sim_orders)" "orders made at epki-sim before the freeze"
gw_assert_eq 3 "$(sim_state fired.latency)" "orders still being answered"
kill -STOP "${CL_PID[a]}"
stopped=$(now_ms)
# Still in flight: no answer read yet (a's log would say "issued").
gw_assert_not_contains "$A_LOG" "issued serial="
gw_assert_eq 3 "$(gw_pg_sql "SELECT count(*) FROM transactions WHERE state = 1 AND owner = 1")" \
    "a's transactions ordering when it froze"

# b takes them over after a's lease (+ M) and finds the orders.
for d in f1 f2 f3; do
	poll_on "${CL_URL[b]}" "$d" "$d-txid" 60
	DELIVERED=$((DELIVERED + 1))
done
took=$(log_ms "$B_LOG" 'took over [0-9]+ orders from node 1 \(gw-a\)') ||
    gw_fail "b did not say it took a's orders over"
got=$(now_ms)
gw_log "takeover $((took - stopped)) ms after SIGSTOP; certificates on b after $((got - stopped)) ms"
gw_assert_eq t "$(gw_pg_sql "SELECT bool_and(t.taken_at > n.lease_until + interval '5 s')
    FROM transactions t, nodes n WHERE t.txid LIKE 'f_-txid' AND n.id = 1")" \
    "taken over more than M after a's lease ended"
gw_assert_eq 3 "$(grep -c -E 'reconciled: order .* was issued' "$B_LOG")" \
    "orders b found at GlobalSign"
gw_assert_not_contains "$B_LOG" "ordering it now"
gw_assert_eq 3 "$(sim_orders)" "orders at epki-sim while a is frozen"
# Keep a frozen until a's lease is gone for sure (by the database's clock).
for ((k = 0; k < 100; k++)); do
	[ "$(gw_pg_sql "SELECT lease_until < clock_timestamp() FROM nodes WHERE id = 1")" = t ] && break
	sleep 0.2
done
for d in f1 f2 f3; do cp "$T/$d.pem" "$T/$d.from-b.pem"; done

# Wake a. Its lease is gone: a late renewal, "lost", a new incarnation.
kill -CONT "${CL_PID[a]}"
woke=$(now_ms)
# An enrollment on a right away: the gate is closed (the last renewal's
# deadline has passed, and a new incarnation's gate opens only at its
# first renewal, H = 5 s later): PENDING, nothing ordered now.
rc=0
enroll_on "${CL_URL[a]}" w1 || rc=$?
answered=$(now_ms)
[ "$rc" -eq 3 ] || { cat "$T/w1.out" >&2; gw_fail "w1 on a just woken: exit $rc, not PENDING (3)"; }
gw_log "a answered an enrollment $((answered - woke)) ms after SIGCONT"
gw_assert_eq 3 "$(sim_orders)" "orders right after a woke"
wait_log "$A_LOG" "lease of incarnation 1 renewed [0-9]+ ms late" 10
wait_log "$A_LOG" "lease of incarnation 1 was lost" 10
wait_log "$A_LOG" "registered incarnation 3 \(gw-a\)" 10
gw_assert_contains "$A_LOG" \
    "txid=w1-txid: .*not sent: this gateway's lease might not outlast the call \(order gate closed\)"

# What b finished stays b's: a delivers the same certificates.
for d in f1 f2 f3; do
	poll_on "${CL_URL[a]}" "$d" "$d-txid" 10
	cmp -s "$T/$d.pem" "$T/$d.from-b.pem" ||
	    gw_fail "$d: a delivers another certificate than b did"
done
# a's own calls, answered while it was frozen, count as timed out on
# waking (libcurl's clock ran on): a stores nothing for them, orders none.
gw_assert_not_contains "$A_LOG" "txid=f[123]-txid: issued"
gw_assert_not_contains "$A_LOG" "txid=f[123]-txid: GlobalSign has no order"
# The device enrolled on the woken a gets its certificate, ordered once.
poll_on "${CL_URL[a]}" w1 w1-txid 60
DELIVERED=$((DELIVERED + 1))

sleep 2 # a wrong second order would show in the count
cluster_ledger
gw_assert_eq 4 "$(gw_pg_sql 'SELECT count(*) FROM transactions WHERE state = 2')" \
    "transactions issued"
for n in a b; do
	rc=0
	gw__kill "${CL_PID[$n]}" || rc=$?
	gw_assert_eq 0 "$rc" "gateway $n's exit status on SIGTERM"
done
