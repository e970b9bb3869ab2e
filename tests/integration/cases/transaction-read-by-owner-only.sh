#!/usr/bin/env bash
# Who may read a transaction (README "Security model"): CertPoll and a
# resent request with the same CSR are answered only when signed with the
# key of the original request, GetCert only to a signer holding the key of
# the certificate. Anyone else gets FAILURE badCertId, as for an unknown
# transaction or serial, and nothing is ordered.
. "$GW_SRC/tests/integration/lib.sh"
gw_up

openssl genrsa -out "$T/bob.key" 2048 2>/dev/null
openssl genrsa -out "$T/eve.key" 2048 2>/dev/null
c=$(gw_challenge --cn bob)
openssl req -new -key "$T/bob.key" -out "$T/bob.csr" -config <(printf \
    '[req]\ndistinguished_name=dn\nattributes=att\nprompt=no\n[dn]\nCN=bob\n[att]\nchallengePassword=%s\n' \
    "$c")
enroll_expect bob SUCCESS --csr "$T/bob.csr" --txid BOBTXID
gw_assert_eq 1 "$(sim_orders)" "orders after bob's enrollment"

# The owner polls and resends: the stored answer.
"$GW_BUILD/scepreq" poll --url "$GW_URL" --key "$T/bob.key" --txid BOBTXID \
    --cert-out "$T/bob-poll.pem" >"$T/bob-poll.out" 2>&1 ||
    { cat "$T/bob-poll.out" >&2; gw_fail "bob's own CertPoll failed"; }
gw_assert_eq "$(openssl x509 -in "$T/bob.pem" -noout -fingerprint)" \
    "$(openssl x509 -in "$T/bob-poll.pem" -noout -fingerprint)" "bob's poll"
enroll_expect bob-again SUCCESS --key "$T/bob.key" --csr "$T/bob.csr" \
    --txid BOBTXID

# A stranger polls bob's transaction: as if it did not exist.
rc=0
"$GW_BUILD/scepreq" poll --url "$GW_URL" --key "$T/eve.key" --txid BOBTXID \
    --cert-out "$T/eve-poll.pem" >"$T/eve-poll.out" 2>&1 || rc=$?
gw_assert_eq 2 "$rc" "eve's CertPoll of bob's transaction (FAILURE)"
gw_assert_contains "$T/eve-poll.out" "failinfo=badCertId"
[ ! -s "$T/eve-poll.pem" ] || gw_fail "eve got a certificate by CertPoll"
gw_assert_contains "$T/scepgw.log" \
    "txid=BOBTXID: CertPoll signed by a key other than the request's"
rc=0
"$GW_BUILD/scepreq" poll --url "$GW_URL" --key "$T/eve.key" --txid NOSUCHTXID \
    >"$T/eve-unknown.out" 2>&1 || rc=$?
gw_assert_eq 2 "$rc" "CertPoll of an unknown transaction"
gw_assert_eq "$(sed -n 's/.*\(failinfo=[^ ]*\).*/\1/p' "$T/eve-unknown.out")" \
    "$(sed -n 's/.*\(failinfo=[^ ]*\).*/\1/p' "$T/eve-poll.out")" \
    "a stranger's poll looks like an unknown transaction's"

# A stranger resends bob's captured CSR under bob's transactionID.
enroll_expect eve FAILURE --key "$T/eve.key" --csr "$T/bob.csr" --txid BOBTXID
gw_assert_contains "$T/eve.out" "failinfo=badCertId"
[ ! -s "$T/eve.pem" ] || gw_fail "eve got bob's certificate by a resend"

# GetCert: only the holder of the certificate's key.
serial=$(openssl x509 -in "$T/bob.pem" -noout -serial | cut -d= -f2)
"$GW_BUILD/scepreq" getcert --url "$GW_URL" --key "$T/bob.key" \
    --serial "$serial" --cert-out "$T/bob-get.pem" >"$T/bob-get.out" 2>&1 ||
    { cat "$T/bob-get.out" >&2; gw_fail "bob's own GetCert failed"; }
rc=0
"$GW_BUILD/scepreq" getcert --url "$GW_URL" --key "$T/eve.key" \
    --serial "$serial" --cert-out "$T/eve-get.pem" >"$T/eve-get.out" 2>&1 ||
    rc=$?
gw_assert_eq 2 "$rc" "eve's GetCert of bob's serial (FAILURE)"
gw_assert_contains "$T/eve-get.out" "failinfo=badCertId"
gw_assert_contains "$T/scepgw.log" "GetCert: serial=$serial asked for by a signer without its key"
gw_assert_eq 1 "$(sim_orders)" "orders at epki-sim"
gw_stop
