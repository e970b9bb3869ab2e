/*
 * The unit tests' pool of pre-made RSA keys (test_keys.h). The pool is
 * GW_TEST_KEYS/rsa-BITS-N.pem, N = 1, 2, ...; the build writes it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "test_keys.h"

#ifndef GW_TEST_KEYS
#define GW_TEST_KEYS "."
#endif

/* Pool sizes handed out, and how many of each this process took. */
static const int pool_bits[] = { 1024, 2048, 3072 };
static int pool_used[sizeof(pool_bits) / sizeof(pool_bits[0])];

/* The next pool key of bits bits, or NULL when there is none left. */
static EVP_PKEY *
pool_take(int bits)
{
	char path[512];
	EVP_PKEY *key = NULL;
	BIO *bio = NULL;
	size_t i;
	int n;

	for (i = 0; i < sizeof(pool_bits) / sizeof(pool_bits[0]); i++)
		if (pool_bits[i] == bits)
			break;
	if (i == sizeof(pool_bits) / sizeof(pool_bits[0]))
		return NULL;
	n = snprintf(path, sizeof(path), "%s/rsa-%d-%d.pem", GW_TEST_KEYS, bits,
	    pool_used[i] + 1);
	if (n < 0 || (size_t)n >= sizeof(path))
		return NULL;
	if ((bio = BIO_new_file(path, "r")) == NULL)
		goto out;
	pool_used[i]++;
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	/* A pool file of the wrong kind is a build bug: make a fresh key. */
	if (key != NULL &&
	    (!EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_get_bits(key) != bits)) {
		EVP_PKEY_free(key);
		key = NULL;
	}
out:
	BIO_free(bio);
	/* A missing file leaves an error on OpenSSL's queue; tests that
	 * check the queue must not see it. */
	ERR_clear_error();
	return key;
}

/*
 * A distinct RSA key of bits bits: the next one of the pool, else a new
 * one. Returns NULL on failure; caller frees with EVP_PKEY_free().
 */
EVP_PKEY *
test_key_rsa(int bits)
{
	EVP_PKEY *key;

	if (bits <= 0)
		return NULL;
	if ((key = pool_take(bits)) != NULL)
		return key;
	return EVP_RSA_gen((unsigned)bits);
}

/*
 * Writes a distinct RSA key of bits bits to path as unencrypted PKCS#8
 * PEM with mode 0600, as scep_ra_key_new() writes an RA key. Returns 0,
 * or -1 (path may then hold a partial file).
 */
int
test_key_rsa_file(const char *path, int bits)
{
	EVP_PKEY *key = NULL;
	BIO *bio = NULL;
	int fd = -1, rc = -1;

	if ((key = test_key_rsa(bits)) == NULL)
		goto out;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || fchmod(fd, 0600) == -1)
		goto out;
	if ((bio = BIO_new_fd(fd, BIO_CLOSE)) == NULL)
		goto out;
	fd = -1;
	if (PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1)
		goto out;
	if (BIO_flush(bio) != 1)
		goto out;
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	BIO_free(bio);
	EVP_PKEY_free(key);
	return rc;
}
