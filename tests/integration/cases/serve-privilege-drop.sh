#!/usr/bin/env bash
# `scepgw serve` refuses to run as root unless [server] allow_root = yes;
# with [server] user = NAME it binds the listener as root, drops to that
# user (groups, group, user; root cannot be regained) and only then opens
# the secrets and the database, so the RA key must belong to that user.
. "$GW_SRC/tests/integration/lib.sh"
[ "$(id -u)" = 0 ] || gw_skip "needs root (CI runs the cases as root)"
gw_need useradd ps
U=scepgw-test
id -u "$U" >/dev/null 2>&1 || useradd -r -M -d /nonexistent -s /usr/sbin/nologin "$U" ||
    gw_fail "cannot create user $U"
gw_up
gw_stop

# As root without allow_root: refused, with a message naming both keys.
gw_conf_set server allow_root no
rc=0
gw_run "$T/root.log" 60 "$GW_BUILD/scepgw" serve -c "$GW_CONF" || rc=$?
[ "$rc" -ne 0 ] || gw_fail "serve ran as root without allow_root"
gw_assert_contains "$T/root.log" "refusing to serve as root.*\[server\] user.*allow_root"

# A user, but the RA key still root's: refused after the drop.
gw_conf_set server user "$U"
chmod 755 "$T"
chown -R "$U:" "$GW_DIR"
chown root: "$GW_DIR/ra.key"
rc=0
gw_run "$T/owner.log" 60 "$GW_BUILD/scepgw" serve -c "$GW_CONF" || rc=$?
[ "$rc" -ne 0 ] || gw_fail "serve accepted an RA key not owned by $U"
gw_assert_contains "$T/owner.log" "\[ra\] key: .* not by \[server\] user $U"

# Everything the user's: serve runs as the user and enrolls.
chown "$U:" "$GW_DIR/ra.key"
gw_start
uid=$(ps -o uid= -p "$GW_PID" | tr -d ' ')
gw_assert_eq "$(id -u "$U")" "$uid" "uid of scepgw serve"
gw_assert_eq "$(id -u "$U")" "$(ps -o ruid= -p "$GW_PID" | tr -d ' ')" "real uid"
gw_assert_eq "$(id -g "$U")" "$(ps -o gid= -p "$GW_PID" | tr -d ' ')" "gid"
grep -q "^Groups:[[:space:]]*$(id -g "$U")[[:space:]]*$" "/proc/$GW_PID/status" ||
    gw_fail "supplementary groups: $(grep ^Groups: "/proc/$GW_PID/status")"
gw_assert_contains "$T/scepgw.log" "running as $U"
enroll_expect dropped SUCCESS --challenge "$(gw_challenge)" --cn dropped
gw_stop
