/*
 * Trusted reverse proxies ([server] trusted_proxies, README "Behind a
 * reverse proxy"): a list of IPv4 and IPv6 networks, and the client
 * address of a request that came through them, read from
 * X-Forwarded-For. No I/O, no libmicrohttpd: http/request.c feeds it the peer
 * and the header.
 */
#ifndef GW_PROXY_H
#define GW_PROXY_H

#include <stdbool.h>
#include <stddef.h>

struct proxy_list;

/* Large enough for any IPv6 address as text (INET6_ADDRSTRLEN). */
#define PROXY_ADDR_MAX 46

int proxy_list_parse(const char *spec, struct proxy_list **out, char *reason,
    size_t rlen);
void proxy_list_free(struct proxy_list *l);
bool proxy_list_is_empty(const struct proxy_list *l);
bool proxy_list_has(const struct proxy_list *l, const char *addr);
int proxy_client_addr(const struct proxy_list *l, const char *peer,
    const char *xff, char *out, size_t n);

#endif
