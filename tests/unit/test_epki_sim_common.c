/*
 * The epki-sim unit tests' shared fixture (test_epki_sim_common.h).
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
#include "test_epki_sim_common.h"
#include "test_spawn.h"

#include "pubkey.h"

const struct epki_auth auth = { "PAR00000_scepgw", "epki-sim-password" };

const char *start_format;

/* Starts epki-sim in dir (created, with conf as sim.conf if not NULL). */
void
sim_start(struct sim *s, const char *conf)
{
	char line[256], path[192], *port;
	FILE *f;

	snprintf(s->dir, sizeof(s->dir), "/tmp/test_epki_sim.XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	if (conf != NULL) {
		snprintf(path, sizeof(path), "%s/sim.conf", s->dir);
		assert_non_null(f = fopen(path, "w"));
		fputs(conf, f);
		fclose(f);
	}
	{
		const char *argv[] = { GW_BUILD "/epki-sim", "--listen",
			"127.0.0.1:0", "--dir", s->dir,
			start_format != NULL ? "--cert-format" : NULL,
			start_format, NULL };

		s->pid = test_spawn_line(argv, line, sizeof(line));
	}
	assert_non_null(strstr(line, "epki-sim listening on 127.0.0.1:"));
	port = strrchr(line, ':') + 1;
	port[strcspn(port, "\n")] = '\0';
	snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%s", port);
	snprintf(s->url, sizeof(s->url), "%s/cr/ws/GasOrderService", s->base);
}

/* Stops epki-sim (it must exit 0) and removes its folder. */
int
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
long
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
void
fault_set(const struct sim *s, const char *form)
{
	struct buf out;

	assert_int_equal(admin(s, "/sim/fault", form, &out), 200);
	buf_cleanup(&out);
}

/* The number after "key=" in /sim/state. */
long
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
char *
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

int
env_setup(void **state)
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

int
env_teardown(void **state)
{
	struct env *e = *state;
	int rc = sim_stop(&e->sim);

	EVP_PKEY_free(e->key);
	free(e->csr);
	free(e);
	return rc;
}

/* Places one order for cn; returns its class, the id into id. */
enum epki_class
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
void
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
