/*
 * Outgoing CertRep (RFC 8894 3.3.2): a SignedData signed by the RA key
 * whose signed attributes carry the SCEP transaction state. SUCCESS wraps
 * the issued certificate (first) and its chain in a certs-only bag, or
 * for GetCRL the CRL alone in a degenerate SignedData's crls field,
 * encrypted to the requester with the request's own cipher and key
 * transport; FAILURE and PENDING carry no pkcsPKIEnvelope.
 */
#include <stdint.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include "buf.h"
#include "gw_err.h"
#include "secure.h"
#include "scep.h"
#include "scep_int.h"

/* Whether a digest may sign a CertRep (never MD5). */
static bool
certrep_digest_ok(int nid)
{
	return nid == NID_sha1 || nid == NID_sha224 || nid == NID_sha256 ||
	    nid == NID_sha384 || nid == NID_sha512;
}

/* Whether a cipher may encrypt a CertRep envelope. */
static bool
certrep_cipher_ok(int nid)
{
	return nid == NID_aes_128_cbc || nid == NID_aes_192_cbc ||
	    nid == NID_aes_256_cbc || nid == NID_des_ede3_cbc ||
	    nid == NID_des_cbc;
}

/*
 * Fills r to answer m with SUCCESS: echoes the transactionID, returns the
 * senderNonce as recipientNonce, and mirrors the digest, cipher and key
 * transport (PKCS#1 v1.5 or OAEP) where they are ones we may use; otherwise
 * SHA-256 and AES-128-CBC. Call it after scep_msg_decrypt() (whether or not
 * that succeeded): the cipher and key transport are only known once the
 * envelope has been opened. The caller sets status, fail, fail_text, issued
 * and chain (or crl) as needed. r borrows from m: keep m alive.
 */
void
scep_reply_init(struct scep_reply *r, const struct scep_msg *m)
{
	int nid;

	memset(r, 0, sizeof(*r));
	r->status = SCEP_STATUS_SUCCESS;
	r->txid = scep_msg_txid(m);
	r->recipient_nonce = scep_msg_sender_nonce(m, &r->recipient_nonce_len);
	nid = scep_msg_digest_nid(m);
	r->digest_nid = certrep_digest_ok(nid) ? nid : 0;
	nid = scep_msg_cipher_nid(m);
	r->cipher_nid = certrep_cipher_ok(nid) ? nid : 0;
	r->oaep = scep_msg_is_oaep(m);
	r->recipient = scep_msg_get0_signer_keyed(m);
}

/* Encrypts DER bytes to the requester; returns the EnvelopedData DER. */
static int
certrep_envelope(const struct scep_reply *r, const uint8_t *in, size_t inlen,
    uint8_t **der, size_t *len, struct gw_err *err)
{
	const unsigned int flags = CMS_BINARY | CMS_PARTIAL;
	CMS_ContentInfo *env = NULL;
	CMS_RecipientInfo *ri;
	EVP_CIPHER *cipher = NULL;
	EVP_PKEY_CTX *pctx;
	X509 *rcpt = NULL;
	BIO *bio = NULL;
	bool oaep;
	int rc = -1, nid;

	nid = r->cipher_nid == 0 ? NID_aes_128_cbc : r->cipher_nid;
	if (!certrep_cipher_ok(nid) ||
	    (cipher = EVP_CIPHER_fetch(NULL, OBJ_nid2sn(nid), NULL)) == NULL) {
		gw_err_set_ossl(err, SCEP_FAIL_BADALG, "CertRep cipher");
		goto out;
	}
	/*
	 * OAEP mirrors the request's key transport to our RSA key; an EC
	 * requester gets ECDH key agreement, where padding has no meaning.
	 */
	oaep = r->oaep &&
	    EVP_PKEY_is_a(X509_get0_pubkey(r->recipient), "RSA") == 1;
	/* A reference, not X509_dup(): a copy decodes the key again. */
	if (X509_up_ref((X509 *)(uintptr_t)r->recipient) != 1 ||
	    (rcpt = (X509 *)(uintptr_t)r->recipient) == NULL ||
	    (env = CMS_encrypt(NULL, NULL, cipher, flags)) == NULL ||
	    (ri = CMS_add1_recipient_cert(env, rcpt,
		 flags | (oaep ? CMS_KEY_PARAM : 0))) == NULL)
		goto ossl;
	if (oaep &&
	    ((pctx = CMS_RecipientInfo_get0_pkey_ctx(ri)) == NULL ||
		EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) <=
		    0))
		goto ossl;
	if ((bio = BIO_new_mem_buf(in, (int)inlen)) == NULL ||
	    CMS_final(env, bio, NULL, CMS_BINARY) != 1 ||
	    scep_cms_der(env, der, len) == -1)
		goto ossl;
	rc = 0;
	goto out;
ossl:
	gw_err_set_ossl(err, SCEP_FAIL_BADALG, "encrypting the CertRep");
out:
	BIO_free(bio);
	CMS_ContentInfo_free(env);
	X509_free(rcpt);
	EVP_CIPHER_free(cipher);
	return rc;
}

/*
 * Builds the SUCCESS messageData: the bag, encrypted; 0 or -1. A reply
 * with a CRL answers GetCRL and carries the CRL alone (RFC 8894 3.3.4);
 * otherwise the issued certificate comes first, then the chain.
 */
static int
certrep_content(const struct scep_reply *r, uint8_t **der, size_t *len,
    struct gw_err *err)
{
	uint8_t *bag = NULL;
	size_t baglen;
	int rc = -1, brc;

	*der = NULL;
	*len = 0;
	if ((r->issued == NULL && r->crl == NULL) || r->recipient == NULL) {
		gw_err_set(err, EINVAL,
		    "SUCCESS needs a certificate or a CRL, and a "
		    "recipient");
		goto out;
	}
	if (r->crl != NULL)
		brc = scep_bag_crl_der(r->crl, &bag, &baglen);
	else
		brc = scep_bag_der(r->issued, r->chain, &bag, &baglen);
	if (brc == -1 || baglen > INT_MAX) {
		gw_err_set_ossl(err, 0,
		    r->crl != NULL ? "encoding the CRL bag" :
				     "encoding the certificate bag");
		goto out;
	}
	rc = certrep_envelope(r, bag, baglen, der, len, err);
out:
	free(bag);
	return rc;
}

/* Adds the SCEP signed attributes (RFC 8894 3.2.1); 0 or -1. */
static int
certrep_attrs_add(CMS_SignerInfo *si, const struct scep_reply *r)
{
	uint8_t nonce[SCEP_NONCE_LEN];
	char num[16];

	snprintf(num, sizeof(num), "%d", (int)r->status);
	if (scep_attr_add_string(si, SCEP_ATTR_TXID, r->txid) == -1 ||
	    scep_attr_add_string(si, SCEP_ATTR_MSGTYPE, "3") == -1 ||
	    scep_attr_add_string(si, SCEP_ATTR_PKISTATUS, num) == -1)
		return -1;
	if (r->status == SCEP_STATUS_FAILURE) {
		snprintf(num, sizeof(num), "%d", (int)r->fail);
		if (scep_attr_add_string(si, SCEP_ATTR_FAILINFO, num) == -1)
			return -1;
		if (r->fail_text != NULL && r->fail_text[0] != '\0' &&
		    scep_attr_add_string(si, SCEP_ATTR_FAILINFOTEXT,
			r->fail_text) == -1)
			return -1;
	}
	/* RFC 8894 3.2.1: every message carries a fresh senderNonce. */
	if (gw_random_bytes(nonce, sizeof(nonce)) == -1 ||
	    scep_attr_add_octets(si, SCEP_ATTR_SENDERNONCE, nonce,
		sizeof(nonce)) == -1)
		return -1;
	/* RFC 8894 3.2.1.5: recipientNonce echoes the request's nonce. */
	if (r->recipient_nonce_len > 0 &&
	    scep_attr_add_octets(si, SCEP_ATTR_RECIPIENTNONCE,
		r->recipient_nonce, r->recipient_nonce_len) == -1)
		return -1;
	return 0;
}

/* Checks the reply fields the builder relies on; 0 or -1. */
static int
certrep_check(const struct scep_reply *r, struct gw_err *err)
{
	if (r->txid == NULL || r->txid[0] == '\0') {
		gw_err_set(err, EINVAL, "CertRep without a transactionID");
		return -1;
	}
	if (r->status != SCEP_STATUS_SUCCESS &&
	    r->status != SCEP_STATUS_FAILURE &&
	    r->status != SCEP_STATUS_PENDING) {
		gw_err_set(err, EINVAL, "pkiStatus %d", (int)r->status);
		return -1;
	}
	if (r->status == SCEP_STATUS_FAILURE &&
	    (unsigned)r->fail >= SCEP_FAIL__MAX) {
		gw_err_set(err, EINVAL, "failInfo %d", (int)r->fail);
		return -1;
	}
	if (r->digest_nid != 0 && !certrep_digest_ok(r->digest_nid)) {
		gw_err_set(err, SCEP_FAIL_BADALG,
		    "digest %s may not sign a CertRep",
		    OBJ_nid2sn(r->digest_nid));
		return -1;
	}
	return 0;
}

/*
 * Builds the signed CertRep for r into out (initialised here; the caller
 * frees it with buf_cleanup()). The SignedData has eContentType id-data;
 * for SUCCESS its eContent is the EnvelopedData of the certificate bag.
 * For FAILURE and PENDING (RFC 8894 3: no messageData, so no
 * pkcsPKIEnvelope) the eContent is present but empty: an OCTET STRING of
 * length zero, as micromdm and smallstep emit. We choose it over absent
 * (detached) content because clients that verify with OpenSSL's
 * PKCS7_verify (certmonger) refuse detached content without the data,
 * while Go's pkcs7, BouncyCastle (jscep) and sscep accept either.
 * Returns 0, or -1 with err set and out empty.
 */
int
scep_certrep_build(const struct scep_ra *ra, const struct scep_reply *r,
    struct buf *out, struct gw_err *err)
{
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si;
	const EVP_MD *md;
	uint8_t *content = NULL, *der = NULL;
	size_t clen = 0, dlen;
	BIO *bio = NULL;
	int rc = -1;

	buf_init(out, 0);
	ERR_clear_error();
	if (scep_oids_init() == -1 || certrep_check(r, err) == -1)
		goto out;
	md = EVP_get_digestbynid(
	    r->digest_nid == 0 ? NID_sha256 : r->digest_nid);
	if (md == NULL) {
		gw_err_set(err, SCEP_FAIL_BADALG, "unknown digest");
		goto out;
	}
	if (r->status == SCEP_STATUS_SUCCESS &&
	    certrep_content(r, &content, &clen, err) == -1)
		goto out;
	if ((cms = CMS_sign(NULL, NULL, NULL, NULL,
		 CMS_BINARY | CMS_PARTIAL)) == NULL ||
	    (si = scep_ra_add_signer(ra, cms, md, err)) == NULL)
		goto ossl;
	if (certrep_attrs_add(si, r) == -1 ||
	    (bio = BIO_new_mem_buf(clen > 0 ? content : (const uint8_t *)"",
		 (int)clen)) == NULL ||
	    CMS_final(cms, bio, NULL, CMS_BINARY) != 1 ||
	    scep_cms_der(cms, &der, &dlen) == -1 ||
	    buf_add(out, der, dlen) == -1)
		goto ossl;
	rc = 0;
	goto out;
ossl:
	gw_err_set_ossl(err, 0, "signing the CertRep");
out:
	BIO_free(bio);
	CMS_ContentInfo_free(cms);
	free(content);
	free(der);
	if (rc == -1)
		buf_cleanup(out);
	ERR_clear_error();
	return rc;
}
