/*
 * The end of an enrollment transaction on SQLite: its OrderID once
 * GlobalSign has one (DB_W_ORDER), then ISSUED (DB_W_ISSUED, with the
 * certificate, in one SQLite transaction) or FAILED (DB_W_FAILED); the
 * unfinished ones for the reconciler, and the archive of an ended one a
 * new request replaces. The start is db_sq_txn.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "gw_err.h"
#include "secure.h"
#include "db.h"
#include "db_int.h"
#include "db_sq_int.h"

/* Binds the common tail (now, txid) of the three state updates. */
static int
txn_bind_now_txid(sqlite3_stmt *st, int idx, int64_t now, const char *txid)
{
	int b;

	b = sqlite3_bind_int64(st, idx, now);
	if (b == SQLITE_OK)
		b = db_bind_text(st, idx + 1, txid);
	return b;
}

/* Steps a state update and checks that it hit an ORDERING row. */
static int
txn_update_step(struct db *db, sqlite3_stmt *st, const char *txid,
    const char *what, struct gw_err *err)
{
	if (db_step_done(db, st, what, err) != 0)
		return -1;
	if (sqlite3_changes(db_sq(db)->h) != 1) {
		gw_err_set(err, DB_ERR_STATE,
		    "%s: transaction %s is unknown or no longer ordering", what,
		    txid);
		return -1;
	}
	return 0;
}

/*
 * Counts the licence an order of txid spent (README "Licences"), in the
 * write that records its OrderID or certificate, before that write: only
 * while the transaction is ORDERING and has no OrderID yet, so a write
 * retried, or the certificate after the OrderID, does not count again.
 * One row per pool, used = used + 1, so several writers add up.
 */
static int
txn_licence_count(struct db *db, const char *txid, struct gw_err *err)
{
	sqlite3_stmt *st = db_stmt(db, DB_ST_LIC_COUNT);

	if (db_bind_text(st, 1, txid) != SQLITE_OK) {
		db_err_sql(db, err, "licence count");
		db_stmt_done(st);
		return -1;
	}
	return db_step_done(db, st, "licence count", err);
}

/* The DB_W_ORDER write: the OrderID of an ORDERING transaction. */
int
sq_txn_order_write(struct db *db, const struct db_w_update *u,
    struct gw_err *err)
{
	sqlite3_stmt *st;

	if (u->order_id != NULL && txn_licence_count(db, u->txid, err) != 0)
		return -1;
	st = db_stmt(db, DB_ST_TX_ORDER);
	if (db_bind_text(st, 1, u->order_id) != SQLITE_OK ||
	    txn_bind_now_txid(st, 2, u->now, u->txid) != SQLITE_OK) {
		db_err_sql(db, err, "txn set order");
		db_stmt_done(st);
		return -1;
	}
	return txn_update_step(db, st, u->txid, "txn set order", err);
}

/* Inserts the certificate row of db_txn_set_issued(). */
static int
txn_cert_insert(struct db *db, const struct db_w_update *u, struct gw_err *err)
{
	sqlite3_stmt *st = db_stmt(db, DB_ST_CERT_PUT);
	int b;

	b = db_bind_text(st, 1, u->serial_hex);
	if (b == SQLITE_OK)
		b = db_bind_text(st, 2, u->order_id);
	if (b == SQLITE_OK)
		b = db_bind_text(st, 3, u->txid);
	if (b == SQLITE_OK)
		b = db_bind_text(st, 4, u->subject);
	if (b == SQLITE_OK)
		b = sqlite3_bind_blob64(st, 5, u->der, u->len,
		    SQLITE_TRANSIENT);
	if (b == SQLITE_OK)
		b = sqlite3_bind_int64(st, 6, u->now);
	if (b == SQLITE_OK)
		b = sqlite3_bind_int64(st, 7, u->not_after);
	if (b != SQLITE_OK) {
		db_err_sql(db, err, "cert insert");
		db_stmt_done(st);
		return -1;
	}
	return db_step_done(db, st, "cert insert", err);
}

/* The DB_W_ISSUED write: moves the transaction to ISSUED and inserts its
 * certificate row. */
int
sq_txn_issued_write(struct db *db, const struct db_w_update *u,
    struct gw_err *err)
{
	sqlite3_stmt *st;

	if (txn_licence_count(db, u->txid, err) != 0)
		return -1;
	st = db_stmt(db, DB_ST_TX_ISSUED);
	if (db_bind_text(st, 1, u->order_id) != SQLITE_OK ||
	    sqlite3_bind_blob64(st, 2, u->der, u->len, SQLITE_TRANSIENT) !=
		SQLITE_OK ||
	    txn_bind_now_txid(st, 3, u->now, u->txid) != SQLITE_OK) {
		db_err_sql(db, err, "txn set issued");
		db_stmt_done(st);
		return -1;
	}
	if (txn_update_step(db, st, u->txid, "txn set issued", err) != 0)
		return -1;
	return txn_cert_insert(db, u, err);
}

/* The DB_W_FAILED write: an ORDERING transaction's final failure. */
int
sq_txn_failed_write(struct db *db, const struct db_w_update *u,
    struct gw_err *err)
{
	sqlite3_stmt *st = db_stmt(db, DB_ST_TX_FAILED);

	if (sqlite3_bind_int(st, 1, u->fail_info) != SQLITE_OK ||
	    db_bind_text(st, 2, u->fail_text) != SQLITE_OK ||
	    txn_bind_now_txid(st, 3, u->now, u->txid) != SQLITE_OK ||
	    (u->epki_code != 0 ? sqlite3_bind_int(st, 5, u->epki_code) :
				 sqlite3_bind_null(st, 5)) != SQLITE_OK ||
	    db_bind_text(st, 6, u->epki_message) != SQLITE_OK) {
		db_err_sql(db, err, "txn set failed");
		db_stmt_done(st);
		return -1;
	}
	return txn_update_step(db, st, u->txid, "txn set failed", err);
}

static void
txn_cleanup_fn(void *p)
{
	db_txn_cleanup(p);
}

static int
txn_read_fn(sqlite3_stmt *st, void *p)
{
	return db_txn_row_read(st, p);
}

/*
 * db_txn_list_unfinished(): every ORDERING transaction, oldest first.
 * Rows are read first and fn runs without the lock, so it may call
 * db_txn_set_*().
 */
int
sq_txn_list_unfinished(struct db *db, db_txn_fn *fn, void *arg,
    struct gw_err *err)
{
	struct db_rows r = { NULL, 0, 0, sizeof(struct db_txn),
		txn_cleanup_fn };
	size_t i;
	int rc;

	db_lock(db);
	rc = db_rows_load(db, db_stmt(db, DB_ST_TX_LIST), &r, txn_read_fn,
	    "txn list", err);
	db_unlock(db);
	for (i = 0; rc == 0 && i < r.n; i++)
		if (fn(arg, (struct db_txn *)(void *)(r.v + i * r.size)) != 0)
			break;
	db_rows_cleanup(&r);
	return rc;
}

/* Binds (old, new) and runs one of the two renaming statements. */
static int
txn_rename_step(struct db *db, enum db_stmt which, const char *old,
    const char *new, struct gw_err *err)
{
	sqlite3_stmt *st = db_stmt(db, which);

	if (db_bind_text(st, 1, old) != SQLITE_OK ||
	    db_bind_text(st, 2, new) != SQLITE_OK) {
		db_err_sql(db, err, "txn archive");
		db_stmt_done(st);
		return -1;
	}
	return db_step_done(db, st, "txn archive", err);
}

/*
 * db_txn_archive(): renames the transaction and its certificate in one
 * SQLite transaction, the foreign key checked at COMMIT.
 */
int
sq_txn_archive(struct db *db, const char *txid, int64_t id, struct gw_err *err)
{
	char *new = NULL;
	size_t len;
	int rc = -1, changed = 0;

	len = strlen(txid) + 24;
	if ((new = malloc(len)) == NULL) {
		gw_err_set(err, DB_ERR_SQL, "txn archive: out of memory");
		return -1;
	}
	snprintf(new, len, "%s@%lld", txid, (long long)id);
	db_lock(db);
	if (db_begin(db, err) == -1)
		goto out;
	/*
	 * certificates.txid references transactions.txid: check at COMMIT.
	 * A flag pragma acts when it is compiled, so it is not prepared once
	 * like the other statements but run each time.
	 */
	if (sqlite3_exec(db_sq(db)->h, "PRAGMA defer_foreign_keys = ON", NULL,
		NULL, NULL) != SQLITE_OK) {
		db_err_sql(db, err, "defer FK");
		goto err;
	}
	if (txn_rename_step(db, DB_ST_TX_RENAME, txid, new, err) == -1)
		goto err;
	changed = sqlite3_changes(db_sq(db)->h);
	if (txn_rename_step(db, DB_ST_CERT_RENAME, txid, new, err) == -1 ||
	    db_commit(db, err) == -1)
		goto err;
	rc = changed > 0 ? 0 : 1;
	goto out;
err:
	db_rollback(db);
out:
	db_unlock(db);
	free(new);
	return rc;
}

/*
 * db_txn_list_intune(): the final transactions Intune validated and has
 * not heard the outcome of (README "Microsoft Intune"), oldest first; fn
 * runs without the lock.
 */
int
sq_txn_list_intune(struct db *db, db_txn_fn *fn, void *arg, struct gw_err *err)
{
	struct db_rows r = { NULL, 0, 0, sizeof(struct db_txn),
		txn_cleanup_fn };
	size_t i;
	int rc;

	db_lock(db);
	rc = db_rows_load(db, db_stmt(db, DB_ST_TX_LIST_INTUNE), &r,
	    txn_read_fn, "txn list intune", err);
	db_unlock(db);
	for (i = 0; rc == 0 && i < r.n; i++)
		if (fn(arg, (struct db_txn *)(void *)(r.v + i * r.size)) != 0)
			break;
	db_rows_cleanup(&r);
	return rc;
}

/*
 * Runs the bound one-row write st under the lock (b: how its binding
 * went): 0 it changed a row, 1 none matched, -1 with err set.
 */
static int
step_changed(struct db *db, sqlite3_stmt *st, int b, const char *what,
    struct gw_err *err)
{
	int rc;

	if (b != SQLITE_OK) {
		db_err_sql(db, err, what);
		db_stmt_done(st);
		return -1;
	}
	rc = db_step_done(db, st, what, err);
	if (rc == 0 && sqlite3_changes(db_sq(db)->h) == 0)
		rc = 1;
	return rc;
}

/* db_txn_set_intune(): VALIDATED -> to in state need; 0, 1 (no such
 * row), or -1. One statement, so a commit of its own. */
int
sq_txn_set_intune(struct db *db, const char *txid, int to,
    enum db_txn_state need, int64_t now, struct gw_err *err)
{
	sqlite3_stmt *st;
	int b, rc;

	db_lock(db);
	st = db_stmt(db, DB_ST_TX_SET_INTUNE);
	b = db_bind_text(st, 1, txid);
	if (b == SQLITE_OK)
		b = sqlite3_bind_int(st, 2, to);
	if (b == SQLITE_OK)
		b = sqlite3_bind_int(st, 3, (int)need);
	if (b == SQLITE_OK)
		b = sqlite3_bind_int64(st, 4, now);
	rc = step_changed(db, st, b, "txn set intune", err);
	db_unlock(db);
	return rc;
}

/* db_txn_claim_intune() (hold_s >= 0) and db_txn_unclaim_intune() (-1):
 * 0 changed, 1 no such row, -1. */
int
sq_txn_claim_intune(struct db *db, const char *txid, int64_t now, int hold_s,
    struct gw_err *err)
{
	sqlite3_stmt *st;
	int b, rc;

	db_lock(db);
	if (hold_s >= 0) {
		st = db_stmt(db, DB_ST_TX_CLAIM_INTUNE);
		b = db_bind_text(st, 1, txid);
		if (b == SQLITE_OK)
			b = sqlite3_bind_int64(st, 2, now);
		if (b == SQLITE_OK)
			b = sqlite3_bind_int(st, 3, hold_s);
	} else {
		st = db_stmt(db, DB_ST_TX_UNCLAIM_INTUNE);
		b = db_bind_text(st, 1, txid);
	}
	rc = step_changed(db, st, b, "txn claim intune", err);
	db_unlock(db);
	return rc;
}
