/*
 * The admin web console under /ui/ on the admin listener (README "Admin
 * web console"): its own login with console users (roles viewer and
 * admin), server-side sessions, a CSRF token per session, and pages
 * rendered here in C. Private to the admin room.
 */
#ifndef GW_ADMIN_UI_H
#define GW_ADMIN_UI_H

#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>

#include "buf.h"

struct admin_req;
struct gw_ctx;
struct ui_sessions;

/* What a logged-in page knows of its session (copied out of the store). */
struct ui_who {
	char user[72];
	int role;      /* enum db_user_role */
	char csrf[65]; /* hex, the session's CSRF token */
};

/* ui.c */
bool ui_is_path(const char *url);
int ui_sessions_new(struct ui_sessions **out);
void ui_sessions_free(struct ui_sessions *s);
enum MHD_Result ui_handle(struct admin_req *rq, struct ui_sessions *s);
int ui_esc(struct buf *b, const char *s);

/* ui_dash.c: the dashboard's body into b. */
void ui_dashboard(struct gw_ctx *ctx, const struct ui_who *who, struct buf *b);

#endif
