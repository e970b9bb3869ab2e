#!/usr/bin/env bash
# Licence accounting (README "Licences"): [epki] licences = 10 with 7 used
# before, the pack's last day in 10 days. Each order GlobalSign accepts
# counts once; the log warns once on crossing 90 % and once on 100 %, and
# once (a day) about the pack's last day; past the count an order still
# succeeds (GlobalSign decides) and scepgw_licences_remaining goes
# negative. A profile with its own licences counts apart. `scepgw check`
# prints the figures; after a restart the count is the same and the
# 100 % warning comes once more.
. "$GW_SRC/tests/integration/lib.sh"
gw_need openssl curl
gw_tmpdir
gw_start_sim
gw_init
gw_admin_enable
expire=$(date -u -d '+10 days' +%F)
gw_conf_set epki licences 10
gw_conf_set epki licences_used_before 7
gw_conf_set epki licences_expire "$expire"
gw_conf_set "profile kiosk" licences 5
SIM_ORDERS0=$(sim_orders)
gw_start

metric() {
	curl -fsS -m 10 -H "Authorization: Bearer $TOKEN" "$GW_ADMIN_URL/metrics" |
	    awk -v k="$1" '$1 == k { print $2 }'
}
count() {
	grep -c -E -- "$1" "$T/scepgw.log" || true
}
w90='licence pool epki: 9 of 10 licences used \(90 %\), 1 left: order more licence packs'
w100='licence pool epki: 10 of 10 licences used \(100 %\), 0 left: GlobalSign will refuse orders once the pack is empty'
wexp="licence pool epki: the licence pack's last day is $expire, in 10 days"

gw_wait_log "$T/scepgw.log" "$wexp" "$GW_PID" 10 >/dev/null ||
    gw_fail "no expiry warning at start"
gw_assert_eq 3 "$(metric 'scepgw_licences_remaining{pool="epki"}')" "remaining at start"
gw_assert_eq 10 "$(metric 'scepgw_licences_expire_days{pool="epki"}')" "expire days"
gw_assert_eq 5 "$(metric 'scepgw_licences_remaining{pool="profile:kiosk"}')" "kiosk at start"
gw_assert_eq "" "$(metric 'scepgw_licences_expire_days{pool="profile:kiosk"}')" "kiosk has no expiry"

enroll_expect e8 SUCCESS --challenge "$(gw_challenge)" --cn e8
gw_assert_eq 0 "$(count 'licences used \(')" "no warning at 80 %"
enroll_expect e9 SUCCESS --challenge "$(gw_challenge)" --cn e9
gw_assert_eq 1 "$(count "$w90")" "the 90 % warning"
enroll_expect e10 SUCCESS --challenge "$(gw_challenge)" --cn e10
gw_assert_eq 1 "$(count "$w100")" "the 100 % warning"
# Beyond the count: GlobalSign (epki-sim, 10000 licences) still issues.
enroll_expect e11 SUCCESS --challenge "$(gw_challenge)" --cn e11
assert_issued e11
gw_assert_eq 1 "$(count "$w90")" "the 90 % warning once"
gw_assert_eq 2 "$(count 'licences used \(')" "one warning per crossing"
gw_assert_eq -1 "$(metric 'scepgw_licences_remaining{pool="epki"}')" "remaining past the count"
gw_assert_eq 4 "$(sim_orders)" "orders at epki-sim"

# The kiosk profile draws from its own pool, not from [epki]'s.
GW_URL=${GW_URL%/scep}/scep/kiosk enroll_expect k1 SUCCESS \
    --challenge "$(gw_challenge)" --cn k1
gw_assert_eq 4 "$(metric 'scepgw_licences_remaining{pool="profile:kiosk"}')" "kiosk after one"
gw_assert_eq -1 "$(metric 'scepgw_licences_remaining{pool="epki"}')" "epki unchanged by kiosk"
gw_assert_eq 1 "$(count "$wexp")" "the expiry warning once a day"

"$GW_BUILD/scepgw" check -c "$GW_CONF" >"$T/check.out" 2>&1 || true
gw_assert_contains "$T/check.out" "^WARN +licence pool epki: 10 licences configured, 11 used \(7 before this gateway counted, 4 orders GlobalSign accepted since\), -1 remaining; the pack's last day $expire, 10 days left"
gw_assert_contains "$T/check.out" "^WARN +licence pool epki: 11 of 10 licences used \(110 %\), -1 left"
gw_assert_contains "$T/check.out" "^WARN +$wexp"
gw_assert_contains "$T/check.out" "^OK +licence pool profile:kiosk: 5 licences configured, 1 used \(0 before this gateway counted, 1 orders GlobalSign accepted since\), 4 remaining$"
gw_assert_not_contains "$T/check.out" "EPKI licence error"

# A restart: the count is in the database; the 100 % warning once more.
gw_stop
gw_start
gw_wait_log "$T/scepgw.log" 'licence pool epki: 11 of 10 licences used \(110 %\)' \
    "$GW_PID" 10 >/dev/null || gw_fail "no warning after the restart"
gw_assert_eq -1 "$(metric 'scepgw_licences_remaining{pool="epki"}')" "remaining after the restart"
gw_assert_eq 4 "$(metric 'scepgw_licences_remaining{pool="profile:kiosk"}')" "kiosk after the restart"
enroll_expect e12 SUCCESS --challenge "$(gw_challenge)" --cn e12
gw_assert_eq -2 "$(metric 'scepgw_licences_remaining{pool="epki"}')" "remaining after e12"
gw_assert_eq 1 "$(count 'licences used \(')" "one warning after the restart"

# An order whose answer is lost: the reconciler finds it at GlobalSign and
# it counts once, like any other.
curl -fsS -m 10 -d 'fault=drop&op=OrderAndIssueCertificate&count=1' \
    "http://127.0.0.1:$SIM_PORT/sim/fault" >/dev/null || gw_fail "sim fault"
enroll_expect lost PENDING --challenge "$(gw_challenge)" --cn lost --txid lost-txid
for ((i = 0; i < 60; i++)); do
	rc=0
	"$GW_BUILD/scepreq" poll --url "$GW_URL" --key "$T/lost.key" \
	    --txid lost-txid --cn lost --cert-out "$T/lost.pem" >"$T/poll.out" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] && break
	[ "$rc" -eq 3 ] || { cat "$T/poll.out" >&2; gw_fail "poll exited $rc"; }
	sleep 0.5
done
gw_assert_eq 0 "$rc" "CertPoll after the reconciler found the order"
assert_issued lost
gw_assert_eq 7 "$(sim_orders)" "orders at epki-sim"
gw_assert_eq -3 "$(metric 'scepgw_licences_remaining{pool="epki"}')" "the found order counted once"
