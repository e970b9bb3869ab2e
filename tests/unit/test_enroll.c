/*
 * Unit tests of the enrollment state machine (server/enroll/) through
 * its seam, struct gw_ctx's EPKI transport. Everything else is real: the
 * RA, the SQLite database, SCEP messages built and CertReps checked with
 * the test client library, and SOAP answers built with epki/.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "config.h"
#include "db.h"
#include "db_int.h"
#include "epki.h"
#include "enroll.h"
#include "gw.h"
#include "gw_err.h"
#include "ratelimit.h"
#include "scep.h"
#include "scep_client.h"
#include "test_server_common.h"

#define CT_PKI "application/x-pki-message"
#define WAIT_S 20

/* Counts op->resume calls. */
struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int calls;
};

static void
on_resume(void *arg)
{
	struct waiter *w = arg;

	pthread_mutex_lock(&w->mu);
	w->calls++;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Resume calls so far. */
static int
waiter_calls(struct waiter *w)
{
	int n;

	pthread_mutex_lock(&w->mu);
	n = w->calls;
	pthread_mutex_unlock(&w->mu);
	return n;
}

/* Waits up to WAIT_S for the first resume; false on timeout. */
static bool
waiter_wait(struct waiter *w)
{
	struct timespec until;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WAIT_S;
	pthread_mutex_lock(&w->mu);
	while (w->calls == 0 && rc == 0)
		rc = pthread_cond_timedwait(&w->cv, &w->mu, &until);
	rc = w->calls;
	pthread_mutex_unlock(&w->mu);
	return rc > 0;
}

/* One PKIOperation: the request, the op and the checked reply. */
struct call {
	struct scep_client_req req;
	struct buf der;
	struct enroll_op op;
	struct waiter w;
	int rc; /* enroll_pkioperation() */
	struct scep_client_rep rep;
};

/* Builds a request of type for txid (csr for PKCSReq, else NULL). */
static void
call_init(struct srv_fx *fx, struct call *c, int type, const char *txid,
    const X509_REQ *csr, int cipher_nid)
{
	struct gw_err err;

	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->w.mu, NULL);
	pthread_cond_init(&c->w.cv, NULL);
	buf_init(&c->der, 0);
	c->req.type = type;
	c->req.txid = txid;
	c->req.cipher_nid = cipher_nid;
	c->req.signer = fx->pki->signer;
	c->req.key = fx->pki->key;
	c->req.recipient = fx->pki->ra_x509;
	c->req.csr = csr;
	c->req.issuer = X509_get_subject_name(fx->pki->ca);
	c->req.subject = X509_get_subject_name(fx->pki->signer);
	if (scep_client_msg_build(&c->req, &c->der, &err) != 0)
		fail_msg("scep_client_msg_build: %s", err.msg);
	c->op.resume = on_resume;
	c->op.resume_arg = &c->w;
	snprintf(c->op.peer, sizeof(c->op.peer), "192.0.2.1");
}

/*
 * Starts the operation and waits for the database's writer thread to
 * record its transaction. Returns 0 when the request was answered without
 * an order in flight (at once, or from the writer: a refused challenge, a
 * retry, a post that failed), 1 when it waits for one.
 */
static int
call_start(struct srv_fx *fx, struct call *c)
{
	int posts = fake_accepted(&fx->fake);

	c->rc = enroll_pkioperation(&fx->ctx, &c->op, c->der.data, c->der.len);
	assert_in_range(c->rc, 0, 1);
	if (c->rc == 1) {
		db_write_flush(fx->ctx.db);
		if (fake_accepted(&fx->fake) == posts &&
		    waiter_calls(&c->w) > 0) {
			assert_null(c->op.job);
			enroll_finish(&fx->ctx, &c->op);
			c->rc = 0;
		}
	} else {
		assert_int_equal(waiter_calls(&c->w), 0);
	}
	if (c->rc == 0)
		assert_true(c->op.done);
	return c->rc;
}

/* For an async op: waits for resume, then builds the reply. */
static void
call_wait(struct srv_fx *fx, struct call *c)
{
	assert_int_equal(c->rc, 1);
	assert_true(waiter_wait(&c->w));
	/* The HTTP layer frees the op after this: nothing may point to it. */
	assert_null(c->op.job);
	enroll_finish(&fx->ctx, &c->op);
	assert_true(c->op.done);
}

/* Checks the reply is a CertRep for the request and parses it. */
static void
call_rep(struct srv_fx *fx, struct call *c)
{
	struct gw_err err;

	assert_int_equal(c->op.reply.http_status, 200);
	assert_string_equal(c->op.reply.content_type, CT_PKI);
	if (scep_client_rep_parse(c->op.reply.body, c->op.reply.len,
		fx->pki->ra_x509, &c->req, &c->rep, &err) != 0)
		fail_msg("scep_client_rep_parse: %s", err.msg);
}

/* Runs the whole operation (synchronous or not) and parses the reply. */
static void
call_run(struct srv_fx *fx, struct call *c)
{
	if (call_start(fx, c) == 1)
		call_wait(fx, c);
	call_rep(fx, c);
}

static void
call_cleanup(struct call *c)
{
	enroll_op_cleanup(&c->op);
	scep_client_rep_cleanup(&c->rep);
	buf_cleanup(&c->der);
	pthread_cond_destroy(&c->w.cv);
	pthread_mutex_destroy(&c->w.mu);
}

/* Asserts a FAILURE reply with failInfo f. */
static void
assert_failure(const struct call *c, enum scep_fail f)
{
	assert_int_equal(c->rep.status, SCEP_STATUS_FAILURE);
	assert_int_equal(c->rep.fail, f);
	assert_null(c->rep.issued);
}

/* Asserts a SUCCESS reply whose certificate carries the device's key. */
static void
assert_success(struct srv_fx *fx, const struct call *c)
{
	assert_int_equal(c->rep.status, SCEP_STATUS_SUCCESS);
	assert_non_null(c->rep.issued);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(c->rep.issued),
			     fx->pki->key),
	    1);
	assert_int_equal(X509_check_issued(fx->pki->ca, c->rep.issued),
	    X509_V_OK);
}

/* A CSR from the device's key. Caller frees with X509_REQ_free(). */
static X509_REQ *
csr_new(struct srv_fx *fx, const char *cn, const char *challenge)
{
	X509_REQ *csr;

	csr = scep_client_csr_new(fx->pki->key, cn, NULL, challenge);
	assert_non_null(csr);
	return csr;
}

/* The stored transaction; caller cleans it up. */
static void
txn_get(struct srv_fx *fx, const char *txid, struct db_txn *t)
{
	struct gw_err err;

	if (db_txn_get(fx->ctx.db, txid, t, &err) != 0)
		fail_msg("db_txn_get %s: %s", txid, err.msg);
}

/* PKCSReq, answered at once from the transport's thread: SUCCESS. */
static void
test_enroll_success(void **state)
{
	struct srv_fx *fx = *state;
	struct epki_req req;
	struct db_txn t;
	struct gw_err err;
	struct call c;
	X509_REQ *csr;
	char used_by[128];
	int64_t id;

	id = srv_challenge_put(fx, "s3cret", 3600);
	csr = csr_new(fx, "device-1", "s3cret");
	fx->fake.autoans = FAKE_ISSUE;
	call_init(fx, &c, SCEP_MT_PKCSREQ, "TX-SUCCESS", csr, 0);
	assert_int_equal(call_start(fx, &c), 1);
	call_wait(fx, &c);
	call_rep(fx, &c);
	assert_success(fx, &c);
	assert_int_equal(waiter_calls(&c.w), 1);
	assert_int_equal(fake_posts(&fx->fake), 1);

	/* What went upstream: the configured profile, the CSR's CN. */
	assert_string_equal(fx->fake.last_op, "OrderAndIssueCertificate");
	memset(&req, 0, sizeof(req));
	assert_int_equal(epki_soap_req_parse(fx->fake.last.data,
			     fx->fake.last.len, &req, &err),
	    0);
	assert_string_equal(req.user, "PAR12345_api");
	assert_string_equal(req.password, "pw-s3cret");
	assert_string_equal(req.order.profile_id, "MP0001");
	assert_string_equal(req.order.product_code, "EPKIPSPersonal");
	assert_string_equal(req.order.cn, "device-1");
	assert_non_null(strstr(req.order.csr_pem, "CERTIFICATE REQUEST"));
	epki_req_cleanup(&req);

	/* The database: ISSUED with the certificate, challenge consumed. */
	txn_get(fx, "TX-SUCCESS", &t);
	assert_int_equal(t.state, DB_TXN_ISSUED);
	assert_non_null(t.order_id);
	assert_string_equal(t.order_id, "MPS2026000001");
	assert_true(t.cert_len > 0);
	db_txn_cleanup(&t);
	assert_true(srv_challenge_used(fx, id, used_by, sizeof(used_by)) > 0);
	assert_string_equal(used_by, "TX-SUCCESS");
	call_cleanup(&c);
	X509_REQ_free(csr);
}

/* The order is held, then answered from the test thread before PENDING. */
static void
test_enroll_success_answered_later(void **state)
{
	struct srv_fx *fx = *state;
	struct call c;
	X509_REQ *csr;

	srv_challenge_put(fx, "s3cret", 3600);
	csr = csr_new(fx, "device-1", "s3cret");
	call_init(fx, &c, SCEP_MT_PKCSREQ, "TX-LATER", csr, 0);
	assert_int_equal(call_start(fx, &c), 1);
	assert_int_equal(enroll_inflight(fx->ctx.enroll), 1);
	assert_int_equal(srv_txn_state(fx, "TX-LATER"), DB_TXN_ORDERING);
	srv_sleep_ms(100);
	assert_int_equal(waiter_calls(&c.w), 0);
	fake_complete(&fx->fake, FAKE_ISSUE);
	assert_int_equal(enroll_inflight(fx->ctx.enroll), 0);
	call_wait(fx, &c);
	call_rep(fx, &c);
	assert_success(fx, &c);
	assert_int_equal(srv_txn_state(fx, "TX-LATER"), DB_TXN_ISSUED);
	call_cleanup(&c);
	X509_REQ_free(csr);
}

/* Refused challenges: FAILURE badRequest, nothing recorded or ordered. */
enum chal_case {
	CHAL_WRONG,
	CHAL_USED,
	CHAL_EXPIRED,
	CHAL_REVOKED,
	CHAL_MISSING,
};

static const struct {
	enum chal_case kind;
	const char *name;
	const char *text; /* failInfoText */
} chal_cases[] = {
	{ CHAL_WRONG, "wrong", "invalid challenge password" },
	{ CHAL_USED, "used", "invalid challenge password" },
	{ CHAL_EXPIRED, "expired", "invalid challenge password" },
	{ CHAL_REVOKED, "revoked", "invalid challenge password" },
	{ CHAL_MISSING, "missing", "challenge password missing" },
};

/* Prepares the database for one refused-challenge case. */
static int64_t
chal_prepare(struct srv_fx *fx, enum chal_case kind, const char *secret)
{
	struct db_txn_new n;
	struct db_txn t;
	enum db_start res;
	struct gw_err err;
	uint8_t zero[32] = { 0 }, hash[32];
	int64_t id = 0;

	switch (kind) {
	case CHAL_WRONG:
		id = srv_challenge_put(fx, "another-secret", 3600);
		break;
	case CHAL_USED:
		/* Another transaction consumed it first. */
		id = srv_challenge_put(fx, secret, 3600);
		SHA256((const unsigned char *)secret, strlen(secret), hash);
		memset(&n, 0, sizeof(n));
		n.txid = "TX-OTHER";
		n.csr_sha256 = zero;
		n.challenge_sha256 = hash;
		n.csr_cn = "other";
		n.csr_pem = "x";
		n.now = (int64_t)time(NULL);
		assert_int_equal(db_txn_start(fx->ctx.db, &n, &res, &t, &err),
		    0);
		assert_int_equal(res, DB_START_OK);
		db_txn_cleanup(&t);
		break;
	case CHAL_EXPIRED:
		id = srv_challenge_put(fx, secret, -5);
		break;
	case CHAL_REVOKED:
		id = srv_challenge_put(fx, secret, 3600);
		assert_int_equal(db_challenge_revoke(fx->ctx.db, id, &err), 0);
		break;
	case CHAL_MISSING:
		id = srv_challenge_put(fx, secret, 3600);
		break;
	}
	return id;
}

static void
test_enroll_challenge_refused(void **state)
{
	struct srv_fx *fx = *state;
	struct call c;
	X509_REQ *csr;
	char txid[64], secret[64], used_by[128];
	int64_t id, used;
	size_t i;

	for (i = 0; i < sizeof(chal_cases) / sizeof(chal_cases[0]); i++) {
		print_message("challenge: %s\n", chal_cases[i].name);
		snprintf(secret, sizeof(secret), "s3cret-%s",
		    chal_cases[i].name);
		id = chal_prepare(fx, chal_cases[i].kind, secret);
		csr = csr_new(fx, "device-1",
		    chal_cases[i].kind == CHAL_MISSING ? NULL : secret);
		snprintf(txid, sizeof(txid), "TX-CHAL-%s", chal_cases[i].name);
		call_init(fx, &c, SCEP_MT_PKCSREQ, txid, csr, 0);
		assert_int_equal(call_start(fx, &c), 0);
		call_rep(fx, &c);
		assert_failure(&c, SCEP_FAIL_BADREQUEST);
		assert_string_equal(c.rep.fail_text, chal_cases[i].text);
		assert_int_equal(fake_posts(&fx->fake), 0);
		assert_int_equal(srv_txn_state(fx, txid), 0);
		/* The challenge is left as it was. */
		used = srv_challenge_used(fx, id, used_by, sizeof(used_by));
		if (chal_cases[i].kind == CHAL_USED) {
			assert_true(used > 0);
			assert_string_equal(used_by, "TX-OTHER");
		} else {
			assert_int_equal(used, 0);
		}
		call_cleanup(&c);
		X509_REQ_free(csr);
	}
}

/* -101 ProfileID: FAILURE badRequest, stored; a retry is not re-ordered. */
static void
test_enroll_business_error(void **state)
{
	struct srv_fx *fx = *state;
	struct call c, r, p;
	struct db_txn t;
	X509_REQ *csr;

	srv_challenge_put(fx, "s3cret", 3600);
	csr = csr_new(fx, "device-1", "s3cret");
	fx->fake.autoans = FAKE_BIZ_101;
	call_init(fx, &c, SCEP_MT_PKCSREQ, "TX-BIZ", csr, 0);
	call_run(fx, &c);
	assert_failure(&c, SCEP_FAIL_BADREQUEST);
	assert_string_equal(c.rep.fail_text, "the CA refused the request");
	txn_get(fx, "TX-BIZ", &t);
	assert_int_equal(t.state, DB_TXN_FAILED);
	assert_int_equal(t.fail_info, SCEP_FAIL_BADREQUEST);
	db_txn_cleanup(&t);
	fake_join(&fx->fake);

	/* The same request again: answered from the database. */
	call_init(fx, &r, SCEP_MT_PKCSREQ, "TX-BIZ", csr, 0);
	assert_int_equal(call_start(fx, &r), 0);
	call_rep(fx, &r);
	assert_failure(&r, SCEP_FAIL_BADREQUEST);
	assert_string_equal(r.rep.fail_text, "the CA refused the request");
	call_init(fx, &p, SCEP_MT_CERTPOLL, "TX-BIZ", NULL, 0);
	assert_int_equal(call_start(fx, &p), 0);
	call_rep(fx, &p);
	assert_failure(&p, SCEP_FAIL_BADREQUEST);
	assert_int_equal(fake_posts(&fx->fake), 1);
	call_cleanup(&p);
	call_cleanup(&r);
	call_cleanup(&c);
	X509_REQ_free(csr);
}

/* No usable answer from upstream: PENDING, the order stays ORDERING. */
static const struct {
	const char *name;
	enum fake_answer a;
	bool order_id; /* an OrderID was learnt */
} pending_cases[] = {
	{ "transport", FAKE_TRANSPORT, false },
	{ "soap-fault", FAKE_FAULT, false },
};

static void
test_enroll_upstream_unusable(void **state)
{
	struct srv_fx *fx = *state;
	struct call c, r, p;
	struct db_txn t;
	X509_REQ *csr;
	char txid[64], secret[32];
	size_t i;

	for (i = 0; i < sizeof(pending_cases) / sizeof(pending_cases[0]); i++) {
		print_message("upstream: %s\n", pending_cases[i].name);
		snprintf(secret, sizeof(secret), "s3cret-%zu", i);
		snprintf(txid, sizeof(txid), "TX-UP-%s", pending_cases[i].name);
		srv_challenge_put(fx, secret, 3600);
		csr = csr_new(fx, "device-1", secret);
		call_init(fx, &c, SCEP_MT_PKCSREQ, txid, csr, 0);
		assert_int_equal(call_start(fx, &c), 1);
		fake_complete(&fx->fake, pending_cases[i].a);
		call_wait(fx, &c);
		call_rep(fx, &c);
		assert_int_equal(c.rep.status, SCEP_STATUS_PENDING);
		txn_get(fx, txid, &t);
		assert_int_equal(t.state, DB_TXN_ORDERING);
		if (pending_cases[i].order_id)
			assert_non_null(t.order_id);
		else
			assert_null(t.order_id);
		db_txn_cleanup(&t);

		/* A retry and a poll: PENDING, and no second order. */
		call_init(fx, &r, SCEP_MT_PKCSREQ, txid, csr, 0);
		assert_int_equal(call_start(fx, &r), 0);
		call_rep(fx, &r);
		assert_int_equal(r.rep.status, SCEP_STATUS_PENDING);
		call_init(fx, &p, SCEP_MT_CERTPOLL, txid, NULL, 0);
		assert_int_equal(call_start(fx, &p), 0);
		call_rep(fx, &p);
		assert_int_equal(p.rep.status, SCEP_STATUS_PENDING);
		assert_int_equal(fake_posts(&fx->fake), (int)i + 1);
		call_cleanup(&p);
		call_cleanup(&r);
		call_cleanup(&c);
		X509_REQ_free(csr);
	}
}

/*
 * A certificate that does not hold the request's key, or does not chain
 * to [ra] ca_chain: FAILURE, the transaction failed with its OrderID, and
 * nothing ordered again for a retry or a poll.
 */
static void
test_enroll_untrusted_certificate(void **state)
{
	static const enum fake_answer answers[] = { FAKE_OTHER_KEY,
		FAKE_FOREIGN };
	struct srv_fx *fx = *state;
	struct call c, r, p;
	struct db_txn t;
	X509_REQ *csr;
	char txid[64], secret[32];
	size_t i;

	for (i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		snprintf(secret, sizeof(secret), "s3cret-%zu", i);
		snprintf(txid, sizeof(txid), "TX-UNTRUSTED-%zu", i);
		srv_challenge_put(fx, secret, 3600);
		csr = csr_new(fx, "device-1", secret);
		fx->fake.autoans = answers[i];
		call_init(fx, &c, SCEP_MT_PKCSREQ, txid, csr, 0);
		call_run(fx, &c);
		assert_failure(&c, SCEP_FAIL_BADREQUEST);
		assert_string_equal(c.rep.fail_text,
		    "the CA returned an unusable certificate");
		txn_get(fx, txid, &t);
		assert_int_equal(t.state, DB_TXN_FAILED);
		assert_non_null(t.order_id);
		db_txn_cleanup(&t);
		fake_join(&fx->fake);

		call_init(fx, &r, SCEP_MT_PKCSREQ, txid, csr, 0);
		assert_int_equal(call_start(fx, &r), 0);
		call_rep(fx, &r);
		assert_failure(&r, SCEP_FAIL_BADREQUEST);
		call_init(fx, &p, SCEP_MT_CERTPOLL, txid, NULL, 0);
		assert_int_equal(call_start(fx, &p), 0);
		call_rep(fx, &p);
		assert_failure(&p, SCEP_FAIL_BADREQUEST);
		assert_int_equal(fake_posts(&fx->fake), (int)i + 1);
		call_cleanup(&p);
		call_cleanup(&r);
		call_cleanup(&c);
		X509_REQ_free(csr);
	}
}

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

/* CertPoll for a transaction nobody started: badCertId. */
static void
test_enroll_poll_unknown(void **state)
{
	struct srv_fx *fx = *state;
	struct call p;

	call_init(fx, &p, SCEP_MT_CERTPOLL, "TX-NOBODY", NULL, 0);
	assert_int_equal(call_start(fx, &p), 0);
	call_rep(fx, &p);
	assert_failure(&p, SCEP_FAIL_BADCERTID);
	assert_int_equal(fake_posts(&fx->fake), 0);
	call_cleanup(&p);
}

/* Bytes that are no pkiMessage: plain HTTP 400, not a CertRep. */
static void
test_enroll_garbage(void **state)
{
	static const uint8_t junk[][16] = {
		{ 0 },
		{ 0x30, 0x03, 0x02, 0x01, 0x01 },
		{ 'h', 'e', 'l', 'l', 'o' },
	};
	struct srv_fx *fx = *state;
	struct enroll_op op;
	size_t i;

	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		memset(&op, 0, sizeof(op));
		op.resume = on_resume;
		assert_int_equal(enroll_pkioperation(&fx->ctx, &op, junk[i],
				     sizeof(junk[i])),
		    0);
		assert_true(op.done);
		assert_int_equal(op.reply.http_status, 400);
		assert_string_equal(op.reply.content_type, "text/plain");
		assert_non_null(op.reply.body);
		enroll_op_cleanup(&op);
	}
	assert_int_equal(fake_posts(&fx->fake), 0);
}

/* Single DES with allow_des off: FAILURE badAlg, nothing recorded. */
static void
test_enroll_des_refused(void **state)
{
	struct srv_fx *fx = *state;
	struct call c;
	X509_REQ *csr;

	srv_challenge_put(fx, "s3cret", 3600);
	csr = csr_new(fx, "device-1", "s3cret");
	call_init(fx, &c, SCEP_MT_PKCSREQ, "TX-DES", csr, NID_des_cbc);
	assert_int_equal(call_start(fx, &c), 0);
	call_rep(fx, &c);
	assert_failure(&c, SCEP_FAIL_BADALG);
	assert_int_equal(fake_posts(&fx->fake), 0);
	assert_int_equal(srv_txn_state(fx, "TX-DES"), 0);
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
 * A CSR with extra subjectAltNames (OpenSSL's "DNS:x,otherName:..."), in
 * a second subjectAltName extension too when san2 is not NULL.
 */
static X509_REQ *
csr_san2_new(struct srv_fx *fx, const char *cn, const char *challenge,
    const char *san, const char *san2)
{
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_EXTENSION *ext;
	X509_REQ *csr;

	csr = scep_client_csr_new(fx->pki->key, cn, NULL, challenge);
	assert_non_null(csr);
	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
	assert_non_null(ext);
	assert_true(sk_X509_EXTENSION_push(exts, ext) > 0);
	if (san2 != NULL) {
		ext =
		    X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san2);
		assert_non_null(ext);
		assert_true(sk_X509_EXTENSION_push(exts, ext) > 0);
	}
	assert_int_equal(X509_REQ_add_extensions(csr, exts), 1);
	assert_true(X509_REQ_sign(csr, fx->pki->key, EVP_sha256()) > 0);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return csr;
}

/* A one-time challenge with a binding; returns its id. */
static int64_t
chal_bound_put(struct srv_fx *fx, const char *secret, const char *cn,
    const char *email, const char *ou, const char *upn)
{
	const struct db_challenge_bind b = { cn, email, ou, upn, NULL };
	uint8_t hash[32];
	struct gw_err err;
	int64_t id, now = (int64_t)time(NULL);

	SHA256((const unsigned char *)secret, strlen(secret), hash);
	if (db_challenge_put_bound(fx->ctx.db, hash, now, now + 3600, &b, &id,
		&err) != 0)
		fail_msg("db_challenge_put_bound: %s", err.msg);
	return id;
}

/* One identity rule: a profile, a challenge, a CSR; what must happen. */
struct ident_case {
	const char *name;
	const char *subject_cn; /* templates; NULL: built-in */
	const char *email;
	const char *ou;
	bool require_binding;
	const char *bind_cn; /* the challenge's binding */
	const char *bind_ou;
	const char *csr_cn;
	const char *san;     /* extra SANs in the CSR, or NULL */
	const char *fail;    /* expected failInfoText, or NULL: issued */
	const char *want_cn; /* issued: what went upstream */
	const char *want_email;
	const char *want_ou;
	const char *upn; /* template; NULL: built-in */
	const char *bind_upn;
	const char *bind_email;
	const char *domain; /* the profile's one email_domains, or NULL */
	const char *san2;   /* a second subjectAltName extension, or NULL */
	const char *want_upn;
};

#define UPN_SAN(u) "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:" u
#define S10 "0123456789"
#define S64 S10 S10 S10 S10 S10 S10 "abcd"
#define E8 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
#define E64 E8 E8 E8 E8 E8 E8 E8 E8

static const struct ident_case ident_cases[] = {
	{ "built-in: binding wins", NULL, NULL, NULL, false, "bound", "Sales",
	    "device-1", NULL, NULL, "bound", NULL, "Sales", NULL, NULL, NULL,
	    NULL, NULL, NULL },
	{ "built-in: CSR fallback", NULL, NULL, NULL, false, NULL, NULL,
	    "device-1", "email:dev@example.com", NULL, "device-1",
	    "dev@example.com", NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	{ "upn and literal", "iPhone ${csr.upn}", "${csr.upn}",
	    "${challenge.ou|\"Fleet\"}", false, NULL, NULL, "device-1",
	    UPN_SAN("ann@corp.example"), NULL, "iPhone ann@corp.example",
	    "ann@corp.example", "Fleet", "${csr.upn}", NULL, NULL, NULL, NULL,
	    "ann@corp.example" },
	/* The UPN is decided, never taken from the CSR. */
	{ "CSR UPN, none decided", NULL, NULL, NULL, false, "alice", NULL,
	    "whatever", UPN_SAN("administrator@corp.example"),
	    "UPN not allowed", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    NULL },
	{ "CSR UPN, another bound", NULL, NULL, NULL, false, "alice", NULL,
	    "whatever", UPN_SAN("administrator@corp.example"),
	    "UPN not allowed", NULL, NULL, NULL, NULL, "alice@corp.example",
	    NULL, NULL, NULL, NULL },
	{ "bound UPN issued", NULL, NULL, NULL, false, "alice", NULL,
	    "whatever", NULL, NULL, "alice", NULL, NULL, NULL,
	    "alice@corp.example", NULL, NULL, NULL, "alice@corp.example" },
	{ "bound UPN asked for", NULL, NULL, NULL, false, NULL, NULL, "alice",
	    UPN_SAN("Alice@corp.example"), NULL, "alice", NULL, NULL, NULL,
	    "alice@corp.example", NULL, NULL, NULL, "alice@corp.example" },
	{ "CSR asks for the bound UPN and another", NULL, NULL, NULL, false,
	    NULL, NULL, "alice",
	    UPN_SAN("alice@corp.example") "," UPN_SAN("admin@corp.example"),
	    "UPN not allowed", NULL, NULL, NULL, NULL, "alice@corp.example",
	    NULL, NULL, NULL, NULL },
	{ "UPN binding passes require_binding", NULL, NULL, NULL, true, NULL,
	    NULL, "device-1", NULL, NULL, "device-1", NULL, NULL, NULL,
	    "bob@corp.example", NULL, NULL, NULL, "bob@corp.example" },
	/* Values GlobalSign can take, checked before the challenge is spent. */
	{ "CN with a control character", NULL, NULL, NULL, false, NULL, NULL,
	    "evil\001name", NULL, "identity value not acceptable", NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	/* OpenSSL will not make a CSR with a longer CN: bind or template it. */
	{ "bound CN of 65 characters", NULL, NULL, NULL, false, S64 "e", NULL,
	    "device-1", NULL, "identity value not acceptable", NULL, NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL, NULL },
	{ "templated CN of 65 characters", "x${csr.cn}", NULL, NULL, false,
	    NULL, NULL, S64, NULL, "identity value not acceptable", NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	{ "CN of 64 characters", NULL, NULL, NULL, false, NULL, NULL, S64, NULL,
	    NULL, S64, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	{ "CN of 64 two-byte characters", NULL, NULL, NULL, false, NULL, NULL,
	    E64, NULL, NULL, E64, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    NULL },
	{ "OU of 65 characters", NULL, NULL, NULL, false, "bound", S64 "e",
	    "device-1", NULL, "identity value not acceptable", NULL, NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL, NULL },
	{ "bound e-mail not an address", NULL, NULL, NULL, false, "bound", NULL,
	    "device-1", NULL, "identity value not acceptable", NULL, NULL, NULL,
	    NULL, NULL, "not an address", NULL, NULL, NULL },
	{ "CSR e-mail not an address", NULL, NULL, NULL, false, NULL, NULL,
	    "device-1", "email:a@@example.com", "identity value not acceptable",
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	{ "e-mail outside email_domains", NULL, NULL, NULL, false, "bound",
	    NULL, "device-1", NULL, "e-mail domain not allowed", NULL, NULL,
	    NULL, NULL, NULL, "ceo@other.example", "example.com", NULL, NULL },
	{ "e-mail inside email_domains", NULL, NULL, NULL, false, "bound", NULL,
	    "device-1", NULL, NULL, "bound", "ceo@Example.COM", NULL, NULL,
	    NULL, "ceo@Example.COM", "example.com", NULL, NULL },
	{ "CSR e-mail outside email_domains", NULL, NULL, NULL, false, NULL,
	    NULL, "device-1", "email:ceo@other.example",
	    "e-mail domain not allowed", NULL, NULL, NULL, NULL, NULL, NULL,
	    "example.com", NULL, NULL },
	{ "two subjectAltName extensions", NULL, NULL, NULL, false, "bound",
	    NULL, "device-1", "email:a@example.com",
	    "certificate request not acceptable", NULL, NULL, NULL, NULL, NULL,
	    NULL, NULL, "DNS:host.example.com", NULL },
	{ "missing variable", "${challenge.cn}", NULL, NULL, false, NULL, NULL,
	    "device-1", NULL, "identity variable without value", NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	{ "missing upn", NULL, "${csr.upn}", NULL, false, "bound", NULL,
	    "device-1", NULL, "identity variable without value", NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	{ "require_binding refuses", NULL, NULL, NULL, true, NULL, NULL,
	    "device-1", NULL, "challenge has no identity", NULL, NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL, NULL },
	{ "require_binding passes", NULL, NULL, NULL, true, "bound", NULL,
	    "device-1", NULL, NULL, "bound", NULL, NULL, NULL, NULL, NULL, NULL,
	    NULL, NULL },
	{ "dNSName refused", NULL, NULL, NULL, false, NULL, NULL, "device-1",
	    "DNS:host.example.com", "subjectAltName type not supported", NULL,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	{ "iPAddress refused", NULL, NULL, NULL, false, NULL, NULL, "device-1",
	    "IP:192.0.2.7", "subjectAltName type not supported", NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	{ "URI refused", NULL, NULL, NULL, false, NULL, NULL, "device-1",
	    "URI:tag:microsoft.com;sid:S-1-5-21",
	    "subjectAltName type not supported", NULL, NULL, NULL, NULL, NULL,
	    NULL, NULL, NULL, NULL },
};

/* A profile for one case; strings are borrowed (never freed). */
static void
ident_profile(struct gw_profile *p, const struct ident_case *c)
{
	memset(p, 0, sizeof(*p));
	p->name = (char *)(uintptr_t) "test";
	p->profile_id = (char *)(uintptr_t) "MP0002";
	p->product_code = (char *)(uintptr_t) "EPKIPSPersonal";
	p->years = 2;
	p->subject_cn = (char *)(uintptr_t)(c->subject_cn != NULL ?
		c->subject_cn :
		"${challenge.cn|csr.cn}");
	p->email = (char *)(uintptr_t)(c->email != NULL ?
		c->email :
		"${challenge.email|csr.email|\"\"}");
	p->ou =
	    (char *)(uintptr_t)(c->ou != NULL ? c->ou : "${challenge.ou|\"\"}");
	p->upn = (char *)(uintptr_t)(c->upn != NULL ? c->upn :
						      "${challenge.upn|\"\"}");
	p->require_binding = c->require_binding;
	if (c->domain != NULL) {
		static char *dom[1];

		dom[0] = (char *)(uintptr_t)c->domain;
		p->email_domains = dom;
		p->nemail_domains = 1;
	}
}

/* Checks what went upstream for an issued case. */
static void
ident_assert_order(struct srv_fx *fx, const struct ident_case *c)
{
	struct epki_req req;
	struct gw_err err;

	memset(&req, 0, sizeof(req));
	assert_int_equal(epki_soap_req_parse(fx->fake.last.data,
			     fx->fake.last.len, &req, &err),
	    0);
	assert_string_equal(req.order.profile_id, "MP0002");
	assert_int_equal(req.order.years, 2);
	assert_string_equal(req.order.cn, c->want_cn);
	if (c->want_email != NULL)
		assert_string_equal(req.order.email, c->want_email);
	else
		assert_true(
		    req.order.email == NULL || req.order.email[0] == '\0');
	assert_int_equal(req.order.nous, c->want_ou != NULL ? 1 : 0);
	if (c->want_ou != NULL)
		assert_string_equal(req.order.ous[0], c->want_ou);
	if (c->want_upn != NULL)
		assert_string_equal(req.order.upn, c->want_upn);
	else
		assert_true(req.order.upn == NULL || req.order.upn[0] == '\0');
	epki_req_cleanup(&req);
}

/* Every identity rule (README "Identity templates"); a refusal never burns
 * the challenge. */
static void
test_enroll_identity_templates(void **state)
{
	struct srv_fx *fx = *state;
	struct gw_profile prof;
	struct db_txn t;
	struct call c;
	X509_REQ *csr;
	char txid[64], secret[64], used_by[128];
	int64_t id, used;
	size_t i;

	fx->fake.autoans = FAKE_ISSUE;
	for (i = 0; i < sizeof(ident_cases) / sizeof(ident_cases[0]); i++) {
		const struct ident_case *ic = &ident_cases[i];

		print_message("identity: %s\n", ic->name);
		snprintf(secret, sizeof(secret), "ident-%zu", i);
		snprintf(txid, sizeof(txid), "TX-IDENT-%zu", i);
		id = chal_bound_put(fx, secret, ic->bind_cn, ic->bind_email,
		    ic->bind_ou, ic->bind_upn);
		csr = ic->san != NULL ?
		    csr_san2_new(fx, ic->csr_cn, secret, ic->san, ic->san2) :
		    csr_new(fx, ic->csr_cn, secret);
		ident_profile(&prof, ic);
		call_init(fx, &c, SCEP_MT_PKCSREQ, txid, csr, 0);
		c.op.profile = &prof;
		call_run(fx, &c);
		used = srv_challenge_used(fx, id, used_by, sizeof(used_by));
		if (ic->fail != NULL) {
			assert_failure(&c, SCEP_FAIL_BADREQUEST);
			assert_string_equal(c.rep.fail_text, ic->fail);
			assert_int_equal(used, 0);
			assert_int_equal(srv_txn_state(fx, txid), 0);
		} else {
			assert_success(fx, &c);
			assert_true(used > 0);
			ident_assert_order(fx, ic);
			txn_get(fx, txid, &t);
			assert_non_null(t.profile);
			assert_string_equal(t.profile, "test");
			if (ic->want_upn != NULL)
				assert_string_equal(t.upn, ic->want_upn);
			else
				assert_null(t.upn);
			db_txn_cleanup(&t);
		}
		call_cleanup(&c);
		X509_REQ_free(csr);
	}
}

/*
 * One PKCSReq for cn with challenge secret under prof: SUCCESS when fail
 * is NULL, else FAILURE badRequest with fail as its text.
 */
static void
static_step(struct srv_fx *fx, struct gw_profile *prof, const char *txid,
    const char *cn, const char *secret, const char *fail)
{
	struct call c;
	X509_REQ *csr;

	csr = csr_new(fx, cn, secret);
	call_init(fx, &c, SCEP_MT_PKCSREQ, txid, csr, 0);
	c.op.profile = prof;
	call_run(fx, &c);
	if (fail != NULL) {
		assert_failure(&c, SCEP_FAIL_BADREQUEST);
		assert_string_equal(c.rep.fail_text, fail);
	} else {
		assert_success(fx, &c);
	}
	call_cleanup(&c);
	X509_REQ_free(csr);
}

/* Static challenges: many uses, constant secret, mode respected. */
static void
test_enroll_static_challenge(void **state)
{
	struct srv_fx *fx = *state;
	static const struct {
		enum gw_chal_mode mode;
		const char *secret;
		bool onetime; /* the secret is a one-time challenge */
		const char *fail;
	} steps[] = {
		{ GW_CHAL_STATIC, "static-pw", false, NULL },
		{ GW_CHAL_STATIC, "static-pw", false, NULL },
		{ GW_CHAL_STATIC, "wrong-pw", false,
		    "invalid challenge password" },
		{ GW_CHAL_STATIC, "onetime-1", true,
		    "invalid challenge password" },
		{ GW_CHAL_BOTH, "onetime-2", true, NULL },
		{ GW_CHAL_BOTH, "static-pw", false, NULL },
		{ GW_CHAL_ONETIME, "static-pw", false,
		    "invalid challenge password" },
	};
	struct ident_case ic;
	struct gw_profile prof;
	char txid[64];
	size_t i;

	memset(&ic, 0, sizeof(ic));
	fx->fake.autoans = FAKE_ISSUE;
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		print_message("static: step %zu\n", i);
		if (steps[i].onetime)
			srv_challenge_put(fx, steps[i].secret, 3600);
		ident_profile(&prof, &ic);
		prof.challenge = steps[i].mode;
		prof.has_static = true;
		SHA256((const unsigned char *)"static-pw", 9,
		    prof.static_sha256);
		snprintf(txid, sizeof(txid), "TX-STATIC-%zu", i);
		static_step(fx, &prof, txid, "kiosk-1", steps[i].secret,
		    steps[i].fail);
	}
}

/* Wrong static secrets count against the per-address failure limit. */
static void
test_enroll_static_ratelimit(void **state)
{
	struct srv_fx *fx = *state;
	static const struct {
		const char *secret;
		const char *fail;
	} steps[] = {
		{ "static-pw", NULL }, /* a success costs nothing */
		{ "guess-1", "invalid challenge password" },
		{ "guess-2", "invalid challenge password" },
		{ "static-pw", "too many failed attempts; try again later" },
	};
	struct ident_case ic;
	struct gw_profile prof;
	char txid[64];
	size_t i;

	memset(&ic, 0, sizeof(ic));
	assert_int_equal(ratelimit_new(&fx->ctx.rl, 64, 2, 60), 0);
	fx->fake.autoans = FAKE_ISSUE;
	ident_profile(&prof, &ic);
	prof.challenge = GW_CHAL_STATIC;
	prof.has_static = true;
	SHA256((const unsigned char *)"static-pw", 9, prof.static_sha256);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		snprintf(txid, sizeof(txid), "TX-SRL-%zu", i);
		static_step(fx, &prof, txid, "kiosk-2", steps[i].secret,
		    steps[i].fail);
	}
	ratelimit_free(fx->ctx.rl);
	fx->ctx.rl = NULL;
}

/* A challenge issued for one profile is refused, unconsumed, on another. */
static void
test_enroll_challenge_profile(void **state)
{
	static const struct {
		const char *chal_profile; /* NULL: any profile */
		const char *prof;	  /* the request's profile */
		bool ok;
	} cases[] = {
		{ "test", "test", true },
		{ NULL, "test", true },
		{ "other", "test", false },
		{ "test", "default", false },
	};
	struct srv_fx *fx = *state;
	struct ident_case ic;
	struct gw_profile prof;
	struct gw_err err;
	struct call c;
	X509_REQ *csr;
	uint8_t hash[32];
	char txid[64], secret[64], used_by[128];
	int64_t id, now = (int64_t)time(NULL);
	size_t i;

	memset(&ic, 0, sizeof(ic));
	fx->fake.autoans = FAKE_ISSUE;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(secret, sizeof(secret), "prof-%zu", i);
		snprintf(txid, sizeof(txid), "TX-PROF-%zu", i);
		SHA256((const unsigned char *)secret, strlen(secret), hash);
		assert_int_equal(db_challenge_put_profile(fx->ctx.db, hash, now,
				     now + 60, NULL, NULL, NULL,
				     cases[i].chal_profile, &id, &err),
		    0);
		ident_profile(&prof, &ic);
		prof.name = (char *)(uintptr_t)cases[i].prof;
		csr = csr_new(fx, "device-p", secret);
		call_init(fx, &c, SCEP_MT_PKCSREQ, txid, csr, 0);
		c.op.profile = &prof;
		call_run(fx, &c);
		if (cases[i].ok) {
			assert_success(fx, &c);
		} else {
			assert_failure(&c, SCEP_FAIL_BADREQUEST);
			assert_int_equal(srv_challenge_used(fx, id, used_by,
					     sizeof(used_by)),
			    0);
		}
		call_cleanup(&c);
		X509_REQ_free(csr);
	}
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

static int
hold_write(struct db *db, void *arg, struct gw_err *err)
{
	(void)db;
	(void)arg;
	(void)err;
	return DB_WRITE_UNDO;
}

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
	h->w.fn = hold_write;
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
		T(test_enroll_success),
		T(test_enroll_success_answered_later),
		T(test_enroll_challenge_refused),
		T(test_enroll_business_error),
		T(test_enroll_upstream_unusable),
		T(test_enroll_untrusted_certificate),
		T(test_enroll_post_fails),
		T(test_enroll_post_fails_after_timer),
		T(test_enroll_slow_then_poll),
		T(test_enroll_retry_after_success),
		T(test_enroll_retry_while_ordering),
		T(test_enroll_poll_unknown),
		T(test_enroll_garbage),
		T(test_enroll_des_refused),
		T(test_enroll_drain_waits),
		T(test_enroll_drain_gives_up),
		T(test_enroll_transport_error_from_thread),
		T(test_enroll_identity_templates),
		T(test_enroll_static_challenge),
		T(test_enroll_static_ratelimit),
		T(test_enroll_challenge_profile),
		T(test_enroll_start_behind_commit),
#undef T
	};

	return cmocka_run_group_tests(tests, srv_pki_setup, srv_pki_teardown);
}
