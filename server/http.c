/*
 * The SCEP listener: libmicrohttpd glue and routing (RFC 8894 section 4).
 * A small fixed pool of MHD threads (epoll) serves every connection. A
 * PKIOperation that waits for GlobalSign suspends its connection instead
 * of holding a thread; enroll.c resumes it when the answer (or the
 * PENDING deadline) arrives, and the CertRep is built back on an MHD
 * thread. Each request's memory lives in MHD's con_cls and is freed in the
 * completion callback, its one owner.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "buf.h"
#include "config.h"
#include "gw.h"
#include "gw_err.h"
#include "log.h"
#include "ndes.h"
#include "scep.h"

#define CT_TEXT "text/plain"
#define CT_PKI "application/x-pki-message"
#define CT_CA_RA "application/x-x509-ca-ra-cert"
#define CT_NEXT_CA "application/x-x509-next-ca-cert"

struct srv_http {
	struct MHD_Daemon *daemon;
	struct gw_ctx *ctx;
	unsigned port;
};

/* Per-request state, owned by MHD's con_cls. */
struct srv_req {
	struct gw_ctx *ctx;
	struct MHD_Connection *conn;
	struct buf body; /* POST body, capped */
	bool too_big;
	bool async;	    /* an order is (or was) in flight */
	pthread_mutex_t mu; /* guards suspended / resume_pending */
	bool suspended;
	bool resume_pending;
	const char *opname; /* for the log line */
	struct enroll_op op;
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
 * Queues a response. MHD 0.9.75 has no const-buffer constructor, so this
 * is the one place that drops const (STYLE.md 13): with
 * MHD_RESPMEM_PERSISTENT the bytes are never written to.
 */
static enum MHD_Result
srv_reply_bytes(struct MHD_Connection *conn, unsigned status, const char *ctype,
    const void *p, size_t len, enum MHD_ResponseMemoryMode m)
{
	struct MHD_Response *resp;
	enum MHD_Result rc;

	resp = MHD_create_response_from_buffer(len, (void *)(uintptr_t)p, m);
	if (resp == NULL)
		return MHD_NO;
	if (ctype != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		    ctype);
	rc = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return rc;
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
	enum MHD_Result rc;
	const char *txid;

	txid = rq->op.msg != NULL ? scep_msg_txid(rq->op.msg) : NULL;
	log_info("%s PKIOperation status=%u txid=%s scep=%s", rq->op.peer,
	    r->http_status, txid != NULL ? txid : "-",
	    r->content_type != NULL && strcmp(r->content_type, CT_PKI) == 0 ?
		(rq->op.status == SCEP_STATUS_SUCCESS	     ? "SUCCESS" :
			rq->op.status == SCEP_STATUS_PENDING ? "PENDING" :
							       "FAILURE") :
		"-");
	rc = srv_reply_bytes(rq->conn, r->http_status, r->content_type, r->body,
	    r->len, MHD_RESPMEM_MUST_FREE);
	if (rc == MHD_YES)
		r->body = NULL; /* MHD frees it with the response */
	return rc;
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

/* Runs one PKIOperation; answers now or suspends until enroll.c resumes. */
static enum MHD_Result
srv_pkioperation(struct srv_req *rq, const uint8_t *der, size_t len)
{
	bool pending;

	rq->opname = "PKIOperation";
	if (enroll_pkioperation(rq->ctx, &rq->op, der, len) == 0)
		return srv_reply_op(rq);
	rq->async = true;
	pthread_mutex_lock(&rq->mu);
	pending = rq->resume_pending;
	if (!pending) {
		rq->suspended = true;
		MHD_suspend_connection(rq->conn);
	}
	pthread_mutex_unlock(&rq->mu);
	if (!pending)
		return MHD_YES;
	enroll_finish(rq->ctx, &rq->op);
	return srv_reply_op(rq);
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
	const uint8_t *der;
	size_t len;

	op = MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND,
	    "operation");
	if (op == NULL)
		return srv_reply_text(rq, MHD_HTTP_BAD_REQUEST,
		    "missing operation parameter\n");
	if (strcasecmp(op, "GetCACaps") == 0) {
		rq->opname = "GetCACaps";
		log_debug("%s GetCACaps", rq->op.peer);
		op = scep_caps_text(rq->ctx->ra);
		return srv_reply_bytes(rq->conn, MHD_HTTP_OK, CT_TEXT, op,
		    strlen(op), MHD_RESPMEM_PERSISTENT);
	}
	if (strcasecmp(op, "GetCACert") == 0) {
		rq->opname = "GetCACert";
		log_debug("%s GetCACert", rq->op.peer);
		der = scep_ra_cacert(rq->ctx->ra, &len);
		return srv_reply_bytes(rq->conn, MHD_HTTP_OK, CT_CA_RA, der,
		    len, MHD_RESPMEM_PERSISTENT);
	}
	if (strcasecmp(op, "GetNextCACert") == 0)
		return srv_get_nextcacert(rq);
	if (strcasecmp(op, "PKIOperation") == 0)
		return srv_get_pkioperation(rq);
	rq->opname = op;
	return srv_reply_text(rq, MHD_HTTP_BAD_REQUEST,
	    "unsupported operation\n");
}

/* Fills the peer address of a new request, for log lines. */
static void
srv_req_peer(struct srv_req *rq)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	snprintf(rq->op.peer, sizeof(rq->op.peer), "?");
	ci = MHD_get_connection_info(rq->conn,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET,
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    rq->op.peer, sizeof(rq->op.peer));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    rq->op.peer, sizeof(rq->op.peer));
}

/* MHD's first callback for a request: allocates its state. */
static struct srv_req *
srv_req_new(struct gw_ctx *ctx, struct MHD_Connection *conn)
{
	struct srv_req *rq;

	if ((rq = calloc(1, sizeof(*rq))) == NULL)
		return NULL;
	rq->ctx = ctx;
	rq->conn = conn;
	buf_init(&rq->body, ctx->cfg->max_request_bytes);
	pthread_mutex_init(&rq->mu, NULL);
	rq->op.resume = srv_req_resume;
	rq->op.resume_arg = rq;
	srv_req_peer(rq);
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

static enum MHD_Result
srv_access(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *data, size_t *size,
    void **con_cls)
{
	struct gw_ctx *ctx = cls;
	struct srv_req *rq = *con_cls;

	(void)version;
	if (rq == NULL) {
		if ((rq = srv_req_new(ctx, conn)) == NULL)
			return MHD_NO;
		*con_cls = rq;
		return MHD_YES;
	}
	if (rq->async) {
		/* Resumed: the order ended or PENDING is due. */
		enroll_finish(ctx, &rq->op);
		return srv_reply_op(rq);
	}
	if (ndes_is_path(url))
		return ndes_page(ctx, conn, method);
	if (!route_is_scep(url))
		return srv_reply_text(rq, MHD_HTTP_NOT_FOUND, "not found\n");
	if (strcmp(method, MHD_HTTP_METHOD_POST) == 0) {
		if (*size > 0) {
			srv_req_add_body(rq, data, size);
			return MHD_YES;
		}
		/* RFC 8894 4.3: any POST carries a PKIOperation. */
		if (rq->too_big)
			return srv_reply_text(rq, MHD_HTTP_CONTENT_TOO_LARGE,
			    "request body larger than [server] "
			    "max_request_bytes\n");
		return srv_pkioperation(rq, rq->body.data, rq->body.len);
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
	    strcmp(method, MHD_HTTP_METHOD_HEAD) == 0)
		return srv_get(rq);
	return srv_reply_text(rq, MHD_HTTP_METHOD_NOT_ALLOWED,
	    "method not allowed\n");
}

/* MHD's completion callback: the one place request memory is freed. */
static void
srv_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct srv_req *rq = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (rq == NULL)
		return;
	enroll_op_cleanup(&rq->op);
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
	unsigned flags;
	size_t mem;
	int rc = -1;

	*out = NULL;
	if (srv_parse_listen(ctx->cfg->listen, &ss, err) == -1)
		goto out;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		goto out;
	h->ctx = ctx;
	flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
	    MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/*
	 * Per-connection memory holds the request line and headers: a GET
	 * message= of max_request_bytes is 4/3 of it in base64, up to three
	 * times that when percent-escaped.
	 */
	mem = 4 * ctx->cfg->max_request_bytes + 16 * 1024;
	h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, srv_access, ctx,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)ctx->cfg->threads,
	    MHD_OPTION_NOTIFY_COMPLETED, srv_completed, NULL,
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
	*out = h;
	h = NULL;
	rc = 0;
out:
	free(h);
	return rc;
}

/* The port the listener is bound to. */
unsigned
srv_http_port(const struct srv_http *h)
{
	return h->port;
}

/* Stops accepting new connections; open ones are still served. */
void
srv_http_quiesce(struct srv_http *h)
{
	MHD_socket fd;

	if (h == NULL)
		return;
	fd = MHD_quiesce_daemon(h->daemon);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
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
	MHD_stop_daemon(h->daemon);
	free(h);
}
