#!/usr/bin/env bash
# Interop: certmonger (with its scep-submit helper) discovers the gateway's
# caps and RA/CA certificates, enrolls with a fresh one-time challenge,
# gets a certificate for its own key that chains to the EPKI root, and
# records a wrong challenge as CA_REJECTED (a FAILURE CertRep it could
# verify and read; a FAILURE without eContent would show as CA_UNREACHABLE
# "no content" instead).
#
# The daemon runs in the foreground on a private socket (-L -P), with its
# state in $T/cm, so it needs no D-Bus and leaves the system alone; getcert
# finds it through CERTMONGER_PVT_ADDRESS.
. "${GW_HARNESS:-$(dirname "$0")/../../lib/harness.sh}"

SCEP_SUBMIT=${SCEP_SUBMIT:-/usr/lib/certmonger/scep-submit}
CA_NAME=scepgw-test

PATH=$PATH:/usr/sbin:/sbin
gw_need certmonger getcert openssl curl
[ -x "$SCEP_SUBMIT" ] || gw_skip "$SCEP_SUBMIT is missing (package certmonger)"
gw_tmpdir
gw_start_sim
gw_init
gw_start

gw_assert_caps "$GW_URL" POSTPKIOperation SHA-256 AES

# The helper on its own: GetCACaps and GetCACert as certmonger sees them.
gw_run "$T/submit-caps.log" 30 "$SCEP_SUBMIT" -u "$GW_URL" -c ||
    gw_fail "scep-submit -c (GetCACaps) failed"
gw_assert_contains "$T/submit-caps.log" $'^POSTPKIOperation\r?$'
gw_run "$T/submit-cacert.log" 30 "$SCEP_SUBMIT" -u "$GW_URL" -C ||
    gw_fail "scep-submit -C (GetCACert) failed"
gw_assert_contains "$T/submit-cacert.log" 'BEGIN CERTIFICATE'

# The daemon, private to this case.
cm=$T/cm
mkdir -p "$cm/requests" "$cm/cas" "$cm/local" "$cm/tmp"
export CERTMONGER_CONFIG_DIR=$cm CERTMONGER_REQUESTS_DIR=$cm/requests \
    CERTMONGER_CAS_DIR=$cm/cas CERTMONGER_LOCAL_CA_DIR=$cm/local \
    CERTMONGER_TMPDIR=$cm/tmp
export CERTMONGER_PVT_ADDRESS=unix:path=$cm/sock
gw_spawn "$T/certmonger.log" certmonger -n -L -P "$cm/sock" -d 3
cm_pid=$GW_LAST_PID
for ((i = 0; i < 100; i++)); do
	[ -S "$cm/sock" ] && break
	kill -0 "$cm_pid" 2>/dev/null || gw_fail "certmonger exited at start"
	sleep 0.1
done
[ -S "$cm/sock" ] || gw_fail "certmonger opened no socket at $cm/sock"

# getcert_run NAME args...: getcert with a time limit, output in
# $T/getcert-NAME.log; returns getcert's status.
getcert_run() {
	local name=$1 rc=0 t0=$SECONDS
	shift
	gw_run "$T/getcert-$name.log" 180 getcert "$@" || rc=$?
	gw_log "getcert $1 ($name) exited $rc after $((SECONDS - t0))s"
	return "$rc"
}

# status_of ID: the request's status as `getcert list` shows it.
status_of() {
	getcert list -i "$1" 2>/dev/null |
	    sed -n 's/^[[:space:]]*status: //p' | head -n 1
}

# GW_CERTMONGER_CA_ARGS is empty against scepgw: certmonger must discover
# the RA and CA certificates itself. A stand-in server whose GetCACert
# returns its CA alone needs "-N ca.pem" here (see tests/interop/README.md).
# shellcheck disable=SC2086
getcert_run add-ca add-scep-ca -c "$CA_NAME" -u "$GW_URL" \
    ${GW_CERTMONGER_CA_ARGS:-} ||
    gw_fail "getcert add-scep-ca failed"
# The daemon fetches caps and certificates in the background; wait for them.
ca_known() {
	local f
	for f in "$cm"/cas/*; do
		grep -qx "id=$CA_NAME" "$f" 2>/dev/null &&
		    grep -q '^ca_encryption_cert=' "$f" && return 0
	done
	return 1
}
for ((i = 0; i < 300; i++)); do
	ca_known && break
	sleep 0.1
done
getcert list-cas -c "$CA_NAME" >"$T/getcert-list-cas.log" 2>&1 || true
gw_assert_contains "$T/getcert-list-cas.log" 'SCEP CA certificate thumbprint' \
    "certmonger's view of the CA after add-scep-ca"

# A fresh challenge enrolls.
challenge=$(gw_challenge --cn interop-certmonger-good)
getcert_run good request -c "$CA_NAME" -I good \
    -k "$T/good.key" -f "$T/good.pem" -N CN=interop-certmonger-good \
    -L "$challenge" -w --wait-timeout=120 -v ||
    gw_fail "getcert request with a fresh challenge did not enroll" \
	"(status $(status_of good))"
gw_assert_eq MONITORING "$(status_of good)" "certmonger status after enrolling"
gw_assert_file "$T/good.pem"
gw_assert_cert_key "$T/good.pem" "$T/good.key"
gw_assert_cert_chains "$T/good.pem" "$SIM_DIR/ca-chain.pem"

# A wrong challenge is rejected, and certmonger could read the rejection.
rc=0
getcert_run wrong request -c "$CA_NAME" -I wrong \
    -k "$T/wrong.key" -f "$T/wrong.pem" -N CN=interop-certmonger-wrong \
    -L "wrong-$challenge" -w --wait-timeout=60 -v || rc=$?
[ "$rc" -ne 0 ] || gw_fail "getcert request succeeded with a wrong challenge"
[ ! -s "$T/wrong.pem" ] ||
    gw_fail "certmonger saved a certificate for a wrong challenge"
getcert list -i wrong >"$T/getcert-list-wrong.log" 2>&1 || true
gw_assert_eq CA_REJECTED "$(status_of wrong)" \
    "certmonger status after a wrong challenge"

gw_stop
