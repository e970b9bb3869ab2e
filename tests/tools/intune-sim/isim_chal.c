/*
 * intune-sim's own challenge format (Intune's real challenges are
 * opaque): SIMv1.<base64url(JSON)>.<base64url(HMAC-SHA256)>, padded to
 * about 1.5 KiB, and its checks against a CSR in the order the README
 * lists them ("Challenges").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "isim.h"

#define CHAL_PREFIX "SIMv1."
#define CHAL_TARGET 1536 /* characters, about */

/* HMAC-SHA256 of the signed part, base64url; malloc'd. */
static char *
chal_mac(struct isim *s, const char *p, size_t n)
{
	unsigned char mac[32];
	unsigned len = sizeof(mac);

	if (HMAC(EVP_sha256(), s->hmac, sizeof(s->hmac),
		(const unsigned char *)p, n, mac, &len) == NULL)
		return NULL;
	return isim_b64_encode(mac, len, 1);
}

/* Random letters and digits, so the challenge reaches CHAL_TARGET. */
static void
add_pad(json_t *o)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
				 "qrstuvwxyz0123456789";
	char *t = json_dumps(o, JSON_COMPACT), *pad;
	long want = (CHAL_TARGET - 50) * 3 / 4 - 9;
	size_t i, n;

	if (t == NULL)
		return;
	want -= (long)strlen(t);
	free(t);
	n = want > 0 ? (size_t)want : 0;
	if ((pad = malloc(n + 1)) == NULL)
		return;
	RAND_bytes((unsigned char *)pad, (int)n);
	for (i = 0; i < n; i++)
		pad[i] = al[(unsigned char)pad[i] % (sizeof(al) - 1)];
	pad[n] = '\0';
	json_object_set_new(o, "pad", json_string(pad));
	free(pad);
}

/* POST /_sim/challenge: a challenge for the request's fields. */
char *
isim_challenge_issue(struct isim *s, json_t *req, char *err, size_t errlen)
{
	json_t *o, *v;
	char id[37], *t, *p, *mac, *out = NULL;
	time_t now = isim_now(s);
	json_int_t ttl = s->conf.challenge_lifetime;
	size_t n;

	if ((v = json_object_get(req, "ttl")) != NULL)
		ttl = json_integer_value(v);
	if (!json_is_object(req) ||
	    ((v = json_object_get(req, "sans")) != NULL && !json_is_array(v))) {
		snprintf(err, errlen,
		    "expected {tenant, subject, sans[], "
		    "key_bits, ttl}");
		return NULL;
	}
	isim_uuid(id);
	o = json_pack("{s:i,s:s,s:s,s:I,s:I}", "v", 1, "id", id, "tenant",
	    json_string_value(json_object_get(req, "tenant")) != NULL ?
		json_string_value(json_object_get(req, "tenant")) :
		s->conf.tenant,
	    "iat", (json_int_t)now, "exp", (json_int_t)now + ttl);
	if ((v = json_object_get(req, "subject")) != NULL)
		json_object_set(o, "subject", v);
	if ((v = json_object_get(req, "sans")) != NULL)
		json_object_set(o, "sans", v);
	if ((v = json_object_get(req, "key_bits")) != NULL)
		json_object_set(o, "key_bits", v);
	if ((v = json_object_get(req, "targeted")) != NULL)
		json_object_set(o, "targeted", v);
	if ((v = json_object_get(req, "key_usage")) != NULL)
		json_object_set(o, "key_usage", v);
	if ((v = json_object_get(req, "eku")) != NULL)
		json_object_set(o, "eku", v);
	add_pad(o);
	t = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	p = t != NULL ? isim_b64_encode((unsigned char *)t, strlen(t), 1) :
			NULL;
	free(t);
	if (p == NULL)
		return NULL;
	n = strlen(CHAL_PREFIX) + strlen(p);
	if ((t = malloc(n + 1)) != NULL) {
		snprintf(t, n + 1, "%s%s", CHAL_PREFIX, p);
		if ((mac = chal_mac(s, t, n)) != NULL &&
		    (out = malloc(n + strlen(mac) + 2)) != NULL)
			snprintf(out, n + strlen(mac) + 2, "%s.%s", t, mac);
		free(mac);
	}
	free(t);
	free(p);
	return out;
}

/* Drops blanks after commas and around '=', for comparing DNs. */
static void
squeeze(const char *in, char *out, size_t n)
{
	size_t k = 0;

	for (; *in != '\0' && k + 1 < n; in++) {
		if (*in == ' ' &&
		    (k == 0 || out[k - 1] == ',' || out[k - 1] == '=' ||
			in[1] == '=' || in[1] == ','))
			continue;
		out[k++] = *in;
	}
	out[k] = '\0';
}

/* The CSR subject as "CN=a,O=b" in its own order. */
static void
csr_subject(X509_REQ *csr, char *out, size_t n)
{
	X509_NAME *nm = X509_REQ_get_subject_name(csr);
	X509_NAME_ENTRY *e;
	unsigned char *u;
	size_t k = 0;
	int i, len;

	out[0] = '\0';
	for (i = 0; i < X509_NAME_entry_count(nm) && k + 1 < n; i++) {
		e = X509_NAME_get_entry(nm, i);
		len = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(e));
		if (len < 0)
			continue;
		k += (size_t)snprintf(out + k, n - k, "%s%s=%.*s",
		    k > 0 ? "," : "",
		    OBJ_nid2sn(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e))), len,
		    (char *)u);
		OPENSSL_free(u);
	}
}

/* The CSR's SANs as "type:value" strings (README "Challenges"). */
static json_t *
csr_sans(X509_REQ *csr, int *present)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(csr);
	GENERAL_NAMES *gns = NULL;
	json_t *out = json_array();
	GENERAL_NAME *g;
	const char *type;
	char buf[1024];
	int i;

	*present = 0;
	if (exts != NULL)
		gns = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gns != NULL && i < sk_GENERAL_NAME_num(gns); i++) {
		g = sk_GENERAL_NAME_value(gns, i);
		ASN1_STRING *v = NULL;

		type = NULL;
		if (g->type == GEN_EMAIL) {
			type = "rfc822Name";
			v = g->d.rfc822Name;
		} else if (g->type == GEN_DNS) {
			type = "dNSName";
			v = g->d.dNSName;
		} else if (g->type == GEN_URI) {
			type = "uri";
			v = g->d.uniformResourceIdentifier;
		} else if (g->type == GEN_OTHERNAME &&
		    OBJ_obj2nid(g->d.otherName->type_id) == NID_ms_upn &&
		    g->d.otherName->value->type == V_ASN1_UTF8STRING) {
			type = "upn";
			v = g->d.otherName->value->value.utf8string;
		}
		snprintf(buf, sizeof(buf), "%s:%.*s", type ? type : "other",
		    v ? ASN1_STRING_length(v) : 0,
		    v ? (const char *)ASN1_STRING_get0_data(v) : "");
		json_array_append_new(out, json_string(buf));
	}
	*present = gns != NULL;
	GENERAL_NAMES_free(gns);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return out;
}

/* The challenge's SANs in the same "type:value" form. */
static json_t *
chal_sans(json_t *sans)
{
	json_t *out = json_array(), *e;
	const char *t, *v;
	char buf[1024];
	size_t i;

	json_array_foreach(sans, i, e)
	{
		t = json_string_value(json_object_get(e, "type"));
		v = json_string_value(json_object_get(e, "value"));
		if (t == NULL || v == NULL)
			continue;
		if (strcasecmp(t, "email") == 0 ||
		    strcasecmp(t, "rfc822Name") == 0)
			t = "rfc822Name";
		else if (strcasecmp(t, "dns") == 0 ||
		    strcasecmp(t, "dNSName") == 0)
			t = "dNSName";
		else if (strcasecmp(t, "uri") == 0 || strcasecmp(t, "url") == 0)
			t = "uri";
		else if (strcasecmp(t, "upn") == 0)
			t = "upn";
		snprintf(buf, sizeof(buf), "%s:%s", t, v);
		json_array_append_new(out, json_string(buf));
	}
	return out;
}

/* True when both arrays of strings hold the same set. */
static int
same_set(json_t *a, json_t *b)
{
	json_t *x, *y;
	size_t i, j;
	int found;

	if (json_array_size(a) != json_array_size(b))
		return 0;
	json_array_foreach(a, i, x)
	{
		found = 0;
		json_array_foreach(b, j, y) found |=
		    strcmp(json_string_value(x), json_string_value(y)) == 0;
		if (!found)
			return 0;
	}
	return 1;
}

/* keyUsage bit names, in bit order (RFC 5280 4.2.1.3). */
static const char *const ku_names[] = { "digitalSignature", "nonRepudiation",
	"keyEncipherment", "dataEncipherment", "keyAgreement", "keyCertSign",
	"cRLSign", "encipherOnly", "decipherOnly" };

/* The bits of a challenge's "key_usage" list; -1 for an unknown name. */
static long
ku_mask(json_t *list)
{
	const char *v;
	long mask = 0;
	size_t i, k;
	json_t *e;

	json_array_foreach(list, i, e)
	{
		v = json_string_value(e);
		for (k = 0; v != NULL && k < 9; k++)
			if (strcmp(v, ku_names[k]) == 0)
				break;
		if (v == NULL || k == 9)
			return -1;
		mask |= 1L << k;
	}
	return mask;
}

/* The bits of the CSR's requested keyUsage; -1 when it has none. */
static long
csr_ku(STACK_OF(X509_EXTENSION) *exts)
{
	ASN1_BIT_STRING *ku = X509V3_get_d2i(exts, NID_key_usage, NULL, NULL);
	long mask = 0;
	int k;

	if (ku == NULL)
		return -1;
	for (k = 0; k < 9; k++)
		if (ASN1_BIT_STRING_get_bit(ku, k))
			mask |= 1L << k;
	ASN1_BIT_STRING_free(ku);
	return mask;
}

/* An OID or an OpenSSL name as dotted text into buf; 0 or -1. */
static int
oid_text(const char *name, char *buf, int n)
{
	ASN1_OBJECT *o = OBJ_txt2obj(name, 0);
	int rc;

	if (o == NULL)
		return -1;
	rc = OBJ_obj2txt(buf, n, o, 1) > 0 ? 0 : -1;
	ASN1_OBJECT_free(o);
	return rc;
}

/* The CSR's requested EKUs as dotted OIDs; NULL when it has none. */
static json_t *
csr_eku(STACK_OF(X509_EXTENSION) *exts)
{
	EXTENDED_KEY_USAGE *eku =
	    X509V3_get_d2i(exts, NID_ext_key_usage, NULL, NULL);
	json_t *out;
	char buf[128];
	int i;

	if (eku == NULL)
		return NULL;
	out = json_array();
	for (i = 0; i < sk_ASN1_OBJECT_num(eku); i++)
		if (OBJ_obj2txt(buf, sizeof(buf), sk_ASN1_OBJECT_value(eku, i),
			1) > 0)
			json_array_append_new(out, json_string(buf));
	EXTENDED_KEY_USAGE_free(eku);
	return out;
}

/* keyUsage and EKU of the CSR against the challenge's, when it names them. */
static const char *
check_usage(json_t *c, X509_REQ *csr, char *desc, size_t dlen)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(csr);
	json_t *ku = json_object_get(c, "key_usage"),
	       *eku = json_object_get(c, "eku");
	json_t *want = json_array(), *got = NULL, *e;
	const char *code = NULL;
	char buf[128];
	size_t i;

	if (json_is_array(ku) &&
	    (ku_mask(ku) < 0 || csr_ku(exts) != ku_mask(ku))) {
		snprintf(desc, dlen,
		    "Key usage in CSR does not match the "
		    "expected key usage.");
		code = "KeyUsageMismatch";
	} else if (json_is_array(eku)) {
		json_array_foreach(eku, i, e) if (json_is_string(e) &&
		    oid_text(json_string_value(e), buf, sizeof(buf)) == 0)
		    json_array_append_new(want, json_string(buf));
		if ((got = csr_eku(exts)) == NULL && json_array_size(eku) > 0) {
			snprintf(desc, dlen,
			    "Enhanced key usage is missing "
			    "in CSR.");
			code = "EnhancedKeyUsageMissing";
		} else if (got != NULL && !same_set(want, got)) {
			snprintf(desc, dlen,
			    "Enhanced key usage in CSR does "
			    "not match the expected values.");
			code = "EnhancedKeyUsageMismatch";
		}
	}
	json_decref(want);
	json_decref(got);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return code;
}

/* Subject, SANs and key size against what the challenge expects. */
static const char *
check_csr(json_t *c, X509_REQ *csr, char *desc, size_t dlen)
{
	char want[1024], got[1024], tmp[1024];
	json_t *v = json_object_get(c, "subject"), *a, *b;
	EVP_PKEY *pk = X509_REQ_get0_pubkey(csr);
	int present, same;

	if (json_is_string(v)) {
		csr_subject(csr, tmp, sizeof(tmp));
		squeeze(tmp, got, sizeof(got));
		squeeze(json_string_value(v), want, sizeof(want));
		if (got[0] == '\0') {
			snprintf(desc, dlen, "Subject name is missing in CSR.");
			return "SubjectNameMissing";
		}
		if (strcasecmp(got, want) != 0) {
			snprintf(desc, dlen,
			    "Subject name in CSR '%s' does not "
			    "match the expected value.",
			    got);
			return "SubjectNameMismatch";
		}
	}
	if ((v = json_object_get(c, "sans")) != NULL) {
		a = csr_sans(csr, &present);
		b = chal_sans(v);
		same = same_set(a, b);
		json_decref(a);
		json_decref(b);
		if (!present && json_array_size(v) > 0) {
			snprintf(desc, dlen,
			    "Subject alternative name is "
			    "missing in CSR.");
			return "SubjectAltNameMissing";
		}
		if (!same) {
			snprintf(desc, dlen,
			    "Subject alternative names in CSR "
			    "do not match the expected values.");
			return "SubjectAltNameMismatch";
		}
	}
	if ((v = json_object_get(c, "key_usage")) != NULL ||
	    json_object_get(c, "eku") != NULL) {
		const char *code = check_usage(c, csr, desc, dlen);

		if (code != NULL)
			return code;
	}
	if (json_is_integer(v = json_object_get(c, "key_bits")) &&
	    (pk == NULL || EVP_PKEY_get_bits(pk) != json_integer_value(v))) {
		snprintf(desc, dlen,
		    "Key length %d does not match expected "
		    "key length %lld.",
		    pk ? EVP_PKEY_get_bits(pk) : 0,
		    (long long)json_integer_value(v));
		return "KeyLengthMismatch";
	}
	return NULL;
}

/* Decodes and authenticates a challenge; its JSON, or NULL and code. */
static json_t *
chal_open(struct isim *s, const char *ch, const char **code)
{
	const char *dot = strrchr(ch, '.');
	size_t plen = strlen(CHAL_PREFIX), n;
	unsigned char *raw = NULL;
	char *mac;
	json_t *c = NULL;
	int ok;

	*code = "ChallengeDecodingError";
	if (strncmp(ch, CHAL_PREFIX, plen) != 0 || dot == NULL ||
	    dot < ch + plen ||
	    isim_b64_decode(ch + plen, (size_t)(dot - ch) - plen, 1, &raw,
		&n) == -1)
		return NULL;
	mac = chal_mac(s, ch, (size_t)(dot - ch));
	ok = mac != NULL && strlen(mac) == strlen(dot + 1) &&
	    CRYPTO_memcmp(mac, dot + 1, strlen(mac)) == 0;
	free(mac);
	if (!ok)
		*code = "SignatureValidationFailed";
	else if ((c = json_loadb((char *)raw, n, 0, NULL)) == NULL ||
	    !json_is_object(c) || !json_is_integer(json_object_get(c, "exp")))
		*code = "ChallengeDeserializationError";
	free(raw);
	if (!ok || c == NULL || !json_is_object(c) ||
	    !json_is_integer(json_object_get(c, "exp"))) {
		json_decref(c);
		return NULL;
	}
	return c;
}

/*
 * Checks a challenge from a CSR for a token's tenant; NULL when the CSR
 * may be issued, else the refusal code and its description in desc.
 */
const char *
isim_challenge_check(struct isim *s, const char *ch, json_t *token,
    X509_REQ *csr, char *desc, size_t dlen)
{
	const char *code,
	    *tid = json_string_value(json_object_get(token, "tid"));
	const char *tenant;
	char a[40], b[40];
	json_int_t exp, iat;
	json_t *c;

	if ((c = chal_open(s, ch, &code)) == NULL) {
		snprintf(desc, dlen, "%s: the challenge could not be read.",
		    code);
		return code;
	}
	exp = json_integer_value(json_object_get(c, "exp"));
	iat = json_integer_value(json_object_get(c, "iat"));
	tenant = json_string_value(json_object_get(c, "tenant"));
	code = NULL;
	if (exp <= (json_int_t)isim_now(s)) {
		snprintf(desc, dlen,
		    "SCEP challenge has expired.SCEP Challenge has expired. "
		    "challengeExpInterval=%lld, challengeExpiration=%s, "
		    "challengeCreation=%s",
		    (long long)((exp - iat) / 60),
		    isim_iso_time((time_t)exp, a, sizeof(a)),
		    isim_iso_time((time_t)iat, b, sizeof(b)));
		code = "ChallengeExpired";
	} else if (tenant == NULL || tid == NULL ||
	    strcasecmp(tenant, tid) != 0) {
		snprintf(desc, dlen,
		    "Failed to parse the tenant id in the challenge.tenantId "
		    "in challenge does not match tenantId from security "
		    "token.");
		code = "BadTenantIdInChallenge";
	} else if (!s->conf.profile_targeted ||
	    json_is_false(json_object_get(c, "targeted"))) {
		snprintf(desc, dlen,
		    "The SCEP profile is no longer targeted "
		    "to the client.");
		code = "ScepProfileNoLongerTargetedToTheClient";
	} else {
		code = check_csr(c, csr, desc, dlen);
	}
	json_decref(c);
	return code;
}
