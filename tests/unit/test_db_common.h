/*
 * Shared fixture of the db/ unit tests (test_db*.c): a fresh database in
 * a temporary folder per test, and helpers that put challenges, start
 * transactions and issue certificates at the fixed time NOW.
 */
#ifndef TEST_DB_COMMON_H
#define TEST_DB_COMMON_H

#include <stdint.h>

#include "db.h"

#define NOW 1700000000

struct fx {
	char dir[64];
	char path[96];
	struct db *db;
};

/* Opens a database in a new temporary folder; state receives a struct fx. */
int setup(void **state);
/* Closes it and removes the folder. */
int teardown(void **state);
/* A 32-byte hash whose bytes are all b. */
void hash_fill(uint8_t h[32], uint8_t b);
/* Puts a challenge of hash byte b; returns its id. */
int64_t put_challenge(struct db *db, uint8_t b, int64_t expires, const char *cn,
    const char *email, const char *ou);
/* Runs db_txn_start() for txid with challenge byte b (0: no challenge). */
enum db_start start(struct db *db, const char *txid, uint8_t b, int64_t now,
    struct db_txn *t);
/* Issues a certificate row with serial for a new transaction txid. */
void issue_cert(struct db *db, const char *txid, const char *serial);

#endif
