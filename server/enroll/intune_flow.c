/*
 * Microsoft Intune on a profile with `challenge = intune` (README
 * "Microsoft Intune"): Intune validates every request before anything is
 * recorded or ordered; once GlobalSign has issued, Intune is told of the
 * certificate (successNotification) before the device gets it, and of a
 * final failure after a successful validation (failureNotification).
 * Every call runs on the Intune client's thread; its callback hands the
 * result back here the way the EPKI callbacks do. What Intune has heard
 * is recorded with the transaction (db.h enum db_intune), so a PENDING
 * order, a CertPoll, a restart or the reconciler still sends each
 * notification, once, and no certificate reaches a device before Intune
 * accepted its notification.
 */
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "config.h"
#include "db.h"
#include "enroll_int.h"
#include "enroll.h"
#include "gw.h"
#include "gw_err.h"
#include "intune.h"
#include "log.h"
#include "ratelimit.h"
#include "scep.h"
#include "secure.h"

/*
 * The HRESULT of a failureNotification after GlobalSign refused the order
 * (README "Microsoft Intune"): 0xA0000001, severity and customer bits
 * set, sent as the signed 32-bit value Microsoft's own samples send.
 */
#define HRESULT_EPKI_REFUSED (-1610612735L)

/* A transaction whose notification this process is sending outside an
 * order (a CertPoll, the reconciler): under e->mu. */
struct enroll_claim {
	char *txid;
	struct enroll_claim *next;
};

/* Whether p's requests are validated by Intune (challenge = intune). */
bool
enroll_is_intune(const struct gw_profile *p)
{
	return p != NULL && p->challenge == GW_CHAL_INTUNE;
}

/*
 * Claims txid's notification for this thread: false when an order for it
 * is in flight (that order notifies) or another poll or the reconciler
 * is notifying it already.
 */
static bool
claim_take(struct enroll *e, const char *txid)
{
	struct enroll_claim *c;
	struct enroll_job *j;
	bool ok = true;

	pthread_mutex_lock(&e->mu);
	for (j = e->all; j != NULL && ok; j = j->all_next)
		ok = strcmp(j->txid, txid) != 0;
	for (c = e->notifying; c != NULL && ok; c = c->next)
		ok = strcmp(c->txid, txid) != 0;
	if (ok &&
	    ((c = calloc(1, sizeof(*c))) == NULL ||
		(c->txid = gw_strdup(txid)) == NULL)) {
		free(c);
		ok = false;
	}
	if (ok) {
		c->next = e->notifying;
		e->notifying = c;
	}
	pthread_mutex_unlock(&e->mu);
	return ok;
}

static void
claim_drop(struct enroll *e, const char *txid)
{
	struct enroll_claim **pp, *c;

	pthread_mutex_lock(&e->mu);
	for (pp = &e->notifying; (c = *pp) != NULL; pp = &c->next)
		if (strcmp(c->txid, txid) == 0) {
			*pp = c->next;
			free(c->txid);
			free(c);
			break;
		}
	pthread_mutex_unlock(&e->mu);
}

void
enroll_claims_free(struct enroll *e)
{
	struct enroll_claim *c;

	while ((c = e->notifying) != NULL) {
		e->notifying = c->next;
		free(c->txid);
		free(c);
	}
}

/*
 * Claims the sending of txid's notification in the database, for every
 * gateway sharing it (db_txn_claim_intune()); held for one Intune call
 * and a margin, so a crashed sender's claim expires. Returns 0 claimed,
 * 1 when another sender holds it (or nothing is left to send), -1 on a
 * database error (logged).
 */
static int
db_claim(struct gw_ctx *ctx, const char *txid)
{
	const struct gw_intune_conf *ic = config_intune(ctx->cfg);
	struct gw_err err;
	int rc;

	rc = db_txn_claim_intune(ctx->db, txid, enroll_now(),
	    (int)(ic != NULL ? ic->timeout_seconds : 30) + 5, &err);
	if (rc == -1)
		log_ev(LOG_WARNING, "db.error", LOG_F(.txid = txid),
		    "txid=%s: database: %s", txid, err.msg);
	else if (rc == 1)
		log_ev(LOG_INFO, "intune", LOG_F(.txid = txid),
		    "txid=%s: Intune's notification is being sent "
		    "elsewhere",
		    txid);
	return rc;
}

/* Ends this sender's claim: the notification was not recorded. */
static void
db_unclaim(struct gw_ctx *ctx, const char *txid)
{
	struct gw_err err;

	if (db_txn_unclaim_intune(ctx->db, txid, &err) == -1)
		log_ev(LOG_WARNING, "db.error", LOG_F(.txid = txid),
		    "txid=%s: database: %s", txid, err.msg);
}

/* One more (or one less) request waiting on Intune, for enroll_drain(). */
static void
waiting_add(struct enroll *e, int d)
{
	pthread_mutex_lock(&e->mu);
	if (d > 0)
		e->starting++;
	else {
		e->starting--;
		enroll_changed(e);
	}
	pthread_mutex_unlock(&e->mu);
}

/* Logs what Intune answered, never more than it said. */
static void
result_log(const char *peer, const char *txid, const char *what,
    const struct intune_result *r)
{
	const char *verdict = r->outcome == INTUNE_OK ? "accepted" :
	    r->outcome == INTUNE_REFUSED	      ? "refused" :
							"unavailable";

	log_ev(LOG_INFO,
	    strcmp(what, "validateRequest") == 0 ? "intune.validate" :
						   "intune.notify",
	    LOG_F(.txid = txid, .peer = peer[0] != '\0' ? peer : NULL,
		.status = verdict),
	    "%s%stxid=%s: Intune %s: %s: code=%s http=%ld activity=%s: %s",
	    peer, peer[0] != '\0' ? " " : "", txid, what, verdict,
	    r->code[0] != '\0' ? r->code : "-", r->http_status,
	    r->activity_id[0] != '\0' ? r->activity_id : "-", r->description);
}

/*
 * validateRequest's answer (the Intune client's thread): only Success
 * admits the request, which is then recorded and ordered as any other;
 * a refusal is FAILURE badRequest and counts against the address's
 * failure limit as a wrong challenge does; no failureNotification
 * follows a failed validation (README "Microsoft Intune").
 */
static void
validate_done(void *arg, const struct intune_result *r)
{
	struct start_job *s = arg;
	struct gw_ctx *ctx = s->ctx;
	struct enroll *e = ctx->enroll;
	struct enroll_op *op = s->op;

	result_log(op->peer, s->n.txid, "validateRequest", r);
	if (r->outcome == INTUNE_OK) {
		s->n.intune_csr = s->icsr;
		s->n.intune_csr_len = s->icsr_len;
		if (enroll_start_submit(s) == 0)
			op->resume(op->resume_arg);
	} else {
		/* A refusal counts as a wrong challenge would; Intune
		 * unreachable is no guess at one. */
		if (r->outcome == INTUNE_REFUSED && ctx->rl != NULL)
			ratelimit_fail(ctx->rl, op->peer, enroll_now());
		enroll_op_refuse(op, SCEP_FAIL_BADREQUEST,
		    r->outcome == INTUNE_REFUSED ?
			"challenge password refused by Intune" :
			"Intune could not validate the request; try again "
			"later",
		    r->outcome == INTUNE_REFUSED ?
			"Intune's validateRequest refused the challenge" :
			"Intune could not validate the request");
		enroll_start_job_free(s);
		op->resume(op->resume_arg);
	}
	waiting_add(e, -1);
}

/*
 * Sends s's request, the DER CSR as received, to Intune's validateRequest
 * before anything is recorded or ordered. Returns 1 (op->resume will be
 * called), or 0 with op's answer set. s is consumed.
 */
int
enroll_intune_validate(struct start_job *s)
{
	struct gw_ctx *ctx = s->ctx;
	struct enroll_op *op = s->op;
	unsigned char *der = NULL;
	struct gw_err err;
	int n;

	/* i2d of a parsed request gives back the DER it was read from. */
	n = i2d_X509_REQ(scep_msg_get0_csr(op->msg), &der);
	if (n <= 0 || (s->icsr = malloc((size_t)n)) == NULL) {
		OPENSSL_free(der);
		ERR_clear_error();
		log_ev(LOG_WARNING, "intune",
		    LOG_F(.peer = op->peer, .txid = s->n.txid,
			.http_status = 503),
		    "%s txid=%s: cannot encode the CSR for Intune", op->peer,
		    s->n.txid);
		enroll_op_http(op, 503, "try again later\n");
		goto fail;
	}
	memcpy(s->icsr, der, (size_t)n);
	s->icsr_len = (size_t)n;
	OPENSSL_free(der);
	if (ctx->intune == NULL) {
		log_ev(LOG_WARNING, "enroll.refused",
		    LOG_F(.peer = op->peer, .txid = s->n.txid,
			.fail_info = scep_fail_name(SCEP_FAIL_BADREQUEST),
			.reason =
			    "Intune could not validate the request; try again later"),
		    "%s txid=%s: profile %s has challenge = intune, but "
		    "the Intune client is not running",
		    op->peer, s->n.txid, enroll_op_profile(ctx, op)->name);
		enroll_op_fail(op, SCEP_FAIL_BADREQUEST,
		    "Intune could not validate the request; try again later");
		goto fail;
	}
	waiting_add(ctx->enroll, 1);
	if (intune_validate_submit(ctx->intune, s->n.txid, s->icsr, s->icsr_len,
		validate_done, s, &err) == 0)
		return 1;
	waiting_add(ctx->enroll, -1);
	log_ev(LOG_WARNING, "enroll.refused",
	    LOG_F(.peer = op->peer, .txid = s->n.txid,
		.fail_info = scep_fail_name(SCEP_FAIL_BADREQUEST),
		.reason =
		    "Intune could not validate the request; try again later"),
	    "%s txid=%s: cannot ask Intune: %s", op->peer, s->n.txid, err.msg);
	enroll_op_fail(op, SCEP_FAIL_BADREQUEST,
	    "Intune could not validate the request; try again later");
fail:
	enroll_start_job_free(s);
	return 0;
}

/* A notification on its way: an order's (j), a CertPoll's (op), or
 * neither. */
struct inote {
	struct gw_ctx *ctx;
	struct enroll_job *j;
	struct enroll_op *op;
	char *txid;
	X509 *cert;	/* success: the certificate, for the device */
	char text[128]; /* failure: what the device is told */
};

static void
inote_free(struct inote *n)
{
	if (n == NULL)
		return;
	X509_free(n->cert);
	free(n->txid);
	free(n);
}

/* Logs what a successNotification told Intune of cert, as it sent it. */
static void
facts_log(const char *txid, const X509 *cert)
{
	char thumb[41], serial[80], expiry[32], issuer[256];

	if (intune_cert_facts(cert, thumb, serial, sizeof(serial), expiry,
		issuer, sizeof(issuer)) == 0)
		log_ev(LOG_INFO, "intune.notified",
		    LOG_F(.txid = txid, .serial = serial),
		    "txid=%s: Intune was told of thumbprint=%s serial=%s "
		    "expiry=%s",
		    txid, thumb, serial, expiry);
}

/* Records what Intune heard; a failed write is logged (the poll or the
 * reconciler would then notify again: Intune takes a repeat). */
static void
intune_record(struct gw_ctx *ctx, const char *txid, enum db_intune to)
{
	struct gw_err err;

	if (db_txn_set_intune(ctx->db, txid, to, enroll_now(), &err) == -1)
		log_ev(LOG_WARNING, "intune", LOG_F(.txid = txid),
		    "txid=%s: cannot record Intune's state: %s", txid, err.msg);
}

/*
 * successNotification's answer: only Success lets the certificate go to
 * the device; otherwise it stays recorded, the device gets PENDING, and
 * the next CertPoll or the reconciler sends the notification again.
 */
static void
success_done(void *arg, const struct intune_result *r)
{
	struct inote *n = arg;
	struct gw_ctx *ctx = n->ctx;
	struct enroll_op *op = n->op;
	X509 *cert = NULL;

	result_log(op != NULL ? op->peer : "", n->txid, "successNotification",
	    r);
	if (r->outcome == INTUNE_OK) {
		intune_record(ctx, n->txid, DB_INTUNE_NOTIFIED);
		facts_log(n->txid, n->cert);
		cert = n->cert;
		n->cert = NULL;
	} else {
		db_unclaim(ctx, n->txid);
		log_ev(LOG_WARNING, "intune", LOG_F(.txid = n->txid),
		    "txid=%s: the certificate is kept and the device "
		    "gets PENDING until Intune accepts its "
		    "notification",
		    n->txid);
	}
	if (n->j != NULL) {
		enroll_job_deliver(n->j,
		    cert != NULL ? SCEP_STATUS_SUCCESS : SCEP_STATUS_PENDING, 0,
		    NULL, cert);
	} else if (op != NULL) {
		op->status =
		    cert != NULL ? SCEP_STATUS_SUCCESS : SCEP_STATUS_PENDING;
		op->cert = cert;
		claim_drop(ctx->enroll, n->txid);
		op->resume(op->resume_arg);
		waiting_add(ctx->enroll, -1);
	}
	inote_free(n);
}

/*
 * An Intune order's certificate, stored: Intune hears of it before the
 * device (README "Microsoft Intune"). Takes cert; delivers j once Intune
 * answered (PENDING unless it accepted).
 */
void
enroll_intune_success(struct enroll_job *j, X509 *cert)
{
	struct gw_ctx *ctx = j->e->ctx;
	struct inote *n;
	struct gw_err err;

	gw_err_set(&err, 0, "out of memory");
	if ((n = calloc(1, sizeof(*n))) == NULL ||
	    (n->txid = gw_strdup(j->txid)) == NULL)
		goto fail;
	n->ctx = ctx;
	n->j = j;
	n->cert = cert;
	cert = NULL;
	if (ctx->intune == NULL)
		gw_err_set(&err, 0, "the Intune client is not running");
	else if (db_claim(ctx, j->txid) != 0)
		gw_err_set(&err, 0, "not claimed");
	else if (intune_success_submit(ctx->intune, j->txid, j->icsr,
		     j->icsr_len, n->cert, success_done, n, &err) == 0)
		return;
	else
		db_unclaim(ctx, j->txid);
fail:
	log_ev(LOG_WARNING, "intune", LOG_F(.txid = j->txid),
	    "txid=%s: cannot send Intune's success notification: %s; "
	    "the device gets PENDING, the notification is sent later",
	    j->txid, err.msg);
	X509_free(cert);
	inote_free(n);
	enroll_job_deliver(j, SCEP_STATUS_PENDING, 0, NULL, NULL);
}

/* failureNotification's answer; the device gets FAILURE whatever it is. */
static void
failure_done(void *arg, const struct intune_result *r)
{
	struct inote *n = arg;

	result_log("", n->txid, "failureNotification", r);
	/* Unreachable: left VALIDATED, the reconciler tries again. */
	if (r->outcome == INTUNE_UNAVAILABLE)
		db_unclaim(n->ctx, n->txid);
	else
		intune_record(n->ctx, n->txid,
		    r->outcome == INTUNE_OK ? DB_INTUNE_FAILURE_SENT :
					      DB_INTUNE_FAILURE_UNSENT);
	enroll_job_deliver(n->j, SCEP_STATUS_FAILURE, SCEP_FAIL_BADREQUEST,
	    n->text, NULL);
	inote_free(n);
}

/* The failureNotification's text for a transaction that failed with the
 * device's text and GlobalSign's ErrorCode (0: none); no secret in it. */
static void
failure_text(char *out, size_t len, const char *text, int epki_code)
{
	if (epki_code != 0)
		snprintf(out, len,
		    "scepgw: GlobalSign EPKI did not issue: %s (ErrorCode %d)",
		    text, epki_code);
	else
		snprintf(out, len, "scepgw: GlobalSign EPKI did not issue: %s",
		    text);
}

/*
 * An Intune order that failed for good after Intune validated it: one
 * failureNotification, then FAILURE to the device with text.
 */
void
enroll_intune_failure(struct enroll_job *j, const char *text, int epki_code)
{
	struct gw_ctx *ctx = j->e->ctx;
	struct inote *n;
	struct gw_err err;
	char desc[256];

	if (text == NULL)
		text = "the CA refused the request";
	gw_err_set(&err, 0, "out of memory");
	if ((n = calloc(1, sizeof(*n))) == NULL ||
	    (n->txid = gw_strdup(j->txid)) == NULL)
		goto fail;
	n->ctx = ctx;
	n->j = j;
	snprintf(n->text, sizeof(n->text), "%s", text);
	failure_text(desc, sizeof(desc), text, epki_code);
	if (ctx->intune == NULL)
		gw_err_set(&err, 0, "the Intune client is not running");
	else if (db_claim(ctx, j->txid) != 0)
		gw_err_set(&err, 0, "not claimed");
	else if (intune_failure_submit(ctx->intune, j->txid, j->icsr,
		     j->icsr_len, HRESULT_EPKI_REFUSED, desc, failure_done, n,
		     &err) == 0)
		return;
	else
		db_unclaim(ctx, j->txid);
fail:
	log_ev(LOG_WARNING, "intune", LOG_F(.txid = j->txid),
	    "txid=%s: cannot send Intune's failure notification: %s; "
	    "the reconciler sends it later",
	    j->txid, err.msg);
	inote_free(n);
	enroll_job_deliver(j, SCEP_STATUS_FAILURE, SCEP_FAIL_BADREQUEST, text,
	    NULL);
}

/*
 * CertPoll (or a retry) of an ISSUED transaction Intune has not heard of
 * (README "Microsoft Intune"): the notification is sent again, and the
 * device gets the certificate only if Intune accepts it. Returns 1 when
 * op waits for that, 0 when op holds PENDING (an order or another poll is
 * notifying it already).
 */
int
enroll_intune_poll(struct gw_ctx *ctx, struct enroll_op *op,
    const struct db_txn *t)
{
	const unsigned char *p = t->cert_der;
	struct inote *n = NULL;
	struct gw_err err;

	op->status = SCEP_STATUS_PENDING;
	if (ctx->intune == NULL || t->intune_csr == NULL ||
	    !claim_take(ctx->enroll, t->txid)) {
		log_ev(LOG_INFO, "intune",
		    LOG_F(.peer = op->peer, .txid = t->txid),
		    "%s txid=%s: issued; PENDING until Intune accepts "
		    "its notification",
		    op->peer, t->txid);
		return 0;
	}
	if (db_claim(ctx, t->txid) != 0) {
		claim_drop(ctx->enroll, t->txid);
		return 0;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL ||
	    (n->txid = gw_strdup(t->txid)) == NULL ||
	    (n->cert = d2i_X509(NULL, &p, (long)t->cert_len)) == NULL) {
		ERR_clear_error();
		log_ev(LOG_WARNING, "intune",
		    LOG_F(.peer = op->peer, .txid = t->txid),
		    "%s txid=%s: cannot read the stored certificate", op->peer,
		    t->txid);
		goto out;
	}
	n->ctx = ctx;
	n->op = op;
	log_ev(LOG_INFO, "intune", LOG_F(.peer = op->peer, .txid = t->txid),
	    "%s txid=%s: issued; telling Intune before delivering it", op->peer,
	    t->txid);
	waiting_add(ctx->enroll, 1);
	if (intune_success_submit(ctx->intune, t->txid, t->intune_csr,
		t->intune_csr_len, n->cert, success_done, n, &err) == 0)
		return 1;
	waiting_add(ctx->enroll, -1);
	log_ev(LOG_WARNING, "intune", LOG_F(.peer = op->peer, .txid = t->txid),
	    "%s txid=%s: cannot send Intune's success notification: %s",
	    op->peer, t->txid, err.msg);
out:
	db_unclaim(ctx, t->txid);
	claim_drop(ctx->enroll, t->txid);
	inote_free(n);
	return 0;
}

/* What the reconciler's pass needs. */
struct irec {
	struct gw_ctx *ctx;
	bool (*stopping)(void *arg);
	void *arg;
};

/*
 * The transactionID Intune knows t by: a failed transaction whose ID a
 * new request took over was archived as "TXID@ROWID" (db_txn_archive()),
 * Intune validated it as TXID.
 */
static void
intune_txid(const struct db_txn *t, char *out, size_t n)
{
	char tail[32];
	size_t len = strlen(t->txid), tl;

	tl = (size_t)snprintf(tail, sizeof(tail), "@%lld", (long long)t->id);
	if (len > tl && strcmp(t->txid + len - tl, tail) == 0)
		snprintf(out, n, "%.*s", (int)(len - tl), t->txid);
	else
		snprintf(out, n, "%s", t->txid);
}

/* Sends one leftover notification, blocking (the reconciler's thread). */
static void
reconcile_note(struct gw_ctx *ctx, const struct db_txn *t)
{
	const unsigned char *p = t->cert_der;
	struct intune_result r;
	char desc[256], txid[512];
	X509 *x;

	memset(&r, 0, sizeof(r));
	intune_txid(t, txid, sizeof(txid));
	if (t->state == DB_TXN_ISSUED) {
		if ((x = d2i_X509(NULL, &p, (long)t->cert_len)) == NULL) {
			ERR_clear_error();
			log_ev(LOG_WARNING, "intune", LOG_F(.txid = t->txid),
			    "txid=%s: cannot read the stored certificate "
			    "for Intune",
			    t->txid);
			return;
		}
		(void)intune_success_call(ctx->intune, txid, t->intune_csr,
		    t->intune_csr_len, x, &r);
		X509_free(x);
		result_log("", t->txid, "successNotification (reconciler)", &r);
		if (r.outcome == INTUNE_OK)
			intune_record(ctx, t->txid, DB_INTUNE_NOTIFIED);
		return;
	}
	failure_text(desc, sizeof(desc),
	    t->fail_text != NULL ? t->fail_text : "request failed",
	    t->epki_code);
	(void)intune_failure_call(ctx->intune, txid, t->intune_csr,
	    t->intune_csr_len, HRESULT_EPKI_REFUSED, desc, &r);
	result_log("", t->txid, "failureNotification (reconciler)", &r);
	if (r.outcome != INTUNE_UNAVAILABLE)
		intune_record(ctx, t->txid,
		    r.outcome == INTUNE_OK ? DB_INTUNE_FAILURE_SENT :
					     DB_INTUNE_FAILURE_UNSENT);
}

/* db_txn_list_intune() callback. */
static int
reconcile_one(void *arg, const struct db_txn *t)
{
	struct irec *ir = arg;

	if (ir->stopping(ir->arg))
		return 1;
	if (t->intune_csr == NULL || !claim_take(ir->ctx->enroll, t->txid))
		return 0;
	if (db_claim(ir->ctx, t->txid) == 0) {
		reconcile_note(ir->ctx, t);
		/* Recorded: the claim went with it; else it ends here. */
		db_unclaim(ir->ctx, t->txid);
	}
	claim_drop(ir->ctx->enroll, t->txid);
	return 0;
}

/*
 * The reconciler's pass (README "How an enrollment works" 7): every
 * final transaction Intune validated and has not heard the outcome of
 * gets its notification now, unless an order, a CertPoll or an earlier
 * pass is sending it. stopping(arg) ends the pass early.
 */
void
enroll_intune_reconcile(struct gw_ctx *ctx, bool (*stopping)(void *arg),
    void *arg)
{
	struct irec ir = { ctx, stopping, arg };
	struct gw_err err;

	if (ctx->intune == NULL || ctx->enroll == NULL)
		return;
	if (db_txn_list_intune(ctx->db, reconcile_one, &ir, &err) == -1)
		log_ev(LOG_WARNING, "db.error", NULL,
		    "reconciler: Intune notifications: database: %s", err.msg);
}
