/*
 * Users of the NDES-compatible challenge page. A password is stored as
 * scrypt(password, salt) with a random 16-byte salt and the cost
 * parameters it was made with, so the cost can be raised later without
 * invalidating older rows. Checking an unknown name costs one scrypt too,
 * so response times do not tell which names exist. The slow hashing runs
 * outside the connection's mutex. Each user holds the list of profiles
 * whose challenges the page may hand out (README "Security model").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "gw_err.h"
#include "secure.h"
#include "db.h"
#include "db_int.h"

/* scrypt cost for new passwords: 32 MiB and ~0.1 s per check. */
#define USER_KDF_N 32768
#define USER_KDF_R 8
#define USER_KDF_P 1
#define USER_SALT_LEN 16
#define USER_HASH_LEN 32
#define USER_NAME_MAX 64
#define USER_PASSWORD_MAX 1024
#define USER_PROFILES_MAX 1024
#define USER_PROFILE_NAME_MAX 64
/* Refuse stored parameters that would need more memory than this. */
#define USER_KDF_MAXMEM (256UL * 1024 * 1024)

/* The parameters and result of one stored password. */
struct user_kdf {
	uint64_t n;
	uint64_t r;
	uint64_t p;
	uint8_t salt[USER_SALT_LEN];
	uint8_t hash[USER_HASH_LEN];
};

/* Frees the strings of a user row and zeroes it; accepts NULL. */
void
db_user_cleanup(struct db_user *u)
{
	if (u == NULL)
		return;
	free(u->name);
	free(u->kdf);
	free(u->profiles);
	memset(u, 0, sizeof(*u));
}

/* True when name is 1..64 printable ASCII characters without ':' (HTTP
 * Basic auth splits on the first colon) or spaces. */
static bool
user_name_is_valid(const char *name)
{
	size_t i, n;

	if (name == NULL)
		return false;
	n = strlen(name);
	if (n == 0 || n > USER_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (name[i] <= ' ' || name[i] > '~' || name[i] == ':')
			return false;
	return true;
}

/*
 * True when profiles is a comma-separated list of 1..64-character names
 * of A-Z a-z 0-9 _ - (the [profile NAME] rule), without empty items or
 * repeats, at most 1024 characters in all.
 */
bool
db_user_profiles_valid(const char *profiles)
{
	const char *p, *q, *r;
	size_t n, m;

	if (profiles == NULL || *profiles == '\0' ||
	    strlen(profiles) > USER_PROFILES_MAX)
		return false;
	for (p = profiles;; p = q + 1) {
		n = strcspn(p, ",");
		if (n == 0 || n > USER_PROFILE_NAME_MAX ||
		    strspn(p,
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
			"wxyz0123456789_-") != n)
			return false;
		for (r = profiles; r < p; r += m + 1) {
			m = strcspn(r, ",");
			if (m == n && memcmp(r, p, n) == 0)
				return false;
		}
		q = p + n;
		if (*q == '\0')
			return true;
	}
}

/* Computes k->hash from password, k->salt and the cost in k. */
static int
user_kdf_run(struct user_kdf *k, const char *password, struct gw_err *err)
{
	if (EVP_PBE_scrypt(password, strlen(password), k->salt, sizeof(k->salt),
		k->n, k->r, k->p, USER_KDF_MAXMEM, k->hash,
		sizeof(k->hash)) != 1) {
		gw_err_set(err, DB_ERR_ARG, "scrypt failed (bad parameters)");
		return -1;
	}
	return 0;
}

/*
 * Adds user name with password (hashed here), the can_issue right and the
 * profiles (comma-separated; NULL: "default") the page may issue
 * challenges for. Returns 0, or -1 with err set: DB_ERR_ARG for a bad
 * name, password or profile list, DB_ERR_EXISTS when the name is taken.
 */
int
db_user_add(struct db *db, const char *name, const char *password,
    bool can_issue, const char *profiles, int64_t now, struct gw_err *err)
{
	struct user_kdf k;
	sqlite3_stmt *st;
	int rc = -1;

	memset(&k, 0, sizeof(k));
	if (!user_name_is_valid(name)) {
		gw_err_set(err, DB_ERR_ARG,
		    "user name: 1..64 printable characters, no spaces or ':'");
		return -1;
	}
	if (password == NULL || *password == '\0' ||
	    strlen(password) > USER_PASSWORD_MAX) {
		gw_err_set(err, DB_ERR_ARG, "password: 1..1024 bytes");
		return -1;
	}
	if (profiles == NULL)
		profiles = "default";
	if (!db_user_profiles_valid(profiles)) {
		gw_err_set(err, DB_ERR_ARG,
		    "profiles: names of A-Z a-z 0-9 _ - separated by commas, "
		    "each once");
		return -1;
	}
	k.n = USER_KDF_N;
	k.r = USER_KDF_R;
	k.p = USER_KDF_P;
	if (gw_random_bytes(k.salt, sizeof(k.salt)) != 0) {
		gw_err_set(err, DB_ERR_ARG, "no randomness for the salt");
		return -1;
	}
	if (user_kdf_run(&k, password, err) != 0)
		return -1;
	db_lock(db);
	st = db_stmt(db, DB_ST_USER_PUT);
	if (db_bind_text(st, 1, name) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, (sqlite3_int64)k.n) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, (sqlite3_int64)k.r) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, (sqlite3_int64)k.p) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 5, k.salt, sizeof(k.salt),
		SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 6, k.hash, sizeof(k.hash),
		SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_int(st, 7, can_issue ? 1 : 0) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 8, now) != SQLITE_OK ||
	    db_bind_text(st, 9, profiles) != SQLITE_OK) {
		db_err_sql(db, err, "user add");
		db_stmt_done(st);
		goto out;
	}
	if (sqlite3_step(st) != SQLITE_DONE) {
		if (sqlite3_extended_errcode(db->h) ==
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
	gw_cleanse(&k, sizeof(k));
	return rc;
}

/* Reads a USER_GET row into *k and *can_issue. Returns 0, or -1 when the
 * stored row is malformed. */
static int
user_row_read(sqlite3_stmt *st, struct user_kdf *k, bool *can_issue)
{
	sqlite3_int64 n, r, p;

	n = sqlite3_column_int64(st, 0);
	r = sqlite3_column_int64(st, 1);
	p = sqlite3_column_int64(st, 2);
	if (n < 2 || r < 1 || p < 1 ||
	    sqlite3_column_bytes(st, 3) != USER_SALT_LEN ||
	    sqlite3_column_bytes(st, 4) != USER_HASH_LEN)
		return -1;
	k->n = (uint64_t)n;
	k->r = (uint64_t)r;
	k->p = (uint64_t)p;
	memcpy(k->salt, sqlite3_column_blob(st, 3), USER_SALT_LEN);
	memcpy(k->hash, sqlite3_column_blob(st, 4), USER_HASH_LEN);
	*can_issue = sqlite3_column_int(st, 5) != 0;
	return 0;
}

/* Loads the stored hash of name. Returns 0 found, 1 unknown, -1 error. */
static int
user_load(struct db *db, const char *name, struct user_kdf *k, bool *can_issue,
    struct gw_err *err)
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

/*
 * Checks name and password. Returns 0 when they match (*can_issue set),
 * 1 when they do not (unknown user or wrong password: the caller cannot
 * tell which, and neither can a stopwatch), -1 on error with err set.
 */
int
db_user_check(struct db *db, const char *name, const char *password,
    bool *can_issue, struct gw_err *err)
{
	struct user_kdf stored, k;
	int found, rc = -1;

	*can_issue = false;
	memset(&stored, 0, sizeof(stored));
	memset(&k, 0, sizeof(k));
	if (name == NULL || password == NULL ||
	    strlen(password) > USER_PASSWORD_MAX || !user_name_is_valid(name))
		found = 1;
	else if ((found = user_load(db, name, &stored, can_issue, err)) == -1)
		goto out;
	if (found == 1) {
		/* Same work as a real check, against nothing. */
		stored.n = USER_KDF_N;
		stored.r = USER_KDF_R;
		stored.p = USER_KDF_P;
	}
	k = stored;
	if (user_kdf_run(&k, password != NULL ? password : "", err) != 0)
		goto out;
	if (found == 0 &&
	    CRYPTO_memcmp(k.hash, stored.hash, sizeof(k.hash)) == 0) {
		rc = 0;
		goto out;
	}
	*can_issue = false;
	rc = 1;
out:
	gw_cleanse(&stored, sizeof(stored));
	gw_cleanse(&k, sizeof(k));
	return rc;
}

/*
 * The profiles of user name, comma-separated, in *profiles (malloc'd).
 * Returns 0 found, 1 no such user, -1 error with err set.
 */
int
db_user_profiles(struct db *db, const char *name, char **profiles,
    struct gw_err *err)
{
	sqlite3_stmt *st;
	int rc;

	*profiles = NULL;
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
	if (sqlite3_changes(db->h) == 0) {
		gw_err_set(err, DB_ERR_NOTFOUND, "no user %s",
		    name != NULL ? name : "(null)");
		return -1;
	}
	return 0;
}

/*
 * Replaces the profiles of user name (comma-separated, as for
 * db_user_add()). Returns 0, or -1 with err set: DB_ERR_ARG for a bad
 * list, DB_ERR_NOTFOUND for an unknown user.
 */
int
db_user_set_profiles(struct db *db, const char *name, const char *profiles,
    struct gw_err *err)
{
	sqlite3_stmt *st;
	int rc = -1;

	if (!db_user_profiles_valid(profiles)) {
		gw_err_set(err, DB_ERR_ARG,
		    "profiles: names of A-Z a-z 0-9 _ - separated by commas, "
		    "each once");
		return -1;
	}
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

/* Removes user name. Returns 0, or -1 with err set (DB_ERR_NOTFOUND). */
int
db_user_remove(struct db *db, const char *name, struct gw_err *err)
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
	return 0;
}

/*
 * Calls fn for every user, by name, until fn returns non-zero. fn runs
 * with the lock held and must not call other db functions. Returns 0 or
 * -1 with err set.
 */
int
db_user_list(struct db *db, db_user_fn *fn, void *arg, struct gw_err *err)
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
