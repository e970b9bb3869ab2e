#!/usr/bin/env bash
# GlobalSign's one licence error (README "Licences"): epki-sim answers
# no_licence_code for an expired pack, a used-up pack, a ProductCode no
# pack covers and a Year no pack sells. Each enrollment gets FAILURE
# badRequest; the log, the admin API's enrollment, `scepgw check` and
# scepgw_epki_licence_errors_total all carry the one operator message;
# nothing is spent at epki-sim nor counted by the gateway. The message is
# keyed on [epki] licence_error_code: another code is not taken for it
# until the config says so.
. "$GW_SRC/tests/integration/lib.sh"
gw_need openssl curl jq
gw_tmpdir
gw_start_sim
gw_init
gw_admin_enable
gw_conf_set epki licences 100
gw_conf_set "profile wrongproduct" product_code EPKIPSPro
gw_conf_set "profile wrongyears" years 2
SIM_ORDERS0=$(sim_orders)
gw_start
base=${GW_URL%/scep}

sim_config() {
	[ "$(curl -fsS -m 10 -d "$1" "http://127.0.0.1:$SIM_PORT/sim/config")" = ok ] ||
	    gw_fail "sim config $1"
}
metric() {
	curl -fsS -m 10 -H "Authorization: Bearer $TOKEN" "$GW_ADMIN_URL/metrics" |
	    awk -v k="$1" '$1 == k { print $2 }'
}
msg='GlobalSign licence error \(ErrorCode -6101, \[epki\] licence_error_code\): no licence for this order: the licence pack has expired or is used up, or the ProductCode and/or the certificate validity \(Year\) do not match the licence pack; in GCC > Enterprise PKI check the licence packs'
spent0=$(sim_state licences_spent)

# refused NAME URL: one enrollment GlobalSign refuses with its licence error.
refused() {
	GW_URL=$2 enroll_expect "$1" FAILURE --challenge "$(gw_challenge)" --cn "$1"
	gw_assert_contains "$T/$1.out" "failinfo=badRequest" "$1 failInfo"
	gw_assert_contains "$T/scepgw.log" "txid=[0-9a-f]+: GlobalSign quota: ErrorCode -6101: No licence available" "$1 GlobalSign's line"
}

sim_config licence_expiry=2001-01-01
refused expired "$GW_URL"
sim_config licence_expiry=2099-12-31
sim_config licences=0
refused exhausted "$GW_URL"
sim_config licences=10000
refused product "$base/scep/wrongproduct"
refused years "$base/scep/wrongyears"

gw_assert_eq 4 "$(grep -c -E -- "$msg" "$T/scepgw.log")" "the one message, once per enrollment"
gw_assert_eq 4 "$(metric scepgw_epki_licence_errors_total)" "licence errors metric"
gw_assert_eq 100 "$(metric 'scepgw_licences_remaining{pool="epki"}')" "nothing counted"
gw_assert_eq "$spent0" "$(sim_state licences_spent)" "nothing spent at epki-sim"
gw_assert_eq 0 "$(sim_orders)" "no order at epki-sim"

curl -fsS -m 10 -H "Authorization: Bearer $TOKEN" \
    "$GW_ADMIN_URL/api/v1/enrollments?state=failed" >"$T/failed.json"
gw_assert_eq 4 "$(jq '[.enrollments[] | select(.epki_error_code == -6101 and (.epki_error | test("^No licence available")) and (.advice | test("^no licence for this order: the licence pack has expired or is used up, or the ProductCode and/or the certificate validity \\(Year\\) do not match")) and .fail_text == "the CA has no licence for this request")] | length' "$T/failed.json")" \
    "admin API enrollments: $(cat "$T/failed.json")"
# One enrollment's detail (GET /api/v1/enrollments/TXID, TXID
# percent-encoded): the same fields; an unknown one is a 404.
txid=$(jq -r '.enrollments[0].txid' "$T/failed.json")
curl -fsS -m 10 -H "Authorization: Bearer $TOKEN" \
    "$GW_ADMIN_URL/api/v1/enrollments/$(jq -rn --arg t "$txid" '$t|@uri')" >"$T/one.json"
gw_assert_eq "$txid" "$(jq -r '.enrollment.txid' "$T/one.json")" "enrollment detail: $(cat "$T/one.json")"
gw_assert_eq -6101 "$(jq '.enrollment.epki_error_code' "$T/one.json")" "enrollment detail: code"
jq -e '.enrollment.advice | test("^no licence for this order: the licence pack has expired")' "$T/one.json" >/dev/null ||
    gw_fail "enrollment detail: advice: $(cat "$T/one.json")"
gw_assert_eq 404 "$(curl -sS -m 10 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    "$GW_ADMIN_URL/api/v1/enrollments/no-such-txid")" "unknown enrollment"
gw_assert_eq 401 "$(curl -sS -m 10 -o /dev/null -w '%{http_code}' \
    "$GW_ADMIN_URL/api/v1/enrollments/$txid")" "enrollment detail without the token"

"$GW_BUILD/scepgw" check -c "$GW_CONF" >"$T/check.out" 2>&1 || true
gw_assert_contains "$T/check.out" "^WARN +EPKI licence error: GlobalSign last refused an order with ErrorCode -6101 on [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]+ UTC \(\"No licence available.*\"\): no licence for this order: the licence pack has expired or is used up"
gw_assert_contains "$T/check.out" "^OK +licence pool epki: 100 licences configured, 0 used"

# Another code is GlobalSign's generic refusal until licence_error_code names it.
sim_config no_licence_code=-7777
sim_config licences=0
GW_URL=$GW_URL enroll_expect other FAILURE --challenge "$(gw_challenge)" --cn other
gw_assert_eq 4 "$(metric scepgw_epki_licence_errors_total)" "-7777 is not the licence error"
gw_stop
gw_conf_set epki licence_error_code -7777
gw_start
enroll_expect keyed FAILURE --challenge "$(gw_challenge)" --cn keyed
gw_assert_contains "$T/scepgw.log" 'GlobalSign licence error \(ErrorCode -7777, \[epki\] licence_error_code\): no licence for this order'
gw_assert_eq 1 "$(metric scepgw_epki_licence_errors_total)" "-7777 once configured"
gw_assert_eq 0 "$(sim_orders)" "still no order at epki-sim"
