#!/usr/bin/env bash
# A profile with challenge = intune (README "Microsoft Intune"), against
# intune-sim and epki-sim: a device with Intune's 1.5 KB challenge enrolls,
# Intune validated before the order and was notified of that certificate
# before the device had it; tokens and discovery are fetched once for many
# enrollments (a 401 costs one new token, a moved service one new
# discovery); a replay gets the stored answer without calling Intune or
# GlobalSign; a CSR without a challenge fails without calling Intune; the
# strong-mapping URI SAN is left out of the order there (refused on other
# profiles, as is any other URI); no secret, no challenge in the log.
. "$GW_SRC/tests/integration/intune.bash"
igw_up

# The happy path, with a challenge of about 1,536 characters.
igw_device d1 dev1
igw_enroll d1 SUCCESS
assert_issued d1
gw_assert_eq "validate success" "$(igw_hops tx-d1)" "Intune calls for tx-d1"
igw_order_ok d1

# More enrollments, two at once: no second token, no second discovery.
igw_device d2 dev2
igw_device d3 dev3
igw_enroll d2 SUCCESS &
p2=$!
igw_enroll d3 SUCCESS &
p3=$!
wait "$p2" || gw_fail "d2 did not enroll"
wait "$p3" || gw_fail "d3 did not enroll"
igw_order_ok d2
igw_order_ok d3
isim_admin state >"$T/state.json"
gw_assert_eq 1 "$(jq .tokens.graph "$T/state.json")" "Graph tokens"
gw_assert_eq 1 "$(jq .tokens.intune "$T/state.json")" "Intune tokens"
gw_assert_eq 1 "$(jq '.requests.discovery // 0' "$T/state.json")" "discoveries"

# A UPN SAN, as Intune's {{UserPrincipalName}} puts it: Intune checked
# it, so it is the certificate's (the default upn template on an Intune
# profile is the CSR's).
igw_device u1 dev-u1 '[{"type":"upn","value":"u1@contoso.com"}]' \
    'otherName.1 = 1.3.6.1.4.1.311.20.2.3;UTF8:u1@contoso.com'
igw_enroll u1 SUCCESS
igw_order_ok u1
gw_assert_contains "$T/scepgw.log" 'txid=tx-u1: ordering cn="dev-u1" upn=u1@contoso.com'

# A 401 on validate: one new Intune token, then the call again; the
# service moved: one new discovery.
isim_admin fault '{"hop":"validate","mode":"401","count":1}' >/dev/null
igw_device r1 dev-r1
igw_enroll r1 SUCCESS
igw_order_ok r1
isim_admin config '{"service_path":"/moved/RACerts/StatelessScepRequestValidationService"}' >/dev/null
igw_device r2 dev-r2
igw_enroll r2 SUCCESS
igw_order_ok r2
isim_admin state >"$T/state.json"
gw_assert_eq 2 "$(jq .tokens.intune "$T/state.json")" "Intune tokens after a 401"
gw_assert_eq 2 "$(jq '.requests.discovery // 0' "$T/state.json")" "discoveries after the move"

# A replay of the finished PKCSReq: the stored certificate, nothing new.
cp "$T/d1.pem" "$T/d1.first.pem"
igw_enroll d1 SUCCESS
cmp -s "$T/d1.pem" "$T/d1.first.pem" || gw_fail "the replay got another certificate"
gw_assert_eq "validate success" "$(igw_hops tx-d1)" "Intune calls after the replay"
gw_assert_eq 6 "$(sim_orders)" "orders at epki-sim after the replay"

# No challenge in the CSR: FAILURE, Intune never asked.
GW_URL=$IGW_URL enroll_expect nochal FAILURE --cn dev9 --txid tx-nochal
gw_assert_eq "" "$(igw_hops tx-nochal)" "Intune calls for a CSR without challenge"
gw_assert_contains "$T/scepgw.log" 'txid=tx-nochal: no challenge password in the CSR'

# The strong-mapping URI SAN: validated by Intune as the device sent it,
# left out of the order, logged.
sid='tag:microsoft.com,2022-09-14:sid:S-1-5-21-1004336348-1177238915-682003330-512'
igw_device d4 dev4 "[{\"type\":\"uri\",\"value\":\"$sid\"}]" "URI.1 = $sid"
igw_enroll d4 SUCCESS
igw_order_ok d4
gw_assert_contains "$T/scepgw.log" \
    'txid=tx-d4: the strong-mapping URI subjectAltName .* left out of the order'
! openssl x509 -in "$T/d4.pem" -noout -ext subjectAltName 2>/dev/null |
    grep -q 'URI:' || gw_fail "the certificate carries a URI"
# Any other URI is refused before Intune is asked; the tag too, on a
# profile without Intune.
igw_device d5 dev5 '[{"type":"uri","value":"https://example.org/x"}]' \
    'URI.1 = https://example.org/x'
igw_enroll d5 FAILURE
gw_assert_eq "" "$(igw_hops tx-d5)" "Intune calls for a refused URI"
GW_URL=${IGW_URL%/mdm} enroll_expect d4 FAILURE --csr "$T/d4.csr" --txid tx-d4-default
gw_assert_contains "$T/scepgw.log" \
    'txid=tx-d4-default: CSR refused: it asks for a uniformResourceIdentifier'

# Tokens are renewed before they expire, once per scope however many
# enroll. Tokens lasting 5 s from now on: the next Intune token (after a
# 401) lasts 5 s; once it has run out, two devices at once cost exactly
# one new Intune token, and the Graph token (an hour) none.
isim_admin config '{"token_lifetime":5}' >/dev/null
isim_admin fault '{"hop":"validate","mode":"401","count":1}' >/dev/null
igw_device t1 dev-t1
igw_enroll t1 SUCCESS
igw_order_ok t1
isim_admin state >"$T/state.json"
gw_assert_eq 3 "$(jq .tokens.intune "$T/state.json")" "Intune tokens after the second 401"
sleep 6 # the 5 s token's lifetime, not a timing assertion
igw_device t2 dev-t2
igw_device t3 dev-t3
igw_enroll t2 SUCCESS &
p2=$!
igw_enroll t3 SUCCESS &
p3=$!
wait "$p2" || gw_fail "t2 did not enroll"
wait "$p3" || gw_fail "t3 did not enroll"
igw_order_ok t2
igw_order_ok t3
isim_admin state >"$T/state.json"
gw_assert_eq 4 "$(jq .tokens.intune "$T/state.json")" "Intune tokens after the expiry"
# Renewed before use, not after Intune refused the expired one: the only
# validations answered 401 are the two injected above.
igw_log
gw_assert_eq 2 "$(jq '[.entries[] | select(.hop == "validate" and
    .status == 401)] | length' "$T/isim-log.json")" "validations answered 401"
gw_assert_eq 1 "$(jq .tokens.graph "$T/state.json")" "Graph tokens after the expiry"

igw_ledger 10
igw_no_secrets
gw_stop
