#!/usr/bin/env bash
# Interop: PENDING then poll. epki-sim takes 4 s per order and the gateway
# answers PENDING after [scep] pending_after_seconds = 1; certmonger must
# record the request as waiting, poll with GetCertInitial on its own and
# end in MONITORING with a certificate for its key, within a minute.
# Set-up as in certmonger-enrolls.sh.
. "${GW_HARNESS:-$(dirname "$0")/../../lib/harness.sh}"

SCEP_SUBMIT=${SCEP_SUBMIT:-/usr/lib/certmonger/scep-submit}
CA_NAME=scepgw-test

PATH=$PATH:/usr/sbin:/sbin
gw_need certmonger getcert openssl curl
[ -x "$SCEP_SUBMIT" ] || gw_skip "$SCEP_SUBMIT is missing (package certmonger)"
gw_tmpdir
# Every order takes 4 s at EPKI; the gateway answers PENDING after 1 s.
gw_start_sim --latency-ms 4000
gw_init
gw_conf_set scep pending_after_seconds 1
gw_start

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

challenge=$(gw_challenge --cn interop-certmonger-pending)
t0=$SECONDS
rc=0
getcert_run pending request -c "$CA_NAME" -I pending \
    -k "$T/pending.key" -f "$T/pending.pem" -N CN=interop-certmonger-pending \
    -L "$challenge" -w --wait-timeout=50 -v || rc=$?
gw_assert_contains "$T/scepgw.log" 'scep=PENDING' \
    "gateway log (the first answer must be PENDING)"
# certmonger 0.79 schedules its next poll of a PENDING SCEP request a week
# later ("Will revisit ... in 604800 seconds"): after the order completes
# in the background, `getcert resubmit` makes it ask again now.
gw_assert_eq CA_WORKING "$(status_of pending)" "status while PENDING"
sleep 5
getcert_run resubmit resubmit -i pending -w --wait-timeout=40 -v || true
for ((i = 0; i < 200; i++)); do
	[ "$(status_of pending)" = MONITORING ] && break
	sleep 0.1
done
gw_assert_eq MONITORING "$(status_of pending)" \
    "certmonger status $((SECONDS - t0)) s after the PENDING reply (getcert exited $rc)"
gw_assert_file "$T/pending.pem"
gw_assert_cert_key "$T/pending.pem" "$T/pending.key"
gw_assert_cert_chains "$T/pending.pem" "$SIM_DIR/ca-chain.pem"
gw_stop
