/*
 * Unit tests for db/: users of the NDES page and the console (db_user.c)
 * and the admin
 * listings (db_sq_list.c): challenges by state and the outstanding cap,
 * transactions and certificates by filter, and the counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "gw_err.h"
#include "db.h"
#include "db_sq_int.h"
#include "test_db_common.h"

struct user_seen {
	int n;
	char names[4][16];
	bool can_issue[4];
	char profiles[4][32];
	char kdf[64];
	enum db_user_role role[4];
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
		s->role[s->n] = u->role;
	}
	s->n++;
	return 0;
}

struct user_bad_case {
	const char *name;
	const char *password;
};

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
	if (fx->pg) {
		assert_int_equal(
		    fx_pg_sql(fx,
			"SELECT count(DISTINCT salt) * 1000 + "
			"count(DISTINCT hash) * 100 + "
			"min(length(salt)) + min(length(hash)) "
			"FROM users WHERE position('s3cret'::bytea "
			"in hash) = 0"),
		    2000 + 200 + 16 + 32);
	} else {
		assert_int_equal(sqlite3_open(fx->path, &h), SQLITE_OK);
		assert_int_equal(
		    sqlite3_prepare_v2(h,
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
	}

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
				     NOW + 10, 0, cases[i].limit,
				     challenge_id_fn, &s, &err),
		    0);
		assert_int_equal(s.n, cases[i].n);
		assert_int_equal(s.ids[0], ids[cases[i].first]);
	}
	/* The next page: ids below the last one shown, still newest first. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(db_challenge_list_state(fx->db, DB_CH_ANY, NOW + 10,
			     ids[2], 0, challenge_id_fn, &s, &err),
	    0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.ids[0], ids[1]);
	assert_int_equal(s.ids[1], ids[0]);
	gw_err_clear(&err);
	assert_int_equal(db_challenge_list_state(fx->db, DB_CH__MAX, NOW, 0, 0,
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
	int64_t counts[4], issued[24], failed[24];
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
	/* The console's chart: by the hour of the last change. */
	assert_int_equal(db_txn_hourly(fx->db, NOW - 5 * 3600, issued, failed,
			     &err),
	    0);
	for (i = 0; i < 24; i++) {
		assert_int_equal(issued[i], i == 5 ? 2 : 0);
		assert_int_equal(failed[i], i == 5 ? 1 : 0);
	}
	assert_int_equal(db_txn_hourly(fx->db, NOW + 2, issued, failed, &err),
	    0);
	for (i = 0; i < 24; i++)
		assert_int_equal(issued[i] + failed[i], 0);
}

/*
 * Console roles (README "Admin web console"): db_user_add() makes "ndes"
 * users; a console role never keeps the right to fetch NDES challenges;
 * the check tells the role; user set changes it.
 */
static void
test_user_roles(void **state)
{
	struct fx *fx = *state;
	enum db_user_role role = DB_ROLE_ADMIN;
	struct user_seen us;
	struct gw_err err;
	bool can = true;

	assert_int_equal(db_user_add(fx->db, "alice", "s3cret pw", true, NULL,
			     NOW, &err),
	    0);
	assert_int_equal(db_user_add(fx->db, "bob", "s3cret pw", false, NULL,
			     NOW, &err),
	    0);
	assert_int_equal(db_user_check_role(fx->db, "alice", "s3cret pw", &can,
			     &role, &err),
	    0);
	assert_int_equal(role, DB_ROLE_NDES);
	assert_true(can);
	assert_int_equal(db_user_add_role(fx->db, "root", "adm pw", true, NULL,
			     DB_ROLE_ADMIN, NOW, &err),
	    0);
	assert_int_equal(db_user_check_role(fx->db, "root", "adm pw", &can,
			     &role, &err),
	    0);
	assert_int_equal(role, DB_ROLE_ADMIN);
	assert_false(can);
	assert_int_equal(db_user_check_role(fx->db, "root", "adm pW", &can,
			     &role, &err),
	    1);
	assert_int_equal(role, DB_ROLE_NDES);
	/* alice becomes a viewer: her NDES right goes. */
	assert_int_equal(db_user_set_role(fx->db, "alice", DB_ROLE_VIEWER,
			     &err),
	    0);
	assert_int_equal(db_user_check_role(fx->db, "alice", "s3cret pw", &can,
			     &role, &err),
	    0);
	assert_int_equal(role, DB_ROLE_VIEWER);
	assert_false(can);
	gw_err_clear(&err);
	assert_int_equal(db_user_set_role(fx->db, "nobody", DB_ROLE_ADMIN,
			     &err),
	    -1);
	assert_int_equal(err.code, DB_ERR_NOTFOUND);
	memset(&us, 0, sizeof(us));
	assert_int_equal(db_user_list(fx->db, user_seen_fn, &us, &err), 0);
	assert_int_equal(us.n, 3);
	assert_int_equal(us.role[0], DB_ROLE_VIEWER); /* alice */
	assert_int_equal(us.role[1], DB_ROLE_NDES);   /* bob */
	assert_int_equal(us.role[2], DB_ROLE_ADMIN);  /* root */
	assert_int_equal(db_user_role_parse("admin", &role), 0);
	assert_int_equal(role, DB_ROLE_ADMIN);
	assert_int_equal(db_user_role_parse("root", &role), -1);
	assert_string_equal(db_user_role_name(DB_ROLE_VIEWER), "viewer");
}

/* A transaction for cn and email, then its certificate serial issued at
 * NOW + at, valid until NOW + until. */
static void
issue_one(struct db *db, const char *txid, const char *cn, const char *email,
    const char *serial, int64_t at, int64_t until)
{
	static const uint8_t der[] = { 0x30, 0x03, 0x02, 0x01, 0x09 };
	struct db_txn_new n;
	struct gw_err err;
	uint8_t csr[32];
	enum db_start res;
	struct db_txn t;

	hash_fill(csr, 0xc7);
	memset(&n, 0, sizeof(n));
	n.txid = txid;
	n.csr_sha256 = csr;
	n.csr_cn = cn;
	n.csr_email = email;
	n.csr_pem = "-----BEGIN CERTIFICATE REQUEST-----\n";
	n.now = NOW;
	assert_int_equal(db_txn_start(db, &n, &res, &t, &err), 0);
	assert_int_equal(res, DB_START_OK);
	db_txn_cleanup(&t);
	assert_int_equal(db_txn_set_issued(db, txid, "O", der, sizeof(der),
			     serial, NOW + until, "CN=x", NOW + at, &err),
	    0);
}

/* Collects serials and checks each row's CN and e-mail came along. */
struct cert_seen {
	int n;
	char serial[8][16];
	char cn[8][16];
	char email[8][24];
	int64_t issued[8];
};

static int
cert_seen_fn(void *arg, const struct db_cert *c)
{
	struct cert_seen *s = arg;

	assert_null(c->der);
	if (s->n < 8) {
		snprintf(s->serial[s->n], sizeof(s->serial[0]), "%s",
		    c->serial_hex);
		snprintf(s->cn[s->n], sizeof(s->cn[0]), "%s",
		    c->cn != NULL ? c->cn : "");
		snprintf(s->email[s->n], sizeof(s->email[0]), "%s",
		    c->email != NULL ? c->email : "");
		s->issued[s->n] = c->issued;
	}
	s->n++;
	return 0;
}

/* The console's certificate search: each filter, the state as of now,
 * newest first, and the keyset pages (issued ties broken by serial). */
static void
test_cert_search(void **state)
{
	struct fx *fx = *state;
	struct db_cert_query q;
	struct cert_seen s;
	struct gw_err err;

	issue_one(fx->db, "s1", "alice", "a@example.com", "01", 1, 100);
	issue_one(fx->db, "s2", "bob", "b@example.com", "02", 2, -10);
	issue_one(fx->db, "s3", "alice", "a2@example.com", "03", 3, 100);
	issue_one(fx->db, "s4", "carol", NULL, "04", 3, 100);
	assert_int_equal(db_cert_set_revoked(fx->db, "03", NOW + 5,
			     "keyCompromise", &err),
	    0);

	memset(&q, 0, sizeof(q));
	q.now = NOW;
	memset(&s, 0, sizeof(s));
	assert_int_equal(db_cert_search(fx->db, &q, cert_seen_fn, &s, &err), 0);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.serial[0], "04"); /* issued ties: by serial */
	assert_string_equal(s.serial[1], "03");
	assert_string_equal(s.serial[3], "01");
	assert_string_equal(s.cn[0], "carol");
	assert_string_equal(s.email[0], "");
	assert_string_equal(s.email[3], "a@example.com");

	/* Pages of two: the second starts after the last row shown. */
	q.limit = 2;
	memset(&s, 0, sizeof(s));
	assert_int_equal(db_cert_search(fx->db, &q, cert_seen_fn, &s, &err), 0);
	assert_int_equal(s.n, 2);
	q.after_issued = s.issued[1];
	q.after_serial = "03";
	memset(&s, 0, sizeof(s));
	assert_int_equal(db_cert_search(fx->db, &q, cert_seen_fn, &s, &err), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.serial[0], "02");
	assert_string_equal(s.serial[1], "01");
	q.after_serial = NULL;
	q.limit = 0;

	q.state = DB_CERT_VALID;
	memset(&s, 0, sizeof(s));
	assert_int_equal(db_cert_search(fx->db, &q, cert_seen_fn, &s, &err), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.serial[0], "04");
	assert_string_equal(s.serial[1], "01");
	q.state = DB_CERT_EXPIRED;
	memset(&s, 0, sizeof(s));
	assert_int_equal(db_cert_search(fx->db, &q, cert_seen_fn, &s, &err), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.serial[0], "02");
	q.state = DB_CERT_REVOKED;
	memset(&s, 0, sizeof(s));
	assert_int_equal(db_cert_search(fx->db, &q, cert_seen_fn, &s, &err), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.serial[0], "03");

	/* CN with a state, e-mail, serial; a filter matching nothing. */
	q.state = DB_CERT_VALID;
	q.cn = "alice";
	memset(&s, 0, sizeof(s));
	assert_int_equal(db_cert_search(fx->db, &q, cert_seen_fn, &s, &err), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.serial[0], "01");
	q.state = DB_CERT_ANY;
	q.cn = NULL;
	q.email = "a2@example.com";
	memset(&s, 0, sizeof(s));
	assert_int_equal(db_cert_search(fx->db, &q, cert_seen_fn, &s, &err), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.serial[0], "03");
	q.email = NULL;
	q.serial_hex = "02";
	memset(&s, 0, sizeof(s));
	assert_int_equal(db_cert_search(fx->db, &q, cert_seen_fn, &s, &err), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.cn[0], "bob");
	q.state = DB_CERT_REVOKED;
	memset(&s, 0, sizeof(s));
	assert_int_equal(db_cert_search(fx->db, &q, cert_seen_fn, &s, &err), 0);
	assert_int_equal(s.n, 0);
	q.state = (enum db_cert_state)99;
	assert_int_equal(db_cert_search(fx->db, &q, cert_seen_fn, &s, &err),
	    -1);
}

/*
 * The console's chart (db_txn_hourly(), README "Admin web console") reads
 * the last day through transactions_updated on SQLite, on a database
 * without statistics as the gateway's are (it never runs ANALYZE). Not
 * through transactions_state: states 2 and 3 hold nearly every row, and
 * with 100,000 of them the dashboard took 90 ms instead of 15
 * (tests/bench/README.md "Console pages").
 */
static void
test_hourly_plan(void **state)
{
#define STMT_SQL(name, sql) [DB_ST_##name] = sql,
	static const char *const sql[DB_ST__MAX] = { DB_STMTS(STMT_SQL) };
#undef STMT_SQL
	struct fx *fx = *state;
	char q[512], plan[512] = "";
	sqlite3_stmt *st = NULL;
	sqlite3 *h = NULL;
	const char *d;

	if (fx->pg)
		return; /* PostgreSQL plans with autovacuum's statistics */
	assert_int_equal(sqlite3_open(fx->path, &h), SQLITE_OK);
	snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql[DB_ST_TX_HOURLY]);
	assert_int_equal(sqlite3_prepare_v2(h, q, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		if ((d = (const char *)sqlite3_column_text(st, 3)) != NULL &&
		    strlen(plan) + strlen(d) + 2 < sizeof(plan)) {
			strcat(plan, d);
			strcat(plan, ";");
		}
	sqlite3_finalize(st);
	sqlite3_close(h);
	if (strstr(plan, "USING INDEX transactions_updated") == NULL &&
	    strstr(plan, "USING COVERING INDEX transactions_updated") == NULL)
		fail_msg("TX_HOURLY's plan: %s", plan);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_user_add_check_remove,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_roles, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_challenge_states_and_cap,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_txn_cert_filters_and_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cert_search, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hourly_plan, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
