/*
 * Unit tests for epki_query.c and the GetOrders/Revoke/GetProfiles parts
 * of epki_order.c and epki_soap_srv.c: list payloads parsed from the
 * fixtures (success, error, xsi:nil, empty, warning), requests built in
 * schema order and read back by the simulator's parser, the simulator's
 * replies read back by the client, and the submit functions through a
 * fake transport.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/bn.h>
#include <openssl/x509.h>

#include "buf.h"
#include "gw_err.h"
#include "secure.h"
#include "epki.h"

#include "test_epki_fixture.h"

static const struct epki_auth auth = { "PAR12345_api", "example-password" };

/* Parses fixture file as the answer to op into r. */
static int
parse_fixture(const char *file, const char *op, struct epki_resp *r)
{
	struct buf b;
	int rc;

	fixture_read(file, &b);
	rc = epki_soap_parse(op, 200, b.data, b.len, r, NULL);
	buf_cleanup(&b);
	return rc;
}

/* One list fixture and what parsing it must give. */
struct list_case {
	const char *file;
	const char *op;
	enum epki_class cls;
	int code; /* errors[0].code, or 0 */
	int total;
	size_t n; /* nfound or nprofiles */
	const char *order_id;
};

static void
test_list_fixtures(void **state)
{
	static const struct list_case t[] = {
		{ "get-orders-success.xml", "GetOrders", EPKI_OK, 0, 3, 3, "" },
		{ "get-orders-p7.xml", "GetOrders", EPKI_OK, 0, 1, 1, "" },
		{ "get-orders-empty.xml", "GetOrders", EPKI_OK, 0, 0, 0, "" },
		{ "get-orders-fail-nil.xml", "GetOrders", EPKI_AUTH, -4001, -1,
		    0, "" },
		{ "get-orders-warning.xml", "GetOrders", EPKI_WARNING, -2001, 0,
		    0, "" },
		{ "revoke-lowercase.xml", "Revoke", EPKI_OK, 0, -1, 0,
		    "MPS20160414000123" },
		{ "revoke-fail-nil.xml", "Revoke", EPKI_CONFLICT, -9938, -1, 0,
		    "" },
		{ "revoke-uppercase-empty.xml", "Revoke", EPKI_NOT_FOUND, -9916,
		    -1, 0, "" },
		{ "get-profiles-success.xml", "GetProfiles", EPKI_OK, 0, 3, 3,
		    "" },
		{ "get-profiles-empty.xml", "GetProfiles", EPKI_OK, 0, 0, 0,
		    "" },
		{ "get-profiles-fail-nil.xml", "GetProfiles", EPKI_AUTH, -4201,
		    -1, 0, "" },
	};
	struct epki_resp r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		print_message("fixture %s as %s\n", t[i].file, t[i].op);
		assert_int_equal(parse_fixture(t[i].file, t[i].op, &r), 0);
		assert_int_equal(r.cls, t[i].cls);
		if (t[i].code != 0)
			assert_int_equal(r.errors[0].code, t[i].code);
		else
			assert_int_equal(r.nerrors, 0);
		assert_int_equal(r.total_count, t[i].total);
		assert_int_equal(strcmp(t[i].op, "GetProfiles") == 0 ?
			r.nprofiles :
			r.nfound,
		    t[i].n);
		assert_string_equal(r.order_id, t[i].order_id);
		epki_resp_cleanup(&r);
		assert_null(r.found);
		assert_null(r.profiles);
	}
}

/* Every field of the orders in get-orders-success.xml. */
static void
test_orders_detail(void **state)
{
	const struct epki_found *f;
	struct epki_resp r;

	(void)state;
	assert_int_equal(parse_fixture("get-orders-success.xml", "GetOrders",
			     &r),
	    0);
	f = &r.found[0];
	assert_string_equal(f->order_id, "MPS20160414000123");
	assert_string_equal(f->order_status, "4");
	assert_string_equal(f->product_code, "EPKIPSPersonal");
	assert_string_equal(f->profile_id, "MP201604143456");
	assert_string_equal(f->request_date, "2016-04-14T10:21:33.512+09:00");
	assert_string_equal(f->cert_status, "4");
	assert_string_equal(f->serial, "1234");
	assert_string_equal(f->cn, "fixture");
	/* PKCS7Cert was xsi:nil, so the Certificate was used. */
	assert_non_null(f->certs);
	assert_int_equal(sk_X509_num(f->certs), 1);
	assert_false(f->cert_unreadable);
	f = &r.found[1];
	assert_string_equal(f->order_status, "7");
	assert_string_equal(f->request_date, "2016-04-14 11:00:00");
	assert_string_equal(f->issue_date, "");
	assert_string_equal(f->serial, "");
	assert_null(f->certs);
	assert_false(f->cert_unreadable);
	/* A bad certificate spoils its own entry, not the answer. */
	f = &r.found[2];
	assert_string_equal(f->order_id, "MPS20160414000125");
	assert_null(f->certs);
	assert_true(f->cert_unreadable);
	epki_resp_cleanup(&r);

	assert_int_equal(parse_fixture("get-orders-p7.xml", "GetOrders", &r),
	    0);
	assert_int_equal(sk_X509_num(r.found[0].certs), 2);
	epki_resp_cleanup(&r);
	/* An unreadable PKCS7Cert gives way to the Certificate beside it. */
	assert_int_equal(parse_fixture("get-orders-p7-unreadable.xml",
			     "GetOrders", &r),
	    0);
	assert_int_equal(sk_X509_num(r.found[0].certs), 1);
	assert_false(r.found[0].cert_unreadable);
	epki_resp_cleanup(&r);
}

/* Profiles: DN attributes and the state derived from code and dates. */
static void
test_profiles_detail(void **state)
{
	const struct epki_profile *p;
	struct epki_resp r;

	(void)state;
	assert_int_equal(parse_fixture("get-profiles-success.xml",
			     "GetProfiles", &r),
	    0);
	p = &r.profiles[0];
	assert_string_equal(p->profile_id, "MP201604143456");
	assert_string_equal(p->state_code, "4");
	assert_int_equal(p->state, EPKI_PROFILE_VALID);
	assert_string_equal(p->org, "Docker, Inc. Test");
	assert_string_equal(p->locality, "San Fancisco");
	assert_string_equal(p->st, "CA");
	assert_string_equal(p->country, "US");
	assert_int_equal(p->nous, 2);
	assert_string_equal(p->ous[1], "For Test Use Only");
	assert_string_equal(p->not_after, "2019-04-01");
	assert_string_equal(p->hash_type, "SHA256");
	p = &r.profiles[1];
	assert_int_equal(p->state, EPKI_PROFILE_PENDING);
	assert_string_equal(p->issue_date, "");
	assert_int_equal(p->nous, 0);
	p = &r.profiles[2];
	assert_int_equal(p->state, EPKI_PROFILE_SUSPENDED);
	assert_string_equal(epki_profile_state_name(p->state), "suspended");
	epki_resp_cleanup(&r);
}

static void
test_profile_state_rules(void **state)
{
	static const struct {
		const char *code, *issue, *suspend, *cancel;
		enum epki_profile_state want;
	} t[] = {
		{ "4", "d", "", "", EPKI_PROFILE_VALID },
		{ "", "d", "", "", EPKI_PROFILE_VALID },
		{ "2", "", "", "", EPKI_PROFILE_PENDING },
		{ "1", "", "", "", EPKI_PROFILE_PENDING },
		{ "9", "d", "", "", EPKI_PROFILE_SUSPENDED },
		{ "4", "d", "d", "", EPKI_PROFILE_SUSPENDED },
		{ "4", "d", "d", "d", EPKI_PROFILE_CANCELLED },
		{ "3", "", "", "", EPKI_PROFILE_CANCELLED },
		{ "", "", "", "", EPKI_PROFILE_UNKNOWN },
		{ "77", "", "", "", EPKI_PROFILE_UNKNOWN },
	};
	struct epki_profile p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&p, 0, sizeof(p));
		snprintf(p.state_code, sizeof(p.state_code), "%s", t[i].code);
		snprintf(p.issue_date, sizeof(p.issue_date), "%s", t[i].issue);
		snprintf(p.suspend_date, sizeof(p.suspend_date), "%s",
		    t[i].suspend);
		snprintf(p.cancel_date, sizeof(p.cancel_date), "%s",
		    t[i].cancel);
		assert_int_equal(epki_profile_state(&p), t[i].want);
	}
	assert_string_equal(epki_profile_state_name(EPKI_PROFILE__MAX),
	    "unknown");
}

/* The element children of n, as "A,B,C" (all unqualified). */
static void
child_names(xmlNodePtr n, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (n = n->children; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		assert_null(n->ns);
		used += (size_t)snprintf(out + used, len - used, "%s%s",
		    used ? "," : "", (const char *)n->name);
		assert_true(used < len);
	}
}

/* The first element child of n called name. */
static xmlNodePtr
child(xmlNodePtr n, const char *name)
{
	for (n = n->children; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)n->name, name) == 0)
			return n;
	fail_msg("no <%s>", name);
	return NULL;
}

/* Checks the children of Request (and of one of its children). */
static void
check_order(const struct buf *b, const char *op, const char *want,
    const char *sub, const char *want_sub)
{
	xmlNodePtr env, w, req;
	char names[512];
	xmlDocPtr doc;

	doc = xmlReadMemory((const char *)b->data, (int)b->len, NULL, NULL,
	    XML_PARSE_NONET);
	assert_non_null(doc);
	env = xmlDocGetRootElement(doc);
	w = child(child(env, "Body"), op);
	assert_string_equal((const char *)w->ns->href, EPKI_NS);
	req = child(w, "Request");
	child_names(req, names, sizeof(names));
	assert_string_equal(names, want);
	if (sub != NULL) {
		child_names(child(req, sub), names, sizeof(names));
		assert_string_equal(names, want_sub);
	}
	xmlFreeDoc(doc);
}

static void
test_builds(void **state)
{
	struct epki_order_query all = { .product_code = "EPKIPSPersonal",
		.profile_id = "MP1",
		.license_no = "L1",
		.order_state = "4",
		.cert_state = "4",
		.request_from = "2026-11-27",
		.request_to = "2026-11-28T00:00:00Z",
		.issue_from = "2026-11-27",
		.issue_to = "2026-11-28",
		.cn = "dev<1>",
		.want_fulfillment = true };
	struct epki_order_query some = { .cn = "a", .request_from = "x" };
	struct epki_req rq;
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(epki_soap_orders_build(&auth, &all, &b, NULL), 0);
	check_order(&b, "GetOrders",
	    "QueryRequestHeader,OrderQueryParam,OrdersQueryOption",
	    "OrderQueryParam",
	    "ProductCode,ProfileOrderNo,LicenseOrderNo,OrderState,CertState,"
	    "RequestDateFrom,RequestDateTo,IssueDateFrom,IssueDateTo,"
	    "CommonName");
	check_order(&b, "GetOrders",
	    "QueryRequestHeader,OrderQueryParam,OrdersQueryOption",
	    "OrdersQueryOption", "ReturnCertificateInfo,ReturnFulfillment");
	assert_int_equal(epki_soap_req_parse(b.data, b.len, &rq, NULL), 0);
	assert_int_equal(rq.op, EPKI_OP_GET_ORDERS);
	assert_string_equal(rq.user, "PAR12345_api");
	assert_string_equal(rq.query.cn, "dev<1>");
	assert_string_equal(rq.query.request_to, "2026-11-28T00:00:00Z");
	assert_string_equal(rq.query.license_no, "L1");
	assert_true(rq.query.want_fulfillment);
	assert_false(rq.query.want_cert_info);
	epki_req_cleanup(&rq);

	buf_reset(&b);
	assert_int_equal(epki_soap_orders_build(&auth, &some, &b, NULL), 0);
	check_order(&b, "GetOrders",
	    "QueryRequestHeader,OrderQueryParam,OrdersQueryOption",
	    "OrderQueryParam", "RequestDateFrom,CommonName");

	buf_reset(&b);
	assert_int_equal(epki_soap_revoke_build(&auth, "MPS1", &b, NULL), 0);
	check_order(&b, "Revoke", "OrderRequestHeader,OrderID", NULL, NULL);
	assert_int_equal(epki_soap_req_parse(b.data, b.len, &rq, NULL), 0);
	assert_int_equal(rq.op, EPKI_OP_REVOKE);
	assert_string_equal(rq.order_no, "MPS1");
	epki_req_cleanup(&rq);

	buf_reset(&b);
	assert_int_equal(epki_soap_profiles_build(&auth, "MP1", &b, NULL), 0);
	check_order(&b, "GetProfiles", "QueryRequestHeader,ProfileQueryParam",
	    "ProfileQueryParam", "ProfileOrderNo");
	assert_int_equal(epki_soap_req_parse(b.data, b.len, &rq, NULL), 0);
	assert_int_equal(rq.op, EPKI_OP_GET_PROFILES);
	assert_string_equal(rq.order_no, "MP1");
	epki_req_cleanup(&rq);

	buf_reset(&b);
	assert_int_equal(epki_soap_profiles_build(&auth, NULL, &b, NULL), 0);
	check_order(&b, "GetProfiles", "QueryRequestHeader", NULL, NULL);

	/* Missing required values and control characters are refused. */
	assert_int_equal(epki_soap_revoke_build(&auth, NULL, &b, NULL), -1);
	assert_int_equal(epki_soap_orders_build(&auth, NULL, &b, NULL), -1);
	some.cn = "bad\001";
	assert_int_equal(epki_soap_orders_build(&auth, &some, &b, NULL), -1);
	buf_cleanup(&b);
}

/* The simulator's replies are read back by the client parser. */
static void
test_reply_roundtrip(void **state)
{
	struct epki_order_info infos[2] = {
		{ .order_id = "MPS1", .order_status = "4", .cn = "a" },
		{ .order_id = "MPS2", .order_status = "7", .cn = "b" },
	};
	static const char *const ous[] = { "Unit" };
	struct epki_profile_rec prof = { .profile_id = "MP1",
		.state_code = "9",
		.suspend_date = "2026-01-01",
		.org = "O&Co",
		.ous = ous,
		.nous = 1 };
	struct epki_error e = { -9938, "OrderID", "changed" };
	struct epki_reply rep = { .op = EPKI_OP_GET_ORDERS,
		.infos = infos,
		.ninfos = 2,
		.want_cert_info = true };
	struct epki_resp r;
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(epki_soap_reply_build(&rep, &b, NULL), 0);
	assert_int_equal(epki_soap_parse("GetOrders", 200, b.data, b.len, &r,
			     NULL),
	    0);
	assert_int_equal(r.total_count, 2);
	assert_int_equal(r.nfound, 2);
	assert_string_equal(r.found[1].order_id, "MPS2");
	assert_string_equal(r.found[1].cn, "b");
	epki_resp_cleanup(&r);

	buf_reset(&b);
	rep = (struct epki_reply) { .op = EPKI_OP_REVOKE,
		.success_code = -1,
		.errors = &e,
		.nerrors = 1 };
	assert_int_equal(epki_soap_reply_build(&rep, &b, NULL), 0);
	assert_non_null(strstr((char *)b.data, "<orderResponseHeader>"));
	assert_non_null(strstr((char *)b.data, "<orderNo xmlns:xsi"));
	assert_int_equal(epki_soap_parse("Revoke", 200, b.data, b.len, &r,
			     NULL),
	    0);
	assert_int_equal(r.cls, EPKI_CONFLICT);
	assert_string_equal(r.errors[0].field, "OrderID");
	epki_resp_cleanup(&r);

	buf_reset(&b);
	rep = (struct epki_reply) { .op = EPKI_OP_GET_PROFILES,
		.profiles = &prof,
		.nprofiles = 1 };
	assert_int_equal(epki_soap_reply_build(&rep, &b, NULL), 0);
	assert_int_equal(epki_soap_parse("GetProfiles", 200, b.data, b.len, &r,
			     NULL),
	    0);
	assert_int_equal(r.nprofiles, 1);
	assert_string_equal(r.profiles[0].org, "O&Co");
	assert_string_equal(r.profiles[0].ous[0], "Unit");
	assert_int_equal(r.profiles[0].state, EPKI_PROFILE_SUSPENDED);
	epki_resp_cleanup(&r);
	buf_cleanup(&b);
}

/* The fake transport: remembers one call, completes it on demand. */
struct fake {
	char op[64];
	struct buf sent;
	epki_http_fn *done;
	void *arg;
};

static int
fake_post(void *ctx, const char *op, struct buf *body, epki_http_fn *done,
    void *arg, struct gw_err *err)
{
	struct fake *f = ctx;

	(void)err;
	buf_cleanup(&f->sent);
	f->sent = *body;
	buf_init(body, 0);
	snprintf(f->op, sizeof(f->op), "%s", op);
	f->done = done;
	f->arg = arg;
	return 0;
}

/* Completes the call with a fixture, or a curl failure when NULL. */
static void
fake_complete(struct fake *f, const char *file)
{
	struct epki_http h = { .curl_code = file ? 0 : 28, .status = 200 };
	struct buf b;

	buf_init(&b, 0);
	if (file != NULL)
		fixture_read(file, &b);
	else
		h.error = "Operation timed out after 1000 milliseconds";
	h.body = b.data;
	h.len = b.len;
	f->done(f->arg, &h);
	buf_cleanup(&b);
}

/* What a callback saw. */
struct seen {
	int calls;
	enum epki_class cls;
	size_t n;
	char first[64];
	char fault[256];
};

static void
on_resp(void *arg, struct epki_resp *r)
{
	struct seen *s = arg;

	s->calls++;
	s->cls = r->cls;
	s->n = r->nfound + r->nprofiles;
	snprintf(s->first, sizeof(s->first), "%s",
	    r->nfound	     ? r->found[0].order_id :
		r->nprofiles ? r->profiles[0].profile_id :
			       r->order_id);
	snprintf(s->fault, sizeof(s->fault), "%s", r->fault);
}

static void
test_submits(void **state)
{
	struct epki_order_query q = { .cn = "fixture",
		.request_from = "2016-04-14" };
	struct fake f;
	struct epki_transport t = { .post = fake_post, .ctx = &f };
	struct seen s;

	(void)state;
	memset(&f, 0, sizeof(f));
	buf_init(&f.sent, 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(epki_order_find_submit(&t, &auth, &q, on_resp, &s,
			     NULL),
	    0);
	assert_string_equal(f.op, "GetOrders");
	assert_non_null(
	    strstr((char *)f.sent.data, "<CommonName>fixture</CommonName>"));
	assert_int_equal(s.calls, 0);
	fake_complete(&f, "get-orders-success.xml");
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.cls, EPKI_OK);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.first, "MPS20160414000123");

	assert_int_equal(epki_order_revoke_submit(&t, &auth, "MPS1", on_resp,
			     &s, NULL),
	    0);
	assert_string_equal(f.op, "Revoke");
	fake_complete(&f, "revoke-lowercase.xml");
	assert_int_equal(s.calls, 2);
	assert_int_equal(s.cls, EPKI_OK);
	assert_string_equal(s.first, "MPS20160414000123");

	assert_int_equal(epki_profile_list_submit(&t, &auth, "MP201604143456",
			     on_resp, &s, NULL),
	    0);
	assert_string_equal(f.op, "GetProfiles");
	fake_complete(&f, "get-profiles-success.xml");
	assert_int_equal(s.calls, 3);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.first, "MP201604143456");

	/* A transport failure arrives as one EPKI_TRANSPORT callback. */
	assert_int_equal(epki_order_find_submit(&t, &auth, &q, on_resp, &s,
			     NULL),
	    0);
	fake_complete(&f, NULL);
	assert_int_equal(s.calls, 4);
	assert_int_equal(s.cls, EPKI_TRANSPORT);
	assert_non_null(strstr(s.fault, "timed out"));
	assert_int_equal(s.n, 0);

	/* A request that cannot be built never reaches the transport. */
	assert_int_equal(epki_order_revoke_submit(&t, &auth, NULL, on_resp, &s,
			     NULL),
	    -1);
	assert_int_equal(s.calls, 4);
	buf_cleanup(&f.sent);
}

/* A throwaway certificate with serial hex (X509 only, unsigned). */
static X509 *
cert_with_serial(const char *hex)
{
	BIGNUM *bn = NULL;
	X509 *x = X509_new();

	assert_non_null(x);
	assert_true(BN_hex2bn(&bn, hex) > 0);
	assert_non_null(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)));
	BN_free(bn);
	return x;
}

/*
 * SerialNumber in every format GlobalSign might use (README "Talking to
 * GlobalSign") names the same certificate once normalised: upper, lower,
 * colon or blank separated hex, a 0x prefix, leading zeros, decimal.
 */
static void
test_serial_forms(void **state)
{
	static const char *const same[] = { "32F10595CAF0ED7F2439A5D62ABD3FE8",
		"32f10595caf0ed7f2439a5d62abd3fe8",
		"32:f1:05:95:ca:f0:ed:7f:24:39:a5:d6:2a:bd:3f:e8",
		"32 F1 05 95 CA F0 ED 7F 24 39 A5 D6 2A BD 3F E8",
		"0x0032F10595CAF0ED7F2439A5D62ABD3FE8",
		"67712856612004155714227075953324802024" };
	X509 *x = cert_with_serial("32F10595CAF0ED7F2439A5D62ABD3FE8");
	X509 *small = cert_with_serial("0A1B");
	char out[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		print_message("%s\n", same[i]);
		assert_true(epki_serial_matches(same[i], x));
	}
	assert_int_equal(epki_serial_norm(same[2], out, sizeof(out)), 0);
	assert_string_equal(out, "32F10595CAF0ED7F2439A5D62ABD3FE8");
	assert_int_equal(epki_serial_norm("00:0a:1b", out, sizeof(out)), 0);
	assert_string_equal(out, "A1B");
	assert_int_equal(epki_serial_norm("00", out, sizeof(out)), 0);
	assert_string_equal(out, "0");
	assert_int_equal(epki_serial_norm("0a1g", out, sizeof(out)), -1);
	assert_int_equal(epki_serial_norm("0A1B", out, 3), -1);
	assert_true(epki_serial_matches("0a:1b", small));
	assert_true(epki_serial_matches("A1B", small));
	assert_true(epki_serial_matches("2587", small)); /* decimal */
	assert_false(epki_serial_matches("0A1C", small));
	assert_false(epki_serial_matches("", small));
	assert_false(
	    epki_serial_matches("32F10595CAF0ED7F2439A5D62ABD3FE9", x));
	X509_free(x);
	X509_free(small);
}

/* Dates of query results: the day only, in the forms GlobalSign may use. */
static void
test_date_day(void **state)
{
	long d;

	(void)state;
	assert_int_equal(epki_date_day("1970-01-01", &d), 0);
	assert_int_equal(d, 0);
	assert_int_equal(epki_date_day("2099-12-31T23:59:59.000Z", &d), 0);
	assert_int_equal(d, 47481);
	assert_int_equal(epki_date_day("2019/07/25", &d), 0);
	assert_int_equal(d, 18102);
	assert_int_equal(epki_date_day("2019-07-25 10:00:00", &d), 0);
	assert_int_equal(d, 18102);
	assert_int_equal(epki_date_day("07/25/2019", &d), -1);
	assert_int_equal(epki_date_day("2019-13-01", &d), -1);
	assert_int_equal(epki_date_day("2019-07-25x", &d), -1);
	assert_int_equal(epki_date_day("", &d), -1);
	assert_int_equal(epki_date_day(NULL, &d), -1);
}

/* ProfileOrderState: GCC's word VALIDATED is usable; anything unknown
 * is not. */
static void
test_profile_state_words(void **state)
{
	struct epki_profile p;

	(void)state;
	memset(&p, 0, sizeof(p));
	snprintf(p.state_code, sizeof(p.state_code), "VALIDATED");
	assert_int_equal(epki_profile_state(&p), EPKI_PROFILE_VALID);
	snprintf(p.state_code, sizeof(p.state_code), "validated");
	assert_int_equal(epki_profile_state(&p), EPKI_PROFILE_VALID);
	snprintf(p.state_code, sizeof(p.state_code), "ACTIVE-ISH");
	assert_int_equal(epki_profile_state(&p), EPKI_PROFILE_UNKNOWN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_fixtures),
		cmocka_unit_test(test_orders_detail),
		cmocka_unit_test(test_profiles_detail),
		cmocka_unit_test(test_profile_state_rules),
		cmocka_unit_test(test_builds),
		cmocka_unit_test(test_reply_roundtrip),
		cmocka_unit_test(test_submits),
		cmocka_unit_test(test_serial_forms),
		cmocka_unit_test(test_date_day),
		cmocka_unit_test(test_profile_state_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
