/*
 * The db/ unit-test fixture and helpers (test_db_common.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "gw_err.h"
#include "db.h"
#include "test_db_common.h"

/* The URL of the cluster's database, from GW_TEST_DB_URL_FILE; "" when
 * unset (SQLite). Exits 77 (skipped) when set but the file is absent. */
static const char *
fx_pg_base(void)
{
	static char base[400];
	const char *file = getenv("GW_TEST_DB_URL_FILE");
	FILE *f;

	if (base[0] != '\0' || file == NULL || file[0] == '\0')
		return base;
	if ((f = fopen(file, "r")) == NULL) {
		printf("SKIPPED: %s: no PostgreSQL test cluster\n", file);
		exit(77);
	}
	if (fgets(base, sizeof(base), f) == NULL)
		base[0] = '\0';
	fclose(f);
	base[strcspn(base, "\n")] = '\0';
	assert_true(base[0] != '\0');
	return base;
}

/* Runs sql on conninfo; fails the test on error. */
static long long
pg_sql(const char *conninfo, const char *sql)
{
	PGconn *c = PQconnectdb(conninfo);
	PGresult *r;
	long long v = 0;

	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("%s: %s", conninfo, PQerrorMessage(c));
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 &&
	    PQnfields(r) > 0)
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	PQfinish(c);
	return v;
}

static char fx_dbname[64];
static char fx_base_copy[400];

/* Drops this process's database at exit. */
static void
fx_pg_drop(void)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)",
	    fx_dbname);
	pg_sql(fx_base_copy, sql);
}

long long
fx_pg_sql(const struct fx *fx, const char *sql)
{
	assert_true(fx->pg);
	return pg_sql(fx->url, sql);
}

int
fx_open(const struct fx *fx, struct db **db, struct gw_err *err)
{
	if (fx->pg)
		return db_open_url(db, fx->url, NULL, "test", 0, err);
	return db_open(db, fx->path, err);
}

int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	const char *base = fx_pg_base();
	struct gw_err err;
	char sql[128];

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_db.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/gw.db", fx->dir);
	if (base[0] != '\0') {
		fx->pg = true;
		if (fx_dbname[0] == '\0') {
			snprintf(fx_dbname, sizeof(fx_dbname), "gwtest_%ld",
			    (long)getpid());
			snprintf(fx_base_copy, sizeof(fx_base_copy), "%s",
			    base);
			snprintf(sql, sizeof(sql), "CREATE DATABASE %s",
			    fx_dbname);
			pg_sql(base, sql);
			atexit(fx_pg_drop);
		}
		snprintf(fx->url, sizeof(fx->url), "%s dbname=%s", base,
		    fx_dbname);
		pg_sql(fx->url,
		    "DROP SCHEMA public CASCADE; CREATE SCHEMA public");
	}
	gw_err_clear(&err);
	if (fx_open(fx, &fx->db, &err) != 0)
		fail_msg("open: %s", err.msg);
	*state = fx;
	return 0;
}

int
teardown(void **state)
{
	struct fx *fx = *state;
	const char *sfx[] = { "", "-wal", "-shm", "-journal", ".lock" };
	char p[128];
	size_t i;

	db_close(fx->db);
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", fx->path, sfx[i]);
		unlink(p);
	}
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* A 32-byte hash whose bytes are all b. */
void
hash_fill(uint8_t h[32], uint8_t b)
{
	memset(h, b, 32);
}

int64_t
put_challenge(struct db *db, uint8_t b, int64_t expires, const char *cn,
    const char *email, const char *ou)
{
	struct gw_err err;
	uint8_t h[32];
	int64_t id = 0;

	hash_fill(h, b);
	assert_int_equal(db_challenge_put(db, h, NOW, expires, cn, email, ou,
			     &id, &err),
	    0);
	assert_true(id > 0);
	return id;
}

/* Runs db_txn_start() for txid with challenge byte b (0: no challenge). */
enum db_start
start(struct db *db, const char *txid, uint8_t b, int64_t now, struct db_txn *t)
{
	struct db_txn_new n;
	struct gw_err err;
	uint8_t ch[32], csr[32];
	enum db_start res;

	hash_fill(ch, b);
	hash_fill(csr, 0xc5);
	memset(&n, 0, sizeof(n));
	n.txid = txid;
	n.csr_sha256 = csr;
	n.challenge_sha256 = b != 0 ? ch : NULL;
	n.csr_cn = "csr-cn";
	n.csr_email = "csr@example.org";
	n.csr_pem = "-----BEGIN CERTIFICATE REQUEST-----\n";
	n.now = now;
	gw_err_clear(&err);
	if (db_txn_start(db, &n, &res, t, &err) != 0)
		fail_msg("db_txn_start %s: %s", txid, err.msg);
	return res;
}

/* Issues a certificate row with serial for a new transaction txid. */
void
issue_cert(struct db *db, const char *txid, const char *serial)
{
	static const uint8_t der[] = { 0x30, 0x03, 0x02, 0x01, 0x07 };
	struct db_txn t;
	struct gw_err err;

	assert_int_equal(start(db, txid, 0, NOW, &t), DB_START_OK);
	db_txn_cleanup(&t);
	assert_int_equal(db_txn_set_issued(db, txid, "ORD-R", der, sizeof(der),
			     serial, NOW + 86400, "CN=r", NOW, &err),
	    0);
}
