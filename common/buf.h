/*
 * A growable byte buffer with a ceiling: every buffer that network input
 * fills is bounded. The data is always NUL-terminated (the terminator is
 * not counted in len), so text can be used as a C string. A buffer flagged
 * secret (buf_set_secret()) never leaves a copy of its bytes in freed
 * memory: growing moves it and wipes the old block, and buf_cleanup() and
 * buf_reset() wipe it too.
 */
#ifndef GW_BUF_H
#define GW_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data; /* NULL until the first add */
	size_t len;    /* bytes used, terminator excluded */
	size_t cap;    /* bytes allocated */
	size_t max;    /* ceiling on len; 0 means SIZE_MAX / 2 */
	bool secret;   /* wipe memory before it is given back */
};

void buf_init(struct buf *b, size_t max);
void buf_set_secret(struct buf *b);
int buf_add(struct buf *b, const void *p, size_t n);
int buf_addstr(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
void buf_cleanup(struct buf *b);
uint8_t *buf_steal(struct buf *b, size_t *len);

#endif
