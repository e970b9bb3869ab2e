/*
 * Incarnations and leases on PostgreSQL (db/README.md "Leases"): the
 * nodes table, every decision timed by the database's clock
 * (clock_timestamp(), so that the gateways' own clocks never matter); the
 * takeover of the ORDERING transactions a dead incarnation owned, one
 * conditional UPDATE over rows locked with FOR UPDATE SKIP LOCKED, so
 * that of several survivors claiming at once each row goes to exactly
 * one; an incarnation's own work list. Unlike SQLite there is no serve
 * lock to prove a peer dead: every takeover waits the lease out.
 *
 * Times handed back are unix seconds (struct db_node, struct db_txn),
 * converted with extract(epoch ...); nothing here compares them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "gw_err.h"
#include "db.h"
#include "db_int.h"
#include "db_lease.h"
#include "db_pg_int.h"

/* A timestamptz column as unix seconds, truncated as SQLite's clock. */
#define PG_EPOCH(col) "floor(extract(epoch FROM " col "))::bigint"

/* The database's now plus (or minus) $2 seconds. */
#define PG_NOW_PLUS "clock_timestamp() + make_interval(secs => $2)"
#define PG_NOW_MINUS "clock_timestamp() - make_interval(secs => $2)"

/*
 * db_node_register(): prunes incarnations whose lease ended over a day
 * ago and that own nothing (as SQLite does), inserts a new one. Not sent
 * again on a broken connection: a second incarnation would be harmless
 * but never renewed.
 */
int
pg_node_register(struct db *db, const char *name, int lease_s,
    const uint8_t cfg_sha256[32], const char *version, int64_t *node,
    struct gw_err *err)
{
	struct pg_params p = { 0 };
	PGresult *r;

	pp_text(&p, name);
	pp_int4(&p, lease_s);
	pp_bytea(&p, cfg_sha256, cfg_sha256 != NULL ? 32 : 0);
	pp_text(&p, version);
	r = pg_run(db,
	    "WITH pruned AS (DELETE FROM nodes n "
	    " WHERE n.lease_until < clock_timestamp() - interval '1 day'"
	    " AND NOT EXISTS (SELECT 1 FROM transactions t"
	    "  WHERE t.owner = n.id)) "
	    "INSERT INTO nodes (name, lease_until, config_sha256, version) "
	    "VALUES ($1, " PG_NOW_PLUS ", $3, $4) RETURNING id",
	    &p, "node register", false, err);
	if (r == NULL)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		gw_err_set(err, DB_ERR_SQL, "node register: no id returned");
		return -1;
	}
	*node = pg_int(r, 0, 0);
	PQclear(r);
	return 0;
}

/* Runs a lease UPDATE of node with seconds as $2 (sql, or the prepared
 * statement s when sql is NULL); *rows: rows it hit. */
static int
node_update(struct db *db, enum pg_stmt s, const char *sql, int64_t node,
    int seconds, int *rows, struct gw_err *err)
{
	struct pg_params p = { 0 };
	PGresult *r;

	pp_int(&p, node);
	pp_int4(&p, seconds);
	/* Both are harmless to repeat: a renewal is conditional on the
	 * lease not having run out, a release only moves it back. */
	r = sql != NULL ? pg_run(db, sql, &p, "node lease", true, err) :
			  pg_run_prep(db, s, &p, "node lease", true, err);
	if (r == NULL)
		return -1;
	*rows = PQntuples(r);
	PQclear(r);
	return 0;
}

/* db_node_renew(): 0 renewed, 1 lost for good (no row hit), -1 error. */
int
pg_node_renew(struct db *db, int64_t node, int lease_s, struct gw_err *err)
{
	int rows = 0;

	/* UPDATE nodes SET lease_until = PG_NOW_PLUS WHERE id = $1 AND
	 * lease_until > clock_timestamp() RETURNING id */
	if (node_update(db, PG_S_NODE_RENEW, NULL, node, lease_s, &rows, err) !=
	    0)
		return -1;
	return rows == 1 ? 0 : 1;
}

/* db_node_release(): ends node's lease M + 1 s in the past, so that a
 * peer's claim (lease_until < now - M) takes its rows at once. */
int
pg_node_release(struct db *db, int64_t node, struct gw_err *err)
{
	int rows = 0;

	return node_update(db, PG_S__MAX,
	    "UPDATE nodes SET lease_until = " PG_NOW_MINUS " "
	    "WHERE id = $1 AND lease_until > " PG_NOW_MINUS " RETURNING id",
	    node, DB_LEASE_MARGIN_S + 1, &rows, err);
}

static void
node_cleanup_fn(void *p)
{
	db_node_cleanup(p);
}

static int
node_read_fn(const PGresult *r, int row, void *p)
{
	struct db_node *n = p;
	int rc;

	n->id = pg_int(r, row, 0);
	n->started_at = pg_int(r, row, 2);
	n->lease_until = pg_int(r, row, 3);
	n->now = pg_int(r, row, 5);
	if (pg_str(r, row, 1, &n->name) != 0 ||
	    pg_str(r, row, 4, &n->version) != 0)
		return -1;
	if ((rc = pg_fixed(r, row, 6, n->order_sha256, 32)) < 0)
		return -1;
	n->has_order = rc == 0;
	if ((rc = pg_fixed(r, row, 7, n->ra_sha256, 32)) < 0)
		return -1;
	n->has_ra = rc == 0;
	return 0;
}

/* db_node_set_marks(): harmless to repeat. */
int
pg_node_set_marks(struct db *db, int64_t node, const uint8_t order_sha256[32],
    const uint8_t ra_sha256[32], struct gw_err *err)
{
	struct pg_params p = { 0 };
	PGresult *r;

	pp_int(&p, node);
	pp_bytea(&p, order_sha256, order_sha256 != NULL ? 32 : 0);
	pp_bytea(&p, ra_sha256, ra_sha256 != NULL ? 32 : 0);
	r = pg_run(db,
	    "UPDATE nodes SET order_sha256 = $2, ra_sha256 = $3 WHERE id = $1",
	    &p, "node marks", true, err);
	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

/* db_node_list(): every kept incarnation, newest first. */
int
pg_node_list(struct db *db, db_node_fn *fn, void *arg, struct gw_err *err)
{
	struct db_rows rows = { NULL, 0, 0, sizeof(struct db_node),
		node_cleanup_fn };
	PGresult *r;
	size_t i;
	int rc;

	r = pg_run(db,
	    "SELECT id, name, " PG_EPOCH("started_at") ", " PG_EPOCH("lease_until") ", version, " PG_EPOCH(
		"clock_timestamp()") " "
				     ", order_sha256, ra_sha256 FROM nodes ORDER BY id DESC",
	    NULL, "node list", true, err);
	if (r == NULL)
		return -1;
	rc = pg_rows_load(r, &rows, node_read_fn, "node list", err);
	PQclear(r);
	for (i = 0; rc == 0 && i < rows.n; i++)
		if (fn(arg,
			(struct db_node *)(void *)(rows.v + i * rows.size)) !=
		    0)
			break;
	db_rows_cleanup(&rows);
	return rc;
}

static void
txn_cleanup_fn(void *p)
{
	db_txn_cleanup(p);
}

static int
txn_read_fn(const PGresult *r, int row, void *p)
{
	return pg_txn_row_read(r, row, p);
}

/* A claimed row: PG_TXN_COLS (the new owner, taken_at), then the owner
 * it was taken from. */
static int
orphan_read_fn(const PGresult *r, int row, void *p)
{
	struct db_txn *t = p;

	if (pg_txn_row_read(r, row, t) != 0)
		return -1;
	t->taken_from = pg_int(r, row, PG_TXN_NCOLS);
	return 0;
}

static int
txn_by_id(const void *a, const void *b)
{
	const struct db_txn *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

/* Runs a list of transactions and calls fn for each row, oldest first,
 * until it returns non-zero (RETURNING promises no order, so the rows
 * are sorted here). Returns the rows read (capped at INT_MAX), or -1. */
static int
txn_rows(struct db *db, const char *sql, const struct pg_params *p,
    pg_row_read_fn *read, bool retry, db_txn_fn *fn, void *arg,
    const char *what, struct gw_err *err)
{
	struct db_rows rows = { NULL, 0, 0, sizeof(struct db_txn),
		txn_cleanup_fn };
	PGresult *r;
	size_t i;
	int rc;

	if ((r = pg_run(db, sql, p, what, retry, err)) == NULL)
		return -1;
	rc = pg_rows_load(r, &rows, read, what, err);
	PQclear(r);
	if (rc == 0 && rows.n > 1)
		qsort(rows.v, rows.n, rows.size, txn_by_id);
	for (i = 0; rc == 0 && fn != NULL && i < rows.n; i++)
		if (fn(arg,
			(struct db_txn *)(void *)(rows.v + i * rows.size)) != 0)
			break;
	if (rc == 0)
		rc = rows.n > (size_t)0x7fffffff ? 0x7fffffff : (int)rows.n;
	db_rows_cleanup(&rows);
	return rc;
}

/*
 * db_txn_claim_orphans(): one statement, so one commit. The inner SELECT
 * picks up to max ORDERING rows not owned by me whose owner has none or
 * whose lease ended more than M seconds ago by the database's clock, and
 * locks them FOR UPDATE OF t SKIP LOCKED: rows another claimer holds are
 * left to it, and a row changed meanwhile (finished, or taken by a peer
 * that committed first) is checked again on its newest version by
 * READ COMMITTED before it is locked. The UPDATE then moves the locked
 * rows to me and stamps taken_at; RETURNING hands back each full row
 * and the owner it came from. Not sent again on a broken connection:
 * what the lost commit took is me's and shows in db_txn_list_owned().
 */
int
pg_txn_claim_orphans(struct db *db, int64_t me, int margin_s, size_t max,
    db_txn_fn *fn, void *arg, struct gw_err *err)
{
	struct pg_params p = { 0 };

	pp_int(&p, me);
	pp_int4(&p, margin_s);
	pp_limit(&p, max);
	return txn_rows(db,
	    "WITH orphan AS ("
	    " SELECT t.id AS o_id, t.owner AS o_from"
	    " FROM transactions t LEFT JOIN nodes n ON n.id = t.owner"
	    " WHERE t.state = 1 AND (t.owner IS NULL OR (t.owner <> $1"
	    "  AND n.lease_until < " PG_NOW_MINUS "))"
	    " ORDER BY t.id LIMIT $3"
	    " FOR UPDATE OF t SKIP LOCKED) "
	    "UPDATE transactions SET owner = $1, taken_at = clock_timestamp() "
	    "FROM orphan WHERE id = orphan.o_id AND state = 1 "
	    "RETURNING " PG_TXN_COLS ", orphan.o_from",
	    &p, orphan_read_fn, false, fn, arg, "txn claim", err);
}

/* db_txn_list_owned(): node's ORDERING rows, oldest first. */
int
pg_txn_list_owned(struct db *db, int64_t node, db_txn_fn *fn, void *arg,
    struct gw_err *err)
{
	struct pg_params p = { 0 };

	pp_int(&p, node);
	return txn_rows(db,
		   "SELECT " PG_TXN_COLS " FROM transactions "
		   "WHERE state = 1 AND owner = $1 ORDER BY id",
		   &p, txn_read_fn, true, fn, arg, "txn list owned", err) < 0 ?
	    -1 :
	    0;
}
