/*
 * intune-sim's SCEP validation service: POST {service_path}/ScepActions/
 * validateRequest, successNotification and failureNotification, with
 * Intune's answer shape (HTTP 200, code + errorDescription) and the
 * order rules recorded as violations (tests/tools/intune-sim/README.md
 * "ScepActions").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "isim.h"

void
isim_violation(struct isim *s, enum isim_hop hop, const char *txid,
    const char *rule, const char *detail)
{
	json_array_append_new(s->violations,
	    json_pack("{s:I,s:s,s:s?,s:s,s:s}", "seq", (json_int_t)s->cur_seq,
		"hop", isim_hop_name(hop), "transactionId", txid, "rule", rule,
		"detail", detail));
}

/* {"error":{"code","message"}}, the service's non-2xx shape. */
void
isim_svc_error(struct isim_req *rq, struct isim_resp *out, unsigned status,
    const char *code, const char *msg)
{
	isim_json_resp(out, status,
	    json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
	json_object_set_new(rq->entry, "result", json_string(code));
}

/* The 200 answer: code, errorDescription, @odata.context. */
static void
svc_answer(struct isim *s, struct isim_req *rq, struct isim_resp *out,
    const char *code, const char *desc)
{
	char ctx[768], id[37];

	isim_uuid(id);
	snprintf(ctx, sizeof(ctx),
	    "%s%s/%s/$metadata#microsoft.management.services."
	    "scepRequestValidationService.api.scepActionResult",
	    s->base, s->conf.service_path, id);
	isim_json_resp(out, 200,
	    json_pack("{s:s,s:s,s:s}", "code", code, "errorDescription", desc,
		"@odata.context", ctx));
	json_object_set_new(rq->entry, "result", json_string(code));
}

/* True when the token's roles hold role. */
static int
has_role(json_t *claims, const char *role)
{
	const char *v;
	json_t *r;
	size_t i;

	json_array_foreach(json_object_get(claims, "roles"), i,
	    r) if ((v = json_string_value(r)) != NULL &&
	    strcmp(v, role) == 0) return 1;
	return 0;
}

/* The body's wrapper member and the api-version of each hop. */
static const char *
wrapper_of(enum isim_hop hop, const char **version)
{
	*version = ISIM_API_VERSION;
	if (hop == HOP_VALIDATE)
		return "request";
	if (hop == HOP_REVOKE_DOWNLOAD || hop == HOP_REVOKE_UPLOAD) {
		*version = ISIM_API_VERSION_ALT;
		return hop == HOP_REVOKE_DOWNLOAD ? "downloadParameters" :
						    "results";
	}
	return "notification";
}

/*
 * Token, headers, body (README "ScepActions", checks 1-6); the wrapper
 * member, or NULL when answered. *bodyp owns it.
 */
json_t *
isim_svc_open(struct isim *s, struct isim_req *rq, enum isim_hop hop,
    json_t **tokenp, json_t **bodyp, struct isim_resp *out)
{
	const char *ver, *key = wrapper_of(hop, &ver);
	char what[64];

	const char *v, *why;
	json_t *tok, *body, *w;

	if ((tok = isim_bearer(s, rq, s->conf.intune_resource, &why)) == NULL) {
		isim_svc_error(rq, out, 401, "Unauthorized", why);
		return NULL;
	}
	*tokenp = tok;
	if (!has_role(tok, "scep_challenge_provider")) {
		isim_svc_error(rq, out, 403, "Forbidden",
		    "The application lacks the scep_challenge_provider "
		    "permission.");
		return NULL;
	}
	v = isim_header(rq, "api-version");
	if (v == NULL ||
	    (strcmp(v, ver) != 0 &&
		!(s->conf.accept_alt_version &&
		    strcmp(v, ISIM_API_VERSION_ALT) == 0))) {
		isim_violation(s, hop, NULL, "api-version", v ? v : "missing");
		isim_svc_error(rq, out, 400, "BadRequest",
		    "The api-version header is missing or not supported.");
		return NULL;
	}
	v = isim_header(rq, "Content-Type");
	if (v == NULL || strncmp(v, "application/json", 16) != 0) {
		isim_violation(s, hop, NULL, "content-type", v ? v : "missing");
		isim_svc_error(rq, out, 415, "UnsupportedMediaType",
		    "Content-Type must be application/json.");
		return NULL;
	}
	v = isim_header(rq, "client-request-id");
	if (!isim_is_uuid(v))
		isim_violation(s, hop, NULL, "client-request-id",
		    v ? v : "missing");
	body = json_loadb(rq->body, rq->len, JSON_REJECT_DUPLICATES, NULL);
	w = json_object_get(body, key);
	if (hop == HOP_REVOKE_UPLOAD ? !json_is_array(w) : !json_is_object(w)) {
		json_decref(body);
		snprintf(what, sizeof(what), "no \"%s\" member", key);
		isim_violation(s, hop, NULL, "body", what);
		isim_svc_error(rq, out, 400, "BadRequest",
		    "The request body is not valid.");
		return NULL;
	}
	*bodyp = body;
	return w;
}

static const char *
str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The CSR in the request, or NULL (CertificateRequestDecodingFailed). */
static X509_REQ *
decode_csr(const char *b64)
{
	const unsigned char *p;
	unsigned char *der;
	X509_REQ *r;
	size_t n;

	if (isim_b64_decode(b64, strlen(b64), 0, &der, &n) == -1)
		return NULL;
	p = der;
	r = d2i_X509_REQ(NULL, &p, (long)n);
	if (r != NULL && p != der + n) {
		X509_REQ_free(r);
		r = NULL;
	}
	free(der);
	return r;
}

/* The CSR's challengePassword (malloc'd), or NULL. */
static char *
challenge_of(X509_REQ *csr)
{
	int i = X509_REQ_get_attr_by_NID(csr, NID_pkcs9_challengePassword, -1);
	ASN1_TYPE *t;
	unsigned char *u = NULL;
	char *out;
	int n;

	if (i < 0 ||
	    (t = X509_ATTRIBUTE_get0_type(X509_REQ_get_attr(csr, i), 0)) ==
		NULL ||
	    (t->type != V_ASN1_PRINTABLESTRING &&
		t->type != V_ASN1_UTF8STRING && t->type != V_ASN1_IA5STRING &&
		t->type != V_ASN1_T61STRING && t->type != V_ASN1_BMPSTRING) ||
	    (n = ASN1_STRING_to_UTF8(&u, t->value.asn1_string)) <= 0)
		return NULL;
	out = strndup((char *)u, (size_t)n);
	OPENSSL_free(u);
	return out;
}

/* The transaction's state object, made when new. */
static json_t *
txn(struct isim *s, const char *id)
{
	json_t *t = json_object_get(s->txns, id);

	if (t == NULL) {
		t = json_pack("{s:s,s:s,s:i,s:i}", "csr", "", "validate", "",
		    "success", 0, "failure", 0);
		json_object_set_new(s->txns, id, t);
	}
	return t;
}

static void
validate(struct isim *s, struct isim_req *rq, json_t *tok, json_t *w,
    struct isim_resp *out)
{
	const char *id = str(w, "transactionId"),
		   *csr = str(w, "certificateRequest");
	const char *code = "Success";
	char desc[1024] = "", *ch = NULL;
	X509_REQ *req = NULL;
	json_t *t;

	json_object_set_new(rq->entry, "body",
	    json_pack("{s:s?,s:s?,s:I}", "transactionId", id, "callerInfo",
		str(w, "callerInfo"), "csr_len",
		(json_int_t)(csr ? strlen(csr) : 0)));
	if (id == NULL || *id == '\0' || csr == NULL ||
	    str(w, "callerInfo") == NULL || *str(w, "callerInfo") == '\0') {
		isim_violation(s, HOP_VALIDATE, id, "fields",
		    "transactionId, certificateRequest and callerInfo are "
		    "required strings");
		isim_svc_error(rq, out, 400, "BadRequest",
		    "A required field is missing.");
		return;
	}
	if (strpbrk(csr, "\r\n") != NULL)
		isim_violation(s, HOP_VALIDATE, id, "csr-line-breaks",
		    "certificateRequest holds line breaks");
	if ((req = decode_csr(csr)) == NULL) {
		code = "CertificateRequestDecodingFailed";
		snprintf(desc, sizeof(desc), "Failed to decode the CSR.");
	} else if ((ch = challenge_of(req)) == NULL) {
		code = "ChallengePasswordMissing";
		snprintf(desc, sizeof(desc),
		    "Challenge password is missing "
		    "in the CSR.");
	} else {
		code =
		    isim_challenge_check(s, ch, tok, req, desc, sizeof(desc));
		if (code == NULL)
			code = "Success";
	}
	free(ch);
	X509_REQ_free(req);
	t = txn(s, id);
	if (json_integer_value(json_object_get(t, "success")) > 0 ||
	    json_integer_value(json_object_get(t, "failure")) > 0)
		isim_violation(s, HOP_VALIDATE, id,
		    "validate-after-notification",
		    "the transaction was already notified");
	json_object_set_new(t, "csr", json_string(csr));
	json_object_set_new(t, "validate", json_string(code));
	svc_answer(s, rq, out, code, desc);
}

/* Violations common to both notifications; how many were recorded. */
static size_t
check_order(struct isim *s, enum isim_hop hop, const char *id, json_t *w)
{
	json_t *t = json_object_get(s->txns, id);
	size_t before = json_array_size(s->violations);
	const char *v, *kind = hop == HOP_SUCCESS ? "success" : "failure";
	char rule[64];

	if (t == NULL || *str(t, "validate") == '\0') {
		snprintf(rule, sizeof(rule), "%s-without-validate", kind);
		isim_violation(s, hop, id, rule, "no validateRequest for it");
		return json_array_size(s->violations) - before;
	}
	if (strcmp(str(t, "validate"), "Success") != 0) {
		snprintf(rule, sizeof(rule), "%s-after-refused-validation",
		    kind);
		isim_violation(s, hop, id, rule, str(t, "validate"));
	}
	if ((v = str(w, "certificateRequest")) == NULL ||
	    strcmp(v, str(t, "csr")) != 0)
		isim_violation(s, hop, id, "csr-differs",
		    "certificateRequest is not the validated one");
	if (json_integer_value(json_object_get(t, "success")) > 0)
		isim_violation(s, hop, id,
		    hop == HOP_SUCCESS ? "second-success" :
					 "failure-after-success",
		    "a successNotification came before");
	if (json_integer_value(json_object_get(t, "failure")) > 0)
		isim_violation(s, hop, id,
		    hop == HOP_SUCCESS ? "success-after-failure" :
					 "second-failure",
		    "a failureNotification came before");
	json_object_set_new(t, kind,
	    json_integer(json_integer_value(json_object_get(t, kind)) + 1));
	return json_array_size(s->violations) - before;
}

/* Only hex digits (and at least one). */
static int
is_hex(const char *p, size_t want)
{
	size_t n = p ? strlen(p) : 0;

	return n > 0 && (want == 0 || n == want) &&
	    strspn(p, "0123456789abcdefABCDEF") == n;
}

/* YYYY-MM-DDThh:mm:ss[.f+]Z */
static int
is_iso_utc(const char *p)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:dd";
	size_t i;

	if (p == NULL || strlen(p) < sizeof(pat))
		return 0;
	for (i = 0; i < sizeof(pat) - 1; i++)
		if (pat[i] == 'd' ? (p[i] < '0' || p[i] > '9') : p[i] != pat[i])
			return 0;
	p += i;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	return strcmp(p, "Z") == 0;
}

static void
success(struct isim *s, struct isim_req *rq, json_t *w, struct isim_resp *out)
{
	static const char *const req[] = { "transactionId",
		"certificateRequest", "certificateThumbprint",
		"certificateSerialNumber", "certificateExpirationDateUtc",
		"issuingCertificateAuthority", "callerInfo" };
	const char *id = str(w, "transactionId");
	size_t i, bad = 0, before = json_array_size(s->violations);

	json_object_set_new(rq->entry, "body",
	    json_pack("{s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:O?,s:O?}",
		"transactionId", id, "certificateThumbprint",
		str(w, "certificateThumbprint"), "certificateSerialNumber",
		str(w, "certificateSerialNumber"),
		"certificateExpirationDateUtc",
		str(w, "certificateExpirationDateUtc"),
		"issuingCertificateAuthority",
		str(w, "issuingCertificateAuthority"), "callerInfo",
		str(w, "callerInfo"), "caConfiguration",
		json_object_get(w, "caConfiguration"), "certificateAuthority",
		json_object_get(w, "certificateAuthority")));
	for (i = 0; i < sizeof(req) / sizeof(req[0]); i++)
		if (str(w, req[i]) == NULL)
			isim_violation(s, HOP_SUCCESS, id, "missing-field",
			    req[i]);
	if (!is_hex(str(w, "certificateThumbprint"), 40))
		isim_violation(s, HOP_SUCCESS, id, "thumbprint",
		    "not 40 hex characters");
	if (!is_hex(str(w, "certificateSerialNumber"), 0))
		isim_violation(s, HOP_SUCCESS, id, "serial", "not hex");
	if (!is_iso_utc(str(w, "certificateExpirationDateUtc")))
		isim_violation(s, HOP_SUCCESS, id, "expiration",
		    "not ISO 8601 UTC (YYYY-MM-DDThh:mm:ss[.fff]Z)");
	if (str(w, "issuingCertificateAuthority") == NULL ||
	    *str(w, "issuingCertificateAuthority") == '\0')
		isim_violation(s, HOP_SUCCESS, id, "issuer", "empty");
	if (id != NULL)
		check_order(s, HOP_SUCCESS, id, w);
	bad = json_array_size(s->violations) - before;
	json_object_set_new(rq->entry, "violations",
	    json_integer((json_int_t)bad));
	if (bad > 0 && s->conf.strict_notifications)
		svc_answer(s, rq, out, "Unknown",
		    "The notification breaks the protocol (see violations).");
	else
		svc_answer(s, rq, out, "Success", "");
}

/* Characters (UTF-8 code points) of a string. */
static size_t
u8_len(const char *p)
{
	size_t n = 0;

	for (; *p != '\0'; p++)
		n += ((unsigned char)*p & 0xc0) != 0x80;
	return n;
}

static void
failure(struct isim *s, struct isim_req *rq, json_t *w, struct isim_resp *out)
{
	const char *id = str(w, "transactionId"),
		   *d = str(w, "errorDescription");
	json_t *h = json_object_get(w, "hResult");
	size_t bad, before = json_array_size(s->violations);

	json_object_set_new(rq->entry, "body",
	    json_pack("{s:s?,s:O?,s:s?,s:s?}", "transactionId", id, "hResult",
		h, "errorDescription", d, "callerInfo", str(w, "callerInfo")));
	if (id == NULL || str(w, "certificateRequest") == NULL ||
	    str(w, "callerInfo") == NULL)
		isim_violation(s, HOP_FAILURE, id, "missing-field",
		    "transactionId, certificateRequest and callerInfo are "
		    "required");
	if (!json_is_integer(h))
		isim_violation(s, HOP_FAILURE, id, "hresult",
		    "hResult is not a JSON integer");
	else if (json_integer_value(h) < INT32_MIN ||
	    json_integer_value(h) > INT32_MAX)
		isim_violation(s, HOP_FAILURE, id, "hresult",
		    "hResult is not a signed 32-bit value");
	if (d == NULL || *d == '\0' || u8_len(d) > 255)
		isim_violation(s, HOP_FAILURE, id, "description",
		    "errorDescription must be 1 to 255 characters");
	if (id != NULL)
		check_order(s, HOP_FAILURE, id, w);
	bad = json_array_size(s->violations) - before;
	json_object_set_new(rq->entry, "violations",
	    json_integer((json_int_t)bad));
	if (bad > 0 && s->conf.strict_notifications)
		svc_answer(s, rq, out, "Unknown",
		    "The notification breaks the protocol (see violations).");
	else
		svc_answer(s, rq, out, "Success", "");
}

void
isim_scep(struct isim *s, struct isim_req *rq, enum isim_hop hop,
    struct isim_resp *out)
{
	json_t *tok = NULL, *body = NULL, *w;

	if (strcmp(rq->method, "POST") != 0) {
		isim_svc_error(rq, out, 405, "MethodNotAllowed",
		    "The requested resource does not support this method.");
		return;
	}
	if ((w = isim_svc_open(s, rq, hop, &tok, &body, out)) != NULL) {
		if (hop == HOP_VALIDATE)
			validate(s, rq, tok, w, out);
		else if (hop == HOP_SUCCESS)
			success(s, rq, w, out);
		else
			failure(s, rq, w, out);
	}
	json_decref(body);
	json_decref(tok);
}
