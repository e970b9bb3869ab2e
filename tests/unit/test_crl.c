/*
 * Unit tests of server/enroll/crl.c without a network: a CRL is accepted as DER
 * or PEM only when the issuing CA issued and signed it; the CDP lookup
 * takes the first http(s) URI; a cache for an RA without a CDP is
 * refused; and a failed fetch with nothing cached is an error that is
 * not retried at once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "crl.h"
#include "gw_err.h"
#include "scep.h"
#include "scep_client.h"
#include "test_scep_common.h"

/* A CA: key and self-signed certificate. */
struct ca {
	EVP_PKEY *key;
	X509 *cert;
};

static void
ca_make(struct ca *ca, const char *cn)
{
	ca->key = scep_client_key_new(true, 0);
	assert_non_null(ca->key);
	ca->cert = scep_client_selfsigned_new(ca->key, cn);
	assert_non_null(ca->cert);
}

static void
ca_free(struct ca *ca)
{
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
}

/* A CRL named after issuer, signed by key, nextUpdate in an hour. */
static X509_CRL *
crl_make(const X509 *issuer, EVP_PKEY *key)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, time(NULL));
	ASN1_TIME *n = ASN1_TIME_set(NULL, time(NULL) + 3600);

	assert_non_null(crl);
	assert_int_equal(X509_CRL_set_version(crl, X509_CRL_VERSION_2), 1);
	assert_int_equal(X509_CRL_set_issuer_name(crl,
			     X509_get_subject_name(issuer)),
	    1);
	assert_int_equal(X509_CRL_set1_lastUpdate(crl, t), 1);
	assert_int_equal(X509_CRL_set1_nextUpdate(crl, n), 1);
	assert_true(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
	ASN1_TIME_free(t);
	ASN1_TIME_free(n);
	return crl;
}

/* DER and PEM both decode; signer and issuer name are checked. */
static void
test_parse(void **state)
{
	struct ca ca, other;
	X509_CRL *crl, *got = NULL;
	unsigned char *der = NULL;
	struct gw_err err;
	BIO *b;
	char *pem;
	long plen;
	int n;

	(void)state;
	ca_make(&ca, "issuing-ca");
	ca_make(&other, "issuing-ca");
	crl = crl_make(ca.cert, ca.key);
	n = i2d_X509_CRL(crl, &der);
	assert_true(n > 0);
	assert_int_equal(crl_parse(der, (size_t)n, ca.cert, &got, &err), 0);
	assert_int_equal(X509_CRL_cmp(got, crl), 0);
	X509_CRL_free(got);
	b = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_X509_CRL(b, crl), 1);
	plen = BIO_get_mem_data(b, &pem);
	assert_int_equal(crl_parse((const unsigned char *)pem, (size_t)plen,
			     ca.cert, &got, &err),
	    0);
	X509_CRL_free(got);
	BIO_free(b);
	/* Same name, other key: the signature gives it away. */
	assert_int_equal(crl_parse(der, (size_t)n, other.cert, &got, &err), -1);
	assert_null(got);
	assert_non_null(strstr(err.msg, "signature"));
	/* Garbage and nothing. */
	assert_int_equal(crl_parse((const unsigned char *)"not a CRL", 9,
			     ca.cert, &got, &err),
	    -1);
	assert_int_equal(crl_parse(der, 0, ca.cert, &got, &err), -1);
	OPENSSL_free(der);
	X509_CRL_free(crl);
	ca_free(&other);
	ca_free(&ca);
}

/* Another issuer's CRL is refused before its signature is looked at. */
static void
test_parse_wrong_issuer(void **state)
{
	struct ca ca, other;
	X509_CRL *crl, *got = NULL;
	unsigned char *der = NULL;
	struct gw_err err;
	int n;

	(void)state;
	ca_make(&ca, "issuing-ca");
	ca_make(&other, "another-ca");
	crl = crl_make(other.cert, other.key);
	n = i2d_X509_CRL(crl, &der);
	assert_int_equal(crl_parse(der, (size_t)n, ca.cert, &got, &err), -1);
	assert_non_null(strstr(err.msg, "issuer"));
	OPENSSL_free(der);
	X509_CRL_free(crl);
	ca_free(&other);
	ca_free(&ca);
}

/* CDP lookup: table of extension values and the URL expected. */
static void
test_url_of(void **state)
{
	static const struct {
		const char *cdp; /* config text, or NULL: no extension */
		const char *want;
	} rows[] = {
		{ "URI:http://crl.example/ca.crl",
		    "http://crl.example/ca.crl" },
		{ "URI:ldap://x/cn=ca,URI:https://crl.example/b.crl",
		    "https://crl.example/b.crl" },
		{ "URI:ldap://x/cn=ca", NULL },
		{ "URI:file:///etc/passwd", NULL },
		{ NULL, NULL },
	};
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	struct ca ca;
	char *url;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		ca_make(&ca, "leaf");
		if (rows[i].cdp != NULL) {
			X509V3_set_ctx(&ctx, ca.cert, ca.cert, NULL, NULL, 0);
			e = X509V3_EXT_nconf_nid(NULL, &ctx,
			    NID_crl_distribution_points, rows[i].cdp);
			assert_non_null(e);
			assert_int_equal(X509_add_ext(ca.cert, e, -1), 1);
			X509_EXTENSION_free(e);
		}
		if (rows[i].want == NULL) {
			assert_int_equal(crl_url_of(ca.cert, &url), -1);
			assert_null(url);
		} else {
			assert_int_equal(crl_url_of(ca.cert, &url), 0);
			assert_string_equal(url, rows[i].want);
			free(url);
		}
		ca_free(&ca);
	}
}

/* An RA certificate without a CDP: no cache, GetCRL stays disabled. */
static void
test_cache_needs_cdp(void **state)
{
	struct scep_fx *fx = NULL;
	struct crl_cache *c = NULL;
	struct gw_err err;

	(void)state;
	assert_int_equal(scep_fx_setup((void **)&fx), 0);
	assert_int_equal(crl_cache_new(&c, fx->ra, NULL, &err), -1);
	assert_null(c);
	assert_non_null(strstr(err.msg, "CRL distribution point"));
	crl_cache_free(NULL);
	scep_fx_teardown((void **)&fx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_wrong_issuer),
		cmocka_unit_test(test_url_of),
		cmocka_unit_test(test_cache_needs_cdp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
