#!/usr/bin/env bash
# A certificate revoked outside the gateway (at GlobalSign, as in its
# portal: here a Revoke straight to epki-sim) renews nothing once the
# issuing CA's CRL lists it (README "Renewal"): the RenewalReq gets
# FAILURE badMessageCheck and nothing is ordered, while a certificate the
# CRL does not list still renews.
. "$GW_SRC/tests/integration/lib.sh"
gw_up

c=$(gw_challenge --cn gone)
enroll_expect gone SUCCESS --challenge "$c"
c=$(gw_challenge --cn kept)
enroll_expect kept SUCCESS --challenge "$c"
order=$(sim_order_of "$T/gone.pem") || gw_fail "no epki-sim order holds gone.pem"
sim_revoke "$order" "$T/revoke.xml" || gw_fail "Revoke of order $order failed"
gw_assert_contains "$T/revoke.xml" "<SuccessCode>0</SuccessCode>" "Revoke"

# The CRL is fetched at start-up: restarted, the gateway holds one listing
# the revoked certificate. Its own database knows nothing of it.
gw_stop
gw_start
gw_wait_log "$T/scepgw.log" 'CRL: fetched from .*, 1 revoked' "$GW_PID" 10 \
    >/dev/null || gw_fail "the gateway did not fetch the CRL at start-up"
orders=$(sim_orders)
enroll_expect gone2 FAILURE --renew-cert "$T/gone.pem" --renew-key "$T/gone.key"
gw_assert_contains "$T/gone2.out" "failinfo=badMessageCheck"
gw_assert_contains "$T/scepgw.log" \
    "RenewalReq refused: signer serial=.*: the issuing CA's CRL lists it as revoked"
gw_assert_eq "$orders" "$(sim_orders)" "orders after the refused renewal"

enroll_expect kept2 SUCCESS --renew-cert "$T/kept.pem" --renew-key "$T/kept.key"
assert_issued kept2
gw_assert_eq $((orders + 1)) "$(sim_orders)" "orders after the good renewal"
gw_stop
