#!/usr/bin/env bash
# RA key rollover (RFC 8894 4.7): with [ra] next_cert/next_key set,
# GetCACaps advertises GetNextCACert, which returns the next RA
# certificate signed by the current RA key; requests encrypted to the
# next key decrypt. After the switch ([ra] cert = the new one,
# previous_cert = the old one) clients still encrypting to the old RA
# enroll too, and GetNextCACert is gone.
. "$GW_SRC/tests/integration/lib.sh"
gw_up

# A second RA certificate, ordered from EPKI like the first.
"$GW_BUILD/scepgw" init --dir "$T/next" --epki-url "$SIM_URL" \
    --epki-user "$GW_SIM_USER" --epki-password-file "$T/epki.password" \
    --profile-id "$GW_SIM_PROFILE" --ca-chain "$SIM_DIR/ca-chain.pem" \
    >"$T/init-next.log" 2>&1 || gw_fail "init of the next RA"
install -m 600 "$T/next/ra.key" "$GW_DIR/ra-next.key"
cp "$T/next/ra.pem" "$GW_DIR/ra-next.pem"
cp "$GW_DIR/ra.pem" "$T/old-ra.pem"
SIM_ORDERS0=$(sim_order_ids | wc -l)

gw_stop
gw_conf_set ra next_cert ra-next.pem
gw_conf_set ra next_key ra-next.key
gw_start
gw_assert_caps "$GW_URL" GetNextCACert Renewal
curl -fsS -D "$T/nh" -o "$T/next.p7" "$GW_URL?operation=GetNextCACert" ||
    gw_fail "GetNextCACert failed"
gw_assert_contains "$T/nh" $'^[Cc]ontent-[Tt]ype: application/x-x509-next-ca-cert\r$'
openssl cms -verify -inform DER -in "$T/next.p7" -CAfile "$T/old-ra.pem" \
    -partial_chain -purpose any -out "$T/inner.der" 2>"$T/verify.err" ||
    { cat "$T/verify.err" >&2; gw_fail "GetNextCACert is not signed by the current RA"; }
openssl pkcs7 -inform DER -in "$T/inner.der" -print_certs -out "$T/inner.pem"
openssl x509 -in "$T/inner.pem" -out "$T/first.pem"
gw_assert_eq "$(openssl x509 -in "$GW_DIR/ra-next.pem" -noout -fingerprint)" \
    "$(openssl x509 -in "$T/first.pem" -noout -fingerprint)" "next RA in GetNextCACert"

c=$(gw_challenge)
enroll_expect to-next SUCCESS --challenge "$c" --cn to-next \
    --encrypt-to "$GW_DIR/ra-next.pem"
assert_issued to-next

# The switch.
gw_stop
gw_conf_set ra cert ra-next.pem
gw_conf_set ra key ra-next.key
gw_conf_set ra next_cert ""
gw_conf_set ra next_key ""
gw_conf_set ra previous_cert ra.pem
gw_conf_set ra previous_key ra.key
gw_start
c=$(gw_challenge)
enroll_expect to-old SUCCESS --challenge "$c" --cn to-old \
    --encrypt-to "$T/old-ra.pem"
assert_issued to-old
c=$(gw_challenge)
enroll_expect to-new SUCCESS --challenge "$c" --cn to-new
caps=$(curl -fsS "$GW_URL?operation=GetCACaps")
! grep -q GetNextCACert <<<"$caps" || gw_fail "GetNextCACert still advertised"
gw_assert_eq 404 "$(curl -sS -o /dev/null -w '%{http_code}' "$GW_URL?operation=GetNextCACert")" \
    "GetNextCACert without a next RA"
gw_assert_eq 3 "$(sim_orders)" "orders at epki-sim"
gw_stop
