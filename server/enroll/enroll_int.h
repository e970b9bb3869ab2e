/*
 * Private to enrollment: what the state machine and the order (enroll.c)
 * and the admission of a new request (enroll_admit.c: whether a PKCSReq or
 * RenewalReq may start an order, and with which identity) share.
 */
#ifndef GW_ENROLL_INT_H
#define GW_ENROLL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/asn1.h>

#include "db.h"
#include "scep.h"
#include "template.h"

struct gw_ctx;
struct gw_profile;
struct enroll_op;

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

/* enroll.c */

/* The current time, in seconds since the epoch, as db/ stores it. */
int64_t enroll_now(void);
/* Marks op as a FAILURE with failInfo f and a short text. */
void enroll_op_fail(struct enroll_op *op, enum scep_fail f, const char *text);
/* Answers op with plain HTTP: for input that cannot carry a CertRep. */
void enroll_op_http(struct enroll_op *op, unsigned status, const char *text);
/* The profile op came in on: its own, else "default", or NULL. */
const struct gw_profile *enroll_op_profile(const struct gw_ctx *ctx,
    const struct enroll_op *op);
/* The log words for a refused challenge. */
const char *enroll_start_reason(enum db_start res);
/* Upper-case hex of a serial number into out. Returns 0 or -1. */
int enroll_serial_hex(const ASN1_INTEGER *sn, char *out, size_t n);

/* enroll_admit.c */

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
/* Refuses a SAN type EPKI cannot issue. Returns 0, or -1 (op failed). */
int enroll_csr_sans_check(struct enroll_op *op, const char *txid,
    const struct scep_csr_info *info);
/* Checks a renewal's carried-over identity as enroll_admit() does. 0/-1. */
int enroll_renew_admit(struct gw_ctx *ctx, struct enroll_op *op,
    const struct scep_csr_info *info, const struct renew_id *id);
/* Admits a new (not renewal) request: challenge, then identity. 0 or -1. */
int enroll_admit(struct gw_ctx *ctx, struct enroll_op *op,
    const struct scep_csr_info *info, const uint8_t chash[32], bool *is_static,
    struct enroll_ident *id);

#endif
