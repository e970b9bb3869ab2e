# shellcheck shell=bash
# Shared helpers for the integration and interop cases (tests/*/cases/*.sh).
#
# A case sources this file, then starts what it needs:
#
#	. "$GW_SRC/tests/lib/harness.sh"
#	gw_need openssl curl
#	gw_tmpdir
#	gw_start_sim
#	gw_init
#	gw_start
#	c=$(gw_challenge)
#
# ctest runs each case with GW_BUILD (build folder) and GW_SRC (repo root)
# in its environment; run by hand, they default to this repo and its
# build/ folder. A case exits 0 on pass, 77 on skip (after printing
# "SKIPPED: <case>: <reason>"), anything else on failure. Every process the
# harness starts is stopped when the case exits, the scratch folder $T is
# removed (kept when GW_KEEP=1), and on failure the tail of each log in $T
# is printed. A sanitizer report in any daemon log fails the case.

set -euo pipefail

GW_SRC=${GW_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
GW_BUILD=${GW_BUILD:-$GW_SRC/build}
GW_CASE=${GW_CASE:-$(basename "$0" .sh)}
GW_START_TIMEOUT=${GW_START_TIMEOUT:-60}	# seconds; sanitizer builds start slowly
T=${T:-}
GW__PIDS=()
GW__CLEANUP_HOOKS=()	# commands run at exit after the processes stop

# The EPKI account that epki-sim accepts by default (epki/sim/README.md).
GW_SIM_USER=PAR00000_scepgw
GW_SIM_PASSWORD=epki-sim-password
GW_SIM_PROFILE=MP000000000001

# Print a line to stderr, prefixed with the case name.
gw_log() {
	printf '%s: %s\n' "$GW_CASE" "$*" >&2
}

# Fail the case with a message; the EXIT trap prints the logs.
gw_fail() {
	printf 'FAIL: %s: %s\n' "$GW_CASE" "$*" >&2
	exit 1
}

# Skip the case (exit 77, which ctest counts as skipped).
gw_skip() {
	printf 'SKIPPED: %s: %s\n' "$GW_CASE" "$*"
	exit 77
}

# Skip unless every named tool is on PATH. deploy/test.sh installs them
# all, so a skip in CI means deploy/packages.txt lacks a package.
gw_need() {
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null 2>&1 ||
		    gw_skip "$tool is not installed (deploy/test.sh installs it)"
	done
}

# Stop one process: SIGTERM, up to 10 seconds, then SIGKILL. Prints
# nothing; returns the process's exit status when it was our child.
gw__kill() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return; }
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# The first line of a sanitizer report: ASan, LSan, UBSan, TSan (a data
# race, lock-order inversion, signal-unsafe call... or its own failure).
GW__SANITIZER_RE='ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:'
GW__SANITIZER_RE+='|(WARNING|FATAL): ThreadSanitizer|ThreadSanitizer: CHECK failed'

# True when a log holds a sanitizer report.
gw__sanitizer_report() {
	grep -q -E "$GW__SANITIZER_RE" "$1"
}

# The EXIT trap: stop what we started, judge the logs, clean up.
gw__cleanup() {
	local rc=$? pid f
	# A child killed between fork and exec still runs our traps: it
	# must not clean up the case's processes and folder.
	[ "$BASHPID" = "$GW__MAIN_PID" ] || exit "$rc"
	set +e
	for pid in "${GW__PIDS[@]}"; do
		gw__kill "$pid" >/dev/null 2>&1
	done
	for f in "${GW__CLEANUP_HOOKS[@]}"; do
		$f >/dev/null 2>&1
	done
	if [ -n "$T" ] && [ -d "$T" ]; then
		for f in "$T"/*.log; do
			[ -f "$f" ] || continue
			if gw__sanitizer_report "$f"; then
				printf 'FAIL: %s: sanitizer report in %s\n' \
				    "$GW_CASE" "${f##*/}" >&2
				[ "$rc" -eq 0 ] && rc=1
			fi
		done
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
			for f in "$T"/*.log; do
				[ -s "$f" ] || continue
				if gw__sanitizer_report "$f"; then
					# The report, which the tail may cut.
					printf -- '----- %s (first report) -----\n' \
					    "${f##*/}" >&2
					grep -m1 -E -A 60 "$GW__SANITIZER_RE" \
					    "$f" >&2
					continue
				fi
				printf -- '----- %s (last 40 lines) -----\n' \
				    "${f##*/}" >&2
				tail -n 40 "$f" >&2
			done
		fi
		if [ "${GW_KEEP:-0}" = 1 ]; then
			printf '%s: kept %s\n' "$GW_CASE" "$T" >&2
		else
			rm -rf "$T"
		fi
	fi
	exit "$rc"
}

# Create the case's scratch folder and set T to it. Idempotent.
gw_tmpdir() {
	[ -n "$T" ] && [ -d "$T" ] && return 0
	T=$(mktemp -d "${TMPDIR:-/tmp}/gw-$GW_CASE.XXXXXX")
	GW__MAIN_PID=$BASHPID
	trap gw__cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# Start a command in the background, its output in LOG; stopped at exit.
# Sets GW_LAST_PID.
gw_spawn() {
	local log=$1
	shift
	gw_tmpdir
	# Emptied here, not only by the child's redirection: that runs after
	# the fork, and a caller waiting for a line (gw_wait_log) could read
	# the previous run's "listening on" line from a log reused by a
	# restart, and take its dead port.
	: >"$log"
	"$@" >"$log" 2>&1 </dev/null &
	GW_LAST_PID=$!
	GW__PIDS+=("$GW_LAST_PID")
}

# Print a TCP port that is free on 127.0.0.1 right now (the kernel picks
# it). A daemon that can bind port 0 itself is better: nothing can race.
gw_free_port() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
		return
	fi
	local p i
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + RANDOM % 40000))
		if ! ss -Htln "sport = :$p" 2>/dev/null | grep -q .; then
			echo "$p"
			return
		fi
	done
	gw_fail "found no free TCP port"
}

# Wait until LOG has a line matching the extended regex RE, or the process
# PID dies, or SECONDS pass. Prints the matching line.
gw_wait_log() {
	local log=$1 re=$2 pid=$3 secs=${4:-$GW_START_TIMEOUT} i line
	for ((i = 0; i < secs * 10; i++)); do
		line=$(grep -m1 -E "$re" "$log" 2>/dev/null || true)
		if [ -n "$line" ]; then
			printf '%s\n' "$line"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# Start epki-sim on a kernel-chosen port.
# Usage: gw_start_sim [--latency-ms N] [other epki-sim options]
# Sets SIM_PORT, SIM_URL (the GasOrderService endpoint), SIM_DIR, SIM_PID.
gw_start_sim() {
	local line
	gw_tmpdir
	[ -x "$GW_BUILD/epki-sim" ] || gw_fail "no $GW_BUILD/epki-sim (build it)"
	SIM_DIR=$T/epki-sim
	mkdir -p "$SIM_DIR"
	gw_spawn "$T/epki-sim.log" "$GW_BUILD/epki-sim" \
	    --listen 127.0.0.1:0 --dir "$SIM_DIR" "$@"
	SIM_PID=$GW_LAST_PID
	line=$(gw_wait_log "$T/epki-sim.log" \
	    'epki-sim listening on 127\.0\.0\.1:[0-9]+' "$SIM_PID") ||
	    gw_fail "epki-sim did not start (see epki-sim.log)"
	SIM_PORT=${line##*:}
	SIM_PORT=${SIM_PORT%%[!0-9]*}
	SIM_URL=http://127.0.0.1:$SIM_PORT/cr/ws/GasOrderService
	[ -s "$SIM_DIR/ca-chain.pem" ] ||
	    gw_fail "epki-sim wrote no $SIM_DIR/ca-chain.pem"
}

# Run `scepgw init` into $T/gw against the running epki-sim; extra
# arguments are passed through. Sets GW_DIR and GW_CONF.
gw_init() {
	[ -n "${SIM_URL:-}" ] || gw_fail "gw_init needs gw_start_sim first"
	[ -x "$GW_BUILD/scepgw" ] || gw_fail "no $GW_BUILD/scepgw (build it)"
	GW_DIR=$T/gw
	(umask 077 && printf '%s\n' "$GW_SIM_PASSWORD" >"$T/epki.password")
	"$GW_BUILD/scepgw" init --dir "$GW_DIR" --epki-url "$SIM_URL" \
	    --epki-user "$GW_SIM_USER" \
	    --epki-password-file "$T/epki.password" \
	    --profile-id "$GW_SIM_PROFILE" \
	    --ca-chain "$SIM_DIR/ca-chain.pem" "$@" >"$T/init.log" 2>&1 ||
	    gw_fail "scepgw init failed (see init.log)"
	GW_CONF=$GW_DIR/scepgw.conf
	[ -f "$GW_CONF" ] || gw_fail "scepgw init wrote no $GW_CONF"
	# CI runs the cases as root; serve refuses root unless told.
	gw_conf_set server allow_root yes
	# Never the default 127.0.0.1:8080: a case that runs serve by hand
	# must not depend on that port being free (gw_start picks one).
	gw_conf_set server listen 127.0.0.1:0
	gw__log_format "$GW_CONF"
}

# With GW_TEST_LOG_FORMAT set (text or json), every gateway config the
# harness writes or starts gets [log] format = that value, so any case can
# run with JSON logs (README "Logs").
gw__log_format() {
	[ -n "${GW_TEST_LOG_FORMAT:-}" ] || return 0
	gw_conf_set log format "$GW_TEST_LOG_FORMAT" "$1"
}

# gw_log_ts LINE: the timestamp of a gateway log line, text or JSON.
gw_log_ts() {
	local ts=${1%% *}
	case $1 in
	'{"ts":"'*) ts=${1#'{"ts":"'} && ts=${ts%%\"*} ;;
	esac
	printf '%s\n' "$ts"
}

# Turn the admin API on (after gw_init, before gw_start): a fresh bearer
# token in TOKEN, written to $GW_DIR/admin.token with mode 0600; gw_start
# then sets GW_ADMIN_URL.
gw_admin_enable() {
	TOKEN=$(openssl rand -hex 24) || gw_fail "openssl rand failed"
	(umask 077 && printf '%s\n' "$TOKEN" >"$GW_DIR/admin.token")
	gw_conf_set admin listen 127.0.0.1:0
	gw_conf_set admin token_file admin.token
}

# Set KEY = VALUE in [SECTION] of an INI file (default $GW_CONF): the
# key's line is replaced, or added at the end of the section, which is
# created when missing.
gw_conf_set() {
	local section=$1 key=$2 value=$3 file=${4:-${GW_CONF:-}}
	[ -f "$file" ] || gw_fail "gw_conf_set: no config file '$file'"
	awk -v sec="$section" -v key="$key" -v val="$value" '
	function flush() { if (insec && !done) { print key " = " val; done = 1 } }
	/^[ \t]*\[/ {
		flush()
		s = $0; gsub(/^[ \t]*\[[ \t]*|[ \t]*\].*$/, "", s)
		insec = (s == sec)
		print; next
	}
	insec && !done {
		k = $0; sub(/[ \t]*[=:].*$/, "", k); gsub(/^[ \t]+/, "", k)
		if (k == key && $0 ~ /[=:]/) { print key " = " val; done = 1; next }
	}
	{ print }
	END {
		flush()
		if (!done) { print ""; print "[" sec "]"; print key " = " val }
	}' "$file" >"$file.new" && mv "$file.new" "$file"
}

# Print the value of KEY in [SECTION] (default $GW_CONF), without any
# trailing ';' comment; empty when unset.
gw_conf_get() {
	local section=$1 key=$2 file=${3:-${GW_CONF:-}}
	awk -v sec="$section" -v key="$key" '
	/^[ \t]*\[/ {
		s = $0; gsub(/^[ \t]*\[[ \t]*|[ \t]*\].*$/, "", s)
		insec = (s == sec); next
	}
	insec {
		k = $0; sub(/[ \t]*[=:].*$/, "", k); gsub(/^[ \t]+/, "", k)
		if (k == key && $0 ~ /[=:]/) {
			v = $0; sub(/^[^=:]*[=:][ \t]*/, "", v)
			sub(/[ \t]+;.*$/, "", v); sub(/[ \t]+$/, "", v)
			print v; exit
		}
	}' "$file"
}

# True when the SCEP listener at URL answers GetCACaps.
gw_caps_ok() {
	curl -fsS -m 2 -o /dev/null "$1?operation=GetCACaps" 2>/dev/null
}

# gw_start_other CONF LOG: another `scepgw serve` beside gw_start's, from
# CONF (a copy of GW_CONF with its own [cluster] node_name, say) on a free
# loopback port, its output in LOG; waits until GetCACaps answers. Sets
# OTHER_PORT, OTHER_URL, OTHER_PID.
gw_start_other() {
	local conf=$1 log=$2 i
	OTHER_PORT=$(gw_free_port)
	gw_conf_set server listen "127.0.0.1:$OTHER_PORT" "$conf"
	OTHER_URL=http://127.0.0.1:$OTHER_PORT/scep
	gw__log_format "$conf"
	gw_spawn "$log" "$GW_BUILD/scepgw" serve -c "$conf"
	OTHER_PID=$GW_LAST_PID
	for ((i = 0; i < GW_START_TIMEOUT * 10; i++)); do
		gw_caps_ok "$OTHER_URL" && return 0
		kill -0 "$OTHER_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$log" >&2
	gw_fail "the gateway of ${conf##*/} did not start"
}

# Start `scepgw serve` on free loopback ports (the admin listener too,
# when the config has one) and wait until GetCACaps answers. Extra
# arguments go to scepgw serve. Sets GW_PORT, GW_URL, GW_PID and, with
# an admin listener, GW_ADMIN_URL.
gw_start() {
	local try i
	[ -n "${GW_CONF:-}" ] || gw_fail "gw_start needs gw_init first"
	for ((try = 1; try <= 3; try++)); do
		GW_PORT=$(gw_free_port)
		gw_conf_set server listen "127.0.0.1:$GW_PORT"
		gw__log_format "$GW_CONF"
		if [ -n "$(gw_conf_get admin listen)" ]; then
			i=$(gw_free_port)
			gw_conf_set admin listen "127.0.0.1:$i"
			# shellcheck disable=SC2034 # for the cases
			GW_ADMIN_URL=http://127.0.0.1:$i
		fi
		GW_URL=http://127.0.0.1:$GW_PORT/scep
		gw_spawn "$T/scepgw.log" "$GW_BUILD/scepgw" serve -c "$GW_CONF" "$@"
		GW_PID=$GW_LAST_PID
		for ((i = 0; i < GW_START_TIMEOUT * 10; i++)); do
			gw_caps_ok "$GW_URL" && return 0
			kill -0 "$GW_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$GW_PID" 2>/dev/null && break
		# It died: most likely another process took the port between
		# gw_free_port and its bind. Try again with a new one.
		wait "$GW_PID" 2>/dev/null || true
		cp "$T/scepgw.log" "$T/scepgw-try$try.log"
	done
	gw_fail "scepgw serve did not answer GetCACaps at $GW_URL"
}

# Stop the gateway with SIGTERM; it must drain and exit 0 (README "Commands").
gw_stop() {
	local rc=0
	[ -n "${GW_PID:-}" ] || return 0
	gw__kill "$GW_PID" || rc=$?
	GW_PID=
	[ "$rc" -eq 0 ] || gw_fail "scepgw serve exited $rc on SIGTERM"
}

# Print one fresh one-time challenge; arguments go to `challenge new`.
gw_challenge() {
	local out
	out=$("$GW_BUILD/scepgw" challenge new -c "$GW_CONF" "$@" \
	    2>>"$T/cli.log") || gw_fail "scepgw challenge new failed (see cli.log)"
	out=${out%%$'\n'*}
	[ -n "$out" ] || gw_fail "scepgw challenge new printed nothing"
	printf '%s\n' "$out"
}

# Run a command with a time limit, its output in LOG; returns its status.
# Usage: gw_run LOG SECONDS command...
gw_run() {
	local log=$1 secs=$2
	shift 2
	timeout -k 5 "$secs" "$@" >"$log" 2>&1 </dev/null
}

# --- assertions -----------------------------------------------------------

# gw_assert_eq EXPECTED ACTUAL WHAT
gw_assert_eq() {
	[ "$1" = "$2" ] || gw_fail "$3: expected '$1', got '$2'"
}

# gw_assert_file FILE: exists and is not empty.
gw_assert_file() {
	[ -s "$1" ] || gw_fail "expected a non-empty file $1"
}

# gw_assert_contains FILE REGEX [WHAT]
gw_assert_contains() {
	grep -q -E -- "$2" "$1" ||
	    gw_fail "${3:-${1##*/}}: no line matches /$2/"
}

# gw_assert_not_contains FILE REGEX [WHAT]
gw_assert_not_contains() {
	! grep -q -E -- "$2" "$1" ||
	    gw_fail "${3:-${1##*/}}: unexpected line matching /$2/"
}

# gw_assert_ok WHAT command...: the command succeeds.
gw_assert_ok() {
	local what=$1
	shift
	"$@" || gw_fail "$what: '$*' exited $?"
}

# gw_assert_fails WHAT command...: the command exits non-zero.
gw_assert_fails() {
	local what=$1
	shift
	! "$@" || gw_fail "$what: '$*' succeeded but should have failed"
}

# gw_assert_caps URL CAP...: GetCACaps at URL lists every CAP (exact token).
gw_assert_caps() {
	local url=$1 caps cap
	shift
	caps=$(curl -fsS -m 10 "$url?operation=GetCACaps" | tr -d '\r') ||
	    gw_fail "GetCACaps at $url failed"
	for cap in "$@"; do
		grep -qx -- "$cap" <<<"$caps" ||
		    gw_fail "GetCACaps lacks $cap; it lists: ${caps//$'\n'/ }"
	done
}

# gw_split_chain CHAIN DIR: write the first certificate of a PEM chain to
# DIR/issuing.pem, the last to DIR/root.pem and everything before the
# root to DIR/untrusted.pem (issuing CA and any intermediates).
gw_split_chain() {
	local chain=$1 dir=$2 n i
	mkdir -p "$dir"
	awk -v d="$dir" '
	/-----BEGIN CERTIFICATE-----/ { n++; f = sprintf("%s/chain-%02d.pem", d, n) }
	n { print > f }
	/-----END CERTIFICATE-----/ { close(f) }' "$chain"
	n=$(find "$dir" -maxdepth 1 -name 'chain-*.pem' | wc -l)
	[ "$n" -ge 2 ] || gw_fail "$chain holds $n certificates, want >= 2"
	cp "$dir/chain-01.pem" "$dir/issuing.pem"
	cp "$(printf '%s/chain-%02d.pem' "$dir" "$n")" "$dir/root.pem"
	: >"$dir/untrusted.pem"
	for ((i = 1; i < n; i++)); do
		cat "$(printf '%s/chain-%02d.pem' "$dir" "$i")" >>"$dir/untrusted.pem"
	done
}

# gw_assert_cert_key CERT KEY: the certificate carries the key's public key.
gw_assert_cert_key() {
	local a b
	a=$(openssl x509 -in "$1" -noout -pubkey 2>/dev/null) ||
	    gw_fail "$1 is not a PEM certificate"
	b=$(openssl pkey -in "$2" -pubout 2>/dev/null) ||
	    gw_fail "$2 is not a readable private key"
	[ "$a" = "$b" ] || gw_fail "$1 does not certify the public key of $2"
}

# gw_assert_cert_chains CERT CHAIN: CERT verifies against CHAIN's root,
# with the issuing CA (and intermediates) as untrusted.
gw_assert_cert_chains() {
	local cert=$1 chain=$2 d
	d=$(mktemp -d "$T/chain.XXXXXX")
	gw_split_chain "$chain" "$d"
	openssl verify -CAfile "$d/root.pem" -untrusted "$d/untrusted.pem" \
	    "$cert" >"$T/verify.log" 2>&1 ||
	    gw_fail "openssl verify of $cert against $chain: $(cat "$T/verify.log")"
}
