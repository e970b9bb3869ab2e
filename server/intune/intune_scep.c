/*
 * One ScepActions call (README "Microsoft Intune"): POST <service>/
 * ScepActions/<op> with the Intune token, api-version, a fresh UUID as
 * client-request-id and a JSON body; the answer's "code" decides: only
 * "Success" with its errorDescription is INTUNE_OK, any other code is a
 * refusal (codes Microsoft never listed included). Within [intune]
 * timeout_seconds: a 401 gets one new token and one retry; a 404 or an
 * unreachable service one new discovery; a 5xx, a timeout, a reset or an
 * unreadable answer at most two retries, 0.5 s and 2 s apart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "intune_int.h"
#include "secure.h"

static const int64_t backoff_ms[INTUNE_RETRIES] = { 500, 2000 };

/* Reads a 2xx answer into r: STEP_OK, STEP_FAIL (refused) or RETRY. */
static enum intune_step
scep_answer(const struct intune_http *h, const char *op,
    struct intune_result *r)
{
	json_t *j =
	    json_loadb((const char *)h->resp.data, h->resp.len, 0, NULL);
	const char *code = json_string_value(json_object_get(j, "code"));
	json_t *desc = json_object_get(j, "errorDescription");
	enum intune_step st;

	if (!json_is_object(j) || code == NULL) {
		intune_result_set(r, INTUNE_UNAVAILABLE, h->status, "",
		    "%s: HTTP %ld without a JSON code", op, h->status);
		st = STEP_RETRY;
	} else if (!json_is_string(desc)) {
		/* Microsoft's own client fails on this too: not a Success. */
		intune_result_set(r, INTUNE_REFUSED, h->status, code,
		    "%s: Intune answered code %.60s without an "
		    "errorDescription",
		    op, code);
		st = STEP_FAIL;
	} else if (strcmp(code, "Success") == 0) {
		intune_result_set(r, INTUNE_OK, h->status, code, "%s",
		    json_string_value(desc));
		st = STEP_OK;
	} else {
		intune_result_set(r, INTUNE_REFUSED, h->status, code, "%s",
		    json_string_value(desc));
		st = STEP_FAIL;
	}
	json_decref(j);
	return st;
}

/*
 * POSTs body to <uri>/ScepActions/<op> with the Intune token tok and reads
 * the answer into r (r->activity_id the client-request-id sent). No cache
 * is touched: `scepgw check` calls this with its own fresh token.
 */
enum intune_step
intune_scep_post(struct intune *in, CURL **easy, const char *uri,
    const char *tok, const char *op, const char *body, int64_t deadline_ms,
    struct intune_result *r)
{
	char url[2048], auth[8192], rid[80], apiv[128];
	const char *hdrs[] = { auth, rid, apiv,
		"Content-Type: application/json", "Accept: application/json",
		"UserAgent: " INTUNE_CALLER, "Expect:", NULL };
	char activity[37];
	enum intune_step st;
	struct intune_http h;
	json_t *j;
	const char *c;

	intune_uuid(activity);
	snprintf(url, sizeof(url), "%s/ScepActions/%s", uri, op);
	snprintf(rid, sizeof(rid), "client-request-id: %s", activity);
	snprintf(apiv, sizeof(apiv), "api-version: %s", in->api_version);
	if ((size_t)snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
		tok) >= sizeof(auth)) {
		intune_result_set(r, INTUNE_UNAVAILABLE, 0, "",
		    "the Intune token is too long");
		return STEP_FAIL;
	}
	memset(&h, 0, sizeof(h));
	h.method = "POST";
	h.url = url;
	h.headers = hdrs;
	h.body = body;
	h.body_len = strlen(body);
	if (intune_http_do(in, easy, deadline_ms, &h) != 0) {
		intune_http_reason(&h, op, r);
		st = STEP_RETRY;
		if (intune_http_conn_failed(&h))
			r->http_status = -1; /* tells the caller: rediscover */
	} else if (h.status >= 200 && h.status < 300) {
		st = scep_answer(&h, op, r);
	} else {
		j = json_loadb((const char *)h.resp.data, h.resp.len, 0, NULL);
		c = json_string_value(
		    json_object_get(json_object_get(j, "error"), "code"));
		intune_result_set(r, INTUNE_UNAVAILABLE, h.status,
		    c != NULL ? c : "", "%s: HTTP %ld %s%s", op, h.status,
		    c != NULL ? c : "",
		    h.status == 403 ? ": grant admin consent for Intune "
				      "scep_challenge_provider to the app" :
				      "");
		st = h.status >= 500 || h.status == 401 || h.status == 404 ||
			h.status == 408 || h.status == 429 ?
		    STEP_RETRY :
		    STEP_FAIL;
		json_decref(j);
	}
	snprintf(r->activity_id, sizeof(r->activity_id), "%s", activity);
	gw_cleanse(auth, sizeof(auth));
	intune_http_cleanup(&h);
	return st;
}

/*
 * One attempt: discovery and token (cached), then the POST. Sets *uri and
 * *tok to what was used (malloc'd) so the caller can drop them.
 */
static enum intune_step
scep_attempt(struct intune *in, CURL **easy, const char *op, const char *body,
    int64_t deadline_ms, char **uri, char **tok, struct intune_result *r)
{
	enum intune_step st;

	if ((st = intune_disco_get(in, easy, deadline_ms, uri, r)) != STEP_OK)
		return st;
	if ((st = intune_token_get(in, easy, INTUNE_SCOPE_INTUNE, deadline_ms,
		 tok, r)) != STEP_OK)
		return st;
	return intune_scep_post(in, easy, *uri, *tok, op, body, deadline_ms, r);
}

/*
 * Runs ScepActions/<op> with body until Intune answers or the retries or
 * [intune] timeout_seconds run out; r holds the outcome.
 */
void
intune_scep_call(struct intune *in, CURL **easy, const char *op,
    const char *body, struct intune_result *r)
{
	int64_t deadline = intune_now_ms() + in->timeout_s * 1000;
	bool new_token = false, new_uri = false;
	char *uri, *tok, activity[64] = "";
	enum intune_step st;
	int retries = 0;

	for (;;) {
		bool again = false;

		uri = NULL;
		tok = NULL;
		memset(r, 0, sizeof(*r));
		st = scep_attempt(in, easy, op, body, deadline, &uri, &tok, r);
		if (r->activity_id[0] != '\0')
			snprintf(activity, sizeof(activity), "%s",
			    r->activity_id);
		if (st == STEP_RETRY && tok != NULL && r->http_status == 401) {
			/* One new token, at once; refused again: final. */
			intune_token_drop(in, INTUNE_SCOPE_INTUNE, tok);
			if (new_token)
				st = STEP_FAIL;
			new_token = again = true;
		} else if (st == STEP_RETRY && uri != NULL &&
		    (r->http_status == 404 || r->http_status == -1)) {
			/* Moved or unreachable: look the service up again. */
			intune_disco_drop(in, uri);
			if (r->http_status == -1)
				r->http_status = 0;
			again = !new_uri;
			new_uri = true;
		}
		free(uri);
		gw_secret_free(tok);
		if (st != STEP_RETRY)
			break;
		if (again)
			continue;
		if (retries >= INTUNE_RETRIES ||
		    intune_now_ms() + backoff_ms[retries] >= deadline ||
		    !intune_sleep_until(in,
			intune_now_ms() + backoff_ms[retries]))
			break;
		retries++;
	}
	if (r->outcome != INTUNE_OK && r->outcome != INTUNE_REFUSED)
		r->outcome = INTUNE_UNAVAILABLE;
	snprintf(r->activity_id, sizeof(r->activity_id), "%s", activity);
}
