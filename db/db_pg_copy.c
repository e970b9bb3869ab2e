/*
 * The PostgreSQL side of db_copy() (db_copy.c, README "PostgreSQL"): one
 * transaction on one connection that locks the instance's tables against
 * writers, refuses a database that holds any instance data, types the
 * source's columns from its own schema, streams each
 * table in with COPY FROM STDIN (text format), reads every table back to
 * count and sum its rows, moves each identity sequence past the copied
 * ids, and commits only when db_copy_verify() agrees. Any failure rolls
 * the whole of it back. Also db_url_public(): the URL as it may be
 * printed.
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

/* One COPY in progress. */
struct pg_copy {
	PGconn *c;
	const struct db_copy_table *t;
	struct buf row; /* the row being encoded */
};

/* Appends p, escaped for COPY's text format (PostgreSQL "COPY", File
 * Formats: backslash, newline, carriage return and tab). 0 or -1. */
static int
copy_esc(struct buf *b, const uint8_t *p, size_t len)
{
	size_t i, from = 0;
	const char *e;

	for (i = 0; i < len; i++) {
		switch (p[i]) {
		case '\\':
			e = "\\\\";
			break;
		case '\n':
			e = "\\n";
			break;
		case '\r':
			e = "\\r";
			break;
		case '\t':
			e = "\\t";
			break;
		default:
			continue;
		}
		if (buf_add(b, p + from, i - from) == -1 ||
		    buf_addstr(b, e) == -1)
			return -1;
		from = i + 1;
	}
	return buf_add(b, p + from, len - from);
}

/* Appends one value in COPY's text format. 0 or -1 (out of memory). */
static int
copy_val(struct buf *b, enum db_col_type type, const struct db_copy_val *v)
{
	static const char hex[] = "0123456789abcdef";
	char h[2];
	size_t i;

	if (v->null)
		return buf_addstr(b, "\\N");
	switch (type) {
	case DB_COL_INT:
		return buf_printf(b, "%lld", (long long)v->i);
	case DB_COL_BOOL:
		return buf_addstr(b, v->i != 0 ? "t" : "f");
	case DB_COL_TEXT:
		return copy_esc(b, v->p, v->len);
	case DB_COL_BLOB:
		/* bytea's hex input, its backslash escaped for COPY. */
		if (buf_addstr(b, "\\\\x") == -1)
			return -1;
		for (i = 0; i < v->len; i++) {
			h[0] = hex[v->p[i] >> 4];
			h[1] = hex[v->p[i] & 0x0f];
			if (buf_add(b, h, 2) == -1)
				return -1;
		}
		return 0;
	}
	return -1;
}

/* db_copy_row_fn: one source row into the COPY. */
static int
pg_copy_row(void *arg, const struct db_copy_val *v, struct gw_err *err)
{
	struct pg_copy *k = arg;
	size_t i;

	buf_reset(&k->row);
	for (i = 0; i < k->t->ncols; i++) {
		if ((i > 0 && buf_add(&k->row, "\t", 1) == -1) ||
		    copy_val(&k->row, k->t->cols[i].type, &v[i]) == -1) {
			gw_err_set(err, DB_ERR_SQL, "%s: out of memory",
			    k->t->name);
			return -1;
		}
	}
	if (buf_add(&k->row, "\n", 1) == -1) {
		gw_err_set(err, DB_ERR_SQL, "%s: out of memory", k->t->name);
		return -1;
	}
	if (k->row.len > INT32_MAX ||
	    PQputCopyData(k->c, (const char *)k->row.data, (int)k->row.len) !=
		1) {
		pg_err_res(NULL, k->c, k->t->name, err);
		return -1;
	}
	return 0;
}

/* Appends "a, b, c" (t's columns); with cast, numbers as int8 (a bool
 * as 0 or 1), as sum_table() reads them. 0 or -1. */
static int
cols_list(struct buf *b, const struct db_copy_table *t, bool cast)
{
	const char *as;
	size_t i;

	for (i = 0; i < t->ncols; i++) {
		as = "";
		if (cast && t->cols[i].type == DB_COL_INT)
			as = "::int8";
		else if (cast && t->cols[i].type == DB_COL_BOOL)
			as = "::int4::int8";
		if (buf_printf(b, "%s%s%s", i > 0 ? ", " : "", t->cols[i].name,
			as) == -1)
			return -1;
	}
	return 0;
}

/* Ends a COPY: sends its end (with errmsg, it fails on the server) and
 * reads its result. 0 or -1 with err set (kept when errmsg is given). */
static int
copy_end(PGconn *c, const char *errmsg, const char *what, struct gw_err *err)
{
	PGresult *r;
	int rc = -1;

	if (PQputCopyEnd(c, errmsg) != 1) {
		if (errmsg == NULL)
			pg_err_res(NULL, c, what, err);
		return -1;
	}
	while ((r = PQgetResult(c)) != NULL) {
		if (PQresultStatus(r) == PGRES_COMMAND_OK && errmsg == NULL)
			rc = 0;
		else if (errmsg == NULL && rc == -1)
			pg_err_res(r, c, what, err);
		PQclear(r);
	}
	return errmsg != NULL ? -1 : rc;
}

/* Copies table t from src into the open transaction on c. 0 or -1. */
static int
copy_table(PGconn *c, const struct db_copy_table *t, db_copy_src_fn *src,
    void *src_arg, struct gw_err *err)
{
	struct pg_copy k;
	struct buf sql;
	PGresult *r;
	int rc = -1;

	memset(&k, 0, sizeof(k));
	k.c = c;
	k.t = t;
	buf_init(&k.row, 0);
	buf_init(&sql, 0);
	if (buf_printf(&sql, "COPY %s (", t->name) == -1 ||
	    cols_list(&sql, t, false) == -1 ||
	    buf_addstr(&sql, ") FROM STDIN") == -1) {
		gw_err_set(err, DB_ERR_SQL, "%s: out of memory", t->name);
		goto out;
	}
	r = PQexec(c, (const char *)sql.data);
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		pg_err_res(r, c, t->name, err);
		PQclear(r);
		goto out;
	}
	PQclear(r);
	if (src(src_arg, t, pg_copy_row, &k, err) != 0) {
		copy_end(c, "scepgw: the source failed", t->name, NULL);
		goto out;
	}
	rc = copy_end(c, NULL, t->name, err);
out:
	buf_cleanup(&sql);
	buf_cleanup(&k.row);
	return rc;
}

/* A binary int8 column. */
static int64_t
bin_int8(const PGresult *r, int col)
{
	const uint8_t *p = (const uint8_t *)PQgetvalue(r, 0, col);
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (int64_t)v;
}

/* Reads table t back (binary, one row at a time) into cnt's dst_*. */
static int
sum_table(PGconn *c, const struct db_copy_table *t, struct db_copy_count *cnt,
    struct gw_err *err)
{
	struct db_copy_val v[DB_COPY_MAXCOLS];
	struct buf sql;
	PGresult *r;
	ExecStatusType s;
	size_t i;
	int rc = -1, sent;

	buf_init(&sql, 0);
	if (buf_addstr(&sql, "SELECT ") == -1 || cols_list(&sql, t, true) ||
	    buf_printf(&sql, " FROM %s", t->name) == -1) {
		gw_err_set(err, DB_ERR_SQL, "%s: out of memory", t->name);
		buf_cleanup(&sql);
		return -1;
	}
	sent = PQsendQueryParams(c, (const char *)sql.data, 0, NULL, NULL, NULL,
	    NULL, 1);
	buf_cleanup(&sql);
	if (sent != 1 || PQsetSingleRowMode(c) != 1) {
		pg_err_res(NULL, c, t->name, err);
		while ((r = PQgetResult(c)) != NULL)
			PQclear(r);
		return -1;
	}
	rc = 0;
	while ((r = PQgetResult(c)) != NULL) {
		s = PQresultStatus(r);
		if (s == PGRES_SINGLE_TUPLE && rc == 0) {
			for (i = 0; i < t->ncols; i++) {
				memset(&v[i], 0, sizeof(v[i]));
				v[i].null = PQgetisnull(r, 0, (int)i);
				if (v[i].null)
					continue;
				if ((t->cols[i].type == DB_COL_INT ||
					t->cols[i].type == DB_COL_BOOL) &&
				    PQgetlength(r, 0, (int)i) != 8) {
					gw_err_set(err, DB_ERR_SQL,
					    "%s.%s: not an int8", t->name,
					    t->cols[i].name);
					rc = -1;
				} else if (t->cols[i].type == DB_COL_INT ||
				    t->cols[i].type == DB_COL_BOOL)
					v[i].i = bin_int8(r, (int)i);
				else {
					v[i].p = (const uint8_t *)PQgetvalue(r,
					    0, (int)i);
					v[i].len =
					    (size_t)PQgetlength(r, 0, (int)i);
				}
			}
			cnt->dst_rows++;
			if (rc == 0 &&
			    db_copy_sum_add(cnt->dst_sum, t, v) != 0) {
				gw_err_set(err, DB_ERR_SQL,
				    "%s: SHA-256 failed", t->name);
				rc = -1;
			}
		} else if (s != PGRES_TUPLES_OK && s != PGRES_SINGLE_TUPLE &&
		    rc == 0) {
			pg_err_res(r, c, t->name, err);
			rc = -1;
		}
		PQclear(r);
	}
	return rc;
}

/* The type of a column of PostgreSQL type name, or -1 for one the copy
 * does not carry. */
static int
col_type(const char *name)
{
	static const struct {
		const char *pg;
		enum db_col_type type;
	} map[] = {
		{ "smallint", DB_COL_INT },
		{ "integer", DB_COL_INT },
		{ "bigint", DB_COL_INT },
		{ "boolean", DB_COL_BOOL },
		{ "text", DB_COL_TEXT },
		{ "character varying", DB_COL_TEXT },
		{ "bytea", DB_COL_BLOB },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].pg, name) == 0)
			return (int)map[i].type;
	return -1;
}

/*
 * Types each column of t (named by the source) from the target's own
 * schema. A column the target lacks, or of a type the copy does not
 * carry, is a DB_ERR_SCHEMA error: its values would be lost.
 */
static int
col_types(PGconn *c, struct db_copy_table *t, struct gw_err *err)
{
	struct pg_params p;
	PGresult *r;
	size_t i;
	int row, type, rc = -1;

	memset(&p, 0, sizeof(p));
	pp_text(&p, t->name);
	if ((r = pg_exec(c,
		 "SELECT column_name, data_type FROM information_schema.columns "
		 "WHERE table_schema = current_schema() AND table_name = $1",
		 &p, t->name, 0, err)) == NULL)
		return -1;
	for (i = 0; i < t->ncols; i++) {
		for (row = 0; row < PQntuples(r); row++)
			if (strcmp(PQgetvalue(r, row, 0), t->cols[i].name) == 0)
				break;
		if (row == PQntuples(r)) {
			gw_err_set(err, DB_ERR_SCHEMA,
			    "%s.%s: in the SQLite database but not in "
			    "PostgreSQL; nothing was copied",
			    t->name, t->cols[i].name);
			goto out;
		}
		if ((type = col_type(PQgetvalue(r, row, 1))) < 0) {
			gw_err_set(err, DB_ERR_SCHEMA,
			    "%s.%s: PostgreSQL type %s is not one the copy "
			    "carries; nothing was copied",
			    t->name, t->cols[i].name, PQgetvalue(r, row, 1));
			goto out;
		}
		t->cols[i].type = (enum db_col_type)type;
	}
	rc = 0;
out:
	PQclear(r);
	return rc;
}

/* Runs sql on c, expecting no rows of interest. 0 or -1. */
static int
run(PGconn *c, const char *sql, const char *what, struct gw_err *err)
{
	PGresult *r = pg_exec(c, sql, NULL, what, 0, err);

	PQclear(r);
	return r != NULL ? 0 : -1;
}

/* COMMIT, checked to have committed: on a transaction the server had
 * aborted, COMMIT answers ROLLBACK without an error. 0 or -1. */
static int
commit(PGconn *c, struct gw_err *err)
{
	PGresult *r = pg_exec(c, "COMMIT", NULL, "commit", 0, err);
	int rc = 0;

	if (r == NULL)
		return -1;
	if (strcmp(PQcmdStatus(r), "COMMIT") != 0) {
		gw_err_set(err, DB_ERR_SQL, "commit: the server rolled back");
		rc = -1;
	}
	PQclear(r);
	return rc;
}

/*
 * Locks the n tables against every writer (readers go on), then refuses
 * them if any holds a row: "the target already holds 3 challenges, …".
 * 0, or -1 with err set (DB_ERR_EXISTS when not empty).
 */
static int
target_empty(PGconn *c, const struct db_copy_table *tabs, size_t n,
    struct gw_err *err)
{
	struct buf sql, held;
	PGresult *r;
	size_t i;
	int rc = -1;

	buf_init(&sql, 0);
	buf_init(&held, 0);
	for (i = 0; i < n; i++)
		if (buf_printf(&sql, "%s%s", i > 0 ? ", " : "LOCK TABLE ",
			tabs[i].name) == -1)
			goto oom;
	if (buf_addstr(&sql, " IN EXCLUSIVE MODE") == -1)
		goto oom;
	if (run(c, (const char *)sql.data, "lock", err) != 0)
		goto out;
	buf_reset(&sql);
	for (i = 0; i < n; i++)
		if (buf_printf(&sql, "%s(SELECT count(*) FROM %s)",
			i > 0 ? ", " : "SELECT ", tabs[i].name) == -1)
			goto oom;
	if ((r = pg_exec(c, (const char *)sql.data, NULL, "count", 0, err)) ==
	    NULL)
		goto out;
	for (i = 0; i < n && PQntuples(r) == 1; i++)
		if (pg_int(r, 0, (int)i) > 0 &&
		    buf_printf(&held, "%s%lld %s", held.len > 0 ? ", " : "",
			(long long)pg_int(r, 0, (int)i), tabs[i].name) == -1) {
			PQclear(r);
			goto oom;
		}
	PQclear(r);
	if (held.len > 0) {
		gw_err_set(err, DB_ERR_EXISTS,
		    "the target already holds %s; db migrate copies into a "
		    "database without instance data only",
		    (const char *)held.data);
		goto out;
	}
	rc = 0;
	goto out;
oom:
	gw_err_set(err, DB_ERR_SQL, "out of memory");
out:
	buf_cleanup(&sql);
	buf_cleanup(&held);
	return rc;
}

/* Moves t's identity sequence past its largest id; sets *next to the
 * id the next row will get (0: the table is empty, left alone). */
static int
seq_advance(PGconn *c, const struct db_copy_table *t, int64_t *next,
    struct gw_err *err)
{
	char sql[256];
	PGresult *r;

	*next = 0;
	snprintf(sql, sizeof(sql),
	    "SELECT setval(pg_get_serial_sequence('%s', '%s'), max(%s)) "
	    "FROM %s HAVING max(%s) IS NOT NULL",
	    t->name, t->key, t->key, t->name, t->key);
	if ((r = pg_exec(c, sql, NULL, t->name, 0, err)) == NULL)
		return -1;
	if (PQntuples(r) == 1)
		*next = pg_int(r, 0, 0) + 1;
	PQclear(r);
	return 0;
}

/*
 * The backend's copy_in (see struct db_backend): everything in one
 * transaction on one connection, without the 30 s statement timeout
 * (a large instance may take longer). Returns 0 once committed, or -1
 * with err set and nothing written.
 */
int
pg_copy_in(struct db *db, struct db_copy_table *tabs, size_t n,
    db_copy_src_fn *src, void *src_arg, struct db_copy_count *counts,
    struct gw_err *err)
{
	PGconn *c;
	size_t i;
	int rc = -1;

	if ((c = pg_acquire(db, err)) == NULL)
		return -1;
	if (run(c, "BEGIN", "begin", err) != 0 ||
	    run(c, "SET LOCAL statement_timeout = 0", "timeout", err) != 0 ||
	    run(c, "SET LOCAL scepgw.copying = 'on'", "copying", err) != 0 ||
	    target_empty(c, tabs, n, err) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if (col_types(c, &tabs[i], err) != 0)
			goto out;
	for (i = 0; i < n; i++)
		if (copy_table(c, &tabs[i], src, src_arg, err) != 0)
			goto out;
	for (i = 0; i < n; i++) {
		if (sum_table(c, &tabs[i], &counts[i], err) != 0)
			goto out;
		if (tabs[i].identity &&
		    seq_advance(c, &tabs[i], &counts[i].dst_next_id, err) != 0)
			goto out;
	}
	if (db_copy_verify(counts, n, err) != 0 || commit(c, err) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0 && PQstatus(c) == CONNECTION_OK &&
	    PQtransactionStatus(c) != PQTRANS_IDLE)
		PQclear(PQexec(c, "ROLLBACK"));
	pg_release(db, c);
	return rc;
}

/* Appends 'v' as a conninfo value: quoted, ' and \ escaped. 0 or -1. */
static int
conninfo_quote(struct buf *b, const char *v)
{
	if (buf_add(b, "'", 1) == -1)
		return -1;
	for (; *v != '\0'; v++)
		if ((*v == '\'' || *v == '\\' ? buf_add(b, "\\", 1) : 0) ==
			-1 ||
		    buf_add(b, v, 1) == -1)
			return -1;
	return buf_add(b, "'", 1);
}

/*
 * The URL as it may be printed (`scepgw db migrate`'s advice): url
 * itself when it holds no password; else the same options as a libpq
 * key=value string without the password (which then belongs in
 * [db] password_file). Returns a malloc'd string, or NULL (a URL libpq
 * cannot parse, or out of memory).
 */
char *
db_url_public(const char *url)
{
	PQconninfoOption *o, *ci;
	bool secret = false;
	struct buf b;
	char *s = NULL;

	if ((ci = PQconninfoParse(url, NULL)) == NULL)
		return NULL;
	for (o = ci; o->keyword != NULL; o++)
		if (o->val != NULL && strcmp(o->keyword, "password") == 0)
			secret = true;
	if (!secret) {
		PQconninfoFree(ci);
		return gw_strdup(url);
	}
	buf_init(&b, 0);
	for (o = ci; o->keyword != NULL; o++) {
		if (o->val == NULL || strcmp(o->keyword, "password") == 0)
			continue;
		if (buf_printf(&b, "%s%s=", b.len > 0 ? " " : "", o->keyword) ==
			-1 ||
		    conninfo_quote(&b, o->val) == -1)
			goto out;
	}
	if (b.len > 0)
		s = (char *)buf_steal(&b, NULL);
out:
	buf_cleanup(&b);
	for (o = ci; o->keyword != NULL; o++)
		if (o->val != NULL && strcmp(o->keyword, "password") == 0)
			gw_cleanse(o->val, strlen(o->val));
	PQconninfoFree(ci);
	return s;
}
