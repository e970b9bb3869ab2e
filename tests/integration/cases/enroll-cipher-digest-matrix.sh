#!/usr/bin/env bash
# A device enrolls with each cipher (AES-128/192/256, 3DES) and digest
# (SHA-1 to SHA-512) the gateway accepts, over POST and GET, PKCS#1 v1.5 and
# OAEP key transport: each gets SUCCESS with a certificate for its own key
# that chains to the CA, the CertRep mirrors the request's cipher and
# digest, and epki-sim counts one order each.
. "$GW_SRC/tests/integration/lib.sh"
gw_up

i=0
while read -r cipher digest extra; do
	i=$((i + 1))
	c=$(gw_challenge --cn "device-$i")
	# shellcheck disable=SC2086
	enroll_expect "dev$i" SUCCESS --challenge "$c" --cn "device-$i" \
	    --cipher "$cipher" --digest "$digest" $extra
	assert_issued "dev$i"
	gw_assert_contains "$T/dev$i.out" "cipher=$cipher" "dev$i reply cipher"
	gw_assert_contains "$T/dev$i.out" "digest=$digest" "dev$i reply digest"
	subj=$(openssl x509 -in "$T/dev$i.pem" -noout -subject -nameopt RFC2253)
	case $subj in
	*CN=device-$i*) ;;
	*) gw_fail "dev$i: subject '$subj' lacks CN=device-$i" ;;
	esac
done <<'MATRIX'
aes128 sha256
aes256 sha512
des3 sha1
aes192 sha256
aes128 sha256 --get
aes256 sha1 --get
des3 sha512 --oaep
aes128 sha256 --content-type application/octet-stream
aes128 sha224
aes256 sha384
aes128 sha256 --ec
des3 sha256 --ec --oaep
MATRIX
gw_assert_eq "$i" "$(sim_orders)" "orders at epki-sim"
gw_stop
