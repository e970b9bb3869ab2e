/*
 * The SCEP listener's life: the libmicrohttpd daemon, its connections and
 * their deadline (routing and answering are request.c's). A small fixed pool of
 * MHD threads (epoll) serves every connection. A PKIOperation that waits for
 * GlobalSign suspends its connection instead of holding a thread; enroll/
 * resumes it when the answer (or the PENDING deadline) arrives, and the CertRep
 * is built back on an MHD thread. Each request's memory lives in MHD's con_cls
 * and is freed in the completion callback, its one owner. A watchdog thread
 * cuts connections whose request takes longer than [server]
 * request_timeout_seconds to arrive (MHD's own timeout only sees idleness).
 */
#include <arpa/inet.h>
#include <errno.h>
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
#include "scep.h"

/*
 * Ceiling of MHD's per-connection memory (request line and headers).
 * libmicrohttpd 0.9.75 zeroes all of it before every request on a
 * keep-alive connection: at 272 KiB (64 KiB messages) that memset was
 * 28% of the CPU of serving GetCACaps. 32 KiB, MHD's own default, holds
 * a GET message= of about 20 KiB (base64, percent-escaped; past it 414);
 * bigger messages come by POST, which GetCACaps advertises.
 */
#define CONN_MEMORY_MAX (32 * 1024)

/* Connections open now, as srv_notify_conn() counts them. */
size_t
srv_conns_open(struct srv_http *h)
{
	size_t n;

	pthread_mutex_lock(&h->mu);
	n = h->nconns;
	pthread_mutex_unlock(&h->mu);
	return n;
}

/*
 * A response of len bytes at p with Content-Type ctype (NULL: none), or
 * NULL when out of memory (then p was not taken, whatever m says). MHD
 * 0.9.75 has no const-buffer constructor, so this is the one place that
 * drops const: with MHD_RESPMEM_PERSISTENT the bytes are never written to.
 */
struct MHD_Response *
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
	log_ev(LOG_WARNING, "http", NULL, "http: %s", line);
}

/*
 * Starts dispatching a complete request, unless the listener is draining:
 * true then, and srv_leave() must follow. srv_http_quiesce() waits until
 * every request that got in has started its work, so enroll_drain() sees
 * all of them.
 */
bool
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
void
srv_leave(struct srv_http *h)
{
	pthread_mutex_lock(&h->mu);
	if (--h->busy == 0 && h->draining)
		pthread_cond_broadcast(&h->busy_cv);
	pthread_mutex_unlock(&h->mu);
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
void
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
			log_ev(LOG_INFO, "http.timeout", NULL,
			    "connection cut: request not complete after "
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

/*
 * (Re)builds the GetCACaps and GetCACert answers from the RA of this
 * moment (copied: the RA may be replaced and freed) and swaps them in;
 * a request that queued an old one keeps it until sent (MHD counts its
 * references). At start and after a reload (README "Running under
 * systemd"). Returns 0, or -1 with err set and the old answers kept.
 */
int
srv_http_ra_reload(struct srv_http *h, struct gw_err *err)
{
	struct MHD_Response *caps = NULL, *cacert = NULL, *t;
	struct scep_ra *ra;
	const uint8_t *der;
	const char *text;
	size_t len;
	int rc = -1;

	if ((ra = gw_ra_get1(h->ctx)) != NULL) {
		text = scep_caps_text(ra);
		der = scep_ra_cacert(ra, &len);
		caps = srv_response_new(text, strlen(text),
		    MHD_RESPMEM_MUST_COPY, CT_TEXT);
		cacert =
		    srv_response_new(der, len, MHD_RESPMEM_MUST_COPY, CT_CA_RA);
		scep_ra_free(ra);
	}
	if (caps == NULL || cacert == NULL) {
		gw_err_set(err, 0,
		    ra == NULL ? "no RA loaded" : "out of memory");
	} else {
		pthread_mutex_lock(&h->resp_mu);
		t = h->caps;
		h->caps = caps;
		caps = t;
		t = h->cacert;
		h->cacert = cacert;
		cacert = t;
		pthread_mutex_unlock(&h->resp_mu);
		rc = 0;
	}
	if (caps != NULL)
		MHD_destroy_response(caps);
	if (cacert != NULL)
		MHD_destroy_response(cacert);
	return rc;
}

/* Queues the GetCACaps (caps) or GetCACert answer on conn. */
enum MHD_Result
srv_queue_static(struct srv_http *h, struct MHD_Connection *conn, bool caps)
{
	enum MHD_Result r;

	pthread_mutex_lock(&h->resp_mu);
	r = MHD_queue_response(conn, MHD_HTTP_OK, caps ? h->caps : h->cacert);
	pthread_mutex_unlock(&h->resp_mu);
	return r;
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
	if (gw_listen_parse(ctx->cfg->listen, &ss, err) == -1)
		goto out;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		goto out;
	h->ctx = ctx;
	h->quiesced_fd = MHD_INVALID_SOCKET;
	pthread_mutex_init(&h->mu, NULL);
	pthread_mutex_init(&h->resp_mu, NULL);
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
	if (srv_http_ra_reload(h, err) == -1)
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
	if (gw_listen_parse(listen_at, &ss, err) == -1)
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
	pthread_mutex_destroy(&h->resp_mu);
	free(h);
}
