/*
 * The admin listener (README "Admin HTTP API"): its own libmicrohttpd
 * daemon on [admin] listen serving the JSON API under /api/v1/, /healthz
 * and /metrics, with the bearer token of [admin] token_file. Also the
 * helpers the NDES-compatible challenge page (ndes.c) shares with it:
 * making a challenge and sending a response whose bytes are wiped when
 * libmicrohttpd is done with them.
 */
#ifndef GW_ADMIN_H
#define GW_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

struct admin;
struct gw_ctx;
struct gw_err;

/* A challenge secret: 32 upper-case hex digits and a NUL. */
#define ADMIN_SECRET_LEN 33

int admin_start(struct admin **out, struct gw_ctx *ctx, struct gw_err *err);
unsigned admin_port(const struct admin *a);
void admin_stop(struct admin *a);

int admin_challenge_make(char secret[ADMIN_SECRET_LEN], uint8_t hash[32]);
enum MHD_Result admin_respond(struct MHD_Connection *conn, unsigned status,
    const char *ctype, const void *body, size_t len,
    const char *const *headers);
void admin_peer(struct MHD_Connection *conn, char *out, size_t n);

#endif
