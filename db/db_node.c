/*
 * The front of db.h's incarnations and leases (README "How an enrollment
 * works" 7): each function checks its arguments and calls the backend's
 * operation, as db.c does for the rest. The lease thread and the order
 * gate that use them are db_lease.c's. Library code: failures are
 * reported through struct gw_err, never logged.
 */
#include <stdlib.h>
#include <string.h>

#include "gw_err.h"
#include "db.h"
#include "db_int.h"

/* Frees the strings of an incarnation's row and zeroes it; accepts NULL. */
void
db_node_cleanup(struct db_node *n)
{
	if (n == NULL)
		return;
	free(n->name);
	free(n->version);
	memset(n, 0, sizeof(*n));
}

/*
 * Registers a new incarnation of `scepgw serve` named name (shown in logs
 * and `scepgw check`), its lease running lease_s seconds from the
 * database's now; cfg_sha256 (may be NULL) and version are kept for
 * `scepgw check`. An id is never reused. Incarnations whose lease ended
 * over a day ago and that own nothing are pruned. On success *node is its
 * id and the handle stamps it as the owner of the transactions it starts
 * (db_node()). Returns 0, or -1 with err set.
 */
int
db_node_register(struct db *db, const char *name, int lease_s,
    const uint8_t cfg_sha256[32], const char *version, int64_t *node,
    struct gw_err *err)
{
	*node = 0;
	if (name == NULL || name[0] == '\0' || lease_s < 0) {
		gw_err_set(err, DB_ERR_ARG, "node register: bad argument");
		return -1;
	}
	if (db->be->node_register(db, name, lease_s, cfg_sha256, version, node,
		err) != 0)
		return -1;
	atomic_store(&db->node, *node);
	return 0;
}

/*
 * Extends node's lease to lease_s seconds from the database's now, only
 * while it has not run out: an incarnation whose lease ended is dead for
 * good (a survivor may have taken its transactions over). Returns 0
 * renewed, 1 lost for good (register a new one), -1 error (err set; the
 * lease runs on).
 */
int
db_node_renew(struct db *db, int64_t node, int lease_s, struct gw_err *err)
{
	if (node <= 0 || lease_s < 0) {
		gw_err_set(err, DB_ERR_ARG, "node renew: bad argument");
		return -1;
	}
	return db->be->node_renew(db, node, lease_s, err);
}

/*
 * Ends node's lease (after a graceful drain: nothing of it is in flight),
 * back-dated by DB_LEASE_MARGIN_S + 1 seconds so that a survivor's
 * db_txn_claim_orphans() with that margin takes its transactions over at
 * once; the
 * handle stamps no owner any more. Releasing twice is fine. Returns 0, or
 * -1 with err set.
 */
int
db_node_release(struct db *db, int64_t node, struct gw_err *err)
{
	int64_t mine = node;

	if (node <= 0) {
		gw_err_set(err, DB_ERR_ARG, "node release: bad argument");
		return -1;
	}
	if (db->be->node_release(db, node, err) != 0)
		return -1;
	atomic_compare_exchange_strong(&db->node, &mine, 0);
	return 0;
}

/*
 * Calls fn for every incarnation kept (live or not), newest first, until
 * fn returns non-zero; each row carries the database's now, to tell a
 * live lease from an ended one. Returns 0 or -1 with err set.
 */
int
db_node_list(struct db *db, db_node_fn *fn, void *arg, struct gw_err *err)
{
	return db->be->node_list(db, fn, arg, err);
}

/*
 * Records on incarnation node what `scepgw check` compares across the
 * live gateways (README "High availability"): the digest of the settings
 * that decide an order and the RA certificate's SHA-256; either may be
 * NULL (not known). Returns 0, or -1 with err set.
 */
int
db_node_set_marks(struct db *db, int64_t node, const uint8_t order_sha256[32],
    const uint8_t ra_sha256[32], struct gw_err *err)
{
	if (node <= 0) {
		gw_err_set(err, DB_ERR_ARG, "node marks: bad argument");
		return -1;
	}
	return db->be->node_set_marks(db, node, order_sha256, ra_sha256, err);
}

/*
 * The database server's version, role, and replication as this role can
 * see it (struct db_server). Returns 0, 1 when the backend is no server
 * (SQLite: nothing to report), or -1 with err set.
 */
int
db_server_info(struct db *db, struct db_server *s, struct gw_err *err)
{
	memset(s, 0, sizeof(*s));
	if (db->be->server_info == NULL)
		return 1;
	return db->be->server_info(db, s, err);
}

/* The incarnation this handle stamps as owner (db_node_register()), or 0. */
int64_t
db_node(struct db *db)
{
	return atomic_load(&db->node);
}

/*
 * Takes over, for incarnation me, up to max (0: no limit) ORDERING
 * transactions whose owner is dead: its lease ended more than margin_s
 * seconds ago on the database's clock, or it has none (rows from before
 * incarnations were recorded). Each taken row gets owner me and taken_at
 * the database's now, in one write; then fn (may be NULL) is called for
 * each, after the commit, with t->taken_from the incarnation it came
 * from (0: none), until fn returns non-zero. Taking over twice is
 * harmless: a row taken is me's, and no longer an orphan. SQLite: a
 * handle holding the serve lock (db_serve_lock()) knows every other
 * incarnation dead, and takes over at once. Returns the number of rows
 * taken, or -1 with err set (nothing taken).
 */
int
db_txn_claim_orphans(struct db *db, int64_t me, int margin_s, size_t max,
    db_txn_fn *fn, void *arg, struct gw_err *err)
{
	if (me <= 0 || margin_s < 0) {
		gw_err_set(err, DB_ERR_ARG, "txn claim: bad argument");
		return -1;
	}
	return db->be->txn_claim_orphans(db, me, margin_s, max, fn, arg, err);
}

/*
 * Calls fn for every ORDERING transaction owned by incarnation node,
 * oldest first, until fn returns non-zero: the reconciler's work list.
 * Rows are read first and fn runs without the lock, so it may call
 * db_txn_set_*(). Returns 0 (also when fn stopped early), or -1 with err
 * set.
 */
int
db_txn_list_owned(struct db *db, int64_t node, db_txn_fn *fn, void *arg,
    struct gw_err *err)
{
	return db->be->txn_list_owned(db, node, fn, arg, err);
}
