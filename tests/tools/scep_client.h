/*
 * A small SCEP client for tests, the scepreq tool and the load test: key,
 * CSR and self-signed signer generation, pkiMessage building for every
 * algorithm combination, and CertRep checking. Not part of gw_scep; it
 * is written separately from the server code on purpose, borrowing only
 * the CMS helpers of scep_int.h.
 */
#ifndef GW_SCEP_CLIENT_H
#define GW_SCEP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

struct buf;
struct gw_err;

/* Keys, requests and signer certificates. */
EVP_PKEY *scep_client_key_new(bool ec, int bits);
X509_REQ *scep_client_csr_new(EVP_PKEY *key, const char *cn, const char *email,
    const char *challenge);
X509 *scep_client_selfsigned_new(EVP_PKEY *key, const char *cn);

/* Algorithm names as on the scepreq command line; NID_undef if unknown. */
int scep_client_cipher_nid(const char *name);
int scep_client_digest_nid(const char *name);
const char *scep_client_cipher_name(int nid);
const char *scep_client_digest_name(int nid);

/* GetCACert reply: every certificate, and the RA picked by key usage. */
int scep_client_bag_parse(const uint8_t *der, size_t len,
    STACK_OF(X509) **certs, struct gw_err *err);
/* GetCRL reply bag: the CRLs of a degenerate SignedData. */
int scep_client_crl_bag_parse(const uint8_t *der, size_t len,
    STACK_OF(X509_CRL) **crls, struct gw_err *err);
X509 *scep_client_recipient_pick(const STACK_OF(X509) *certs);

/* An outgoing pkiMessage. */
struct scep_client_req {
	int type;		    /* enum scep_msgtype */
	const char *txid;	    /* transactionID */
	int cipher_nid;		    /* 0: AES-128-CBC */
	int digest_nid;		    /* 0: SHA-256 */
	bool oaep;		    /* RSAES-OAEP key transport */
	bool ber;		    /* indefinite-length (streamed) output */
	X509 *signer;		    /* signer certificate */
	EVP_PKEY *key;		    /* its key */
	X509 *recipient;	    /* the RA certificate */
	const X509_REQ *csr;	    /* PKCSReq, RenewalReq */
	const X509_NAME *issuer;    /* CertPoll, GetCert */
	const X509_NAME *subject;   /* CertPoll */
	const ASN1_INTEGER *serial; /* GetCert */
	STACK_OF(X509) *add_certs;  /* more certificates, or NULL (tests) */
	STACK_OF(X509) *add_recipients; /* more RecipientInfos, or NULL */
	uint8_t nonce[16];		/* out: the senderNonce sent */
	bool lax_sender_nonce;		/* CertRep may lack a fresh senderNonce
					   (micromdm scepserver; benchmarks) */
};
int scep_client_msg_build(struct scep_client_req *req, struct buf *out,
    struct gw_err *err);

/* A checked CertRep. */
struct scep_client_rep {
	int status;		  /* pkiStatus */
	int fail;		  /* failInfo, -1 if absent */
	char fail_text[256];	  /* failInfoText, or "" */
	int digest_nid;		  /* the reply's digest */
	int cipher_nid;		  /* SUCCESS: the envelope's cipher */
	bool oaep;		  /* SUCCESS: OAEP key transport */
	X509 *issued;		  /* SUCCESS: first cert of the bag */
	STACK_OF(X509) *certs;	  /* SUCCESS: the whole bag */
	STACK_OF(X509_CRL) *crls; /* SUCCESS to GetCRL: the bag's CRLs */
};
int scep_client_rep_parse(const uint8_t *der, size_t len, X509 *ra,
    const struct scep_client_req *req, struct scep_client_rep *rep,
    struct gw_err *err);
void scep_client_rep_cleanup(struct scep_client_rep *rep);

#endif
