/*
 * `scepgw check` verifies an instance, one line per item: the config, the
 * secret files, the RA, the database, then a live GetProfiles call that
 * proves the EPKI credentials, the API IP allow-list and the profile's
 * state and closing date, then Microsoft Intune when [intune] is set
 * (check_intune.c), then the licence pools (README "Licences") and the
 * gateways serving the database (nodes.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "cli.h"
#include "config.h"
#include "db.h"
#include "enroll.h"
#include "epki.h"
#include "gw.h"
#include "gw_err.h"
#include "log.h"
#include "pubkey.h"
#include "scep.h"
#include "secure.h"

#define EXIT_USAGE 2

#define EXIT_USAGE 2
/* Days before the EPKI profile closes that `check` warns (README). */
#define PROFILE_WARN_DAYS 30

/* Prints one check line; returns 0 for OK, 1 for a failure. */
static int
check_line(bool ok, const char *what, const char *detail)
{
	printf("%-8s %s%s%s\n", ok ? "OK" : "FAIL", what,
	    detail[0] != '\0' ? ": " : "", detail);
	return ok ? 0 : 1;
}

/* Checks the RA: loads, matches its key, and is not about to expire. */
static int
check_ra(const struct gw_config *cfg)
{
	struct scep_ra *ra = NULL;
	struct gw_err err;
	char detail[256];
	int days = 0, secs = 0, bad;

	/* Run by root, check reads secret files of any owner, the service
	 * user's included (README "Commands"); serve holds them to its
	 * owner rule itself. */
	gw_err_clear(&err);
	bad = gw_file_check_private_preroot(cfg->ra_key, &err) == -1;
	bad |= check_line(!bad, "RA key permissions", err.msg);
	if (scep_init(cfg->allow_des, &err) == -1 ||
	    scep_ra_load_preroot(&ra, cfg->ra_cert, cfg->ra_key, cfg->ca_chain,
		&err) == -1)
		return bad |
		    check_line(false, "RA certificate and CA chain", err.msg);
	ASN1_TIME_diff(&days, &secs, NULL,
	    X509_get0_notAfter(scep_ra_get0_cert(ra)));
	snprintf(detail, sizeof(detail), "expires in %d days%s", days,
	    days < 30 ? " (renew it soon: scepgw init --force)" : "");
	bad |= check_line(days > 0, "RA certificate", detail);
	scep_ra_free(ra);
	return bad;
}

/* The first error of r whose code is one of codes (0-terminated). */
static const struct epki_error *
resp_error_find(const struct epki_resp *r, const int *codes)
{
	size_t i, k;

	for (i = 0; i < r->nerrors; i++)
		for (k = 0; codes[k] != 0; k++)
			if (r->errors[i].code == codes[k])
				return &r->errors[i];
	return NULL;
}

/* Prints a line that does not count as a failure. */
static void
check_note(const char *tag, const char *what, const char *detail)
{
	printf("%-8s %s: %s\n", tag, what, detail);
}

/*
 * The hint for an HTTP 404: GlobalSign's service is documented under two
 * paths (README, "Set up an instance"), so name the one url does not use.
 */
static void
epki_path_hint(const char *url, char *out, size_t n)
{
	static const char alt[] = "/services/cr/ws/GasOrderService";
	const char *path = alt + strlen("/services");
	size_t ul = strlen(url), al = strlen(alt), pl = strlen(path);

	if (ul >= al && strcmp(url + ul - al, alt) == 0)
		snprintf(out, n, "try %.*s%s", (int)(ul - al), url, path);
	else if (ul >= pl && strcmp(url + ul - pl, path) == 0)
		snprintf(out, n, "try %.*s%s", (int)(ul - pl), url, alt);
	else
		snprintf(out, n, "the service's path is %s or %s", path, alt);
}

/* The connection line: did the URL give a SOAP answer at all? */
static int
check_epki_transport(const struct gw_config *cfg, const struct epki_resp *r,
    const char *msg)
{
	char detail[640], hint[320];

	if (r->cls != EPKI_TRANSPORT) {
		snprintf(detail, sizeof(detail), "%s answered GetProfiles",
		    cfg->epki_url);
		return check_line(true, "EPKI connection", detail);
	}
	if (r->http_status == 404) {
		epki_path_hint(cfg->epki_url, hint, sizeof(hint));
		snprintf(detail, sizeof(detail),
		    "%s answered HTTP 404 (no such path): fix the path of "
		    "[epki] url: %s",
		    cfg->epki_url, hint);
	} else {
		snprintf(detail, sizeof(detail),
		    "no usable answer from %s: %s (check [epki] url, DNS, "
		    "firewall or proxy, and TLS: the server's certificate "
		    "must verify%s)",
		    cfg->epki_url, r->fault[0] != '\0' ? r->fault : msg,
		    cfg->epki_ca_file != NULL ? " against [epki] ca_file" : "");
	}
	check_line(false, "EPKI connection", detail);
	check_note("SKIP", "EPKI credentials, IP allow-list, profile",
	    "not checked until the connection works");
	return 1;
}

/* The credentials and IP allow-list lines; 1 when either failed. */
static int
check_epki_auth(const struct gw_config *cfg, const struct epki_resp *r)
{
	static const int login[] = { -4001, -9200, -9939, 0 };
	static const int ip[] = { -4201, 0 };
	const struct epki_error *e;
	char detail[256];

	if ((e = resp_error_find(r, login)) != NULL) {
		check_line(false, "EPKI credentials",
		    config_epki_advice(e->code));
		check_note("SKIP", "EPKI IP allow-list, profile",
		    "not checked until the login works");
		return 1;
	}
	snprintf(detail, sizeof(detail), "API user %s accepted",
	    cfg->epki_username);
	check_line(true, "EPKI credentials", detail);
	if ((e = resp_error_find(r, ip)) != NULL) {
		check_line(false, "EPKI API IP allow-list",
		    config_epki_advice(e->code));
		check_note("SKIP", "EPKI profile",
		    "not checked until the IP address is allowed");
		return 1;
	}
	return check_line(true, "EPKI API IP allow-list",
	    "this server's address may call the API");
}

/* What to do about a profile that exists but cannot be used. */
static const char *
profile_advice(enum epki_profile_state s)
{
	switch (s) {
	case EPKI_PROFILE_VALID:
		return "orders can use it";
	case EPKI_PROFILE_PENDING:
		return "GlobalSign has not finished vetting it; orders fail "
		       "until GCC > Enterprise PKI > Search Profiles shows "
		       "the Profile Order Status as Validated: complete the "
		       "vetting with GlobalSign, or set [epki] profile_id to "
		       "a validated profile";
	case EPKI_PROFILE_SUSPENDED:
		return "the profile is suspended, so orders are refused: ask "
		       "GlobalSign support to reinstate it, or set [epki] "
		       "profile_id to a validated profile";
	case EPKI_PROFILE_CANCELLED:
		return "the profile is cancelled: create and have GlobalSign "
		       "vet a new profile in GCC, then set [epki] profile_id";
	default:
		return "GlobalSign sent a ProfileOrderState this program does "
		       "not know, so orders are not expected to work: check "
		       "that GCC > Enterprise PKI > Search Profiles shows the "
		       "profile Validated";
	}
}

/*
 * The profile's closing date (ProfileInfo/ValidityPeriod/NotAfter): orders
 * fail once it has passed; a warning from PROFILE_WARN_DAYS before.
 * Returns 1 when it has passed.
 */
static int
check_epki_profile_closing(const struct epki_profile *p)
{
	const char *what = "EPKI profile validity";
	char detail[512];
	long day, left;

	if (p->not_after[0] == '\0') {
		check_note("INFO", what,
		    "GetProfiles sent no closing date (ValidityPeriod/NotAfter)");
		return 0;
	}
	if (epki_date_day(p->not_after, &day) == -1) {
		snprintf(detail, sizeof(detail),
		    "closing date \"%s\" not understood; check the Closing "
		    "Profile validity date in GCC > Enterprise PKI > Search "
		    "Profiles",
		    p->not_after);
		check_note("WARN", what, detail);
		return 0;
	}
	left = day - (long)(time(NULL) / 86400);
	if (left < 0) {
		snprintf(detail, sizeof(detail),
		    "profile %s closed on %.10s: orders are refused; ask "
		    "GlobalSign to renew the profile, or set [epki] profile_id "
		    "to a profile that is still valid",
		    p->profile_id, p->not_after);
		return check_line(false, what, detail);
	}
	snprintf(detail, sizeof(detail),
	    "profile %s closes on %.10s, in %ld "
	    "day%s%s",
	    p->profile_id, p->not_after, left, left == 1 ? "" : "s",
	    left <= PROFILE_WARN_DAYS ?
		": orders will be refused from then on; ask GlobalSign to "
		"renew the profile, or prepare another one" :
		"");
	if (left <= PROFILE_WARN_DAYS) {
		check_note("WARN", what, detail);
		return 0;
	}
	return check_line(true, what, detail);
}

/* The profile line: found, and in a state that lets orders through. */
static int
check_epki_profile(const struct gw_config *cfg, const struct epki_resp *r)
{
	const struct epki_profile *p = NULL;
	enum epki_profile_state s;
	char detail[768];
	size_t i;

	if (r->cls != EPKI_OK && r->cls != EPKI_WARNING) {
		snprintf(detail, sizeof(detail),
		    "GetProfiles failed: ErrorCode %d%s%s: %s",
		    r->nerrors > 0 ? r->errors[0].code : 0,
		    r->nerrors > 0 && r->errors[0].field[0] != '\0' ?
			" ErrorField " :
			"",
		    r->nerrors > 0 ? r->errors[0].field : "",
		    r->nerrors > 0 ? r->errors[0].message : r->fault);
		return check_line(false, "EPKI profile", detail);
	}
	for (i = 0; i < r->nprofiles && p == NULL; i++)
		if (strcmp(r->profiles[i].profile_id, cfg->epki_profile_id) ==
		    0)
			p = &r->profiles[i];
	if (p == NULL) {
		snprintf(detail, sizeof(detail),
		    "%s is not a profile of this account: set [epki] "
		    "profile_id to the Profile ID that GCC > Enterprise PKI "
		    "> Search Profiles lists (MP and 12 digits)",
		    cfg->epki_profile_id);
		return check_line(false, "EPKI profile", detail);
	}
	s = epki_profile_state(p);
	snprintf(detail, sizeof(detail),
	    "%s is %s (state %s; O=%s, L=%s, "
	    "ST=%s, C=%s): %s",
	    p->profile_id, epki_profile_state_name(s),
	    p->state_code[0] != '\0' ? p->state_code : "-", p->org, p->locality,
	    p->st, p->country, profile_advice(s));
	/* An unknown state is not usable: GCC must show it Validated. */
	if (check_line(s == EPKI_PROFILE_VALID, "EPKI profile", detail) != 0)
		return 1;
	/* GlobalSign issues a UPN only when the profile enables it. */
	if (strcasecmp(p->upn, "false") == 0)
		check_note("INFO", "EPKI profile UPN",
		    "the profile's UPN attribute is off: GlobalSign puts no "
		    "UPN (smart-card logon) in its certificates, even when a "
		    "challenge or an upn template decides one; ask GlobalSign "
		    "to enable UPN on the profile if devices need it");
	return check_epki_profile_closing(p);
}

/* Licences: GetProfiles says nothing about them; say what an order will. */
static void
check_epki_licences(const struct gw_config *cfg)
{
	char detail[1024];

	snprintf(detail, sizeof(detail),
	    "not reported by GlobalSign's API; only an order checks them. "
	    "Orders need a licence pack for product %s, %d year%s. GlobalSign "
	    "refuses an order with ErrorCode %d ([epki] licence_error_code) "
	    "when there is %s",
	    cfg->epki_product_code, cfg->epki_years,
	    cfg->epki_years == 1 ? "" : "s", cfg->epki_licence_error_code,
	    config_licence_advice());
	check_note("INFO", "EPKI licences", detail);
}

/*
 * README "Licences": per pool whose config sets licences or
 * licences_expire, the gateway's own figures (WARN from 90 % used or
 * within 30 days of the pack's last day), then the last licence error
 * GlobalSign answered, if any. Warnings do not fail the check.
 */
static void
check_licence_pools(const struct gw_config *cfg, struct db *db)
{
	struct enroll_licence_fig f;
	char detail[768], what[96], warn[512], warn2[512], when[32];
	char text[256], *msg = NULL;
	struct gw_err err;
	int64_t at;
	time_t t;
	size_t i, n;

	for (i = 0; i < cfg->npools; i++) {
		if (!enroll_licence_watched(cfg, i))
			continue;
		snprintf(what, sizeof(what), "licence pool %s",
		    cfg->pools[i].name);
		if (enroll_licence_figures(cfg, db, i, &f, &err) != 0) {
			check_note("WARN", what, err.msg);
			continue;
		}
		if (cfg->pools[i].licences > 0)
			n = (size_t)snprintf(detail, sizeof(detail),
			    "%ld licences configured, %ld used (%ld before "
			    "this gateway counted, %ld orders GlobalSign "
			    "accepted since), %ld remaining",
			    cfg->pools[i].licences, f.used,
			    cfg->pools[i].used_before, f.counted, f.remaining);
		else
			n = (size_t)snprintf(detail, sizeof(detail),
			    "licences not set (%ld orders GlobalSign accepted "
			    "counted)",
			    f.counted);
		if (cfg->pools[i].expire[0] != '\0' && n < sizeof(detail))
			snprintf(detail + n, sizeof(detail) - n,
			    "; the pack's last day %s, %ld day%s left",
			    cfg->pools[i].expire, f.days_left,
			    f.days_left == 1 || f.days_left == -1 ? "" : "s");
		enroll_licence_warning(&f, false, warn, sizeof(warn));
		enroll_licence_warning(&f, true, warn2, sizeof(warn2));
		check_note(warn[0] != '\0' || warn2[0] != '\0' ? "WARN" : "OK",
		    what, detail);
		/* The warnings name their pool, as the log's do. */
		if (warn[0] != '\0')
			printf("%-8s %s\n", "WARN", warn);
		if (warn2[0] != '\0')
			printf("%-8s %s\n", "WARN", warn2);
	}
	if (db_licence_last_error(db, cfg->epki_licence_error_code, &at, &msg,
		&err) != 0) {
		check_note("WARN", "EPKI licence error", err.msg);
		return;
	}
	if (at == 0)
		return;
	t = (time_t)at;
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", gmtime(&t));
	/* GlobalSign's text came from the network: no control bytes. */
	log_escape(text, sizeof(text), msg != NULL ? msg : "",
	    msg != NULL ? strlen(msg) : 0);
	snprintf(detail, sizeof(detail),
	    "GlobalSign last refused an order with ErrorCode %d on %s "
	    "(\"%.160s\"): %s",
	    cfg->epki_licence_error_code, when, text, config_licence_advice());
	free(msg);
	/* An old one is history: a note, not a warning. */
	check_note(time(NULL) - at < 30 * 86400 ? "WARN" : "INFO",
	    "EPKI licence error", detail);
}

/* The live GetProfiles call and its lines; returns 1 on any FAIL. */
static int
check_epki(const struct gw_config *cfg)
{
	struct epki_client_opts o;
	struct epki_auth auth;
	struct epki_resp resp;
	struct gw_err err;
	char *pw = NULL;
	int bad;

	gw_err_clear(&err);
	if (gw_secret_read_preroot(cfg->epki_password_file, &pw, &err) == -1) {
		check_note("SKIP", "EPKI GetProfiles",
		    "not called without the password file");
		return 1;
	}
	config_epki_opts(cfg, &o);
	auth.user = cfg->epki_username;
	auth.password = pw;
	(void)epki_profile_list_call(&o, &auth, cfg->epki_profile_id, &resp,
	    &err);
	gw_secret_free(pw);
	if ((bad = check_epki_transport(cfg, &resp, err.msg)) == 0 &&
	    (bad = check_epki_auth(cfg, &resp)) == 0)
		bad = check_epki_profile(cfg, &resp);
	check_epki_licences(cfg);
	epki_resp_cleanup(&resp);
	return bad;
}

/* `scepgw check`: config, files and permissions, database, RA, EPKI. */
int
cli_check(const char *conf, int nargs)
{
	struct gw_config *cfg = NULL;
	struct db *db = NULL;
	struct gw_err err;
	char *pw = NULL, detail[64] = "";
	int bad = 0;

	if (nargs != 0) {
		fprintf(stderr, "usage: scepgw check [-c FILE]\n");
		return EXIT_USAGE;
	}
	if (config_load(&cfg, conf, stderr) == -1) {
		check_line(false, "config", conf);
		return 1;
	}
	check_line(true, "config", conf);
	gw_err_clear(&err);
	bad |= check_line(gw_secret_read_preroot(cfg->epki_password_file, &pw,
			      &err) == 0,
	    "EPKI password file", err.msg);
	gw_secret_free(pw);
	bad |= check_ra(cfg);
	gw_err_clear(&err);
	if (cli_db_open(cfg, &db, &err) == 0)
		snprintf(detail, sizeof(detail), "%s, schema version %d",
		    db_backend_name(db), db_schema_version(db));
	bad |=
	    check_line(db != NULL, "database", db != NULL ? detail : err.msg);
	if (db != NULL)
		bad |= cli_check_server(db);
	bad |= check_epki(cfg);
	bad |= cli_check_intune(cfg);
	if (db != NULL) {
		check_licence_pools(cfg, db);
		cli_check_nodes(db, cfg);
	}
	db_close(db);
	config_free(cfg);
	return bad ? 1 : 0;
}
