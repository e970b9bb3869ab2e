/*
 * `scepgw mobileconfig` (README "Apple configuration profiles"): prints an
 * Apple configuration profile for a profile of this gateway, made by the
 * generator of server/enroll/mobileconfig.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "mobileconfig.h"

#define EXIT_USAGE 2

struct mc_opts {
	const char *profile;   /* [profile NAME] */
	const char *challenge; /* or NULL */
	bool dynamic;
	const char *name; /* SCEP "Name" and the display name */
	const char *url;  /* or NULL: from [server] listen */
	const char *cn;	  /* Subject CN when the template is not literal */
};

static void
mc_usage(void)
{
	fprintf(stderr,
	    "usage: scepgw mobileconfig [--profile NAME] "
	    "(--challenge C | --dynamic)\n"
	    "                           [--name N] [--url URL] [--cn CN]\n");
}

/* Parses the options; 0, or -1 after printing the usage. */
static int
mc_opts_parse(int argc, char **argv, struct mc_opts *o)
{
	static const struct option lo[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "challenge", required_argument, NULL, 'C' },
		{ "dynamic", no_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },
		{ "url", required_argument, NULL, 'u' },
		{ "cn", required_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->profile = "default";
	o->name = "scepgw";
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'p':
			o->profile = optarg;
			break;
		case 'C':
			o->challenge = optarg;
			break;
		case 'd':
			o->dynamic = true;
			break;
		case 'n':
			o->name = optarg;
			break;
		case 'u':
			o->url = optarg;
			break;
		case 'N':
			o->cn = optarg;
			break;
		default:
			mc_usage();
			return -1;
		}
	}
	if (optind != argc || (o->challenge == NULL) == !o->dynamic) {
		mc_usage();
		fprintf(stderr,
		    "scepgw: give exactly one of --challenge C "
		    "or --dynamic\n");
		return -1;
	}
	return 0;
}

/* The SCEP URL: --url, else http://[server] listen/scep[/NAME]. */
static void
mc_url(const struct gw_config *cfg, const struct mc_opts *o, char *out,
    size_t n)
{
	if (o->url != NULL) {
		snprintf(out, n, "%s", o->url);
		return;
	}
	mobileconfig_default_url(cfg, o->profile, out, n);
	fprintf(stderr,
	    "scepgw: note: URL %s is [server] listen; give --url with the "
	    "address devices reach\n",
	    out);
}

/* `scepgw mobileconfig`: the profile on stdout. */
int
cli_mobileconfig(const char *conf, int argc, char **argv)
{
	const struct gw_profile *p;
	struct gw_config *cfg = NULL;
	STACK_OF(X509) *chain = NULL;
	struct mc_params mp;
	struct mc_opts o;
	char url[512];
	int rc = 1;

	if (mc_opts_parse(argc, argv, &o) == -1)
		return EXIT_USAGE;
	if (config_load(&cfg, conf, stderr) == -1)
		goto out;
	if ((p = config_profile_find(cfg, o.profile)) == NULL) {
		fprintf(stderr, "scepgw: no [profile %s] in %s\n", o.profile,
		    conf);
		goto out;
	}
	if ((chain = mobileconfig_chain_load(cfg->ca_chain)) == NULL) {
		fprintf(stderr, "scepgw: %s: no readable certificate\n",
		    cfg->ca_chain);
		goto out;
	}
	mc_url(cfg, &o, url, sizeof(url));
	if (o.dynamic)
		fprintf(stderr,
		    "scepgw: note: Challenge is the placeholder %s: set your "
		    "MDM to replace it with a challenge it fetches\n",
		    MC_DYNAMIC_PLACEHOLDER);
	mp.challenge = o.dynamic ? NULL : o.challenge;
	mp.name = o.name;
	mp.cn = o.cn;
	if (mobileconfig_write(stdout, p, &mp, url, chain) != 0 ||
	    fflush(stdout) != 0) {
		fprintf(stderr, "scepgw: cannot write the profile\n");
		goto out;
	}
	rc = 0;
out:
	mobileconfig_chain_free(chain);
	config_free(cfg);
	return rc;
}
