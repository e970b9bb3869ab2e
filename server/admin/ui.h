/*
 * The admin web console under /ui/ on the admin listener (README "Admin
 * web console"): what admin.c needs of it. The pages' own interface is
 * ui_int.h.
 */
#ifndef GW_ADMIN_UI_H
#define GW_ADMIN_UI_H

#include <stdbool.h>

#include <microhttpd.h>

struct admin_req;
struct ui_sessions;

/* ui.c */
bool ui_is_path(const char *url);
enum MHD_Result ui_handle(struct admin_req *rq, struct ui_sessions *s);

/* ui_mc.c: the one-time .mobileconfig links kept at most. */
#define UI_MC_MAX 1000
void ui_mc_forget(long long id);

/* ui_sess.c */
int ui_sessions_new(struct ui_sessions **out);
void ui_sessions_free(struct ui_sessions *s);

#endif
