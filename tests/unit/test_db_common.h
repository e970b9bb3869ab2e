/*
 * Shared fixture of the db/ unit tests (test_db*.c): a fresh database in
 * a temporary folder per test, and helpers that put challenges, start
 * transactions and issue certificates at the fixed time NOW.
 */
#ifndef TEST_DB_COMMON_H
#define TEST_DB_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"

struct gw_err;

#define NOW 1700000000

struct fx {
	char dir[64];
	char path[96];
	bool pg;       /* PostgreSQL: url, not path */
	char url[512]; /* PostgreSQL: this process's fresh database */
	struct db *db;
};

/*
 * Opens a fresh database; state receives a struct fx. SQLite: a file in a
 * new temporary folder. PostgreSQL, when GW_TEST_DB_URL_FILE names the
 * file tests/lib/pg.sh's fixture wrote (the *-pg tests of ctest): this
 * process's own database on that cluster, emptied (exit 77 when the file
 * is absent: PostgreSQL not installed).
 */
int setup(void **state);
/* Opens another handle on fx's database (path or url). */
int fx_open(const struct fx *fx, struct db **db, struct gw_err *err);
/* PostgreSQL only: runs sql on fx's database; fails the test on error.
 * Returns the first column of the first row as a number (0: none). */
long long fx_pg_sql(const struct fx *fx, const char *sql);
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
