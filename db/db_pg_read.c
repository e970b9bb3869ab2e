/*
 * The PostgreSQL backend's lookups of one row or one number: a
 * transaction, a challenge, a certificate (and what its renewal depends
 * on), an NDES user, the licence counts and the state counts. Each is one
 * statement on a pooled connection, sent once more on a fresh connection
 * if the pooled one turns out broken.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "gw_err.h"
#include "db.h"
#include "db_int.h"
#include "db_pg_int.h"

/* Runs a lookup by one text key; 0 with *r holding a row, 1 none, -1. */
static int
pg_find(struct db *db, const char *sql, const char *key, const char *what,
    PGresult **r, struct gw_err *err)
{
	struct pg_params p = { 0 };

	pp_text(&p, key);
	if ((*r = pg_run(db, sql, &p, what, true, err)) == NULL)
		return -1;
	if (PQntuples(*r) == 0) {
		PQclear(*r);
		*r = NULL;
		return 1;
	}
	return 0;
}

int
pg_txn_get(struct db *db, const char *txid, struct db_txn *t,
    struct gw_err *err)
{
	struct pg_params p = { 0 };
	PGresult *r;
	int rc = 0;

	pp_text(&p, txid);
	if ((r = pg_run_prep(db, PG_S_TXN_GET, &p, "txn get", true, err)) ==
	    NULL)
		return -1;
	if (PQntuples(r) == 0)
		rc = 1;
	else if (pg_txn_row_read(r, 0, t) != 0) {
		db_txn_cleanup(t);
		gw_err_set(err, DB_ERR_SQL, "txn get: out of memory");
		rc = -1;
	}
	PQclear(r);
	return rc;
}

int
pg_txn_find_csr(struct db *db, const uint8_t csr_sha256[32], char *txid,
    size_t n, struct gw_err *err)
{
	struct pg_params p = { 0 };
	PGresult *r;
	int rc = 1;

	pp_bytea(&p, csr_sha256, 32);
	r = pg_run_prep(db, PG_S_TXN_FIND_CSR, &p, "txn find csr", true, err);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 1) {
		snprintf(txid, n, "%s", PQgetvalue(r, 0, 0));
		rc = 0;
	}
	PQclear(r);
	return rc;
}

int
pg_challenge_find(struct db *db, const uint8_t hash[32], struct db_challenge *c,
    struct gw_err *err)
{
	struct pg_params p = { 0 };
	PGresult *r;
	int rc = 0;

	pp_bytea(&p, hash, 32);
	/* Its columns: id, expires, used, revoked, cn, email, ou, profile,
	 * upn. */
	r = pg_run_prep(db, PG_S_CHALLENGE_FIND, &p, "challenge find", true,
	    err);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return 1;
	}
	c->id = pg_int(r, 0, 0);
	c->expires = pg_int(r, 0, 1);
	c->used = pg_int(r, 0, 2);
	c->revoked = pg_bool(r, 0, 3);
	if (pg_str(r, 0, 4, &c->cn) != 0 || pg_str(r, 0, 5, &c->email) != 0 ||
	    pg_str(r, 0, 6, &c->ou) != 0 || pg_str(r, 0, 7, &c->profile) != 0 ||
	    pg_str(r, 0, 8, &c->upn) != 0) {
		db_challenge_cleanup(c);
		gw_err_set(err, DB_ERR_SQL, "challenge find: out of memory");
		rc = -1;
	}
	PQclear(r);
	return rc;
}

/* Reads the 8 columns of a certificate row (no DER). 0 or -1. */
static int
pg_cert_read(const PGresult *r, int row, struct db_cert *c)
{
	c->issued = pg_int(r, row, 4);
	c->not_after = pg_int(r, row, 5);
	c->revoked = pg_int(r, row, 6);
	if (pg_str(r, row, 0, &c->serial_hex) != 0 ||
	    pg_str(r, row, 1, &c->order_id) != 0 ||
	    pg_str(r, row, 2, &c->txid) != 0 ||
	    pg_str(r, row, 3, &c->subject) != 0 ||
	    pg_str(r, row, 7, &c->revoke_reason) != 0)
		return -1;
	return 0;
}

int
pg_cert_get(struct db *db, const char *serial_hex, struct db_cert *c,
    struct gw_err *err)
{
	PGresult *r;
	int rc;

	rc = pg_find(db,
	    "SELECT serial_hex, order_id, txid, subject, issued, not_after, "
	    "revoked, revoke_reason, cert_der FROM certificates "
	    "WHERE serial_hex = $1",
	    serial_hex, "cert get", &r, err);
	if (rc != 0)
		return rc;
	if (pg_cert_read(r, 0, c) != 0 ||
	    pg_bytes(r, 0, 8, &c->der, &c->der_len) != 0) {
		db_cert_cleanup(c);
		gw_err_set(err, DB_ERR_SQL, "cert get: out of memory");
		rc = -1;
	}
	PQclear(r);
	return rc;
}

int
pg_cert_renewal(struct db *db, const char *serial_hex,
    struct db_cert_renewal *rn, struct gw_err *err)
{
	PGresult *r;
	int rc;

	rc = pg_find(db,
	    "SELECT c.serial_hex, c.order_id, c.txid, c.subject, c.issued, "
	    "c.not_after, c.revoked, c.revoke_reason, c.cert_der, t.state, "
	    "t.profile, (SELECT s.txid FROM transactions s "
	    "WHERE s.renews = c.serial_hex AND s.state IN (1, 2) "
	    "ORDER BY s.id LIMIT 1), t.ou FROM certificates c "
	    "LEFT JOIN transactions t ON t.txid = c.txid "
	    "WHERE c.serial_hex = $1",
	    serial_hex, "cert renewal", &r, err);
	if (rc != 0)
		return rc;
	rn->txn_state = (int)pg_int(r, 0, 9);
	if (pg_cert_read(r, 0, &rn->cert) != 0 ||
	    pg_bytes(r, 0, 8, &rn->cert.der, &rn->cert.der_len) != 0 ||
	    pg_str(r, 0, 10, &rn->profile) != 0 ||
	    pg_str(r, 0, 11, &rn->successor) != 0 ||
	    pg_str(r, 0, 12, &rn->ou) != 0) {
		db_cert_renewal_cleanup(rn);
		gw_err_set(err, DB_ERR_SQL, "cert renewal: out of memory");
		rc = -1;
	}
	PQclear(r);
	return rc;
}

int
pg_user_get(struct db *db, const char *name, struct db_user_kdf *k,
    bool *can_issue, struct gw_err *err)
{
	PGresult *r;
	int64_t n, rr, p;
	int rc;

	rc = pg_find(db,
	    "SELECT kdf_n, kdf_r, kdf_p, salt, hash, can_issue, role FROM "
	    "users WHERE name = $1",
	    name, "user get", &r, err);
	if (rc != 0)
		return rc;
	n = pg_int(r, 0, 0);
	rr = pg_int(r, 0, 1);
	p = pg_int(r, 0, 2);
	if (n < 2 || rr < 1 || p < 1 ||
	    pg_fixed(r, 0, 3, k->salt, DB_USER_SALT_LEN) != 0 ||
	    pg_fixed(r, 0, 4, k->hash, DB_USER_HASH_LEN) != 0) {
		gw_err_set(err, DB_ERR_SQL, "user %s: malformed row", name);
		rc = -1;
	} else {
		k->n = (uint64_t)n;
		k->r = (uint64_t)rr;
		k->p = (uint64_t)p;
		*can_issue = pg_bool(r, 0, 5);
		snprintf(k->role, sizeof(k->role), "%s", PQgetvalue(r, 0, 6));
	}
	PQclear(r);
	return rc;
}

int
pg_user_profiles(struct db *db, const char *name, char **profiles,
    struct gw_err *err)
{
	PGresult *r;
	int rc;

	rc = pg_find(db, "SELECT profiles FROM users WHERE name = $1", name,
	    "user profiles", &r, err);
	if (rc != 0)
		return rc;
	if (pg_str(r, 0, 0, profiles) != 0 || *profiles == NULL) {
		gw_err_set(err, DB_ERR_SQL, "user profiles: out of memory");
		rc = -1;
	}
	PQclear(r);
	return rc;
}

int
pg_licence_used(struct db *db, const char *pool, int64_t *used,
    struct gw_err *err)
{
	PGresult *r;
	int rc;

	rc = pg_find(db, "SELECT used FROM licence_counts WHERE pool = $1",
	    pool, "licence used", &r, err);
	if (rc < 0)
		return -1;
	if (rc == 0)
		*used = pg_int(r, 0, 0);
	PQclear(r);
	return 0;
}

int
pg_licence_last_error(struct db *db, int code, int64_t *when, char **message,
    struct gw_err *err)
{
	struct pg_params p = { 0 };
	PGresult *r;
	int rc = 0;

	pp_int4(&p, code);
	r = pg_run(db,
	    "SELECT updated, epki_message FROM transactions "
	    "WHERE epki_code = $1 ORDER BY updated DESC, id DESC LIMIT 1",
	    &p, "licence last error", true, err);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 1) {
		*when = pg_int(r, 0, 0);
		if (pg_str(r, 0, 1, message) != 0) {
			gw_err_set(err, DB_ERR_SQL,
			    "licence last error: out of memory");
			rc = -1;
		}
	}
	PQclear(r);
	return rc;
}

int
pg_txn_count(struct db *db, int64_t counts[4], struct gw_err *err)
{
	PGresult *r;
	int i, state;

	r = pg_run(db,
	    "SELECT state, count(*) FROM transactions GROUP BY state", NULL,
	    "txn count", true, err);
	if (r == NULL)
		return -1;
	for (i = 0; i < PQntuples(r); i++) {
		state = (int)pg_int(r, i, 0);
		if (state >= DB_TXN_ORDERING && state <= DB_TXN_FAILED)
			counts[state] = pg_int(r, i, 1);
		counts[0] += pg_int(r, i, 1);
	}
	PQclear(r);
	return 0;
}

int
pg_txn_hourly(struct db *db, int64_t since, int64_t issued[24],
    int64_t failed[24], struct gw_err *err)
{
	struct pg_params p = { 0 };
	PGresult *r;
	int64_t h;
	int i;

	pp_int(&p, since);
	r = pg_run(db,
	    "SELECT (updated - $1) / 3600, state, count(*) FROM transactions "
	    "WHERE updated >= $1 AND state IN (2, 3) GROUP BY 1, 2",
	    &p, "txn hourly", true, err);
	if (r == NULL)
		return -1;
	for (i = 0; i < PQntuples(r); i++) {
		h = pg_int(r, i, 0);
		if (h < 0 || h >= 24)
			continue;
		if (pg_int(r, i, 1) == DB_TXN_ISSUED)
			issued[h] = pg_int(r, i, 2);
		else
			failed[h] = pg_int(r, i, 2);
	}
	PQclear(r);
	return 0;
}

int
pg_challenge_outstanding(struct db *db, int64_t now, int64_t *n,
    struct gw_err *err)
{
	struct pg_params p = { 0 };
	PGresult *r;

	pp_int(&p, now);
	r = pg_run(db,
	    "SELECT count(*) FROM challenges "
	    "WHERE expires > $1 AND used = 0 AND NOT revoked",
	    &p, "challenge outstanding", true, err);
	if (r == NULL)
		return -1;
	*n = pg_int(r, 0, 0);
	PQclear(r);
	return 0;
}
