/*
 * The scep unit-test fixture: everything is generated at set-up, nothing
 * is read from the source tree. Its RSA keys come from the build's pool
 * (test_keys.h); test_scep_certrep makes an RA key with scep_ra_key_new().
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gw_err.h"
#include "scep.h"
#include "scep_client.h"
#include "test_keys.h"
#include "test_scep_common.h"

/* Joins dir and name into out. */
static void
fx_path(char *out, size_t size, const char *dir, const char *name)
{
	int n = snprintf(out, size, "%s/%s", dir, name);

	assert_true(n > 0 && (size_t)n < size);
}

/* Makes the RA and a client; state receives a struct scep_fx. */
int
scep_fx_setup(void **state)
{
	struct scep_fx *fx;
	struct gw_err err;

	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/scep-unit-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	fx_path(fx->ra_cert, sizeof(fx->ra_cert), fx->dir, "ra.pem");
	fx_path(fx->ra_key, sizeof(fx->ra_key), fx->dir, "ra.key");
	fx_path(fx->ca_cert, sizeof(fx->ca_cert), fx->dir, "ca.pem");
	fx_path(fx->ca_key, sizeof(fx->ca_key), fx->dir, "ca.key");
	assert_int_equal(scep_init(true, &err), 0);
	assert_int_equal(test_key_rsa_file(fx->ra_key, 2048), 0);
	assert_int_equal(scep_ra_selfsigned_new(fx->ra_key, "Test RA", 30,
			     fx->ra_cert, &err),
	    0);
	assert_int_equal(test_key_rsa_file(fx->ca_key, 2048), 0);
	assert_int_equal(scep_ra_selfsigned_new(fx->ca_key, "Test CA", 30,
			     fx->ca_cert, &err),
	    0);
	if (scep_ra_load(&fx->ra, fx->ra_cert, fx->ra_key, fx->ca_cert, &err) !=
	    0)
		fail_msg("scep_ra_load: %s", err.msg);
	fx->key = test_key_rsa(2048);
	assert_non_null(fx->key);
	fx->signer = scep_client_selfsigned_new(fx->key, "device-1");
	assert_non_null(fx->signer);
	fx->csr = scep_client_csr_new(fx->key, "device-1", NULL, "s3cret");
	assert_non_null(fx->csr);
	*state = fx;
	return 0;
}

/* Frees the fixture and removes its folder. */
int
scep_fx_teardown(void **state)
{
	struct scep_fx *fx = *state;

	scep_ra_free(fx->ra);
	EVP_PKEY_free(fx->key);
	X509_free(fx->signer);
	X509_REQ_free(fx->csr);
	unlink(fx->ra_cert);
	unlink(fx->ra_key);
	unlink(fx->ca_cert);
	unlink(fx->ca_key);
	rmdir(fx->dir);
	free(fx);
	return 0;
}
