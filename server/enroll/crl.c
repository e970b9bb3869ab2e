/*
 * GetCRL (RFC 8894 3.3.4): answers with the issuing CA's CRL. The CRL is
 * fetched with libcurl from the CRL distribution point written into the
 * RA certificate (the issuing CA signed it, so its CDP names that CA's
 * CRL) and verified with the issuing CA's key, by a thread of its own: at
 * start-up, then again before each nextUpdate, and after a failed fetch
 * with a back-off (30 s, doubling up to 15 min). A GetCRL only reads the
 * cache, on the HTTP worker, and never waits for the network: when a
 * fetch fails the last good CRL is served; with none, FAILURE.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "crl.h"
#include "enroll.h"
#include "gw.h"
#include "gw_err.h"
#include "gw_thread.h"
#include "log.h"
#include "scep.h"
#include "secure.h"

#define CRL_DEF_TIMEOUT 10
#define CRL_DEF_MAX (10 * 1024 * 1024)
#define CRL_DEF_TTL 3600
#define CRL_DEF_RETRY 30
#define CRL_DEF_RETRY_MAX 900
#define CRL_REFRESH_AHEAD_MAX 3600
#define CRL_URL_MAX 2048

struct crl_cache {
	pthread_mutex_t mu; /* guards crl, next_update, failed, stop */
	pthread_cond_t cv;  /* crl_cache_free(): stop */
	struct crl_opts o;  /* limits, defaults filled in */
	char *url;	    /* the CDP, http or https */
	char *ca_file;	    /* copy of o.ca_file, or NULL */
	X509 *ca;	    /* the issuing CA: verifies the CRL */
	X509_CRL *crl;	    /* last good CRL, or NULL */
	time_t next_update; /* crl's nextUpdate; 0: none */
	bool failed;	    /* the last fetch failed: why is in why */
	char why[sizeof(((struct gw_err *)0)->msg)]; /* last failure */
	bool stop;    /* the refresh thread must end */
	bool started; /* the refresh thread runs */
	pthread_t thread;
};

/* Whether a URI is one we fetch: http or https, no embedded NUL. */
static bool
url_ok(const ASN1_IA5STRING *uri)
{
	const char *s = (const char *)ASN1_STRING_get0_data(uri);
	int n = ASN1_STRING_length(uri);

	if (s == NULL || n <= 0 || n >= CRL_URL_MAX ||
	    memchr(s, '\0', (size_t)n) != NULL)
		return false;
	return (n > 7 && strncasecmp(s, "http://", 7) == 0) ||
	    (n > 8 && strncasecmp(s, "https://", 8) == 0);
}

/* The first http(s) URI among a distribution point's full names. */
static const ASN1_IA5STRING *
dp_uri(const DIST_POINT *dp)
{
	const GENERAL_NAME *gn;
	int i;

	if (dp->distpoint == NULL || dp->distpoint->type != 0)
		return NULL;
	for (i = 0; i < sk_GENERAL_NAME_num(dp->distpoint->name.fullname);
	     i++) {
		gn = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, i);
		if (gn->type == GEN_URI &&
		    url_ok(gn->d.uniformResourceIdentifier))
			return gn->d.uniformResourceIdentifier;
	}
	return NULL;
}

/*
 * Finds the first http or https URL in cert's CRL distribution points.
 * Returns 0 with *out malloc'd (caller frees with free()), or -1 when
 * there is none (or no memory).
 */
int
crl_url_of(const X509 *cert, char **out)
{
	STACK_OF(DIST_POINT) *dps;
	const ASN1_IA5STRING *uri = NULL;
	int i;

	*out = NULL;
	dps = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);
	for (i = 0; uri == NULL && i < sk_DIST_POINT_num(dps); i++)
		uri = dp_uri(sk_DIST_POINT_value(dps, i));
	if (uri != NULL)
		*out = gw_strndup((const char *)ASN1_STRING_get0_data(uri),
		    (size_t)ASN1_STRING_length(uri));
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	ERR_clear_error();
	return *out != NULL ? 0 : -1;
}

/* Decodes a CRL as DER, else as PEM; NULL if it is neither. */
static X509_CRL *
crl_decode(const unsigned char *data, size_t len)
{
	const unsigned char *p = data;
	X509_CRL *crl;
	BIO *bio;

	if ((crl = d2i_X509_CRL(NULL, &p, (long)len)) != NULL)
		return crl;
	if ((bio = BIO_new_mem_buf(data, (int)len)) != NULL)
		crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
	BIO_free(bio);
	return crl;
}

/*
 * Decodes a CRL (DER or PEM) and checks that ca issued and signed it.
 * Returns 0 with *out new (caller frees with X509_CRL_free()), or -1
 * with err set.
 */
int
crl_parse(const unsigned char *data, size_t len, const X509 *ca, X509_CRL **out,
    struct gw_err *err)
{
	X509_CRL *crl = NULL;
	EVP_PKEY *pub;
	int rc = -1;

	*out = NULL;
	if (len == 0 || len > INT_MAX) {
		gw_err_set(err, EINVAL, "CRL of %zu bytes", len);
		goto out;
	}
	if ((crl = crl_decode(data, len)) == NULL) {
		gw_err_set_ossl(err, EINVAL, "not a DER or PEM CRL");
		goto out;
	}
	if (X509_NAME_cmp(X509_CRL_get_issuer(crl),
		X509_get_subject_name(ca)) != 0) {
		gw_err_set(err, EINVAL, "CRL issuer is not the issuing CA");
		goto out;
	}
	if ((pub = X509_get0_pubkey(ca)) == NULL ||
	    X509_CRL_verify(crl, pub) != 1) {
		gw_err_set_ossl(err, EINVAL, "CRL signature does not verify");
		goto out;
	}
	*out = crl;
	crl = NULL;
	rc = 0;
out:
	X509_CRL_free(crl);
	ERR_clear_error();
	return rc;
}

/* Collects the body up to its ceiling; 0 stops the transfer. */
static size_t
crl_write(char *p, size_t size, size_t n, void *arg)
{
	return buf_add(arg, p, size * n) == 0 ? size * n : 0;
}

/* libcurl's progress callback: non-zero aborts the transfer at shutdown. */
static int
crl_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct crl_cache *c = arg;
	bool stop;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	pthread_mutex_lock(&c->mu);
	stop = c->stop;
	pthread_mutex_unlock(&c->mu);
	return stop ? 1 : 0;
}

/* Sets the options of one GET; CURLE_OK or the failure. */
static CURLcode
crl_easy_setup(CURL *e, struct crl_cache *c, struct buf *body, char *errbuf)
{
	CURLcode rc = CURLE_OK;
	long t = c->o.timeout_s;

#define SETOPT(opt, val)                                    \
	do {                                                \
		if (rc == CURLE_OK)                         \
			rc = curl_easy_setopt(e, opt, val); \
	} while (0)
	SETOPT(CURLOPT_URL, c->url);
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SETOPT(CURLOPT_FOLLOWLOCATION, 1L);
	SETOPT(CURLOPT_MAXREDIRS, 3L);
	SETOPT(CURLOPT_TIMEOUT, t);
	SETOPT(CURLOPT_CONNECTTIMEOUT, t < 10 ? t : 10L);
	SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->o.max_bytes);
	if (c->ca_file != NULL)
		SETOPT(CURLOPT_CAINFO, c->ca_file);
	SETOPT(CURLOPT_USERAGENT, "scepgw-crl/1");
	SETOPT(CURLOPT_WRITEFUNCTION, crl_write);
	SETOPT(CURLOPT_WRITEDATA, body);
	SETOPT(CURLOPT_ERRORBUFFER, errbuf);
	SETOPT(CURLOPT_NOPROGRESS, 0L);
	SETOPT(CURLOPT_XFERINFOFUNCTION, crl_progress);
	SETOPT(CURLOPT_XFERINFODATA, c);
#undef SETOPT
	return rc;
}

/* GETs the CDP into body (initialised by the caller); 0 or -1 with err. */
static int
crl_fetch(struct crl_cache *c, struct buf *body, struct gw_err *err)
{
	char errbuf[CURL_ERROR_SIZE];
	CURLcode rc;
	long status = 0;
	CURL *e;

	errbuf[0] = '\0';
	if ((e = curl_easy_init()) == NULL) {
		gw_err_set(err, ENOMEM, "curl_easy_init failed");
		return -1;
	}
	rc = crl_easy_setup(e, c, body, errbuf);
	if (rc == CURLE_OK)
		rc = curl_easy_perform(e);
	if (rc == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(e);
	if (rc == CURLE_WRITE_ERROR || rc == CURLE_FILESIZE_EXCEEDED) {
		gw_err_set(err, EFBIG, "GET %s: CRL larger than %zu bytes",
		    c->url, c->o.max_bytes);
		return -1;
	}
	if (rc != CURLE_OK) {
		gw_err_set(err, EIO, "GET %s: %s", c->url,
		    errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
		return -1;
	}
	if (status != 200) {
		gw_err_set(err, EIO, "GET %s: HTTP %ld", c->url, status);
		return -1;
	}
	return 0;
}

/* crl's nextUpdate in seconds since the epoch; 0 when it has none. */
static time_t
crl_next_update(const X509_CRL *crl, time_t now)
{
	const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
	int days, secs;

	if (next == NULL || ASN1_TIME_diff(&days, &secs, NULL, next) != 1)
		return 0;
	if (days > 3650)
		days = 3650;
	return now + (time_t)days * 86400 + secs;
}

/*
 * Seconds from now until the CRL should be fetched again: before its
 * nextUpdate, by a quarter of the time left but at most an hour, so that
 * a CDP that is down for a while does not leave us without a current
 * CRL; the default TTL without a nextUpdate; never sooner than retry_s.
 */
static long
crl_refresh_in(const struct crl_cache *c, time_t next_update, time_t now)
{
	long left, ahead;

	if (next_update == 0)
		return c->o.default_ttl_s;
	left = (long)(next_update - now);
	ahead =
	    left / 4 < CRL_REFRESH_AHEAD_MAX ? left / 4 : CRL_REFRESH_AHEAD_MAX;
	return left - ahead > c->o.retry_s ? left - ahead : c->o.retry_s;
}

/*
 * Fetches, verifies and installs a new CRL; on failure keeps the old one
 * and records why. Called by the refresh thread only. Returns 0 or -1
 * with err set.
 */
static int
cache_refresh(struct crl_cache *c, struct gw_err *err)
{
	X509_CRL *crl = NULL;
	struct buf body;
	int rc;

	buf_init(&body, c->o.max_bytes);
	rc = crl_fetch(c, &body, err);
	if (rc == 0)
		rc = crl_parse(body.data, body.len, c->ca, &crl, err);
	buf_cleanup(&body);
	pthread_mutex_lock(&c->mu);
	if (rc == 0) {
		X509_CRL_free(c->crl);
		c->crl = crl;
		c->next_update = crl_next_update(crl, time(NULL));
		c->failed = false;
	} else {
		c->failed = true;
		snprintf(c->why, sizeof(c->why), "%s", err->msg);
	}
	pthread_mutex_unlock(&c->mu);
	return rc;
}

/*
 * One fetch and what follows from it: the log line, and the seconds to
 * wait before the next one (*backoff doubles after each failure).
 */
static long
cache_cycle(struct crl_cache *c, long *backoff)
{
	struct gw_err err;
	time_t now;
	long wait;

	gw_err_clear(&err);
	if (cache_refresh(c, &err) == -1) {
		pthread_mutex_lock(&c->mu);
		wait = c->stop ? 0 : *backoff;
		pthread_mutex_unlock(&c->mu);
		if (wait == 0)
			return 0; /* aborted by crl_cache_free() */
		*backoff = *backoff * 2 < CRL_DEF_RETRY_MAX ? *backoff * 2 :
							      CRL_DEF_RETRY_MAX;
		log_ev(LOG_WARNING, "crl", NULL, "CRL: %s; next try in %lds",
		    err.msg, wait);
		return wait;
	}
	*backoff = c->o.retry_s;
	now = time(NULL);
	pthread_mutex_lock(&c->mu);
	wait = crl_refresh_in(c, c->next_update, now);
	log_ev(LOG_INFO, "crl", NULL,
	    "CRL: fetched from %s, %d revoked; next fetch in %lds", c->url,
	    sk_X509_REVOKED_num(X509_CRL_get_REVOKED(c->crl)), wait);
	pthread_mutex_unlock(&c->mu);
	return wait;
}

/* The refresh thread: fetches at once, then as cache_cycle() says. */
static void *
cache_thread(void *arg)
{
	struct crl_cache *c = arg;
	long backoff = c->o.retry_s, wait;
	struct timespec until;

	gw_thread_name("scepgw-crl");
	for (;;) {
		wait = cache_cycle(c, &backoff);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += wait;
		pthread_mutex_lock(&c->mu);
		while (!c->stop &&
		    pthread_cond_timedwait(&c->cv, &c->mu, &until) != ETIMEDOUT)
			;
		if (c->stop) {
			pthread_mutex_unlock(&c->mu);
			break;
		}
		pthread_mutex_unlock(&c->mu);
	}
	return NULL;
}

/*
 * Starts the refresh thread, which fetches the CRL at once and keeps it
 * current until crl_cache_free(). Returns 0, or -1 with err set.
 */
int
crl_cache_start(struct crl_cache *c, struct gw_err *err)
{
	if (pthread_create(&c->thread, NULL, cache_thread, c) != 0) {
		gw_err_set(err, EAGAIN, "cannot start the CRL refresh thread");
		return -1;
	}
	c->started = true;
	return 0;
}

/*
 * The issuing CA's CRL as the refresh thread last fetched it; never
 * waits for the network. *src is CRL_SRC_STALE, with err saying why,
 * when the last fetch failed or the CRL is past its nextUpdate. Returns
 * 0 with *out a new reference (caller frees with X509_CRL_free()), or -1
 * with err set when there is no CRL (yet).
 */
int
crl_cache_get1(struct crl_cache *c, X509_CRL **out, enum crl_source *src,
    struct gw_err *err)
{
	time_t now = time(NULL);
	int rc = -1;

	*out = NULL;
	*src = CRL_SRC_STALE;
	gw_err_clear(err);
	pthread_mutex_lock(&c->mu);
	if (c->crl == NULL) {
		gw_err_set(err, EAGAIN, "no CRL from %s yet: %s", c->url,
		    c->why);
	} else if (X509_CRL_up_ref(c->crl) == 1) {
		*out = c->crl;
		rc = 0;
		if (c->failed)
			gw_err_set(err, EAGAIN, "last fetch of %s failed: %s",
			    c->url, c->why);
		else if (c->next_update != 0 && now >= c->next_update)
			gw_err_set(err, EAGAIN, "past its nextUpdate");
		else
			*src = CRL_SRC_CACHE;
	}
	pthread_mutex_unlock(&c->mu);
	return rc;
}

/* The certificate of chain that issued cert, else the chain's first. */
static const X509 *
issuer_pick(const STACK_OF(X509) *chain, const X509 *cert)
{
	const X509 *x;
	int i;

	for (i = 0; i < sk_X509_num(chain); i++) {
		x = sk_X509_value(chain, i);
		if (X509_NAME_cmp(X509_get_subject_name(x),
			X509_get_issuer_name(cert)) == 0)
			return x;
	}
	return sk_X509_num(chain) > 0 ? sk_X509_value(chain, 0) : NULL;
}

/* Fills the defaults of unset options. */
static void
opts_fill(struct crl_opts *o)
{
	if (o->timeout_s <= 0)
		o->timeout_s = CRL_DEF_TIMEOUT;
	if (o->max_bytes == 0)
		o->max_bytes = CRL_DEF_MAX;
	if (o->default_ttl_s <= 0)
		o->default_ttl_s = CRL_DEF_TTL;
	if (o->retry_s <= 0)
		o->retry_s = CRL_DEF_RETRY;
	if (o->retry_s > CRL_DEF_RETRY_MAX)
		o->retry_s = CRL_DEF_RETRY_MAX;
}

/* The lock and the condition (on the monotonic clock); 0 or -1. */
static int
crl_locks_init(struct crl_cache *c)
{
	pthread_condattr_t ca;
	int rc = -1;

	if (pthread_condattr_init(&ca) != 0)
		return -1;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
	    pthread_cond_init(&c->cv, &ca) == 0) {
		if (pthread_mutex_init(&c->mu, NULL) == 0)
			rc = 0;
		else
			pthread_cond_destroy(&c->cv);
	}
	pthread_condattr_destroy(&ca);
	return rc;
}

/*
 * A cache for the CRL of the CA that issued the RA certificate, fetched
 * from that certificate's CRL distribution point once crl_cache_start()
 * runs its refresh thread. o may be
 * NULL for the defaults. Returns 0 with *out new (free it with
 * crl_cache_free()), or -1 with err set: no http(s) CDP in the RA
 * certificate, or no issuing CA in the chain.
 */
int
crl_cache_new(struct crl_cache **out, const struct scep_ra *ra,
    const struct crl_opts *o, struct gw_err *err)
{
	const X509 *racert = scep_ra_get0_cert(ra), *ca;
	struct crl_cache *c = NULL;
	int rc = -1;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		gw_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (o != NULL)
		c->o = *o;
	opts_fill(&c->o);
	if (crl_locks_init(c) == -1) {
		gw_err_set(err, ENOMEM, "pthread_mutex_init failed");
		free(c);
		c = NULL;
		goto out;
	}
	snprintf(c->why, sizeof(c->why), "the first fetch has not ended");
	if (racert == NULL || crl_url_of(racert, &c->url) == -1) {
		gw_err_set(err, ENOENT,
		    "the RA certificate has no http CRL distribution point");
		goto out;
	}
	ca = issuer_pick(scep_ra_get0_chain(ra), racert);
	if (ca == NULL || (c->ca = X509_dup(ca)) == NULL) {
		gw_err_set(err, ENOENT, "no issuing CA in [ra] ca_chain");
		goto out;
	}
	if (c->o.ca_file != NULL &&
	    (c->ca_file = gw_strdup(c->o.ca_file)) == NULL) {
		gw_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	c->o.ca_file = c->ca_file;
	*out = c;
	c = NULL;
	rc = 0;
out:
	crl_cache_free(c);
	return rc;
}

/*
 * Stops the refresh thread (a fetch under way is aborted) and frees the
 * cache; NULL-safe.
 */
void
crl_cache_free(struct crl_cache *c)
{
	if (c == NULL)
		return;
	if (c->started) {
		pthread_mutex_lock(&c->mu);
		c->stop = true;
		pthread_cond_signal(&c->cv);
		pthread_mutex_unlock(&c->mu);
		pthread_join(c->thread, NULL);
	}
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	X509_CRL_free(c->crl);
	X509_free(c->ca);
	free(c->url);
	free(c->ca_file);
	free(c);
}

/* The URL the cache fetches from (borrowed). */
const char *
crl_cache_url(const struct crl_cache *c)
{
	return c->url;
}

/* The CRL issuer's name: the issuing CA's subject (borrowed). */
const X509_NAME *
crl_cache_issuer(const struct crl_cache *c)
{
	return X509_get_subject_name(c->ca);
}

/* Marks op a FAILURE; enroll_pkioperation() then builds the CertRep. */
static void
getcrl_fail(struct enroll_op *op, enum scep_fail f, const char *text)
{
	op->status = SCEP_STATUS_FAILURE;
	op->fail = f;
	snprintf(op->fail_text, sizeof(op->fail_text), "%s", text);
}

/* Builds the SUCCESS CertRep carrying crl into op->reply. */
static void
getcrl_reply(struct enroll_op *op, const X509_CRL *crl)
{
	struct scep_reply r;
	struct gw_err err;
	struct buf out;

	scep_reply_init(&r, op->msg);
	r.crl = crl;
	if (scep_certrep_build(op->ra, &r, &out, &err) == -1) {
		log_ev(LOG_WARNING, "getcrl",
		    LOG_F(.peer = op->peer, .txid = scep_msg_txid(op->msg),
			.fail_info = scep_fail_name(SCEP_FAIL_BADREQUEST),
			.reason = "CRL not available"),
		    "%s txid=%s: GetCRL: cannot build CertRep: %s", op->peer,
		    scep_msg_txid(op->msg), err.msg);
		getcrl_fail(op, SCEP_FAIL_BADREQUEST, "CRL not available");
		return;
	}
	op->status = SCEP_STATUS_SUCCESS;
	op->reply.http_status = 200;
	op->reply.content_type = "application/x-pki-message";
	op->reply.body = buf_steal(&out, &op->reply.len);
	op->done = true;
}

/* How the log names a CRL's source. */
static const char *const source_names[CRL_SRC__MAX] = {
	[CRL_SRC_CACHE] = "cached",
	[CRL_SRC_STALE] = "stale",
};

/*
 * GetCRL (RFC 8894 3.3.4): the IssuerAndSerialNumber must name the
 * issuing CA; the answer is its CRL whatever the serial. Fills op with
 * the reply, or marks it FAILURE: badCertId for another issuer,
 * badRequest when no CRL can be had.
 */
void
enroll_getcrl(struct gw_ctx *ctx, struct enroll_op *op)
{
	const X509_NAME *issuer = scep_msg_get0_issuer(op->msg);
	const char *txid = scep_msg_txid(op->msg);
	X509_CRL *crl = NULL;
	enum crl_source src;
	struct gw_err err;

	if (ctx->crl == NULL) {
		log_ev(LOG_INFO, "getcrl",
		    LOG_F(.peer = op->peer, .txid = txid,
			.fail_info = scep_fail_name(SCEP_FAIL_BADREQUEST),
			.reason = "CRL not available"),
		    "%s txid=%s: GetCRL: no CRL distribution point known",
		    op->peer, txid);
		getcrl_fail(op, SCEP_FAIL_BADREQUEST, "CRL not available");
		return;
	}
	if (issuer == NULL ||
	    X509_NAME_cmp(issuer, crl_cache_issuer(ctx->crl)) != 0) {
		log_ev(LOG_INFO, "getcrl",
		    LOG_F(.peer = op->peer, .txid = txid,
			.fail_info = scep_fail_name(SCEP_FAIL_BADCERTID),
			.reason = "unknown issuer"),
		    "%s txid=%s: GetCRL for another issuer", op->peer, txid);
		getcrl_fail(op, SCEP_FAIL_BADCERTID, "unknown issuer");
		return;
	}
	/* Only the cache: a GetCRL never waits for the CDP (it would hold
	 * this HTTP worker, and the others, for as long as it is slow). */
	if (crl_cache_get1(ctx->crl, &crl, &src, &err) == -1) {
		log_ev(LOG_WARNING, "getcrl",
		    LOG_F(.peer = op->peer, .txid = txid,
			.fail_info = scep_fail_name(SCEP_FAIL_BADREQUEST),
			.reason = "CRL not available"),
		    "%s txid=%s: GetCRL: %s", op->peer, txid, err.msg);
		getcrl_fail(op, SCEP_FAIL_BADREQUEST, "CRL not available");
		return;
	}
	if (src == CRL_SRC_STALE)
		log_ev(LOG_WARNING, "getcrl",
		    LOG_F(.peer = op->peer, .txid = txid),
		    "%s txid=%s: GetCRL: serving the cached CRL: %s", op->peer,
		    txid, err.msg);
	log_ev(LOG_INFO, "getcrl", LOG_F(.peer = op->peer, .txid = txid),
	    "%s txid=%s: GetCRL: %s CRL from %s, %d revoked", op->peer, txid,
	    source_names[src], crl_cache_url(ctx->crl),
	    sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)));
	getcrl_reply(op, crl);
	X509_CRL_free(crl);
}
