/*
 * The hot writes of an enrollment, as data: db_txn_start() and the
 * db_txn_set_* family each fill a struct db_write (db_int.h) with its
 * kind and arguments and hand it to the group-commit queue (db_batch.c),
 * which runs it in the backend's next batch. Arguments are checked here,
 * once for every backend.
 */
#include <stdlib.h>
#include <string.h>

#include "gw_err.h"
#include "secure.h"
#include "db.h"
#include "db_int.h"

/* Checks the arguments of db_txn_start() and _submit(). */
static int
txn_start_check(const struct db_txn_new *n, struct gw_err *err)
{
	if (n->txid == NULL || n->txid[0] == '\0' || n->csr_sha256 == NULL ||
	    n->now <= 0) {
		gw_err_set(err, DB_ERR_ARG, "txn start: bad arguments");
		return -1;
	}
	return 0;
}

/*
 * README "How an enrollment works" steps 3-4, atomically: if n->txid is
 * known, *res = DB_START_EXISTS and *t holds it (the caller compares
 * csr_sha256).
 * Otherwise a renewal (n->renews set) must renew a certificate that has
 * no ORDERING or ISSUED successor yet (else DB_START_RENEWED), and the
 * challenge (if n->challenge_sha256 is set) must be known, unrevoked,
 * unused and unexpired, else *res names why; nothing is written then. Then the
 * challenge is marked used and the transaction recorded as ORDERING (*res =
 * DB_START_OK, *t filled). *t is zeroed first; the caller frees it with
 * db_txn_cleanup(). Returns 0 (see *res) or -1.
 */
int
db_txn_start(struct db *db, const struct db_txn_new *n, enum db_start *res,
    struct db_txn *t, struct gw_err *err)
{
	struct db_write j;

	memset(t, 0, sizeof(*t));
	*res = DB_START__MAX;
	if (txn_start_check(n, err) != 0)
		return -1;
	memset(&j, 0, sizeof(j));
	j.kind = DB_W_START;
	j.u.start.n = n;
	j.u.start.res = DB_START__MAX;
	if (db_write_run(db, &j, err) == -1) {
		db_txn_cleanup(&j.u.start.t);
		return -1;
	}
	*res = j.u.start.res;
	*t = j.u.start.t;
	return 0;
}

/* A db_txn_start_submit() in flight. */
struct txn_start_job {
	struct db_write w; /* first: the completion gets &w */
	db_start_fn *done;
	void *arg;
};

static void
txn_start_job_done(struct db_write *w, int rc, const struct gw_err *err)
{
	struct txn_start_job *q = (struct txn_start_job *)(void *)w;
	struct db_w_start *a = &w->u.start;

	if (rc == -1) {
		/* Whatever the write read was rolled back with the batch. */
		db_txn_cleanup(&a->t);
		a->res = DB_START__MAX;
	}
	q->done(q->arg, rc == -1 ? -1 : 0, a->res, &a->t, err);
	db_txn_cleanup(&a->t);
	free(q);
}

/*
 * db_txn_start() without waiting for another thread's commit: the write
 * joins the next group commit, and done(arg, rc, res, t, err) runs on the
 * thread that commits it (the database's writer thread as a rule; never
 * this one before returning), after the commit: rc 0 with res and t as
 * db_txn_start() sets them (t is borrowed for the call), or -1 with err. n and
 * everything it points to must stay valid until done runs. Returns 0, or -1
 * with err (bad arguments, out of memory) when done will never run.
 */
int
db_txn_start_submit(struct db *db, const struct db_txn_new *n,
    db_start_fn *done, void *arg, struct gw_err *err)
{
	struct txn_start_job *q;

	if (txn_start_check(n, err) != 0)
		return -1;
	if (done == NULL) {
		gw_err_set(err, DB_ERR_ARG, "txn start: bad arguments");
		return -1;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		gw_err_set(err, DB_ERR_SQL, "txn start: out of memory");
		return -1;
	}
	q->w.kind = DB_W_START;
	q->w.u.start.n = n;
	q->w.u.start.res = DB_START__MAX;
	q->w.done = txn_start_job_done;
	q->done = done;
	q->arg = arg;
	if (db_write_submit(db, &q->w, err) != 0) {
		free(q);
		return -1;
	}
	return 0;
}

/* Runs a state update of kind on the caller's thread, once committed. */
static int
txn_update_run(struct db *db, enum db_write_kind kind,
    const struct db_w_update *u, struct gw_err *err)
{
	struct db_write j;

	memset(&j, 0, sizeof(j));
	j.kind = kind;
	j.u.upd = *u;
	return db_write_run(db, &j, err) == -1 ? -1 : 0;
}

/*
 * Records the upstream OrderID of an ORDERING transaction as soon as it is
 * known (README "How an enrollment works" 5), so the reconciler can query
 * before it ever re-orders. Returns 0, or -1 with err set (DB_ERR_STATE
 * when the transaction is unknown or no longer ORDERING).
 */
int
db_txn_set_order(struct db *db, const char *txid, const char *order_id,
    int64_t now, struct gw_err *err)
{
	struct db_w_update u = { .txid = txid,
		.order_id = order_id,
		.now = now };

	return txn_update_run(db, DB_W_ORDER, &u, err);
}

/* Checks the arguments of db_txn_set_issued() and _submit(). */
static int
txn_issued_check(const struct db_w_update *u, struct gw_err *err)
{
	if (u->txid == NULL || u->der == NULL || u->len == 0 ||
	    u->serial_hex == NULL) {
		gw_err_set(err, DB_ERR_ARG, "txn set issued: bad arguments");
		return -1;
	}
	return 0;
}

/*
 * Stores an issued certificate: the certificates row and the transaction's
 * move to ISSUED (cert_der, order_id when not NULL) in one database
 * transaction. The CSR is dropped then: the order is final. Returns 0, or
 * -1 with err set and nothing written (DB_ERR_STATE when the transaction
 * is unknown or no longer ORDERING).
 */
int
db_txn_set_issued(struct db *db, const char *txid, const char *order_id,
    const uint8_t *der, size_t len, const char *serial_hex, int64_t not_after,
    const char *subject, int64_t now, struct gw_err *err)
{
	struct db_w_update u = { .txid = txid,
		.order_id = order_id,
		.der = der,
		.len = len,
		.serial_hex = serial_hex,
		.not_after = not_after,
		.subject = subject,
		.now = now };

	if (txn_issued_check(&u, err) != 0)
		return -1;
	return txn_update_run(db, DB_W_ISSUED, &u, err);
}

/* A queued db_txn_set_issued_submit(): owns copies of its arguments. */
struct txn_issued_job {
	struct db_write w; /* first: the completion gets &w */
	db_done_fn *done;
	void *arg;
	char *txid, *order_id, *serial_hex, *subject;
	uint8_t *der;
};

static void
txn_issued_job_free(struct txn_issued_job *q)
{
	if (q == NULL)
		return;
	free(q->txid);
	free(q->order_id);
	free(q->serial_hex);
	free(q->subject);
	free(q->der);
	free(q);
}

static void
txn_issued_job_done(struct db_write *w, int rc, const struct gw_err *err)
{
	struct txn_issued_job *q = (struct txn_issued_job *)(void *)w;

	q->done(q->arg, rc == -1 ? -1 : 0, err);
	txn_issued_job_free(q);
}

/* Copies s (NULL stays NULL) into *out. Returns 0, or -1 out of memory. */
static int
txn_strdup(const char *s, char **out)
{
	*out = NULL;
	if (s == NULL)
		return 0;
	*out = gw_strdup(s);
	return *out == NULL ? -1 : 0;
}

/*
 * db_txn_set_issued() without waiting: the arguments are copied, the
 * write joins the next group commit, and done(arg, rc, err) runs on the
 * thread that commits it (as for db_txn_start_submit()), after it (rc 0:
 * committed; -1: nothing written). Returns 0 when queued, or -1 with err set
 * and done never called.
 */
int
db_txn_set_issued_submit(struct db *db, const char *txid, const char *order_id,
    const uint8_t *der, size_t len, const char *serial_hex, int64_t not_after,
    const char *subject, int64_t now, db_done_fn *done, void *arg,
    struct gw_err *err)
{
	struct db_w_update u = { .txid = txid,
		.order_id = order_id,
		.der = der,
		.len = len,
		.serial_hex = serial_hex,
		.not_after = not_after,
		.subject = subject,
		.now = now };
	struct txn_issued_job *q;

	if (txn_issued_check(&u, err) != 0)
		return -1;
	if ((q = calloc(1, sizeof(*q))) == NULL ||
	    txn_strdup(txid, &q->txid) != 0 ||
	    txn_strdup(order_id, &q->order_id) != 0 ||
	    txn_strdup(serial_hex, &q->serial_hex) != 0 ||
	    txn_strdup(subject, &q->subject) != 0 ||
	    (q->der = malloc(len)) == NULL) {
		txn_issued_job_free(q);
		gw_err_set(err, DB_ERR_SQL, "txn set issued: out of memory");
		return -1;
	}
	memcpy(q->der, der, len);
	q->w.kind = DB_W_ISSUED;
	q->w.u.upd = u;
	q->w.u.upd.txid = q->txid;
	q->w.u.upd.order_id = q->order_id;
	q->w.u.upd.serial_hex = q->serial_hex;
	q->w.u.upd.subject = q->subject;
	q->w.u.upd.der = q->der;
	q->w.done = txn_issued_job_done;
	q->done = done;
	q->arg = arg;
	if (db_write_submit(db, &q->w, err) != 0) {
		txn_issued_job_free(q);
		return -1;
	}
	return 0;
}

/*
 * Moves an ORDERING transaction to FAILED with the failInfo (enum
 * scep_fail) and short text a retry will be answered with. Returns 0, or
 * -1 with err set (DB_ERR_STATE when unknown or no longer ORDERING).
 */
int
db_txn_set_failed(struct db *db, const char *txid, int fail_info,
    const char *fail_text, int64_t now, struct gw_err *err)
{
	return db_txn_set_failed_epki(db, txid, fail_info, fail_text, 0, NULL,
	    now, err);
}

/*
 * db_txn_set_failed() for an order GlobalSign refused: also keeps its
 * ErrorCode (0: none) and ErrorMessage (may be NULL) for the admin API and
 * `scepgw check`.
 */
int
db_txn_set_failed_epki(struct db *db, const char *txid, int fail_info,
    const char *fail_text, int epki_code, const char *epki_message, int64_t now,
    struct gw_err *err)
{
	struct db_w_update u = { .txid = txid,
		.fail_info = fail_info,
		.fail_text = fail_text,
		.epki_code = epki_code,
		.epki_message = epki_message,
		.now = now };

	return txn_update_run(db, DB_W_FAILED, &u, err);
}

/* A probe on its way through the queue (db_write_probe_submit()). */
struct probe_job {
	struct db_write w; /* first: the completion gets &w */
	db_done_fn *done;
	void *arg;
};

static void
probe_job_done(struct db_write *w, int rc, const struct gw_err *err)
{
	struct probe_job *q = (struct probe_job *)(void *)w;

	q->done(q->arg, rc == -1 ? -1 : 0, err);
	free(q);
}

/*
 * Queues a write that writes nothing (DB_W_NONE) behind whatever is queued:
 * done(arg, rc, err) runs once the thread leading the batches got through
 * it, so it tells that the database's writer is not stuck (the watchdog of
 * README "Running under systemd"). Returns 0, or -1 with err set (done will
 * not run).
 */
int
db_write_probe_submit(struct db *db, db_done_fn *done, void *arg,
    struct gw_err *err)
{
	struct probe_job *q;

	if ((q = calloc(1, sizeof(*q))) == NULL) {
		gw_err_set(err, DB_ERR_SQL, "probe: out of memory");
		return -1;
	}
	q->w.kind = DB_W_NONE;
	q->w.done = probe_job_done;
	q->done = done;
	q->arg = arg;
	if (db_write_submit(db, &q->w, err) != 0) {
		free(q);
		return -1;
	}
	return 0;
}
