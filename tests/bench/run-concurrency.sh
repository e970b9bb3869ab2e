#!/usr/bin/env bash
# Many enrollments at once against a slow GlobalSign: starts epki-sim with
# --latency-ms 1000 and scepgw ([server] threads at its default), issues N
# challenges and sends N PKCSReqs at the same time with scepgw-bench,
# sampling the gateway's thread count and RSS every 50 ms meanwhile.
#
#   tests/bench/run-concurrency.sh
#   BENCH_N=200 BENCH_C=200 BENCH_LATENCY_MS=1000 GW_BUILD=build-bench \
#	tests/bench/run-concurrency.sh
#
# Prints the scepgw-bench report, the peak thread count and peak RSS. Exits
# non-zero only when a reply is wrong, the gateway dies, or it ever has
# more than BENCH_MAX_THREADS (32) threads; timings are only reported.
# BENCH_KEY_DIR and BENCH_SIM_DURABLE: see lib.sh. BENCH_PENDING_AFTER and
# BENCH_EPKI_CONNECTIONS: see below.
GW_SRC=${GW_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
GW_CASE=${GW_CASE:-bench-concurrency}
. "$GW_SRC/tests/lib/harness.sh"
. "$GW_SRC/tests/bench/lib.sh"

N=${BENCH_N:-200}
C=${BENCH_C:-$N}
LATENCY_MS=${BENCH_LATENCY_MS:-1000}
MAX_THREADS=${BENCH_MAX_THREADS:-32}

gw_need curl
gw_tmpdir
bench_start_sim --latency-ms "$LATENCY_MS"
# The simulated account starts with 10,000 licences; init spends one.
[ "$(curl -fsS -m 10 -d "licences=$((N + 100))" \
    "http://127.0.0.1:$SIM_PORT/sim/config")" = ok ] ||
    gw_fail "cannot give epki-sim $((N + 100)) licences"
gw_init
# The default (20 s) already exceeds the latency; set it to say so.
# BENCH_PENDING_AFTER raises it for runs whose orders queue behind
# [epki] max_connections (BENCH_EPKI_CONNECTIONS, default 1024) longer.
gw_conf_set scep pending_after_seconds "${BENCH_PENDING_AFTER:-20}"
[ -z "${BENCH_EPKI_CONNECTIONS:-}" ] ||
    gw_conf_set epki max_connections "$BENCH_EPKI_CONNECTIONS"
# BENCH_THREADS sets [server] threads, as in run-throughput.sh.
[ -z "${BENCH_THREADS:-}" ] || gw_conf_set server threads "$BENCH_THREADS"
gw_start
orders0=$(bench_sim_orders)
bench_challenges "$T/challenges.txt" "$N"
bench_sample_status "$GW_PID" || gw_fail "scepgw is not running"
idle_threads=$BENCH_PEAK_THREADS idle_rss=$BENCH_PEAK_RSS_KB

mapfile -t keyargs < <(bench_key_args "n$N")
bench_run "$T/bench.log" "$GW_PID" enroll --url "$GW_URL" \
    --challenges "$T/challenges.txt" -n "$N" -c "$C" "${keyargs[@]}"
orders=$(($(bench_sim_orders) - orders0))

cat <<EOF
== scepgw-bench enroll, n=$N c=$C, epki-sim --latency-ms $LATENCY_MS ($BENCH_SIM_MODE) ==
$(grep -v '^scepgw-bench: ' "$T/bench.log")
gateway: threads idle=$idle_threads peak=$BENCH_PEAK_THREADS (limit $MAX_THREADS)
gateway: rss idle=$((idle_rss / 1024)) MiB peak_sampled=$((BENCH_PEAK_RSS_KB / 1024)) MiB VmHWM=$((BENCH_HWM_KB / 1024)) MiB
gateway: samples=$BENCH_SAMPLES (every 50 ms) epki-sim orders=$orders
EOF
[ "$BENCH_GW_DIED" -eq 0 ] || gw_fail "scepgw died during the run"
[ "$BENCH_RC" -eq 0 ] ||
    gw_fail "scepgw-bench exited $BENCH_RC: $(grep '^scepgw-bench: ' "$T/bench.log" | head -n 5)"
[ "$BENCH_PEAK_THREADS" -le "$MAX_THREADS" ] ||
    gw_fail "scepgw had $BENCH_PEAK_THREADS threads, more than $MAX_THREADS"
gw_assert_eq "$N" "$orders" "orders at epki-sim"
gw_stop
