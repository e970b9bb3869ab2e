#!/usr/bin/env bash
# Renewal (RFC 8894 2.4): a RenewalReq signed by a certificate this CA
# issued needs no challenge and carries the old certificate's identity; so
# does an Apple-style PKCSReq signed by it. A renewal signed by a foreign
# (self-signed) certificate gets FAILURE badMessageCheck, and GetCACaps
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
gw_assert_eq 3 "$(sim_orders)" "orders at epki-sim"
gw_stop
