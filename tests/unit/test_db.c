/*
 * Unit tests for db/: opening and migrating, challenges, and the atomic
 * db_txn_start() (every outcome, nothing written on refusal). The other
 * topics: test_db_txn.c (state updates, certificates, renewals),
 * test_db_race.c (races, group commit), test_db_user.c (NDES users, admin
 * listings); the fixture is test_db_common.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "gw_err.h"
#include "db.h"
#include "test_db_common.h"

static void
test_open_schema(void **state)
{
	struct fx *fx = *state;
	struct gw_err err;
	struct stat sb;
	struct db *db2 = NULL;
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;

	if (fx->pg) {
		/* PostgreSQL's own list: version 7; a second open keeps
		 * it; a database from a newer program is refused. */
		assert_int_equal(db_schema_version(fx->db), 8);
		assert_string_equal(db_backend_name(fx->db), "postgresql");
		assert_int_equal(fx_open(fx, &db2, &err), 0);
		assert_int_equal(db_schema_version(db2), 8);
		db_close(db2);
		fx_pg_sql(fx, "UPDATE scepgw_schema SET version = 99");
		gw_err_clear(&err);
		assert_int_equal(fx_open(fx, &db2, &err), -1);
		assert_null(db2);
		assert_int_equal(err.code, DB_ERR_SCHEMA);
		assert_non_null(strstr(err.msg, "99"));
		fx_pg_sql(fx, "UPDATE scepgw_schema SET version = 8");
		return;
	}
	assert_int_equal(db_schema_version(fx->db), 16);
	assert_int_equal(stat(fx->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* A second open of a migrated file keeps its version. */
	assert_int_equal(db_open(&db2, fx->path, &err), 0);
	assert_int_equal(db_schema_version(db2), 16);
	db_close(db2);
	/* The file is in WAL mode. */
	assert_int_equal(sqlite3_open(fx->path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &st,
			     NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	/* A file from a newer program is refused. */
	assert_int_equal(sqlite3_exec(h, "PRAGMA user_version = 99", NULL, NULL,
			     NULL),
	    SQLITE_OK);
	sqlite3_close(h);
	gw_err_clear(&err);
	assert_int_equal(db_open(&db2, fx->path, &err), -1);
	assert_null(db2);
	assert_int_equal(err.code, DB_ERR_SCHEMA);
	assert_non_null(strstr(err.msg, "99"));
}

static void
test_open_bad_path(void **state)
{
	struct gw_err err;
	struct db *db = (struct db *)state;

	gw_err_clear(&err);
	assert_int_equal(db_open(&db, "/nonexistent/dir/gw.db", &err), -1);
	assert_null(db);
	assert_non_null(strstr(err.msg, "No such file"));
	/* A malformed [db] url is refused before any connection. */
	db = (struct db *)state;
	gw_err_clear(&err);
	assert_int_equal(db_open_url(&db, "postgresql://[::1", NULL, NULL, 0,
			     &err),
	    -1);
	assert_null(db);
	assert_int_equal(err.code, DB_ERR_ARG);
	assert_non_null(strstr(err.msg, "[db] url"));
}

struct ch_seen {
	int n;
	int stop_after;
	struct db_challenge last;
};

static int
ch_cb(void *arg, const struct db_challenge *c)
{
	struct ch_seen *s = arg;

	s->n++;
	db_challenge_cleanup(&s->last);
	s->last.id = c->id;
	s->last.used = c->used;
	s->last.revoked = c->revoked;
	s->last.expires = c->expires;
	s->last.cn = c->cn != NULL ? strdup(c->cn) : NULL;
	s->last.txid = c->txid != NULL ? strdup(c->txid) : NULL;
	s->last.upn = c->upn != NULL ? strdup(c->upn) : NULL;
	return s->stop_after != 0 && s->n >= s->stop_after;
}

/*
 * One server per SQLite file (db_serve_lock()): a second handle cannot
 * claim it while the first holds it, after a wait, and can once the first
 * is closed; the CLI's handles, which do not claim it, are not refused.
 * PostgreSQL: several servers share the database (their leases keep
 * their orders apart), so every handle's claim succeeds at once.
 */
static void
test_serve_lock(void **state)
{
	struct fx *fx = *state;
	struct gw_err err;
	struct db *db2 = NULL;
	struct stat sb;
	char lock[sizeof(fx->path) + 8];

	gw_err_clear(&err);
	assert_int_equal(db_serve_lock(fx->db, &err), 0);
	assert_int_equal(db_serve_lock(fx->db, &err), 0); /* again: held */
	snprintf(lock, sizeof(lock), "%s.lock", fx->path);
	if (!fx->pg) {
		assert_int_equal(stat(lock, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0600);
	}
	assert_int_equal(fx_open(fx, &db2, &err), 0);
	if (fx->pg) {
		assert_int_equal(db_serve_lock(db2, &err), 0);
		db_close(db2);
		return;
	}
	assert_int_equal(db_serve_lock(db2, &err), -1);
	assert_int_equal(err.code, DB_ERR_BUSY);
	assert_non_null(strstr(err.msg, "another scepgw serve"));
	if (!fx->pg)
		assert_non_null(strstr(err.msg, lock));
	db_close(fx->db);
	fx->db = NULL;
	gw_err_clear(&err);
	assert_int_equal(db_serve_lock(db2, &err), 0);
	db_close(db2);
}

static void
test_challenge_put_list_revoke(void **state)
{
	struct fx *fx = *state;
	struct ch_seen s;
	struct gw_err err;
	uint8_t h[32];
	int64_t id1, id2;

	id1 = put_challenge(fx->db, 1, NOW + 60, "alice", NULL, NULL);
	id2 = put_challenge(fx->db, 2, NOW + 60, NULL, NULL, NULL);
	assert_true(id2 > id1);
	/* The same secret twice is refused. */
	hash_fill(h, 1);
	gw_err_clear(&err);
	assert_int_equal(db_challenge_put(fx->db, h, NOW, NOW + 1, NULL, NULL,
			     NULL, NULL, &err),
	    -1);
	if (fx->pg) { /* SQLSTATE 23505 */
		assert_int_equal(err.code, DB_ERR_EXISTS);
		assert_non_null(strstr(err.msg, "unique"));
	} else {
		assert_int_equal(err.code, DB_ERR_SQL);
		assert_non_null(strstr(err.msg, "UNIQUE"));
	}

	assert_int_equal(db_challenge_revoke(fx->db, id2, &err), 0);
	assert_int_equal(db_challenge_revoke(fx->db, id2, &err), 0);
	gw_err_clear(&err);
	assert_int_equal(db_challenge_revoke(fx->db, 9999, &err), -1);
	assert_int_equal(err.code, DB_ERR_NOTFOUND);

	memset(&s, 0, sizeof(s));
	assert_int_equal(db_challenge_list(fx->db, ch_cb, &s, &err), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.last.id, id2);
	assert_true(s.last.revoked);
	assert_null(s.last.cn);
	/* A callback returning non-zero stops the walk. */
	s.n = 0;
	s.stop_after = 1;
	assert_int_equal(db_challenge_list(fx->db, ch_cb, &s, &err), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.last.id, id1);
	assert_string_equal(s.last.cn, "alice");
	assert_false(s.last.revoked);
	db_challenge_cleanup(&s.last);
}

/* One row of the db_txn_start() outcome table. */
struct start_case {
	const char *name;
	int64_t expires; /* relative to NOW */
	bool revoke;
	bool pre_use; /* consumed by another transaction first */
	uint8_t use;  /* hash byte presented; 0x77 = unknown */
	enum db_start want;
};

static const struct start_case start_cases[] = {
	{ "fresh", 60, false, false, 0x10, DB_START_OK },
	{ "unknown", 60, false, false, 0x77, DB_START_CHALLENGE_BAD },
	{ "revoked", 60, true, false, 0x10, DB_START_CHALLENGE_REVOKED },
	{ "used", 60, false, true, 0x10, DB_START_CHALLENGE_USED },
	{ "expired", -1, false, false, 0x10, DB_START_CHALLENGE_EXPIRED },
	{ "expires-now", 0, false, false, 0x10, DB_START_CHALLENGE_EXPIRED },
	{ "revoked-and-used", 60, true, true, 0x10,
	    DB_START_CHALLENGE_REVOKED },
};

static void
test_txn_start_outcomes(void **state)
{
	struct fx *fx = *state;
	struct db_txn t;
	struct gw_err err;
	struct ch_seen s;
	size_t i;
	int64_t id;

	for (i = 0; i < sizeof(start_cases) / sizeof(start_cases[0]); i++) {
		const struct start_case *c = &start_cases[i];
		char txid[32];

		/* A fresh database per row. */
		teardown(state);
		setup(state);
		fx = *state;
		id = put_challenge(fx->db, 0x10, NOW + c->expires, NULL, NULL,
		    NULL);
		if (c->pre_use) {
			assert_int_equal(start(fx->db, "first", 0x10, NOW, &t),
			    DB_START_OK);
			db_txn_cleanup(&t);
		}
		if (c->revoke)
			assert_int_equal(db_challenge_revoke(fx->db, id, &err),
			    0);
		snprintf(txid, sizeof(txid), "tx-%s", c->name);
		print_message("case %s\n", c->name);
		assert_int_equal(start(fx->db, txid, c->use, NOW, &t), c->want);
		if (c->want == DB_START_OK) {
			assert_string_equal(t.txid, txid);
			assert_int_equal(t.state, DB_TXN_ORDERING);
			assert_int_equal(t.challenge_id, id);
		} else {
			/* Nothing written: no transaction, challenge as before.
			 */
			assert_null(t.txid);
			db_txn_cleanup(&t);
			assert_int_equal(db_txn_get(fx->db, txid, &t, &err), 1);
			memset(&s, 0, sizeof(s));
			assert_int_equal(db_challenge_list(fx->db, ch_cb, &s,
					     &err),
			    0);
			assert_int_equal(s.n, 1);
			if (c->pre_use)
				assert_string_equal(s.last.txid, "first");
			else
				assert_int_equal(s.last.used, 0);
			db_challenge_cleanup(&s.last);
		}
		db_txn_cleanup(&t);
	}
}

static void
test_txn_start_retry_and_identity(void **state)
{
	struct fx *fx = *state;
	struct db_txn t, t2;
	struct gw_err err;
	struct ch_seen s;
	uint8_t csr[32];

	put_challenge(fx->db, 0x21, NOW + 60, "bound-cn", NULL, "Sales");
	assert_int_equal(start(fx->db, "tx1", 0x21, NOW, &t), DB_START_OK);
	assert_int_equal(t.state, DB_TXN_ORDERING);
	assert_string_equal(t.cn, "bound-cn");
	assert_string_equal(t.email, "csr@example.org");
	assert_string_equal(t.ou, "Sales");
	assert_non_null(t.csr_pem);
	assert_int_equal(t.created, NOW);
	hash_fill(csr, 0xc5);
	assert_memory_equal(t.csr_sha256, csr, 32);

	/* The retry (same txid, even a used challenge) finds the original. */
	assert_int_equal(start(fx->db, "tx1", 0x21, NOW + 5, &t2),
	    DB_START_EXISTS);
	assert_int_equal(t2.id, t.id);
	assert_string_equal(t2.cn, "bound-cn");
	db_txn_cleanup(&t2);

	/* The challenge records who consumed it and when. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(db_challenge_list(fx->db, ch_cb, &s, &err), 0);
	assert_int_equal(s.last.used, NOW);
	assert_string_equal(s.last.txid, "tx1");
	db_challenge_cleanup(&s.last);

	/* Renewal: no challenge, identity from the CSR. */
	assert_int_equal(start(fx->db, "renew", 0, NOW, &t2), DB_START_OK);
	assert_int_equal(t2.challenge_id, 0);
	assert_string_equal(t2.cn, "csr-cn");
	assert_null(t2.ou);
	db_txn_cleanup(&t2);

	assert_int_equal(db_txn_get(fx->db, "tx1", &t2, &err), 0);
	assert_int_equal(t2.id, t.id);
	db_txn_cleanup(&t2);
	assert_int_equal(db_txn_get(fx->db, "nope", &t2, &err), 1);
	db_txn_cleanup(&t);
}

/*
 * A challenge's UPN binding is stored, listed and peeked; a transaction
 * keeps the UPN decided for it, which the reconciler re-orders with.
 */
static void
test_upn_binding_and_txn(void **state)
{
	struct fx *fx = *state;
	const struct db_challenge_bind b = { "alice", NULL, NULL,
		"alice@corp.example", NULL };
	struct db_challenge c;
	struct db_txn_new n;
	struct db_txn t;
	struct gw_err err;
	struct ch_seen s;
	enum db_start res;
	uint8_t h[32], csr[32];
	int64_t id;

	hash_fill(h, 0x71);
	assert_int_equal(db_challenge_put_bound(fx->db, h, NOW, NOW + 60, &b,
			     &id, &err),
	    0);
	assert_int_equal(db_challenge_peek(fx->db, h, NOW, &c, &res, &err), 0);
	assert_int_equal(res, DB_START_OK);
	assert_string_equal(c.upn, "alice@corp.example");
	db_challenge_cleanup(&c);
	memset(&s, 0, sizeof(s));
	assert_int_equal(db_challenge_list(fx->db, ch_cb, &s, &err), 0);
	assert_string_equal(s.last.upn, "alice@corp.example");
	db_challenge_cleanup(&s.last);

	hash_fill(csr, 0xc7);
	memset(&n, 0, sizeof(n));
	n.txid = "tx-upn";
	n.csr_sha256 = csr;
	n.challenge_sha256 = h;
	n.csr_cn = "alice";
	n.csr_pem = "-----BEGIN CERTIFICATE REQUEST-----\n";
	n.now = NOW;
	n.identity_final = true;
	n.upn = "alice@corp.example";
	assert_int_equal(db_txn_start(fx->db, &n, &res, &t, &err), 0);
	assert_int_equal(res, DB_START_OK);
	assert_string_equal(t.upn, "alice@corp.example");
	db_txn_cleanup(&t);
	assert_int_equal(db_txn_get(fx->db, "tx-upn", &t, &err), 0);
	assert_string_equal(t.upn, "alice@corp.example");
	db_txn_cleanup(&t);

	/* No UPN decided: none stored. */
	n.txid = "tx-no-upn";
	n.challenge_sha256 = NULL;
	n.upn = NULL;
	assert_int_equal(db_txn_start(fx->db, &n, &res, &t, &err), 0);
	assert_null(t.upn);
	db_txn_cleanup(&t);
}

static void
test_txn_start_bad_args(void **state)
{
	struct fx *fx = *state;
	struct db_txn_new n;
	struct db_txn t;
	struct gw_err err;
	enum db_start res;

	memset(&n, 0, sizeof(n));
	n.now = NOW;
	gw_err_clear(&err);
	assert_int_equal(db_txn_start(fx->db, &n, &res, &t, &err), -1);
	assert_int_equal(err.code, DB_ERR_ARG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_schema, setup,
		    teardown),
		cmocka_unit_test(test_open_bad_path),
		cmocka_unit_test_setup_teardown(test_serve_lock, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_challenge_put_list_revoke,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_start_outcomes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_txn_start_retry_and_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upn_binding_and_txn, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_txn_start_bad_args, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
