#!/usr/bin/env bash
# What Intune refuses is never ordered (README "Microsoft Intune"): a bad
# client secret (no token: fail closed), each refusal code Intune sends
# (ChallengeExpired, SubjectNameMismatch, BadTenantIdInChallenge, a code
# outside Microsoft's list) and a validateRequest that gets no usable
# answer (500, an HTML page, no answer at all) end in FAILURE badRequest
# with Intune's code in the log, no order at GlobalSign and no
# failureNotification; a refusal counts against the address's failure
# limit as a wrong challenge does, Intune being unreachable does not;
# Intune's service missing from discovery and Graph's permission missing
# are named in the log.
. "$GW_SRC/tests/integration/intune.bash"
IGW_TIMEOUT=5 igw_setup
gw_conf_set enroll max_failures_per_minute 4
gw_admin_enable
igw_start

# An Intune profile takes no one-time challenge of ours: the CLI, the
# admin API and `user add` refuse to make or allow one for it.
rc=0
"$GW_BUILD/scepgw" challenge new --profile mdm -c "$GW_CONF" >"$T/chal.out" 2>&1 || rc=$?
gw_assert_eq 1 "$rc" "challenge new --profile mdm: exit status"
gw_assert_contains "$T/chal.out" 'profile mdm\] takes only Intune.s challenges'
rc=0
printf 'pw-of-u\n' | "$GW_BUILD/scepgw" user add u --profile mdm -c "$GW_CONF" >"$T/user.out" 2>&1 || rc=$?
gw_assert_eq 1 "$rc" "user add --profile mdm: exit status"
gw_assert_contains "$T/user.out" 'profile mdm\] takes only Intune.s challenges'
code=$(curl -sS -m 20 -X POST -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -d '{"profile":"mdm"}' \
    -o "$T/api.body" -w '%{http_code}' "$GW_ADMIN_URL/api/v1/challenges")
gw_assert_eq 400 "$code" "POST /api/v1/challenges for profile mdm"
gw_assert_contains "$T/api.body" 'takes only Intune.s challenges'
"$GW_BUILD/scepgw" challenge list -c "$GW_CONF" >"$T/chal-list.out" 2>&1
gw_assert_not_contains "$T/chal-list.out" 'mdm' "challenge list"

# refused NAME CODE: NAME's enrollment failed, Intune was asked once and
# told nothing afterwards (a faulted answer's entry names no transaction:
# NOHOPS), and the log names CODE.
refused() {
	igw_enroll "$1" FAILURE
	[ -n "${NOHOPS:-}" ] ||
	    gw_assert_eq validate "$(igw_hops "tx-$1")" "Intune calls for tx-$1"
	gw_assert_contains "$T/scepgw.log" \
	    "txid=tx-$1: Intune validateRequest: .*code=$2"
}

# A wrong client secret (before any token is cached): Entra refuses the
# token, nothing is issued.
isim_admin config '{"client_secret":"not-the-one-we-have"}' >/dev/null
igw_device bad dev0
igw_enroll bad FAILURE
gw_assert_contains "$T/scepgw.log" 'txid=tx-bad: Intune validateRequest: unavailable'
isim_admin config "{\"client_secret\":\"$ISIM_SECRET\"}" >/dev/null

# No usable answer, after the client's retries: FAILURE, nothing ordered.
for mode in 500 html hang; do
	isim_admin fault '{"mode":"clear"}' >/dev/null
	isim_admin fault "{\"hop\":\"validate\",\"mode\":\"$mode\",\"ms\":20000}" >/dev/null
	igw_device "u$mode" "dev-$mode"
	igw_enroll "u$mode" FAILURE
	gw_assert_contains "$T/scepgw.log" \
	    "txid=tx-u$mode: Intune validateRequest: unavailable"
done
isim_admin fault '{"mode":"clear"}' >/dev/null

# Intune's refusals, as it sends them.
isim_admin challenge '{"subject":"CN=dev1","ttl":60}' | jq -r .challenge >"$T/old.ch"
igw_device d1 dev1
# d1's CSR with the challenge that expires: 61 s later on the sim clock.
sed -i "s|^challengePassword = .*|challengePassword = $(cat "$T/old.ch")|" "$T/d1.cnf"
cat "$T/old.ch" >>"$T/challenges"
openssl req -new -key "$T/d1.key" -config "$T/d1.cnf" -out "$T/d1.csr" 2>/dev/null
isim_admin clock '{"advance":61}' >/dev/null
refused d1 ChallengeExpired
isim_admin clock '{"offset":0}' >/dev/null
ch=$(isim_challenge '{"subject":"CN=someone-else"}')
printf '%s\n' "$ch" >>"$T/challenges"
igw_device d2 dev2
sed -i "s|^challengePassword = .*|challengePassword = $ch|" "$T/d2.cnf"
openssl req -new -key "$T/d2.key" -config "$T/d2.cnf" -out "$T/d2.csr" 2>/dev/null
refused d2 SubjectNameMismatch
ch=$(isim_challenge '{"subject":"CN=dev3","tenant":"00000000-1111-2222-3333-444444444444"}')
printf '%s\n' "$ch" >>"$T/challenges"
igw_device d3 dev3
sed -i "s|^challengePassword = .*|challengePassword = $ch|" "$T/d3.cnf"
openssl req -new -key "$T/d3.key" -config "$T/d3.cnf" -out "$T/d3.csr" 2>/dev/null
refused d3 BadTenantIdInChallenge
isim_admin fault '{"hop":"validate","mode":"code","code":"SomethingNew","count":1}' >/dev/null
igw_device d4 dev4
NOHOPS=1 refused d4 SomethingNew

# Four refusals from this address: the fifth request is not even sent to
# Intune.
igw_device d5 dev5
igw_enroll d5 FAILURE
gw_assert_eq "" "$(igw_hops tx-d5)" "Intune calls past the failure limit"
gw_assert_contains "$T/scepgw.log" \
    'txid=tx-d5: challenge refused: too many failed attempts'

# Nothing was ordered, Intune heard of no outcome, and a request from
# another address goes through.
gw_assert_eq 0 "$(sim_orders)" "orders at epki-sim"
igw_log
gw_assert_eq 0 "$(jq '[.entries[] | select(.hop == "success" or .hop == "failure")] |
    length' "$T/isim-log.json")" "notifications"
igw_device ok dev-ok
igw_enroll ok SUCCESS --interface 127.0.0.2
igw_order_ok ok
igw_ledger 1

# Intune's service gone from Graph's discovery (Intune not licensed, no
# consent for it), then Graph's permission missing (a gateway that starts
# with no consent for Graph): FAILURE, nothing ordered, and the log names
# the cause as README "Microsoft Intune" lists it.
isim_admin config '{"omit_scep":"yes","service_path":"/gone/StatelessScepRequestValidationService"}' >/dev/null
igw_device ns dev-ns
igw_enroll ns FAILURE --interface 127.0.0.2
gw_assert_contains "$T/scepgw.log" \
    'txid=tx-ns: Intune validateRequest: unavailable: code=ServiceNotFound'
gw_stop
isim_admin config '{"omit_scep":"no","consent":"graph=no, intune=yes"}' >/dev/null
igw_start
igw_device ng dev-ng
igw_enroll ng FAILURE --interface 127.0.0.2
gw_assert_contains "$T/scepgw.log" \
    'txid=tx-ng: Intune validateRequest: unavailable: code=Authorization_RequestDenied http=403'
gw_assert_eq 1 "$(sim_orders)" "orders at epki-sim after the missing permissions"
igw_no_secrets
gw_stop
