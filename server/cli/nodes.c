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

#include "cli.h"
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
 * One comparison line: the digest most live gateways recorded is the
 * reference (ties: the newest), the others are named. Gateways that
 * recorded none (an older version) are left out.
 */
static void
nodes_compare(const struct nodes_seen *s, bool ra)
{
	const char *what =
	    ra ? "gateways' RA certificate" : "gateways' ordering settings";
	const uint8_t *a, *b, *ref = NULL;
	char odd[1024] = "", refwho[160] = "";
	int i, k, votes, best = 0, n = 0;
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
	for (i = 0; i < s->nm; i++)
		if ((a = mark_get(&s->m[i], ra)) != NULL &&
		    memcmp(a, ref, 32) != 0 && len < sizeof(odd))
			len += (size_t)snprintf(odd + len, sizeof(odd) - len,
			    "%s%s", len > 0 ? ", " : "", s->m[i].who);
	if (ra)
		printf("%-8s %s: %s serve%s another RA certificate than %s: "
		       "devices encrypt to the RA they fetched, so install "
		       "the same [ra] cert, key and ca_chain on every gateway "
		       "(README High availability)\n",
		    "WARN", what, odd, strchr(odd, ',') != NULL ? "" : "s",
		    refwho);
	else
		printf("%-8s %s: %s differ%s from %s in [epki] or [profile] "
		       "settings, so the same request is ordered differently "
		       "depending on the gateway: make those sections the "
		       "same on every gateway (README High availability)\n",
		    "WARN", what, odd, strchr(odd, ',') != NULL ? "" : "s",
		    refwho);
}

/* Prints the live (and recently ended) incarnations of `scepgw serve`. */
void
cli_check_nodes(struct db *db)
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
}
