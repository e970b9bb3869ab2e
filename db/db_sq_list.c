/*
 * The admin API's reads on SQLite: challenges by state, the number of
 * outstanding challenges (and a put that respects a cap on it, for the NDES
 * page), transactions and certificates with filters, and transaction counts for
 * /metrics. Rows are copied out under the lock; the callbacks run after
 * it is released, so they may call other db functions.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "buf.h"
#include "gw_err.h"
#include "db.h"
#include "db_int.h"
#include "db_sq_int.h"

/* The LIMIT value of a row limit: SQLite reads -1 as "no limit". */
sqlite3_int64
sq_limit(size_t limit)
{
	return limit == 0 || limit > INT64_MAX ? -1 : (sqlite3_int64)limit;
}

static void
challenge_cleanup_fn(void *p)
{
	db_challenge_cleanup(p);
}

/* Reads a CH_LIST_STATE row. */
static int
challenge_read(sqlite3_stmt *st, void *p)
{
	struct db_challenge *c = p;

	c->id = sqlite3_column_int64(st, 0);
	c->created = sqlite3_column_int64(st, 1);
	c->expires = sqlite3_column_int64(st, 2);
	c->used = sqlite3_column_int64(st, 3);
	c->revoked = sqlite3_column_int(st, 4) != 0;
	if (db_col_strdup(st, 5, &c->cn) != 0 ||
	    db_col_strdup(st, 6, &c->email) != 0 ||
	    db_col_strdup(st, 7, &c->ou) != 0 ||
	    db_col_strdup(st, 8, &c->txid) != 0 ||
	    db_col_strdup(st, 9, &c->upn) != 0 ||
	    db_col_strdup(st, 10, &c->profile) != 0)
		return -1;
	return 0;
}

/* db_challenge_list_state(): one query, filtered by ?1. */
int
sq_challenge_list_state(struct db *db, enum db_challenge_state state,
    int64_t now, int64_t before, size_t limit, db_challenge_fn *fn, void *arg,
    struct gw_err *err)
{
	struct db_rows r = { NULL, 0, 0, sizeof(struct db_challenge),
		challenge_cleanup_fn };
	sqlite3_stmt *st;
	size_t i;
	int rc = -1;

	db_lock(db);
	st = db_stmt(db, DB_ST_CH_LIST_STATE);
	if (sqlite3_bind_int(st, 1, (int)state) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, now) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, sq_limit(limit)) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, before) != SQLITE_OK) {
		db_err_sql(db, err, "challenge list");
		db_stmt_done(st);
	} else
		rc = db_rows_load(db, st, &r, challenge_read, "challenge list",
		    err);
	db_unlock(db);
	for (i = 0; rc == 0 && i < r.n; i++)
		if (fn(arg,
			(struct db_challenge *)(void *)(r.v + i * r.size)) != 0)
			break;
	db_rows_cleanup(&r);
	return rc;
}

/* db_challenge_outstanding(): not used, not revoked, not expired. */
int
sq_challenge_outstanding(struct db *db, int64_t now, int64_t *n,
    struct gw_err *err)
{
	sqlite3_stmt *st;
	int rc = -1;

	*n = 0;
	db_lock(db);
	st = db_stmt(db, DB_ST_CH_OUTSTANDING);
	if (sqlite3_bind_int64(st, 1, now) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		db_err_sql(db, err, "challenge count");
		goto out;
	}
	*n = sqlite3_column_int64(st, 0);
	rc = 0;
out:
	db_stmt_done(st);
	db_unlock(db);
	return rc;
}

/*
 * db_challenge_put_capped(): the count and the insert are one statement
 * (CH_PUT_CAPPED), and SQLite runs one writer at a time, so concurrent
 * callers cannot overshoot the cap.
 */
int
sq_challenge_put_capped(struct db *db, const uint8_t hash[32], int64_t now,
    int64_t expires, int64_t max_outstanding, const char *profile, int64_t *id,
    struct gw_err *err)
{
	sqlite3_stmt *st;
	int rc = -1;

	db_lock(db);
	st = db_stmt(db, DB_ST_CH_PUT_CAPPED);
	if (sqlite3_bind_blob(st, 1, hash, 32, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, now) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, expires) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, max_outstanding) != SQLITE_OK ||
	    db_bind_text(st, 5, profile) != SQLITE_OK) {
		db_err_sql(db, err, "challenge put");
		db_stmt_done(st);
		goto out;
	}
	if (db_step_done(db, st, "challenge put", err) != 0)
		goto out;
	if (sqlite3_changes(db_sq(db)->h) == 0) {
		rc = 1;
		goto out;
	}
	if (id != NULL)
		*id = sqlite3_last_insert_rowid(db_sq(db)->h);
	rc = 0;
out:
	db_unlock(db);
	return rc;
}

static void
txn_cleanup_fn(void *p)
{
	db_txn_cleanup(p);
}

/* Reads a TX_LIST_FILTER row: no CSR, no certificate. */
static int
txn_read(sqlite3_stmt *st, void *p)
{
	struct db_txn *t = p;

	t->id = sqlite3_column_int64(st, 0);
	t->state = (enum db_txn_state)sqlite3_column_int(st, 2);
	t->created = sqlite3_column_int64(st, 3);
	t->updated = sqlite3_column_int64(st, 4);
	t->fail_info = sqlite3_column_int(st, 9);
	if (db_col_strdup(st, 1, &t->txid) != 0 ||
	    db_col_strdup(st, 5, &t->cn) != 0 ||
	    db_col_strdup(st, 6, &t->email) != 0 ||
	    db_col_strdup(st, 7, &t->ou) != 0 ||
	    db_col_strdup(st, 8, &t->order_id) != 0 ||
	    db_col_strdup(st, 10, &t->fail_text) != 0 ||
	    db_col_strdup(st, 11, &t->upn) != 0 ||
	    db_col_strdup(st, 13, &t->epki_message) != 0)
		return -1;
	t->epki_code = sqlite3_column_int(st, 12);
	return 0;
}

/* db_txn_list(): the rows carry no CSR and no certificate. */
int
sq_txn_list(struct db *db, enum db_txn_state state, const char *cn,
    size_t limit, db_txn_fn *fn, void *arg, struct gw_err *err)
{
	struct db_rows r = { NULL, 0, 0, sizeof(struct db_txn),
		txn_cleanup_fn };
	sqlite3_stmt *st;
	size_t i;
	int rc = -1;

	db_lock(db);
	/* By CN through its index: "?2 IS NULL OR" keeps SQLite from any. */
	st = db_stmt(db, cn != NULL ? DB_ST_TX_LIST_CN : DB_ST_TX_LIST_FILTER);
	if (sqlite3_bind_int(st, 1, (int)state) != SQLITE_OK ||
	    db_bind_text(st, 2, cn) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, sq_limit(limit)) != SQLITE_OK) {
		db_err_sql(db, err, "txn list");
		db_stmt_done(st);
	} else
		rc = db_rows_load(db, st, &r, txn_read, "txn list", err);
	db_unlock(db);
	for (i = 0; rc == 0 && i < r.n; i++)
		if (fn(arg, (struct db_txn *)(void *)(r.v + i * r.size)) != 0)
			break;
	db_rows_cleanup(&r);
	return rc;
}

/* db_txn_count(): one GROUP BY. */
int
sq_txn_count(struct db *db, int64_t counts[4], struct gw_err *err)
{
	sqlite3_stmt *st;
	int s, state, rc = -1;

	memset(counts, 0, 4 * sizeof(counts[0]));
	db_lock(db);
	st = db_stmt(db, DB_ST_TX_COUNT);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		state = sqlite3_column_int(st, 0);
		if (state >= DB_TXN_ORDERING && state <= DB_TXN_FAILED)
			counts[state] = sqlite3_column_int64(st, 1);
		counts[0] += sqlite3_column_int64(st, 1);
	}
	if (s != SQLITE_DONE) {
		db_err_sql(db, err, "txn count");
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	db_unlock(db);
	return rc;
}

/* db_txn_hourly(): one GROUP BY over the transactions_updated range. */
int
sq_txn_hourly(struct db *db, int64_t since, int64_t issued[24],
    int64_t failed[24], struct gw_err *err)
{
	sqlite3_stmt *st;
	int64_t h;
	int s, rc = -1;

	db_lock(db);
	st = db_stmt(db, DB_ST_TX_HOURLY);
	if (sqlite3_bind_int64(st, 1, since) != SQLITE_OK) {
		db_err_sql(db, err, "txn hourly");
		goto out;
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		h = sqlite3_column_int64(st, 0);
		if (h < 0 || h >= 24)
			continue;
		if (sqlite3_column_int(st, 1) == DB_TXN_ISSUED)
			issued[h] = sqlite3_column_int64(st, 2);
		else
			failed[h] = sqlite3_column_int64(st, 2);
	}
	if (s != SQLITE_DONE) {
		db_err_sql(db, err, "txn hourly");
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	db_unlock(db);
	return rc;
}

/* db_licence_used(): the pool's row, 0 when it has none yet. */
int
sq_licence_used(struct db *db, const char *pool, int64_t *used,
    struct gw_err *err)
{
	sqlite3_stmt *st;
	int rc = -1, s;

	db_lock(db);
	st = db_stmt(db, DB_ST_LIC_USED);
	if (db_bind_text(st, 1, pool) != SQLITE_OK) {
		db_err_sql(db, err, "licence used");
		goto out;
	}
	if ((s = sqlite3_step(st)) == SQLITE_ROW)
		*used = sqlite3_column_int64(st, 0);
	if (s != SQLITE_ROW && s != SQLITE_DONE) {
		db_err_sql(db, err, "licence used");
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	db_unlock(db);
	return rc;
}

/* db_licence_last_error(): the newest transaction refused with code. */
int
sq_licence_last_error(struct db *db, int code, int64_t *when, char **message,
    struct gw_err *err)
{
	sqlite3_stmt *st;
	int rc = -1, s;

	db_lock(db);
	st = db_stmt(db, DB_ST_LIC_LAST_ERROR);
	if (sqlite3_bind_int(st, 1, code) != SQLITE_OK) {
		db_err_sql(db, err, "licence error");
		goto out;
	}
	if ((s = sqlite3_step(st)) == SQLITE_ROW) {
		*when = sqlite3_column_int64(st, 0);
		if (db_col_strdup(st, 1, message) != 0) {
			gw_err_set(err, DB_ERR_SQL,
			    "licence error: out of memory");
			goto out;
		}
	} else if (s != SQLITE_DONE) {
		db_err_sql(db, err, "licence error");
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	db_unlock(db);
	return rc;
}

static void
cert_cleanup_fn(void *p)
{
	db_cert_cleanup(p);
}

/* Reads a db_cert_search_sql() row (no DER). */
static int
cert_read(sqlite3_stmt *st, void *p)
{
	struct db_cert *c = p;

	c->issued = sqlite3_column_int64(st, 4);
	c->not_after = sqlite3_column_int64(st, 5);
	c->revoked = sqlite3_column_int64(st, 6);
	if (db_col_strdup(st, 0, &c->serial_hex) != 0 ||
	    db_col_strdup(st, 1, &c->order_id) != 0 ||
	    db_col_strdup(st, 2, &c->txid) != 0 ||
	    db_col_strdup(st, 3, &c->subject) != 0 ||
	    db_col_strdup(st, 7, &c->revoke_reason) != 0 ||
	    db_col_strdup(st, 8, &c->cn) != 0 ||
	    db_col_strdup(st, 9, &c->email) != 0)
		return -1;
	return 0;
}

/* Binds parameter i (1-based) of a search to the value arg names. */
static int
cert_search_bind(sqlite3_stmt *st, int i, enum db_cq_arg arg,
    const struct db_cert_query *q)
{
	switch (arg) {
	case DB_CQ_SERIAL:
		return db_bind_text(st, i, q->serial_hex);
	case DB_CQ_CN:
		return db_bind_text(st, i, q->cn);
	case DB_CQ_EMAIL:
		return db_bind_text(st, i, q->email);
	case DB_CQ_NOW:
		return sqlite3_bind_int64(st, i, q->now);
	case DB_CQ_AFTER_ISSUED:
		return sqlite3_bind_int64(st, i, q->after_issued);
	case DB_CQ_AFTER_SERIAL:
		return db_bind_text(st, i, q->after_serial);
	case DB_CQ_LIMIT:
		return sqlite3_bind_int64(st, i, sq_limit(q->limit));
	default:
		return SQLITE_MISUSE;
	}
}

/* db_cert_search(): the statement is made for the filters given (a
 * cached one could not choose its index by them). */
int
sq_cert_search(struct db *db, const struct db_cert_query *q, db_cert_fn *fn,
    void *arg, struct gw_err *err)
{
	struct db_rows r = { NULL, 0, 0, sizeof(struct db_cert),
		cert_cleanup_fn };
	enum db_cq_arg args[DB_CQ__MAX];
	sqlite3_stmt *st = NULL;
	char sql[1024];
	int i, nargs, rc = -1;
	size_t k;

	if (db_cert_search_sql(q, '?', sql, sizeof(sql), args, &nargs) != 0) {
		gw_err_set(err, DB_ERR_ARG, "cert search: query too long");
		return -1;
	}
	db_lock(db);
	if (sqlite3_prepare_v2(db_sq(db)->h, sql, -1, &st, NULL) != SQLITE_OK) {
		db_err_sql(db, err, "cert search");
		goto out;
	}
	for (i = 0; i < nargs; i++)
		if (cert_search_bind(st, i + 1, args[i], q) != SQLITE_OK) {
			db_err_sql(db, err, "cert search");
			goto out;
		}
	rc = db_rows_load(db, st, &r, cert_read, "cert search", err);
out:
	sqlite3_finalize(st);
	db_unlock(db);
	for (k = 0; rc == 0 && k < r.n; k++)
		if (fn(arg, (struct db_cert *)(void *)(r.v + k * r.size)) != 0)
			break;
	db_rows_cleanup(&r);
	return rc;
}

/* More rows than this in a prefix or date range: the search walks the
 * newest rows instead of sorting the range's (sq_range_broad()). */
#define SQ_RANGE_NARROW 5000

/*
 * Whether more than SQ_RANGE_NARROW rows have col in a range: starting
 * with prefix lo, or (lo NULL) created in [from, to): one read of the
 * index, at most that many entries. SQLite's planner, without statistics,
 * always takes the range's index and sorts it for ORDER BY id DESC; a
 * broad range (a prefix "a", a whole year) is found sooner by walking the
 * rows from the newest. The caller holds the lock.
 */
static bool
sq_range_broad(struct db *db, const char *col, const char *lo, int64_t from,
    int64_t to)
{
	char sql[160], *end = lo != NULL ? db_prefix_end(lo) : NULL;
	sqlite3_stmt *st = NULL;
	bool broad = false;
	int rc;

	snprintf(sql, sizeof(sql),
	    "SELECT count(*) FROM (SELECT 1 FROM transactions WHERE %s >= ?1 "
	    "AND %s < ?2 LIMIT %d)",
	    col, col, SQ_RANGE_NARROW + 1);
	if ((lo != NULL && end == NULL) ||
	    sqlite3_prepare_v2(db_sq(db)->h, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (lo != NULL)
		rc = sqlite3_bind_text(st, 1, lo, -1, SQLITE_STATIC) |
		    sqlite3_bind_text(st, 2, end, -1, SQLITE_STATIC);
	else
		rc = sqlite3_bind_int64(st, 1, from) |
		    sqlite3_bind_int64(st, 2, to > 0 ? to : INT64_MAX);
	if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		broad = sqlite3_column_int(st, 0) > SQ_RANGE_NARROW;
out:
	sqlite3_finalize(st);
	free(end);
	return broad;
}

/* The column name for a range in the WHERE: +col (no index) when broad. */
static const char *
range_col(struct db *db, bool on, const char *col, const char *plus,
    const char *lo, int64_t from, int64_t to)
{
	return on && sq_range_broad(db, col, lo, from, to) ? plus : col;
}

/* The WHERE of sq_txn_search(): each filter q sets, named parameters. */
static int
search_sql(struct db *db, struct buf *b, const struct db_txn_query *q)
{
	const char *cn = range_col(db, q->cn != NULL, "cn", "+cn", q->cn, 0, 0);
	const char *em =
	    range_col(db, q->email != NULL, "email", "+email", q->email, 0, 0);
	const char *cr = range_col(db, q->from > 0 || q->to > 0, "created",
	    "+created", NULL, q->from, q->to);
	const char *by = NULL;
	int rc;

	/*
	 * A narrow range is read through its index, named: with bound
	 * values and no statistics, the planner otherwise prefers the rowid
	 * range of id < :before, which reads every row (30 ms at 100,000).
	 */
	if (q->cn != NULL && cn[0] != '+')
		by = "transactions_cn";
	else if (q->email != NULL && em[0] != '+')
		by = "transactions_email";
	else if ((q->from > 0 || q->to > 0) && cr[0] != '+')
		by = "transactions_created";
	rc = buf_printf(b,
	    "SELECT id, txid, state, created, updated, cn, email, ou, "
	    "order_id, fail_info, fail_text, upn, epki_code, epki_message "
	    "FROM transactions%s%s WHERE id < :before",
	    by != NULL ? " INDEXED BY " : "", by != NULL ? by : "");

	if (q->state != 0)
		rc |= buf_addstr(b, " AND state = :state");
	if (q->cn != NULL)
		rc |= buf_printf(b, " AND %s >= :cn AND %s < :cn_end", cn, cn);
	if (q->email != NULL)
		rc |= buf_printf(b, " AND %s >= :em AND %s < :em_end", em, em);
	if (q->from > 0)
		rc |= buf_printf(b, " AND %s >= :from", cr);
	if (q->to > 0)
		rc |= buf_printf(b, " AND %s < :to", cr);
	rc |= buf_addstr(b, " ORDER BY id DESC LIMIT :limit");
	return rc == 0 ? 0 : -1;
}

/* Binds a text to the named parameter, if the statement has it. */
static int
search_bind_text(sqlite3_stmt *st, const char *name, const char *v)
{
	int i = sqlite3_bind_parameter_index(st, name);

	return i == 0 ||
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT) == SQLITE_OK ?
	    0 :
	    -1;
}

static int
search_bind_int(sqlite3_stmt *st, const char *name, int64_t v)
{
	int i = sqlite3_bind_parameter_index(st, name);

	return i == 0 || sqlite3_bind_int64(st, i, v) == SQLITE_OK ? 0 : -1;
}

static int
search_bind(sqlite3_stmt *st, const struct db_txn_query *q)
{
	char *cn_end = q->cn != NULL ? db_prefix_end(q->cn) : NULL;
	char *em_end = q->email != NULL ? db_prefix_end(q->email) : NULL;
	int rc = -1;

	if ((q->cn != NULL && cn_end == NULL) ||
	    (q->email != NULL && em_end == NULL))
		goto out;
	if (search_bind_int(st, ":before",
		q->before_id > 0 ? q->before_id : INT64_MAX) != 0 ||
	    search_bind_int(st, ":state", (int64_t)q->state) != 0 ||
	    search_bind_text(st, ":cn", q->cn) != 0 ||
	    search_bind_text(st, ":cn_end", cn_end) != 0 ||
	    search_bind_text(st, ":em", q->email) != 0 ||
	    search_bind_text(st, ":em_end", em_end) != 0 ||
	    search_bind_int(st, ":from", q->from) != 0 ||
	    search_bind_int(st, ":to", q->to) != 0 ||
	    search_bind_int(st, ":limit", sq_limit(q->limit)) != 0)
		goto out;
	rc = 0;
out:
	free(cn_end);
	free(em_end);
	return rc;
}

/*
 * db_txn_search(): one statement made for the filters given, so that the
 * planner sees which index applies (transactions_cn, transactions_email,
 * transactions_created for a narrow range, transactions_state; else the
 * rowid from the newest, stopping at the page's last row).
 */
int
sq_txn_search(struct db *db, const struct db_txn_query *q, db_txn_fn *fn,
    void *arg, struct gw_err *err)
{
	struct db_rows r = { NULL, 0, 0, sizeof(struct db_txn),
		txn_cleanup_fn };
	sqlite3_stmt *st = NULL;
	struct buf sql;
	size_t i;
	int rc = -1;

	buf_init(&sql, 0);
	db_lock(db);
	if (search_sql(db, &sql, q) != 0) {
		db_unlock(db);
		gw_err_set(err, DB_ERR_SQL, "txn search: out of memory");
		buf_cleanup(&sql);
		return -1;
	}
	if (sqlite3_prepare_v2(db_sq(db)->h, (const char *)sql.data, -1, &st,
		NULL) != SQLITE_OK ||
	    search_bind(st, q) != 0)
		db_err_sql(db, err, "txn search");
	else
		rc = db_rows_load(db, st, &r, txn_read, "txn search", err);
	sqlite3_finalize(st);
	db_unlock(db);
	buf_cleanup(&sql);
	for (i = 0; rc == 0 && i < r.n; i++)
		if (fn(arg, (struct db_txn *)(void *)(r.v + i * r.size)) != 0)
			break;
	db_rows_cleanup(&r);
	return rc;
}
