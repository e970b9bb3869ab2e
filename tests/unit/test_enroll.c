/*
 * Unit tests of the enrollment state machine (server/enroll/) through
 * its seam, struct gw_ctx's EPKI transport. Everything else is real: the
 * RA, the SQLite database, SCEP messages built and CertReps checked with
 * the test client library, and SOAP answers built with epki/. This file:
 * an order and its answers (issued, refused, unusable, untrusted), and
 * requests refused before any order. test_enroll_async.c has failing
 * posts, the PENDING timer, retries, the drain and commits on other
 * threads; test_enroll_ident.c the identity rules and static challenges.
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

#include "buf.h"
#include "db.h"
#include "epki.h"
#include "enroll.h"
#include "gw.h"
#include "gw_err.h"
#include "scep.h"
#include "scep_client.h"
#include "test_enroll_common.h"
#include "test_server_common.h"

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
		T(test_enroll_poll_unknown),
		T(test_enroll_garbage),
		T(test_enroll_des_refused),
#undef T
	};

	return cmocka_run_group_tests(tests, srv_pki_setup, srv_pki_teardown);
}
