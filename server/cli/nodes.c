/*
 * `scepgw check`'s lines on the gateways serving the database: each
 * incarnation of `scepgw serve` whose lease is live, and those whose
 * lease ended within the last hour (README "How an enrollment works" 7).
 * Times are the database's clock.
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

struct nodes_seen {
	int shown;
	int live;
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

/* Prints the live (and recently ended) incarnations of `scepgw serve`. */
void
cli_check_nodes(struct db *db)
{
	struct nodes_seen s = { 0, 0 };
	struct gw_err err;

	if (db_node_list(db, nodes_line, &s, &err) != 0) {
		printf("%-8s gateways: %s\n", "WARN", err.msg);
		return;
	}
	if (s.live == 0)
		printf("%-8s gateways: none serving this database now\n",
		    "INFO");
}
