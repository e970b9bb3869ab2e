/*
 * One HTTP exchange of the Intune client (libcurl, blocking, on the
 * calling worker's easy handle so connections are reused): TLS always
 * verified against [intune] ca_file or the system store, no redirects,
 * the answer bounded, the time bounded by the call's deadline. Headers
 * are per request (never shared between calls).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "buf.h"
#include "intune_int.h"

#define INTUNE_CONNECT_MAX_MS 10000

/* Monotonic milliseconds. */
int64_t
intune_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Monotonic seconds. */
int64_t
intune_now(void)
{
	return intune_now_ms() / 1000;
}

/*
 * Waits until the monotonic time until_ms, or less when the client is
 * being freed. Returns false when it was cut short.
 */
bool
intune_sleep_until(struct intune *in, int64_t until_ms)
{
	bool stop;

	pthread_mutex_lock(&in->mu);
	while (!in->stop && intune_wait_until(in, until_ms))
		;
	stop = in->stop;
	pthread_mutex_unlock(&in->mu);
	return !stop;
}

/*
 * Waits on in->cv (mu held) until it is signalled or deadline_ms passes;
 * false when the deadline had passed already.
 */
bool
intune_wait_until(struct intune *in, int64_t deadline_ms)
{
	struct timespec ts;
	int64_t left = deadline_ms - intune_now_ms();

	if (left <= 0)
		return false;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += left / 1000;
	ts.tv_nsec += (left % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&in->cv, &in->mu, &ts);
	return true;
}

/* Collects the answer up to its ceiling; 0 stops the transfer. */
static size_t
http_write(char *p, size_t size, size_t n, void *arg)
{
	struct intune_http *h = arg;

	return buf_add(&h->resp, p, size * n) == -1 ? 0 : size * n;
}

/*
 * Runs one exchange on *easy (made on first use, kept by the caller for
 * its next exchange). Returns 0 when an answer arrived (any status), -1
 * when none did (h->curl and h->errbuf say why).
 */
int
intune_http_do(struct intune *in, CURL **easy, int64_t deadline_ms,
    struct intune_http *h)
{
	struct curl_slist *hdrs = NULL, *l;
	int64_t left = deadline_ms - intune_now_ms();
	CURLcode rc = CURLE_OK;
	CURL *e;
	size_t i;

	h->status = 0;
	h->errbuf[0] = '\0';
	buf_init(&h->resp, INTUNE_MAX_RESPONSE);
	if (left <= 0) {
		h->curl = CURLE_OPERATION_TIMEDOUT;
		snprintf(h->errbuf, sizeof(h->errbuf), "no time left");
		return -1;
	}
	if (*easy == NULL && (*easy = curl_easy_init()) == NULL) {
		h->curl = CURLE_OUT_OF_MEMORY;
		return -1;
	}
	e = *easy;
	curl_easy_reset(e);
	for (i = 0; h->headers != NULL && h->headers[i] != NULL; i++) {
		if ((l = curl_slist_append(hdrs, h->headers[i])) == NULL) {
			rc = CURLE_OUT_OF_MEMORY;
			break;
		}
		hdrs = l;
	}
#define SETOPT(opt, val)                                    \
	do {                                                \
		if (rc == CURLE_OK)                         \
			rc = curl_easy_setopt(e, opt, val); \
	} while (0)
	SETOPT(CURLOPT_URL, h->url);
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	SETOPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (in->ca_file != NULL)
		SETOPT(CURLOPT_CAINFO, in->ca_file);
	SETOPT(CURLOPT_TIMEOUT_MS, (long)left);
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(left < INTUNE_CONNECT_MAX_MS ? left :
						  INTUNE_CONNECT_MAX_MS));
	SETOPT(CURLOPT_USERAGENT, INTUNE_CALLER);
	SETOPT(CURLOPT_HTTPHEADER, hdrs);
	if (strcmp(h->method, "POST") == 0) {
		SETOPT(CURLOPT_POST, 1L);
		SETOPT(CURLOPT_POSTFIELDS, h->body != NULL ? h->body : "");
		SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)h->body_len);
	} else
		SETOPT(CURLOPT_HTTPGET, 1L);
	SETOPT(CURLOPT_WRITEFUNCTION, http_write);
	SETOPT(CURLOPT_WRITEDATA, h);
	SETOPT(CURLOPT_ERRORBUFFER, h->errbuf);
#undef SETOPT
	if (rc == CURLE_OK)
		rc = curl_easy_perform(e);
	if (rc == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &h->status);
	/* The handle outlives the list: it must not point at it. */
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(hdrs);
	h->curl = rc;
	if (rc != CURLE_OK && h->errbuf[0] == '\0')
		snprintf(h->errbuf, sizeof(h->errbuf), "%s",
		    curl_easy_strerror(rc));
	return rc == CURLE_OK ? 0 : -1;
}

/* Frees the answer. */
void
intune_http_cleanup(struct intune_http *h)
{
	buf_cleanup(&h->resp);
}

/*
 * Whether the exchange failed before reaching the service (name, connect,
 * TLS, reset): the service's URL may have moved (README "Microsoft
 * Intune").
 */
bool
intune_http_conn_failed(const struct intune_http *h)
{
	switch (h->curl) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
		return true;
	default:
		return false;
	}
}

/* r = UNAVAILABLE with what failed and curl's reason (no secret in it). */
void
intune_http_reason(const struct intune_http *h, const char *what,
    struct intune_result *r)
{
	intune_result_set(r, INTUNE_UNAVAILABLE, h->status, "", "%s: %s", what,
	    h->errbuf);
}
