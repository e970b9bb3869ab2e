/*
 * The RA: its certificate, private key and CA chain. This file is the only
 * holder of the RA key; the two operations that use it (decrypting a
 * request envelope, signing a CertRep) live here. It also makes RA keys,
 * CSRs and self-signed RA certificates for `scepgw init`. A loaded struct
 * scep_ra is read-only and may be shared by threads.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "gw_err.h"
#include "pubkey.h"
#include "secure.h"
#include "scep.h"
#include "scep_int.h"

/* RSA key sizes we make for the RA. */
#define RA_BITS_MIN 2048
#define RA_BITS_MAX 8192
/* A PEM RSA key of RA_BITS_MAX bits is under 7 KiB. */
#define RA_KEY_MAX (64 * 1024)

/* Refuses to prompt for a passphrase: the RA key must be unencrypted. */
static int
pass_none(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

/*
 * Reads a PEM private key from a private file (gw_private_read(): no
 * symbolic link, owner and mode checked; with root_any, the owner rule of
 * gw_private_read_preroot()); returns it (caller frees) or NULL with err.
 */
static EVP_PKEY *
ra_key_read(const char *path, bool root_any, struct gw_err *err)
{
	EVP_PKEY *key = NULL;
	struct buf pem;
	BIO *bio;
	int rc;

	/* Read through the descriptor whose owner and mode were checked. */
	rc = root_any ? gw_private_read_preroot(path, RA_KEY_MAX, &pem, err) :
			gw_private_read(path, RA_KEY_MAX, &pem, err);
	if (rc == -1)
		return NULL;
	if ((bio = BIO_new_mem_buf(pem.data, (int)pem.len)) == NULL) {
		gw_err_set_ossl(err, ENOMEM, path);
		buf_cleanup(&pem);
		return NULL;
	}
	if ((key = PEM_read_bio_PrivateKey(bio, NULL, pass_none, NULL)) == NULL)
		gw_err_set_ossl(err, 0, "reading the RA key");
	BIO_free(bio);
	buf_cleanup(&pem);
	return key;
}

/* Reads every PEM certificate of a file, in order; NULL with err. */
static STACK_OF(X509) *
ra_certs_read(const char *path, struct gw_err *err)
{
	STACK_OF(X509) *sk = NULL, *ret = NULL;
	X509 *x;
	BIO *bio;

	if ((bio = BIO_new_file(path, "r")) == NULL) {
		gw_err_set_ossl(err, 0, path);
		return NULL;
	}
	if ((sk = sk_X509_new_null()) == NULL)
		goto out;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_push(sk, x) == 0) {
			X509_free(x);
			goto out;
		}
	}
	/* The end of the file shows up as "no start line". */
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE ||
	    sk_X509_num(sk) == 0) {
		gw_err_set_ossl(err, 0, path);
		goto out;
	}
	ERR_clear_error();
	ret = sk;
	sk = NULL;
out:
	BIO_free(bio);
	sk_X509_pop_free(sk, X509_free);
	return ret;
}

/*
 * Loads the RA certificate, its key and the CA chain (PEM; issuing CA
 * first, then up to the root; chain_path may be NULL), checks that the
 * key is RSA, private to us (with root_any: see ra_key_read()) and
 * matches the certificate, and prepares the GetCACert body. On success
 * *out is a new RA (free with scep_ra_free()); on failure *out is NULL
 * and err says why.
 */
static int
ra_load(struct scep_ra **out, const char *cert_path, const char *key_path,
    const char *chain_path, bool root_any, struct gw_err *err)
{
	struct scep_ra *ra = NULL;
	STACK_OF(X509) *certs = NULL;
	int rc = -1;

	*out = NULL;
	if ((ra = calloc(1, sizeof(*ra))) == NULL) {
		gw_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	ra->refs = 1;
	if ((certs = ra_certs_read(cert_path, err)) == NULL)
		goto out;
	ra->cert = sk_X509_shift(certs);
	if ((ra->key = ra_key_read(key_path, root_any, err)) == NULL)
		goto out;
	if (!EVP_PKEY_is_a(ra->key, "RSA")) {
		gw_err_set(err, EINVAL, "%s: the RA key must be RSA", key_path);
		goto out;
	}
	if (X509_check_private_key(ra->cert, ra->key) != 1) {
		gw_err_set_ossl(err, EINVAL,
		    "the RA key does not match the RA certificate");
		goto out;
	}
	if (chain_path != NULL && chain_path[0] != '\0')
		ra->chain = ra_certs_read(chain_path, err);
	else
		ra->chain = sk_X509_new_null();
	if (ra->chain == NULL)
		goto out;
	if (scep_bag_der(ra->cert, ra->chain, &ra->cacert, &ra->cacert_len) ==
	    -1) {
		gw_err_set_ossl(err, 0, "encoding the GetCACert reply");
		goto out;
	}
	*out = ra;
	ra = NULL;
	rc = 0;
out:
	sk_X509_pop_free(certs, X509_free);
	scep_ra_free(ra);
	return rc;
}

/* Loads an RA as ra_load() describes; the key must be ours (or root's). */
int
scep_ra_load(struct scep_ra **out, const char *cert_path, const char *key_path,
    const char *chain_path, struct gw_err *err)
{
	return ra_load(out, cert_path, key_path, chain_path, false, err);
}

/*
 * As scep_ra_load(), except that root also accepts a key of another owner
 * (gw_private_read_preroot()): for `scepgw check` run as root on an
 * instance whose RA key belongs to the service user.
 */
int
scep_ra_load_preroot(struct scep_ra **out, const char *cert_path,
    const char *key_path, const char *chain_path, struct gw_err *err)
{
	return ra_load(out, cert_path, key_path, chain_path, true, err);
}

/*
 * Takes one more reference to ra, for a holder that may outlive the one it
 * got ra from (a request in flight while a reload replaces the RA). Each
 * reference is given back with scep_ra_free(). Safe from any thread.
 */
void
scep_ra_up_ref(struct scep_ra *ra)
{
	__atomic_add_fetch(&ra->refs, 1, __ATOMIC_RELAXED);
}

/* Gives back one reference; the last one frees the RA. Accepts NULL. */
void
scep_ra_free(struct scep_ra *ra)
{
	int i;

	if (ra == NULL ||
	    __atomic_sub_fetch(&ra->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	X509_free(ra->cert);
	EVP_PKEY_free(ra->key);
	sk_X509_pop_free(ra->chain, X509_free);
	free(ra->cacert);
	for (i = 0; i < SCEP_RA_SLOT__MAX; i++) {
		X509_free(ra->alt_cert[i]);
		EVP_PKEY_free(ra->alt_key[i]);
	}
	free(ra->nextcacert);
	free(ra);
}

/* The RA certificate, borrowed. */
const X509 *
scep_ra_get0_cert(const struct scep_ra *ra)
{
	return ra->cert;
}

/* The CA chain (issuing CA first), borrowed; may be empty. */
const STACK_OF(X509) *
scep_ra_get0_chain(const struct scep_ra *ra)
{
	return ra->chain;
}

/* The certificate of the chain whose subject is name, or NULL. */
static X509 *
ra_chain_find(const struct scep_ra *ra, const X509_NAME *name)
{
	int i;

	for (i = 0; i < sk_X509_num(ra->chain); i++)
		if (X509_NAME_cmp(X509_get_subject_name(
				      sk_X509_value(ra->chain, i)),
			name) == 0)
			return sk_X509_value(ra->chain, i);
	return NULL;
}

/*
 * The CA certificates a device gets with cert in the CertRep's
 * certificates-only bag (RFC 8894 3.3.2), from the configured chain
 * (README "How an enrollment works"): cert's issuer, then each one's
 * issuer up the chain, by name, stopping before a self-signed root above
 * the issuer (the device pins it; GetCACert has it). A new stack of
 * borrowed certificates, perhaps empty: free it with sk_X509_free().
 * NULL when out of memory.
 */
STACK_OF(X509) *
scep_ra_issuers_new(const struct scep_ra *ra, const X509 *cert)
{
	STACK_OF(X509) *sk;
	const X509_NAME *issuer = X509_get_issuer_name(cert);
	X509 *ca;
	bool self;

	if ((sk = sk_X509_new_null()) == NULL)
		return NULL;
	while (sk_X509_num(sk) < sk_X509_num(ra->chain) &&
	    (ca = ra_chain_find(ra, issuer)) != NULL) {
		self = X509_NAME_cmp(X509_get_subject_name(ca),
			   X509_get_issuer_name(ca)) == 0;
		if ((self && sk_X509_num(sk) > 0) || sk_X509_push(sk, ca) <= 0)
			break;
		if (self)
			break;
		issuer = X509_get_issuer_name(ca);
	}
	return sk;
}

/*
 * The GetCACert body (application/x-x509-ca-ra-cert): a DER certs-only
 * SignedData with the RA certificate first, then the chain. Borrowed.
 */
const uint8_t *
scep_ra_cacert(const struct scep_ra *ra, size_t *len)
{
	*len = ra->cacert_len;
	return ra->cacert;
}

/* Whether some certificate of the chain is named as cert's issuer. */
static bool
ra_chain_names_issuer(const struct scep_ra *ra, const X509 *cert)
{
	return ra_chain_find(ra, X509_get_issuer_name(cert)) != NULL;
}

/*
 * Checks that cert (bare or not, pubkey.h) was issued under the
 * configured CA chain (it verifies up to the chain's last certificate,
 * the root) and is valid now: what authenticates a RenewalReq (RFC 8894
 * 2.4). Every PKCSReq asks too, signed by a self-signed certificate: one
 * whose issuer no chain certificate is named for fails before the
 * verifier runs and the key is decoded. Returns 0, or -1 with the
 * verifier's reason in err (code SCEP_FAIL_BADMESSAGECHECK).
 */
int
scep_ra_verify_issued(const struct scep_ra *ra, const X509 *cert,
    struct gw_err *err)
{
	X509_STORE_CTX *ctx = NULL;
	X509_STORE *store = NULL;
	X509 *full = NULL;
	int n = sk_X509_num(ra->chain), rc = -1;

	if (n <= 0) {
		gw_err_set(err, SCEP_FAIL_BADMESSAGECHECK, "no CA chain");
		return -1;
	}
	if (!ra_chain_names_issuer(ra, cert)) {
		gw_err_set(err, SCEP_FAIL_BADMESSAGECHECK,
		    "signer certificate: its issuer is not in the CA chain");
		return -1;
	}
	if ((full = gw_x509_full(cert)) == NULL ||
	    (store = X509_STORE_new()) == NULL ||
	    X509_STORE_add_cert(store, sk_X509_value(ra->chain, n - 1)) != 1 ||
	    (ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, store, full, ra->chain) != 1) {
		gw_err_set_ossl(err, SCEP_FAIL_BADMESSAGECHECK, "X509_STORE");
		goto out;
	}
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_ANY);
	if (X509_verify_cert(ctx) != 1) {
		gw_err_set(err, SCEP_FAIL_BADMESSAGECHECK,
		    "signer certificate: %s",
		    X509_verify_cert_error_string(
			X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(full);
	return rc;
}

/*
 * Builds the GetNextCACert body (RFC 8894 4.7): a SignedData signed by
 * the current RA key whose content is a certs-only bag of the next RA
 * certificate and the chain.
 */
static int
ra_nextcacert_make(struct scep_ra *ra, struct gw_err *err)
{
	CMS_ContentInfo *cms = NULL;
	uint8_t *bag = NULL;
	size_t bag_len = 0;
	BIO *bio = NULL;
	int rc = -1;

	if (scep_bag_der(ra->alt_cert[SCEP_RA_NEXT], ra->chain, &bag,
		&bag_len) == -1 ||
	    bag_len > INT32_MAX ||
	    (bio = BIO_new_mem_buf(bag, (int)bag_len)) == NULL ||
	    (cms = CMS_sign(ra->cert, ra->key, NULL, bio,
		 CMS_BINARY | CMS_NOSMIMECAP)) == NULL ||
	    scep_cms_der(cms, &ra->nextcacert, &ra->nextcacert_len) == -1) {
		gw_err_set_ossl(err, 0, "building the GetNextCACert reply");
		goto out;
	}
	rc = 0;
out:
	CMS_ContentInfo_free(cms);
	BIO_free(bio);
	free(bag);
	return rc;
}

/*
 * Adds the next or the previous RA certificate and key of a rollover.
 * Both decrypt requests; the next one is also announced by GetNextCACert.
 * Returns 0, or -1 with err set (the RA is unchanged).
 */
int
scep_ra_add_key(struct scep_ra *ra, enum scep_ra_slot slot,
    const char *cert_path, const char *key_path, struct gw_err *err)
{
	STACK_OF(X509) *certs = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int rc = -1;

	if ((certs = ra_certs_read(cert_path, err)) == NULL)
		goto out;
	cert = sk_X509_shift(certs);
	if ((key = ra_key_read(key_path, false, err)) == NULL)
		goto out;
	if (!EVP_PKEY_is_a(key, "RSA") ||
	    X509_check_private_key(cert, key) != 1) {
		gw_err_set_ossl(err, EINVAL,
		    "the key is not RSA or does not match the certificate");
		goto out;
	}
	X509_free(ra->alt_cert[slot]);
	EVP_PKEY_free(ra->alt_key[slot]);
	ra->alt_cert[slot] = cert;
	ra->alt_key[slot] = key;
	cert = NULL;
	key = NULL;
	if (slot == SCEP_RA_NEXT) {
		free(ra->nextcacert);
		ra->nextcacert = NULL;
		if (ra_nextcacert_make(ra, err) == -1)
			goto out;
	}
	rc = 0;
out:
	X509_free(cert);
	EVP_PKEY_free(key);
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

/* The GetNextCACert body, borrowed; NULL when no next RA is configured. */
const uint8_t *
scep_ra_nextcacert(const struct scep_ra *ra, size_t *len)
{
	*len = ra->nextcacert_len;
	return ra->nextcacert;
}

/*
 * Decrypts a request's EnvelopedData with the RA key into out; during a
 * rollover, with the next or the previous RA key when the current one is
 * not the recipient. The recipient is matched by issuerAndSerialNumber or
 * subjectKeyIdentifier. Returns 0, or -1 with err set.
 */
int
scep_ra_decrypt(const struct scep_ra *ra, CMS_ContentInfo *env, BIO *out,
    struct gw_err *err)
{
	int i;

	if (CMS_decrypt(env, ra->key, ra->cert, NULL, out, CMS_BINARY) == 1)
		return 0;
	for (i = 0; i < SCEP_RA_SLOT__MAX; i++) {
		if (ra->alt_key[i] == NULL)
			continue;
		ERR_clear_error();
		if (CMS_decrypt(env, ra->alt_key[i], ra->alt_cert[i], NULL, out,
			CMS_BINARY) == 1)
			return 0;
	}
	gw_err_set_ossl(err, SCEP_FAIL_BADMESSAGECHECK, "CMS_decrypt");
	return -1;
}

/*
 * Adds the RA as signer of a partial SignedData, with digest md, no
 * S/MIME capabilities, and the RA certificate in the certificates set.
 * The signature is made by CMS_final(). Returns the SignerInfo (owned by
 * cms) or NULL with err set.
 */
CMS_SignerInfo *
scep_ra_add_signer(const struct scep_ra *ra, CMS_ContentInfo *cms,
    const EVP_MD *md, struct gw_err *err)
{
	CMS_SignerInfo *si;

	si = CMS_add1_signer(cms, ra->cert, ra->key, md,
	    CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP);
	if (si == NULL)
		gw_err_set_ossl(err, 0, "CMS_add1_signer");
	return si;
}

/* Writes a key as unencrypted PKCS#8 PEM, mode 0600, owned by uid:gid
 * (gw_file_write_owned()); 0 or -1. */
static int
ra_key_write(const char *path, EVP_PKEY *key, uid_t uid, gid_t gid,
    struct gw_err *err)
{
	BIO *bio;
	char *p;
	long n;
	int rc = -1;

	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) !=
		1 ||
	    (n = BIO_get_mem_data(bio, &p)) <= 0) {
		gw_err_set_ossl(err, 0, "encoding the RA key");
		goto out;
	}
	rc = gw_file_write_owned(path, p, (size_t)n, 0600, uid, gid, err);
	gw_cleanse(p, (size_t)n);
out:
	BIO_free(bio);
	return rc;
}

/*
 * Makes a new RSA key of bits bits (0: 3072) and writes it to key_path
 * with mode 0600. Returns 0, or -1 with err set.
 */
int
scep_ra_key_new(const char *key_path, int bits, struct gw_err *err)
{
	return scep_ra_key_new_owned(key_path, bits, (uid_t)-1, (gid_t)-1, err);
}

/*
 * As scep_ra_key_new(), the file owned by uid:gid from its creation
 * ((uid_t)-1, (gid_t)-1: the caller's), for `scepgw init --user`.
 */
int
scep_ra_key_new_owned(const char *key_path, int bits, uid_t uid, gid_t gid,
    struct gw_err *err)
{
	EVP_PKEY *key;
	int rc;

	if (bits == 0)
		bits = 3072;
	if (bits < RA_BITS_MIN || bits > RA_BITS_MAX) {
		gw_err_set(err, EINVAL, "RA key size %d out of %d..%d", bits,
		    RA_BITS_MIN, RA_BITS_MAX);
		return -1;
	}
	if ((key = EVP_RSA_gen((unsigned)bits)) == NULL) {
		gw_err_set_ossl(err, 0, "EVP_RSA_gen");
		return -1;
	}
	rc = ra_key_write(key_path, key, uid, gid, err);
	EVP_PKEY_free(key);
	return rc;
}

/* A name holding one CN; caller frees with X509_NAME_free(). */
static X509_NAME *
ra_name_new(const char *cn)
{
	X509_NAME *name;

	if ((name = X509_NAME_new()) == NULL)
		return NULL;
	if (X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
		(const unsigned char *)cn, -1, -1, 0) != 1) {
		X509_NAME_free(name);
		return NULL;
	}
	return name;
}

/*
 * Makes a PKCS#10 request (subject CN=cn, SHA-256) for the RA key at
 * key_path, to be issued by the upstream CA. On success *pem is a
 * malloc'd PEM string (caller frees with free()).
 */
int
scep_ra_csr_new(const char *key_path, const char *cn, char **pem,
    struct gw_err *err)
{
	X509_REQ *req = NULL;
	X509_NAME *name = NULL;
	EVP_PKEY *key = NULL;
	BIO *bio = NULL;
	char *p;
	long n;
	int rc = -1;

	*pem = NULL;
	/* root_any: init, as root, reads the key it made for --user. */
	if ((key = ra_key_read(key_path, true, err)) == NULL)
		goto out;
	if ((req = X509_REQ_new()) == NULL ||
	    (name = ra_name_new(cn)) == NULL ||
	    X509_REQ_set_version(req, 0) != 1 ||
	    X509_REQ_set_subject_name(req, name) != 1 ||
	    X509_REQ_set_pubkey(req, key) != 1 ||
	    X509_REQ_sign(req, key, EVP_sha256()) <= 0 ||
	    (bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509_REQ(bio, req) != 1 ||
	    (n = BIO_get_mem_data(bio, &p)) <= 0) {
		gw_err_set_ossl(err, 0, "making the RA CSR");
		goto out;
	}
	if ((*pem = gw_strndup(p, (size_t)n)) == NULL) {
		gw_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	rc = 0;
out:
	BIO_free(bio);
	X509_NAME_free(name);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	return rc;
}

/* Adds one extension given in openssl.cnf syntax; 0 or -1. */
static int
ra_ext_add(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int rc;

	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value)) == NULL)
		return -1;
	rc = X509_add_ext(x, ext, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ext);
	return rc;
}

/* Sets a random positive 128-bit serial number; 0 or -1. */
static int
ra_serial_set(X509 *x)
{
	uint8_t rnd[16];
	BIGNUM *bn = NULL;
	int rc = -1;

	if (gw_random_bytes(rnd, sizeof(rnd)) == -1)
		return -1;
	rnd[0] &= 0x7f;
	rnd[0] |= 0x40;
	if ((bn = BN_bin2bn(rnd, sizeof(rnd), NULL)) != NULL &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL)
		rc = 0;
	BN_free(bn);
	return rc;
}

/* Builds and signs the self-signed RA certificate; NULL on failure. */
static X509 *
ra_selfsigned_make(EVP_PKEY *key, const char *cn, int days)
{
	X509_NAME *name = NULL;
	X509 *x;

	if ((x = X509_new()) == NULL)
		return NULL;
	if ((name = ra_name_new(cn)) == NULL || X509_set_version(x, 2) != 1 ||
	    ra_serial_set(x) == -1 || X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -300) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) == NULL ||
	    X509_set_pubkey(x, key) != 1 ||
	    ra_ext_add(x, NID_basic_constraints, "critical,CA:FALSE") == -1 ||
	    ra_ext_add(x, NID_key_usage,
		"critical,digitalSignature,keyEncipherment") == -1 ||
	    ra_ext_add(x, NID_subject_key_identifier, "hash") == -1 ||
	    X509_sign(x, key, EVP_sha256()) <= 0) {
		X509_free(x);
		x = NULL;
	}
	X509_NAME_free(name);
	return x;
}

/*
 * Makes a self-signed RA certificate (CN=cn, valid for days days, KU
 * digitalSignature+keyEncipherment critical, CA:FALSE, SKI) for the key
 * at key_path and writes it as PEM to cert_path. Returns 0, or -1 with
 * err set.
 */
int
scep_ra_selfsigned_new(const char *key_path, const char *cn, int days,
    const char *cert_path, struct gw_err *err)
{
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	BIO *bio = NULL;
	char *p;
	long n;
	int rc = -1;

	if (days <= 0) {
		gw_err_set(err, EINVAL, "validity of %d days", days);
		goto out;
	}
	/* root_any: init, as root, reads the key it made for --user. */
	if ((key = ra_key_read(key_path, true, err)) == NULL)
		goto out;
	if ((x = ra_selfsigned_make(key, cn, days)) == NULL ||
	    (bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509(bio, x) != 1 ||
	    (n = BIO_get_mem_data(bio, &p)) <= 0) {
		gw_err_set_ossl(err, 0,
		    "making the self-signed RA certificate");
		goto out;
	}
	rc = gw_file_write(cert_path, p, (size_t)n, 0644, err);
out:
	BIO_free(bio);
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}
