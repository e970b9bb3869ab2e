/*
 * server/config/intune.c: the [intune] section (README "Configuration")
 * and a profile's challenge = intune. Every key, its default, its range,
 * and each refusal with the words the operator sees; the credential files
 * are real files in a temporary folder, the certificate and key made here.
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
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "config.h"

#include "test_config_common.h"
#include "test_keys.h"

#define TENANT "7f3c2a10-5b6e-4d8f-9a1b-2c3d4e5f6a7b"
#define CLIENT "3b9e1f2a-7c4d-4e5f-8a6b-9c0d1e2f3a4b"

/* Every file a case may have written into the fixture's folder. */
static const char *const files[] = { "secret", "open-secret", "empty", "link",
	"c.pem", "c.key", "open.key", "ec.key", "other.key", "c2.pem" };

static int
setup(void **state)
{
	return cfg_setup(state);
}

static int
teardown(void **state)
{
	struct fx *fx = *state;
	char p[256];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", fx->dir, files[i]);
		unlink(p);
	}
	return cfg_teardown(state);
}

/* Writes text into DIR/name with mode. */
static void
put(const struct fx *fx, const char *name, const char *text, mode_t mode)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", fx->dir, name);
	file_put(p, text, NULL);
	assert_int_equal(chmod(p, mode), 0);
}

/* Writes a PEM key into DIR/name with mode. */
static void
put_key(const struct fx *fx, const char *name, EVP_PKEY *k, mode_t mode)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", fx->dir, name);
	assert_non_null(f = fopen(p, "w"));
	assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL),
	    1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(p, mode), 0);
}

/* Writes a self-signed certificate of k into DIR/name. */
static void
put_cert(const struct fx *fx, const char *name, EVP_PKEY *k)
{
	X509 *x = X509_new();
	char p[256];
	FILE *f;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)"scepgw-intune", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, k);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	snprintf(p, sizeof(p), "%s/%s", fx->dir, name);
	assert_non_null(f = fopen(p, "w"));
	assert_int_equal(PEM_write_X509(f, x), 1);
	assert_int_equal(fclose(f), 0);
	X509_free(x);
}

/* Loads "[intune]\n" + body (+ extra after it) with the base keys. */
static int
load_intune(struct fx *fx, const char *body, const char *extra)
{
	char text[2048];

	snprintf(text, sizeof(text), "[intune]\n%s%s", body,
	    extra != NULL ? extra : "");
	return load_text(fx, text, true);
}

static void
test_defaults(void **state)
{
	struct fx *fx = *state;
	const struct gw_intune_conf *ic;

	/* No [intune]: off, every default from the key table. */
	assert_int_equal(load_text(fx, "", true), 0);
	assert_null(config_intune(fx->c));
	ic = &fx->c->intune;
	assert_false(ic->configured);
	assert_null(ic->tenant);
	assert_null(ic->client_id);
	assert_null(ic->client_secret_file);
	assert_null(ic->client_cert);
	assert_null(ic->client_key);
	assert_null(ic->ca_file);
	assert_string_equal(ic->authority,
	    "https://login.microsoftonline.com/");
	assert_string_equal(ic->graph_url, "https://graph.microsoft.com/");
	assert_string_equal(ic->intune_resource,
	    "https://api.manage.microsoft.com/");
	assert_string_equal(ic->intune_app_id,
	    "0000000a-0000-0000-c000-000000000000");
	assert_string_equal(ic->api_version, "2018-02-20");
	assert_int_equal(ic->timeout_seconds, 30);
	assert_int_equal(def_num("intune", "timeout_seconds"), 30);
	assert_string_equal(config_default("intune", "authority"),
	    "https://login.microsoftonline.com/");
}

static void
test_secret(void **state)
{
	struct fx *fx = *state;
	const struct gw_intune_conf *ic;

	put(fx, "secret", "s3cr3t-value\n", 0600);
	assert_int_equal(load_intune(fx,
			     "tenant = " TENANT "\nclient_id = " CLIENT "\n"
			     "client_secret_file = secret\n"
			     "authority = http://127.0.0.1:9/\n"
			     "graph_url = https://graph.example/\n"
			     "intune_resource = https://intune.example/\n"
			     "intune_app_id = 0000000a-0000-0000-c000-"
			     "00000000000b\n"
			     "api_version = 5019-05-05\n"
			     "ca_file = ca.pem\ntimeout_seconds = 300\n",
			     NULL),
	    0);
	assert_string_equal(fx->errs, "");
	assert_non_null(ic = config_intune(fx->c));
	assert_string_equal(ic->tenant, TENANT);
	assert_string_equal(ic->client_id, CLIENT);
	assert_path(fx, ic->client_secret_file, "secret");
	assert_path(fx, ic->ca_file, "ca.pem");
	assert_string_equal(ic->authority, "http://127.0.0.1:9/");
	assert_string_equal(ic->graph_url, "https://graph.example/");
	assert_string_equal(ic->intune_resource, "https://intune.example/");
	assert_string_equal(ic->intune_app_id,
	    "0000000a-0000-0000-c000-00000000000b");
	assert_string_equal(ic->api_version, "5019-05-05");
	assert_int_equal(ic->timeout_seconds, 300);
	/* The secret is checked at load, never kept in the config. */
	assert_null(strstr(fx->errs, "s3cr3t"));
	/* A tenant by domain name, the lowest timeout. */
	assert_int_equal(
	    load_intune(fx,
		"tenant = contoso.onmicrosoft.com\nclient_id = " CLIENT
		"\nclient_secret_file = secret\n"
		"timeout_seconds = 5\n",
		NULL),
	    0);
	assert_string_equal(config_intune(fx->c)->tenant,
	    "contoso.onmicrosoft.com");
}

/* A secret file group or others can read is refused (README "Security"). */
static void
test_secret_file_refused(void **state)
{
	struct fx *fx = *state;
	char *want, link[128], target[128];

	put(fx, "open-secret", "s3cr3t-value\n", 0644);
	assert_int_equal(load_intune(fx,
			     "tenant = " TENANT "\nclient_id = " CLIENT "\n"
			     "client_secret_file = open-secret\n",
			     NULL),
	    -1);
	want = expand("@: [intune] key \"client_secret_file\": ", fx->path);
	assert_non_null(strstr(fx->errs, want));
	free(want);
	assert_non_null(strstr(fx->errs,
	    "open-secret: mode 644 lets group or others read it; run chmod "
	    "600"));
	assert_null(strstr(fx->errs, "s3cr3t"));
	put(fx, "empty", "\n", 0600);
	assert_int_equal(load_intune(fx,
			     "tenant = " TENANT "\nclient_id = " CLIENT "\n"
			     "client_secret_file = empty\n",
			     NULL),
	    -1);
	assert_non_null(strstr(fx->errs, "empty: empty\n"));
	assert_int_equal(load_intune(fx,
			     "tenant = " TENANT "\nclient_id = " CLIENT "\n"
			     "client_secret_file = nothere\n",
			     NULL),
	    -1);
	assert_non_null(strstr(fx->errs, "No such file or directory"));
	/* A symbolic link is not followed. */
	snprintf(link, sizeof(link), "%s/link", fx->dir);
	snprintf(target, sizeof(target), "%s/secret", fx->dir);
	put(fx, "secret", "s3cr3t-value\n", 0600);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(load_intune(fx,
			     "tenant = " TENANT "\nclient_id = " CLIENT "\n"
			     "client_secret_file = link\n",
			     NULL),
	    -1);
	assert_non_null(strstr(fx->errs, "link: a symbolic link"));
	unlink(link);
	/*
	 * Root (serve before its drop to [server] user) accepts a file of
	 * that user; the user checks the owner again after the drop.
	 */
	if (geteuid() == 0) {
		assert_int_equal(chown(target, 65534, 65534), 0);
		assert_int_equal(load_intune(fx,
				     "tenant = " TENANT "\nclient_id = " CLIENT
				     "\nclient_secret_file = secret\n",
				     NULL),
		    0);
	}
}

static void
test_certificate(void **state)
{
	struct fx *fx = *state;
	const struct gw_intune_conf *ic;
	EVP_PKEY *k, *other, *ec;

	assert_non_null(k = test_key_rsa(2048));
	assert_non_null(other = test_key_rsa(2048));
	assert_non_null(ec = EVP_EC_gen("P-256"));
	put_key(fx, "c.key", k, 0600);
	put_key(fx, "open.key", k, 0640);
	put_key(fx, "other.key", other, 0600);
	put_key(fx, "ec.key", ec, 0600);
	put_cert(fx, "c.pem", k);
	put_cert(fx, "c2.pem", ec);
	assert_int_equal(load_intune(fx,
			     "tenant = " TENANT "\nclient_id = " CLIENT "\n"
			     "client_cert = c.pem\nclient_key = c.key\n",
			     NULL),
	    0);
	assert_non_null(ic = config_intune(fx->c));
	assert_path(fx, ic->client_cert, "c.pem");
	assert_path(fx, ic->client_key, "c.key");
	assert_null(ic->client_secret_file);
	/* The key file is a secret file too. */
	assert_int_equal(load_intune(fx,
			     "tenant = " TENANT "\nclient_id = " CLIENT "\n"
			     "client_cert = c.pem\nclient_key = open.key\n",
			     NULL),
	    -1);
	assert_non_null(strstr(fx->errs, "[intune] key \"client_key\": "));
	assert_non_null(strstr(fx->errs, "mode 640 lets group or others"));
	/* Not the certificate's key. */
	assert_int_equal(load_intune(fx,
			     "tenant = " TENANT "\nclient_id = " CLIENT "\n"
			     "client_cert = c.pem\nclient_key = other.key\n",
			     NULL),
	    -1);
	assert_non_null(strstr(fx->errs, "other.key: not the key of "));
	/* RS256 needs RSA. */
	assert_int_equal(load_intune(fx,
			     "tenant = " TENANT "\nclient_id = " CLIENT "\n"
			     "client_cert = c2.pem\nclient_key = ec.key\n",
			     NULL),
	    -1);
	assert_non_null(strstr(fx->errs, "ec.key: not an RSA key of 2048"));
	/* One without the other. */
	assert_int_equal(load_intune(fx,
			     "tenant = " TENANT "\nclient_id = " CLIENT "\n"
			     "client_cert = c.pem\n",
			     NULL),
	    -1);
	assert_non_null(strstr(fx->errs,
	    "[intune] key \"client_key\": client_cert and client_key go "
	    "together\n"));
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
	EVP_PKEY_free(ec);
}

/* Each refusal of the section, exactly as the operator reads it. */
static void
test_refused(void **state)
{
	static const struct {
		const char *body;
		const char *want; /* "@" is the file */
	} cases[] = {
		{ "client_id = " CLIENT "\nclient_secret_file = secret\n",
		    "@: [intune] missing key \"tenant\" (the Entra ID tenant's "
		    "GUID or domain, e.g. contoso.onmicrosoft.com)\n" },
		{ "tenant = " TENANT "\nclient_secret_file = secret\n",
		    "@: [intune] missing key \"client_id\" (the app "
		    "registration's Application (client) ID)\n" },
		{ "tenant = " TENANT "\nclient_id = " CLIENT "\n",
		    "@: [intune] missing credential: set client_secret_file "
		    "(the app's client secret) or client_cert + client_key\n" },
		{ "tenant = " TENANT "\nclient_id = " CLIENT
		  "\nclient_secret_file = secret\nclient_cert = c.pem\n"
		  "client_key = c.key\n",
		    "@: [intune] set client_secret_file or client_cert + "
		    "client_key, not both\n" },
		{ "tenant = not a tenant\nclient_id = " CLIENT
		  "\nclient_secret_file = secret\n",
		    "@: [intune] key \"tenant\": expected the tenant's GUID or "
		    "domain name (e.g. contoso.onmicrosoft.com)\n" },
		{ "tenant = " TENANT "\nclient_id = my-app\n"
		  "client_secret_file = secret\n",
		    "@: [intune] key \"client_id\": expected a GUID (the app "
		    "registration's Application (client) ID)\n" },
		{ "tenant = " TENANT "\nclient_id = " CLIENT
		  "\nclient_secret_file = secret\nintune_app_id = intune\n",
		    "@: [intune] key \"intune_app_id\": expected a GUID\n" },
		{ "tenant = " TENANT "\nclient_id = " CLIENT
		  "\nclient_secret_file = secret\n"
		  "authority = http://login.example/\n",
		    "@: [intune] key \"authority\": bad value "
		    "\"http://login.example/\": expected https://HOST/ (http:// "
		    "only to a loopback address: tokens travel on it)\n" },
		{ "tenant = " TENANT "\nclient_id = " CLIENT
		  "\nclient_secret_file = secret\n"
		  "graph_url = https://graph.microsoft.com\n",
		    "@: [intune] key \"graph_url\": "
		    "\"https://graph.microsoft.com\" must end in '/' (the scopes "
		    "and paths are appended to it)\n" },
		{ "tenant = " TENANT "\nclient_id = " CLIENT
		  "\nclient_secret_file = secret\n"
		  "intune_resource = https://api.manage.microsoft.com\n",
		    "@: [intune] key \"intune_resource\": expected "
		    "https://HOST/, ending in '/' (the scope is it + "
		    "/.default)\n" },
		{ "tenant = " TENANT "\nclient_id = " CLIENT
		  "\nclient_secret_file = secret\ntimeout_seconds = 4\n",
		    "@:5: [intune] key \"timeout_seconds\": 4 is out of range "
		    "5..300\n" },
		{ "tenant = " TENANT "\nclient_id = " CLIENT
		  "\nclient_secret_file = secret\ntimeout_seconds = 301\n",
		    "@:5: [intune] key \"timeout_seconds\": 301 is out of range "
		    "5..300\n" },
		{ "tenant = " TENANT "\nclient_id = " CLIENT
		  "\nclient_secret_file = secret\napi_version =\n",
		    "@:5: [intune] key \"api_version\": must not be empty\n" },
		{ "tenant = " TENANT "\nclient_id = " CLIENT
		  "\nclient_secret_file = secret\nproxy = x\n",
		    "@:5: [intune] key \"proxy\": unknown key\n" },
	};
	struct fx *fx = *state;
	char *want;
	size_t i;

	put(fx, "secret", "s3cr3t-value\n", 0600);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("case %zu\n", i);
		assert_int_equal(load_intune(fx, cases[i].body, NULL), -1);
		want = expand(cases[i].want, fx->path);
		assert_string_equal(fx->errs, want);
		free(want);
	}
}

/* A profile's challenge = intune. */
static void
test_profile(void **state)
{
	struct fx *fx = *state;
	const struct gw_profile *p;
	char *want;

	put(fx, "secret", "s3cr3t-value\n", 0600);
	assert_int_equal(load_intune(fx,
			     "tenant = " TENANT "\nclient_id = " CLIENT "\n"
			     "client_secret_file = secret\n",
			     "[profile mdm]\nchallenge = intune\n"),
	    0);
	assert_non_null(p = config_profile_find(fx->c, "mdm"));
	assert_int_equal(p->challenge, GW_CHAL_INTUNE);
	assert_false(p->has_static);
	assert_string_equal(config_chal_mode_name(p->challenge), "intune");
	assert_int_equal(config_profile_find(fx->c, "default")->challenge,
	    GW_CHAL_ONETIME);
	/* Case as the other modes. */
	assert_int_equal(load_intune(fx,
			     "tenant = " TENANT "\nclient_id = " CLIENT "\n"
			     "client_secret_file = secret\n",
			     "[profile mdm]\nchallenge = Intune\n"),
	    0);
	/* Without [intune]. */
	assert_int_equal(load_text(fx, "[profile mdm]\nchallenge = intune\n",
			     true),
	    -1);
	want = expand("@:2: [profile mdm] challenge = intune needs the "
		      "[intune] section (tenant, client_id, and "
		      "client_secret_file or client_cert + client_key)\n",
	    fx->path);
	assert_string_equal(fx->errs, want);
	free(want);
	/* With a static secret, or identity binding. */
	assert_int_equal(load_intune(fx,
			     "tenant = " TENANT "\nclient_id = " CLIENT "\n"
			     "client_secret_file = secret\n",
			     "[profile mdm]\nchallenge = intune\n"
			     "static_challenge_file = secret\n"),
	    -1);
	assert_non_null(strstr(fx->errs,
	    "[profile mdm] challenge = intune takes no "
	    "static_challenge_file (Intune writes and checks the "
	    "challenge)\n"));
	assert_int_equal(load_intune(fx,
			     "tenant = " TENANT "\nclient_id = " CLIENT "\n"
			     "client_secret_file = secret\n",
			     "[profile mdm]\nchallenge = intune\n"
			     "require_binding = yes\n"),
	    -1);
	assert_non_null(strstr(fx->errs,
	    "[profile mdm] challenge = intune takes no require_binding"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_file_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_certificate, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_profile, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
