/*
 * Unit tests for epki_order.c through a fake struct epki_transport that
 * captures the posted body and later completes the call with a canned
 * fixture body or a transport failure (we mock at our seams, not in
 * libcurl).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "gw_err.h"
#include "secure.h"
#include "epki.h"

#define FIX GW_SRC "/tests/fixtures/epki/"

/* The fake transport's one pending call. */
struct fake {
	int fail_post; /* post() returns -1 */
	char op[64];
	struct buf sent; /* the posted body */
	epki_http_fn *done;
	void *arg;
	int pending;
};

/* Takes the body and remembers the completion for fake_complete(). */
static int
fake_post(void *ctx, const char *op, struct buf *body, epki_http_fn *done,
    void *arg, struct gw_err *err)
{
	struct fake *f = ctx;

	buf_cleanup(&f->sent);
	f->sent = *body;
	buf_init(body, 0);
	if (f->fail_post) {
		gw_err_set(err, 1, "fake: queue full");
		return -1;
	}
	snprintf(f->op, sizeof(f->op), "%s", op);
	f->done = done;
	f->arg = arg;
	f->pending = 1;
	return 0;
}

/* Completes the pending call with a fixture (or curl_code != 0). */
static void
fake_complete(struct fake *f, const char *file, long status, int curl_code)
{
	struct epki_http h = { .curl_code = curl_code, .status = status };
	char path[512];
	struct gw_err err;
	struct buf b;

	buf_init(&b, 0);
	if (file != NULL) {
		snprintf(path, sizeof(path), FIX "%s", file);
		assert_int_equal(gw_file_read(path, 1 << 20, &b, &err), 0);
	}
	h.body = b.data;
	h.len = b.len;
	h.error = curl_code ? "Failed to connect to host port 443" : NULL;
	assert_int_equal(f->pending, 1);
	f->pending = 0;
	f->done(f->arg, &h);
	buf_cleanup(&b);
}

/* What the completion callback saw. */
struct seen {
	int calls;
	enum epki_class cls;
	char order_id[64];
	char order_status[16];
	char fault[256];
	char message[256];
	int ncerts;
};

static void
on_resp(void *arg, struct epki_resp *r)
{
	struct seen *s = arg;

	s->calls++;
	s->cls = r->cls;
	memcpy(s->order_id, r->order_id, sizeof(s->order_id));
	memcpy(s->order_status, r->order_status, sizeof(s->order_status));
	memcpy(s->fault, r->fault, sizeof(s->fault));
	snprintf(s->message, sizeof(s->message), "%s",
	    r->nerrors ? r->errors[0].message : "");
	s->ncerts = r->certs ? sk_X509_num(r->certs) : 0;
}

static const struct epki_auth auth = { "PAR12345_api", "example-password" };
static const struct epki_order order = { .profile_id = "MP201604143456",
	.product_code = "EPKIPSPersonal",
	.years = 1,
	.csr_pem = "-----BEGIN CERTIFICATE REQUEST-----\nTUlJ\n"
		   "-----END CERTIFICATE REQUEST-----\n",
	.cn = "Jane Doe" };

static int
setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));

	buf_init(&f->sent, 0);
	*state = f;
	return f == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	struct fake *f = *state;

	buf_cleanup(&f->sent);
	free(f);
	return 0;
}

/* Submitting and completing with each fixture gives the right result. */
static void
test_submit_table(void **state)
{
	static const struct {
		const char *file;
		long status;
		int curl;
		enum epki_class cls;
		const char *order_id;
		int ncerts;
		const char *fault;
	} t[] = {
		{ "order-success-p7.xml", 200, 0, EPKI_OK, "MPS20160414000123",
		    2, "" },
		{ "order-warning-2001.xml", 200, 0, EPKI_WARNING,
		    "MPS20160414000125", 1, "" },
		{ "order-fail-nil.xml", 200, 0, EPKI_QUOTA, "", 0, "" },
		{ "fault-500.xml", 500, 0, EPKI_TRANSPORT, "", 0,
		    "HTTP 500 SOAP Fault soap:Client: Unmarshalling Error" },
		{ "html-502.xml", 502, 0, EPKI_TRANSPORT, "", 0, "HTTP 502" },
		{ NULL, 0, 7, EPKI_TRANSPORT, "", 0,
		    "HTTP transport: Failed to connect" },
	};
	struct fake *f = *state;
	struct epki_transport tr = { .post = fake_post, .ctx = f };
	struct seen s;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&s, 0, sizeof(s));
		assert_int_equal(epki_order_submit(&tr, &auth, &order, on_resp,
				     &s, NULL),
		    0);
		assert_string_equal(f->op, "OrderAndIssueCertificate");
		/* Nothing is reported before the transport completes. */
		assert_int_equal(s.calls, 0);
		fake_complete(f, t[i].file, t[i].status, t[i].curl);
		assert_int_equal(s.calls, 1);
		assert_int_equal(s.cls, t[i].cls);
		assert_string_equal(s.order_id, t[i].order_id);
		assert_int_equal(s.ncerts, t[i].ncerts);
		assert_non_null(strstr(s.fault, t[i].fault));
	}
}

/* The envelope must carry the password; results must never echo it. */
static void
test_password_not_echoed(void **state)
{
	struct fake *f = *state;
	struct epki_transport tr = { .post = fake_post, .ctx = f };
	struct seen s;

	memset(&s, 0, sizeof(s));
	assert_int_equal(epki_order_submit(&tr, &auth, &order, on_resp, &s,
			     NULL),
	    0);
	assert_non_null(strstr((char *)f->sent.data,
	    "<Password>example-password</Password>"));
	/* ...in a buffer that is wiped whenever its memory is let go. */
	assert_true(f->sent.secret);
	fake_complete(f, "fault-echo-password.xml", 500, 0);
	assert_int_equal(s.cls, EPKI_TRANSPORT);
	assert_null(strstr(s.fault, "example-password"));
	assert_non_null(strstr(s.fault, "Password=****************"));
}

/*
 * A password made only of asterisks matches its own mask: the masking
 * must still end (an alarm fails the test instead of hanging it).
 */
static void
test_password_of_asterisks(void **state)
{
	static const char body[] =
	    "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/"
	    "envelope/\"><soap:Body><soap:Fault><faultcode>soap:Server"
	    "</faultcode><faultstring>Password=** rejected</faultstring>"
	    "</soap:Fault></soap:Body></soap:Envelope>";
	static const struct epki_auth stars = { "PAR12345_api", "**" };
	struct fake *f = *state;
	struct epki_transport tr = { .post = fake_post, .ctx = f };
	struct epki_http h = { .status = 500 };
	struct seen s;

	memset(&s, 0, sizeof(s));
	assert_int_equal(epki_order_submit(&tr, &stars, &order, on_resp, &s,
			     NULL),
	    0);
	h.body = (const uint8_t *)body;
	h.len = sizeof(body) - 1;
	f->pending = 0;
	alarm(10);
	f->done(f->arg, &h);
	alarm(0);
	assert_int_equal(s.calls, 1);
	assert_non_null(strstr(s.fault, "Password=** rejected"));
}

static void
test_get_order(void **state)
{
	struct fake *f = *state;
	struct epki_transport tr = { .post = fake_post, .ctx = f };
	struct seen s;

	memset(&s, 0, sizeof(s));
	assert_int_equal(epki_order_get_submit(&tr, &auth, "MPS20160414000123",
			     on_resp, &s, NULL),
	    0);
	assert_string_equal(f->op, "GetOrderByOrderId");
	assert_non_null(strstr((char *)f->sent.data,
	    "<OrderNo>MPS20160414000123</OrderNo>"));
	fake_complete(f, "get-order-success.xml", 200, 0);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.cls, EPKI_OK);
	assert_string_equal(s.order_status, "4");
	assert_int_equal(s.ncerts, 2);

	memset(&s, 0, sizeof(s));
	assert_int_equal(epki_order_get_submit(&tr, &auth, "MPS9", on_resp, &s,
			     NULL),
	    0);
	fake_complete(f, "get-order-internal-error.xml", 200, 0);
	assert_int_equal(s.cls, EPKI_TRANSIENT);
	assert_string_equal(s.message,
	    "Internal system error. Please re-execute.");
}

/* A refused post or an unbuildable order never calls back. */
static void
test_submit_failures(void **state)
{
	struct fake *f = *state;
	struct epki_transport tr = { .post = fake_post, .ctx = f };
	struct epki_order bad = order;
	struct gw_err err;
	struct seen s;

	memset(&s, 0, sizeof(s));
	f->fail_post = 1;
	assert_int_equal(epki_order_submit(&tr, &auth, &order, on_resp, &s,
			     &err),
	    -1);
	assert_string_equal(err.msg, "fake: queue full");
	f->fail_post = 0;
	bad.csr_pem = NULL;
	assert_int_equal(epki_order_submit(&tr, &auth, &bad, on_resp, &s, &err),
	    -1);
	assert_int_equal(epki_order_get_submit(&tr, &auth, NULL, on_resp, &s,
			     &err),
	    -1);
	assert_int_equal(s.calls, 0);
	assert_int_equal(f->pending, 0);
}

/* The blocking call reports a connection failure as transport. */
static void
test_order_call_unreachable(void **state)
{
	struct epki_client_opts o = { .url = "http://127.0.0.1:1/cr/ws/"
					     "GasOrderService",
		.timeout_s = 5,
		.connect_timeout_s = 2 };
	struct epki_resp r;
	struct gw_err err;

	(void)state;
	assert_int_equal(epki_order_call(&o, &auth, &order, &r, &err), -1);
	assert_int_equal(r.cls, EPKI_TRANSPORT);
	assert_non_null(strstr(r.fault, "HTTP transport"));
	assert_non_null(strstr(err.msg, "transport"));
	assert_null(strstr(err.msg, "example-password"));
	epki_resp_cleanup(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_submit_table, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_password_not_echoed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_password_of_asterisks,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_order, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_submit_failures, setup,
		    teardown),
		cmocka_unit_test(test_order_call_unreachable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
