/*
 * The JSON format of the log (README "Logs"): one object per line, keys
 * in a fixed order (ts, level, event, node, the fields of struct
 * log_fields that are set, msg). Strings are encoded here, not by the
 * caller: a decoded value reads exactly as the text format shows it
 * (log_escape(): bytes below 0x20, 0x7f, the backslash and every byte
 * that is not part of valid UTF-8 as the four characters \xNN), so
 * whatever a client sent, each line is valid JSON in valid UTF-8 and a
 * value can neither end its string nor its line.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "log_int.h"

/* A line being written: size bytes at p, n used, reserve kept for the end. */
struct jbuf {
	char *p;
	size_t size;
	size_t n;
	size_t reserve;
};

/*
 * Writes the n bytes at in to out (room for size bytes, size >= 3) as one
 * JSON string, quotes included: kept bytes as they are (a quote as \"),
 * escaped ones as \\xNN. Stops before an item that would not fit whole,
 * so a cut string is still valid JSON and valid UTF-8. NUL-terminates out
 * and returns its length.
 */
size_t
log_json_str(char *out, size_t size, const char *in, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)in;
	size_t i = 0, o = 1, k;

	out[0] = '"';
	while (i < n) {
		k = log_keep(p + i, n - i);
		if (k == 1 && p[i] == '"') {
			if (o + 4 > size)
				break;
			out[o++] = '\\';
			out[o++] = '"';
		} else if (k > 0) {
			if (o + k + 2 > size)
				break;
			memcpy(out + o, p + i, k);
			o += k;
		} else {
			if (o + 7 > size)
				break;
			memcpy(out + o, "\\\\x", 3);
			out[o + 3] = hex[p[i] >> 4];
			out[o + 4] = hex[p[i] & 0x0f];
			o += 5;
			k = 1;
		}
		i += k;
	}
	out[o++] = '"';
	out[o] = '\0';
	return o;
}

/* Room left for a value after the reserve and the NUL. */
static size_t
jbuf_room(const struct jbuf *b)
{
	size_t used = b->n + b->reserve + 1;

	return used < b->size ? b->size - used : 0;
}

/* Appends the raw text s when it fits whole; 0, or -1 (nothing written). */
static int
jbuf_raw(struct jbuf *b, const char *s)
{
	size_t len = strlen(s);

	if (len > jbuf_room(b))
		return -1;
	memcpy(b->p + b->n, s, len + 1);
	b->n += len;
	return 0;
}

/* Appends ,"key":"value" (value cut to max bytes of JSON); NULL: nothing. */
static void
jbuf_str(struct jbuf *b, const char *key, const char *v, size_t vlen,
    size_t max)
{
	char k[40];
	size_t room;

	if (v == NULL)
		return;
	snprintf(k, sizeof(k), "%s\"%s\":", b->n > 1 ? "," : "", key);
	if (jbuf_raw(b, k) == -1)
		return;
	room = jbuf_room(b) + 1; /* log_json_str() counts the NUL */
	if (room > max)
		room = max;
	if (room < 3) {
		b->n -= strlen(k); /* no room for the value: no key either */
		b->p[b->n] = '\0';
		return;
	}
	b->n += log_json_str(b->p + b->n, room, v, vlen);
}

/* jbuf_str() of a NUL-terminated field. */
static void
jbuf_field(struct jbuf *b, const char *key, const char *v)
{
	if (v != NULL)
		jbuf_str(b, key, v, strlen(v), LOG_FIELD_MAX);
}

/* Appends ,"key":number when has is set. */
static void
jbuf_num(struct jbuf *b, const char *key, long long v, bool has)
{
	char s[64];

	if (!has)
		return;
	snprintf(s, sizeof(s), ",\"%s\":%lld", key, v);
	(void)jbuf_raw(b, s);
}

/* The optional fields, in the order of struct log_fields. */
static void
jbuf_fields(struct jbuf *b, const struct log_fields *f)
{
	jbuf_field(b, "txid", f->txid);
	jbuf_field(b, "peer", f->peer);
	jbuf_field(b, "op", f->op);
	jbuf_field(b, "msg_type", f->msg_type);
	jbuf_field(b, "cn", f->cn);
	jbuf_field(b, "profile", f->profile);
	jbuf_field(b, "user", f->user);
	jbuf_field(b, "order_id", f->order_id);
	jbuf_field(b, "serial", f->serial);
	jbuf_field(b, "fail_info", f->fail_info);
	jbuf_field(b, "status", f->status);
	jbuf_field(b, "reason", f->reason);
	jbuf_field(b, "from_node", f->from_node);
	jbuf_num(b, "duration_ms", f->duration_ms, f->has_duration);
	jbuf_num(b, "count", f->count, f->has_count);
	jbuf_num(b, "http_status", f->http_status, f->http_status != 0);
}

/*
 * Writes one JSON line (newline included, no NUL counted) to line (size
 * bytes, at least 64) and returns its length.
 */
size_t
log_json_line(char *line, size_t size, const struct log_head *h,
    const struct log_fields *f, const char *msg, size_t m)
{
	struct jbuf b = { line, size, 0, 2 };

	(void)jbuf_raw(&b, "{");
	jbuf_field(&b, "ts", h->ts);
	jbuf_field(&b, "level", h->level);
	jbuf_field(&b, "event", h->event);
	if (h->node != NULL && h->node[0] != '\0')
		jbuf_field(&b, "node", h->node);
	if (f != NULL)
		jbuf_fields(&b, f);
	jbuf_str(&b, "msg", msg, m, (size_t)-1);
	b.reserve = 0;
	(void)jbuf_raw(&b, "}\n");
	return b.n;
}
