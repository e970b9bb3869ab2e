/*
 * One-time enrollment challenges on SQLite. Only the SHA-256 of each
 * secret is stored; a challenge is consumed by the DB_W_START write
 * (db_sq_txn.c), which is where the "exactly once" guarantee lives.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "gw_err.h"
#include "db.h"
#include "db_int.h"
#include "db_sq_int.h"

/* db_challenge_put_bound(): one INSERT; *id is the new row id. */
int
sq_challenge_put(struct db *db, const uint8_t hash[32], int64_t now,
    int64_t expires, const struct db_challenge_bind *b, int64_t *id,
    struct gw_err *err)
{
	sqlite3_stmt *st;
	int rc = -1;

	db_lock(db);
	st = db_stmt(db, DB_ST_CH_PUT);
	if (sqlite3_bind_blob(st, 1, hash, 32, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, now) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, expires) != SQLITE_OK ||
	    db_bind_text(st, 4, b->cn) != SQLITE_OK ||
	    db_bind_text(st, 5, b->email) != SQLITE_OK ||
	    db_bind_text(st, 6, b->ou) != SQLITE_OK ||
	    db_bind_text(st, 7, b->profile) != SQLITE_OK ||
	    db_bind_text(st, 8, b->upn) != SQLITE_OK) {
		db_err_sql(db, err, "challenge put");
		db_stmt_done(st);
		goto out;
	}
	if (db_step_done(db, st, "challenge put", err) != 0)
		goto out;
	if (id != NULL)
		*id = sqlite3_last_insert_rowid(db_sq(db)->h);
	rc = 0;
out:
	db_unlock(db);
	return rc;
}

/* db_challenge_revoke(): revoking twice is fine; an unknown id is
 * DB_ERR_NOTFOUND. */
int
sq_challenge_revoke(struct db *db, int64_t id, struct gw_err *err)
{
	sqlite3_stmt *st;
	int rc = -1;

	db_lock(db);
	st = db_stmt(db, DB_ST_CH_REVOKE);
	if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK) {
		db_err_sql(db, err, "challenge revoke");
		db_stmt_done(st);
		goto out;
	}
	if (db_step_done(db, st, "challenge revoke", err) != 0)
		goto out;
	if (sqlite3_changes(db_sq(db)->h) == 0) {
		gw_err_set(err, DB_ERR_NOTFOUND, "no challenge %lld",
		    (long long)id);
		goto out;
	}
	rc = 0;
out:
	db_unlock(db);
	return rc;
}

/* Reads the current CH_LIST row into *c. Returns 0 or -1 (no memory). */
static int
challenge_row_read(sqlite3_stmt *st, struct db_challenge *c)
{
	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(st, 0);
	c->created = sqlite3_column_int64(st, 1);
	c->expires = sqlite3_column_int64(st, 2);
	c->used = sqlite3_column_int64(st, 3);
	c->revoked = sqlite3_column_int(st, 4) != 0;
	if (db_col_strdup(st, 5, &c->cn) != 0 ||
	    db_col_strdup(st, 6, &c->email) != 0 ||
	    db_col_strdup(st, 7, &c->ou) != 0 ||
	    db_col_strdup(st, 8, &c->txid) != 0 ||
	    db_col_strdup(st, 9, &c->upn) != 0)
		return -1;
	return 0;
}

static void
challenge_cleanup_fn(void *p)
{
	db_challenge_cleanup(p);
}

static int
challenge_read_fn(sqlite3_stmt *st, void *p)
{
	return challenge_row_read(st, p);
}

/* db_challenge_list(): the rows are read first and fn runs without the
 * lock held. */
int
sq_challenge_list(struct db *db, db_challenge_fn *fn, void *arg,
    struct gw_err *err)
{
	struct db_rows r = { NULL, 0, 0, sizeof(struct db_challenge),
		challenge_cleanup_fn };
	size_t i;
	int rc;

	db_lock(db);
	rc = db_rows_load(db, db_stmt(db, DB_ST_CH_LIST), &r, challenge_read_fn,
	    "challenge list", err);
	db_unlock(db);
	for (i = 0; rc == 0 && i < r.n; i++)
		if (fn(arg,
			(struct db_challenge *)(void *)(r.v + i * r.size)) != 0)
			break;
	db_rows_cleanup(&r);
	return rc;
}
