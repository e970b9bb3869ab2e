/*
 * Incarnations, leases and takeover (db/README.md "Leases"), with two
 * db_open() handles on one file as two gateways: register, renew,
 * release; the owner stamped on a transaction's start and cleared when it
 * ends; the takeover of a dead incarnation's ORDERING rows (none while
 * its lease holds, all of them once it is released, twice harmless, at
 * once for the holder of the SQLite serve lock); three claimers at once
 * (disjoint sets, every row taken); the order gate's arithmetic and the
 * lease thread's beat on an injected clock. Runs on SQLite and, as
 * unit/test_db_lease-pg, on PostgreSQL.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_err.h"
#include "db.h"
#include "db_lease.h"
#include "test_db_common.h"

/* The second gateway of a test: another handle on the fixture's
 * database (file or PostgreSQL database). */
static struct db *
open_peer(struct fx *fx)
{
	struct gw_err err;
	struct db *db = NULL;

	assert_int_equal(fx_open(fx, &db, &err), 0);
	return db;
}

/* Registers an incarnation named name with a lease of lease_s. */
static int64_t
reg(struct db *db, const char *name, int lease_s)
{
	struct gw_err err;
	uint8_t sha[32];
	int64_t node = -1;

	memset(sha, 7, sizeof(sha));
	gw_err_clear(&err);
	assert_int_equal(db_node_register(db, name, lease_s, sha, "scepgw t",
			     &node, &err),
	    0);
	assert_true(node > 0);
	assert_int_equal(db_node(db), node);
	return node;
}

/* The owner (and taken_at) of transaction txid. */
static int64_t
owner_of(struct db *db, const char *txid, int64_t *taken_at)
{
	struct db_txn t;
	struct gw_err err;
	int64_t o;

	assert_int_equal(db_txn_get(db, txid, &t, &err), 0);
	o = t.owner;
	if (taken_at != NULL)
		*taken_at = t.taken_at;
	db_txn_cleanup(&t);
	return o;
}

struct nodes_seen {
	int n;
	int64_t ids[8];
	int64_t lease_until[8];
	int64_t now;
	char names[8][32];
};

static int
node_seen(void *arg, const struct db_node *n)
{
	struct nodes_seen *s = arg;

	if (s->n < 8) {
		s->ids[s->n] = n->id;
		s->lease_until[s->n] = n->lease_until;
		snprintf(s->names[s->n], sizeof(s->names[0]), "%s", n->name);
	}
	s->now = n->now;
	s->n++;
	return 0;
}

static void
test_register_renew_release(void **state)
{
	struct fx *fx = *state;
	struct nodes_seen s;
	struct gw_err err;
	int64_t a, b, c, node = 0;

	a = reg(fx->db, "gw-a", 60);
	assert_int_equal(db_node_renew(fx->db, a, 60, &err), 0);
	/* A new incarnation gets a new id, never an old one. */
	b = reg(fx->db, "gw-a", 60);
	assert_true(b > a);
	memset(&s, 0, sizeof(s));
	assert_int_equal(db_node_list(fx->db, node_seen, &s, &err), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.ids[0], b); /* newest first */
	assert_string_equal(s.names[1], "gw-a");
	assert_true(s.lease_until[0] >= s.now + 59);
	/* Released: a renewal finds it dead for good; releasing twice is
	 * fine; the handle stamps no owner any more. */
	assert_int_equal(db_node_release(fx->db, b, &err), 0);
	assert_int_equal(db_node(fx->db), 0);
	assert_int_equal(db_node_renew(fx->db, b, 60, &err), 1);
	assert_int_equal(db_node_release(fx->db, b, &err), 0);
	assert_int_equal(db_node_renew(fx->db, b, 60, &err), 1);
	/* A lease of 0 s has run out at once: lost, not renewed. */
	c = reg(fx->db, "gw-c", 0);
	assert_int_equal(db_node_renew(fx->db, c, 60, &err), 1);
	/* The other incarnation is untouched. */
	assert_int_equal(db_node_renew(fx->db, a, 60, &err), 0);
	/* Bad arguments. */
	assert_int_equal(db_node_register(fx->db, "", 60, NULL, NULL, &node,
			     &err),
	    -1);
	assert_int_equal(err.code, DB_ERR_ARG);
	assert_int_equal(db_node_renew(fx->db, 0, 60, &err), -1);
	assert_int_equal(db_txn_claim_orphans(fx->db, 0, 5, 0, NULL, NULL,
			     &err),
	    -1);
}

static void
test_owner_stamped_and_cleared(void **state)
{
	struct fx *fx = *state;
	struct db *peer = open_peer(fx);
	struct db_txn t;
	struct gw_err err;
	uint8_t der[3] = { 1, 2, 3 };
	int64_t a;

	a = reg(fx->db, "gw-a", 60);
	assert_int_equal(start(fx->db, "t1", 0, NOW, &t), DB_START_OK);
	assert_int_equal(t.owner, a);
	assert_int_equal(t.taken_at, 0);
	db_txn_cleanup(&t);
	assert_int_equal(start(fx->db, "t2", 0, NOW, &t), DB_START_OK);
	db_txn_cleanup(&t);
	/* A handle without an incarnation (the CLI's) stamps none. */
	assert_int_equal(start(peer, "t3", 0, NOW, &t), DB_START_OK);
	assert_int_equal(t.owner, 0);
	db_txn_cleanup(&t);
	/* An OrderID keeps the owner; the end clears it. */
	assert_int_equal(db_txn_set_order(fx->db, "t1", "O1", NOW + 1, &err),
	    0);
	assert_int_equal(owner_of(fx->db, "t1", NULL), a);
	assert_int_equal(db_txn_set_issued(fx->db, "t1", NULL, der, sizeof(der),
			     "01", NOW + 100, "CN=x", NOW + 2, &err),
	    0);
	assert_int_equal(owner_of(fx->db, "t1", NULL), 0);
	assert_int_equal(db_txn_set_failed(fx->db, "t2", 2, "no", NOW + 2,
			     &err),
	    0);
	assert_int_equal(owner_of(fx->db, "t2", NULL), 0);
	db_close(peer);
}

/* Records what a claim handed over. */
struct claimed {
	int n;
	int64_t from[8];
	int64_t owner[8];
	int64_t taken_at[8];
};

static int
claim_seen(void *arg, const struct db_txn *t)
{
	struct claimed *c = arg;

	if (c->n < 8) {
		c->from[c->n] = t->taken_from;
		c->owner[c->n] = t->owner;
		c->taken_at[c->n] = t->taken_at;
	}
	c->n++;
	return 0;
}

static int
count_fn(void *arg, const struct db_txn *t)
{
	(void)t;
	(*(int *)arg)++;
	return 0;
}

/* How many ORDERING rows node owns. */
static int
owned(struct db *db, int64_t node)
{
	struct gw_err err;
	int n = 0;

	assert_int_equal(db_txn_list_owned(db, node, count_fn, &n, &err), 0);
	return n;
}

static void
test_takeover_after_release(void **state)
{
	struct fx *fx = *state;
	struct db *peer = open_peer(fx);
	struct claimed c;
	struct db_txn t;
	struct gw_err err;
	int64_t a, b, taken_at = 0;
	uint8_t der[3] = { 1, 2, 3 };

	a = reg(fx->db, "gw-a", 60);
	b = reg(peer, "gw-b", 60);
	assert_int_equal(start(fx->db, "x", 0, NOW, &t), DB_START_OK);
	db_txn_cleanup(&t);
	assert_int_equal(start(fx->db, "y", 0, NOW, &t), DB_START_OK);
	db_txn_cleanup(&t);
	assert_int_equal(owned(fx->db, a), 2);
	assert_int_equal(owned(peer, b), 0);
	/* A's lease holds: B takes nothing (no serve lock here, so the
	 * SQLite backend checks leases as a shared one must). */
	memset(&c, 0, sizeof(c));
	assert_int_equal(db_txn_claim_orphans(peer, b, DB_LEASE_MARGIN_S, 100,
			     claim_seen, &c, &err),
	    0);
	assert_int_equal(c.n, 0);
	/* Nor does A take its own rows. */
	assert_int_equal(db_txn_claim_orphans(fx->db, a, 0, 100, NULL, NULL,
			     &err),
	    0);
	/* A released (a graceful stop): B takes both over at once. */
	assert_int_equal(db_node_release(fx->db, a, &err), 0);
	assert_int_equal(db_txn_claim_orphans(peer, b, DB_LEASE_MARGIN_S, 100,
			     claim_seen, &c, &err),
	    2);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.from[0], a);
	assert_int_equal(c.from[1], a);
	assert_int_equal(c.owner[0], b);
	assert_true(c.taken_at[0] > NOW);
	assert_int_equal(owner_of(peer, "x", &taken_at), b);
	assert_int_equal(taken_at, c.taken_at[0]);
	assert_int_equal(owned(peer, b), 2);
	assert_int_equal(owned(fx->db, a), 0);
	/* Again: harmless, nothing left to take. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(db_txn_claim_orphans(peer, b, DB_LEASE_MARGIN_S, 100,
			     claim_seen, &c, &err),
	    0);
	assert_int_equal(c.n, 0);
	/* The end of a taken-over row clears its owner as usual. */
	assert_int_equal(db_txn_set_issued(peer, "x", "O1", der, sizeof(der),
			     "02", NOW + 100, "CN=x", NOW + 2, &err),
	    0);
	assert_int_equal(owned(peer, b), 1);
	db_close(peer);
}

static void
test_takeover_unowned_and_max(void **state)
{
	struct fx *fx = *state;
	struct db *peer = open_peer(fx);
	struct claimed c;
	struct db_txn t;
	struct gw_err err;
	int64_t b;

	/* Rows with no owner (from before incarnations were recorded, or a
	 * handle without one) are anyone's to take. */
	assert_int_equal(start(fx->db, "u1", 0, NOW, &t), DB_START_OK);
	db_txn_cleanup(&t);
	assert_int_equal(start(fx->db, "u2", 0, NOW, &t), DB_START_OK);
	db_txn_cleanup(&t);
	assert_int_equal(start(fx->db, "u3", 0, NOW, &t), DB_START_OK);
	db_txn_cleanup(&t);
	b = reg(peer, "gw-b", 60);
	memset(&c, 0, sizeof(c));
	assert_int_equal(db_txn_claim_orphans(peer, b, DB_LEASE_MARGIN_S, 2,
			     claim_seen, &c, &err),
	    2);
	assert_int_equal(c.from[0], 0);
	assert_int_equal(db_txn_claim_orphans(peer, b, DB_LEASE_MARGIN_S, 2,
			     claim_seen, &c, &err),
	    1);
	assert_int_equal(c.n, 3);
	assert_int_equal(owned(peer, b), 3);
	db_close(peer);
}

static void
test_takeover_with_serve_lock_is_immediate(void **state)
{
	struct fx *fx = *state;
	struct db *peer = open_peer(fx);
	struct db_txn t;
	struct gw_err err;
	int64_t a, b;

	a = reg(fx->db, "gw-a", 60);
	assert_int_equal(start(fx->db, "x", 0, NOW, &t), DB_START_OK);
	db_txn_cleanup(&t);
	assert_int_equal(db_serve_lock(peer, &err), 0);
	b = reg(peer, "gw-b", 60);
	if (fx->pg) {
		/* PostgreSQL: the serve lock claims nothing (several
		 * gateways share the database), so it proves no peer dead:
		 * no claim before A's lease ended, all of them after. */
		assert_int_equal(db_txn_claim_orphans(peer, b,
				     DB_LEASE_MARGIN_S, 100, NULL, NULL, &err),
		    0);
		assert_int_equal(owner_of(peer, "x", NULL), a);
		assert_int_equal(db_node_release(fx->db, a, &err), 0);
	}
	/* SQLite: the holder of the serve lock knows every other
	 * incarnation dead (it cannot serve the file), and does not wait
	 * their leases out. */
	assert_int_equal(db_txn_claim_orphans(peer, b, DB_LEASE_MARGIN_S, 100,
			     NULL, NULL, &err),
	    1);
	assert_int_equal(owner_of(peer, "x", NULL), b);
	assert_int_equal(owned(fx->db, a), 0);
	db_close(peer);
}

/* Claimers racing on one dead incarnation's rows, each on its handle. */
#define CLAIMERS 3
#define CLAIM_ROWS 60
struct claimer {
	struct db *db;
	int64_t me;
	pthread_barrier_t *bar;
	int got;
	int rc;
	char txids[CLAIM_ROWS][16];
};

static int
claimer_seen(void *arg, const struct db_txn *t)
{
	struct claimer *c = arg;

	if (c->got < CLAIM_ROWS)
		snprintf(c->txids[c->got], sizeof(c->txids[0]), "%s", t->txid);
	c->got++;
	return 0;
}

static void *
claimer_run(void *arg)
{
	struct claimer *c = arg;
	struct gw_err err;
	int n;

	pthread_barrier_wait(c->bar);
	/* Small bites, so that the claimers interleave. */
	do {
		n = db_txn_claim_orphans(c->db, c->me, DB_LEASE_MARGIN_S, 7,
		    claimer_seen, c, &err);
		if (n < 0)
			c->rc = -1;
	} while (n > 0);
	return NULL;
}

/* One race: a dead incarnation's CLAIM_ROWS rows (txids cROUND-NN), three
 * new incarnations claiming them at once. */
static void
claim_race(struct fx *fx, int round)
{
	struct claimer cl[CLAIMERS];
	pthread_t th[CLAIMERS];
	pthread_barrier_t bar;
	struct db_txn t;
	struct gw_err err;
	char txid[16], seen[CLAIM_ROWS];
	int64_t a;
	int i, k, n, total = 0;

	a = reg(fx->db, "gw-dead", 60);
	for (i = 0; i < CLAIM_ROWS; i++) {
		snprintf(txid, sizeof(txid), "c%d-%02d", round, i);
		assert_int_equal(start(fx->db, txid, 0, NOW, &t), DB_START_OK);
		db_txn_cleanup(&t);
	}
	assert_int_equal(db_node_release(fx->db, a, &err), 0);
	memset(cl, 0, sizeof(cl));
	assert_int_equal(pthread_barrier_init(&bar, NULL, CLAIMERS), 0);
	for (i = 0; i < CLAIMERS; i++) {
		cl[i].db = open_peer(fx);
		snprintf(txid, sizeof(txid), "gw-%d-%d", round, i);
		cl[i].me = reg(cl[i].db, txid, 60);
		cl[i].bar = &bar;
	}
	for (i = 0; i < CLAIMERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, claimer_run,
				     &cl[i]),
		    0);
	for (i = 0; i < CLAIMERS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	pthread_barrier_destroy(&bar);
	/* Disjoint sets whose union is every row: each row was handed to
	 * exactly one claimer, and is owned by that one. */
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < CLAIMERS; i++) {
		assert_int_equal(cl[i].rc, 0);
		assert_int_equal(owned(cl[i].db, cl[i].me), cl[i].got);
		for (k = 0; k < cl[i].got; k++) {
			n = atoi(strchr(cl[i].txids[k], '-') + 1);
			assert_true(n >= 0 && n < CLAIM_ROWS);
			assert_int_equal(seen[n], 0);
			seen[n] = 1;
			assert_int_equal(owner_of(fx->db, cl[i].txids[k], NULL),
			    cl[i].me);
		}
		total += cl[i].got;
	}
	assert_int_equal(total, CLAIM_ROWS);
	for (i = 0; i < CLAIMERS; i++)
		db_close(cl[i].db);
}

/* Several rounds: a race lost by luck once is still caught. */
static void
test_concurrent_claimers(void **state)
{
	int round;

	for (round = 0; round < 4; round++)
		claim_race(*state, round);
}

static void
test_gate_arithmetic(void **state)
{
	(void)state;
	/* No renewal yet: closed. */
	assert_false(db_lease_gate(0, 0, 30, 5));
	/* deadline 40 s: an order of E = 30 s with M = 5 s may start until
	 * just before 5 s. */
	assert_true(db_lease_gate(0, 40000, 30, 5));
	assert_true(db_lease_gate(4999, 40000, 30, 5));
	assert_false(db_lease_gate(5000, 40000, 30, 5));
	assert_false(db_lease_gate(60000, 40000, 30, 5));
	/* L = E + M + 2H (the shortest the config takes) leaves 2H open
	 * after each renewal: one missed beat still orders. */
	assert_true(db_lease_gate(1000000 + 9999, 1000000 + 45000, 30, 5));
	assert_false(db_lease_gate(1000000 + 10000, 1000000 + 45000, 30, 5));
	/* No gate object: the CLI, always open. */
	assert_true(db_lease_may_order(NULL));
}

/* An injected monotonic clock, in milliseconds. */
static int64_t fake_ms;

static int64_t
fake_clock(void *arg)
{
	(void)arg;
	return fake_ms;
}

struct events {
	int warn;
	int info;
	char last[384];
};

static void
on_event(void *arg, bool warn, const char *msg)
{
	struct events *e = arg;

	if (warn)
		e->warn++;
	else
		e->info++;
	snprintf(e->last, sizeof(e->last), "%s", msg);
}

static void
test_lease_beats(void **state)
{
	struct fx *fx = *state;
	struct db_lease_opts o;
	struct db_lease *l = NULL;
	struct events ev;
	struct gw_err err;
	struct db_txn t;
	int64_t first, second;

	memset(&o, 0, sizeof(o));
	memset(&ev, 0, sizeof(ev));
	o.name = "gw-a";
	o.lease_s = 45;
	o.call_s = 30;
	o.margin_s = 5;
	o.beat_s = 0; /* no thread: beats by hand */
	o.event = on_event;
	o.event_arg = &ev;
	o.clock = fake_clock;
	fake_ms = 1000000;
	assert_int_equal(db_lease_start(&l, fx->db, &o, &err), 0);
	first = db_lease_node(l);
	assert_true(first > 0);
	assert_int_equal(db_node(fx->db), first);
	/* Renewed at start (t_send = 1000 s): open until 1000 + 45 - 35. */
	assert_true(db_lease_may_order(l));
	fake_ms = 1000000 + 9999;
	assert_true(db_lease_may_order(l));
	fake_ms = 1000000 + 10000;
	assert_false(db_lease_may_order(l));
	/* A beat reopens it from the time the renewal was sent. */
	assert_int_equal(db_lease_tick(l), 0);
	assert_true(db_lease_may_order(l));
	fake_ms += 9999;
	assert_true(db_lease_may_order(l));
	fake_ms += 1;
	assert_false(db_lease_may_order(l));
	assert_int_equal(ev.warn, 0);
	/* The lease is lost behind its back (it ran out, a peer may have
	 * taken over): the beat registers a new incarnation, whose
	 * transactions are stamped with it, and the gate stays closed until
	 * its first renewal. */
	assert_int_equal(db_node_release(fx->db, first, &err), 0);
	fake_ms = 2000000;
	assert_int_equal(db_lease_tick(l), 1);
	second = db_lease_node(l);
	assert_true(second > first);
	assert_int_equal(db_node(fx->db), second);
	assert_false(db_lease_may_order(l));
	assert_int_equal(ev.warn, 1);
	assert_non_null(strstr(ev.last, "registered incarnation"));
	assert_int_equal(start(fx->db, "after", 0, NOW, &t), DB_START_OK);
	assert_int_equal(t.owner, second);
	db_txn_cleanup(&t);
	assert_int_equal(db_lease_tick(l), 0);
	assert_true(db_lease_may_order(l));
	/* Stopped with release: the lease is over, a renewal finds it
	 * lost. */
	db_lease_stop(l, true);
	assert_int_equal(db_node_renew(fx->db, second, 45, &err), 1);
	assert_int_equal(db_node(fx->db), 0);
}

static void
test_lease_late_beat(void **state)
{
	struct fx *fx = *state;
	struct db_lease_opts o;
	struct db_lease *l = NULL;
	struct events ev;
	struct gw_err err;
	int64_t node;

	memset(&o, 0, sizeof(o));
	memset(&ev, 0, sizeof(ev));
	o.name = "gw-a";
	o.lease_s = 45;
	o.call_s = 30;
	o.margin_s = 5;
	o.beat_s = 3600; /* the thread runs, but does not beat in the test */
	o.event = on_event;
	o.event_arg = &ev;
	o.clock = fake_clock;
	fake_ms = 5000000;
	assert_int_equal(db_lease_start(&l, fx->db, &o, &err), 0);
	node = db_lease_node(l);
	/* A beat later than H + M after the last one (the process was
	 * frozen): said, and the lease still renewed. */
	fake_ms += (3600 + 5) * 1000 + 1;
	assert_int_equal(db_lease_tick(l), 0);
	assert_int_equal(ev.warn, 1);
	assert_non_null(strstr(ev.last, "late"));
	assert_true(db_lease_may_order(l));
	/* Stopped without release (orders may be in flight): the lease
	 * runs on, for a survivor to wait out. */
	db_lease_stop(l, false);
	assert_int_equal(db_node_renew(fx->db, node, 45, &err), 0);
	/* Bad options. */
	o.lease_s = 0;
	assert_int_equal(db_lease_start(&l, fx->db, &o, &err), -1);
	assert_null(l);
}

/* Marks of the incarnations, newest first (at most 4). */
struct marks_seen {
	int n;
	struct db_node m[4];
};

static int
marks_seen(void *arg, const struct db_node *n)
{
	struct marks_seen *s = arg;

	if (s->n < 4) {
		s->m[s->n] = *n;
		s->m[s->n].name = NULL; /* owned by the list */
		s->m[s->n].version = NULL;
	}
	s->n++;
	return 0;
}

/*
 * What `scepgw check` compares (README "High availability"): each
 * incarnation keeps the marks it records, either may be absent, a second
 * recording replaces the first; the lease records its options' marks at
 * every registration, a re-registration included.
 */
static void
test_node_marks(void **state)
{
	struct fx *fx = *state;
	struct db_lease_opts o;
	struct db_lease *l = NULL;
	struct marks_seen s;
	struct gw_err err;
	uint8_t x[32], y[32], z[32];
	int64_t a, b, c, first;

	memset(x, 0x11, sizeof(x));
	memset(y, 0x22, sizeof(y));
	memset(z, 0x33, sizeof(z));
	a = reg(fx->db, "gw-a", 60);
	b = reg(fx->db, "gw-b", 60);
	c = reg(fx->db, "gw-c", 60);
	assert_int_equal(db_node_set_marks(fx->db, a, z, z, &err), 0);
	assert_int_equal(db_node_set_marks(fx->db, a, x, y, &err), 0);
	assert_int_equal(db_node_set_marks(fx->db, b, x, NULL, &err), 0);
	assert_int_equal(db_node_set_marks(fx->db, 0, x, y, &err), -1);
	assert_int_equal(err.code, DB_ERR_ARG);
	memset(&s, 0, sizeof(s));
	assert_int_equal(db_node_list(fx->db, marks_seen, &s, &err), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.m[0].id, c); /* never marked */
	assert_false(s.m[0].has_order);
	assert_false(s.m[0].has_ra);
	assert_int_equal(s.m[1].id, b);
	assert_true(s.m[1].has_order);
	assert_memory_equal(s.m[1].order_sha256, x, 32);
	assert_false(s.m[1].has_ra);
	assert_int_equal(s.m[2].id, a);
	assert_true(s.m[2].has_order && s.m[2].has_ra);
	assert_memory_equal(s.m[2].order_sha256, x, 32);
	assert_memory_equal(s.m[2].ra_sha256, y, 32);

	memset(&o, 0, sizeof(o));
	o.name = "gw-d";
	o.lease_s = 45;
	o.call_s = 30;
	o.margin_s = 5;
	o.order_sha256 = z;
	o.ra_sha256 = y;
	assert_int_equal(db_lease_start(&l, fx->db, &o, &err), 0);
	first = db_lease_node(l);
	/* Lost behind its back: the new incarnation is marked too. */
	assert_int_equal(db_node_release(fx->db, first, &err), 0);
	assert_int_equal(db_lease_tick(l), 1);
	assert_true(db_lease_node(l) > first);
	memset(&s, 0, sizeof(s));
	assert_int_equal(db_node_list(fx->db, marks_seen, &s, &err), 0);
	assert_int_equal(s.m[0].id, db_lease_node(l));
	assert_int_equal(s.m[1].id, first);
	for (int i = 0; i < 2; i++) {
		assert_true(s.m[i].has_order && s.m[i].has_ra);
		assert_memory_equal(s.m[i].order_sha256, z, 32);
		assert_memory_equal(s.m[i].ra_sha256, y, 32);
	}
	db_lease_stop(l, true);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_register_renew_release,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_owner_stamped_and_cleared,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_takeover_after_release,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_takeover_unowned_and_max,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_takeover_with_serve_lock_is_immediate, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_claimers, setup,
		    teardown),
		cmocka_unit_test(test_gate_arithmetic),
		cmocka_unit_test_setup_teardown(test_lease_beats, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_lease_late_beat, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_node_marks, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
