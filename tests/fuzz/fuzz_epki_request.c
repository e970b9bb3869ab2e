/*
 * Fuzz target: a SOAP request as epki-sim receives it
 * (epki_soap_req_parse), every operation.
 */
#include <openssl/err.h>

#include "gw_err.h"
#include "epki.h"
#include "fuzz.h"

/* Runs one input; always 0. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct epki_req r;
	struct gw_err err;

	/* The request is released either way (epki_soap_req_parse()). */
	if (epki_soap_req_parse(data, size, &r, &err) == 0)
		(void)epki_op_name(r.op);
	epki_req_cleanup(&r);
	ERR_clear_error();
	return 0;
}
