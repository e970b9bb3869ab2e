#!/usr/bin/env bash
# The Intune flow on PostgreSQL (README "Microsoft Intune", "PostgreSQL"):
# what Intune heard is kept with the transaction (intune = 2 once
# notified, the CSR dropped), a PENDING order is notified before the
# CertPoll that delivers it, and a notification still failing at a
# restart is sent by the reconciler, once.
. "$GW_SRC/tests/integration/intune.bash"
. "$GW_SRC/tests/lib/pg.sh"
gw_tmpdir
gw_pg_start
(umask 077 && printf '%s\n' "$GW_PG_PASSWORD" >"$T/db.password")
IGW_INIT_ARGS=(--db-url "$GW_PG_URL" --db-password-file "$T/db.password")
igw_setup --latency-ms 2500
gw_conf_set scep pending_after_seconds 1
igw_start
gw_assert_contains "$T/scepgw.log" "database: postgresql"

igw_device slow dev-slow
igw_enroll slow PENDING
igw_poll_until slow
assert_issued slow
igw_order_ok slow
gw_assert_eq "2|true" "$(gw_pg_sql "SELECT intune || '|' || (intune_csr IS NULL)::text
    FROM transactions WHERE txid = 'tx-slow'")" "Intune's state of tx-slow"

curl -fsS -m 10 --data 'latency_ms=0' "http://127.0.0.1:$SIM_PORT/sim/config" >/dev/null
isim_admin fault '{"hop":"success","mode":"503"}' >/dev/null
igw_device later dev-later
igw_enroll later PENDING
gw_assert_eq "1|false" "$(gw_pg_sql "SELECT intune || '|' || (intune_csr IS NULL)::text
    FROM transactions WHERE txid = 'tx-later'")" "Intune's state of tx-later"
gw_stop
isim_admin fault '{"mode":"clear"}' >/dev/null
igw_start
igw_wait_notified tx-later
igw_poll_until later
igw_order_ok later
igw_ledger 2
igw_no_secrets
gw_stop
