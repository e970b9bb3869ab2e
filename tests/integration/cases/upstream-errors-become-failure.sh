#!/usr/bin/env bash
# A GlobalSign business error becomes a SCEP FAILURE, and the log names
# the error code and message (the seed guide's troubleshooting cases): a
# profile that is not the account's, and wrong API credentials.
. "$GW_SRC/tests/integration/lib.sh"
gw_up

gw_stop
gw_conf_set epki profile_id MP999999999999
gw_start
c=$(gw_challenge)
enroll_expect badprofile FAILURE --challenge "$c" --cn badprofile
gw_assert_contains "$T/badprofile.out" "failinfo=badRequest"
gw_assert_contains "$T/scepgw.log" "ErrorCode -101 ErrorField ProfileID"
gw_stop

gw_conf_set epki profile_id "$GW_SIM_PROFILE"
(umask 077 && echo wrong-password >"$GW_DIR/epki.password")
gw_start
c=$(gw_challenge)
enroll_expect badauth FAILURE --challenge "$c" --cn badauth
gw_assert_contains "$T/scepgw.log" "ErrorCode -4001"
gw_assert_not_contains "$T/scepgw.log" "wrong-password"
gw_assert_not_contains "$T/scepgw.log" "$GW_SIM_PASSWORD"
gw_assert_eq 0 "$(sim_orders)" "orders at epki-sim"
gw_stop
