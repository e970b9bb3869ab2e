/*
 * server/config/'s refusals: each kind of bad value with its exact
 * "file:line:" text and several errors in one run, the licence pools'
 * keys, [epki] url's scheme rules and [server] trusted_proxies.
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
	{ "log format", "[log]\nformat = xml\n", true,
	    "@:2: [log] key \"format\": bad value \"xml\": expected text "
	    "or json\n" },
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
	{ "db timeout low", "[db]\ntimeout_seconds = 1\n", true,
	    "@:2: [db] key \"timeout_seconds\": 1 is out of range "
	    "2..3600\n" },
	{ "db timeout high", "[db]\ntimeout_seconds = 3601\n", true,
	    "@:2: [db] key \"timeout_seconds\": 3601 is out of range "
	    "2..3600\n" },
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_licence_pools, cfg_setup,
		    cfg_teardown),
		cmocka_unit_test_setup_teardown(test_bad, cfg_setup,
		    cfg_teardown),
		cmocka_unit_test_setup_teardown(test_epki_url, cfg_setup,
		    cfg_teardown),
		cmocka_unit_test_setup_teardown(test_trusted_proxies, cfg_setup,
		    cfg_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
