#!/usr/bin/env bash
# Every CERT shape GlobalSign may send (epki-sim --cert-format, switched at
# run time through POST /sim/config): for each, one device enrolls at once
# and one whose order answer is dropped gets its certificate through the
# reconciler (GetOrders, Fulfillment/CrCertificate/Certificate in the same
# format). Each device's certificate holds its CSR's key and chains to the
# sim's CA, and its CertRep carries the issuing CA from [ra] ca_chain after
# the leaf, whether or not GlobalSign's answer had it (README "How an
# enrollment works", 6). Ledger: orders == certificates delivered.
. "$GW_SRC/tests/integration/cases/faults.bash"
fault_up
gw_assert_eq pem-x509 "$(sim_state cert_format)" "epki-sim's default cert_format"
ca_fp=$(openssl x509 -in "$SIM_DIR/issuing.pem" -noout -fingerprint -sha256)

# certrep_check NAME: $T/NAME.certs.pem (every certificate of the CertRep)
# is NAME's certificate, then the issuing CA, nothing else.
certrep_check() {
	local name=$1 d
	d=$(mktemp -d "$T/certrep.XXXXXX")
	awk -v d="$d" '
	/-----BEGIN CERTIFICATE-----/ { n++; f = sprintf("%s/%d.pem", d, n) }
	n { print > f }
	/-----END CERTIFICATE-----/ { close(f) }' "$T/$name.certs.pem"
	gw_assert_eq 2 "$(find "$d" -name '*.pem' | wc -l)" \
	    "$name: certificates in the CertRep"
	gw_assert_eq "$(openssl x509 -in "$T/$name.pem" -noout -fingerprint -sha256)" \
	    "$(openssl x509 -in "$d/1.pem" -noout -fingerprint -sha256)" \
	    "$name: the CertRep's first certificate"
	gw_assert_cert_key "$d/1.pem" "$T/$name.key"
	gw_assert_eq "$ca_fp" \
	    "$(openssl x509 -in "$d/2.pem" -noout -fingerprint -sha256)" \
	    "$name: the CertRep's second certificate (the issuing CA)"
}

for fmt in pem-x509 pem-x509-nonl pem-x509-crlf base64-der pem-pkcs7 \
    pem-pkcs7-chain; do
	out=$(sim_admin config "cert_format=$fmt") ||
	    gw_fail "POST /sim/config cert_format=$fmt failed"
	gw_assert_eq ok "$out" "POST /sim/config cert_format=$fmt"
	gw_assert_eq "$fmt" "$(sim_state cert_format)" "/sim/state cert_format"

	# At once: OrderAndIssueCertificate's CERT.
	device "$fmt" SUCCESS --certs-out "$T/$fmt.certs.pem"
	certrep_check "$fmt"

	# The answer lost: the reconciler finds the order with GetOrders.
	drops=$(sim_state fired.drop)
	sim_fault 'drop op=OrderAndIssueCertificate count=1 ms=0'
	device "$fmt-drop" PENDING
	gw_assert_eq $((drops + 1)) "$(sim_state fired.drop)" "$fmt: drop fired"
	"$GW_BUILD/scepreq" poll --url "$GW_URL" --key "$T/$fmt-drop.key" \
	    --txid "$fmt-drop-txid" --cert-out "$T/$fmt-drop.pem" \
	    --certs-out "$T/$fmt-drop.certs.pem" >"$T/$fmt-drop.poll2.out" 2>&1 ||
	    gw_fail "$fmt-drop: CertPoll after SUCCESS failed: $(cat "$T/$fmt-drop.poll2.out")"
	certrep_check "$fmt-drop"
done
gw_assert_not_contains "$T/scepgw.log" "ordering it now"
gw_assert_not_contains "$T/scepgw.log" "certificate refused"
sleep 1 # let any wrong re-order show up in the count
assert_ledger
gw_assert_eq 12 "$DELIVERED" "certificates delivered"
sim_admin config cert_format=pem-pkcs7 >/dev/null
gw_assert_eq pem-pkcs7 "$(sim_state cert_format)" "/sim/state after a bad setting"
out=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' -d 'cert_format=der' \
    "http://127.0.0.1:$SIM_PORT/sim/config")
gw_assert_eq 400 "$out" "POST /sim/config cert_format=der"
gw_assert_eq pem-pkcs7 "$(sim_state cert_format)" "/sim/state after a bad setting"
gw_stop
