/*
 * Users of the NDES-compatible challenge page and of the admin web
 * console (README "Admin web console"): each has a role, "ndes" (the
 * page), "viewer" or "admin" (the console); a console user never fetches
 * NDES challenges (can_issue is kept false for it). A password is stored as
 * scrypt(password, salt) with a random 16-byte salt and the cost
 * parameters it was made with, so the cost can be raised later without
 * invalidating older rows. Checking an unknown name costs one scrypt too,
 * so response times do not tell which names exist. The slow hashing runs
 * before the backend is called (db_sq_user.c holds the SQLite rows), so
 * outside its lock. Each user holds the list of profiles
 * whose challenges the page may hand out (README "Security model").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "gw_err.h"
#include "secure.h"
#include "db.h"
#include "db_int.h"

/* scrypt cost for new passwords: 32 MiB and ~0.1 s per check. */
#define USER_KDF_N 32768
#define USER_KDF_R 8
#define USER_KDF_P 1
#define USER_NAME_MAX 64
#define USER_PASSWORD_MAX 1024
#define USER_PROFILES_MAX 1024
#define USER_PROFILE_NAME_MAX 64
/* Refuse stored parameters that would need more memory than this. */
#define USER_KDF_MAXMEM (256UL * 1024 * 1024)

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
user_kdf_run(struct db_user_kdf *k, const char *password, struct gw_err *err)
{
	if (EVP_PBE_scrypt(password, strlen(password), k->salt, sizeof(k->salt),
		k->n, k->r, k->p, USER_KDF_MAXMEM, k->hash,
		sizeof(k->hash)) != 1) {
		gw_err_set(err, DB_ERR_ARG, "scrypt failed (bad parameters)");
		return -1;
	}
	return 0;
}

static const char *const user_roles[] = { "ndes", "viewer", "admin" };

/* The stored name of a role ("ndes", "viewer", "admin"). */
const char *
db_user_role_name(enum db_user_role role)
{
	return (unsigned)role < 3 ? user_roles[role] : "ndes";
}

/* Parses a role's name into *role. Returns 0, or -1 when unknown. */
int
db_user_role_parse(const char *s, enum db_user_role *role)
{
	unsigned i;

	for (i = 0; s != NULL && i < 3; i++)
		if (strcmp(s, user_roles[i]) == 0) {
			*role = (enum db_user_role)i;
			return 0;
		}
	return -1;
}

/*
 * Adds an NDES page user: db_user_add_role() with the role "ndes".
 */
int
db_user_add(struct db *db, const char *name, const char *password,
    bool can_issue, const char *profiles, int64_t now, struct gw_err *err)
{
	return db_user_add_role(db, name, password, can_issue, profiles,
	    DB_ROLE_NDES, now, err);
}

/*
 * Adds user name with password (hashed here), the can_issue right (false
 * whatever is asked unless role is DB_ROLE_NDES), the profiles
 * (comma-separated; NULL: "default") the page may issue challenges for,
 * and the role. Returns 0, or -1 with err set: DB_ERR_ARG for a bad
 * name, password or profile list, DB_ERR_EXISTS when the name is taken.
 */
int
db_user_add_role(struct db *db, const char *name, const char *password,
    bool can_issue, const char *profiles, enum db_user_role role, int64_t now,
    struct gw_err *err)
{
	struct db_user_kdf k;
	int rc;

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
	if (role != DB_ROLE_NDES)
		can_issue = false;
	snprintf(k.role, sizeof(k.role), "%s", db_user_role_name(role));
	k.n = USER_KDF_N;
	k.r = USER_KDF_R;
	k.p = USER_KDF_P;
	if (gw_random_bytes(k.salt, sizeof(k.salt)) != 0) {
		gw_err_set(err, DB_ERR_ARG, "no randomness for the salt");
		return -1;
	}
	if (user_kdf_run(&k, password, err) != 0)
		return -1;
	rc = db->be->user_put(db, name, &k, can_issue, profiles, now, err);
	gw_cleanse(&k, sizeof(k));
	return rc;
}

/* db_user_check_role() without the role. */
int
db_user_check(struct db *db, const char *name, const char *password,
    bool *can_issue, struct gw_err *err)
{
	enum db_user_role role;

	return db_user_check_role(db, name, password, can_issue, &role, err);
}

/*
 * Checks name and password. Returns 0 when they match (*can_issue and
 * *role set), 1 when they do not (unknown user or wrong password: the
 * caller cannot tell which, and neither can a stopwatch), -1 on error
 * with err set.
 */
int
db_user_check_role(struct db *db, const char *name, const char *password,
    bool *can_issue, enum db_user_role *role, struct gw_err *err)
{
	struct db_user_kdf stored, k;
	int found, rc = -1;

	*can_issue = false;
	*role = DB_ROLE_NDES;
	memset(&stored, 0, sizeof(stored));
	memset(&k, 0, sizeof(k));
	if (name == NULL || password == NULL ||
	    strlen(password) > USER_PASSWORD_MAX || !user_name_is_valid(name))
		found = 1;
	else if ((found = db->be->user_get(db, name, &stored, can_issue,
		      err)) == -1)
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
		/* An unknown stored role grants nothing beyond NDES. */
		if (db_user_role_parse(stored.role, role) != 0)
			*role = DB_ROLE_NDES;
		/* A console user never fetches NDES challenges, whatever
		 * its row says. */
		if (*role != DB_ROLE_NDES)
			*can_issue = false;
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
 * The role user name has in the store now, in *role (an unknown stored
 * role reads as DB_ROLE_NDES, as at login). Returns 0 found, 1 no such
 * user, -1 error with err set.
 */
int
db_user_role(struct db *db, const char *name, enum db_user_role *role,
    struct gw_err *err)
{
	struct db_user_kdf k;
	bool can_issue;
	int rc;

	*role = DB_ROLE_NDES;
	if (name == NULL || !user_name_is_valid(name))
		return 1;
	memset(&k, 0, sizeof(k));
	rc = db->be->user_get(db, name, &k, &can_issue, err);
	if (rc == 0 && db_user_role_parse(k.role, role) != 0)
		*role = DB_ROLE_NDES;
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
	*profiles = NULL;
	return db->be->user_profiles(db, name, profiles, err);
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
	if (!db_user_profiles_valid(profiles)) {
		gw_err_set(err, DB_ERR_ARG,
		    "profiles: names of A-Z a-z 0-9 _ - separated by commas, "
		    "each once");
		return -1;
	}
	return db->be->user_set_profiles(db, name, profiles, err);
}

/*
 * Sets the role of user name; a console role also takes away the right to
 * fetch NDES challenges. Returns 0, or -1 with err set (DB_ERR_NOTFOUND).
 */
int
db_user_set_role(struct db *db, const char *name, enum db_user_role role,
    struct gw_err *err)
{
	return db->be->user_set_role(db, name, db_user_role_name(role), err);
}

/* Removes user name. Returns 0, or -1 with err set (DB_ERR_NOTFOUND). */
int
db_user_remove(struct db *db, const char *name, struct gw_err *err)
{
	return db->be->user_remove(db, name, err);
}

/*
 * Calls fn for every user, by name, until fn returns non-zero. fn runs
 * with the lock held and must not call other db functions. Returns 0 or
 * -1 with err set.
 */
int
db_user_list(struct db *db, db_user_fn *fn, void *arg, struct gw_err *err)
{
	return db->be->user_list(db, fn, arg, err);
}
