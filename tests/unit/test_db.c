/*
 * Unit tests for db/: opening and migrating, challenges, the atomic
 * db_txn_start() (every outcome, nothing written on refusal), the state
 * updates, the listings, and races on one challenge from several threads
 * with one shared handle and with one handle per thread.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
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

#define NOW 1700000000

struct fx {
	char dir[64];
	char path[96];
	struct db *db;
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct gw_err err;

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_db.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/gw.db", fx->dir);
	gw_err_clear(&err);
	assert_int_equal(db_open(&fx->db, fx->path, &err), 0);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;
	const char *sfx[] = { "", "-wal", "-shm", "-journal" };
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
static void
hash_fill(uint8_t h[32], uint8_t b)
{
	memset(h, b, 32);
}

static int64_t
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
static enum db_start
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
	assert_int_equal(db_txn_start(db, &n, &res, t, &err), 0);
	return res;
}

static void
test_open_schema(void **state)
{
	struct fx *fx = *state;
	struct gw_err err;
	struct stat sb;
	struct db *db2 = NULL;
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;

	assert_int_equal(db_schema_version(fx->db), 8);
	assert_int_equal(stat(fx->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* A second open of a migrated file keeps its version. */
	assert_int_equal(db_open(&db2, fx->path, &err), 0);
	assert_int_equal(db_schema_version(db2), 8);
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
	assert_int_equal(err.code, DB_ERR_SQL);
	assert_non_null(strstr(err.msg, "UNIQUE"));

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

struct tx_seen {
	int n;
	int stop_after;
	struct db *db; /* when set: fail each one from the callback */
	char txids[8][16];
};

static int
tx_cb(void *arg, const struct db_txn *t)
{
	struct tx_seen *s = arg;
	struct gw_err err;

	assert_int_equal(t->state, DB_TXN_ORDERING);
	if (s->n < 8)
		snprintf(s->txids[s->n], sizeof(s->txids[0]), "%s", t->txid);
	s->n++;
	if (s->db != NULL)
		assert_int_equal(db_txn_set_failed(s->db, t->txid, 2, "late",
				     NOW, &err),
		    0);
	return s->stop_after != 0 && s->n >= s->stop_after;
}

struct cert_seen {
	int n;
	char serial[32];
	char txid[16];
	char order[16];
	int64_t not_after;
};

static int
cert_cb(void *arg, const struct db_cert *c)
{
	struct cert_seen *s = arg;

	s->n++;
	snprintf(s->serial, sizeof(s->serial), "%s", c->serial_hex);
	snprintf(s->txid, sizeof(s->txid), "%s", c->txid);
	snprintf(s->order, sizeof(s->order), "%s", c->order_id);
	s->not_after = c->not_after;
	return 0;
}

static void
test_txn_state_updates(void **state)
{
	struct fx *fx = *state;
	static const uint8_t der[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };
	struct cert_seen cs;
	struct tx_seen ts;
	struct db_txn t;
	struct gw_err err;

	assert_int_equal(start(fx->db, "a", 0, NOW, &t), DB_START_OK);
	db_txn_cleanup(&t);
	assert_int_equal(start(fx->db, "b", 0, NOW, &t), DB_START_OK);
	db_txn_cleanup(&t);
	assert_int_equal(start(fx->db, "c", 0, NOW, &t), DB_START_OK);
	db_txn_cleanup(&t);

	assert_int_equal(db_txn_set_order(fx->db, "a", "ORD1", NOW + 1, &err),
	    0);
	/* order_id NULL keeps the one recorded before. */
	assert_int_equal(db_txn_set_issued(fx->db, "a", NULL, der, sizeof(der),
			     "0a1b", NOW + 86400, "CN=a", NOW + 2, &err),
	    0);
	assert_int_equal(db_txn_get(fx->db, "a", &t, &err), 0);
	assert_int_equal(t.state, DB_TXN_ISSUED);
	assert_string_equal(t.order_id, "ORD1");
	assert_int_equal(t.cert_len, sizeof(der));
	assert_memory_equal(t.cert_der, der, sizeof(der));
	assert_null(t.csr_pem);
	assert_int_equal(t.updated, NOW + 2);
	db_txn_cleanup(&t);

	/* A final transaction cannot move again; nothing is written. */
	gw_err_clear(&err);
	assert_int_equal(db_txn_set_issued(fx->db, "a", "X", der, sizeof(der),
			     "ffff", NOW, "CN=a", NOW + 3, &err),
	    -1);
	assert_int_equal(err.code, DB_ERR_STATE);
	assert_int_equal(db_txn_set_failed(fx->db, "a", 2, "x", NOW, &err), -1);
	assert_int_equal(err.code, DB_ERR_STATE);
	assert_int_equal(db_txn_set_order(fx->db, "zz", "O", NOW, &err), -1);
	assert_int_equal(err.code, DB_ERR_STATE);
	/* A duplicate serial rolls the ISSUED move back as well. */
	assert_int_equal(db_txn_set_issued(fx->db, "b", "ORD2", der,
			     sizeof(der), "0a1b", NOW, "CN=b", NOW, &err),
	    -1);
	assert_int_equal(err.code, DB_ERR_SQL);
	assert_int_equal(db_txn_get(fx->db, "b", &t, &err), 0);
	assert_int_equal(t.state, DB_TXN_ORDERING);
	assert_null(t.order_id);
	db_txn_cleanup(&t);

	assert_int_equal(db_txn_set_failed(fx->db, "c", 2, "badRequest",
			     NOW + 4, &err),
	    0);
	assert_int_equal(db_txn_get(fx->db, "c", &t, &err), 0);
	assert_int_equal(t.state, DB_TXN_FAILED);
	assert_int_equal(t.fail_info, 2);
	assert_string_equal(t.fail_text, "badRequest");
	db_txn_cleanup(&t);

	memset(&cs, 0, sizeof(cs));
	assert_int_equal(db_cert_list(fx->db, cert_cb, &cs, &err), 0);
	assert_int_equal(cs.n, 1);
	assert_string_equal(cs.serial, "0a1b");
	assert_string_equal(cs.txid, "a");
	assert_string_equal(cs.order, "ORD1");
	assert_int_equal(cs.not_after, NOW + 86400);

	/* Only "b" is still ORDERING. */
	memset(&ts, 0, sizeof(ts));
	assert_int_equal(db_txn_list_unfinished(fx->db, tx_cb, &ts, &err), 0);
	assert_int_equal(ts.n, 1);
	assert_string_equal(ts.txids[0], "b");
}

static void
test_txn_list_unfinished(void **state)
{
	struct fx *fx = *state;
	struct tx_seen ts;
	struct db_txn t;
	struct gw_err err;
	char txid[16];
	int i;

	for (i = 0; i < 5; i++) {
		snprintf(txid, sizeof(txid), "t%d", i);
		assert_int_equal(start(fx->db, txid, 0, NOW, &t), DB_START_OK);
		db_txn_cleanup(&t);
	}
	memset(&ts, 0, sizeof(ts));
	ts.stop_after = 2;
	assert_int_equal(db_txn_list_unfinished(fx->db, tx_cb, &ts, &err), 0);
	assert_int_equal(ts.n, 2);
	assert_string_equal(ts.txids[1], "t1");
	/* The callback may write: the reconciler finishes orders from it. */
	memset(&ts, 0, sizeof(ts));
	ts.db = fx->db;
	assert_int_equal(db_txn_list_unfinished(fx->db, tx_cb, &ts, &err), 0);
	assert_int_equal(ts.n, 5);
	memset(&ts, 0, sizeof(ts));
	assert_int_equal(db_txn_list_unfinished(fx->db, tx_cb, &ts, &err), 0);
	assert_int_equal(ts.n, 0);
}

/* Issues a certificate row with serial for a new transaction txid. */
static void
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

/* Starts a renewal txid of serial renews on profile (no challenge). */
static enum db_start
start_renewal(struct db *db, const char *txid, const char *renews,
    const char *profile)
{
	struct db_txn_new n;
	struct db_txn t;
	struct gw_err err;
	uint8_t csr[32];
	enum db_start res;

	hash_fill(csr, 0xc6);
	memset(&n, 0, sizeof(n));
	n.txid = txid;
	n.csr_sha256 = csr;
	n.csr_cn = "renewed-cn";
	n.now = NOW;
	n.profile = profile;
	n.renews = renews;
	gw_err_clear(&err);
	assert_int_equal(db_txn_start(db, &n, &res, &t, &err), 0);
	if (res == DB_START_OK && renews != NULL) {
		assert_non_null(t.renews);
		assert_string_equal(t.renews, renews);
	} else if (res == DB_START_OK) {
		assert_null(t.renews);
	} else {
		assert_null(t.txid);
	}
	db_txn_cleanup(&t);
	return res;
}

/* Looks serial up for a renewal; returns what db_cert_renewal() does. */
static int
renewal_get(struct db *db, const char *serial, struct db_cert_renewal *r)
{
	struct gw_err err;

	gw_err_clear(&err);
	return db_cert_renewal(db, serial, r, &err);
}

/*
 * db_cert_renewal() and the one-live-successor rule of db_txn_start():
 * the issuing transaction's state and profile (also once archived), the
 * successor while it is ORDERING or ISSUED, a FAILED renewal freeing the
 * slot, the successor renewing in its turn, and a revoked successor still
 * counting.
 */
static void
test_cert_renewal_successor(void **state)
{
	static const uint8_t der[] = { 0x30, 0x03, 0x02, 0x01, 0x0b };
	struct fx *fx = *state;
	struct db_cert_renewal r;
	struct db_txn t;
	struct gw_err err;

	assert_int_equal(renewal_get(fx->db, "0A", &r), 1);
	assert_null(r.cert.der);
	assert_int_equal(start_renewal(fx->db, "first", NULL, "kiosk"),
	    DB_START_OK);
	assert_int_equal(db_txn_set_issued(fx->db, "first", "ORD-1", der,
			     sizeof(der), "0A", NOW + 86400, "CN=a", NOW, &err),
	    0);
	assert_int_equal(renewal_get(fx->db, "0A", &r), 0);
	assert_int_equal(r.txn_state, DB_TXN_ISSUED);
	assert_string_equal(r.profile, "kiosk");
	assert_null(r.successor);
	assert_int_equal(r.cert.der_len, sizeof(der));
	assert_memory_equal(r.cert.der, der, sizeof(der));
	assert_int_equal(r.cert.not_after, NOW + 86400);
	db_cert_renewal_cleanup(&r);

	/* One live successor: a second renewal is refused, nothing kept. */
	assert_int_equal(start_renewal(fx->db, "r1", "0A", "kiosk"),
	    DB_START_OK);
	assert_int_equal(renewal_get(fx->db, "0A", &r), 0);
	assert_string_equal(r.successor, "r1");
	db_cert_renewal_cleanup(&r);
	assert_int_equal(start_renewal(fx->db, "r2", "0A", "kiosk"),
	    DB_START_RENEWED);
	assert_int_equal(db_txn_get(fx->db, "r2", &t, &err), 1);

	/* A failed renewal frees the slot. */
	assert_int_equal(db_txn_set_failed(fx->db, "r1", 2, "refused", NOW,
			     &err),
	    0);
	assert_int_equal(renewal_get(fx->db, "0A", &r), 0);
	assert_null(r.successor);
	db_cert_renewal_cleanup(&r);
	assert_int_equal(start_renewal(fx->db, "r3", "0A", "kiosk"),
	    DB_START_OK);
	assert_int_equal(db_txn_set_issued(fx->db, "r3", "ORD-3", der,
			     sizeof(der), "0B", NOW + 86400, "CN=a", NOW, &err),
	    0);
	assert_int_equal(start_renewal(fx->db, "r4", "0A", "kiosk"),
	    DB_START_RENEWED);
	/* The successor renews in its turn. */
	assert_int_equal(start_renewal(fx->db, "r5", "0B", "kiosk"),
	    DB_START_OK);

	/* Archived under txid@N, the issuing transaction is still found. */
	assert_int_equal(db_txn_get(fx->db, "first", &t, &err), 0);
	assert_int_equal(db_txn_archive(fx->db, "first", t.id, &err), 0);
	db_txn_cleanup(&t);
	assert_int_equal(renewal_get(fx->db, "0A", &r), 0);
	assert_int_equal(r.txn_state, DB_TXN_ISSUED);
	assert_string_equal(r.profile, "kiosk");
	assert_string_equal(r.successor, "r3");
	db_cert_renewal_cleanup(&r);

	/* A revoked successor still counts: no second renewal. */
	assert_int_equal(db_cert_set_revoked(fx->db, "0B", NOW, NULL, &err), 0);
	assert_int_equal(start_renewal(fx->db, "r6", "0A", "kiosk"),
	    DB_START_RENEWED);
}

struct revoke_case {
	const char *serial;
	int64_t when;
	int rc;
	int code; /* err.code when rc is -1 */
};

static void
test_cert_set_revoked(void **state)
{
	static const struct revoke_case cases[] = {
		{ "0A1B", NOW + 10, 0, 0 },		   /* first time */
		{ "0A1B", NOW + 20, -1, DB_ERR_STATE },	   /* again */
		{ "FFFF", NOW + 10, -1, DB_ERR_NOTFOUND }, /* unknown */
		{ "0A1B", 0, -1, DB_ERR_ARG },		   /* no time */
		{ NULL, NOW, -1, DB_ERR_ARG },		   /* no serial */
		{ "0C0D", NOW + 30, 0, 0 },		   /* NULL reason */
	};
	struct fx *fx = *state;
	struct db_cert c;
	struct gw_err err;
	size_t i;

	issue_cert(fx->db, "r1", "0A1B");
	issue_cert(fx->db, "r2", "0C0D");
	assert_int_equal(db_cert_get(fx->db, "0A1B", &c, &err), 0);
	assert_int_equal(c.revoked, 0);
	assert_null(c.revoke_reason);
	db_cert_cleanup(&c);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		gw_err_clear(&err);
		assert_int_equal(db_cert_set_revoked(fx->db, cases[i].serial,
				     cases[i].when,
				     i == 5 ? NULL : "keyCompromise", &err),
		    cases[i].rc);
		if (cases[i].rc == -1)
			assert_int_equal(err.code, cases[i].code);
	}
	/* The first revocation stands: time, reason, and the DER intact. */
	assert_int_equal(db_cert_get(fx->db, "0A1B", &c, &err), 0);
	assert_int_equal(c.revoked, NOW + 10);
	assert_string_equal(c.revoke_reason, "keyCompromise");
	assert_string_equal(c.order_id, "ORD-R");
	assert_int_equal(c.der_len, 5);
	assert_int_equal(c.der[4], 0x07);
	db_cert_cleanup(&c);
	assert_int_equal(db_cert_get(fx->db, "0C0D", &c, &err), 0);
	assert_int_equal(c.revoked, NOW + 30);
	assert_null(c.revoke_reason);
	db_cert_cleanup(&c);
}

struct revoked_seen {
	int n;
	int64_t revoked[4];
	char reason[4][32];
};

static int
revoked_cb(void *arg, const struct db_cert *c)
{
	struct revoked_seen *s = arg;

	if (s->n < 4) {
		s->revoked[s->n] = c->revoked;
		snprintf(s->reason[s->n], sizeof(s->reason[0]), "%s",
		    c->revoke_reason != NULL ? c->revoke_reason : "-");
	}
	s->n++;
	return 0;
}

static void
test_cert_list_shows_revoked(void **state)
{
	struct fx *fx = *state;
	struct revoked_seen s;
	struct gw_err err;

	issue_cert(fx->db, "l1", "01");
	issue_cert(fx->db, "l2", "02");
	assert_int_equal(db_cert_set_revoked(fx->db, "02", NOW + 5,
			     "superseded", &err),
	    0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(db_cert_list(fx->db, revoked_cb, &s, &err), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.revoked[0], 0);
	assert_string_equal(s.reason[0], "-");
	assert_int_equal(s.revoked[1], NOW + 5);
	assert_string_equal(s.reason[1], "superseded");
}

#define RACERS 8

struct racer {
	pthread_barrier_t *bar;
	struct db *db; /* shared, or NULL: open one */
	const char *path;
	char txid[16];
	const char *renews; /* a renewal of this serial, no challenge */
	enum db_start res;
	int rc;
};

static void *
racer_run(void *arg)
{
	struct racer *r = arg;
	struct db *own = NULL, *db = r->db;
	struct db_txn_new n;
	struct db_txn t;
	struct gw_err err;
	uint8_t ch[32], csr[32];

	r->rc = -1;
	if (db == NULL) {
		if (db_open(&own, r->path, &err) != 0)
			return NULL;
		db = own;
	}
	hash_fill(ch, 0x42);
	hash_fill(csr, 0xc5);
	memset(&n, 0, sizeof(n));
	n.txid = r->txid;
	n.csr_sha256 = csr;
	n.challenge_sha256 = r->renews == NULL ? ch : NULL;
	n.renews = r->renews;
	n.now = NOW;
	pthread_barrier_wait(r->bar);
	r->rc = db_txn_start(db, &n, &r->res, &t, &err);
	db_txn_cleanup(&t);
	db_close(own);
	return NULL;
}

/* Races RACERS threads on one challenge; same_txid makes them retries. */
static void
race(struct fx *fx, bool shared, bool same_txid)
{
	struct racer r[RACERS];
	pthread_t th[RACERS];
	pthread_barrier_t bar;
	int i, ok = 0, lost = 0;

	put_challenge(fx->db, 0x42, NOW + 60, NULL, NULL, NULL);
	assert_int_equal(pthread_barrier_init(&bar, NULL, RACERS), 0);
	for (i = 0; i < RACERS; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].bar = &bar;
		r[i].db = shared ? fx->db : NULL;
		r[i].path = fx->path;
		snprintf(r[i].txid, sizeof(r[i].txid), "race%d",
		    same_txid ? 0 : i);
		assert_int_equal(pthread_create(&th[i], NULL, racer_run, &r[i]),
		    0);
	}
	for (i = 0; i < RACERS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&bar);
	for (i = 0; i < RACERS; i++) {
		assert_int_equal(r[i].rc, 0);
		if (r[i].res == DB_START_OK)
			ok++;
		else if (r[i].res ==
		    (same_txid ? DB_START_EXISTS : DB_START_CHALLENGE_USED))
			lost++;
	}
	assert_int_equal(ok, 1);
	assert_int_equal(lost, RACERS - 1);
}

/* Races RACERS renewals of one certificate, each with its own txid and
 * database handle: exactly one is recorded, the others are refused. */
static void
test_race_renewals(void **state)
{
	struct fx *fx = *state;
	struct racer r[RACERS];
	pthread_t th[RACERS];
	pthread_barrier_t bar;
	int i, ok = 0, lost = 0;

	issue_cert(fx->db, "orig", "0A0A");
	assert_int_equal(pthread_barrier_init(&bar, NULL, RACERS), 0);
	for (i = 0; i < RACERS; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].bar = &bar;
		r[i].db = i % 2 == 0 ? fx->db : NULL;
		r[i].path = fx->path;
		r[i].renews = "0A0A";
		snprintf(r[i].txid, sizeof(r[i].txid), "renew%d", i);
		assert_int_equal(pthread_create(&th[i], NULL, racer_run, &r[i]),
		    0);
	}
	for (i = 0; i < RACERS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&bar);
	for (i = 0; i < RACERS; i++) {
		assert_int_equal(r[i].rc, 0);
		if (r[i].res == DB_START_OK)
			ok++;
		else if (r[i].res == DB_START_RENEWED)
			lost++;
	}
	assert_int_equal(ok, 1);
	assert_int_equal(lost, RACERS - 1);
}

static void
test_race_shared_handle(void **state)
{
	race(*state, true, false);
}

static void
test_race_own_handles(void **state)
{
	race(*state, false, false);
}

static void
test_race_same_txid(void **state)
{
	race(*state, false, true);
}

/* ---- users of the NDES page, admin listings (db_user.c, db_list.c) ---- */

struct user_seen {
	int n;
	char names[4][16];
	bool can_issue[4];
	char profiles[4][32];
	char kdf[64];
};

static int
user_seen_fn(void *arg, const struct db_user *u)
{
	struct user_seen *s = arg;

	if (s->n < 4) {
		snprintf(s->names[s->n], sizeof(s->names[0]), "%s", u->name);
		s->can_issue[s->n] = u->can_issue;
		snprintf(s->profiles[s->n], sizeof(s->profiles[0]), "%s",
		    u->profiles);
		snprintf(s->kdf, sizeof(s->kdf), "%s", u->kdf);
	}
	s->n++;
	return 0;
}

struct user_bad_case {
	const char *name;
	const char *password;
};

/*
 * Group commit (db/db_batch.c): writers on one handle share commits, and
 * a write that fails inside a batch takes nothing else with it. Each
 * worker starts its transactions, then records them issued, half with
 * db_txn_set_issued_submit(); every fourth transaction's certificate
 * reuses the serial of the one before, which must fail alone.
 */
#define GC_WORKERS 6
#define GC_EACH 40

struct gc_worker {
	struct db *db;
	pthread_barrier_t *bar;
	int w;
	int failed_sync; /* sync writes that failed */
	int bad;	 /* unexpected outcomes */
	pthread_mutex_t *mu;
	pthread_cond_t *cv; /* broadcast at each submitted write's end */
	int *done_ok;	    /* under mu: submitted writes committed */
	int *done_failed;   /* under mu: submitted writes refused */
};

static void
gc_done(void *arg, int rc, const struct gw_err *err)
{
	struct gc_worker *g = arg;

	pthread_mutex_lock(g->mu);
	if (rc == 0)
		(*g->done_ok)++;
	else if (err->code == DB_ERR_SQL)
		(*g->done_failed)++;
	else
		g->bad++;
	pthread_cond_broadcast(g->cv);
	pthread_mutex_unlock(g->mu);
}

static void *
gc_run(void *arg)
{
	static const uint8_t der[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };
	struct gc_worker *g = arg;
	struct db_txn_new n;
	struct db_txn t;
	struct gw_err err;
	enum db_start res;
	uint8_t csr[32];
	char txid[32], serial[32];
	int i, rc;

	hash_fill(csr, 0xc5);
	pthread_barrier_wait(g->bar);
	for (i = 0; i < GC_EACH; i++) {
		snprintf(txid, sizeof(txid), "gc-%d-%d", g->w, i);
		memset(&n, 0, sizeof(n));
		n.txid = txid;
		n.csr_sha256 = csr;
		n.now = NOW;
		if (db_txn_start(g->db, &n, &res, &t, &err) != 0 ||
		    res != DB_START_OK)
			g->bad++;
		db_txn_cleanup(&t);
	}
	for (i = 0; i < GC_EACH; i++) {
		snprintf(txid, sizeof(txid), "gc-%d-%d", g->w, i);
		/* i % 4 == 3 reuses the serial of i - 1: refused. */
		snprintf(serial, sizeof(serial), "%02X%04X", g->w,
		    i % 4 == 3 ? i - 1 : i);
		if (i % 2 == 0) {
			rc = db_txn_set_issued(g->db, txid, "ORD", der,
			    sizeof(der), serial, NOW + 1, "CN=gc", NOW, &err);
			if (rc != 0 && err.code == DB_ERR_SQL)
				g->failed_sync++;
			else if (rc != 0)
				g->bad++;
		} else if (db_txn_set_issued_submit(g->db, txid, "ORD", der,
			       sizeof(der), serial, NOW + 1, "CN=gc", NOW,
			       gc_done, g, &err) != 0) {
			g->bad++;
		}
	}
	return NULL;
}

static void
test_group_commit_mixed(void **state)
{
	struct fx *fx = *state;
	struct gc_worker g[GC_WORKERS];
	pthread_t th[GC_WORKERS];
	pthread_barrier_t bar;
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
	struct timespec until;
	struct db_txn t;
	struct gw_err err;
	int i, k, done_ok = 0, done_failed = 0, failed_sync = 0, issued = 0;
	uint64_t batches, writes;
	char txid[32];

	assert_int_equal(pthread_barrier_init(&bar, NULL, GC_WORKERS), 0);
	for (i = 0; i < GC_WORKERS; i++) {
		memset(&g[i], 0, sizeof(g[i]));
		g[i].db = fx->db;
		g[i].bar = &bar;
		g[i].w = i;
		g[i].mu = &mu;
		g[i].cv = &cv;
		g[i].done_ok = &done_ok;
		g[i].done_failed = &done_failed;
		assert_int_equal(pthread_create(&th[i], NULL, gc_run, &g[i]),
		    0);
	}
	for (i = 0; i < GC_WORKERS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&bar);
	/* Every submitted write is reported, by the thread that led its
	 * commit (the writer thread, or a worker in a synchronous write). */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 30;
	pthread_mutex_lock(&mu);
	while (done_ok + done_failed < GC_WORKERS * GC_EACH / 2 &&
	    pthread_cond_timedwait(&cv, &mu, &until) == 0)
		;
	pthread_mutex_unlock(&mu);
	for (i = 0; i < GC_WORKERS; i++) {
		assert_int_equal(g[i].bad, 0);
		failed_sync += g[i].failed_sync;
	}
	/* i % 4 == 3 is odd: those are the submitted ones that fail. */
	assert_int_equal(failed_sync, 0);
	assert_int_equal(done_failed, GC_WORKERS * GC_EACH / 4);
	assert_int_equal(done_ok, GC_WORKERS * GC_EACH / 4);
	for (i = 0; i < GC_WORKERS; i++) {
		for (k = 0; k < GC_EACH; k++) {
			snprintf(txid, sizeof(txid), "gc-%d-%d", i, k);
			assert_int_equal(db_txn_get(fx->db, txid, &t, &err), 0);
			if (k % 4 == 3) {
				assert_int_equal(t.state, DB_TXN_ORDERING);
			} else {
				assert_int_equal(t.state, DB_TXN_ISSUED);
				issued++;
			}
			db_txn_cleanup(&t);
		}
	}
	assert_int_equal(issued, GC_WORKERS * GC_EACH * 3 / 4);
	/* Every write was counted, and some commits covered several. */
	db_write_stats(fx->db, &batches, &writes);
	assert_int_equal(writes, GC_WORKERS * GC_EACH * 2);
	assert_true(batches < writes);
}

/* Where and when a submitted start's completion ran. */
struct submit_seen {
	pthread_t caller;
	int calls;
	bool other_thread; /* not the submitting thread */
	int rc;
	enum db_start res;
};

static void
submit_done(void *arg, int rc, enum db_start res, const struct db_txn *t,
    const struct gw_err *err)
{
	struct submit_seen *s = arg;

	(void)t;
	(void)err;
	s->calls++;
	s->other_thread = !pthread_equal(s->caller, pthread_self());
	s->rc = rc;
	s->res = res;
}

/*
 * db_txn_start_submit() never commits on the caller's thread: the
 * database's writer thread does, runs the completion, and
 * db_write_flush() returns only after it. db_close() runs what is still
 * queued before it returns.
 */
static void
test_submit_on_writer_thread(void **state)
{
	struct fx *fx = *state;
	struct submit_seen s[3];
	struct db_txn_new n[3];
	struct db_txn t;
	struct gw_err err;
	uint8_t csr[32];
	char txid[3][16];
	int i;

	hash_fill(csr, 0xc5);
	memset(s, 0, sizeof(s));
	for (i = 0; i < 3; i++) {
		snprintf(txid[i], sizeof(txid[i]), "sub-%d", i);
		memset(&n[i], 0, sizeof(n[i]));
		n[i].txid = txid[i];
		n[i].csr_sha256 = csr;
		n[i].now = NOW;
		s[i].caller = pthread_self();
		assert_int_equal(db_txn_start_submit(fx->db, &n[i], submit_done,
				     &s[i], &err),
		    0);
	}
	db_write_flush(fx->db);
	for (i = 0; i < 3; i++) {
		assert_int_equal(s[i].calls, 1);
		assert_true(s[i].other_thread);
		assert_int_equal(s[i].rc, 0);
		assert_int_equal(s[i].res, DB_START_OK);
		assert_int_equal(db_txn_get(fx->db, txid[i], &t, &err), 0);
		assert_int_equal(t.state, DB_TXN_ORDERING);
		db_txn_cleanup(&t);
	}

	/* Submitted right before closing: committed and reported. */
	memset(&s[0], 0, sizeof(s[0]));
	s[0].caller = pthread_self();
	n[0].txid = "sub-last";
	assert_int_equal(db_txn_start_submit(fx->db, &n[0], submit_done, &s[0],
			     &err),
	    0);
	db_close(fx->db);
	fx->db = NULL;
	assert_int_equal(s[0].calls, 1);
	assert_int_equal(s[0].rc, 0);
	assert_int_equal(db_open(&fx->db, fx->path, &err), 0);
	assert_int_equal(db_txn_get(fx->db, "sub-last", &t, &err), 0);
	db_txn_cleanup(&t);
}

static void
test_user_add_check_remove(void **state)
{
	static const struct user_bad_case bad[] = {
		{ "", "pw" },
		{ "a:b", "pw" },
		{ "a b", "pw" },
		{ "tab\t", "pw" },
		{ "x123456789012345678901234567890123456789012345678901234567"
		  "8901234",
		    "pw" },
		{ "carol", "" },
	};
	struct fx *fx = *state;
	struct user_seen us;
	struct gw_err err;
	bool can = true;
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	size_t i;

	static const char *const bad_profiles[] = { "", ",", "a,", ",a", "a,,b",
		"a,a", "kiosk,default,kiosk", "a b", "a.b", "a;b" };
	char *profiles = NULL;

	assert_int_equal(db_user_add(fx->db, "alice", "s3cret pw", true,
			     "kiosk,default", NOW, &err),
	    0);
	assert_int_equal(db_user_add(fx->db, "bob", "s3cret pw", false, NULL,
			     NOW, &err),
	    0);
	gw_err_clear(&err);
	assert_int_equal(db_user_add(fx->db, "alice", "other", true, NULL, NOW,
			     &err),
	    -1);
	assert_int_equal(err.code, DB_ERR_EXISTS);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		gw_err_clear(&err);
		assert_int_equal(db_user_add(fx->db, bad[i].name,
				     bad[i].password, true, NULL, NOW, &err),
		    -1);
		assert_int_equal(err.code, DB_ERR_ARG);
	}
	/* Profile lists: names of the [profile NAME] rule, each once. */
	for (i = 0; i < sizeof(bad_profiles) / sizeof(bad_profiles[0]); i++) {
		print_message("profiles \"%s\"\n", bad_profiles[i]);
		assert_false(db_user_profiles_valid(bad_profiles[i]));
		gw_err_clear(&err);
		assert_int_equal(db_user_add(fx->db, "carol", "s3cret pw", true,
				     bad_profiles[i], NOW, &err),
		    -1);
		assert_int_equal(err.code, DB_ERR_ARG);
	}
	assert_true(db_user_profiles_valid("default"));
	assert_true(db_user_profiles_valid("a-1,B_2,default"));
	assert_int_equal(db_user_profiles(fx->db, "alice", &profiles, &err), 0);
	assert_string_equal(profiles, "kiosk,default");
	free(profiles);
	assert_int_equal(db_user_profiles(fx->db, "bob", &profiles, &err), 0);
	assert_string_equal(profiles, "default");
	free(profiles);
	assert_int_equal(db_user_profiles(fx->db, "mallory", &profiles, &err),
	    1);
	assert_null(profiles);
	assert_int_equal(db_user_set_profiles(fx->db, "alice", "vpn", &err), 0);
	assert_int_equal(db_user_profiles(fx->db, "alice", &profiles, &err), 0);
	assert_string_equal(profiles, "vpn");
	free(profiles);
	gw_err_clear(&err);
	assert_int_equal(db_user_set_profiles(fx->db, "alice", "a,a", &err),
	    -1);
	assert_int_equal(err.code, DB_ERR_ARG);
	gw_err_clear(&err);
	assert_int_equal(db_user_set_profiles(fx->db, "mallory", "vpn", &err),
	    -1);
	assert_int_equal(err.code, DB_ERR_NOTFOUND);
	assert_int_equal(db_user_set_profiles(fx->db, "alice", "kiosk,default",
			     &err),
	    0);

	assert_int_equal(db_user_check(fx->db, "alice", "s3cret pw", &can,
			     &err),
	    0);
	assert_true(can);
	assert_int_equal(db_user_check(fx->db, "alice", "s3cret pW", &can,
			     &err),
	    1);
	assert_false(can);
	assert_int_equal(db_user_check(fx->db, "alice", "", &can, &err), 1);
	assert_int_equal(db_user_check(fx->db, "mallory", "s3cret pw", &can,
			     &err),
	    1);
	assert_int_equal(db_user_check(fx->db, "a:b", "s3cret pw", &can, &err),
	    1);
	can = true;
	assert_int_equal(db_user_check(fx->db, "bob", "s3cret pw", &can, &err),
	    0);
	assert_false(can);

	memset(&us, 0, sizeof(us));
	assert_int_equal(db_user_list(fx->db, user_seen_fn, &us, &err), 0);
	assert_int_equal(us.n, 2);
	assert_string_equal(us.names[0], "alice");
	assert_true(us.can_issue[0]);
	assert_string_equal(us.names[1], "bob");
	assert_false(us.can_issue[1]);
	assert_string_equal(us.profiles[0], "kiosk,default");
	assert_string_equal(us.profiles[1], "default");
	assert_string_equal(us.kdf, "scrypt N=32768 r=8 p=1");

	/* Stored: a 16-byte salt and a 32-byte hash, different per user
	 * although the passwords are equal; never the password. */
	assert_int_equal(sqlite3_open(fx->path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h,
			     "SELECT count(DISTINCT salt), count(DISTINCT "
			     "hash), min(length(salt)), min(length(hash)), "
			     "sum(instr(hash, 's3cret')) FROM users",
			     -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 2);
	assert_int_equal(sqlite3_column_int(st, 1), 2);
	assert_int_equal(sqlite3_column_int(st, 2), 16);
	assert_int_equal(sqlite3_column_int(st, 3), 32);
	assert_int_equal(sqlite3_column_int(st, 4), 0);
	sqlite3_finalize(st);
	sqlite3_close(h);

	assert_int_equal(db_user_remove(fx->db, "alice", &err), 0);
	assert_int_equal(db_user_check(fx->db, "alice", "s3cret pw", &can,
			     &err),
	    1);
	gw_err_clear(&err);
	assert_int_equal(db_user_remove(fx->db, "alice", &err), -1);
	assert_int_equal(err.code, DB_ERR_NOTFOUND);
	memset(&us, 0, sizeof(us));
	assert_int_equal(db_user_list(fx->db, user_seen_fn, &us, &err), 0);
	assert_int_equal(us.n, 1);
}

struct id_seen {
	int n;
	int64_t ids[16];
};

static int
challenge_id_fn(void *arg, const struct db_challenge *c)
{
	struct id_seen *s = arg;

	if (s->n < 16)
		s->ids[s->n] = c->id;
	s->n++;
	return 0;
}

struct state_case {
	enum db_challenge_state state;
	size_t limit;
	int n;
	int first; /* index into ids[] of the first row (newest first) */
};

static void
test_challenge_states_and_cap(void **state)
{
	struct fx *fx = *state;
	struct id_seen s;
	struct gw_err err;
	struct db_txn t;
	struct db_challenge ch;
	enum db_start res;
	int64_t ids[4], n = -1, id = 0;
	uint8_t h[32];
	size_t i;
	/* ids: 0 unused, 1 expired, 2 revoked, 3 used */
	static const struct state_case cases[] = {
		{ DB_CH_ANY, 0, 4, 3 },
		{ DB_CH_ANY, 2, 2, 3 },
		{ DB_CH_UNUSED, 0, 1, 0 },
		{ DB_CH_EXPIRED, 0, 1, 1 },
		{ DB_CH_REVOKED, 0, 1, 2 },
		{ DB_CH_USED, 0, 1, 3 },
	};

	ids[0] = put_challenge(fx->db, 0x51, NOW + 600, NULL, NULL, NULL);
	ids[1] = put_challenge(fx->db, 0x52, NOW + 5, NULL, NULL, NULL);
	ids[2] = put_challenge(fx->db, 0x53, NOW + 600, NULL, NULL, NULL);
	ids[3] = put_challenge(fx->db, 0x54, NOW + 600, NULL, NULL, NULL);
	assert_int_equal(db_challenge_revoke(fx->db, ids[2], &err), 0);
	assert_int_equal(start(fx->db, "used", 0x54, NOW, &t), DB_START_OK);
	db_txn_cleanup(&t);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&s, 0, sizeof(s));
		assert_int_equal(db_challenge_list_state(fx->db, cases[i].state,
				     NOW + 10, cases[i].limit, challenge_id_fn,
				     &s, &err),
		    0);
		assert_int_equal(s.n, cases[i].n);
		assert_int_equal(s.ids[0], ids[cases[i].first]);
	}
	gw_err_clear(&err);
	assert_int_equal(db_challenge_list_state(fx->db, DB_CH__MAX, NOW, 0,
			     challenge_id_fn, &s, &err),
	    -1);
	assert_int_equal(err.code, DB_ERR_ARG);

	/* Outstanding: ids[0], and ids[1] until it expires. */
	assert_int_equal(db_challenge_outstanding(fx->db, NOW, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(db_challenge_outstanding(fx->db, NOW + 10, &n, &err),
	    0);
	assert_int_equal(n, 1);

	/* The cap counts outstanding challenges only. */
	hash_fill(h, 0x61);
	assert_int_equal(db_challenge_put_capped(fx->db, h, NOW + 10, NOW + 600,
			     2, NULL, &id, &err),
	    0);
	assert_true(id > ids[3]);
	hash_fill(h, 0x62);
	assert_int_equal(db_challenge_put_capped(fx->db, h, NOW + 10, NOW + 600,
			     2, NULL, &id, &err),
	    1);
	assert_int_equal(db_challenge_revoke(fx->db, ids[0], &err), 0);
	assert_int_equal(db_challenge_put_capped(fx->db, h, NOW + 10, NOW + 600,
			     2, "kiosk", &id, &err),
	    0);
	/* An NDES page challenge is bound to the profile it was issued for. */
	memset(&ch, 0, sizeof(ch));
	assert_int_equal(db_challenge_peek(fx->db, h, NOW + 10, &ch, &res,
			     &err),
	    0);
	assert_int_equal(res, DB_START_OK);
	assert_string_equal(ch.profile, "kiosk");
	db_challenge_cleanup(&ch);
	assert_int_equal(db_challenge_outstanding(fx->db, NOW + 10, &n, &err),
	    0);
	assert_int_equal(n, 2);
}

/* Starts a transaction txid without challenge whose identity is cn. */
static void
start_cn(struct db *db, const char *txid, const char *cn)
{
	struct db_txn_new n;
	struct gw_err err;
	uint8_t csr[32];
	enum db_start res;
	struct db_txn t;

	hash_fill(csr, 0xc6);
	memset(&n, 0, sizeof(n));
	n.txid = txid;
	n.csr_sha256 = csr;
	n.csr_cn = cn;
	n.csr_pem = "-----BEGIN CERTIFICATE REQUEST-----\n";
	n.now = NOW;
	assert_int_equal(db_txn_start(db, &n, &res, &t, &err), 0);
	assert_int_equal(res, DB_START_OK);
	db_txn_cleanup(&t);
}

struct txid_seen {
	int n;
	char txid[8][16];
	bool no_csr; /* every row came without CSR and certificate */
};

static int
txid_seen_fn(void *arg, const struct db_txn *t)
{
	struct txid_seen *s = arg;

	if (s->n < 8)
		snprintf(s->txid[s->n], sizeof(s->txid[0]), "%s", t->txid);
	if (t->csr_pem != NULL || t->cert_der != NULL)
		s->no_csr = false;
	s->n++;
	return 0;
}

static int
serial_seen_fn(void *arg, const struct db_cert *c)
{
	struct txid_seen *s = arg;

	if (s->n < 8)
		snprintf(s->txid[s->n], sizeof(s->txid[0]), "%s",
		    c->serial_hex);
	if (c->der != NULL)
		s->no_csr = false;
	s->n++;
	return 0;
}

struct txn_filter_case {
	enum db_txn_state state;
	const char *cn;
	size_t limit;
	int n;
	const char *first;
};

struct cert_filter_case {
	const char *serial;
	const char *cn;
	int n;
	const char *first;
};

static void
test_txn_cert_filters_and_counts(void **state)
{
	static const uint8_t der[] = { 0x30, 0x03, 0x02, 0x01, 0x09 };
	static const struct txn_filter_case tcases[] = {
		{ 0, NULL, 0, 4, "t4" },
		{ 0, NULL, 1, 1, "t4" },
		{ DB_TXN_ISSUED, NULL, 0, 2, "t3" },
		{ DB_TXN_FAILED, NULL, 0, 1, "t2" },
		{ DB_TXN_ORDERING, NULL, 0, 1, "t4" },
		{ 0, "alice", 0, 2, "t3" },
		{ DB_TXN_ISSUED, "alice", 0, 2, "t3" },
		{ DB_TXN_FAILED, "alice", 0, 0, NULL },
		{ 0, "nobody", 0, 0, NULL },
	};
	static const struct cert_filter_case ccases[] = {
		{ NULL, NULL, 2, "0B" },
		{ "0A", NULL, 1, "0A" },
		{ "0a", NULL, 0, NULL },
		{ NULL, "alice", 2, "0B" },
		{ NULL, "bob", 0, NULL },
		{ "0A", "alice", 1, "0A" },
	};
	struct fx *fx = *state;
	struct txid_seen s;
	struct gw_err err;
	int64_t counts[4];
	size_t i;

	start_cn(fx->db, "t1", "alice");
	start_cn(fx->db, "t2", "bob");
	start_cn(fx->db, "t3", "alice");
	start_cn(fx->db, "t4", "carol");
	assert_int_equal(db_txn_set_issued(fx->db, "t1", "O1", der, sizeof(der),
			     "0A", NOW + 86400, "CN=alice", NOW, &err),
	    0);
	assert_int_equal(db_txn_set_failed(fx->db, "t2", 2, "nope", NOW, &err),
	    0);
	assert_int_equal(db_txn_set_issued(fx->db, "t3", "O3", der, sizeof(der),
			     "0B", NOW + 86400, "CN=alice", NOW + 1, &err),
	    0);
	for (i = 0; i < sizeof(tcases) / sizeof(tcases[0]); i++) {
		memset(&s, 0, sizeof(s));
		s.no_csr = true;
		assert_int_equal(db_txn_list(fx->db, tcases[i].state,
				     tcases[i].cn, tcases[i].limit,
				     txid_seen_fn, &s, &err),
		    0);
		assert_int_equal(s.n, tcases[i].n);
		if (tcases[i].first != NULL)
			assert_string_equal(s.txid[0], tcases[i].first);
		assert_true(s.no_csr);
	}
	for (i = 0; i < sizeof(ccases) / sizeof(ccases[0]); i++) {
		memset(&s, 0, sizeof(s));
		s.no_csr = true;
		assert_int_equal(db_cert_find(fx->db, ccases[i].serial,
				     ccases[i].cn, 0, serial_seen_fn, &s, &err),
		    0);
		assert_int_equal(s.n, ccases[i].n);
		if (ccases[i].first != NULL)
			assert_string_equal(s.txid[0], ccases[i].first);
		assert_true(s.no_csr);
	}
	assert_int_equal(db_txn_count(fx->db, counts, &err), 0);
	assert_int_equal(counts[0], 4);
	assert_int_equal(counts[DB_TXN_ORDERING], 1);
	assert_int_equal(counts[DB_TXN_ISSUED], 2);
	assert_int_equal(counts[DB_TXN_FAILED], 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_schema, setup,
		    teardown),
		cmocka_unit_test(test_open_bad_path),
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
		cmocka_unit_test_setup_teardown(test_txn_state_updates, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cert_set_revoked, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cert_list_shows_revoked,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_list_unfinished, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_race_shared_handle, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_race_own_handles, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_race_same_txid, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_race_renewals, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cert_renewal_successor,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit_mixed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_submit_on_writer_thread,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_add_check_remove,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_challenge_states_and_cap,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_txn_cert_filters_and_counts, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
