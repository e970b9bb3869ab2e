/*
 * HTTP(S) transport for EPKI SOAP calls. One thread of its own drives a
 * libcurl multi handle, so thousands of calls can be in flight without a
 * thread each; callers queue jobs under a mutex and wake the thread. A
 * blocking variant serves the CLI. Nothing here logs, and request bodies
 * (they carry the password) are wiped when done.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "buf.h"
#include "gw_err.h"
#include "gw_thread.h"
#include "secure.h"
#include "epki.h"

#define CLIENT_DEF_TIMEOUT 60L
#define CLIENT_DEF_CONNECT 15L
#define CLIENT_DEF_MAX (1024 * 1024)
#define CLIENT_RECV_BUFFER 4096L
/*
 * Idle connections kept for reuse. Left to itself libcurl keeps four per
 * call in flight at that moment, so whenever fewer calls are in flight
 * it closes some, and the next burst opens them again: at 16 enrollments
 * in flight against epki-sim, 8% of orders paid a new connection (against
 * GlobalSign, a TLS handshake over the internet). 64 covers any steady
 * load this side of a burst; a burst beyond it opens more, up to
 * [epki] max_connections, and closes them afterwards.
 */
#define CLIENT_IDLE_CONNECTIONS 64L
/*
 * Seconds a connection may sit idle and still be reused (libcurl: 118).
 * A server or middlebox that closes an idle connection with a FIN or RST
 * is noticed before reuse; one that drops it silently is found out only
 * when the next order is sent on it, and that order then fails as
 * "connection lost after the request was sent" (client_prereq()): PENDING
 * and a lookup instead of SUCCESS. Load balancers and NAT rarely forget a
 * connection in under a minute; a busy gateway reuses well within 30 s.
 */
#define CLIENT_MAX_IDLE_S 30L

/* One queued or running call. */
struct job {
	struct job *prev, *next; /* queue or active list */
	CURL *easy;
	struct curl_slist *hdrs;
	struct buf body; /* request; wiped when done */
	size_t sent;	 /* body bytes handed to libcurl so far */
	unsigned tries;	 /* times libcurl was about to send the request */
	struct buf resp; /* response, capped */
	bool too_big;	 /* the response passed its ceiling */
	bool (*may_start)(void *arg); /* an order: asked before sending */
	void *may_start_arg;
	bool refused; /* may_start() said no: nothing was sent */
	epki_http_fn *done;
	void *arg;
	char errbuf[CURL_ERROR_SIZE];
};

struct epki_client {
	struct epki_client_opts o; /* url and ca_file point below */
	char *url;
	char *ca_file;
	CURLM *multi;
	pthread_t thread;
	bool started;	    /* thread is running */
	pthread_mutex_t mu; /* guards queue and stop */
	struct job *queue;  /* submitted, not yet handed to curl */
	bool stop;
	struct job *active;    /* added to the multi handle; thread only */
	uint64_t calls;	       /* finished calls; under mu */
	uint64_t connects;     /* connections those calls opened; under mu */
	struct epki_status st; /* last success and failure; under mu */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

/* libcurl's global state, once per process. */
static void
client_global_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Collects response bytes up to the ceiling; 0 stops the transfer. */
static size_t
client_write(char *p, size_t size, size_t n, void *arg)
{
	struct job *j = arg;

	if (buf_add(&j->resp, p, size * n) == -1) {
		j->too_big = true;
		return 0;
	}
	return size * n;
}

/* Hands libcurl the next part of the request body. */
static size_t
client_read(char *p, size_t size, size_t n, void *arg)
{
	struct job *j = arg;
	size_t left = j->body.len - j->sent, want = size * n;

	if (want > left)
		want = left;
	memcpy(p, j->body.data + j->sent, want);
	j->sent += want;
	return want;
}

/*
 * Called by libcurl right before it sends the request, on a new or a
 * reused connection. libcurl resends a request by itself when a reused
 * connection dies before the first byte of the answer, as if the server
 * had closed it while idle. For OrderAndIssueCertificate that may be a
 * second order: GlobalSign may have read the first, issued and charged
 * a licence, and only the answer been lost (GlobalSign has no
 * idempotency key; look the order up before ordering again). So once
 * libcurl has taken any of the body, a second attempt is aborted: the
 * call fails as a transport error and the caller looks the order up
 * (enroll answers PENDING, the reconciler queries GetOrders before it
 * orders again). The body is fed by client_read() for this: with
 * CURLOPT_POSTFIELDS libcurl resends it without asking.
 */
static int
client_prereq(void *arg, char *ip, char *local_ip, int port, int local_port)
{
	struct job *j = arg;

	(void)ip;
	(void)local_ip;
	(void)port;
	(void)local_port;
	if (j->tries++ > 0 && j->sent > 0)
		return CURL_PREREQFUNC_ABORT;
	/*
	 * The last moment before an order leaves, after any wait for one
	 * of [epki] max_connections: the order gate is asked here, not
	 * when the order was queued (README "How an enrollment works" 7).
	 */
	if (j->may_start != NULL && j->sent == 0 &&
	    !j->may_start(j->may_start_arg)) {
		j->refused = true;
		return CURL_PREREQFUNC_ABORT;
	}
	return CURL_PREREQFUNC_OK;
}

/* Sets the options every EPKI POST shares; CURLE_OK or the failure. */
static CURLcode
client_easy_setup(CURL *e, const struct epki_client_opts *o, struct job *j)
{
	CURLcode rc = CURLE_OK;

#define SETOPT(opt, val)                                    \
	do {                                                \
		if (rc == CURLE_OK)                         \
			rc = curl_easy_setopt(e, opt, val); \
	} while (0)
	SETOPT(CURLOPT_URL, o->url);
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_PROTOCOLS_STR, o->https_only ? "https" : "http,https");
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	SETOPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (o->ca_file != NULL)
		SETOPT(CURLOPT_CAINFO, o->ca_file);
	SETOPT(CURLOPT_TIMEOUT,
	    o->timeout_s > 0 ? o->timeout_s : CLIENT_DEF_TIMEOUT);
	SETOPT(CURLOPT_CONNECTTIMEOUT,
	    o->connect_timeout_s > 0 ? o->connect_timeout_s :
				       CLIENT_DEF_CONNECT);
	SETOPT(CURLOPT_MAXAGE_CONN, CLIENT_MAX_IDLE_S);
	SETOPT(CURLOPT_USERAGENT, "scepgw-epki/1");
	SETOPT(CURLOPT_HTTPHEADER, j->hdrs);
	SETOPT(CURLOPT_POST, 1L);
	SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->body.len);
	SETOPT(CURLOPT_READFUNCTION, client_read);
	SETOPT(CURLOPT_READDATA, j);
	SETOPT(CURLOPT_PREREQFUNCTION, client_prereq);
	SETOPT(CURLOPT_PREREQDATA, j);
	/*
	 * Each easy handle allocates its receive buffer (16 KiB by default)
	 * for as long as its call is in flight; with thousands of orders
	 * waiting on GlobalSign that adds up, and SOAP answers arrive in a
	 * few reads of 4 KiB all the same.
	 */
	SETOPT(CURLOPT_BUFFERSIZE, CLIENT_RECV_BUFFER);
	SETOPT(CURLOPT_WRITEFUNCTION, client_write);
	SETOPT(CURLOPT_WRITEDATA, j);
	SETOPT(CURLOPT_ERRORBUFFER, j->errbuf);
	SETOPT(CURLOPT_PRIVATE, j);
#undef SETOPT
	return rc;
}

/* Frees a job, wiping the request body; NULL-safe. */
static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	curl_easy_cleanup(j->easy);
	curl_slist_free_all(j->hdrs);
	gw_cleanse(j->body.data, j->body.len);
	buf_cleanup(&j->body);
	buf_cleanup(&j->resp);
	free(j);
}

/*
 * A job ready to run: takes body (the caller's buffer is left empty),
 * NULL on failure with err set.
 */
static struct job *
job_new(const struct epki_client_opts *o, const char *op, struct buf *body,
    struct gw_err *err)
{
	static const char *const hdrs[] = {
		"Content-Type: text/xml; charset=utf-8",
		"SOAPAction: \"\"",
		"Expect:",
	};
	struct curl_slist *l;
	struct job *j;
	size_t i;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		goto err;
	j->body = *body;
	buf_init(body, body->max);
	buf_init(&j->resp,
	    o->max_response > 0 ? o->max_response : CLIENT_DEF_MAX);
	for (i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		if ((l = curl_slist_append(j->hdrs, hdrs[i])) == NULL)
			goto err;
		j->hdrs = l;
	}
	if (j->body.data == NULL || (j->easy = curl_easy_init()) == NULL ||
	    client_easy_setup(j->easy, o, j) != CURLE_OK)
		goto err;
	/* Only an order is gated: a lookup pays for nothing. */
	if (op != NULL && strcmp(op, "OrderAndIssueCertificate") == 0) {
		j->may_start = o->may_start;
		j->may_start_arg = o->may_start_arg;
	}
	return j;
err:
	gw_err_set(err, ENOMEM, "epki: cannot prepare the HTTP request");
	if (j == NULL) {
		gw_cleanse(body->data, body->len);
		buf_cleanup(body);
	}
	job_free(j);
	return NULL;
}

/* Why a finished job failed, for a log line. */
static const char *
job_error(const struct job *j, CURLcode code)
{
	if (j->too_big)
		return "response body too large";
	if (j->refused)
		return "not sent: this gateway's lease might not outlast the "
		       "call (order gate closed)";
	if (code == CURLE_SEND_FAIL_REWIND ||
	    (code == CURLE_ABORTED_BY_CALLBACK && j->tries > 1))
		return "connection lost after the request was sent; not sent "
		       "again, it may have been carried out";
	return j->errbuf[0] != '\0' ? j->errbuf : curl_easy_strerror(code);
}

/* Reports a finished (or abandoned) job to its owner, then frees it. */
static void
job_finish(struct job *j, CURLcode code)
{
	struct epki_http h;
	long status = 0;

	memset(&h, 0, sizeof(h));
	if (code == CURLE_OK)
		curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
	h.curl_code = (int)code;
	h.status = status;
	h.body = j->resp.data;
	h.len = j->resp.len;
	if (j->too_big || code != CURLE_OK)
		h.error = job_error(j, code);
	/* Refused by the gate, or never handed to curl (shutdown). */
	h.local =
	    j->refused || (code == CURLE_ABORTED_BY_CALLBACK && j->tries == 0);
	j->done(j->arg, &h);
	job_free(j);
}

/* Unlinks j from the thread's active list and from the multi handle. */
static void
client_unlink(struct epki_client *c, struct job *j)
{
	curl_multi_remove_handle(c->multi, j->easy);
	if (j->prev != NULL)
		j->prev->next = j->next;
	else
		c->active = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
	j->prev = j->next = NULL;
}

/* Hands newly queued jobs to curl; on shutdown fails them instead. */
static void
client_admit(struct epki_client *c, struct job *q, bool stop)
{
	struct job *j;

	while ((j = q) != NULL) {
		q = j->next;
		j->prev = j->next = NULL;
		if (stop ||
		    curl_multi_add_handle(c->multi, j->easy) != CURLM_OK) {
			job_finish(j, CURLE_ABORTED_BY_CALLBACK);
			continue;
		}
		j->next = c->active;
		if (c->active != NULL)
			c->active->prev = j;
		c->active = j;
	}
}

/* Counts a finished call and the connections it had to open. */
static void
client_count(struct epki_client *c, CURL *easy)
{
	long opened = 0;

	if (curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &opened) != CURLE_OK)
		opened = 0;
	pthread_mutex_lock(&c->mu);
	c->calls++;
	c->connects += (uint64_t)(opened > 0 ? opened : 0);
	pthread_mutex_unlock(&c->mu);
}

/* Completes every transfer curl reports done. */
static void
client_reap(struct epki_client *c)
{
	struct job *j;
	CURLMsg *m;
	int left;
	char *priv;

	while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		priv = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		j = (struct job *)(void *)priv;
		client_count(c, m->easy_handle);
		client_unlink(c, j);
		job_finish(j, m->data.result);
	}
}

/* The transport thread: admit, perform, reap, poll until stopped. */
static void *
client_run(void *arg)
{
	struct epki_client *c = arg;
	struct job *q, *j;
	int running;
	bool stop;

	gw_thread_name("scepgw-epki");
	for (;;) {
		pthread_mutex_lock(&c->mu);
		q = c->queue;
		c->queue = NULL;
		stop = c->stop;
		pthread_mutex_unlock(&c->mu);
		client_admit(c, q, stop);
		if (stop)
			break;
		curl_multi_perform(c->multi, &running);
		client_reap(c);
		curl_multi_poll(c->multi, NULL, 0, 1000, NULL);
	}
	/* Shutdown: detach the list; every call in flight fails. */
	q = c->active;
	c->active = NULL;
	while ((j = q) != NULL) {
		q = j->next;
		curl_multi_remove_handle(c->multi, j->easy);
		j->prev = j->next = NULL;
		job_finish(j, CURLE_ABORTED_BY_CALLBACK);
	}
	return NULL;
}

/*
 * Creates a client and starts its transport thread. Copies what it keeps
 * of o. Returns 0, or -1 with err set; free with epki_client_free().
 */
int
epki_client_new(struct epki_client **out, const struct epki_client_opts *o,
    struct gw_err *err)
{
	struct epki_client *c;

	*out = NULL;
	pthread_once(&curl_once, client_global_init);
	if (curl_init_rc != CURLE_OK || o->url == NULL ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		gw_err_set(err, EINVAL, "epki: cannot set up the HTTP client");
		return -1;
	}
	c->o = *o;
	c->url = gw_strdup(o->url);
	c->ca_file = gw_strdup(o->ca_file);
	c->o.url = c->url;
	c->o.ca_file = c->ca_file;
	if (pthread_mutex_init(&c->mu, NULL) != 0)
		goto err;
	if (c->url == NULL || (o->ca_file != NULL && c->ca_file == NULL) ||
	    (c->multi = curl_multi_init()) == NULL)
		goto err;
	if (o->max_connections > 0)
		curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
		    o->max_connections);
	curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS,
	    o->max_connections > 0 &&
		    o->max_connections < CLIENT_IDLE_CONNECTIONS ?
		o->max_connections :
		CLIENT_IDLE_CONNECTIONS);
	if (pthread_create(&c->thread, NULL, client_run, c) != 0)
		goto err;
	c->started = true;
	*out = c;
	return 0;
err:
	gw_err_set(err, ENOMEM, "epki: cannot start the HTTP client");
	epki_client_free(c);
	return -1;
}

/*
 * Stops the transport thread; calls still pending complete first, with
 * an error, from that thread. NULL-safe. Do not post concurrently.
 */
void
epki_client_free(struct epki_client *c)
{
	if (c == NULL)
		return;
	if (c->started) {
		pthread_mutex_lock(&c->mu);
		c->stop = true;
		pthread_mutex_unlock(&c->mu);
		curl_multi_wakeup(c->multi);
		pthread_join(c->thread, NULL);
		pthread_mutex_destroy(&c->mu);
	}
	curl_multi_cleanup(c->multi);
	free(c->url);
	free(c->ca_file);
	free(c);
}

/*
 * struct epki_transport post() for a client: queues body (taken, even on
 * failure) and returns 0; done is then called exactly once from the
 * transport thread. On -1 (client stopping, no memory) done is not
 * called.
 */
static int
client_post(void *ctx, const char *op, struct buf *body, epki_http_fn *done,
    void *arg, struct gw_err *err)
{
	struct epki_client *c = ctx;
	struct job *j;
	bool stop;

	if ((j = job_new(&c->o, op, body, err)) == NULL)
		return -1;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&c->mu);
	stop = c->stop;
	if (!stop) {
		j->next = c->queue;
		c->queue = j;
	}
	pthread_mutex_unlock(&c->mu);
	if (stop) {
		gw_err_set(err, ECANCELED, "epki: client is shutting down");
		job_free(j);
		return -1;
	}
	curl_multi_wakeup(c->multi);
	return 0;
}

/* Calls finished so far and the connections they opened (a call that
 * reused one opened none). */
void
epki_client_stats(struct epki_client *c, uint64_t *calls, uint64_t *connects)
{
	pthread_mutex_lock(&c->mu);
	*calls = c->calls;
	*connects = c->connects;
	pthread_mutex_unlock(&c->mu);
}

/* What a libcurl failure means to whoever has to fix it. */
static enum epki_net
client_net(int code)
{
	switch (code) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return EPKI_NET_CONNECT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
		return EPKI_NET_TLS;
	case CURLE_OPERATION_TIMEDOUT:
		return EPKI_NET_TIMEOUT;
	default:
		return EPKI_NET_OTHER;
	}
}

/*
 * struct epki_transport note(): keeps the time of the last success and
 * what the last failure was (README "Admin web console", dashboard). A
 * call our own order gate stopped, or shutdown, reached nobody: not kept.
 */
static void
client_note(void *ctx, const char *op, const struct epki_http *h,
    const struct epki_resp *r)
{
	struct epki_client *c = ctx;
	const char *text;
	int64_t now = (int64_t)time(NULL);

	if (h->local)
		return;
	pthread_mutex_lock(&c->mu);
	if (r->cls == EPKI_OK || r->cls == EPKI_WARNING) {
		c->st.last_ok = now;
		c->st.failing = false;
		pthread_mutex_unlock(&c->mu);
		return;
	}
	c->st.last_err = now;
	c->st.failing = true;
	c->st.cls = r->cls;
	c->st.net =
	    h->curl_code != 0 ? client_net(h->curl_code) : EPKI_NET_NONE;
	c->st.code = r->nerrors > 0 ? r->errors[0].code : 0;
	c->st.http_status = r->http_status;
	snprintf(c->st.op, sizeof(c->st.op), "%s", op);
	text = r->fault[0] != '\0' || r->nerrors == 0 ? r->fault :
							r->errors[0].message;
	snprintf(c->st.text, sizeof(c->st.text), "%s", text);
	pthread_mutex_unlock(&c->mu);
}

/* A copy of the client's last success and failure (zeroes: none yet). */
void
epki_client_status(struct epki_client *c, struct epki_status *out)
{
	pthread_mutex_lock(&c->mu);
	*out = c->st;
	pthread_mutex_unlock(&c->mu);
}

/* The transport interface of a client, for epki_order_submit(). */
struct epki_transport
epki_client_transport(struct epki_client *c)
{
	struct epki_transport t = { .post = client_post,
		.ctx = c,
		.note = client_note };

	return t;
}

/*
 * Posts body and waits for the answer (for the CLI). resp is initialised
 * here with the ceiling o->max_response; the caller cleans it up. Returns
 * 0 when an HTTP response arrived (any status, in *status), -1 with err
 * set on a network, TLS or size failure.
 */
int
epki_client_post_sync(const struct epki_client_opts *o, const char *op,
    const struct buf *body, struct buf *resp, long *status, struct gw_err *err)
{
	struct buf copy;
	struct job *j = NULL;
	CURLcode code;
	int rc = -1;

	*status = 0;
	buf_init(resp, o->max_response > 0 ? o->max_response : CLIENT_DEF_MAX);
	pthread_once(&curl_once, client_global_init);
	buf_init(&copy, 0);
	if (curl_init_rc != CURLE_OK ||
	    buf_add(&copy, body->data, body->len) == -1) {
		gw_err_set(err, ENOMEM, "epki %s: cannot set up curl", op);
		goto out;
	}
	if ((j = job_new(o, op, &copy, err)) == NULL)
		goto out;
	code = curl_easy_perform(j->easy);
	if (code != CURLE_OK) {
		gw_err_set(err, (int)code, "epki %s: %s", op,
		    job_error(j, code));
		goto out;
	}
	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, status);
	*resp = j->resp;
	buf_init(&j->resp, 0);
	rc = 0;
out:
	gw_cleanse(copy.data, copy.len);
	buf_cleanup(&copy);
	job_free(j);
	return rc;
}
