#!/usr/bin/env bash
# Interop: certmonger enrolls with a one-time challenge, then `getcert
# resubmit` renews. GetCACaps lists Renewal, so certmonger signs a
# RenewalReq with its current certificate and sends no usable challenge
# (the one it has is spent): the gateway authenticates the renewal by that
# certificate and the new certificate has the same subject, a new serial,
# and chains to the EPKI root. Set-up as in certmonger-enrolls.sh.
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
gw_assert_caps "$GW_URL" Renewal

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

challenge=$(gw_challenge --cn interop-certmonger-renew)
getcert_run first request -c "$CA_NAME" -I renew \
    -k "$T/renew.key" -f "$T/renew.pem" -N CN=interop-certmonger-renew \
    -L "$challenge" -w --wait-timeout=120 -v ||
    gw_fail "getcert request did not enroll (status $(status_of renew))"
gw_assert_eq MONITORING "$(status_of renew)" "status after enrolling"
cp "$T/renew.pem" "$T/first.pem"
serial1=$(openssl x509 -in "$T/first.pem" -noout -serial)
subj1=$(openssl x509 -in "$T/first.pem" -noout -subject -nameopt RFC2253)

getcert_run resubmit resubmit -i renew -w --wait-timeout=120 -v ||
    gw_fail "getcert resubmit did not renew (status $(status_of renew))"
gw_assert_eq MONITORING "$(status_of renew)" "status after resubmit"
serial2=$(openssl x509 -in "$T/renew.pem" -noout -serial)
subj2=$(openssl x509 -in "$T/renew.pem" -noout -subject -nameopt RFC2253)
[ "$serial1" != "$serial2" ] || gw_fail "resubmit kept the old certificate"
gw_assert_eq "$subj1" "$subj2" "subject of the renewed certificate"
gw_assert_cert_key "$T/renew.pem" "$T/renew.key"
gw_assert_cert_chains "$T/renew.pem" "$SIM_DIR/ca-chain.pem"
gw_assert_contains "$T/scepgw.log" 'renewal of serial=.* authenticated' \
    "gateway log (certmonger's resubmit must be an authenticated renewal)"

gw_stop
