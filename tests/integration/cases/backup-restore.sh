#!/usr/bin/env bash
# scepgw backup while devices enroll, scepgw restore while stopped (README
# "Backup and restore"). Two orders are held at epki-sim (PENDING, ORDERING
# in the database) when the backups run beside a stream of enrollments;
# each copy passes integrity_check and every issued transaction in it has
# its certificate. Restore is refused while serve runs. After a restore,
# the certificates from before the backup are listed, the challenge
# consumed after the backup is revoked (and usable again with
# --keep-challenges: the risk that option takes), and the two ORDERING
# transactions are found at GlobalSign, never ordered twice (epki-sim's
# ledger: one order per enrollment). A file that is no database, one of a
# newer schema, and a backup onto an existing file are refused, changing
# nothing; on PostgreSQL both commands name pg_dump.
. "$GW_SRC/tests/integration/lib.sh"
gw_need openssl curl sqlite3
gw_tmpdir
gw_start_sim
gw_init
SIM_ORDERS0=$(sim_orders)
gw_conf_set scep pending_after_seconds 1
gw_conf_set epki reconcile_seconds 1
gw_start
DB=$GW_DIR/scepgw.db
SG=("$GW_BUILD/scepgw" -c "$GW_CONF")

# sq FILE SQL: one value from a SQLite file.
sq() { sqlite3 -batch -noheader "$1" "$2"; }
# A backup: sound, and a state the gateway was in (no issued transaction
# without its certificate).
check_copy() {
	gw_assert_eq ok "$(sq "$1" 'PRAGMA integrity_check')" "integrity of $1"
	gw_assert_eq 0 "$(sq "$1" 'SELECT count(*) FROM transactions t
	    WHERE state = 2 AND NOT EXISTS
	    (SELECT 1 FROM certificates c WHERE c.txid = t.txid)')" \
	    "issued transactions without a certificate in $1"
	gw_assert_eq "$(sq "$DB" 'PRAGMA user_version')" \
	    "$(sq "$1" 'PRAGMA user_version')" "schema version of $1"
}
serial() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'; }

enroll_expect before SUCCESS --challenge "$(gw_challenge --cn before)"
cu=$(gw_challenge --cn later)

# Two orders held 6 s at epki-sim: PENDING now, ORDERING in the backup.
curl -fsS -m 10 -d 'fault=latency&op=OrderAndIssueCertificate&count=2&ms=6000' \
    "http://127.0.0.1:$SIM_PORT/sim/fault" >/dev/null || gw_fail "sim fault"
for i in 1 2; do
	enroll_expect "held$i" PENDING --challenge "$(gw_challenge --cn "held$i")" \
	    --txid "held-txid-$i" &
	pids+=($!)
done
wait "${pids[@]}" || gw_fail "a held enrollment did not get PENDING"

# Two streams of enrollments while backups run one after another.
for i in 1 2 3 4 5 6; do gw_challenge --cn "load$i"; done >"$T/load.ch"
stream() { # stream FIRST LAST: enroll with those lines of load.ch
	local i
	for ((i = $1; i <= $2; i++)); do
		enroll_expect "load$i" SUCCESS --challenge "$(sed -n "${i}p" "$T/load.ch")"
	done
}
stream 1 3 &
s1=$!
stream 4 6 &
s2=$!
"${SG[@]}" backup "$T/b.db" >"$T/backup.out" 2>&1 || { cat "$T/backup.out" >&2; gw_fail "backup exited $?"; }
n=0
while kill -0 "$s1" 2>/dev/null || kill -0 "$s2" 2>/dev/null || [ "$n" -lt 2 ]; do
	n=$((n + 1))
	"${SG[@]}" backup "$T/b$n.db" --force >>"$T/backup.out" 2>&1 || gw_fail "backup $n failed"
	sleep 0.2
done
wait "$s1" "$s2" || gw_fail "the enrollments beside the backups failed"
seen=$(for f in "$T"/b*.db; do check_copy "$f"; sq "$f" 'SELECT count(*) FROM certificates'; done | sort -u | wc -l)
gw_log "$((n + 1)) backups during the enrollments saw $seen different numbers of certificates"
[ "$seen" -ge 2 ] || gw_fail "the backups saw no enrollment happen"
gw_assert_eq 600 "$(stat -c %a "$T/b.db")" "mode of the backup"
gw_assert_contains "$T/backup.out" "schema version [0-9]+ \(this program's: [0-9]+\), integrity_check ok"
gw_assert_contains "$T/backup.out" "^  certificates +[0-9]+$"
gw_assert_eq 2 "$(sq "$T/b.db" "SELECT count(*) FROM transactions
    WHERE state = 1 AND txid LIKE 'held-txid-%'")" "held orders ORDERING in the backup"
gw_assert_eq 0 "$(sq "$T/b.db" "SELECT count(*) FROM challenges WHERE used <> 0 AND cn = 'later'")" \
    "the later challenge in the backup"
[ ! -e "$T/b.db.tmp" ] || gw_fail "backup left b.db.tmp"

# Refusals while serving: a backup onto an existing file, any restore.
sum0=$(sha256sum <"$T/b.db")
rc=0; "${SG[@]}" backup "$T/b.db" >"$T/exists.out" 2>&1 || rc=$?
gw_assert_eq 1 "$rc" "backup onto an existing file"
gw_assert_contains "$T/exists.out" "exists \(--force replaces it\)"
gw_assert_eq "$sum0" "$(sha256sum <"$T/b.db")" "the existing file after the refusal"
rc=0; "${SG[@]}" restore "$T/b.db" >"$T/busy.out" 2>&1 || rc=$?
gw_assert_eq 1 "$rc" "restore while serving"
gw_assert_contains "$T/busy.out" "stop scepgw serve first"
rc=0; "${SG[@]}" backup >/dev/null 2>&1 || rc=$?
gw_assert_eq 2 "$rc" "backup without FILE"

# After the backup: the later challenge buys a certificate.
enroll_expect after SUCCESS --challenge "$cu"
poll() { # poll NAME TXID: CertPoll until SUCCESS
	local rc=3 k
	for ((k = 0; k < 100 && rc == 3; k++)); do
		rc=0
		"$GW_BUILD/scepreq" poll --url "$GW_URL" --key "$T/$1.key" --txid "$2" \
		    --cert-out "$T/$1.pem" >"$T/$1.poll" 2>&1 || rc=$?
		[ "$rc" -eq 3 ] && sleep 0.2
	done
	[ "$rc" -eq 0 ] || { cat "$T/$1.poll" >&2; gw_fail "$1: poll exited $rc"; }
	assert_issued "$1"
}
poll held1 held-txid-1
poll held2 held-txid-2
gw_stop
gw_assert_eq 10 "$(sim_orders)" "orders before the restore"

# Refused restores change nothing: no database, a newer schema.
sum=$(sha256sum <"$DB")
head -c 8192 /dev/urandom >"$T/junk.db"
cp "$T/b.db" "$T/new.db" && sq "$T/new.db" 'PRAGMA user_version = 99'
for f in junk new; do
	rc=0; "${SG[@]}" restore "$T/$f.db" >"$T/$f.out" 2>&1 || rc=$?
	gw_assert_eq 1 "$rc" "restore of $f.db"
	gw_assert_eq "$sum" "$(sha256sum <"$DB")" "the database after restoring $f.db"
done
gw_assert_contains "$T/junk.out" "not a database"
gw_assert_contains "$T/new.out" "schema version 99 is newer"
[ -z "$(find "$GW_DIR" -name 'scepgw.db.before-restore.*')" ] || gw_fail "a refused restore kept a copy"
[ ! -e "$DB.tmp" ] || gw_fail "a refused restore left scepgw.db.tmp"

"${SG[@]}" restore "$T/b.db" >"$T/restore.out" 2>&1 || { cat "$T/restore.out" >&2; gw_fail "restore exited $?"; }
gw_assert_contains "$T/restore.out" "revoked [1-9][0-9]* unused challenges"
gw_assert_contains "$T/restore.out" "2 transactions are ordering"
kept=$(find "$GW_DIR" -name 'scepgw.db.before-restore.*Z')
[ -n "$kept" ] || gw_fail "the previous database was not kept"
gw_assert_eq 600 "$(stat -c %a "$kept")" "mode of the kept database"
gw_assert_eq "$sum" "$(sha256sum <"$kept")" "the kept database"
gw_assert_eq 600 "$(stat -c %a "$DB")" "mode of the restored database"

gw_start
poll held1 held-txid-1
poll held2 held-txid-2
"${SG[@]}" cert list >"$T/certs.out" 2>&1 || gw_fail "cert list failed"
gw_assert_contains "$T/certs.out" "$(serial "$T/before.pem")"
gw_assert_not_contains "$T/certs.out" "$(serial "$T/after.pem")"
enroll_expect replay FAILURE --challenge "$cu"
gw_assert_contains "$T/scepgw.log" "reconciled: order .* was issued"
gw_assert_not_contains "$T/scepgw.log" "ordering it now"
gw_assert_eq 10 "$(sim_orders)" "orders after the restore (one per enrollment)"
gw_stop

# --keep-challenges: the replayed challenge buys a second certificate.
# Run as root, the restored database goes to the old one's owner (the
# service user's, here nobody's).
[ "$(id -u)" -ne 0 ] || chown nobody "$DB"
"${SG[@]}" restore "$T/b.db" --keep-challenges >"$T/keep.out" 2>&1 || gw_fail "restore --keep-challenges failed"
gw_assert_contains "$T/keep.out" "kept [1-9][0-9]* unused challenges usable"
if [ "$(id -u)" -eq 0 ]; then
	gw_assert_eq nobody "$(stat -c %U "$DB")" "owner of the restored database"
	chown root "$DB"
fi
gw_start
poll held1 held-txid-1
enroll_expect replay2 SUCCESS --challenge "$cu"
gw_assert_not_contains "$T/scepgw.log" "ordering it now"
gw_assert_eq 11 "$(sim_orders)" "orders after the replay"
gw_stop

# PostgreSQL: pg_dump's job.
cp "$GW_CONF" "$T/pg.conf"
gw_conf_set db url 'postgresql://scepgw@127.0.0.1/none' "$T/pg.conf"
sed -i '/^path = scepgw.db$/d' "$T/pg.conf"
for cmd in backup restore; do
	rc=0; "$GW_BUILD/scepgw" -c "$T/pg.conf" "$cmd" "$T/b.db" >"$T/pg.out" 2>&1 || rc=$?
	gw_assert_eq 1 "$rc" "$cmd on PostgreSQL"
	gw_assert_contains "$T/pg.out" "pg_dump"
done
