#!/usr/bin/env bash
# SCEP has no issuance confirmation, so a device that lost the reply sends
# the same request again (same transactionID, same CSR). It must get the
# same certificate, with no second order and no "challenge used"; the
# same transactionID with another CSR gets FAILURE, never an overwrite.
. "$GW_SRC/tests/integration/lib.sh"
gw_up

c=$(gw_challenge)
enroll_expect once SUCCESS --challenge "$c" --cn retry --txid retry-txid-1
cp "$T/once.key" "$T/again.key"
enroll_expect again SUCCESS --challenge "$c" --cn retry --txid retry-txid-1
gw_assert_eq "$(openssl x509 -in "$T/once.pem" -noout -serial)" \
    "$(openssl x509 -in "$T/again.pem" -noout -serial)" "serial on retry"
gw_assert_eq 1 "$(sim_orders)" "orders after a retry"

enroll_expect other FAILURE --challenge "$c" --cn retry --txid retry-txid-1
gw_assert_contains "$T/other.out" "failinfo=badRequest"
gw_assert_eq 1 "$(sim_orders)" "orders after a replay with another CSR"

# A CertPoll with the transactionID gets the certificate too.
"$GW_BUILD/scepreq" poll --url "$GW_URL" --key "$T/once.key" \
    --txid retry-txid-1 --cn retry --cert-out "$T/poll.pem" >"$T/poll.out" 2>&1 ||
    { cat "$T/poll.out" >&2; gw_fail "CertPoll did not succeed"; }
gw_assert_eq "$(openssl x509 -in "$T/once.pem" -noout -serial)" \
    "$(openssl x509 -in "$T/poll.pem" -noout -serial)" "serial from CertPoll"
"$GW_BUILD/scepreq" poll --url "$GW_URL" --key "$T/once.key" \
    --txid no-such-txid --cn retry >"$T/poll2.out" 2>&1 && gw_fail "poll of unknown txid succeeded"
gw_assert_contains "$T/poll2.out" "failinfo=badCertId"
gw_stop
