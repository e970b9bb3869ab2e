/*
 * server/intune/ when things go wrong, against a real intune-sim: each
 * refusal code passes through as INTUNE_REFUSED (codes Microsoft never
 * listed and a missing errorDescription too); a 5xx, an HTML page, a
 * reset or a hang end INTUNE_UNAVAILABLE after at most two retries; token
 * and discovery failures name their cause without a secret; freeing the
 * client calls every queued callback once.
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
#include <jansson.h>

#include "gw_err.h"
#include "test_intune_common.h"

/* Intune's refusals, real ones and a fault's codes, pass through. */
static void
test_refusals(void **state)
{
	static const char *const codes[] = { "ChallengeExpired",
		"SubjectNameMismatch", "BadTenantIdInChallenge",
		"SomethingNew" };
	struct isim *s = *state;
	struct intune_result r;
	char fault[160];
	uint8_t *csr, *bare;
	size_t len, blen, i;

	isim_start(s, NULL);
	isim_client(s);
	csr = csr_sim(s, &len);
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		snprintf(fault, sizeof(fault),
		    "{\"hop\":\"validate\",\"mode\":\"code\",\"code\":\"%s\","
		    "\"count\":1}",
		    codes[i]);
		isim_post(s, "/_sim/fault", fault);
		validate_sync(s, "txid-refused", csr, len, &r);
		assert_int_equal(r.outcome, INTUNE_REFUSED);
		assert_string_equal(r.code, codes[i]);
		assert_int_equal(r.http_status, 200);
	}
	/* A refusal is final: one request each. */
	assert_int_equal(isim_count(s, "validate"), 4);
	/* Success without errorDescription: not a Success (P10). */
	isim_post(s, "/_sim/fault",
	    "{\"hop\":\"validate\",\"mode\":\"no-description\",\"count\":1}");
	validate_sync(s, "txid-nodesc", csr, len, &r);
	assert_int_equal(r.outcome, INTUNE_REFUSED);
	assert_non_null(strstr(r.description, "without an errorDescription"));
	/* The sim's own checks: no challenge, not a CSR. */
	bare = csr_new(s, NULL, &blen);
	validate_sync(s, "txid-bare", bare, blen, &r);
	assert_int_equal(r.outcome, INTUNE_REFUSED);
	assert_string_equal(r.code, "ChallengePasswordMissing");
	validate_sync(s, "txid-junk", (const uint8_t *)"junk", 4, &r);
	assert_int_equal(r.outcome, INTUNE_REFUSED);
	assert_string_equal(r.code, "CertificateRequestDecodingFailed");
	/* A notification refused: never INTUNE_OK. */
	isim_post(s, "/_sim/config", "{\"strict_notifications\":\"yes\"}");
	assert_int_equal(intune_failure_call(s->in, "never-validated", csr, len,
			     -1L, "x", &r),
	    -1);
	assert_int_equal(r.outcome, INTUNE_REFUSED);
	assert_string_equal(r.code, "Unknown");
	free(bare);
	free(csr);
}

/* 500, 503 once, an HTML page, a reset, a hang. */
static void
test_unavailable(void **state)
{
	struct isim *s = *state;
	struct intune_result r;
	uint8_t *csr;
	size_t len;
	long disco;

	isim_start(s, NULL);
	s->conf.timeout_seconds = 5;
	isim_client(s);
	csr = csr_sim(s, &len);
	/* Warm the caches, so only validate counts below. */
	validate_sync(s, "txid-warm", csr, len, &r);
	assert_int_equal(r.outcome, INTUNE_OK);

	isim_post(s, "/_sim/fault", "{\"hop\":\"validate\",\"mode\":\"500\"}");
	validate_sync(s, "txid-500", csr, len, &r);
	assert_int_equal(r.outcome, INTUNE_UNAVAILABLE);
	assert_int_equal(r.http_status, 500);
	assert_string_equal(r.code, "InternalError");
	assert_int_equal(isim_count(s, "validate"), 1 + 3);
	isim_post(s, "/_sim/fault", "{\"mode\":\"clear\"}");

	/* One 503, then an answer: a retry gets it. */
	isim_post(s, "/_sim/fault",
	    "{\"hop\":\"validate\",\"mode\":\"503\",\"count\":1}");
	validate_sync(s, "txid-503", csr, len, &r);
	assert_int_equal(r.outcome, INTUNE_OK);
	assert_int_equal(isim_count(s, "validate"), 4 + 2);

	isim_post(s, "/_sim/fault", "{\"hop\":\"validate\",\"mode\":\"html\"}");
	validate_sync(s, "txid-html", csr, len, &r);
	assert_int_equal(r.outcome, INTUNE_UNAVAILABLE);
	assert_non_null(strstr(r.description, "without a JSON code"));
	assert_int_equal(isim_count(s, "validate"), 6 + 3);
	isim_post(s, "/_sim/fault", "{\"mode\":\"clear\"}");

	/* A reset: the service may have moved, so it is looked up again. */
	disco = isim_count(s, "discovery");
	isim_post(s, "/_sim/fault",
	    "{\"hop\":\"validate\",\"mode\":\"reset\"}");
	validate_sync(s, "txid-reset", csr, len, &r);
	assert_int_equal(r.outcome, INTUNE_UNAVAILABLE);
	assert_int_equal(r.http_status, 0);
	assert_true(isim_count(s, "discovery") > disco);
	isim_post(s, "/_sim/fault", "{\"mode\":\"clear\"}");

	/* A hang: [intune] timeout_seconds (5) ends it. */
	isim_post(s, "/_sim/fault",
	    "{\"hop\":\"validate\",\"mode\":\"hang\",\"ms\":60000}");
	validate_sync(s, "txid-hang", csr, len, &r);
	assert_int_equal(r.outcome, INTUNE_UNAVAILABLE);
	assert_non_null(strstr(r.description, "validateRequest"));
	isim_post(s, "/_sim/fault", "{\"mode\":\"clear\"}");
	free(csr);
}

static char single[] = "https://api.manage.microsoft.com";

/* Token and discovery failures: the cause, never the secret. */
static void
test_token_disco(void **state)
{
	struct isim *s = *state;
	struct intune_result r;
	uint8_t *csr;
	size_t len;
	FILE *f;

	isim_start(s, NULL);
	/* A wrong secret. */
	assert_non_null(f = fopen(s->secret_path, "w"));
	fputs("not-the-secret\n", f);
	fclose(f);
	isim_client(s);
	csr = csr_sim(s, &len);
	validate_sync(s, "txid-badsecret", csr, len, &r);
	assert_int_equal(r.outcome, INTUNE_UNAVAILABLE);
	assert_string_equal(r.code, "AADSTS7000215");
	assert_int_equal(r.http_status, 401);
	assert_null(strstr(r.description, "not-the-secret"));
	assert_null(strstr(r.description, SIM_SECRET));
	/* Final: no retry of a refused secret, nothing else asked. */
	assert_int_equal(isim_count(s, "token-graph"), 1);
	assert_int_equal(isim_count(s, "validate"), 0);
	/* The file is read again: the right secret works without restart. */
	assert_non_null(f = fopen(s->secret_path, "w"));
	fputs(SIM_SECRET "\n", f);
	fclose(f);
	validate_sync(s, "txid-goodsecret", csr, len, &r);
	assert_int_equal(r.outcome, INTUNE_OK);

	/* No Graph consent: 403 names the permission. */
	isim_post(s, "/_sim/reset", "{}");
	isim_post(s, "/_sim/config", "{\"consent\":\"graph=no, intune=yes\"}");
	isim_client(s);
	validate_sync(s, "txid-noconsent", csr, len, &r);
	assert_int_equal(r.outcome, INTUNE_UNAVAILABLE);
	assert_int_equal(r.http_status, 403);
	assert_string_equal(r.code, "Authorization_RequestDenied");
	assert_non_null(strstr(r.description, "Application.Read.All"));
	assert_int_equal(isim_count(s, "discovery"), 1);

	/* No SCEP entry in the discovery answer. */
	isim_post(s, "/_sim/reset", "{}");
	isim_post(s, "/_sim/config", "{\"omit_scep\":\"yes\"}");
	isim_client(s);
	validate_sync(s, "txid-omit", csr, len, &r);
	assert_int_equal(r.outcome, INTUNE_UNAVAILABLE);
	assert_string_equal(r.code, "ServiceNotFound");
	assert_non_null(
	    strstr(r.description, "ScepRequestValidationFEService"));

	/* No Intune consent: the token has no role, Intune answers 403. */
	isim_post(s, "/_sim/reset", "{}");
	isim_post(s, "/_sim/config", "{\"consent\":\"graph=yes, intune=no\"}");
	isim_client(s);
	validate_sync(s, "txid-nointune", csr, len, &r);
	assert_int_equal(r.outcome, INTUNE_UNAVAILABLE);
	assert_int_equal(r.http_status, 403);
	assert_non_null(strstr(r.description, "scep_challenge_provider"));
	assert_int_equal(isim_count(s, "validate"), 1);

	/* TLS is verified: without the sim's CA (system store), no call. */
	isim_post(s, "/_sim/reset", "{}");
	s->conf.ca_file = NULL;
	isim_client(s);
	validate_sync(s, "txid-tls", csr, len, &r);
	assert_int_equal(r.outcome, INTUNE_UNAVAILABLE);
	assert_int_equal(r.http_status, 0);
	assert_non_null(strstr(r.description, "certificate"));
	assert_int_equal(isim_count(s, "token-graph"), 0);
	s->conf.ca_file = s->ca;

	/* The single-slash scope is what the sim rejects by default. */
	isim_post(s, "/_sim/reset", "{}");
	s->conf.intune_resource = single;
	isim_client(s);
	validate_sync(s, "txid-slash", csr, len, &r);
	assert_int_equal(r.outcome, INTUNE_UNAVAILABLE);
	assert_string_equal(r.code, "AADSTS500011");
	free(csr);
}

/* intune_free(): every accepted call gets its one callback. */
static void
test_free_drains(void **state)
{
	struct isim *s = *state;
	struct gw_err err;
	struct rec rec;
	uint8_t *csr;
	size_t len;
	int i;

	isim_start(s, NULL);
	isim_post(s, "/_sim/fault",
	    "{\"hop\":\"validate\",\"mode\":\"delay\",\"ms\":200}");
	isim_client(s);
	csr = csr_sim(s, &len);
	rec_init(&rec);
	for (i = 0; i < 20; i++)
		assert_int_equal(intune_validate_submit(s->in, "txid-drain",
				     csr, len, rec_done, &rec, &err),
		    0);
	intune_free(s->in);
	s->in = NULL;
	assert_int_equal(rec.calls, 20);
	rec_free(&rec);
	/* Bad arguments: -1, and no callback. */
	isim_client(s);
	rec_init(&rec);
	assert_int_equal(intune_validate_submit(s->in, "", csr, len, rec_done,
			     &rec, &err),
	    -1);
	assert_int_equal(intune_validate_submit(s->in, "t", csr, 0, rec_done,
			     &rec, &err),
	    -1);
	assert_non_null(strstr(err.msg, "transactionID and the CSR"));
	assert_int_equal(rec.calls, 0);
	rec_free(&rec);
	free(csr);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_refusals, isim_setup,
		    isim_teardown),
		cmocka_unit_test_setup_teardown(test_unavailable, isim_setup,
		    isim_teardown),
		cmocka_unit_test_setup_teardown(test_token_disco, isim_setup,
		    isim_teardown),
		cmocka_unit_test_setup_teardown(test_free_drains, isim_setup,
		    isim_teardown),
	};

	if (access(GW_BUILD "/intune-sim", X_OK) != 0) {
		printf("SKIPPED: test_intune_faults: no %s/intune-sim\n",
		    GW_BUILD);
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
