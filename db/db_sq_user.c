/*
 * Users of the NDES-compatible challenge page on SQLite: the rows only.
 * Names, passwords and profile lists are checked, and passwords hashed
 * (scrypt), by db_user.c before anything reaches this file.
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

/* db_user_add()'s row: DB_ERR_EXISTS when the name is taken. */
int
sq_user_put(struct db *db, const char *name, const struct db_user_kdf *k,
    bool can_issue, const char *profiles, int64_t now, struct gw_err *err)
{
	sqlite3_stmt *st;
	int rc = -1;

	db_lock(db);
	st = db_stmt(db, DB_ST_USER_PUT);
	if (db_bind_text(st, 1, name) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, (sqlite3_int64)k->n) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, (sqlite3_int64)k->r) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, (sqlite3_int64)k->p) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 5, k->salt, sizeof(k->salt),
		SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 6, k->hash, sizeof(k->hash),
		SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_int(st, 7, can_issue ? 1 : 0) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 8, now) != SQLITE_OK ||
	    db_bind_text(st, 9, profiles) != SQLITE_OK ||
	    db_bind_text(st, 10, k->role[0] != '\0' ? k->role : "ndes") !=
		SQLITE_OK) {
		db_err_sql(db, err, "user add");
		db_stmt_done(st);
		goto out;
	}
	if (sqlite3_step(st) != SQLITE_DONE) {
		if (sqlite3_extended_errcode(db_sq(db)->h) ==
		    SQLITE_CONSTRAINT_PRIMARYKEY)
			gw_err_set(err, DB_ERR_EXISTS, "user %s exists already",
			    name);
		else
			db_err_sql(db, err, "user add");
		db_stmt_done(st);
		goto out;
	}
	db_stmt_done(st);
	rc = 0;
out:
	db_unlock(db);
	return rc;
}

/* Reads a USER_GET row into *k and *can_issue. Returns 0, or -1 when the
 * stored row is malformed. */
static int
user_row_read(sqlite3_stmt *st, struct db_user_kdf *k, bool *can_issue)
{
	sqlite3_int64 n, r, p;

	n = sqlite3_column_int64(st, 0);
	r = sqlite3_column_int64(st, 1);
	p = sqlite3_column_int64(st, 2);
	if (n < 2 || r < 1 || p < 1 ||
	    sqlite3_column_bytes(st, 3) != DB_USER_SALT_LEN ||
	    sqlite3_column_bytes(st, 4) != DB_USER_HASH_LEN)
		return -1;
	k->n = (uint64_t)n;
	k->r = (uint64_t)r;
	k->p = (uint64_t)p;
	memcpy(k->salt, sqlite3_column_blob(st, 3), DB_USER_SALT_LEN);
	memcpy(k->hash, sqlite3_column_blob(st, 4), DB_USER_HASH_LEN);
	*can_issue = sqlite3_column_int(st, 5) != 0;
	snprintf(k->role, sizeof(k->role), "%s",
	    sqlite3_column_text(st, 6) != NULL ?
		(const char *)sqlite3_column_text(st, 6) :
		"ndes");
	return 0;
}

/* Loads the stored hash of name. Returns 0 found, 1 unknown, -1 error. */
int
sq_user_get(struct db *db, const char *name, struct db_user_kdf *k,
    bool *can_issue, struct gw_err *err)
{
	sqlite3_stmt *st;
	int rc;

	db_lock(db);
	rc = db_stmt_find(db, DB_ST_USER_GET, name, "user get", &st, err);
	if (rc == 0 && user_row_read(st, k, can_issue) != 0) {
		gw_err_set(err, DB_ERR_SQL, "user %s: malformed row", name);
		rc = -1;
	}
	db_stmt_done(st);
	db_unlock(db);
	return rc;
}

/* db_user_profiles(): 0 found, 1 no such user, -1 error. */
int
sq_user_profiles(struct db *db, const char *name, char **profiles,
    struct gw_err *err)
{
	sqlite3_stmt *st;
	int rc;

	db_lock(db);
	rc = db_stmt_find(db, DB_ST_USER_PROFILES, name, "user profiles", &st,
	    err);
	if (rc == 0 &&
	    (db_col_strdup(st, 0, profiles) != 0 || *profiles == NULL)) {
		gw_err_set(err, DB_ERR_SQL, "user profiles: out of memory");
		rc = -1;
	}
	db_stmt_done(st);
	db_unlock(db);
	return rc;
}

/*
 * Runs a write to user name's row (lock held, statement bound): 0 when it
 * changed that row, else -1 with err set (DB_ERR_NOTFOUND: no such user).
 */
static int
user_step_one(struct db *db, sqlite3_stmt *st, const char *what,
    const char *name, struct gw_err *err)
{
	if (db_step_done(db, st, what, err) != 0)
		return -1;
	if (sqlite3_changes(db_sq(db)->h) == 0) {
		gw_err_set(err, DB_ERR_NOTFOUND, "no user %s",
		    name != NULL ? name : "(null)");
		return -1;
	}
	return 0;
}

/* db_user_set_profiles(), the list already checked. */
int
sq_user_set_profiles(struct db *db, const char *name, const char *profiles,
    struct gw_err *err)
{
	sqlite3_stmt *st;
	int rc = -1;

	db_lock(db);
	st = db_stmt(db, DB_ST_USER_SET_PROFILES);
	if (db_bind_text(st, 1, profiles) != SQLITE_OK ||
	    db_bind_text(st, 2, name) != SQLITE_OK) {
		db_err_sql(db, err, "user set");
		db_stmt_done(st);
		goto out;
	}
	rc = user_step_one(db, st, "user set", name, err);
out:
	db_unlock(db);
	return rc;
}

/* db_user_set_role(). */
int
sq_user_set_role(struct db *db, const char *name, const char *role,
    struct gw_err *err)
{
	sqlite3_stmt *st;
	int rc = -1;

	db_lock(db);
	st = db_stmt(db, DB_ST_USER_SET_ROLE);
	if (db_bind_text(st, 1, role) != SQLITE_OK ||
	    db_bind_text(st, 2, name) != SQLITE_OK) {
		db_err_sql(db, err, "user set role");
		db_stmt_done(st);
		goto out;
	}
	rc = user_step_one(db, st, "user set role", name, err);
out:
	db_unlock(db);
	return rc;
}

/* Removes user name. Returns 0, or -1 with err set (DB_ERR_NOTFOUND). */
int
sq_user_remove(struct db *db, const char *name, struct gw_err *err)
{
	sqlite3_stmt *st;
	int rc = -1;

	db_lock(db);
	st = db_stmt(db, DB_ST_USER_DEL);
	if (db_bind_text(st, 1, name) != SQLITE_OK) {
		db_err_sql(db, err, "user remove");
		db_stmt_done(st);
		goto out;
	}
	rc = user_step_one(db, st, "user remove", name, err);
out:
	db_unlock(db);
	return rc;
}

/* Reads a USER_LIST row into *u. Returns 0 or -1 (no memory). */
static int
user_list_read(sqlite3_stmt *st, struct db_user *u)
{
	char kdf[96];
	const unsigned char *alg;

	memset(u, 0, sizeof(*u));
	u->can_issue = sqlite3_column_int(st, 1) != 0;
	u->created = sqlite3_column_int64(st, 2);
	alg = sqlite3_column_text(st, 3);
	snprintf(kdf, sizeof(kdf), "%s N=%lld r=%lld p=%lld",
	    alg != NULL ? (const char *)alg : "?",
	    (long long)sqlite3_column_int64(st, 4),
	    (long long)sqlite3_column_int64(st, 5),
	    (long long)sqlite3_column_int64(st, 6));
	if (db_col_strdup(st, 0, &u->name) != 0 ||
	    db_col_strdup(st, 7, &u->profiles) != 0 ||
	    (u->kdf = gw_strdup(kdf)) == NULL)
		return -1;
	if (db_user_role_parse((const char *)sqlite3_column_text(st, 8),
		&u->role) != 0)
		u->role = DB_ROLE_NDES;
	return 0;
}

/*
 * Calls fn for every user, by name, until fn returns non-zero. fn runs
 * with the lock held and must not call other db functions. Returns 0 or
 * -1 with err set.
 */
int
sq_user_list(struct db *db, db_user_fn *fn, void *arg, struct gw_err *err)
{
	struct db_user u;
	sqlite3_stmt *st;
	int s = SQLITE_DONE, stop = 0, rc = -1;

	db_lock(db);
	st = db_stmt(db, DB_ST_USER_LIST);
	while (stop == 0 && (s = sqlite3_step(st)) == SQLITE_ROW) {
		if (user_list_read(st, &u) != 0) {
			db_user_cleanup(&u);
			gw_err_set(err, DB_ERR_SQL, "user list: out of memory");
			goto out;
		}
		stop = fn(arg, &u);
		db_user_cleanup(&u);
	}
	if (stop == 0 && s != SQLITE_DONE) {
		db_err_sql(db, err, "user list");
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	db_unlock(db);
	return rc;
}
