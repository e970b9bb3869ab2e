/*
 * Fuzz target: an incoming pkiMessage as the gateway handles it, parse,
 * signature check, decryption with a fixed RA, then the CSR inspection.
 * The RA is the test-only key and certificate committed in tests/fuzz/ra/
 * so that the committed seeds, encrypted to it, decrypt on every run.
 * Decryption is tried even when the signature fails: the envelope is
 * reachable code for a mutated input too, and that is what we want to
 * exercise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/err.h>

#include "buf.h"
#include "gw_err.h"
#include "secure.h"
#include "scep.h"
#include "fuzz.h"

#ifndef GW_FUZZ_DIR
#error "GW_FUZZ_DIR must name tests/fuzz"
#endif

static struct scep_ra *fuzz_ra;

/* Copies src into path with mode 0600 (git keeps no such mode); 0 or -1. */
static int
ra_file_copy(const char *src, const char *path)
{
	struct gw_err err;
	struct buf b;
	int rc;

	if (gw_file_read(src, 1 << 20, &b, &err) == -1) {
		fprintf(stderr, "fuzz: %s\n", err.msg);
		return -1;
	}
	rc = gw_file_write(path, b.data, b.len, 0600, &err);
	if (rc == -1)
		fprintf(stderr, "fuzz: %s\n", err.msg);
	gw_cleanse(b.data, b.len);
	buf_cleanup(&b);
	return rc;
}

/*
 * Loads the fixed RA once: the committed files are copied to a private
 * temporary folder (the loader wants a 0600 key), loaded, and removed.
 * Exits on failure: fuzzing without the RA would be pointless.
 */
static void
ra_init(void)
{
	char dir[256], key[512], cert[512];
	struct gw_err err;

	if (scep_init(true, &err) == -1) {
		fprintf(stderr, "fuzz: scep_init: %s\n", err.msg);
		exit(1);
	}
	if (fuzz_tmpdir_new(dir, sizeof(dir)) == -1 ||
	    fuzz_path(key, sizeof(key), dir, "ra.key") == -1 ||
	    fuzz_path(cert, sizeof(cert), dir, "ra.pem") == -1) {
		fprintf(stderr, "fuzz: cannot make a temporary folder\n");
		exit(1);
	}
	if (ra_file_copy(GW_FUZZ_DIR "/ra/ra.key", key) == -1 ||
	    ra_file_copy(GW_FUZZ_DIR "/ra/ra.pem", cert) == -1 ||
	    scep_ra_load(&fuzz_ra, cert, key, NULL, &err) == -1) {
		fprintf(stderr, "fuzz: RA: %s\n", err.msg);
		exit(1);
	}
	unlink(key);
	unlink(cert);
	rmdir(dir);
}

/* Runs one input; always 0. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scep_policy pol = { .allow_des = true, .max_csr_bytes = 65536 };
	struct scep_csr_info info = { 0 };
	const X509_REQ *csr;
	struct scep_msg *m = NULL;
	struct gw_err err;

	if (fuzz_ra == NULL)
		ra_init();
	if (scep_msg_parse(&m, data, size, &err) == -1)
		goto out;
	(void)scep_msg_type(m);
	(void)scep_msg_txid(m);
	(void)scep_msg_verify(m, &err);
	if (scep_msg_decrypt(m, fuzz_ra, &pol, &err) == -1)
		goto out;
	if ((csr = scep_msg_get0_csr(m)) != NULL &&
	    scep_csr_inspect(csr, scep_msg_get0_csr_key(m), &info, &err) == 0)
		scep_csr_info_cleanup(&info);
out:
	scep_msg_free(m);
	ERR_clear_error();
	return 0;
}
