/*
 * Challenge passwords: made here for the admin API (POST
 * /api/v1/challenges) and the NDES page alike; the database keeps only
 * their SHA-256, which admission (admit.c) compares.
 */
#include <stdint.h>
#include <string.h>

#include <openssl/sha.h>

#include "challenge.h"
#include "secure.h"

/*
 * Makes one challenge: 128 random bits as 32 upper-case hex digits, and
 * the SHA-256 of that text, which is what the database keeps. Returns 0
 * or -1 (no randomness).
 */
int
enroll_challenge_make(char secret[ENROLL_SECRET_LEN], uint8_t hash[32])
{
	uint8_t raw[16];
	size_t i;

	if (gw_random_bytes(raw, sizeof(raw)) == -1)
		return -1;
	gw_hex(raw, sizeof(raw), secret);
	for (i = 0; secret[i] != '\0'; i++)
		if (secret[i] >= 'a' && secret[i] <= 'f')
			secret[i] = (char)(secret[i] - 'a' + 'A');
	SHA256((const unsigned char *)secret, strlen(secret), hash);
	gw_cleanse(raw, sizeof(raw));
	return 0;
}
