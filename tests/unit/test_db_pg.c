/*
 * What only the PostgreSQL backend has (db/db_pg_*.c), on the cluster of
 * the ctest fixture (skipped on SQLite): the server-side write functions
 * are idempotent; a batch whose connection was cut is sent again on a
 * new one; an aborted batch (a failing write, a deadlock) is retried one
 * write at a time; the NDES cap
 * holds across handles; gateways opening an empty database at once
 * migrate it once; the hot statements are prepared once per connection,
 * and again on a new one.
 */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "gw_err.h"
#include "db.h"
#include "db_int.h"
#include "db_pg_int.h"
#include "test_db_common.h"

/* Cuts every connection the handles of this test opened. */
static void
cut_connections(const struct fx *fx)
{
	fx_pg_sql(fx,
	    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
	    "WHERE application_name = 'scepgw/test' "
	    "AND datname = current_database()");
}

/*
 * Every write function, run again after a commit whose outcome was lost,
 * reports what is stored instead of failing: a start answers EXISTS, a
 * certificate or failure already stored answers 1. Through db.h a second
 * set_issued stays DB_ERR_STATE, as on SQLite.
 */
static void
test_pg_functions_idempotent(void **state)
{
	struct fx *fx = *state;
	struct db_txn t;
	struct gw_err err;
	static const uint8_t der[] = { 0x30, 0x03, 0x02, 0x01, 0x07 };

	assert_int_equal(fx_pg_sql(fx,
			     "SELECT scepgw_txn_start('f1', '\\x00'::bytea, "
			     "NULL, 'cn', NULL, NULL, 'pem', 5, false, NULL, "
			     "NULL, NULL, NULL, NULL, NULL)"),
	    DB_START_OK);
	assert_int_equal(fx_pg_sql(fx,
			     "SELECT scepgw_txn_start('f1', '\\x00'::bytea, "
			     "NULL, 'cn', NULL, NULL, 'pem', 5, false, NULL, "
			     "NULL, NULL, NULL, NULL, NULL)"),
	    DB_START_EXISTS);
	assert_int_equal(fx_pg_sql(fx,
			     "SELECT scepgw_txn_set_issued('f1', 'O1', "
			     "'\\x3003020107'::bytea, 'AA01', 9, 'CN=f', 6)"),
	    0);
	assert_int_equal(fx_pg_sql(fx,
			     "SELECT scepgw_txn_set_issued('f1', 'O1', "
			     "'\\x3003020107'::bytea, 'AA01', 9, 'CN=f', 6)"),
	    1);
	/* Another certificate for it is not a retry. */
	assert_int_equal(fx_pg_sql(fx,
			     "SELECT scepgw_txn_set_issued('f1', 'O1', "
			     "'\\x30030201ff'::bytea, 'AA02', 9, 'CN=f', 6)"),
	    -1);
	assert_int_equal(
	    fx_pg_sql(fx,
		"SELECT used FROM licence_counts WHERE pool = 'epki'"),
	    1);
	/* The order id and the failure. */
	assert_int_equal(start(fx->db, "f2", 0, NOW, &t), DB_START_OK);
	db_txn_cleanup(&t);
	assert_int_equal(fx_pg_sql(fx,
			     "SELECT scepgw_txn_set_order('f2', 'O2', 7)"),
	    0);
	assert_int_equal(fx_pg_sql(fx,
			     "SELECT scepgw_txn_set_order('f2', 'O2', 7)"),
	    0);
	assert_int_equal(fx_pg_sql(fx,
			     "SELECT used FROM licence_counts "
			     "WHERE pool = 'epki'"),
	    2);
	assert_int_equal(fx_pg_sql(fx,
			     "SELECT scepgw_txn_set_failed('f2', 2, 'x', 8, "
			     "NULL, NULL)"),
	    0);
	assert_int_equal(fx_pg_sql(fx,
			     "SELECT scepgw_txn_set_failed('f2', 2, 'x', 8, "
			     "NULL, NULL)"),
	    1);
	/* Through db.h: a start retried is EXISTS; a second ISSUED is a
	 * state error, as on SQLite. */
	assert_int_equal(start(fx->db, "f3", 0, NOW, &t), DB_START_OK);
	db_txn_cleanup(&t);
	assert_int_equal(start(fx->db, "f3", 0, NOW, &t), DB_START_EXISTS);
	assert_string_equal(t.txid, "f3");
	db_txn_cleanup(&t);
	assert_int_equal(db_txn_set_issued(fx->db, "f3", "O3", der, sizeof(der),
			     "BB01", NOW + 9, "CN=f3", NOW, &err),
	    0);
	gw_err_clear(&err);
	assert_int_equal(db_txn_set_issued(fx->db, "f3", "O3", der, sizeof(der),
			     "BB01", NOW + 9, "CN=f3", NOW, &err),
	    -1);
	assert_int_equal(err.code, DB_ERR_STATE);
}

/*
 * The server ends every connection of the gateway (failover, restart,
 * admin): the next batch finds its writer connection dead, connects
 * again and stores its write; reads reconnect as well.
 */
static void
test_pg_reconnect(void **state)
{
	static const uint8_t der[] = { 0x30, 0x03, 0x02, 0x01, 0x08 };
	struct fx *fx = *state;
	struct db_txn t;
	struct gw_err err;

	assert_int_equal(start(fx->db, "r1", 0, NOW, &t), DB_START_OK);
	db_txn_cleanup(&t);
	cut_connections(fx);
	assert_int_equal(start(fx->db, "r2", 0, NOW, &t), DB_START_OK);
	db_txn_cleanup(&t);
	cut_connections(fx);
	gw_err_clear(&err);
	assert_int_equal(db_txn_set_issued(fx->db, "r1", "O", der, sizeof(der),
			     "CC01", NOW + 9, "CN=r1", NOW, &err),
	    0);
	cut_connections(fx);
	assert_int_equal(db_txn_get(fx->db, "r1", &t, &err), 0);
	assert_int_equal(t.state, DB_TXN_ISSUED);
	db_txn_cleanup(&t);
	assert_int_equal(db_txn_get(fx->db, "r2", &t, &err), 0);
	assert_int_equal(t.state, DB_TXN_ORDERING);
	db_txn_cleanup(&t);
}

/*
 * What connection c has prepared, as "name:executions,..." (executions:
 * the plans the server used for it, pg_prepared_statements).
 */
static void
prepared_on(PGconn *c, char *out, size_t n)
{
	PGresult *r;
	size_t len = 0;
	int i;

	r = PQexec(c,
	    "SELECT name, generic_plans + custom_plans "
	    "FROM pg_prepared_statements ORDER BY name");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	out[0] = '\0';
	for (i = 0; i < PQntuples(r) && len < n; i++)
		len += (size_t)snprintf(out + len, n - len, "%s%s:%s",
		    i > 0 ? "," : "", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
	PQclear(r);
}

/* prepared_on() the writer connection of the batches. */
static void
prepared_on_writer(struct db *db, char *out, size_t n)
{
	struct db_pg *pg = db->impl;

	pthread_mutex_lock(&pg->wmu);
	assert_non_null(pg->writer);
	prepared_on(pg->writer, out, n);
	pthread_mutex_unlock(&pg->wmu);
}

/* prepared_on() the pooled connection a read takes next. */
static void
prepared_on_pooled(struct db *db, char *out, size_t n)
{
	struct gw_err err;
	PGconn *c = pg_acquire(db, &err);

	assert_non_null(c);
	prepared_on(c, out, n);
	pg_release(db, c);
}

/*
 * The statements of an enrollment are prepared once per connection, then
 * only executed: two starts and two reads prepare each once. A new
 * connection (the server ended the old ones) has none, and prepares them
 * again; so does a session that lost them (DEALLOCATE ALL, 26000).
 */
static void
test_pg_prepared_once(void **state)
{
	static const uint8_t der[] = { 0x30, 0x03, 0x02, 0x01, 0x09 };
	struct fx *fx = *state;
	struct db_txn t;
	struct gw_err err;
	char got[512];
	PGconn *c;

	assert_int_equal(start(fx->db, "p1", 0, NOW, &t), DB_START_OK);
	db_txn_cleanup(&t);
	assert_int_equal(start(fx->db, "p2", 0, NOW, &t), DB_START_OK);
	db_txn_cleanup(&t);
	prepared_on_writer(fx->db, got, sizeof(got));
	assert_string_equal(got,
	    "scepgw_begin:2,scepgw_commit:2,scepgw_txn_start:2");
	assert_int_equal(db_txn_get(fx->db, "p1", &t, &err), 0);
	db_txn_cleanup(&t);
	assert_int_equal(db_txn_get(fx->db, "p2", &t, &err), 0);
	db_txn_cleanup(&t);
	prepared_on_pooled(fx->db, got, sizeof(got));
	assert_string_equal(got, "scepgw_txn_get:2");

	/* Every connection ended: the next write and read connect again
	 * and prepare again. */
	cut_connections(fx);
	gw_err_clear(&err);
	assert_int_equal(db_txn_set_issued(fx->db, "p1", "O", der, sizeof(der),
			     "DD01", NOW + 9, "CN=p1", NOW, &err),
	    0);
	prepared_on_writer(fx->db, got, sizeof(got));
	assert_string_equal(got,
	    "scepgw_begin:1,scepgw_commit:1,scepgw_txn_set_issued:1");
	assert_int_equal(db_txn_get(fx->db, "p1", &t, &err), 0);
	assert_int_equal(t.state, DB_TXN_ISSUED);
	db_txn_cleanup(&t);
	prepared_on_pooled(fx->db, got, sizeof(got));
	assert_string_equal(got, "scepgw_txn_get:1");

	/* The sessions lose them (as under DISCARD ALL): still stored. */
	c = pg_acquire(fx->db, &err);
	assert_non_null(c);
	PQclear(PQexec(c, "DEALLOCATE ALL"));
	pg_release(fx->db, c);
	pthread_mutex_lock(&db_pg(fx->db)->wmu);
	PQclear(PQexec(db_pg(fx->db)->writer, "DEALLOCATE ALL"));
	pthread_mutex_unlock(&db_pg(fx->db)->wmu);
	assert_int_equal(db_txn_get(fx->db, "p2", &t, &err), 0);
	assert_int_equal(t.state, DB_TXN_ORDERING);
	db_txn_cleanup(&t);
	prepared_on_pooled(fx->db, got, sizeof(got));
	assert_string_equal(got, "scepgw_txn_get:1");
	assert_int_equal(start(fx->db, "p3", 0, NOW, &t), DB_START_OK);
	assert_string_equal(t.txid, "p3");
	db_txn_cleanup(&t);
	prepared_on_writer(fx->db, got, sizeof(got));
	assert_string_equal(got,
	    "scepgw_begin:1,scepgw_commit:1,scepgw_txn_start:1");
}

struct sub {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done, ok, failed, bad;
};

static void
sub_done(void *arg, int rc, enum db_start res, const struct db_txn *t,
    const struct gw_err *err)
{
	struct sub *s = arg;

	(void)t;
	pthread_mutex_lock(&s->mu);
	s->done++;
	if (rc == 0 && res == DB_START_OK)
		s->ok++;
	else if (rc != 0 && err->code == DB_ERR_SQL)
		s->failed++;
	else
		s->bad++;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/*
 * A write the server refuses unexpectedly (here: text that is not UTF-8)
 * aborts its pipeline; the batch is run again one write at a time, so
 * that write alone fails and every other one is stored.
 */
#define SUBS 12
static void
test_pg_aborted_batch_retried_per_write(void **state)
{
	struct fx *fx = *state;
	struct db_txn_new n[SUBS];
	struct sub s = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0,
		0, 0, 0 };
	struct db_txn t;
	struct gw_err err;
	char txid[SUBS][16];
	uint8_t csr[32];
	int i;

	hash_fill(csr, 0xc5);
	for (i = 0; i < SUBS; i++) {
		snprintf(txid[i], sizeof(txid[i]), "ab-%d", i);
		memset(&n[i], 0, sizeof(n[i]));
		n[i].txid = txid[i];
		n[i].csr_sha256 = csr;
		n[i].csr_cn = i == 5 ? "bad \xff\xfe utf-8" : "cn";
		n[i].now = NOW;
	}
	for (i = 0; i < SUBS; i++)
		assert_int_equal(db_txn_start_submit(fx->db, &n[i], sub_done,
				     &s, &err),
		    0);
	db_write_flush(fx->db);
	pthread_mutex_lock(&s.mu);
	while (s.done < SUBS)
		pthread_cond_wait(&s.cv, &s.mu);
	pthread_mutex_unlock(&s.mu);
	assert_int_equal(s.bad, 0);
	assert_int_equal(s.failed, 1);
	assert_int_equal(s.ok, SUBS - 1);
	assert_int_equal(db_txn_get(fx->db, "ab-5", &t, &err), 1);
	assert_int_equal(db_txn_get(fx->db, "ab-6", &t, &err), 0);
	db_txn_cleanup(&t);
}

/* Holds the writer thread (the group-commit leader) in a completion until
 * released, so that the writes submitted meanwhile form one batch. */
struct lead_hold {
	struct db_write w; /* first */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool leading;
	bool release;
};

static void
hold_done(struct db_write *w, int rc, const struct gw_err *err)
{
	struct lead_hold *h = (struct lead_hold *)(void *)w;

	(void)rc;
	(void)err;
	pthread_mutex_lock(&h->mu);
	h->leading = true;
	pthread_cond_broadcast(&h->cv);
	while (!h->release)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
}

/* Runs sql on c; fails the test unless it worked. */
static void
raw_exec(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
}

/*
 * Two gateways' writes cross (here: a batch [dl-y, dl-x] of this handle
 * against another session holding dl-x's lock, then asking for dl-y's):
 * PostgreSQL breaks the deadlock by aborting the batch (40P01), which is
 * then retried one write at a time, and both writes are stored once.
 */
static void
test_pg_deadlock_batch_retried(void **state)
{
	const struct timespec pause = { 0, 300000000 };
	struct fx *fx = *state;
	struct lead_hold h;
	struct sub s = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0,
		0, 0, 0 };
	struct db_txn_new n[2];
	struct db_txn t;
	struct gw_err err;
	uint8_t csr[32];
	PGconn *raw;
	int i;

	raw = PQconnectdb(fx->url);
	assert_int_equal(PQstatus(raw), CONNECTION_OK);
	raw_exec(raw,
	    "SET deadlock_timeout = '30s'"); /* we are not the victim */
	raw_exec(raw, "BEGIN");
	raw_exec(raw,
	    "SELECT pg_advisory_xact_lock(hashtextextended("
	    "'scepgw.txid:dl-x', 0))");
	memset(&h, 0, sizeof(h));
	h.w.kind = DB_W_NONE;
	h.w.done = hold_done;
	pthread_mutex_init(&h.mu, NULL);
	pthread_cond_init(&h.cv, NULL);
	assert_int_equal(db_write_submit(fx->db, &h.w, &err), 0);
	pthread_mutex_lock(&h.mu);
	while (!h.leading)
		pthread_cond_wait(&h.cv, &h.mu);
	pthread_mutex_unlock(&h.mu);
	hash_fill(csr, 0xc5);
	for (i = 0; i < 2; i++) {
		memset(&n[i], 0, sizeof(n[i]));
		n[i].txid = i == 0 ? "dl-y" : "dl-x";
		n[i].csr_sha256 = csr;
		n[i].now = NOW;
		assert_int_equal(db_txn_start_submit(fx->db, &n[i], sub_done,
				     &s, &err),
		    0);
	}
	/* One batch: dl-y takes its lock, dl-x waits for ours. */
	pthread_mutex_lock(&h.mu);
	h.release = true;
	pthread_cond_broadcast(&h.cv);
	pthread_mutex_unlock(&h.mu);
	nanosleep(&pause, NULL);
	/* Granted only once the batch gave dl-y's lock up: aborted. */
	raw_exec(raw,
	    "SELECT pg_advisory_xact_lock(hashtextextended("
	    "'scepgw.txid:dl-y', 0))");
	raw_exec(raw, "COMMIT");
	PQfinish(raw);
	pthread_mutex_lock(&s.mu);
	while (s.done < 2)
		pthread_cond_wait(&s.cv, &s.mu);
	pthread_mutex_unlock(&s.mu);
	db_write_flush(fx->db);
	assert_int_equal(s.bad, 0);
	assert_int_equal(s.ok, 2);
	assert_int_equal(db_txn_get(fx->db, "dl-x", &t, &err), 0);
	db_txn_cleanup(&t);
	assert_int_equal(db_txn_get(fx->db, "dl-y", &t, &err), 0);
	db_txn_cleanup(&t);
	pthread_cond_destroy(&h.cv);
	pthread_mutex_destroy(&h.mu);
}

/*
 * A multi-host [db] url with target_session_attrs=read-write (libpq's
 * failover): the first host does not answer, the second is used.
 */
static void
test_pg_multi_host(void **state)
{
	struct fx *fx = *state;
	struct db *db = NULL;
	struct gw_err err;
	char url[700], host[256];
	const char *h, *db_name;
	size_t n;

	h = strstr(fx->url, "host=");
	db_name = strrchr(fx->url, '=');
	assert_non_null(h);
	n = strcspn(h + 5, " ");
	assert_true(n < sizeof(host));
	memcpy(host, h + 5, n);
	host[n] = '\0';
	snprintf(url, sizeof(url),
	    "host=/nonexistent-scepgw,%s port=5432,5432 user=postgres "
	    "dbname=%s target_session_attrs=read-write",
	    host, db_name + 1);
	gw_err_clear(&err);
	if (db_open_url(&db, url, NULL, "test", 0, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(db_schema_version(db), 8);
	db_close(db);
}

struct capper {
	const struct fx *fx;
	pthread_barrier_t *bar;
	int stored, full, bad;
	int w;
};

static void *
capper_run(void *arg)
{
	struct capper *c = arg;
	struct db *db = NULL;
	struct gw_err err;
	uint8_t h[32];
	int i, rc;

	if (fx_open(c->fx, &db, &err) != 0) {
		c->bad++;
		pthread_barrier_wait(c->bar);
		return NULL;
	}
	pthread_barrier_wait(c->bar);
	for (i = 0; i < 4; i++) {
		memset(h, 0, sizeof(h));
		h[0] = (uint8_t)c->w;
		h[1] = (uint8_t)i;
		rc = db_challenge_put_capped(db, h, NOW, NOW + 60, 5, NULL,
		    NULL, &err);
		if (rc == 0)
			c->stored++;
		else if (rc == 1)
			c->full++;
		else
			c->bad++;
	}
	db_close(db);
	return NULL;
}

/* The NDES cap with 8 handles putting at once: never over it. */
#define CAPPERS 8
static void
test_pg_cap_across_handles(void **state)
{
	struct fx *fx = *state;
	struct capper c[CAPPERS];
	pthread_t th[CAPPERS];
	pthread_barrier_t bar;
	int i, stored = 0, full = 0;
	int64_t n;
	struct gw_err err;

	assert_int_equal(pthread_barrier_init(&bar, NULL, CAPPERS), 0);
	for (i = 0; i < CAPPERS; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].fx = fx;
		c[i].bar = &bar;
		c[i].w = i + 1;
		assert_int_equal(pthread_create(&th[i], NULL, capper_run,
				     &c[i]),
		    0);
	}
	for (i = 0; i < CAPPERS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(c[i].bad, 0);
		stored += c[i].stored;
		full += c[i].full;
	}
	pthread_barrier_destroy(&bar);
	assert_int_equal(stored, 5);
	assert_int_equal(full, CAPPERS * 4 - 5);
	assert_int_equal(db_challenge_outstanding(fx->db, NOW, &n, &err), 0);
	assert_int_equal(n, 5);
}

struct opener {
	const struct fx *fx;
	pthread_barrier_t *bar;
	int rc;
	int version;
};

static void *
opener_run(void *arg)
{
	struct opener *o = arg;
	struct db *db = NULL;
	struct gw_err err;

	pthread_barrier_wait(o->bar);
	o->rc = fx_open(o->fx, &db, &err);
	if (o->rc == 0)
		o->version = db_schema_version(db);
	db_close(db);
	return NULL;
}

/* Gateways starting together on an empty database migrate it once. */
#define OPENERS 4
static void
test_pg_concurrent_open(void **state)
{
	struct fx *fx = *state;
	struct opener o[OPENERS];
	pthread_t th[OPENERS];
	pthread_barrier_t bar;
	int i;

	db_close(fx->db);
	fx->db = NULL;
	fx_pg_sql(fx, "DROP SCHEMA public CASCADE; CREATE SCHEMA public");
	assert_int_equal(pthread_barrier_init(&bar, NULL, OPENERS), 0);
	for (i = 0; i < OPENERS; i++) {
		memset(&o[i], 0, sizeof(o[i]));
		o[i].fx = fx;
		o[i].bar = &bar;
		assert_int_equal(pthread_create(&th[i], NULL, opener_run,
				     &o[i]),
		    0);
	}
	for (i = 0; i < OPENERS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(o[i].rc, 0);
		assert_int_equal(o[i].version, 8);
	}
	pthread_barrier_destroy(&bar);
	assert_int_equal(fx_pg_sql(fx, "SELECT count(*) FROM scepgw_schema"),
	    1);
}

/* Backends of the handles named "silent", stopped by stop_silent(). */
static int silent_pids[16];
static int silent_n;

/* SIGSTOPs every backend serving a handle named "silent" on fx's
 * database: the sockets stay open, nothing answers (a hung server). */
static void
stop_silent(const struct fx *fx)
{
	char sql[256];
	long long pid = 0;

	while (silent_n < 16) {
		snprintf(sql, sizeof(sql),
		    "SELECT coalesce(min(pid), 0) FROM pg_stat_activity "
		    "WHERE application_name = 'scepgw/silent' "
		    "AND datname = current_database() AND pid > %lld",
		    pid);
		if ((pid = fx_pg_sql(fx, sql)) == 0)
			break;
		assert_int_equal(kill((pid_t)pid, SIGSTOP), 0);
		silent_pids[silent_n++] = (int)pid;
	}
	assert_true(silent_n > 0);
}

static void
cont_silent(void)
{
	while (silent_n > 0)
		(void)kill((pid_t)silent_pids[--silent_n], SIGCONT);
}

/* teardown, after waking what stop_silent() froze (also on failure). */
static int
teardown_silent(void **state)
{
	cont_silent();
	return teardown(state);
}

/*
 * A server that stops answering with the connections still open (its
 * backends SIGSTOPped): libpq alone would wait for ever. With [db]
 * timeout_seconds 2 a read gives up after 2 + 2 s with DB_ERR_RETRY, and
 * a write batch gives up on its silent writer connection, connects again
 * and stores its write (idempotent); the timed-out connections are not
 * reused, so the handle works again at once.
 */
static void
test_pg_silent_server(void **state)
{
	struct fx *fx = *state;
	struct db *db = NULL;
	struct db_txn t;
	struct gw_err err;

	gw_err_clear(&err);
	assert_int_equal(db_open_url(&db, fx->url, NULL, "silent", 2, &err), 0);
	assert_int_equal(start(db, "s1", 0, NOW, &t), DB_START_OK);
	db_txn_cleanup(&t);
	stop_silent(fx);
	gw_err_clear(&err);
	assert_int_equal(db_txn_get(db, "s1", &t, &err), -1);
	assert_int_equal(err.code, DB_ERR_RETRY);
	assert_non_null(strstr(err.msg, "did not answer within 4 s"));
	assert_int_equal(start(db, "s2", 0, NOW, &t), DB_START_OK);
	db_txn_cleanup(&t);
	assert_int_equal(db_txn_get(db, "s2", &t, &err), 0);
	assert_int_equal(t.state, DB_TXN_ORDERING);
	db_txn_cleanup(&t);
	cont_silent();
	db_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pg_functions_idempotent,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_pg_reconnect, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pg_prepared_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_pg_aborted_batch_retried_per_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pg_deadlock_batch_retried,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_pg_multi_host, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pg_cap_across_handles,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_pg_concurrent_open, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pg_silent_server, setup,
		    teardown_silent),
	};

	/* PostgreSQL only: unit/test_db_pg runs with the fixture's file. */
	if (getenv("GW_TEST_DB_URL_FILE") == NULL) {
		printf("SKIPPED: test_db_pg: GW_TEST_DB_URL_FILE is not set\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
