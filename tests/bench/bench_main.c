/*
 * scepgw-bench: load generator for the gateway.
 *
 *   scepgw-bench enroll --url URL --challenges FILE -n N -c CONC
 *	[--cipher aes128] [--digest sha256] [--key-bits 2048] [--key-dir DIR]
 *	[--timeout SECONDS] [--threads T] [--watch NAME=PID]...
 *	[--url URL2]...
 *   scepgw-bench get --url URL -n N -c CONC [--op GetCACaps|GetCACert]
 *	[--watch NAME=PID]...
 *
 * enroll builds N PKCSReq messages first (untimed), POSTs them with CONC
 * in flight on one libcurl multi handle (timed), then checks every reply.
 * get times N GET requests. Both print key=value lines and exit 1 if any
 * reply was wrong, 2 on usage or setup errors. --watch (up to four) adds
 * the CPU that process PID used while timed, per request, to the
 * cpu_ms_per_req line as NAME=. enroll with --url more than once (up to
 * four gateways sharing one database and RA) sends request i to URL
 * number i modulo their count: round-robin, as a load balancer would.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/objects.h>
#include <openssl/provider.h>

#include "buf.h"
#include "gw_err.h"
#include "secure.h"
#include "scep.h"
#include "scep_client.h"
#include "bench.h"

struct opts {
	const char *cmd; /* enroll or get */
	const char *url; /* SCEP URL without the query (the first) */
	const char *urls[BENCH_URL_MAX]; /* enroll: every --url */
	size_t nurl;
	const char *challenges; /* file, one challenge a line */
	const char *op;		/* get: GetCACaps or GetCACert */
	long n;			/* requests */
	long conc;		/* in flight */
	long key_bits;		/* RSA key size */
	long timeout;		/* per request, seconds */
	long threads;		/* preparation threads */
	const char *key_dir;	/* --key-dir: keys kept between runs */
	bool lax_nonce;		/* --lax-sender-nonce */
	struct bench_watch watch[BENCH_WATCH_MAX]; /* --watch NAME=PID */
	size_t nwatch;
	int cipher; /* content cipher NID */
	int digest; /* digest NID */
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: scepgw-bench enroll --url URL --challenges FILE -n N "
	    "-c CONC\n"
	    "\t[--cipher aes128] [--digest sha256] [--key-bits 2048]\n"
	    "\t[--timeout SECONDS] [--threads T] [--key-dir DIR]\n"
	    "\t[--lax-sender-nonce] [--watch NAME=PID]... [--url URL2]...\n"
	    "       scepgw-bench get --url URL -n N -c CONC "
	    "[--op GetCACaps|GetCACert]\n"
	    "\t[--watch NAME=PID]...\n");
}

/* Parses a decimal in [lo, hi]; 0 or -1. */
static int
long_parse(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* Parses --watch NAME=PID (a process whose CPU the report shows). */
static int
watch_parse(struct opts *o, const char *v)
{
	struct bench_watch *w;
	const char *eq = strchr(v, '=');
	long pid;

	if (o->nwatch == BENCH_WATCH_MAX || eq == NULL || eq == v ||
	    eq - v >= (long)sizeof(w->name) ||
	    long_parse(eq + 1, 1, 1L << 30, &pid) == -1)
		return -1;
	w = &o->watch[o->nwatch++];
	snprintf(w->name, sizeof(w->name), "%.*s", (int)(eq - v), v);
	w->pid = pid;
	return 0;
}

/* Empties cost and names the processes to measure (--watch). */
static void
cost_watch_init(struct bench_cost *cost, const struct opts *o)
{
	memset(cost, 0, sizeof(*cost));
	memcpy(cost->watch, o->watch, sizeof(cost->watch));
	cost->nwatch = o->nwatch;
}

/* Parses one value-taking option; 0, or -1 on a bad name or value. */
static int
opt_value(struct opts *o, const char *name, const char *v)
{
	if (strcmp(name, "--url") == 0) {
		if (o->nurl == BENCH_URL_MAX)
			return -1;
		o->urls[o->nurl++] = v;
		o->url = o->urls[0];
	} else if (strcmp(name, "--challenges") == 0)
		o->challenges = v;
	else if (strcmp(name, "--key-dir") == 0)
		o->key_dir = v;
	else if (strcmp(name, "--op") == 0)
		o->op = v;
	else if (strcmp(name, "--watch") == 0)
		return watch_parse(o, v);
	else if (strcmp(name, "-n") == 0)
		return long_parse(v, 1, 1000000, &o->n);
	else if (strcmp(name, "-c") == 0)
		return long_parse(v, 1, 100000, &o->conc);
	else if (strcmp(name, "--key-bits") == 0)
		return long_parse(v, 1024, 8192, &o->key_bits);
	else if (strcmp(name, "--timeout") == 0)
		return long_parse(v, 1, 3600, &o->timeout);
	else if (strcmp(name, "--threads") == 0)
		return long_parse(v, 1, 256, &o->threads);
	else if (strcmp(name, "--cipher") == 0)
		o->cipher = scep_client_cipher_nid(v);
	else if (strcmp(name, "--digest") == 0)
		o->digest = scep_client_digest_nid(v);
	else
		return -1;
	return o->cipher == NID_undef || o->digest == NID_undef ? -1 : 0;
}

/* Parses the command line; 0 or -1. */
static int
opts_parse(struct opts *o, int argc, char **argv)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int i;

	memset(o, 0, sizeof(*o));
	o->op = "GetCACaps";
	o->n = 1;
	o->conc = 1;
	o->key_bits = 2048;
	o->timeout = 300;
	o->threads = cpus > 0 ? cpus : 1;
	o->cipher = NID_aes_128_cbc;
	o->digest = NID_sha256;
	if (argc < 2)
		return -1;
	o->cmd = argv[1];
	for (i = 2; i < argc; i += 2) {
		if (strcmp(argv[i], "--lax-sender-nonce") == 0) {
			o->lax_nonce = true;
			i--;
			continue;
		}
		if (i + 1 == argc || opt_value(o, argv[i], argv[i + 1]) == -1) {
			fprintf(stderr, "scepgw-bench: bad option %s\n",
			    argv[i]);
			return -1;
		}
	}
	if (i != argc || o->url == NULL)
		return -1;
	if (strcmp(o->cmd, "enroll") == 0)
		return o->challenges != NULL ? 0 : -1;
	if (o->nurl > 1)
		return -1;
	if (strcmp(o->cmd, "get") == 0)
		return strcmp(o->op, "GetCACaps") == 0 ||
			strcmp(o->op, "GetCACert") == 0 ?
		    0 :
		    -1;
	return -1;
}

/* Reads n non-empty lines of a challenge file; NULL with stderr. */
static char **
challenges_read(const char *path, size_t n)
{
	struct gw_err err;
	struct buf b;
	char **c = NULL, *p, *end;
	size_t i = 0, len;

	if (gw_file_read(path, 64 * 1024 * 1024, &b, &err) == -1) {
		fprintf(stderr, "scepgw-bench: %s\n", err.msg);
		return NULL;
	}
	if ((c = calloc(n, sizeof(*c))) == NULL)
		goto out;
	p = (char *)b.data;
	end = p + b.len;
	while (p != NULL && p < end && i < n) {
		len = strcspn(p, "\r\n");
		if (len > 0 && (c[i++] = gw_strndup(p, len)) == NULL)
			break;
		p += len;
		p += strspn(p, "\r\n");
	}
out:
	gw_cleanse(b.data, b.len);
	buf_cleanup(&b);
	if (c != NULL && (i < n || c[n - 1] == NULL)) {
		fprintf(stderr, "scepgw-bench: %s: %zu challenges, need %zu\n",
		    path, i, n);
		while (i > 0)
			gw_secret_free(c[--i]);
		free(c);
		c = NULL;
	}
	return c;
}

/* qsort comparator for latencies. */
static int
double_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile p of the n sorted values v. */
static double
percentile(const double *v, size_t n, double p)
{
	double r = ceil(p / 100.0 * (double)n);
	size_t k = r < 1.0 ? 0 : (size_t)r - 1;

	return v[k < n ? k : n - 1];
}

/* Prints the key=value report; returns the exit status (0 or 1). */
static int
report_print(const struct opts *o, const struct bench_xfer *x,
    const struct bench_tally *t, double prep_s, const struct bench_cost *c)
{
	double *lat;
	size_t i, n = (size_t)o->n, bad = 0;
	int f;

	if ((lat = calloc(n, sizeof(*lat))) == NULL)
		return 1;
	for (i = 0; i < n; i++)
		lat[i] = x[i].ms;
	qsort(lat, n, sizeof(*lat), double_cmp);
	for (f = 0; f < BENCH_FAIL__MAX; f++)
		bad += t->fail[f];
	printf("mode=%s n=%ld c=%ld", o->cmd, o->n, o->conc);
	if (strcmp(o->cmd, "enroll") == 0)
		printf(" cipher=%s digest=%s key_bits=%ld prepare_s=%.1f",
		    scep_client_cipher_name(o->cipher),
		    scep_client_digest_name(o->digest), o->key_bits, prep_s);
	if (o->lax_nonce)
		printf(" lax_sender_nonce=1");
	if (o->nurl > 1)
		printf(" gateways=%zu", o->nurl);
	if (strcmp(o->cmd, "enroll") != 0)
		printf(" op=%s", o->op);
	printf("\ntotal=%zu successes=%zu failures=%zu\nfailures_by_kind:", n,
	    t->ok, bad);
	for (f = 0; f < BENCH_FAIL__MAX; f++)
		printf(" %s=%zu", bench_fail_name((enum bench_fail)f),
		    t->fail[f]);
	printf("\nwall_s=%.3f rate_per_s=%.1f\n", c->wall_s,
	    c->wall_s > 0 ? (double)t->ok / c->wall_s : 0.0);
	/* Where the machine's CPU went while timed, per request sent. */
	printf("cpu_ms_per_req machine=%.3f load_tool=%.3f machine_busy=%.0f%%",
	    c->machine_cpu_ms / (double)n, c->self_cpu_ms / (double)n,
	    c->machine_busy * 100.0);
	for (i = 0; i < c->nwatch; i++) {
		if (c->watch[i].cpu_ms < 0)
			printf(" %s=-", c->watch[i].name);
		else
			printf(" %s=%.3f", c->watch[i].name,
			    c->watch[i].cpu_ms / (double)n);
	}
	printf("\n");
	printf("latency_ms p50=%.1f p90=%.1f p99=%.1f max=%.1f\n",
	    percentile(lat, n, 50), percentile(lat, n, 90),
	    percentile(lat, n, 99), lat[n - 1]);
	free(lat);
	return bad == 0 && t->ok == n ? 0 : 1;
}

/* The URL for op; NULL when out of memory. */
static char *
url_make(const char *base, const char *op)
{
	struct buf b;

	buf_init(&b, 0);
	if (buf_printf(&b, "%s%coperation=%s", base,
		strchr(base, '?') != NULL ? '&' : '?', op) == -1) {
		buf_cleanup(&b);
		return NULL;
	}
	return (char *)buf_steal(&b, NULL);
}

/* The enroll command; exit status. */
static int
cmd_enroll(const struct opts *o)
{
	struct bench_enroll_opts eo;
	struct bench_enroll *b = NULL;
	struct bench_xfer *x = NULL;
	struct bench_tally t;
	struct gw_err err;
	char *url[BENCH_URL_MAX] = { NULL };
	struct bench_cost cost;
	double t0, prep_s;
	size_t i, n = (size_t)o->n;
	int ex = 2;

	memset(&eo, 0, sizeof(eo));
	memset(&t, 0, sizeof(t));
	eo.url = o->url;
	eo.n = n;
	eo.cipher_nid = o->cipher;
	eo.digest_nid = o->digest;
	eo.key_bits = (int)o->key_bits;
	eo.threads = (unsigned)o->threads;
	eo.key_dir = o->key_dir;
	eo.lax_sender_nonce = o->lax_nonce;
	if ((eo.challenges = challenges_read(o->challenges, n)) == NULL ||
	    (x = calloc(n, sizeof(*x))) == NULL)
		goto out;
	for (i = 0; i < o->nurl; i++)
		if ((url[i] = url_make(o->urls[i], "PKIOperation")) == NULL)
			goto out;
	t0 = bench_now();
	if (bench_enroll_new(&b, &eo, &err) == -1) {
		fprintf(stderr, "scepgw-bench: preparing: %s\n", err.msg);
		goto out;
	}
	prep_s = bench_now() - t0;
	bench_enroll_xfers(b, x);
	for (i = 0; o->nurl > 1 && i < n; i++)
		x[i].url = url[i % o->nurl];
	cost_watch_init(&cost, o);
	if (bench_http_run(url[0], x, n, (size_t)o->conc, o->timeout, &cost,
		&err) == -1) {
		fprintf(stderr, "scepgw-bench: %s\n", err.msg);
		goto out;
	}
	bench_enroll_check(b, x, &t);
	ex = report_print(o, x, &t, prep_s, &cost);
out:
	for (i = 0; x != NULL && i < n; i++)
		buf_cleanup(&x[i].reply);
	for (i = 0; eo.challenges != NULL && i < n; i++)
		gw_secret_free(eo.challenges[i]);
	free(eo.challenges);
	free(x);
	for (i = 0; i < BENCH_URL_MAX; i++)
		free(url[i]);
	bench_enroll_free(b);
	return ex;
}

/* Checks GET replies against a reference body fetched before the run. */
static void
get_check(const struct bench_xfer *x, size_t n, const struct buf *ref,
    struct bench_tally *t)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (x[i].curl_rc != 0)
			bench_tally_add(t, BENCH_FAIL_TRANSPORT, i,
			    "curl error %d", x[i].curl_rc);
		else if (x[i].status != 200)
			bench_tally_add(t, BENCH_FAIL_HTTP, i, "HTTP %ld",
			    x[i].status);
		else if (x[i].reply.len != ref->len ||
		    memcmp(x[i].reply.data, ref->data, ref->len) != 0)
			bench_tally_add(t, BENCH_FAIL_BADREPLY, i,
			    "body differs from the first reply");
		else
			t->ok++;
	}
}

/* The get command; exit status. */
static int
cmd_get(const struct opts *o)
{
	struct bench_xfer *x = NULL;
	struct bench_tally t;
	struct gw_err err;
	struct buf ref;
	STACK_OF(X509) *bag = NULL;
	char *url;
	struct bench_cost cost;
	size_t i, n = (size_t)o->n;
	int ex = 2;

	memset(&t, 0, sizeof(t));
	buf_init(&ref, 0);
	if ((url = url_make(o->url, o->op)) == NULL ||
	    (x = calloc(n, sizeof(*x))) == NULL)
		goto out;
	if (bench_http_get(url, &ref, &err) == -1 ||
	    (strcmp(o->op, "GetCACert") == 0 &&
		scep_client_bag_parse(ref.data, ref.len, &bag, &err) == -1)) {
		fprintf(stderr, "scepgw-bench: %s\n", err.msg);
		goto out;
	}
	cost_watch_init(&cost, o);
	if (bench_http_run(url, x, n, (size_t)o->conc, o->timeout, &cost,
		&err) == -1) {
		fprintf(stderr, "scepgw-bench: %s\n", err.msg);
		goto out;
	}
	get_check(x, n, &ref, &t);
	ex = report_print(o, x, &t, 0, &cost);
out:
	for (i = 0; x != NULL && i < n; i++)
		buf_cleanup(&x[i].reply);
	sk_X509_pop_free(bag, X509_free);
	buf_cleanup(&ref);
	free(x);
	free(url);
	return ex;
}

/* Every connection is a descriptor: lift the soft limit to the hard one. */
static void
nofile_raise(void)
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
	struct sigaction sa;
	struct gw_err err;
	struct opts o;
	int ex = 2;

	if (opts_parse(&o, argc, argv) == -1) {
		usage();
		return 2;
	}
	/*
	 * micromdm's scepserver envelopes its CertRep with DES whatever the
	 * request used: reading it needs OpenSSL's legacy provider.
	 */
	if (o.lax_nonce &&
	    (OSSL_PROVIDER_load(NULL, "legacy") == NULL ||
		OSSL_PROVIDER_load(NULL, "default") == NULL)) {
		fprintf(stderr,
		    "scepgw-bench: cannot load OpenSSL's legacy "
		    "provider\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	nofile_raise();
	if (scep_init(false, &err) == -1) {
		fprintf(stderr, "scepgw-bench: %s\n", err.msg);
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 2;
	if (strcmp(o.cmd, "enroll") == 0)
		ex = cmd_enroll(&o);
	else
		ex = cmd_get(&o);
	curl_global_cleanup();
	return ex;
}
