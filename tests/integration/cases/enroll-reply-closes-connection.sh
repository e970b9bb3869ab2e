#!/usr/bin/env bash
# A PKIOperation that waited for GlobalSign ends its device's enrollment,
# so its reply carries "Connection: close": on keep-alive, libmicrohttpd
# 0.9.75 zeroes the connection's whole memory pool for the next request
# and so keeps it resident (with the 272 KiB pools of the time, 2,000
# devices that just enrolled held 616 MiB, 109 MiB with this; pools are
# at most 32 KiB now; tests/bench/README.md). Replies that did not wait
# (GET operations, a retry answered from the database) keep the
# connection alive.
. "$GW_SRC/tests/integration/lib.sh"
gw_up

c=$(gw_challenge)
enroll_expect first SUCCESS --challenge "$c" --cn keepalive \
    --txid keepalive-1 --headers-out "$T/first.headers"
# scepreq makes GetCACert, then PKIOperation: one header block each.
gw_assert_eq 2 "$(grep -c '^HTTP/' "$T/first.headers")" "replies seen"
tr -d '\r' <"$T/first.headers" | awk '/^HTTP\//{n++} {print n": "$0}' \
    >"$T/first.numbered"
grep -qi '^2: connection: close$' "$T/first.numbered" ||
    gw_fail "the PKIOperation reply that waited for EPKI has no 'Connection: close': $(cat "$T/first.numbered")"
if grep -qi '^1: connection: close$' "$T/first.numbered"; then
	gw_fail "GetCACert closed the connection: $(cat "$T/first.numbered")"
fi

# The same request again is answered from the database at once.
cp "$T/first.key" "$T/again.key"
enroll_expect again SUCCESS --challenge "$c" --cn keepalive \
    --txid keepalive-1 --headers-out "$T/again.headers"
if grep -qi '^connection: close' <(tr -d '\r' <"$T/again.headers"); then
	gw_fail "a retry answered from the database closed the connection"
fi
gw_assert_eq 1 "$(sim_orders)" "orders"
gw_stop
