/*
 * intune-sim's keys and encodings: the test CA and its TLS certificate
 * for 127.0.0.1/localhost, the token-signing key, the challenge HMAC key
 * (all made on first start in DIR, README "DIR"), base64/base64url, and
 * JWTs (RS256 tokens it issues; RS256/PS256 client assertions it checks).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "isim.h"

/* Writes n bytes to DIR/name with the given mode; 0 or -1. */
static int
write_file(struct isim *s, const char *name, const void *p, size_t n,
    mode_t mode)
{
	char path[PATH_MAX + 32];
	int fd, rc = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", s->dir, name) >=
	    sizeof(path))
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd == -1)
		return -1;
	if (write(fd, p, n) != (ssize_t)n || fsync(fd) == -1)
		rc = -1;
	close(fd);
	return rc;
}

/* Reads DIR/name whole, NUL-terminated; NULL when absent. */
static char *
read_file(struct isim *s, const char *name, size_t *len)
{
	char path[PATH_MAX + 32], *p = NULL;
	long n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", s->dir, name);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)n + 1)) != NULL) {
		if (fread(p, 1, (size_t)n, f) != (size_t)n) {
			free(p);
			p = NULL;
		} else {
			p[n] = '\0';
			if (len != NULL)
				*len = (size_t)n;
		}
	}
	fclose(f);
	return p;
}

/* PEM text of a key or certificate (malloc'd). */
static char *
pem_of(EVP_PKEY *key, X509 *cert)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long n;
	int ok;

	if (b == NULL)
		return NULL;
	ok = key != NULL ?
	    PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) :
	    PEM_write_bio_X509(b, cert);
	if (ok && (n = BIO_get_mem_data(b, &data)) > 0 &&
	    (out = malloc((size_t)n + 1)) != NULL) {
		memcpy(out, data, (size_t)n);
		out[n] = '\0';
	}
	BIO_free(b);
	return out;
}

/* Adds one extension by its configuration text. */
static int
add_ext(X509 *cert, X509 *issuer, int nid, const char *val)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, val)) == NULL)
		return 0;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/* A certificate for key, signed by ca_key (self-signed when ca is NULL). */
static X509 *
make_cert(EVP_PKEY *key, const char *cn, X509 *ca, EVP_PKEY *ca_key, long days)
{
	X509 *c = X509_new();
	X509_NAME *n = X509_NAME_new();
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	int ok;

	RAND_bytes(serial, sizeof(serial));
	serial[0] &= 0x7f;
	ok = c != NULL && n != NULL &&
	    (bn = BN_bin2bn(serial, sizeof(serial), NULL)) != NULL &&
	    X509_set_version(c, 2) &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c)) != NULL &&
	    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
		(const unsigned char *)"intune-sim", -1, -1, 0) &&
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
		(const unsigned char *)cn, -1, -1, 0) &&
	    X509_set_subject_name(c, n) &&
	    X509_set_issuer_name(c,
		ca != NULL ? X509_get_subject_name(ca) : n) &&
	    X509_gmtime_adj(X509_getm_notBefore(c), -3600) != NULL &&
	    X509_gmtime_adj(X509_getm_notAfter(c), days * 86400) != NULL &&
	    X509_set_pubkey(c, key);
	if (ok && ca == NULL)
		ok = add_ext(c, c, NID_basic_constraints, "critical,CA:TRUE") &&
		    add_ext(c, c, NID_key_usage,
			"critical,keyCertSign,cRLSign") &&
		    add_ext(c, c, NID_subject_key_identifier, "hash");
	else if (ok)
		ok = add_ext(c, ca, NID_basic_constraints,
			 "critical,CA:FALSE") &&
		    add_ext(c, ca, NID_ext_key_usage, "serverAuth") &&
		    add_ext(c, ca, NID_subject_alt_name,
			"IP:127.0.0.1,DNS:localhost") &&
		    add_ext(c, ca, NID_authority_key_identifier, "keyid");
	if (ok)
		ok = X509_sign(c, ca_key, EVP_sha256()) > 0;
	BN_free(bn);
	X509_NAME_free(n);
	if (!ok) {
		X509_free(c);
		return NULL;
	}
	return c;
}

/* Makes ca.pem/ca.key, tls.pem/tls.key and token.key on first start. */
static int
pki_create(struct isim *s)
{
	EVP_PKEY *ca_key = EVP_RSA_gen(2048), *tls_key = EVP_EC_gen("P-256");
	EVP_PKEY *tok = EVP_RSA_gen(2048);
	X509 *ca = NULL, *tls = NULL;
	char *p[5] = { NULL };
	int i, rc = -1;

	if (ca_key == NULL || tls_key == NULL || tok == NULL ||
	    (ca = make_cert(ca_key, "intune-sim Test CA", NULL, ca_key,
		 3650)) == NULL ||
	    (tls = make_cert(tls_key, "127.0.0.1", ca, ca_key, 3650)) == NULL)
		goto out;
	p[0] = pem_of(NULL, ca);
	p[1] = pem_of(ca_key, NULL);
	p[2] = pem_of(NULL, tls);
	p[3] = pem_of(tls_key, NULL);
	p[4] = pem_of(tok, NULL);
	for (i = 0; i < 5; i++)
		if (p[i] == NULL)
			goto out;
	if (write_file(s, "ca.pem", p[0], strlen(p[0]), 0644) == 0 &&
	    write_file(s, "ca.key", p[1], strlen(p[1]), 0600) == 0 &&
	    write_file(s, "tls.pem", p[2], strlen(p[2]), 0644) == 0 &&
	    write_file(s, "tls.key", p[3], strlen(p[3]), 0600) == 0 &&
	    write_file(s, "token.key", p[4], strlen(p[4]), 0600) == 0)
		rc = 0;
out:
	for (i = 0; i < 5; i++)
		free(p[i]);
	X509_free(ca);
	X509_free(tls);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(tls_key);
	EVP_PKEY_free(tok);
	return rc;
}

/* The challenge HMAC key, DIR/challenge.key (32 random bytes). */
static int
hmac_load(struct isim *s)
{
	size_t n = 0;
	char *p = read_file(s, "challenge.key", &n);

	if (p != NULL && n == sizeof(s->hmac)) {
		memcpy(s->hmac, p, n);
		free(p);
		return 0;
	}
	free(p);
	if (RAND_bytes(s->hmac, sizeof(s->hmac)) != 1)
		return -1;
	return write_file(s, "challenge.key", s->hmac, sizeof(s->hmac), 0600);
}

/* Loads (making on first start) every key of DIR. */
int
isim_pki_load(struct isim *s, char *err, size_t errlen)
{
	char *tok;
	BIO *b;

	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/token.key", s->dir);
	if (access(path, F_OK) != 0 && pki_create(s) == -1) {
		snprintf(err, errlen, "%s: cannot make the test PKI", s->dir);
		return -1;
	}
	s->tls_cert = read_file(s, "tls.pem", NULL);
	s->tls_key = read_file(s, "tls.key", NULL);
	tok = read_file(s, "token.key", NULL);
	if (s->tls_cert == NULL || s->tls_key == NULL || tok == NULL) {
		free(tok);
		snprintf(err, errlen, "%s: cannot read the test PKI", s->dir);
		return -1;
	}
	b = BIO_new_mem_buf(tok, -1);
	s->token_key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	free(tok);
	if (s->token_key == NULL || hmac_load(s) == -1) {
		snprintf(err, errlen, "%s: bad token.key or challenge.key",
		    s->dir);
		return -1;
	}
	return 0;
}

/* Loads the public key of sim.conf's client_cert (or none). */
int
isim_client_cert_load(struct isim *s, char *err, size_t errlen)
{
	X509 *c = NULL;
	FILE *f;

	EVP_PKEY_free(s->client_pub);
	s->client_pub = NULL;
	if (s->conf.client_cert[0] == '\0')
		return 0;
	if ((f = fopen(s->conf.client_cert, "r")) != NULL) {
		c = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	if (c == NULL || (s->client_pub = X509_get_pubkey(c)) == NULL) {
		X509_free(c);
		snprintf(err, errlen, "%s: not a PEM certificate",
		    s->conf.client_cert);
		return -1;
	}
	X509_free(c);
	return 0;
}

static const char b64std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64 (padded) or base64url (unpadded) of p; malloc'd. */
char *
isim_b64_encode(const unsigned char *p, size_t n, int url)
{
	const char *a = url ? b64url : b64std;
	char *out = malloc(n / 3 * 4 + 5), *o = out;
	size_t i;
	uint32_t v;

	if (out == NULL)
		return NULL;
	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = a[v >> 18 & 63];
		*o++ = a[v >> 12 & 63];
		*o++ = a[v >> 6 & 63];
		*o++ = a[v & 63];
	}
	if (i < n) {
		v = (uint32_t)p[i] << 16 |
		    (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
		*o++ = a[v >> 18 & 63];
		*o++ = a[v >> 12 & 63];
		if (i + 1 < n)
			*o++ = a[v >> 6 & 63];
		else if (!url)
			*o++ = '=';
		if (!url)
			*o++ = '=';
	}
	*o = '\0';
	return out;
}

/*
 * Strict decoding: only the alphabet's characters (no blanks, no line
 * ends); standard base64 needs its padding, base64url takes none.
 */
int
isim_b64_decode(const char *s, size_t n, int url, unsigned char **out,
    size_t *outlen)
{
	const char *a = url ? b64url : b64std, *q;
	unsigned char *o;
	size_t i, pad = 0, k = 0;
	uint32_t v = 0;

	if (!url) {
		if (n % 4 != 0)
			return -1;
		while (pad < 2 && n > 0 && s[n - 1] == '=') {
			n--;
			pad++;
		}
	} else if (n % 4 == 1) {
		return -1;
	}
	if ((o = malloc(n * 3 / 4 + 3)) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] == '\0' || (q = strchr(a, s[i])) == NULL) {
			free(o);
			return -1;
		}
		v = v << 6 | (uint32_t)(q - a);
		if (i % 4 == 3) {
			o[k++] = (unsigned char)(v >> 16);
			o[k++] = (unsigned char)(v >> 8);
			o[k++] = (unsigned char)v;
			v = 0;
		}
	}
	if (i % 4 == 2)
		o[k++] = (unsigned char)(v >> 4);
	else if (i % 4 == 3) {
		o[k++] = (unsigned char)(v >> 10);
		o[k++] = (unsigned char)(v >> 2);
	}
	*out = o;
	*outlen = k;
	return 0;
}

/* base64url of a JSON value's compact text. */
static char *
b64_json(json_t *j)
{
	char *t = json_dumps(j, JSON_COMPACT), *out;

	if (t == NULL)
		return NULL;
	out = isim_b64_encode((unsigned char *)t, strlen(t), 1);
	free(t);
	return out;
}

/* An RS256 JWT of claims, signed by key; malloc'd. */
char *
isim_jwt_sign(EVP_PKEY *key, json_t *claims)
{
	json_t *hdr = json_pack("{s:s,s:s,s:s}", "typ", "JWT", "alg", "RS256",
	    "kid", "intune-sim");
	char *h = b64_json(hdr), *c = b64_json(claims), *in = NULL, *sig,
	     *out = NULL;
	unsigned char der[512];
	size_t dlen = sizeof(der);
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	json_decref(hdr);
	if (h == NULL || c == NULL || md == NULL ||
	    (in = malloc(strlen(h) + strlen(c) + 2)) == NULL)
		goto out;
	sprintf(in, "%s.%s", h, c);
	if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, der, &dlen, (unsigned char *)in, strlen(in)) !=
		1 ||
	    (sig = isim_b64_encode(der, dlen, 1)) == NULL)
		goto out;
	if ((out = malloc(strlen(in) + strlen(sig) + 2)) != NULL)
		sprintf(out, "%s.%s", in, sig);
	free(sig);
out:
	EVP_MD_CTX_free(md);
	free(h);
	free(c);
	free(in);
	return out;
}

/* JSON of a base64url part of a JWT; NULL when not an object. */
static json_t *
jwt_part(const char *p, size_t n)
{
	unsigned char *raw;
	size_t len;
	json_t *j;

	if (isim_b64_decode(p, n, 1, &raw, &len) == -1)
		return NULL;
	j = json_loadb((char *)raw, len, JSON_REJECT_DUPLICATES, NULL);
	free(raw);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

/* The header of a JWT, unverified. */
json_t *
isim_jwt_header(const char *jwt)
{
	const char *dot = strchr(jwt, '.');

	return dot == NULL ? NULL : jwt_part(jwt, (size_t)(dot - jwt));
}

/* Checks the signature of a header.claims.sig JWT; 0 or -1. */
static int
jwt_sig_ok(const char *jwt, size_t signed_len, const char *sig, const char *alg,
    EVP_PKEY *key)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	unsigned char *raw = NULL;
	size_t rlen;
	int ok;

	ok = md != NULL &&
	    isim_b64_decode(sig, strlen(sig), 1, &raw, &rlen) == 0 &&
	    EVP_DigestVerifyInit(md, &pc, EVP_sha256(), NULL, key) == 1;
	if (ok && strcmp(alg, "PS256") == 0)
		ok = EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) >
			0 &&
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pc,
			RSA_PSS_SALTLEN_DIGEST) > 0;
	ok = ok &&
	    EVP_DigestVerify(md, raw, rlen, (const unsigned char *)jwt,
		signed_len) == 1;
	free(raw);
	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

/*
 * Verifies an RS256 or PS256 JWT against key; its claims, or NULL with
 * *why saying what failed (no claim is checked here).
 */
json_t *
isim_jwt_verify(const char *jwt, EVP_PKEY *key, const char **why)
{
	const char *d1 = strchr(jwt, '.'), *d2, *alg;
	json_t *hdr, *claims;

	*why = "not a JWT";
	if (d1 == NULL || (d2 = strchr(d1 + 1, '.')) == NULL ||
	    strchr(d2 + 1, '.') != NULL)
		return NULL;
	if ((hdr = jwt_part(jwt, (size_t)(d1 - jwt))) == NULL)
		return NULL;
	alg = json_string_value(json_object_get(hdr, "alg"));
	if (alg == NULL ||
	    (strcmp(alg, "RS256") != 0 && strcmp(alg, "PS256") != 0)) {
		*why = "unsupported alg";
		json_decref(hdr);
		return NULL;
	}
	claims = jwt_part(d1 + 1, (size_t)(d2 - d1 - 1));
	if (claims == NULL ||
	    jwt_sig_ok(jwt, (size_t)(d2 - jwt), d2 + 1, alg, key) == -1) {
		*why = claims == NULL ? "bad claims" : "bad signature";
		json_decref(claims);
		claims = NULL;
	}
	json_decref(hdr);
	return claims;
}

/* A random (version 4) UUID, lower case. */
void
isim_uuid(char out[37])
{
	unsigned char r[16];

	RAND_bytes(r, sizeof(r));
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	snprintf(out, 37,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10],
	    r[11], r[12], r[13], r[14], r[15]);
}

/* 8-4-4-4-12 hex digits, either case. */
int
isim_is_uuid(const char *s)
{
	static const char hex[] = "0123456789abcdefABCDEF";
	size_t i;

	if (s == NULL || strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (strchr(hex, s[i]) == NULL) {
			return 0;
		}
	}
	return 1;
}
