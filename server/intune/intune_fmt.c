/*
 * What the Intune client writes: base64 without line breaks, a random
 * UUID (client-request-id, jti), the certificate's thumbprint, serial,
 * expiry and issuer, and the JSON bodies of the three ScepActions calls
 * (README "Microsoft Intune"), built with jansson.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "gw_err.h"
#include "intune_int.h"
#include "secure.h"

/*
 * Base64 of p (standard alphabet with padding, or base64url without it),
 * no line breaks; malloc'd, or NULL when out of memory.
 */
char *
intune_b64(const uint8_t *p, size_t n, bool url)
{
	size_t cap = 4 * ((n + 2) / 3) + 1, len, i;
	char *s;

	if (n > (size_t)INT32_MAX / 2 || (s = malloc(cap)) == NULL)
		return NULL;
	len = (size_t)EVP_EncodeBlock((unsigned char *)s, p, (int)n);
	if (url) {
		while (len > 0 && s[len - 1] == '=')
			len--;
		s[len] = '\0';
		for (i = 0; i < len; i++) {
			if (s[i] == '+')
				s[i] = '-';
			else if (s[i] == '/')
				s[i] = '_';
		}
	}
	return s;
}

/* A random (version 4) UUID, lowercase, into out. */
void
intune_uuid(char out[37])
{
	uint8_t b[16];
	char hex[33];

	if (gw_random_bytes(b, sizeof(b)) != 0)
		memset(b, 0,
		    sizeof(b)); /* RAND_bytes does not fail once seeded */
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	gw_hex(b, sizeof(b), hex);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
	    hex + 16, hex + 20);
}

/*
 * The facts successNotification carries about cert: the SHA-1 thumbprint
 * of its DER in uppercase hex, its serial in uppercase hex, its notAfter
 * as ISO 8601 UTC with milliseconds, and its issuer as an RFC 2253 name.
 * Returns 0, or -1 when one cannot be written.
 */
int
intune_cert_facts(const X509 *cert, char thumb[41], char *serial,
    size_t serial_len, char expiry[32], char *issuer, size_t issuer_len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	BIGNUM *bn = NULL;
	char *hex = NULL;
	struct tm tm;
	BIO *bio = NULL;
	int n, rc = -1;

	if (X509_digest(cert, EVP_sha1(), md, &mdlen) != 1 || mdlen != 20)
		return -1;
	for (i = 0; i < mdlen; i++)
		snprintf(thumb + 2 * i, 3, "%02X", md[i]);
	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL)) ==
		NULL ||
	    (hex = BN_bn2hex(bn)) == NULL || strlen(hex) >= serial_len ||
	    hex[0] == '-')
		goto out;
	memcpy(serial, hex, strlen(hex) + 1);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1 ||
	    strftime(expiry, 32, "%Y-%m-%dT%H:%M:%S.000Z", &tm) == 0)
		goto out;
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    X509_NAME_print_ex(bio, X509_get_issuer_name(cert), 0,
		XN_FLAG_RFC2253) < 0 ||
	    (n = BIO_read(bio, issuer, (int)issuer_len - 1)) <= 0 ||
	    BIO_pending(bio) > 0)
		goto out;
	issuer[n] = '\0';
	rc = 0;
out:
	BIO_free(bio);
	OPENSSL_free(hex);
	BN_free(bn);
	return rc;
}

/* How many bytes of s fit in max without cutting a UTF-8 character. */
size_t
intune_utf8_cut(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return n;
	n = max;
	/* Back off continuation bytes (10xxxxxx) to a character's start. */
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/* Dumps {"<wrap>": obj} compactly; takes obj; malloc'd or NULL. */
static char *
body_dump(const char *wrap, json_t *obj)
{
	json_t *root;
	char *s = NULL;

	if (obj == NULL)
		return NULL;
	if ((root = json_object()) != NULL &&
	    json_object_set_new(root, wrap, obj) == 0)
		s = json_dumps(root, JSON_COMPACT);
	else
		json_decref(obj);
	json_decref(root);
	return s;
}

/* {"transactionId","certificateRequest"} of every body, or NULL. */
static json_t *
body_common(const char *txid, const uint8_t *csr, size_t csr_len)
{
	char *b64 = intune_b64(csr, csr_len, false);
	json_t *o = NULL;

	if (b64 != NULL)
		o = json_pack("{s:s, s:s}", "transactionId", txid,
		    "certificateRequest", b64);
	free(b64);
	return o;
}

/* validateRequest's body (README "Microsoft Intune"); malloc'd or NULL. */
char *
intune_body_validate(const char *txid, const uint8_t *csr, size_t csr_len)
{
	json_t *o = body_common(txid, csr, csr_len);

	if (o != NULL &&
	    json_object_set_new(o, "callerInfo", json_string(INTUNE_CALLER)) !=
		0) {
		json_decref(o);
		o = NULL;
	}
	return body_dump("request", o);
}

/* successNotification's body; malloc'd, or NULL with err. */
char *
intune_body_success(const char *txid, const uint8_t *csr, size_t csr_len,
    const X509 *cert, struct gw_err *err)
{
	char thumb[41], serial[128], expiry[32], issuer[1024];
	json_t *o;

	if (intune_cert_facts(cert, thumb, serial, sizeof(serial), expiry,
		issuer, sizeof(issuer)) != 0) {
		gw_err_set(err, EINVAL,
		    "intune: cannot read the certificate's thumbprint, "
		    "serial, expiry or issuer");
		return NULL;
	}
	o = body_common(txid, csr, csr_len);
	if (o != NULL &&
	    (json_object_set_new(o, "certificateThumbprint",
		 json_string(thumb)) != 0 ||
		json_object_set_new(o, "certificateSerialNumber",
		    json_string(serial)) != 0 ||
		json_object_set_new(o, "certificateExpirationDateUtc",
		    json_string(expiry)) != 0 ||
		json_object_set_new(o, "issuingCertificateAuthority",
		    json_string(issuer)) != 0 ||
		json_object_set_new(o, "callerInfo",
		    json_string(INTUNE_CALLER)) != 0)) {
		json_decref(o);
		o = NULL;
	}
	if (o == NULL) {
		gw_err_set(err, ENOMEM, "intune: out of memory");
		return NULL;
	}
	return body_dump("notification", o);
}

/*
 * failureNotification's body: hResult a JSON integer, errorDescription
 * cut to 255 bytes on a character boundary (never empty); malloc'd or
 * NULL.
 */
char *
intune_body_failure(const char *txid, const uint8_t *csr, size_t csr_len,
    long hresult, const char *description)
{
	const char *d = description != NULL && description[0] != '\0' ?
	    description :
	    "scepgw could not issue the certificate";
	json_t *o = body_common(txid, csr, csr_len), *ds;

	/* Not UTF-8 (a byte from elsewhere): the generic words instead. */
	if ((ds = json_stringn(d, intune_utf8_cut(d, 255))) == NULL)
		ds = json_string("scepgw could not issue the certificate");
	/* errorDescription first: set_new takes ds even when it fails. */
	if (o != NULL &&
	    (json_object_set_new(o, "errorDescription", ds) != 0 ||
		json_object_set_new(o, "hResult", json_integer(hresult)) != 0 ||
		json_object_set_new(o, "callerInfo",
		    json_string(INTUNE_CALLER)) != 0)) {
		json_decref(o);
		o = NULL;
	} else if (o == NULL)
		json_decref(ds);
	return body_dump("notification", o);
}

/* Fills a result; description from fmt, cut to fit. */
void
intune_result_set(struct intune_result *r, enum intune_outcome o, long status,
    const char *code, const char *fmt, ...)
{
	va_list ap;

	r->outcome = o;
	r->http_status = status;
	snprintf(r->code, sizeof(r->code), "%s", code != NULL ? code : "");
	va_start(ap, fmt);
	vsnprintf(r->description, sizeof(r->description), fmt, ap);
	va_end(ap);
}
