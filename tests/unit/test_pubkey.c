/*
 * Unit tests of common/pubkey.c: keys built from their parameters equal
 * what OpenSSL's decoders make (RSA, EC P-256/P-384, and Ed25519 through
 * the fallback), malformed RSA keys are refused as the decoders refuse
 * them, bare certificates and requests keep their bytes and verify, and
 * key comparison works on bare certificates without queuing errors, and
 * a CMS message read bare is verified and answered through the keyed
 * stand-in of its signer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "pubkey.h"
#include "test_keys.h"

/* A new key: "RSA" (2048 bits, test_keys.h), "P-256", "P-384" or
 * "ED25519". */
static EVP_PKEY *
key_new(const char *kind)
{
	if (strcmp(kind, "RSA") == 0)
		return test_key_rsa(2048);
	if (strcmp(kind, "ED25519") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", kind);
}

/* A self-signed certificate for key, as DER (caller frees). */
static int
cert_der(EVP_PKEY *key, unsigned char **der)
{
	X509 *x = X509_new();
	int len;

	assert_non_null(x);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 7), 1);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)"pubkey test", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	assert_int_equal(X509_set_pubkey(x, key), 1);
	assert_true(
	    X509_sign(x, key,
		EVP_PKEY_is_a(key, "ED25519") ? NULL : EVP_sha256()) > 0);
	*der = NULL;
	len = i2d_X509(x, der);
	assert_true(len > 0);
	X509_free(x);
	return len;
}

static void
test_spki_pkey_kinds(void **state)
{
	static const char *kinds[] = { "RSA", "P-256", "P-384", "ED25519" };
	unsigned char *der;
	const unsigned char *p;
	X509 *x;
	EVP_PKEY *key, *k;
	size_t i;
	int len;

	(void)state;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		key = key_new(kinds[i]);
		assert_non_null(key);
		len = cert_der(key, &der);
		p = der;
		x = d2i_X509(NULL, &p, len);
		assert_non_null(x);
		k = gw_spki_pkey(X509_get_X509_PUBKEY(x));
		if (k == NULL || EVP_PKEY_eq(k, key) != 1)
			fail_msg("%s: the built key differs", kinds[i]);
		assert_int_equal(EVP_PKEY_eq(k, X509_get0_pubkey(x)), 1);
		assert_int_equal(ERR_peek_error(), 0);
		EVP_PKEY_free(k);
		X509_free(x);
		OPENSSL_free(der);
		EVP_PKEY_free(key);
	}
}

/* An rsaEncryption SubjectPublicKeyInfo holding the bytes rsa as key. */
static X509_PUBKEY *
rsa_spki(const unsigned char *rsa, int len)
{
	X509_PUBKEY *xp = X509_PUBKEY_new();
	unsigned char *copy = OPENSSL_memdup(rsa, (size_t)len);

	assert_non_null(xp);
	assert_non_null(copy);
	assert_int_equal(X509_PUBKEY_set0_param(xp,
			     OBJ_nid2obj(NID_rsaEncryption), V_ASN1_NULL, NULL,
			     copy, len),
	    1);
	return xp;
}

static void
test_spki_pkey_malformed_rsa(void **state)
{
	/* SEQUENCE { INTEGER n, INTEGER e } with a flaw each. */
	static const unsigned char trailing[] = { 0x30, 0x09, 0x02, 0x02, 0x00,
		0xc5, 0x02, 0x01, 0x03, 0x05, 0x00 };
	static const unsigned char negative[] = { 0x30, 0x07, 0x02, 0x02, 0xc5,
		0x01, 0x02, 0x01, 0x03 };
	static const unsigned char short_len[] = { 0x30, 0x10, 0x02, 0x02, 0x00,
		0xc5 };
	static const unsigned char one_int[] = { 0x30, 0x04, 0x02, 0x02, 0x00,
		0xc5 };
	const struct {
		const unsigned char *der;
		int len;
	} cases[] = {
		{ trailing, sizeof(trailing) },
		{ negative, sizeof(negative) },
		{ short_len, sizeof(short_len) },
		{ one_int, sizeof(one_int) },
	};
	unsigned char *der;
	const unsigned char *p;
	X509_PUBKEY *xp;
	EVP_PKEY *k, *ref;
	size_t i;
	int len;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		xp = rsa_spki(cases[i].der, cases[i].len);
		k = gw_spki_pkey(xp);
		der = NULL;
		len = i2d_X509_PUBKEY(xp, &der);
		assert_true(len > 0);
		p = der;
		ref = d2i_PUBKEY(NULL, &p, len);
		/* Whatever OpenSSL's decoders say, this says too. */
		if ((k == NULL) != (ref == NULL) ||
		    (k != NULL && EVP_PKEY_eq(k, ref) != 1))
			fail_msg("case %zu: %s here, %s by the decoders", i,
			    k != NULL ? "accepted" : "refused",
			    ref != NULL ? "accepted" : "refused");
		EVP_PKEY_free(ref);
		EVP_PKEY_free(k);
		OPENSSL_free(der);
		X509_PUBKEY_free(xp);
		ERR_clear_error();
	}
}

static void
test_bare_cert(void **state)
{
	EVP_PKEY *key = key_new("RSA"), *other = key_new("P-256");
	unsigned char *der, *again = NULL;
	X509 *x, *full;
	int len;

	(void)state;
	assert_non_null(key);
	assert_non_null(other);
	len = cert_der(key, &der);
	x = gw_x509_d2i_bare(der, (size_t)len);
	assert_non_null(x);
	assert_int_equal(ERR_peek_error(), 0);
	assert_null(X509_get0_pubkey(x));
	ERR_clear_error();
	assert_int_equal(i2d_X509(x, &again), len);
	assert_memory_equal(again, der, (size_t)len);
	assert_true(gw_x509_has_key(x, key));
	assert_false(gw_x509_has_key(x, other));
	assert_int_equal(ERR_peek_error(), 0);
	/* Only the key is missing: its signature still verifies. */
	assert_int_equal(X509_verify(x, key), 1);
	full = gw_x509_full(x);
	assert_non_null(full);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(full), key), 1);
	/* Exactly the bytes: one byte more is refused. */
	assert_null(gw_x509_d2i_bare(der, (size_t)len - 1));
	ERR_clear_error();
	X509_free(full);
	X509_free(x);
	OPENSSL_free(again);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
}

/* A PKCS#10 request for key, as DER (caller frees). */
static int
req_der(EVP_PKEY *key, unsigned char **der)
{
	X509_REQ *req = X509_REQ_new();
	int len;

	assert_non_null(req);
	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN",
	    MBSTRING_ASC, (const unsigned char *)"device", -1, -1, 0);
	assert_int_equal(X509_REQ_set_pubkey(req, key), 1);
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	*der = NULL;
	len = i2d_X509_REQ(req, der);
	assert_true(len > 0);
	X509_REQ_free(req);
	return len;
}

static void
test_bare_req(void **state)
{
	EVP_PKEY *key = key_new("P-384"), *k;
	X509_PUBKEY *spki;
	unsigned char *der;
	const unsigned char *p;
	X509_REQ *req;
	int len;

	(void)state;
	assert_non_null(key);
	len = req_der(key, &der);
	p = der;
	req = gw_req_d2i_bare(&p, len);
	assert_non_null(req);
	assert_ptr_equal(p, der + len);
	assert_null(X509_REQ_get0_pubkey(req));
	ERR_clear_error();
	spki = X509_REQ_get_X509_PUBKEY(req);
	k = gw_spki_pkey(spki);
	assert_non_null(k);
	assert_int_equal(X509_REQ_verify(req, k), 1);
	EVP_PKEY_free(k);
	X509_REQ_free(req);
	/* A flipped bit in the signature: decodes, does not verify. */
	der[len - 1] ^= 1;
	p = der;
	req = gw_req_d2i_bare(&p, len);
	assert_non_null(req);
	k = gw_spki_pkey(X509_REQ_get_X509_PUBKEY(req));
	assert_int_not_equal(X509_REQ_verify(req, k), 1);
	EVP_PKEY_free(k);
	X509_REQ_free(req);
	/* Not a request: NULL, with OpenSSL's reason left on the queue. */
	p = der + 4;
	assert_null(gw_req_d2i_bare(&p, len - 4));
	assert_int_not_equal(ERR_peek_error(), 0);
	ERR_clear_error();
	OPENSSL_free(der);
	EVP_PKEY_free(key);
}

static void
test_spki_eq(void **state)
{
	EVP_PKEY *a = key_new("P-256"), *b = key_new("P-256");
	X509_PUBKEY *pa = NULL, *pa2 = NULL, *pb = NULL;

	(void)state;
	assert_int_equal(X509_PUBKEY_set(&pa, a), 1);
	assert_int_equal(X509_PUBKEY_set(&pa2, a), 1);
	assert_int_equal(X509_PUBKEY_set(&pb, b), 1);
	assert_true(gw_spki_eq(pa, pa2));
	assert_false(gw_spki_eq(pa, pb));
	assert_false(gw_spki_eq(pa, NULL));
	X509_PUBKEY_free(pa);
	X509_PUBKEY_free(pa2);
	X509_PUBKEY_free(pb);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
}

/* Signs "hello" with key into DER CMS SignedData carrying its certificate
 * (caller frees); *cert gets that certificate. */
static int
cms_der(EVP_PKEY *key, X509 **cert, unsigned char **der)
{
	const unsigned char *p;
	unsigned char *cd;
	CMS_ContentInfo *cms;
	BIO *in;
	int len;

	len = cert_der(key, &cd);
	p = cd;
	*cert = d2i_X509(NULL, &p, len);
	OPENSSL_free(cd);
	assert_non_null(*cert);
	in = BIO_new_mem_buf("hello", 5);
	cms = CMS_sign(*cert, key, NULL, in, CMS_BINARY);
	assert_non_null(cms);
	*der = NULL;
	len = i2d_CMS_ContentInfo(cms, der);
	assert_true(len > 0);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	return len;
}

/* CMS_verify of cms with exactly signer; 1 when the signature holds. */
static int
cms_verify_with(CMS_ContentInfo *cms, X509 *signer)
{
	STACK_OF(X509) *certs = sk_X509_new_null();
	int ok;

	assert_non_null(certs);
	assert_true(sk_X509_push(certs, signer) > 0);
	ok = CMS_verify(cms, certs, NULL, NULL, NULL,
	    CMS_NO_SIGNER_CERT_VERIFY | CMS_NOINTERN | CMS_BINARY);
	sk_X509_free(certs);
	ERR_clear_error();
	return ok;
}

/*
 * A CMS message read bare carries certificates without keys; the keyed
 * stand-in of its signer verifies it (and not a tampered copy) and
 * encrypts to the signer's key: what scep_msg and the CertRep do.
 */
static void
test_cms_bare_keyed(void **state)
{
	static const char *kinds[] = { "RSA", "P-256" };
	unsigned char *der, *out = NULL;
	const unsigned char *p;
	CMS_ContentInfo *cms, *env;
	STACK_OF(X509) *certs, *rcpt;
	EVP_PKEY *key;
	BIO *in, *plain;
	X509 *cert, *bare, *keyed;
	const ASN1_BIT_STRING *sig;
	char buf[8];
	size_t i;
	int len;

	(void)state;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		key = key_new(kinds[i]);
		assert_non_null(key);
		len = cms_der(key, &cert, &der);
		p = der;
		cms = gw_cms_d2i_bare(&p, len);
		assert_non_null(cms);
		assert_ptr_equal(p, der + len);
		assert_int_equal(ERR_peek_error(), 0);
		certs = CMS_get1_certs(cms);
		assert_int_equal(sk_X509_num(certs), 1);
		bare = sk_X509_value(certs, 0);
		assert_null(X509_get0_pubkey(bare));
		ERR_clear_error();
		keyed = gw_x509_keyed(bare);
		assert_non_null(keyed);
		assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(keyed), key), 1);
		assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(keyed),
				     X509_get_issuer_name(cert)),
		    0);
		assert_int_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(keyed),
				     X509_get0_serialNumber(cert)),
		    0);
		/* RSA gets an unsigned stand-in, anything else the
		 * certificate itself. */
		X509_get0_signature(&sig, NULL, keyed);
		assert_int_equal(sig != NULL && ASN1_STRING_length(sig) > 0,
		    strcmp(kinds[i], "RSA") != 0);
		assert_int_equal(cms_verify_with(cms, keyed), 1);
		CMS_ContentInfo_free(cms);
		/* The same signature over other content must not verify. */
		der[len - 20] ^= 0x01;
		p = der;
		cms = gw_cms_d2i_bare(&p, len);
		assert_non_null(cms);
		assert_int_not_equal(cms_verify_with(cms, keyed), 1);
		CMS_ContentInfo_free(cms);
		if (strcmp(kinds[i], "RSA") == 0) {
			/* Encrypted to the stand-in, read with the key. */
			rcpt = sk_X509_new_null();
			assert_true(sk_X509_push(rcpt, keyed) > 0);
			in = BIO_new_mem_buf("secret", 6);
			env = CMS_encrypt(rcpt, in, EVP_aes_128_cbc(),
			    CMS_BINARY);
			assert_non_null(env);
			plain = BIO_new(BIO_s_mem());
			assert_int_equal(CMS_decrypt(env, key, cert, NULL,
					     plain, CMS_BINARY),
			    1);
			assert_int_equal(BIO_read(plain, buf, sizeof(buf)), 6);
			assert_memory_equal(buf, "secret", 6);
			BIO_free(plain);
			BIO_free(in);
			CMS_ContentInfo_free(env);
			sk_X509_free(rcpt);
		}
		X509_free(keyed);
		sk_X509_pop_free(certs, X509_free);
		X509_free(cert);
		OPENSSL_free(der);
		OPENSSL_free(out);
		EVP_PKEY_free(key);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spki_pkey_kinds),
		cmocka_unit_test(test_spki_pkey_malformed_rsa),
		cmocka_unit_test(test_bare_cert),
		cmocka_unit_test(test_bare_req),
		cmocka_unit_test(test_spki_eq),
		cmocka_unit_test(test_cms_bare_keyed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
