/*
 * Private to the SQLite backend (db_sq_*.c): the connection, its mutex,
 * and the cached prepared statements. Every statement is named once in
 * DB_STMTS, so db_sq_open.c can prepare them all at open and finalize
 * them all at close.
 */
#ifndef GW_DB_SQ_INT_H
#define GW_DB_SQ_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "gw_err.h"
#include "db_int.h"

#define DB_TXN_COLS                                                         \
	"id, txid, csr_sha256, state, created, updated, challenge_id, cn, " \
	"email, ou, csr_pem, order_id, cert_der, fail_info, fail_text, "    \
	"profile, key_sha256, renews, upn, licence_pool, epki_code, "       \
	"epki_message, owner, taken_at, intune, intune_csr, intune_claim"

/* The database's clock, unix seconds (one value per statement). */
#define DB_SQ_NOW "CAST(strftime('%s', 'now') AS INTEGER)"

#define DB_STMTS(X)                                                               \
	X(BEGIN, "BEGIN IMMEDIATE")                                               \
	X(COMMIT, "COMMIT")                                                       \
	X(ROLLBACK, "ROLLBACK")                                                   \
	X(SAVEPOINT, "SAVEPOINT w")                                               \
	X(RELEASE, "RELEASE w")                                                   \
	X(ROLLBACK_TO, "ROLLBACK TO w")                                           \
	X(CH_PUT,                                                                 \
	    "INSERT INTO challenges(hash, created, expires, cn, "                 \
	    "email, ou, profile, upn) "                                           \
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")                            \
	X(CH_REVOKE, "UPDATE challenges SET revoked = 1 WHERE id = ?1")           \
	X(CH_LIST,                                                                \
	    "SELECT id, created, expires, used, revoked, cn, email, "             \
	    "ou, txid, upn FROM challenges ORDER BY id")                          \
	X(CH_FIND,                                                                \
	    "SELECT id, expires, used, revoked, cn, email, ou, profile, upn "     \
	    "FROM challenges WHERE hash = ?1")                                    \
	X(CH_TAKE,                                                                \
	    "UPDATE challenges SET used = ?1, txid = ?2 "                         \
	    "WHERE id = ?3 AND used = 0")                                         \
	X(TX_GET, "SELECT " DB_TXN_COLS " FROM transactions WHERE txid = ?1")     \
	X(TX_LIST,                                                                \
	    "SELECT " DB_TXN_COLS " FROM transactions "                           \
	    "WHERE state = 1 ORDER BY id")                                        \
	X(TX_PUT,                                                                 \
	    "INSERT INTO transactions(txid, csr_sha256, state, "                  \
	    "created, updated, challenge_id, cn, email, ou, csr_pem, "            \
	    "profile, key_sha256, renews, upn, licence_pool, owner, intune, "     \
	    "intune_csr) "                                                        \
	    "VALUES (?1, ?2, 1, ?3, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "  \
	    "?13, ?14, ?15, ?16)")                                                \
	X(TX_SUCCESSOR,                                                           \
	    "SELECT txid FROM transactions "                                      \
	    "WHERE renews = ?1 AND state IN (1, 2) ORDER BY id LIMIT 1")          \
	X(TX_RENAME,                                                              \
	    "UPDATE transactions SET txid = ?2 "                                  \
	    "WHERE txid = ?1 AND state IN (2, 3)")                                \
	X(CERT_RENAME, "UPDATE certificates SET txid = ?2 WHERE txid = ?1")       \
	X(DEFER_FK, "PRAGMA defer_foreign_keys = ON")                             \
	X(TX_ORDER,                                                               \
	    "UPDATE transactions SET order_id = ?1, updated = ?2 "                \
	    "WHERE txid = ?3 AND state = 1")                                      \
	X(TX_ISSUED,                                                              \
	    "UPDATE transactions SET state = 2, "                                 \
	    "order_id = COALESCE(?1, order_id), cert_der = ?2, "                  \
	    "csr_pem = NULL, updated = ?3, owner = NULL "                         \
	    "WHERE txid = ?4 AND state = 1")                                      \
	X(TX_FAILED,                                                              \
	    "UPDATE transactions SET state = 3, fail_info = ?1, "                 \
	    "fail_text = ?2, csr_pem = NULL, updated = ?3, epki_code = ?5, "      \
	    "epki_message = ?6, owner = NULL WHERE txid = ?4 AND state = 1")      \
	X(LIC_COUNT,                                                              \
	    "INSERT INTO licence_counts(pool, used) "                             \
	    "SELECT COALESCE(licence_pool, 'epki'), 1 FROM transactions "         \
	    "WHERE txid = ?1 AND state = 1 AND order_id IS NULL "                 \
	    "ON CONFLICT(pool) DO UPDATE SET used = used + 1")                    \
	X(LIC_USED, "SELECT used FROM licence_counts WHERE pool = ?1")            \
	X(LIC_LAST_ERROR,                                                         \
	    "SELECT updated, epki_message FROM transactions "                     \
	    "WHERE epki_code = ?1 ORDER BY updated DESC, id DESC LIMIT 1")        \
	X(CERT_PUT,                                                               \
	    "INSERT INTO certificates(serial_hex, order_id, txid, "               \
	    "subject, cert_der, issued, not_after) "                              \
	    "VALUES (?1, COALESCE(?2, (SELECT order_id FROM transactions "        \
	    "WHERE txid = ?3)), ?3, ?4, ?5, ?6, ?7)")                             \
	X(CERT_LIST,                                                              \
	    "SELECT serial_hex, order_id, txid, subject, issued, "                \
	    "not_after, revoked, revoke_reason FROM certificates "                \
	    "ORDER BY issued, serial_hex")                                        \
	X(CERT_GET,                                                               \
	    "SELECT serial_hex, order_id, txid, subject, issued, "                \
	    "not_after, revoked, revoke_reason, cert_der FROM certificates "      \
	    "WHERE serial_hex = ?1")                                              \
	X(CERT_RENEWAL,                                                           \
	    "SELECT c.serial_hex, c.order_id, c.txid, c.subject, c.issued, "      \
	    "c.not_after, c.revoked, c.revoke_reason, c.cert_der, t.state, "      \
	    "t.profile, (SELECT s.txid FROM transactions s "                      \
	    "WHERE s.renews = c.serial_hex AND s.state IN (1, 2) "                \
	    "ORDER BY s.id LIMIT 1), t.ou FROM certificates c "                   \
	    "LEFT JOIN transactions t ON t.txid = c.txid "                        \
	    "WHERE c.serial_hex = ?1")                                            \
	X(CERT_REVOKE,                                                            \
	    "UPDATE certificates SET revoked = ?1, revoke_reason = ?2 "           \
	    "WHERE serial_hex = ?3 AND revoked = 0")                              \
	X(CH_LIST_STATE,                                                          \
	    "SELECT id, created, expires, used, revoked, cn, email, "             \
	    "ou, txid, upn, profile FROM challenges WHERE id < ?4 AND (?1 = 0 "   \
	    "OR (?1 = 1 AND revoked = 0 AND used = 0 AND expires > ?2) "          \
	    "OR (?1 = 2 AND revoked = 0 AND used != 0) "                          \
	    "OR (?1 = 3 AND revoked = 0 AND used = 0 AND expires <= ?2) "         \
	    "OR (?1 = 4 AND revoked = 1)) ORDER BY id DESC LIMIT ?3")             \
	X(CH_OUTSTANDING,                                                         \
	    "SELECT count(*) FROM challenges "                                    \
	    "WHERE expires > ?1 AND used = 0 AND revoked = 0")                    \
	X(CH_PUT_CAPPED,                                                          \
	    "INSERT INTO challenges(hash, created, expires, profile) "            \
	    "SELECT ?1, ?2, ?3, ?5 WHERE (SELECT count(*) FROM challenges "       \
	    "WHERE expires > ?2 AND used = 0 AND revoked = 0) < ?4")              \
	X(TX_LIST_FILTER,                                                         \
	    "SELECT id, txid, state, created, updated, cn, email, ou, "           \
	    "order_id, fail_info, fail_text, upn, epki_code, epki_message "       \
	    "FROM transactions "                                                  \
	    "WHERE (?1 = 0 OR state = ?1) AND (?2 IS NULL OR cn = ?2) "           \
	    "ORDER BY id DESC LIMIT ?3")                                          \
	X(TX_LIST_CN,                                                             \
	    "SELECT id, txid, state, created, updated, cn, email, ou, "           \
	    "order_id, fail_info, fail_text, upn, epki_code, epki_message "       \
	    "FROM transactions INDEXED BY transactions_cn "                       \
	    "WHERE cn = ?2 AND (?1 = 0 OR state = ?1) "                           \
	    "ORDER BY id DESC LIMIT ?3")                                          \
	X(TX_COUNT, "SELECT state, count(*) FROM transactions GROUP BY state")    \
	X(USER_PUT,                                                               \
	    "INSERT INTO users(name, kdf, kdf_n, kdf_r, kdf_p, salt, hash, "      \
	    "can_issue, created, profiles, role) VALUES (?1, 'scrypt', ?2, ?3, "  \
	    "?4, ?5, ?6, ?7, ?8, ?9, ?10)")                                       \
	X(USER_PROFILES, "SELECT profiles FROM users WHERE name = ?1")            \
	X(USER_SET_PROFILES, "UPDATE users SET profiles = ?1 WHERE name = ?2")    \
	X(USER_GET,                                                               \
	    "SELECT kdf_n, kdf_r, kdf_p, salt, hash, can_issue, role FROM users " \
	    "WHERE name = ?1")                                                    \
	X(USER_SET_ROLE,                                                          \
	    "UPDATE users SET role = ?1, can_issue = CASE WHEN ?1 = 'ndes' "      \
	    "THEN can_issue ELSE 0 END WHERE name = ?2")                          \
	/* "+state": the last day through transactions_updated, not               \
	 * transactions_state (nearly every row), which SQLite picks              \
	 * without statistics (tests/bench/README.md "Console pages") */          \
	X(TX_HOURLY,                                                              \
	    "SELECT (updated - ?1) / 3600, state, count(*) FROM transactions "    \
	    "WHERE updated >= ?1 AND +state IN (2, 3) GROUP BY 1, 2")             \
	X(USER_DEL, "DELETE FROM users WHERE name = ?1")                          \
	X(USER_LIST,                                                              \
	    "SELECT name, can_issue, created, kdf, kdf_n, kdf_r, kdf_p, "         \
	    "profiles, role FROM users ORDER BY name")                            \
	X(NODE_PRUNE,                                                             \
	    "DELETE FROM nodes WHERE lease_until < " DB_SQ_NOW " - 86400 "        \
	    "AND NOT EXISTS (SELECT 1 FROM transactions "                         \
	    "WHERE owner = nodes.id)")                                            \
	X(NODE_ADD,                                                               \
	    "INSERT INTO nodes(name, started_at, lease_until, config_sha256, "    \
	    "version) VALUES (?1, " DB_SQ_NOW ", " DB_SQ_NOW " + ?2, ?3, ?4)")    \
	X(NODE_RENEW,                                                             \
	    "UPDATE nodes SET lease_until = " DB_SQ_NOW " + ?2 "                  \
	    "WHERE id = ?1 AND lease_until > " DB_SQ_NOW)                         \
	X(NODE_RELEASE,                                                           \
	    "UPDATE nodes SET lease_until = " DB_SQ_NOW " - ?2 "                  \
	    "WHERE id = ?1 AND lease_until > " DB_SQ_NOW " - ?2")                 \
	X(NODE_LIST,                                                              \
	    "SELECT id, name, started_at, lease_until, version, " DB_SQ_NOW       \
	    ", order_sha256, ra_sha256 FROM nodes ORDER BY id DESC")              \
	X(NODE_MARKS,                                                             \
	    "UPDATE nodes SET order_sha256 = ?2, ra_sha256 = ?3 WHERE id = ?1")   \
	X(TX_ORPHANS,                                                             \
	    "SELECT " DB_TXN_COLS ", " DB_SQ_NOW " FROM transactions "            \
	    "WHERE state = 1 AND (owner IS NULL OR (owner <> ?1 AND (?3 "         \
	    "OR owner IN (SELECT id FROM nodes WHERE lease_until < " DB_SQ_NOW    \
	    " - ?2)))) ORDER BY id LIMIT ?4")                                     \
	X(TX_CLAIM,                                                               \
	    "UPDATE transactions SET owner = ?1, taken_at = ?3 "                  \
	    "WHERE id = ?2 AND state = 1")                                        \
	X(TX_LIST_OWNED,                                                          \
	    "SELECT " DB_TXN_COLS " FROM transactions "                           \
	    "WHERE state = 1 AND owner = ?1 ORDER BY id")                         \
	X(TX_LIST_INTUNE,                                                         \
	    "SELECT " DB_TXN_COLS " FROM transactions "                           \
	    "WHERE intune = 1 AND state <> 1 ORDER BY id")                        \
	X(TX_SET_INTUNE,                                                          \
	    "UPDATE transactions SET intune = ?2, intune_csr = NULL, "            \
	    "intune_claim = NULL, updated = ?4 "                                  \
	    "WHERE txid = ?1 AND intune = 1 AND state = ?3")                      \
	X(TX_CLAIM_INTUNE,                                                        \
	    "UPDATE transactions SET intune_claim = ?2 WHERE txid = ?1 "          \
	    "AND intune = 1 AND state <> 1 AND (intune_claim IS NULL "            \
	    "OR intune_claim <= ?2 - ?3)")                                        \
	X(TX_UNCLAIM_INTUNE,                                                      \
	    "UPDATE transactions SET intune_claim = NULL WHERE txid = ?1 "        \
	    "AND intune = 1 AND intune_claim IS NOT NULL")                        \
	X(EV_PUT,                                                                 \
	    "INSERT INTO txn_events(txid, at, kind, detail, cn) "                 \
	    "VALUES (?1, ?2, ?3, ?4, ?5)")                                        \
	X(EV_POLL,                                                                \
	    "UPDATE txn_events SET n = n + 1, at = ?2, detail = ?4 "              \
	    "WHERE txid = ?1 AND kind = ?3")

enum db_stmt {
#define DB_STMT_ENUM(name, sql) DB_ST_##name,
	DB_STMTS(DB_STMT_ENUM)
#undef DB_STMT_ENUM
	    DB_ST__MAX
};

/* The SQLite backend's state, db->impl. */
struct db_sq {
	sqlite3 *h;		      /* the one connection */
	pthread_mutex_t mu;	      /* serialises every use of h */
	sqlite3_stmt *st[DB_ST__MAX]; /* prepared once, reset after use */
	char *path;		      /* the database file */
	int lock_fd;		      /* PATH.lock while serving, or -1 */
	bool readonly;		      /* db_open_readonly() */
};

/* The SQLite backend's state of a handle. */
static inline struct db_sq *
db_sq(struct db *db)
{
	return db->impl;
}

/* Helpers shared by the db_sq_*.c files; the caller holds the mutex. */
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
 * Lists: rows are copied out under the lock into a growable array
 * (struct db_rows, db_int.h), and the caller's callback runs after the
 * lock is released, so it may call other db functions. read copies the
 * current row into a zeroed element (0, or -1 without memory, leaving
 * what cleanup frees).
 */
typedef int db_row_read_fn(sqlite3_stmt *st, void *p);
int db_rows_load(struct db *db, sqlite3_stmt *st, struct db_rows *r,
    db_row_read_fn *read, const char *what, struct gw_err *err);
void db_unlock(struct db *db);

/* Reads a row of DB_TXN_COLS into *t (db_sq_txn.c). Returns 0 or -1. */
int db_txn_row_read(sqlite3_stmt *st, struct db_txn *t);

/* One hot write inside the batch's open transaction (db_sq_batch.c): the
 * kind's body, returning DB_WRITE_KEEP, DB_WRITE_UNDO or -1. */
int sq_txn_start_write(struct db *db, struct db_w_start *a, struct gw_err *err);
int sq_txn_order_write(struct db *db, const struct db_w_update *u,
    struct gw_err *err);
int sq_txn_issued_write(struct db *db, const struct db_w_update *u,
    struct gw_err *err);
int sq_txn_failed_write(struct db *db, const struct db_w_update *u,
    struct gw_err *err);
int sq_event_write(struct db *db, const struct db_event_new *e,
    struct gw_err *err); /* db_sq_event.c */
void sq_exec_batch(struct db *db, struct db_write *batch);

/* The operations of struct db_backend, one file per group. */
int sq_open(struct db *db, const struct db_open_opts *o, struct gw_err *err);
void sq_close(struct db *db);
int sq_schema_version(struct db *db);
int sq_serve_lock(struct db *db, struct gw_err *err); /* db_sq_lock.c */
int sq_lock_path(const char *path, int wait_ms, int *fd, struct gw_err *err);
int sq_schema_latest(void); /* db_sq_open.c */
/* db_sq_event.c: migration 15, the history; db_sq_list.c: the search. */
extern const char sq_migration_15[];
int sq_event_list(struct db *db, const char *txid, size_t limit,
    db_event_fn *fn, void *arg, struct gw_err *err);
int sq_event_refused(struct db *db, const struct db_txn_query *q,
    db_event_fn *fn, void *arg, struct gw_err *err);
int sq_event_prune(struct db *db, int64_t before, int64_t keep, int64_t *n,
    struct gw_err *err);
int sq_txn_search(struct db *db, const struct db_txn_query *q, db_txn_fn *fn,
    void *arg, struct gw_err *err);
sqlite3_int64 sq_limit(size_t limit);
/* db_sq_backup.c: shared with db_sq_restore.c */
char *sq_backup_name(const char *path, const char *suffix);
void sq_backup_tmp_remove(const char *tmp);
int sq_backup_tmp_create(const char *tmp, struct gw_err *err);
int sq_backup_fsync(const char *path, bool dir, struct gw_err *err);
int sq_backup_not_same(const char *path, const char *file, struct gw_err *err);
int sq_backup_exec(sqlite3 *h, const char *sql, struct gw_err *err);
int sq_backup_open(const char *path, int flags, sqlite3 **h,
    struct gw_err *err);
int sq_backup_inspect(sqlite3 *h, struct db_backup_info *info,
    struct gw_err *err);
/* db_sq_txn.c, db_sq_outcome.c */
int sq_txn_find_csr(struct db *db, const uint8_t csr_sha256[32], char *txid,
    size_t n, struct gw_err *err);
int sq_txn_get(struct db *db, const char *txid, struct db_txn *t,
    struct gw_err *err);
int sq_challenge_find(struct db *db, const uint8_t hash[32],
    struct db_challenge *c, struct gw_err *err);
int sq_txn_list_unfinished(struct db *db, db_txn_fn *fn, void *arg,
    struct gw_err *err);
int sq_txn_archive(struct db *db, const char *txid, int64_t id,
    struct gw_err *err);
int sq_txn_list_intune(struct db *db, db_txn_fn *fn, void *arg,
    struct gw_err *err);
int sq_txn_set_intune(struct db *db, const char *txid, int to,
    enum db_txn_state need, int64_t now, struct gw_err *err);
int sq_txn_claim_intune(struct db *db, const char *txid, int64_t now,
    int hold_s, struct gw_err *err);
/* db_sq_challenge.c */
int sq_challenge_put(struct db *db, const uint8_t hash[32], int64_t now,
    int64_t expires, const struct db_challenge_bind *b, int64_t *id,
    struct gw_err *err);
int sq_challenge_revoke(struct db *db, int64_t id, struct gw_err *err);
int sq_challenge_list(struct db *db, db_challenge_fn *fn, void *arg,
    struct gw_err *err);
/* db_sq_cert.c */
int sq_cert_list(struct db *db, db_cert_fn *fn, void *arg, struct gw_err *err);
int sq_cert_get(struct db *db, const char *serial_hex, struct db_cert *c,
    struct gw_err *err);
int sq_cert_renewal(struct db *db, const char *serial_hex,
    struct db_cert_renewal *r, struct gw_err *err);
int sq_cert_set_revoked(struct db *db, const char *serial_hex, int64_t when,
    const char *reason, struct gw_err *err);
/* db_sq_list.c */
int sq_challenge_list_state(struct db *db, enum db_challenge_state state,
    int64_t now, int64_t before, size_t limit, db_challenge_fn *fn, void *arg,
    struct gw_err *err);
int sq_challenge_outstanding(struct db *db, int64_t now, int64_t *n,
    struct gw_err *err);
int sq_challenge_put_capped(struct db *db, const uint8_t hash[32], int64_t now,
    int64_t expires, int64_t max_outstanding, const char *profile, int64_t *id,
    struct gw_err *err);
int sq_txn_list(struct db *db, enum db_txn_state state, const char *cn,
    size_t limit, db_txn_fn *fn, void *arg, struct gw_err *err);
int sq_txn_count(struct db *db, int64_t counts[4], struct gw_err *err);
int sq_txn_hourly(struct db *db, int64_t since, int64_t issued[24],
    int64_t failed[24], struct gw_err *err);
int sq_user_set_role(struct db *db, const char *name, const char *role,
    struct gw_err *err);
int sq_licence_used(struct db *db, const char *pool, int64_t *used,
    struct gw_err *err);
int sq_licence_last_error(struct db *db, int code, int64_t *when,
    char **message, struct gw_err *err);
int sq_cert_search(struct db *db, const struct db_cert_query *q, db_cert_fn *fn,
    void *arg, struct gw_err *err);
/* db_sq_user.c */
int sq_user_put(struct db *db, const char *name, const struct db_user_kdf *k,
    bool can_issue, const char *profiles, int64_t now, struct gw_err *err);
int sq_user_get(struct db *db, const char *name, struct db_user_kdf *k,
    bool *can_issue, struct gw_err *err);
int sq_user_profiles(struct db *db, const char *name, char **profiles,
    struct gw_err *err);
int sq_user_set_profiles(struct db *db, const char *name, const char *profiles,
    struct gw_err *err);
int sq_user_remove(struct db *db, const char *name, struct gw_err *err);
int sq_user_list(struct db *db, db_user_fn *fn, void *arg, struct gw_err *err);
/* db_sq_node.c */
int sq_node_register(struct db *db, const char *name, int lease_s,
    const uint8_t cfg_sha256[32], const char *version, int64_t *node,
    struct gw_err *err);
int sq_node_renew(struct db *db, int64_t node, int lease_s, struct gw_err *err);
int sq_node_release(struct db *db, int64_t node, struct gw_err *err);
int sq_node_list(struct db *db, db_node_fn *fn, void *arg, struct gw_err *err);
int sq_node_set_marks(struct db *db, int64_t node,
    const uint8_t order_sha256[32], const uint8_t ra_sha256[32],
    struct gw_err *err);
int sq_txn_claim_orphans(struct db *db, int64_t me, int margin_s, size_t max,
    db_txn_fn *fn, void *arg, struct gw_err *err);
int sq_txn_list_owned(struct db *db, int64_t node, db_txn_fn *fn, void *arg,
    struct gw_err *err);
/* db_sq_copy.c: the source side of db_copy() */
int sq_copy_describe(struct db *db, struct db_copy_table *tabs, size_t n,
    const char *const *ignore, struct gw_err *err);
int sq_copy_out(struct db *db, const struct db_copy_table *t,
    db_copy_row_fn *fn, void *arg, struct gw_err *err);
int sq_copy_snapshot(struct db *db, bool begin, struct gw_err *err);

#endif
