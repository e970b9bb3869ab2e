/*
 * Private declarations shared by the files of gw_scep: the RA structure,
 * the SCEP attribute OIDs registered by scep.c, signed-attribute helpers,
 * the certs-only and CRL bag builders, and the DER walk that names an
 * envelope's content cipher. Nothing here is part of the public interface; the
 * test-only SCEP client (tests/tools/scep_client.c) borrows the helpers.
 */
#ifndef GW_SCEP_INT_H
#define GW_SCEP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/cms.h>
#include <openssl/x509.h>

#include "scep.h"

struct gw_err;

/* Ceiling on any pkiMessage or envelope we decode. */
#define SCEP_MSG_MAX (4 * 1024 * 1024)
/* Nonce lengths we accept (8 to 32 bytes: old iOS sends 8; echoed exactly). */
#define SCEP_NONCE_MIN 8
#define SCEP_NONCE_MAX 32
/* The senderNonce we generate. */
#define SCEP_NONCE_LEN 16
/* Longest transactionID we keep. */
#define SCEP_TXID_MAX 256

/* The SCEP signed attributes (RFC 8894 3.2.1) plus failInfoText. */
enum scep_attr {
	SCEP_ATTR_MSGTYPE,
	SCEP_ATTR_PKISTATUS,
	SCEP_ATTR_FAILINFO,
	SCEP_ATTR_SENDERNONCE,
	SCEP_ATTR_RECIPIENTNONCE,
	SCEP_ATTR_TXID,
	SCEP_ATTR_FAILINFOTEXT,
	SCEP_ATTR__MAX
};

/* The RA: certificate, key, chain, and the precomputed GetCACert body. */
struct scep_ra {
	X509 *cert;	       /* RA certificate (signs, decrypts) */
	EVP_PKEY *key;	       /* its private key */
	STACK_OF(X509) *chain; /* issuing CA first, then up to the root */
	uint8_t *cacert;       /* DER certs-only SignedData for GetCACert */
	size_t cacert_len;     /* its length */
	X509 *alt_cert[SCEP_RA_SLOT__MAX]; /* rollover: next, previous */
	EVP_PKEY *alt_key[SCEP_RA_SLOT__MAX];
	uint8_t *nextcacert; /* GetNextCACert body, or NULL */
	size_t nextcacert_len;
	int refs; /* references (scep_ra_up_ref()); atomic; freed at 0 */
};

/* scep.c */
int scep_oids_init(void);
const ASN1_OBJECT *scep_attr_obj(enum scep_attr a);

/* scep_attr.c */
int scep_attr_get_string(CMS_SignerInfo *si, enum scep_attr a, char *out,
    size_t size);
int scep_attr_get_octets(CMS_SignerInfo *si, enum scep_attr a, uint8_t *out,
    size_t size, size_t *len);
int scep_attr_add_string(CMS_SignerInfo *si, enum scep_attr a, const char *s);
int scep_attr_add_octets(CMS_SignerInfo *si, enum scep_attr a, const uint8_t *p,
    size_t len);
X509 *scep_signer_find(CMS_ContentInfo *cms, CMS_SignerInfo *si);
int scep_bag_der(const X509 *first, const STACK_OF(X509) *rest, uint8_t **der,
    size_t *len);
int scep_bag_crl_der(const X509_CRL *crl, uint8_t **der, size_t *len);
int scep_env_cipher_nid(CMS_ContentInfo *env);
bool scep_env_is_oaep(CMS_ContentInfo *env, X509 *recip);
int scep_cms_der(CMS_ContentInfo *cms, uint8_t **der, size_t *len);

/* scep_ra.c: the two private-key operations, the only users of the RA key. */
int scep_ra_decrypt(const struct scep_ra *ra, CMS_ContentInfo *env, BIO *out,
    struct gw_err *err);
CMS_SignerInfo *scep_ra_add_signer(const struct scep_ra *ra,
    CMS_ContentInfo *cms, const EVP_MD *md, struct gw_err *err);

#endif
