/*
 * The admin listener (README "Admin HTTP API"): its own libmicrohttpd
 * daemon on [admin] listen serving the JSON API under /api/v1/, /healthz
 * and /metrics, with the bearer token of [admin] token_file.
 */
#ifndef GW_ADMIN_H
#define GW_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

struct admin;
struct gw_ctx;
struct gw_err;

int admin_start(struct admin **out, struct gw_ctx *ctx, struct gw_err *err);
unsigned admin_port(const struct admin *a);
void admin_stop(struct admin *a);
const char *admin_jansson_version(void); /* version.c */

#endif
