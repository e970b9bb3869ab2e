/*
 * Fuzz target: a DER PKCS#10 request, decoded with OpenSSL and inspected
 * for challengePassword, CN, e-mail and key hash (scep_csr_inspect), as
 * the gateway does with the CSR of a PKCSReq.
 */
#include <openssl/err.h>
#include <openssl/x509.h>

#include "gw_err.h"
#include "scep.h"
#include "fuzz.h"

/* Runs one input; always 0. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scep_csr_info info = { 0 };
	const unsigned char *p = data;
	X509_REQ *csr;
	struct gw_err err;

	if (size > 65536)
		return 0;
	if ((csr = d2i_X509_REQ(NULL, &p, (long)size)) != NULL &&
	    scep_csr_inspect(csr, &info, &err) == 0)
		scep_csr_info_cleanup(&info);
	X509_REQ_free(csr);
	ERR_clear_error();
	return 0;
}
