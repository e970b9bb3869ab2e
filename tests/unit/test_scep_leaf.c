/*
 * Unit tests of scep_leaf_verify(): a certificate the CA returns for an
 * order is accepted only when the configured chain's CA signed it and it
 * is valid now, whether decoded in full or bare (pubkey.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gw_err.h"
#include "pubkey.h"
#include "scep.h"
#include "test_scep_common.h"

/* The fixture's CA certificate and key, read from its files. */
static void
ca_read(const struct scep_fx *fx, X509 **ca, EVP_PKEY **key)
{
	FILE *f;

	assert_non_null(f = fopen(fx->ca_cert, "r"));
	assert_non_null(*ca = PEM_read_X509(f, NULL, NULL, NULL));
	fclose(f);
	assert_non_null(f = fopen(fx->ca_key, "r"));
	assert_non_null(*key = PEM_read_PrivateKey(f, NULL, NULL, NULL));
	fclose(f);
}

/*
 * A certificate for the fixture's client key, issuer named after ca,
 * valid from now + from to now + to seconds, signed by signer. Caller
 * frees.
 */
static X509 *
leaf_make(const struct scep_fx *fx, const X509 *ca, EVP_PKEY *signer, long from,
    long to)
{
	X509_NAME *name;
	X509 *x;

	assert_non_null(x = X509_new());
	assert_int_equal(X509_set_version(x, 2), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
	assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(ca)), 1);
	assert_non_null(name = X509_NAME_new());
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"device-1", -1, -1, 0);
	assert_int_equal(X509_set_subject_name(x, name), 1);
	X509_NAME_free(name);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), from));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), to));
	assert_int_equal(X509_set_pubkey(x, fx->key), 1);
	assert_true(X509_sign(x, signer, EVP_sha256()) > 0);
	return x;
}

/* leaf encoded and read back bare, its key undecoded (as epki reads it). */
static X509 *
leaf_bare(X509 *leaf)
{
	unsigned char *der = NULL;
	X509 *bare;
	int len;

	assert_true((len = i2d_X509(leaf, &der)) > 0);
	bare = gw_x509_d2i_bare(der, (size_t)len);
	OPENSSL_free(der);
	assert_non_null(bare);
	return bare;
}

static void
test_ca_signed_accepted(void **state)
{
	struct scep_fx *fx = *state;
	EVP_PKEY *key;
	X509 *ca, *leaf, *bare;
	struct gw_err err;

	ca_read(fx, &ca, &key);
	leaf = leaf_make(fx, ca, key, -60, 86400);
	bare = leaf_bare(leaf);
	if (scep_leaf_verify(fx->ra, leaf, (int64_t)time(NULL), &err) != 0)
		fail_msg("full: %s", err.msg);
	if (scep_leaf_verify(fx->ra, bare, (int64_t)time(NULL), &err) != 0)
		fail_msg("bare: %s", err.msg);
	X509_free(leaf);
	X509_free(bare);
	/* A CA clock a few minutes ahead of ours is tolerated. */
	leaf = leaf_make(fx, ca, key, 300, 86400);
	assert_int_equal(scep_leaf_verify(fx->ra, leaf, (int64_t)time(NULL),
			     &err),
	    0);
	X509_free(leaf);
	X509_free(ca);
	EVP_PKEY_free(key);
}

static void
test_refused(void **state)
{
	struct scep_fx *fx = *state;
	EVP_PKEY *key, *other;
	X509 *ca, *leaf;
	struct gw_err err;
	const struct {
		const char *what;
		long from, to;
		bool forged;
		const char *reason;
	} cases[] = {
		{ "another key, the CA's name", -60, 86400, true,
		    "not signed by a certificate of [ra] ca_chain" },
		{ "expired", -86400, -60, false, "expired" },
		{ "valid in an hour", 3600, 86400, false, "not yet valid" },
	};
	size_t i;

	ca_read(fx, &ca, &key);
	assert_non_null(other = EVP_EC_gen("P-256"));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		leaf = leaf_make(fx, ca, cases[i].forged ? other : key,
		    cases[i].from, cases[i].to);
		gw_err_clear(&err);
		if (scep_leaf_verify(fx->ra, leaf, (int64_t)time(NULL), &err) !=
		    -1)
			fail_msg("%s: accepted", cases[i].what);
		assert_int_equal(err.code, SCEP_FAIL_BADCERTID);
		assert_string_equal(err.msg, cases[i].reason);
		X509_free(leaf);
	}
	/* Self-signed (the device's own signer certificate). */
	assert_int_equal(scep_leaf_verify(fx->ra, fx->signer,
			     (int64_t)time(NULL), &err),
	    -1);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ca_signed_accepted),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, scep_fx_setup, scep_fx_teardown);
}
