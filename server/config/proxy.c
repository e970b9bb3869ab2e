/*
 * Trusted reverse proxies and X-Forwarded-For; see proxy.h. Addresses are
 * compared as bytes: an IPv4-mapped IPv6 address (::ffff:a.b.c.d) counts
 * as the IPv4 address it holds, and the client address handed back is
 * inet_ntop()'s canonical text, so that one client is one key of the
 * failure limit however a proxy spells it.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proxy.h"

/* Longest list item or header element we read ("[v6]:port" fits). */
#define ITEM_MAX 64

struct proxy_net {
	int family;	  /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* the network, host bits cleared */
	unsigned bits;	  /* prefix length */
};

struct proxy_list {
	struct proxy_net *nets;
	size_t n;
};

/* One address in bytes, with its family. */
struct proxy_addr {
	int family;
	uint8_t a[16];
	bool mapped; /* written as ::ffff:a.b.c.d */
};

/* Parses the text of one plain address (no brackets, no port). 0 or -1. */
static int
addr_parse(const char *s, struct proxy_addr *ad)
{
	struct in6_addr a6;
	struct in_addr a4;

	memset(ad, 0, sizeof(*ad));
	if (inet_pton(AF_INET, s, &a4) == 1) {
		ad->family = AF_INET;
		memcpy(ad->a, &a4, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6) != 1)
		return -1;
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		ad->family = AF_INET;
		ad->mapped = true;
		memcpy(ad->a, &a6.s6_addr[12], 4);
		return 0;
	}
	ad->family = AF_INET6;
	memcpy(ad->a, &a6, 16);
	return 0;
}

/* The address's length in bytes. */
static size_t
addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* Clears every bit of a (len bytes) past the first bits. */
static void
addr_mask(uint8_t *a, unsigned bits, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (bits >= 8) {
			bits -= 8;
			continue;
		}
		a[i] &= (uint8_t)(0xffu << (8 - bits));
		bits = 0;
	}
}

/* Parses "ADDR" or "ADDR/BITS" into *net; -1 with the reason. */
static int
net_parse(const char *item, struct proxy_net *net, char *reason, size_t rlen)
{
	char text[ITEM_MAX], *slash, *end;
	struct proxy_addr ad;
	unsigned long bits;
	unsigned max;

	if (strlen(item) >= sizeof(text))
		goto bad;
	memcpy(text, item, strlen(item) + 1);
	if ((slash = strchr(text, '/')) != NULL)
		*slash++ = '\0';
	if (addr_parse(text, &ad) == -1)
		goto bad;
	max = ad.family == AF_INET ? 32 : 128;
	bits = ad.mapped ? 128 : max;
	if (slash != NULL) {
		errno = 0;
		if (!isdigit((unsigned char)*slash) ||
		    (bits = strtoul(slash, &end, 10), *end != '\0') ||
		    errno != 0 || bits > (ad.mapped ? 128 : max) ||
		    (ad.mapped && bits < 96))
			goto bad;
	}
	net->family = ad.family;
	net->bits = (unsigned)(ad.mapped ? bits - 96 : bits);
	memcpy(net->addr, ad.a, sizeof(net->addr));
	addr_mask(net->addr, net->bits, addr_len(net->family));
	return 0;
bad:
	snprintf(reason, rlen,
	    "bad value \"%.50s\": expected IPv4 or IPv6 addresses or CIDRs "
	    "(10.0.0.0/8, ::1), separated by commas",
	    item);
	return -1;
}

/*
 * Parses a [server] trusted_proxies value: addresses and CIDRs separated
 * by commas or blanks; NULL or empty is the empty list. On success *out
 * is a new list (free with proxy_list_free()); on failure it is NULL and
 * reason names the first bad item. Returns 0 or -1.
 */
int
proxy_list_parse(const char *spec, struct proxy_list **out, char *reason,
    size_t rlen)
{
	struct proxy_list *l = NULL;
	struct proxy_net *nets;
	char item[ITEM_MAX + 1];
	size_t len;
	int rc = -1;

	*out = NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		goto nomem;
	while (spec != NULL && *spec != '\0') {
		spec += strspn(spec, ", \t");
		if ((len = strcspn(spec, ", \t")) == 0)
			continue;
		snprintf(item, sizeof(item), "%.*s",
		    (int)(len < ITEM_MAX ? len : ITEM_MAX), spec);
		spec += len;
		if ((nets = realloc(l->nets, (l->n + 1) * sizeof(*nets))) ==
		    NULL)
			goto nomem;
		l->nets = nets;
		if (net_parse(item, &l->nets[l->n], reason, rlen) == -1)
			goto out;
		l->n++;
	}
	*out = l;
	l = NULL;
	rc = 0;
	goto out;
nomem:
	snprintf(reason, rlen, "out of memory");
out:
	proxy_list_free(l);
	return rc;
}

/* Frees a list; accepts NULL. */
void
proxy_list_free(struct proxy_list *l)
{
	if (l == NULL)
		return;
	free(l->nets);
	free(l);
}

/* Whether the list is empty (or NULL): X-Forwarded-For is never read. */
bool
proxy_list_is_empty(const struct proxy_list *l)
{
	return l == NULL || l->n == 0;
}

/* Whether parsed address ad is in one of the list's networks. */
static bool
list_has(const struct proxy_list *l, const struct proxy_addr *ad)
{
	uint8_t a[16];
	size_t i, len = addr_len(ad->family);

	for (i = 0; l != NULL && i < l->n; i++) {
		if (l->nets[i].family != ad->family)
			continue;
		memcpy(a, ad->a, sizeof(a));
		addr_mask(a, l->nets[i].bits, len);
		if (memcmp(a, l->nets[i].addr, len) == 0)
			return true;
	}
	return false;
}

/* Whether addr (an address as text) is in one of the list's networks. */
bool
proxy_list_has(const struct proxy_list *l, const char *addr)
{
	struct proxy_addr ad;

	return addr_parse(addr, &ad) == 0 && list_has(l, &ad);
}

/*
 * Parses one X-Forwarded-For element (s, len bytes, blanks trimmed):
 * ADDR, [IPv6] or [IPv6]:PORT, or IPv4:PORT. 0 or -1.
 */
static int
elem_parse(const char *s, size_t len, struct proxy_addr *ad)
{
	char text[ITEM_MAX], *close, *colon;
	const char *port = NULL;

	if (len == 0 || len >= sizeof(text))
		return -1;
	memcpy(text, s, len);
	text[len] = '\0';
	if (text[0] == '[') {
		if ((close = strchr(text, ']')) == NULL)
			return -1;
		*close = '\0';
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0')
			return -1;
		memmove(text, text + 1, strlen(text + 1) + 1);
	} else if ((colon = strchr(text, ':')) != NULL &&
	    strchr(colon + 1, ':') == NULL) {
		*colon = '\0'; /* IPv4:PORT; an IPv6 address has more colons */
		port = colon + 1;
	}
	if (port != NULL &&
	    (*port == '\0' || strspn(port, "0123456789") != strlen(port) ||
		strlen(port) > 5))
		return -1;
	return addr_parse(text, ad);
}

/* Writes ad as canonical text into out. */
static void
addr_format(const struct proxy_addr *ad, char *out, size_t n)
{
	if (inet_ntop(ad->family, ad->a, out, (socklen_t)n) == NULL)
		snprintf(out, n, "?");
}

/*
 * The client address of a request from peer (the TCP peer's address as
 * text) carrying X-Forwarded-For value xff (NULL: none), into out: peer,
 * unless peer is in l; then the right-most address of xff that is not
 * itself in l (each proxy appends the address it got the request from,
 * so what lies left of that was written by the client and proves
 * nothing), or the left-most one when all are. Returns 0, or -1 when a
 * trusted peer sent a header that cannot be read up to its client (out
 * is then peer).
 */
int
proxy_client_addr(const struct proxy_list *l, const char *peer, const char *xff,
    char *out, size_t n)
{
	struct proxy_addr ad;
	const char *end, *start;

	snprintf(out, n, "%s", peer);
	if (xff == NULL || proxy_list_is_empty(l) || !proxy_list_has(l, peer))
		return 0;
	end = xff + strlen(xff);
	for (;;) {
		for (start = end; start > xff && start[-1] != ','; start--)
			;
		while (start < end && (*start == ' ' || *start == '\t'))
			start++;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (elem_parse(start, (size_t)(end - start), &ad) == -1)
			return -1;
		if (!list_has(l, &ad)) {
			addr_format(&ad, out, n);
			return 0;
		}
		while (start > xff && start[-1] != ',')
			start--;
		if (start == xff)
			break;
		end = start - 1;
	}
	/* Every address is a trusted proxy: the left-most is the client. */
	addr_format(&ad, out, n);
	return 0;
}
