/*
 * The admin web console (README "Admin web console"): /ui/ on the admin
 * listener, beside the token-protected JSON API but with its own login.
 *
 * Logins are console users (`scepgw user add NAME --role viewer|admin`),
 * checked with scrypt on the admin listener's thread; a failure (a wrong
 * password, an unknown name or an "ndes" user, all answered alike) counts
 * against the per-address failure limit ([enroll] max_failures_per_minute)
 * as on the NDES page. A session (ui_sess.c) is a random id in the cookie
 * scepgw_session (HttpOnly, SameSite=Strict, Path=/ui/, and Secure when a
 * trusted proxy says the client spoke https). The pages are the entries
 * of ui_routes[], one file each, below the checks of ui_handle(): the
 * session, the CSRF token of a POST, the admin role of a POST. Every form
 * carries a CSRF token that every POST must return: the session's, or before
 * login a double-submit token also set as the cookie scepgw_login. Every answer
 * carries the headers of ui_headers[] (a strict Content-Security-Policy,
 * no framing, no caching) and everything printed goes through ui_esc().
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <microhttpd.h>

#include "admin_int.h"
#include "buf.h"
#include "config.h"
#include "db.h"
#include "gw.h"
#include "gw_err.h"
#include "log.h"
#include "proxy.h"
#include "ratelimit.h"
#include "reply.h"
#include "secure.h"
#include "ui.h"
#include "ui_int.h"

#define UI_COOKIE "scepgw_session"
#define UI_LOGIN_COOKIE "scepgw_login"

/* The headers of every /ui/ answer (README "Admin web console"). */
static const char *const ui_headers[] = {
	"Content-Security-Policy",
	"default-src 'none'; style-src 'self'; img-src 'self' data:; "
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	"X-Frame-Options",
	"DENY",
	"X-Content-Type-Options",
	"nosniff",
	"Referrer-Policy",
	"no-referrer",
	"Cache-Control",
	"no-store",
};
#define UI_NHEADERS (sizeof(ui_headers) / sizeof(ui_headers[0]))

static const char ui_css[] =
    "body{font-family:sans-serif;margin:0;background:#f4f5f7;color:#222}\n"
    "header{background:#17456b;color:#fff;padding:.6em 1em;display:flex;"
    "justify-content:space-between;align-items:center}\n"
    "header form{margin:0}\n"
    "main{padding:1em;max-width:70em}\n"
    "section{background:#fff;border:1px solid #d8dce0;border-radius:4px;"
    "padding:.6em 1em;margin-bottom:1em}\n"
    "h1{font-size:1.2em;margin:0}h2{font-size:1.05em}\n"
    "table{border-collapse:collapse}td,th{text-align:left;padding:.2em "
    ".8em .2em 0}\n"
    ".bad{color:#a00}.ok{color:#070}.muted{color:#666}\n"
    "label{display:block;margin:.5em 0}\n"
    "nav a{color:#fff;margin-right:1em}nav a.here{font-weight:bold}\n";

/* True for the console's paths: /ui and everything under /ui/. */
bool
ui_is_path(const char *url)
{
	return strcmp(url, "/ui") == 0 || strncmp(url, "/ui/", 4) == 0;
}

/*
 * Appends s to b with the five HTML-special characters as entities and
 * control characters as '?': the one escaping function of the console,
 * for text and for attribute values in double quotes.
 */
int
ui_esc(struct buf *b, const char *s)
{
	const char *e;
	char c[2] = { 0, 0 };

	for (; s != NULL && *s != '\0'; s++) {
		switch (*s) {
		case '&':
			e = "&amp;";
			break;
		case '<':
			e = "&lt;";
			break;
		case '>':
			e = "&gt;";
			break;
		case '"':
			e = "&quot;";
			break;
		case '\'':
			e = "&#39;";
			break;
		default:
			c[0] =
			    (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
			e = c;
		}
		if (buf_addstr(b, e) == -1)
			return -1;
	}
	return 0;
}

/*
 * The client's address for the failure limit and the log (README "Behind
 * a reverse proxy"): the TCP peer, or when that is one of [server]
 * trusted_proxies, the client its X-Forwarded-For names. Sets *https when
 * such a proxy also says X-Forwarded-Proto: https (the cookie is then
 * Secure).
 */
static void
ui_client(struct admin_req *rq, char *out, size_t n, bool *https)
{
	const struct gw_config *cfg = rq->ctx->cfg;
	const char *proto;
	struct buf xff;

	*https = false;
	snprintf(out, n, "%s", rq->peer);
	if (proxy_list_is_empty(cfg->proxies) ||
	    !proxy_list_has(cfg->proxies, rq->peer))
		return;
	proto = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
	    "X-Forwarded-Proto");
	*https = proto != NULL && strcasecmp(proto, "https") == 0;
	buf_init(&xff, 4096);
	if (gw_header_join(rq->conn, "X-Forwarded-For", &xff) > 0 &&
	    proxy_client_addr(cfg->proxies, rq->peer, (const char *)xff.data,
		out, n) == -1)
		snprintf(out, n, "%s", rq->peer);
	buf_cleanup(&xff);
}

/*
 * Sends a /ui/ answer: the common headers, then up to two Set-Cookie
 * lines and a Location (each NULL when not wanted).
 */
static enum MHD_Result
ui_send(struct admin_req *rq, unsigned status, const char *ctype,
    const char *body, const char *cookie1, const char *cookie2,
    const char *location)
{
	const char *h[UI_NHEADERS + 7];
	size_t k = UI_NHEADERS;

	memcpy(h, ui_headers, sizeof(ui_headers));
	if (cookie1 != NULL) {
		h[k++] = MHD_HTTP_HEADER_SET_COOKIE;
		h[k++] = cookie1;
	}
	if (cookie2 != NULL) {
		h[k++] = MHD_HTTP_HEADER_SET_COOKIE;
		h[k++] = cookie2;
	}
	if (location != NULL) {
		h[k++] = MHD_HTTP_HEADER_LOCATION;
		h[k++] = location;
	}
	h[k] = NULL;
	log_info("%s admin %s %s status=%u", rq->peer, rq->method, rq->path,
	    status);
	return gw_respond(rq->conn, status, ctype, body, strlen(body), h);
}

/* A cookie line: name=value with our attributes; max_age 0 clears it. */
static void
ui_cookie(char *out, size_t n, const char *name, const char *value, bool secure,
    bool clear)
{
	snprintf(out, n, "%s=%s; HttpOnly; SameSite=Strict; Path=/ui/%s%s",
	    name, clear ? "" : value, secure ? "; Secure" : "",
	    clear ? "; Max-Age=0" : "");
}

/* The navigation bar: the routes with a label (ui_routes[]). */
static void ui_nav(struct buf *b, const char *path);

/* Sends an HTML page: the frame around body (already escaped). */
enum MHD_Result
ui_page(struct ui_call *c, unsigned status, const char *title, const char *body)
{
	struct admin_req *rq = c->rq;
	const struct ui_who *who = c->who;
	enum MHD_Result rc;
	struct buf b;

	buf_init(&b, 4 * 1024 * 1024);
	buf_set_secret(&b); /* a page may show a new challenge once */
	buf_addstr(&b,
	    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width\">"
	    "<link rel=\"stylesheet\" href=\"/ui/style.css\">"
	    "<link rel=\"icon\" href=\"data:,\"><title>");
	ui_esc(&b, title);
	buf_addstr(&b, " - scepgw</title></head><body><header><h1>scepgw: ");
	ui_esc(&b, title);
	buf_addstr(&b, "</h1>");
	if (who != NULL) {
		ui_nav(&b, rq->path);
		buf_addstr(&b, "<form method=\"post\" action=\"/ui/logout\">");
		ui_esc(&b, who->user);
		buf_printf(&b, " (%s) ",
		    db_user_role_name((enum db_user_role)who->role));
		ui_csrf_field(&b, who);
		buf_addstr(&b,
		    "<button type=\"submit\">Log out</button>"
		    "</form>");
	}
	buf_addstr(&b, "</header><main>\n");
	buf_addstr(&b, body);
	if (buf_addstr(&b, "</main></body></html>\n") == -1 ||
	    buf_add(&b, "", 1) == -1) {
		buf_cleanup(&b);
		return ui_send(rq, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain",
		    "page too large\n", NULL, NULL, NULL);
	}
	rc = ui_send(rq, status, "text/html; charset=utf-8",
	    (const char *)b.data, c->cookie1, c->cookie2, NULL);
	buf_cleanup(&b);
	return rc;
}

/* ui_page() of a body built in a buf, which it frees. */
enum MHD_Result
ui_page_buf(struct ui_call *c, unsigned status, const char *title,
    struct buf *body)
{
	enum MHD_Result rc;

	if (buf_add(body, "", 1) == -1) {
		buf_cleanup(body);
		return ui_plain(c->rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "page too large\n");
	}
	rc = ui_page(c, status, title, (const char *)body->data);
	buf_cleanup(body);
	return rc;
}

/*
 * A download: data as an attachment named filename (a plain name the
 * page made, not user input), with the console's headers.
 */
enum MHD_Result
ui_file(struct admin_req *rq, const char *ctype, const char *filename,
    const void *data, size_t len)
{
	const char *h[UI_NHEADERS + 3];
	char disp[160];

	memcpy(h, ui_headers, sizeof(ui_headers));
	snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", filename);
	h[UI_NHEADERS] = MHD_HTTP_HEADER_CONTENT_DISPOSITION;
	h[UI_NHEADERS + 1] = disp;
	h[UI_NHEADERS + 2] = NULL;
	log_info("%s admin %s %s status=200", rq->peer, rq->method, rq->path);
	return gw_respond(rq->conn, MHD_HTTP_OK, ctype, data, len, h);
}

/* The session's CSRF token as a hidden field of a form. */
void
ui_csrf_field(struct buf *b, const struct ui_who *who)
{
	buf_addstr(b, "<input type=\"hidden\" name=\"csrf\" value=\"");
	ui_esc(b, who->csrf);
	buf_addstr(b, "\">");
}

/* "YYYY-MM-DD HH:MM UTC" of t (Unix seconds) into out; "-" for 0. */
void
ui_time(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL) {
		snprintf(out, n, "-");
		return;
	}
	strftime(out, n, "%Y-%m-%d %H:%M UTC", &tm);
}

bool
ui_is_admin(const struct ui_who *who)
{
	return who != NULL && who->role == DB_ROLE_ADMIN;
}

/*
 * Appends s percent-encoded (all but RFC 3986 unreserved characters) to b:
 * a path segment or query value in a link, then printed through ui_esc().
 */
void
ui_url_esc(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;
	char e[4] = { '%', 0, 0, 0 };

	for (; p != NULL && *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		    *p == '_' || *p == '~') {
			buf_add(b, p, 1);
			continue;
		}
		e[1] = hex[*p >> 4];
		e[2] = hex[*p & 15];
		buf_add(b, e, 3);
	}
}

/* A link to a transaction's page, its text the transactionID. */
void
ui_txid_link(struct buf *b, const char *txid)
{
	buf_addstr(b, "<a href=\"/ui/enrollments/");
	ui_url_esc(b, txid);
	buf_addstr(b, "\">");
	ui_esc(b, txid);
	buf_addstr(b, "</a>");
}

/* A plain answer (403, 404, 405) with the common headers. */
enum MHD_Result
ui_plain(struct admin_req *rq, unsigned status, const char *text)
{
	return ui_send(rq, status, "text/plain; charset=utf-8", text, NULL,
	    NULL, NULL);
}

/* 303 to where, with up to two cookies. */
enum MHD_Result
ui_redirect(struct admin_req *rq, const char *where, const char *cookie1,
    const char *cookie2)
{
	return ui_send(rq, MHD_HTTP_SEE_OTHER, "text/plain", "", cookie1,
	    cookie2, where);
}

/*
 * The value of field name in the urlencoded body, decoded ('+' is a
 * space) into out. Returns 0, or -1 when missing, malformed or longer
 * than n - 1.
 */
int
ui_form_get(const struct buf *body, const char *name, char *out, size_t n)
{
	const char *p = (const char *)body->data, *end = p + body->len;
	size_t nl = strlen(name), k = 0;
	unsigned v;

	while (p != NULL && p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *fe = amp != NULL ? amp : end;

		if ((size_t)(fe - p) > nl && memcmp(p, name, nl) == 0 &&
		    p[nl] == '=') {
			for (p += nl + 1; p < fe; p++) {
				if (k + 1 >= n)
					return -1;
				if (*p == '+')
					out[k++] = ' ';
				else if (*p == '%') {
					if (fe - p < 3 ||
					    sscanf(p + 1, "%2x", &v) != 1 ||
					    v == 0)
						return -1;
					out[k++] = (char)v;
					p += 2;
				} else
					out[k++] = *p;
			}
			out[k] = '\0';
			return 0;
		}
		p = amp != NULL ? amp + 1 : NULL;
	}
	return -1;
}

/*
 * The value of query parameter name (decoded by libmicrohttpd) into out.
 * Returns 0, or -1 when missing or longer than n - 1.
 */
int
ui_query_get(struct admin_req *rq, const char *name, char *out, size_t n)
{
	const char *v =
	    MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);

	if (v == NULL || strlen(v) >= n)
		return -1;
	memcpy(out, v, strlen(v) + 1);
	return 0;
}

/* The login form, with a fresh double-submit token (cookie and field). */
static enum MHD_Result
ui_login_form(struct ui_call *c, unsigned status, const char *msg)
{
	struct admin_req *rq = c->rq;
	bool secure = c->secure;
	char tok[65], cookie[160];
	enum MHD_Result rc;
	struct buf b;

	if (ui_random_hex(tok, 32) != 0)
		return ui_plain(rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "no randomness\n");
	ui_cookie(cookie, sizeof(cookie), UI_LOGIN_COOKIE, tok, secure, false);
	buf_init(&b, 8192);
	buf_addstr(&b, "<section><h2>Log in</h2>");
	if (msg != NULL) {
		buf_addstr(&b, "<p class=\"bad\">");
		ui_esc(&b, msg);
		buf_addstr(&b, "</p>");
	}
	buf_addstr(&b,
	    "<form method=\"post\" action=\"/ui/login\">"
	    "<input type=\"hidden\" name=\"csrf\" value=\"");
	ui_esc(&b, tok);
	buf_addstr(&b,
	    "\"><label>User <input name=\"user\" autocomplete=\"username\" "
	    "required></label><label>Password <input name=\"password\" "
	    "type=\"password\" autocomplete=\"current-password\" required>"
	    "</label><button type=\"submit\">Log in</button></form>"
	    "</section>");
	c->cookie1 = cookie;
	rc = ui_page_buf(c, status, "Log in", &b);
	c->cookie1 = NULL;
	return rc;
}

/*
 * POST /ui/login: the double-submit token, then the failure limit, then
 * the password (scrypt). Only a viewer or an admin gets a session.
 */
static enum MHD_Result
ui_login_post(struct ui_call *c, struct ui_sessions *s)
{
	struct admin_req *rq = c->rq;
	const char *client = c->client;
	bool secure = c->secure;
	char user[UI_FIELD_MAX], pw[UI_FIELD_MAX], tok[UI_FIELD_MAX];
	char id[65], cookie[160], clear[160];
	enum db_user_role role;
	struct gw_err err;
	enum MHD_Result rc;
	bool can_issue;
	int r;

	if (ui_form_get(&rq->body, "csrf", tok, sizeof(tok)) != 0 ||
	    !ui_token_eq(tok,
		MHD_lookup_connection_value(rq->conn, MHD_COOKIE_KIND,
		    UI_LOGIN_COOKIE))) {
		log_info("%s console: login refused: CSRF token missing or "
			 "wrong",
		    client);
		return ui_plain(rq, MHD_HTTP_FORBIDDEN,
		    "forbidden: the form's CSRF token is missing or wrong; "
		    "reload the login page\n");
	}
	if (ui_form_get(&rq->body, "user", user, sizeof(user)) != 0 ||
	    ui_form_get(&rq->body, "password", pw, sizeof(pw)) != 0)
		return ui_login_form(c, MHD_HTTP_BAD_REQUEST,
		    "User and password are both needed.");
	if (rq->ctx->rl != NULL &&
	    !ratelimit_take(rq->ctx->rl, client, (int64_t)time(NULL))) {
		gw_cleanse(pw, sizeof(pw));
		log_info("%s console: user=%s: too many failed logins", client,
		    user);
		return ui_login_form(c, MHD_HTTP_TOO_MANY_REQUESTS,
		    "Too many failed attempts; try again in a minute.");
	}
	r = db_user_check_role(rq->ctx->db, user, pw, &can_issue, &role, &err);
	gw_cleanse(pw, sizeof(pw));
	if (r == -1) {
		if (rq->ctx->rl != NULL)
			ratelimit_refund(rq->ctx->rl, client);
		log_warnx("%s console: user check: %s", client, err.msg);
		return ui_plain(rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "try again later\n");
	}
	if (r == 1 || role == DB_ROLE_NDES) {
		log_info("%s console: user=%s: login failed%s", client, user,
		    r == 0 ? " (an ndes user: no console)" : "");
		return ui_login_form(c, MHD_HTTP_OK,
		    "Wrong user name or password.");
	}
	if (rq->ctx->rl != NULL)
		ratelimit_refund(rq->ctx->rl, client);
	if (ui_sess_new(s, user, (int)role, id) != 0)
		return ui_plain(rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "no randomness\n");
	log_info("%s console: user=%s: logged in (%s)", client, user,
	    db_user_role_name(role));
	ui_cookie(cookie, sizeof(cookie), UI_COOKIE, id, secure, false);
	ui_cookie(clear, sizeof(clear), UI_LOGIN_COOKIE, "", secure, true);
	gw_cleanse(id, sizeof(id));
	rc = ui_redirect(rq, "/ui/", cookie, clear);
	gw_cleanse(cookie, sizeof(cookie));
	return rc;
}

/* POST /ui/logout: ends the session. */
static enum MHD_Result
ui_logout(struct ui_call *c)
{
	char clear[160];

	if (!c->post)
		return ui_plain(c->rq, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method not allowed\n");
	ui_sess_drop(c->sessions, c->sid);
	log_info("%s console: user=%s: logged out", c->client, c->who->user);
	ui_cookie(clear, sizeof(clear), UI_COOKIE, "", c->secure, true);
	return ui_redirect(c->rq, "/ui/login", clear, NULL);
}

/*
 * The console's pages. A path matches an entry when equal to it, or for
 * an entry ending in '/', when it starts with it (c->rest is the part
 * past it). An entry with a label is in the navigation bar. Every entry
 * but the open ones needs a session; a POST to any of them also needs the
 * session's CSRF token and the admin role (a viewer changes nothing),
 * except logout.
 */
static const struct ui_route {
	const char *path;
	const char *label; /* in the navigation bar, or NULL */
	ui_page_fn *fn;
	bool open; /* reached without a session (its URL is the secret) */
} ui_routes[] = {
	{ "/ui/", "Dashboard", ui_dashboard, false },
	{ "/ui/logout", NULL, ui_logout, false },
	{ "/ui/challenges", "Challenges", ui_challenges, false },
	{ "/ui/challenges/revoke", NULL, ui_chal_revoke, false },
	{ "/ui/mc/", NULL, ui_mc, true },
	{ "/ui/enrollments", "Enrollments", ui_enrollments, false },
	{ "/ui/enrollments/", NULL, ui_enrollment, false },
	{ "/ui/certificates", "Certificates", ui_certificates, false },
	{ "/ui/certificates/", NULL, ui_certificate, false },
	{ "/ui/users", "Users", ui_users, false },
};
#define UI_NROUTES (sizeof(ui_routes) / sizeof(ui_routes[0]))

static const struct ui_route *
ui_route_find(const char *p, const char **rest)
{
	size_t i, n;

	for (i = 0; i < UI_NROUTES; i++) {
		n = strlen(ui_routes[i].path);
		if (strcmp(p, ui_routes[i].path) == 0) {
			*rest = p + n;
			return &ui_routes[i];
		}
		if (n > 4 && ui_routes[i].path[n - 1] == '/' &&
		    strncmp(p, ui_routes[i].path, n) == 0) {
			*rest = p + n;
			return &ui_routes[i];
		}
	}
	return NULL;
}

static void
ui_nav(struct buf *b, const char *path)
{
	const char *rest;
	const struct ui_route *here = ui_route_find(path, &rest);
	size_t i;

	buf_addstr(b, "<nav>");
	for (i = 0; i < UI_NROUTES; i++) {
		if (ui_routes[i].label == NULL)
			continue;
		buf_addstr(b, "<a href=\"");
		ui_esc(b, ui_routes[i].path);
		buf_addstr(b,
		    here == &ui_routes[i] ? "\" class=\"here\">" : "\">");
		ui_esc(b, ui_routes[i].label);
		buf_addstr(b, "</a> ");
	}
	buf_addstr(b, "</nav>");
}

/* Routes a complete /ui/ request. */
enum MHD_Result
ui_handle(struct admin_req *rq, struct ui_sessions *s)
{
	const char *p = rq->path, *m = rq->method;
	const struct ui_route *r;
	char client[64], clear[160], tok[UI_FIELD_MAX];
	enum db_user_role role;
	struct ui_who who;
	struct gw_err err;
	struct ui_call c;
	int found;
	bool in;

	memset(&c, 0, sizeof(c));
	c.rq = rq;
	c.ctx = rq->ctx;
	c.sessions = s;
	c.client = client;
	c.get = strcmp(m, MHD_HTTP_METHOD_GET) == 0 ||
	    strcmp(m, MHD_HTTP_METHOD_HEAD) == 0;
	c.post = strcmp(m, MHD_HTTP_METHOD_POST) == 0;
	ui_client(rq, client, sizeof(client), &c.secure);
	if (rq->too_big)
		return ui_plain(rq, MHD_HTTP_CONTENT_TOO_LARGE,
		    "request body too large\n");
	if (strcmp(p, "/ui") == 0)
		return ui_redirect(rq, "/ui/", NULL, NULL);
	if (strcmp(p, "/ui/style.css") == 0)
		return c.get ? ui_send(rq, MHD_HTTP_OK, "text/css", ui_css,
				   NULL, NULL, NULL) :
			       ui_plain(rq, MHD_HTTP_METHOD_NOT_ALLOWED,
				   "method not allowed\n");
	c.sid =
	    MHD_lookup_connection_value(rq->conn, MHD_COOKIE_KIND, UI_COOKIE);
	memset(&who, 0, sizeof(who));
	in = ui_sess_find(s, rq->ctx->cfg, c.sid, &who);
	if (strcmp(p, "/ui/login") == 0) {
		if (c.post)
			return ui_login_post(&c, s);
		if (!c.get)
			return ui_plain(rq, MHD_HTTP_METHOD_NOT_ALLOWED,
			    "method not allowed\n");
		if (in)
			return ui_redirect(rq, "/ui/", NULL, NULL);
		return ui_login_form(&c, MHD_HTTP_OK, NULL);
	}
	if ((r = ui_route_find(p, &c.rest)) == NULL)
		return ui_plain(rq, MHD_HTTP_NOT_FOUND, "not found\n");
	if (!c.get && !c.post)
		return ui_plain(rq, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method not allowed\n");
	if (r->open)
		return r->fn(&c);
	ui_cookie(clear, sizeof(clear), UI_COOKIE, "", c.secure, true);
	if (!in)
		return ui_redirect(rq, "/ui/login",
		    c.sid != NULL ? clear : NULL, NULL);
	/*
	 * The role is the store's now, not the one the session logged in
	 * with: a user removed or given another role (the CLI, another
	 * gateway) has it from the next request on, and one that is no
	 * longer a console user is logged out.
	 */
	if ((found = db_user_role(rq->ctx->db, who.user, &role, &err)) == -1) {
		log_warnx("%s console: user=%s: role check: %s", client,
		    who.user, err.msg);
		return ui_plain(rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "try again later\n");
	}
	if (found == 1 || role == DB_ROLE_NDES) {
		ui_sess_drop(s, c.sid);
		log_info("%s console: user=%s: session ended: no longer a "
			 "console user",
		    client, who.user);
		return ui_redirect(rq, "/ui/login", clear, NULL);
	}
	who.role = (int)role;
	c.who = &who;
	if (c.post) {
		/* Every POST of a session returns its CSRF token. */
		if (ui_form_get(&rq->body, "csrf", tok, sizeof(tok)) != 0 ||
		    !ui_token_eq(tok, who.csrf)) {
			log_info("%s console: user=%s: %s refused: CSRF token "
				 "missing or wrong",
			    client, who.user, p);
			return ui_plain(rq, MHD_HTTP_FORBIDDEN,
			    "forbidden: the form's CSRF token is missing or "
			    "wrong\n");
		}
		if (r->fn != ui_logout && !ui_is_admin(&who)) {
			log_info("%s console: user=%s: %s refused: a viewer "
				 "changes nothing",
			    client, who.user, p);
			return ui_plain(rq, MHD_HTTP_FORBIDDEN,
			    "forbidden: a viewer can look but not change; ask "
			    "an admin\n");
		}
	}
	return r->fn(&c);
}
