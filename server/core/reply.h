/*
 * Responses, client and listen addresses shared by the SCEP listener
 * (http/), the NDES page (http/ndes.c) and the admin listener (admin/).
 */
#ifndef GW_REPLY_H
#define GW_REPLY_H

#include <stddef.h>

#include <sys/socket.h>

#include <microhttpd.h>

struct buf;
struct gw_err;

enum MHD_Result gw_respond(struct MHD_Connection *conn, unsigned status,
    const char *ctype, const void *body, size_t len,
    const char *const *headers);
void gw_peer(struct MHD_Connection *conn, char *out, size_t n);
int gw_header_join(struct MHD_Connection *conn, const char *name,
    struct buf *b);
int gw_listen_parse(const char *listen, struct sockaddr_storage *ss,
    struct gw_err *err);

#endif
