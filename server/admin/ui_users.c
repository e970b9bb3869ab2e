/*
 * The console's users page (README "Admin web console", "Users"): every
 * user of the NDES page and of the console with its role, right to issue,
 * profiles and creation time, 50 to a page. An admin also gets the forms:
 * add a user (the checks of `scepgw user add`: db_user_add_role() for the
 * name, password and profile list, config_profiles_usable() for an ndes
 * user's profiles), change a role, remove one after a confirmation page.
 * Nobody removes or demotes themselves, and the last admin stays: the
 * console would otherwise lock its admins out. A removed or re-roled
 * user's sessions end at once (ui_sess_drop_user()), and a change needs
 * its author to be an admin in the store still, not only in its session. The
 * password is hashed (scrypt) on this thread, as at login, and wiped with the
 * request body; it is never logged.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "db.h"
#include "gw.h"
#include "gw_err.h"
#include "log.h"
#include "secure.h"
#include "admin_int.h"
#include "ui_int.h"

#define USERS_PAGE 50

/* One page of the list being printed. */
struct users_acc {
	struct buf *b;
	const struct ui_who *who;
	long skip; /* rows before the page */
	long seen; /* rows walked */
};

/* What a POST needs to know of one user and of the admins. */
struct users_find {
	const char *name;
	const char *actor; /* the session's user */
	bool found;
	enum db_user_role role;
	int admins;
	bool actor_admin; /* the session's user is an admin in the store */
};

/* The role <select>, with sel chosen. */
static void
users_role_select(struct buf *b, enum db_user_role sel)
{
	int r;

	buf_addstr(b, "<select name=\"role\">");
	for (r = DB_ROLE_NDES; r <= DB_ROLE_ADMIN; r++)
		buf_printf(b, "<option value=\"%s\"%s>%s</option>",
		    db_user_role_name((enum db_user_role)r),
		    r == (int)sel ? " selected" : "",
		    db_user_role_name((enum db_user_role)r));
	buf_addstr(b, "</select>");
}

/* One user's table row; an admin's row carries its forms. */
static int
users_row(void *arg, const struct db_user *u)
{
	struct users_acc *a = arg;
	struct buf *b = a->b;
	bool self = strcmp(u->name, a->who->user) == 0;
	char when[40];

	if (a->seen++ < a->skip)
		return 0;
	if (a->seen > a->skip + USERS_PAGE)
		return 0; /* walked on to count the rest */
	ui_time(u->created, when, sizeof(when));
	buf_addstr(b, "<tr><td>");
	ui_esc(b, u->name);
	buf_printf(b, "%s</td><td>%s</td><td>%s</td><td>", self ? " (you)" : "",
	    db_user_role_name(u->role),
	    u->role != DB_ROLE_NDES ? "-" :
		u->can_issue	    ? "yes" :
				      "no");
	ui_esc(b,
	    u->role != DB_ROLE_NDES ? "-" :
		u->profiles != NULL ? u->profiles :
				      "default");
	buf_printf(b, "</td><td>%s</td>", when);
	if (ui_is_admin(a->who)) {
		buf_addstr(b, "<td>");
		if (!self) {
			buf_addstr(b,
			    "<form method=\"post\" action=\"/ui/users\">");
			ui_csrf_field(b, a->who);
			buf_addstr(b,
			    "<input type=\"hidden\" name=\"op\" value=\"role\">"
			    "<input type=\"hidden\" name=\"name\" value=\"");
			ui_esc(b, u->name);
			buf_addstr(b, "\">");
			users_role_select(b, u->role);
			buf_addstr(b,
			    " <button type=\"submit\">Change role</button> "
			    "<a href=\"/ui/users?remove=");
			ui_url_esc(b, u->name);
			buf_addstr(b, "\">Remove…</a></form>");
		}
		buf_addstr(b, "</td>");
	}
	buf_addstr(b, "</tr>");
	return 0;
}

/* The admin's form to add a user. */
static void
users_add_form(struct buf *b, const struct ui_who *who)
{
	buf_addstr(b,
	    "<section><h2>Add a user</h2>"
	    "<form method=\"post\" action=\"/ui/users\" id=\"add-user\">");
	ui_csrf_field(b, who);
	buf_addstr(b,
	    "<input type=\"hidden\" name=\"op\" value=\"add\">"
	    "<label>Name <input name=\"name\" required maxlength=\"64\" "
	    "autocomplete=\"off\"></label>"
	    "<label>Password <input name=\"password\" type=\"password\" "
	    "required autocomplete=\"new-password\"></label>"
	    "<label>Password again <input name=\"password2\" "
	    "type=\"password\" required autocomplete=\"new-password\">"
	    "</label><label>Role ");
	users_role_select(b, DB_ROLE_NDES);
	buf_addstr(b,
	    "</label><p class=\"muted\">An ndes user fetches challenges on "
	    "the NDES page and cannot log in here; a viewer or an admin logs "
	    "in here and gets no NDES challenge. The two below are for ndes "
	    "users only.</p>"
	    "<label>Profiles (comma-separated) <input name=\"profiles\" "
	    "value=\"default\"></label>"
	    "<label><input type=\"checkbox\" name=\"noissue\" value=\"1\"> "
	    "No right to issue (the NDES page shows no challenge)</label>"
	    "<button type=\"submit\">Add user</button></form></section>");
}

/* The list page, with msg (escaped here) on top when not NULL. */
static enum MHD_Result
users_list_page(struct ui_call *c, unsigned status, const char *msg, bool bad)
{
	struct users_acc a;
	struct gw_err err;
	char q[32];
	long page = 0;
	struct buf b;

	if (ui_query_get(c->rq, "page", q, sizeof(q)) == 0)
		page = strtol(q, NULL, 10);
	if (page < 0 || page > 1000000)
		page = 0;
	buf_init(&b, 512 * 1024);
	if (msg != NULL) {
		buf_printf(&b, "<p class=\"%s\" id=\"msg\">",
		    bad ? "bad" : "ok");
		ui_esc(&b, msg);
		buf_addstr(&b, "</p>");
	}
	buf_addstr(&b,
	    "<section><h2>Users</h2><table id=\"users\"><tr><th>Name</th>"
	    "<th>Role</th><th>Can issue</th><th>Profiles</th>"
	    "<th>Created</th>");
	if (ui_is_admin(c->who))
		buf_addstr(&b, "<th>Change</th>");
	buf_addstr(&b, "</tr>");
	memset(&a, 0, sizeof(a));
	a.b = &b;
	a.who = c->who;
	a.skip = page * USERS_PAGE;
	if (db_user_list(c->ctx->db, users_row, &a, &err) != 0) {
		log_warnx("console: users: %s", err.msg);
		buf_cleanup(&b);
		return ui_plain(c->rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "try again later\n");
	}
	buf_printf(&b, "</table><p class=\"muted\">%ld users.", a.seen);
	if (page > 0)
		buf_printf(&b, " <a href=\"/ui/users?page=%ld\">Previous</a>",
		    page - 1);
	if (a.seen > a.skip + USERS_PAGE)
		buf_printf(&b, " <a href=\"/ui/users?page=%ld\">Next</a>",
		    page + 1);
	buf_addstr(&b, "</p></section>");
	if (ui_is_admin(c->who))
		users_add_form(&b, c->who);
	return ui_page_buf(c, status, "Users", &b);
}

static int
users_find_fn(void *arg, const struct db_user *u)
{
	struct users_find *f = arg;

	if (u->role == DB_ROLE_ADMIN)
		f->admins++;
	if (u->role == DB_ROLE_ADMIN && strcmp(u->name, f->actor) == 0)
		f->actor_admin = true;
	if (strcmp(u->name, f->name) == 0) {
		f->found = true;
		f->role = u->role;
	}
	return 0;
}

/* Looks name up and counts the admins. 0, or -1 (logged). */
static int
users_find(struct ui_call *c, const char *name, struct users_find *f)
{
	struct gw_err err;

	memset(f, 0, sizeof(*f));
	f->name = name;
	f->actor = c->who->user;
	if (db_user_list(c->ctx->db, users_find_fn, f, &err) != 0) {
		log_warnx("console: users: %s", err.msg);
		return -1;
	}
	return 0;
}

/* GET /ui/users?remove=NAME: the confirmation page (admins only). */
static enum MHD_Result
users_confirm(struct ui_call *c, const char *name)
{
	struct users_find f;
	struct buf b;

	if (!ui_is_admin(c->who))
		return ui_plain(c->rq, MHD_HTTP_FORBIDDEN,
		    "forbidden: a viewer can look but not change; ask an "
		    "admin\n");
	if (users_find(c, name, &f) != 0)
		return ui_plain(c->rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "try again later\n");
	if (!f.found)
		return users_list_page(c, MHD_HTTP_NOT_FOUND, "No such user.",
		    true);
	buf_init(&b, 64 * 1024);
	buf_addstr(&b, "<section><h2>Remove a user</h2><p>Remove ");
	ui_esc(&b, name);
	buf_printf(&b,
	    " (%s)? Its sessions end at once; this cannot be undone.</p>"
	    "<form method=\"post\" action=\"/ui/users\">",
	    db_user_role_name(f.role));
	ui_csrf_field(&b, c->who);
	buf_addstr(&b,
	    "<input type=\"hidden\" name=\"op\" value=\"remove\">"
	    "<input type=\"hidden\" name=\"name\" value=\"");
	ui_esc(&b, name);
	buf_addstr(&b,
	    "\"><button type=\"submit\">Remove</button> "
	    "<a href=\"/ui/users\">Cancel</a></form></section>");
	return ui_page_buf(c, MHD_HTTP_OK, "Users", &b);
}

/*
 * Why an admin may not take away name's role (demote, remove): itself,
 * or the last admin; NULL when it may. Sets *status.
 */
static const char *
users_keep_admin(struct ui_call *c, const char *name,
    const struct users_find *f, bool removing, unsigned *status)
{
	*status = MHD_HTTP_CONFLICT;
	if (strcmp(name, c->who->user) == 0)
		return removing ? "You cannot remove yourself; another admin "
				  "can." :
				  "You cannot change your own role; another "
				  "admin can.";
	if (f->role == DB_ROLE_ADMIN && f->admins <= 1)
		return "That is the last admin: make another user admin first.";
	return NULL;
}

/*
 * ui_handle() read the acting user's role at the start of the request;
 * the list read just before a change must still say admin (`scepgw user
 * set --role`, or another gateway, may have changed it in between).
 */
static enum MHD_Result
users_stale(struct ui_call *c)
{
	log_info("%s console: user=%s: %s refused: no longer an admin",
	    c->client, c->who->user, c->rq->path);
	return ui_plain(c->rq, MHD_HTTP_FORBIDDEN,
	    "forbidden: your account is no longer an admin; log in again\n");
}

/* The add form's fields; the passwords are wiped by the caller. */
struct users_add {
	char name[UI_FIELD_MAX];
	char pw[UI_FIELD_MAX];
	char pw2[UI_FIELD_MAX];
	char role[UI_FIELD_MAX];
	char profiles[UI_FIELD_MAX];
	bool noissue;
};

/* POST op=add: the checks of `scepgw user add`, then the scrypt hash. */
static enum MHD_Result
users_add(struct ui_call *c, struct users_add *f)
{
	const struct buf *body = &c->rq->body;
	enum db_user_role role;
	struct users_find who;
	char why[1200];
	struct gw_err err;

	if (users_find(c, "", &who) != 0)
		return ui_plain(c->rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "try again later\n");
	if (!who.actor_admin)
		return users_stale(c);
	if (ui_form_get(body, "name", f->name, sizeof(f->name)) != 0 ||
	    ui_form_get(body, "password", f->pw, sizeof(f->pw)) != 0 ||
	    ui_form_get(body, "password2", f->pw2, sizeof(f->pw2)) != 0 ||
	    ui_form_get(body, "role", f->role, sizeof(f->role)) != 0)
		return users_list_page(c, MHD_HTTP_BAD_REQUEST,
		    "Name, both passwords and a role are needed.", true);
	if (db_user_role_parse(f->role, &role) != 0)
		return users_list_page(c, MHD_HTTP_BAD_REQUEST,
		    "Role: ndes, viewer or admin.", true);
	if (strcmp(f->pw, f->pw2) != 0)
		return users_list_page(c, MHD_HTTP_BAD_REQUEST,
		    "The two passwords differ.", true);
	if (ui_form_get(body, "profiles", f->profiles, sizeof(f->profiles)) !=
		0 ||
	    f->profiles[0] == '\0')
		snprintf(f->profiles, sizeof(f->profiles), "default");
	f->noissue = ui_form_get(body, "noissue", why, sizeof(why)) == 0;
	if (!db_user_profiles_valid(f->profiles))
		return users_list_page(c, MHD_HTTP_BAD_REQUEST,
		    "Profiles: names of A-Z a-z 0-9 _ - separated by commas, "
		    "each once.",
		    true);
	/* A console user fetches no NDES challenges: no profile to check. */
	if (role == DB_ROLE_NDES &&
	    !config_profiles_usable(c->ctx->cfg, f->profiles, why, sizeof(why)))
		return users_list_page(c, MHD_HTTP_BAD_REQUEST, why, true);
	if (db_user_add_role(c->ctx->db, f->name, f->pw, !f->noissue,
		f->profiles, role, (int64_t)time(NULL), &err) != 0) {
		if (err.code == DB_ERR_EXISTS)
			return users_list_page(c, MHD_HTTP_CONFLICT,
			    "A user of that name exists already.", true);
		if (err.code == DB_ERR_ARG)
			return users_list_page(c, MHD_HTTP_BAD_REQUEST, err.msg,
			    true);
		log_warnx("console: users: %s", err.msg);
		return ui_plain(c->rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "try again later\n");
	}
	log_info("%s console: user=%s: added user %s (%s)", c->client,
	    c->who->user, f->name, db_user_role_name(role));
	return ui_redirect(c->rq, "/ui/users?done=added", NULL, NULL);
}

/* POST op=role or op=remove for the user in the form's name. */
static enum MHD_Result
users_change(struct ui_call *c, bool removing)
{
	const struct buf *body = &c->rq->body;
	char name[UI_FIELD_MAX], rs[UI_FIELD_MAX];
	enum db_user_role role = DB_ROLE_NDES;
	struct users_find f;
	struct gw_err err;
	const char *why;
	unsigned status;
	int r;

	if (ui_form_get(body, "name", name, sizeof(name)) != 0)
		return users_list_page(c, MHD_HTTP_BAD_REQUEST,
		    "Which user? The form has no name.", true);
	if (!removing &&
	    (ui_form_get(body, "role", rs, sizeof(rs)) != 0 ||
		db_user_role_parse(rs, &role) != 0))
		return users_list_page(c, MHD_HTTP_BAD_REQUEST,
		    "Role: ndes, viewer or admin.", true);
	if (users_find(c, name, &f) != 0)
		return ui_plain(c->rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "try again later\n");
	if (!f.found)
		return users_list_page(c, MHD_HTTP_NOT_FOUND, "No such user.",
		    true);
	if (!removing && role == f.role)
		return ui_redirect(c->rq, "/ui/users?done=role", NULL, NULL);
	if ((removing || role != DB_ROLE_ADMIN) &&
	    (why = users_keep_admin(c, name, &f, removing, &status)) != NULL) {
		log_info("%s console: user=%s: %s %s refused: %s", c->client,
		    c->who->user, removing ? "removing" : "re-roling", name,
		    why);
		return users_list_page(c, status, why, true);
	}
	if (!f.actor_admin)
		return users_stale(c);
	r = removing ? db_user_remove(c->ctx->db, name, &err) :
		       db_user_set_role(c->ctx->db, name, role, &err);
	if (r != 0) {
		if (err.code == DB_ERR_NOTFOUND)
			return users_list_page(c, MHD_HTTP_NOT_FOUND,
			    "No such user.", true);
		log_warnx("console: users: %s", err.msg);
		return ui_plain(c->rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "try again later\n");
	}
	ui_sess_drop_user(c->sessions, name);
	if (removing)
		log_info("%s console: user=%s: removed user %s", c->client,
		    c->who->user, name);
	else
		log_info("%s console: user=%s: user %s is now %s", c->client,
		    c->who->user, name, db_user_role_name(role));
	return ui_redirect(c->rq,
	    removing ? "/ui/users?done=removed" : "/ui/users?done=role", NULL,
	    NULL);
}

/* GET or POST /ui/users (ui.c has checked the CSRF token and role). */
enum MHD_Result
ui_users(struct ui_call *c)
{
	static const char *const done[][2] = {
		{ "added", "User added." },
		{ "role", "Role changed; that user's sessions ended." },
		{ "removed", "User removed; its sessions ended." },
	};
	char op[16], q[UI_FIELD_MAX];
	struct users_add *f;
	enum MHD_Result rc;
	size_t i;

	if (c->get) {
		if (ui_query_get(c->rq, "remove", q, sizeof(q)) == 0)
			return users_confirm(c, q);
		if (ui_query_get(c->rq, "done", op, sizeof(op)) == 0)
			for (i = 0; i < sizeof(done) / sizeof(done[0]); i++)
				if (strcmp(op, done[i][0]) == 0)
					return users_list_page(c, MHD_HTTP_OK,
					    done[i][1], false);
		return users_list_page(c, MHD_HTTP_OK, NULL, false);
	}
	if (!c->post)
		return ui_plain(c->rq, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method not allowed\n");
	if (ui_form_get(&c->rq->body, "op", op, sizeof(op)) != 0)
		op[0] = '\0';
	if (strcmp(op, "add") == 0) {
		if ((f = calloc(1, sizeof(*f))) == NULL)
			rc = ui_plain(c->rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
			    "out of memory\n");
		else {
			rc = users_add(c, f);
			gw_cleanse(f, sizeof(*f));
			free(f);
		}
	} else if (strcmp(op, "role") == 0 || strcmp(op, "remove") == 0)
		rc = users_change(c, strcmp(op, "remove") == 0);
	else
		rc = users_list_page(c, MHD_HTTP_BAD_REQUEST, "Unknown action.",
		    true);
	/* The body held the password of an add. */
	gw_cleanse(c->rq->body.data, c->rq->body.len);
	return rc;
}
