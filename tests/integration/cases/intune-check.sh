#!/usr/bin/env bash
# `scepgw check` with [intune] set, against intune-sim: OK lines for the
# tenant, the client secret, Graph's Application.Read.All, the discovery
# and Intune's scep_challenge_provider; then each fault gets its FAIL line
# naming the fix (no Graph consent, no Intune consent, an expired secret,
# a wrong secret, no SCEP entry in the discovery, an unknown app, an
# unknown tenant), later lines SKIP, exit 1; the secret is never printed;
# a client certificate instead of the secret, and one the app does not
# have. Without [intune] check prints no Intune line.
. "$GW_SRC/tests/integration/lib.sh"
. "$GW_SRC/tests/lib/intune-sim.sh"
gw_need openssl curl jq
gw_tmpdir
gw_start_sim
gw_init
isim_up

check() {
	local rc=0
	"$GW_BUILD/scepgw" check -c "$GW_CONF" >"$T/check.out" 2>&1 || rc=$?
	echo "$rc"
}

# Before [intune] is set: no Intune line at all.
gw_assert_eq 0 "$(check)" "check without [intune]"
gw_assert_not_contains "$T/check.out" "Intune"

(umask 077 && echo "$ISIM_SECRET" >"$GW_DIR/intune.secret")
gw_conf_set intune tenant "$ISIM_TENANT"
gw_conf_set intune client_id "$ISIM_CLIENT"
gw_conf_set intune client_secret_file intune.secret
gw_conf_set intune authority "$ISIM_URL/"
gw_conf_set intune graph_url "$ISIM_URL/"
gw_conf_set intune ca_file "$ISIM_DIR/ca.pem"
gw_conf_set intune timeout_seconds 10

gw_assert_eq 0 "$(check)" "check against intune-sim"
gw_assert_contains "$T/check.out" "^OK +Intune tenant: $ISIM_URL/$ISIM_TENANT/oauth2/v2.0/token"
gw_assert_contains "$T/check.out" "^OK +Intune client secret: client_id $ISIM_CLIENT"
gw_assert_contains "$T/check.out" "^OK +Intune Graph permission Application.Read.All"
gw_assert_contains "$T/check.out" "^OK +Intune service discovery: ScepRequestValidationFEService at $ISIM_URL$ISIM_SERVICE\$"
gw_assert_contains "$T/check.out" "^OK +Intune permission scep_challenge_provider: validateRequest answered"
gw_assert_not_contains "$T/check.out" "^FAIL"
# The probe left no violation at the sim (no notification, headers right).
gw_assert_eq 0 "$(isim_admin state | jq -r .violations)" "violations after check"

# fault KNOBS-JSON: the sim reset, then configured so.
fault() {
	isim_admin reset '{}' >/dev/null
	isim_admin config "$1" >/dev/null
}

fault '{"consent":"graph=no, intune=yes"}'
gw_assert_eq 1 "$(check)" "check without Graph consent"
gw_assert_contains "$T/check.out" "^FAIL +Intune Graph permission Application.Read.All: .*403 Authorization_RequestDenied: grant admin consent for Microsoft Graph Application.Read.All"
gw_assert_contains "$T/check.out" "^SKIP +Intune service discovery"
gw_assert_contains "$T/check.out" "^SKIP +Intune permission scep_challenge_provider"

fault '{"consent":"graph=yes, intune=no"}'
gw_assert_eq 1 "$(check)" "check without Intune consent"
gw_assert_contains "$T/check.out" "^OK +Intune service discovery"
gw_assert_contains "$T/check.out" "^FAIL +Intune permission scep_challenge_provider: Intune refused the token \\(HTTP 403\\): grant admin consent for Intune scep_challenge_provider"

fault '{"secret_expired":"yes"}'
gw_assert_eq 1 "$(check)" "check with an expired secret"
gw_assert_contains "$T/check.out" "^OK +Intune tenant"
gw_assert_contains "$T/check.out" "^FAIL +Intune client secret: the client secret has expired: make a new client secret in Entra ID > App registrations > .* and write it to \\[intune\\] client_secret_file.*AADSTS7000222"
gw_assert_contains "$T/check.out" "^SKIP +Intune Graph permission"

fault '{}'
(umask 077 && echo wrong-secret-value >"$GW_DIR/intune.secret")
gw_assert_eq 1 "$(check)" "check with a wrong secret"
gw_assert_contains "$T/check.out" "^FAIL +Intune client secret: wrong client secret: make a new client secret .*AADSTS7000215"
gw_assert_not_contains "$T/check.out" "wrong-secret-value"
(umask 077 && echo "$ISIM_SECRET" >"$GW_DIR/intune.secret")

fault '{"omit_scep":"yes"}'
gw_assert_eq 1 "$(check)" "check with no SCEP entry"
gw_assert_contains "$T/check.out" "^OK +Intune Graph permission Application.Read.All"
gw_assert_contains "$T/check.out" "^FAIL +Intune service discovery: .*no ScepRequestValidationFEService: Intune not licensed in this tenant, or no admin consent"

fault '{}'
gw_conf_set intune client_id 00000000-0000-0000-0000-000000000001
gw_assert_eq 1 "$(check)" "check with an unknown app"
gw_assert_contains "$T/check.out" "^FAIL +Intune client secret: no app with this client_id in the tenant.*AADSTS700016"
gw_conf_set intune client_id "$ISIM_CLIENT"

gw_conf_set intune tenant 00000000-0000-0000-0000-000000000002
gw_assert_eq 1 "$(check)" "check with an unknown tenant"
gw_assert_contains "$T/check.out" "^FAIL +Intune tenant: Entra ID knows no tenant by this name: set \\[intune\\] tenant"
gw_assert_contains "$T/check.out" "^SKIP +Intune client secret"
gw_conf_set intune tenant "$ISIM_TENANT"

gw_assert_eq 0 "$(check)" "check with everything fixed"
gw_assert_not_contains "$T/check.out" "$ISIM_SECRET"

# A certificate instead of the secret: a signed client assertion.
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=scepgw-app -days 2 \
    -keyout "$GW_DIR/app.key" -out "$GW_DIR/app.pem" 2>/dev/null ||
    gw_fail "openssl req"
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=other-app -days 2 \
    -keyout "$T/other.key" -out "$T/other.pem" 2>/dev/null ||
    gw_fail "openssl req"
chmod 600 "$GW_DIR/app.key"
gw_conf_set intune client_secret_file ""
gw_conf_set intune client_cert app.pem
gw_conf_set intune client_key app.key
fault "{\"client_cert\":\"$GW_DIR/app.pem\"}"
gw_assert_eq 0 "$(check)" "check with a client certificate"
gw_assert_contains "$T/check.out" "^OK +Intune client certificate: client_id $ISIM_CLIENT"
gw_assert_contains "$T/check.out" "^OK +Intune permission scep_challenge_provider"
fault "{\"client_cert\":\"$T/other.pem\"}"
gw_assert_eq 1 "$(check)" "check with a certificate the app does not have"
gw_assert_contains "$T/check.out" "^FAIL +Intune client certificate: the certificate is not the app's: upload \\[intune\\] client_cert .*AADSTS700027"
