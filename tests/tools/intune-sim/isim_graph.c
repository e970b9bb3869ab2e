/*
 * intune-sim's Microsoft Graph service discovery:
 * GET /v1.0/[myorganization/]servicePrincipals/appId={id}/endpoints and
 * /v1.0/servicePrincipals(appId='{id}')/endpoints, answered with a list
 * shaped like the real one, decoys included, whose Intune entries point
 * back at the sim (tests/tools/intune-sim/README.md "Discovery").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isim.h"

/*
 * The claims of a valid, unexpired access token of ours for audience aud;
 * NULL with *why ("missing", "invalid", "expired", "audience").
 */
json_t *
isim_bearer(struct isim *s, struct isim_req *rq, const char *aud,
    const char **why)
{
	const char *auth = isim_header(rq, "Authorization"), *v;
	json_t *c;

	*why = "missing";
	if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0)
		return NULL;
	if ((c = isim_jwt_verify(auth + 7, s->token_key, why)) == NULL) {
		*why = "invalid";
		return NULL;
	}
	json_object_set_new(rq->entry, "token",
	    json_pack("{s:O?,s:O?,s:O?,s:O?}", "aud", json_object_get(c, "aud"),
		"tid", json_object_get(c, "tid"), "appid",
		json_object_get(c, "appid"), "roles",
		json_object_get(c, "roles")));
	v = json_string_value(json_object_get(c, "aud"));
	if (json_integer_value(json_object_get(c, "exp")) <=
	    (json_int_t)isim_now(s)) {
		*why = "expired";
	} else if (v == NULL || strcmp(v, aud) != 0) {
		*why = "audience";
	} else {
		*why = NULL;
		return c;
	}
	json_decref(c);
	return NULL;
}

/* True when the token's roles hold role. */
static int
has_role(json_t *claims, const char *role)
{
	json_t *r;
	size_t i;

	json_array_foreach(json_object_get(claims, "roles"), i,
	    r) if (json_is_string(r) &&
	    strcmp(json_string_value(r), role) == 0) return 1;
	return 0;
}

/* Graph's error shape, with innerError. */
static void
graph_error(struct isim *s, struct isim_req *rq, struct isim_resp *out,
    unsigned status, const char *code, const char *msg)
{
	const char *crid = isim_header(rq, "client-request-id");
	char rid[37], when[40];

	isim_uuid(rid);
	isim_json_resp(out, status,
	    json_pack("{s:{s:s,s:s,s:{s:s,s:s,s:s}}}", "error", "code", code,
		"message", msg, "innerError", "date",
		isim_iso_time(isim_now(s), when, sizeof(when)), "request-id",
		rid, "client-request-id", crid != NULL ? crid : rid));
	json_object_set_new(rq->entry, "result", json_string(code));
}

/* One endpoints entry. */
static json_t *
endpoint(const char *name, const char *uri)
{
	char id[37];

	isim_uuid(id);
	return json_pack("{s:s,s:n,s:s,s:s,s:s,s:s,s:s}", "id", id,
	    "deletedDateTime", "capability", name, "providerId",
	    ISIM_INTUNE_APP_ID, "providerName", name, "uri", uri,
	    "providerResourceId", id);
}

/* Decoys: other services, an *Backup twin, a non-URL ASUName. */
static void
add_decoys(struct isim *s, json_t *v)
{
	static const char *const names[] = { "AADRelayService",
		"ActionsService", "AndroidForWorkService", "CertificateService",
		"DeviceCheckinFEService", "EnrollmentFEService",
		"IntuneAdminService", "RoleAdministration",
		"RoleAdministrationBackup", "SiteProxyFEService",
		"StatelessAppMetadataFEService", "WinPhoneInstallService" };
	char uri[512];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(uri, sizeof(uri),
		    "https://fef.msud01.manage.microsoft.com/%s/Gateway",
		    names[i]);
		json_array_append_new(v, endpoint(names[i], uri));
	}
	json_array_append_new(v, endpoint("ASUName", "AMSUD0101"));
	json_array_append_new(v, endpoint("Region", "OC"));
	json_array_append_new(v,
	    endpoint("LegacyHttpService",
		"http://legacy.msud01.manage.microsoft.com/LegacyHttpService"));
	snprintf(uri, sizeof(uri),
	    "%s/TrafficGateway/TrafficRoutingService/RACerts/"
	    "StatelessScepRequestValidationServiceBackup",
	    s->base);
	json_array_append_new(v,
	    endpoint("ScepRequestValidationFEServiceBackup", uri));
}

/* The list: decoys, PkiConnectorFEService, ScepRequestValidationFEService. */
static json_t *
endpoints(struct isim *s)
{
	json_t *v = json_array();
	char uri[512];

	add_decoys(s, v);
	snprintf(uri, sizeof(uri), "%s%s", s->base, ISIM_PKI_PATH);
	json_array_append_new(v, endpoint("PkiConnectorFEService", uri));
	if (!s->conf.omit_scep) {
		snprintf(uri, sizeof(uri), "%s%s%s", s->base,
		    s->conf.service_path, s->conf.trailing_slash ? "/" : "");
		json_array_append_new(v,
		    endpoint(s->conf.odd_case ?
			    "scepRequestValidationFEservice" :
			    "ScepRequestValidationFEService",
			uri));
	}
	return json_pack("{s:s,s:o}", "@odata.context",
	    "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals("
	    "'appId%3D0000000a-0000-0000-c000-000000000000')/endpoints",
	    "value", v);
}

/* True for the three spellings of the endpoints path. */
static int
discovery_path(const char *url)
{
	static const char *const forms[] = {
		"/v1.0/servicePrincipals/appId=" ISIM_INTUNE_APP_ID
		"/endpoints",
		"/v1.0/myorganization/servicePrincipals/appId=" ISIM_INTUNE_APP_ID
		"/endpoints",
		"/v1.0/servicePrincipals(appId='" ISIM_INTUNE_APP_ID
		"')/endpoints",
	};
	size_t i;

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		if (strcmp(url, forms[i]) == 0)
			return 1;
	return 0;
}

void
isim_discovery(struct isim *s, struct isim_req *rq, struct isim_resp *out)
{
	char aud[256];
	const char *why;
	json_t *c;
	size_t n;

	snprintf(aud, sizeof(aud), "%s", s->conf.graph_resource);
	if ((n = strlen(aud)) > 0 && aud[n - 1] == '/')
		aud[n - 1] = '\0';
	if (strcmp(rq->method, "GET") != 0 || !discovery_path(rq->url)) {
		graph_error(s, rq, out, 400, "Request_BadRequest",
		    "Unsupported segment type or resource.");
		return;
	}
	if ((c = isim_bearer(s, rq, aud, &why)) == NULL) {
		graph_error(s, rq, out, 401, "InvalidAuthenticationToken",
		    strcmp(why, "expired") == 0 ?
			"Lifetime validation failed, the token is expired." :
			strcmp(why, "audience") == 0 ?
			"Access token validation failure. Invalid audience." :
			"Access token is empty or invalid.");
		out->www_auth = "Bearer realm=\"\", error=\"invalid_token\"";
		return;
	}
	if (!has_role(c, "Application.Read.All")) {
		graph_error(s, rq, out, 403, "Authorization_RequestDenied",
		    "Insufficient privileges to complete the operation.");
	} else {
		isim_json_resp(out, 200, endpoints(s));
		json_object_set_new(rq->entry, "result",
		    json_string(
			s->conf.omit_scep ? "no-scep-entry" : "endpoints"));
	}
	json_decref(c);
}
