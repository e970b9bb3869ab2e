#!/usr/bin/env bash
# SIGTERM drains and exits 0 even with kept-alive clients (README
# "Commands": serve). An enrollment in flight when the signal comes gets
# its certificate; a PKCSReq that arrives afterwards on a connection kept
# alive from before gets 503 with "Connection: close", starts nothing (no
# order at epki-sim, its challenge unused), and libmicrohttpd is never
# stopped with a suspended connection (which aborts: exit 134).
. "$GW_SRC/tests/integration/lib.sh"
gw_need python3
# Every order takes 8 s at epki-sim: long enough that a late request
# would still wait upstream when the drain's connection wait (5 s) ends.
gw_up --latency-ms 8000

# The client: a capture proxy for scepreq's PKCSReq (GETs pass through,
# the POST is kept and answered 503), then one connection kept alive to
# the gateway, which sends that PKCSReq once $T/go exists.
cat >"$T/keepalive.py" <<'PY'
import http.client, http.server, os, sys, threading, time, urllib.request
gw_port, tdir = int(sys.argv[1]), sys.argv[2]
captured = {}

class Capture(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_GET(self):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (gw_port, self.path)) as r:
            body = r.read()
            self.send_response(r.status)
            self.send_header("Content-Type", r.headers["Content-Type"])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
    def do_POST(self):
        captured["path"] = self.path
        captured["body"] = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

srv = http.server.HTTPServer(("127.0.0.1", 0), Capture)
threading.Thread(target=srv.serve_forever, daemon=True).start()
print("proxy", srv.server_address[1], flush=True)
while "body" not in captured:
    time.sleep(0.05)
srv.shutdown()
conn = http.client.HTTPConnection("127.0.0.1", gw_port, timeout=30)
conn.request("GET", "/scep?operation=GetCACaps")
r = conn.getresponse()
r.read()
print("caps", r.status, r.getheader("Connection"), flush=True)
while not os.path.exists(os.path.join(tdir, "go")):
    time.sleep(0.05)
try:
    conn.request("POST", captured["path"], body=captured["body"],
                 headers={"Content-Type": "application/x-pki-message"})
    r = conn.getresponse()
    r.read()
    print("late", r.status, r.getheader("Connection"), flush=True)
except Exception as e:
    print("late error", repr(e), flush=True)
PY
gw_spawn "$T/client.log" python3 -u "$T/keepalive.py" "$GW_PORT" "$T"
CLIENT_PID=$GW_LAST_PID
line=$(gw_wait_log "$T/client.log" '^proxy [0-9]+' "$CLIENT_PID" 10) ||
    gw_fail "the client did not start"
proxy_port=${line#proxy }

# The late PKCSReq, captured through the proxy (scepreq sees a 503).
c_late=$(gw_challenge)
GW_URL=http://127.0.0.1:$proxy_port/scep enroll late --challenge "$c_late" \
    --cn late && gw_fail "the capture proxy let the PKCSReq through"
gw_wait_log "$T/client.log" '^caps 200' "$CLIENT_PID" 10 >/dev/null ||
    gw_fail "no kept-alive connection: $(cat "$T/client.log")"

# An enrollment in flight when SIGTERM comes.
c_early=$(gw_challenge)
enroll early --challenge "$c_early" --cn early &
early_pid=$!
gw_wait_log "$T/scepgw.log" 'ordering cn="early"' "$GW_PID" 10 >/dev/null ||
    gw_fail "the early enrollment was not ordered"
kill -TERM "$GW_PID"
gw_wait_log "$T/scepgw.log" 'draining' "$GW_PID" 10 >/dev/null ||
    gw_fail "no drain after SIGTERM"

# It gets its certificate; only then does the late request come, on the
# connection kept alive from before the signal.
rc=0
wait "$early_pid" || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/early.out" >&2; gw_fail "early: scepreq exited $rc"; }
assert_issued early
touch "$T/go"
line=$(gw_wait_log "$T/client.log" '^late ' "$CLIENT_PID" 30) ||
    gw_fail "the late request got no answer: $(cat "$T/client.log")"
[ "$line" = "late 503 close" ] ||
    gw_fail "late request: got '$line', want '503 close'"

# The gateway exits 0, without libmicrohttpd's panic.
rc=0
for ((i = 0; i < 150; i++)); do
	kill -0 "$GW_PID" 2>/dev/null || break
	sleep 0.1
done
wait "$GW_PID" || rc=$?
GW_PID=
gw_assert_eq 0 "$rc" "exit status after SIGTERM"
gw_assert_not_contains "$T/scepgw.log" "suspended connections" "MHD panic"
gw_assert_contains "$T/scepgw.log" "status=503" "the late request's log line"
gw_assert_eq 1 "$(sim_orders)" "orders at epki-sim"
# The late request's challenge is still unused; the early one's is spent.
"$GW_BUILD/scepgw" challenge list -c "$GW_CONF" >"$T/challenges" ||
    gw_fail "challenge list failed"
gw_assert_eq 1 "$(awk '$2 == "unused"' "$T/challenges" | wc -l)" \
    "unused challenges"
