#!/usr/bin/env bash
# The console's certificates (README "Admin web console"): the search
# finds an enrolled device's certificate by CN, serial (typed any way) and
# e-mail, and by state; the detail page shows the SHA-256 fingerprint
# openssl computes and the transaction; the PEM download is the issued
# certificate; a viewer sees no revoke button and gets 403 on the
# confirmation page and on a POST with its own valid CSRF token, and
# GlobalSign is not called; an admin's POST without CSRF is 403; a
# refusal by GlobalSign marks nothing revoked; the admin's revoke goes to
# GlobalSign (epki-sim counts the call, the order is status 7) and the
# page shows REVOKED; a second revoke says so without calling again; a CN
# holding <script> is printed escaped; a stored certificate that does not
# parse shows what the database knows.
. "$GW_SRC/tests/integration/lib.sh"
gw_need curl openssl sqlite3
gw_tmpdir
gw_start_sim
gw_init
gw_admin_enable
for u in 'root adm-pw admin' 'view view-pw viewer'; do
	set -- $u
	printf '%s\n' "$2" | "$GW_BUILD/scepgw" user add "$1" --role "$3" \
	    -c "$GW_CONF" >>"$T/user.out" 2>&1 || gw_fail "user add $1: $(cat "$T/user.out")"
done
gw_start
A=$GW_ADMIN_URL

# ui METHOD PATH JAR [curl args...]: prints the status; body in $T/ui.body.
ui() {
	local m=$1 p=$2 jar=$3
	shift 3
	curl -sS -m 30 -X "$m" -b "$jar" -c "$jar" -D "$T/ui.hdr" \
	    -o "$T/ui.body" -w '%{http_code}' "$@" "$A$p" || gw_fail "curl $m $p"
}
csrf() { sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/ui.body" | head -1; }
login() { # USER PASSWORD JAR
	local tok
	gw_assert_eq 200 "$(ui GET /ui/login "$3")" "login page"
	tok=$(csrf)
	gw_assert_eq 303 "$(ui POST /ui/login "$3" --data-urlencode "csrf=$tok" \
	    --data-urlencode "user=$1" --data-urlencode "password=$2")" "login $1"
}
revokes() { sim_state calls.Revoke; }

enroll_expect dev SUCCESS --challenge "$(gw_challenge --cn dev-cert-1 --email dev1@example.com)"
enroll_expect other SUCCESS --challenge "$(gw_challenge --cn other-cert)"
XSS='<script>alert(1)</script>'
enroll_expect xss SUCCESS --challenge "$(gw_challenge)" --cn "$XSS"
serial=$(openssl x509 -in "$T/dev.pem" -noout -serial | cut -d= -f2)
typed=$(echo "$serial" | tr 'A-F' 'a-f' | sed 's/../&:/g; s/:$//')
fp=$(openssl x509 -in "$T/dev.pem" -noout -fingerprint -sha256 | cut -d= -f2)

login view view-pw "$T/view"
login root adm-pw "$T/root"

# The search: by CN, by serial (lower case with colons), by e-mail, by
# state; the navigation bar names the page.
gw_assert_eq 200 "$(ui GET '/ui/certificates?cn=dev-cert-1' "$T/view")" "search by CN"
gw_assert_contains "$T/ui.body" "<a href=\"/ui/certificates/$serial\">$serial</a></td><td>dev-cert-1</td><td>dev1@example.com</td>"
gw_assert_contains "$T/ui.body" '<a href="/ui/certificates" class="here">Certificates</a>'
gw_assert_not_contains "$T/ui.body" 'other-cert'
gw_assert_eq 200 "$(ui GET "/ui/certificates?serial=$typed" "$T/view")" "search by serial"
gw_assert_contains "$T/ui.body" "$serial</a></td><td>dev-cert-1<"
gw_assert_eq 200 "$(ui GET '/ui/certificates?email=dev1%40example.com&state=valid' "$T/view")" "search by e-mail"
gw_assert_contains "$T/ui.body" "$serial</a></td><td>dev-cert-1<"
gw_assert_eq 200 "$(ui GET '/ui/certificates?state=revoked' "$T/view")" "none revoked yet"
gw_assert_contains "$T/ui.body" 'No certificate found'
gw_assert_eq 400 "$(ui GET '/ui/certificates?serial=xyz' "$T/view")" "a serial that is not hex"
gw_assert_contains "$T/ui.body" 'hexadecimal'
gw_assert_eq 400 "$(ui GET '/ui/certificates?state=lost' "$T/view")" "an unknown state"
gw_assert_eq 400 "$(ui GET '/ui/certificates?after=1%3Cb%3E-0A' "$T/view")" "a forged page link"
gw_assert_not_contains "$T/ui.body" '<b>'
gw_assert_eq 200 "$(ui GET "/ui/certificates?after=9999999999-FF" "$T/view")" "a page link"
gw_assert_contains "$T/ui.body" "$serial</a>"
# The list escapes a hostile CN and prints no markup of it.
gw_assert_eq 200 "$(ui GET /ui/certificates "$T/view")" "all certificates"
gw_assert_contains "$T/ui.body" '&lt;script&gt;alert\(1\)&lt;/script&gt;'
gw_assert_not_contains "$T/ui.body" '<script'
gw_assert_eq 3 "$(grep -o '<a href="/ui/certificates/[0-9A-F]*">' "$T/ui.body" | wc -l)" "three rows"

# The detail: fingerprint as openssl prints it, the transaction, no
# revoke button for a viewer; another spelling of the serial is sent on.
gw_assert_eq 303 "$(ui GET "/ui/certificates/$typed" "$T/view")" "typed serial"
gw_assert_contains "$T/ui.hdr" "Location: /ui/certificates/$serial"
gw_assert_eq 200 "$(ui GET "/ui/certificates/$serial" "$T/view")" "detail (viewer)"
gw_assert_contains "$T/ui.body" "<code>$fp</code>"
gw_assert_contains "$T/ui.body" 'E-mail: dev1@example.com'
gw_assert_contains "$T/ui.body" '<a href="/ui/enrollments/'
gw_assert_contains "$T/ui.body" "href=\"/ui/certificates/$serial/pem\">Download PEM"
gw_assert_not_contains "$T/ui.body" 'revoke'
gw_assert_eq 404 "$(ui GET /ui/certificates/ABCDEF "$T/view")" "unknown serial"
# A row whose DER does not parse (written behind the gateway's back).
sqlite3 -batch "$GW_DIR/scepgw.db" "INSERT INTO certificates(serial_hex, order_id, subject, cert_der, issued, not_after) VALUES ('0BAD', 'MPS-BAD', 'CN=<i>broken</i>', X'3003020109', 1, 2)" ||
    gw_fail "could not insert the broken row"
gw_assert_eq 200 "$(ui GET /ui/certificates/0BAD "$T/view")" "a certificate that does not parse"
gw_assert_contains "$T/ui.body" 'could not be read'
gw_assert_contains "$T/ui.body" 'CN=&lt;i&gt;broken&lt;/i&gt;'
gw_assert_contains "$T/ui.body" 'MPS-BAD'
gw_assert_eq 200 "$(ui GET '/ui/certificates?state=expired' "$T/view")" "the broken one is expired"
gw_assert_contains "$T/ui.body" '0BAD</a>'

gw_assert_eq 404 "$(ui GET /ui/certificates/nothex "$T/view")" "not a serial"

# The PEM download is the issued certificate.
gw_assert_eq 200 "$(ui GET "/ui/certificates/$serial/pem" "$T/view")" "PEM"
gw_assert_contains "$T/ui.hdr" 'Content-Type: application/x-pem-file'
gw_assert_contains "$T/ui.hdr" "Content-Disposition: attachment; filename=\"$serial.pem\""
gw_assert_eq "$(openssl x509 -in "$T/dev.pem" -outform DER | sha256sum)" \
    "$(openssl x509 -in "$T/ui.body" -outform DER | sha256sum)" "PEM equals the issued certificate"

# The viewer's attempts: the confirmation page and a POST carrying the
# viewer's own valid CSRF token are both 403; nothing reaches GlobalSign.
r0=$(revokes)
gw_assert_eq 200 "$(ui GET /ui/ "$T/view")" "viewer dashboard"
vtok=$(csrf)
[ ${#vtok} -eq 64 ] || gw_fail "no CSRF token on the viewer's page"
gw_assert_eq 403 "$(ui GET "/ui/certificates/$serial/revoke" "$T/view")" "viewer confirmation page"
gw_assert_eq 403 "$(ui POST "/ui/certificates/$serial/revoke" "$T/view" \
    -d "csrf=$vtok&reason=keyCompromise")" "viewer POST with its CSRF token"
gw_assert_eq "$r0" "$(revokes)" "no Revoke call for the viewer"
gw_assert_eq 200 "$(ui GET "/ui/certificates?serial=$serial&state=valid" "$T/view")" "still valid"
gw_assert_contains "$T/ui.body" "$serial</a>"

# The admin: the button and the confirmation with its reasons; without
# CSRF 403; a bad reason 400; nothing called.
gw_assert_eq 200 "$(ui GET "/ui/certificates/$serial" "$T/root")" "detail (admin)"
gw_assert_contains "$T/ui.body" "action=\"/ui/certificates/$serial/revoke\"><button"
gw_assert_eq 200 "$(ui GET "/ui/certificates/$serial/revoke" "$T/root")" "confirmation page"
gw_assert_contains "$T/ui.body" '<option>keyCompromise</option>'
gw_assert_contains "$T/ui.body" "$serial"
tok=$(csrf)
gw_assert_eq 403 "$(ui POST "/ui/certificates/$serial/revoke" "$T/root" -d reason=keyCompromise)" "admin POST without CSRF"
gw_assert_eq 400 "$(ui POST "/ui/certificates/$serial/revoke" "$T/root" -d "csrf=$tok&reason=whim")" "unknown reason"
gw_assert_eq "$r0" "$(revokes)" "no Revoke call yet"

# GlobalSign refuses once: a page in plain words, nothing marked revoked.
curl -fsS -d 'internal op=Revoke count=1' "http://127.0.0.1:$SIM_PORT/sim/fault" >/dev/null
gw_assert_eq 502 "$(ui POST "/ui/certificates/$serial/revoke" "$T/root" -d "csrf=$tok&reason=keyCompromise")" "GlobalSign refuses"
gw_assert_contains "$T/ui.body" 'GlobalSign did not revoke the certificate'
gw_assert_eq 200 "$(ui GET "/ui/certificates?serial=$serial&state=valid" "$T/root")" "still valid after the refusal"
gw_assert_contains "$T/ui.body" "$serial</a>"

# The revocation: 303 to the page, which says REVOKED; GlobalSign saw it.
r1=$(revokes)
gw_assert_eq 303 "$(ui POST "/ui/certificates/$serial/revoke" "$T/root" -d "csrf=$tok&reason=keyCompromise")" "revoke"
gw_assert_contains "$T/ui.hdr" "Location: /ui/certificates/$serial"
gw_assert_eq $((r1 + 1)) "$(revokes)" "one Revoke call"
gw_assert_contains "$T/scepgw.log" "console: user=root: revoke serial=$serial order=.* reason=keyCompromise: revoked"
order=$(sim_order_of "$T/dev.pem") || gw_fail "no sim order for the certificate"
sim_order "$order" >"$T/order.rec"
gw_assert_contains "$T/order.rec" '^status=7'
gw_assert_eq 200 "$(ui GET "/ui/certificates/$serial" "$T/root")" "detail after revoke"
gw_assert_contains "$T/ui.body" 'REVOKED</strong> on .*, reason keyCompromise'
gw_assert_not_contains "$T/ui.body" '/revoke"><button'
gw_assert_eq 200 "$(ui GET '/ui/certificates?state=revoked' "$T/root")" "the revoked one listed"
gw_assert_contains "$T/ui.body" "$serial</a></td><td>dev-cert-1<"
gw_assert_not_contains "$T/ui.body" 'other-cert'

# Again: a clear message, no second call.
gw_assert_eq 409 "$(ui GET "/ui/certificates/$serial/revoke" "$T/root")" "confirmation of a revoked one"
gw_assert_contains "$T/ui.body" 'already revoked'
gw_assert_eq 409 "$(ui POST "/ui/certificates/$serial/revoke" "$T/root" -d "csrf=$tok&reason=superseded")" "second revoke"
gw_assert_contains "$T/ui.body" 'already revoked'
gw_assert_eq $((r1 + 1)) "$(revokes)" "no second Revoke call"
gw_assert_not_contains "$T/scepgw.log" 'adm-pw|view-pw'
gw_stop
