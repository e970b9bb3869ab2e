/*
 * The Intune client object (intune.h): a copy of [intune], the token and
 * discovery caches, and a small pool of threads that run submitted calls.
 * A call is a short chain of blocking steps (token, discovery, POST, a
 * retry after a pause), so a few threads with a blocking libcurl handle
 * each are simpler to get right than a state machine on a curl multi
 * handle, and Intune sees a few calls per enrollment, not thousands at
 * once: INTUNE_WORKERS calls run at a time, the rest wait in a bounded
 * queue, notifications ahead of validations (a notification's device has
 * its certificate ordered already and waits for it). The submitter never
 * blocks on the network.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "config.h"
#include "gw_err.h"
#include "gw_thread.h"
#include "intune_int.h"
#include "secure.h"

/* A submitted call: its body is built by the submitter. */
struct intune_job {
	struct intune_job *next;
	const char *op;
	char *body;
	intune_done_fn *done;
	void *arg;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void
intune_curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void
job_free(struct intune_job *j)
{
	if (j == NULL)
		return;
	free(j->body);
	free(j);
}

/* A worker: runs queued calls until the client is freed. */
static void *
intune_worker(void *arg)
{
	struct intune *in = arg;
	struct intune_result r;
	struct intune_job *j;
	CURL *easy = NULL;
	bool stopping;

	gw_thread_name("scepgw-intune");
	pthread_mutex_lock(&in->mu);
	for (;;) {
		while (in->head == NULL && !in->stop)
			pthread_cond_wait(&in->cv, &in->mu);
		if ((j = in->head) == NULL)
			break;
		in->head = j->next;
		if (in->head == NULL)
			in->tail = NULL;
		if (in->last_note == j)
			in->last_note = NULL;
		in->queued--;
		in->running++;
		stopping = in->stop;
		pthread_mutex_unlock(&in->mu);
		if (stopping) {
			memset(&r, 0, sizeof(r));
			intune_result_set(&r, INTUNE_UNAVAILABLE, 0, "",
			    "%s: the Intune client is stopping", j->op);
		} else
			intune_scep_call(in, &easy, j->op, j->body, &r);
		j->done(j->arg, &r);
		job_free(j);
		pthread_mutex_lock(&in->mu);
		in->running--;
	}
	pthread_mutex_unlock(&in->mu);
	curl_easy_cleanup(easy);
	return NULL;
}

/* Frees the client's copies and caches (threads already joined). */
static void
intune_release(struct intune *in)
{
	size_t i;

	free(in->tenant);
	free(in->client_id);
	free(in->secret_file);
	free(in->authority);
	free(in->graph_url);
	free(in->intune_resource);
	free(in->app_id);
	free(in->api_version);
	free(in->ca_file);
	free(in->token_url);
	X509_free(in->cert);
	EVP_PKEY_free(in->key);
	for (i = 0; i < INTUNE_SCOPE__N; i++)
		gw_secret_free(in->tok[i].access);
	free(in->disco.uri);
	pthread_cond_destroy(&in->cv);
	pthread_mutex_destroy(&in->mu);
	free(in);
}

/* Copies the configuration into in; 0 or -1 (out of memory). */
static int
intune_copy_conf(struct intune *in, const struct gw_intune_conf *c)
{
	size_t n;

	in->tenant = gw_strdup(c->tenant);
	in->client_id = gw_strdup(c->client_id);
	in->secret_file = gw_strdup(c->client_secret_file);
	in->authority = gw_strdup(c->authority);
	in->graph_url = gw_strdup(c->graph_url);
	in->intune_resource = gw_strdup(c->intune_resource);
	in->app_id = gw_strdup(c->intune_app_id);
	in->api_version = gw_strdup(c->api_version);
	in->ca_file = gw_strdup(c->ca_file);
	in->timeout_s = c->timeout_seconds;
	if (in->tenant == NULL || in->client_id == NULL ||
	    in->authority == NULL || in->graph_url == NULL ||
	    in->intune_resource == NULL || in->app_id == NULL ||
	    in->api_version == NULL ||
	    (c->client_secret_file != NULL && in->secret_file == NULL) ||
	    (c->ca_file != NULL && in->ca_file == NULL))
		return -1;
	n = strlen(in->authority) + strlen(in->tenant) + 32;
	if ((in->token_url = malloc(n)) == NULL)
		return -1;
	snprintf(in->token_url, n, "%s%s/oauth2/v2.0/token", in->authority,
	    in->tenant);
	return 0;
}

/*
 * A new client of the configured [intune] section (config_intune()); its
 * threads run until intune_free(). Returns 0, or -1 with err.
 */
int
intune_new(struct intune **out, const struct gw_intune_conf *c,
    struct gw_err *err)
{
	struct intune *in;
	size_t i;

	*out = NULL;
	if (c == NULL || !c->configured) {
		gw_err_set(err, EINVAL, "intune: [intune] is not configured");
		return -1;
	}
	pthread_once(&curl_once, intune_curl_init);
	if (curl_init_rc != CURLE_OK) {
		gw_err_set(err, EIO, "intune: libcurl: %s",
		    curl_easy_strerror(curl_init_rc));
		return -1;
	}
	if ((in = calloc(1, sizeof(*in))) == NULL) {
		gw_err_set(err, ENOMEM, "intune: out of memory");
		return -1;
	}
	pthread_mutex_init(&in->mu, NULL);
	pthread_cond_init(&in->cv, NULL);
	if (intune_copy_conf(in, c) != 0) {
		gw_err_set(err, ENOMEM, "intune: out of memory");
		goto fail;
	}
	if (c->client_secret_file == NULL &&
	    (config_intune_credential_load(c, &in->cert, &in->key, err) != 0 ||
		intune_assertion_prepare(in, err) != 0))
		goto fail;
	/* Read at every token request; refused now if it cannot be. */
	if (c->client_secret_file != NULL) {
		char *secret = NULL;

		if (config_intune_secret_read(c->client_secret_file, &secret,
			err) != 0)
			goto fail;
		gw_secret_free(secret);
	}
	for (i = 0; i < INTUNE_WORKERS; i++) {
		if (pthread_create(&in->threads[i], NULL, intune_worker, in) !=
		    0) {
			gw_err_set(err, EAGAIN,
			    "intune: cannot start a thread");
			intune_free(in);
			return -1;
		}
		in->nthreads++;
	}
	*out = in;
	return 0;
fail:
	intune_release(in);
	return -1;
}

/*
 * Stops the client: calls in flight finish (no further retries), calls
 * still queued end INTUNE_UNAVAILABLE; every callback has run when this
 * returns. Accepts NULL.
 */
void
intune_free(struct intune *in)
{
	size_t i;

	if (in == NULL)
		return;
	pthread_mutex_lock(&in->mu);
	in->stop = true;
	pthread_cond_broadcast(&in->cv);
	pthread_mutex_unlock(&in->mu);
	for (i = 0; i < in->nthreads; i++)
		pthread_join(in->threads[i], NULL);
	intune_release(in);
}

/* Queues a call with its body (taken); 0, or -1 with err (body freed). */
static int
intune_submit(struct intune *in, const char *op, char *body,
    intune_done_fn *done, void *arg, struct gw_err *err)
{
	struct intune_job *j, **pp;

	if (body == NULL) {
		if (err->msg[0] == '\0')
			gw_err_set(err, ENOMEM,
			    "intune: cannot build the %s body", op);
		return -1;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		free(body);
		gw_err_set(err, ENOMEM, "intune: out of memory");
		return -1;
	}
	j->op = op;
	j->body = body;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&in->mu);
	if (in->stop || in->queued >= INTUNE_QUEUE_MAX) {
		pthread_mutex_unlock(&in->mu);
		gw_err_set(err, in->stop ? ESHUTDOWN : EAGAIN, "intune: %s",
		    in->stop ? "the client is stopping" :
			       "too many calls waiting");
		job_free(j);
		return -1;
	}
	if (strcmp(op, "validateRequest") != 0) {
		/* A notification finishes a certificate already paid for,
		 * whose device waits: ahead of the validations waiting (new
		 * work), behind the notifications queued before it. */
		pp = in->last_note != NULL ? &in->last_note->next : &in->head;
		j->next = *pp;
		*pp = j;
		if (j->next == NULL)
			in->tail = j;
		in->last_note = j;
	} else {
		if (in->tail != NULL)
			in->tail->next = j;
		else
			in->head = j;
		in->tail = j;
	}
	in->queued++;
	pthread_cond_broadcast(&in->cv);
	pthread_mutex_unlock(&in->mu);
	return 0;
}

/* The arguments every call checks; 0, or -1 with err. */
static int
intune_args(struct intune *in, const char *txid, const uint8_t *csr,
    size_t csr_len, struct gw_err *err)
{
	gw_err_clear(err);
	if (in == NULL || txid == NULL || txid[0] == '\0' || csr == NULL ||
	    csr_len == 0) {
		gw_err_set(err, EINVAL,
		    "intune: a call needs the transactionID and the CSR");
		return -1;
	}
	return 0;
}

int
intune_validate_submit(struct intune *in, const char *txid, const uint8_t *csr,
    size_t csr_len, intune_done_fn *done, void *arg, struct gw_err *err)
{
	if (intune_args(in, txid, csr, csr_len, err) != 0)
		return -1;
	return intune_submit(in, "validateRequest",
	    intune_body_validate(txid, csr, csr_len), done, arg, err);
}

int
intune_success_submit(struct intune *in, const char *txid, const uint8_t *csr,
    size_t csr_len, const X509 *cert, intune_done_fn *done, void *arg,
    struct gw_err *err)
{
	if (intune_args(in, txid, csr, csr_len, err) != 0)
		return -1;
	if (cert == NULL) {
		gw_err_set(err, EINVAL, "intune: no certificate to report");
		return -1;
	}
	return intune_submit(in, "successNotification",
	    intune_body_success(txid, csr, csr_len, cert, err), done, arg, err);
}

int
intune_failure_submit(struct intune *in, const char *txid, const uint8_t *csr,
    size_t csr_len, long hresult, const char *description, intune_done_fn *done,
    void *arg, struct gw_err *err)
{
	if (intune_args(in, txid, csr, csr_len, err) != 0)
		return -1;
	return intune_submit(in, "failureNotification",
	    intune_body_failure(txid, csr, csr_len, hresult, description), done,
	    arg, err);
}

/* Runs a call on the caller's thread; 0 when Intune said Success. */
static int
intune_call(struct intune *in, const char *op, char *body,
    const struct gw_err *err, struct intune_result *out)
{
	CURL *easy = NULL;

	memset(out, 0, sizeof(*out));
	if (body == NULL) {
		intune_result_set(out, INTUNE_UNAVAILABLE, 0, "", "%s",
		    err->msg[0] != '\0' ? err->msg :
					  "intune: cannot build the body");
		return -1;
	}
	intune_scep_call(in, &easy, op, body, out);
	curl_easy_cleanup(easy);
	free(body);
	return out->outcome == INTUNE_OK ? 0 : -1;
}

int
intune_success_call(struct intune *in, const char *txid, const uint8_t *csr,
    size_t csr_len, const X509 *cert, struct intune_result *out)
{
	struct gw_err err;

	if (intune_args(in, txid, csr, csr_len, &err) != 0)
		return intune_call(in, "successNotification", NULL, &err, out);
	if (cert == NULL) {
		gw_err_set(&err, EINVAL, "intune: no certificate to report");
		return intune_call(in, "successNotification", NULL, &err, out);
	}
	return intune_call(in, "successNotification",
	    intune_body_success(txid, csr, csr_len, cert, &err), &err, out);
}

int
intune_failure_call(struct intune *in, const char *txid, const uint8_t *csr,
    size_t csr_len, long hresult, const char *description,
    struct intune_result *out)
{
	struct gw_err err;

	if (intune_args(in, txid, csr, csr_len, &err) != 0)
		return intune_call(in, "failureNotification", NULL, &err, out);
	return intune_call(in, "failureNotification",
	    intune_body_failure(txid, csr, csr_len, hresult, description), &err,
	    out);
}
