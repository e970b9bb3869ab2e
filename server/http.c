/*
 * The SCEP listener: libmicrohttpd glue and routing (RFC 8894 section 4).
 * A small fixed pool of MHD threads (epoll) serves every connection. A
 * PKIOperation that waits for GlobalSign suspends its connection instead
 * of holding a thread; enroll.c resumes it when the answer (or the
 * PENDING deadline) arrives, and the CertRep is built back on an MHD
 * thread. Each request's memory lives in MHD's con_cls and is freed in the
 * completion callback, its one owner. A watchdog thread cuts connections
 * whose request takes longer than [server] request_timeout_seconds to
 * arrive (MHD's own timeout only sees idleness).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "admin.h"
#include "buf.h"
#include "config.h"
#include "gw.h"
#include "gw_err.h"
#include "gw_thread.h"
#include "log.h"
#include "ndes.h"
#include "proxy.h"
#include "scep.h"

#define CT_TEXT "text/plain"
#define CT_PKI "application/x-pki-message"
#define CT_CA_RA "application/x-x509-ca-ra-cert"
#define CT_NEXT_CA "application/x-x509-next-ca-cert"

/*
 * Ceiling of MHD's per-connection memory (request line and headers).
 * libmicrohttpd 0.9.75 zeroes all of it before every request on a
 * keep-alive connection: at 272 KiB (64 KiB messages) that memset was
 * 28% of the CPU of serving GetCACaps. 32 KiB, MHD's own default, holds
 * a GET message= of about 20 KiB (base64, percent-escaped; past it 414);
 * bigger messages come by POST, which GetCACaps advertises.
 */
#define CONN_MEMORY_MAX (32 * 1024)

/*
 * One open connection, for the request deadline: from its start (or the
 * end of its previous request) until its request has fully arrived, it
 * is "receiving"; the watchdog shuts down the socket of one that
 * receives for longer than [server] request_timeout_seconds. MHD's own
 * timeout is an idle timeout, which a client trickling one byte at a
 * time never trips (slowloris).
 */
struct srv_conn {
	struct srv_conn *prev, *next;
	MHD_socket fd;
	time_t since; /* CLOCK_MONOTONIC seconds */
	bool receiving;
	bool cut;
};

struct srv_http {
	struct MHD_Daemon *daemon;
	struct gw_ctx *ctx;
	unsigned port;
	pthread_mutex_t mu; /* guards conns, nconns, stop, draining, busy */
	pthread_cond_t cv;
	struct srv_conn *conns;
	size_t nconns; /* on the list */
	bool stop;
	bool draining;		/* srv_http_quiesce(): new requests get 503 */
	unsigned busy;		/* requests being dispatched (srv_enter()) */
	pthread_cond_t busy_cv; /* busy fell to 0 */
	bool watchdog;		/* the thread runs */
	pthread_t thread;
	/* Quiesced listener: MHD's workers may use it until they are joined. */
	MHD_socket quiesced_fd;
	/* GetCACaps and GetCACert never change while serving: one response
	 * each, queued again for every request (no allocation per GET). */
	struct MHD_Response *caps;
	struct MHD_Response *cacert;
};

static void srv_conn_mark(struct srv_http *h, struct MHD_Connection *conn,
    bool receiving);

/* Above this many open connections, a reply that waited for an order
 * closes its connection (srv_reply_op()): at most 8 MiB kept for reuse. */
#define SRV_KEEPALIVE_CONNS 256

/* Connections open now, as srv_notify_conn() counts them. */
static size_t
srv_conns_open(struct srv_http *h)
{
	size_t n;

	pthread_mutex_lock(&h->mu);
	n = h->nconns;
	pthread_mutex_unlock(&h->mu);
	return n;
}

/* Per-request state, owned by MHD's con_cls. */
struct srv_req {
	struct gw_ctx *ctx;
	struct srv_http *h;
	struct MHD_Connection *conn;
	struct buf body; /* POST body, capped */
	bool too_big;
	bool async;	    /* an order is (or was) in flight */
	pthread_mutex_t mu; /* guards suspended / resume_pending */
	bool suspended;
	bool resume_pending;
	const char *opname; /* for the log line */
	struct enroll_op op;
	struct ndes_job *ndes; /* an NDES login being checked, or NULL */
};

/* The paths RFC 8894 4.1 and real clients use; anything may follow. */
static const char *const scep_paths[] = {
	"/scep",
	"/cgi-bin/pkiclient.exe",
	"/certsrv/mscep/mscep.dll",
};

/* True when url is one of the SCEP paths, alone or followed by '/'. */
static bool
route_is_scep(const char *url)
{
	size_t i, n;

	for (i = 0; i < sizeof(scep_paths) / sizeof(scep_paths[0]); i++) {
		n = strlen(scep_paths[i]);
		if (strncasecmp(url, scep_paths[i], n) == 0 &&
		    (url[n] == '\0' || url[n] == '/'))
			return true;
	}
	return false;
}

/*
 * Routes a SCEP URL to its profile (README "Profiles"): /scep/NAME[/...]
 * selects [profile NAME]; /scep, /scep/ and /scep/pkiclient.exe (an alias
 * suffix, not a profile) and the other SCEP paths serve "default". Sets
 * *p (NULL for the default) and returns true, or false for a path that is
 * not SCEP or names no configured profile (404).
 */
static bool
route_scep_profile(const struct gw_config *cfg, const char *url,
    const struct gw_profile **p)
{
	char name[65];
	size_t n;

	*p = NULL;
	if (!route_is_scep(url))
		return false;
	if (strncasecmp(url, "/scep/", 6) != 0)
		return true;
	url += 6;
	n = strcspn(url, "/");
	if (n == 0 || (n == 13 && strncasecmp(url, "pkiclient.exe", n) == 0))
		return true;
	if (n >= sizeof(name) ||
	    strspn(url,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"0123456789_-") < n)
		return false;
	memcpy(name, url, n);
	name[n] = '\0';
	*p = config_profile_find(cfg, name);
	return *p != NULL;
}

/*
 * A response of len bytes at p with Content-Type ctype (NULL: none), or
 * NULL when out of memory (then p was not taken, whatever m says). MHD
 * 0.9.75 has no const-buffer constructor, so this is the one place that
 * drops const: with MHD_RESPMEM_PERSISTENT the bytes are never written to.
 */
static struct MHD_Response *
srv_response_new(const void *p, size_t len, enum MHD_ResponseMemoryMode m,
    const char *ctype)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(len, (void *)(uintptr_t)p, m);
	if (resp != NULL && ctype != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		    ctype);
	return resp;
}

/* Queues resp (NULL: out of memory) and drops our reference to it. */
static enum MHD_Result
srv_reply_resp(struct MHD_Connection *conn, unsigned status,
    struct MHD_Response *resp)
{
	enum MHD_Result rc;

	if (resp == NULL)
		return MHD_NO;
	rc = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return rc;
}

/* Queues a response of len bytes at p (see srv_response_new). */
static enum MHD_Result
srv_reply_bytes(struct MHD_Connection *conn, unsigned status, const char *ctype,
    const void *p, size_t len, enum MHD_ResponseMemoryMode m)
{
	return srv_reply_resp(conn, status, srv_response_new(p, len, m, ctype));
}

/* Logs one line for the request and queues a short text answer. */
static enum MHD_Result
srv_reply_text(struct srv_req *rq, unsigned status, const char *text)
{
	log_info("%s %s status=%u: %s", rq->op.peer,
	    rq->opname != NULL ? rq->opname : "-", status, text);
	return srv_reply_bytes(rq->conn, status, CT_TEXT, text, strlen(text),
	    MHD_RESPMEM_PERSISTENT);
}

/* Sends what enroll.c left in rq->op.reply; the body is handed to MHD. */
static enum MHD_Result
srv_reply_op(struct srv_req *rq)
{
	struct srv_reply *r = &rq->op.reply;
	struct MHD_Response *resp;
	const char *txid;

	txid = rq->op.msg != NULL ? scep_msg_txid(rq->op.msg) : NULL;
	log_info("%s PKIOperation status=%u txid=%s scep=%s", rq->op.peer,
	    r->http_status, txid != NULL ? txid : "-",
	    r->content_type != NULL && strcmp(r->content_type, CT_PKI) == 0 ?
		(rq->op.status == SCEP_STATUS_SUCCESS	     ? "SUCCESS" :
			rq->op.status == SCEP_STATUS_PENDING ? "PENDING" :
							       "FAILURE") :
		"-");
	resp = srv_response_new(r->body, r->len, MHD_RESPMEM_MUST_FREE,
	    r->content_type);
	if (resp == NULL)
		return MHD_NO;
	r->body = NULL; /* MHD frees it with the response */
	/*
	 * A request that waited for GlobalSign ends its device's enrollment:
	 * when many connections are open, close it rather than keep it
	 * alive. On keep-alive MHD 0.9.75 zeroes the connection's whole
	 * memory pool (up to CONN_MEMORY_MAX) for the next request, making it
	 * resident, for devices that will not send another: 2,000 that just
	 * enrolled would hold 64 MiB until their keep-alive timeout. A few
	 * connections (an MDM or a proxy sending enrollment after
	 * enrollment) stay open: reconnecting costs both sides CPU.
	 */
	if (rq->async && srv_conns_open(rq->h) > SRV_KEEPALIVE_CONNS)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION,
		    "close");
	return srv_reply_resp(rq->conn, r->http_status, resp);
}

/*
 * libmicrohttpd's own messages (a request line too long for the
 * connection memory: 414, headers too big: 431, ...) as warnings in our
 * log format instead of bare lines on stderr.
 */
static void
srv_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	log_warnx("http: %s", line);
}

/*
 * Called by enroll.c, from another thread, when an async operation ends.
 * If the handler has not suspended the connection yet, it finds the flag
 * and answers at once; otherwise the connection is resumed. The resume
 * happens outside the lock: once resumed, the request may be freed.
 */
static void
srv_req_resume(void *arg)
{
	struct srv_req *rq = arg;
	bool suspended;

	pthread_mutex_lock(&rq->mu);
	suspended = rq->suspended;
	if (!suspended)
		rq->resume_pending = true;
	pthread_mutex_unlock(&rq->mu);
	if (suspended)
		MHD_resume_connection(rq->conn);
}

/*
 * Suspends the connection until srv_req_resume() runs, for work another
 * thread does (an order, an NDES login). Returns false when that work
 * has ended already: the caller answers at once.
 */
static bool
srv_req_suspend(struct srv_req *rq)
{
	bool pending;

	rq->async = true;
	pthread_mutex_lock(&rq->mu);
	pending = rq->resume_pending;
	if (!pending) {
		rq->suspended = true;
		MHD_suspend_connection(rq->conn);
	}
	pthread_mutex_unlock(&rq->mu);
	return !pending;
}

/* Runs one PKIOperation; answers now or suspends until enroll.c resumes. */
static enum MHD_Result
srv_pkioperation(struct srv_req *rq, const uint8_t *der, size_t len)
{
	rq->opname = "PKIOperation";
	if (enroll_pkioperation(rq->ctx, &rq->op, der, len) == 0)
		return srv_reply_op(rq);
	if (srv_req_suspend(rq))
		return MHD_YES;
	enroll_finish(rq->ctx, &rq->op);
	return srv_reply_op(rq);
}

/*
 * The NDES page: answered now, or suspended while a login thread checks
 * the password (scrypt stays off the HTTP workers) and answered on resume.
 */
static enum MHD_Result
srv_ndes(struct srv_req *rq, const char *method)
{
	enum MHD_Result rc;

	rq->opname = "ndes";
	rc =
	    ndes_page(rq->ctx, rq->conn, method, &rq->ndes, srv_req_resume, rq);
	if (rq->ndes == NULL || srv_req_suspend(rq))
		return rc;
	return ndes_page_finish(rq->ctx, rq->conn, rq->ndes);
}

/* GET ?operation=PKIOperation&message=<base64>. */
static enum MHD_Result
srv_get_pkioperation(struct srv_req *rq)
{
	const struct gw_config *cfg = rq->ctx->cfg;
	struct gw_err err;
	struct buf der;
	const char *msg;
	enum MHD_Result rc;

	rq->opname = "PKIOperation";
	msg = MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND,
	    "message");
	if (msg == NULL || *msg == '\0')
		return srv_reply_text(rq, MHD_HTTP_BAD_REQUEST,
		    "PKIOperation needs a message parameter\n");
	if (scep_query_decode(msg, strlen(msg), cfg->max_request_bytes, &der,
		&err) == -1) {
		log_info("%s PKIOperation: message parameter: %s", rq->op.peer,
		    err.msg);
		return srv_reply_text(rq, MHD_HTTP_BAD_REQUEST,
		    "the message parameter is not valid base64 or too long\n");
	}
	rc = srv_pkioperation(rq, der.data, der.len);
	buf_cleanup(&der);
	return rc;
}

/*
 * GET ?operation=GetNextCACert (RFC 8894 4.7): the next RA certificate,
 * signed by the current RA key, while a rollover is configured.
 */
static enum MHD_Result
srv_get_nextcacert(struct srv_req *rq)
{
	const uint8_t *der;
	size_t len;

	rq->opname = "GetNextCACert";
	der = scep_ra_nextcacert(rq->ctx->ra, &len);
	if (der == NULL)
		return srv_reply_text(rq, MHD_HTTP_NOT_FOUND,
		    "no next RA certificate is configured\n");
	log_debug("%s GetNextCACert", rq->op.peer);
	return srv_reply_bytes(rq->conn, MHD_HTTP_OK, CT_NEXT_CA, der, len,
	    MHD_RESPMEM_PERSISTENT);
}

/* Routes a complete GET request by its operation parameter. */
static enum MHD_Result
srv_get(struct srv_req *rq)
{
	const char *op;

	op = MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND,
	    "operation");
	if (op == NULL)
		return srv_reply_text(rq, MHD_HTTP_BAD_REQUEST,
		    "missing operation parameter\n");
	if (strcasecmp(op, "GetCACaps") == 0) {
		rq->opname = "GetCACaps";
		log_debug("%s GetCACaps", rq->op.peer);
		return MHD_queue_response(rq->conn, MHD_HTTP_OK, rq->h->caps);
	}
	if (strcasecmp(op, "GetCACert") == 0) {
		rq->opname = "GetCACert";
		log_debug("%s GetCACert", rq->op.peer);
		return MHD_queue_response(rq->conn, MHD_HTTP_OK, rq->h->cacert);
	}
	if (strcasecmp(op, "GetNextCACert") == 0)
		return srv_get_nextcacert(rq);
	if (strcasecmp(op, "PKIOperation") == 0)
		return srv_get_pkioperation(rq);
	rq->opname = op;
	return srv_reply_text(rq, MHD_HTTP_BAD_REQUEST,
	    "unsupported operation\n");
}

/* The X-Forwarded-For header lines of a request, joined by commas. */
struct srv_xff {
	struct buf b; /* capped: a longer header is unreadable */
	bool bad;
};

/* MHD_get_connection_values() callback: adds one X-Forwarded-For line. */
static enum MHD_Result
srv_xff_add(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct srv_xff *x = cls;

	(void)kind;
	if (strcasecmp(key, "X-Forwarded-For") != 0 || value == NULL)
		return MHD_YES;
	if ((x->b.len > 0 && buf_add(&x->b, ",", 1) == -1) ||
	    buf_addstr(&x->b, value) == -1) {
		x->bad = true;
		return MHD_NO;
	}
	return MHD_YES;
}

/*
 * The client address of a request on the SCEP listener, for the failure
 * limit, the log lines and the NDES page (README "Behind a reverse
 * proxy"): the TCP peer, or, when the peer is one of [server]
 * trusted_proxies, the client its X-Forwarded-For names (proxy.c). A
 * trusted proxy's header that cannot be read is logged, and the proxy's
 * own address used. out is "?" when MHD knows no peer.
 */
void
srv_client_addr(const struct gw_ctx *ctx, struct MHD_Connection *conn,
    char *out, size_t n)
{
	char peer[PROXY_ADDR_MAX];
	struct srv_xff xff;

	admin_peer(conn, peer, sizeof(peer));
	snprintf(out, n, "%s", peer);
	if (proxy_list_is_empty(ctx->cfg->proxies) ||
	    !proxy_list_has(ctx->cfg->proxies, peer))
		return;
	memset(&xff, 0, sizeof(xff));
	buf_init(&xff.b, 4096);
	MHD_get_connection_values(conn, MHD_HEADER_KIND, srv_xff_add, &xff);
	/* No header: the proxy's own request (a health check). */
	if (xff.bad ||
	    (xff.b.len > 0 &&
		proxy_client_addr(ctx->cfg->proxies, peer,
		    (const char *)xff.b.data, out, n) == -1)) {
		snprintf(out, n, "%s", peer);
		log_warnx("%s: trusted proxy sent an X-Forwarded-For that "
			  "cannot be read; using the proxy's address",
		    peer);
	}
	buf_cleanup(&xff.b);
}

/* MHD's first callback for a request: allocates its state. */
static struct srv_req *
srv_req_new(struct srv_http *h, struct MHD_Connection *conn)
{
	struct gw_ctx *ctx = h->ctx;
	struct srv_req *rq;

	if ((rq = calloc(1, sizeof(*rq))) == NULL)
		return NULL;
	rq->ctx = ctx;
	rq->h = h;
	rq->conn = conn;
	buf_init(&rq->body, ctx->cfg->max_request_bytes);
	pthread_mutex_init(&rq->mu, NULL);
	rq->op.resume = srv_req_resume;
	rq->op.resume_arg = rq;
	srv_client_addr(ctx, conn, rq->op.peer, sizeof(rq->op.peer));
	return rq;
}

/* Accumulates a POST body chunk, remembering if it passed the ceiling. */
static void
srv_req_add_body(struct srv_req *rq, const char *data, size_t *size)
{
	if (!rq->too_big && buf_add(&rq->body, data, *size) == -1) {
		rq->too_big = true;
		buf_cleanup(&rq->body);
	}
	*size = 0;
}

/*
 * Starts dispatching a complete request, unless the listener is draining:
 * true then, and srv_leave() must follow. srv_http_quiesce() waits until
 * every request that got in has started its work, so enroll_drain() sees
 * all of them.
 */
static bool
srv_enter(struct srv_http *h)
{
	bool in;

	pthread_mutex_lock(&h->mu);
	in = !h->draining;
	if (in)
		h->busy++;
	pthread_mutex_unlock(&h->mu);
	return in;
}

/* Ends what srv_enter() started. */
static void
srv_leave(struct srv_http *h)
{
	pthread_mutex_lock(&h->mu);
	if (--h->busy == 0 && h->draining)
		pthread_cond_broadcast(&h->busy_cv);
	pthread_mutex_unlock(&h->mu);
}

/*
 * A request that arrives while serve drains (README "Commands": serve):
 * 503 and the connection closed, nothing started, so that no connection
 * is suspended when the listener stops.
 */
static enum MHD_Result
srv_reply_draining(struct srv_req *rq, const char *method, const char *url)
{
	static const char text[] = "shutting down; try again later\n";
	struct MHD_Response *resp;

	log_info("%s %s %s status=503: shutting down", rq->op.peer, method,
	    url);
	resp = srv_response_new(text, sizeof(text) - 1, MHD_RESPMEM_PERSISTENT,
	    CT_TEXT);
	if (resp != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION,
		    "close");
	return srv_reply_resp(rq->conn, MHD_HTTP_SERVICE_UNAVAILABLE, resp);
}

/* Routes a complete request by its path and method. */
static enum MHD_Result
srv_route(struct srv_req *rq, const char *url, const char *method)
{
	struct gw_ctx *ctx = rq->ctx;
	enum MHD_Result rc;

	/* [ndes] enabled = no: no login threads, and the page is 404. */
	if (ctx->ndes != NULL && ndes_is_path(url))
		return srv_ndes(rq, method);
	if (!route_scep_profile(ctx->cfg, url, &rq->op.profile))
		return srv_reply_text(rq, MHD_HTTP_NOT_FOUND, "not found\n");
	if (strcmp(method, MHD_HTTP_METHOD_POST) == 0) {
		/* RFC 8894 4.3: any POST carries a PKIOperation. */
		if (rq->too_big)
			return srv_reply_text(rq, MHD_HTTP_CONTENT_TOO_LARGE,
			    "request body larger than [server] "
			    "max_request_bytes\n");
		rc = srv_pkioperation(rq, rq->body.data, rq->body.len);
		/* Decoded now: no need to keep the bytes while it waits. */
		buf_cleanup(&rq->body);
		return rc;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
	    strcmp(method, MHD_HTTP_METHOD_HEAD) == 0)
		return srv_get(rq);
	return srv_reply_text(rq, MHD_HTTP_METHOD_NOT_ALLOWED,
	    "method not allowed\n");
}

static enum MHD_Result
srv_access(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *data, size_t *size,
    void **con_cls)
{
	struct srv_http *h = cls;
	struct gw_ctx *ctx = h->ctx;
	struct srv_req *rq = *con_cls;
	enum MHD_Result rc;

	(void)version;
	if (rq == NULL) {
		if ((rq = srv_req_new(h, conn)) == NULL)
			return MHD_NO;
		*con_cls = rq;
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_POST) != 0 || *size == 0)
		srv_conn_mark(h, conn, false);
	if (rq->async) {
		/* Resumed: the login was checked, the order ended or PENDING
		 * is due. */
		if (rq->ndes != NULL)
			return ndes_page_finish(ctx, conn, rq->ndes);
		enroll_finish(ctx, &rq->op);
		return srv_reply_op(rq);
	}
	if (strcmp(method, MHD_HTTP_METHOD_POST) == 0 && *size > 0) {
		srv_req_add_body(rq, data, size);
		return MHD_YES;
	}
	/* Complete: served, unless serve is draining. */
	if (!srv_enter(h))
		return srv_reply_draining(rq, method, url);
	rc = srv_route(rq, url, method);
	srv_leave(h);
	return rc;
}

/* Seconds on the monotonic clock. */
static time_t
srv_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/*
 * Marks the connection's request as fully received (receiving false) or
 * as a new request starting now (true).
 */
static void
srv_conn_mark(struct srv_http *h, struct MHD_Connection *conn, bool receiving)
{
	const union MHD_ConnectionInfo *ci;
	struct srv_conn *c;

	if (h == NULL)
		return;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci == NULL || (c = ci->socket_context) == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	c->receiving = receiving;
	c->since = srv_now();
	pthread_mutex_unlock(&h->mu);
}

/* MHD's connection callback: tracks open connections for the deadline. */
static void
srv_notify_conn(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct srv_http *h = cls;
	const union MHD_ConnectionInfo *ci;
	struct srv_conn *c = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(conn,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci == NULL || (c = calloc(1, sizeof(*c))) == NULL)
			return;
		c->fd = ci->connect_fd;
		c->since = srv_now();
		c->receiving = true;
		pthread_mutex_lock(&h->mu);
		c->next = h->conns;
		if (h->conns != NULL)
			h->conns->prev = c;
		h->conns = c;
		h->nconns++;
		pthread_mutex_unlock(&h->mu);
		*socket_context = c;
		return;
	}
	/* Closed: MHD closes the socket only after this returns. */
	if (c == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	h->nconns--;
	pthread_mutex_unlock(&h->mu);
	free(c);
	*socket_context = NULL;
}

/*
 * The watchdog thread: once a second, shuts down the socket of every
 * connection whose request has taken longer than the deadline to
 * arrive. MHD then sees the connection fail and closes it itself.
 */
static void *
srv_watchdog(void *arg)
{
	struct srv_http *h = arg;
	struct timespec until;
	struct srv_conn *c;
	time_t now, limit = (time_t)h->ctx->cfg->request_timeout_seconds;

	gw_thread_name("scepgw-watchdog");
	pthread_mutex_lock(&h->mu);
	while (!h->stop) {
		now = srv_now();
		for (c = h->conns; c != NULL; c = c->next) {
			if (!c->receiving || c->cut || now - c->since < limit)
				continue;
			c->cut = true;
			shutdown(c->fd, SHUT_RDWR);
			log_info("connection cut: request not complete after "
				 "[server] request_timeout_seconds = %lld",
			    (long long)limit);
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&h->cv, &h->mu, &until);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

/* MHD's completion callback: the one place request memory is freed. */
static void
srv_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct srv_req *rq = *con_cls;

	(void)toe;
	srv_conn_mark(cls, conn, true);
	if (rq == NULL)
		return;
	enroll_op_cleanup(&rq->op);
	ndes_job_free(rq->ndes);
	buf_cleanup(&rq->body);
	pthread_mutex_destroy(&rq->mu);
	free(rq);
	*con_cls = NULL;
}

/* Parses "host:port" or "[v6]:port" into a socket address. */
static int
srv_parse_listen(const char *listen, struct sockaddr_storage *ss,
    struct gw_err *err)
{
	struct addrinfo hints, *res = NULL;
	char host[256];
	const char *colon, *h = listen;
	size_t hl;
	int rc;

	colon = strrchr(listen, ':');
	if (colon == NULL || colon == listen) {
		gw_err_set(err, 0, "listen \"%s\": expected host:port", listen);
		return -1;
	}
	hl = (size_t)(colon - listen);
	if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl >= sizeof(host)) {
		gw_err_set(err, 0, "listen \"%s\": host too long", listen);
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc != 0) {
		gw_err_set(err, 0, "listen \"%s\": %s", listen,
		    gai_strerror(rc));
		return -1;
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

/* Builds the GetCACaps and GetCACert answers once. Returns 0 or -1. */
static int
srv_static_responses(struct srv_http *h, struct gw_err *err)
{
	const uint8_t *der;
	const char *caps;
	size_t len;

	caps = scep_caps_text(h->ctx->ra);
	der = scep_ra_cacert(h->ctx->ra, &len);
	h->caps = srv_response_new(caps, strlen(caps), MHD_RESPMEM_PERSISTENT,
	    CT_TEXT);
	h->cacert =
	    srv_response_new(der, len, MHD_RESPMEM_PERSISTENT, CT_CA_RA);
	if (h->caps == NULL || h->cacert == NULL) {
		gw_err_set(err, 0, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * Starts the SCEP listener on [server] listen (port 0: the kernel picks
 * one; srv_http_port() tells which). Returns 0, or -1 with err set.
 */
int
srv_http_start(struct srv_http **out, struct gw_ctx *ctx, struct gw_err *err)
{
	const union MHD_DaemonInfo *di;
	struct sockaddr_storage ss;
	struct srv_http *h = NULL;
	struct MHD_OptionItem addr_opt[2];
	unsigned flags;
	size_t mem;
	int rc = -1;

	*out = NULL;
	if (srv_parse_listen(ctx->cfg->listen, &ss, err) == -1)
		goto out;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		goto out;
	h->ctx = ctx;
	h->quiesced_fd = MHD_INVALID_SOCKET;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	pthread_cond_init(&h->busy_cv, NULL);
	/* A listener bound before the privilege drop, or our own bind. */
	memset(addr_opt, 0, sizeof(addr_opt));
	addr_opt[0].option = MHD_OPTION_SOCK_ADDR;
	addr_opt[0].ptr_value = &ss;
	if (ctx->http_fd > 0) {
		addr_opt[0].option = MHD_OPTION_LISTEN_SOCKET;
		addr_opt[0].value = ctx->http_fd;
		addr_opt[0].ptr_value = NULL;
	}
	addr_opt[1].option = MHD_OPTION_END;
	if (srv_static_responses(h, err) == -1)
		goto out;
	flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
	    MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/*
	 * Per-connection memory holds the request line and headers: a GET
	 * message= of max_request_bytes is 4/3 of it in base64, up to three
	 * times that when percent-escaped; at most CONN_MEMORY_MAX.
	 */
	mem = 4 * ctx->cfg->max_request_bytes + 16 * 1024;
	if (mem > CONN_MEMORY_MAX)
		mem = CONN_MEMORY_MAX;
	h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, srv_access, h,
	    MHD_OPTION_EXTERNAL_LOGGER, srv_mhd_log, NULL, MHD_OPTION_ARRAY,
	    addr_opt, MHD_OPTION_THREAD_POOL_SIZE,
	    (unsigned int)ctx->cfg->threads, MHD_OPTION_NOTIFY_COMPLETED,
	    srv_completed, h, MHD_OPTION_NOTIFY_CONNECTION, srv_notify_conn, h,
	    MHD_OPTION_CONNECTION_TIMEOUT, ctx->cfg->conn_timeout_seconds,
	    MHD_OPTION_CONNECTION_LIMIT, ctx->cfg->max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    ctx->cfg->max_connections_per_ip,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, mem,
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)4096, MHD_OPTION_END);
	if (h->daemon == NULL) {
		gw_err_set(err, 0, "cannot listen on %s (address in use?)",
		    ctx->cfg->listen);
		goto out;
	}
	di = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
	h->port = di != NULL ? di->port : 0;
	if (pthread_create(&h->thread, NULL, srv_watchdog, h) != 0) {
		gw_err_set(err, 0, "cannot start the request watchdog");
		goto out;
	}
	h->watchdog = true;
	*out = h;
	h = NULL;
	rc = 0;
out:
	srv_http_stop(h);
	return rc;
}

/*
 * Binds and listens on "host:port" before the privilege drop (ports
 * below 1024 need root); srv_http_start() then serves the socket.
 * Returns 0 with *fd set, or -1 with err set.
 */
int
srv_http_bind(const char *listen_at, int *fd, struct gw_err *err)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int s, on = 1;

	*fd = -1;
	if (srv_parse_listen(listen_at, &ss, err) == -1)
		return -1;
	len = ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
					 sizeof(struct sockaddr_in);
	s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s == -1 ||
	    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    (ss.ss_family == AF_INET6 &&
		setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) ==
		    -1) ||
	    bind(s, (struct sockaddr *)&ss, len) == -1 ||
	    listen(s, 4096) == -1) {
		gw_err_set(err, errno, "cannot listen on %s: %s", listen_at,
		    strerror(errno));
		if (s != -1)
			close(s);
		return -1;
	}
	*fd = s;
	return 0;
}

/* The port the listener is bound to. */
unsigned
srv_http_port(const struct srv_http *h)
{
	return h->port;
}

/*
 * Starts the drain: from now on every request that completes, on a new or
 * a kept-alive connection, gets 503 with "Connection: close"
 * (srv_reply_draining()), and this returns once the requests already
 * being dispatched have started their work (an order attached to its
 * connection is then known to enroll_drain()). Stops accepting new
 * connections: they are refused at once (shutdown), but the socket is
 * closed only by srv_http_stop(), after MHD_stop_daemon(): a worker
 * thread may still use it until then (MHD's manual), and a closed number
 * may be reused by a socket of ours.
 */
void
srv_http_quiesce(struct srv_http *h)
{
	if (h == NULL || h->quiesced_fd != MHD_INVALID_SOCKET)
		return;
	pthread_mutex_lock(&h->mu);
	h->draining = true;
	while (h->busy > 0)
		pthread_cond_wait(&h->busy_cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
	h->quiesced_fd = MHD_quiesce_daemon(h->daemon);
	if (h->quiesced_fd != MHD_INVALID_SOCKET)
		(void)shutdown(h->quiesced_fd, SHUT_RDWR);
}

/* Connections currently open. */
unsigned
srv_http_connections(const struct srv_http *h)
{
	const union MHD_DaemonInfo *di;

	di =
	    MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	return di != NULL ? di->num_connections : 0;
}

/* Stops the listener and frees it; no connection may still be suspended. */
void
srv_http_stop(struct srv_http *h)
{
	if (h == NULL)
		return;
	if (h->watchdog) {
		pthread_mutex_lock(&h->mu);
		h->stop = true;
		pthread_cond_signal(&h->cv);
		pthread_mutex_unlock(&h->mu);
		pthread_join(h->thread, NULL);
	}
	if (h->daemon != NULL)
		MHD_stop_daemon(h->daemon);
	if (h->quiesced_fd != MHD_INVALID_SOCKET)
		close(h->quiesced_fd);
	if (h->caps != NULL)
		MHD_destroy_response(h->caps);
	if (h->cacert != NULL)
		MHD_destroy_response(h->cacert);
	pthread_cond_destroy(&h->cv);
	pthread_cond_destroy(&h->busy_cv);
	pthread_mutex_destroy(&h->mu);
	free(h);
}
