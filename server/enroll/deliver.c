/*
 * Deliver: an order's outcome (the EPKI client's callback) is checked,
 * stored and handed to the request still waiting for it, or kept for
 * CertPoll; enroll_finish() builds the CertRep.
 */
#include <stdint.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "buf.h"
#include "config.h"
#include "crl.h"
#include "db.h"
#include "enroll_int.h"
#include "enroll.h"
#include "gw.h"
#include "gw_err.h"
#include "gw_thread.h"
#include "live.h"
#include "log.h"
#include "pubkey.h"
#include "scep.h"
#include "secure.h"

#define CT_PKI "application/x-pki-message"

/* What the device is told, and what the log says, per upstream class. */
static const char *const class_text[EPKI_CLASS__MAX] = {
	[EPKI_BAD_REQUEST] = "the CA refused the request",
	[EPKI_BAD_CSR] = "the CA refused the certificate request",
	[EPKI_AUTH] = "the CA is not reachable for this gateway",
	[EPKI_QUOTA] = "the CA has no licence for this request",
	[EPKI_NOT_FOUND] = "the CA refused the request",
	[EPKI_CONFLICT] = "the CA refused the request",
	[EPKI_FAILURE] = "the CA refused the request",
};

/*
 * Builds the CertRep for op's status into op->reply: on an HTTP thread,
 * or, for an order's outcome, on the thread that delivers it, before the
 * request is resumed (enroll_job_deliver()). A failure to build is an internal
 * error: 500. An op answered already (op->done) is left as it is.
 */
void
enroll_finish(struct gw_ctx *ctx, struct enroll_op *op)
{
	STACK_OF(X509) *chain = NULL;
	struct scep_reply r;
	struct gw_err err;
	struct buf out;
	int rc;

	if (op->done)
		return; /* answered already, in plain HTTP */
	/* Signed by the RA the request started with (enroll_pkioperation()
	 * took it). */
	if (op->ra == NULL && (op->ra = gw_ra_get1(ctx)) == NULL) {
		enroll_op_http(op, 500, "internal error\n");
		return;
	}
	ERR_clear_error();
	scep_reply_init(&r, op->msg);
	r.status = op->status;
	r.fail = op->fail;
	r.fail_text = op->status == SCEP_STATUS_FAILURE ? op->fail_text : NULL;
	r.issued = op->cert;
	/* The issuing CA from [ra] ca_chain, whether or not GlobalSign sent
	 * it (README "How an enrollment works", step 6). */
	if (op->cert != NULL &&
	    (chain = scep_ra_issuers_new(op->ra, op->cert)) == NULL) {
		enroll_op_http(op, 500, "internal error\n");
		return;
	}
	r.chain = chain;
	buf_init(&out, 0);
	rc = scep_certrep_build(op->ra, &r, &out, &err);
	sk_X509_free(chain);
	if (rc == -1) {
		log_ev(LOG_WARNING, "enroll",
		    LOG_F(.peer = op->peer, .txid = scep_msg_txid(op->msg)),
		    "%s txid=%s: cannot build CertRep: %s", op->peer,
		    scep_msg_txid(op->msg), err.msg);
		buf_cleanup(&out);
		enroll_op_http(op, 500, "internal error\n");
		return;
	}
	op->reply.http_status = 200;
	op->reply.content_type = CT_PKI;
	op->reply.body = buf_steal(&out, &op->reply.len);
	op->done = true;
	enroll_history_answer(ctx, op);
}

/*
 * Hands the order's outcome to the waiting request, if one still waits.
 * Takes cert (may be NULL). Frees the job: this is the order's end. A
 * PENDING outcome is a lost one: the reconciler is asked to look it up
 * now that the transaction is no longer in flight.
 */
void
enroll_job_deliver(struct enroll_job *j, enum scep_status st, enum scep_fail f,
    const char *text, X509 *cert)
{
	struct enroll *e = j->e;
	struct enroll_op *op;

	pthread_mutex_lock(&e->mu);
	enroll_job_unqueue(e, j);
	op = j->op;
	j->op = NULL;
	enroll_job_untrack(e, j);
	enroll_changed(e);
	pthread_mutex_unlock(&e->mu);
	if (op != NULL) {
		op->job = NULL;
		op->status = st;
		op->fail = f;
		snprintf(op->fail_text, sizeof(op->fail_text), "%s",
		    text != NULL ? text : "");
		op->cert = cert;
		cert = NULL;
		/*
		 * The CertRep is built here, before the resume: the HTTP
		 * thread then only sends it. For an issued certificate this
		 * is the database's writer thread, and signing there keeps
		 * the RSA work off the HTTP threads, where it held up the
		 * other connections of the same thread while a core idled,
		 * and lets the writes of the next commit gather meanwhile
		 * (at c=16: 977 -> 1,117 enroll/s, writes per commit 2.3 ->
		 * 4.7; a separate signing thread: 1,094). The writer then
		 * takes about 0.46 ms of one core per enrollment (commits and
		 * signing): it caps a gateway near 2,000 enrollments a second
		 * on this machine's cores, whatever their number.
		 */
		enroll_finish(e->ctx, op);
		op->resume(op->resume_arg);
	}
	X509_free(cert);
	enroll_job_free(j);
	if (st == SCEP_STATUS_PENDING)
		reconcile_kick(e->ctx->reconcile);
}

/* Upper-case hex of a serial number, as db/ stores it. */
int
enroll_serial_hex(const ASN1_INTEGER *sn, char *out, size_t n)
{
	BIGNUM *bn;
	char *hex = NULL;

	if (sn == NULL)
		return -1;
	bn = ASN1_INTEGER_to_BN(sn, NULL);
	if (bn == NULL || (hex = BN_bn2hex(bn)) == NULL) {
		BN_free(bn);
		return -1;
	}
	snprintf(out, n, "%s", hex);
	OPENSSL_free(hex);
	BN_free(bn);
	return 0;
}

/* What db/ stores of an issued certificate, read off the leaf. */
struct issued_fields {
	unsigned char *der; /* OPENSSL_free() */
	int len;
	char serial[80];
	char subject[256];
	int64_t not_after;
};

/* Fills f from leaf. Returns 0, or -1 (f->der freed by the caller). */
static int
issued_fields_get(const X509 *leaf, struct issued_fields *f)
{
	ASN1_TIME *epoch = NULL;
	int days = 0, secs = 0, rc = -1;

	memset(f, 0, sizeof(*f));
	f->len = i2d_X509(leaf, &f->der);
	if (f->len <= 0 ||
	    enroll_serial_hex(X509_get0_serialNumber(leaf), f->serial,
		sizeof(f->serial)) == -1)
		goto out;
	X509_NAME_oneline(X509_get_subject_name(leaf), f->subject,
	    (int)sizeof(f->subject));
	if ((epoch = ASN1_TIME_set(NULL, 0)) == NULL ||
	    ASN1_TIME_diff(&days, &secs, epoch, X509_get0_notAfter(leaf)) != 1)
		goto out;
	f->not_after = (int64_t)days * 86400 + secs;
	rc = 0;
out:
	ASN1_TIME_free(epoch);
	return rc;
}

/* A reference to leaf for the reply, or NULL. Not X509_dup(): a copy
 * decodes the key again. */
static X509 *
leaf_ref(const X509 *leaf)
{
	X509 *x = (X509 *)(uintptr_t)leaf;

	return X509_up_ref(x) == 1 ? x : NULL;
}

/*
 * Stores a certificate GlobalSign issued for txid under order_id (ISSUED,
 * in one SQLite transaction with its certificate row) and waits for the
 * commit. Returns a reference for the reply (caller frees), or NULL when
 * it could not be stored.
 */
X509 *
enroll_store_issued(struct gw_ctx *ctx, const char *txid, const char *order_id,
    const X509 *leaf)
{
	struct issued_fields f;
	struct gw_err err;
	X509 *copy = NULL;

	if (issued_fields_get(leaf, &f) == -1)
		goto out;
	if (db_txn_set_issued(ctx->db, txid,
		order_id[0] != '\0' ? order_id : NULL, f.der, (size_t)f.len,
		f.serial, f.not_after, f.subject, enroll_now(), &err) == -1) {
		log_ev(LOG_WARNING, "enroll",
		    LOG_F(.txid = txid, .order_id = order_id),
		    "txid=%s: order %s issued but not stored: %s", txid,
		    order_id, err.msg);
		goto out;
	}
	log_ev(LOG_INFO, "enroll.issued",
	    LOG_F(.txid = txid, .serial = f.serial, .order_id = order_id),
	    "txid=%s: issued serial=%s order=%s subject=%s", txid, f.serial,
	    order_id, f.subject);
	enroll_licence_watch(ctx);
	copy = leaf_ref(leaf);
out:
	OPENSSL_free(f.der);
	return copy;
}

/* Logs every error GlobalSign returned, with its code, field and text. */
static void
order_log_errors(const char *txid, const struct epki_resp *r)
{
	size_t i;

	if (r->fault[0] != '\0')
		log_ev(LOG_WARNING, "epki.error", LOG_F(.txid = txid),
		    "txid=%s: GlobalSign: %s", txid, r->fault);
	for (i = 0; i < r->nerrors; i++)
		log_ev(LOG_WARNING, "epki.error", LOG_F(.txid = txid),
		    "txid=%s: GlobalSign %s: ErrorCode %d%s%s: %s", txid,
		    epki_class_name(r->cls), r->errors[i].code,
		    r->errors[i].field[0] != '\0' ? " ErrorField " : "",
		    r->errors[i].field, r->errors[i].message);
}

/* What a device hears when GlobalSign's certificate is refused. */
#define UNTRUSTED_TEXT "the CA returned an unusable certificate"

/* Checks leaf against the CA chain of the RA of this moment (a reload may
 * have replaced it); 0, or -1 with err set. */
static int
issued_leaf_ok(struct gw_ctx *ctx, const X509 *leaf, struct gw_err *err)
{
	struct scep_ra *ra = gw_ra_get1(ctx);
	int rc = -1;

	if (ra != NULL)
		rc = scep_leaf_verify(ra, leaf, enroll_now(), err);
	else
		gw_err_set(err, 0, "no RA loaded");
	scep_ra_free(ra);
	return rc;
}

/*
 * Checks the certificate GlobalSign returned for txid before it is
 * stored or delivered (README "How an enrollment works", step 6): leaf,
 * the one holding the request's key (NULL: the answer held a certificate,
 * but none for that key), must chain to [ra] ca_chain. When it does not,
 * logs why and records the transaction failed, keeping its order id for
 * the operator; it is never ordered again. Returns 0 when leaf may be
 * stored, or -1 with *text the device's failInfoText.
 */
int
enroll_issued_check(struct gw_ctx *ctx, const char *txid, const char *order_id,
    const X509 *leaf, const char **text)
{
	struct gw_err err;

	gw_err_clear(&err);
	if (leaf == NULL)
		gw_err_set(&err, SCEP_FAIL_BADCERTID,
		    "it does not hold the request's key");
	else if (issued_leaf_ok(ctx, leaf, &err) == 0)
		return 0;
	log_ev(LOG_WARNING, "enroll.failed",
	    LOG_F(.txid = txid, .order_id = order_id),
	    "txid=%s: order %s: GlobalSign's certificate refused: %s; "
	    "the transaction fails and is not ordered again",
	    txid, order_id, err.msg);
	*text = UNTRUSTED_TEXT;
	if ((order_id[0] != '\0' &&
		db_txn_set_order(ctx->db, txid, order_id, enroll_now(), &err) ==
		    -1) ||
	    db_txn_set_failed(ctx->db, txid, SCEP_FAIL_BADREQUEST,
		UNTRUSTED_TEXT, enroll_now(), &err) == -1)
		log_ev(LOG_WARNING, "enroll", LOG_F(.txid = txid),
		    "txid=%s: cannot store failure: %s", txid, err.msg);
	return -1;
}

/*
 * Records GlobalSign's answer to an order for txid (whose CSR key is pub):
 * ISSUED with the certificate, FAILED for a final refusal, or nothing final
 * (transport trouble, a transient error, no certificate for the key): the
 * order id, if any, is kept and the reconciler finishes the transaction.
 * Returns the status for the device; on SUCCESS *cert is a copy (caller
 * frees), on FAILURE *text the short reason.
 */
enum scep_status
enroll_order_record(struct gw_ctx *ctx, const char *txid, const EVP_PKEY *pub,
    const struct epki_resp *r, X509 **cert, const char **text)
{
	const X509 *leaf;
	struct gw_err err;

	*cert = NULL;
	*text = NULL;
	if (r->cls == EPKI_OK || r->cls == EPKI_WARNING) {
		if (r->cls == EPKI_WARNING)
			order_log_errors(txid, r);
		leaf = epki_resp_get0_cert_for_key(r, pub);
		if ((leaf != NULL || epki_resp_has_leaf(r)) &&
		    enroll_issued_check(ctx, txid, r->order_id, leaf, text) ==
			-1)
			return SCEP_STATUS_FAILURE;
		if (leaf != NULL &&
		    (*cert = enroll_store_issued(ctx, txid, r->order_id,
			 leaf)) != NULL)
			return SCEP_STATUS_SUCCESS;
		log_ev(LOG_WARNING, "epki.incomplete",
		    LOG_F(.txid = txid, .order_id = r->order_id),
		    "txid=%s: order %s: no usable certificate for the "
		    "request's key; left for reconciliation",
		    txid, r->order_id);
	} else if (r->cls == EPKI_TRANSPORT || r->cls == EPKI_TRANSIENT) {
		order_log_errors(txid, r);
		log_ev(LOG_WARNING, "epki.incomplete", LOG_F(.txid = txid),
		    "txid=%s: GlobalSign did not complete the order; it "
		    "will be reconciled",
		    txid);
	} else {
		order_log_errors(txid, r);
		*text = class_text[r->cls] != NULL ?
		    class_text[r->cls] :
		    "the CA refused the request";
		/* README "Licences": one message for every licence cause. */
		if (enroll_licence_error_in(ctx, r)) {
			enroll_licence_error(ctx, txid);
			*text = class_text[EPKI_QUOTA];
		}
		/* GlobalSign's error stays with the transaction (admin API). */
		if (db_txn_set_failed_epki(ctx->db, txid, SCEP_FAIL_BADREQUEST,
			*text, r->nerrors > 0 ? r->errors[0].code : 0,
			r->nerrors > 0 ?
			    r->errors[0].message :
			    (r->fault[0] != '\0' ? r->fault : NULL),
			enroll_now(), &err) == -1)
			log_ev(LOG_WARNING, "enroll", LOG_F(.txid = txid),
			    "txid=%s: cannot store failure: %s", txid, err.msg);
		return SCEP_STATUS_FAILURE;
	}
	if (r->order_id[0] != '\0' &&
	    db_txn_set_order(ctx->db, txid, r->order_id, enroll_now(), &err) ==
		-1)
		log_ev(LOG_WARNING, "enroll", LOG_F(.txid = txid),
		    "txid=%s: cannot store order id: %s", txid, err.msg);
	return SCEP_STATUS_PENDING;
}

/*
 * Takes x, a certificate of r for which the caller holds its own
 * reference, out of r and drops r's reference. The request that gets x
 * then holds the only one, and this thread, which frees r after the
 * callback, never touches x again: OpenSSL's reference counts are atomics
 * that ThreadSanitizer cannot see, and the waiting request's thread must
 * not read a certificate that another thread may be freeing.
 */
static void
resp_cert_release(struct epki_resp *r, X509 *x)
{
	if (r->certs != NULL && sk_X509_delete_ptr(r->certs, x) != NULL)
		X509_free(x);
}

/* An issued certificate on its way to the database (order_issued). */
struct issued_rec {
	struct enroll_job *j;
	X509 *cert; /* the reply's reference */
	char order_id[sizeof(((struct epki_resp *)0)->order_id)];
	char serial[80];
	char subject[256];
};

/* Milliseconds since j's order was queued. */
static long long
job_ms(const struct enroll_job *j)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(now.tv_sec - j->sent.tv_sec) * 1000 +
	    (now.tv_nsec - j->sent.tv_nsec) / 1000000;
}

/* Group commit done (on the committing thread): deliver SUCCESS, or leave the
 * order to the reconciler as enroll_order_record() does. */
static void
order_issued_done(void *arg, int rc, const struct gw_err *err)
{
	struct issued_rec *q = arg;
	struct enroll_job *j = q->j;
	struct gw_err e;

	if (rc == 0) {
		log_ev(LOG_INFO, "enroll.issued",
		    LOG_F(.txid = j->txid, .order_id = q->order_id,
			.serial = q->serial, .duration_ms = job_ms(j),
			.has_duration = true),
		    "txid=%s: issued serial=%s order=%s subject=%s", j->txid,
		    q->serial, q->order_id, q->subject);
		enroll_licence_watch(j->e->ctx);
		/* Intune hears of it before the device (README "Microsoft
		 * Intune"). */
		if (j->icsr != NULL)
			enroll_intune_success(j, q->cert);
		else
			enroll_job_deliver(j, SCEP_STATUS_SUCCESS, 0, NULL,
			    q->cert);
		free(q);
		return;
	}
	log_ev(LOG_WARNING, "enroll",
	    LOG_F(.txid = j->txid, .order_id = q->order_id),
	    "txid=%s: order %s issued but not stored: %s; left for "
	    "reconciliation",
	    j->txid, q->order_id, err->msg);
	if (q->order_id[0] != '\0' &&
	    db_txn_set_order(j->e->ctx->db, j->txid, q->order_id, enroll_now(),
		&e) == -1)
		log_ev(LOG_WARNING, "enroll", LOG_F(.txid = j->txid),
		    "txid=%s: cannot store order id: %s", j->txid, e.msg);
	X509_free(q->cert);
	free(q);
	enroll_job_deliver(j, SCEP_STATUS_PENDING, 0, NULL, NULL);
}

/*
 * The common case of enroll_order_done(): GlobalSign issued a certificate for
 * the key, and it chains to [ra] ca_chain (else enroll_order_record() refuses
 * it and fails the transaction). Hands it to the database without waiting for
 * another thread's commit (this thread serves every order); order_issued_done()
 * delivers it after its own commit. Returns 0 when queued, -1 when the caller
 * must record the answer itself.
 */
static int
order_issued(struct enroll_job *j, struct epki_resp *r)
{
	struct issued_fields f;
	struct issued_rec *q = NULL;
	const X509 *leaf;
	struct gw_err err;
	int rc = -1;

	memset(&f, 0, sizeof(f));
	if ((r->cls != EPKI_OK && r->cls != EPKI_WARNING) ||
	    (leaf = epki_resp_get0_cert_for_key(r, j->pub)) == NULL ||
	    issued_leaf_ok(j->e->ctx, leaf, &err) == -1 ||
	    issued_fields_get(leaf, &f) == -1 ||
	    (q = calloc(1, sizeof(*q))) == NULL ||
	    (q->cert = leaf_ref(leaf)) == NULL)
		goto out;
	resp_cert_release(r, q->cert);
	if (r->cls == EPKI_WARNING)
		order_log_errors(j->txid, r);
	q->j = j;
	snprintf(q->order_id, sizeof(q->order_id), "%s", r->order_id);
	snprintf(q->serial, sizeof(q->serial), "%s", f.serial);
	snprintf(q->subject, sizeof(q->subject), "%s", f.subject);
	if (db_txn_set_issued_submit(j->e->ctx->db, j->txid,
		r->order_id[0] != '\0' ? r->order_id : NULL, f.der,
		(size_t)f.len, f.serial, f.not_after, f.subject, enroll_now(),
		order_issued_done, q, &err) == -1) {
		log_ev(LOG_WARNING, "enroll", LOG_F(.txid = j->txid),
		    "txid=%s: %s", j->txid, err.msg);
		goto out;
	}
	q = NULL;
	rc = 0;
out:
	if (q != NULL)
		X509_free(q->cert);
	free(q);
	OPENSSL_free(f.der);
	return rc;
}

/* EPKI callback (EPKI client thread): record the outcome, then deliver. */
void
enroll_order_done(void *arg, struct epki_resp *r)
{
	struct enroll_job *j = arg;
	enum scep_status st;
	const char *text;
	X509 *cert;

	ERR_clear_error();
	if (order_issued(j, r) == 0)
		return;
	st = enroll_order_record(j->e->ctx, j->txid, j->pub, r, &cert, &text);
	if (cert != NULL)
		resp_cert_release(r, cert);
	if (j->icsr != NULL && st == SCEP_STATUS_SUCCESS) {
		enroll_intune_success(j, cert);
		return;
	}
	if (j->icsr != NULL && st == SCEP_STATUS_FAILURE) {
		enroll_intune_failure(j, text,
		    r->nerrors > 0 ? r->errors[0].code : 0);
		return;
	}
	enroll_job_deliver(j, st,
	    st == SCEP_STATUS_FAILURE ? SCEP_FAIL_BADREQUEST : 0, text, cert);
}
