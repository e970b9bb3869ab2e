#!/usr/bin/env bash
# One `scepgw serve` per database (README "Commands"): a second server
# started on the same [db] path, on another port, exits 1 naming the
# lock file, and the first keeps serving; the CLI still works beside the
# server. A server killed with SIGKILL leaves no lock behind: the next one
# starts at once.
. "$GW_SRC/tests/integration/lib.sh"
gw_up

# The same config on another port (0: the kernel picks a free one).
cp "$GW_CONF" "$GW_DIR/second.conf" # relative paths stay the same
gw_conf_set server listen 127.0.0.1:0 "$GW_DIR/second.conf"
rc=0
gw_run "$T/second.log" 30 "$GW_BUILD/scepgw" serve -c "$GW_DIR/second.conf" || rc=$?
gw_assert_eq 1 "$rc" "exit status of a second serve on the same database"
gw_assert_contains "$T/second.log" \
    "\[db\] path: .*scepgw\.db is served by another scepgw serve \(it holds .*scepgw\.db\.lock\): one server per database"
gw_caps_ok "$GW_URL" || gw_fail "the first server stopped answering"
gw_challenge >/dev/null # the CLI does not take the lock
enroll_expect dev1 SUCCESS --challenge "$(gw_challenge)"

kill -KILL "$GW_PID"
wait "$GW_PID" 2>/dev/null || true
GW_PID=
gw_start
enroll_expect dev2 SUCCESS --challenge "$(gw_challenge)"
gw_stop
