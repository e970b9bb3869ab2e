/*
 * GET /ui/enrollments/TXID (README "Admin web console"): one transaction,
 * as the database holds it, and its history as a timeline (db/README.md
 * "History"): two indexed reads (the transaction by txid, its events by
 * txid). A transactionID with only a refusal recorded (no transaction
 * row) shows the history alone; one with neither is a 404 page.
 */
#include <stdio.h>
#include <string.h>

#include <microhttpd.h>

#include "admin_int.h"
#include "buf.h"
#include "db.h"
#include "gw.h"
#include "gw_err.h"
#include "log.h"
#include "ui_int.h"
#include "ui_enroll.h"

/* The most events a page shows (a polled event is one row however many
 * polls it counts). */
#define UI_EVENTS_MAX 200

const char *
ui_enroll_state_name(int state)
{
	switch (state) {
	case DB_TXN_ORDERING:
		return "ordering";
	case DB_TXN_ISSUED:
		return "issued";
	case DB_TXN_FAILED:
		return "failed";
	default:
		return "?";
	}
}

static const char *
intune_name(int v)
{
	switch (v) {
	case DB_INTUNE_VALIDATED:
		return "validated; outcome not reported yet";
	case DB_INTUNE_NOTIFIED:
		return "successNotification accepted";
	case DB_INTUNE_FAILURE_SENT:
		return "failureNotification sent";
	case DB_INTUNE_FAILURE_UNSENT:
		return "failureNotification could not be sent";
	default:
		return NULL;
	}
}

/* One row of the transaction's table; nothing for a NULL or "" value. */
static void
view_row(struct buf *b, const char *what, const char *v)
{
	if (v == NULL || v[0] == '\0')
		return;
	buf_addstr(b, "<tr><th>");
	ui_esc(b, what);
	buf_addstr(b, "</th><td>");
	ui_esc(b, v);
	buf_addstr(b, "</td></tr>");
}

static void
view_time_row(struct buf *b, const char *what, int64_t t)
{
	char when[40];

	if (t == 0)
		return;
	ui_time(t, when, sizeof(when));
	view_row(b, what, when);
}

/* The history read: the timeline, and the serial of an issued event. */
struct view_hist {
	struct buf *b;
	size_t n;
	char serial[128];
};

static int
view_event(void *arg, const struct db_event *e)
{
	struct view_hist *h = arg;
	char when[40];

	if (strcmp(e->kind, "issued") == 0 && e->detail != NULL &&
	    strncmp(e->detail, "serial ", 7) == 0)
		snprintf(h->serial, sizeof(h->serial), "%s", e->detail + 7);
	ui_time(e->at, when, sizeof(when));
	buf_printf(h->b, "<tr><td>%s</td><td class=\"%s\">", when,
	    strcmp(e->kind, "refused") == 0 || strcmp(e->kind, "failed") == 0 ?
		"bad" :
		"");
	ui_esc(h->b, e->kind);
	buf_addstr(h->b, "</td><td>");
	ui_esc(h->b, e->detail);
	if (strcmp(e->kind, DB_EVENT_POLLED) == 0)
		buf_printf(h->b, " (%lld CertPoll%s, the last at %s)",
		    (long long)e->n, e->n == 1 ? "" : "s", when);
	else if (e->n > 1)
		buf_printf(h->b, " (%lld times, the last at %s)",
		    (long long)e->n, when);
	buf_addstr(h->b, "</td></tr>");
	h->n++;
	return 0;
}

/* The transaction's table. */
static void
view_txn(struct buf *b, const struct db_txn *t, const char *serial)
{
	char v[64];

	buf_addstr(b, "<section><h2>Transaction</h2><table>");
	view_row(b, "transactionID", t->txid);
	buf_printf(b, "<tr><th>State</th><td class=\"%s\">%s</td></tr>",
	    t->state == DB_TXN_FAILED	  ? "bad" :
		t->state == DB_TXN_ISSUED ? "ok" :
					    "",
	    ui_enroll_state_name(t->state));
	view_row(b, "CN", t->cn);
	view_row(b, "Email", t->email);
	view_row(b, "OU", t->ou);
	view_row(b, "UPN", t->upn);
	view_row(b, "Profile", t->profile != NULL ? t->profile : "default");
	if (t->challenge_id != 0) {
		snprintf(v, sizeof(v), "%lld", (long long)t->challenge_id);
		view_row(b, "Challenge", v);
	}
	view_row(b, "Renews serial", t->renews);
	view_row(b, "GlobalSign OrderID", t->order_id);
	if (serial[0] != '\0') {
		buf_addstr(b,
		    "<tr><th>Certificate</th><td><a "
		    "href=\"/ui/certificates/");
		ui_url_esc(b, serial);
		buf_addstr(b, "\">");
		ui_esc(b, serial);
		buf_addstr(b, "</a></td></tr>");
	}
	if (t->state == DB_TXN_FAILED)
		view_row(b, "Failure sent to the device", t->fail_text);
	if (t->epki_code != 0) {
		snprintf(v, sizeof(v), "%d", t->epki_code);
		view_row(b, "GlobalSign error code", v);
		view_row(b, "GlobalSign message", t->epki_message);
	}
	view_time_row(b, "Created", t->created);
	view_time_row(b, "Updated", t->updated);
	if (t->owner != 0) {
		snprintf(v, sizeof(v), "incarnation %lld", (long long)t->owner);
		view_row(b, "Ordering gateway", v);
	}
	view_time_row(b, "Taken over", t->taken_at);
	view_row(b, "Microsoft Intune", intune_name(t->intune));
	buf_addstr(b, "</table></section>");
}

/* GET /ui/enrollments/TXID */
enum MHD_Result
ui_enrollment(struct ui_call *c)
{
	struct buf b, hb;
	struct view_hist h;
	struct db_txn t;
	struct gw_err err;
	int found = 1, rc = -1;

	if (!c->get)
		return ui_plain(c->rq, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method not allowed\n");
	memset(&t, 0, sizeof(t));
	memset(&h, 0, sizeof(h));
	buf_init(&b, 1024 * 1024);
	buf_init(&hb, 512 * 1024);
	h.b = &hb;
	if (c->rest[0] != '\0' &&
	    ((found = db_txn_get(c->ctx->db, c->rest, &t, &err)) == -1 ||
		db_event_list(c->ctx->db, c->rest, UI_EVENTS_MAX, view_event,
		    &h, &err) != 0)) {
		log_warnx("console: enrollment: %s", err.msg);
		goto out;
	}
	rc = 0;
	if (found == 1 && h.n == 0)
		goto out;
	if (found == 0)
		view_txn(&b, &t, h.serial);
	else {
		buf_addstr(&b,
		    "<section><h2>Transaction</h2><p>No transaction "
		    "was recorded for ");
		ui_esc(&b, c->rest);
		buf_addstr(&b,
		    ": the request was refused before.</p>"
		    "</section>");
	}
	buf_addstr(&b,
	    "<section><h2>History</h2><table><tr><th>When</th>"
	    "<th>What</th><th>Details</th></tr>");
	if (hb.len > 0)
		buf_add(&b, hb.data, hb.len);
	buf_addstr(&b, "</table>");
	if (h.n == 0)
		buf_addstr(&b,
		    "<p class=\"muted\">No events recorded (a "
		    "transaction from before the history).</p>");
	buf_addstr(&b, "</section>");
out:
	db_txn_cleanup(&t);
	buf_cleanup(&hb);
	if (rc == -1 || (found == 1 && h.n == 0)) {
		buf_cleanup(&b);
		return rc == -1 ?
		    ui_page(c, MHD_HTTP_SERVICE_UNAVAILABLE, "Enrollment",
			"<section><p class=\"bad\">The database is not "
			"available; try again.</p></section>") :
		    ui_page(c, MHD_HTTP_NOT_FOUND, "Enrollment",
			"<section><p>No such enrollment.</p></section>");
	}
	return ui_page_buf(c, MHD_HTTP_OK, "Enrollment", &b);
}
