/*
 * The NDES-compatible dynamic challenge page (README "NDES-compatible
 * challenge page"): GET /certsrv/mscep_admin/ on the SCEP listener ([ndes]
 * enabled), with HTTP Basic auth against `scepgw user` accounts checked on
 * login threads of their own, answering the UTF-16 HTML that MDM scrapers
 * parse for "The enrollment challenge password is: <B> (\S+)".
 */
#ifndef GW_NDES_H
#define GW_NDES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

struct buf;
struct gw_config;
struct gw_ctx;
struct gw_err;
struct ndes;
struct ndes_job;

bool ndes_is_path(const char *url);
int ndes_utf16le(const char *ascii, struct buf *out);

/* The login threads (scrypt off the HTTP workers). */
int ndes_new(struct ndes **out, const struct gw_config *cfg,
    struct gw_err *err);
void ndes_drain(struct ndes *n);
void ndes_free(struct ndes *n);

/* The page: started on an HTTP thread, finished there after resume. */
enum MHD_Result ndes_page(struct gw_ctx *ctx, struct MHD_Connection *conn,
    const char *method, struct ndes_job **job, void (*resume)(void *arg),
    void *arg);
enum MHD_Result ndes_page_finish(struct gw_ctx *ctx,
    struct MHD_Connection *conn, const struct ndes_job *j);
void ndes_job_free(struct ndes_job *j);

#endif
