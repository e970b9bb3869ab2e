/*
 * Logging to stderr (journald picks it up under systemd): an ISO-8601 UTC
 * timestamp, the level and the message, written with one write(2) so lines
 * from concurrent threads never interleave.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int log_max =
    LOG_INFO; /* the one mutable global besides the stop flag */

/* Sets the most verbose level that is written (LOG_ERR .. LOG_DEBUG). */
void
log_init(int level)
{
	log_max = level;
}

/* True when messages of this level are written. */
int
log_level_enabled(int level)
{
	return level <= log_max;
}

static void log_vwrite(int level, const char *errstr, const char *fmt,
    va_list ap) __attribute__((format(printf, 3, 0)));

static void
log_vwrite(int level, const char *errstr, const char *fmt, va_list ap)
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
	char line[2048];
	struct timespec ts;
	struct tm tm;
	size_t n;
	int k;

	if (level > log_max)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	k = snprintf(line + n, sizeof(line) - n,
	    ".%03ldZ %s: ", ts.tv_nsec / 1000000, names[level]);
	n += (size_t)k;
	k = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	n = k < 0 ? n : n + (size_t)k;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	if (errstr != NULL) {
		k = snprintf(line + n, sizeof(line) - n, ": %s", errstr);
		n = k < 0 ? n : n + (size_t)k;
		if (n > sizeof(line) - 2)
			n = sizeof(line) - 2;
	}
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}

/* A warning with strerror(errno) appended. */
void
log_warn(const char *fmt, ...)
{
	const char *e = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, e, fmt, ap);
	va_end(ap);
}

/* A warning. */
void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, NULL, fmt, ap);
	va_end(ap);
}

/* An informational line: one per request, start-up, shutdown. */
void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_INFO, NULL, fmt, ap);
	va_end(ap);
}

/* Detail for troubleshooting. */
void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_DEBUG, NULL, fmt, ap);
	va_end(ap);
}
