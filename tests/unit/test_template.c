/*
 * Unit tests for server/config/template.c: every rule of the identity templates
 * (README "Identity templates") as one table: literals, variables,
 * fallbacks, quoted literal fallbacks, missing variables named, syntax
 * errors, overflow.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "template.h"

/* The values every case expands against; "" and NULL are both absent. */
static const char *const full[TMPL_VAR__MAX] = {
	[TMPL_CHALLENGE_CN] = "bound-cn",
	[TMPL_CHALLENGE_EMAIL] = "bound@example.com",
	[TMPL_CHALLENGE_OU] = "Sales",
	[TMPL_CHALLENGE_UPN] = "bound@corp.example",
	[TMPL_CSR_CN] = "csr-cn",
	[TMPL_CSR_EMAIL] = "csr@example.com",
	[TMPL_CSR_UPN] = "user@corp.example",
};

static const char *const csr_only[TMPL_VAR__MAX] = {
	[TMPL_CHALLENGE_CN] = NULL,
	[TMPL_CHALLENGE_EMAIL] = "",
	[TMPL_CSR_CN] = "csr-cn",
	[TMPL_CSR_UPN] = "user@corp.example",
};

struct tmpl_case {
	const char *name;
	const char *tmpl;
	const char *const *vals;
	enum tmpl_res res;
	const char *out; /* TMPL_OK: the value */
	const char *why; /* otherwise: expected in the reason */
};

static const struct tmpl_case cases[] = {
	{ "literal", "Device 7", full, TMPL_OK, "Device 7", NULL },
	{ "empty template", "", full, TMPL_OK, "", NULL },
	{ "one variable", "${csr.cn}", full, TMPL_OK, "csr-cn", NULL },
	{ "binding wins", "${challenge.cn|csr.cn}", full, TMPL_OK, "bound-cn",
	    NULL },
	{ "fallback to csr", "${challenge.cn|csr.cn}", csr_only, TMPL_OK,
	    "csr-cn", NULL },
	{ "empty string is no value", "${challenge.email|csr.upn}", csr_only,
	    TMPL_OK, "user@corp.example", NULL },
	{ "text around", "iPhone of ${csr.upn} (${challenge.ou})", full,
	    TMPL_OK, "iPhone of user@corp.example (Sales)", NULL },
	{ "literal fallback", "${challenge.ou|\"Devices\"}", csr_only, TMPL_OK,
	    "Devices", NULL },
	{ "optional value", "${challenge.email|csr.email|\"\"}", csr_only,
	    TMPL_OK, "", NULL },
	{ "literal with bar", "${challenge.ou|\"a|b}\"}", csr_only, TMPL_OK,
	    "a|b}", NULL },
	{ "dollar alone", "cost $5", full, TMPL_OK, "cost $5", NULL },
	{ "missing named", "x-${challenge.cn}", csr_only, TMPL_MISSING, NULL,
	    "challenge.cn" },
	{ "missing fallback named", "${challenge.email|csr.email}", csr_only,
	    TMPL_MISSING, NULL, "challenge.email|csr.email" },
	{ "unknown variable", "${csr.dns}", full, TMPL_SYNTAX, NULL,
	    "csr.dns" },
	{ "unterminated", "${csr.cn", full, TMPL_SYNTAX, NULL, "expected" },
	{ "empty expression", "${}", full, TMPL_SYNTAX, NULL, "unknown" },
	{ "empty alternative", "${csr.cn|}", full, TMPL_SYNTAX, NULL,
	    "unknown" },
	{ "unterminated literal", "${csr.cn|\"abc}", full, TMPL_SYNTAX, NULL,
	    "literal" },
	{ "junk after literal", "${\"a\"b}", full, TMPL_SYNTAX, NULL,
	    "expected" },
};

/* Each case through tmpl_expand(), and through tmpl_check(). */
static void
test_table(void **state)
{
	char out[TMPL_OUT_MAX], why[128];
	enum tmpl_res r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tmpl_case *c = &cases[i];

		why[0] = '\0';
		r = tmpl_expand(c->tmpl, c->vals, out, sizeof(out), why,
		    sizeof(why));
		if (r != c->res)
			fail_msg("%s: result %d, want %d (%s)", c->name, r,
			    c->res, why);
		if (c->res == TMPL_OK)
			assert_string_equal(out, c->out);
		else
			assert_non_null(strstr(why, c->why));
		assert_int_equal(tmpl_check(c->tmpl, why, sizeof(why)),
		    c->res == TMPL_SYNTAX ? -1 : 0);
	}
}

/* A result longer than the buffer is refused, never truncated. */
static void
test_too_long(void **state)
{
	char out[8], why[64];

	(void)state;
	assert_int_equal(tmpl_expand("${csr.upn}", full, out, sizeof(out), why,
			     sizeof(why)),
	    TMPL_TOOLONG);
	assert_string_equal(out, "");
	assert_int_equal(tmpl_expand("123456789", full, out, sizeof(out), why,
			     sizeof(why)),
	    TMPL_TOOLONG);
	assert_int_equal(tmpl_expand("1234567", full, out, sizeof(out), why,
			     sizeof(why)),
	    TMPL_OK);
	assert_string_equal(out, "1234567");
}

/* Literal templates (for the .mobileconfig Subject) and variable names. */
static void
test_literal_names(void **state)
{
	(void)state;
	assert_true(tmpl_is_literal("Kiosk"));
	assert_false(tmpl_is_literal("${csr.cn}"));
	assert_string_equal(tmpl_var_name(TMPL_CSR_UPN), "csr.upn");
	assert_string_equal(tmpl_var_name(TMPL_VAR__MAX), "?");
}

/* The built-in UPN template: the challenge's UPN, never the CSR's. */
static void
test_upn_default(void **state)
{
	char out[TMPL_OUT_MAX], why[128];

	(void)state;
	assert_string_equal(tmpl_var_name(TMPL_CHALLENGE_UPN), "challenge.upn");
	assert_int_equal(tmpl_expand(TMPL_DEF_UPN, full, out, sizeof(out), why,
			     sizeof(why)),
	    TMPL_OK);
	assert_string_equal(out, "bound@corp.example");
	/* csr_only has a CSR UPN and no challenge: no UPN. */
	assert_int_equal(tmpl_expand(TMPL_DEF_UPN, csr_only, out, sizeof(out),
			     why, sizeof(why)),
	    TMPL_OK);
	assert_string_equal(out, "");
	assert_int_equal(tmpl_check("${challenge.upn|csr.upn}", why,
			     sizeof(why)),
	    0);
}

/* Identity values GlobalSign can take (template.h). */
static void
test_value_check(void **state)
{
	static const struct {
		enum tmpl_field f;
		const char *v;
		bool ok;
		const char *why;
	} c[] = {
		{ TMPL_F_CN, "alice", true, NULL },
		{ TMPL_F_CN, "", true, NULL },
		{ TMPL_F_CN, "J\xc3\xbcrgen M\xc3\xbcller", true, NULL },
		{ TMPL_F_CN, "evil\001name", false, "control character" },
		{ TMPL_F_CN, "evil\nname", false, "control character" },
		{ TMPL_F_CN, "del\x7f", false, "control character" },
		{ TMPL_F_CN, "c1 \xc2\x85", false, "control character" },
		{ TMPL_F_CN, "bad \xff utf8", false, "UTF-8" },
		{ TMPL_F_CN, "overlong \xc0\xaf", false, "UTF-8" },
		{ TMPL_F_CN, "surrogate \xed\xa0\x80", false, "UTF-8" },
		{ TMPL_F_CN, "cut \xe2\x82", false, "UTF-8" },
		{ TMPL_F_CN,
		    "0123456789012345678901234567890123456789012345678901234567"
		    "890123",
		    true, NULL },
		{ TMPL_F_CN,
		    "0123456789012345678901234567890123456789012345678901234567"
		    "8901234",
		    false, "65 characters; at most 64" },
		{ TMPL_F_OU,
		    "0123456789012345678901234567890123456789012345678901234567"
		    "8901234",
		    false, "at most 64" },
		{ TMPL_F_EMAIL, "alice@example.com", true, NULL },
		{ TMPL_F_EMAIL, "a.b+tag@mail.example.co.uk", true, NULL },
		{ TMPL_F_EMAIL, "alice", false, "not an e-mail" },
		{ TMPL_F_EMAIL, "a@@example.com", false, "not an e-mail" },
		{ TMPL_F_EMAIL, "a b@example.com", false, "not an e-mail" },
		{ TMPL_F_EMAIL, ".a@example.com", false, "not an e-mail" },
		{ TMPL_F_EMAIL, "a..b@example.com", false, "not an e-mail" },
		{ TMPL_F_EMAIL, "a@localhost", false, "not an e-mail" },
		{ TMPL_F_EMAIL, "a@-x.example", false, "not an e-mail" },
		{ TMPL_F_EMAIL, "a@x..example", false, "not an e-mail" },
		{ TMPL_F_EMAIL, "j\xc3\xbcrgen@example.com", false,
		    "not an e-mail" },
		{ TMPL_F_EMAIL,
		    "0123456789012345678901234567890123456789012345678901234567"
		    "89@0123456789012345678901234567890123456789012345678901234"
		    "5.example.com",
		    false, "at most 128" },
		{ TMPL_F_UPN, "alice@corp.example", true, NULL },
		{ TMPL_F_UPN, "alice@corp", true, NULL },
		{ TMPL_F_UPN, "alice", false, "not a UPN" },
		{ TMPL_F_UPN, "@corp", false, "not a UPN" },
		{ TMPL_F_UPN, "alice@", false, "not a UPN" },
		{ TMPL_F_UPN, "al ice@corp", false, "not a UPN" },
		{ TMPL_F_UPN, "al\rice@corp", false, "control character" },
	};
	char why[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		print_message("value check %zu: %s\n", i, c[i].v);
		why[0] = '\0';
		assert_int_equal(tmpl_value_check(c[i].f, c[i].v, why,
				     sizeof(why)),
		    c[i].ok ? 0 : -1);
		if (!c[i].ok)
			assert_non_null(strstr(why, c[i].why));
	}
	assert_true(tmpl_domain_ok("example.com"));
	assert_true(tmpl_domain_ok("a-b.example.com"));
	assert_false(tmpl_domain_ok("example"));
	assert_false(tmpl_domain_ok("example.com."));
	assert_false(tmpl_domain_ok("ex_ample.com"));
	assert_false(tmpl_domain_ok("@example.com"));
	assert_false(tmpl_domain_ok(""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_literal_names),
		cmocka_unit_test(test_upn_default),
		cmocka_unit_test(test_value_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
