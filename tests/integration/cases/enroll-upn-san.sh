#!/usr/bin/env bash
# The Microsoft UPN otherName SAN (smart-card logon, Intune) is decided,
# never taken from the CSR: a challenge made with --upn puts that UPN in
# the order's UPN element and the issued certificate; a CSR asking for a
# UPN nobody decided is refused before its challenge is spent; a profile
# that opts in with `upn = ${csr.upn|""}` takes the CSR's. A renewal keeps
# the old certificate's UPN and refuses a CSR asking for another. A CSR
# asking for a dNSName is refused by name, not silently dropped: EPKI
# cannot carry it.
. "$GW_SRC/tests/integration/lib.sh"
gw_need openssl curl
gw_tmpdir
gw_start_sim
gw_init
gw_conf_set "profile intune" upn '${csr.upn|""}'
SIM_ORDERS0=$(sim_orders)
gw_start
base=${GW_URL%/scep}

# upn_csr NAME CHALLENGE CN [UPN]: $T/NAME.key and $T/NAME.csr.
upn_csr() {
	local ext=''
	openssl genrsa -out "$T/$1.key" 2048 2>/dev/null
	[ -n "${4:-}" ] &&
	    ext="subjectAltName=otherName:1.3.6.1.4.1.311.20.2.3;UTF8:$4"
	openssl req -new -key "$T/$1.key" -out "$T/$1.csr" -config <(
		printf '[req]\ndistinguished_name=dn\nprompt=no\n'
		[ -n "$2" ] && printf 'attributes=att\n'
		[ -n "$ext" ] && printf 'req_extensions=ext\n'
		printf '[dn]\nCN=%s\n' "$3"
		[ -n "$2" ] && printf '[att]\nchallengePassword=%s\n' "$2"
		[ -n "$ext" ] && printf '[ext]\n%s\n' "$ext"
		true
	) || gw_fail "openssl req for $1"
}

# san NAME: the subjectAltName of $T/NAME.pem into $T/NAME.san.
san() {
	openssl x509 -in "$T/$1.pem" -noout -ext subjectAltName >"$T/$1.san" 2>&1 || true
}

# Nobody decided a UPN: the CSR's is refused, the challenge kept.
c=$(gw_challenge)
upn_csr asks "$c" upn-device alice@corp.example
openssl req -in "$T/asks.csr" -noout -text >"$T/csr.txt"
gw_assert_contains "$T/csr.txt" "challengePassword"
enroll_expect asks FAILURE --csr "$T/asks.csr"
gw_assert_contains "$T/asks.out" "failinfo=badRequest"
gw_assert_contains "$T/scepgw.log" "asks for UPN alice@corp.example, the UPN decided is none"
gw_assert_eq 0 "$(sim_orders)" "orders after the refused UPN"

# The same challenge without a UPN in the CSR: no UPN in the certificate.
upn_csr plain "$c" upn-device
enroll_expect plain SUCCESS --csr "$T/plain.csr"
assert_issued plain
san plain
gw_assert_not_contains "$T/plain.san" "UPN" "UPN in a certificate nobody gave one"

# A challenge bound to a UPN: the certificate carries it, asked for or not.
c=$(gw_challenge --cn alice --upn alice@corp.example)
"$GW_BUILD/scepgw" challenge list -c "$GW_CONF" >"$T/list"
gw_assert_contains "$T/list" "cn=alice email=- ou=- upn=alice@corp.example"
upn_csr bound "$c" whatever
enroll_expect bound SUCCESS --csr "$T/bound.csr"
assert_issued bound
san bound
gw_assert_contains "$T/bound.san" "UPN:+alice@corp.example" "bound UPN in the certificate"
c=$(gw_challenge --upn bob@corp.example)
upn_csr same "$c" bob bob@corp.example
enroll_expect same SUCCESS --csr "$T/same.csr"
san same
gw_assert_contains "$T/same.san" "UPN:+bob@corp.example" "asked-for bound UPN"
c=$(gw_challenge --upn carol@corp.example)
upn_csr other "$c" carol administrator@corp.example
enroll_expect other FAILURE --csr "$T/other.csr"
gw_assert_contains "$T/scepgw.log" "asks for UPN administrator@corp.example, the UPN decided is carol@corp.example"
gw_assert_eq 3 "$(sim_orders)" "orders at epki-sim"

# A profile that opts in takes the CSR's UPN.
c=$(gw_challenge)
upn_csr intune "$c" intune-device dave@corp.example
GW_URL=$base/scep/intune enroll_expect intune SUCCESS --csr "$T/intune.csr"
san intune
gw_assert_contains "$T/intune.san" "UPN:+dave@corp.example" "opted-in CSR UPN"

# A renewal keeps the old certificate's UPN; its CSR cannot ask for another.
enroll_expect renewed SUCCESS --cn mallory --renew-cert "$T/bound.pem" \
    --renew-key "$T/bound.key"
san renewed
gw_assert_contains "$T/renewed.san" "UPN:+alice@corp.example" "renewed UPN"
upn_csr renew2 "" alice administrator@corp.example
enroll_expect renew2 FAILURE --csr "$T/renew2.csr" \
    --renew-cert "$T/renewed.pem" --renew-key "$T/renewed.key"
gw_assert_contains "$T/renew2.out" "failinfo=badRequest"
gw_assert_contains "$T/scepgw.log" "asks for UPN administrator@corp.example, the UPN decided is alice@corp.example"
gw_assert_eq 5 "$(sim_orders)" "orders at epki-sim"

openssl genrsa -out "$T/dns.key" 2048 2>/dev/null
c=$(gw_challenge)
openssl req -new -key "$T/dns.key" -out "$T/dns.csr" \
    -config <(printf '[req]\ndistinguished_name=dn\nattributes=att\nreq_extensions=ext\nprompt=no\n[dn]\nCN=dns-device\n[att]\nchallengePassword=%s\n[ext]\nsubjectAltName=DNS:host.example\n' "$c")
enroll_expect dns FAILURE --csr "$T/dns.csr"
gw_assert_contains "$T/dns.out" "failinfo=badRequest"
gw_assert_contains "$T/scepgw.log" "dNSName|DNS"
gw_assert_eq 5 "$(sim_orders)" "orders at epki-sim"
gw_stop
