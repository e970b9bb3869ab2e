/*
 * Entra ID tokens (client credentials, README "Microsoft Intune"): one
 * for Microsoft Graph (scope graph_url + ".default") and one for Intune
 * (scope intune_resource + "/.default": the double slash is Microsoft's
 * own string). Each is cached and renewed before it expires (5 minutes,
 * or a tenth of a short lifetime, early), with one request in flight per
 * scope: callers that find it running wait and share its result. The
 * credential is the client secret, read from its file at every request
 * (so a new secret needs no restart), or a client assertion signed with
 * the certificate's key (RS256, x5t and x5t#S256 headers).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "buf.h"
#include "config.h"
#include "gw_err.h"
#include "intune_int.h"
#include "log.h"
#include "secure.h"

#define ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#define ASSERTION_LIFE_S 600 /* exp: now + 10 min */
#define ASSERTION_SKEW_S 300 /* nbf: now - 5 min */

static const char *const scope_name[INTUNE_SCOPE__N] = { "Microsoft Graph",
	"Intune" };

/* Appends s percent-encoded for a form (RFC 3986 unreserved kept). */
static int
form_add(struct buf *b, const char *name, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char enc[3];
	int rc;

	rc = buf_printf(b, "%s%s=", b->len > 0 ? "&" : "", name);
	for (; rc == 0 && *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			rc = buf_add(b, s, 1);
			continue;
		}
		enc[0] = '%';
		enc[1] = hex[c >> 4];
		enc[2] = hex[c & 15];
		rc = buf_add(b, enc, 3);
	}
	return rc;
}

/* x5t and x5t#S256 of the client certificate, once. */
int
intune_assertion_prepare(struct intune *in, struct gw_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char *s;

	if (X509_digest(in->cert, EVP_sha1(), md, &n) != 1 ||
	    (s = intune_b64(md, n, true)) == NULL) {
		gw_err_set(err, ENOMEM, "intune: cannot hash client_cert");
		return -1;
	}
	snprintf(in->x5t, sizeof(in->x5t), "%s", s);
	free(s);
	if (X509_digest(in->cert, EVP_sha256(), md, &n) != 1 ||
	    (s = intune_b64(md, n, true)) == NULL) {
		gw_err_set(err, ENOMEM, "intune: cannot hash client_cert");
		return -1;
	}
	snprintf(in->x5t256, sizeof(in->x5t256), "%s", s);
	free(s);
	return 0;
}

/* base64url of a JSON object's compact text; takes o; NULL on failure. */
static char *
jwt_part(json_t *o)
{
	char *txt, *s = NULL;

	if (o == NULL)
		return NULL;
	if ((txt = json_dumps(o, JSON_COMPACT)) != NULL)
		s = intune_b64((const uint8_t *)txt, strlen(txt), true);
	free(txt);
	json_decref(o);
	return s;
}

/*
 * A client assertion (a JWT signed with RS256 by the client key): aud the
 * token URL, iss = sub = client_id, a random jti, nbf 5 minutes back (our
 * clock may be ahead), exp 10 minutes on. Malloc'd, or NULL.
 */
static char *
assertion_new(struct intune *in)
{
	char jti[37], *head, *claims, *sig64 = NULL, *jwt = NULL;
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *md = NULL;
	struct buf b;
	time_t now = time(NULL);

	intune_uuid(jti);
	head = jwt_part(json_pack("{s:s, s:s, s:s, s:s}", "alg", "RS256", "typ",
	    "JWT", "x5t", in->x5t, "x5t#S256", in->x5t256));
	claims = jwt_part(json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I}",
	    "aud", in->token_url, "iss", in->client_id, "sub", in->client_id,
	    "jti", jti, "nbf", (json_int_t)(now - ASSERTION_SKEW_S), "iat",
	    (json_int_t)now, "exp", (json_int_t)(now + ASSERTION_LIFE_S)));
	buf_init(&b, 0);
	if (head == NULL || claims == NULL ||
	    buf_printf(&b, "%s.%s", head, claims) != 0 ||
	    (md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, in->key) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, b.data, b.len) != 1 ||
	    (sig64 = intune_b64(sig, siglen, true)) == NULL ||
	    buf_printf(&b, ".%s", sig64) != 0)
		goto out;
	jwt = (char *)buf_steal(&b, NULL);
out:
	EVP_MD_CTX_free(md);
	buf_cleanup(&b);
	free(head);
	free(claims);
	free(sig64);
	return jwt;
}

/* The form of a token request for scope s; secret buffer; 0 or -1. */
static int
token_form(struct intune *in, enum intune_scope s, struct buf *form,
    struct intune_result *r)
{
	char scope[600], *secret = NULL, *jwt = NULL;
	struct gw_err err;
	int rc = -1;

	buf_init(form, 0);
	buf_set_secret(form);
	snprintf(scope, sizeof(scope), "%s%s",
	    s == INTUNE_SCOPE_GRAPH ? in->graph_url : in->intune_resource,
	    s == INTUNE_SCOPE_GRAPH ? ".default" : "/.default");
	if (form_add(form, "grant_type", "client_credentials") != 0 ||
	    form_add(form, "client_id", in->client_id) != 0 ||
	    form_add(form, "scope", scope) != 0)
		goto oom;
	if (in->key == NULL) {
		gw_err_clear(&err);
		if (config_intune_secret_read(in->secret_file, &secret, &err) ==
		    -1) {
			intune_result_set(r, INTUNE_UNAVAILABLE, 0, "",
			    "[intune] client_secret_file: %s", err.msg);
			return -1;
		}
		if (form_add(form, "client_secret", secret) != 0)
			goto oom;
	} else {
		if ((jwt = assertion_new(in)) == NULL) {
			intune_result_set(r, INTUNE_UNAVAILABLE, 0, "",
			    "cannot sign the client assertion with "
			    "[intune] client_key");
			return -1;
		}
		if (form_add(form, "client_assertion_type", ASSERTION_TYPE) !=
			0 ||
		    form_add(form, "client_assertion", jwt) != 0)
			goto oom;
	}
	rc = 0;
	goto out;
oom:
	intune_result_set(r, INTUNE_UNAVAILABLE, 0, "", "out of memory");
out:
	gw_secret_free(secret);
	gw_secret_free(jwt);
	if (rc != 0)
		buf_cleanup(form);
	return rc;
}

/*
 * Entra's refusal {"error","error_description","error_codes":[n]} as a
 * result: code "AADSTSn", the description without its trace IDs.
 */
static void
token_refusal(const struct intune_http *h, enum intune_scope s, json_t *j,
    struct intune_result *r)
{
	const char *e = json_string_value(json_object_get(j, "error"));
	const char *d =
	    json_string_value(json_object_get(j, "error_description"));
	json_t *codes = json_object_get(j, "error_codes");
	char code[32] = "";
	const char *dot;
	size_t n;

	if (json_is_integer(json_array_get(codes, 0)))
		snprintf(code, sizeof(code), "AADSTS%lld",
		    (long long)json_integer_value(json_array_get(codes, 0)));
	if (d == NULL)
		d = "";
	/* The first sentence: "AADSTSn: what.", without trace IDs. */
	n = strcspn(d, "\r\n");
	if ((dot = strstr(d, ". ")) != NULL && (size_t)(dot - d) < n)
		n = (size_t)(dot - d) + 1;
	intune_result_set(r, INTUNE_UNAVAILABLE, h->status, code,
	    "Entra ID refused the %s token (HTTP %ld %s): %.*s", scope_name[s],
	    h->status, e != NULL ? e : "?", (int)(n > 200 ? 200 : n), d);
}

/*
 * Asks Entra ID for a token of scope s (no cache). On STEP_OK *tok is
 * malloc'd (a secret: gw_secret_free()) and *life its lifetime in
 * seconds; otherwise r says why.
 */
enum intune_step
intune_token_fetch(struct intune *in, CURL **easy, enum intune_scope s,
    int64_t deadline_ms, char **tok, int64_t *life, struct intune_result *r)
{
	static const char *const hdrs[] = {
		"Content-Type: application/x-www-form-urlencoded",
		"Accept: application/json", "Expect:", NULL
	};
	struct intune_http h;
	enum intune_step st = STEP_RETRY;
	const char *t;
	struct buf form;
	json_t *j = NULL;

	*tok = NULL;
	if (token_form(in, s, &form, r) != 0)
		return STEP_FAIL;
	memset(&h, 0, sizeof(h));
	h.method = "POST";
	h.url = in->token_url;
	h.headers = hdrs;
	h.body = (const char *)form.data;
	h.body_len = form.len;
	if (intune_http_do(in, easy, deadline_ms, &h) != 0) {
		intune_result_set(r, INTUNE_UNAVAILABLE, 0, "",
		    "%s token: %.200s", scope_name[s], h.errbuf);
		goto out;
	}
	j = json_loadb((const char *)h.resp.data, h.resp.len, 0, NULL);
	if (h.status >= 500 || !json_is_object(j)) {
		intune_result_set(r, INTUNE_UNAVAILABLE, h.status, "",
		    "%s token: Entra ID answered HTTP %ld %s", scope_name[s],
		    h.status, json_is_object(j) ? "" : "without JSON");
		goto out;
	}
	t = json_string_value(json_object_get(j, "access_token"));
	if (h.status != 200 || t == NULL || t[0] == '\0') {
		token_refusal(&h, s, j, r);
		st = h.status == 200 ? STEP_RETRY : STEP_FAIL;
		goto out;
	}
	/* A number; v1 endpoints sent it as a string. */
	if (json_is_integer(json_object_get(j, "expires_in")))
		*life = (int64_t)json_integer_value(
		    json_object_get(j, "expires_in"));
	else if (json_is_string(json_object_get(j, "expires_in")))
		*life =
		    strtoll(json_string_value(json_object_get(j, "expires_in")),
			NULL, 10);
	else
		*life = 0;
	if (*life < 0)
		*life = 0;
	if ((*tok = gw_strdup(t)) == NULL) {
		intune_result_set(r, INTUNE_UNAVAILABLE, 0, "",
		    "out of memory");
		st = STEP_FAIL;
		goto out;
	}
	st = STEP_OK;
out:
	json_decref(j);
	gw_cleanse(h.resp.data, h.resp.len);
	intune_http_cleanup(&h);
	buf_cleanup(&form);
	return st;
}

/* How long before its end a token of life seconds is renewed. */
static int64_t
refresh_margin(int64_t life)
{
	return life >= 10 * INTUNE_REFRESH_MARGIN_S ? INTUNE_REFRESH_MARGIN_S :
						      life / 10;
}

/*
 * A valid token of scope s into *tok (malloc'd, a secret): the cached one,
 * or a new one, asked for by one caller at a time; callers that wait for
 * that request share its failure. r says why on failure.
 */
enum intune_step
intune_token_get(struct intune *in, CURL **easy, enum intune_scope s,
    int64_t deadline_ms, char **tok, struct intune_result *r)
{
	struct intune_token *t = &in->tok[s];
	enum intune_step st;
	char *fresh = NULL;
	int64_t life = 0;
	uint64_t seen;

	*tok = NULL;
	pthread_mutex_lock(&in->mu);
	for (;;) {
		if (t->access != NULL && intune_now() < t->refresh_at) {
			*tok = gw_strdup(t->access);
			pthread_mutex_unlock(&in->mu);
			if (*tok == NULL) {
				intune_result_set(r, INTUNE_UNAVAILABLE, 0, "",
				    "out of memory");
				return STEP_FAIL;
			}
			return STEP_OK;
		}
		if (!t->fetching)
			break;
		seen = t->flight;
		while (t->fetching && t->flight == seen)
			if (!intune_wait_until(in, deadline_ms)) {
				pthread_mutex_unlock(&in->mu);
				intune_result_set(r, INTUNE_UNAVAILABLE, 0, "",
				    "timed out waiting for the %s token",
				    scope_name[s]);
				return STEP_FAIL;
			}
		if (t->flight != seen && t->access == NULL) {
			*r = t->last;
			st = t->last_step;
			pthread_mutex_unlock(&in->mu);
			return st;
		}
	}
	t->fetching = true;
	pthread_mutex_unlock(&in->mu);

	st = intune_token_fetch(in, easy, s, deadline_ms, &fresh, &life, r);

	pthread_mutex_lock(&in->mu);
	t->fetching = false;
	t->flight++;
	if (st == STEP_OK) {
		gw_secret_free(t->access);
		t->access = gw_strdup(fresh);
		t->refresh_at = intune_now() + life - refresh_margin(life);
		log_ev(LOG_DEBUG, "intune", NULL,
		    "intune: new %s token, valid %lld s", scope_name[s],
		    (long long)life);
	} else {
		/* Its waiters share this failure, not a stale token. */
		gw_secret_free(t->access);
		t->access = NULL;
		t->last = *r;
		t->last_step = st;
	}
	pthread_cond_broadcast(&in->cv);
	pthread_mutex_unlock(&in->mu);
	*tok = fresh;
	return st;
}

/*
 * Forgets the cached token of scope s if it is still tok (a 401 with it:
 * README "Microsoft Intune"), so the next caller asks for a new one.
 */
void
intune_token_drop(struct intune *in, enum intune_scope s, const char *tok)
{
	struct intune_token *t = &in->tok[s];

	pthread_mutex_lock(&in->mu);
	if (t->access != NULL && tok != NULL && strcmp(t->access, tok) == 0) {
		gw_secret_free(t->access);
		t->access = NULL;
	}
	pthread_mutex_unlock(&in->mu);
}
