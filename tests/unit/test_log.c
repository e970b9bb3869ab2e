/*
 * Unit tests of server/core/log.c's escaping: what reaches a log line from the
 * network can neither end the line nor hide bytes. Control bytes, DEL, the
 * backslash and bytes that are not valid UTF-8 come out as \xNN; valid
 * UTF-8 and printable ASCII come out as they went in; an escape is never
 * cut in half by the end of the buffer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"

/* Input bytes and the text expected for them. */
static void
test_escape_table(void **state)
{
	static const struct {
		const char *in;
		const char *want;
	} rows[] = {
		{ "plain text: cn=alice txid=42",
		    "plain text: cn=alice txid=42" },
		{ "x\n2026-01-01T00:00:00.000Z info: forged",
		    "x\\x0a2026-01-01T00:00:00.000Z info: forged" },
		{ "a\rb\tc\x1b[31m", "a\\x0db\\x09c\\x1b[31m" },
		{ "del\x7f", "del\\x7f" },
		{ "back\\slash", "back\\x5cslash" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91",
		    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91" },
		/* Invalid UTF-8: a lone continuation, a cut sequence, an
		 * overlong '/', a surrogate, past U+10FFFF, 0xff. */
		{ "\x80", "\\x80" },
		{ "\xc3", "\\xc3" },
		{ "\xe2\x82x", "\\xe2\\x82x" },
		{ "\xc0\xaf", "\\xc0\\xaf" },
		{ "\xed\xa0\x80", "\\xed\\xa0\\x80" },
		{ "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80" },
		{ "\xff", "\\xff" },
		/* C1 controls are control characters too (U+0085: NEL). */
		{ "a\xc2\x85z", "a\\xc2\\x85z" },
		{ "\xc2\xa0", "\xc2\xa0" },
		{ "", "" },
	};
	char out[128];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		n = log_escape(out, sizeof(out), rows[i].in,
		    strlen(rows[i].in));
		assert_string_equal(out, rows[i].want);
		assert_int_equal(n, strlen(rows[i].want));
	}
}

/* A NUL inside the input is escaped too: the length decides. */
static void
test_escape_nul(void **state)
{
	char out[32];

	(void)state;
	assert_int_equal(log_escape(out, sizeof(out), "a\0b", 3), 6);
	assert_string_equal(out, "a\\x00b");
}

/* A full buffer ends before an escape or a character, never inside. */
static void
test_escape_truncates_whole(void **state)
{
	char out[8];

	(void)state;
	/* "ab\x0a" needs 6 bytes + NUL: fits in 8. */
	assert_int_equal(log_escape(out, sizeof(out), "ab\n", 3), 6);
	/* "abcd" + "\x0a" needs 8 + NUL: the escape is left out whole. */
	assert_int_equal(log_escape(out, sizeof(out), "abcd\n", 5), 4);
	assert_string_equal(out, "abcd");
	/* A 4-byte character that does not fit is left out whole. */
	assert_int_equal(log_escape(out, sizeof(out), "abcd\xf0\x9f\x94\x91",
			     8),
	    4);
	assert_string_equal(out, "abcd");
	assert_int_equal(log_escape(out, 1, "abc", 3), 0);
	assert_string_equal(out, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_table),
		cmocka_unit_test(test_escape_nul),
		cmocka_unit_test(test_escape_truncates_whole),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
