/*
 * Issued certificates on SQLite. Rows are written by the DB_W_ISSUED
 * write (db_sq_outcome.c) together with the transaction's final state;
 * this file reads them back and records revocations (`scepgw cert
 * revoke`).
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "gw_err.h"
#include "db.h"
#include "db_int.h"
#include "db_sq_int.h"

/* Reads the current CERT_LIST row into *c. Returns 0 or -1 (no memory). */
static int
cert_row_read(sqlite3_stmt *st, struct db_cert *c)
{
	memset(c, 0, sizeof(*c));
	c->issued = sqlite3_column_int64(st, 4);
	c->not_after = sqlite3_column_int64(st, 5);
	c->revoked = sqlite3_column_int64(st, 6);
	if (db_col_strdup(st, 0, &c->serial_hex) != 0 ||
	    db_col_strdup(st, 1, &c->order_id) != 0 ||
	    db_col_strdup(st, 2, &c->txid) != 0 ||
	    db_col_strdup(st, 3, &c->subject) != 0 ||
	    db_col_strdup(st, 7, &c->revoke_reason) != 0)
		return -1;
	return 0;
}

static void
cert_cleanup_fn(void *p)
{
	db_cert_cleanup(p);
}

static int
cert_read_fn(sqlite3_stmt *st, void *p)
{
	return cert_row_read(st, p);
}

/* db_cert_list(): fn runs without the lock held. */
int
sq_cert_list(struct db *db, db_cert_fn *fn, void *arg, struct gw_err *err)
{
	struct db_rows r = { NULL, 0, 0, sizeof(struct db_cert),
		cert_cleanup_fn };
	size_t i;
	int rc;

	db_lock(db);
	rc = db_rows_load(db, db_stmt(db, DB_ST_CERT_LIST), &r, cert_read_fn,
	    "cert list", err);
	db_unlock(db);
	for (i = 0; rc == 0 && i < r.n; i++)
		if (fn(arg, (struct db_cert *)(void *)(r.v + i * r.size)) != 0)
			break;
	db_rows_cleanup(&r);
	return rc;
}

/* db_cert_get(): 0 found, 1 not found, -1 error. */
int
sq_cert_get(struct db *db, const char *serial_hex, struct db_cert *c,
    struct gw_err *err)
{
	sqlite3_stmt *st;
	int rc;

	memset(c, 0, sizeof(*c));
	db_lock(db);
	rc = db_stmt_find(db, DB_ST_CERT_GET, serial_hex, "cert get", &st, err);
	if (rc != 0)
		goto out;
	if (cert_row_read(st, c) != 0 ||
	    db_col_blobdup(st, 8, &c->der, &c->der_len) != 0) {
		db_cert_cleanup(c);
		gw_err_set(err, DB_ERR_SQL, "cert get: out of memory");
		rc = -1;
	}
out:
	db_stmt_done(st);
	db_unlock(db);
	return rc;
}

/* db_cert_renewal(): one query (CERT_RENEWAL) for the row, its
 * transaction and a successor. 0 found, 1 not found, -1 error. */
int
sq_cert_renewal(struct db *db, const char *serial_hex,
    struct db_cert_renewal *r, struct gw_err *err)
{
	sqlite3_stmt *st;
	int rc;

	memset(r, 0, sizeof(*r));
	db_lock(db);
	rc = db_stmt_find(db, DB_ST_CERT_RENEWAL, serial_hex, "cert renewal",
	    &st, err);
	if (rc != 0)
		goto out;
	r->txn_state = sqlite3_column_type(st, 9) == SQLITE_NULL ?
	    0 :
	    sqlite3_column_int(st, 9);
	if (cert_row_read(st, &r->cert) != 0 ||
	    db_col_blobdup(st, 8, &r->cert.der, &r->cert.der_len) != 0 ||
	    db_col_strdup(st, 10, &r->profile) != 0 ||
	    db_col_strdup(st, 11, &r->successor) != 0 ||
	    db_col_strdup(st, 12, &r->ou) != 0) {
		db_cert_renewal_cleanup(r);
		gw_err_set(err, DB_ERR_SQL, "cert renewal: out of memory");
		rc = -1;
	}
out:
	db_stmt_done(st);
	db_unlock(db);
	return rc;
}

/* 1 when a row with this serial exists, 0 when not, -1 (err set). The
 * caller holds the mutex. */
static int
cert_exists(struct db *db, const char *serial_hex, struct gw_err *err)
{
	sqlite3_stmt *st;
	int rc;

	rc = db_stmt_find(db, DB_ST_CERT_GET, serial_hex, "cert get", &st, err);
	db_stmt_done(st);
	if (rc == -1)
		return -1;
	return rc == 0 ? 1 : 0;
}

/* db_cert_set_revoked(): DB_ERR_NOTFOUND (no such serial) or DB_ERR_STATE
 * (already revoked) when no row changed. */
int
sq_cert_set_revoked(struct db *db, const char *serial_hex, int64_t when,
    const char *reason, struct gw_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, changed;

	db_lock(db);
	st = db_stmt(db, DB_ST_CERT_REVOKE);
	if (sqlite3_bind_int64(st, 1, when) != SQLITE_OK ||
	    db_bind_text(st, 2, reason) != SQLITE_OK ||
	    db_bind_text(st, 3, serial_hex) != SQLITE_OK) {
		db_err_sql(db, err, "cert revoke");
		db_stmt_done(st);
		goto out;
	}
	if (db_step_done(db, st, "cert revoke", err) == -1)
		goto out;
	changed = sqlite3_changes(db_sq(db)->h);
	if (changed == 0) {
		rc = cert_exists(db, serial_hex, err);
		if (rc == 1)
			gw_err_set(err, DB_ERR_STATE,
			    "certificate %s is "
			    "already revoked",
			    serial_hex);
		else if (rc == 0)
			gw_err_set(err, DB_ERR_NOTFOUND,
			    "no certificate with "
			    "serial %s",
			    serial_hex);
		rc = -1;
		goto out;
	}
	rc = 0;
out:
	db_unlock(db);
	return rc;
}
