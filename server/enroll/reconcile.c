/*
 * The reconciler: finishes every transaction left `ordering` — by a
 * timeout, a transport error, a transient GlobalSign error, or a crash —
 * without ever paying for a certificate twice (README "How an enrollment
 * works" 7). For each such transaction not in flight in this process it
 * looks the order up first (GetOrderByOrderId when the OrderID is known,
 * then GetOrders by CommonName and request date, matching the certificate
 * by the CSR's public key), and orders again only when GlobalSign has no
 * such order and the original call can no longer be running. Transient
 * trouble backs off exponentially per transaction. One thread, blocking
 * calls: a few calls at a time is all GlobalSign should see from recovery.
 * Each round first takes over the transactions of dead incarnations, then
 * works on this incarnation's own; an order is placed again only while
 * the order gate is open (db_lease.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "buf.h"
#include "config.h"
#include "db.h"
#include "db_lease.h"
#include "epki.h"
#include "enroll.h"
#include "gw.h"
#include "gw_err.h"
#include "gw_thread.h"
#include "log.h"
#include "pubkey.h"
#include "secure.h"

#define BACKOFF_MAX 300 /* seconds between tries of one transaction */
#define KICK_GAP_S 1	/* at least this between rounds a kick starts */
#define CLAIM_MAX 100	/* orphans taken over per claim */
#define CLAIM_FROM 8	/* dead incarnations named per round */

/* Per-transaction retry state, private to the reconciler thread. */
struct backoff {
	char *txid;
	int64_t next_try; /* unix seconds */
	int64_t delay;	  /* seconds until the next try after this one */
	unsigned round;	  /* last round that saw the transaction */
	struct backoff *next;
};

struct reconcile {
	struct gw_ctx *ctx;
	struct epki_client_opts opts;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	bool kicked; /* reconcile_kick() since the last round began */
	unsigned round;
	struct backoff *backoffs;
};

/* What a lookup at GlobalSign found. */
enum lookup {
	LOOKUP_STORED,	/* the certificate was found and stored */
	LOOKUP_REFUSED, /* it was found, untrusted: the transaction failed */
	LOOKUP_NONE,	/* GlobalSign has no order for this request */
	LOOKUP_RETRY,	/* no answer we can rely on: try later */
};

static int64_t
now_seconds(void)
{
	return (int64_t)time(NULL);
}

static bool
reconcile_stopping(struct reconcile *r)
{
	bool stop;

	pthread_mutex_lock(&r->mu);
	stop = r->stop;
	pthread_mutex_unlock(&r->mu);
	return stop;
}

static bool
stopping_fn(void *arg)
{
	return reconcile_stopping(arg);
}

/* The backoff entry of txid, made on first use; NULL without memory. */
static struct backoff *
backoff_get(struct reconcile *r, const char *txid)
{
	struct backoff *b;

	for (b = r->backoffs; b != NULL; b = b->next)
		if (strcmp(b->txid, txid) == 0)
			return b;
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->txid = gw_strdup(txid)) == NULL) {
		free(b);
		return NULL;
	}
	b->delay = r->ctx->cfg->epki_reconcile_seconds < 5 ?
	    r->ctx->cfg->epki_reconcile_seconds :
	    5;
	b->next = r->backoffs;
	r->backoffs = b;
	return b;
}

/* Schedules the next try of a transaction, doubling its delay. */
static void
backoff_later(struct backoff *b)
{
	b->next_try = now_seconds() + b->delay;
	b->delay = b->delay * 2 > BACKOFF_MAX ? BACKOFF_MAX : b->delay * 2;
}

/* Forgets transactions the last round no longer saw (they are final). */
static void
backoff_prune(struct reconcile *r)
{
	struct backoff **pp = &r->backoffs, *b;

	while ((b = *pp) != NULL) {
		if (b->round == r->round) {
			pp = &b->next;
			continue;
		}
		*pp = b->next;
		free(b->txid);
		free(b);
	}
}

/* A stored CSR, parsed; caller frees. NULL if unreadable. */
static X509_REQ *
csr_read(const char *pem)
{
	X509_REQ *req = NULL;
	BIO *b;

	if (pem == NULL || (b = BIO_new_mem_buf(pem, -1)) == NULL)
		return NULL;
	req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	BIO_free(b);
	ERR_clear_error();
	return req;
}

/* The public key of a stored CSR; caller frees. NULL if unreadable. */
static EVP_PKEY *
csr_pubkey(const char *pem)
{
	X509_REQ *req;
	EVP_PKEY *pub = NULL;

	if ((req = csr_read(pem)) != NULL)
		pub = X509_REQ_get_pubkey(req);
	X509_REQ_free(req);
	return pub;
}

/* The certificate of certs whose key is pub, or NULL. */
static const X509 *
certs_find_key(const STACK_OF(X509) *certs, const EVP_PKEY *pub)
{
	const X509 *x;
	int i;

	for (i = 0; i < sk_X509_num(certs); i++) {
		x = sk_X509_value(certs, i);
		if (gw_x509_has_key(x, pub))
			return x;
	}
	return NULL;
}

/*
 * Stores leaf for t once it chains to [ra] ca_chain; LOOKUP_STORED,
 * LOOKUP_REFUSED when it does not (or is NULL: the order holds another
 * key), or RETRY if the database refused.
 */
static enum lookup
lookup_store(struct reconcile *r, const struct db_txn *t, const char *order_id,
    const X509 *leaf)
{
	const char *text;
	X509 *copy;

	if (enroll_issued_check(r->ctx, t->txid, order_id, leaf, &text) == -1)
		return LOOKUP_REFUSED;
	copy = enroll_store_issued(r->ctx, t->txid, order_id, leaf);
	if (copy == NULL)
		return LOOKUP_RETRY;
	X509_free(copy);
	log_ev(LOG_INFO, "reconcile.issued",
	    LOG_F(.txid = t->txid, .order_id = order_id),
	    "txid=%s: reconciled: order %s was issued at GlobalSign", t->txid,
	    order_id);
	return LOOKUP_STORED;
}

/*
 * GetOrderByOrderId: is this order issued for the request's key? ours: the
 * order is the one recorded for t, so a certificate for another key in it
 * is GlobalSign's error, not another request's order.
 */
static enum lookup
lookup_order(struct reconcile *r, const struct db_txn *t, const char *order_id,
    const EVP_PKEY *pub, bool ours)
{
	struct epki_resp resp;
	struct gw_err err;
	enum lookup res = LOOKUP_RETRY;
	const X509 *leaf;

	/* Every answer is in resp.cls; the return value adds nothing. */
	gw_err_clear(&err);
	(void)epki_order_get_call(&r->opts, &r->ctx->auth, order_id, &resp,
	    &err);
	if (resp.cls == EPKI_NOT_FOUND) {
		res = LOOKUP_NONE;
		goto out;
	}
	if (resp.cls != EPKI_OK && resp.cls != EPKI_WARNING) {
		log_ev(LOG_WARNING, "reconcile.epki", LOG_F(.txid = t->txid),
		    "txid=%s: GetOrderByOrderId %s: %s: %s", t->txid, order_id,
		    epki_class_name(resp.cls),
		    resp.fault[0] != '\0' ? resp.fault : err.msg);
		goto out;
	}
	leaf = epki_resp_get0_cert_for_key(&resp, pub);
	if (leaf != NULL || (ours && epki_resp_has_leaf(&resp)))
		res = lookup_store(r, t, order_id, leaf);
	else
		res = LOOKUP_NONE; /* an order, but not for this key */
out:
	epki_resp_cleanup(&resp);
	return res;
}

/* Formats the day before t as YYYY-MM-DD (UTC), for RequestDateFrom. */
static void
date_before(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)(t - 86400);
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%d", &tm);
}

/* Checks one GetOrders entry against the request's key. */
static enum lookup
lookup_found(struct reconcile *r, const struct db_txn *t,
    const struct epki_found *f, const EVP_PKEY *pub)
{
	const X509 *leaf;

	if (f->order_id[0] == '\0')
		return LOOKUP_NONE;
	leaf = certs_find_key(f->certs, pub);
	/* The serial stored is the certificate's; SerialNumber, in a format
	 * GlobalSign does not document, is compared normalised, only to
	 * flag an answer that contradicts itself. */
	if (leaf != NULL && f->serial[0] != '\0' &&
	    !epki_serial_matches(f->serial, leaf))
		log_ev(LOG_WARNING, "reconcile.epki",
		    LOG_F(.txid = t->txid, .order_id = f->order_id),
		    "txid=%s: GetOrders: order %s: SerialNumber %s is "
		    "not the serial of its certificate; the "
		    "certificate's is kept",
		    t->txid, f->order_id, f->serial);
	if (leaf != NULL)
		return lookup_store(r, t, f->order_id, leaf);
	if (f->certs != NULL)
		return LOOKUP_NONE; /* another request's certificate */
	return lookup_order(r, t, f->order_id, pub, false);
}

/* GetOrders by CommonName since the day before the transaction began. */
static enum lookup
lookup_orders(struct reconcile *r, const struct db_txn *t, const EVP_PKEY *pub)
{
	struct epki_order_query q;
	struct epki_order o;
	struct epki_resp resp;
	struct gw_err err;
	enum lookup res = LOOKUP_RETRY, one;
	char from[16];
	size_t i;

	memset(&q, 0, sizeof(q));
	date_before(t->created, from, sizeof(from));
	memset(&o, 0, sizeof(o));
	enroll_profile_order(r->ctx, t->profile, &o);
	q.product_code = o.product_code;
	q.profile_id = o.profile_id;
	q.cn = t->cn;
	q.request_from = from;
	q.want_cert_info = true;
	q.want_fulfillment = true;
	gw_err_clear(&err);
	(void)epki_order_find_call(&r->opts, &r->ctx->auth, &q, &resp, &err);
	if (resp.cls != EPKI_OK && resp.cls != EPKI_WARNING &&
	    resp.cls != EPKI_NOT_FOUND) {
		log_ev(LOG_WARNING, "reconcile.epki", LOG_F(.txid = t->txid),
		    "txid=%s: GetOrders: %s: %s", t->txid,
		    epki_class_name(resp.cls),
		    resp.fault[0] != '\0' ? resp.fault : err.msg);
		goto out;
	}
	res = LOOKUP_NONE;
	for (i = 0; i < resp.nfound && res == LOOKUP_NONE; i++) {
		one = lookup_found(r, t, &resp.found[i], pub);
		if (one != LOOKUP_NONE)
			res = one;
	}
out:
	epki_resp_cleanup(&resp);
	return res;
}

/*
 * The order of t, as it was first placed: its profile, its CSR, and the
 * identity decided when it began (the UPN too, never the CSR's).
 */
static void
order_fill(struct reconcile *r, const struct db_txn *t, struct epki_order *o)
{
	memset(o, 0, sizeof(*o));
	enroll_profile_order(r->ctx, t->profile, o);
	o->csr_pem = t->csr_pem;
	o->upn = t->upn;
	o->cn = t->cn;
	o->email = t->email;
	if (t->ou != NULL)
		o->ous[o->nous++] = t->ou;
}

/* True when epki_soap_order_build() takes o (credentials left out). */
static bool
order_builds(const struct epki_order *o, struct gw_err *err)
{
	const struct epki_auth probe = { "probe", "probe" };
	struct buf b;
	int rc;

	buf_init(&b, 0);
	rc = epki_soap_order_build(&probe, o, &b, err);
	buf_cleanup(&b);
	return rc == 0;
}

/*
 * True when t's order can never be built: its stored values (a control
 * character in the CN, say, from before admission checked them), not the
 * moment, make the request fail, while the same order with a plain
 * identity builds. Such a transaction would be retried for ever.
 */
static bool
order_unbuildable(struct reconcile *r, const struct db_txn *t,
    struct gw_err *err)
{
	struct epki_order o;
	struct gw_err e2;

	order_fill(r, t, &o);
	if (order_builds(&o, err))
		return false;
	o.cn = "x";
	o.email = NULL;
	o.upn = NULL;
	o.nous = 0;
	return order_builds(&o, &e2);
}

/* Places the order again: GlobalSign was shown to have none. */
static bool
reorder(struct reconcile *r, const struct db_txn *t, const EVP_PKEY *pub)
{
	struct epki_order o;
	struct epki_resp resp;
	struct gw_err err;
	enum scep_status st;
	const char *text;
	X509 *cert = NULL;

	order_fill(r, t, &o);
	log_ev(LOG_INFO, "reconcile.reorder", LOG_F(.txid = t->txid),
	    "txid=%s: GlobalSign has no order for this request; "
	    "ordering it now",
	    t->txid);
	(void)epki_order_call(&r->opts, &r->ctx->auth, &o, &resp, &err);
	st = enroll_order_record(r->ctx, t->txid, pub, &resp, &cert, &text);
	X509_free(cert);
	epki_resp_cleanup(&resp);
	return st != SCEP_STATUS_PENDING;
}

/*
 * Works on one unfinished transaction and schedules its next try: none
 * when it is final now, the moment a re-order becomes safe when the
 * lookups found nothing too early, or the next backoff step after
 * trouble.
 */
static void
reconcile_txn(struct reconcile *r, const struct db_txn *t, struct backoff *b)
{
	const struct gw_config *cfg = r->ctx->cfg;
	enum lookup res = LOOKUP_NONE;
	int64_t safe_at = t->updated + cfg->epki_timeout_seconds + 6;
	struct gw_err err;
	EVP_PKEY *pub;

	/* Taken over from a dead incarnation: its last call may have been
	 * placed up to its lease's end; GlobalSign may list it late. */
	if (t->taken_at != 0 && t->taken_at + 6 > safe_at)
		safe_at = t->taken_at + 6;

	if ((pub = csr_pubkey(t->csr_pem)) == NULL || t->cn == NULL) {
		log_ev(LOG_WARNING, "reconcile", LOG_F(.txid = t->txid),
		    "txid=%s: unfinished transaction without a readable "
		    "request; it needs an operator",
		    t->txid);
		backoff_later(b);
		return;
	}
	if (order_unbuildable(r, t, &err)) {
		/* Nothing was ever sent for it: no order to look up. */
		log_ev(LOG_WARNING, "reconcile", LOG_F(.txid = t->txid),
		    "txid=%s: its order can never be built (%s); the "
		    "transaction ends as failed",
		    t->txid, err.msg);
		if (db_txn_set_failed(r->ctx->db, t->txid, SCEP_FAIL_BADREQUEST,
			"the CA cannot take this identity", now_seconds(),
			&err) == -1) {
			log_ev(LOG_WARNING, "reconcile", LOG_F(.txid = t->txid),
			    "txid=%s: cannot store failure: %s", t->txid,
			    err.msg);
			backoff_later(b);
		}
		EVP_PKEY_free(pub);
		return;
	}
	if (t->order_id != NULL)
		res = lookup_order(r, t, t->order_id, pub, true);
	if (res == LOOKUP_NONE)
		res = lookup_orders(r, t, pub);
	if (res == LOOKUP_RETRY)
		backoff_later(b);
	else if (res == LOOKUP_NONE && now_seconds() < safe_at)
		/*
		 * GlobalSign may not list an order placed an instant ago:
		 * look again once the original call must have ended, and
		 * only then order. Not a failure: no backoff step.
		 */
		b->next_try = safe_at;
	else if (res == LOOKUP_NONE && !db_lease_may_order(r->ctx->lease)) {
		/* The order gate: an order started now might outlast this
		 * incarnation's lease. Not a failure: look again after the
		 * next renewal, which may open it. */
		log_ev(LOG_INFO, "reconcile", LOG_F(.txid = t->txid),
		    "txid=%s: not ordering again now: this gateway's "
		    "lease might not outlast the call",
		    t->txid);
		b->next_try = now_seconds() + DB_LEASE_BEAT_S;
	} else if (res == LOOKUP_NONE && !reorder(r, t, pub))
		backoff_later(b);
	EVP_PKEY_free(pub);
}

/* db_txn_list_owned() callback: one transaction of a round. */
static int
reconcile_one(void *arg, const struct db_txn *t)
{
	struct reconcile *r = arg;
	struct backoff *b;

	if (reconcile_stopping(r))
		return 1;
	if (enroll_is_inflight(r->ctx->enroll, t->txid))
		return 0;
	if ((b = backoff_get(r, t->txid)) == NULL)
		return 0;
	b->round = r->round;
	if (b->next_try > now_seconds())
		return 0;
	ERR_clear_error();
	reconcile_txn(r, t, b);
	return 0;
}

/*
 * When the next round is due on the monotonic clock: reconcile_seconds
 * after the start of the last one (last), or sooner when a transaction's
 * next try (a backoff step, or the moment a lost order may be placed
 * again) comes first, so that it is not left waiting a whole period.
 */
static struct timespec
round_due(struct reconcile *r, const struct timespec *last)
{
	struct timespec due = *last, now;
	const struct backoff *b;
	int64_t wall = now_seconds(), soon = INT64_MAX;

	due.tv_sec += r->ctx->cfg->epki_reconcile_seconds;
	for (b = r->backoffs; b != NULL; b = b->next)
		if (b->next_try > wall && b->next_try < soon)
			soon = b->next_try;
	clock_gettime(CLOCK_MONOTONIC, &now);
	/* Whole seconds from now's second: never before next_try. */
	if (soon != INT64_MAX && now.tv_sec + (soon - wall) < due.tv_sec) {
		due = now;
		due.tv_sec += (time_t)(soon - wall);
	}
	return due;
}

/*
 * Waits, holding r->mu, for the next round (round_due()), or less when
 * kicked, but never less than KICK_GAP_S after the last one began (a
 * GlobalSign outage fails every order, and each failure kicks). Returns
 * false when stopping.
 */
static bool
round_wait(struct reconcile *r, const struct timespec *last)
{
	struct timespec until = round_due(r, last);

	while (!r->stop && !r->kicked &&
	    pthread_cond_timedwait(&r->cv, &r->mu, &until) != ETIMEDOUT)
		;
	if (!r->stop && r->kicked) {
		until = *last;
		until.tv_sec += KICK_GAP_S;
		while (!r->stop &&
		    pthread_cond_timedwait(&r->cv, &r->mu, &until) != ETIMEDOUT)
			;
	}
	return !r->stop;
}

/* The orders one round took over, by the incarnation they came from. */
struct takeover {
	int64_t from[CLAIM_FROM];
	size_t n[CLAIM_FROM];
	size_t nfrom;
	size_t other; /* from incarnations past CLAIM_FROM */
};

/* db_txn_claim_orphans() callback: counts a row by where it came from. */
static int
claim_count(void *arg, const struct db_txn *t)
{
	struct takeover *tk = arg;
	size_t i;

	log_ev(LOG_DEBUG, "reconcile.takeover", LOG_F(.txid = t->txid),
	    "txid=%s: taken over from incarnation %lld", t->txid,
	    (long long)t->taken_from);
	for (i = 0; i < tk->nfrom; i++)
		if (tk->from[i] == t->taken_from)
			break;
	if (i == tk->nfrom && tk->nfrom < CLAIM_FROM)
		tk->from[tk->nfrom++] = t->taken_from;
	if (i < tk->nfrom)
		tk->n[i]++;
	else
		tk->other++;
	return 0;
}

/* An incarnation's name, looked up in db_node_list(). */
struct node_name {
	int64_t id;
	char name[128];
};

static int
node_name_find(void *arg, const struct db_node *n)
{
	struct node_name *f = arg;

	if (n->id != f->id)
		return 0;
	snprintf(f->name, sizeof(f->name), "%s",
	    n->name != NULL ? n->name : "?");
	return 1;
}

/* Logs "took over N orders from node X (name)" for each incarnation. */
static void
takeover_log(struct reconcile *r, const struct takeover *tk)
{
	struct node_name f;
	struct gw_err err;
	size_t i;

	for (i = 0; i < tk->nfrom; i++) {
		memset(&f, 0, sizeof(f));
		f.id = tk->from[i];
		if (f.id == 0)
			snprintf(f.name, sizeof(f.name),
			    "none: recorded before incarnations were");
		else if (db_node_list(r->ctx->db, node_name_find, &f, &err) ==
			-1 ||
		    f.name[0] == '\0')
			snprintf(f.name, sizeof(f.name), "?");
		log_ev(LOG_INFO, "reconcile.takeover",
		    LOG_F(.from_node = f.name, .count = (long long)tk->n[i],
			.has_count = true),
		    "took over %zu orders from node %lld (%s)", tk->n[i],
		    (long long)f.id, f.name);
	}
	if (tk->other > 0)
		log_ev(LOG_INFO, "reconcile.takeover",
		    LOG_F(.count = (long long)tk->other, .has_count = true),
		    "took over %zu orders from other nodes", tk->other);
}

/*
 * The start of a round: the ORDERING transactions of dead incarnations
 * (and those with no owner, from before incarnations were recorded)
 * become this incarnation's (README "How an enrollment works" 7).
 */
static void
reconcile_claim(struct reconcile *r, int64_t me)
{
	struct takeover tk;
	struct gw_err err;
	int n, i;

	memset(&tk, 0, sizeof(tk));
	for (i = 0; i < 100; i++) {
		n = db_txn_claim_orphans(r->ctx->db, me, DB_LEASE_MARGIN_S,
		    CLAIM_MAX, claim_count, &tk, &err);
		if (n == -1)
			log_ev(LOG_WARNING, "reconcile", NULL,
			    "reconciler: taking over orders: %s", err.msg);
		if (n < CLAIM_MAX)
			break;
	}
	takeover_log(r, &tk);
}

/* One round's work: take orphans over, then this incarnation's rows;
 * without an incarnation (no lease), every ORDERING row. */
static int
reconcile_list(struct reconcile *r, struct gw_err *err)
{
	int64_t me = db_node(r->ctx->db);

	if (me == 0)
		return db_txn_list_unfinished(r->ctx->db, reconcile_one, r,
		    err);
	reconcile_claim(r, me);
	return db_txn_list_owned(r->ctx->db, me, reconcile_one, r, err);
}

static void *
reconcile_run(void *arg)
{
	struct reconcile *r = arg;
	struct timespec last;
	struct gw_err err;

	gw_thread_name("scepgw-reconcile");
	pthread_mutex_lock(&r->mu);
	do {
		r->kicked = false;
		clock_gettime(CLOCK_MONOTONIC, &last);
		pthread_mutex_unlock(&r->mu);
		r->round++;
		if (reconcile_list(r, &err) == -1)
			log_ev(LOG_WARNING, "db.error", NULL,
			    "reconciler: database: %s", err.msg);
		else
			backoff_prune(r);
		/* Then what Intune has not heard of, the transactions just
		 * finished included (README "Microsoft Intune"). */
		enroll_intune_reconcile(r->ctx, stopping_fn, r);
		/* README "Licences": expiry warnings once a day at most. */
		enroll_licence_watch(r->ctx);
		enroll_history_prune(r->ctx); /* README "Admin web console" */
		pthread_mutex_lock(&r->mu);
	} while (round_wait(r, &last));
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/*
 * Asks for a round soon (within a second), for an order whose outcome
 * was just lost: a device that polls a few times and gives up (Apple's
 * default: 3 tries, 10 s apart) should not wait out reconcile_seconds.
 * Call once the transaction is no longer in flight. NULL-safe.
 */
void
reconcile_kick(struct reconcile *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	if (!r->stop) {
		r->kicked = true;
		pthread_cond_signal(&r->cv);
	}
	pthread_mutex_unlock(&r->mu);
}

/*
 * Starts the reconciler thread; its first round runs at once, so a
 * restart after a crash resumes every unfinished enrollment.
 */
int
reconcile_new(struct reconcile **out, struct gw_ctx *ctx, struct gw_err *err)
{
	pthread_condattr_t ca;
	struct reconcile *r;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		gw_err_set(err, ENOMEM, "out of memory");
		return -1;
	}
	r->ctx = ctx;
	config_epki_opts(ctx->cfg, &r->opts);
	r->opts.may_start = db_lease_may_order;
	r->opts.may_start_arg = ctx->lease;
	pthread_mutex_init(&r->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&r->thread, NULL, reconcile_run, r) != 0) {
		gw_err_set(err, errno, "cannot start the reconciler");
		reconcile_free(r);
		return -1;
	}
	r->started = true;
	*out = r;
	return 0;
}

/*
 * Stops the reconciler thread (after its current call); later kicks do
 * nothing. The reconciler stays valid for reconcile_kick() until
 * reconcile_free(). NULL-safe; a second call does nothing.
 */
void
reconcile_stop(struct reconcile *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	if (r->started)
		pthread_join(r->thread, NULL);
	r->started = false;
}

/* Stops the reconciler (after its current call) and frees it. */
void
reconcile_free(struct reconcile *r)
{
	if (r == NULL)
		return;
	reconcile_stop(r);
	r->round++;
	backoff_prune(r);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}
