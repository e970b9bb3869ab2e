/*
 * The PostgreSQL backend's connections: opening one with the options of
 * [db] url (README "PostgreSQL"), a pool of idle connections for the
 * reads and single writes of any thread, running one statement with typed
 * parameters, mapping a SQLSTATE to enum db_errc, and reading the columns
 * of a text-format result. Library code: failures go into struct gw_err,
 * never to a log, and no message carries the password.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "gw_err.h"
#include "secure.h"
#include "db.h"
#include "db_int.h"
#include "db_pg_int.h"

/* Type OIDs of the parameters (pg_type.h's values, fixed since 7.x). */
#define PG_BOOLOID 16
#define PG_BYTEAOID 17
#define PG_INT8OID 20
#define PG_INT4OID 23
#define PG_TEXTOID 25

void
pp_text(struct pg_params *p, const char *s)
{
	p->types[p->n] = PG_TEXTOID;
	p->v[p->n] = s;
	p->len[p->n] = 0;
	p->fmt[p->n] = 0;
	p->n++;
}

void
pp_int(struct pg_params *p, int64_t v)
{
	snprintf(p->num[p->n], sizeof(p->num[0]), "%lld", (long long)v);
	p->types[p->n] = PG_INT8OID;
	p->v[p->n] = p->num[p->n];
	p->len[p->n] = 0;
	p->fmt[p->n] = 0;
	p->n++;
}

void
pp_int4(struct pg_params *p, int v)
{
	snprintf(p->num[p->n], sizeof(p->num[0]), "%d", v);
	p->types[p->n] = PG_INT4OID;
	p->v[p->n] = p->num[p->n];
	p->len[p->n] = 0;
	p->fmt[p->n] = 0;
	p->n++;
}

void
pp_bool(struct pg_params *p, bool v)
{
	p->types[p->n] = PG_BOOLOID;
	p->v[p->n] = v ? "t" : "f";
	p->len[p->n] = 0;
	p->fmt[p->n] = 0;
	p->n++;
}

/* A LIMIT: 0 is NULL, which PostgreSQL reads as "no limit". */
void
pp_limit(struct pg_params *p, size_t limit)
{
	if (limit == 0 || limit > INT64_MAX) {
		p->types[p->n] = PG_INT8OID;
		p->v[p->n] = NULL;
		p->len[p->n] = 0;
		p->fmt[p->n] = 0;
		p->n++;
		return;
	}
	pp_int(p, (int64_t)limit);
}

/* A bytea in binary format; NULL b is SQL NULL. */
void
pp_bytea(struct pg_params *p, const uint8_t *b, size_t len)
{
	p->types[p->n] = PG_BYTEAOID;
	p->v[p->n] = (const char *)b;
	p->len[p->n] = (int)len;
	p->fmt[p->n] = 1;
	p->n++;
}

/* Whether SQLSTATE s asks for the transaction to be tried again. */
bool
pg_state_retryable(const char *s)
{
	static const char *const retry[] = { "40P01", "40001", "57P01", "57P02",
		"57P03", "25006", "08000", "08003", "08006" };
	size_t i;

	if (s == NULL)
		return false;
	for (i = 0; i < sizeof(retry) / sizeof(retry[0]); i++)
		if (strcmp(s, retry[i]) == 0)
			return true;
	return false;
}

/* Copies libpq's message into err without its trailing newline. */
static void
pg_err_msg(struct gw_err *err, int code, const char *what, const char *msg)
{
	size_t n = strcspn(msg != NULL ? msg : "", "\n");

	gw_err_set(err, code, "%s: %.*s", what, (int)n,
	    msg != NULL && n > 0 ? msg : "PostgreSQL failed");
}

/*
 * Sets err from a failed result r (NULL: none came back) on c: 23505
 * (unique violation) is DB_ERR_EXISTS; a deadlock, serialisation
 * failure, server shutdown, read-only server, lost connection or 26000 (a
 * prepared statement the session no longer has: c is then closed on
 * release, and the next try prepares again on a new connection)
 * DB_ERR_RETRY; anything else DB_ERR_SQL.
 */
void
pg_err_res(const PGresult *r, PGconn *c, const char *what, struct gw_err *err)
{
	const char *st =
	    r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = r != NULL ? PQresultErrorMessage(r) : NULL;
	int code = DB_ERR_SQL;

	if (msg == NULL || msg[0] == '\0')
		msg = c != NULL ? PQerrorMessage(c) : NULL;
	if (st != NULL && strcmp(st, "23505") == 0)
		code = DB_ERR_EXISTS;
	else if (st != NULL && strcmp(st, "26000") == 0 && c != NULL) {
		/* A prepared statement the session lost. */
		pg_conn_lost_set(c);
		code = DB_ERR_RETRY;
	} else if (pg_state_retryable(st) ||
	    (c != NULL && PQstatus(c) == CONNECTION_BAD))
		code = DB_ERR_RETRY;
	pg_err_msg(err, code, what, msg);
}

/* Drops the server's NOTICEs (e.g. "relation exists, skipping"): libpq
 * would print them on stderr, and library code never logs. */
static void
pg_notice_drop(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* CLOCK_MONOTONIC in milliseconds. */
int64_t
pg_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Waits until PQgetResult() on c would not block, at most until
 * deadline_ms on the monotonic clock (0: no bound). libpq itself never
 * gives up on a server or network that went silent with the socket still
 * open (a black hole, a frozen relay, a hung server): the server's
 * statement_timeout cannot help when the statement never reached it, and
 * keepalives and tcp_user_timeout see nothing wrong while the peer's
 * kernel acknowledges. Returns 0 ready, 1 timed out (c is then busy: it
 * must be closed, not reused), -1 the connection failed (PQgetResult()
 * then reports it without blocking).
 */
int
pg_wait_result(PGconn *c, int64_t deadline_ms)
{
	struct pollfd pfd;
	int64_t left;
	int n;

	if (deadline_ms == 0)
		return 0;
	while (PQisBusy(c)) {
		if ((left = deadline_ms - pg_mono_ms()) <= 0)
			return 1;
		pfd.fd = PQsocket(c);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (pfd.fd < 0)
			return -1;
		n = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n < 0 && errno != EINTR)
			return -1;
		if (n > 0 && PQconsumeInput(c) != 1)
			return -1;
	}
	return 0;
}

/*
 * Opens a new connection with pg's options (libpq's connect_timeout
 * bounds it: T unless the URL says otherwise) and sets the server's
 * statement_timeout to T, so that a stalled primary turns into an error,
 * not a hung thread. Returns it, or NULL with err set.
 */
PGconn *
pg_connect(struct db_pg *pg, struct gw_err *err)
{
	char sql[64];
	PGresult *r;
	PGconn *c;

	c = PQconnectdbParams(pg->kw, pg->val, 1);
	if (c == NULL) {
		gw_err_set(err, DB_ERR_RETRY, "PostgreSQL: out of memory");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		pg_err_msg(err, DB_ERR_RETRY, "PostgreSQL connection",
		    PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, pg_notice_drop, NULL);
	if (pg_conn_track(c) != 0) {
		gw_err_set(err, DB_ERR_RETRY, "PostgreSQL: out of memory");
		PQfinish(c);
		return NULL;
	}
	snprintf(sql, sizeof(sql), "SET statement_timeout = '%ds'",
	    pg->timeout_s);
	if ((r = pg_exec(c, sql, NULL, "statement_timeout",
		 pg->timeout_s + PG_WAIT_SLACK_S, err)) == NULL) {
		PQfinish(c);
		return NULL;
	}
	PQclear(r);
	return c;
}

/* An idle connection of the pool, or a new one. NULL with err set. */
PGconn *
pg_acquire(struct db *db, struct gw_err *err)
{
	struct db_pg *pg = db_pg(db);
	struct pg_conn *e;
	PGconn *c = NULL;

	pthread_mutex_lock(&pg->mu);
	if ((e = pg->free) != NULL)
		pg->free = e->next;
	pthread_mutex_unlock(&pg->mu);
	if (e != NULL) {
		c = e->c;
		free(e);
		return c;
	}
	return pg_connect(pg, err);
}

/* Gives c back to the pool; a broken or busy one, or one that lost its
 * prepared statements, is closed instead, so the next caller connects
 * afresh. */
void
pg_release(struct db *db, PGconn *c)
{
	struct db_pg *pg = db_pg(db);
	struct pg_conn *e;

	if (c == NULL)
		return;
	if (PQstatus(c) != CONNECTION_OK ||
	    PQtransactionStatus(c) != PQTRANS_IDLE || pg_conn_lost(c) ||
	    (e = malloc(sizeof(*e))) == NULL) {
		PQfinish(c);
		return;
	}
	e->c = c;
	pthread_mutex_lock(&pg->mu);
	e->next = pg->free;
	pg->free = e;
	pthread_mutex_unlock(&pg->mu);
}

/* Closes every connection (db_close()). */
void
pg_conns_close(struct db_pg *pg)
{
	struct pg_conn *e;

	while ((e = pg->free) != NULL) {
		pg->free = e->next;
		PQfinish(e->c);
		free(e);
	}
	if (pg->writer != NULL)
		PQfinish(pg->writer);
	pg->writer = NULL;
}

PGresult *
pg_collect(PGconn *c, int64_t deadline, const char *what, int wait_s,
    struct gw_err *err)
{
	ExecStatusType s;
	PGresult *r = NULL, *x;
	int w = 0;

	/* As PQexec(): the last result, but the first error wins. */
	while ((w = pg_wait_result(c, deadline)) != 1 &&
	    (x = PQgetResult(c)) != NULL) {
		if (r != NULL && PQresultStatus(r) == PGRES_FATAL_ERROR)
			PQclear(x);
		else {
			PQclear(r);
			r = x;
		}
	}
	if (w == 1) {
		PQclear(r);
		gw_err_set(err, DB_ERR_RETRY,
		    "%s: PostgreSQL did not answer within %d s", what, wait_s);
		return NULL;
	}
	s = PQresultStatus(r);
	if (r != NULL && (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK))
		return r;
	pg_err_res(r, c, what, err);
	PQclear(r);
	return NULL;
}

PGresult *
pg_exec(PGconn *c, const char *sql, const struct pg_params *p, const char *what,
    int wait_s, struct gw_err *err)
{
	int64_t deadline = wait_s > 0 ? pg_mono_ms() + wait_s * 1000LL : 0;

	if ((p != NULL ? PQsendQueryParams(c, sql, p->n, p->types, p->v, p->len,
			     p->fmt, 0) :
			 PQsendQueryParams(c, sql, 0, NULL, NULL, NULL, NULL,
			     0)) != 1) {
		pg_err_res(NULL, c, what, err);
		return NULL;
	}
	return pg_collect(c, deadline, what, wait_s, err);
}

/* pg_exec() of sql, or pg_exec_prep() of s when sql is NULL. */
static PGresult *
run_on(PGconn *c, enum pg_stmt s, const char *sql, const struct pg_params *p,
    const char *what, int wait_s, struct gw_err *err)
{
	if (sql == NULL)
		return pg_exec_prep(c, s, p, what, wait_s, err);
	return pg_exec(c, sql, p, what, wait_s, err);
}

/*
 * run_on() a pooled connection. With retry (reads, and writes that are
 * safe to repeat), a connection found broken is replaced and the
 * statement sent once more: an idle pooled connection learns only on use
 * that its server restarted or failed over. So is one that lost its
 * prepared statements, also without retry: the statement did not run.
 */
static PGresult *
run_pooled(struct db *db, enum pg_stmt s, const char *sql,
    const struct pg_params *p, const char *what, bool retry, struct gw_err *err)
{
	int wait_s = db_pg(db)->timeout_s + PG_WAIT_SLACK_S;
	PGresult *r;
	PGconn *c;

	if ((c = pg_acquire(db, err)) == NULL)
		return NULL;
	r = run_on(c, s, sql, p, what, wait_s, err);
	if (r == NULL &&
	    ((retry && PQstatus(c) == CONNECTION_BAD) || pg_conn_lost(c))) {
		PQfinish(c);
		if ((c = pg_connect(db_pg(db), err)) == NULL)
			return NULL;
		r = run_on(c, s, sql, p, what, wait_s, err);
	}
	pg_release(db, c);
	return r;
}

PGresult *
pg_run(struct db *db, const char *sql, const struct pg_params *p,
    const char *what, bool retry, struct gw_err *err)
{
	return run_pooled(db, PG_S__MAX, sql, p, what, retry, err);
}

PGresult *
pg_run_prep(struct db *db, enum pg_stmt s, const struct pg_params *p,
    const char *what, bool retry, struct gw_err *err)
{
	return run_pooled(db, s, NULL, p, what, retry, err);
}

int64_t
pg_int(const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return 0;
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

bool
pg_bool(const PGresult *r, int row, int col)
{
	return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

bool
pg_null(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) != 0;
}

/* A text column into a malloc'd string (NULL stays NULL). 0 or -1. */
int
pg_str(const PGresult *r, int row, int col, char **out)
{
	*out = NULL;
	if (PQgetisnull(r, row, col))
		return 0;
	*out = gw_strdup(PQgetvalue(r, row, col));
	return *out == NULL ? -1 : 0;
}

/* A bytea column (hex text) into malloc'd memory (*out NULL when NULL or
 * empty). 0, or -1 without memory. */
int
pg_bytes(const PGresult *r, int row, int col, uint8_t **out, size_t *len)
{
	unsigned char *u;
	size_t n = 0;

	*out = NULL;
	*len = 0;
	if (PQgetisnull(r, row, col))
		return 0;
	u = PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, col), &n);
	if (u == NULL)
		return -1;
	if (n > 0) {
		if ((*out = malloc(n)) == NULL) {
			PQfreemem(u);
			return -1;
		}
		memcpy(*out, u, n);
		*len = n;
	}
	PQfreemem(u);
	return 0;
}

/* A bytea column of exactly len bytes into out. 0, 1 when NULL or of
 * another length, -1 without memory. */
int
pg_fixed(const PGresult *r, int row, int col, uint8_t *out, size_t len)
{
	uint8_t *b;
	size_t n;
	int rc;

	if (pg_bytes(r, row, col, &b, &n) != 0)
		return -1;
	rc = n == len ? 0 : 1;
	if (rc == 0)
		memcpy(out, b, len);
	free(b);
	return rc;
}

/* Reads row of a PG_TXN_COLS result into *t. 0, or -1 without memory. */
int
pg_txn_row_read(const PGresult *r, int row, struct db_txn *t)
{
	memset(t, 0, sizeof(*t));
	t->id = pg_int(r, row, 0);
	t->state = (enum db_txn_state)pg_int(r, row, 3);
	t->created = pg_int(r, row, 4);
	t->updated = pg_int(r, row, 5);
	t->challenge_id = pg_int(r, row, 6);
	t->fail_info = (int)pg_int(r, row, 13);
	t->epki_code = (int)pg_int(r, row, 20);
	t->owner = pg_int(r, row, 22);
	t->taken_at = pg_int(r, row, 23);
	t->intune = (int)pg_int(r, row, 24);
	t->intune_claim = pg_int(r, row, 26);
	if (pg_fixed(r, row, 2, t->csr_sha256, 32) < 0)
		return -1;
	switch (pg_fixed(r, row, 16, t->key_sha256, 32)) {
	case 0:
		t->has_key = true;
		break;
	case -1:
		return -1;
	}
	if (pg_str(r, row, 1, &t->txid) != 0 ||
	    pg_str(r, row, 7, &t->cn) != 0 ||
	    pg_str(r, row, 8, &t->email) != 0 ||
	    pg_str(r, row, 9, &t->ou) != 0 ||
	    pg_str(r, row, 10, &t->csr_pem) != 0 ||
	    pg_str(r, row, 11, &t->order_id) != 0 ||
	    pg_bytes(r, row, 12, &t->cert_der, &t->cert_len) != 0 ||
	    pg_str(r, row, 14, &t->fail_text) != 0 ||
	    pg_str(r, row, 15, &t->profile) != 0 ||
	    pg_str(r, row, 17, &t->renews) != 0 ||
	    pg_str(r, row, 18, &t->upn) != 0 ||
	    pg_str(r, row, 19, &t->licence_pool) != 0 ||
	    pg_str(r, row, 21, &t->epki_message) != 0 ||
	    pg_bytes(r, row, 25, &t->intune_csr, &t->intune_csr_len) != 0)
		return -1;
	return 0;
}
