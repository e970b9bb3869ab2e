/*
 * epki-sim's test PKI, shaped like GlobalSign's: a root and an issuing
 * CA (RSA-2048, SHA-256) created in DIR on first start and reused later,
 * and leaf issuance the way the EPKI test system did it:
 * subject from the profile and DnAttributes, only the CSR's key used.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "gw_err.h"
#include "secure.h"
#include "sim.h"

#define PKI_ROOT_DAYS (20 * 365)
#define PKI_CA_DAYS (10 * 365)

/* Adds attribute=value to name; 0 or -1. */
static int
name_add(X509_NAME *name, const char *attr, const char *value)
{
	return X509_NAME_add_entry_by_txt(name, attr, MBSTRING_UTF8,
		   (const unsigned char *)value, -1, -1, 0) == 1 ?
	    0 :
	    -1;
}

/* Sets a random positive 16-byte serial. */
static int
cert_set_serial(X509 *x)
{
	uint8_t b[16];
	ASN1_INTEGER *ai = NULL;
	BIGNUM *bn = NULL;
	int rc = -1;

	if (gw_random_bytes(b, sizeof(b)) == -1)
		return -1;
	b[0] = (uint8_t)((b[0] & 0x7f) | 0x40);
	if ((bn = BN_bin2bn(b, sizeof(b), NULL)) == NULL ||
	    (ai = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    X509_set_serialNumber(x, ai) != 1)
		goto out;
	rc = 0;
out:
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return rc;
}

/* Adds one extension from its config text, e.g. "critical,CA:FALSE". */
static int
cert_add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e;
	int rc;

	e = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
	if (e == NULL)
		return -1;
	rc = X509_add_ext(x, e, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(e);
	return rc;
}

/*
 * Copies the SubjectPublicKeyInfo spki into x as it is. X509_set_pubkey()
 * would do the same from the EVP_PKEY, but with OpenSSL 3.0 it encodes the
 * key and decodes it again, which costs a third of signing. 0 or -1.
 */
static int
cert_set_spki(X509 *x, const X509_PUBKEY *spki)
{
	ASN1_OBJECT *kobj, *oid = NULL;
	const ASN1_OBJECT *aobj;
	const unsigned char *pk;
	const void *pval;
	X509_ALGOR *alg;
	void *pdup = NULL;
	unsigned char *kdup = NULL;
	int pklen, ptype, rc = -1;

	if (X509_PUBKEY_get0_param(&kobj, &pk, &pklen, &alg, spki) != 1 ||
	    alg == NULL || pklen <= 0)
		return -1;
	X509_ALGOR_get0(&aobj, &ptype, &pval, alg);
	/* RSA: NULL parameters; EC: the curve's OID; else: not copied. */
	if (ptype == V_ASN1_OBJECT)
		pdup = OBJ_dup(pval);
	else if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF)
		return -1;
	if ((ptype == V_ASN1_OBJECT && pdup == NULL) ||
	    (oid = OBJ_dup(aobj)) == NULL ||
	    (kdup = OPENSSL_memdup(pk, (size_t)pklen)) == NULL)
		goto out;
	if (X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), oid, ptype, pdup,
		kdup, pklen) == 1) {
		oid = NULL;
		pdup = NULL;
		kdup = NULL;
		rc = 0;
	}
out:
	ASN1_OBJECT_free(oid);
	ASN1_OBJECT_free(pdup);
	OPENSSL_free(kdup);
	return rc;
}

/*
 * A new certificate with version, serial, names, key and notBefore. The
 * key is spki when given, else key.
 */
static X509 *
cert_start(EVP_PKEY *key, const X509_PUBKEY *spki, const X509_NAME *subj,
    const X509 *issuer)
{
	X509 *x;

	if ((x = X509_new()) == NULL)
		return NULL;
	if (X509_set_version(x, X509_VERSION_3) != 1 ||
	    cert_set_serial(x) == -1 || X509_set_subject_name(x, subj) != 1 ||
	    X509_set_issuer_name(x,
		issuer ? X509_get_subject_name(issuer) : subj) != 1 ||
	    (spki != NULL ? cert_set_spki(x, spki) == -1 :
			    X509_set_pubkey(x, key) != 1) ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* A CA certificate for key, signed by ikey (self-signed if no issuer). */
static X509 *
ca_make(EVP_PKEY *key, const X509_NAME *subj, X509 *issuer, EVP_PKEY *ikey,
    long days, const char *bc)
{
	X509V3_CTX ctx;
	X509 *x;

	if ((x = cert_start(key, NULL, subj, issuer)) == NULL)
		return NULL;
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	if (X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL) ==
		NULL ||
	    cert_add_ext(x, &ctx, NID_basic_constraints, bc) == -1 ||
	    cert_add_ext(x, &ctx, NID_key_usage,
		"critical,keyCertSign,cRLSign") == -1 ||
	    cert_add_ext(x, &ctx, NID_subject_key_identifier, "hash") == -1 ||
	    (issuer != NULL &&
		cert_add_ext(x, &ctx, NID_authority_key_identifier,
		    "keyid:always") == -1) ||
	    X509_sign(x, ikey, EVP_sha256()) <= 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* Writes a PEM certificate (0644) or private key (0600) file. */
static int
pem_save(const struct sim *s, const char *name, X509 *x, EVP_PKEY *k,
    struct gw_err *err)
{
	char path[PATH_MAX];
	BIO *b = NULL;
	char *p;
	long n;
	int rc = -1;

	if (sim_path(s, path, sizeof(path), name) == -1 ||
	    (b = BIO_new(BIO_s_mem())) == NULL)
		goto out;
	if ((x != NULL && PEM_write_bio_X509(b, x) != 1) ||
	    (k != NULL &&
		PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) != 1))
		goto out;
	n = BIO_get_mem_data(b, &p);
	rc = gw_file_write(path, p, (size_t)n, k ? 0600 : 0644, err);
out:
	if (rc == -1 && err != NULL && err->msg[0] == '\0')
		gw_err_set(err, EIO, "%s: cannot write", name);
	BIO_free(b);
	return rc;
}

/* Creates the root and issuing CA and writes them and ca-chain.pem. */
static int
pki_create(struct sim *s, struct gw_err *err)
{
	EVP_PKEY *rk = NULL;
	X509_NAME *rn = NULL, *cn = NULL;
	int rc = -1;

	if ((rk = EVP_RSA_gen(2048)) == NULL ||
	    (s->ca_key = EVP_RSA_gen(2048)) == NULL ||
	    (rn = X509_NAME_new()) == NULL || (cn = X509_NAME_new()) == NULL)
		goto out;
	if (name_add(rn, "OU", "epki-sim Root CA - R3") == -1 ||
	    name_add(rn, "O", "epki-sim") == -1 ||
	    name_add(rn, "CN", "epki-sim Root CA - R3") == -1 ||
	    name_add(cn, "C", "BE") == -1 ||
	    name_add(cn, "O", "epki-sim nv-sa") == -1 ||
	    name_add(cn, "CN", "epki-sim PersonalSign 2 CA - SHA256 - G3") ==
		-1)
		goto out;
	s->root = ca_make(rk, rn, NULL, rk, PKI_ROOT_DAYS, "critical,CA:TRUE");
	if (s->root == NULL)
		goto out;
	s->ca = ca_make(s->ca_key, cn, s->root, rk, PKI_CA_DAYS,
	    "critical,CA:TRUE,pathlen:0");
	if (s->ca == NULL)
		goto out;
	if (pem_save(s, "root.key", NULL, rk, err) == -1 ||
	    pem_save(s, "root.pem", s->root, NULL, err) == -1 ||
	    pem_save(s, "issuing.pem", s->ca, NULL, err) == -1 ||
	    pem_save(s, "issuing.key", NULL, s->ca_key, err) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1 && err != NULL && err->msg[0] == '\0')
		gw_err_set_ossl(err, EIO, "creating the test PKI");
	EVP_PKEY_free(rk);
	X509_NAME_free(rn);
	X509_NAME_free(cn);
	return rc;
}

/* Reads one PEM file: a certificate (x) or a private key (k). */
static int
pem_load(const struct sim *s, const char *name, X509 **x, EVP_PKEY **k)
{
	char path[PATH_MAX];
	FILE *f;

	if (sim_path(s, path, sizeof(path), name) == -1 ||
	    (f = fopen(path, "r")) == NULL)
		return -1;
	if (x != NULL)
		*x = PEM_read_X509(f, NULL, NULL, NULL);
	else if (k != NULL)
		*k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	return (x != NULL ? *x == NULL : k == NULL || *k == NULL) ? -1 : 0;
}

/* Writes DIR/ca-chain.pem: the issuing CA, then the root. */
static int
chain_save(const struct sim *s, struct gw_err *err)
{
	char path[PATH_MAX];
	BIO *b;
	char *p;
	long n;
	int rc = -1;

	if (sim_path(s, path, sizeof(path), "ca-chain.pem") == -1 ||
	    (b = BIO_new(BIO_s_mem())) == NULL)
		return -1;
	if (PEM_write_bio_X509(b, s->ca) == 1 &&
	    PEM_write_bio_X509(b, s->root) == 1) {
		n = BIO_get_mem_data(b, &p);
		rc = gw_file_write(path, p, (size_t)n, 0644, err);
	}
	BIO_free(b);
	return rc;
}

/*
 * Loads the test PKI from DIR, creating it on first start. 0, or -1 with
 * err set. Free with sim_pki_cleanup().
 */
int
sim_pki_load(struct sim *s, struct gw_err *err)
{
	char path[PATH_MAX];
	struct stat st;

	if (sim_path(s, path, sizeof(path), "issuing.key") == -1)
		return -1;
	if (stat(path, &st) == -1) {
		if (pki_create(s, err) == -1)
			return -1;
	} else if (pem_load(s, "root.pem", &s->root, NULL) == -1 ||
	    pem_load(s, "issuing.pem", &s->ca, NULL) == -1 ||
	    pem_load(s, "issuing.key", NULL, &s->ca_key) == -1) {
		gw_err_set_ossl(err, EIO, "loading the test PKI");
		return -1;
	}
	return chain_save(s, err);
}

/* Frees the PKI objects; safe on a partly loaded sim. */
void
sim_pki_cleanup(struct sim *s)
{
	X509_free(s->root);
	X509_free(s->ca);
	EVP_PKEY_free(s->ca_key);
	sk_X509_EXTENSION_pop_free(s->leaf_exts, X509_EXTENSION_free);
	s->root = s->ca = NULL;
	s->ca_key = NULL;
	s->leaf_exts = NULL;
}

/* Sets notAfter to notBefore plus whole years (the order's Year). */
static int
cert_set_years(X509 *x, int years)
{
	char text[32];
	struct tm tm;
	time_t now = time(NULL);

	if (gmtime_r(&now, &tm) == NULL)
		return -1;
	tm.tm_year += years;
	if (tm.tm_mon == 1 && tm.tm_mday == 29)
		tm.tm_mday = 28;
	if (strftime(text, sizeof(text), "%Y%m%d%H%M%SZ", &tm) == 0)
		return -1;
	return ASN1_TIME_set_string_X509(X509_getm_notAfter(x), text) == 1 ? 0 :
									     -1;
}

/*
 * The leaf subject: profile C/ST/L/O, then the request's OU(s) followed
 * by the profile's own (profile_ous, as GlobalSign's test system added
 * "For Test Use Only"), CN and mailbox.
 */
static X509_NAME *
leaf_name(const struct sim *s, const struct epki_order *o)
{
	X509_NAME *n;
	size_t i;
	int bad;

	if ((n = X509_NAME_new()) == NULL)
		return NULL;
	bad = name_add(n, "C", s->conf.country) == -1 ||
	    name_add(n, "ST", s->conf.state) == -1 ||
	    name_add(n, "L", s->conf.locality) == -1 ||
	    name_add(n, "O", s->conf.org) == -1;
	for (i = 0; i < o->nous && !bad; i++)
		bad = name_add(n, "OU", o->ous[i]) == -1;
	for (i = 0; i < s->conf.nprofile_ous && !bad; i++)
		bad = name_add(n, "OU", s->conf.profile_ous[i]) == -1;
	bad = bad || name_add(n, "CN", o->cn) == -1 ||
	    (o->email != NULL && name_add(n, "emailAddress", o->email) == -1);
	if (bad) {
		X509_NAME_free(n);
		return NULL;
	}
	return n;
}

/* Appends a UPN otherName (1.3.6.1.4.1.311.20.2.3, UTF8String). */
static int
san_push_upn(GENERAL_NAMES *gens, const char *upn)
{
	ASN1_OBJECT *oid = NULL;
	ASN1_TYPE *val = NULL;
	ASN1_UTF8STRING *s = NULL;
	GENERAL_NAME *g = NULL;
	int rc = -1;

	if ((oid = OBJ_txt2obj("1.3.6.1.4.1.311.20.2.3", 1)) == NULL ||
	    (val = ASN1_TYPE_new()) == NULL ||
	    (s = ASN1_UTF8STRING_new()) == NULL ||
	    ASN1_STRING_set(s, upn, -1) != 1)
		goto out;
	ASN1_TYPE_set(val, V_ASN1_UTF8STRING, s);
	s = NULL;
	if ((g = GENERAL_NAME_new()) == NULL ||
	    GENERAL_NAME_set0_othername(g, oid, val) != 1)
		goto out;
	oid = NULL;
	val = NULL;
	if (sk_GENERAL_NAME_push(gens, g) <= 0)
		goto out;
	g = NULL;
	rc = 0;
out:
	ASN1_OBJECT_free(oid);
	ASN1_TYPE_free(val);
	ASN1_UTF8STRING_free(s);
	GENERAL_NAME_free(g);
	return rc;
}

/*
 * Adds subjectAltName: rfc822Name = email and the UPN otherName, each
 * when given; built without config text.
 */
static int
leaf_add_san(X509 *x, const char *email, const char *upn)
{
	GENERAL_NAMES *gens = NULL;
	GENERAL_NAME *g = NULL;
	ASN1_IA5STRING *ia5 = NULL;
	int rc = -1;

	if ((gens = GENERAL_NAMES_new()) == NULL)
		goto out;
	if (email != NULL) {
		if ((g = GENERAL_NAME_new()) == NULL ||
		    (ia5 = ASN1_IA5STRING_new()) == NULL ||
		    ASN1_STRING_set(ia5, email, -1) != 1)
			goto out;
		GENERAL_NAME_set0_value(g, GEN_EMAIL, ia5);
		ia5 = NULL;
		if (sk_GENERAL_NAME_push(gens, g) <= 0)
			goto out;
		g = NULL;
	}
	if (upn != NULL && san_push_upn(gens, upn) == -1)
		goto out;
	rc = X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0) == 1 ? 0 :
									   -1;
out:
	ASN1_IA5STRING_free(ia5);
	GENERAL_NAME_free(g);
	GENERAL_NAMES_free(gens);
	return rc;
}

/* certificatePolicies: GlobalSign's PersonalSign OID with a CPS; NULL
 * when out of memory. */
static X509_EXTENSION *
leaf_policy_ext(const struct sim *s)
{
	X509_EXTENSION *ext = NULL;
	CERTIFICATEPOLICIES *pols = NULL;
	POLICYQUALINFO *q = NULL;
	POLICYINFO *pi = NULL;
	char cps[160];

	snprintf(cps, sizeof(cps), "http://%s:%u/repository/", s->host,
	    s->port);
	if ((pols = CERTIFICATEPOLICIES_new()) == NULL ||
	    (pi = POLICYINFO_new()) == NULL ||
	    (q = POLICYQUALINFO_new()) == NULL ||
	    (pi->qualifiers = sk_POLICYQUALINFO_new_null()) == NULL ||
	    (q->d.cpsuri = ASN1_IA5STRING_new()) == NULL ||
	    ASN1_STRING_set(q->d.cpsuri, cps, -1) != 1)
		goto out;
	q->pqualid = OBJ_nid2obj(NID_id_qt_cps);
	ASN1_OBJECT_free(pi->policyid);
	pi->policyid = OBJ_txt2obj("1.3.6.1.4.1.4146.1.40.10", 1);
	if (pi->policyid == NULL ||
	    sk_POLICYQUALINFO_push(pi->qualifiers, q) <= 0)
		goto out;
	q = NULL;
	if (sk_POLICYINFO_push(pols, pi) <= 0)
		goto out;
	pi = NULL;
	ext = X509V3_EXT_i2d(NID_certificate_policies, 0, pols);
out:
	POLICYQUALINFO_free(q);
	POLICYINFO_free(pi);
	CERTIFICATEPOLICIES_free(pols);
	return ext;
}

/* Appends ext (NULL: a failure) to sk; 0 or -1. */
static int
ext_push(STACK_OF(X509_EXTENSION) *sk, X509_EXTENSION *ext)
{
	if (ext == NULL)
		return -1;
	if (sk_X509_EXTENSION_push(sk, ext) <= 0) {
		X509_EXTENSION_free(ext);
		return -1;
	}
	return 0;
}

/* Where the subjectKeyIdentifier goes among the fixed extensions. */
#define LEAF_SKI_AT 4

/*
 * Builds the PersonalSign extensions that are the same in every leaf:
 * basicConstraints, keyUsage, extKeyUsage, certificatePolicies, then
 * (after the leaf's own subjectKeyIdentifier) authorityKeyIdentifier,
 * cRLDistributionPoints and authorityInfoAccess. Their URLs hold the
 * bound port: call once it is known, before any leaf is issued. Made from
 * text once instead of per leaf (5% of the simulator's CPU). 0 or -1.
 */
int
sim_pki_leaf_exts(struct sim *s, struct gw_err *err)
{
	STACK_OF(X509_EXTENSION) *sk;
	char crl[160], aia[192];
	X509V3_CTX ctx;

	snprintf(crl, sizeof(crl), "URI:http://%s:%u/crl/issuing.crl", s->host,
	    s->port);
	snprintf(aia, sizeof(aia),
	    "caIssuers;URI:http://%s:%u/cacert/"
	    "issuing.crt",
	    s->host, s->port);
	X509V3_set_ctx(&ctx, s->ca, NULL, NULL, NULL, 0);
	if ((sk = sk_X509_EXTENSION_new_null()) == NULL ||
	    ext_push(sk,
		X509V3_EXT_nconf_nid(NULL, &ctx, NID_basic_constraints,
		    "CA:FALSE")) == -1 ||
	    ext_push(sk,
		X509V3_EXT_nconf_nid(NULL, &ctx, NID_key_usage,
		    "critical,digitalSignature,keyEncipherment")) == -1 ||
	    ext_push(sk,
		X509V3_EXT_nconf_nid(NULL, &ctx, NID_ext_key_usage,
		    "clientAuth,emailProtection")) == -1 ||
	    ext_push(sk, leaf_policy_ext(s)) == -1 ||
	    ext_push(sk,
		X509V3_EXT_nconf_nid(NULL, &ctx, NID_authority_key_identifier,
		    "keyid:always")) == -1 ||
	    ext_push(sk,
		X509V3_EXT_nconf_nid(NULL, &ctx, NID_crl_distribution_points,
		    crl)) == -1 ||
	    ext_push(sk,
		X509V3_EXT_nconf_nid(NULL, &ctx, NID_info_access, aia)) == -1) {
		sk_X509_EXTENSION_pop_free(sk, X509_EXTENSION_free);
		gw_err_set_ossl(err, EIO, "leaf extensions");
		return -1;
	}
	sk_X509_EXTENSION_pop_free(s->leaf_exts, X509_EXTENSION_free);
	s->leaf_exts = sk;
	return 0;
}

/* The subjectKeyIdentifier of x: SHA-1 of its public key bits (RFC 5280
 * 4.2.1.2 method 1, what "hash" makes). 0 or -1. */
static int
leaf_add_ski(X509 *x)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len;
	ASN1_OCTET_STRING *ski;
	int rc = -1;

	if (X509_pubkey_digest(x, EVP_sha1(), md, &len) != 1 ||
	    (ski = ASN1_OCTET_STRING_new()) == NULL)
		return -1;
	if (ASN1_OCTET_STRING_set(ski, md, (int)len) == 1 &&
	    X509_add1_ext_i2d(x, NID_subject_key_identifier, ski, 0,
		X509V3_ADD_APPEND) == 1)
		rc = 0;
	ASN1_OCTET_STRING_free(ski);
	return rc;
}

/* Adds the PersonalSign extensions (sim_pki_leaf_exts()). */
static int
leaf_add_exts(const struct sim *s, X509 *x)
{
	int i, n = sk_X509_EXTENSION_num(s->leaf_exts);

	if (n <= LEAF_SKI_AT)
		return -1;
	for (i = 0; i < n; i++) {
		if (i == LEAF_SKI_AT && leaf_add_ski(x) == -1)
			return -1;
		if (X509_add_ext(x, sk_X509_EXTENSION_value(s->leaf_exts, i),
			-1) != 1)
			return -1;
	}
	return 0;
}

/*
 * Issues a leaf for pub as ordered by o, signed by the issuing CA; spki,
 * when not NULL, is pub's SubjectPublicKeyInfo from the CSR and goes into
 * the certificate as is. Reads only what is fixed at start, so it needs
 * no lock. *out is new (X509_free()).
 */
int
sim_pki_issue(struct sim *s, EVP_PKEY *pub, const X509_PUBKEY *spki,
    const struct epki_order *o, X509 **out, struct gw_err *err)
{
	/* The UPN only when the profile enables it (ProfileAttributes/UPN). */
	const char *upn = s->conf.profile_upn ? o->upn : NULL;
	X509_NAME *subj = NULL;
	X509 *x = NULL;
	int rc = -1;

	*out = NULL;
	if ((subj = leaf_name(s, o)) == NULL ||
	    (x = cert_start(pub, spki, subj, s->ca)) == NULL ||
	    cert_set_years(x, o->years) == -1 || leaf_add_exts(s, x) == -1 ||
	    ((o->email != NULL || upn != NULL) &&
		leaf_add_san(x, o->email, upn) == -1) ||
	    X509_sign(x, s->ca_key, EVP_sha256()) <= 0) {
		gw_err_set_ossl(err, EIO, "issuing");
		goto out;
	}
	*out = x;
	x = NULL;
	rc = 0;
out:
	X509_NAME_free(subj);
	X509_free(x);
	return rc;
}

/*
 * Signs leaf again with a new throwaway key (fault "foreign"): it keeps
 * the issuing CA's name as issuer but no longer verifies with its key,
 * as a certificate from someone else would. 0 or -1.
 */
int
sim_pki_forge(X509 *leaf, struct gw_err *err)
{
	EVP_PKEY *key;
	int rc = -1;

	if ((key = EVP_EC_gen("P-256")) == NULL ||
	    X509_sign(leaf, key, EVP_sha256()) <= 0)
		gw_err_set_ossl(err, EIO, "forging");
	else
		rc = 0;
	EVP_PKEY_free(key);
	return rc;
}

/* Appends pem to out with every LF turned into CRLF (as CXF sends it). */
int
sim_pem_crlf(const char *pem, struct buf *out)
{
	size_t run;

	while (*pem != '\0') {
		/* A line at a time: its bytes, then CR LF for its LF. */
		run = strcspn(pem, "\n");
		if (buf_add(out, pem, run) == -1)
			return -1;
		pem += run;
		if (*pem == '\n') {
			if (buf_add(out, "\r\n", 2) == -1)
				return -1;
			pem++;
		}
	}
	return 0;
}
