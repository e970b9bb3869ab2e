#!/usr/bin/env bash
# GetCRL never waits for the CRL distribution point: the CRL is fetched by
# a thread of its own (README "Pointing devices and MDMs at it"). With a
# CDP that takes 4 s to answer (and then fails), a GetCRL is answered at
# once, FAILURE while no CRL was ever fetched; the failed fetch is logged
# with its back-off; SIGTERM during a hanging fetch still exits 0 at once.
. "$GW_SRC/tests/integration/lib.sh"
gw_need python3
gw_up
gw_stop

# epki-sim's port (the RA certificate's CDP) now answers after 4 s, 500.
kill "$SIM_PID"
wait "$SIM_PID" 2>/dev/null || true
gw_spawn "$T/slow-cdp.log" python3 -u -c '
import http.server, sys, time
class Slow(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(4)
        self.send_error(500)
    do_POST = do_GET
srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Slow)
print("slow CDP up", flush=True)
srv.serve_forever()
' "$SIM_PORT"
gw_wait_log "$T/slow-cdp.log" '^slow CDP up' "$GW_LAST_PID" 10 >/dev/null ||
    gw_fail "the slow CDP did not start"

# ms: milliseconds since the epoch.
ms() { echo $(($(date +%s%N) / 1000000)); }

gw_start
t0=$(ms)
rc=0
"$GW_BUILD/scepreq" getcrl --url "$GW_URL" --key "$T/other.key" \
    --crl-out "$T/none.crl" >"$T/none.out" 2>&1 || rc=$?
t1=$(ms)
gw_assert_eq 2 "$rc" "scepreq getcrl exit (FAILURE) $(cat "$T/none.out")"
gw_assert_contains "$T/none.out" "status=FAILURE"
[ $((t1 - t0)) -lt 2000 ] ||
    gw_fail "GetCRL took $((t1 - t0)) ms: it waited for the CDP"
gw_assert_contains "$T/scepgw.log" "GetCRL: no CRL from http://127\.0\.0\.1:$SIM_PORT/crl/issuing\.crl yet"
gw_wait_log "$T/scepgw.log" 'CRL: GET .*HTTP 500; next try in 30s' \
    "$GW_PID" 15 >/dev/null || gw_fail "no failed fetch with its back-off logged"
gw_stop

# SIGTERM while the start-up fetch hangs: the fetch is aborted, exit 0.
gw_start
t0=$(ms)
gw_stop
t1=$(ms)
[ $((t1 - t0)) -lt 2500 ] ||
    gw_fail "stopping took $((t1 - t0)) ms while a CRL fetch hung"
