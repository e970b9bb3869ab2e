#!/usr/bin/env bash
# `scepgw check` ends with a live GetProfiles call: OK against epki-sim;
# FAIL with the admin's fix for a wrong password (-4001), a profile that
# is pending vetting or suspended, an unknown profile ID, and an EPKI URL
# that does not answer (named, with curl's message). It always says that
# licences are checked only by an order. Exit 1 on any FAIL.
. "$GW_SRC/tests/integration/lib.sh"
gw_need openssl curl
gw_tmpdir
gw_start_sim
gw_init

check() {
	local rc=0
	"$GW_BUILD/scepgw" check -c "$GW_CONF" >"$T/check.out" 2>&1 || rc=$?
	echo "$rc"
}
sim_config() {
	[ "$(curl -fsS -m 10 -d "$1" "http://127.0.0.1:$SIM_PORT/sim/config")" = ok ] ||
	    gw_fail "sim config $1"
}

gw_assert_eq 0 "$(check)" "check against epki-sim"
gw_assert_contains "$T/check.out" "^OK +EPKI connection: $SIM_URL answered"
gw_assert_contains "$T/check.out" "^OK +EPKI credentials: API user $GW_SIM_USER"
gw_assert_contains "$T/check.out" "^OK +EPKI API IP allow-list"
gw_assert_contains "$T/check.out" "^OK +EPKI profile: $GW_SIM_PROFILE is validated"
gw_assert_contains "$T/check.out" "^INFO +EPKI licences: .*only an order checks them"
gw_assert_contains "$T/check.out" "ErrorCode -6101 \\(\\[epki\\] licence_error_code\\) when there is no licence for this order: the licence pack has expired or is used up"
gw_assert_contains "$T/check.out" "the ProductCode and/or the certificate validity \\(Year\\) do not match the licence pack"
gw_assert_not_contains "$T/check.out" "^FAIL"

cp "$GW_DIR/epki.password" "$T/good.password"
(umask 077 && echo wrong-password >"$GW_DIR/epki.password")
gw_assert_eq 1 "$(check)" "check with a wrong password"
gw_assert_contains "$T/check.out" "^FAIL +EPKI credentials: .*-4001.*wrong API user or password.*\[epki\] username.*password_file"
gw_assert_not_contains "$T/check.out" "wrong-password"
cp "$T/good.password" "$GW_DIR/epki.password"

sim_config profile_state=pending
gw_assert_eq 1 "$(check)" "check with the profile pending vetting"
gw_assert_contains "$T/check.out" "^FAIL +EPKI profile: $GW_SIM_PROFILE is pending-vetting.*vetting.*Validated"
sim_config profile_state=suspended
gw_assert_eq 1 "$(check)" "check with the profile suspended"
gw_assert_contains "$T/check.out" "^FAIL +EPKI profile: $GW_SIM_PROFILE is suspended.*reinstate"
sim_config profile_state=validated

gw_conf_set epki profile_id MP999999999999
gw_assert_eq 1 "$(check)" "check with an unknown profile"
gw_assert_contains "$T/check.out" "^FAIL +EPKI profile: MP999999999999 is not a profile of this account"
gw_conf_set epki profile_id "$GW_SIM_PROFILE"
gw_assert_eq 0 "$(check)" "check with everything fixed"

kill -TERM "$SIM_PID"
wait "$SIM_PID" 2>/dev/null || true
gw_assert_eq 1 "$(check)" "check with epki-sim stopped"
gw_assert_contains "$T/check.out" "^FAIL +EPKI connection: no usable answer from $SIM_URL: .*(connect|Connect)"
gw_assert_contains "$T/check.out" "^SKIP +EPKI credentials"
