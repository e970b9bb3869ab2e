# shellcheck shell=bash
# Helpers shared by the integration cases, on top of tests/lib/harness.sh:
# a running epki-sim and gateway, and enrollment through our own test
# client (build/scepreq), whose exit status is 0 SUCCESS, 2 FAILURE,
# 3 PENDING, 1 transport or verification problem.

. "$GW_SRC/tests/lib/harness.sh"

# Start epki-sim (arguments pass through), init an instance, serve it.
gw_up() {
	gw_need openssl curl
	gw_tmpdir
	gw_start_sim "$@"
	gw_init
	SIM_ORDERS0=$(sim_orders)
	gw_start
}

# enroll NAME [scepreq options...]: enroll with key $T/NAME.key, writing
# $T/NAME.pem and the tool's output to $T/NAME.out; returns its status.
enroll() {
	local name=$1 rc=0
	shift
	"$GW_BUILD/scepreq" enroll --url "$GW_URL" --key "$T/$name.key" \
	    --cert-out "$T/$name.pem" "$@" >"$T/$name.out" 2>&1 || rc=$?
	return "$rc"
}

# enroll_expect NAME STATUS [scepreq options...]: enroll and check the
# SCEP status (SUCCESS, FAILURE or PENDING).
enroll_expect() {
	local name=$1 want=$2 rc=0 code
	shift 2
	enroll "$name" "$@" || rc=$?
	case $want in
	SUCCESS) code=0 ;;
	FAILURE) code=2 ;;
	PENDING) code=3 ;;
	*) gw_fail "enroll_expect: bad status $want" ;;
	esac
	if [ "$rc" -ne "$code" ]; then
		cat "$T/$name.out" >&2
		gw_fail "$name: expected $want (exit $code), scepreq exited $rc"
	fi
	gw_assert_contains "$T/$name.out" "status=$want" "$name output"
}

# The number of orders epki-sim has issued since gw_up (which leaves out
# the RA certificate that `scepgw init` ordered).
sim_orders() {
	local n
	n=$(sim_order_ids | wc -l)
	echo $((n - ${SIM_ORDERS0:-0}))
}

# sim_state KEY: one value of epki-sim's /sim/state.
sim_state() {
	curl -fsS -m 10 "http://127.0.0.1:$SIM_PORT/sim/state" |
	    awk -F= -v k="$1" '$1 == k { sub(/[ \t].*$/, "", $2); print $2; exit }'
}

# sim_call OP HEADER XML OUT: EPKI operation OP straight to epki-sim
# ($SIM_URL), the test account in a HEADER element (OrderRequestHeader,
# QueryRequestHeader) followed by XML; the response into OUT.
sim_call() {
	local body
	body='<?xml version="1.0" encoding="UTF-8"?>'
	body+='<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
	body+=' xmlns:cr="https://system.globalsign.com/cr/ws/"><soapenv:Header/>'
	body+="<soapenv:Body><cr:$1><Request><$2><AuthToken>"
	body+="<UserName>$GW_SIM_USER</UserName><Password>$GW_SIM_PASSWORD</Password>"
	body+="</AuthToken></$2>$3</Request></cr:$1></soapenv:Body></soapenv:Envelope>"
	curl -fsS -m 10 -H 'Content-Type: text/xml; charset=utf-8' \
	    -H 'SOAPAction: ""' --data-binary "$body" "$SIM_URL" >"$4"
}

# Every order number in epki-sim's journal (DIR/orders.log), once each.
sim_order_ids() {
	sed -n 's/^order=//p' "$SIM_DIR/orders.log" 2>/dev/null | sort -u
}

# sim_order ID: the last journal record of order ID, its current state
# (key=value lines; cert= is the leaf's DER in base64).
sim_order() {
	awk -v want="order=$1" '
		/^order=/ { cur = ($0 == want); if (cur) rec = "" }
		cur { rec = rec $0 "\n" }
		END { printf "%s", rec }' "$SIM_DIR/orders.log"
}

# sim_order_of PEM: the epki-sim order whose certificate is PEM's.
sim_order_of() {
	local want id
	want=$(openssl x509 -in "$1" -noout -serial)
	for id in $(sim_order_ids); do
		if [ "$(sim_order "$id" | sed -n 's/^cert=//p' | base64 -d |
		    openssl x509 -inform DER -noout -serial 2>/dev/null)" = \
		    "$want" ]; then
			echo "$id"
			return 0
		fi
	done
	return 1
}

# sim_revoke ORDER-ID OUT: EPKI Revoke straight to epki-sim, behind the
# gateway's back (as in GlobalSign's portal); the response into OUT.
sim_revoke() {
	sim_call Revoke OrderRequestHeader "<OrderID>$1</OrderID>" "$2"
}

# A certificate was issued for NAME: right key, chains to the sim's CA.
assert_issued() {
	local name=$1
	gw_assert_file "$T/$name.pem"
	gw_assert_cert_key "$T/$name.pem" "$T/$name.key"
	gw_assert_cert_chains "$T/$name.pem" "$SIM_DIR/ca-chain.pem"
}

# gw_hold_connections N: opens N idle connections to the gateway (each
# sends half a request and keeps adding header lines, so none goes idle)
# and keeps them for up to 60 s, until HOLD_PID is killed. Needs python3.
gw_hold_connections() {
	gw_spawn "$T/hold-$1.log" python3 -u -c '
import socket, sys, time
socks = []
for i in range(int(sys.argv[2])):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"GET /scep?operation=GetCACaps HTTP/1.1\r\n")
    socks.append(s)
print("holding", len(socks))
end = time.time() + 60
while time.time() < end:
    for s in socks:  # keep them from going idle
        s.sendall(b"X-A: b\r\n")
    time.sleep(0.5)
' "$GW_PORT" "$1"
	HOLD_PID=$GW_LAST_PID
	gw_wait_log "$T/hold-$1.log" '^holding' "$HOLD_PID" 10 >/dev/null ||
	    gw_fail "could not open $1 connections"
	sleep 0.5
}
