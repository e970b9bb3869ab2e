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

# A private certmonger daemon that knows the gateway as $CA_NAME.
. "$(dirname "$0")/../certmonger.bash"
cm_start

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
