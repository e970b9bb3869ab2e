/*
 * Private to the admin listener: the per-request state admin.c keeps in
 * libmicrohttpd's con_cls, the reply helpers, and the JSON handlers of
 * api.c.
 */
#ifndef GW_ADMIN_INT_H
#define GW_ADMIN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "buf.h"
#include "challenge.h"

struct gw_ctx;
struct gw_config;

struct admin_req {
	struct gw_ctx *ctx;
	struct MHD_Connection *conn;
	const char *method;
	const char *path; /* without the query */
	char peer[64];
	struct buf body; /* capped */
	bool too_big;
	bool authed; /* the bearer token was right */
	bool ui;     /* a web console path (ui.c): its own login */
};

/* What a POST /api/v1/challenges asks for. */
struct chal_req {
	const char *cn;
	const char *email;
	const char *ou;
	const char *upn;
	long ttl;
	long count;
	const char *profile; /* [profile NAME], or NULL: any profile */
};

/* Challenges admin_chal_make() made; the secrets exist only here. */
struct chal_made {
	int64_t *ids;
	char (*secrets)[ENROLL_SECRET_LEN];
	uint8_t (*hashes)[32]; /* SHA-256 of each secret */
	long n;
	int64_t expires;
};

/* admin.c */
enum MHD_Result admin_reply_json(struct admin_req *rq, unsigned status,
    json_t *j);
enum MHD_Result admin_reply_error(struct admin_req *rq, unsigned status,
    const char *msg, const char *field);
enum MHD_Result admin_reply_text(struct admin_req *rq, unsigned status,
    const char *ctype, const char *text);

/* api.c */
enum MHD_Result admin_metrics(struct admin_req *rq);
enum MHD_Result admin_challenges_post(struct admin_req *rq);
enum MHD_Result admin_challenges_get(struct admin_req *rq);
enum MHD_Result admin_challenge_delete(struct admin_req *rq, const char *id);
enum MHD_Result admin_enrollments_get(struct admin_req *rq);
enum MHD_Result admin_enrollment_get(struct admin_req *rq, const char *txid);
enum MHD_Result admin_certificates_get(struct admin_req *rq);
enum MHD_Result admin_certificate_revoke(struct admin_req *rq,
    const char *rest);

/* api.c: the body parsers, also the fuzz_admin_json target's entry. */
int admin_chal_req_parse(json_t *o, const struct gw_config *cfg,
    struct chal_req *r, char *msg, size_t n, const char **field);
int admin_chal_make(struct admin_req *rq, const struct chal_req *r,
    struct chal_made *m);
void admin_chal_made_free(struct chal_made *m);
int admin_chal_revoke(struct admin_req *rq, const char *s, long long *id);
int admin_revoke_body_parse(struct admin_req *rq, json_t **o,
    const char **reason, char *msg, size_t n, const char **field);

#endif
