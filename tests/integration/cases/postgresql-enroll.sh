#!/usr/bin/env bash
# A gateway on PostgreSQL ([db] url, README "PostgreSQL"): `scepgw init
# --db-url` makes the schema; a challenge from the CLI enrolls a device
# through PENDING and CertPoll; the challenge is consumed once; `scepgw
# check` passes and names the backend; the password of [db] password_file
# reaches no log, and a wrong one is a clear error.
. "$GW_SRC/tests/integration/lib.sh"
. "$GW_SRC/tests/lib/pg.sh"
gw_need openssl curl
gw_tmpdir
gw_pg_start
gw_start_sim --latency-ms 2500
(umask 077 && printf '%s\n' "$GW_PG_PASSWORD" >"$T/db.password")
gw_init --db-url "$GW_PG_URL" --db-password-file "$T/db.password"
gw_assert_eq "" "$(gw_conf_get db path)" "[db] path after init --db-url"
gw_assert_eq "db.password" "$(gw_conf_get db password_file)" \
    "[db] password_file after init"
gw_assert_eq 8 "$(gw_pg_sql 'SELECT version FROM scepgw_schema')" \
    "schema version"
SIM_ORDERS0=$(sim_orders)
gw_conf_set scep pending_after_seconds 1
gw_start
gw_assert_contains "$T/scepgw.log" "database: postgresql"

c=$(gw_challenge --cn dev)
enroll_expect dev PENDING --challenge "$c" --cn dev --txid pg-txid
for ((i = 0; i < 40; i++)); do
	rc=0
	"$GW_BUILD/scepreq" poll --url "$GW_URL" --key "$T/dev.key" \
	    --txid pg-txid --cn dev --cert-out "$T/dev.pem" >"$T/poll.out" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] && break
	[ "$rc" -eq 3 ] || { cat "$T/poll.out" >&2; gw_fail "poll exited $rc"; }
	sleep 0.5
done
gw_assert_eq 0 "$rc" "CertPoll after the order completed"
assert_issued dev
gw_assert_eq "2|1" \
    "$(gw_pg_sql "SELECT state, count(*) FROM transactions GROUP BY state")" \
    "transactions in PostgreSQL"
gw_assert_eq 1 "$(gw_pg_sql 'SELECT count(*) FROM certificates')" \
    "certificates in PostgreSQL"
gw_assert_eq 1 "$(gw_pg_sql 'SELECT count(*) FROM challenges WHERE used <> 0')" \
    "consumed challenges"
# The same challenge again, for another transaction: refused.
enroll_expect again FAILURE --challenge "$c" --cn dev --txid pg-other
gw_assert_eq 1 "$(sim_orders)" "orders at epki-sim"

"$GW_BUILD/scepgw" check -c "$GW_CONF" >"$T/check.out" 2>&1 ||
    { cat "$T/check.out" >&2; gw_fail "scepgw check failed"; }
gw_assert_contains "$T/check.out" "postgresql, schema version 8"
gw_stop

# A wrong password: a clear error, and no password in any output.
(umask 077 && printf 'not-the-password\n' >"$T/bad.password")
gw_conf_set db password_file "$T/bad.password"
rc=0
"$GW_BUILD/scepgw" check -c "$GW_CONF" >"$T/check-bad.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || gw_fail "scepgw check passed with a wrong password"
gw_assert_contains "$T/check-bad.out" "password authentication failed"
for f in "$T"/*.log "$T"/*.out; do
	gw_assert_not_contains "$f" "$GW_PG_PASSWORD"
	gw_assert_not_contains "$f" "not-the-password"
done
