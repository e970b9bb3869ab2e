#!/usr/bin/env bash
# SIGHUP reloads what can change while serving (README "Running under
# systemd"), and refuses a broken config as a whole:
# - [log] level = debug takes effect;
# - a profile's static challenge file rewritten: the old secret is
#   refused, the new one admitted;
# - RA rollover without a restart: next_cert/next_key added (GetNextCACert
#   appears), then next -> current and current -> previous while
#   enrollments are in flight (none fails: each keeps the RA it started
#   with); afterwards a device encrypting to the old RA still enrolls and
#   GetCACert returns the new one, and `scepgw check` sees the gateway
#   serve it;
# - a key that does not match its certificate, a key of mode 0644, a
#   next_cert without next_key, a config that does not load: refused, one
#   line each, and the old state keeps serving;
# - another key changed is named: "not reloaded: ... restart to apply".
. "$GW_SRC/tests/integration/lib.sh"
gw_need openssl curl
gw_tmpdir
gw_start_sim
gw_init
GW_DIR=$(dirname "$GW_CONF")
secret1=kiosk-$(openssl rand -hex 16)
(umask 077 && printf '%s\n' "$secret1" >"$GW_DIR/kiosk.challenge")
gw_conf_set "profile kiosk" challenge static
gw_conf_set "profile kiosk" static_challenge_file kiosk.challenge
SIM_ORDERS0=$(sim_orders)
gw_start
KIOSK_URL=$GW_URL/kiosk

# poll_until SECONDS WHAT COMMAND...: until COMMAND succeeds.
poll_until() {
	local secs=$1 what=$2 i
	shift 2
	for ((i = 0; i < secs * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	gw_fail "$what: not within $secs s"
}
log_count() { grep -c -E "$1" "$T/scepgw.log" || true; }
log_at_least() { [ "$(log_count "$1")" -ge "$2" ]; }
# hup: one SIGHUP, and wait for its outcome line; prints nothing.
RELOADS=0
hup() {
	RELOADS=$((RELOADS + 1))
	kill -HUP "$GW_PID"
	poll_until 30 "reload $RELOADS" log_at_least \
	    '(info: reloaded: |reload refused: still serving)' "$RELOADS"
}
# refused WHAT RE: the last reload was refused, saying RE.
refused() {
	gw_assert_eq "$RELOADS" "$(log_count '(info: reloaded: |reload refused: still serving)')" "$1"
	tail -n 20 "$T/scepgw.log" | grep -q -E "$2" ||
	    gw_fail "$1: the log does not say: $2"
	gw_assert_eq "$REFUSED" "$(($(log_count 'reload refused: still serving') - 1))" \
	    "refusals before $1"
	REFUSED=$((REFUSED + 1))
}
REFUSED=0
# first_cacert OUT: the first certificate GetCACert returns, as PEM.
first_cacert() {
	curl -fsS -o "$T/cacert.p7" "$GW_URL?operation=GetCACert" ||
	    gw_fail "GetCACert failed"
	openssl pkcs7 -inform DER -in "$T/cacert.p7" -print_certs |
	    openssl x509 -out "$1"
}
# gw_challenge_n N: N fresh one-time challenges, one a line.
gw_challenge_n() {
	"$GW_BUILD/scepgw" challenge new -c "$GW_CONF" --count "$1" \
	    2>>"$T/cli.log" || gw_fail "scepgw challenge new --count $1"
}
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256; }

GW_URL=$KIOSK_URL enroll_expect static1 SUCCESS --challenge "$secret1" --cn s1 --ec

# [log] level: debug lines appear only after the reload.
curl -fsS -o /dev/null "$GW_URL?operation=GetCACaps"
gw_assert_eq 0 "$(log_count 'debug: .*GetCACaps')" "debug lines at info"
gw_conf_set log level debug
hup
gw_assert_contains "$T/scepgw.log" 'info: reloaded: .*\[log\] level debug'
curl -fsS -o /dev/null "$GW_URL?operation=GetCACaps"
poll_until 10 "a debug line" log_at_least 'debug: .*GetCACaps' 1

# The static challenge file rewritten.
secret2=kiosk-$(openssl rand -hex 16)
(umask 077 && printf '%s\n' "$secret2" >"$GW_DIR/kiosk.challenge")
hup
gw_assert_contains "$T/scepgw.log" 'static challenges re-read: default, kiosk|static challenges re-read: kiosk'
GW_URL=$KIOSK_URL enroll_expect static-old FAILURE --challenge "$secret1" --cn s2 --ec
GW_URL=$KIOSK_URL enroll_expect static-new SUCCESS --challenge "$secret2" --cn s3 --ec
gw_assert_not_contains "$T/scepgw.log" "$secret1"
gw_assert_not_contains "$T/scepgw.log" "$secret2"

# A next RA, ordered from EPKI like the first, announced by a reload.
"$GW_BUILD/scepgw" init --dir "$T/next" --epki-url "$SIM_URL" \
    --epki-user "$GW_SIM_USER" --epki-password-file "$T/epki.password" \
    --profile-id "$GW_SIM_PROFILE" --ca-chain "$SIM_DIR/ca-chain.pem" \
    >"$T/init-next.log" 2>&1 || gw_fail "init of the next RA"
install -m 600 "$T/next/ra.key" "$GW_DIR/ra-next.key"
cp "$T/next/ra.pem" "$GW_DIR/ra-next.pem"
cp "$GW_DIR/ra.pem" "$T/old-ra.pem"
SIM_ORDERS0=$(sim_order_ids | wc -l)
gw_assert_eq 404 "$(curl -sS -o /dev/null -w '%{http_code}' "$GW_URL?operation=GetNextCACert")" \
    "GetNextCACert before"
gw_conf_set ra next_cert ra-next.pem
gw_conf_set ra next_key ra-next.key
hup
gw_assert_caps "$GW_URL" GetNextCACert
curl -fsS -o "$T/next.p7" "$GW_URL?operation=GetNextCACert" ||
    gw_fail "GetNextCACert after the reload"

# Broken reloads: refused, one line each, the old state still serving.
cp "$GW_CONF" "$T/good.conf"
gw_conf_set ra key ra-next.key          # ra.pem with the next RA's key
hup
refused "a key not matching" 'reload refused: RA: .*does not match'
cp "$T/good.conf" "$GW_CONF"
chmod 644 "$GW_DIR/ra.key"
hup
refused "a 0644 key" 'reload refused: \[ra\] key: .*'
chmod 600 "$GW_DIR/ra.key"
gw_conf_set ra next_key ""
hup
refused "next_cert without next_key" 'reload refused: .*next_(cert|key)'
cp "$T/good.conf" "$GW_CONF"
gw_conf_set server threads 0
hup
refused "a config that does not load" 'reload refused: .*scepgw.conf:[0-9]+: \[server\] .*threads'
cp "$T/good.conf" "$GW_CONF"
gw_assert_caps "$GW_URL" GetNextCACert
first_cacert "$T/cur.pem"
gw_assert_eq "$(fp "$T/old-ra.pem")" "$(fp "$T/cur.pem")" "GetCACert after the refusals"
c=$(gw_challenge)
enroll_expect after-refusals SUCCESS --challenge "$c" --cn after-refusals --ec

# A key a reload does not apply is named.
gw_conf_set enroll challenge_ttl_seconds 7200
hup
gw_assert_contains "$T/scepgw.log" \
    'not reloaded: \[enroll\] challenge_ttl_seconds changed; restart to apply'

# The switch, while six enrollments wait for GlobalSign.
curl -fsS -d latency_ms=1000 "http://127.0.0.1:$SIM_PORT/sim/config" >/dev/null
o0=$(sim_state orders)
pids=()
mapfile -t cs < <(gw_challenge_n 6)
for i in 1 2 3 4 5 6; do
	c=${cs[$((i - 1))]}
	enroll_expect "inflight$i" SUCCESS --challenge "$c" --cn "inflight$i" --ec &
	pids+=($!)
done
orders_at_least() { [ "$(sim_state orders)" -ge "$1" ]; }
poll_until 30 "six orders at epki-sim" orders_at_least $((o0 + 6))
gw_conf_set ra cert ra-next.pem
gw_conf_set ra key ra-next.key
gw_conf_set ra next_cert ""
gw_conf_set ra next_key ""
gw_conf_set ra previous_cert ra.pem
gw_conf_set ra previous_key ra.key
hup
for p in "${pids[@]}"; do
	wait "$p" || gw_fail "an enrollment in flight failed across the reload"
done
curl -fsS -d latency_ms=0 "http://127.0.0.1:$SIM_PORT/sim/config" >/dev/null
gw_assert_contains "$T/scepgw.log" 'info: reloaded: RA certificate serial [0-9A-F]+, next none, previous set'

# After it: the old RA still decrypts, GetCACert names the new one.
c=$(gw_challenge)
enroll_expect to-old SUCCESS --challenge "$c" --cn to-old --ec \
    --encrypt-to "$T/old-ra.pem"
assert_issued to-old
c=$(gw_challenge)
enroll_expect to-new SUCCESS --challenge "$c" --cn to-new --ec
first_cacert "$T/cur.pem"
gw_assert_eq "$(fp "$GW_DIR/ra-next.pem")" "$(fp "$T/cur.pem")" "GetCACert after the switch"
caps=$(curl -fsS "$GW_URL?operation=GetCACaps")
! grep -q GetNextCACert <<<"$caps" || gw_fail "GetNextCACert still advertised"
# `scepgw check` sees the gateway serve the RA of the config it checks.
"$GW_BUILD/scepgw" check -c "$GW_CONF" >"$T/check.out" 2>&1 || true
gw_assert_contains "$T/check.out" "this config's RA certificate: the same"
gw_assert_not_contains "$T/check.out" 'another RA certificate'
gw_stop
