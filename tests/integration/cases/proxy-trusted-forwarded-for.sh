#!/usr/bin/env bash
# Behind a reverse proxy ([server] trusted_proxies = 127.0.0.1): the
# failure limit, the log lines and the NDES page use the client address
# the proxy puts in X-Forwarded-For, so two clients behind one proxy are
# limited separately: A's 5 wrong challenges lock A out (even when A
# forges its own X-Forwarded-For), B still enrolls. From a peer that is
# not a trusted proxy the header is ignored: the limit hits the peer and
# the log shows the peer.
. "$GW_SRC/tests/integration/lib.sh"
gw_tmpdir
gw_start_sim
gw_init
gw_conf_set enroll max_failures_per_minute 5
gw_conf_set server trusted_proxies "127.0.0.1, ::1"
SIM_ORDERS0=$(sim_orders)
gw_start

A='X-Forwarded-For: 203.0.113.10'
B='X-Forwarded-For: 198.51.100.7, 203.0.113.20' # a proxy chain: B is right-most
good_a=$(gw_challenge)
good_b=$(gw_challenge)
for i in 1 2 3 4 5; do
	enroll_expect "a-guess$i" FAILURE --challenge "$(openssl rand -hex 16)" \
	    --cn a --header "$A"
done
gw_assert_contains "$T/scepgw.log" "^[^ ]+ info: 203\.0\.113\.10 txid=.*challenge refused: unknown challenge"
enroll_expect a-limited FAILURE --challenge "$good_a" --cn a --header "$A"
gw_assert_contains "$T/a-limited.out" "failinfo=badRequest"
gw_assert_contains "$T/scepgw.log" "203\.0\.113\.10 txid=.*too many failed attempts from this address"
# A cannot step out of its limit by writing its own header: the proxy
# appends the address it saw, and the right-most one counts.
enroll_expect a-forged FAILURE --challenge "$good_a" --cn a \
    --header 'X-Forwarded-For: 192.0.2.55, 203.0.113.10'
enroll_expect b SUCCESS --challenge "$good_b" --cn b --header "$B"
gw_assert_contains "$T/scepgw.log" "203\.0\.113\.20 txid=.*ordering cn=\"b\""
gw_assert_eq 1 "$(sim_orders)" "orders at epki-sim"

# The NDES page shares the limit and the address.
ndes() { # ndes XFF: HTTP status of a wrong login
	curl -sS -o /dev/null -w '%{http_code}' -u 'nobody:wrong' \
	    -H "X-Forwarded-For: $1" "http://127.0.0.1:$GW_PORT/certsrv/mscep_admin/"
}
gw_assert_eq 429 "$(ndes 203.0.113.10)" "NDES login from locked-out client A"
gw_assert_eq 401 "$(ndes 203.0.113.40)" "NDES login from another client"
gw_assert_contains "$T/scepgw.log" "203\.0\.113\.40 ndes: user=nobody: login failed"
# A trusted proxy's unreadable header: the proxy's address, and a warning.
gw_assert_eq 401 "$(ndes 'not-an-address')" "NDES login with a broken header"
gw_assert_contains "$T/scepgw.log" "127\.0\.0\.1: trusted proxy sent an X-Forwarded-For that cannot be read"
gw_assert_contains "$T/scepgw.log" "127\.0\.0\.1 ndes: user=nobody: login failed"
gw_stop

# The peer (127.0.0.1) is not a trusted proxy: forged headers, one per
# request, are ignored; the limit and the log use the peer.
gw_conf_set server trusted_proxies 192.0.2.1
gw_start
good=$(gw_challenge)
for i in 1 2 3 4 5; do
	enroll_expect "forged$i" FAILURE --challenge "$(openssl rand -hex 16)" \
	    --cn forged --header "X-Forwarded-For: 203.0.113.$((100 + i))"
done
enroll_expect forged-limited FAILURE --challenge "$good" --cn forged \
    --header 'X-Forwarded-For: 203.0.113.99'
gw_assert_contains "$T/forged-limited.out" "failinfo=badRequest"
gw_assert_contains "$T/scepgw.log" "127\.0\.0\.1 txid=.*too many failed attempts from this address"
gw_assert_not_contains "$T/scepgw.log" "203\.0\.113\.(99|10[1-5])"
gw_assert_eq 1 "$(sim_orders)" "orders at epki-sim"
gw_stop
