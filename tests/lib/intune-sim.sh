# shellcheck shell=bash
# Helpers for cases that drive intune-sim (tests/tools/intune-sim/README.md),
# on top of tests/lib/harness.sh. Every call verifies the sim's TLS
# certificate against ISIM_DIR/ca.pem.
#
#	isim_up                         start it; ISIM_URL, ISIM_DIR, ISIM_PID
#	isim_token SCOPE [curl args]    token request -> $T/isim.json, prints status
#	isim_scep ACTION TOKEN JSON     a ScepActions POST -> $T/isim.json, status
#	isim_challenge JSON             prints a challenge from POST /_sim/challenge
#	isim_csr NAME CN [CHALLENGE] [SAN] [EXT]  $T/NAME.der, base64 in $T/NAME.b64
#	isim_assertion [CLAIMS-JSON]    prints a client assertion signed by $T/app.key

# The defaults of sim.conf (tests/tools/intune-sim/README.md "sim.conf"),
# for the cases that source this file.
# shellcheck disable=SC2034
ISIM_TENANT=7f3c2a10-5b6e-4d8f-9a1b-2c3d4e5f6a7b
ISIM_DOMAIN=contoso.onmicrosoft.com
ISIM_CLIENT=3b9e1f2a-7c4d-4e5f-8a6b-9c0d1e2f3a4b
ISIM_SECRET=intune-sim-client-secret
ISIM_GRAPH_SCOPE=https://graph.microsoft.com/.default
ISIM_INTUNE_SCOPE=https://api.manage.microsoft.com//.default
ISIM_SERVICE=/TrafficGateway/TrafficRoutingService/RACerts/StatelessScepRequestValidationService
ISIM_APP=0000000a-0000-0000-c000-000000000000

# Start intune-sim on a kernel-chosen port (options pass through); a
# DIR/sim.conf written before (ISIM_DIR=$T/intune-sim) is used.
isim_up() {
	local line
	gw_tmpdir
	[ -x "$GW_BUILD/intune-sim" ] || gw_fail "no $GW_BUILD/intune-sim (build it)"
	ISIM_DIR=$T/intune-sim
	mkdir -p "$ISIM_DIR"
	gw_spawn "$T/intune-sim.log" "$GW_BUILD/intune-sim" \
	    --listen 127.0.0.1:0 --dir "$ISIM_DIR" "$@"
	ISIM_PID=$GW_LAST_PID
	line=$(gw_wait_log "$T/intune-sim.log" '^intune-sim listening on ' \
	    "$ISIM_PID") || gw_fail "intune-sim did not start"
	ISIM_URL=${line#intune-sim listening on }
}

# curl against the sim, TLS verified.
isim_curl() {
	curl -sS --max-time 20 --cacert "$ISIM_DIR/ca.pem" "$@"
}

# isim_admin NAME [JSON]: GET /_sim/NAME, or POST JSON to it; prints the
# answer, fails the case on a 4xx.
isim_admin() {
	if [ $# -gt 1 ]; then
		isim_curl -f -H 'Content-Type: application/json' \
		    --data-binary "$2" "$ISIM_URL/_sim/$1"
	else
		isim_curl -f "$ISIM_URL/_sim/$1"
	fi || gw_fail "POST /_sim/$1 ${2:-} refused"
}

# isim_token SCOPE [curl args]: a client-credentials request for SCOPE
# (the secret in the form unless the args give another credential; set
# ISIM_NOSECRET=1 to send none), to tenant ISIM_AT (default the GUID).
isim_token() {
	local scope=$1
	shift
	local cred=(--data-urlencode "client_secret=$ISIM_SECRET")
	[ "${ISIM_NOSECRET:-0}" = 1 ] && cred=()
	isim_curl -o "$T/isim.json" -w '%{http_code}' \
	    --data-urlencode grant_type=client_credentials \
	    --data-urlencode "client_id=$ISIM_CLIENT" "${cred[@]}" \
	    --data-urlencode "scope=$scope" "$@" \
	    "$ISIM_URL/${ISIM_AT:-$ISIM_TENANT}/oauth2/v2.0/token"
}

# A fresh access token for SCOPE (fails the case unless 200).
isim_bearer() {
	[ "$(isim_token "$1")" = 200 ] || gw_fail "no token for $1: $(cat "$T/isim.json")"
	jq -r .access_token "$T/isim.json"
}

# isim_scep ACTION TOKEN JSON [curl args]: POST JSON to
# ISIM_BASE (default the sim's service path)/ScepActions/ACTION with the
# headers Intune requires.
isim_scep() {
	local action=$1 tok=$2 body=$3
	shift 3
	isim_curl -o "$T/isim.json" -w '%{http_code}' \
	    -H "Authorization: Bearer $tok" \
	    -H 'Content-Type: application/json' \
	    -H "api-version: ${ISIM_APIVER:-2018-02-20}" \
	    -H "client-request-id: $(cat /proc/sys/kernel/random/uuid)" \
	    --data-binary "$body" "$@" \
	    "${ISIM_BASE:-$ISIM_URL$ISIM_SERVICE}/ScepActions/$action"
}

# isim_challenge JSON: a challenge for the fields of JSON.
isim_challenge() {
	isim_admin challenge "$1" | jq -r .challenge
}

# isim_csr NAME CN [CHALLENGE] [SAN] [EXT]: a CSR with key $T/dev.key
# (made once), subject CN=CN,O=Contoso, the challenge, the SAN (openssl
# syntax, e.g. "email.1 = a@b") and other requested extensions (openssl
# lines, e.g. "extendedKeyUsage = clientAuth"), DER in $T/NAME.der,
# base64 (one line) in $T/NAME.b64.
isim_csr() {
	local name=$1 cn=$2 ch=${3:-} san=${4:-} ext=${5:-}
	[ -f "$T/dev.key" ] || openssl genpkey -algorithm RSA \
	    -pkeyopt rsa_keygen_bits:2048 -out "$T/dev.key" 2>/dev/null
	{
		printf '[req]\nprompt = no\ndistinguished_name = dn\n'
		[ -n "$ch" ] && printf 'attributes = attrs\n'
		[ -n "$san$ext" ] && printf 'req_extensions = ext\n'
		printf '[dn]\nCN = %s\nO = Contoso\n' "$cn"
		[ -n "$ch" ] && printf '[attrs]\nchallengePassword = %s\n' "$ch"
		[ -n "$san$ext" ] && printf '[ext]\n%s\n' "$ext"
		[ -n "$san" ] && printf 'subjectAltName = @alt\n[alt]\n%s\n' "$san"
	} >"$T/$name.cnf"
	openssl req -new -key "$T/dev.key" -config "$T/$name.cnf" \
	    -outform DER -out "$T/$name.der" 2>"$T/$name.err" ||
	    gw_fail "openssl req for $name: $(cat "$T/$name.err")"
	base64 -w0 "$T/$name.der" >"$T/$name.b64"
}

# base64url of stdin.
isim_b64url() {
	openssl base64 -A | tr '+/' '-_' | tr -d '='
}

# isim_assertion [JQ-FILTER]: a client assertion (RS256) for the sim's
# token URL, signed by $T/app.key (ISIM_SIGNKEY overrides), its claims
# changed by the jq filter.
isim_assertion() {
	local now h p s
	now=$(date +%s)
	h=$(printf '{"alg":"RS256","typ":"JWT"}' | isim_b64url)
	p=$(jq -cn --arg aud "$ISIM_URL/$ISIM_TENANT/oauth2/v2.0/token" \
	    --arg id "$ISIM_CLIENT" --arg jti "$(cat /proc/sys/kernel/random/uuid)" \
	    --argjson now "$now" \
	    '{aud:$aud, iss:$id, sub:$id, jti:$jti, nbf:$now, iat:$now, exp:($now+300)}' |
	    jq -c "${1:-.}" | isim_b64url)
	s=$(printf '%s.%s' "$h" "$p" |
	    openssl dgst -sha256 -sign "${ISIM_SIGNKEY:-$T/app.key}" -binary | isim_b64url)
	printf '%s.%s.%s\n' "$h" "$p" "$s"
}
