/*
 * The client of Microsoft Intune's SCEP validation API (README "Microsoft
 * Intune"). Thread-safe. Tokens from Entra ID (client credentials), the
 * service's URL from Microsoft Graph's discovery, the three ScepActions
 * calls; every call runs on the client's own thread, never on the caller's.
 */
#ifndef GW_INTUNE_H
#define GW_INTUNE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

struct intune;
struct gw_intune_conf; /* from config */
struct gw_err;

int intune_new(struct intune **out, const struct gw_intune_conf *c,
    struct gw_err *err);
/* Waits for calls in flight; their callbacks run first. */
void intune_free(struct intune *in);

enum intune_outcome {
	INTUNE_OK,	    /* Intune answered code "Success" */
	INTUNE_REFUSED,	    /* Intune answered another code (code/description
			       say which) */
	INTUNE_UNAVAILABLE, /* no usable answer after the retries: token,
			       discovery, transport, 5xx, bad body */
};

struct intune_result {
	enum intune_outcome outcome;
	long http_status;      /* last HTTP status, 0 if none */
	char code[64];	       /* Intune's "code", or "" */
	char description[256]; /* Intune's errorDescription, or our reason;
				  never a secret */
	char activity_id[64];  /* the client-request-id we sent, for the log */
};

/*
 * Called exactly once per accepted submit, from the client's own thread,
 * never from the submitter's.
 */
typedef void intune_done_fn(void *arg, const struct intune_result *r);

/*
 * txid: the SCEP transactionID verbatim; csr: the DER PKCS#10 exactly as
 * received. Strings are copied. Return 0 (done will be called) or -1 with
 * err set (done will not be called): bad arguments, a body that cannot
 * be built, the client stopping, or too many calls (4096) already
 * waiting. done must not call intune_free().
 */
int intune_validate_submit(struct intune *in, const char *txid,
    const uint8_t *csr, size_t csr_len, intune_done_fn *done, void *arg,
    struct gw_err *err);
/* Thumbprint, serial, expiry and issuer are taken from cert. */
int intune_success_submit(struct intune *in, const char *txid,
    const uint8_t *csr, size_t csr_len, const X509 *cert, intune_done_fn *done,
    void *arg, struct gw_err *err);
int intune_failure_submit(struct intune *in, const char *txid,
    const uint8_t *csr, size_t csr_len, long hresult, const char *description,
    intune_done_fn *done, void *arg, struct gw_err *err);

/*
 * Blocking forms for the reconciler and the CLI (same result), run on the
 * caller's thread: out is always filled; 0 when out->outcome is INTUNE_OK,
 * else -1.
 */
int intune_success_call(struct intune *in, const char *txid, const uint8_t *csr,
    size_t csr_len, const X509 *cert, struct intune_result *out);
int intune_failure_call(struct intune *in, const char *txid, const uint8_t *csr,
    size_t csr_len, long hresult, const char *description,
    struct intune_result *out);

/*
 * The strings successNotification sends about cert, for the log and the
 * database (revocation requests name a certificate by them): the SHA-1
 * thumbprint of its DER in uppercase hex, its serial in uppercase hex,
 * notAfter as YYYY-MM-DDThh:mm:ss.000Z, the issuer as an RFC 2253 name.
 * Returns 0, or -1 when one does not fit or cannot be read.
 */
int intune_cert_facts(const X509 *cert, char thumb[41], char *serial,
    size_t serial_len, char expiry[32], char *issuer, size_t issuer_len);

/*
 * `scepgw check` (README "Commands"): the tenant, the credential, Graph's
 * Application.Read.All, the service discovery and Intune's
 * scep_challenge_provider, each proved by a live request with fresh
 * tokens (the caches are neither used nor filled), in that order; a line
 * after a failure is skipped. Each failing line names its fix.
 */
#define INTUNE_PROBE_LINES 5
enum intune_probe_state {
	INTUNE_PROBE_OK,
	INTUNE_PROBE_FAIL,
	INTUNE_PROBE_SKIP
};
struct intune_probe_line {
	enum intune_probe_state state;
	const char *what;
	char detail[512];
};
int intune_probe(struct intune *in,
    struct intune_probe_line lines[INTUNE_PROBE_LINES]);

#endif
