#!/usr/bin/env bash
# A transaction left `ordering` whose order can never be built (here a CN
# with a control character, as an older gateway admitted) is ended by the
# reconciler as `failed`, with a log line saying why, instead of being
# looked up and retried for ever; the device's CertPoll then gets FAILURE
# badRequest and nothing is ordered. The row is planted in the database
# while the gateway is stopped.
. "$GW_SRC/tests/integration/lib.sh"
gw_need openssl curl sqlite3
gw_tmpdir
gw_start_sim
gw_init
SIM_ORDERS0=$(sim_orders)
gw_conf_set epki reconcile_seconds 1
gw_start
gw_stop

openssl genrsa -out "$T/dev.key" 2048 2>/dev/null
openssl req -new -key "$T/dev.key" -out "$T/dev.csr" -subj /CN=evil 2>/dev/null
key=$(openssl pkey -in "$T/dev.key" -pubout -outform DER | openssl dgst -sha256 -r | cut -c1-64)
now=$(date +%s)
sqlite3 "$GW_DIR/scepgw.db" "INSERT INTO transactions (txid, csr_sha256, state,
    created, updated, cn, csr_pem, key_sha256) VALUES ('unbuildable-txid',
    randomblob(32), 1, $now, $now, 'evil' || char(1) || 'name',
    readfile('$T/dev.csr'), x'$key');"
gw_start

state=1
for ((k = 0; k < 40 && state == 1; k++)); do
	sleep 0.25
	state=$(sqlite3 "$GW_DIR/scepgw.db" \
	    "SELECT state FROM transactions WHERE txid = 'unbuildable-txid'")
done
gw_assert_eq 3 "$state" "state of the unbuildable transaction"
gw_assert_contains "$T/scepgw.log" "txid=unbuildable-txid: its order can never be built .*control character.*; the transaction ends as failed"
gw_assert_not_contains "$T/scepgw.log" "GetOrders"
rc=0
"$GW_BUILD/scepreq" poll --url "$GW_URL" --key "$T/dev.key" \
    --txid unbuildable-txid --cert-out "$T/dev.pem" >"$T/poll.out" 2>&1 || rc=$?
gw_assert_eq 2 "$rc" "CertPoll exit status"
gw_assert_contains "$T/poll.out" "failinfo=badRequest"
gw_assert_eq 0 "$(sim_orders)" "orders at epki-sim"
gw_stop
