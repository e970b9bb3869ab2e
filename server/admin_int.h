/*
 * Private to the admin listener: the per-request state admin.c keeps in
 * libmicrohttpd's con_cls, the reply helpers, and the JSON handlers of
 * admin_api.c.
 */
#ifndef GW_ADMIN_INT_H
#define GW_ADMIN_INT_H

#include <stdbool.h>

#include <jansson.h>
#include <microhttpd.h>

#include "buf.h"

struct gw_ctx;

struct admin_req {
	struct gw_ctx *ctx;
	struct MHD_Connection *conn;
	const char *method;
	const char *path; /* without the query */
	char peer[64];
	struct buf body; /* capped */
	bool too_big;
	bool authed; /* the bearer token was right */
};

/* admin.c */
enum MHD_Result admin_reply_json(struct admin_req *rq, unsigned status,
    json_t *j);
enum MHD_Result admin_reply_error(struct admin_req *rq, unsigned status,
    const char *msg, const char *field);
enum MHD_Result admin_reply_text(struct admin_req *rq, unsigned status,
    const char *ctype, const char *text);

/* admin_api.c */
enum MHD_Result admin_metrics(struct admin_req *rq);
enum MHD_Result admin_challenges_post(struct admin_req *rq);
enum MHD_Result admin_challenges_get(struct admin_req *rq);
enum MHD_Result admin_challenge_delete(struct admin_req *rq, const char *id);
enum MHD_Result admin_enrollments_get(struct admin_req *rq);
enum MHD_Result admin_certificates_get(struct admin_req *rq);
enum MHD_Result admin_certificate_revoke(struct admin_req *rq,
    const char *rest);

#endif
