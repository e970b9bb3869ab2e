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
#include "epki.h"
#include "proxy.h"

#include "test_config_common.h"

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
	assert_int_equal(c->db_timeout_seconds, 10); /* README [db] */
	assert_int_equal(c->db_timeout_seconds,
	    def_num("db", "timeout_seconds"));
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
	assert_int_equal(c->log_format, 0); /* text */
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
    "level = DEBUG\n"
    "format = json\n";

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
	assert_int_equal(c->log_format, 1); /* json */
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
	assert_int_equal(keys, 67);
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
	c->log_format = 1;
	text = write_conf(fx, c);
	free(text);
	assert_int_equal(load(fx, fx->path), 0);
	assert_path(fx, fx->c->admin_token_file, "admin.token");
	assert_path(fx, fx->c->ra_key, "ra.key");
	assert_int_equal(fx->c->epki_years, 2);
	assert_int_equal(fx->c->epki_max_connections, 7);
	assert_int_equal(fx->c->log_level, LOG_WARNING);
	assert_int_equal(fx->c->log_format, 1);
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

/*
 * What the dashboard says of the EPKI client's last failure (README
 * "Admin web console"): each kind of cause gets its own fix.
 */
static void
test_epki_status_advice(void **state)
{
	struct fx *fx = *state;
	struct epki_status st;

	assert_int_equal(load_text(fx, "", true), 0);
	memset(&st, 0, sizeof(st));
	st.cls = EPKI_AUTH;
	st.code = -4001;
	assert_non_null(
	    strstr(config_epki_status_advice(fx->c, &st), "[epki] username"));
	st.cls = EPKI_QUOTA;
	st.code = (int)fx->c->epki_licence_error_code;
	assert_string_equal(config_epki_status_advice(fx->c, &st),
	    config_licence_advice());
	st.cls = EPKI_BAD_REQUEST;
	st.code = -101;
	assert_non_null(
	    strstr(config_epki_status_advice(fx->c, &st), "profile_id"));
	st.cls = EPKI_TRANSPORT;
	st.code = 0;
	st.net = EPKI_NET_TLS;
	assert_non_null(
	    strstr(config_epki_status_advice(fx->c, &st), "[epki] ca_file"));
	st.net = EPKI_NET_CONNECT;
	assert_non_null(
	    strstr(config_epki_status_advice(fx->c, &st), "firewall"));
	st.net = EPKI_NET_TIMEOUT;
	assert_non_null(
	    strstr(config_epki_status_advice(fx->c, &st), "timeout_seconds"));
	st.net = EPKI_NET_NONE;
	st.http_status = 404;
	assert_non_null(
	    strstr(config_epki_status_advice(fx->c, &st), "[epki] url"));
}

/*
 * The digest each gateway records of the settings that decide an order
 * (README "High availability"): every [epki] and [profile NAME] key but
 * the paths of files; the order of the file and the other sections do
 * not count.
 */
static void
test_order_digest(void **state)
{
	struct fx *fx = *state;
	uint8_t first[32];

	assert_int_equal(load_text(fx,
			     "[cluster]\nnode_name = gw-a\n"
			     "[profile kiosk]\nyears = 2\nproduct_code = P2\n",
			     true),
	    0);
	assert_true(fx->c->has_order_sha256);
	memcpy(first, fx->c->order_sha256, 32);
	/* Keys and sections in another order, another node name, other
	 * paths of files (the password's, the RA's, the database's). */
	assert_int_equal(load_text(fx,
			     "[profile kiosk]\nproduct_code = P2\nyears = 2\n"
			     "[epki]\nprofile_id = MP201604143456\n"
			     "password_file = other/epki.pw\n"
			     "username = PAR12345_UserID\n"
			     "url = https://epki.example/GasOrderService\n"
			     "[ra]\ncert = /x/ra.pem\nkey = /x/ra.key\n"
			     "ca_chain = /x/chain.pem\n"
			     "[db]\npath = other.db\n"
			     "[cluster]\nnode_name = gw-b\n",
			     false),
	    0);
	assert_true(fx->c->has_order_sha256);
	assert_memory_equal(fx->c->order_sha256, first, 32);
	/* A profile's value differs: another digest. */
	assert_int_equal(load_text(fx,
			     "[profile kiosk]\nyears = 2\nproduct_code = P3\n",
			     true),
	    0);
	assert_memory_not_equal(fx->c->order_sha256, first, 32);
	/* So does an [epki] value. */
	assert_int_equal(load_text(fx,
			     "[profile kiosk]\nyears = 2\nproduct_code = P2\n"
			     "[epki]\nyears = 3\n",
			     true),
	    0);
	assert_memory_not_equal(fx->c->order_sha256, first, 32);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, cfg_setup,
		    cfg_teardown),
		cmocka_unit_test_setup_teardown(test_full, cfg_setup,
		    cfg_teardown),
		cmocka_unit_test_setup_teardown(test_words, cfg_setup,
		    cfg_teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, cfg_setup,
		    cfg_teardown),
		cmocka_unit_test_setup_teardown(test_relative_config_path,
		    cfg_setup, cfg_teardown),
		cmocka_unit_test_setup_teardown(test_write_roundtrip, cfg_setup,
		    cfg_teardown),
		cmocka_unit_test_setup_teardown(test_write_defaults, cfg_setup,
		    cfg_teardown),
		cmocka_unit_test_setup_teardown(test_write_from_struct,
		    cfg_setup, cfg_teardown),
		cmocka_unit_test(test_epki_advice_9200),
		cmocka_unit_test_setup_teardown(test_epki_status_advice,
		    cfg_setup, cfg_teardown),
		cmocka_unit_test_setup_teardown(test_order_digest, cfg_setup,
		    cfg_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
