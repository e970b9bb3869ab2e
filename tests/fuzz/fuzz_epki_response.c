/*
 * Fuzz target: a SOAP reply from GlobalSign (epki_soap_parse). The first
 * byte picks the operation and the HTTP status, the rest is the body.
 * Then every certificate found is looked up by its own key through
 * epki_resp_get0_cert_for_key(), as the gateway picks the issued leaf.
 */
#include <openssl/err.h>
#include <openssl/x509.h>

#include "gw_err.h"
#include "epki.h"
#include "fuzz.h"

static const char *const ops[] = {
	"OrderAndIssueCertificate",
	"GetOrderByOrderId",
	"GetOrders",
	"Revoke",
	"GetProfiles",
};

/* Runs one input; always 0. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct epki_resp r;
	struct gw_err err;
	const char *op;
	long status;
	int i;

	if (size < 1)
		return 0;
	op = ops[data[0] % (sizeof(ops) / sizeof(ops[0]))];
	status = (data[0] & 0x80) != 0 ? 500 : 200;
	(void)epki_soap_parse(op, status, data + 1, size - 1, &r, &err);
	for (i = 0; r.certs != NULL && i < sk_X509_num(r.certs); i++)
		(void)epki_resp_get0_cert_for_key(&r,
		    X509_get0_pubkey(sk_X509_value(r.certs, i)));
	(void)epki_class_name(r.cls);
	epki_resp_cleanup(&r);
	ERR_clear_error();
	return 0;
}
