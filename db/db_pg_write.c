/*
 * The PostgreSQL backend's single writes (admin API, CLI, NDES page):
 * each one statement that commits on its own, with RETURNING telling
 * whether it hit a row. Only the writes that are harmless to repeat are
 * sent again after a broken connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "gw_err.h"
#include "db.h"
#include "db_int.h"
#include "db_pg_int.h"

/* Runs a write; *rows is how many rows it returned. 0 or -1. */
static int
pg_write(struct db *db, const char *sql, const struct pg_params *p,
    const char *what, bool retry, int *rows, int64_t *first, struct gw_err *err)
{
	PGresult *r;

	if ((r = pg_run(db, sql, p, what, retry, err)) == NULL)
		return -1;
	*rows = PQntuples(r);
	if (first != NULL && *rows > 0)
		*first = pg_int(r, 0, 0);
	PQclear(r);
	return 0;
}

int
pg_challenge_put(struct db *db, const uint8_t hash[32], int64_t now,
    int64_t expires, const struct db_challenge_bind *b, int64_t *id,
    struct gw_err *err)
{
	struct pg_params p = { 0 };
	int64_t v = 0;
	int rows;

	pp_bytea(&p, hash, 32);
	pp_int(&p, now);
	pp_int(&p, expires);
	pp_text(&p, b->cn);
	pp_text(&p, b->email);
	pp_text(&p, b->ou);
	pp_text(&p, b->profile);
	pp_text(&p, b->upn);
	if (pg_write(db,
		"INSERT INTO challenges (hash, created, expires, cn, email, "
		"ou, profile, upn) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
		"RETURNING id",
		&p, "challenge put", false, &rows, &v, err) != 0)
		return -1;
	if (id != NULL)
		*id = v;
	return 0;
}

int
pg_challenge_put_capped(struct db *db, const uint8_t hash[32], int64_t now,
    int64_t expires, int64_t max_outstanding, const char *profile, int64_t *id,
    struct gw_err *err)
{
	struct pg_params p = { 0 };
	PGresult *r;
	int rc = 0;

	pp_bytea(&p, hash, 32);
	pp_int(&p, now);
	pp_int(&p, expires);
	pp_int(&p, max_outstanding);
	pp_text(&p, profile);
	r = pg_run(db, "SELECT scepgw_challenge_put_capped($1, $2, $3, $4, $5)",
	    &p, "challenge put", false, err);
	if (r == NULL)
		return -1;
	if (pg_null(r, 0, 0))
		rc = 1;
	else if (id != NULL)
		*id = pg_int(r, 0, 0);
	PQclear(r);
	return rc;
}

int
pg_challenge_revoke(struct db *db, int64_t id, struct gw_err *err)
{
	struct pg_params p = { 0 };
	int rows;

	pp_int(&p, id);
	if (pg_write(db,
		"UPDATE challenges SET revoked = true WHERE id = $1 "
		"RETURNING id",
		&p, "challenge revoke", true, &rows, NULL, err) != 0)
		return -1;
	if (rows == 0) {
		gw_err_set(err, DB_ERR_NOTFOUND, "no challenge %lld",
		    (long long)id);
		return -1;
	}
	return 0;
}

/* db_txn_set_intune(): VALIDATED -> to in state need; 0, 1 (no such
 * row), -1. Harmless to repeat: run again it hits no row. */
int
pg_txn_set_intune(struct db *db, const char *txid, int to,
    enum db_txn_state need, int64_t now, struct gw_err *err)
{
	struct pg_params p = { 0 };
	int rows;

	pp_text(&p, txid);
	pp_int4(&p, to);
	pp_int4(&p, (int)need);
	pp_int(&p, now);
	if (pg_write(db,
		"UPDATE transactions SET intune = $2, intune_csr = NULL, "
		"intune_claim = NULL, updated = $4 WHERE txid = $1 "
		"AND intune = 1 AND state = $3 RETURNING id",
		&p, "txn set intune", true, &rows, NULL, err) != 0)
		return -1;
	return rows > 0 ? 0 : 1;
}

/* db_txn_claim_intune() (hold_s >= 0), db_txn_unclaim_intune() (-1):
 * 0 changed, 1 no row. Not sent again after a broken connection: a lost
 * claim expires. */
int
pg_txn_claim_intune(struct db *db, const char *txid, int64_t now, int hold_s,
    struct gw_err *err)
{
	struct pg_params p = { 0 };
	int rows;

	pp_text(&p, txid);
	if (hold_s >= 0) {
		pp_int(&p, now);
		pp_int(&p, hold_s);
	}
	if (pg_write(db,
		hold_s >= 0 ?
		    "UPDATE transactions SET intune_claim = $2 WHERE txid = $1 "
		    "AND intune = 1 AND state <> 1 AND (intune_claim IS NULL "
		    "OR intune_claim <= $2 - $3) RETURNING id" :
		    "UPDATE transactions SET intune_claim = NULL WHERE txid = "
		    "$1 AND intune = 1 AND intune_claim IS NOT NULL RETURNING id",
		&p, "txn claim intune", false, &rows, NULL, err) != 0)
		return -1;
	return rows > 0 ? 0 : 1;
}

/* db_txn_archive(): one UPDATE; the certificate row follows through the
 * foreign key's ON UPDATE CASCADE. */
int
pg_txn_archive(struct db *db, const char *txid, int64_t id, struct gw_err *err)
{
	struct pg_params p = { 0 };
	char *new;
	size_t len;
	int rows, rc;

	len = strlen(txid) + 24;
	if ((new = malloc(len)) == NULL) {
		gw_err_set(err, DB_ERR_SQL, "txn archive: out of memory");
		return -1;
	}
	snprintf(new, len, "%s@%lld", txid, (long long)id);
	pp_text(&p, txid);
	pp_text(&p, new);
	rc = pg_write(db,
	    "UPDATE transactions SET txid = $2 WHERE txid = $1 "
	    "AND state IN (2, 3) RETURNING id",
	    &p, "txn archive", false, &rows, NULL, err);
	free(new);
	if (rc != 0)
		return -1;
	return rows > 0 ? 0 : 1;
}

int
pg_cert_set_revoked(struct db *db, const char *serial_hex, int64_t when,
    const char *reason, struct gw_err *err)
{
	struct pg_params p = { 0 };
	int rows;

	pp_int(&p, when);
	pp_text(&p, reason);
	pp_text(&p, serial_hex);
	if (pg_write(db,
		"UPDATE certificates SET revoked = $1, revoke_reason = $2 "
		"WHERE serial_hex = $3 AND revoked = 0 RETURNING 1",
		&p, "cert revoke", false, &rows, NULL, err) != 0)
		return -1;
	if (rows > 0)
		return 0;
	memset(&p, 0, sizeof(p));
	pp_text(&p, serial_hex);
	if (pg_write(db, "SELECT 1 FROM certificates WHERE serial_hex = $1", &p,
		"cert get", true, &rows, NULL, err) != 0)
		return -1;
	if (rows > 0)
		gw_err_set(err, DB_ERR_STATE,
		    "certificate %s is already revoked", serial_hex);
	else
		gw_err_set(err, DB_ERR_NOTFOUND,
		    "no certificate with serial %s", serial_hex);
	return -1;
}

int
pg_user_put(struct db *db, const char *name, const struct db_user_kdf *k,
    bool can_issue, const char *profiles, int64_t now, struct gw_err *err)
{
	struct pg_params p = { 0 };
	int rows;

	pp_text(&p, name);
	pp_int(&p, (int64_t)k->n);
	pp_int(&p, (int64_t)k->r);
	pp_int(&p, (int64_t)k->p);
	pp_bytea(&p, k->salt, sizeof(k->salt));
	pp_bytea(&p, k->hash, sizeof(k->hash));
	pp_bool(&p, can_issue);
	pp_int(&p, now);
	pp_text(&p, profiles);
	pp_text(&p, k->role[0] != '\0' ? k->role : "ndes");
	if (pg_write(db,
		"INSERT INTO users (name, kdf, kdf_n, kdf_r, kdf_p, salt, "
		"hash, can_issue, created, profiles, role) VALUES ($1, "
		"'scrypt', $2, $3, $4, $5, $6, $7, $8, $9, $10)",
		&p, "user add", false, &rows, NULL, err) != 0) {
		if (err->code == DB_ERR_EXISTS)
			gw_err_set(err, DB_ERR_EXISTS, "user %s exists already",
			    name);
		return -1;
	}
	return 0;
}

int
pg_user_set_profiles(struct db *db, const char *name, const char *profiles,
    struct gw_err *err)
{
	struct pg_params p = { 0 };
	int rows;

	pp_text(&p, profiles);
	pp_text(&p, name);
	if (pg_write(db,
		"UPDATE users SET profiles = $1 WHERE name = $2 RETURNING 1",
		&p, "user set profiles", true, &rows, NULL, err) != 0)
		return -1;
	if (rows == 0) {
		gw_err_set(err, DB_ERR_NOTFOUND, "no user %s", name);
		return -1;
	}
	return 0;
}

int
pg_user_set_role(struct db *db, const char *name, const char *role,
    struct gw_err *err)
{
	struct pg_params p = { 0 };
	int rows;

	pp_text(&p, role);
	pp_text(&p, name);
	if (pg_write(db,
		"UPDATE users SET role = $1, can_issue = CASE WHEN $1 = "
		"'ndes' THEN can_issue ELSE false END WHERE name = $2 "
		"RETURNING 1",
		&p, "user set role", true, &rows, NULL, err) != 0)
		return -1;
	if (rows == 0) {
		gw_err_set(err, DB_ERR_NOTFOUND, "no user %s", name);
		return -1;
	}
	return 0;
}

int
pg_user_remove(struct db *db, const char *name, struct gw_err *err)
{
	struct pg_params p = { 0 };
	int rows;

	pp_text(&p, name);
	if (pg_write(db, "DELETE FROM users WHERE name = $1 RETURNING 1", &p,
		"user remove", false, &rows, NULL, err) != 0)
		return -1;
	if (rows == 0) {
		gw_err_set(err, DB_ERR_NOTFOUND, "no user %s", name);
		return -1;
	}
	return 0;
}
