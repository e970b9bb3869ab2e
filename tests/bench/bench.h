/*
 * scepgw-bench, the load generator for the gateway: shared declarations
 * of its HTTP driver (bench_http.c, one libcurl multi handle), the
 * enrollment preparation and reply checks (bench_enroll.c) and the
 * reporting in bench_main.c. Test-only code, not part of scepgw.
 */
#ifndef GW_BENCH_H
#define GW_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct gw_err;

/* One HTTP exchange: filled in by the caller, completed by the driver. */
struct bench_xfer {
	const char *url;     /* NULL: the run's URL (enroll with --url twice) */
	const uint8_t *body; /* POST body, or NULL for a GET */
	size_t len;	     /* its length */
	struct buf reply;    /* response body (bounded) */
	long status;	     /* HTTP status, 0 when none */
	int curl_rc;	     /* CURLcode of the transfer */
	double ms;	     /* latency: added to the multi handle -> done */
};

/* What a timed run cost. */
#define BENCH_WATCH_MAX 4
/* enroll: gateways served round-robin (--url repeated). */
#define BENCH_URL_MAX 4

/* A process whose CPU time is measured over the timed run (--watch). */
struct bench_watch {
	char name[32];
	long pid;
	double cpu_ms; /* user + system while timed; -1 if unreadable */
};

struct bench_cost {
	double wall_s;	       /* first request sent -> last reply in */
	double self_cpu_ms;    /* CPU of the load tool itself */
	double machine_cpu_ms; /* CPU of the whole machine (all processes) */
	double machine_busy;   /* 0..1: share of all cores busy */
	struct bench_watch watch[BENCH_WATCH_MAX]; /* set by the caller */
	size_t nwatch;
};

/* Runs every transfer against url with conc of them in flight. */
int bench_http_run(const char *url, struct bench_xfer *x, size_t n, size_t conc,
    long timeout_s, struct bench_cost *cost, struct gw_err *err);
/* A single blocking GET; 0 with the body in out, or -1 with err. */
int bench_http_get(const char *url, struct buf *out, struct gw_err *err);
double bench_now(void);

/* How a reply can be wrong. */
enum bench_fail {
	BENCH_FAIL_TRANSPORT, /* curl error (refused, reset, timeout) */
	BENCH_FAIL_HTTP,      /* HTTP status other than 200 */
	BENCH_FAIL_BADREPLY,  /* unparsable or unverifiable reply */
	BENCH_FAIL_PENDING,   /* pkiStatus PENDING */
	BENCH_FAIL_FAILURE,   /* pkiStatus FAILURE */
	BENCH_FAIL_WRONGKEY,  /* issued certificate for another key */
	BENCH_FAIL_DUPSERIAL, /* serial number issued twice */
	BENCH_FAIL__MAX
};
const char *bench_fail_name(enum bench_fail f);

/* Failure counts; the first few of each kind are explained on stderr. */
struct bench_tally {
	size_t fail[BENCH_FAIL__MAX]; /* per kind */
	size_t ok;		      /* good replies */
};
void bench_tally_add(struct bench_tally *t, enum bench_fail f, size_t i,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Enrollment requests: built untimed, checked after the run. */
struct bench_enroll;
struct bench_enroll_opts {
	const char *url;     /* SCEP URL */
	char **challenges;   /* n challenge passwords */
	size_t n;	     /* requests */
	int cipher_nid;	     /* content cipher */
	int digest_nid;	     /* digest */
	int key_bits;	     /* RSA key size */
	unsigned threads;    /* preparation threads */
	const char *key_dir; /* NULL, or where key i is kept as key-<i>.pem */
	bool
	    lax_sender_nonce; /* accept a CertRep without a fresh senderNonce */
};
int bench_enroll_new(struct bench_enroll **out,
    const struct bench_enroll_opts *o, struct gw_err *err);
void bench_enroll_free(struct bench_enroll *b);
void bench_enroll_xfers(const struct bench_enroll *b, struct bench_xfer *x);
void bench_enroll_check(const struct bench_enroll *b,
    const struct bench_xfer *x, struct bench_tally *t);

#endif
