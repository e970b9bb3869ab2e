/*
 * epki-sim's certificate formats (--cert-format, sim.conf cert_format,
 * POST /sim/config): the shape of CERT and of GetOrderByOrderId's and
 * GetOrders' Certificate in each, and the client finding the leaf by its
 * key in every one, with ReturnP7 on and off.
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
#include "test_epki_sim_common.h"

/*
 * Posts a SOAP body built by build (its ReturnP7 set to p7 when it has
 * one) to the simulator and parses the answer as op into r; the raw
 * answer goes to raw.
 */
static void
soap_call(const struct env *e, const char *op, struct buf *body, bool p7,
    struct buf *raw, struct epki_resp *r)
{
	struct epki_client_opts o = { .url = e->sim.url, .timeout_s = 10 };
	char *at = strstr((char *)body->data, "<ReturnP7>true</ReturnP7>");
	struct gw_err err;
	struct buf sent;
	long status = 0;

	buf_init(&sent, 0);
	if (at != NULL && !p7) {
		assert_int_equal(buf_add(&sent, body->data,
				     (size_t)(at - (char *)body->data)),
		    0);
		assert_int_equal(buf_printf(&sent,
				     "<ReturnP7>false</ReturnP7>%s",
				     at + strlen("<ReturnP7>true</ReturnP7>")),
		    0);
	} else
		assert_int_equal(buf_add(&sent, body->data, body->len), 0);
	assert_int_equal(epki_client_post_sync(&o, op, &sent, raw, &status,
			     &err),
	    0);
	assert_int_equal(status, 200);
	assert_int_equal(epki_soap_parse(op, status, raw->data, raw->len, r,
			     &err),
	    0);
	assert_int_equal(r->cls, EPKI_OK);
	buf_cleanup(&sent);
	buf_cleanup(body);
}

/* The text of the first <name> element of raw (static storage). */
static const char *
soap_text(const struct buf *raw, const char *name)
{
	static char text[8192];
	char open[64], close[64];
	const char *b, *end;

	snprintf(open, sizeof(open), "<%s>", name);
	snprintf(close, sizeof(close), "</%s>", name);
	if ((b = strstr((const char *)raw->data, open)) == NULL)
		return NULL;
	b += strlen(open);
	assert_non_null(end = strstr(b, close));
	assert_true((size_t)(end - b) < sizeof(text));
	memcpy(text, b, (size_t)(end - b));
	text[end - b] = '\0';
	return text;
}

/* Checks that cert is in the shape format says (README "Certificate
 * formats" of epki/sim). */
static void
cert_shape_check(const char *format, const char *cert)
{
	size_t n = strlen(cert);
	bool crlf = strstr(cert, "&#xD;") != NULL;

	assert_true(n > 100);
	if (strncmp(format, "pem-x509", 8) == 0)
		assert_non_null(strstr(cert, "-----BEGIN CERTIFICATE-----"));
	if (strcmp(format, "pem-x509") == 0) {
		assert_false(crlf);
		assert_memory_equal(cert + n - 26,
		    "-----END CERTIFICATE-----\n", 26);
		/* 64 columns, the base64 line's LF after them. */
		assert_int_equal(strchr(cert + 28, '\n') - (cert + 28), 64);
	}
	if (strcmp(format, "pem-x509-nonl") == 0) {
		assert_false(crlf);
		assert_string_equal(cert + n - 25, "-----END CERTIFICATE-----");
	}
	if (strcmp(format, "pem-x509-crlf") == 0)
		assert_true(crlf);
	if (strcmp(format, "base64-der") == 0) {
		assert_null(strchr(cert, '-'));
		assert_int_equal(strspn(cert,
				     "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmno"
				     "pqrstuvwxyz0123456789+/="),
		    n);
	}
	if (strncmp(format, "pem-pkcs7", 9) == 0)
		assert_non_null(strstr(cert, "-----BEGIN PKCS7-----"));
	if (strcmp(format, "pem-pkcs7") == 0)
		assert_false(crlf);
	if (strcmp(format, "pem-pkcs7-chain") == 0)
		assert_true(crlf);
}

/*
 * Every CERT format (POST /sim/config cert_format=, shown in /sim/state):
 * OrderAndIssueCertificate's CERT, GetOrderByOrderId with ReturnP7 true
 * and false, and GetOrders: the client finds the leaf by the CSR's key in
 * each, and the issuing CA only where the answer carries it.
 */
static void
test_cert_formats(void **state)
{
	static const char *const formats[] = { "pem-x509", "pem-x509-nonl",
		"pem-x509-crlf", "base64-der", "pem-pkcs7", "pem-pkcs7-chain" };
	struct env *e = *state;
	struct epki_order ord = { .profile_id = PROFILE,
		.product_code = "EPKIPSPersonal",
		.years = 1,
		.csr_pem = e->csr };
	struct buf out, body, raw;
	struct epki_resp r;
	struct gw_err err;
	char form[64], cn[64], id[64];
	size_t i;
	int p7, chain;

	/* The default is pem-x509 (no sim.conf key set). */
	assert_int_equal(admin(&e->sim, "/sim/state", "", &out), 200);
	assert_non_null(strstr((char *)out.data, "\ncert_format=pem-x509\n"));
	buf_cleanup(&out);
	assert_int_equal(admin(&e->sim, "/sim/config", "cert_format=pem", &out),
	    400);
	buf_cleanup(&out);
	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		chain = strcmp(formats[i], "pem-pkcs7-chain") == 0;
		snprintf(form, sizeof(form), "cert_format=%s", formats[i]);
		assert_int_equal(admin(&e->sim, "/sim/config", form, &out),
		    200);
		buf_cleanup(&out);
		assert_int_equal(admin(&e->sim, "/sim/state", "", &out), 200);
		snprintf(form, sizeof(form), "\ncert_format=%s\n", formats[i]);
		assert_non_null(strstr((char *)out.data, form));
		buf_cleanup(&out);

		snprintf(cn, sizeof(cn), "format-%s", formats[i]);
		ord.cn = cn;
		buf_init(&body, 0);
		buf_init(&raw, 0);
		assert_int_equal(epki_soap_order_build(&auth, &ord, &body,
				     &err),
		    0);
		soap_call(e, "OrderAndIssueCertificate", &body, true, &raw, &r);
		cert_shape_check(formats[i], soap_text(&raw, "CERT"));
		assert_non_null(epki_resp_get0_cert_for_key(&r, e->key));
		assert_int_equal(sk_X509_num(r.certs), chain ? 2 : 1);
		snprintf(id, sizeof(id), "%s", r.order_id);
		epki_resp_cleanup(&r);
		buf_cleanup(&raw);

		for (p7 = 0; p7 < 2; p7++) {
			buf_init(&body, 0);
			buf_init(&raw, 0);
			assert_int_equal(epki_soap_get_order_build(&auth, id,
					     &body, &err),
			    0);
			soap_call(e, "GetOrderByOrderId", &body, p7, &raw, &r);
			cert_shape_check(formats[i],
			    soap_text(&raw, "Certificate"));
			/* PKCS7Cert only when asked; it holds the chain. */
			assert_true((soap_text(&raw, "PKCS7Cert") != NULL) ==
			    (p7 == 1));
			assert_non_null(
			    epki_resp_get0_cert_for_key(&r, e->key));
			assert_int_equal(sk_X509_num(r.certs),
			    p7 || chain ? 2 : 1);
			epki_resp_cleanup(&r);
			buf_cleanup(&raw);
		}

		find(e, cn, e->today, &r);
		assert_int_equal(r.nfound, 1);
		assert_false(r.found[0].cert_unreadable);
		assert_int_equal(sk_X509_num(r.found[0].certs), chain ? 2 : 1);
		for (p7 = 0; p7 < sk_X509_num(r.found[0].certs); p7++)
			if (gw_x509_has_key(sk_X509_value(r.found[0].certs, p7),
				e->key))
				break;
		assert_true(p7 < sk_X509_num(r.found[0].certs));
		epki_resp_cleanup(&r);
	}
	assert_int_equal(admin(&e->sim, "/sim/config", "cert_format=pem-x509",
			     &out),
	    200);
	buf_cleanup(&out);
}

/* The state's cert_format of sim s is want. */
static void
format_is(const struct sim *s, const char *want)
{
	char line[64];
	struct buf out;

	assert_int_equal(admin(s, "/sim/state", "", &out), 200);
	snprintf(line, sizeof(line), "\ncert_format=%s\n", want);
	assert_non_null(strstr((char *)out.data, line));
	buf_cleanup(&out);
}

/*
 * cert_format from sim.conf, --cert-format over it, and a bad value of
 * either stops the start.
 */
static void
test_cert_format_start(void **state)
{
	struct env *e = *state;
	struct sim s;
	char cmd[512];
	char id[64];

	sim_start(&s, "cert_format = pem-pkcs7-chain\n");
	format_is(&s, "pem-pkcs7-chain");
	assert_int_equal(order(e, s.url, 10, "conf-format", 1, id, sizeof(id)),
	    EPKI_OK);
	assert_int_equal(sim_stop(&s), 0);
	start_format = "base64-der";
	sim_start(&s, "cert_format = pem-pkcs7-chain\n");
	start_format = NULL;
	format_is(&s, "base64-der");
	assert_int_equal(sim_stop(&s), 0);

	snprintf(cmd, sizeof(cmd),
	    "d=$(mktemp -d) && printf 'cert_format = der\\n' >$d/sim.conf && "
	    "%s/epki-sim --listen 127.0.0.1:0 --dir $d >/dev/null 2>$d/err; "
	    "rc=$?; grep -q 'sim.conf:1: bad line' $d/err || rc=99; "
	    "rm -rf $d; exit $rc",
	    GW_BUILD);
	assert_int_equal(WEXITSTATUS(system(cmd)), 1);
	snprintf(cmd, sizeof(cmd),
	    "%s/epki-sim --listen 127.0.0.1:0 --dir /nonexistent/x "
	    "--cert-format pem >/dev/null 2>&1",
	    GW_BUILD);
	assert_int_equal(WEXITSTATUS(system(cmd)), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cert_formats),
		cmocka_unit_test(test_cert_format_start),
	};

	return cmocka_run_group_tests(tests, env_setup, env_teardown);
}
