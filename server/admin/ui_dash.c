/*
 * The console's dashboard (README "Admin web console"): GlobalSign as far
 * as the gateway counts it (its last success and last error, in this
 * process's memory), orders in flight, enrollments issued and
 * failed in the last 24 hours with a per-hour chart (inline SVG drawn
 * here), challenges outstanding, licences, the RA certificate's and CA
 * chain's expiry, the version, and the latest enrollments. Each figure is
 * one indexed query or a counter in memory; every value printed goes
 * through ui_esc().
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/x509.h>

#include "buf.h"
#include "config.h"
#include "db.h"
#include "enroll.h"
#include "epki.h"
#include "gw.h"
#include "gw_err.h"
#include "log.h"
#include "scep.h"
#include "ui_int.h"

#ifndef GW_VERSION
#define GW_VERSION "unknown"
#endif

#define DASH_RECENT 10

/* One certificate's line: subject, last day and days left. */
static void
dash_cert(struct buf *b, const char *what, const X509 *x)
{
	char subj[512], when[40];
	struct tm tm;
	int days = 0, secs = 0;

	X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof(subj));
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1 ||
	    ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)) != 1)
		return;
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	buf_addstr(b, "<tr><td>");
	ui_esc(b, what);
	buf_addstr(b, "</td><td>");
	ui_esc(b, subj);
	buf_printf(b, "</td><td class=\"%s\">%s (%d days)</td></tr>",
	    days < 30 ? "bad" : "ok", when, days);
}

/* The per-hour chart: issued (green) and failed (red) bars, 24 hours. */
static void
dash_chart(struct buf *b, const int64_t issued[24], const int64_t failed[24])
{
	int64_t max = 1;
	long h, hi, hf;
	int i;

	for (i = 0; i < 24; i++)
		if (issued[i] + failed[i] > max)
			max = issued[i] + failed[i];
	buf_printf(b,
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"480\" "
	    "height=\"120\" viewBox=\"0 0 480 120\" role=\"img\">"
	    "<title>Enrollments per hour, last 24 hours (max %" PRId64
	    ")</title>"
	    "<line x1=\"0\" y1=\"100\" x2=\"480\" y2=\"100\" "
	    "stroke=\"#999\"/>",
	    max);
	for (i = 0; i < 24; i++) {
		hi = (long)(issued[i] * 100 / max);
		hf = (long)(failed[i] * 100 / max);
		h = hi + hf;
		if (hi > 0)
			buf_printf(b,
			    "<rect x=\"%d\" y=\"%ld\" width=\"16\" "
			    "height=\"%ld\" fill=\"#2a7\"><title>%" PRId64
			    " issued</title></rect>",
			    i * 20 + 2, 100 - hi, hi, issued[i]);
		if (hf > 0)
			buf_printf(b,
			    "<rect x=\"%d\" y=\"%ld\" width=\"16\" "
			    "height=\"%ld\" fill=\"#c33\"><title>%" PRId64
			    " failed</title></rect>",
			    i * 20 + 2, 100 - h, hf, failed[i]);
	}
	buf_addstr(b,
	    "<text x=\"0\" y=\"115\" font-size=\"10\">24 h ago</text>"
	    "<text x=\"440\" y=\"115\" font-size=\"10\">now</text></svg>");
}

/* One recent enrollment's table row. */
static int
dash_txn_row(void *arg, const struct db_txn *t)
{
	static const char *const states[4] = { "?", "ordering", "issued",
		"failed" };
	struct buf *b = arg;
	char when[40];

	ui_time(t->updated, when, sizeof(when));
	buf_printf(b, "<tr><td>%s</td><td>", when);
	ui_esc(b, t->cn != NULL ? t->cn : "");
	buf_addstr(b, "</td><td>");
	ui_esc(b, t->email != NULL ? t->email : "");
	buf_printf(b, "</td><td>%s</td><td>",
	    (unsigned)t->state < 4 ? states[t->state] : "?");
	ui_esc(b, t->fail_text != NULL ? t->fail_text : "");
	if (t->epki_message != NULL) {
		buf_printf(b, " (GlobalSign %d: ", t->epki_code);
		ui_esc(b, t->epki_message);
		buf_addstr(b, ")");
	}
	buf_addstr(b, "</td></tr>");
	return 0;
}

/* The licence pools whose config sets a size or a last day. */
static void
dash_licences(struct gw_ctx *ctx, struct buf *b)
{
	const struct gw_config *cfg = ctx->cfg;
	struct enroll_licence_fig f;
	struct gw_err err;
	bool any = false;
	size_t i;

	buf_addstr(b, "<section><h2>Licences</h2>");
	for (i = 0; i < cfg->npools; i++) {
		if (cfg->pools[i].licences <= 0 &&
		    cfg->pools[i].expire[0] == '\0')
			continue;
		if (enroll_licence_figures(cfg, ctx->db, i, &f, &err) != 0) {
			log_warnx("console: licences: %s", err.msg);
			continue;
		}
		if (!any)
			buf_addstr(b,
			    "<table><tr><th>Pool</th><th>Left</th>"
			    "<th>Last day</th></tr>");
		any = true;
		buf_addstr(b, "<tr><td>");
		ui_esc(b, cfg->pools[i].name);
		if (cfg->pools[i].licences > 0)
			buf_printf(b, "</td><td>%ld of %ld</td>", f.remaining,
			    cfg->pools[i].licences);
		else
			buf_addstr(b, "</td><td>not counted</td>");
		if (cfg->pools[i].expire[0] != '\0') {
			buf_addstr(b, "<td>");
			ui_esc(b, cfg->pools[i].expire);
			buf_printf(b, " (%ld days)</td></tr>", f.days_left);
		} else
			buf_addstr(b, "<td>-</td></tr>");
	}
	buf_addstr(b,
	    any ? "</table></section>" :
		  "<p class=\"muted\">No licence pack configured "
		  "(README \"Licences\").</p></section>");
}

/*
 * GlobalSign's last success and last failure as this process's client
 * saw them (epki_client_status()), the failure in plain words with its
 * fix (config_epki_status_advice()).
 */
static void
dash_epki_status(struct gw_ctx *ctx, struct buf *b)
{
	struct epki_status st;
	char ok[40], bad[40];

	memset(&st, 0, sizeof(st));
	if (ctx->epki != NULL)
		epki_client_status(ctx->epki, &st);
	ui_time(st.last_ok, ok, sizeof(ok));
	ui_time(st.last_err, bad, sizeof(bad));
	buf_printf(b,
	    "<table><tr><th>Last successful call</th><td id=\"epki-ok\" "
	    "class=\"%s\">%s</td></tr>",
	    st.last_ok != 0 && !st.failing ? "ok" : "muted",
	    st.last_ok != 0 ? ok : "none since start");
	if (st.last_err == 0) {
		buf_addstr(b,
		    "<tr><th>Last error</th><td id=\"epki-err\">none since "
		    "start</td></tr></table>");
		return;
	}
	buf_printf(b,
	    "<tr><th>Last error</th><td id=\"epki-err\" class=\"%s\">%s, ",
	    st.failing ? "bad" : "muted", bad);
	ui_esc(b, st.op);
	if (st.code != 0)
		buf_printf(b, ": GlobalSign ErrorCode %d ", st.code);
	else if (st.http_status != 0)
		buf_printf(b, ": HTTP %ld ", st.http_status);
	else
		buf_addstr(b, ": no answer ");
	buf_addstr(b, "(");
	ui_esc(b, st.text);
	buf_addstr(b,
	    ")</td></tr><tr><th>What it means</th>"
	    "<td id=\"epki-fix\">");
	ui_esc(b, config_epki_status_advice(ctx->cfg, &st));
	buf_addstr(b, "</td></tr></table>");
	if (!st.failing)
		buf_addstr(b,
		    "<p class=\"ok\">Calls have succeeded since "
		    "that error.</p>");
}

/* The dashboard's sections into b. */
static void
dash_body(struct gw_ctx *ctx, struct buf *b)
{
	int64_t now = (int64_t)time(NULL), counts[4], outstanding = -1;
	int64_t issued[24], failed[24], si = 0, sf = 0;
	const STACK_OF(X509) *chain;
	uint64_t calls = 0, connects = 0;
	struct gw_err err;
	bool hourly;
	int i;

	memset(counts, 0, sizeof(counts));
	if (db_txn_count(ctx->db, counts, &err) != 0 ||
	    db_challenge_outstanding(ctx->db, now, &outstanding, &err) != 0)
		log_warnx("console: dashboard: %s", err.msg);
	/* Hour buckets end now: bucket 23 is the last hour. */
	hourly = db_txn_hourly(ctx->db, now - 24 * 3600 + 1, issued, failed,
		     &err) == 0;
	if (!hourly)
		log_warnx("console: dashboard: %s", err.msg);
	for (i = 0; hourly && i < 24; i++) {
		si += issued[i];
		sf += failed[i];
	}
	if (ctx->epki != NULL)
		epki_client_stats(ctx->epki, &calls, &connects);
	buf_printf(b,
	    "<section><h2>GlobalSign</h2><p>Calls finished since start: "
	    "%" PRIu64 " (over %" PRIu64 " connections); licence errors "
	    "since start: %" PRIu64 ". Orders in flight: %zu.</p>",
	    calls, connects, enroll_licence_errors(),
	    ctx->enroll != NULL ? enroll_inflight(ctx->enroll) : (size_t)0);
	dash_epki_status(ctx, b);
	buf_addstr(b, "</section>");
	buf_printf(b,
	    "<section><h2>Enrollments</h2><p>Last 24 hours: "
	    "<span class=\"ok\">%" PRId64 " issued</span>, "
	    "<span class=\"bad\">%" PRId64 " failed</span>. All time: "
	    "%" PRId64 " issued, %" PRId64 " failed, %" PRId64
	    " ordering. Challenges outstanding: %" PRId64 ".</p>",
	    si, sf, counts[DB_TXN_ISSUED], counts[DB_TXN_FAILED],
	    counts[DB_TXN_ORDERING], outstanding);
	if (hourly)
		dash_chart(b, issued, failed);
	buf_addstr(b,
	    "<h2>Latest enrollments</h2><table><tr><th>When</th>"
	    "<th>CN</th><th>Email</th><th>State</th><th>Why</th>"
	    "</tr>");
	if (db_txn_list(ctx->db, 0, NULL, DASH_RECENT, dash_txn_row, b, &err) !=
	    0)
		log_warnx("console: dashboard: %s", err.msg);
	buf_addstr(b, "</table></section>");
	dash_licences(ctx, b);
	buf_addstr(b, "<section><h2>Certificates of the gateway</h2><table>");
	if (ctx->ra != NULL) {
		dash_cert(b, "RA", scep_ra_get0_cert(ctx->ra));
		chain = scep_ra_get0_chain(ctx->ra);
		for (i = 0; chain != NULL && i < sk_X509_num(chain); i++)
			dash_cert(b, i == 0 ? "Issuing CA" : "CA",
			    sk_X509_value(chain, i));
	}
	buf_addstr(b, "</table></section><section><h2>Version</h2><p>scepgw ");
	ui_esc(b, GW_VERSION);
	buf_addstr(b, "</p></section>");
}

/* GET /ui/: the dashboard. */
enum MHD_Result
ui_dashboard(struct ui_call *c)
{
	struct buf b;

	if (!c->get)
		return ui_plain(c->rq, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method not allowed\n");
	buf_init(&b, 512 * 1024);
	dash_body(c->ctx, &b);
	return ui_page_buf(c, MHD_HTTP_OK, "Dashboard", &b);
}
