/*
 * Unit tests of the pkiMessage parser: round trips over every cipher,
 * digest and key transport, BER input, the policy on single DES, and the
 * failures that must map to HTTP 400 or to a CertRep failInfo.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/cms.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "gw_err.h"
#include "scep.h"
#include "scep_client.h"
#include "test_keys.h"
#include "test_scep_common.h"

static const struct scep_policy pol_des = { .allow_des = true,
	.max_csr_bytes = 65536 };
static const struct scep_policy pol_strict = { .allow_des = false,
	.max_csr_bytes = 65536 };

static const char *const ciphers[] = { "aes128", "aes192", "aes256", "des3",
	"des" };
static const char *const digests[] = { "sha1", "sha224", "sha256", "sha384",
	"sha512" };

/* Fills a PKCSReq from the fixture. */
static void
req_init(struct scep_client_req *req, const struct scep_fx *fx)
{
	memset(req, 0, sizeof(*req));
	req->type = SCEP_MT_PKCSREQ;
	req->txid = "txid-0001";
	req->signer = fx->signer;
	req->key = fx->key;
	req->recipient = (X509 *)(uintptr_t)scep_ra_get0_cert(fx->ra);
	req->csr = fx->csr;
}

/* Builds req; the caller cleans up b. */
static void
req_build(struct scep_client_req *req, struct buf *b)
{
	struct gw_err err;

	if (scep_client_msg_build(req, b, &err) != 0)
		fail_msg("msg_build: %s", err.msg);
}

/* Parses, verifies and decrypts; returns the message or fails. */
static struct scep_msg *
msg_accept(const struct scep_fx *fx, const struct buf *b,
    const struct scep_policy *pol)
{
	struct scep_msg *m = NULL;
	struct gw_err err;

	if (scep_msg_parse(&m, b->data, b->len, &err) != 0)
		fail_msg("parse: %s", err.msg);
	if (scep_msg_verify(m, &err) != 0)
		fail_msg("verify: %s", err.msg);
	if (scep_msg_decrypt(m, fx->ra, pol, &err) != 0)
		fail_msg("decrypt: %s", err.msg);
	return m;
}

/* Whether two requests have the same DER. */
static bool
csr_equal(const X509_REQ *a, const X509_REQ *b)
{
	unsigned char *da = NULL, *db = NULL;
	int na, nb;
	bool eq;

	na = i2d_X509_REQ(a, &da);
	nb = i2d_X509_REQ(b, &db);
	eq = na > 0 && na == nb && memcmp(da, db, (size_t)na) == 0;
	OPENSSL_free(da);
	OPENSSL_free(db);
	return eq;
}

/* Every cipher x digest x key transport decodes to the same request. */
static void
test_roundtrip_matrix(void **state)
{
	struct scep_fx *fx = *state;
	struct scep_client_req req;
	struct scep_msg *m;
	struct buf b;
	const uint8_t *nonce;
	size_t i, j, k, len;

	for (i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]); i++)
		for (j = 0; j < sizeof(digests) / sizeof(digests[0]); j++)
			for (k = 0; k < 2; k++) {
				req_init(&req, fx);
				req.cipher_nid =
				    scep_client_cipher_nid(ciphers[i]);
				req.digest_nid =
				    scep_client_digest_nid(digests[j]);
				req.oaep = k == 1;
				req_build(&req, &b);
				m = msg_accept(fx, &b, &pol_des);
				assert_int_equal(scep_msg_type(m),
				    SCEP_MT_PKCSREQ);
				assert_string_equal(scep_msg_txid(m),
				    "txid-0001");
				nonce = scep_msg_sender_nonce(m, &len);
				assert_int_equal(len, 16);
				assert_memory_equal(nonce, req.nonce, 16);
				assert_int_equal(scep_msg_cipher_nid(m),
				    req.cipher_nid);
				assert_int_equal(scep_msg_digest_nid(m),
				    req.digest_nid);
				assert_int_equal(scep_msg_is_oaep(m), req.oaep);
				assert_true(
				    csr_equal(scep_msg_get0_csr(m), fx->csr));
				assert_int_equal(X509_cmp(scep_msg_get0_signer(
							      m),
						     fx->signer),
				    0);
				scep_msg_free(m);
				buf_cleanup(&b);
			}
}

/* Single DES is badAlg unless [scep] allow_des. */
static void
test_des_refused(void **state)
{
	struct scep_fx *fx = *state;
	struct scep_client_req req;
	struct scep_msg *m = NULL;
	struct gw_err err;
	struct buf b;

	req_init(&req, fx);
	req.cipher_nid = scep_client_cipher_nid("des");
	req_build(&req, &b);
	assert_int_equal(scep_msg_parse(&m, b.data, b.len, &err), 0);
	assert_int_equal(scep_msg_verify(m, &err), 0);
	assert_int_equal(scep_msg_decrypt(m, fx->ra, &pol_strict, &err), -1);
	assert_int_equal(err.code, SCEP_FAIL_BADALG);
	assert_non_null(strstr(err.msg, "[scep] allow_des"));
	assert_null(scep_msg_get0_csr(m));
	scep_msg_free(m);
	buf_cleanup(&b);
}

/* A flipped bit in the signature is badMessageCheck, not a parse error. */
static void
test_tampered_signature(void **state)
{
	struct scep_fx *fx = *state;
	struct scep_client_req req;
	struct scep_msg *m = NULL;
	struct gw_err err;
	struct buf b;

	req_init(&req, fx);
	req_build(&req, &b);
	/* The signature value is the last field of the DER. */
	b.data[b.len - 1] ^= 0x01;
	assert_int_equal(scep_msg_parse(&m, b.data, b.len, &err), 0);
	assert_int_equal(scep_msg_verify(m, &err), -1);
	assert_int_equal(err.code, SCEP_FAIL_BADMESSAGECHECK);
	scep_msg_free(m);
	buf_cleanup(&b);
}

/* Truncated or garbage input is unanswerable: -1 and no message. */
static void
test_garbage(void **state)
{
	struct scep_fx *fx = *state;
	struct scep_client_req req;
	struct scep_msg *m = NULL;
	struct gw_err err;
	struct buf b;
	static const uint8_t junk[] = "hello, this is not CMS at all";
	const size_t cuts[] = { 0, 1, 2, 10, 100, 500 };
	size_t i;

	req_init(&req, fx);
	req_build(&req, &b);
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		assert_int_equal(scep_msg_parse(&m, b.data, cuts[i], &err), -1);
		assert_null(m);
	}
	assert_int_equal(scep_msg_parse(&m, b.data, b.len - 1, &err), -1);
	assert_int_equal(scep_msg_parse(&m, b.data, b.len / 2, &err), -1);
	assert_int_equal(scep_msg_parse(&m, junk, sizeof(junk), &err), -1);
	assert_null(m);
	buf_cleanup(&b);
}

/* BER with indefinite lengths (iOS, jscep) is accepted. */
static void
test_ber_indefinite(void **state)
{
	struct scep_fx *fx = *state;
	struct scep_client_req req;
	struct scep_msg *m;
	struct buf b;

	req_init(&req, fx);
	req.ber = true;
	req_build(&req, &b);
	/* SEQUENCE with indefinite length: 30 80. */
	assert_int_equal(b.data[0], 0x30);
	assert_int_equal(b.data[1], 0x80);
	m = msg_accept(fx, &b, &pol_strict);
	assert_true(csr_equal(scep_msg_get0_csr(m), fx->csr));
	scep_msg_free(m);
	buf_cleanup(&b);
}

/* CertPoll carries IssuerAndSubject; GetCert IssuerAndSerialNumber. */
static void
test_certpoll_getcert(void **state)
{
	struct scep_fx *fx = *state;
	struct scep_client_req req;
	struct scep_msg *m;
	ASN1_INTEGER *serial;
	struct buf b;
	const X509 *ra = scep_ra_get0_cert(fx->ra);

	req_init(&req, fx);
	req.type = SCEP_MT_CERTPOLL;
	req.csr = NULL;
	req.issuer = X509_get_issuer_name(ra);
	req.subject = X509_get_subject_name(fx->signer);
	req_build(&req, &b);
	m = msg_accept(fx, &b, &pol_strict);
	assert_int_equal(scep_msg_type(m), SCEP_MT_CERTPOLL);
	assert_int_equal(X509_NAME_cmp(scep_msg_get0_issuer(m), req.issuer), 0);
	assert_int_equal(X509_NAME_cmp(scep_msg_get0_subject(m), req.subject),
	    0);
	assert_null(scep_msg_get0_csr(m));
	scep_msg_free(m);
	buf_cleanup(&b);

	serial = ASN1_INTEGER_new();
	assert_int_equal(ASN1_INTEGER_set(serial, 0x1234567), 1);
	req_init(&req, fx);
	req.type = SCEP_MT_GETCERT;
	req.csr = NULL;
	req.issuer = X509_get_issuer_name(ra);
	req.serial = serial;
	req_build(&req, &b);
	m = msg_accept(fx, &b, &pol_strict);
	assert_int_equal(scep_msg_type(m), SCEP_MT_GETCERT);
	assert_int_equal(ASN1_INTEGER_cmp(scep_msg_get0_serial(m), serial), 0);
	scep_msg_free(m);
	buf_cleanup(&b);
	ASN1_INTEGER_free(serial);
}

/* Unknown messageType, oversize content, bad CSR signature. */
static void
test_decrypt_failures(void **state)
{
	struct scep_fx *fx = *state;
	const struct scep_policy tiny = { .max_csr_bytes = 64 };
	struct scep_client_req req;
	struct scep_msg *m = NULL;
	ASN1_INTEGER *serial;
	X509_REQ *bad;
	EVP_PKEY *other;
	struct gw_err err;
	struct buf b;

	serial = ASN1_INTEGER_new();
	assert_int_equal(ASN1_INTEGER_set(serial, 7), 1);
	req_init(&req, fx);
	req.type = 99;
	req.issuer = X509_get_subject_name(fx->signer);
	req.serial = serial;
	req_build(&req, &b);
	assert_int_equal(scep_msg_parse(&m, b.data, b.len, &err), 0);
	assert_int_equal(scep_msg_decrypt(m, fx->ra, &pol_strict, &err), -1);
	assert_int_equal(err.code, SCEP_FAIL_BADREQUEST);
	scep_msg_free(m);
	buf_cleanup(&b);
	ASN1_INTEGER_free(serial);

	req_init(&req, fx);
	req_build(&req, &b);
	assert_int_equal(scep_msg_parse(&m, b.data, b.len, &err), 0);
	assert_int_equal(scep_msg_decrypt(m, fx->ra, &tiny, &err), -1);
	assert_int_equal(err.code, SCEP_FAIL_BADREQUEST);
	scep_msg_free(m);
	buf_cleanup(&b);

	/* Swap the key after signing: the self-signature breaks. */
	bad = X509_REQ_dup(fx->csr);
	other = scep_client_key_new(true, 0);
	assert_int_equal(X509_REQ_set_pubkey(bad, other), 1);
	req_init(&req, fx);
	req.csr = bad;
	req_build(&req, &b);
	assert_int_equal(scep_msg_parse(&m, b.data, b.len, &err), 0);
	assert_int_equal(scep_msg_verify(m, &err), 0);
	assert_int_equal(scep_msg_decrypt(m, fx->ra, &pol_strict, &err), -1);
	assert_int_equal(err.code, SCEP_FAIL_BADMESSAGECHECK);
	scep_msg_free(m);
	buf_cleanup(&b);
	X509_REQ_free(bad);
	EVP_PKEY_free(other);
}

/* A SignedData without SCEP attributes is unanswerable. */
static void
test_no_scep_attributes(void **state)
{
	struct scep_fx *fx = *state;
	struct scep_msg *m = NULL;
	CMS_ContentInfo *cms;
	struct gw_err err;
	unsigned char *der = NULL;
	BIO *in;
	int n;

	in = BIO_new_mem_buf("data", 4);
	cms = CMS_sign(fx->signer, fx->key, NULL, in, CMS_BINARY);
	assert_non_null(cms);
	n = i2d_CMS_ContentInfo(cms, &der);
	assert_true(n > 0);
	assert_int_equal(scep_msg_parse(&m, der, (size_t)n, &err), -1);
	assert_null(m);
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
}

/* A Windows-style signer with a critical AKI verifies. */
static void
test_critical_aki_signer(void **state)
{
	struct scep_fx *fx = *state;
	struct scep_client_req req;
	struct scep_msg *m;
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	X509 *win;
	struct buf b;

	win = scep_client_selfsigned_new(fx->key, "windows-device");
	assert_non_null(win);
	X509V3_set_ctx(&ctx, win, win, NULL, NULL, 0);
	ext = X509V3_EXT_nconf_nid(NULL, &ctx, NID_subject_key_identifier,
	    "hash");
	assert_int_equal(X509_add_ext(win, ext, -1), 1);
	X509_EXTENSION_free(ext);
	ext = X509V3_EXT_nconf_nid(NULL, &ctx, NID_authority_key_identifier,
	    "critical,keyid:always");
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(win, ext, -1), 1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(win, fx->key, EVP_sha256()) > 0);

	req_init(&req, fx);
	req.signer = win;
	req.oaep = true;
	req_build(&req, &b);
	m = msg_accept(fx, &b, &pol_strict);
	assert_true(scep_msg_is_oaep(m));
	scep_msg_free(m);
	buf_cleanup(&b);
	X509_free(win);
}

/* n self-signed certificates of key, distinct by CN. */
static STACK_OF(X509) *
certs_new(EVP_PKEY *key, int n)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	char cn[32];
	X509 *x;
	int i;

	assert_non_null(sk);
	for (i = 0; i < n; i++) {
		snprintf(cn, sizeof(cn), "extra-%d", i);
		x = scep_client_selfsigned_new(key, cn);
		assert_non_null(x);
		assert_int_not_equal(sk_X509_push(sk, x), 0);
	}
	return sk;
}

/*
 * The counts of certificates and RecipientInfos, table-driven: at the
 * limit decrypts, one past is badRequest; 0 in the policy is no limit.
 */
static void
test_count_limits(void **state)
{
	static const struct {
		int add_certs, add_rcpts; /* beyond the signer and the RA */
		unsigned max_certs, max_rcpts;
		bool ok;
	} cases[] = {
		{ 0, 0, 1, 1, true },
		{ 2, 0, 3, 1, true },
		{ 3, 0, 3, 1, false },
		{ 0, 2, 1, 3, true },
		{ 0, 3, 1, 3, false },
		{ 9, 9, 0, 0, true },
	};
	struct scep_fx *fx = *state;
	struct scep_policy pol = pol_strict;
	struct scep_client_req req;
	struct scep_msg *m;
	struct gw_err err;
	EVP_PKEY *other;
	struct buf b;
	size_t i;

	other = test_key_rsa(2048);
	assert_non_null(other);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		req_init(&req, fx);
		req.add_certs = certs_new(fx->key, cases[i].add_certs);
		req.add_recipients = certs_new(other, cases[i].add_rcpts);
		req_build(&req, &b);
		pol.max_certs = cases[i].max_certs;
		pol.max_recipients = cases[i].max_rcpts;
		assert_int_equal(scep_msg_parse(&m, b.data, b.len, &err), 0);
		assert_int_equal(scep_msg_verify(m, &err), 0);
		if (cases[i].ok) {
			if (scep_msg_decrypt(m, fx->ra, &pol, &err) != 0)
				fail_msg("case %zu: %s", i, err.msg);
		} else {
			assert_int_equal(scep_msg_decrypt(m, fx->ra, &pol,
					     &err),
			    -1);
			assert_int_equal(err.code, SCEP_FAIL_BADREQUEST);
		}
		scep_msg_free(m);
		buf_cleanup(&b);
		sk_X509_pop_free(req.add_certs, X509_free);
		sk_X509_pop_free(req.add_recipients, X509_free);
	}
	EVP_PKEY_free(other);
}

/* The signer carries the CSR's key, or it does not. */
static void
test_signer_matches_csr(void **state)
{
	struct scep_fx *fx = *state;
	struct scep_client_req req;
	struct scep_msg *m;
	struct gw_err err;
	EVP_PKEY *other;
	X509 *foreign;
	struct buf b;

	req_init(&req, fx);
	req_build(&req, &b);
	m = msg_accept(fx, &b, &pol_strict);
	assert_true(scep_msg_signer_matches_csr(m));
	scep_msg_free(m);
	buf_cleanup(&b);

	other = test_key_rsa(2048);
	assert_non_null(other);
	foreign = scep_client_selfsigned_new(other, "foreign");
	assert_non_null(foreign);
	req_init(&req, fx);
	req.signer = foreign;
	req.key = other;
	req_build(&req, &b);
	m = msg_accept(fx, &b, &pol_strict);
	assert_false(scep_msg_signer_matches_csr(m));
	scep_msg_free(m);
	buf_cleanup(&b);

	/* Before decrypt there is no request to match. */
	req_init(&req, fx);
	req_build(&req, &b);
	assert_int_equal(scep_msg_parse(&m, b.data, b.len, &err), 0);
	assert_false(scep_msg_signer_matches_csr(m));
	scep_msg_free(m);
	buf_cleanup(&b);
	X509_free(foreign);
	EVP_PKEY_free(other);
}

/*
 * A transactionID must be printable ASCII (RFC 8894 section 3.2.1 asks for
 * a PrintableString): one with a byte that is not, or a control
 * character, is refused at parse time, so that no database is asked to
 * store it (PostgreSQL would refuse text that is not UTF-8).
 */
static void
test_txid_printable(void **state)
{
	static const char *const bad[] = { "bad\xfftxid", "bad\ntxid", "\x7f" };
	struct scep_fx *fx = *state;
	struct scep_client_req req;
	struct scep_msg *m = NULL;
	struct gw_err err;
	struct buf b;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		req_init(&req, fx);
		req.txid = bad[i];
		req_build(&req, &b);
		assert_int_equal(scep_msg_parse(&m, b.data, b.len, &err), -1);
		assert_null(m);
		assert_non_null(strstr(err.msg, "transactionID"));
		buf_cleanup(&b);
	}
	req_init(&req, fx);
	req.txid = "a txid with ~ and spaces";
	req_build(&req, &b);
	m = msg_accept(fx, &b, &pol_strict);
	assert_string_equal(scep_msg_txid(m), "a txid with ~ and spaces");
	scep_msg_free(m);
	buf_cleanup(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_matrix),
		cmocka_unit_test(test_des_refused),
		cmocka_unit_test(test_tampered_signature),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_ber_indefinite),
		cmocka_unit_test(test_certpoll_getcert),
		cmocka_unit_test(test_decrypt_failures),
		cmocka_unit_test(test_no_scep_attributes),
		cmocka_unit_test(test_critical_aki_signer),
		cmocka_unit_test(test_count_limits),
		cmocka_unit_test(test_signer_matches_csr),
		cmocka_unit_test(test_txid_printable),
	};

	return cmocka_run_group_tests(tests, scep_fx_setup, scep_fx_teardown);
}
