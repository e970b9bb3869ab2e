/*
 * The PostgreSQL backend's exec_batch: a batch of hot writes from the
 * group-commit queue (db_batch.c) goes out as ONE libpq pipeline on the
 * writer connection: BEGIN, one server-side function call per write (a
 * start also reads its row back), COMMIT, Sync. That is one network round
 * trip and one WAL flush for the whole batch.
 *
 * No outcome the gateway expects raises an error: the functions
 * (db_pg_schema.c) answer with a status, so the pipeline aborts only on
 * the unexpected (deadlock, failover, lost connection, a bug). An aborted
 * batch is run again one write per transaction, so one bad write cannot
 * sink the others. When the connection is lost, whether the COMMIT
 * happened is unknown; each write is then sent again on a new connection,
 * which is safe because every function is idempotent: a start already
 * stored answers EXISTS, a certificate or failure already stored answers
 * "stored already", an OrderID is simply set again. The callers hear of a
 * write only after exec_batch returns, that is after the commit covering
 * it (README "How an enrollment works"). Every wait on the server is
 * bounded by [db] timeout_seconds + 2 s (pg_wait_result()): a silent
 * server counts as a lost connection; and once no connection can be made
 * at all, the rest of the batch fails at once (the database is down)
 * instead of each write waiting out its own tries.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "gw_err.h"
#include "db.h"
#include "db_int.h"
#include "db_pg_int.h"

/* How a pipeline went. */
enum pipe_st {
	PIPE_OK,      /* committed; every job's rc and err set */
	PIPE_ABORTED, /* rolled back; nothing of it stored */
	PIPE_LOST,    /* connection lost; the commit may have happened */
	PIPE_DOWN,    /* no connection could be made; nothing sent */
};

/* Attempts at one write alone after its batch failed. */
#define PG_JOB_TRIES 3

/* How long the writer waits on a socket that does not drain (ms). */
#define PG_FLUSH_MS 30000

/* The statement of a write of kind k: PG_S__MAX for none (DB_W_NONE), -1
 * for an unknown kind. */
static int
job_stmt(enum db_write_kind k)
{
	switch (k) {
	case DB_W_NONE:
		return PG_S__MAX;
	case DB_W_START:
		return PG_S_TXN_START;
	case DB_W_ORDER:
		return PG_S_TXN_SET_ORDER;
	case DB_W_ISSUED:
		return PG_S_TXN_SET_ISSUED;
	case DB_W_FAILED:
		return PG_S_TXN_SET_FAILED;
	case DB_W_EVENT:
		return PG_S_TXN_EVENT;
	default:
		return -1;
	}
}

/* Sets p to the parameters of write j; returns its statement, or
 * PG_S__MAX for none (DB_W_NONE) and -1 for an unknown kind. */
static int
job_params(const struct db_write *j, int64_t owner, struct pg_params *p)
{
	const struct db_txn_new *n;
	const struct db_w_update *u = &j->u.upd;

	memset(p, 0, sizeof(*p));
	switch (j->kind) {
	case DB_W_START:
		n = j->u.start.n;
		pp_text(p, n->txid);
		pp_bytea(p, n->csr_sha256, 32);
		pp_bytea(p, n->challenge_sha256,
		    n->challenge_sha256 != NULL ? 32 : 0);
		pp_text(p, n->csr_cn);
		pp_text(p, n->csr_email);
		pp_text(p, n->csr_ou);
		pp_text(p, n->csr_pem);
		pp_int(p, n->now);
		pp_bool(p, n->identity_final);
		pp_text(p, n->profile);
		pp_bytea(p, n->key_sha256, n->key_sha256 != NULL ? 32 : 0);
		pp_text(p, n->renews);
		pp_text(p, n->upn);
		pp_text(p, n->licence_pool);
		/* The handle's incarnation (db_node_register()) owns the
		 * row; a handle without one (the CLI's): NULL. */
		if (owner > 0)
			pp_int(p, owner);
		else
			pp_limit(p, 0);
		/* Validated by Intune (README "Microsoft Intune"). */
		pp_int4(p,
		    n->intune_csr != NULL ? DB_INTUNE_VALIDATED :
					    DB_INTUNE_NONE);
		pp_bytea(p, n->intune_csr, n->intune_csr_len);
		break;
	case DB_W_ORDER:
		pp_text(p, u->txid);
		pp_text(p, u->order_id);
		pp_int(p, u->now);
		break;
	case DB_W_ISSUED:
		pp_text(p, u->txid);
		pp_text(p, u->order_id);
		pp_bytea(p, u->der, u->len);
		pp_text(p, u->serial_hex);
		pp_int(p, u->not_after);
		pp_text(p, u->subject);
		pp_int(p, u->now);
		break;
	case DB_W_FAILED:
		pp_text(p, u->txid);
		pp_int4(p, u->fail_info);
		pp_text(p, u->fail_text);
		pp_int(p, u->now);
		pp_int4(p, u->epki_code);
		if (u->epki_code == 0)
			p->v[p->n - 1] = NULL;
		pp_text(p, u->epki_message);
		break;
	case DB_W_EVENT:
		pp_text(p, j->u.ev.txid);
		pp_int(p, j->u.ev.at);
		pp_text(p, j->u.ev.kind);
		pp_text(p, j->u.ev.detail);
		pp_text(p, j->u.ev.cn);
		break;
	default:
		break;
	}
	return job_stmt(j->kind);
}

/* The next result of the pipeline, with the NULL that ends a statement's
 * results consumed. NULL when the connection is gone or the server did
 * not answer by deadline (ms, monotonic). */
static PGresult *
pipe_result(PGconn *c, int64_t deadline)
{
	PGresult *r, *x;
	int i;

	if (pg_wait_result(c, deadline) == 1 || (r = PQgetResult(c)) == NULL)
		return NULL;
	if (PQresultStatus(r) == PGRES_PIPELINE_SYNC)
		return r;
	for (i = 0; i < 16 && pg_wait_result(c, deadline) != 1 &&
	     (x = PQgetResult(c)) != NULL;
	     i++)
		PQclear(x);
	return r;
}

/* Flushes what the pipeline queued without blocking, reading meanwhile so
 * that the server never waits on a full socket. 0, or -1 when lost. */
static int
pipe_flush(PGconn *c)
{
	struct pollfd pfd;
	int f;

	while ((f = PQflush(c)) == 1) {
		pfd.fd = PQsocket(c);
		pfd.events = POLLIN | POLLOUT;
		pfd.revents = 0;
		if (poll(&pfd, 1, PG_FLUSH_MS) <= 0)
			return -1;
		if ((pfd.revents & POLLIN) != 0 && PQconsumeInput(c) != 1)
			return -1;
	}
	return f == 0 ? 0 : -1;
}

/* Reads the status of a function call (its int), or sets why. */
static int
job_status(PGresult *r, PGconn *c, const char *what, int *status,
    struct gw_err *why)
{
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK ||
	    PQntuples(r) != 1) {
		pg_err_res(r, c, what, why);
		return -1;
	}
	*status = (int)pg_int(r, 0, 0);
	return 0;
}

/* Sets the job's outcome from its function's status. unknown: this is a
 * retry after a commit whose outcome was lost. */
static void
job_outcome(struct db_write *j, int status, bool unknown)
{
	const char *txid = j->u.upd.txid;

	j->rc = DB_WRITE_KEEP;
	if (status == 0 || (status == 1 && unknown))
		return;
	j->rc = -1;
	if (status == -2) /* DB_ERR_SQL, as SQLite's UNIQUE constraint */
		gw_err_set(&j->err, DB_ERR_SQL,
		    "txn set issued: certificate %s is stored already",
		    j->u.upd.serial_hex);
	else
		gw_err_set(&j->err, DB_ERR_STATE,
		    "txn set %s: transaction %s is unknown or no longer "
		    "ordering",
		    j->kind == DB_W_ORDER      ? "order" :
			j->kind == DB_W_ISSUED ? "issued" :
						 "failed",
		    txid);
}

/* Reads one job's results. 0, or -1 with why set (the pipeline failed). */
static int
job_read(PGconn *c, int64_t deadline, struct db_write *j, bool unknown,
    struct gw_err *why)
{
	struct db_w_start *a = &j->u.start;
	PGresult *r;
	int status = 0, rc = -1;

	if (j->kind == DB_W_NONE) {
		j->rc = DB_WRITE_UNDO;
		return 0;
	}
	r = pipe_result(c, deadline);
	if (j->kind != DB_W_START) {
		if (job_status(r, c, "batch write", &status, why) != 0)
			goto out;
		job_outcome(j, status, unknown);
		rc = 0;
		goto out;
	}
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK ||
	    PQntuples(r) != 1 || PQnfields(r) != PG_TXN_NCOLS + 1) {
		pg_err_res(r, c, "txn start", why);
		goto out;
	}
	/* One row: the transaction's columns (NULL when there is none),
	 * then the status (migration 6). */
	status = (int)pg_int(r, 0, PG_TXN_NCOLS);
	a->res = (enum db_start)status;
	if (status < 0 || status >= DB_START__MAX) {
		gw_err_set(why, DB_ERR_SQL, "txn start: status %d", status);
		goto out;
	}
	j->rc = status == DB_START_OK ? DB_WRITE_KEEP : DB_WRITE_UNDO;
	if ((status == DB_START_OK || status == DB_START_EXISTS) &&
	    !pg_null(r, 0, 0) && pg_txn_row_read(r, 0, &a->t) != 0) {
		db_txn_cleanup(&a->t);
		j->rc = -1;
		gw_err_set(&j->err, DB_ERR_SQL, "txn start: out of memory");
	}
	rc = 0;
out:
	PQclear(r);
	return rc;
}

/* The writer connection, made afresh when there is none, it broke, or it
 * lost its prepared statements. */
static PGconn *
writer_conn(struct db *db, struct gw_err *err)
{
	struct db_pg *pg = db_pg(db);

	if (pg->writer != NULL && PQstatus(pg->writer) == CONNECTION_OK &&
	    PQtransactionStatus(pg->writer) == PQTRANS_IDLE &&
	    !pg_conn_lost(pg->writer))
		return pg->writer;
	if (pg->writer != NULL)
		PQfinish(pg->writer);
	pg->writer = pg_connect(pg, err);
	return pg->writer;
}

/* Resets the outcome of the jobs [from, to) before a run. */
static void
jobs_reset(struct db_write *from, const struct db_write *to)
{
	struct db_write *j;

	for (j = from; j != to; j = j->next) {
		j->rc = -1;
		gw_err_clear(&j->err);
		if (j->kind == DB_W_START) {
			db_txn_cleanup(&j->u.start.t);
			j->u.start.res = DB_START_CHALLENGE_BAD;
		}
	}
}

/* The preparations a pipeline sent, in the order of their results. */
struct pipe_prep {
	int n;
	enum pg_stmt s[PG_S__MAX];
};

/* Sends the preparation of s unless c has it or it went already. */
static int
prep_one(PGconn *c, int s, const struct pg_params *p, uint32_t *have,
    struct pipe_prep *pp)
{
	if ((*have & (1U << s)) != 0)
		return 0;
	if (pg_send_prepare(c, (enum pg_stmt)s, p) != 1)
		return -1;
	*have |= 1U << s;
	pp->s[pp->n++] = (enum pg_stmt)s;
	return 0;
}

/*
 * Sends, ahead of the batch, the preparation of every statement the jobs
 * [from, to) need that c has not prepared yet, each with the parameter
 * types of its first job; pp lists them. 0, or -1.
 */
static int
pipe_prepare(PGconn *c, struct db_write *from, const struct db_write *to,
    int64_t owner, struct pipe_prep *pp)
{
	uint32_t have = pg_prepared_mask(c);
	struct pg_params p;
	struct db_write *j;
	int s;

	pp->n = 0;
	if (prep_one(c, PG_S_BEGIN, NULL, &have, pp) != 0 ||
	    prep_one(c, PG_S_COMMIT, NULL, &have, pp) != 0)
		return -1;
	for (j = from; j != to; j = j->next) {
		if ((s = job_stmt(j->kind)) < 0)
			return -1;
		if (s == PG_S__MAX || (have & (1U << s)) != 0)
			continue; /* the common case: nothing to prepare */
		job_params(j, owner, &p);
		if (prep_one(c, s, &p, &have, pp) != 0)
			return -1;
	}
	return 0;
}

/* Sends the pipeline of jobs [from, to), after the preparations it needs
 * (pp). 0, or -1 with why set. */
static int
pipe_send(PGconn *c, struct db_write *from, const struct db_write *to,
    int64_t owner, struct pipe_prep *pp, struct gw_err *why)
{
	struct pg_params p;
	struct db_write *j;
	int s;

	if (PQsetnonblocking(c, 1) != 0 || PQenterPipelineMode(c) != 1 ||
	    pipe_prepare(c, from, to, owner, pp) != 0 ||
	    pg_send_prepared(c, PG_S_BEGIN, NULL) != 1)
		goto err;
	for (j = from; j != to; j = j->next) {
		if ((s = job_params(j, owner, &p)) == PG_S__MAX)
			continue;
		if (s < 0 || pg_send_prepared(c, (enum pg_stmt)s, &p) != 1)
			goto err;
	}
	if (pg_send_prepared(c, PG_S_COMMIT, NULL) != 1 ||
	    PQpipelineSync(c) != 1 || pipe_flush(c) != 0)
		goto err;
	PQsetnonblocking(c, 0);
	return 0;
err:
	pg_err_res(NULL, c, "batch send", why);
	return -1;
}

/* Reads the results of the preparations pp sent and marks each that
 * succeeded as prepared on c. 0, or -1 with why set. */
static int
pipe_prepared(PGconn *c, int64_t deadline, const struct pipe_prep *pp,
    struct gw_err *why)
{
	PGresult *r;
	int i, rc = 0;

	for (i = 0; rc == 0 && i < pp->n; i++) {
		r = pipe_result(c, deadline);
		if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
			pg_err_res(r, c, "prepare", why);
			rc = -1;
		} else
			pg_prepared_set(c, pp->s[i]);
		PQclear(r);
	}
	return rc;
}

/* Reads a command's result (BEGIN, COMMIT). 0, or -1 with why set. */
static int
pipe_command(PGconn *c, int64_t deadline, const char *what, struct gw_err *why)
{
	PGresult *r = pipe_result(c, deadline);
	int rc = 0;

	if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
		pg_err_res(r, c, what, why);
		rc = -1;
	}
	PQclear(r);
	return rc;
}

/*
 * Runs the jobs [from, to) as one pipeline: BEGIN, the writes, COMMIT,
 * Sync. On PIPE_OK every job's rc is set; otherwise why says what failed
 * and no job's rc counts.
 */
static enum pipe_st
pipe_run(struct db *db, struct db_write *from, const struct db_write *to,
    bool unknown, struct gw_err *why)
{
	int wait_s = db_pg(db)->timeout_s + PG_WAIT_SLACK_S;
	int64_t deadline;
	struct gw_err e2;
	struct db_write *j;
	PGresult *r;
	PGconn *c;
	bool failed = false, synced = false;
	struct pipe_prep pp = { 0 };
	int nulls = 0;

	jobs_reset(from, to);
	if ((c = writer_conn(db, why)) == NULL)
		return PIPE_DOWN;
	deadline = pg_mono_ms() + wait_s * 1000LL;
	if (pipe_send(c, from, to, db_node(db), &pp, why) != 0)
		goto lost;
	if (pipe_prepared(c, deadline, &pp, why) != 0 ||
	    pipe_command(c, deadline, "BEGIN", why) != 0)
		failed = true;
	for (j = from; !failed && j != to; j = j->next)
		if (job_read(c, deadline, j, unknown, why) != 0)
			failed = true;
	if (!failed && pipe_command(c, deadline, "COMMIT", why) != 0)
		failed = true;
	/*
	 * Drain up to the Sync: after a failure the statements left come as
	 * PGRES_PIPELINE_ABORTED, each followed by a NULL. Several NULLs in
	 * a row mean nothing more will come (a lost connection).
	 */
	while (!synced && nulls < 3) {
		if (pg_wait_result(c, deadline) == 1) {
			gw_err_set(why, DB_ERR_RETRY,
			    "batch: PostgreSQL did not answer within %d s",
			    wait_s);
			goto lost;
		}
		if ((r = PQgetResult(c)) == NULL) {
			nulls++;
			continue;
		}
		nulls = 0;
		synced = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
		PQclear(r);
	}
	if (!synced || PQexitPipelineMode(c) != 1)
		goto lost;
	if (PQtransactionStatus(c) != PQTRANS_IDLE)
		PQclear(pg_exec(c, "ROLLBACK", NULL, "rollback", wait_s, &e2));
	if (PQstatus(c) != CONNECTION_OK)
		goto lost;
	return failed ? PIPE_ABORTED : PIPE_OK;
lost:
	if (why->code == 0 || why->code == DB_ERR_SQL)
		gw_err_set(why, DB_ERR_RETRY,
		    "batch: connection to PostgreSQL lost");
	PQfinish(db_pg(db)->writer);
	db_pg(db)->writer = NULL;
	return PIPE_LOST;
}

/* Runs one job alone until it is stored or fails for good. Returns
 * false when no connection could be made (the database is down). */
static bool
job_retry(struct db *db, struct db_write *j, bool unknown)
{
	struct gw_err why;
	enum pipe_st st = PIPE_LOST;
	int i;

	for (i = 0; i < PG_JOB_TRIES; i++) {
		gw_err_clear(&why);
		st = pipe_run(db, j, j->next, unknown, &why);
		if (st == PIPE_OK)
			return true;
		if (st == PIPE_DOWN)
			break;
		if (st == PIPE_LOST)
			unknown = true;
		else if (why.code != DB_ERR_RETRY)
			break;
	}
	jobs_reset(j, j->next);
	j->err = why;
	return st != PIPE_DOWN;
}

/* struct db_backend's exec_batch: one pipeline, then per job if need be. */
void
pg_exec_batch(struct db *db, struct db_write *batch)
{
	struct gw_err why;
	struct db_write *j;
	enum pipe_st st;
	bool up;

	pthread_mutex_lock(&db_pg(db)->wmu);
	gw_err_clear(&why);
	st = pipe_run(db, batch, NULL, false, &why);
	up = st != PIPE_DOWN;
	for (j = batch; st != PIPE_OK && j != NULL; j = j->next) {
		if (up) {
			up = job_retry(db, j, st == PIPE_LOST);
			why = j->err;
			continue;
		}
		/* The database is down: nothing of it was sent. */
		jobs_reset(j, j->next);
		j->err = why;
	}
	pthread_mutex_unlock(&db_pg(db)->wmu);
}
