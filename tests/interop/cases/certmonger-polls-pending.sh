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

# A private certmonger daemon that knows the gateway as $CA_NAME.
. "$(dirname "$0")/../certmonger.bash"
cm_start

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
