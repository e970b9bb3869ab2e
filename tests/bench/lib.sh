# shellcheck shell=bash
# Helpers for the load scripts in tests/bench/ and the enroll-200-at-once
# integration case, on top of tests/lib/harness.sh: issue challenges, run
# scepgw-bench in the background and sample the gateway's threads and
# memory from /proc while it runs.

# bench_challenges FILE N: write N fresh one-time challenges to FILE.
bench_challenges() {
	local file=$1 n=$2 got
	"$GW_BUILD/scepgw" challenge new -c "$GW_CONF" --count "$n" \
	    >"$file" 2>>"$T/cli.log" ||
	    gw_fail "scepgw challenge new --count $n failed (see cli.log)"
	got=$(grep -c . "$file")
	[ "$got" -eq "$n" ] || gw_fail "asked for $n challenges, got $got"
}

# True while PID exists and is not a zombie (a child we have not reaped
# yet still answers kill -0). Shell built-ins only: the sampling loop
# runs beside the measured processes, and starting a `cut` and a
# `sleep` 20 times a second took 2 to 4% of this 2-core machine's CPU.
bench__alive() {
	local st
	read -r st 2>/dev/null <"/proc/$1/stat" || return 1
	st=${st##*) }
	[ -n "$st" ] && [ "${st%% *}" != Z ]
}

# Waits 50 ms without starting a process: a read that times out on a
# pipe nobody writes to.
bench__nap() {
	[ -n "${BENCH__NAP_FD:-}" ] || exec {BENCH__NAP_FD}<> <(:)
	read -r -t 0.05 -u "$BENCH__NAP_FD" _ || true
}

# Zero the peaks and counters that bench_run and bench_sample_status set.
bench_peaks_reset() {
	# shellcheck disable=SC2034 # read by the scripts that source this
	BENCH_PEAK_THREADS=0 BENCH_PEAK_RSS_KB=0 BENCH_HWM_KB=0 \
	    BENCH_SAMPLES=0 BENCH_GW_DIED=0 BENCH_RC=0
}

# bench_sample_status GW_PID: fold one /proc/GW_PID/status into the peaks
# BENCH_PEAK_THREADS and BENCH_PEAK_RSS_KB (VmRSS) and set BENCH_HWM_KB
# (VmHWM, the kernel's own peak). Returns 1 when the process is gone.
bench_sample_status() {
	local k v rest
	[ -n "${BENCH_PEAK_THREADS:-}" ] || bench_peaks_reset
	[ -r "/proc/$1/status" ] || return 1
	while read -r k v rest; do
		case $k in
		Threads:)
			[ "$v" -gt "$BENCH_PEAK_THREADS" ] &&
			    BENCH_PEAK_THREADS=$v ;;
		VmRSS:)
			[ "$v" -gt "$BENCH_PEAK_RSS_KB" ] &&
			    BENCH_PEAK_RSS_KB=$v ;;
		VmHWM:)
			# shellcheck disable=SC2034 # read by the callers
			BENCH_HWM_KB=$v ;;
		esac
	done <"/proc/$1/status" || return 1
	: "$rest"
	return 0
}

# bench_run LOG GW_PID scepgw-bench-arguments...: run scepgw-bench in
# the background (all its output in LOG) and sample GW_PID every 50 ms
# until it ends. Sets BENCH_RC (its exit status), BENCH_SAMPLES,
# BENCH_PEAK_THREADS, BENCH_PEAK_RSS_KB, BENCH_HWM_KB and BENCH_GW_DIED
# (1 when the gateway vanished during the run).
bench_run() {
	local log=$1 gw=$2 pid
	shift 2
	[ -x "$GW_BUILD/scepgw-bench" ] ||
	    gw_fail "no $GW_BUILD/scepgw-bench (build it)"
	bench_peaks_reset
	gw_spawn "$log" "$GW_BUILD/scepgw-bench" "$@"
	pid=$GW_LAST_PID
	while bench__alive "$pid"; do
		if bench_sample_status "$gw"; then
			BENCH_SAMPLES=$((BENCH_SAMPLES + 1))
		else
			BENCH_GW_DIED=1
		fi
		bench__nap
	done
	# shellcheck disable=SC2034 # read by the scripts that source this
	wait "$pid" || BENCH_RC=$?
	# shellcheck disable=SC2034
	bench_sample_status "$gw" || BENCH_GW_DIED=1
}

# bench_field LOG KEY: the value of KEY=VALUE in scepgw-bench's report.
bench_field() {
	grep -o -E "(^| )$2=[^ ]*" "$1" | head -n1 | sed 's/^ *[^=]*=//'
}

# The number of orders epki-sim holds (every certificate it issued): the
# distinct order numbers of its journal.
bench_sim_orders() {
	sed -n 's/^order=//p' "$SIM_DIR/orders.log" 2>/dev/null | sort -u |
	    wc -l
}

# bench_start_sim [epki-sim options]: gw_start_sim, by default with
# --no-fsync and its folder on /dev/shm (removed at exit): its files stand
# in for GlobalSign's database, and creating and syncing one per order
# would bill the gateway for the simulator's disk. BENCH_SIM_DURABLE=1
# keeps epki-sim's defaults (synced files in $T). The gateway's own
# database stays in $T either way. Sets BENCH_SIM_MODE (for reports).
bench_start_sim() {
	gw_tmpdir
	if [ "${BENCH_SIM_DURABLE:-0}" = 1 ]; then
		gw_start_sim "$@"
		BENCH_SIM_MODE="epki-sim durable (fsync, on disk)"
		return
	fi
	BENCH__SHM=$(mktemp -d /dev/shm/gw-bench-sim.XXXXXX)
	# gw__cleanup reads the exit status from $?: keep it for it.
	# shellcheck disable=SC2154 # rc is set inside the trap
	trap 'rc=$?; set +e; [ "$BASHPID" = "$GW__MAIN_PID" ] &&
	    rm -rf "$BENCH__SHM"; (exit $rc); gw__cleanup' EXIT
	ln -s "$BENCH__SHM" "$T/epki-sim"
	gw_start_sim --no-fsync "$@"
	# shellcheck disable=SC2034 # read by the scripts that source this
	BENCH_SIM_MODE="epki-sim --no-fsync, folder on /dev/shm"
}

# bench_key_args SUBDIR: the --key-dir option for scepgw-bench when
# BENCH_KEY_DIR is set (keys kept in BENCH_KEY_DIR/SUBDIR between runs;
# each SUBDIR must be used once per gateway), else nothing.
bench_key_args() {
	[ -n "${BENCH_KEY_DIR:-}" ] || return 0
	mkdir -p "$BENCH_KEY_DIR/$1"
	printf '%s\n' --key-dir "$BENCH_KEY_DIR/$1"
}
