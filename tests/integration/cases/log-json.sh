#!/usr/bin/env bash
# [log] format = json (README "Logs"): a gateway logging JSON runs a full
# flow (GetCACaps, GetCACert, SUCCESS, a wrong challenge, PENDING then
# CertPoll, a renewal, an NDES page login, the admin API, hostile bytes in
# a transactionID and a CN and an operation, a SIGTERM drain). Every line
# of its log is then one JSON object starting with ts, level and event;
# each step has its event with its keys (the SUCCESS's txid is the one of
# the event naming the issued serial); no secret appears.
. "$GW_SRC/tests/integration/lib.sh"
gw_need openssl curl jq iconv perl
gw_tmpdir
gw_start_sim
gw_init
gw_conf_set log format json
gw_conf_set log level debug # scep.request of GetCACaps and GetCACert
gw_conf_set scep pending_after_seconds 1
gw_admin_enable
NDES_PW='ndes pass 1'
printf '%s\n' "$NDES_PW" | "$GW_BUILD/scepgw" user add mdm -c "$GW_CONF" \
    >"$T/user.out" 2>&1 || gw_fail "user add: $(cat "$T/user.out")"
SIM_ORDERS0=$(sim_orders)
gw_start
L=$T/scepgw.log

"$GW_BUILD/scepreq" caps --url "$GW_URL" >"$T/caps.out" 2>&1 || gw_fail "caps"
"$GW_BUILD/scepreq" cacert --url "$GW_URL" --certs-out "$T/ca.pem" \
    >"$T/cacert.out" 2>&1 || gw_fail "cacert"

c1=$(gw_challenge --cn alice)
enroll_expect ok SUCCESS --ec --challenge "$c1" --cn x --txid ok-txid
c2=$(gw_challenge)
enroll_expect wrong FAILURE --ec --challenge "0$c2" --cn wrong --txid wrong-txid

# PENDING: GlobalSign slower than pending_after_seconds; then CertPoll.
curl -fsS -m 10 -d latency_ms=2500 "http://127.0.0.1:$SIM_PORT/sim/config" \
    >/dev/null || gw_fail "sim config"
enroll_expect slow PENDING --ec --challenge "$c2" --cn slow --txid slow-txid
curl -fsS -m 10 -d latency_ms=0 "http://127.0.0.1:$SIM_PORT/sim/config" \
    >/dev/null || gw_fail "sim config"
for ((i = 0; i < 60; i++)); do
	rc=0
	"$GW_BUILD/scepreq" poll --url "$GW_URL" --key "$T/slow.key" \
	    --txid slow-txid --cn slow --cert-out "$T/slow.pem" >"$T/poll.out" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] && break
	[ "$rc" -eq 3 ] || { cat "$T/poll.out" >&2; gw_fail "poll exited $rc"; }
	sleep 0.2
done
gw_assert_eq 0 "$rc" "CertPoll after the order completed"

enroll_expect renewed SUCCESS --ec --renew-cert "$T/ok.pem" --renew-key "$T/ok.key" \
    --txid renew-txid

# The NDES page: a login that gets a challenge.
code=$(curl -sS -m 30 -u "mdm:$NDES_PW" -o "$T/page.raw" -w '%{http_code}' \
    "http://127.0.0.1:$GW_PORT/certsrv/mscep_admin/") || gw_fail "curl ndes"
gw_assert_eq 200 "$code" "NDES page"
c3=$(iconv -f UTF-16 -t UTF-8 "$T/page.raw" |
    perl -ne 'print "$1\n" if /The enrollment challenge password is: <B> (\S+)/i')
[ -n "$c3" ] || gw_fail "no challenge on the NDES page"

code=$(curl -sS -m 20 -H "Authorization: Bearer $TOKEN" -o "$T/list.json" \
    -w '%{http_code}' "$GW_ADMIN_URL/api/v1/enrollments") || gw_fail "curl admin"
gw_assert_eq 200 "$code" "admin list"

# Hostile bytes: a quote, a backslash, a line feed, a brace in a CN; with
# a byte that is not UTF-8 in a transactionID (not printable: the request
# is refused as it is read, 400).
bad=$'ev"il\\\n}{'
rc=0
enroll hostile-txid --ec --challenge x --cn a --txid "$bad"$'\xff' || rc=$?
gw_assert_eq 1 "$rc" "a transactionID that is not printable"
gw_assert_contains "$T/hostile-txid.out" "HTTP 400"
enroll_expect hostile FAILURE --ec --challenge "$c3" --cn "$bad" --txid hostile-txid
# Without the control character the CN is ordered, and logged.
c4=$(gw_challenge)
enroll_expect quoted SUCCESS --ec --challenge "$c4" --cn $'ev"il\\}{\xc3\xa9' --txid quoted-txid
curl -sS -m 10 -o /dev/null "$GW_URL?operation=x%0a%22%7d%ff" || gw_fail "curl"
gw_stop

# Every line: one JSON object, ts/level/event first, msg last; the lines
# that are not are printed with their number.
jq -nRr 'foreach inputs as $l (0; . + 1; [., $l]) |
    select(.[1] | try (fromjson |
	type == "object" and
	(keys_unsorted[0:3] == ["ts", "level", "event"]) and
	(keys_unsorted[-1] == "msg") and
	(.ts | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$")) and
	(.level | IN("error", "warning", "info", "debug")) and
	(.event | test("^[a-z_.]+$"))) catch false | not) |
    "line \(.[0]): \(.[1])"' "$L" >"$T/bad-lines" || gw_fail "jq failed"
[ ! -s "$T/bad-lines" ] || gw_fail "log lines that are not JSON events: $(cat "$T/bad-lines")"
n=$(wc -l <"$L")
[ "$n" -gt 20 ] || gw_fail "only $n log lines"

# has FILTER WHAT: some line of the log matches the jq FILTER.
has() {
	jq -e -s "any(.[]; $1)" "$L" >/dev/null || gw_fail "no log event: $2"
}
has '.event == "scep.request" and .op == "GetCACaps" and .peer == "127.0.0.1"' "GetCACaps"
has '.event == "scep.request" and .op == "GetCACert"' "GetCACert"
has '.event == "scep.request" and .msg_type == "PKCSReq" and .txid == "ok-txid"' "PKCSReq"
has '.event == "epki.order" and .txid == "ok-txid" and .cn == "alice" and .profile == "default"' "order"
serial=$(openssl x509 -in "$T/ok.pem" -noout -serial | sed 's/^serial=//')
jq -e -s --arg s "$serial" 'any(.[]; .event == "enroll.issued" and .txid == "ok-txid" and
    (.serial | ascii_upcase | ltrimstr("00")) == ($s | ascii_upcase | ltrimstr("00")) and
    (.order_id | length) > 0 and (.duration_ms | type) == "number")' "$L" >/dev/null ||
    gw_fail "no enroll.issued of ok-txid with serial $serial"
has '.event == "scep.reply" and .txid == "ok-txid" and .status == "SUCCESS" and .http_status == 200' "SUCCESS reply"
has '.event == "enroll.refused" and .txid == "wrong-txid" and .fail_info == "badRequest" and .reason == "invalid challenge password"' "wrong challenge"
has '.event == "scep.reply" and .txid == "wrong-txid" and .status == "FAILURE" and .fail_info == "badRequest"' "FAILURE reply"
has '.event == "enroll.pending" and .txid == "slow-txid"' "pending"
has '.event == "scep.reply" and .txid == "slow-txid" and .status == "PENDING"' "PENDING reply"
has '.event == "enroll.issued" and .txid == "slow-txid"' "slow issued"
has '.event == "scep.reply" and .txid == "slow-txid" and .msg_type == "CertPoll" and .status == "SUCCESS"' "CertPoll reply"
jq -e -s --arg s "$serial" 'any(.[]; .event == "renewal.admitted" and .txid == "renew-txid" and
    (.serial | ascii_upcase | ltrimstr("00")) == ($s | ascii_upcase | ltrimstr("00")))' "$L" >/dev/null ||
    gw_fail "no renewal.admitted of serial $serial"
has '.event == "ndes.challenge" and .user == "mdm" and .profile == "default"' "NDES challenge"
has '.event == "admin.request" and .http_status == 200 and (.msg | test("/api/v1/enrollments"))' "admin"
has '.event == "scep.invalid" and .op == "PKIOperation" and .http_status == 400' "hostile txid"
has '.event == "enroll.refused" and .txid == "hostile-txid" and .reason == "identity value not acceptable" and (.msg | test("control character"))' "hostile CN"
has '.event == "epki.order" and .txid == "quoted-txid" and .cn == "ev\"il\\x5c}{\u00e9"' "quoted CN"
has '.event == "http.reply" and .op == "x\\x0a\"}\\xff" and .http_status == 400' "hostile operation"
has '.event == "server.start"' "start"
has '.event == "server.drain"' "drain"
has '.event == "server.stop"' "stop"

# No secret: challenges, the NDES password, the admin token.
for s in "$c1" "$c2" "$c3" "$c4" "$NDES_PW" "$TOKEN"; do
	! grep -qF -- "$s" "$L" || gw_fail "a secret is in the log"
done
