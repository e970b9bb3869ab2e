/*
 * The NDES-compatible dynamic challenge page (issue 6, spec/scep.md 4.4):
 * GET /certsrv/mscep_admin/ on the SCEP listener, with HTTP Basic auth
 * against `scepgw user` accounts, answering the UTF-16 HTML that MDM
 * scrapers parse for "The enrollment challenge password is: <B> (\S+)".
 */
#ifndef GW_NDES_H
#define GW_NDES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

struct gw_ctx;
struct buf;

bool ndes_is_path(const char *url);
enum MHD_Result ndes_page(struct gw_ctx *ctx, struct MHD_Connection *conn,
    const char *method);
int ndes_utf16le(const char *ascii, struct buf *out);

#endif
