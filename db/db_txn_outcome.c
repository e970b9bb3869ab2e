/*
 * The end of an enrollment transaction: its OrderID once GlobalSign has
 * one, then ISSUED (with the certificate, in one SQLite transaction) or
 * FAILED; the unfinished ones for the reconciler, and the archive of an
 * ended one a new request replaces. The start is db_txn.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "gw_err.h"
#include "secure.h"
#include "db.h"
#include "db_int.h"

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
	if (sqlite3_changes(db->h) != 1) {
		gw_err_set(err, DB_ERR_STATE,
		    "%s: transaction %s is unknown or no longer ordering", what,
		    txid);
		return -1;
	}
	return 0;
}

/* The arguments of the three state updates, as batched writes. */
struct txn_update {
	const char *txid;
	const char *order_id; /* set order, set issued (may be NULL) */
	const uint8_t *der;   /* set issued */
	size_t len;
	const char *serial_hex;
	int64_t not_after;
	const char *subject;
	int fail_info; /* set failed */
	const char *fail_text;
	int epki_code; /* set failed: GlobalSign's ErrorCode, or 0 */
	const char *epki_message;
	int64_t now;
};

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

static int
txn_order_write(struct db *db, void *arg, struct gw_err *err)
{
	const struct txn_update *u = arg;
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

/*
 * Records the upstream OrderID of an ORDERING transaction as soon as it is
 * known (README "How an enrollment works" 5), so the reconciler can query
 * before it ever re-orders. Returns 0, or -1 with err set (DB_ERR_STATE
 * when the transaction is unknown or no longer ORDERING).
 */
int
db_txn_set_order(struct db *db, const char *txid, const char *order_id,
    int64_t now, struct gw_err *err)
{
	struct txn_update u = { .txid = txid,
		.order_id = order_id,
		.now = now };

	return db_write_run(db, txn_order_write, &u, err) == -1 ? -1 : 0;
}

/* Inserts the certificate row of db_txn_set_issued(). */
static int
txn_cert_insert(struct db *db, const struct txn_update *u, struct gw_err *err)
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

/* Moves the transaction to ISSUED and inserts its certificate row. */
static int
txn_issued_write(struct db *db, void *arg, struct gw_err *err)
{
	const struct txn_update *u = arg;
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

/* Checks the arguments of db_txn_set_issued() and _submit(). */
static int
txn_issued_check(const struct txn_update *u, struct gw_err *err)
{
	if (u->txid == NULL || u->der == NULL || u->len == 0 ||
	    u->serial_hex == NULL) {
		gw_err_set(err, DB_ERR_ARG, "txn set issued: bad arguments");
		return -1;
	}
	return 0;
}

/*
 * Stores an issued certificate: the certificates row and the transaction's
 * move to ISSUED (cert_der, order_id when not NULL) in one SQLite
 * transaction. The CSR is dropped then: the order is final. Returns 0, or
 * -1 with err set and nothing written (DB_ERR_STATE when the transaction
 * is unknown or no longer ORDERING).
 */
int
db_txn_set_issued(struct db *db, const char *txid, const char *order_id,
    const uint8_t *der, size_t len, const char *serial_hex, int64_t not_after,
    const char *subject, int64_t now, struct gw_err *err)
{
	struct txn_update u = { .txid = txid,
		.order_id = order_id,
		.der = der,
		.len = len,
		.serial_hex = serial_hex,
		.not_after = not_after,
		.subject = subject,
		.now = now };

	if (txn_issued_check(&u, err) != 0)
		return -1;
	return db_write_run(db, txn_issued_write, &u, err) == -1 ? -1 : 0;
}

/* A queued db_txn_set_issued_submit(): owns copies of its arguments. */
struct txn_issued_job {
	struct db_write w; /* first: the completion gets &w */
	struct txn_update u;
	db_done_fn *done;
	void *arg;
	char *txid, *order_id, *serial_hex, *subject;
	uint8_t *der;
};

static void
txn_issued_job_free(struct txn_issued_job *q)
{
	if (q == NULL)
		return;
	free(q->txid);
	free(q->order_id);
	free(q->serial_hex);
	free(q->subject);
	free(q->der);
	free(q);
}

static void
txn_issued_job_done(struct db_write *w, int rc, const struct gw_err *err)
{
	struct txn_issued_job *q = (struct txn_issued_job *)(void *)w;

	q->done(q->arg, rc == -1 ? -1 : 0, err);
	txn_issued_job_free(q);
}

/* Copies s (NULL stays NULL) into *out. Returns 0, or -1 out of memory. */
static int
txn_strdup(const char *s, char **out)
{
	*out = NULL;
	if (s == NULL)
		return 0;
	*out = gw_strdup(s);
	return *out == NULL ? -1 : 0;
}

/*
 * db_txn_set_issued() without waiting: the arguments are copied, the
 * write joins the next group commit, and done(arg, rc, err) runs on the
 * thread that commits it (as for db_txn_start_submit()), after it (rc 0:
 * committed; -1: nothing written). Returns 0 when queued, or -1 with err set
 * and done never called.
 */
int
db_txn_set_issued_submit(struct db *db, const char *txid, const char *order_id,
    const uint8_t *der, size_t len, const char *serial_hex, int64_t not_after,
    const char *subject, int64_t now, db_done_fn *done, void *arg,
    struct gw_err *err)
{
	struct txn_update u = { .txid = txid,
		.order_id = order_id,
		.der = der,
		.len = len,
		.serial_hex = serial_hex,
		.not_after = not_after,
		.subject = subject,
		.now = now };
	struct txn_issued_job *q;

	if (txn_issued_check(&u, err) != 0)
		return -1;
	if ((q = calloc(1, sizeof(*q))) == NULL ||
	    txn_strdup(txid, &q->txid) != 0 ||
	    txn_strdup(order_id, &q->order_id) != 0 ||
	    txn_strdup(serial_hex, &q->serial_hex) != 0 ||
	    txn_strdup(subject, &q->subject) != 0 ||
	    (q->der = malloc(len)) == NULL) {
		txn_issued_job_free(q);
		gw_err_set(err, DB_ERR_SQL, "txn set issued: out of memory");
		return -1;
	}
	memcpy(q->der, der, len);
	q->u = u;
	q->u.txid = q->txid;
	q->u.order_id = q->order_id;
	q->u.serial_hex = q->serial_hex;
	q->u.subject = q->subject;
	q->u.der = q->der;
	q->done = done;
	q->arg = arg;
	q->w.fn = txn_issued_write;
	q->w.arg = &q->u;
	q->w.done = txn_issued_job_done;
	if (db_write_submit(db, &q->w, err) != 0) {
		txn_issued_job_free(q);
		return -1;
	}
	return 0;
}

static int
txn_failed_write(struct db *db, void *arg, struct gw_err *err)
{
	const struct txn_update *u = arg;
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

/*
 * Moves an ORDERING transaction to FAILED with the failInfo (enum
 * scep_fail) and short text a retry will be answered with. Returns 0, or
 * -1 with err set (DB_ERR_STATE when unknown or no longer ORDERING).
 */
int
db_txn_set_failed(struct db *db, const char *txid, int fail_info,
    const char *fail_text, int64_t now, struct gw_err *err)
{
	return db_txn_set_failed_epki(db, txid, fail_info, fail_text, 0, NULL,
	    now, err);
}

/*
 * db_txn_set_failed() for an order GlobalSign refused: also keeps its
 * ErrorCode (0: none) and ErrorMessage (may be NULL) for the admin API and
 * `scepgw check`.
 */
int
db_txn_set_failed_epki(struct db *db, const char *txid, int fail_info,
    const char *fail_text, int epki_code, const char *epki_message, int64_t now,
    struct gw_err *err)
{
	struct txn_update u = { .txid = txid,
		.fail_info = fail_info,
		.fail_text = fail_text,
		.epki_code = epki_code,
		.epki_message = epki_message,
		.now = now };

	return db_write_run(db, txn_failed_write, &u, err) == -1 ? -1 : 0;
}

/*
 * The licences counted against pool (README "Licences") into *used: 0
 * when none yet. Returns 0, or -1 with err set.
 */
int
db_licence_used(struct db *db, const char *pool, int64_t *used,
    struct gw_err *err)
{
	sqlite3_stmt *st;
	int rc = -1, s;

	*used = 0;
	db_lock(db);
	st = db_stmt(db, DB_ST_LIC_USED);
	if (db_bind_text(st, 1, pool) != SQLITE_OK) {
		db_err_sql(db, err, "licence used");
		goto out;
	}
	if ((s = sqlite3_step(st)) == SQLITE_ROW)
		*used = sqlite3_column_int64(st, 0);
	if (s != SQLITE_ROW && s != SQLITE_DONE) {
		db_err_sql(db, err, "licence used");
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	db_unlock(db);
	return rc;
}

/*
 * The newest transaction GlobalSign refused with ErrorCode code: when
 * (*when, unix seconds; 0 with *message NULL when there is none) and its
 * ErrorMessage (*message, the caller frees). Returns 0, or -1 with err set.
 */
int
db_licence_last_error(struct db *db, int code, int64_t *when, char **message,
    struct gw_err *err)
{
	sqlite3_stmt *st;
	int rc = -1, s;

	*when = 0;
	*message = NULL;
	db_lock(db);
	st = db_stmt(db, DB_ST_LIC_LAST_ERROR);
	if (sqlite3_bind_int(st, 1, code) != SQLITE_OK) {
		db_err_sql(db, err, "licence error");
		goto out;
	}
	if ((s = sqlite3_step(st)) == SQLITE_ROW) {
		*when = sqlite3_column_int64(st, 0);
		if (db_col_strdup(st, 1, message) != 0) {
			gw_err_set(err, DB_ERR_SQL,
			    "licence error: out of memory");
			goto out;
		}
	} else if (s != SQLITE_DONE) {
		db_err_sql(db, err, "licence error");
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	db_unlock(db);
	return rc;
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
 * Calls fn for every ORDERING transaction, oldest first, until fn returns
 * non-zero: the reconciler's work list. Rows are read first and fn runs
 * without the lock, so it may call db_txn_set_*(). Returns 0 (also when
 * fn stopped early), or -1 with err set.
 */
int
db_txn_list_unfinished(struct db *db, db_txn_fn *fn, void *arg,
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
 * Renames a finished transaction (ISSUED or FAILED) with the given row id
 * to "txid@id", together with its certificate, so that a new request may
 * use the transactionID without overwriting anything. Returns 0 when a
 * row was renamed, 1 when there was none to rename, -1 on error.
 */
int
db_txn_archive(struct db *db, const char *txid, int64_t id, struct gw_err *err)
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
	if (sqlite3_exec(db->h, "PRAGMA defer_foreign_keys = ON", NULL, NULL,
		NULL) != SQLITE_OK) {
		db_err_sql(db, err, "defer FK");
		goto err;
	}
	if (txn_rename_step(db, DB_ST_TX_RENAME, txid, new, err) == -1)
		goto err;
	changed = sqlite3_changes(db->h);
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
