/*
 * The admin web console (README "Admin web console"): /ui/ on the admin
 * listener, beside the token-protected JSON API but with its own login.
 *
 * Logins are console users (`scepgw user add NAME --role viewer|admin`),
 * checked with scrypt on the admin listener's thread; a failure (a wrong
 * password, an unknown name or an "ndes" user, all answered alike) counts
 * against the per-address failure limit ([enroll] max_failures_per_minute)
 * as on the NDES page. A session is a 256-bit random id in the cookie
 * scepgw_session (HttpOnly, SameSite=Strict, Path=/ui/, and Secure when a
 * trusted proxy says the client spoke https); only the id's SHA-256 is
 * kept, in this process's memory, with its idle and absolute deadlines
 * ([console] idle_seconds, absolute_seconds). Every form carries a CSRF
 * token that every POST must return: the session's, or before login a
 * double-submit token also set as the cookie scepgw_login. Every answer
 * carries the headers of ui_headers[] (a strict Content-Security-Policy,
 * no framing, no caching) and everything printed goes through ui_esc().
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

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

/* Sessions kept at most; a login beyond evicts the least recently used. */
#define UI_SESS_MAX 256
#define UI_COOKIE "scepgw_session"
#define UI_LOGIN_COOKIE "scepgw_login"
#define UI_FIELD_MAX 1100

struct ui_sess {
	bool used;
	uint8_t idh[32]; /* SHA-256 of the cookie's id */
	int64_t born;	 /* monotonic seconds */
	int64_t last;
	struct ui_who who;
};

struct ui_sessions {
	pthread_mutex_t mu;
	struct ui_sess v[UI_SESS_MAX];
};

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
    "label{display:block;margin:.5em 0}\n";

/* True for the console's paths: /ui and everything under /ui/. */
bool
ui_is_path(const char *url)
{
	return strcmp(url, "/ui") == 0 || strncmp(url, "/ui/", 4) == 0;
}

int
ui_sessions_new(struct ui_sessions **out)
{
	struct ui_sessions *s;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -1;
	pthread_mutex_init(&s->mu, NULL);
	*out = s;
	return 0;
}

/* Frees the store, wiping it; accepts NULL. */
void
ui_sessions_free(struct ui_sessions *s)
{
	if (s == NULL)
		return;
	pthread_mutex_destroy(&s->mu);
	gw_cleanse(s->v, sizeof(s->v));
	free(s);
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

static int64_t
ui_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* n random bytes as 2n hex characters into out (2n + 1 bytes). */
static int
ui_random_hex(char *out, size_t nbytes)
{
	static const char hx[] = "0123456789abcdef";
	uint8_t r[32];
	size_t i;

	if (nbytes > sizeof(r) || gw_random_bytes(r, nbytes) != 0)
		return -1;
	for (i = 0; i < nbytes; i++) {
		out[2 * i] = hx[r[i] >> 4];
		out[2 * i + 1] = hx[r[i] & 15];
	}
	out[2 * nbytes] = '\0';
	gw_cleanse(r, sizeof(r));
	return 0;
}

/* Constant-time equality of two 64-character tokens. */
static bool
ui_token_eq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strlen(a) == 64 && strlen(b) == 64 &&
	    CRYPTO_memcmp(a, b, 64) == 0;
}

/*
 * Finds the session of cookie id, drops it when expired, else refreshes
 * its idle deadline and copies it into *who. Returns true when found.
 */
static bool
ui_sess_find(struct ui_sessions *s, const struct gw_config *cfg, const char *id,
    struct ui_who *who)
{
	uint8_t h[32];
	int64_t now = ui_now();
	bool found = false;
	size_t i;

	if (id == NULL || strlen(id) != 64)
		return false;
	SHA256((const unsigned char *)id, 64, h);
	pthread_mutex_lock(&s->mu);
	for (i = 0; i < UI_SESS_MAX; i++) {
		if (!s->v[i].used ||
		    CRYPTO_memcmp(s->v[i].idh, h, sizeof(h)) != 0)
			continue;
		if (now - s->v[i].last >= cfg->console_idle_seconds ||
		    now - s->v[i].born >= cfg->console_absolute_seconds) {
			log_info("console: user=%s: session expired",
			    s->v[i].who.user);
			gw_cleanse(&s->v[i], sizeof(s->v[i]));
			break;
		}
		s->v[i].last = now;
		*who = s->v[i].who;
		found = true;
		break;
	}
	pthread_mutex_unlock(&s->mu);
	return found;
}

/* Forgets the session of cookie id (logout). */
static void
ui_sess_drop(struct ui_sessions *s, const char *id)
{
	uint8_t h[32];
	size_t i;

	if (id == NULL || strlen(id) != 64)
		return;
	SHA256((const unsigned char *)id, 64, h);
	pthread_mutex_lock(&s->mu);
	for (i = 0; i < UI_SESS_MAX; i++)
		if (s->v[i].used &&
		    CRYPTO_memcmp(s->v[i].idh, h, sizeof(h)) == 0)
			gw_cleanse(&s->v[i], sizeof(s->v[i]));
	pthread_mutex_unlock(&s->mu);
}

/*
 * A new session for user with role: its id (64 hex) into id. Takes a free
 * slot, else the least recently used one. Returns 0 or -1 (no entropy).
 */
static int
ui_sess_new(struct ui_sessions *s, const char *user, int role, char id[65])
{
	struct ui_sess n;
	size_t i, pick = 0;

	memset(&n, 0, sizeof(n));
	if (ui_random_hex(id, 32) != 0 || ui_random_hex(n.who.csrf, 32) != 0)
		return -1;
	SHA256((const unsigned char *)id, 64, n.idh);
	n.used = true;
	n.born = n.last = ui_now();
	/* A name that logged in is 1..64 characters (db_user.c). */
	snprintf(n.who.user, sizeof(n.who.user), "%.64s", user);
	n.who.role = role;
	pthread_mutex_lock(&s->mu);
	for (i = 0; i < UI_SESS_MAX; i++) {
		if (!s->v[i].used) {
			pick = i;
			break;
		}
		if (s->v[i].last < s->v[pick].last)
			pick = i;
	}
	s->v[pick] = n;
	pthread_mutex_unlock(&s->mu);
	gw_cleanse(&n, sizeof(n));
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

/* Sends an HTML page: the frame around body (already escaped). */
static enum MHD_Result
ui_page(struct admin_req *rq, unsigned status, const char *title,
    const struct ui_who *who, const char *body, const char *cookie1,
    const char *cookie2)
{
	enum MHD_Result rc;
	struct buf b;

	buf_init(&b, 1024 * 1024);
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
		buf_addstr(&b, "<form method=\"post\" action=\"/ui/logout\">");
		ui_esc(&b, who->user);
		buf_printf(&b, " (%s) ",
		    db_user_role_name((enum db_user_role)who->role));
		buf_addstr(&b, "<input type=\"hidden\" name=\"csrf\" value=\"");
		ui_esc(&b, who->csrf);
		buf_addstr(&b,
		    "\"><button type=\"submit\">Log out</button>"
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
	    (const char *)b.data, cookie1, cookie2, NULL);
	buf_cleanup(&b);
	return rc;
}

/* A plain answer (403, 404, 405) with the common headers. */
static enum MHD_Result
ui_plain(struct admin_req *rq, unsigned status, const char *text)
{
	return ui_send(rq, status, "text/plain; charset=utf-8", text, NULL,
	    NULL, NULL);
}

/* 303 to where, with up to two cookies. */
static enum MHD_Result
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
static int
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

/* The login form, with a fresh double-submit token (cookie and field). */
static enum MHD_Result
ui_login_form(struct admin_req *rq, bool secure, unsigned status,
    const char *msg)
{
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
	buf_add(&b, "", 1);
	rc = ui_page(rq, status, "Log in", NULL,
	    b.data != NULL ? (const char *)b.data : "", cookie, NULL);
	buf_cleanup(&b);
	return rc;
}

/*
 * POST /ui/login: the double-submit token, then the failure limit, then
 * the password (scrypt). Only a viewer or an admin gets a session.
 */
static enum MHD_Result
ui_login_post(struct admin_req *rq, struct ui_sessions *s, const char *client,
    bool secure)
{
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
		return ui_login_form(rq, secure, MHD_HTTP_BAD_REQUEST,
		    "User and password are both needed.");
	if (rq->ctx->rl != NULL &&
	    !ratelimit_take(rq->ctx->rl, client, (int64_t)time(NULL))) {
		gw_cleanse(pw, sizeof(pw));
		log_info("%s console: user=%s: too many failed logins", client,
		    user);
		return ui_login_form(rq, secure, MHD_HTTP_TOO_MANY_REQUESTS,
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
		return ui_login_form(rq, secure, MHD_HTTP_OK,
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

/* Routes a complete /ui/ request. */
enum MHD_Result
ui_handle(struct admin_req *rq, struct ui_sessions *s)
{
	const char *p = rq->path, *m = rq->method, *sid;
	bool get = strcmp(m, MHD_HTTP_METHOD_GET) == 0 ||
	    strcmp(m, MHD_HTTP_METHOD_HEAD) == 0;
	bool post = strcmp(m, MHD_HTTP_METHOD_POST) == 0, secure, in;
	char client[64], clear[160], tok[UI_FIELD_MAX];
	struct ui_who who;
	enum MHD_Result rc;
	struct buf b;

	ui_client(rq, client, sizeof(client), &secure);
	if (rq->too_big)
		return ui_plain(rq, MHD_HTTP_CONTENT_TOO_LARGE,
		    "request body too large\n");
	if (strcmp(p, "/ui") == 0)
		return ui_redirect(rq, "/ui/", NULL, NULL);
	if (strcmp(p, "/ui/style.css") == 0)
		return get ? ui_send(rq, MHD_HTTP_OK, "text/css", ui_css, NULL,
				 NULL, NULL) :
			     ui_plain(rq, MHD_HTTP_METHOD_NOT_ALLOWED,
				 "method not allowed\n");
	sid = MHD_lookup_connection_value(rq->conn, MHD_COOKIE_KIND, UI_COOKIE);
	memset(&who, 0, sizeof(who));
	in = ui_sess_find(s, rq->ctx->cfg, sid, &who);
	ui_cookie(clear, sizeof(clear), UI_COOKIE, "", secure, true);
	if (strcmp(p, "/ui/login") == 0) {
		if (post)
			return ui_login_post(rq, s, client, secure);
		if (!get)
			return ui_plain(rq, MHD_HTTP_METHOD_NOT_ALLOWED,
			    "method not allowed\n");
		if (in)
			return ui_redirect(rq, "/ui/", NULL, NULL);
		return ui_login_form(rq, secure, MHD_HTTP_OK, NULL);
	}
	if (strcmp(p, "/ui/logout") != 0 && strcmp(p, "/ui/") != 0)
		return ui_plain(rq, MHD_HTTP_NOT_FOUND, "not found\n");
	if (!in)
		return ui_redirect(rq, "/ui/login", sid != NULL ? clear : NULL,
		    NULL);
	if (post) {
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
		if (strcmp(p, "/ui/logout") != 0)
			return ui_plain(rq, MHD_HTTP_METHOD_NOT_ALLOWED,
			    "method not allowed\n");
		ui_sess_drop(s, sid);
		log_info("%s console: user=%s: logged out", client, who.user);
		return ui_redirect(rq, "/ui/login", clear, NULL);
	}
	if (!get || strcmp(p, "/ui/") != 0)
		return ui_plain(rq, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method not allowed\n");
	buf_init(&b, 512 * 1024);
	ui_dashboard(rq->ctx, &who, &b);
	buf_add(&b, "", 1);
	rc = ui_page(rq, MHD_HTTP_OK, "Dashboard", &who,
	    b.data != NULL ? (const char *)b.data : "", NULL, NULL);
	buf_cleanup(&b);
	return rc;
}
