/*
 * What `scepgw check` proves about [intune] (README "Commands"), with
 * fresh tokens and no cache: the tenant (Entra ID's token endpoint
 * answers for it), the credential (both tokens issued), Graph's
 * Application.Read.All (discovery answers), the discovery (it lists the
 * SCEP validation service) and Intune's scep_challenge_provider (a
 * validateRequest with a CSR that is not one gets Intune's decoding
 * refusal, not a 401 or 403). Each failure names what to do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "gw_err.h"
#include "intune_int.h"
#include "secure.h"

enum { L_TENANT, L_CRED, L_GRAPH, L_DISCO, L_SCEP };

#define APP_PATH "Entra ID > App registrations > (the app)"

/* What to do about an AADSTS code of a token request, or NULL. */
static const char *
aadsts_fix(const char *code, bool cert)
{
	if (strcmp(code, "AADSTS7000215") == 0)
		return "wrong client secret: make a new client secret in " APP_PATH
		       " > Certificates & secrets and write its Value to "
		       "[intune] client_secret_file";
	if (strcmp(code, "AADSTS7000222") == 0)
		return "the client secret has expired: make a new client "
		       "secret in " APP_PATH " > Certificates & secrets and "
		       "write it to [intune] client_secret_file";
	if (strcmp(code, "AADSTS700016") == 0)
		return "no app with this client_id in the tenant: set [intune] "
		       "client_id to the app's Application (client) ID, and "
		       "tenant to the tenant it is registered in";
	if (strcmp(code, "AADSTS700027") == 0 && cert)
		return "the certificate is not the app's: upload [intune] "
		       "client_cert in " APP_PATH " > Certificates & secrets";
	if (strcmp(code, "AADSTS700024") == 0 && cert)
		return "the client assertion is outside its validity: set "
		       "this server's clock right (NTP)";
	if (strcmp(code, "AADSTS500011") == 0 ||
	    strcmp(code, "AADSTS70011") == 0)
		return "Entra ID does not know the scope: check [intune] "
		       "graph_url and intune_resource";
	return NULL;
}

static void
line_set(struct intune_probe_line *l, enum intune_probe_state st,
    const char *detail)
{
	l->state = st;
	snprintf(l->detail, sizeof(l->detail), "%s", detail);
}

/* The tenant and credential lines from the two token requests. */
static bool
probe_tokens(struct intune *in, CURL **easy, int64_t deadline,
    struct intune_probe_line *l, char **graph, char **intune)
{
	struct intune_result r;
	enum intune_scope s;
	char detail[512];
	const char *fix;
	int64_t life;
	char **tok;

	/* A secret file that cannot be read: no request to judge by. */
	if (in->key == NULL) {
		struct gw_err err;
		char *secret = NULL;

		gw_err_clear(&err);
		if (config_intune_secret_read(in->secret_file, &secret, &err) !=
		    0) {
			line_set(&l[L_CRED], INTUNE_PROBE_FAIL, err.msg);
			return false;
		}
		gw_secret_free(secret);
	}
	for (s = INTUNE_SCOPE_GRAPH; s < INTUNE_SCOPE__N; s++) {
		tok = s == INTUNE_SCOPE_GRAPH ? graph : intune;
		memset(&r, 0, sizeof(r));
		if (intune_token_fetch(in, easy, s, deadline, tok, &life, &r) ==
		    STEP_OK)
			continue;
		if (r.http_status == 0 || strcmp(r.code, "AADSTS90002") == 0) {
			snprintf(detail, sizeof(detail), "%s%s",
			    r.http_status == 0 ? "" :
						 "Entra ID knows no tenant "
						 "by this name: set [intune] "
						 "tenant to the GUID or domain "
						 "shown in Entra ID > "
						 "Overview; ",
			    r.description);
			line_set(&l[L_TENANT], INTUNE_PROBE_FAIL, detail);
			return false;
		}
		snprintf(detail, sizeof(detail), "%s", in->token_url);
		line_set(&l[L_TENANT], INTUNE_PROBE_OK, detail);
		fix = aadsts_fix(r.code, in->key != NULL);
		snprintf(detail, sizeof(detail), "%s%s%s (%s)",
		    fix != NULL ? fix : "", fix != NULL ? "; " : "",
		    r.description, r.code[0] != '\0' ? r.code : "no code");
		line_set(&l[L_CRED], INTUNE_PROBE_FAIL, detail);
		return false;
	}
	snprintf(detail, sizeof(detail), "%s", in->token_url);
	line_set(&l[L_TENANT], INTUNE_PROBE_OK, detail);
	snprintf(detail, sizeof(detail),
	    "client_id %s: a token for Microsoft Graph and one for Intune",
	    in->client_id);
	line_set(&l[L_CRED], INTUNE_PROBE_OK, detail);
	return true;
}

/* The Graph permission and discovery lines; *uri on success. */
static bool
probe_disco(struct intune *in, CURL **easy, int64_t deadline, const char *graph,
    struct intune_probe_line *l, char **uri)
{
	struct intune_result r;
	enum intune_step st;
	char detail[512];

	memset(&r, 0, sizeof(r));
	st = intune_disco_fetch(in, easy, graph, deadline, uri, &r);
	if (st != STEP_OK && r.http_status != 200) {
		snprintf(detail, sizeof(detail), "%s%s",
		    r.http_status == 403 ? "" : "Graph did not answer: ",
		    r.description);
		line_set(&l[L_GRAPH], INTUNE_PROBE_FAIL, detail);
		return false;
	}
	line_set(&l[L_GRAPH], INTUNE_PROBE_OK, "Graph discovery answered");
	if (st != STEP_OK) {
		line_set(&l[L_DISCO], INTUNE_PROBE_FAIL, r.description);
		return false;
	}
	snprintf(detail, sizeof(detail), "ScepRequestValidationFEService at %s",
	    *uri);
	line_set(&l[L_DISCO], INTUNE_PROBE_OK, detail);
	return true;
}

/* The Intune permission line: a validateRequest Intune cannot decode. */
static void
probe_scep(struct intune *in, CURL **easy, int64_t deadline, const char *intune,
    const char *uri, struct intune_probe_line *l)
{
	static const uint8_t junk[] = "scepgw check: not a CSR";
	struct intune_result r;
	char txid[64], uuid[37], *body, detail[512];

	intune_uuid(uuid);
	snprintf(txid, sizeof(txid), "scepgw-check-%s", uuid);
	if ((body = intune_body_validate(txid, junk, sizeof(junk) - 1)) ==
	    NULL) {
		line_set(&l[L_SCEP], INTUNE_PROBE_FAIL, "out of memory");
		return;
	}
	memset(&r, 0, sizeof(r));
	(void)intune_scep_post(in, easy, uri, intune, "validateRequest", body,
	    deadline, &r);
	free(body);
	if (r.outcome == INTUNE_REFUSED &&
	    (strcmp(r.code, "CertificateRequestDecodingFailed") == 0 ||
		strcmp(r.code, "ChallengePasswordMissing") == 0)) {
		snprintf(detail, sizeof(detail),
		    "validateRequest answered (%s for a test request)", r.code);
		line_set(&l[L_SCEP], INTUNE_PROBE_OK, detail);
		return;
	}
	if (r.http_status == 401 || r.http_status == 403)
		snprintf(detail, sizeof(detail),
		    "Intune refused the token (HTTP %ld): grant admin consent "
		    "for Intune scep_challenge_provider in " APP_PATH
		    " > API permissions",
		    r.http_status);
	else
		snprintf(detail, sizeof(detail),
		    "validateRequest did not answer as expected: %s%s%s",
		    r.code, r.code[0] != '\0' ? " " : "", r.description);
	line_set(&l[L_SCEP], INTUNE_PROBE_FAIL, detail);
}

/*
 * Runs the checks into lines (see intune.h). Returns 0 when every line is
 * OK, else 1.
 */
int
intune_probe(struct intune *in,
    struct intune_probe_line lines[INTUNE_PROBE_LINES])
{
	static const char *const what[INTUNE_PROBE_LINES] = { "Intune tenant",
		"Intune credential",
		"Intune Graph permission Application.Read.All",
		"Intune service discovery",
		"Intune permission scep_challenge_provider" };
	int64_t deadline = intune_now_ms() + in->timeout_s * 1000;
	char *graph = NULL, *intune = NULL, *uri = NULL;
	CURL *easy = NULL;
	int i, bad = 0;

	for (i = 0; i < INTUNE_PROBE_LINES; i++) {
		lines[i].state = INTUNE_PROBE_SKIP;
		lines[i].what = what[i];
		snprintf(lines[i].detail, sizeof(lines[i].detail),
		    "not checked after the failure above");
	}
	if (in->key != NULL)
		lines[L_CRED].what = "Intune client certificate";
	else
		lines[L_CRED].what = "Intune client secret";
	if (probe_tokens(in, &easy, deadline, lines, &graph, &intune) &&
	    probe_disco(in, &easy, deadline, graph, lines, &uri))
		probe_scep(in, &easy, deadline, intune, uri, lines);
	gw_secret_free(graph);
	gw_secret_free(intune);
	free(uri);
	curl_easy_cleanup(easy);
	for (i = 0; i < INTUNE_PROBE_LINES; i++)
		bad |= lines[i].state != INTUNE_PROBE_OK;
	return bad;
}
