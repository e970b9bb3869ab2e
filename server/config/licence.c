/*
 * Licence pools and the licence error (README "Licences"). GlobalSign's
 * API reports no licence counts, so the gateway counts the orders it
 * placed against what the operator says a pack holds: [epki] licences,
 * licences_expire and licences_used_before describe the pool every profile
 * draws from, unless a [profile NAME] sets its own. GlobalSign answers one
 * error for every licence condition; config_licence_advice() is the one
 * message the gateway gives for it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "gw_date.h"
#include "secure.h"

/*
 * Parses a calendar date YYYY-MM-DD (2000..9999, a day that exists) into
 * *day, days since 1970-01-01. Returns 0, or -1.
 */
int
config_date_parse(const char *v, long *day)
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
		30, 31 };
	long y, m, d;
	int i;

	if (strlen(v) != 10 || v[4] != '-' || v[7] != '-')
		return -1;
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (v[i] < '0' || v[i] > '9'))
			return -1;
	y = strtol(v, NULL, 10);
	m = strtol(v + 5, NULL, 10);
	d = strtol(v + 8, NULL, 10);
	if (y < 2000 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return -1;
	if (m == 2 && d == 29 &&
	    !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -1;
	*day = gw_days_from_civil(y, m, d);
	return 0;
}

/*
 * Parses a licence count: a whole number lo..100000000. Returns 0, or -1
 * with reason set.
 */
int
config_licence_count_parse(const char *v, long lo, long *out, char *reason,
    size_t rlen)
{
	const char *s = v;
	char *end;
	long n;

	if (*s == '-')
		s++;
	if (*s == '\0' || strspn(s, "0123456789") != strlen(s) ||
	    strlen(s) > 9) {
		snprintf(reason, rlen,
		    "bad value \"%.40s\": expected a whole number %ld..100000000",
		    v, lo);
		return -1;
	}
	n = strtol(v, &end, 10);
	if (n < lo || n > 100000000L) {
		snprintf(reason, rlen, "%ld is out of range %ld..100000000", n,
		    lo);
		return -1;
	}
	*out = n;
	return 0;
}

/* Fills pool from a section's three keys; 0, or -1 reported to errf. */
static int
pool_set(const struct gw_config *c, struct gw_licence_pool *pool,
    const char *section, long licences, long used_before, const char *expire,
    FILE *errf)
{
	pool->licences = licences;
	pool->used_before = used_before;
	if (expire != NULL) {
		if (config_date_parse(expire, &pool->expire_day) != 0) {
			fprintf(errf,
			    "%s: [%s] key \"licences_expire\": bad value "
			    "\"%.40s\": expected a date YYYY-MM-DD\n",
			    c->path, section, expire);
			return -1;
		}
		snprintf(pool->expire, sizeof(pool->expire), "%s", expire);
	}
	if (licences > 0 && used_before > licences) {
		fprintf(errf,
		    "%s: [%s] key \"licences_used_before\": %ld is more than "
		    "licences (%ld)\n",
		    c->path, section, used_before, licences);
		return -1;
	}
	if (licences == 0 && used_before > 0) {
		fprintf(errf,
		    "%s: [%s] key \"licences_used_before\": needs licences "
		    "(the pack's size)\n",
		    c->path, section);
		return -1;
	}
	return 0;
}

/*
 * After the profiles: pool 0 from [epki], then one pool per profile that
 * sets licences, licences_expire or licences_used_before; each profile's
 * pool index. Reports each problem to errf; returns their number.
 */
int
config_licences_finish(struct gw_config *c, FILE *errf)
{
	struct gw_profile *p;
	char section[96];
	size_t i, n = 1;
	int errors = 0;

	for (i = 0; i < c->nprofiles; i++)
		n += c->profiles[i].own_pool ? 1 : 0;
	if ((c->pools = calloc(n, sizeof(*c->pools))) == NULL ||
	    (c->pools[0].name = gw_strdup("epki")) == NULL) {
		fprintf(errf, "%s: out of memory\n", c->path);
		return 1;
	}
	c->npools = 1;
	if (pool_set(c, &c->pools[0], "epki", c->epki_licences,
		c->epki_licences_used_before, c->epki_licences_expire,
		errf) != 0)
		errors++;
	for (i = 0; i < c->nprofiles; i++) {
		p = &c->profiles[i];
		p->pool = 0;
		if (!p->own_pool)
			continue;
		snprintf(section, sizeof(section), "profile %s", p->name);
		if (pool_set(c, &c->pools[c->npools], section, p->licences,
			p->licences_used_before, p->licences_expire, errf) != 0)
			errors++;
		if ((c->pools[c->npools].name = malloc(strlen(p->name) + 9)) ==
		    NULL) {
			fprintf(errf, "%s: out of memory\n", c->path);
			return errors + 1;
		}
		sprintf(c->pools[c->npools].name, "profile:%s", p->name);
		p->pool = c->npools++;
	}
	return errors;
}

/* Frees the pools of c. */
void
config_licences_free(struct gw_config *c)
{
	size_t i;

	for (i = 0; i < c->npools; i++)
		free(c->pools[i].name);
	free(c->pools);
	c->pools = NULL;
	c->npools = 0;
}

/* The pool the profile named profile (NULL: default) draws from. */
const struct gw_licence_pool *
config_licence_pool(const struct gw_config *c, const char *profile)
{
	const struct gw_profile *p;

	p = config_profile_find(c, profile != NULL ? profile : "default");
	if (c->npools == 0)
		return NULL;
	return p != NULL && p->pool < c->npools ? &c->pools[p->pool] :
						  &c->pools[0];
}

/*
 * The one operator message for GlobalSign's licence error ([epki]
 * licence_error_code): it answers the same error for an expired pack and
 * for a ProductCode or validity that does not match the pack (README
 * "Licences").
 */
const char *
config_licence_advice(void)
{
	return "no licence for this order: the licence pack has expired or "
	       "is used up, or the ProductCode and/or the certificate "
	       "validity (Year) do not match the licence pack; in GCC > "
	       "Enterprise PKI check the licence packs (expiry date, "
	       "licences left, product, validity in years), order more "
	       "licence packs if needed, and make [epki] product_code and "
	       "years (or the profile's) match a pack";
}
