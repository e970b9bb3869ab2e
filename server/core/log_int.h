/*
 * Private to the log sink: what log.c and the JSON writer (log_json.c)
 * share.
 */
#ifndef GW_LOG_INT_H
#define GW_LOG_INT_H

#include <stddef.h>

#include "log.h"

/*
 * A line at most: a JSON line holds the message (2047 bytes, each at most
 * 5 once escaped) and every field (LOG_FIELD_MAX each).
 */
#define LOG_LINE_MAX 24576
/* A field's JSON string at most, quotes included; longer is cut. */
#define LOG_FIELD_MAX 512

/* What every JSON line starts with. */
struct log_head {
	const char *ts;	   /* RFC 3339, UTC, milliseconds */
	const char *level; /* "info", "warning"… */
	const char *event; /* "log" when the call named none */
	const char *node;  /* this gateway, or NULL */
};

size_t log_keep(const unsigned char *p, size_t n);
size_t log_json_line(char *line, size_t size, const struct log_head *h,
    const struct log_fields *f, const char *msg, size_t m);

#endif
