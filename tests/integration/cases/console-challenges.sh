#!/usr/bin/env bash
# The console's challenges page (README "Admin web console",
# **Challenges.**) through curl: an admin creates one and a batch, with the
# JSON API's checks (a bad field re-shows the form with what was typed,
# escaped, and stores nothing); the result page shows each secret once
# with a QR code that decodes to it and a one-time .mobileconfig link; the
# profile parses, its Challenge and URL enroll exactly once; the link is
# refused the second time and once its challenge is revoked; the list
# pages by state; a viewer sees no form and its POSTs are 403 with
# nothing changed; a POST without the CSRF token is 403; no secret and no
# link token reaches the log.
. "$GW_SRC/tests/integration/lib.sh"
gw_need curl openssl python3 sqlite3
gw_tmpdir
gw_start_sim
gw_init
gw_admin_enable
gw_conf_set "profile kiosk" ou Kiosks

user_add() { # NAME PASSWORD ARGS...
	local name=$1 pw=$2
	shift 2
	printf '%s\n' "$pw" | "$GW_BUILD/scepgw" user add "$name" "$@" \
	    -c "$GW_CONF" >>"$T/user.out" 2>&1 || gw_fail "user add $name: $(cat "$T/user.out")"
}
user_add root 'adm pw' --role admin
user_add view 'view pw' --role viewer
gw_start
A=$GW_ADMIN_URL
DB=$GW_DIR/scepgw.db

# ui METHOD PATH JAR [curl args...]: prints the status; headers in
# $T/ui.h, body in $T/ui.body.
ui() {
	local m=$1 p=$2 jar=$3 code
	shift 3
	code=$(curl -sS -m 30 -X "$m" -b "$jar" -c "$jar" -D "$T/ui.hdr" \
	    -o "$T/ui.body" -w '%{http_code}' "$@" "$A$p") || gw_fail "curl $m $p"
	tr -d '\r' <"$T/ui.hdr" >"$T/ui.h"
	printf '%s\n' "$code"
}
login() { # USER PASSWORD JAR
	local tok
	gw_assert_eq 200 "$(ui GET /ui/login "$3")" "GET /ui/login"
	tok=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/ui.body")
	gw_assert_eq 303 "$(ui POST /ui/login "$3" --data-urlencode "csrf=$tok" \
	    --data-urlencode "user=$1" --data-urlencode "password=$2")" "login $1"
}
csrf() { sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/ui.body" | head -n1; }
nch() { sqlite3 "$DB" "SELECT count(*) || '/' || coalesce(sum(revoked), 0) FROM challenges"; }
# create JAR CSRF COUNT CN PROFILE [EMAIL [TTL]]: POST the create form.
create() {
	ui POST /ui/challenges "$1" --data-urlencode "csrf=$2" \
	    --data-urlencode "count=$3" --data-urlencode "cn=$4" \
	    --data-urlencode "profile=$5" --data-urlencode "email=${6:-}" \
	    --data-urlencode ou= --data-urlencode upn= \
	    --data-urlencode "ttl=${7:-600}"
}

login root 'adm pw' "$T/root"
gw_assert_eq 200 "$(ui GET /ui/challenges "$T/root")" "admin list"
gw_assert_contains "$T/ui.body" '<a href="/ui/challenges" class="here">Challenges</a>'
gw_assert_contains "$T/ui.body" 'action="/ui/challenges"'
gw_assert_contains "$T/ui.body" '<option value="kiosk">kiosk</option>'
TOK=$(csrf)

# Refused by the JSON API's rules: the form comes back with the message
# and what was typed (escaped); nothing is stored.
XSS='<script>alert(1)</script>'
gw_assert_eq 400 "$(create "$T/root" "$TOK" 1 "$XSS" '' '' 5)" "ttl 5"
gw_assert_contains "$T/ui.body" 'ttl: must be an integer 60..31536000'
gw_assert_contains "$T/ui.body" 'value="&lt;script&gt;alert\(1\)&lt;/script&gt;"'
gw_assert_not_contains "$T/ui.body" '<script'
gw_assert_eq 400 "$(create "$T/root" "$TOK" 1001 x '')" "count 1001"
gw_assert_contains "$T/ui.body" 'count: must be an integer 1..1000'
gw_assert_eq 400 "$(create "$T/root" "$TOK" 1 x nope)" "unknown profile"
gw_assert_contains "$T/ui.body" 'profile: must name a configured'
gw_assert_eq 400 "$(create "$T/root" "$TOK" 1 x '' no-at-sign)" "bad email"
gw_assert_contains "$T/ui.body" 'email: must be an address'
gw_assert_eq 400 "$(create "$T/root" "$TOK" 1 $'a\xffb' '')" "CN not UTF-8"
gw_assert_contains "$T/ui.body" 'cn: must be a string'
gw_assert_eq "0/0" "$(nch)" "nothing stored by refused forms"

# Without the CSRF token, or as a viewer: 403 and nothing stored.
gw_assert_eq 403 "$(ui POST /ui/challenges "$T/root" --data-urlencode count=1)" "create without CSRF"
login view 'view pw' "$T/view"
gw_assert_eq 200 "$(ui GET /ui/challenges "$T/view")" "viewer list"
gw_assert_not_contains "$T/ui.body" '<form method="post" action="/ui/challenges'
gw_assert_not_contains "$T/ui.body" 'Revoke'
VTOK=$(csrf)
gw_assert_eq 403 "$(create "$T/view" "$VTOK" 1 viewer '')" "viewer create"
gw_assert_eq "0/0" "$(nch)" "nothing stored by the viewer"

# One challenge, with a hostile CN: the page of secrets.
gw_assert_eq 200 "$(create "$T/root" "$TOK" 1 "$XSS" '')" "create one"
gw_assert_contains "$T/ui.h" '^Cache-Control: no-store$'
gw_assert_not_contains "$T/ui.body" '<script'
S1=$(sed -n 's/.*<code class="challenge">\([0-9A-F]\{32\}\)<\/code>.*/\1/p' "$T/ui.body")
[ ${#S1} -eq 32 ] || gw_fail "no secret on the result page"
L1=$(grep -o 'href="/ui/mc/[0-9a-f]\{64\}"' "$T/ui.body" | sed 's/href="//; s/"$//')
[ -n "$L1" ] || gw_fail "no .mobileconfig link"
gw_assert_contains "$T/ui.body" '<svg xmlns="http://www.w3.org/2000/svg" class="qr"'
gw_assert_not_contains "$T/ui.body" 'style='
gw_assert_eq "1/0" "$(nch)" "one challenge"
# The QR code reads back as the secret (when the tools are here).
if command -v rsvg-convert >/dev/null && command -v zbarimg >/dev/null; then
	grep -o '<svg .*</svg>' "$T/ui.body" | head -n1 >"$T/qr.svg"
	rsvg-convert -w 400 -o "$T/qr.png" "$T/qr.svg" || gw_fail "rsvg-convert"
	gw_assert_eq "QR-Code:$S1" "$(zbarimg -q "$T/qr.png")" "QR code decodes to the secret"
else
	gw_log "no rsvg-convert/zbarimg: QR decoding not checked"
fi

# The list shows it escaped, unused, with a Revoke button.
gw_assert_eq 200 "$(ui GET '/ui/challenges?state=unused' "$T/root")" "list unused"
gw_assert_contains "$T/ui.body" '<td>&lt;script&gt;alert\(1\)&lt;/script&gt;</td>'
gw_assert_contains "$T/ui.body" '<td>unused</td>'
gw_assert_contains "$T/ui.body" 'Revoke'
gw_assert_not_contains "$T/ui.body" "$S1"

# The link, once: the profile parses, its Challenge is the secret.
gw_assert_eq 200 "$(ui GET "$L1" "$T/anon")" "mobileconfig download"
gw_assert_contains "$T/ui.h" '^Content-Type: application/x-apple-aspen-config$'
gw_assert_contains "$T/ui.h" '^Content-Disposition: attachment; filename="scepgw-[0-9]+\.mobileconfig"$'
cp "$T/ui.body" "$T/one.mobileconfig"
python3 - "$T/one.mobileconfig" "$S1" "$GW_URL" >"$T/mc.url" <<'PY' || gw_fail "mobileconfig content"
import plistlib, sys
p = plistlib.load(open(sys.argv[1], "rb"))
c = p["PayloadContent"][0]["PayloadContent"]
if c["Challenge"] != sys.argv[2]:
    sys.exit("Challenge is not the secret")
if c["URL"] != sys.argv[3]:
    sys.exit("URL %s is not %s" % (c["URL"], sys.argv[3]))
print(c["URL"])
PY
gw_assert_eq 410 "$(ui GET "$L1" "$T/anon")" "second download"
gw_assert_contains "$T/ui.body" 'already used'
gw_assert_eq 410 "$(ui GET "/ui/mc/$(openssl rand -hex 32)" "$T/anon")" "unknown link"

# The secret from the profile enrolls, exactly once.
MCS=$(python3 -c 'import plistlib,sys; print(plistlib.load(open(sys.argv[1],"rb"))["PayloadContent"][0]["PayloadContent"]["Challenge"])' "$T/one.mobileconfig")
"$GW_BUILD/scepreq" enroll --url "$(cat "$T/mc.url")" --key "$T/d1.key" \
    --cert-out "$T/d1.pem" --challenge "$MCS" --cn device >"$T/d1.out" 2>&1 ||
    gw_fail "enroll with the profile's challenge: $(cat "$T/d1.out")"
enroll_expect again FAILURE --challenge "$S1" --cn device
gw_assert_eq 200 "$(ui GET '/ui/challenges?state=used' "$T/root")" "list used"
gw_assert_contains "$T/ui.body" '<td>used</td><td><a href="/ui/enrollments/'

# A batch of three for kiosk: three secrets, QR codes and links.
gw_assert_eq 200 "$(create "$T/root" "$TOK" 3 batch kiosk)" "create a batch"
gw_assert_eq 3 "$(grep -o '<code class="challenge">' "$T/ui.body" | wc -l)" "three secrets"
gw_assert_eq 3 "$(grep -o 'class="qr"' "$T/ui.body" | wc -l)" "three QR codes"
grep -o 'href="/ui/mc/[0-9a-f]\{64\}"' "$T/ui.body" | sed 's/href="//; s/"$//' >"$T/links"
gw_assert_eq 3 "$(wc -l <"$T/links")" "three links"
grep -o '<code class="challenge">[0-9A-F]*' "$T/ui.body" | sed 's/.*>//' >"$T/secrets"
gw_assert_eq "4/0" "$(nch)" "four challenges"
gw_assert_eq 3 "$(sqlite3 "$DB" "SELECT count(*) FROM challenges WHERE profile = 'kiosk' AND cn = 'batch'")" "the batch's binding"

# Viewer revoke: 403, nothing changed. Admin revoke without CSRF: 403.
ID2=$(sqlite3 "$DB" "SELECT min(id) FROM challenges WHERE profile = 'kiosk'")
gw_assert_eq 403 "$(ui POST /ui/challenges/revoke "$T/view" --data-urlencode "csrf=$VTOK" --data-urlencode "id=$ID2")" "viewer revoke"
gw_assert_eq 403 "$(ui POST /ui/challenges/revoke "$T/root" --data-urlencode "id=$ID2")" "revoke without CSRF"
gw_assert_eq "4/0" "$(nch)" "nothing revoked"
"$GW_BUILD/scepgw" challenge list -c "$GW_CONF" >"$T/cli-list" 2>&1
gw_assert_not_contains "$T/cli-list" ' revoked '
# The admin revokes the first of the batch: 303 back; its link is gone.
gw_assert_eq 303 "$(ui POST /ui/challenges/revoke "$T/root" --data-urlencode "csrf=$TOK" --data-urlencode "id=$ID2")" "revoke"
gw_assert_contains "$T/ui.h" '^Location: /ui/challenges$'
gw_assert_eq "4/1" "$(nch)" "one revoked"
gw_assert_eq 410 "$(ui GET "$(sed -n 1p "$T/links")" "$T/anon")" "revoked challenge's link"
gw_assert_eq 404 "$(ui POST /ui/challenges/revoke "$T/root" --data-urlencode "csrf=$TOK" --data-urlencode "id=999999")" "revoke unknown"
gw_assert_eq 200 "$(ui GET '/ui/challenges?state=revoked' "$T/root")" "list revoked"
gw_assert_contains "$T/ui.body" "<tr><td>$ID2</td>"
# A challenge revoked elsewhere (the CLI): its link is refused too.
ID3=$((ID2 + 1))
"$GW_BUILD/scepgw" challenge revoke "$ID3" -c "$GW_CONF" >>"$T/cli.log" 2>&1 || gw_fail "challenge revoke"
gw_assert_eq 410 "$(ui GET "$(sed -n 2p "$T/links")" "$T/anon")" "link of a challenge the CLI revoked"
gw_assert_contains "$T/ui.body" 'used, revoked or has expired'
# The third still downloads.
gw_assert_eq 200 "$(ui GET "$(sed -n 3p "$T/links")" "$T/anon")" "third link"
gw_assert_eq 405 "$(ui POST "$(sed -n 3p "$T/links")" "$T/anon" -d x=1)" "POST to a link"

# Paging: 60 more; the first page has 50 rows and an Older link.
gw_assert_eq 200 "$(create "$T/root" "$TOK" 60 page '')" "create 60"
gw_assert_eq 200 "$(ui GET '/ui/challenges?state=unused' "$T/root")" "page 1"
gw_assert_eq 50 "$(grep -c '^<tr><td>' "$T/ui.body")" "50 rows on page 1"
NEXT=$(grep -o 'href="/ui/challenges?state=unused&amp;before=[0-9]*"' "$T/ui.body" | sed 's/href="//; s/"$//; s/&amp;/\&/')
[ -n "$NEXT" ] || gw_fail "no Older link"
gw_assert_eq 200 "$(ui GET "$NEXT" "$T/root")" "page 2"
gw_assert_eq 11 "$(grep -c '^<tr><td>' "$T/ui.body")" "11 rows on page 2"
gw_assert_eq 400 "$(ui GET '/ui/challenges?state=bogus' "$T/root")" "bad state"

# No secret and no link token in the log.
for s in "$S1" $(cat "$T/secrets"); do
	gw_assert_not_contains "$T/scepgw.log" "$s"
done
for l in "$L1" $(cat "$T/links"); do
	gw_assert_not_contains "$T/scepgw.log" "${l#/ui/mc/}"
done
gw_assert_contains "$T/scepgw.log" 'mobileconfig of challenge [0-9]+ downloaded'
gw_stop
