/*
 * The server/intune/ unit tests' shared fixture (test_intune_common.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "buf.h"
#include "gw_err.h"
#include "test_intune_common.h"
#include "test_keys.h"
#include "test_spawn.h"

static char c_tenant[] = SIM_TENANT, c_client[] = SIM_CLIENT;
static char c_resource[] = "https://api.manage.microsoft.com/";
static char c_app[] = "0000000a-0000-0000-c000-000000000000";
static char c_apiv[] = "2018-02-20";

/* Starts intune-sim with simconf as sim.conf (or none) and fills s->conf. */
void
isim_start(struct isim *s, const char *simconf)
{
	char line[256], path[192], *p;
	FILE *f;

	snprintf(s->dir, sizeof(s->dir), "/tmp/test_intune.XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	if (simconf != NULL) {
		snprintf(path, sizeof(path), "%s/sim.conf", s->dir);
		assert_non_null(f = fopen(path, "w"));
		fputs(simconf, f);
		assert_int_equal(fclose(f), 0);
	}
	{
		const char *argv[] = { GW_BUILD "/intune-sim", "--listen",
			"127.0.0.1:0", "--dir", s->dir, NULL };

		s->pid = test_spawn_line(argv, line, sizeof(line));
	}
	assert_non_null(p = strstr(line, "intune-sim listening on https://"));
	p += strlen("intune-sim listening on ");
	p[strcspn(p, "\n")] = '\0';
	snprintf(s->base, sizeof(s->base), "%s", p);
	snprintf(s->ca, sizeof(s->ca), "%s/ca.pem", s->dir);
	snprintf(s->secret_path, sizeof(s->secret_path), "%s/secret", s->dir);
	assert_non_null(f = fopen(s->secret_path, "w"));
	fputs(SIM_SECRET "\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(s->secret_path, 0600), 0);
	snprintf(s->authority, sizeof(s->authority), "%s/", s->base);
	memset(&s->conf, 0, sizeof(s->conf));
	s->conf.configured = true;
	s->conf.tenant = c_tenant;
	s->conf.client_id = c_client;
	s->conf.client_secret_file = s->secret_path;
	s->conf.authority = s->authority;
	s->conf.graph_url = s->authority;
	s->conf.intune_resource = c_resource;
	s->conf.intune_app_id = c_app;
	s->conf.api_version = c_apiv;
	s->conf.ca_file = s->ca;
	s->conf.timeout_seconds = 20;
}

int
isim_setup(void **state)
{
	struct isim *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->pid = -1;
	*state = s;
	return 0;
}

int
isim_teardown(void **state)
{
	struct isim *s = *state;
	char cmd[192];
	int st = -1;

	intune_free(s->in);
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, &st, 0);
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
		assert_int_equal(system(cmd), 0);
	}
	free(s);
	return 0;
}

/* A client of s->conf into s->in. */
void
isim_client(struct isim *s)
{
	struct gw_err err;

	gw_err_clear(&err);
	intune_free(s->in);
	s->in = NULL;
	if (intune_new(&s->in, &s->conf, &err) != 0)
		fail_msg("intune_new: %s", err.msg);
}

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	return buf_add(arg, p, size * n) == 0 ? size * n : 0;
}

/* GET or POST (json != NULL) to the sim's admin API; the answer parsed. */
static json_t *
isim_admin(const struct isim *s, const char *path, const char *json)
{
	struct curl_slist *h = NULL;
	char url[256];
	struct buf b;
	long status = 0;
	json_t *j;
	CURL *e;

	snprintf(url, sizeof(url), "%s%s", s->base, path);
	buf_init(&b, 0);
	assert_non_null(e = curl_easy_init());
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CAINFO, s->ca);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
	if (json != NULL) {
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, json);
	}
	assert_int_equal(curl_easy_perform(e), CURLE_OK);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(e);
	curl_slist_free_all(h);
	if (status != 200)
		fail_msg("%s %s: HTTP %ld %s", json ? "POST" : "GET", path,
		    status, b.data != NULL ? (char *)b.data : "");
	j = json_loadb((const char *)b.data, b.len, 0, NULL);
	buf_cleanup(&b);
	assert_non_null(j);
	return j;
}

json_t *
isim_get(const struct isim *s, const char *path)
{
	return isim_admin(s, path, NULL);
}

void
isim_post(const struct isim *s, const char *path, const char *json)
{
	json_decref(isim_admin(s, path, json));
}

/* Requests the sim saw on hop (GET /_sim/state "requests"). */
long
isim_count(const struct isim *s, const char *hop)
{
	json_t *j = isim_get(s, "/_sim/state");
	long n = (long)json_integer_value(
	    json_object_get(json_object_get(j, "requests"), hop));

	json_decref(j);
	return n;
}

/* Tokens the sim issued for "graph" or "intune". */
long
isim_tokens(const struct isim *s, const char *which)
{
	json_t *j = isim_get(s, "/_sim/state");
	long n = (long)json_integer_value(
	    json_object_get(json_object_get(j, "tokens"), which));

	json_decref(j);
	return n;
}

/* The nth (0 = first) log entry of hop, a new reference, or NULL. */
json_t *
isim_log_hop(const struct isim *s, const char *hop, size_t nth)
{
	json_t *j = isim_get(s, "/_sim/log"), *e, *found = NULL;
	size_t i;

	json_array_foreach(json_object_get(j, "entries"), i, e)
	{
		const char *h = json_string_value(json_object_get(e, "hop"));

		if (h != NULL && strcmp(h, hop) == 0 && nth-- == 0) {
			found = json_incref(e);
			break;
		}
	}
	json_decref(j);
	return found;
}

/* How many violations the sim recorded. */
size_t
isim_violations(const struct isim *s)
{
	json_t *j = isim_get(s, "/_sim/violations");
	size_t n = json_array_size(json_object_get(j, "violations"));

	if (n > 0) {
		char *t = json_dumps(j, 0);

		print_message("violations: %s\n", t);
		free(t);
	}
	json_decref(j);
	return n;
}

/* The key every CSR of the tests has (made once). */
static EVP_PKEY *
csr_key(void)
{
	static EVP_PKEY *k;

	if (k == NULL)
		assert_non_null(k = test_key_rsa(2048));
	return k;
}

/* A DER CSR for CN=dev1 carrying challenge (none when NULL); malloc'd. */
uint8_t *
csr_new(const struct isim *s, const char *challenge, size_t *len)
{
	X509_REQ *r = X509_REQ_new();
	unsigned char *der = NULL;
	int n;

	(void)s;
	assert_non_null(r);
	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "CN",
	    MBSTRING_ASC, (const unsigned char *)"dev1", -1, -1, 0);
	X509_REQ_set_pubkey(r, csr_key());
	if (challenge != NULL)
		assert_int_equal(X509_REQ_add1_attr_by_NID(r,
				     NID_pkcs9_challengePassword, MBSTRING_UTF8,
				     (const unsigned char *)challenge, -1),
		    1);
	assert_true(X509_REQ_sign(r, csr_key(), EVP_sha256()) > 0);
	assert_true((n = i2d_X509_REQ(r, &der)) > 0);
	X509_REQ_free(r);
	*len = (size_t)n;
	return der;
}

/* A DER CSR carrying a fresh challenge of the sim. */
uint8_t *
csr_sim(const struct isim *s, size_t *len)
{
	json_t *j = isim_admin(s, "/_sim/challenge", "{}");
	const char *c = json_string_value(json_object_get(j, "challenge"));
	uint8_t *der;

	assert_non_null(c);
	der = csr_new(s, c, len);
	json_decref(j);
	return der;
}

/* A certificate for the CSR's key, issued by a throw-away test CA. */
X509 *
cert_for(const uint8_t *csr, size_t len)
{
	const unsigned char *p = csr;
	X509_REQ *r = d2i_X509_REQ(NULL, &p, (long)len);
	X509 *x = X509_new();
	unsigned char serial[16];
	BIGNUM *bn;

	assert_non_null(r);
	assert_non_null(x);
	assert_int_equal(RAND_bytes(serial, sizeof(serial)), 1);
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	X509_set_version(x, 2);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400);
	X509_set_subject_name(x, X509_REQ_get_subject_name(r));
	X509_NAME_add_entry_by_txt(X509_get_issuer_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)"Test Issuing CA", -1, -1, 0);
	X509_NAME_add_entry_by_txt(X509_get_issuer_name(x), "O", MBSTRING_ASC,
	    (const unsigned char *)"scepgw tests", -1, -1, 0);
	X509_set_pubkey(x, X509_REQ_get0_pubkey(r));
	assert_true(X509_sign(x, csr_key(), EVP_sha256()) > 0);
	X509_REQ_free(r);
	return x;
}

void
rec_init(struct rec *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
}

/* intune_done_fn: keeps the (last) result and the thread it ran on. */
void
rec_done(void *arg, const struct intune_result *res)
{
	struct rec *r = arg;

	pthread_mutex_lock(&r->mu);
	r->r = *res;
	r->thread = pthread_self();
	r->calls++;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

/* Waits for calls callbacks (a hang guard of 120 s, not a timing check). */
void
rec_wait(struct rec *r, int calls)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 120;
	pthread_mutex_lock(&r->mu);
	while (r->calls < calls)
		if (pthread_cond_timedwait(&r->cv, &r->mu, &ts) != 0)
			break;
	pthread_mutex_unlock(&r->mu);
	assert_int_equal(r->calls, calls);
}

void
rec_free(struct rec *r)
{
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
}

/* A validateRequest through the asynchronous API, waited for. */
void
validate_sync(struct isim *s, const char *txid, const uint8_t *csr, size_t len,
    struct intune_result *out)
{
	struct gw_err err;
	struct rec r;

	rec_init(&r);
	gw_err_clear(&err);
	assert_int_equal(intune_validate_submit(s->in, txid, csr, len, rec_done,
			     &r, &err),
	    0);
	rec_wait(&r, 1);
	assert_false(pthread_equal(r.thread, pthread_self()));
	*out = r.r;
	rec_free(&r);
}
