/*
 * Tolerant decoding of the GET message= parameter (RFC 8894 4.1). The HTTP
 * layer has already percent-decoded the value once; what reaches us may
 * still hold %XX escapes (double-encoded clients), line breaks (sscep,
 * Cisco), spaces that were '+' before form decoding, base64url letters
 * and missing padding. We normalise all of that, then decode strictly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "gw_err.h"
#include "secure.h"
#include "scep.h"

/* The value of a hex digit, or -1. */
static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The 6-bit value of a standard base64 letter, or -1. */
static int
b64_value(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Maps one character of the value to a standard base64 letter: spaces
 * were '+' before form decoding, '-' and '_' are the base64url letters.
 * Returns 0 for a character to drop (CR, LF, tab), '=' for padding, the
 * letter, or -1 for anything that cannot be base64.
 */
static int
query_char_map(uint8_t c)
{
	switch (c) {
	case '\r':
	case '\n':
	case '\t':
		return 0;
	case '=':
		return '=';
	case ' ':
	case '-':
		return '+';
	case '_':
		return '/';
	default:
		return b64_value(c) == -1 ? -1 : c;
	}
}

/*
 * Percent-decodes any %XX left in the value and normalises each character
 * into clean (at most cap letters). Padding is dropped (it is implied by
 * the length) but only at the end: a letter after '=' is an error.
 * Returns the number of letters, or -1.
 */
static long
query_clean(const char *v, size_t len, uint8_t *clean, size_t cap)
{
	size_t i, n = 0, pad = 0;
	int c, hi, lo;

	for (i = 0; i < len; i++) {
		c = (uint8_t)v[i];
		if (c == '%') {
			if (len - i < 3 || (hi = hex_value(v[i + 1])) == -1 ||
			    (lo = hex_value(v[i + 2])) == -1)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		}
		if ((c = query_char_map((uint8_t)c)) == -1)
			return -1;
		if (c == 0)
			continue;
		if (c == '=') {
			if (++pad > 2)
				return -1;
			continue;
		}
		if (pad > 0 || n == cap)
			return -1;
		clean[n++] = (uint8_t)c;
	}
	return (long)n;
}

/* Strictly decodes n clean letters (no padding) into out; 0 or -1. */
static int
b64_decode(const uint8_t *in, size_t n, struct buf *out)
{
	uint8_t q[3];
	uint32_t acc;
	size_t i, j, take;

	if (n % 4 == 1)
		return -1;
	for (i = 0; i < n; i += 4) {
		take = n - i < 4 ? n - i : 4;
		acc = 0;
		for (j = 0; j < 4; j++)
			acc = (acc << 6) |
			    (j < take ? (uint32_t)b64_value(in[i + j]) : 0);
		q[0] = (uint8_t)(acc >> 16);
		q[1] = (uint8_t)(acc >> 8);
		q[2] = (uint8_t)acc;
		/* Unused bits of a short final group must be zero. */
		if ((take == 2 && (acc & 0xffff) != 0) ||
		    (take == 3 && (acc & 0xff) != 0))
			return -1;
		if (buf_add(out, q, take - 1) == -1)
			return -1;
	}
	return 0;
}

/*
 * Decodes a GET message= value of len bytes into out (initialised here,
 * ceiling max decoded bytes). Returns 0, or -1 with err set and out empty
 * when the value is not base64 in any of the encodings clients use or
 * would decode to more than max bytes.
 */
int
scep_query_decode(const char *value, size_t len, size_t max, struct buf *out,
    struct gw_err *err)
{
	uint8_t *clean = NULL;
	size_t cap;
	long n;
	int rc = -1;

	buf_init(out, max);
	/* At most max decoded bytes: that many base64 letters, no more. */
	cap = max / 3 * 4 + 4;
	if (value == NULL || len == 0) {
		gw_err_set(err, SCEP_FAIL_BADREQUEST, "empty message");
		goto out;
	}
	if ((clean = malloc(len < cap ? len : cap)) == NULL) {
		gw_err_set(err, SCEP_FAIL_BADREQUEST, "out of memory");
		goto out;
	}
	n = query_clean(value, len, clean, len < cap ? len : cap);
	if (n <= 0) {
		gw_err_set(err, SCEP_FAIL_BADREQUEST,
		    "message is not base64 or too long");
		goto out;
	}
	if ((size_t)n / 4 * 3 + ((size_t)n % 4 * 3) / 4 > max) {
		gw_err_set(err, SCEP_FAIL_BADREQUEST,
		    "message longer than %zu bytes", max);
		goto out;
	}
	if (b64_decode(clean, (size_t)n, out) == -1) {
		gw_err_set(err, SCEP_FAIL_BADREQUEST, "message is not base64");
		goto out;
	}
	rc = 0;
out:
	free(clean);
	if (rc == -1)
		buf_cleanup(out);
	return rc;
}
