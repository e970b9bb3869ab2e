/*
 * scepreq's parts (scepreq.c: options, keys, jobs and output;
 * scepreq_http.c: the HTTP side, over libcurl).
 */
#ifndef SCEPREQ_H
#define SCEPREQ_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

struct opts {
	const char *cmd;	    /* caps, cacert, enroll, poll */
	const char *url;	    /* SCEP URL without the query */
	bool get;		    /* PKIOperation by GET */
	bool oaep;		    /* RSAES-OAEP key transport */
	bool ec;		    /* new keys on P-256 */
	char *challenge;	    /* challengePassword, or NULL */
	const char *cn;		    /* subject CN */
	const char *email;	    /* e-mail SAN, or NULL */
	int cipher;		    /* content cipher NID */
	int digest;		    /* digest NID */
	const char *key;	    /* key file (loaded or created) */
	const char *cert_out;	    /* where the certificate goes */
	const char *certs_out;	    /* where every CertRep certificate goes */
	const char *txid;	    /* transactionID, or NULL: from the key */
	const char *renew_cert;	    /* RenewalReq signer */
	const char *renew_key;	    /* its key */
	bool renew_as_pkcsreq;	    /* Apple style: PKCSReq signed by it */
	const char *serial;	    /* getcert, getcrl: serial number in hex */
	const char *crl_out;	    /* getcrl: where the CRL goes (PEM) */
	const char *get_encoding;   /* --get: how message= is encoded */
	const char *encrypt_to;	    /* recipient certificate file */
	const char *csr_file;	    /* --csr: send this CSR (key: --key) */
	const char *content_type;   /* POST Content-Type; "" for none */
	const char *add_certs;	    /* PEM bundle: more SignedData certs */
	const char *add_recipients; /* PEM bundle: more RecipientInfos */
};

/* The HTTP side of one exchange. */
struct http_reply {
	struct buf body; /* at most HTTP_MAX bytes */
	long status;	 /* HTTP status */
};

/* --headers-out: every HTTP reply's header lines are appended there. */
extern const char *headers_out;

/* --header: request header lines sent with every request. */
#define EXTRA_HEADERS_MAX 8
extern const char *extra_headers[EXTRA_HEADERS_MAX];
extern size_t nextra_headers;

/* --interface: the local address to connect from; --cacert: TLS trust. */
extern const char *local_addr, *cacert;

/* GET ?operation=op; 0 or -1 with stderr. */
int http_get_op(const struct opts *o, const char *op, struct http_reply *r);
/* Sends a pkiMessage by POST, or by GET (base64, see get_value_make). */
int http_pkioperation(const struct opts *o, const struct buf *msg,
    struct http_reply *r);

#endif
