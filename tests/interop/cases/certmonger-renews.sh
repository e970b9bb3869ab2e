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

# A private certmonger daemon that knows the gateway as $CA_NAME.
. "$(dirname "$0")/../certmonger.bash"
cm_start

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
