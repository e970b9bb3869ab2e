/*
 * intune-sim's configuration: defaults, DIR/sim.conf (key = value lines)
 * and the same keys set at run time through POST /_sim/config
 * (tests/tools/intune-sim/README.md "sim.conf").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "isim.h"

/* Copies val into a fixed field; -1 when it does not fit. */
static int
set_str(char *dst, size_t size, const char *val)
{
	size_t n = strlen(val);

	if (n >= size)
		return -1;
	memcpy(dst, val, n + 1);
	return 0;
}

/* yes/no; -1 for anything else. */
static int
set_bool(int *dst, const char *val)
{
	if (strcasecmp(val, "yes") == 0 || strcmp(val, "1") == 0 ||
	    strcasecmp(val, "true") == 0 || strcasecmp(val, "accept") == 0)
		*dst = 1;
	else if (strcasecmp(val, "no") == 0 || strcmp(val, "0") == 0 ||
	    strcasecmp(val, "false") == 0 || strcasecmp(val, "reject") == 0)
		*dst = 0;
	else
		return -1;
	return 0;
}

/* A number in [lo, hi]. */
static int
set_long(long *dst, const char *val, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(val, &end, 10);
	if (errno != 0 || end == val || *end != '\0' || v < lo || v > hi)
		return -1;
	*dst = v;
	return 0;
}

void
isim_conf_defaults(struct isim_conf *c)
{
	memset(c, 0, sizeof(*c));
	set_str(c->tenant, sizeof(c->tenant),
	    "7f3c2a10-5b6e-4d8f-9a1b-2c3d4e5f6a7b");
	set_str(c->tenant_domain, sizeof(c->tenant_domain),
	    "contoso.onmicrosoft.com");
	set_str(c->client_id, sizeof(c->client_id),
	    "3b9e1f2a-7c4d-4e5f-8a6b-9c0d1e2f3a4b");
	set_str(c->client_secret, sizeof(c->client_secret),
	    "intune-sim-client-secret");
	c->consent_graph = 1;
	c->consent_intune = 1;
	c->token_lifetime = 3599;
	set_str(c->service_path, sizeof(c->service_path),
	    "/TrafficGateway/TrafficRoutingService/RACerts/"
	    "StatelessScepRequestValidationService");
	c->challenge_lifetime = 3600;
	c->profile_targeted = 1;
	set_str(c->graph_resource, sizeof(c->graph_resource),
	    "https://graph.microsoft.com/");
	set_str(c->intune_resource, sizeof(c->intune_resource),
	    "https://api.manage.microsoft.com/");
}

/* "graph=yes, intune=no": the consent per API. */
static int
set_consent(struct isim_conf *c, const char *val)
{
	char copy[128], *item, *save, *eq;
	int bad = 0;

	if (strlen(val) >= sizeof(copy))
		return -1;
	memcpy(copy, val, strlen(val) + 1);
	for (item = strtok_r(copy, ", ", &save); item != NULL && !bad;
	     item = strtok_r(NULL, ", ", &save)) {
		if ((eq = strchr(item, '=')) == NULL)
			return -1;
		*eq = '\0';
		if (strcmp(item, "graph") == 0)
			bad = set_bool(&c->consent_graph, eq + 1);
		else if (strcmp(item, "intune") == 0)
			bad = set_bool(&c->consent_intune, eq + 1);
		else
			bad = -1;
	}
	return bad;
}

/* Sets one key; 0, or -1 for an unknown key or a bad value. */
int
isim_conf_set(struct isim_conf *c, const char *key, const char *val)
{
	if (strcmp(key, "consent") == 0)
		return set_consent(c, val);
	if (strcmp(key, "tenant") == 0)
		return set_str(c->tenant, sizeof(c->tenant), val);
	if (strcmp(key, "tenant_domain") == 0)
		return set_str(c->tenant_domain, sizeof(c->tenant_domain), val);
	if (strcmp(key, "client_id") == 0)
		return set_str(c->client_id, sizeof(c->client_id), val);
	if (strcmp(key, "client_secret") == 0)
		return set_str(c->client_secret, sizeof(c->client_secret), val);
	if (strcmp(key, "client_cert") == 0)
		return set_str(c->client_cert, sizeof(c->client_cert), val);
	if (strcmp(key, "secret_expired") == 0)
		return set_bool(&c->secret_expired, val);
	if (strcmp(key, "consent_graph") == 0 || strcmp(key, "graph") == 0)
		return set_bool(&c->consent_graph, val);
	if (strcmp(key, "consent_intune") == 0 || strcmp(key, "intune") == 0)
		return set_bool(&c->consent_intune, val);
	if (strcmp(key, "token_lifetime") == 0)
		return set_long(&c->token_lifetime, val, 1, 86400);
	if (strcmp(key, "single_slash_scope") == 0)
		return set_bool(&c->single_slash, val);
	if (strcmp(key, "omit_scep") == 0)
		return set_bool(&c->omit_scep, val);
	if (strcmp(key, "odd_case") == 0)
		return set_bool(&c->odd_case, val);
	if (strcmp(key, "trailing_slash") == 0)
		return set_bool(&c->trailing_slash, val);
	if (strcmp(key, "service_path") == 0)
		return val[0] != '/' || val[strlen(val) - 1] == '/' ?
		    -1 :
		    set_str(c->service_path, sizeof(c->service_path), val);
	if (strcmp(key, "accept_api_version_5019") == 0)
		return set_bool(&c->accept_alt_version, val);
	if (strcmp(key, "challenge_lifetime") == 0)
		return set_long(&c->challenge_lifetime, val, 1, 864000);
	if (strcmp(key, "profile_targeted") == 0)
		return set_bool(&c->profile_targeted, val);
	if (strcmp(key, "strict_notifications") == 0)
		return set_bool(&c->strict_notifications, val);
	if (strcmp(key, "graph_resource") == 0)
		return set_str(c->graph_resource, sizeof(c->graph_resource),
		    val);
	if (strcmp(key, "intune_resource") == 0)
		return set_str(c->intune_resource, sizeof(c->intune_resource),
		    val);
	return -1;
}

/* Strips blanks at both ends, in place. */
static char *
trim(char *p)
{
	char *e;

	while (*p == ' ' || *p == '\t')
		p++;
	e = p + strlen(p);
	while (e > p &&
	    (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return p;
}

/* Reads sim.conf when it exists. */
int
isim_conf_load(struct isim_conf *c, const char *path, char *err, size_t errlen)
{
	char line[1024], *k, *v, *eq;
	unsigned lineno = 0;
	int bad = 0;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (!bad && fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		k = trim(line);
		if (*k == '\0' || *k == '#' || *k == ';' || *k == '[')
			continue;
		if ((eq = strchr(k, '=')) == NULL) {
			bad = 1;
			break;
		}
		*eq = '\0';
		k = trim(k);
		v = trim(eq + 1);
		bad = isim_conf_set(c, k, v) == -1;
	}
	fclose(f);
	if (bad) {
		snprintf(err, errlen, "sim.conf:%u: bad line", lineno);
		return -1;
	}
	return 0;
}

/* The configuration as JSON (GET /_sim/state), without the secret. */
void
isim_conf_json(const struct isim_conf *c, json_t *o)
{
	json_object_set_new(o, "tenant", json_string(c->tenant));
	json_object_set_new(o, "tenant_domain", json_string(c->tenant_domain));
	json_object_set_new(o, "client_id", json_string(c->client_id));
	json_object_set_new(o, "client_cert", json_string(c->client_cert));
	json_object_set_new(o, "secret_expired",
	    json_boolean(c->secret_expired));
	json_object_set_new(o, "consent_graph", json_boolean(c->consent_graph));
	json_object_set_new(o, "consent_intune",
	    json_boolean(c->consent_intune));
	json_object_set_new(o, "token_lifetime",
	    json_integer(c->token_lifetime));
	json_object_set_new(o, "single_slash_scope",
	    json_string(c->single_slash ? "accept" : "reject"));
	json_object_set_new(o, "omit_scep", json_boolean(c->omit_scep));
	json_object_set_new(o, "odd_case", json_boolean(c->odd_case));
	json_object_set_new(o, "trailing_slash",
	    json_boolean(c->trailing_slash));
	json_object_set_new(o, "service_path", json_string(c->service_path));
	json_object_set_new(o, "accept_api_version_5019",
	    json_boolean(c->accept_alt_version));
	json_object_set_new(o, "challenge_lifetime",
	    json_integer(c->challenge_lifetime));
	json_object_set_new(o, "profile_targeted",
	    json_boolean(c->profile_targeted));
	json_object_set_new(o, "strict_notifications",
	    json_boolean(c->strict_notifications));
	json_object_set_new(o, "graph_resource",
	    json_string(c->graph_resource));
	json_object_set_new(o, "intune_resource",
	    json_string(c->intune_resource));
}
