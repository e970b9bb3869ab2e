/*
 * The enrollment state machine (README "How an enrollment works"): decode,
 * verify and decrypt a pkiMessage; answer a known transactionID from the
 * stored state; otherwise, once enroll_admit.c has admitted the request and
 * decided its identity, consume the challenge and record the transaction in
 * one SQLite transaction, then order the certificate from GlobalSign. The
 * order runs on the EPKI client's thread; a timer thread answers PENDING
 * when GlobalSign takes longer than [scep] pending_after_seconds, and the
 * order then finishes in the background for CertPoll to pick up. Also
 * answers CertPoll and GetCert from the database.
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
#include "gw.h"
#include "gw_err.h"
#include "gw_thread.h"
#include "log.h"
#include "pubkey.h"
#include "scep.h"
#include "secure.h"

#define CT_PKI "application/x-pki-message"

/* One order in flight; owned by the EPKI callback, watched by the timer. */
struct enroll_job {
	struct enroll *e;
	char *txid;
	EVP_PKEY *pub;		  /* the CSR's key: picks the leaf */
	struct enroll_op *op;	  /* the waiting request, or NULL */
	struct timespec deadline; /* answer PENDING after this */
	struct enroll_job *next;  /* timer queue, in deadline order */
	struct enroll_job *prev;
	bool queued;
	struct enroll_job *all_next; /* every order in flight */
	struct enroll_job *all_prev;
};

struct enroll {
	struct gw_ctx *ctx;
	pthread_mutex_t mu;
	pthread_cond_t timer_cv; /* the timer: a new head, or stop */
	pthread_cond_t drain_cv; /* enroll_drain(): fewer requests left */
	unsigned draining;	 /* threads waiting in enroll_drain() */
	pthread_t timer;
	bool timer_started;
	bool stop;
	struct enroll_job *head; /* earliest deadline first */
	struct enroll_job *tail;
	size_t inflight;	/* orders sent, not yet answered */
	size_t starting;	/* requests whose start_job is in flight */
	struct enroll_job *all; /* those orders, for the reconciler */
};

/* What the device is told, and what the log says, per upstream class. */
static const char *const class_text[EPKI_CLASS__MAX] = {
	[EPKI_BAD_REQUEST] = "the CA refused the request",
	[EPKI_BAD_CSR] = "the CA refused the certificate request",
	[EPKI_AUTH] = "the CA is not reachable for this gateway",
	[EPKI_QUOTA] = "the CA has no licence left for this request",
	[EPKI_NOT_FOUND] = "the CA refused the request",
	[EPKI_CONFLICT] = "the CA refused the request",
	[EPKI_FAILURE] = "the CA refused the request",
};

/* The current time, in seconds since the epoch, as db/ stores it. */
int64_t
enroll_now(void)
{
	return (int64_t)time(NULL);
}

/* Marks op as a FAILURE with failInfo f and a short text. */
void
enroll_op_fail(struct enroll_op *op, enum scep_fail f, const char *text)
{
	op->status = SCEP_STATUS_FAILURE;
	op->fail = f;
	snprintf(op->fail_text, sizeof(op->fail_text), "%s", text);
}

/* Answers op with plain HTTP: for input that cannot carry a CertRep. */
void
enroll_op_http(struct enroll_op *op, unsigned status, const char *text)
{
	op->reply.http_status = status;
	op->reply.content_type = "text/plain";
	op->reply.body = (uint8_t *)gw_strdup(text);
	op->reply.len = op->reply.body != NULL ? strlen(text) : 0;
	op->done = true;
}

/*
 * Builds the CertRep for op's status into op->reply: on an HTTP thread,
 * or, for an order's outcome, on the thread that delivers it, before the
 * request is resumed (job_deliver()). A failure to build is an internal
 * error: 500. An op answered already (op->done) is left as it is.
 */
void
enroll_finish(struct gw_ctx *ctx, struct enroll_op *op)
{
	struct scep_reply r;
	struct gw_err err;
	struct buf out;

	if (op->done)
		return; /* answered already, in plain HTTP */
	ERR_clear_error();
	scep_reply_init(&r, op->msg);
	r.status = op->status;
	r.fail = op->fail;
	r.fail_text = op->status == SCEP_STATUS_FAILURE ? op->fail_text : NULL;
	r.issued = op->cert;
	buf_init(&out, 0);
	if (scep_certrep_build(ctx->ra, &r, &out, &err) == -1) {
		log_warnx("%s txid=%s: cannot build CertRep: %s", op->peer,
		    scep_msg_txid(op->msg), err.msg);
		buf_cleanup(&out);
		enroll_op_http(op, 500, "internal error\n");
		return;
	}
	op->reply.http_status = 200;
	op->reply.content_type = CT_PKI;
	op->reply.body = buf_steal(&out, &op->reply.len);
	op->done = true;
}

/* Sets op from a stored transaction: the same answer a retry deserves. */
static void
op_from_txn(struct enroll_op *op, const struct db_txn *t)
{
	const unsigned char *p;

	switch (t->state) {
	case DB_TXN_ISSUED:
		p = t->cert_der;
		op->cert = d2i_X509(NULL, &p, (long)t->cert_len);
		if (op->cert == NULL) {
			enroll_op_fail(op, SCEP_FAIL_BADREQUEST,
			    "stored certificate unreadable");
			return;
		}
		op->status = SCEP_STATUS_SUCCESS;
		return;
	case DB_TXN_FAILED:
		enroll_op_fail(op, (enum scep_fail)t->fail_info,
		    t->fail_text != NULL ? t->fail_text : "request failed");
		return;
	case DB_TXN_ORDERING:
	default:
		op->status = SCEP_STATUS_PENDING;
		return;
	}
}

/*
 * The key a transaction was requested for: its stored fingerprint, else
 * (rows older than schema 5) the one of its stored CSR. Returns 0 or -1.
 */
static int
txn_key_sha256(const struct db_txn *t, uint8_t out[32])
{
	unsigned char *der = NULL;
	unsigned int len = 0;
	X509_REQ *req = NULL;
	BIO *bio;
	int n, rc = -1;

	if (t->has_key) {
		memcpy(out, t->key_sha256, 32);
		return 0;
	}
	if (t->csr_pem == NULL ||
	    (bio = BIO_new_mem_buf(t->csr_pem, -1)) == NULL)
		return -1;
	req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (req != NULL &&
	    (n = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req), &der)) > 0 &&
	    EVP_Digest(der, (size_t)n, out, &len, EVP_sha256(), NULL) == 1 &&
	    len == 32)
		rc = 0;
	OPENSSL_free(der);
	X509_REQ_free(req);
	ERR_clear_error();
	return rc;
}

/*
 * Whether op may read transaction t (README "Security model"): only a
 * request signed with the key of the request that made it, or for a
 * renewal with the certificate it renews. Anyone else learns nothing, not
 * even that the transactionID exists. Returns 1 or 0, -1 on a database
 * error (err set).
 */
static int
txn_reader_ok(struct gw_ctx *ctx, const struct enroll_op *op,
    const struct db_txn *t, struct gw_err *err)
{
	uint8_t mine[32], theirs[32];
	struct db_cert c;
	int found, ok;

	if (scep_msg_signer_key_sha256(op->msg, mine) == 0 &&
	    txn_key_sha256(t, theirs) == 0 &&
	    CRYPTO_memcmp(mine, theirs, sizeof(mine)) == 0)
		return 1;
	if (t->renews == NULL)
		return 0;
	memset(&c, 0, sizeof(c));
	if ((found = db_cert_get(ctx->db, t->renews, &c, err)) == -1)
		return -1;
	ok = found == 0 && enroll_signer_is(op, c.der, c.der_len);
	db_cert_cleanup(&c);
	return ok;
}

/* What to do with a request whose transactionID is already known. */
enum retry {
	RETRY_ANSWERED, /* op holds the answer (stored state, or refusal) */
	RETRY_NEW,	/* the old transaction has ended: start a new one */
};

/*
 * A request with a known transactionID. The same CSR is a retry: the
 * stored answer, no second order. Another key is refused, never an
 * overwrite. The same key with a new CSR (certmonger keeps its key, so
 * its transactionID, and builds a new CSR whenever it resubmits) gets
 * the stored answer while the order is open or once it was issued — the
 * certificate is that key's, and nothing is paid twice — unless it is an
 * authenticated renewal of the very certificate that transaction issued
 * (renews_it: certmonger renewing); after a failure, or for such a
 * renewal, it becomes a new transaction (the caller archives the old row
 * just before it starts the new one: renamed, never overwritten). A
 * replayed renewal signed by an older certificate gets the stored answer.
 */
static enum retry
answer_retry(struct enroll_op *op, const struct db_txn *t,
    const struct scep_csr_info *info, bool renews_it)
{
	if (memcmp(t->csr_sha256, info->csr_sha256, 32) == 0) {
		log_info("%s txid=%s: retry answered from stored state",
		    op->peer, t->txid);
		op_from_txn(op, t);
		return RETRY_ANSWERED;
	}
	if (!t->has_key || memcmp(t->key_sha256, info->key_sha256, 32) != 0) {
		log_info("%s txid=%s: transactionID reused with another key",
		    op->peer, t->txid);
		enroll_op_fail(op, SCEP_FAIL_BADREQUEST,
		    "transactionID already used for another request");
		return RETRY_ANSWERED;
	}
	if (t->state == DB_TXN_ORDERING ||
	    (t->state == DB_TXN_ISSUED && !renews_it)) {
		log_info("%s txid=%s: new CSR for the same key; answered from "
			 "stored state",
		    op->peer, t->txid);
		op_from_txn(op, t);
		return RETRY_ANSWERED;
	}
	log_info("%s txid=%s: same key, new CSR after the transaction %s: "
		 "a new transaction (the old one will be kept as %s@%lld)",
	    op->peer, t->txid,
	    renews_it ? "issued the certificate it renews" : "failed", t->txid,
	    (long long)t->id);
	return RETRY_NEW;
}

/* The log words for a refused challenge; the device only hears "invalid". */
const char *
enroll_start_reason(enum db_start res)
{
	switch (res) {
	case DB_START_CHALLENGE_USED:
		return "challenge already used";
	case DB_START_CHALLENGE_EXPIRED:
		return "challenge expired";
	case DB_START_CHALLENGE_REVOKED:
		return "challenge revoked";
	case DB_START_CHALLENGE_BAD:
	default:
		return "unknown challenge";
	}
}

/* Removes a job from the timer queue; caller holds e->mu. */
static void
job_unqueue(struct enroll *e, struct enroll_job *j)
{
	if (!j->queued)
		return;
	if (j->prev != NULL)
		j->prev->next = j->next;
	else
		e->head = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
	else
		e->tail = j->prev;
	j->next = j->prev = NULL;
	j->queued = false;
}

/*
 * Wakes enroll_drain() after a request left the queue, the in-flight list
 * or the starting count; caller holds e->mu. Nobody else waits for these,
 * so a busy gateway does not pay a wake-up per change.
 */
static void
enroll_changed(struct enroll *e)
{
	if (e->draining > 0)
		pthread_cond_broadcast(&e->drain_cv);
}

/* Adds a job to the in-flight list; caller holds e->mu. */
static void
job_track(struct enroll *e, struct enroll_job *j)
{
	j->all_prev = NULL;
	j->all_next = e->all;
	if (e->all != NULL)
		e->all->all_prev = j;
	e->all = j;
	e->inflight++;
}

/* Removes a job from the in-flight list; caller holds e->mu. */
static void
job_untrack(struct enroll *e, struct enroll_job *j)
{
	if (j->all_prev != NULL)
		j->all_prev->all_next = j->all_next;
	else
		e->all = j->all_next;
	if (j->all_next != NULL)
		j->all_next->all_prev = j->all_prev;
	j->all_next = j->all_prev = NULL;
	e->inflight--;
}

/* True when an order for txid is in flight in this process. */
bool
enroll_is_inflight(struct enroll *e, const char *txid)
{
	const struct enroll_job *j;
	bool found = false;

	pthread_mutex_lock(&e->mu);
	for (j = e->all; j != NULL && !found; j = j->all_next)
		found = strcmp(j->txid, txid) == 0;
	pthread_mutex_unlock(&e->mu);
	return found;
}

static void
job_free(struct enroll_job *j)
{
	if (j == NULL)
		return;
	EVP_PKEY_free(j->pub);
	free(j->txid);
	free(j);
}

/*
 * Hands the order's outcome to the waiting request, if one still waits.
 * Takes cert (may be NULL). Frees the job: this is the order's end. A
 * PENDING outcome is a lost one: the reconciler is asked to look it up
 * now that the transaction is no longer in flight.
 */
static void
job_deliver(struct enroll_job *j, enum scep_status st, enum scep_fail f,
    const char *text, X509 *cert)
{
	struct enroll *e = j->e;
	struct enroll_op *op;

	pthread_mutex_lock(&e->mu);
	job_unqueue(e, j);
	op = j->op;
	j->op = NULL;
	job_untrack(e, j);
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
	job_free(j);
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
		log_warnx("txid=%s: order %s issued but not stored: %s", txid,
		    order_id, err.msg);
		goto out;
	}
	log_info("txid=%s: issued serial=%s order=%s subject=%s", txid,
	    f.serial, order_id, f.subject);
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
		log_warnx("txid=%s: GlobalSign: %s", txid, r->fault);
	for (i = 0; i < r->nerrors; i++)
		log_warnx("txid=%s: GlobalSign %s: ErrorCode %d%s%s: %s", txid,
		    epki_class_name(r->cls), r->errors[i].code,
		    r->errors[i].field[0] != '\0' ? " ErrorField " : "",
		    r->errors[i].field, r->errors[i].message);
}

/* What a device hears when GlobalSign's certificate is refused. */
#define UNTRUSTED_TEXT "the CA returned an unusable certificate"

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
	else if (scep_leaf_verify(ctx->ra, leaf, enroll_now(), &err) == 0)
		return 0;
	log_warnx("txid=%s: order %s: GlobalSign's certificate refused: %s; "
		  "the transaction fails and is not ordered again",
	    txid, order_id, err.msg);
	*text = UNTRUSTED_TEXT;
	if ((order_id[0] != '\0' &&
		db_txn_set_order(ctx->db, txid, order_id, enroll_now(), &err) ==
		    -1) ||
	    db_txn_set_failed(ctx->db, txid, SCEP_FAIL_BADREQUEST,
		UNTRUSTED_TEXT, enroll_now(), &err) == -1)
		log_warnx("txid=%s: cannot store failure: %s", txid, err.msg);
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
		log_warnx("txid=%s: order %s: no usable certificate for the "
			  "request's key; left for reconciliation",
		    txid, r->order_id);
	} else if (r->cls == EPKI_TRANSPORT || r->cls == EPKI_TRANSIENT) {
		order_log_errors(txid, r);
		log_warnx("txid=%s: GlobalSign did not complete the order; it "
			  "will be reconciled",
		    txid);
	} else {
		order_log_errors(txid, r);
		*text = class_text[r->cls] != NULL ?
		    class_text[r->cls] :
		    "the CA refused the request";
		if (db_txn_set_failed(ctx->db, txid, SCEP_FAIL_BADREQUEST,
			*text, enroll_now(), &err) == -1)
			log_warnx("txid=%s: cannot store failure: %s", txid,
			    err.msg);
		return SCEP_STATUS_FAILURE;
	}
	if (r->order_id[0] != '\0' &&
	    db_txn_set_order(ctx->db, txid, r->order_id, enroll_now(), &err) ==
		-1)
		log_warnx("txid=%s: cannot store order id: %s", txid, err.msg);
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

/* Group commit done (on the committing thread): deliver SUCCESS, or leave the
 * order to the reconciler as enroll_order_record() does. */
static void
order_issued_done(void *arg, int rc, const struct gw_err *err)
{
	struct issued_rec *q = arg;
	struct enroll_job *j = q->j;
	struct gw_err e;

	if (rc == 0) {
		log_info("txid=%s: issued serial=%s order=%s subject=%s",
		    j->txid, q->serial, q->order_id, q->subject);
		job_deliver(j, SCEP_STATUS_SUCCESS, 0, NULL, q->cert);
		free(q);
		return;
	}
	log_warnx("txid=%s: order %s issued but not stored: %s; left for "
		  "reconciliation",
	    j->txid, q->order_id, err->msg);
	if (q->order_id[0] != '\0' &&
	    db_txn_set_order(j->e->ctx->db, j->txid, q->order_id, enroll_now(),
		&e) == -1)
		log_warnx("txid=%s: cannot store order id: %s", j->txid, e.msg);
	X509_free(q->cert);
	free(q);
	job_deliver(j, SCEP_STATUS_PENDING, 0, NULL, NULL);
}

/*
 * The common case of order_done(): GlobalSign issued a certificate for the
 * key, and it chains to [ra] ca_chain (else enroll_order_record() refuses
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
	    scep_leaf_verify(j->e->ctx->ra, leaf, enroll_now(), &err) == -1 ||
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
		log_warnx("txid=%s: %s", j->txid, err.msg);
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
static void
order_done(void *arg, struct epki_resp *r)
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
	job_deliver(j, st, st == SCEP_STATUS_FAILURE ? SCEP_FAIL_BADREQUEST : 0,
	    text, cert);
}

/* Queues a job on the timer; caller holds e->mu. */
static void
job_queue(struct enroll *e, struct enroll_job *j)
{
	clock_gettime(CLOCK_MONOTONIC, &j->deadline);
	j->deadline.tv_sec += e->ctx->cfg->pending_after_seconds;
	j->prev = e->tail;
	j->next = NULL;
	if (e->tail != NULL)
		e->tail->next = j;
	else
		e->head = j;
	e->tail = j;
	j->queued = true;
	/*
	 * Deadlines grow along the queue, so the timer, asleep until the
	 * head's, needs waking only for a new head. A head that leaves early
	 * costs it one wake-up at the old deadline.
	 */
	if (e->head == j)
		pthread_cond_signal(&e->timer_cv);
}

/* The profile a request came in on: its own, else "default", or NULL. */
const struct gw_profile *
enroll_op_profile(const struct gw_ctx *ctx, const struct enroll_op *op)
{
	return op->profile != NULL ? op->profile :
				     config_profile_find(ctx->cfg, "default");
}

/* The EPKI profile, product and validity of an order placed for p. */
static void
order_profile_set(const struct gw_ctx *ctx, const struct gw_profile *p,
    struct epki_order *o)
{
	const struct gw_config *c = ctx->cfg;

	if (p == NULL)
		p = config_profile_find(c, "default");
	o->profile_id = p != NULL ? p->profile_id : c->epki_profile_id;
	o->product_code = p != NULL ? p->product_code : c->epki_product_code;
	o->years = p != NULL ? p->years : c->epki_years;
}

/*
 * The EPKI profile, product and validity of the transaction made for
 * [profile name] (NULL: default), for the reconciler. A profile no longer
 * configured falls back to the default, with a warning.
 */
void
enroll_profile_order(const struct gw_ctx *ctx, const char *name,
    struct epki_order *o)
{
	const struct gw_profile *p = NULL;

	if (name != NULL && (p = config_profile_find(ctx->cfg, name)) == NULL)
		log_warnx("profile %s is no longer configured; using the "
			  "default profile",
		    name);
	order_profile_set(ctx, p, o);
}

/* Sends the order for a freshly started transaction; the op waits. */
static int
order_send(struct gw_ctx *ctx, struct enroll_op *op, const struct db_txn *t,
    const struct scep_csr_info *info)
{
	struct enroll *e = ctx->enroll;
	struct enroll_job *j;
	struct epki_order o;
	struct gw_err err;
	bool taken;

	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->txid = gw_strdup(t->txid)) == NULL ||
	    (j->pub = scep_msg_get1_csr_key(op->msg)) == NULL) {
		job_free(j);
		log_warnx("txid=%s: out of memory; left for reconciliation",
		    t->txid);
		op->status = SCEP_STATUS_PENDING;
		return 0;
	}
	memset(&o, 0, sizeof(o));
	/* A renewal is ordered on its transaction's profile, the renewed
	 * certificate's (README "Renewal"); enroll_renew_check() made sure
	 * that is the profile it came in on. */
	if (t->renews != NULL)
		enroll_profile_order(ctx, t->profile, &o);
	else
		order_profile_set(ctx, enroll_op_profile(ctx, op), &o);
	o.csr_pem = info->pem;
	o.upn = t->upn; /* the decided UPN, never the CSR's */
	o.cn = t->cn;
	o.email = t->email;
	if (t->ou != NULL)
		o.ous[o.nous++] = t->ou;
	j->e = e;
	j->op = op;
	op->job = j;
	pthread_mutex_lock(&e->mu);
	job_queue(e, j);
	job_track(e, j);
	pthread_mutex_unlock(&e->mu);
	log_info("%s txid=%s: ordering cn=\"%s\"%s%s%s%s", op->peer, t->txid,
	    t->cn, t->email != NULL ? " email=" : "",
	    t->email != NULL ? t->email : "", t->upn != NULL ? " upn=" : "",
	    t->upn != NULL ? t->upn : "");
	if (epki_order_submit(&ctx->tr, &ctx->auth, &o, order_done, j, &err) ==
	    -1) {
		/* The order never left: the reconciler will place it. */
		log_warnx("txid=%s: cannot send order: %s", t->txid, err.msg);
		pthread_mutex_lock(&e->mu);
		/* A slow submit: enroll_timer() may have answered PENDING
		 * and resumed op already, which may then be gone. */
		taken = j->op != op;
		j->op = NULL;
		job_unqueue(e, j);
		job_untrack(e, j);
		enroll_changed(e);
		pthread_mutex_unlock(&e->mu);
		job_free(j);
		reconcile_kick(ctx->reconcile);
		if (taken)
			return 1;
		op->job = NULL;
		op->status = SCEP_STATUS_PENDING;
		return 0;
	}
	return 1;
}

/*
 * A PKCSReq or RenewalReq admitted and on its way into the database
 * (db_txn_start_submit). Holds everything the new transaction points to;
 * start_done() frees it.
 */
struct start_job {
	struct gw_ctx *ctx;
	struct enroll_op *op;
	struct scep_csr_info info;
	struct enroll_ident ident;
	struct renew_id id;
	uint8_t chash[32];
	struct db_txn_new n;
	bool renewal;
	bool is_static;
};

static void
start_job_free(struct start_job *s)
{
	if (s == NULL)
		return;
	gw_cleanse(s->chash, sizeof(s->chash));
	scep_csr_info_cleanup(&s->info);
	free(s);
}

/*
 * What follows the recording of a transaction (rc, res and t as
 * db_txn_start() gives them): refusals and retries are answered, else the
 * order goes out. Returns 0 when op holds its answer, 1 when an order is
 * in flight for it.
 */
static int
start_next(struct start_job *s, int rc, enum db_start res,
    const struct db_txn *t, const struct gw_err *dberr)
{
	struct gw_ctx *ctx = s->ctx;
	struct enroll_op *op = s->op;
	const char *txid = s->n.txid;
	struct gw_err err;

	if (rc == -1) {
		log_warnx("%s txid=%s: database: %s", op->peer, txid,
		    dberr->msg);
		enroll_op_http(op, 503, "try again later\n");
		return 0;
	}
	if (res == DB_START_EXISTS) {
		/* A twin request won the race; answer as a retry of it. */
		if (answer_retry(op, t, &s->info, false) == RETRY_NEW)
			enroll_op_fail(op, SCEP_FAIL_BADREQUEST,
			    "transactionID busy; try again");
		return 0;
	}
	if (res == DB_START_RENEWED) {
		/* Another renewal of that certificate was recorded first. */
		log_info("%s txid=%s: renewal refused: signer serial=%s: it "
			 "was renewed already, by a renewal recorded first",
		    op->peer, txid, s->id.serial);
		enroll_op_fail(op, SCEP_FAIL_BADMESSAGECHECK,
		    "renewal must be signed by a valid certificate issued "
		    "through this gateway");
		return 0;
	}
	if (res != DB_START_OK) {
		log_info("%s txid=%s: challenge refused: %s", op->peer, txid,
		    enroll_start_reason(res));
		enroll_op_fail(op, SCEP_FAIL_BADREQUEST,
		    "invalid challenge password");
		return 0;
	}
	if (t->cn == NULL || *t->cn == '\0') {
		log_info("%s txid=%s: no common name in the certificate to "
			 "renew",
		    op->peer, txid);
		db_txn_set_failed(ctx->db, txid, SCEP_FAIL_BADREQUEST,
		    "no common name", enroll_now(), &err);
		enroll_op_fail(op, SCEP_FAIL_BADREQUEST, "no common name");
		return 0;
	}
	if (s->is_static)
		log_info("%s txid=%s: static challenge of profile %s accepted",
		    op->peer, txid, enroll_op_profile(ctx, op)->name);
	return order_send(ctx, op, t, &s->info);
}

/*
 * db_txn_start_submit() completion, on the thread that committed (never
 * the submitting one): answers and resumes the request, or sends its
 * order. Frees s.
 */
static void
start_done(void *arg, int rc, enum db_start res, const struct db_txn *t,
    const struct gw_err *err)
{
	struct start_job *s = arg;
	struct enroll *e = s->ctx->enroll;
	struct enroll_op *op = s->op;

	if (start_next(s, rc, res, t, err) == 0)
		op->resume(op->resume_arg);
	pthread_mutex_lock(&e->mu);
	e->starting--;
	enroll_changed(e);
	pthread_mutex_unlock(&e->mu);
	start_job_free(s);
}

/*
 * Records the transaction, consuming the challenge, without waiting for
 * the group commit: the HTTP thread goes back to other requests, and
 * start_done() carries on once the write is durable.
 * Returns as enroll_pkcsreq() does; s is consumed.
 */
static int
start_submit(struct start_job *s)
{
	struct enroll *e = s->ctx->enroll;
	struct gw_err err;

	pthread_mutex_lock(&e->mu);
	e->starting++;
	pthread_mutex_unlock(&e->mu);
	if (db_txn_start_submit(s->ctx->db, &s->n, start_done, s, &err) == 0)
		return 1; /* s belongs to start_done() now */
	pthread_mutex_lock(&e->mu);
	e->starting--;
	enroll_changed(e);
	pthread_mutex_unlock(&e->mu);
	log_warnx("%s txid=%s: database: %s", s->op->peer, s->n.txid, err.msg);
	enroll_op_http(s->op, 503, "try again later\n");
	start_job_free(s);
	return 0;
}

/*
 * PKCSReq and RenewalReq: a known transactionID is answered from the
 * database; a renewal is authenticated by its signer certificate; any
 * other request needs a challenge (enroll_admit). Then record, then order.
 * Returns 0 when op holds its answer, 1 when op->resume will be called.
 */
static int
enroll_pkcsreq(struct gw_ctx *ctx, struct enroll_op *op)
{
	const char *txid = scep_msg_txid(op->msg);
	struct start_job *s;
	struct db_txn t;
	struct gw_err err;
	bool archive;
	int64_t archive_id;
	int found, reader, renewal;

	memset(&t, 0, sizeof(t));
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		enroll_op_http(op, 503, "try again later\n");
		return 0;
	}
	s->ctx = ctx;
	s->op = op;
	if (scep_csr_inspect(scep_msg_get0_csr(op->msg),
		scep_msg_get0_csr_key(op->msg), &s->info, &err) == -1) {
		log_info("%s txid=%s: CSR refused: %s", op->peer, txid,
		    err.msg);
		enroll_op_fail(op, SCEP_FAIL_BADREQUEST,
		    "certificate request not acceptable");
		goto out;
	}
	found = db_txn_get(ctx->db, txid, &t, &err);
	if (found == -1) {
		log_warnx("%s txid=%s: database: %s", op->peer, txid, err.msg);
		enroll_op_http(op, 503, "try again later\n");
		goto out;
	}
	if (found == 0 && memcmp(t.csr_sha256, s->info.csr_sha256, 32) == 0) {
		if ((reader = txn_reader_ok(ctx, op, &t, &err)) == -1) {
			log_warnx("%s txid=%s: database: %s", op->peer, txid,
			    err.msg);
			enroll_op_http(op, 503, "try again later\n");
			goto out;
		}
		if (reader == 1) {
			answer_retry(op, &t, &s->info, false);
			goto out;
		}
		log_info("%s txid=%s: resent request signed by a key other "
			 "than the original request's; refused",
		    op->peer, txid);
		enroll_op_fail(op, SCEP_FAIL_BADCERTID, "unknown transaction");
		goto out;
	}
	if (enroll_csr_sans_check(op, txid, &s->info) == -1 ||
	    (renewal = enroll_renew_check(ctx, op, &s->id)) == -1)
		goto out;
	/* RFC 8894 2.3: a PKCSReq is signed with the key it certifies. */
	if (!renewal && !scep_msg_signer_matches_csr(op->msg)) {
		log_info("%s txid=%s: PKCSReq signed by a key other than the "
			 "request's",
		    op->peer, txid);
		enroll_op_fail(op, SCEP_FAIL_BADMESSAGECHECK,
		    "the signer certificate must carry the request's key");
		goto out;
	}
	if (found == 0 &&
	    answer_retry(op, &t, &s->info,
		renewal == 1 && t.state == DB_TXN_ISSUED &&
		    enroll_signer_is(op, t.cert_der, t.cert_len)) ==
		RETRY_ANSWERED)
		goto out;
	archive = found == 0;
	archive_id = t.id;
	db_txn_cleanup(&t);
	if (!renewal && s->info.challenge == NULL) {
		log_info("%s txid=%s: no challenge password in the CSR",
		    op->peer, txid);
		enroll_op_fail(op, SCEP_FAIL_BADREQUEST,
		    "challenge password missing");
		goto out;
	}
	if (!renewal) {
		SHA256((const unsigned char *)s->info.challenge,
		    strlen(s->info.challenge), s->chash);
		if (enroll_admit(ctx, op, &s->info, s->chash, &s->is_static,
			&s->ident) == -1)
			goto out;
	}
	if (renewal && enroll_renew_admit(ctx, op, &s->info, &s->id) == -1)
		goto out;
	s->renewal = renewal == 1;
	enroll_txn_new_fill(&s->n, txid, &s->info, renewal ? &s->id : NULL,
	    &s->ident, s->is_static ? NULL : s->chash,
	    op->profile != NULL && strcmp(op->profile->name, "default") != 0 ?
		op->profile->name :
		NULL);
	if (archive && db_txn_archive(ctx->db, txid, archive_id, &err) == -1) {
		log_warnx("%s txid=%s: database: %s", op->peer, txid, err.msg);
		enroll_op_http(op, 503, "try again later\n");
		goto out;
	}
	return start_submit(s);
out:
	db_txn_cleanup(&t);
	start_job_free(s);
	return 0;
}

/* CertPoll: answered from the database, keyed by transactionID. */
static void
enroll_certpoll(struct gw_ctx *ctx, struct enroll_op *op)
{
	const char *txid = scep_msg_txid(op->msg);
	struct db_txn t;
	struct gw_err err;
	int found, reader = 0;

	memset(&t, 0, sizeof(t));
	found = db_txn_get(ctx->db, txid, &t, &err);
	if (found == 0 && (reader = txn_reader_ok(ctx, op, &t, &err)) == -1)
		found = -1;
	if (found == -1) {
		log_warnx("%s txid=%s: database: %s", op->peer, txid, err.msg);
		enroll_op_http(op, 503, "try again later\n");
	} else if (found == 1) {
		/* RFC 8894 4.4: a poll must match an earlier request. */
		log_info("%s txid=%s: CertPoll for an unknown transaction",
		    op->peer, txid);
		enroll_op_fail(op, SCEP_FAIL_BADCERTID, "unknown transaction");
	} else if (reader == 0) {
		log_info("%s txid=%s: CertPoll signed by a key other than the "
			 "request's; refused",
		    op->peer, txid);
		enroll_op_fail(op, SCEP_FAIL_BADCERTID, "unknown transaction");
	} else {
		op_from_txn(op, &t);
	}
	db_txn_cleanup(&t);
}

/*
 * GetCert (RFC 8894 3.3.4): a certificate issued through this gateway,
 * by issuer and serial number; anything else is badCertId.
 */
static void
enroll_getcert(struct gw_ctx *ctx, struct enroll_op *op)
{
	const X509_NAME *issuer = scep_msg_get0_issuer(op->msg);
	const unsigned char *p;
	struct db_cert c;
	struct gw_err err;
	char serial[80];
	X509 *x = NULL;
	int found = 1;

	memset(&c, 0, sizeof(c));
	if (enroll_serial_hex(scep_msg_get0_serial(op->msg), serial,
		sizeof(serial)) == 0)
		found = db_cert_get(ctx->db, serial, &c, &err);
	if (found == -1) {
		log_warnx("%s GetCert: database: %s", op->peer, err.msg);
		enroll_op_http(op, 503, "try again later\n");
		goto out;
	}
	p = c.der;
	if (found == 0)
		x = d2i_X509(NULL, &p, (long)c.der_len);
	if (x == NULL || issuer == NULL ||
	    X509_NAME_cmp(X509_get_issuer_name(x), issuer) != 0) {
		log_info(
		    "%s GetCert: no certificate serial=%s from that issuer",
		    op->peer, found == 0 ? serial : "?");
		enroll_op_fail(op, SCEP_FAIL_BADCERTID, "unknown certificate");
		goto out;
	}
	/* Only the holder of the certificate's key may fetch it. */
	if (!gw_x509_has_key(x,
		X509_get0_pubkey(scep_msg_get0_signer_keyed(op->msg)))) {
		log_info("%s GetCert: serial=%s asked for by a signer without "
			 "its key; refused",
		    op->peer, serial);
		enroll_op_fail(op, SCEP_FAIL_BADCERTID, "unknown certificate");
		goto out;
	}
	log_info("%s GetCert: serial=%s", op->peer, serial);
	op->cert = x;
	x = NULL;
	op->status = SCEP_STATUS_SUCCESS;
out:
	X509_free(x);
	db_cert_cleanup(&c);
}

/* The short text sent for a failInfo found while decoding. */
static const char *
decode_fail_text(int code)
{
	switch (code) {
	case SCEP_FAIL_BADALG:
		return "algorithm not allowed";
	case SCEP_FAIL_BADMESSAGECHECK:
		return "message check failed";
	case SCEP_FAIL_BADTIME:
		return "bad time";
	case SCEP_FAIL_BADCERTID:
		return "unknown certificate";
	default:
		return "bad request";
	}
}

/*
 * Handles one PKIOperation. Returns 0 when op->reply is ready, or 1 when
 * an order is in flight: op->resume will be called once, from another
 * thread, and the caller then calls enroll_finish() to build the reply.
 */
int
enroll_pkioperation(struct gw_ctx *ctx, struct enroll_op *op,
    const uint8_t *der, size_t len)
{
	struct gw_err err;
	const char *txid;
	int type;

	ERR_clear_error();
	if (scep_msg_parse(&op->msg, der, len, &err) == -1) {
		log_info("%s PKIOperation: not a SCEP message: %s", op->peer,
		    err.msg);
		enroll_op_http(op, 400, "not a SCEP pkiMessage\n");
		return 0;
	}
	txid = scep_msg_txid(op->msg);
	type = scep_msg_type(op->msg);
	log_debug("%s txid=%s: %s", op->peer, txid, scep_msgtype_name(type));
	if (scep_msg_verify(op->msg, &err) == -1 ||
	    scep_msg_decrypt(op->msg, ctx->ra, &ctx->pol, &err) == -1) {
		log_info("%s txid=%s: %s refused (%s): %s", op->peer, txid,
		    scep_msgtype_name(type),
		    scep_fail_name((enum scep_fail)err.code), err.msg);
		enroll_op_fail(op, (enum scep_fail)err.code,
		    decode_fail_text(err.code));
		enroll_finish(ctx, op);
		return 0;
	}
	switch (type) {
	case SCEP_MT_PKCSREQ:
	case SCEP_MT_RENEWALREQ:
		if (enroll_pkcsreq(ctx, op) == 1)
			return 1;
		break;
	case SCEP_MT_CERTPOLL:
		enroll_certpoll(ctx, op);
		break;
	case SCEP_MT_GETCERT:
		enroll_getcert(ctx, op);
		break;
	case SCEP_MT_GETCRL:
		enroll_getcrl(ctx, op);
		break;
	default:
		log_info("%s txid=%s: %s is not supported", op->peer, txid,
		    scep_msgtype_name(type));
		enroll_op_fail(op, SCEP_FAIL_BADREQUEST,
		    "operation not supported");
		break;
	}
	if (!op->done)
		enroll_finish(ctx, op);
	return 0;
}

/*
 * Frees what an op holds. Only for an op no order is attached to
 * (op->job == NULL): the HTTP layer frees a request after it was resumed.
 */
void
enroll_op_cleanup(struct enroll_op *op)
{
	scep_msg_free(op->msg);
	op->msg = NULL;
	X509_free(op->cert);
	op->cert = NULL;
	free(op->reply.body);
	op->reply.body = NULL;
}

/* The timer thread: answers PENDING for jobs past their deadline. */
static void *
enroll_timer(void *arg)
{
	struct enroll *e = arg;
	struct enroll_job *j;
	struct enroll_op *op;
	struct timespec now, dl;

	gw_thread_name("scepgw-pending");
	pthread_mutex_lock(&e->mu);
	while (!e->stop) {
		if (e->head == NULL) {
			pthread_cond_wait(&e->timer_cv, &e->mu);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		j = e->head;
		if (now.tv_sec < j->deadline.tv_sec ||
		    (now.tv_sec == j->deadline.tv_sec &&
			now.tv_nsec < j->deadline.tv_nsec)) {
			/* A copy: the job may be freed while we wait. */
			dl = j->deadline;
			pthread_cond_timedwait(&e->timer_cv, &e->mu, &dl);
			continue;
		}
		job_unqueue(e, j);
		enroll_changed(e);
		op = j->op;
		j->op = NULL;
		if (op == NULL)
			continue;
		op->job = NULL;
		op->status = SCEP_STATUS_PENDING;
		log_info("%s txid=%s: GlobalSign is slow; PENDING, the order "
			 "continues in the background",
		    op->peer, j->txid);
		pthread_mutex_unlock(&e->mu);
		op->resume(op->resume_arg);
		pthread_mutex_lock(&e->mu);
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

/* Creates the in-flight registry and starts its timer thread. */
int
enroll_new(struct enroll **out, struct gw_ctx *ctx, struct gw_err *err)
{
	pthread_condattr_t ca;
	struct enroll *e;

	*out = NULL;
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		gw_err_set(err, ENOMEM, "out of memory");
		return -1;
	}
	e->ctx = ctx;
	pthread_mutex_init(&e->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&e->timer_cv, &ca);
	pthread_cond_init(&e->drain_cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&e->timer, NULL, enroll_timer, e) != 0) {
		gw_err_set(err, errno, "cannot start the PENDING timer");
		enroll_free(e);
		return -1;
	}
	e->timer_started = true;
	*out = e;
	return 0;
}

/* Orders sent upstream and not answered yet. */
size_t
enroll_inflight(struct enroll *e)
{
	size_t n;

	pthread_mutex_lock(&e->mu);
	n = e->inflight;
	pthread_mutex_unlock(&e->mu);
	return n;
}

/*
 * Waits until no request waits for its transaction to be recorded or is
 * attached to an order (each is answered by its PENDING deadline at the
 * latest), then up to max_wait_s for the orders themselves to end, so
 * that few are left for reconciliation.
 */
void
enroll_drain(struct enroll *e, long max_wait_s)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += max_wait_s;
	pthread_mutex_lock(&e->mu);
	e->draining++;
	while (e->head != NULL || e->starting > 0)
		pthread_cond_wait(&e->drain_cv, &e->mu);
	while (e->inflight > 0 &&
	    pthread_cond_timedwait(&e->drain_cv, &e->mu, &until) != ETIMEDOUT)
		;
	e->draining--;
	pthread_mutex_unlock(&e->mu);
}

/* Stops the timer; call after the EPKI client has ended every order. */
void
enroll_free(struct enroll *e)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&e->mu);
	e->stop = true;
	pthread_cond_signal(&e->timer_cv);
	pthread_mutex_unlock(&e->mu);
	if (e->timer_started)
		pthread_join(e->timer, NULL);
	pthread_cond_destroy(&e->timer_cv);
	pthread_cond_destroy(&e->drain_cv);
	pthread_mutex_destroy(&e->mu);
	free(e);
}
