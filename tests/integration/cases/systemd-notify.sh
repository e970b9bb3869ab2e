#!/usr/bin/env bash
# systemd's notification protocol (README "Running under systemd"), with
# a real NOTIFY_SOCKET (an AF_UNIX datagram listener written here, in
# place of systemd): READY=1 arrives once the SCEP listener answers (the
# listener asks GetCACaps the moment READY=1 comes in) with a STATUS=
# naming it; SIGHUP gives RELOADING=1 with MONOTONIC_USEC= and READY=1
# again; WATCHDOG_USEC gives WATCHDOG=1 repeatedly, none while the
# database writer is frozen (the test seam SCEPGW_TEST_FREEZE_DB, built
# with GW_TEST_HOOKS), again once it runs; none either while every
# connection the SCEP listener takes is held by a silent client, again
# once they leave; SIGTERM gives STOPPING=1.
. "$GW_SRC/tests/integration/lib.sh"
gw_need openssl curl python3
grep -q SCEPGW_TEST_FREEZE_DB "$GW_BUILD/scepgw" ||
    gw_skip "scepgw was built without GW_TEST_HOOKS (the writer freeze)"
gw_tmpdir
gw_start_sim
gw_init

GW_PORT=$(gw_free_port)
gw_conf_set server listen "127.0.0.1:$GW_PORT"
GW_URL=http://127.0.0.1:$GW_PORT/scep
# The fewest connections the listener takes, so that a test client can
# hold them all; a silent one is kept for a minute.
gw_conf_set server max_connections 16
gw_conf_set server timeout_seconds 60
gw_conf_set server request_timeout_seconds 60
cat >"$T/notify.py" <<'PY'
import socket, sys, urllib.request
path, log, url = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(log, "a", buffering=1) as f:
    f.write("LISTENING\n")
    while True:
        msg = s.recv(4096).decode()
        f.write(msg.replace("\n", " ") + "\n")
        if "READY=1" in msg:
            try:
                with urllib.request.urlopen(url + "?operation=GetCACaps",
                                            timeout=5) as r:
                    f.write("READY-CHECK %d\n" % r.status)
            except Exception as e:
                f.write("READY-CHECK failed: %s\n" % e)
PY
gw_spawn "$T/notify.out" python3 "$T/notify.py" "$T/notify.sock" \
    "$T/notify.log" "$GW_URL"
NPID=$GW_LAST_PID
gw_wait_log "$T/notify.log" '^LISTENING' "$NPID" 10 >/dev/null ||
    gw_fail "the notify listener did not start"

# count RE: lines of notify.log matching RE.
count() { grep -c -E "$1" "$T/notify.log" || true; }
# poll_until SECONDS WHAT COMMAND...: until COMMAND succeeds.
poll_until() {
	local secs=$1 what=$2 i
	shift 2
	for ((i = 0; i < secs * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	gw_fail "$what: not within $secs s"
}
more_than() { [ "$(count "$1")" -gt "$2" ]; }
log_more_than() { [ "$(grep -c -E "$1" "$T/scepgw.log" || true)" -gt "$2" ]; }

gw_spawn "$T/scepgw.log" env NOTIFY_SOCKET="$T/notify.sock" \
    WATCHDOG_USEC=1000000 SCEPGW_TEST_FREEZE_DB="$T/freeze" \
    "$GW_BUILD/scepgw" serve -c "$GW_CONF"
GW_PID=$GW_LAST_PID
poll_until "$GW_START_TIMEOUT" "READY=1" more_than '^READY=1' 0
poll_until 10 "the READY=1 check" more_than '^READY-CHECK' 0
gw_assert_contains "$T/notify.log" '^READY-CHECK 200$' "the listener at READY=1"
gw_assert_contains "$T/notify.log" "^READY=1 STATUS=SCEP on 127.0.0.1:$GW_PORT \(port $GW_PORT\), database sqlite"
! grep -q 'WATCHDOG=1' <<<"$(sed -n '1,/^READY=1/p' "$T/notify.log")" ||
    gw_fail "WATCHDOG=1 before READY=1"

# A reload: RELOADING=1 with the monotonic clock, then READY=1 again.
kill -HUP "$GW_PID"
poll_until 20 "READY=1 after the reload" more_than '^READY=1' 1
gw_assert_contains "$T/notify.log" '^RELOADING=1 MONOTONIC_USEC=[0-9]+$'
gw_assert_contains "$T/scepgw.log" 'reloaded: RA certificate serial'

# The watchdog: WATCHDOG=1 every half second while everything answers.
poll_until 20 "three WATCHDOG=1" more_than '^WATCHDOG=1' 2

# Freeze the database writer: no more WATCHDOG=1 once the watchdog saw it.
touch "$T/freeze"
poll_until 20 "the watchdog seeing the frozen writer" \
    log_more_than 'watchdog: the database writer not answering' 0
n=$(count '^WATCHDOG=1')
w=$(grep -c 'watchdog: the database writer not answering' "$T/scepgw.log")
poll_until 20 "three more withheld ticks" \
    log_more_than 'watchdog: the database writer not answering' $((w + 2))
gw_assert_eq "$n" "$(count '^WATCHDOG=1')" "WATCHDOG=1 while the writer is frozen"
# Thawed, it is fed again.
rm -f "$T/freeze"
poll_until 20 "WATCHDOG=1 after the thaw" more_than '^WATCHDOG=1' "$n"

# Sixteen silent clients hold every connection the listener takes: the
# watchdog's GetCACaps waits in the backlog, and WATCHDOG=1 is withheld
# until they leave.
cat >"$T/hold.py" <<'PY'
import socket, sys, time
port, ready = int(sys.argv[1]), sys.argv[2]
held = []
for _ in range(16):
    held.append(socket.create_connection(("127.0.0.1", port)))
open(ready, "w").close()
time.sleep(300)
PY
gw_spawn "$T/hold.out" python3 "$T/hold.py" "$GW_PORT" "$T/held"
HPID=$GW_LAST_PID
poll_until 20 "sixteen connections held" test -e "$T/held"
poll_until 20 "the watchdog seeing the full listener" \
    log_more_than 'watchdog: the SCEP listener not answering' 0
n=$(count '^WATCHDOG=1')
w=$(grep -c 'watchdog: the SCEP listener not answering' "$T/scepgw.log")
poll_until 20 "two more withheld ticks" \
    log_more_than 'watchdog: the SCEP listener not answering' $((w + 1))
gw_assert_eq "$n" "$(count '^WATCHDOG=1')" "WATCHDOG=1 while the listener is full"
kill "$HPID"
poll_until 20 "WATCHDOG=1 once the clients left" more_than '^WATCHDOG=1' "$n"

# SIGTERM: STOPPING=1 as the drain starts, and a clean exit.
gw_stop
gw_assert_contains "$T/notify.log" '^STOPPING=1'
gw_assert_contains "$T/scepgw.log" 'stopped'
