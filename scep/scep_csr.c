/*
 * What the gateway needs from the PKCS#10 request of a PKCSReq or
 * RenewalReq: the challengePassword, the CN and e-mail address to map
 * into the upstream order, the key and request fingerprints that identify
 * a retried enrollment, the PEM text, and the key-strength policy.
 */
#include <stdint.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "gw_err.h"
#include "secure.h"
#include "scep.h"

/* RSA key sizes accepted from devices. */
#define CSR_RSA_MIN 2048
#define CSR_RSA_MAX 8192

/*
 * A malloc'd UTF-8 copy of an ASN.1 string (any DirectoryString type,
 * or a bare OCTET STRING as micromdm once sent), or NULL. Strings with
 * embedded NULs are refused.
 */
static char *
csr_string_dup(const ASN1_STRING *s)
{
	unsigned char *utf8 = NULL;
	char *ret = NULL;
	int n;

	if (ASN1_STRING_type(s) == V_ASN1_OCTET_STRING) {
		n = ASN1_STRING_length(s);
		if (n > 0 &&
		    memchr(ASN1_STRING_get0_data(s), 0, (size_t)n) == NULL)
			ret = gw_strndup((const char *)ASN1_STRING_get0_data(s),
			    (size_t)n);
		return ret;
	}
	if ((n = ASN1_STRING_to_UTF8(&utf8, s)) <= 0)
		return NULL;
	if (memchr(utf8, 0, (size_t)n) == NULL)
		ret = gw_strndup((const char *)utf8, (size_t)n);
	OPENSSL_clear_free(utf8, (size_t)n);
	return ret;
}

/* Checks the key: RSA 2048..8192 bits or EC P-256/P-384; 0 or -1. */
static int
csr_key_check(const EVP_PKEY *pub, struct gw_err *err)
{
	char group[64];
	int bits;

	if (pub == NULL) {
		gw_err_set(err, SCEP_FAIL_BADREQUEST, "unreadable public key");
		return -1;
	}
	bits = EVP_PKEY_get_bits(pub);
	if (EVP_PKEY_is_a(pub, "RSA")) {
		if (bits >= CSR_RSA_MIN && bits <= CSR_RSA_MAX)
			return 0;
		gw_err_set(err, SCEP_FAIL_BADREQUEST,
		    "RSA key of %d bits; %d to %d accepted", bits, CSR_RSA_MIN,
		    CSR_RSA_MAX);
		return -1;
	}
	if (EVP_PKEY_is_a(pub, "EC")) {
		if (EVP_PKEY_get_utf8_string_param(pub,
			OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
			NULL) == 1 &&
		    (strcmp(group, "prime256v1") == 0 ||
			strcmp(group, "secp384r1") == 0))
			return 0;
		gw_err_set(err, SCEP_FAIL_BADREQUEST,
		    "EC key not on P-256 or P-384");
		return -1;
	}
	gw_err_set(err, SCEP_FAIL_BADREQUEST,
	    "key type %s is not accepted (RSA or EC only)",
	    EVP_PKEY_get0_type_name(pub));
	return -1;
}

/* The challengePassword attribute, malloc'd, or NULL when absent. */
static char *
csr_challenge_get(X509_REQ *req)
{
	X509_ATTRIBUTE *at;
	ASN1_TYPE *t;
	int i;

	i = X509_REQ_get_attr_by_NID(req, NID_pkcs9_challengePassword, -1);
	if (i < 0 || (at = X509_REQ_get_attr(req, i)) == NULL ||
	    X509_ATTRIBUTE_count(at) < 1 ||
	    (t = X509_ATTRIBUTE_get0_type(at, 0)) == NULL)
		return NULL;
	switch (t->type) {
	case V_ASN1_PRINTABLESTRING:
	case V_ASN1_UTF8STRING:
	case V_ASN1_IA5STRING:
	case V_ASN1_T61STRING:
	case V_ASN1_BMPSTRING:
	case V_ASN1_UNIVERSALSTRING:
	case V_ASN1_VISIBLESTRING:
	case V_ASN1_OCTET_STRING:
		return csr_string_dup(t->value.asn1_string);
	default:
		return NULL;
	}
}

/* The first value of a subject attribute, malloc'd, or NULL. */
static char *
csr_name_get(const X509_NAME *name, int nid)
{
	X509_NAME_ENTRY *e;
	int i;

	if ((i = X509_NAME_get_index_by_NID(name, nid, -1)) < 0 ||
	    (e = X509_NAME_get_entry(name, i)) == NULL)
		return NULL;
	return csr_string_dup(X509_NAME_ENTRY_get_data(e));
}

/* The names scep_san_name() gives, in enum scep_san order. */
static const char *const san_names[SCEP_SAN__MAX] = {
	[SCEP_SAN_EMAIL] = "rfc822Name",
	[SCEP_SAN_UPN] = "otherName UPN",
	[SCEP_SAN_DNS] = "dNSName",
	[SCEP_SAN_IP] = "iPAddress",
	[SCEP_SAN_URI] = "uniformResourceIdentifier",
	[SCEP_SAN_OTHER] = "other GeneralName",
};

/* The ASN.1 name of a subjectAltName kind, for log lines. */
const char *
scep_san_name(enum scep_san s)
{
	return s < SCEP_SAN__MAX ? san_names[s] : "?";
}

/* The UPN of an otherName, malloc'd, or NULL when it is another kind. */
static char *
csr_san_upn(const OTHERNAME *on)
{
	if (OBJ_obj2nid(on->type_id) != NID_ms_upn || on->value == NULL ||
	    on->value->type != V_ASN1_UTF8STRING)
		return NULL;
	return csr_string_dup(on->value->value.utf8string);
}

/* Which enum scep_san one GeneralName is. */
static enum scep_san
csr_san_kind(const GENERAL_NAME *g)
{
	switch (g->type) {
	case GEN_EMAIL:
		return SCEP_SAN_EMAIL;
	case GEN_DNS:
		return SCEP_SAN_DNS;
	case GEN_IPADD:
		return SCEP_SAN_IP;
	case GEN_URI:
		return SCEP_SAN_URI;
	case GEN_OTHERNAME:
		return OBJ_obj2nid(g->d.otherName->type_id) == NID_ms_upn ?
		    SCEP_SAN_UPN :
		    SCEP_SAN_OTHER;
	default:
		return SCEP_SAN_OTHER;
	}
}

/* Whether a URI SAN is Intune's strong-mapping tag (SCEP_MS_SID_PREFIX
 * then a SID: digits, letters and dashes only). */
static bool
csr_uri_is_sid(const ASN1_IA5STRING *u)
{
	const size_t plen = sizeof(SCEP_MS_SID_PREFIX) - 1;
	const unsigned char *d = ASN1_STRING_get0_data(u);
	size_t n = (size_t)ASN1_STRING_length(u), i;

	if (n <= plen || memcmp(d, SCEP_MS_SID_PREFIX, plen) != 0)
		return false;
	for (i = plen; i < n; i++)
		if (!isalnum(d[i]) && d[i] != '-')
			return false;
	return true;
}

/*
 * Walks a requested subjectAltName: the first rfc822Name and the first
 * UPN into info (upn_many if there are more), and a bit in info->sans for
 * every kind present. Two
 * subjectAltName extensions (RFC 5280 4.2: an extension appears at most
 * once) are refused: X509V3_get_d2i() would hide both. Returns 0, or -1.
 */
static int
csr_sans_get(X509_REQ *req, struct scep_csr_info *info)
{
	STACK_OF(X509_EXTENSION) *exts;
	GENERAL_NAMES *gens = NULL;
	const GENERAL_NAME *g;
	enum scep_san k;
	int i;

	if ((exts = X509_REQ_get_extensions(req)) == NULL)
		return 0;
	i = X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1);
	if (i >= 0 &&
	    X509v3_get_ext_by_NID(exts, NID_subject_alt_name, i) >= 0) {
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
		return -1;
	}
	gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		k = csr_san_kind(g);
		if (k == SCEP_SAN_URI &&
		    csr_uri_is_sid(g->d.uniformResourceIdentifier)) {
			info->ms_sid = true;
			continue;
		}
		info->sans |= 1u << k;
		if (k == SCEP_SAN_EMAIL && info->email == NULL)
			info->email = csr_string_dup(g->d.rfc822Name);
		else if (k == SCEP_SAN_UPN && info->upn == NULL)
			info->upn = csr_san_upn(g->d.otherName);
		else if (k == SCEP_SAN_UPN)
			info->upn_many = true;
	}
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return 0;
}

/* SHA-256 of DER bytes produced by i2d; 0 or -1. */
static int
csr_sha256(const unsigned char *der, int n, uint8_t out[32])
{
	unsigned int len = 0;

	if (n <= 0 ||
	    EVP_Digest(der, (size_t)n, out, &len, EVP_sha256(), NULL) != 1 ||
	    len != 32)
		return -1;
	return 0;
}

/* Fills the two fingerprints; 0 or -1. */
static int
csr_fingerprints(const X509_REQ *csr, X509_REQ *dup, struct scep_csr_info *info)
{
	unsigned char *der = NULL;
	int n, rc = -1;

	n = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(dup), &der);
	if (csr_sha256(der, n, info->key_sha256) == -1)
		goto out;
	OPENSSL_free(der);
	der = NULL;
	n = i2d_X509_REQ(csr, &der);
	if (csr_sha256(der, n, info->csr_sha256) == -1)
		goto out;
	rc = 0;
out:
	OPENSSL_free(der);
	return rc;
}

/* The request as PEM, malloc'd, or NULL. */
static char *
csr_pem_get(X509_REQ *req)
{
	BIO *bio;
	char *p, *ret = NULL;
	long n;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (PEM_write_bio_X509_REQ(bio, req) == 1 &&
	    (n = BIO_get_mem_data(bio, &p)) > 0)
		ret = gw_strndup(p, (size_t)n);
	BIO_free(bio);
	return ret;
}

/*
 * Inspects a PKCS#10 request whose public key is pub (decoded by the
 * caller, see pubkey.h): checks the key (RSA 2048..8192 bits, EC
 * P-256 or P-384) and fills info (initialised here) with the challenge,
 * CN, e-mail, UPN, SAN kinds, fingerprints and PEM. Returns 0, or -1 with
 * err->code badRequest and info empty. The caller releases info with
 * scep_csr_info_cleanup() after success.
 */
int
scep_csr_inspect(const X509_REQ *csr, const EVP_PKEY *pub,
    struct scep_csr_info *info, struct gw_err *err)
{
	X509_REQ *dup;
	int rc = -1;

	memset(info, 0, sizeof(*info));
	/*
	 * Several OpenSSL 3.0 getters want a non-const request; none of
	 * them changes it. Not X509_REQ_dup(): a copy decodes the key again.
	 */
	dup = (X509_REQ *)(uintptr_t)csr;
	if (csr_key_check(pub, err) == -1)
		goto out;
	info->challenge = csr_challenge_get(dup);
	info->cn = csr_name_get(X509_REQ_get_subject_name(dup), NID_commonName);
	if (csr_sans_get(dup, info) == -1) {
		gw_err_set(err, SCEP_FAIL_BADREQUEST,
		    "two subjectAltName extensions");
		goto out;
	}
	if (info->email == NULL)
		info->email = csr_name_get(X509_REQ_get_subject_name(dup),
		    NID_pkcs9_emailAddress);
	if (csr_fingerprints(csr, dup, info) == -1 ||
	    (info->pem = csr_pem_get(dup)) == NULL) {
		gw_err_set_ossl(err, SCEP_FAIL_BADREQUEST,
		    "encoding the request");
		goto out;
	}
	rc = 0;
out:
	if (rc == -1)
		scep_csr_info_cleanup(info);
	ERR_clear_error();
	return rc;
}

/* Frees what info holds, wiping the challenge; info is left empty. */
void
scep_csr_info_cleanup(struct scep_csr_info *info)
{
	gw_secret_free(info->challenge);
	free(info->cn);
	free(info->email);
	free(info->upn);
	free(info->pem);
	memset(info, 0, sizeof(*info));
}
