#!/usr/bin/env bash
# GlobalSign's service is documented under two paths (README, "Set up an
# instance"): epki-sim serves both, so `scepgw check` passes with either.
# A URL whose path answers HTTP 404 is a FAIL (exit 1) whose hint names
# the other path (or both, when the URL ends in neither), not the generic
# "no usable answer" advice (server/cli/init.c check_epki_transport).
. "$GW_SRC/tests/integration/lib.sh"
gw_need openssl curl
gw_tmpdir
gw_start_sim
gw_init

BASE=http://127.0.0.1:$SIM_PORT
check() {
	local rc=0
	"$GW_BUILD/scepgw" check -c "$GW_CONF" >"$T/check.out" 2>&1 || rc=$?
	echo "$rc"
}
status() {
	curl -s -o /dev/null -m 10 -w '%{http_code}' -X "$1" \
	    -H 'Content-Type: text/xml' --data-binary x "$BASE$2"
}

gw_assert_eq 0 "$(check)" "check with /cr/ws/GasOrderService"
gw_assert_contains "$T/check.out" "^OK +EPKI connection: $BASE/cr/ws/GasOrderService answered"

gw_conf_set epki url "$BASE/services/cr/ws/GasOrderService"
gw_assert_eq 0 "$(check)" "check with /services/cr/ws/GasOrderService"
gw_assert_contains "$T/check.out" "^OK +EPKI connection: $BASE/services/cr/ws/GasOrderService answered"
gw_assert_contains "$T/check.out" "^OK +EPKI profile: $GW_SIM_PROFILE is validated"
gw_assert_not_contains "$T/check.out" "^FAIL"

# Other paths answer 404 as before.
gw_assert_eq 404 "$(status POST /services/cr/ws/Nope)" "POST /services/cr/ws/Nope"
gw_assert_eq 404 "$(status POST /api/services/cr/ws/GasOrderService)" "POST under /api"
gw_assert_eq 404 "$(status GET /services/cr/ws/GasOrderService)" "GET /services/..."

gw_conf_set epki url "$BASE/cr/ws/Nope"
gw_assert_eq 1 "$(check)" "check with /cr/ws/Nope"
gw_assert_contains "$T/check.out" \
    "^FAIL +EPKI connection: $BASE/cr/ws/Nope answered HTTP 404 .*the service's path is /cr/ws/GasOrderService or /services/cr/ws/GasOrderService"
gw_assert_contains "$T/check.out" "^SKIP +EPKI credentials"

# A path the sim does not serve, ending in one documented path: the hint
# is the URL with the other one.
gw_conf_set epki url "$BASE/api/cr/ws/GasOrderService"
gw_assert_eq 1 "$(check)" "check with /api/cr/ws/GasOrderService"
gw_assert_contains "$T/check.out" \
    "^FAIL +EPKI connection: $BASE/api/cr/ws/GasOrderService answered HTTP 404 .*try $BASE/api/services/cr/ws/GasOrderService\$"

gw_conf_set epki url "$BASE/api/services/cr/ws/GasOrderService"
gw_assert_eq 1 "$(check)" "check with /api/services/cr/ws/GasOrderService"
gw_assert_contains "$T/check.out" \
    "^FAIL +EPKI connection: $BASE/api/services/cr/ws/GasOrderService answered HTTP 404 .*try $BASE/api/cr/ws/GasOrderService\$"
