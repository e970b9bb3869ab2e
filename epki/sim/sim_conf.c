/*
 * epki-sim's account settings (defaults, optionally overridden by
 * DIR/sim.conf, key = value lines): licence packs, profile state, faults
 * to inject from the start; its persistent counters (DIR/state at start,
 * then state records in the journal, sim_store.c); lenient date parsing; and
 * the API IP allow-list check (GlobalSign's "API IP Address Range").
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
#include "gw_date.h"
#include "secure.h"
#include "sim.h"

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

/* The documented default account (README "epki-sim", epki/sim/README.md). */
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
	snprintf(c->expiry, sizeof(c->expiry), "2099-12-31");
	c->npacks = 1;
	c->profile_state = SIM_PROFILE_VALIDATED;
	c->no_licence_code = -6101;
	c->profile_code = -105;
	c->cert_format = SIM_CERT_PEM_X509;
	sim_fidelity_defaults(c);
}

static const char *const profile_states[SIM_PROFILE__MAX] = {
	[SIM_PROFILE_VALIDATED] = "validated",
	[SIM_PROFILE_PENDING] = "pending",
	[SIM_PROFILE_SUSPENDED] = "suspended",
};

/* The sim.conf word of a profile state. */
const char *
sim_profile_state_name(enum sim_profile_state st)
{
	if ((int)st < 0 || st >= SIM_PROFILE__MAX)
		return "?";
	return profile_states[st];
}

/* Parses validated, pending or suspended; 0 or -1. */
int
sim_profile_state_parse(const char *v, enum sim_profile_state *out)
{
	int i;

	for (i = 0; i < SIM_PROFILE__MAX; i++)
		if (strcmp(v, profile_states[i]) == 0) {
			*out = (enum sim_profile_state)i;
			return 0;
		}
	return -1;
}

/* Reads exactly n digits at *p into *v and advances; 0 or -1. */
static int
digits(const char **p, int n, long *v)
{
	*v = 0;
	for (; n > 0; n--, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		*v = *v * 10 + (**p - '0');
	}
	return 0;
}

/* Reads an optional zone (Z, +hh:mm, +hhmm) as seconds east; 0 or -1. */
static int
zone_parse(const char *p, long *off)
{
	long h, m;
	int sign;

	*off = 0;
	if (*p == '\0' || ((*p == 'Z' || *p == 'z') && p[1] == '\0'))
		return 0;
	if (*p != '+' && *p != '-')
		return -1;
	sign = *p++ == '-' ? -1 : 1;
	if (digits(&p, 2, &h) == -1)
		return -1;
	if (*p == ':')
		p++;
	if (digits(&p, 2, &m) == -1 || *p != '\0')
		return -1;
	*off = sign * (h * 3600 + m * 60);
	return 0;
}

/*
 * Parses a date leniently (GlobalSign documents no format): YYYY-MM-DD,
 * optionally followed by T or a blank and HH:MM:SS, a fraction, and Z or an
 * offset. A date alone means its first second, or its last when end_of_day
 * is set. Writes seconds since the epoch (UTC); 0 or -1.
 */
int
sim_date_parse(const char *s, int end_of_day, time_t *out)
{
	long y, mo, d, h = 0, mi = 0, sec = 0, off = 0;
	const char *p = s;

	if (digits(&p, 4, &y) == -1 || *p++ != '-' ||
	    digits(&p, 2, &mo) == -1 || *p++ != '-' ||
	    digits(&p, 2, &d) == -1 || mo < 1 || mo > 12 || d < 1 || d > 31)
		return -1;
	if (*p == '\0') {
		if (end_of_day)
			sec = 86399;
	} else {
		if (*p != 'T' && *p != ' ')
			return -1;
		p++;
		if (digits(&p, 2, &h) == -1 || *p++ != ':' ||
		    digits(&p, 2, &mi) == -1 || *p++ != ':' ||
		    digits(&p, 2, &sec) == -1 || h > 23 || mi > 59 || sec > 60)
			return -1;
		if (*p == '.')
			for (p++; *p >= '0' && *p <= '9'; p++)
				;
		if (zone_parse(p, &off) == -1)
			return -1;
	}
	*out = (time_t)(gw_days_from_civil(y, mo, d) * 86400 + h * 3600 +
	    mi * 60 + sec - off);
	return 0;
}

/* Parses "YEARS,COUNT,YYYY-MM-DD" into a pack; 0 or -1. */
int
sim_pack_parse(const char *v, struct sim_pack *p)
{
	char text[64], *count, *expiry, *end;
	long years, n;

	if (strlen(v) >= sizeof(text))
		return -1;
	memcpy(text, v, strlen(v) + 1);
	if ((count = strchr(text, ',')) == NULL ||
	    (expiry = strchr(count + 1, ',')) == NULL)
		return -1;
	*count++ = '\0';
	*expiry++ = '\0';
	errno = 0;
	years = strtol(trim(text), &end, 10);
	if (errno != 0 || *end != '\0' || years < 1 || years > 3)
		return -1;
	n = strtol(trim(count), &end, 10);
	if (errno != 0 || *end != '\0' || n < 0 || n > 100000000L)
		return -1;
	expiry = trim(expiry);
	if (strlen(expiry) != 10 ||
	    sim_date_parse(expiry, 1, &p->expiry_t) == -1)
		return -1;
	p->years = (int)years;
	p->initial = p->left = n;
	memcpy(p->expiry, expiry, 11);
	return 0;
}

/* Parses a whole long in [lo, hi]; 0 or -1. */
int
sim_parse_long(const char *s, long lo, long hi, long *out)
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

/* The keys added for licence packs, profile state and faults. */
static int
conf_set_more(struct sim_conf *c, const char *k, const char *v)
{
	time_t t;
	int clear, rc;
	long n;

	if ((rc = sim_fidelity_set(c, k, v)) != 1)
		return rc;
	if (strcmp(k, "licence_expiry") == 0 && strlen(v) == 10 &&
	    sim_date_parse(v, 1, &t) == 0) {
		memcpy(c->expiry, v, 11);
		return 0;
	}
	if (strcmp(k, "pack") == 0 && c->npacks < SIM_MAX_PACKS)
		return sim_pack_parse(v, &c->packs[c->npacks++]);
	if (strcmp(k, "profile_state") == 0)
		return sim_profile_state_parse(v, &c->profile_state);
	/* expired_code: the older name, from when only an expired pack had
	 * its own code. */
	if ((strcmp(k, "no_licence_code") == 0 ||
		strcmp(k, "expired_code") == 0) &&
	    sim_parse_long(v, -99999, -1, &n) == 0) {
		c->no_licence_code = n;
		return 0;
	}
	if (strcmp(k, "profile_code") == 0 &&
	    sim_parse_long(v, -99999, -1, &n) == 0) {
		c->profile_code = n;
		return 0;
	}
	if (strcmp(k, "cert_format") == 0)
		return sim_cert_format_parse(v, &c->cert_format);
	if (strcmp(k, "fault") == 0 && c->nfaults < SIM_MAX_FAULTS &&
	    sim_fault_parse(v, &c->faults[c->nfaults], &clear) == 0 && !clear) {
		c->nfaults++;
		return 0;
	}
	return -1;
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
		S("denied_product", denied_product),
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
	if (strcmp(k, "years") == 0 && sim_parse_long(v, 1, 3, &n) == 0) {
		c->years = (int)n;
		return 0;
	}
	if (strcmp(k, "licences") == 0 &&
	    sim_parse_long(v, 0, 100000000L, &n) == 0) {
		c->licences = n;
		return 0;
	}
	return conf_set_more(c, k, v);
}

/* Pack 0 is the one years, licences and licence_expiry describe. */
static int
conf_pack0(struct sim_conf *c)
{
	c->packs[0].years = c->years;
	c->packs[0].initial = c->packs[0].left = c->licences;
	memcpy(c->packs[0].expiry, c->expiry, sizeof(c->expiry));
	return sim_date_parse(c->expiry, 1, &c->packs[0].expiry_t);
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
			return conf_pack0(c);
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
	rc = conf_pack0(c);
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

/* Applies one DIR/state line (key and value split) to s. */
static void
state_set(struct sim *s, const char *k, long n)
{
	char *end;
	long i;

	if (strcmp(k, "licences") == 0)
		s->packs[0].left = n;
	else if (strcmp(k, "counter") == 0)
		s->counter = (unsigned long)n;
	else if (strcmp(k, "spent") == 0)
		s->spent = (unsigned long)n;
	else if (strncmp(k, "licences.", 9) == 0) {
		i = strtol(k + 9, &end, 10);
		if (*end == '\0' && i > 0 && (size_t)i < s->npacks)
			s->packs[i].left = n;
	}
}

/*
 * Reads DIR/state ("licences=N" for the first pack, "licences.K=N" for
 * the others, "counter=N", "spent=N"); the packs, profile state and
 * faults start from the configuration, and so do the counts when there
 * is no state yet. The journal's state records, read next, override it.
 */
int
sim_state_load(struct sim *s, struct gw_err *err)
{
	char path[PATH_MAX];
	struct gw_err ferr;
	struct buf b;

	memcpy(s->packs, s->conf.packs, sizeof(s->packs));
	s->npacks = s->conf.npacks;
	s->profile_state = s->conf.profile_state;
	memcpy(s->faults, s->conf.faults, sizeof(s->faults));
	s->nfaults = s->conf.nfaults;
	s->counter = s->spent = 0;
	if (sim_path(s, path, sizeof(path), "state") == -1)
		return -1;
	if (gw_file_read(path, 4096, &b, &ferr) == -1) {
		if (ferr.code == ENOENT)
			return 0;
		gw_err_set(err, ferr.code, "%s", ferr.msg);
		return -1;
	}
	sim_state_parse(s, (char *)b.data);
	buf_cleanup(&b);
	return 0;
}

/* Applies the "key=value" lines of text (DIR/state's, or a journal state
 * record's after its first line; NULL for none), split in place, to s;
 * unknown keys and bad numbers are ignored. */
void
sim_state_parse(struct sim *s, char *text)
{
	char *line, *next, *v;
	long n;

	for (line = text; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((v = strchr(line, '=')) == NULL)
			continue;
		*v++ = '\0';
		if (sim_parse_long(v, 0, 2000000000L, &n) == 0)
			state_set(s, line, n);
	}
}

/* Appends the counts' key=value lines to out; 0 or -1. */
int
sim_state_lines(const struct sim *s, struct buf *out)
{
	size_t i;

	if (buf_printf(out, "licences=%ld\ncounter=%lu\nspent=%lu\n",
		s->packs[0].left, s->counter, s->spent) == -1)
		return -1;
	for (i = 1; i < s->npacks; i++)
		if (buf_printf(out, "licences.%zu=%ld\n", i,
			s->packs[i].left) == -1)
			return -1;
	return 0;
}

/*
 * Writes DIR/state, a snapshot of the counts, atomically and synced
 * (temporary file, fsync, rename): at start, once the journal is read.
 * Each change after that is a state record in the journal
 * (sim_state_save()), which overrides the file at the next start.
 */
int
sim_state_snapshot(struct sim *s, struct gw_err *err)
{
	char path[PATH_MAX];
	struct buf b;
	int rc = -1;

	buf_init(&b, 4096);
	if (sim_path(s, path, sizeof(path), "state") == -1 ||
	    sim_state_lines(s, &b) == -1) {
		gw_err_set(err, ENAMETOOLONG, "%s: cannot write state", s->dir);
		goto out;
	}
	rc = gw_file_write(path, b.data, b.len, 0644, err);
out:
	buf_cleanup(&b);
	return rc;
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
		if (sim_parse_long(slash, 0, (long)n * 8, &bits) == -1)
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
