/*
 * The admin listener: a second libmicrohttpd daemon on [admin] listen.
 * Everything but /healthz needs "Authorization: Bearer <token>", the
 * token of [admin] token_file; the comparison is between SHA-256 hashes
 * of equal length with CRYPTO_memcmp, so its time does not depend on how
 * much of the token a guess got right. A missing or wrong token gets 401
 * and {"error":"unauthorized"} whatever the path, so routes are not
 * revealed either. The JSON handlers live in api.c. /ui/ is the web
 * console (ui.c), which has its own login instead of the token.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "admin.h"
#include "admin_int.h"
#include "buf.h"
#include "config.h"
#include "db.h"
#include "gw.h"
#include "gw_err.h"
#include "log.h"
#include "reply.h"
#include "secure.h"
#include "ui.h"

/* The shortest admin token accepted: 32 bytes (openssl rand -hex 16). */
#define ADMIN_TOKEN_MIN 32

/* Largest admin request body (a POST /api/v1/challenges). */
#define ADMIN_BODY_MAX (64 * 1024)

struct admin {
	struct MHD_Daemon *daemon;
	struct gw_ctx *ctx;
	uint8_t token_hash[32]; /* SHA-256 of the bearer token */
	unsigned port;
	struct ui_sessions *ui; /* the web console's sessions (ui.c) */
};

/*
 * True when the request carries "Authorization: Bearer <token>" with our
 * token. Both sides are hashed first so the constant-time comparison is
 * over equal lengths.
 */
static bool
admin_auth_is_ok(const struct admin *a, struct MHD_Connection *conn)
{
	const char *h, *tok;
	uint8_t got[32];
	size_t len;
	bool ok;

	h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	for (tok = h + 7; *tok == ' '; tok++)
		;
	len = strlen(tok);
	while (len > 0 && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
		len--;
	if (len == 0)
		return false;
	SHA256((const unsigned char *)tok, len, got);
	ok = CRYPTO_memcmp(got, a->token_hash, sizeof(got)) == 0;
	gw_cleanse(got, sizeof(got));
	return ok;
}

/* Frees a request's state; accepts NULL. */
static void
admin_req_free(struct admin_req *rq)
{
	if (rq == NULL)
		return;
	gw_cleanse(rq->body.data, rq->body.len);
	buf_cleanup(&rq->body);
	free(rq);
}

/* MHD's first callback for a request: allocates its state. */
static struct admin_req *
admin_req_new(struct gw_ctx *ctx, struct MHD_Connection *conn,
    const char *method)
{
	struct admin_req *rq;

	if ((rq = calloc(1, sizeof(*rq))) == NULL)
		return NULL;
	rq->ctx = ctx;
	rq->conn = conn;
	rq->method = method;
	buf_init(&rq->body, ADMIN_BODY_MAX);
	gw_peer(conn, rq->peer, sizeof(rq->peer));
	return rq;
}

/* Logs one line for a request and sends a JSON body; takes j. */
enum MHD_Result
admin_reply_json(struct admin_req *rq, unsigned status, json_t *j)
{
	static const char *const hdr[] = { "Cache-Control", "no-store", NULL };
	static const char *const hdr401[] = { "Cache-Control", "no-store",
		MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"scepgw\"",
		NULL };
	enum MHD_Result rc;
	char *text;

	log_ev(LOG_INFO, "admin.request",
	    LOG_F(.peer = rq->peer, .http_status = (int)status),
	    "%s admin %s %s status=%u", rq->peer, rq->method,
	    rq->path != NULL ? rq->path : "-", status);
	text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (text == NULL)
		return MHD_NO;
	rc = gw_respond(rq->conn, status, "application/json", text,
	    strlen(text), status == MHD_HTTP_UNAUTHORIZED ? hdr401 : hdr);
	gw_cleanse(text, strlen(text));
	free(text); /* jansson's default allocator is malloc() */
	return rc;
}

/* Sends {"error": msg} (and "field" when not NULL) with status. */
enum MHD_Result
admin_reply_error(struct admin_req *rq, unsigned status, const char *msg,
    const char *field)
{
	json_t *j;

	j = json_pack("{s:s}", "error", msg);
	if (j != NULL && field != NULL)
		json_object_set_new(j, "field", json_string(field));
	return admin_reply_json(rq, status, j);
}

/* Sends a plain-text answer (healthz, metrics). */
enum MHD_Result
admin_reply_text(struct admin_req *rq, unsigned status, const char *ctype,
    const char *text)
{
	log_ev(LOG_INFO, "admin.request",
	    LOG_F(.peer = rq->peer, .http_status = (int)status),
	    "%s admin %s %s status=%u", rq->peer, rq->method,
	    rq->path != NULL ? rq->path : "-", status);
	return gw_respond(rq->conn, status, ctype, text, strlen(text), NULL);
}

/* GET /healthz: 200 when the database answers. No token needed. */
static enum MHD_Result
admin_healthz(struct admin_req *rq)
{
	if (db_schema_version(rq->ctx->db) < 0)
		return admin_reply_text(rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "text/plain", "database unavailable\n");
	return admin_reply_text(rq, MHD_HTTP_OK, "text/plain", "ok\n");
}

/* Routes a complete, authenticated request. */
static enum MHD_Result
admin_route(struct admin_req *rq)
{
	const char *p = rq->path, *m = rq->method;

	if (strcmp(p, "/metrics") == 0)
		return strcmp(m, MHD_HTTP_METHOD_GET) == 0 ?
		    admin_metrics(rq) :
		    admin_reply_error(rq, MHD_HTTP_METHOD_NOT_ALLOWED,
			"method not allowed", NULL);
	if (strcmp(p, "/api/v1/challenges") == 0) {
		if (strcmp(m, MHD_HTTP_METHOD_POST) == 0)
			return admin_challenges_post(rq);
		if (strcmp(m, MHD_HTTP_METHOD_GET) == 0)
			return admin_challenges_get(rq);
	} else if (strncmp(p, "/api/v1/challenges/", 19) == 0) {
		if (strcmp(m, MHD_HTTP_METHOD_DELETE) == 0)
			return admin_challenge_delete(rq, p + 19);
	} else if (strcmp(p, "/api/v1/enrollments") == 0) {
		if (strcmp(m, MHD_HTTP_METHOD_GET) == 0)
			return admin_enrollments_get(rq);
	} else if (strncmp(p, "/api/v1/enrollments/", 20) == 0) {
		if (strcmp(m, MHD_HTTP_METHOD_GET) == 0)
			return admin_enrollment_get(rq, p + 20);
	} else if (strcmp(p, "/api/v1/certificates") == 0) {
		if (strcmp(m, MHD_HTTP_METHOD_GET) == 0)
			return admin_certificates_get(rq);
	} else if (strncmp(p, "/api/v1/certificates/", 21) == 0) {
		if (strcmp(m, MHD_HTTP_METHOD_POST) == 0)
			return admin_certificate_revoke(rq, p + 21);
	} else
		return admin_reply_error(rq, MHD_HTTP_NOT_FOUND, "not found",
		    NULL);
	return admin_reply_error(rq, MHD_HTTP_METHOD_NOT_ALLOWED,
	    "method not allowed", NULL);
}

static enum MHD_Result
admin_access(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *data, size_t *size,
    void **con_cls)
{
	struct admin *a = cls;
	struct admin_req *rq = *con_cls;

	(void)version;
	if (rq == NULL) {
		if ((rq = admin_req_new(a->ctx, conn, method)) == NULL)
			return MHD_NO;
		rq->authed = admin_auth_is_ok(a, conn);
		rq->ui = ui_is_path(url);
		*con_cls = rq;
		return MHD_YES;
	}
	rq->path = url;
	/* MHD wants the whole body read before an answer; without the
	 * token none of it is kept, but for the web console's forms. */
	if (*size > 0) {
		if ((rq->authed || rq->ui) && !rq->too_big &&
		    buf_add(&rq->body, data, *size) == -1)
			rq->too_big = true;
		*size = 0;
		return MHD_YES;
	}
	if (strcmp(url, "/healthz") == 0 &&
	    (strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
		strcmp(method, MHD_HTTP_METHOD_HEAD) == 0))
		return admin_healthz(rq);
	/* The web console has its own login, not the token. */
	if (rq->ui)
		return ui_handle(rq, a->ui);
	if (!rq->authed)
		return admin_reply_error(rq, MHD_HTTP_UNAUTHORIZED,
		    "unauthorized", NULL);
	if (rq->too_big)
		return admin_reply_error(rq, MHD_HTTP_CONTENT_TOO_LARGE,
		    "request body too large", NULL);
	return admin_route(rq);
}

/* MHD's completion callback: frees the request's state. */
static void
admin_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	admin_req_free(*con_cls);
	*con_cls = NULL;
}

/*
 * Reads [admin] token_file (mode 0600 enforced) and keeps its hash. The
 * token must be at least ADMIN_TOKEN_MIN bytes (README "Admin HTTP API"):
 * it is the only thing between the network and new challenges.
 */
static int
admin_token_load(struct admin *a, const char *path, struct gw_err *err)
{
	char *tok = NULL;
	size_t n;

	if (path == NULL) {
		gw_err_set(err, 0, "[admin] token_file is not set");
		return -1;
	}
	if (gw_secret_read(path, &tok, err) == -1)
		return -1;
	if ((n = strlen(tok)) < ADMIN_TOKEN_MIN) {
		gw_err_set(err, 0,
		    "[admin] token_file %s: the token is %zu bytes, it must "
		    "be at least %d; make one with: openssl rand -hex 32 > %s",
		    path, n, ADMIN_TOKEN_MIN, path);
		gw_secret_free(tok);
		return -1;
	}
	SHA256((const unsigned char *)tok, strlen(tok), a->token_hash);
	gw_secret_free(tok);
	return 0;
}

/* True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
static bool
admin_is_loopback(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET)
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	if (ss->ss_family != AF_INET6)
		return false;
	if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
		return true;
	return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) &&
	    sin6->sin6_addr.s6_addr[12] == 127;
}

/*
 * Starts the admin listener on [admin] listen. When that is unset, *out
 * is NULL and nothing starts. Returns 0, or -1 with err set (bad address,
 * unreadable or group/world-readable token file, port in use). Stop it
 * with admin_stop() before the database is closed.
 */
int
admin_start(struct admin **out, struct gw_ctx *ctx, struct gw_err *err)
{
	const union MHD_DaemonInfo *di;
	struct sockaddr_storage ss;
	struct admin *a = NULL;
	unsigned flags;
	int rc = -1;

	*out = NULL;
	if (ctx->cfg->admin_listen == NULL)
		return 0;
	if (gw_listen_parse(ctx->cfg->admin_listen, &ss, err) == -1)
		goto out;
	if (!admin_is_loopback(&ss))
		log_ev(LOG_WARNING, "admin", NULL,
		    "[admin] listen %s is not a loopback address: the "
		    "admin API has no TLS, so its token and the "
		    "challenges it hands out cross the network in clear "
		    "(README \"Admin HTTP API\")",
		    ctx->cfg->admin_listen);
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		gw_err_set(err, 0, "out of memory");
		goto out;
	}
	a->ctx = ctx;
	if (admin_token_load(a, ctx->cfg->admin_token_file, err) == -1)
		goto out;
	if (ui_sessions_new(&a->ui) == -1) {
		gw_err_set(err, 0, "out of memory");
		goto out;
	}
	flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	a->daemon = MHD_start_daemon(flags, 0, NULL, NULL, admin_access, a,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)2,
	    MHD_OPTION_NOTIFY_COMPLETED, admin_completed, NULL,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)64,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024),
	    MHD_OPTION_END);
	if (a->daemon == NULL) {
		gw_err_set(err, 0, "cannot listen on %s (address in use?)",
		    ctx->cfg->admin_listen);
		goto out;
	}
	di = MHD_get_daemon_info(a->daemon, MHD_DAEMON_INFO_BIND_PORT);
	a->port = di != NULL ? di->port : 0;
	*out = a;
	a = NULL;
	rc = 0;
out:
	if (a != NULL) {
		gw_cleanse(a->token_hash, sizeof(a->token_hash));
		ui_sessions_free(a->ui);
	}
	free(a);
	return rc;
}

/* The port the admin listener is bound to. */
unsigned
admin_port(const struct admin *a)
{
	return a != NULL ? a->port : 0;
}

/* Stops the admin listener and frees it; accepts NULL. */
void
admin_stop(struct admin *a)
{
	if (a == NULL)
		return;
	MHD_stop_daemon(a->daemon);
	gw_cleanse(a->token_hash, sizeof(a->token_hash));
	ui_sessions_free(a->ui);
	free(a);
}
