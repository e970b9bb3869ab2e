#!/usr/bin/env bash
# One one-time challenge used by 8 devices (distinct keys) at the same
# instant: exactly one gets SUCCESS and one order; the others FAILURE
# badRequest.
. "$GW_SRC/tests/integration/lib.sh"
gw_up
gw_conf_set enroll max_failures_per_minute 0
gw_stop
gw_start

c=$(gw_challenge)
N=8
for ((i = 1; i <= N; i++)); do
	openssl genrsa -out "$T/race$i.key" 2048 2>/dev/null
done
# Start them together: each waits for the go file.
pids=()
for ((i = 1; i <= N; i++)); do
	( while [ ! -e "$T/go" ]; do sleep 0.01; done
	  enroll "race$i" --challenge "$c" --cn "race$i" ) &
	pids+=($!)
done
sleep 0.5
: >"$T/go"
ok=0 fail=0
for ((i = 0; i < N; i++)); do
	rc=0
	wait "${pids[$i]}" || rc=$?
	case $rc in
	0) ok=$((ok + 1)) ;;
	2) fail=$((fail + 1))
	   gw_assert_contains "$T/race$((i + 1)).out" "failinfo=badRequest" ;;
	*) cat "$T/race$((i + 1)).out" >&2; gw_fail "race$((i + 1)): exit $rc" ;;
	esac
done
gw_assert_eq 1 "$ok" "SUCCESS count"
gw_assert_eq $((N - 1)) "$fail" "FAILURE count"
gw_assert_eq 1 "$(sim_orders)" "orders"
gw_stop
