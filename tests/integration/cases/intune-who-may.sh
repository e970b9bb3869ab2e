#!/usr/bin/env bash
# Who may do what on an Intune profile (README "Microsoft Intune", "Who
# may do what"): an attacker holding a certificate of the shared issuing
# CA, a device's CSR with its valid Intune challenge, an Intune challenge
# on another profile, one of our one-time challenges on the Intune
# profile, a look-alike of the strong-mapping SAN, a huge challenge, or
# another key than the requester's gets FAILURE, with Intune asked only
# where it must decide and nothing ordered; our own challenge is not
# consumed. The gateway logs at debug level, and still no challenge, CSR,
# token or secret reaches its log.
. "$GW_SRC/tests/integration/intune.bash"
igw_setup
gw_conf_set log level debug
igw_start
DEF_URL=${IGW_URL%/mdm}

# nothing_for TXID WHAT: Intune never heard of TXID.
nothing_for() {
	gw_assert_eq "" "$(igw_hops "$1")" "Intune calls for $2"
}

# A device of ours: its certificate and key sign the requests below.
igw_device d1 dev1
igw_enroll d1 SUCCESS
igw_order_ok d1
orders=1

# issue_foreign NAME SUBJECT: a certificate for NAME.key from epki-sim's
# issuing CA (GlobalSign issues to anyone), never seen by the gateway.
issue_foreign() {
	openssl req -new -newkey rsa:2048 -nodes -keyout "$T/$1.key" \
	    -out "$T/$1.req" -subj "$2" 2>/dev/null
	printf 'extendedKeyUsage = clientAuth, emailProtection\n' >"$T/eku.cnf"
	openssl x509 -req -in "$T/$1.req" -CA "$SIM_DIR/issuing.pem" \
	    -CAkey "$SIM_DIR/issuing.key" -set_serial 0x5eed0001 -days 30 \
	    -extfile "$T/eku.cnf" -out "$T/$1.pem" 2>/dev/null
	gw_assert_cert_chains "$T/$1.pem" "$SIM_DIR/ca-chain.pem"
}
issue_foreign eve /CN=eve/O=Other-Company

# The renewal bypass: a RenewalReq or a PKCSReq signed by a certificate
# the gateway issued on this very profile, without a challenge: there is
# no challenge-less renewal on an Intune profile.
GW_URL=$IGW_URL enroll_expect rb1 FAILURE --cn dev1 --txid tx-rb1 \
    --renew-cert "$T/d1.pem" --renew-key "$T/d1.key"
nothing_for tx-rb1 "a RenewalReq without challenge"
GW_URL=$IGW_URL enroll_expect rb2 FAILURE --cn dev1 --txid tx-rb2 \
    --renew-cert "$T/d1.pem" --renew-key "$T/d1.key" --pkcsreq
nothing_for tx-rb2 "a PKCSReq signed by our certificate, without challenge"
# The same with another company's certificate of the shared CA.
GW_URL=$IGW_URL enroll_expect rb3 FAILURE --cn eve --txid tx-rb3 \
    --renew-cert "$T/eve.pem" --renew-key "$T/eve.key"
nothing_for tx-rb3 "a RenewalReq signed by a foreign certificate"
gw_assert_eq "$orders" "$(sim_orders)" "orders after the renewal bypass"

# A device's CSR, its valid Intune challenge inside, re-signed by another
# company's certificate under a new transactionID (what anyone can do
# with a captured request: the envelope needs no decryption to be signed
# again): refused before Intune is asked, nothing ordered.
igw_device d2 dev2
GW_URL=$IGW_URL enroll_expect d2eve FAILURE --csr "$T/d2.csr" \
    --txid tx-d2eve --renew-cert "$T/eve.pem" --renew-key "$T/eve.key" \
    --pkcsreq
gw_assert_contains "$T/d2eve.out" 'failinfo=badMessageCheck'
nothing_for tx-d2eve "a CSR signed by a foreign certificate"
gw_assert_contains "$T/scepgw.log" \
    'txid=tx-d2eve: PKCSReq signed by a certificate this gateway did not issue'
gw_assert_eq "$orders" "$(sim_orders)" "orders for the foreign signer"
# The same CSR signed by a certificate we issued (Apple devices sign the
# renewal's PKCSReq with the old certificate): Intune decides, issued.
GW_URL=$IGW_URL enroll_expect d2 SUCCESS --csr "$T/d2.csr" --txid tx-d2 \
    --renew-cert "$T/d1.pem" --renew-key "$T/d1.key" --pkcsreq
orders=$((orders + 1))
gw_assert_eq "validate success" "$(igw_hops tx-d2)" "Intune calls for tx-d2"

# A replay of tx-d1 (same transactionID, same CSR) from another key, a
# CertPoll and a GetCert of it by another key: badCertId or refused, no
# Intune call, nothing ordered, the certificate not handed out.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$T/mallory.key" 2>/dev/null
cp "$T/mallory.key" "$T/rp.key"
GW_URL=$IGW_URL enroll_expect rp FAILURE --csr "$T/d1.csr" --txid tx-d1
gw_assert_contains "$T/rp.out" 'failinfo=badCertId'
rc=0
"$GW_BUILD/scepreq" poll --url "$IGW_URL" --key "$T/mallory.key" \
    --csr "$T/d1.csr" --txid tx-d1 --cert-out "$T/mp.pem" >"$T/mp.out" 2>&1 || rc=$?
gw_assert_eq 2 "$rc" "CertPoll of tx-d1 by another key"
gw_assert_contains "$T/mp.out" 'failinfo=badCertId'
serial=$(openssl x509 -in "$T/d1.pem" -noout -serial | cut -d= -f2)
rc=0
"$GW_BUILD/scepreq" getcert --url "$IGW_URL" --key "$T/mallory.key" \
    --serial "$serial" --cert-out "$T/mg.pem" >"$T/mg.out" 2>&1 || rc=$?
gw_assert_eq 2 "$rc" "GetCert of d1's certificate by another key"
[ ! -s "$T/mg.pem" ] || gw_fail "GetCert handed d1's certificate to another key"
gw_assert_eq "validate success" "$(igw_hops tx-d1)" "Intune calls for tx-d1"

# The same CSR under a new transactionID, signed by its own key (the
# device, or whoever has it) or by a live certificate of ours: not
# validated or ordered again, while its challenge would still pass.
cp "$T/d1.key" "$T/d1again.key"
GW_URL=$IGW_URL enroll_expect d1again FAILURE --csr "$T/d1.csr" --txid tx-d1again
nothing_for tx-d1again "d1's CSR under a new transactionID"
gw_assert_contains "$T/scepgw.log" \
    'txid=tx-d1again: the same CSR was recorded already as txid=tx-d1'
GW_URL=$IGW_URL enroll_expect d2again FAILURE --csr "$T/d2.csr" \
    --txid tx-d2again --renew-cert "$T/d1.pem" --renew-key "$T/d1.key" --pkcsreq
nothing_for tx-d2again "d2's CSR signed again by a certificate of ours"
gw_assert_contains "$T/scepgw.log" \
    'txid=tx-d2again: the same CSR was recorded already as txid=tx-d2'
gw_assert_eq "$orders" "$(sim_orders)" "orders after the resent CSRs"

# An Intune challenge on a profile without Intune: an unknown challenge
# of ours, Intune not asked, nothing ordered.
igw_device d3 dev3
GW_URL=$DEF_URL enroll_expect d3 FAILURE --csr "$T/d3.csr" --txid tx-d3
nothing_for tx-d3 "an Intune challenge on the default profile"
gw_assert_contains "$T/scepgw.log" 'txid=tx-d3: challenge refused: unknown challenge'

# One of our one-time challenges sent to the Intune profile: Intune
# refuses it, and it is not consumed: it still enrolls on its profile.
c=$(gw_challenge --profile default)
printf '%s\n' "$c" >>"$T/challenges"
GW_URL=$IGW_URL enroll_expect oc FAILURE --challenge "$c" --cn local1 --txid tx-oc
gw_assert_eq validate "$(igw_hops tx-oc)" "Intune calls for a local challenge"
gw_assert_contains "$T/scepgw.log" 'txid=tx-oc: Intune validateRequest: refused'
GW_URL=$DEF_URL enroll_expect oc2 SUCCESS --challenge "$c" --cn local1 --txid tx-oc2
orders=$((orders + 1))

# Look-alikes of the strong-mapping SAN are URIs like any other: refused
# before Intune is asked.
n=0
for uri in 'TAG:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-500' \
    'tag:Microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-500' \
    'tag:microsoft.com,2022-09-15:sid:S-1-5-21-1-2-3-500' \
    'tag:microsoft.com,2022-09-14:sidS-1-5-21-1-2-3-500' \
    'tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-500/x'; do
	n=$((n + 1))
	igw_device "la$n" "dev-la$n" '[]' "URI.1 = $uri"
	igw_enroll "la$n" FAILURE
	nothing_for "tx-la$n" "the look-alike $uri"
	gw_assert_contains "$T/scepgw.log" \
	    "txid=tx-la$n: CSR refused: it asks for a uniformResourceIdentifier"
done
# The real tag beside a second URI: the second one is refused.
sid='tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-500'
igw_device la9 dev-la9 '[]' "URI.1 = $sid
URI.2 = https://evil.example/x"
igw_enroll la9 FAILURE
nothing_for tx-la9 "the tag with a second URI"

# Huge challenges: 40 KiB goes to Intune whole in the CSR (a clean
# refusal here, sim's format not met); beyond [server] max_request_bytes
# the request is refused at the HTTP layer; the gateway stays up.
huge() {
	local name=$1 len=$2
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	    -out "$T/$name.key" 2>/dev/null
	head -c "$len" /dev/zero | tr '\0' 'A' >"$T/$name.ch"
	printf '[req]\nprompt = no\ndistinguished_name = dn\nattributes = a\n[dn]\nCN = %s\n[a]\nchallengePassword = %s\n' \
	    "$name" "$(cat "$T/$name.ch")" >"$T/$name.cnf"
	openssl req -new -key "$T/$name.key" -config "$T/$name.cnf" \
	    -out "$T/$name.csr" 2>"$T/$name.err" ||
	    gw_fail "openssl req for $name: $(cat "$T/$name.err")"
}
huge h40 40960
igw_enroll h40 FAILURE
gw_assert_eq validate "$(igw_hops tx-h40)" "Intune calls for a 40 KiB challenge"
gw_assert_contains "$T/scepgw.log" 'txid=tx-h40: Intune validateRequest: refused'
huge h70 71680
rc=0
GW_URL=$IGW_URL enroll h70 --csr "$T/h70.csr" --txid tx-h70 || rc=$?
gw_assert_eq 1 "$rc" "scepreq for a 70 KiB challenge (HTTP refusal)"
nothing_for tx-h70 "a 70 KiB challenge"
# A challengePassword of bytes that are neither UTF-8 nor printable (a
# T61String with 0xFF, 0x80, DEL, 0x01, a backslash): the CSR goes to
# Intune base64'd in a JSON body that stays valid (no violation at the
# sim), Intune refuses, FAILURE.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$T/bin.key" 2>/dev/null
printf '[req]\nprompt = no\nstring_mask = nombstr\ndistinguished_name = dn\nattributes = a\n[dn]\nCN = bin\n[a]\nchallengePassword = \377\376\200q\\\\x\177\001\n' \
    >"$T/bin.cnf"
openssl req -new -key "$T/bin.key" -config "$T/bin.cnf" -out "$T/bin.csr" \
    2>"$T/bin.err" || gw_fail "openssl req for bin: $(cat "$T/bin.err")"
igw_enroll bin FAILURE
gw_assert_eq validate "$(igw_hops tx-bin)" "Intune calls for a binary challenge"
gw_assert_contains "$T/scepgw.log" 'txid=tx-bin: Intune validateRequest: refused'

igw_device d5 dev5
igw_enroll d5 SUCCESS
orders=$((orders + 1))
igw_order_ok d5

# GetCert of a certificate Intune has not accepted yet, by its own key,
# while the database cannot say whether Intune has: HTTP 503, never the
# certificate (README "Microsoft Intune", step 4).
gw_need sqlite3
isim_admin fault '{"hop":"success","mode":"503"}' >/dev/null
igw_device d6 dev6
igw_enroll d6 PENDING
orders=$((orders + 1))
serial=$(sqlite3 -cmd '.timeout 10000' "$GW_DIR/scepgw.db" \
    "SELECT serial_hex FROM certificates WHERE txid = 'tx-d6';")
[ -n "$serial" ] || gw_fail "no certificate recorded for tx-d6"
sqlite3 -cmd '.timeout 10000' "$GW_DIR/scepgw.db" \
    "ALTER TABLE transactions RENAME TO transactions_away;"
rc=0
"$GW_BUILD/scepreq" getcert --url "$IGW_URL" --key "$T/d6.key" \
    --serial "$serial" --cert-out "$T/d6g.pem" >"$T/d6g.out" 2>&1 || rc=$?
sqlite3 -cmd '.timeout 10000' "$GW_DIR/scepgw.db" \
    "ALTER TABLE transactions_away RENAME TO transactions;"
gw_assert_eq 1 "$rc" "GetCert while the database fails"
gw_assert_contains "$T/d6g.out" "503"
[ ! -s "$T/d6g.pem" ] || gw_fail "GetCert handed out a certificate Intune has not accepted"
# With the database back: refused until Intune accepts, then delivered.
rc=0
"$GW_BUILD/scepreq" getcert --url "$IGW_URL" --key "$T/d6.key" \
    --serial "$serial" --cert-out "$T/d6g.pem" >"$T/d6g.out" 2>&1 || rc=$?
gw_assert_eq 2 "$rc" "GetCert before Intune accepted"
isim_admin fault '{"mode":"clear"}' >/dev/null
igw_poll_until d6
igw_order_ok d6

# Log hygiene at debug level: no challenge, no secret (igw_no_secrets),
# no CSR and no access token.
igw_all_logs >"$T/all.txt"
grep -q 'txid=tx-d5: PKCSReq' "$T/all.txt" || gw_fail "the log is not at debug level"
for f in d1 d2 d5 d6; do
	piece=$(sed -n 5p "$T/$f.csr")
	! grep -qF -- "$piece" "$T/all.txt" || gw_fail "$f's CSR is in the log"
done
! grep -q 'eyJ[A-Za-z0-9_-]\{20,\}' "$T/all.txt" || gw_fail "a token is in the log"
# Every order but oc2's (the default profile) was notified to Intune.
gw_assert_eq "$orders" "$(sim_orders)" "orders at epki-sim"
igw_log
gw_assert_eq $((orders - 1)) "$(jq '[.entries[] | select(.hop == "success" and
    .result == "Success")] | length' "$T/isim-log.json")" "success notifications"
gw_assert_eq 0 "$(isim_admin violations | jq '.violations | length')" \
    "intune-sim violations"
igw_no_secrets
gw_stop
