/*
 * Backup and restore of a SQLite database (db/db_sq_backup.c,
 * db_sq_restore.c; README "Backup and restore"), SQLite only: the copy of
 * a database a handle holds open, its rows and schema version; an
 * existing file refused unless forced; a restore refused while a server
 * holds the database; a restore revoking the unused challenges (or not);
 * a file that is no database, or of a newer schema, or the database
 * itself, refused with the database left as it was.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "gw_err.h"
#include "db.h"
#include "test_db_common.h"

/* fx->dir/name into p. */
static void
in_dir(const struct fx *fx, const char *name, char *p, size_t n)
{
	snprintf(p, n, "%s/%s", fx->dir, name);
}

/* Removes every file of the folder, then the fixture's teardown. */
static int
bk_teardown(void **state)
{
	struct fx *fx = *state;
	struct dirent *e;
	char p[400];
	DIR *d;

	db_close(fx->db);
	fx->db = NULL;
	if ((d = opendir(fx->dir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			in_dir(fx, e->d_name, p, sizeof(p));
			unlink(p);
		}
		closedir(d);
	}
	return teardown(state);
}

/* The rows of table in info (-1: not listed). */
static int64_t
rows_of(const struct db_backup_info *info, const char *table)
{
	size_t i;

	for (i = 0; i < info->ntables; i++)
		if (strcmp(info->tables[i].name, table) == 0)
			return info->tables[i].rows;
	return -1;
}

/* The whole content of a file, malloc'd; *len its size. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Two challenges (bytes 1, 2), a certificate, and a backup of that. */
static void
fill_and_back_up(struct fx *fx, char *file, size_t n,
    struct db_backup_info *info)
{
	struct gw_err err;

	put_challenge(fx->db, 1, NOW + 3600, NULL, NULL, NULL);
	put_challenge(fx->db, 2, NOW + 3600, NULL, NULL, NULL);
	issue_cert(fx->db, "tx-issued", "0A0B");
	in_dir(fx, "b.db", file, n);
	gw_err_clear(&err);
	if (db_backup_to(fx->path, file, 0, info, &err) != 0)
		fail_msg("backup: %s", err.msg);
}

/* A copy of an open database: its rows, schema, mode; no FILE.tmp. */
static void
test_backup_copy(void **state)
{
	struct fx *fx = *state;
	struct db_backup_info info;
	struct stat st;
	char file[400], tmp[420];

	fill_and_back_up(fx, file, sizeof(file), &info);
	assert_int_equal(info.schema, db_schema_version(fx->db));
	assert_int_equal(info.schema, info.schema_latest);
	assert_int_equal(rows_of(&info, "challenges"), 2);
	assert_int_equal(rows_of(&info, "transactions"), 1);
	assert_int_equal(rows_of(&info, "certificates"), 1);
	assert_int_equal(info.ordering, 0);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	assert_int_equal(access(tmp, F_OK), -1);
}

/* An existing file is refused, unchanged; --force replaces it. */
static void
test_backup_exists(void **state)
{
	struct fx *fx = *state;
	struct db_backup_info info;
	struct gw_err err;
	char file[400], *b;
	size_t blen;
	FILE *f;

	in_dir(fx, "b.db", file, sizeof(file));
	assert_non_null(f = fopen(file, "w"));
	fputs("keep me", f);
	fclose(f);
	gw_err_clear(&err);
	assert_int_equal(db_backup_to(fx->path, file, 0, &info, &err), -1);
	assert_int_equal(err.code, DB_ERR_EXISTS);
	b = slurp(file, &blen);
	assert_int_equal(blen, 7);
	assert_memory_equal(b, "keep me", 7);
	free(b);
	assert_int_equal(db_backup_to(fx->path, file, DB_BACKUP_FORCE, &info,
			     &err),
	    0);
	assert_true(rows_of(&info, "challenges") >= 0);
}

/* A server's lock on the database refuses a restore at once. */
static void
test_restore_busy(void **state)
{
	struct fx *fx = *state;
	struct db_backup_info info;
	struct gw_err err;
	char file[400];

	fill_and_back_up(fx, file, sizeof(file), &info);
	gw_err_clear(&err);
	assert_int_equal(db_serve_lock(fx->db, &err), 0);
	assert_int_equal(db_restore_from(fx->path, file, 0, &info, &err), -1);
	assert_int_equal(err.code, DB_ERR_BUSY);
}

/* Restores the backup (flags) over a database in which challenge 1 was
 * used after it; returns what starting with challenge 1 again gives. */
static enum db_start
replay_after_restore(struct fx *fx, int flags, struct db_backup_info *info)
{
	struct db_txn t = { 0 };
	struct gw_err err;
	struct stat st;
	char file[400];
	enum db_start res;

	fill_and_back_up(fx, file, sizeof(file), info);
	assert_int_equal(start(fx->db, "tx-after", 1, NOW, &t), DB_START_OK);
	db_txn_cleanup(&t);
	db_close(fx->db);
	fx->db = NULL;
	gw_err_clear(&err);
	if (db_restore_from(fx->path, file, flags, info, &err) != 0)
		fail_msg("restore: %s", err.msg);
	assert_int_equal(stat(info->kept, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(fx_open(fx, &fx->db, &err), 0);
	res = start(fx->db, "tx-replay", 1, NOW, &t);
	db_txn_cleanup(&t);
	return res;
}

/* By default the copy's unused challenges are revoked. */
static void
test_restore_revokes(void **state)
{
	struct db_backup_info info;

	assert_int_equal(replay_after_restore(*state, 0, &info),
	    DB_START_CHALLENGE_REVOKED);
	assert_int_equal(info.revoked, 2);
}

/* DB_RESTORE_KEEP_CHALLENGES leaves them usable: the replay works. */
static void
test_restore_keeps(void **state)
{
	struct db_backup_info info;

	assert_int_equal(replay_after_restore(*state,
			     DB_RESTORE_KEEP_CHALLENGES, &info),
	    DB_START_OK);
	assert_int_equal(info.unused, 2);
	assert_int_equal(info.revoked, 0);
}

/* Restores file, which must be refused with code, leaving the database
 * byte for byte as it was and no kept copy or PATH.tmp. */
static void
restore_refused(struct fx *fx, const char *file, int code)
{
	struct db_backup_info info;
	struct gw_err err;
	char tmp[200], *a, *b;
	size_t alen, blen;

	db_close(fx->db);
	fx->db = NULL;
	a = slurp(fx->path, &alen);
	gw_err_clear(&err);
	assert_int_equal(db_restore_from(fx->path, file, 0, &info, &err), -1);
	assert_int_equal(err.code, code);
	b = slurp(fx->path, &blen);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	assert_string_equal(info.kept, "");
	snprintf(tmp, sizeof(tmp), "%s.tmp", fx->path);
	assert_int_equal(access(tmp, F_OK), -1);
	free(a);
	free(b);
}

/* A file that is no database. */
static void
test_restore_junk(void **state)
{
	struct fx *fx = *state;
	char file[400];
	FILE *f;
	int i;

	in_dir(fx, "junk.db", file, sizeof(file));
	assert_non_null(f = fopen(file, "w"));
	for (i = 0; i < 4096; i++)
		fputc(i * 7 & 0xff, f);
	fclose(f);
	restore_refused(fx, file, DB_ERR_SCHEMA);
}

/* A backup at a schema version newer than this program's. */
static void
test_restore_newer(void **state)
{
	struct fx *fx = *state;
	struct db_backup_info info;
	sqlite3 *h = NULL;
	char file[400];

	fill_and_back_up(fx, file, sizeof(file), &info);
	assert_int_equal(sqlite3_open(file, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "PRAGMA user_version = 9999", NULL,
			     NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(h);
	restore_refused(fx, file, DB_ERR_SCHEMA);
}

/* The database itself is neither a backup's FILE (even forced) nor a
 * restore's, nor is the name a restore prepares its copy under. */
static void
test_same_file(void **state)
{
	struct fx *fx = *state;
	struct db_backup_info info;
	struct gw_err err;
	char file[400], tmp[200];

	fill_and_back_up(fx, file, sizeof(file), &info);
	gw_err_clear(&err);
	assert_int_equal(db_backup_to(fx->path, fx->path, DB_BACKUP_FORCE,
			     &info, &err),
	    -1);
	assert_int_equal(err.code, DB_ERR_ARG);
	assert_int_equal(rows_of(&info, "challenges"), -1);
	assert_true(db_schema_version(fx->db) > 0);
	db_close(fx->db);
	fx->db = NULL;
	assert_int_equal(db_restore_from(fx->path, fx->path, 0, &info, &err),
	    -1);
	assert_int_equal(err.code, DB_ERR_ARG);
	snprintf(tmp, sizeof(tmp), "%s.tmp", fx->path);
	assert_int_equal(rename(file, tmp), 0);
	assert_int_equal(db_restore_from(fx->path, tmp, 0, &info, &err), -1);
	assert_int_equal(err.code, DB_ERR_ARG);
	assert_int_equal(access(tmp, R_OK), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_backup_copy, setup,
		    bk_teardown),
		cmocka_unit_test_setup_teardown(test_backup_exists, setup,
		    bk_teardown),
		cmocka_unit_test_setup_teardown(test_restore_busy, setup,
		    bk_teardown),
		cmocka_unit_test_setup_teardown(test_restore_revokes, setup,
		    bk_teardown),
		cmocka_unit_test_setup_teardown(test_restore_keeps, setup,
		    bk_teardown),
		cmocka_unit_test_setup_teardown(test_restore_junk, setup,
		    bk_teardown),
		cmocka_unit_test_setup_teardown(test_restore_newer, setup,
		    bk_teardown),
		cmocka_unit_test_setup_teardown(test_same_file, setup,
		    bk_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
