/*
 * EPKI orders for the gateway: build the SOAP request, send it through a
 * struct epki_transport (the libcurl client, or a fake in unit tests),
 * parse the answer and call back once. Also the blocking variant the CLI
 * uses to order the RA certificate. The password never reaches a result:
 * any echo of it in a fault or error text is masked.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "gw_err.h"
#include "secure.h"
#include "epki.h"

#define ORDER_BODY_MAX (256 * 1024)

/* What an asynchronous call remembers until its answer arrives. */
struct order_call {
	const char *op; /* static operation name */
	char *password; /* copy, to mask echoes; wiped */
	epki_resp_fn *done;
	void *arg;
	/* The transport's note() and its ctx, copied. */
	void (*note)(void *ctx, const char *op, const struct epki_http *h,
	    const struct epki_resp *r);
	void *note_ctx;
};

/*
 * Overwrites every occurrence of secret in s with asterisks. The search
 * goes on after each replacement: a secret made of asterisks would
 * otherwise match its own mask for ever.
 */
static void
mask_secret(char *s, const char *secret)
{
	size_t n;
	char *p;

	if (secret == NULL || (n = strlen(secret)) == 0)
		return;
	for (p = s; (p = strstr(p, secret)) != NULL; p += n)
		memset(p, '*', n);
}

/* Masks the password in every text of r that came from the server. */
static void
resp_mask(struct epki_resp *r, const char *password)
{
	size_t i;

	mask_secret(r->fault, password);
	for (i = 0; i < r->nerrors; i++) {
		mask_secret(r->errors[i].field, password);
		mask_secret(r->errors[i].message, password);
	}
}

/* Turns an HTTP result into a parsed response. */
static void
order_result(const char *op, const struct epki_http *h, const char *pw,
    struct epki_resp *r)
{
	if (h->curl_code != 0) {
		epki_resp_init(r);
		snprintf(r->fault, sizeof(r->fault), "HTTP transport: %s",
		    h->error != NULL ? h->error : "failed");
	} else {
		epki_soap_parse(op, h->status, h->body, h->len, r, NULL);
	}
	resp_mask(r, pw);
}

/* Frees a call record, wiping the password copy; NULL-safe. */
static void
call_free(struct order_call *c)
{
	if (c == NULL)
		return;
	gw_secret_free(c->password);
	free(c);
}

/* The transport's completion: parse, call back once, free. */
static void
order_done(void *arg, const struct epki_http *h)
{
	struct order_call *c = arg;
	struct epki_resp r;

	order_result(c->op, h, c->password, &r);
	if (c->note != NULL)
		c->note(c->note_ctx, c->op, h, &r);
	c->done(c->arg, &r);
	epki_resp_cleanup(&r);
	call_free(c);
}

/* Sends a built body through t; body is taken and wiped. */
static int
order_send(const struct epki_transport *t, const char *op,
    const struct epki_auth *auth, struct buf *body, epki_resp_fn *done,
    void *arg, struct gw_err *err)
{
	struct order_call *c;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->password = gw_strdup(auth->password)) == NULL) {
		gw_err_set(err, ENOMEM, "epki %s: out of memory", op);
		gw_cleanse(body->data, body->len);
		buf_cleanup(body);
		call_free(c);
		return -1;
	}
	c->op = op;
	c->done = done;
	c->arg = arg;
	c->note = t->note;
	c->note_ctx = t->ctx;
	/* The transport owns body from here, even when post() fails. */
	if (t->post(t->ctx, op, body, order_done, c, err) == -1) {
		call_free(c);
		return -1;
	}
	return 0;
}

/*
 * Places an OrderAndIssueCertificate through t. Returns 0 and
 * later calls done(arg, resp) exactly once, from the transport's thread;
 * resp is valid only during the call, and a transport failure arrives as
 * class EPKI_TRANSPORT. Returns -1 with err set (done never called) when
 * the request cannot be built or queued.
 */
int
epki_order_submit(const struct epki_transport *t, const struct epki_auth *auth,
    const struct epki_order *o, epki_resp_fn *done, void *arg,
    struct gw_err *err)
{
	struct buf body;

	buf_init(&body, ORDER_BODY_MAX);
	if (epki_soap_order_build(auth, o, &body, err) == -1) {
		gw_cleanse(body.data, body.len);
		buf_cleanup(&body);
		return -1;
	}
	return order_send(t, "OrderAndIssueCertificate", auth, &body, done, arg,
	    err);
}

/*
 * Asks for one order with its certificate (GetOrderByOrderId),
 * with the same contract as epki_order_submit().
 */
int
epki_order_get_submit(const struct epki_transport *t,
    const struct epki_auth *auth, const char *order_id, epki_resp_fn *done,
    void *arg, struct gw_err *err)
{
	struct buf body;

	buf_init(&body, ORDER_BODY_MAX);
	if (epki_soap_get_order_build(auth, order_id, &body, err) == -1) {
		gw_cleanse(body.data, body.len);
		buf_cleanup(&body);
		return -1;
	}
	return order_send(t, "GetOrderByOrderId", auth, &body, done, arg, err);
}

/* One line for a failed result: class, then the fault or first error. */
static void
order_err(const char *op, const struct epki_resp *r, struct gw_err *err)
{
	const struct epki_error *e = r->nerrors > 0 ? &r->errors[0] : NULL;

	if (r->fault[0] != '\0' || e == NULL)
		gw_err_set(err, -1, "epki %s: %s: %s", op,
		    epki_class_name(r->cls), r->fault);
	else
		gw_err_set(err, -1, "epki %s: %s: %d%s%s %s", op,
		    epki_class_name(r->cls), e->code, e->field[0] ? " " : "",
		    e->field, e->message);
}

/*
 * Posts a built body (wiped and released here) for op and waits for the
 * answer. out is initialised here. 0 when GlobalSign answered with
 * success or a warning; -1 with err set and out telling why otherwise.
 */
static int
call_sync(const struct epki_client_opts *o, const char *op,
    const struct epki_auth *auth, struct buf *body, struct epki_resp *out,
    struct gw_err *err)
{
	struct epki_http h;
	struct buf resp;
	struct gw_err terr;
	long status = 0;
	int rc = -1;

	buf_init(&resp, 0);
	memset(&h, 0, sizeof(h));
	gw_err_clear(&terr);
	if (epki_client_post_sync(o, op, body, &resp, &status, &terr) == -1) {
		h.curl_code = terr.code != 0 ? terr.code : -1;
		h.error = terr.msg;
	}
	h.status = status;
	h.body = resp.data;
	h.len = resp.len;
	order_result(op, &h, auth->password, out);
	if (out->cls != EPKI_OK && out->cls != EPKI_WARNING) {
		order_err(op, out, err);
		goto out;
	}
	rc = 0;
out:
	gw_cleanse(body->data, body->len);
	buf_cleanup(body);
	buf_cleanup(&resp);
	return rc;
}

/* Wipes and releases a body that could not be built. */
static int
body_drop(struct buf *body)
{
	gw_cleanse(body->data, body->len);
	buf_cleanup(body);
	return -1;
}

/*
 * Places an order and waits for the answer (for `scepgw init`). out is
 * initialised here; clean it up with epki_resp_cleanup() either way.
 * Returns 0 when GlobalSign answered with success (out->cls EPKI_OK or
 * EPKI_WARNING); -1 otherwise, with err set and out telling why.
 */
int
epki_order_call(const struct epki_client_opts *o, const struct epki_auth *auth,
    const struct epki_order *ord, struct epki_resp *out, struct gw_err *err)
{
	struct buf body;

	epki_resp_init(out);
	buf_init(&body, ORDER_BODY_MAX);
	if (epki_soap_order_build(auth, ord, &body, err) == -1)
		return body_drop(&body);
	return call_sync(o, "OrderAndIssueCertificate", auth, &body, out, err);
}

/* GetOrderByOrderId, waiting; the contract of epki_order_call(). */
int
epki_order_get_call(const struct epki_client_opts *o,
    const struct epki_auth *auth, const char *order_id, struct epki_resp *out,
    struct gw_err *err)
{
	struct buf body;

	epki_resp_init(out);
	buf_init(&body, ORDER_BODY_MAX);
	if (epki_soap_get_order_build(auth, order_id, &body, err) == -1)
		return body_drop(&body);
	return call_sync(o, "GetOrderByOrderId", auth, &body, out, err);
}

/*
 * Searches orders (GetOrders) through t; every order found is
 * in resp->found (resp->nfound of them), with its certificates when
 * q->want_fulfillment asked for them. The contract of
 * epki_order_submit().
 */
int
epki_order_find_submit(const struct epki_transport *t,
    const struct epki_auth *auth, const struct epki_order_query *q,
    epki_resp_fn *done, void *arg, struct gw_err *err)
{
	struct buf body;

	buf_init(&body, ORDER_BODY_MAX);
	if (epki_soap_orders_build(auth, q, &body, err) == -1)
		return body_drop(&body);
	return order_send(t, "GetOrders", auth, &body, done, arg, err);
}

/* GetOrders, waiting; the contract of epki_order_call(). */
int
epki_order_find_call(const struct epki_client_opts *o,
    const struct epki_auth *auth, const struct epki_order_query *q,
    struct epki_resp *out, struct gw_err *err)
{
	struct buf body;

	epki_resp_init(out);
	buf_init(&body, ORDER_BODY_MAX);
	if (epki_soap_orders_build(auth, q, &body, err) == -1)
		return body_drop(&body);
	return call_sync(o, "GetOrders", auth, &body, out, err);
}

/*
 * Revokes the certificate of an order (Revoke) through t;
 * resp->order_id echoes the lower-case orderNo. The contract of
 * epki_order_submit().
 */
int
epki_order_revoke_submit(const struct epki_transport *t,
    const struct epki_auth *auth, const char *order_id, epki_resp_fn *done,
    void *arg, struct gw_err *err)
{
	struct buf body;

	buf_init(&body, ORDER_BODY_MAX);
	if (epki_soap_revoke_build(auth, order_id, &body, err) == -1)
		return body_drop(&body);
	return order_send(t, "Revoke", auth, &body, done, arg, err);
}

/* Revoke, waiting; the contract of epki_order_call(). */
int
epki_order_revoke_call(const struct epki_client_opts *o,
    const struct epki_auth *auth, const char *order_id, struct epki_resp *out,
    struct gw_err *err)
{
	struct buf body;

	epki_resp_init(out);
	buf_init(&body, ORDER_BODY_MAX);
	if (epki_soap_revoke_build(auth, order_id, &body, err) == -1)
		return body_drop(&body);
	return call_sync(o, "Revoke", auth, &body, out, err);
}

/*
 * Lists the account's profiles (GetProfiles), only profile_id
 * when it is not NULL, through t; they arrive in resp->profiles. The
 * contract of epki_order_submit().
 */
int
epki_profile_list_submit(const struct epki_transport *t,
    const struct epki_auth *auth, const char *profile_id, epki_resp_fn *done,
    void *arg, struct gw_err *err)
{
	struct buf body;

	buf_init(&body, ORDER_BODY_MAX);
	if (epki_soap_profiles_build(auth, profile_id, &body, err) == -1)
		return body_drop(&body);
	return order_send(t, "GetProfiles", auth, &body, done, arg, err);
}

/*
 * GetProfiles, waiting (for `scepgw check`): proves the credentials, the
 * IP allow-list and the profile. The contract of epki_order_call().
 */
int
epki_profile_list_call(const struct epki_client_opts *o,
    const struct epki_auth *auth, const char *profile_id, struct epki_resp *out,
    struct gw_err *err)
{
	struct buf body;

	epki_resp_init(out);
	buf_init(&body, ORDER_BODY_MAX);
	if (epki_soap_profiles_build(auth, profile_id, &body, err) == -1)
		return body_drop(&body);
	return call_sync(o, "GetProfiles", auth, &body, out, err);
}
