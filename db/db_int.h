/*
 * Private to db/, shared by every backend: the handle, the group-commit
 * queue (db_batch.c), the hot writes as data (struct db_write) and the
 * backend interface (struct db_backend). db.c checks arguments and
 * dispatches every function of db.h to the backend the handle was opened
 * with; the backend runs the SQL. A backend's own state hangs off
 * db->impl; the SQLite backend's is in db_sq_int.h.
 */
#ifndef GW_DB_INT_H
#define GW_DB_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw_err.h"
#include "db.h"

/*
 * The hot writes, queued for group commit (db_batch.c) and run as one
 * batch by the backend's exec_batch. Each is data (a kind and its
 * arguments), not a callback, so that a backend can send a whole batch at
 * once.
 */
enum db_write_kind {
	DB_W_NONE,  /* writes nothing (always DB_WRITE_UNDO) */
	DB_W_START, /* db_txn_start(): consume the challenge, record ORDERING */
	DB_W_ORDER, /* db_txn_set_order() */
	DB_W_ISSUED, /* db_txn_set_issued(): ISSUED plus the certificate row */
	DB_W_FAILED, /* db_txn_set_failed() */
	DB_W_EVENT,  /* db_event_add(): a line of a transaction's history */
	DB_W__MAX
};

/* DB_W_START: the request in, the outcome out (as db_txn_start()). */
struct db_w_start {
	const struct db_txn_new *n; /* valid until the write is done */
	enum db_start res;
	struct db_txn t; /* OK, EXISTS: the row; the job's owner frees it */
};

/* DB_W_ORDER, DB_W_ISSUED, DB_W_FAILED: the transaction's new state. */
struct db_w_update {
	const char *txid;
	const char *order_id; /* order, issued (may be NULL) */
	const uint8_t *der;   /* issued */
	size_t len;
	const char *serial_hex;
	int64_t not_after;
	const char *subject;
	int fail_info; /* failed */
	const char *fail_text;
	int epki_code; /* failed: GlobalSign's ErrorCode, or 0 */
	const char *epki_message;
	int64_t now;
};

/*
 * What a write comes to: DB_WRITE_KEEP (written), DB_WRITE_UNDO (nothing
 * written, not an error: e.g. a challenge refused), or -1 (error in err,
 * nothing written).
 */
#define DB_WRITE_KEEP 0
#define DB_WRITE_UNDO 1
struct db_write;
typedef void db_write_done_fn(struct db_write *j, int rc,
    const struct gw_err *err);
struct db_write {
	enum db_write_kind kind;
	union {
		struct db_w_start start;
		struct db_w_update upd;
		struct db_event_new ev;
	} u;
	db_write_done_fn *done; /* NULL: a caller waits in db_write_run() */
	struct gw_err err;
	int rc;
	bool finished; /* under qmu: the waiting caller may return */
	bool lead;     /* under qmu: the waiting caller leads next */
	struct db_write *next;
};

/* A stored password of a user (db_user.c): the scrypt cost it was made
 * with, its salt and the result; and the account's role, read and written
 * with it ("ndes", "viewer", "admin"). */
#define DB_USER_SALT_LEN 16
#define DB_USER_HASH_LEN 32
struct db_user_kdf {
	uint64_t n;
	uint64_t r;
	uint64_t p;
	uint8_t salt[DB_USER_SALT_LEN];
	uint8_t hash[DB_USER_HASH_LEN];
	char role[8];
};

/* How db_open() was asked to open the database. */
struct db_open_opts {
	const char *backend;  /* "sqlite" or "postgresql"; NULL: by url */
	const char *path;     /* sqlite: the file */
	const char *url;      /* postgresql: libpq URI or conninfo */
	const char *password; /* postgresql: or NULL (the URL's, .pgpass) */
	const char *app_name; /* postgresql: application_name's tail */
	bool readonly;	      /* sqlite: db_open_readonly() */
	int timeout_s;	      /* postgresql: [db] timeout_seconds; 0: default */
};

/*
 * db_copy() (db_copy.c): a table of an instance. The columns are not
 * listed here but read from the source's schema (copy_describe) and
 * typed by the target's (copy_in), so that a migration adding a column
 * to both backends is copied without a change here; a column of the
 * source the target lacks stops the copy.
 */
enum db_col_type {
	DB_COL_INT,  /* integer of any width */
	DB_COL_BOOL, /* SQLite 0/1, PostgreSQL boolean; i is 0 or 1 */
	DB_COL_TEXT, /* UTF-8 in p, len */
	DB_COL_BLOB, /* bytes in p, len */
};
struct db_copy_col {
	char name[64];
	enum db_col_type type;
};
#define DB_COPY_MAXCOLS 48
struct db_copy_table {
	const char *name;
	const char *key;	 /* a column that orders the rows */
	bool identity;		 /* key is a generated id */
	const char *const *skip; /* columns not copied, NULL ended */
	size_t ncols;
	struct db_copy_col cols[DB_COPY_MAXCOLS];
};
struct db_copy_val {
	bool null;
	int64_t i;	  /* INT, BOOL */
	const uint8_t *p; /* TEXT, BLOB: valid during the callback */
	size_t len;
};
/* One row of t (t->ncols values); 0 or -1 with err set (stops the copy). */
typedef int db_copy_row_fn(void *arg, const struct db_copy_val *v,
    struct gw_err *err);
/* Streams every row of table t of the source into fn; 0 or -1. */
typedef int db_copy_src_fn(void *arg, const struct db_copy_table *t,
    db_copy_row_fn *fn, void *fnarg, struct gw_err *err);
/* Adds row v of t to sum (shared, so both sides sum alike); 0 or -1. */
int db_copy_sum_add(uint8_t sum[32], const struct db_copy_table *t,
    const struct db_copy_val *v);
/* Whether every table's rows and sums agree; -1 with err naming the
 * first that does not. */
int db_copy_verify(const struct db_copy_count *counts, size_t n,
    struct gw_err *err);

/*
 * A database engine, at the level of operations (db.h's functions), not
 * statements: each backend writes its own SQL for the guarantees db.h
 * promises. Every entry is called by db.c after the arguments were
 * checked, with the contract of the db.h function of the same name; the
 * outputs are zeroed already. Every entry may be called from any thread.
 */
struct db_backend {
	const char *name;
	/* Lifecycle: open sets db->impl; close frees it (accepts NULL). */
	int (*open)(struct db *db, const struct db_open_opts *o,
	    struct gw_err *err);
	void (*close)(struct db *db);
	int (*schema_version)(struct db *db);
	/* db_serve_lock(): SQLite, this process serves the file alone;
	 * a backend shared by several gateways claims nothing. */
	int (*serve_lock)(struct db *db, struct gw_err *err);
	/*
	 * Runs a batch (linked by next) of hot writes as few commits as it
	 * can; sets every job's rc and err. A job's DB_WRITE_KEEP survives
	 * only a good commit; a failing job leaves the others alone. Called
	 * by one leader at a time (db_batch.c).
	 */
	void (*exec_batch)(struct db *db, struct db_write *batch);
	/* Hot reads. */
	int (*txn_get)(struct db *db, const char *txid, struct db_txn *t,
	    struct gw_err *err);
	int (*txn_find_csr)(struct db *db, const uint8_t csr_sha256[32],
	    char *txid, size_t n, struct gw_err *err);
	int (*challenge_find)(struct db *db, const uint8_t hash[32],
	    struct db_challenge *c, struct gw_err *err);
	int (*cert_get)(struct db *db, const char *serial_hex,
	    struct db_cert *c, struct gw_err *err);
	int (*cert_renewal)(struct db *db, const char *serial_hex,
	    struct db_cert_renewal *r, struct gw_err *err);
	int (*user_get)(struct db *db, const char *name, struct db_user_kdf *k,
	    bool *can_issue, struct gw_err *err);
	int (*user_profiles)(struct db *db, const char *name, char **profiles,
	    struct gw_err *err);
	/* Lists (callbacks as in db.h). */
	int (*challenge_list)(struct db *db, db_challenge_fn *fn, void *arg,
	    struct gw_err *err);
	int (*challenge_list_state)(struct db *db,
	    enum db_challenge_state state, int64_t now, int64_t before,
	    size_t limit, db_challenge_fn *fn, void *arg, struct gw_err *err);
	int (*challenge_outstanding)(struct db *db, int64_t now, int64_t *n,
	    struct gw_err *err);
	int (*txn_list)(struct db *db, enum db_txn_state state, const char *cn,
	    size_t limit, db_txn_fn *fn, void *arg, struct gw_err *err);
	int (*txn_count)(struct db *db, int64_t counts[4], struct gw_err *err);
	/* History and the console's search (db/README.md "History"). */
	int (*txn_search)(struct db *db, const struct db_txn_query *q,
	    db_txn_fn *fn, void *arg, struct gw_err *err);
	int (*event_list)(struct db *db, const char *txid, size_t limit,
	    db_event_fn *fn, void *arg, struct gw_err *err);
	int (*event_refused)(struct db *db, const struct db_txn_query *q,
	    db_event_fn *fn, void *arg, struct gw_err *err);
	int (*event_prune)(struct db *db, int64_t before, int64_t keep,
	    int64_t *n, struct gw_err *err);
	int (*txn_hourly)(struct db *db, int64_t since, int64_t issued[24],
	    int64_t failed[24], struct gw_err *err);
	int (*licence_used)(struct db *db, const char *pool, int64_t *used,
	    struct gw_err *err);
	int (*licence_last_error)(struct db *db, int code, int64_t *when,
	    char **message, struct gw_err *err);
	int (*txn_list_unfinished)(struct db *db, db_txn_fn *fn, void *arg,
	    struct gw_err *err);
	/* Intune (db.h enum db_intune): the VALIDATED transactions that are
	 * final; and VALIDATED -> to, only in state need (clears the CSR). */
	int (*txn_list_intune)(struct db *db, db_txn_fn *fn, void *arg,
	    struct gw_err *err);
	int (*txn_set_intune)(struct db *db, const char *txid, int to,
	    enum db_txn_state need, int64_t now, struct gw_err *err);
	/* Claims the notification (hold_s >= 0) or releases it (-1). */
	int (*txn_claim_intune)(struct db *db, const char *txid, int64_t now,
	    int hold_s, struct gw_err *err);
	int (*cert_list)(struct db *db, db_cert_fn *fn, void *arg,
	    struct gw_err *err);
	int (*cert_search)(struct db *db, const struct db_cert_query *q,
	    db_cert_fn *fn, void *arg, struct gw_err *err);
	int (*user_list)(struct db *db, db_user_fn *fn, void *arg,
	    struct gw_err *err);
	/* Single writes (admin, CLI, NDES page): each commits on its own. */
	int (*challenge_put)(struct db *db, const uint8_t hash[32], int64_t now,
	    int64_t expires, const struct db_challenge_bind *b, int64_t *id,
	    struct gw_err *err);
	int (*challenge_put_capped)(struct db *db, const uint8_t hash[32],
	    int64_t now, int64_t expires, int64_t max_outstanding,
	    const char *profile, int64_t *id, struct gw_err *err);
	int (*challenge_revoke)(struct db *db, int64_t id, struct gw_err *err);
	int (*txn_archive)(struct db *db, const char *txid, int64_t id,
	    struct gw_err *err);
	int (*cert_set_revoked)(struct db *db, const char *serial_hex,
	    int64_t when, const char *reason, struct gw_err *err);
	int (*user_put)(struct db *db, const char *name,
	    const struct db_user_kdf *k, bool can_issue, const char *profiles,
	    int64_t now, struct gw_err *err);
	int (*user_set_profiles)(struct db *db, const char *name,
	    const char *profiles, struct gw_err *err);
	int (*user_remove)(struct db *db, const char *name, struct gw_err *err);
	int (*user_set_role)(struct db *db, const char *name, const char *role,
	    struct gw_err *err);
	/*
	 * Cluster (db/README.md "Leases"): incarnations and their leases,
	 * timed by the database's clock; the takeover of a dead one's
	 * ORDERING transactions; this incarnation's work list.
	 */
	int (*node_register)(struct db *db, const char *name, int lease_s,
	    const uint8_t cfg_sha256[32], const char *version, int64_t *node,
	    struct gw_err *err);
	int (*node_renew)(struct db *db, int64_t node, int lease_s,
	    struct gw_err *err);
	int (*node_release)(struct db *db, int64_t node, struct gw_err *err);
	int (*node_list)(struct db *db, db_node_fn *fn, void *arg,
	    struct gw_err *err);
	int (*node_set_marks)(struct db *db, int64_t node,
	    const uint8_t order_sha256[32], const uint8_t ra_sha256[32],
	    struct gw_err *err);
	/* NULL: not a database server (SQLite). */
	int (*server_info)(struct db *db, struct db_server *s,
	    struct gw_err *err);
	int (*txn_claim_orphans)(struct db *db, int64_t me, int margin_s,
	    size_t max, db_txn_fn *fn, void *arg, struct gw_err *err);
	int (*txn_list_owned)(struct db *db, int64_t node, db_txn_fn *fn,
	    void *arg, struct gw_err *err);
	/*
	 * db_copy(), each NULL where the backend is not that side. The
	 * source (SQLite): copy_describe fills each table's column names
	 * (but those in its skip list) and refuses a table of the source
	 * neither in tabs nor in ignore; copy_out streams every row of
	 * table t inside copy_snapshot's read transaction. The target
	 * (PostgreSQL): copy_in types each column from its own schema
	 * (refusing one it lacks), fills the n tables of an empty database
	 * from src in one transaction, sets counts[i].dst_*, runs
	 * db_copy_verify() and commits only if it passes.
	 */
	int (*copy_describe)(struct db *db, struct db_copy_table *tabs,
	    size_t n, const char *const *ignore, struct gw_err *err);
	int (*copy_out)(struct db *db, const struct db_copy_table *t,
	    db_copy_row_fn *fn, void *arg, struct gw_err *err);
	/* The source: begin (true) and end one read transaction, so that
	 * every copy_out in between reads the same snapshot. */
	int (*copy_snapshot)(struct db *db, bool begin, struct gw_err *err);
	int (*copy_in)(struct db *db, struct db_copy_table *tabs, size_t n,
	    db_copy_src_fn *src, void *src_arg, struct db_copy_count *counts,
	    struct gw_err *err);
};

/* The backends (db_sq_open.c, db_pg_open.c). */
const struct db_backend *db_sq_backend(void);
const struct db_backend *db_pg_backend(void);

struct db {
	const struct db_backend *be; /* chosen by db_open() */
	void *impl;		     /* the backend's state */
	/* The incarnation DB_W_START stamps as a transaction's owner:
	 * set by db_node_register(), 0 when none (CLI handles). */
	_Atomic int64_t node;
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

/* Group commit (db_batch.c). j is the caller's, kind and u set, the rest
 * zeroed; db_write_run() returns j->rc once it is committed. */
int db_write_run(struct db *db, struct db_write *j, struct gw_err *err);
int db_write_submit(struct db *db, struct db_write *j, struct gw_err *err);
char *db_prefix_end(const char *prefix); /* db_event.c */
void db_writer_stop(struct db *db);

/* Why a challenge found by hash cannot be used at now, or DB_START_OK
 * (README "How an enrollment works" 3: revoked, then used, then
 * expired). Shared, so every backend refuses in the same order. */
enum db_start db_challenge_check(const struct db_challenge *c, int64_t now);

/*
 * Rows copied out of a read into a growable array, so that a list's
 * callback runs after the backend's lock is released. db_rows_next()
 * returns a zeroed new element, or NULL without memory.
 */
typedef void db_row_cleanup_fn(void *p);
struct db_rows {
	unsigned char *v;
	size_t n;
	size_t cap;
	size_t size; /* bytes per element */
	db_row_cleanup_fn *cleanup;
};
void *db_rows_next(struct db_rows *r);
void db_rows_cleanup(struct db_rows *r);

/*
 * db_cert_query.c: the SQL of db_cert_search(), shared by the backends.
 * Parameters are numbered in order, written as mark then the number
 * ('?' for SQLite, '$' for PostgreSQL); args[] says which value each
 * takes. Returns 0, or -1 when sql (n bytes) is too small.
 */
enum db_cq_arg {
	DB_CQ_SERIAL,
	DB_CQ_CN,
	DB_CQ_EMAIL,
	DB_CQ_NOW,
	DB_CQ_AFTER_ISSUED,
	DB_CQ_AFTER_SERIAL,
	DB_CQ_LIMIT,
	DB_CQ__MAX
};
/* The columns: serial_hex, order_id, txid, subject, issued, not_after,
 * revoked, revoke_reason, cn, email. */
int db_cert_search_sql(const struct db_cert_query *q, char mark, char *sql,
    size_t n, enum db_cq_arg args[DB_CQ__MAX], int *nargs);

#endif
