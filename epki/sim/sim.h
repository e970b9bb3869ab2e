/*
 * epki-sim internals: the account configuration, the persistent state
 * (licences, order counter, orders), the test PKI and the SOAP handlers.
 * Everything mutable lives in one struct sim guarded by one mutex.
 */
#ifndef EPKI_SIM_H
#define EPKI_SIM_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "epki.h"

struct buf;
struct gw_err;

#define SIM_MAX_PACKS 8
#define SIM_MAX_FAULTS 16
#define SIM_MAX_PROFILE_OUS 4

/* How GetOrderByOrderId/GetOrders write CrCertificateInfo/SerialNumber. */
enum sim_serial_fmt {
	SIM_SERIAL_UPPER, /* 0A1B..., BN_bn2hex */
	SIM_SERIAL_LOWER, /* 0a1b... */
	SIM_SERIAL_COLON, /* 0a:1b:... */
	SIM_SERIAL_DECIMAL,
	SIM_SERIAL__MAX
};

/* A licence pack of the profile. */
struct sim_pack {
	int years;	 /* certificate validity the pack sells */
	char expiry[16]; /* last valid day, YYYY-MM-DD */
	time_t expiry_t; /* the end of that day, UTC */
	long initial;	 /* count on first start */
	long left;	 /* remaining (struct sim copy only) */
};

/* The states an EPKI profile can be in. */
enum sim_profile_state {
	SIM_PROFILE_VALIDATED,
	SIM_PROFILE_PENDING,   /* vetting not finished: orders get -105 */
	SIM_PROFILE_SUSPENDED, /* orders get -105 */
	SIM_PROFILE__MAX
};

/* How the leaf is written into CERT and Certificate (sim_cert.c). */
enum sim_cert_format {
	SIM_CERT_PEM_X509,	  /* PEM CERTIFICATE, LF, final newline */
	SIM_CERT_PEM_X509_NONL,	  /* the same without the final newline */
	SIM_CERT_PEM_X509_CRLF,	  /* PEM CERTIFICATE, CRLF */
	SIM_CERT_BASE64_DER,	  /* base64 of the DER, one line, no armour */
	SIM_CERT_PEM_PKCS7,	  /* PEM PKCS#7 certs-only, the leaf, LF */
	SIM_CERT_PEM_PKCS7_CHAIN, /* PEM PKCS#7, leaf + issuing CA, CRLF */
	SIM_CERT__MAX
};

/* What an injected fault does (README "Fault injection"). */
enum sim_fault_kind {
	SIM_F_LATENCY,	/* delay the answer by ms */
	SIM_F_HTTP500,	/* HTTP 500 soap:Server Fault */
	SIM_F_HTTP502,	/* HTTP 502 HTML page */
	SIM_F_HTTP503,	/* HTTP 503 HTML page */
	SIM_F_RESET,	/* close the connection without an answer */
	SIM_F_INTERNAL, /* SuccessCode -1 with ErrorCode -1 */
	SIM_F_WARNING,	/* do the work, answer SuccessCode 1 + -2001 */
	SIM_F_DROP,	/* do the work, then close after ms, no answer */
	SIM_F_FOREIGN,	/* do the work; the certificate sent is not the CA's */
	SIM_F_LOGIN,	/* -4001 as for a wrong password; not done */
	SIM_F__MAX
};

/* The warn flags of an operation: the -2001 warning; fault "foreign". */
#define SIM_OP_WARN 1
#define SIM_OP_FOREIGN 2

struct sim_fault {
	enum sim_fault_kind kind;
	int op;	    /* enum epki_op, or -1 for every operation */
	long count; /* calls left to hit; -1 unlimited */
	int prob;   /* percent of matching calls hit, 1-100 */
	long ms;    /* latency or drop delay */
};

struct sim_conf {
	char user[128];	    /* AuthToken/UserName */
	char password[128]; /* AuthToken/Password */
	char profile[64];   /* ProfileID */
	char product[64];   /* ProductCode */
	int years;	    /* the licence pack's validity */
	long licences;	    /* initial count, used on first start */
	char allow[512];    /* comma-separated CIDRs */
	char org[128];	    /* profile O */
	char locality[128]; /* profile L */
	char state[128];    /* profile ST */
	char country[4];    /* profile C */
	char expiry[16];    /* licence_expiry of the first pack */
	struct sim_pack packs[SIM_MAX_PACKS]; /* [0] from years/licences */
	size_t npacks;
	enum sim_profile_state profile_state;
	long no_licence_code;	 /* ErrorCode of the one licence error */
	char denied_product[64]; /* ProductCode the user may not order */
	long profile_code;	 /* ErrorCode for a profile not validated */
	enum sim_cert_format cert_format;	 /* cert_format = */
	struct sim_fault faults[SIM_MAX_FAULTS]; /* fault = lines */
	size_t nfaults;
	/* What the public sources show of GlobalSign's behaviour
	 * (epki/sim/README.md "sim.conf"). */
	int timestamp_skew_h; /* hours added to every Timestamp */
	enum sim_serial_fmt serial_fmt;
	char profile_ous[SIM_MAX_PROFILE_OUS][64]; /* appended after the
						      request's OUs */
	size_t nprofile_ous;
	bool profile_upn;   /* ProfileAttributes/UPN: UPN SAN issued */
	bool email_allowed; /* false: an order with Email gets email_code */
	long email_code;
	long max_ous;		    /* OUs an order may carry; 0: no limit */
	char profile_not_after[16]; /* the profile's closing day */
	time_t profile_not_after_t; /* the end of that day, UTC */
	char state_codes[SIM_PROFILE__MAX][32]; /* ProfileOrderState sent */
	bool lenient_ns; /* dispatch and bind by local name */
};

struct sim {
	struct sim_conf conf;
	char dir[PATH_MAX / 2]; /* --dir */
	char host[64];		/* --listen host, for URLs */
	unsigned port;		/* bound port, for URLs */
	long latency_ms;	/* --latency-ms */
	bool no_fsync;		/* --no-fsync: files not synced (benchmarks) */
	atomic_int cert_format; /* enum sim_cert_format, set at run time */
	pthread_mutex_t mu;	/* guards everything below and the files */
	unsigned long counter;	/* last order number = orders made */
	int journal_fd;		/* DIR/orders.log, appended (sim_store.c) */
	struct sim_order_ref *orders; /* its index: last record per order */
	size_t norders, orders_cap;
	size_t *slots; /* hash table over orders: index + 1, 0 empty */
	size_t slots_cap;
	unsigned long spent;		      /* licences spent, persisted */
	struct sim_pack packs[SIM_MAX_PACKS]; /* with left counts */
	size_t npacks;
	enum sim_profile_state profile_state;	 /* may change at run time */
	struct sim_fault faults[SIM_MAX_FAULTS]; /* active faults */
	size_t nfaults;
	unsigned long calls[EPKI_OP__MAX]; /* SOAP calls per operation */
	unsigned long fired[SIM_F__MAX];   /* faults applied, per kind */
	uint64_t rng;			   /* xorshift state for prob */
	unsigned long crl_calls;	   /* GET /crl/issuing.crl served */
	unsigned long crl_number;	   /* last cRLNumber issued */
	X509 *root;
	X509 *ca; /* issuing CA */
	EVP_PKEY *ca_key;
	/* every leaf's fixed extensions (sim_pki_leaf_exts) */
	STACK_OF(X509_EXTENSION) *leaf_exts;
};

/* What sim_handle() decided to do with one call. */
enum sim_action {
	SIM_ACT_REPLY, /* send out with status and ctype */
	SIM_ACT_CLOSE, /* close the connection without a reply */
};

struct sim_result {
	struct buf *out;   /* response body (initialised by the caller) */
	unsigned status;   /* HTTP status */
	const char *ctype; /* Content-Type */
	enum sim_action action;
	long delay_ms; /* wait this long before acting */
};

/* sim_conf.c */
void sim_conf_defaults(struct sim_conf *c);
int sim_conf_load(struct sim_conf *c, const char *path, struct gw_err *err);
int sim_parse_long(const char *s, long lo, long hi, long *out);
int sim_state_load(struct sim *s, struct gw_err *err);
int sim_state_save(struct sim *s, struct gw_err *err);
int sim_journal_sync(struct sim *s, struct gw_err *err);
int sim_state_snapshot(struct sim *s, struct gw_err *err);
void sim_state_parse(struct sim *s, char *text);
int sim_state_lines(const struct sim *s, struct buf *out);
int sim_addr_allowed(const char *allow, const struct sockaddr *sa);
int sim_path(const struct sim *s, char *out, size_t n, const char *name);

/* sim_pki.c */
int sim_pki_load(struct sim *s, struct gw_err *err);
int sim_pki_leaf_exts(struct sim *s, struct gw_err *err);
void sim_pki_cleanup(struct sim *s);
int sim_pki_issue(struct sim *s, EVP_PKEY *pub, const X509_PUBKEY *spki,
    const struct epki_order *o, X509 **out, struct gw_err *err);
int sim_pki_forge(X509 *leaf, struct gw_err *err);
int sim_pem_crlf(const char *pem, struct buf *out);

/* sim_cert.c */
const char *sim_cert_format_name(enum sim_cert_format f);
int sim_cert_format_parse(const char *v, enum sim_cert_format *out);
enum sim_cert_format sim_cert_format_get(const struct sim *s);
void sim_cert_format_set(struct sim *s, enum sim_cert_format f);
int sim_cert_text(const struct sim *s, X509 *leaf, enum sim_cert_format f,
    struct buf *out);
int sim_pki_p7_pem(const struct sim *s, X509 *leaf, struct buf *out);

int sim_date_parse(const char *s, int end_of_day, time_t *out);
const char *sim_profile_state_name(enum sim_profile_state st);
int sim_profile_state_parse(const char *v, enum sim_profile_state *out);
int sim_pack_parse(const char *v, struct sim_pack *p);

/* sim_fidelity.c */
void sim_fidelity_defaults(struct sim_conf *c);
int sim_fidelity_set(struct sim_conf *c, const char *k, const char *v);
int sim_check_dn(const struct sim_conf *c, const struct epki_order *o,
    struct epki_error *e);
size_t sim_utf8_len(const char *s);
int sim_timestamp_skew(const struct sim_conf *c, struct buf *out);
void sim_licence_no(size_t pack, char *out, size_t n);
int sim_serial_text(enum sim_serial_fmt fmt, const ASN1_INTEGER *ai, char *out,
    size_t n);

/* sim_crl.c: the issuing CA's CRL, published at /crl/issuing.crl. */
int sim_crl_der(struct sim *s, struct buf *out, struct gw_err *err);

/* sim_fault.c */
int sim_fault_parse(const char *spec, struct sim_fault *f, int *clear);
int sim_fault_admin(struct sim *s, const char *form, struct buf *msg);
int sim_config_admin(struct sim *s, const char *form, struct buf *msg);
void sim_fault_pick(struct sim *s, int op, long *latency_ms,
    struct sim_fault *hit);
int sim_state_text(struct sim *s, struct buf *out);

/* sim_ops.c */
int sim_handle(struct sim *s, const struct sockaddr *peer, const uint8_t *body,
    size_t len, struct sim_result *res);

int sim_fail(struct epki_error *e, int code, const char *field,
    const char *msg);
int sim_check_caller(const struct sim *s, const struct epki_req *rq,
    const struct sockaddr *peer, struct epki_error *e);
int sim_reply_send(struct epki_reply *rep, struct epki_error *e, int warn,
    struct buf *out);

/* sim_store.c: the order journal and its certificate details. */
struct sim_stored {
	struct buf raw;
	const char *status;
	const char *request_date;
	const char *profile;
	const char *product;
	const char *licence;	 /* LicenseNo of its pack, or NULL */
	const char *revoke_date; /* or NULL */
	X509 *leaf;
};

struct sim_leaf_info {
	char serial[80], nb[40], na[40], cn[256], email[256];
	struct buf pem; /* the leaf as cert_format writes it */
	struct buf p7;	/* PKCS#7 PEM, CRLF */
};

struct sim_order_ref;

int sim_orders_open(struct sim *s, struct gw_err *err);
void sim_orders_close(struct sim *s);
int sim_order_id_ok(const char *id);
int sim_order_save(struct sim *s, const char *id, const char *status,
    const char *request_date, const char *profile, const char *product,
    const char *licence, const char *revoke_date, X509 *leaf, int with_state,
    struct gw_err *err);
int sim_stored_load(struct sim *s, const char *id, struct sim_stored *st);
int sim_stored_load_locked(struct sim *s, const char *id,
    struct sim_stored *st);
void sim_stored_cleanup(struct sim_stored *st);
int sim_leaf_pem(X509 *x, struct buf *out);
void sim_leaf_info_init(struct sim_leaf_info *li);
int sim_leaf_info_fill(const struct sim *s, X509 *leaf,
    struct sim_leaf_info *li);
void sim_leaf_info_cleanup(struct sim_leaf_info *li);
void sim_order_info_set(struct epki_order_info *info, const char *id,
    const struct sim_stored *st, const struct sim_leaf_info *li);

int sim_order_names(struct sim *s, char ***out, size_t *n);
void sim_order_names_free(char **names, size_t n);

/* sim_query.c: GetOrders, Revoke, GetProfiles. */
int sim_op_get_orders(struct sim *s, const struct sockaddr *peer,
    struct epki_req *rq, int warn, struct buf *out);
int sim_op_revoke(struct sim *s, const struct sockaddr *peer,
    struct epki_req *rq, int warn, struct buf *out);
int sim_op_get_profiles(struct sim *s, const struct sockaddr *peer,
    struct epki_req *rq, int warn, struct buf *out);

#endif
