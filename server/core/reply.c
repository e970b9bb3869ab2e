/*
 * What both listeners (the SCEP listener of http/ and the admin listener
 * of admin/) send with: a response whose bytes are wiped when
 * libmicrohttpd is done with them, the client's address, and the parsing
 * of the address each listens on.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "buf.h"
#include "gw_err.h"
#include "reply.h"
#include "secure.h"

/* Response bytes that are wiped before they are freed. */
struct reply_body {
	size_t len;
	uint8_t data[];
};

/* libmicrohttpd's free callback for an reply_body. */
static void
reply_body_free(void *cls)
{
	struct reply_body *b = cls;

	gw_cleanse(b->data, b->len);
	free(b);
}

/*
 * Queues a response: status, content type, a copy of len bytes of body
 * (wiped when libmicrohttpd frees it), and extra headers given as a
 * NULL-terminated list of name, value pairs (or NULL). Returns MHD's
 * answer.
 */
enum MHD_Result
gw_respond(struct MHD_Connection *conn, unsigned status, const char *ctype,
    const void *body, size_t len, const char *const *headers)
{
	struct MHD_Response *resp = NULL;
	struct reply_body *b;
	enum MHD_Result rc = MHD_NO;
	size_t i;

	if ((b = malloc(sizeof(*b) + len + 1)) == NULL)
		return MHD_NO;
	b->len = len;
	if (len > 0)
		memcpy(b->data, body, len);
	resp = MHD_create_response_from_buffer_with_free_callback_cls(len,
	    b->data, reply_body_free, b);
	if (resp == NULL) {
		reply_body_free(b);
		return MHD_NO;
	}
	if (ctype != NULL &&
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		ctype) == MHD_NO)
		goto out;
	for (i = 0; headers != NULL && headers[i] != NULL; i += 2)
		if (MHD_add_response_header(resp, headers[i], headers[i + 1]) ==
		    MHD_NO)
			goto out;
	rc = MHD_queue_response(conn, status, resp);
out:
	MHD_destroy_response(resp);
	return rc;
}

/* The state of gw_header_join() while MHD walks the headers. */
struct hdr_join {
	const char *name;
	struct buf *b;
	bool bad;
};

/* MHD_get_connection_values() callback: adds one line of the header. */
static enum MHD_Result
hdr_join_add(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct hdr_join *j = cls;

	(void)kind;
	if (strcasecmp(key, j->name) != 0 || value == NULL)
		return MHD_YES;
	if ((j->b->len > 0 && buf_add(j->b, ",", 1) == -1) ||
	    buf_addstr(j->b, value) == -1) {
		j->bad = true;
		return MHD_NO;
	}
	return MHD_YES;
}

/*
 * Joins every line of the request header name with commas into b (its
 * cap bounds them), NUL-terminated; as RFC 9110 section 5.3 allows for a
 * list header such as X-Forwarded-For. Returns the length, 0 when the
 * header is absent, or -1 when the lines do not fit: a header longer than
 * the cap is unreadable, never cut.
 */
int
gw_header_join(struct MHD_Connection *conn, const char *name, struct buf *b)
{
	struct hdr_join j = { .name = name, .b = b, .bad = false };

	MHD_get_connection_values(conn, MHD_HEADER_KIND, hdr_join_add, &j);
	if (j.bad || buf_add(b, "", 1) == -1)
		return -1;
	b->len--;
	return (int)b->len;
}

/* Writes the client's address (or "?") into out, for logs and limits. */
void
gw_peer(struct MHD_Connection *conn, char *out, size_t n)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	snprintf(out, n, "?");
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET,
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    out, (socklen_t)n);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    out, (socklen_t)n);
}

/*
 * Parses a listener's "host:port" or "[v6]:port" ([server] listen,
 * [admin] listen) into a socket address. Returns 0, or -1 with err set.
 */
int
gw_listen_parse(const char *listen, struct sockaddr_storage *ss,
    struct gw_err *err)
{
	struct addrinfo hints, *res = NULL;
	const char *colon, *h = listen;
	char host[256];
	size_t hl;
	int rc;

	colon = strrchr(listen, ':');
	if (colon == NULL || colon == listen) {
		gw_err_set(err, 0, "\"%s\": expected host:port", listen);
		return -1;
	}
	hl = (size_t)(colon - listen);
	if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl >= sizeof(host)) {
		gw_err_set(err, 0, "\"%s\": host too long", listen);
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, colon + 1, &hints, &res)) != 0) {
		gw_err_set(err, 0, "\"%s\": %s", listen, gai_strerror(rc));
		return -1;
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}
