/*
 * The SQLite backend's exec_batch (struct db_backend): a batch of hot
 * writes from the group-commit queue (db_batch.c) runs as one SQLite
 * transaction, each write in its own SAVEPOINT, with one COMMIT (one
 * fsync) for all. A write that fails, or decides to write nothing (a
 * refused challenge), is rolled back to its savepoint without touching
 * the others; when SQLite itself rolls the whole transaction back (I/O,
 * full disk, out of memory) the writes kept so far fail with it and the
 * rest of the batch starts a new transaction.
 */
#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "gw_err.h"
#include "db.h"
#include "db_int.h"
#include "db_sq_int.h"

/* Runs one write by its kind (the caller holds the mutex, a savepoint is
 * open). Returns DB_WRITE_KEEP, DB_WRITE_UNDO or -1 with j->err set. */
static int
job_write(struct db *db, struct db_write *j)
{
	switch (j->kind) {
	case DB_W_NONE:
		return DB_WRITE_UNDO;
	case DB_W_START:
		return sq_txn_start_write(db, &j->u.start, &j->err);
	case DB_W_ORDER:
		return sq_txn_order_write(db, &j->u.upd, &j->err);
	case DB_W_ISSUED:
		return sq_txn_issued_write(db, &j->u.upd, &j->err);
	case DB_W_FAILED:
		return sq_txn_failed_write(db, &j->u.upd, &j->err);
	case DB_W_EVENT:
		return sq_event_write(db, &j->u.ev, &j->err);
	case DB_W__MAX:
		break;
	}
	gw_err_set(&j->err, DB_ERR_ARG, "write of unknown kind %d",
	    (int)j->kind);
	return -1;
}

/* Copies a batch-wide error into every job of [from, to) that kept its
 * write: the transaction holding them was lost. */
static void
batch_fail_kept(struct db_write *from, const struct db_write *to,
    const struct gw_err *why)
{
	struct db_write *j;

	for (j = from; j != to; j = j->next) {
		if (j->rc != DB_WRITE_KEEP)
			continue;
		j->rc = -1;
		j->err = *why;
	}
}

/* Runs one statement of the cache that returns no rows; errors ignored
 * beyond the return value. */
static int
batch_step(struct db *db, enum db_stmt which, const char *what,
    struct gw_err *err)
{
	return db_step_done(db, db_stmt(db, which), what, err);
}

/* Runs one job inside the open transaction, in its own savepoint. Returns
 * false when SQLite rolled the whole transaction back meanwhile. */
static bool
batch_job_run(struct db *db, struct db_write *j)
{
	struct gw_err e;

	gw_err_clear(&j->err);
	if (batch_step(db, DB_ST_SAVEPOINT, "savepoint", &j->err) != 0) {
		j->rc = -1;
		return sqlite3_get_autocommit(db_sq(db)->h) == 0;
	}
	j->rc = job_write(db, j);
	if (sqlite3_get_autocommit(db_sq(db)->h) != 0) {
		/* An I/O, full-disk or out-of-memory error undid it all. */
		if (j->rc != -1 || j->err.msg[0] == '\0')
			gw_err_set(&j->err, DB_ERR_SQL,
			    "write rolled back by SQLite");
		j->rc = -1;
		return false;
	}
	if (j->rc != DB_WRITE_KEEP &&
	    batch_step(db, DB_ST_ROLLBACK_TO, "rollback to savepoint", &e) !=
		0) {
		/* Cannot undo this job's part: lose the transaction. */
		db_rollback(db);
		j->rc = -1;
		j->err = e;
		return false;
	}
	if (batch_step(db, DB_ST_RELEASE, "release savepoint", &e) != 0) {
		db_rollback(db);
		if (j->rc == DB_WRITE_KEEP) {
			j->rc = -1;
			j->err = e;
		}
		return false;
	}
	return true;
}

/* Runs the jobs of a batch in as few transactions as possible (one unless
 * SQLite rolls one back) and commits; the caller holds the mutex. */
static void
batch_exec(struct db *db, struct db_write *batch)
{
	struct db_write *first = batch, *j;
	struct gw_err e;
	bool open = false;

	for (j = batch; j != NULL; j = j->next) {
		if (!open) {
			first = j;
			if (db_begin(db, &e) != 0) {
				j->rc = -1;
				j->err = e;
				continue;
			}
			open = true;
		}
		if (!batch_job_run(db, j)) {
			gw_err_set(&e, DB_ERR_SQL,
			    "batch rolled back by a later write: %s",
			    j->err.msg);
			batch_fail_kept(first, j, &e);
			open = false;
		}
	}
	if (open && db_commit(db, &e) != 0)
		batch_fail_kept(first, NULL, &e);
}

/* Runs a batch of hot writes; sets every job's rc and err. A job's
 * DB_WRITE_KEEP survives only a good COMMIT. */
void
sq_exec_batch(struct db *db, struct db_write *batch)
{
	db_lock(db);
	batch_exec(db, batch);
	db_unlock(db);
}
