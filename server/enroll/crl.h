/*
 * GetCRL (RFC 8894 3.3.4): the issuing CA's CRL, fetched with libcurl
 * from the CRL distribution point of the RA certificate by a thread of
 * its own (at start-up, before each nextUpdate, with a back-off after a
 * failure), verified with the issuing CA's key; GetCRL reads the cache.
 */
#ifndef GW_CRL_H
#define GW_CRL_H

#include <stddef.h>

#include <openssl/x509.h>

struct crl_cache;
struct enroll_op;
struct gw_ctx;
struct gw_err;
struct scep_ra;

/* Limits of one fetch, and how long a CRL without nextUpdate is kept. */
struct crl_opts {
	long timeout_s;	     /* whole transfer; 0: 10 s */
	size_t max_bytes;    /* CRL size ceiling; 0: 10 MB */
	long default_ttl_s;  /* no nextUpdate; 0: 1 hour */
	long retry_s;	     /* first back-off after a failure; 0: 30 s */
	const char *ca_file; /* HTTPS trust anchors, or NULL */
};

/* How crl_cache_get1() found its CRL. */
enum crl_source {
	CRL_SRC_CACHE, /* the last fetch worked, within nextUpdate */
	CRL_SRC_STALE, /* the last fetch failed, or past nextUpdate */
	CRL_SRC__MAX
};

int crl_cache_new(struct crl_cache **out, const struct scep_ra *ra,
    const struct crl_opts *o, struct gw_err *err);
int crl_cache_start(struct crl_cache *c, struct gw_err *err);
void crl_cache_free(struct crl_cache *c);
const char *crl_cache_url(const struct crl_cache *c);
const X509_NAME *crl_cache_issuer(const struct crl_cache *c);
int crl_cache_get1(struct crl_cache *c, X509_CRL **out, enum crl_source *src,
    struct gw_err *err);
int crl_parse(const unsigned char *data, size_t len, const X509 *ca,
    X509_CRL **out, struct gw_err *err);
int crl_url_of(const X509 *cert, char **out);

/* The GetCRL PKIOperation (called by enroll_pkioperation()). */
void enroll_getcrl(struct gw_ctx *ctx, struct enroll_op *op);

#endif
