#!/usr/bin/env bash
# Renewal is for certificates this gateway issued (README "Renewal"). A
# certificate of the same issuing CA that the gateway never issued (signed
# here with epki-sim's issuing key, as GlobalSign issues to anyone), or one
# with the serial of a certificate the gateway issued but other content,
# renews nothing: a RenewalReq gets FAILURE badMessageCheck, a PKCSReq
# signed by it goes down the challenge path. So do certificates the
# database knows but that cannot renew: no clientAuth/emailProtection
# extended key usage, or expired there. Nothing is ordered for them, nor
# when the database cannot answer (HTTP 503).
. "$GW_SRC/tests/integration/lib.sh"
gw_up

# issue_foreign NAME SERIAL SUBJECT [EXTFILE]: a certificate for NAME.key
# from epki-sim's issuing CA, outside the gateway.
issue_foreign() {
	openssl req -new -newkey rsa:2048 -nodes -keyout "$T/$1.key" \
	    -out "$T/$1.csr" -subj "$3" 2>/dev/null
	openssl x509 -req -in "$T/$1.csr" -CA "$SIM_DIR/issuing.pem" \
	    -CAkey "$SIM_DIR/issuing.key" -set_serial "$2" -days 30 \
	    ${4:+-extfile "$4"} -out "$T/$1.pem" 2>/dev/null
	gw_assert_cert_chains "$T/$1.pem" "$SIM_DIR/ca-chain.pem"
}
printf 'extendedKeyUsage = clientAuth, emailProtection\n' >"$T/eku.cnf"

# A PersonalSign-like certificate the gateway never issued.
issue_foreign out 0x1234567890 "/CN=outsider/emailAddress=eve@other.example" \
    "$T/eku.cnf"
enroll_expect rr FAILURE --renew-cert "$T/out.pem" --renew-key "$T/out.key"
gw_assert_contains "$T/rr.out" "failinfo=badMessageCheck"
gw_assert_contains "$T/scepgw.log" \
    "RenewalReq refused: signer serial=1234567890: it was not issued through this gateway"
# Apple-style: a PKCSReq signed by it, no challenge.
enroll_expect pk FAILURE --renew-cert "$T/out.pem" --renew-key "$T/out.key" \
    --pkcsreq
gw_assert_contains "$T/scepgw.log" \
    "PKCSReq signed by serial=1234567890 is not a renewal .it was not issued through this gateway."
gw_assert_eq 0 "$(sim_orders)" "orders for a foreign certificate"

# The same PKCSReq for its own key with a challenge: the challenge path,
# with the challenge's identity, and the challenge is spent.
c=$(gw_challenge --cn bound)
cp "$T/out.key" "$T/own.key"
enroll_expect own SUCCESS --challenge "$c" --renew-cert "$T/out.pem" \
    --renew-key "$T/out.key" --pkcsreq
assert_issued own
gw_assert_eq "CN=bound" \
    "$(openssl x509 -in "$T/own.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//; s/,.*//')" \
    "subject of the challenge path"
enroll_expect own2 FAILURE --challenge "$c" --cn bound
gw_assert_eq 1 "$(sim_orders)" "orders after the challenge path"

# The serial of a certificate the gateway issued, other content.
c=$(gw_challenge --cn alice)
enroll_expect real SUCCESS --challenge "$c"
serial=$(openssl x509 -in "$T/real.pem" -noout -serial | cut -d= -f2)
issue_foreign twin "0x$serial" "/CN=alice" "$T/eku.cnf"
gw_assert_eq "$serial" \
    "$(openssl x509 -in "$T/twin.pem" -noout -serial | cut -d= -f2)" "twin serial"
enroll_expect twin-r FAILURE --renew-cert "$T/twin.pem" --renew-key "$T/twin.key"
gw_assert_contains "$T/twin-r.out" "failinfo=badMessageCheck"
gw_assert_contains "$T/scepgw.log" \
    "signer serial=$serial: it is not the certificate this gateway issued with that serial"
gw_assert_eq 2 "$(sim_orders)" "orders after the twin"

# Known to the database but without an extended key usage the profiles
# issue: put in as if the gateway had issued it.
issue_foreign noeku 0x0BADE4 "/CN=noeku"
der=$(openssl x509 -in "$T/noeku.pem" -outform DER | od -An -v -tx1 | tr -d ' \n')
sqlite3 -cmd '.timeout 10000' "$GW_DIR/scepgw.db" \
    "INSERT INTO transactions(txid, csr_sha256, state, created, updated, cn)
     VALUES ('noeku-txid', x'00', 2, 1, 1, 'noeku');
     INSERT INTO certificates(serial_hex, txid, cert_der, issued, not_after)
     VALUES ('0BADE4', 'noeku-txid', x'$der', 1, 4102444800);"
enroll_expect noeku-r FAILURE --renew-cert "$T/noeku.pem" --renew-key "$T/noeku.key"
gw_assert_contains "$T/noeku-r.out" "failinfo=badMessageCheck"
gw_assert_contains "$T/scepgw.log" \
    "signer serial=0BADE4: it carries neither clientAuth nor emailProtection"

# A certificate the gateway issued, expired in its database.
c=$(gw_challenge --cn old)
enroll_expect old SUCCESS --challenge "$c"
serial=$(openssl x509 -in "$T/old.pem" -noout -serial | cut -d= -f2)
sqlite3 -cmd '.timeout 10000' "$GW_DIR/scepgw.db" \
    "UPDATE certificates SET not_after = 1000 WHERE serial_hex = '$serial';"
enroll_expect old-r FAILURE --renew-cert "$T/old.pem" --renew-key "$T/old.key"
gw_assert_contains "$T/old-r.out" "failinfo=badMessageCheck"
gw_assert_contains "$T/scepgw.log" "signer serial=$serial: it has expired"
gw_assert_eq 3 "$(sim_orders)" "orders after the expired certificate"

# A database error refuses the renewal (HTTP 503), never lets it pass;
# once the database answers again, the same certificate renews.
sqlite3 -cmd '.timeout 10000' "$GW_DIR/scepgw.db" \
    "ALTER TABLE certificates RENAME TO certificates_away;"
rc=0
enroll dberr --renew-cert "$T/real.pem" --renew-key "$T/real.key" || rc=$?
gw_assert_eq 1 "$rc" "scepreq exit status on a database error"
gw_assert_contains "$T/dberr.out" "503"
gw_assert_contains "$T/scepgw.log" "database: cert renewal: no such table"
gw_assert_eq 3 "$(sim_orders)" "orders after the database error"
sqlite3 -cmd '.timeout 10000' "$GW_DIR/scepgw.db" \
    "ALTER TABLE certificates_away RENAME TO certificates;"
enroll_expect real2 SUCCESS --renew-cert "$T/real.pem" --renew-key "$T/real.key"
gw_assert_eq 4 "$(sim_orders)" "orders at epki-sim"
gw_stop
