/*
 * Where the tenant's Intune SCEP validation service is (README "Microsoft
 * Intune"): GET graph_url + v1.0/servicePrincipals/appId=<intune_app_id>/
 * endpoints with the Graph token, the entry whose providerName is
 * ScepRequestValidationFEService (any case; serviceName when it has
 * none; the last of duplicates), its uri without one trailing '/'. Cached
 * for a day, one lookup in flight at a time; forgotten when the service
 * answers 404 or cannot be reached, so the next call looks again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "config.h"
#include "log.h"
#include "intune_int.h"
#include "secure.h"

#define SCEP_PROVIDER "ScepRequestValidationFEService"

/* The uri of the SCEP entry of a discovery answer, or NULL. */
static const char *
disco_find(json_t *j)
{
	const char *name, *uri, *found = NULL;
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(j, "value"), i, v)
	{
		name = json_string_value(json_object_get(v, "providerName"));
		if (name == NULL)
			name = json_string_value(
			    json_object_get(v, "serviceName"));
		uri = json_string_value(json_object_get(v, "uri"));
		if (name != NULL && uri != NULL &&
		    strcasecmp(name, SCEP_PROVIDER) == 0)
			found = uri;
	}
	return found;
}

/* Graph's {"error":{"code"}} into code, or "". */
static void
graph_code(json_t *j, char *code, size_t n)
{
	const char *c = json_string_value(
	    json_object_get(json_object_get(j, "error"), "code"));

	snprintf(code, n, "%s", c != NULL ? c : "");
}

/*
 * One discovery request with the Graph token tok (no cache). On STEP_OK
 * *uri is malloc'd; otherwise r says why. A 401 is STEP_RETRY with
 * r->http_status 401, so the caller may get a new token once.
 */
enum intune_step
intune_disco_fetch(struct intune *in, CURL **easy, const char *tok,
    int64_t deadline_ms, char **uri, struct intune_result *r)
{
	char url[1024], auth[8192], rid[37], ridh[64], code[64];
	const char *hdrs[] = { auth, ridh, "Accept: application/json", NULL };
	enum intune_step st = STEP_RETRY;
	struct intune_http h;
	json_t *j = NULL;
	const char *u;
	size_t n;

	*uri = NULL;
	snprintf(url, sizeof(url),
	    "%sv1.0/servicePrincipals/appId=%s/endpoints", in->graph_url,
	    in->app_id);
	if ((size_t)snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
		tok) >= sizeof(auth)) {
		intune_result_set(r, INTUNE_UNAVAILABLE, 0, "",
		    "the Graph token is too long");
		return STEP_FAIL;
	}
	intune_uuid(rid);
	snprintf(ridh, sizeof(ridh), "client-request-id: %s", rid);
	memset(&h, 0, sizeof(h));
	h.method = "GET";
	h.url = url;
	h.headers = hdrs;
	if (intune_http_do(in, easy, deadline_ms, &h) != 0) {
		intune_http_reason(&h, "Graph discovery", r);
		goto out;
	}
	j = json_loadb((const char *)h.resp.data, h.resp.len, 0, NULL);
	graph_code(j, code, sizeof(code));
	if (h.status == 401) {
		intune_result_set(r, INTUNE_UNAVAILABLE, 401, code,
		    "Graph discovery: HTTP 401 %s (the Graph token was "
		    "refused)",
		    code);
	} else if (h.status == 403) {
		intune_result_set(r, INTUNE_UNAVAILABLE, 403, code,
		    "Graph discovery: HTTP 403 %s: grant admin consent for "
		    "Microsoft Graph Application.Read.All to the app",
		    code);
		st = STEP_FAIL;
	} else if (h.status != 200 || !json_is_object(j)) {
		intune_result_set(r, INTUNE_UNAVAILABLE, h.status, code,
		    "Graph discovery: HTTP %ld %s", h.status,
		    json_is_object(j) ? code : "without JSON");
		st =
		    h.status >= 500 || h.status == 200 ? STEP_RETRY : STEP_FAIL;
	} else if ((u = disco_find(j)) == NULL) {
		intune_result_set(r, INTUNE_UNAVAILABLE, 200, "ServiceNotFound",
		    "Graph discovery lists no " SCEP_PROVIDER
		    ": Intune not licensed in this tenant, or no admin "
		    "consent for Intune scep_challenge_provider");
		st = STEP_FAIL;
	} else if (!config_url_https_or_loopback(u)) {
		intune_result_set(r, INTUNE_UNAVAILABLE, 200, "",
		    "Graph discovery gave " SCEP_PROVIDER
		    " a URL that is not https: \"%.80s\"",
		    u);
		st = STEP_FAIL;
	} else {
		n = strlen(u);
		if (n > 0 && u[n - 1] == '/')
			n--;
		if ((*uri = gw_strndup(u, n)) == NULL) {
			intune_result_set(r, INTUNE_UNAVAILABLE, 0, "",
			    "out of memory");
			st = STEP_FAIL;
		} else
			st = STEP_OK;
	}
out:
	gw_cleanse(auth, sizeof(auth));
	json_decref(j);
	intune_http_cleanup(&h);
	return st;
}

/* Looks the service up: the Graph token, once more after a 401. */
static enum intune_step
disco_lookup(struct intune *in, CURL **easy, int64_t deadline_ms, char **uri,
    struct intune_result *r)
{
	enum intune_step st;
	char *tok = NULL;
	int round;

	for (round = 0; round < 2; round++) {
		st = intune_token_get(in, easy, INTUNE_SCOPE_GRAPH, deadline_ms,
		    &tok, r);
		if (st != STEP_OK)
			return st;
		st = intune_disco_fetch(in, easy, tok, deadline_ms, uri, r);
		if (st != STEP_RETRY || r->http_status != 401) {
			gw_secret_free(tok);
			return st;
		}
		intune_token_drop(in, INTUNE_SCOPE_GRAPH, tok);
		gw_secret_free(tok);
		tok = NULL;
	}
	return STEP_FAIL;
}

/*
 * The service's URL into *uri (malloc'd): cached, or looked up by one
 * caller at a time while the others wait and share its result.
 */
enum intune_step
intune_disco_get(struct intune *in, CURL **easy, int64_t deadline_ms,
    char **uri, struct intune_result *r)
{
	struct intune_disco *d = &in->disco;
	enum intune_step st;
	char *fresh = NULL;
	uint64_t seen;

	*uri = NULL;
	pthread_mutex_lock(&in->mu);
	for (;;) {
		if (d->uri != NULL && intune_now() < d->expires) {
			*uri = gw_strdup(d->uri);
			pthread_mutex_unlock(&in->mu);
			if (*uri == NULL) {
				intune_result_set(r, INTUNE_UNAVAILABLE, 0, "",
				    "out of memory");
				return STEP_FAIL;
			}
			return STEP_OK;
		}
		if (!d->fetching)
			break;
		seen = d->flight;
		while (d->fetching && d->flight == seen)
			if (!intune_wait_until(in, deadline_ms)) {
				pthread_mutex_unlock(&in->mu);
				intune_result_set(r, INTUNE_UNAVAILABLE, 0, "",
				    "timed out waiting for Graph discovery");
				return STEP_FAIL;
			}
		if (d->flight != seen && d->uri == NULL) {
			*r = d->last;
			st = d->last_step;
			pthread_mutex_unlock(&in->mu);
			return st;
		}
	}
	d->fetching = true;
	pthread_mutex_unlock(&in->mu);

	st = disco_lookup(in, easy, deadline_ms, &fresh, r);

	pthread_mutex_lock(&in->mu);
	d->fetching = false;
	d->flight++;
	free(d->uri);
	d->uri = NULL;
	if (st == STEP_OK) {
		d->uri = gw_strdup(fresh);
		d->expires = intune_now() + INTUNE_DISCO_TTL_S;
		log_ev(LOG_INFO, "intune", NULL,
		    "intune: Graph discovery: " SCEP_PROVIDER " at %s", fresh);
	} else {
		d->last = *r;
		d->last_step = st;
	}
	pthread_cond_broadcast(&in->cv);
	pthread_mutex_unlock(&in->mu);
	*uri = fresh;
	return st;
}

/* Forgets the service's URL if it is still uri (it moved or is down). */
void
intune_disco_drop(struct intune *in, const char *uri)
{
	pthread_mutex_lock(&in->mu);
	if (in->disco.uri != NULL && strcmp(in->disco.uri, uri) == 0) {
		free(in->disco.uri);
		in->disco.uri = NULL;
	}
	pthread_mutex_unlock(&in->mu);
}
