/*
 * The server unit-test fixture: a PKI generated at start-up, a fresh
 * SQLite database per test, and the fake EPKI transport. Nothing is read
 * from the source tree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "buf.h"
#include "config.h"
#include "db.h"
#include "epki.h"
#include "enroll.h"
#include "gw.h"
#include "gw_err.h"
#include "log.h"
#include "scep.h"
#include "scep_client.h"
#include "test_keys.h"
#include "test_server_common.h"

#define FAKE_USER "PAR12345_api"
#define FAKE_PASSWORD "pw-s3cret"

/* Joins dir and name into out. */
static void
fx_path(char *out, size_t size, const char *dir, const char *name)
{
	int n = snprintf(out, size, "%s/%s", dir, name);

	assert_true(n > 0 && (size_t)n < size);
}

/* Writes x as PEM to path. */
static void
pem_write_file(const char *path, X509 *x)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, x), 1);
	assert_int_equal(fclose(f), 0);
}

/* Reads the first certificate of a PEM file. */
static X509 *
pem_read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	return x;
}

/*
 * A certificate for pub, CN=cn, signed by the test CA: what GlobalSign
 * would issue. Caller frees with X509_free().
 */
static X509 *
pki_issue(struct srv_pki *p, EVP_PKEY *pub, const char *cn, long serial)
{
	X509_NAME *name;
	X509 *x;

	x = X509_new();
	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial), 1);
	assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(p->ca)),
	    1);
	name = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
			     (const unsigned char *)cn, -1, -1, 0),
	    1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -60));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400));
	assert_int_equal(X509_set_pubkey(x, pub), 1);
	assert_true(X509_sign(x, p->ca_key, EVP_sha256()) > 0);
	return x;
}

/* Makes the RA (files, mode 0600 key), the CA and the device's key. */
int
srv_pki_setup(void **state)
{
	struct srv_pki *p;
	struct gw_err err;

	log_init(LOG_WARNING);
	p = calloc(1, sizeof(*p));
	assert_non_null(p);
	snprintf(p->dir, sizeof(p->dir), "/tmp/srv-unit-XXXXXX");
	assert_non_null(mkdtemp(p->dir));
	fx_path(p->ra_cert, sizeof(p->ra_cert), p->dir, "ra.pem");
	fx_path(p->ra_key, sizeof(p->ra_key), p->dir, "ra.key");
	fx_path(p->ca_chain, sizeof(p->ca_chain), p->dir, "chain.pem");
	if (scep_init(true, &err) != 0)
		fail_msg("scep_init: %s", err.msg);
	assert_int_equal(test_key_rsa_file(p->ra_key, 2048), 0);
	assert_int_equal(scep_ra_selfsigned_new(p->ra_key, "Unit RA", 30,
			     p->ra_cert, &err),
	    0);
	p->ca_key = scep_client_key_new(true, 0);
	assert_non_null(p->ca_key);
	p->ca = scep_client_selfsigned_new(p->ca_key, "Unit Issuing CA");
	assert_non_null(p->ca);
	pem_write_file(p->ca_chain, p->ca);
	if (scep_ra_load(&p->ra, p->ra_cert, p->ra_key, p->ca_chain, &err) != 0)
		fail_msg("scep_ra_load: %s", err.msg);
	p->ra_x509 = pem_read_file(p->ra_cert);
	p->key = test_key_rsa(2048);
	assert_non_null(p->key);
	p->signer = scep_client_selfsigned_new(p->key, "device-1");
	assert_non_null(p->signer);
	p->other = scep_client_key_new(true, 0);
	assert_non_null(p->other);
	*state = p;
	return 0;
}

/* Frees the PKI and removes its folder. */
int
srv_pki_teardown(void **state)
{
	struct srv_pki *p = *state;

	scep_ra_free(p->ra);
	X509_free(p->ra_x509);
	EVP_PKEY_free(p->ca_key);
	X509_free(p->ca);
	EVP_PKEY_free(p->key);
	X509_free(p->signer);
	EVP_PKEY_free(p->other);
	unlink(p->ra_cert);
	unlink(p->ra_key);
	unlink(p->ca_chain);
	rmdir(p->dir);
	free(p);
	return 0;
}

/* Builds an OrderAndIssueCertificate answer to the posted body. */
static void
fake_reply_build(struct fake *f, enum fake_answer a, const struct buf *body,
    struct buf *out, long *status)
{
	struct epki_reply rep = { .op = EPKI_OP_ORDER };
	struct epki_error e = { .code = -101, .field = "ProfileID" };
	struct epki_req req;
	struct gw_err err;
	EVP_PKEY *pub = NULL;
	X509_REQ *csr;
	X509 *leaf;
	BIO *bio, *pem;
	char *text;
	char order_id[64];
	long n;

	*status = 200;
	if (a == FAKE_FAULT) {
		*status = 500;
		assert_int_equal(epki_soap_fault_build("soap:Server",
				     "Internal Error", out),
		    0);
		return;
	}
	memset(&req, 0, sizeof(req));
	if (epki_soap_req_parse(body->data, body->len, &req, &err) != 0)
		fail_msg("fake: posted body does not parse: %s", err.msg);
	assert_int_equal(req.op, EPKI_OP_ORDER);
	if (a == FAKE_BIZ_101) {
		snprintf(e.message, sizeof(e.message), "Invalid ProfileID.");
		rep.success_code = -1;
		rep.errors = &e;
		rep.nerrors = 1;
		assert_int_equal(epki_soap_reply_build(&rep, out, &err), 0);
		epki_req_cleanup(&req);
		return;
	}
	bio = BIO_new_mem_buf(req.order.csr_pem, -1);
	assert_non_null(bio);
	csr = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
	BIO_free(bio);
	assert_non_null(csr);
	pub = X509_REQ_get_pubkey(csr);
	assert_non_null(pub);
	pthread_mutex_lock(&f->mu);
	n = ++f->serial;
	pthread_mutex_unlock(&f->mu);
	leaf = pki_issue(f->pki, a == FAKE_OTHER_KEY ? f->pki->other : pub,
	    req.order.cn, 0x5000 + n);
	if (a == FAKE_FOREIGN)
		assert_true(X509_sign(leaf, f->pki->other, EVP_sha256()) > 0);
	pem = BIO_new(BIO_s_mem());
	assert_non_null(pem);
	assert_int_equal(PEM_write_bio_X509(pem, leaf), 1);
	assert_int_equal(PEM_write_bio_X509(pem, f->pki->ca), 1);
	assert_int_equal(BIO_write(pem, "", 1), 1);
	BIO_get_mem_data(pem, &text);
	snprintf(order_id, sizeof(order_id), "MPS2026%06ld", n);
	rep.success_code = 0;
	rep.order_id = order_id;
	rep.cert = text;
	assert_int_equal(epki_soap_reply_build(&rep, out, &err), 0);
	BIO_free(pem);
	X509_free(leaf);
	EVP_PKEY_free(pub);
	X509_REQ_free(csr);
	epki_req_cleanup(&req);
}

/*
 * Answers the pending call with a (from the calling thread), as the
 * transport thread would. The call's done() runs without the fake's lock.
 */
static void
fake_answer(struct fake *f, enum fake_answer a)
{
	struct epki_http h = { .curl_code = 0 };
	struct buf body, out;
	epki_http_fn *done;
	void *arg;

	pthread_mutex_lock(&f->mu);
	assert_true(f->pending);
	f->pending = false;
	body = f->body;
	buf_init(&f->body, 0);
	done = f->done;
	arg = f->arg;
	pthread_mutex_unlock(&f->mu);
	buf_init(&out, 0);
	if (a == FAKE_TRANSPORT) {
		h.curl_code = 7;
		h.error = "Failed to connect to localhost port 9: refused";
	} else {
		fake_reply_build(f, a, &body, &out, &h.status);
	}
	h.body = out.data;
	h.len = out.len;
	done(arg, &h);
	buf_cleanup(&out);
	buf_cleanup(&body);
}

/*
 * fake_answer() from the test's thread, then waits for the database's
 * writer thread to record the outcome and hand it to the request.
 */
void
fake_complete(struct fake *f, enum fake_answer a)
{
	fake_answer(f, a);
	db_write_flush(f->db);
}

/* What an answering thread does. */
struct fake_job {
	struct fake *f;
	enum fake_answer a;
	long ms;
};

static void *
fake_thread(void *arg)
{
	struct fake_job *j = arg;

	srv_sleep_ms(j->ms);
	fake_answer(j->f, j->a);
	free(j);
	return NULL;
}

/* Waits for the answering thread, if any. */
void
fake_join(struct fake *f)
{
	pthread_t th;
	bool live;

	pthread_mutex_lock(&f->mu);
	th = f->th;
	live = f->th_live;
	f->th_live = false;
	pthread_mutex_unlock(&f->mu);
	if (!live)
		return;
	/*
	 * The answering thread itself posts again when its completion goes
	 * on to the next request (a group commit led from that thread runs
	 * queued writes): it cannot join itself; teardown joins it.
	 */
	if (pthread_equal(th, pthread_self())) {
		pthread_mutex_lock(&f->mu);
		assert_true(f->nreap < FAKE_REAP_MAX);
		f->reap[f->nreap++] = th;
		pthread_mutex_unlock(&f->mu);
		return;
	}
	assert_int_equal(pthread_join(th, NULL), 0);
}

/* Waits for every answering thread, those that could not join
 * themselves included (teardown: from the test's thread). */
static void
fake_join_all(struct fake *f)
{
	fake_join(f);
	pthread_mutex_lock(&f->mu);
	while (f->nreap > 0) {
		pthread_t th = f->reap[--f->nreap];

		pthread_mutex_unlock(&f->mu);
		assert_int_equal(pthread_join(th, NULL), 0);
		pthread_mutex_lock(&f->mu);
	}
	pthread_mutex_unlock(&f->mu);
}

/* Answers the pending call with a from a new thread after ms. */
void
fake_complete_later(struct fake *f, enum fake_answer a, long ms)
{
	struct fake_job *j;

	fake_join(f);
	j = calloc(1, sizeof(*j));
	assert_non_null(j);
	j->f = f;
	j->a = a;
	j->ms = ms;
	pthread_mutex_lock(&f->mu);
	assert_int_equal(pthread_create(&f->th, NULL, fake_thread, j), 0);
	f->th_live = true;
	pthread_mutex_unlock(&f->mu);
}

/* struct epki_transport post(): keeps the body and the completion. */
static int
fake_post(void *ctx, const char *op, struct buf *body, epki_http_fn *done,
    void *arg, struct gw_err *err)
{
	struct fake *f = ctx;
	enum fake_answer a;
	long delay;
	int rc = -1;

	pthread_mutex_lock(&f->mu);
	delay = f->fail_post ? f->fail_post_ms : 0;
	pthread_mutex_unlock(&f->mu);
	if (delay > 0)
		srv_sleep_ms(delay);
	pthread_mutex_lock(&f->mu);
	f->posts++;
	snprintf(f->last_op, sizeof(f->last_op), "%s", op);
	buf_reset(&f->last);
	assert_int_equal(buf_add(&f->last, body->data, body->len), 0);
	a = f->autoans;
	if (f->fail_post) {
		gw_err_set(err, 1, "fake: queue full");
		buf_cleanup(body);
	} else {
		assert_false(f->pending);
		f->pending = true;
		f->body = *body;
		buf_init(body, 0);
		f->done = done;
		f->arg = arg;
		f->accepted++;
		rc = 0;
	}
	pthread_mutex_unlock(&f->mu);
	if (rc == 0 && a != FAKE_HOLD)
		fake_complete_later(f, a, 0);
	return rc;
}

/* post() calls so far. */
int
fake_posts(struct fake *f)
{
	int n;

	pthread_mutex_lock(&f->mu);
	n = f->posts;
	pthread_mutex_unlock(&f->mu);
	return n;
}

/* post() calls that took their body (an order in flight). */
int
fake_accepted(struct fake *f)
{
	int n;

	pthread_mutex_lock(&f->mu);
	n = f->accepted;
	pthread_mutex_unlock(&f->mu);
	return n;
}

/* True while a call waits for its answer. */
bool
fake_pending(struct fake *f)
{
	bool p;

	pthread_mutex_lock(&f->mu);
	p = f->pending;
	pthread_mutex_unlock(&f->mu);
	return p;
}

/* A fresh database, config, context and enrollment registry. */
int
srv_fx_setup(void **state)
{
	struct srv_fx *fx;
	struct gw_err err;

	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	fx->pki = *state;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/srv-db-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	fx_path(fx->db_path, sizeof(fx->db_path), fx->dir, "gw.db");
	fx->cfg.epki_profile_id = (char *)(uintptr_t) "MP0001";
	fx->cfg.epki_product_code = (char *)(uintptr_t) "EPKIPSPersonal";
	fx->cfg.epki_years = 1;
	fx->cfg.pending_after_seconds = 30;
	fx->cfg.allow_des = false;
	pthread_mutex_init(&fx->fake.mu, NULL);
	fx->fake.pki = fx->pki;
	buf_init(&fx->fake.last, 0);
	buf_init(&fx->fake.body, 0);
	fx->ctx.cfg = &fx->cfg;
	if (db_open(&fx->ctx.db, fx->db_path, &err) != 0)
		fail_msg("db_open: %s", err.msg);
	fx->fake.db = fx->ctx.db;
	fx->ctx.ra = fx->pki->ra;
	fx->ctx.pol.allow_des = false;
	fx->ctx.pol.max_csr_bytes = 64 * 1024;
	fx->ctx.tr.post = fake_post;
	fx->ctx.tr.ctx = &fx->fake;
	fx->ctx.auth.user = FAKE_USER;
	fx->ctx.auth.password = FAKE_PASSWORD;
	if (enroll_new(&fx->ctx.enroll, &fx->ctx, &err) != 0)
		fail_msg("enroll_new: %s", err.msg);
	*state = fx;
	return 0;
}

/*
 * Ends any order still in flight the way epki_client_free() does (a
 * transport error from the transport's thread), then frees everything.
 */
int
srv_fx_teardown(void **state)
{
	struct srv_fx *fx = *state;
	char path[192];

	fake_join_all(&fx->fake);
	db_write_flush(fx->ctx.db);
	if (fake_pending(&fx->fake)) {
		fake_complete_later(&fx->fake, FAKE_TRANSPORT, 0);
		fake_join_all(&fx->fake);
		db_write_flush(fx->ctx.db);
	}
	assert_int_equal(enroll_inflight(fx->ctx.enroll), 0);
	enroll_free(fx->ctx.enroll);
	db_close(fx->ctx.db);
	buf_cleanup(&fx->fake.last);
	buf_cleanup(&fx->fake.body);
	pthread_mutex_destroy(&fx->fake.mu);
	unlink(fx->db_path);
	snprintf(path, sizeof(path), "%s-wal", fx->db_path);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", fx->db_path);
	unlink(path);
	rmdir(fx->dir);
	*state = fx->pki;
	free(fx);
	return 0;
}

/* Stores a challenge for secret, valid expires_in seconds from now. */
int64_t
srv_challenge_put(struct srv_fx *fx, const char *secret, int64_t expires_in)
{
	uint8_t hash[32];
	struct gw_err err;
	int64_t now = (int64_t)time(NULL), id = 0;

	SHA256((const unsigned char *)secret, strlen(secret), hash);
	if (db_challenge_put(fx->ctx.db, hash, now - 10, now + expires_in, NULL,
		NULL, NULL, &id, &err) != 0)
		fail_msg("db_challenge_put: %s", err.msg);
	return id;
}

/* Looks for one challenge in the list. */
struct chal_find {
	int64_t id;
	int64_t used;
	char txid[128];
	bool found;
};

static int
chal_find_cb(void *arg, const struct db_challenge *c)
{
	struct chal_find *q = arg;

	if (c->id == q->id) {
		q->found = true;
		q->used = c->used;
		snprintf(q->txid, sizeof(q->txid), "%s",
		    c->txid != NULL ? c->txid : "");
	}
	return 0;
}

/* When challenge id was used (0: never), and by which transaction. */
int64_t
srv_challenge_used(struct srv_fx *fx, int64_t id, char *txid, size_t n)
{
	struct chal_find q = { .id = id };
	struct gw_err err;

	if (db_challenge_list(fx->ctx.db, chal_find_cb, &q, &err) != 0)
		fail_msg("db_challenge_list: %s", err.msg);
	assert_true(q.found);
	snprintf(txid, n, "%s", q.txid);
	return q.used;
}

/* The state of transaction txid, or 0 when there is none. */
int
srv_txn_state(struct srv_fx *fx, const char *txid)
{
	struct db_txn t;
	struct gw_err err;
	int rc, state = 0;

	rc = db_txn_get(fx->ctx.db, txid, &t, &err);
	if (rc == -1)
		fail_msg("db_txn_get: %s", err.msg);
	if (rc == 0)
		state = (int)t.state;
	db_txn_cleanup(&t);
	return state;
}

/* Sleeps ms milliseconds. */
void
srv_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}
