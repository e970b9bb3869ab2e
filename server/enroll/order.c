/*
 * Order and wait: once admit.c has admitted a new request and decided its
 * identity, the challenge is consumed and the transaction recorded in one
 * SQLite transaction, then the certificate is ordered from GlobalSign.
 * The order runs on the EPKI client's thread; a timer thread answers
 * PENDING when GlobalSign takes longer than [scep] pending_after_seconds,
 * and the order then finishes in the background (deliver.c) for CertPoll
 * to pick up.
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
#include "log.h"
#include "pubkey.h"
#include "scep.h"
#include "secure.h"

/* Removes a job from the timer queue; caller holds e->mu. */
void
enroll_job_unqueue(struct enroll *e, struct enroll_job *j)
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
void
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
void
enroll_job_untrack(struct enroll *e, struct enroll_job *j)
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

void
enroll_job_free(struct enroll_job *j)
{
	if (j == NULL)
		return;
	EVP_PKEY_free(j->pub);
	free(j->txid);
	free(j->icsr);
	free(j);
}

/* Queues a job on the timer; caller holds e->mu. */
static void
job_queue(struct enroll *e, struct enroll_job *j)
{
	clock_gettime(CLOCK_MONOTONIC, &j->deadline);
	j->sent = j->deadline;
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
		log_ev(LOG_WARNING, "enroll", NULL,
		    "profile %s is no longer configured; using the "
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
	    (j->pub = scep_msg_get1_csr_key(op->msg)) == NULL ||
	    (t->intune_csr != NULL &&
		(j->icsr = malloc(t->intune_csr_len)) == NULL)) {
		enroll_job_free(j);
		log_ev(LOG_WARNING, "enroll", LOG_F(.txid = t->txid),
		    "txid=%s: out of memory; left for reconciliation", t->txid);
		op->status = SCEP_STATUS_PENDING;
		return 0;
	}
	if (j->icsr != NULL) {
		memcpy(j->icsr, t->intune_csr, t->intune_csr_len);
		j->icsr_len = t->intune_csr_len;
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
	log_ev(LOG_INFO, "epki.order",
	    LOG_F(.txid = t->txid, .peer = op->peer, .cn = t->cn,
		.profile = t->profile != NULL ? t->profile : "default"),
	    "%s txid=%s: ordering cn=\"%s\"%s%s%s%s", op->peer, t->txid, t->cn,
	    t->email != NULL ? " email=" : "", t->email != NULL ? t->email : "",
	    t->upn != NULL ? " upn=" : "", t->upn != NULL ? t->upn : "");
	if (epki_order_submit(&ctx->tr, &ctx->auth, &o, enroll_order_done, j,
		&err) == -1) {
		/* The order never left: the reconciler will place it. */
		log_ev(LOG_WARNING, "enroll", LOG_F(.txid = t->txid),
		    "txid=%s: cannot send order: %s", t->txid, err.msg);
		pthread_mutex_lock(&e->mu);
		/* A slow submit: enroll_timer() may have answered PENDING
		 * and resumed op already, which may then be gone. */
		taken = j->op != op;
		j->op = NULL;
		enroll_job_unqueue(e, j);
		enroll_job_untrack(e, j);
		enroll_changed(e);
		pthread_mutex_unlock(&e->mu);
		enroll_job_free(j);
		reconcile_kick(ctx->reconcile);
		if (taken)
			return 1;
		op->job = NULL;
		op->status = SCEP_STATUS_PENDING;
		return 0;
	}
	return 1;
}

void
enroll_start_job_free(struct start_job *s)
{
	if (s == NULL)
		return;
	gw_cleanse(s->chash, sizeof(s->chash));
	scep_csr_info_cleanup(&s->info);
	free(s->icsr);
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
		log_ev(LOG_WARNING, "db.error",
		    LOG_F(.peer = op->peer, .txid = txid, .http_status = 503),
		    "%s txid=%s: database: %s", op->peer, txid, dberr->msg);
		enroll_op_http(op, 503, "try again later\n");
		return 0;
	}
	if (res == DB_START_EXISTS) {
		/* A twin request won the race; answer as a retry of it. */
		if (enroll_answer_retry(op, t, &s->info, false) == RETRY_NEW)
			enroll_op_fail(op, SCEP_FAIL_BADREQUEST,
			    "transactionID busy; try again");
		return 0;
	}
	if (res == DB_START_RENEWED) {
		/* Another renewal of that certificate was recorded first. */
		log_ev(LOG_INFO, "renewal.refused",
		    LOG_F(.peer = op->peer, .txid = txid,
			.serial = s->id.serial,
			.fail_info = scep_fail_name(SCEP_FAIL_BADMESSAGECHECK),
			.reason =
			    "renewal must be signed by a valid certificate issued "
			    "through this gateway"),
		    "%s txid=%s: renewal refused: signer serial=%s: it "
		    "was renewed already, by a renewal recorded first",
		    op->peer, txid, s->id.serial);
		enroll_op_refuse(op, SCEP_FAIL_BADMESSAGECHECK,
		    "renewal must be signed by a valid certificate issued "
		    "through this gateway",
		    "the certificate was renewed already, by a renewal "
		    "recorded first");
		return 0;
	}
	if (res != DB_START_OK) {
		log_ev(LOG_INFO, "enroll.refused",
		    LOG_F(.peer = op->peer, .txid = txid,
			.fail_info = scep_fail_name(SCEP_FAIL_BADREQUEST),
			.reason = "invalid challenge password"),
		    "%s txid=%s: challenge refused: %s", op->peer, txid,
		    enroll_start_reason(res));
		enroll_op_refuse(op, SCEP_FAIL_BADREQUEST,
		    "invalid challenge password", enroll_start_reason(res));
		return 0;
	}
	if (t->cn == NULL || *t->cn == '\0') {
		log_ev(LOG_INFO, "enroll",
		    LOG_F(.peer = op->peer, .txid = txid),
		    "%s txid=%s: no common name in the certificate to "
		    "renew",
		    op->peer, txid);
		db_txn_set_failed(ctx->db, txid, SCEP_FAIL_BADREQUEST,
		    "no common name", enroll_now(), &err);
		enroll_op_fail(op, SCEP_FAIL_BADREQUEST, "no common name");
		return 0;
	}
	if (s->is_static && s->icsr == NULL)
		log_ev(LOG_INFO, "challenge.static",
		    LOG_F(.peer = op->peer, .txid = txid),
		    "%s txid=%s: static challenge of profile %s accepted",
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
	enroll_start_job_free(s);
}

/*
 * Records the transaction, consuming the challenge, without waiting for
 * the group commit: the HTTP thread goes back to other requests, and
 * start_done() carries on once the write is durable.
 * Returns as enroll_pkcsreq() does; s is consumed.
 */
int
enroll_start_submit(struct start_job *s)
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
	log_ev(LOG_WARNING, "db.error",
	    LOG_F(.peer = s->op->peer, .txid = s->n.txid),
	    "%s txid=%s: database: %s", s->op->peer, s->n.txid, err.msg);
	enroll_op_http(s->op, 503, "try again later\n");
	enroll_start_job_free(s);
	return 0;
}

/*
 * On an Intune profile, a CSR recorded already under another
 * transactionID (and not failed) is not validated and ordered again: the
 * same request resent (or signed again by someone else) within its
 * challenge's hour would get a second certificate for the same key
 * (README "Microsoft Intune", "Who may do what"). Returns 0 when it is
 * new, else 1 with op holding the FAILURE (or the 503).
 */
static int
intune_csr_seen(struct gw_ctx *ctx, struct enroll_op *op,
    const struct scep_csr_info *info)
{
	const char *txid = scep_msg_txid(op->msg);
	char other[256];
	struct gw_err err;
	int rc;

	rc = db_txn_find_csr(ctx->db, info->csr_sha256, other, sizeof(other),
	    &err);
	if (rc == -1) {
		log_ev(LOG_WARNING, "db.error",
		    LOG_F(.peer = op->peer, .txid = txid, .http_status = 503),
		    "%s txid=%s: database: %s", op->peer, txid, err.msg);
		enroll_op_http(op, 503, "try again later\n");
		return 1;
	}
	if (rc == 1 || strcmp(other, txid) == 0)
		return 0;
	log_ev(LOG_INFO, "enroll.refused",
	    LOG_F(.peer = op->peer, .txid = txid,
		.fail_info = scep_fail_name(SCEP_FAIL_BADREQUEST),
		.reason = "this request was received already under another "
			  "transactionID"),
	    "%s txid=%s: the same CSR was recorded already as txid=%s; "
	    "refused, Intune not asked",
	    op->peer, txid, other);
	enroll_op_fail(op, SCEP_FAIL_BADREQUEST,
	    "this request was received already under another "
	    "transactionID");
	return 1;
}

/*
 * PKCSReq and RenewalReq: a known transactionID is answered from the
 * database; a renewal is authenticated by its signer certificate; any
 * other request needs a challenge (enroll_admit). Then record, then order.
 * Returns 0 when op holds its answer, 1 when op->resume will be called.
 */
int
enroll_pkcsreq(struct gw_ctx *ctx, struct enroll_op *op)
{
	const char *txid = scep_msg_txid(op->msg);
	const struct gw_licence_pool *pool;
	bool intune = enroll_is_intune(enroll_op_profile(ctx, op));
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
		log_ev(LOG_INFO, "enroll.refused",
		    LOG_F(.peer = op->peer, .txid = txid,
			.fail_info = scep_fail_name(SCEP_FAIL_BADREQUEST),
			.reason = "certificate request not acceptable"),
		    "%s txid=%s: CSR refused: %s", op->peer, txid, err.msg);
		enroll_op_fail(op, SCEP_FAIL_BADREQUEST,
		    "certificate request not acceptable");
		goto out;
	}
	if (s->info.cn != NULL)
		snprintf(op->csr_cn, sizeof(op->csr_cn), "%s", s->info.cn);
	found = db_txn_get(ctx->db, txid, &t, &err);
	if (found == -1) {
		log_ev(LOG_WARNING, "db.error",
		    LOG_F(.peer = op->peer, .txid = txid, .http_status = 503),
		    "%s txid=%s: database: %s", op->peer, txid, err.msg);
		enroll_op_http(op, 503, "try again later\n");
		goto out;
	}
	if (found == 0 && memcmp(t.csr_sha256, s->info.csr_sha256, 32) == 0) {
		if ((reader = enroll_txn_reader_ok(ctx, op, &t, &err)) == -1) {
			log_ev(LOG_WARNING, "db.error",
			    LOG_F(.peer = op->peer, .txid = txid,
				.http_status = 503),
			    "%s txid=%s: database: %s", op->peer, txid,
			    err.msg);
			enroll_op_http(op, 503, "try again later\n");
			goto out;
		}
		if (reader == 1) {
			enroll_answer_retry(op, &t, &s->info, false);
			goto out;
		}
		log_ev(LOG_INFO, "enroll.refused",
		    LOG_F(.peer = op->peer, .txid = txid,
			.fail_info = scep_fail_name(SCEP_FAIL_BADCERTID),
			.reason = "unknown transaction"),
		    "%s txid=%s: resent request signed by a key other "
		    "than the original request's; refused",
		    op->peer, txid);
		enroll_op_fail(op, SCEP_FAIL_BADCERTID, "unknown transaction");
		goto out;
	}
	/* An Intune profile has no challenge-less renewal: every request
	 * is validated by Intune (README "Microsoft Intune"). */
	renewal = 0;
	if (enroll_csr_sans_check(op, txid, &s->info, intune) == -1 ||
	    (!intune && (renewal = enroll_renew_check(ctx, op, &s->id)) == -1))
		goto out;
	/* RFC 8894 2.3: a PKCSReq is signed with the key it certifies; on
	 * an Intune profile a renewal may be signed by the certificate it
	 * renews, one this gateway issued (enroll_intune_signer_ok()). */
	if (!renewal && !scep_msg_signer_matches_csr(op->msg)) {
		if (intune) {
			if (enroll_intune_signer_ok(ctx, op, s->id.serial,
				sizeof(s->id.serial)) != 1)
				goto out;
		} else {
			log_ev(LOG_INFO, "enroll.refused",
			    LOG_F(.peer = op->peer, .txid = txid,
				.fail_info =
				    scep_fail_name(SCEP_FAIL_BADMESSAGECHECK),
				.reason =
				    "the signer certificate must carry the request's "
				    "key"),
			    "%s txid=%s: PKCSReq signed by a key other "
			    "than the request's",
			    op->peer, txid);
			enroll_op_fail(op, SCEP_FAIL_BADMESSAGECHECK,
			    "the signer certificate must carry the request's "
			    "key");
			goto out;
		}
	}
	if (found == 0 &&
	    enroll_answer_retry(op, &t, &s->info,
		renewal == 1 && t.state == DB_TXN_ISSUED &&
		    enroll_signer_is(op, t.cert_der, t.cert_len)) ==
		RETRY_ANSWERED)
		goto out;
	archive = found == 0;
	archive_id = t.id;
	db_txn_cleanup(&t);
	if (!renewal && s->info.challenge == NULL) {
		log_ev(LOG_INFO, "enroll.refused",
		    LOG_F(.peer = op->peer, .txid = txid,
			.fail_info = scep_fail_name(SCEP_FAIL_BADREQUEST),
			.reason = "challenge password missing"),
		    "%s txid=%s: no challenge password in the CSR", op->peer,
		    txid);
		enroll_op_fail(op, SCEP_FAIL_BADREQUEST,
		    "challenge password missing");
		goto out;
	}
	if (intune) {
		if (intune_csr_seen(ctx, op, &s->info) != 0 ||
		    enroll_admit_intune(ctx, op, &s->info, &s->ident) == -1)
			goto out;
		s->is_static = true; /* no challenge of ours to consume */
	} else if (!renewal) {
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
	/* Intune, signed by the certificate it renews (Apple devices). */
	if (intune && s->id.serial[0] != '\0')
		s->n.renews = s->id.serial;
	pool = ctx->cfg != NULL ? config_licence_pool(ctx->cfg, s->n.profile) :
				  NULL;
	if (pool != NULL)
		s->n.licence_pool = pool->name;
	if (archive && db_txn_archive(ctx->db, txid, archive_id, &err) == -1) {
		log_ev(LOG_WARNING, "db.error",
		    LOG_F(.peer = op->peer, .txid = txid, .http_status = 503),
		    "%s txid=%s: database: %s", op->peer, txid, err.msg);
		enroll_op_http(op, 503, "try again later\n");
		goto out;
	}
	if (intune)
		return enroll_intune_validate(s);
	return enroll_start_submit(s);
out:
	db_txn_cleanup(&t);
	enroll_start_job_free(s);
	return 0;
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
		enroll_job_unqueue(e, j);
		enroll_changed(e);
		op = j->op;
		j->op = NULL;
		if (op == NULL)
			continue;
		op->job = NULL;
		op->status = SCEP_STATUS_PENDING;
		log_ev(LOG_INFO, "enroll.pending",
		    LOG_F(.peer = op->peer, .txid = j->txid),
		    "%s txid=%s: GlobalSign is slow; PENDING, the order "
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
	enroll_claims_free(e);
	pthread_cond_destroy(&e->timer_cv);
	pthread_cond_destroy(&e->drain_cv);
	pthread_mutex_destroy(&e->mu);
	free(e);
}
