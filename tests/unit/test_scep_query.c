/*
 * Unit tests of the tolerant GET message= decoder (scep_query.c), as a
 * table of the encodings clients produce.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "gw_err.h"
#include "scep.h"

struct query_case {
	const char *name;
	const char *in;	 /* the value as the HTTP layer hands it */
	size_t max;	 /* ceiling on decoded bytes */
	int rc;		 /* expected return */
	const char *out; /* expected bytes (rc 0) */
	size_t outlen;
};

/*
 * "\xfb\xff\xbe" encodes as "+/++" and "\xfb\xef\xff" as "++//", so
 * these bytes exercise the letters that URLs mangle.
 */
static const struct query_case cases[] = {
	{ "standard", "aGVsbG8gd29ybGQ=", 100, 0, "hello world", 11 },
	{ "no padding", "aGVsbG8gd29ybGQ", 100, 0, "hello world", 11 },
	{ "two pads missing", "aGk", 100, 0, "hi", 2 },
	{ "plus and slash", "+/++", 100, 0, "\xfb\xff\xbe", 3 },
	{ "url-safe", "-_--", 100, 0, "\xfb\xff\xbe", 3 },
	{ "percent leftovers", "%2B%2F%2B%2B", 100, 0, "\xfb\xff\xbe", 3 },
	{ "half-encoded (Apple)", "aGk%3D", 100, 0, "hi", 2 },
	{ "lowercase hex", "%2b%2f%2b%2b", 100, 0, "\xfb\xff\xbe", 3 },
	{ "spaces for plus", " / +", 100, 0, "\xfb\xff\xbe", 3 },
	{ "line breaks", "aGVs\r\nbG8g\nd29y%0AbGQ%3D%0D%0A", 100, 0,
	    "hello world", 11 },
	{ "tabs", "aGVs\tbG8=", 100, 0, "hello", 5 },
	{ "exact max", "aGVsbG8=", 5, 0, "hello", 5 },
	{ "oversize", "aGVsbG8gd29ybGQ=", 10, -1, NULL, 0 },
	{ "oversize long", "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB", 4, -1, NULL, 0 },
	{ "garbage", "hello*world", 100, -1, NULL, 0 },
	{ "bad percent", "aGk%3", 100, -1, NULL, 0 },
	{ "bad hex", "aGk%ZZ", 100, -1, NULL, 0 },
	{ "pad in middle", "aG=k", 100, -1, NULL, 0 },
	{ "three pads", "aG===", 100, -1, NULL, 0 },
	{ "lone letter", "aGVsb", 100, -1, NULL, 0 },
	{ "non-zero tail bits", "aGl=", 100, -1, NULL, 0 },
	{ "empty", "", 100, -1, NULL, 0 },
	{ "only whitespace", "\r\n", 100, -1, NULL, 0 },
	{ "nul byte", "aG%00k", 100, -1, NULL, 0 },
};

/* Runs every row of the table. */
static void
test_query_table(void **state)
{
	struct gw_err err;
	struct buf out;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct query_case *c = &cases[i];

		rc =
		    scep_query_decode(c->in, strlen(c->in), c->max, &out, &err);
		if (rc != c->rc)
			fail_msg("%s: rc %d, want %d (%s)", c->name, rc, c->rc,
			    rc == -1 ? err.msg : "");
		if (rc == 0) {
			assert_int_equal(out.len, c->outlen);
			assert_memory_equal(out.data, c->out, c->outlen);
		} else {
			assert_null(out.data);
			assert_int_equal(err.code, SCEP_FAIL_BADREQUEST);
		}
		buf_cleanup(&out);
	}
}

/* GetCACaps: one token a line, CRLF, Renewal advertised. */
static void
test_caps(void **state)
{
	const char *t = scep_caps_text(NULL);

	(void)state;
	assert_string_equal(t,
	    "POSTPKIOperation\r\nRenewal\r\nAES\r\nDES3\r\nSHA-1\r\nSHA-224\r\n"
	    "SHA-256\r\nSHA-384\r\nSHA-512\r\nSCEPStandard\r\n");
	assert_non_null(strstr(t, "Renewal\r\n"));
}

/* The name tables. */
static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(scep_fail_name(SCEP_FAIL_BADALG), "badAlg");
	assert_string_equal(scep_fail_name(SCEP_FAIL_BADCERTID), "badCertId");
	assert_string_equal(scep_fail_name(SCEP_FAIL__MAX), "unknown");
	assert_string_equal(scep_msgtype_name(SCEP_MT_PKCSREQ), "PKCSReq");
	assert_string_equal(scep_msgtype_name(SCEP_MT_CERTPOLL), "CertPoll");
	assert_string_equal(scep_msgtype_name(18), "unknown");
	assert_string_equal(scep_msgtype_name(-1), "unknown");
	assert_string_equal(scep_msgtype_name(1000), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_table),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
