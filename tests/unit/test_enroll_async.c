/*
 * Unit tests of server/enroll/ over time: a post() that fails, before or
 * after the PENDING timer; a slow upstream and the CertPoll that follows;
 * retries of a finished or an in-flight order; enroll_drain(); answers
 * from the transport's thread; and requests admitted while another thread
 * holds the database's group-commit lead (db_batch.c).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <openssl/x509.h>

#include "db.h"
#include "db_int.h"
#include "enroll.h"
#include "gw.h"
#include "gw_err.h"
#include "scep.h"
#include "test_enroll_common.h"
#include "test_server_common.h"

/* post() itself fails: PENDING at once, left for reconciliation. */
static void
test_enroll_post_fails(void **state)
{
	struct srv_fx *fx = *state;
	struct call c;
	X509_REQ *csr;

	srv_challenge_put(fx, "s3cret", 3600);
	csr = csr_new(fx, "device-1", "s3cret");
	fx->fake.fail_post = true;
	call_init(fx, &c, SCEP_MT_PKCSREQ, "TX-POSTFAIL", csr, 0);
	assert_int_equal(call_start(fx, &c), 0);
	call_rep(fx, &c);
	assert_int_equal(c.rep.status, SCEP_STATUS_PENDING);
	assert_int_equal(fake_posts(&fx->fake), 1);
	assert_int_equal(enroll_inflight(fx->ctx.enroll), 0);
	assert_int_equal(srv_txn_state(fx, "TX-POSTFAIL"), DB_TXN_ORDERING);
	call_cleanup(&c);
	X509_REQ_free(csr);
}

/*
 * post() fails after the PENDING timer has answered: the request was
 * resumed once, by the timer, and the failure path leaves it alone.
 */
static void
test_enroll_post_fails_after_timer(void **state)
{
	struct srv_fx *fx = *state;
	struct call c;
	X509_REQ *csr;

	fx->cfg.pending_after_seconds = 1;
	srv_challenge_put(fx, "s3cret", 3600);
	csr = csr_new(fx, "device-1", "s3cret");
	fx->fake.fail_post = true;
	fx->fake.fail_post_ms = 2500;
	call_init(fx, &c, SCEP_MT_PKCSREQ, "TX-POSTLATE", csr, 0);
	assert_int_equal(call_start(fx, &c), 0);
	call_rep(fx, &c);
	assert_int_equal(c.rep.status, SCEP_STATUS_PENDING);
	assert_int_equal(waiter_calls(&c.w), 1);
	assert_int_equal(fake_posts(&fx->fake), 1);
	assert_int_equal(enroll_inflight(fx->ctx.enroll), 0);
	assert_int_equal(srv_txn_state(fx, "TX-POSTLATE"), DB_TXN_ORDERING);
	call_cleanup(&c);
	X509_REQ_free(csr);
}

/*
 * Slow upstream: the timer answers PENDING after pending_after_seconds,
 * the late answer is stored, and a CertPoll then gets the certificate.
 */
static void
test_enroll_slow_then_poll(void **state)
{
	struct srv_fx *fx = *state;
	struct timespec t0, t1;
	struct call c, p;
	X509_REQ *csr;

	fx->cfg.pending_after_seconds = 1;
	srv_challenge_put(fx, "s3cret", 3600);
	csr = csr_new(fx, "device-1", "s3cret");
	call_init(fx, &c, SCEP_MT_PKCSREQ, "TX-SLOW", csr, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(call_start(fx, &c), 1);
	call_wait(fx, &c);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec >= 0 && t1.tv_sec - t0.tv_sec < 10);
	call_rep(fx, &c);
	assert_int_equal(c.rep.status, SCEP_STATUS_PENDING);
	assert_true(fake_pending(&fx->fake));
	assert_int_equal(enroll_inflight(fx->ctx.enroll), 1);
	assert_int_equal(srv_txn_state(fx, "TX-SLOW"), DB_TXN_ORDERING);

	/* The late answer: stored, and the op is not resumed again. */
	fake_complete(&fx->fake, FAKE_ISSUE);
	assert_int_equal(enroll_inflight(fx->ctx.enroll), 0);
	assert_int_equal(srv_txn_state(fx, "TX-SLOW"), DB_TXN_ISSUED);
	assert_int_equal(waiter_calls(&c.w), 1);

	call_init(fx, &p, SCEP_MT_CERTPOLL, "TX-SLOW", NULL, 0);
	assert_int_equal(call_start(fx, &p), 0);
	call_rep(fx, &p);
	assert_success(fx, &p);
	assert_int_equal(fake_posts(&fx->fake), 1);
	call_cleanup(&p);
	call_cleanup(&c);
	X509_REQ_free(csr);
}

/* After SUCCESS: same txid + same CSR is SUCCESS again, same serial. */
static void
test_enroll_retry_after_success(void **state)
{
	struct srv_fx *fx = *state;
	struct call c, r, d;
	X509_REQ *csr, *csr2;

	srv_challenge_put(fx, "s3cret", 3600);
	csr = csr_new(fx, "device-1", "s3cret");
	fx->fake.autoans = FAKE_ISSUE;
	call_init(fx, &c, SCEP_MT_PKCSREQ, "TX-RETRY", csr, 0);
	call_run(fx, &c);
	assert_success(fx, &c);
	fake_join(&fx->fake);

	call_init(fx, &r, SCEP_MT_PKCSREQ, "TX-RETRY", csr, 0);
	assert_int_equal(call_start(fx, &r), 0);
	call_rep(fx, &r);
	assert_success(fx, &r);
	assert_int_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(c.rep.issued),
			     X509_get0_serialNumber(r.rep.issued)),
	    0);
	assert_int_equal(fake_posts(&fx->fake), 1);

	/*
	 * Same txid and key, another CSR (certmonger resubmits this way):
	 * the stored certificate of that key, still one order. Another key
	 * is refused: integration/enroll-retry-same-txid.
	 */
	csr2 = csr_new(fx, "device-2", "s3cret");
	call_init(fx, &d, SCEP_MT_PKCSREQ, "TX-RETRY", csr2, 0);
	assert_int_equal(call_start(fx, &d), 0);
	call_rep(fx, &d);
	assert_success(fx, &d);
	assert_int_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(c.rep.issued),
			     X509_get0_serialNumber(d.rep.issued)),
	    0);
	assert_int_equal(fake_posts(&fx->fake), 1);
	assert_int_equal(srv_txn_state(fx, "TX-RETRY"), DB_TXN_ISSUED);
	call_cleanup(&d);
	call_cleanup(&r);
	call_cleanup(&c);
	X509_REQ_free(csr2);
	X509_REQ_free(csr);
}

/* A retry while the order is still in flight: PENDING, no second order. */
static void
test_enroll_retry_while_ordering(void **state)
{
	struct srv_fx *fx = *state;
	struct call c, r;
	X509_REQ *csr;

	srv_challenge_put(fx, "s3cret", 3600);
	csr = csr_new(fx, "device-1", "s3cret");
	call_init(fx, &c, SCEP_MT_PKCSREQ, "TX-INFLIGHT", csr, 0);
	assert_int_equal(call_start(fx, &c), 1);
	call_init(fx, &r, SCEP_MT_PKCSREQ, "TX-INFLIGHT", csr, 0);
	assert_int_equal(call_start(fx, &r), 0);
	call_rep(fx, &r);
	assert_int_equal(r.rep.status, SCEP_STATUS_PENDING);
	assert_int_equal(fake_posts(&fx->fake), 1);
	fake_complete(&fx->fake, FAKE_ISSUE);
	call_wait(fx, &c);
	call_rep(fx, &c);
	assert_success(fx, &c);
	call_cleanup(&r);
	call_cleanup(&c);
	X509_REQ_free(csr);
}

/* enroll_drain() returns once the order in flight ends. */
static void
test_enroll_drain_waits(void **state)
{
	struct srv_fx *fx = *state;
	struct timespec t0, t1;
	struct call c;
	X509_REQ *csr;

	fx->cfg.pending_after_seconds = 1;
	srv_challenge_put(fx, "s3cret", 3600);
	csr = csr_new(fx, "device-1", "s3cret");
	call_init(fx, &c, SCEP_MT_PKCSREQ, "TX-DRAIN", csr, 0);
	assert_int_equal(call_start(fx, &c), 1);
	fake_complete_later(&fx->fake, FAKE_ISSUE, 1500);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	enroll_drain(fx->ctx.enroll, 10);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 8);
	assert_int_equal(enroll_inflight(fx->ctx.enroll), 0);
	fake_join(&fx->fake);
	assert_int_equal(srv_txn_state(fx, "TX-DRAIN"), DB_TXN_ISSUED);
	/* The device got PENDING from the timer before the answer. */
	call_wait(fx, &c);
	call_rep(fx, &c);
	assert_int_equal(c.rep.status, SCEP_STATUS_PENDING);
	call_cleanup(&c);
	X509_REQ_free(csr);
}

/*
 * enroll_drain() gives up on an order that never ends; teardown then
 * ends it as epki_client_free() would, before enroll_free().
 */
static void
test_enroll_drain_gives_up(void **state)
{
	struct srv_fx *fx = *state;
	struct timespec t0, t1;
	struct call c;
	X509_REQ *csr;

	fx->cfg.pending_after_seconds = 1;
	srv_challenge_put(fx, "s3cret", 3600);
	csr = csr_new(fx, "device-1", "s3cret");
	call_init(fx, &c, SCEP_MT_PKCSREQ, "TX-STUCK", csr, 0);
	assert_int_equal(call_start(fx, &c), 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	enroll_drain(fx->ctx.enroll, 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 8);
	assert_int_equal(enroll_inflight(fx->ctx.enroll), 1);
	assert_true(fake_pending(&fx->fake));
	call_wait(fx, &c);
	call_rep(fx, &c);
	assert_int_equal(c.rep.status, SCEP_STATUS_PENDING);
	call_cleanup(&c);
	X509_REQ_free(csr);
	/* srv_fx_teardown() completes the order with a transport error. */
}

/* A transport error from the transport's thread: PENDING, resumed once. */
static void
test_enroll_transport_error_from_thread(void **state)
{
	struct srv_fx *fx = *state;
	struct call c;
	X509_REQ *csr;

	srv_challenge_put(fx, "s3cret", 3600);
	csr = csr_new(fx, "device-1", "s3cret");
	call_init(fx, &c, SCEP_MT_PKCSREQ, "TX-TERR", csr, 0);
	assert_int_equal(call_start(fx, &c), 1);
	fake_complete_later(&fx->fake, FAKE_TRANSPORT, 50);
	call_wait(fx, &c);
	fake_join(&fx->fake);
	call_rep(fx, &c);
	assert_int_equal(c.rep.status, SCEP_STATUS_PENDING);
	assert_int_equal(waiter_calls(&c.w), 1);
	assert_int_equal(enroll_inflight(fx->ctx.enroll), 0);
	assert_int_equal(srv_txn_state(fx, "TX-TERR"), DB_TXN_ORDERING);
	call_cleanup(&c);
	X509_REQ_free(csr);
}

/*
 * A write whose completion keeps the group-commit lead (db_batch.c) until
 * released: whatever is written meanwhile waits in the queue.
 */
struct lead_hold {
	struct db_write w; /* first */
	struct db *db;
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

/* Submits a write whose completion keeps the database's writer thread
 * (its leader) busy until hold_release(). */
static void
hold_start(struct lead_hold *h, struct db *db)
{
	struct gw_err err;

	memset(h, 0, sizeof(*h));
	h->db = db;
	h->w.kind = DB_W_NONE; /* writes nothing */
	h->w.done = hold_done;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	assert_int_equal(db_write_submit(db, &h->w, &err), 0);
	pthread_mutex_lock(&h->mu);
	while (!h->leading)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
}

/* Lets the writer run the queue and waits until it is done. */
static void
hold_release(struct lead_hold *h)
{
	pthread_mutex_lock(&h->mu);
	h->release = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	db_write_flush(h->db);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
}

/*
 * While another thread commits, a PKCSReq does not wait for it: the HTTP
 * thread gets 1 at once, nothing is answered or ordered before the
 * transaction is durable, and the committing thread carries the request
 * on: the order (SUCCESS), or the answer to a challenge that turned out
 * used meanwhile (FAILURE, resumed from that thread). Shutdown's drain
 * waits for such requests.
 */
static void
test_enroll_start_behind_commit(void **state)
{
	struct srv_fx *fx = *state;
	struct lead_hold h;
	struct call c, d;
	X509_REQ *csr;
	char used_by[128];
	int64_t id;

	id = srv_challenge_put(fx, "s3cret", 3600);
	csr = csr_new(fx, "device-1", "s3cret");
	fx->fake.autoans = FAKE_ISSUE;
	call_init(fx, &c, SCEP_MT_PKCSREQ, "TX-BEHIND", csr, 0);
	/* The same challenge again, admitted before either is recorded. */
	call_init(fx, &d, SCEP_MT_PKCSREQ, "TX-BEHIND-2", csr, 0);
	hold_start(&h, fx->ctx.db);
	/* Not call_start(): it would wait for the held writer. */
	c.rc = enroll_pkioperation(&fx->ctx, &c.op, c.der.data, c.der.len);
	assert_int_equal(c.rc, 1);
	d.rc = enroll_pkioperation(&fx->ctx, &d.op, d.der.data, d.der.len);
	assert_int_equal(d.rc, 1);
	srv_sleep_ms(50);
	assert_int_equal(waiter_calls(&c.w), 0);
	assert_int_equal(waiter_calls(&d.w), 0);
	assert_int_equal(fake_posts(&fx->fake), 0);
	assert_int_equal(srv_txn_state(fx, "TX-BEHIND"), 0);
	assert_int_equal(srv_challenge_used(fx, id, used_by, sizeof(used_by)),
	    0);
	hold_release(&h);
	call_wait(fx, &c);
	call_rep(fx, &c);
	assert_success(fx, &c);
	assert_int_equal(waiter_calls(&c.w), 1);
	call_wait(fx, &d);
	call_rep(fx, &d);
	assert_failure(&d, SCEP_FAIL_BADREQUEST);
	assert_string_equal(d.rep.fail_text, "invalid challenge password");
	assert_int_equal(waiter_calls(&d.w), 1);
	assert_int_equal(fake_posts(&fx->fake), 1);
	assert_int_equal(srv_txn_state(fx, "TX-BEHIND"), DB_TXN_ISSUED);
	assert_int_equal(srv_txn_state(fx, "TX-BEHIND-2"), 0);
	assert_true(srv_challenge_used(fx, id, used_by, sizeof(used_by)) > 0);
	assert_string_equal(used_by, "TX-BEHIND");
	enroll_drain(fx->ctx.enroll, 1);
	call_cleanup(&c);
	call_cleanup(&d);
	X509_REQ_free(csr);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, srv_fx_setup, srv_fx_teardown)
		T(test_enroll_post_fails),
		T(test_enroll_post_fails_after_timer),
		T(test_enroll_slow_then_poll),
		T(test_enroll_retry_after_success),
		T(test_enroll_retry_while_ordering),
		T(test_enroll_drain_waits),
		T(test_enroll_drain_gives_up),
		T(test_enroll_transport_error_from_thread),
		T(test_enroll_start_behind_commit),
#undef T
	};

	return cmocka_run_group_tests(tests, srv_pki_setup, srv_pki_teardown);
}
