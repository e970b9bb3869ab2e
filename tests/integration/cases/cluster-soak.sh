#!/usr/bin/env bash
# ctest-labels: long
# A random soak of two gateways on one PostgreSQL (README "PostgreSQL",
# "How an enrollment works" 7). GW_SOAK_ROUNDS rounds (default 14) of
# random actions, drawn from GW_SOAK_SEED (default: a fresh seed, printed
# first, so that a failure can be replayed with the same sequence):
# enroll a device through a or b (in the background, so that orders are
# in flight when the next action strikes), SIGKILL a gateway and start it
# again, SIGSTOP one for longer than its lease and SIGCONT it some rounds
# later, an epki-sim fault (drop after the order is made, latency, HTTP
# 500, reset), a CertPoll on the other gateway. Then the drain: everything
# running again, faults cleared, every device that got no final answer
# sends its request again (same challenge, same transactionID) and polls
# until it is final. Checks: every device that got SUCCESS holds a
# certificate of its own key that epki-sim issued (in its journal); orders
# == licences == certificates delivered == certificates in the database;
# no challenge used twice; nothing left ordering. The timing of each
# action is random, never part of a verdict. Without PostgreSQL: skipped.
. "$GW_SRC/tests/integration/cases/cluster.bash"
SEED=${GW_SOAK_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
ROUNDS=${GW_SOAK_ROUNDS:-14}
echo "cluster-soak: seed $SEED, $ROUNDS rounds (replay: GW_SOAK_SEED=$SEED GW_SOAK_ROUNDS=$ROUNDS)"
RANDOM=$SEED
cluster_up
sim_admin() {
	curl -fsS -m 10 -d "$2" "http://127.0.0.1:$SIM_PORT/sim/$1" >/dev/null ||
	    gw_fail "epki-sim /sim/$1 '$2' failed"
}
sim_admin config "seed=$SEED"
cluster_start a
cluster_start b
declare -A STATE=([a]=up [b]=up) FROZEN_AT=()
DEVICES=()
BG=()

other() { [ "$1" = a ] && echo b || echo a; }

# G: a gateway that answers now (not frozen), picked at random. Not in a
# $(...) subshell: bash reseeds RANDOM there, and the run must replay.
pick() {
	G=b
	[ $((RANDOM % 2)) -eq 0 ] && G=a
	[ "${STATE[$G]}" = up ] || G=$(other "$G")
}

# send NAME GW: the device's PKCSReq (its challenge and txid) to GW; the
# exit status into $T/NAME.rc.
send() {
	local name=$1 g=$2 rc=0
	timeout -k 2 40 "$GW_BUILD/scepreq" enroll --url "${CL_URL[$g]}" \
	    --key "$T/$name.key" --cert-out "$T/$name.pem" \
	    --challenge "$(cat "$T/$name.chal")" --cn "$name" \
	    --txid "$name-txid" >"$T/$name.out" 2>&1 || rc=$?
	echo "$rc" >"$T/$name.rc"
}

act_enroll() {
	local name=d${#DEVICES[@]} g
	pick
	g=$G
	gw_challenge --cn "$name" >"$T/$name.chal"
	DEVICES+=("$name")
	echo "round $r: enroll $name on $g"
	send "$name" "$g" &
	BG+=($!)
}

act_kill() {
	local g
	pick
	g=$G
	echo "round $r: SIGKILL $g, start it again"
	cluster_kill "$g"
	cluster_start "$g"
}

act_freeze() {
	local g
	pick
	g=$G
	# One gateway at a time: the other keeps serving.
	[ "${STATE[$(other "$g")]}" = up ] || return 0
	echo "round $r: SIGSTOP $g"
	kill -STOP "${CL_PID[$g]}"
	STATE[$g]=frozen
	FROZEN_AT[$g]=$SECONDS
}

wake() {
	echo "${WHEN:-round $r}: SIGCONT $1 after $((SECONDS - FROZEN_AT[$1])) s"
	kill -CONT "${CL_PID[$1]}"
	STATE[$1]=up
}

act_fault() {
	local f
	case $((RANDOM % 4)) in
	0) f="fault=drop&op=OrderAndIssueCertificate&count=1&ms=$((RANDOM % 4000))" ;;
	1) f="fault=latency&op=OrderAndIssueCertificate&count=$((1 + RANDOM % 3))&ms=$((500 + RANDOM % 2000))" ;;
	2) f="fault=http500&op=OrderAndIssueCertificate&count=1" ;;
	*) f="fault=reset&op=all&count=1" ;;
	esac
	echo "round $r: epki-sim $f"
	sim_admin fault "$f"
}

act_poll() {
	local name g rc=0
	[ "${#DEVICES[@]}" -gt 0 ] || return 0
	name=${DEVICES[$((RANDOM % ${#DEVICES[@]}))]}
	[ -f "$T/$name.rc" ] && [ "$(cat "$T/$name.rc")" = 3 ] || return 0
	pick
	g=$G
	echo "round $r: poll $name on $g"
	timeout -k 2 30 "$GW_BUILD/scepreq" poll --url "${CL_URL[$g]}" \
	    --key "$T/$name.key" --txid "$name-txid" --cert-out "$T/$name.pem" \
	    >"$T/$name.poll.out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || echo 0 >"$T/$name.rc"
}

for ((r = 1; r <= ROUNDS; r++)); do
	for g in a b; do
		# Woken once well past its lease (L + M + a beat).
		if [ "${STATE[$g]}" = frozen ] &&
		    [ $((SECONDS - FROZEN_AT[$g])) -gt $((CL_LEASE + 8)) ]; then
			wake "$g"
		fi
	done
	x=$((RANDOM % 20))
	if [ "$x" -lt 9 ]; then
		act_enroll
	elif [ "$x" -lt 11 ]; then
		act_kill
	elif [ "$x" -lt 12 ]; then
		act_freeze
	elif [ "$x" -lt 16 ]; then
		act_fault
	else
		act_poll
	fi
	sleep "0.$((RANDOM % 10))"
done

# Drain: both serving, faults gone, every device to a final answer.
WHEN=drain
for g in a b; do
	if [ "${STATE[$g]}" = frozen ]; then
		# Past its lease, so that a frozen gateway's orders get taken over.
		while [ $((SECONDS - FROZEN_AT[$g])) -le $((CL_LEASE + 8)) ]; do
			sleep 1
		done
		wake "$g"
	fi
done
sim_admin fault fault=clear
for p in "${BG[@]}"; do wait "$p" || true; done
for name in "${DEVICES[@]}"; do
	rc=$(cat "$T/$name.rc")
	# No final answer (a transport error, 503, a gateway killed or frozen
	# under it): the device sends the same request again.
	for ((k = 0; k < 30 && (rc == 1 || rc == 124); k++)); do
		pick
		send "$name" "$G"
		rc=$(cat "$T/$name.rc")
		[ "$rc" -eq 1 ] && sleep 1
	done
	if [ "$rc" -eq 3 ]; then
		pick
		poll_on "${CL_URL[$G]}" "$name" "$name-txid" 90
		rc=0
	fi
	case $rc in
	0)
		assert_issued "$name"
		sim_order_of "$T/$name.pem" >/dev/null ||
		    gw_fail "$name: its certificate is not one epki-sim issued"
		DELIVERED=$((DELIVERED + 1))
		;;
	2) grep -q "status=FAILURE" "$T/$name.out" ||
	    gw_fail "$name: exit 2 without FAILURE" ;;
	*)
		cat "$T/$name.out" >&2
		gw_fail "$name: no final answer (scepreq exit $rc)"
		;;
	esac
done
echo "cluster-soak: ${#DEVICES[@]} devices, $DELIVERED certificates delivered"
sleep 2 # a wrong second order would show in the count
cluster_ledger
for n in a b; do
	rc=0
	gw__kill "${CL_PID[$n]}" || rc=$?
	gw_assert_eq 0 "$rc" "gateway $n's exit status on SIGTERM"
done
