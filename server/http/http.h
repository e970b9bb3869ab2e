/* The SCEP listener (listener.c, request.c): started and stopped by `scepgw
 * serve`. */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include <stddef.h>

struct gw_ctx;
struct gw_err;
struct srv_http;

struct MHD_Connection;
void srv_client_addr(const struct gw_ctx *ctx, struct MHD_Connection *conn,
    char *out, size_t n);
int srv_http_start(struct srv_http **out, struct gw_ctx *ctx,
    struct gw_err *err);
unsigned srv_http_port(const struct srv_http *h);
void srv_http_quiesce(struct srv_http *h);
unsigned srv_http_connections(const struct srv_http *h);
int srv_http_bind(const char *listen, int *fd, struct gw_err *err);
int srv_http_ra_reload(struct srv_http *h, struct gw_err *err);
void srv_http_stop(struct srv_http *h);
const char *srv_http_mhd_version(void); /* version.c */

#endif
