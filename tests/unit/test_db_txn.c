/*
 * Unit tests for db/: a transaction's state updates after
 * db_txn_start(), the unfinished ones for the reconciler, certificates
 * and their revocation, and renewals (db_cert_renewal(), one live
 * successor per certificate).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_err.h"
#include "db.h"
#include "test_db_common.h"

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

/*
 * Licence accounting (README "Licences"): an order counts once against
 * its transaction's pool when its OrderID or certificate is recorded; a
 * repeated write, the certificate after the OrderID, and a refusal do not
 * count; GlobalSign's error of a refusal is kept.
 */
static void
test_txn_licence_count(void **state)
{
	struct fx *fx = *state;
	static const uint8_t der[] = { 0x30, 0x03, 0x02, 0x01, 0x07 };
	struct db_txn_new n;
	struct db_txn t;
	struct gw_err err;
	enum db_start res;
	uint8_t csr[32];
	int64_t used, when;
	char *msg;

	assert_int_equal(start(fx->db, "a", 0, NOW, &t), DB_START_OK);
	db_txn_cleanup(&t);
	assert_int_equal(start(fx->db, "b", 0, NOW, &t), DB_START_OK);
	db_txn_cleanup(&t);
	assert_int_equal(start(fx->db, "c", 0, NOW, &t), DB_START_OK);
	db_txn_cleanup(&t);
	hash_fill(csr, 0xc6);
	memset(&n, 0, sizeof(n));
	n.txid = "k";
	n.csr_sha256 = csr;
	n.csr_cn = "kiosk";
	n.now = NOW;
	n.licence_pool = "profile:kiosk";
	assert_int_equal(db_txn_start(fx->db, &n, &res, &t, &err), 0);
	assert_int_equal(res, DB_START_OK);
	assert_string_equal(t.licence_pool, "profile:kiosk");
	db_txn_cleanup(&t);

	assert_int_equal(db_licence_used(fx->db, "epki", &used, &err), 0);
	assert_int_equal(used, 0);
	assert_int_equal(db_txn_set_order(fx->db, "a", "O1", NOW, &err), 0);
	assert_int_equal(db_txn_set_order(fx->db, "a", "O1", NOW, &err), 0);
	assert_int_equal(db_txn_set_issued(fx->db, "a", NULL, der, sizeof(der),
			     "01", NOW, "CN=a", NOW, &err),
	    0);
	assert_int_equal(db_licence_used(fx->db, "epki", &used, &err), 0);
	assert_int_equal(used, 1);
	/* A certificate without an OrderID before it counts too. */
	assert_int_equal(db_txn_set_issued(fx->db, "b", "O2", der, sizeof(der),
			     "02", NOW, "CN=b", NOW, &err),
	    0);
	assert_int_equal(db_txn_set_issued(fx->db, "k", "O3", der, sizeof(der),
			     "03", NOW, "CN=k", NOW, &err),
	    0);
	assert_int_equal(db_txn_set_failed_epki(fx->db, "c", 2, "no licence",
			     -6101, "No licence available.", NOW + 5, &err),
	    0);
	assert_int_equal(db_licence_used(fx->db, "epki", &used, &err), 0);
	assert_int_equal(used, 2);
	/* A write that fails (a duplicate serial) counts nothing either. */
	assert_int_equal(start(fx->db, "d", 0, NOW, &t), DB_START_OK);
	db_txn_cleanup(&t);
	assert_int_equal(db_txn_set_issued(fx->db, "d", "O4", der, sizeof(der),
			     "01", NOW, "CN=d", NOW, &err),
	    -1);
	assert_int_equal(db_licence_used(fx->db, "epki", &used, &err), 0);
	assert_int_equal(used, 2);
	assert_int_equal(db_licence_used(fx->db, "profile:kiosk", &used, &err),
	    0);
	assert_int_equal(used, 1);
	assert_int_equal(db_txn_get(fx->db, "c", &t, &err), 0);
	assert_int_equal(t.epki_code, -6101);
	assert_string_equal(t.epki_message, "No licence available.");
	db_txn_cleanup(&t);
	assert_int_equal(db_licence_last_error(fx->db, -6101, &when, &msg,
			     &err),
	    0);
	assert_int_equal(when, NOW + 5);
	assert_string_equal(msg, "No licence available.");
	free(msg);
	assert_int_equal(db_licence_last_error(fx->db, -1, &when, &msg, &err),
	    0);
	assert_int_equal(when, 0);
	assert_null(msg);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_txn_state_updates, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cert_set_revoked, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cert_list_shows_revoked,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_licence_count, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_txn_list_unfinished, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cert_renewal_successor,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
