#!/usr/bin/env bash
# Enrollment throughput with an instant GlobalSign: starts epki-sim with no
# latency and one scepgw, then for each concurrency in BENCH_CONCURRENCY
# (1 4 16) issues N (2000) fresh challenges and runs scepgw-bench enroll,
# and prints a table of enrollments/s and latency percentiles.
#
#   tests/bench/run-throughput.sh
#   BENCH_N=2000 BENCH_CONCURRENCY="1 4 16" GW_BUILD=build-bench \
#	tests/bench/run-throughput.sh
#
# Exits non-zero only when a reply is wrong or the gateway dies; timings
# are only reported. Key generation (untimed) takes a while for N=2000;
# BENCH_KEY_DIR=DIR keeps the keys there for the next run; BENCH_THREADS
# sets [server] threads. The last column is the database writes per group
# commit (fsync), from the gateway's /metrics; cpu_ms is the machine's CPU
# per enrollment while timed (busy: the share of all cores), gw_ms and
# sim_ms the gateway's and epki-sim's part of it. epki-sim runs
# with --no-fsync on /dev/shm unless BENCH_SIM_DURABLE=1 (see lib.sh).
GW_SRC=${GW_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
GW_CASE=${GW_CASE:-bench-throughput}
. "$GW_SRC/tests/lib/harness.sh"
. "$GW_SRC/tests/bench/lib.sh"

N=${BENCH_N:-2000}
CONCURRENCY=${BENCH_CONCURRENCY:-1 4 16}

gw_need curl
gw_tmpdir
bench_start_sim
gw_init
[ -z "${BENCH_THREADS:-}" ] || gw_conf_set server threads "$BENCH_THREADS"
# The admin API, for the group-commit counters of /metrics.
gw_admin_enable
gw_start

# db_counter NAME: a counter of the gateway's /metrics.
db_counter() {
	curl -sS -H "Authorization: Bearer $TOKEN" \
	    "$GW_ADMIN_URL/metrics" | sed -n "s/^$1 //p"
}
rows=()
for c in $CONCURRENCY; do
	log=$T/bench-c$c.log
	commits0=$(db_counter scepgw_db_commits_total)
	writes0=$(db_counter scepgw_db_writes_total)
	bench_challenges "$T/challenges-c$c.txt" "$N"
	mapfile -t keyargs < <(bench_key_args "c$c")
	bench_run "$log" "$GW_PID" enroll --url "$GW_URL" \
	    --challenges "$T/challenges-c$c.txt" -n "$N" -c "$c" \
	    --watch "gateway=$GW_PID" --watch "epki-sim=$SIM_PID" \
	    "${keyargs[@]}"
	printf '== c=%s ==\n' "$c"
	grep -v '^scepgw-bench: ' "$log"
	[ "$BENCH_GW_DIED" -eq 0 ] || gw_fail "scepgw died during c=$c"
	[ "$BENCH_RC" -eq 0 ] ||
	    gw_fail "c=$c: scepgw-bench exited $BENCH_RC: $(grep '^scepgw-bench: ' "$log" | head -n 5)"
	commits=$(($(db_counter scepgw_db_commits_total) - commits0))
	writes=$(($(db_counter scepgw_db_writes_total) - writes0))
	rows+=("$(printf '%11s %6s %9s %8s %8s %8s %8s %8s %8s %8s %8s %5s %6s %6s' "$c" "$N" \
	    "$(bench_field "$log" successes)" \
	    "$(bench_field "$log" wall_s)" \
	    "$(bench_field "$log" rate_per_s)" \
	    "$(bench_field "$log" p50)" "$(bench_field "$log" p99)" \
	    "$BENCH_PEAK_THREADS" "$((BENCH_HWM_KB / 1024))" \
	    "$(awk -v w="$writes" -v c="$commits" \
		'BEGIN { printf "%.2f", c ? w / c : 0 }')" \
	    "$(bench_field "$log" machine)" \
	    "$(bench_field "$log" machine_busy)" \
	    "$(bench_field "$log" gateway)" \
	    "$(bench_field "$log" epki-sim)")")
done
printf '\n%s; scepgw database synchronous=FULL on disk\n' "$BENCH_SIM_MODE"
printf '%11s %6s %9s %8s %8s %8s %8s %8s %8s %8s %8s %5s %6s %6s\n' concurrency n \
    successes wall_s enroll/s p50_ms p99_ms threads hwm_MiB wr/commit \
    cpu_ms busy gw_ms sim_ms
printf '%s\n' "${rows[@]}"
gw_stop
