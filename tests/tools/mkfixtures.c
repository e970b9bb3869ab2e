/*
 * mkfixtures: writes the SCEP request corpus of tests/fixtures/scep/ (see
 * its README.md). It is a build target only; CI replays the committed
 * output with tests/integration/cases/fixtures-replay.sh.
 *
 *   mkfixtures DIR
 *
 * Keys and certificates already in DIR are reused, so a new run changes
 * only the messages (their nonces and envelopes are random) and adds what
 * is missing: DIR/sim/ (the fixed epki-sim PKI: root and issuing CA),
 * DIR/ra.pem and ra.key (the fixed RA, issued by that CA), and for every
 * fixture NAME.der with NAME.key and NAME.signer.pem (its signer). Then
 * DIR/MANIFEST is rewritten.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "gw_err.h"
#include "scep.h"
#include "scep_client.h"
#include "secure.h"

#define DAY 86400L
#define LONG_DAYS (30 * 365L) /* fixtures outlive the CI that runs them */

/* Who signs a fixture's pkiMessage. */
enum signer_kind {
	SIGNER_SELF,	/* self-signed with the CSR key (plain PKCSReq) */
	SIGNER_ISSUED,	/* issued by the fixed CA: a renewal */
	SIGNER_EXPIRED, /* issued by the fixed CA, expired */
	SIGNER_FOREIGN, /* self-signed, but for a RenewalReq */
};

/* One request of the corpus and the reply the gateway must give. */
struct fixture {
	const char *name;
	int type;		 /* enum scep_msgtype */
	const char *cipher;	 /* scepreq name */
	const char *digest;	 /* scepreq name */
	bool oaep;		 /* RSAES-OAEP key transport */
	bool ber;		 /* indefinite-length CMS */
	bool ec;		 /* P-256 CSR (and signer) key */
	enum signer_kind signer; /* see above */
	const char *transport;	 /* MANIFEST transport */
	const char *path;	 /* MANIFEST path */
	bool challenge;		 /* the CSR carries one */
	bool registered;	 /* the replay puts it in the database */
	const char *status;	 /* expected pkiStatus */
	const char *fail;	 /* expected failInfo, or "-" */
	const char *of;		 /* CertPoll: the PKCSReq it polls for */
	int phase;		 /* 1: allow_des = no, 2: allow_des = yes */
};

#define PKCS SCEP_MT_PKCSREQ
#define RENEW SCEP_MT_RENEWALREQ
#define POLL SCEP_MT_CERTPOLL

/* The corpus, in replay order: a CertPoll follows what it polls for. */
static const struct fixture fixtures[] = {
	/* Item 5: ciphers, key transport, digests, CSR keys. */
	{ "pkcsreq-aes128-sha256", PKCS, "aes128", "sha256", false, false,
	    false, SIGNER_SELF, "post", "/scep", true, true, "SUCCESS", "-",
	    NULL, 2 },
	{ "pkcsreq-aes192-sha256", PKCS, "aes192", "sha256", false, false,
	    false, SIGNER_SELF, "post", "/scep", true, true, "SUCCESS", "-",
	    NULL, 2 },
	{ "pkcsreq-aes256-sha256", PKCS, "aes256", "sha256", false, false,
	    false, SIGNER_SELF, "post", "/scep", true, true, "SUCCESS", "-",
	    NULL, 2 },
	{ "pkcsreq-des3-sha256", PKCS, "des3", "sha256", false, false, false,
	    SIGNER_SELF, "post", "/scep", true, true, "SUCCESS", "-", NULL, 2 },
	{ "pkcsreq-des-sha1", PKCS, "des", "sha1", false, false, false,
	    SIGNER_SELF, "post", "/scep", true, true, "SUCCESS", "-", NULL, 2 },
	{ "pkcsreq-aes128-sha1", PKCS, "aes128", "sha1", false, false, false,
	    SIGNER_SELF, "post", "/scep", true, true, "SUCCESS", "-", NULL, 2 },
	{ "pkcsreq-aes128-sha224", PKCS, "aes128", "sha224", false, false,
	    false, SIGNER_SELF, "post", "/scep", true, true, "SUCCESS", "-",
	    NULL, 2 },
	{ "pkcsreq-aes128-sha384", PKCS, "aes128", "sha384", false, false,
	    false, SIGNER_SELF, "post", "/scep", true, true, "SUCCESS", "-",
	    NULL, 2 },
	{ "pkcsreq-aes128-sha512", PKCS, "aes128", "sha512", false, false,
	    false, SIGNER_SELF, "post", "/scep", true, true, "SUCCESS", "-",
	    NULL, 2 },
	{ "pkcsreq-oaep-aes256-sha256", PKCS, "aes256", "sha256", true, false,
	    false, SIGNER_SELF, "post", "/scep", true, true, "SUCCESS", "-",
	    NULL, 2 },
	{ "pkcsreq-oaep-des3-sha512", PKCS, "des3", "sha512", true, false,
	    false, SIGNER_SELF, "post", "/scep", true, true, "SUCCESS", "-",
	    NULL, 2 },
	{ "pkcsreq-oaep-des-sha1", PKCS, "des", "sha1", true, false, false,
	    SIGNER_SELF, "post", "/scep", true, true, "SUCCESS", "-", NULL, 2 },
	{ "pkcsreq-ec-aes128-sha256", PKCS, "aes128", "sha256", false, false,
	    true, SIGNER_SELF, "post", "/scep", true, true, "SUCCESS", "-",
	    NULL, 2 },
	{ "pkcsreq-ec-oaep-aes256-sha384", PKCS, "aes256", "sha384", true,
	    false, true, SIGNER_SELF, "post", "/scep", true, true, "SUCCESS",
	    "-", NULL, 2 },
	/* Single DES while allow_des is off: refused before anything else. */
	{ "pkcsreq-des-refused", PKCS, "des", "sha256", false, false, false,
	    SIGNER_SELF, "post", "/scep", true, true, "FAILURE", "badAlg", NULL,
	    1 },
	/* Item 6: BER, GET encodings, content types, paths, HTTP/1.0. */
	{ "pkcsreq-ber-aes128-sha256", PKCS, "aes128", "sha256", false, true,
	    false, SIGNER_SELF, "post", "/scep", true, true, "SUCCESS", "-",
	    NULL, 2 },
	{ "pkcsreq-ber-oaep-des3-sha1", PKCS, "des3", "sha1", true, true, false,
	    SIGNER_SELF, "get-escaped", "/scep", true, true, "SUCCESS", "-",
	    NULL, 2 },
	{ "pkcsreq-get-escaped", PKCS, "aes128", "sha256", false, false, false,
	    SIGNER_SELF, "get-escaped", "/scep", true, true, "SUCCESS", "-",
	    NULL, 2 },
	{ "pkcsreq-get-urlsafe", PKCS, "aes128", "sha256", false, false, false,
	    SIGNER_SELF, "get-urlsafe", "/scep", true, true, "SUCCESS", "-",
	    NULL, 2 },
	{ "pkcsreq-get-half", PKCS, "aes128", "sha256", false, false, false,
	    SIGNER_SELF, "get-half", "/cgi-bin/pkiclient.exe", true, true,
	    "SUCCESS", "-", NULL, 2 },
	{ "pkcsreq-get-raw", PKCS, "aes128", "sha256", false, false, false,
	    SIGNER_SELF, "get-raw", "/scep", true, true, "SUCCESS", "-", NULL,
	    2 },
	{ "pkcsreq-get-space", PKCS, "aes128", "sha256", false, false, false,
	    SIGNER_SELF, "get-space", "/scep/", true, true, "SUCCESS", "-",
	    NULL, 2 },
	{ "pkcsreq-get-wrapped", PKCS, "des3", "sha1", false, false, false,
	    SIGNER_SELF, "get-wrapped", "/certsrv/mscep/mscep.dll", true, true,
	    "SUCCESS", "-", NULL, 2 },
	{ "pkcsreq-post-no-ctype", PKCS, "aes128", "sha256", false, false,
	    false, SIGNER_SELF, "post-noctype", "/cgi-bin/pkiclient.exe", true,
	    true, "SUCCESS", "-", NULL, 2 },
	{ "pkcsreq-post-octet-stream", PKCS, "aes128", "sha256", false, false,
	    false, SIGNER_SELF, "post-octet", "/scep/pkiclient.exe", true, true,
	    "SUCCESS", "-", NULL, 2 },
	{ "pkcsreq-post-http10", PKCS, "aes256", "sha256", false, false, false,
	    SIGNER_SELF, "post-http1.0",
	    "/certsrv/mscep/mscep.dll/pkiclient.exe", true, true, "SUCCESS",
	    "-", NULL, 2 },
	/* Item 1: the other operations. */
	{ "certpoll-issued", POLL, "aes128", "sha256", false, false, false,
	    SIGNER_SELF, "post", "/scep", false, false, "SUCCESS", "-",
	    "pkcsreq-aes128-sha256", 2 },
	{ "certpoll-get-oaep-sha512", POLL, "aes256", "sha512", true, false,
	    false, SIGNER_SELF, "get-escaped", "/scep", false, false, "SUCCESS",
	    "-", "pkcsreq-oaep-aes256-sha256", 2 },
	{ "certpoll-unknown-txid", POLL, "aes128", "sha256", false, false,
	    false, SIGNER_SELF, "post", "/scep", false, false, "FAILURE",
	    "badCertId", NULL, 2 },
	{ "getcert-unknown-serial", SCEP_MT_GETCERT, "aes128", "sha256", false,
	    false, false, SIGNER_SELF, "post", "/scep", false, false, "FAILURE",
	    "badCertId", NULL, 2 },
	{ "getcrl", SCEP_MT_GETCRL, "aes128", "sha256", false, false, false,
	    SIGNER_SELF, "post", "/scep", false, false, "SUCCESS", "-", NULL,
	    2 },
	/* Item 2: renewal, authenticated by the signer, no challenge. */
	{ "renewalreq-issued", RENEW, "aes256", "sha256", false, false, false,
	    SIGNER_ISSUED, "post", "/scep", false, false, "SUCCESS", "-", NULL,
	    2 },
	{ "pkcsreq-signed-by-issued", PKCS, "aes128", "sha256", false, false,
	    false, SIGNER_ISSUED, "post", "/scep", false, false, "SUCCESS", "-",
	    NULL, 2 },
	{ "renewalreq-foreign", RENEW, "aes128", "sha256", false, false, false,
	    SIGNER_FOREIGN, "post", "/scep", false, false, "FAILURE",
	    "badMessageCheck", NULL, 2 },
	{ "renewalreq-expired", RENEW, "aes128", "sha256", false, false, false,
	    SIGNER_EXPIRED, "post", "/scep", false, false, "FAILURE",
	    "badMessageCheck", NULL, 2 },
	/* A challenge the database does not hold. */
	{ "pkcsreq-unknown-challenge", PKCS, "aes128", "sha256", false, false,
	    false, SIGNER_SELF, "post", "/scep", true, false, "FAILURE",
	    "badRequest", NULL, 2 },
	{ "pkcsreq-no-challenge", PKCS, "aes128", "sha256", false, false, false,
	    SIGNER_SELF, "post", "/scep", false, false, "FAILURE", "badRequest",
	    NULL, 2 },
};

/* What the generator holds while it runs. */
struct gen {
	const char *dir;
	X509 *ca;	  /* the fixed issuing CA */
	EVP_PKEY *ca_key; /* its key */
	X509 *ra;	  /* the fixed RA */
	FILE *manifest;	  /* DIR/MANIFEST.new */
};

/* DIR/name into out; 0 or -1. */
static int
path_make(const struct gen *g, const char *name, char *out, size_t size)
{
	if ((size_t)snprintf(out, size, "%s/%s", g->dir, name) >= size) {
		fprintf(stderr, "mkfixtures: path too long: %s\n", name);
		return -1;
	}
	return 0;
}

/* Reads a PEM key from DIR/name, or NULL when there is none. */
static EVP_PKEY *
key_load(const struct gen *g, const char *name)
{
	char path[4096];
	EVP_PKEY *k = NULL;
	BIO *bio;

	if (path_make(g, name, path, sizeof(path)) == -1)
		return NULL;
	if ((bio = BIO_new_file(path, "r")) != NULL)
		k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();
	return k;
}

/* Reads a PEM certificate from DIR/name, or NULL when there is none. */
static X509 *
cert_load(const struct gen *g, const char *name)
{
	char path[4096];
	X509 *x = NULL;
	BIO *bio;

	if (path_make(g, name, path, sizeof(path)) == -1)
		return NULL;
	if ((bio = BIO_new_file(path, "r")) != NULL)
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();
	return x;
}

/* Writes a key (mode 0600) or a certificate as PEM to DIR/name. */
static int
pem_save(const struct gen *g, const char *name, EVP_PKEY *k, X509 *x)
{
	struct gw_err err;
	char path[4096];
	BIO *bio;
	char *p;
	long n;
	int rc = -1;

	if (path_make(g, name, path, sizeof(path)) == -1 ||
	    (bio = BIO_new(BIO_s_mem())) == NULL)
		return -1;
	if ((k != NULL ? PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL,
			     NULL) :
			 PEM_write_bio_X509(bio, x)) == 1 &&
	    (n = BIO_get_mem_data(bio, &p)) > 0 &&
	    gw_file_write(path, p, (size_t)n, k != NULL ? 0600 : 0644, &err) ==
		0)
		rc = 0;
	else
		fprintf(stderr, "mkfixtures: cannot write %s\n", path);
	BIO_free(bio);
	return rc;
}

/* The key in DIR/name, created (RSA-2048 or P-256) when missing. */
static EVP_PKEY *
key_get(const struct gen *g, const char *name, bool ec)
{
	EVP_PKEY *k;

	if ((k = key_load(g, name)) != NULL)
		return k;
	if ((k = scep_client_key_new(ec, 2048)) == NULL ||
	    pem_save(g, name, k, NULL) == -1) {
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

/* Adds one extension given in openssl's config syntax; 0 or -1. */
static int
ext_add(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	int rc;

	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value)) == NULL)
		return -1;
	rc = X509_add_ext(x, e, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(e);
	return rc;
}

/* How a certificate made by cert_new() looks. */
struct cert_spec {
	const char *cn;
	const char *email; /* rfc822Name SAN, or NULL */
	long from, to;	   /* validity, seconds from now */
	bool ca;	   /* a CA certificate */
	const char *ku;	   /* keyUsage, or NULL */
	const char *eku;   /* extendedKeyUsage, or NULL */
};

/*
 * A certificate for key with the given spec, issued by issuer/ikey, or
 * self-signed when issuer is NULL. NULL on failure.
 */
static X509 *
cert_new(EVP_PKEY *key, const struct cert_spec *s, X509 *issuer, EVP_PKEY *ikey)
{
	X509_NAME *name = NULL;
	BIGNUM *bn = NULL;
	uint8_t rnd[12];
	char san[300];
	X509 *x;

	if ((x = X509_new()) == NULL)
		return NULL;
	if (gw_random_bytes(rnd, sizeof(rnd)) == -1)
		goto err;
	rnd[0] = (uint8_t)((rnd[0] & 0x7f) | 0x01);
	if ((name = X509_NAME_new()) == NULL ||
	    X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
		(const unsigned char *)s->cn, -1, -1, 0) != 1 ||
	    (bn = BN_bin2bn(rnd, sizeof(rnd), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    X509_set_version(x, 2) != 1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x,
		issuer != NULL ? X509_get_subject_name(issuer) : name) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), s->from) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), s->to) == NULL ||
	    X509_set_pubkey(x, key) != 1)
		goto err;
	if (ext_add(x, issuer, NID_basic_constraints,
		s->ca ? "critical,CA:TRUE" : "critical,CA:FALSE") == -1 ||
	    ext_add(x, issuer, NID_subject_key_identifier, "hash") == -1 ||
	    (issuer != NULL &&
		ext_add(x, issuer, NID_authority_key_identifier, "keyid") ==
		    -1) ||
	    (s->ku != NULL && ext_add(x, issuer, NID_key_usage, s->ku) == -1) ||
	    (s->eku != NULL &&
		ext_add(x, issuer, NID_ext_key_usage, s->eku) == -1))
		goto err;
	if (s->email != NULL &&
	    ((size_t)snprintf(san, sizeof(san), "email:%s", s->email) >=
		    sizeof(san) ||
		ext_add(x, issuer, NID_subject_alt_name, san) == -1))
		goto err;
	if (X509_sign(x, issuer != NULL ? ikey : key, EVP_sha256()) <= 0)
		goto err;
	BN_free(bn);
	X509_NAME_free(name);
	return x;
err:
	BN_free(bn);
	X509_NAME_free(name);
	X509_free(x);
	return NULL;
}

/*
 * The fixed epki-sim PKI in DIR/sim (root.pem, issuing.pem, issuing.key:
 * what epki-sim loads from its --dir) and the fixed RA in DIR/ra.pem and
 * DIR/ra.key, created when missing.
 */
static int
pki_get(struct gen *g)
{
	const struct cert_spec root_spec = { "scepgw fixtures Root CA", NULL,
		-DAY, LONG_DAYS * DAY, true, "critical,keyCertSign,cRLSign",
		NULL };
	const struct cert_spec ca_spec = { "scepgw fixtures Issuing CA", NULL,
		-DAY, LONG_DAYS * DAY, true, "critical,keyCertSign,cRLSign",
		NULL };
	const struct cert_spec ra_spec = { "scepgw fixtures RA", NULL, -DAY,
		LONG_DAYS * DAY, false,
		"critical,digitalSignature,keyEncipherment", NULL };
	EVP_PKEY *root_key = NULL, *ra_key = NULL;
	X509 *root = NULL;
	char path[4096];
	int rc = -1;

	if (path_make(g, "sim", path, sizeof(path)) == -1 ||
	    (mkdir(path, 0755) == -1 && errno != EEXIST))
		goto out;
	g->ca = cert_load(g, "sim/issuing.pem");
	g->ca_key = key_load(g, "sim/issuing.key");
	if (g->ca == NULL || g->ca_key == NULL) {
		X509_free(g->ca);
		EVP_PKEY_free(g->ca_key);
		if ((root_key = scep_client_key_new(false, 2048)) == NULL ||
		    (g->ca_key = scep_client_key_new(false, 2048)) == NULL ||
		    (root = cert_new(root_key, &root_spec, NULL, NULL)) ==
			NULL ||
		    (g->ca = cert_new(g->ca_key, &ca_spec, root, root_key)) ==
			NULL ||
		    pem_save(g, "sim/root.pem", NULL, root) == -1 ||
		    pem_save(g, "sim/issuing.pem", NULL, g->ca) == -1 ||
		    pem_save(g, "sim/issuing.key", g->ca_key, NULL) == -1)
			goto out;
	}
	if ((g->ra = cert_load(g, "ra.pem")) == NULL) {
		if ((ra_key = key_get(g, "ra.key", false)) == NULL ||
		    (g->ra = cert_new(ra_key, &ra_spec, g->ca, g->ca_key)) ==
			NULL ||
		    pem_save(g, "ra.pem", NULL, g->ra) == -1)
			goto out;
	}
	rc = 0;
out:
	if (rc == -1)
		fprintf(stderr, "mkfixtures: cannot set up the fixed PKI\n");
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(ra_key);
	X509_free(root);
	return rc;
}

/* The signer certificate in DIR/NAME.signer.pem, made when missing. */
static X509 *
signer_get(struct gen *g, const struct fixture *f, EVP_PKEY *key)
{
	struct cert_spec s = { NULL, NULL, -DAY, LONG_DAYS * DAY, false,
		"critical,digitalSignature,keyEncipherment", NULL };
	char file[300], cn[200];
	X509 *x;

	snprintf(file, sizeof(file), "%s.signer.pem", f->name);
	if ((x = cert_load(g, file)) != NULL)
		return x;
	snprintf(cn, sizeof(cn), "fixture-%s", f->name);
	s.cn = cn;
	if (f->signer == SIGNER_ISSUED || f->signer == SIGNER_EXPIRED) {
		/* As PersonalSign issues: what a renewal signer must carry. */
		s.email = "renewal@example.com";
		s.eku = "clientAuth,emailProtection";
		if (f->signer == SIGNER_EXPIRED) {
			s.from = -60 * DAY;
			s.to = -30 * DAY;
		}
		x = cert_new(key, &s, g->ca, g->ca_key);
	} else {
		s.ku = NULL;
		x = cert_new(key, &s, NULL, NULL);
	}
	if (x == NULL || pem_save(g, file, NULL, x) == -1) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* The fixture named name; NULL if there is none. */
static const struct fixture *
fixture_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
		if (strcmp(fixtures[i].name, name) == 0)
			return &fixtures[i];
	return NULL;
}

/* Writes DIR/NAME.der and its MANIFEST line; 0 or -1. */
static int
fixture_make(struct gen *g, const struct fixture *f)
{
	const struct fixture *key_of = f->of != NULL ? fixture_find(f->of) : f;
	struct scep_client_req req;
	ASN1_INTEGER *serial = NULL;
	EVP_PKEY *key = NULL, *csr_key = NULL;
	X509_REQ *csr = NULL;
	X509 *signer = NULL;
	struct gw_err err;
	struct buf msg;
	char file[300], cn[200], challenge[200], txid[200];
	int rc = -1;

	buf_init(&msg, 0);
	memset(&req, 0, sizeof(req));
	if (key_of == NULL)
		goto out;
	snprintf(file, sizeof(file), "%s.key", key_of->name);
	snprintf(cn, sizeof(cn), "fixture-%s", key_of->name);
	snprintf(challenge, sizeof(challenge), "fixture-challenge-%s",
	    key_of->name);
	/* A transactionID of its own, or the one of the request it polls. */
	snprintf(txid, sizeof(txid), "fixture-txid-%s", key_of->name);
	if ((key = key_get(g, file, key_of->ec)) == NULL ||
	    (signer = signer_get(g, key_of, key)) == NULL)
		goto out;
	/* A renewal asks for a new key; a plain request certifies its own. */
	csr_key = key;
	if (f->signer != SIGNER_SELF &&
	    (csr_key = scep_client_key_new(false, 2048)) == NULL)
		goto out;
	if ((csr = scep_client_csr_new(csr_key, cn, NULL,
		 f->challenge ? challenge : NULL)) == NULL)
		goto out;
	req.type = f->type;
	req.txid = txid;
	req.cipher_nid = scep_client_cipher_nid(f->cipher);
	req.digest_nid = scep_client_digest_nid(f->digest);
	req.oaep = f->oaep;
	req.ber = f->ber;
	req.signer = signer;
	req.key = key;
	req.recipient = g->ra;
	req.csr = csr;
	req.issuer = X509_get_subject_name(g->ca);
	req.subject = X509_REQ_get_subject_name(csr);
	if ((serial = ASN1_INTEGER_new()) == NULL ||
	    ASN1_INTEGER_set(serial, 0x5ce9) != 1)
		goto out;
	req.serial =
	    f->type == SCEP_MT_GETCRL ? X509_get0_serialNumber(g->ra) : serial;
	if (req.cipher_nid == NID_undef || req.digest_nid == NID_undef ||
	    scep_client_msg_build(&req, &msg, &err) == -1) {
		fprintf(stderr, "mkfixtures: %s: %s\n", f->name,
		    req.cipher_nid == NID_undef ? "bad algorithm" : err.msg);
		goto out;
	}
	snprintf(file, sizeof(file), "%s/%s.der", g->dir, f->name);
	if (gw_file_write(file, msg.data, msg.len, 0644, &err) == -1) {
		fprintf(stderr, "mkfixtures: %s\n", err.msg);
		goto out;
	}
	fprintf(g->manifest, "%s.der %s %s %s %s %s %s %s %s %s %s %s %d\n",
	    f->name, key_of->name, scep_msgtype_name(f->type), f->transport,
	    f->path, f->status, f->fail,
	    strcmp(f->status, "SUCCESS") == 0 ? f->cipher : "-", f->digest,
	    strcmp(f->status, "SUCCESS") != 0 ? "-" :
		key_of->ec		      ? "ecdh" :
		f->oaep			      ? "oaep" :
						"v15",
	    f->challenge ? challenge : "-", f->registered ? "yes" : "no",
	    f->phase);
	rc = 0;
out:
	buf_cleanup(&msg);
	ASN1_INTEGER_free(serial);
	X509_REQ_free(csr);
	X509_free(signer);
	if (csr_key != key)
		EVP_PKEY_free(csr_key);
	EVP_PKEY_free(key);
	return rc;
}

/* The lines of captured messages, kept from the old MANIFEST. */
static void
manifest_keep_captured(struct gen *g)
{
	char path[4096], line[1024];
	FILE *f;

	if (path_make(g, "MANIFEST", path, sizeof(path)) == -1 ||
	    (f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "captured-", 9) == 0)
			fputs(line, g->manifest);
	fclose(f);
}

int
main(int argc, char **argv)
{
	char path[4096], tmp[4200];
	struct gw_err err;
	struct gen g;
	size_t i;
	int ex = 1;

	memset(&g, 0, sizeof(g));
	if (argc != 2) {
		fprintf(stderr, "usage: mkfixtures DIR\n");
		return 2;
	}
	g.dir = argv[1];
	if (scep_init(true, &err) == -1) {
		fprintf(stderr, "mkfixtures: %s\n", err.msg);
		return 1;
	}
	if (pki_get(&g) == -1 ||
	    path_make(&g, "MANIFEST", path, sizeof(path)) == -1)
		goto out;
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	if ((g.manifest = fopen(tmp, "w")) == NULL) {
		fprintf(stderr, "mkfixtures: %s: %s\n", tmp, strerror(errno));
		goto out;
	}
	fprintf(g.manifest,
	    "# Written by mkfixtures (see README.md); one request per line,\n"
	    "# replayed in this order by fixtures-replay.sh. Columns: file,\n"
	    "# key (KEY.key and KEY.signer.pem sign it and open the reply),\n"
	    "# messageType, transport, path, pkiStatus, failInfo, reply\n"
	    "# cipher, reply digest, reply key transport, challenge, whether\n"
	    "# the replay registers the challenge, phase (1: allow_des = no,\n"
	    "# 2: allow_des = yes). '-': none or not applicable.\n");
	for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
		if (fixture_make(&g, &fixtures[i]) == -1)
			goto out;
	manifest_keep_captured(&g);
	if (fclose(g.manifest) != 0 || rename(tmp, path) == -1) {
		g.manifest = NULL;
		fprintf(stderr, "mkfixtures: cannot write %s\n", path);
		goto out;
	}
	g.manifest = NULL;
	ex = 0;
out:
	if (g.manifest != NULL)
		fclose(g.manifest);
	X509_free(g.ca);
	EVP_PKEY_free(g.ca_key);
	X509_free(g.ra);
	return ex;
}
