/*
 * Test-side SCEP client: builds requests as real clients do (any cipher,
 * digest and key transport, DER or BER) and checks CertReps as strictly
 * as sscep and certmonger do (PrintableString attributes, matching
 * transactionID and recipientNonce, a fresh 16-byte senderNonce).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "gw_err.h"
#include "secure.h"
#include "scep.h"
#include "scep_int.h"
#include "scep_client.h"

/* One algorithm name as scepreq spells it. */
struct client_alg {
	const char *name;
	int nid;
};

static const struct client_alg client_ciphers[] = {
	{ "aes128", NID_aes_128_cbc },
	{ "aes192", NID_aes_192_cbc },
	{ "aes256", NID_aes_256_cbc },
	{ "des3", NID_des_ede3_cbc },
	{ "des", NID_des_cbc },
};

static const struct client_alg client_digests[] = {
	{ "sha1", NID_sha1 },
	{ "sha224", NID_sha224 },
	{ "sha256", NID_sha256 },
	{ "sha384", NID_sha384 },
	{ "sha512", NID_sha512 },
	{ "md5", NID_md5 },
};

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Looks a name up in a table; NID_undef if absent. */
static int
alg_nid(const struct client_alg *t, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return t[i].nid;
	return NID_undef;
}

/* Looks a NID up in a table; "unknown" if absent. */
static const char *
alg_name(const struct client_alg *t, size_t n, int nid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].nid == nid)
			return t[i].name;
	return "unknown";
}

/* The NID for a cipher name (aes128 ... des), or NID_undef. */
int
scep_client_cipher_nid(const char *name)
{
	return alg_nid(client_ciphers, NITEMS(client_ciphers), name);
}

/* The NID for a digest name (sha1 ... sha512, md5), or NID_undef. */
int
scep_client_digest_nid(const char *name)
{
	return alg_nid(client_digests, NITEMS(client_digests), name);
}

/* The scepreq name of a cipher NID. */
const char *
scep_client_cipher_name(int nid)
{
	return alg_name(client_ciphers, NITEMS(client_ciphers), nid);
}

/* The scepreq name of a digest NID. */
const char *
scep_client_digest_name(int nid)
{
	return alg_name(client_digests, NITEMS(client_digests), nid);
}

/*
 * A new key: EC on P-256 when ec is true, else RSA of bits bits (0:
 * 2048). Caller frees with EVP_PKEY_free(); NULL on failure.
 */
EVP_PKEY *
scep_client_key_new(bool ec, int bits)
{
	if (ec)
		return EVP_EC_gen("P-256");
	return EVP_RSA_gen(bits == 0 ? 2048u : (unsigned)bits);
}

/* A name with one CN; caller frees. */
static X509_NAME *
client_name_new(const char *cn)
{
	X509_NAME *n;

	if ((n = X509_NAME_new()) == NULL)
		return NULL;
	if (X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8,
		(const unsigned char *)cn, -1, -1, 0) != 1) {
		X509_NAME_free(n);
		return NULL;
	}
	return n;
}

/* Adds a subjectAltName rfc822Name request extension; 0 or -1. */
static int
csr_email_add(X509_REQ *req, const char *email)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_EXTENSION *ext;
	char value[512];
	int rc = -1;

	if ((size_t)snprintf(value, sizeof(value), "email:%s", email) >=
	    sizeof(value))
		return -1;
	if ((ext = X509V3_EXT_nconf_nid(NULL, NULL, NID_subject_alt_name,
		 value)) == NULL)
		return -1;
	if ((exts = sk_X509_EXTENSION_new_null()) != NULL &&
	    sk_X509_EXTENSION_push(exts, ext) != 0) {
		ext = NULL;
		if (X509_REQ_add_extensions(req, exts) == 1)
			rc = 0;
	}
	X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

/*
 * A PKCS#10 request signed with SHA-256: subject CN=cn, optional e-mail
 * SAN, optional challengePassword (PrintableString when it fits, else
 * UTF8String). Caller frees with X509_REQ_free(); NULL on failure.
 */
X509_REQ *
scep_client_csr_new(EVP_PKEY *key, const char *cn, const char *email,
    const char *challenge)
{
	X509_NAME *name = NULL;
	X509_REQ *req;
	int type;

	if ((req = X509_REQ_new()) == NULL)
		return NULL;
	if ((name = client_name_new(cn)) == NULL ||
	    X509_REQ_set_version(req, 0) != 1 ||
	    X509_REQ_set_subject_name(req, name) != 1 ||
	    X509_REQ_set_pubkey(req, key) != 1)
		goto err;
	if (email != NULL && csr_email_add(req, email) == -1)
		goto err;
	if (challenge != NULL) {
		type = ASN1_PRINTABLE_type((const unsigned char *)challenge,
			   -1) == V_ASN1_PRINTABLESTRING ?
		    MBSTRING_ASC :
		    MBSTRING_UTF8;
		if (X509_REQ_add1_attr_by_NID(req, NID_pkcs9_challengePassword,
			type, (const unsigned char *)challenge, -1) != 1)
			goto err;
	}
	if (X509_REQ_sign(req, key, EVP_sha256()) <= 0)
		goto err;
	X509_NAME_free(name);
	return req;
err:
	X509_NAME_free(name);
	X509_REQ_free(req);
	return NULL;
}

/*
 * A self-signed signer certificate for key (CN=cn, valid for a day, a
 * random serial). Caller frees with X509_free(); NULL on failure.
 */
X509 *
scep_client_selfsigned_new(EVP_PKEY *key, const char *cn)
{
	X509_NAME *name = NULL;
	uint8_t rnd[12];
	BIGNUM *bn = NULL;
	X509 *x;

	if ((x = X509_new()) == NULL)
		return NULL;
	if (gw_random_bytes(rnd, sizeof(rnd)) == -1)
		goto err;
	rnd[0] = (uint8_t)((rnd[0] & 0x7f) | 0x01);
	if ((name = client_name_new(cn)) == NULL ||
	    (bn = BN_bin2bn(rnd, sizeof(rnd), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    X509_set_version(x, 2) != 1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL ||
	    X509_set_pubkey(x, key) != 1 ||
	    X509_sign(x, key, EVP_sha256()) <= 0)
		goto err;
	BN_free(bn);
	X509_NAME_free(name);
	return x;
err:
	BN_free(bn);
	X509_NAME_free(name);
	X509_free(x);
	return NULL;
}

/*
 * Decodes a GetCACert reply: a certs-only PKCS#7 bag, or one DER
 * certificate. On success *certs holds them in order (caller frees with
 * sk_X509_pop_free(..., X509_free)).
 */
int
scep_client_bag_parse(const uint8_t *der, size_t len, STACK_OF(X509) **certs,
    struct gw_err *err)
{
	const unsigned char *p = der;
	STACK_OF(X509) *sk = NULL;
	PKCS7 *p7 = NULL;
	X509 *x = NULL;
	int i, rc = -1;

	*certs = NULL;
	if (len > INT_MAX || (sk = sk_X509_new_null()) == NULL)
		goto out;
	if ((p7 = d2i_PKCS7(NULL, &p, (long)len)) != NULL) {
		if (!PKCS7_type_is_signed(p7) || p7->d.sign->cert == NULL)
			goto out;
		for (i = 0; i < sk_X509_num(p7->d.sign->cert); i++) {
			x = sk_X509_value(p7->d.sign->cert, i);
			if (X509_up_ref(x) != 1 || sk_X509_push(sk, x) == 0)
				goto out;
		}
	} else {
		p = der;
		if ((x = d2i_X509(NULL, &p, (long)len)) == NULL ||
		    sk_X509_push(sk, x) == 0)
			goto out;
	}
	x = NULL;
	if (sk_X509_num(sk) == 0)
		goto out;
	*certs = sk;
	sk = NULL;
	rc = 0;
out:
	if (rc == -1)
		gw_err_set_ossl(err, 0,
		    "GetCACert reply is not a certificate bag");
	PKCS7_free(p7);
	sk_X509_pop_free(sk, X509_free);
	return rc;
}

/*
 * Decodes the CRLs of a degenerate SignedData (a GetCRL reply's bag,
 * RFC 8894 3.3.4). On success *crls holds them in order, possibly none
 * (caller frees with sk_X509_CRL_pop_free(..., X509_CRL_free)); -1 with
 * err set when der is not a SignedData.
 */
int
scep_client_crl_bag_parse(const uint8_t *der, size_t len,
    STACK_OF(X509_CRL) **crls, struct gw_err *err)
{
	const unsigned char *p = der;
	STACK_OF(X509_CRL) *sk = NULL;
	X509_CRL *crl;
	PKCS7 *p7 = NULL;
	int i, rc = -1;

	*crls = NULL;
	if (len > INT_MAX || (sk = sk_X509_CRL_new_null()) == NULL ||
	    (p7 = d2i_PKCS7(NULL, &p, (long)len)) == NULL ||
	    !PKCS7_type_is_signed(p7))
		goto out;
	for (i = 0;
	     p7->d.sign->crl != NULL && i < sk_X509_CRL_num(p7->d.sign->crl);
	     i++) {
		crl = sk_X509_CRL_value(p7->d.sign->crl, i);
		if (X509_CRL_up_ref(crl) != 1)
			goto out;
		if (sk_X509_CRL_push(sk, crl) == 0) {
			X509_CRL_free(crl);
			goto out;
		}
	}
	*crls = sk;
	sk = NULL;
	rc = 0;
out:
	if (rc == -1)
		gw_err_set_ossl(err, 0, "reply bag is not a SignedData");
	PKCS7_free(p7);
	sk_X509_CRL_pop_free(sk, X509_CRL_free);
	return rc;
}

/*
 * The RA certificate to encrypt to: the first non-CA certificate with
 * keyEncipherment, else the first certificate. Borrowed from certs.
 */
X509 *
scep_client_recipient_pick(const STACK_OF(X509) *certs)
{
	X509 *x;
	int i;

	for (i = 0; i < sk_X509_num(certs); i++) {
		x = sk_X509_value(certs, i);
		if ((X509_get_key_usage(x) & KU_KEY_ENCIPHERMENT) != 0 &&
		    X509_check_ca(x) == 0)
			return x;
	}
	return sk_X509_num(certs) > 0 ? sk_X509_value(certs, 0) : NULL;
}

/* DER SEQUENCE { a, b } of two DER encodings; malloc'd; 0 or -1. */
static int
seq_der(const uint8_t *a, int alen, const uint8_t *b, int blen, uint8_t **out,
    int *outlen)
{
	unsigned char *p;
	int body = alen + blen, total;

	total = ASN1_object_size(1, body, V_ASN1_SEQUENCE);
	if (total <= 0 || (*out = malloc((size_t)total)) == NULL)
		return -1;
	p = *out;
	ASN1_put_object(&p, 1, body, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
	memcpy(p, a, (size_t)alen);
	memcpy(p + alen, b, (size_t)blen);
	*outlen = total;
	return 0;
}

/* The DER messageData for the request type; malloc'd; 0 or -1. */
static int
req_content_der(const struct scep_client_req *req, uint8_t **out, int *len)
{
	unsigned char *a = NULL, *b = NULL, *p;
	int alen, blen = 0, rc = -1;

	*out = NULL;
	if (req->type == SCEP_MT_PKCSREQ || req->type == SCEP_MT_RENEWALREQ) {
		if (req->csr == NULL ||
		    (*len = i2d_X509_REQ(req->csr, NULL)) <= 0 ||
		    (*out = malloc((size_t)*len)) == NULL)
			return -1;
		p = *out;
		i2d_X509_REQ(req->csr, &p);
		return 0;
	}
	if (req->issuer == NULL || (alen = i2d_X509_NAME(req->issuer, &a)) <= 0)
		goto out;
	if (req->type == SCEP_MT_CERTPOLL && req->subject != NULL)
		blen = i2d_X509_NAME(req->subject, &b);
	else if (req->type != SCEP_MT_CERTPOLL && req->serial != NULL)
		blen = i2d_ASN1_INTEGER(req->serial, &b);
	if (blen <= 0)
		goto out;
	rc = seq_der(a, alen, b, blen, out, len);
out:
	OPENSSL_free(a);
	OPENSSL_free(b);
	return rc;
}

/* Encrypts the messageData to the RA; returns the EnvelopedData DER. */
static int
req_envelope(const struct scep_client_req *req, const uint8_t *in, int inlen,
    uint8_t **der, size_t *len)
{
	const unsigned int flags = CMS_BINARY | CMS_PARTIAL;
	CMS_ContentInfo *env = NULL;
	CMS_RecipientInfo *ri;
	EVP_CIPHER *cipher = NULL;
	EVP_PKEY_CTX *pctx;
	BIO *bio = NULL;
	int rc = -1, nid, i;

	nid = req->cipher_nid == 0 ? NID_aes_128_cbc : req->cipher_nid;
	if ((cipher = EVP_CIPHER_fetch(NULL, OBJ_nid2sn(nid), NULL)) == NULL ||
	    (env = CMS_encrypt(NULL, NULL, cipher, flags)) == NULL ||
	    (ri = CMS_add1_recipient_cert(env, req->recipient,
		 flags | (req->oaep ? CMS_KEY_PARAM : 0))) == NULL)
		goto out;
	if (req->oaep &&
	    ((pctx = CMS_RecipientInfo_get0_pkey_ctx(ri)) == NULL ||
		EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) <=
		    0))
		goto out;
	for (i = 0; i < sk_X509_num(req->add_recipients); i++)
		if (CMS_add1_recipient_cert(env,
			sk_X509_value(req->add_recipients, i), flags) == NULL)
			goto out;
	if ((bio = BIO_new_mem_buf(in, inlen)) == NULL ||
	    CMS_final(env, bio, NULL, CMS_BINARY) != 1 ||
	    scep_cms_der(env, der, len) == -1)
		goto out;
	rc = 0;
out:
	BIO_free(bio);
	CMS_ContentInfo_free(env);
	EVP_CIPHER_free(cipher);
	return rc;
}

/* Signs the envelope with the SCEP attributes into out; 0 or -1. */
static int
req_sign(struct scep_client_req *req, const uint8_t *env, size_t envlen,
    struct buf *out)
{
	unsigned int flags = CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP;
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si;
	const EVP_MD *md;
	BIO *in = NULL, *mem = NULL;
	char type[8];
	char *p;
	long n;
	int rc = -1, i;

	if (req->ber)
		flags |= CMS_STREAM;
	md = EVP_get_digestbynid(
	    req->digest_nid == 0 ? NID_sha256 : req->digest_nid);
	snprintf(type, sizeof(type), "%d", req->type);
	if (md == NULL ||
	    gw_random_bytes(req->nonce, sizeof(req->nonce)) == -1 ||
	    (cms = CMS_sign(NULL, NULL, NULL, NULL, flags)) == NULL ||
	    (si = CMS_add1_signer(cms, req->signer, req->key, md, flags)) ==
		NULL ||
	    scep_attr_add_string(si, SCEP_ATTR_TXID, req->txid) == -1 ||
	    scep_attr_add_string(si, SCEP_ATTR_MSGTYPE, type) == -1 ||
	    scep_attr_add_octets(si, SCEP_ATTR_SENDERNONCE, req->nonce,
		sizeof(req->nonce)) == -1)
		goto out;
	for (i = 0; i < sk_X509_num(req->add_certs); i++)
		if (CMS_add1_cert(cms, sk_X509_value(req->add_certs, i)) != 1)
			goto out;
	if ((in = BIO_new_mem_buf(env, (int)envlen)) == NULL ||
	    (mem = BIO_new(BIO_s_mem())) == NULL)
		goto out;
	/* Streaming writes BER with indefinite lengths, as iOS and jscep. */
	if (req->ber ? i2d_CMS_bio_stream(mem, cms, in, (int)flags) != 1 :
		       (CMS_final(cms, in, NULL, CMS_BINARY) != 1 ||
			   i2d_CMS_bio(mem, cms) != 1))
		goto out;
	if ((n = BIO_get_mem_data(mem, &p)) <= 0 ||
	    buf_add(out, p, (size_t)n) == -1)
		goto out;
	rc = 0;
out:
	BIO_free(in);
	BIO_free(mem);
	CMS_ContentInfo_free(cms);
	return rc;
}

/*
 * Builds a pkiMessage for req into out (initialised here) and records
 * the senderNonce in req->nonce. Returns 0, or -1 with err set.
 */
int
scep_client_msg_build(struct scep_client_req *req, struct buf *out,
    struct gw_err *err)
{
	uint8_t *content = NULL, *env = NULL;
	size_t envlen;
	int clen, rc = -1;

	buf_init(out, 0);
	if (scep_oids_init() == -1 || req->txid == NULL ||
	    req->signer == NULL || req->key == NULL || req->recipient == NULL)
		goto out;
	if (req_content_der(req, &content, &clen) == -1 ||
	    req_envelope(req, content, clen, &env, &envlen) == -1 ||
	    req_sign(req, env, envlen, out) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1) {
		gw_err_set_ossl(err, 0, "building the pkiMessage");
		buf_cleanup(out);
	}
	free(content);
	free(env);
	return rc;
}

/*
 * Reads a SCEP attribute that sscep insists be a PrintableString; 0, or
 * -1 when absent, of another type, or too long.
 */
static int
rep_printable_get(CMS_SignerInfo *si, enum scep_attr a, char *out, size_t size)
{
	X509_ATTRIBUTE *at;
	ASN1_TYPE *t;
	int i;

	if ((i = CMS_signed_get_attr_by_OBJ(si, scep_attr_obj(a), -1)) < 0 ||
	    (at = CMS_signed_get_attr(si, i)) == NULL ||
	    (t = X509_ATTRIBUTE_get0_type(at, 0)) == NULL)
		return -1;
	if (a != SCEP_ATTR_FAILINFOTEXT && t->type != V_ASN1_PRINTABLESTRING)
		return -1;
	return scep_attr_get_string(si, a, out, size);
}

/* A small decimal attribute; -1 when absent or not a number. */
static int
rep_number_get(CMS_SignerInfo *si, enum scep_attr a)
{
	char s[8];
	char *end;
	long v;

	if (rep_printable_get(si, a, s, sizeof(s)) == -1)
		return -1;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < 0 || v > 99)
		return -1;
	return (int)v;
}

/* Checks the SCEP attributes against the request; 0 or -1 with err. */
static int
rep_attrs_check(CMS_SignerInfo *si, const struct scep_client_req *req,
    struct scep_client_rep *rep, struct gw_err *err)
{
	char txid[SCEP_TXID_MAX];
	uint8_t nonce[SCEP_NONCE_MAX];
	size_t len;

	if (rep_printable_get(si, SCEP_ATTR_TXID, txid, sizeof(txid)) == -1 ||
	    strcmp(txid, req->txid) != 0) {
		gw_err_set(err, 0, "CertRep transactionID missing or wrong");
		return -1;
	}
	if (rep_number_get(si, SCEP_ATTR_MSGTYPE) != SCEP_MT_CERTREP) {
		gw_err_set(err, 0, "CertRep messageType is not 3");
		return -1;
	}
	if (scep_attr_get_octets(si, SCEP_ATTR_RECIPIENTNONCE, nonce,
		sizeof(nonce), &len) == -1 ||
	    len != sizeof(req->nonce) || memcmp(nonce, req->nonce, len) != 0) {
		gw_err_set(err, 0, "CertRep recipientNonce missing or wrong");
		return -1;
	}
	if (!req->lax_sender_nonce &&
	    (scep_attr_get_octets(si, SCEP_ATTR_SENDERNONCE, nonce,
		 sizeof(nonce), &len) == -1 ||
		len != SCEP_NONCE_LEN || memcmp(nonce, req->nonce, len) == 0)) {
		gw_err_set(err, 0, "CertRep senderNonce missing or not fresh");
		return -1;
	}
	rep->status = rep_number_get(si, SCEP_ATTR_PKISTATUS);
	rep->fail = rep_number_get(si, SCEP_ATTR_FAILINFO);
	if (rep_printable_get(si, SCEP_ATTR_FAILINFOTEXT, rep->fail_text,
		sizeof(rep->fail_text)) == -1)
		rep->fail_text[0] = '\0';
	if (rep->status != SCEP_STATUS_SUCCESS &&
	    rep->status != SCEP_STATUS_FAILURE &&
	    rep->status != SCEP_STATUS_PENDING) {
		gw_err_set(err, 0, "CertRep pkiStatus missing or unknown");
		return -1;
	}
	if (rep->status == SCEP_STATUS_FAILURE &&
	    (rep->fail < 0 || rep->fail >= SCEP_FAIL__MAX)) {
		gw_err_set(err, 0, "CertRep FAILURE without a valid failInfo");
		return -1;
	}
	return 0;
}

/* The number of certificates in a PKCS#7 bag; -1 if not a bag. */
static int
bag_cert_count(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	PKCS7 *p7;
	int n = -1;

	if (len > INT_MAX || (p7 = d2i_PKCS7(NULL, &p, (long)len)) == NULL)
		return -1;
	if (PKCS7_type_is_signed(p7))
		n = p7->d.sign->cert != NULL ? sk_X509_num(p7->d.sign->cert) :
					       0;
	PKCS7_free(p7);
	return n;
}

/* Decrypts the SUCCESS envelope and reads the bag; 0 or -1 with err. */
static int
rep_envelope_open(const unsigned char *p, long len,
    const struct scep_client_req *req, struct scep_client_rep *rep,
    struct gw_err *err)
{
	CMS_ContentInfo *env = NULL;
	BIO *mem = NULL;
	char *data;
	long n;
	int rc = -1;

	if ((env = d2i_CMS_ContentInfo(NULL, &p, len)) == NULL ||
	    OBJ_obj2nid(CMS_get0_type(env)) != NID_pkcs7_enveloped) {
		gw_err_set_ossl(err, 0, "CertRep content is not EnvelopedData");
		goto out;
	}
	rep->cipher_nid = scep_env_cipher_nid(env);
	rep->oaep = scep_env_is_oaep(env, req->signer);
	if ((mem = BIO_new(BIO_s_mem())) == NULL ||
	    CMS_decrypt(env, req->key, req->signer, NULL, mem, CMS_BINARY) !=
		1 ||
	    (n = BIO_get_mem_data(mem, &data)) <= 0) {
		gw_err_set_ossl(err, 0, "decrypting the CertRep");
		goto out;
	}
	if (scep_client_crl_bag_parse((const uint8_t *)data, (size_t)n,
		&rep->crls, err) == -1)
		ERR_clear_error();
	/* A GetCRL reply holds CRLs and no certificates. */
	if (sk_X509_CRL_num(rep->crls) > 0 &&
	    bag_cert_count((const uint8_t *)data, (size_t)n) == 0) {
		rc = 0;
		goto out;
	}
	if (scep_client_bag_parse((const uint8_t *)data, (size_t)n, &rep->certs,
		err) == -1)
		goto out;
	rep->issued = sk_X509_value(rep->certs, 0);
	rc = 0;
out:
	BIO_free(mem);
	CMS_ContentInfo_free(env);
	return rc;
}

/*
 * Checks a CertRep against the request it answers: signature by ra,
 * transactionID, messageType, nonces, status. On SUCCESS decrypts the
 * bag with req->key. rep is initialised here; release it with
 * scep_client_rep_cleanup(). Returns 0 (whatever the pkiStatus), or -1
 * with err set when the reply is not acceptable.
 */
int
scep_client_rep_parse(const uint8_t *der, size_t len, X509 *ra,
    const struct scep_client_req *req, struct scep_client_rep *rep,
    struct gw_err *err)
{
	const unsigned char *p = der;
	STACK_OF(CMS_SignerInfo) *sis;
	STACK_OF(X509) *certs = NULL;
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si;
	X509_ALGOR *dig;
	const ASN1_OBJECT *obj;
	BIO *mem = NULL;
	char *data;
	long n;
	int rc = -1;

	memset(rep, 0, sizeof(*rep));
	rep->fail = -1;
	if (len > INT_MAX ||
	    (cms = d2i_CMS_ContentInfo(NULL, &p, (long)len)) == NULL ||
	    OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed ||
	    (sis = CMS_get0_SignerInfos(cms)) == NULL ||
	    sk_CMS_SignerInfo_num(sis) != 1) {
		gw_err_set_ossl(err, 0, "CertRep is not a SignedData");
		goto out;
	}
	if (OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data) {
		gw_err_set(err, 0, "CertRep eContentType is not id-data");
		goto out;
	}
	si = sk_CMS_SignerInfo_value(sis, 0);
	if ((certs = sk_X509_new_null()) == NULL ||
	    sk_X509_push(certs, ra) == 0 ||
	    (mem = BIO_new(BIO_s_mem())) == NULL ||
	    CMS_verify(cms, certs, NULL, NULL, mem,
		CMS_NO_SIGNER_CERT_VERIFY | CMS_NOINTERN | CMS_BINARY) != 1) {
		gw_err_set_ossl(err, 0, "CertRep signature");
		goto out;
	}
	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, NULL);
	X509_ALGOR_get0(&obj, NULL, NULL, dig);
	rep->digest_nid = OBJ_obj2nid(obj);
	if (rep_attrs_check(si, req, rep, err) == -1)
		goto out;
	n = BIO_get_mem_data(mem, &data);
	if (rep->status == SCEP_STATUS_SUCCESS &&
	    rep_envelope_open((const unsigned char *)data, n, req, rep, err) ==
		-1)
		goto out;
	rc = 0;
out:
	sk_X509_free(certs);
	BIO_free(mem);
	CMS_ContentInfo_free(cms);
	if (rc == -1)
		scep_client_rep_cleanup(rep);
	ERR_clear_error();
	return rc;
}

/* Frees what rep holds. */
void
scep_client_rep_cleanup(struct scep_client_rep *rep)
{
	sk_X509_pop_free(rep->certs, X509_free);
	rep->certs = NULL;
	rep->issued = NULL;
	sk_X509_CRL_pop_free(rep->crls, X509_CRL_free);
	rep->crls = NULL;
}
