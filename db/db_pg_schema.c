/*
 * The PostgreSQL backend's schema: its own numbered migrations (its list,
 * append-only like the SQLite one in db_sq_open.c), applied in one
 * transaction under a transaction-scoped advisory lock, so that gateways
 * starting together migrate once; the version lives in scepgw_schema.
 *
 * Migration 1 is the SQLite schema 9 (db_sq_open.c) in PostgreSQL's
 * types, plus what several gateways need (README "PostgreSQL"): a nodes
 * table of process incarnations and leases, transactions.owner and
 * taken_at. The hot writes are server-side functions, so that a batch
 * (db_pg_batch.c) is one call per write, and none of them raises an error
 * for an outcome the gateway expects: each returns a status instead, and
 * a pipelined batch aborts only on the unexpected. Each is idempotent: run
 * again after a commit whose outcome was lost, it reports what is stored
 * (README "How an enrollment works").
 */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "gw_err.h"
#include "db.h"
#include "db_int.h"
#include "db_pg_int.h"

/* pg_advisory_xact_lock() keys: "scepgw" in ASCII, then a number. */
#define PG_LOCK_MIGRATE "7363657067770001"
#define PG_LOCK_NDES_CAP "7363657067770002"

/*
 * Migration N (1-based) takes the schema from version N-1 to N: a list of
 * SQL texts run in order (each under the 4095 characters C11 promises a
 * string literal). Never edit one that has shipped: append a new one.
 */
/* 1: schema 9 of SQLite plus the cluster columns, and the functions. */
static const char *const pg_migration_1[] = {
	"CREATE TABLE nodes ("
	" id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	" name text NOT NULL,"
	" started_at timestamptz NOT NULL DEFAULT clock_timestamp(),"
	" lease_until timestamptz NOT NULL,"
	" config_sha256 bytea,"
	" version text);"
	"CREATE TABLE challenges ("
	" id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	" hash bytea NOT NULL UNIQUE CHECK (octet_length(hash) = 32),"
	" created bigint NOT NULL,"
	" expires bigint NOT NULL,"
	" used bigint NOT NULL DEFAULT 0,"
	" revoked boolean NOT NULL DEFAULT false,"
	" cn text, email text, ou text, txid text, profile text, upn text);"
	"CREATE INDEX challenges_expires ON challenges (expires);"
	"CREATE INDEX challenges_outstanding ON challenges (expires)"
	" WHERE used = 0 AND NOT revoked;"
	"CREATE TABLE transactions ("
	" id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	" txid text NOT NULL UNIQUE,"
	" csr_sha256 bytea NOT NULL,"
	" state smallint NOT NULL CHECK (state IN (1, 2, 3)),"
	" created bigint NOT NULL,"
	" updated bigint NOT NULL,"
	" challenge_id bigint REFERENCES challenges (id),"
	" cn text, email text, ou text, csr_pem text, order_id text,"
	" cert_der bytea,"
	" fail_info integer NOT NULL DEFAULT 0,"
	" fail_text text, profile text, key_sha256 bytea, renews text,"
	" upn text, licence_pool text, epki_code integer, epki_message text,"
	" owner bigint REFERENCES nodes (id),"
	" taken_at timestamptz);"
	"CREATE INDEX transactions_unfinished ON transactions (owner, id)"
	" WHERE state = 1;"
	"CREATE INDEX transactions_state ON transactions (state);"
	"CREATE INDEX transactions_challenge ON transactions (challenge_id);"
	"CREATE INDEX transactions_renews ON transactions (renews);"
	"CREATE INDEX transactions_cn ON transactions (cn);"
	"CREATE INDEX transactions_epki_code ON transactions (epki_code)"
	" WHERE epki_code IS NOT NULL;"
	"CREATE TABLE certificates ("
	" serial_hex text PRIMARY KEY,"
	" order_id text,"
	" txid text REFERENCES transactions (txid) ON UPDATE CASCADE,"
	" subject text,"
	" cert_der bytea NOT NULL,"
	" issued bigint NOT NULL,"
	" not_after bigint NOT NULL,"
	" revoked bigint NOT NULL DEFAULT 0,"
	" revoke_reason text);"
	"CREATE INDEX certificates_txid ON certificates (txid);"
	"CREATE INDEX certificates_order ON certificates (order_id);"
	"CREATE INDEX certificates_not_after ON certificates (not_after);"
	"CREATE TABLE users ("
	" name text PRIMARY KEY,"
	" kdf text NOT NULL CHECK (kdf = 'scrypt'),"
	" kdf_n bigint NOT NULL, kdf_r bigint NOT NULL, kdf_p bigint NOT NULL,"
	" salt bytea NOT NULL, hash bytea NOT NULL,"
	" can_issue boolean NOT NULL DEFAULT true,"
	" created bigint NOT NULL,"
	" profiles text NOT NULL DEFAULT 'default');"
	"CREATE TABLE licence_counts ("
	" pool text PRIMARY KEY,"
	" used bigint NOT NULL DEFAULT 0);",
	/*
	 * db_txn_start(): 0 OK, 1 EXISTS, 2 BAD, 3 USED, 4 EXPIRED, 5
	 * REVOKED, 6 RENEWED (enum db_start), checked in the order of
	 * db_sq_txn.c. The advisory locks serialise two starts of one txid,
	 * or two renewals of one certificate, until the first commits; the
	 * loser's next statement sees its row. A refused challenge writes
	 * nothing.
	 */
	"CREATE FUNCTION scepgw_txn_start(p_txid text, p_csr bytea,"
	" p_chal bytea, p_cn text, p_email text, p_ou text, p_csr_pem text,"
	" p_now bigint, p_final boolean, p_profile text, p_key bytea,"
	" p_renews text, p_upn text, p_pool text, p_owner bigint)"
	" RETURNS integer LANGUAGE plpgsql AS $f$"
	" DECLARE c_id bigint; c_cn text; c_email text; c_ou text;"
	" c_upn text;"
	" BEGIN"
	" PERFORM pg_advisory_xact_lock(hashtextextended("
	"  'scepgw.txid:' || p_txid, 0));"
	" PERFORM 1 FROM transactions WHERE txid = p_txid;"
	" IF FOUND THEN RETURN 1; END IF;"
	" IF p_renews IS NOT NULL THEN"
	"  PERFORM pg_advisory_xact_lock(hashtextextended("
	"   'scepgw.renews:' || p_renews, 0));"
	"  PERFORM 1 FROM transactions WHERE renews = p_renews"
	"   AND state IN (1, 2);"
	"  IF FOUND THEN RETURN 6; END IF;"
	" END IF;"
	" IF p_chal IS NOT NULL THEN"
	"  UPDATE challenges SET used = p_now, txid = p_txid"
	"   WHERE hash = p_chal AND used = 0 AND NOT revoked"
	"   AND expires > p_now"
	"   RETURNING id, cn, email, ou, upn"
	"   INTO c_id, c_cn, c_email, c_ou, c_upn;"
	"  IF NOT FOUND THEN"
	"   RETURN COALESCE((SELECT CASE WHEN revoked THEN 5"
	"    WHEN used <> 0 THEN 3 ELSE 4 END"
	"    FROM challenges WHERE hash = p_chal), 2);"
	"  END IF;"
	"  IF NOT p_final THEN"
	"   p_cn := COALESCE(c_cn, p_cn);"
	"   p_email := COALESCE(c_email, p_email);"
	"   p_ou := COALESCE(c_ou, p_ou);"
	"   p_upn := COALESCE(c_upn, p_upn);"
	"  END IF;"
	" END IF;"
	" INSERT INTO transactions (txid, csr_sha256, state, created, updated,"
	"  challenge_id, cn, email, ou, csr_pem, profile, key_sha256, renews,"
	"  upn, licence_pool, owner)"
	" VALUES (p_txid, p_csr, 1, p_now, p_now, c_id, p_cn, p_email, p_ou,"
	"  p_csr_pem, p_profile, p_key, p_renews, p_upn, p_pool, p_owner);"
	" RETURN 0;"
	" END $f$;",
	/*
	 * The licence an order spent (README "Licences"), counted as SQLite
	 * does: in the write that records the OrderID or the certificate,
	 * only while the transaction is ORDERING without an OrderID.
	 */
	"CREATE FUNCTION scepgw_licence_count(p_txid text)"
	" RETURNS void LANGUAGE sql AS $f$"
	" INSERT INTO licence_counts (pool, used)"
	" SELECT COALESCE(licence_pool, 'epki'), 1 FROM transactions"
	" WHERE txid = p_txid AND state = 1 AND order_id IS NULL"
	" ON CONFLICT (pool) DO UPDATE SET used = licence_counts.used + 1"
	" $f$;",
	/* db_txn_set_order(): 0 stored (also again), -1 not ORDERING. */
	"CREATE FUNCTION scepgw_txn_set_order(p_txid text, p_order text,"
	" p_now bigint) RETURNS integer LANGUAGE plpgsql AS $f$"
	" BEGIN"
	" IF p_order IS NOT NULL THEN"
	"  PERFORM scepgw_licence_count(p_txid);"
	" END IF;"
	" UPDATE transactions SET order_id = p_order, updated = p_now"
	"  WHERE txid = p_txid AND state = 1;"
	" RETURN CASE WHEN FOUND THEN 0 ELSE -1 END;"
	" END $f$;",
	/*
	 * db_txn_set_issued(): 0 stored, 1 already stored with this
	 * certificate (a retry), -1 not ORDERING, -2 the serial is another
	 * transaction's.
	 */
	"CREATE FUNCTION scepgw_txn_set_issued(p_txid text, p_order text,"
	" p_der bytea, p_serial text, p_not_after bigint, p_subject text,"
	" p_now bigint) RETURNS integer LANGUAGE plpgsql AS $f$"
	" BEGIN"
	" PERFORM 1 FROM transactions WHERE txid = p_txid AND state = 2"
	"  AND cert_der = p_der;"
	" IF FOUND THEN RETURN 1; END IF;"
	" PERFORM 1 FROM certificates WHERE serial_hex = p_serial;"
	" IF FOUND THEN RETURN -2; END IF;"
	" PERFORM scepgw_licence_count(p_txid);"
	" UPDATE transactions SET state = 2,"
	"  order_id = COALESCE(p_order, order_id), cert_der = p_der,"
	"  csr_pem = NULL, updated = p_now, owner = NULL"
	"  WHERE txid = p_txid AND state = 1;"
	" IF NOT FOUND THEN RETURN -1; END IF;"
	" INSERT INTO certificates (serial_hex, order_id, txid, subject,"
	"  cert_der, issued, not_after)"
	" SELECT p_serial, COALESCE(p_order, order_id), p_txid, p_subject,"
	"  p_der, p_now, p_not_after FROM transactions WHERE txid = p_txid;"
	" RETURN 0;"
	" END $f$;",
	/* db_txn_set_failed(): 0 stored, 1 already failed so (a retry), -1
	 * not ORDERING. */
	"CREATE FUNCTION scepgw_txn_set_failed(p_txid text, p_fail integer,"
	" p_text text, p_now bigint, p_code integer, p_msg text)"
	" RETURNS integer LANGUAGE plpgsql AS $f$"
	" BEGIN"
	" UPDATE transactions SET state = 3, fail_info = p_fail,"
	"  fail_text = p_text, csr_pem = NULL, updated = p_now,"
	"  epki_code = p_code, epki_message = p_msg, owner = NULL"
	"  WHERE txid = p_txid AND state = 1;"
	" IF FOUND THEN RETURN 0; END IF;"
	" PERFORM 1 FROM transactions WHERE txid = p_txid AND state = 3"
	"  AND fail_info = p_fail AND updated = p_now;"
	" RETURN CASE WHEN FOUND THEN 1 ELSE -1 END;"
	" END $f$;",
	/*
	 * db_challenge_put_capped(): the new id, or NULL at the cap. The
	 * advisory lock makes the count and the insert one step for every
	 * gateway (READ COMMITTED alone would let two pass the count).
	 */
	"CREATE FUNCTION scepgw_challenge_put_capped(p_hash bytea,"
	" p_now bigint, p_expires bigint, p_cap bigint, p_profile text)"
	" RETURNS bigint LANGUAGE plpgsql AS $f$"
	" DECLARE r bigint;"
	" BEGIN"
	" PERFORM pg_advisory_xact_lock(" PG_LOCK_NDES_CAP ");"
	" INSERT INTO challenges (hash, created, expires, profile)"
	" SELECT p_hash, p_now, p_expires, p_profile"
	" WHERE (SELECT count(*) FROM challenges WHERE expires > p_now"
	"  AND used = 0 AND NOT revoked) < p_cap"
	" RETURNING id INTO r;"
	" RETURN r;"
	" END $f$;",
	NULL,
};

/*
 * 2: Microsoft Intune (README "Microsoft Intune"), as SQLite's migration
 * 11: what Intune has heard of a transaction (db.h enum db_intune), the
 * DER CSR it validated, kept until the notification is recorded, and
 * when a gateway began sending it (db_txn_claim_intune()); a
 * scepgw_txn_start() that records both (the 15-argument one is kept: a
 * gateway of the previous version may still call it).
 */
static const char *const pg_migration_2[] = {
	"ALTER TABLE transactions ADD COLUMN intune smallint NOT NULL"
	" DEFAULT 0;"
	"ALTER TABLE transactions ADD COLUMN intune_csr bytea;"
	"ALTER TABLE transactions ADD COLUMN intune_claim bigint;"
	"CREATE INDEX transactions_intune ON transactions (id)"
	" WHERE intune = 1 AND state <> 1;",
	"CREATE FUNCTION scepgw_txn_start(p_txid text, p_csr bytea,"
	" p_chal bytea, p_cn text, p_email text, p_ou text, p_csr_pem text,"
	" p_now bigint, p_final boolean, p_profile text, p_key bytea,"
	" p_renews text, p_upn text, p_pool text, p_owner bigint,"
	" p_intune integer, p_intune_csr bytea)"
	" RETURNS integer LANGUAGE plpgsql AS $f$"
	" DECLARE r integer;"
	" BEGIN"
	" r := scepgw_txn_start(p_txid, p_csr, p_chal, p_cn, p_email, p_ou,"
	"  p_csr_pem, p_now, p_final, p_profile, p_key, p_renews, p_upn,"
	"  p_pool, p_owner);"
	" IF r = 0 AND p_intune <> 0 THEN"
	"  UPDATE transactions SET intune = p_intune, intune_csr = p_intune_csr"
	"   WHERE txid = p_txid;"
	" END IF;"
	" RETURN r;"
	" END $f$;",
	NULL,
};

/* 3: as SQLite's migration 12: what `scepgw check` compares across live
 * gateways (README "High availability"): the SHA-256 of the settings that
 * decide an order, and of the RA certificate (DER), per incarnation. */
static const char *const pg_migration_3[] = {
	"ALTER TABLE nodes ADD COLUMN order_sha256 bytea,"
	" ADD COLUMN ra_sha256 bytea",
	NULL,
};

/* 4: as SQLite's migration 13: db_txn_find_csr() looks up by the CSR's
 * hash on every Intune request. */
static const char *const pg_migration_4[] = {
	"CREATE INDEX transactions_csr ON transactions (csr_sha256)",
	NULL,
};

/* 5: as SQLite's migration 14: console roles, and the index of the
 * console's per-hour chart. */
static const char *const pg_migration_5[] = {
	"ALTER TABLE users ADD COLUMN role text NOT NULL DEFAULT 'ndes' "
	"CHECK (role IN ('ndes', 'viewer', 'admin'))",
	"CREATE INDEX transactions_updated ON transactions (updated)",
	NULL,
};

/*
 * 6: db_txn_start() in one statement: scepgw_txn_start_row() does what the
 * 17-argument scepgw_txn_start() does (migrations 1 and 2; Intune's
 * columns now in the INSERT itself) and returns the transaction's row in
 * the columns of PG_TXN_COLS (db_pg_int.h; NULL when the status is
 * neither OK nor EXISTS), then the status, as one row: the batch no
 * longer reads the row back with a statement of its own. The functions
 * before it stay, for a gateway of an earlier version. A column added to
 * PG_TXN_COLS needs a new function.
 */
static const char *const pg_migration_6[] = {
	"CREATE FUNCTION scepgw_txn_start_row(p_txid text, p_csr bytea,"
	" p_chal bytea, p_cn text, p_email text, p_ou text, p_csr_pem text,"
	" p_now bigint, p_final boolean, p_profile text, p_key bytea,"
	" p_renews text, p_upn text, p_pool text, p_owner bigint,"
	" p_intune integer, p_intune_csr bytea)"
	" RETURNS TABLE (r_id bigint, r_txid text, r_csr bytea,"
	"  r_state smallint, r_created bigint, r_updated bigint,"
	"  r_challenge bigint, r_cn text, r_email text, r_ou text,"
	"  r_csr_pem text, r_order text, r_cert bytea, r_fail_info integer,"
	"  r_fail_text text, r_profile text, r_key bytea, r_renews text,"
	"  r_upn text, r_pool text, r_epki_code integer,"
	"  r_epki_message text, r_owner bigint, r_taken_at bigint,"
	"  r_intune smallint, r_intune_csr bytea, r_intune_claim bigint,"
	"  r_status integer)"
	" LANGUAGE plpgsql AS $f$"
	" DECLARE st integer := 0; c_id bigint; c_cn text; c_email text;"
	" c_ou text; c_upn text;"
	" BEGIN"
	" PERFORM pg_advisory_xact_lock(hashtextextended("
	"  'scepgw.txid:' || p_txid, 0));"
	" PERFORM 1 FROM transactions WHERE txid = p_txid;"
	" IF FOUND THEN st := 1; END IF;"
	" IF st = 0 AND p_renews IS NOT NULL THEN"
	"  PERFORM pg_advisory_xact_lock(hashtextextended("
	"   'scepgw.renews:' || p_renews, 0));"
	"  PERFORM 1 FROM transactions WHERE renews = p_renews"
	"   AND state IN (1, 2);"
	"  IF FOUND THEN st := 6; END IF;"
	" END IF;"
	" IF st = 0 AND p_chal IS NOT NULL THEN"
	"  UPDATE challenges SET used = p_now, txid = p_txid"
	"   WHERE hash = p_chal AND used = 0 AND NOT revoked"
	"   AND expires > p_now"
	"   RETURNING id, cn, email, ou, upn"
	"   INTO c_id, c_cn, c_email, c_ou, c_upn;"
	"  IF NOT FOUND THEN"
	"   st := COALESCE((SELECT CASE WHEN revoked THEN 5"
	"    WHEN used <> 0 THEN 3 ELSE 4 END"
	"    FROM challenges WHERE hash = p_chal), 2);"
	"  ELSIF NOT p_final THEN"
	"   p_cn := COALESCE(c_cn, p_cn);"
	"   p_email := COALESCE(c_email, p_email);"
	"   p_ou := COALESCE(c_ou, p_ou);"
	"   p_upn := COALESCE(c_upn, p_upn);"
	"  END IF;"
	" END IF;"
	" IF st = 0 THEN"
	"  INSERT INTO transactions (txid, csr_sha256, state, created,"
	"   updated, challenge_id, cn, email, ou, csr_pem, profile,"
	"   key_sha256, renews, upn, licence_pool, owner, intune, intune_csr)"
	"  VALUES (p_txid, p_csr, 1, p_now, p_now, c_id, p_cn, p_email, p_ou,"
	"   p_csr_pem, p_profile, p_key, p_renews, p_upn, p_pool, p_owner,"
	"   COALESCE(p_intune, 0),"
	"   CASE WHEN COALESCE(p_intune, 0) <> 0 THEN p_intune_csr END);"
	" END IF;"
	" RETURN QUERY SELECT t.id, t.txid, t.csr_sha256, t.state, t.created,"
	"  t.updated, t.challenge_id, t.cn, t.email, t.ou, t.csr_pem,"
	"  t.order_id, t.cert_der, t.fail_info, t.fail_text, t.profile,"
	"  t.key_sha256, t.renews, t.upn, t.licence_pool, t.epki_code,"
	"  t.epki_message, t.owner,"
	"  floor(extract(epoch FROM t.taken_at))::bigint, t.intune,"
	"  t.intune_csr, t.intune_claim, st"
	"  FROM (SELECT 1) AS one LEFT JOIN transactions AS t"
	"  ON t.txid = p_txid AND st IN (0, 1);"
	" END $f$;",
	NULL,
};

/*
 * 7: as SQLite's migration 15: a transaction's history (db/README.md
 * "History"). The state changes are recorded by triggers in the statement
 * that makes them (so scepgw_txn_start_row() and the set functions stay
 * as they are); scepgw_txn_event() adds the server's own events, counting
 * one other than a refusal into the transaction's row of that kind. The
 * triggers stand aside while `scepgw db migrate` copies rows in (db_pg_copy.c
 * sets scepgw.copying), since the copied history comes with them.
 */
static const char *const pg_migration_7[] = {
	"CREATE TABLE txn_events ("
	" id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	" txid text NOT NULL,"
	" at bigint NOT NULL,"
	" kind text NOT NULL,"
	" detail text,"
	" cn text,"
	" n bigint NOT NULL DEFAULT 1)",
	"CREATE INDEX txn_events_txid ON txn_events (txid, id)",
	"CREATE INDEX txn_events_refused ON txn_events (id)"
	" WHERE kind = 'refused'",
	"CREATE INDEX transactions_cn_c ON transactions (cn COLLATE \"C\")",
	"CREATE INDEX transactions_email_c ON transactions (email COLLATE \"C\")",
	"CREATE INDEX transactions_created ON transactions (created)",
	"CREATE FUNCTION scepgw_txn_event(p_txid text, p_at bigint,"
	" p_kind text, p_detail text, p_cn text) RETURNS integer"
	" LANGUAGE plpgsql AS $f$"
	" BEGIN"
	" IF p_kind <> 'refused' THEN"
	"  UPDATE txn_events SET n = n + 1, at = p_at, detail = p_detail"
	"   WHERE txid = p_txid AND kind = p_kind;"
	"  IF FOUND THEN RETURN 0; END IF;"
	" END IF;"
	" INSERT INTO txn_events (txid, at, kind, detail, cn)"
	"  VALUES (p_txid, p_at, p_kind, p_detail, p_cn);"
	" RETURN 0;"
	" END $f$",
	"CREATE FUNCTION scepgw_txn_history() RETURNS trigger"
	" LANGUAGE plpgsql AS $f$"
	" BEGIN"
	" IF current_setting('scepgw.copying', true) = 'on' THEN"
	"  RETURN NULL;"
	" END IF;"
	" IF TG_TABLE_NAME = 'certificates' THEN"
	"  IF NEW.txid IS NOT NULL THEN"
	"   INSERT INTO txn_events (txid, at, kind, detail) VALUES (NEW.txid,"
	"    NEW.issued, 'issued', 'serial ' || NEW.serial_hex);"
	"  END IF;"
	"  RETURN NULL;"
	" END IF;"
	" IF TG_OP = 'INSERT' THEN"
	"  INSERT INTO txn_events (txid, at, kind, detail, cn) VALUES ("
	"   NEW.txid, NEW.created, 'admitted',"
	"   CASE WHEN NEW.renews IS NOT NULL THEN"
	"    'RenewalReq, renewing ' || NEW.renews"
	"   WHEN NEW.challenge_id IS NOT NULL THEN"
	"    'PKCSReq, challenge ' || NEW.challenge_id ELSE 'PKCSReq' END"
	"   || ', profile ' || COALESCE(NEW.profile, 'default'), NEW.cn);"
	"  RETURN NULL;"
	" END IF;"
	" IF NEW.order_id IS NOT NULL AND OLD.order_id IS NULL THEN"
	"  INSERT INTO txn_events (txid, at, kind, detail) VALUES (NEW.txid,"
	"   NEW.updated, 'ordered', 'OrderID ' || NEW.order_id);"
	" END IF;"
	" IF NEW.state = 3 AND OLD.state <> 3 THEN"
	"  INSERT INTO txn_events (txid, at, kind, detail) VALUES (NEW.txid,"
	"   NEW.updated, 'failed', COALESCE(NEW.fail_text, '') ||"
	"   CASE WHEN COALESCE(NEW.epki_code, 0) <> 0 THEN"
	"    '; GlobalSign error ' || NEW.epki_code || ': ' ||"
	"    COALESCE(NEW.epki_message, '') ELSE '' END);"
	" END IF;"
	" IF NEW.taken_at IS NOT NULL AND"
	"  OLD.taken_at IS DISTINCT FROM NEW.taken_at THEN"
	"  INSERT INTO txn_events (txid, at, kind, detail) VALUES (NEW.txid,"
	"   floor(extract(epoch FROM NEW.taken_at))::bigint, 'taken over',"
	"   'by gateway incarnation ' || COALESCE(NEW.owner::text, '?'));"
	" END IF;"
	" IF NEW.intune IN (2, 3, 4) AND OLD.intune <> NEW.intune THEN"
	"  INSERT INTO txn_events (txid, at, kind, detail) VALUES (NEW.txid,"
	"   floor(extract(epoch FROM clock_timestamp()))::bigint, 'intune',"
	"   CASE NEW.intune WHEN 2 THEN 'successNotification accepted'"
	"   WHEN 3 THEN 'failureNotification sent'"
	"   ELSE 'failureNotification could not be sent' END);"
	" END IF;"
	" RETURN NULL;"
	" END $f$",
	"CREATE TRIGGER txn_events_txn AFTER INSERT OR UPDATE ON transactions"
	" FOR EACH ROW EXECUTE FUNCTION scepgw_txn_history()",
	"CREATE TRIGGER txn_events_cert AFTER INSERT ON certificates"
	" FOR EACH ROW EXECUTE FUNCTION scepgw_txn_history()",
	NULL,
};

/* 8: as SQLite's migration 16: the console's certificate search,
 * db_cert_search() (transactions_cn exists since 1; the enrollment
 * search's transactions_email_c, in the C collation, serves no equality
 * in the database's collation, hence transactions_email). */
static const char *const pg_migration_8[] = {
	"CREATE INDEX certificates_issued ON certificates (issued, serial_hex,"
	" revoked, not_after)",
	"CREATE INDEX certificates_revoked ON certificates (issued, serial_hex)"
	" WHERE revoked <> 0",
	"CREATE INDEX transactions_email ON transactions (email)",
	NULL,
};

static const char *const *const pg_migrations[] = {
	pg_migration_1,
	pg_migration_2,
	pg_migration_3,
	pg_migration_4,
	pg_migration_5,
	pg_migration_6,
	pg_migration_7,
	pg_migration_8,
};

#define PG_SCHEMA_LATEST \
	((int)(sizeof(pg_migrations) / sizeof(pg_migrations[0])))

int
pg_schema_latest(void)
{
	return PG_SCHEMA_LATEST;
}

/* Runs sql (no parameters, several statements allowed). 0 or -1. */
static int
pg_simple(PGconn *c, const char *sql, const char *what, struct gw_err *err)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType s = PQresultStatus(r);
	int rc = 0;

	if (r == NULL || (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)) {
		pg_err_res(r, c, what, err);
		rc = -1;
	}
	PQclear(r);
	return rc;
}

/*
 * Brings the schema to the latest version in one transaction, under
 * pg_advisory_xact_lock: DDL is transactional, so of two gateways
 * starting at once on an empty database one migrates and the other then
 * finds the version. Sets *version. Returns 0 or -1 with err set
 * (DB_ERR_SCHEMA: the database is newer than this program).
 */
int
pg_migrate(PGconn *c, int *version, struct gw_err *err)
{
	struct pg_params p;
	PGresult *r;
	int v = 0, i, found = -1; /* the version found before locking */
	char m[GW_ERR_MSG];

	/* Up to date: nothing to lock or create, so that a role with only
	 * the privileges README "High availability" grants can start. */
	if ((r = pg_exec(c, "SELECT to_regclass('scepgw_schema') IS NOT NULL",
		 NULL, "schema", 0, err)) == NULL)
		return -1;
	i = pg_bool(r, 0, 0);
	PQclear(r);
	if (i) {
		if ((r = pg_exec(c, "SELECT version FROM scepgw_schema", NULL,
			 "schema version", 0, err)) == NULL)
			return -1;
		v = PQntuples(r) == 1 ? (int)pg_int(r, 0, 0) : -1;
		PQclear(r);
		found = v;
		if (v == PG_SCHEMA_LATEST) {
			*version = v;
			return 0;
		}
		v = 0;
	}
	if (pg_simple(c,
		"BEGIN; SELECT pg_advisory_xact_lock(" PG_LOCK_MIGRATE ");"
		"CREATE TABLE IF NOT EXISTS scepgw_schema "
		"(version integer NOT NULL)",
		"schema", err) != 0)
		goto err;
	if ((r = pg_exec(c, "SELECT version FROM scepgw_schema", NULL,
		 "schema version", 0, err)) == NULL)
		goto err;
	if (PQntuples(r) > 0)
		v = (int)pg_int(r, 0, 0);
	else if (pg_simple(c, "INSERT INTO scepgw_schema VALUES (0)",
		     "schema version", err) != 0) {
		PQclear(r);
		goto err;
	}
	PQclear(r);
	if (v < 0 || v > PG_SCHEMA_LATEST) {
		gw_err_set(err, DB_ERR_SCHEMA,
		    "database schema version %d; this program knows 0..%d", v,
		    PG_SCHEMA_LATEST);
		goto err;
	}
	for (; v < PG_SCHEMA_LATEST; v++) {
		for (i = 0; pg_migrations[v][i] != NULL; i++)
			if (pg_simple(c, pg_migrations[v][i], "migration",
				err) != 0)
				goto err;
		memset(&p, 0, sizeof(p));
		pp_int4(&p, v + 1);
		if ((r = pg_exec(c, "UPDATE scepgw_schema SET version = $1", &p,
			 "schema version", 0, err)) == NULL)
			goto err;
		PQclear(r);
	}
	if (pg_simple(c, "COMMIT", "schema commit", err) != 0)
		goto err;
	*version = v;
	return 0;
err:
	if (PQstatus(c) == CONNECTION_OK)
		PQclear(PQexec(c, "ROLLBACK"));
	/* Creating or migrating needs the owner of the schema, the
	 * gateways' role may not (README "High availability"). */
	if (err != NULL && err->code == DB_ERR_SQL &&
	    found < PG_SCHEMA_LATEST) {
		snprintf(m, sizeof(m), "%s", err->msg);
		if (found >= 0)
			gw_err_set(err, err->code,
			    "schema version %d must be migrated to %d, as the "
			    "role that owns the schema: %s",
			    found, PG_SCHEMA_LATEST, m);
		else
			gw_err_set(err, err->code,
			    "no schema yet; it must be created as the role "
			    "that owns the database's schema: %s",
			    m);
	}
	return -1;
}
