/*
 * Enrollment transactions, the state machine of README "How an enrollment
 * works": ORDERING (challenge consumed, order may be in flight), then
 * ISSUED or FAILED. db_txn_start() consumes the challenge and records the
 * transaction in one SQLite transaction, so a challenge is used exactly
 * once and a retried request never orders twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "gw_err.h"
#include "secure.h"
#include "db.h"
#include "db_int.h"

/* Frees what a transaction holds and zeroes it; accepts NULL. */
void
db_txn_cleanup(struct db_txn *t)
{
	if (t == NULL)
		return;
	free(t->txid);
	free(t->cn);
	free(t->email);
	free(t->ou);
	free(t->csr_pem);
	free(t->order_id);
	free(t->cert_der);
	free(t->fail_text);
	free(t->profile);
	free(t->renews);
	free(t->upn);
	free(t->licence_pool);
	free(t->epki_message);
	memset(t, 0, sizeof(*t));
}

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
	    db_col_strdup(st, 21, &t->epki_message) != 0)
		return -1;
	t->epki_code = sqlite3_column_int(st, 20);
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

/*
 * Looks up the transaction with SCEP transactionID txid. *t is zeroed
 * first; when found it holds malloc'd copies the caller frees with
 * db_txn_cleanup(). Returns 0 found, 1 not found, -1 error (err set).
 */
int
db_txn_get(struct db *db, const char *txid, struct db_txn *t,
    struct gw_err *err)
{
	int rc;

	memset(t, 0, sizeof(*t));
	db_lock(db);
	rc = txn_load(db, txid, t, err);
	db_unlock(db);
	return rc;
}

/* The challenge row db_txn_start() checks. */
struct txn_challenge {
	int64_t id;
	int64_t expires;
	int64_t used;
	bool revoked;
	char *cn;
	char *email;
	char *ou;
	char *profile;
	char *upn;
};

/* Frees the strings of a challenge lookup. */
static void
txn_challenge_cleanup(struct txn_challenge *c)
{
	free(c->cn);
	free(c->email);
	free(c->ou);
	free(c->profile);
	free(c->upn);
	memset(c, 0, sizeof(*c));
}

/* Looks a challenge up by hash. Returns 0 found, 1 unknown, -1 error. */
static int
txn_challenge_find(struct db *db, const uint8_t *hash, struct txn_challenge *c,
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
		txn_challenge_cleanup(c);
		gw_err_set(err, DB_ERR_SQL, "challenge find: out of memory");
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

/* Why a found challenge cannot be used at now, or DB_START_OK. */
static enum db_start
txn_challenge_check(const struct txn_challenge *c, int64_t now)
{
	if (c->revoked)
		return DB_START_CHALLENGE_REVOKED;
	if (c->used != 0)
		return DB_START_CHALLENGE_USED;
	if (c->expires <= now)
		return DB_START_CHALLENGE_EXPIRED;
	return DB_START_OK;
}

/*
 * Looks a challenge up by hash without consuming it, so the caller can
 * decide the identity first (README "Identity templates": a bad template
 * must not burn a challenge). Returns 0 with *c filled (id, expiry, state,
 * binding; the caller frees it with db_challenge_cleanup()) and *res
 * telling whether it is usable at now, 1 when unknown, or -1 on error.
 */
int
db_challenge_peek(struct db *db, const uint8_t hash[32], int64_t now,
    struct db_challenge *c, enum db_start *res, struct gw_err *err)
{
	struct txn_challenge tc;
	int rc;

	memset(c, 0, sizeof(*c));
	*res = DB_START_CHALLENGE_BAD;
	db_lock(db);
	rc = txn_challenge_find(db, hash, &tc, err);
	db_unlock(db);
	if (rc != 0)
		return rc;
	*res = txn_challenge_check(&tc, now);
	c->id = tc.id;
	c->expires = tc.expires;
	c->used = tc.used;
	c->revoked = tc.revoked;
	c->cn = tc.cn;
	c->email = tc.email;
	c->ou = tc.ou;
	c->profile = tc.profile;
	c->upn = tc.upn;
	return 0;
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
	if (sqlite3_changes(db->h) != 1) {
		gw_err_set(err, DB_ERR_STATE, "challenge take: already used");
		return -1;
	}
	return 0;
}

/* Inserts the ORDERING row; c is the consumed challenge or NULL. */
static int
txn_insert(struct db *db, const struct db_txn_new *n,
    const struct txn_challenge *c, struct gw_err *err)
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
	struct txn_challenge c;
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
				    txn_challenge_check(&c, n->now);
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
	txn_challenge_cleanup(&c);
	return rc;
}

struct txn_start_args {
	const struct db_txn_new *n;
	enum db_start *res;
	struct db_txn *t;
};

/* db_txn_start() as a batched write: nothing is kept unless the challenge
 * was consumed and the transaction recorded. */
static int
txn_start_write(struct db *db, void *arg, struct gw_err *err)
{
	struct txn_start_args *a = arg;

	if (txn_start_locked(db, a->n, a->res, a->t, err) != 0)
		return -1;
	return *a->res == DB_START_OK ? DB_WRITE_KEEP : DB_WRITE_UNDO;
}

/*
 * README "How an enrollment works" steps 3-4, atomically: if n->txid is
 * known, *res = DB_START_EXISTS and *t holds it (the caller compares
 * csr_sha256).
 * Otherwise a renewal (n->renews set) must renew a certificate that has
 * no ORDERING or ISSUED successor yet (else DB_START_RENEWED), and the
 * challenge (if n->challenge_sha256 is set) must be known, unrevoked,
 * unused and unexpired, else *res names why; nothing is written then. Then the
 * challenge is marked used and the transaction recorded as ORDERING (*res =
 * DB_START_OK, *t filled). *t is zeroed first; the caller frees it with
 * db_txn_cleanup(). Returns 0 (see *res) or -1.
 */
int
db_txn_start(struct db *db, const struct db_txn_new *n, enum db_start *res,
    struct db_txn *t, struct gw_err *err)
{
	struct txn_start_args a = { n, res, t };

	memset(t, 0, sizeof(*t));
	*res = DB_START__MAX;
	if (n->txid == NULL || n->txid[0] == '\0' || n->csr_sha256 == NULL ||
	    n->now <= 0) {
		gw_err_set(err, DB_ERR_ARG, "txn start: bad arguments");
		return -1;
	}
	if (db_write_run(db, txn_start_write, &a, err) == -1) {
		db_txn_cleanup(t);
		*res = DB_START__MAX;
		return -1;
	}
	return 0;
}

/* A db_txn_start_submit() in flight. */
struct txn_start_job {
	struct db_write w; /* first: the completion gets &w */
	struct txn_start_args a;
	enum db_start res;
	struct db_txn t;
	db_start_fn *done;
	void *arg;
};

static void
txn_start_job_done(struct db_write *w, int rc, const struct gw_err *err)
{
	struct txn_start_job *q = (struct txn_start_job *)(void *)w;

	if (rc == -1) {
		/* Whatever the write read was rolled back with the batch. */
		db_txn_cleanup(&q->t);
		memset(&q->t, 0, sizeof(q->t));
		q->res = DB_START__MAX;
	}
	q->done(q->arg, rc == -1 ? -1 : 0, q->res, &q->t, err);
	db_txn_cleanup(&q->t);
	free(q);
}

/*
 * db_txn_start() without waiting for another thread's commit: the write
 * joins the next group commit, and done(arg, rc, res, t, err) runs on the
 * thread that commits it (the database's writer thread as a rule; never
 * this one before returning), after the commit: rc 0 with res and t as
 * db_txn_start() sets them (t is borrowed for the call), or -1 with err. n and
 * everything it points to must stay valid until done runs. Returns 0, or -1
 * with err (bad arguments, out of memory) when done will never run.
 */
int
db_txn_start_submit(struct db *db, const struct db_txn_new *n,
    db_start_fn *done, void *arg, struct gw_err *err)
{
	struct txn_start_job *q;

	if (n->txid == NULL || n->txid[0] == '\0' || n->csr_sha256 == NULL ||
	    n->now <= 0 || done == NULL) {
		gw_err_set(err, DB_ERR_ARG, "txn start: bad arguments");
		return -1;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		gw_err_set(err, DB_ERR_SQL, "txn start: out of memory");
		return -1;
	}
	q->res = DB_START__MAX;
	q->a.n = n;
	q->a.res = &q->res;
	q->a.t = &q->t;
	q->done = done;
	q->arg = arg;
	q->w.fn = txn_start_write;
	q->w.arg = &q->a;
	q->w.done = txn_start_job_done;
	if (db_write_submit(db, &q->w, err) != 0) {
		free(q);
		return -1;
	}
	return 0;
}
