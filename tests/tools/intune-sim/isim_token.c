/*
 * intune-sim's Entra ID token endpoint, POST /{tenant}/oauth2/v2.0/token
 * (client credentials: a secret in the form or in HTTP Basic, or a
 * certificate-signed client assertion), with Entra's error shape and
 * AADSTS codes (tests/tools/intune-sim/README.md "Token endpoint").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "isim.h"

#define JWT_BEARER "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

/* Decodes %XX and + in place (application/x-www-form-urlencoded). */
static void
url_decode(char *p)
{
	char *o = p, hex[3] = { 0 };

	for (; *p != '\0'; p++) {
		if (*p == '+') {
			*o++ = ' ';
		} else if (*p == '%' && p[1] != '\0' && p[2] != '\0') {
			hex[0] = p[1];
			hex[1] = p[2];
			*o++ = (char)strtol(hex, NULL, 16);
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

/* The form's fields as a JSON object of strings. */
static json_t *
parse_form(const char *body)
{
	json_t *o = json_object();
	char *copy = strdup(body), *item, *save, *eq;

	if (copy == NULL)
		return o;
	for (item = strtok_r(copy, "&", &save); item != NULL;
	     item = strtok_r(NULL, "&", &save)) {
		if ((eq = strchr(item, '=')) == NULL)
			continue;
		*eq = '\0';
		url_decode(item);
		url_decode(eq + 1);
		json_object_set_new(o, item, json_string(eq + 1));
	}
	free(copy);
	return o;
}

static const char *
field(json_t *form, const char *k)
{
	return json_string_value(json_object_get(form, k));
}

/* The graph scope (graph_resource + ".default") or the sim's own. */
static int
is_graph_scope(struct isim *s, const char *scope)
{
	size_t n = strlen(s->conf.graph_resource);
	size_t b = strlen(s->base);

	return (strncmp(scope, s->conf.graph_resource, n) == 0 &&
		   strcmp(scope + n, ".default") == 0) ||
	    (b > 0 && strncmp(scope, s->base, b) == 0 &&
		strcmp(scope + b, "/.default") == 0);
}

enum isim_hop
isim_token_hop(struct isim *s, const char *body)
{
	json_t *form = parse_form(body);
	const char *scope = field(form, "scope");
	enum isim_hop hop = scope != NULL &&
		(is_graph_scope(s, scope) || strstr(scope, "graph") != NULL) ?
	    HOP_TOKEN_GRAPH :
	    HOP_TOKEN_INTUNE;

	json_decref(form);
	return hop;
}

/* An Entra error answer: {"error","error_description","error_codes"..}. */
static void
entra_error(struct isim *s, struct isim_req *rq, struct isim_resp *out,
    unsigned status, const char *error, long code, const char *msg)
{
	char trace[37], corr[37], when[40], desc[1024], stamp[32];
	time_t now = isim_now(s);
	struct tm tm;

	isim_uuid(trace);
	isim_uuid(corr);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%SZ", &tm);
	snprintf(desc, sizeof(desc),
	    "AADSTS%ld: %s Trace ID: %s Correlation ID: %s Timestamp: %s", code,
	    msg, trace, corr, isim_iso_time(now, when, sizeof(when)));
	isim_json_resp(out, status,
	    json_pack("{s:s,s:s,s:[I],s:s,s:s,s:s,s:s}", "error", error,
		"error_description", desc, "error_codes", (json_int_t)code,
		"timestamp", stamp, "trace_id", trace, "correlation_id", corr,
		"error_uri", "https://login.microsoftonline.com/error"));
	snprintf(desc, sizeof(desc), "AADSTS%ld", code);
	json_object_set_new(rq->entry, "result", json_string(desc));
}

/* The expected aud of a client assertion: this token URL. */
static int
aud_ok(struct isim *s, const char *aud, const char *tenant)
{
	char want[512];

	snprintf(want, sizeof(want), "%s/%s/oauth2/v2.0/token", s->base,
	    tenant);
	return aud != NULL && strcmp(aud, want) == 0;
}

/*
 * Checks a client assertion (README "Token endpoint"); NULL when good,
 * else the AADSTS code in *code and the message.
 */
static const char *
check_assertion(struct isim *s, const char *jwt, const char *tenant, long *code)
{
	const char *why, *iss, *sub, *jti;
	json_t *c;
	json_int_t exp, nbf;
	time_t now = isim_now(s);

	*code = 700027;
	if (s->client_pub == NULL)
		return "Client assertion contains an invalid signature. "
		       "[Reason - The key was not found.]";
	if ((c = isim_jwt_verify(jwt, s->client_pub, &why)) == NULL)
		return "Client assertion contains an invalid signature. "
		       "[Reason - The provided signature value did not match "
		       "the expected signature value.]";
	iss = json_string_value(json_object_get(c, "iss"));
	sub = json_string_value(json_object_get(c, "sub"));
	jti = json_string_value(json_object_get(c, "jti"));
	exp = json_integer_value(json_object_get(c, "exp"));
	nbf = json_is_integer(json_object_get(c, "nbf")) ?
	    json_integer_value(json_object_get(c, "nbf")) :
	    (json_int_t)now;
	why = NULL;
	if (!aud_ok(s, json_string_value(json_object_get(c, "aud")), tenant)) {
		*code = 700021;
		why = "Client assertion audience claim does not match Realm "
		      "issuer.";
	} else if (iss == NULL || sub == NULL ||
	    strcmp(iss, s->conf.client_id) != 0 ||
	    strcmp(sub, s->conf.client_id) != 0) {
		*code = 700023;
		why = "Client assertion issuer and subject must both be the "
		      "client id.";
	} else if (!json_is_integer(json_object_get(c, "exp")) ||
	    exp <= (json_int_t)now || nbf > (json_int_t)now + 300) {
		*code = 700024;
		why = "Client assertion is not within its valid time range.";
	} else if (jti == NULL || json_object_get(s->jtis, jti) != NULL) {
		*code = 700028;
		why = "Client assertion jti is missing or was used before.";
	} else {
		json_object_set_new(s->jtis, jti, json_integer(exp));
	}
	json_decref(c);
	return why;
}

/* client_id and secret from HTTP Basic (RFC 6749 2.3.1), or -1. */
static int
basic_creds(struct isim_req *rq, json_t *form)
{
	const char *auth = isim_header(rq, "Authorization");
	unsigned char *raw;
	size_t n;
	char *colon;

	if (auth == NULL || strncmp(auth, "Basic ", 6) != 0 ||
	    isim_b64_decode(auth + 6, strlen(auth + 6), 0, &raw, &n) == -1)
		return -1;
	raw[n] = '\0';
	if ((colon = strchr((char *)raw, ':')) != NULL) {
		*colon = '\0';
		url_decode((char *)raw);
		url_decode(colon + 1);
		json_object_set_new(form, "client_id",
		    json_string((char *)raw));
		json_object_set_new(form, "client_secret",
		    json_string(colon + 1));
	}
	free(raw);
	return colon != NULL ? 0 : -1;
}

/* Checks the credential; 0, or -1 after answering with the error. */
static int
check_credential(struct isim *s, struct isim_req *rq, json_t *form,
    const char *tenant, struct isim_resp *out)
{
	const char *secret = field(form, "client_secret");
	const char *type = field(form, "client_assertion_type");
	const char *jwt = field(form, "client_assertion"), *why;
	char msg[512];
	long code;

	if (jwt != NULL) {
		if (type == NULL || strcmp(type, JWT_BEARER) != 0) {
			entra_error(s, rq, out, 400, "invalid_request", 700020,
			    "The client_assertion_type is not supported.");
			return -1;
		}
		if ((why = check_assertion(s, jwt, tenant, &code)) != NULL) {
			entra_error(s, rq, out, 401, "invalid_client", code,
			    why);
			return -1;
		}
		return 0;
	}
	if (secret == NULL) {
		entra_error(s, rq, out, 401, "invalid_client", 7000218,
		    "The request body must contain the following parameter: "
		    "'client_assertion' or 'client_secret'.");
		return -1;
	}
	if (strcmp(secret, s->conf.client_secret) != 0) {
		snprintf(msg, sizeof(msg),
		    "Invalid client secret provided. Ensure the secret being "
		    "sent in the request is the client secret value, not the "
		    "client secret ID, for a secret added to app '%s'.",
		    s->conf.client_id);
		entra_error(s, rq, out, 401, "invalid_client", 7000215, msg);
		return -1;
	}
	if (s->conf.secret_expired) {
		snprintf(msg, sizeof(msg),
		    "The provided client secret keys for app '%s' are "
		    "expired. Visit the Azure portal to create new keys for "
		    "your app.",
		    s->conf.client_id);
		entra_error(s, rq, out, 401, "invalid_client", 7000222, msg);
		return -1;
	}
	return 0;
}

/* Which resource the scope names: 0 graph, 1 intune, -1 (answered). */
static int
check_scope(struct isim *s, struct isim_req *rq, const char *scope,
    struct isim_resp *out)
{
	size_t n = strlen(s->conf.intune_resource);
	const char *suffix =
	    scope + (strlen(scope) > 9 ? strlen(scope) - 9 : 0);
	char msg[768];

	if (strchr(scope, ' ') != NULL) {
		entra_error(s, rq, out, 400, "invalid_scope", 70011,
		    "The provided request must include a 'scope' input "
		    "parameter. All scopes included must be for a single "
		    "resource.");
		return -1;
	}
	if (strcmp(suffix, "/.default") != 0) {
		snprintf(msg, sizeof(msg),
		    "The provided value for scope %s is not valid. Client "
		    "credential flows must have a scope value with /.default "
		    "suffixed to the resource identifier (application ID URI).",
		    scope);
		entra_error(s, rq, out, 400, "invalid_scope", 1002012, msg);
		return -1;
	}
	if (is_graph_scope(s, scope))
		return 0;
	if (strncmp(scope, s->conf.intune_resource, n) == 0 &&
	    (strcmp(scope + n, "/.default") == 0 ||
		(s->conf.single_slash && strcmp(scope + n, ".default") == 0)))
		return 1;
	snprintf(msg, sizeof(msg),
	    "The resource principal named %.*s was not found in the tenant "
	    "named %s. This can happen if the application has not been "
	    "installed by the administrator of the tenant or consented to by "
	    "any user in the tenant.",
	    (int)(strlen(scope) - 8), scope, s->conf.tenant_domain);
	entra_error(s, rq, out, 400, "invalid_resource", 500011, msg);
	return -1;
}

/* Issues the access token for resource 0 (Graph) or 1 (Intune). */
static void
issue(struct isim *s, struct isim_req *rq, int intune, struct isim_resp *out)
{
	char aud[256], iss[128], uti[37];
	time_t now = isim_now(s);
	size_t n;
	json_t *c, *roles = json_array();
	char *jwt;

	snprintf(aud, sizeof(aud), "%s",
	    intune ? s->conf.intune_resource : s->conf.graph_resource);
	n = strlen(aud);
	if (!intune && n > 0 && aud[n - 1] == '/')
		aud[n - 1] = '\0';
	snprintf(iss, sizeof(iss), "https://sts.windows.net/%s/",
	    s->conf.tenant);
	isim_uuid(uti);
	if (intune ? s->conf.consent_intune : s->conf.consent_graph)
		json_array_append_new(roles,
		    json_string(intune ? "scep_challenge_provider" :
					 "Application.Read.All"));
	c = json_pack("{s:s,s:s,s:I,s:I,s:I,s:s,s:s,s:s,s:s,s:s}", "aud", aud,
	    "iss", iss, "iat", (json_int_t)now, "nbf", (json_int_t)now, "exp",
	    (json_int_t)(now + s->conf.token_lifetime), "tid", s->conf.tenant,
	    "appid", s->conf.client_id, "idtyp", "app", "uti", uti, "ver",
	    "1.0");
	if (json_array_size(roles) > 0)
		json_object_set(c, "roles", roles);
	jwt = isim_jwt_sign(s->token_key, c);
	json_decref(c);
	json_object_set_new(rq->entry, "token",
	    json_pack("{s:s,s:o}", "aud", aud, "roles", roles));
	if (jwt == NULL) {
		entra_error(s, rq, out, 500, "server_error", 90033,
		    "A transient error has occurred. Please try again.");
		return;
	}
	s->token_count[intune]++;
	isim_json_resp(out, 200,
	    json_pack("{s:s,s:I,s:I,s:s}", "token_type", "Bearer", "expires_in",
		(json_int_t)s->conf.token_lifetime, "ext_expires_in",
		(json_int_t)s->conf.token_lifetime, "access_token", jwt));
	json_object_set_new(rq->entry, "result", json_string("issued"));
	free(jwt);
}

/* The entry's body summary: never the secret or the assertion. */
static void
summarise(struct isim_req *rq, json_t *form, const char *tenant, int basic)
{
	const char *cred = field(form, "client_assertion") != NULL ?
	    "assertion" :
	    basic == 0				 ? "basic" :
	    field(form, "client_secret") != NULL ? "secret" :
						   "none";
	json_t *b =
	    json_pack("{s:s,s:s}", "tenant", tenant, "credential", cred);
	const char *k[] = { "grant_type", "client_id", "scope" };
	size_t i;

	for (i = 0; i < 3; i++)
		if (field(form, k[i]) != NULL)
			json_object_set_new(b, k[i],
			    json_string(field(form, k[i])));
	json_object_set_new(rq->entry, "body", b);
}

void
isim_token(struct isim *s, struct isim_req *rq, const char *tenant,
    struct isim_resp *out)
{
	const char *ct = isim_header(rq, "Content-Type"), *v;
	json_t *form = parse_form(rq->body);
	int basic = basic_creds(rq, form), which;
	char msg[512];

	summarise(rq, form, tenant, basic);
	if (strcasecmp(tenant, s->conf.tenant) != 0 &&
	    strcasecmp(tenant, s->conf.tenant_domain) != 0) {
		snprintf(msg, sizeof(msg),
		    "Tenant '%s' not found. Check to make sure you have the "
		    "correct tenant ID and are signing into the correct cloud.",
		    tenant);
		entra_error(s, rq, out, 400, "invalid_request", 90002, msg);
	} else if (ct == NULL ||
	    strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0 ||
	    (v = field(form, "grant_type")) == NULL) {
		entra_error(s, rq, out, 400, "invalid_request", 900144,
		    "The request body must contain the following parameter: "
		    "'grant_type'.");
	} else if (strcmp(v, "client_credentials") != 0) {
		snprintf(msg, sizeof(msg),
		    "The app requested an unsupported grant type '%s'.", v);
		entra_error(s, rq, out, 400, "unsupported_grant_type", 70003,
		    msg);
	} else if ((v = field(form, "client_id")) == NULL) {
		entra_error(s, rq, out, 400, "invalid_request", 900144,
		    "The request body must contain the following parameter: "
		    "'client_id'.");
	} else if (strcmp(v, s->conf.client_id) != 0) {
		snprintf(msg, sizeof(msg),
		    "Application with identifier '%s' was not found in the "
		    "directory '%s'.",
		    v, s->conf.tenant_domain);
		entra_error(s, rq, out, 400, "unauthorized_client", 700016,
		    msg);
	} else if (check_credential(s, rq, form, tenant, out) == 0) {
		if ((v = field(form, "scope")) == NULL)
			entra_error(s, rq, out, 400, "invalid_request", 900144,
			    "The request body must contain the following "
			    "parameter: 'scope'.");
		else if ((which = check_scope(s, rq, v, out)) >= 0)
			issue(s, rq, which, out);
	}
	json_decref(form);
}
