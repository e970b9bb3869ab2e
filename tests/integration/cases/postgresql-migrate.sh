#!/usr/bin/env bash
# Moving an instance from SQLite to PostgreSQL (README "PostgreSQL",
# "Moving an instance"): devices enroll on SQLite (two certificates, one
# of them revoked, one order left open at epki-sim with its reply lost,
# one outstanding challenge, an NDES user); `scepgw db migrate` refuses
# while serve runs, then copies and prints equal counts and sums without
# changing the SQLite file; on PostgreSQL the challenge enrolls, the open
# order is found (not ordered again), GetCert of an old certificate
# works, the NDES user logs in and the revoked certificate stays revoked.
# Refused and left unchanged: a non-empty target, a target at another
# schema version, an unreachable URL; a copy failing midway leaves its
# target empty; a password in the URL is never printed.
. "$GW_SRC/tests/integration/cases/faults.bash"
. "$GW_SRC/tests/lib/pg.sh"
gw_need openssl curl python3 sha256sum
gw_tmpdir
gw_pg_start
gw_start_sim
gw_init
SIM_ORDERS0=$(sim_orders)
SPENT0=$(sim_state licences_spent)
(umask 077 && printf '%s\n' "$GW_PG_PASSWORD" >"$T/db.password")
# SQLite: the reconciler looks rarely (the open order below stays open).
gw_conf_set epki reconcile_seconds 3600
gw_conf_set epki timeout_seconds 2
gw_conf_set scep pending_after_seconds 1
PW='ndes pass 1'
printf '%s\n' "$PW" | "$GW_BUILD/scepgw" user add mdm -c "$GW_CONF" \
    >"$T/user.out" 2>&1 || gw_fail "user add: $(cat "$T/user.out")"
gw_start
device kept SUCCESS
device gone SUCCESS
gone_serial=$(openssl x509 -in "$T/gone.pem" -noout -serial | cut -d= -f2)
kept_serial=$(openssl x509 -in "$T/kept.pem" -noout -serial | cut -d= -f2)
"$GW_BUILD/scepgw" cert revoke "$gone_serial" -c "$GW_CONF" \
    >"$T/revoke.out" 2>&1 || gw_fail "cert revoke: $(cat "$T/revoke.out")"
# The order is made but its reply lost, and GlobalSign's order list
# fails, so the reconciler can neither find it nor order again.
sim_fault 'http500 op=GetOrders'
sim_fault 'drop op=OrderAndIssueCertificate count=1 ms=0'
device_start open PENDING
later=$(gw_challenge --cn later)

# migrate [ARGS...]: scepgw db migrate on the instance's config, output
# in $T/migrate.out; returns its exit status.
migrate() {
	local rc=0
	gw_run "$T/migrate.out" 120 "$GW_BUILD/scepgw" db migrate \
	    -c "$GW_CONF" "$@" || rc=$?
	cat "$T/migrate.out" >>"$T/migrate-all.out"
	[ "$rc" -eq 0 ] || sed 's/^/migrate: /' "$T/migrate.out" >&2
	return "$rc"
}
rc=0
migrate --to "$GW_PG_URL" --db-password-file "$T/db.password" || rc=$?
gw_assert_eq 1 "$rc" "db migrate while serve runs"
gw_assert_contains "$T/migrate.out" \
    "being served by a running scepgw serve; stop it first"
gw_assert_eq 0 "$(gw_pg_sql "SELECT count(*) FROM pg_tables WHERE tablename = 'challenges'")" \
    "tables made in PostgreSQL by a refused migrate"
gw_stop

DB=$(gw_conf_get db path)
[ "${DB#/}" != "$DB" ] || DB=$GW_DIR/$DB
sum0=$(sha256sum "$DB" | cut -d' ' -f1)
migrate --to "$GW_PG_URL" --db-password-file "$T/db.password" ||
    gw_fail "db migrate failed"
gw_assert_eq "$sum0" "$(sha256sum "$DB" | cut -d' ' -f1)" \
    "the SQLite file after db migrate"
# counts TABLE SQLITE POSTGRESQL: the printed line, and PostgreSQL's.
counts() {
	gw_assert_contains "$T/migrate.out" "^  $1 +$2 +$2 +([0-9a-f]{16}) \\1"
	gw_assert_eq "$2" "$(gw_pg_sql "SELECT count(*) FROM $1")" "$1 in PostgreSQL"
}
counts challenges 4
counts transactions 3
counts certificates 2
counts users 1
counts licence_counts 1
gw_assert_contains "$T/migrate.out" "^verified: "
gw_assert_eq "2|1|1" "$(gw_pg_sql "SELECT count(*) FILTER (WHERE state = 2),
    count(*) FILTER (WHERE state = 1), count(*) FILTER (WHERE owner IS NULL
    AND state = 1) FROM transactions")" "transactions by state, open ones without owner"
gw_assert_eq 1 "$(gw_pg_sql "SELECT count(*) FROM certificates WHERE revoked <> 0")" \
    "revoked certificates in PostgreSQL"
# The identity sequences continue after the copied ids.
gw_assert_eq 5 "$(gw_pg_sql "SELECT nextval(pg_get_serial_sequence('challenges', 'id'))")" \
    "next challenge id"
gw_assert_eq "$GW_PG_URL" "$(sed -n 's/^  url = //p' "$T/migrate.out")" "printed url"
gw_assert_eq "$T/db.password" "$(sed -n 's/^  password_file = //p' "$T/migrate.out")" \
    "printed password_file"

# Serve from PostgreSQL with the printed lines.
url=$(sed -n 's/^  url = //p' "$T/migrate.out")
cp "$GW_CONF" "$T/sqlite.conf"
sed -i '/^path *=/d' "$GW_CONF"
gw_conf_set db url "$url"
gw_conf_set db password_file "$T/db.password"
gw_conf_set epki reconcile_seconds 1
sim_fault 'fault=clear'
gw_start
gw_assert_contains "$T/scepgw.log" "database: postgresql"
enroll_expect later SUCCESS --challenge "$later" --cn later --txid later-txid
DELIVERED=$((DELIVERED + 1))
device_finish open
gw_assert_contains "$T/scepgw.log" "reconciled: order .* was issued"
gw_assert_not_contains "$T/scepgw.log" "ordering it now"
"$GW_BUILD/scepreq" getcert --url "$GW_URL" --key "$T/kept.key" \
    --serial "$kept_serial" --cert-out "$T/got.pem" >"$T/got.out" 2>&1 ||
    { cat "$T/got.out" >&2; gw_fail "GetCert of a certificate from SQLite"; }
gw_assert_eq "$(openssl x509 -in "$T/kept.pem" -noout -fingerprint)" \
    "$(openssl x509 -in "$T/got.pem" -noout -fingerprint)" "GetCert result"
gw_assert_eq 200 "$(curl -sS -m 30 -u "mdm:$PW" -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$GW_PORT/certsrv/mscep_admin/")" "NDES login of a user from SQLite"
"$GW_BUILD/scepgw" cert list -c "$GW_CONF" >"$T/certs.out" 2>&1
gw_assert_contains "$T/certs.out" "^$gone_serial .* REVOKED"
rc=0
"$GW_BUILD/scepgw" cert revoke "$gone_serial" -c "$GW_CONF" >"$T/revoke2.out" 2>&1 || rc=$?
gw_assert_eq 1 "$rc" "revoking the revoked certificate again"
assert_ledger

# A target holding an instance (a fifth challenge: the NDES login's):
# refused, nothing added.
gw_stop
cp "$T/sqlite.conf" "$GW_CONF"
rc=0
migrate --to "$GW_PG_URL" --db-password-file "$T/db.password" || rc=$?
gw_assert_eq 1 "$rc" "db migrate into a database holding an instance"
gw_assert_contains "$T/migrate.out" "already holds 5 challenges, 4 transactions, 4 certificates, 1 users, 1 licence_counts"
gw_assert_eq 4 "$(gw_pg_sql "SELECT count(*) FROM transactions")" "transactions after the refusal"

# newdb NAME: an empty database owned by the gateway's role.
newdb() {
	gw_pg_sql "CREATE DATABASE $1 OWNER scepgw" >/dev/null
	pg_in "$1" "ALTER SCHEMA public OWNER TO scepgw" >/dev/null
}
url_of() { printf '%s\n' "${GW_PG_URL/\/scepgw\?//$1?}"; }
# tables_in NAME: the tables of database NAME.
tables_in() {
	gw_pg__as "$(gw_pg_bindir)/psql" -X -q -A -t -h "$GW_PG_DIR" -p 5432 \
	    -U postgres -d "$1" -c "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'"
}
pg_in() {
	gw_pg__as "$(gw_pg_bindir)/psql" -X -q -A -t -h "$GW_PG_DIR" -p 5432 \
	    -U postgres -d "$1" -c "$2"
}

# A target at another schema version: a clear error, left as it was.
newdb newer
pg_in newer "CREATE TABLE scepgw_schema (version integer NOT NULL);
    INSERT INTO scepgw_schema VALUES (99);
    ALTER TABLE scepgw_schema OWNER TO scepgw" >/dev/null
rc=0
migrate --to "$(url_of newer)" --db-password-file "$T/db.password" || rc=$?
gw_assert_eq 1 "$rc" "db migrate into a newer schema"
gw_assert_contains "$T/migrate.out" "schema version 99; this program knows 0\.\.[0-9]+"
gw_assert_eq "scepgw_schema" "$(tables_in newer)" "tables of the newer database"
gw_assert_eq 99 "$(pg_in newer 'SELECT version FROM scepgw_schema')" "its version"

# An unreachable server: a clear error.
rc=0
migrate --to "postgresql://scepgw@/scepgw?host=$T/nowhere&port=5432" \
    --db-password-file "$T/db.password" || rc=$?
gw_assert_eq 1 "$rc" "db migrate to an unreachable server"
gw_assert_contains "$T/migrate.out" "--to: PostgreSQL connection: .*nowhere"

# Run as root on a database its service user owns and no serve has
# locked yet: the lock file it makes is that user's, so serve can still
# take it.
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	mkdir "$T/owned"
	cp "$DB" "$T/owned/scepgw.db"
	chown nobody: "$T/owned/scepgw.db"
	sed "s|^path *=.*|path = $T/owned/scepgw.db|" "$GW_CONF" >"$T/owned.conf"
	rc=0
	gw_run "$T/migrate.out" 60 "$GW_BUILD/scepgw" db migrate -c "$T/owned.conf" \
	    --to "postgresql://scepgw@/scepgw?host=$T/nowhere&port=5432" || rc=$?
	gw_assert_eq 1 "$rc" "db migrate of the owned copy to nowhere"
	gw_assert_eq nobody "$(stat -c %U "$T/owned/scepgw.db.lock")" \
	    "owner of the lock file db migrate made"
fi

# A copy failing midway (a certificate naming no transaction: the last
# table refused by its foreign key) leaves the target without a row.
newdb midway
cp "$DB" "$T/bad.db"
python3 - "$T/bad.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("INSERT INTO certificates (serial_hex, txid, cert_der, issued,"
          " not_after) VALUES ('0BAD', 'no-such-txid', x'00', 1, 2)")
c.commit()
PY
cp "$GW_CONF" "$T/bad.conf"
sed -i "s|^path *=.*|path = $T/bad.db|" "$T/bad.conf"
rc=0
gw_run "$T/migrate.out" 120 "$GW_BUILD/scepgw" db migrate -c "$T/bad.conf" \
    --to "$(url_of midway)" --db-password-file "$T/db.password" || rc=$?
gw_assert_eq 1 "$rc" "db migrate of a source the target refuses"
gw_assert_contains "$T/migrate.out" "certificates: .*foreign key"
gw_assert_eq "0|0|0|0|0" "$(pg_in midway "SELECT (SELECT count(*) FROM challenges),
    (SELECT count(*) FROM transactions), (SELECT count(*) FROM certificates),
    (SELECT count(*) FROM users), (SELECT count(*) FROM licence_counts)")" \
    "rows in the target after a failed copy"

# The same target, now with the good source and the password in the URL:
# it is never printed; the advice names a key=value string without it.
pwurl=$(url_of midway)
pwurl=${pwurl/scepgw@/scepgw:$GW_PG_PASSWORD@}
migrate --to "$pwurl" || gw_fail "db migrate with a password in the URL"
gw_assert_contains "$T/migrate.out" "^  certificates +2 +2 +([0-9a-f]{16}) \\1"
gw_assert_eq "4|3|2|1|1" "$(pg_in midway "SELECT (SELECT count(*) FROM challenges),
    (SELECT count(*) FROM transactions), (SELECT count(*) FROM certificates),
    (SELECT count(*) FROM users), (SELECT count(*) FROM licence_counts)")" \
    "rows in the target after the copy"
gw_assert_contains "$T/migrate.out" "^  url = .*dbname='midway'"
gw_assert_contains "$T/migrate.out" "^  password_file = FILE"
for f in "$T"/*.out "$T"/*.log; do
	gw_assert_not_contains "$f" "$GW_PG_PASSWORD"
done
# None of these runs changed the SQLite file either.
gw_assert_eq "$sum0" "$(sha256sum "$DB" | cut -d' ' -f1)" \
    "the SQLite file after every db migrate"
