#!/usr/bin/env bash
# Interop: micromdm's scepclient (Debian package `scep`) enrolls through
# scepgw + epki-sim with a fresh one-time challenge, gets a certificate for
# its own key that chains to the EPKI root, and is refused (a SCEP FAILURE,
# not an HTTP error) with a wrong challenge.
#
# scepclient 2.1 encrypts its requests with single DES and signs with
# SHA-1, whatever the caps say, so the gateway runs with
# [scep] allow_des = yes. It also writes csr.pem and self.pem into its
# working folder and reuses a self.pem it finds there (with a different
# key that breaks the request's signature), so every run gets a fresh
# folder.
. "${GW_HARNESS:-$(dirname "$0")/../../lib/harness.sh}"

gw_need scepclient openssl curl
gw_tmpdir
gw_start_sim
gw_init
gw_conf_set scep allow_des yes
gw_start

gw_assert_caps "$GW_URL" POSTPKIOperation SHA-256 AES

# scepclient_enroll NAME CHALLENGE: run scepclient in $T/NAME; its output
# goes to $T/scepclient-NAME.log; returns scepclient's exit status.
scepclient_enroll() {
	local name=$1 challenge=$2 rc=0 t0=$SECONDS
	mkdir -p "$T/$name"
	(cd "$T/$name" && gw_run "$T/scepclient-$name.log" 120 \
	    scepclient -server-url "$GW_URL" -challenge "$challenge" \
	    -cn "interop-scepclient-$name" \
	    -private-key "$T/$name/device.key" \
	    -certificate "$T/$name/device.pem" -debug) || rc=$?
	gw_log "scepclient ($name) exited $rc after $((SECONDS - t0))s"
	return "$rc"
}

# A fresh challenge enrolls.
challenge=$(gw_challenge --cn interop-scepclient-good)
scepclient_enroll good "$challenge" ||
    gw_fail "scepclient did not enroll with a fresh challenge"
gw_assert_contains "$T/scepclient-good.log" 'pkiStatus=SUCCESS' \
    "scepclient with a fresh challenge"
gw_assert_file "$T/good/device.pem"
gw_assert_cert_key "$T/good/device.pem" "$T/good/device.key"
gw_assert_cert_chains "$T/good/device.pem" "$SIM_DIR/ca-chain.pem"

# A wrong challenge is refused with a SCEP FAILURE CertRep.
rc=0
scepclient_enroll wrong "wrong-$challenge" || rc=$?
[ "$rc" -ne 0 ] || gw_fail "scepclient enrolled with a wrong challenge"
[ ! -s "$T/wrong/device.pem" ] ||
    gw_fail "scepclient wrote a certificate with a wrong challenge"
gw_assert_not_contains "$T/scepclient-wrong.log" 'pkiStatus=SUCCESS' \
    "scepclient with a wrong challenge"
gw_assert_contains "$T/scepclient-wrong.log" 'request failed, failInfo' \
    "scepclient with a wrong challenge (a FAILURE CertRep)"

gw_stop
