#!/usr/bin/env bash
# GetCRL (RFC 8894 3.3.4) returns the issuing CA's CRL, which the gateway
# fetches from the CRL distribution point of its RA certificate (epki-sim
# publishes it at /crl/issuing.crl) at start-up and again before its
# nextUpdate: after a certificate is revoked at epki-sim (and the gateway
# restarted), GetCRL returns a CRL that verifies against the issuing CA and
# lists its serial, and GetCRLs, four at once or one later, are answered
# from the cache without fetching again.
. "$GW_SRC/tests/integration/lib.sh"
gw_up

SIM_BASE=http://127.0.0.1:$SIM_PORT

# getcrl NAME [scepreq options]: GetCRL into $T/NAME.crl; returns status.
getcrl() {
	local name=$1 rc=0
	shift
	"$GW_BUILD/scepreq" getcrl --url "$GW_URL" --key "$T/other.key" \
	    --crl-out "$T/$name.crl" "$@" >"$T/$name.out" 2>&1 || rc=$?
	return "$rc"
}

# The served CRL is the one the RA certificate's CDP names.
ra=$(gw_conf_get ra cert)
[ "${ra#/}" != "$ra" ] || ra=$GW_DIR/$ra
openssl x509 -in "$ra" -noout -ext crlDistributionPoints \
    >"$T/cdp.txt" 2>&1 || gw_fail "RA certificate: $(cat "$T/cdp.txt")"
gw_assert_contains "$T/cdp.txt" "URI:$SIM_BASE/crl/issuing.crl" "RA CDP"

c=$(gw_challenge)
enroll_expect dev SUCCESS --challenge "$c" --cn getcrl-device
assert_issued dev
order=$(sim_order_of "$T/dev.pem") || gw_fail "no epki-sim order holds dev.pem"
sim_revoke "$order" "$T/revoke.xml" || gw_fail "Revoke of order $order failed"
gw_assert_contains "$T/revoke.xml" "<SuccessCode>0</SuccessCode>" "Revoke"
serial=$(openssl x509 -in "$T/dev.pem" -noout -serial | cut -d= -f2)

# The gateway fetches the CRL at start-up (and before its nextUpdate), not
# when a GetCRL comes: restarted now, it fetches one listing the serial.
gw_stop
fetches0=$(sim_state calls.crl)
gw_start
gw_wait_log "$T/scepgw.log" 'CRL: fetched from .*, 1 revoked' "$GW_PID" 10 \
    >/dev/null || gw_fail "no CRL fetched at start-up"
gw_assert_eq $((fetches0 + 1)) "$(sim_state calls.crl)" "CRL fetches"

# Four GetCRLs at once: four answers from the cache, no fetch.
pids=()
for n in first p2 p3 p4; do
	getcrl "$n" &
	pids+=($!)
done
for n in 0 1 2 3; do
	wait "${pids[$n]}" || { cat "$T"/*.out >&2; gw_fail "GetCRL failed"; }
done
for n in p2 p3 p4; do
	cmp -s "$T/first.crl" "$T/$n.crl" || gw_fail "concurrent CRLs differ"
done
gw_assert_contains "$T/first.out" "status=SUCCESS"
gw_assert_file "$T/first.crl"
gw_split_chain "$SIM_DIR/ca-chain.pem" "$T/ca"
openssl crl -in "$T/first.crl" -CAfile "$T/ca/issuing.pem" -noout -verify \
    >"$T/verify.log" 2>&1 || gw_fail "CRL does not verify: $(cat "$T/verify.log")"
gw_assert_contains "$T/verify.log" "verify OK"
openssl crl -in "$T/first.crl" -noout -text >"$T/first.txt"
gw_assert_contains "$T/first.txt" "Serial Number: 0*$serial\$" "revoked serial"
gw_assert_contains "$T/first.txt" "Next Update:" "nextUpdate"
gw_assert_contains "$T/first.txt" "X509v3 CRL Number" "CRL number"
gw_assert_eq $((fetches0 + 1)) "$(sim_state calls.crl)" "CRL fetches"

# Within nextUpdate the cached CRL answers: no second fetch.
getcrl second --serial "$serial" ||
    { cat "$T/second.out" >&2; gw_fail "second GetCRL did not succeed"; }
cmp -s "$T/first.crl" "$T/second.crl" || gw_fail "second CRL differs"
gw_assert_eq $((fetches0 + 1)) "$(sim_state calls.crl)" "CRL fetches"
gw_assert_contains "$T/scepgw.log" "GetCRL: cached CRL"

gw_stop
