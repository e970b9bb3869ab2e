#!/usr/bin/env bash
# `scepgw cert revoke` records a revocation only when GlobalSign confirms
# it: a transport error or a wrong password leaves the certificate
# unrevoked (exit 1, the reason named); a reply lost after GlobalSign
# revoked is settled on the next try, which sees the order revoked.
. "$GW_SRC/tests/integration/lib.sh"
gw_up

c=$(gw_challenge --cn revokee)
enroll_expect dev SUCCESS --challenge "$c"
serial=$(openssl x509 -in "$T/dev.pem" -noout -serial | cut -d= -f2)
admin=http://127.0.0.1:$SIM_PORT/sim/fault
revoke() {
	local rc=0
	"$GW_BUILD/scepgw" cert revoke -c "$GW_CONF" "$serial" >"$T/revoke.out" 2>&1 || rc=$?
	echo "$rc"
}

curl -fsS -d 'http503 op=Revoke count=1' "$admin" >/dev/null
gw_assert_eq 1 "$(revoke)" "revoke through an HTML 503"
gw_assert_contains "$T/revoke.out" "no usable answer from GlobalSign at $SIM_URL"
"$GW_BUILD/scepgw" cert list -c "$GW_CONF" >"$T/list.out"
gw_assert_not_contains "$T/list.out" "REVOKED"

cp "$GW_DIR/epki.password" "$T/good.password"
(umask 077 && echo wrong-password >"$GW_DIR/epki.password")
gw_assert_eq 1 "$(revoke)" "revoke with a wrong password"
gw_assert_contains "$T/revoke.out" "ErrorCode -4001"
gw_assert_contains "$T/revoke.out" "\[epki\] username"
cp "$T/good.password" "$GW_DIR/epki.password"

# Revoked at GlobalSign, reply lost: not recorded; the retry settles it.
curl -fsS -d 'drop op=Revoke count=1' "$admin" >/dev/null
gw_assert_eq 1 "$(revoke)" "revoke whose reply was dropped"
"$GW_BUILD/scepgw" cert list -c "$GW_CONF" >"$T/list.out"
gw_assert_not_contains "$T/list.out" "REVOKED"
gw_assert_eq 0 "$(revoke)" "revoke again after the lost reply"
gw_assert_contains "$T/revoke.out" "already revoked at GlobalSign"
"$GW_BUILD/scepgw" cert list -c "$GW_CONF" >"$T/list.out"
gw_assert_contains "$T/list.out" "^$serial .* REVOKED"
gw_stop
