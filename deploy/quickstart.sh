#!/usr/bin/env bash
# Try scepgw on this machine in one command: install what is missing,
# build, create a demo instance in ./demo (first run only), start epki-sim
# (a local stand-in for GlobalSign's EPKI) and scepgw on 127.0.0.1, issue
# challenges and print the commands that enroll a device. Ctrl-C stops both.
#
# A second run reuses ./demo: same config, keys, database and the same
# epki-sim port (it is written in demo/scepgw.conf). rm -rf demo to start
# afresh.
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
cd "$ROOT"
# Shared helpers: gw_conf_get/gw_conf_set (INI editing), gw_wait_log,
# gw_caps_ok.
GW_CASE=quickstart
. "$ROOT/tests/lib/harness.sh"

DEMO=demo
CONF=$DEMO/scepgw.conf
SIM_DIR=$DEMO/epki-sim
SIM_PID=
GW_PID=

say() {
	printf '\033[1m==> %s\033[0m\n' "$*"
}

die() {
	printf 'quickstart: %s\n' "$*" >&2
	exit 1
}

# Stop the daemons we started (scepgw first: it may still talk to EPKI).
stop_all() {
	local pid
	trap - EXIT INT TERM
	for pid in $GW_PID $SIM_PID; do
		kill -TERM "$pid" 2>/dev/null || continue
		wait "$pid" 2>/dev/null || true
	done
	[ -z "$GW_PID$SIM_PID" ] || echo "quickstart: stopped scepgw and epki-sim"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# True when 127.0.0.1:PORT can be bound right now.
port_free() {
	python3 -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}

# Print the first free port from PORT upwards, skipping SKIP.
port_from() {
	local p=$1 skip=${2:-}
	while [ "$p" = "$skip" ] || ! port_free "$p"; do
		p=$((p + 1))
		[ "$p" -lt 65536 ] || die "no free port above $1"
	done
	echo "$p"
}

# Start epki-sim on 127.0.0.1:PORT (0: any) and set SIM_PORT.
start_sim() {
	local line
	mkdir -p "$SIM_DIR"
	build/epki-sim --listen "127.0.0.1:$1" --dir "$SIM_DIR" \
	    >"$DEMO/epki-sim.log" 2>&1 </dev/null &
	SIM_PID=$!
	line=$(gw_wait_log "$DEMO/epki-sim.log" \
	    'epki-sim listening on 127\.0\.0\.1:[0-9]+' "$SIM_PID" 30) ||
	    die "epki-sim did not start; see $DEMO/epki-sim.log"
	SIM_PORT=${line##*:}
	SIM_PORT=${SIM_PORT%%[!0-9]*}
}

say "Installing missing packages"
deploy/test.sh --install-only

say "Building into ./build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)"

mkdir -p "$DEMO"
if [ -f "$CONF" ]; then
	say "Reusing $DEMO/ (rm -rf $DEMO to start afresh)"
	url=$(gw_conf_get epki url "$CONF")
	port=$(sed -n 's|^http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' <<<"$url")
	[ -n "$port" ] || die "$CONF: [epki] url '$url' is not a local epki-sim"
	port_free "$port" ||
	    die "port $port (epki-sim, from $CONF) is in use; free it first"
	start_sim "$port"
else
	say "Creating the demo instance in $DEMO/"
	start_sim 0
	(umask 077 && echo epki-sim-password >"$DEMO/epki.password")
	build/scepgw init --dir "$DEMO" \
	    --epki-url "http://127.0.0.1:$SIM_PORT/cr/ws/GasOrderService" \
	    --epki-user PAR00000_scepgw \
	    --epki-password-file "$DEMO/epki.password" \
	    --profile-id MP000000000001 \
	    --ca-chain "$SIM_DIR/ca-chain.pem" ||
	    die "scepgw init failed; rm -rf $DEMO and run again"
	# micromdm's scepclient only encrypts with single DES (see below).
	gw_conf_set scep allow_des yes "$CONF"
fi
# scepgw refuses to run as root unless told to; a production instance
# sets [server] user instead (README "Privileges"). The demo is a demo.
if [ "$(id -u)" -eq 0 ] && [ "$(gw_conf_get server allow_root "$CONF")" != yes ]; then
	echo "running as root: the demo sets [server] allow_root = yes"
	gw_conf_set server allow_root yes "$CONF"
fi
echo "epki-sim is listening on 127.0.0.1:$SIM_PORT (log: $DEMO/epki-sim.log)"

# The SCEP listener on 8080 or the next free port; the admin listener
# (when configured) on 8081 or the next free one.
scep_port=$(port_from 8080)
gw_conf_set server listen "127.0.0.1:$scep_port" "$CONF"
if [ -n "$(gw_conf_get admin listen "$CONF")" ]; then
	admin_port=$(port_from 8081 "$scep_port")
	gw_conf_set admin listen "127.0.0.1:$admin_port" "$CONF"
fi
URL=http://127.0.0.1:$scep_port/scep

say "Starting scepgw on $URL"
build/scepgw serve -c "$CONF" >"$DEMO/scepgw.log" 2>&1 </dev/null &
GW_PID=$!
for ((i = 0; i < 300; i++)); do
	gw_caps_ok "$URL" && break
	kill -0 "$GW_PID" 2>/dev/null ||
	    die "scepgw serve exited; see $DEMO/scepgw.log"
	sleep 0.1
done
gw_caps_ok "$URL" || die "scepgw does not answer GetCACaps; see $DEMO/scepgw.log"
echo "GetCACaps: $(curl -fsS "$URL?operation=GetCACaps" | tr -d '\r' | tr '\n' ' ')"

say "Issuing one-time challenges (one per enrollment)"
c1=$(build/scepgw challenge new -c "$CONF" --cn demo-device | head -n 1)
c2=$(build/scepgw challenge new -c "$CONF" --cn demo-device | head -n 1)
if [ -z "$c1" ] || [ -z "$c2" ]; then
	die "scepgw challenge new printed nothing"
fi

cat <<EOF

scepgw and epki-sim are running. Logs: $DEMO/scepgw.log, $DEMO/epki-sim.log

Enroll a device with our test client:

  build/scepreq enroll --url $URL --challenge $c1 --cn demo-device --key $DEMO/device.key --cert-out $DEMO/device.pem

or with micromdm's scepclient (Debian package scep). It encrypts with single
DES only, which scepgw refuses unless [scep] allow_des = yes; the demo config
has it set. scepclient writes csr.pem and self.pem into the current folder:

  (cd $DEMO && scepclient -server-url $URL -challenge $c2 -cn demo-device -private-key device-scepclient.key -certificate device-scepclient.pem)

Each challenge works once. More: build/scepgw challenge new -c $CONF --cn NAME
Check the result: openssl x509 -in $DEMO/device.pem -noout -subject -issuer

Press Ctrl-C to stop both daemons.
EOF

# Stay in the foreground until Ctrl-C or until a daemon dies.
set +e
wait -n "$GW_PID" "$SIM_PID"
rc=$?
kill -0 "$GW_PID" 2>/dev/null || die "scepgw exited ($rc); see $DEMO/scepgw.log"
die "epki-sim exited ($rc); see $DEMO/epki-sim.log"
