#!/usr/bin/env bash
# Interop: PENDING then poll. epki-sim takes 4 s per order and the gateway
# answers PENDING after [scep] pending_after_seconds = 1; certmonger must
# record the request as waiting, ask again on its own, without `getcert
# resubmit`, and end in MONITORING with a certificate for its key. Set-up
# as in certmonger-enrolls.sh.
#
# How soon certmonger asks again is the CA helper's choice: after a helper
# exits 1 ("still thinking") the daemon waits CM_DELAY_CA_POLL, a week,
# and no certmonger.conf setting changes that; after a helper exits 5 it
# waits the number of seconds printed before the cookie
# (certmonger-scep-submit(8), EXIT STATUS). scep-submit exits 1 for every
# PENDING reply (a SCEP CertRep carries no retry time), so the CA is
# switched with `getcert modify-ca -e` to deploy/certmonger-scep-poll,
# which runs scep-submit and turns its 1 into 5 with $POLL_DELAY seconds:
# what the README tells deployments to do.
#
# certmonger 0.79 asks again with its PKCSReq (same transactionID, fresh
# senderNonce), not with a CertPoll: its POLL attempt gets no SCEP
# messages (their nonce was used), scep-submit asks for new ones (exit
# 16), and the daemon drops the cookie on that status, so the next attempt
# is a SUBMIT. The gateway answers that retry from its stored state.
. "${GW_HARNESS:-$(dirname "$0")/../../lib/harness.sh}"

SCEP_SUBMIT=${SCEP_SUBMIT:-/usr/lib/certmonger/scep-submit}
CA_NAME=scepgw-test
POLL_DELAY=2	# seconds; shorter than the 4 s order, so it polls twice

PATH=$PATH:/usr/sbin:/sbin
gw_need certmonger getcert openssl curl
[ -x "$SCEP_SUBMIT" ] || gw_skip "$SCEP_SUBMIT is missing (package certmonger)"
gw_tmpdir
# Every order takes 4 s at EPKI; the gateway answers PENDING after 1 s.
gw_start_sim --latency-ms 4000
gw_init
gw_conf_set scep pending_after_seconds 1
# At debug level the gateway logs each pkiMessage's type.
gw_conf_set log level debug
gw_start

# A private certmonger daemon that knows the gateway as $CA_NAME.
. "$(dirname "$0")/../certmonger.bash"
cm_start

# The wrapping helper (deploy/certmonger-scep-poll, documented in the
# README): scep-submit's output and status pass through, except that
# "still thinking" (1) becomes "ask again in N seconds" (5).
helper=$(getcert list-cas -c "$CA_NAME" |
    sed -n 's/^[[:space:]]*helper-location: //p')
case $helper in
"$SCEP_SUBMIT "*) ;;
*) gw_fail "unexpected helper for $CA_NAME: '$helper'" ;;
esac
getcert_run modify-ca modify-ca -c "$CA_NAME" \
    -e "$GW_SRC/deploy/certmonger-scep-poll $POLL_DELAY $helper" ||
    gw_fail "getcert modify-ca failed"

challenge=$(gw_challenge --cn interop-certmonger-pending)
t0=$SECONDS
rc=0
getcert_run pending request -c "$CA_NAME" -I pending \
    -k "$T/pending.key" -f "$T/pending.pem" -N CN=interop-certmonger-pending \
    -L "$challenge" -w --wait-timeout=50 -v || rc=$?
gw_assert_contains "$T/scepgw.log" 'scep=PENDING' \
    "gateway log (the first answer must be PENDING)"
# No `getcert resubmit`: the daemon polls by itself every $POLL_DELAY s.
for ((i = 0; i < 300; i++)); do
	[ "$(status_of pending)" = MONITORING ] && break
	sleep 0.1
done
gw_assert_eq MONITORING "$(status_of pending)" \
    "certmonger status $((SECONDS - t0)) s after the request (getcert exited $rc)"
# The PENDING transaction was asked about again: a second PKCSReq or a
# CertPoll with its transactionID.
txid=$(sed -n 's/.* txid=\([0-9A-Za-z]*\) scep=PENDING$/\1/p' \
    "$T/scepgw.log" | head -n 1)
[ -n "$txid" ] || gw_fail "no transactionID on the PENDING line"
polls=$(grep -c -E "txid=$txid: (PKCSReq|CertPoll)\$" "$T/scepgw.log" || true)
[ "$polls" -ge 2 ] ||
    gw_fail "gateway saw $polls request(s) for $txid, expected a poll too"
gw_assert_contains "$T/certmonger.log" "in $POLL_DELAY seconds" \
    "certmonger log (the helper's delay must set the next poll)"
gw_assert_file "$T/pending.pem"
gw_assert_cert_key "$T/pending.pem" "$T/pending.key"
gw_assert_cert_chains "$T/pending.pem" "$SIM_DIR/ca-chain.pem"
gw_stop
