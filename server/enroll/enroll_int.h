/*
 * Private to enrollment: what the stages of the state machine (receive.c,
 * answer.c, order.c, deliver.c) and the admission of a new request
 * (admit.c: whether a PKCSReq or RenewalReq may start an order, and with
 * which identity) share.
 */
#ifndef GW_ENROLL_INT_H
#define GW_ENROLL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pthread.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/evp.h>

#include "db.h"
#include "scep.h"
#include "template.h"

struct gw_ctx;
struct gw_profile;
struct enroll_op;
struct enroll_claim;
struct epki_resp;
struct gw_err;

/* One order in flight; owned by the EPKI callback, watched by the timer. */
struct enroll_job {
	struct enroll *e;
	char *txid;
	EVP_PKEY *pub;		  /* the CSR's key: picks the leaf */
	struct enroll_op *op;	  /* the waiting request, or NULL */
	struct timespec deadline; /* answer PENDING after this */
	struct timespec sent;	  /* when the order was queued, for logs */
	struct enroll_job *next;  /* timer queue, in deadline order */
	struct enroll_job *prev;
	bool queued;
	struct enroll_job *all_next; /* every order in flight */
	struct enroll_job *all_prev;
	uint8_t *icsr; /* validated by Intune: the DER CSR it saw, for the
			  notification (intune_flow.c); else NULL */
	size_t icsr_len;
};

struct enroll {
	struct gw_ctx *ctx;
	pthread_mutex_t mu;
	pthread_cond_t timer_cv; /* the timer: a new head, or stop */
	pthread_cond_t drain_cv; /* enroll_drain(): fewer requests left */
	unsigned draining;	 /* threads waiting in enroll_drain() */
	pthread_t timer;
	bool timer_started;
	bool stop;
	struct enroll_job *head; /* earliest deadline first */
	struct enroll_job *tail;
	size_t inflight;	/* orders sent, not yet answered */
	size_t starting;	/* requests whose start_job is in flight, or
				   that wait for Intune */
	struct enroll_job *all; /* those orders, for the reconciler */
	struct enroll_claim *notifying; /* Intune notifications sent by a
					   CertPoll or the reconciler */
};

/* The identity a renewal carries over from the certificate it renews. */
struct renew_id {
	char cn[256];
	char email[256];
	char ou[256];
	char serial[80];  /* the renewed certificate's serial (hex) */
	char profile[65]; /* its transaction's [profile NAME]; "": default */
	char upn[1024];	  /* any UPN of TMPL_UPN_MAX characters fits */
};

/* The identity a profile's templates decide for a new enrollment. */
struct enroll_ident {
	char cn[TMPL_OUT_MAX];
	char email[TMPL_OUT_MAX];
	char ou[TMPL_OUT_MAX];
	char upn[TMPL_OUT_MAX];
};

/*
 * A PKCSReq or RenewalReq admitted and on its way into the database
 * (db_txn_start_submit), or to Intune first (intune_flow.c). Holds
 * everything the new transaction points to; order.c's start_done() frees
 * it.
 */
struct start_job {
	struct gw_ctx *ctx;
	struct enroll_op *op;
	struct scep_csr_info info;
	struct enroll_ident ident;
	struct renew_id id;
	uint8_t chash[32];
	struct db_txn_new n;
	bool renewal;
	bool is_static;
	uint8_t *icsr; /* Intune profile: the DER CSR, as validated */
	size_t icsr_len;
};

/* receive.c, answer.c, order.c, deliver.c */

/* The current time, in seconds since the epoch, as db/ stores it. */
int64_t enroll_now(void);
/* Marks op as a FAILURE with failInfo f and a short text. */
void enroll_op_fail(struct enroll_op *op, enum scep_fail f, const char *text);
/* The same for a refusal the transaction's history records (history.c):
 * why says it in plain words (never a secret). */
void enroll_op_refuse(struct enroll_op *op, enum scep_fail f, const char *text,
    const char *why);
/* history.c: the events only the server sees (db/README.md "History"). */
void enroll_history_answer(struct gw_ctx *ctx, const struct enroll_op *op);
/* Answers op with plain HTTP: for input that cannot carry a CertRep. */
void enroll_op_http(struct enroll_op *op, unsigned status, const char *text);
/* The profile op came in on: its own, else "default", or NULL. */
const struct gw_profile *enroll_op_profile(const struct gw_ctx *ctx,
    const struct enroll_op *op);
/* The log words for a refused challenge. */
const char *enroll_start_reason(enum db_start res);
/* Upper-case hex of a serial number into out. Returns 0 or -1. */
int enroll_serial_hex(const ASN1_INTEGER *sn, char *out, size_t n);

/* What to do with a request whose transactionID is already known. */
enum retry {
	RETRY_ANSWERED, /* op holds the answer (stored state, or refusal) */
	RETRY_NEW,	/* the old transaction has ended: start a new one */
};

/* answer.c */
/* Whether op may read transaction t: 1 or 0, -1 on a database error. */
int enroll_txn_reader_ok(struct gw_ctx *ctx, const struct enroll_op *op,
    const struct db_txn *t, struct gw_err *err);
/* A request with a known transactionID: answered, or a new one. */
enum retry enroll_answer_retry(struct enroll_op *op, const struct db_txn *t,
    const struct scep_csr_info *info, bool renews_it);
/* CertPoll (GetCertInitial) and GetCert, answered from the database. */
int enroll_certpoll(struct gw_ctx *ctx, struct enroll_op *op);
void enroll_getcert(struct gw_ctx *ctx, struct enroll_op *op);

/* order.c */
/* The orders in flight, under e->mu: the timer queue, the list. */
void enroll_job_unqueue(struct enroll *e, struct enroll_job *j);
void enroll_changed(struct enroll *e);
void enroll_job_untrack(struct enroll *e, struct enroll_job *j);
/* Frees a job once its order has ended. */
void enroll_job_free(struct enroll_job *j);
/* A new PKCSReq or RenewalReq: admit, record, order. */
int enroll_pkcsreq(struct gw_ctx *ctx, struct enroll_op *op);
/* Records s's transaction, then orders; as enroll_pkcsreq() returns. */
int enroll_start_submit(struct start_job *s);
void enroll_start_job_free(struct start_job *s);

/* intune_flow.c: Microsoft Intune (README "Microsoft Intune"). */
/* Whether p's requests are validated by Intune (challenge = intune). */
bool enroll_is_intune(const struct gw_profile *p);
/* Asks Intune about s's request, then records and orders it; as
 * enroll_pkcsreq() returns. s is consumed. */
int enroll_intune_validate(struct start_job *s);
/* An Intune order's outcome: notifies Intune, then delivers (takes cert). */
void enroll_intune_success(struct enroll_job *j, X509 *cert);
void enroll_intune_failure(struct enroll_job *j, const char *text,
    int epki_code);
/* An ISSUED transaction Intune has not heard of: 1 when op waits for the
 * notification, 0 when op holds PENDING. */
int enroll_intune_poll(struct gw_ctx *ctx, struct enroll_op *op,
    const struct db_txn *t);
void enroll_claims_free(struct enroll *e);

/* deliver.c */
/* The EPKI client's callback with an order's outcome. */
void enroll_order_done(void *arg, struct epki_resp *r);
/* Hands an order's outcome to its request, if one waits; frees j. */
void enroll_job_deliver(struct enroll_job *j, enum scep_status st,
    enum scep_fail f, const char *text, X509 *cert);

/* admit.c */

/* True when op's signer certificate is the certificate der (DER). */
bool enroll_signer_is(const struct enroll_op *op, const uint8_t *der,
    size_t len);
/* Renewal check: 1 authenticated (id filled), 0 plain, -1 refused. */
int enroll_renew_check(struct gw_ctx *ctx, struct enroll_op *op,
    struct renew_id *id);
/* Fills a new transaction from the decided or the renewed identity. */
void enroll_txn_new_fill(struct db_txn_new *n, const char *txid,
    const struct scep_csr_info *info, const struct renew_id *id,
    const struct enroll_ident *ident, const uint8_t *chash,
    const char *profile);
/* Refuses a SAN type EPKI cannot issue (on an Intune profile, the
 * strong-mapping URI is left out instead). Returns 0, or -1 (op failed). */
int enroll_csr_sans_check(struct enroll_op *op, const char *txid,
    const struct scep_csr_info *info, bool intune);
/* Checks a renewal's carried-over identity as enroll_admit() does. 0/-1. */
int enroll_renew_admit(struct gw_ctx *ctx, struct enroll_op *op,
    const struct scep_csr_info *info, const struct renew_id *id);
/* Admits a new (not renewal) request: challenge, then identity. 0 or -1. */
int enroll_admit(struct gw_ctx *ctx, struct enroll_op *op,
    const struct scep_csr_info *info, const uint8_t chash[32], bool *is_static,
    struct enroll_ident *id);
/* Admits a request on an Intune profile: identity only, the challenge is
 * Intune's to check (counted against the failure limit). 0 or -1. */
int enroll_admit_intune(struct gw_ctx *ctx, struct enroll_op *op,
    const struct scep_csr_info *info, struct enroll_ident *id);
/* On an Intune profile, whether a signer other than the CSR's key is a
 * live certificate this gateway issued (its serial into serial_out): 1,
 * 0 (FAILURE set), -1 (503). */
int enroll_intune_signer_ok(struct gw_ctx *ctx, struct enroll_op *op,
    char *serial_out, size_t n);

#endif
