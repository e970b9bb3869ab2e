/*
 * Writes a config as the complete, commented file `scepgw init` installs:
 * every key of the table (keys.c), in its order, with its comment.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "config_int.h"

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
		s = cfg_word_name(cfg_level_words, WORDS_N(cfg_level_words),
		    *(const int *)field);
		break;
	case CFG_LOGFORMAT:
		s = cfg_word_name(cfg_format_words, WORDS_N(cfg_format_words),
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
	for (i = 0; i < CFG_KEYS_N; i++) {
		k = cfg_key_find(cfg_docs[i].section, cfg_docs[i].name);
		if (k == NULL || cfg_value_format(k, c, val, sizeof(val)) != 0)
			return -1;
		if (section == NULL || strcmp(section, k->section) != 0) {
			fprintf(f, "\n[%s]\n", k->section);
			section = k->section;
		}
		/* inih reads at most ini_max_line (200) bytes a line. */
		if (strlen(k->name) + strlen(val) + 4 > 198)
			return -1;
		if (cfg_docs[i].comment != NULL)
			fprintf(f, "; %s\n", cfg_docs[i].comment);
		fprintf(f, "%s =%s%s\n", k->name, val[0] != '\0' ? " " : "",
		    val);
	}
	return ferror(f) != 0 ? -1 : 0;
}
