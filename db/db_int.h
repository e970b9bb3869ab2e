/*
 * Private to db/: the connection, its mutex, and the cached prepared
 * statements. Every statement is named once in DB_STMTS, so db.c can
 * prepare them all at open and finalize them all at close.
 */
#ifndef GW_DB_INT_H
#define GW_DB_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "gw_err.h"

#define DB_TXN_COLS                                                         \
	"id, txid, csr_sha256, state, created, updated, challenge_id, cn, " \
	"email, ou, csr_pem, order_id, cert_der, fail_info, fail_text, "    \
	"profile, key_sha256, renews, upn"

#define DB_STMTS(X)                                                              \
	X(BEGIN, "BEGIN IMMEDIATE")                                              \
	X(COMMIT, "COMMIT")                                                      \
	X(ROLLBACK, "ROLLBACK")                                                  \
	X(SAVEPOINT, "SAVEPOINT w")                                              \
	X(RELEASE, "RELEASE w")                                                  \
	X(ROLLBACK_TO, "ROLLBACK TO w")                                          \
	X(CH_PUT,                                                                \
	    "INSERT INTO challenges(hash, created, expires, cn, "                \
	    "email, ou, profile, upn) "                                          \
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")                           \
	X(CH_REVOKE, "UPDATE challenges SET revoked = 1 WHERE id = ?1")          \
	X(CH_LIST,                                                               \
	    "SELECT id, created, expires, used, revoked, cn, email, "            \
	    "ou, txid, upn FROM challenges ORDER BY id")                         \
	X(CH_FIND,                                                               \
	    "SELECT id, expires, used, revoked, cn, email, ou, profile, upn "    \
	    "FROM challenges WHERE hash = ?1")                                   \
	X(CH_TAKE,                                                               \
	    "UPDATE challenges SET used = ?1, txid = ?2 "                        \
	    "WHERE id = ?3 AND used = 0")                                        \
	X(TX_GET, "SELECT " DB_TXN_COLS " FROM transactions WHERE txid = ?1")    \
	X(TX_LIST,                                                               \
	    "SELECT " DB_TXN_COLS " FROM transactions "                          \
	    "WHERE state = 1 ORDER BY id")                                       \
	X(TX_PUT,                                                                \
	    "INSERT INTO transactions(txid, csr_sha256, state, "                 \
	    "created, updated, challenge_id, cn, email, ou, csr_pem, "           \
	    "profile, key_sha256, renews, upn) "                                 \
	    "VALUES (?1, ?2, 1, ?3, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)") \
	X(TX_SUCCESSOR,                                                          \
	    "SELECT txid FROM transactions "                                     \
	    "WHERE renews = ?1 AND state IN (1, 2) ORDER BY id LIMIT 1")         \
	X(TX_RENAME,                                                             \
	    "UPDATE transactions SET txid = ?2 "                                 \
	    "WHERE txid = ?1 AND state IN (2, 3)")                               \
	X(CERT_RENAME, "UPDATE certificates SET txid = ?2 WHERE txid = ?1")      \
	X(DEFER_FK, "PRAGMA defer_foreign_keys = ON")                            \
	X(TX_ORDER,                                                              \
	    "UPDATE transactions SET order_id = ?1, updated = ?2 "               \
	    "WHERE txid = ?3 AND state = 1")                                     \
	X(TX_ISSUED,                                                             \
	    "UPDATE transactions SET state = 2, "                                \
	    "order_id = COALESCE(?1, order_id), cert_der = ?2, "                 \
	    "csr_pem = NULL, updated = ?3 "                                      \
	    "WHERE txid = ?4 AND state = 1")                                     \
	X(TX_FAILED,                                                             \
	    "UPDATE transactions SET state = 3, fail_info = ?1, "                \
	    "fail_text = ?2, csr_pem = NULL, updated = ?3 "                      \
	    "WHERE txid = ?4 AND state = 1")                                     \
	X(CERT_PUT,                                                              \
	    "INSERT INTO certificates(serial_hex, order_id, txid, "              \
	    "subject, cert_der, issued, not_after) "                             \
	    "VALUES (?1, COALESCE(?2, (SELECT order_id FROM transactions "       \
	    "WHERE txid = ?3)), ?3, ?4, ?5, ?6, ?7)")                            \
	X(CERT_LIST,                                                             \
	    "SELECT serial_hex, order_id, txid, subject, issued, "               \
	    "not_after, revoked, revoke_reason FROM certificates "               \
	    "ORDER BY issued, serial_hex")                                       \
	X(CERT_GET,                                                              \
	    "SELECT serial_hex, order_id, txid, subject, issued, "               \
	    "not_after, revoked, revoke_reason, cert_der FROM certificates "     \
	    "WHERE serial_hex = ?1")                                             \
	X(CERT_RENEWAL,                                                          \
	    "SELECT c.serial_hex, c.order_id, c.txid, c.subject, c.issued, "     \
	    "c.not_after, c.revoked, c.revoke_reason, c.cert_der, t.state, "     \
	    "t.profile, (SELECT s.txid FROM transactions s "                     \
	    "WHERE s.renews = c.serial_hex AND s.state IN (1, 2) "               \
	    "ORDER BY s.id LIMIT 1), t.ou FROM certificates c "                  \
	    "LEFT JOIN transactions t ON t.txid = c.txid "                       \
	    "WHERE c.serial_hex = ?1")                                           \
	X(CERT_REVOKE,                                                           \
	    "UPDATE certificates SET revoked = ?1, revoke_reason = ?2 "          \
	    "WHERE serial_hex = ?3 AND revoked = 0")                             \
	X(CH_LIST_STATE,                                                         \
	    "SELECT id, created, expires, used, revoked, cn, email, "            \
	    "ou, txid, upn FROM challenges WHERE ?1 = 0 "                        \
	    "OR (?1 = 1 AND revoked = 0 AND used = 0 AND expires > ?2) "         \
	    "OR (?1 = 2 AND revoked = 0 AND used != 0) "                         \
	    "OR (?1 = 3 AND revoked = 0 AND used = 0 AND expires <= ?2) "        \
	    "OR (?1 = 4 AND revoked = 1) ORDER BY id DESC LIMIT ?3")             \
	X(CH_OUTSTANDING,                                                        \
	    "SELECT count(*) FROM challenges "                                   \
	    "WHERE expires > ?1 AND used = 0 AND revoked = 0")                   \
	X(CH_PUT_CAPPED,                                                         \
	    "INSERT INTO challenges(hash, created, expires, profile) "           \
	    "SELECT ?1, ?2, ?3, ?5 WHERE (SELECT count(*) FROM challenges "      \
	    "WHERE expires > ?2 AND used = 0 AND revoked = 0) < ?4")             \
	X(TX_LIST_FILTER,                                                        \
	    "SELECT id, txid, state, created, updated, cn, email, ou, "          \
	    "order_id, fail_info, fail_text, upn FROM transactions "             \
	    "WHERE (?1 = 0 OR state = ?1) AND (?2 IS NULL OR cn = ?2) "          \
	    "ORDER BY id DESC LIMIT ?3")                                         \
	X(TX_COUNT, "SELECT state, count(*) FROM transactions GROUP BY state")   \
	X(CERT_FIND,                                                             \
	    "SELECT c.serial_hex, c.order_id, c.txid, c.subject, c.issued, "     \
	    "c.not_after, c.revoked, c.revoke_reason FROM certificates c "       \
	    "LEFT JOIN transactions t ON t.txid = c.txid "                       \
	    "WHERE (?1 IS NULL OR c.serial_hex = ?1) "                           \
	    "AND (?2 IS NULL OR t.cn = ?2) "                                     \
	    "ORDER BY c.issued DESC, c.serial_hex LIMIT ?3")                     \
	X(USER_PUT,                                                              \
	    "INSERT INTO users(name, kdf, kdf_n, kdf_r, kdf_p, salt, hash, "     \
	    "can_issue, created, profiles) VALUES (?1, 'scrypt', ?2, ?3, ?4, "   \
	    "?5, ?6, ?7, ?8, ?9)")                                               \
	X(USER_PROFILES, "SELECT profiles FROM users WHERE name = ?1")           \
	X(USER_SET_PROFILES, "UPDATE users SET profiles = ?1 WHERE name = ?2")   \
	X(USER_GET,                                                              \
	    "SELECT kdf_n, kdf_r, kdf_p, salt, hash, can_issue FROM users "      \
	    "WHERE name = ?1")                                                   \
	X(USER_DEL, "DELETE FROM users WHERE name = ?1")                         \
	X(USER_LIST,                                                             \
	    "SELECT name, can_issue, created, kdf, kdf_n, kdf_r, kdf_p, "        \
	    "profiles FROM users ORDER BY name")

enum db_stmt {
#define DB_STMT_ENUM(name, sql) DB_ST_##name,
	DB_STMTS(DB_STMT_ENUM)
#undef DB_STMT_ENUM
	    DB_ST__MAX
};

/*
 * One queued write of db_batch.c. fn runs on the leading thread with
 * db->mu held, inside a savepoint, and returns DB_WRITE_KEEP,
 * DB_WRITE_UNDO (roll my part back, not an error) or -1 (error in err,
 * rolled back).
 */
#define DB_WRITE_KEEP 0
#define DB_WRITE_UNDO 1
struct db_write;
typedef int db_write_fn(struct db *db, void *arg, struct gw_err *err);
typedef void db_write_done_fn(struct db_write *j, int rc,
    const struct gw_err *err);
struct db_write {
	db_write_fn *fn;
	void *arg;
	db_write_done_fn *done; /* NULL: a caller waits in db_write_run() */
	struct gw_err err;
	int rc;
	bool finished; /* under qmu: the waiting caller may return */
	bool lead;     /* under qmu: the waiting caller leads next */
	struct db_write *next;
};

struct db {
	sqlite3 *h;		      /* the one connection */
	pthread_mutex_t mu;	      /* serialises every use of h */
	sqlite3_stmt *st[DB_ST__MAX]; /* prepared once, reset after use */
	/* Group commit (db_batch.c); all under qmu. */
	pthread_mutex_t qmu;
	pthread_cond_t qdone;	/* a batch was committed, or a lead passed */
	struct db_write *qhead; /* waiting for the next batch */
	struct db_write **qtail;
	uint64_t qbatches;    /* batches run (commits attempted) */
	uint64_t qwrites;     /* writes they held */
	bool qleader;	      /* a thread is running batches */
	pthread_t qowner;     /* that thread */
	pthread_cond_t qwork; /* the writer: submitted jobs wait, no leader */
	pthread_t writer;     /* leads for db_write_submit() callers */
	bool writer_started;
	bool writer_stop;
};

int db_write_run(struct db *db, db_write_fn *fn, void *arg, struct gw_err *err);
int db_write_submit(struct db *db, struct db_write *j, struct gw_err *err);
void db_writer_stop(struct db *db);

/* Helpers shared by the db_*.c files; the caller holds db->mu. */
sqlite3_stmt *db_stmt(struct db *db, enum db_stmt which);
void db_stmt_done(sqlite3_stmt *st);
void db_err_sql(struct db *db, struct gw_err *err, const char *what);
int db_begin(struct db *db, struct gw_err *err);
int db_commit(struct db *db, struct gw_err *err);
void db_rollback(struct db *db);
int db_step_done(struct db *db, sqlite3_stmt *st, const char *what,
    struct gw_err *err);
int db_stmt_find(struct db *db, enum db_stmt which, const char *key,
    const char *what, sqlite3_stmt **st, struct gw_err *err);
int db_col_strdup(sqlite3_stmt *st, int col, char **out);
int db_col_blobdup(sqlite3_stmt *st, int col, uint8_t **out, size_t *len);
int db_bind_text(sqlite3_stmt *st, int idx, const char *s);
void db_lock(struct db *db);

/*
 * Lists: rows are copied out under the lock into a growable array, and
 * the caller's callback runs after the lock is released, so it may call
 * other db functions. read copies the current row into a zeroed element
 * (0, or -1 without memory, leaving what cleanup frees).
 */
typedef int db_row_read_fn(sqlite3_stmt *st, void *p);
typedef void db_row_cleanup_fn(void *p);
struct db_rows {
	unsigned char *v;
	size_t n;
	size_t cap;
	size_t size; /* bytes per element */
	db_row_cleanup_fn *cleanup;
};
int db_rows_load(struct db *db, sqlite3_stmt *st, struct db_rows *r,
    db_row_read_fn *read, const char *what, struct gw_err *err);
void db_rows_cleanup(struct db_rows *r);
void db_unlock(struct db *db);

/* Reads a row of DB_TXN_COLS into *t (db_txn.c). Returns 0 or -1. */
struct db_txn;
int db_txn_row_read(sqlite3_stmt *st, struct db_txn *t);

#endif
