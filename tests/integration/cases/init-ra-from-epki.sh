#!/usr/bin/env bash
# `scepgw init` orders the RA certificate from EPKI: it has keyUsage
# digitalSignature + keyEncipherment, chains to the CA chain, and its key
# file is private. --self-signed-ra makes a lab RA, with a warning.
. "$GW_SRC/tests/integration/lib.sh"
gw_need openssl
gw_tmpdir
gw_start_sim
gw_init

gw_assert_eq 600 "$(stat -c %a "$GW_DIR/ra.key")" "RA key mode"
gw_assert_eq 600 "$(stat -c %a "$GW_DIR/epki.password")" "password file mode"
gw_assert_cert_key "$GW_DIR/ra.pem" "$GW_DIR/ra.key"
gw_assert_cert_chains "$GW_DIR/ra.pem" "$SIM_DIR/ca-chain.pem"
openssl x509 -in "$GW_DIR/ra.pem" -noout -ext keyUsage >"$T/ku"
gw_assert_contains "$T/ku" "Digital Signature"
gw_assert_contains "$T/ku" "Key Encipherment"
gw_assert_eq 1 "$(sim_orders)" "the RA order"

rc=0
"$GW_BUILD/scepgw" init --dir "$GW_DIR" --epki-url "$SIM_URL" \
    --epki-user "$GW_SIM_USER" --epki-password-file "$T/epki.password" \
    --profile-id "$GW_SIM_PROFILE" --ca-chain "$SIM_DIR/ca-chain.pem" \
    >"$T/again.out" 2>&1 || rc=$?
gw_assert_eq 1 "$rc" "init over an existing instance"
gw_assert_contains "$T/again.out" "already an instance"

"$GW_BUILD/scepgw" init --dir "$T/lab" --epki-url "$SIM_URL" \
    --epki-user "$GW_SIM_USER" --epki-password-file "$T/epki.password" \
    --profile-id "$GW_SIM_PROFILE" --ca-chain "$SIM_DIR/ca-chain.pem" \
    --self-signed-ra >"$T/lab.out" 2>&1 || { cat "$T/lab.out" >&2; gw_fail "self-signed init"; }
gw_assert_contains "$T/lab.out" "self-signed"
openssl x509 -in "$T/lab/ra.pem" -noout -ext keyUsage >"$T/ku2"
gw_assert_contains "$T/ku2" "Key Encipherment"

rc=0
"$GW_BUILD/scepgw" init --dir "$T/nope" --epki-url "$SIM_URL" \
    --epki-user "$GW_SIM_USER" --epki-password-file "$T/epki.password" \
    --profile-id MP999999999999 --ca-chain "$SIM_DIR/ca-chain.pem" \
    >"$T/nope.out" 2>&1 || rc=$?
gw_assert_eq 1 "$rc" "init with a wrong profile"
gw_assert_contains "$T/nope.out" "ErrorCode -101"
