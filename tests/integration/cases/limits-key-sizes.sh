#!/usr/bin/env bash
# Device keys: RSA 2048..8192 bits and EC P-256 / P-384 are accepted;
# one past (RSA 2047 bits, EC P-521, P-224) gets FAILURE badRequest and
# no order. (RSA 8193 is left out: generating it takes minutes.)
. "$GW_SRC/tests/integration/lib.sh"
gw_up

openssl genrsa -out "$T/rsa2047.key" 2047 2>/dev/null
openssl genrsa -out "$T/rsa2048.key" 2048 2>/dev/null
for curve in prime256v1 secp384r1 secp521r1 secp224r1; do
	openssl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:$curve" \
	    -out "$T/$curve.key" 2>/dev/null
done

enroll_expect rsa2048 SUCCESS --challenge "$(gw_challenge)" --cn rsa2048
enroll_expect prime256v1 SUCCESS --challenge "$(gw_challenge)" --cn p256
enroll_expect secp384r1 SUCCESS --challenge "$(gw_challenge)" --cn p384
gw_assert_eq 3 "$(sim_orders)" "orders for accepted keys"

for k in rsa2047 secp521r1 secp224r1; do
	enroll_expect "$k" FAILURE --challenge "$(gw_challenge)" --cn "$k"
	gw_assert_contains "$T/$k.out" "failinfo=badRequest" "$k"
done
gw_assert_contains "$T/scepgw.log" "RSA key of 2047 bits"
gw_assert_eq 3 "$(sim_orders)" "orders after refused keys"
gw_stop
