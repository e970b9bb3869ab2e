/*
 * Unit tests for a transaction's history and the console's search
 * (db/README.md "History"), on SQLite and, as test_db_hist-pg, on
 * PostgreSQL: the events the database records with each state change,
 * the server's own events (a polled one counted in one row), refusals
 * listed and pruned, and db_txn_search()'s filters and pages.
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
#include "db_lease.h"
#include "test_db_common.h"

/* What a list gave: kinds and details joined, and the ids. */
struct seen {
	char text[2048];
	int64_t id[64];
	int64_t n_of_last;
	size_t n;
};

static int
event_cb(void *arg, const struct db_event *e)
{
	struct seen *s = arg;
	size_t len = strlen(s->text);

	snprintf(s->text + len, sizeof(s->text) - len, "%s%s:%s",
	    s->n > 0 ? "|" : "", e->kind, e->detail != NULL ? e->detail : "");
	if (s->n < 64)
		s->id[s->n] = e->id;
	s->n_of_last = e->n;
	s->n++;
	return 0;
}

static int
txn_cb(void *arg, const struct db_txn *t)
{
	struct seen *s = arg;
	size_t len = strlen(s->text);

	snprintf(s->text + len, sizeof(s->text) - len, "%s%s",
	    s->n > 0 ? "|" : "", t->txid);
	if (s->n < 64)
		s->id[s->n] = t->id;
	s->n++;
	return 0;
}

static void
history_of(struct db *db, const char *txid, struct seen *s)
{
	struct gw_err err;

	memset(s, 0, sizeof(*s));
	if (db_event_list(db, txid, 0, event_cb, s, &err) != 0)
		fail_msg("event list: %s", err.msg);
}

static void
add_event(struct db *db, const char *txid, int64_t at, const char *kind,
    const char *detail, const char *cn)
{
	struct db_event_new e = { txid, at, kind, detail, cn };
	struct gw_err err;

	if (db_event_add(db, &e, &err) != 0)
		fail_msg("event add: %s", err.msg);
}

/* Each state change leaves its event, in the write that makes it. */
static void
test_history_state_changes(void **state)
{
	struct fx *fx = *state;
	struct db_txn t;
	struct gw_err err;
	struct seen s;

	put_challenge(fx->db, 1, NOW + 600, "dev-1", NULL, NULL);
	assert_int_equal(start(fx->db, "h1", 1, NOW, &t), DB_START_OK);
	db_txn_cleanup(&t);
	assert_int_equal(db_txn_set_order(fx->db, "h1", "ORD-1", NOW + 1, &err),
	    0);
	add_event(fx->db, "h1", NOW + 2, "pending", "GlobalSign is slow", NULL);
	add_event(fx->db, "h1", NOW + 3, DB_EVENT_POLLED, "PENDING", NULL);
	add_event(fx->db, "h1", NOW + 4, DB_EVENT_POLLED, "PENDING", NULL);
	issue_cert(fx->db, "h2", "0A"); /* another transaction */
	assert_int_equal(db_txn_set_issued(fx->db, "h1", "ORD-1",
			     (const uint8_t *)"\x30\x00", 2, "0B", NOW + 86400,
			     "CN=dev-1", NOW + 5, &err),
	    0);
	history_of(fx->db, "h1", &s);
	assert_string_equal(s.text,
	    "admitted:PKCSReq, challenge 1, profile default|"
	    "ordered:OrderID ORD-1|pending:GlobalSign is slow|"
	    "polled:PENDING|issued:serial 0B");
	/* The two polls are one row, counted. */
	history_of(fx->db, "h1", &s);
	assert_int_equal(s.n, 5);
	assert_int_equal(s.n_of_last, 1);

	/* A failure by GlobalSign: its code and message. */
	assert_int_equal(start(fx->db, "h3", 0, NOW, &t), DB_START_OK);
	db_txn_cleanup(&t);
	assert_int_equal(db_txn_set_failed_epki(fx->db, "h3", 2,
			     "the CA refused the request", 1101,
			     "Certificate request is invalid", NOW + 9, &err),
	    0);
	history_of(fx->db, "h3", &s);
	assert_string_equal(s.text,
	    "admitted:PKCSReq, profile default|failed:the CA refused the "
	    "request; GlobalSign error 1101: Certificate request is invalid");
}

/* A polled event counts into one row per transaction, as every server
 * event but a refusal. */
static void
test_history_polled_counted(void **state)
{
	struct fx *fx = *state;
	struct seen s;
	int i;

	for (i = 0; i < 3; i++)
		add_event(fx->db, "p1", NOW + i, DB_EVENT_POLLED,
		    i == 2 ? "SUCCESS" : "PENDING", NULL);
	history_of(fx->db, "p1", &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.n_of_last, 3);
	assert_string_equal(s.text, "polled:SUCCESS");
	/* So is a delivery answered again to a resent request; refusals
	 * are rows of their own. */
	add_event(fx->db, "p1", NOW + 5, "delivered", "again", NULL);
	add_event(fx->db, "p1", NOW + 6, "delivered", "again", NULL);
	add_event(fx->db, "p1", NOW + 7, DB_EVENT_REFUSED, "no", NULL);
	add_event(fx->db, "p1", NOW + 8, DB_EVENT_REFUSED, "no", NULL);
	history_of(fx->db, "p1", &s);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.text,
	    "polled:SUCCESS|delivered:again|refused:no|refused:no");
}

/* Refusals: listed newest first by CN prefix and date; pruned by age and
 * by count. */
static void
test_history_refused(void **state)
{
	struct fx *fx = *state;
	struct db_txn_query q;
	struct gw_err err;
	struct seen s;
	int64_t n = 0;

	add_event(fx->db, "r1", NOW - 100, DB_EVENT_REFUSED,
	    "challenge expired", "alpha");
	add_event(fx->db, "r2", NOW, DB_EVENT_REFUSED, "unknown challenge",
	    "alpine");
	add_event(fx->db, "r3", NOW + 1, DB_EVENT_REFUSED,
	    "challenge already used", "beta");
	add_event(fx->db, "r4", NOW + 2, "pending", "not a refusal", "alp");
	memset(&q, 0, sizeof(q));
	q.cn = "alp";
	memset(&s, 0, sizeof(s));
	assert_int_equal(db_event_refused(fx->db, &q, event_cb, &s, &err), 0);
	assert_string_equal(s.text,
	    "refused:unknown challenge|refused:challenge expired");
	q.from = NOW - 50;
	memset(&s, 0, sizeof(s));
	assert_int_equal(db_event_refused(fx->db, &q, event_cb, &s, &err), 0);
	assert_string_equal(s.text, "refused:unknown challenge");
	/* Age: r1 goes; count: of r2 and r3 only the newest stays. */
	assert_int_equal(db_event_prune(fx->db, NOW - 50, 0, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(db_event_prune(fx->db, 0, 1, &n, &err), 0);
	assert_int_equal(n, 1);
	memset(&q, 0, sizeof(q));
	memset(&s, 0, sizeof(s));
	assert_int_equal(db_event_refused(fx->db, &q, event_cb, &s, &err), 0);
	assert_string_equal(s.text, "refused:challenge already used");
	history_of(fx->db, "r4", &s);
	assert_int_equal(s.n, 1); /* other kinds are kept */
}

/* A takeover and Intune's notification leave their events too. */
static void
test_history_takeover_intune(void **state)
{
	static const uint8_t csr_der[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	struct fx *fx = *state;
	struct db_txn_new n;
	struct db_txn t;
	struct gw_err err;
	enum db_start res;
	struct seen s;
	uint8_t sha[32], csr[32];
	int64_t a = 0, b = 0;
	char want[128];

	memset(sha, 7, sizeof(sha));
	assert_int_equal(db_node_register(fx->db, "gw-a", 60, sha, "t", &a,
			     &err),
	    0);
	assert_int_equal(start(fx->db, "tk", 0, NOW, &t), DB_START_OK);
	db_txn_cleanup(&t);
	assert_int_equal(db_node_release(fx->db, a, &err), 0);
	assert_int_equal(db_node_register(fx->db, "gw-b", 60, sha, "t", &b,
			     &err),
	    0);
	assert_int_equal(db_txn_claim_orphans(fx->db, b, DB_LEASE_MARGIN_S, 100,
			     NULL, NULL, &err),
	    1);
	history_of(fx->db, "tk", &s);
	snprintf(want, sizeof(want),
	    "admitted:PKCSReq, profile default|taken over:by gateway "
	    "incarnation %lld",
	    (long long)b);
	assert_string_equal(s.text, want);

	hash_fill(csr, 0xc6);
	memset(&n, 0, sizeof(n));
	n.txid = "in";
	n.csr_sha256 = csr;
	n.csr_cn = "device-1";
	n.csr_pem = "-----BEGIN CERTIFICATE REQUEST-----\n";
	n.now = NOW;
	n.identity_final = true;
	n.intune_csr = csr_der;
	n.intune_csr_len = sizeof(csr_der);
	assert_int_equal(db_txn_start(fx->db, &n, &res, &t, &err), 0);
	assert_int_equal(res, DB_START_OK);
	db_txn_cleanup(&t);
	assert_int_equal(db_txn_set_issued(fx->db, "in", "ORD-I", csr_der,
			     sizeof(csr_der), "0C", NOW + 86400, "CN=i",
			     NOW + 1, &err),
	    0);
	assert_int_equal(db_txn_set_intune(fx->db, "in", DB_INTUNE_NOTIFIED,
			     NOW + 2, &err),
	    0);
	history_of(fx->db, "in", &s);
	assert_non_null(strstr(s.text,
	    "|issued:serial 0C|intune:successNotification accepted"));
}

/* A queued event's long text is cut before a UTF-8 character, never in
 * one (PostgreSQL would refuse the row). */
static void
test_history_submit_cut(void **state)
{
	struct fx *fx = *state;
	struct db_event_new e;
	struct gw_err err;
	struct seen s;
	char text[1201];
	size_t i, n;

	text[0] = 'x'; /* odd: a 512-byte cut would split a character */
	for (i = 1; i + 1 < sizeof(text); i += 2)
		memcpy(text + i, "\xc3\xa9", 2);
	text[sizeof(text) - 1] = '\0';
	memset(&e, 0, sizeof(e));
	e.txid = "cut";
	e.at = NOW;
	e.kind = "pending";
	e.detail = text;
	assert_int_equal(db_event_submit(fx->db, &e, &err), 0);
	db_write_flush(fx->db);
	history_of(fx->db, "cut", &s);
	n = strlen(s.text);
	assert_int_equal(s.n, 1);
	/* "pending:" + x + 255 characters of two bytes. */
	assert_int_equal(n, 8 + 1 + 255 * 2);
	assert_true((unsigned char)s.text[n - 2] == 0xc3);
}

static void
search(struct db *db, const struct db_txn_query *q, struct seen *s)
{
	struct gw_err err;

	memset(s, 0, sizeof(*s));
	if (db_txn_search(db, q, txn_cb, s, &err) != 0)
		fail_msg("txn search: %s", err.msg);
}

/* The console's search: CN and email prefixes, state, dates, pages. */
static void
test_txn_search(void **state)
{
	struct fx *fx = *state;
	struct db_txn_query q;
	struct db_txn t;
	struct gw_err err;
	struct seen s;

	put_challenge(fx->db, 1, NOW + 600, "laptop-7", "a@x.org", NULL);
	put_challenge(fx->db, 2, NOW + 600, "laptop-70", "b@x.org", NULL);
	put_challenge(fx->db, 3, NOW + 600, "lapdog", "a@y.org", NULL);
	put_challenge(fx->db, 4, NOW + 600, "phone", "a@x.org", NULL);
	assert_int_equal(start(fx->db, "s1", 1, NOW, &t), DB_START_OK);
	db_txn_cleanup(&t);
	assert_int_equal(start(fx->db, "s2", 2, NOW + 10, &t), DB_START_OK);
	db_txn_cleanup(&t);
	assert_int_equal(start(fx->db, "s3", 3, NOW + 20, &t), DB_START_OK);
	db_txn_cleanup(&t);
	assert_int_equal(start(fx->db, "s4", 4, NOW + 30, &t), DB_START_OK);
	db_txn_cleanup(&t);
	assert_int_equal(db_txn_set_failed(fx->db, "s2", 2, "no", NOW + 11,
			     &err),
	    0);

	memset(&q, 0, sizeof(q));
	search(fx->db, &q, &s);
	assert_string_equal(s.text, "s4|s3|s2|s1");
	q.cn = "laptop-7";
	search(fx->db, &q, &s);
	assert_string_equal(s.text, "s2|s1");
	q.cn = "Laptop"; /* case-sensitive */
	search(fx->db, &q, &s);
	assert_string_equal(s.text, "");
	q.cn = "lap";
	q.state = DB_TXN_ORDERING;
	search(fx->db, &q, &s);
	assert_string_equal(s.text, "s3|s1");
	memset(&q, 0, sizeof(q));
	q.email = "a@x";
	search(fx->db, &q, &s);
	assert_string_equal(s.text, "s4|s1");
	memset(&q, 0, sizeof(q));
	q.from = NOW + 10;
	q.to = NOW + 30;
	search(fx->db, &q, &s);
	assert_string_equal(s.text, "s3|s2");
	/* Pages: two rows, then the rows below the last id. */
	memset(&q, 0, sizeof(q));
	q.limit = 2;
	search(fx->db, &q, &s);
	assert_string_equal(s.text, "s4|s3");
	q.before_id = s.id[1];
	search(fx->db, &q, &s);
	assert_string_equal(s.text, "s2|s1");
	/* A CN that is all odd bytes is only a value. */
	memset(&q, 0, sizeof(q));
	q.cn = "' OR 1=1 --\xf4\x8f\xbf\xbf";
	search(fx->db, &q, &s);
	assert_int_equal(s.n, 0);
}

/* Inserts 6000 transactions b0..b5999 (CN bulk-I, created NOW + I)
 * straight into the database: a search's broad ranges. */
static void
bulk_fill(const struct fx *fx)
{
	sqlite3 *h = NULL;

	if (fx->pg) {
		fx_pg_sql(fx,
		    "INSERT INTO transactions (txid, csr_sha256, state, "
		    "created, updated, cn, email) SELECT 'b' || i, "
		    "'\\x00'::bytea, 1 + i % 3, 1700000000 + i, "
		    "1700000000 + i, 'bulk-' || i, 'e' || i || '@x' "
		    "FROM generate_series(0, 5999) AS i");
		return;
	}
	assert_int_equal(sqlite3_open(fx->path, &h), SQLITE_OK);
	sqlite3_busy_timeout(h, 10000);
	assert_int_equal(sqlite3_exec(h,
			     "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL "
			     "SELECT i + 1 FROM c WHERE i < 5999) "
			     "INSERT INTO transactions (txid, csr_sha256, "
			     "state, created, updated, cn, email) SELECT "
			     "'b' || i, zeroblob(32), 1 + i % 3, 1700000000 "
			     "+ i, 1700000000 + i, 'bulk-' || i, 'e' || i || "
			     "'@x' FROM c",
			     NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(h);
}

/* A range holding thousands of rows (read by walking the newest rows on
 * SQLite) and a narrow one (its index) give the same pages. */
static void
test_txn_search_broad(void **state)
{
	struct fx *fx = *state;
	struct db_txn_query q;
	struct seen s;

	bulk_fill(fx);
	memset(&q, 0, sizeof(q));
	q.cn = "bulk-";
	q.limit = 50;
	search(fx->db, &q, &s);
	assert_int_equal(s.n, 50);
	assert_true(strncmp(s.text, "b5999|b5998|", 12) == 0);
	q.before_id = s.id[49];
	search(fx->db, &q, &s);
	assert_true(strncmp(s.text, "b5949|", 6) == 0);
	memset(&q, 0, sizeof(q));
	q.email = "e";
	q.from = NOW;
	q.state = DB_TXN_FAILED; /* i % 3 == 2 */
	q.limit = 2;
	search(fx->db, &q, &s);
	assert_string_equal(s.text, "b5999|b5996");
	q.to = NOW + 100; /* narrow: 100 rows */
	search(fx->db, &q, &s);
	assert_string_equal(s.text, "b98|b95");
	memset(&q, 0, sizeof(q));
	q.cn = "bulk-59"; /* narrow: 111 rows */
	q.limit = 3;
	search(fx->db, &q, &s);
	assert_string_equal(s.text, "b5999|b5998|b5997");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_history_state_changes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_polled_counted,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_txn_search, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_history_takeover_intune,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_search_broad, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_history_submit_cut, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
