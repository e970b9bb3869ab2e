/*
 * `scepgw check`'s lines on the database server (README "High
 * availability"): on PostgreSQL its version and address, whether it is
 * the primary, synchronous replication and synchronous_commit, read with
 * what the gateway's own role may see. Nothing on SQLite.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "db.h"
#include "gw_err.h"
#include "log.h"

/* What an asynchronous failover risks (README "High availability"). */
#define CHECK_ASYNC_RISK                                                      \
	"an asynchronous failover can bring a consumed challenge back after " \
	"its order went out; run Patroni with synchronous_mode (see README "  \
	"High availability)"

/* Prints one line: tag, what, detail. */
static void
db_line(const char *tag, const char *what, const char *detail)
{
	printf("%-8s %s: %s\n", tag, what, detail);
}

/* The synchronous replication line. */
static void
check_sync(const struct db_server *s, const char *role)
{
	const char *what = "PostgreSQL synchronous replication";
	char d[1024];

	if (s->sync_names[0] == '\0') {
		snprintf(d, sizeof(d),
		    "synchronous_standby_names is empty, so no standby "
		    "confirms a commit before it is answered: " CHECK_ASYNC_RISK);
		db_line("WARN", what, d);
	} else if (s->sync_standbys[0] != '\0') {
		snprintf(d, sizeof(d),
		    "synchronous standby %s (synchronous_standby_names '%s')",
		    s->sync_standbys, s->sync_names);
		db_line("OK", what, d);
	} else if (s->hidden > 0) {
		snprintf(d, sizeof(d),
		    "synchronous_standby_names is '%s', %d standby%s "
		    "connected, but cannot see replication: grant pg_monitor "
		    "to %s",
		    s->sync_names, s->standbys, s->standbys == 1 ? "" : "s",
		    role);
		db_line("WARN", what, d);
	} else if (s->standbys == 0) {
		snprintf(d, sizeof(d),
		    "synchronous_standby_names is '%s' but no standby is "
		    "connected: every commit waits for one, so enrollments "
		    "stall until a standby is back (or Patroni drops the "
		    "name); check the standby",
		    s->sync_names);
		db_line("WARN", what, d);
	} else {
		snprintf(d, sizeof(d),
		    "synchronous_standby_names is '%s' but none of the %d "
		    "connected standby%s is synchronous: " CHECK_ASYNC_RISK,
		    s->sync_names, s->standbys, s->standbys == 1 ? "" : "s");
		db_line("WARN", what, d);
	}
}

/* The synchronous_commit line: off and local answer before a standby
 * holds the commit (off: before the primary's own disk does). */
static void
check_sync_commit(const struct db_server *s, const char *role)
{
	const char *what = "PostgreSQL synchronous_commit";
	char d[512];

	if (strcasecmp(s->sync_commit, "off") == 0 ||
	    strcasecmp(s->sync_commit, "local") == 0) {
		snprintf(d, sizeof(d),
		    "%s for role %s: a commit is answered before %s holds it, "
		    "so a crash or failover can undo a consumed challenge or "
		    "a recorded order; set it to on (ALTER ROLE %s RESET "
		    "synchronous_commit, and in postgresql.conf)",
		    s->sync_commit, role,
		    strcasecmp(s->sync_commit, "off") == 0 ?
			"the disk" :
			"the synchronous standby",
		    role);
		db_line("WARN", what, d);
		return;
	}
	snprintf(d, sizeof(d), "%s", s->sync_commit);
	db_line("OK", what, d);
}

/*
 * The server lines; returns 1 when one failed (a standby), else 0.
 * Nothing on a backend that is no server (SQLite).
 */
int
cli_check_server(struct db *db)
{
	struct db_server s;
	struct gw_err err;
	char d[512], role[128], where[320];
	int rc;

	gw_err_clear(&err);
	if ((rc = db_server_info(db, &s, &err)) == 1)
		return 0;
	if (rc != 0) {
		db_line("WARN", "PostgreSQL server", err.msg);
		return 0;
	}
	/* From the server: no control bytes on the terminal. */
	log_escape(role, sizeof(role), s.role, strlen(s.role));
	log_escape(where, sizeof(where), s.where, strlen(s.where));
	if (s.in_recovery) {
		snprintf(d, sizeof(d),
		    "%s at %s: connected to a standby: use "
		    "target_session_attrs=read-write",
		    s.version, where);
		db_line("FAIL", "PostgreSQL server", d);
		return 1;
	}
	snprintf(d, sizeof(d), "%s at %s, primary, role %s", s.version, where,
	    role);
	db_line("OK", "PostgreSQL server", d);
	check_sync(&s, role);
	check_sync_commit(&s, role);
	return 0;
}
