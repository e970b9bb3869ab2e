/*
 * Loads the INI configuration (README "Configuration") through one table of
 * keys (keys.c); write.c writes the commented default file `scepgw init`
 * installs. Debian's inih 55 gives the handler no line number, so our own
 * reader feeds inih one line at a time and counts; it also checks each
 * line's syntax, so every bad line is reported, not just the first.
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
#include "db_lease.h"
#include "config_int.h"
#include "proxy.h"

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
	int seen[CFG_KEYS_N]; /* line a key was set on, or 0 */
	struct cfg_digest digest;
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

	s = *v == '-' ? v + 1 : v;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			break;
	if (*v == '\0' || (*v == '-' && v[1] == '\0') || *s != '\0') {
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
		if (cfg_parse_word(cfg_bool_words, WORDS_N(cfg_bool_words), v,
			&w) != 0) {
			snprintf(reason, rlen,
			    "bad value \"%.40s\": expected "
			    "yes or no",
			    v);
			return -1;
		}
		*(bool *)(void *)field = w != 0;
		return 0;
	case CFG_LOGLEVEL:
		if (cfg_parse_word(cfg_level_words, WORDS_N(cfg_level_words), v,
			&w) != 0) {
			snprintf(reason, rlen,
			    "bad value \"%.40s\": expected "
			    "error, warning, info or debug",
			    v);
			return -1;
		}
		*(int *)(void *)field = w;
		return 0;
	case CFG_LOGFORMAT:
		if (cfg_parse_word(cfg_format_words, WORDS_N(cfg_format_words),
			v, &w) != 0) {
			snprintf(reason, rlen,
			    "bad value \"%.40s\": expected text or json", v);
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
	long day;

	cfg_digest_add(&p->digest, section, name, value);
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
	i = (size_t)(k - cfg_keys);
	if (p->seen[i] != 0) {
		snprintf(reason, sizeof(reason),
		    "duplicate key (first set on line %d)", p->seen[i]);
		cfg_report(p, section, name, reason);
		return 1;
	}
	p->seen[i] = p->lineno;
	if (cfg_value_set(k, p->c, value, reason, sizeof(reason)) != 0)
		cfg_report(p, section, name, reason);
	else if (strcmp(name, "licences_expire") == 0 && value[0] != '\0' &&
	    config_date_parse(value, &day) != 0)
		cfg_report(p, section, name,
		    "expected a date YYYY-MM-DD (the licence pack's last day)");
	return 1;
}

/* Sets every default. Returns 0, or -1 when out of memory. */
static int
cfg_defaults_set(struct gw_config *c)
{
	char reason[160];
	size_t i;

	for (i = 0; i < CFG_KEYS_N; i++)
		if (cfg_keys[i].def != NULL &&
		    cfg_value_set(&cfg_keys[i], c, cfg_keys[i].def, reason,
			sizeof(reason)) != 0)
			return -1;
	return 0;
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
	    p->seen[k - cfg_keys], reason);
	p->errors++;
}

/*
 * [cluster] lease_seconds L must cover one upstream call E ([epki]
 * timeout_seconds), the margin M and two heartbeats H: L >= E + M + 2H
 * (README "How an enrollment works" 7), or no order could ever start.
 */
static void
cfg_lease_check(struct cfg_parse *p)
{
	const struct cfg_key *k = cfg_key_find("cluster", "lease_seconds");
	long e = p->c->epki_timeout_seconds, l = p->c->cluster_lease_seconds;
	long min = e + DB_LEASE_MARGIN_S + 2 * DB_LEASE_BEAT_S;

	if (l == 0 || l >= min)
		return;
	fprintf(p->errf,
	    "%s:%d: [cluster] key \"lease_seconds\": %ld is too short: it "
	    "must be at least [epki] timeout_seconds (%ld) + margin M (%d) + "
	    "2 x heartbeat H (%d) = %ld, or 0 for timeout_seconds + 30\n",
	    p->path, p->seen[k - cfg_keys], l, e, DB_LEASE_MARGIN_S,
	    2 * DB_LEASE_BEAT_S, min);
	p->errors++;
}

/* [db]: exactly one of path (SQLite) and url (PostgreSQL); a
 * password_file only with url. */
static void
cfg_db_check(struct cfg_parse *p)
{
	const struct gw_config *c = p->c;

	if (c->db_path == NULL && c->db_url == NULL) {
		fprintf(p->errf,
		    "%s: [db] missing required key \"path\" (SQLite) or "
		    "\"url\" (PostgreSQL)\n",
		    p->path);
		p->errors++;
	} else if (c->db_path != NULL && c->db_url != NULL) {
		fprintf(p->errf,
		    "%s: [db] set \"path\" (SQLite) or \"url\" "
		    "(PostgreSQL), not both\n",
		    p->path);
		p->errors++;
	} else if (c->db_password_file != NULL && c->db_url == NULL) {
		fprintf(p->errf,
		    "%s: [db] \"password_file\" is for \"url\" "
		    "(PostgreSQL); SQLite has no password\n",
		    p->path);
		p->errors++;
	}
}

/* Reports required keys never set, in docs[] order; and cross-checks. */
static void
cfg_required_check(struct cfg_parse *p)
{
	const struct cfg_key *k;
	size_t i;

	for (i = 0; i < CFG_KEYS_N; i++) {
		k = cfg_key_find(cfg_docs[i].section, cfg_docs[i].name);
		if (k != NULL && strcmp(k->section, "db") == 0 &&
		    strcmp(k->name, "path") == 0)
			cfg_db_check(p); /* path or url, in its place */
		if (k == NULL || !k->required || p->seen[k - cfg_keys] != 0)
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
	cfg_lease_check(p);
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
		p.errors += config_intune_finish(p.c, errf);
	if (p.errors == 0)
		p.errors += config_profiles_finish(p.c, errf);
	if (p.errors == 0)
		p.errors += config_licences_finish(p.c, errf);
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
	p.c->has_order_sha256 =
	    cfg_digest_final(&p.digest, p.c->order_sha256) == 0;
	*out = p.c;
	p.c = NULL;
	rc = 0;
out:
	if (p.f != NULL)
		fclose(p.f);
	(void)cfg_digest_final(&p.digest, NULL); /* frees what is left */
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
	config_licences_free(c);
	for (i = 0; i < CFG_KEYS_N; i++)
		if (cfg_keys[i].type == CFG_STRING ||
		    cfg_keys[i].type == CFG_PATH ||
		    cfg_keys[i].type == CFG_NETS)
			free(*(char **)(void *)((char *)c + cfg_keys[i].off));
	proxy_list_free(c->proxies);
	free(c->path);
	free(c->dir);
	free(c);
}
