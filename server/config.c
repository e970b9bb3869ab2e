/*
 * Loads the INI configuration (README "Configuration") through one table of
 * keys and writes the commented default file `scepgw init` installs.
 * Debian's inih 55 gives the handler no line number, so our own reader
 * feeds inih one line at a time and counts; it also checks each line's
 * syntax, so every bad line is reported, not just the first.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include <ini.h>

#include "secure.h"
#include "config.h"
#include "proxy.h"

enum cfg_type {
	CFG_STRING,
	CFG_PATH, /* a string; relative to the config file's folder */
	CFG_SIZE, /* size_t */
	CFG_LONG,
	CFG_INT,
	CFG_UINT, /* unsigned */
	CFG_BOOL,
	CFG_LOGLEVEL, /* int, LOG_ERR .. LOG_DEBUG */
	CFG_NETS,     /* a string: addresses and CIDRs (proxy.h) */
	CFG__MAX
};

struct cfg_key {
	const char *section;
	const char *name;
	enum cfg_type type;
	long long min; /* numbers: inclusive bounds */
	long long max;
	const char *def; /* default, parsed like a value; or NULL */
	bool required;
	size_t off; /* offsetof(struct gw_config, field) */
};

#define K(s, n, t, lo, hi, d, req, field)                                  \
	{                                                                  \
		s, n, t, lo, hi, d, req, offsetof(struct gw_config, field) \
	}

/* Sorted by section, then name: cfg_key_find() uses bsearch(). */
static const struct cfg_key keys[] = {
	K("admin", "listen", CFG_STRING, 0, 0, NULL, false, admin_listen),
	K("admin", "max_outstanding_challenges", CFG_LONG, 0, 10000000, "1000",
	    false, admin_max_outstanding),
	K("admin", "token_file", CFG_PATH, 0, 0, NULL, false, admin_token_file),
	K("db", "path", CFG_PATH, 0, 0, NULL, true, db_path),
	K("enroll", "challenge_ttl_seconds", CFG_LONG, 60, 31536000, "3600",
	    false, challenge_ttl_seconds),
	K("enroll", "max_failures_per_minute", CFG_UINT, 0, 600, "5", false,
	    enroll_max_failures),
	K("epki", "allow_http", CFG_BOOL, 0, 0, "no", false, epki_allow_http),
	K("epki", "ca_file", CFG_PATH, 0, 0, NULL, false, epki_ca_file),
	K("epki", "max_connections", CFG_UINT, 1, 65536, "1024", false,
	    epki_max_connections),
	K("epki", "max_response_bytes", CFG_SIZE, 1024, 67108864, "1048576",
	    false, epki_max_response),
	K("epki", "password_file", CFG_PATH, 0, 0, NULL, true,
	    epki_password_file),
	K("epki", "product_code", CFG_STRING, 0, 0, "EPKIPSPersonal", false,
	    epki_product_code),
	K("epki", "profile_id", CFG_STRING, 0, 0, NULL, true, epki_profile_id),
	K("epki", "reconcile_seconds", CFG_LONG, 1, 3600, "30", false,
	    epki_reconcile_seconds),
	K("epki", "timeout_seconds", CFG_LONG, 1, 600, "30", false,
	    epki_timeout_seconds),
	K("epki", "url", CFG_STRING, 0, 0, NULL, true, epki_url),
	K("epki", "username", CFG_STRING, 0, 0, NULL, true, epki_username),
	K("epki", "years", CFG_INT, 1, 3, "1", false, epki_years),
	K("log", "level", CFG_LOGLEVEL, 0, 0, "info", false, log_level),
	K("ndes", "enabled", CFG_BOOL, 0, 0, "yes", false, ndes_enabled),
	K("ndes", "login_threads", CFG_UINT, 1, 16, "2", false,
	    ndes_login_threads),
	K("ndes", "max_waiting_logins", CFG_UINT, 1, 100000, "64", false,
	    ndes_max_waiting),
	K("ra", "ca_chain", CFG_PATH, 0, 0, NULL, true, ca_chain),
	K("ra", "cert", CFG_PATH, 0, 0, NULL, true, ra_cert),
	K("ra", "key", CFG_PATH, 0, 0, NULL, true, ra_key),
	K("ra", "next_cert", CFG_PATH, 0, 0, NULL, false, ra_next_cert),
	K("ra", "next_key", CFG_PATH, 0, 0, NULL, false, ra_next_key),
	K("ra", "previous_cert", CFG_PATH, 0, 0, NULL, false, ra_previous_cert),
	K("ra", "previous_key", CFG_PATH, 0, 0, NULL, false, ra_previous_key),
	K("scep", "allow_des", CFG_BOOL, 0, 0, "no", false, allow_des),
	K("scep", "max_certificates", CFG_UINT, 1, 1000, "10", false,
	    max_certificates),
	K("scep", "max_recipient_infos", CFG_UINT, 1, 100, "4", false,
	    max_recipient_infos),
	K("scep", "pending_after_seconds", CFG_LONG, 1, 3600, "20", false,
	    pending_after_seconds),
	K("server", "allow_root", CFG_BOOL, 0, 0, "no", false, allow_root),
	K("server", "listen", CFG_STRING, 0, 0, "127.0.0.1:8080", false,
	    listen),
	K("server", "max_connections", CFG_UINT, 16, 1000000, "10000", false,
	    max_connections),
	K("server", "max_connections_per_ip", CFG_UINT, 0, 1000000, "0", false,
	    max_connections_per_ip),
	K("server", "max_request_bytes", CFG_SIZE, 1024, 1048576, "65536",
	    false, max_request_bytes),
	K("server", "request_timeout_seconds", CFG_UINT, 1, 3600, "60", false,
	    request_timeout_seconds),
	K("server", "threads", CFG_UINT, 1, 64, "4", false, threads),
	K("server", "timeout_seconds", CFG_UINT, 1, 3600, "30", false,
	    conn_timeout_seconds),
	K("server", "trusted_proxies", CFG_NETS, 0, 0, NULL, false,
	    trusted_proxies),
	K("server", "user", CFG_STRING, 0, 0, NULL, false, user),
};

#define KEYS_N (sizeof(keys) / sizeof(keys[0]))

/* The order and comments of the written file: README "Configuration". */
static const struct cfg_doc {
	const char *section;
	const char *name;
	const char *comment;
} docs[] = {
	{ "server", "listen", "SCEP listener, host:port" },
	{ "server", "max_request_bytes",
	    "largest SCEP request (1024..1048576)" },
	{ "server", "threads", "HTTP worker threads (1..64)" },
	{ "server", "max_connections",
	    "open connections at most; more wait in the backlog" },
	{ "server", "max_connections_per_ip",
	    "open connections per client address; 0 = no limit (NAT, MDM "
	    "proxies)" },
	{ "server", "timeout_seconds",
	    "an idle connection is closed after this many silent seconds" },
	{ "server", "request_timeout_seconds",
	    "a request (headers and body) must arrive within this; slow "
	    "clients are cut off" },
	{ "server", "user",
	    "drop to this user after binding the listener; empty = stay" },
	{ "server", "allow_root",
	    "serve may keep running as root (no user set)" },
	{ "server", "trusted_proxies",
	    "reverse proxies whose X-Forwarded-For names the client "
	    "(addresses, CIDRs); empty = none" },
	{ "admin", "listen", "admin HTTP API, host:port; empty = off" },
	{ "admin", "token_file", "bearer token for the admin API" },
	{ "admin", "max_outstanding_challenges",
	    "NDES page: \"password cache is full\" beyond this many unused "
	    "challenges; 0 = no cap" },
	{ "db", "path", "SQLite database" },
	{ "ra", "cert", "RA certificate (signs CertReps, decrypts requests)" },
	{ "ra", "key", "RA private key (mode 0600)" },
	{ "ra", "ca_chain",
	    "issuing CA (+ intermediates, root) returned by GetCACert" },
	{ "ra", "next_cert",
	    "RA rollover: next certificate, announced by GetNextCACert; "
	    "empty = none" },
	{ "ra", "next_key", "its key (mode 0600)" },
	{ "ra", "previous_cert",
	    "RA rollover: the replaced certificate, still decrypts; "
	    "empty = none" },
	{ "ra", "previous_key", "its key (mode 0600)" },
	{ "epki", "url",
	    "GlobalSign GasOrderService endpoint; https (http only to a "
	    "loopback address)" },
	{ "epki", "allow_http",
	    "allow an http:// url to a host that is not loopback (the API "
	    "password then travels in clear)" },
	{ "epki", "username", "EPKI API user" },
	{ "epki", "password_file", "file holding the EPKI API password" },
	{ "epki", "profile_id", "EPKI profile (MP...)" },
	{ "epki", "product_code", NULL },
	{ "epki", "years", "must match the licence pack: 1, 2 or 3" },
	{ "epki", "timeout_seconds", "upstream call timeout (1..600)" },
	{ "epki", "reconcile_seconds",
	    "how often unfinished orders are looked up at GlobalSign "
	    "(1..3600)" },
	{ "epki", "ca_file",
	    "TLS trust for the EPKI URL; empty = system store" },
	{ "epki", "max_response_bytes",
	    "largest GlobalSign reply read (1024..67108864)" },
	{ "epki", "max_connections",
	    "parallel connections to GlobalSign at most; more orders wait "
	    "their turn (1..65536)" },
	{ "scep", "allow_des",
	    "single-DES requests (legacy clients); needs OpenSSL's legacy "
	    "provider" },
	{ "scep", "max_recipient_infos",
	    "RecipientInfos in a request's envelope at most (1..100)" },
	{ "scep", "max_certificates",
	    "certificates in a request's SignedData at most (1..1000)" },
	{ "scep", "pending_after_seconds",
	    "answer PENDING when GlobalSign takes longer; finish in the "
	    "background" },
	{ "enroll", "challenge_ttl_seconds",
	    "lifetime of a new challenge (60..31536000)" },
	{ "enroll", "max_failures_per_minute",
	    "wrong challenges or NDES page logins allowed per client address "
	    "(IPv6: per /64) per minute; 0 = no limit" },
	{ "ndes", "enabled",
	    "the NDES-compatible challenge page /certsrv/mscep_admin/; no = "
	    "404" },
	{ "ndes", "login_threads",
	    "NDES logins checked at once (scrypt, 32 MiB each) (1..16)" },
	{ "ndes", "max_waiting_logins",
	    "NDES logins waiting for a thread at most; more get 503 "
	    "(1..100000)" },
	{ "log", "level", "error, warning, info or debug" },
};

_Static_assert(sizeof(docs) / sizeof(docs[0]) == KEYS_N,
    "every key is written by config_write_default()");

static const struct cfg_word {
	const char *word;
	int value;
} bool_words[] = {
	{ "yes", 1 }, { "no", 0 }, { "true", 1 }, { "false", 0 },
	{ "on", 1 }, { "off", 0 }, { "1", 1 }, { "0", 0 },
}, level_words[] = {
	{ "error", LOG_ERR }, { "warning", LOG_WARNING },
	{ "info", LOG_INFO }, { "debug", LOG_DEBUG },
};

#define WORDS_N(w) (sizeof(w) / sizeof((w)[0]))

/* The state shared by the line reader and the inih handler. */
struct cfg_parse {
	FILE *f;
	FILE *errf;
	const char *path; /* as given, for messages */
	struct gw_config *c;
	char *line; /* getline() buffer */
	size_t linecap;
	int lineno;	/* the line inih is handling now */
	int read_errno; /* non-zero after a read error */
	int errors;
	int seen[KEYS_N]; /* line a key was set on, or 0 */
};

/* Reports "PATH:LINE: [section] key "name": reason" and counts it. */
static void
cfg_report(struct cfg_parse *p, const char *section, const char *name,
    const char *reason)
{
	fprintf(p->errf, "%s:%d: [%s] key \"%s\": %s\n", p->path, p->lineno,
	    section, name, reason);
	p->errors++;
}

/* Reports a line-level syntax error and counts it. */
static void
cfg_report_line(struct cfg_parse *p, const char *reason)
{
	fprintf(p->errf, "%s:%d: syntax error: %s\n", p->path, p->lineno,
	    reason);
	p->errors++;
}

static int
cfg_key_cmp(const void *a, const void *b)
{
	const struct cfg_key *x = a, *y = b;
	int d;

	d = strcmp(x->section, y->section);
	return d != 0 ? d : strcmp(x->name, y->name);
}

/* The row of [section] name, or NULL. */
static const struct cfg_key *
cfg_key_find(const char *section, const char *name)
{
	struct cfg_key k;

	memset(&k, 0, sizeof(k));
	k.section = section;
	k.name = name;
	return bsearch(&k, keys, KEYS_N, sizeof(keys[0]), cfg_key_cmp);
}

static bool
cfg_section_known(const char *section)
{
	size_t i;

	for (i = 0; i < KEYS_N; i++)
		if (strcmp(keys[i].section, section) == 0)
			return true;
	return false;
}

/*
 * Checks that a line will parse as a comment, a section or a key, the way
 * inih reads it. Returns NULL when it will, or the reason.
 */
static const char *
cfg_line_check(const char *s)
{
	if (*s == '\0' || *s == ';' || *s == '#')
		return NULL;
	if (*s == '[')
		return strchr(s, ']') != NULL ? NULL : "expected \"[section]\"";
	if (strpbrk(s, "=:") == NULL)
		return "expected \"name = value\"";
	return NULL;
}

/*
 * The ini_reader: reads one whole line, counts it, and hands inih a copy
 * with the leading blanks removed (inih would take an indented line as
 * the continuation of the previous value). A line too long or malformed
 * is reported here and passed on as an empty line.
 */
static char *
cfg_reader(char *str, int num, void *stream)
{
	struct cfg_parse *p = stream;
	const char *s;
	ssize_t n;
	size_t len;

	errno = 0;
	if ((n = getline(&p->line, &p->linecap, p->f)) < 0) {
		p->read_errno = errno;
		return NULL;
	}
	p->lineno++;
	len = (size_t)n;
	while (
	    len > 0 && (p->line[len - 1] == '\n' || p->line[len - 1] == '\r'))
		p->line[--len] = '\0';
	s = p->line;
	if (p->lineno == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3;
	while (*s == ' ' || *s == '\t')
		s++;
	str[0] = '\0';
	if (strlen(s) + 1 > (size_t)num) {
		cfg_report_line(p, "line too long");
		return str;
	}
	if (cfg_line_check(s) != NULL) {
		cfg_report_line(p, cfg_line_check(s));
		return str;
	}
	memcpy(str, s, strlen(s) + 1);
	return str;
}

/* Replaces the string at *dst with a copy of s (NULL allowed); 0, or -1
 * out of memory (*dst unchanged). */
int
config_str_set(char **dst, const char *s)
{
	char *v = NULL;

	if (s != NULL && (v = gw_strdup(s)) == NULL)
		return -1;
	free(*dst);
	*dst = v;
	return 0;
}

/* Stores a string or path value; reason set on failure. */
static int
cfg_set_string(const struct cfg_key *k, const struct gw_config *c, char **dst,
    const char *v, char *reason, size_t rlen)
{
	char *abs = NULL;
	size_t n;
	int rc = -1;

	if (*v == '\0') {
		/* Empty means "unset" only for optional keys without default.
		 */
		if (k->required || k->def != NULL) {
			snprintf(reason, rlen, "must not be empty");
			goto out;
		}
		rc = config_str_set(dst, NULL);
		goto out;
	}
	if (k->type != CFG_PATH || v[0] == '/' || c->dir == NULL) {
		rc = config_str_set(dst, v);
		goto out;
	}
	n = strlen(c->dir) + 1 + strlen(v) + 1;
	if ((abs = malloc(n)) == NULL)
		goto out;
	snprintf(abs, n, "%s/%s", c->dir, v);
	free(*dst);
	*dst = abs;
	abs = NULL;
	rc = 0;
out:
	if (rc != 0 && reason[0] == '\0')
		snprintf(reason, rlen, "out of memory");
	free(abs);
	return rc;
}

/* Parses a whole decimal number within the key's bounds into *out. */
static int
cfg_parse_number(const struct cfg_key *k, const char *v, long long *out,
    char *reason, size_t rlen)
{
	const char *s;
	long long n;
	char *end;

	for (s = v; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			break;
	if (*v == '\0' || *s != '\0') {
		snprintf(reason, rlen,
		    "bad value \"%.40s\": expected a whole "
		    "number",
		    v);
		return -1;
	}
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno == ERANGE || n < k->min || n > k->max) {
		snprintf(reason, rlen, "%.40s is out of range %lld..%lld", v,
		    k->min, k->max);
		return -1;
	}
	*out = n;
	return 0;
}

/* Looks v up in a word table (case-insensitive). */
static int
cfg_parse_word(const struct cfg_word *w, size_t n, const char *v, int *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcasecmp(w[i].word, v) == 0) {
			*out = w[i].value;
			return 0;
		}
	}
	return -1;
}

/*
 * Parses value v for key k into the config field. Returns 0, or -1 with a
 * one-line reason in reason[].
 */
static int
cfg_value_set(const struct cfg_key *k, struct gw_config *c, const char *v,
    char *reason, size_t rlen)
{
	char *field = (char *)c + k->off;
	struct proxy_list *l;
	long long n = 0;
	int w = 0;

	reason[0] = '\0';
	switch (k->type) {
	case CFG_NETS:
		if (proxy_list_parse(v, &l, reason, rlen) == -1)
			return -1;
		proxy_list_free(l);
		return cfg_set_string(k, c, (char **)(void *)field, v, reason,
		    rlen);
	case CFG_STRING:
	case CFG_PATH:
		return cfg_set_string(k, c, (char **)(void *)field, v, reason,
		    rlen);
	case CFG_SIZE:
	case CFG_LONG:
	case CFG_INT:
	case CFG_UINT:
		if (cfg_parse_number(k, v, &n, reason, rlen) != 0)
			return -1;
		break;
	case CFG_BOOL:
		if (cfg_parse_word(bool_words, WORDS_N(bool_words), v, &w) !=
		    0) {
			snprintf(reason, rlen,
			    "bad value \"%.40s\": expected "
			    "yes or no",
			    v);
			return -1;
		}
		*(bool *)(void *)field = w != 0;
		return 0;
	case CFG_LOGLEVEL:
		if (cfg_parse_word(level_words, WORDS_N(level_words), v, &w) !=
		    0) {
			snprintf(reason, rlen,
			    "bad value \"%.40s\": expected "
			    "error, warning, info or debug",
			    v);
			return -1;
		}
		*(int *)(void *)field = w;
		return 0;
	case CFG__MAX:
		return -1;
	}
	/* Bounds were checked; each field type holds them. */
	if (k->type == CFG_SIZE)
		*(size_t *)(void *)field = (size_t)n;
	else if (k->type == CFG_LONG)
		*(long *)(void *)field = (long)n;
	else if (k->type == CFG_INT)
		*(int *)(void *)field = (int)n;
	else
		*(unsigned *)(void *)field = (unsigned)n;
	return 0;
}

/* The inih handler: one name = value line. Always returns 1 (go on). */
static int
cfg_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct cfg_parse *p = user;
	const struct cfg_key *k;
	char reason[160];
	size_t i;

	if (strncmp(section, "profile ", 8) == 0) {
		if (config_profile_key(p->c, section + 8, name, value,
			p->lineno, reason, sizeof(reason)) != 0)
			cfg_report(p, section, name, reason);
		return 1;
	}
	k = cfg_key_find(section, name);
	if (k == NULL) {
		cfg_report(p, section, name,
		    cfg_section_known(section) ? "unknown key" :
						 "unknown section");
		return 1;
	}
	i = (size_t)(k - keys);
	if (p->seen[i] != 0) {
		snprintf(reason, sizeof(reason),
		    "duplicate key (first set on line %d)", p->seen[i]);
		cfg_report(p, section, name, reason);
		return 1;
	}
	p->seen[i] = p->lineno;
	if (cfg_value_set(k, p->c, value, reason, sizeof(reason)) != 0)
		cfg_report(p, section, name, reason);
	return 1;
}

/* Sets every default. Returns 0, or -1 when out of memory. */
static int
cfg_defaults_set(struct gw_config *c)
{
	char reason[160];
	size_t i;

	for (i = 0; i < KEYS_N; i++)
		if (keys[i].def != NULL &&
		    cfg_value_set(&keys[i], c, keys[i].def, reason,
			sizeof(reason)) != 0)
			return -1;
	return 0;
}

/* Whether host (a URL's, IPv6 without brackets) is a loopback address. */
static bool
cfg_host_is_loopback(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/*
 * The host of an http:// or https:// url (rest points past the scheme),
 * into out: no user info, no port, IPv6 without its brackets. Returns 0,
 * or -1 when there is none.
 */
static int
cfg_url_host(const char *rest, char *out, size_t n)
{
	size_t len = strcspn(rest, "/?#");
	const char *at, *end;

	/* User info ends at the authority's last '@'. */
	for (at = rest + len; at > rest && at[-1] != '@'; at--)
		;
	len -= (size_t)(at - rest);
	rest = at;
	if (rest[0] == '[') {
		if ((end = memchr(rest, ']', len)) == NULL)
			return -1;
		rest++;
		len = (size_t)(end - rest);
	} else if ((end = memchr(rest, ':', len)) != NULL)
		len = (size_t)(end - rest);
	if (len == 0 || len >= n)
		return -1;
	memcpy(out, rest, len);
	out[len] = '\0';
	return 0;
}

/*
 * The [epki] url rule (README "Configuration"): https; http only to a
 * loopback address (epki-sim) or with allow_http, since plain HTTP sends
 * the API password and every order in clear. Returns 0, or -1 with the
 * reason.
 */
int
config_epki_url_check(const char *url, bool allow_http, char *reason,
    size_t rlen)
{
	char host[256];

	if (strncasecmp(url, "https://", 8) == 0 &&
	    cfg_url_host(url + 8, host, sizeof(host)) == 0)
		return 0;
	if (strncasecmp(url, "http://", 7) != 0 ||
	    cfg_url_host(url + 7, host, sizeof(host)) == -1) {
		snprintf(reason, rlen,
		    "bad value \"%.60s\": expected https://HOST/...", url);
		return -1;
	}
	if (allow_http || cfg_host_is_loopback(host))
		return 0;
	snprintf(reason, rlen,
	    "http:// sends the API password and every order in clear: use "
	    "https://, or set [epki] allow_http = yes");
	return -1;
}

/* Reports an [epki] url the rule refuses, on the line that set it. */
static void
cfg_epki_url_check(struct cfg_parse *p)
{
	const struct cfg_key *k = cfg_key_find("epki", "url");
	char reason[160];

	if (p->c->epki_url == NULL ||
	    config_epki_url_check(p->c->epki_url, p->c->epki_allow_http, reason,
		sizeof(reason)) == 0)
		return;
	fprintf(p->errf, "%s:%d: [epki] key \"url\": %s\n", p->path,
	    p->seen[k - keys], reason);
	p->errors++;
}

/* Reports required keys never set, in docs[] order; and cross-checks. */
static void
cfg_required_check(struct cfg_parse *p)
{
	const struct cfg_key *k;
	size_t i;

	for (i = 0; i < KEYS_N; i++) {
		k = cfg_key_find(docs[i].section, docs[i].name);
		if (k == NULL || !k->required || p->seen[k - keys] != 0)
			continue;
		fprintf(p->errf, "%s: [%s] missing required key \"%s\"\n",
		    p->path, k->section, k->name);
		p->errors++;
	}
	if (p->c->admin_listen != NULL && p->c->admin_token_file == NULL) {
		fprintf(p->errf,
		    "%s: [admin] missing required key \"token_file\" "
		    "(needed when listen is set)\n",
		    p->path);
		p->errors++;
	}
	cfg_epki_url_check(p);
}

/*
 * The absolute folder of path: its directory part, prefixed with the
 * current directory when relative. Returns a malloc'd string or NULL.
 */
static char *
cfg_dir_of(const char *path)
{
	char cwd[PATH_MAX], *dir = NULL, *res = NULL;
	const char *slash;
	size_t n;

	slash = strrchr(path, '/');
	if (slash == path)
		return gw_strdup("/");
	if (slash != NULL && path[0] == '/')
		return gw_strndup(path, (size_t)(slash - path));
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return NULL;
	if (slash == NULL)
		return gw_strdup(cwd);
	if ((dir = gw_strndup(path, (size_t)(slash - path))) == NULL)
		return NULL;
	n = strlen(cwd) + 1 + strlen(dir) + 1;
	if ((res = malloc(n)) != NULL)
		snprintf(res, n, "%s/%s", cwd, dir);
	free(dir);
	return res;
}

/*
 * A config for the file at path holding every default, as config_load()
 * starts from: what `scepgw init` fills in and writes. Required keys are
 * unset. Free with config_free(); NULL when out of memory.
 */
struct gw_config *
config_new_defaults(const char *path)
{
	struct gw_config *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->path = gw_strdup(path);
	c->dir = cfg_dir_of(path);
	if (c->path == NULL || c->dir == NULL || cfg_defaults_set(c) != 0) {
		config_free(c);
		return NULL;
	}
	return c;
}

/*
 * Loads the config file at path. Every problem is written to errf as one
 * line naming the file and, where there is one, the line; parsing goes on
 * after an error so all of them are reported. On success *out is a new
 * config the caller frees with config_free(). Returns 0, or -1 with *out
 * NULL.
 */
int
config_load(struct gw_config **out, const char *path, FILE *errf)
{
	struct cfg_parse p;
	char reason[160];
	int r, rc = -1;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	p.path = path;
	p.errf = errf;
	if ((p.f = fopen(path, "r")) == NULL) {
		fprintf(errf, "%s: %s\n", path, strerror(errno));
		goto out;
	}
	if ((p.c = config_new_defaults(path)) == NULL) {
		fprintf(errf, "%s: %s\n", path, strerror(errno));
		goto out;
	}
	r = ini_parse_stream(cfg_reader, &p, cfg_handler, &p);
	if (p.read_errno != 0) {
		fprintf(errf, "%s: %s\n", path, strerror(p.read_errno));
		goto out;
	}
	/* Our reader filters what inih refuses; this is a backstop. */
	if (r != 0 && p.errors == 0) {
		fprintf(errf, "%s:%d: syntax error\n", path, r > 0 ? r : 0);
		goto out;
	}
	cfg_required_check(&p);
	if (p.errors == 0)
		p.errors += config_profiles_finish(p.c, errf);
	/* Checked as it was read: only memory can fail here. */
	if (p.errors == 0 &&
	    proxy_list_parse(p.c->trusted_proxies, &p.c->proxies, reason,
		sizeof(reason)) == -1) {
		fprintf(errf, "%s: [server] trusted_proxies: %s\n", path,
		    reason);
		p.errors++;
	}
	if (p.errors != 0)
		goto out;
	*out = p.c;
	p.c = NULL;
	rc = 0;
out:
	if (p.f != NULL)
		fclose(p.f);
	free(p.line);
	config_free(p.c);
	return rc;
}

/* Frees a config and every string in it; accepts NULL. */
void
config_free(struct gw_config *c)
{
	size_t i;

	if (c == NULL)
		return;
	config_profiles_free(c);
	for (i = 0; i < KEYS_N; i++)
		if (keys[i].type == CFG_STRING || keys[i].type == CFG_PATH ||
		    keys[i].type == CFG_NETS)
			free(*(char **)(void *)((char *)c + keys[i].off));
	proxy_list_free(c->proxies);
	free(c->path);
	free(c->dir);
	free(c);
}

/* Writes a string value: paths under c->dir relative again. */
static const char *
cfg_value_str(const struct cfg_key *k, const struct gw_config *c)
{
	const char *v =
	    *(char *const *)(const void *)((const char *)c + k->off);
	size_t n;

	if (v == NULL)
		return "";
	if (k->type == CFG_PATH && c->dir != NULL) {
		n = strlen(c->dir);
		if (strncmp(v, c->dir, n) == 0 && v[n] == '/' &&
		    v[n + 1] != '\0')
			return v + n + 1;
	}
	return v;
}

/* The name of a word-table value, or NULL. */
static const char *
cfg_word_name(const struct cfg_word *w, size_t n, int value)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (w[i].value == value)
			return w[i].word;
	return NULL;
}

/* Formats the value of key k into buf. Returns 0, or -1 if unwritable. */
static int
cfg_value_format(const struct cfg_key *k, const struct gw_config *c, char *buf,
    size_t len)
{
	const void *field = (const char *)c + k->off;
	const char *s = NULL;

	switch (k->type) {
	case CFG_STRING:
	case CFG_PATH:
	case CFG_NETS:
		s = cfg_value_str(k, c);
		break;
	case CFG_SIZE:
		snprintf(buf, len, "%zu", *(const size_t *)field);
		return 0;
	case CFG_LONG:
		snprintf(buf, len, "%ld", *(const long *)field);
		return 0;
	case CFG_INT:
		snprintf(buf, len, "%d", *(const int *)field);
		return 0;
	case CFG_UINT:
		snprintf(buf, len, "%u", *(const unsigned *)field);
		return 0;
	case CFG_BOOL:
		s = *(const bool *)field ? "yes" : "no";
		break;
	case CFG_LOGLEVEL:
		s = cfg_word_name(level_words, WORDS_N(level_words),
		    *(const int *)field);
		break;
	case CFG__MAX:
		break;
	}
	if (s == NULL || strlen(s) >= len)
		return -1;
	/* A value inih would read back differently cannot be written. */
	if (strpbrk(s, "\r\n") != NULL || strstr(s, " ;") != NULL ||
	    strstr(s, "\t;") != NULL || isspace((unsigned char)s[0]) ||
	    (s[0] != '\0' && isspace((unsigned char)s[strlen(s) - 1])))
		return -1;
	memcpy(buf, s, strlen(s) + 1);
	return 0;
}

/*
 * Writes c as a complete, commented config file to f: every key, in
 * docs[] order; paths inside c->dir (when set) are written relative to
 * it. Returns 0, or -1 when a value cannot be written back faithfully or
 * f reports an error.
 */
int
config_write_default(FILE *f, const struct gw_config *c)
{
	const char *section = NULL;
	const struct cfg_key *k;
	char val[200];
	size_t i;

	fprintf(f,
	    "; scepgw configuration (README \"Configuration\").\n"
	    "; Relative paths are relative to this file's folder.\n");
	for (i = 0; i < KEYS_N; i++) {
		k = cfg_key_find(docs[i].section, docs[i].name);
		if (k == NULL || cfg_value_format(k, c, val, sizeof(val)) != 0)
			return -1;
		if (section == NULL || strcmp(section, k->section) != 0) {
			fprintf(f, "\n[%s]\n", k->section);
			section = k->section;
		}
		/* inih reads at most ini_max_line (200) bytes a line. */
		if (strlen(k->name) + strlen(val) + 4 > 198)
			return -1;
		if (docs[i].comment != NULL)
			fprintf(f, "; %s\n", docs[i].comment);
		fprintf(f, "%s =%s%s\n", k->name, val[0] != '\0' ? " " : "",
		    val);
	}
	return ferror(f) != 0 ? -1 : 0;
}
