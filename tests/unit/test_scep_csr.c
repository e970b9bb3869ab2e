/*
 * Unit tests of scep_csr_inspect(): what is pulled out of a PKCS#10
 * request and which keys are refused, as a table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "gw_err.h"
#include "scep.h"
#include "scep_client.h"
#include "test_keys.h"

enum key_kind { KEY_RSA1024, KEY_RSA2048, KEY_P256, KEY_P384, KEY_P521 };

/* A challenge of 2,048 characters, over PKCS#9's 255. */
#define C64 "SIMv1.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_0123"
#define C512 C64 C64 C64 C64 C64 C64 C64 C64
#define LONG_CHALLENGE C512 C512 C512 C512

struct csr_case {
	const char *name;
	enum key_kind key;
	const char *cn;
	const char *email; /* as SAN */
	const char *challenge;
	int rc;
};

static const struct csr_case cases[] = {
	{ "challenge present", KEY_RSA2048, "dev-1", NULL, "s3cret", 0 },
	{ "challenge absent", KEY_RSA2048, "dev-2", NULL, NULL, 0 },
	{ "utf8 challenge", KEY_RSA2048, "dev-3", NULL, "p\xc3\xa4ss", 0 },
	/* Intune's are about 1.5 KB (README "Microsoft Intune"): read whole. */
	{ "long challenge", KEY_RSA2048, "dev-9", NULL, LONG_CHALLENGE, 0 },
	{ "email SAN", KEY_RSA2048, "dev-4", "a@example.com", "x", 0 },
	{ "RSA 1024 refused", KEY_RSA1024, "dev-5", NULL, "x", -1 },
	{ "EC P-256 accepted", KEY_P256, "dev-6", "b@example.com", "y", 0 },
	{ "EC P-384 accepted", KEY_P384, "dev-7", NULL, NULL, 0 },
	{ "EC P-521 refused", KEY_P521, "dev-8", NULL, "z", -1 },
};

/* A key of the given kind; caller frees. */
static EVP_PKEY *
key_make(enum key_kind k)
{
	switch (k) {
	case KEY_RSA1024:
		return test_key_rsa(1024);
	case KEY_RSA2048:
		return test_key_rsa(2048);
	case KEY_P256:
		return EVP_EC_gen("P-256");
	case KEY_P384:
		return EVP_EC_gen("P-384");
	case KEY_P521:
		return EVP_EC_gen("P-521");
	}
	return NULL;
}

/* Checks the fingerprints against independently computed hashes. */
static void
fingerprints_check(const struct scep_csr_info *info, EVP_PKEY *key,
    const X509_REQ *req)
{
	unsigned char *der = NULL, md[32];
	unsigned int mdlen;
	int n;

	n = i2d_PUBKEY(key, &der);
	assert_true(n > 0);
	assert_int_equal(EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(),
			     NULL),
	    1);
	assert_memory_equal(info->key_sha256, md, 32);
	OPENSSL_free(der);
	der = NULL;
	n = i2d_X509_REQ(req, &der);
	assert_true(n > 0);
	assert_int_equal(EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(),
			     NULL),
	    1);
	assert_memory_equal(info->csr_sha256, md, 32);
	OPENSSL_free(der);
}

/* Runs the table. */
static void
test_csr_table(void **state)
{
	struct scep_csr_info info;
	struct gw_err err;
	EVP_PKEY *key;
	X509_REQ *req;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct csr_case *c = &cases[i];

		key = key_make(c->key);
		assert_non_null(key);
		req = scep_client_csr_new(key, c->cn, c->email, c->challenge);
		assert_non_null(req);
		rc = scep_csr_inspect(req, X509_REQ_get0_pubkey(req), &info,
		    &err);
		if (rc != c->rc)
			fail_msg("%s: rc %d want %d (%s)", c->name, rc, c->rc,
			    rc == -1 ? err.msg : "");
		if (rc == 0) {
			assert_string_equal(info.cn, c->cn);
			if (c->challenge == NULL)
				assert_null(info.challenge);
			else
				assert_string_equal(info.challenge,
				    c->challenge);
			if (c->email == NULL)
				assert_null(info.email);
			else
				assert_string_equal(info.email, c->email);
			assert_non_null(strstr(info.pem,
			    "-----BEGIN CERTIFICATE REQUEST-----"));
			fingerprints_check(&info, key, req);
		} else {
			assert_int_equal(err.code, SCEP_FAIL_BADREQUEST);
			assert_null(info.pem);
			assert_null(info.challenge);
		}
		scep_csr_info_cleanup(&info);
		assert_null(info.cn);
		X509_REQ_free(req);
		EVP_PKEY_free(key);
	}
}

/* An emailAddress in the subject is used when there is no SAN. */
static void
test_subject_email(void **state)
{
	struct scep_csr_info info;
	struct gw_err err;
	EVP_PKEY *key;
	X509_REQ *req;
	X509_NAME *name;

	(void)state;
	key = EVP_EC_gen("P-256");
	req = scep_client_csr_new(key, "dev-9", NULL, NULL);
	name = X509_NAME_dup(X509_REQ_get_subject_name(req));
	assert_int_equal(X509_NAME_add_entry_by_NID(name,
			     NID_pkcs9_emailAddress, MBSTRING_ASC,
			     (const unsigned char *)"c@example.com", -1, -1, 0),
	    1);
	assert_int_equal(X509_REQ_set_subject_name(req, name), 1);
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	assert_int_equal(scep_csr_inspect(req, X509_REQ_get0_pubkey(req), &info,
			     &err),
	    0);
	assert_string_equal(info.email, "c@example.com");
	assert_string_equal(info.cn, "dev-9");
	scep_csr_info_cleanup(&info);
	X509_NAME_free(name);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
}

/* Each SAN kind sets its bit; the first rfc822Name and UPN are kept. */
static void
test_san_kinds(void **state)
{
	static const struct {
		const char *san; /* OpenSSL config syntax */
		unsigned sans;
		const char *email;
		const char *upn;
	} sancases[] = {
		{ "email:a@example.com", 1u << SCEP_SAN_EMAIL, "a@example.com",
		    NULL },
		{ "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:u@corp.example",
		    1u << SCEP_SAN_UPN, NULL, "u@corp.example" },
		{ "DNS:h.example.com", 1u << SCEP_SAN_DNS, NULL, NULL },
		{ "IP:192.0.2.1", 1u << SCEP_SAN_IP, NULL, NULL },
		{
		    "URI:https://example.com/x",
		    1u << SCEP_SAN_URI,
		    NULL,
		    NULL,
		},
		{
		    "otherName:1.2.3.4;UTF8:x",
		    1u << SCEP_SAN_OTHER,
		    NULL,
		    NULL,
		},
		{ "RID:1.2.3.4", 1u << SCEP_SAN_OTHER, NULL, NULL },
		{ "email:b@example.com,email:c@example.com,DNS:h",
		    (1u << SCEP_SAN_EMAIL) | (1u << SCEP_SAN_DNS),
		    "b@example.com", NULL },
	};
	STACK_OF(X509_EXTENSION) *exts;
	struct scep_csr_info info;
	X509_EXTENSION *ext;
	struct gw_err err;
	EVP_PKEY *key;
	X509_REQ *req;
	size_t i;

	(void)state;
	key = EVP_EC_gen("P-256");
	for (i = 0; i < sizeof(sancases) / sizeof(sancases[0]); i++) {
		req = scep_client_csr_new(key, "dev-san", NULL, NULL);
		exts = sk_X509_EXTENSION_new_null();
		ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
		    sancases[i].san);
		assert_non_null(ext);
		assert_true(sk_X509_EXTENSION_push(exts, ext) > 0);
		assert_int_equal(X509_REQ_add_extensions(req, exts), 1);
		assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
		assert_int_equal(scep_csr_inspect(req,
				     X509_REQ_get0_pubkey(req), &info, &err),
		    0);
		assert_int_equal(info.sans, sancases[i].sans);
		if (sancases[i].email != NULL)
			assert_string_equal(info.email, sancases[i].email);
		else
			assert_null(info.email);
		if (sancases[i].upn != NULL)
			assert_string_equal(info.upn, sancases[i].upn);
		else
			assert_null(info.upn);
		scep_csr_info_cleanup(&info);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
		X509_REQ_free(req);
	}
	assert_string_equal(scep_san_name(SCEP_SAN_DNS), "dNSName");
	assert_string_equal(scep_san_name(SCEP_SAN__MAX), "?");
	EVP_PKEY_free(key);
}

/*
 * Intune's strong-mapping URI (README "Microsoft Intune") is noted apart
 * and not counted as a URI; the prefix with anything but a SID after it
 * is a URI like any other.
 */
static void
test_san_ms_sid(void **state)
{
	static const struct {
		const char *uri;
		bool ms_sid;
		unsigned sans;
	} sid[] = {
		{ SCEP_MS_SID_PREFIX "S-1-5-21-1004336348-1177238915-500", true,
		    1u << SCEP_SAN_EMAIL },
		{ SCEP_MS_SID_PREFIX "S-1/x", false,
		    (1u << SCEP_SAN_URI) | (1u << SCEP_SAN_EMAIL) },
		{ SCEP_MS_SID_PREFIX, false,
		    (1u << SCEP_SAN_URI) | (1u << SCEP_SAN_EMAIL) },
	};
	STACK_OF(X509_EXTENSION) *exts;
	struct scep_csr_info info;
	GENERAL_NAMES *gens;
	GENERAL_NAME *g;
	ASN1_IA5STRING *s;
	struct gw_err err;
	EVP_PKEY *key;
	X509_REQ *req;
	size_t i;

	(void)state;
	key = EVP_EC_gen("P-256");
	for (i = 0; i < sizeof(sid) / sizeof(sid[0]); i++) {
		req = scep_client_csr_new(key, "dev-sid", NULL, NULL);
		gens = sk_GENERAL_NAME_new_null();
		g = GENERAL_NAME_new();
		s = ASN1_IA5STRING_new();
		assert_int_equal(ASN1_STRING_set(s, sid[i].uri, -1), 1);
		GENERAL_NAME_set0_value(g, GEN_URI, s);
		assert_true(sk_GENERAL_NAME_push(gens, g) > 0);
		g = GENERAL_NAME_new();
		s = ASN1_IA5STRING_new();
		assert_int_equal(ASN1_STRING_set(s, "d@example.com", -1), 1);
		GENERAL_NAME_set0_value(g, GEN_EMAIL, s);
		assert_true(sk_GENERAL_NAME_push(gens, g) > 0);
		exts = sk_X509_EXTENSION_new_null();
		assert_true(
		    sk_X509_EXTENSION_push(exts,
			X509V3_EXT_i2d(NID_subject_alt_name, 0, gens)) > 0);
		assert_int_equal(X509_REQ_add_extensions(req, exts), 1);
		assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
		assert_int_equal(scep_csr_inspect(req,
				     X509_REQ_get0_pubkey(req), &info, &err),
		    0);
		assert_int_equal(info.ms_sid, sid[i].ms_sid);
		assert_int_equal(info.sans, sid[i].sans);
		assert_string_equal(info.email, "d@example.com");
		scep_csr_info_cleanup(&info);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
		GENERAL_NAMES_free(gens);
		X509_REQ_free(req);
	}
	EVP_PKEY_free(key);
}

/*
 * Two subjectAltName extensions (RFC 5280 4.2 allows one): refused, not
 * read as none (X509V3_get_d2i() returns NULL for a duplicate).
 */
static void
test_san_twice(void **state)
{
	STACK_OF(X509_EXTENSION) *exts;
	struct scep_csr_info info;
	X509_EXTENSION *ext;
	struct gw_err err;
	EVP_PKEY *key;
	X509_REQ *req;

	(void)state;
	key = EVP_EC_gen("P-256");
	req = scep_client_csr_new(key, "dev-san", NULL, "secret");
	exts = sk_X509_EXTENSION_new_null();
	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
	    "email:a@example.com");
	assert_true(sk_X509_EXTENSION_push(exts, ext) > 0);
	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
	    "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:administrator@corp.example");
	assert_true(sk_X509_EXTENSION_push(exts, ext) > 0);
	assert_int_equal(X509_REQ_add_extensions(req, exts), 1);
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	assert_int_equal(scep_csr_inspect(req, X509_REQ_get0_pubkey(req), &info,
			     &err),
	    -1);
	assert_int_equal(err.code, SCEP_FAIL_BADREQUEST);
	assert_non_null(strstr(err.msg, "two subjectAltName extensions"));
	assert_null(info.challenge);
	assert_null(info.upn);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csr_table),
		cmocka_unit_test(test_subject_email),
		cmocka_unit_test(test_san_kinds),
		cmocka_unit_test(test_san_ms_sid),
		cmocka_unit_test(test_san_twice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
