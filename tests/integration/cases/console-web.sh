#!/usr/bin/env bash
# The admin web console (README "Admin web console") through curl: every
# /ui/ answer carries the security headers; login needs the form's CSRF
# token (double-submit cookie), a console role (an "ndes" user gets the
# wrong-password answer) and counts failures against the per-address
# limit; the session cookie is HttpOnly, SameSite=Strict, Path=/ui/, and
# Secure only when a trusted proxy says https; a POST without or with a
# wrong CSRF token is 403; logout ends the session on the server; a CN
# holding <script> is printed escaped; sessions end idle and absolute;
# an X-Forwarded-For too long to read counts against the proxy.
. "$GW_SRC/tests/integration/lib.sh"
gw_need curl openssl
gw_tmpdir
gw_start_sim
gw_init
gw_admin_enable
gw_conf_set enroll max_failures_per_minute 3

user_add() { # NAME PASSWORD ARGS...
	local name=$1 pw=$2
	shift 2
	printf '%s\n' "$pw" | "$GW_BUILD/scepgw" user add "$name" "$@" \
	    -c "$GW_CONF" >>"$T/user.out" 2>&1 || gw_fail "user add $name: $(cat "$T/user.out")"
}
user_add root 'adm pw' --role admin
user_add view 'view pw' --role viewer
user_add mdm 'mdm pw'
user_add later 'later pw'
printf 'x\n' | "$GW_BUILD/scepgw" user add bad --role boss -c "$GW_CONF" >"$T/bad.out" 2>&1 &&
    gw_fail "user add --role boss accepted"
gw_assert_contains "$T/bad.out" 'ndes, viewer or admin'
"$GW_BUILD/scepgw" user set later --role viewer -c "$GW_CONF" >>"$T/user.out" 2>&1 ||
    gw_fail "user set --role: $(cat "$T/user.out")"
"$GW_BUILD/scepgw" user list -c "$GW_CONF" >"$T/users.txt"
gw_assert_contains "$T/users.txt" '^root +- .* admin$'
gw_assert_contains "$T/users.txt" '^view +- .* viewer$'
gw_assert_contains "$T/users.txt" '^mdm +can_issue .* ndes$'
gw_assert_contains "$T/users.txt" '^later +- .* viewer$'
SIM_ORDERS0=$(sim_orders)
gw_start
A=$GW_ADMIN_URL

# ui METHOD PATH JAR [curl args...]: prints the status; headers in
# $T/ui.hdr, body in $T/ui.body. Every answer must carry the headers.
ui() {
	local m=$1 p=$2 jar=$3 code
	shift 3
	code=$(curl -sS -m 30 -X "$m" -b "$jar" -c "$jar" -D "$T/ui.hdr" \
	    -o "$T/ui.body" -w '%{http_code}' "$@" "$A$p") || gw_fail "curl $m $p"
	tr -d '\r' <"$T/ui.hdr" >"$T/ui.h"
	gw_assert_contains "$T/ui.h" "^Content-Security-Policy: default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'$"
	gw_assert_contains "$T/ui.h" '^X-Frame-Options: DENY$'
	gw_assert_contains "$T/ui.h" '^X-Content-Type-Options: nosniff$'
	gw_assert_contains "$T/ui.h" '^Referrer-Policy: no-referrer$'
	gw_assert_contains "$T/ui.h" '^Cache-Control: no-store$'
	printf '%s\n' "$code"
}
# form_token JAR: GET the login page, print its CSRF token.
form_token() {
	gw_assert_eq 200 "$(ui GET /ui/login "$1")" "GET /ui/login"
	sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/ui.body"
}
# login USER PASSWORD JAR [curl args...]: prints the status of the POST.
login() {
	local u=$1 pw=$2 jar=$3 tok
	shift 3
	tok=$(form_token "$jar")
	[ ${#tok} -eq 64 ] || gw_fail "login form without a 64-hex token"
	ui POST /ui/login "$jar" --data-urlencode "csrf=$tok" \
	    --data-urlencode "user=$u" --data-urlencode "password=$pw" "$@"
}
sid() { awk '$6 == "scepgw_session" { print $7 }' "$1"; }

# Without a session: to the login page; the assets and a 404 carry the
# headers too.
gw_assert_eq 303 "$(ui GET /ui/ "$T/anon")" "dashboard without session"
gw_assert_contains "$T/ui.h" '^Location: /ui/login$'
gw_assert_eq 303 "$(ui GET /ui "$T/anon")" "/ui"
gw_assert_eq 200 "$(ui GET /ui/style.css "$T/anon")" "style.css"
gw_assert_contains "$T/ui.h" '^Content-Type: text/css'
gw_assert_eq 404 "$(ui GET /ui/nope "$T/anon")" "unknown page"
gw_assert_eq 303 "$(ui POST /ui/logout "$T/anon" -d csrf=x)" "logout without a session"
# Every page but the login and the one-time links needs a session, for
# reading as for changing: each sends to the login page and does nothing.
for p in /ui/challenges /ui/enrollments /ui/enrollments/x /ui/certificates \
    /ui/certificates/01 /ui/certificates/01/pem /ui/certificates/01/revoke /ui/users; do
	gw_assert_eq 303 "$(ui GET "$p" "$T/anon")" "GET $p without a session"
	gw_assert_contains "$T/ui.h" '^Location: /ui/login$'
done
for p in /ui/challenges /ui/challenges/revoke /ui/certificates/01/revoke /ui/users; do
	gw_assert_eq 303 "$(ui POST "$p" "$T/anon" -d csrf=x -d id=1 -d op=remove -d name=root)" \
	    "POST $p without a session"
done
# The JSON API still wants its token.
gw_assert_eq 401 "$(curl -sS -o /dev/null -w '%{http_code}' "$A/api/v1/challenges")" "API without token"

# The login form's cookie: no Secure without a trusted proxy, even when
# the client claims https.
ui GET /ui/login "$T/anon" -H 'X-Forwarded-Proto: https' >/dev/null
gw_assert_contains "$T/ui.h" '^Set-Cookie: scepgw_login=[0-9a-f]{64}; HttpOnly; SameSite=Strict; Path=/ui/$'

# CSRF on the login form: missing or wrong is 403, and is not a failed
# login (no failure counted).
gw_assert_eq 403 "$(ui POST /ui/login "$T/anon" --data-urlencode user=root --data-urlencode 'password=adm pw')" "login without CSRF"
tok=$(form_token "$T/anon")
# The token with its last digit changed (never to the digit it had).
bad=${tok%?}$([ "${tok: -1}" = 0 ] && echo 1 || echo 0)
gw_assert_eq 403 "$(ui POST /ui/login "$T/anon" --data-urlencode "csrf=$bad" --data-urlencode user=root --data-urlencode 'password=adm pw')" "login with a wrong CSRF token"
gw_assert_eq 403 "$(ui POST /ui/login "$T/fresh" --data-urlencode "csrf=$tok" --data-urlencode user=root --data-urlencode 'password=adm pw')" "the token without its cookie"

# The viewer logs in and sees the dashboard.
gw_assert_eq 303 "$(login view 'view pw' "$T/view")" "viewer login"
gw_assert_eq 200 "$(ui GET /ui/ "$T/view")" "viewer dashboard"
gw_assert_contains "$T/ui.body" 'view \(viewer\)'

# The admin: a 64-hex session cookie with the attributes.
gw_assert_eq 303 "$(login root 'adm pw' "$T/root")" "admin login"
gw_assert_contains "$T/ui.h" '^Location: /ui/$'
gw_assert_contains "$T/ui.h" '^Set-Cookie: scepgw_session=[0-9a-f]{64}; HttpOnly; SameSite=Strict; Path=/ui/$'
ROOT_SID=$(sid "$T/root")
[ ${#ROOT_SID} -eq 64 ] || gw_fail "no session id in the cookie jar"
gw_assert_not_contains "$T/scepgw.log" "$ROOT_SID"
gw_assert_eq 303 "$(ui GET /ui/login "$T/root")" "login page while logged in"

# An enrollment whose CN holds markup: printed as text.
XSS='<script>alert(1)</script>'
enroll_expect xss SUCCESS --challenge "$(gw_challenge)" --cn "$XSS"
gw_assert_eq 200 "$(ui GET /ui/ "$T/root")" "admin dashboard"
gw_assert_contains "$T/ui.body" '&lt;script&gt;alert\(1\)&lt;/script&gt;'
gw_assert_not_contains "$T/ui.body" '<script'
gw_assert_contains "$T/ui.body" '<svg '
gw_assert_contains "$T/ui.body" 'Last 24 hours: <span class="ok">1 issued'
gw_assert_contains "$T/ui.body" 'root \(admin\)'
gw_assert_contains "$T/ui.body" '<h2>Version</h2><p>scepgw [0-9]+\.[0-9]+\.[0-9]+'
CSRF=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/ui.body" | head -1)
[ ${#CSRF} -eq 64 ] || gw_fail "the dashboard's logout form has no CSRF token"

# Logout: 403 without or with a wrong token, the session stays; with it,
# the session ends on the server (the old cookie no longer works).
gw_assert_eq 403 "$(ui POST /ui/logout "$T/root" -d x=1)" "logout without CSRF"
gw_assert_eq 403 "$(ui POST /ui/logout "$T/root" -d "csrf=$(sid "$T/view")")" "logout with a wrong CSRF token"
gw_assert_eq 403 "$(ui POST /ui/ "$T/root" -d x=1)" "another POST without CSRF"
gw_assert_eq 200 "$(ui GET /ui/ "$T/root")" "still logged in"
gw_assert_eq 303 "$(ui POST /ui/logout "$T/root" -d "csrf=$CSRF")" "logout"
gw_assert_contains "$T/ui.h" '^Location: /ui/login$'
gw_assert_contains "$T/ui.h" '^Set-Cookie: scepgw_session=; .*Max-Age=0'
gw_assert_eq 303 "$(ui GET /ui/ /dev/null -H "Cookie: scepgw_session=$ROOT_SID")" "old cookie after logout"

# Failures count against [enroll] max_failures_per_minute = 3: a wrong
# password, an unknown user, an ndes user with its right password (the
# same answer as a wrong one, and no session); then even the right
# password is refused.
gw_assert_eq 200 "$(login root 'wrong' "$T/f1")" "wrong password"
gw_assert_contains "$T/ui.body" 'Wrong user name or password'
gw_assert_eq 200 "$(login nobody 'x' "$T/f2")" "unknown user"
gw_assert_contains "$T/ui.body" 'Wrong user name or password'
gw_assert_eq 200 "$(login mdm 'mdm pw' "$T/f3")" "ndes user"
gw_assert_contains "$T/ui.body" 'Wrong user name or password'
[ -z "$(sid "$T/f3")" ] || gw_fail "an ndes user got a console session"
gw_assert_contains "$T/scepgw.log" 'console: user=mdm: login failed \(an ndes user: no console\)'
gw_assert_eq 429 "$(login root 'adm pw' "$T/f4")" "right password past the limit"
gw_assert_contains "$T/ui.body" 'Too many failed attempts'
[ -z "$(sid "$T/f4")" ] || gw_fail "a session past the failure limit"
gw_assert_not_contains "$T/scepgw.log" 'adm pw|view pw|mdm pw'
assert_issued xss

# poll_login_page JAR GROW TRIES: GET /ui/ until it sends to the login
# page, sleeping 0.2 s plus GROW s more each time, TRIES times at most.
poll_login_page() {
	local jar=$1 step=$2 tries=$3 i code
	for ((i = 1; i <= tries; i++)); do
		code=$(ui GET /ui/ "$jar")
		[ "$code" = 303 ] && return 0
		[ "$code" = 200 ] || gw_fail "GET /ui/ answered $code"
		sleep "$(awk -v i="$i" -v s="$step" 'BEGIN { print 0.2 + i * s }')"
	done
	gw_fail "the session did not expire"
}

# Idle expiry: one unused second ends it (absolute: an hour). The polls
# get slower until one comes after a silent second.
gw_stop
gw_conf_set console idle_seconds 1
gw_conf_set console absolute_seconds 3600
gw_conf_set server trusted_proxies 127.0.0.1
gw_start
A=$GW_ADMIN_URL
# Through a trusted proxy that says https: the cookies are Secure.
ui GET /ui/login "$T/px" -H 'X-Forwarded-Proto: https' >/dev/null
gw_assert_contains "$T/ui.h" '^Set-Cookie: scepgw_login=[0-9a-f]{64}; HttpOnly; SameSite=Strict; Path=/ui/; Secure$'
# Behind that proxy the failure limit counts the client X-Forwarded-For
# names: three failures from one client refuse it, not the others (the
# login below comes from the proxy's own address).
for i in 1 2 3; do
	gw_assert_eq 200 "$(login view wrong "$T/x$i" -H 'X-Forwarded-For: 192.0.2.7')" "failure $i via the proxy"
done
gw_assert_eq 429 "$(login view 'view pw' "$T/x4" -H 'X-Forwarded-For: 192.0.2.7')" "the client past its limit"
gw_assert_contains "$T/scepgw.log" '192\.0\.2\.7 console: user=view: too many failed logins'
gw_assert_eq 303 "$(login view 'view pw' "$T/idle")" "login (idle case)"
poll_login_page "$T/idle" 0.1 25
gw_assert_contains "$T/scepgw.log" 'console: user=view: session expired'

# Absolute expiry: used every 0.2 s (never idle), it still ends after
# two seconds.
gw_stop
gw_conf_set console idle_seconds 3600
gw_conf_set console absolute_seconds 2
gw_start
A=$GW_ADMIN_URL
gw_assert_eq 303 "$(login later 'later pw' "$T/abs")" "login (absolute case)"
poll_login_page "$T/abs" 0 100
gw_assert_contains "$T/scepgw.log" 'console: user=later: session expired'

# X-Forwarded-For in two lines that do not fit the 4 KiB the gateway
# reads: a client's own line of 4095 bytes ending in an address it
# picks, then the line the proxy adds with the real one. The header is
# unreadable as a whole, so the failures count against the proxy's own
# address. Reading what fits (the first line) would count them against
# the address the client picks, a new one each time, and the limit would
# never bite.
fill=$(printf '10.9.9.9, %.0s' $(seq 405))$(printf '10.9.9.99, %.0s' 1 2 3)
for i in 1 2 3 4; do
	xff="${fill}198.51.100.$i"
	[ ${#xff} -eq 4095 ] || gw_fail "the client's line is ${#xff} bytes, not 4095"
	code=$(login view wrong "$T/y$i" -H "X-Forwarded-For: $xff" -H 'X-Forwarded-For: 192.0.2.9')
	if [ "$i" -lt 4 ]; then
		gw_assert_eq 200 "$code" "split-header failure $i"
	else
		gw_assert_eq 429 "$code" "split-header failures counted under the proxy"
	fi
done
gw_assert_contains "$T/scepgw.log" '127\.0\.0\.1 console: user=view: too many failed logins'
gw_assert_not_contains "$T/scepgw.log" '198\.51\.100\.[0-9] console'
gw_stop
