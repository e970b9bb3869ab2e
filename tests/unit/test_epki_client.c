/*
 * End-to-end tests of the libcurl multi client and epki_order against a
 * real epki-sim on loopback (port 0, a fresh temporary DIR): many orders
 * in flight at once on the one transport thread, leaf chosen by key and
 * verified against DIR/ca-chain.pem, GetOrderByOrderId, business errors,
 * and shutdown with calls still pending.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "buf.h"
#include "gw_err.h"
#include "secure.h"
#include "epki.h"
#include "pubkey.h"
#include "test_keys.h"
#include "test_spawn.h"

#define NORDERS 60

struct env {
	pid_t sim;
	pid_t slow; /* a second simulator a test started, or 0 */
	char dir[128];
	char url[128];
	EVP_PKEY *key;
	char *csr;
	X509_STORE *store;
};

/* Results gathered from the transport thread. */
struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int calls, ok, verified, notfound;
	char order_id[64];
	EVP_PKEY *key;
	X509_STORE *store;
};

/* Starts epki-sim and reads its "listening" line for the port. */
static void
sim_start(struct env *e, const char *latency)
{
	char line[256], *port;

	const char *argv[] = { GW_BUILD "/epki-sim", "--listen", "127.0.0.1:0",
		"--dir", e->dir, "--latency-ms", latency, NULL };

	e->sim = test_spawn_line(argv, line, sizeof(line));
	assert_non_null(strstr(line, "epki-sim listening on 127.0.0.1:"));
	port = strrchr(line, ':') + 1;
	port[strcspn(port, "\n")] = '\0';
	snprintf(e->url, sizeof(e->url),
	    "http://127.0.0.1:%s/cr/ws/GasOrderService", port);
}

/* A PEM CSR for key (malloc'd). */
static char *
csr_make(EVP_PKEY *key)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *n = X509_NAME_new();
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *s;
	long len;

	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"ignored", -1, -1, 0);
	assert_int_equal(X509_REQ_set_subject_name(req, n), 1);
	assert_int_equal(X509_REQ_set_pubkey(req, key), 1);
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	assert_int_equal(PEM_write_bio_X509_REQ(b, req), 1);
	len = BIO_get_mem_data(b, &p);
	s = gw_strndup(p, (size_t)len);
	BIO_free(b);
	X509_NAME_free(n);
	X509_REQ_free(req);
	return s;
}

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	char chain[128];

	snprintf(e->dir, sizeof(e->dir), "/tmp/test_epki_client.XXXXXX");
	if (mkdtemp(e->dir) == NULL)
		return -1;
	sim_start(e, "0");
	e->key = EVP_EC_gen("P-256");
	e->csr = csr_make(e->key);
	e->store = X509_STORE_new();
	snprintf(chain, sizeof(chain), "%.100s/ca-chain.pem", e->dir);
	if (X509_STORE_load_file(e->store, chain) != 1)
		return -1;
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;
	char cmd[128];
	int st = -1;

	if (e->slow > 0) {
		/* A test failed before stopping its own simulator. */
		kill(e->slow, SIGKILL);
		waitpid(e->slow, NULL, 0);
	}
	kill(e->sim, SIGTERM);
	waitpid(e->sim, &st, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%.100s'", e->dir);
	if (system(cmd) != 0)
		st = -1;
	EVP_PKEY_free(e->key);
	free(e->csr);
	X509_STORE_free(e->store);
	free(e);
	/* SIGTERM must end epki-sim with status 0. */
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* True if leaf (bare, see epki.h) chains to the simulator's CA
 * (ca-chain.pem). */
static int
verify_leaf(X509_STORE *store, const X509 *leaf)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509 *full = gw_x509_full(leaf);
	int ok;

	X509_STORE_CTX_init(ctx, store, full, NULL);
	ok = full != NULL && X509_verify_cert(ctx) == 1;
	X509_STORE_CTX_free(ctx);
	X509_free(full);
	return ok;
}

static void
on_resp(void *arg, struct epki_resp *r)
{
	struct waiter *w = arg;
	const X509 *leaf;

	pthread_mutex_lock(&w->mu);
	w->calls++;
	if (r->cls == EPKI_NOT_FOUND && r->errors[0].code == -9916)
		w->notfound++;
	if (r->cls == EPKI_OK) {
		w->ok++;
		snprintf(w->order_id, sizeof(w->order_id), "%s", r->order_id);
		leaf = epki_resp_get0_cert_for_key(r, w->key);
		if (leaf != NULL && w->store != NULL &&
		    verify_leaf(w->store, leaf))
			w->verified++;
	}
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Readies w's lock and condition; waiter_destroy() undoes it. */
static void
waiter_init(struct waiter *w)
{
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
}

static void
waiter_destroy(struct waiter *w)
{
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
}

/* Waits until n callbacks have arrived. */
static void
wait_for(struct waiter *w, int n)
{
	pthread_mutex_lock(&w->mu);
	while (w->calls < n)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

static void
test_many_in_flight(void **state)
{
	struct env *e = *state;
	struct epki_client_opts o = { .url = e->url, .timeout_s = 60 };
	struct epki_auth a = { "PAR00000_scepgw", "epki-sim-password" };
	struct epki_order ord = { .profile_id = "MP000000000001",
		.product_code = "EPKIPSPersonal",
		.years = 1,
		.csr_pem = e->csr,
		.cn = "device-1",
		.email = "dev@example.com",
		.ous = { "Devices" },
		.nous = 1 };
	struct waiter w = { .key = e->key, .store = e->store };
	struct epki_client *c;
	struct epki_transport t;
	struct gw_err err;
	int i;

	waiter_init(&w);
	assert_int_equal(epki_client_new(&c, &o, &err), 0);
	t = epki_client_transport(c);
	for (i = 0; i < NORDERS; i++)
		assert_int_equal(epki_order_submit(&t, &a, &ord, on_resp, &w,
				     &err),
		    0);
	wait_for(&w, NORDERS);
	assert_int_equal(w.ok, NORDERS);
	assert_int_equal(w.verified, NORDERS);

	/* The last order can be fetched back with its certificate. */
	w.calls = w.ok = w.verified = 0;
	assert_int_equal(epki_order_get_submit(&t, &a, w.order_id, on_resp, &w,
			     &err),
	    0);
	wait_for(&w, 1);
	assert_int_equal(w.ok, 1);
	assert_int_equal(w.verified, 1);

	/* Shutting down with calls in flight completes each one once. */
	w.calls = 0;
	for (i = 0; i < 5; i++)
		assert_int_equal(epki_order_submit(&t, &a, &ord, on_resp, &w,
				     &err),
		    0);
	epki_client_free(c);
	assert_int_equal(w.calls, 5);
	waiter_destroy(&w);
}

static void
test_sync_errors(void **state)
{
	struct env *e = *state;
	struct epki_client_opts o = { .url = e->url, .timeout_s = 30 };
	struct epki_auth a = { "PAR00000_scepgw", "wrong-password" };
	struct epki_order ord = { .profile_id = "MP000000000001",
		.product_code = "EPKIPSPersonal",
		.years = 1,
		.csr_pem = e->csr,
		.cn = "ra" };
	struct epki_resp r;
	struct gw_err err;
	EVP_PKEY *weak;
	char *weak_csr;

	assert_int_equal(epki_order_call(&o, &a, &ord, &r, &err), -1);
	assert_int_equal(r.cls, EPKI_AUTH);
	assert_int_equal(r.errors[0].code, -4001);
	assert_null(strstr(err.msg, "wrong-password"));
	epki_resp_cleanup(&r);

	a.password = "epki-sim-password";
	ord.years = 2;
	assert_int_equal(epki_order_call(&o, &a, &ord, &r, &err), -1);
	/* epki-sim's one licence error: no pack for that Year. */
	assert_int_equal(r.errors[0].code, -6101);
	assert_string_equal(r.errors[0].field, "");
	epki_resp_cleanup(&r);

	weak = test_key_rsa(1024);
	weak_csr = csr_make(weak);
	ord.years = 1;
	ord.csr_pem = weak_csr;
	assert_int_equal(epki_order_call(&o, &a, &ord, &r, &err), -1);
	assert_int_equal(r.cls, EPKI_BAD_CSR);
	assert_int_equal(r.errors[0].code, -9936);
	epki_resp_cleanup(&r);
	free(weak_csr);
	EVP_PKEY_free(weak);

	ord.csr_pem = e->csr;
	assert_int_equal(epki_order_call(&o, &a, &ord, &r, &err), 0);
	assert_int_equal(r.cls, EPKI_OK);
	assert_non_null(epki_resp_get0_cert_for_key(&r, e->key));
	/* The simulator's default CERT: the leaf alone, no chain. */
	assert_int_equal(sk_X509_num(r.certs), 1);
	epki_resp_cleanup(&r);
}

/* Orders epki-sim has recorded (DIR/orders.log). */
static int
sim_orders(const struct env *e)
{
	char path[160], line[256];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%.100s/orders.log", e->dir);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "order=", 6) == 0)
			n++;
	fclose(f);
	return n;
}

/* The order gate of a test: open or closed, and how often asked. */
struct gate {
	_Atomic bool open;
	_Atomic int asked;
};

static bool
gate_may_start(void *arg)
{
	struct gate *g = arg;

	g->asked++;
	return g->open;
}

/*
 * The may_start hook (README "How an enrollment works" 7): asked right
 * before an order is sent; closed, the order is not sent and fails as a
 * transport error "not sent", synchronous or not; lookups are not gated.
 */
static void
test_order_gate(void **state)
{
	struct env *e = *state;
	struct gate g = { false, 0 };
	struct epki_client_opts o = { .url = e->url,
		.timeout_s = 30,
		.may_start = gate_may_start,
		.may_start_arg = &g };
	struct epki_auth a = { "PAR00000_scepgw", "epki-sim-password" };
	struct epki_order ord = { .profile_id = "MP000000000001",
		.product_code = "EPKIPSPersonal",
		.years = 1,
		.csr_pem = e->csr,
		.cn = "gated" };
	struct waiter w = { .key = e->key, .store = e->store };
	struct epki_client *c;
	struct epki_transport t;
	struct epki_resp r;
	struct gw_err err;
	int before = sim_orders(e);

	assert_int_equal(epki_order_call(&o, &a, &ord, &r, &err), -1);
	assert_int_equal(r.cls, EPKI_TRANSPORT);
	assert_non_null(strstr(r.fault, "not sent"));
	epki_resp_cleanup(&r);
	assert_int_equal(g.asked, 1);

	waiter_init(&w);
	assert_int_equal(epki_client_new(&c, &o, &err), 0);
	t = epki_client_transport(c);
	assert_int_equal(epki_order_submit(&t, &a, &ord, on_resp, &w, &err), 0);
	wait_for(&w, 1);
	assert_int_equal(w.ok, 0);
	assert_int_equal(g.asked, 2);
	/* A lookup goes out whatever the gate says. */
	assert_int_equal(epki_order_get_submit(&t, &a, "MP00000000000000000",
			     on_resp, &w, &err),
	    0);
	wait_for(&w, 2);
	assert_int_equal(w.notfound, 1);
	assert_int_equal(g.asked, 2);
	assert_int_equal(sim_orders(e), before);
	/* Open: the same order goes out. */
	g.open = true;
	assert_int_equal(epki_order_submit(&t, &a, &ord, on_resp, &w, &err), 0);
	wait_for(&w, 3);
	assert_int_equal(w.ok, 1);
	assert_int_equal(g.asked, 3);
	assert_int_equal(sim_orders(e), before + 1);
	epki_client_free(c);
	waiter_destroy(&w);
}

/*
 * epki_client_status() (README "Admin web console", dashboard): the last
 * success, and the last failure with GlobalSign's code (a wrong password,
 * masked in the text) or why there was no answer (nothing listening:
 * "connect"); an order the gate stopped is not a failure; success again
 * clears "failing" but keeps the failure.
 */
static void
test_client_status(void **state)
{
	struct env *e = *state;
	struct gate g = { true, 0 };
	struct epki_client_opts o = { .url = e->url,
		.timeout_s = 30,
		.may_start = gate_may_start,
		.may_start_arg = &g };
	struct epki_client_opts dead = { .url = "http://127.0.0.1:1/x",
		.timeout_s = 10 };
	struct epki_auth a = { "PAR00000_scepgw", "epki-sim-password" };
	struct epki_auth wrong = { "PAR00000_scepgw", "Wrong-Pw-4711" };
	struct epki_order ord = { .profile_id = "MP000000000001",
		.product_code = "EPKIPSPersonal",
		.years = 1,
		.csr_pem = e->csr,
		.cn = "status" };
	struct waiter w = { .key = e->key, .store = e->store };
	struct epki_client *c, *cd;
	struct epki_transport t, td;
	struct epki_status st;
	struct gw_err err;

	waiter_init(&w);
	assert_int_equal(epki_client_new(&c, &o, &err), 0);
	t = epki_client_transport(c);
	epki_client_status(c, &st);
	assert_true(st.last_ok == 0 && st.last_err == 0 && !st.failing);
	assert_int_equal(epki_order_submit(&t, &a, &ord, on_resp, &w, &err), 0);
	wait_for(&w, 1);
	epki_client_status(c, &st);
	assert_true(st.last_ok > 0 && st.last_err == 0 && !st.failing);

	assert_int_equal(epki_order_submit(&t, &wrong, &ord, on_resp, &w, &err),
	    0);
	wait_for(&w, 2);
	epki_client_status(c, &st);
	assert_true(st.failing && st.last_err >= st.last_ok);
	assert_int_equal(st.cls, EPKI_AUTH);
	assert_int_equal(st.code, -4001);
	assert_int_equal(st.net, EPKI_NET_NONE);
	assert_string_equal(st.op, "OrderAndIssueCertificate");
	assert_non_null(strstr(st.text, "Login failure"));
	assert_null(strstr(st.text, "Wrong-Pw-4711"));

	/* The gate's refusal reached nobody: still the -4001. */
	g.open = false;
	assert_int_equal(epki_order_submit(&t, &a, &ord, on_resp, &w, &err), 0);
	wait_for(&w, 3);
	epki_client_status(c, &st);
	assert_true(st.failing);
	assert_int_equal(st.code, -4001);

	/* Success again: no longer failing, the failure kept. */
	assert_int_equal(epki_order_get_submit(&t, &a, w.order_id, on_resp, &w,
			     &err),
	    0);
	wait_for(&w, 4);
	epki_client_status(c, &st);
	assert_false(st.failing);
	assert_true(st.last_err > 0);
	assert_int_equal(st.code, -4001);
	epki_client_free(c);

	/* Nothing listening: a transport failure, "connect". */
	assert_int_equal(epki_client_new(&cd, &dead, &err), 0);
	td = epki_client_transport(cd);
	assert_int_equal(epki_order_get_submit(&td, &a, "MPS1", on_resp, &w,
			     &err),
	    0);
	wait_for(&w, 5);
	epki_client_status(cd, &st);
	assert_true(st.failing && st.last_ok == 0);
	assert_int_equal(st.cls, EPKI_TRANSPORT);
	assert_int_equal(st.net, EPKI_NET_CONNECT);
	assert_int_equal(st.code, 0);
	epki_client_free(cd);
	waiter_destroy(&w);
}

/* Starts a second simulator, with latency, in e's folder/name. */
static void
slow_start(struct env *e, struct env *slow, const char *name,
    const char *latency)
{
	memset(slow, 0, sizeof(*slow));
	snprintf(slow->dir, sizeof(slow->dir), "%.100s/%s", e->dir, name);
	sim_start(slow, latency);
	e->slow = slow->sim;
}

/* Stops it; SIGTERM must end it with status 0. */
static void
slow_stop(struct env *e, struct env *slow)
{
	int st;

	kill(slow->sim, SIGTERM);
	assert_int_equal(waitpid(slow->sim, &st, 0), slow->sim);
	e->slow = 0;
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Sends n GetOrderByOrderID calls at once and waits for them all. */
static void
burst(const struct epki_transport *t, const struct epki_auth *a,
    struct waiter *w, int n)
{
	struct gw_err err;
	int i;

	w->calls = 0;
	for (i = 0; i < n; i++)
		assert_int_equal(epki_order_get_submit(t, a, "MPS0", on_resp, w,
				     &err),
		    0);
	wait_for(w, n);
}

/* 200 calls against a 1000 ms latency finish together, not in turn. */
static void
test_latency_concurrency(void **state)
{
	struct env *e = *state, slow;
	struct epki_client_opts o = { .timeout_s = 60 };
	struct epki_auth a = { "PAR00000_scepgw", "epki-sim-password" };
	struct waiter w = { .key = NULL };
	struct timespec t0, t1;
	struct epki_client *c;
	struct epki_transport t;
	struct gw_err err;

	slow_start(e, &slow, "slow", "1000");
	o.url = slow.url;
	waiter_init(&w);
	assert_int_equal(epki_client_new(&c, &o, &err), 0);
	t = epki_client_transport(c);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	burst(&t, &a, &w, 200);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	epki_client_free(c);
	assert_int_equal(w.notfound, 200);
	/* Serially this would take 200 s. */
	assert_true(t1.tv_sec - t0.tv_sec < 15);
	slow_stop(e, &slow);
	waiter_destroy(&w);
}

/*
 * Connections outlive the burst that opened them: with 300 ms of latency
 * every call of a burst holds its own connection, and the next burst
 * reuses them all instead of opening (against GlobalSign: a TLS
 * handshake each). libcurl's default cache shrinks as a burst drains.
 */
static void
test_connections_reused(void **state)
{
	struct env *e = *state, slow;
	struct epki_client_opts o = { .timeout_s = 60 };
	struct epki_auth a = { "PAR00000_scepgw", "epki-sim-password" };
	struct waiter w = { .key = NULL };
	struct epki_client *c;
	struct epki_transport t;
	struct gw_err err;
	uint64_t calls, opened, again;

	slow_start(e, &slow, "reuse", "300");
	o.url = slow.url;
	waiter_init(&w);
	assert_int_equal(epki_client_new(&c, &o, &err), 0);
	t = epki_client_transport(c);
	burst(&t, &a, &w, 24);
	epki_client_stats(c, &calls, &opened);
	assert_int_equal(calls, 24);
	assert_true(opened >= 2 && opened <= 24);
	burst(&t, &a, &w, 24);
	burst(&t, &a, &w, 1);
	burst(&t, &a, &w, 24);
	epki_client_stats(c, &calls, &again);
	assert_int_equal(calls, 73);
	assert_int_equal(again, opened);
	assert_int_equal(w.notfound, 24 + 24 + 1 + 24);
	epki_client_free(c);
	slow_stop(e, &slow);
	waiter_destroy(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_in_flight),
		cmocka_unit_test(test_sync_errors),
		cmocka_unit_test(test_order_gate),
		cmocka_unit_test(test_client_status),
		cmocka_unit_test(test_latency_concurrency),
		cmocka_unit_test(test_connections_reused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
