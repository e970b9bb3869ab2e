#!/usr/bin/env bash
# Single DES is refused by default (RFC 8894 2.9) with FAILURE badAlg and
# a log line naming the setting; with [scep] allow_des = yes (OpenSSL's
# legacy provider) the same request enrolls and the reply mirrors DES.
. "$GW_SRC/tests/integration/lib.sh"
gw_up

c=$(gw_challenge)
enroll_expect des FAILURE --challenge "$c" --cn des --cipher des
gw_assert_contains "$T/des.out" "failinfo=badAlg"
gw_assert_contains "$T/scepgw.log" "allow_des"
gw_assert_eq 0 "$(sim_orders)" "orders after a refused DES request"
gw_stop

gw_conf_set scep allow_des yes
gw_start
enroll_expect des2 SUCCESS --challenge "$c" --cn des --cipher des
gw_assert_contains "$T/des2.out" "cipher=des"
assert_issued des2
gw_stop
