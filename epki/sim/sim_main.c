/*
 * epki-sim: a local stand-in for GlobalSign's GasOrderService (SOAP 1.1
 * over HTTP) for tests and demos. Usage:
 *   epki-sim --listen 127.0.0.1:PORT --dir DIR [--latency-ms N]
 *            [--fault SPEC]... [--cert-format FMT]
 * Serves POST /cr/ws/GasOrderService and the same service under
 * /services/cr/ws/GasOrderService (README "Set up an instance": GlobalSign's
 * endpoint is documented with both paths), GET /crl/issuing.crl (the issuing
 * CA's CRL) and the admin endpoints /sim/state, /sim/fault and
 * /sim/config on a few epoll workers; a delayed answer suspends its
 * connection and a timer thread resumes it. Prints one "listening" line
 * once ready and exits 0 on SIGTERM or SIGINT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "buf.h"
#include "gw_err.h"
#include "gw_listen.h"
#include "secure.h"
#include "sim.h"

#define SIM_PATH "/cr/ws/GasOrderService"
#define SIM_PATH_ALT "/services" SIM_PATH
#define SIM_BODY_MAX (1024 * 1024)
#define SIM_WORKERS 4
#define SIM_MAX_CONN 8000

/* What a request is for. */
enum route {
	ROUTE_SOAP,   /* POST [/services]/cr/ws/GasOrderService */
	ROUTE_FAULT,  /* POST /sim/fault */
	ROUTE_CONFIG, /* POST /sim/config */
	ROUTE_STATE,  /* GET /sim/state */
	ROUTE_CRL,    /* GET /crl/issuing.crl */
	ROUTE_NONE,
};

/* Per-request state, owned through con_cls until request completion. */
struct sim_req {
	struct sim_req *next; /* timer queue, by deadline */
	struct MHD_Connection *conn;
	enum route route;
	struct buf body;
	int too_big;
	int ready;	/* res decided; waiting or resumed */
	struct buf out; /* response body */
	struct sim_result res;
	struct timespec deadline; /* CLOCK_MONOTONIC */
};

/*
 * The timer thread resumes suspended connections when their delay is
 * over, so a --latency-ms delay holds no thread (epki/sim/README.md:
 * 2,000 calls in flight).
 */
struct sim_timer {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC */
	struct sim_req *head;
	int stop;
	pthread_t thread;
};

static struct sim_timer timer;

/* a < b for CLOCK_MONOTONIC times. */
static int
ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	    (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/*
 * Queues a suspended request by deadline (after equal ones, so answers
 * keep their order). A linear walk: 2,000 entries cost microseconds.
 */
static void
timer_add(struct sim_req *rq)
{
	struct sim_req **pp;

	pthread_mutex_lock(&timer.mu);
	for (pp = &timer.head;
	     *pp != NULL && !ts_before(&rq->deadline, &(*pp)->deadline);
	     pp = &(*pp)->next)
		;
	rq->next = *pp;
	*pp = rq;
	pthread_cond_signal(&timer.cv);
	pthread_mutex_unlock(&timer.mu);
}

/* The timer thread: resume what is due; on stop, resume everything. */
static void *
timer_run(void *arg)
{
	struct timespec now;
	struct sim_req *rq;

	(void)arg;
	pthread_mutex_lock(&timer.mu);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		rq = timer.head;
		if (rq != NULL &&
		    (timer.stop || !ts_before(&now, &rq->deadline))) {
			timer.head = rq->next;
			rq->next = NULL;
			pthread_mutex_unlock(&timer.mu);
			MHD_resume_connection(rq->conn);
			pthread_mutex_lock(&timer.mu);
			continue;
		}
		if (timer.stop)
			break;
		if (rq == NULL)
			pthread_cond_wait(&timer.cv, &timer.mu);
		else
			pthread_cond_timedwait(&timer.cv, &timer.mu,
			    &rq->deadline);
	}
	pthread_mutex_unlock(&timer.mu);
	return NULL;
}

/* Starts the timer thread; 0 or -1. */
static int
timer_start(void)
{
	pthread_condattr_t ca;

	if (pthread_mutex_init(&timer.mu, NULL) != 0 ||
	    pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&timer.cv, &ca) != 0)
		return -1;
	pthread_condattr_destroy(&ca);
	return pthread_create(&timer.thread, NULL, timer_run, NULL) == 0 ? 0 :
									   -1;
}

/* Stops the timer thread after resuming every waiting connection. */
static void
timer_stop(void)
{
	pthread_mutex_lock(&timer.mu);
	timer.stop = 1;
	pthread_cond_signal(&timer.cv);
	pthread_mutex_unlock(&timer.mu);
	pthread_join(timer.thread, NULL);
}

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

/* Acts on a decided result: reply, or close (MHD_NO) for reset/drop. */
static enum MHD_Result
sim_act(struct MHD_Connection *c, struct sim_req *rq)
{
	if (rq->res.action == SIM_ACT_CLOSE)
		return MHD_NO;
	return reply_bytes(c, rq->res.status, rq->res.ctype, rq->out.data,
	    rq->out.len);
}

/* Answers a complete SOAP POST, now or after its delay. */
static enum MHD_Result
sim_answer(struct sim *s, struct MHD_Connection *c, struct sim_req *rq)
{
	const union MHD_ConnectionInfo *ci;
	long ms;

	rq->res.out = &rq->out;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (rq->too_big) {
		epki_soap_fault_build("soap:Client",
		    "Unmarshalling Error: request too large", &rq->out);
		rq->res.status = 500;
		rq->res.ctype = "text/xml;charset=UTF-8";
		rq->res.action = SIM_ACT_REPLY;
	} else if (sim_handle(s, ci ? ci->client_addr : NULL, rq->body.data,
		       rq->body.len, &rq->res) == -1) {
		return MHD_NO;
	}
	rq->ready = 1;
	if ((ms = rq->res.delay_ms) <= 0)
		return sim_act(c, rq);
	clock_gettime(CLOCK_MONOTONIC, &rq->deadline);
	rq->deadline.tv_sec += ms / 1000;
	rq->deadline.tv_nsec += (ms % 1000) * 1000000L;
	if (rq->deadline.tv_nsec >= 1000000000L) {
		rq->deadline.tv_sec++;
		rq->deadline.tv_nsec -= 1000000000L;
	}
	/* Suspend first, so the timer can never resume too early. */
	rq->conn = c;
	MHD_suspend_connection(c);
	timer_add(rq);
	return MHD_YES;
}

/* Answers an admin request (README "Admin endpoint"). */
static enum MHD_Result
sim_admin(struct sim *s, struct MHD_Connection *c, struct sim_req *rq)
{
	struct buf msg;
	enum MHD_Result ret;
	int rc;

	buf_init(&msg, 0);
	if (rq->route == ROUTE_STATE)
		rc = sim_state_text(s, &msg);
	else if (rq->too_big)
		rc = -1;
	else if (rq->route == ROUTE_FAULT)
		rc = sim_fault_admin(s,
		    rq->body.len ? (char *)rq->body.data : "", &msg);
	else
		rc = sim_config_admin(s,
		    rq->body.len ? (char *)rq->body.data : "", &msg);
	ret = reply_bytes(c, rc == 0 ? 200 : 400, "text/plain",
	    msg.data != NULL ? (const char *)msg.data : "", msg.len);
	buf_cleanup(&msg);
	return ret;
}

/* Answers GET /crl/issuing.crl with a fresh DER CRL. */
static enum MHD_Result
sim_crl(struct sim *s, struct MHD_Connection *c)
{
	static const char fail[] = "cannot build the CRL\n";
	struct gw_err err;
	enum MHD_Result ret;
	struct buf crl;

	buf_init(&crl, 0);
	if (sim_crl_der(s, &crl, &err) == -1) {
		fprintf(stderr, "epki-sim: %s\n", err.msg);
		ret = reply_bytes(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "text/plain", fail, sizeof(fail) - 1);
	} else {
		ret = reply_bytes(c, MHD_HTTP_OK, "application/pkix-crl",
		    crl.data, crl.len);
	}
	buf_cleanup(&crl);
	return ret;
}

/* Which handler a method and URL go to. */
static enum route
route_of(const char *url, const char *method)
{
	int post = strcmp(method, "POST") == 0;

	if (post &&
	    (strcmp(url, SIM_PATH) == 0 || strcmp(url, SIM_PATH_ALT) == 0))
		return ROUTE_SOAP;
	if (post && strcmp(url, "/sim/fault") == 0)
		return ROUTE_FAULT;
	if (post && strcmp(url, "/sim/config") == 0)
		return ROUTE_CONFIG;
	/* POST too, so a client that only posts can read it. */
	if ((post || strcmp(method, "GET") == 0) &&
	    strcmp(url, "/sim/state") == 0)
		return ROUTE_STATE;
	if (strcmp(method, "GET") == 0 && strcmp(url, "/crl/issuing.crl") == 0)
		return ROUTE_CRL;
	return ROUTE_NONE;
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
	if (rq == NULL) {
		if (route_of(url, method) == ROUTE_NONE)
			return reply_bytes(c, MHD_HTTP_NOT_FOUND, "text/plain",
			    nf, sizeof(nf) - 1);
		if ((rq = calloc(1, sizeof(*rq))) == NULL)
			return MHD_NO;
		rq->route = route_of(url, method);
		buf_init(&rq->body, SIM_BODY_MAX);
		buf_init(&rq->out, 0);
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (buf_add(&rq->body, upload, *upload_size) == -1)
			rq->too_big = 1;
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->ready)
		return sim_act(c, rq);
	if (rq->route == ROUTE_CRL)
		return sim_crl(cls, c);
	if (rq->route != ROUTE_SOAP)
		return sim_admin(cls, c, rq);
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
	buf_cleanup(&rq->out);
	free(rq);
	*con_cls = NULL;
}

/* --fault specs, added to sim.conf's once the configuration is read. */
static struct sim_fault faults[SIM_MAX_FAULTS];
static int cli_cert_format = -1; /* --cert-format, over sim.conf's */
static size_t nfaults;

/* Parses the command line; 0, or -1 after printing usage. */
static int
parse_args(int argc, char **argv, struct sim *s, struct sockaddr_in *sa)
{
	const char *listen = NULL, *dir = NULL;
	char *end;
	int i, clear;

	for (i = 1; i < argc; i += 2) {
		if (strcmp(argv[i], "--no-fsync") == 0) {
			s->no_fsync = true;
			i--;
			continue;
		}
		if (i + 1 == argc)
			break;
		if (strcmp(argv[i], "--listen") == 0)
			listen = argv[i + 1];
		else if (strcmp(argv[i], "--dir") == 0)
			dir = argv[i + 1];
		else if (strcmp(argv[i], "--fault") == 0) {
			if (nfaults == SIM_MAX_FAULTS ||
			    sim_fault_parse(argv[i + 1], &faults[nfaults],
				&clear) == -1 ||
			    clear)
				break;
			nfaults++;
		} else if (strcmp(argv[i], "--cert-format") == 0) {
			enum sim_cert_format f;

			if (sim_cert_format_parse(argv[i + 1], &f) == -1)
				break;
			cli_cert_format = (int)f;
		} else if (strcmp(argv[i], "--latency-ms") == 0) {
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
	    gw_listen_parse4(listen, s->host, sizeof(s->host), sa) == -1) {
		fprintf(stderr,
		    "usage: epki-sim --listen 127.0.0.1:PORT "
		    "--dir DIR [--latency-ms N] [--no-fsync] [--fault SPEC]...\n"
		    "\t[--cert-format pem-x509|pem-x509-nonl|pem-x509-crlf|"
		    "base64-der|pem-pkcs7|pem-pkcs7-chain]\n");
		return -1;
	}
	memcpy(s->dir, dir, strlen(dir) + 1);
	return 0;
}

/* Creates DIR, loads the config, state, orders and PKI. */
static int
sim_open(struct sim *s, struct gw_err *err)
{
	char path[PATH_MAX];
	size_t i;

	if (mkdir(s->dir, 0700) == -1 && errno != EEXIST) {
		gw_err_set(err, errno, "%s: %s", s->dir, strerror(errno));
		return -1;
	}
	sim_conf_defaults(&s->conf);
	if (sim_path(s, path, sizeof(path), "sim.conf") == -1 ||
	    sim_conf_load(&s->conf, path, err) == -1 ||
	    sim_state_load(s, err) == -1 || sim_orders_open(s, err) == -1 ||
	    sim_pki_load(s, err) == -1)
		return -1;
	for (i = 0; i < nfaults && s->nfaults < SIM_MAX_FAULTS; i++)
		s->faults[s->nfaults++] = faults[i];
	sim_cert_format_set(s,
	    cli_cert_format >= 0 ? (enum sim_cert_format)cli_cert_format :
				   s->conf.cert_format);
	if (gw_random_bytes((uint8_t *)&s->rng, sizeof(s->rng)) == -1)
		s->rng = (uint64_t)time(NULL);
	return sim_state_snapshot(s, err);
}

/*
 * Binds and listens on sa, learns the bound port, then starts the daemon
 * on that socket. The port is known before MHD starts its workers, which
 * read it and the leaf extensions made with it (sim_pki_issue) without
 * the lock: their creation orders those reads after these writes.
 */
static struct MHD_Daemon *
sim_start(struct sim *s, struct sockaddr_in *sa)
{
	struct MHD_Daemon *d = NULL;
	struct sockaddr_in bound;
	socklen_t len = sizeof(bound);
	struct gw_err err;
	int fd, on = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) == -1 ||
	    listen(fd, 4096) == -1 ||
	    getsockname(fd, (struct sockaddr *)&bound, &len) == -1)
		goto out;
	s->port = ntohs(bound.sin_port);
	if (sim_pki_leaf_exts(s, &err) == -1) {
		fprintf(stderr, "epki-sim: %s\n", err.msg);
		goto out;
	}
	/*
	 * A few epoll workers; delays suspend the connection instead of
	 * sleeping in a thread (see the timer above).
	 */
	d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD |
		MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
	    0, NULL, NULL, sim_access, s, MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_NOTIFY_COMPLETED, sim_completed, NULL,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)SIM_WORKERS,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)SIM_MAX_CONN,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_END);
out:
	/* Once started, MHD_stop_daemon() closes the socket. */
	if (d == NULL && fd != -1)
		close(fd);
	return d;
}

/* Lifts the open-file limit to its hard maximum: one fd a connection. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
main(int argc, char **argv)
{
	struct MHD_Daemon *d = NULL;
	struct sockaddr_in sa;
	struct gw_err err;
	struct sim s;
	sigset_t set;
	int sig, rc = 1, timer_started = 0;

	memset(&s, 0, sizeof(s));
	s.journal_fd = -1;
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
	raise_nofile();
	if (timer_start() == -1) {
		fprintf(stderr, "epki-sim: cannot start the timer thread\n");
		goto out;
	}
	timer_started = 1;
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
	if (timer_started)
		timer_stop();
	if (d != NULL)
		MHD_stop_daemon(d);
	sim_pki_cleanup(&s);
	sim_orders_close(&s);
	pthread_mutex_destroy(&s.mu);
	return rc;
}
