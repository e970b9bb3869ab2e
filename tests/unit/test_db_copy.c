/*
 * Copying an instance (db/db_copy.c, db_sq_copy.c, db_pg_copy.c; README
 * "PostgreSQL", "Moving an instance"): the read-only source handle, the
 * per-table sums, and db_copy() from a SQLite file into the PostgreSQL
 * database of the ctest fixture (those cases skip on SQLite): every row
 * and value arrives, odd text included; the sequences continue after the
 * copied ids; a non-empty target is refused; a copy failing midway
 * leaves the target empty; the columns follow the schemas.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "gw_err.h"
#include "db.h"
#include "db_int.h"
#include "test_db_common.h"

/* Text every column type must carry through COPY's escapes. */
#define ODD_CN "tab\there back\\slash new\nline cr\r \\N \xc3\xa9"

/* The source file of a test: fx->dir/src.db. */
static void
src_path(const struct fx *fx, char *p, size_t n)
{
	snprintf(p, n, "%s/src.db", fx->dir);
}

/* Runs sql on the SQLite file at path, outside the gateway's code (no
 * foreign keys): what an old or damaged file may hold. */
static void
sq_raw(const char *path, const char *sql)
{
	sqlite3 *h = NULL;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(h);
}

/* Removes the source file and its companions. */
static void
src_remove(const char *path)
{
	const char *sfx[] = { "", "-wal", "-shm", ".lock" };
	char p[160];
	size_t i;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		unlink(p);
	}
}

/*
 * Fills a SQLite instance at path: an unused, a used and a revoked
 * challenge; an ORDERING transaction owned by an incarnation, an ISSUED
 * one whose certificate is revoked, a FAILED one with GlobalSign's
 * error; an NDES user; licence counts.
 */
static void
src_fill(const char *path)
{
	struct db_challenge_bind b = { ODD_CN, "a@example.org", "OU 1", "u@x",
		"kiosk" };
	struct gw_err err;
	struct db_txn t;
	struct db *db = NULL;
	uint8_t h[32];
	int64_t id = 0, node = 0;

	assert_int_equal(db_open(&db, path, &err), 0);
	hash_fill(h, 0x01);
	assert_int_equal(db_challenge_put_bound(db, h, NOW, NOW + 3600, &b, &id,
			     &err),
	    0);
	put_challenge(db, 0x02, NOW + 3600, NULL, NULL, NULL);
	id = put_challenge(db, 0x03, NOW + 3600, "rev", NULL, NULL);
	assert_int_equal(db_challenge_revoke(db, id, &err), 0);
	assert_int_equal(db_node_register(db, "old", 60, NULL, "v1", &node,
			     &err),
	    0);
	assert_int_equal(start(db, "open", 0x02, NOW, &t), DB_START_OK);
	db_txn_cleanup(&t);
	assert_int_equal(db_txn_set_order(db, "open", "ORD-OPEN", NOW, &err),
	    0);
	issue_cert(db, "done", "0A0B");
	assert_int_equal(db_cert_set_revoked(db, "0A0B", NOW + 5,
			     "keyCompromise", &err),
	    0);
	assert_int_equal(start(db, "bad", 0, NOW, &t), DB_START_OK);
	db_txn_cleanup(&t);
	assert_int_equal(db_txn_set_failed_epki(db, "bad", 2, "refused", -6101,
			     "no licence", NOW, &err),
	    0);
	assert_int_equal(db_user_add(db, "mdm", "pw 1", true, "default,kiosk",
			     NOW, &err),
	    0);
	assert_int_equal(db_user_add_role(db, "ops", "pw 2", false, NULL,
			     DB_ROLE_ADMIN, NOW, &err),
	    0);
	db_close(db);
}

/* A read-only handle creates nothing, migrates nothing, writes nothing,
 * and its serve lock is tried once. */
static void
test_copy_readonly_source(void **state)
{
	struct fx *fx = *state;
	struct db *ro = NULL, *ro2 = NULL;
	struct gw_err err;
	char path[128];
	struct stat st;
	int64_t id = 0;
	uint8_t h[32];

	src_path(fx, path, sizeof(path));
	assert_int_equal(db_open_readonly(&ro, path, &err), -1);
	assert_int_equal(stat(path, &st), -1);
	src_fill(path);
	assert_int_equal(db_open_readonly(&ro, path, &err), 0);
	/* The file src_fill() made is at this program's schema version. */
	int ver = db_schema_version(ro);
	assert_true(ver >= 10);
	hash_fill(h, 0x44);
	assert_int_equal(db_challenge_put(ro, h, NOW, NOW + 60, NULL, NULL,
			     NULL, &id, &err),
	    -1);
	assert_int_equal(db_serve_lock(ro, &err), 0);
	assert_int_equal(db_open_readonly(&ro2, path, &err), 0);
	gw_err_clear(&err);
	assert_int_equal(db_serve_lock(ro2, &err), -1);
	assert_int_equal(err.code, DB_ERR_BUSY);
	db_close(ro2);
	db_close(ro);
	/* A file at an older schema is refused, not upgraded. */
	char sql[64], old[32];
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", ver - 1);
	snprintf(old, sizeof(old), "schema version %d", ver - 1);
	sq_raw(path, sql);
	gw_err_clear(&err);
	assert_int_equal(db_open_readonly(&ro, path, &err), -1);
	assert_int_equal(err.code, DB_ERR_SCHEMA);
	assert_non_null(strstr(err.msg, old));
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", ver);
	sq_raw(path, sql);
	src_remove(path);
}

/* The sum of a table does not depend on the rows' order, and changes
 * with any value; NULL and empty differ; db_copy_verify() names the
 * table that differs. */
static void
test_copy_sum(void **state)
{
	static const struct db_copy_table t = { "x", "a", false, NULL, 2,
		{ { "a", DB_COL_INT }, { "b", DB_COL_TEXT } } };
	struct db_copy_val r1[2] = { { false, 1, NULL, 0 },
		{ false, 0, (const uint8_t *)"one", 3 } };
	struct db_copy_val r2[2] = { { false, 2, NULL, 0 },
		{ false, 0, (const uint8_t *)"", 0 } };
	struct db_copy_val r3[2] = { { false, 2, NULL, 0 },
		{ true, 0, NULL, 0 } };
	struct db_copy_count c[1];
	struct gw_err err;

	(void)state;
	memset(c, 0, sizeof(c));
	c[0].table = "x";
	assert_int_equal(db_copy_sum_add(c[0].src_sum, &t, r1), 0);
	assert_int_equal(db_copy_sum_add(c[0].src_sum, &t, r2), 0);
	assert_int_equal(db_copy_sum_add(c[0].dst_sum, &t, r2), 0);
	assert_int_equal(db_copy_sum_add(c[0].dst_sum, &t, r1), 0);
	c[0].src_rows = c[0].dst_rows = 2;
	assert_int_equal(db_copy_verify(c, 1, &err), 0);
	/* r3 is r2 with NULL for "": another sum. */
	memset(c[0].dst_sum, 0, 32);
	assert_int_equal(db_copy_sum_add(c[0].dst_sum, &t, r1), 0);
	assert_int_equal(db_copy_sum_add(c[0].dst_sum, &t, r3), 0);
	gw_err_clear(&err);
	assert_int_equal(db_copy_verify(c, 1, &err), -1);
	assert_non_null(strstr(err.msg,
	    "x: 2 rows read from the source, 2 "
	    "in the target with other contents"));
	c[0].dst_rows = 1;
	assert_int_equal(db_copy_verify(c, 1, &err), -1);
	assert_non_null(strstr(err.msg,
	    "x: 2 rows read from the source, 1 "
	    "in the target;"));
}

/* Copies the source at path into fx's PostgreSQL database. */
static int
copy_from(struct fx *fx, const char *path, struct db_copy_count *counts,
    struct gw_err *err)
{
	struct db *ro = NULL;
	int rc;

	assert_int_equal(db_open_readonly(&ro, path, err), 0);
	assert_int_equal(db_serve_lock(ro, err), 0);
	gw_err_clear(err);
	rc = db_copy(ro, fx->db, counts, err);
	db_close(ro);
	return rc;
}

/* Every row and value arrives; the target continues after the copied
 * ids; an instance is not copied twice. */
static void
test_copy_into_postgresql(void **state)
{
	static const int64_t rows[DB_COPY_TABLES] = { 3, 3, 1, 2, 1, 7 };
	struct db_copy_count counts[DB_COPY_TABLES];
	struct fx *fx = *state;
	struct db_challenge c;
	struct db_cert ct;
	struct db_txn t;
	struct gw_err err;
	enum db_start res;
	char path[128];
	enum db_user_role role = DB_ROLE_NDES;
	bool can = false;
	int64_t used = 0, id = 0;
	uint8_t h[32];
	size_t i;

	if (!fx->pg)
		skip();
	src_path(fx, path, sizeof(path));
	src_fill(path);
	assert_int_equal(copy_from(fx, path, counts, &err), 0);
	for (i = 0; i < DB_COPY_TABLES; i++) {
		assert_int_equal(counts[i].src_rows, rows[i]);
		assert_int_equal(counts[i].dst_rows, rows[i]);
		assert_memory_equal(counts[i].src_sum, counts[i].dst_sum, 32);
	}
	assert_string_equal(counts[0].table, "challenges");
	assert_int_equal(counts[0].dst_next_id, 4);
	/* The open order: its OrderID and CSR kept, no owner. */
	assert_int_equal(db_txn_get(fx->db, "open", &t, &err), 0);
	assert_int_equal(t.state, DB_TXN_ORDERING);
	assert_string_equal(t.order_id, "ORD-OPEN");
	assert_non_null(t.csr_pem);
	assert_int_equal(t.owner, 0);
	assert_int_equal(t.challenge_id, 2);
	db_txn_cleanup(&t);
	assert_int_equal(db_txn_get(fx->db, "bad", &t, &err), 0);
	assert_int_equal(t.state, DB_TXN_FAILED);
	assert_int_equal(t.epki_code, -6101);
	assert_string_equal(t.epki_message, "no licence");
	db_txn_cleanup(&t);
	assert_int_equal(db_cert_get(fx->db, "0A0B", &ct, &err), 0);
	assert_int_equal(ct.revoked, NOW + 5);
	assert_string_equal(ct.revoke_reason, "keyCompromise");
	assert_string_equal(ct.txid, "done");
	db_cert_cleanup(&ct);
	/* The bound challenge, odd text and all; the others' states. */
	hash_fill(h, 0x01);
	assert_int_equal(db_challenge_peek(fx->db, h, NOW, &c, &res, &err), 0);
	assert_int_equal(res, DB_START_OK);
	assert_string_equal(c.cn, ODD_CN);
	assert_string_equal(c.upn, "u@x");
	assert_string_equal(c.profile, "kiosk");
	db_challenge_cleanup(&c);
	hash_fill(h, 0x03);
	assert_int_equal(db_challenge_peek(fx->db, h, NOW, &c, &res, &err), 0);
	assert_int_equal(res, DB_START_CHALLENGE_REVOKED);
	db_challenge_cleanup(&c);
	assert_int_equal(db_user_check(fx->db, "mdm", "pw 1", &can, &err), 0);
	assert_true(can);
	/* The console role goes with the user (README "Admin web console"). */
	assert_int_equal(db_user_check_role(fx->db, "ops", "pw 2", &can, &role,
			     &err),
	    0);
	assert_int_equal(role, DB_ROLE_ADMIN);
	assert_int_equal(db_licence_used(fx->db, "epki", &used, &err), 0);
	assert_int_equal(used, 2);
	/* New rows get ids after the copied ones. */
	id = put_challenge(fx->db, 0x55, NOW + 60, NULL, NULL, NULL);
	assert_int_equal(id, 4);
	/* Once more: refused, nothing added. */
	gw_err_clear(&err);
	assert_int_equal(copy_from(fx, path, counts, &err), -1);
	assert_int_equal(err.code, DB_ERR_EXISTS);
	assert_non_null(strstr(err.msg,
	    "already holds 4 challenges, 3 "
	    "transactions, 1 certificates, 2 "
	    "users, 1 licence_counts"));
	assert_int_equal(fx_pg_sql(fx, "SELECT count(*) FROM challenges"), 4);
	src_remove(path);
}

/* A row the target refuses (a certificate of no transaction: the last
 * table) rolls the whole copy back; a good source then copies. */
static void
test_copy_failure_leaves_target_empty(void **state)
{
	struct db_copy_count counts[DB_COPY_TABLES];
	struct fx *fx = *state;
	struct gw_err err;
	char path[128];

	if (!fx->pg)
		skip();
	src_path(fx, path, sizeof(path));
	src_fill(path);
	sq_raw(path,
	    "INSERT INTO certificates (serial_hex, txid, cert_der, "
	    "issued, not_after) VALUES ('0BAD', 'ghost', x'00', 1, 2)");
	gw_err_clear(&err);
	assert_int_equal(copy_from(fx, path, counts, &err), -1);
	assert_non_null(strstr(err.msg, "certificates"));
	assert_int_equal(fx_pg_sql(fx,
			     "SELECT (SELECT count(*) FROM challenges) + "
			     "(SELECT count(*) FROM transactions) + "
			     "(SELECT count(*) FROM certificates) + "
			     "(SELECT count(*) FROM users) + "
			     "(SELECT count(*) FROM licence_counts)"),
	    0);
	sq_raw(path, "DELETE FROM certificates WHERE serial_hex = '0BAD'");
	assert_int_equal(copy_from(fx, path, counts, &err), 0);
	assert_int_equal(counts[2].dst_rows, 1);
	src_remove(path);
}

/* The columns come from the schemas: one the target lacks, or a table
 * the copy does not know, stops the copy with nothing written; a column
 * added on both sides (a later migration) is copied as it is. */
static void
test_copy_follows_schema(void **state)
{
	struct db_copy_count counts[DB_COPY_TABLES];
	struct fx *fx = *state;
	struct gw_err err;
	char path[128];

	if (!fx->pg)
		skip();
	src_path(fx, path, sizeof(path));
	src_fill(path);
	sq_raw(path,
	    "ALTER TABLE transactions ADD COLUMN extra TEXT; "
	    "UPDATE transactions SET extra = 'x\ty' WHERE txid = 'bad'");
	gw_err_clear(&err);
	assert_int_equal(copy_from(fx, path, counts, &err), -1);
	assert_int_equal(err.code, DB_ERR_SCHEMA);
	assert_non_null(strstr(err.msg,
	    "transactions.extra: in the SQLite "
	    "database but not in PostgreSQL"));
	assert_int_equal(fx_pg_sql(fx, "SELECT count(*) FROM challenges"), 0);
	fx_pg_sql(fx, "ALTER TABLE transactions ADD COLUMN extra text");
	assert_int_equal(copy_from(fx, path, counts, &err), 0);
	assert_int_equal(fx_pg_sql(fx,
			     "SELECT count(*) FROM transactions WHERE "
			     "extra = E'x\\ty' AND txid = 'bad'"),
	    1);
	/* A table of the file that is not an instance's known table. */
	fx_pg_sql(fx,
	    "TRUNCATE challenges, transactions, certificates, "
	    "users, licence_counts");
	sq_raw(path, "CREATE TABLE later_feature (a INTEGER)");
	gw_err_clear(&err);
	assert_int_equal(copy_from(fx, path, counts, &err), -1);
	assert_int_equal(err.code, DB_ERR_SCHEMA);
	assert_non_null(strstr(err.msg,
	    "table later_feature: not one this "
	    "program copies"));
	assert_int_equal(fx_pg_sql(fx, "SELECT count(*) FROM challenges"), 0);
	src_remove(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_copy_readonly_source,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_sum, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_into_postgresql,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_copy_failure_leaves_target_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_follows_schema, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
