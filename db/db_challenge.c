/*
 * One-time enrollment challenges. Only the SHA-256 of each secret is
 * stored; a challenge is consumed by db_txn_start() (db_txn.c), which is
 * where the "exactly once" guarantee lives.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "gw_err.h"
#include "db.h"
#include "db_int.h"

/* Frees the strings of a challenge and zeroes it; accepts NULL. */
void
db_challenge_cleanup(struct db_challenge *c)
{
	if (c == NULL)
		return;
	free(c->cn);
	free(c->email);
	free(c->ou);
	free(c->txid);
	free(c->profile);
	free(c->upn);
	memset(c, 0, sizeof(*c));
}

/*
 * Stores a new challenge by the hash of its secret, optionally bound to a
 * cn, email and ou (each may be NULL). On success *id (if not NULL) is its
 * row id. Returns 0, or -1 with err set (a duplicate hash is an error).
 */
int
db_challenge_put(struct db *db, const uint8_t hash[32], int64_t now,
    int64_t expires, const char *cn, const char *email, const char *ou,
    int64_t *id, struct gw_err *err)
{
	return db_challenge_put_profile(db, hash, now, expires, cn, email, ou,
	    NULL, id, err);
}

/*
 * db_challenge_put() for one [profile NAME] only (profile NULL: any
 * profile). Returns 0, or -1 with err set.
 */
int
db_challenge_put_profile(struct db *db, const uint8_t hash[32], int64_t now,
    int64_t expires, const char *cn, const char *email, const char *ou,
    const char *profile, int64_t *id, struct gw_err *err)
{
	const struct db_challenge_bind b = { cn, email, ou, NULL, profile };

	return db_challenge_put_bound(db, hash, now, expires, &b, id, err);
}

/*
 * Stores a new challenge bound to b's identity (each member may be NULL;
 * b->profile NULL: valid on any profile). On success *id (if not NULL) is
 * its row id. Returns 0, or -1 with err set.
 */
int
db_challenge_put_bound(struct db *db, const uint8_t hash[32], int64_t now,
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
		*id = sqlite3_last_insert_rowid(db->h);
	rc = 0;
out:
	db_unlock(db);
	return rc;
}

/*
 * Withdraws a challenge so it can no longer be used. Revoking a challenge
 * twice is fine. Returns 0, or -1 with err set (DB_ERR_NOTFOUND for an
 * unknown id).
 */
int
db_challenge_revoke(struct db *db, int64_t id, struct gw_err *err)
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
	if (sqlite3_changes(db->h) == 0) {
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

/*
 * Calls fn for every challenge, oldest first, until fn returns non-zero.
 * The rows are read first and fn runs without the lock held, so fn may
 * call other db functions. Returns 0 (also when fn stopped early), or -1
 * with err set.
 */
int
db_challenge_list(struct db *db, db_challenge_fn *fn, void *arg,
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
