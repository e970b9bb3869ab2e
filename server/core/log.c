/*
 * Logging to stderr (journald picks it up under systemd): an ISO-8601 UTC
 * timestamp, the level and the message, or the same as one JSON object
 * (log_json.c, README "Logs"), written with one write(2) so lines
 * from concurrent threads never interleave. Every message is escaped here,
 * once (log_escape()): values from the network (an operation name, a
 * transactionID, a CN, a URL path) can neither start a line of their own
 * nor hide bytes from the reader, and callers pass them as they are.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "log_int.h"

/*
 * The most verbose level written. It may change while threads log (a
 * reload), so it is read and written atomically; a thread may log one more
 * line at the old level, never a torn value.
 */
static int log_max = LOG_INFO;

/* LOG_FMT_TEXT or LOG_FMT_JSON; atomic like log_max. */
static int log_fmt = LOG_FMT_TEXT;

/* This gateway's name, in every JSON line when set (log_node_set()):
 * log_node_buf, published through log_node once written. */
static char log_node_buf[128];
static const char *log_node;

/*
 * Sets the most verbose level that is written (LOG_ERR .. LOG_DEBUG); safe
 * to call while other threads log.
 */
void
log_init(int level)
{
	__atomic_store_n(&log_max, level, __ATOMIC_RELAXED);
}

/* Text or JSON lines from now on; safe to call while other threads log. */
void
log_format_set(enum log_format format)
{
	__atomic_store_n(&log_fmt, (int)format, __ATOMIC_RELAXED);
}

/*
 * Names this gateway in every JSON line ("node"); NULL or "" for none.
 * Called once, before the threads that log start.
 */
void
log_node_set(const char *node)
{
	if (node == NULL || node[0] == '\0') {
		__atomic_store_n(&log_node, NULL, __ATOMIC_RELEASE);
		return;
	}
	snprintf(log_node_buf, sizeof(log_node_buf), "%s", node);
	__atomic_store_n(&log_node, log_node_buf, __ATOMIC_RELEASE);
}

/* True when messages of this level are written. */
int
log_level_enabled(int level)
{
	return level <= __atomic_load_n(&log_max, __ATOMIC_RELAXED);
}

/*
 * The length of the valid UTF-8 sequence at p (at most n bytes): 2 to 4
 * for a code point from U+00A0 up, without overlong forms, surrogates or
 * values past U+10FFFF; 0 for anything else, C1 controls included.
 */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1fu;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0fu;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07u;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3fu);
	}
	if (cp < 0xa0 || (len == 3 && cp < 0x800) ||
	    (len == 4 && cp < 0x10000) || (cp >= 0xd800 && cp <= 0xdfff) ||
	    cp > 0x10ffff)
		return 0;
	return len;
}

/* How many bytes at p (n of them) are kept as they are; 0: escape p[0]. */
size_t
log_keep(const unsigned char *p, size_t n)
{
	if (p[0] >= 0x80)
		return utf8_len(p, n);
	return p[0] >= 0x20 && p[0] != 0x7f && p[0] != '\\' ? 1 : 0;
}

/* The length snprintf() wrote at at (result k) into a buffer of size. */
static size_t
fmt_end(int k, size_t at, size_t size)
{
	if (k < 0)
		return at;
	return at + (size_t)k < size ? at + (size_t)k : size - 1;
}

/*
 * Copies the n bytes at in to out (room for size bytes, size > 0) with
 * every byte below 0x20, 0x7f, the backslash, and every byte that is not
 * part of valid UTF-8 (C1 controls included) written as \xNN, so that a
 * line holds exactly what was logged and nothing else. Valid UTF-8 is
 * kept. Stops before an escape or character that would not fit whole.
 * NUL-terminates out and returns its length.
 */
size_t
log_escape(char *out, size_t size, const char *in, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)in;
	size_t i = 0, o = 0, k;

	while (i < n) {
		k = log_keep(p + i, n - i);
		if (k > 0) {
			if (o + k >= size)
				break;
			memcpy(out + o, p + i, k);
			o += k;
			i += k;
			continue;
		}
		if (o + 4 >= size)
			break;
		out[o++] = '\\';
		out[o++] = 'x';
		out[o++] = hex[p[i] >> 4];
		out[o++] = hex[p[i] & 0x0f];
		i++;
	}
	out[o] = '\0';
	return o;
}

static void log_vwrite(int level, const char *event, const struct log_fields *f,
    const char *errstr, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

/* A line of the text format: timestamp, level, the escaped message. */
static size_t
log_text_line(char *line, size_t size, const char *ts, const char *level,
    const char *msg, size_t m)
{
	int k;
	size_t n;

	k = snprintf(line, size, "%s %s: ", ts, level);
	n = fmt_end(k, 0, size);
	n += log_escape(line + n, size - n - 1, msg, m);
	line[n++] = '\n';
	return n;
}

static void
log_vwrite(int level, const char *event, const struct log_fields *f,
    const char *errstr, const char *fmt, va_list ap)
{
	static const char *const names[] = {
		[LOG_EMERG] = "emerg",
		[LOG_ALERT] = "alert",
		[LOG_CRIT] = "crit",
		[LOG_ERR] = "error",
		[LOG_WARNING] = "warning",
		[LOG_NOTICE] = "notice",
		[LOG_INFO] = "info",
		[LOG_DEBUG] = "debug",
	};
	char msg[2048], ts[40], line[LOG_LINE_MAX];
	struct timespec now;
	struct tm tm;
	size_t n, m;
	int k;

	if (!log_level_enabled(level))
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - n, ".%03ldZ", now.tv_nsec / 1000000);
	/* Every caller va_start()s ap (log_warn() and the others below);
	 * clang-tidy 14's valist checker loses that across the call. */
	k = vsnprintf(msg, sizeof(msg), fmt, // NOLINT(*valist.Uninitialized)
	    ap);
	m = fmt_end(k, 0, sizeof(msg));
	if (errstr != NULL) {
		k = snprintf(msg + m, sizeof(msg) - m, ": %s", errstr);
		m = fmt_end(k, m, sizeof(msg));
	}
	if (__atomic_load_n(&log_fmt, __ATOMIC_RELAXED) == LOG_FMT_JSON)
		n = log_json_line(line, sizeof(line),
		    &(const struct log_head) { ts, names[level],
			event != NULL ? event : "log",
			__atomic_load_n(&log_node, __ATOMIC_ACQUIRE) },
		    f, msg, m);
	else
		n = log_text_line(line, sizeof(line), ts, names[level], msg, m);
	(void)!write(STDERR_FILENO, line, n);
}

/*
 * An event (README "Logs"): in text the message alone, exactly as
 * log_info() would write it; in JSON also its name and the fields of f
 * (NULL: none).
 */
void
log_ev(int level, const char *event, const struct log_fields *f,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(level, event, f, NULL, fmt, ap);
	va_end(ap);
}

/* A warning with strerror(errno) appended. */
void
log_warn(const char *fmt, ...)
{
	const char *e = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, NULL, NULL, e, fmt, ap);
	va_end(ap);
}

/* A warning. */
void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, NULL, NULL, NULL, fmt, ap);
	va_end(ap);
}

/* An informational line: one per request, start-up, shutdown. */
void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_INFO, NULL, NULL, NULL, fmt, ap);
	va_end(ap);
}

/* Detail for troubleshooting. */
void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_DEBUG, NULL, NULL, NULL, fmt, ap);
	va_end(ap);
}
