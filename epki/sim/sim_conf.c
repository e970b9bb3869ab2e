/*
 * epki-sim's account settings (defaults, optionally overridden by
 * DIR/sim.conf, key = value lines), its persistent counters in DIR/state,
 * and the API IP allow-list check (spec 2).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "gw_err.h"
#include "secure.h"
#include "sim.h"

/* The documented default account (DESIGN.md, epki/sim/README.md). */
void
sim_conf_defaults(struct sim_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->user, sizeof(c->user), "PAR00000_scepgw");
	snprintf(c->password, sizeof(c->password), "epki-sim-password");
	snprintf(c->profile, sizeof(c->profile), "MP000000000001");
	snprintf(c->product, sizeof(c->product), "EPKIPSPersonal");
	c->years = 1;
	c->licences = 10000;
	snprintf(c->allow, sizeof(c->allow), "127.0.0.0/8");
	snprintf(c->org, sizeof(c->org), "scepgw Test Org");
	snprintf(c->locality, sizeof(c->locality), "Portland");
	snprintf(c->state, sizeof(c->state), "Oregon");
	snprintf(c->country, sizeof(c->country), "US");
}

/* Trims blanks at both ends of s in place; returns s. */
static char *
trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 &&
	    (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
		s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

/* Parses a long in [lo, hi]; 0 or -1. */
static int
parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* Applies one key = value; -1 for an unknown key or a bad value. */
static int
conf_set(struct sim_conf *c, const char *k, const char *v)
{
	static const struct {
		const char *key;
		size_t off, size;
	} strs[] = {
#define S(name, field)                            \
	{ name, offsetof(struct sim_conf, field), \
		sizeof(((struct sim_conf *)0)->field) }
		S("user", user),
		S("password", password),
		S("profile", profile),
		S("product", product),
		S("allow", allow),
		S("org", org),
		S("locality", locality),
		S("state", state),
		S("country", country),
#undef S
	};
	size_t i;
	long n;

	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if (strcmp(k, strs[i].key) != 0)
			continue;
		if (strlen(v) >= strs[i].size)
			return -1;
		memcpy((char *)c + strs[i].off, v, strlen(v) + 1);
		return 0;
	}
	if (strcmp(k, "years") == 0 && parse_long(v, 1, 3, &n) == 0) {
		c->years = (int)n;
		return 0;
	}
	if (strcmp(k, "licences") == 0 &&
	    parse_long(v, 0, 100000000L, &n) == 0) {
		c->licences = n;
		return 0;
	}
	return -1;
}

/*
 * Overrides c from a key = value file (sections and ; or # comments are
 * ignored). A missing file is fine; a bad line fails with its number.
 */
int
sim_conf_load(struct sim_conf *c, const char *path, struct gw_err *err)
{
	char line[1024], *k, *v;
	int lineno = 0, rc = -1;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;
		gw_err_set(err, errno, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		k = trim(line);
		if (*k == '\0' || *k == '#' || *k == ';' || *k == '[')
			continue;
		if ((v = strchr(k, '=')) == NULL)
			goto bad;
		*v++ = '\0';
		if (conf_set(c, trim(k), trim(v)) == -1)
			goto bad;
	}
	rc = 0;
	goto out;
bad:
	gw_err_set(err, EINVAL, "%s:%d: bad line", path, lineno);
out:
	fclose(f);
	return rc;
}

/* Writes DIR/name into out; 0, or -1 if it does not fit. */
int
sim_path(const struct sim *s, char *out, size_t n, const char *name)
{
	int len = snprintf(out, n, "%s/%s", s->dir, name);

	return len < 0 || (size_t)len >= n ? -1 : 0;
}

/*
 * Reads DIR/state ("licences=N", "counter=N"); when it does not exist the
 * licence count starts from the configuration.
 */
int
sim_state_load(struct sim *s, struct gw_err *err)
{
	char path[PATH_MAX], *line, *next, *v;
	struct gw_err ferr;
	struct buf b;
	long n;

	s->licences = s->conf.licences;
	s->counter = 0;
	if (sim_path(s, path, sizeof(path), "state") == -1)
		return -1;
	if (gw_file_read(path, 4096, &b, &ferr) == -1) {
		if (ferr.code == ENOENT)
			return 0;
		gw_err_set(err, ferr.code, "%s", ferr.msg);
		return -1;
	}
	for (line = (char *)b.data; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((v = strchr(line, '=')) == NULL)
			continue;
		*v++ = '\0';
		if (parse_long(v, 0, 2000000000L, &n) == -1)
			continue;
		if (strcmp(line, "licences") == 0)
			s->licences = n;
		else if (strcmp(line, "counter") == 0)
			s->counter = (unsigned long)n;
	}
	buf_cleanup(&b);
	return 0;
}

/* Writes DIR/state atomically; call with s->mu held. */
int
sim_state_save(struct sim *s, struct gw_err *err)
{
	char path[PATH_MAX], text[128];
	int n;

	if (sim_path(s, path, sizeof(path), "state") == -1)
		return -1;
	n = snprintf(text, sizeof(text), "licences=%ld\ncounter=%lu\n",
	    s->licences, s->counter);
	return gw_file_write(path, text, (size_t)n, 0644, err);
}

/* True (1) if the first bits of a and b agree. */
static int
prefix_eq(const uint8_t *a, const uint8_t *b, long bits)
{
	long i;

	for (i = 0; i < bits; i++)
		if (((a[i / 8] ^ b[i / 8]) & (0x80 >> (i % 8))) != 0)
			return 0;
	return 1;
}

/* True (1) if addr (n bytes, family af) lies in the CIDR text. */
static int
cidr_match(const char *cidr, int af, const uint8_t *addr, size_t n)
{
	char net[64], *slash;
	uint8_t want[16];
	long bits = (long)n * 8;

	if (strlen(cidr) >= sizeof(net))
		return 0;
	memcpy(net, cidr, strlen(cidr) + 1);
	if ((slash = strchr(net, '/')) != NULL) {
		*slash++ = '\0';
		if (parse_long(slash, 0, (long)n * 8, &bits) == -1)
			return 0;
	}
	if (inet_pton(af, trim(net), want) != 1)
		return 0;
	return prefix_eq(addr, want, bits);
}

/* True (1) if the peer address is in the comma-separated allow-list. */
int
sim_addr_allowed(const char *allow, const struct sockaddr *sa)
{
	char list[512], *item, *next;
	const uint8_t *addr;
	size_t n;
	int af;

	if (sa == NULL || strlen(allow) >= sizeof(list))
		return 0;
	af = sa->sa_family;
	if (af == AF_INET) {
		addr = (const uint8_t *)&(
		    (const struct sockaddr_in *)(const void *)sa)
			   ->sin_addr;
		n = 4;
	} else if (af == AF_INET6) {
		addr = (const uint8_t *)&(
		    (const struct sockaddr_in6 *)(const void *)sa)
			   ->sin6_addr;
		n = 16;
	} else {
		return 0;
	}
	memcpy(list, allow, strlen(allow) + 1);
	for (item = list; item != NULL; item = next) {
		if ((next = strchr(item, ',')) != NULL)
			*next++ = '\0';
		if (cidr_match(trim(item), af, addr, n))
			return 1;
	}
	return 0;
}
