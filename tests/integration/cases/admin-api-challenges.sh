#!/usr/bin/env bash
# Admin HTTP API, challenges: 401 without or with a wrong token (nothing
# else revealed), /healthz without a token, 400 naming the bad field,
# POST creates challenges that enroll, GET lists them by state, DELETE
# revokes, and no secret reaches the log.
. "$GW_SRC/tests/integration/lib.sh"
gw_need jq sqlite3
gw_tmpdir
gw_start_sim
gw_init
gw_admin_enable
SIM_ORDERS0=$(sim_orders)
gw_start
A=$GW_ADMIN_URL

# api METHOD PATH [BODY] [TOKEN]: prints the body, then the status line.
api() {
	local m=$1 p=$2 body=${3:-} tok=${4-$TOKEN} args=()
	[ -n "$tok" ] && args+=(-H "Authorization: Bearer $tok")
	[ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	curl -sS -m 20 -X "$m" "${args[@]}" -o "$T/api.body" -w '%{http_code}' "$A$p" >"$T/api.code"
	cat "$T/api.code"
}

gw_assert_eq ok "$(curl -fsS "$A/healthz")" "healthz"
for p in /api/v1/challenges /api/v1/enrollments /metrics /api/v1/nonexistent; do
	gw_assert_eq 401 "$(api GET "$p" "" "")" "GET $p without token"
	gw_assert_eq '{"error":"unauthorized"}' "$(cat "$T/api.body")" "401 body"
	gw_assert_eq 401 "$(api GET "$p" "" "x$TOKEN")" "GET $p wrong token"
	gw_assert_eq '{"error":"unauthorized"}' "$(cat "$T/api.body")" "401 body"
done
gw_assert_eq 401 "$(api POST /api/v1/challenges '{"count":1}' "${TOKEN:0:10}")" "prefix of the token"
gw_assert_eq 404 "$(api GET /api/v1/nonexistent)" "unknown path with token"

# Malformed input: 400, and the field is named.
gw_assert_eq 400 "$(api POST /api/v1/challenges '{"cn": "a",')" "truncated JSON"
jq -e '.error | test("malformed JSON")' "$T/api.body" >/dev/null || gw_fail "truncated JSON: $(cat "$T/api.body")"
check_field() {
	gw_assert_eq 400 "$(api POST /api/v1/challenges "$1")" "POST $1"
	gw_assert_eq "$2" "$(jq -r .field "$T/api.body")" "field named for $1"
	jq -e --arg f "$2" '.error | contains($f)' "$T/api.body" >/dev/null ||
	    gw_fail "error does not name $2: $(cat "$T/api.body")"
}
check_field '{"ttl": "soon"}' ttl
check_field '{"ttl": 5}' ttl
check_field '{"count": 0}' count
check_field '{"count": 100000}' count
check_field '{"cn": 7}' cn
check_field '{"cn": ""}' cn
check_field '{"email": "no-at-sign"}' email
check_field '{"upn": "no-at-sign"}' upn
check_field '{"cn": "a\u0001b"}' cn
check_field "{\"cn\": \"$(printf 'x%.0s' {1..65})\"}" cn
check_field '{"colour": "blue"}' colour
gw_assert_eq 400 "$(api POST /api/v1/challenges '[1,2]')" "array body"
gw_assert_eq 0 "$(sqlite3 "$GW_DIR/scepgw.db" 'SELECT count(*) FROM challenges' 2>/dev/null || echo 0)" "nothing stored by refused requests"

# Create: 201 with the secrets, the only place they appear.
gw_assert_eq 201 "$(api POST /api/v1/challenges '{"cn":"api-device","email":"dev@example.org","ou":"Fleet","upn":"api@corp.example","ttl":600,"count":3}')" "POST challenges"
jq -e '.challenges | length == 3' "$T/api.body" >/dev/null || gw_fail "3 challenges: $(cat "$T/api.body")"
jq -e '.challenges[] | select((.challenge | test("^[0-9A-F]{32}$")) and (.id > 0) and (.expires | test("Z$"))) ' "$T/api.body" >/dev/null ||
    gw_fail "challenge items: $(cat "$T/api.body")"
c1=$(jq -r '.challenges[0].challenge' "$T/api.body")
c2=$(jq -r '.challenges[1].challenge' "$T/api.body")
id2=$(jq -r '.challenges[1].id' "$T/api.body")
c3=$(jq -r '.challenges[2].challenge' "$T/api.body")
gw_assert_eq 201 "$(api POST /api/v1/challenges '{}')" "POST with defaults"
jq -e '.challenges | length == 1' "$T/api.body" >/dev/null || gw_fail "default count 1"

gw_assert_eq 200 "$(api GET '/api/v1/challenges?state=unused')" "list unused"
gw_assert_eq 4 "$(jq '.challenges | length' "$T/api.body")" "unused challenges"
grep -q -E '[0-9A-F]{32}' "$T/api.body" && gw_fail "a listing shows a secret"
jq -e '.challenges[] | select(.cn == "api-device" and .email == "dev@example.org" and .ou == "Fleet" and .upn == "api@corp.example")' "$T/api.body" >/dev/null ||
    gw_fail "binding not listed: $(cat "$T/api.body")"
gw_assert_eq 400 "$(api GET '/api/v1/challenges?state=bogus')" "bad state"
gw_assert_eq state "$(jq -r .field "$T/api.body")" "state field"

# Enroll with one: the binding wins over the CSR's CN.
enroll_expect dev SUCCESS --challenge "$c1" --cn whatever
assert_issued dev
openssl x509 -in "$T/dev.pem" -noout -subject | grep -q 'api-device' || gw_fail "certificate not bound to cn api-device"
openssl x509 -in "$T/dev.pem" -noout -ext subjectAltName | grep -q 'UPN:*api@corp.example' ||
    gw_fail "certificate not bound to upn api@corp.example"
gw_assert_eq 200 "$(api GET '/api/v1/enrollments?state=issued')" "list enrollments"
jq -e '.enrollments[] | select(.cn == "api-device" and .upn == "api@corp.example")' "$T/api.body" >/dev/null ||
    gw_fail "UPN not in the enrollment listing: $(cat "$T/api.body")"

# Revoke one, and it no longer enrolls.
gw_assert_eq 200 "$(api DELETE "/api/v1/challenges/$id2")" "DELETE challenge"
gw_assert_eq revoked "$(jq -r .state "$T/api.body")" "DELETE answer"
gw_assert_eq 404 "$(api DELETE /api/v1/challenges/999999)" "DELETE unknown"
gw_assert_eq 400 "$(api DELETE /api/v1/challenges/abc)" "DELETE non-number"
enroll_expect revoked FAILURE --challenge "$c2" --cn revoked
gw_assert_eq 200 "$(api GET '/api/v1/challenges?state=revoked')" "list revoked"
gw_assert_eq "$id2" "$(jq -r '.challenges[0].id' "$T/api.body")" "revoked listed"
gw_assert_eq 200 "$(api GET '/api/v1/challenges?state=used')" "list used"
gw_assert_eq 1 "$(jq '.challenges | length' "$T/api.body")" "used challenges"
jq -e '.challenges[0].txid != null and .challenges[0].used != null' "$T/api.body" >/dev/null || gw_fail "used row lacks txid"
gw_assert_eq 405 "$(api PUT /api/v1/challenges '{}')" "PUT not allowed"

gw_assert_eq 1 "$(sim_orders)" "orders at epki-sim"
for s in "$c1" "$c2" "$c3" "$TOKEN"; do
	gw_assert_not_contains "$T/scepgw.log" "$s"
done
gw_assert_contains "$T/scepgw.log" "admin POST /api/v1/challenges status=201"
gw_stop
