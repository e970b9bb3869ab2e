#!/usr/bin/env bash
# GetCert (RFC 8894 3.3.4) returns a certificate issued through the
# gateway by issuer and serial number to the holder of its key; an unknown
# serial is badCertId (a stranger's request too:
# transaction-read-by-owner-only.sh).
. "$GW_SRC/tests/integration/lib.sh"
gw_up

c=$(gw_challenge)
enroll_expect dev SUCCESS --challenge "$c" --cn getcert-device
serial=$(openssl x509 -in "$T/dev.pem" -noout -serial | cut -d= -f2)
"$GW_BUILD/scepreq" getcert --url "$GW_URL" --key "$T/dev.key" \
    --serial "$serial" --cert-out "$T/got.pem" >"$T/got.out" 2>&1 ||
    { cat "$T/got.out" >&2; gw_fail "GetCert did not succeed"; }
gw_assert_eq "$(openssl x509 -in "$T/dev.pem" -noout -fingerprint)" \
    "$(openssl x509 -in "$T/got.pem" -noout -fingerprint)" "GetCert result"
rc=0
"$GW_BUILD/scepreq" getcert --url "$GW_URL" --key "$T/other.key" \
    --serial 0123456789ABCDEF >"$T/none.out" 2>&1 || rc=$?
gw_assert_eq 2 "$rc" "GetCert of an unknown serial"
gw_assert_contains "$T/none.out" "failinfo=badCertId"
gw_stop
