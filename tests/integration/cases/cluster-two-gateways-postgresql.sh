#!/usr/bin/env bash
# ctest-labels: long
# Two gateways on one PostgreSQL database and one epki-sim (README
# "PostgreSQL", "How an enrollment works" 7). Both serve at once; a
# challenge made with gateway A's CLI is used on gateway B, and cannot be
# used again on A; a device told PENDING by A gets its certificate by
# polling B. A is SIGKILLed with an order in flight (epki-sim makes the
# order but drops the reply): B takes the order over only once A's lease
# ran out by the database's clock, finds it at GlobalSign instead of
# ordering again, and the device's poll on B gets the certificate.
# Ledger: orders at epki-sim == certificates delivered, no challenge used
# twice. Without PostgreSQL: skipped.
. "$GW_SRC/tests/integration/lib.sh"
. "$GW_SRC/tests/lib/pg.sh"
gw_need openssl curl
gw_tmpdir
gw_pg_start
gw_start_sim
(umask 077 && printf '%s\n' "$GW_PG_PASSWORD" >"$T/db.password")
gw_init --db-url "$GW_PG_URL" --db-password-file "$T/db.password"
SIM_ORDERS0=$(sim_orders)
SPENT0=$(sim_state licences_spent)
LEASE=18 # the shortest [cluster] lease_seconds for timeout_seconds 3
gw_conf_set scep pending_after_seconds 1
gw_conf_set epki reconcile_seconds 1
gw_conf_set epki timeout_seconds 3
gw_conf_set cluster lease_seconds "$LEASE"
B_CONF=$GW_DIR/b.conf
cp "$GW_CONF" "$B_CONF" # same folder: relative paths (RA key) the same
gw_conf_set cluster node_name gw-a
gw_conf_set cluster node_name gw-b "$B_CONF"
gw_start
A_URL=$GW_URL

# Gateway B: the same RA, another port, its own log.
gw_start_other "$B_CONF" "$T/scepgw-b.log"
B_PORT=$OTHER_PORT
B_URL=$OTHER_URL
B_PID=$OTHER_PID
gw_assert_contains "$T/scepgw.log" "incarnation 1 \(gw-a\): lease $LEASE s"
gw_assert_contains "$T/scepgw-b.log" "incarnation 2 \(gw-b\): lease $LEASE s"
"$GW_BUILD/scepgw" check -c "$GW_CONF" >"$T/check.out" 2>&1 || true
gw_assert_contains "$T/check.out" "gateway gw-a: incarnation 1 "
gw_assert_contains "$T/check.out" "gateway gw-b: incarnation 2 "

# poll_on URL NAME TXID SECONDS: CertPoll until SUCCESS.
poll_on() {
	local url=$1 name=$2 txid=$3 secs=$4 rc=3 k
	for ((k = 0; k < secs * 2 && rc == 3; k++)); do
		rc=0
		"$GW_BUILD/scepreq" poll --url "$url" --key "$T/$name.key" \
		    --txid "$txid" --cert-out "$T/$name.pem" \
		    >"$T/$name.poll.out" 2>&1 || rc=$?
		[ "$rc" -eq 3 ] && sleep 0.5
	done
	[ "$rc" -eq 0 ] || {
		cat "$T/$name.poll.out" >&2
		gw_fail "$name: CertPoll on $url exited $rc"
	}
	assert_issued "$name"
}

# A challenge from A's CLI, used on B; then refused on A.
c1=$(gw_challenge --cn shared)
GW_URL=$B_URL enroll_expect dev1 SUCCESS --challenge "$c1" --cn shared --txid t-dev1
assert_issued dev1
GW_URL=$A_URL enroll_expect dev1-again FAILURE --challenge "$c1" --cn shared --txid t-again

# PENDING on A (the order takes 2 s at epki-sim), SUCCESS by polling B.
curl -fsS -m 10 -d 'fault=latency&op=OrderAndIssueCertificate&count=1&ms=2000' \
    "http://127.0.0.1:$SIM_PORT/sim/fault" >/dev/null || gw_fail "sim fault"
c2=$(gw_challenge --cn slow)
GW_URL=$A_URL enroll_expect dev2 PENDING --challenge "$c2" --cn slow --txid t-dev2
poll_on "$B_URL" dev2 t-dev2 20

# An order in flight on A when it dies: epki-sim makes it, drops the reply.
curl -fsS -m 10 -d 'fault=drop&op=OrderAndIssueCertificate&count=1&ms=10000' \
    "http://127.0.0.1:$SIM_PORT/sim/fault" >/dev/null || gw_fail "sim fault"
c3=$(gw_challenge --cn orphan)
GW_URL=$A_URL enroll_expect dev3 PENDING --challenge "$c3" --cn orphan --txid t-dev3
kill -KILL "$GW_PID"
wait "$GW_PID" 2>/dev/null || true
GW_PID=
killed=$(date -u +%s%3N)
gw_assert_eq 3 "$(sim_orders)" "orders at epki-sim after the kill"
gw_assert_eq 1 "$(sim_state fired.drop)" "drop faults fired"
gw_assert_eq 1 "$(gw_pg_sql "SELECT owner FROM transactions WHERE txid = 't-dev3'")" \
    "owner of the order in flight"
poll_on "$B_URL" dev3 t-dev3 60
took=$(date -u -d "$(grep -m1 -E 'took over 1 orders from node 1 \(gw-a\)' \
    "$T/scepgw-b.log" | cut -d' ' -f1)" +%s%3N) ||
    gw_fail "B did not say it took the order over"
# Not at once: B waited for A's lease (renewed every 5 s) to run out.
[ $((took - killed)) -ge 10000 ] ||
    gw_fail "B took the order over $((took - killed)) ms after the kill, before A's lease ran out"
# By the database's clock: more than M = 5 s after A's lease ended.
gw_assert_eq t "$(gw_pg_sql "SELECT t.taken_at > n.lease_until + interval '5 s'
    FROM transactions t, nodes n WHERE t.txid = 't-dev3' AND n.id = 1")" \
    "taken over more than 5 s after A's lease ended"
gw_assert_contains "$T/scepgw-b.log" "reconciled: order .* was issued"
gw_assert_not_contains "$T/scepgw-b.log" "ordering it now"
gw_assert_not_contains "$T/scepgw.log" "ordering it now"

# The ledger.
sleep 2 # let any wrong re-order show up in the count
gw_assert_eq 3 "$(sim_orders)" "orders at epki-sim vs certificates delivered"
gw_assert_eq 3 "$(($(sim_state licences_spent) - SPENT0))" "licences spent"
gw_assert_eq 3 "$(gw_pg_sql 'SELECT count(*) FROM certificates')" \
    "certificates in PostgreSQL"
gw_assert_eq 3 "$(gw_pg_sql 'SELECT count(*) FROM challenges WHERE used <> 0')" \
    "challenges used"
gw_assert_eq 0 "$(gw_pg_sql 'SELECT count(*) - count(DISTINCT challenge_id) FROM transactions WHERE challenge_id IS NOT NULL')" \
    "challenges used by two transactions"
gw_assert_eq "" "$(gw_pg_sql 'SELECT txid FROM transactions WHERE state = 1')" \
    "transactions left ORDERING"

rc=0
gw__kill "$B_PID" || rc=$?
gw_assert_eq 0 "$rc" "gateway B's exit status on SIGTERM"
