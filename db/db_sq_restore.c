/*
 * `scepgw restore` (README "Backup and restore"): puts a backup in place
 * of a SQLite database no `scepgw serve` holds. The backup is copied to
 * PATH.tmp and checked there (integrity_check, a scepgw database, its
 * schema version not newer than this program's); unless told otherwise
 * its unused challenges are revoked there; the current database (with
 * any -wal, -shm) is kept as PATH.before-restore.STAMP; then PATH.tmp is
 * renamed to PATH. Library code: failures go to struct gw_err.
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

/* Copies the bytes of file into the open descriptor fd. Returns 0 or -1. */
static int
rs_copy(const char *file, int fd, struct gw_err *err)
{
	char buf[65536];
	ssize_t n, w, off;
	int in, rc = -1;

	if ((in = open(file, O_RDONLY | O_CLOEXEC)) == -1) {
		gw_err_set(err, DB_ERR_ARG, "%s: %s", file, strerror(errno));
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		for (off = 0; off < n; off += w) {
			w = write(fd, buf + off, (size_t)(n - off));
			if (w == -1 && errno == EINTR)
				w = 0;
			else if (w == -1)
				goto err;
		}
	}
	if (n == -1 && errno != EINTR)
		goto err;
	rc = 0;
	goto out;
err:
	gw_err_set(err, DB_ERR_SQL, "copying %s: %s", file, strerror(errno));
out:
	close(in);
	return rc;
}

/* Revokes (or, keeping them, counts) the copy's unused challenges. */
static int
rs_challenges(sqlite3 *h, bool keep, struct db_backup_info *info,
    struct gw_err *err)
{
	static const char *const count = "SELECT count(*) FROM challenges "
					 "WHERE used = 0 AND revoked = 0";
	sqlite3_stmt *st = NULL;
	const char *sql = keep ? count :
				 "UPDATE challenges SET revoked = 1 "
				 "WHERE used = 0 AND revoked = 0";
	int rc = -1;

	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK) {
		gw_err_set(err, DB_ERR_SQL, "challenges: %s",
		    sqlite3_errmsg(h));
		goto out;
	}
	if (sqlite3_step(st) != (keep ? SQLITE_ROW : SQLITE_DONE)) {
		gw_err_set(err, DB_ERR_SQL, "challenges: %s",
		    sqlite3_errmsg(h));
		goto out;
	}
	if (keep)
		info->unused = sqlite3_column_int64(st, 0);
	else
		info->revoked = sqlite3_changes64(h);
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/*
 * The new database in tmp (open as fd): file's bytes, as a file of its
 * own (journal_mode DELETE), checked, its challenges dealt with, owned as
 * the database it replaces (or, when there is none, as its folder), mode
 * 0600, synced.
 */
static int
rs_prepare(const char *path, const char *file, const char *tmp, int fd,
    int flags, struct db_backup_info *info, struct gw_err *err)
{
	struct stat st;
	sqlite3 *h = NULL;
	char *dir = NULL;
	int rc = -1;

	if (rs_copy(file, fd, err) != 0 ||
	    sq_backup_open(tmp, SQLITE_OPEN_READWRITE, &h, err) != 0 ||
	    sq_backup_inspect(h, info, err) != 0 ||
	    sq_backup_exec(h, "PRAGMA journal_mode = DELETE", err) != 0 ||
	    rs_challenges(h, (flags & DB_RESTORE_KEEP_CHALLENGES) != 0, info,
		err) != 0)
		goto out;
	if (sqlite3_close(h) != SQLITE_OK) {
		gw_err_set(err, DB_ERR_SQL, "%s: %s", tmp, sqlite3_errmsg(h));
		goto out;
	}
	h = NULL;
	/* The service user must own it, as it owned the old one. */
	if (stat(path, &st) == 0 ||
	    ((dir = gw_strdup(path)) != NULL && stat(dirname(dir), &st) == 0)) {
		if (geteuid() == 0 && fchown(fd, st.st_uid, st.st_gid) == -1) {
			gw_err_set(err, DB_ERR_SQL, "%s: fchown: %s", tmp,
			    strerror(errno));
			goto out;
		}
	}
	if (fstat(fd, &st) == 0) {
		info->uid = (long)st.st_uid;
		info->gid = (long)st.st_gid;
	}
	if (fchmod(fd, 0600) == -1 || fsync(fd) == -1) {
		gw_err_set(err, DB_ERR_SQL, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	sqlite3_close(h);
	free(dir);
	return rc;
}

/*
 * Folds the old database's WAL into it, so that the kept file stands
 * alone. Best effort: a file that does not open as a database is kept as
 * it is, with its -wal and -shm moved beside it (rs_keep()).
 */
static void
rs_checkpoint(const char *path)
{
	sqlite3 *h = NULL;

	if (sq_backup_open(path, SQLITE_OPEN_READWRITE, &h, NULL) != 0)
		return;
	sq_backup_exec(h, "PRAGMA wal_checkpoint(TRUNCATE)", NULL);
	sqlite3_close(h);
}

/* Names the kept copy: PATH.before-restore.YYYYMMDDThhmmssZ, with .N
 * added when a restore in the same second took that name. */
static int
rs_kept_name(const char *path, char *out, size_t n, struct gw_err *err)
{
	struct stat st;
	struct tm tm;
	time_t now = time(NULL);
	char stamp[32];
	int i, len;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (i = 0; i < 100; i++) {
		len = i == 0 ?
		    snprintf(out, n, "%s.before-restore.%s", path, stamp) :
		    snprintf(out, n, "%s.before-restore.%s.%d", path, stamp, i);
		if (len < 0 || (size_t)len >= n) {
			gw_err_set(err, DB_ERR_ARG, "%s: name too long", path);
			return -1;
		}
		if (lstat(out, &st) == -1 && errno == ENOENT)
			return 0;
	}
	gw_err_set(err, DB_ERR_EXISTS, "%s: too many kept copies", out);
	return -1;
}

/* Moves path+sfx to kept+sfx if it exists. Returns 0 or -1. */
static int
rs_move(const char *path, const char *kept, const char *sfx, struct gw_err *err)
{
	char *a = sq_backup_name(path, sfx), *b = sq_backup_name(kept, sfx);
	int rc = -1;

	if (a == NULL || b == NULL) {
		gw_err_set(err, DB_ERR_SQL, "out of memory");
		goto out;
	}
	if (rename(a, b) == -1 && errno != ENOENT) {
		gw_err_set(err, DB_ERR_SQL, "%s: %s", a, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(a);
	free(b);
	return rc;
}

/* True when path exists (as anything). */
static bool
rs_exists(const char *path, const char *sfx)
{
	struct stat st;
	char *p = sq_backup_name(path, sfx);
	bool yes = p != NULL && lstat(p, &st) == 0;

	free(p);
	return yes;
}

/*
 * Keeps the current database as info->kept (0600): its WAL folded in,
 * any -wal/-shm left moved along (a stale WAL beside the restored file
 * would be replayed into it, even one without a database), then a hard
 * link, so PATH stays in place until the rename that replaces it.
 */
static int
rs_keep(const char *path, struct db_backup_info *info, struct gw_err *err)
{
	bool db = rs_exists(path, "");

	if (!db && !rs_exists(path, "-wal") && !rs_exists(path, "-shm"))
		return 0;
	if (rs_kept_name(path, info->kept, sizeof(info->kept), err) != 0)
		return -1;
	if (db)
		rs_checkpoint(path);
	if (rs_move(path, info->kept, "-wal", err) != 0 ||
	    rs_move(path, info->kept, "-shm", err) != 0)
		return -1;
	if (db &&
	    (link(path, info->kept) == -1 || chmod(info->kept, 0600) == -1)) {
		gw_err_set(err, DB_ERR_SQL, "%s: %s", info->kept,
		    strerror(errno));
		info->kept[0] = '\0';
		return -1;
	}
	return 0;
}

/*
 * Replaces the SQLite database at path with the backup file (README
 * "Backup and restore"), only while no `scepgw serve` holds it (its lock
 * is taken once, not waited for: DB_ERR_BUSY). file must pass
 * integrity_check and be a scepgw database at this program's schema
 * version or an older one (migrated by the next open). Its unused
 * challenges are revoked unless flags has DB_RESTORE_KEEP_CHALLENGES.
 * The current database is kept as info->kept. Returns 0, or -1 with err
 * set and path as it was.
 */
int
db_restore_from(const char *path, const char *file, int flags,
    struct db_backup_info *info, struct gw_err *err)
{
	char *tmp = NULL;
	int lock = -1, fd = -1, rc = -1;

	memset(info, 0, sizeof(*info));
	info->uid = info->gid = -1;
	if ((tmp = sq_backup_name(path, ".tmp")) == NULL) {
		gw_err_set(err, DB_ERR_SQL, "out of memory");
		return -1;
	}
	/* Neither the database nor the name its new copy is made under. */
	if (sq_backup_not_same(path, file, err) != 0 ||
	    sq_backup_not_same(tmp, file, err) != 0 ||
	    sq_lock_path(path, 0, &lock, err) != 0)
		goto out;
	if ((fd = sq_backup_tmp_create(tmp, err)) == -1)
		goto out;
	if (rs_prepare(path, file, tmp, fd, flags, info, err) != 0 ||
	    rs_keep(path, info, err) != 0)
		goto err;
	if (rename(tmp, path) == -1) {
		gw_err_set(err, DB_ERR_SQL, "%s: %s", path, strerror(errno));
		goto err;
	}
	rc = sq_backup_fsync(path, true, err);
	goto out;
err:
	sq_backup_tmp_remove(tmp);
out:
	if (fd != -1)
		close(fd);
	if (lock != -1)
		close(lock);
	free(tmp);
	return rc;
}
