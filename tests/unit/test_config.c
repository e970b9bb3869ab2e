/*
 * Unit tests for server/config/ (config.c, keys.c, write.c): every key type,
 * defaults, relative path resolution, each kind of error with its exact
 * "file:line:" text, several errors in one run, and a written default config
 * that loads back to the same values.
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

/* The required keys; appended to most test files. */
static const char base[] = "[db]\n"
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

struct fx {
	char dir[64];
	char path[128];
	char *errs; /* what config_load() wrote to errf */
	struct gw_config *c;
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_config.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/scepgw.conf", fx->dir);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	unlink(fx->path);
	rmdir(fx->dir);
	free(fx->errs);
	config_free(fx->c);
	free(fx);
	return 0;
}

static void
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
static int
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
static int
load_text(struct fx *fx, const char *text, bool with_base)
{
	file_put(fx->path, text, with_base ? base : NULL);
	return load(fx, fx->path);
}

/* want with every "@" replaced by path; caller frees. */
static char *
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

static void
assert_path(const struct fx *fx, const char *got, const char *rel)
{
	char want[256];

	snprintf(want, sizeof(want), "%s/%s", fx->dir, rel);
	assert_string_equal(got, want);
}

/* A key's default from the table (keys.c), as a number. */
static long long
def_num(const char *section, const char *name)
{
	const char *d = config_default(section, name);

	assert_non_null(d);
	return strtoll(d, NULL, 10);
}

/* A key's default from the table, as a yes/no. */
static bool
def_bool(const char *section, const char *name)
{
	const char *d = config_default(section, name);

	assert_non_null(d);
	return strcmp(d, "yes") == 0;
}

static void
test_defaults(void **state)
{
	struct fx *fx = *state;
	struct gw_config *c;

	assert_int_equal(load_text(fx, "", true), 0);
	assert_string_equal(fx->errs, "");
	c = fx->c;
	assert_string_equal(c->path, fx->path);
	assert_string_equal(c->dir, fx->dir);
	assert_string_equal(c->listen, config_default("server", "listen"));
	assert_int_equal(c->max_request_bytes,
	    def_num("server", "max_request_bytes"));
	assert_int_equal(c->threads, def_num("server", "threads"));
	assert_null(c->admin_listen);
	assert_null(c->admin_token_file);
	assert_path(fx, c->db_path, "scepgw.db");
	assert_path(fx, c->ra_cert, "ra.pem");
	assert_path(fx, c->ra_key, "ra.key");
	assert_path(fx, c->ca_chain, "ca-chain.pem");
	assert_string_equal(c->epki_url,
	    "https://epki.example/GasOrderService");
	assert_string_equal(c->epki_username, "PAR12345_UserID");
	assert_path(fx, c->epki_password_file, "epki.password");
	assert_string_equal(c->epki_profile_id, "MP201604143456");
	assert_string_equal(c->epki_product_code,
	    config_default("epki", "product_code"));
	assert_int_equal(c->epki_years, def_num("epki", "years"));
	assert_int_equal(c->epki_timeout_seconds,
	    def_num("epki", "timeout_seconds"));
	assert_null(c->cluster_node_name);
	assert_int_equal(c->cluster_lease_seconds, 0);
	assert_null(c->epki_ca_file);
	assert_int_equal(c->allow_des, def_bool("scep", "allow_des"));
	assert_int_equal(c->pending_after_seconds,
	    def_num("scep", "pending_after_seconds"));
	assert_int_equal(c->challenge_ttl_seconds,
	    def_num("enroll", "challenge_ttl_seconds"));
	assert_int_equal(c->ndes_enabled, def_bool("ndes", "enabled"));
	assert_int_equal(c->ndes_login_threads,
	    def_num("ndes", "login_threads"));
	assert_int_equal(c->ndes_max_waiting,
	    def_num("ndes", "max_waiting_logins"));
	assert_int_equal(c->log_level, LOG_INFO);
}

/* Every key set, with comments, indentation, CRLF and ":" separators. */
static const char full[] =
    "; a comment\n"
    "# another\n"
    "[server]\n"
    "listen = 0.0.0.0:9000          ; SCEP listener\n"
    "  max_request_bytes = 1048576\r\n"
    "threads: 64\n"
    "\n"
    "[admin]\n"
    "listen = 127.0.0.1:8081\n"
    "token_file = /etc/scepgw/admin.token\n"
    "[db]\n"
    "path = data/gw.db\n"
    "[ra]\n"
    "cert = ra.pem\n"
    "key = keys/ra.key\n"
    "ca_chain = ca-chain.pem\n"
    "[epki]\n"
    "url = https://system.globalsign.com/cr/ws/GasOrderService\n"
    "username = PAR00000_scepgw\n"
    "password_file = epki.password\n"
    "profile_id = MP000000000001\n"
    "product_code = EPKIPSPersonal2\n"
    "years = 3\n"
    "timeout_seconds = 600\n"
    "ca_file = trust.pem\n"
    "[scep]\n"
    "allow_des = on\n"
    "pending_after_seconds = 1\n"
    "[enroll]\n"
    "challenge_ttl_seconds = 31536000\n"
    "[ndes]\n"
    "enabled = no\n"
    "login_threads = 16\n"
    "max_waiting_logins = 100000\n"
    "[log]\n"
    "level = DEBUG\n";

static void
check_full(const struct fx *fx, const struct gw_config *c)
{
	assert_string_equal(c->listen, "0.0.0.0:9000");
	assert_int_equal(c->max_request_bytes, 1048576);
	assert_int_equal(c->threads, 64);
	assert_string_equal(c->admin_listen, "127.0.0.1:8081");
	assert_string_equal(c->admin_token_file, "/etc/scepgw/admin.token");
	assert_path(fx, c->db_path, "data/gw.db");
	assert_path(fx, c->ra_cert, "ra.pem");
	assert_path(fx, c->ra_key, "keys/ra.key");
	assert_path(fx, c->ca_chain, "ca-chain.pem");
	assert_string_equal(c->epki_url,
	    "https://system.globalsign.com/cr/ws/GasOrderService");
	assert_string_equal(c->epki_username, "PAR00000_scepgw");
	assert_path(fx, c->epki_password_file, "epki.password");
	assert_string_equal(c->epki_profile_id, "MP000000000001");
	assert_string_equal(c->epki_product_code, "EPKIPSPersonal2");
	assert_int_equal(c->epki_years, 3);
	assert_int_equal(c->epki_timeout_seconds, 600);
	assert_path(fx, c->epki_ca_file, "trust.pem");
	assert_true(c->allow_des);
	assert_int_equal(c->pending_after_seconds, 1);
	assert_int_equal(c->challenge_ttl_seconds, 31536000);
	assert_false(c->ndes_enabled);
	assert_int_equal(c->ndes_login_threads, 16);
	assert_int_equal(c->ndes_max_waiting, 100000);
	assert_int_equal(c->log_level, LOG_DEBUG);
}

static void
test_full(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load_text(fx, full, false), 0);
	assert_string_equal(fx->errs, "");
	check_full(fx, fx->c);
}

static const struct word_case {
	const char *text;
	int want;
} bool_cases[] = {
	{ "yes", 1 }, { "no", 0 }, { "true", 1 }, { "false", 0 },
	{ "1", 1 }, { "0", 0 }, { "on", 1 }, { "off", 0 }, { "Yes", 1 },
	{ "OFF", 0 },
}, level_cases[] = {
	{ "error", LOG_ERR }, { "warning", LOG_WARNING },
	{ "info", LOG_INFO }, { "debug", LOG_DEBUG },
};

static void
test_words(void **state)
{
	struct fx *fx = *state;
	char text[128];
	size_t i;

	for (i = 0; i < sizeof(bool_cases) / sizeof(bool_cases[0]); i++) {
		snprintf(text, sizeof(text), "[scep]\nallow_des = %s\n",
		    bool_cases[i].text);
		assert_int_equal(load_text(fx, text, true), 0);
		assert_int_equal(fx->c->allow_des, bool_cases[i].want);
	}
	for (i = 0; i < sizeof(level_cases) / sizeof(level_cases[0]); i++) {
		snprintf(text, sizeof(text), "[log]\nlevel = %s\n",
		    level_cases[i].text);
		assert_int_equal(load_text(fx, text, true), 0);
		assert_int_equal(fx->c->log_level, level_cases[i].want);
	}
}

/* One bad config and the exact report; "@" stands for the file's path. */
struct bad_case {
	const char *name;
	const char *text;
	bool with_base;
	const char *want;
};

static const struct bad_case bad_cases[] = {
	{ "unknown key", "[server]\nlistn = x\n", true,
	    "@:2: [server] key \"listn\": unknown key\n" },
	{ "unknown section", "[servre]\nlisten = x\n", true,
	    "@:2: [servre] key \"listen\": unknown section\n" },
	{ "no section", "threads = 2\n", true,
	    "@:1: [] key \"threads\": unknown section\n" },
	{ "not a number", "[server]\nthreads = four\n", true,
	    "@:2: [server] key \"threads\": bad value \"four\": expected a "
	    "whole number\n" },
	{ "negative", "[server]\nthreads = -1\n", true,
	    "@:2: [server] key \"threads\": -1 is out of range 1..64\n" },
	{ "minus alone", "[server]\nthreads = -\n", true,
	    "@:2: [server] key \"threads\": bad value \"-\": expected a "
	    "whole number\n" },
	{ "lease too short", "[cluster]\nlease_seconds = 44\n", true,
	    "@:2: [cluster] key \"lease_seconds\": 44 is too short: it must "
	    "be at least [epki] timeout_seconds (30) + margin M (5) + 2 x "
	    "heartbeat H (10) = 45, or 0 for timeout_seconds + 30\n" },
	{ "lease out of range", "[cluster]\nlease_seconds = -1\n", true,
	    "@:2: [cluster] key \"lease_seconds\": -1 is out of range "
	    "0..3600\n" },
	{ "licences negative", "[epki]\nlicences = -10\n", true,
	    "@:2: [epki] key \"licences\": -10 is out of range "
	    "0..100000000\n" },
	{ "licences_expire", "[epki]\nlicences_expire = 2026-02-30\n", true,
	    "@:2: [epki] key \"licences_expire\": expected a date YYYY-MM-DD "
	    "(the licence pack's last day)\n" },
	{ "licences_expire text", "[epki]\nlicences_expire = next year\n", true,
	    "@:2: [epki] key \"licences_expire\": expected a date YYYY-MM-DD "
	    "(the licence pack's last day)\n" },
	{ "licences_used_before over",
	    "[epki]\nlicences = 10\n"
	    "licences_used_before = 11\n",
	    true,
	    "@: [epki] key \"licences_used_before\": 11 is more than licences "
	    "(10)\n" },
	{ "licences_used_before alone", "[epki]\nlicences_used_before = 5\n",
	    true,
	    "@: [epki] key \"licences_used_before\": needs licences (the "
	    "pack's size)\n" },
	{ "licence_error_code positive", "[epki]\nlicence_error_code = 6101\n",
	    true,
	    "@:2: [epki] key \"licence_error_code\": 6101 is out of range "
	    "-99999..-1\n" },
	{ "profile licences negative", "[profile kiosk]\nlicences = -1\n", true,
	    "@:2: [profile kiosk] key \"licences\": -1 is out of range "
	    "1..100000000\n" },
	{ "profile licences zero", "[profile kiosk]\nlicences = 0\n", true,
	    "@:2: [profile kiosk] key \"licences\": 0 is out of range "
	    "1..100000000\n" },
	{ "profile licences word", "[profile kiosk]\nlicences = many\n", true,
	    "@:2: [profile kiosk] key \"licences\": bad value \"many\": "
	    "expected a whole number 1..100000000\n" },
	{ "profile licences_expire",
	    "[profile kiosk]\nlicences_expire = 31.12.2027\n", true,
	    "@:2: [profile kiosk] key \"licences_expire\": bad value "
	    "\"31.12.2027\": expected a date YYYY-MM-DD\n" },
	{ "trailing junk", "[server]\nthreads = 4x\n", true,
	    "@:2: [server] key \"threads\": bad value \"4x\": expected a "
	    "whole number\n" },
	{ "empty number", "[server]\nthreads =\n", true,
	    "@:2: [server] key \"threads\": bad value \"\": expected a "
	    "whole number\n" },
	{ "uint range", "[server]\nthreads = 65\n", true,
	    "@:2: [server] key \"threads\": 65 is out of range 1..64\n" },
	{ "uint zero", "[server]\nthreads = 0\n", true,
	    "@:2: [server] key \"threads\": 0 is out of range 1..64\n" },
	{ "overflow", "[server]\nthreads = 99999999999999999999999\n", true,
	    "@:2: [server] key \"threads\": 99999999999999999999999 is out "
	    "of range 1..64\n" },
	{ "size range", "[server]\nmax_request_bytes = 1023\n", true,
	    "@:2: [server] key \"max_request_bytes\": 1023 is out of range "
	    "1024..1048576\n" },
	{ "int range", "[epki]\nyears = 4\n", true,
	    "@:2: [epki] key \"years\": 4 is out of range 1..3\n" },
	{ "long range", "[enroll]\nchallenge_ttl_seconds = 59\n", true,
	    "@:2: [enroll] key \"challenge_ttl_seconds\": 59 is out of range "
	    "60..31536000\n" },
	{ "timeout range", "[epki]\ntimeout_seconds = 601\n", true,
	    "@:2: [epki] key \"timeout_seconds\": 601 is out of range "
	    "1..600\n" },
	{ "pending range", "[scep]\npending_after_seconds = 3601\n", true,
	    "@:2: [scep] key \"pending_after_seconds\": 3601 is out of range "
	    "1..3600\n" },
	{ "bool", "[scep]\nallow_des = maybe\n", true,
	    "@:2: [scep] key \"allow_des\": bad value \"maybe\": expected yes "
	    "or no\n" },
	{ "ndes enabled", "[ndes]\nenabled = sometimes\n", true,
	    "@:2: [ndes] key \"enabled\": bad value \"sometimes\": expected "
	    "yes or no\n" },
	{ "ndes threads", "[ndes]\nlogin_threads = 17\n", true,
	    "@:2: [ndes] key \"login_threads\": 17 is out of range 1..16\n" },
	{ "ndes waiting", "[ndes]\nmax_waiting_logins = 0\n", true,
	    "@:2: [ndes] key \"max_waiting_logins\": 0 is out of range "
	    "1..100000\n" },
	{ "loglevel", "[log]\nlevel = verbose\n", true,
	    "@:2: [log] key \"level\": bad value \"verbose\": expected error, "
	    "warning, info or debug\n" },
	{ "empty with default", "[epki]\nproduct_code =\n", true,
	    "@:2: [epki] key \"product_code\": must not be empty\n" },
	{ "duplicate", "[server]\nthreads = 2\nthreads = 3\n", true,
	    "@:3: [server] key \"threads\": duplicate key (first set on line "
	    "2)\n" },
	{ "duplicate in base", "[db]\npath = other.db\n", true,
	    "@:4: [db] key \"path\": duplicate key (first set on line 2)\n" },
	{ "section syntax", "[server\nthreads = 2\n", true,
	    "@:1: syntax error: expected \"[section]\"\n"
	    "@:2: [] key \"threads\": unknown section\n" },
	{ "pair syntax", "[server]\ngarbage\n", true,
	    "@:2: syntax error: expected \"name = value\"\n" },
	{ "line too long",
	    "[server]\nlisten = "
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "\nthreads = 2\n",
	    true, "@:2: syntax error: line too long\n" },
	{ "db path and url", "[db]\nurl = postgresql:///scepgw\n", true,
	    "@: [db] set \"path\" (SQLite) or \"url\" (PostgreSQL), not "
	    "both\n" },
	{ "admin without token", "[admin]\nlisten = 127.0.0.1:8081\n", true,
	    "@: [admin] missing required key \"token_file\" (needed when "
	    "listen is set)\n" },
	{ "several at once",
	    "[server]\n"
	    "threads = 0\n"
	    "bogus = 1\n"
	    "\n"
	    "  ; indented comment\n"
	    "[log]\n"
	    "level = loud\n"
	    "nonsense\n"
	    "[server]\n"
	    "threads = 2\n",
	    true,
	    "@:2: [server] key \"threads\": 0 is out of range 1..64\n"
	    "@:3: [server] key \"bogus\": unknown key\n"
	    "@:7: [log] key \"level\": bad value \"loud\": expected error, "
	    "warning, info or debug\n"
	    "@:8: syntax error: expected \"name = value\"\n"
	    "@:10: [server] key \"threads\": duplicate key (first set on line "
	    "2)\n" },
	{ "missing required", "[server]\nthreads = 2\n", false,
	    "@: [db] missing required key \"path\" (SQLite) or \"url\" "
	    "(PostgreSQL)\n"
	    "@: [ra] missing required key \"cert\"\n"
	    "@: [ra] missing required key \"key\"\n"
	    "@: [ra] missing required key \"ca_chain\"\n"
	    "@: [epki] missing required key \"url\"\n"
	    "@: [epki] missing required key \"username\"\n"
	    "@: [epki] missing required key \"password_file\"\n"
	    "@: [epki] missing required key \"profile_id\"\n" },
	{ "empty required",
	    "[db]\npath =\n[ra]\ncert = a\nkey = b\nca_chain = c\n[epki]\n"
	    "url = u\nusername =\npassword_file = p\nprofile_id = x\n",
	    false,
	    "@:9: [epki] key \"username\": must not be empty\n"
	    "@: [db] missing required key \"path\" (SQLite) or \"url\" "
	    "(PostgreSQL)\n"
	    "@:8: [epki] key \"url\": bad value \"u\": expected "
	    "https://HOST/...\n" },
	{ "trusted_proxies",
	    "[server]\ntrusted_proxies = 127.0.0.1, 10.0.0.0/33\n", true,
	    "@:2: [server] key \"trusted_proxies\": bad value \"10.0.0.0/33\": "
	    "expected IPv4 or IPv6 addresses or CIDRs (10.0.0.0/8, ::1), "
	    "separated by commas\n" },
	{ "trusted_proxies name", "[server]\ntrusted_proxies = proxy.lan\n",
	    true,
	    "@:2: [server] key \"trusted_proxies\": bad value \"proxy.lan\": "
	    "expected IPv4 or IPv6 addresses or CIDRs (10.0.0.0/8, ::1), "
	    "separated by commas\n" },
	{ "epki url http",
	    "[db]\npath = d\n[ra]\ncert = a\nkey = b\nca_chain = c\n"
	    "[epki]\nusername = u\npassword_file = p\nprofile_id = x\n"
	    "url = http://epki.example/Gas\n",
	    false,
	    "@:11: [epki] key \"url\": http:// sends the API password and "
	    "every order in clear: use https://, or set [epki] allow_http = "
	    "yes\n" },
};

/* Licence pools (README "Licences"): [epki]'s, and a profile's own. */
static void
test_licence_pools(void **state)
{
	struct fx *fx = *state;
	const struct gw_licence_pool *pl;

	assert_int_equal(load_text(fx, "", true), 0);
	assert_int_equal(fx->c->epki_licence_error_code, -6101);
	assert_int_equal(fx->c->npools, 1);
	assert_string_equal(fx->c->pools[0].name, "epki");
	assert_int_equal(fx->c->pools[0].licences, 0);
	assert_string_equal(fx->c->pools[0].expire, "");
	assert_int_equal(load_text(fx,
			     "[epki]\nlicences = 500\nlicences_used_before = "
			     "120\nlicences_expire = 2027-03-31\n"
			     "licence_error_code = -9999\n"
			     "[profile kiosk]\nlicences = 10\n"
			     "licences_expire = 2028-02-29\n"
			     "[profile staff]\nyears = 1\n",
			     true),
	    0);
	assert_int_equal(fx->c->epki_licence_error_code, -9999);
	assert_int_equal(fx->c->npools, 2);
	pl = config_licence_pool(fx->c, NULL);
	assert_string_equal(pl->name, "epki");
	assert_int_equal(pl->licences, 500);
	assert_int_equal(pl->used_before, 120);
	assert_string_equal(pl->expire, "2027-03-31");
	assert_int_equal(pl->expire_day, 20908);
	assert_ptr_equal(config_licence_pool(fx->c, "staff"), pl);
	pl = config_licence_pool(fx->c, "kiosk");
	assert_string_equal(pl->name, "profile:kiosk");
	assert_int_equal(pl->licences, 10);
	assert_int_equal(pl->used_before, 0);
	assert_string_equal(pl->expire, "2028-02-29");
}

static void
test_bad(void **state)
{
	struct fx *fx = *state;
	char *want;
	size_t i;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		print_message("case %s\n", bad_cases[i].name);
		assert_int_equal(load_text(fx, bad_cases[i].text,
				     bad_cases[i].with_base),
		    -1);
		want = expand(bad_cases[i].want, fx->path);
		assert_string_equal(fx->errs, want);
		free(want);
	}
}

/* The [epki] url rule: https; http only to loopback or with allow_http. */
static const struct url_case {
	const char *url;
	bool allow_http;
	bool ok;
} url_cases[] = {
	{ "https://system.globalsign.com/cr/ws/GasOrderService", false, true },
	{ "HTTPS://epki.example:8443/x", false, true },
	{ "https://[2001:db8::1]/x", false, true },
	{ "http://127.0.0.1:8080/cr/ws/GasOrderService", false, true },
	{ "http://127.9.9.9/x", false, true },
	{ "http://localhost:1/x", false, true },
	{ "http://[::1]:8080/x", false, true },
	{ "http://user:pw@127.0.0.1/x", false, true },
	{ "http://epki.example/x", true, true },
	{ "http://epki.example/x", false, false },
	{ "http://epki.example:80", false, false },
	{ "http://10.0.0.1/x", false, false },
	{ "http://[2001:db8::1]/x", false, false },
	{ "http://[::ffff:10.0.0.1]/x", false, false },
	{ "http://128.0.0.1/x", false, false },
	{ "http://localhost.evil.example/x", false, false },
	{ "http://127.0.0.1@evil.example/x", false, false },
	{ "http://evil.example/?127.0.0.1", false, false },
	{ "ftp://epki.example/x", true, false },
	{ "epki.example", false, false },
	{ "https://", false, false },
	{ "http://[::1/x", false, false },
};

static void
test_epki_url(void **state)
{
	struct fx *fx = *state;
	char reason[160], text[256];
	size_t i;

	for (i = 0; i < sizeof(url_cases) / sizeof(url_cases[0]); i++) {
		reason[0] = '\0';
		if ((config_epki_url_check(url_cases[i].url,
			 url_cases[i].allow_http, reason,
			 sizeof(reason)) == 0) != url_cases[i].ok)
			fail_msg("%s (allow_http %d): %s", url_cases[i].url,
			    url_cases[i].allow_http, reason);
	}
	/* allow_http = yes in the file lets any http:// host in. */
	snprintf(text, sizeof(text), "%s",
	    "[db]\npath = d\n[ra]\ncert = a\nkey = b\nca_chain = c\n"
	    "[epki]\nurl = http://epki.example/x\nallow_http = yes\n"
	    "username = u\npassword_file = p\nprofile_id = MP1\n");
	assert_int_equal(load_text(fx, text, false), 0);
	assert_true(fx->c->epki_allow_http);
}

/* X-Forwarded-For behind [server] trusted_proxies (config/proxy.c). */
static const struct xff_case {
	const char *peer;
	const char *xff;
	const char *want;
	int rc;
} xff_cases[] = {
	{ "192.0.2.9", "203.0.113.5", "192.0.2.9", 0 }, /* untrusted peer */
	{ "127.0.0.1", NULL, "127.0.0.1", 0 },
	{ "127.0.0.1", "203.0.113.5", "203.0.113.5", 0 },
	{ "127.0.0.1", "198.51.100.1, 203.0.113.5", "203.0.113.5", 0 },
	{ "127.0.0.1", "203.0.113.5, 10.1.2.3", "203.0.113.5", 0 },
	{ "127.0.0.1", " 203.0.113.5 ,\t10.0.0.1 ", "203.0.113.5", 0 },
	{ "127.0.0.1", "10.9.9.9, 10.1.2.3", "10.9.9.9", 0 }, /* all trusted */
	{ "127.0.0.1", "forged junk, 203.0.113.5", "203.0.113.5", 0 },
	{ "127.0.0.1", ",203.0.113.5", "203.0.113.5", 0 },
	{ "127.0.0.1", "203.0.113.5:1234", "203.0.113.5", 0 },
	{ "127.0.0.1", "[2001:db8::1]:443", "2001:db8::1", 0 },
	{ "127.0.0.1", "[2001:db8::1]", "2001:db8::1", 0 },
	{ "127.0.0.1", "2001:DB8:0:0::1", "2001:db8::1", 0 },
	{ "127.0.0.1", "::ffff:203.0.113.5", "203.0.113.5", 0 },
	{ "::1", "203.0.113.7", "203.0.113.7", 0 },
	{ "::ffff:127.0.0.1", "203.0.113.7", "203.0.113.7", 0 },
	{ "fd00::5", "2001:db8::7", "2001:db8::7", 0 },
	{ "127.0.0.2", "203.0.113.5", "127.0.0.2", 0 }, /* not in the list */
	{ "127.0.0.1", "203.0.113.5, junk", "127.0.0.1", -1 },
	{ "127.0.0.1", "", "127.0.0.1", -1 },
	{ "127.0.0.1", "10.0.0.1,,", "127.0.0.1", -1 },
	{ "127.0.0.1", "unknown", "127.0.0.1", -1 },
	{ "127.0.0.1", "203.0.113.5:99999999", "127.0.0.1", -1 },
	{ "127.0.0.1", "[2001:db8::1", "127.0.0.1", -1 },
	{ "127.0.0.1", "2001:db8::1:443x", "127.0.0.1", -1 },
};

static void
test_trusted_proxies(void **state)
{
	struct fx *fx = *state;
	char out[64];
	size_t i;

	assert_int_equal(
	    load_text(fx,
		"[server]\ntrusted_proxies = 127.0.0.1, 10.0.0.0/8 "
		"::1,fd00::/8\n",
		true),
	    0);
	assert_string_equal(fx->c->trusted_proxies,
	    "127.0.0.1, 10.0.0.0/8 ::1,fd00::/8");
	for (i = 0; i < sizeof(xff_cases) / sizeof(xff_cases[0]); i++) {
		if (proxy_client_addr(fx->c->proxies, xff_cases[i].peer,
			xff_cases[i].xff, out,
			sizeof(out)) != xff_cases[i].rc ||
		    strcmp(out, xff_cases[i].want) != 0)
			fail_msg("peer %s xff \"%s\": got %s, want %s (rc %d)",
			    xff_cases[i].peer,
			    xff_cases[i].xff != NULL ? xff_cases[i].xff :
						       "(none)",
			    out, xff_cases[i].want, xff_cases[i].rc);
	}
	/* Unset (the default): the peer, whatever the header says. */
	assert_int_equal(load_text(fx, "", true), 0);
	assert_null(fx->c->trusted_proxies);
	assert_true(proxy_list_is_empty(fx->c->proxies));
	assert_int_equal(proxy_client_addr(fx->c->proxies, "127.0.0.1",
			     "203.0.113.5", out, sizeof(out)),
	    0);
	assert_string_equal(out, "127.0.0.1");
}

static void
test_missing_file(void **state)
{
	struct fx *fx = *state;
	char *want;

	assert_int_equal(load(fx, fx->path), -1);
	want = expand("@: No such file or directory\n", fx->path);
	assert_string_equal(fx->errs, want);
	free(want);
	assert_int_equal(load(fx, fx->dir), -1);
	want = expand("@: Is a directory\n", fx->dir);
	assert_string_equal(fx->errs, want);
	free(want);
}

static void
test_relative_config_path(void **state)
{
	struct fx *fx = *state;
	char cwd[512], sub[160];

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	file_put(fx->path, base, NULL);
	/* A bare file name: the folder is the current directory. */
	assert_int_equal(chdir(fx->dir), 0);
	assert_int_equal(load(fx, "scepgw.conf"), 0);
	assert_string_equal(fx->c->path, "scepgw.conf");
	assert_string_equal(fx->c->dir, fx->dir);
	assert_path(fx, fx->c->ra_cert, "ra.pem");
	/* A relative path with a folder part. */
	assert_int_equal(chdir("/tmp"), 0);
	snprintf(sub, sizeof(sub), "%s/scepgw.conf", fx->dir + 5);
	assert_int_equal(load(fx, sub), 0);
	assert_string_equal(fx->c->dir, fx->dir);
	assert_path(fx, fx->c->db_path, "scepgw.db");
	assert_int_equal(chdir(cwd), 0);
}

/* Writes c with config_write_default() to the fixture's file. */
static char *
write_conf(struct fx *fx, const struct gw_config *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(config_write_default(f, c), 0);
	assert_int_equal(fclose(f), 0);
	file_put(fx->path, text, NULL);
	return text;
}

static void
test_write_roundtrip(void **state)
{
	struct fx *fx = *state;
	struct gw_config *c;
	char *text;
	const char *s;
	int keys = 0;

	assert_int_equal(load_text(fx, full, false), 0);
	c = fx->c;
	fx->c = NULL;
	text = write_conf(fx, c);
	/* Every key once, paths relative again, in the written file's order. */
	for (s = text; (s = strchr(s, '\n')) != NULL; s++)
		if (s[1] >= 'a' && s[1] <= 'z')
			keys++;
	assert_int_equal(keys, 51);
	assert_non_null(strstr(text, "\ncert = ra.pem\n"));
	assert_non_null(strstr(text, "\npath = data/gw.db\n"));
	assert_non_null(
	    strstr(text, "\ntoken_file = /etc/scepgw/admin.token\n"));
	assert_true(strstr(text, "[server]") < strstr(text, "[admin]"));
	assert_true(strstr(text, "[enroll]") < strstr(text, "[log]"));
	free(text);
	assert_int_equal(load(fx, fx->path), 0);
	assert_string_equal(fx->errs, "");
	check_full(fx, fx->c);
	config_free(c);
}

static void
test_write_defaults(void **state)
{
	struct fx *fx = *state;
	struct gw_config *c;
	char *text;

	/* The defaults (empty optional keys included) survive a round trip. */
	assert_int_equal(load_text(fx, "", true), 0);
	c = fx->c;
	fx->c = NULL;
	text = write_conf(fx, c);
	assert_non_null(strstr(text, "\n[admin]\n"));
	assert_non_null(strstr(text, "\nca_file =\n"));
	free(text);
	assert_int_equal(load(fx, fx->path), 0);
	assert_null(fx->c->admin_listen);
	assert_null(fx->c->epki_ca_file);
	assert_int_equal(fx->c->threads, c->threads);
	assert_string_equal(fx->c->epki_product_code, c->epki_product_code);
	assert_string_equal(fx->c->ca_chain, c->ca_chain);
	config_free(c);
}

static void
test_write_from_struct(void **state)
{
	struct fx *fx = *state;
	struct gw_config *c;
	char *text, *bad = NULL;
	size_t len = 0;
	FILE *f;

	/* As `scepgw init` does: every default, relative names. */
	c = config_new_defaults(fx->path);
	assert_non_null(c);
	assert_int_equal(config_str_set(&c->admin_token_file, "admin.token"),
	    0);
	assert_int_equal(config_str_set(&c->db_path, "scepgw.db"), 0);
	assert_int_equal(config_str_set(&c->ra_cert, "ra.pem"), 0);
	assert_int_equal(config_str_set(&c->ra_key, "ra.key"), 0);
	assert_int_equal(config_str_set(&c->ca_chain, "ca-chain.pem"), 0);
	assert_int_equal(config_str_set(&c->epki_url, "https://x.example/s"),
	    0);
	assert_int_equal(config_str_set(&c->epki_username, "PAR1_u"), 0);
	assert_int_equal(config_str_set(&c->epki_password_file,
			     "epki.password"),
	    0);
	assert_int_equal(config_str_set(&c->epki_profile_id, "MP1"), 0);
	c->epki_years = 2;
	c->epki_max_connections = 7;
	c->log_level = LOG_WARNING;
	text = write_conf(fx, c);
	free(text);
	assert_int_equal(load(fx, fx->path), 0);
	assert_path(fx, fx->c->admin_token_file, "admin.token");
	assert_path(fx, fx->c->ra_key, "ra.key");
	assert_int_equal(fx->c->epki_years, 2);
	assert_int_equal(fx->c->epki_max_connections, 7);
	assert_int_equal(fx->c->log_level, LOG_WARNING);
	/* The defaults went through as written. */
	assert_string_equal(fx->c->listen, config_default("server", "listen"));
	assert_int_equal(fx->c->threads, def_num("server", "threads"));
	assert_int_equal(fx->c->max_request_bytes,
	    def_num("server", "max_request_bytes"));
	assert_int_equal(fx->c->pending_after_seconds,
	    def_num("scep", "pending_after_seconds"));

	/* A value inih would cut at " ;" is refused, not written wrongly. */
	assert_int_equal(config_str_set(&c->epki_username, "a ;b"), 0);
	f = open_memstream(&bad, &len);
	assert_non_null(f);
	assert_int_equal(config_write_default(f, c), -1);
	fclose(f);
	free(bad);
	config_free(c);
}

/* The -9200 advice names what SEPPmail's GlobalSign guide asks of the
 * API user: administrator rights in GCC, and the API IP allow-list. */
static void
test_epki_advice_9200(void **state)
{
	const char *a = config_epki_advice(-9200);

	(void)state;
	assert_non_null(a);
	assert_non_null(strstr(a, "administrator rights"));
	assert_non_null(strstr(a, "API IP Address Range"));
	assert_non_null(strstr(a, "[epki] username"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_words, setup, teardown),
		cmocka_unit_test_setup_teardown(test_licence_pools, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_licence_pools, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_epki_url, setup, teardown),
		cmocka_unit_test(test_epki_advice_9200),
		cmocka_unit_test_setup_teardown(test_trusted_proxies, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_relative_config_path,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_roundtrip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_write_defaults, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_write_from_struct, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
