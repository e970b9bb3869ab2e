/*
 * Private to the SCEP listener: what the listener's life (listener.c:
 * the daemon, its connections, the watchdog) and the answering of one
 * request (request.c) share.
 */
#ifndef GW_HTTP_INT_H
#define GW_HTTP_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <microhttpd.h>

struct gw_ctx;

#define CT_TEXT "text/plain"
#define CT_PKI "application/x-pki-message"
#define CT_CA_RA "application/x-x509-ca-ra-cert"
#define CT_NEXT_CA "application/x-x509-next-ca-cert"

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
	/* GetCACaps and GetCACert change only with the RA (a reload): one
	 * response each, queued again for every request (no allocation per
	 * GET), swapped by srv_http_ra_reload() under resp_mu. */
	pthread_mutex_t resp_mu;
	struct MHD_Response *caps;
	struct MHD_Response *cacert;
};

/* Above this many open connections, a reply that waited for an order
 * closes its connection (srv_reply_op()): at most 8 MiB kept for reuse. */
#define SRV_KEEPALIVE_CONNS 256

/* listener.c: the connections, and the requests being dispatched. */
size_t srv_conns_open(struct srv_http *h);
void srv_conn_mark(struct srv_http *h, struct MHD_Connection *conn,
    bool receiving);
bool srv_enter(struct srv_http *h);
void srv_leave(struct srv_http *h);
/* A response over bytes that are never copied and never written to. */
struct MHD_Response *srv_response_new(const void *p, size_t len,
    enum MHD_ResponseMemoryMode m, const char *ctype);

enum MHD_Result srv_queue_static(struct srv_http *h,
    struct MHD_Connection *conn, bool caps);

/* request.c: libmicrohttpd's request callbacks. */
enum MHD_Result srv_access(void *cls, struct MHD_Connection *conn,
    const char *url, const char *method, const char *version, const char *data,
    size_t *size, void **con_cls);
void srv_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe);

#endif
