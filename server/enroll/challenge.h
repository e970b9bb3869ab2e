/* Making a challenge password (challenge.c). */
#ifndef GW_CHALLENGE_H
#define GW_CHALLENGE_H

#include <stdint.h>

/* A challenge secret: 32 upper-case hex digits and a NUL. */
#define ENROLL_SECRET_LEN 33

int enroll_challenge_make(char secret[ENROLL_SECRET_LEN], uint8_t hash[32]);

#endif
