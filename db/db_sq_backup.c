/*
 * `scepgw backup` (README "Backup and restore"): a consistent copy of a
 * SQLite database while `scepgw serve` writes it, with SQLite's online
 * backup API, into FILE.tmp (0600, fsync), checked (integrity_check, its
 * schema version, rows per table) and then renamed to FILE. Also the
 * checks and file steps db_sq_restore.c shares. Library code: failures
 * are reported through struct gw_err, never logged.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "gw_err.h"
#include "secure.h"
#include "db.h"
#include "db_int.h"
#include "db_sq_int.h"

/* Pages copied per backup step, and how long a step that found the
 * source busy waits before the next try, at most BK_BUSY_TRIES times. */
#define BK_PAGES 256
#define BK_BUSY_MS 10
#define BK_BUSY_TRIES 1000
/* How long a connection waits for a lock (WAL recovery, a checkpoint). */
#define BK_TIMEOUT_MS 10000

/* A malloc'd "path" "suffix", or NULL when out of memory. */
char *
sq_backup_name(const char *path, const char *suffix)
{
	size_t len = strlen(path) + strlen(suffix) + 1;
	char *s;

	if ((s = malloc(len)) != NULL)
		snprintf(s, len, "%s%s", path, suffix);
	return s;
}

/* Removes tmp and the journal files SQLite may have left beside it. */
void
sq_backup_tmp_remove(const char *tmp)
{
	static const char *const sfx[] = { "", "-journal", "-wal", "-shm" };
	char *p;
	size_t i;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if ((p = sq_backup_name(tmp, sfx[i])) == NULL)
			continue;
		unlink(p);
		free(p);
	}
}

/* Creates tmp anew, mode 0600 (a stale one from an interrupted run is
 * removed first). Returns the open descriptor, or -1 with err set. */
int
sq_backup_tmp_create(const char *tmp, struct gw_err *err)
{
	int fd;

	sq_backup_tmp_remove(tmp);
	fd =
	    open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		gw_err_set(err, DB_ERR_SQL, "%s: %s", tmp, strerror(errno));
	return fd;
}

/* fsync(2) of path (a file, or with dir the folder holding it). Returns
 * 0 or -1 with err set. */
int
sq_backup_fsync(const char *path, bool dir, struct gw_err *err)
{
	char *copy = NULL;
	const char *p = path;
	int fd = -1, rc = -1;

	if (dir) {
		if ((copy = gw_strdup(path)) == NULL) {
			gw_err_set(err, DB_ERR_SQL, "out of memory");
			goto out;
		}
		p = dirname(copy);
	}
	fd = open(p, (dir ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
	if (fd == -1 || fsync(fd) == -1) {
		gw_err_set(err, DB_ERR_SQL, "%s: fsync: %s", p,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	free(copy);
	return rc;
}

/* Refuses (DB_ERR_ARG) a file that is path itself, under any name. */
int
sq_backup_not_same(const char *path, const char *file, struct gw_err *err)
{
	struct stat a, b;

	if (stat(path, &a) == 0 && stat(file, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
		gw_err_set(err, DB_ERR_ARG, "%s is %s itself", file, path);
		return -1;
	}
	return 0;
}

/* Runs sql (no rows wanted) on h. Returns 0 or -1 with err set. */
int
sq_backup_exec(sqlite3 *h, const char *sql, struct gw_err *err)
{
	char *msg = NULL;
	int rc = 0;

	if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		gw_err_set(err, DB_ERR_SQL, "%.40s: %s", sql,
		    msg != NULL ? msg : sqlite3_errmsg(h));
		rc = -1;
	}
	sqlite3_free(msg);
	return rc;
}

/* The integer the one-row query sql answers, into *v. Returns 0 or -1. */
static int
bk_int(sqlite3 *h, const char *sql, int64_t *v, struct gw_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		gw_err_set(err, DB_ERR_SCHEMA, "%s", sqlite3_errmsg(h));
		goto out;
	}
	*v = sqlite3_column_int64(st, 0);
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* PRAGMA integrity_check: 0 when it answers "ok", else -1 with its first
 * complaint (or SQLite's error: "file is not a database") in err. */
static int
bk_integrity(sqlite3 *h, struct gw_err *err)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *s;
	int rc = -1;

	if (sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL) !=
		SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		gw_err_set(err, DB_ERR_SCHEMA, "%s", sqlite3_errmsg(h));
		goto out;
	}
	s = sqlite3_column_text(st, 0);
	if (s == NULL || strcmp((const char *)s, "ok") != 0) {
		gw_err_set(err, DB_ERR_SCHEMA, "integrity_check: %.200s",
		    s != NULL ? (const char *)s : "no answer");
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* The copy's tables in creation order, and the rows of each. */
static int
bk_tables(sqlite3 *h, struct db_backup_info *info, struct gw_err *err)
{
	sqlite3_stmt *st = NULL;
	struct db_backup_table *t;
	char *sql;
	int s, rc = -1;

	if (sqlite3_prepare_v2(h,
		"SELECT name FROM sqlite_schema WHERE type = 'table' AND "
		"name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid",
		-1, &st, NULL) != SQLITE_OK) {
		gw_err_set(err, DB_ERR_SCHEMA, "%s", sqlite3_errmsg(h));
		goto out;
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW &&
	    info->ntables < DB_BACKUP_TABLES_MAX) {
		t = &info->tables[info->ntables++];
		snprintf(t->name, sizeof(t->name), "%s",
		    (const char *)sqlite3_column_text(st, 0));
		sql = sqlite3_mprintf("SELECT count(*) FROM \"%w\"",
		    (const char *)sqlite3_column_text(st, 0));
		if (sql == NULL || bk_int(h, sql, &t->rows, err) != 0) {
			sqlite3_free(sql);
			goto out;
		}
		sqlite3_free(sql);
	}
	if (s != SQLITE_ROW && s != SQLITE_DONE) {
		gw_err_set(err, DB_ERR_SCHEMA, "%s", sqlite3_errmsg(h));
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* True when the copy has table name. */
static bool
bk_has(const struct db_backup_info *info, const char *name)
{
	size_t i;

	for (i = 0; i < info->ntables; i++)
		if (strcmp(info->tables[i].name, name) == 0)
			return true;
	return false;
}

/*
 * Checks that h is a sound scepgw database and describes it into info:
 * integrity_check, schema version (user_version; newer than this
 * program's is refused, since this program could not serve it), tables
 * and rows, the transactions still ORDERING. Returns 0, or -1 with err
 * set (DB_ERR_SCHEMA).
 */
int
sq_backup_inspect(sqlite3 *h, struct db_backup_info *info, struct gw_err *err)
{
	int64_t v = 0;

	info->schema_latest = sq_schema_latest();
	if (bk_integrity(h, err) != 0 ||
	    bk_int(h, "PRAGMA user_version", &v, err) != 0 ||
	    bk_tables(h, info, err) != 0)
		return -1;
	info->schema = (int)v;
	if (v < 1 || !bk_has(info, "challenges") ||
	    !bk_has(info, "transactions") || !bk_has(info, "certificates")) {
		gw_err_set(err, DB_ERR_SCHEMA,
		    "not a scepgw database (schema version %lld, no "
		    "challenges, transactions and certificates tables)",
		    (long long)v);
		return -1;
	}
	if (v > info->schema_latest) {
		gw_err_set(err, DB_ERR_SCHEMA,
		    "schema version %lld is newer than this program's (%d): "
		    "restore it with the scepgw version that made it",
		    (long long)v, info->schema_latest);
		return -1;
	}
	return bk_int(h, "SELECT count(*) FROM transactions WHERE state = 1",
	    &info->ordering, err);
}

/* Opens path with flags (SQLITE_OPEN_READONLY or _READWRITE) and a busy
 * timeout. Returns 0, or -1 with err set (*h NULL). */
int
sq_backup_open(const char *path, int flags, sqlite3 **h, struct gw_err *err)
{
	*h = NULL;
	if (sqlite3_open_v2(path, h, flags, NULL) != SQLITE_OK) {
		gw_err_set(err, DB_ERR_SQL, "%s: %s", path,
		    *h != NULL ? sqlite3_errmsg(*h) : "out of memory");
		sqlite3_close(*h);
		*h = NULL;
		return -1;
	}
	sqlite3_busy_timeout(*h, BK_TIMEOUT_MS);
	return 0;
}

/* One backup step, retried after a short sleep while the source is busy
 * or locked. Returns SQLite's last code. */
static int
bk_step(sqlite3_backup *b)
{
	const struct timespec nap = { 0, BK_BUSY_MS * 1000000L };
	int s, tries;

	for (tries = 0;; tries++) {
		s = sqlite3_backup_step(b, BK_PAGES);
		if (((s & 0xff) != SQLITE_BUSY &&
			(s & 0xff) != SQLITE_LOCKED) ||
		    tries >= BK_BUSY_TRIES)
			return s;
		nanosleep(&nap, NULL);
	}
}

/*
 * Copies src into dst with the online backup API, BK_PAGES at a time.
 * The whole copy runs in one read transaction on src: in WAL mode a
 * reader never blocks serve's writer, and the snapshot keeps the copy
 * consistent (without it SQLite restarts a backup whenever another
 * process commits between two steps, which under load may be forever).
 */
static int
bk_copy(sqlite3 *src, sqlite3 *dst, struct gw_err *err)
{
	sqlite3_backup *b;
	int s, rc = -1;

	if (sq_backup_exec(src, "BEGIN; SELECT count(*) FROM sqlite_schema",
		err) != 0)
		return -1;
	if ((b = sqlite3_backup_init(dst, "main", src, "main")) == NULL) {
		gw_err_set(err, DB_ERR_SQL, "backup: %s", sqlite3_errmsg(dst));
		goto out;
	}
	while ((s = bk_step(b)) == SQLITE_OK)
		;
	if (sqlite3_backup_finish(b) != SQLITE_OK || s != SQLITE_DONE) {
		gw_err_set(err, DB_ERR_SQL, "backup: %s", sqlite3_errstr(s));
		goto out;
	}
	rc = 0;
out:
	sq_backup_exec(src, "COMMIT", NULL);
	return rc;
}

/*
 * The copy into tmp (open as fd): backed up, a file of its own
 * (journal_mode DELETE: no -wal beside it; serve sets WAL again when it
 * opens a restored copy), checked and described, synced.
 */
static int
bk_make(const char *path, const char *tmp, int fd, struct db_backup_info *info,
    struct gw_err *err)
{
	sqlite3 *src = NULL, *dst = NULL;
	int rc = -1;

	if (sq_backup_open(path, SQLITE_OPEN_READONLY, &src, err) != 0 ||
	    sq_backup_open(tmp, SQLITE_OPEN_READWRITE, &dst, err) != 0 ||
	    bk_copy(src, dst, err) != 0 ||
	    sq_backup_exec(dst, "PRAGMA journal_mode = DELETE", err) != 0 ||
	    sq_backup_inspect(dst, info, err) != 0)
		goto out;
	if (sqlite3_close(dst) != SQLITE_OK) {
		gw_err_set(err, DB_ERR_SQL, "%s: %s", tmp, sqlite3_errmsg(dst));
		goto out;
	}
	dst = NULL;
	if (fsync(fd) == -1) {
		gw_err_set(err, DB_ERR_SQL, "%s: fsync: %s", tmp,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	sqlite3_close(dst);
	sqlite3_close(src);
	return rc;
}

/* Puts tmp in place as file: a hard link that fails if file exists
 * (nothing replaced unless force, even if file appeared meanwhile), or
 * with force a rename. */
static int
bk_put(const char *tmp, const char *file, bool force, struct gw_err *err)
{
	if (force ? rename(tmp, file) == -1 : link(tmp, file) == -1) {
		gw_err_set(err, errno == EEXIST ? DB_ERR_EXISTS : DB_ERR_SQL,
		    "%s: %s%s", file, strerror(errno),
		    errno == EEXIST ? " (--force replaces it)" : "");
		return -1;
	}
	if (!force)
		unlink(tmp);
	return sq_backup_fsync(file, true, err);
}

/*
 * Copies the SQLite database at path into file, consistently while a
 * `scepgw serve` writes it (README "Backup and restore"). An existing
 * file is refused (DB_ERR_EXISTS) unless flags has DB_BACKUP_FORCE. The
 * copy is made in file.tmp (0600), must pass integrity_check and be a
 * scepgw database at a schema version this program knows, is synced and
 * only then renamed to file. info describes the copy. Returns 0, or -1
 * with err set and nothing left behind (no file, no file.tmp).
 */
int
db_backup_to(const char *path, const char *file, int flags,
    struct db_backup_info *info, struct gw_err *err)
{
	struct stat st;
	bool force = (flags & DB_BACKUP_FORCE) != 0;
	char *tmp = NULL;
	int fd = -1, rc = -1;

	memset(info, 0, sizeof(*info));
	info->uid = info->gid = -1;
	if (sq_backup_not_same(path, file, err) != 0)
		return -1;
	if (!force && lstat(file, &st) == 0) {
		gw_err_set(err, DB_ERR_EXISTS,
		    "%s exists (--force replaces it)", file);
		return -1;
	}
	if ((tmp = sq_backup_name(file, ".tmp")) == NULL) {
		gw_err_set(err, DB_ERR_SQL, "out of memory");
		return -1;
	}
	if ((fd = sq_backup_tmp_create(tmp, err)) == -1)
		goto out;
	if (bk_make(path, tmp, fd, info, err) != 0 ||
	    bk_put(tmp, file, force, err) != 0) {
		sq_backup_tmp_remove(tmp);
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	free(tmp);
	return rc;
}
