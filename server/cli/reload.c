/*
 * The SIGHUP reload of `scepgw serve` (README "Running under systemd"):
 * re-reads the config file and applies what can change without dropping a
 * connection: the RA ([ra] cert, key, ca_chain, next_*, previous_*), every
 * profile's static challenge file and [log] level. Everything is loaded
 * and checked first; one problem refuses the whole reload and the old
 * state keeps serving. Other keys that changed are named as needing a
 * restart. Requests in flight keep the RA they started with (live.c).
 */
#define _DEFAULT_SOURCE /* open_memstream() */

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cli.h"
#include "config.h"
#include "db_lease.h"
#include "gw.h"
#include "gw_err.h"
#include "http.h"
#include "live.h"
#include "log.h"
#include "scep.h"
#include "secure.h"

/* Logs each line config_load() wrote, after prefix. */
static void
reload_log_lines(const char *text, const char *prefix)
{
	const char *end;

	for (; text != NULL && *text != '\0'; text = end + (*end != '\0')) {
		if ((end = strchr(text, '\n')) == NULL)
			end = text + strlen(text);
		if (end > text)
			log_warnx("%s%.*s", prefix, (int)(end - text), text);
	}
}

/* Loads the config file again; NULL (logged, a line per problem) when it
 * does not load. */
static struct gw_config *
reload_config(const char *path)
{
	struct gw_config *cfg = NULL;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	if ((f = open_memstream(&text, &len)) == NULL) {
		log_warnx("reload refused: out of memory");
		return NULL;
	}
	rc = config_load(&cfg, path, f);
	fclose(f);
	if (rc == -1) {
		reload_log_lines(text, "reload refused: ");
		log_warnx("reload refused: %s does not load", path);
		cfg = NULL;
	} else {
		reload_log_lines(text, "reload: "); /* warnings, if any */
	}
	free(text);
	return cfg;
}

/* Checks one private key file of [ra] (owner, mode 0600, no symbolic
 * link); returns 0, or -1 with the problem logged. */
static int
reload_key_check(const char *path, const char *what)
{
	struct gw_err err;

	if (path == NULL || gw_file_check_private(path, &err) == 0)
		return 0;
	log_warnx("reload refused: %s: %s", what, err.msg);
	return -1;
}

/*
 * Loads the RA the new config names, after checking each of its key files,
 * so that every problem gets its line. Returns the RA, or NULL (logged).
 */
static struct scep_ra *
reload_ra(const struct gw_config *cfg)
{
	struct scep_ra *ra = NULL;
	struct gw_err err;
	int bad = 0;

	bad += reload_key_check(cfg->ra_key, "[ra] key");
	bad += reload_key_check(cfg->ra_next_key, "[ra] next_key");
	bad += reload_key_check(cfg->ra_previous_key, "[ra] previous_key");
	if (bad == 0 && serve_ra_load(cfg, &ra, &err) == -1)
		log_warnx("reload refused: RA: %s", err.msg);
	return ra;
}

/* Logs one key a reload does not apply. */
static void
reload_not_applied(void *arg, const char *section, const char *key)
{
	(void)arg;
	if (key == NULL)
		log_warnx("not reloaded: [%s] added or removed; restart to "
			  "apply",
		    section);
	else
		log_warnx("not reloaded: [%s] %s changed; restart to apply",
		    section, key);
}

/*
 * Installs the static secrets of ncfg's profiles that the running config
 * has too (a profile added by the file needs a restart: it is not served);
 * appends their names to list.
 */
static void
reload_statics(struct gw_ctx *ctx, const struct gw_config *ncfg, char *list,
    size_t n)
{
	const struct gw_config *cfg = ctx->cfg;
	const struct gw_profile *p;
	size_t i, used = strlen(list);

	for (i = 0; i < cfg->nprofiles; i++) {
		p = config_profile_find(ncfg, cfg->profiles[i].name);
		if (p == NULL || !p->has_static || !cfg->profiles[i].has_static)
			continue;
		gw_static_set(ctx, i, p->static_sha256);
		if (used < n)
			used += (size_t)snprintf(list + used, n - used, "%s%s",
			    used > 0 ? ", " : "", p->name);
	}
}

/* The word of a log level, as [log] level writes it. */
static const char *
reload_level_name(int level)
{
	switch (level) {
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_DEBUG:
		return "debug";
	default:
		return "info";
	}
}

/* Describes ra in the reload's line: the serials of its certificates. */
static void
reload_ra_text(const struct gw_config *ncfg, const struct scep_ra *ra,
    char *out, size_t n)
{
	const ASN1_INTEGER *sn = X509_get0_serialNumber(scep_ra_get0_cert(ra));
	BIGNUM *bn = ASN1_INTEGER_to_BN(sn, NULL);
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;

	snprintf(out, n, "RA certificate serial %s, next %s, previous %s",
	    hex != NULL ? hex : "?",
	    ncfg->ra_next_cert != NULL ? "set" : "none",
	    ncfg->ra_previous_cert != NULL ? "set" : "none");
	OPENSSL_free(hex);
	BN_free(bn);
}

/* Records the new RA certificate with this incarnation, for `scepgw
 * check` (README "High availability"). */
static void
reload_lease_mark(struct gw_ctx *ctx, const struct scep_ra *ra)
{
	uint8_t sha[32];
	unsigned len = 0;
	struct gw_err err;

	if (ctx->lease == NULL ||
	    X509_digest(scep_ra_get0_cert(ra), EVP_sha256(), sha, &len) != 1 ||
	    len != sizeof(sha))
		return;
	if (db_lease_set_ra(ctx->lease, sha, &err) == -1)
		log_warnx("reload: cannot record the RA certificate for "
			  "`scepgw check`: %s",
		    err.msg);
}

/*
 * SIGHUP: reloads what can change while serving (above). Returns 0 when
 * reloaded, -1 when refused (each reason logged; nothing changed).
 */
int
serve_reload(struct gw_ctx *ctx)
{
	struct gw_config *ncfg;
	struct scep_ra *ra = NULL;
	struct gw_err err;
	char statics[512] = "", ratext[160];
	int rc = -1;

	log_info("SIGHUP: reloading %s", ctx->cfg->path);
	if ((ncfg = reload_config(ctx->cfg->path)) == NULL)
		goto out;
	if ((ra = reload_ra(ncfg)) == NULL)
		goto out;
	reload_ra_text(ncfg, ra, ratext, sizeof(ratext));
	reload_lease_mark(ctx, ra);
	(void)config_diff(ctx->cfg, ncfg, reload_not_applied, NULL);
	/* From here on nothing can fail but the listener's copies of
	 * GetCACaps and GetCACert, which then keep the old RA's. */
	gw_ra_set0(ctx, ra);
	ra = NULL;
	if (ctx->http != NULL && srv_http_ra_reload(ctx->http, &err) == -1)
		log_warnx("reload: GetCACaps and GetCACert still answer for "
			  "the previous RA: %s",
		    err.msg);
	reload_statics(ctx, ncfg, statics, sizeof(statics));
	log_init(ncfg->log_level);
	log_info("reloaded: %s; static challenges re-read: %s; [log] level %s",
	    ratext, statics[0] != '\0' ? statics : "none",
	    reload_level_name(ncfg->log_level));
	rc = 0;
out:
	if (rc == -1)
		log_warnx("reload refused: still serving the previous RA, "
			  "static challenges and log level");
	scep_ra_free(ra);
	config_free(ncfg);
	return rc;
}
