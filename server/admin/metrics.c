/*
 * The admin API's Prometheus page, /metrics (README "Admin HTTP API"):
 * enrollments by state, outstanding challenges, orders in flight, group
 * commits, calls to GlobalSign, refusals by the rate limit, and the
 * licence figures (README "Licences"). It needs the token: it describes
 * the fleet.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "admin.h"
#include "admin_int.h"
#include "buf.h"
#include "config.h"
#include "db.h"
#include "enroll.h"
#include "gw.h"
#include "gw_err.h"
#include "log.h"
#include "ratelimit.h"
#include "secure.h"

/*
 * The licence metrics (README "Licences"): GlobalSign's licence errors
 * since start, and per pool whose config sets them the licences left
 * (negative once more orders were accepted than the config says the pack
 * holds) and the days to the pack's last day.
 */
static void
metrics_licences(struct gw_ctx *ctx, struct buf *b)
{
	const struct gw_config *cfg = ctx->cfg;
	static const char *const names[2] = { "scepgw_licences_remaining",
		"scepgw_licences_expire_days" };
	static const char *const heads[2] = {
		"# HELP scepgw_licences_remaining Licences of the pool left by "
		"the gateway's count (licences - used_before - orders "
		"accepted; negative past it).\n"
		"# TYPE scepgw_licences_remaining gauge\n",
		"# HELP scepgw_licences_expire_days Days to the pool's licence "
		"pack last day (0: that day; negative: past).\n"
		"# TYPE scepgw_licences_expire_days gauge\n",
	};
	struct enroll_licence_fig f;
	struct gw_err err;
	bool head;
	size_t i;
	int pass;

	buf_printf(b,
	    "# HELP scepgw_epki_licence_errors_total Orders GlobalSign "
	    "refused with its licence error ([epki] licence_error_code) "
	    "since start.\n"
	    "# TYPE scepgw_epki_licence_errors_total counter\n"
	    "scepgw_epki_licence_errors_total %" PRIu64 "\n",
	    enroll_licence_errors());
	for (pass = 0; pass < 2; pass++) {
		head = false;
		for (i = 0; cfg != NULL && i < cfg->npools; i++) {
			if (pass == 0 ? cfg->pools[i].licences <= 0 :
					cfg->pools[i].expire[0] == '\0')
				continue;
			if (enroll_licence_figures(cfg, ctx->db, i, &f, &err) !=
			    0) {
				log_ev(LOG_WARNING, "admin", NULL,
				    "admin metrics: %s", err.msg);
				continue;
			}
			if (!head)
				buf_addstr(b, heads[pass]);
			head = true;
			buf_printf(b, "%s{pool=\"%s\"} %ld\n", names[pass],
			    cfg->pools[i].name,
			    pass == 0 ? f.remaining : f.days_left);
		}
	}
}

/* GET /metrics: Prometheus text exposition format 0.0.4. */
enum MHD_Result
admin_metrics(struct admin_req *rq)
{
	struct gw_ctx *ctx = rq->ctx;
	int64_t counts[4], outstanding;
	uint64_t batches, writes, calls, connects;
	struct epki_status st;
	struct gw_err err;
	enum MHD_Result rc;
	struct buf b;

	if (db_txn_count(ctx->db, counts, &err) != 0 ||
	    db_challenge_outstanding(ctx->db, (int64_t)time(NULL), &outstanding,
		&err) != 0) {
		log_ev(LOG_WARNING, "admin", NULL, "admin metrics: %s",
		    err.msg);
		return admin_reply_text(rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "text/plain", "database unavailable\n");
	}
	buf_init(&b, 64 * 1024);
	buf_printf(&b,
	    "# HELP scepgw_enrollments Enrollment transactions by state.\n"
	    "# TYPE scepgw_enrollments gauge\n"
	    "scepgw_enrollments{state=\"ordering\"} %" PRId64 "\n"
	    "scepgw_enrollments{state=\"issued\"} %" PRId64 "\n"
	    "scepgw_enrollments{state=\"failed\"} %" PRId64 "\n"
	    "# HELP scepgw_challenges_outstanding Challenges not used, "
	    "not revoked and not expired.\n"
	    "# TYPE scepgw_challenges_outstanding gauge\n"
	    "scepgw_challenges_outstanding %" PRId64 "\n",
	    counts[DB_TXN_ORDERING], counts[DB_TXN_ISSUED],
	    counts[DB_TXN_FAILED], outstanding);
	db_write_stats(ctx->db, &batches, &writes);
	buf_printf(&b,
	    "# HELP scepgw_db_commits_total Group commits of enrollment "
	    "writes (one fsync each).\n"
	    "# TYPE scepgw_db_commits_total counter\n"
	    "scepgw_db_commits_total %" PRIu64 "\n"
	    "# HELP scepgw_db_writes_total Enrollment writes those commits "
	    "held.\n"
	    "# TYPE scepgw_db_writes_total counter\n"
	    "scepgw_db_writes_total %" PRIu64 "\n",
	    batches, writes);
	if (ctx->epki != NULL) {
		epki_client_stats(ctx->epki, &calls, &connects);
		buf_printf(&b,
		    "# HELP scepgw_epki_calls_total Calls to GlobalSign "
		    "finished (answered or failed).\n"
		    "# TYPE scepgw_epki_calls_total counter\n"
		    "scepgw_epki_calls_total %" PRIu64 "\n"
		    "# HELP scepgw_epki_connections_total Connections to "
		    "GlobalSign those calls opened (the rest reused one).\n"
		    "# TYPE scepgw_epki_connections_total counter\n"
		    "scepgw_epki_connections_total %" PRIu64 "\n",
		    calls, connects);
		epki_client_status(ctx->epki, &st);
		buf_printf(&b,
		    "# HELP scepgw_epki_last_success_timestamp_seconds When "
		    "GlobalSign last answered a call with success (0: not "
		    "since start).\n"
		    "# TYPE scepgw_epki_last_success_timestamp_seconds gauge\n"
		    "scepgw_epki_last_success_timestamp_seconds %" PRId64 "\n"
		    "# HELP scepgw_epki_last_error_timestamp_seconds When a "
		    "call to GlobalSign last failed (0: not since start).\n"
		    "# TYPE scepgw_epki_last_error_timestamp_seconds gauge\n"
		    "scepgw_epki_last_error_timestamp_seconds %" PRId64 "\n",
		    st.last_ok, st.last_err);
	}
	if (ctx->enroll != NULL)
		buf_printf(&b,
		    "# HELP scepgw_orders_in_flight Upstream orders being "
		    "waited for now.\n"
		    "# TYPE scepgw_orders_in_flight gauge\n"
		    "scepgw_orders_in_flight %zu\n",
		    enroll_inflight(ctx->enroll));
	if (ctx->rl != NULL)
		buf_printf(&b,
		    "# HELP scepgw_ratelimit_refused_total Challenge checks "
		    "and NDES logins refused by the per-address failure "
		    "limit.\n"
		    "# TYPE scepgw_ratelimit_refused_total counter\n"
		    "scepgw_ratelimit_refused_total %" PRIu64 "\n",
		    ratelimit_refused(ctx->rl));
	metrics_licences(ctx, &b);
	rc = admin_reply_text(rq, MHD_HTTP_OK,
	    "text/plain; version=0.0.4; charset=utf-8",
	    b.data != NULL ? (const char *)b.data : "");
	buf_cleanup(&b);
	return rc;
}
