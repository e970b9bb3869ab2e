/*
 * The enrollment room's entry points: the seam between the HTTP layer
 * (http/) and the enrollment state machine, the reconciler, and what the
 * admin API and the daemon's start and stop use.
 */
#ifndef GW_ENROLL_H
#define GW_ENROLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "epki.h"
#include "gw.h"
#include "scep.h"

/* A reply the HTTP layer sends: status, content type, bytes. */
struct srv_reply {
	unsigned http_status;
	const char *content_type;
	uint8_t *body; /* malloc'd, freed by the HTTP layer */
	size_t len;
};

/*
 * One PKIOperation in progress. The HTTP layer owns it (it lives in MHD's
 * con_cls); enroll/ fills it, possibly later from another thread, and
 * then calls the resume function the HTTP layer put in it.
 */
struct enroll_op {
	struct scep_msg *msg; /* the decoded request */
	struct scep_ra *ra;   /* the RA it started with (a reference, README
				 "Running under systemd": a reload does not
				 change it), or NULL before it started */
	char peer[64];	      /* client address, for logs */
	const struct gw_profile *profile; /* from the path; NULL: default */
	bool done;			  /* reply is ready */
	struct srv_reply reply;
	void (*resume)(void *arg); /* called once when an async op ends */
	void *resume_arg;
	/* set by enroll/ while an order is in flight */
	enum scep_status status;
	enum scep_fail fail;
	char fail_text[128]; /* short, non-revealing */
	X509 *cert;	     /* SUCCESS */
	void *job;	     /* order.c's job while attached */
	/* A refusal the transaction's history records (history.c): why, in
	 * the log's words, and the CN the CSR asked for; "" otherwise. */
	char why[160];
	char csr_cn[128];
};

/* The state machine: receive.c, answer.c, order.c, deliver.c. */
int enroll_new(struct enroll **out, struct gw_ctx *ctx, struct gw_err *err);
void enroll_free(struct enroll *e);
size_t enroll_inflight(struct enroll *e);
void enroll_drain(struct enroll *e, long max_wait_s);
bool enroll_is_inflight(struct enroll *e, const char *txid);
X509 *enroll_store_issued(struct gw_ctx *ctx, const char *txid,
    const char *order_id, const X509 *leaf);
void enroll_profile_order(const struct gw_ctx *ctx, const char *name,
    struct epki_order *o);
int enroll_issued_check(struct gw_ctx *ctx, const char *txid,
    const char *order_id, const X509 *leaf, const char **text);
enum scep_status enroll_order_record(struct gw_ctx *ctx, const char *txid,
    const EVP_PKEY *pub, const struct epki_resp *r, X509 **cert,
    const char **text);

/* licence.c: README "Licences". */
struct gw_config;
struct gw_licence_pool;
struct db;
struct enroll_licence_fig {
	const struct gw_licence_pool *pool;
	long counted;	/* orders GlobalSign accepted, counted here */
	long used;	/* used_before + counted */
	long remaining; /* licences - used; negative past the count */
	long days_left; /* to the pack's last day (0: that day; < 0 past) */
};
int enroll_licence_figures(const struct gw_config *cfg, struct db *db, size_t i,
    struct enroll_licence_fig *f, struct gw_err *err);
bool enroll_licence_watched(const struct gw_config *cfg, size_t i);
void enroll_licence_warning(const struct enroll_licence_fig *f, bool expiry,
    char *buf, size_t n);
void enroll_licence_watch(struct gw_ctx *ctx);
/* history.c: the reconciler prunes old refusals (README "Admin web
 * console"). */
void enroll_history_prune(struct gw_ctx *ctx);
bool enroll_licence_error_in(const struct gw_ctx *ctx,
    const struct epki_resp *r);
void enroll_licence_error(struct gw_ctx *ctx, const char *txid);
uint64_t enroll_licence_errors(void);

/* reconcile.c */
int reconcile_new(struct reconcile **out, struct gw_ctx *ctx,
    struct gw_err *err);
void reconcile_stop(struct reconcile *r);
void reconcile_free(struct reconcile *r);
void reconcile_kick(struct reconcile *r);
/* intune_flow.c: tells Intune the outcome of the transactions it has not
 * heard of (README "Microsoft Intune"); the reconciler's pass. */
void enroll_intune_reconcile(struct gw_ctx *ctx, bool (*stopping)(void *arg),
    void *arg);
void enroll_op_cleanup(struct enroll_op *op);
int enroll_pkioperation(struct gw_ctx *ctx, struct enroll_op *op,
    const uint8_t *der, size_t len);
void enroll_finish(struct gw_ctx *ctx, struct enroll_op *op);

#endif
