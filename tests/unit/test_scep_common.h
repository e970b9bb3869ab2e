/*
 * Shared fixture of the scep unit tests: a throwaway RA (self-signed,
 * with a one-certificate "CA chain") in a temporary folder, and a client
 * key, CSR and self-signed signer certificate.
 */
#ifndef TEST_SCEP_COMMON_H
#define TEST_SCEP_COMMON_H

#include <openssl/evp.h>
#include <openssl/x509.h>

struct scep_fx {
	char dir[64];	   /* temporary folder */
	char ra_cert[128]; /* its files */
	char ra_key[128];
	char ca_cert[128];
	char ca_key[128];
	struct scep_ra *ra; /* the loaded RA */
	EVP_PKEY *key;	    /* client key, RSA 2048 */
	X509 *signer;	    /* its self-signed certificate */
	X509_REQ *csr;	    /* CN=device-1, challenge "s3cret" */
};

int scep_fx_setup(void **state);
int scep_fx_teardown(void **state);

#endif
