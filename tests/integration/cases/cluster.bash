# shellcheck shell=bash
# Helpers for the cluster chaos cases (cluster-frozen-gateway.sh,
# cluster-db-unreachable.sh, cluster-soak.sh), sourced instead of lib.sh;
# not a case itself (ctest runs cases/*.sh only).
#
# Two gateways, a and b, serve one PostgreSQL database (README
# "PostgreSQL") with one epki-sim, each from its own config in $GW_DIR
# (a.conf, b.conf: the same RA and folder, their own port and node_name),
# tuned short: [epki] timeout_seconds E = CL_TIMEOUT (default 3), [cluster]
# lease_seconds L = E + 15 (the least: E + M 5 + 2 x H 5), reconcile_seconds 1,
# pending_after_seconds 1. Every case ends with the ledger (README "How an
# enrollment works" 7): orders at epki-sim == licences spent ==
# certificates delivered == certificates in the database, no challenge
# used by two transactions, no transaction left ordering.
. "$GW_SRC/tests/integration/lib.sh"
. "$GW_SRC/tests/lib/pg.sh"

CL_TIMEOUT=${CL_TIMEOUT:-3}
CL_LEASE=$((CL_TIMEOUT + 15))
DELIVERED=0
declare -A CL_PID=() CL_URL=() CL_LOG=() CL_STARTS=()

# cluster_up [epki-sim options]: PostgreSQL (with CL_PG_TCP=1 also on
# 127.0.0.1, gw_pg_start --tcp), epki-sim, one instance on the database
# and the two configs a.conf and b.conf (nothing serving yet).
cluster_up() {
	local n
	gw_need openssl curl python3
	gw_tmpdir
	if [ "${CL_PG_TCP:-0}" = 1 ]; then
		gw_pg_start --tcp
	else
		gw_pg_start
	fi
	gw_start_sim "$@"
	(umask 077 && printf '%s\n' "$GW_PG_PASSWORD" >"$T/db.password")
	gw_init --db-url "$GW_PG_URL" --db-password-file "$T/db.password"
	SIM_ORDERS0=$(sim_orders)
	SPENT0=$(sim_state licences_spent)
	gw_conf_set scep pending_after_seconds 1
	gw_conf_set epki reconcile_seconds 1
	gw_conf_set epki timeout_seconds "$CL_TIMEOUT"
	gw_conf_set cluster lease_seconds "$CL_LEASE"
	for n in a b; do
		cp "$GW_CONF" "$GW_DIR/$n.conf"
		gw_conf_set cluster node_name "gw-$n" "$GW_DIR/$n.conf"
		gw_conf_set server listen "127.0.0.1:$(gw_free_port)" \
		    "$GW_DIR/$n.conf"
		CL_STARTS[$n]=0
	done
}

# cluster_start NAME: serves NAME.conf (log $T/scepgw-NAME.K.log, K the
# start's number) and waits until GetCACaps answers. Sets CL_PID[NAME],
# CL_URL[NAME], CL_LOG[NAME].
cluster_start() {
	local n=$1 conf=$GW_DIR/$1.conf i
	CL_STARTS[$n]=$((CL_STARTS[$n] + 1))
	CL_URL[$n]=http://$(gw_conf_get server listen "$conf")/scep
	CL_LOG[$n]=$T/scepgw-$n.${CL_STARTS[$n]}.log
	gw_spawn "${CL_LOG[$n]}" "$GW_BUILD/scepgw" serve -c "$conf"
	CL_PID[$n]=$GW_LAST_PID
	for ((i = 0; i < GW_START_TIMEOUT * 10; i++)); do
		gw_caps_ok "${CL_URL[$n]}" && return 0
		kill -0 "${CL_PID[$n]}" 2>/dev/null || break
		sleep 0.1
	done
	gw_fail "gateway $n did not start (see ${CL_LOG[$n]##*/})"
}

# cluster_kill NAME: SIGKILL (a frozen process too).
cluster_kill() {
	kill -KILL "${CL_PID[$1]}" 2>/dev/null || true
	wait "${CL_PID[$1]}" 2>/dev/null || true
	CL_PID[$1]=
}

# now_ms: wall clock in milliseconds.
now_ms() {
	date -u +%s%3N
}

# log_ms LOG RE: the time (ms) of LOG's first line matching RE, or fails.
log_ms() {
	local line
	line=$(grep -m1 -E "$2" "$1") || return 1
	date -u -d "$(gw_log_ts "$line")" +%s%3N
}

# wait_log LOG RE SECONDS: until LOG has a line matching RE; fails after.
wait_log() {
	local k
	for ((k = 0; k < $3 * 10; k++)); do
		grep -q -E "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	gw_fail "no line /$2/ in ${1##*/} after $3 s"
}

# poll_on URL NAME TXID SECONDS: CertPoll as NAME until SUCCESS; fails on
# FAILURE or when still PENDING after SECONDS.
poll_on() {
	local url=$1 name=$2 txid=$3 secs=$4 rc=3 k
	for ((k = 0; k < secs * 2 && rc == 3; k++)); do
		rc=0
		timeout -k 2 30 "$GW_BUILD/scepreq" poll --url "$url" \
		    --key "$T/$name.key" --txid "$txid" \
		    --cert-out "$T/$name.pem" >"$T/$name.poll.out" 2>&1 ||
		    rc=$?
		[ "$rc" -eq 3 ] && sleep 0.5
	done
	[ "$rc" -eq 0 ] || {
		cat "$T/$name.poll.out" >&2
		gw_fail "$name: CertPoll on $url exited $rc (3: still PENDING after ${secs}s)"
	}
	assert_issued "$name"
}

# enroll_on URL NAME [scepreq options]: enroll NAME at URL with a fresh
# challenge (from the CLI) and txid NAME-txid, within 30 s; returns
# scepreq's status (0 SUCCESS, 2 FAILURE, 3 PENDING, 124 timed out).
enroll_on() {
	local url=$1 name=$2 c rc=0
	shift 2
	c=$(gw_challenge --cn "$name")
	timeout -k 2 30 "$GW_BUILD/scepreq" enroll --url "$url" \
	    --key "$T/$name.key" --cert-out "$T/$name.pem" --challenge "$c" \
	    --cn "$name" --txid "$name-txid" "$@" >"$T/$name.out" 2>&1 ||
	    rc=$?
	return "$rc"
}

# cluster_ledger: the ledger over the whole run (see the top).
cluster_ledger() {
	local spent
	spent=$(($(sim_state licences_spent) - SPENT0))
	gw_assert_eq "$DELIVERED" "$spent" "licences spent at epki-sim vs certificates delivered"
	gw_assert_eq "$DELIVERED" "$(sim_orders)" "orders at epki-sim vs certificates delivered"
	gw_assert_eq "$DELIVERED" "$(gw_pg_sql 'SELECT count(*) FROM certificates')" \
	    "certificates in PostgreSQL vs delivered"
	gw_assert_eq 0 "$(gw_pg_sql 'SELECT count(*) - count(DISTINCT challenge_id) FROM transactions WHERE challenge_id IS NOT NULL')" \
	    "challenges used by two transactions"
	gw_assert_eq "$(gw_pg_sql 'SELECT count(*) FROM transactions WHERE challenge_id IS NOT NULL')" \
	    "$(gw_pg_sql 'SELECT count(*) FROM challenges WHERE used <> 0')" \
	    "challenges used vs transactions that used one"
	gw_assert_eq "" "$(gw_pg_sql 'SELECT txid FROM transactions WHERE state = 1')" \
	    "transactions left ordering"
}
