#!/usr/bin/env bash
# Admin HTTP API, start-up checks (README "Admin HTTP API"): a token
# shorter than 32 bytes is refused at start (exit 1, the file named); 32
# bytes start; an admin listener on a loopback address starts quietly,
# one on any other address starts with a warning (it has no TLS).
. "$GW_SRC/tests/integration/lib.sh"
gw_need openssl curl
gw_tmpdir
gw_start_sim
gw_init
gw_conf_set admin token_file admin.token

# token TEXT: writes the token file, mode 0600.
token() {
	(umask 077 && printf '%s\n' "$1" >"$GW_DIR/admin.token")
}

# 31 bytes: refused, exit 1, with the way out.
token "$(openssl rand -hex 16 | cut -c1-31)"
gw_conf_set admin listen 127.0.0.1:0
rc=0
gw_run "$T/short.log" 30 "$GW_BUILD/scepgw" serve -c "$GW_CONF" || rc=$?
gw_assert_eq 1 "$rc" "exit status with a 31-byte token"
gw_assert_contains "$T/short.log" 'admin\.token: the token is 31 bytes, it must be at least 32'
gw_assert_contains "$T/short.log" 'openssl rand -hex 32'

# Exactly 32 bytes, on loopback: starts, no warning, the token works.
TOKEN=$(openssl rand -hex 16)
token "$TOKEN"
gw_start
code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' \
    -H "Authorization: Bearer $TOKEN" "$GW_ADMIN_URL/api/v1/challenges")
gw_assert_eq 200 "$code" "GET /api/v1/challenges with a 32-byte token"
gw_stop
grep -q 'not a loopback' "$T/scepgw.log" &&
    gw_fail "warning about a loopback admin listener"

# On every address: it starts, and says the API crosses the network in
# clear. (gw_start would put the listener back on 127.0.0.1.)
port=$(gw_free_port)
gw_conf_set server listen "127.0.0.1:$(gw_free_port)"
gw_conf_set admin listen "0.0.0.0:$port"
gw_spawn "$T/any.log" "$GW_BUILD/scepgw" serve -c "$GW_CONF"
pid=$GW_LAST_PID
for ((i = 0; i < 100; i++)); do
	curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break
	kill -0 "$pid" 2>/dev/null || gw_fail "serve died: $(cat "$T/any.log")"
	sleep 0.1
done
gw_assert_contains "$T/any.log" 'warning: \[admin\] listen 0\.0\.0\.0:[0-9]+ is not a loopback address: the admin API has no TLS'
gw__kill "$pid" || gw_fail "serve exited non-zero on SIGTERM"
