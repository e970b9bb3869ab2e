#!/usr/bin/env bash
# epki-sim keeps its orders in one journal, DIR/orders.log: an order
# survives a restart and is found by GetOrderByOrderId; a record torn by a
# crash mid-append is cut off at the next start (and the next order's
# record is whole); and a directory from before the journal (one file per
# order under DIR/orders/) is imported on first start, revocation and all;
# the counts (orders, licences) survive restarts, with --no-fsync too.
. "$GW_SRC/tests/integration/lib.sh"
gw_up

# get_order ORDER-ID: GetOrderByOrderId straight to epki-sim,
# the response in $T/get.xml.
get_order() {
	sim_call GetOrderByOrderId QueryRequestHeader "<OrderNo>$1</OrderNo>\
<OrderQueryOption><ReturnCertificateInfo>true</ReturnCertificateInfo>\
</OrderQueryOption>" "$T/get.xml"
}

# sim_restart [epki-sim options]: stop epki-sim and start it again on the
# same port with --dir $SIM_DIR; its log in $T/epki-sim-N.log, N counting
# up.
SIM_STARTS=1
sim_restart() {
	kill -TERM "$SIM_PID"
	wait "$SIM_PID" 2>/dev/null || true
	SIM_STARTS=$((SIM_STARTS + 1))
	gw_spawn "$T/epki-sim-$SIM_STARTS.log" "$GW_BUILD/epki-sim" \
	    --listen "127.0.0.1:$SIM_PORT" --dir "$SIM_DIR" "$@"
	SIM_PID=$GW_LAST_PID
	gw_wait_log "$T/epki-sim-$SIM_STARTS.log" 'listening on' "$SIM_PID" \
	    >/dev/null || gw_fail "epki-sim did not restart"
}

# enroll_journaled NAME N: enroll NAME (SUCCESS), which must make the
# Nth order since gw_up, its certificate in the journal's last order.
enroll_journaled() {
	local c id
	c=$(gw_challenge --cn "journal-$1")
	enroll_expect "$1" SUCCESS --challenge "$c"
	gw_assert_eq "$2" "$(sim_orders)" "orders after enrolling $1"
	id=$(sim_order_ids | tail -1)
	gw_assert_eq "$(openssl x509 -in "$T/$1.pem" -noout -serial)" \
	    "$(serial_of "$id")" "$1's certificate in the journal"
	LAST_ORDER=$id
}

# serial_of ORDER-ID: the serial of the certificate in the order's record.
serial_of() {
	sim_order "$1" | sed -n 's/^cert=//p' | base64 -d |
	    openssl x509 -inform DER -noout -serial
}

[ ! -e "$SIM_DIR/orders" ] || gw_fail "a new epki-sim made DIR/orders/"
enroll_journaled one 1
one=$LAST_ORDER

# A crash mid-append left half a record.
printf 'order=MPS29991231999999\nstatus=4\nrequest_da' >>"$SIM_DIR/orders.log"
sim_restart
gw_assert_contains "$T/epki-sim-$SIM_STARTS.log" "cut off a torn last record"
gw_assert_not_contains "$SIM_DIR/orders.log" "MPS29991231999999"
get_order "$one"
gw_assert_contains "$T/get.xml" "<OrderNo>$one</OrderNo>"
gw_assert_contains "$T/get.xml" "<SuccessCode>0</SuccessCode>"

# The record after the cut is whole.
enroll_journaled two 2

# A directory of the old layout: the orders/ files are imported once.
SIM_DIR=$T/epki-sim-old
mkdir -p "$SIM_DIR/orders"
cp "$T/epki-sim/"*.pem "$T/epki-sim/"*.key "$SIM_DIR/"
{
	printf '# epki-sim order\nstatus=7\nrequest_date=2026-01-05T10:00:00.000Z\n'
	printf 'profile=%s\nproduct=EPKIPSPersonal\n' "$GW_SIM_PROFILE"
	printf 'revoke_date=2026-02-01T10:00:00.000Z\n\n'
	cat "$T/one.pem"
} >"$SIM_DIR/orders/MPS20260105000001"
printf 'not an order\n' >"$SIM_DIR/orders/MPS20260105000002"
sim_restart
gw_assert_contains "$T/epki-sim-$SIM_STARTS.log" "imported 1 orders"
gw_assert_contains "$T/epki-sim-$SIM_STARTS.log" "MPS20260105000002: not an order"
sim_order MPS20260105000001 >"$T/old.rec"
gw_assert_contains "$T/old.rec" "^status=7"
gw_assert_contains "$T/old.rec" "^revoke_date=2026-02-01T10:00:00.000Z"
gw_assert_eq "$(openssl x509 -in "$T/one.pem" -noout -serial)" \
    "$(serial_of MPS20260105000001)" "imported certificate"
get_order MPS20260105000001
gw_assert_contains "$T/get.xml" "<OrderNo>MPS20260105000001</OrderNo>"
gw_assert_contains "$T/get.xml" "<OrderStatus>7</OrderStatus>"
# Imported once: a second start adds nothing.
lines=$(wc -l <"$SIM_DIR/orders.log")
sim_restart
gw_assert_not_contains "$T/epki-sim-$SIM_STARTS.log" "imported"
gw_assert_eq "$lines" "$(wc -l <"$SIM_DIR/orders.log")" "journal lines"

# --no-fsync (benchmarks): the state file is overwritten in place through
# a descriptor kept open; its counts still survive a restart.
sim_restart --no-fsync
before=$(sim_state orders)
c=$(gw_challenge --cn journal-three)
enroll_expect three SUCCESS --challenge "$c"
gw_assert_eq $((before + 1)) "$(sim_state orders)" "orders counted"
spent=$(sim_state licences_spent)
sim_restart
gw_assert_eq $((before + 1)) "$(sim_state orders)" "orders after a restart"
gw_assert_eq "$spent" "$(sim_state licences_spent)" "spent after a restart"
gw_assert_eq "$(openssl x509 -in "$T/three.pem" -noout -serial)" \
    "$(serial_of "$(sim_order_ids | tail -1)")" "the --no-fsync record"

# The counts are state records in the journal (an order's record carries
# them): a licence count set at run time survives a restart, and so does
# the count after the next order spends one.
[ "$(curl -fsS -m 10 -d licences=7 "http://127.0.0.1:$SIM_PORT/sim/config")" = ok ] ||
    gw_fail "POST /sim/config licences=7"
sim_restart
gw_assert_eq 7 "$(sim_state licences_left)" "licences set at run time"
c=$(gw_challenge --cn journal-four)
enroll_expect four SUCCESS --challenge "$c"
sim_restart
gw_assert_eq 6 "$(sim_state licences_left)" "licences after an order"
gw_assert_eq $((before + 2)) "$(sim_state orders)" "orders after the last restart"
gw_stop
