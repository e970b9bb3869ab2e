/*
 * intune-sim's control endpoints under /_sim/ (challenge, fault, log,
 * clock, reset, violations, state, config) and the fault answers
 * (tests/tools/intune-sim/README.md "Admin endpoints", "Fault
 * injection"). Admin requests are not logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isim.h"

static const char *const modes[] = { "500", "503", "401", "403", "404", "html",
	"code", "no-description", "delay", "hang", "reset" };

/* Parses {"hop","mode","count","ms","code"} into f; 0 or -1. */
static int
fault_parse(json_t *j, struct isim_fault *f, char *err, size_t errlen)
{
	const char *hop = json_string_value(json_object_get(j, "hop"));
	const char *mode = json_string_value(json_object_get(j, "mode"));
	const char *code = json_string_value(json_object_get(j, "code"));
	json_t *v;
	size_t i;

	memset(f, 0, sizeof(*f));
	f->count = -1;
	f->hop = HOP__MAX;
	for (i = 0; hop != NULL && strcmp(hop, "all") != 0 && i < HOP__MAX; i++)
		if (strcmp(hop, isim_hop_name((enum isim_hop)i)) == 0)
			f->hop = (enum isim_hop)i;
	if (hop != NULL && strcmp(hop, "all") != 0 && f->hop == HOP__MAX) {
		snprintf(err, errlen, "unknown hop");
		return -1;
	}
	for (i = 0; mode != NULL && i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(mode, modes[i]) == 0)
			break;
	if (mode == NULL || i == sizeof(modes) / sizeof(modes[0])) {
		snprintf(err, errlen, "unknown mode");
		return -1;
	}
	snprintf(f->mode, sizeof(f->mode), "%s", mode);
	snprintf(f->code, sizeof(f->code), "%s",
	    code != NULL ? code : "SomethingNew");
	if ((v = json_object_get(j, "count")) != NULL)
		f->count = (long)json_integer_value(v);
	if ((v = json_object_get(j, "ms")) != NULL)
		f->ms = (long)json_integer_value(v);
	if (f->count == 0 || f->ms < 0 || f->ms > 600000) {
		snprintf(err, errlen, "bad count or ms");
		return -1;
	}
	return 0;
}

const struct isim_fault *
isim_fault_take(struct isim *s, enum isim_hop hop, struct isim_fault *copy)
{
	size_t i;

	for (i = 0; i < s->nfaults; i++) {
		if (s->faults[i].hop != HOP__MAX && s->faults[i].hop != hop)
			continue;
		*copy = s->faults[i];
		if (s->faults[i].count > 0 && --s->faults[i].count == 0) {
			memmove(&s->faults[i], &s->faults[i + 1],
			    (s->nfaults - i - 1) * sizeof(s->faults[0]));
			s->nfaults--;
		}
		s->fired++;
		return copy;
	}
	return NULL;
}

/* The 500 body of each hop's service. */
static json_t *
body_500(enum isim_hop hop)
{
	if (hop == HOP_TOKEN_GRAPH || hop == HOP_TOKEN_INTUNE)
		return json_pack("{s:s,s:s,s:[i]}", "error", "server_error",
		    "error_description",
		    "AADSTS90033: A transient error has occurred. Please try "
		    "again.",
		    "error_codes", 90033);
	if (hop == HOP_DISCOVERY)
		return json_pack("{s:{s:s,s:s}}", "error", "code",
		    "InternalServerError", "message",
		    "An internal server error occurred.");
	return json_pack("{s:{s:s,s:s}}", "error", "code", "InternalError",
	    "message",
	    "{\r\n  \"_version\": 3,\r\n  \"Message\": \"An error has "
	    "occurred - Operation ID (for customer support): "
	    "00000000-0000-0000-0000-000000000000\",\r\n  "
	    "\"CustomApiErrorPhrase\": \"\",\r\n  \"RetryAfter\": null,\r\n  "
	    "\"ErrorSourceService\": \"\",\r\n  \"HttpHeaders\": \"{}\"\r\n}");
}

/* An auth failure (401/403) in the hop's shape. */
static json_t *
body_auth(enum isim_hop hop, int forbidden)
{
	if (hop == HOP_TOKEN_GRAPH || hop == HOP_TOKEN_INTUNE)
		return json_pack("{s:s,s:s,s:[i]}", "error", "invalid_client",
		    "error_description",
		    "AADSTS7000215: Invalid client secret provided.",
		    "error_codes", 7000215);
	if (hop == HOP_DISCOVERY)
		return json_pack("{s:{s:s,s:s}}", "error", "code",
		    forbidden ? "Authorization_RequestDenied" :
				"InvalidAuthenticationToken",
		    "message",
		    forbidden ? "Insufficient privileges to complete the "
				"operation." :
				"Access token validation failure.");
	return json_pack("{s:{s:s,s:s}}", "error", "code",
	    forbidden ? "Forbidden" : "Unauthorized", "message",
	    forbidden ? "Forbidden" : "Unauthorized");
}

void
isim_fault_answer(struct isim *s, const struct isim_fault *f, enum isim_hop hop,
    struct isim_resp *out)
{
	static const char html[] = "<!DOCTYPE html><html><head><title>Service "
				   "Unavailable</title></head><body><h1>The "
				   "service is unavailable.</h1></body></html>";
	const char *m = f->mode;

	(void)s;
	if (strcmp(m, "reset") == 0 || strcmp(m, "hang") == 0) {
		out->close = 1;
	} else if (strcmp(m, "500") == 0) {
		isim_json_resp(out, 500, body_500(hop));
	} else if (strcmp(m, "503") == 0) {
		isim_json_resp(out, 503,
		    json_pack("{s:{s:s,s:s}}", "error", "code",
			"ServiceUnavailable", "message",
			"The service is temporarily unavailable."));
	} else if (strcmp(m, "401") == 0 || strcmp(m, "403") == 0) {
		isim_json_resp(out, m[2] == '1' ? 401 : 403,
		    body_auth(hop, m[2] == '3'));
	} else if (strcmp(m, "404") == 0) {
		isim_json_resp(out, 404,
		    json_pack("{s:{s:s,s:s}}", "error", "code", "NotFound",
			"message",
			"No HTTP resource was found that matches the request "
			"URI."));
	} else if (strcmp(m, "html") == 0) {
		out->status = 200;
		out->ctype = "text/html; charset=utf-8";
		out->body = strdup(html);
	} else if (strcmp(m, "code") == 0) {
		isim_json_resp(out, 200,
		    json_pack("{s:s,s:s}", "code", f->code, "errorDescription",
			"An error the client does not know."));
	} else {
		/* no-description: Success without errorDescription. */
		isim_json_resp(out, 200, json_pack("{s:s}", "code", "Success"));
	}
}

/* Forgets every request, transaction, fault and the clock offset. */
void
isim_reset(struct isim *s)
{
	char path[PATH_MAX + 16], err[PATH_MAX + 64];
	struct isim_conf c;

	json_array_clear(s->log);
	json_array_clear(s->violations);
	json_object_clear(s->txns);
	json_object_clear(s->jtis);
	json_array_clear(s->revocations);
	memset(s->hop_count, 0, sizeof(s->hop_count));
	memset(s->token_count, 0, sizeof(s->token_count));
	s->nfaults = 0;
	s->fired = 0;
	s->clock_offset = 0;
	s->generation++;
	snprintf(path, sizeof(path), "%s/sim.conf", s->dir);
	isim_conf_defaults(&c);
	if (isim_conf_load(&c, path, err, sizeof(err)) == 0) {
		s->conf = c;
		isim_client_cert_load(s, err, sizeof(err));
	}
}

/* The state: counts per hop and scope, faults, config (no secret). */
static json_t *
state(struct isim *s)
{
	json_t *o = json_object(), *h = json_object(), *f = json_array(),
	       *c = json_object(), *t = json_object(), *v, *x;
	const char *k;
	size_t i;

	for (i = 0; i < HOP__MAX; i++)
		json_object_set_new(h, isim_hop_name((enum isim_hop)i),
		    json_integer(s->hop_count[i]));
	for (i = 0; i < s->nfaults; i++)
		json_array_append_new(f,
		    json_pack("{s:s,s:s,s:i,s:i}", "hop",
			s->faults[i].hop == HOP__MAX ?
			    "all" :
			    isim_hop_name(s->faults[i].hop),
			"mode", s->faults[i].mode, "count",
			(int)s->faults[i].count, "ms", (int)s->faults[i].ms));
	json_object_foreach(s->txns, k, v)
	{
		x = json_deep_copy(v);
		json_object_del(x, "csr");
		json_object_set_new(t, k, x);
	}
	isim_conf_json(&s->conf, c);
	json_object_set_new(o, "requests", h);
	json_object_set_new(o, "tokens",
	    json_pack("{s:i,s:i}", "graph", (int)s->token_count[0], "intune",
		(int)s->token_count[1]));
	json_object_set_new(o, "transactions", t);
	json_object_set_new(o, "violations",
	    json_integer((json_int_t)json_array_size(s->violations)));
	json_object_set_new(o, "revocations",
	    json_integer((json_int_t)json_array_size(s->revocations)));
	json_object_set_new(o, "seq", json_integer((json_int_t)s->seq));
	json_object_set_new(o, "clock_offset", json_integer(s->clock_offset));
	json_object_set_new(o, "faults", f);
	json_object_set_new(o, "fired", json_integer(s->fired));
	json_object_set_new(o, "config", c);
	return o;
}

/* POST /_sim/config {"key":"value"...}: all or nothing. */
static int
config(struct isim *s, json_t *j, char *err, size_t errlen)
{
	struct isim_conf c = s->conf, old = s->conf;
	const char *k;
	char num[32];
	json_t *v;

	json_object_foreach(j, k, v)
	{
		const char *val = json_string_value(v);

		if (json_is_integer(v)) {
			snprintf(num, sizeof(num), "%lld",
			    (long long)json_integer_value(v));
			val = num;
		} else if (json_is_boolean(v)) {
			val = json_is_true(v) ? "yes" : "no";
		}
		if (val == NULL || isim_conf_set(&c, k, val) == -1) {
			snprintf(err, errlen, "bad key or value: %s", k);
			return -1;
		}
	}
	s->conf = c;
	if (strcmp(c.client_cert, old.client_cert) != 0 &&
	    isim_client_cert_load(s, err, errlen) == -1) {
		s->conf = old;
		isim_client_cert_load(s, err, errlen);
		return -1;
	}
	return 0;
}

/* One admin request under the lock; the answer's JSON or NULL + err. */
static json_t *
admin(struct isim *s, struct isim_req *rq, json_t *j, char *err, size_t errlen)
{
	const char *p = rq->url + 6, *since;
	struct isim_fault f;
	json_t *v, *e;
	char *ch;
	size_t i;

	if (strcmp(p, "log") == 0) {
		since = MHD_lookup_connection_value(rq->conn,
		    MHD_GET_ARGUMENT_KIND, "since");
		v = json_array();
		json_array_foreach(s->log, i, e) if (since == NULL ||
		    json_integer_value(json_object_get(e, "seq")) >
			strtoll(since, NULL, 10)) json_array_append(v, e);
		return json_pack("{s:o}", "entries", v);
	}
	if (strcmp(p, "violations") == 0)
		return json_pack("{s:O}", "violations", s->violations);
	if (strcmp(p, "state") == 0)
		return state(s);
	if (strcmp(p, "revocations") == 0)
		return isim_revoke_admin(s, rq, j, err, errlen);
	if (strcmp(rq->method, "POST") != 0) {
		snprintf(err, errlen, "use POST");
		return NULL;
	}
	if (strcmp(p, "reset") == 0) {
		isim_reset(s);
		return json_pack("{s:b}", "ok", 1);
	}
	if (!json_is_object(j)) {
		snprintf(err, errlen, "the body must be a JSON object");
		return NULL;
	}
	if (strcmp(p, "challenge") == 0) {
		if ((ch = isim_challenge_issue(s, j, err, errlen)) == NULL)
			return NULL;
		v = json_pack("{s:s,s:I}", "challenge", ch, "length",
		    (json_int_t)strlen(ch));
		free(ch);
		return v;
	}
	if (strcmp(p, "fault") == 0) {
		v = json_object_get(j, "mode");
		if ((json_is_string(v) &&
			strcmp(json_string_value(v), "clear") == 0) ||
		    json_is_true(json_object_get(j, "clear"))) {
			s->nfaults = 0;
			return json_pack("{s:b}", "ok", 1);
		}
		if (fault_parse(j, &f, err, errlen) == -1)
			return NULL;
		if (s->nfaults == ISIM_MAX_FAULTS) {
			snprintf(err, errlen, "too many faults");
			return NULL;
		}
		s->faults[s->nfaults++] = f;
		return json_pack("{s:b}", "ok", 1);
	}
	if (strcmp(p, "clock") == 0) {
		if (json_is_integer(v = json_object_get(j, "offset")))
			s->clock_offset = (long)json_integer_value(v);
		else if (json_is_integer(v = json_object_get(j, "advance")))
			s->clock_offset += (long)json_integer_value(v);
		else {
			snprintf(err, errlen, "expected offset or advance");
			return NULL;
		}
		return json_pack("{s:i}", "offset", (int)s->clock_offset);
	}
	if (strcmp(p, "config") == 0)
		return config(s, j, err, errlen) == -1 ?
		    NULL :
		    json_pack("{s:b}", "ok", 1);
	snprintf(err, errlen, "no such admin endpoint");
	return NULL;
}

void
isim_admin(struct isim *s, struct isim_req *rq, struct isim_resp *out)
{
	json_t *j = rq->len > 0 ? json_loadb(rq->body, rq->len, 0, NULL) :
				  json_object();
	json_t *res;
	char err[256] = "bad request";

	pthread_mutex_lock(&s->mu);
	res = admin(s, rq, j, err, sizeof(err));
	pthread_mutex_unlock(&s->mu);
	json_decref(j);
	if (res != NULL)
		isim_json_resp(out, 200, res);
	else
		isim_json_resp(out, 400, json_pack("{s:s}", "error", err));
}
