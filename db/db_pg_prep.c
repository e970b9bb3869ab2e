/*
 * The PostgreSQL backend's named prepared statements (db/README.md "The
 * PostgreSQL backend"): the statements of an enrollment's hot path are
 * parsed and planned once per connection, then only bound and executed.
 * A prepared statement belongs to one server session, so each PGconn
 * carries the set it has prepared (libpq's instance data of an event
 * procedure, freed with the connection): a new connection, after a
 * reconnect or a failover to another host, starts with none and prepares
 * each statement again on its first use. A statement is counted as
 * prepared only once the server said so. A session that lost one
 * (SQLSTATE 26000: DISCARD ALL, DEALLOCATE, a pooler that moved the
 * session; nothing ran) is closed and replaced like a broken connection
 * (pg_err_res(), pg_release(), pg_run()), and the write tried again.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <libpq-events.h>
#include <libpq-fe.h>

#include "gw_err.h"
#include "db.h"
#include "db_int.h"
#include "db_pg_int.h"

/* A statement: its name on the server and its text. */
struct pg_stmt_def {
	const char *name;
	const char *sql;
};

static const struct pg_stmt_def pg_stmts[PG_S__MAX] = {
	[PG_S_BEGIN] = { "scepgw_begin", "BEGIN" },
	[PG_S_COMMIT] = { "scepgw_commit", "COMMIT" },
	/* PG_TXN_COLS, then the status (migration 6). */
	[PG_S_TXN_START] = { "scepgw_txn_start",
	    "SELECT * FROM scepgw_txn_start_row($1, $2, $3, $4, $5, $6, $7, "
	    "$8, $9, $10, $11, $12, $13, $14, $15, $16, $17)" },
	[PG_S_TXN_SET_ORDER] = { "scepgw_txn_set_order",
	    "SELECT scepgw_txn_set_order($1, $2, $3)" },
	[PG_S_TXN_SET_ISSUED] = { "scepgw_txn_set_issued",
	    "SELECT scepgw_txn_set_issued($1, $2, $3, $4, $5, $6, $7)" },
	[PG_S_TXN_SET_FAILED] = { "scepgw_txn_set_failed",
	    "SELECT scepgw_txn_set_failed($1, $2, $3, $4, $5, $6)" },
	[PG_S_TXN_GET] = { "scepgw_txn_get",
	    "SELECT " PG_TXN_COLS " FROM transactions WHERE txid = $1" },
	[PG_S_TXN_FIND_CSR] = { "scepgw_txn_find_csr",
	    "SELECT txid FROM transactions WHERE csr_sha256 = $1 "
	    "AND state <> 3 LIMIT 1" },
	[PG_S_CHALLENGE_FIND] = { "scepgw_challenge_find",
	    "SELECT id, expires, used, revoked, cn, email, ou, profile, upn "
	    "FROM challenges WHERE hash = $1" },
	[PG_S_NODE_RENEW] = { "scepgw_node_renew",
	    "UPDATE nodes SET lease_until = clock_timestamp() + "
	    "make_interval(secs => $2) "
	    "WHERE id = $1 AND lease_until > clock_timestamp() "
	    "RETURNING id" },
	[PG_S_TXN_EVENT] = { "scepgw_txn_event",
	    "SELECT scepgw_txn_event($1, $2, $3, $4, $5)" },
};

/* What a connection has prepared: a bit per enum pg_stmt; lost: the
 * session lost some, which the set no longer says. */
struct pg_conn_state {
	uint32_t prepared;
	bool lost;
};

/* libpq's event procedure: the state lives and dies with its PGconn. */
static int
pg_event(PGEventId id, void *info, void *pass)
{
	struct pg_conn_state *st;
	PGconn *c;

	(void)pass;
	switch (id) {
	case PGEVT_REGISTER:
		c = ((PGEventRegister *)info)->conn;
		if ((st = calloc(1, sizeof(*st))) == NULL)
			return 0;
		return PQsetInstanceData(c, pg_event, st);
	case PGEVT_CONNRESET: /* a new session: nothing prepared */
		c = ((PGEventConnReset *)info)->conn;
		if ((st = PQinstanceData(c, pg_event)) != NULL) {
			st->prepared = 0;
			st->lost = false;
		}
		return 1;
	case PGEVT_CONNDESTROY:
		c = ((PGEventConnDestroy *)info)->conn;
		free(PQinstanceData(c, pg_event));
		return 1;
	default:
		return 1;
	}
}

int
pg_conn_track(PGconn *c)
{
	return PQregisterEventProc(c, pg_event, "scepgw", NULL) != 0 ? 0 : -1;
}

uint32_t
pg_prepared_mask(const PGconn *c)
{
	const struct pg_conn_state *st = PQinstanceData(c, pg_event);

	return st != NULL ? st->prepared : 0;
}

void
pg_prepared_set(PGconn *c, enum pg_stmt s)
{
	struct pg_conn_state *st = PQinstanceData(c, pg_event);

	if (st != NULL)
		st->prepared |= 1U << s;
}

void
pg_conn_lost_set(PGconn *c)
{
	struct pg_conn_state *st = PQinstanceData(c, pg_event);

	if (st != NULL)
		st->lost = true;
}

bool
pg_conn_lost(const PGconn *c)
{
	const struct pg_conn_state *st = PQinstanceData(c, pg_event);

	return st != NULL && st->lost;
}

int
pg_send_prepare(PGconn *c, enum pg_stmt s, const struct pg_params *p)
{
	return PQsendPrepare(c, pg_stmts[s].name, pg_stmts[s].sql,
	    p != NULL ? p->n : 0, p != NULL ? p->types : NULL);
}

int
pg_send_prepared(PGconn *c, enum pg_stmt s, const struct pg_params *p)
{
	if (p == NULL)
		return PQsendQueryPrepared(c, pg_stmts[s].name, 0, NULL, NULL,
		    NULL, 0);
	return PQsendQueryPrepared(c, pg_stmts[s].name, p->n, p->v, p->len,
	    p->fmt, 0);
}

/*
 * pg_exec() of statement s: prepared first when c has not got it (one
 * round trip more, once per connection), then executed. The wait for
 * both is bounded by wait_s seconds (0: no bound).
 */
PGresult *
pg_exec_prep(PGconn *c, enum pg_stmt s, const struct pg_params *p,
    const char *what, int wait_s, struct gw_err *err)
{
	int64_t deadline = wait_s > 0 ? pg_mono_ms() + wait_s * 1000LL : 0;
	PGresult *r;

	if ((pg_prepared_mask(c) & (1U << s)) == 0) {
		if (pg_send_prepare(c, s, p) != 1) {
			pg_err_res(NULL, c, what, err);
			return NULL;
		}
		if ((r = pg_collect(c, deadline, what, wait_s, err)) == NULL)
			return NULL;
		PQclear(r);
		pg_prepared_set(c, s);
	}
	if (pg_send_prepared(c, s, p) != 1) {
		pg_err_res(NULL, c, what, err);
		return NULL;
	}
	return pg_collect(c, deadline, what, wait_s, err);
}
