/*
 * RSA keys for the unit tests without the cost of making them: the build
 * writes a pool of keys once (tests/unit/CMakeLists.txt, with the native
 * "openssl genpkey"), and each call hands out the next unused one, so a
 * test that asks twice still gets two different keys. Prime search under
 * Valgrind takes tens of seconds per 2048-bit key; reading a PEM file does
 * not. When the pool of a size is used up or missing, a fresh key is made.
 * Not thread-safe: call from the test's own thread (set-up, test body).
 */
#ifndef TEST_KEYS_H
#define TEST_KEYS_H

#include <openssl/evp.h>

/* A distinct RSA key of bits bits; caller frees with EVP_PKEY_free(). */
EVP_PKEY *test_key_rsa(int bits);
/* Writes a distinct key as scep_ra_key_new() does (PKCS#8 PEM, mode
 * 0600); 0 or -1. */
int test_key_rsa_file(const char *path, int bits);

#endif
