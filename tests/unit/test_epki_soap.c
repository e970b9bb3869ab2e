/*
 * Unit tests for epki_soap.c, epki_soap_srv.c, epki_cert.c and
 * epki_code.c: response parsing over the fixtures in tests/fixtures/epki,
 * request building (schema order, escaping), the error-code classes of
 * epki_code.c, and the simulator's replies read back by the client parser.
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
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "buf.h"
#include "gw_err.h"
#include "secure.h"
#include "epki.h"
#include "pubkey.h"

#include "test_epki_fixture.h"

/* One fixture and what parsing it must give. */
struct fixture_case {
	const char *file;
	const char *op;
	long status;
	int rc;
	enum epki_class cls;
	int success_code;
	size_t nerrors;
	int codes[3];	    /* first nerrors codes */
	const char *field1; /* ErrorField of errors[1], or NULL */
	const char *order_id;
	const char *order_status;
	int ncerts;
	const char *fault; /* substring of fault, or NULL */
};

static const char *const ORDER = "OrderAndIssueCertificate";
static const char *const GET = "GetOrderByOrderId";

static const struct fixture_case cases[] = {
	{ "order-success-p7.xml", ORDER, 200, 0, EPKI_OK, 0, 0, { 0 }, NULL,
	    "MPS20160414000123", "", 2, NULL },
	{ "order-success-x509-b64.xml", ORDER, 200, 0, EPKI_OK, 0, 0, { 0 },
	    NULL, "MPS20160414000124", "", 1, NULL },
	{ "order-warning-2001.xml", ORDER, 200, 0, EPKI_WARNING, 1, 1,
	    { -2001 }, NULL, "MPS20160414000125", "", 1, NULL },
	{ "order-fail-multi.xml", ORDER, 200, 0, EPKI_BAD_REQUEST, -1, 3,
	    { -9999, -102, -4201 }, "ProfileID", "", "", 0, NULL },
	{ "order-fail-nil.xml", ORDER, 200, 0, EPKI_QUOTA, -1, 1, { -6101 },
	    NULL, "", "", 0, NULL },
	{ "order-fail-empty-fields.xml", ORDER, 200, 0, EPKI_BAD_REQUEST, -1, 1,
	    { -101 }, NULL, "", "", 0, NULL },
	{ "order-qualified-children.xml", ORDER, 200, 0, EPKI_OK, 0, 0, { 0 },
	    NULL, "MPS20160414000126", "", 2, NULL },
	{ "order-bad-cert.xml", ORDER, 200, -1, EPKI_TRANSPORT, 0, 0, { 0 },
	    NULL, "MPS20160414000127", "", 0, "CERT" },
	{ "order-wrong-ns.xml", ORDER, 200, -1, EPKI_TRANSPORT, -2, 0, { 0 },
	    NULL, "", "", 0, "unexpected wrapper" },
	{ "order-no-header.xml", ORDER, 200, -1, EPKI_TRANSPORT, -2, 0, { 0 },
	    NULL, "", "", 0, "SuccessCode" },
	{ "fault-500.xml", ORDER, 500, -1, EPKI_TRANSPORT, -2, 0, { 0 }, NULL,
	    "", "", 0, "HTTP 500 SOAP Fault soap:Client: Unmarshalling" },
	{ "html-502.xml", ORDER, 502, -1, EPKI_TRANSPORT, -2, 0, { 0 }, NULL,
	    "", "", 0, "HTTP 502, not a SOAP answer: <!DOCTYPE html>" },
	{ "dtd-entity.xml", ORDER, 200, -1, EPKI_TRANSPORT, -2, 0, { 0 }, NULL,
	    "", "", 0, "not a SOAP answer" },
	{ "revoke-lowercase.xml", "Revoke", 200, 0, EPKI_OK, 0, 0, { 0 }, NULL,
	    "MPS20160414000123", "", 0, NULL },
	{ "get-order-success.xml", GET, 200, 0, EPKI_OK, 0, 0, { 0 }, NULL,
	    "MPS20160414000123", "4", 2, NULL },
	{ "get-order-internal-error.xml", GET, 200, 0, EPKI_TRANSIENT, -1, 1,
	    { -1 }, NULL, "", "", 0, NULL },
	/* The right body for the wrong operation is no answer. */
	{ "get-order-success.xml", ORDER, 200, -1, EPKI_TRANSPORT, -2, 0, { 0 },
	    NULL, "", "", 0, "unexpected wrapper" },
};

static void
test_parse_fixtures(void **state)
{
	const struct fixture_case *c;
	struct epki_resp r;
	struct gw_err err;
	struct buf b;
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = &cases[i];
		print_message("fixture %s as %s\n", c->file, c->op);
		fixture_read(c->file, &b);
		gw_err_clear(&err);
		assert_int_equal(epki_soap_parse(c->op, c->status, b.data,
				     b.len, &r, &err),
		    c->rc);
		assert_int_equal(r.cls, c->cls);
		/* No stale OpenSSL errors survive a parse. */
		assert_int_equal(ERR_peek_error(), 0);
		assert_int_equal(r.success_code, c->success_code);
		assert_int_equal(r.nerrors, c->nerrors);
		for (j = 0; j < c->nerrors && j < 3; j++)
			assert_int_equal(r.errors[j].code, c->codes[j]);
		if (c->field1 != NULL)
			assert_string_equal(r.errors[1].field, c->field1);
		assert_string_equal(r.order_id, c->order_id);
		assert_string_equal(r.order_status, c->order_status);
		assert_int_equal(r.certs ? sk_X509_num(r.certs) : 0, c->ncerts);
		if (c->fault != NULL) {
			assert_non_null(strstr(r.fault, c->fault));
			assert_non_null(strstr(err.msg, c->fault));
		} else {
			assert_string_equal(r.fault, "");
		}
		epki_resp_cleanup(&r);
		buf_cleanup(&b);
	}
}

static void
test_parse_error_texts(void **state)
{
	struct epki_resp r;
	struct buf b;

	(void)state;
	fixture_read("order-fail-multi.xml", &b);
	assert_int_equal(epki_soap_parse(ORDER, 200, b.data, b.len, &r, NULL),
	    0);
	assert_string_equal(r.errors[0].field, "");
	assert_string_equal(r.errors[2].message,
	    "This IP address is not registered for API access.");
	epki_resp_cleanup(&r);
	buf_cleanup(&b);
}

/* Parses a fixture and checks the leaf is found by key, not position. */
static void
check_leaf_selection(const char *file, const char *op)
{
	EVP_PKEY *other, *key;
	const X509 *leaf;
	struct epki_resp r;
	struct buf b;
	X509 *second;
	char cn[64];

	fixture_read(file, &b);
	assert_int_equal(epki_soap_parse(op, 200, b.data, b.len, &r, NULL), 0);
	assert_int_equal(sk_X509_num(r.certs), 2);
	second = sk_X509_value(r.certs, 1);
	/* The leaf comes bare (epki.h): its key is not decoded. */
	assert_null(X509_get0_pubkey(second));
	ERR_clear_error();
	key = gw_spki_pkey(X509_get_X509_PUBKEY(second));
	assert_non_null(key);
	leaf = epki_resp_get0_cert_for_key(&r, key);
	EVP_PKEY_free(key);
	assert_ptr_equal(leaf, second);
	X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName,
	    cn, sizeof(cn));
	assert_string_equal(cn, "fixture");
	other = EVP_EC_gen("P-256");
	assert_non_null(other);
	assert_null(epki_resp_get0_cert_for_key(&r, other));
	assert_null(epki_resp_get0_cert_for_key(NULL, other));
	EVP_PKEY_free(other);
	epki_resp_cleanup(&r);
	buf_cleanup(&b);
}

static void
test_leaf_by_key(void **state)
{
	(void)state;
	check_leaf_selection("order-success-p7.xml", ORDER);
	check_leaf_selection("get-order-success.xml", GET);
}

/* Every code of the GAS table, and a code it does not list. */
static void
test_code_classes(void **state)
{
	static const struct {
		int code;
		enum epki_class cls;
	} t[] = {
		{ -1, EPKI_TRANSIENT },
		{ -101, EPKI_BAD_REQUEST },
		{ -102, EPKI_BAD_REQUEST },
		{ -103, EPKI_BAD_REQUEST },
		{ -104, EPKI_BAD_REQUEST },
		{ -105, EPKI_BAD_REQUEST },
		{ -109, EPKI_BAD_REQUEST },
		{ -201, EPKI_TRANSIENT },
		{ -300, EPKI_TRANSIENT },
		{ -301, EPKI_TRANSIENT },
		{ -2001, EPKI_WARNING },
		{ -4001, EPKI_AUTH },
		{ -4003, EPKI_NOT_FOUND },
		{ -4004, EPKI_CONFLICT },
		{ -4005, EPKI_BAD_REQUEST },
		{ -4006, EPKI_BAD_CSR },
		{ -4007, EPKI_BAD_CSR },
		{ -4008, EPKI_BAD_REQUEST },
		{ -4016, EPKI_CONFLICT },
		{ -4201, EPKI_AUTH },
		{ -6002, EPKI_BAD_REQUEST },
		{ -6007, EPKI_BAD_CSR },
		{ -6101, EPKI_QUOTA },
		{ -6102, EPKI_BAD_REQUEST },
		{ -9100, EPKI_FAILURE },
		{ -9200, EPKI_AUTH },
		{ -9901, EPKI_AUTH },
		{ -9902, EPKI_NOT_FOUND },
		{ -9915, EPKI_CONFLICT },
		{ -9916, EPKI_NOT_FOUND },
		{ -9936, EPKI_BAD_CSR },
		{ -9938, EPKI_CONFLICT },
		{ -9939, EPKI_AUTH },
		{ -9940, EPKI_BAD_CSR },
		{ -9942, EPKI_TRANSIENT },
		{ -9943, EPKI_TRANSIENT },
		{ -9961, EPKI_BAD_CSR },
		{ -9962, EPKI_BAD_CSR },
		{ -5001, EPKI_WARNING },
		{ -12345, EPKI_FAILURE },
		{ 0, EPKI_FAILURE },
	};
	size_t i;
	int c;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		print_message("code %d\n", t[i].code);
		assert_int_equal(epki_code_class(t[i].code), t[i].cls);
	}
	for (c = 0; c < EPKI_CLASS__MAX; c++)
		assert_string_not_equal(epki_class_name((enum epki_class)c),
		    "unknown");
	assert_string_equal(epki_class_name(EPKI_QUOTA), "quota");
	assert_string_equal(epki_class_name(EPKI_CLASS__MAX), "unknown");
}

/* The element children of n, as "A,B,C". */
static void
child_names(xmlNodePtr n, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (n = n->children; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		/* Children of the wrapper are unqualified (as the schema). */
		assert_null(n->ns);
		used += (size_t)snprintf(out + used, len - used, "%s%s",
		    used ? "," : "", (const char *)n->name);
		assert_true(used < len);
	}
}

/* The only element child of n called name. */
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

/* The Request element of a built envelope, checking the wrapper. */
static xmlNodePtr
built_request(xmlDocPtr doc, const char *op)
{
	xmlNodePtr env = xmlDocGetRootElement(doc), w;

	assert_string_equal((const char *)env->name, "Envelope");
	w = child(child(env, "Body"), op);
	assert_non_null(w->ns);
	assert_string_equal((const char *)w->ns->href, EPKI_NS);
	assert_string_equal((const char *)w->ns->prefix, "cr");
	return child(w, "Request");
}

static const char *const csr_text =
    "-----BEGIN CERTIFICATE REQUEST-----\r\nTUlJ\r\n"
    "-----END CERTIFICATE REQUEST-----\r\n";

static void
test_order_build(void **state)
{
	struct epki_auth a = { "PAR12345_api", "p&ss<w>rd" };
	struct epki_order o = { .profile_id = "MP201604143456",
		.product_code = "EPKIPSPersonal",
		.years = 2,
		.csr_pem = csr_text,
		.cn = "Jane & <Doe>",
		.email = "jane@example.com",
		.ous = { "Mobile", "R&D" },
		.nous = 2 };
	char names[256];
	xmlNodePtr req, dn;
	xmlDocPtr doc;
	xmlChar *t;
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(epki_soap_order_build(&a, &o, &b, NULL), 0);
	assert_non_null(strstr((char *)b.data, "Jane &amp; &lt;Doe&gt;"));
	assert_null(strstr((char *)b.data, "EFSOption"));
	doc = xmlReadMemory((const char *)b.data, (int)b.len, NULL, NULL,
	    XML_PARSE_NONET);
	assert_non_null(doc);
	req = built_request(doc, ORDER);
	child_names(req, names, sizeof(names));
	assert_string_equal(names,
	    "OrderRequestHeader,ProfileID,ProductCode,Year,CSR,DnAttributes");
	child_names(child(child(req, "OrderRequestHeader"), "AuthToken"), names,
	    sizeof(names));
	assert_string_equal(names, "UserName,Password");
	dn = child(req, "DnAttributes");
	child_names(dn, names, sizeof(names));
	assert_string_equal(names,
	    "CommonName,OrganizationUnit,OrganizationUnit,Email");
	t = xmlNodeGetContent(child(dn, "CommonName"));
	assert_string_equal((char *)t, "Jane & <Doe>");
	xmlFree(t);
	t = xmlNodeGetContent(child(req, "CSR"));
	assert_string_equal((char *)t, csr_text);
	xmlFree(t);
	t = xmlNodeGetContent(child(req, "Year"));
	assert_string_equal((char *)t, "2");
	xmlFree(t);
	xmlFreeDoc(doc);
	buf_cleanup(&b);
}

/* The simulator's parser reads back what the client builds. */
static void
test_order_build_roundtrip(void **state)
{
	struct epki_auth a = { "PAR12345_api", "secret" };
	struct epki_order o = { .profile_id = "MP1",
		.product_code = "EPKIPSPersonal",
		.years = 1,
		.csr_pem = csr_text,
		.cn = "A&B",
		.ous = { "x", "y", "z" },
		.nous = 3 };
	struct epki_req rq;
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(epki_soap_order_build(&a, &o, &b, NULL), 0);
	assert_int_equal(epki_soap_req_parse(b.data, b.len, &rq, NULL), 0);
	assert_int_equal(rq.op, EPKI_OP_ORDER);
	assert_string_equal(rq.user, "PAR12345_api");
	assert_string_equal(rq.password, "secret");
	assert_string_equal(rq.order.profile_id, "MP1");
	assert_string_equal(rq.order.product_code, "EPKIPSPersonal");
	assert_true(rq.has_year);
	assert_int_equal(rq.order.years, 1);
	assert_string_equal(rq.order.csr_pem, csr_text);
	assert_string_equal(rq.order.cn, "A&B");
	assert_null(rq.order.email);
	assert_int_equal(rq.order.nous, 3);
	assert_string_equal(rq.order.ous[2], "z");
	epki_req_cleanup(&rq);
	buf_cleanup(&b);
}

static void
test_get_order_build(void **state)
{
	struct epki_auth a = { "PAR12345_api", "secret" };
	char names[256];
	struct epki_req rq;
	xmlNodePtr req;
	xmlDocPtr doc;
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(epki_soap_get_order_build(&a, "MPS<1>", &b, NULL), 0);
	doc = xmlReadMemory((const char *)b.data, (int)b.len, NULL, NULL,
	    XML_PARSE_NONET);
	assert_non_null(doc);
	req = built_request(doc, GET);
	child_names(req, names, sizeof(names));
	assert_string_equal(names,
	    "QueryRequestHeader,OrderNo,"
	    "OrderQueryOption");
	child_names(child(req, "OrderQueryOption"), names, sizeof(names));
	assert_string_equal(names,
	    "ReturnCertificateInfo,ReturnFulfillment,"
	    "ReturnP7,ReturnModEvents");
	xmlFreeDoc(doc);
	assert_int_equal(epki_soap_req_parse(b.data, b.len, &rq, NULL), 0);
	assert_int_equal(rq.op, EPKI_OP_GET_ORDER);
	assert_string_equal(rq.order_no, "MPS<1>");
	assert_true(rq.want_fulfillment && rq.want_p7 && rq.want_cert_info);
	epki_req_cleanup(&rq);
	buf_cleanup(&b);
}

static void
test_build_rejects(void **state)
{
	struct epki_auth a = { "u", "p" };
	struct epki_order o = { .profile_id = "MP1",
		.product_code = "EPKIPSPersonal",
		.years = 1,
		.csr_pem = csr_text,
		.cn = "bell\a" };
	struct gw_err err;
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(epki_soap_order_build(&a, &o, &b, &err), -1);
	assert_non_null(strstr(err.msg, "control character"));
	buf_reset(&b);
	o.cn = NULL;
	assert_int_equal(epki_soap_order_build(&a, &o, &b, &err), -1);
	assert_non_null(strstr(err.msg, "missing"));
	buf_reset(&b);
	a.password = NULL;
	assert_int_equal(epki_soap_get_order_build(&a, "X", &b, &err), -1);
	buf_cleanup(&b);
}

/* A PEM CERTIFICATE with CRLF, taken from a fixture. */
static char *
fixture_leaf_pem(void)
{
	struct epki_resp r;
	struct buf b, pem;
	BIO *bio;
	char *p, *s;
	long n;

	fixture_read("order-success-x509-b64.xml", &b);
	assert_int_equal(epki_soap_parse(ORDER, 200, b.data, b.len, &r, NULL),
	    0);
	bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_X509(bio, sk_X509_value(r.certs, 0)), 1);
	n = BIO_get_mem_data(bio, &p);
	buf_init(&pem, 0);
	for (; n > 0; n--, p++) {
		if (*p == '\n')
			buf_add(&pem, "\r", 1);
		buf_add(&pem, p, 1);
	}
	s = (char *)buf_steal(&pem, NULL);
	BIO_free(bio);
	epki_resp_cleanup(&r);
	buf_cleanup(&b);
	return s;
}

/* Simulator replies: CXF shape, and the client parser agrees. */
static void
test_reply_roundtrip(void **state)
{
	struct epki_error e = { -101, "Year", "Year <mismatch>" };
	struct epki_reply rep = { .op = EPKI_OP_ORDER };
	struct epki_resp r;
	struct buf b;
	char *pem = fixture_leaf_pem();

	(void)state;
	buf_init(&b, 0);
	rep.order_id = "MPS1";
	rep.cert = pem;
	assert_int_equal(epki_soap_reply_build(&rep, &b, NULL), 0);
	assert_null(strchr((char *)b.data, '\r'));
	assert_non_null(strstr((char *)b.data, "&#xD;\n"));
	assert_non_null(strstr((char *)b.data, "<Errors/><Timestamp>"));
	assert_non_null(strstr((char *)b.data,
	    "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/"
	    "envelope/\"><soap:Body><ns2:OrderAndIssueCertificateResponse "
	    "xmlns:ns2=\"https://system.globalsign.com/cr/ws/\">"));
	assert_int_equal(epki_soap_parse(ORDER, 200, b.data, b.len, &r, NULL),
	    0);
	assert_int_equal(r.cls, EPKI_OK);
	assert_string_equal(r.order_id, "MPS1");
	assert_int_equal(sk_X509_num(r.certs), 1);
	epki_resp_cleanup(&r);

	buf_reset(&b);
	rep = (struct epki_reply) { .op = EPKI_OP_ORDER,
		.success_code = -1,
		.errors = &e,
		.nerrors = 1 };
	assert_int_equal(epki_soap_reply_build(&rep, &b, NULL), 0);
	assert_non_null(strstr((char *)b.data,
	    "<OrderID xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
	    "xsi:nil=\"true\"/>"));
	assert_non_null(strstr((char *)b.data,
	    "<ErrorCode>-101</ErrorCode>"
	    "<ErrorField>Year</ErrorField>"));
	assert_int_equal(epki_soap_parse(ORDER, 200, b.data, b.len, &r, NULL),
	    0);
	assert_int_equal(r.cls, EPKI_BAD_REQUEST);
	assert_string_equal(r.errors[0].message, "Year <mismatch>");
	assert_string_equal(r.order_id, "");
	assert_null(r.certs);
	epki_resp_cleanup(&r);

	buf_reset(&b);
	assert_int_equal(epki_soap_fault_build("soap:Client",
			     "Unmarshalling Error: x", &b),
	    0);
	assert_int_equal(epki_soap_parse(GET, 500, b.data, b.len, &r, NULL),
	    -1);
	assert_string_equal(r.fault,
	    "HTTP 500 SOAP Fault soap:Client: Unmarshalling Error: x");
	epki_resp_cleanup(&r);
	buf_cleanup(&b);
	free(pem);
}

/* The simulator's request parser on bad and odd input. */
static void
test_req_parse_edges(void **state)
{
	static const char qualified[] =
	    "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\""
	    " xmlns:cr=\"" EPKI_NS "\"><s:Body><cr:OrderAndIssueCertificate>"
	    "<cr:Request><cr:ProfileID>MP1</cr:ProfileID></cr:Request>"
	    "</cr:OrderAndIssueCertificate></s:Body></s:Envelope>";
	static const char unknown[] =
	    "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">"
	    "<s:Body><Foo/></s:Body></s:Envelope>";
	static const char badyear[] =
	    "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\""
	    " xmlns:cr=\"" EPKI_NS "\"><s:Body><cr:OrderAndIssueCertificate>"
	    "<Request><Year>one</Year></Request>"
	    "</cr:OrderAndIssueCertificate></s:Body></s:Envelope>";
	struct epki_req rq;
	struct gw_err err;

	(void)state;
	/* JAXB ignores qualified children: every field is missing. */
	assert_int_equal(epki_soap_req_parse((const uint8_t *)qualified,
			     sizeof(qualified) - 1, &rq, &err),
	    0);
	assert_int_equal(rq.op, EPKI_OP_ORDER);
	assert_null(rq.order.profile_id);
	epki_req_cleanup(&rq);
	assert_int_equal(epki_soap_req_parse((const uint8_t *)unknown,
			     sizeof(unknown) - 1, &rq, &err),
	    0);
	assert_int_equal(rq.op, EPKI_OP_UNKNOWN);
	assert_string_equal(rq.wrapper, "{}Foo");
	epki_req_cleanup(&rq);
	assert_int_equal(epki_soap_req_parse((const uint8_t *)badyear,
			     sizeof(badyear) - 1, &rq, &err),
	    -1);
	assert_string_equal(err.msg, "Unmarshalling Error: Not a number: one");
	epki_req_cleanup(&rq);
	assert_int_equal(epki_soap_req_parse((const uint8_t *)"<a", 2, &rq,
			     &err),
	    -1);
	assert_non_null(strstr(err.msg, "Unmarshalling Error"));
	epki_req_cleanup(&rq);
}

/*
 * epki-sim's lenient_ns: the 2015 Go client's request (wrapper in the
 * wrong namespace, children qualified) is dispatched and bound by local
 * name; strict parsing (the default) does neither.
 */
static void
test_req_parse_lenient(void **state)
{
	static const char wrong_ns[] =
	    "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\""
	    " xmlns:x=\"urn:elsewhere\"><s:Body><x:OrderAndIssueCertificate>"
	    "<x:Request><x:OrderRequestHeader><x:AuthToken><x:UserName>u"
	    "</x:UserName></x:AuthToken></x:OrderRequestHeader>"
	    "<x:ProfileID>MP1</x:ProfileID><x:DnAttributes><x:CommonName>c"
	    "</x:CommonName><x:OrganizationUnit>o1</x:OrganizationUnit>"
	    "<x:OrganizationUnit>o2</x:OrganizationUnit></x:DnAttributes>"
	    "</x:Request></x:OrderAndIssueCertificate></s:Body></s:Envelope>";
	struct epki_req rq;
	struct gw_err err;

	(void)state;
	assert_int_equal(epki_soap_req_parse((const uint8_t *)wrong_ns,
			     sizeof(wrong_ns) - 1, &rq, &err),
	    0);
	assert_int_equal(rq.op, EPKI_OP_UNKNOWN);
	epki_req_cleanup(&rq);
	assert_int_equal(epki_soap_req_parse_ns((const uint8_t *)wrong_ns,
			     sizeof(wrong_ns) - 1, true, &rq, &err),
	    0);
	assert_int_equal(rq.op, EPKI_OP_ORDER);
	assert_string_equal(rq.user, "u");
	assert_string_equal(rq.order.profile_id, "MP1");
	assert_string_equal(rq.order.cn, "c");
	assert_int_equal(rq.order.nous, 2);
	assert_string_equal(rq.order.ous[1], "o2");
	epki_req_cleanup(&rq);
}

static void
test_timestamp(void **state)
{
	char ts[48], small[8];

	(void)state;
	assert_int_equal(epki_timestamp(ts, sizeof(ts)), 0);
	/* 2016-04-14T10:21:33.512+09:00 */
	assert_int_equal(strlen(ts), 29);
	assert_true(ts[10] == 'T' && ts[19] == '.' && ts[26] == ':');
	assert_true(ts[23] == '+' || ts[23] == '-');
	assert_int_equal(epki_timestamp(small, sizeof(small)), -1);
}

/* epki_xml_escape: runs copied whole, the four escapes, controls refused. */
static void
test_xml_escape(void **state)
{
	static const struct {
		const char *in, *out;
	} ok[] = {
		{ "", "" },
		{ "MIIB+/=\nAA\tz", "MIIB+/=\nAA\tz" },
		{ "a&b<c>d\r\n", "a&amp;b&lt;c&gt;d&#xD;\n" },
		{ "&&<<", "&amp;&amp;&lt;&lt;" },
		{ "caf\xc3\xa9 \"q\" 'a'", "caf\xc3\xa9 \"q\" 'a'" },
	};
	static const char *bad[] = { "a\x01b", "\x1f", "x\x0by", "ok\x7f\x08" };
	struct buf b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		buf_init(&b, 0);
		assert_int_equal(epki_xml_escape(&b, ok[i].in), 0);
		assert_int_equal(b.len, strlen(ok[i].out));
		assert_memory_equal(b.data, ok[i].out, b.len);
		buf_cleanup(&b);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_init(&b, 0);
		if (epki_xml_escape(&b, bad[i]) != -1)
			fail_msg("control character accepted in case %zu", i);
		buf_cleanup(&b);
	}
	/* A full buffer is an error, not a truncated value. */
	buf_init(&b, 4);
	assert_int_equal(epki_xml_escape(&b, "abcdefgh"), -1);
	buf_cleanup(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_fixtures),
		cmocka_unit_test(test_parse_error_texts),
		cmocka_unit_test(test_leaf_by_key),
		cmocka_unit_test(test_code_classes),
		cmocka_unit_test(test_order_build),
		cmocka_unit_test(test_order_build_roundtrip),
		cmocka_unit_test(test_get_order_build),
		cmocka_unit_test(test_build_rejects),
		cmocka_unit_test(test_reply_roundtrip),
		cmocka_unit_test(test_req_parse_edges),
		cmocka_unit_test(test_req_parse_lenient),
		cmocka_unit_test(test_timestamp),
		cmocka_unit_test(test_xml_escape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
