/*
 * What changed between two loads of a config, key by key: a reload
 * (README "Running under systemd") applies the [ra] keys, [log] level and
 * the profiles' static_challenge_file, and names every other key that
 * changed as one a restart applies.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "config.h"
#include "config_int.h"

/* True when two optional strings differ (NULL equals only NULL). */
bool
config_str_differ(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

/* True when key k holds different values in a and b. */
static bool
key_differs(const struct cfg_key *k, const struct gw_config *a,
    const struct gw_config *b)
{
	const char *fa = (const char *)a + k->off;
	const char *fb = (const char *)b + k->off;

	switch (k->type) {
	case CFG_STRING:
	case CFG_PATH:
	case CFG_NETS:
		return config_str_differ(*(char *const *)(const void *)fa,
		    *(char *const *)(const void *)fb);
	case CFG_SIZE:
		return *(const size_t *)(const void *)fa !=
		    *(const size_t *)(const void *)fb;
	case CFG_LONG:
		return *(const long *)(const void *)fa !=
		    *(const long *)(const void *)fb;
	case CFG_INT:
	case CFG_LOGLEVEL:
		return *(const int *)(const void *)fa !=
		    *(const int *)(const void *)fb;
	case CFG_UINT:
		return *(const unsigned *)(const void *)fa !=
		    *(const unsigned *)(const void *)fb;
	case CFG_BOOL:
		return *(const bool *)(const void *)fa !=
		    *(const bool *)(const void *)fb;
	default:
		return false;
	}
}

/* True for the keys a reload applies (README "Running under systemd"). */
static bool
key_reloadable(const struct cfg_key *k)
{
	return strcmp(k->section, "ra") == 0 ||
	    (strcmp(k->section, "log") == 0 && strcmp(k->name, "level") == 0);
}

/*
 * Calls fn(arg, section, key) for every key outside those a reload applies
 * whose value differs between old and new, then for the profiles' keys
 * (config_profiles_diff()). Returns how many it named.
 */
size_t
config_diff(const struct gw_config *old, const struct gw_config *new_,
    config_diff_fn *fn, void *arg)
{
	size_t i, n = 0;

	for (i = 0; i < CFG_KEYS_N; i++) {
		if (key_reloadable(&cfg_keys[i]) ||
		    !key_differs(&cfg_keys[i], old, new_))
			continue;
		fn(arg, cfg_keys[i].section, cfg_keys[i].name);
		n++;
	}
	return n + config_profiles_diff(old, new_, fn, arg);
}
