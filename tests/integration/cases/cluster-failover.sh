#!/usr/bin/env bash
# ctest-labels: long
# A database failover under load (README "High availability"): PostgreSQL
# with a synchronous standby; gateways A and B on the two-host [db] url
# with target_session_attrs=read-write; devices enroll in a loop through
# both; the primary is stopped hard (a crash) mid-load and, a second
# later, the standby promoted (what Patroni with synchronous_mode does).
# Enrollment resumes on both gateways without a restart. While the
# database is away every request gets an answer (HTTP 503 or a SCEP
# status) well within a client's timeout, and a device that retries the
# same request ends with its certificate. Afterwards the ledger: licences
# spent == orders == certificates delivered, no certificate lost, no
# challenge used by two transactions, and a challenge consumed before the
# crash is still consumed on the promoted standby (what synchronous
# replication buys). The downtime (the stop to the first SUCCESS of a
# request sent after it) is printed, not asserted. Without PostgreSQL:
# skipped.
. "$GW_SRC/tests/integration/lib.sh"
. "$GW_SRC/tests/lib/pg.sh"
gw_need openssl curl
gw_tmpdir
gw_pg_start
gw_pg_standby_start
gw_pg_sql "GRANT pg_monitor TO scepgw" >/dev/null
gw_start_sim
(umask 077 && printf '%s\n' "$GW_PG_PASSWORD" >"$T/db.password")
gw_init --db-url "$GW_PG_HA_URL" --db-password-file "$T/db.password"
SIM_ORDERS0=$(sim_orders)
SPENT0=$(sim_state licences_spent)
N=12 # devices per gateway
CLIENT_TIMEOUT=30 # seconds a SCEP client waits for an answer
gw_conf_set epki reconcile_seconds 1
gw_conf_set epki timeout_seconds 3
gw_conf_set cluster lease_seconds 18
B_CONF=$GW_DIR/b.conf
cp "$GW_CONF" "$B_CONF"
gw_conf_set cluster node_name gw-a
gw_conf_set cluster node_name gw-b "$B_CONF"
"$GW_BUILD/scepgw" check -c "$GW_CONF" >"$T/check.out" 2>&1 || true
gw_assert_contains "$T/check.out" "^OK +PostgreSQL synchronous replication: synchronous standby r1"

# One challenge per device, made before the load (CLI, on the primary).
for g in a b; do
	for ((i = 1; i <= N; i++)); do
		gw_challenge --cn "$g$i" >"$T/ch-$g$i"
	done
done

gw_start
A_URL=$GW_URL
gw_start_other "$B_CONF" "$T/scepgw-b.log"
B_PORT=$OTHER_PORT
B_URL=$OTHER_URL
B_PID=$OTHER_PID

now_ms() { date -u +%s%3N; }

# worker G URL: enrolls devices G1..GN through URL, one after the other.
# A request without an answer, or answered 503 or FAILURE, is sent again
# unchanged (same key, transactionID and challenge), as a SCEP client
# retries; PENDING is polled. Each attempt is a line of $T/events-G:
# start_ms end_ms device exit-status answer.
worker() {
	local g=$1 url=$2 i dev rc t0 t1 what k
	for ((i = 1; i <= N; i++)); do
		dev=$g$i
		for ((k = 0; k < 200; k++)); do
			t0=$(now_ms)
			rc=0
			timeout -k 2 "$CLIENT_TIMEOUT" "$GW_BUILD/scepreq" enroll \
			    --url "$url" --key "$T/$dev.key" \
			    --cert-out "$T/$dev.pem" --challenge "$(cat "$T/ch-$dev")" \
			    --cn "$dev" --txid "fo-$dev" >"$T/$dev.out" 2>&1 || rc=$?
			while [ "$rc" -eq 3 ]; do
				sleep 0.3
				rc=0
				timeout -k 2 "$CLIENT_TIMEOUT" "$GW_BUILD/scepreq" poll \
				    --url "$url" --key "$T/$dev.key" --txid "fo-$dev" \
				    --cert-out "$T/$dev.pem" >"$T/$dev.out" 2>&1 || rc=$?
			done
			t1=$(now_ms)
			what=$(grep -o -E 'status=[A-Z]+|HTTP [0-9]+' "$T/$dev.out" | head -n 1 | tr ' ' '_')
			echo "$t0 $t1 $dev $rc ${what:-none}" >>"$T/events-$g"
			[ "$rc" -eq 0 ] && break
			sleep 0.2
		done
	done
}

worker a "$A_URL" &
WA=$!
worker b "$B_URL" &
WB=$!

# successes G: devices of G that got their certificate so far.
successes() { awk '$4 == 0' "$T/events-$1" 2>/dev/null | wc -l; }
for ((i = 0; i < 600; i++)); do
	[ "$(successes a)" -ge 4 ] && [ "$(successes b)" -ge 4 ] && break
	sleep 0.1
done
[ "$(successes a)" -ge 4 ] && [ "$(successes b)" -ge 4 ] ||
    gw_fail "the load did not start (a: $(successes a), b: $(successes b))"

# The crash, then the promotion a second later.
STOP_MS=$(now_ms)
gw_pg_stop_hard
sleep 1
gw_pg_promote
PROMOTED_MS=$(now_ms)
before=$(awk -v s="$STOP_MS" '$4 == 0 && $2 < s { print $3 }' "$T"/events-a "$T"/events-b)

wait "$WA" || gw_fail "worker a failed"
wait "$WB" || gw_fail "worker b failed"
cat "$T"/events-a "$T"/events-b | sort -n >"$T/events"

# What the clients saw: every device got its certificate; every answer
# came within the client's timeout (timeout(1) exits 124).
for g in a b; do
	for ((i = 1; i <= N; i++)); do
		assert_issued "$g$i"
	done
done
gw_assert_not_contains "$T/events" "^[0-9]+ [0-9]+ [a-z0-9]+ 124 " \
    "a request that got no answer within ${CLIENT_TIMEOUT}s"
longest=$(awk '{ d = $2 - $1; if (d > m) m = d } END { print m + 0 }' "$T/events")
# first_success FILE: when the first SUCCESS of a request sent after the
# stop came back (ms), or nothing.
first_success() {
	awk -v s="$STOP_MS" '$4 == 0 && $1 >= s && (m == "" || $2 < m) { m = $2 }
	    END { print m }' "$1"
}
first_after=$(first_success "$T/events")
[ -n "$first_after" ] || gw_fail "no SUCCESS after the failover"
first_a=$(first_success "$T/events-a")
first_b=$(first_success "$T/events-b")
[ -n "$first_a" ] || gw_fail "gateway A served no SUCCESS after the failover"
[ -n "$first_b" ] || gw_fail "gateway B served no SUCCESS after the failover"
answers=$(awk -v s="$STOP_MS" -v p="$PROMOTED_MS" '$1 >= s - 5000 && $4 != 0 { print $5 " (exit " $4 ")" }' "$T/events" |
    sort | uniq -c | tr -s ' ' | paste -s -d ';')
echo "failover: promoted $((PROMOTED_MS - STOP_MS)) ms after the stop;" \
    "downtime (stop to first SUCCESS of a request sent after it)" \
    "$((first_after - STOP_MS)) ms (gw-a $((first_a - STOP_MS)) ms," \
    "gw-b $((first_b - STOP_MS)) ms); answers other than SUCCESS:" \
    "${answers:-none}; longest request ${longest} ms"

# The gateways followed the promotion without a restart.
kill -0 "$GW_PID" || gw_fail "gateway A died"
kill -0 "$B_PID" || gw_fail "gateway B died"

# Challenges consumed before the crash are consumed on the promoted node:
# their transactions are there, and the challenge refuses a new one.
for dev in $before; do
	gw_assert_eq 2 "$(gw_pg_sql_at "$GW_PG2_DIR" "SELECT state FROM transactions WHERE txid = 'fo-$dev'")" \
	    "$dev's transaction (SUCCESS before the crash) on the promoted node"
done
dev=$(echo "$before" | head -n 1)
GW_URL=$B_URL enroll_expect reuse FAILURE --challenge "$(cat "$T/ch-$dev")" \
    --cn "$dev" --txid fo-reuse

# The ledger, on the promoted node.
sleep 2 # let a wrong re-order by a reconciler show up in the counts
total=$((2 * N))
gw_assert_eq "$total" "$(sim_orders)" "orders at epki-sim vs devices"
gw_assert_eq "$total" "$(($(sim_state licences_spent) - SPENT0))" "licences spent"
gw_assert_eq "$total" "$(gw_pg_sql_at "$GW_PG2_DIR" 'SELECT count(*) FROM certificates')" \
    "certificates stored"
gw_assert_eq "$total" "$(gw_pg_sql_at "$GW_PG2_DIR" 'SELECT count(*) FROM transactions WHERE state = 2')" \
    "transactions issued"
gw_assert_eq "$total" "$(gw_pg_sql_at "$GW_PG2_DIR" 'SELECT count(*) FROM challenges WHERE used <> 0')" \
    "challenges used"
gw_assert_eq 0 "$(gw_pg_sql_at "$GW_PG2_DIR" 'SELECT count(*) - count(DISTINCT challenge_id) FROM transactions WHERE challenge_id IS NOT NULL')" \
    "challenges used by two transactions"
gw_assert_eq "" "$(gw_pg_sql_at "$GW_PG2_DIR" 'SELECT txid FROM transactions WHERE state <> 2')" \
    "transactions not issued"
kill -TERM "$B_PID"
wait "$B_PID" 2>/dev/null || true
