/*
 * Bounded buffers. On failure (the ceiling would be passed, or memory ran
 * out) an add returns -1 and leaves the buffer exactly as it was.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "secure.h"

/* Prepares an empty buffer that will never hold more than max bytes. */
void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max == 0 ? SIZE_MAX / 2 : max;
	b->secret = false;
}

/*
 * Flags b as holding a secret (a password, a challenge) from now on:
 * what it held before was not secret, or was added before any growth.
 */
void
buf_set_secret(struct buf *b)
{
	b->secret = true;
}

/*
 * realloc() for a secret buffer: a new block, the old one wiped and freed,
 * so no copy of the secret is left behind in the allocator's free lists.
 */
static uint8_t *
buf_move(struct buf *b, size_t ncap)
{
	uint8_t *p;

	if ((p = malloc(ncap)) == NULL)
		return NULL;
	if (b->data != NULL) {
		memcpy(p, b->data, b->len + 1);
		gw_cleanse(b->data, b->cap);
		free(b->data);
	}
	return p;
}

/* Makes room for n more bytes plus the terminator; 0 or -1. */
static int
buf_grow(struct buf *b, size_t n)
{
	size_t need, ncap;
	uint8_t *p;

	if (n > b->max || b->len > b->max - n)
		return -1;
	need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap == 0 ? 256 : b->cap;
	while (ncap < need)
		ncap *= 2;
	p = b->secret ? buf_move(b, ncap) : realloc(b->data, ncap);
	if (p == NULL)
		return -1;
	b->data = p;
	b->cap = ncap;
	return 0;
}

/* Appends n bytes; 0 on success, -1 (buffer unchanged) on failure. */
int
buf_add(struct buf *b, const void *p, size_t n)
{
	if (buf_grow(b, n) == -1)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

/* Appends a C string without its terminator. */
int
buf_addstr(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

/* Appends formatted text; 0 or -1 (buffer unchanged). */
int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_grow(b, (size_t)n) == -1)
		return -1;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

/* Empties the buffer but keeps its memory. */
void
buf_reset(struct buf *b)
{
	if (b->secret && b->data != NULL)
		gw_cleanse(b->data, b->cap);
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

/* Frees the memory; the buffer may be used again after buf_init(). */
void
buf_cleanup(struct buf *b)
{
	if (b->secret && b->data != NULL)
		gw_cleanse(b->data, b->cap);
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

/*
 * Hands the data to the caller, who frees it with free(); the buffer is
 * left empty. Returns NULL for an empty buffer.
 */
uint8_t *
buf_steal(struct buf *b, size_t *len)
{
	uint8_t *p = b->data;

	if (len != NULL)
		*len = b->len;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}
