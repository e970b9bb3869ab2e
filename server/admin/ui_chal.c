/*
 * The console's challenges page (README "Admin web console",
 * **Challenges.**): GET /ui/challenges lists them by state, newest first,
 * UI_CHAL_PAGE a page (keyset: ?before=ID); an admin also gets the
 * create form and a Revoke button per unused challenge. POST
 * /ui/challenges creates one or a batch with the JSON API's rules
 * (admin_chal_req_parse(), admin_chal_make()) and answers with the
 * secrets themselves, once: each with its QR code and a one-time
 * .mobileconfig link (ui_mc.c). POST /ui/challenges/revoke revokes one
 * (admin_chal_revoke(), as DELETE /api/v1/challenges/ID).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "admin_int.h"
#include "config.h"
#include "db.h"
#include "gw.h"
#include "gw_err.h"
#include "log.h"
#include "mobileconfig.h"
#include "secure.h"
#include "ui.h"
#include "ui_int.h"

#define UI_CHAL_PAGE 50

static const char *const chal_states[DB_CH__MAX] = {
	[DB_CH_ANY] = "",
	[DB_CH_UNUSED] = "unused",
	[DB_CH_USED] = "used",
	[DB_CH_EXPIRED] = "expired",
	[DB_CH_REVOKED] = "revoked",
};

/* The form's fields, as typed (re-shown after an error). */
struct chal_form {
	char count[16], cn[UI_FIELD_MAX], email[UI_FIELD_MAX];
	char ou[UI_FIELD_MAX], upn[UI_FIELD_MAX], ttl[24], profile[80];
};

/* Rows of one page. */
struct chal_rows {
	struct buf *b;
	const struct ui_who *who;
	int64_t now, last;
	int n;
};

/* The state word of a row as of now (as the JSON API says it). */
static const char *
chal_state(const struct db_challenge *c, int64_t now)
{
	if (c->revoked)
		return "revoked";
	if (c->used != 0)
		return "used";
	return c->expires <= now ? "expired" : "unused";
}

static void
cell(struct buf *b, const char *s)
{
	buf_addstr(b, "<td>");
	ui_esc(b, s != NULL ? s : "-");
	buf_addstr(b, "</td>");
}

static int
chal_row(void *arg, const struct db_challenge *c)
{
	struct chal_rows *r = arg;
	struct buf *b = r->b;
	const char *st = chal_state(c, r->now);
	char t[40];

	if (++r->n > UI_CHAL_PAGE)
		return 1; /* the one past the page: there is a next page */
	r->last = c->id;
	buf_printf(b, "<tr><td>%lld</td>", (long long)c->id);
	ui_time(c->created, t, sizeof(t));
	cell(b, t);
	ui_time(c->expires, t, sizeof(t));
	cell(b, t);
	cell(b, c->cn);
	cell(b, c->email);
	cell(b, c->ou);
	cell(b, c->upn);
	cell(b, c->profile != NULL ? c->profile : "(any)");
	cell(b, st);
	buf_addstr(b, "<td>");
	if (c->txid != NULL)
		ui_txid_link(b, c->txid);
	else
		buf_addstr(b, "-");
	buf_addstr(b, "</td><td>");
	if (ui_is_admin(r->who) && strcmp(st, "unused") == 0) {
		buf_addstr(b,
		    "<form method=\"post\" "
		    "action=\"/ui/challenges/revoke\">");
		ui_csrf_field(b, r->who);
		buf_printf(b,
		    "<input type=\"hidden\" name=\"id\" value=\"%lld\">"
		    "<button type=\"submit\">Revoke</button></form>",
		    (long long)c->id);
	}
	buf_addstr(b, "</td></tr>\n");
	return 0;
}

/* One <input> of the create form, with its value as typed. */
static void
form_input(struct buf *b, const char *label, const char *name, const char *type,
    const char *value, const char *extra)
{
	buf_addstr(b, "<label>");
	ui_esc(b, label);
	buf_printf(b, " <input name=\"%s\" type=\"%s\" %s value=\"", name, type,
	    extra);
	ui_esc(b, value);
	buf_addstr(b, "\"></label>");
}

/* The create form (admins only), filled with f. */
static void
chal_form_html(struct buf *b, const struct ui_call *c,
    const struct chal_form *f, const char *msg)
{
	const struct gw_config *cfg = c->ctx->cfg;
	const struct gw_profile *p;
	size_t i;

	buf_addstr(b, "<section><h2>Create challenges</h2>");
	if (msg != NULL) {
		buf_addstr(b, "<p class=\"bad\">");
		ui_esc(b, msg);
		buf_addstr(b, "</p>");
	}
	buf_addstr(b, "<form method=\"post\" action=\"/ui/challenges\">");
	ui_csrf_field(b, c->who);
	form_input(b, "How many", "count", "number", f->count,
	    "min=\"1\" max=\"1000\"");
	form_input(b, "CN", "cn", "text", f->cn, "");
	form_input(b, "Email", "email", "text", f->email, "");
	form_input(b, "OU", "ou", "text", f->ou, "");
	form_input(b, "UPN", "upn", "text", f->upn, "");
	form_input(b, "Valid for (seconds)", "ttl", "number", f->ttl,
	    "min=\"60\" max=\"31536000\"");
	buf_addstr(b,
	    "<label>Profile <select name=\"profile\">"
	    "<option value=\"\">(any profile)</option>");
	for (i = 0; i < cfg->nprofiles; i++) {
		p = &cfg->profiles[i];
		if (config_profile_onetime_refusal(p) != NULL)
			continue;
		buf_addstr(b, "<option value=\"");
		ui_esc(b, p->name);
		buf_addstr(b,
		    strcmp(f->profile, p->name) == 0 ? "\" selected>" : "\">");
		ui_esc(b, p->name);
		buf_addstr(b, "</option>");
	}
	buf_addstr(b,
	    "</select></label><button type=\"submit\">Create"
	    "</button></form></section>\n");
}

/* The list of one page, state and before as the query says. */
static int
chal_list_html(struct buf *b, struct ui_call *c, int state, int64_t before)
{
	struct chal_rows r = { b, c->who, (int64_t)time(NULL), 0, 0 };
	struct gw_err err;
	int i;

	buf_addstr(b, "<section><h2>Challenges</h2><p>");
	for (i = 0; i < DB_CH__MAX; i++) {
		buf_printf(b, "<a href=\"/ui/challenges%s%s\"%s>%s</a> ",
		    i == 0 ? "" : "?state=", chal_states[i],
		    i == state ? " class=\"here\"" : "",
		    i == 0 ? "all" : chal_states[i]);
	}
	buf_addstr(b,
	    "</p><table><tr><th>ID</th><th>Created</th>"
	    "<th>Expires</th><th>CN</th><th>Email</th><th>OU</th>"
	    "<th>UPN</th><th>Profile</th><th>State</th>"
	    "<th>Used by</th><th></th></tr>\n");
	if (db_challenge_list_state(c->ctx->db, (enum db_challenge_state)state,
		r.now, before, UI_CHAL_PAGE + 1, chal_row, &r, &err) != 0) {
		log_warnx("%s console: challenge list: %s", c->client, err.msg);
		return -1;
	}
	buf_addstr(b, "</table>");
	if (r.n == 0)
		buf_addstr(b, "<p class=\"muted\">None.</p>");
	buf_addstr(b, "<p>");
	if (before > 0)
		buf_printf(b, "<a href=\"/ui/challenges?state=%s\">Newest</a> ",
		    chal_states[state]);
	if (r.n > UI_CHAL_PAGE)
		buf_printf(b,
		    "<a href=\"/ui/challenges?state=%s&amp;before=%lld\">"
		    "Older</a>",
		    chal_states[state], (long long)r.last);
	buf_addstr(b, "</p></section>\n");
	return 0;
}

/* The page: the form (admins) and the list. */
static enum MHD_Result
chal_page(struct ui_call *c, unsigned status, const struct chal_form *f,
    const char *msg, int state, int64_t before)
{
	struct buf b;

	buf_init(&b, 4 * 1024 * 1024);
	if (ui_is_admin(c->who))
		chal_form_html(&b, c, f, msg);
	if (chal_list_html(&b, c, state, before) != 0) {
		buf_cleanup(&b);
		return ui_plain(c->rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "database unavailable; try again\n");
	}
	return ui_page_buf(c, status, "Challenges", &b);
}

/* Reads ?state= and ?before=; -1 when either is bad. */
static int
chal_query(struct ui_call *c, int *state, int64_t *before)
{
	char s[UI_FIELD_MAX], *end;
	int i;

	*state = 0;
	*before = 0;
	if (ui_query_get(c->rq, "state", s, sizeof(s)) == 0 && s[0] != '\0') {
		for (i = 1; i < DB_CH__MAX; i++)
			if (strcmp(s, chal_states[i]) == 0)
				*state = i;
		if (*state == 0)
			return -1;
	}
	if (ui_query_get(c->rq, "before", s, sizeof(s)) == 0) {
		errno = 0;
		*before = strtoll(s, &end, 10);
		if (errno != 0 || end == s || *end != '\0' || *before < 1)
			return -1;
	}
	return 0;
}

/*
 * Adds text field name to o when set ("" means not given); text that is
 * not UTF-8 goes in as false, which the parser refuses naming the field.
 */
static int
json_text(json_t *o, const char *name, const char *v)
{
	json_t *j;

	if (v[0] == '\0')
		return 0;
	j = json_string(v);
	return json_object_set_new(o, name, j != NULL ? j : json_false());
}

/* An integer field: a number when v is one, else the text (refused). */
static int
json_int(json_t *o, const char *name, const char *v)
{
	char *end;
	long long n;

	if (v[0] == '\0')
		return 0;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno == 0 && *end == '\0')
		return json_object_set_new(o, name, json_integer(n));
	return json_text(o, name, v);
}

/* The form as the JSON API's body, so one parser checks both. */
static json_t *
chal_form_json(const struct chal_form *f)
{
	json_t *o = json_object();

	if (o == NULL || json_int(o, "count", f->count) != 0 ||
	    json_text(o, "cn", f->cn) != 0 ||
	    json_text(o, "email", f->email) != 0 ||
	    json_text(o, "ou", f->ou) != 0 ||
	    json_text(o, "upn", f->upn) != 0 ||
	    json_int(o, "ttl", f->ttl) != 0 ||
	    json_text(o, "profile", f->profile) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/*
 * The .mobileconfig of challenge i of m, kept as a one-time link; writes
 * its token to tok. Returns 0 or -1.
 */
static int
chal_link(struct ui_call *c, const struct chal_req *r,
    const struct chal_made *m, long i, STACK_OF(X509) *chain, char tok[65])
{
	const struct gw_profile *p = config_profile_find(c->ctx->cfg,
	    r->profile != NULL ? r->profile : "default");
	struct mc_params mp = { m->secrets[i], "scepgw", r->cn };
	char url[512], *data = NULL;
	size_t len = 0;
	FILE *f;

	if (p == NULL || chain == NULL ||
	    (f = open_memstream(&data, &len)) == NULL)
		return -1;
	mobileconfig_default_url(c->ctx->cfg, p->name, url, sizeof(url));
	if (mobileconfig_write(f, p, &mp, url, chain) != 0) {
		fclose(f);
		gw_cleanse(data, len);
		free(data);
		return -1;
	}
	if (fclose(f) != 0) {
		free(data);
		return -1;
	}
	return ui_mc_add((long long)m->ids[i], m->hashes[i], m->expires, data,
	    len, tok);
}

/* The answer to a create: the secrets, shown this once. */
static enum MHD_Result
chal_made_page(struct ui_call *c, const struct chal_req *r,
    const struct chal_made *m)
{
	STACK_OF(X509) *chain = mobileconfig_chain_load(c->ctx->cfg->ca_chain);
	char t[40], tok[65];
	struct buf b;
	long i;

	buf_init(&b, 8 * 1024 * 1024);
	buf_set_secret(&b);
	ui_time(m->expires, t, sizeof(t));
	buf_printf(&b,
	    "<section><h2>%ld challenge(s) created</h2><p>Each secret is "
	    "shown only on this page: copy it, scan its QR code or open its "
	    ".mobileconfig link (it works once, until the challenge expires "
	    "at %s, on this gateway until it restarts). "
	    "<a href=\"/ui/challenges?state=unused\">Back to the list</a>"
	    "</p></section>\n",
	    m->n, t);
	if (chain == NULL)
		log_warnx("%s console: %s: no readable certificate; no "
			  ".mobileconfig links",
		    c->client, c->ctx->cfg->ca_chain);
	for (i = 0; i < m->n; i++) {
		buf_printf(&b,
		    "<section class=\"secret\"><h2>Challenge %lld</h2>"
		    "<p>Secret: <code class=\"challenge\">",
		    (long long)m->ids[i]);
		ui_esc(&b, m->secrets[i]);
		buf_addstr(&b, "</code></p>");
		if (ui_qr_svg(&b, m->secrets[i]) != 0)
			buf_addstr(&b, "<p class=\"bad\">No QR code.</p>");
		if (chal_link(c, r, m, i, chain, tok) == 0) {
			buf_addstr(&b,
			    "<p><a class=\"mobileconfig\" "
			    "href=\"/ui/mc/");
			ui_esc(&b, tok);
			buf_addstr(&b,
			    "\">Download the .mobileconfig</a> "
			    "(once)</p>");
			gw_cleanse(tok, sizeof(tok));
		} else
			buf_addstr(&b,
			    "<p class=\"bad\">No .mobileconfig: "
			    "see the log.</p>");
		buf_addstr(&b, "</section>\n");
	}
	mobileconfig_chain_free(chain);
	return ui_page_buf(c, MHD_HTTP_OK, "Challenges created", &b);
}

/* Reads the form into f; -1 when a field is too long or malformed. */
static int
chal_form_read(struct ui_call *c, struct chal_form *f)
{
	const struct buf *body = &c->rq->body;
	struct {
		const char *name;
		char *out;
		size_t n;
	} fl[] = {
		{ "count", f->count, sizeof(f->count) },
		{ "cn", f->cn, sizeof(f->cn) },
		{ "email", f->email, sizeof(f->email) },
		{ "ou", f->ou, sizeof(f->ou) },
		{ "upn", f->upn, sizeof(f->upn) },
		{ "ttl", f->ttl, sizeof(f->ttl) },
		{ "profile", f->profile, sizeof(f->profile) },
	};
	size_t i;
	int rc = 0;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < sizeof(fl) / sizeof(fl[0]); i++)
		if (ui_form_get(body, fl[i].name, fl[i].out, fl[i].n) != 0) {
			fl[i].out[0] = '\0';
			rc = -1;
		}
	return rc;
}

/* POST /ui/challenges: the API's checks, then the page of secrets. */
static enum MHD_Result
chal_create(struct ui_call *c)
{
	struct chal_form f;
	const char *field = NULL;
	struct chal_made m;
	struct chal_req r;
	enum MHD_Result rc;
	char msg[240];
	json_t *o;

	memset(&f, 0, sizeof(f));
	if (chal_form_read(c, &f) != 0)
		return chal_page(c, MHD_HTTP_BAD_REQUEST, &f,
		    "A field is missing, malformed or too long.", 0, 0);
	if ((o = chal_form_json(&f)) == NULL)
		return ui_plain(c->rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "out of memory\n");
	if (admin_chal_req_parse(o, c->ctx->cfg, &r, msg, sizeof(msg),
		&field) != 0) {
		json_decref(o);
		log_info("%s console: user=%s: challenges refused: %s",
		    c->client, c->who->user, msg);
		return chal_page(c, MHD_HTTP_BAD_REQUEST, &f, msg, 0, 0);
	}
	if (admin_chal_make(c->rq, &r, &m) != 0) {
		json_decref(o);
		return chal_page(c, MHD_HTTP_SERVICE_UNAVAILABLE, &f,
		    "Could not store the challenges; try again.", 0, 0);
	}
	log_info("%s console: user=%s: %ld challenge(s) created, ids "
		 "%lld..%lld",
	    c->client, c->who->user, m.n, (long long)m.ids[0],
	    (long long)m.ids[m.n - 1]);
	rc = chal_made_page(c, &r, &m);
	admin_chal_made_free(&m);
	json_decref(o);
	return rc;
}

/* /ui/challenges: GET the list, POST a create (admins). */
enum MHD_Result
ui_challenges(struct ui_call *c)
{
	struct chal_form f;
	int64_t before;
	int state;

	if (c->post)
		return chal_create(c);
	if (chal_query(c, &state, &before) != 0)
		return ui_plain(c->rq, MHD_HTTP_BAD_REQUEST,
		    "bad query: state is unused, used, expired or revoked; "
		    "before is a challenge id\n");
	memset(&f, 0, sizeof(f));
	snprintf(f.count, sizeof(f.count), "1");
	snprintf(f.ttl, sizeof(f.ttl), "%ld",
	    c->ctx->cfg->challenge_ttl_seconds);
	return chal_page(c, MHD_HTTP_OK, &f, NULL, state, before);
}

/* POST /ui/challenges/revoke id=N (admins): then back to the list. */
enum MHD_Result
ui_chal_revoke(struct ui_call *c)
{
	char id[32];
	long long v;

	if (!c->post)
		return ui_plain(c->rq, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method not allowed\n");
	if (ui_form_get(&c->rq->body, "id", id, sizeof(id)) != 0)
		id[0] = '\0';
	switch (admin_chal_revoke(c->rq, id, &v)) {
	case 0:
		log_info("%s console: user=%s: challenge %lld revoked",
		    c->client, c->who->user, v);
		return ui_redirect(c->rq, "/ui/challenges", NULL, NULL);
	case 1:
		return ui_plain(c->rq, MHD_HTTP_BAD_REQUEST,
		    "bad request: id must be a challenge id\n");
	case 2:
		return ui_plain(c->rq, MHD_HTTP_NOT_FOUND,
		    "not found: no such challenge\n");
	default:
		return ui_plain(c->rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "database unavailable; try again\n");
	}
}
