/*
 * SCEP (RFC 8894) message layer: bytes in, structs out, and back. No
 * sockets, no database, no logging, no globals beyond the OIDs that
 * scep_init() registers once with OpenSSL. Failures are reported through
 * struct gw_err; where the caller must answer with a CertRep FAILURE,
 * err->code holds the enum scep_fail to send.
 */
#ifndef GW_SCEP_H
#define GW_SCEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/x509.h>

struct buf;
struct gw_err;
struct scep_ra;
struct scep_msg;

/* RFC 8894 3.2.1.2 messageType values. */
enum scep_msgtype {
	SCEP_MT_CERTREP = 3,
	SCEP_MT_RENEWALREQ = 17,
	SCEP_MT_PKCSREQ = 19,
	SCEP_MT_CERTPOLL = 20,
	SCEP_MT_GETCERT = 21,
	SCEP_MT_GETCRL = 22,
};

/* RFC 8894 3.2.1.3 pkiStatus values. */
enum scep_status {
	SCEP_STATUS_SUCCESS = 0,
	SCEP_STATUS_FAILURE = 2,
	SCEP_STATUS_PENDING = 3,
};

/* RFC 8894 3.2.1.4 failInfo values. */
enum scep_fail {
	SCEP_FAIL_BADALG = 0,
	SCEP_FAIL_BADMESSAGECHECK = 1,
	SCEP_FAIL_BADREQUEST = 2,
	SCEP_FAIL_BADTIME = 3,
	SCEP_FAIL_BADCERTID = 4,
	SCEP_FAIL__MAX
};

/* RA keys besides the current one, during a rollover (scep_ra.c). */
enum scep_ra_slot {
	SCEP_RA_NEXT,	  /* announced by GetNextCACert, decrypts too */
	SCEP_RA_PREVIOUS, /* decrypts requests of clients not yet moved */
	SCEP_RA_SLOT__MAX
};

/* What the operator allows, checked while decrypting and verifying. */
struct scep_policy {
	bool allow_des;		 /* single DES content encryption */
	size_t max_csr_bytes;	 /* ceiling on the decrypted inner content */
	unsigned max_recipients; /* RecipientInfos in the envelope; 0: any */
	unsigned max_certs;	 /* certificates in the SignedData; 0: any */
};

/* Library set-up (scep.c). */
int scep_init(bool load_legacy, struct gw_err *err);
const char *scep_fail_name(enum scep_fail f);
const char *scep_msgtype_name(int type);

/* GetCACaps (scep_caps.c). */
const char *scep_caps_text(const struct scep_ra *ra);

/* GET message= decoding (scep_query.c): tolerant base64 (RFC 8894 4.1). */
int scep_query_decode(const char *value, size_t len, size_t max,
    struct buf *out, struct gw_err *err);

/* RA key and certificates (scep_ra.c): the only holder of the private key. */
int scep_ra_load(struct scep_ra **out, const char *cert_path,
    const char *key_path, const char *chain_path, struct gw_err *err);
int scep_ra_load_preroot(struct scep_ra **out, const char *cert_path,
    const char *key_path, const char *chain_path, struct gw_err *err);
void scep_ra_up_ref(struct scep_ra *ra);
void scep_ra_free(struct scep_ra *ra);
const X509 *scep_ra_get0_cert(const struct scep_ra *ra);
const STACK_OF(X509) *scep_ra_get0_chain(const struct scep_ra *ra);
STACK_OF(X509) *scep_ra_issuers_new(const struct scep_ra *ra, const X509 *cert);
const uint8_t *scep_ra_cacert(const struct scep_ra *ra, size_t *len);
int scep_ra_add_key(struct scep_ra *ra, enum scep_ra_slot slot,
    const char *cert_path, const char *key_path, struct gw_err *err);
const uint8_t *scep_ra_nextcacert(const struct scep_ra *ra, size_t *len);
int scep_ra_verify_issued(const struct scep_ra *ra, const X509 *cert,
    struct gw_err *err);
int scep_ra_key_new(const char *key_path, int bits, struct gw_err *err);
int scep_ra_key_new_owned(const char *key_path, int bits, uid_t uid, gid_t gid,
    struct gw_err *err);
int scep_ra_csr_new(const char *key_path, const char *cn, char **pem,
    struct gw_err *err);
int scep_ra_selfsigned_new(const char *key_path, const char *cn, int days,
    const char *cert_path, struct gw_err *err);

/* A certificate the CA returned for an order (scep_leaf.c). */
int scep_leaf_verify(const struct scep_ra *ra, const X509 *leaf, int64_t now,
    struct gw_err *err);

/* Incoming pkiMessage (scep_msg.c). */
int scep_msg_parse(struct scep_msg **out, const uint8_t *der, size_t len,
    struct gw_err *err);
int scep_msg_verify(struct scep_msg *m, struct gw_err *err);
int scep_msg_decrypt(struct scep_msg *m, const struct scep_ra *ra,
    const struct scep_policy *pol, struct gw_err *err);
void scep_msg_free(struct scep_msg *m);
int scep_msg_type(const struct scep_msg *m);
const char *scep_msg_txid(const struct scep_msg *m);
const uint8_t *scep_msg_sender_nonce(const struct scep_msg *m, size_t *len);
const X509 *scep_msg_get0_signer(const struct scep_msg *m);
const X509 *scep_msg_get0_signer_keyed(const struct scep_msg *m);
const X509_REQ *scep_msg_get0_csr(const struct scep_msg *m);
const EVP_PKEY *scep_msg_get0_csr_key(const struct scep_msg *m);
EVP_PKEY *scep_msg_get1_csr_key(const struct scep_msg *m);
const X509_NAME *scep_msg_get0_issuer(const struct scep_msg *m);
const X509_NAME *scep_msg_get0_subject(const struct scep_msg *m);
const ASN1_INTEGER *scep_msg_get0_serial(const struct scep_msg *m);
int scep_msg_digest_nid(const struct scep_msg *m);
int scep_msg_cipher_nid(const struct scep_msg *m);
bool scep_msg_is_oaep(const struct scep_msg *m);
bool scep_msg_signer_matches_csr(const struct scep_msg *m);
/* SHA-256 of the signer's DER SubjectPublicKeyInfo (as scep_csr_info's
 * key_sha256 for a CSR). Returns 0, or -1 when there is no signer. */
int scep_msg_signer_key_sha256(const struct scep_msg *m, uint8_t out[32]);

/* The CSR inside a PKCSReq or RenewalReq (scep_csr.c). */

/* Kinds of subjectAltName a CSR may ask for; EPKI issues email and UPN only. */
enum scep_san {
	SCEP_SAN_EMAIL, /* rfc822Name: EPKI carries it */
	SCEP_SAN_UPN,	/* otherName 1.3.6.1.4.1.311.20.2.3: EPKI carries it */
	SCEP_SAN_DNS,	/* dNSName */
	SCEP_SAN_IP,	/* iPAddress */
	SCEP_SAN_URI,	/* uniformResourceIdentifier */
	SCEP_SAN_OTHER, /* any other GeneralName (or otherName) */
	SCEP_SAN__MAX
};
const char *scep_san_name(enum scep_san s);
/* The URI SAN Intune adds for Windows strong certificate mapping (README
 * "Microsoft Intune"): this prefix, then the user's or device's SID. */
#define SCEP_MS_SID_PREFIX "tag:microsoft.com,2022-09-14:sid:"

struct scep_csr_info {
	char *challenge;	/* challengePassword, or NULL; a secret */
	char *cn;		/* subject CN, or NULL */
	char *email;		/* rfc822Name SAN or emailAddress, or NULL */
	char *upn;		/* Microsoft UPN otherName SAN, or NULL */
	bool upn_many;		/* more than one UPN otherName SAN */
	unsigned sans;		/* 1u << enum scep_san of each SAN type seen;
				   the strong-mapping URI is not counted */
	bool ms_sid;		/* a URI SAN SCEP_MS_SID_PREFIX... (Intune's
				   strong certificate mapping) */
	uint8_t key_sha256[32]; /* SHA-256 of the DER SubjectPublicKeyInfo */
	uint8_t csr_sha256[32]; /* SHA-256 of the DER CSR */
	char *pem;		/* the CSR as PEM, for the upstream order */
};
int scep_csr_inspect(const X509_REQ *csr, const EVP_PKEY *pub,
    struct scep_csr_info *info, struct gw_err *err);
void scep_csr_info_cleanup(struct scep_csr_info *info);

/* Outgoing CertRep (scep_certrep.c). */
struct scep_reply {
	enum scep_status status;
	enum scep_fail fail;   /* FAILURE only */
	const char *fail_text; /* FAILURE: short, non-revealing, or NULL */
	const char *txid;      /* echoed transactionID */
	const uint8_t *recipient_nonce; /* the request's senderNonce */
	size_t recipient_nonce_len;
	int digest_nid;		     /* mirrors the request; 0: SHA-256 */
	int cipher_nid;		     /* mirrors the request; 0: AES-128-CBC */
	bool oaep;		     /* mirror RSAES-OAEP key transport */
	const X509 *recipient;	     /* the request's signer certificate */
	const X509 *issued;	     /* SUCCESS: the certificate, first */
	const STACK_OF(X509) *chain; /* SUCCESS: extra certs, or NULL */
	const X509_CRL *crl;	     /* SUCCESS to GetCRL: the CRL, no certs */
};
void scep_reply_init(struct scep_reply *r, const struct scep_msg *m);
int scep_certrep_build(const struct scep_ra *ra, const struct scep_reply *r,
    struct buf *out, struct gw_err *err);

#endif
