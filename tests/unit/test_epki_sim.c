/*
 * GetOrders, Revoke and GetProfiles end to end against a real epki-sim on
 * loopback, and every injected fault (set at run time through POST
 * /sim/fault, read back through /sim/state): HTTP 500 Fault, 502/503
 * pages, connection reset, -1, SuccessCode 1 with -2001, per-operation
 * latency, probability, and "issue but drop the reply" followed by the
 * recovery the gateway relies on (GetOrders finds the paid order).
 * A second simulator covers licence packs and profile states from
 * sim.conf and /sim/config, a third the API IP allow-list; more cover
 * the sim.conf keys for what the public sources show of GlobalSign beyond
 * the schema (profile OUs, UPN, Email, lengths, LicenseNo, SerialNumber
 * formats, closing date, lenient_ns).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
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
#include <openssl/x509v3.h>

#include "buf.h"
#include "gw_err.h"
#include "secure.h"
#include "epki.h"
#include "pubkey.h"

#define PROFILE "MP000000000001"

struct sim {
	pid_t pid;
	char dir[128];
	char base[64]; /* http://127.0.0.1:PORT */
	char url[128]; /* the GasOrderService endpoint */
};

struct env {
	struct sim sim;
	EVP_PKEY *key;
	char *csr;
	char today[16];
};

static const struct epki_auth auth = { "PAR00000_scepgw", "epki-sim-password" };

/* Starts epki-sim in dir (created, with conf as sim.conf if not NULL). */
static void
sim_start(struct sim *s, const char *conf)
{
	char line[256], path[192], *port;
	int fds[2];
	FILE *f;

	snprintf(s->dir, sizeof(s->dir), "/tmp/test_epki_sim.XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	if (conf != NULL) {
		snprintf(path, sizeof(path), "%s/sim.conf", s->dir);
		assert_non_null(f = fopen(path, "w"));
		fputs(conf, f);
		fclose(f);
	}
	assert_int_equal(pipe(fds), 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		execl(GW_BUILD "/epki-sim", "epki-sim", "--listen",
		    "127.0.0.1:0", "--dir", s->dir, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_non_null(strstr(line, "epki-sim listening on 127.0.0.1:"));
	port = strrchr(line, ':') + 1;
	port[strcspn(port, "\n")] = '\0';
	snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%s", port);
	snprintf(s->url, sizeof(s->url), "%s/cr/ws/GasOrderService", s->base);
}

/* Stops epki-sim (it must exit 0) and removes its folder. */
static int
sim_stop(struct sim *s)
{
	char cmd[192];
	int st = -1;

	kill(s->pid, SIGTERM);
	waitpid(s->pid, &st, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
	if (system(cmd) != 0)
		return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* POSTs form to an admin path; returns the HTTP status, body in out. */
static long
admin(const struct sim *s, const char *path, const char *form, struct buf *out)
{
	char url[192];
	struct epki_client_opts o = { .url = url, .timeout_s = 10 };
	struct gw_err err;
	struct buf body;
	long status = 0;

	snprintf(url, sizeof(url), "%s%s", s->base, path);
	buf_init(&body, 0);
	assert_int_equal(buf_addstr(&body, form), 0);
	assert_int_equal(epki_client_post_sync(&o, "admin", &body, out, &status,
			     &err),
	    0);
	buf_cleanup(&body);
	return status;
}

/* Adds a fault through POST /sim/fault. */
static void
fault_set(const struct sim *s, const char *form)
{
	struct buf out;

	assert_int_equal(admin(s, "/sim/fault", form, &out), 200);
	buf_cleanup(&out);
}

/* The number after "key=" in /sim/state. */
static long
state_get(const struct sim *s, const char *key)
{
	char want[96], *p;
	struct buf out;
	long v;

	assert_int_equal(admin(s, "/sim/state", "", &out), 200);
	snprintf(want, sizeof(want), "\n%s=", key);
	/* The first line has no newline before it. */
	if (strncmp((char *)out.data, want + 1, strlen(want + 1)) == 0)
		p = (char *)out.data + strlen(want + 1);
	else if ((p = strstr((char *)out.data, want)) != NULL)
		p += strlen(want);
	assert_non_null(p);
	v = strtol(p, NULL, 10);
	buf_cleanup(&out);
	return v;
}

/* A PEM CSR for key (malloc'd). */
static char *
csr_make(EVP_PKEY *key)
{
	X509_REQ *req = X509_REQ_new();
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *s;
	long len;

	assert_int_equal(X509_REQ_set_pubkey(req, key), 1);
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	assert_int_equal(PEM_write_bio_X509_REQ(b, req), 1);
	len = BIO_get_mem_data(b, &p);
	s = gw_strndup(p, (size_t)len);
	BIO_free(b);
	X509_REQ_free(req);
	return s;
}

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	time_t now = time(NULL);
	struct tm tm;

	/* A date alone is a UTC day to the simulator. */
	gmtime_r(&now, &tm);
	strftime(e->today, sizeof(e->today), "%Y-%m-%d", &tm);
	sim_start(&e->sim, "fault = latency op=GetOrderByOrderId ms=1\n");
	e->key = EVP_EC_gen("P-256");
	e->csr = csr_make(e->key);
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;
	int rc = sim_stop(&e->sim);

	EVP_PKEY_free(e->key);
	free(e->csr);
	free(e);
	return rc;
}

/* Places one order for cn; returns its class, the id into id. */
static enum epki_class
order(const struct env *e, const char *url, long timeout, const char *cn,
    int years, char *id, size_t idlen)
{
	struct epki_client_opts o = { .url = url, .timeout_s = timeout };
	struct epki_order ord = { .profile_id = PROFILE,
		.product_code = "EPKIPSPersonal",
		.years = years,
		.csr_pem = e->csr,
		.cn = cn };
	struct epki_resp r;
	enum epki_class c;
	struct gw_err err;

	epki_order_call(&o, &auth, &ord, &r, &err);
	c = r.cls;
	if (id != NULL)
		snprintf(id, idlen, "%s", r.order_id);
	if (c == EPKI_OK)
		assert_non_null(epki_resp_get0_cert_for_key(&r, e->key));
	epki_resp_cleanup(&r);
	return c;
}

/* GetOrders by CN (and from today) into r. */
static void
find(const struct env *e, const char *cn, const char *from, struct epki_resp *r)
{
	struct epki_client_opts o = { .url = e->sim.url, .timeout_s = 10 };
	struct epki_order_query q = { .cn = cn,
		.request_from = from,
		.want_cert_info = true,
		.want_fulfillment = true };
	struct gw_err err;

	assert_int_equal(epki_order_find_call(&o, &auth, &q, r, &err), 0);
}

static void
test_orders_revoke_profiles(void **state)
{
	struct env *e = *state;
	struct epki_client_opts o = { .url = e->sim.url, .timeout_s = 10 };
	struct epki_order_query q = { .order_state = "7" };
	char a[64], b[64];
	struct epki_resp r;
	struct gw_err err;

	assert_int_equal(order(e, e->sim.url, 10, "dev-a", 1, a, sizeof(a)),
	    EPKI_OK);
	assert_int_equal(order(e, e->sim.url, 10, "dev-b", 1, b, sizeof(b)),
	    EPKI_OK);
	find(e, "dev-a", e->today, &r);
	assert_int_equal(r.total_count, 1);
	assert_int_equal(r.nfound, 1);
	assert_string_equal(r.found[0].order_id, a);
	assert_string_equal(r.found[0].order_status, "4");
	assert_string_equal(r.found[0].cn, "dev-a");
	assert_non_null(r.found[0].certs);
	epki_resp_cleanup(&r);
	find(e, "dev-a", "2999-01-01", &r);
	assert_int_equal(r.nfound, 0);
	epki_resp_cleanup(&r);
	find(e, NULL, NULL, &r);
	assert_true(r.nfound >= 2);
	epki_resp_cleanup(&r);

	/* Revoke, then again: -9938; the order now shows status 7. */
	assert_int_equal(epki_order_revoke_call(&o, &auth, a, &r, &err), 0);
	assert_string_equal(r.order_id, a);
	epki_resp_cleanup(&r);
	assert_int_equal(epki_order_revoke_call(&o, &auth, a, &r, &err), -1);
	assert_int_equal(r.cls, EPKI_CONFLICT);
	assert_int_equal(r.errors[0].code, -9938);
	epki_resp_cleanup(&r);
	assert_int_equal(epki_order_revoke_call(&o, &auth, "MPS0", &r, &err),
	    -1);
	assert_int_equal(r.cls, EPKI_NOT_FOUND);
	epki_resp_cleanup(&r);
	assert_int_equal(epki_order_find_call(&o, &auth, &q, &r, &err), 0);
	assert_int_equal(r.nfound, 1);
	assert_string_equal(r.found[0].order_id, a);
	epki_resp_cleanup(&r);
	q = (struct epki_order_query) { .request_from = "yesterday" };
	assert_int_equal(epki_order_find_call(&o, &auth, &q, &r, &err), -1);
	assert_int_equal(r.errors[0].code, -104);
	epki_resp_cleanup(&r);

	assert_int_equal(epki_profile_list_call(&o, &auth, PROFILE, &r, &err),
	    0);
	assert_int_equal(r.nprofiles, 1);
	assert_int_equal(r.profiles[0].state, EPKI_PROFILE_VALID);
	assert_string_equal(r.profiles[0].org, "scepgw Test Org");
	assert_string_equal(r.profiles[0].country, "US");
	epki_resp_cleanup(&r);
	assert_int_equal(epki_profile_list_call(&o, &auth, "MP9", &r, &err), 0);
	assert_int_equal(r.nprofiles, 0);
	epki_resp_cleanup(&r);
	assert_int_equal(state_get(&e->sim, "calls.Revoke"), 3);
	assert_int_equal(state_get(&e->sim, "calls.GetOrderByOrderId"), 0);
}

/*
 * The service answers on /cr/ws/GasOrderService and on
 * /services/cr/ws/GasOrderService alike; another path is an HTTP 404,
 * which the response reports in http_status (epki/sim/README.md).
 */
static void
test_both_paths(void **state)
{
	struct env *e = *state;
	char url[192];
	struct epki_client_opts o = { .url = url, .timeout_s = 10 };
	struct epki_resp r;
	struct gw_err err;

	snprintf(url, sizeof(url), "%s/services/cr/ws/GasOrderService",
	    e->sim.base);
	assert_int_equal(epki_profile_list_call(&o, &auth, PROFILE, &r, &err),
	    0);
	assert_int_equal(r.http_status, 200);
	assert_int_equal(r.nprofiles, 1);
	epki_resp_cleanup(&r);
	snprintf(url, sizeof(url), "%s/cr/ws/Nope", e->sim.base);
	assert_int_equal(epki_profile_list_call(&o, &auth, PROFILE, &r, &err),
	    -1);
	assert_int_equal(r.cls, EPKI_TRANSPORT);
	assert_int_equal(r.http_status, 404);
	epki_resp_cleanup(&r);
}

/* Each fault hits exactly the next GetProfiles call, then is gone. */
static void
test_faults(void **state)
{
	static const struct {
		const char *form;
		enum epki_class cls;
		const char *fault;
		int code;
	} t[] = {
		{ "fault=http500", EPKI_TRANSPORT, "HTTP 500 SOAP Fault", 0 },
		{ "fault=http502", EPKI_TRANSPORT, "HTTP 502, not a SOAP", 0 },
		{ "fault=http503", EPKI_TRANSPORT, "HTTP 503, not a SOAP", 0 },
		{ "fault=reset", EPKI_TRANSPORT, "HTTP transport", 0 },
		{ "fault=internal", EPKI_TRANSIENT, "", -1 },
		{ "fault=warning", EPKI_WARNING, "", -2001 },
	};
	struct env *e = *state;
	struct epki_client_opts o = { .url = e->sim.url, .timeout_s = 10 };
	char form[128];
	struct epki_resp r;
	struct gw_err err;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		print_message("%s\n", t[i].form);
		snprintf(form, sizeof(form), "%s&op=GetProfiles&count=1",
		    t[i].form);
		fault_set(&e->sim, form);
		/* Another operation is not affected. */
		assert_int_equal(order(e, e->sim.url, 10, "other", 1, NULL, 0),
		    EPKI_OK);
		epki_profile_list_call(&o, &auth, PROFILE, &r, &err);
		assert_int_equal(r.cls, t[i].cls);
		assert_non_null(strstr(r.fault, t[i].fault));
		if (t[i].code != 0)
			assert_int_equal(r.errors[0].code, t[i].code);
		/* A warning still carries the answer. */
		if (t[i].cls == EPKI_WARNING)
			assert_int_equal(r.nprofiles, 1);
		epki_resp_cleanup(&r);
		assert_int_equal(epki_profile_list_call(&o, &auth, PROFILE, &r,
				     &err),
		    0);
		epki_resp_cleanup(&r);
	}
	/* Only sim.conf's unlimited latency fault is left. */
	assert_int_equal(state_get(&e->sim, "faults"), 1);
	assert_int_equal(state_get(&e->sim, "fired.reset"), 1);
	/* A bad spec is refused. */
	{
		struct buf out;

		assert_int_equal(admin(&e->sim, "/sim/fault", "fault=nope",
				     &out),
		    400);
		buf_cleanup(&out);
	}
}

/* Probability: about half of 40 calls fail, not none and not all. */
static void
test_fault_probability(void **state)
{
	struct env *e = *state;
	struct epki_client_opts o = { .url = e->sim.url, .timeout_s = 10 };
	struct epki_resp r;
	struct gw_err err;
	int i, failed = 0;
	struct buf out;

	assert_int_equal(admin(&e->sim, "/sim/config", "seed=42", &out), 200);
	buf_cleanup(&out);
	fault_set(&e->sim, "fault=internal&op=GetProfiles&prob=50");
	for (i = 0; i < 40; i++) {
		if (epki_profile_list_call(&o, &auth, NULL, &r, &err) == -1)
			failed++;
		epki_resp_cleanup(&r);
	}
	assert_true(failed > 5 && failed < 35);
	assert_int_equal(state_get(&e->sim, "fired.internal"), 1 + failed);
	fault_set(&e->sim, "fault=clear");
	assert_int_equal(state_get(&e->sim, "faults"), 0);
}

/* Latency on one operation: that call times out, the others do not. */
static void
test_fault_latency(void **state)
{
	struct env *e = *state;
	struct epki_client_opts o = { .url = e->sim.url, .timeout_s = 1 };
	struct epki_order_query q = { .cn = "x" };
	struct epki_resp r;
	struct gw_err err;

	fault_set(&e->sim, "latency,op=GetOrders,ms=1500,count=1");
	assert_int_equal(epki_profile_list_call(&o, &auth, NULL, &r, &err), 0);
	epki_resp_cleanup(&r);
	assert_int_equal(epki_order_find_call(&o, &auth, &q, &r, &err), -1);
	assert_int_equal(r.cls, EPKI_TRANSPORT);
	assert_non_null(strstr(r.fault, "timed out"));
	epki_resp_cleanup(&r);
}

/*
 * Drop: the order is made and paid for, the client times out, and
 * GetOrders by CN and date finds it with its certificate: the gateway's
 * no-double-order recovery (README "How an enrollment works" 7).
 */
static void
test_fault_drop_then_find(void **state)
{
	struct env *e = *state;
	long orders = state_get(&e->sim, "orders");
	long spent = state_get(&e->sim, "licences_spent");
	long left = state_get(&e->sim, "licences_left");
	struct epki_resp r;
	const X509 *leaf = NULL;
	int i;

	fault_set(&e->sim,
	    "fault=drop&op=OrderAndIssueCertificate&count=1&ms=2500");
	assert_int_equal(order(e, e->sim.url, 1, "dropped", 1, NULL, 0),
	    EPKI_TRANSPORT);
	assert_int_equal(state_get(&e->sim, "orders"), orders + 1);
	assert_int_equal(state_get(&e->sim, "licences_spent"), spent + 1);
	assert_int_equal(state_get(&e->sim, "licences_left"), left - 1);
	find(e, "dropped", e->today, &r);
	assert_int_equal(r.nfound, 1);
	for (i = 0; i < sk_X509_num(r.found[0].certs) && leaf == NULL; i++)
		if (gw_x509_has_key(sk_X509_value(r.found[0].certs, i), e->key))
			leaf = sk_X509_value(r.found[0].certs, i);
	assert_non_null(leaf);
	epki_resp_cleanup(&r);
	/* ms=0: the connection closes at once, still after the order. */
	fault_set(&e->sim, "drop,op=OrderAndIssueCertificate,count=1");
	assert_int_equal(order(e, e->sim.url, 10, "dropped2", 1, NULL, 0),
	    EPKI_TRANSPORT);
	assert_int_equal(state_get(&e->sim, "orders"), orders + 2);
	assert_int_equal(state_get(&e->sim, "orders"),
	    state_get(&e->sim, "licences_spent"));
}

/* Licence packs and profile states from sim.conf and /sim/config. */
static void
test_packs_and_profile(void **state)
{
	struct env *e = *state;
	struct sim s2;
	struct epki_client_opts o;
	struct epki_resp r;
	struct gw_err err;
	struct buf out;

	sim_start(&s2,
	    "licences = 1\nlicence_expiry = 2999-12-31\n"
	    "pack = 2, 5, 2001-01-01\nprofile_state = pending\n");
	o = (struct epki_client_opts) { .url = s2.url, .timeout_s = 10 };
	/* Pending vetting: -105 ProfileID. */
	assert_int_equal(order(e, s2.url, 10, "p", 1, NULL, 0),
	    EPKI_BAD_REQUEST);
	assert_int_equal(epki_profile_list_call(&o, &auth, NULL, &r, &err), 0);
	assert_int_equal(r.profiles[0].state, EPKI_PROFILE_PENDING);
	epki_resp_cleanup(&r);
	assert_int_equal(admin(&s2, "/sim/config", "profile_state=validated",
			     &out),
	    200);
	buf_cleanup(&out);
	assert_int_equal(order(e, s2.url, 10, "p", 1, NULL, 0), EPKI_OK);
	/* The one 1-year licence is gone; the 2-year pack has expired. */
	assert_int_equal(order(e, s2.url, 10, "p", 1, NULL, 0), EPKI_QUOTA);
	assert_int_equal(order(e, s2.url, 10, "p", 2, NULL, 0), EPKI_QUOTA);
	assert_int_equal(order(e, s2.url, 10, "p", 3, NULL, 0),
	    EPKI_BAD_REQUEST);
	assert_int_equal(state_get(&s2, "licences_spent"), 1);
	assert_int_equal(state_get(&s2, "licences_left"), 5);
	assert_int_equal(admin(&s2, "/sim/config",
			     "profile_state=suspended&licences=3", &out),
	    200);
	buf_cleanup(&out);
	assert_int_equal(order(e, s2.url, 10, "p", 1, NULL, 0),
	    EPKI_BAD_REQUEST);
	assert_int_equal(epki_profile_list_call(&o, &auth, NULL, &r, &err), 0);
	assert_int_equal(r.profiles[0].state, EPKI_PROFILE_SUSPENDED);
	epki_resp_cleanup(&r);
	assert_int_equal(state_get(&s2, "licences_left"), 8);
	assert_int_equal(admin(&s2, "/sim/config", "profile_state=gone", &out),
	    400);
	buf_cleanup(&out);
	assert_int_equal(sim_stop(&s2), 0);

	/* The API IP allow-list: loopback is not in it. */
	sim_start(&s2, "allow = 10.0.0.0/8\n");
	o.url = s2.url;
	assert_int_equal(epki_profile_list_call(&o, &auth, NULL, &r, &err), -1);
	assert_int_equal(r.cls, EPKI_AUTH);
	assert_int_equal(r.errors[0].code, -4201);
	epki_resp_cleanup(&r);
	assert_int_equal(sim_stop(&s2), 0);
}

/* The NIDs of x's extensions, in order, into nids (at most max). */
static int
ext_nids(const X509 *x, int *nids, int max)
{
	int i, n = X509_get_ext_count(x);

	assert_true(n <= max);
	for (i = 0; i < n; i++)
		nids[i] =
		    OBJ_obj2nid(X509_EXTENSION_get_object(X509_get_ext(x, i)));
	return n;
}

/*
 * The leaf's extensions, in their order: the fixed ones are
 * built once at start, the subjectKeyIdentifier per leaf (SHA-1 of its
 * key), the authorityKeyIdentifier is the issuing CA's key identifier,
 * and the URLs carry the bound port.
 */
static void
test_leaf_extensions(void **state)
{
	static const int want[] = { NID_basic_constraints, NID_key_usage,
		NID_ext_key_usage, NID_certificate_policies,
		NID_subject_key_identifier, NID_authority_key_identifier,
		NID_crl_distribution_points, NID_info_access };
	struct env *e = *state;
	struct epki_client_opts o = { .url = e->sim.url, .timeout_s = 10 };
	struct epki_order ord = { .profile_id = PROFILE,
		.product_code = "EPKIPSPersonal",
		.years = 1,
		.csr_pem = e->csr,
		.cn = "ext-check" };
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	const ASN1_OCTET_STRING *ski, *aki;
	const X509 *leaf, *ca = NULL;
	struct epki_resp r;
	struct gw_err err;
	X509 *full;
	char port[16], text[256];
	int nids[16], n, i, crit;
	BIO *b;

	assert_int_equal(epki_order_call(&o, &auth, &ord, &r, &err), 0);
	leaf = epki_resp_get0_cert_for_key(&r, e->key);
	assert_non_null(leaf);
	for (i = 0; i < sk_X509_num(r.certs); i++)
		if (X509_check_issued(sk_X509_value(r.certs, i),
			(X509 *)(uintptr_t)leaf) == X509_V_OK)
			ca = sk_X509_value(r.certs, i);
	assert_non_null(ca);
	full = gw_x509_full(leaf);
	assert_non_null(full);
	n = ext_nids(full, nids, 16);
	assert_int_equal(n, (int)(sizeof(want) / sizeof(want[0])));
	for (i = 0; i < n; i++)
		assert_int_equal(nids[i], want[i]);
	assert_int_equal(X509_get_extension_flags(full) & EXFLAG_CA, 0);
	assert_int_equal(X509_get_key_usage(full),
	    KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
	assert_int_equal(X509_get_extended_key_usage(full),
	    XKU_SSL_CLIENT | XKU_SMIME);
	ASN1_BIT_STRING_free(
	    X509_get_ext_d2i(full, NID_key_usage, &crit, NULL));
	assert_int_equal(crit, 1);
	ski = X509_get0_subject_key_id(full);
	assert_non_null(ski);
	assert_int_equal(X509_pubkey_digest(full, EVP_sha1(), md, &mdlen), 1);
	assert_int_equal(ASN1_STRING_length(ski), (int)mdlen);
	assert_memory_equal(ASN1_STRING_get0_data(ski), md, mdlen);
	aki = X509_get0_authority_key_id(full);
	assert_non_null(aki);
	assert_int_equal(ASN1_OCTET_STRING_cmp(aki,
			     X509_get0_subject_key_id((X509 *)(uintptr_t)ca)),
	    0);
	snprintf(port, sizeof(port), ":%s/", strrchr(e->sim.base, ':') + 1);
	b = BIO_new(BIO_s_mem());
	for (i = 3; i < n; i++) {
		if (i == 4 || i == 5)
			continue;
		assert_int_equal(X509V3_EXT_print(b, X509_get_ext(full, i), 0,
				     0),
		    1);
		memset(text, 0, sizeof(text));
		BIO_read(b, text, sizeof(text) - 1);
		if (strstr(text, port) == NULL)
			fail_msg("extension %d lacks port %s: %s", i, port,
			    text);
	}
	BIO_free(b);
	X509_free(full);
	epki_resp_cleanup(&r);
}

/* Orders ord (profile, product, year and CSR filled in) from url into r. */
static void
order_full(const struct env *e, const char *url, struct epki_order *ord,
    struct epki_resp *r)
{
	struct epki_client_opts o = { .url = url, .timeout_s = 10 };
	struct gw_err err;

	ord->profile_id = PROFILE;
	ord->product_code = "EPKIPSPersonal";
	ord->years = 1;
	ord->csr_pem = e->csr;
	epki_order_call(&o, &auth, ord, r, &err);
}

/* True when x carries a UPN otherName. */
static bool
has_upn(const X509 *x)
{
	GENERAL_NAMES *gens =
	    X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	bool found = false;
	int i;

	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++)
		found = found ||
		    sk_GENERAL_NAME_value(gens, i)->type == GEN_OTHERNAME;
	GENERAL_NAMES_free(gens);
	return found;
}

/* The sim.conf of the two tests below. */
static const char knob_conf[] =
    "profile_ous = For Test Use Only\nprofile_ous = Second, Third\n"
    "profile_upn = no\nemail_allowed = no\nemail_code = -9998\n"
    "max_ous = 2\ntimestamp_skew = 12\n"
    "profile_state_codes = VALIDATED, PENDING, SUSPENDED\n";

/* One good order ("knobs", OU "Request", a UPN) from s2 into r. */
static void
knob_order(const struct env *e, const struct sim *s2, struct epki_resp *r)
{
	struct epki_order ord;

	memset(&ord, 0, sizeof(ord));
	ord.cn = "knobs";
	ord.ous[ord.nous++] = "Request";
	ord.upn = "someone@corp.example";
	order_full(e, s2->url, &ord, r);
	assert_int_equal(r->cls, EPKI_OK);
}

/*
 * The GlobalSign behaviour the public sources show, from sim.conf: the
 * profile's OUs after the request's and in GetProfiles, the UPN only when
 * the profile enables it, a 12-hour Timestamp skew, the state strings.
 */
static void
test_fidelity_profile(void **state)
{
	static const char *const want_ous[] = { "Request", "For Test Use Only",
		"Second", "Third" };
	struct env *e = *state;
	struct epki_client_opts o;
	struct epki_resp r;
	struct gw_err err;
	char text[64];
	struct sim s2;
	X509_NAME *n;
	const X509 *leaf;
	ASN1_STRING *d;
	int i, k = -1;

	sim_start(&s2, knob_conf);
	o = (struct epki_client_opts) { .url = s2.url, .timeout_s = 10 };
	knob_order(e, &s2, &r);
	leaf = epki_resp_get0_cert_for_key(&r, e->key);
	assert_non_null(leaf);
	n = X509_get_subject_name(leaf);
	/* OUs: the request's, then the profile's in sim.conf order. */
	for (i = 0; i < 4; i++) {
		k = X509_NAME_get_index_by_NID(n, NID_organizationalUnitName,
		    k);
		assert_true(k >= 0);
		d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, k));
		snprintf(text, sizeof(text), "%.*s", ASN1_STRING_length(d),
		    (const char *)ASN1_STRING_get0_data(d));
		assert_string_equal(text, want_ous[i]);
	}
	assert_false(has_upn(leaf));
	epki_resp_cleanup(&r);

	/* GetProfiles: the OUs, UPN false, the configured state string. */
	assert_int_equal(epki_profile_list_call(&o, &auth, NULL, &r, &err), 0);
	assert_int_equal(r.profiles[0].nous, 3);
	assert_string_equal(r.profiles[0].ous[0], "For Test Use Only");
	assert_string_equal(r.profiles[0].ous[2], "Third");
	assert_string_equal(r.profiles[0].upn, "false");
	assert_string_equal(r.profiles[0].state_code, "VALIDATED");
	assert_int_equal(r.profiles[0].state, EPKI_PROFILE_VALID);
	assert_string_equal(r.profiles[0].not_after,
	    "2099-12-31T23:59:59.000Z");
	epki_resp_cleanup(&r);
	assert_int_equal(sim_stop(&s2), 0);
}

/*
 * Email refused with email_code, max_ous, the field lengths (-103,
 * dotted ErrorField); LicenseNo on every order and the LicenseOrderNo
 * filter.
 */
static void
test_fidelity_refusals(void **state)
{
	struct env *e = *state;
	struct epki_client_opts o;
	struct epki_order_query q = { .want_cert_info = true };
	struct epki_order ord;
	struct epki_resp r;
	struct gw_err err;
	char long_cn[70];
	struct sim s2;

	sim_start(&s2, knob_conf);
	o = (struct epki_client_opts) { .url = s2.url, .timeout_s = 10 };
	knob_order(e, &s2, &r);
	epki_resp_cleanup(&r);
	memset(&ord, 0, sizeof(ord));
	ord.cn = "knobs";
	ord.ous[ord.nous++] = "Request";
	/* Email on an account that may not: email_code, dotted field. */
	ord.email = "a@example.com";
	order_full(e, s2.url, &ord, &r);
	assert_int_equal(r.errors[0].code, -9998);
	assert_string_equal(r.errors[0].field, "DnAttributes.Email");
	epki_resp_cleanup(&r);
	ord.email = NULL;
	/* Three OUs with max_ous = 2. */
	ord.ous[ord.nous++] = "b";
	ord.ous[ord.nous++] = "c";
	order_full(e, s2.url, &ord, &r);
	assert_int_equal(r.errors[0].code, -103);
	assert_string_equal(r.errors[0].field, "DnAttributes.OrganizationUnit");
	epki_resp_cleanup(&r);
	ord.nous = 1;
	/* CN of 65 characters; 64 multi-byte characters are fine. */
	memset(long_cn, 'x', 65);
	long_cn[65] = '\0';
	ord.cn = long_cn;
	order_full(e, s2.url, &ord, &r);
	assert_int_equal(r.cls, EPKI_BAD_REQUEST);
	assert_int_equal(r.errors[0].code, -103);
	assert_string_equal(r.errors[0].field, "DnAttributes.CommonName");
	epki_resp_cleanup(&r);
	assert_int_equal(state_get(&s2, "orders"), 1);

	/* LicenseNo on every order; the LicenseOrderNo filter. */
	assert_int_equal(epki_order_find_call(&o, &auth, &q, &r, &err), 0);
	assert_int_equal(r.nfound, 1);
	assert_string_equal(r.found[0].license_no, "LP000000000001");
	assert_true(r.found[0].serial[0] != '\0');
	epki_resp_cleanup(&r);
	q.license_no = "LP000000000001";
	assert_int_equal(epki_order_find_call(&o, &auth, &q, &r, &err), 0);
	assert_int_equal(r.nfound, 1);
	epki_resp_cleanup(&r);
	q.license_no = "LP000000000002";
	assert_int_equal(epki_order_find_call(&o, &auth, &q, &r, &err), 0);
	assert_int_equal(r.nfound, 0);
	epki_resp_cleanup(&r);
	assert_int_equal(sim_stop(&s2), 0);
}

/* The UPN SAN when the profile enables it (the default); every
 * SerialNumber format names the certificate once normalised; a profile
 * past its closing date refuses orders with profile_code. */
static void
test_fidelity_serials_upn(void **state)
{
	static const char *const confs[] = { "serial_format = upper\n",
		"serial_format = lower\n", "serial_format = colon\n",
		"serial_format = decimal\n" };
	struct env *e = *state;
	struct epki_client_opts o;
	struct epki_order_query q = { .want_cert_info = true,
		.want_fulfillment = true };
	struct epki_order ord;
	struct epki_resp r;
	struct gw_err err;
	struct sim s2;
	size_t i;

	for (i = 0; i < sizeof(confs) / sizeof(confs[0]); i++) {
		print_message("%s", confs[i]);
		sim_start(&s2, confs[i]);
		o = (struct epki_client_opts) { .url = s2.url,
			.timeout_s = 10 };
		memset(&ord, 0, sizeof(ord));
		ord.cn = "serial";
		ord.upn = "someone@corp.example";
		order_full(e, s2.url, &ord, &r);
		assert_int_equal(r.cls, EPKI_OK);
		assert_true(has_upn(epki_resp_get0_cert_for_key(&r, e->key)));
		epki_resp_cleanup(&r);
		assert_int_equal(epki_order_find_call(&o, &auth, &q, &r, &err),
		    0);
		assert_int_equal(r.nfound, 1);
		print_message("SerialNumber %s\n", r.found[0].serial);
		assert_non_null(r.found[0].certs);
		assert_true(epki_serial_matches(r.found[0].serial,
		    sk_X509_value(r.found[0].certs, 0)));
		if (i == 2)
			assert_non_null(strchr(r.found[0].serial, ':'));
		epki_resp_cleanup(&r);
		assert_int_equal(sim_stop(&s2), 0);
	}

	sim_start(&s2, "profile_not_after = 2020-01-31\n");
	memset(&ord, 0, sizeof(ord));
	ord.cn = "late";
	order_full(e, s2.url, &ord, &r);
	assert_int_equal(r.errors[0].code, -105);
	assert_string_equal(r.errors[0].field, "ProfileID");
	epki_resp_cleanup(&r);
	o = (struct epki_client_opts) { .url = s2.url, .timeout_s = 10 };
	assert_int_equal(epki_profile_list_call(&o, &auth, NULL, &r, &err), 0);
	assert_string_equal(r.profiles[0].not_after,
	    "2020-01-31T23:59:59.000Z");
	assert_string_equal(r.profiles[0].upn, "true");
	epki_resp_cleanup(&r);
	assert_int_equal(sim_stop(&s2), 0);
}

/* lenient_ns: a GetProfiles in another namespace, children qualified, is
 * answered; strict (the default), it is a soap:Client Fault. */
static void
test_fidelity_lenient_ns(void **state)
{
	static const char lenient[] =
	    "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\""
	    " xmlns:x=\"urn:elsewhere\"><s:Body><x:GetProfiles><x:Request>"
	    "<x:QueryRequestHeader><x:AuthToken><x:UserName>PAR00000_scepgw"
	    "</x:UserName><x:Password>epki-sim-password</x:Password>"
	    "</x:AuthToken></x:QueryRequestHeader></x:Request></x:GetProfiles>"
	    "</s:Body></s:Envelope>";
	struct buf out;
	struct sim s2;
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		sim_start(&s2, i == 0 ? "lenient_ns = yes\n" : NULL);
		assert_int_equal(admin(&s2, "/cr/ws/GasOrderService", lenient,
				     &out),
		    i == 0 ? 200 : 500);
		if (i == 0)
			assert_non_null(strstr((char *)out.data,
			    "<SuccessCode>0</SuccessCode>"));
		buf_cleanup(&out);
		assert_int_equal(sim_stop(&s2), 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_orders_revoke_profiles),
		cmocka_unit_test(test_both_paths),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_fault_probability),
		cmocka_unit_test(test_fault_latency),
		cmocka_unit_test(test_fault_drop_then_find),
		cmocka_unit_test(test_packs_and_profile),
		cmocka_unit_test(test_leaf_extensions),
		cmocka_unit_test(test_fidelity_profile),
		cmocka_unit_test(test_fidelity_refusals),
		cmocka_unit_test(test_fidelity_serials_upn),
		cmocka_unit_test(test_fidelity_lenient_ns),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
