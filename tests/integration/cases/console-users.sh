#!/usr/bin/env bash
# The console's users page and the dashboard's GlobalSign status (README
# "Admin web console"): an admin adds a viewer and an ndes user with the
# checks of `scepgw user add`, and they appear; the viewer sees no form,
# its POSTs are 403 and change nothing (`scepgw user list`); the ndes
# user cannot log in to the console but gets a challenge on the NDES
# page, where a viewer or an admin gets NDES's "no permission" page and
# no challenge (the outstanding count does not grow), even when its row
# says it may issue; nobody removes or demotes themselves or the last
# admin; a session whose user the CLI demoted changes nothing, one whose
# user the CLI removed ends; a name
# holding <script> is shown escaped; a removed or re-roled user's
# session ends. Then GlobalSign: a good
# enrollment is the last success, a refused login (-4001) the last error
# with its fix, and success again.
. "$GW_SRC/tests/integration/lib.sh"
gw_need curl openssl iconv perl sqlite3
gw_tmpdir
gw_start_sim
gw_init
gw_admin_enable
gw_conf_set enroll max_failures_per_minute 100
gw_conf_set "profile shared" challenge static
(umask 077 && openssl rand -base64 24 >"$T/static.txt")
gw_conf_set "profile shared" static_challenge_file "$T/static.txt"
printf '%s\n' 'root pw' | "$GW_BUILD/scepgw" user add root --role admin \
    -c "$GW_CONF" >"$T/user.out" 2>&1 || gw_fail "user add root: $(cat "$T/user.out")"
SIM_ORDERS0=$(sim_orders)
gw_start
A=$GW_ADMIN_URL
BASE=http://127.0.0.1:$GW_PORT

# ui METHOD PATH JAR [curl args...]: prints the status; body in $T/ui.body.
ui() {
	local m=$1 p=$2 jar=$3
	shift 3
	curl -sS -m 30 -X "$m" -b "$jar" -c "$jar" -D "$T/ui.hdr" \
	    -o "$T/ui.body" -w '%{http_code}' "$@" "$A$p" || gw_fail "curl $m $p"
}
login() { # USER PASSWORD JAR: prints the status of the POST
	local tok
	gw_assert_eq 200 "$(ui GET /ui/login "$3")" "GET /ui/login"
	tok=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/ui.body" | head -1)
	ui POST /ui/login "$3" --data-urlencode "csrf=$tok" \
	    --data-urlencode "user=$1" --data-urlencode "password=$2"
}
csrf() { sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/ui.body" | head -1; }
users() { "$GW_BUILD/scepgw" user list -c "$GW_CONF" >"$T/users.txt" || gw_fail "user list"; }
add() { # JAR NAME PASSWORD PASSWORD2 ROLE [curl args...]: prints the status
	local jar=$1 name=$2 pw=$3 pw2=$4 role=$5
	shift 5
	ui POST /ui/users "$jar" --data-urlencode "csrf=$CSRF" -d op=add \
	    --data-urlencode "name=$name" --data-urlencode "password=$pw" \
	    --data-urlencode "password2=$pw2" -d "role=$role" "$@"
}
outstanding() {
	curl -fsS -m 10 -H "Authorization: Bearer $TOKEN" "$A/metrics" |
	    awk '$1 == "scepgw_challenges_outstanding" { print $2 }'
}
# ndes USER PASSWORD: the NDES page's challenge, empty when none.
ndes() {
	curl -sS -m 30 -u "$1:$2" -o "$T/page.raw" "$BASE/certsrv/mscep_admin/" || gw_fail "NDES page"
	iconv -f UTF-16 -t UTF-8 "$T/page.raw" >"$T/page.txt" 2>/dev/null || cp "$T/page.raw" "$T/page.txt"
	perl -ne 'print "$1\n" if /The enrollment challenge password is: <B> (\S+)/i' "$T/page.txt"
}

gw_assert_eq 303 "$(login root 'root pw' "$T/root")" "admin login"
gw_assert_eq 200 "$(ui GET /ui/users "$T/root")" "users page"
gw_assert_contains "$T/ui.body" '<a href="/ui/users" class="here">Users</a>'
gw_assert_contains "$T/ui.body" '<td>root \(you\)</td><td>admin</td>'
gw_assert_contains "$T/ui.body" 'id="add-user"'
CSRF=$(csrf)

# The add form's checks: passwords that differ, a bad role, a profile
# that is not configured or takes no one-time challenge, a bad name, a
# name taken; each a 4xx with its reason and no user.
gw_assert_eq 400 "$(add "$T/root" vw 'a pw' 'b pw' viewer)" "passwords differ"
gw_assert_contains "$T/ui.body" 'The two passwords differ'
gw_assert_eq 400 "$(add "$T/root" vw 'a pw' 'a pw' boss)" "bad role"
gw_assert_eq 400 "$(add "$T/root" md 'a pw' 'a pw' ndes -d profiles=nosuch)" "unknown profile"
gw_assert_contains "$T/ui.body" 'no \[profile nosuch\]'
gw_assert_eq 400 "$(add "$T/root" md 'a pw' 'a pw' ndes -d profiles=shared)" "static-only profile"
gw_assert_contains "$T/ui.body" 'takes only its static challenge'
gw_assert_eq 400 "$(add "$T/root" 'a b' 'a pw' 'a pw' viewer)" "name with a space"
gw_assert_contains "$T/ui.body" 'user name: 1..64 printable'
gw_assert_eq 409 "$(add "$T/root" root 'a pw' 'a pw' viewer)" "name taken"
gw_assert_contains "$T/ui.body" 'exists already'
users
gw_assert_not_contains "$T/users.txt" '^(vw|md|a) '

# The happy path: a viewer, an ndes user, a hostile name; each appears.
gw_assert_eq 303 "$(add "$T/root" vw 'view pw' 'view pw' viewer)" "add viewer"
grep -qi '^Location: /ui/users?done=added' "$T/ui.hdr" || gw_fail "add: no redirect to the list"
gw_assert_eq 303 "$(add "$T/root" md 'mdm pw' 'mdm pw' ndes -d profiles=default)" "add ndes user"
XSS='<script>alert(1)</script>'
gw_assert_eq 303 "$(add "$T/root" "$XSS" 'x pw' 'x pw' viewer)" "add a hostile name"
gw_assert_eq 200 "$(ui GET '/ui/users?done=added' "$T/root")" "list after adding"
gw_assert_contains "$T/ui.body" 'User added'
gw_assert_contains "$T/ui.body" '<td>vw</td><td>viewer</td><td>-</td><td>-</td>'
gw_assert_contains "$T/ui.body" '<td>md</td><td>ndes</td><td>yes</td><td>default</td>'
gw_assert_contains "$T/ui.body" '<td>&lt;script&gt;alert\(1\)&lt;/script&gt;</td>'
gw_assert_contains "$T/ui.body" 'remove=%3Cscript%3Ealert%281%29%3C%2Fscript%3E'
gw_assert_not_contains "$T/ui.body" '<script'
users
gw_assert_contains "$T/users.txt" '^vw +- .* viewer$'
gw_assert_contains "$T/users.txt" '^md +can_issue .* default +scrypt.* ndes$'
gw_assert_not_contains "$T/scepgw.log" 'view pw|mdm pw|root pw|x pw'

# The viewer: the list without a form; every POST 403, nothing changed.
gw_assert_eq 303 "$(login vw 'view pw' "$T/vw")" "viewer login"
gw_assert_eq 200 "$(ui GET /ui/users "$T/vw")" "viewer's users page"
gw_assert_contains "$T/ui.body" '<td>md</td><td>ndes</td>'
gw_assert_not_contains "$T/ui.body" 'name="op"|id="add-user"|Change role|remove='
VCSRF=$(csrf)
users
cp "$T/users.txt" "$T/users.before"
gw_assert_eq 403 "$(ui POST /ui/users "$T/vw" --data-urlencode "csrf=$VCSRF" -d op=add -d name=evil -d password=p -d password2=p -d role=admin)" "viewer adds"
gw_assert_eq 403 "$(ui POST /ui/users "$T/vw" --data-urlencode "csrf=$VCSRF" -d op=role -d name=vw -d role=admin)" "viewer promotes itself"
gw_assert_eq 403 "$(ui POST /ui/users "$T/vw" --data-urlencode "csrf=$VCSRF" -d op=remove -d name=root)" "viewer removes"
gw_assert_eq 403 "$(ui GET '/ui/users?remove=root' "$T/vw")" "viewer's confirmation page"
# Without the CSRF token even the admin is refused.
gw_assert_eq 403 "$(ui POST /ui/users "$T/root" -d op=remove -d name=vw)" "admin without CSRF"
users
cmp -s "$T/users.before" "$T/users.txt" || gw_fail "a refused POST changed the users"

# The ndes user: no console, but the NDES page; console users get the
# page's no-permission answer and no challenge.
gw_assert_eq 200 "$(login md 'mdm pw' "$T/md")" "ndes user at the console"
gw_assert_contains "$T/ui.body" 'Wrong user name or password'
N0=$(outstanding)
[ -n "$(ndes md 'mdm pw')" ] || gw_fail "the ndes user got no challenge"
gw_assert_eq $((N0 + 1)) "$(outstanding)" "outstanding after the ndes user"
for who in "vw:view pw" "root:root pw"; do
	[ -z "$(ndes "${who%%:*}" "${who#*:}")" ] || gw_fail "${who%%:*} got an NDES challenge"
	gw_assert_contains "$T/page.txt" 'do not have sufficient permission'
done
# Even a console user's row that says it may issue (edited by hand, or
# written by another tool) gets no challenge: the role decides.
sqlite3 "$GW_DIR/scepgw.db" "UPDATE users SET can_issue = 1 WHERE name = 'vw'" || gw_fail "sqlite3"
[ -z "$(ndes vw 'view pw')" ] || gw_fail "a viewer whose row says can_issue got an NDES challenge"
gw_assert_contains "$T/page.txt" 'do not have sufficient permission'
sqlite3 "$GW_DIR/scepgw.db" "UPDATE users SET can_issue = 0 WHERE name = 'vw'" || gw_fail "sqlite3"
gw_assert_eq $((N0 + 1)) "$(outstanding)" "outstanding after the console users"

# Refusals: removing or demoting oneself; the last admin; each 409 with
# its reason, nothing changed.
gw_assert_eq 409 "$(ui POST /ui/users "$T/root" --data-urlencode "csrf=$CSRF" -d op=remove -d name=root)" "remove self"
gw_assert_contains "$T/ui.body" 'You cannot remove yourself'
gw_assert_eq 409 "$(ui POST /ui/users "$T/root" --data-urlencode "csrf=$CSRF" -d op=role -d name=root -d role=viewer)" "demote self"
gw_assert_contains "$T/ui.body" 'You cannot change your own role'
# A changed role ends the user's sessions: vw becomes admin and logs in
# again.
gw_assert_eq 303 "$(ui POST /ui/users "$T/root" --data-urlencode "csrf=$CSRF" -d op=role -d name=vw -d role=admin)" "promote vw"
gw_assert_eq 303 "$(ui GET /ui/users "$T/vw")" "vw's viewer session after its role changed"
gw_assert_eq 303 "$(login vw 'view pw' "$T/vw")" "vw logs in as admin"
# root is demoted by the CLI (another process): its console session
# takes the role the store has now, so it changes nothing more, not even
# on this page (the last-admin rule is not what refuses it).
"$GW_BUILD/scepgw" user set root --role viewer -c "$GW_CONF" >>"$T/user.out" 2>&1 || gw_fail "user set root"
gw_assert_eq 403 "$(ui POST /ui/users "$T/root" --data-urlencode "csrf=$CSRF" -d op=remove -d name=vw)" "demoted session removes the last admin"
gw_assert_contains "$T/ui.body" 'a viewer can look but not change'
gw_assert_eq 403 "$(ui POST /ui/users "$T/root" --data-urlencode "csrf=$CSRF" -d op=role -d name=vw -d role=ndes)" "demoted session demotes the last admin"
gw_assert_eq 403 "$(ui POST /ui/users "$T/root" --data-urlencode "csrf=$CSRF" -d op=remove -d name=md)" "demoted session removes"
gw_assert_eq 403 "$(add "$T/root" evil 'e pw' 'e pw' admin)" "demoted session adds"
gw_assert_eq 200 "$(ui GET /ui/users "$T/root")" "demoted session still looks"
grep -q 'name="op"' "$T/ui.body" && gw_fail "a demoted session is shown the forms"
users
gw_assert_contains "$T/users.txt" '^vw +- .* admin$'
gw_assert_contains "$T/users.txt" '^md '
gw_assert_not_contains "$T/users.txt" '^evil '
# Two admins again: the confirmation page, then the removal, which ends
# vw's session.
"$GW_BUILD/scepgw" user set root --role admin -c "$GW_CONF" >>"$T/user.out" 2>&1 || gw_fail "user set root"
gw_assert_eq 200 "$(ui GET '/ui/users?remove=vw' "$T/root")" "confirmation page"
gw_assert_contains "$T/ui.body" 'Remove vw \(admin\)\?'
gw_assert_contains "$T/ui.body" '<input type="hidden" name="op" value="remove"><input type="hidden" name="name" value="vw">'
gw_assert_eq 303 "$(ui POST /ui/users "$T/root" --data-urlencode "csrf=$CSRF" -d op=remove -d name=vw)" "remove vw"
gw_assert_eq 303 "$(ui GET /ui/users "$T/vw")" "vw's session after its removal"
users
gw_assert_not_contains "$T/users.txt" '^vw '
gw_assert_contains "$T/scepgw.log" 'console: user=root: removed user vw'
# A user the CLI removes is logged out at its next request.
printf 'gone pw\n' | "$GW_BUILD/scepgw" user add gone --role admin -c "$GW_CONF" >>"$T/user.out" 2>&1 ||
    gw_fail "user add gone"
gw_assert_eq 303 "$(login gone 'gone pw' "$T/gone")" "gone logs in"
gw_assert_eq 200 "$(ui GET /ui/users "$T/gone")" "gone's session"
"$GW_BUILD/scepgw" user remove gone -c "$GW_CONF" >>"$T/user.out" 2>&1 || gw_fail "user remove gone"
gw_assert_eq 303 "$(ui GET /ui/users "$T/gone")" "a removed user's session"
tr -d '\r' <"$T/ui.hdr" | grep -q '^Location: /ui/login$' || gw_fail "a removed user's session is not sent to the login page"
gw_assert_contains "$T/scepgw.log" 'console: user=gone: session ended: no longer a console user'
gw_assert_not_contains "$T/scepgw.log" 'view pw|mdm pw|root pw'

# GlobalSign on the dashboard: nothing yet, then a success, then a
# refused login (-4001) with its fix, then success again.
gw_assert_eq 200 "$(ui GET /ui/ "$T/root")" "dashboard"
gw_assert_contains "$T/ui.body" 'id="epki-err">none since start'
enroll_expect ok1 SUCCESS --challenge "$(gw_challenge)" --cn ok1
gw_assert_eq 200 "$(ui GET /ui/ "$T/root")" "dashboard after a success"
gw_assert_contains "$T/ui.body" 'id="epki-ok" class="ok">20[0-9-]+ [0-9:]+ UTC'
gw_assert_contains "$T/ui.body" 'id="epki-err">none since start'
curl -fsS -m 10 -d 'fault=login&op=OrderAndIssueCertificate&count=1' \
    "http://127.0.0.1:$SIM_PORT/sim/fault" >/dev/null || gw_fail "sim fault"
enroll_expect bad FAILURE --challenge "$(gw_challenge)" --cn bad
gw_assert_eq 200 "$(ui GET /ui/ "$T/root")" "dashboard after the error"
gw_assert_contains "$T/ui.body" 'id="epki-ok" class="muted">'
gw_assert_contains "$T/ui.body" 'id="epki-err" class="bad">20[0-9-]+ [0-9:]+ UTC, OrderAndIssueCertificate: GlobalSign ErrorCode -4001 \(Login failure'
gw_assert_contains "$T/ui.body" 'id="epki-fix">GlobalSign refused the login \(ErrorCode -4001: wrong API user or password\): fix \[epki\] username'
curl -fsS -m 10 -H "Authorization: Bearer $TOKEN" "$A/metrics" >"$T/metrics.txt" || gw_fail "metrics"
gw_assert_contains "$T/metrics.txt" '^scepgw_epki_last_success_timestamp_seconds [1-9][0-9]+$'
gw_assert_contains "$T/metrics.txt" '^scepgw_epki_last_error_timestamp_seconds [1-9][0-9]+$'
# Success again: the error stays, shown as past.
enroll_expect ok2 SUCCESS --challenge "$(gw_challenge)" --cn ok2
gw_assert_eq 200 "$(ui GET /ui/ "$T/root")" "dashboard after success again"
gw_assert_contains "$T/ui.body" 'id="epki-ok" class="ok">'
gw_assert_contains "$T/ui.body" 'id="epki-err" class="muted">'
gw_assert_not_contains "$T/ui.body" 'not tracked yet'
gw_assert_not_contains "$T/scepgw.log" 'epki-sim-password'
assert_issued ok1
assert_issued ok2
