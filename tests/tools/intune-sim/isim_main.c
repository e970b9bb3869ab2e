/*
 * intune-sim: a local stand-in for Entra ID's token endpoint, Microsoft
 * Graph's service discovery and Intune's SCEP validation service
 * (ScepActions), for the gateway's Intune tests. Usage:
 *   intune-sim --listen 127.0.0.1:PORT --dir DIR [--http]
 * HTTPS (a test CA in DIR) unless --http; one thread per connection, so
 * a delayed or hanging answer holds only its own thread. Prints one
 * "listening" line once ready and exits 0 on SIGTERM or SIGINT. What it
 * serves: tests/tools/intune-sim/README.md.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gw_listen.h"
#include "isim.h"

#define ISIM_BODY_MAX (1024 * 1024)

/* Per-request state, owned through con_cls until completion. */
struct conn_state {
	char *body;
	size_t len;
	int too_big;
};

static const char *const hop_names[HOP__MAX] = { "token-graph", "token-intune",
	"discovery", "validate", "success", "failure", "revocation-download",
	"revocation-upload", "other" };

const char *
isim_hop_name(enum isim_hop hop)
{
	return hop_names[hop];
}

time_t
isim_now(const struct isim *s)
{
	return time(NULL) + s->clock_offset;
}

/* ISO 8601 UTC with milliseconds, as Graph writes its dates. */
char *
isim_iso_time(time_t t, char *buf, size_t n)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	return buf;
}

const char *
isim_header(struct isim_req *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

/* Sets a JSON answer (takes the reference of body). */
void
isim_json_resp(struct isim_resp *out, unsigned status, json_t *body)
{
	out->status = status;
	out->ctype = "application/json; charset=utf-8";
	free(out->body);
	out->body = json_dumps(body, JSON_COMPACT);
	json_decref(body);
}

/* Which hop a URL belongs to; HOP__MAX for the admin endpoints. */
static enum isim_hop
route(struct isim *s, const char *method, const char *url, char *tenant,
    size_t tlen)
{
	const char *p;
	size_t n = strlen(s->conf.service_path);

	if (strncmp(url, "/_sim/", 6) == 0)
		return HOP__MAX;
	p = strstr(url, "/oauth2/v2.0/token");
	if (p != NULL && p > url + 1 && strcmp(p, "/oauth2/v2.0/token") == 0 &&
	    (size_t)(p - url - 1) < tlen &&
	    memchr(url + 1, '/', (size_t)(p - url - 1)) == NULL) {
		memcpy(tenant, url + 1, (size_t)(p - url - 1));
		tenant[p - url - 1] = '\0';
		return strcmp(method, "POST") == 0 ? HOP_TOKEN_GRAPH :
						     HOP_OTHER;
	}
	if (strncmp(url, "/v1.0/", 6) == 0 && strstr(url, "servicePrincipals"))
		return HOP_DISCOVERY;
	if (strncmp(url, s->conf.service_path, n) == 0 &&
	    strncmp(url + n, "/ScepActions/", 13) == 0) {
		p = url + n + 13;
		if (strcmp(p, "validateRequest") == 0)
			return HOP_VALIDATE;
		if (strcmp(p, "successNotification") == 0)
			return HOP_SUCCESS;
		if (strcmp(p, "failureNotification") == 0)
			return HOP_FAILURE;
	}
	n = strlen(ISIM_PKI_PATH);
	if (strncmp(url, ISIM_PKI_PATH, n) == 0) {
		p = url + n;
		if (strcmp(p,
			"/CertificateAuthorityRequests/"
			"downloadRevocationRequests") == 0)
			return HOP_REVOKE_DOWNLOAD;
		if (strcmp(p,
			"/CertificateAuthorityRequests/"
			"uploadRevocationResults") == 0)
			return HOP_REVOKE_UPLOAD;
	}
	return HOP_OTHER;
}

/* A new log entry for rq (under the lock): sequence, time, headers. */
static json_t *
log_entry(struct isim *s, struct isim_req *rq, enum isim_hop hop)
{
	static const char *const hdrs[] = { "client-request-id", "api-version",
		"Content-Type", "UserAgent", "User-Agent", "Accept" };
	json_t *e = json_object(), *h = json_object();
	const char *auth = isim_header(rq, "Authorization"), *v;
	struct timespec ts;
	long long ms;
	char when[40];
	size_t i;

	json_object_set_new(e, "seq", json_integer((json_int_t)++s->seq));
	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	isim_iso_time(isim_now(s), when, sizeof(when));
	json_object_set_new(e, "time", json_string(when));
	/* Wall clock in ms, to order against other processes' logs. */
	json_object_set_new(e, "wall_ms", json_integer((json_int_t)ms));
	json_object_set_new(e, "method", json_string(rq->method));
	json_object_set_new(e, "path", json_string(rq->url));
	json_object_set_new(e, "hop", json_string(isim_hop_name(hop)));
	for (i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++)
		if ((v = isim_header(rq, hdrs[i])) != NULL)
			json_object_set_new(h, hdrs[i], json_string(v));
	/* The scheme only: the credential itself is never logged. */
	if (auth != NULL)
		json_object_set_new(h, "Authorization",
		    json_string(strncmp(auth, "Bearer ", 7) == 0 ? "Bearer" :
			    strncmp(auth, "Basic ", 6) == 0	 ? "Basic" :
								   "other"));
	json_object_set_new(e, "headers", h);
	return e;
}

/* Sleeps ms milliseconds in steps, ending early when the sim stops. */
static void
nap(struct isim *s, long ms)
{
	struct timespec ts = { 0, 50 * 1000000L };

	for (; ms > 0 && !s->stop; ms -= 50)
		nanosleep(&ts, NULL);
}

/* Handles one protocol request: fault, then the hop's handler. */
static void
serve(struct isim *s, struct isim_req *rq, enum isim_hop hop,
    const char *tenant, struct isim_resp *out)
{
	struct isim_fault copy;
	const struct isim_fault *f;
	unsigned long gen;

	pthread_mutex_lock(&s->mu);
	gen = s->generation;
	if (hop == HOP_TOKEN_GRAPH)
		hop = isim_token_hop(s, rq->body);
	rq->entry = log_entry(s, rq, hop);
	s->hop_count[hop]++;
	f = isim_fault_take(s, hop, &copy);
	pthread_mutex_unlock(&s->mu);
	if (f != NULL && strcmp(f->mode, "delay") == 0)
		nap(s, f->ms);
	else if (f != NULL && strcmp(f->mode, "hang") == 0)
		nap(s, f->ms > 0 ? f->ms : 600000);
	pthread_mutex_lock(&s->mu);
	s->cur_seq =
	    (uint64_t)json_integer_value(json_object_get(rq->entry, "seq"));
	if (f != NULL)
		json_object_set_new(rq->entry, "fault", json_string(f->mode));
	if (f != NULL && strcmp(f->mode, "delay") != 0)
		isim_fault_answer(s, f, hop, out);
	else if (hop == HOP_TOKEN_GRAPH || hop == HOP_TOKEN_INTUNE)
		isim_token(s, rq, tenant, out);
	else if (hop == HOP_DISCOVERY)
		isim_discovery(s, rq, out);
	else if (hop == HOP_OTHER)
		isim_json_resp(out, 404,
		    json_pack("{s:{s:s,s:s}}", "error", "code", "NotFound",
			"message",
			"No HTTP resource was found that matches "
			"the request URI."));
	else if (hop == HOP_REVOKE_DOWNLOAD || hop == HOP_REVOKE_UPLOAD)
		isim_revoke(s, rq, hop, out);
	else
		isim_scep(s, rq, hop, out);
	json_object_set_new(rq->entry, "status",
	    out->close ? json_string("reset") : json_integer(out->status));
	/* A request still in flight at a reset is not logged after it. */
	if (gen != s->generation)
		json_decref(rq->entry);
	else if (json_array_append_new(s->log, rq->entry) == 0 &&
	    json_array_size(s->log) > ISIM_LOG_MAX)
		json_array_remove(s->log, 0);
	pthread_mutex_unlock(&s->mu);
}

/* Queues out as the answer; MHD_NO (connection closed) for a reset. */
static enum MHD_Result
reply(struct MHD_Connection *c, struct isim_resp *out)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	const char *b = out->body != NULL ? out->body : "";

	if (out->close)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(b), (void *)(uintptr_t)b,
	    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    out->ctype != NULL ? out->ctype : "application/json");
	if (out->www_auth != NULL)
		MHD_add_response_header(r, "WWW-Authenticate", out->www_auth);
	ret = MHD_queue_response(c, out->status, r);
	MHD_destroy_response(r);
	return ret;
}

/* MHD access handler: collect the body, then answer. */
static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct isim *s = cls;
	struct conn_state *cs = *con_cls;
	struct isim_resp out = { 0 };
	struct isim_req rq = { 0 };
	char tenant[256] = "";
	enum isim_hop hop;
	enum MHD_Result ret;
	char *nb;

	(void)version;
	if (cs == NULL) {
		if ((cs = calloc(1, sizeof(*cs))) == NULL)
			return MHD_NO;
		*con_cls = cs;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (cs->len + *upload_size > ISIM_BODY_MAX ||
		    (nb = realloc(cs->body, cs->len + *upload_size + 1)) ==
			NULL) {
			cs->too_big = 1;
		} else {
			memcpy(nb + cs->len, upload, *upload_size);
			cs->body = nb;
			cs->len += *upload_size;
			nb[cs->len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	rq.conn = c;
	rq.method = method;
	rq.url = url;
	rq.body = cs->body != NULL ? cs->body : "";
	rq.len = cs->len;
	hop = route(s, method, url, tenant, sizeof(tenant));
	if (cs->too_big)
		isim_json_resp(&out, 413,
		    json_pack("{s:{s:s}}", "error", "code", "RequestTooLarge"));
	else if (hop == HOP__MAX)
		isim_admin(s, &rq, &out);
	else
		serve(s, &rq, hop, tenant, &out);
	ret = reply(c, &out);
	free(out.body);
	return ret;
}

static void
completed_cb(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct conn_state *cs = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (cs == NULL)
		return;
	free(cs->body);
	free(cs);
	*con_cls = NULL;
}

static int
parse_args(int argc, char **argv, struct isim *s, struct sockaddr_in *sa)
{
	const char *listen = NULL, *dir = NULL;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--http") == 0)
			s->http = 1;
		else if (i + 1 < argc && strcmp(argv[i], "--listen") == 0)
			listen = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--dir") == 0)
			dir = argv[++i];
		else
			break;
	}
	if (i != argc || listen == NULL || dir == NULL ||
	    strlen(dir) >= sizeof(s->dir) - 32 ||
	    gw_listen_parse4(listen, s->host, sizeof(s->host), sa) == -1) {
		fprintf(stderr,
		    "usage: intune-sim --listen 127.0.0.1:PORT --dir DIR "
		    "[--http]\n");
		return -1;
	}
	memcpy(s->dir, dir, strlen(dir) + 1);
	return 0;
}

/* Creates DIR, reads sim.conf and the keys, makes the empty state. */
static int
isim_open(struct isim *s, char *err, size_t errlen)
{
	char path[PATH_MAX + 32];

	if (mkdir(s->dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", s->dir, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/sim.conf", s->dir);
	isim_conf_defaults(&s->conf);
	if (isim_conf_load(&s->conf, path, err, errlen) == -1 ||
	    isim_pki_load(s, err, errlen) == -1 ||
	    isim_client_cert_load(s, err, errlen) == -1)
		return -1;
	s->log = json_array();
	s->violations = json_array();
	s->txns = json_object();
	s->jtis = json_object();
	s->revocations = json_array();
	return 0;
}

/*
 * Binds and listens on sa and learns the bound port before the daemon
 * starts, so its threads read s->base and s->port written before they
 * exist; then starts the daemon (TLS unless --http) on that socket.
 */
static struct MHD_Daemon *
isim_start(struct isim *s, struct sockaddr_in *sa)
{
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	struct sockaddr_in bound;
	socklen_t len = sizeof(bound);
	struct MHD_Daemon *d = NULL;
	int fd, on = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) == -1 ||
	    listen(fd, 512) == -1 ||
	    getsockname(fd, (struct sockaddr *)&bound, &len) == -1)
		goto out;
	s->port = ntohs(bound.sin_port);
	snprintf(s->base, sizeof(s->base), "%s://%s:%u",
	    s->http ? "http" : "https", s->host, s->port);
	if (s->http)
		d = MHD_start_daemon(flags, 0, NULL, NULL, access_cb, s,
		    MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED,
		    completed_cb, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
		    (unsigned)120, MHD_OPTION_END);
	else
		d = MHD_start_daemon(flags | MHD_USE_TLS, 0, NULL, NULL,
		    access_cb, s, MHD_OPTION_LISTEN_SOCKET, fd,
		    MHD_OPTION_NOTIFY_COMPLETED, completed_cb, NULL,
		    MHD_OPTION_HTTPS_MEM_KEY, s->tls_key,
		    MHD_OPTION_HTTPS_MEM_CERT, s->tls_cert,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
		    MHD_OPTION_END);
out:
	/* Once started, MHD_stop_daemon() closes the socket. */
	if (d == NULL && fd != -1)
		close(fd);
	return d;
}

int
main(int argc, char **argv)
{
	static struct isim s;
	struct MHD_Daemon *d = NULL;
	struct sockaddr_in sa;
	char err[PATH_MAX + 128] = "";
	sigset_t set;
	int sig, rc = 1;

	if (parse_args(argc, argv, &s, &sa) == -1)
		return 2;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (pthread_mutex_init(&s.mu, NULL) != 0)
		return 1;
	if (isim_open(&s, err, sizeof(err)) == -1) {
		fprintf(stderr, "intune-sim: %s\n", err);
		goto out;
	}
	if ((d = isim_start(&s, &sa)) == NULL) {
		fprintf(stderr, "intune-sim: cannot listen on %s:%u\n", s.host,
		    (unsigned)ntohs(sa.sin_port));
		goto out;
	}
	printf("intune-sim listening on %s\n", s.base);
	fflush(stdout);
	while (sigwait(&set, &sig) != 0)
		;
	rc = 0;
out:
	s.stop = 1;
	if (d != NULL)
		MHD_stop_daemon(d);
	EVP_PKEY_free(s.token_key);
	EVP_PKEY_free(s.client_pub);
	free(s.tls_cert);
	free(s.tls_key);
	json_decref(s.log);
	json_decref(s.violations);
	json_decref(s.txns);
	json_decref(s.jtis);
	json_decref(s.revocations);
	pthread_mutex_destroy(&s.mu);
	return rc;
}
