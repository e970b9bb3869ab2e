#!/usr/bin/env bash
# [epki] max_connections caps the parallel connections to GlobalSign; more
# orders wait their turn instead of opening more sockets. With a cap of 1,
# an EPKI latency of 1.5 s and PENDING after 2 s, three enrollments sent
# at once cannot all be answered in time: the first is SUCCESS, the later
# ones wait behind it and get PENDING, and every order still completes
# (CertPoll), once each. The same three with the default cap are all
# SUCCESS.
. "$GW_SRC/tests/integration/lib.sh"
gw_need openssl curl
gw_tmpdir
gw_start_sim --latency-ms 1500
gw_init
SIM_ORDERS0=$(sim_orders)
gw_conf_set scep pending_after_seconds 2

# three NAME-PREFIX: three enrollments at once; prints their exit codes.
three() {
	local p=$1 i c pids=() rcs=()
	for i in 1 2 3; do
		c=$(gw_challenge)
		enroll "$p$i" --challenge "$c" --cn "$p$i" --txid "$p-txid-$i" &
		pids+=($!)
	done
	for i in 0 1 2; do
		rc=0
		wait "${pids[$i]}" || rc=$?
		rcs+=("$rc")
	done
	printf '%s\n' "${rcs[@]}" | sort | tr '\n' ' '
}

gw_conf_set epki max_connections 1
gw_start
got=$(three capped)
# scepreq exits 0 for SUCCESS and 3 for PENDING.
gw_assert_eq "0 3 3 " "$got" "exit codes with one upstream connection"
for i in 1 2 3; do
	for ((k = 0; k < 40; k++)); do
		rc=0
		"$GW_BUILD/scepreq" poll --url "$GW_URL" --key "$T/capped$i.key" \
		    --txid "capped-txid-$i" --cn "capped$i" \
		    --cert-out "$T/capped$i.pem" >"$T/poll$i.out" 2>&1 || rc=$?
		[ "$rc" -eq 3 ] || break
		sleep 0.25
	done
	gw_assert_eq 0 "$rc" "CertPoll of capped$i"
	assert_issued "capped$i"
done
gw_assert_eq 3 "$(sim_orders)" "orders at epki-sim"
gw_stop

gw_conf_set epki max_connections 1024
gw_start
gw_assert_eq "0 0 0 " "$(three free)" "exit codes with the default cap"
gw_assert_eq 6 "$(sim_orders)" "orders at epki-sim"
gw_stop
