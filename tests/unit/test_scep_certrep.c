/*
 * Unit tests of the CertRep builder, checked by the independent client
 * code: SUCCESS over every cipher x digest x key transport (mirrored),
 * the GetCRL bag, FAILURE with each failInfo, PENDING, the empty-content
 * choice, the GetCACert bag, the RA loader's key check, the RA key
 * maker and the CA certificates a CertRep carries with the leaf.
 */
#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/cms.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "gw_err.h"
#include "scep.h"
#include "scep_client.h"
#include "scep_int.h"
#include "test_scep_common.h"

static const struct scep_policy pol = { .allow_des = true,
	.max_csr_bytes = 65536 };

static const char *const ciphers[] = { "aes128", "aes192", "aes256", "des3",
	"des" };
static const char *const digests[] = { "sha1", "sha224", "sha256", "sha384",
	"sha512" };

/* The per-test state: fixture, an "issued" certificate, a request. */
struct rep_ctx {
	struct scep_fx *fx;
	struct scep_client_req req;
	struct buf reqbuf;
	struct scep_msg *m;
	X509 *issued;
	EVP_PKEY *issued_key;
};

/* Builds and accepts a PKCSReq with the given algorithms. */
static void
ctx_request(struct rep_ctx *c, int cipher, int digest, bool oaep)
{
	struct gw_err err;

	memset(&c->req, 0, sizeof(c->req));
	c->req.type = SCEP_MT_PKCSREQ;
	c->req.txid = "5f1e-txid";
	c->req.cipher_nid = cipher;
	c->req.digest_nid = digest;
	c->req.oaep = oaep;
	c->req.signer = c->fx->signer;
	c->req.key = c->fx->key;
	c->req.recipient = (X509 *)(uintptr_t)scep_ra_get0_cert(c->fx->ra);
	c->req.csr = c->fx->csr;
	if (scep_client_msg_build(&c->req, &c->reqbuf, &err) != 0)
		fail_msg("build: %s", err.msg);
	assert_int_equal(scep_msg_parse(&c->m, c->reqbuf.data, c->reqbuf.len,
			     &err),
	    0);
	assert_int_equal(scep_msg_verify(c->m, &err), 0);
	if (scep_msg_decrypt(c->m, c->fx->ra, &pol, &err) != 0)
		fail_msg("decrypt: %s", err.msg);
}

/* Frees the request half of the context. */
static void
ctx_request_done(struct rep_ctx *c)
{
	scep_msg_free(c->m);
	c->m = NULL;
	buf_cleanup(&c->reqbuf);
}

/* Builds r and parses it back with the client. */
static void
reply_roundtrip(struct rep_ctx *c, const struct scep_reply *r,
    struct scep_client_rep *rep)
{
	struct gw_err err;
	struct buf out;

	if (scep_certrep_build(c->fx->ra, r, &out, &err) != 0)
		fail_msg("certrep_build: %s", err.msg);
	if (scep_client_rep_parse(out.data, out.len,
		(X509 *)(uintptr_t)scep_ra_get0_cert(c->fx->ra), &c->req, rep,
		&err) != 0)
		fail_msg("client parse: %s", err.msg);
	buf_cleanup(&out);
}

static int
ctx_setup(void **state)
{
	struct rep_ctx *c;

	c = calloc(1, sizeof(*c));
	assert_non_null(c);
	assert_int_equal(scep_fx_setup((void **)&c->fx), 0);
	c->issued_key = scep_client_key_new(true, 0);
	c->issued = scep_client_selfsigned_new(c->issued_key, "issued-1");
	assert_non_null(c->issued);
	*state = c;
	return 0;
}

static int
ctx_teardown(void **state)
{
	struct rep_ctx *c = *state;

	X509_free(c->issued);
	EVP_PKEY_free(c->issued_key);
	scep_fx_teardown((void **)&c->fx);
	free(c);
	return 0;
}

/* SUCCESS mirrors cipher, digest and padding; issued cert first. */
static void
test_success_matrix(void **state)
{
	struct rep_ctx *c = *state;
	struct scep_client_rep rep;
	struct scep_reply r;
	size_t i, j, k;

	for (i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]); i++)
		for (j = 0; j < sizeof(digests) / sizeof(digests[0]); j++)
			for (k = 0; k < 2; k++) {
				ctx_request(c,
				    scep_client_cipher_nid(ciphers[i]),
				    scep_client_digest_nid(digests[j]), k == 1);
				scep_reply_init(&r, c->m);
				r.issued = c->issued;
				r.chain = scep_ra_get0_chain(c->fx->ra);
				reply_roundtrip(c, &r, &rep);
				assert_int_equal(rep.status,
				    SCEP_STATUS_SUCCESS);
				assert_int_equal(rep.cipher_nid,
				    c->req.cipher_nid);
				assert_int_equal(rep.digest_nid,
				    c->req.digest_nid);
				assert_int_equal(rep.oaep, c->req.oaep);
				assert_int_equal(X509_cmp(rep.issued,
						     c->issued),
				    0);
				assert_int_equal(sk_X509_num(rep.certs), 2);
				assert_int_equal(
				    X509_cmp(sk_X509_value(rep.certs, 1),
					sk_X509_value(scep_ra_get0_chain(
							  c->fx->ra),
					    0)),
				    0);
				scep_client_rep_cleanup(&rep);
				ctx_request_done(c);
			}
}

/* A CRL issued by key for name, revoking serial 0x1234; thisUpdate now. */
static X509_CRL *
crl_make(EVP_PKEY *key, const X509_NAME *name)
{
	X509_REVOKED *rev;
	ASN1_INTEGER *sn;
	ASN1_TIME *t;
	X509_CRL *crl;

	crl = X509_CRL_new();
	assert_non_null(crl);
	t = ASN1_TIME_set(NULL, time(NULL));
	assert_non_null(t);
	rev = X509_REVOKED_new();
	sn = ASN1_INTEGER_new();
	assert_non_null(rev);
	assert_non_null(sn);
	assert_int_equal(ASN1_INTEGER_set(sn, 0x1234), 1);
	assert_int_equal(X509_REVOKED_set_serialNumber(rev, sn), 1);
	assert_int_equal(X509_REVOKED_set_revocationDate(rev, t), 1);
	assert_int_equal(X509_CRL_set_version(crl, X509_CRL_VERSION_2), 1);
	assert_int_equal(X509_CRL_set_issuer_name(crl, name), 1);
	assert_int_equal(X509_CRL_set1_lastUpdate(crl, t), 1);
	assert_int_equal(X509_CRL_add0_revoked(crl, rev), 1);
	assert_true(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
	ASN1_INTEGER_free(sn);
	ASN1_TIME_free(t);
	return crl;
}

/*
 * GetCRL: SUCCESS with a CRL carries it, and no certificate, in the
 * decrypted bag (RFC 8894 3.3.4); it comes back byte for byte, still
 * verifying and listing the revoked serial.
 */
static void
test_crl_bag(void **state)
{
	struct rep_ctx *c = *state;
	struct scep_client_rep rep;
	X509_REVOKED *found = NULL;
	ASN1_INTEGER *sn;
	unsigned char *a = NULL, *b = NULL;
	struct scep_reply r;
	X509_CRL *crl, *got;
	int alen, blen;

	crl = crl_make(c->issued_key, X509_get_subject_name(c->issued));
	ctx_request(c, scep_client_cipher_nid("aes256"),
	    scep_client_digest_nid("sha384"), false);
	scep_reply_init(&r, c->m);
	r.crl = crl;
	reply_roundtrip(c, &r, &rep);
	assert_int_equal(rep.status, SCEP_STATUS_SUCCESS);
	assert_int_equal(rep.cipher_nid, NID_aes_256_cbc);
	assert_null(rep.issued);
	assert_null(rep.certs);
	assert_non_null(rep.crls);
	assert_int_equal(sk_X509_CRL_num(rep.crls), 1);
	got = sk_X509_CRL_value(rep.crls, 0);
	alen = i2d_X509_CRL(crl, &a);
	blen = i2d_X509_CRL(got, &b);
	assert_true(alen > 0);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, (size_t)alen);
	assert_int_equal(X509_CRL_verify(got, X509_get0_pubkey(c->issued)), 1);
	sn = ASN1_INTEGER_new();
	assert_non_null(sn);
	assert_int_equal(ASN1_INTEGER_set(sn, 0x1234), 1);
	assert_int_equal(X509_CRL_get0_by_serial(got, &found, sn), 1);
	assert_non_null(found);
	ASN1_INTEGER_free(sn);
	OPENSSL_free(a);
	OPENSSL_free(b);
	scep_client_rep_cleanup(&rep);
	ctx_request_done(c);
	X509_CRL_free(crl);
}

/* The CRL bag itself: a degenerate SignedData with crls, no certs. */
static void
test_crl_bag_layout(void **state)
{
	struct rep_ctx *c = *state;
	STACK_OF(X509_CRL) *crls = NULL;
	STACK_OF(X509) *certs = NULL;
	const unsigned char *p;
	struct gw_err err;
	X509_CRL *crl;
	PKCS7 *p7;
	uint8_t *der;
	size_t len;

	crl = crl_make(c->issued_key, X509_get_subject_name(c->issued));
	assert_int_equal(scep_bag_crl_der(crl, &der, &len), 0);
	p = der;
	p7 = d2i_PKCS7(NULL, &p, (long)len);
	assert_non_null(p7);
	assert_true(PKCS7_type_is_signed(p7));
	assert_int_equal(sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info), 0);
	/* The optional certificates field is absent (sk_num of NULL: -1). */
	assert_true(sk_X509_num(p7->d.sign->cert) <= 0);
	assert_int_equal(sk_X509_CRL_num(p7->d.sign->crl), 1);
	assert_int_equal(scep_client_crl_bag_parse(der, len, &crls, &err), 0);
	assert_int_equal(sk_X509_CRL_num(crls), 1);
	/* A certificate reader finds nothing to return in it. */
	assert_int_equal(scep_client_bag_parse(der, len, &certs, &err), -1);
	assert_null(certs);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	PKCS7_free(p7);
	free(der);
	X509_CRL_free(crl);
}

/* FAILURE carries each failInfo and the text; no envelope. */
static void
test_failure(void **state)
{
	struct rep_ctx *c = *state;
	struct scep_client_rep rep;
	struct scep_reply r;
	int f;

	for (f = 0; f < SCEP_FAIL__MAX; f++) {
		ctx_request(c, 0, scep_client_digest_nid("sha512"), false);
		scep_reply_init(&r, c->m);
		r.status = SCEP_STATUS_FAILURE;
		r.fail = (enum scep_fail)f;
		r.fail_text = f == 2 ? "challenge not accepted" : NULL;
		reply_roundtrip(c, &r, &rep);
		assert_int_equal(rep.status, SCEP_STATUS_FAILURE);
		assert_int_equal(rep.fail, f);
		assert_string_equal(rep.fail_text,
		    f == 2 ? "challenge not accepted" : "");
		assert_int_equal(rep.digest_nid, NID_sha512);
		assert_null(rep.issued);
		scep_client_rep_cleanup(&rep);
		ctx_request_done(c);
	}
}

/* PENDING: signed, nonces, no envelope, no failInfo. */
static void
test_pending(void **state)
{
	struct rep_ctx *c = *state;
	struct scep_client_rep rep;
	struct scep_reply r;

	ctx_request(c, 0, 0, false);
	scep_reply_init(&r, c->m);
	r.status = SCEP_STATUS_PENDING;
	reply_roundtrip(c, &r, &rep);
	assert_int_equal(rep.status, SCEP_STATUS_PENDING);
	assert_int_equal(rep.fail, -1);
	assert_null(rep.issued);
	scep_client_rep_cleanup(&rep);
	ctx_request_done(c);
}

/*
 * The FAILURE/PENDING layout: eContent present and empty, contentType
 * and messageDigest signed, RA certificate included, digestAlgorithm a
 * hash OID.
 */
static void
test_empty_content_layout(void **state)
{
	struct rep_ctx *c = *state;
	const unsigned char *p;
	ASN1_OCTET_STRING **pos;
	CMS_ContentInfo *cms;
	CMS_SignerInfo *si;
	STACK_OF(X509) *certs;
	X509_ALGOR *dig;
	const ASN1_OBJECT *obj;
	struct scep_reply r;
	struct gw_err err;
	struct buf out;

	ctx_request(c, 0, 0, false);
	scep_reply_init(&r, c->m);
	r.status = SCEP_STATUS_PENDING;
	assert_int_equal(scep_certrep_build(c->fx->ra, &r, &out, &err), 0);
	p = out.data;
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)out.len);
	assert_non_null(cms);
	assert_int_equal(OBJ_obj2nid(CMS_get0_eContentType(cms)),
	    NID_pkcs7_data);
	pos = CMS_get0_content(cms);
	assert_non_null(pos);
	assert_non_null(*pos);
	assert_int_equal(ASN1_STRING_length(*pos), 0);
	si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
	assert_true(
	    CMS_signed_get_attr_by_NID(si, NID_pkcs9_contentType, -1) >= 0);
	assert_true(
	    CMS_signed_get_attr_by_NID(si, NID_pkcs9_messageDigest, -1) >= 0);
	assert_true(
	    CMS_signed_get_attr_by_NID(si, NID_SMIMECapabilities, -1) < 0);
	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, NULL);
	X509_ALGOR_get0(&obj, NULL, NULL, dig);
	assert_int_equal(OBJ_obj2nid(obj), NID_sha256);
	certs = CMS_get1_certs(cms);
	assert_int_equal(sk_X509_num(certs), 1);
	assert_int_equal(X509_cmp(sk_X509_value(certs, 0),
			     scep_ra_get0_cert(c->fx->ra)),
	    0);
	sk_X509_pop_free(certs, X509_free);
	CMS_ContentInfo_free(cms);
	buf_cleanup(&out);
	ctx_request_done(c);
}

/* MD5 is never used to sign, and SUCCESS needs a certificate. */
static void
test_refusals(void **state)
{
	struct rep_ctx *c = *state;
	struct scep_reply r;
	struct gw_err err;
	struct buf out;

	ctx_request(c, 0, 0, false);
	scep_reply_init(&r, c->m);
	r.status = SCEP_STATUS_PENDING;
	r.digest_nid = NID_md5;
	assert_int_equal(scep_certrep_build(c->fx->ra, &r, &out, &err), -1);
	assert_null(out.data);
	scep_reply_init(&r, c->m);
	assert_int_equal(scep_certrep_build(c->fx->ra, &r, &out, &err), -1);
	ctx_request_done(c);
}

/* GetCACert: RA first, then the chain; the RA is the recipient. */
static void
test_cacert_bag(void **state)
{
	struct rep_ctx *c = *state;
	STACK_OF(X509) *certs;
	const uint8_t *der;
	struct gw_err err;
	size_t len;

	der = scep_ra_cacert(c->fx->ra, &len);
	assert_non_null(der);
	assert_int_equal(scep_client_bag_parse(der, len, &certs, &err), 0);
	assert_int_equal(sk_X509_num(certs), 2);
	assert_int_equal(X509_cmp(sk_X509_value(certs, 0),
			     scep_ra_get0_cert(c->fx->ra)),
	    0);
	assert_ptr_equal(scep_client_recipient_pick(certs),
	    sk_X509_value(certs, 0));
	sk_X509_pop_free(certs, X509_free);
}

/* The RA loader refuses a key that does not match the certificate. */
static void
test_ra_mismatch(void **state)
{
	struct rep_ctx *c = *state;
	struct scep_ra *ra = NULL;
	struct gw_err err;

	assert_int_equal(scep_ra_load(&ra, c->fx->ra_cert, c->fx->ca_key,
			     c->fx->ca_cert, &err),
	    -1);
	assert_null(ra);
	assert_non_null(strstr(err.msg, "does not match"));
	assert_int_equal(scep_ra_load(&ra, c->fx->ra_cert, "/nonexistent", NULL,
			     &err),
	    -1);
	assert_int_equal(scep_ra_load(&ra, c->fx->ra_cert, c->fx->ra_key, NULL,
			     &err),
	    0);
	assert_int_equal(sk_X509_num(scep_ra_get0_chain(ra)), 0);
	scep_ra_free(ra);
}

/*
 * scep_ra_key_new() itself, as "scepgw init" runs it (the fixtures take
 * pool keys, test_keys.h): a new RSA key of the asked size, unencrypted
 * PKCS#8 PEM with mode 0600, that scep_ra_load() accepts; a size out of
 * range is refused and writes nothing.
 */
static void
test_ra_key_new(void **state)
{
	struct rep_ctx *c = *state;
	char key[160], cert[160], line[64];
	struct scep_ra *ra = NULL;
	struct gw_err err;
	struct stat st;
	EVP_PKEY *k;
	FILE *f;

	snprintf(key, sizeof(key), "%s/new.key", c->fx->dir);
	snprintf(cert, sizeof(cert), "%s/new.pem", c->fx->dir);
	assert_int_equal(scep_ra_key_new(key, 1024, &err), -1);
	assert_int_equal(scep_ra_key_new(key, 16384, &err), -1);
	assert_int_equal(access(key, F_OK), -1);
	assert_int_equal(scep_ra_key_new(key, 2048, &err), 0);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_non_null(f = fopen(key, "r"));
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "-----BEGIN PRIVATE KEY-----\n");
	rewind(f);
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(k);
	assert_true(EVP_PKEY_is_a(k, "RSA"));
	assert_int_equal(EVP_PKEY_get_bits(k), 2048);
	assert_int_not_equal(EVP_PKEY_eq(k,
				 X509_get0_pubkey(
				     scep_ra_get0_cert(c->fx->ra))),
	    1);
	EVP_PKEY_free(k);
	assert_int_equal(scep_ra_selfsigned_new(key, "New RA", 30, cert, &err),
	    0);
	if (scep_ra_load(&ra, cert, key, NULL, &err) != 0)
		fail_msg("scep_ra_load: %s", err.msg);
	scep_ra_free(ra);
	unlink(key);
	unlink(cert);
}

/* A certificate for key named cn, issued by issuer (NULL: self-signed). */
static X509 *
cert_make(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *ikey)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
			     (const unsigned char *)cn, -1, -1, 0),
	    1);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
	assert_int_equal(X509_set_subject_name(x, n), 1);
	assert_int_equal(X509_set_issuer_name(x,
			     issuer != NULL ? X509_get_subject_name(issuer) :
					      n),
	    1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	assert_true(X509_sign(x, ikey != NULL ? ikey : key, EVP_sha256()) > 0);
	X509_NAME_free(n);
	return x;
}

/* The subject CN of the i-th certificate of sk. */
static const char *
sk_cn(const STACK_OF(X509) *sk, int i)
{
	static char cn[64];

	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(
						  sk_X509_value(sk, i)),
			NID_commonName, cn, sizeof(cn)) > 0);
	return cn;
}

/*
 * The CA certificates a CertRep carries with the leaf (README "How an
 * enrollment works", 6): from [ra] ca_chain, the leaf's issuer and the
 * intermediates above it, not the self-signed root; the root itself when
 * it issued the leaf; none for an issuer the chain does not name.
 */
static void
test_ra_issuers(void **state)
{
	struct rep_ctx *c = *state;
	EVP_PKEY *k = c->fx->key;
	X509 *root, *mid, *iss, *leaf, *direct, *stray;
	STACK_OF(X509) *sk;
	struct scep_ra *ra = NULL;
	struct gw_err err;
	char path[160];
	FILE *f;

	root = cert_make(k, "Root", NULL, NULL);
	mid = cert_make(k, "Intermediate", root, k);
	iss = cert_make(k, "Issuing", mid, k);
	leaf = cert_make(k, "leaf", iss, k);
	direct = cert_make(k, "direct", root, k);
	stray = cert_make(k, "stray", c->fx->signer, k);
	snprintf(path, sizeof(path), "%s/chain3.pem", c->fx->dir);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(PEM_write_X509(f, iss), 1);
	assert_int_equal(PEM_write_X509(f, mid), 1);
	assert_int_equal(PEM_write_X509(f, root), 1);
	fclose(f);
	assert_int_equal(scep_ra_load(&ra, c->fx->ra_cert, c->fx->ra_key, path,
			     &err),
	    0);
	assert_non_null(sk = scep_ra_issuers_new(ra, leaf));
	assert_int_equal(sk_X509_num(sk), 2);
	assert_string_equal(sk_cn(sk, 0), "Issuing");
	assert_string_equal(sk_cn(sk, 1), "Intermediate");
	sk_X509_free(sk);
	assert_non_null(sk = scep_ra_issuers_new(ra, direct));
	assert_int_equal(sk_X509_num(sk), 1);
	assert_string_equal(sk_cn(sk, 0), "Root");
	sk_X509_free(sk);
	assert_non_null(sk = scep_ra_issuers_new(ra, stray));
	assert_int_equal(sk_X509_num(sk), 0);
	sk_X509_free(sk);
	scep_ra_free(ra);
	unlink(path);
	X509_free(root);
	X509_free(mid);
	X509_free(iss);
	X509_free(leaf);
	X509_free(direct);
	X509_free(stray);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_success_matrix),
		cmocka_unit_test(test_crl_bag),
		cmocka_unit_test(test_crl_bag_layout),
		cmocka_unit_test(test_failure),
		cmocka_unit_test(test_pending),
		cmocka_unit_test(test_empty_content_layout),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_cacert_bag),
		cmocka_unit_test(test_ra_mismatch),
		cmocka_unit_test(test_ra_key_new),
		cmocka_unit_test(test_ra_issuers),
	};

	return cmocka_run_group_tests(tests, ctx_setup, ctx_teardown);
}
