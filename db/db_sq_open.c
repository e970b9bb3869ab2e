/*
 * The SQLite backend: opens the gateway's database file, applies the
 * numbered schema migrations (PRAGMA user_version), prepares every
 * statement once, and names the backend's operations (db_sq_backend()).
 * Also holds the small helpers the other db_sq_*.c files share. Library
 * code: failures are reported through struct gw_err, never logged.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "gw_err.h"
#include "secure.h"
#include "db.h"
#include "db_int.h"
#include "db_sq_int.h"

/* How long a writer waits for another connection's write lock. */
#define DB_BUSY_MS 10000

static const char *const db_stmt_sql[DB_ST__MAX] = {
#define DB_STMT_SQL(name, sql) [DB_ST_##name] = sql,
	DB_STMTS(DB_STMT_SQL)
#undef DB_STMT_SQL
};

/*
 * Migration N (1-based) takes the schema from version N-1 to N. Never edit
 * a migration that has shipped: append a new one.
 */
static const char *const db_migrations[] = {
	/* 1: challenges, enrollment transactions, issued certificates. */
	"CREATE TABLE challenges ("
	" id INTEGER PRIMARY KEY,"
	" hash BLOB NOT NULL UNIQUE," /* SHA-256 of the secret */
	" created INTEGER NOT NULL,"
	" expires INTEGER NOT NULL,"
	" used INTEGER NOT NULL DEFAULT 0,"
	" revoked INTEGER NOT NULL DEFAULT 0,"
	" cn TEXT, email TEXT, ou TEXT,"
	" txid TEXT);"
	"CREATE INDEX challenges_expires ON challenges(expires);"
	"CREATE TABLE transactions ("
	" id INTEGER PRIMARY KEY,"
	" txid TEXT NOT NULL UNIQUE,"
	" csr_sha256 BLOB NOT NULL,"
	" state INTEGER NOT NULL CHECK (state IN (1, 2, 3)),"
	" created INTEGER NOT NULL,"
	" updated INTEGER NOT NULL,"
	" challenge_id INTEGER REFERENCES challenges(id),"
	" cn TEXT, email TEXT, ou TEXT,"
	" csr_pem TEXT,"
	" order_id TEXT,"
	" cert_der BLOB,"
	" fail_info INTEGER NOT NULL DEFAULT 0,"
	" fail_text TEXT);"
	"CREATE INDEX transactions_state ON transactions(state);"
	"CREATE INDEX transactions_challenge ON transactions(challenge_id);"
	"CREATE TABLE certificates ("
	" serial_hex TEXT PRIMARY KEY,"
	" order_id TEXT,"
	" txid TEXT REFERENCES transactions(txid),"
	" subject TEXT,"
	" cert_der BLOB NOT NULL,"
	" issued INTEGER NOT NULL,"
	" not_after INTEGER NOT NULL,"
	" revoked INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX certificates_txid ON certificates(txid);"
	"CREATE INDEX certificates_order ON certificates(order_id);"
	"CREATE INDEX certificates_not_after ON certificates(not_after);",
	/* 2: why a certificate was revoked (`scepgw cert revoke --reason`). */
	"ALTER TABLE certificates ADD COLUMN revoke_reason TEXT;",
	/* 3: users of the NDES-compatible challenge page (db_user.c). */
	"CREATE TABLE users ("
	" name TEXT PRIMARY KEY,"
	" kdf TEXT NOT NULL CHECK (kdf = 'scrypt'),"
	" kdf_n INTEGER NOT NULL,"
	" kdf_r INTEGER NOT NULL,"
	" kdf_p INTEGER NOT NULL,"
	" salt BLOB NOT NULL,"
	" hash BLOB NOT NULL,"
	" can_issue INTEGER NOT NULL DEFAULT 1,"
	" created INTEGER NOT NULL);",
	/* 4: the [profile NAME] a transaction was made for (NULL: default). */
	("ALTER TABLE transactions ADD COLUMN profile TEXT;"
	 "ALTER TABLE challenges ADD COLUMN profile TEXT;"),
	/* 5: the CSR key of a transaction, so that a transactionID reused
	 * with a new CSR for the same key (certmonger) is recognised. */
	"ALTER TABLE transactions ADD COLUMN key_sha256 BLOB;",
	/* 6: the serial of the certificate a renewal renews, so that a
	 * certificate has at most one live successor (db_txn_start()). */
	("ALTER TABLE transactions ADD COLUMN renews TEXT;"
	 "CREATE INDEX transactions_renews ON transactions(renews);"),
	/* 7: the UPN a challenge binds, and the UPN decided for a
	 * transaction, which its order (and a re-order) carries. */
	("ALTER TABLE challenges ADD COLUMN upn TEXT;"
	 "ALTER TABLE transactions ADD COLUMN upn TEXT;"),
	/* 8: the profiles an NDES page user may fetch challenges for, comma
	 * separated, the first one the page's default (README "Security
	 * model"); users from before are limited to "default". */
	"ALTER TABLE users ADD COLUMN profiles TEXT NOT NULL "
	"DEFAULT 'default';",
	/* 9: licence accounting (README "Licences"): the pool a transaction
	 * draws from (NULL: [epki]'s), GlobalSign's error of a refused order,
	 * and per pool the orders GlobalSign accepted, counted in the write
	 * that records the order (db_sq_outcome.c), kept when transactions
	 * go. */
	("ALTER TABLE transactions ADD COLUMN licence_pool TEXT;"
	 "ALTER TABLE transactions ADD COLUMN epki_code INTEGER;"
	 "ALTER TABLE transactions ADD COLUMN epki_message TEXT;"
	 "CREATE TABLE licence_counts ("
	 " pool TEXT PRIMARY KEY,"
	 " used INTEGER NOT NULL DEFAULT 0);"),
	/* 10: incarnations of `scepgw serve` and their leases (db/README.md
	 * "Leases"); the incarnation that may order an ORDERING transaction
	 * (NULL once final, and for rows from before), and when a survivor
	 * took it over. AUTOINCREMENT: an incarnation's id is never reused,
	 * even after old rows are pruned. */
	("CREATE TABLE nodes ("
	 " id INTEGER PRIMARY KEY AUTOINCREMENT,"
	 " name TEXT NOT NULL,"
	 " started_at INTEGER NOT NULL,"
	 " lease_until INTEGER NOT NULL,"
	 " config_sha256 BLOB,"
	 " version TEXT);"
	 "ALTER TABLE transactions ADD COLUMN owner INTEGER "
	 "REFERENCES nodes(id);"
	 "ALTER TABLE transactions ADD COLUMN taken_at INTEGER;"
	 "CREATE INDEX transactions_owner ON transactions(owner, id) "
	 "WHERE state = 1;"),
	/* 11: Microsoft Intune (README "Microsoft Intune"): what Intune has
	 * heard of a transaction (db.h enum db_intune, 0 for every row from
	 * before), the DER CSR it validated, kept until the success or
	 * failure notification is recorded, and when a gateway began sending
	 * that notification (db_txn_claim_intune()). */
	("ALTER TABLE transactions ADD COLUMN intune INTEGER NOT NULL "
	 "DEFAULT 0;"
	 "ALTER TABLE transactions ADD COLUMN intune_csr BLOB;"
	 "ALTER TABLE transactions ADD COLUMN intune_claim INTEGER;"
	 "CREATE INDEX transactions_intune ON transactions(id) "
	 "WHERE intune = 1 AND state <> 1;"),
	/* 12: what `scepgw check` compares across live gateways (README
	 * "High availability"): the SHA-256 of the settings that decide an
	 * order, and of the RA certificate (DER), per incarnation. */
	("ALTER TABLE nodes ADD COLUMN order_sha256 BLOB;"
	 "ALTER TABLE nodes ADD COLUMN ra_sha256 BLOB;"),
	/* 13: db_txn_find_csr() (a CSR already recorded under another
	 * transactionID, README "Microsoft Intune") looks up by the CSR's
	 * hash on every Intune request: an index, not a table scan. */
	("CREATE INDEX transactions_csr ON transactions(csr_sha256);"),
	/* 14: console roles (README "Admin web console"): users from before
	 * are NDES page users; and the console's per-hour chart of the last
	 * 24 hours reads transactions by their last change. */
	("ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'ndes' "
	 "CHECK (role IN ('ndes', 'viewer', 'admin'));"
	 "CREATE INDEX transactions_updated ON transactions(updated);"),
	/* 15: a transaction's history: db_sq_event.c. */
	sq_migration_15,
	/* 16: the console's certificate search (README "Admin web
	 * console"), db_cert_search(): newest first (revoked and not_after
	 * in the index too, so that a state is filtered without reading
	 * the rows and their DER), the revoked ones; by CN and by e-mail
	 * address through migration 15's transactions_cn and
	 * transactions_email. And the dashboard's last licence error
	 * (db_licence_last_error()) without reading every transaction, as
	 * PostgreSQL's transactions_epki_code. */
	("CREATE INDEX certificates_issued ON certificates(issued, "
	 "serial_hex, revoked, not_after);"
	 "CREATE INDEX certificates_revoked ON certificates(issued, serial_hex) "
	 "WHERE revoked <> 0;"
	 "CREATE INDEX transactions_epki_code ON transactions(epki_code, "
	 "updated) WHERE epki_code IS NOT NULL;"),
};

#define DB_SCHEMA_LATEST \
	((int)(sizeof(db_migrations) / sizeof(db_migrations[0])))

/* The schema version this program migrates to (db_sq_backup.c compares a
 * backup's with it). */
int
sq_schema_latest(void)
{
	return DB_SCHEMA_LATEST;
}

/* Takes the connection's mutex. */
void
db_lock(struct db *db)
{
	pthread_mutex_lock(&db_sq(db)->mu);
}

/* Releases the connection's mutex. */
void
db_unlock(struct db *db)
{
	pthread_mutex_unlock(&db_sq(db)->mu);
}

/* Sets err to "what: <SQLite's message>"; the caller holds the mutex. */
void
db_err_sql(struct db *db, struct gw_err *err, const char *what)
{
	gw_err_set(err, DB_ERR_SQL, "%s: %s", what,
	    sqlite3_errmsg(db_sq(db)->h));
}

/* Returns a cached statement, ready to bind. */
sqlite3_stmt *
db_stmt(struct db *db, enum db_stmt which)
{
	return db_sq(db)->st[which];
}

/* Resets a cached statement and drops its bindings; accepts NULL. */
void
db_stmt_done(sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Steps a statement that returns no rows. Returns 0 or -1 with err set. */
int
db_step_done(struct db *db, sqlite3_stmt *st, const char *what,
    struct gw_err *err)
{
	int rc = -1;

	if (sqlite3_step(st) != SQLITE_DONE) {
		db_err_sql(db, err, what);
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

/*
 * db_stmt(db, which) with key bound as ?1 and stepped once, for the
 * lookups by a text key. *st is always set; the caller reads the row and
 * ends the statement with db_stmt_done(*st) whatever this returns.
 * Returns 0 with the row ready, 1 when there is none, -1 with err set to
 * "what: <SQLite's message>".
 */
int
db_stmt_find(struct db *db, enum db_stmt which, const char *key,
    const char *what, sqlite3_stmt **st, struct gw_err *err)
{
	int s;

	*st = db_stmt(db, which);
	if (db_bind_text(*st, 1, key) != SQLITE_OK) {
		db_err_sql(db, err, what);
		return -1;
	}
	s = sqlite3_step(*st);
	if (s == SQLITE_DONE)
		return 1;
	if (s != SQLITE_ROW) {
		db_err_sql(db, err, what);
		return -1;
	}
	return 0;
}

/* BEGIN IMMEDIATE: takes the write lock now, so the checks that follow
 * cannot be overtaken by another connection. Returns 0 or -1. */
int
db_begin(struct db *db, struct gw_err *err)
{
	return db_step_done(db, db_stmt(db, DB_ST_BEGIN), "BEGIN", err);
}

/* COMMIT; on failure the transaction is rolled back. Returns 0 or -1. */
int
db_commit(struct db *db, struct gw_err *err)
{
	int rc;

	rc = db_step_done(db, db_stmt(db, DB_ST_COMMIT), "COMMIT", err);
	if (rc != 0)
		db_rollback(db);
	return rc;
}

/* ROLLBACK if a transaction is open; errors are ignored (nothing to undo). */
void
db_rollback(struct db *db)
{
	sqlite3_stmt *st = db_stmt(db, DB_ST_ROLLBACK);

	if (sqlite3_get_autocommit(db_sq(db)->h) == 0)
		sqlite3_step(st);
	db_stmt_done(st);
}

/* Copies a TEXT column (NULL stays NULL) into a malloc'd string. Returns 0,
 * or -1 when out of memory. */
int
db_col_strdup(sqlite3_stmt *st, int col, char **out)
{
	const unsigned char *s;

	*out = NULL;
	s = sqlite3_column_text(st, col);
	if (s == NULL)
		return 0;
	*out = gw_strdup((const char *)s);
	return *out == NULL ? -1 : 0;
}

/* Copies a BLOB column into malloc'd memory (*out NULL when the column is
 * NULL or empty). Returns 0, or -1 when out of memory. */
int
db_col_blobdup(sqlite3_stmt *st, int col, uint8_t **out, size_t *len)
{
	const void *p;
	int n;

	*out = NULL;
	*len = 0;
	p = sqlite3_column_blob(st, col);
	n = sqlite3_column_bytes(st, col);
	if (p == NULL || n <= 0)
		return 0;
	if ((*out = malloc((size_t)n)) == NULL)
		return -1;
	memcpy(*out, p, (size_t)n);
	*len = (size_t)n;
	return 0;
}

/* Binds a C string, or NULL when s is NULL. Returns an SQLite code. */
int
db_bind_text(sqlite3_stmt *st, int idx, const char *s)
{
	if (s == NULL)
		return sqlite3_bind_null(st, idx);
	return sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT);
}

/* Runs one statement that returns no rows, outside the cache. */
static int
db_exec(struct db *db, const char *sql, struct gw_err *err)
{
	char *msg = NULL;
	int rc = -1;

	if (sqlite3_exec(db_sq(db)->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		gw_err_set(err, DB_ERR_SQL, "%.60s: %s", sql,
		    msg != NULL ? msg : sqlite3_errmsg(db_sq(db)->h));
		goto out;
	}
	rc = 0;
out:
	sqlite3_free(msg);
	return rc;
}

/* Reads PRAGMA user_version into *v. Returns 0 or -1. */
static int
db_user_version(struct db *db, int *v, struct gw_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db_sq(db)->h, "PRAGMA user_version", -1, &st,
		NULL) != SQLITE_OK) {
		db_err_sql(db, err, "user_version");
		goto out;
	}
	if (sqlite3_step(st) != SQLITE_ROW) {
		db_err_sql(db, err, "user_version");
		goto out;
	}
	*v = sqlite3_column_int(st, 0);
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/*
 * Brings the schema to DB_SCHEMA_LATEST inside one write transaction, so
 * two processes opening a new file at once cannot both migrate it.
 */
static int
db_migrate(struct db *db, struct gw_err *err)
{
	char sql[64];
	int v = 0, rc = -1;

	if (db_exec(db, "BEGIN IMMEDIATE", err) != 0)
		goto out;
	if (db_user_version(db, &v, err) != 0)
		goto err;
	if (v < 0 || v > DB_SCHEMA_LATEST) {
		gw_err_set(err, DB_ERR_SCHEMA,
		    "database schema version %d; this program knows 0..%d", v,
		    DB_SCHEMA_LATEST);
		goto err;
	}
	for (; v < DB_SCHEMA_LATEST; v++) {
		if (db_exec(db, db_migrations[v], err) != 0)
			goto err;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (db_exec(db, sql, err) != 0)
			goto err;
	}
	if (db_exec(db, "COMMIT", err) != 0)
		goto err;
	rc = 0;
	goto out;
err:
	db_exec(db, "ROLLBACK", NULL);
out:
	return rc;
}

#ifndef DB_SYNCHRONOUS
#define DB_SYNCHRONOUS "FULL"
#endif

/*
 * Sets the connection up. WAL lets readers run beside the one writer.
 * synchronous=FULL, not NORMAL: in WAL mode NORMAL may lose the last
 * commits on power loss (the file stays consistent, but rolls back). Here
 * a lost commit is a consumed challenge or a recorded order that vanishes,
 * so a paid licence could be ordered twice or an issued certificate lost.
 * FULL syncs the WAL at every commit; that one fsync is small next to the
 * seconds an upstream order takes. DB_SYNCHRONOUS exists only so that a
 * benchmark build can measure NORMAL (-DDB_SYNCHRONOUS=\"NORMAL\"); no
 * release build sets it.
 */
static int
db_configure(struct db *db, struct gw_err *err)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *mode;
	int rc = -1;

	if (sqlite3_busy_timeout(db_sq(db)->h, DB_BUSY_MS) != SQLITE_OK) {
		db_err_sql(db, err, "busy_timeout");
		goto out;
	}
	if (sqlite3_prepare_v2(db_sq(db)->h, "PRAGMA journal_mode = WAL", -1,
		&st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		db_err_sql(db, err, "journal_mode");
		goto out;
	}
	mode = sqlite3_column_text(st, 0);
	if (mode == NULL || strcmp((const char *)mode, "wal") != 0) {
		gw_err_set(err, DB_ERR_SQL, "journal_mode: cannot enable WAL");
		goto out;
	}
	if (db_exec(db, "PRAGMA synchronous = " DB_SYNCHRONOUS, err) != 0 ||
	    db_exec(db, "PRAGMA foreign_keys = ON", err) != 0)
		goto out;
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* Prepares every statement of DB_STMTS for the connection's life. */
static int
db_prepare_all(struct db *db, struct gw_err *err)
{
	int i;

	for (i = 0; i < DB_ST__MAX; i++) {
		if (sqlite3_prepare_v3(db_sq(db)->h, db_stmt_sql[i], -1,
			SQLITE_PREPARE_PERSISTENT, &db_sq(db)->st[i],
			NULL) != SQLITE_OK) {
			db_err_sql(db, err, "prepare");
			return -1;
		}
	}
	return 0;
}

/* Creates the file with mode 0600 if it does not exist yet, so the
 * database (and the -wal/-shm files SQLite derives from its mode) is never
 * readable by others. */
static int
db_file_create(const char *path, struct gw_err *err)
{
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1) {
		gw_err_set(err, DB_ERR_SQL, "%s: %s", path, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * Checks the database file before `serve` opens it (README "Privileges"):
 * a regular file, not a symbolic link, owned by the user serve runs as
 * and readable by nobody else (it holds the NDES users' scrypt hashes and
 * every CSR). A file that does not exist yet is fine: db_open() creates it
 * with mode 0600. Returns 0, or -1 with err saying what to run.
 */
int
db_file_check(const char *path, struct gw_err *err)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT)
		return 0;
	if (fd == -1) {
		gw_err_set(err, DB_ERR_SQL, "%s: %s", path,
		    errno == ELOOP ? "a symbolic link; name the file itself" :
				     strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		gw_err_set(err, DB_ERR_SQL, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	if (!S_ISREG(st.st_mode)) {
		gw_err_set(err, DB_ERR_SQL, "%s: not a regular file", path);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		gw_err_set(err, DB_ERR_SQL,
		    "%s: owned by uid %lu, not by uid %lu that serve runs as; "
		    "run chown to that user",
		    path, (unsigned long)st.st_uid, (unsigned long)geteuid());
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		gw_err_set(err, DB_ERR_SQL,
		    "%s: mode %03o lets group or others at it; run chmod 600 %s",
		    path, (unsigned)(st.st_mode & 0777), path);
		return -1;
	}
	return 0;
}

/*
 * A read-only handle (db_open_readonly()): the file must exist and be at
 * this program's schema version, since migrating would change it; query_only
 * refuses any write on the connection, whatever a caller tries.
 */
static int
db_readonly_check(struct db *db, struct gw_err *err)
{
	int v = 0;

	if (sqlite3_busy_timeout(db_sq(db)->h, DB_BUSY_MS) != SQLITE_OK) {
		db_err_sql(db, err, "busy_timeout");
		return -1;
	}
	if (db_exec(db, "PRAGMA query_only = 1", err) != 0 ||
	    db_user_version(db, &v, err) != 0)
		return -1;
	if (v != DB_SCHEMA_LATEST) {
		gw_err_set(err, DB_ERR_SCHEMA,
		    "database schema version %d, this program's is %d; "
		    "open it once with this version (e.g. scepgw cert list) "
		    "to upgrade it first",
		    v, DB_SCHEMA_LATEST);
		return -1;
	}
	return 0;
}

/*
 * Opens (creating if needed) the database file o->path, migrates it to the
 * latest schema and prepares the statements; sets db->impl. With
 * o->readonly the file is opened read-only instead, neither created nor
 * migrated. On failure err says why and db_close() frees what was made
 * (sq_close()).
 */
int
sq_open(struct db *db, const struct db_open_opts *o, struct gw_err *err)
{
	struct db_sq *sq;
	int flags;

	if (!o->readonly && db_file_create(o->path, err) != 0)
		return -1;
	if ((sq = calloc(1, sizeof(*sq))) == NULL) {
		gw_err_set(err, DB_ERR_SQL, "out of memory");
		return -1;
	}
	if (pthread_mutex_init(&sq->mu, NULL) != 0) {
		gw_err_set(err, DB_ERR_SQL, "pthread_mutex_init failed");
		free(sq);
		return -1;
	}
	sq->lock_fd = -1;
	sq->readonly = o->readonly;
	db->impl = sq;
	if ((sq->path = gw_strdup(o->path)) == NULL) {
		gw_err_set(err, DB_ERR_SQL, "out of memory");
		return -1;
	}
	/*
	 * Our mutex already serialises every call (multi-statement SQL
	 * transactions need that); FULLMUTEX keeps SQLite safe even if a
	 * future function forgets to take it.
	 */
	flags = (o->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
	    SQLITE_OPEN_FULLMUTEX;
	if (sqlite3_open_v2(o->path, &sq->h, flags, NULL) != SQLITE_OK) {
		if (sq->h == NULL)
			gw_err_set(err, DB_ERR_SQL, "%s: out of memory",
			    o->path);
		else
			db_err_sql(db, err, o->path);
		return -1;
	}
	sqlite3_extended_result_codes(sq->h, 1);
	if (o->readonly)
		return db_readonly_check(db, err) != 0 ||
			db_prepare_all(db, err) != 0 ?
		    -1 :
		    0;
	if (db_configure(db, err) != 0 || db_migrate(db, err) != 0 ||
	    db_prepare_all(db, err) != 0)
		return -1;
	return 0;
}

/* Finalizes the statements and closes the connection; accepts a handle
 * whose sq_open() failed. */
void
sq_close(struct db *db)
{
	struct db_sq *sq = db_sq(db);
	int i;

	if (sq == NULL)
		return;
	for (i = 0; i < DB_ST__MAX; i++)
		sqlite3_finalize(sq->st[i]);
	sqlite3_close(sq->h);
	if (sq->lock_fd != -1)
		close(
		    sq->lock_fd); /* after the connection: releases the lock */
	free(sq->path);
	pthread_mutex_destroy(&sq->mu);
	free(sq);
	db->impl = NULL;
}

/* The schema version (PRAGMA user_version), or -1 on error. */
int
sq_schema_version(struct db *db)
{
	int v = -1;

	db_lock(db);
	if (db_user_version(db, &v, NULL) != 0)
		v = -1;
	db_unlock(db);
	return v;
}

/*
 * Steps a bound statement to the end, copying each row into r with read.
 * The caller holds the mutex; the statement is reset here. Returns 0 or
 * -1 with err set.
 */
int
db_rows_load(struct db *db, sqlite3_stmt *st, struct db_rows *r,
    db_row_read_fn *read, const char *what, struct gw_err *err)
{
	void *p;
	int s, rc = -1;

	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if ((p = db_rows_next(r)) == NULL || read(st, p) != 0) {
			gw_err_set(err, DB_ERR_SQL, "%s: out of memory", what);
			goto out;
		}
	}
	if (s != SQLITE_DONE) {
		db_err_sql(db, err, what);
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

static const struct db_backend db_sq_ops = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.schema_version = sq_schema_version,
	.serve_lock = sq_serve_lock,
	.exec_batch = sq_exec_batch,
	.txn_get = sq_txn_get,
	.txn_find_csr = sq_txn_find_csr,
	.challenge_find = sq_challenge_find,
	.cert_get = sq_cert_get,
	.cert_renewal = sq_cert_renewal,
	.user_get = sq_user_get,
	.user_profiles = sq_user_profiles,
	.challenge_list = sq_challenge_list,
	.challenge_list_state = sq_challenge_list_state,
	.challenge_outstanding = sq_challenge_outstanding,
	.txn_list = sq_txn_list,
	.txn_search = sq_txn_search,
	.event_list = sq_event_list,
	.event_refused = sq_event_refused,
	.event_prune = sq_event_prune,
	.txn_count = sq_txn_count,
	.txn_hourly = sq_txn_hourly,
	.licence_used = sq_licence_used,
	.licence_last_error = sq_licence_last_error,
	.txn_list_unfinished = sq_txn_list_unfinished,
	.txn_list_intune = sq_txn_list_intune,
	.txn_set_intune = sq_txn_set_intune,
	.txn_claim_intune = sq_txn_claim_intune,
	.cert_list = sq_cert_list,
	.cert_search = sq_cert_search,
	.user_list = sq_user_list,
	.challenge_put = sq_challenge_put,
	.challenge_put_capped = sq_challenge_put_capped,
	.challenge_revoke = sq_challenge_revoke,
	.txn_archive = sq_txn_archive,
	.cert_set_revoked = sq_cert_set_revoked,
	.user_put = sq_user_put,
	.user_set_profiles = sq_user_set_profiles,
	.user_remove = sq_user_remove,
	.user_set_role = sq_user_set_role,
	.node_register = sq_node_register,
	.node_renew = sq_node_renew,
	.node_release = sq_node_release,
	.node_list = sq_node_list,
	.node_set_marks = sq_node_set_marks,
	.txn_claim_orphans = sq_txn_claim_orphans,
	.txn_list_owned = sq_txn_list_owned,
	.copy_describe = sq_copy_describe,
	.copy_out = sq_copy_out,
	.copy_snapshot = sq_copy_snapshot,
};

/* The SQLite backend: one file in WAL mode (the default, [db] path). */
const struct db_backend *
db_sq_backend(void)
{
	return &db_sq_ops;
}
