/*
 * The log sink: one line per event on stderr, with a level
 * gate. Only server/ logs; library modules report through struct gw_err.
 * Never pass a challenge, a password or key material to these functions.
 */
#ifndef GW_LOG_H
#define GW_LOG_H

#include <stddef.h>
#include <syslog.h>

void log_init(int level);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int log_level_enabled(int level);
size_t log_escape(char *out, size_t size, const char *in, size_t n);

#endif
