# shellcheck shell=bash
# Helpers for the fault-injection cases (upstream-fault-*.sh), sourced
# instead of lib.sh; not a case itself (ctest runs cases/*.sh only).
#
# Every fault case ends with the ledger check (README "How an enrollment
# works" 7: nothing lost, nothing paid twice): the licences epki-sim spent
# equal the certificates devices received, and every device that kept
# polling holds its certificate. The instance is tuned to recover fast:
# reconcile_seconds 1 (FAULT_RECONCILE_SECONDS overrides), timeout_seconds 2
# (the reconciler re-orders only timeout_seconds + 5 after the original
# call), and pending_after_seconds 1.
. "$GW_SRC/tests/integration/lib.sh"

DELIVERED=0

# fault_up [epki-sim options]: sim, a tuned instance, the gateway.
fault_up() {
	gw_need openssl curl
	gw_tmpdir
	gw_start_sim "$@"
	gw_init
	SIM_ORDERS0=$(sim_orders)
	SPENT0=$(sim_state licences_spent)
	gw_conf_set epki reconcile_seconds "${FAULT_RECONCILE_SECONDS:-1}"
	gw_conf_set epki timeout_seconds 2
	gw_conf_set scep pending_after_seconds 1
	gw_start
}

# sim_admin WHAT BODY: POST to epki-sim's admin endpoint /sim/WHAT.
sim_admin() {
	curl -fsS -m 10 -d "$2" "http://127.0.0.1:$SIM_PORT/sim/$1"
}

# sim_fault SPEC: install a fault at run time.
sim_fault() {
	local out
	out=$(sim_admin fault "$1") || gw_fail "sim_fault '$1' failed"
	[ "$out" = ok ] || gw_fail "sim_fault '$1': $out"
}

# poll_until NAME TXID [SECONDS]: CertPoll as NAME until SUCCESS (the
# device keeps polling while it gets PENDING); fails on FAILURE or timeout.
poll_until() {
	local name=$1 txid=$2 secs=${3:-40} rc=3 k
	for ((k = 0; k < secs * 2 && rc == 3; k++)); do
		rc=0
		"$GW_BUILD/scepreq" poll --url "$GW_URL" --key "$T/$name.key" \
		    --txid "$txid" --cert-out "$T/$name.pem" \
		    >"$T/$name.poll.out" 2>&1 || rc=$?
		[ "$rc" -eq 3 ] && sleep 0.5
	done
	[ "$rc" -eq 0 ] || {
		cat "$T/$name.poll.out" >&2
		gw_fail "$name: CertPoll exited $rc (3: still PENDING after ${secs}s)"
	}
}

# device_start NAME [WANT [scepreq options...]]: enroll NAME with a fresh
# challenge and txid NAME-txid; WANT is the first answer expected
# (SUCCESS, PENDING, or ANY).
device_start() {
	local name=$1 want=${2:-ANY} c rc=0
	shift 2 || shift $#
	c=$(gw_challenge --cn "$name")
	enroll "$name" --challenge "$c" --txid "$name-txid" "$@" || rc=$?
	case $want:$rc in
	SUCCESS:0 | PENDING:3 | ANY:0 | ANY:3) ;;
	*)
		cat "$T/$name.out" >&2
		gw_fail "$name: first answer: expected $want, scepreq exited $rc"
		;;
	esac
}

# device_finish NAME: poll (if the device was told PENDING) until NAME
# holds its certificate, and count it as delivered.
device_finish() {
	local name=$1
	grep -q "status=SUCCESS" "$T/$name.out" ||
	    poll_until "$name" "$name-txid"
	assert_issued "$name"
	DELIVERED=$((DELIVERED + 1))
}

# device NAME [WANT [scepreq options...]]: device_start, device_finish.
device() {
	device_start "$@"
	device_finish "$1"
}

# assert_ledger: licences spent == certificates delivered == orders made.
assert_ledger() {
	local spent
	spent=$(($(sim_state licences_spent) - SPENT0))
	gw_assert_eq "$DELIVERED" "$spent" "licences spent at epki-sim vs certificates delivered"
	gw_assert_eq "$DELIVERED" "$(sim_orders)" "orders at epki-sim vs certificates delivered"
}
