#!/usr/bin/env bash
# Interop: strongSwan's `pki` 5.9 (Debian packages strongswan-pki and
# libstrongswan-extra-plugins, whose curl plugin fetches over HTTP)
# discovers the RA and CA certificates with `pki --scepca`, enrolls with
# a fresh one-time challenge with `--cipher aes` and with `--cipher des3`,
# and renews a certificate with `--cert/--key` (a RenewalReq signed by the
# old certificate, no challenge). Every certificate carries the request's
# key and verifies against epki-sim's root. A wrong challenge is refused.
#
# pki 5.9.x reads GetCACaps one capability bit off: it takes AES as
# supported only when SHA-384 is listed, and otherwise stops before
# sending anything ("AES_CBC encryption algorithm not supported by CA").
# pki derives the transactionID from the key, so every enrollment here
# uses a fresh key (the same key would be answered from stored state).
. "${GW_HARNESS:-$(dirname "$0")/../../lib/harness.sh}"

gw_need pki openssl curl
gw_tmpdir
pki --scepca --help 2>&1 | grep -q -- '--url' ||
    gw_skip "pki has no --scepca (strongSwan older than 5.9)"
# pki fetches over HTTP only through a fetcher plugin (curl or soup).
fetcher=
for f in /usr/lib/ipsec/plugins/libstrongswan-{curl,soup}.so \
    /usr/lib/*/ipsec/plugins/libstrongswan-{curl,soup}.so; do
	[ -e "$f" ] && fetcher=$f
done
[ -n "$fetcher" ] ||
    gw_skip "no strongSwan HTTP fetcher plugin (install libstrongswan-extra-plugins)"
gw_start_sim
gw_init
gw_start

gw_assert_caps "$GW_URL" POSTPKIOperation AES DES3 SHA-256

# pki --scepca writes the root to ca.pem, the issuing CA to ca-1.pem and
# the RA certificate to ra.pem.
mkdir -p "$T/ca"
(cd "$T/ca" && gw_run "$T/pki-scepca.log" 60 pki --scepca --url "$GW_URL" \
    --caout ca --raout ra --outform pem) ||
    gw_fail "pki --scepca failed (see pki-scepca.log)"
gw_assert_file "$T/ca/ra.pem"
gw_assert_file "$T/ca/ca-1.pem"
gw_assert_file "$T/ca/ca.pem"
gw_assert_eq "$(openssl x509 -in "$GW_DIR/ra.pem" -noout -fingerprint)" \
    "$(openssl x509 -in "$T/ca/ra.pem" -noout -fingerprint)" \
    "pki --scepca's RA certificate"

# pki_scep NAME ARGS...: a fresh key in $T/NAME.key, the certificate in
# $T/NAME.pem, pki's output in $T/pki-NAME.log; returns pki's status.
pki_scep() {
	local name=$1 rc=0
	shift
	pki --gen --type rsa --size 2048 --outform pem >"$T/$name.key" ||
	    gw_fail "pki --gen failed"
	gw_run "$T/pki-$name.log" 120 sh -c '
	    out=$1; shift
	    exec pki --scep "$@" >"$out"' sh "$T/$name.pem" \
	    --url "$GW_URL" --in "$T/$name.key" \
	    --cacert-enc "$T/ca/ra.pem" --cacert-sig "$T/ca/ra.pem" \
	    --cacert "$T/ca/ca-1.pem" --cacert "$T/ca/ca.pem" \
	    --outform pem "$@" || rc=$?
	gw_log "pki --scep ($name) exited $rc"
	return "$rc"
}

# A fresh challenge enrolls, with AES and with triple DES.
for cipher in aes des3; do
	challenge=$(gw_challenge)
	pki_scep "$cipher" --dn "CN=interop-pki-$cipher" \
	    --password "$challenge" --cipher "$cipher" ||
	    gw_fail "pki --scep --cipher $cipher did not enroll (see pki-$cipher.log)"
	gw_assert_not_contains "$T/pki-$cipher.log" 'not supported by CA' \
	    "pki --cipher $cipher"
	gw_assert_cert_key "$T/$cipher.pem" "$T/$cipher.key"
	gw_assert_cert_chains "$T/$cipher.pem" "$SIM_DIR/ca-chain.pem"
	gw_assert_contains <(openssl x509 -in "$T/$cipher.pem" -noout -subject) \
	    "CN ?= ?interop-pki-$cipher" "subject of the $cipher certificate"
done

# Renewal: signed by the AES certificate and its key, no challenge.
pki_scep renewed --dn "CN=interop-pki-aes" \
    --cert "$T/aes.pem" --key "$T/aes.key" ||
    gw_fail "pki --scep --cert/--key did not renew (see pki-renewed.log)"
gw_assert_cert_key "$T/renewed.pem" "$T/renewed.key"
gw_assert_cert_chains "$T/renewed.pem" "$SIM_DIR/ca-chain.pem"
gw_assert_contains "$T/scepgw.log" 'renewal of serial=[0-9A-F]+ authenticated'

# A wrong challenge is refused; pki writes no certificate.
rc=0
pki_scep wrong --dn "CN=interop-pki-wrong" --password "wrong-$challenge" || rc=$?
[ "$rc" -ne 0 ] || gw_fail "pki enrolled with a wrong challenge"
[ ! -s "$T/wrong.pem" ] || gw_fail "pki wrote a certificate with a wrong challenge"
gw_assert_contains "$T/pki-wrong.log" 'failInfo|failed|FAILURE|badRequest' \
    "pki with a wrong challenge"

gw_stop
