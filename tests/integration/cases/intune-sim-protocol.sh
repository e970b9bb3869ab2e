#!/usr/bin/env bash
# intune-sim answers as tests/tools/intune-sim/README.md says, over TLS
# verified with its own CA: every token path (secret in the form or in
# Basic, client assertion) and each Entra error; discovery with and
# without the Graph permission and its knobs; validateRequest Success and
# each refusal; notifications and the violations they record; a fault on
# each hop and each fault mode; the optional revocation API; the request
# log in sequence; no secret or
# challenge in the log; reset; exit 0 on SIGTERM.
. "$GW_SRC/tests/lib/harness.sh"
. "$GW_SRC/tests/lib/intune-sim.sh"
gw_need openssl curl jq
gw_tmpdir

# Usage and a bad sim.conf: exit 2 and 1, before listening.
rc=0
"$GW_BUILD/intune-sim" --listen 127.0.0.1:0 >"$T/usage.log" 2>&1 || rc=$?
gw_assert_eq 2 "$rc" "exit status without --dir"
mkdir -p "$T/bad"
printf '# a comment\nconsent = graph=maybe\n' >"$T/bad/sim.conf"
rc=0
"$GW_BUILD/intune-sim" --listen 127.0.0.1:0 --dir "$T/bad" >"$T/bad.log" 2>&1 || rc=$?
gw_assert_eq 1 "$rc" "exit status with a bad sim.conf"
gw_assert_contains "$T/bad.log" '^intune-sim: sim.conf:2: bad line$'

mkdir -p "$T/intune-sim"
printf '[sim]\n; the defaults, spelled out\nconsent = graph=yes, intune=yes\ntoken_lifetime = 3599\n' \
    >"$T/intune-sim/sim.conf"
# shellcheck disable=SC2119
isim_up
[[ $ISIM_URL =~ ^https://127\.0\.0\.1:[0-9]+$ ]] || gw_fail "listening line: $ISIM_URL"
for f in ca.pem tls.pem tls.key token.key challenge.key; do
	gw_assert_file "$ISIM_DIR/$f"
done
gw_assert_eq 600 "$(stat -c %a "$ISIM_DIR/token.key")" "token.key mode"

# TLS: verified with DIR/ca.pem; refused without it.
rc=0
curl -sS -o /dev/null "$ISIM_URL/_sim/state" 2>/dev/null || rc=$?
gw_assert_eq 60 "$rc" "curl without --cacert"
isim_admin state >/dev/null

# expect_error STATUS ERROR AADSTS [token args...]: a token request fails
# with Entra's shape.
expect_error() {
	local want=$1 err=$2 code=$3
	shift 3
	gw_assert_eq "$want" "$(isim_token "$@")" "status for $err $code"
	gw_assert_eq "$err $code" \
	    "$(jq -r '"\(.error) \(.error_codes[0])"' "$T/isim.json")" "error"
	jq -e '.error_description | startswith("AADSTS")' "$T/isim.json" >/dev/null ||
	    gw_fail "error_description without AADSTS"
}

# --- Tokens ---------------------------------------------------------------
gw_assert_eq 200 "$(isim_token "$ISIM_GRAPH_SCOPE")" "graph token"
gw_assert_eq "Bearer 3599 3599" \
    "$(jq -r '"\(.token_type) \(.expires_in) \(.ext_expires_in)"' "$T/isim.json")" "token answer"
claims=$(jq -r .access_token "$T/isim.json" | cut -d. -f2 | tr '_-' '/+')
while [ $((${#claims} % 4)) -ne 0 ]; do claims+='='; done
claims=$(printf '%s' "$claims" | base64 -d)
gw_assert_eq "https://graph.microsoft.com $ISIM_TENANT $ISIM_CLIENT Application.Read.All" \
    "$(jq -r '"\(.aud) \(.tid) \(.appid) \(.roles[0])"' <<<"$claims")" "graph token claims"
ISIM_NOSECRET=1
gw_assert_eq 200 "$(isim_token "$ISIM_INTUNE_SCOPE" -u "$ISIM_CLIENT:$ISIM_SECRET")" "intune token, Basic"
expect_error 401 invalid_client 7000218 "$ISIM_GRAPH_SCOPE"
ISIM_NOSECRET=0
expect_error 400 invalid_resource 500011 https://api.manage.microsoft.com/.default
isim_admin config '{"single_slash_scope":"accept"}' >/dev/null
gw_assert_eq 200 "$(isim_token https://api.manage.microsoft.com/.default)" "single slash accepted by the knob"
isim_admin config '{"single_slash_scope":"reject"}' >/dev/null
expect_error 401 invalid_client 7000215 "$ISIM_GRAPH_SCOPE" --data-urlencode client_secret=wrong
isim_admin config '{"secret_expired":"yes"}' >/dev/null
expect_error 401 invalid_client 7000222 "$ISIM_GRAPH_SCOPE"
isim_admin config '{"secret_expired":"no"}' >/dev/null
expect_error 400 unauthorized_client 700016 "$ISIM_GRAPH_SCOPE" --data-urlencode client_id=00000000-1111-2222-3333-444444444444
ISIM_AT=fabrikam.onmicrosoft.com expect_error 400 invalid_request 90002 "$ISIM_GRAPH_SCOPE"
gw_assert_eq 200 "$(ISIM_AT=$ISIM_DOMAIN isim_token "$ISIM_GRAPH_SCOPE")" "tenant by domain"
expect_error 400 invalid_scope 70011 "$ISIM_GRAPH_SCOPE $ISIM_INTUNE_SCOPE"
expect_error 400 invalid_scope 1002012 https://graph.microsoft.com/User.Read
expect_error 400 invalid_resource 500011 https://example.com/.default
expect_error 400 unsupported_grant_type 70003 "$ISIM_GRAPH_SCOPE" --data-urlencode grant_type=password
expect_error 400 invalid_request 900144 "$ISIM_GRAPH_SCOPE" -H 'Content-Type: application/json'

# Client assertions, checked against the registered certificate.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/app.key" -out "$T/app.pem" \
    -subj /CN=scepgw-app -days 2 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/other.key" 2>/dev/null
isim_admin config "{\"client_cert\":\"$T/app.pem\"}" >/dev/null
ISIM_NOSECRET=1
A=(--data-urlencode client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer)
jwt=$(isim_assertion)
gw_assert_eq 200 "$(isim_token "$ISIM_INTUNE_SCOPE" "${A[@]}" --data-urlencode "client_assertion=$jwt")" "assertion"
expect_error 401 invalid_client 700028 "$ISIM_INTUNE_SCOPE" "${A[@]}" --data-urlencode "client_assertion=$jwt"
expect_error 401 invalid_client 700027 "$ISIM_INTUNE_SCOPE" "${A[@]}" \
    --data-urlencode "client_assertion=$(ISIM_SIGNKEY=$T/other.key isim_assertion)"
expect_error 401 invalid_client 700021 "$ISIM_INTUNE_SCOPE" "${A[@]}" \
    --data-urlencode "client_assertion=$(isim_assertion '.aud="https://login.microsoftonline.com/x/oauth2/v2.0/token"')"
expect_error 401 invalid_client 700023 "$ISIM_INTUNE_SCOPE" "${A[@]}" \
    --data-urlencode "client_assertion=$(isim_assertion '.iss="someone-else"')"
expect_error 401 invalid_client 700024 "$ISIM_INTUNE_SCOPE" "${A[@]}" \
    --data-urlencode "client_assertion=$(isim_assertion '.exp=(.nbf-10)')"
ISIM_NOSECRET=0

# --- Discovery --------------------------------------------------------------
DISCO=$ISIM_URL/v1.0/servicePrincipals/appId=$ISIM_APP/endpoints
disco() { # disco TOKEN [URL]: status; the answer in $T/disco.json
	isim_curl -o "$T/disco.json" -w '%{http_code}' -H "Authorization: Bearer $1" "${2:-$DISCO}"
}
GT=$(isim_bearer "$ISIM_GRAPH_SCOPE")
IT=$(isim_bearer "$ISIM_INTUNE_SCOPE")
gw_assert_eq 401 "$(disco '')" "discovery without a token"
gw_assert_eq InvalidAuthenticationToken "$(jq -r .error.code "$T/disco.json")" "401 code"
gw_assert_eq 401 "$(disco "$IT")" "discovery with the Intune token"
for u in "$DISCO" "$ISIM_URL/v1.0/myorganization/servicePrincipals/appId=$ISIM_APP/endpoints" \
    "$ISIM_URL/v1.0/servicePrincipals(appId='$ISIM_APP')/endpoints"; do
	gw_assert_eq 200 "$(disco "$GT" "$u")" "discovery at $u"
done
gw_assert_eq "$ISIM_URL$ISIM_SERVICE" \
    "$(jq -r '.value[] | select(.providerName=="ScepRequestValidationFEService") | .uri' "$T/disco.json")" "SCEP uri"
jq -e '(.value | length) >= 14 and (.value | map(select(.providerName=="ASUName"))[0].uri | test("^https?:") | not)
    and (.value | map(.providerName) | index("ScepRequestValidationFEServiceBackup")) != null
    and has("@odata.context")' "$T/disco.json" >/dev/null || gw_fail "discovery decoys"
isim_admin config '{"consent":"graph=no"}' >/dev/null
gw_assert_eq 403 "$(disco "$(isim_bearer "$ISIM_GRAPH_SCOPE")")" "discovery without Application.Read.All"
gw_assert_eq "Authorization_RequestDenied Insufficient privileges to complete the operation." \
    "$(jq -r '"\(.error.code) \(.error.message)"' "$T/disco.json")" "403 body"
isim_admin config '{"consent_graph":"yes","omit_scep":"yes"}' >/dev/null
gw_assert_eq 200 "$(disco "$GT")" "discovery, SCEP entry omitted"
gw_assert_eq 0 "$(jq '[.value[] | select(.providerName | ascii_downcase == "sceprequestvalidationfeservice")] | length' "$T/disco.json")" "no SCEP entry"
isim_admin config '{"omit_scep":"no","odd_case":"yes","trailing_slash":"yes","service_path":"/moved/ScepService"}' >/dev/null
disco "$GT" >/dev/null
gw_assert_eq "$ISIM_URL/moved/ScepService/ false" \
    "$(jq -r '.value[] | select(.providerName | ascii_downcase == "sceprequestvalidationfeservice") | "\(.uri) \(.providerName == "ScepRequestValidationFEService")"' "$T/disco.json")" "moved uri, odd case, trailing slash"
gw_assert_eq 404 "$(isim_scep validateRequest "$IT" '{}')" "the old service path after a move"
ISIM_BASE=$ISIM_URL/moved/ScepService
gw_assert_eq 400 "$(isim_scep validateRequest "$IT" '{}')" "the new path answers"
ISIM_BASE=$ISIM_URL/moved/ScepService/
gw_assert_eq 404 "$(isim_scep validateRequest "$IT" '{}')" "uri with its trailing / kept: //ScepActions"
unset ISIM_BASE
isim_admin config '{"odd_case":"no","trailing_slash":"no","service_path":"'"$ISIM_SERVICE"'"}' >/dev/null

# --- validateRequest ----------------------------------------------------------
SAN=$'email.1 = dev1@contoso.com\nURI.1 = tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-1001'
CHJ='{"subject":"CN=dev1,O=Contoso","sans":[{"type":"rfc822Name","value":"dev1@contoso.com"},{"type":"uri","value":"tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-1001"}],"key_bits":2048}'
CH=$(isim_challenge "$CHJ")
if [ "${#CH}" -lt 1400 ] || [[ $CH != SIMv1.* ]]; then
	gw_fail "challenge of ${#CH} characters"
fi
# validate TXID CSR-NAME: the code of the answer (status 200 required).
validate() {
	local st
	st=$(isim_scep validateRequest "$IT" \
	    "{\"request\":{\"transactionId\":\"$1\",\"certificateRequest\":\"$(cat "$T/$2.b64")\",\"callerInfo\":\"scepgw-test/1\"}}")
	gw_assert_eq 200 "$st" "validate $1 status"
	jq -e 'has("errorDescription") and has("@odata.context")' "$T/isim.json" >/dev/null ||
	    gw_fail "validate $1: answer shape"
	jq -r .code "$T/isim.json"
}
isim_csr good dev1 "$CH" "$SAN"
gw_assert_eq Success "$(validate tx-ok good)" "validate with the challenge"
isim_csr nochal dev1 "" "$SAN"
gw_assert_eq ChallengePasswordMissing "$(validate tx-nochal nochal)" "no challenge"
printf 'AAAA' >"$T/junk.b64"
gw_assert_eq CertificateRequestDecodingFailed "$(validate tx-junk junk)" "undecodable CSR"
isim_csr badsig dev1 "${CH%?}$([ "${CH: -1}" = A ] && echo B || echo A)" "$SAN"
gw_assert_eq SignatureValidationFailed "$(validate tx-badsig badsig)" "tampered challenge"
isim_csr tenant dev1 "$(isim_challenge "$(jq -c '.tenant="00000000-0000-0000-0000-00000000beef"' <<<"$CHJ")")" "$SAN"
gw_assert_eq BadTenantIdInChallenge "$(validate tx-tenant tenant)" "other tenant"
isim_csr subj dev2 "$CH" "$SAN"
gw_assert_eq SubjectNameMismatch "$(validate tx-subj subj)" "other subject"
UCH=$(isim_challenge '{"subject":"CN=dev1,O=Contoso","key_usage":["digitalSignature","keyEncipherment"],"eku":["clientAuth","1.3.6.1.5.5.7.3.4"]}')
KU='keyUsage = critical, digitalSignature, keyEncipherment'
isim_csr use1 dev1 "$UCH" "" "$KU"$'\nextendedKeyUsage = emailProtection, clientAuth'
gw_assert_eq Success "$(validate tx-use1 use1)" "key usage and EKU as expected"
isim_csr use2 dev1 "$UCH" "" 'keyUsage = digitalSignature'$'\nextendedKeyUsage = clientAuth, emailProtection'
gw_assert_eq KeyUsageMismatch "$(validate tx-use2 use2)" "other key usage"
isim_csr use3 dev1 "$UCH" "" "$KU"
gw_assert_eq EnhancedKeyUsageMissing "$(validate tx-use3 use3)" "no EKU"
isim_csr use4 dev1 "$UCH" "" "$KU"$'\nextendedKeyUsage = serverAuth'
gw_assert_eq EnhancedKeyUsageMismatch "$(validate tx-use4 use4)" "other EKU"
isim_csr bits dev1 "$(isim_challenge '{"key_bits":4096}')"
gw_assert_eq KeyLengthMismatch "$(validate tx-bits bits)" "2048-bit key, 4096 expected"
isim_admin config '{"profile_targeted":"no"}' >/dev/null
gw_assert_eq ScepProfileNoLongerTargetedToTheClient "$(validate tx-untargeted good)" "profile no longer targeted"
isim_admin config '{"profile_targeted":"yes"}' >/dev/null
isim_csr nosan dev1 "$CH"
gw_assert_eq SubjectAltNameMissing "$(validate tx-nosan nosan)" "SANs expected, none in the CSR"
isim_csr othersan dev1 "$CH" 'email.1 = dev1@contoso.com'
gw_assert_eq SubjectAltNameMismatch "$(validate tx-othersan othersan)" "the strong-mapping URI SAN left out"
isim_admin clock '{"advance":3700}' >/dev/null
IT=$(isim_bearer "$ISIM_INTUNE_SCOPE")
gw_assert_eq ChallengeExpired "$(validate tx-expired good)" "expired (sim clock + 3700 s)"
grep -q 'challengeExpInterval=60' "$T/isim.json" || gw_fail "ChallengeExpired description"
isim_admin clock '{"offset":0}' >/dev/null
IT=$(isim_bearer "$ISIM_INTUNE_SCOPE")
VBODY="{\"request\":{\"transactionId\":\"tx-auth\",\"certificateRequest\":\"$(cat "$T/good.b64")\",\"callerInfo\":\"t\"}}"
gw_assert_eq 401 "$(isim_scep validateRequest "$GT" "$VBODY")" "validate with the Graph token"
gw_assert_eq Unauthorized "$(jq -r .error.code "$T/isim.json")" "401 shape"
gw_assert_eq 400 "$(ISIM_APIVER=2020-01-01 isim_scep validateRequest "$IT" "$VBODY")" "wrong api-version"
gw_assert_eq 400 "$(ISIM_APIVER=5019-05-05 isim_scep validateRequest "$IT" "$VBODY")" "5019-05-05 refused by default"
isim_admin config '{"accept_api_version_5019":"yes","consent_intune":"no"}' >/dev/null
gw_assert_eq 403 "$(ISIM_APIVER=5019-05-05 isim_scep validateRequest "$(isim_bearer "$ISIM_INTUNE_SCOPE")" "$VBODY")" "no scep_challenge_provider"
gw_assert_eq Forbidden "$(jq -r .error.code "$T/isim.json")" "403 shape"
isim_admin config '{"consent_intune":"yes"}' >/dev/null
gw_assert_eq 200 "$(ISIM_APIVER=5019-05-05 isim_scep validateRequest "$IT" "$VBODY")" "5019-05-05 with the knob"

# --- Notifications ------------------------------------------------------------
# notify ACTION TXID CSR-NAME [JQ-FILTER]: the code of the answer.
notify() {
	local body
	body=$(jq -cn --arg tx "$2" --arg csr "$(cat "$T/$3.b64")" \
	    '{notification:{transactionId:$tx, certificateRequest:$csr,
	      certificateThumbprint:"3C1F6D8E0B4A00112233445566778899AABBCCDD",
	      certificateSerialNumber:"1A2B3C4D5E6F", certificateExpirationDateUtc:"2027-06-11T16:11:20.000Z",
	      issuingCertificateAuthority:"CN=epki-sim PersonalSign 2 CA,O=scepgw", callerInfo:"scepgw-test/1",
	      hResult:-1610612735, errorDescription:"GlobalSign EPKI refused the order"}}' | jq -c "${4:-.}")
	gw_assert_eq 200 "$(isim_scep "$1" "$IT" "$body")" "$1 $2 status"
	jq -r .code "$T/isim.json"
}
violations() { isim_admin violations | jq -r '[.violations[] | "\(.transactionId)/\(.rule)"] | join(" ")'; }
gw_assert_eq "null/body null/api-version null/api-version" "$(violations)" "header and body violations so far"
isim_admin reset '{}' >/dev/null
IT=$(isim_bearer "$ISIM_INTUNE_SCOPE")
gw_assert_eq Success "$(validate tx-ok good)" "validate again after reset"
gw_assert_eq Success "$(notify successNotification tx-ok good)" "success notification"
gw_assert_eq "" "$(violations)" "a clean success"
gw_assert_eq Success "$(notify successNotification tx-unknown good)" "success without validate"
gw_assert_eq Success "$(notify successNotification tx-ok good)" "second success"
gw_assert_eq ChallengePasswordMissing "$(validate tx-refused nochal)" "refused validation"
gw_assert_eq Success "$(notify failureNotification tx-refused nochal)" "failure after refused validation"
gw_assert_eq Success "$(validate tx-fail good)" "validate tx-fail"
gw_assert_eq Success "$(notify failureNotification tx-fail good '.notification.errorDescription = ("x" * 256) | .notification.hResult = "E_FAIL"')" "bad failure notification"
gw_assert_eq Success "$(notify successNotification tx-fail nochal '.notification.certificateThumbprint = "3c 1f" | .notification.certificateExpirationDateUtc = "Friday, June 11, 2027"')" "bad success notification"
gw_assert_eq "tx-unknown/success-without-validate tx-ok/second-success tx-refused/failure-after-refused-validation tx-fail/hresult tx-fail/description tx-fail/thumbprint tx-fail/expiration tx-fail/csr-differs tx-fail/success-after-failure" \
    "$(violations)" "violations recorded"
isim_admin config '{"strict_notifications":"yes"}' >/dev/null
gw_assert_eq Unknown "$(notify successNotification tx-ok good)" "strict: a third success is refused"
isim_admin config '{"strict_notifications":"no"}' >/dev/null

# --- Revocation (PkiConnectorFEService) ------------------------------------------
disco "$GT" >/dev/null
PKI=$(jq -r '.value[] | select(.providerName=="PkiConnectorFEService") | .uri' "$T/disco.json")
revoke() { # revoke ACTION JSON [API-VERSION]: status, answer in $T/isim.json
	isim_curl -o "$T/isim.json" -w '%{http_code}' -H "Authorization: Bearer $IT" \
	    -H 'Content-Type: application/json' -H "api-version: ${3:-5019-05-05}" \
	    -H "client-request-id: $(cat /proc/sys/kernel/random/uuid)" \
	    --data-binary "$2" "$PKI/CertificateAuthorityRequests/$1"
}
c1=$(isim_admin revocations '{"serialNumber":"1A2B","issuerName":"CN=CA1","caConfiguration":"GlobalSign EPKI"}' | jq -r .requestContext)
c2=$(isim_admin revocations '{"serialNumber":"3C4D","issuerName":"CN=CA2"}' | jq -r .requestContext)
DL='{"downloadParameters":{"maxRequests":100,"issuerName":null}}'
gw_assert_eq 400 "$(revoke downloadRevocationRequests "$DL" 2018-02-20)" "revocation wants api-version 5019-05-05"
gw_assert_eq 400 "$(revoke downloadRevocationRequests '{"downloadParameters":{"maxRequests":501}}')" "maxRequests over 500"
gw_assert_eq 200 "$(revoke downloadRevocationRequests '{"downloadParameters":{"maxRequests":100,"issuerName":"CN=CA1"}}')" "download"
gw_assert_eq "$c1 1A2B GlobalSign EPKI" \
    "$(jq -r '.value | map("\(.requestContext) \(.serialNumber) \(.caConfiguration)") | join(",")' "$T/isim.json")" "download by issuer"
gw_assert_eq 200 "$(revoke uploadRevocationResults "{\"results\":[{\"requestContext\":\"$c1\",\"succeeded\":true,\"errorCode\":\"0\",\"errorMessage\":null},
    {\"requestContext\":\"$c2\",\"succeeded\":false,\"errorCode\":\"CertificateNotFoundError\",\"errorMessage\":\"x\"},
    {\"requestContext\":\"nope\",\"succeeded\":true,\"errorCode\":\"0\"}]}")" "upload"
gw_assert_eq true "$(jq -r .value "$T/isim.json")" "upload answer"
gw_assert_eq "$c2/result-before-download nope/unknown-request-context" \
    "$(isim_admin violations | jq -r '[.violations[] | select(.hop=="revocation-upload") | "\(.transactionId)/\(.rule)"] | join(" ")')" "revocation violations"
revoke downloadRevocationRequests "$DL" >/dev/null
gw_assert_eq 0 "$(jq '.value | length' "$T/isim.json")" "nothing left once every result is in"

# --- Faults ------------------------------------------------------------------
isim_admin reset '{}' >/dev/null
IT=$(isim_bearer "$ISIM_INTUNE_SCOPE")
GT=$(isim_bearer "$ISIM_GRAPH_SCOPE")
# hop_call HOP [curl args]: one request of that hop; prints its status.
hop_call() {
	case $1 in
	token-graph) isim_token "$ISIM_GRAPH_SCOPE" ;;
	token-intune) isim_token "$ISIM_INTUNE_SCOPE" ;;
	discovery) disco "$GT" ;;
	validate) isim_scep validateRequest "$IT" "$VBODY" "${@:2}" ;;
	success | failure) isim_scep "${1}Notification" "$IT" '{"notification":{"transactionId":"tx-fault"}}' ;;
	revocation-download) revoke downloadRevocationRequests "$DL" ;;
	esac
}
for hop in token-graph token-intune discovery validate success failure revocation-download; do
	isim_admin fault "{\"hop\":\"$hop\",\"mode\":\"500\",\"count\":1}" >/dev/null
	gw_assert_eq 500 "$(hop_call $hop)" "500 on $hop"
	gw_assert_eq 0 "$(isim_admin state | jq '.faults | length')" "the fault ran out on $hop"
	[ "$(hop_call $hop)" != 500 ] || gw_fail "$hop still fails"
done
isim_admin fault '{"hop":"validate","mode":"500","count":1}' >/dev/null
hop_call validate >/dev/null
gw_assert_eq InternalError "$(jq -r .error.code "$T/isim.json")" "500 body"
for m in 503 401 403 404; do
	isim_admin fault "{\"hop\":\"validate\",\"mode\":\"$m\",\"count\":1}" >/dev/null
	gw_assert_eq "$m" "$(hop_call validate)" "mode $m"
done
isim_admin fault '{"hop":"success","mode":"html","count":1}' >/dev/null
ct=$(isim_curl -o /dev/null -w '%{http_code} %{content_type}' -H "Authorization: Bearer $IT" \
    -H 'Content-Type: application/json' -H 'api-version: 2018-02-20' -d '{}' \
    "$ISIM_URL$ISIM_SERVICE/ScepActions/successNotification")
[[ $ct == "200 text/html"* ]] || gw_fail "html mode: $ct"
isim_admin fault '{"hop":"validate","mode":"code","code":"BadTenantIdInChallenge","count":1}' >/dev/null
hop_call validate >/dev/null
gw_assert_eq BadTenantIdInChallenge "$(jq -r .code "$T/isim.json")" "code mode"
isim_admin fault '{"hop":"validate","mode":"code","count":1}' >/dev/null
hop_call validate >/dev/null
gw_assert_eq SomethingNew "$(jq -r .code "$T/isim.json")" "code mode, default code"
isim_admin fault '{"hop":"success","mode":"no-description","count":1}' >/dev/null
hop_call success >/dev/null
gw_assert_eq "Success false" "$(jq -r '"\(.code) \(has("errorDescription"))"' "$T/isim.json")" "no-description mode"
isim_admin fault '{"hop":"validate","mode":"delay","ms":400,"count":1}' >/dev/null
t0=$(date +%s%N)
gw_assert_eq 200 "$(hop_call validate)" "delay mode answers"
[ $(( ($(date +%s%N) - t0) / 1000000 )) -ge 400 ] || gw_fail "delay mode too fast"
isim_admin fault '{"hop":"validate","mode":"hang","ms":2000,"count":1}' >/dev/null
rc=0
hop_call validate --max-time 1 >/dev/null 2>&1 || rc=$?
gw_assert_eq 28 "$rc" "hang mode: the client times out"
isim_admin fault '{"hop":"discovery","mode":"reset","count":1}' >/dev/null
rc=0
disco "$GT" >/dev/null 2>&1 || rc=$?
[ "$rc" = 52 ] || [ "$rc" = 56 ] || [ "$rc" = 35 ] || gw_fail "reset mode: curl exit $rc"
isim_admin fault '{"hop":"all","mode":"503"}' >/dev/null
gw_assert_eq 503 "$(hop_call token-graph)" "a fault on every hop"
isim_admin fault '{"mode":"clear"}' >/dev/null
gw_assert_eq 200 "$(hop_call token-graph)" "faults cleared"

# --- Log, state, secrets, reset --------------------------------------------------
isim_admin reset '{}' >/dev/null
IT=$(isim_bearer "$ISIM_INTUNE_SCOPE")
GT=$(isim_bearer "$ISIM_GRAPH_SCOPE")
disco "$GT" >/dev/null
validate tx-seq good >/dev/null
notify successNotification tx-seq good >/dev/null
isim_admin log >"$T/log.json"
gw_assert_eq "token-intune token-graph discovery validate success" \
    "$(jq -r '[.entries[].hop] | join(" ")' "$T/log.json")" "log hops in order"
jq -e '[.entries[].seq] as $s | ($s | length) == 5 and ([range(1; 5) | $s[.] - $s[. - 1]] | all(. == 1))' \
    "$T/log.json" >/dev/null || gw_fail "log sequence not contiguous"
jq -e '[.entries[].wall_ms] as $w | [range(1; 5) | $w[.] >= $w[. - 1]] | all' \
    "$T/log.json" >/dev/null || gw_fail "wall_ms goes back"
jq -e '.entries[3] | .body.transactionId == "tx-seq" and .token.tid != null and
    (.headers["client-request-id"] | length) == 36 and .headers["api-version"] == "2018-02-20" and .result == "Success"' \
    "$T/log.json" >/dev/null || gw_fail "validate entry: $(jq -c '.entries[3]' "$T/log.json")"
first=$(jq '.entries[0].seq' "$T/log.json")
gw_assert_eq 3 "$(isim_curl "$ISIM_URL/_sim/log?since=$((first + 1))" | jq '.entries | length')" "log since"
gw_assert_eq "1 1 1 1 1" "$(isim_admin state | jq -r '"\(.tokens.graph) \(.tokens.intune) \(.requests.discovery) \(.requests.validate) \(.requests.success)"')" "state counts"
isim_admin violations >"$T/viol.json"
isim_admin state >"$T/state.json"
for s in "$ISIM_SECRET" "${CH:20:40}" "${jwt:40:40}" "$(cut -c1-60 "$T/good.b64")"; do
	for f in "$T/log.json" "$T/viol.json" "$T/state.json" "$T/intune-sim.log"; do
		! grep -qF -- "$s" "$f" || gw_fail "${f##*/} holds a secret or challenge"
	done
done
isim_admin reset '{}' >/dev/null
gw_assert_eq "0 0" "$(isim_admin state | jq -r '"\(.tokens.graph) \(.violations)"')" "reset"
gw_assert_eq 0 "$(isim_admin log | jq '.entries | length')" "log empty after reset"
hop_call token-graph >/dev/null
[ "$(isim_admin log | jq '.entries[0].seq')" -gt "$first" ] || gw_fail "sequence restarted after reset"

kill -TERM "$ISIM_PID"
rc=0
wait "$ISIM_PID" || rc=$?
gw_assert_eq 0 "$rc" "exit status on SIGTERM"
gw_log "ok"
