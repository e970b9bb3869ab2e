#!/usr/bin/env bash
# Many devices enrolling at the same moment while GlobalSign takes a second
# per order: every PKCSReq gets its own certificate, and the gateway keeps
# to its small fixed set of threads (at most 32) instead of one per waiting
# request. A smaller, sanitizer-friendly version of
# tests/bench/run-concurrency.sh (200 at once); it checks correctness and
# the thread count, never timings.
. "$GW_SRC/tests/integration/lib.sh"
. "$GW_SRC/tests/bench/lib.sh"
N=${BENCH_N:-100}
MAX_THREADS=32

gw_up --latency-ms 1000
bench_challenges "$T/challenges.txt" "$N"
bench_run "$T/bench.log" "$GW_PID" enroll --url "$GW_URL" \
    --challenges "$T/challenges.txt" -n "$N" -c "$N" --timeout 120
gw_log "$(tr '\n' ' ' <"$T/bench.log")"
gw_log "gateway threads peak=$BENCH_PEAK_THREADS, VmHWM=$((BENCH_HWM_KB / 1024)) MiB, $BENCH_SAMPLES samples"
[ "$BENCH_GW_DIED" -eq 0 ] || gw_fail "scepgw died during the run"
[ "$BENCH_RC" -eq 0 ] ||
    gw_fail "scepgw-bench exited $BENCH_RC: $(grep '^scepgw-bench: ' "$T/bench.log" | head -n 5)"
gw_assert_eq "$N" "$(bench_field "$T/bench.log" successes)" "successful enrollments"
[ "$BENCH_SAMPLES" -gt 0 ] || gw_fail "never sampled the gateway's threads"
[ "$BENCH_PEAK_THREADS" -le "$MAX_THREADS" ] ||
    gw_fail "scepgw had $BENCH_PEAK_THREADS threads, more than $MAX_THREADS"
gw_assert_eq "$N" "$(sim_orders)" "orders at epki-sim"
gw_stop
