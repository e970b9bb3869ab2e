/*
 * Private to the config room: the key table (keys.c) as loading
 * (config.c) and writing (write.c) read it.
 */
#ifndef GW_CONFIG_INT_H
#define GW_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cfg_type {
	CFG_STRING,
	CFG_PATH, /* a string; relative to the config file's folder */
	CFG_SIZE, /* size_t */
	CFG_LONG,
	CFG_INT,
	CFG_UINT, /* unsigned */
	CFG_BOOL,
	CFG_LOGLEVEL,  /* int, LOG_ERR .. LOG_DEBUG */
	CFG_NETS,      /* a string: addresses and CIDRs (proxy.h) */
	CFG_LOGFORMAT, /* int: 0 text, 1 json (log_format_set()) */
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

/* How many keys the table has. */
#define CFG_KEYS_N 67
extern const struct cfg_key cfg_keys[CFG_KEYS_N];

/* A key's place and comment in the written file. */
struct cfg_doc {
	const char *section;
	const char *name;
	const char *comment;
};
extern const struct cfg_doc cfg_docs[CFG_KEYS_N];

/* A word a value may be written as, and what it means. */
struct cfg_word {
	const char *word;
	int value;
};
extern const struct cfg_word cfg_bool_words[8];
extern const struct cfg_word cfg_level_words[4];
extern const struct cfg_word cfg_format_words[2];

#define WORDS_N(w) (sizeof(w) / sizeof((w)[0]))

const struct cfg_key *cfg_key_find(const char *section, const char *name);
bool cfg_section_known(const char *section);
const char *cfg_profile_key_name(size_t i); /* profile.c */

/* The settings that decide an order, as read (digest.c). */
struct cfg_digest {
	char **v; /* "section\nname\nvalue" */
	size_t n;
	size_t cap;
	bool oom;
};
void cfg_digest_add(struct cfg_digest *d, const char *section, const char *name,
    const char *value);
int cfg_digest_final(struct cfg_digest *d, uint8_t out[32]);

#endif
