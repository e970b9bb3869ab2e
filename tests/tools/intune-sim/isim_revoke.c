/*
 * intune-sim's revocation API (PkiConnectorFEService, optional for a
 * SCEP CA): POST .../CertificateAuthorityRequests/downloadRevocationRequests
 * and .../uploadRevocationResults, fed by POST /_sim/revocations
 * (tests/tools/intune-sim/README.md "Revocation").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isim.h"

/* CARequestErrorCodes by name and number. */
static const struct {
	const char *name;
	int code;
} error_codes[] = {
	{ "None", 0 },
	{ "NonRetryableServiceException", 4000 },
	{ "DataSerializationError", 4001 },
	{ "ParameterDataInvalidError", 4002 },
	{ "CryptographyError", 4003 },
	{ "CertificateNotFoundError", 4004 },
	{ "ConflictError", 4005 },
	{ "NotSupportedError", 4006 },
	{ "PayloadTooLargeError", 4007 },
	{ "RetryableServiceException", 4100 },
	{ "ServiceUnavailableException", 4101 },
	{ "ServiceTooBusyException", 4102 },
	{ "AuthenticationException", 4103 },
};

/* The numeric code of an errorCode given as a number string or a name. */
static int
error_code(json_t *v)
{
	const char *p = json_string_value(v);
	char *end;
	long n;
	size_t i;

	if (p == NULL || *p == '\0')
		return -1;
	n = strtol(p, &end, 10);
	for (i = 0; i < sizeof(error_codes) / sizeof(error_codes[0]); i++)
		if (*end == '\0' ? n == error_codes[i].code :
				   strcmp(p, error_codes[i].name) == 0)
			return error_codes[i].code;
	return -1;
}

static json_t *
find(struct isim *s, const char *ctx)
{
	json_t *r;
	size_t i;

	json_array_foreach(s->revocations, i,
	    r) if (strcmp(json_string_value(json_object_get(r,
			      "requestContext")),
		       ctx) == 0) return r;
	return NULL;
}

/* Requests without a result, up to maxRequests, for issuerName. */
static void
download(struct isim *s, struct isim_req *rq, json_t *w, struct isim_resp *out)
{
	json_t *max = json_object_get(w, "maxRequests"), *v = json_array(), *r;
	const char *issuer =
	    json_string_value(json_object_get(w, "issuerName"));
	size_t i;

	json_object_set_new(rq->entry, "body", json_deep_copy(w));
	if (!json_is_integer(max) || json_integer_value(max) < 1 ||
	    json_integer_value(max) > 500) {
		json_decref(v);
		isim_violation(s, HOP_REVOKE_DOWNLOAD, NULL, "maxRequests",
		    "must be an integer from 1 to 500");
		isim_svc_error(rq, out, 400, "BadRequest",
		    "maxRequests must be from 1 to 500.");
		return;
	}
	json_array_foreach(s->revocations, i, r)
	{
		if (json_array_size(v) >= (size_t)json_integer_value(max))
			break;
		if (json_object_get(r, "result") != NULL ||
		    (issuer != NULL &&
			strcmp(issuer,
			    json_string_value(
				json_object_get(r, "issuerName"))) != 0))
			continue;
		json_object_set_new(r, "downloaded",
		    json_integer(
			json_integer_value(json_object_get(r, "downloaded")) +
			1));
		json_array_append_new(v,
		    json_pack("{s:O,s:O,s:O,s:O}", "requestContext",
			json_object_get(r, "requestContext"), "serialNumber",
			json_object_get(r, "serialNumber"), "issuerName",
			json_object_get(r, "issuerName"), "caConfiguration",
			json_object_get(r, "caConfiguration")));
	}
	json_object_set_new(rq->entry, "result",
	    json_integer((json_int_t)json_array_size(v)));
	isim_json_resp(out, 200, json_pack("{s:o}", "value", v));
}

/* Records each result; violations for what breaks the API's rules. */
static void
upload(struct isim *s, struct isim_req *rq, json_t *w, struct isim_resp *out)
{
	const char *ctx;
	json_t *x, *r;
	size_t i;
	int code;

	json_object_set_new(rq->entry, "body", json_deep_copy(w));
	json_array_foreach(w, i, x)
	{
		ctx = json_string_value(json_object_get(x, "requestContext"));
		code = error_code(json_object_get(x, "errorCode"));
		if (ctx == NULL || (r = find(s, ctx)) == NULL) {
			isim_violation(s, HOP_REVOKE_UPLOAD, ctx,
			    "unknown-request-context", "no such request");
			continue;
		}
		if (!json_is_boolean(json_object_get(x, "succeeded")))
			isim_violation(s, HOP_REVOKE_UPLOAD, ctx, "succeeded",
			    "not a JSON boolean");
		if (code < 0)
			isim_violation(s, HOP_REVOKE_UPLOAD, ctx, "errorCode",
			    "neither a number string nor a known name");
		if (json_object_get(r, "result") != NULL)
			isim_violation(s, HOP_REVOKE_UPLOAD, ctx,
			    "second-result", "a result came before");
		if (json_integer_value(json_object_get(r, "downloaded")) == 0)
			isim_violation(s, HOP_REVOKE_UPLOAD, ctx,
			    "result-before-download", "never downloaded");
		json_object_set(r, "result", x);
	}
	json_object_set_new(rq->entry, "result", json_string("true"));
	isim_json_resp(out, 200, json_pack("{s:b}", "value", 1));
}

void
isim_revoke(struct isim *s, struct isim_req *rq, enum isim_hop hop,
    struct isim_resp *out)
{
	json_t *tok = NULL, *body = NULL, *w;

	if (strcmp(rq->method, "POST") != 0) {
		isim_svc_error(rq, out, 405, "MethodNotAllowed",
		    "The requested resource does not support this method.");
		return;
	}
	if ((w = isim_svc_open(s, rq, hop, &tok, &body, out)) != NULL) {
		if (hop == HOP_REVOKE_DOWNLOAD)
			download(s, rq, w, out);
		else
			upload(s, rq, w, out);
	}
	json_decref(body);
	json_decref(tok);
}

/*
 * GET /_sim/revocations: the queue with results; POST {"serialNumber",
 * "issuerName","caConfiguration"}: queues one, answers its requestContext.
 */
json_t *
isim_revoke_admin(struct isim *s, struct isim_req *rq, json_t *j, char *err,
    size_t errlen)
{
	const char *serial =
	    json_string_value(json_object_get(j, "serialNumber"));
	const char *issuer =
	    json_string_value(json_object_get(j, "issuerName"));
	const char *cac =
	    json_string_value(json_object_get(j, "caConfiguration"));
	char ctx[37];

	if (strcmp(rq->method, "POST") != 0)
		return json_pack("{s:O}", "revocations", s->revocations);
	if (serial == NULL) {
		snprintf(err, errlen, "serialNumber is required");
		return NULL;
	}
	isim_uuid(ctx);
	json_array_append_new(s->revocations,
	    json_pack("{s:s,s:s,s:s,s:s,s:i}", "requestContext", ctx,
		"serialNumber", serial, "issuerName", issuer ? issuer : "",
		"caConfiguration", cac ? cac : "", "downloaded", 0));
	return json_pack("{s:s}", "requestContext", ctx);
}
