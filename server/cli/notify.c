/*
 * systemd's notification protocol for `scepgw serve` (README "Running
 * under systemd"): READY=1 once both listeners accept and the database is
 * open, RELOADING=1 / READY=1 around a SIGHUP reload, STOPPING=1 when the
 * drain starts, and the watchdog: WATCHDOG=1 every half period, sent only
 * while the database's writer and the SCEP listener are seen answering.
 * Without NOTIFY_SOCKET (not under systemd) nothing is sent.
 */
#define _DEFAULT_SOURCE /* struct timespec helpers, clock_gettime */

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "cli.h"
#include "config.h"
#include "db.h"
#include "gw.h"
#include "gw_err.h"
#include "http.h"
#include "log.h"
#include "reply.h"

/* The longest the loopback GetCACaps may take, whatever the period. */
#define PROBE_MAX_MS 5000

struct notify_wd {
	struct gw_ctx *ctx;
	uint64_t period_us;	       /* WATCHDOG_USEC */
	struct sockaddr_storage probe; /* the SCEP listener, on loopback */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;	    /* under mu */
	bool probe_queued;  /* under mu: a writer probe is in the queue */
	uint64_t db_passed; /* under mu: writer probes that got through */
	uint64_t db_seen;   /* the thread's: db_passed at the last tick */
};

/* Sends one notification (none without NOTIFY_SOCKET); a failure is
 * logged. */
static void
notify_send(const char *msg)
{
	int rc = sd_notify(0, msg);

	if (rc < 0)
		log_warnx("sd_notify: %s", strerror(-rc));
}

/* READY=1 with a STATUS= naming the listeners. */
void
notify_ready(const struct gw_ctx *ctx)
{
	char msg[512];

	snprintf(msg, sizeof(msg),
	    "READY=1\nSTATUS=SCEP on %s (port %u)%s%s, database %s",
	    ctx->cfg->listen, srv_http_port(ctx->http),
	    ctx->cfg->admin_listen != NULL ? ", admin on " : "",
	    ctx->cfg->admin_listen != NULL ? ctx->cfg->admin_listen : "",
	    db_backend_name(ctx->db));
	notify_send(msg);
}

/*
 * RELOADING=1 with the monotonic time systemd 253's Type=notify-reload
 * wants (older ones ignore it), before a reload; notify_ready() after.
 */
void
notify_reloading(void)
{
	struct timespec ts;
	char msg[96];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
		(unsigned long long)ts.tv_nsec / 1000ULL);
	notify_send(msg);
}

/* STOPPING=1: the drain starts. */
void
notify_stopping(void)
{
	notify_send("STOPPING=1\nSTATUS=draining");
}

/* A writer probe got through the queue (on the writer's thread). */
static void
wd_db_done(void *arg, int rc, const struct gw_err *err)
{
	struct notify_wd *w = arg;

	(void)rc;
	(void)err;
	pthread_mutex_lock(&w->mu);
	w->probe_queued = false;
	w->db_passed++;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/*
 * The writer is alive when the probe queued at the previous tick got
 * through (any answer of the database counts: a stuck writer gives none);
 * queues the next one. The first tick only queues.
 */
static bool
wd_db_alive(struct notify_wd *w)
{
	struct gw_err err;
	bool alive, queue;

	pthread_mutex_lock(&w->mu);
	alive = w->db_passed > w->db_seen;
	w->db_seen = w->db_passed;
	queue = !w->probe_queued;
	if (queue)
		w->probe_queued = true;
	pthread_mutex_unlock(&w->mu);
	if (queue &&
	    db_write_probe_submit(w->ctx->db, wd_db_done, w, &err) == -1) {
		log_warnx("watchdog: %s", err.msg);
		pthread_mutex_lock(&w->mu);
		w->probe_queued = false;
		pthread_mutex_unlock(&w->mu);
	}
	return alive;
}

/* Waits for fd to become ready for ev within ms; true when it did. */
static bool
wd_poll(int fd, short ev, int ms)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int rc;

	while ((rc = poll(&p, 1, ms)) == -1 && errno == EINTR)
		;
	return rc == 1 && (p.revents & ev) != 0;
}

/*
 * The SCEP listener is alive when GET /scep?operation=GetCACaps on
 * loopback gets a 200 status line within ms.
 */
static bool
wd_http_alive(const struct notify_wd *w, int ms)
{
	static const char req[] = "GET /scep?operation=GetCACaps HTTP/1.0\r\n"
				  "Host: localhost\r\n\r\n";
	socklen_t len = w->probe.ss_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
	char buf[64];
	size_t got = 0;
	ssize_t n;
	bool ok = false;
	int fd;

	fd = socket(w->probe.ss_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return false;
	if (connect(fd, (const struct sockaddr *)&w->probe, len) == -1 &&
	    (errno != EINPROGRESS || !wd_poll(fd, POLLOUT, ms)))
		goto out;
	if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) !=
	    (ssize_t)(sizeof(req) - 1))
		goto out;
	while (got < 12 && wd_poll(fd, POLLIN, ms) &&
	    (n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	ok = got >= 12 && strncmp(buf, "HTTP/1.", 7) == 0 &&
	    strncmp(buf + 8, " 200", 4) == 0;
out:
	close(fd);
	return ok;
}

/*
 * The watchdog thread: every half period, WATCHDOG=1 if the writer and
 * the listener are alive; otherwise nothing, logged, and systemd ends the
 * process once a whole period passed without one.
 */
static void *
wd_main(void *arg)
{
	struct notify_wd *w = arg;
	struct timespec until;
	uint64_t half = w->period_us / 2;
	int ms = (int)(half / 1000 < PROBE_MAX_MS ? half / 1000 : PROBE_MAX_MS);
	bool db, http;

	(void)wd_db_alive(w); /* the first probe */
	pthread_mutex_lock(&w->mu);
	for (;;) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += (time_t)(half / 1000000);
		until.tv_nsec += (long)(half % 1000000) * 1000;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!w->stop &&
		    pthread_cond_timedwait(&w->cv, &w->mu, &until) == 0)
			;
		if (w->stop)
			break;
		pthread_mutex_unlock(&w->mu);
		db = wd_db_alive(w);
		http = wd_http_alive(w, ms > 0 ? ms : 1);
		if (db && http)
			notify_send("WATCHDOG=1");
		else
			log_warnx("watchdog: %s%s%s not answering; WATCHDOG=1 "
				  "withheld",
			    db ? "" : "the database writer",
			    !db && !http ? " and " : "",
			    http ? "" : "the SCEP listener");
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* The SCEP listener's address as the probe connects to it: a wildcard
 * address becomes loopback; the port is the one bound. */
static int
wd_probe_addr(struct notify_wd *w, struct gw_err *err)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)(void *)&w->probe;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)&w->probe;
	uint16_t port = (uint16_t)srv_http_port(w->ctx->http);

	if (gw_listen_parse(w->ctx->cfg->listen, &w->probe, err) == -1)
		return -1;
	if (w->probe.ss_family == AF_INET6) {
		if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
			in6->sin6_addr = in6addr_loopback;
		in6->sin6_port = htons(port);
	} else {
		if (in4->sin_addr.s_addr == htonl(INADDR_ANY))
			in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		in4->sin_port = htons(port);
	}
	return 0;
}

/*
 * Starts the watchdog thread when systemd asked for one (WATCHDOG_USEC,
 * for this process); *out stays NULL otherwise. Returns 0 or -1 (logged).
 */
int
notify_watchdog_start(struct notify_wd **out, struct gw_ctx *ctx)
{
	struct notify_wd *w;
	struct gw_err err;
	uint64_t usec = 0;

	*out = NULL;
	if (sd_watchdog_enabled(0, &usec) <= 0 || usec < 2000)
		return 0;
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		log_warnx("watchdog: out of memory");
		return -1;
	}
	w->ctx = ctx;
	w->period_us = usec;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (wd_probe_addr(w, &err) == -1 ||
	    pthread_create(&w->thread, NULL, wd_main, w) != 0) {
		log_warnx("watchdog: cannot start");
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return -1;
	}
	log_info("watchdog: WATCHDOG=1 every %llu ms while the database "
		 "writer and the SCEP listener answer",
	    (unsigned long long)(usec / 2000));
	*out = w;
	return 0;
}

/* Stops the watchdog thread (at the drain: no more WATCHDOG=1). */
void
notify_watchdog_stop(struct notify_wd *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	if (w->stop) {
		pthread_mutex_unlock(&w->mu);
		return;
	}
	w->stop = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
}

/* Frees it once no probe is queued any more (after the database's
 * writes were flushed); accepts NULL. */
void
notify_watchdog_free(struct notify_wd *w)
{
	if (w == NULL)
		return;
	notify_watchdog_stop(w);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
