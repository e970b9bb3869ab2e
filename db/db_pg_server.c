/*
 * The PostgreSQL server as `scepgw check` reports it (README "High
 * availability"): its version, whether it is a standby, and what this
 * connection's role can see of synchronous replication. Every item is
 * readable by a role without privileges; pg_stat_replication shows such a
 * role its rows but not their details (that needs pg_monitor), which is
 * counted, not an error.
 */
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "gw_err.h"
#include "db.h"
#include "db_int.h"
#include "db_pg_int.h"

/* Copies column col of row 0 into out (n bytes), "" for NULL. */
static void
col_copy(const PGresult *r, int col, char *out, size_t n)
{
	snprintf(out, n, "%s",
	    PQgetisnull(r, 0, col) ? "" : PQgetvalue(r, 0, col));
}

/* db_server_info() */
int
pg_server_info(struct db *db, struct db_server *s, struct gw_err *err)
{
	PGresult *r;
	PGconn *c;
	const char *h, *p;

	if ((c = pg_acquire(db, err)) == NULL)
		return -1;
	r = pg_exec(c,
	    "SELECT current_setting('server_version'), current_user,"
	    " pg_is_in_recovery(),"
	    " current_setting('synchronous_standby_names'),"
	    " current_setting('synchronous_commit'),"
	    " (SELECT count(*) FROM pg_stat_replication),"
	    " (SELECT count(*) FROM pg_stat_replication"
	    "  WHERE sync_state IS NULL),"
	    " (SELECT string_agg(coalesce(application_name, '?') || ' ('"
	    "  || sync_state || ')', ', ' ORDER BY application_name)"
	    "  FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum'))",
	    NULL, "server", 0, err);
	if (r == NULL) {
		pg_release(db, c);
		return -1;
	}
	col_copy(r, 0, s->version, sizeof(s->version));
	col_copy(r, 1, s->role, sizeof(s->role));
	s->in_recovery = pg_bool(r, 0, 2);
	col_copy(r, 3, s->sync_names, sizeof(s->sync_names));
	col_copy(r, 4, s->sync_commit, sizeof(s->sync_commit));
	s->standbys = (int)pg_int(r, 0, 5);
	s->hidden = (int)pg_int(r, 0, 6);
	col_copy(r, 7, s->sync_standbys, sizeof(s->sync_standbys));
	PQclear(r);
	h = PQhost(c);
	p = PQport(c);
	snprintf(s->where, sizeof(s->where), "%s%s%s", h != NULL ? h : "",
	    p != NULL && p[0] != '\0' ? ":" : "", p != NULL ? p : "");
	pg_release(db, c);
	return 0;
}
