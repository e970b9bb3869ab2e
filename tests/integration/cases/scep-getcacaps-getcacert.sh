#!/usr/bin/env bash
# GetCACaps lists the tokens every client family parses, one per CRLF
# line, as text/plain; GetCACert returns the RA certificate and the CA
# chain as a certs-only PKCS#7 (application/x-x509-ca-ra-cert) whose RA
# certificate can sign and decrypt and chains to the CA devices pin.
. "$GW_SRC/tests/integration/lib.sh"
gw_up

gw_assert_caps "$GW_URL" POSTPKIOperation AES DES3 SHA-1 SHA-224 SHA-256 \
    SHA-384 SHA-512 SCEPStandard
curl -fsS -D "$T/caps.h" -o "$T/caps" "$GW_URL?operation=GetCACaps"
gw_assert_contains "$T/caps.h" $'^[Cc]ontent-[Tt]ype: text/plain\r$'
[ "$(grep -c $'\r$' "$T/caps")" -eq "$(wc -l <"$T/caps")" ] ||
    gw_fail "GetCACaps lines are not CRLF-terminated"

for path in /scep /cgi-bin/pkiclient.exe /certsrv/mscep/mscep.dll \
    /scep/pkiclient.exe /cgi-bin/pkiclient.exe/; do
	url=http://127.0.0.1:$GW_PORT$path
	curl -fsS -D "$T/ca.h" -o "$T/ca.p7" "$url?operation=GetCACert&message=default" ||
	    gw_fail "GetCACert at $path failed"
	gw_assert_contains "$T/ca.h" \
	    $'^[Cc]ontent-[Tt]ype: application/x-x509-ca-ra-cert\r$'
done
openssl pkcs7 -inform DER -in "$T/ca.p7" -print_certs -out "$T/bag.pem" ||
    gw_fail "GetCACert is not a DER PKCS#7"
n=$(grep -c 'BEGIN CERTIFICATE' "$T/bag.pem")
[ "$n" -eq 3 ] || gw_fail "GetCACert holds $n certificates, want RA + issuing + root"
openssl x509 -in "$T/bag.pem" -out "$T/ra.pem"
gw_assert_eq "$(openssl x509 -in "$GW_DIR/ra.pem" -noout -fingerprint)" \
    "$(openssl x509 -in "$T/ra.pem" -noout -fingerprint)" "first cert is the RA"
openssl x509 -in "$T/ra.pem" -noout -ext keyUsage >"$T/ku" 2>&1
gw_assert_contains "$T/ku" "Digital Signature" "RA keyUsage"
gw_assert_contains "$T/ku" "Key Encipherment" "RA keyUsage"
gw_assert_cert_chains "$T/ra.pem" "$SIM_DIR/ca-chain.pem"
gw_stop
