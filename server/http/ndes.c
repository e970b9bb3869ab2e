/*
 * The NDES-compatible dynamic challenge page. MDMs (Workspace ONE, Jamf,
 * Ivanti, BlackBerry, Fleet, GlobalProtect) log in to Microsoft NDES's
 * mscep_admin page and scrape the one-time password out of its HTML;
 * this page answers the same way: UTF-16LE with a BOM, the CA thumbprint
 * line and "The enrollment challenge password is: <B> XXXX </B>", or
 * NDES's "password cache is full" and "do not have sufficient permission"
 * pages, which scrapers (Fleet's among them) also recognise.
 *
 * Logins are HTTP Basic against `scepgw user` accounts (scrypt hashes),
 * checked on [ndes] login_threads threads of their own while the
 * connection is suspended, so that scrypt's 32 MiB and 0.1 s never hold
 * an HTTP worker; a wrong login counts against the client address's
 * failure limit, like a wrong challenge. Neither a password nor a
 * challenge is ever logged. A challenge is issued bound to one of the
 * user's profiles (README "Security model"): `?profile=NAME`, else the
 * first one the user has.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <microhttpd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "buf.h"
#include "challenge.h"
#include "config.h"
#include "db.h"
#include "enroll.h"
#include "gw.h"
#include "reply.h"
#include "http.h"
#include "gw_err.h"
#include "gw_thread.h"
#include "live.h"
#include "log.h"
#include "ndes.h"
#include "ratelimit.h"
#include "scep.h"
#include "secure.h"

#define NDES_REALM "scepgw"
#define NDES_CTYPE "text/html; charset=utf-16"
#define NDES_PAGE_MAX (16 * 1024)

/* The paths NDES serves the page on (IIS matches them case-blind). */
static const char *const ndes_paths[] = {
	"/certsrv/mscep_admin",
	"/certsrv/mscep_admin/",
	"/certsrv/mscep_admin/default.aspx",
};

static const char ndes_head[] =
    "<HTML><Head><Meta HTTP-Equiv=\"Content-Type\" Content=\"text/html; "
    "charset=UTF-16\"><Title>Network Device Enrollment Service</Title>"
    "</Head><Body BgColor=#FFFFFF><Font ID=locPageFont Face=\"Arial\">"
    "<Table Border=0 CellSpacing=0 CellPadding=4 Width=100% "
    "BgColor=#008080><TR><TD><Font ID=locPageTitleFont Face=\"Arial\" "
    "Size=-1 Color=#FFFFFF><LocID ID=locMSCertSrv>Network Device "
    "Enrollment Service</LocID></Font></TD></TR></Table>\r\n"
    "<P ID=locPageDesc> Network Device Enrollment Service allows you to "
    "obtain certificates for routers or other network devices using the "
    "Simple Certificate Enrollment Protocol (SCEP). </P>\r\n";

static const char ndes_tail[] = "</Font></Body></HTML>\r\n";

/* True when url is the mscep_admin page. */
bool
ndes_is_path(const char *url)
{
	size_t i;

	for (i = 0; i < sizeof(ndes_paths) / sizeof(ndes_paths[0]); i++)
		if (strcasecmp(url, ndes_paths[i]) == 0)
			return true;
	return false;
}

/*
 * Encodes 7-bit text as UTF-16LE with a byte order mark into out
 * (initialised here). Returns 0, or -1 when the text is not ASCII or
 * memory ran out.
 */
int
ndes_utf16le(const char *ascii, struct buf *out)
{
	static const uint8_t bom[2] = { 0xff, 0xfe };
	uint8_t u[2] = { 0, 0 };
	size_t i;

	buf_init(out, 0);
	buf_set_secret(out); /* the page may carry a challenge */
	if (buf_add(out, bom, sizeof(bom)) == -1)
		goto err;
	for (i = 0; ascii[i] != '\0'; i++) {
		if ((unsigned char)ascii[i] >= 0x80)
			goto err;
		u[0] = (uint8_t)ascii[i];
		if (buf_add(out, u, sizeof(u)) == -1)
			goto err;
	}
	return 0;
err:
	buf_cleanup(out);
	return -1;
}

/* Sends an NDES page: head, body (ASCII), tail, in UTF-16LE. */
static enum MHD_Result
ndes_send(struct MHD_Connection *conn, const char *body)
{
	static const char *const hdr[] = { "Cache-Control", "no-store", NULL };
	struct buf html, u16;
	enum MHD_Result rc = MHD_NO;

	buf_init(&html, NDES_PAGE_MAX);
	buf_set_secret(&html); /* the page may carry a challenge */
	if (buf_addstr(&html, ndes_head) == -1 ||
	    buf_addstr(&html, body) == -1 ||
	    buf_addstr(&html, ndes_tail) == -1 ||
	    ndes_utf16le((const char *)html.data, &u16) == -1)
		goto out;
	rc = gw_respond(conn, MHD_HTTP_OK, NDES_CTYPE, u16.data, u16.len, hdr);
	gw_cleanse(u16.data, u16.len);
	buf_cleanup(&u16);
out:
	gw_cleanse(html.data, html.len);
	buf_cleanup(&html);
	return rc;
}

/*
 * Writes the SHA-1 thumbprint of the issuing CA (the first certificate of
 * [ra] ca_chain) as NDES shows it: upper-case hex, a space between bytes.
 * Returns 0, or -1 when there is no CA certificate.
 */
static int
ndes_thumbprint(struct gw_ctx *ctx, char *out, size_t n)
{
	static const char digits[] = "0123456789ABCDEF";
	struct scep_ra *ra = gw_ra_get1(ctx);
	const STACK_OF(X509) *chain =
	    ra != NULL ? scep_ra_get0_chain(ra) : NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;
	int ok;

	ok = chain != NULL && sk_X509_num(chain) >= 1 && n >= 3 * 20 &&
	    X509_digest(sk_X509_value(chain, 0), EVP_sha1(), md, &len) == 1;
	scep_ra_free(ra);
	if (!ok)
		return -1;
	for (i = 0; i < len; i++) {
		out[3 * i] = digits[md[i] >> 4];
		out[3 * i + 1] = digits[md[i] & 0x0f];
		out[3 * i + 2] = i + 1 < len ? ' ' : '\0';
	}
	return 0;
}

/* The success page, with the thumbprint and a fresh challenge. */
static enum MHD_Result
ndes_send_challenge(struct gw_ctx *ctx, struct MHD_Connection *conn,
    const char *secret)
{
	char thumb[3 * EVP_MAX_MD_SIZE], line[320], body[1400];
	long minutes = ctx->cfg->challenge_ttl_seconds / 60;
	enum MHD_Result rc;

	line[0] = '\0';
	if (ndes_thumbprint(ctx, thumb, sizeof(thumb)) == 0)
		snprintf(line, sizeof(line),
		    "The thumbprint (hash value) for the CA certificate is: "
		    "<B> %s </B> <P> ",
		    thumb);
	snprintf(body, sizeof(body),
	    "<P> To complete certificate enrollment for your network device "
	    "you will need the following information: <P> %s"
	    "The enrollment challenge password is: <B> %s </B> <P> This "
	    "password can be used only once and will expire within %ld "
	    "minutes. <P> Each enrollment requires a new challenge password. "
	    "You can refresh this web page to obtain a new challenge "
	    "password. </P>\r\n",
	    line, secret, minutes);
	rc = ndes_send(conn, body);
	gw_cleanse(body, sizeof(body));
	return rc;
}

/*
 * Picks the profile a challenge for user (the logged-in name) is bound
 * to: the request's `?profile=NAME` when the user has it, else the user's
 * first profile; it
 * must be configured and take one-time challenges. Copies its name into
 * out. Returns 0, 1 when the user may not have it (logged), -1 on a
 * database error (logged).
 */
static int
ndes_profile(struct gw_ctx *ctx, struct MHD_Connection *conn, const char *peer,
    const char *user, char *out, size_t n)
{
	const char *want, *p;
	const struct gw_profile *prof;
	char *profiles = NULL;
	struct gw_err err;
	size_t len;
	int r;

	r = db_user_profiles(ctx->db, user, &profiles, &err);
	if (r != 0) {
		if (r == 1)
			log_ev(LOG_INFO, "ndes",
			    LOG_F(.peer = peer, .user = user),
			    "%s ndes: user=%s: removed meanwhile", peer, user);
		else
			log_ev(LOG_WARNING, "db.error",
			    LOG_F(.peer = peer, .user = user),
			    "%s ndes: user=%s: database: %s", peer, user,
			    err.msg);
		return r;
	}
	want =
	    MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "profile");
	for (p = profiles;; p += len + 1) {
		len = strcspn(p, ",");
		if (want == NULL ||
		    (strlen(want) == len && strncmp(p, want, len) == 0))
			break;
		if (p[len] == '\0') {
			p = NULL;
			break;
		}
	}
	r = 1;
	if (p == NULL || len == 0 || len >= n)
		log_ev(LOG_INFO, "ndes.refused",
		    LOG_F(.peer = peer, .user = user),
		    "%s ndes: user=%s: refused: profile not among the "
		    "user's (%s)",
		    peer, user, profiles);
	else {
		memcpy(out, p, len);
		out[len] = '\0';
		prof = config_profile_find(ctx->cfg, out);
		if (prof == NULL || config_profile_onetime_refusal(prof))
			log_ev(LOG_INFO, "ndes.refused",
			    LOG_F(.peer = peer, .user = user),
			    "%s ndes: user=%s: refused: profile %s %s", peer,
			    user, out,
			    prof == NULL ?
				"is not configured" :
				config_profile_onetime_refusal(prof));
		else
			r = 0;
	}
	free(profiles);
	return r;
}

/*
 * A challenge for an authenticated user with the right to issue, bound to
 * one of the user's profiles: stored unless the cap of outstanding
 * challenges is reached.
 */
static enum MHD_Result
ndes_issue(struct gw_ctx *ctx, struct MHD_Connection *conn, const char *peer,
    const char *user)
{
	char secret[ENROLL_SECRET_LEN], profile[72];
	int64_t now = (int64_t)time(NULL), id = 0, cap;
	struct gw_err err;
	uint8_t hash[32];
	enum MHD_Result rc;
	int r;

	cap = ctx->cfg->admin_max_outstanding > 0 ?
	    ctx->cfg->admin_max_outstanding :
	    INT64_MAX;
	r = ndes_profile(ctx, conn, peer, user, profile, sizeof(profile));
	if (r == -1)
		return gw_respond(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "text/plain", "try again later\n", 16, NULL);
	if (r == 1)
		return ndes_send(conn,
		    "<P> You do not have sufficient permission to enroll with "
		    "SCEP. Please contact your system administrator. </P>\r\n");
	if (enroll_challenge_make(secret, hash) != 0)
		return MHD_NO;
	r = db_challenge_put_capped(ctx->db, hash, now,
	    now + ctx->cfg->challenge_ttl_seconds, cap, profile, &id, &err);
	gw_cleanse(hash, sizeof(hash));
	if (r == -1) {
		log_ev(LOG_WARNING, "db.error",
		    LOG_F(.peer = peer, .user = user),
		    "%s ndes: user=%s: database: %s", peer, user, err.msg);
		rc = gw_respond(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "text/plain", "try again later\n", 16, NULL);
	} else if (r == 1) {
		log_ev(LOG_WARNING, "ndes", LOG_F(.peer = peer, .user = user),
		    "%s ndes: user=%s: password cache is full ([admin] "
		    "max_outstanding_challenges = %ld)",
		    peer, user, ctx->cfg->admin_max_outstanding);
		rc = ndes_send(conn,
		    "<P> The password cache is full. Unused passwords expire "
		    "after their lifetime; try again later, or ask the "
		    "administrator to raise the limit. </P>\r\n");
	} else {
		log_ev(LOG_INFO, "ndes.challenge",
		    LOG_F(.peer = peer, .profile = profile, .user = user),
		    "%s ndes: user=%s: challenge id=%lld issued for "
		    "profile %s",
		    peer, user, (long long)id, profile);
		rc = ndes_send_challenge(ctx, conn, secret);
	}
	gw_cleanse(secret, sizeof(secret));
	return rc;
}

/* Answers 401 with the Basic challenge, as NDES/IIS would. */
static enum MHD_Result
ndes_unauthorized(struct MHD_Connection *conn)
{
	static const char *const hdr[] = { MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		"Basic realm=\"" NDES_REALM "\", charset=\"UTF-8\"", NULL };
	static const char text[] = "401 - Unauthorized: Access is denied "
				   "due to invalid credentials.\n";

	return gw_respond(conn, MHD_HTTP_UNAUTHORIZED, "text/plain", text,
	    sizeof(text) - 1, hdr);
}

/* Checks the Basic credentials of the request; 0 ok, 1 bad, -1 error. */
static int
ndes_login(struct gw_ctx *ctx, const char *user, char *pass, bool *can_issue)
{
	struct gw_err err;
	int r;

	r = db_user_check(ctx->db, user, pass != NULL ? pass : "", can_issue,
	    &err);
	if (r == -1)
		log_ev(LOG_WARNING, "ndes", NULL, "ndes: user check: %s",
		    err.msg);
	return r;
}

/*
 * One login: made on the HTTP thread, checked (scrypt) on a login thread,
 * answered back on the HTTP thread once resume() has run. The HTTP layer
 * owns it (ndes_job_free()) while it is not on the queue.
 */
struct ndes_job {
	struct ndes_job *next; /* on the queue */
	struct gw_ctx *ctx;
	char *user;		   /* MHD's, freed with MHD_free() */
	char *pass;		   /* MHD's; wiped once checked */
	char peer[64];		   /* client address, for the limit and logs */
	bool head;		   /* HEAD: no challenge is issued */
	int result;		   /* ndes_login(): 0, 1 or -1 */
	bool can_issue;		   /* result 0: may fetch challenges */
	void (*resume)(void *arg); /* called once, after the check */
	void *resume_arg;
};

/* The login threads: scrypt (32 MiB, ~0.1 s) off the HTTP workers. */
struct ndes {
	pthread_mutex_t mu;	/* guards all below */
	pthread_cond_t work_cv; /* a job was queued, or stop */
	pthread_cond_t idle_cv; /* queue empty, nothing running */
	struct ndes_job *head;	/* oldest first */
	struct ndes_job *tail;
	unsigned waiting;     /* on the queue */
	unsigned running;     /* being checked, or resuming */
	unsigned max_waiting; /* [ndes] max_waiting_logins */
	bool stop;
	pthread_t *threads;
	unsigned nthreads; /* started */
};

/* Frees a job; NULL-safe. The password is wiped first. */
void
ndes_job_free(struct ndes_job *j)
{
	if (j == NULL)
		return;
	if (j->pass != NULL)
		gw_cleanse(j->pass, strlen(j->pass));
	MHD_free(j->pass);
	MHD_free(j->user);
	free(j);
}

/* Checks one job's login, then hands it back to its HTTP request. */
static void
ndes_job_run(struct ndes_job *j)
{
	void (*resume)(void *arg) = j->resume;
	void *arg = j->resume_arg;

	ERR_clear_error();
	j->result = ndes_login(j->ctx, j->user, j->pass, &j->can_issue);
	if (j->pass != NULL)
		gw_cleanse(j->pass, strlen(j->pass));
	/* The job may be freed from here on. */
	resume(arg);
}

/* A login thread: takes jobs oldest first until stopped. */
static void *
ndes_thread(void *arg)
{
	struct ndes *n = arg;
	struct ndes_job *j;

	gw_thread_name("scepgw-ndes");
	pthread_mutex_lock(&n->mu);
	for (;;) {
		while (!n->stop && n->head == NULL)
			pthread_cond_wait(&n->work_cv, &n->mu);
		if (n->stop)
			break;
		j = n->head;
		n->head = j->next;
		if (n->head == NULL)
			n->tail = NULL;
		n->waiting--;
		n->running++;
		pthread_mutex_unlock(&n->mu);
		ndes_job_run(j);
		pthread_mutex_lock(&n->mu);
		n->running--;
		if (n->head == NULL && n->running == 0)
			pthread_cond_broadcast(&n->idle_cv);
	}
	pthread_mutex_unlock(&n->mu);
	return NULL;
}

/* Queues j for a login thread; -1 when [ndes] max_waiting_logins wait. */
static int
ndes_queue(struct ndes *n, struct ndes_job *j)
{
	int rc = -1;

	pthread_mutex_lock(&n->mu);
	if (!n->stop && n->waiting < n->max_waiting) {
		j->next = NULL;
		if (n->tail != NULL)
			n->tail->next = j;
		else
			n->head = j;
		n->tail = j;
		n->waiting++;
		pthread_cond_signal(&n->work_cv);
		rc = 0;
	}
	pthread_mutex_unlock(&n->mu);
	return rc;
}

/*
 * Starts [ndes] login_threads threads that check NDES logins, at most
 * that many scrypt computations at once, with up to [ndes]
 * max_waiting_logins more waiting. Returns 0 with *out set (free it with
 * ndes_free()), or -1 with err set.
 */
int
ndes_new(struct ndes **out, const struct gw_config *cfg, struct gw_err *err)
{
	unsigned want =
	    cfg->ndes_login_threads > 0 ? cfg->ndes_login_threads : 1;
	struct ndes *n;

	*out = NULL;
	if ((n = calloc(1, sizeof(*n))) == NULL ||
	    (n->threads = calloc(want, sizeof(*n->threads))) == NULL) {
		free(n);
		gw_err_set(err, ENOMEM, "out of memory");
		return -1;
	}
	n->max_waiting = cfg->ndes_max_waiting;
	pthread_mutex_init(&n->mu, NULL);
	pthread_cond_init(&n->work_cv, NULL);
	pthread_cond_init(&n->idle_cv, NULL);
	while (n->nthreads < want &&
	    pthread_create(&n->threads[n->nthreads], NULL, ndes_thread, n) == 0)
		n->nthreads++;
	if (n->nthreads < want) {
		ndes_free(n);
		gw_err_set(err, EAGAIN, "cannot start the NDES login threads");
		return -1;
	}
	*out = n;
	return 0;
}

/*
 * Waits until no login is queued or being checked, so that no connection
 * stays suspended for one (serve's drain); new logins are refused by the
 * HTTP layer by then. NULL-safe.
 */
void
ndes_drain(struct ndes *n)
{
	if (n == NULL)
		return;
	pthread_mutex_lock(&n->mu);
	while (n->head != NULL || n->running > 0)
		pthread_cond_wait(&n->idle_cv, &n->mu);
	pthread_mutex_unlock(&n->mu);
}

/* Stops the login threads and frees what is left; NULL-safe. */
void
ndes_free(struct ndes *n)
{
	struct ndes_job *j;
	unsigned i;

	if (n == NULL)
		return;
	pthread_mutex_lock(&n->mu);
	n->stop = true;
	pthread_cond_broadcast(&n->work_cv);
	pthread_mutex_unlock(&n->mu);
	for (i = 0; i < n->nthreads; i++)
		pthread_join(n->threads[i], NULL);
	while ((j = n->head) != NULL) {
		n->head = j->next;
		ndes_job_free(j);
	}
	pthread_cond_destroy(&n->idle_cv);
	pthread_cond_destroy(&n->work_cv);
	pthread_mutex_destroy(&n->mu);
	free(n->threads);
	free(n);
}

/* 503 while every login thread is busy and the queue is full. */
static enum MHD_Result
ndes_busy(struct MHD_Connection *conn, const char *peer, const char *user)
{
	log_ev(LOG_WARNING, "ndes", LOG_F(.peer = peer, .user = user),
	    "%s ndes: user=%s: too many logins waiting ([ndes] "
	    "max_waiting_logins)",
	    peer, user);
	return gw_respond(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain",
	    "try again later\n", 16,
	    (const char *const[]) { "Retry-After", "1", NULL });
}

/*
 * Serves GET and HEAD /certsrv/mscep_admin/ for the SCEP listener
 * (http/request.c); other methods get 405. Answers at once (a missing login,
 * the failure limit, a full queue), or queues the login check for a login
 * thread and sets *job: the caller then suspends the connection until
 * resume(arg) runs, and answers with ndes_page_finish(). Returns what
 * MHD_queue_response() returned, or MHD_YES with *job set.
 */
enum MHD_Result
ndes_page(struct gw_ctx *ctx, struct MHD_Connection *conn, const char *method,
    struct ndes_job **job, void (*resume)(void *arg), void *arg)
{
	static const char *const allow[] = { "Allow", "GET, HEAD", NULL };
	struct ndes_job *j = NULL;
	char *user = NULL, *pass = NULL;
	char peer[64];
	enum MHD_Result rc;

	*job = NULL;
	srv_client_addr(ctx, conn, peer, sizeof(peer));
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return gw_respond(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "text/plain", "method not allowed\n", 19, allow);
	user = MHD_basic_auth_get_username_password(conn, &pass);
	if (user == NULL) {
		log_ev(LOG_INFO, "ndes.unauthorized", LOG_F(.peer = peer),
		    "%s ndes: no credentials", peer);
		rc = ndes_unauthorized(conn);
		goto out;
	}
	if (ctx->rl != NULL &&
	    !ratelimit_take(ctx->rl, peer, (int64_t)time(NULL))) {
		log_ev(LOG_INFO, "ndes.limited",
		    LOG_F(.peer = peer, .user = user),
		    "%s ndes: user=%s: too many failed logins", peer, user);
		rc = gw_respond(conn, MHD_HTTP_TOO_MANY_REQUESTS, "text/plain",
		    "too many failed attempts; try later\n", 36,
		    (const char *const[]) { "Retry-After", "60", NULL });
		goto out;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		rc = MHD_NO;
		goto refund;
	}
	j->ctx = ctx;
	j->user = user;
	j->pass = pass;
	user = pass = NULL;
	snprintf(j->peer, sizeof(j->peer), "%s", peer);
	j->head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
	j->resume = resume;
	j->resume_arg = arg;
	if (ndes_queue(ctx->ndes, j) == -1) {
		rc = ndes_busy(conn, peer, j->user);
		goto refund;
	}
	*job = j;
	j = NULL;
	rc = MHD_YES;
	goto out;
refund:
	/* Not a failed login: the reserved failure goes back. */
	if (ctx->rl != NULL)
		ratelimit_refund(ctx->rl, peer);
out:
	ndes_job_free(j);
	if (pass != NULL)
		gw_cleanse(pass, strlen(pass));
	MHD_free(pass);
	MHD_free(user);
	return rc;
}

/*
 * Answers a login that a login thread has checked (ndes_page() queued it):
 * 401, the "sufficient permission" page, or a fresh challenge. HEAD gets
 * the page without a challenge: none is made for an answer whose body is
 * never sent. Returns what MHD_queue_response() returned.
 */
enum MHD_Result
ndes_page_finish(struct gw_ctx *ctx, struct MHD_Connection *conn,
    const struct ndes_job *j)
{
	if (j->result != 1 && ctx->rl != NULL)
		ratelimit_refund(ctx->rl, j->peer);
	if (j->result == -1)
		return gw_respond(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "text/plain", "try again later\n", 16, NULL);
	if (j->result == 1) {
		log_ev(LOG_INFO, "ndes.login_failed",
		    LOG_F(.peer = j->peer, .user = j->user),
		    "%s ndes: user=%s: login failed", j->peer, j->user);
		return ndes_unauthorized(conn);
	}
	if (!j->can_issue) {
		log_ev(LOG_INFO, "ndes.refused",
		    LOG_F(.peer = j->peer, .user = j->user),
		    "%s ndes: user=%s: no right to issue", j->peer, j->user);
		return ndes_send(conn,
		    "<P> You do not have sufficient permission to enroll with "
		    "SCEP. Please contact your system administrator. </P>\r\n");
	}
	if (j->head) {
		log_ev(LOG_INFO, "ndes",
		    LOG_F(.peer = j->peer, .user = j->user),
		    "%s ndes: user=%s: HEAD, no challenge issued", j->peer,
		    j->user);
		return ndes_send(conn, "");
	}
	return ndes_issue(ctx, conn, j->peer, j->user);
}
