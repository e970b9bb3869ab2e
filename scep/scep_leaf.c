/*
 * Checks a certificate the CA returned for one of our orders before it is
 * stored or sent to a device: signed by a certificate of the configured
 * CA chain and valid now. Cheap enough for every order (one signature
 * check with a key decoded at load; no X509_STORE, no decoding of the
 * leaf's own key). No I/O.
 */
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "gw_err.h"
#include "scep.h"

/* Clock difference tolerated on a new certificate's notBefore. */
#define LEAF_SKEW_SECONDS 600

/*
 * The chain certificate named as leaf's issuer whose key verifies leaf's
 * signature, or NULL.
 */
static const X509 *
leaf_signer(const STACK_OF(X509) *chain, const X509 *leaf)
{
	const X509_NAME *issuer = X509_get_issuer_name(leaf);
	EVP_PKEY *key;
	X509 *ca;
	int i;

	for (i = 0; i < sk_X509_num(chain); i++) {
		ca = sk_X509_value(chain, i);
		if (X509_NAME_cmp(X509_get_subject_name(ca), issuer) != 0)
			continue;
		/* X509_verify() only reads leaf (its encoding is cached). */
		key = X509_get0_pubkey(ca);
		if (key != NULL &&
		    X509_verify((X509 *)(uintptr_t)leaf, key) == 1)
			return ca;
	}
	return NULL;
}

/*
 * Checks that leaf (bare or not, pubkey.h), a certificate the CA issued
 * for us, is signed by the certificate of the RA's CA chain named as its
 * issuer and is valid at now (its notBefore may be up to ten minutes
 * ahead: the CA's clock is not ours). The chain itself is trusted as
 * configured ([ra] ca_chain). Returns 0, or -1 with the reason in err
 * (code SCEP_FAIL_BADCERTID). Leaves the OpenSSL error queue empty.
 */
int
scep_leaf_verify(const struct scep_ra *ra, const X509 *leaf, int64_t now,
    struct gw_err *err)
{
	const STACK_OF(X509) *chain = scep_ra_get0_chain(ra);
	time_t t = (time_t)now, ahead = (time_t)(now + LEAF_SKEW_SECONDS);
	int rc = -1;

	if (sk_X509_num(chain) <= 0) {
		gw_err_set(err, SCEP_FAIL_BADCERTID, "no CA chain");
		goto out;
	}
	if (leaf_signer(chain, leaf) == NULL) {
		gw_err_set(err, SCEP_FAIL_BADCERTID,
		    "not signed by a certificate of [ra] ca_chain");
		goto out;
	}
	if (X509_cmp_time(X509_get0_notBefore(leaf), &ahead) >= 0) {
		gw_err_set(err, SCEP_FAIL_BADCERTID, "not yet valid");
		goto out;
	}
	if (X509_cmp_time(X509_get0_notAfter(leaf), &t) <= 0) {
		gw_err_set(err, SCEP_FAIL_BADCERTID, "expired");
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	return rc;
}
