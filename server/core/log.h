/*
 * The log sink: one line per event on stderr, with a level gate, as text
 * for people or as one JSON object per line (README "Logs"). Only server/
 * logs; library modules report through struct gw_err.
 * Never pass a challenge, a password or key material to these functions.
 */
#ifndef GW_LOG_H
#define GW_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

enum log_format {
	LOG_FMT_TEXT, /* "2026-12-06T20:00:00.000Z info: message" */
	LOG_FMT_JSON, /* {"ts":…,"level":…,"event":…,…,"msg":…} */
	LOG_FMT__MAX
};

/*
 * The structured part of an event (log_ev()): each field is written in
 * JSON when set (non-NULL; numbers when their has_ flag is set), in the
 * order of this struct, and never in text, whose message already says
 * what matters. Values from the network are passed as they are; the sink
 * escapes them.
 */
struct log_fields {
	const char *txid;      /* SCEP transactionID */
	const char *peer;      /* the client's address */
	const char *op;	       /* SCEP operation (GetCACaps, PKIOperation…) */
	const char *msg_type;  /* SCEP messageType (PKCSReq, CertPoll…) */
	const char *cn;	       /* the subject CN asked for */
	const char *profile;   /* [profile NAME] */
	const char *user;      /* NDES page user */
	const char *order_id;  /* GlobalSign OrderID */
	const char *serial;    /* certificate serial, hex */
	const char *fail_info; /* SCEP failInfo name */
	const char *status;    /* SUCCESS, FAILURE, PENDING; HTTP status */
	const char *reason;    /* why, in a few words */
	const char *from_node; /* another gateway (a takeover) */
	long long duration_ms; /* with has_duration */
	long long count;       /* with has_count */
	int http_status;       /* 0: none */
	bool has_duration;
	bool has_count;
};

/* The fields of a call: log_ev(LOG_INFO, "x", LOG_F(.txid = t), …). */
#define LOG_F(...) (&(const struct log_fields) { __VA_ARGS__ })

void log_init(int level);
void log_format_set(enum log_format format);
void log_node_set(const char *node);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_ev(int level, const char *event, const struct log_fields *f,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int log_level_enabled(int level);
size_t log_escape(char *out, size_t size, const char *in, size_t n);
size_t log_json_str(char *out, size_t size, const char *in, size_t n);

#endif
