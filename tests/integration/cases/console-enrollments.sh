#!/usr/bin/env bash
# The console's enrollments (README "Admin web console", db/README.md
# "History") through curl, as a support call would use them: a SUCCESS, a
# FAILURE by GlobalSign (no licence left), a PENDING then CertPoll, a
# refused challenge (unknown, then already used) are each found by the
# search and show their history; a CN and a transactionID holding markup
# are printed as text; a viewer sees the same pages; a POST is refused
# (403 without its CSRF token or as a viewer, 405 as an admin); an unknown
# transaction is a 404 page; GET /api/v1/enrollments/TXID has "events".
. "$GW_SRC/tests/integration/lib.sh"
gw_need curl openssl
gw_tmpdir
gw_start_sim
gw_init
gw_admin_enable
gw_conf_set scep pending_after_seconds 1
for u in 'root admin' 'view viewer'; do
	set -- $u
	printf '%s pw\n' "$1" | "$GW_BUILD/scepgw" user add "$1" --role "$2" \
	    -c "$GW_CONF" >>"$T/user.out" 2>&1 || gw_fail "user add $1: $(cat "$T/user.out")"
done
gw_start
A=$GW_ADMIN_URL
SIM="http://127.0.0.1:$SIM_PORT"

# ui METHOD PATH JAR [curl args...]: prints the status; body in $T/ui.body.
ui() {
	local m=$1 p=$2 jar=$3
	shift 3
	curl -sS -m 30 -X "$m" -b "$jar" -c "$jar" -o "$T/ui.body" \
	    -w '%{http_code}' "$@" "$A$p" || gw_fail "curl $m $p"
}
# login USER JAR: logs in (password "USER pw").
login() {
	local tok
	gw_assert_eq 200 "$(ui GET /ui/login "$2")" "login page"
	tok=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/ui.body")
	gw_assert_eq 303 "$(ui POST /ui/login "$2" --data-urlencode "csrf=$tok" \
	    --data-urlencode "user=$1" --data-urlencode "password=$1 pw")" "login $1"
}
# page_until PATH JAR REGEX: GET PATH until its body matches (the server's
# own events are committed with the next batch, not before the answer).
page_until() {
	local i
	for ((i = 0; i < 100; i++)); do
		gw_assert_eq 200 "$(ui GET "$1" "$2")" "GET $1"
		grep -Eq "$3" "$T/ui.body" && return 0
		sleep 0.1
	done
	cat "$T/ui.body" >&2
	gw_fail "$1: no match for $3"
}

# A SUCCESS whose CN holds markup.
XSS='<script>alert(1)</script>'
enroll_expect ok SUCCESS --challenge "$(gw_challenge)" --cn "$XSS" --txid ok-txid
# A FAILURE by GlobalSign: no licence left (ErrorCode -6101).
curl -fsS -m 10 -d 'licences=0' "$SIM/sim/config" >/dev/null || gw_fail "sim config"
enroll_expect nolic FAILURE --challenge "$(gw_challenge)" --cn nolic-dev --txid nolic-txid
curl -fsS -m 10 -d 'licences=100' "$SIM/sim/config" >/dev/null || gw_fail "sim config"
# PENDING (GlobalSign slower than pending_after_seconds), then CertPoll.
curl -fsS -m 10 -d 'latency_ms=2500' "$SIM/sim/config" >/dev/null || gw_fail "sim config"
enroll_expect slow PENDING --challenge "$(gw_challenge)" --cn slow-dev --txid slow-txid
for ((i = 0; i < 60; i++)); do
	rc=0
	"$GW_BUILD/scepreq" poll --url "$GW_URL" --key "$T/slow.key" \
	    --txid slow-txid --cn slow-dev --cert-out "$T/slow.pem" >"$T/poll.out" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] && break
	[ "$rc" -eq 3 ] || { cat "$T/poll.out" >&2; gw_fail "poll exited $rc"; }
	sleep 0.2
done
gw_assert_eq 0 "$rc" "CertPoll after the order completed"
curl -fsS -m 10 -d 'latency_ms=0' "$SIM/sim/config" >/dev/null || gw_fail "sim config"
# Refused: an unknown challenge (transactionID with markup), then one
# used already.
enroll_expect bad FAILURE --challenge 00112233445566778899aabbccddeeff \
    --cn refused-dev --txid 'bad<b>"&txid'
used=$(gw_challenge)
enroll_expect first SUCCESS --challenge "$used" --cn used-dev --txid used-1
enroll_expect again FAILURE --challenge "$used" --cn used-dev --txid used-2

login view "$T/view"
login root "$T/root"

# The search: by CN prefix, newest first; the markup printed as text.
gw_assert_eq 200 "$(ui GET '/ui/enrollments?cn=%3Cscript' "$T/view")" "search by CN"
gw_assert_contains "$T/ui.body" '<a href="/ui/enrollments/ok-txid">ok-txid</a>'
gw_assert_contains "$T/ui.body" '&lt;script&gt;alert\(1\)&lt;/script&gt;'
gw_assert_not_contains "$T/ui.body" '<script'
gw_assert_not_contains "$T/ui.body" 'nolic-txid'
gw_assert_eq 200 "$(ui GET '/ui/enrollments?state=failed' "$T/view")" "search failed"
gw_assert_contains "$T/ui.body" 'nolic-txid'
gw_assert_not_contains "$T/ui.body" 'ok-txid'
gw_assert_eq 200 "$(ui GET "/ui/enrollments?cn=slow&from=$(date -u +%F)&to=$(date -u +%F)" "$T/view")" "search by day"
gw_assert_contains "$T/ui.body" 'slow-txid'
gw_assert_eq 200 "$(ui GET '/ui/enrollments?cn=slow&from=2001-01-01&to=2001-01-02' "$T/view")" "search another day"
gw_assert_not_contains "$T/ui.body" 'slow-txid'
gw_assert_eq 400 "$(ui GET '/ui/enrollments?state=gone' "$T/view")" "unknown state"
gw_assert_eq 400 "$(ui GET '/ui/enrollments?from=yesterday' "$T/view")" "bad day"

# The SUCCESS: admitted, ordered, issued, delivered; the certificate linked.
page_until /ui/enrollments/ok-txid "$T/view" '>delivered<'
gw_assert_contains "$T/ui.body" '>admitted<.*PKCSReq, challenge [0-9]+, profile default'
gw_assert_contains "$T/ui.body" '>ordered<.*OrderID '
gw_assert_contains "$T/ui.body" '>issued<.*serial [0-9A-F]+'
gw_assert_contains "$T/ui.body" 'CertRep SUCCESS sent to 127\.0\.0\.1, serial '
gw_assert_contains "$T/ui.body" '<a href="/ui/certificates/[0-9A-F]+">'
gw_assert_not_contains "$T/ui.body" '<script'
# The FAILURE by GlobalSign: its code and message.
gw_assert_eq 200 "$(ui GET /ui/enrollments/nolic-txid "$T/view")" "failed one"
gw_assert_contains "$T/ui.body" '>failed<.*GlobalSign error -6101'
gw_assert_contains "$T/ui.body" 'GlobalSign error code</th><td>-6101'
# PENDING, then the polls counted in one row, then issued.
page_until /ui/enrollments/slow-txid "$T/view" '>polled<'
gw_assert_contains "$T/ui.body" '>pending<.*CertRep PENDING sent'
gw_assert_contains "$T/ui.body" '>polled<.*last answer SUCCESS.*\([0-9]+ CertPolls?, the last at'
gw_assert_eq 1 "$(grep -o '>polled<' "$T/ui.body" | wc -l)" "one polled row"
# Refused: listed by state, its page without a transaction, escaped.
page_until '/ui/enrollments?state=refused' "$T/view" 'used-2'
gw_assert_contains "$T/ui.body" 'PKCSReq from 127\.0\.0\.1: unknown challenge'
gw_assert_contains "$T/ui.body" 'PKCSReq from 127\.0\.0\.1: challenge already used'
gw_assert_contains "$T/ui.body" '<a href="/ui/enrollments/bad%3Cb%3E%22%26txid">bad&lt;b&gt;&quot;&amp;txid</a>'
gw_assert_eq 200 "$(ui GET '/ui/enrollments/bad%3Cb%3E%22%26txid' "$T/view")" "refused one"
gw_assert_contains "$T/ui.body" 'No transaction was recorded for bad&lt;b&gt;&quot;&amp;txid'
gw_assert_contains "$T/ui.body" '>refused<'
gw_assert_not_contains "$T/ui.body" '<b>'
gw_assert_not_contains "$T/scepgw.log" '00112233445566778899aabbccddeeff'
gw_assert_eq 404 "$(ui GET /ui/enrollments/no-such-txid "$T/view")" "unknown transaction"

# Nothing changes here: POST refused for everyone.
CSRF=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/ui.body" | head -1)
gw_assert_eq 403 "$(ui POST /ui/enrollments "$T/root" -d x=1)" "POST without CSRF"
gw_assert_eq 403 "$(ui POST /ui/enrollments/ok-txid "$T/view" -d "csrf=$CSRF")" "viewer POST"
ui GET /ui/ "$T/root" >/dev/null
RCSRF=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/ui.body" | head -1)
gw_assert_eq 405 "$(ui POST /ui/enrollments "$T/root" -d "csrf=$RCSRF")" "admin POST"
gw_assert_eq 200 "$(ui GET /ui/enrollments "$T/root")" "admin list"
gw_assert_contains "$T/ui.body" 'href="/ui/enrollments" class="here"|class="here" href="/ui/enrollments"'

# The API: the same history.
curl -fsS -m 10 -H "Authorization: Bearer $TOKEN" "$A/api/v1/enrollments/ok-txid" >"$T/api.json" ||
    gw_fail "GET /api/v1/enrollments/ok-txid"
gw_assert_contains "$T/api.json" '"events": *\[.*"kind": *"admitted".*"kind": *"delivered"'
gw_stop
