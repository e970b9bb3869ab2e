/*
 * What GlobalSign may send that its schema does not pin down, read by
 * epki_soap.c and epki_cert.c (README "Talking to GlobalSign"): every
 * plausible shape of the issued certificate, Timestamps that must not
 * matter, and ErrorFields that are opaque text.
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

static const char *const ORDER = "OrderAndIssueCertificate";
static const char *const GET = "GetOrderByOrderId";

/*
 * Every plausible CERT shape (the formats epki_cert.c reads): PEM X.509
 * with no final newline, with LF, with "&#xD;\n"; bare base64 of the DER,
 * wrapped or on one line; PKCS#7 with the issuing CA and without; and a
 * GetOrderByOrderId with Certificate only (ReturnP7 false) or with
 * PKCS7Cert too (or an unreadable one). Each gives the one fixture leaf, found
 * by its key; a key it does not hold finds none, and the gateway refuses such
 * an answer (enroll_order_record(): "the CA returned an unusable certificate").
 */
static void
test_cert_shapes(void **state)
{
	static const struct {
		const char *file;
		const char *op;
		int ncerts;
	} t[] = {
		{ "order-x509-nonl.xml", "OrderAndIssueCertificate", 1 },
		{ "order-x509-lf.xml", "OrderAndIssueCertificate", 1 },
		{ "order-x509-crlf.xml", "OrderAndIssueCertificate", 1 },
		{ "order-success-x509-b64.xml", "OrderAndIssueCertificate", 1 },
		{ "order-der-b64-oneline.xml", "OrderAndIssueCertificate", 1 },
		{ "order-p7-leaf-only.xml", "OrderAndIssueCertificate", 1 },
		{ "order-success-p7.xml", "OrderAndIssueCertificate", 2 },
		{ "get-order-x509-nonl.xml", "GetOrderByOrderId", 1 },
		{ "get-order-success.xml", "GetOrderByOrderId", 2 },
		/* A PKCS7Cert that does not decode gives way to Certificate. */
		{ "get-order-p7-unreadable.xml", "GetOrderByOrderId", 1 },
	};
	unsigned char *ref = NULL, *der = NULL;
	EVP_PKEY *key = NULL, *other;
	const X509 *leaf;
	struct epki_resp r;
	struct gw_err err;
	struct buf b;
	int reflen = 0, len;
	size_t i;

	(void)state;
	assert_non_null(other = EVP_EC_gen("P-256"));
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		print_message("CERT shape %s\n", t[i].file);
		fixture_read(t[i].file, &b);
		assert_int_equal(epki_soap_parse(t[i].op, 200, b.data, b.len,
				     &r, &err),
		    0);
		assert_int_equal(r.cls, EPKI_OK);
		assert_int_equal(sk_X509_num(r.certs), t[i].ncerts);
		if (key == NULL) {
			/* The first leaf's key stands for the CSR's. */
			assert_non_null(key = gw_spki_pkey(X509_get_X509_PUBKEY(
					    sk_X509_value(r.certs, 0))));
			reflen = i2d_X509(sk_X509_value(r.certs, 0), &ref);
			assert_true(reflen > 0);
		}
		assert_non_null(leaf = epki_resp_get0_cert_for_key(&r, key));
		der = NULL;
		len = i2d_X509(leaf, &der);
		assert_int_equal(len, reflen);
		assert_memory_equal(der, ref, (size_t)len);
		OPENSSL_free(der);
		assert_null(epki_resp_get0_cert_for_key(&r, other));
		assert_true(epki_resp_has_leaf(&r));
		epki_resp_cleanup(&r);
		buf_cleanup(&b);
	}
	OPENSSL_free(ref);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
}

/* Parses text as op's answer; the caller cleans r up. */
static int
parse_text(const char *op, const char *text, struct epki_resp *r)
{
	return epki_soap_parse(op, 200, (const uint8_t *)text, strlen(text), r,
	    NULL);
}

/* fixture with its Timestamp element replaced by ts ("" drops it). */
static char *
with_timestamp(const struct buf *b, const char *ts)
{
	const char *text = (const char *)b->data;
	const char *s = strstr(text, "<Timestamp>");
	const char *e = strstr(text, "</Timestamp>");
	struct buf out;

	assert_non_null(s);
	assert_non_null(e);
	e += strlen("</Timestamp>");
	buf_init(&out, 0);
	assert_int_equal(buf_add(&out, text, (size_t)(s - text)), 0);
	assert_int_equal(buf_addstr(&out, ts), 0);
	assert_int_equal(buf_addstr(&out, e), 0);
	return (char *)buf_steal(&out, NULL);
}

/*
 * Timestamp is informational only (README "Talking to GlobalSign"):
 * GlobalSign's test system was recorded writing it 12 hours off. Answers
 * with a 12-hour-shifted, far past, far future, empty, nil, garbage or
 * missing Timestamp parse and classify exactly as the original.
 */
static void
test_timestamp_ignored(void **state)
{
	static const char *const variants[] = {
		"<Timestamp>2016-04-14T22:21:33.512+09:00</Timestamp>",
		"<Timestamp>2017-08-09T06:43:00.083-03:00</Timestamp>",
		"<Timestamp>1970-01-01T00:00:00.000Z</Timestamp>",
		"<Timestamp>9999-12-31T23:59:59.999+14:00</Timestamp>",
		"<Timestamp></Timestamp>",
		"<Timestamp/>",
		"<Timestamp xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-"
		"instance\" xsi:nil=\"true\"/>",
		"<Timestamp>yesterday, probably</Timestamp>",
		"",
	};
	static const char *const files[] = { "order-success-x509-b64.xml",
		"order-fail-multi.xml", "order-warning-2001.xml",
		"get-order-success.xml" };
	struct epki_resp want, got;
	size_t i, j, k;
	struct buf b;
	char *text;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		const char *op =
		    strncmp(files[i], "get-", 4) == 0 ? GET : ORDER;

		fixture_read(files[i], &b);
		rc = parse_text(op, (const char *)b.data, &want);
		for (j = 0; j < sizeof(variants) / sizeof(variants[0]); j++) {
			print_message("%s, %s\n", files[i], variants[j]);
			text = with_timestamp(&b, variants[j]);
			assert_int_equal(parse_text(op, text, &got), rc);
			assert_int_equal(got.cls, want.cls);
			assert_int_equal(got.success_code, want.success_code);
			assert_int_equal(got.nerrors, want.nerrors);
			for (k = 0; k < got.nerrors; k++) {
				assert_int_equal(got.errors[k].code,
				    want.errors[k].code);
				assert_string_equal(got.errors[k].field,
				    want.errors[k].field);
			}
			assert_string_equal(got.order_id, want.order_id);
			assert_string_equal(got.order_status,
			    want.order_status);
			assert_string_equal(got.fault, want.fault);
			assert_int_equal(got.certs ? sk_X509_num(got.certs) : 0,
			    want.certs ? sk_X509_num(want.certs) : 0);
			epki_resp_cleanup(&got);
			free(text);
		}
		epki_resp_cleanup(&want);
		buf_cleanup(&b);
	}
}

/*
 * ErrorField is opaque text (README "Talking to GlobalSign"): a dotted
 * path, a leaf name, empty, self-closed or absent, it is kept as sent and
 * the class comes from ErrorCode alone.
 */
static void
test_error_field_opaque(void **state)
{
	static const struct {
		const char *xml, *want;
	} fields[] = {
		{ "<ErrorField>OrderRequestParameter.OrderKind</ErrorField>",
		    "OrderRequestParameter.OrderKind" },
		{ "<ErrorField>DnAttributes.CommonName</ErrorField>",
		    "DnAttributes.CommonName" },
		{ "<ErrorField>OrderRequestHeader.AuthToken.UserName"
		  "</ErrorField>",
		    "OrderRequestHeader.AuthToken.UserName" },
		{ "<ErrorField>Year</ErrorField>", "Year" },
		{ "<ErrorField>OrderAndIssueRequest.DnAttributes4OrderCert."
		  "OrganizationUnit</ErrorField>",
		    "OrderAndIssueRequest.DnAttributes4OrderCert."
		    "OrganizationUnit" },
		{ "<ErrorField></ErrorField>", "" },
		{ "<ErrorField/>", "" },
		{ "", "" },
	};
	static const int codes[] = { -103, -101, -6101, -4001, -9200, -6102 };
	char text[2048];
	struct epki_resp r;
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		for (j = 0; j < sizeof(fields) / sizeof(fields[0]); j++) {
			snprintf(text, sizeof(text),
			    "<soap:Envelope xmlns:soap=\"http://schemas."
			    "xmlsoap.org/soap/envelope/\"><soap:Body>"
			    "<ns2:OrderAndIssueCertificateResponse xmlns:ns2="
			    "\"https://system.globalsign.com/cr/ws/\">"
			    "<Response><OrderResponseHeader><SuccessCode>-1"
			    "</SuccessCode><Errors><Error><ErrorCode>%d"
			    "</ErrorCode>%s<ErrorMessage>m</ErrorMessage>"
			    "</Error></Errors><Timestamp>2017-08-09T06:43:00"
			    ".083-03:00</Timestamp></OrderResponseHeader>"
			    "</Response></ns2:OrderAndIssueCertificateResponse>"
			    "</soap:Body></soap:Envelope>",
			    codes[i], fields[j].xml);
			print_message("%d %s\n", codes[i], fields[j].xml);
			assert_int_equal(parse_text(ORDER, text, &r), 0);
			assert_int_equal(r.cls, epki_code_class(codes[i]));
			assert_int_equal(r.nerrors, 1);
			assert_int_equal(r.errors[0].code, codes[i]);
			assert_string_equal(r.errors[0].field, fields[j].want);
			assert_string_equal(r.errors[0].message, "m");
			epki_resp_cleanup(&r);
		}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cert_shapes),
		cmocka_unit_test(test_timestamp_ignored),
		cmocka_unit_test(test_error_field_opaque),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
