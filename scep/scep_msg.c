/*
 * Incoming pkiMessage (RFC 8894 3): parse the outer SignedData and its
 * SCEP attributes, verify the signature with the embedded signer
 * certificate, and decrypt the pkcsPKIEnvelope with the RA key into a
 * PKCS#10 request, an IssuerAndSubject or an IssuerAndSerialNumber.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "gw_err.h"
#include "pubkey.h"
#include "scep.h"
#include "scep_int.h"

struct scep_msg {
	CMS_ContentInfo *cms;	       /* the outer SignedData */
	CMS_SignerInfo *si;	       /* its one signerInfo, borrowed */
	X509 *signer;		       /* the certificate si names, bare */
	X509 *keyed;		       /* its key holder (gw_x509_keyed) */
	int type;		       /* messageType, 0 if unreadable */
	bool is_data;		       /* eContentType is id-data */
	char txid[SCEP_TXID_MAX];      /* transactionID */
	uint8_t nonce[SCEP_NONCE_MAX]; /* senderNonce */
	size_t nonce_len;	       /* its length */
	int digest_nid;		       /* signerInfo digestAlgorithm */
	int cipher_nid;		       /* envelope cipher, after decrypt */
	bool oaep;		       /* RSAES-OAEP key transport */
	X509_REQ *csr;		       /* PKCSReq, RenewalReq; key bare */
	EVP_PKEY *csr_key;	       /* the CSR's public key */
	X509_NAME *issuer;	       /* CertPoll, GetCert, GetCRL */
	X509_NAME *subject;	       /* CertPoll */
	ASN1_INTEGER *serial;	       /* GetCert, GetCRL */
};

/* Reads messageType: a short decimal PrintableString. 0 if unreadable. */
static int
msg_type_read(CMS_SignerInfo *si)
{
	char s[8];
	long v = 0;
	size_t i;

	if (scep_attr_get_string(si, SCEP_ATTR_MSGTYPE, s, sizeof(s)) == -1)
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	return (int)v;
}

/* Reads the digest and SCEP attributes of the one signerInfo; 0 or -1. */
static int
msg_signer_read(struct scep_msg *m, struct gw_err *err)
{
	STACK_OF(CMS_SignerInfo) *sis;
	X509_ALGOR *dig = NULL;
	const ASN1_OBJECT *obj;

	sis = CMS_get0_SignerInfos(m->cms);
	if (sis == NULL || sk_CMS_SignerInfo_num(sis) != 1) {
		gw_err_set(err, SCEP_FAIL_BADREQUEST,
		    "pkiMessage needs exactly one signerInfo");
		return -1;
	}
	m->si = sk_CMS_SignerInfo_value(sis, 0);
	CMS_SignerInfo_get0_algs(m->si, NULL, NULL, &dig, NULL);
	if (dig != NULL) {
		X509_ALGOR_get0(&obj, NULL, NULL, dig);
		m->digest_nid = OBJ_obj2nid(obj);
	}
	if (scep_attr_get_string(m->si, SCEP_ATTR_TXID, m->txid,
		sizeof(m->txid)) == -1) {
		gw_err_set(err, SCEP_FAIL_BADREQUEST,
		    "no transactionID of printable characters");
		return -1;
	}
	if (scep_attr_get_octets(m->si, SCEP_ATTR_SENDERNONCE, m->nonce,
		sizeof(m->nonce), &m->nonce_len) == -1 ||
	    m->nonce_len < SCEP_NONCE_MIN) {
		gw_err_set(err, SCEP_FAIL_BADREQUEST,
		    "no usable senderNonce (8 to 32 bytes)");
		return -1;
	}
	m->type = msg_type_read(m->si);
	if ((m->signer = scep_signer_find(m->cms, m->si)) == NULL) {
		gw_err_set(err, SCEP_FAIL_BADREQUEST,
		    "the signer certificate is not in the message");
		return -1;
	}
	/* The stand-in must still be the certificate si names. */
	if ((m->keyed = gw_x509_keyed(m->signer)) != NULL &&
	    CMS_SignerInfo_cert_cmp(m->si, m->keyed) != 0) {
		X509_free(m->keyed);
		m->keyed = gw_x509_full(m->signer);
	}
	if (m->keyed == NULL) {
		gw_err_set_ossl(err, SCEP_FAIL_BADREQUEST,
		    "the signer certificate's public key is unusable");
		return -1;
	}
	return 0;
}

/*
 * Parses a pkiMessage (DER or BER, including indefinite lengths). Returns
 * -1 only when nothing answerable exists: not a SignedData, no single
 * signerInfo, no transactionID, no senderNonce, or no signer certificate;
 * the caller then answers HTTP 400. An unknown messageType is left for
 * scep_msg_decrypt() to refuse with a CertRep. On success *out is a new
 * message (free with scep_msg_free()); on failure *out is NULL.
 */
int
scep_msg_parse(struct scep_msg **out, const uint8_t *der, size_t len,
    struct gw_err *err)
{
	struct scep_msg *m = NULL;
	const unsigned char *p = der;
	const ASN1_OBJECT *ctype;
	int rc = -1;

	*out = NULL;
	ERR_clear_error();
	if (scep_oids_init() == -1) {
		gw_err_set_ossl(err, SCEP_FAIL_BADREQUEST, "scep_init");
		goto out;
	}
	if (der == NULL || len == 0 || len > SCEP_MSG_MAX) {
		gw_err_set(err, SCEP_FAIL_BADREQUEST,
		    "pkiMessage empty or larger than %d bytes", SCEP_MSG_MAX);
		goto out;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		gw_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if ((m->cms = gw_cms_d2i_bare(&p, (long)len)) == NULL) {
		gw_err_set_ossl(err, SCEP_FAIL_BADREQUEST,
		    "pkiMessage is not CMS");
		goto out;
	}
	if (OBJ_obj2nid(CMS_get0_type(m->cms)) != NID_pkcs7_signed) {
		gw_err_set(err, SCEP_FAIL_BADREQUEST,
		    "pkiMessage is not a SignedData");
		goto out;
	}
	ctype = CMS_get0_eContentType(m->cms);
	m->is_data = ctype != NULL && OBJ_obj2nid(ctype) == NID_pkcs7_data;
	if (msg_signer_read(m, err) == -1)
		goto out;
	*out = m;
	m = NULL;
	rc = 0;
out:
	ERR_clear_error();
	scep_msg_free(m);
	return rc;
}

/*
 * Verifies the CMS signature with the embedded signer certificate and
 * nothing else: no chain, no validity, no extension checks (clients sign
 * with self-signed certificates; Windows marks their AKI critical). MD5
 * is refused. Returns 0, or -1 with err->code badAlg or badMessageCheck.
 */
int
scep_msg_verify(struct scep_msg *m, struct gw_err *err)
{
	STACK_OF(X509) *certs = NULL;
	int rc = -1;

	ERR_clear_error();
	switch (m->digest_nid) {
	case NID_sha1:
	case NID_sha224:
	case NID_sha256:
	case NID_sha384:
	case NID_sha512:
		break;
	default:
		gw_err_set(err, SCEP_FAIL_BADALG, "digest %s is not accepted",
		    OBJ_nid2sn(m->digest_nid));
		goto out;
	}
	if ((certs = sk_X509_new_null()) == NULL ||
	    sk_X509_push(certs, m->keyed) == 0) {
		gw_err_set(err, SCEP_FAIL_BADMESSAGECHECK, "out of memory");
		goto out;
	}
	if (CMS_verify(m->cms, certs, NULL, NULL, NULL,
		CMS_NO_SIGNER_CERT_VERIFY | CMS_NOINTERN | CMS_BINARY) != 1) {
		gw_err_set_ossl(err, SCEP_FAIL_BADMESSAGECHECK,
		    "pkiMessage signature");
		goto out;
	}
	rc = 0;
out:
	/* The stack only borrowed m->keyed. */
	sk_X509_free(certs);
	ERR_clear_error();
	return rc;
}

/*
 * Checks the envelope's content cipher against the policy. DES needs
 * [scep] allow_des; anything but AES-CBC and 3DES-CBC is badAlg.
 */
static int
msg_cipher_check(int nid, const struct scep_policy *pol, struct gw_err *err)
{
	switch (nid) {
	case NID_aes_128_cbc:
	case NID_aes_192_cbc:
	case NID_aes_256_cbc:
	case NID_des_ede3_cbc:
		return 0;
	case NID_des_cbc:
		if (pol->allow_des)
			return 0;
		gw_err_set(err, SCEP_FAIL_BADALG,
		    "single DES request refused; set [scep] allow_des = yes "
		    "to accept it");
		return -1;
	default:
		gw_err_set(err, SCEP_FAIL_BADALG,
		    "content cipher %s is not supported", OBJ_nid2sn(nid));
		return -1;
	}
}

/*
 * Reads the outer SEQUENCE header of the decrypted content and returns
 * the number of bytes its contents may span (BER indefinite: the rest).
 */
static long
msg_seq_enter(const unsigned char **p, long len)
{
	const unsigned char *q = *p;
	long n;
	int tag, cls, r;

	r = ASN1_get_object(&q, &n, &tag, &cls, len);
	if ((r & 0x80) != 0 || tag != V_ASN1_SEQUENCE ||
	    cls != V_ASN1_UNIVERSAL || (r & V_ASN1_CONSTRUCTED) == 0)
		return -1;
	if ((r & 0x01) != 0)
		n = len - (long)(q - *p);
	*p = q;
	return n;
}

/*
 * Decodes the inner content of a PKCSReq or RenewalReq; 0 or -1. The
 * request's key is not decoded with it (pubkey.h): when it is the signer
 * certificate's key, as in every PKCSReq, that decoded key is shared.
 */
static int
msg_csr_read(struct scep_msg *m, const unsigned char *p, long len,
    struct gw_err *err)
{
	const X509_PUBKEY *spki;

	if ((m->csr = gw_req_d2i_bare(&p, len)) == NULL) {
		gw_err_set_ossl(err, SCEP_FAIL_BADREQUEST,
		    "the envelope does not hold a PKCS#10 request");
		return -1;
	}
	spki = X509_REQ_get_X509_PUBKEY(m->csr);
	if (m->keyed != NULL &&
	    gw_spki_eq(spki, X509_get_X509_PUBKEY(m->signer)))
		m->csr_key = X509_get_pubkey(m->keyed);
	if (m->csr_key == NULL)
		m->csr_key = gw_spki_pkey(spki);
	if (m->csr_key == NULL || X509_REQ_verify(m->csr, m->csr_key) != 1) {
		gw_err_set_ossl(err, SCEP_FAIL_BADMESSAGECHECK,
		    "the PKCS#10 self-signature does not verify");
		return -1;
	}
	return 0;
}

/* Decodes IssuerAndSubject (CertPoll); 0 or -1. */
static int
msg_ias_read(struct scep_msg *m, const unsigned char *p, long len,
    struct gw_err *err)
{
	const unsigned char *end;
	long n;

	if ((n = msg_seq_enter(&p, len)) == -1)
		goto bad;
	end = p + n;
	if ((m->issuer = d2i_X509_NAME(NULL, &p, end - p)) == NULL ||
	    (m->subject = d2i_X509_NAME(NULL, &p, end - p)) == NULL)
		goto bad;
	return 0;
bad:
	gw_err_set_ossl(err, SCEP_FAIL_BADREQUEST,
	    "the envelope does not hold an IssuerAndSubject");
	return -1;
}

/* Decodes IssuerAndSerialNumber (GetCert, GetCRL); 0 or -1. */
static int
msg_iasn_read(struct scep_msg *m, const unsigned char *p, long len,
    struct gw_err *err)
{
	const unsigned char *end;
	long n;

	if ((n = msg_seq_enter(&p, len)) == -1)
		goto bad;
	end = p + n;
	if ((m->issuer = d2i_X509_NAME(NULL, &p, end - p)) == NULL ||
	    (m->serial = d2i_ASN1_INTEGER(NULL, &p, end - p)) == NULL)
		goto bad;
	return 0;
bad:
	gw_err_set_ossl(err, SCEP_FAIL_BADREQUEST,
	    "the envelope does not hold an IssuerAndSerialNumber");
	return -1;
}

/* Decodes the decrypted messageData according to the messageType. */
static int
msg_content_read(struct scep_msg *m, const unsigned char *p, long len,
    struct gw_err *err)
{
	switch (m->type) {
	case SCEP_MT_PKCSREQ:
	case SCEP_MT_RENEWALREQ:
		return msg_csr_read(m, p, len, err);
	case SCEP_MT_CERTPOLL:
		return msg_ias_read(m, p, len, err);
	default:
		return msg_iasn_read(m, p, len, err);
	}
}

/*
 * Checks the counts an attacker controls against the policy: the
 * certificates of the outer SignedData and the RecipientInfos of the
 * envelope. Returns 0, or -1 with err->code badRequest.
 */
static int
msg_counts_check(struct scep_msg *m, CMS_ContentInfo *env,
    const struct scep_policy *pol, struct gw_err *err)
{
	STACK_OF(CMS_RecipientInfo) *ris;
	STACK_OF(X509) *certs;
	int n;

	certs = CMS_get1_certs(m->cms);
	n = certs != NULL ? sk_X509_num(certs) : 0;
	sk_X509_pop_free(certs, X509_free);
	if (pol->max_certs > 0 && n > (int)pol->max_certs) {
		gw_err_set(err, SCEP_FAIL_BADREQUEST,
		    "pkiMessage carries %d certificates; [scep] "
		    "max_certificates is %u",
		    n, pol->max_certs);
		return -1;
	}
	ris = CMS_get0_RecipientInfos(env);
	n = ris != NULL ? sk_CMS_RecipientInfo_num(ris) : 0;
	if (n < 1 ||
	    (pol->max_recipients > 0 && n > (int)pol->max_recipients)) {
		gw_err_set(err, SCEP_FAIL_BADREQUEST,
		    "pkcsPKIEnvelope has %d RecipientInfos; 1 to %u accepted "
		    "([scep] max_recipient_infos)",
		    n, pol->max_recipients);
		return -1;
	}
	return 0;
}

/* Decodes the pkcsPKIEnvelope ContentInfo; NULL with err set. */
static CMS_ContentInfo *
msg_env_read(struct scep_msg *m, struct gw_err *err)
{
	ASN1_OCTET_STRING **pos;
	CMS_ContentInfo *env;
	const unsigned char *p;

	pos = CMS_get0_content(m->cms);
	if (!m->is_data || pos == NULL || *pos == NULL ||
	    ASN1_STRING_length(*pos) <= 0) {
		gw_err_set(err, SCEP_FAIL_BADREQUEST,
		    "the pkiMessage carries no id-data pkcsPKIEnvelope");
		return NULL;
	}
	p = ASN1_STRING_get0_data(*pos);
	env = d2i_CMS_ContentInfo(NULL, &p, ASN1_STRING_length(*pos));
	if (env == NULL ||
	    OBJ_obj2nid(CMS_get0_type(env)) != NID_pkcs7_enveloped) {
		gw_err_set_ossl(err, SCEP_FAIL_BADREQUEST,
		    "the pkcsPKIEnvelope is not an EnvelopedData");
		CMS_ContentInfo_free(env);
		return NULL;
	}
	return env;
}

/*
 * Decrypts the pkcsPKIEnvelope with the RA key and decodes its content
 * for the messageType: the PKCS#10 request (whose self-signature is
 * checked) for PKCSReq and RenewalReq, IssuerAndSubject for CertPoll,
 * IssuerAndSerialNumber for GetCert and GetCRL. Records the content
 * cipher and key transport for the reply to mirror. Returns 0, or -1 with
 * err->code the failInfo to answer: badAlg (cipher refused), badRequest
 * (unknown type, malformed or oversize content) or badMessageCheck.
 */
int
scep_msg_decrypt(struct scep_msg *m, const struct scep_ra *ra,
    const struct scep_policy *pol, struct gw_err *err)
{
	CMS_ContentInfo *env = NULL;
	BIO *bio = NULL;
	char *p;
	long n;
	int rc = -1;

	ERR_clear_error();
	if (m->type != SCEP_MT_PKCSREQ && m->type != SCEP_MT_RENEWALREQ &&
	    m->type != SCEP_MT_CERTPOLL && m->type != SCEP_MT_GETCERT &&
	    m->type != SCEP_MT_GETCRL) {
		gw_err_set(err, SCEP_FAIL_BADREQUEST,
		    "messageType %d is not supported", m->type);
		goto out;
	}
	if ((env = msg_env_read(m, err)) == NULL)
		goto out;
	if (msg_counts_check(m, env, pol, err) == -1)
		goto out;
	m->cipher_nid = scep_env_cipher_nid(env);
	m->oaep = scep_env_is_oaep(env, ra->cert);
	if (msg_cipher_check(m->cipher_nid, pol, err) == -1)
		goto out;
	if ((bio = BIO_new(BIO_s_mem())) == NULL) {
		gw_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (scep_ra_decrypt(ra, env, bio, err) == -1)
		goto out;
	n = BIO_get_mem_data(bio, &p);
	if (n <= 0 ||
	    (pol->max_csr_bytes > 0 && (size_t)n > pol->max_csr_bytes)) {
		gw_err_set(err, SCEP_FAIL_BADREQUEST,
		    "messageData empty or larger than %zu bytes",
		    pol->max_csr_bytes);
		goto out;
	}
	if (msg_content_read(m, (const unsigned char *)p, n, err) == -1)
		goto out;
	rc = 0;
out:
	BIO_free(bio);
	CMS_ContentInfo_free(env);
	ERR_clear_error();
	return rc;
}

/* Frees a message; accepts NULL. */
void
scep_msg_free(struct scep_msg *m)
{
	if (m == NULL)
		return;
	CMS_ContentInfo_free(m->cms);
	X509_free(m->signer);
	X509_free(m->keyed);
	X509_REQ_free(m->csr);
	EVP_PKEY_free(m->csr_key);
	X509_NAME_free(m->issuer);
	X509_NAME_free(m->subject);
	ASN1_INTEGER_free(m->serial);
	free(m);
}

/* The messageType, or 0 when it was missing or not a number. */
int
scep_msg_type(const struct scep_msg *m)
{
	return m->type;
}

/* The transactionID as a C string, borrowed. */
const char *
scep_msg_txid(const struct scep_msg *m)
{
	return m->txid;
}

/* The senderNonce and its length, borrowed. */
const uint8_t *
scep_msg_sender_nonce(const struct scep_msg *m, size_t *len)
{
	*len = m->nonce_len;
	return m->nonce;
}

/*
 * The signer certificate as the message carries it, borrowed. Its key is
 * not decoded (pubkey.h): X509_get0_pubkey() on it is NULL; verifying it
 * as a chain's leaf needs gw_x509_full(). For its key, see
 * scep_msg_get0_signer_keyed().
 */
const X509 *
scep_msg_get0_signer(const struct scep_msg *m)
{
	return m->signer;
}

/*
 * A certificate with the signer's issuer, serial number, subject and
 * public key, borrowed: where a CertRep is encrypted to. Possibly a
 * stand-in without extensions or signature (gw_x509_keyed()).
 */
const X509 *
scep_msg_get0_signer_keyed(const struct scep_msg *m)
{
	return m->keyed;
}

/* The PKCS#10 request after decrypt (PKCSReq, RenewalReq), or NULL. */
const X509_REQ *
scep_msg_get0_csr(const struct scep_msg *m)
{
	return m->csr;
}

/* The PKCS#10 request's public key after decrypt, or NULL. The request
 * itself is decoded without it (pubkey.h): use this, not
 * X509_REQ_get0_pubkey(). */
const EVP_PKEY *
scep_msg_get0_csr_key(const struct scep_msg *m)
{
	return m->csr_key;
}

/* A new reference to the CSR's public key (caller frees), or NULL. */
EVP_PKEY *
scep_msg_get1_csr_key(const struct scep_msg *m)
{
	if (m->csr_key == NULL || EVP_PKEY_up_ref(m->csr_key) != 1)
		return NULL;
	return m->csr_key;
}

/* The issuer name after decrypt (CertPoll, GetCert, GetCRL), or NULL. */
const X509_NAME *
scep_msg_get0_issuer(const struct scep_msg *m)
{
	return m->issuer;
}

/* The subject name after decrypt (CertPoll), or NULL. */
const X509_NAME *
scep_msg_get0_subject(const struct scep_msg *m)
{
	return m->subject;
}

/* The serial number after decrypt (GetCert, GetCRL), or NULL. */
const ASN1_INTEGER *
scep_msg_get0_serial(const struct scep_msg *m)
{
	return m->serial;
}

/* The NID of the signerInfo's digest algorithm. */
int
scep_msg_digest_nid(const struct scep_msg *m)
{
	return m->digest_nid;
}

/* The NID of the envelope's content cipher (after decrypt), or 0. */
int
scep_msg_cipher_nid(const struct scep_msg *m)
{
	return m->cipher_nid;
}

/*
 * Whether the signer certificate carries the public key of the PKCS#10
 * request (after decrypt). RFC 8894 2.3: the self-signed signer of a
 * PKCSReq holds the key being certified; only an authenticated renewal
 * is signed by another key. False when there is no request.
 */
bool
scep_msg_signer_matches_csr(const struct scep_msg *m)
{
	EVP_PKEY *a, *b;

	if (m->csr == NULL || m->keyed == NULL)
		return false;
	a = X509_get0_pubkey(m->keyed);
	b = m->csr_key;
	return a != NULL && b != NULL && EVP_PKEY_eq(a, b) == 1;
}

/*
 * SHA-256 of the signer's DER SubjectPublicKeyInfo: the same fingerprint
 * scep_csr_inspect() gives a CSR's key, so that a later request can be
 * matched to the key of an earlier one. Returns 0 or -1.
 */
int
scep_msg_signer_key_sha256(const struct scep_msg *m, uint8_t out[32])
{
	unsigned char *der = NULL;
	unsigned int len = 0;
	int n, rc = -1;

	if (m->signer == NULL)
		return -1;
	n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(m->signer), &der);
	if (n > 0 &&
	    EVP_Digest(der, (size_t)n, out, &len, EVP_sha256(), NULL) == 1 &&
	    len == 32)
		rc = 0;
	OPENSSL_free(der);
	return rc;
}

/* Whether the envelope used RSAES-OAEP key transport (after decrypt). */
bool
scep_msg_is_oaep(const struct scep_msg *m)
{
	return m->oaep;
}
