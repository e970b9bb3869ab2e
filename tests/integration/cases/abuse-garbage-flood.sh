#!/usr/bin/env bash
# 1,000 concurrent garbage requests (random POST bodies, truncated DER,
# bad base64, non-HTTP bytes, unknown operations, half-sent requests)
# while 20 real enrollments run: every enrollment succeeds, every
# garbage request gets a 4xx or a closed connection (never a 5xx), and
# the gateway is still healthy afterwards.
. "$GW_SRC/tests/integration/lib.sh"
gw_need python3
ulimit -n 8192 2>/dev/null || true
gw_up
gw_conf_set enroll max_failures_per_minute 0
gw_conf_set server request_timeout_seconds 20
gw_stop
gw_start

cat >"$T/flood.py" <<'PY'
import asyncio, base64, collections, os, random, sys
port = int(sys.argv[1])
random.seed(7)

def garbage(i):
    k = i % 7
    if k == 0:
        body = os.urandom(random.randint(1, 4000))
    elif k == 1:  # DER-looking: SEQUENCE, huge length, junk
        body = b"\x30\x84\x7f\xff\xff\xff\x06\x09" + os.urandom(300)
    elif k == 2:  # indefinite length, never ends
        body = b"\x30\x80" * 200
    if k <= 2:
        return (b"POST /scep?operation=PKIOperation HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/x-pki-message\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body)) + body
    if k == 3:
        m = base64.b64encode(os.urandom(500)).decode()[:-3] + "%%%"
        return ("GET /scep?operation=PKIOperation&message=%s HTTP/1.1\r\n"
                "Host: x\r\n\r\n" % m).encode()
    if k == 4:
        return os.urandom(random.randint(1, 2000))
    if k == 5:
        return b"GET /scep?operation=%s HTTP/1.1\r\nHost: x\r\n\r\n" % (
            base64.b16encode(os.urandom(20)))
    return b"POST /scep?operation=PKIOperation HTTP/1.1\r\nContent-Length: 5000\r\n\r\nab"

async def one(i, out):
    try:
        r, w = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port), 30)
    except Exception as e:
        out["connect-failed"] += 1
        return
    try:
        w.write(garbage(i))
        await w.drain()
        if i % 7 == 6:
            await asyncio.sleep(0.5)
            w.close()
            out["half-sent"] += 1
            return
        line = await asyncio.wait_for(r.readline(), 60)
        if not line:
            out["closed"] += 1
        else:
            out[line.split(b" ")[1].decode(errors="replace")[:3]] += 1
    except (ConnectionError, asyncio.IncompleteReadError):
        out["closed"] += 1
    except asyncio.TimeoutError:
        out["timeout"] += 1
    finally:
        w.close()

async def main():
    out = collections.Counter()
    await asyncio.gather(*(one(i, out) for i in range(1000)))
    print("results", dict(out))
    bad = [k for k in out if k.startswith("5") or k in ("timeout", "connect-failed")]
    print("verdict", "bad" if bad else "ok")

asyncio.run(main())
PY
gw_spawn "$T/flood.log" python3 -u "$T/flood.py" "$GW_PORT"
FLOOD_PID=$GW_LAST_PID
sleep 0.3
# 20 real enrollments in parallel with the flood.
pids=()
for ((i = 1; i <= 20; i++)); do
	enroll "real$i" --challenge "$(gw_challenge)" --cn "real$i" &
	pids+=($!)
done
for ((i = 0; i < 20; i++)); do
	rc=0
	wait "${pids[$i]}" || rc=$?
	[ "$rc" = 0 ] || { cat "$T/real$((i + 1)).out" >&2;
	    gw_fail "real$((i + 1)) during the flood: exit $rc"; }
done
gw_wait_log "$T/flood.log" '^verdict' "$FLOOD_PID" 120 >/dev/null ||
    gw_fail "the flood did not finish"
cat "$T/flood.log" >&2
gw_assert_contains "$T/flood.log" '^verdict ok'
gw_assert_eq 20 "$(sim_orders)" "orders"
gw_caps_ok "$GW_URL" || gw_fail "the gateway stopped answering"
gw_stop
