#!/usr/bin/env bash
# `scepgw check` prints the EPKI profile's closing date
# (ProfileInfo/ValidityPeriod/NotAfter of GetProfiles): OK 60 days ahead,
# WARN 10 days ahead (30 days is the threshold), FAIL once it has passed,
# when orders fail too. A ProfileOrderState it does not know is a FAIL
# that shows the raw value; GCC's word VALIDATED is understood. A profile
# whose UPN attribute is off gets an INFO line: GlobalSign will issue no
# UPN.
. "$GW_SRC/tests/integration/lib.sh"
gw_need openssl curl
gw_tmpdir
mkdir -p "$T/epki-sim"

# sim_with CONF-LINES: (re)start epki-sim with this sim.conf, point the
# gateway's config at it.
sim_with() {
	if [ -n "${SIM_PID:-}" ]; then
		kill -TERM "$SIM_PID"
		wait "$SIM_PID" 2>/dev/null || true
	fi
	printf '%b' "$1" >"$T/epki-sim/sim.conf"
	gw_start_sim
	[ -n "${GW_CONF:-}" ] && gw_conf_set epki url "$SIM_URL"
	return 0
}
check() {
	local rc=0
	"$GW_BUILD/scepgw" check -c "$GW_CONF" >"$T/check.out" 2>&1 || rc=$?
	echo "$rc"
}
day() { date -u -d "@$(($(date -u +%s) + $1 * 86400))" +%Y-%m-%d; }

in60=$(day 60)
sim_with "profile_not_after = $in60\n"
gw_init
gw_assert_eq 0 "$(check)" "check, profile closing in 60 days"
gw_assert_contains "$T/check.out" "^OK +EPKI profile validity: profile $GW_SIM_PROFILE closes on $in60, in (59|60) days$"
gw_assert_not_contains "$T/check.out" "^WARN"

in10=$(day 10)
sim_with "profile_not_after = $in10\n"
gw_assert_eq 0 "$(check)" "check, profile closing in 10 days"
gw_assert_contains "$T/check.out" "^WARN +EPKI profile validity: profile $GW_SIM_PROFILE closes on $in10, in (9|10) days: orders will be refused"

past=$(day -2)
sim_with "profile_not_after = $past\n"
gw_assert_eq 1 "$(check)" "check, profile closed"
gw_assert_contains "$T/check.out" "^FAIL +EPKI profile validity: profile $GW_SIM_PROFILE closed on $past: orders are refused"
gw_start
enroll_expect closed FAILURE --challenge "$(gw_challenge)"
gw_assert_contains "$T/scepgw.log" "ErrorCode -105 ErrorField ProfileID.*validity period has ended"
gw_stop

gw_assert_not_contains "$T/check.out" "EPKI profile UPN"

sim_with "profile_state_codes = VALIDATED, PENDING, SUSPENDED\nprofile_upn = no\n"
gw_assert_eq 0 "$(check)" "check, ProfileOrderState VALIDATED"
gw_assert_contains "$T/check.out" "^OK +EPKI profile: $GW_SIM_PROFILE is validated \(state VALIDATED;"
gw_assert_contains "$T/check.out" "^INFO +EPKI profile UPN: the profile's UPN attribute is off"

sim_with "profile_state_codes = Active-ish, 2, 9\n"
gw_assert_eq 1 "$(check)" "check, ProfileOrderState unknown"
gw_assert_contains "$T/check.out" "^FAIL +EPKI profile: $GW_SIM_PROFILE is unknown \(state Active-ish;.*does not know"
