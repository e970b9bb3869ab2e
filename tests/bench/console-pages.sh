#!/usr/bin/env bash
# Page times of the admin web console and the JSON API lists with a full
# database (README "Admin web console": every page under 50 ms with
# 100,000 certificates). One instance (epki-sim + scepgw, SQLite):
#
#   1. empty: only the console users and one probe enrollment (the row the
#      detail pages and the searches find); every URL of PAGES timed;
#   2. full: stopped, filled with N issued/failed/ordering transactions
#      and their certificates over 30 days, challenges in every state and
#      users (console-fill.sql, one SQLite transaction; no ANALYZE, as on
#      a live instance, unless BENCH_ANALYZE=1), started again,
#      timed again;
#   3. with BENCH_TRY_SQL (CREATE INDEX lines, say): stopped, the SQL
#      applied by hand, timed a third time (before/after of an index).
#
# Then prints one table: per URL the HTTP status, the body size and the
# median, p90 and max of curl's time_total over R requests (after one
# untimed), the median time to first byte, and the full median against
# the empty one. The gateway does not log its own time per request, so
# ttfb (curl's time_starttransfer - time_pretransfer: the server's work
# plus a loopback round trip) stands in for it. With BENCH_EXPLAIN=1 (the
# default) also EXPLAIN QUERY PLAN and the SQLite CLI's time of each query
# the dashboard and the API lists run (console-queries.py), on the full
# database, before and after BENCH_TRY_SQL.
#
#   tests/bench/console-pages.sh
#   BENCH_N=100000 BENCH_R=30 GW_BUILD=build-rel tests/bench/console-pages.sh
#   BENCH_TRY_SQL='CREATE INDEX certificates_issued ON certificates(issued);' \
#	tests/bench/console-pages.sh
#
# Knobs: BENCH_N (100000 transactions), BENCH_R (30 timed requests per
# URL), BENCH_CHALLENGES (10000, a quarter in each state: unused, used,
# expired, revoked), BENCH_USERS (50 NDES page users besides the two
# console users), BENCH_DER (200 distinct DER certificates, reused under
# distinct serials), BENCH_TRY_SQL, BENCH_EXPLAIN, BENCH_ANALYZE, BENCH_DB
# (sqlite or pg), BENCH_PG_SLOW_MS, BENCH_PAGES (a file of
# URLs replacing the list below). Not a ctest case: timings are only
# reported. A URL that answers 404 (a page not built on this branch) is
# shown as such; anything else but 200 is shown too, and fails the run
# once the table is printed.
GW_SRC=${GW_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
GW_CASE=${GW_CASE:-bench-console}
. "$GW_SRC/tests/lib/harness.sh"
. "$GW_SRC/tests/bench/lib.sh"
. "$GW_SRC/tests/lib/pg.sh"

N=${BENCH_N:-100000}
R=${BENCH_R:-30}
NCH=${BENCH_CHALLENGES:-10000}
NUSERS=${BENCH_USERS:-50}
NDER=${BENCH_DER:-200}
EXPLAIN=${BENCH_EXPLAIN:-1}
BACKEND=${BENCH_DB:-sqlite}
case $BACKEND in
sqlite | pg) ;;
*) gw_fail "BENCH_DB: sqlite or pg, not '$BACKEND'" ;;
esac
BDIR=$GW_SRC/tests/bench

# The URLs timed, one a line: a page is one line more. /api/ URLs go with
# the bearer token, the others with the console session. @TXID@,
# @SERIAL@, @CN@, @EMAIL@ and @DAY@ (YYYY-MM-DD) name the probe
# enrollment (in both runs); @MIDID@ is half the row count plus one (a
# keyset page in the middle, ?before=ID). Pages of other branches answer 404 until merged.
PAGES_DEFAULT='/ui/
/ui/challenges
/ui/challenges?state=unused
/ui/challenges?state=revoked
/ui/enrollments
/ui/enrollments?state=failed
/ui/enrollments?state=ordering
/ui/enrollments?cn=@CN@
/ui/enrollments?email=@EMAIL@
/ui/enrollments?from=@DAY@&to=@DAY@
/ui/enrollments?before=@MIDID@
/ui/enrollments/@TXID@
/ui/certificates
/ui/certificates?state=revoked
/ui/certificates?cn=@CN@
/ui/certificates?email=@EMAIL@
/ui/certificates?serial=@SERIAL@
/ui/certificates/@SERIAL@
/ui/users
/api/v1/challenges?limit=50
/api/v1/challenges?state=unused&limit=50
/api/v1/enrollments?limit=50
/api/v1/enrollments?state=failed&limit=50
/api/v1/enrollments?cn=@CN@&limit=50
/api/v1/enrollments/@TXID@
/api/v1/certificates?limit=50
/api/v1/certificates?cn=@CN@&limit=50
/api/v1/certificates?serial=@SERIAL@&limit=50'

gw_need curl openssl sqlite3
# Debian's python3: its sqlite3 module is the libsqlite3 the gateway links.
PY=/usr/bin/python3
[ -x "$PY" ] || gw_skip "no /usr/bin/python3 (package python3)"
for f in scepgw epki-sim; do
	[ -x "$GW_BUILD/$f" ] || gw_fail "no $GW_BUILD/$f (build it)"
done
if [ -n "${BENCH_PAGES:-}" ]; then
	PAGES=$(grep -v '^#' "$BENCH_PAGES")
else
	PAGES=$PAGES_DEFAULT
fi

gw_tmpdir
# shellcheck disable=SC2119 # epki-sim's and init's defaults
bench_start_sim
# shellcheck disable=SC2119
gw_init
gw_admin_enable
DB=$(gw_conf_get db path)
DB=${DB:-scepgw.db}
[ "${DB#/}" != "$DB" ] || DB=$GW_DIR/$DB

user_add() { # NAME PASSWORD ROLE
	printf '%s\n' "$2" | "$GW_BUILD/scepgw" user add "$1" --role "$3" \
	    -c "$GW_CONF" >>"$T/user.out" 2>&1 ||
	    gw_fail "user add $1: $(cat "$T/user.out")"
}
user_add bench-admin 'bench admin pw' admin
user_add bench-viewer 'bench viewer pw' viewer
[ -f "$DB" ] || gw_fail "no database at $DB after init and user add"

# BENCH_DER distinct certificates in $T/der/K.der, self-signed with one
# P-256 key: the pages parse and show them, nothing verifies them.
mkdir -p "$T/der"
openssl ecparam -name prime256v1 -genkey -noout -out "$T/der/key.pem" 2>/dev/null ||
    gw_fail "openssl ecparam failed"
for ((k = 0; k < NDER; k++)); do
	openssl req -x509 -new -key "$T/der/key.pem" -sha256 -days 365 \
	    -subj "/CN=device-$k/emailAddress=user$k@example.com" \
	    -set_serial "$((k + 4096))" -outform DER -out "$T/der/$k.der" \
	    2>>"$T/openssl.log" || gw_fail "openssl req failed (openssl.log)"
done

# fill N: the database as console-fill.sql leaves it for N transactions.
fill() {
	local now
	now=$(date +%s)
	(cd "$T/der" && sqlite3 -bail "$DB" \
	    -cmd ".parameter set @n $1" -cmd ".parameter set @now $now" \
	    -cmd ".parameter set @nch $NCH" -cmd ".parameter set @nusers $NUSERS" \
	    -cmd ".parameter set @nder $NDER" \
	    <"$BDIR/console-fill.sql" >>"$T/fill.log" 2>&1) ||
	    gw_fail "filling the database failed: $(tail -n 5 "$T/fill.log")"
}

# The probe enrollment's fields for the URL placeholders.
probe() {
	PROBE_TXID=$(sqlite3 "$DB" "SELECT txid FROM transactions WHERE cn = 'bench-probe'")
	PROBE_SERIAL=$(sqlite3 "$DB" "SELECT serial_hex FROM certificates WHERE txid = '$PROBE_TXID'")
	PROBE_DAY=$(sqlite3 "$DB" "SELECT date(created, 'unixepoch') FROM transactions WHERE cn = 'bench-probe'")
	PROBE_MIDID=$(sqlite3 "$DB" "SELECT count(*) / 2 + 1 FROM transactions")
	if [ -z "$PROBE_TXID" ] || [ -z "$PROBE_SERIAL" ]; then
		gw_fail "no probe row"
	fi
}

# login: a console session for bench-admin in $T/jar.
login() {
	local tok code
	rm -f "$T/jar"
	curl -sS -m 30 -b "$T/jar" -c "$T/jar" -o "$T/login.html" \
	    "$GW_ADMIN_URL/ui/login" || gw_fail "GET /ui/login"
	tok=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/login.html" | head -n 1)
	[ ${#tok} -eq 64 ] || gw_fail "no CSRF token on the login page"
	code=$(curl -sS -m 30 -b "$T/jar" -c "$T/jar" -o /dev/null -w '%{http_code}' \
	    --data-urlencode "csrf=$tok" --data-urlencode user=bench-admin \
	    --data-urlencode 'password=bench admin pw' "$GW_ADMIN_URL/ui/login") ||
	    gw_fail "POST /ui/login"
	[ "$code" = 303 ] || gw_fail "login answered $code"
}

# url_of LINE: the URL with the placeholders filled.
url_of() {
	local u=$1
	u=${u//@TXID@/$PROBE_TXID}
	u=${u//@SERIAL@/$PROBE_SERIAL}
	u=${u//@CN@/bench-probe}
	u=${u//@EMAIL@/bench-probe%40example.com}
	u=${u//@DAY@/$PROBE_DAY}
	u=${u//@MIDID@/$PROBE_MIDID}
	printf '%s%s\n' "$GW_ADMIN_URL" "$u"
}

# measure RUN: every URL, 1 + R requests on one connection (one curl,
# a config file of R+1 url/output pairs); $T/RUN.times gets one line per
# URL: path status bytes median p90 max ttfb-median (ms).
measure() {
	local run=$1 line url auth i
	: >"$T/$run.times"
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		url=$(url_of "$line")
		if [[ $line == /api/* ]]; then
			auth=(-H "Authorization: Bearer $TOKEN")
		else
			auth=(-b "$T/jar")
		fi
		: >"$T/curl.cfg"
		for ((i = 0; i <= R; i++)); do
			printf 'url = "%s"\noutput = "/dev/null"\n' "$url" >>"$T/curl.cfg"
		done
		curl -sS -m 60 "${auth[@]}" -K "$T/curl.cfg" \
		    -w '%{http_code} %{size_download} %{time_total} %{time_pretransfer} %{time_starttransfer}\n' \
		    >"$T/curl.out" 2>>"$T/curl.err" || gw_fail "curl $line failed"
		"$PY" "$BDIR/console-stats.py" "$line" <"$T/curl.out" >>"$T/$run.times" ||
		    gw_fail "console-stats.py failed on $line"
	done <<<"$PAGES"
}

# db_count SQL: one number from the database served (SQLite file or
# PostgreSQL), -1 when it does not answer.
db_count() {
	if [ "$BACKEND" = pg ]; then
		gw_pg_sql "$1" 2>/dev/null || echo -1
	else
		sqlite3 "$DB" "$1" 2>/dev/null || echo -1
	fi
}

# to_pg: the SQLite database into PostgreSQL (scepgw db migrate, which
# wants the target's tables empty: emptied first), then VACUUM ANALYZE.
to_pg() {
	[ "$BACKEND" = pg ] || return 0
	gw_pg_sql "DO \$\$ BEGIN IF to_regclass('public.transactions') IS NOT NULL THEN
	    TRUNCATE txn_events, certificates, transactions, challenges, users, licence_counts, nodes CASCADE;
	    END IF; END \$\$" >/dev/null || gw_fail "emptying PostgreSQL failed"
	gw_run "$T/migrate.out" 600 "$GW_BUILD/scepgw" db migrate -c "$GW_CONF" \
	    --to "$GW_PG_URL" --db-password-file "$T/db.password" ||
	    gw_fail "db migrate failed: $(tail -n 5 "$T/migrate.out")"
	# VACUUM too: a loaded table without a visibility map gets no
	# index-only scans; autovacuum would have run on a live server.
	gw_pg_sql 'VACUUM ANALYZE' >/dev/null || gw_fail "VACUUM ANALYZE failed"
}

# serve_and_measure RUN: start the gateway (on PostgreSQL with
# BENCH_DB=pg), log in, time every URL, stop it.
serve_and_measure() {
	local conf=$GW_CONF
	[ "$BACKEND" = sqlite ] || GW_CONF=$PG_CONF
	# The plans auto_explain logs from here on are this run's.
	[ "$BACKEND" = sqlite ] || : >"$GW_PG_DIR/server.log"
	# shellcheck disable=SC2119 # serve without options
	gw_start
	# ORDERING rows are orphans to a fresh serve: it takes them over and,
	# as they hold no request, leaves them for an operator (no order).
	# Wait until that is done, so nothing but the pages runs while timing.
	poll_orphans
	login
	probe
	measure "$1"
	gw_stop
	GW_CONF=$conf
}

# Waits (up to 120 s) until no transaction is ORDERING, or the count has
# not moved for 5 s.
poll_orphans() {
	local last=-1 same=0 n i
	for ((i = 0; i < 1200; i++)); do
		n=$(db_count "SELECT count(*) FROM transactions WHERE state = 1")
		[ "$n" = 0 ] && return 0
		if [ "$n" = "$last" ]; then
			same=$((same + 1))
			[ "$same" -ge 50 ] && return 0
		else
			same=0
		fi
		last=$n
		sleep 0.1
	done
}

# explain WHAT: the plans and times of the queries (SQLite), or the
# statements PostgreSQL's auto_explain logged as slow since the start.
explain() {
	[ "$EXPLAIN" = 1 ] || return 0
	printf '\n== query plans and times (%s, %s) ==\n' "$BACKEND" "$1"
	if [ "$BACKEND" = pg ]; then
		"$PY" "$BDIR/console-queries.py" --pg-log "$GW_PG_DIR/server.log" ||
		    gw_fail "console-queries.py --pg-log failed"
		return
	fi
	"$PY" "$BDIR/console-queries.py" "$GW_SRC/db/db_sq_int.h" "$DB" \
	    "$PROBE_TXID" "$PROBE_SERIAL" || gw_fail "console-queries.py failed"
}

# try_sql: BENCH_TRY_SQL applied to the database served.
try_sql() {
	if [ "$BACKEND" = pg ]; then
		gw_pg_sql "$BENCH_TRY_SQL; ANALYZE" >/dev/null
	else
		sqlite3 -bail "$DB" "$BENCH_TRY_SQL;$([ "${BENCH_ANALYZE:-0}" = 1 ] && echo ' ANALYZE;')"
	fi || gw_fail "BENCH_TRY_SQL failed"
}

if [ "$BACKEND" = pg ]; then
	# auto_explain logs the plan of every statement slower than
	# BENCH_PG_SLOW_MS (5) in the server's log.
	GW_PG_OPTS="${GW_PG_OPTS:+$GW_PG_OPTS }-c shared_preload_libraries=auto_explain -c auto_explain.log_min_duration=${BENCH_PG_SLOW_MS:-5}"
	# shellcheck disable=SC2119 # the socket only
	gw_pg_start
	(umask 077 && printf '%s\n' "$GW_PG_PASSWORD" >"$T/db.password")
	PG_CONF=$GW_DIR/pg.conf
	sed '/^path *=/d' "$GW_CONF" >"$PG_CONF"
	gw_conf_set db url "$GW_PG_URL" "$PG_CONF"
	gw_conf_set db password_file "$T/db.password" "$PG_CONF"
fi

fill 0
to_pg
serve_and_measure empty
gw_log "filling $N transactions, $NCH challenges, $NUSERS users"
t0=$(date +%s%N)
fill "$N"
# The gateway never runs ANALYZE on SQLite: no statistics by default,
# so the plans are the ones a live instance gets (BENCH_ANALYZE=1 adds
# them, to compare).
if [ "${BENCH_ANALYZE:-0}" = 1 ]; then
	sqlite3 "$DB" 'ANALYZE' || gw_fail "ANALYZE failed"
fi
to_pg
t1=$(date +%s%N)
serve_and_measure full
explain "full"
runs=(empty full)
if [ -n "${BENCH_TRY_SQL:-}" ]; then
	try_sql
	serve_and_measure tried
	explain "after BENCH_TRY_SQL"
	runs+=(tried)
fi

printf '\n== console pages (%s): N=%s transactions (%s certificates, %s ordering, %s failed), %s challenges, %s users; R=%s; filled in %s s; SQLite file %s MiB ==\n' \
    "$BACKEND" "$N" "$(db_count 'SELECT count(*) FROM certificates')" \
    "$(db_count 'SELECT count(*) FROM transactions WHERE state = 1')" \
    "$(db_count 'SELECT count(*) FROM transactions WHERE state = 3')" \
    "$(db_count 'SELECT count(*) FROM challenges')" \
    "$(db_count 'SELECT count(*) FROM users')" "$R" \
    "$(((t1 - t0) / 1000000000)).$((((t1 - t0) / 100000000) % 10))" \
    "$(($(stat -c %s "$DB") / 1048576))"
[ -z "${BENCH_TRY_SQL:-}" ] || printf 'tried: %s\n' "$BENCH_TRY_SQL"
"$PY" "$BDIR/console-stats.py" --table "${runs[@]}" -- "$T" ||
    gw_fail "console-stats.py --table failed"
# A URL that answered anything but 200, or 404 every time (a page not on
# this branch), fails the run, after the table.
bad=$(for r in "${runs[@]}"; do cat "$T/$r.times"; done | awk '$2 != 200 && $2 != 404 { print $1 " " $2 }' | sort -u)
[ -z "$bad" ] || gw_fail "URLs not answering 200: $(echo "$bad" | tr '\n' ';')"
