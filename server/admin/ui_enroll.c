/*
 * The console's enrollments (README "Admin web console"): GET
 * /ui/enrollments searches the transactions by CN or email prefix, state
 * and creation date, newest first, 50 a page (db_txn_search(), one indexed
 * query); the state "refused" lists the requests refused before or
 * without a transaction row (db_event_refused()). GET
 * /ui/enrollments/TXID shows one transaction and its history
 * (ui_enroll_view.c). Read-only: viewers and admins see the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "admin_int.h"
#include "buf.h"
#include "db.h"
#include "gw.h"
#include "gw_date.h"
#include "gw_err.h"
#include "log.h"
#include "ui_int.h"
#include "ui_enroll.h"

#define UI_ENROLL_PAGE 50

static const char *const ui_states[] = { "", "ordering", "issued", "failed",
	"refused" };
#define UI_STATE_REFUSED 4

/* The search as the form gave it, checked. */
struct ui_search {
	char cn[256];
	char email[256];
	char from[16], to[16]; /* YYYY-MM-DD, or "" */
	char before[24];
	int state; /* index in ui_states */
	struct db_txn_query q;
};

/* The query value name into out ("" when absent). -1: too long. */
static int
ui_arg(struct ui_call *c, const char *name, char *out, size_t n)
{
	const char *v = MHD_lookup_connection_value(c->rq->conn,
	    MHD_GET_ARGUMENT_KIND, name);

	out[0] = '\0';
	if (v == NULL)
		return 0;
	if (strlen(v) >= n)
		return -1;
	memcpy(out, v, strlen(v) + 1);
	return 0;
}

/* A day YYYY-MM-DD as unix seconds (00:00 UTC) into *t; "" is 0. -1: not
 * a day. */
static int
ui_day(const char *s, int64_t *t)
{
	int y, m, d, n = 0;

	*t = 0;
	if (s[0] == '\0')
		return 0;
	if (strlen(s) != 10 ||
	    sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 ||
	    y < 1970 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	*t = (int64_t)gw_days_from_civil(y, m, d) * 86400;
	return 0;
}

/* Reads and checks the form. NULL, or what is wrong (for a 400 page). */
static const char *
ui_search_read(struct ui_call *c, struct ui_search *s)
{
	char state[16];
	size_t i;

	memset(s, 0, sizeof(*s));
	if (ui_arg(c, "cn", s->cn, sizeof(s->cn)) != 0)
		return "CN: at most 255 bytes";
	if (ui_arg(c, "email", s->email, sizeof(s->email)) != 0)
		return "email: at most 255 bytes";
	if (ui_arg(c, "state", state, sizeof(state)) != 0)
		return "state: unknown";
	for (i = 0; i < sizeof(ui_states) / sizeof(ui_states[0]); i++)
		if (strcmp(state, ui_states[i]) == 0)
			break;
	if (i == sizeof(ui_states) / sizeof(ui_states[0]))
		return "state: expected ordering, issued, failed or refused";
	s->state = (int)i;
	if (ui_arg(c, "from", s->from, sizeof(s->from)) != 0 ||
	    ui_day(s->from, &s->q.from) != 0)
		return "from: expected a day, YYYY-MM-DD";
	if (ui_arg(c, "to", s->to, sizeof(s->to)) != 0 ||
	    ui_day(s->to, &s->q.to) != 0)
		return "to: expected a day, YYYY-MM-DD";
	if (s->q.to != 0)
		s->q.to += 86400; /* the whole day */
	if (ui_arg(c, "before", s->before, sizeof(s->before)) != 0 ||
	    (s->before[0] != '\0' &&
		(s->q.before_id = strtoll(s->before, NULL, 10)) <= 0))
		return "before: expected a row number";
	s->q.state =
	    s->state < UI_STATE_REFUSED ? (enum db_txn_state)s->state : 0;
	s->q.cn = s->cn[0] != '\0' ? s->cn : NULL;
	s->q.email = s->email[0] != '\0' ? s->email : NULL;
	s->q.limit = UI_ENROLL_PAGE;
	return NULL;
}

/* The search form, filled with what was asked. */
static void
ui_search_form(struct buf *b, const struct ui_search *s)
{
	size_t i;

	buf_addstr(b,
	    "<section><form method=\"get\" action=\"/ui/enrollments\">"
	    "<label>CN starts with <input name=\"cn\" value=\"");
	ui_esc(b, s->cn);
	buf_addstr(b,
	    "\"></label><label>Email starts with <input "
	    "name=\"email\" value=\"");
	ui_esc(b, s->email);
	buf_addstr(b, "\"></label><label>State <select name=\"state\">");
	for (i = 0; i < sizeof(ui_states) / sizeof(ui_states[0]); i++)
		buf_printf(b, "<option value=\"%s\"%s>%s</option>",
		    ui_states[i], (int)i == s->state ? " selected" : "",
		    i == 0 ? "any" : ui_states[i]);
	buf_addstr(b,
	    "</select></label><label>Created from <input "
	    "type=\"date\" name=\"from\" value=\"");
	ui_esc(b, s->from);
	buf_addstr(b,
	    "\"></label><label>to <input type=\"date\" name=\"to\" "
	    "value=\"");
	ui_esc(b, s->to);
	buf_addstr(b,
	    "\"></label><button>Search</button></form>"
	    "<p class=\"muted\">CN and email match from their "
	    "first character, case-sensitive.</p></section>");
}

/* The link to the next (older) page: the same search below last_id. */
static void
ui_search_next(struct buf *b, const struct ui_search *s, int64_t last_id)
{
	buf_addstr(b, "<p><a href=\"/ui/enrollments?cn=");
	ui_url_esc(b, s->cn);
	buf_addstr(b, "&amp;email=");
	ui_url_esc(b, s->email);
	buf_printf(b, "&amp;state=%s&amp;from=", ui_states[s->state]);
	ui_url_esc(b, s->from);
	buf_addstr(b, "&amp;to=");
	ui_url_esc(b, s->to);
	buf_printf(b, "&amp;before=%lld\">Older</a></p>", (long long)last_id);
}

/* What a list callback fills. */
struct ui_rows {
	struct buf *b;
	size_t n;
	int64_t last_id;
};

static int
ui_txn_row(void *arg, const struct db_txn *t)
{
	struct ui_rows *r = arg;
	char when[40];

	ui_time(t->created, when, sizeof(when));
	buf_printf(r->b, "<tr><td>%s</td><td>", when);
	ui_txid_link(r->b, t->txid);
	buf_addstr(r->b, "</td><td>");
	ui_esc(r->b, t->cn);
	buf_addstr(r->b, "</td><td>");
	ui_esc(r->b, t->email);
	buf_printf(r->b, "</td><td class=\"%s\">%s</td><td>",
	    t->state == DB_TXN_FAILED	  ? "bad" :
		t->state == DB_TXN_ISSUED ? "ok" :
					    "",
	    ui_enroll_state_name(t->state));
	ui_esc(r->b, t->order_id);
	buf_addstr(r->b, "</td><td>");
	ui_esc(r->b, t->state == DB_TXN_FAILED ? t->fail_text : NULL);
	buf_addstr(r->b, "</td></tr>");
	r->n++;
	r->last_id = t->id;
	return 0;
}

static int
ui_refused_row(void *arg, const struct db_event *e)
{
	struct ui_rows *r = arg;
	char when[40];

	ui_time(e->at, when, sizeof(when));
	buf_printf(r->b, "<tr><td>%s</td><td>", when);
	ui_txid_link(r->b, e->txid);
	buf_addstr(r->b, "</td><td>");
	ui_esc(r->b, e->cn);
	buf_addstr(r->b, "</td><td class=\"bad\">refused</td><td>");
	ui_esc(r->b, e->detail);
	buf_addstr(r->b, "</td></tr>");
	r->n++;
	r->last_id = e->id;
	return 0;
}

/* The results table: one query. 0, or -1 (logged, a 503 page). */
static int
ui_search_rows(struct ui_call *c, const struct ui_search *s, struct buf *b)
{
	struct ui_rows r = { b, 0, 0 };
	struct gw_err err;
	int rc;

	buf_addstr(b,
	    "<section><table><tr><th>Created</th><th>Transaction"
	    "</th><th>CN</th>");
	if (s->state == UI_STATE_REFUSED) {
		buf_addstr(b, "<th>State</th><th>Why</th></tr>");
		rc = db_event_refused(c->ctx->db, &s->q, ui_refused_row, &r,
		    &err);
	} else {
		buf_addstr(b,
		    "<th>Email</th><th>State</th><th>OrderID</th>"
		    "<th>Why</th></tr>");
		rc = db_txn_search(c->ctx->db, &s->q, ui_txn_row, &r, &err);
	}
	if (rc != 0) {
		log_warnx("console: enrollments: %s", err.msg);
		return -1;
	}
	buf_addstr(b, "</table>");
	if (r.n == 0)
		buf_addstr(b, "<p class=\"muted\">None found.</p>");
	if (r.n == UI_ENROLL_PAGE)
		ui_search_next(b, s, r.last_id);
	buf_addstr(b, "</section>");
	return 0;
}

/* GET /ui/enrollments: the search and one page of results. */
enum MHD_Result
ui_enrollments(struct ui_call *c)
{
	struct ui_search s;
	const char *bad;
	struct buf b;

	if (!c->get)
		return ui_plain(c->rq, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method not allowed\n");
	buf_init(&b, 1024 * 1024);
	if ((bad = ui_search_read(c, &s)) != NULL) {
		buf_addstr(&b, "<section><p class=\"bad\">");
		ui_esc(&b, bad);
		buf_addstr(&b, "</p></section>");
		memset(&s, 0, sizeof(s));
		ui_search_form(&b, &s);
		return ui_page_buf(c, MHD_HTTP_BAD_REQUEST, "Enrollments", &b);
	}
	ui_search_form(&b, &s);
	if (ui_search_rows(c, &s, &b) != 0) {
		buf_cleanup(&b);
		return ui_page(c, MHD_HTTP_SERVICE_UNAVAILABLE, "Enrollments",
		    "<section><p class=\"bad\">The database is not "
		    "available; try again.</p></section>");
	}
	return ui_page_buf(c, MHD_HTTP_OK, "Enrollments", &b);
}
