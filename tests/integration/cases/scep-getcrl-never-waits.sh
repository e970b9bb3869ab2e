#!/usr/bin/env bash
# GetCRL never waits for the CRL distribution point: the CRL is fetched by
# a thread of its own (README "Pointing devices and MDMs at it"). With a
# CDP that holds the fetch until the test lets it go (then fails), a
# GetCRL is answered while the fetch is still held, FAILURE while no CRL
# was ever fetched; the failed fetch is logged with its back-off; SIGTERM
# during a held fetch aborts it and exits 0.
. "$GW_SRC/tests/integration/lib.sh"
gw_need python3
gw_up
gw_stop

# epki-sim's port (the RA certificate's CDP) now holds every request until
# $T/release exists, then answers 500.
kill "$SIM_PID"
wait "$SIM_PID" 2>/dev/null || true
gw_spawn "$T/held-cdp.log" python3 -u -c '
import http.server, os, sys, time
class Held(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        print("held", self.path, flush=True)
        for _ in range(1200):
            if os.path.exists(sys.argv[2]):
                break
            time.sleep(0.05)
        self.send_error(500)
    do_POST = do_GET
srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Held)
print("held CDP up", flush=True)
srv.serve_forever()
' "$SIM_PORT" "$T/release"
gw_wait_log "$T/held-cdp.log" '^held CDP up' "$GW_LAST_PID" 10 >/dev/null ||
    gw_fail "the held CDP did not start"

gw_start
# The start-up fetch, held (asserted below, once GetCRL has had its answer).
gw_wait_log "$T/held-cdp.log" '^held /crl/' "$GW_PID" 15 >/dev/null || true
rc=0
"$GW_BUILD/scepreq" getcrl --url "$GW_URL" --key "$T/other.key" \
    --crl-out "$T/none.crl" >"$T/none.out" 2>&1 || rc=$?
gw_assert_eq 2 "$rc" "scepreq getcrl exit (FAILURE) $(cat "$T/none.out")"
gw_assert_contains "$T/none.out" "status=FAILURE"
# The fetch is still held: the answer did not wait for it.
gw_assert_not_contains "$T/scepgw.log" "CRL: GET "
gw_assert_contains "$T/held-cdp.log" "^held /crl/" "the start-up fetch"
gw_assert_contains "$T/scepgw.log" "GetCRL: no CRL from http://127\.0\.0\.1:$SIM_PORT/crl/issuing\.crl yet"
touch "$T/release"
gw_wait_log "$T/scepgw.log" 'CRL: GET .*HTTP 500; next try in 30s' \
    "$GW_PID" 15 >/dev/null || gw_fail "no failed fetch with its back-off logged"
gw_stop

# SIGTERM while the start-up fetch is held: the fetch is aborted, not
# waited for until it times out (which would log its failure), and serve
# exits 0.
rm -f "$T/release"
n0=$(grep -c '^held /crl/' "$T/held-cdp.log")
gw_start
for _ in $(seq 150); do
	[ "$(grep -c '^held /crl/' "$T/held-cdp.log")" -gt "$n0" ] && break
	sleep 0.1
done
[ "$(grep -c '^held /crl/' "$T/held-cdp.log")" -gt "$n0" ] ||
    gw_fail "the gateway did not start fetching its CRL again"
gw_stop
# (gw_start began a new log)
gw_assert_not_contains "$T/scepgw.log" "CRL: GET "
touch "$T/release"
