#!/usr/bin/env bash
# [db] password_file (README "Configuration", "PostgreSQL") is a secret
# file like [epki] password_file: with any group or other permission bit
# (0644, 0640, 0604) serve, check and `db migrate --db-password-file`
# refuse it with an error naming the file and the chmod to run, before
# any connection is tried; at 0600 they get past it (here to the
# connection error of a server that does not exist, so no PostgreSQL is
# needed). The password never reaches the output.
. "$GW_SRC/tests/integration/lib.sh"
gw_need openssl
gw_tmpdir
gw_start_sim
gw_init
cp "$GW_CONF" "$GW_DIR/sqlite.conf"
sed -i '/^path *=/d' "$GW_CONF"
gw_conf_set db url "postgresql://scepgw@/scepgw?host=$T/nowhere&port=5432"
gw_conf_set db password_file db.password
PW=$(openssl rand -hex 12)
(umask 077 && printf '%s\n' "$PW" >"$GW_DIR/db.password")

# refused MODE: serve and check exit 1 naming db.password and its mode.
refused() {
	local rc=0
	chmod "$1" "$GW_DIR/db.password"
	gw_run "$T/serve.out" 30 "$GW_BUILD/scepgw" serve -c "$GW_CONF" || rc=$?
	[ "$rc" -ne 0 ] || gw_fail "serve started with db.password mode $1"
	gw_assert_contains "$T/serve.out" \
	    "password_file: .*db\\.password: mode $1 lets group or others read it; run chmod 600" \
	    "serve, db.password mode $1"
	gw_assert_not_contains "$T/serve.out" "PostgreSQL connection" \
	    "serve, db.password mode $1: connected anyway"
	rc=0
	gw_run "$T/check.out" 30 "$GW_BUILD/scepgw" check -c "$GW_CONF" || rc=$?
	[ "$rc" -ne 0 ] || gw_fail "check passed with db.password mode $1"
	gw_assert_contains "$T/check.out" "database.*db\\.password: mode $1" \
	    "check, db.password mode $1"
	rc=0
	gw_run "$T/migrate.out" 30 "$GW_BUILD/scepgw" db migrate \
	    -c "$GW_DIR/sqlite.conf" --to "postgresql://scepgw@/scepgw?host=$T/nowhere" \
	    --db-password-file "$GW_DIR/db.password" || rc=$?
	gw_assert_eq 1 "$rc" "db migrate with db.password mode $1"
	gw_assert_contains "$T/migrate.out" \
	    "db-password-file: .*db\\.password: mode $1 lets group or others" \
	    "db migrate, db.password mode $1"
	cat "$T/serve.out" "$T/check.out" "$T/migrate.out" >>"$T/all.out"
}
refused 644
refused 640
refused 604

# 0600: past the file, to the connection (which fails: no server).
chmod 600 "$GW_DIR/db.password"
rc=0
gw_run "$T/serve.out" 30 "$GW_BUILD/scepgw" serve -c "$GW_CONF" || rc=$?
[ "$rc" -ne 0 ] || gw_fail "serve started without a database server"
gw_assert_contains "$T/serve.out" "PostgreSQL connection" "serve, db.password 0600"
gw_assert_not_contains "$T/serve.out" "db\\.password" "serve, db.password 0600"
cat "$T/serve.out" >>"$T/all.out"
gw_assert_not_contains "$T/all.out" "$PW" "the password in the output"
