/*
 * struct gw_err helpers. gw_err_set_ossl() drains the whole OpenSSL error
 * queue of the calling thread into the message, so no stale error survives
 * into the next request served by this thread.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "gw_err.h"

/* Resets an error report; accepts NULL. */
void
gw_err_clear(struct gw_err *err)
{
	if (err == NULL)
		return;
	err->code = 0;
	err->msg[0] = '\0';
}

/* Sets code and a printf-formatted message; accepts a NULL err. */
void
gw_err_set(struct gw_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

/*
 * Sets code and "what: <OpenSSL reasons>", draining the thread's OpenSSL
 * error queue; the queue is empty afterwards even when err is NULL.
 */
void
gw_err_set_ossl(struct gw_err *err, int code, const char *what)
{
	char reason[128];
	unsigned long e;
	size_t len;

	if (err != NULL) {
		err->code = code;
		snprintf(err->msg, sizeof(err->msg), "%s", what);
	}
	while ((e = ERR_get_error()) != 0) {
		if (err == NULL)
			continue;
		ERR_error_string_n(e, reason, sizeof(reason));
		len = strlen(err->msg);
		if (len + 3 < sizeof(err->msg))
			snprintf(err->msg + len, sizeof(err->msg) - len, "%s%s",
			    len == strlen(what) ? ": " : "; ", reason);
	}
}
