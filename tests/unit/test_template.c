/*
 * Unit tests for server/template.c: every rule of the identity templates
 * (issue 6 item 4) as one table: literals, variables, fallbacks, quoted
 * literal fallbacks, missing variables named, syntax errors, overflow.
 */
#include <setjmp.h>
#include <stdarg.h>
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_literal_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
