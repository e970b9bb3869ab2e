/*
 * Fuzz target: the GET message= decoder (scep_query_decode), with the
 * input as the already once percent-decoded parameter value.
 */
#include <openssl/err.h>

#include "buf.h"
#include "gw_err.h"
#include "scep.h"
#include "fuzz.h"

/* Runs one input; always 0. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_err err;
	struct buf out;

	/* The decoder wants a bounded output; 64 KiB as the server's. */
	buf_init(&out, 65536);
	(void)scep_query_decode((const char *)data, size, 65536, &out, &err);
	buf_cleanup(&out);
	ERR_clear_error();
	return 0;
}
