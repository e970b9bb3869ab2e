/*
 * SQLite: a transaction's history (db/README.md "History"): its table and
 * triggers (migration 15), the events the server adds (DB_W_EVENT), their
 * lists and their pruning.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "gw_err.h"
#include "db.h"
#include "db_int.h"
#include "db_sq_int.h"

/*
 * Migration 15 (db_sq_open.c db_migrations[]): a transaction's history (README
 * "Admin web console", db/README.md "History"): the state changes are recorded
 * by triggers, inside the write that makes them; what only the server sees (a
 * refusal before any row exists, PENDING, the CertRep delivered, CertPoll: one
 * row per transaction, counted) comes as DB_W_EVENT writes. Refusals are pruned
 * (db_event_prune()). The console searches transactions by CN and email prefix.
 */
const char sq_migration_15[] =
    "CREATE TABLE txn_events ("
    " id INTEGER PRIMARY KEY,"
    " txid TEXT NOT NULL,"
    " at INTEGER NOT NULL,"
    " kind TEXT NOT NULL,"
    " detail TEXT,"
    " cn TEXT,"
    " n INTEGER NOT NULL DEFAULT 1);"
    "CREATE INDEX txn_events_txid ON txn_events(txid, id);"
    "CREATE INDEX txn_events_refused ON txn_events(id) "
    "WHERE kind = 'refused';"
    "CREATE INDEX transactions_cn ON transactions(cn);"
    "CREATE INDEX transactions_email ON transactions(email);"
    "CREATE INDEX transactions_created ON transactions(created);"
    "CREATE TRIGGER txn_events_admitted AFTER INSERT ON transactions "
    "BEGIN INSERT INTO txn_events(txid, at, kind, detail, cn) "
    "VALUES (NEW.txid, NEW.created, 'admitted', "
    "CASE WHEN NEW.renews IS NOT NULL THEN 'RenewalReq, renewing ' || "
    "NEW.renews WHEN NEW.challenge_id IS NOT NULL THEN "
    "'PKCSReq, challenge ' || NEW.challenge_id ELSE 'PKCSReq' END || "
    "', profile ' || COALESCE(NEW.profile, 'default'), NEW.cn); END;"
    "CREATE TRIGGER txn_events_ordered AFTER UPDATE OF order_id "
    "ON transactions WHEN NEW.order_id IS NOT NULL AND "
    "OLD.order_id IS NULL BEGIN INSERT INTO txn_events(txid, at, kind, "
    "detail) VALUES (NEW.txid, NEW.updated, 'ordered', "
    "'OrderID ' || NEW.order_id); END;"
    "CREATE TRIGGER txn_events_issued AFTER INSERT ON certificates "
    "WHEN NEW.txid IS NOT NULL BEGIN INSERT INTO txn_events(txid, at, "
    "kind, detail) VALUES (NEW.txid, NEW.issued, 'issued', "
    "'serial ' || NEW.serial_hex); END;"
    "CREATE TRIGGER txn_events_failed AFTER UPDATE OF state "
    "ON transactions WHEN NEW.state = 3 AND OLD.state <> 3 "
    "BEGIN INSERT INTO txn_events(txid, at, kind, detail) "
    "VALUES (NEW.txid, NEW.updated, 'failed', "
    "COALESCE(NEW.fail_text, '') || CASE WHEN NEW.epki_code IS NOT NULL "
    "AND NEW.epki_code <> 0 THEN '; GlobalSign error ' || "
    "NEW.epki_code || ': ' || COALESCE(NEW.epki_message, '') ELSE '' "
    "END); END;"
    "CREATE TRIGGER txn_events_taken AFTER UPDATE OF taken_at "
    "ON transactions WHEN NEW.taken_at IS NOT NULL AND "
    "OLD.taken_at IS NOT NEW.taken_at BEGIN INSERT INTO txn_events(txid, "
    "at, kind, detail) VALUES (NEW.txid, NEW.taken_at, 'taken over', "
    "'by gateway incarnation ' || COALESCE(NEW.owner, '?')); END;"
    "CREATE TRIGGER txn_events_intune AFTER UPDATE OF intune "
    "ON transactions WHEN NEW.intune IN (2, 3, 4) AND "
    "OLD.intune <> NEW.intune BEGIN INSERT INTO txn_events(txid, at, "
    "kind, detail) VALUES (NEW.txid, " DB_SQ_NOW ", 'intune', "
    "CASE NEW.intune WHEN 2 THEN 'successNotification accepted' "
    "WHEN 3 THEN 'failureNotification sent' "
    "ELSE 'failureNotification could not be sent' END); END;";

/* Binds an event's five values to EV_PUT's or EV_POLL's parameters. */
static int
event_bind(sqlite3_stmt *st, const struct db_event_new *e)
{
	return sqlite3_bind_text(st, 1, e->txid, -1, SQLITE_STATIC) !=
		    SQLITE_OK ||
		sqlite3_bind_int64(st, 2, e->at) != SQLITE_OK ||
		sqlite3_bind_text(st, 3, e->kind, -1, SQLITE_STATIC) !=
		    SQLITE_OK ||
		db_bind_text(st, 4, e->detail) != SQLITE_OK ||
		(sqlite3_bind_parameter_count(st) >= 5 &&
		    db_bind_text(st, 5, e->cn) != SQLITE_OK) ?
	    -1 :
	    0;
}

/* Runs cached statement which with e's values. 0, or -1 with err set. */
static int
event_step(struct db *db, enum db_stmt which, const struct db_event_new *e,
    struct gw_err *err)
{
	sqlite3_stmt *st = db_stmt(db, which);

	if (event_bind(st, e) != 0) {
		db_err_sql(db, err, "event");
		db_stmt_done(st);
		return -1;
	}
	return db_step_done(db, st, "event", err);
}

/*
 * DB_W_EVENT inside the batch's transaction: one INSERT; an event other
 * than a refusal first tries to count itself into the transaction's row
 * of that kind (a device polling, or resending its request, adds no row).
 * Returns DB_WRITE_KEEP or -1 with err set.
 */
int
sq_event_write(struct db *db, const struct db_event_new *e, struct gw_err *err)
{
	if (strcmp(e->kind, DB_EVENT_REFUSED) != 0) {
		if (event_step(db, DB_ST_EV_POLL, e, err) != 0)
			return -1;
		if (sqlite3_changes(db_sq(db)->h) > 0)
			return DB_WRITE_KEEP;
	}
	if (event_step(db, DB_ST_EV_PUT, e, err) != 0)
		return -1;
	return DB_WRITE_KEEP;
}

static void
event_cleanup_fn(void *p)
{
	db_event_cleanup(p);
}

/* Reads a row of EVENT_COLS. */
static int
event_read(sqlite3_stmt *st, void *p)
{
	struct db_event *e = p;

	e->id = sqlite3_column_int64(st, 0);
	e->at = sqlite3_column_int64(st, 2);
	e->n = sqlite3_column_int64(st, 6);
	if (db_col_strdup(st, 1, &e->txid) != 0 ||
	    db_col_strdup(st, 3, &e->kind) != 0 ||
	    db_col_strdup(st, 4, &e->detail) != 0 ||
	    db_col_strdup(st, 5, &e->cn) != 0)
		return -1;
	return 0;
}

#define EVENT_COLS "id, txid, at, kind, detail, cn, n"

/* Prepares sql, binds the bound texts and integers in order (texts first),
 * loads the rows, then calls fn for each without the lock held. */
static int
event_rows(struct db *db, const char *sql, const char *const *texts,
    size_t ntexts, const int64_t *ints, size_t nints, db_event_fn *fn,
    void *arg, struct gw_err *err)
{
	struct db_rows r = { NULL, 0, 0, sizeof(struct db_event),
		event_cleanup_fn };
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc = -1, k = 1;

	db_lock(db);
	if (sqlite3_prepare_v2(db_sq(db)->h, sql, -1, &st, NULL) != SQLITE_OK) {
		db_err_sql(db, err, "event list");
		goto out;
	}
	for (i = 0; i < ntexts; i++)
		if (sqlite3_bind_text(st, k++, texts[i], -1, SQLITE_STATIC) !=
		    SQLITE_OK)
			goto bind;
	for (i = 0; i < nints; i++)
		if (sqlite3_bind_int64(st, k++, ints[i]) != SQLITE_OK)
			goto bind;
	rc = db_rows_load(db, st, &r, event_read, "event list", err);
	goto out;
bind:
	db_err_sql(db, err, "event list");
out:
	sqlite3_finalize(st);
	db_unlock(db);
	for (i = 0; rc == 0 && i < r.n; i++)
		if (fn(arg, (struct db_event *)(void *)(r.v + i * r.size)) != 0)
			break;
	db_rows_cleanup(&r);
	return rc;
}

/* db_event_list(): txn_events_txid, oldest first. */
int
sq_event_list(struct db *db, const char *txid, size_t limit, db_event_fn *fn,
    void *arg, struct gw_err *err)
{
	int64_t lim = sq_limit(limit);

	return event_rows(db,
	    "SELECT " EVENT_COLS " FROM txn_events WHERE txid = ?1 "
	    "ORDER BY id LIMIT ?2",
	    &txid, 1, &lim, 1, fn, arg, err);
}

/* db_event_refused(): the partial index txn_events_refused, newest
 * first; the CN prefix and the dates filter what it reads. */
int
sq_event_refused(struct db *db, const struct db_txn_query *q, db_event_fn *fn,
    void *arg, struct gw_err *err)
{
	char *end = db_prefix_end(q->cn != NULL ? q->cn : "");
	const char *texts[2] = { q->cn != NULL ? q->cn : "", end };
	int64_t ints[4] = { q->from, q->to > 0 ? q->to : INT64_MAX,
		q->before_id > 0 ? q->before_id : INT64_MAX,
		sq_limit(q->limit) };
	int rc;

	if (end == NULL) {
		gw_err_set(err, DB_ERR_SQL, "event list: out of memory");
		return -1;
	}
	rc = event_rows(db,
	    "SELECT " EVENT_COLS " FROM txn_events WHERE kind = 'refused' "
	    "AND (?1 = '' OR (cn >= ?1 AND cn < ?2)) AND at >= ?3 "
	    "AND at < ?4 AND id < ?5 ORDER BY id DESC LIMIT ?6",
	    texts, 2, ints, 4, fn, arg, err);
	free(end);
	return rc;
}

/* Runs one DELETE of sq_event_prune(). 0, or -1 with err set. */
static int
prune_exec(struct db *db, const char *sql, struct gw_err *err)
{
	if (sqlite3_exec(db_sq(db)->h, sql, NULL, NULL, NULL) != SQLITE_OK) {
		db_err_sql(db, err, "event prune");
		return -1;
	}
	return 0;
}

/* db_event_prune(): by age, then by count, in one transaction. */
int
sq_event_prune(struct db *db, int64_t before, int64_t keep, int64_t *n,
    struct gw_err *err)
{
	char sql[256];
	int rc = -1;

	*n = 0;
	db_lock(db);
	if (db_begin(db, err) != 0)
		goto out;
	snprintf(sql, sizeof(sql),
	    "DELETE FROM txn_events WHERE kind = 'refused' AND at < %lld",
	    (long long)before);
	if (prune_exec(db, sql, err) != 0)
		goto undo;
	*n = sqlite3_changes(db_sq(db)->h);
	if (keep > 0) {
		snprintf(sql, sizeof(sql),
		    "DELETE FROM txn_events WHERE kind = 'refused' AND id <= "
		    "(SELECT id FROM txn_events WHERE kind = 'refused' "
		    "ORDER BY id DESC LIMIT 1 OFFSET %lld)",
		    (long long)keep);
		if (prune_exec(db, sql, err) != 0)
			goto undo;
		*n += sqlite3_changes(db_sq(db)->h);
	}
	rc = db_commit(db, err);
	goto out;
undo:
	db_rollback(db);
out:
	db_unlock(db);
	return rc;
}
