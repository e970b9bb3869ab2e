/*
 * Certificates, requests and public keys without OpenSSL 3.0's decoder
 * chains; see pubkey.h.
 */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/provider.h>

#include "pubkey.h"

static OSSL_LIB_CTX *bare_ctx;
static pthread_once_t bare_once = PTHREAD_ONCE_INIT;

/*
 * A library context with only the null provider: no decoders. Made this
 * thread's default around a d2i, it leaves the public key undecoded
 * (OpenSSL 3.0 gives an X509_PUBKEY the default context when it is
 * created; for X509_REQ even X509_REQ_new_ex() does not pass its own
 * down). The object keeps no pointer to it: once decoded, it uses the
 * real default for everything else. Never freed.
 */
static void
bare_init(void)
{
	OSSL_LIB_CTX *c;

	if ((c = OSSL_LIB_CTX_new()) != NULL &&
	    OSSL_PROVIDER_load(c, "null") == NULL) {
		OSSL_LIB_CTX_free(c);
		c = NULL;
	}
	bare_ctx = c;
}

/* Makes the decoder-free context this thread's default; returns the
 * previous default for bare_leave(). */
static OSSL_LIB_CTX *
bare_enter(void)
{
	pthread_once(&bare_once, bare_init);
	ERR_set_mark();
	return bare_ctx != NULL ? OSSL_LIB_CTX_set0_default(bare_ctx) : NULL;
}

/* Restores the default; keeps the error queue as it was when ok, else
 * keeps the decoder's errors. */
static void
bare_leave(OSSL_LIB_CTX *prev, bool ok)
{
	if (bare_ctx != NULL)
		OSSL_LIB_CTX_set0_default(prev);
	if (ok)
		ERR_pop_to_mark();
	else
		ERR_clear_last_mark();
}

/*
 * Decodes *p (at most len bytes) as item it with its public key left
 * undecoded, advancing *p; NULL if it is not one. The key's failed
 * decoding leaves nothing on the error queue.
 */
static void *
d2i_bare(const ASN1_ITEM *it, const unsigned char **p, long len)
{
	OSSL_LIB_CTX *prev = bare_enter();
	void *v;

	v = ASN1_item_d2i(NULL, p, len, it);
	bare_leave(prev, v != NULL);
	return v;
}

/*
 * Decodes exactly len bytes of DER as a certificate whose key is not
 * decoded: X509_get0_pubkey() is NULL (gw_x509_has_key() works), and so
 * chain verification with it as the leaf fails (gw_x509_full()). For
 * certificates that are only stored, compared by key and passed on.
 * NULL if it is not one.
 */
X509 *
gw_x509_d2i_bare(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x;

	if (len > LONG_MAX)
		return NULL;
	x = d2i_bare(ASN1_ITEM_rptr(X509), &p, (long)len);
	if (x != NULL && p != der + len) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* v (of item it) encoded and read back with OpenSSL's decoders in the
 * default context, its key decoded: a new object, or NULL. */
static void *
d2i_full(const ASN1_ITEM *it, const void *v)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	void *full = NULL;
	int len;

	if ((len = ASN1_item_i2d((const ASN1_VALUE *)v, &der, it)) > 0) {
		p = der;
		full = ASN1_item_d2i(NULL, &p, len, it);
	}
	OPENSSL_free(der);
	return full;
}

/* A fully decoded copy of certificate x (bare or not), or NULL. */
X509 *
gw_x509_full(const X509 *x)
{
	return d2i_full(ASN1_ITEM_rptr(X509), x);
}

/*
 * Decodes a CMS ContentInfo at *p (at most len bytes), advancing *p, with
 * the keys of the certificates it carries not decoded (as
 * gw_x509_d2i_bare()); gw_x509_keyed() gives one of them a key. NULL if
 * it is not one.
 */
CMS_ContentInfo *
gw_cms_d2i_bare(const unsigned char **p, long len)
{
	OSSL_LIB_CTX *prev = bare_enter();
	CMS_ContentInfo *cms;

	cms = d2i_CMS_ContentInfo(NULL, p, len);
	bare_leave(prev, cms != NULL);
	return cms;
}

/*
 * A certificate to give OpenSSL where it needs the public key of x (bare
 * or not): CMS signature checks, a KeyTransRecipientInfo. For an RSA key
 * it is a stand-in carrying x's issuer, serial number and subject and the
 * key read straight from its DER as an RSAPublicKey (d2i_PublicKey, a
 * few microseconds, against ~70 for OpenSSL 3.0's decoders; a key made
 * by a provider would be no cheaper, as putting one into a certificate
 * runs the encoders). The stand-in has no extensions, validity or
 * signature: it must never be verified, stored or sent. Any other key
 * gets x decoded in full. NULL when the key is unusable.
 */
X509 *
gw_x509_keyed(const X509 *x)
{
	const unsigned char *pk;
	ASN1_OBJECT *oid;
	EVP_PKEY *k = NULL;
	X509 *s = NULL;
	int pklen;

	if (X509_PUBKEY_get0_param(&oid, &pk, &pklen, NULL,
		X509_get_X509_PUBKEY(x)) != 1)
		return NULL;
	if (OBJ_obj2nid(oid) != NID_rsaEncryption)
		return gw_x509_full(x);
	ERR_set_mark();
	if ((k = d2i_PublicKey(EVP_PKEY_RSA, NULL, &pk, pklen)) == NULL ||
	    (s = X509_new()) == NULL ||
	    X509_set_issuer_name(s, X509_get_issuer_name(x)) != 1 ||
	    X509_set_subject_name(s, X509_get_subject_name(x)) != 1 ||
	    X509_set_serialNumber(s,
		(ASN1_INTEGER *)(uintptr_t)X509_get0_serialNumber(x)) != 1 ||
	    X509_set_pubkey(s, k) != 1) {
		X509_free(s);
		s = NULL;
	}
	EVP_PKEY_free(k);
	ERR_pop_to_mark();
	return s != NULL ? s : gw_x509_full(x);
}

/*
 * Decodes a PKCS#10 request at *p (at most len bytes) with its key not
 * decoded, advancing *p: X509_REQ_get0_pubkey() is NULL; take the key
 * with gw_spki_pkey(X509_REQ_get_X509_PUBKEY()). NULL if it is not one.
 */
X509_REQ *
gw_req_d2i_bare(const unsigned char **p, long len)
{
	return d2i_bare(ASN1_ITEM_rptr(X509_REQ), p, len);
}

/* An INTEGER at *p (before end) as a positive BIGNUM, or NULL. */
static BIGNUM *
der_uint(const unsigned char **p, const unsigned char *end)
{
	ASN1_INTEGER *i;
	BIGNUM *bn = NULL;

	if ((i = d2i_ASN1_INTEGER(NULL, p, end - *p)) != NULL &&
	    ASN1_STRING_type(i) == V_ASN1_INTEGER)
		bn = ASN1_INTEGER_to_BN(i, NULL);
	ASN1_INTEGER_free(i);
	return bn;
}

/* Makes a public key of type name from params; NULL on failure. */
static EVP_PKEY *
key_fromdata(const char *name, OSSL_PARAM *params)
{
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *k = NULL;

	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		k = NULL;
	EVP_PKEY_CTX_free(ctx);
	return k;
}

/* RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } */
static EVP_PKEY *
rsa_key(const unsigned char *pk, int pklen)
{
	const unsigned char *p = pk, *end;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	BIGNUM *n = NULL, *e = NULL;
	EVP_PKEY *k = NULL;
	long len;
	int tag, cls;

	if ((ASN1_get_object(&p, &len, &tag, &cls, pklen) & 0x81) != 0 ||
	    tag != V_ASN1_SEQUENCE || cls != V_ASN1_UNIVERSAL ||
	    p + len != pk + pklen)
		return NULL;
	end = p + len;
	if ((n = der_uint(&p, end)) != NULL &&
	    (e = der_uint(&p, end)) != NULL && p == end &&
	    (bld = OSSL_PARAM_BLD_new()) != NULL &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) == 1 &&
	    (params = OSSL_PARAM_BLD_to_param(bld)) != NULL)
		k = key_fromdata("RSA", params);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return k;
}

/* An EC key on a named curve: the point is the key's octets. */
static EVP_PKEY *
ec_key(const X509_ALGOR *alg, const unsigned char *pk, int pklen)
{
	OSSL_PARAM params[3];
	const void *pval;
	const char *curve;
	int ptype;

	X509_ALGOR_get0(NULL, &ptype, &pval, alg);
	if (ptype != V_ASN1_OBJECT ||
	    (curve = OBJ_nid2sn(OBJ_obj2nid(pval))) == NULL ||
	    strcmp(curve, SN_undef) == 0)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    (char *)(uintptr_t)curve, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    (void *)(uintptr_t)pk, (size_t)pklen);
	params[2] = OSSL_PARAM_construct_end();
	return key_fromdata("EC", params);
}

/* Any key, the slow way: OpenSSL's decoders in the default context. */
static EVP_PKEY *
spki_decode(const X509_PUBKEY *spki)
{
	X509_PUBKEY *full = d2i_full(ASN1_ITEM_rptr(X509_PUBKEY), spki);
	EVP_PKEY *k = X509_PUBKEY_get(full);

	X509_PUBKEY_free(full);
	return k;
}

/*
 * The key of a SubjectPublicKeyInfo (a new reference), built from its
 * parameters for rsaEncryption and named-curve EC keys, decoded the
 * usual way for anything else or anything unusual. NULL if it is not
 * a key OpenSSL can use.
 */
EVP_PKEY *
gw_spki_pkey(const X509_PUBKEY *spki)
{
	ASN1_OBJECT *oid;
	X509_ALGOR *alg;
	const unsigned char *pk;
	EVP_PKEY *k = NULL;
	int pklen;

	if (spki == NULL ||
	    X509_PUBKEY_get0_param(&oid, &pk, &pklen, &alg, spki) != 1)
		return NULL;
	ERR_set_mark();
	switch (OBJ_obj2nid(oid)) {
	case NID_rsaEncryption:
		k = rsa_key(pk, pklen);
		break;
	case NID_X9_62_id_ecPublicKey:
		k = ec_key(alg, pk, pklen);
		break;
	default:
		break;
	}
	ERR_pop_to_mark();
	return k != NULL ? k : spki_decode(spki);
}

/* Whether two SubjectPublicKeyInfos are the same, field for field. */
bool
gw_spki_eq(const X509_PUBKEY *a, const X509_PUBKEY *b)
{
	const unsigned char *ka, *kb;
	X509_ALGOR *aa, *ab;
	int la, lb;

	if (a == NULL || b == NULL ||
	    X509_PUBKEY_get0_param(NULL, &ka, &la, &aa, a) != 1 ||
	    X509_PUBKEY_get0_param(NULL, &kb, &lb, &ab, b) != 1)
		return false;
	return la == lb && memcmp(ka, kb, (size_t)la) == 0 &&
	    X509_ALGOR_cmp(aa, ab) == 0;
}

/*
 * Whether certificate x (bare or not) carries the public key pub. Keys
 * of different types are simply unequal; no error is left queued.
 */
bool
gw_x509_has_key(const X509 *x, const EVP_PKEY *pub)
{
	EVP_PKEY *k;
	bool eq;

	if (x == NULL || pub == NULL)
		return false;
	ERR_set_mark();
	if ((k = X509_get0_pubkey(x)) != NULL) {
		eq = EVP_PKEY_eq(k, pub) == 1;
	} else {
		k = gw_spki_pkey(X509_get_X509_PUBKEY(x));
		eq = k != NULL && EVP_PKEY_eq(k, pub) == 1;
		EVP_PKEY_free(k);
	}
	ERR_pop_to_mark();
	return eq;
}
