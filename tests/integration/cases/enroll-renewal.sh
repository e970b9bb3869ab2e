#!/usr/bin/env bash
# Renewal (RFC 8894 2.4): a RenewalReq signed by a certificate this gateway
# issued needs no challenge and carries the old certificate's identity; so
# does an Apple-style PKCSReq signed by it. A renewal signed by a foreign
# (self-signed) certificate, or by a forgery in the name of our CA, gets
# FAILURE badMessageCheck, and GetCACaps
# advertises Renewal.
. "$GW_SRC/tests/integration/lib.sh"
gw_up

gw_assert_caps "$GW_URL" Renewal
c=$(gw_challenge --cn alice --email alice@example.com)
enroll_expect old SUCCESS --challenge "$c" --cn whatever
assert_issued old

enroll_expect renewed SUCCESS --cn mallory --renew-cert "$T/old.pem" \
    --renew-key "$T/old.key"
assert_issued renewed
subj=$(openssl x509 -in "$T/renewed.pem" -noout -subject -nameopt RFC2253)
case $subj in
*CN=alice*) ;;
*) gw_fail "renewed subject '$subj' does not carry CN=alice" ;;
esac
openssl x509 -in "$T/renewed.pem" -noout -ext subjectAltName >"$T/san" 2>&1 || true
gw_assert_contains "$T/san" "alice@example.com" "renewed email"
gw_assert_contains "$T/scepgw.log" "renewal of serial=.* authenticated"

enroll_expect apple SUCCESS --renew-cert "$T/renewed.pem" \
    --renew-key "$T/renewed.key" --pkcsreq
assert_issued apple

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/self.key" \
    -out "$T/self.pem" -subj /CN=alice -days 30 2>/dev/null
enroll_expect foreign FAILURE --renew-cert "$T/self.pem" \
    --renew-key "$T/self.key"
gw_assert_contains "$T/foreign.out" "failinfo=badMessageCheck"

# A forgery: issued in the name of the CA that issued old.pem, by another
# key. Its issuer name passes the gateway's first check; the signature
# check of the chain must still refuse it.
issuer=$(openssl x509 -in "$T/old.pem" -noout -issuer -nameopt compat)
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/fake-ca.key" \
    -out "$T/fake-ca.pem" -subj "${issuer#issuer=}" -days 30 2>/dev/null
openssl req -new -newkey rsa:2048 -nodes -keyout "$T/forged.key" \
    -out "$T/forged.csr" -subj /CN=alice 2>/dev/null
openssl x509 -req -in "$T/forged.csr" -CA "$T/fake-ca.pem" \
    -CAkey "$T/fake-ca.key" -set_serial 4242 -days 30 \
    -out "$T/forged.pem" 2>/dev/null
gw_assert_eq "$(openssl x509 -in "$T/old.pem" -noout -issuer)" \
    "$(openssl x509 -in "$T/forged.pem" -noout -issuer)" "forged issuer"
enroll_expect forged FAILURE --renew-cert "$T/forged.pem" \
    --renew-key "$T/forged.key"
gw_assert_contains "$T/forged.out" "failinfo=badMessageCheck"
gw_assert_contains "$T/scepgw.log" "RenewalReq refused: signer certificate: certificate signature failure"
gw_assert_eq 3 "$(sim_orders)" "orders at epki-sim"
gw_stop
