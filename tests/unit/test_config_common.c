/*
 * The server/config/ unit tests' shared fixture (test_config_common.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "proxy.h"

#include "test_config_common.h"

const char base[] = "[db]\n"
		    "path = scepgw.db\n"
		    "[ra]\n"
		    "cert = ra.pem\n"
		    "key = ra.key\n"
		    "ca_chain = ca-chain.pem\n"
		    "[epki]\n"
		    "url = https://epki.example/GasOrderService\n"
		    "username = PAR12345_UserID\n"
		    "password_file = epki.password\n"
		    "profile_id = MP201604143456\n";

int
cfg_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_config.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/scepgw.conf", fx->dir);
	*state = fx;
	return 0;
}

int
cfg_teardown(void **state)
{
	struct fx *fx = *state;

	unlink(fx->path);
	rmdir(fx->dir);
	free(fx->errs);
	config_free(fx->c);
	free(fx);
	return 0;
}

void
file_put(const char *path, const char *a, const char *b)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(a, f);
	if (b != NULL)
		fputs(b, f);
	assert_int_equal(fclose(f), 0);
}

/* Loads path into fx->c, capturing the error text in fx->errs. */
int
load(struct fx *fx, const char *path)
{
	size_t len = 0;
	FILE *ef;
	int rc;

	free(fx->errs);
	fx->errs = NULL;
	config_free(fx->c);
	fx->c = NULL;
	ef = open_memstream(&fx->errs, &len);
	assert_non_null(ef);
	rc = config_load(&fx->c, path, ef);
	assert_int_equal(fclose(ef), 0);
	if (rc == 0)
		assert_non_null(fx->c);
	else
		assert_null(fx->c);
	return rc;
}

/* Writes text (+ base) to the fixture's file and loads it. */
int
load_text(struct fx *fx, const char *text, bool with_base)
{
	file_put(fx->path, text, with_base ? base : NULL);
	return load(fx, fx->path);
}

/* want with every "@" replaced by path; caller frees. */
char *
expand(const char *want, const char *path)
{
	size_t n = 1, i;
	const char *s;
	char *out, *o;

	for (s = want; *s != '\0'; s++)
		n += *s == '@' ? strlen(path) : 1;
	out = malloc(n);
	assert_non_null(out);
	for (s = want, o = out; *s != '\0'; s++) {
		if (*s == '@') {
			for (i = 0; path[i] != '\0'; i++)
				*o++ = path[i];
		} else
			*o++ = *s;
	}
	*o = '\0';
	return out;
}

void
assert_path(const struct fx *fx, const char *got, const char *rel)
{
	char want[256];

	snprintf(want, sizeof(want), "%s/%s", fx->dir, rel);
	assert_string_equal(got, want);
}

/* A key's default from the table (keys.c), as a number. */
long long
def_num(const char *section, const char *name)
{
	const char *d = config_default(section, name);

	assert_non_null(d);
	return strtoll(d, NULL, 10);
}

/* A key's default from the table, as a yes/no. */
bool
def_bool(const char *section, const char *name)
{
	const char *d = config_default(section, name);

	assert_non_null(d);
	return strcmp(d, "yes") == 0;
}
