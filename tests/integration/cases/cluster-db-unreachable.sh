#!/usr/bin/env bash
# ctest-labels: long
# PostgreSQL unreachable for one gateway (README "PostgreSQL"). Gateway a
# reaches the database through a TCP relay (tests/lib/tcp-relay.py), b on
# the Unix socket; [db] timeout_seconds 3. a has an order in flight (epki-
# sim answers 2.5 s late) when the relay freezes: every packet black-holed,
# the sockets left open, so that libpq alone would wait for ever. While it
# is frozen a device enrolling on a gets a bounded answer (HTTP 503, the
# reason in a's log), no order is placed and its challenge is not used: the
# same challenge then works on b. b keeps serving, takes a's order over
# once a's lease ran out and finds it at GlobalSign; the device polling b
# gets its certificate. The relay resumes: a finds its lease lost,
# registers a new incarnation and serves again, without a restart. Then the
# relay cuts a off (connections closed, new ones refused): a answers 503 at
# once, and serves again when it comes back. Ledger: orders == licences ==
# certificates delivered, no challenge used twice. Without PostgreSQL:
# skipped.
CL_PG_TCP=1
. "$GW_SRC/tests/integration/cases/cluster.bash"
cluster_up
gw_spawn "$T/relay.log" python3 -u "$GW_SRC/tests/lib/tcp-relay.py" "$GW_PG_PORT"
RELAY_PID=$GW_LAST_PID
line=$(gw_wait_log "$T/relay.log" '^relay listening on 127\.0\.0\.1:[0-9]+' "$RELAY_PID" 10) ||
    gw_fail "the relay did not start"
RELAY_PORT=${line##*:}
gw_conf_set db url "postgresql://scepgw@127.0.0.1:$RELAY_PORT/scepgw" "$GW_DIR/a.conf"
for n in a b; do gw_conf_set db timeout_seconds 3 "$GW_DIR/$n.conf"; done

# relay SIGNAL MODE: switches the relay (USR1 freeze, HUP cut, USR2 pass).
relay() {
	local k before
	before=$(grep -c '^mode ' "$T/relay.log" || true)
	kill -"$1" "$RELAY_PID"
	for ((k = 0; k < 50; k++)); do
		[ "$(grep -c '^mode ' "$T/relay.log" || true)" -gt "$before" ] && break
		sleep 0.1
	done
	[ "$(grep '^mode ' "$T/relay.log" | tail -n 1)" = "mode $2" ] ||
	    gw_fail "the relay did not switch to $2"
}

cluster_start a
cluster_start b
A_LOG=${CL_LOG[a]}
B_LOG=${CL_LOG[b]}
rc=0
enroll_on "${CL_URL[a]}" ok1 || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/ok1.out" >&2; gw_fail "ok1 through the relay: exit $rc"; }
DELIVERED=$((DELIVERED + 1))

# An order in flight on a (answered 2.5 s late) when the relay freezes.
curl -fsS -m 10 -d 'fault=latency&op=OrderAndIssueCertificate&count=1&ms=2500' \
    "http://127.0.0.1:$SIM_PORT/sim/fault" >/dev/null || gw_fail "sim fault"
rc=0
enroll_on "${CL_URL[a]}" d1 || rc=$?
[ "$rc" -eq 3 ] || { cat "$T/d1.out" >&2; gw_fail "d1 on a: exit $rc, not PENDING (3)"; }
gw_assert_eq 2 "$(sim_orders)" "orders before the freeze"
relay USR1 freeze
frozen=$(now_ms)

# A device sent to a while it is cut off: a bounded 503, nothing used.
c2=$(gw_challenge --cn d2)
t0=$(now_ms)
rc=0
timeout -k 2 60 "$GW_BUILD/scepreq" enroll --url "${CL_URL[a]}" --key "$T/d2.key" \
    --cert-out "$T/d2.pem" --challenge "$c2" --cn d2 --txid d2-txid \
    >"$T/d2.a.out" 2>&1 || rc=$?
t1=$(now_ms)
gw_log "a answered d2 after $((t1 - t0)) ms while cut off (scepreq exit $rc)"
[ "$rc" -ne 124 ] || gw_fail "a did not answer d2 within 60 s while cut off"
gw_assert_eq 1 "$rc" "scepreq's exit status for an HTTP error"
gw_assert_contains "$T/d2.a.out" "503"
gw_assert_contains "$A_LOG" "txid=d2-txid: database: .*(did not answer within 5 s|timeout expired)"
gw_assert_contains "$A_LOG" "PKIOperation status=503 txid=d2-txid"
gw_assert_eq 2 "$(sim_orders)" "orders while a is cut off"
# Not used on a: the same challenge enrolls on b.
rc=0
timeout -k 2 30 "$GW_BUILD/scepreq" enroll --url "${CL_URL[b]}" --key "$T/d2.key" \
    --cert-out "$T/d2.pem" --challenge "$c2" --cn d2 --txid d2-txid \
    >"$T/d2.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/d2.out" >&2; gw_fail "d2 on b: exit $rc"; }
assert_issued d2
DELIVERED=$((DELIVERED + 1))

# b takes a's order over after a's lease (+ M), finds it at GlobalSign.
poll_on "${CL_URL[b]}" d1 d1-txid 90
DELIVERED=$((DELIVERED + 1))
took=$(log_ms "$B_LOG" 'took over 1 orders from node 1 \(gw-a\)') ||
    gw_fail "b did not say it took a's order over"
gw_log "b took a's order over $((took - frozen)) ms after the freeze"
gw_assert_contains "$B_LOG" "txid=d1-txid: reconciled: order .* was issued"
gw_assert_not_contains "$B_LOG" "ordering it now"
gw_assert_contains "$A_LOG" "lease of incarnation 1: renewal failed: .*PostgreSQL"

# The relay resumes: a notices its lease is gone, re-registers, serves.
relay USR2 pass
resumed=$(now_ms)
wait_log "$A_LOG" "lease of incarnation 1 was lost" 30
wait_log "$A_LOG" "registered incarnation [0-9]+ \(gw-a\)" 30
gw_log "a registered again $(($(log_ms "$A_LOG" "registered incarnation [0-9]+ \(gw-a\)") - resumed)) ms after the relay resumed"
rc=0
enroll_on "${CL_URL[a]}" d3 || rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || { cat "$T/d3.out" >&2; gw_fail "d3 on a after the resume: exit $rc"; }
poll_on "${CL_URL[a]}" d3 d3-txid 60
DELIVERED=$((DELIVERED + 1))

# Cut: connections closed, new ones refused: 503 at once, then back.
relay HUP cut
c4=$(gw_challenge --cn d4)
t0=$(now_ms)
rc=0
timeout -k 2 60 "$GW_BUILD/scepreq" enroll --url "${CL_URL[a]}" --key "$T/d4.key" \
    --cert-out "$T/d4.pem" --challenge "$c4" --cn d4 --txid d4-txid \
    >"$T/d4.a.out" 2>&1 || rc=$?
t1=$(now_ms)
gw_log "a answered d4 after $((t1 - t0)) ms while its connections were cut (scepreq exit $rc)"
gw_assert_eq 1 "$rc" "scepreq's exit status for an HTTP error"
gw_assert_contains "$T/d4.a.out" "503"
relay USR2 pass
rc=0
for ((k = 0; k < 20; k++)); do
	rc=0
	timeout -k 2 30 "$GW_BUILD/scepreq" enroll --url "${CL_URL[a]}" --key "$T/d4.key" \
	    --cert-out "$T/d4.pem" --challenge "$c4" --cn d4 --txid d4-txid \
	    >"$T/d4.out" 2>&1 || rc=$?
	[ "$rc" -eq 1 ] || break
	sleep 0.5
done
[ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || { cat "$T/d4.out" >&2; gw_fail "d4 on a after the cut: exit $rc"; }
poll_on "${CL_URL[a]}" d4 d4-txid 60
DELIVERED=$((DELIVERED + 1))

sleep 2 # a wrong second order would show in the count
cluster_ledger
for n in a b; do
	rc=0
	gw__kill "${CL_PID[$n]}" || rc=$?
	gw_assert_eq 0 "$rc" "gateway $n's exit status on SIGTERM"
done
