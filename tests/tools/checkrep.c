/*
 * checkrep: checks a CertRep against the request it answers, for the
 * fixture replay (tests/integration/cases/fixtures-replay.sh).
 *
 *   checkrep REPLY.der REQUEST.der KEY.pem SIGNER.pem RA.pem [CERT-OUT]
 *
 * The request's transactionID, senderNonce and messageType are read from
 * its own bytes; the reply must be signed by RA.pem, echo them, and on
 * SUCCESS decrypt with KEY.pem (the signer's key). Prints one line,
 * "status=... failinfo=... cipher=... digest=... kt=... certs=N" (kt: the
 * reply's key transport, v15, oaep, or ecdh to an EC signer), and
 * writes the first certificate to CERT-OUT when given. Exits 0 when the
 * reply is acceptable whatever its pkiStatus, 1 when it is not.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "buf.h"
#include "gw_err.h"
#include "scep.h"
#include "scep_client.h"
#include "secure.h"

#define FILE_MAX (4 * 1024 * 1024)

/* Reads one PEM certificate or key; NULL with a message on stderr. */
static void *
pem_read(const char *path, bool key)
{
	void *p = NULL;
	BIO *bio;

	if ((bio = BIO_new_file(path, "r")) != NULL)
		p = key ?
		    (void *)PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) :
		    (void *)PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (p == NULL)
		fprintf(stderr, "checkrep: %s: not a PEM %s\n", path,
		    key ? "key" : "certificate");
	return p;
}

/* The name of a pkiStatus. */
static const char *
status_name(int status)
{
	if (status == SCEP_STATUS_SUCCESS)
		return "SUCCESS";
	if (status == SCEP_STATUS_FAILURE)
		return "FAILURE";
	return "PENDING";
}

int
main(int argc, char **argv)
{
	struct scep_client_req req;
	struct scep_client_rep rep;
	struct scep_msg *msg = NULL;
	struct buf reply, request;
	EVP_PKEY *key = NULL;
	X509 *signer = NULL, *ra = NULL;
	const uint8_t *nonce;
	struct gw_err err;
	size_t nlen;
	FILE *f;
	bool have_rep = false;
	int ex = 1;

	buf_init(&reply, 0);
	buf_init(&request, 0);
	memset(&req, 0, sizeof(req));
	if (argc != 6 && argc != 7) {
		fprintf(stderr,
		    "usage: checkrep REPLY.der REQUEST.der KEY.pem "
		    "SIGNER.pem RA.pem [CERT-OUT]\n");
		return 1;
	}
	if (scep_init(true, &err) == -1 ||
	    gw_file_read(argv[1], FILE_MAX, &reply, &err) == -1 ||
	    gw_file_read(argv[2], FILE_MAX, &request, &err) == -1 ||
	    scep_msg_parse(&msg, request.data, request.len, &err) == -1) {
		fprintf(stderr, "checkrep: %s\n", err.msg);
		goto out;
	}
	if ((key = pem_read(argv[3], true)) == NULL ||
	    (signer = pem_read(argv[4], false)) == NULL ||
	    (ra = pem_read(argv[5], false)) == NULL)
		goto out;
	nonce = scep_msg_sender_nonce(msg, &nlen);
	if (nonce == NULL || nlen != sizeof(req.nonce)) {
		fprintf(stderr, "checkrep: the request has no 16-byte nonce\n");
		goto out;
	}
	memcpy(req.nonce, nonce, nlen);
	req.type = scep_msg_type(msg);
	req.txid = scep_msg_txid(msg);
	req.signer = signer;
	req.key = key;
	if (scep_client_rep_parse(reply.data, reply.len, ra, &req, &rep,
		&err) == -1) {
		fprintf(stderr, "checkrep: bad CertRep: %s\n", err.msg);
		goto out;
	}
	have_rep = true;
	printf("status=%s failinfo=%s cipher=%s digest=%s kt=%s certs=%d\n",
	    status_name(rep.status),
	    rep.fail >= 0 ? scep_fail_name((enum scep_fail)rep.fail) : "-",
	    rep.status == SCEP_STATUS_SUCCESS ?
		scep_client_cipher_name(rep.cipher_nid) :
		"-",
	    scep_client_digest_name(rep.digest_nid),
	    rep.status != SCEP_STATUS_SUCCESS		 ? "-" :
		EVP_PKEY_get_base_id(key) == EVP_PKEY_EC ? "ecdh" :
		rep.oaep				 ? "oaep" :
							   "v15",
	    rep.certs != NULL ? sk_X509_num(rep.certs) : 0);
	if (rep.fail_text[0] != '\0')
		printf("failinfotext=%s\n", rep.fail_text);
	if (argc == 7 && rep.issued != NULL) {
		if ((f = fopen(argv[6], "w")) == NULL ||
		    PEM_write_X509(f, rep.issued) != 1) {
			fprintf(stderr, "checkrep: cannot write %s\n", argv[6]);
			if (f != NULL)
				fclose(f);
			goto out;
		}
		fclose(f);
	}
	ex = 0;
out:
	if (have_rep)
		scep_client_rep_cleanup(&rep);
	scep_msg_free(msg);
	EVP_PKEY_free(key);
	X509_free(signer);
	X509_free(ra);
	buf_cleanup(&reply);
	buf_cleanup(&request);
	return ex;
}
