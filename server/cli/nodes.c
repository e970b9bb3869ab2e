/*
 * `scepgw check`'s lines on the gateways serving the database: each
 * incarnation of `scepgw serve` whose lease is live, and those whose
 * lease ended within the last hour (README "How an enrollment works" 7).
 * Times are the database's clock. Then whether the live ones recorded the
 * same settings digest and RA certificate (README "High availability").
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli.h"
#include "config.h"
#include "db.h"
#include "gw_err.h"
#include "log.h"

#define NODES_RECENT_S 3600 /* ended leases shown for this long */
#define NODES_MAX 20	    /* lines at most */

/* A live incarnation's marks (db_node_set_marks()). */
struct nodes_mark {
	char who[160]; /* "name (incarnation N)", escaped */
	bool has_order, has_ra;
	uint8_t order[32], ra[32];
};

struct nodes_seen {
	int shown;
	int live;
	struct nodes_mark m[NODES_MAX];
	int nm;
};

/* Formats unix seconds t as "YYYY-MM-DD HH:MM:SS UTC". */
static void
nodes_time(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* db_node_list() callback: one line per incarnation worth showing. */
static int
nodes_line(void *arg, const struct db_node *n)
{
	struct nodes_seen *s = arg;
	char name[128], version[64], started[32], until[32];
	bool live = n->lease_until > n->now;

	if (!live && n->now - n->lease_until > NODES_RECENT_S)
		return 0;
	if (s->shown++ >= NODES_MAX)
		return 1;
	s->live += live;
	/* The name came from a config, the version from a binary: no
	 * control bytes on the terminal all the same. */
	log_escape(name, sizeof(name), n->name != NULL ? n->name : "",
	    n->name != NULL ? strlen(n->name) : 0);
	log_escape(version, sizeof(version),
	    n->version != NULL ? n->version : "?",
	    n->version != NULL ? strlen(n->version) : 1);
	if (live && s->nm < NODES_MAX) {
		struct nodes_mark *m = &s->m[s->nm++];

		snprintf(m->who, sizeof(m->who), "%s (incarnation %lld)", name,
		    (long long)n->id);
		m->has_order = n->has_order;
		m->has_ra = n->has_ra;
		memcpy(m->order, n->order_sha256, 32);
		memcpy(m->ra, n->ra_sha256, 32);
	}
	nodes_time(n->started_at, started, sizeof(started));
	nodes_time(n->lease_until, until, sizeof(until));
	if (live)
		printf("%-8s gateway %s: incarnation %lld (%s), started %s, "
		       "lease until %s (%llds left)\n",
		    "INFO", name, (long long)n->id, version, started, until,
		    (long long)(n->lease_until - n->now));
	else
		printf("%-8s gateway %s: incarnation %lld (%s), started %s, "
		       "lease expired %s (%llds ago)\n",
		    "INFO", name, (long long)n->id, version, started, until,
		    (long long)(n->now - n->lease_until));
	return 0;
}

/* The digest of mark m for ra (else the settings'), or NULL. */
static const uint8_t *
mark_get(const struct nodes_mark *m, bool ra)
{
	if (ra)
		return m->has_ra ? m->ra : NULL;
	return m->has_order ? m->order : NULL;
}

/*
 * One comparison line: the digest more than half the live gateways
 * recorded is the reference and the others are named; without such a
 * majority every one is. Gateways that recorded none (an older version)
 * are left out.
 */
static void
nodes_compare(const struct nodes_seen *s, bool ra)
{
	const char *what =
	    ra ? "gateways' RA certificate" : "gateways' ordering settings";
	const uint8_t *a, *b, *ref = NULL;
	char odd[1024] = "", refwho[160] = "";
	int i, k, votes, best = 0, n = 0, nodd = 0;
	size_t len = 0;

	for (i = 0; i < s->nm; i++) {
		if ((a = mark_get(&s->m[i], ra)) == NULL)
			continue;
		n++;
		for (votes = 0, k = 0; k < s->nm; k++)
			votes += (b = mark_get(&s->m[k], ra)) != NULL &&
			    memcmp(a, b, 32) == 0;
		if (votes > best) {
			best = votes;
			ref = a;
			snprintf(refwho, sizeof(refwho), "%s", s->m[i].who);
		}
	}
	if (n < 2)
		return;
	if (best == n) {
		printf("%-8s %s: the same on the %d live gateways\n", "OK",
		    what, n);
		return;
	}
	if (best * 2 <= n)
		ref = NULL; /* no majority: name them all */
	for (i = 0; i < s->nm; i++)
		if ((a = mark_get(&s->m[i], ra)) != NULL &&
		    (ref == NULL || memcmp(a, ref, 32) != 0) &&
		    len < sizeof(odd)) {
			len += (size_t)snprintf(odd + len, sizeof(odd) - len,
			    "%s%s", len > 0 ? ", " : "", s->m[i].who);
			nodd++;
		}
	if (ref == NULL)
		printf("%-8s %s: %s differ from one another%s: make %s the "
		       "same on every gateway (README High availability)\n",
		    "WARN", what, odd,
		    ra ? ": devices encrypt to the RA they fetched" :
			 " in [epki] or [profile] settings, so the same "
			 "request is ordered differently depending on the "
			 "gateway",
		    ra ? "the [ra] cert, key and ca_chain" : "those sections");
	else if (ra)
		printf("%-8s %s: %s serve%s another RA certificate than %s: "
		       "devices encrypt to the RA they fetched, so install "
		       "the same [ra] cert, key and ca_chain on every gateway "
		       "(README High availability)\n",
		    "WARN", what, odd, nodd > 1 ? "" : "s", refwho);
	else
		printf("%-8s %s: %s differ%s from %s in [epki] or [profile] "
		       "settings, so the same request is ordered differently "
		       "depending on the gateway: make those sections the "
		       "same on every gateway (README High availability)\n",
		    "WARN", what, odd, nodd > 1 ? "" : "s", refwho);
}

/* SHA-256 of the DER of the certificate in PEM file path; false when it
 * cannot be read (check_ra() says why). */
static bool
nodes_ra_sha256(const char *path, uint8_t out[32])
{
	unsigned len = 0;
	X509 *x = NULL;
	FILE *f;
	bool ok;

	if ((f = fopen(path, "r")) == NULL)
		return false;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ok = x != NULL && X509_digest(x, EVP_sha256(), out, &len) == 1 &&
	    len == 32;
	X509_free(x);
	return ok;
}

/*
 * This config against the live gateways: a gateway started with it would
 * order as they do, with their RA (or, run on a gateway's host, that
 * gateway has not been restarted since its config changed).
 */
static void
nodes_compare_conf(const struct nodes_seen *s, const struct gw_config *cfg)
{
	char odd[2][1024] = { "", "" };
	size_t len[2] = { 0, 0 };
	uint8_t ra[32];
	const uint8_t *mine[2], *theirs;
	int i, k, n[2] = { 0, 0 };

	mine[0] = cfg->has_order_sha256 ? cfg->order_sha256 : NULL;
	mine[1] = nodes_ra_sha256(cfg->ra_cert, ra) ? ra : NULL;
	for (k = 0; k < 2; k++)
		for (i = 0; mine[k] != NULL && i < s->nm; i++) {
			if ((theirs = mark_get(&s->m[i], k == 1)) == NULL)
				continue;
			n[k]++;
			if (memcmp(mine[k], theirs, 32) != 0 &&
			    len[k] < sizeof(odd[k]))
				len[k] += (size_t)snprintf(odd[k] + len[k],
				    sizeof(odd[k]) - len[k], "%s%s",
				    len[k] > 0 ? ", " : "", s->m[i].who);
		}
	for (k = 0; k < 2; k++) {
		if (n[k] == 0)
			continue;
		if (len[k] == 0)
			printf("%-8s this config's %s: the same as the %d "
			       "live gateway%s\n",
			    "OK",
			    k == 1 ? "RA certificate" : "ordering settings",
			    n[k], n[k] == 1 ? "" : "s");
		else
			printf("%-8s this config's %s: not those of %s: a "
			       "gateway started with it would differ (on a "
			       "gateway's host: restart it after changing its "
			       "config)\n",
			    "WARN",
			    k == 1 ? "RA certificate" : "ordering settings",
			    odd[k]);
	}
}

/* Prints the live (and recently ended) incarnations of `scepgw serve`,
 * then compares them with each other and with cfg. */
void
cli_check_nodes(struct db *db, const struct gw_config *cfg)
{
	struct nodes_seen s;
	struct gw_err err;

	memset(&s, 0, sizeof(s));
	if (db_node_list(db, nodes_line, &s, &err) != 0) {
		printf("%-8s gateways: %s\n", "WARN", err.msg);
		return;
	}
	if (s.live == 0)
		printf("%-8s gateways: none serving this database now\n",
		    "INFO");
	nodes_compare(&s, false);
	nodes_compare(&s, true);
	nodes_compare_conf(&s, cfg);
}
