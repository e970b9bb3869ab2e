# shellcheck shell=bash
# A throwaway PostgreSQL cluster for the tests (db/README.md "Tests"):
# made with initdb and pg_ctl inside a scratch folder, reachable only on a
# Unix socket in that folder (listen_addresses='', so the port number only
# names the socket file and cannot clash with anything), run as the
# postgres user when we are root (initdb refuses root), stopped and
# removed at the end.
#
# Sourced by an integration case after harness.sh:
#
#	. "$GW_SRC/tests/lib/pg.sh"
#	gw_pg_start	# sets GW_PG_URL and GW_PG_PASSWORD (role scepgw)
#	gw_pg_sql "SELECT ..."	# as the superuser
#	gw_pg_standby_start	# a synchronous standby; sets GW_PG_HA_URL
#	gw_pg_stop_hard; gw_pg_promote	# a failover
#
# GW_PG_FSYNC=on makes the clusters durable (fsync, full_page_writes: the
# benchmarks, tests/bench/run-ha.sh); GW_PG_OPTS adds server options
# (-c NAME=VALUE ...).
#
# gw_pg_start --tcp also listens on 127.0.0.1, on a free port (GW_PG_PORT;
# the socket file is then named by that port too), and lets role scepgw
# log in there with its password: a case can put a relay between one
# gateway and the server (tests/lib/tcp-relay.py).
#
# which skips the case (exit 77, the missing program named) when
# PostgreSQL is not installed, and stops the cluster when the case exits.
# Run as a script it is the ctest fixture of the unit tests:
#
#	bash tests/lib/pg.sh fixture-start STATE	# STATE/url: the URL
#	bash tests/lib/pg.sh fixture-stop STATE
#
# fixture-start prints SKIPPED and exits 0 without PostgreSQL (the *-pg
# unit tests then skip, seeing no STATE/url).

# The newest installed PostgreSQL server's bin folder, or nothing.
gw_pg_bindir() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
		printf '%s\n' "$d"
	elif command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
		dirname "$(command -v initdb)"
	fi
}

# What is missing to run a cluster ("" when nothing).
gw_pg_missing() {
	local bin
	bin=$(gw_pg_bindir)
	if [ -z "$bin" ]; then
		echo "initdb and pg_ctl (package postgresql)"
		return
	fi
	[ -x "$bin/psql" ] || command -v psql >/dev/null 2>&1 ||
	    echo "psql (package postgresql-client)"
	if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
		echo "the postgres user (package postgresql)"
	fi
}

# Runs a command as the cluster's owner.
gw_pg__as() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# Makes and starts a cluster in folder $1 (created, must not exist),
# with TCP on 127.0.0.1:$2 when $2 is given (else the socket only, port
# 5432); prints the superuser's connection string for database scepgw.
gw_pg__up() {
	local d=$1 bin port=${2:-5432} listen="''"
	[ -z "${2:-}" ] || listen=127.0.0.1
	bin=$(gw_pg_bindir)
	mkdir -p "$d"
	chmod 700 "$d"
	[ "$(id -u)" = 0 ] && chown postgres: "$d"
	gw_pg__as "$bin/initdb" -D "$d/data" -A trust -U postgres -N \
	    --no-instructions -E UTF8 >"$d/initdb.log" 2>&1 || {
		cat "$d/initdb.log" >&2
		return 1
	}
	gw_pg__as "$bin/pg_ctl" -D "$d/data" -l "$d/server.log" -w -t 60 \
	    -o "-k $d -c listen_addresses=$listen -c port=$port -c fsync=${GW_PG_FSYNC:-off} -c full_page_writes=${GW_PG_FSYNC:-off} -c max_connections=300${GW_PG_OPTS:+ $GW_PG_OPTS}" \
	    start >"$d/pg_ctl.log" 2>&1 || {
		cat "$d/pg_ctl.log" "$d/server.log" >&2
		return 1
	}
	gw_pg__as "$bin/psql" -q -h "$d" -p "$port" -U postgres -d postgres \
	    -c 'CREATE DATABASE scepgw' >/dev/null || return 1
	printf 'host=%s port=%s user=postgres dbname=scepgw\n' "$d" "$port"
}

# psql as the superuser on the case's cluster, database scepgw; prints
# the rows unaligned, without headers.
gw_pg_sql() {
	local bin
	bin=$(gw_pg_bindir)
	gw_pg__as "$bin/psql" -X -q -A -t -v ON_ERROR_STOP=1 \
	    -h "$GW_PG_DIR" -p "${GW_PG_PORT:-5432}" -U postgres -d scepgw -c "$1"
}

# The gateway's role: scepgw, owner of database scepgw, logging in with a
# password (scram-sha-256) on the socket and on 127.0.0.1 (when the
# cluster listens there); the superuser keeps trust on the socket.
gw_pg__role() {
	local d=$1 bin
	bin=$(gw_pg_bindir)
	GW_PG_PASSWORD=$(openssl rand -hex 12)
	printf 'local all postgres trust\nlocal all all scram-sha-256\nhost all scepgw 127.0.0.1/32 scram-sha-256\n' \
	    >"$d/data/pg_hba.conf"
	gw_pg__as "$bin/psql" -X -q -h "$d" -p "${GW_PG_PORT:-5432}" -U postgres -d scepgw \
	    -v ON_ERROR_STOP=1 \
	    -c "CREATE ROLE scepgw LOGIN PASSWORD '$GW_PG_PASSWORD'" \
	    -c 'ALTER DATABASE scepgw OWNER TO scepgw' \
	    -c 'ALTER SCHEMA public OWNER TO scepgw' \
	    -c 'SELECT pg_reload_conf()' >/dev/null
}

# Stops (immediately: nothing in it is worth keeping) the cluster in $1
# and removes the folder.
gw_pg__down() {
	local d=$1 bin
	bin=$(gw_pg_bindir)
	[ -d "$d" ] || return 0
	if [ -n "$bin" ] && [ -f "$d/data/postmaster.pid" ]; then
		gw_pg__as "$bin/pg_ctl" -D "$d/data" -m immediate -w stop \
		    >/dev/null 2>&1 || true
	fi
	rm -rf "$d"
}

# For a case: starts the cluster in $T/pg, sets GW_PG_URL (the socket),
# and stops it when the case exits (after the gateways, harness.sh's
# cleanup hooks). With --tcp it also listens on 127.0.0.1:GW_PG_PORT.
gw_pg_start() {
	local missing
	GW_PG_PORT=5432
	[ "${1:-}" != --tcp ] || GW_PG_PORT=$(gw_free_port)
	missing=$(gw_pg_missing)
	[ -z "$missing" ] || gw_skip "$(echo "$missing" | head -n 1) is not installed (deploy/test.sh installs it)"
	gw_tmpdir
	# postgres must reach the socket folder inside $T.
	[ "$(id -u)" = 0 ] && chmod 711 "$T"
	GW_PG_DIR=$T/pg
	GW__CLEANUP_HOOKS+=("gw_pg__down $GW_PG_DIR")
	if [ "$GW_PG_PORT" = 5432 ]; then
		gw_pg__up "$GW_PG_DIR" >/dev/null
	else
		gw_pg__up "$GW_PG_DIR" "$GW_PG_PORT" >/dev/null
	fi || gw_fail "PostgreSQL did not start"
	gw_pg__role "$GW_PG_DIR" || gw_fail "could not make the scepgw role"
	GW_PG_URL="postgresql://scepgw@/scepgw?host=$GW_PG_DIR&port=$GW_PG_PORT"
	export GW_PG_URL GW_PG_PASSWORD GW_PG_PORT
}

# psql as the superuser on the cluster in folder $1 (the case's primary:
# $GW_PG_DIR, its standby: $GW_PG2_DIR), database scepgw.
gw_pg_sql_at() {
	local bin
	bin=$(gw_pg_bindir)
	gw_pg__as "$bin/psql" -X -q -A -t -v ON_ERROR_STOP=1 \
	    -h "$1" -p 5432 -U postgres -d scepgw -c "$2"
}

# A synchronous streaming standby of the case's cluster (README "High
# availability"), after gw_pg_start: pg_basebackup -R into $T/pg2, its
# own Unix socket there, named r1 in synchronous_standby_names on the
# primary; returns once pg_stat_replication shows r1 in state sync. Sets
# GW_PG2_DIR and GW_PG_HA_URL: both hosts (per-host ports) with
# target_session_attrs=read-write, so that libpq connects to whichever
# of the two takes writes. Stopped when the case exits.
gw_pg_standby_start() {
	local bin d=$T/pg2 i state=
	bin=$(gw_pg_bindir)
	[ -x "$bin/pg_basebackup" ] || gw_skip "pg_basebackup is not installed (package postgresql)"
	GW_PG2_DIR=$d
	GW__CLEANUP_HOOKS+=("gw_pg__down $d")
	mkdir -p "$d"
	chmod 700 "$d"
	[ "$(id -u)" = 0 ] && chown postgres: "$d"
	# Replication connections match no "all" line: let postgres in.
	printf 'local replication postgres trust\n' >>"$GW_PG_DIR/data/pg_hba.conf"
	gw_pg_sql "SELECT pg_reload_conf()" >/dev/null
	gw_pg__as "$bin/pg_basebackup" -h "$GW_PG_DIR" -p 5432 -U postgres \
	    -D "$d/data" -R -X stream -c fast >"$d/basebackup.log" 2>&1 || {
		cat "$d/basebackup.log" >&2
		gw_fail "pg_basebackup failed"
	}
	# The name the primary's synchronous_standby_names lists.
	printf "primary_conninfo = 'host=%s port=5432 user=postgres application_name=r1'\n" \
	    "$GW_PG_DIR" | gw_pg__as tee -a "$d/data/postgresql.auto.conf" >/dev/null
	gw_pg__as "$bin/pg_ctl" -D "$d/data" -l "$d/server.log" -w -t 60 \
	    -o "-k $d -c listen_addresses='' -c port=5432 -c fsync=${GW_PG_FSYNC:-off} -c full_page_writes=${GW_PG_FSYNC:-off} -c max_connections=300${GW_PG_OPTS:+ $GW_PG_OPTS}" \
	    start >"$d/pg_ctl.log" 2>&1 || {
		cat "$d/pg_ctl.log" "$d/server.log" >&2
		gw_fail "the standby did not start"
	}
	gw_pg_sql "ALTER SYSTEM SET synchronous_standby_names = 'r1'" >/dev/null
	gw_pg_sql "SELECT pg_reload_conf()" >/dev/null
	for ((i = 0; i < 300; i++)); do
		state=$(gw_pg_sql "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'r1'")
		[ "$state" = sync ] && break
		sleep 0.1
	done
	[ "$state" = sync ] || {
		cat "$d/server.log" >&2
		gw_fail "the standby is not synchronous (state '$state')"
	}
	GW_PG_HA_URL="postgresql://scepgw@/scepgw?host=$GW_PG_DIR,$d&port=5432,5432&target_session_attrs=read-write"
	export GW_PG2_DIR GW_PG_HA_URL
}

# The primary stopped hard (a crash: no shutdown checkpoint, clients cut).
gw_pg_stop_hard() {
	gw_pg__as "$(gw_pg_bindir)/pg_ctl" -D "$GW_PG_DIR/data" -m immediate \
	    -w stop >/dev/null
}

# Promotes the standby to primary, as Patroni would (returns once it
# takes writes).
gw_pg_promote() {
	gw_pg__as "$(gw_pg_bindir)/pg_ctl" -D "$GW_PG2_DIR/data" -w promote \
	    >/dev/null
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -eu
	case "${1:-}" in
	fixture-start)
		state=$2
		rm -f "$state/url"
		mkdir -p "$state"
		missing=$(gw_pg_missing)
		if [ -n "$missing" ]; then
			printf 'SKIPPED: PostgreSQL unit tests: %s is not installed\n' \
			    "$(echo "$missing" | head -n 1)"
			exit 0
		fi
		[ -f "$state/dir" ] && gw_pg__down "$(cat "$state/dir")"
		d=$(mktemp -d "${TMPDIR:-/tmp}/gw-pg-unit.XXXXXX")
		rmdir "$d"
		echo "$d" >"$state/dir"
		gw_pg__up "$d" >"$state/url.new"
		mv "$state/url.new" "$state/url"
		echo "PostgreSQL test cluster in $d"
		;;
	fixture-stop)
		state=$2
		[ -f "$state/dir" ] && gw_pg__down "$(cat "$state/dir")"
		rm -f "$state/dir" "$state/url"
		;;
	*)
		echo "usage: $0 fixture-start|fixture-stop STATE" >&2
		exit 2
		;;
	esac
fi
