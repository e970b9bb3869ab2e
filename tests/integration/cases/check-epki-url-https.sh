#!/usr/bin/env bash
# [epki] url must be https: an http:// URL to a host that is not loopback
# is a config error naming its line, for `serve` (exit 1, nothing
# started) and for `scepgw check` (FAIL config), unless
# [epki] allow_http = yes. http:// to epki-sim on 127.0.0.1 (every other
# case) stays allowed.
. "$GW_SRC/tests/integration/lib.sh"
gw_need openssl curl
gw_tmpdir
gw_start_sim
gw_init

gw_conf_set epki url "http://192.0.2.1:8080/cr/ws/GasOrderService"
rc=0
timeout 10 "$GW_BUILD/scepgw" serve -c "$GW_CONF" >"$T/serve.out" 2>&1 || rc=$?
gw_assert_eq 1 "$rc" "serve with a plain-http EPKI URL"
gw_assert_contains "$T/serve.out" \
    "scepgw.conf:[0-9]+: \[epki\] key \"url\": http:// sends the API password and every order in clear: use https://, or set \[epki\] allow_http = yes"
rc=0
"$GW_BUILD/scepgw" check -c "$GW_CONF" >"$T/check.out" 2>&1 || rc=$?
gw_assert_eq 1 "$rc" "check with a plain-http EPKI URL"
gw_assert_contains "$T/check.out" "^FAIL +config"
gw_assert_contains "$T/check.out" "\[epki\] key \"url\": http:// sends"

gw_conf_set epki url "ftp://epki.example/cr/ws/GasOrderService"
rc=0
"$GW_BUILD/scepgw" check -c "$GW_CONF" >"$T/check.out" 2>&1 || rc=$?
gw_assert_eq 1 "$rc" "check with an ftp EPKI URL"
gw_assert_contains "$T/check.out" "\[epki\] key \"url\": bad value \"ftp://"

# allow_http = yes lets it through (the connection itself then fails:
# nothing listens at 192.0.2.1).
gw_conf_set epki url "http://192.0.2.1:8080/cr/ws/GasOrderService"
gw_conf_set epki allow_http yes
gw_conf_set epki timeout_seconds 2
rc=0
"$GW_BUILD/scepgw" check -c "$GW_CONF" >"$T/check.out" 2>&1 || rc=$?
gw_assert_contains "$T/check.out" "^OK +config"
gw_assert_not_contains "$T/check.out" "allow_http"

# init refuses such a URL before it sends the password anywhere.
rc=0
"$GW_BUILD/scepgw" init --dir "$T/init2" --epki-url "http://192.0.2.1/x" \
    --epki-user u --epki-password-file "$GW_DIR/epki.password" \
    --profile-id MP1 --ca-chain "$SIM_DIR/ca-chain.pem" >"$T/init.out" 2>&1 ||
    rc=$?
gw_assert_eq 2 "$rc" "init with a plain-http EPKI URL (2: bad usage)"
gw_assert_contains "$T/init.out" "--epki-url: http:// sends"
