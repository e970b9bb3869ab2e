/*
 * epki-sim: a local stand-in for GlobalSign's GasOrderService (SOAP 1.1
 * over HTTP) for tests and demos. Usage:
 *   epki-sim --listen 127.0.0.1:PORT --dir DIR [--latency-ms N]
 * Serves POST /cr/ws/GasOrderService with a thread per connection (so a
 * --latency-ms delay can simply sleep), prints one "listening" line once
 * ready and exits 0 on SIGTERM or SIGINT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <microhttpd.h>

#include "buf.h"
#include "gw_err.h"
#include "secure.h"
#include "sim.h"

#define SIM_PATH "/cr/ws/GasOrderService"
#define SIM_BODY_MAX (1024 * 1024)

/* Per-request state, owned through con_cls until request completion. */
struct sim_req {
	struct buf body;
	int too_big;
};

/* Queues a response from bytes (copied). */
static enum MHD_Result
reply_bytes(struct MHD_Connection *c, unsigned status, const char *ctype,
    const void *p, size_t n)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	/* MHD 0.9.75 takes a non-const buffer even when it copies. */
	r = MHD_create_response_from_buffer(n, (void *)(uintptr_t)p,
	    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Sleeps for the configured latency (this connection's own thread). */
static void
sim_delay(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
		.tv_nsec = (ms % 1000) * 1000000L };

	while (ms > 0 && nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Answers a complete POST body. */
static enum MHD_Result
sim_answer(struct sim *s, struct MHD_Connection *c, struct sim_req *rq)
{
	const union MHD_ConnectionInfo *ci;
	struct buf out;
	unsigned status = 500;
	enum MHD_Result ret;

	buf_init(&out, 0);
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (rq->too_big)
		epki_soap_fault_build("soap:Client",
		    "Unmarshalling Error: request too large", &out);
	else
		sim_handle(s, ci ? ci->client_addr : NULL, rq->body.data,
		    rq->body.len, &out, &status);
	sim_delay(s->latency_ms);
	ret =
	    reply_bytes(c, status, "text/xml;charset=UTF-8", out.data, out.len);
	buf_cleanup(&out);
	return ret;
}

/* MHD access handler: collect the body, then answer. */
static enum MHD_Result
sim_access(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	static const char nf[] = "Not Found\n";
	struct sim_req *rq = *con_cls;

	(void)version;
	if (strcmp(url, SIM_PATH) != 0 || strcmp(method, "POST") != 0)
		return reply_bytes(c, MHD_HTTP_NOT_FOUND, "text/plain", nf,
		    sizeof(nf) - 1);
	if (rq == NULL) {
		if ((rq = calloc(1, sizeof(*rq))) == NULL)
			return MHD_NO;
		buf_init(&rq->body, SIM_BODY_MAX);
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (buf_add(&rq->body, upload, *upload_size) == -1)
			rq->too_big = 1;
		*upload_size = 0;
		return MHD_YES;
	}
	return sim_answer(cls, c, rq);
}

/* MHD completion: frees the per-request state. */
static void
sim_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct sim_req *rq = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (rq == NULL)
		return;
	buf_cleanup(&rq->body);
	free(rq);
	*con_cls = NULL;
}

/* Parses --listen HOST:PORT (IPv4) into sa and s->host. */
static int
parse_listen(const char *arg, struct sim *s, struct sockaddr_in *sa)
{
	const char *colon = strrchr(arg, ':');
	char *end;
	long port;

	if (colon == NULL || (size_t)(colon - arg) >= sizeof(s->host))
		return -1;
	memcpy(s->host, arg, (size_t)(colon - arg));
	s->host[colon - arg] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno != 0 || end == colon + 1 || *end != '\0' || port < 0 ||
	    port > 65535)
		return -1;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, s->host, &sa->sin_addr) == 1 ? 0 : -1;
}

/* Parses the command line; 0, or -1 after printing usage. */
static int
parse_args(int argc, char **argv, struct sim *s, struct sockaddr_in *sa)
{
	const char *listen = NULL, *dir = NULL;
	char *end;
	int i;

	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--listen") == 0)
			listen = argv[i + 1];
		else if (strcmp(argv[i], "--dir") == 0)
			dir = argv[i + 1];
		else if (strcmp(argv[i], "--latency-ms") == 0) {
			errno = 0;
			s->latency_ms = strtol(argv[i + 1], &end, 10);
			if (errno != 0 || *end != '\0' || s->latency_ms < 0 ||
			    s->latency_ms > 600000)
				break;
		} else
			break;
	}
	if (i != argc || listen == NULL || dir == NULL ||
	    strlen(dir) >= sizeof(s->dir) ||
	    parse_listen(listen, s, sa) == -1) {
		fprintf(stderr,
		    "usage: epki-sim --listen 127.0.0.1:PORT "
		    "--dir DIR [--latency-ms N]\n");
		return -1;
	}
	memcpy(s->dir, dir, strlen(dir) + 1);
	return 0;
}

/* Creates DIR and DIR/orders, loads the config, state and PKI. */
static int
sim_open(struct sim *s, struct gw_err *err)
{
	char path[PATH_MAX];

	if ((mkdir(s->dir, 0700) == -1 && errno != EEXIST) ||
	    sim_path(s, path, sizeof(path), "orders") == -1 ||
	    (mkdir(path, 0700) == -1 && errno != EEXIST)) {
		gw_err_set(err, errno, "%s: %s", s->dir, strerror(errno));
		return -1;
	}
	sim_conf_defaults(&s->conf);
	if (sim_path(s, path, sizeof(path), "sim.conf") == -1 ||
	    sim_conf_load(&s->conf, path, err) == -1 ||
	    sim_state_load(s, err) == -1 || sim_pki_load(s, err) == -1)
		return -1;
	return sim_state_save(s, err);
}

/* Starts the daemon on sa and learns the bound port. */
static struct MHD_Daemon *
sim_start(struct sim *s, struct sockaddr_in *sa)
{
	const union MHD_DaemonInfo *di;
	struct MHD_Daemon *d;

	d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION |
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
		MHD_USE_ERROR_LOG,
	    0, NULL, NULL, sim_access, s, MHD_OPTION_SOCK_ADDR, sa,
	    MHD_OPTION_NOTIFY_COMPLETED, sim_completed, NULL,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)2000,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024, MHD_OPTION_END);
	if (d == NULL)
		return NULL;
	di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di != NULL ? di->port : ntohs(sa->sin_port);
	return d;
}

int
main(int argc, char **argv)
{
	struct MHD_Daemon *d = NULL;
	struct sockaddr_in sa;
	struct gw_err err;
	struct sim s;
	sigset_t set;
	int sig, rc = 1;

	memset(&s, 0, sizeof(s));
	gw_err_clear(&err);
	if (parse_args(argc, argv, &s, &sa) == -1)
		return 2;
	/* Every thread inherits the blocked signals; main waits for them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (pthread_mutex_init(&s.mu, NULL) != 0)
		return 1;
	if (sim_open(&s, &err) == -1) {
		fprintf(stderr, "epki-sim: %s\n", err.msg);
		goto out;
	}
	if ((d = sim_start(&s, &sa)) == NULL) {
		fprintf(stderr, "epki-sim: cannot listen on %s:%u\n", s.host,
		    (unsigned)ntohs(sa.sin_port));
		goto out;
	}
	printf("epki-sim listening on %s:%u\n", s.host, s.port);
	fflush(stdout);
	while (sigwait(&set, &sig) != 0)
		;
	rc = 0;
out:
	if (d != NULL)
		MHD_stop_daemon(d);
	sim_pki_cleanup(&s);
	pthread_mutex_destroy(&s.mu);
	return rc;
}
