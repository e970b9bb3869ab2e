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
	sqlite3_stmt *st;
	int rc = -1;

	db_lock(db);
	st = db_stmt(db, DB_ST_CH_PUT);
	if (sqlite3_bind_blob(st, 1, hash, 32, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, now) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, expires) != SQLITE_OK ||
	    db_bind_text(st, 4, cn) != SQLITE_OK ||
	    db_bind_text(st, 5, email) != SQLITE_OK ||
	    db_bind_text(st, 6, ou) != SQLITE_OK ||
	    db_bind_text(st, 7, profile) != SQLITE_OK) {
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
	    db_col_strdup(st, 8, &c->txid) != 0)
		return -1;
	return 0;
}

/* Frees an array of n challenges. */
static void
challenge_array_free(struct db_challenge *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		db_challenge_cleanup(&v[i]);
	free(v);
}

/* Reads every challenge into a new array; the caller holds the mutex. */
static int
challenge_array_load(struct db *db, struct db_challenge **out, size_t *n,
    struct gw_err *err)
{
	sqlite3_stmt *st = db_stmt(db, DB_ST_CH_LIST);
	struct db_challenge *v = NULL, *nv;
	size_t len = 0, cap = 0;
	int s, rc = -1;

	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
				goto nomem;
			v = nv;
		}
		if (challenge_row_read(st, &v[len++]) != 0)
			goto nomem;
	}
	if (s != SQLITE_DONE) {
		db_err_sql(db, err, "challenge list");
		goto out;
	}
	*out = v;
	*n = len;
	v = NULL;
	len = 0;
	rc = 0;
	goto out;
nomem:
	gw_err_set(err, DB_ERR_SQL, "challenge list: out of memory");
out:
	challenge_array_free(v, len);
	db_stmt_done(st);
	return rc;
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
	struct db_challenge *v = NULL;
	size_t i, n = 0;
	int rc;

	db_lock(db);
	rc = challenge_array_load(db, &v, &n, err);
	db_unlock(db);
	for (i = 0; rc == 0 && i < n; i++)
		if (fn(arg, &v[i]) != 0)
			break;
	challenge_array_free(v, n);
	return rc;
}
