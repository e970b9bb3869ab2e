/*
 * [profile NAME] sections (README "Profiles"): each names its own EPKI
 * profile, product code, validity, identity templates and challenge mode,
 * and is served at /scep/NAME. What a section leaves out comes from
 * [epki] and the built-in templates, which reproduce the gateway's
 * original behaviour. The profile "default" always exists and serves the
 * plain paths. config.c hands every key of a "profile " section here.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "config.h"
#include "config_int.h"
#include "gw_err.h"
#include "secure.h"
#include "template.h"

#define PROFILE_NAME_MAX 64

enum prof_type {
	PROF_STRING,
	PROF_PATH,
	PROF_TEMPLATE,
	PROF_YEARS,
	PROF_MODE,
	PROF_BOOL,
	PROF_DOMAINS,
	PROF_LICENCES, /* a licence count (licence.c) */
	PROF_DATE      /* YYYY-MM-DD */
};

/* The keys of a [profile NAME] section, one bit each in gw_profile.seen. */
static const struct prof_key {
	const char *name;
	enum prof_type type;
	size_t off; /* offsetof(struct gw_profile, field) */
} prof_keys[] = {
	{ "challenge", PROF_MODE, offsetof(struct gw_profile, challenge) },
	{ "email", PROF_TEMPLATE, offsetof(struct gw_profile, email) },
	{ "email_domains", PROF_DOMAINS,
	    offsetof(struct gw_profile, email_domains) },
	{ "licences", PROF_LICENCES, offsetof(struct gw_profile, licences) },
	{ "licences_expire", PROF_DATE,
	    offsetof(struct gw_profile, licences_expire) },
	{ "licences_used_before", PROF_LICENCES,
	    offsetof(struct gw_profile, licences_used_before) },
	{ "ou", PROF_TEMPLATE, offsetof(struct gw_profile, ou) },
	{ "product_code", PROF_STRING,
	    offsetof(struct gw_profile, product_code) },
	{ "profile_id", PROF_STRING, offsetof(struct gw_profile, profile_id) },
	{ "require_binding", PROF_BOOL,
	    offsetof(struct gw_profile, require_binding) },
	{ "static_challenge_file", PROF_PATH,
	    offsetof(struct gw_profile, static_challenge_file) },
	{ "subject_cn", PROF_TEMPLATE,
	    offsetof(struct gw_profile, subject_cn) },
	{ "upn", PROF_TEMPLATE, offsetof(struct gw_profile, upn) },
	{ "years", PROF_YEARS, offsetof(struct gw_profile, years) },
};

#define PROF_KEYS_N (sizeof(prof_keys) / sizeof(prof_keys[0]))

/*
 * The name of key i of a [profile NAME] section, or NULL past the last:
 * scepgw.conf(5) is checked against this list (tests/unit/test_man_conf.c).
 */
const char *
cfg_profile_key_name(size_t i)
{
	return i < PROF_KEYS_N ? prof_keys[i].name : NULL;
}

static const char *const mode_names[GW_CHAL__MAX] = {
	[GW_CHAL_ONETIME] = "one-time",
	[GW_CHAL_STATIC] = "static",
	[GW_CHAL_BOTH] = "both",
	[GW_CHAL_INTUNE] = "intune",
};

/* The config word of a challenge mode. */
const char *
config_chal_mode_name(enum gw_chal_mode m)
{
	return m < GW_CHAL__MAX ? mode_names[m] : "?";
}

/* True for a name of 1..64 characters from [A-Za-z0-9_-]. */
static bool
profile_name_ok(const char *s)
{
	size_t n = strspn(s,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");

	return n > 0 && n <= PROFILE_NAME_MAX && s[n] == '\0';
}

/* The profile called name, or NULL. */
const struct gw_profile *
config_profile_find(const struct gw_config *c, const char *name)
{
	size_t i;

	for (i = 0; c != NULL && i < c->nprofiles; i++)
		if (strcmp(c->profiles[i].name, name) == 0)
			return &c->profiles[i];
	return NULL;
}

/*
 * True when email's domain is one of p's email_domains, compared without
 * case (or p is NULL or lists none: any domain).
 */
bool
config_profile_email_ok(const struct gw_profile *p, const char *email)
{
	const char *at = strrchr(email, '@');
	size_t i;

	if (p == NULL || p->nemail_domains == 0)
		return true;
	for (i = 0; at != NULL && i < p->nemail_domains; i++)
		if (strcasecmp(at + 1, p->email_domains[i]) == 0)
			return true;
	return false;
}

/*
 * Why profile p takes no one-time challenge from the database (README
 * "Profiles, identity templates, static challenges", "Microsoft Intune"),
 * or NULL when it does (one-time or both, or p is NULL: any profile).
 * The CLI, the admin API and the NDES page refuse to make one for it.
 */
const char *
config_profile_onetime_refusal(const struct gw_profile *p)
{
	if (p == NULL)
		return NULL;
	switch (p->challenge) {
	case GW_CHAL_STATIC:
		return "takes only its static challenge (challenge = static)";
	case GW_CHAL_INTUNE:
		return "takes only Intune's challenges (challenge = intune)";
	default:
		return NULL;
	}
}

/*
 * True when every profile of the comma-separated list is configured and
 * takes one-time challenges, what an NDES page user may hold (README
 * "Security model"); otherwise false with the reason in why ("no
 * [profile X] in PATH"). `scepgw user` and the console's users page.
 */
bool
config_profiles_usable(const struct gw_config *cfg, const char *profiles,
    char *why, size_t n)
{
	const struct gw_profile *p;
	char name[1025];
	size_t k;

	for (;;) {
		k = strcspn(profiles, ",");
		if (k >= sizeof(name)) {
			snprintf(why, n, "profile list too long");
			return false;
		}
		memcpy(name, profiles, k);
		name[k] = '\0';
		if ((p = config_profile_find(cfg, name)) == NULL) {
			snprintf(why, n, "no [profile %s] in %s", name,
			    cfg->path);
			return false;
		}
		if (config_profile_onetime_refusal(p) != NULL) {
			snprintf(why, n, "[profile %s] %s", name,
			    config_profile_onetime_refusal(p));
			return false;
		}
		if (profiles[k] == '\0')
			return true;
		profiles += k + 1;
	}
}

/* The profile called name, added (empty) when new; NULL when out of memory. */
static struct gw_profile *
profile_get(struct gw_config *c, const char *name, int line)
{
	struct gw_profile *p;
	size_t i;

	for (i = 0; i < c->nprofiles; i++)
		if (strcmp(c->profiles[i].name, name) == 0)
			return &c->profiles[i];
	p = realloc(c->profiles, (c->nprofiles + 1) * sizeof(*p));
	if (p == NULL)
		return NULL;
	c->profiles = p;
	p = &c->profiles[c->nprofiles];
	memset(p, 0, sizeof(*p));
	if ((p->name = gw_strdup(name)) == NULL)
		return NULL;
	p->line = line;
	c->nprofiles++;
	return p;
}

/* A path value, relative to the config file's folder; malloc'd or NULL. */
static char *
profile_path(const struct gw_config *c, const char *v)
{
	size_t n;
	char *s;

	if (v[0] == '/' || c->dir == NULL)
		return gw_strdup(v);
	n = strlen(c->dir) + strlen(v) + 2;
	if ((s = malloc(n)) != NULL)
		snprintf(s, n, "%s/%s", c->dir, v);
	return s;
}

/*
 * Parses "example.com, corp.example" into p->email_domains: domain names
 * (tmpl_domain_ok()), compared without case. An empty value leaves the
 * list empty: any domain. Returns 0, or -1 with reason set.
 */
static int
profile_domains_set(struct gw_profile *p, const char *v, char *reason,
    size_t rlen)
{
	char *copy, *tok, *save = NULL, **d;
	size_t n;
	int rc = -1;

	if ((copy = gw_strdup(v)) == NULL) {
		snprintf(reason, rlen, "out of memory");
		return -1;
	}
	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	     tok = strtok_r(NULL, ", \t", &save)) {
		if (!tmpl_domain_ok(tok)) {
			snprintf(reason, rlen,
			    "\"%.64s\" is not a domain name (example.com)",
			    tok);
			goto out;
		}
		n = p->nemail_domains;
		if ((d = realloc(p->email_domains, (n + 1) * sizeof(*d))) ==
		    NULL) {
			snprintf(reason, rlen, "out of memory");
			goto out;
		}
		p->email_domains = d;
		if ((d[n] = gw_strdup(tok)) == NULL) {
			snprintf(reason, rlen, "out of memory");
			goto out;
		}
		p->nemail_domains++;
	}
	rc = 0;
out:
	free(copy);
	return rc;
}

/* Parses one value of key k into p. Returns 0, or -1 with reason set. */
static int
profile_value_set(const struct gw_config *c, struct gw_profile *p,
    const struct prof_key *k, const char *v, char *reason, size_t rlen)
{
	char *field = (char *)p + k->off, *s;
	size_t i;
	long day;

	switch (k->type) {
	case PROF_LICENCES:
		p->own_pool = true;
		return config_licence_count_parse(v,
		    strcmp(k->name, "licences") == 0 ? 1 : 0,
		    (long *)(void *)field, reason, rlen);
	case PROF_DATE:
		p->own_pool = true;
		if (config_date_parse(v, &day) != 0) {
			snprintf(reason, rlen,
			    "bad value \"%.40s\": expected a date YYYY-MM-DD",
			    v);
			return -1;
		}
		if ((*(char **)(void *)field = gw_strdup(v)) == NULL) {
			snprintf(reason, rlen, "out of memory");
			return -1;
		}
		return 0;
	case PROF_DOMAINS:
		return profile_domains_set(p, v, reason, rlen);
	case PROF_TEMPLATE:
		if (tmpl_check(v, reason, rlen) != 0)
			return -1;
		__attribute__((fallthrough));
	case PROF_STRING:
	case PROF_PATH:
		if (*v == '\0' && k->type != PROF_TEMPLATE) {
			snprintf(reason, rlen, "must not be empty");
			return -1;
		}
		s = k->type == PROF_PATH ? profile_path(c, v) : gw_strdup(v);
		if (s == NULL) {
			snprintf(reason, rlen, "out of memory");
			return -1;
		}
		*(char **)(void *)field = s;
		return 0;
	case PROF_YEARS:
		if (strlen(v) != 1 || v[0] < '1' || v[0] > '3') {
			snprintf(reason, rlen, "expected 1, 2 or 3");
			return -1;
		}
		*(int *)(void *)field = v[0] - '0';
		return 0;
	case PROF_MODE:
		for (i = 0; i < GW_CHAL__MAX; i++)
			if (strcasecmp(v, mode_names[i]) == 0) {
				*(enum gw_chal_mode *)(void *)field =
				    (enum gw_chal_mode)i;
				return 0;
			}
		snprintf(reason, rlen,
		    "expected one-time, static, both or intune");
		return -1;
	case PROF_BOOL:
		if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 ||
		    strcasecmp(v, "on") == 0 || strcmp(v, "1") == 0)
			*(bool *)(void *)field = true;
		else if (strcasecmp(v, "no") == 0 ||
		    strcasecmp(v, "false") == 0 || strcasecmp(v, "off") == 0 ||
		    strcmp(v, "0") == 0)
			*(bool *)(void *)field = false;
		else {
			snprintf(reason, rlen, "expected yes or no");
			return -1;
		}
		return 0;
	}
	return -1;
}

/*
 * Sets key = value of [profile name], found on line. Returns 0, or -1
 * with a one-line reason (bad name, unknown or duplicate key, bad value).
 */
int
config_profile_key(struct gw_config *c, const char *name, const char *key,
    const char *value, int line, char *reason, size_t rlen)
{
	struct gw_profile *p;
	size_t i;

	reason[0] = '\0';
	if (!profile_name_ok(name)) {
		snprintf(reason, rlen,
		    "profile name must be 1..64 of A-Z a-z 0-9 _ -");
		return -1;
	}
	for (i = 0; i < PROF_KEYS_N; i++)
		if (strcmp(prof_keys[i].name, key) == 0)
			break;
	if (i == PROF_KEYS_N) {
		snprintf(reason, rlen, "unknown key");
		return -1;
	}
	if ((p = profile_get(c, name, line)) == NULL) {
		snprintf(reason, rlen, "out of memory");
		return -1;
	}
	if ((p->seen & (1u << i)) != 0) {
		snprintf(reason, rlen, "duplicate key");
		return -1;
	}
	p->seen |= 1u << i;
	return profile_value_set(c, p, &prof_keys[i], value, reason, rlen);
}

/* *dst = copy of def when unset. Returns 0 or -1 (out of memory). */
static int
default_str(char **dst, const char *def)
{
	if (*dst != NULL || def == NULL)
		return 0;
	return (*dst = gw_strdup(def)) != NULL ? 0 : -1;
}

/*
 * How many characters a static secret needs to hold 128 bits, judged by
 * its alphabet alone (README "Profiles, identity templates, static
 * challenges"): decimal digits 39, hex digits 32, base64 or base64url 22
 * ('=' padding at the end not counted), anything else 20 (95 printable
 * characters, 6.57 bits each). Sets *len to the counted characters and
 * *alpha to the alphabet's name.
 */
#define HEX_DIGITS "0123456789abcdefABCDEF"
#define B64_CHARS \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_"

static size_t
static_secret_min(const char *s, size_t *len, const char **alpha)
{
	bool digits = true, hex = true, b64 = true;
	size_t n = strlen(s), pad = 0, i;

	while (pad < 2 && pad < n && s[n - 1 - pad] == '=')
		pad++;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < '0' || ch > '9')
			digits = false;
		if (strchr(HEX_DIGITS, ch) == NULL)
			hex = false;
		if (i < n - pad && strchr(B64_CHARS, ch) == NULL)
			b64 = false;
	}
	*len = n;
	if (digits) {
		*alpha = "decimal digits";
		return 39;
	}
	if (hex) {
		*alpha = "hex digits";
		return 32;
	}
	if (b64) {
		*len = n - pad;
		*alpha = "base64 characters";
		return 22;
	}
	*alpha = "characters";
	return 20;
}

/*
 * Reads the static secret and keeps only its SHA-256. A secret too short
 * for 128 bits is refused (README "Security model"). Root reads a file of
 * any owner (README "Commands": root runs the commands on an instance
 * whose secrets belong to the service user); serve checks the file again,
 * with the owner rule, once it runs as the user it serves as.
 */
static int
profile_static_load(struct gw_profile *p, struct gw_err *err)
{
	char *secret = NULL;
	const char *alpha;
	size_t len, min;

	if (gw_secret_read_preroot(p->static_challenge_file, &secret, err) ==
	    -1)
		return -1;
	min = static_secret_min(secret, &len, &alpha);
	if (len < min) {
		gw_secret_free(secret);
		gw_err_set(err, EINVAL,
		    "%s: the secret is %zu %s, under 128 bits; use at least "
		    "%zu %s (e.g. the output of openssl rand -base64 24)",
		    p->static_challenge_file, len, alpha, min, alpha);
		return -1;
	}
	SHA256((const unsigned char *)secret, strlen(secret), p->static_sha256);
	gw_secret_free(secret);
	p->has_static = true;
	return 0;
}

/*
 * challenge = intune (README "Configuration"): Intune writes the challenge
 * and checks it, so [intune] must be configured, and neither a static
 * secret nor identity binding (one-time challenges only) applies.
 */
static int
profile_intune_check(const struct gw_config *c, const struct gw_profile *p,
    FILE *errf)
{
	const char *why = NULL;

	if (config_intune(c) == NULL)
		why = "needs the [intune] section (tenant, client_id, and "
		      "client_secret_file or client_cert + client_key)";
	else if (p->static_challenge_file != NULL)
		why = "takes no static_challenge_file (Intune writes and "
		      "checks the challenge)";
	else if (p->require_binding)
		why = "takes no require_binding (Intune checks the request "
		      "against its challenge)";
	if (why == NULL)
		return 0;
	fprintf(errf, "%s:%d: [profile %s] challenge = intune %s\n", c->path,
	    p->line, p->name, why);
	return -1;
}

/* Fills one profile's defaults and checks it. Returns 0 or -1 (reported). */
static int
profile_finish(struct gw_config *c, struct gw_profile *p, FILE *errf)
{
	struct gw_err err;

	if (default_str(&p->profile_id, c->epki_profile_id) != 0 ||
	    default_str(&p->product_code, c->epki_product_code) != 0 ||
	    default_str(&p->subject_cn, TMPL_DEF_SUBJECT_CN) != 0 ||
	    default_str(&p->email, TMPL_DEF_EMAIL) != 0 ||
	    default_str(&p->ou, TMPL_DEF_OU) != 0 ||
	    default_str(&p->upn,
		p->challenge == GW_CHAL_INTUNE ? TMPL_INTUNE_UPN :
						 TMPL_DEF_UPN) != 0) {
		fprintf(errf, "%s: out of memory\n", c->path);
		return -1;
	}
	if (p->years == 0)
		p->years = c->epki_years;
	if (p->challenge == GW_CHAL_INTUNE)
		return profile_intune_check(c, p, errf);
	if (p->challenge != GW_CHAL_ONETIME &&
	    p->static_challenge_file == NULL) {
		fprintf(errf,
		    "%s:%d: [profile %s] challenge = %s needs "
		    "static_challenge_file\n",
		    c->path, p->line, p->name, mode_names[p->challenge]);
		return -1;
	}
	if (p->challenge != GW_CHAL_ONETIME && p->require_binding) {
		fprintf(errf,
		    "%s:%d: [profile %s] require_binding = yes cannot hold "
		    "for a static challenge (it has no identity)\n",
		    c->path, p->line, p->name);
		return -1;
	}
	if (p->static_challenge_file != NULL &&
	    profile_static_load(p, &err) == -1) {
		fprintf(errf, "%s:%d: [profile %s] static_challenge_file: %s\n",
		    c->path, p->line, p->name, err.msg);
		return -1;
	}
	return 0;
}

/*
 * After parsing: makes sure "default" exists and comes first, fills every
 * profile's unset keys and reads static secrets. Reports each problem to
 * errf; returns the number of problems.
 */
int
config_profiles_finish(struct gw_config *c, FILE *errf)
{
	struct gw_profile tmp;
	size_t i;
	int errors = 0;

	if (profile_get(c, "default", 0) == NULL) {
		fprintf(errf, "%s: out of memory\n", c->path);
		return 1;
	}
	for (i = 1; i < c->nprofiles; i++)
		if (strcmp(c->profiles[i].name, "default") == 0) {
			tmp = c->profiles[0];
			c->profiles[0] = c->profiles[i];
			c->profiles[i] = tmp;
		}
	for (i = 0; i < c->nprofiles; i++)
		if (profile_finish(c, &c->profiles[i], errf) != 0)
			errors++;
	return errors;
}

/* Frees every profile of c. */
void
config_profiles_free(struct gw_config *c)
{
	struct gw_profile *p;
	size_t i, j;

	for (i = 0; i < c->nprofiles; i++) {
		p = &c->profiles[i];
		free(p->name);
		free(p->profile_id);
		free(p->product_code);
		free(p->subject_cn);
		free(p->email);
		free(p->ou);
		free(p->upn);
		for (j = 0; j < p->nemail_domains; j++)
			free(p->email_domains[j]);
		free(p->email_domains);
		free(p->static_challenge_file);
		free(p->licences_expire);
		OPENSSL_cleanse(p->static_sha256, sizeof(p->static_sha256));
	}
	free(c->profiles);
	c->profiles = NULL;
	c->nprofiles = 0;
}

/* True when two profiles' domain lists differ. */
static bool
domains_differ(const struct gw_profile *a, const struct gw_profile *b)
{
	size_t i;

	if (a->nemail_domains != b->nemail_domains)
		return true;
	for (i = 0; i < a->nemail_domains; i++)
		if (strcmp(a->email_domains[i], b->email_domains[i]) != 0)
			return true;
	return false;
}

/* True when key k holds different values in profiles a and b. */
static bool
prof_key_differs(const struct prof_key *k, const struct gw_profile *a,
    const struct gw_profile *b)
{
	const char *fa = (const char *)a + k->off;
	const char *fb = (const char *)b + k->off;

	switch (k->type) {
	case PROF_STRING:
	case PROF_PATH:
	case PROF_TEMPLATE:
	case PROF_DATE:
		return config_str_differ(*(char *const *)(const void *)fa,
		    *(char *const *)(const void *)fb);
	case PROF_YEARS:
		return a->years != b->years;
	case PROF_MODE:
		return a->challenge != b->challenge;
	case PROF_BOOL:
		return *(const bool *)(const void *)fa !=
		    *(const bool *)(const void *)fb;
	case PROF_DOMAINS:
		return domains_differ(a, b);
	case PROF_LICENCES:
		return *(const long *)(const void *)fa !=
		    *(const long *)(const void *)fb;
	default:
		return false;
	}
}

/* Names each key but static_challenge_file (a reload applies it) that
 * differs between a and b, as "profile NAME"; returns how many. */
static size_t
prof_diff_one(const struct gw_profile *a, const struct gw_profile *b,
    config_diff_fn *fn, void *arg)
{
	char sec[8 + PROFILE_NAME_MAX + 1];
	size_t i, n = 0;

	snprintf(sec, sizeof(sec), "profile %s", a->name);
	for (i = 0; i < PROF_KEYS_N; i++) {
		if (strcmp(prof_keys[i].name, "static_challenge_file") == 0 ||
		    !prof_key_differs(&prof_keys[i], a, b))
			continue;
		fn(arg, sec, prof_keys[i].name);
		n++;
	}
	return n;
}

/* Names a profile only one of the two configs has. */
static size_t
prof_diff_lone(const struct gw_config *in, const struct gw_config *other,
    config_diff_fn *fn, void *arg)
{
	char sec[8 + PROFILE_NAME_MAX + 1];
	size_t i, n = 0;

	for (i = 0; i < in->nprofiles; i++) {
		if (config_profile_find(other, in->profiles[i].name) != NULL)
			continue;
		snprintf(sec, sizeof(sec), "profile %s", in->profiles[i].name);
		fn(arg, sec, NULL);
		n++;
	}
	return n;
}

/*
 * config_diff() for the [profile NAME] sections: a profile added or
 * removed (fn gets a NULL key), then every key of a profile both have
 * that differs, static_challenge_file excepted. Returns how many.
 */
size_t
config_profiles_diff(const struct gw_config *old, const struct gw_config *new_,
    config_diff_fn *fn, void *arg)
{
	const struct gw_profile *b;
	size_t i, n;

	n = prof_diff_lone(old, new_, fn, arg) +
	    prof_diff_lone(new_, old, fn, arg);
	for (i = 0; i < old->nprofiles; i++)
		if ((b = config_profile_find(new_, old->profiles[i].name)) !=
		    NULL)
			n += prof_diff_one(&old->profiles[i], b, fn, arg);
	return n;
}
