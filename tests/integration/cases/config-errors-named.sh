#!/usr/bin/env bash
# A bad config is refused at start with file:line: reason and exit 1, for
# every bad key at once; a key or password file readable by others is
# refused too; `scepgw check` says OK for a good instance.
. "$GW_SRC/tests/integration/lib.sh"
gw_need openssl
gw_tmpdir
gw_start_sim
gw_init

"$GW_BUILD/scepgw" check -c "$GW_CONF" >"$T/check.out" 2>&1 ||
    { cat "$T/check.out" >&2; gw_fail "check failed on a fresh instance"; }
gw_assert_not_contains "$T/check.out" "^FAIL"

cp "$GW_CONF" "$T/good.conf"
gw_conf_set epki urll http://x
gw_conf_set scep allow_des maybe
rc=0
"$GW_BUILD/scepgw" serve -c "$GW_CONF" >"$T/bad.out" 2>&1 || rc=$?
gw_assert_eq 1 "$rc" "exit status for a bad config"
gw_assert_contains "$T/bad.out" 'scepgw\.conf:[0-9]+: .*urll'
gw_assert_contains "$T/bad.out" 'scepgw\.conf:[0-9]+: .*allow_des'
cp "$T/good.conf" "$GW_CONF"

grep -v '^username' "$T/good.conf" >"$GW_CONF"
rc=0
"$GW_BUILD/scepgw" serve -c "$GW_CONF" >"$T/missing.out" 2>&1 || rc=$?
gw_assert_eq 1 "$rc" "exit status for a missing key"
gw_assert_contains "$T/missing.out" 'username'
cp "$T/good.conf" "$GW_CONF"

chmod 644 "$GW_DIR/ra.key"
rc=0
timeout 20 "$GW_BUILD/scepgw" serve -c "$GW_CONF" >"$T/perm.out" 2>&1 || rc=$?
gw_assert_eq 1 "$rc" "exit status for a world-readable RA key"
gw_assert_contains "$T/perm.out" 'ra\.key'
"$GW_BUILD/scepgw" check -c "$GW_CONF" >"$T/check2.out" 2>&1 && gw_fail "check passed with a readable key"
gw_assert_contains "$T/check2.out" "^FAIL"
chmod 600 "$GW_DIR/ra.key"

rc=0
"$GW_BUILD/scepgw" bogus >"$T/usage.out" 2>&1 || rc=$?
gw_assert_eq 2 "$rc" "exit status for bad usage"
