/*
 * Enrollment transactions on SQLite, the state machine of README "How an
 * enrollment works": ORDERING (challenge consumed, order may be in
 * flight), then ISSUED or FAILED. The DB_W_START write consumes the
 * challenge and records the transaction in one SQLite transaction
 * (BEGIN IMMEDIATE, db_sq_batch.c), so a challenge is used exactly once
 * and a retried request never orders twice.
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

/* Reads a row of DB_TXN_COLS into *t. Returns 0 or -1 (no memory). */
int
db_txn_row_read(sqlite3_stmt *st, struct db_txn *t)
{
	const void *h;

	memset(t, 0, sizeof(*t));
	t->id = sqlite3_column_int64(st, 0);
	h = sqlite3_column_blob(st, 2);
	if (h != NULL && sqlite3_column_bytes(st, 2) == 32)
		memcpy(t->csr_sha256, h, 32);
	t->state = (enum db_txn_state)sqlite3_column_int(st, 3);
	t->created = sqlite3_column_int64(st, 4);
	t->updated = sqlite3_column_int64(st, 5);
	t->challenge_id = sqlite3_column_int64(st, 6);
	t->fail_info = sqlite3_column_int(st, 13);
	h = sqlite3_column_blob(st, 16);
	if (h != NULL && sqlite3_column_bytes(st, 16) == 32) {
		memcpy(t->key_sha256, h, 32);
		t->has_key = true;
	}
	if (db_col_strdup(st, 1, &t->txid) != 0 ||
	    db_col_strdup(st, 7, &t->cn) != 0 ||
	    db_col_strdup(st, 8, &t->email) != 0 ||
	    db_col_strdup(st, 9, &t->ou) != 0 ||
	    db_col_strdup(st, 10, &t->csr_pem) != 0 ||
	    db_col_strdup(st, 11, &t->order_id) != 0 ||
	    db_col_blobdup(st, 12, &t->cert_der, &t->cert_len) != 0 ||
	    db_col_strdup(st, 14, &t->fail_text) != 0 ||
	    db_col_strdup(st, 15, &t->profile) != 0 ||
	    db_col_strdup(st, 17, &t->renews) != 0 ||
	    db_col_strdup(st, 18, &t->upn) != 0 ||
	    db_col_strdup(st, 19, &t->licence_pool) != 0 ||
	    db_col_strdup(st, 21, &t->epki_message) != 0 ||
	    db_col_blobdup(st, 25, &t->intune_csr, &t->intune_csr_len) != 0)
		return -1;
	t->intune = sqlite3_column_int(st, 24);
	t->intune_claim = sqlite3_column_int64(st, 26);
	t->epki_code = sqlite3_column_int(st, 20);
	t->owner = sqlite3_column_int64(st, 22);
	t->taken_at = sqlite3_column_int64(st, 23);
	return 0;
}

/*
 * Loads the transaction txid into *t; the caller holds the mutex.
 * Returns 0 found, 1 not found, -1 error.
 */
static int
txn_load(struct db *db, const char *txid, struct db_txn *t, struct gw_err *err)
{
	sqlite3_stmt *st;
	int rc;

	rc = db_stmt_find(db, DB_ST_TX_GET, txid, "txn get", &st, err);
	if (rc == 0 && db_txn_row_read(st, t) != 0) {
		db_txn_cleanup(t);
		gw_err_set(err, DB_ERR_SQL, "txn get: out of memory");
		rc = -1;
	}
	db_stmt_done(st);
	return rc;
}

/* db_txn_get(): 0 found, 1 not found, -1 error (err set). */
int
sq_txn_get(struct db *db, const char *txid, struct db_txn *t,
    struct gw_err *err)
{
	int rc;

	memset(t, 0, sizeof(*t));
	db_lock(db);
	rc = txn_load(db, txid, t, err);
	db_unlock(db);
	return rc;
}

/* db_txn_find_csr(): 0 found, 1 none, -1 error (err set). */
int
sq_txn_find_csr(struct db *db, const uint8_t csr_sha256[32], char *txid,
    size_t n, struct gw_err *err)
{
	sqlite3_stmt *st = NULL;
	int s, rc = -1;

	db_lock(db);
	if (sqlite3_prepare_v2(db_sq(db)->h,
		"SELECT txid FROM transactions WHERE csr_sha256 = ?1 "
		"AND state <> ?2 LIMIT 1",
		-1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 1, csr_sha256, 32, SQLITE_TRANSIENT) !=
		SQLITE_OK ||
	    sqlite3_bind_int(st, 2, DB_TXN_FAILED) != SQLITE_OK) {
		db_err_sql(db, err, "txn find csr");
		goto out;
	}
	if ((s = sqlite3_step(st)) == SQLITE_DONE)
		rc = 1;
	else if (s != SQLITE_ROW)
		db_err_sql(db, err, "txn find csr");
	else {
		snprintf(txid, n, "%s",
		    (const char *)sqlite3_column_text(st, 0) != NULL ?
			(const char *)sqlite3_column_text(st, 0) :
			"");
		rc = 0;
	}
out:
	sqlite3_finalize(st);
	db_unlock(db);
	return rc;
}

/* Looks a challenge up by hash. Returns 0 found, 1 unknown, -1 error. */
static int
txn_challenge_find(struct db *db, const uint8_t *hash, struct db_challenge *c,
    struct gw_err *err)
{
	sqlite3_stmt *st = db_stmt(db, DB_ST_CH_FIND);
	int s, rc = -1;

	memset(c, 0, sizeof(*c));
	if (sqlite3_bind_blob(st, 1, hash, 32, SQLITE_TRANSIENT) != SQLITE_OK) {
		db_err_sql(db, err, "challenge find");
		goto out;
	}
	if ((s = sqlite3_step(st)) == SQLITE_DONE) {
		rc = 1;
		goto out;
	}
	if (s != SQLITE_ROW) {
		db_err_sql(db, err, "challenge find");
		goto out;
	}
	c->id = sqlite3_column_int64(st, 0);
	c->expires = sqlite3_column_int64(st, 1);
	c->used = sqlite3_column_int64(st, 2);
	c->revoked = sqlite3_column_int(st, 3) != 0;
	if (db_col_strdup(st, 4, &c->cn) != 0 ||
	    db_col_strdup(st, 5, &c->email) != 0 ||
	    db_col_strdup(st, 6, &c->ou) != 0 ||
	    db_col_strdup(st, 7, &c->profile) != 0 ||
	    db_col_strdup(st, 8, &c->upn) != 0) {
		db_challenge_cleanup(c);
		gw_err_set(err, DB_ERR_SQL, "challenge find: out of memory");
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

/*
 * db_challenge_peek(): looks a challenge up by hash without consuming it.
 * Returns 0 with *c filled, 1 when unknown, -1 on error.
 */
int
sq_challenge_find(struct db *db, const uint8_t hash[32], struct db_challenge *c,
    struct gw_err *err)
{
	int rc;

	db_lock(db);
	rc = txn_challenge_find(db, hash, c, err);
	db_unlock(db);
	return rc;
}

/* Marks challenge id used by txid at now. */
static int
txn_challenge_take(struct db *db, int64_t id, const struct db_txn_new *n,
    struct gw_err *err)
{
	sqlite3_stmt *st = db_stmt(db, DB_ST_CH_TAKE);

	if (sqlite3_bind_int64(st, 1, n->now) != SQLITE_OK ||
	    db_bind_text(st, 2, n->txid) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, id) != SQLITE_OK) {
		db_err_sql(db, err, "challenge take");
		db_stmt_done(st);
		return -1;
	}
	if (db_step_done(db, st, "challenge take", err) != 0)
		return -1;
	/* BEGIN IMMEDIATE makes this impossible; check it all the same. */
	if (sqlite3_changes(db_sq(db)->h) != 1) {
		gw_err_set(err, DB_ERR_STATE, "challenge take: already used");
		return -1;
	}
	return 0;
}

/* Inserts the ORDERING row; c is the consumed challenge or NULL. */
static int
txn_insert(struct db *db, const struct db_txn_new *n,
    const struct db_challenge *c, struct gw_err *err)
{
	sqlite3_stmt *st = db_stmt(db, DB_ST_TX_PUT);
	const char *cn = n->csr_cn, *email = n->csr_email, *ou = n->csr_ou;
	const char *upn = n->upn;
	int b;

	/* A challenge's binding wins over what the CSR asks for. */
	if (c != NULL && !n->identity_final) {
		cn = c->cn != NULL ? c->cn : cn;
		email = c->email != NULL ? c->email : email;
		ou = c->ou != NULL ? c->ou : ou;
		upn = c->upn != NULL ? c->upn : upn;
	}
	b = db_bind_text(st, 1, n->txid);
	if (b == SQLITE_OK)
		b = sqlite3_bind_blob(st, 2, n->csr_sha256, 32,
		    SQLITE_TRANSIENT);
	if (b == SQLITE_OK)
		b = sqlite3_bind_int64(st, 3, n->now);
	if (b == SQLITE_OK)
		b = c != NULL ? sqlite3_bind_int64(st, 4, c->id) :
				sqlite3_bind_null(st, 4);
	if (b == SQLITE_OK)
		b = db_bind_text(st, 5, cn);
	if (b == SQLITE_OK)
		b = db_bind_text(st, 6, email);
	if (b == SQLITE_OK)
		b = db_bind_text(st, 7, ou);
	if (b == SQLITE_OK)
		b = db_bind_text(st, 8, n->csr_pem);
	if (b == SQLITE_OK)
		b = db_bind_text(st, 9, n->profile);
	if (b == SQLITE_OK)
		b = n->key_sha256 != NULL ?
		    sqlite3_bind_blob(st, 10, n->key_sha256, 32,
			SQLITE_TRANSIENT) :
		    sqlite3_bind_null(st, 10);
	if (b == SQLITE_OK)
		b = db_bind_text(st, 11, n->renews);
	if (b == SQLITE_OK)
		b = db_bind_text(st, 12, upn);
	if (b == SQLITE_OK)
		b = db_bind_text(st, 13, n->licence_pool);
	/* The incarnation that may order it (db/README.md "Leases"). */
	if (b == SQLITE_OK)
		b = atomic_load(&db->node) != 0 ?
		    sqlite3_bind_int64(st, 14, atomic_load(&db->node)) :
		    sqlite3_bind_null(st, 14);
	/* Validated by Intune: the CSR its notification will carry. */
	if (b == SQLITE_OK)
		b = sqlite3_bind_int(st, 15,
		    n->intune_csr != NULL ? DB_INTUNE_VALIDATED :
					    DB_INTUNE_NONE);
	if (b == SQLITE_OK)
		b = n->intune_csr != NULL ?
		    sqlite3_bind_blob(st, 16, n->intune_csr,
			(int)n->intune_csr_len, SQLITE_TRANSIENT) :
		    sqlite3_bind_null(st, 16);
	if (b != SQLITE_OK) {
		db_err_sql(db, err, "txn insert");
		db_stmt_done(st);
		return -1;
	}
	return db_step_done(db, st, "txn insert", err);
}

/*
 * Whether the certificate serial_hex has a live successor: a transaction
 * renewing it that is ORDERING or ISSUED (a FAILED one does not count).
 * The caller holds the mutex. Returns 0 yes, 1 no, -1 error.
 */
static int
txn_successor(struct db *db, const char *serial_hex, struct gw_err *err)
{
	sqlite3_stmt *st;
	int rc;

	rc = db_stmt_find(db, DB_ST_TX_SUCCESSOR, serial_hex, "txn successor",
	    &st, err);
	db_stmt_done(st);
	return rc;
}

/*
 * The body of db_txn_start(), inside BEGIN IMMEDIATE. Sets *res; writes
 * only when *res is DB_START_OK. Returns 0 or -1.
 */
static int
txn_start_locked(struct db *db, const struct db_txn_new *n, enum db_start *res,
    struct db_txn *t, struct gw_err *err)
{
	struct db_challenge c;
	int found, rc = -1;

	memset(&c, 0, sizeof(c));
	/* README "How an enrollment works" 3: a known txid is a retry. */
	found = txn_load(db, n->txid, t, err);
	if (found < 0)
		goto out;
	if (found == 0) {
		*res = DB_START_EXISTS;
		rc = 0;
		goto out;
	}
	/*
	 * A certificate is renewed once: checked here, in the write that
	 * records the renewal, so two renewals signed by the same
	 * certificate cannot both start an order.
	 */
	if (n->renews != NULL) {
		found = txn_successor(db, n->renews, err);
		if (found < 0)
			goto out;
		if (found == 0) {
			*res = DB_START_RENEWED;
			rc = 0;
			goto out;
		}
	}
	/* Step 3: consume the challenge and record the order, atomically. */
	if (n->challenge_sha256 != NULL) {
		found = txn_challenge_find(db, n->challenge_sha256, &c, err);
		if (found < 0)
			goto out;
		*res = found == 1 ? DB_START_CHALLENGE_BAD :
				    db_challenge_check(&c, n->now);
		if (*res != DB_START_OK) {
			rc = 0;
			goto out;
		}
		if (txn_challenge_take(db, c.id, n, err) != 0)
			goto out;
	}
	if (txn_insert(db, n, n->challenge_sha256 != NULL ? &c : NULL, err) !=
	    0)
		goto out;
	if (txn_load(db, n->txid, t, err) != 0)
		goto out;
	*res = DB_START_OK;
	rc = 0;
out:
	db_challenge_cleanup(&c);
	return rc;
}

/* The DB_W_START write: nothing is kept unless the challenge was consumed
 * and the transaction recorded. */
int
sq_txn_start_write(struct db *db, struct db_w_start *a, struct gw_err *err)
{
	if (txn_start_locked(db, a->n, &a->res, &a->t, err) != 0)
		return -1;
	return a->res == DB_START_OK ? DB_WRITE_KEEP : DB_WRITE_UNDO;
}
