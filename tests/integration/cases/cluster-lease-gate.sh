#!/usr/bin/env bash
# ctest-labels: long
# Incarnations, leases and the order gate (README "How an enrollment
# works" 7). serve registers an incarnation under [cluster] node_name and
# `scepgw check` lists it with its lease. While every renewal finds the
# lease gone (here a trigger ends each new incarnation's lease in the
# database: test-only, from outside), the gate stays closed: an order is
# not sent (PENDING, nothing at epki-sim) and the reconciler does not
# reorder. Once renewals hold again the gate opens, the reconciler places
# the order once, and the device's poll gets its certificate. SIGTERM
# after the drain releases the lease, which check then shows expired. A
# lease_seconds too short for [epki] timeout_seconds refuses to start.
. "$GW_SRC/tests/integration/lib.sh"
gw_need openssl curl sqlite3
gw_tmpdir
gw_start_sim
gw_init
SIM_ORDERS0=$(sim_orders)
gw_conf_set cluster node_name gw-east
gw_conf_set epki timeout_seconds 10
gw_conf_set epki reconcile_seconds 1
gw_conf_set scep pending_after_seconds 1
gw_start
gw_assert_contains "$T/scepgw.log" \
    "incarnation 1 \(gw-east\): lease 40 s, renewed every 5 s"
"$GW_BUILD/scepgw" check -c "$GW_CONF" >"$T/check1.out" 2>&1 || true
gw_assert_contains "$T/check1.out" \
    "^INFO +gateway gw-east: incarnation 1 \(scepgw [0-9][0-9A-Za-z.+~]*\), started .* UTC, lease until .* UTC \([0-9]+s left\)$"
enroll_expect dev1 SUCCESS --challenge "$(gw_challenge)"

# Every incarnation's lease ends as it is made: renewals find it lost.
db=$GW_DIR/scepgw.db
sqlite3 "$db" "CREATE TRIGGER lease_gone AFTER INSERT ON nodes BEGIN
    UPDATE nodes SET lease_until = 0 WHERE id = NEW.id; END;
    UPDATE nodes SET lease_until = 0;"
for ((k = 0; k < 40; k++)); do
	grep -q "registered incarnation 3 " "$T/scepgw.log" && break
	sleep 0.5
done
gw_assert_contains "$T/scepgw.log" "lease of incarnation 1 was lost"
gw_assert_contains "$T/scepgw.log" "registered incarnation 2 \(gw-east\)"
gw_assert_contains "$T/scepgw.log" "registered incarnation 3 \(gw-east\)"
enroll_expect dev2 PENDING --challenge "$(gw_challenge)" --txid gated-1
gw_assert_contains "$T/scepgw.log" \
    "not sent: this gateway's lease might not outlast the call \(order gate closed\)"
gw_assert_eq 1 "$(sim_orders)" "orders while the gate is closed"
sleep 3
gw_assert_eq 1 "$(sim_orders)" "orders while the gate is closed"

# Renewals hold again: the gate opens, the reconciler orders once.
sqlite3 "$db" "DROP TRIGGER lease_gone;"
rc=3
for ((k = 0; k < 120 && rc == 3; k++)); do
	rc=0
	"$GW_BUILD/scepreq" poll --url "$GW_URL" --key "$T/dev2.key" \
	    --txid gated-1 --cert-out "$T/dev2.pem" >"$T/poll.out" 2>&1 || rc=$?
	[ "$rc" -eq 3 ] && sleep 0.5
done
[ "$rc" -eq 0 ] || { cat "$T/poll.out" >&2; gw_fail "dev2: poll exited $rc"; }
assert_issued dev2
gw_assert_eq 2 "$(sim_orders)" "orders after the gate opened"
gw_assert_contains "$T/scepgw.log" "took over 1 orders from node [0-9]+ \(gw-east\)"
gw_assert_contains "$T/scepgw.log" "txid=gated-1: GlobalSign has no order for this request; ordering it now"
gw_assert_eq 0 "$(sqlite3 "$db" "SELECT count(*) FROM transactions WHERE owner IS NOT NULL")" \
    "owners left on final transactions"

gw_stop
gw_assert_contains "$T/scepgw.log" "released the lease of incarnation [0-9]+"
"$GW_BUILD/scepgw" check -c "$GW_CONF" >"$T/check2.out" 2>&1 || true
gw_assert_contains "$T/check2.out" \
    "^INFO +gateway gw-east: incarnation [0-9]+ \(scepgw [0-9][0-9A-Za-z.+~]*\), started .* UTC, lease expired .* UTC \([0-9]+s ago\)$"
gw_assert_contains "$T/check2.out" "^INFO +gateways: none serving this database now$"

# L must cover E + M + 2H.
gw_conf_set cluster lease_seconds 24
rc=0
gw_run "$T/short.log" 30 "$GW_BUILD/scepgw" serve -c "$GW_CONF" || rc=$?
gw_assert_eq 1 "$rc" "exit status with a lease too short"
gw_assert_contains "$T/short.log" \
    "\[cluster\] key \"lease_seconds\": 24 is too short: it must be at least \[epki\] timeout_seconds \(10\) \+ margin M \(5\) \+ 2 x heartbeat H \(10\) = 25"
