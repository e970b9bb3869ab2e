/*
 * Private to the intune room: the client object, one HTTP exchange, the
 * token and discovery caches, the ScepActions calls and the formats.
 */
#ifndef GW_INTUNE_INT_H
#define GW_INTUNE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "buf.h"
#include "intune.h"

#ifndef GW_VERSION
#define GW_VERSION "0"
#endif
#define INTUNE_CALLER "scepgw/" GW_VERSION

#define INTUNE_WORKERS 4	      /* threads running calls */
#define INTUNE_QUEUE_MAX 4096	      /* submitted calls waiting at most */
#define INTUNE_MAX_RESPONSE (1 << 20) /* largest answer read */
#define INTUNE_RETRIES 2	      /* after a transient failure */
#define INTUNE_DISCO_TTL_S 86400      /* the service URL is looked up again */
#define INTUNE_REFRESH_MARGIN_S 300   /* a token is renewed this early */

/* The two token scopes (README "Microsoft Intune"). */
enum intune_scope { INTUNE_SCOPE_GRAPH, INTUNE_SCOPE_INTUNE, INTUNE_SCOPE__N };

/*
 * How a step ended: OK, a failure worth another try (transport, 5xx,
 * timeout, an unreadable answer), or a final one (4xx, a refusal).
 */
enum intune_step { STEP_OK, STEP_RETRY, STEP_FAIL };

/* One cached token and the request in flight for it (single flight). */
struct intune_token {
	char *access;	    /* NULL when none; a secret, never logged */
	int64_t refresh_at; /* monotonic seconds: get a new one from then */
	bool fetching;	    /* a request is in flight */
	uint64_t flight;    /* finished requests, for the waiters */
	struct intune_result last; /* the last request's failure */
	enum intune_step last_step;
};

/* The service URL from discovery, and the lookup in flight. */
struct intune_disco {
	char *uri; /* no trailing '/'; NULL when unknown */
	int64_t expires;
	bool fetching;
	uint64_t flight;
	struct intune_result last;
	enum intune_step last_step;
};

struct intune_job;

struct intune {
	/* Copies of the configuration, valid for the client's life. */
	char *tenant, *client_id, *secret_file, *authority, *graph_url;
	char *intune_resource, *app_id, *api_version, *ca_file;
	char *token_url; /* authority + tenant + /oauth2/v2.0/token */
	long timeout_s;
	X509 *cert;    /* client assertion, or NULL: the secret */
	EVP_PKEY *key; /* its key */
	char x5t[64], x5t256[64];

	pthread_mutex_t mu; /* guards everything below */
	pthread_cond_t cv;  /* caches and the queue changed */
	struct intune_token tok[INTUNE_SCOPE__N];
	struct intune_disco disco;
	struct intune_job *head, *tail; /* submitted, not started */
	struct intune_job *last_note;	/* the last notification queued:
					   notifications go ahead of the
					   validations (intune_submit()) */
	size_t queued;
	size_t running;
	bool stop;
	pthread_t threads[INTUNE_WORKERS];
	size_t nthreads;
};

/* One HTTP exchange's request and answer. */
struct intune_http {
	const char *method; /* "GET" or "POST" */
	const char *url;
	const char *const *headers; /* NULL-terminated; may be NULL */
	const char *body;	    /* POST body, or NULL */
	size_t body_len;
	long status;	 /* answer: HTTP status, 0 if none */
	struct buf resp; /* answer: body */
	CURLcode curl;	 /* answer: transport result */
	char errbuf[CURL_ERROR_SIZE];
};

/* intune_http.c */
int64_t intune_now(void);
int intune_http_do(struct intune *in, CURL **easy, int64_t deadline_ms,
    struct intune_http *h);
void intune_http_cleanup(struct intune_http *h);
bool intune_http_conn_failed(const struct intune_http *h);
void intune_http_reason(const struct intune_http *h, const char *what,
    struct intune_result *r);
int64_t intune_now_ms(void);
bool intune_sleep_until(struct intune *in, int64_t until_ms);
bool intune_wait_until(struct intune *in, int64_t deadline_ms);

/* intune_token.c */
enum intune_step intune_token_get(struct intune *in, CURL **easy,
    enum intune_scope s, int64_t deadline_ms, char **tok,
    struct intune_result *r);
void intune_token_drop(struct intune *in, enum intune_scope s, const char *tok);
enum intune_step intune_token_fetch(struct intune *in, CURL **easy,
    enum intune_scope s, int64_t deadline_ms, char **tok, int64_t *life,
    struct intune_result *r);
int intune_assertion_prepare(struct intune *in, struct gw_err *err);

/* intune_disco.c */
enum intune_step intune_disco_get(struct intune *in, CURL **easy,
    int64_t deadline_ms, char **uri, struct intune_result *r);
void intune_disco_drop(struct intune *in, const char *uri);
enum intune_step intune_disco_fetch(struct intune *in, CURL **easy,
    const char *tok, int64_t deadline_ms, char **uri, struct intune_result *r);

/* intune_scep.c: one ScepActions call with its retries. */
enum intune_step intune_scep_post(struct intune *in, CURL **easy,
    const char *uri, const char *tok, const char *op, const char *body,
    int64_t deadline_ms, struct intune_result *r);
void intune_scep_call(struct intune *in, CURL **easy, const char *op,
    const char *body, struct intune_result *r);

/* intune_fmt.c */
char *intune_b64(const uint8_t *p, size_t n, bool url);
void intune_uuid(char out[37]);
size_t intune_utf8_cut(const char *s, size_t max);
char *intune_body_validate(const char *txid, const uint8_t *csr,
    size_t csr_len);
char *intune_body_success(const char *txid, const uint8_t *csr, size_t csr_len,
    const X509 *cert, struct gw_err *err);
char *intune_body_failure(const char *txid, const uint8_t *csr, size_t csr_len,
    long hresult, const char *description);
void intune_result_set(struct intune_result *r, enum intune_outcome o,
    long status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
