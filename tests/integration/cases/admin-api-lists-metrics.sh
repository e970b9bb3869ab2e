#!/usr/bin/env bash
# Admin HTTP API, reads: enrollments and certificates with filters, the
# Prometheus /metrics page, and a token file readable by others refused
# at start.
. "$GW_SRC/tests/integration/lib.sh"
gw_need jq
gw_tmpdir
gw_start_sim
gw_init
TOKEN=$(openssl rand -hex 24)
printf '%s\n' "$TOKEN" >"$GW_DIR/admin.token"
chmod 644 "$GW_DIR/admin.token"
gw_conf_set admin listen 127.0.0.1:0
gw_conf_set admin token_file admin.token
# A world-readable token file: serve refuses to start. (Port 0: the
# refusal must not depend on 127.0.0.1:8080 being free.)
gw_conf_set server listen 127.0.0.1:0
gw_run "$T/refused.log" 30 "$GW_BUILD/scepgw" serve -c "$GW_CONF" &&
    gw_fail "serve started with a mode 0644 token file"
gw_assert_contains "$T/refused.log" "admin"
chmod 600 "$GW_DIR/admin.token"
SIM_ORDERS0=$(sim_orders)
gw_start
A=$GW_ADMIN_URL
get() {
	curl -sS -m 20 -H "Authorization: Bearer $TOKEN" -o "$T/get.body" -w '%{http_code}' "$A$1"
}

a=$(gw_challenge --cn alice)
b=$(gw_challenge --cn bob)
enroll_expect alice SUCCESS --challenge "$a" --cn x
enroll_expect bob SUCCESS --challenge "$b" --cn y
enroll_expect wrong FAILURE --challenge "00$a" --cn wrong

gw_assert_eq 200 "$(get /api/v1/enrollments)" "enrollments"
gw_assert_eq 2 "$(jq '.enrollments | length' "$T/get.body")" "enrollments (the wrong challenge made none)"
jq -e '.enrollments[] | select(.cn == "alice" and .state == "issued" and .order_id != null and (.txid | length) > 0 and (.created | test("Z$")))' "$T/get.body" >/dev/null ||
    gw_fail "alice's enrollment: $(cat "$T/get.body")"
gw_assert_eq 200 "$(get '/api/v1/enrollments?cn=bob')" "filter cn"
gw_assert_eq '["bob"]' "$(jq -c '[.enrollments[].cn]' "$T/get.body")" "cn filter"
gw_assert_eq 200 "$(get '/api/v1/enrollments?state=failed')" "filter state"
gw_assert_eq 0 "$(jq '.enrollments | length' "$T/get.body")" "no failed enrollments"
gw_assert_eq 400 "$(get '/api/v1/enrollments?state=done')" "bad state"
gw_assert_eq 400 "$(get '/api/v1/enrollments?limit=0')" "bad limit"
gw_assert_eq 200 "$(get '/api/v1/enrollments?limit=1')" "limit"
gw_assert_eq 1 "$(jq '.enrollments | length' "$T/get.body")" "limit=1"

serial=$(openssl x509 -in "$T/alice.pem" -noout -serial | cut -d= -f2)
gw_assert_eq 200 "$(get /api/v1/certificates)" "certificates"
gw_assert_eq 2 "$(jq '.certificates | length' "$T/get.body")" "certificates"
lower=$(printf '%s' "$serial" | tr 'A-F' 'a-f')
gw_assert_eq 200 "$(get "/api/v1/certificates?serial=$lower")" "filter serial"
gw_assert_eq "$serial" "$(jq -r '.certificates[0].serial' "$T/get.body")" "serial filter (case-blind)"
jq -e '.certificates[0] | (.revoked == false) and (.not_after | test("Z$")) and (.subject | test("alice"))' "$T/get.body" >/dev/null ||
    gw_fail "certificate row: $(cat "$T/get.body")"
gw_assert_eq 200 "$(get '/api/v1/certificates?cn=bob')" "filter cn"
gw_assert_eq 1 "$(jq '.certificates | length' "$T/get.body")" "cn filter"
gw_assert_eq 400 "$(get '/api/v1/certificates?serial=xyz')" "bad serial"
gw_assert_eq serial "$(jq -r .field "$T/get.body")" "serial field"

gw_challenge >/dev/null
gw_assert_eq 200 "$(get /metrics)" "metrics"
grep -qx 'scepgw_enrollments{state="issued"} 2' "$T/get.body" || gw_fail "metrics: $(cat "$T/get.body")"
grep -qx 'scepgw_enrollments{state="failed"} 0' "$T/get.body" || gw_fail "metrics failed"
grep -qx 'scepgw_challenges_outstanding 1' "$T/get.body" || gw_fail "metrics outstanding"
grep -q '^# TYPE scepgw_enrollments gauge$' "$T/get.body" || gw_fail "metrics TYPE"
# Two enrollments: each starts and is recorded issued, so at least four
# writes, in at most as many commits.
w=$(sed -n 's/^scepgw_db_writes_total //p' "$T/get.body")
b=$(sed -n 's/^scepgw_db_commits_total //p' "$T/get.body")
[ -n "$w" ] && [ -n "$b" ] && [ "$w" -ge 4 ] && [ "$b" -ge 1 ] && [ "$b" -le "$w" ] ||
    gw_fail "metrics db commits/writes: $(grep scepgw_db "$T/get.body")"
# Two orders, one after the other: the second reused the first's
# connection to epki-sim.
c=$(sed -n 's/^scepgw_epki_calls_total //p' "$T/get.body")
n=$(sed -n 's/^scepgw_epki_connections_total //p' "$T/get.body")
[ -n "$c" ] && [ -n "$n" ] && [ "$c" -ge 2 ] && [ "$n" -ge 1 ] && [ "$n" -lt "$c" ] ||
    gw_fail "metrics epki calls/connections: $(grep scepgw_epki "$T/get.body")"
gw_assert_eq 401 "$(curl -sS -o /dev/null -w '%{http_code}' "$A/metrics")" "metrics without token"
gw_assert_not_contains "$T/scepgw.log" "$TOKEN"
gw_stop
