/*
 * Unit tests for db/: Microsoft Intune's part of a transaction (README
 * "Microsoft Intune", db.h enum db_intune): a transaction started as
 * validated keeps the DER CSR Intune saw through ISSUED or FAILED, is
 * listed for the reconciler until its notification is recorded, a
 * notification is recorded once, and one gateway at a time sends it.
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

/* A stand-in DER CSR: any bytes, kept as they are (a NUL among them). */
static const uint8_t csr_der[] = { 0x30, 0x82, 0x00, 0x04, 0x00, 0xff, 0x01,
	0x02 };

/* Starts txid without a challenge; validated by Intune when intune. */
static enum db_start
start_intune(struct db *db, const char *txid, bool intune, struct db_txn *t)
{
	struct db_txn_new n;
	struct gw_err err;
	uint8_t csr[32];
	enum db_start res;

	hash_fill(csr, 0xc5);
	memset(&n, 0, sizeof(n));
	n.txid = txid;
	n.csr_sha256 = csr;
	n.csr_cn = "device-1";
	n.csr_pem = "-----BEGIN CERTIFICATE REQUEST-----\n";
	n.now = NOW;
	n.identity_final = true;
	if (intune) {
		n.intune_csr = csr_der;
		n.intune_csr_len = sizeof(csr_der);
	}
	gw_err_clear(&err);
	assert_int_equal(db_txn_start(db, &n, &res, t, &err), 0);
	return res;
}

struct seen {
	int n;
	char txids[8][16];
	int intune[8];
	size_t csr_len[8];
};

static int
seen_cb(void *arg, const struct db_txn *t)
{
	struct seen *s = arg;

	if (s->n < 8) {
		snprintf(s->txids[s->n], sizeof(s->txids[0]), "%s", t->txid);
		s->intune[s->n] = t->intune;
		s->csr_len[s->n] = t->intune_csr_len;
		assert_true(t->intune_csr != NULL &&
		    memcmp(t->intune_csr, csr_der, sizeof(csr_der)) == 0);
	}
	s->n++;
	return 0;
}

/* The CSR and the state survive the start, the order and the issue. */
static void
test_intune_start_keeps_csr(void **state)
{
	static const uint8_t der[] = { 0x30, 0x03, 0x02, 0x01, 0x07 };
	struct fx *fx = *state;
	struct gw_err err;
	struct db_txn t;

	assert_int_equal(start_intune(fx->db, "tx-i", true, &t), DB_START_OK);
	assert_int_equal(t.intune, DB_INTUNE_VALIDATED);
	db_txn_cleanup(&t);
	assert_int_equal(start_intune(fx->db, "tx-plain", false, &t),
	    DB_START_OK);
	assert_int_equal(t.intune, DB_INTUNE_NONE);
	assert_null(t.intune_csr);
	db_txn_cleanup(&t);
	assert_int_equal(db_txn_set_order(fx->db, "tx-i", "ORD-I", NOW + 1,
			     &err),
	    0);
	assert_int_equal(db_txn_set_issued(fx->db, "tx-i", NULL, der,
			     sizeof(der), "0A", NOW + 86400, "CN=device-1",
			     NOW + 2, &err),
	    0);
	assert_int_equal(db_txn_get(fx->db, "tx-i", &t, &err), 0);
	assert_int_equal(t.state, DB_TXN_ISSUED);
	assert_int_equal(t.intune, DB_INTUNE_VALIDATED);
	assert_int_equal(t.intune_csr_len, sizeof(csr_der));
	assert_memory_equal(t.intune_csr, csr_der, sizeof(csr_der));
	db_txn_cleanup(&t);
}

/* Listed while final and unreported; a notification is recorded once,
 * and only in the state it belongs to. */
static void
test_intune_notify_once(void **state)
{
	static const uint8_t der[] = { 0x30, 0x03, 0x02, 0x01, 0x08 };
	struct fx *fx = *state;
	struct gw_err err;
	struct seen s;
	struct db_txn t;

	assert_int_equal(start_intune(fx->db, "tx-ok", true, &t), DB_START_OK);
	db_txn_cleanup(&t);
	assert_int_equal(start_intune(fx->db, "tx-bad", true, &t), DB_START_OK);
	db_txn_cleanup(&t);
	assert_int_equal(start_intune(fx->db, "tx-open", true, &t),
	    DB_START_OK);
	db_txn_cleanup(&t);
	/* ORDERING rows are the order's business, not the notifier's. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(db_txn_list_intune(fx->db, seen_cb, &s, &err), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(db_txn_set_intune(fx->db, "tx-open",
			     DB_INTUNE_NOTIFIED, NOW, &err),
	    1);
	assert_int_equal(db_txn_set_issued(fx->db, "tx-ok", "ORD-1", der,
			     sizeof(der), "0B", NOW + 86400, "CN=device-1",
			     NOW + 1, &err),
	    0);
	assert_int_equal(db_txn_set_failed_epki(fx->db, "tx-bad", 2,
			     "the CA refused the request", -9913, "no", NOW + 1,
			     &err),
	    0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(db_txn_list_intune(fx->db, seen_cb, &s, &err), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.txids[0], "tx-ok");
	assert_string_equal(s.txids[1], "tx-bad");
	assert_int_equal(s.intune[0], DB_INTUNE_VALIDATED);
	/* A success for the failed one, a failure for the issued one: no. */
	assert_int_equal(db_txn_set_intune(fx->db, "tx-bad", DB_INTUNE_NOTIFIED,
			     NOW + 2, &err),
	    1);
	assert_int_equal(db_txn_set_intune(fx->db, "tx-ok",
			     DB_INTUNE_FAILURE_SENT, NOW + 2, &err),
	    1);
	assert_int_equal(db_txn_set_intune(fx->db, "tx-ok", DB_INTUNE_VALIDATED,
			     NOW + 2, &err),
	    -1);
	assert_int_equal(err.code, DB_ERR_ARG);
	/* Once, then never again. */
	assert_int_equal(db_txn_set_intune(fx->db, "tx-ok", DB_INTUNE_NOTIFIED,
			     NOW + 2, &err),
	    0);
	assert_int_equal(db_txn_set_intune(fx->db, "tx-ok", DB_INTUNE_NOTIFIED,
			     NOW + 3, &err),
	    1);
	assert_int_equal(db_txn_set_intune(fx->db, "tx-bad",
			     DB_INTUNE_FAILURE_SENT, NOW + 2, &err),
	    0);
	assert_int_equal(db_txn_set_intune(fx->db, "tx-nope",
			     DB_INTUNE_NOTIFIED, NOW + 2, &err),
	    1);
	memset(&s, 0, sizeof(s));
	assert_int_equal(db_txn_list_intune(fx->db, seen_cb, &s, &err), 0);
	assert_int_equal(s.n, 0);
	/* The CSR goes with the notification; the state stays. */
	assert_int_equal(db_txn_get(fx->db, "tx-ok", &t, &err), 0);
	assert_int_equal(t.intune, DB_INTUNE_NOTIFIED);
	assert_null(t.intune_csr);
	assert_int_equal(t.state, DB_TXN_ISSUED);
	db_txn_cleanup(&t);
	assert_int_equal(db_txn_get(fx->db, "tx-bad", &t, &err), 0);
	assert_int_equal(t.intune, DB_INTUNE_FAILURE_SENT);
	assert_null(t.intune_csr);
	db_txn_cleanup(&t);
}

/* One sender at a time, across handles (gateways sharing PostgreSQL): a
 * claim holds for hold_s, ends with the notification or the release. */
static void
test_intune_claim(void **state)
{
	static const uint8_t der[] = { 0x30, 0x03, 0x02, 0x01, 0x09 };
	struct fx *fx = *state;
	struct db *other = NULL;
	struct gw_err err;
	struct db_txn t;

	assert_int_equal(start_intune(fx->db, "tx-c", true, &t), DB_START_OK);
	db_txn_cleanup(&t);
	/* Not while the order is open. */
	assert_int_equal(db_txn_claim_intune(fx->db, "tx-c", NOW, 40, &err), 1);
	assert_int_equal(db_txn_set_issued(fx->db, "tx-c", "ORD-C", der,
			     sizeof(der), "0C", NOW + 86400, "CN=device-1",
			     NOW + 1, &err),
	    0);
	assert_int_equal(fx_open(fx, &other, &err), 0);
	assert_int_equal(db_txn_claim_intune(fx->db, "tx-c", NOW + 2, 40, &err),
	    0);
	assert_int_equal(db_txn_get(other, "tx-c", &t, &err), 0);
	assert_int_equal(t.intune_claim, NOW + 2);
	db_txn_cleanup(&t);
	/* Held: the other gateway waits; expired: it takes over. */
	assert_int_equal(db_txn_claim_intune(other, "tx-c", NOW + 41, 40, &err),
	    1);
	assert_int_equal(db_txn_claim_intune(other, "tx-c", NOW + 42, 40, &err),
	    0);
	/* Released: at once. */
	assert_int_equal(db_txn_unclaim_intune(other, "tx-c", &err), 0);
	assert_int_equal(db_txn_unclaim_intune(other, "tx-c", &err), 1);
	assert_int_equal(db_txn_claim_intune(fx->db, "tx-c", NOW + 43, 40,
			     &err),
	    0);
	/* Notified: nothing left to claim, the claim gone. */
	assert_int_equal(db_txn_set_intune(fx->db, "tx-c", DB_INTUNE_NOTIFIED,
			     NOW + 44, &err),
	    0);
	assert_int_equal(db_txn_claim_intune(other, "tx-c", NOW + 200, 40,
			     &err),
	    1);
	assert_int_equal(db_txn_get(other, "tx-c", &t, &err), 0);
	assert_int_equal(t.intune_claim, 0);
	db_txn_cleanup(&t);
	assert_int_equal(db_txn_claim_intune(other, "tx-c", NOW, -1, &err), -1);
	db_close(other);
}

/* A repeated start of a validated transactionID changes nothing. */
static void
test_intune_start_exists(void **state)
{
	struct fx *fx = *state;
	struct db_txn t;

	assert_int_equal(start_intune(fx->db, "tx-x", false, &t), DB_START_OK);
	db_txn_cleanup(&t);
	assert_int_equal(start_intune(fx->db, "tx-x", true, &t),
	    DB_START_EXISTS);
	assert_int_equal(t.intune, DB_INTUNE_NONE);
	assert_null(t.intune_csr);
	db_txn_cleanup(&t);
}

/*
 * db_txn_find_csr(): the transaction recorded for a CSR, until it failed;
 * another CSR finds nothing.
 */
static void
test_txn_find_csr(void **state)
{
	struct fx *fx = *state;
	struct gw_err err;
	struct db_txn t;
	uint8_t other[32];
	char txid[64];

	hash_fill(other, 0xc5);
	assert_int_equal(db_txn_find_csr(fx->db, other, txid, sizeof(txid),
			     &err),
	    1);
	assert_int_equal(start_intune(fx->db, "tx-f", true, &t), DB_START_OK);
	db_txn_cleanup(&t);
	assert_int_equal(db_txn_find_csr(fx->db, other, txid, sizeof(txid),
			     &err),
	    0);
	assert_string_equal(txid, "tx-f");
	hash_fill(other, 0xc6);
	assert_int_equal(db_txn_find_csr(fx->db, other, txid, sizeof(txid),
			     &err),
	    1);
	assert_int_equal(db_txn_set_failed(fx->db, "tx-f", 2, "refused",
			     NOW + 1, &err),
	    0);
	hash_fill(other, 0xc5);
	assert_int_equal(db_txn_find_csr(fx->db, other, txid, sizeof(txid),
			     &err),
	    1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_intune_start_keeps_csr,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_intune_notify_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_intune_start_exists, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_intune_claim, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_txn_find_csr, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
