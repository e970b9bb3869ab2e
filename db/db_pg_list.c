/*
 * The PostgreSQL backend's lists: challenges, transactions (the admin's
 * and the reconciler's), certificates and NDES users. Each is one
 * statement; the rows are copied out of the result first and the
 * caller's callback runs after the connection went back to the pool, so
 * it may call other db functions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "buf.h"
#include "gw_err.h"
#include "secure.h"
#include "db.h"
#include "db_int.h"
#include "db_pg_int.h"

/* The caller's callback, of any of db.h's list types, and its caller. */
typedef void pg_any_fn(void);
typedef int pg_call_fn(pg_any_fn *fn, void *arg, const void *row);

/* Copies every row of r into rows with read. 0, or -1 with err set. */
int
pg_rows_load(const PGresult *r, struct db_rows *rows, pg_row_read_fn *read,
    const char *what, struct gw_err *err)
{
	void *p;
	int i;

	for (i = 0; i < PQntuples(r); i++) {
		if ((p = db_rows_next(rows)) == NULL || read(r, i, p) != 0) {
			gw_err_set(err, DB_ERR_SQL, "%s: out of memory", what);
			return -1;
		}
	}
	return 0;
}

/* Runs sql, copies the rows and calls fn for each until it returns
 * non-zero. 0, or -1 with err set. */
static int
pg_list(struct db *db, const char *sql, const struct pg_params *p, size_t size,
    db_row_cleanup_fn *cleanup, pg_row_read_fn *read, pg_call_fn *call,
    pg_any_fn *fn, void *arg, const char *what, struct gw_err *err)
{
	struct db_rows rows = { NULL, 0, 0, size, cleanup };
	PGresult *r;
	size_t i;
	int rc;

	if ((r = pg_run(db, sql, p, what, true, err)) == NULL)
		return -1;
	rc = pg_rows_load(r, &rows, read, what, err);
	PQclear(r);
	for (i = 0; rc == 0 && i < rows.n; i++)
		if (call(fn, arg, rows.v + i * rows.size) != 0)
			break;
	db_rows_cleanup(&rows);
	return rc;
}

static void
challenge_cleanup_fn(void *p)
{
	db_challenge_cleanup(p);
}

static int
challenge_read(const PGresult *r, int row, void *p)
{
	struct db_challenge *c = p;

	c->id = pg_int(r, row, 0);
	c->created = pg_int(r, row, 1);
	c->expires = pg_int(r, row, 2);
	c->used = pg_int(r, row, 3);
	c->revoked = pg_bool(r, row, 4);
	if (pg_str(r, row, 5, &c->cn) != 0 ||
	    pg_str(r, row, 6, &c->email) != 0 ||
	    pg_str(r, row, 7, &c->ou) != 0 ||
	    pg_str(r, row, 8, &c->txid) != 0 ||
	    pg_str(r, row, 9, &c->upn) != 0 ||
	    pg_str(r, row, 10, &c->profile) != 0)
		return -1;
	return 0;
}

static int
challenge_call(pg_any_fn *fn, void *arg, const void *row)
{
	return ((db_challenge_fn *)fn)(arg, row);
}

#define PG_CH_COLS                                                        \
	"id, created, expires, used, revoked, cn, email, ou, txid, upn, " \
	"profile "

int
pg_challenge_list(struct db *db, db_challenge_fn *fn, void *arg,
    struct gw_err *err)
{
	return pg_list(db, "SELECT " PG_CH_COLS "FROM challenges ORDER BY id",
	    NULL, sizeof(struct db_challenge), challenge_cleanup_fn,
	    challenge_read, challenge_call, (pg_any_fn *)fn, arg,
	    "challenge list", err);
}

int
pg_challenge_list_state(struct db *db, enum db_challenge_state state,
    int64_t now, int64_t before, size_t limit, db_challenge_fn *fn, void *arg,
    struct gw_err *err)
{
	struct pg_params p = { 0 };

	pp_int4(&p, (int)state);
	pp_int(&p, now);
	pp_limit(&p, limit);
	pp_int(&p, before);
	return pg_list(db,
	    "SELECT " PG_CH_COLS "FROM challenges WHERE id < $4 AND ($1 = 0 "
	    "OR ($1 = 1 AND NOT revoked AND used = 0 AND expires > $2) "
	    "OR ($1 = 2 AND NOT revoked AND used <> 0) "
	    "OR ($1 = 3 AND NOT revoked AND used = 0 AND expires <= $2) "
	    "OR ($1 = 4 AND revoked)) ORDER BY id DESC LIMIT $3",
	    &p, sizeof(struct db_challenge), challenge_cleanup_fn,
	    challenge_read, challenge_call, (pg_any_fn *)fn, arg,
	    "challenge list", err);
}

static void
txn_cleanup_fn(void *p)
{
	db_txn_cleanup(p);
}

static int
txn_call(pg_any_fn *fn, void *arg, const void *row)
{
	return ((db_txn_fn *)fn)(arg, row);
}

/* A row of the admin's list: no CSR, no certificate. */
static int
txn_short_read(const PGresult *r, int row, void *p)
{
	struct db_txn *t = p;

	t->id = pg_int(r, row, 0);
	t->state = (enum db_txn_state)pg_int(r, row, 2);
	t->created = pg_int(r, row, 3);
	t->updated = pg_int(r, row, 4);
	t->fail_info = (int)pg_int(r, row, 9);
	t->epki_code = (int)pg_int(r, row, 12);
	if (pg_str(r, row, 1, &t->txid) != 0 ||
	    pg_str(r, row, 5, &t->cn) != 0 ||
	    pg_str(r, row, 6, &t->email) != 0 ||
	    pg_str(r, row, 7, &t->ou) != 0 ||
	    pg_str(r, row, 8, &t->order_id) != 0 ||
	    pg_str(r, row, 10, &t->fail_text) != 0 ||
	    pg_str(r, row, 11, &t->upn) != 0 ||
	    pg_str(r, row, 13, &t->epki_message) != 0)
		return -1;
	return 0;
}

int
pg_txn_list(struct db *db, enum db_txn_state state, const char *cn,
    size_t limit, db_txn_fn *fn, void *arg, struct gw_err *err)
{
	struct pg_params p = { 0 };

	pp_int4(&p, (int)state);
	pp_text(&p, cn);
	pp_limit(&p, limit);
	return pg_list(db,
	    "SELECT id, txid, state, created, updated, cn, email, ou, "
	    "order_id, fail_info, fail_text, upn, epki_code, epki_message "
	    "FROM transactions WHERE ($1 = 0 OR state = $1) "
	    "AND ($2 IS NULL OR cn = $2) ORDER BY id DESC LIMIT $3",
	    &p, sizeof(struct db_txn), txn_cleanup_fn, txn_short_read, txn_call,
	    (pg_any_fn *)fn, arg, "txn list", err);
}

static int
txn_full_read(const PGresult *r, int row, void *p)
{
	return pg_txn_row_read(r, row, p);
}

int
pg_txn_list_unfinished(struct db *db, db_txn_fn *fn, void *arg,
    struct gw_err *err)
{
	return pg_list(db,
	    "SELECT " PG_TXN_COLS " FROM transactions WHERE state = 1 "
	    "ORDER BY id",
	    NULL, sizeof(struct db_txn), txn_cleanup_fn, txn_full_read,
	    txn_call, (pg_any_fn *)fn, arg, "txn list", err);
}

/* db_txn_list_intune(): README "Microsoft Intune". */
int
pg_txn_list_intune(struct db *db, db_txn_fn *fn, void *arg, struct gw_err *err)
{
	return pg_list(db,
	    "SELECT " PG_TXN_COLS " FROM transactions WHERE intune = 1 "
	    "AND state <> 1 ORDER BY id",
	    NULL, sizeof(struct db_txn), txn_cleanup_fn, txn_full_read,
	    txn_call, (pg_any_fn *)fn, arg, "txn list intune", err);
}

static void
cert_cleanup_fn(void *p)
{
	db_cert_cleanup(p);
}

static int
cert_read(const PGresult *r, int row, void *p)
{
	struct db_cert *c = p;

	c->issued = pg_int(r, row, 4);
	c->not_after = pg_int(r, row, 5);
	c->revoked = pg_int(r, row, 6);
	if (pg_str(r, row, 0, &c->serial_hex) != 0 ||
	    pg_str(r, row, 1, &c->order_id) != 0 ||
	    pg_str(r, row, 2, &c->txid) != 0 ||
	    pg_str(r, row, 3, &c->subject) != 0 ||
	    pg_str(r, row, 7, &c->revoke_reason) != 0)
		return -1;
	return 0;
}

static int
cert_call(pg_any_fn *fn, void *arg, const void *row)
{
	return ((db_cert_fn *)fn)(arg, row);
}

int
pg_cert_list(struct db *db, db_cert_fn *fn, void *arg, struct gw_err *err)
{
	return pg_list(db,
	    "SELECT serial_hex, order_id, txid, subject, issued, not_after, "
	    "revoked, revoke_reason FROM certificates "
	    "ORDER BY issued, serial_hex",
	    NULL, sizeof(struct db_cert), cert_cleanup_fn, cert_read, cert_call,
	    (pg_any_fn *)fn, arg, "cert list", err);
}

/* A db_cert_search_sql() row: a listed row and its CN and e-mail. */
static int
cert_search_read(const PGresult *r, int row, void *p)
{
	struct db_cert *c = p;

	if (cert_read(r, row, p) != 0 || pg_str(r, row, 8, &c->cn) != 0 ||
	    pg_str(r, row, 9, &c->email) != 0)
		return -1;
	return 0;
}

/* db_cert_search(): the statement is made for the filters given, so that
 * the server plans it with the index those filters can use. */
int
pg_cert_search(struct db *db, const struct db_cert_query *q, db_cert_fn *fn,
    void *arg, struct gw_err *err)
{
	enum db_cq_arg args[DB_CQ__MAX];
	struct pg_params p = { 0 };
	char sql[1024];
	int i, nargs;

	if (db_cert_search_sql(q, '$', sql, sizeof(sql), args, &nargs) != 0) {
		gw_err_set(err, DB_ERR_ARG, "cert search: query too long");
		return -1;
	}
	for (i = 0; i < nargs; i++) {
		switch (args[i]) {
		case DB_CQ_SERIAL:
			pp_text(&p, q->serial_hex);
			break;
		case DB_CQ_CN:
			pp_text(&p, q->cn);
			break;
		case DB_CQ_EMAIL:
			pp_text(&p, q->email);
			break;
		case DB_CQ_NOW:
			pp_int(&p, q->now);
			break;
		case DB_CQ_AFTER_ISSUED:
			pp_int(&p, q->after_issued);
			break;
		case DB_CQ_AFTER_SERIAL:
			pp_text(&p, q->after_serial);
			break;
		default:
			pp_limit(&p, q->limit);
			break;
		}
	}
	return pg_list(db, sql, &p, sizeof(struct db_cert), cert_cleanup_fn,
	    cert_search_read, cert_call, (pg_any_fn *)fn, arg, "cert search",
	    err);
}

static void
user_cleanup_fn(void *p)
{
	db_user_cleanup(p);
}

static int
user_read(const PGresult *r, int row, void *p)
{
	struct db_user *u = p;
	char kdf[96];

	u->can_issue = pg_bool(r, row, 1);
	u->created = pg_int(r, row, 2);
	snprintf(kdf, sizeof(kdf), "%s N=%lld r=%lld p=%lld",
	    PQgetvalue(r, row, 3), (long long)pg_int(r, row, 4),
	    (long long)pg_int(r, row, 5), (long long)pg_int(r, row, 6));
	if (pg_str(r, row, 0, &u->name) != 0 ||
	    pg_str(r, row, 7, &u->profiles) != 0 ||
	    (u->kdf = gw_strdup(kdf)) == NULL)
		return -1;
	if (db_user_role_parse(PQgetvalue(r, row, 8), &u->role) != 0)
		u->role = DB_ROLE_NDES;
	return 0;
}

static int
user_call(pg_any_fn *fn, void *arg, const void *row)
{
	return ((db_user_fn *)fn)(arg, row);
}

int
pg_user_list(struct db *db, db_user_fn *fn, void *arg, struct gw_err *err)
{
	return pg_list(db,
	    "SELECT name, can_issue, created, kdf, kdf_n, kdf_r, kdf_p, "
	    "profiles, role FROM users ORDER BY name",
	    NULL, sizeof(struct db_user), user_cleanup_fn, user_read, user_call,
	    (pg_any_fn *)fn, arg, "user list", err);
}

/*
 * db_txn_search(): one statement made for the filters given, so that the
 * planner sees which index applies (transactions_cn and
 * transactions_email on COLLATE "C", transactions_state; else the primary
 * key from the newest).
 */
int
pg_txn_search(struct db *db, const struct db_txn_query *q, db_txn_fn *fn,
    void *arg, struct gw_err *err)
{
	char *cn_end = q->cn != NULL ? db_prefix_end(q->cn) : NULL;
	char *em_end = q->email != NULL ? db_prefix_end(q->email) : NULL;
	struct pg_params p = { 0 };
	struct buf sql;
	int rc = -1;

	buf_init(&sql, 0);
	if ((q->cn != NULL && cn_end == NULL) ||
	    (q->email != NULL && em_end == NULL))
		goto nomem;
	pp_int(&p, q->before_id > 0 ? q->before_id : INT64_MAX);
	if (buf_addstr(&sql,
		"SELECT id, txid, state, created, updated, cn, email, ou, "
		"order_id, fail_info, fail_text, upn, epki_code, epki_message "
		"FROM transactions WHERE id < $1") != 0)
		goto nomem;
	if (q->state != 0) {
		pp_int4(&p, (int)q->state);
		if (buf_printf(&sql, " AND state = $%d", p.n) != 0)
			goto nomem;
	}
	if (q->cn != NULL) {
		pp_text(&p, q->cn);
		pp_text(&p, cn_end);
		if (buf_printf(&sql,
			" AND cn COLLATE \"C\" >= $%d AND cn COLLATE \"C\" < $%d",
			p.n - 1, p.n) != 0)
			goto nomem;
	}
	if (q->email != NULL) {
		pp_text(&p, q->email);
		pp_text(&p, em_end);
		if (buf_printf(&sql,
			" AND email COLLATE \"C\" >= $%d "
			"AND email COLLATE \"C\" < $%d",
			p.n - 1, p.n) != 0)
			goto nomem;
	}
	if (q->from > 0) {
		pp_int(&p, q->from);
		if (buf_printf(&sql, " AND created >= $%d", p.n) != 0)
			goto nomem;
	}
	if (q->to > 0) {
		pp_int(&p, q->to);
		if (buf_printf(&sql, " AND created < $%d", p.n) != 0)
			goto nomem;
	}
	pp_limit(&p, q->limit);
	if (buf_printf(&sql, " ORDER BY id DESC LIMIT $%d", p.n) != 0)
		goto nomem;
	rc = pg_list(db, (const char *)sql.data, &p, sizeof(struct db_txn),
	    txn_cleanup_fn, txn_short_read, txn_call, (pg_any_fn *)fn, arg,
	    "txn search", err);
	goto out;
nomem:
	gw_err_set(err, DB_ERR_SQL, "txn search: out of memory");
out:
	buf_cleanup(&sql);
	free(cn_end);
	free(em_end);
	return rc;
}

static void
event_cleanup_fn(void *p)
{
	db_event_cleanup(p);
}

static int
event_call(pg_any_fn *fn, void *arg, const void *row)
{
	return ((db_event_fn *)fn)(arg, row);
}

/* A row of PG_EVENT_COLS. */
static int
event_read(const PGresult *r, int row, void *p)
{
	struct db_event *e = p;

	e->id = pg_int(r, row, 0);
	e->at = pg_int(r, row, 2);
	e->n = pg_int(r, row, 6);
	if (pg_str(r, row, 1, &e->txid) != 0 ||
	    pg_str(r, row, 3, &e->kind) != 0 ||
	    pg_str(r, row, 4, &e->detail) != 0 ||
	    pg_str(r, row, 5, &e->cn) != 0)
		return -1;
	return 0;
}

#define PG_EVENT_COLS "id, txid, at, kind, detail, cn, n "

/* db_event_list(): txn_events_txid, oldest first. */
int
pg_event_list(struct db *db, const char *txid, size_t limit, db_event_fn *fn,
    void *arg, struct gw_err *err)
{
	struct pg_params p = { 0 };

	pp_text(&p, txid);
	pp_limit(&p, limit);
	return pg_list(db,
	    "SELECT " PG_EVENT_COLS "FROM txn_events WHERE txid = $1 "
	    "ORDER BY id LIMIT $2",
	    &p, sizeof(struct db_event), event_cleanup_fn, event_read,
	    event_call, (pg_any_fn *)fn, arg, "event list", err);
}

/* db_event_refused(): the partial index txn_events_refused, newest first. */
int
pg_event_refused(struct db *db, const struct db_txn_query *q, db_event_fn *fn,
    void *arg, struct gw_err *err)
{
	const char *cn = q->cn != NULL ? q->cn : "";
	char *end = db_prefix_end(cn);
	struct pg_params p = { 0 };
	int rc;

	if (end == NULL) {
		gw_err_set(err, DB_ERR_SQL, "event list: out of memory");
		return -1;
	}
	pp_text(&p, cn);
	pp_text(&p, end);
	pp_int(&p, q->from);
	pp_int(&p, q->to > 0 ? q->to : INT64_MAX);
	pp_int(&p, q->before_id > 0 ? q->before_id : INT64_MAX);
	pp_limit(&p, q->limit);
	rc = pg_list(db,
	    "SELECT " PG_EVENT_COLS "FROM txn_events WHERE kind = 'refused' "
	    "AND ($1 = '' OR (cn COLLATE \"C\" >= $1 "
	    "AND cn COLLATE \"C\" < $2)) AND at >= $3 AND at < $4 "
	    "AND id < $5 ORDER BY id DESC LIMIT $6",
	    &p, sizeof(struct db_event), event_cleanup_fn, event_read,
	    event_call, (pg_any_fn *)fn, arg, "event list", err);
	free(end);
	return rc;
}

/* db_event_prune(): by age and by count, one statement. */
int
pg_event_prune(struct db *db, int64_t before, int64_t keep, int64_t *n,
    struct gw_err *err)
{
	struct pg_params p = { 0 };
	PGresult *r;

	*n = 0;
	pp_int(&p, before);
	pp_int(&p, keep);
	r = pg_run(db,
	    "DELETE FROM txn_events WHERE kind = 'refused' AND (at < $1 "
	    "OR ($2 > 0 AND id <= (SELECT id FROM txn_events "
	    "WHERE kind = 'refused' ORDER BY id DESC LIMIT 1 OFFSET $2)))",
	    &p, "event prune", true, err);
	if (r == NULL)
		return -1;
	*n = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return 0;
}
