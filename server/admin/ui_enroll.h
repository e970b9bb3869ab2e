/*
 * Shared by the console's enrollment pages (ui_enroll.c, ui_enroll_view.c).
 */
#ifndef GW_ADMIN_UI_ENROLL_H
#define GW_ADMIN_UI_ENROLL_H

struct buf;

const char *ui_enroll_state_name(int state);

#endif
