/*
 * The PostgreSQL backend ([db] url, README "PostgreSQL"): opening it (the
 * connection options, the first connection, the migrations), closing it,
 * serve_lock, and the table of its operations (db_pg_backend()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "gw_err.h"
#include "secure.h"
#include "db.h"
#include "db_int.h"
#include "db_pg_int.h"

/* Adds keyword k = v to the options. */
static void
pg_opt(struct db_pg *pg, int *i, const char *k, const char *v)
{
	pg->kw[*i] = k;
	pg->val[*i] = v;
	(*i)++;
}

/*
 * The connection options. Ours come first, so that the URL's own
 * (keepalives, connect_timeout, application_name) win: libpq uses the
 * last value of a repeated keyword, and expands dbname=URL in place.
 */
static void
pg_opts_build(struct db_pg *pg, const struct db_open_opts *o)
{
	int i = 0;

	snprintf(pg->app, sizeof(pg->app), "scepgw/%s",
	    o->app_name != NULL && o->app_name[0] != '\0' ? o->app_name : "");
	if (o->app_name == NULL || o->app_name[0] == '\0')
		snprintf(pg->app, sizeof(pg->app), "scepgw/%ld",
		    (long)getpid());
	pg->timeout_s = o->timeout_s > 0 ? o->timeout_s : DB_TIMEOUT_S;
	snprintf(pg->connect_s, sizeof(pg->connect_s), "%d", pg->timeout_s);
	pg_opt(pg, &i, "connect_timeout", pg->connect_s);
	pg_opt(pg, &i, "keepalives", "1");
	pg_opt(pg, &i, "keepalives_idle", "30");
	pg_opt(pg, &i, "keepalives_interval", "10");
	pg_opt(pg, &i, "keepalives_count", "3");
	pg_opt(pg, &i, "tcp_user_timeout", "30000"); /* ms: unacked sends */
	pg_opt(pg, &i, "application_name", pg->app);
	pg_opt(pg, &i, "dbname", pg->url);
	if (pg->password != NULL)
		pg_opt(pg, &i, "password", pg->password);
	pg_opt(pg, &i, NULL, NULL);
}

/*
 * A standby takes no writes: say so plainly, rather than with the error
 * of the first statement of the migrations (README "High availability").
 */
static int
pg_primary_check(PGconn *c, struct gw_err *err)
{
	PGresult *r;
	bool standby;

	if ((r = pg_exec(c, "SELECT pg_is_in_recovery()", NULL, "server", 0,
		 err)) == NULL)
		return -1;
	standby = pg_bool(r, 0, 0);
	PQclear(r);
	if (standby) {
		gw_err_set(err, DB_ERR_SQL,
		    "connected to a standby: use target_session_attrs="
		    "read-write in [db] url, or the primary's address (the "
		    "server at %s:%s is in recovery)",
		    PQhost(c), PQport(c));
		return -1;
	}
	return 0;
}

/*
 * Connects to o->url (a libpq URI or key=value string; several hosts and
 * target_session_attrs work as libpq documents them), migrates the schema
 * and keeps that first connection in the pool; sets db->impl. On failure
 * err says why (never with the password) and db_close() frees the rest.
 */
static int
pg_open(struct db *db, const struct db_open_opts *o, struct gw_err *err)
{
	struct db_pg *pg;
	PGconn *c;
	char *opts_err = NULL;
	PQconninfoOption *ci;

	if (o->url == NULL || o->url[0] == '\0') {
		gw_err_set(err, DB_ERR_ARG, "[db] url is empty");
		return -1;
	}
	/* Parse first: a typo is an ARG error, not a connection failure. */
	if ((ci = PQconninfoParse(o->url, &opts_err)) == NULL) {
		gw_err_set(err, DB_ERR_ARG, "[db] url: %.*s",
		    (int)strcspn(opts_err != NULL ? opts_err : "malformed",
			"\n"),
		    opts_err != NULL ? opts_err : "malformed");
		PQfreemem(opts_err);
		return -1;
	}
	PQconninfoFree(ci);
	if ((pg = calloc(1, sizeof(*pg))) == NULL) {
		gw_err_set(err, DB_ERR_SQL, "out of memory");
		return -1;
	}
	if (pthread_mutex_init(&pg->mu, NULL) != 0) {
		free(pg);
		gw_err_set(err, DB_ERR_SQL, "pthread_mutex_init failed");
		return -1;
	}
	if (pthread_mutex_init(&pg->wmu, NULL) != 0) {
		pthread_mutex_destroy(&pg->mu);
		free(pg);
		gw_err_set(err, DB_ERR_SQL, "pthread_mutex_init failed");
		return -1;
	}
	db->impl = pg;
	if ((pg->url = gw_strdup(o->url)) == NULL ||
	    (o->password != NULL &&
		(pg->password = gw_strdup(o->password)) == NULL)) {
		gw_err_set(err, DB_ERR_SQL, "out of memory");
		return -1;
	}
	pg_opts_build(pg, o);
	if ((c = pg_connect(pg, err)) == NULL)
		return -1;
	if (pg_primary_check(c, err) != 0 ||
	    pg_migrate(c, &pg->schema, err) != 0) {
		PQfinish(c);
		return -1;
	}
	pg_release(db, c);
	return 0;
}

/* Closes every connection and frees the state; accepts a failed open. */
static void
pg_close(struct db *db)
{
	struct db_pg *pg = db_pg(db);

	if (pg == NULL)
		return;
	pg_conns_close(pg);
	if (pg->password != NULL)
		gw_cleanse(pg->password, strlen(pg->password));
	free(pg->password);
	free(pg->url);
	pthread_mutex_destroy(&pg->wmu);
	pthread_mutex_destroy(&pg->mu);
	free(pg);
	db->impl = NULL;
}

/* The version in scepgw_schema, or -1 on error. */
static int
pg_schema_version(struct db *db)
{
	struct gw_err err;
	PGresult *r;
	int v = -1;

	r = pg_run(db, "SELECT version FROM scepgw_schema", NULL, "schema",
	    true, &err);
	if (r != NULL && PQntuples(r) == 1)
		v = (int)pg_int(r, 0, 0);
	PQclear(r);
	return v;
}

/*
 * Nothing to claim: several `scepgw serve` share one PostgreSQL database
 * (README "PostgreSQL"). Each registers an incarnation with a lease; a
 * transaction is ordered only by the incarnation that owns it, and a
 * survivor takes over a dead one's rows only once its lease ran out by
 * the database's clock (db_pg_lease.c). A session advisory lock would add
 * nothing to that and is not time-bounded.
 */
static int
pg_serve_lock(struct db *db, struct gw_err *err)
{
	(void)db;
	(void)err;
	return 0;
}

static const struct db_backend db_pg_ops = {
	.name = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.schema_version = pg_schema_version,
	.serve_lock = pg_serve_lock,
	.exec_batch = pg_exec_batch,
	.txn_get = pg_txn_get,
	.txn_find_csr = pg_txn_find_csr,
	.challenge_find = pg_challenge_find,
	.cert_get = pg_cert_get,
	.cert_renewal = pg_cert_renewal,
	.user_get = pg_user_get,
	.user_profiles = pg_user_profiles,
	.challenge_list = pg_challenge_list,
	.challenge_list_state = pg_challenge_list_state,
	.challenge_outstanding = pg_challenge_outstanding,
	.txn_list = pg_txn_list,
	.txn_search = pg_txn_search,
	.event_list = pg_event_list,
	.event_refused = pg_event_refused,
	.event_prune = pg_event_prune,
	.txn_count = pg_txn_count,
	.txn_hourly = pg_txn_hourly,
	.licence_used = pg_licence_used,
	.licence_last_error = pg_licence_last_error,
	.txn_list_unfinished = pg_txn_list_unfinished,
	.txn_list_intune = pg_txn_list_intune,
	.txn_set_intune = pg_txn_set_intune,
	.txn_claim_intune = pg_txn_claim_intune,
	.cert_list = pg_cert_list,
	.cert_search = pg_cert_search,
	.user_list = pg_user_list,
	.challenge_put = pg_challenge_put,
	.challenge_put_capped = pg_challenge_put_capped,
	.challenge_revoke = pg_challenge_revoke,
	.txn_archive = pg_txn_archive,
	.cert_set_revoked = pg_cert_set_revoked,
	.user_put = pg_user_put,
	.user_set_profiles = pg_user_set_profiles,
	.user_remove = pg_user_remove,
	.user_set_role = pg_user_set_role,
	.node_register = pg_node_register,
	.node_renew = pg_node_renew,
	.node_release = pg_node_release,
	.node_list = pg_node_list,
	.node_set_marks = pg_node_set_marks,
	.server_info = pg_server_info,
	.txn_claim_orphans = pg_txn_claim_orphans,
	.txn_list_owned = pg_txn_list_owned,
	.copy_in = pg_copy_in,
};

/* The PostgreSQL backend ([db] url). */
const struct db_backend *
db_pg_backend(void)
{
	return &db_pg_ops;
}
