/*
 * Private to the PostgreSQL backend (db_pg_*.c): its state (a pool of
 * connections for reads and single writes, one writer connection for the
 * group-commit batches), parameter and result helpers, and the mapping of
 * SQLSTATEs to enum db_errc. The only files of the project that include
 * libpq's header.
 */
#ifndef GW_DB_PG_INT_H
#define GW_DB_PG_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "gw_err.h"
#include "db_int.h"

/* Column list of a full transaction row (pg_txn_row_read()): owner,
 * taken_at (unix seconds), then Intune's state and CSR (migration 2);
 * PG_TXN_NCOLS columns. */
#define PG_TXN_COLS                                                          \
	"id, txid, csr_sha256, state, created, updated, challenge_id, cn, "  \
	"email, ou, csr_pem, order_id, cert_der, fail_info, fail_text, "     \
	"profile, key_sha256, renews, upn, licence_pool, epki_code, "        \
	"epki_message, owner, floor(extract(epoch FROM taken_at))::bigint, " \
	"intune, intune_csr, intune_claim"
#define PG_TXN_NCOLS 27

/* A pooled connection. */
struct pg_conn {
	PGconn *c;
	struct pg_conn *next; /* in the free list */
};

/* The backend's state, db->impl. */
struct db_pg {
	/* libpq keywords and values for PQconnectdbParams(), NULL ended. */
	const char *kw[12];
	const char *val[12];
	char *url;
	char *password;
	char app[64];
	int timeout_s;	      /* [db] timeout_seconds: T */
	char connect_s[16];   /* T as text, libpq's connect_timeout */
	pthread_mutex_t mu;   /* the free list */
	struct pg_conn *free; /* idle connections */
	pthread_mutex_t wmu;  /* the writer connection */
	PGconn *writer;	      /* exec_batch's, pipelined */
	int schema;	      /* version after open */
};

static inline struct db_pg *
db_pg(struct db *db)
{
	return db->impl;
}

/* Statement parameters, typed (no untyped "$1 IS NULL"). */
#define PG_MAXP 20
struct pg_params {
	int n;
	Oid types[PG_MAXP];
	const char *v[PG_MAXP];
	int len[PG_MAXP];
	int fmt[PG_MAXP];
	char num[PG_MAXP][24];
};
void pp_text(struct pg_params *p, const char *s);
void pp_int(struct pg_params *p, int64_t v);
void pp_int4(struct pg_params *p, int v);
void pp_bool(struct pg_params *p, bool v);
void pp_limit(struct pg_params *p, size_t limit);
void pp_bytea(struct pg_params *p, const uint8_t *b, size_t len);

/* db_pg_conn.c: connections. */
/* Slack over the server's statement_timeout T before the gateway stops
 * waiting for an answer itself (a server or network that went silent). */
#define PG_WAIT_SLACK_S 2
int64_t pg_mono_ms(void);
int pg_wait_result(PGconn *c, int64_t deadline_ms);
PGconn *pg_connect(struct db_pg *pg, struct gw_err *err);
PGconn *pg_acquire(struct db *db, struct gw_err *err);
void pg_release(struct db *db, PGconn *c);
void pg_conns_close(struct db_pg *pg);
/* Runs one statement on c, waiting at most wait_s seconds for its
 * answer (0: no bound). Returns the result (PGRES_TUPLES_OK or
 * PGRES_COMMAND_OK; the caller PQclear()s it), or NULL with err set. */
PGresult *pg_exec(PGconn *c, const char *sql, const struct pg_params *p,
    const char *what, int wait_s, struct gw_err *err);
/* Waits for the results of what was sent on c (bounded by deadline, ms
 * on the monotonic clock, 0: none; wait_s is the bound in messages) and
 * returns the last one as pg_exec() does, or NULL with err set. */
PGresult *pg_collect(PGconn *c, int64_t deadline, const char *what, int wait_s,
    struct gw_err *err);
/* The same on a pooled connection, acquired and released here. */
PGresult *pg_run(struct db *db, const char *sql, const struct pg_params *p,
    const char *what, bool retry, struct gw_err *err);
/* Sets err from a failed result (SQLSTATE mapped to enum db_errc). */
void pg_err_res(const PGresult *r, PGconn *c, const char *what,
    struct gw_err *err);
/* Whether a SQLSTATE says: retry the transaction (deadlock, serialisation,
 * admin shutdown, read-only server). */
bool pg_state_retryable(const char *sqlstate);

/* Result columns (text format). */
int64_t pg_int(const PGresult *r, int row, int col);
bool pg_bool(const PGresult *r, int row, int col);
bool pg_null(const PGresult *r, int row, int col);
int pg_str(const PGresult *r, int row, int col, char **out);
int pg_bytes(const PGresult *r, int row, int col, uint8_t **out, size_t *len);
int pg_fixed(const PGresult *r, int row, int col, uint8_t *out, size_t len);
int pg_txn_row_read(const PGresult *r, int row, struct db_txn *t);
/* Reads row of r into p; 0, or -1 when out of memory. */
typedef int pg_row_read_fn(const PGresult *r, int row, void *p);
struct db_rows;
int pg_rows_load(const PGresult *r, struct db_rows *rows, pg_row_read_fn *read,
    const char *what, struct gw_err *err); /* db_pg_list.c */

/* db_pg_prep.c: the hot path's statements, prepared once per connection
 * (named on the server, so that it parses and plans each once). */
enum pg_stmt {
	PG_S_BEGIN,
	PG_S_COMMIT,
	PG_S_TXN_START, /* PG_TXN_COLS, then the status (enum db_start) */
	PG_S_TXN_SET_ORDER,
	PG_S_TXN_SET_ISSUED,
	PG_S_TXN_SET_FAILED,
	PG_S_TXN_GET,
	PG_S_TXN_FIND_CSR,
	PG_S_CHALLENGE_FIND,
	PG_S_NODE_RENEW,
	PG_S_TXN_EVENT, /* DB_W_EVENT (migration 7) */
	PG_S__MAX
};
/* Makes c carry the set of statements it has prepared (pg_connect()).
 * 0, or -1 without memory. */
int pg_conn_track(PGconn *c);
/* The statements c has prepared, a bit (1U << s) for each. */
uint32_t pg_prepared_mask(const PGconn *c);
void pg_prepared_set(PGconn *c, enum pg_stmt s);
/* The session lost some (SQLSTATE 26000): c is to be closed, as a broken
 * connection, and the statement sent again on a new one. */
void pg_conn_lost_set(PGconn *c);
bool pg_conn_lost(const PGconn *c);
/* PQsendPrepare() and PQsendQueryPrepared() of s; p NULL: no parameters
 * (the types of p's parameters are those the statement is prepared
 * with). As libpq: 1 sent, 0 not. */
int pg_send_prepare(PGconn *c, enum pg_stmt s, const struct pg_params *p);
int pg_send_prepared(PGconn *c, enum pg_stmt s, const struct pg_params *p);
/* pg_exec() of s, preparing it first if c has not got it. */
PGresult *pg_exec_prep(PGconn *c, enum pg_stmt s, const struct pg_params *p,
    const char *what, int wait_s, struct gw_err *err);
/* pg_run() of s. */
PGresult *pg_run_prep(struct db *db, enum pg_stmt s, const struct pg_params *p,
    const char *what, bool retry, struct gw_err *err);

/* db_pg_schema.c: the migrations. */
int pg_migrate(PGconn *c, int *version, struct gw_err *err);
int pg_schema_latest(void);

/* db_pg_list.c: the history and the console's search. */
int pg_txn_search(struct db *db, const struct db_txn_query *q, db_txn_fn *fn,
    void *arg, struct gw_err *err);
int pg_event_list(struct db *db, const char *txid, size_t limit,
    db_event_fn *fn, void *arg, struct gw_err *err);
int pg_event_refused(struct db *db, const struct db_txn_query *q,
    db_event_fn *fn, void *arg, struct gw_err *err);
int pg_event_prune(struct db *db, int64_t before, int64_t keep, int64_t *n,
    struct gw_err *err);

/* db_pg_batch.c */
void pg_exec_batch(struct db *db, struct db_write *batch);

/* db_pg_read.c */
int pg_txn_find_csr(struct db *db, const uint8_t csr_sha256[32], char *txid,
    size_t n, struct gw_err *err);
int pg_txn_get(struct db *db, const char *txid, struct db_txn *t,
    struct gw_err *err);
int pg_challenge_find(struct db *db, const uint8_t hash[32],
    struct db_challenge *c, struct gw_err *err);
int pg_cert_get(struct db *db, const char *serial_hex, struct db_cert *c,
    struct gw_err *err);
int pg_cert_renewal(struct db *db, const char *serial_hex,
    struct db_cert_renewal *r, struct gw_err *err);
int pg_user_get(struct db *db, const char *name, struct db_user_kdf *k,
    bool *can_issue, struct gw_err *err);
int pg_user_profiles(struct db *db, const char *name, char **profiles,
    struct gw_err *err);
int pg_licence_used(struct db *db, const char *pool, int64_t *used,
    struct gw_err *err);
int pg_licence_last_error(struct db *db, int code, int64_t *when,
    char **message, struct gw_err *err);
int pg_txn_count(struct db *db, int64_t counts[4], struct gw_err *err);
int pg_txn_hourly(struct db *db, int64_t since, int64_t issued[24],
    int64_t failed[24], struct gw_err *err);
int pg_user_set_role(struct db *db, const char *name, const char *role,
    struct gw_err *err);
int pg_challenge_outstanding(struct db *db, int64_t now, int64_t *n,
    struct gw_err *err);

/* db_pg_list.c */
int pg_challenge_list(struct db *db, db_challenge_fn *fn, void *arg,
    struct gw_err *err);
int pg_challenge_list_state(struct db *db, enum db_challenge_state state,
    int64_t now, int64_t before, size_t limit, db_challenge_fn *fn, void *arg,
    struct gw_err *err);
int pg_txn_list(struct db *db, enum db_txn_state state, const char *cn,
    size_t limit, db_txn_fn *fn, void *arg, struct gw_err *err);
int pg_txn_list_unfinished(struct db *db, db_txn_fn *fn, void *arg,
    struct gw_err *err);
int pg_cert_list(struct db *db, db_cert_fn *fn, void *arg, struct gw_err *err);
int pg_cert_search(struct db *db, const struct db_cert_query *q, db_cert_fn *fn,
    void *arg, struct gw_err *err);
int pg_user_list(struct db *db, db_user_fn *fn, void *arg, struct gw_err *err);

/* db_pg_lease.c: incarnations, leases, takeover (db/README.md "Leases") */
int pg_node_register(struct db *db, const char *name, int lease_s,
    const uint8_t cfg_sha256[32], const char *version, int64_t *node,
    struct gw_err *err);
int pg_node_renew(struct db *db, int64_t node, int lease_s, struct gw_err *err);
int pg_node_release(struct db *db, int64_t node, struct gw_err *err);
int pg_node_list(struct db *db, db_node_fn *fn, void *arg, struct gw_err *err);
int pg_node_set_marks(struct db *db, int64_t node,
    const uint8_t order_sha256[32], const uint8_t ra_sha256[32],
    struct gw_err *err);

/* db_pg_server.c: the server as `scepgw check` reports it. */
int pg_server_info(struct db *db, struct db_server *s, struct gw_err *err);
int pg_txn_claim_orphans(struct db *db, int64_t me, int margin_s, size_t max,
    db_txn_fn *fn, void *arg, struct gw_err *err);
int pg_txn_list_owned(struct db *db, int64_t node, db_txn_fn *fn, void *arg,
    struct gw_err *err);

/* db_pg_copy.c: the target side of db_copy() */
int pg_copy_in(struct db *db, struct db_copy_table *tabs, size_t n,
    db_copy_src_fn *src, void *src_arg, struct db_copy_count *counts,
    struct gw_err *err);

/* db_pg_write.c */
int pg_challenge_put(struct db *db, const uint8_t hash[32], int64_t now,
    int64_t expires, const struct db_challenge_bind *b, int64_t *id,
    struct gw_err *err);
int pg_challenge_put_capped(struct db *db, const uint8_t hash[32], int64_t now,
    int64_t expires, int64_t max_outstanding, const char *profile, int64_t *id,
    struct gw_err *err);
int pg_challenge_revoke(struct db *db, int64_t id, struct gw_err *err);
int pg_txn_list_intune(struct db *db, db_txn_fn *fn, void *arg,
    struct gw_err *err);
int pg_txn_set_intune(struct db *db, const char *txid, int to,
    enum db_txn_state need, int64_t now, struct gw_err *err);
int pg_txn_claim_intune(struct db *db, const char *txid, int64_t now,
    int hold_s, struct gw_err *err);
int pg_txn_archive(struct db *db, const char *txid, int64_t id,
    struct gw_err *err);
int pg_cert_set_revoked(struct db *db, const char *serial_hex, int64_t when,
    const char *reason, struct gw_err *err);
int pg_user_put(struct db *db, const char *name, const struct db_user_kdf *k,
    bool can_issue, const char *profiles, int64_t now, struct gw_err *err);
int pg_user_set_profiles(struct db *db, const char *name, const char *profiles,
    struct gw_err *err);
int pg_user_remove(struct db *db, const char *name, struct gw_err *err);

#endif
