#!/usr/bin/env bash
# SQLite against PostgreSQL, one gateway and two (README "High
# availability", "PostgreSQL"), in one run: for BENCH_ROUNDS (3) rounds,
# each configuration in turn (interleaved: S1 P1 P2 S1 P1 P2 ...), each
# concurrency of BENCH_CONCURRENCY (16 64), N (1000) enrollments with an
# instant epki-sim:
#
#   S1  SQLite, one gateway ([db] path, synchronous=FULL on disk)
#   P1  PostgreSQL, one gateway (Unix socket; fsync on)
#   P2  PostgreSQL, two gateways, requests spread round-robin by one
#       scepgw-bench (--url twice)
#
# Every run gets a fresh gateway folder and database (scepgw init), so the
# same N keys serve every run. Then, once: the takeover latency after a
# SIGKILL (two gateways, the order made at epki-sim but its answer lost),
# and the downtime of a failover to a synchronous standby (primary
# stopped hard, standby promoted at once, enrollments retried until the
# first SUCCESS). Prints one line per run and a summary (medians and
# spread); tests/bench/README.md "High availability" explains the
# columns.
#
#   BENCH_KEY_DIR=/tmp/keys tests/bench/run-ha.sh
#   BENCH_N=100 BENCH_ROUNDS=1 BENCH_QUIET=0 tests/bench/run-ha.sh	# dry run
#
# Before each round it waits (up to BENCH_QUIET_MAX s, 900) until no
# process matches BENCH_QUIET_RE (the coordinator's CI runs) and the
# 1-minute load is below 1.5; BENCH_QUIET=0 skips that. Exits non-zero
# only when a reply is wrong or a process dies; timings are reported.
GW_SRC=${GW_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
GW_CASE=${GW_CASE:-bench-ha}
. "$GW_SRC/tests/lib/harness.sh"
. "$GW_SRC/tests/bench/lib.sh"
. "$GW_SRC/tests/lib/pg.sh"
. "$GW_SRC/tests/bench/ha_lib.sh"

N=${BENCH_N:-1000}
CONCURRENCY=${BENCH_CONCURRENCY:-16 64}
ROUNDS=${BENCH_ROUNDS:-3}
CONFIGS=${BENCH_CONFIGS:-S1 P1 P2}

gw_need curl openssl python3
gw_tmpdir
# A durable PostgreSQL, as deployed; pg_stat_statements counts statements.
GW_PG_FSYNC=on
GW_PG_OPTS="-c shared_preload_libraries=pg_stat_statements"
# shellcheck disable=SC2119 # no options: the socket only
gw_pg_start
gw_pg_sql 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' >/dev/null ||
    gw_fail "no pg_stat_statements (package postgresql-contrib)"
# shellcheck disable=SC2119 # epki-sim's defaults
bench_start_sim
[ "$(curl -fsS -m 10 -d "licences=1000000" \
    "http://127.0.0.1:$SIM_PORT/sim/config")" = ok ] ||
    gw_fail "cannot give epki-sim enough licences"
(umask 077 && printf '%s\n' "$GW_PG_PASSWORD" >"$T/db.password")

printf '# %s; %s; N=%s; PostgreSQL %s, fsync on, Unix socket\n' \
    "$(nproc) cores" "$BENCH_SIM_MODE" "$N" \
    "$(gw_pg_sql 'SHOW server_version' | cut -d' ' -f1)"
ha_header
for ((r = 1; r <= ROUNDS; r++)); do
	ha_wait_quiet
	for cfg in $CONFIGS; do
		for c in $CONCURRENCY; do
			ha_setup "$cfg" "r$r-c$c"
			ha_measure "$cfg" "$c" "$r"
			ha_teardown
		done
	done
done
[ "$ROUNDS" -eq 0 ] || ha_summary
# What the gateways sent, in the last round's databases at the highest
# concurrency (fresh per run: its counts are that run's).
for cfg in $CONFIGS; do
	db=${cfg}_r${ROUNDS}_c${CONCURRENCY##* }
	[ "$cfg" = S1 ] || [ "$ROUNDS" -eq 0 ] || ha_statements "${db,,}"
done

# epki-sim's GetOrders reads every order it holds: after the rounds'
# thousands of orders it takes longer than the 3 s timeout used below,
# so run this part on its own (BENCH_ROUNDS=0) for a fresh epki-sim.
[ "${BENCH_FAILURES:-1}" = 1 ] || exit 0
ha_wait_quiet
ha_takeover
ha_failover
