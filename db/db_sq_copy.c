/*
 * The SQLite side of db_copy() (db_copy.c, README "PostgreSQL"): every
 * row of one table, read in one statement (one snapshot of the file) and
 * handed on column by column as the table's description types them.
 * Reads only: the handle of `scepgw db migrate` is read-only.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "gw_err.h"
#include "db.h"
#include "db_int.h"
#include "db_sq_int.h"

/* "SELECT a, b, … FROM t ORDER BY key" into sql; 0, or -1 if too long. */
static int
sq_copy_sql(const struct db_copy_table *t, char *sql, size_t size)
{
	size_t i, len;
	int n;

	n = snprintf(sql, size, "SELECT ");
	for (i = 0; i < t->ncols && n > 0 && (size_t)n < size; i++) {
		len = (size_t)n;
		n = snprintf(sql + len, size - len, "%s%s", i > 0 ? ", " : "",
		    t->cols[i].name);
		n = n < 0 ? -1 : n + (int)len;
	}
	if (n > 0 && (size_t)n < size) {
		len = (size_t)n;
		n = snprintf(sql + len, size - len, " FROM %s ORDER BY %s",
		    t->name, t->key);
		n = n < 0 ? -1 : n + (int)len;
	}
	return n > 0 && (size_t)n < size ? 0 : -1;
}

/* Column i of the current row of st as t types it. */
static void
sq_copy_val(sqlite3_stmt *st, const struct db_copy_table *t, int i,
    struct db_copy_val *v)
{
	memset(v, 0, sizeof(*v));
	if (sqlite3_column_type(st, i) == SQLITE_NULL) {
		v->null = true;
		return;
	}
	switch (t->cols[i].type) {
	case DB_COL_INT:
		v->i = sqlite3_column_int64(st, i);
		break;
	case DB_COL_BOOL:
		v->i = sqlite3_column_int64(st, i) != 0;
		break;
	case DB_COL_TEXT:
		v->p = sqlite3_column_text(st, i);
		v->len = (size_t)sqlite3_column_bytes(st, i);
		break;
	case DB_COL_BLOB:
		v->p = sqlite3_column_blob(st, i);
		v->len = (size_t)sqlite3_column_bytes(st, i);
		break;
	}
}

/* Whether name is in the NULL-ended list l (NULL: empty). */
static bool
in_list(const char *const *l, const char *name)
{
	for (; l != NULL && *l != NULL; l++)
		if (strcmp(*l, name) == 0)
			return true;
	return false;
}

/* Refuses a table of the file that is neither copied nor ignored. */
static int
sq_copy_tables_known(struct db *db, const struct db_copy_table *tabs, size_t n,
    const char *const *ignore, struct gw_err *err)
{
	sqlite3_stmt *st = NULL;
	const char *name;
	size_t i;
	int s, rc = -1;

	if (sqlite3_prepare_v2(db_sq(db)->h,
		"SELECT name FROM sqlite_master WHERE type = 'table' "
		"AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
		-1, &st, NULL) != SQLITE_OK) {
		db_err_sql(db, err, "tables");
		goto out;
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		name = (const char *)sqlite3_column_text(st, 0);
		for (i = 0; i < n && name != NULL; i++)
			if (strcmp(tabs[i].name, name) == 0)
				break;
		if (name != NULL && i == n && !in_list(ignore, name)) {
			gw_err_set(err, DB_ERR_SCHEMA,
			    "table %s: not one this program copies; nothing "
			    "was copied",
			    name);
			goto out;
		}
	}
	if (s != SQLITE_DONE) {
		db_err_sql(db, err, "tables");
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* Fills t's columns from the file's schema, but those t skips. */
static int
sq_copy_columns(struct db *db, struct db_copy_table *t, struct gw_err *err)
{
	sqlite3_stmt *st = NULL;
	const char *name;
	int s, rc = -1;

	t->ncols = 0;
	if (sqlite3_prepare_v2(db_sq(db)->h,
		"SELECT name FROM pragma_table_info(?1) ORDER BY cid", -1, &st,
		NULL) != SQLITE_OK ||
	    db_bind_text(st, 1, t->name) != SQLITE_OK) {
		db_err_sql(db, err, t->name);
		goto out;
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		name = (const char *)sqlite3_column_text(st, 0);
		if (name == NULL || in_list(t->skip, name))
			continue;
		if (t->ncols == DB_COPY_MAXCOLS ||
		    strlen(name) >= sizeof(t->cols[0].name)) {
			gw_err_set(err, DB_ERR_SCHEMA,
			    "%s: too many columns, or a name too long",
			    t->name);
			goto out;
		}
		snprintf(t->cols[t->ncols].name, sizeof(t->cols[0].name), "%s",
		    name);
		t->cols[t->ncols].type = DB_COL_TEXT;
		t->ncols++;
	}
	if (s != SQLITE_DONE) {
		db_err_sql(db, err, t->name);
		goto out;
	}
	if (t->ncols == 0) {
		gw_err_set(err, DB_ERR_SCHEMA, "table %s: not in the file",
		    t->name);
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/*
 * The backend's copy_describe: every table of the file is one of tabs or
 * of ignore, and each of tabs gets its columns' names (typed later by
 * the target). Returns 0, or -1 with err set (DB_ERR_SCHEMA: a table
 * this program does not know to copy).
 */
int
sq_copy_describe(struct db *db, struct db_copy_table *tabs, size_t n,
    const char *const *ignore, struct gw_err *err)
{
	size_t i;
	int rc;

	db_lock(db);
	rc = sq_copy_tables_known(db, tabs, n, ignore, err);
	for (i = 0; i < n && rc == 0; i++)
		rc = sq_copy_columns(db, &tabs[i], err);
	db_unlock(db);
	return rc;
}

/*
 * The backend's copy_out: runs fn on every row of t, in key order, with
 * the connection's mutex held (the rows come from one read transaction).
 * Returns 0, or -1 with err set (by SQLite, or by fn, which stops it).
 */
int
sq_copy_out(struct db *db, const struct db_copy_table *t, db_copy_row_fn *fn,
    void *arg, struct gw_err *err)
{
	struct db_copy_val v[DB_COPY_MAXCOLS];
	sqlite3_stmt *st = NULL;
	char sql[4096];
	size_t i;
	int s, rc = -1;

	if (t->ncols == 0 || t->ncols > DB_COPY_MAXCOLS ||
	    sq_copy_sql(t, sql, sizeof(sql)) != 0) {
		gw_err_set(err, DB_ERR_ARG, "%s: bad table description",
		    t->name);
		return -1;
	}
	db_lock(db);
	if (sqlite3_prepare_v2(db_sq(db)->h, sql, -1, &st, NULL) != SQLITE_OK) {
		db_err_sql(db, err, t->name);
		goto out;
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		for (i = 0; i < t->ncols; i++)
			sq_copy_val(st, t, (int)i, &v[i]);
		if (fn(arg, v, err) != 0)
			goto out;
	}
	if (s != SQLITE_DONE) {
		db_err_sql(db, err, t->name);
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	db_unlock(db);
	return rc;
}

/*
 * The backend's copy_snapshot: one read transaction around every
 * copy_out, so that the tables come from one moment even if a CLI
 * command (which takes no serve lock) writes meanwhile. In WAL mode the
 * snapshot is fixed by the first read, made here. Ending it never fails.
 */
int
sq_copy_snapshot(struct db *db, bool begin, struct gw_err *err)
{
	sqlite3 *h = db_sq(db)->h;
	int rc = 0;

	db_lock(db);
	if (!begin) {
		if (sqlite3_get_autocommit(h) == 0)
			sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
	} else if (sqlite3_exec(h, "BEGIN; SELECT count(*) FROM sqlite_master",
		       NULL, NULL, NULL) != SQLITE_OK) {
		db_err_sql(db, err, "read transaction");
		if (sqlite3_get_autocommit(h) == 0)
			sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
		rc = -1;
	}
	db_unlock(db);
	return rc;
}
