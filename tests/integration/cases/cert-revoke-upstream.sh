#!/usr/bin/env bash
# `scepgw cert revoke SERIAL --reason R` revokes the order at GlobalSign
# (EPKI Revoke) and records it; `cert list` shows it REVOKED; a second
# revoke and an unknown serial are refused with exit 1; and a renewal
# signed by the revoked certificate gets FAILURE badMessageCheck.
. "$GW_SRC/tests/integration/lib.sh"
gw_up

c=$(gw_challenge --cn revokee)
enroll_expect old SUCCESS --challenge "$c"
assert_issued old
serial=$(openssl x509 -in "$T/old.pem" -noout -serial | cut -d= -f2)
calls0=$(sim_state calls.Revoke)

# Typed the way `openssl x509 -serial` prints it, in lower case, with colons.
typed=$(echo "$serial" | tr 'A-F' 'a-f' | sed 's/../&:/g; s/:$//')
gw_assert_ok "cert revoke" "$GW_BUILD/scepgw" cert revoke -c "$GW_CONF" \
    "$typed" --reason keyCompromise
"$GW_BUILD/scepgw" cert list -c "$GW_CONF" >"$T/list.out"
gw_assert_contains "$T/list.out" "^$serial .* REVOKED .*reason=keyCompromise"
order=$(sed -n "s/^$serial .*order=\([^ ]*\).*/\1/p" "$T/list.out")
[ -n "$order" ] || gw_fail "no order id for $serial in cert list"
sim_order "$order" >"$T/order.rec"
gw_assert_contains "$T/order.rec" "^status=7"

rc=0
"$GW_BUILD/scepgw" cert revoke -c "$GW_CONF" "$serial" >"$T/again.out" 2>&1 || rc=$?
gw_assert_eq 1 "$rc" "second revoke exit status"
gw_assert_contains "$T/again.out" "already revoked"
rc=0
"$GW_BUILD/scepgw" cert revoke -c "$GW_CONF" ABCDEF >"$T/unknown.out" 2>&1 || rc=$?
gw_assert_eq 1 "$rc" "unknown serial exit status"
gw_assert_contains "$T/unknown.out" "no certificate with serial ABCDEF"
rc=0
"$GW_BUILD/scepgw" cert revoke -c "$GW_CONF" "$serial" --reason because >/dev/null 2>&1 || rc=$?
gw_assert_eq 2 "$rc" "unknown reason exit status"
gw_assert_eq $((calls0 + 1)) \
    "$(sim_state calls.Revoke)" \
    "Revoke calls at epki-sim"

enroll_expect renewed FAILURE --renew-cert "$T/old.pem" --renew-key "$T/old.key"
gw_assert_contains "$T/renewed.out" "failinfo=badMessageCheck"
gw_assert_eq 1 "$(sim_orders)" "orders at epki-sim"
gw_stop
