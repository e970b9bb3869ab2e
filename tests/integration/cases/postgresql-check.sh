#!/usr/bin/env bash
# `scepgw check` on PostgreSQL (README "High availability"): without a
# standby it warns that an asynchronous failover can bring a consumed
# challenge back; with a synchronous standby that the gateway's role may
# not see it says to grant pg_monitor, and once granted names the standby;
# synchronous_commit = local warns; a [db] url naming only the standby
# fails with the advice to use target_session_attrs=read-write; two live
# gateways with different [epki] settings are named in a warning, and the
# same RA certificate is OK; so is the checked config that differs from
# one of them. All of it with a role that has only the GRANTs README "High
# availability" lists (no CREATE: a gateway whose schema is up to date
# creates nothing); an older schema says that the owner must migrate it.
# Without PostgreSQL: skipped.
. "$GW_SRC/tests/integration/lib.sh"
. "$GW_SRC/tests/lib/pg.sh"
gw_need openssl curl
gw_tmpdir
gw_pg_start
gw_start_sim
(umask 077 && printf '%s\n' "$GW_PG_PASSWORD" >"$T/db.password")
gw_init --db-url "$GW_PG_URL" --db-password-file "$T/db.password"
# From here on the gateways and check use the least-privilege role of
# README "High availability", with its GRANTs; scepgw owns the schema.
APP_PASSWORD=$(openssl rand -hex 12)
gw_pg_sql "CREATE ROLE scepgw_app LOGIN PASSWORD '$APP_PASSWORD';
    GRANT CONNECT ON DATABASE scepgw TO scepgw_app;
    GRANT USAGE ON SCHEMA public TO scepgw_app;
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO scepgw_app;
    REVOKE INSERT, UPDATE, DELETE ON scepgw_schema FROM scepgw_app;" >/dev/null
(umask 077 && printf '%s\n' "$APP_PASSWORD" >"$T/app.password")
gw_conf_set db url "postgresql://scepgw_app@/scepgw?host=$GW_PG_DIR&port=5432"
gw_conf_set db password_file "$T/app.password"

# wait_for SECS CONDITION: polls the condition (eval) every 0.1 s.
wait_for() {
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		eval "$2" && return 0
		sleep 0.1
	done
	return 1
}

# check_out NAME [CONF]: runs check into $T/NAME.out; must pass.
check_out() {
	"$GW_BUILD/scepgw" check -c "${2:-$GW_CONF}" >"$T/$1.out" 2>&1 ||
	    { cat "$T/$1.out" >&2; gw_fail "scepgw check ($1) failed"; }
}

# A schema older than the program (as after an upgrade): the gateways'
# role cannot migrate it and says who must; the owner's check does.
gw_pg_sql "ALTER TABLE nodes DROP COLUMN order_sha256, DROP COLUMN ra_sha256;
    DROP INDEX transactions_csr;
    ALTER TABLE users DROP COLUMN role; DROP INDEX transactions_updated;
    DROP FUNCTION scepgw_txn_start_row;
    DROP INDEX certificates_issued; DROP INDEX certificates_revoked;
    DROP INDEX transactions_email;
    DROP TABLE txn_events; DROP INDEX transactions_cn_c, transactions_email_c, transactions_created;
    DROP TRIGGER txn_events_txn ON transactions;
    DROP TRIGGER txn_events_cert ON certificates;
    DROP FUNCTION scepgw_txn_history, scepgw_txn_event;
    UPDATE scepgw_schema SET version = 2" >/dev/null
rc=0
"$GW_BUILD/scepgw" check -c "$GW_CONF" >"$T/old.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || { cat "$T/old.out" >&2; gw_fail "check passed on an old schema without the owner"; }
gw_assert_contains "$T/old.out" "^FAIL +database: schema version 2 must be migrated to 8, as the role that owns the schema: .*permission denied"
cp "$GW_CONF" "$GW_DIR/owner.conf"
gw_conf_set db url "$GW_PG_URL" "$GW_DIR/owner.conf"
gw_conf_set db password_file "$T/db.password" "$GW_DIR/owner.conf"
check_out owner "$GW_DIR/owner.conf"
gw_assert_eq 8 "$(gw_pg_sql 'SELECT version FROM scepgw_schema')" "schema version after the owner's check"

check_out alone
gw_assert_contains "$T/alone.out" "^OK +PostgreSQL server: [0-9.]+.* at .*, primary, role scepgw_app"
gw_assert_contains "$T/alone.out" "^WARN +PostgreSQL synchronous replication: synchronous_standby_names is empty.*an asynchronous failover can bring a consumed challenge back after its order went out; run Patroni with synchronous_mode"
gw_assert_contains "$T/alone.out" "^OK +PostgreSQL synchronous_commit: on"

gw_pg_sql "ALTER ROLE scepgw_app SET synchronous_commit = local" >/dev/null
check_out local
gw_assert_contains "$T/local.out" "^WARN +PostgreSQL synchronous_commit: local for role scepgw_app"
gw_pg_sql "ALTER ROLE scepgw_app RESET synchronous_commit" >/dev/null

gw_pg_standby_start
check_out hidden
gw_assert_contains "$T/hidden.out" "^WARN +PostgreSQL synchronous replication: .*cannot see replication: grant pg_monitor to scepgw_app"
gw_pg_sql "GRANT pg_monitor TO scepgw_app" >/dev/null
check_out sync
gw_assert_contains "$T/sync.out" "^OK +PostgreSQL synchronous replication: synchronous standby r1 \(sync\)"
gw_assert_not_contains "$T/sync.out" "^WARN +PostgreSQL"

# Only the standby: a clear failure, not a migration's read-only error.
cp "$GW_CONF" "$T/standby.conf"
gw_conf_set db url "postgresql://scepgw_app@/scepgw?host=$GW_PG2_DIR&port=5432" "$T/standby.conf"
rc=0
"$GW_BUILD/scepgw" check -c "$T/standby.conf" >"$T/standby.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || { cat "$T/standby.out" >&2; gw_fail "check passed on a standby"; }
gw_assert_contains "$T/standby.out" "^FAIL +database: connected to a standby: use target_session_attrs=read-write"
# Both hosts with target_session_attrs=read-write: the primary.
gw_conf_set db url "${GW_PG_HA_URL/scepgw@/scepgw_app@}"
check_out ha
gw_assert_contains "$T/ha.out" "^OK +PostgreSQL server: .* at $GW_PG_DIR:5432, primary"

# Two gateways whose [epki] settings differ: named; the same RA: OK.
B_CONF=$GW_DIR/b.conf
cp "$GW_CONF" "$B_CONF"
gw_conf_set cluster node_name gw-a
gw_conf_set cluster node_name gw-b "$B_CONF"
gw_conf_set epki years 2 "$B_CONF"
gw_start
gw_start_other "$B_CONF" "$T/scepgw-b.log"
B_PORT=$OTHER_PORT
B_URL=$OTHER_URL
B_PID=$OTHER_PID
wait_for 20 "[ \$(gw_pg_sql 'SELECT count(*) FROM nodes WHERE order_sha256 IS NOT NULL') = 2 ]" ||
    gw_fail "the gateways recorded no settings digest"
check_out differ
gw_assert_contains "$T/differ.out" "^WARN +gateways' ordering settings: gw-b \(incarnation [0-9]+\), gw-a \(incarnation [0-9]+\) differ from one another in \[epki\] or \[profile\] settings"
gw_assert_contains "$T/differ.out" "^OK +gateways' RA certificate: the same on the 2 live gateways"
# A's config against them: B is the odd one.
gw_assert_contains "$T/differ.out" "^WARN +this config's ordering settings: not those of gw-b \(incarnation [0-9]+\): a gateway started with it would differ"
gw_assert_contains "$T/differ.out" "^OK +this config's RA certificate: the same as the 2 live gateways"
# A third gateway with A's settings: B is the odd one out.
C_CONF=$GW_DIR/c.conf
C_PORT=$(gw_free_port)
cp "$GW_CONF" "$C_CONF"
gw_conf_set cluster node_name gw-c "$C_CONF"
gw_conf_set server listen "127.0.0.1:$C_PORT" "$C_CONF"
gw_spawn "$T/scepgw-c.log" "$GW_BUILD/scepgw" serve -c "$C_CONF"
C_PID=$GW_LAST_PID
wait_for 20 "gw_caps_ok http://127.0.0.1:$C_PORT/scep" ||
    { cat "$T/scepgw-c.log" >&2; gw_fail "gateway C did not start"; }
wait_for 20 "[ \$(gw_pg_sql 'SELECT count(*) FROM nodes WHERE order_sha256 IS NOT NULL') = 3 ]" ||
    gw_fail "C recorded no settings digest"
check_out odd
gw_assert_contains "$T/odd.out" "^WARN +gateways' ordering settings: gw-b \(incarnation [0-9]+\) differs from gw-[ac] \(incarnation [0-9]+\) in \[epki\] or \[profile\] settings"
kill -TERM "$C_PID"
wait "$C_PID" 2>/dev/null || true
# B back to A's settings (its file still differs: node name, listen
# address): the same.
kill -TERM "$B_PID"
wait "$B_PID" 2>/dev/null || true
gw_conf_set epki years 1 "$B_CONF"
gw_spawn "$T/scepgw-b2.log" "$GW_BUILD/scepgw" serve -c "$B_CONF"
B_PID=$GW_LAST_PID
wait_for 20 "gw_caps_ok http://127.0.0.1:$B_PORT/scep" ||
    { cat "$T/scepgw-b2.log" >&2; gw_fail "gateway B did not restart"; }
wait_for 20 "[ \$(gw_pg_sql \"SELECT count(*) FROM nodes WHERE order_sha256 IS NOT NULL AND lease_until > clock_timestamp()\") = 2 ]" ||
    gw_fail "B's new incarnation recorded no settings digest"
check_out same
gw_assert_contains "$T/same.out" "^OK +gateways' ordering settings: the same on the 2 live gateways"
gw_assert_contains "$T/same.out" "^OK +this config's ordering settings: the same as the 2 live gateways"
kill -TERM "$B_PID"
wait "$B_PID" 2>/dev/null || true
