/*
 * What the server/config/ unit tests share (test_config*.c): a temporary
 * folder, a config file written there and loaded, and the key table's
 * defaults.
 */
#ifndef TEST_CONFIG_COMMON_H
#define TEST_CONFIG_COMMON_H

#include <stdbool.h>

struct gw_config;

struct fx {
	char dir[64];
	char path[128];
	char *errs; /* what config_load() wrote to errf */
	struct gw_config *c;
};

/* The required keys; appended to most test files. */
extern const char base[];

int cfg_setup(void **state);
int cfg_teardown(void **state);
void file_put(const char *path, const char *a, const char *b);
int load(struct fx *fx, const char *path);
int load_text(struct fx *fx, const char *text, bool with_base);
char *expand(const char *want, const char *path);
void assert_path(const struct fx *fx, const char *got, const char *rel);
long long def_num(const char *section, const char *name);
bool def_bool(const char *section, const char *name);

#endif
