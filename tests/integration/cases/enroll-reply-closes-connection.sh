#!/usr/bin/env bash
# A PKIOperation that waited for GlobalSign ends its device's enrollment.
# While few connections are open (an MDM or proxy sending enrollment after
# enrollment) its reply keeps the connection alive: reconnecting costs
# both sides CPU. With more than 256 open, it carries "Connection: close":
# on keep-alive, libmicrohttpd 0.9.75 zeroes the connection's whole memory
# pool for the next request and so keeps it resident (with the 272 KiB
# pools of the time, 2,000 devices that just enrolled held 616 MiB, 109
# MiB with closing; pools are at most 32 KiB now; tests/bench/README.md).
# Replies that did not wait (GET operations, a retry answered from the
# database) keep the connection alive.
. "$GW_SRC/tests/integration/lib.sh"
gw_need python3
gw_up

# numbered NAME: the header lines of $T/NAME.headers, each prefixed with
# the number of the reply it belongs to ("2: connection: close").
numbered() {
	tr -d '\r' <"$T/$1.headers" | awk '/^HTTP\//{n++} {print n": "$0}'
}

c=$(gw_challenge)
enroll_expect first SUCCESS --challenge "$c" --cn keepalive \
    --txid keepalive-1 --headers-out "$T/first.headers"
# scepreq makes GetCACert, then PKIOperation: one header block each.
gw_assert_eq 2 "$(grep -c '^HTTP/' "$T/first.headers")" "replies seen"
if numbered first | grep -qi ': connection: close$'; then
	gw_fail "a reply closed the connection with few open: $(numbered first)"
fi

# The same request again is answered from the database at once.
cp "$T/first.key" "$T/again.key"
enroll_expect again SUCCESS --challenge "$c" --cn keepalive \
    --txid keepalive-1 --headers-out "$T/again.headers"
if grep -qi '^connection: close' <(tr -d '\r' <"$T/again.headers"); then
	gw_fail "a retry answered from the database closed the connection"
fi

# 300 idle connections open: the reply that waited closes its own.
gw_hold_connections 300
c2=$(gw_challenge)
enroll_expect busy SUCCESS --challenge "$c2" --cn keepalive \
    --txid keepalive-2 --headers-out "$T/busy.headers"
numbered busy | grep -qi '^2: connection: close$' ||
    gw_fail "with 300 open, the reply that waited for EPKI has no 'Connection: close': $(numbered busy)"
if numbered busy | grep -qi '^1: connection: close$'; then
	gw_fail "GetCACert closed the connection: $(numbered busy)"
fi
kill "$HOLD_PID"
wait "$HOLD_PID" 2>/dev/null || true
gw_assert_eq 2 "$(sim_orders)" "orders"
gw_stop
