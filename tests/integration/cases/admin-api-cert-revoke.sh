#!/usr/bin/env bash
# Admin HTTP API: POST /api/v1/certificates/SERIAL/revoke revokes at
# GlobalSign and records it (the same cert_revoke() as `scepgw cert
# revoke`): 200 with the order; then 409 already revoked; 404 unknown
# serial; 400 naming a bad reason or an unknown field; 401 without token.
# Also: POST /api/v1/challenges takes a configured "profile" only.
. "$GW_SRC/tests/integration/lib.sh"
gw_need jq
gw_tmpdir
gw_start_sim
gw_init
gw_admin_enable
gw_start
A=$GW_ADMIN_URL
post() { # PATH [BODY] [TOKEN]
	curl -sS -m 30 -H "Authorization: Bearer ${3-$TOKEN}" -X POST \
	    ${2:+-d "$2"} -o "$T/post.body" -w '%{http_code}' "$A$1"
}

c=$(gw_challenge --cn revokee)
enroll_expect dev SUCCESS --challenge "$c"
serial=$(openssl x509 -in "$T/dev.pem" -noout -serial | cut -d= -f2)
typed=$(echo "$serial" | tr 'A-F' 'a-f' | sed 's/../&:/g; s/:$//')

gw_assert_eq 401 "$(post "/api/v1/certificates/$serial/revoke" '' wrong)" "wrong token"
gw_assert_not_contains "$T/post.body" "$serial"
gw_assert_eq 400 "$(post "/api/v1/certificates/$serial/revoke" '{"reason":"whim"}')" "bad reason"
gw_assert_eq reason "$(jq -r .field "$T/post.body")" "field named"
gw_assert_eq 400 "$(post "/api/v1/certificates/$serial/revoke" '{"why":1}')" "unknown field"
gw_assert_eq 400 "$(post "/api/v1/certificates/$serial/revoke" '[1')" "malformed JSON"
gw_assert_eq 400 "$(post "/api/v1/certificates/xyz/revoke")" "bad serial"
gw_assert_eq serial "$(jq -r .field "$T/post.body")" "serial named"
gw_assert_eq 404 "$(post "/api/v1/certificates/$serial/unrevoke")" "unknown action"

gw_assert_eq 200 "$(post "/api/v1/certificates/$typed/revoke" '{"reason":"keyCompromise"}')" "revoke"
gw_assert_eq "$serial" "$(jq -r .serial "$T/post.body")" "serial in reply"
gw_assert_eq keyCompromise "$(jq -r .reason "$T/post.body")" "reason in reply"
order=$(jq -r .order_id "$T/post.body")
sim_order "$order" >"$T/order.rec"
gw_assert_contains "$T/order.rec" "^status=7"
curl -sS -H "Authorization: Bearer $TOKEN" "$A/api/v1/certificates?serial=$serial" >"$T/list.json"
gw_assert_eq keyCompromise "$(jq -r '.certificates[0].revoke_reason' "$T/list.json")" "recorded reason"

gw_assert_eq 409 "$(post "/api/v1/certificates/$serial/revoke")" "second revoke"
gw_assert_contains "$T/post.body" "already revoked"
gw_assert_eq 404 "$(post "/api/v1/certificates/ABCDEF/revoke")" "unknown serial"

# Challenges for one profile: the profile must be configured.
gw_assert_eq 400 "$(post /api/v1/challenges '{"profile":"nosuch"}')" "unknown profile"
gw_assert_eq profile "$(jq -r .field "$T/post.body")" "profile named"
gw_assert_eq 201 "$(post /api/v1/challenges '{"profile":"default","cn":"p"}')" "challenge for default"
gw_stop
