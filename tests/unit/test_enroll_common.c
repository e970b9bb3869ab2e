/*
 * The enrollment unit tests' PKIOperation helpers (test_enroll_common.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "db.h"
#include "enroll.h"
#include "gw_err.h"
#include "scep.h"
#include "scep_client.h"
#include "test_enroll_common.h"
#include "test_server_common.h"

#define CT_PKI "application/x-pki-message"
#define WAIT_S 20

void
on_resume(void *arg)
{
	struct waiter *w = arg;

	pthread_mutex_lock(&w->mu);
	w->calls++;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Resume calls so far. */
int
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

/* Builds a request of type for txid (csr for PKCSReq, else NULL). */
void
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
int
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
void
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
void
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
void
call_run(struct srv_fx *fx, struct call *c)
{
	if (call_start(fx, c) == 1)
		call_wait(fx, c);
	call_rep(fx, c);
}

void
call_cleanup(struct call *c)
{
	enroll_op_cleanup(&c->op);
	scep_client_rep_cleanup(&c->rep);
	buf_cleanup(&c->der);
	pthread_cond_destroy(&c->w.cv);
	pthread_mutex_destroy(&c->w.mu);
}

/* Asserts a FAILURE reply with failInfo f. */
void
assert_failure(const struct call *c, enum scep_fail f)
{
	assert_int_equal(c->rep.status, SCEP_STATUS_FAILURE);
	assert_int_equal(c->rep.fail, f);
	assert_null(c->rep.issued);
}

/* Asserts a SUCCESS reply whose certificate carries the device's key. */
void
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
X509_REQ *
csr_new(struct srv_fx *fx, const char *cn, const char *challenge)
{
	X509_REQ *csr;

	csr = scep_client_csr_new(fx->pki->key, cn, NULL, challenge);
	assert_non_null(csr);
	return csr;
}

/* The stored transaction; caller cleans it up. */
void
txn_get(struct srv_fx *fx, const char *txid, struct db_txn *t)
{
	struct gw_err err;

	if (db_txn_get(fx->ctx.db, txid, t, &err) != 0)
		fail_msg("db_txn_get %s: %s", txid, err.msg);
}
