/*
 * scepgw.conf(5) (deploy/man/scepgw.conf.5) against the key table
 * (server/config/keys.c) and the [profile NAME] keys (profile.c), so the
 * page cannot drift from the code: every key of the table is documented
 * under its ".Ss [SECTION]" as an ".It Cm NAME" entry whose next line
 * states its type, range and default as the table has them; every key the
 * page documents is still a key. A failure prints the mdoc lines to add,
 * change or remove.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config_int.h"

#define MAN_PAGE GW_SRC "/deploy/man/scepgw.conf.5"
#define MAN_LINES 4096
#define MAN_PROFILE "profile NAME"

/* The page, one string per line, and what it documents. */
struct man {
	char *text;		    /* the whole file, split in place */
	char *line[MAN_LINES];	    /* its lines */
	size_t nline;		    /* how many */
	const char *sec[MAN_LINES]; /* the section a line stands in */
	char report[65536];	    /* the problems found, or "" */
	size_t rlen;		    /* bytes used in report */
};

static void man_say(struct man *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends one problem to the report. */
static void
man_say(struct man *m, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (m->rlen >= sizeof(m->report) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(m->report + m->rlen, sizeof(m->report) - m->rlen, fmt,
	    ap);
	va_end(ap);
	if (n > 0)
		m->rlen += (size_t)n;
	if (m->rlen >= sizeof(m->report))
		m->rlen = sizeof(m->report) - 1;
}

/* Reads the page and splits it into lines; fails the test if it cannot. */
static void
man_read(struct man *m)
{
	FILE *f = fopen(MAN_PAGE, "r");
	long len;
	char *p;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	assert_true(len > 0);
	rewind(f);
	m->text = calloc(1, (size_t)len + 1);
	assert_non_null(m->text);
	assert_int_equal(fread(m->text, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	for (p = m->text; *p != '\0' && m->nline < MAN_LINES;) {
		m->line[m->nline++] = p;
		p += strcspn(p, "\n");
		if (*p == '\n')
			*p++ = '\0';
	}
	assert_true(m->nline < MAN_LINES);
}

/*
 * Notes which section each line stands in: the text of the last
 * ".Ss [SECTION]" heading ("profile NAME" for the profile keys), or NULL.
 */
static void
man_sections(struct man *m)
{
	const char *sec = NULL;
	char *l;
	size_t i, n;

	for (i = 0; i < m->nline; i++) {
		l = m->line[i];
		if (strncmp(l, ".Ss ", 4) == 0) {
			sec = NULL;
			n = strlen(l);
			if (l[4] == '[' && l[n - 1] == ']') {
				l[n - 1] = '\0';
				sec = l + 5;
			}
		} else if (strncmp(l, ".Sh ", 4) == 0)
			sec = NULL;
		m->sec[i] = sec;
	}
}

/* The line of ".It Cm name" under [section], or 0 when there is none. */
static size_t
man_find(const struct man *m, const char *section, const char *name)
{
	size_t i;

	for (i = 0; i < m->nline; i++)
		if (m->sec[i] != NULL && strcmp(m->sec[i], section) == 0 &&
		    strncmp(m->line[i], ".It Cm ", 7) == 0 &&
		    strcmp(m->line[i] + 7, name) == 0)
			return i;
	return 0;
}

/* The word the page uses for a type. */
static const char *
type_word(enum cfg_type t)
{
	static const char *const words[CFG__MAX] = {
		[CFG_STRING] = "String",
		[CFG_PATH] = "Path",
		[CFG_SIZE] = "Size",
		[CFG_LONG] = "Integer",
		[CFG_INT] = "Integer",
		[CFG_UINT] = "Integer",
		[CFG_BOOL] = "Yes/no",
		[CFG_LOGLEVEL] = "Level",
		[CFG_LOGFORMAT] = "Format",
		[CFG_NETS] = "Addresses",
	};

	return t < CFG__MAX && words[t] != NULL ? words[t] : "?";
}

/*
 * The line after ".It Cm NAME" as the table says it, e.g. "Integer, 1 to
 * 64; default" (then ".Ql 4 ." on the next line), "Path; required." or
 * "String; empty by default.".
 */
static void
key_type_line(const struct cfg_key *k, char *out, size_t n)
{
	char range[64] = "";

	if (k->min != 0 || k->max != 0)
		snprintf(range, sizeof(range), ", %lld to %lld", k->min,
		    k->max);
	snprintf(out, n, "%s%s; %s", type_word(k->type), range,
	    k->required	       ? "required." :
		k->def != NULL ? "default" :
				 "empty by default.");
}

/* What the table's comment on a key says, for the lines to add. */
static const char *
key_comment(const struct cfg_key *k)
{
	size_t i;

	for (i = 0; i < CFG_KEYS_N; i++)
		if (strcmp(cfg_docs[i].section, k->section) == 0 &&
		    strcmp(cfg_docs[i].name, k->name) == 0 &&
		    cfg_docs[i].comment != NULL)
			return cfg_docs[i].comment;
	return "WHAT IT DOES";
}

/* True when the page has a ".Ss [section]" heading. */
static bool
man_has_section(const struct man *m, const char *section)
{
	size_t i;

	for (i = 0; i < m->nline; i++)
		if (m->sec[i] != NULL && strcmp(m->sec[i], section) == 0)
			return true;
	return false;
}

/* Reports a key of the table the page leaves out, with the lines to add. */
static void
key_missing(struct man *m, const struct cfg_key *k, const char *want)
{
	man_say(m,
	    "scepgw.conf.5: [%s] %s is a key (server/config/keys.c) but not "
	    "documented; add under \".Ss [%s]\"%s, inside its .Bl/.El:\n"
	    ".It Cm %s\n%s\n",
	    k->section, k->name, k->section,
	    man_has_section(m, k->section) ?
		"" :
		" (a new section: \".Ss [SECTION]\", a sentence, "
		"\".Bl -tag -width Ds\" ... \".El\")",
	    k->name, want);
	if (k->def != NULL && !k->required)
		man_say(m, ".Ql %s .\n", k->def);
	man_say(m, "%s.\n\n", key_comment(k));
}

/* Checks one key of the table against its entry on the page. */
static void
key_check(struct man *m, const struct cfg_key *k)
{
	char want[128], ql[256];
	size_t i = man_find(m, k->section, k->name);

	key_type_line(k, want, sizeof(want));
	if (i == 0) {
		key_missing(m, k, want);
		return;
	}
	if (i + 1 >= m->nline || strcmp(m->line[i + 1], want) != 0)
		man_say(m,
		    "scepgw.conf.5:%zu: [%s] %s: the line after \".It Cm "
		    "%s\" says \"%s\"; the key table says \"%s\"\n",
		    i + 2, k->section, k->name, k->name,
		    i + 1 < m->nline ? m->line[i + 1] : "", want);
	if (k->def == NULL || k->required)
		return;
	snprintf(ql, sizeof(ql), ".Ql %s .", k->def);
	if (i + 2 >= m->nline || strcmp(m->line[i + 2], ql) != 0)
		man_say(m,
		    "scepgw.conf.5:%zu: [%s] %s: the default line says "
		    "\"%s\"; the key table's default gives \"%s\"\n",
		    i + 3, k->section, k->name,
		    i + 2 < m->nline ? m->line[i + 2] : "", ql);
}

/* True when name is a [profile NAME] key (profile.c). */
static bool
profile_key_known(const char *name)
{
	const char *k;
	size_t i;

	for (i = 0; (k = cfg_profile_key_name(i)) != NULL; i++)
		if (strcmp(k, name) == 0)
			return true;
	return false;
}

/* True when the page documents [section] name more than once. */
static bool
man_twice(const struct man *m, size_t first)
{
	size_t i;

	for (i = first + 1; i < m->nline; i++)
		if (m->sec[i] != NULL &&
		    strcmp(m->sec[i], m->sec[first]) == 0 &&
		    strcmp(m->line[i], m->line[first]) == 0)
			return true;
	return false;
}

/* Reports every key the page documents that the code no longer has. */
static void
man_check_stale(struct man *m)
{
	const char *sec, *name;
	size_t i;
	bool known;

	for (i = 0; i < m->nline; i++) {
		sec = m->sec[i];
		if (sec == NULL || strncmp(m->line[i], ".It Cm ", 7) != 0)
			continue;
		name = m->line[i] + 7;
		known = strcmp(sec, MAN_PROFILE) == 0 ?
		    profile_key_known(name) :
		    cfg_key_find(sec, name) != NULL;
		if (!known)
			man_say(m,
			    "scepgw.conf.5:%zu: documents [%s] %s, which is "
			    "no longer a key: remove its \".It Cm %s\" "
			    "entry\n",
			    i + 1, sec, name, name);
		if (man_twice(m, i))
			man_say(m,
			    "scepgw.conf.5:%zu: [%s] %s is documented twice\n",
			    i + 1, sec, name);
	}
}

/* Reports every [profile NAME] key the page leaves out. */
static void
man_check_profile(struct man *m)
{
	const char *k;
	size_t i;

	for (i = 0; (k = cfg_profile_key_name(i)) != NULL; i++)
		if (man_find(m, MAN_PROFILE, k) == 0)
			man_say(m,
			    "scepgw.conf.5: the profile key %s "
			    "(server/config/profile.c) is not documented; add "
			    "under \".Ss [profile NAME]\":\n.It Cm %s\n"
			    "WHAT IT DOES, ITS VALUES AND DEFAULT.\n\n",
			    k, k);
}

/* Every key of both tables is on the page, as the tables say. */
static void
test_man_conf_matches_tables(void **state)
{
	struct man *m = calloc(1, sizeof(*m));
	size_t i;

	(void)state;
	assert_non_null(m);
	man_read(m);
	man_sections(m);
	for (i = 0; i < CFG_KEYS_N; i++)
		key_check(m, &cfg_keys[i]);
	man_check_profile(m);
	man_check_stale(m);
	if (m->rlen > 0)
		fprintf(stderr, "%s", m->report);
	assert_int_equal(m->rlen, 0);
	free(m->text);
	free(m);
}

/* The checker itself: a page without a key, or with a wrong default or a
 * key the table lacks, is reported. */
static void
test_man_conf_checker_catches(void **state)
{
	struct man *m = calloc(1, sizeof(*m));
	const struct cfg_key *k = cfg_key_find("server", "threads");
	char renamed[] = ".It Cm threadz";
	size_t i;

	(void)state;
	assert_non_null(m);
	assert_non_null(k);
	man_read(m);
	man_sections(m);
	i = man_find(m, "server", "threads");
	assert_true(i != 0);
	m->line[i] = renamed;
	key_check(m, k);
	assert_non_null(strstr(m->report,
	    ".It Cm threads\nInteger, 1 to 64; "
	    "default\n.Ql 4 .\n"));
	man_check_stale(m);
	assert_non_null(strstr(m->report, "documents [server] threadz"));
	free(m->text);
	free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_man_conf_matches_tables),
		cmocka_unit_test(test_man_conf_checker_catches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
