/*
 * Fuzz target: a DER PKCS#10 request, decoded as the gateway and epki-sim
 * decode one (bare, its key built by gw_spki_pkey(), see pubkey.h),
 * verified, and inspected for challengePassword, CN, e-mail and key hash
 * (scep_csr_inspect).
 */
#include <openssl/err.h>
#include <openssl/x509.h>

#include "gw_err.h"
#include "pubkey.h"
#include "scep.h"
#include "fuzz.h"

/* Runs one input; always 0. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scep_csr_info info = { 0 };
	const unsigned char *p = data;
	X509_REQ *csr;
	EVP_PKEY *pub = NULL;
	struct gw_err err;

	if (size > 65536)
		return 0;
	if ((csr = gw_req_d2i_bare(&p, (long)size)) != NULL &&
	    (pub = gw_spki_pkey(X509_REQ_get_X509_PUBKEY(csr))) != NULL) {
		(void)X509_REQ_verify(csr, pub);
		if (scep_csr_inspect(csr, pub, &info, &err) == 0)
			scep_csr_info_cleanup(&info);
	}
	EVP_PKEY_free(pub);
	X509_REQ_free(csr);
	ERR_clear_error();
	return 0;
}
