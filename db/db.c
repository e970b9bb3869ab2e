/*
 * The database module's front: db_open() picks the backend (struct
 * db_backend, db_int.h) from the options, and every function of db.h
 * checks its arguments here and calls the backend's operation. Also the
 * code no backend needs to repeat: freeing rows, the order in which a
 * challenge is refused, the row arrays of the lists. The hot writes are
 * db_write.c's, the group-commit queue db_batch.c's, the NDES users'
 * passwords db_user.c's. Library code: failures are reported through
 * struct gw_err, never logged.
 */
#include <stdlib.h>
#include <string.h>

#include "gw_err.h"
#include "db.h"
#include "db_int.h"

/* The backend named by o, or NULL. Unnamed: PostgreSQL when a url is
 * given, else SQLite. */
static const struct db_backend *
db_backend_find(const struct db_open_opts *o)
{
	const struct db_backend *sq = db_sq_backend(), *pg = db_pg_backend();

	if (o->backend == NULL || o->backend[0] == '\0')
		return o->url != NULL ? pg : sq;
	if (strcmp(o->backend, sq->name) == 0)
		return sq;
	if (strcmp(o->backend, pg->name) == 0)
		return pg;
	return NULL;
}

/* Initialises the group-commit queue's synchronisation. Returns 0, or -1
 * with nothing left to destroy. */
static int
db_sync_init(struct db *db)
{
	if (pthread_mutex_init(&db->qmu, NULL) != 0)
		return -1;
	if (pthread_cond_init(&db->qdone, NULL) != 0)
		goto err_qmu;
	if (pthread_cond_init(&db->qwork, NULL) != 0)
		goto err_qdone;
	db->qtail = &db->qhead;
	return 0;
err_qdone:
	pthread_cond_destroy(&db->qdone);
err_qmu:
	pthread_mutex_destroy(&db->qmu);
	return -1;
}

/* Opens the database o names with its backend; see db_open(). */
static int
db_open_opts(struct db **out, const struct db_open_opts *o, struct gw_err *err)
{
	const struct db_backend *be;
	struct db *db;

	*out = NULL;
	if ((be = db_backend_find(o)) == NULL) {
		gw_err_set(err, DB_ERR_ARG, "unknown database backend %s",
		    o->backend);
		return -1;
	}
	if ((db = calloc(1, sizeof(*db))) == NULL) {
		gw_err_set(err, DB_ERR_SQL, "out of memory");
		return -1;
	}
	if (db_sync_init(db) != 0) {
		gw_err_set(err, DB_ERR_SQL, "pthread_mutex_init failed");
		free(db);
		return -1;
	}
	db->be = be;
	if (be->open(db, o, err) != 0) {
		db_close(db);
		return -1;
	}
	*out = db;
	return 0;
}

/*
 * Opens (creating if needed) the database at path and migrates it to the
 * latest schema. On success *out is a new handle the caller closes with
 * db_close(); on failure *out is NULL and err says why.
 */
int
db_open(struct db **out, const char *path, struct gw_err *err)
{
	const struct db_open_opts o = { .backend = "sqlite", .path = path };

	return db_open_opts(out, &o, err);
}

/*
 * Opens the PostgreSQL database url ([db] url: a libpq URI or key=value
 * string) and migrates it, as db_open() does a file. password (or NULL:
 * the URL's, or libpq's PGPASSFILE) is never copied into err. app_name
 * names the connections in pg_stat_activity (application_name
 * "scepgw/<app_name>"; NULL: the process id). timeout_s ([db]
 * timeout_seconds; 0: DB_TIMEOUT_S) bounds every wait on the server:
 * connecting, and each answer (README "PostgreSQL").
 */
int
db_open_url(struct db **out, const char *url, const char *password,
    const char *app_name, int timeout_s, struct gw_err *err)
{
	const struct db_open_opts o = { "postgresql", NULL, url, password,
		app_name, false, timeout_s };

	return db_open_opts(out, &o, err);
}

/*
 * Opens the SQLite database at path read-only, for `scepgw db migrate`:
 * nothing is created or migrated (a file at another schema version is a
 * DB_ERR_SCHEMA error), and db_serve_lock() on the handle tries once
 * instead of waiting. As db_open() otherwise.
 */
int
db_open_readonly(struct db **out, const char *path, struct gw_err *err)
{
	const struct db_open_opts o = { .backend = "sqlite",
		.path = path,
		.readonly = true };

	return db_open_opts(out, &o, err);
}

/* The name of the backend the handle runs on: "sqlite", "postgresql". */
const char *
db_backend_name(struct db *db)
{
	return db->be->name;
}

/* Stops the writer thread, closes the backend and frees the handle;
 * accepts NULL. */
void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	db_writer_stop(db);
	db->be->close(db);
	pthread_cond_destroy(&db->qwork);
	pthread_cond_destroy(&db->qdone);
	pthread_mutex_destroy(&db->qmu);
	free(db);
}

/*
 * Claims the database for the calling `scepgw serve` until db_close(), so
 * that one server at a time orders for its transactions (README "How an
 * enrollment works" 7: the reconciler finishes what only this process
 * can have in flight). SQLite: an exclusive lock on the file PATH.lock,
 * waited for a few seconds (a server just stopped may still be exiting),
 * or tried once on a db_open_readonly() handle (`scepgw db migrate`,
 * which must not run beside a server). PostgreSQL: nothing, several
 * servers share the database (README "PostgreSQL": the leases keep their
 * orders apart). The other CLI commands do not claim it: they place no
 * orders. Returns 0, or
 * -1 with err set (DB_ERR_BUSY: another server holds it).
 */
int
db_serve_lock(struct db *db, struct gw_err *err)
{
	return db->be->serve_lock(db, err);
}

/* The schema version, or -1 on error. */
int
db_schema_version(struct db *db)
{
	return db->be->schema_version(db);
}

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

/* Frees what a transaction holds and zeroes it; accepts NULL. */
void
db_txn_cleanup(struct db_txn *t)
{
	if (t == NULL)
		return;
	free(t->txid);
	free(t->cn);
	free(t->email);
	free(t->ou);
	free(t->csr_pem);
	free(t->order_id);
	free(t->cert_der);
	free(t->fail_text);
	free(t->profile);
	free(t->renews);
	free(t->upn);
	free(t->licence_pool);
	free(t->epki_message);
	free(t->intune_csr);
	memset(t, 0, sizeof(*t));
}

/* Frees the strings of a certificate row and zeroes it; accepts NULL. */
void
db_cert_cleanup(struct db_cert *c)
{
	if (c == NULL)
		return;
	free(c->serial_hex);
	free(c->order_id);
	free(c->txid);
	free(c->subject);
	free(c->revoke_reason);
	free(c->der);
	free(c->cn);
	free(c->email);
	memset(c, 0, sizeof(*c));
}

/* Frees what db_cert_renewal() filled and zeroes it; accepts NULL. */
void
db_cert_renewal_cleanup(struct db_cert_renewal *r)
{
	if (r == NULL)
		return;
	db_cert_cleanup(&r->cert);
	free(r->profile);
	free(r->successor);
	free(r->ou);
	memset(r, 0, sizeof(*r));
}

/* Why a found challenge cannot be used at now, or DB_START_OK. */
enum db_start
db_challenge_check(const struct db_challenge *c, int64_t now)
{
	if (c->revoked)
		return DB_START_CHALLENGE_REVOKED;
	if (c->used != 0)
		return DB_START_CHALLENGE_USED;
	if (c->expires <= now)
		return DB_START_CHALLENGE_EXPIRED;
	return DB_START_OK;
}

/* Frees every element and the array; accepts an empty set. */
void
db_rows_cleanup(struct db_rows *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		r->cleanup(r->v + i * r->size);
	free(r->v);
	r->v = NULL;
	r->n = r->cap = 0;
}

/* Makes room for one more element and returns it, zeroed; or NULL. */
void *
db_rows_next(struct db_rows *r)
{
	unsigned char *nv;
	size_t cap;

	if (r->n == r->cap) {
		cap = r->cap == 0 ? 16 : r->cap * 2;
		if ((nv = realloc(r->v, cap * r->size)) == NULL)
			return NULL;
		r->v = nv;
		r->cap = cap;
	}
	memset(r->v + r->n * r->size, 0, r->size);
	return r->v + r->n++ * r->size;
}

/*
 * Looks up the transaction with SCEP transactionID txid. *t is zeroed
 * first; when found it holds malloc'd copies the caller frees with
 * db_txn_cleanup(). Returns 0 found, 1 not found, -1 error (err set).
 */
int
db_txn_get(struct db *db, const char *txid, struct db_txn *t,
    struct gw_err *err)
{
	memset(t, 0, sizeof(*t));
	return db->be->txn_get(db, txid, t, err);
}

int
db_txn_find_csr(struct db *db, const uint8_t csr_sha256[32], char *txid,
    size_t n, struct gw_err *err)
{
	if (n > 0)
		txid[0] = '\0';
	return db->be->txn_find_csr(db, csr_sha256, txid, n, err);
}

/*
 * Looks a challenge up by hash without consuming it, so the caller can
 * decide the identity first (README "Identity templates": a bad template
 * must not burn a challenge). Returns 0 with *c filled (id, expiry, state,
 * binding; the caller frees it with db_challenge_cleanup()) and *res
 * telling whether it is usable at now, 1 when unknown, or -1 on error.
 */
int
db_challenge_peek(struct db *db, const uint8_t hash[32], int64_t now,
    struct db_challenge *c, enum db_start *res, struct gw_err *err)
{
	int rc;

	memset(c, 0, sizeof(*c));
	*res = DB_START_CHALLENGE_BAD;
	rc = db->be->challenge_find(db, hash, c, err);
	if (rc != 0) {
		db_challenge_cleanup(c);
		return rc;
	}
	*res = db_challenge_check(c, now);
	return 0;
}

/*
 * Looks one certificate up by its serial (upper-case hex, as stored).
 * Returns 0 found (*c holds copies; free with db_cert_cleanup()), 1 not
 * found, -1 error.
 */
int
db_cert_get(struct db *db, const char *serial_hex, struct db_cert *c,
    struct gw_err *err)
{
	memset(c, 0, sizeof(*c));
	return db->be->cert_get(db, serial_hex, c, err);
}

/*
 * Looks up the certificate with this serial (upper-case hex) for a
 * renewal: the row with its DER, the state, [profile NAME] and ordered OU
 * of the transaction that issued it (found under its archived name too, as
 * db_txn_archive() renames both), and a successor that makes a second
 * renewal refused. Returns 0 found (*r holds copies; free with
 * db_cert_renewal_cleanup()), 1 not found, -1 error (err set).
 */
int
db_cert_renewal(struct db *db, const char *serial_hex,
    struct db_cert_renewal *r, struct gw_err *err)
{
	memset(r, 0, sizeof(*r));
	return db->be->cert_renewal(db, serial_hex, r, err);
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
	return db->be->challenge_put(db, hash, now, expires, b, id, err);
}

/*
 * Stores a new challenge without identity by the hash of its secret, for
 * one [profile NAME] (profile NULL: any profile), unless max_outstanding
 * challenges are outstanding already; concurrent callers cannot overshoot
 * the cap. Returns 0 stored (*id set when not NULL), 1 cap reached, -1
 * error.
 */
int
db_challenge_put_capped(struct db *db, const uint8_t hash[32], int64_t now,
    int64_t expires, int64_t max_outstanding, const char *profile, int64_t *id,
    struct gw_err *err)
{
	return db->be->challenge_put_capped(db, hash, now, expires,
	    max_outstanding, profile, id, err);
}

/*
 * Withdraws a challenge so it can no longer be used. Revoking a challenge
 * twice is fine. Returns 0, or -1 with err set (DB_ERR_NOTFOUND for an
 * unknown id).
 */
int
db_challenge_revoke(struct db *db, int64_t id, struct gw_err *err)
{
	return db->be->challenge_revoke(db, id, err);
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
	return db->be->challenge_list(db, fn, arg, err);
}

/*
 * Calls fn for the challenges in state (DB_CH_ANY: all) as of now, newest
 * first, with an id below before (0: no bound; the next page of a
 * listing), at most limit of them, until fn returns non-zero.
 */
int
db_challenge_list_state(struct db *db, enum db_challenge_state state,
    int64_t now, int64_t before, size_t limit, db_challenge_fn *fn, void *arg,
    struct gw_err *err)
{
	if ((int)state < 0 || state >= DB_CH__MAX) {
		gw_err_set(err, DB_ERR_ARG, "challenge list: bad state");
		return -1;
	}
	return db->be->challenge_list_state(db, state, now,
	    before > 0 ? before : INT64_MAX, limit, fn, arg, err);
}

/*
 * Sets *n to the number of outstanding challenges at now: not used, not
 * revoked, not expired.
 */
int
db_challenge_outstanding(struct db *db, int64_t now, int64_t *n,
    struct gw_err *err)
{
	*n = 0;
	return db->be->challenge_outstanding(db, now, n, err);
}

/*
 * Calls fn for every ORDERING transaction, oldest first, until fn returns
 * non-zero: the reconciler's work list. Rows are read first and fn runs
 * without the lock, so it may call db_txn_set_*(). Returns 0 (also when
 * fn stopped early), or -1 with err set.
 */
int
db_txn_list_unfinished(struct db *db, db_txn_fn *fn, void *arg,
    struct gw_err *err)
{
	return db->be->txn_list_unfinished(db, fn, arg, err);
}

/*
 * Records that Intune heard a transaction's outcome (README "Microsoft
 * Intune"): DB_INTUNE_VALIDATED becomes to, NOTIFIED only for an ISSUED
 * transaction, FAILURE_SENT or FAILURE_UNSENT only for a FAILED one, and
 * the CSR kept for the notification goes. Returns 0 when it changed, 1
 * when the transaction is not VALIDATED in that state (not final yet, or
 * recorded already: a notification is recorded once), -1 on error.
 */
int
db_txn_set_intune(struct db *db, const char *txid, enum db_intune to,
    int64_t now, struct gw_err *err)
{
	enum db_txn_state need;

	if (to == DB_INTUNE_NOTIFIED)
		need = DB_TXN_ISSUED;
	else if (to == DB_INTUNE_FAILURE_SENT || to == DB_INTUNE_FAILURE_UNSENT)
		need = DB_TXN_FAILED;
	else {
		gw_err_set(err, DB_ERR_ARG, "intune state %d is no outcome",
		    (int)to);
		return -1;
	}
	if (txid == NULL) {
		gw_err_set(err, DB_ERR_ARG, "no transactionID");
		return -1;
	}
	return db->be->txn_set_intune(db, txid, (int)to, need, now, err);
}

/*
 * Claims the sending of a final VALIDATED transaction's notification for
 * this caller (README "Microsoft Intune"): several gateways share a
 * PostgreSQL database, and a CertPoll on one must not send the
 * notification another is sending. Taken when no claim is younger than
 * hold_s seconds (a crashed sender's expires); db_txn_set_intune() and
 * db_txn_unclaim_intune() end it. Returns 0 claimed, 1 not (held
 * elsewhere, or nothing to notify), -1 on error.
 */
int
db_txn_claim_intune(struct db *db, const char *txid, int64_t now, int hold_s,
    struct gw_err *err)
{
	if (txid == NULL || hold_s < 0) {
		gw_err_set(err, DB_ERR_ARG, "txn claim intune: bad arguments");
		return -1;
	}
	return db->be->txn_claim_intune(db, txid, now, hold_s, err);
}

/* Ends this caller's claim (the notification failed): 0, 1 none, -1. */
int
db_txn_unclaim_intune(struct db *db, const char *txid, struct gw_err *err)
{
	if (txid == NULL) {
		gw_err_set(err, DB_ERR_ARG, "txn unclaim intune: no txid");
		return -1;
	}
	return db->be->txn_claim_intune(db, txid, 0, -1, err);
}

/*
 * Calls fn for every transaction Intune validated that is final (ISSUED
 * or FAILED) while Intune has not heard its outcome, oldest first, for
 * the reconciler; fn runs without any lock and may call
 * db_txn_set_intune(). Returns 0 (also when fn stopped early) or -1.
 */
int
db_txn_list_intune(struct db *db, db_txn_fn *fn, void *arg, struct gw_err *err)
{
	return db->be->txn_list_intune(db, fn, arg, err);
}

/*
 * Renames a finished transaction (ISSUED or FAILED) with the given row id
 * to "txid@id", together with its certificate, so that a new request may
 * use the transactionID without overwriting anything. Returns 0 when a
 * row was renamed, 1 when there was none to rename, -1 on error.
 */
int
db_txn_archive(struct db *db, const char *txid, int64_t id, struct gw_err *err)
{
	return db->be->txn_archive(db, txid, id, err);
}

/*
 * Calls fn for the transactions in state (0: any) whose identity has
 * common name cn (NULL: any), newest first, at most limit of them. The
 * rows carry no CSR and no certificate.
 */
int
db_txn_list(struct db *db, enum db_txn_state state, const char *cn,
    size_t limit, db_txn_fn *fn, void *arg, struct gw_err *err)
{
	return db->be->txn_list(db, state, cn, limit, fn, arg, err);
}

/*
 * Counts transactions by state: counts[DB_TXN_ORDERING], [DB_TXN_ISSUED]
 * and [DB_TXN_FAILED]; counts[0] is the total.
 */
int
db_txn_count(struct db *db, int64_t counts[4], struct gw_err *err)
{
	memset(counts, 0, 4 * sizeof(counts[0]));
	return db->be->txn_count(db, counts, err);
}

/*
 * Counts the transactions that became ISSUED and FAILED in each of the 24
 * hours from since (issued[0]: [since, since + 3600)), by their last
 * change; one indexed range read (transactions_updated).
 */
int
db_txn_hourly(struct db *db, int64_t since, int64_t issued[24],
    int64_t failed[24], struct gw_err *err)
{
	memset(issued, 0, 24 * sizeof(issued[0]));
	memset(failed, 0, 24 * sizeof(failed[0]));
	return db->be->txn_hourly(db, since, issued, failed, err);
}

/*
 * The licences counted against pool (README "Licences") into *used: 0
 * when none yet. Returns 0, or -1 with err set.
 */
int
db_licence_used(struct db *db, const char *pool, int64_t *used,
    struct gw_err *err)
{
	*used = 0;
	return db->be->licence_used(db, pool, used, err);
}

/*
 * The newest transaction GlobalSign refused with ErrorCode code: when
 * (*when, unix seconds; 0 with *message NULL when there is none) and its
 * ErrorMessage (*message, the caller frees). Returns 0, or -1 with err set.
 */
int
db_licence_last_error(struct db *db, int code, int64_t *when, char **message,
    struct gw_err *err)
{
	*when = 0;
	*message = NULL;
	return db->be->licence_last_error(db, code, when, message, err);
}

/*
 * Calls fn for every issued certificate, oldest first, until fn returns
 * non-zero. fn runs without the lock held and may call other db
 * functions. Returns 0 (also when fn stopped early), or -1 with err set.
 */
int
db_cert_list(struct db *db, db_cert_fn *fn, void *arg, struct gw_err *err)
{
	return db->be->cert_list(db, fn, arg, err);
}

/*
 * Calls fn for the issued certificates with serial serial_hex (NULL: any)
 * whose transaction's common name is cn (NULL: any), newest first, at
 * most limit of them. The rows carry no DER.
 */
int
db_cert_find(struct db *db, const char *serial_hex, const char *cn,
    size_t limit, db_cert_fn *fn, void *arg, struct gw_err *err)
{
	struct db_cert_query q = { 0 };

	q.serial_hex = serial_hex;
	q.cn = cn;
	q.limit = limit;
	return db_cert_search(db, &q, fn, arg, err);
}

/*
 * Calls fn for the issued certificates q selects (struct db_cert_query),
 * newest first, until fn returns non-zero; the rows carry their
 * transaction's CN and e-mail address, no DER. fn runs without the lock
 * held. Returns 0, or -1 with err set.
 */
int
db_cert_search(struct db *db, const struct db_cert_query *q, db_cert_fn *fn,
    void *arg, struct gw_err *err)
{
	if (q == NULL || (unsigned)q->state >= DB_CERT__MAX) {
		gw_err_set(err, DB_ERR_ARG, "cert search: bad argument");
		return -1;
	}
	return db->be->cert_search(db, q, fn, arg, err);
}

/*
 * Records that the certificate with this serial was revoked at when
 * (unix seconds, > 0) for reason (free text, or NULL). Only a certificate
 * not yet revoked changes. Returns 0, or -1 with err->code DB_ERR_NOTFOUND
 * (no such serial), DB_ERR_STATE (already revoked), DB_ERR_ARG or
 * DB_ERR_SQL.
 */
int
db_cert_set_revoked(struct db *db, const char *serial_hex, int64_t when,
    const char *reason, struct gw_err *err)
{
	if (serial_hex == NULL || when <= 0) {
		gw_err_set(err, DB_ERR_ARG, "cert revoke: bad argument");
		return -1;
	}
	return db->be->cert_set_revoked(db, serial_hex, when, reason, err);
}
