/*
 * epki-sim's CRL: GET /crl/issuing.crl (the URL written into every leaf's
 * CRL distribution point) returns a DER CRL signed by the issuing CA with
 * SHA-256, listing every revoked order (status 7) by serial and revocation
 * date. Built afresh for each request: thisUpdate now, nextUpdate ten
 * minutes later, and a cRLNumber that only grows.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "gw_err.h"
#include "sim.h"

#define CRL_NEXT_UPDATE_S 600

/* Appends one revoked serial with its date to crl; 0 or -1. */
static int
crl_revoked_add(X509_CRL *crl, const ASN1_INTEGER *serial, time_t when)
{
	X509_REVOKED *rev = NULL;
	ASN1_INTEGER *sn = NULL;
	ASN1_TIME *t = NULL;
	int rc = -1;

	/* The setter copies, but takes a non-const pointer: copy first. */
	if ((rev = X509_REVOKED_new()) == NULL ||
	    (sn = ASN1_INTEGER_dup(serial)) == NULL ||
	    (t = ASN1_TIME_set(NULL, when)) == NULL ||
	    X509_REVOKED_set_serialNumber(rev, sn) != 1 ||
	    X509_REVOKED_set_revocationDate(rev, t) != 1 ||
	    X509_CRL_add0_revoked(crl, rev) != 1)
		goto out;
	rev = NULL;
	rc = 0;
out:
	X509_REVOKED_free(rev);
	ASN1_INTEGER_free(sn);
	ASN1_TIME_free(t);
	return rc;
}

/* Adds every revoked stored order to crl; 0 or -1. */
static int
crl_revoked_collect(struct sim *s, X509_CRL *crl, time_t now)
{
	struct sim_stored st;
	char **names = NULL;
	size_t i, n = 0;
	time_t when;
	int rc = -1;

	if (sim_order_names(s, &names, &n) == -1)
		goto out;
	for (i = 0; i < n; i++) {
		if (sim_stored_load(s, names[i], &st) == 0 &&
		    strcmp(st.status, "7") == 0) {
			/* An order revoked before dates were kept: now. */
			if (st.revoke_date == NULL ||
			    sim_date_parse(st.revoke_date, 0, &when) == -1)
				when = now;
			if (crl_revoked_add(crl,
				X509_get0_serialNumber(st.leaf), when) == -1) {
				sim_stored_cleanup(&st);
				goto out;
			}
		}
		sim_stored_cleanup(&st);
	}
	rc = 0;
out:
	sim_order_names_free(names, n);
	return rc;
}

/* Sets version 2, issuer, thisUpdate and nextUpdate; 0 or -1. */
static int
crl_header_set(const struct sim *s, X509_CRL *crl, time_t now)
{
	ASN1_TIME *t = NULL, *next = NULL;
	int rc = -1;

	if ((t = ASN1_TIME_set(NULL, now)) == NULL ||
	    (next = ASN1_TIME_set(NULL, now + CRL_NEXT_UPDATE_S)) == NULL ||
	    X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(s->ca)) != 1 ||
	    X509_CRL_set1_lastUpdate(crl, t) != 1 ||
	    X509_CRL_set1_nextUpdate(crl, next) != 1)
		goto out;
	rc = 0;
out:
	ASN1_TIME_free(t);
	ASN1_TIME_free(next);
	return rc;
}

/* Adds cRLNumber and authorityKeyIdentifier; 0 or -1. */
static int
crl_exts_add(const struct sim *s, X509_CRL *crl, unsigned long number)
{
	X509_EXTENSION *e = NULL;
	ASN1_INTEGER *ai = NULL;
	X509V3_CTX ctx;
	int rc = -1;

	if ((ai = ASN1_INTEGER_new()) == NULL ||
	    ASN1_INTEGER_set_uint64(ai, number) != 1 ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, ai, 0, 0) != 1)
		goto out;
	X509V3_set_ctx(&ctx, s->ca, NULL, NULL, crl, 0);
	if ((e = X509V3_EXT_nconf_nid(NULL, &ctx, NID_authority_key_identifier,
		 "keyid:always")) == NULL ||
	    X509_CRL_add_ext(crl, e, -1) != 1)
		goto out;
	rc = 0;
out:
	X509_EXTENSION_free(e);
	ASN1_INTEGER_free(ai);
	return rc;
}

/* Encodes crl as DER onto out; 0 or -1. */
static int
crl_der_add(X509_CRL *crl, struct buf *out)
{
	unsigned char *der = NULL;
	int n, rc;

	if ((n = i2d_X509_CRL(crl, &der)) <= 0)
		return -1;
	rc = buf_add(out, der, (size_t)n);
	OPENSSL_free(der);
	return rc;
}

/*
 * Builds the issuing CA's current CRL as DER onto out and counts the
 * call in s->crl_calls. Takes s->mu for the counter and the signature.
 * 0, or -1 with err set.
 */
int
sim_crl_der(struct sim *s, struct buf *out, struct gw_err *err)
{
	time_t now = time(NULL);
	X509_CRL *crl = NULL;
	unsigned long number;
	int rc = -1;

	pthread_mutex_lock(&s->mu);
	s->crl_calls++;
	/* Unique and increasing, across restarts too (RFC 5280 5.2.3). */
	number = s->crl_number + 1;
	if (number < (unsigned long)now)
		number = (unsigned long)now;
	s->crl_number = number;
	pthread_mutex_unlock(&s->mu);
	if ((crl = X509_CRL_new()) == NULL ||
	    crl_header_set(s, crl, now) == -1 ||
	    crl_revoked_collect(s, crl, now) == -1 ||
	    crl_exts_add(s, crl, number) == -1 || X509_CRL_sort(crl) != 1)
		goto out;
	pthread_mutex_lock(&s->mu);
	rc = X509_CRL_sign(crl, s->ca_key, EVP_sha256()) > 0 ? 0 : -1;
	pthread_mutex_unlock(&s->mu);
	if (rc == 0)
		rc = crl_der_add(crl, out);
out:
	if (rc == -1)
		gw_err_set_ossl(err, EIO, "building the CRL");
	X509_CRL_free(crl);
	return rc;
}
