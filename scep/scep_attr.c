/*
 * CMS helpers shared by the request parser, the CertRep builder and the
 * test client: SCEP signed attributes in and out, the signer certificate,
 * degenerate certs-only and CRL bags, and what an EnvelopedData was encrypted
 * with. No I/O, no state.
 */
#include <stdint.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/cms.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "scep.h"
#include "scep_int.h"

/*
 * The single value of a signed attribute that must occur once, or NULL
 * when it is missing, repeated or multi-valued.
 */
static ASN1_TYPE *
attr_get0_value(CMS_SignerInfo *si, enum scep_attr a)
{
	const ASN1_OBJECT *obj;
	X509_ATTRIBUTE *at;
	int i;

	if ((obj = scep_attr_obj(a)) == NULL)
		return NULL;
	if ((i = CMS_signed_get_attr_by_OBJ(si, obj, -1)) < 0)
		return NULL;
	if (CMS_signed_get_attr_by_OBJ(si, obj, i) >= 0)
		return NULL;
	at = CMS_signed_get_attr(si, i);
	if (at == NULL || X509_ATTRIBUTE_count(at) != 1)
		return NULL;
	return X509_ATTRIBUTE_get0_type(at, 0);
}

/*
 * Copies a string-valued attribute into out as a C string. RFC 8894 asks
 * for PrintableString (RFC 8894 section 3.2.1); other string types are
 * tolerated on input, but only with printable ASCII (0x20 to 0x7e) in
 * them: a transactionID is stored and looked up as text, and every
 * database must take it as it is. Returns 0, or -1 when absent, empty,
 * too long, not a string or not printable ASCII.
 */
int
scep_attr_get_string(CMS_SignerInfo *si, enum scep_attr a, char *out,
    size_t size)
{
	const ASN1_TYPE *t;
	const unsigned char *p;
	int len, i;

	if ((t = attr_get0_value(si, a)) == NULL)
		return -1;
	switch (t->type) {
	case V_ASN1_PRINTABLESTRING:
	case V_ASN1_UTF8STRING:
	case V_ASN1_IA5STRING:
	case V_ASN1_T61STRING:
	case V_ASN1_VISIBLESTRING:
		break;
	default:
		return -1;
	}
	len = ASN1_STRING_length(t->value.asn1_string);
	p = ASN1_STRING_get0_data(t->value.asn1_string);
	if (len <= 0 || (size_t)len >= size)
		return -1;
	for (i = 0; i < len; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return -1;
	memcpy(out, p, (size_t)len);
	out[len] = '\0';
	return 0;
}

/*
 * Copies an OCTET STRING attribute into out (size bytes) and its length
 * into *len. Returns 0, or -1 when absent, empty or too long.
 */
int
scep_attr_get_octets(CMS_SignerInfo *si, enum scep_attr a, uint8_t *out,
    size_t size, size_t *len)
{
	const ASN1_TYPE *t;
	int n;

	*len = 0;
	if ((t = attr_get0_value(si, a)) == NULL ||
	    t->type != V_ASN1_OCTET_STRING)
		return -1;
	n = ASN1_STRING_length(t->value.octet_string);
	if (n <= 0 || (size_t)n > size)
		return -1;
	memcpy(out, ASN1_STRING_get0_data(t->value.octet_string), (size_t)n);
	*len = (size_t)n;
	return 0;
}

/*
 * Adds a string attribute: PrintableString, except failInfoText, which
 * RFC 8894 3.2.1.4 defines as UTF8String. Returns 0 or -1.
 */
int
scep_attr_add_string(CMS_SignerInfo *si, enum scep_attr a, const char *s)
{
	const ASN1_OBJECT *obj;
	size_t len = strlen(s);
	int type;

	type = a == SCEP_ATTR_FAILINFOTEXT ? V_ASN1_UTF8STRING :
					     V_ASN1_PRINTABLESTRING;
	if ((obj = scep_attr_obj(a)) == NULL || len == 0 || len > INT_MAX)
		return -1;
	if (CMS_signed_add1_attr_by_OBJ(si, obj, type, s, (int)len) != 1)
		return -1;
	return 0;
}

/* Adds an OCTET STRING attribute (a nonce). Returns 0 or -1. */
int
scep_attr_add_octets(CMS_SignerInfo *si, enum scep_attr a, const uint8_t *p,
    size_t len)
{
	const ASN1_OBJECT *obj;

	if ((obj = scep_attr_obj(a)) == NULL || len == 0 || len > INT_MAX)
		return -1;
	if (CMS_signed_add1_attr_by_OBJ(si, obj, V_ASN1_OCTET_STRING, p,
		(int)len) != 1)
		return -1;
	return 0;
}

/*
 * The certificate of the SignedData's certificates set that the signer
 * identifier names (issuerAndSerialNumber or subjectKeyIdentifier).
 * Returns a new reference (caller frees with X509_free()), or NULL.
 */
X509 *
scep_signer_find(CMS_ContentInfo *cms, CMS_SignerInfo *si)
{
	STACK_OF(X509) *certs;
	X509 *x, *found = NULL;
	int i;

	if ((certs = CMS_get1_certs(cms)) == NULL)
		return NULL;
	for (i = 0; i < sk_X509_num(certs) && found == NULL; i++) {
		x = sk_X509_value(certs, i);
		if (CMS_SignerInfo_cert_cmp(si, x) == 0 && X509_up_ref(x) == 1)
			found = x;
	}
	sk_X509_pop_free(certs, X509_free);
	return found;
}

/* Appends a copy of x to the PKCS#7 certificate list; 0 or -1. */
static int
bag_push(PKCS7 *p7, const X509 *x)
{
	/* PKCS7_add_certificate() takes its own reference. */
	return PKCS7_add_certificate(p7, (X509 *)(uintptr_t)x) == 1 ? 0 : -1;
}

/* A new degenerate SignedData: no signers, id-data content absent. */
static PKCS7 *
bag_new(void)
{
	PKCS7 *p7;

	if ((p7 = PKCS7_new()) == NULL)
		return NULL;
	if (PKCS7_set_type(p7, NID_pkcs7_signed) != 1) {
		PKCS7_free(p7);
		return NULL;
	}
	p7->d.sign->contents->type = OBJ_nid2obj(NID_pkcs7_data);
	return p7;
}

/* Encodes p7 as DER into a malloc'd buffer; 0 or -1. */
static int
bag_encode(PKCS7 *p7, uint8_t **der, size_t *len)
{
	unsigned char *p;
	int n;

	if ((n = i2d_PKCS7(p7, NULL)) <= 0 ||
	    (*der = malloc((size_t)n)) == NULL)
		return -1;
	p = *der;
	if (i2d_PKCS7(p7, &p) != n) {
		free(*der);
		*der = NULL;
		return -1;
	}
	*len = (size_t)n;
	return 0;
}

/*
 * Encodes a degenerate certs-only SignedData (RFC 8894 3.4): no signers,
 * id-data content absent, first then the certificates of rest, in that
 * order (PKCS#7 keeps the list order; CMS would DER-sort the SET). On
 * success *der is malloc'd (caller frees with free()).
 */
int
scep_bag_der(const X509 *first, const STACK_OF(X509) *rest, uint8_t **der,
    size_t *len)
{
	PKCS7 *p7 = NULL;
	int i, rc = -1;

	*der = NULL;
	*len = 0;
	if ((p7 = bag_new()) == NULL)
		goto out;
	if (first != NULL && bag_push(p7, first) == -1)
		goto out;
	for (i = 0; rest != NULL && i < sk_X509_num(rest); i++)
		if (bag_push(p7, sk_X509_value(rest, i)) == -1)
			goto out;
	rc = bag_encode(p7, der, len);
out:
	PKCS7_free(p7);
	return rc;
}

/*
 * Encodes the degenerate SignedData a GetCRL answer carries (RFC 8894
 * 3.3.4): no signers, no certificates, the CRL in the crls field. On
 * success *der is malloc'd (caller frees with free()).
 */
int
scep_bag_crl_der(const X509_CRL *crl, uint8_t **der, size_t *len)
{
	X509_CRL *dup = NULL;
	PKCS7 *p7 = NULL;
	int rc = -1;

	*der = NULL;
	*len = 0;
	/* PKCS7_add_crl() takes a reference: hand it a copy we own. */
	if ((p7 = bag_new()) == NULL || (dup = X509_CRL_dup(crl)) == NULL ||
	    PKCS7_add_crl(p7, dup) != 1)
		goto out;
	rc = bag_encode(p7, der, len);
out:
	X509_CRL_free(dup);
	PKCS7_free(p7);
	return rc;
}

/* Encodes a CMS ContentInfo as DER into a malloc'd buffer; 0 or -1. */
int
scep_cms_der(CMS_ContentInfo *cms, uint8_t **der, size_t *len)
{
	unsigned char *p;
	int n;

	*der = NULL;
	*len = 0;
	if ((n = i2d_CMS_ContentInfo(cms, NULL)) <= 0 ||
	    (*der = malloc((size_t)n)) == NULL)
		return -1;
	p = *der;
	if (i2d_CMS_ContentInfo(cms, &p) != n) {
		free(*der);
		*der = NULL;
		return -1;
	}
	*len = (size_t)n;
	return 0;
}

/*
 * Reads the DER header at *p (at most *avail bytes) and checks its tag,
 * class and constructed bit. On success *p points at the contents, *avail
 * is the content length and the return value is the number of bytes from
 * the old *p to the end of the element; -1 otherwise.
 */
static long
der_enter(const unsigned char **p, long *avail, int tag, int cls, bool cons)
{
	const unsigned char *q = *p;
	long len, hdr;
	int t, c, r;

	r = ASN1_get_object(&q, &len, &t, &c, *avail);
	if ((r & 0x80) != 0 || (r & 0x01) != 0 || t != tag || c != cls ||
	    ((r & V_ASN1_CONSTRUCTED) != 0) != cons)
		return -1;
	hdr = (long)(q - *p);
	*p = q;
	*avail = len;
	return len + hdr;
}

/* Skips one element with the given tag; 0 or -1. */
static int
der_skip(const unsigned char **p, long *avail, int tag, int cls, bool cons)
{
	const unsigned char *q = *p;
	long inner = *avail, total;

	if ((total = der_enter(&q, &inner, tag, cls, cons)) == -1)
		return -1;
	*p += total;
	*avail -= total;
	return 0;
}

/*
 * Walks DER EnvelopedData to the contentEncryptionAlgorithm OID. OpenSSL
 * 3.0 has no getter for it, so we re-encode (BER input becomes DER) and
 * walk: ContentInfo { OID, [0] { EnvelopedData { version,
 * [0] originatorInfo OPTIONAL, SET recipientInfos, SEQUENCE
 * encryptedContentInfo { OID, AlgorithmIdentifier { OID ... }}}}}.
 */
static int
env_walk_cipher(const unsigned char *p, long avail)
{
	ASN1_OBJECT *obj = NULL;
	long body;
	int nid = NID_undef;

	if (der_enter(&p, &avail, V_ASN1_SEQUENCE, 0, true) == -1 ||
	    der_skip(&p, &avail, V_ASN1_OBJECT, 0, false) == -1 ||
	    der_enter(&p, &avail, 0, V_ASN1_CONTEXT_SPECIFIC, true) == -1 ||
	    der_enter(&p, &avail, V_ASN1_SEQUENCE, 0, true) == -1 ||
	    der_skip(&p, &avail, V_ASN1_INTEGER, 0, false) == -1)
		return NID_undef;
	/* originatorInfo is optional. */
	(void)der_skip(&p, &avail, 0, V_ASN1_CONTEXT_SPECIFIC, true);
	if (der_skip(&p, &avail, V_ASN1_SET, 0, true) == -1 ||
	    der_enter(&p, &avail, V_ASN1_SEQUENCE, 0, true) == -1 ||
	    der_skip(&p, &avail, V_ASN1_OBJECT, 0, false) == -1 ||
	    der_enter(&p, &avail, V_ASN1_SEQUENCE, 0, true) == -1)
		return NID_undef;
	body = avail;
	if (d2i_ASN1_OBJECT(&obj, &p, body) != NULL)
		nid = OBJ_obj2nid(obj);
	ASN1_OBJECT_free(obj);
	return nid;
}

/* The NID of an EnvelopedData's content-encryption cipher, or NID_undef. */
int
scep_env_cipher_nid(CMS_ContentInfo *env)
{
	uint8_t *der = NULL;
	size_t len;
	int nid = NID_undef;

	if (scep_cms_der(env, &der, &len) == -1 || len > LONG_MAX)
		goto out;
	nid = env_walk_cipher(der, (long)len);
out:
	free(der);
	return nid;
}

/*
 * Whether the key-transport RecipientInfo for recip (any, when NULL) uses
 * RSAES-OAEP rather than PKCS#1 v1.5.
 */
bool
scep_env_is_oaep(CMS_ContentInfo *env, X509 *recip)
{
	STACK_OF(CMS_RecipientInfo) *ris;
	CMS_RecipientInfo *ri;
	X509_ALGOR *alg;
	const ASN1_OBJECT *obj;
	int i;

	if ((ris = CMS_get0_RecipientInfos(env)) == NULL)
		return false;
	for (i = 0; i < sk_CMS_RecipientInfo_num(ris); i++) {
		ri = sk_CMS_RecipientInfo_value(ris, i);
		if (CMS_RecipientInfo_type(ri) != CMS_RECIPINFO_TRANS)
			continue;
		if (recip != NULL &&
		    CMS_RecipientInfo_ktri_cert_cmp(ri, recip) != 0)
			continue;
		if (CMS_RecipientInfo_ktri_get0_algs(ri, NULL, NULL, &alg) != 1)
			continue;
		X509_ALGOR_get0(&obj, NULL, NULL, alg);
		return OBJ_obj2nid(obj) == NID_rsaesOaep;
	}
	return false;
}
