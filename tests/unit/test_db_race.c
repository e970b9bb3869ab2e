/*
 * Unit tests for db/ under concurrency: races on one challenge, and on
 * one certificate's renewal, from several threads with one shared handle
 * and with one handle per thread; group commit (db_batch.c) and the
 * database's writer thread.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "gw_err.h"
#include "db.h"
#include "test_db_common.h"

#define RACERS 8

struct racer {
	pthread_barrier_t *bar;
	struct db *db;	     /* shared, or NULL: open one */
	const struct fx *fx; /* own handle on this database, unless db */
	char txid[16];
	const char *renews; /* a renewal of this serial, no challenge */
	enum db_start res;
	int rc;
};

static void *
racer_run(void *arg)
{
	struct racer *r = arg;
	struct db *own = NULL, *db = r->db;
	struct db_txn_new n;
	struct db_txn t;
	struct gw_err err;
	uint8_t ch[32], csr[32];

	r->rc = -1;
	if (db == NULL) {
		if (fx_open(r->fx, &own, &err) != 0)
			return NULL;
		db = own;
	}
	hash_fill(ch, 0x42);
	hash_fill(csr, 0xc5);
	memset(&n, 0, sizeof(n));
	n.txid = r->txid;
	n.csr_sha256 = csr;
	n.challenge_sha256 = r->renews == NULL ? ch : NULL;
	n.renews = r->renews;
	n.now = NOW;
	pthread_barrier_wait(r->bar);
	r->rc = db_txn_start(db, &n, &r->res, &t, &err);
	db_txn_cleanup(&t);
	db_close(own);
	return NULL;
}

/* Races RACERS threads on one challenge; same_txid makes them retries. */
static void
race(struct fx *fx, bool shared, bool same_txid)
{
	struct racer r[RACERS];
	pthread_t th[RACERS];
	pthread_barrier_t bar;
	int i, ok = 0, lost = 0;

	put_challenge(fx->db, 0x42, NOW + 60, NULL, NULL, NULL);
	assert_int_equal(pthread_barrier_init(&bar, NULL, RACERS), 0);
	for (i = 0; i < RACERS; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].bar = &bar;
		r[i].db = shared ? fx->db : NULL;
		r[i].fx = fx;
		snprintf(r[i].txid, sizeof(r[i].txid), "race%d",
		    same_txid ? 0 : i);
		assert_int_equal(pthread_create(&th[i], NULL, racer_run, &r[i]),
		    0);
	}
	for (i = 0; i < RACERS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&bar);
	for (i = 0; i < RACERS; i++) {
		assert_int_equal(r[i].rc, 0);
		if (r[i].res == DB_START_OK)
			ok++;
		else if (r[i].res ==
		    (same_txid ? DB_START_EXISTS : DB_START_CHALLENGE_USED))
			lost++;
	}
	assert_int_equal(ok, 1);
	assert_int_equal(lost, RACERS - 1);
}

/* Races RACERS renewals of one certificate, each with its own txid and
 * database handle: exactly one is recorded, the others are refused. */
static void
test_race_renewals(void **state)
{
	struct fx *fx = *state;
	struct racer r[RACERS];
	pthread_t th[RACERS];
	pthread_barrier_t bar;
	int i, ok = 0, lost = 0;

	issue_cert(fx->db, "orig", "0A0A");
	assert_int_equal(pthread_barrier_init(&bar, NULL, RACERS), 0);
	for (i = 0; i < RACERS; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].bar = &bar;
		r[i].db = i % 2 == 0 ? fx->db : NULL;
		r[i].fx = fx;
		r[i].renews = "0A0A";
		snprintf(r[i].txid, sizeof(r[i].txid), "renew%d", i);
		assert_int_equal(pthread_create(&th[i], NULL, racer_run, &r[i]),
		    0);
	}
	for (i = 0; i < RACERS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&bar);
	for (i = 0; i < RACERS; i++) {
		assert_int_equal(r[i].rc, 0);
		if (r[i].res == DB_START_OK)
			ok++;
		else if (r[i].res == DB_START_RENEWED)
			lost++;
	}
	assert_int_equal(ok, 1);
	assert_int_equal(lost, RACERS - 1);
}

static void
test_race_shared_handle(void **state)
{
	race(*state, true, false);
}

static void
test_race_own_handles(void **state)
{
	race(*state, false, false);
}

static void
test_race_same_txid(void **state)
{
	race(*state, false, true);
}

/*
 * Group commit (db/db_batch.c): writers on one handle share commits, and
 * a write that fails inside a batch takes nothing else with it. Each
 * worker starts its transactions, then records them issued, half with
 * db_txn_set_issued_submit(); every fourth transaction's certificate
 * reuses the serial of the one before, which must fail alone.
 */
#define GC_WORKERS 6
#define GC_EACH 40

struct gc_worker {
	struct db *db;
	pthread_barrier_t *bar;
	int w;
	int failed_sync; /* sync writes that failed */
	int bad;	 /* unexpected outcomes */
	pthread_mutex_t *mu;
	pthread_cond_t *cv; /* broadcast at each submitted write's end */
	int *done_ok;	    /* under mu: submitted writes committed */
	int *done_failed;   /* under mu: submitted writes refused */
};

static void
gc_done(void *arg, int rc, const struct gw_err *err)
{
	struct gc_worker *g = arg;

	pthread_mutex_lock(g->mu);
	if (rc == 0)
		(*g->done_ok)++;
	else if (err->code == DB_ERR_SQL)
		(*g->done_failed)++;
	else
		g->bad++;
	pthread_cond_broadcast(g->cv);
	pthread_mutex_unlock(g->mu);
}

static void *
gc_run(void *arg)
{
	static const uint8_t der[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };
	struct gc_worker *g = arg;
	struct db_txn_new n;
	struct db_txn t;
	struct gw_err err;
	enum db_start res;
	uint8_t csr[32];
	char txid[32], serial[32];
	int i, rc;

	hash_fill(csr, 0xc5);
	pthread_barrier_wait(g->bar);
	for (i = 0; i < GC_EACH; i++) {
		snprintf(txid, sizeof(txid), "gc-%d-%d", g->w, i);
		memset(&n, 0, sizeof(n));
		n.txid = txid;
		n.csr_sha256 = csr;
		n.now = NOW;
		if (db_txn_start(g->db, &n, &res, &t, &err) != 0 ||
		    res != DB_START_OK)
			g->bad++;
		db_txn_cleanup(&t);
	}
	for (i = 0; i < GC_EACH; i++) {
		snprintf(txid, sizeof(txid), "gc-%d-%d", g->w, i);
		/* i % 4 == 3 reuses the serial of i - 1: refused. */
		snprintf(serial, sizeof(serial), "%02X%04X", g->w,
		    i % 4 == 3 ? i - 1 : i);
		if (i % 2 == 0) {
			rc = db_txn_set_issued(g->db, txid, "ORD", der,
			    sizeof(der), serial, NOW + 1, "CN=gc", NOW, &err);
			if (rc != 0 && err.code == DB_ERR_SQL)
				g->failed_sync++;
			else if (rc != 0)
				g->bad++;
		} else if (db_txn_set_issued_submit(g->db, txid, "ORD", der,
			       sizeof(der), serial, NOW + 1, "CN=gc", NOW,
			       gc_done, g, &err) != 0) {
			g->bad++;
		}
	}
	return NULL;
}

static void
test_group_commit_mixed(void **state)
{
	struct fx *fx = *state;
	struct gc_worker g[GC_WORKERS];
	pthread_t th[GC_WORKERS];
	pthread_barrier_t bar;
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
	struct timespec until;
	struct db_txn t;
	struct gw_err err;
	int i, k, done_ok = 0, done_failed = 0, failed_sync = 0, issued = 0;
	uint64_t batches, writes;
	char txid[32];

	assert_int_equal(pthread_barrier_init(&bar, NULL, GC_WORKERS), 0);
	for (i = 0; i < GC_WORKERS; i++) {
		memset(&g[i], 0, sizeof(g[i]));
		g[i].db = fx->db;
		g[i].bar = &bar;
		g[i].w = i;
		g[i].mu = &mu;
		g[i].cv = &cv;
		g[i].done_ok = &done_ok;
		g[i].done_failed = &done_failed;
		assert_int_equal(pthread_create(&th[i], NULL, gc_run, &g[i]),
		    0);
	}
	for (i = 0; i < GC_WORKERS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&bar);
	/* Every submitted write is reported, by the thread that led its
	 * commit (the writer thread, or a worker in a synchronous write). */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 30;
	pthread_mutex_lock(&mu);
	while (done_ok + done_failed < GC_WORKERS * GC_EACH / 2 &&
	    pthread_cond_timedwait(&cv, &mu, &until) == 0)
		;
	pthread_mutex_unlock(&mu);
	for (i = 0; i < GC_WORKERS; i++) {
		assert_int_equal(g[i].bad, 0);
		failed_sync += g[i].failed_sync;
	}
	/* i % 4 == 3 is odd: those are the submitted ones that fail. */
	assert_int_equal(failed_sync, 0);
	assert_int_equal(done_failed, GC_WORKERS * GC_EACH / 4);
	assert_int_equal(done_ok, GC_WORKERS * GC_EACH / 4);
	for (i = 0; i < GC_WORKERS; i++) {
		for (k = 0; k < GC_EACH; k++) {
			snprintf(txid, sizeof(txid), "gc-%d-%d", i, k);
			assert_int_equal(db_txn_get(fx->db, txid, &t, &err), 0);
			if (k % 4 == 3) {
				assert_int_equal(t.state, DB_TXN_ORDERING);
			} else {
				assert_int_equal(t.state, DB_TXN_ISSUED);
				issued++;
			}
			db_txn_cleanup(&t);
		}
	}
	assert_int_equal(issued, GC_WORKERS * GC_EACH * 3 / 4);
	/* Every write was counted, and some commits covered several. */
	db_write_stats(fx->db, &batches, &writes);
	assert_int_equal(writes, GC_WORKERS * GC_EACH * 2);
	assert_true(batches < writes);
}

/* Where and when a submitted start's completion ran. */
struct submit_seen {
	pthread_t caller;
	int calls;
	bool other_thread; /* not the submitting thread */
	int rc;
	enum db_start res;
};

static void
submit_done(void *arg, int rc, enum db_start res, const struct db_txn *t,
    const struct gw_err *err)
{
	struct submit_seen *s = arg;

	(void)t;
	(void)err;
	s->calls++;
	s->other_thread = !pthread_equal(s->caller, pthread_self());
	s->rc = rc;
	s->res = res;
}

/*
 * db_txn_start_submit() never commits on the caller's thread: the
 * database's writer thread does, runs the completion, and
 * db_write_flush() returns only after it. db_close() runs what is still
 * queued before it returns.
 */
static void
test_submit_on_writer_thread(void **state)
{
	struct fx *fx = *state;
	struct submit_seen s[3];
	struct db_txn_new n[3];
	struct db_txn t;
	struct gw_err err;
	uint8_t csr[32];
	char txid[3][16];
	int i;

	hash_fill(csr, 0xc5);
	memset(s, 0, sizeof(s));
	for (i = 0; i < 3; i++) {
		snprintf(txid[i], sizeof(txid[i]), "sub-%d", i);
		memset(&n[i], 0, sizeof(n[i]));
		n[i].txid = txid[i];
		n[i].csr_sha256 = csr;
		n[i].now = NOW;
		s[i].caller = pthread_self();
		assert_int_equal(db_txn_start_submit(fx->db, &n[i], submit_done,
				     &s[i], &err),
		    0);
	}
	db_write_flush(fx->db);
	for (i = 0; i < 3; i++) {
		assert_int_equal(s[i].calls, 1);
		assert_true(s[i].other_thread);
		assert_int_equal(s[i].rc, 0);
		assert_int_equal(s[i].res, DB_START_OK);
		assert_int_equal(db_txn_get(fx->db, txid[i], &t, &err), 0);
		assert_int_equal(t.state, DB_TXN_ORDERING);
		db_txn_cleanup(&t);
	}

	/* Submitted right before closing: committed and reported. */
	memset(&s[0], 0, sizeof(s[0]));
	s[0].caller = pthread_self();
	n[0].txid = "sub-last";
	assert_int_equal(db_txn_start_submit(fx->db, &n[0], submit_done, &s[0],
			     &err),
	    0);
	db_close(fx->db);
	fx->db = NULL;
	assert_int_equal(s[0].calls, 1);
	assert_int_equal(s[0].rc, 0);
	assert_int_equal(fx_open(fx, &fx->db, &err), 0);
	assert_int_equal(db_txn_get(fx->db, "sub-last", &t, &err), 0);
	db_txn_cleanup(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_race_shared_handle, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_race_own_handles, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_race_same_txid, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_race_renewals, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_group_commit_mixed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_submit_on_writer_thread,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
