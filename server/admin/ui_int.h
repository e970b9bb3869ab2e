/*
 * Private to the web console's files (ui*.c): a page is a function of
 * struct ui_call, listed once in ui.c's route table, which has already
 * checked the session, the CSRF token of a POST and, for a POST, the
 * admin role (README "Admin web console"). Pages print through ui_esc()
 * only and answer through the helpers below, so every answer carries the
 * console's headers.
 */
#ifndef GW_ADMIN_UI_INT_H
#define GW_ADMIN_UI_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "buf.h"

struct admin_req;
struct gw_config;
struct gw_ctx;
struct ui_sessions;

/* Longest form field or query value a page reads. */
#define UI_FIELD_MAX 1100

/* What a logged-in page knows of its session (copied out of the store). */
struct ui_who {
	char user[72];
	int role;      /* enum db_user_role */
	char csrf[65]; /* hex, the session's CSRF token */
};

/* One request to a page. */
struct ui_call {
	struct admin_req *rq;
	struct gw_ctx *ctx;
	struct ui_sessions *sessions;
	const char *sid;	  /* the session cookie's value, or NULL */
	const struct ui_who *who; /* NULL on an open route */
	const char *client;	  /* address for the log and limits */
	const char *rest;	  /* the path past the route's prefix */
	bool secure;		  /* came over TLS through a trusted proxy */
	bool get;		  /* GET or HEAD */
	bool post;
	const char *cookie1; /* Set-Cookie lines ui_page() sends; NULL */
	const char *cookie2;
};

typedef enum MHD_Result ui_page_fn(struct ui_call *c);

/* ui.c: answers and input. */
int ui_esc(struct buf *b, const char *s);
void ui_url_esc(struct buf *b, const char *s);
void ui_txid_link(struct buf *b, const char *txid);
enum MHD_Result ui_page(struct ui_call *c, unsigned status, const char *title,
    const char *body);
enum MHD_Result ui_page_buf(struct ui_call *c, unsigned status,
    const char *title, struct buf *body);
enum MHD_Result ui_plain(struct admin_req *rq, unsigned status,
    const char *text);
enum MHD_Result ui_redirect(struct admin_req *rq, const char *where,
    const char *cookie1, const char *cookie2);
enum MHD_Result ui_file(struct admin_req *rq, const char *ctype,
    const char *filename, const void *data, size_t len);
int ui_form_get(const struct buf *body, const char *name, char *out, size_t n);
int ui_query_get(struct admin_req *rq, const char *name, char *out, size_t n);
void ui_csrf_field(struct buf *b, const struct ui_who *who);
void ui_time(int64_t t, char *out, size_t n);
bool ui_is_admin(const struct ui_who *who);

/* ui_sess.c */
int ui_random_hex(char *out, size_t nbytes);
bool ui_token_eq(const char *a, const char *b);
bool ui_sess_find(struct ui_sessions *s, const struct gw_config *cfg,
    const char *id, struct ui_who *who);
void ui_sess_drop(struct ui_sessions *s, const char *id);
int ui_sess_drop_user(struct ui_sessions *s, const char *user);
int ui_sess_new(struct ui_sessions *s, const char *user, int role, char id[65]);

/* The pages: one file each (README "Admin web console"). */
enum MHD_Result ui_dashboard(struct ui_call *c);  /* ui_dash.c */
enum MHD_Result ui_challenges(struct ui_call *c); /* ui_chal.c */
enum MHD_Result ui_chal_revoke(struct ui_call *c);
enum MHD_Result ui_mc(struct ui_call *c); /* ui_mc.c */

/* ui_mc.c: the one-time .mobileconfig links; ui_qr.c: QR codes. */
int ui_mc_add(long long id, const uint8_t chh[32], int64_t expires, char *data,
    size_t len, char tok[65]);
int ui_qr_svg(struct buf *b, const char *text);
/* ui_certs.c: the search, a certificate, its PEM; ui_certs_revoke.c. */
enum MHD_Result ui_certificates(struct ui_call *c);
enum MHD_Result ui_certificate(struct ui_call *c);
enum MHD_Result ui_cert_revoke(struct ui_call *c, const char *serial);
struct db_cert;
const char *ui_cert_state(const struct db_cert *c, int64_t now);
enum MHD_Result ui_users(struct ui_call *c);	   /* ui_users.c */
enum MHD_Result ui_enrollments(struct ui_call *c); /* ui_enroll.c */
enum MHD_Result ui_enrollment(struct ui_call *c);  /* ui_enroll_view.c */

#endif
