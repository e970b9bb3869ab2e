/*
 * scepreq's HTTP side: GET and POST over libcurl with the request headers,
 * local address and TLS trust of the command line, the SCEP URL's
 * operation= and message= parameters, and the message= encodings of
 * real clients.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "buf.h"
#include "scepreq.h"

#define HTTP_MAX (4 * 1024 * 1024)

/* The HTTP options of the command line (scepreq.h), set by opt_value(). */
const char *headers_out;
const char *extra_headers[EXTRA_HEADERS_MAX];
size_t nextra_headers;
const char *local_addr, *cacert;

/* curl header callback: appends the line to the file of --headers-out. */
static size_t
http_header(char *p, size_t size, size_t n, void *arg)
{
	FILE *f = arg;

	return fwrite(p, 1, size * n, f);
}

/* curl write callback: appends to a bounded buffer. */
static size_t
http_write(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	if (buf_add(b, p, size * n) == -1)
		return 0;
	return size * n;
}

/*
 * Performs a GET (data NULL) or POST of data to url. Returns 0 with the
 * reply, or -1 with a message on stderr when the transport failed.
 */
static int
http_do(const char *url, const uint8_t *data, size_t len, const char *ctype,
    struct http_reply *r)
{
	struct curl_slist *hdrs = NULL;
	FILE *hf = NULL;
	char hdr[256];
	size_t i;
	CURLcode cc;
	CURL *c;
	int rc = -1;

	buf_init(&r->body, HTTP_MAX);
	r->status = 0;
	if ((c = curl_easy_init()) == NULL)
		return -1;
	if (headers_out != NULL) {
		if ((hf = fopen(headers_out, "a")) == NULL) {
			fprintf(stderr, "scepreq: %s: cannot open\n",
			    headers_out);
			goto out;
		}
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, http_header);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, hf);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 300L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (local_addr != NULL)
		curl_easy_setopt(c, CURLOPT_INTERFACE, local_addr);
	if (cacert != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, cacert);
	for (i = 0; i < nextra_headers; i++)
		hdrs = curl_slist_append(hdrs, extra_headers[i]);
	if (data != NULL) {
		snprintf(hdr, sizeof(hdr), "Content-Type:%s%s",
		    ctype[0] != '\0' ? " " : "", ctype);
		hdrs = curl_slist_append(hdrs, hdr);
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)len);
	}
	if (hdrs != NULL)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if ((cc = curl_easy_perform(c)) != CURLE_OK) {
		fprintf(stderr, "scepreq: %s: %s\n", url,
		    curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->status != 200) {
		fprintf(stderr, "scepreq: %s: HTTP %ld: %.200s\n", url,
		    r->status,
		    r->body.data != NULL ? (char *)r->body.data : "");
		goto out;
	}
	rc = 0;
out:
	if (hf != NULL)
		fclose(hf);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	if (rc == -1)
		buf_cleanup(&r->body);
	return rc;
}

/* base_url?operation=op[&message=msg]; the caller frees. */
static char *
url_make(const char *base, const char *op, const char *msg)
{
	struct buf b;

	buf_init(&b, 0);
	if (buf_printf(&b, "%s%coperation=%s", base,
		strchr(base, '?') != NULL ? '&' : '?', op) == -1 ||
	    (msg != NULL && buf_printf(&b, "&message=%s", msg) == -1)) {
		buf_cleanup(&b);
		return NULL;
	}
	return (char *)buf_steal(&b, NULL);
}

/* GET ?operation=op; 0 or -1 with stderr. */
int
http_get_op(const struct opts *o, const char *op, struct http_reply *r)
{
	char *url;
	int rc;

	if ((url = url_make(o->url, op, NULL)) == NULL)
		return -1;
	rc = http_do(url, NULL, 0, NULL, r);
	free(url);
	return rc;
}

/*
 * The message= value for a base64 text, encoded the way one family of real
 * clients does it: "escaped" (RFC 3986, the default), "raw" (nothing
 * escaped: '+' arrives as a space), "half" (Apple: only '=' escaped),
 * "urlsafe" (base64url without padding), "space" ('+' sent as %20) or
 * "wrapped" (a %0A line break every 64 characters, sscep and Cisco). The
 * caller frees the result with free().
 */
static char *
get_value_make(CURL *c, const char *b64, const char *mode)
{
	struct buf b;
	char *esc;
	size_t i;

	buf_init(&b, 0);
	if (mode == NULL || strcmp(mode, "escaped") == 0) {
		if ((esc = curl_easy_escape(c, b64, 0)) == NULL)
			return NULL;
		buf_addstr(&b, esc);
		curl_free(esc);
		return (char *)buf_steal(&b, NULL);
	}
	for (i = 0; b64[i] != '\0'; i++) {
		if (strcmp(mode, "wrapped") == 0 && i > 0 && i % 64 == 0)
			buf_addstr(&b, "%0A");
		if (b64[i] == '=' && strcmp(mode, "urlsafe") == 0)
			continue;
		if (b64[i] == '=' && strcmp(mode, "raw") != 0)
			buf_addstr(&b, "%3D");
		else if (b64[i] == '+' && strcmp(mode, "urlsafe") == 0)
			buf_addstr(&b, "-");
		else if (b64[i] == '/' && strcmp(mode, "urlsafe") == 0)
			buf_addstr(&b, "_");
		else if (b64[i] == '+' && strcmp(mode, "space") == 0)
			buf_addstr(&b, "%20");
		else if ((b64[i] == '+' || b64[i] == '/') &&
		    strcmp(mode, "wrapped") == 0)
			buf_printf(&b, "%%%02X", (unsigned char)b64[i]);
		else
			buf_add(&b, &b64[i], 1);
	}
	return (char *)buf_steal(&b, NULL);
}

/* Sends a pkiMessage by POST, or by GET (base64, see get_value_make). */
int
http_pkioperation(const struct opts *o, const struct buf *msg,
    struct http_reply *r)
{
	unsigned char *b64 = NULL;
	char *esc = NULL, *url = NULL;
	CURL *c = NULL;
	int rc = -1;

	if (!o->get) {
		if ((url = url_make(o->url, "PKIOperation", NULL)) == NULL)
			return -1;
		rc = http_do(url, msg->data, msg->len, o->content_type, r);
		free(url);
		return rc;
	}
	if (msg->len > INT32_MAX / 2 ||
	    (b64 = malloc(msg->len / 3 * 4 + 8)) == NULL)
		goto out;
	EVP_EncodeBlock(b64, msg->data, (int)msg->len);
	if ((c = curl_easy_init()) == NULL ||
	    (esc = get_value_make(c, (char *)b64, o->get_encoding)) == NULL ||
	    (url = url_make(o->url, "PKIOperation", esc)) == NULL)
		goto out;
	rc = http_do(url, NULL, 0, NULL, r);
out:
	free(b64);
	free(url);
	free(esc);
	curl_easy_cleanup(c);
	return rc;
}
