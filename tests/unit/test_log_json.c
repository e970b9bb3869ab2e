/*
 * Unit tests of server/core/log_json.c: whatever bytes a value holds
 * (quotes, control bytes, invalid UTF-8, NUL, any length), a JSON log line
 * parses (jansson), its keys come in the documented order (README "Logs"),
 * each value decodes to what the text format would show, and a value cut
 * for length is still valid JSON; the text format is unchanged by fields.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "log.h"

/* The decoded string of a JSON text; fails the test when it is not one. */
static char *
json_decode_str(const char *text)
{
	json_error_t err;
	json_t *j;
	char *s;

	j = json_loads(text, JSON_DECODE_ANY, &err);
	if (j == NULL)
		fail_msg("not JSON (%s): %s", err.text, text);
	assert_true(json_is_string(j));
	s = strdup(json_string_value(j));
	json_decref(j);
	assert_non_null(s);
	return s;
}

/* Input bytes and what the JSON string decodes to. */
static void
test_json_str_table(void **state)
{
	static const struct {
		const char *in;
		size_t n;
		const char *want;
	} rows[] = {
		{ "cn=alice", 8, "cn=alice" },
		{ "say \"hi\"", 8, "say \"hi\"" },
		{ "back\\slash", 10, "back\\x5cslash" },
		{ "a\nb\r\t\x1b\x7f", 7, "a\\x0ab\\x0d\\x09\\x1b\\x7f" },
		{ "a\0b", 3, "a\\x00b" },
		{ "caf\xc3\xa9 \xf0\x9f\x94\x91", 10,
		    "caf\xc3\xa9 \xf0\x9f\x94\x91" },
		{ "\x80\xc3\xff\xed\xa0\x80\xc2\x85", 8,
		    "\\x80\\xc3\\xff\\xed\\xa0\\x80\\xc2\\x85" },
		{ "\"}\n{\"level\":\"x", 14, "\"}\\x0a{\"level\":\"x" },
	};
	char out[256];
	char *got;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		n = log_json_str(out, sizeof(out), rows[i].in, rows[i].n);
		assert_int_equal(n, strlen(out));
		got = json_decode_str(out);
		assert_string_equal(got, rows[i].want);
		free(got);
	}
}

/*
 * A hostile value cut at every buffer size: always a valid JSON string
 * whose value is a prefix of the whole one, within the size given.
 */
static void
test_json_str_cut(void **state)
{
	static const char in[] = "q\"\\\n\x80\xc3\xa9\xf0\x9f\x94\x91z\x01\xff";
	char out[128], whole[128];
	char *got, *all;
	size_t size, n;

	(void)state;
	log_json_str(whole, sizeof(whole), in, sizeof(in) - 1);
	all = json_decode_str(whole);
	for (size = 3; size <= sizeof(out); size++) {
		n = log_json_str(out, size, in, sizeof(in) - 1);
		assert_true(n < size);
		got = json_decode_str(out);
		assert_memory_equal(got, all, strlen(got));
		free(got);
	}
	free(all);
}

/* Runs log_ev() with stderr sent to a file; returns what was written. */
static char *
capture(enum log_format fmt, const struct log_fields *f, const char *msg)
{
	FILE *tmp = tmpfile();
	char *buf;
	long len;
	int saved;

	assert_non_null(tmp);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fileno(tmp), STDERR_FILENO), STDERR_FILENO);
	log_format_set(fmt);
	log_ev(LOG_INFO, "enroll.issued", f, "%s", msg);
	log_format_set(LOG_FMT_TEXT);
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	len = ftell(tmp);
	assert_true(len > 0);
	buf = calloc(1, (size_t)len + 1);
	assert_non_null(buf);
	rewind(tmp);
	assert_int_equal(fread(buf, 1, (size_t)len, tmp), (size_t)len);
	fclose(tmp);
	return buf;
}

/* A JSON line: one object, keys in order, values decoded, one newline. */
static void
test_json_line(void **state)
{
	const struct log_fields f = { .txid = "t\"x\n{id",
		.peer = "::1",
		.cn = "\xff"
		      "dev",
		.serial = "01AB",
		.duration_ms = 0,
		.has_duration = true };
	const char *keys[] = { "ts", "level", "event", "node", "txid", "peer",
		"cn", "serial", "duration_ms", "msg" };
	json_error_t err;
	const char *k;
	json_t *j, *v;
	char *line;
	size_t i = 0;

	(void)state;
	log_node_set("gw-1");
	line = capture(LOG_FMT_JSON, &f, "issued \"it\"");
	log_node_set(NULL);
	/* One line: its only newline ends it. */
	assert_ptr_equal(strchr(line, '\n'), line + strlen(line) - 1);
	j = json_loads(line, 0, &err);
	if (j == NULL)
		fail_msg("not JSON (%s): %s", err.text, line);
	json_object_foreach(j, k, v)
	{
		assert_true(i < sizeof(keys) / sizeof(keys[0]));
		assert_string_equal(k, keys[i++]);
	}
	assert_int_equal(i, sizeof(keys) / sizeof(keys[0]));
	assert_string_equal(json_string_value(json_object_get(j, "level")),
	    "info");
	assert_string_equal(json_string_value(json_object_get(j, "txid")),
	    "t\"x\\x0a{id");
	assert_string_equal(json_string_value(json_object_get(j, "cn")),
	    "\\xffdev");
	assert_string_equal(json_string_value(json_object_get(j, "msg")),
	    "issued \"it\"");
	assert_int_equal(json_integer_value(json_object_get(j, "duration_ms")),
	    0);
	assert_non_null(
	    strstr(json_string_value(json_object_get(j, "ts")), "Z"));
	json_decref(j);
	free(line);
}

/* Values far longer than a line: cut, and the line still parses. */
static void
test_json_line_long(void **state)
{
	struct log_fields f = { 0 };
	char *big, *line, *msg;
	json_error_t err;
	json_t *j;

	(void)state;
	big = malloc(100000);
	assert_non_null(big);
	memset(big, '\n', 99999);
	big[99999] = '\0';
	f.txid = big;
	f.cn = big;
	f.reason = big;
	msg = big + 90000;
	line = capture(LOG_FMT_JSON, &f, msg);
	j = json_loads(line, 0, &err);
	if (j == NULL)
		fail_msg("not JSON (%s): %.200s", err.text, line);
	assert_true(
	    strlen(json_string_value(json_object_get(j, "txid"))) < 512);
	assert_non_null(json_object_get(j, "msg"));
	json_decref(j);
	free(line);
	free(big);
}

/* Text: the fields are not printed; the line is what log_info() writes. */
static void
test_text_line_unchanged(void **state)
{
	const struct log_fields f = { .txid = "T1", .serial = "01" };
	char *line;

	(void)state;
	line = capture(LOG_FMT_TEXT, &f, "txid=T1: issued a\nb");
	assert_non_null(strstr(line, "Z info: txid=T1: issued a\\x0ab\n"));
	assert_null(strstr(line, "enroll.issued"));
	assert_null(strstr(line, "01\n"));
	free(line);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_str_table),
		cmocka_unit_test(test_json_str_cut),
		cmocka_unit_test(test_json_line),
		cmocka_unit_test(test_json_line_long),
		cmocka_unit_test(test_text_line_unchanged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
