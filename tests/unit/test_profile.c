/*
 * Unit tests for server/config/profile.c: [profile NAME] sections loaded
 * through config_load(), their defaults from [epki], the static secret
 * kept only as a hash, and every refused section named with its line;
 * and config_diff() (diff.c): what a reload names as needing a restart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/sha.h>

#include "config.h"

static const char base[] = "[db]\npath = gw.db\n"
			   "[ra]\ncert = ra.pem\nkey = ra.key\n"
			   "ca_chain = ca.pem\n"
			   "[epki]\nurl = https://x.example/s\n"
			   "username = PAR1_u\npassword_file = pw\n"
			   "profile_id = MP0001\nyears = 2\n";

/* 26 base64url characters: over 128 bits by the length rule. */
#define KIOSK_SECRET "kiosk-secret-Zm9vYmFyYmF6"

struct fx {
	char dir[64];
	char path[128];
	char err[2048];
};

static void
file_put(struct fx *fx, const char *name, const char *text, mode_t mode)
{
	char path[160];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

/* Loads base + extra; returns config_load()'s result, errors in fx->err. */
static int
load(struct fx *fx, const char *extra, struct gw_config **c)
{
	char text[4096];
	FILE *ef;
	int rc;

	snprintf(text, sizeof(text), "%s%s", base, extra);
	file_put(fx, "scepgw.conf", text, 0600);
	ef = fmemopen(fx->err, sizeof(fx->err) - 1, "w");
	assert_non_null(ef);
	rc = config_load(c, fx->path, ef);
	fclose(ef);
	return rc;
}

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_profile.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/scepgw.conf", fx->dir);
	file_put(fx, "static.txt", KIOSK_SECRET "\n", 0600);
	file_put(fx, "open.txt", KIOSK_SECRET "\n", 0644);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

/* No section: "default" from [epki] with the built-in templates. */
static void
test_default_only(void **state)
{
	struct fx *fx = *state;
	const struct gw_profile *p;
	struct gw_config *c = NULL;

	assert_int_equal(load(fx, "", &c), 0);
	assert_int_equal(c->nprofiles, 1);
	p = config_profile_find(c, "default");
	assert_ptr_equal(p, &c->profiles[0]);
	assert_string_equal(p->profile_id, "MP0001");
	assert_string_equal(p->product_code,
	    config_default("epki", "product_code"));
	assert_int_equal(p->years, 2);
	assert_string_equal(p->subject_cn, "${challenge.cn|csr.cn}");
	assert_string_equal(p->upn, "${challenge.upn|\"\"}");
	assert_int_equal(p->nemail_domains, 0);
	assert_int_equal(p->challenge, GW_CHAL_ONETIME);
	assert_false(p->has_static);
	assert_null(config_profile_find(c, "kiosk"));
	config_free(c);
}

/* Two profiles; "default" is moved first; the secret kept as a hash. */
static void
test_profiles(void **state)
{
	struct fx *fx = *state;
	const struct gw_profile *p;
	struct gw_config *c = NULL;
	uint8_t h[32];

	assert_int_equal(load(fx,
			     "[profile kiosk]\nprofile_id = MP0009\n"
			     "challenge = static\n"
			     "static_challenge_file = static.txt\n"
			     "subject_cn = kiosk-${csr.cn}\nou = Kiosks\n"
			     "upn = ${csr.upn|\"\"}\n"
			     "email_domains = example.com, Corp.Example\n"
			     "[profile default]\nrequire_binding = yes\n"
			     "email = ${challenge.email}\nyears = 3\n",
			     &c),
	    0);
	assert_int_equal(c->nprofiles, 2);
	assert_string_equal(c->profiles[0].name, "default");
	assert_true(c->profiles[0].require_binding);
	assert_int_equal(c->profiles[0].years, 3);
	assert_string_equal(c->profiles[0].email, "${challenge.email}");
	p = config_profile_find(c, "kiosk");
	assert_non_null(p);
	assert_string_equal(p->profile_id, "MP0009");
	assert_int_equal(p->years, 2);
	assert_int_equal(p->challenge, GW_CHAL_STATIC);
	assert_true(p->has_static);
	SHA256((const unsigned char *)KIOSK_SECRET, strlen(KIOSK_SECRET), h);
	assert_memory_equal(p->static_sha256, h, 32);
	assert_string_equal(p->subject_cn, "kiosk-${csr.cn}");
	assert_string_equal(p->ou, "Kiosks");
	assert_string_equal(p->email, "${challenge.email|csr.email|\"\"}");
	assert_string_equal(p->upn, "${csr.upn|\"\"}");
	assert_int_equal(p->nemail_domains, 2);
	assert_string_equal(p->email_domains[0], "example.com");
	assert_string_equal(p->email_domains[1], "Corp.Example");
	assert_int_equal(c->profiles[0].nemail_domains, 0);
	config_free(c);
}

/* Each refused section, with the words the operator sees. */
static void
test_refused(void **state)
{
	static const struct {
		const char *extra;
		const char *want;
	} cases[] = {
		{ "[profile a.b]\nyears = 1\n", "profile name must be" },
		{ "[profile x]\ncolour = red\n", "unknown key" },
		{ "[profile x]\nsubject_cn = ${csr.dns}\n",
		    "unknown variable \"csr.dns\"" },
		{ "[profile x]\nyears = 4\n", "expected 1, 2 or 3" },
		{ "[profile x]\nchallenge = sometimes\n",
		    "expected one-time, static, both or intune" },
		{ "[profile x]\nchallenge = both\n",
		    "needs static_challenge_file" },
		{ "[profile x]\nchallenge = static\n"
		  "static_challenge_file = static.txt\nrequire_binding = yes\n",
		    "require_binding = yes cannot hold" },
		{ "[profile x]\nchallenge = static\n"
		  "static_challenge_file = open.txt\n",
		    "chmod 600" },
		{ "[profile x]\nchallenge = static\n"
		  "static_challenge_file = none.txt\n",
		    "No such file" },
		{ "[profile x]\nyears = 1\nyears = 2\n", "duplicate key" },
		{ "[profile x]\nrequire_binding = maybe\n",
		    "expected yes or no" },
		{ "[profile x]\nupn = ${csr.dns}\n",
		    "unknown variable \"csr.dns\"" },
		{ "[profile x]\nemail_domains = example.com, @evil\n",
		    "\"@evil\" is not a domain name" },
		{ "[profile x]\nemail_domains = localhost\n",
		    "is not a domain name" },
	};
	struct fx *fx = *state;
	struct gw_config *c = NULL;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(fx->err, 0, sizeof(fx->err));
		assert_int_equal(load(fx, cases[i].extra, &c), -1);
		assert_null(c);
		if (strstr(fx->err, cases[i].want) == NULL)
			fail_msg("case %zu: \"%s\" not in: %s", i,
			    cases[i].want, fx->err);
	}
}

/*
 * A static secret must hold 128 bits by its length and alphabet (README
 * "Profiles, identity templates, static challenges"): shorter ones are
 * refused at start, naming the file but never the secret.
 */
static void
test_static_strength(void **state)
{
	static const struct {
		const char *secret;
		const char *want; /* NULL: accepted */
	} cases[] = {
		/* decimal digits: 39 */
		{ "12345678901234567890123456789012345678",
		    "38 decimal digits, under 128 bits; use at least 39" },
		{ "123456789012345678901234567890123456789", NULL },
		/* hex digits: 32 (openssl rand -hex 16) */
		{ "0123456789abcdef0123456789ABCDE",
		    "31 hex digits, under 128 bits; use at least 32" },
		{ "0123456789abcdef0123456789ABCDEF", NULL },
		/* base64 / base64url: 22, padding not counted */
		{ "kiosk-secret-AAAAAAAA", "21 base64 characters" },
		{ "kiosk_secret+AAAAAAA/==", "21 base64 characters" },
		{ "kiosk-secret-AAAAAAAAA", NULL },
		{ "q83vEjRWeJCrze8SNFZ4kA==", NULL },
		/* anything else: 20 */
		{ "correct horse batt!", "19 characters, under 128 bits" },
		{ "correct horse batt!!", NULL },
		{ "kiosk-secret", "12 base64 characters" },
	};
	struct fx *fx = *state;
	struct gw_config *c = NULL;
	char text[128];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("static secret %zu\n", i);
		snprintf(text, sizeof(text), "%s\n", cases[i].secret);
		file_put(fx, "s.txt", text, 0600);
		memset(fx->err, 0, sizeof(fx->err));
		if (cases[i].want == NULL) {
			assert_int_equal(load(fx,
					     "[profile x]\nchallenge = static\n"
					     "static_challenge_file = s.txt\n",
					     &c),
			    0);
			config_free(c);
			c = NULL;
			continue;
		}
		assert_int_equal(load(fx,
				     "[profile x]\nchallenge = both\n"
				     "static_challenge_file = s.txt\n",
				     &c),
		    -1);
		assert_null(c);
		if (strstr(fx->err, cases[i].want) == NULL ||
		    strstr(fx->err, "s.txt") == NULL)
			fail_msg("case %zu: \"%s\" not in: %s", i,
			    cases[i].want, fx->err);
		if (strstr(fx->err, cases[i].secret) != NULL)
			fail_msg("case %zu: the secret is in: %s", i, fx->err);
	}
}

/* Collects config_diff()'s names as "section key" lines. */
static void
diff_collect(void *arg, const char *section, const char *key)
{
	char *out = arg;
	size_t n = strlen(out);

	snprintf(out + n, 1024 - n, "%s %s\n", section,
	    key != NULL ? key : "(added or removed)");
}

/* Loads base + extra into a config of its own. */
static struct gw_config *
load_ok(struct fx *fx, const char *extra)
{
	struct gw_config *c = NULL;

	if (load(fx, extra, &c) != 0)
		fail_msg("config_load: %s", fx->err);
	return c;
}

/*
 * A reload applies [ra], [log] level and static_challenge_file: those are
 * never named; every other key that changed is, a profile added or
 * removed too, and nothing when nothing changed.
 */
static void
test_diff(void **state)
{
	struct fx *fx = *state;
	struct gw_config *a, *b;
	char out[1024] = "";

	file_put(fx, "static2.txt", KIOSK_SECRET "2\n", 0600);
	a = load_ok(fx,
	    "[profile kiosk]\nchallenge = static\n"
	    "static_challenge_file = static.txt\n[log]\nlevel = info\n");
	b = load_ok(fx,
	    "[profile kiosk]\nchallenge = static\n"
	    "static_challenge_file = static.txt\n[log]\nlevel = info\n");
	assert_int_equal(config_diff(a, b, diff_collect, out), 0);
	assert_string_equal(out, "");
	config_free(b);
	b = load_ok(fx,
	    "[ra]\nnext_cert = n.pem\nnext_key = n.key\n"
	    "[profile kiosk]\nchallenge = static\n"
	    "static_challenge_file = static2.txt\n[log]\nlevel = debug\n");
	assert_int_equal(config_diff(a, b, diff_collect, out), 0);
	config_free(b);
	b = load_ok(fx,
	    "[server]\nthreads = 8\n[enroll]\nchallenge_ttl_seconds = 7200\n"
	    "[profile kiosk]\nchallenge = both\n"
	    "static_challenge_file = static.txt\n"
	    "[profile extra]\nou = X\n");
	assert_int_equal(config_diff(a, b, diff_collect, out), 4);
	assert_string_equal(out,
	    "enroll challenge_ttl_seconds\n"
	    "server threads\n"
	    "profile extra (added or removed)\n"
	    "profile kiosk challenge\n");
	config_free(a);
	config_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_default_only, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_diff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_profiles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_static_strength, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
