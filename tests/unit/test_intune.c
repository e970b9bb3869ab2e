/*
 * server/intune/ against a real intune-sim on loopback (HTTPS, its test
 * CA): the three ScepActions calls as the sim logged them, token and
 * discovery caching with one request in flight per scope, refresh after
 * the token's lifetime, a 401 and a moved service, the discovery knobs,
 * the double-slash scope, and a certificate's client assertion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gw_err.h"
#include "test_intune_common.h"
#include "test_keys.h"

#define NPAR 8 /* concurrent validations */

/* The string member name of the log entry's body. */
static const char *
body_str(json_t *e, const char *name)
{
	return json_string_value(
	    json_object_get(json_object_get(e, "body"), name));
}

static const char *
header(json_t *e, const char *name)
{
	return json_string_value(
	    json_object_get(json_object_get(e, "headers"), name));
}

/* validate → success, and a failure for another transaction, as sent. */
static void
test_happy(void **state)
{
	struct isim *s = *state;
	struct intune_result r;
	unsigned char md[20];
	char thumb[41];
	struct gw_err err;
	struct rec rec;
	size_t len, len2, i;
	uint8_t *csr, *csr2;
	json_t *e;
	X509 *cert;

	isim_start(s, NULL);
	isim_client(s);
	csr = csr_sim(s, &len);
	validate_sync(s, "txid-happy-1", csr, len, &r);
	assert_int_equal(r.outcome, INTUNE_OK);
	assert_int_equal(r.http_status, 200);
	assert_string_equal(r.code, "Success");
	assert_int_equal(strlen(r.activity_id), 36);
	/* What the sim received. */
	assert_non_null(e = isim_log_hop(s, "validate", 0));
	assert_string_equal(body_str(e, "transactionId"), "txid-happy-1");
	assert_string_equal(body_str(e, "callerInfo"),
	    "scepgw/" GW_TEST_VERSION);
	assert_int_equal(json_integer_value(
			     json_object_get(json_object_get(e, "body"),
				 "csr_len")),
	    (json_int_t)(4 * ((len + 2) / 3))); /* base64, no line breaks */
	assert_string_equal(header(e, "api-version"), "2018-02-20");
	assert_string_equal(header(e, "client-request-id"), r.activity_id);
	assert_string_equal(header(e, "Content-Type"), "application/json");
	assert_string_equal(header(e, "Authorization"), "Bearer");
	json_decref(e);

	/* successNotification from the certificate, asynchronously. */
	cert = cert_for(csr, len);
	rec_init(&rec);
	gw_err_clear(&err);
	assert_int_equal(intune_success_submit(s->in, "txid-happy-1", csr, len,
			     cert, rec_done, &rec, &err),
	    0);
	rec_wait(&rec, 1);
	assert_int_equal(rec.r.outcome, INTUNE_OK);
	assert_false(pthread_equal(rec.thread, pthread_self()));
	rec_free(&rec);
	assert_non_null(e = isim_log_hop(s, "success", 0));
	X509_digest(cert, EVP_sha1(), md, NULL);
	for (i = 0; i < 20; i++)
		snprintf(thumb + 2 * i, 3, "%02X", md[i]);
	assert_string_equal(body_str(e, "certificateThumbprint"), thumb);
	assert_non_null(body_str(e, "certificateSerialNumber"));
	assert_non_null(strstr(body_str(e, "issuingCertificateAuthority"),
	    "CN=Test Issuing CA"));
	assert_int_equal(strlen(body_str(e, "certificateExpirationDateUtc")),
	    24);
	json_decref(e);
	X509_free(cert);

	/* failureNotification for a second validated transaction, blocking. */
	csr2 = csr_sim(s, &len2);
	validate_sync(s, "txid-happy-2", csr2, len2, &r);
	assert_int_equal(r.outcome, INTUNE_OK);
	assert_int_equal(intune_failure_call(s->in, "txid-happy-2", csr2, len2,
			     -1610612735L, "GlobalSign refused the order", &r),
	    0);
	assert_int_equal(r.outcome, INTUNE_OK);
	assert_non_null(e = isim_log_hop(s, "failure", 0));
	assert_int_equal(json_integer_value(
			     json_object_get(json_object_get(e, "body"),
				 "hResult")),
	    -1610612735LL);
	assert_string_equal(body_str(e, "errorDescription"),
	    "GlobalSign refused the order");
	json_decref(e);
	/* The sim found nothing to object to. */
	assert_int_equal(isim_violations(s), 0);
	/* One Intune token, one Graph token, one discovery for all of it. */
	assert_int_equal(isim_tokens(s, "graph"), 1);
	assert_int_equal(isim_tokens(s, "intune"), 1);
	assert_int_equal(isim_count(s, "discovery"), 1);
	/* The double-slash scope, never the single one (README). */
	assert_non_null(e = isim_log_hop(s, "token-intune", 0));
	assert_string_equal(body_str(e, "scope"),
	    "https://api.manage.microsoft.com//.default");
	assert_string_equal(body_str(e, "credential"), "secret");
	json_decref(e);
	free(csr);
	free(csr2);
}

/* N validations at once: one token per scope, one discovery. */
static void
test_single_flight(void **state)
{
	struct isim *s = *state;
	struct rec rec;
	struct gw_err err;
	uint8_t *csr[NPAR];
	size_t len[NPAR];
	char txid[32];
	int i;

	/* A slow token endpoint makes every caller find it in flight. */
	isim_start(s, NULL);
	isim_post(s, "/_sim/fault",
	    "{\"hop\":\"token-graph\",\"mode\":\"delay\",\"ms\":300}");
	isim_post(s, "/_sim/fault",
	    "{\"hop\":\"token-intune\",\"mode\":\"delay\",\"ms\":300}");
	isim_client(s);
	for (i = 0; i < NPAR; i++)
		csr[i] = csr_sim(s, &len[i]);
	rec_init(&rec);
	for (i = 0; i < NPAR; i++) {
		snprintf(txid, sizeof(txid), "txid-par-%d", i);
		assert_int_equal(intune_validate_submit(s->in, txid, csr[i],
				     len[i], rec_done, &rec, &err),
		    0);
	}
	rec_wait(&rec, NPAR);
	assert_int_equal(rec.r.outcome, INTUNE_OK);
	rec_free(&rec);
	assert_int_equal(isim_count(s, "validate"), NPAR);
	assert_int_equal(isim_count(s, "token-graph"), 1);
	assert_int_equal(isim_count(s, "token-intune"), 1);
	assert_int_equal(isim_count(s, "discovery"), 1);
	for (i = 0; i < NPAR; i++)
		free(csr[i]);
}

/* A token is renewed once its lifetime has passed, before a 401. */
static void
test_refresh(void **state)
{
	struct isim *s = *state;
	struct intune_result r;
	int64_t until;
	uint8_t *csr;
	size_t len;
	int n = 0;

	isim_start(s, "token_lifetime = 2\n");
	isim_client(s);
	csr = csr_sim(s, &len);
	validate_sync(s, "txid-refresh-0", csr, len, &r);
	assert_int_equal(r.outcome, INTUNE_OK);
	assert_int_equal(isim_tokens(s, "intune"), 1);
	/* Poll: call until a second Intune token was asked for. */
	until = (int64_t)time(NULL) + 60;
	while (isim_tokens(s, "intune") < 2 && (int64_t)time(NULL) < until) {
		validate_sync(s, "txid-refresh-n", csr, len, &r);
		assert_int_equal(r.outcome, INTUNE_OK);
		n++;
	}
	assert_true(isim_tokens(s, "intune") >= 2);
	assert_true(n >= 1);
	free(csr);
}

/* 401 on validate: one new token and one retry. */
static void
test_401(void **state)
{
	struct isim *s = *state;
	struct intune_result r;
	uint8_t *csr;
	size_t len;

	isim_start(s, NULL);
	isim_client(s);
	csr = csr_sim(s, &len);
	isim_post(s, "/_sim/fault",
	    "{\"hop\":\"validate\",\"mode\":\"401\",\"count\":1}");
	validate_sync(s, "txid-401", csr, len, &r);
	assert_int_equal(r.outcome, INTUNE_OK);
	assert_int_equal(isim_count(s, "validate"), 2);
	assert_int_equal(isim_tokens(s, "intune"), 2);
	assert_int_equal(isim_tokens(s, "graph"), 1);
	/* 401 twice: refused, no third try with a third token. */
	isim_post(s, "/_sim/fault",
	    "{\"hop\":\"validate\",\"mode\":\"401\",\"count\":2}");
	validate_sync(s, "txid-401b", csr, len, &r);
	assert_int_equal(r.outcome, INTUNE_UNAVAILABLE);
	assert_int_equal(r.http_status, 401);
	assert_int_equal(isim_count(s, "validate"), 4);
	assert_int_equal(isim_tokens(s, "intune"), 3);
	/* 401 on discovery: one new Graph token, then the lookup. */
	isim_post(s, "/_sim/config",
	    "{\"service_path\":\"/Moved/StatelessScepRequestValidation"
	    "Service\"}");
	isim_post(s, "/_sim/fault",
	    "{\"hop\":\"discovery\",\"mode\":\"401\",\"count\":1}");
	validate_sync(s, "txid-401c", csr, len, &r);
	assert_int_equal(r.outcome, INTUNE_OK);
	assert_int_equal(isim_tokens(s, "graph"), 2);
	assert_int_equal(isim_count(s, "discovery"), 3);
	free(csr);
}

/* The service moved: one new discovery, then the new URL. */
static void
test_moved(void **state)
{
	struct isim *s = *state;
	struct intune_result r;
	uint8_t *csr;
	size_t len;
	json_t *e;

	isim_start(s, NULL);
	isim_client(s);
	csr = csr_sim(s, &len);
	validate_sync(s, "txid-move-1", csr, len, &r);
	assert_int_equal(r.outcome, INTUNE_OK);
	isim_post(s, "/_sim/config",
	    "{\"service_path\":\"/Moved/RACerts/"
	    "StatelessScepRequestValidationService\"}");
	validate_sync(s, "txid-move-2", csr, len, &r);
	assert_int_equal(r.outcome, INTUNE_OK);
	assert_int_equal(isim_count(s, "discovery"), 2);
	assert_int_equal(isim_count(s, "other"), 1); /* the old path: 404 */
	assert_non_null(e = isim_log_hop(s, "validate", 1));
	assert_non_null(strstr(json_string_value(json_object_get(e, "path")),
	    "/Moved/RACerts/"));
	json_decref(e);
	/* Cached again. */
	validate_sync(s, "txid-move-3", csr, len, &r);
	assert_int_equal(isim_count(s, "discovery"), 2);
	free(csr);
}

/* providerName in odd case, a trailing '/' on uri. */
static void
test_disco_knobs(void **state)
{
	struct isim *s = *state;
	struct intune_result r;
	uint8_t *csr;
	size_t len;

	isim_start(s, "odd_case = yes\ntrailing_slash = yes\n");
	isim_client(s);
	csr = csr_sim(s, &len);
	validate_sync(s, "txid-knobs", csr, len, &r);
	assert_int_equal(r.outcome, INTUNE_OK);
	/* No doubled '/' (a 404) and no second lookup. */
	assert_int_equal(isim_count(s, "validate"), 1);
	assert_int_equal(isim_count(s, "discovery"), 1);
	assert_int_equal(isim_count(s, "other"), 0);
	free(csr);
}

/* client_cert + client_key: a signed client assertion, no secret. */
static void
test_assertion(void **state)
{
	struct isim *s = *state;
	char conf[256], cert_path[128], key_path[128];
	struct intune_result r;
	EVP_PKEY *k;
	uint8_t *csr;
	size_t len;
	json_t *e;
	FILE *f;
	X509 *x;

	/* The app's certificate, registered with the sim. */
	snprintf(cert_path, sizeof(cert_path), "/tmp/test_intune_app.%d.pem",
	    (int)getpid());
	snprintf(key_path, sizeof(key_path), "/tmp/test_intune_app.%d.key",
	    (int)getpid());
	assert_non_null(k = test_key_rsa(2048));
	assert_non_null(f = fopen(key_path, "w"));
	PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	assert_int_equal(chmod(key_path, 0600), 0);
	x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)"scepgw app", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, k);
	X509_sign(x, k, EVP_sha256());
	assert_non_null(f = fopen(cert_path, "w"));
	PEM_write_X509(f, x);
	fclose(f);
	snprintf(conf, sizeof(conf), "client_cert = %s\n", cert_path);
	isim_start(s, conf);
	s->conf.client_secret_file = NULL;
	s->conf.client_cert = cert_path;
	s->conf.client_key = key_path;
	isim_client(s);
	csr = csr_sim(s, &len);
	validate_sync(s, "txid-assertion", csr, len, &r);
	assert_int_equal(r.outcome, INTUNE_OK);
	assert_non_null(e = isim_log_hop(s, "token-intune", 0));
	assert_string_equal(body_str(e, "credential"), "assertion");
	json_decref(e);
	assert_non_null(e = isim_log_hop(s, "token-graph", 0));
	assert_string_equal(body_str(e, "credential"), "assertion");
	json_decref(e);
	/* A second token request has a new jti (the sim refuses a reuse). */
	isim_post(s, "/_sim/fault",
	    "{\"hop\":\"validate\",\"mode\":\"401\",\"count\":1}");
	validate_sync(s, "txid-assertion-2", csr, len, &r);
	assert_int_equal(r.outcome, INTUNE_OK);
	assert_int_equal(isim_tokens(s, "intune"), 2);
	unlink(cert_path);
	unlink(key_path);
	X509_free(x);
	EVP_PKEY_free(k);
	free(csr);
}

/* The notification fields' formats, and a long description cut right. */
static void
test_formats(void **state)
{
	struct isim *s = *state;
	char want[64], desc[400];
	struct intune_result r;
	const char *got;
	struct tm tm;
	uint8_t *csr;
	BIGNUM *bn;
	size_t len, i;
	json_t *e;
	char *hex;
	X509 *cert;

	isim_start(s, NULL);
	isim_client(s);
	csr = csr_sim(s, &len);
	validate_sync(s, "txid-fmt", csr, len, &r);
	cert = cert_for(csr, len);
	assert_int_equal(intune_success_call(s->in, "txid-fmt", csr, len, cert,
			     &r),
	    0);
	assert_non_null(e = isim_log_hop(s, "success", 0));
	/* Serial: uppercase hex of the certificate's serial. */
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	hex = BN_bn2hex(bn);
	assert_string_equal(body_str(e, "certificateSerialNumber"), hex);
	OPENSSL_free(hex);
	BN_free(bn);
	/* Expiry: notAfter, ISO 8601 UTC with milliseconds. */
	assert_int_equal(ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm), 1);
	strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	assert_string_equal(body_str(e, "certificateExpirationDateUtc"), want);
	assert_string_equal(body_str(e, "issuingCertificateAuthority"),
	    "O=scepgw tests,CN=Test Issuing CA");
	json_decref(e);
	X509_free(cert);
	/* 130 two-byte characters: cut at 254 bytes, not inside one. */
	for (i = 0; i < 130; i++)
		memcpy(desc + 2 * i, "\xc3\xa9", 2);
	desc[260] = '\0';
	validate_sync(s, "txid-fmt2", csr, len, &r);
	assert_int_equal(intune_failure_call(s->in, "txid-fmt2", csr, len,
			     -2147467259L, desc, &r),
	    0);
	assert_non_null(e = isim_log_hop(s, "failure", 0));
	got = body_str(e, "errorDescription");
	assert_int_equal(strlen(got), 254);
	assert_memory_equal(got, desc, 254);
	assert_int_equal(json_integer_value(
			     json_object_get(json_object_get(e, "body"),
				 "hResult")),
	    -2147467259LL);
	json_decref(e);
	assert_int_equal(isim_violations(s), 0);
	free(csr);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_happy, isim_setup,
		    isim_teardown),
		cmocka_unit_test_setup_teardown(test_single_flight, isim_setup,
		    isim_teardown),
		cmocka_unit_test_setup_teardown(test_refresh, isim_setup,
		    isim_teardown),
		cmocka_unit_test_setup_teardown(test_401, isim_setup,
		    isim_teardown),
		cmocka_unit_test_setup_teardown(test_moved, isim_setup,
		    isim_teardown),
		cmocka_unit_test_setup_teardown(test_disco_knobs, isim_setup,
		    isim_teardown),
		cmocka_unit_test_setup_teardown(test_assertion, isim_setup,
		    isim_teardown),
		cmocka_unit_test_setup_teardown(test_formats, isim_setup,
		    isim_teardown),
	};

	if (access(GW_BUILD "/intune-sim", X_OK) != 0) {
		printf("SKIPPED: test_intune: no %s/intune-sim\n", GW_BUILD);
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
