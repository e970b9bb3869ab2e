#!/usr/bin/env bash
# [server] request_timeout_seconds against slowloris: MHD's timeout_seconds
# is an idle timeout, which a client trickling a byte every half second
# never trips; the request deadline cuts it off whether it trickles the
# headers or the body. A request that arrives within the deadline is
# served, and a PKIOperation waiting for GlobalSign longer than the
# deadline is not cut (its request has arrived).
. "$GW_SRC/tests/integration/lib.sh"
gw_need python3
gw_up --latency-ms 4500
gw_conf_set server request_timeout_seconds 3
gw_conf_set server timeout_seconds 30
gw_stop
gw_start

python3 - "$GW_PORT" >"$T/slow.out" 2>&1 <<'PY'
import socket, sys, time
port = int(sys.argv[1])

def trickle(head, body, step):
    """Send head at once, then body a byte per step; seconds until cut."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(head)
    t = time.time()
    try:
        for b in body:
            s.sendall(bytes([b]))
            time.sleep(step)
            if time.time() - t > 20:
                return "not cut after 20 s"
        s.settimeout(10)
        data = s.recv(200)
        return "answered %.1f s %s" % (time.time() - t,
                                       data.split(b"\r\n")[0].decode())
    except (BrokenPipeError, ConnectionResetError):
        return "cut after %.1f s" % (time.time() - t)

# Headers, a byte every 0.5 s, never ending.
print("headers:", trickle(b"GET /scep?operation=GetCACaps HTTP/1.1\r\n",
                          b"X-Slow: " + b"a" * 100, 0.5))
# Body of a POST, a byte every 0.5 s.
print("body:", trickle(b"POST /scep?operation=PKIOperation HTTP/1.1\r\n"
                       b"Host: x\r\nContent-Length: 100\r\n\r\n",
                       b"b" * 100, 0.5))
# A whole request trickled over about 1.5 s, under the deadline.
print("within:", trickle(b"", b"GET /scep?operation=GetCACaps HTTP/1.1\r\n"
                         b"Host: x\r\n\r\n", 0.03))
PY
cat "$T/slow.out" >&2
# Cut at the deadline (3 s) plus the watchdog's 1 s tick; a loaded CI
# machine may add a few seconds. Without the deadline these trickles
# would last 50 s.
gw_assert_contains "$T/slow.out" '^headers: cut after ([3-9]|1[0-5])\.[0-9] s'
gw_assert_contains "$T/slow.out" '^body: cut after ([3-9]|1[0-5])\.[0-9] s'
gw_assert_contains "$T/slow.out" '^within: answered .* HTTP/1.1 200'
gw_assert_contains "$T/scepgw.log" 'request_timeout_seconds = 3'

# An enrollment that waits 4.5 s for the upstream is not cut.
enroll_expect slow-upstream SUCCESS --challenge "$(gw_challenge)" \
    --cn slow-upstream
gw_stop
