#!/usr/bin/env bash
# [server] max_connections_per_ip, max_connections and timeout_seconds:
# per address, the connection one past the limit is closed at once;
# past the total, new connections wait in the backlog until one closes;
# a silent connection is closed after the idle timeout. At each limit
# the requests are served.
. "$GW_SRC/tests/integration/lib.sh"
gw_need python3
gw_up
gw_conf_set server max_connections_per_ip 2
gw_conf_set server max_connections 16
gw_conf_set server timeout_seconds 2
gw_stop
gw_start

caps() { curl -s -o /dev/null -w '%{http_code}' -m "$1" \
    "$GW_URL?operation=GetCACaps" || true; }

# Per address: 1 held + this one = 2, at the limit.
gw_hold_connections 1
gw_assert_eq 200 "$(caps 5)" "the 2nd connection from one address"
kill "$HOLD_PID"; wait "$HOLD_PID" 2>/dev/null || true
# 2 held: the 3rd is closed without an answer.
gw_hold_connections 2
gw_assert_eq 000 "$(caps 5)" "the 3rd connection from one address"
kill "$HOLD_PID"; wait "$HOLD_PID" 2>/dev/null || true
sleep 0.5
gw_assert_eq 200 "$(caps 5)" "after the holders left"

# Total: lift the per-address limit; 15 held + 1 = 16 is served, with
# 16 held the 17th waits until one is released.
gw_conf_set server max_connections_per_ip 0
gw_stop
gw_start
gw_hold_connections 15
gw_assert_eq 200 "$(caps 5)" "connection 16 of 16"
kill "$HOLD_PID"; wait "$HOLD_PID" 2>/dev/null || true
sleep 0.5
gw_hold_connections 16
gw_assert_eq 000 "$(caps 2)" "connection 17 of 16 within 2 s"
( sleep 1; kill "$HOLD_PID" ) &
rel=$!
gw_assert_eq 200 "$(caps 10)" "connection 17 once the holders left"
wait "$rel"

# Idle: a connection silent for timeout_seconds (2) is closed.
python3 - "$GW_PORT" >"$T/idle.out" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(10)
t = time.time()
data = s.recv(100)
print("closed after %.1f s" % (time.time() - t), repr(data[:20]))
# One that talks after 1 s (under the limit) is answered.
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
time.sleep(1)
s.sendall(b"GET /scep?operation=GetCACaps HTTP/1.1\r\nHost: x\r\n\r\n")
s.settimeout(10)
print("answer", s.recv(12).decode())
PY
cat "$T/idle.out" >&2
gw_assert_contains "$T/idle.out" "^closed after [2-4]\.[0-9] s b''"
gw_assert_contains "$T/idle.out" "^answer HTTP/1.1 200"
gw_stop
