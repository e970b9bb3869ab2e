#!/usr/bin/env bash
# ctest-labels: long
# Soak: about 30 % of every EPKI call fails at random (HTTP 500, HTML
# 503, connection reset, -1 internal error, reply dropped after the work
# was done) with a fixed seed, over 20 enrollments made four at a time.
# Every device keeps polling and must end with its certificate, and
# epki-sim must have spent exactly one licence per certificate.
. "$GW_SRC/tests/integration/cases/faults.bash"
fault_up
N=${SOAK_N:-20}

gw_assert_eq ok "$(sim_admin config seed=4242)" "seed"
for kind in http500 http503 reset internal 'drop ms=3000'; do
	sim_fault "$kind op=all prob=7"
done

# Enrollments four at a time, each in its own subshell.
pids=()
for ((i = 0; i < N; i++)); do
	(GW_CASE=$GW_CASE/soak$i; device "soak$i") >"$T/soak$i.log" 2>&1 &
	pids+=($!)
	if (( ${#pids[@]} == 4 )); then
		for p in "${pids[@]}"; do wait "$p" || gw_fail "a device failed (see soak*.log)"; done
		pids=()
	fi
done
for p in "${pids[@]}"; do wait "$p" || gw_fail "a device failed (see soak*.log)"; done
DELIVERED=$N
sim_admin fault fault=clear >/dev/null
sim_state fired.http500 >/dev/null
gw_log "fired: $(curl -fsS "http://127.0.0.1:$SIM_PORT/sim/state" | grep '^fired' | tr '\n' ' ')"
assert_ledger
gw_stop
