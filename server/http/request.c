/*
 * Routing and answering a request of the SCEP listener (RFC 8894 section
 * 4): GetCACaps, GetCACert, GetNextCACert and PKIOperation by GET or
 * POST, on /scep, /cgi-bin/pkiclient.exe or a profile's path; the NDES
 * page (ndes.c) on its own paths. A PKIOperation goes to the enrollment
 * room (enroll_pkioperation()); one that waits for GlobalSign suspends
 * its connection until enroll/ resumes it. The client's address comes
 * from X-Forwarded-For only behind a trusted proxy (config/proxy.c).
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

#include "buf.h"
#include "config.h"
#include "enroll.h"
#include "gw.h"
#include "reply.h"
#include "http.h"
#include "gw_err.h"
#include "http_int.h"
#include "gw_thread.h"
#include "live.h"
#include "log.h"
#include "ndes.h"
#include "proxy.h"

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
	log_ev(LOG_INFO, "http.reply",
	    LOG_F(.peer = rq->op.peer, .op = rq->opname,
		.http_status = (int)status),
	    "%s %s status=%u: %s", rq->op.peer,
	    rq->opname != NULL ? rq->opname : "-", status, text);
	return srv_reply_bytes(rq->conn, status, CT_TEXT, text, strlen(text),
	    MHD_RESPMEM_PERSISTENT);
}

/* Sends what enroll/ left in rq->op.reply; the body is handed to MHD. */
static enum MHD_Result
srv_reply_op(struct srv_req *rq)
{
	struct srv_reply *r = &rq->op.reply;
	struct MHD_Response *resp;
	const char *txid, *scep;
	bool failed;

	txid = rq->op.msg != NULL ? scep_msg_txid(rq->op.msg) : NULL;
	scep = r->content_type != NULL && strcmp(r->content_type, CT_PKI) == 0 ?
	    (rq->op.status == SCEP_STATUS_SUCCESS	 ? "SUCCESS" :
		    rq->op.status == SCEP_STATUS_PENDING ? "PENDING" :
							   "FAILURE") :
	    "-";
	failed = strcmp(scep, "FAILURE") == 0;
	log_ev(LOG_INFO, "scep.reply",
	    LOG_F(.txid = txid, .peer = rq->op.peer, .op = "PKIOperation",
		.msg_type = rq->op.msg != NULL ?
		    scep_msgtype_name(scep_msg_type(rq->op.msg)) :
		    NULL,
		.fail_info = failed ? scep_fail_name(rq->op.fail) : NULL,
		.status = scep[0] != '-' ? scep : NULL,
		.reason = failed ? rq->op.fail_text : NULL,
		.http_status = (int)r->http_status),
	    "%s PKIOperation status=%u txid=%s scep=%s", rq->op.peer,
	    r->http_status, txid != NULL ? txid : "-", scep);
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
 * Called by enroll/, from another thread, when an async operation ends.
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

/* Runs one PKIOperation; answers now or suspends until enroll/ resumes. */
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
		log_ev(LOG_INFO, "scep.invalid",
		    LOG_F(.peer = rq->op.peer, .op = "PKIOperation"),
		    "%s PKIOperation: message parameter: %s", rq->op.peer,
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
	struct scep_ra *ra = gw_ra_get1(rq->ctx);
	const uint8_t *der = NULL;
	enum MHD_Result r;
	size_t len = 0;

	rq->opname = "GetNextCACert";
	if (ra != NULL)
		der = scep_ra_nextcacert(ra, &len);
	if (der == NULL) {
		scep_ra_free(ra);
		return srv_reply_text(rq, MHD_HTTP_NOT_FOUND,
		    "no next RA certificate is configured\n");
	}
	log_ev(LOG_DEBUG, "scep.request",
	    LOG_F(.peer = rq->op.peer, .op = "GetNextCACert"),
	    "%s GetNextCACert", rq->op.peer);
	/* Copied: a reload may free this RA once the reply is queued. */
	r = srv_reply_bytes(rq->conn, MHD_HTTP_OK, CT_NEXT_CA, der, len,
	    MHD_RESPMEM_MUST_COPY);
	scep_ra_free(ra);
	return r;
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
		log_ev(LOG_DEBUG, "scep.request",
		    LOG_F(.peer = rq->op.peer, .op = "GetCACaps"),
		    "%s GetCACaps", rq->op.peer);
		return srv_queue_static(rq->h, rq->conn, true);
	}
	if (strcasecmp(op, "GetCACert") == 0) {
		rq->opname = "GetCACert";
		log_ev(LOG_DEBUG, "scep.request",
		    LOG_F(.peer = rq->op.peer, .op = "GetCACert"),
		    "%s GetCACert", rq->op.peer);
		return srv_queue_static(rq->h, rq->conn, false);
	}
	if (strcasecmp(op, "GetNextCACert") == 0)
		return srv_get_nextcacert(rq);
	if (strcasecmp(op, "PKIOperation") == 0)
		return srv_get_pkioperation(rq);
	rq->opname = op;
	return srv_reply_text(rq, MHD_HTTP_BAD_REQUEST,
	    "unsupported operation\n");
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
	struct buf xff;
	int len;

	gw_peer(conn, peer, sizeof(peer));
	snprintf(out, n, "%s", peer);
	if (proxy_list_is_empty(ctx->cfg->proxies) ||
	    !proxy_list_has(ctx->cfg->proxies, peer))
		return;
	buf_init(&xff, 4096);
	len = gw_header_join(conn, "X-Forwarded-For", &xff);
	/* No header: the proxy's own request (a health check). */
	if (len == -1 ||
	    (len > 0 &&
		proxy_client_addr(ctx->cfg->proxies, peer,
		    (const char *)xff.data, out, n) == -1)) {
		snprintf(out, n, "%s", peer);
		log_ev(LOG_WARNING, "http", LOG_F(.peer = peer),
		    "%s: trusted proxy sent an X-Forwarded-For that "
		    "cannot be read; using the proxy's address",
		    peer);
	}
	buf_cleanup(&xff);
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
 * A request that arrives while serve drains (README "Commands": serve):
 * 503 and the connection closed, nothing started, so that no connection
 * is suspended when the listener stops.
 */
static enum MHD_Result
srv_reply_draining(struct srv_req *rq, const char *method, const char *url)
{
	static const char text[] = "shutting down; try again later\n";
	struct MHD_Response *resp;

	log_ev(LOG_INFO, "server.drain",
	    LOG_F(.peer = rq->op.peer, .http_status = 503),
	    "%s %s %s status=503: shutting down", rq->op.peer, method, url);
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

enum MHD_Result
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

/* MHD's completion callback: the one place request memory is freed. */
void
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
