# shellcheck shell=bash
# The parts of tests/bench/run-ha.sh: set up one configuration (S1, P1,
# P2) on a fresh database, measure one run, summarise, and the two
# failure measurements. Sourced after harness.sh, lib.sh and pg.sh.

declare -A HA_PID=() HA_URL=() HA_ADMIN=() HA_LOG=()
HA_NODES=()
HA_TICK=$(getconf CLK_TCK)

# now_ms: wall clock in milliseconds.
ha_now_ms() {
	date -u +%s%3N
}

# ha_log_ms LOG RE: the time (ms) of LOG's first line matching RE.
ha_log_ms() {
	local line
	line=$(grep -m1 -E "$2" "$1") || return 1
	date -u -d "${line%% *}" +%s%3N
}

# Waits until the machine is quiet (see run-ha.sh); notes it when not.
ha_wait_quiet() {
	local waited=0 re=${BENCH_QUIET_RE:-ci6.dir|ci7.dir}
	[ "${BENCH_QUIET:-1}" = 1 ] || return 0
	while pgrep -f "$re" >/dev/null ||
	    ! awk '{ exit !($1 < 1.5) }' /proc/loadavg; do
		if [ "$waited" -ge "${BENCH_QUIET_MAX:-900}" ]; then
			printf '# not quiet after %s s (load %s); measuring anyway\n' \
			    "$waited" "$(cut -d' ' -f1 /proc/loadavg)"
			return 0
		fi
		sleep 5
		waited=$((waited + 5))
	done
	printf '# quiet after %s s (load %s)\n' "$waited" \
	    "$(cut -d' ' -f1 /proc/loadavg)"
}

# ha_db NAME: a fresh database NAME owned by the gateway's role; prints
# the gateway's URL for it (PGURL, default the primary's).
ha_db() {
	local url=${2:-$GW_PG_URL}
	gw_pg_sql "CREATE DATABASE $1 OWNER scepgw" >/dev/null ||
	    gw_fail "cannot create database $1"
	printf '%s\n' "${url/\/scepgw\?//$1?}"
}

# ha_init DIR [scepgw init options]: scepgw init into DIR (gw_init's
# folder moved there), the admin API on; GW_DIR and GW_CONF follow.
ha_init() {
	local dir=$1
	shift
	gw_init "$@"
	mv "$GW_DIR" "$dir" || gw_fail "cannot move $GW_DIR"
	GW_DIR=$dir
	GW_CONF=$dir/scepgw.conf
	gw_admin_enable
}

# ha_node NAME: NAME.conf from scepgw.conf (own node_name, ports),
# started; waits until GetCACaps answers.
ha_node() {
	local n=$1 conf=$GW_DIR/$1.conf port aport i
	cp "$GW_CONF" "$conf"
	port=$(gw_free_port)
	aport=$(gw_free_port)
	gw_conf_set cluster node_name "gw-$n" "$conf"
	gw_conf_set server listen "127.0.0.1:$port" "$conf"
	gw_conf_set admin listen "127.0.0.1:$aport" "$conf"
	HA_URL[$n]=http://127.0.0.1:$port/scep
	HA_ADMIN[$n]=http://127.0.0.1:$aport
	HA_LOG[$n]=$GW_DIR/scepgw-$n.log
	gw_spawn "${HA_LOG[$n]}" "$GW_BUILD/scepgw" serve -c "$conf"
	HA_PID[$n]=$GW_LAST_PID
	for ((i = 0; i < GW_START_TIMEOUT * 10; i++)); do
		gw_caps_ok "${HA_URL[$n]}" && return 0
		kill -0 "${HA_PID[$n]}" 2>/dev/null || break
		sleep 0.1
	done
	cat "${HA_LOG[$n]}" >&2
	gw_fail "gateway $n did not start"
}

# ha_setup CFG NAME: configuration CFG on a fresh folder and database.
ha_setup() {
	local cfg=$1 name=$2 url n
	HA_DB=
	if [ "$cfg" = S1 ]; then
		ha_init "$T/$cfg-$name"
	else
		HA_DB=${cfg,,}_${name//-/_}
		url=$(ha_db "$HA_DB")
		ha_init "$T/$cfg-$name" --db-url "$url" \
		    --db-password-file "$T/db.password"
	fi
	HA_NODES=(a)
	[ "$cfg" != P2 ] || HA_NODES=(a b)
	for n in "${HA_NODES[@]}"; do
		ha_node "$n"
	done
}

# Stops the configuration's gateways.
ha_teardown() {
	local n rc
	for n in "${HA_NODES[@]}"; do
		rc=0
		gw__kill "${HA_PID[$n]}" || rc=$?
		[ "$rc" -eq 0 ] || gw_fail "gateway $n exited $rc on SIGTERM"
	done
}

# ha_metric NAME: a counter of /metrics summed over the gateways.
ha_metric() {
	local n s=0 v
	for n in "${HA_NODES[@]}"; do
		v=$(curl -sS -H "Authorization: Bearer $TOKEN" \
		    "${HA_ADMIN[$n]}/metrics" | sed -n "s/^$1 //p")
		s=$((s + ${v:-0}))
	done
	echo "$s"
}

# CPU ticks of the whole PostgreSQL cluster: the postmaster (with its
# reaped children: short-lived backends) and every live child.
ha_pg_ticks() {
	local pm
	pm=$(head -n 1 "$GW_PG_DIR/data/postmaster.pid")
	# A process may end between the glob and its read.
	{ cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v pm="$pm" '
	{ pid = $1; sub(/^.*\) /, "")
	  if (pid == pm) t += $12 + $13 + $14 + $15
	  else if ($2 == pm) t += $12 + $13 }
	END { print t + 0 }'
}

# The database's counters: xact_commit xact_rollback deadlocks
# statements (pg_stat_statements calls) WAL position (bytes).
ha_pg_counters() {
	gw_pg_sql "SELECT d.xact_commit, d.xact_rollback, d.deadlocks,
	    (SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s
	     WHERE s.dbid = d.datid),
	    pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')
	    FROM pg_stat_database d WHERE d.datname = '$1'" | tr '|' ' '
}

# Starts sampling pg_locks (ungranted locks) every 200 ms into $1, on one
# connection of its own (its CPU counts as PostgreSQL's).
ha_locks_start() {
	printf '%s\n' "SELECT count(*) FROM pg_locks WHERE NOT granted;" \
	    '\watch 0.2' >"$T/locks.sql"
	"$(gw_pg_bindir)/psql" -X -q -A -t -h "$GW_PG_DIR" -p "$GW_PG_PORT" \
	    -U postgres -d postgres -f "$T/locks.sql" >"$1" 2>&1 &
	HA_LOCKS_PID=$!
}

ha_locks_stop() {
	kill "$HA_LOCKS_PID" 2>/dev/null || true
	wait "$HA_LOCKS_PID" 2>/dev/null || true
}

ha_header() {
	printf '%-3s %3s %2s %7s %7s %7s %6s %6s %6s %6s %6s %6s %5s %4s %4s %5s %7s %5s\n' \
	    cfg c r enroll/s p50_ms p99_ms gw_ms sim_ms pg_ms cpu_ms \
	    stmts xacts wr/cm rb dl lockw wal_kB load | tee "$T/rows.txt"
}

# ha_measure CFG C ROUND: one run of N enrollments at concurrency C.
ha_measure() {
	local cfg=$1 c=$2 r=$3 log=$T/bench-$1-c$2-r$3.log load n pg0 pg1
	local -a urls=() watch=() keyargs=() before=() after=()
	local commits0 writes0 commits writes lockmax=-
	bench_challenges "$T/challenges.txt" "$N"
	for n in "${HA_NODES[@]}"; do
		urls+=(--url "${HA_URL[$n]}")
		watch+=(--watch "gw-$n=${HA_PID[$n]}")
	done
	[ -z "${BENCH_KEY_DIR:-}" ] || keyargs=(--key-dir "$BENCH_KEY_DIR")
	load=$(cut -d' ' -f1 /proc/loadavg)
	commits0=$(ha_metric scepgw_db_commits_total)
	writes0=$(ha_metric scepgw_db_writes_total)
	if [ -n "$HA_DB" ]; then
		read -r -a before < <(ha_pg_counters "$HA_DB")
		ha_locks_start "$T/locks-$cfg-c$c-r$r.txt"
	fi
	pg0=$(ha_pg_ticks)
	bench_run "$log" "${HA_PID[a]}" enroll "${urls[@]}" \
	    --challenges "$T/challenges.txt" -n "$N" -c "$c" \
	    "${watch[@]}" --watch "epki-sim=$SIM_PID" "${keyargs[@]}"
	pg1=$(ha_pg_ticks)
	[ "$BENCH_GW_DIED" -eq 0 ] || gw_fail "$cfg c=$c: a gateway died"
	[ "$BENCH_RC" -eq 0 ] ||
	    gw_fail "$cfg c=$c: scepgw-bench exited $BENCH_RC: $(grep '^scepgw-bench: ' "$log" | head -n 5)"
	commits=$(($(ha_metric scepgw_db_commits_total) - commits0))
	writes=$(($(ha_metric scepgw_db_writes_total) - writes0))
	if [ -n "$HA_DB" ]; then
		ha_locks_stop
		# PostgreSQL 15 backends publish their counters when idle
		# for 10 s at the latest.
		sleep 11
		read -r -a after < <(ha_pg_counters "$HA_DB")
		lockmax=$(grep -E '^[0-9]+$' "$T/locks-$cfg-c$c-r$r.txt" |
		    awk '$1 > m { m = $1 } END { print m + 0 }')
	else
		before=(0 0 0 0 0) after=(0 0 0 0 0)
	fi
	awk -v cfg="$cfg" -v c="$c" -v r="$r" -v n="$N" \
	    -v rate="$(bench_field "$log" rate_per_s)" \
	    -v p50="$(bench_field "$log" p50)" -v p99="$(bench_field "$log" p99)" \
	    -v ga="$(bench_field "$log" gw-a)" -v gb="$(bench_field "$log" gw-b)" \
	    -v sim="$(bench_field "$log" epki-sim)" \
	    -v mach="$(bench_field "$log" machine)" \
	    -v pg="$(((pg1 - pg0) * 1000 / HA_TICK))" -v db="$HA_DB" \
	    -v x="$((after[0] - before[0]))" -v rb="$((after[1] - before[1]))" \
	    -v dl="$((after[2] - before[2]))" -v st="$((after[3] - before[3]))" \
	    -v wal="$((after[4] - before[4]))" \
	    -v w="$writes" -v cm="$commits" -v lm="$lockmax" -v load="$load" '
	BEGIN {
		gw = ga + (gb == "" ? 0 : gb)
		if (db == "") { pgc = "-"; st = "-"; xa = "-"; rb = "-"; dl = "-"; lm = "-"; wk = "-" }
		else { pgc = sprintf("%.3f", pg / n); st = sprintf("%.2f", st / n)
		       xa = sprintf("%.2f", x / n); wk = sprintf("%.2f", wal / n / 1024) }
		printf "%-3s %3s %2s %7.1f %7.1f %7.1f %6.3f %6.3f %6s %6.3f %6s %6s %5.2f %4s %4s %5s %7s %5s\n",
		    cfg, c, r, rate, p50, p99, gw, sim, pgc, mach, st, xa,
		    cm ? w / cm : 0, rb, dl, lm, wk, load
	}' | tee -a "$T/rows.txt"
}

# Medians (and min..max) per configuration and concurrency, and the
# rate against S1's median at the same concurrency.
ha_summary() {
	printf '\nmedians over %s rounds (min..max); ratio = enroll/s / S1 enroll/s\n' "$ROUNDS"
	python3 - "$T/rows.txt" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])][1:]
cols = ["enroll/s", "p50_ms", "p99_ms", "gw_ms", "sim_ms", "pg_ms", "stmts", "xacts", "rb", "lockw"]
idx = {"enroll/s": 3, "p50_ms": 4, "p99_ms": 5, "gw_ms": 6, "sim_ms": 7, "pg_ms": 8, "stmts": 10, "xacts": 11, "rb": 13, "lockw": 15}
groups = {}
for r in rows:
    groups.setdefault((r[0], int(r[1])), []).append(r)
def med(g, k):
    v = [float(r[idx[k]]) for r in g if r[idx[k]] != "-"]
    if not v:
        return "-"
    m = statistics.median(v)
    return "%.1f (%.1f..%.1f)" % (m, min(v), max(v)) if k in ("enroll/s", "p50_ms", "p99_ms") else "%.3g (%.3g..%.3g)" % (m, min(v), max(v))
base = {}
for (cfg, c), g in groups.items():
    if cfg == "S1":
        base[c] = statistics.median(float(r[3]) for r in g)
for (cfg, c), g in sorted(groups.items(), key=lambda x: (x[0][1], x[0][0])):
    m = statistics.median(float(r[3]) for r in g)
    ratio = "%.0f%%" % (100 * m / base[c]) if c in base else "-"
    print("%s c=%d ratio=%s " % (cfg, c, ratio) + " ".join("%s=%s" % (k, med(g, k)) for k in cols))
EOF
}

# Takeover latency after a SIGKILL: gateways a and b on one database,
# [epki] timeout_seconds 3, [cluster] lease_seconds 18 (the least for
# that timeout), reconcile_seconds 1. epki-sim makes a's order but drops
# its answer; a is killed while waiting; times from the kill to b's
# takeover, to b storing the certificate and to the device's poll on b.
ha_takeover() {
	local url rc=0 t0 took stored got k
	url=$(ha_db takeover)
	ha_init "$T/takeover" --db-url "$url" --db-password-file "$T/db.password"
	gw_conf_set scep pending_after_seconds 1
	gw_conf_set epki reconcile_seconds 1
	gw_conf_set epki timeout_seconds 3
	gw_conf_set cluster lease_seconds 18
	HA_NODES=(a b)
	ha_node a
	ha_node b
	curl -fsS -m 10 -d 'fault=drop&op=OrderAndIssueCertificate&count=1&ms=10000' \
	    "http://127.0.0.1:$SIM_PORT/sim/fault" >/dev/null || gw_fail "sim fault"
	"$GW_BUILD/scepreq" enroll --url "${HA_URL[a]}" --key "$T/tk.key" \
	    --cert-out "$T/tk.pem" --challenge "$(gw_challenge --cn tk)" \
	    --cn tk --txid tk-txid >"$T/tk.out" 2>&1 || rc=$?
	[ "$rc" -eq 3 ] || gw_fail "takeover: enrollment on a exited $rc, not PENDING"
	kill -KILL "${HA_PID[a]}"
	t0=$(ha_now_ms)
	wait "${HA_PID[a]}" 2>/dev/null || true
	HA_NODES=(b)
	rc=3
	for ((k = 0; k < 600 && rc == 3; k++)); do
		rc=0
		"$GW_BUILD/scepreq" poll --url "${HA_URL[b]}" --key "$T/tk.key" \
		    --txid tk-txid --cert-out "$T/tk.pem" >"$T/tk.poll" 2>&1 ||
		    rc=$?
		[ "$rc" -ne 3 ] || sleep 0.2
	done
	got=$(ha_now_ms)
	[ "$rc" -eq 0 ] || gw_fail "takeover: poll on b exited $rc"
	took=$(ha_log_ms "${HA_LOG[b]}" 'took over 1 orders from node') ||
	    gw_fail "b did not take the order over"
	stored=$(ha_log_ms "${HA_LOG[b]}" 'txid=tk-txid: reconciled: order .* was issued') ||
	    gw_fail "b did not find the order at GlobalSign"
	printf '\ntakeover after SIGKILL (timeout_seconds 3, lease_seconds 18, reconcile_seconds 1): taken over %d ms, certificate stored %d ms, device poll SUCCESS %d ms after the kill (poll every 0.2 s)\n' \
	    $((took - t0)) $((stored - t0)) $((got - t0))
	ha_teardown
}

# Downtime of a failover to a synchronous standby: one gateway on a
# multi-host URL (target_session_attrs=read-write); the primary stopped
# hard, the standby promoted at once (no HA manager's detection time);
# fresh enrollments one after the other until the first SUCCESS.
ha_failover() {
	local url k rc t0 tp t1 fails=0 codes=
	ha_db failover >/dev/null
	gw_pg_standby_start
	url=${GW_PG_HA_URL/\/scepgw\?//failover?}
	ha_init "$T/failover" --db-url "$url" --db-password-file "$T/db.password"
	HA_NODES=(a)
	ha_node a
	bench_challenges "$T/fo-challenges.txt" 200
	mapfile -t fo_ch <"$T/fo-challenges.txt"
	for ((k = 0; k < 200; k++)); do
		openssl genrsa -out "$T/fo-$k.key" 2048 2>/dev/null
		[ "$k" -lt 19 ] || break
	done
	"$GW_BUILD/scepreq" enroll --url "${HA_URL[a]}" --key "$T/fo-0.key" \
	    --cert-out "$T/fo-0.pem" --challenge "${fo_ch[0]}" --cn fo0 \
	    >"$T/fo-0.out" 2>&1 || gw_fail "failover: the first enrollment failed"
	gw_pg_stop_hard
	t0=$(ha_now_ms)
	gw_pg_promote
	tp=$(ha_now_ms)
	for ((k = 1; k < 200; k++)); do
		[ -f "$T/fo-$k.key" ] || openssl genrsa -out "$T/fo-$k.key" 2048 2>/dev/null
		rc=0
		timeout -k 2 30 "$GW_BUILD/scepreq" enroll --url "${HA_URL[a]}" \
		    --key "$T/fo-$k.key" --cert-out "$T/fo-$k.pem" \
		    --challenge "${fo_ch[$k]}" --cn "fo$k" >"$T/fo-$k.out" 2>&1 ||
		    rc=$?
		[ "$rc" -ne 0 ] || break
		fails=$((fails + 1))
		codes+=" $rc"
	done
	t1=$(ha_now_ms)
	[ "$rc" -eq 0 ] || gw_fail "failover: no SUCCESS after 200 tries"
	printf 'failover to the synchronous standby: promoted %d ms after the hard stop; first SUCCESS %d ms after it; %d failed tries before (scepreq exit codes:%s)\n' \
	    $((tp - t0)) $((t1 - t0)) "$fails" "$codes"
	ha_teardown
}

# ha_statements DB: the statements the gateways sent to database DB, per
# enrollment of its last run (pg_stat_statements, top level; without
# the CLI's INSERT of the run's challenges, made before the timed part).
ha_statements() {
	printf '\nstatements per enrollment in %s (pg_stat_statements calls / N):\n' "$1"
	gw_pg_sql "SELECT to_char(s.calls::numeric / $N, '990.99') || '  ' ||
	    left(regexp_replace(s.query, '\\s+', ' ', 'g'), 90)
	    FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
	    WHERE d.datname = '$1' AND s.calls >= $N / 20
	    AND s.query NOT LIKE 'INSERT INTO challenges%'
	    ORDER BY s.calls DESC LIMIT 15"
}
