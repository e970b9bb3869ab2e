/*
 * The gateway's state: one-time challenges, enrollment transactions and
 * issued certificates. Only this module writes SQL, through a backend
 * chosen at open (db/README.md): one SQLite file (WAL, db_open()) or a
 * PostgreSQL database (db_open_url()). Schema changes are numbered migrations
 * (PRAGMA user_version). All functions are safe to call from several threads
 * (SQLite: one connection, serialised by a mutex, prepared statements
 * kept for the process's life).
 */
#ifndef GW_DB_H
#define GW_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gw_err;
struct db;

/* gw_err codes set by this module. */
enum db_errc {
	DB_ERR_SQL = 1,	 /* the engine failed; msg carries its message */
	DB_ERR_NOTFOUND, /* no such row */
	DB_ERR_STATE,	 /* the transaction is not ORDERING */
	DB_ERR_SCHEMA,	 /* database newer than this program */
	DB_ERR_ARG,	 /* bad argument */
	DB_ERR_EXISTS,	 /* the row (e.g. a user name) exists already */
	DB_ERR_BUSY,	 /* another server holds the database */
	DB_ERR_RETRY,	 /* PostgreSQL: try again (deadlock, failover, lost
			    connection, server shutting down) */
	DB_ERR__MAX
};

int db_open(struct db **out, const char *path, struct gw_err *err);
/* [db] timeout_seconds' default (README "Configuration"). */
#define DB_TIMEOUT_S 10
int db_open_url(struct db **out, const char *url, const char *password,
    const char *app_name, int timeout_s, struct gw_err *err);
const char *db_backend_name(struct db *db);
int db_file_check(const char *path, struct gw_err *err);
int db_serve_lock(struct db *db, struct gw_err *err);
void db_close(struct db *db);
int db_schema_version(struct db *db);
/* The loaded SQLite and libpq versions (db_version.c). */
const char *db_sqlite_version(void);
void db_pq_version(char *out, size_t n);

/*
 * Moving an instance (db_copy.c, README "PostgreSQL"): the source opened
 * read-only (no migration, and its serve lock tried once, never waited
 * for), copied into an empty PostgreSQL database in one transaction and
 * checked there before the commit: per table the rows and a SHA-256 sum
 * of their contents, the same on both sides.
 */
int db_open_readonly(struct db **out, const char *path, struct gw_err *err);
#define DB_COPY_TABLES 6
struct db_copy_count {
	const char *table;   /* "challenges", … */
	int64_t src_rows;    /* rows read from the source */
	int64_t dst_rows;    /* rows read back from the target */
	uint8_t src_sum[32]; /* order-free sum of the rows' SHA-256 */
	uint8_t dst_sum[32];
	int64_t dst_next_id; /* identity tables: the next id, else 0 */
};
int db_copy(struct db *src, struct db *dst,
    struct db_copy_count counts[DB_COPY_TABLES], struct gw_err *err);
char *db_url_public(const char *url);

/*
 * Backup and restore of a SQLite database (db_sq_backup.c,
 * db_sq_restore.c, README "Backup and restore"). Both take paths, not a
 * handle: a backup reads a file `scepgw serve` may be writing, at any
 * schema version, and a restore replaces a file that may not open at all.
 */
#define DB_BACKUP_TABLES_MAX 16
struct db_backup_table {
	char name[48]; /* "challenges", … (longer names are cut) */
	int64_t rows;
};
struct db_backup_info {
	int schema;	   /* the copy's schema version (user_version) */
	int schema_latest; /* this program's */
	size_t ntables;	   /* tables of the copy, in creation order */
	struct db_backup_table tables[DB_BACKUP_TABLES_MAX];
	int64_t ordering; /* transactions ORDERING in the copy */
	int64_t revoked;  /* restore: unused challenges it revoked */
	int64_t unused;	  /* restore: unused challenges left usable */
	long uid, gid;	  /* restore: owner given to the database, or -1 */
	char kept[4096];  /* restore: the previous database's new name, or "" */
};
#define DB_BACKUP_FORCE 0x1	       /* db_backup_to(): replace FILE */
#define DB_RESTORE_KEEP_CHALLENGES 0x1 /* db_restore_from(): revoke none */
int db_backup_to(const char *path, const char *file, int flags,
    struct db_backup_info *info, struct gw_err *err);
int db_restore_from(const char *path, const char *file, int flags,
    struct db_backup_info *info, struct gw_err *err);

/* Challenges: only the SHA-256 of the secret is stored. */
struct db_challenge {
	int64_t id;
	int64_t created; /* unix seconds */
	int64_t expires;
	int64_t used; /* 0 when unused */
	bool revoked;
	char *cn; /* binding, or NULL */
	char *email;
	char *ou;
	char *txid;    /* the transaction that consumed it, or NULL */
	char *profile; /* db_challenge_peek(): the only profile it is for */
	char *upn;     /* bound UPN, or NULL */
};
void db_challenge_cleanup(struct db_challenge *c);
int db_challenge_put(struct db *db, const uint8_t hash[32], int64_t now,
    int64_t expires, const char *cn, const char *email, const char *ou,
    int64_t *id, struct gw_err *err);
int db_challenge_put_profile(struct db *db, const uint8_t hash[32], int64_t now,
    int64_t expires, const char *cn, const char *email, const char *ou,
    const char *profile, int64_t *id, struct gw_err *err);
/* What a challenge binds; every member may be NULL. */
struct db_challenge_bind {
	const char *cn;
	const char *email;
	const char *ou;
	const char *upn;
	const char *profile; /* valid on this [profile NAME] only */
};
int db_challenge_put_bound(struct db *db, const uint8_t hash[32], int64_t now,
    int64_t expires, const struct db_challenge_bind *b, int64_t *id,
    struct gw_err *err);
int db_challenge_revoke(struct db *db, int64_t id, struct gw_err *err);
typedef int db_challenge_fn(void *arg, const struct db_challenge *c);
int db_challenge_list(struct db *db, db_challenge_fn *fn, void *arg,
    struct gw_err *err);

/* Enrollment transactions: README "How an enrollment works". */

/*
 * Microsoft Intune's part of a transaction (README "Microsoft Intune"):
 * a transaction Intune validated keeps the CSR it validated until Intune
 * has heard the outcome, so that a PENDING order, a restart or the
 * reconciler still sends the notification, once.
 */
enum db_intune {
	DB_INTUNE_NONE = 0,	 /* not an Intune transaction */
	DB_INTUNE_VALIDATED = 1, /* validated; the outcome not reported yet */
	DB_INTUNE_NOTIFIED = 2,	 /* ISSUED: successNotification accepted */
	DB_INTUNE_FAILURE_SENT = 3,   /* FAILED: failureNotification sent */
	DB_INTUNE_FAILURE_UNSENT = 4, /* FAILED: it could not be sent */
};
enum db_txn_state {
	DB_TXN_ORDERING = 1, /* challenge consumed, order may be in flight */
	DB_TXN_ISSUED = 2,   /* certificate stored */
	DB_TXN_FAILED = 3,   /* final failure stored */
};

struct db_txn {
	int64_t id;
	char *txid;		/* SCEP transactionID */
	uint8_t csr_sha256[32]; /* ties a retry to the same request */
	enum db_txn_state state;
	int64_t created;
	int64_t updated;
	int64_t challenge_id; /* 0 for none (renewal) */
	char *cn;	      /* identity sent upstream */
	char *email;
	char *ou;
	char *csr_pem;	   /* kept until the order is final */
	char *order_id;	   /* upstream OrderID, or NULL */
	uint8_t *cert_der; /* ISSUED: the certificate */
	size_t cert_len;
	int fail_info;	 /* FAILED: enum scep_fail value */
	char *fail_text; /* FAILED: the short reason sent to the device */
	char *profile;	 /* [profile NAME] it was made for; NULL: default */
	uint8_t key_sha256[32]; /* the CSR's public key (SPKI hash) */
	bool has_key;		/* false for rows older than schema 5 */
	char *renews; /* a renewal: the serial (hex) it renews, else NULL */
	char *upn;    /* decided UPN sent upstream, or NULL */
	char *licence_pool;   /* README "Licences"; NULL: [epki]'s */
	int epki_code;	      /* FAILED by GlobalSign: its ErrorCode, else 0 */
	char *epki_message;   /* and its ErrorMessage, or NULL */
	int64_t owner;	      /* ORDERING: the incarnation that may order it
				 (db_node_register()); 0: none */
	int64_t taken_at;     /* when a survivor took it over, or 0 */
	int64_t taken_from;   /* db_txn_claim_orphans() only: the incarnation
				 it was taken from; 0: none */
	int intune;	      /* enum db_intune */
	uint8_t *intune_csr;  /* DB_INTUNE_VALIDATED: the DER CSR Intune
				 validated, for its notification */
	int64_t intune_claim; /* when a gateway began sending its
				 notification (db_txn_claim_intune()), or 0 */
	size_t intune_csr_len;
};
void db_txn_cleanup(struct db_txn *t);

/* Outcome of db_txn_start(). */
enum db_start {
	DB_START_OK,		 /* challenge consumed, transaction ORDERING */
	DB_START_EXISTS,	 /* transactionID known: *t holds it */
	DB_START_CHALLENGE_BAD,	 /* unknown challenge */
	DB_START_CHALLENGE_USED, /* consumed by another transaction */
	DB_START_CHALLENGE_EXPIRED,
	DB_START_CHALLENGE_REVOKED,
	DB_START_RENEWED, /* n->renews has a live successor already */
	DB_START__MAX
};

struct db_txn_new {
	const char *txid;
	const uint8_t *csr_sha256;	 /* 32 bytes */
	const uint8_t *challenge_sha256; /* 32 bytes, or NULL: no challenge */
	const char *csr_cn;		 /* identity fallbacks from the CSR */
	const char *csr_email;
	const char *csr_ou; /* renewal: the old certificate's OU */
	const char *csr_pem;
	int64_t now;
	bool identity_final;	   /* csr_* are final: no challenge binding */
	const char *profile;	   /* [profile NAME], or NULL: default */
	const uint8_t *key_sha256; /* 32 bytes: the CSR's public key */
	const char *renews; /* a renewal: the renewed serial (hex), or NULL */
	const char *upn;    /* decided UPN, or NULL: none */
	const char *licence_pool;  /* counted against; NULL: [epki]'s */
	const uint8_t *intune_csr; /* validated by Intune: the DER CSR it
				      saw (DB_INTUNE_VALIDATED), or NULL */
	size_t intune_csr_len;
};

/*
 * A transaction other than a FAILED one recorded for the CSR whose SHA-256
 * is csr_sha256 (archived ones too): its txid into txid (n bytes). Not
 * indexed: a scan, for the Intune profile's few requests (README
 * "Microsoft Intune"). Returns 0 found, 1 none, -1 error (err set).
 */
int db_txn_find_csr(struct db *db, const uint8_t csr_sha256[32], char *txid,
    size_t n, struct gw_err *err);
int db_txn_get(struct db *db, const char *txid, struct db_txn *t,
    struct gw_err *err);
int db_challenge_peek(struct db *db, const uint8_t hash[32], int64_t now,
    struct db_challenge *c, enum db_start *res, struct gw_err *err);
int db_txn_start(struct db *db, const struct db_txn_new *n, enum db_start *res,
    struct db_txn *t, struct gw_err *err);
typedef void db_start_fn(void *arg, int rc, enum db_start res,
    const struct db_txn *t, const struct gw_err *err);
int db_txn_start_submit(struct db *db, const struct db_txn_new *n,
    db_start_fn *done, void *arg, struct gw_err *err);
int db_txn_archive(struct db *db, const char *txid, int64_t id,
    struct gw_err *err);
int db_txn_set_order(struct db *db, const char *txid, const char *order_id,
    int64_t now, struct gw_err *err);
int db_txn_set_issued(struct db *db, const char *txid, const char *order_id,
    const uint8_t *der, size_t len, const char *serial_hex, int64_t not_after,
    const char *subject, int64_t now, struct gw_err *err);
/* Called (on the thread that ran the batch) once the write is committed (rc 0)
 * or failed (rc -1, err says why; nothing was written). */
void db_write_stats(struct db *db, uint64_t *batches, uint64_t *writes);
void db_write_flush(struct db *db);
typedef void db_done_fn(void *arg, int rc, const struct gw_err *err);
int db_write_probe_submit(struct db *db, db_done_fn *done, void *arg,
    struct gw_err *err);
int db_txn_set_issued_submit(struct db *db, const char *txid,
    const char *order_id, const uint8_t *der, size_t len,
    const char *serial_hex, int64_t not_after, const char *subject, int64_t now,
    db_done_fn *done, void *arg, struct gw_err *err);
int db_txn_set_failed(struct db *db, const char *txid, int fail_info,
    const char *fail_text, int64_t now, struct gw_err *err);
int db_txn_set_failed_epki(struct db *db, const char *txid, int fail_info,
    const char *fail_text, int epki_code, const char *epki_message, int64_t now,
    struct gw_err *err);
/* Licence accounting (README "Licences"). */
int db_licence_used(struct db *db, const char *pool, int64_t *used,
    struct gw_err *err);
int db_licence_last_error(struct db *db, int code, int64_t *when,
    char **message, struct gw_err *err);
typedef int db_txn_fn(void *arg, const struct db_txn *t);
int db_txn_list_unfinished(struct db *db, db_txn_fn *fn, void *arg,
    struct gw_err *err);
int db_txn_set_intune(struct db *db, const char *txid, enum db_intune to,
    int64_t now, struct gw_err *err);
int db_txn_list_intune(struct db *db, db_txn_fn *fn, void *arg,
    struct gw_err *err);
int db_txn_claim_intune(struct db *db, const char *txid, int64_t now,
    int hold_s, struct gw_err *err);
int db_txn_unclaim_intune(struct db *db, const char *txid, struct gw_err *err);

/*
 * Incarnations of `scepgw serve` (db/README.md "Leases"): each process
 * registers one at start, renews its lease, and releases it after a
 * graceful drain. A transaction is ordered only by the incarnation that
 * owns it; a survivor takes over the ORDERING transactions of a dead one.
 * Times are the database's clock, unix seconds.
 */
struct db_node {
	int64_t id;
	char *name;
	int64_t started_at;
	int64_t lease_until;
	int64_t now; /* the database's clock when the list was read */
	char *version;
	/* What it recorded after registering (db_node_set_marks()). */
	bool has_order;
	uint8_t order_sha256[32];
	bool has_ra;
	uint8_t ra_sha256[32];
};
void db_node_cleanup(struct db_node *n);
typedef int db_node_fn(void *arg, const struct db_node *n);
int db_node_register(struct db *db, const char *name, int lease_s,
    const uint8_t cfg_sha256[32], const char *version, int64_t *node,
    struct gw_err *err);
int db_node_renew(struct db *db, int64_t node, int lease_s, struct gw_err *err);
int db_node_release(struct db *db, int64_t node, struct gw_err *err);
int db_node_list(struct db *db, db_node_fn *fn, void *arg, struct gw_err *err);
int db_node_set_marks(struct db *db, int64_t node,
    const uint8_t order_sha256[32], const uint8_t ra_sha256[32],
    struct gw_err *err);

/*
 * The database server as this connection's role sees it, for `scepgw
 * check` (README "High availability"). Strings are "" when unknown.
 */
struct db_server {
	char version[32];	 /* server_version */
	char role[64];		 /* current_user */
	char where[160];	 /* host:port of the connection */
	bool in_recovery;	 /* pg_is_in_recovery(): a standby */
	char sync_names[256];	 /* synchronous_standby_names */
	char sync_commit[32];	 /* synchronous_commit, as this role gets it */
	int standbys;		 /* rows of pg_stat_replication */
	int hidden;		 /* of those, rows whose details are hidden */
	char sync_standbys[256]; /* names of those in sync or quorum state */
};
int db_server_info(struct db *db, struct db_server *s, struct gw_err *err);
int64_t db_node(struct db *db);
int db_txn_claim_orphans(struct db *db, int64_t me, int margin_s, size_t max,
    db_txn_fn *fn, void *arg, struct gw_err *err);
int db_txn_list_owned(struct db *db, int64_t node, db_txn_fn *fn, void *arg,
    struct gw_err *err);

/* Issued certificates. */
struct db_cert {
	char *serial_hex;
	char *order_id;
	char *txid;
	char *subject;
	int64_t issued;
	int64_t not_after;
	int64_t revoked;     /* 0 when not revoked, else when (unix seconds) */
	char *revoke_reason; /* as given to db_cert_set_revoked(), or NULL */
	uint8_t *der;	     /* db_cert_get() only: the certificate */
	size_t der_len;
	char *cn;    /* db_cert_search() only: its transaction's CN, or NULL */
	char *email; /* and e-mail address, or NULL */
};
void db_cert_cleanup(struct db_cert *c);
typedef int db_cert_fn(void *arg, const struct db_cert *c);
int db_cert_list(struct db *db, db_cert_fn *fn, void *arg, struct gw_err *err);
int db_cert_get(struct db *db, const char *serial_hex, struct db_cert *c,
    struct gw_err *err);
int db_cert_set_revoked(struct db *db, const char *serial_hex, int64_t when,
    const char *reason, struct gw_err *err);

/* A certificate and what a renewal of it depends on (db_cert_renewal()). */
struct db_cert_renewal {
	struct db_cert cert; /* the row, with its DER */
	int txn_state;	     /* enum db_txn_state of the transaction that
				issued it (archived or not); 0: none */
	char *profile;	     /* that transaction's [profile NAME]; NULL:
				default */
	char *successor;     /* txid of a transaction renewing it that is
				ORDERING or ISSUED, or NULL */
	char *ou;	     /* the OU that transaction ordered, or NULL
				(none, or no transaction) */
};
void db_cert_renewal_cleanup(struct db_cert_renewal *r);
int db_cert_renewal(struct db *db, const char *serial_hex,
    struct db_cert_renewal *r, struct gw_err *err);

/*
 * Admin listings (SQLite: db_sq_list.c), newest first, at most limit rows (0:
 * no limit). fn runs without the lock held. Each returns 0 or -1, err set.
 */
enum db_challenge_state {
	DB_CH_ANY = 0,
	DB_CH_UNUSED,  /* not used, not revoked, not expired */
	DB_CH_USED,    /* consumed by a transaction (and not revoked) */
	DB_CH_EXPIRED, /* unused and past its expiry (and not revoked) */
	DB_CH_REVOKED,
	DB_CH__MAX
};
int db_challenge_list_state(struct db *db, enum db_challenge_state state,
    int64_t now, int64_t before, size_t limit, db_challenge_fn *fn, void *arg,
    struct gw_err *err);
int db_challenge_outstanding(struct db *db, int64_t now, int64_t *n,
    struct gw_err *err);
int db_challenge_put_capped(struct db *db, const uint8_t hash[32], int64_t now,
    int64_t expires, int64_t max_outstanding, const char *profile, int64_t *id,
    struct gw_err *err);
int db_txn_list(struct db *db, enum db_txn_state state, const char *cn,
    size_t limit, db_txn_fn *fn, void *arg, struct gw_err *err);
int db_txn_count(struct db *db, int64_t counts[4], struct gw_err *err);
int db_cert_find(struct db *db, const char *serial_hex, const char *cn,
    size_t limit, db_cert_fn *fn, void *arg, struct gw_err *err);

/*
 * A search of the issued certificates (db_cert_search()), newest first
 * (issued, then serial, both descending). Each field left NULL or 0 does
 * not filter. The console pages it by keyset: the next page starts after
 * the last row shown (after_serial non-NULL).
 */
enum db_cert_state {
	DB_CERT_ANY = 0,
	DB_CERT_VALID,	 /* not revoked, not_after > now */
	DB_CERT_EXPIRED, /* not revoked, not_after <= now */
	DB_CERT_REVOKED,
	DB_CERT__MAX
};
struct db_cert_query {
	const char *serial_hex; /* exact (upper-case hex as stored) */
	const char *cn;		/* the transaction's CN, exact */
	const char *email;	/* the transaction's e-mail address, exact */
	enum db_cert_state state;
	int64_t now;		  /* for DB_CERT_VALID and DB_CERT_EXPIRED */
	int64_t after_issued;	  /* with after_serial: rows older than */
	const char *after_serial; /* (after_issued, after_serial) only */
	size_t limit;		  /* 0: no limit */
};
int db_cert_search(struct db *db, const struct db_cert_query *q, db_cert_fn *fn,
    void *arg, struct gw_err *err);

/*
 * The console's search of transactions (README "Admin web console"),
 * newest first: cn and email are case-sensitive prefixes (an index range,
 * db/README.md "History"), created in [from, to) (0: unbounded), and a
 * page starts below before_id (0: at the newest). Rows as db_txn_list().
 */
struct db_txn_query {
	enum db_txn_state state; /* 0: any */
	const char *cn;		 /* prefix, or NULL */
	const char *email;	 /* prefix, or NULL */
	int64_t from, to;
	int64_t before_id;
	size_t limit;
};
int db_txn_search(struct db *db, const struct db_txn_query *q, db_txn_fn *fn,
    void *arg, struct gw_err *err);

/*
 * A transaction's history (db/README.md "History"): the state changes are
 * recorded by the database itself in the write that makes them; the
 * server adds what only it sees with db_event_submit() (queued with the
 * hot writes, never waited for) or db_event_add(). Each of the server's
 * events but a refusal is one row per transaction and kind: n counts
 * them (CertPolls, a resent request answered again), at is the last.
 */
struct db_event {
	int64_t id;
	char *txid;
	int64_t at;
	char *kind;   /* "admitted", "refused", "ordered", "pending", … */
	char *detail; /* plain words, never a secret; or NULL */
	char *cn;     /* admitted, refused: the CN asked; or NULL */
	int64_t n;
};
void db_event_cleanup(struct db_event *e);
typedef int db_event_fn(void *arg, const struct db_event *e);
struct db_event_new {
	const char *txid;
	int64_t at;
	const char *kind;
	const char *detail; /* may be NULL */
	const char *cn;	    /* may be NULL */
};
#define DB_EVENT_POLLED "polled"
#define DB_EVENT_REFUSED "refused"
int db_event_add(struct db *db, const struct db_event_new *e,
    struct gw_err *err);
int db_event_submit(struct db *db, const struct db_event_new *e,
    struct gw_err *err);
int db_event_list(struct db *db, const char *txid, size_t limit,
    db_event_fn *fn, void *arg, struct gw_err *err);
int db_event_refused(struct db *db, const struct db_txn_query *q,
    db_event_fn *fn, void *arg, struct gw_err *err);
int db_event_prune(struct db *db, int64_t before, int64_t keep, int64_t *n,
    struct gw_err *err);

int db_txn_hourly(struct db *db, int64_t since, int64_t issued[24],
    int64_t failed[24], struct gw_err *err);

/*
 * Users of the NDES-compatible challenge page and of the admin web
 * console (db_user.c). Passwords are stored as scrypt hashes with a
 * random 16-byte salt and their cost parameters; the slow hashing runs
 * outside the connection's lock. An "ndes" user never logs in to the
 * console; a console user ("viewer", "admin") never fetches an NDES
 * challenge (README "Admin web console").
 */
enum db_user_role {
	DB_ROLE_NDES = 0,
	DB_ROLE_VIEWER,
	DB_ROLE_ADMIN,
};
const char *db_user_role_name(enum db_user_role role);
int db_user_role_parse(const char *s, enum db_user_role *role);
struct db_user {
	char *name;
	bool can_issue; /* may fetch challenges from the NDES page */
	int64_t created;
	char *kdf;	/* e.g. "scrypt N=32768 r=8 p=1" */
	char *profiles; /* "default,kiosk": the first is the page's default */
	enum db_user_role role;
};
void db_user_cleanup(struct db_user *u);
bool db_user_profiles_valid(const char *profiles);
int db_user_add(struct db *db, const char *name, const char *password,
    bool can_issue, const char *profiles, int64_t now, struct gw_err *err);
int db_user_profiles(struct db *db, const char *name, char **profiles,
    struct gw_err *err);
int db_user_set_profiles(struct db *db, const char *name, const char *profiles,
    struct gw_err *err);
int db_user_check(struct db *db, const char *name, const char *password,
    bool *can_issue, struct gw_err *err);
int db_user_add_role(struct db *db, const char *name, const char *password,
    bool can_issue, const char *profiles, enum db_user_role role, int64_t now,
    struct gw_err *err);
int db_user_check_role(struct db *db, const char *name, const char *password,
    bool *can_issue, enum db_user_role *role, struct gw_err *err);
int db_user_role(struct db *db, const char *name, enum db_user_role *role,
    struct gw_err *err);
int db_user_set_role(struct db *db, const char *name, enum db_user_role role,
    struct gw_err *err);
int db_user_remove(struct db *db, const char *name, struct gw_err *err);
typedef int db_user_fn(void *arg, const struct db_user *u);
int db_user_list(struct db *db, db_user_fn *fn, void *arg, struct gw_err *err);

#endif
