/*
 * Incarnations and leases on SQLite (db/README.md "Leases"): the nodes
 * table, timed by the database's clock (DB_SQ_NOW); the takeover of the
 * ORDERING transactions a dead incarnation owned; an incarnation's own
 * work list. `scepgw serve` holds the file's serve lock (db_sq_lock.c),
 * so while a handle holds it no other incarnation can be alive: its
 * takeover is immediate. A handle without the lock (tests, two handles
 * in one process) takes over only from incarnations whose lease ran out,
 * as a backend shared by several gateways must.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "gw_err.h"
#include "secure.h"
#include "db.h"
#include "db_int.h"
#include "db_lease.h"
#include "db_sq_int.h"

/* db_node_register(): prunes long-dead incarnations, inserts a new one. */
int
sq_node_register(struct db *db, const char *name, int lease_s,
    const uint8_t cfg_sha256[32], const char *version, int64_t *node,
    struct gw_err *err)
{
	sqlite3_stmt *st;
	int rc = -1;

	db_lock(db);
	if (db_begin(db, err) != 0)
		goto out;
	if (db_step_done(db, db_stmt(db, DB_ST_NODE_PRUNE), "node prune",
		err) != 0)
		goto err;
	st = db_stmt(db, DB_ST_NODE_ADD);
	if (db_bind_text(st, 1, name) != SQLITE_OK ||
	    sqlite3_bind_int(st, 2, lease_s) != SQLITE_OK ||
	    (cfg_sha256 != NULL ?
		    sqlite3_bind_blob(st, 3, cfg_sha256, 32, SQLITE_TRANSIENT) :
		    sqlite3_bind_null(st, 3)) != SQLITE_OK ||
	    db_bind_text(st, 4, version) != SQLITE_OK) {
		db_err_sql(db, err, "node register");
		db_stmt_done(st);
		goto err;
	}
	if (db_step_done(db, st, "node register", err) != 0)
		goto err;
	*node = sqlite3_last_insert_rowid(db_sq(db)->h);
	if (db_commit(db, err) != 0)
		goto out;
	rc = 0;
	goto out;
err:
	db_rollback(db);
out:
	db_unlock(db);
	return rc;
}

/* Runs NODE_RENEW or NODE_RELEASE for node with seconds as ?2;
 * *changed: rows it hit. */
static int
node_update(struct db *db, enum db_stmt which, int64_t node, int seconds,
    int *changed, struct gw_err *err)
{
	sqlite3_stmt *st;
	int rc = -1;

	db_lock(db);
	st = db_stmt(db, which);
	if (sqlite3_bind_int64(st, 1, node) != SQLITE_OK ||
	    sqlite3_bind_int(st, 2, seconds) != SQLITE_OK) {
		db_err_sql(db, err, "node lease");
		db_stmt_done(st);
		goto out;
	}
	if (db_step_done(db, st, "node lease", err) != 0)
		goto out;
	*changed = sqlite3_changes(db_sq(db)->h);
	rc = 0;
out:
	db_unlock(db);
	return rc;
}

/* db_node_renew(): 0 renewed, 1 lost for good, -1 error. */
int
sq_node_renew(struct db *db, int64_t node, int lease_s, struct gw_err *err)
{
	int changed = 0;

	if (node_update(db, DB_ST_NODE_RENEW, node, lease_s, &changed, err) !=
	    0)
		return -1;
	return changed == 1 ? 0 : 1;
}

/* db_node_release(): ends node's lease M + 1 s in the past, so that a
 * peer's claim (lease_until < now - M) takes its rows at once. */
int
sq_node_release(struct db *db, int64_t node, struct gw_err *err)
{
	int changed = 0;

	return node_update(db, DB_ST_NODE_RELEASE, node, DB_LEASE_MARGIN_S + 1,
	    &changed, err);
}

static void
node_cleanup_fn(void *p)
{
	db_node_cleanup(p);
}

static int
node_read_fn(sqlite3_stmt *st, void *p)
{
	struct db_node *n = p;

	n->id = sqlite3_column_int64(st, 0);
	n->started_at = sqlite3_column_int64(st, 2);
	n->lease_until = sqlite3_column_int64(st, 3);
	n->now = sqlite3_column_int64(st, 5);
	if (db_col_strdup(st, 1, &n->name) != 0 ||
	    db_col_strdup(st, 4, &n->version) != 0)
		return -1;
	if ((n->has_order = sqlite3_column_bytes(st, 6) == 32))
		memcpy(n->order_sha256, sqlite3_column_blob(st, 6), 32);
	if ((n->has_ra = sqlite3_column_bytes(st, 7) == 32))
		memcpy(n->ra_sha256, sqlite3_column_blob(st, 7), 32);
	return 0;
}

/* db_node_list(): every kept incarnation, newest first. */
int
sq_node_list(struct db *db, db_node_fn *fn, void *arg, struct gw_err *err)
{
	struct db_rows r = { NULL, 0, 0, sizeof(struct db_node),
		node_cleanup_fn };
	size_t i;
	int rc;

	db_lock(db);
	rc = db_rows_load(db, db_stmt(db, DB_ST_NODE_LIST), &r, node_read_fn,
	    "node list", err);
	db_unlock(db);
	for (i = 0; rc == 0 && i < r.n; i++)
		if (fn(arg, (struct db_node *)(void *)(r.v + i * r.size)) != 0)
			break;
	db_rows_cleanup(&r);
	return rc;
}

/* Binds a 32-byte digest, or NULL. */
static int
bind_sha(sqlite3_stmt *st, int i, const uint8_t *sha)
{
	return sha != NULL ?
	    sqlite3_bind_blob(st, i, sha, 32, SQLITE_TRANSIENT) :
	    sqlite3_bind_null(st, i);
}

/* db_node_set_marks(). */
int
sq_node_set_marks(struct db *db, int64_t node, const uint8_t order_sha256[32],
    const uint8_t ra_sha256[32], struct gw_err *err)
{
	sqlite3_stmt *st;
	int rc = -1;

	db_lock(db);
	st = db_stmt(db, DB_ST_NODE_MARKS);
	if (sqlite3_bind_int64(st, 1, node) != SQLITE_OK ||
	    bind_sha(st, 2, order_sha256) != SQLITE_OK ||
	    bind_sha(st, 3, ra_sha256) != SQLITE_OK) {
		db_err_sql(db, err, "node marks");
		db_stmt_done(st);
		goto out;
	}
	if (db_step_done(db, st, "node marks", err) != 0)
		goto out;
	rc = 0;
out:
	db_unlock(db);
	return rc;
}

static void
txn_cleanup_fn(void *p)
{
	db_txn_cleanup(p);
}

/* An orphan's row: DB_TXN_COLS, then the database's clock. */
static int
orphan_read_fn(sqlite3_stmt *st, void *p)
{
	struct db_txn *t = p;

	if (db_txn_row_read(st, t) != 0)
		return -1;
	t->taken_from = t->owner;
	t->taken_at = sqlite3_column_int64(st, 27);
	return 0;
}

/* Sets the owner of the orphans in r to me; drops rows that went final
 * meanwhile (none can, under BEGIN IMMEDIATE, but the update says). */
static int
orphans_take(struct db *db, int64_t me, struct db_rows *r, struct gw_err *err)
{
	sqlite3_stmt *st = db_stmt(db, DB_ST_TX_CLAIM);
	struct db_txn *t;
	size_t i;

	for (i = 0; i < r->n; i++) {
		t = (struct db_txn *)(void *)(r->v + i * r->size);
		if (sqlite3_bind_int64(st, 1, me) != SQLITE_OK ||
		    sqlite3_bind_int64(st, 2, t->id) != SQLITE_OK ||
		    sqlite3_bind_int64(st, 3, t->taken_at) != SQLITE_OK) {
			db_err_sql(db, err, "txn claim");
			db_stmt_done(st);
			return -1;
		}
		if (db_step_done(db, st, "txn claim", err) != 0)
			return -1;
		if (sqlite3_changes(db_sq(db)->h) != 1) {
			gw_err_set(err, DB_ERR_STATE,
			    "txn claim: %s changed under the write lock",
			    t->txid);
			return -1;
		}
		t->owner = me;
	}
	return 0;
}

/*
 * db_txn_claim_orphans(): in one write transaction, up to max ORDERING
 * rows not owned by me whose owner is dead (or NULL) become mine, with
 * taken_at the database's now; fn runs for each after the commit. A
 * handle holding the serve lock treats every other incarnation as dead
 * (the lock proves it). Returns the count taken, or -1.
 */
int
sq_txn_claim_orphans(struct db *db, int64_t me, int margin_s, size_t max,
    db_txn_fn *fn, void *arg, struct gw_err *err)
{
	struct db_rows r = { NULL, 0, 0, sizeof(struct db_txn),
		txn_cleanup_fn };
	sqlite3_stmt *st;
	size_t i;
	int rc = -1;

	db_lock(db);
	if (db_begin(db, err) != 0)
		goto out;
	st = db_stmt(db, DB_ST_TX_ORPHANS);
	if (sqlite3_bind_int64(st, 1, me) != SQLITE_OK ||
	    sqlite3_bind_int(st, 2, margin_s) != SQLITE_OK ||
	    sqlite3_bind_int(st, 3, db_sq(db)->lock_fd != -1) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, max > 0 ? (int64_t)max : -1) !=
		SQLITE_OK) {
		db_err_sql(db, err, "txn orphans");
		db_stmt_done(st);
		goto err;
	}
	if (db_rows_load(db, st, &r, orphan_read_fn, "txn orphans", err) != 0 ||
	    orphans_take(db, me, &r, err) != 0)
		goto err;
	if (r.n == 0) {
		db_rollback(db); /* nothing written: no commit to sync */
		rc = 0;
		goto out;
	}
	if (db_commit(db, err) != 0)
		goto out;
	rc = 0;
	goto out;
err:
	db_rollback(db);
out:
	db_unlock(db);
	for (i = 0; rc == 0 && fn != NULL && i < r.n; i++)
		if (fn(arg, (struct db_txn *)(void *)(r.v + i * r.size)) != 0)
			break;
	if (rc == 0)
		rc = r.n > (size_t)0x7fffffff ? 0x7fffffff : (int)r.n;
	db_rows_cleanup(&r);
	return rc;
}

static int
txn_read_fn(sqlite3_stmt *st, void *p)
{
	return db_txn_row_read(st, p);
}

/* db_txn_list_owned(): node's ORDERING rows, oldest first. */
int
sq_txn_list_owned(struct db *db, int64_t node, db_txn_fn *fn, void *arg,
    struct gw_err *err)
{
	struct db_rows r = { NULL, 0, 0, sizeof(struct db_txn),
		txn_cleanup_fn };
	sqlite3_stmt *st;
	size_t i;
	int rc = -1;

	db_lock(db);
	st = db_stmt(db, DB_ST_TX_LIST_OWNED);
	if (sqlite3_bind_int64(st, 1, node) != SQLITE_OK) {
		db_err_sql(db, err, "txn list owned");
		db_stmt_done(st);
	} else {
		rc = db_rows_load(db, st, &r, txn_read_fn, "txn list owned",
		    err);
	}
	db_unlock(db);
	for (i = 0; rc == 0 && i < r.n; i++)
		if (fn(arg, (struct db_txn *)(void *)(r.v + i * r.size)) != 0)
			break;
	db_rows_cleanup(&r);
	return rc;
}
