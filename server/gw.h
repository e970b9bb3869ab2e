/*
 * The gateway's wiring: one struct gw_ctx passed explicitly
 * to every part of server/, holding the loaded config and the long-lived
 * handles. Also the seam between the HTTP layer (http.c) and the
 * enrollment state machine (enroll.c).
 */
#ifndef GW_GW_H
#define GW_GW_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "epki.h"
#include "scep.h"

struct buf;
struct crl_cache;
struct db;
struct enroll;
struct reconcile;
struct gw_config;
struct gw_profile;
struct gw_err;
struct ndes;
struct srv_http;
struct admin;
struct ratelimit;

struct gw_ctx {
	const struct gw_config *cfg;
	struct db *db;
	struct scep_ra *ra;
	struct scep_policy pol;
	struct epki_client *epki; /* owns the upstream thread */
	struct epki_transport tr; /* how orders are sent (a seam for tests) */
	struct epki_auth auth;	  /* password owned here, wiped on exit */
	char *epki_password;
	struct enroll *enroll;	     /* in-flight orders, PENDING timer */
	struct reconcile *reconcile; /* finishes interrupted orders */
	struct crl_cache *crl;	     /* GetCRL: the issuing CA's CRL */
	struct srv_http *http;
	int http_fd; /* listener bound before the privilege drop, or -1 */
	struct admin *admin;  /* admin listener (admin.c), or NULL */
	struct ratelimit *rl; /* failure limit per address, or NULL */
	struct ndes *ndes;    /* NDES login threads, or NULL: page off */
};

/* A reply the HTTP layer sends: status, content type, bytes. */
struct srv_reply {
	unsigned http_status;
	const char *content_type;
	uint8_t *body; /* malloc'd, freed by the HTTP layer */
	size_t len;
};

/*
 * One PKIOperation in progress. The HTTP layer owns it (it lives in MHD's
 * con_cls); enroll.c fills it, possibly later from another thread, and
 * then calls the resume function the HTTP layer put in it.
 */
struct enroll_op {
	struct scep_msg *msg;		  /* the decoded request */
	char peer[64];			  /* client address, for logs */
	const struct gw_profile *profile; /* from the path; NULL: default */
	bool done;			  /* reply is ready */
	struct srv_reply reply;
	void (*resume)(void *arg); /* called once when an async op ends */
	void *resume_arg;
	/* set by enroll.c while an order is in flight */
	enum scep_status status;
	enum scep_fail fail;
	char fail_text[128]; /* short, non-revealing */
	X509 *cert;	     /* SUCCESS */
	void *job;	     /* enroll.c's handle while attached */
};

/* enroll.c */
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

/* reconcile.c */
int reconcile_new(struct reconcile **out, struct gw_ctx *ctx,
    struct gw_err *err);
void reconcile_stop(struct reconcile *r);
void reconcile_free(struct reconcile *r);
void reconcile_kick(struct reconcile *r);
void enroll_op_cleanup(struct enroll_op *op);
int enroll_pkioperation(struct gw_ctx *ctx, struct enroll_op *op,
    const uint8_t *der, size_t len);
void enroll_finish(struct gw_ctx *ctx, struct enroll_op *op);

/* http.c */
struct MHD_Connection;
void srv_client_addr(const struct gw_ctx *ctx, struct MHD_Connection *conn,
    char *out, size_t n);
int srv_http_start(struct srv_http **out, struct gw_ctx *ctx,
    struct gw_err *err);
unsigned srv_http_port(const struct srv_http *h);
void srv_http_quiesce(struct srv_http *h);
unsigned srv_http_connections(const struct srv_http *h);
int srv_http_bind(const char *listen, int *fd, struct gw_err *err);
void srv_http_stop(struct srv_http *h);

/* serve.c */
int serve_conf_check(const char *conf);
int serve_run(const struct gw_config *cfg);
int serve_ra_load(const struct gw_config *cfg, struct scep_ra **out,
    struct gw_err *err);
void serve_epki_opts(const struct gw_config *cfg, struct epki_client_opts *o);

#endif
