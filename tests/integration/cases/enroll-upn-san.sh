#!/usr/bin/env bash
# A CSR with a Microsoft UPN otherName SAN (smart-card logon, Intune): the
# UPN travels to GlobalSign in the order's UPN element and the issued
# certificate carries it. A CSR asking for a dNSName is refused by name,
# not silently dropped: EPKI cannot carry it.
. "$GW_SRC/tests/integration/lib.sh"
gw_up

openssl genrsa -out "$T/upn.key" 2048 2>/dev/null
c=$(gw_challenge)
openssl req -new -key "$T/upn.key" -out "$T/upn.csr" \
    -config <(printf '[req]\ndistinguished_name=dn\nattributes=att\nreq_extensions=ext\nprompt=no\n[dn]\nCN=upn-device\n[att]\nchallengePassword=%s\n[ext]\nsubjectAltName=otherName:1.3.6.1.4.1.311.20.2.3;UTF8:alice@corp.example\n' "$c")
openssl req -in "$T/upn.csr" -noout -text >"$T/csr.txt"
gw_assert_contains "$T/csr.txt" "challengePassword"
enroll_expect upn SUCCESS --csr "$T/upn.csr"
assert_issued upn
openssl x509 -in "$T/upn.pem" -noout -ext subjectAltName >"$T/san" 2>&1
gw_assert_contains "$T/san" "alice@corp.example" "UPN in the certificate"

openssl genrsa -out "$T/dns.key" 2048 2>/dev/null
c=$(gw_challenge)
openssl req -new -key "$T/dns.key" -out "$T/dns.csr" \
    -config <(printf '[req]\ndistinguished_name=dn\nattributes=att\nreq_extensions=ext\nprompt=no\n[dn]\nCN=dns-device\n[att]\nchallengePassword=%s\n[ext]\nsubjectAltName=DNS:host.example\n' "$c")
enroll_expect dns FAILURE --csr "$T/dns.csr"
gw_assert_contains "$T/dns.out" "failinfo=badRequest"
gw_assert_contains "$T/scepgw.log" "dNSName|DNS"
gw_assert_eq 1 "$(sim_orders)" "orders at epki-sim"
gw_stop
