/*
 * Decodes the CERT text of an EPKI response into certificates (its format
 * is undocumented, so every likely one is read): PEM with PKCS7 or
 * CERTIFICATE armour, or bare base64 of a PKCS#7 SignedData or of one X.509
 * certificate, with any line breaks (CR included) and surrounding
 * whitespace. No I/O.
 */
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "gw_err.h"
#include "epki.h"
#include "epki_int.h"
#include "pubkey.h"

/* Whitespace that may break base64 lines. */
static bool
cert_b64_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Decodes n characters of base64 (whitespace skipped) into der. */
static int
cert_b64_decode(const char *s, size_t n, struct buf *der)
{
	EVP_ENCODE_CTX *ctx = NULL;
	struct buf clean;
	int outl = 0, fin = 0, rc = -1;
	size_t i, run;

	buf_init(&clean, EPKI_CERT_MAX);
	buf_reset(der);
	/* Copied a line at a time, not a byte at a time. */
	for (i = 0; i < n; i += run + 1) {
		for (run = 0; i + run < n && !cert_b64_space(s[i + run]); run++)
			;
		if (run > 0 && buf_add(&clean, &s[i], run) == -1)
			goto out;
	}
	if (clean.len == 0 || clean.len > INT_MAX ||
	    buf_add(der, NULL, 0) == -1 ||
	    buf_add(der, clean.data, clean.len) == -1)
		goto out;
	if ((ctx = EVP_ENCODE_CTX_new()) == NULL)
		goto out;
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, der->data, &outl, clean.data,
		(int)clean.len) < 0)
		goto out;
	if (EVP_DecodeFinal(ctx, der->data + outl, &fin) != 1)
		goto out;
	der->len = (size_t)outl + (size_t)fin;
	rc = 0;
out:
	EVP_ENCODE_CTX_free(ctx);
	buf_cleanup(&clean);
	return rc;
}

/*
 * Issuing CA certificates seen in answers, kept decoded: every order's
 * answer repeats the same chain, and with OpenSSL 3.0 decoding a
 * certificate (its public key) costs more than the RSA signature of the
 * CertRep. Only CA certificates are kept, at most CERT_CACHE_MAX, never
 * evicted; the objects are shared read-only (up-referenced).
 */
#define CERT_CACHE_MAX 8
static struct {
	unsigned char *der;
	size_t len;
	X509 *x;
} cert_cache[CERT_CACHE_MAX];
static size_t cert_cache_n;
static pthread_mutex_t cert_cache_mu = PTHREAD_MUTEX_INITIALIZER;

/* Whether bare certificate x says it is a CA (basicConstraints cA). */
static bool
cert_is_ca(const X509 *x)
{
	BASIC_CONSTRAINTS *bc;
	bool ca;

	bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
	ca = bc != NULL && bc->ca != 0;
	BASIC_CONSTRAINTS_free(bc);
	return ca;
}

/*
 * Decodes the certificate p (n bytes, exactly): a CA certificate in full,
 * from the cache when it is known; any other (the issued leaf, which is
 * only stored, matched by key and passed on) bare, its key undecoded
 * (pubkey.h). A new reference, or NULL.
 */
static X509 *
cert_decode_cached(const unsigned char *p, size_t n)
{
	const unsigned char *q = p;
	unsigned char *copy;
	X509 *x = NULL;
	size_t i;

	pthread_mutex_lock(&cert_cache_mu);
	for (i = 0; i < cert_cache_n; i++)
		if (cert_cache[i].len == n &&
		    memcmp(cert_cache[i].der, p, n) == 0) {
			x = cert_cache[i].x;
			X509_up_ref(x);
			break;
		}
	pthread_mutex_unlock(&cert_cache_mu);
	if (x != NULL)
		return x;
	if ((x = gw_x509_d2i_bare(p, n)) == NULL || !cert_is_ca(x))
		return x;
	X509_free(x);
	if ((x = d2i_X509(NULL, &q, (long)n)) == NULL || q != p + n) {
		X509_free(x);
		return NULL;
	}
	if (X509_check_ca(x) <= 0 || (copy = OPENSSL_memdup(p, n)) == NULL)
		return x;
	pthread_mutex_lock(&cert_cache_mu);
	if (cert_cache_n < CERT_CACHE_MAX && X509_up_ref(x) == 1) {
		cert_cache[cert_cache_n].der = copy;
		cert_cache[cert_cache_n].len = n;
		cert_cache[cert_cache_n].x = x;
		cert_cache_n++;
		copy = NULL;
	}
	pthread_mutex_unlock(&cert_cache_mu);
	OPENSSL_free(copy);
	return x;
}

/*
 * Reads the DER header at *p (at most *left bytes): the element must have
 * the given class and tag and a definite length within *left. Advances *p
 * past the header, sets *len and takes header and content off *left.
 * 0, or -1.
 */
static int
cert_der_enter(const unsigned char **p, size_t *left, int cls, int tag,
    long *len)
{
	const unsigned char *start = *p;
	int t, c, r;

	if (*left > LONG_MAX)
		return -1;
	r = ASN1_get_object(p, len, &t, &c, (long)*left);
	if ((r & 0x80) != 0 || (r & 0x01) != 0 || t != tag || c != cls)
		return -1;
	*left -= (size_t)(*p - start) + (size_t)*len;
	return 0;
}

/*
 * The certificates of a DER PKCS#7 SignedData, found without decoding the
 * rest of it: ContentInfo { signedData, [0] SignedData { version,
 * digestAlgorithms, contentInfo, [0] IMPLICIT certificates ... } }.
 * 0 (sk filled), 1 when the layout is not the plain one this walks
 * (indefinite lengths, no certificates: the caller decodes it in full),
 * -1 on a certificate that does not decode.
 */
static int
cert_add_pkcs7_fast(const struct buf *der, STACK_OF(X509) *sk)
{
	static const unsigned char oid_signed[] = { 0x2a, 0x86, 0x48, 0x86,
		0xf7, 0x0d, 0x01, 0x07, 0x02 };
	const unsigned char *p = der->data, *end;
	size_t left = der->len, inner;
	long len;
	X509 *x;
	int i;

	if (cert_der_enter(&p, &left, V_ASN1_UNIVERSAL, V_ASN1_SEQUENCE,
		&len) == -1 ||
	    left != 0)
		return 1;
	inner = (size_t)len;
	if (cert_der_enter(&p, &inner, V_ASN1_UNIVERSAL, V_ASN1_OBJECT, &len) ==
		-1 ||
	    (size_t)len != sizeof(oid_signed) ||
	    memcmp(p, oid_signed, sizeof(oid_signed)) != 0)
		return 1;
	p += len;
	if (cert_der_enter(&p, &inner, V_ASN1_CONTEXT_SPECIFIC, 0, &len) ==
		-1 ||
	    inner != 0)
		return 1;
	inner = (size_t)len;
	if (cert_der_enter(&p, &inner, V_ASN1_UNIVERSAL, V_ASN1_SEQUENCE,
		&len) == -1 ||
	    inner != 0)
		return 1;
	inner = (size_t)len;
	/* version, digestAlgorithms, contentInfo: skipped. */
	for (i = 0; i < 3; i++) {
		if (cert_der_enter(&p, &inner, V_ASN1_UNIVERSAL,
			i == 0	   ? V_ASN1_INTEGER :
			    i == 1 ? V_ASN1_SET :
				     V_ASN1_SEQUENCE,
			&len) == -1)
			return 1;
		p += len;
	}
	if (cert_der_enter(&p, &inner, V_ASN1_CONTEXT_SPECIFIC, 0, &len) == -1)
		return 1;
	end = p + len;
	while (p < end) {
		const unsigned char *c = p;
		size_t rest = (size_t)(end - p);

		if (cert_der_enter(&p, &rest, V_ASN1_UNIVERSAL, V_ASN1_SEQUENCE,
			&len) == -1)
			return -1;
		p += len;
		if ((x = cert_decode_cached(c, (size_t)(p - c))) == NULL)
			return -1;
		if (sk_X509_push(sk, x) <= 0) {
			X509_free(x);
			return -1;
		}
	}
	return sk_X509_num(sk) > 0 ? 0 : 1;
}

/* Appends the certificates of a PKCS#7 SignedData; -1 if it is not one. */
static int
cert_add_pkcs7(const struct buf *der, STACK_OF(X509) *sk)
{
	const unsigned char *p = der->data;
	STACK_OF(X509) *in;
	PKCS7 *p7;
	int i, rc = -1;

	if ((in = sk_X509_new_null()) == NULL)
		return -1;
	rc = cert_add_pkcs7_fast(der, in);
	for (i = 0; rc == 0 && i < sk_X509_num(in); i++) {
		if (sk_X509_push(sk, sk_X509_value(in, i)) <= 0)
			rc = -1;
		else
			X509_up_ref(sk_X509_value(in, i));
	}
	sk_X509_pop_free(in, X509_free);
	if (rc != 1)
		return rc;
	rc = -1;
	p7 = d2i_PKCS7(NULL, &p, (long)der->len);
	if (p7 == NULL || p != der->data + der->len ||
	    PKCS7_type_is_signed(p7) == 0 || p7->d.sign == NULL)
		goto out;
	in = p7->d.sign->cert;
	for (i = 0; in != NULL && i < sk_X509_num(in); i++) {
		if (sk_X509_push(sk, sk_X509_value(in, i)) <= 0)
			goto out;
		X509_up_ref(sk_X509_value(in, i));
	}
	rc = 0;
out:
	PKCS7_free(p7);
	return rc;
}

/* Appends one DER X.509 certificate; -1 if it is not one. */
static int
cert_add_x509(const struct buf *der, STACK_OF(X509) *sk)
{
	X509 *x;

	x = cert_decode_cached(der->data, der->len);
	if (x == NULL || sk_X509_push(sk, x) <= 0) {
		X509_free(x);
		return -1;
	}
	return 0;
}

/* Decodes one base64 block and appends what it holds. */
static int
cert_add_block(const char *s, size_t n, STACK_OF(X509) *sk, struct buf *der)
{
	if (cert_b64_decode(s, n, der) == -1)
		return -1;
	/*
	 * An outer ContentInfo (signedData) means PKCS#7; a failed
	 * first guess is expected, so its errors leave the queue.
	 */
	ERR_set_mark();
	if (cert_add_pkcs7(der, sk) == 0) {
		ERR_pop_to_mark();
		return 0;
	}
	ERR_pop_to_mark();
	return cert_add_x509(der, sk);
}

/* Walks the PEM blocks of text; -1 on any block that does not decode. */
static int
cert_add_pem(const char *text, STACK_OF(X509) *sk, struct buf *der)
{
	const char *p = text, *b, *e;
	int nblocks = 0;

	while ((b = strstr(p, "-----BEGIN ")) != NULL) {
		/* The armour line ends with the second run of dashes. */
		if ((b = strstr(b + 11, "-----")) == NULL)
			return -1;
		b += 5;
		if ((e = strstr(b, "-----END ")) == NULL)
			return -1;
		if (cert_add_block(b, (size_t)(e - b), sk, der) == -1)
			return -1;
		if ((p = strstr(e + 9, "-----")) == NULL)
			return -1;
		p += 5;
		nblocks++;
	}
	return nblocks > 0 ? 0 : -1;
}

/*
 * Decodes CERT text into a new stack of certificates; the caller frees it
 * with sk_X509_pop_free(sk, X509_free). On failure *out is NULL.
 */
int
epki_cert_decode(const char *text, STACK_OF(X509) **out, struct gw_err *err)
{
	STACK_OF(X509) *sk = NULL;
	struct buf der;
	int rc = -1;

	*out = NULL;
	buf_init(&der, EPKI_CERT_MAX);
	if ((sk = sk_X509_new_null()) == NULL)
		goto out;
	if (strstr(text, "-----BEGIN ") != NULL)
		rc = cert_add_pem(text, sk, &der);
	else
		rc = cert_add_block(text, strlen(text), sk, &der);
	if (rc == 0 && sk_X509_num(sk) == 0)
		rc = -1;
	if (rc == -1)
		goto out;
	*out = sk;
	sk = NULL;
out:
	if (rc == -1)
		gw_err_set_ossl(err, -1,
		    "CERT: not PEM or base64 of "
		    "PKCS#7 or X.509");
	sk_X509_pop_free(sk, X509_free);
	buf_cleanup(&der);
	return rc;
}

/*
 * The certificate in r whose public key equals pub (pick the leaf by the
 * CSR's key, not by position); borrowed, or NULL.
 */
const X509 *
epki_resp_get0_cert_for_key(const struct epki_resp *r, const EVP_PKEY *pub)
{
	const X509 *x;
	int i;

	if (r == NULL || r->certs == NULL || pub == NULL)
		return NULL;
	for (i = 0; i < sk_X509_num(r->certs); i++) {
		x = sk_X509_value(r->certs, i);
		if (gw_x509_has_key(x, pub))
			break;
	}
	return i < sk_X509_num(r->certs) ? sk_X509_value(r->certs, i) : NULL;
}

/*
 * Whether r holds an end-entity certificate (one that does not say it is
 * a CA): an issued certificate, whatever its key.
 */
bool
epki_resp_has_leaf(const struct epki_resp *r)
{
	int i;

	if (r == NULL || r->certs == NULL)
		return false;
	for (i = 0; i < sk_X509_num(r->certs); i++)
		if (!cert_is_ca(sk_X509_value(r->certs, i)))
			return true;
	return false;
}
