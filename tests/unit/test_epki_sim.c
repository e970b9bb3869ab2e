/*
 * GetOrders, Revoke and GetProfiles end to end against a real epki-sim on
 * loopback, and every injected fault (set at run time through POST
 * /sim/fault, read back through /sim/state): HTTP 500 Fault, 502/503
 * pages, connection reset, -1, SuccessCode 1 with -2001, per-operation
 * latency, probability, and "issue but drop the reply" followed by the
 * recovery the gateway relies on (GetOrders finds the paid order).
 * A second simulator covers licence packs and profile states from
 * sim.conf and /sim/config, a third the API IP allow-list. The
 * certificate formats are test_epki_sim_format.c's, the sim.conf keys for
 * what the public sources show of GlobalSign beyond the schema
 * test_epki_sim_fidelity.c's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "gw_err.h"
#include "secure.h"
#include "epki.h"
#include "pubkey.h"
#include "test_epki_sim_common.h"

static void
test_orders_revoke_profiles(void **state)
{
	struct env *e = *state;
	struct epki_client_opts o = { .url = e->sim.url, .timeout_s = 10 };
	struct epki_order_query q = { .order_state = "7" };
	char a[64], b[64];
	struct epki_resp r;
	struct gw_err err;

	assert_int_equal(order(e, e->sim.url, 10, "dev-a", 1, a, sizeof(a)),
	    EPKI_OK);
	assert_int_equal(order(e, e->sim.url, 10, "dev-b", 1, b, sizeof(b)),
	    EPKI_OK);
	find(e, "dev-a", e->today, &r);
	assert_int_equal(r.total_count, 1);
	assert_int_equal(r.nfound, 1);
	assert_string_equal(r.found[0].order_id, a);
	assert_string_equal(r.found[0].order_status, "4");
	assert_string_equal(r.found[0].cn, "dev-a");
	assert_non_null(r.found[0].certs);
	epki_resp_cleanup(&r);
	find(e, "dev-a", "2999-01-01", &r);
	assert_int_equal(r.nfound, 0);
	epki_resp_cleanup(&r);
	find(e, NULL, NULL, &r);
	assert_true(r.nfound >= 2);
	epki_resp_cleanup(&r);

	/* Revoke, then again: -9938; the order now shows status 7. */
	assert_int_equal(epki_order_revoke_call(&o, &auth, a, &r, &err), 0);
	assert_string_equal(r.order_id, a);
	epki_resp_cleanup(&r);
	assert_int_equal(epki_order_revoke_call(&o, &auth, a, &r, &err), -1);
	assert_int_equal(r.cls, EPKI_CONFLICT);
	assert_int_equal(r.errors[0].code, -9938);
	epki_resp_cleanup(&r);
	assert_int_equal(epki_order_revoke_call(&o, &auth, "MPS0", &r, &err),
	    -1);
	assert_int_equal(r.cls, EPKI_NOT_FOUND);
	epki_resp_cleanup(&r);
	assert_int_equal(epki_order_find_call(&o, &auth, &q, &r, &err), 0);
	assert_int_equal(r.nfound, 1);
	assert_string_equal(r.found[0].order_id, a);
	epki_resp_cleanup(&r);
	q = (struct epki_order_query) { .request_from = "yesterday" };
	assert_int_equal(epki_order_find_call(&o, &auth, &q, &r, &err), -1);
	assert_int_equal(r.errors[0].code, -104);
	epki_resp_cleanup(&r);

	assert_int_equal(epki_profile_list_call(&o, &auth, PROFILE, &r, &err),
	    0);
	assert_int_equal(r.nprofiles, 1);
	assert_int_equal(r.profiles[0].state, EPKI_PROFILE_VALID);
	assert_string_equal(r.profiles[0].org, "scepgw Test Org");
	assert_string_equal(r.profiles[0].country, "US");
	epki_resp_cleanup(&r);
	assert_int_equal(epki_profile_list_call(&o, &auth, "MP9", &r, &err), 0);
	assert_int_equal(r.nprofiles, 0);
	epki_resp_cleanup(&r);
	assert_int_equal(state_get(&e->sim, "calls.Revoke"), 3);
	assert_int_equal(state_get(&e->sim, "calls.GetOrderByOrderId"), 0);
}

/*
 * The service answers on /cr/ws/GasOrderService and on
 * /services/cr/ws/GasOrderService alike; another path is an HTTP 404,
 * which the response reports in http_status (epki/sim/README.md).
 */
static void
test_both_paths(void **state)
{
	struct env *e = *state;
	char url[192];
	struct epki_client_opts o = { .url = url, .timeout_s = 10 };
	struct epki_resp r;
	struct gw_err err;

	snprintf(url, sizeof(url), "%s/services/cr/ws/GasOrderService",
	    e->sim.base);
	assert_int_equal(epki_profile_list_call(&o, &auth, PROFILE, &r, &err),
	    0);
	assert_int_equal(r.http_status, 200);
	assert_int_equal(r.nprofiles, 1);
	epki_resp_cleanup(&r);
	snprintf(url, sizeof(url), "%s/cr/ws/Nope", e->sim.base);
	assert_int_equal(epki_profile_list_call(&o, &auth, PROFILE, &r, &err),
	    -1);
	assert_int_equal(r.cls, EPKI_TRANSPORT);
	assert_int_equal(r.http_status, 404);
	epki_resp_cleanup(&r);
}

/* Each fault hits exactly the next GetProfiles call, then is gone. */
static void
test_faults(void **state)
{
	static const struct {
		const char *form;
		enum epki_class cls;
		const char *fault;
		int code;
	} t[] = {
		{ "fault=http500", EPKI_TRANSPORT, "HTTP 500 SOAP Fault", 0 },
		{ "fault=http502", EPKI_TRANSPORT, "HTTP 502, not a SOAP", 0 },
		{ "fault=http503", EPKI_TRANSPORT, "HTTP 503, not a SOAP", 0 },
		{ "fault=reset", EPKI_TRANSPORT, "HTTP transport", 0 },
		{ "fault=internal", EPKI_TRANSIENT, "", -1 },
		{ "fault=warning", EPKI_WARNING, "", -2001 },
	};
	struct env *e = *state;
	struct epki_client_opts o = { .url = e->sim.url, .timeout_s = 10 };
	char form[128];
	struct epki_resp r;
	struct gw_err err;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		print_message("%s\n", t[i].form);
		snprintf(form, sizeof(form), "%s&op=GetProfiles&count=1",
		    t[i].form);
		fault_set(&e->sim, form);
		/* Another operation is not affected. */
		assert_int_equal(order(e, e->sim.url, 10, "other", 1, NULL, 0),
		    EPKI_OK);
		epki_profile_list_call(&o, &auth, PROFILE, &r, &err);
		assert_int_equal(r.cls, t[i].cls);
		assert_non_null(strstr(r.fault, t[i].fault));
		if (t[i].code != 0)
			assert_int_equal(r.errors[0].code, t[i].code);
		/* A warning still carries the answer. */
		if (t[i].cls == EPKI_WARNING)
			assert_int_equal(r.nprofiles, 1);
		epki_resp_cleanup(&r);
		assert_int_equal(epki_profile_list_call(&o, &auth, PROFILE, &r,
				     &err),
		    0);
		epki_resp_cleanup(&r);
	}
	/* Only sim.conf's unlimited latency fault is left. */
	assert_int_equal(state_get(&e->sim, "faults"), 1);
	assert_int_equal(state_get(&e->sim, "fired.reset"), 1);
	/* A bad spec is refused. */
	{
		struct buf out;

		assert_int_equal(admin(&e->sim, "/sim/fault", "fault=nope",
				     &out),
		    400);
		buf_cleanup(&out);
	}
}

/* Probability: about half of 40 calls fail, not none and not all. */
static void
test_fault_probability(void **state)
{
	struct env *e = *state;
	struct epki_client_opts o = { .url = e->sim.url, .timeout_s = 10 };
	struct epki_resp r;
	struct gw_err err;
	int i, failed = 0;
	struct buf out;

	assert_int_equal(admin(&e->sim, "/sim/config", "seed=42", &out), 200);
	buf_cleanup(&out);
	fault_set(&e->sim, "fault=internal&op=GetProfiles&prob=50");
	for (i = 0; i < 40; i++) {
		if (epki_profile_list_call(&o, &auth, NULL, &r, &err) == -1)
			failed++;
		epki_resp_cleanup(&r);
	}
	assert_true(failed > 5 && failed < 35);
	assert_int_equal(state_get(&e->sim, "fired.internal"), 1 + failed);
	fault_set(&e->sim, "fault=clear");
	assert_int_equal(state_get(&e->sim, "faults"), 0);
}

/* Latency on one operation: that call times out, the others do not. */
static void
test_fault_latency(void **state)
{
	struct env *e = *state;
	struct epki_client_opts o = { .url = e->sim.url, .timeout_s = 1 };
	struct epki_order_query q = { .cn = "x" };
	struct epki_resp r;
	struct gw_err err;

	fault_set(&e->sim, "latency,op=GetOrders,ms=1500,count=1");
	assert_int_equal(epki_profile_list_call(&o, &auth, NULL, &r, &err), 0);
	epki_resp_cleanup(&r);
	assert_int_equal(epki_order_find_call(&o, &auth, &q, &r, &err), -1);
	assert_int_equal(r.cls, EPKI_TRANSPORT);
	assert_non_null(strstr(r.fault, "timed out"));
	epki_resp_cleanup(&r);
}

/*
 * Drop: the order is made and paid for, the client times out, and
 * GetOrders by CN and date finds it with its certificate: the gateway's
 * no-double-order recovery (README "How an enrollment works" 7).
 */
static void
test_fault_drop_then_find(void **state)
{
	struct env *e = *state;
	long orders = state_get(&e->sim, "orders");
	long spent = state_get(&e->sim, "licences_spent");
	long left = state_get(&e->sim, "licences_left");
	struct epki_resp r;
	const X509 *leaf = NULL;
	int i;

	fault_set(&e->sim,
	    "fault=drop&op=OrderAndIssueCertificate&count=1&ms=2500");
	assert_int_equal(order(e, e->sim.url, 1, "dropped", 1, NULL, 0),
	    EPKI_TRANSPORT);
	assert_int_equal(state_get(&e->sim, "orders"), orders + 1);
	assert_int_equal(state_get(&e->sim, "licences_spent"), spent + 1);
	assert_int_equal(state_get(&e->sim, "licences_left"), left - 1);
	find(e, "dropped", e->today, &r);
	assert_int_equal(r.nfound, 1);
	for (i = 0; i < sk_X509_num(r.found[0].certs) && leaf == NULL; i++)
		if (gw_x509_has_key(sk_X509_value(r.found[0].certs, i), e->key))
			leaf = sk_X509_value(r.found[0].certs, i);
	assert_non_null(leaf);
	epki_resp_cleanup(&r);
	/* ms=0: the connection closes at once, still after the order. */
	fault_set(&e->sim, "drop,op=OrderAndIssueCertificate,count=1");
	assert_int_equal(order(e, e->sim.url, 10, "dropped2", 1, NULL, 0),
	    EPKI_TRANSPORT);
	assert_int_equal(state_get(&e->sim, "orders"), orders + 2);
	assert_int_equal(state_get(&e->sim, "orders"),
	    state_get(&e->sim, "licences_spent"));
}

/* Licence packs and profile states from sim.conf and /sim/config. */
static void
test_packs_and_profile(void **state)
{
	struct env *e = *state;
	struct sim s2;
	struct epki_client_opts o;
	struct epki_resp r;
	struct gw_err err;
	struct buf out;

	sim_start(&s2,
	    "licences = 1\nlicence_expiry = 2999-12-31\n"
	    "pack = 2, 5, 2001-01-01\nprofile_state = pending\n");
	o = (struct epki_client_opts) { .url = s2.url, .timeout_s = 10 };
	/* Pending vetting: -105 ProfileID. */
	assert_int_equal(order(e, s2.url, 10, "p", 1, NULL, 0),
	    EPKI_BAD_REQUEST);
	assert_int_equal(epki_profile_list_call(&o, &auth, NULL, &r, &err), 0);
	assert_int_equal(r.profiles[0].state, EPKI_PROFILE_PENDING);
	epki_resp_cleanup(&r);
	assert_int_equal(admin(&s2, "/sim/config", "profile_state=validated",
			     &out),
	    200);
	buf_cleanup(&out);
	assert_int_equal(order(e, s2.url, 10, "p", 1, NULL, 0), EPKI_OK);
	/* The one 1-year licence is gone; the 2-year pack has expired. */
	assert_int_equal(order(e, s2.url, 10, "p", 1, NULL, 0), EPKI_QUOTA);
	assert_int_equal(order(e, s2.url, 10, "p", 2, NULL, 0), EPKI_QUOTA);
	/* No pack for 3 years: the same licence error. */
	assert_int_equal(order(e, s2.url, 10, "p", 3, NULL, 0), EPKI_QUOTA);
	assert_int_equal(state_get(&s2, "licences_spent"), 1);
	assert_int_equal(state_get(&s2, "licences_left"), 5);
	assert_int_equal(admin(&s2, "/sim/config",
			     "profile_state=suspended&licences=3", &out),
	    200);
	buf_cleanup(&out);
	assert_int_equal(order(e, s2.url, 10, "p", 1, NULL, 0),
	    EPKI_BAD_REQUEST);
	assert_int_equal(epki_profile_list_call(&o, &auth, NULL, &r, &err), 0);
	assert_int_equal(r.profiles[0].state, EPKI_PROFILE_SUSPENDED);
	epki_resp_cleanup(&r);
	assert_int_equal(state_get(&s2, "licences_left"), 8);
	assert_int_equal(admin(&s2, "/sim/config", "profile_state=gone", &out),
	    400);
	buf_cleanup(&out);
	assert_int_equal(sim_stop(&s2), 0);

	/* The API IP allow-list: loopback is not in it. */
	sim_start(&s2, "allow = 10.0.0.0/8\n");
	o.url = s2.url;
	assert_int_equal(epki_profile_list_call(&o, &auth, NULL, &r, &err), -1);
	assert_int_equal(r.cls, EPKI_AUTH);
	assert_int_equal(r.errors[0].code, -4201);
	epki_resp_cleanup(&r);
	assert_int_equal(sim_stop(&s2), 0);
}

/* Orders product for years at url; returns the first ErrorCode (0: none)
 * and its ErrorField into field. */
static int
order_code(const struct env *e, const char *url, const char *product, int years,
    char *field, size_t flen)
{
	struct epki_client_opts o = { .url = url, .timeout_s = 10 };
	struct epki_order ord = { .profile_id = PROFILE,
		.product_code = product,
		.years = years,
		.csr_pem = e->csr,
		.cn = "lic" };
	struct epki_resp r;
	struct gw_err err;
	int code;

	epki_order_call(&o, &auth, &ord, &r, &err);
	code = r.nerrors > 0 ? r.errors[0].code : 0;
	snprintf(field, flen, "%s", r.nerrors > 0 ? r.errors[0].field : "");
	epki_resp_cleanup(&r);
	return code;
}

/*
 * The one licence error (epki/sim/README.md "Validation order" step 4):
 * an expired pack, a used-up pack, a ProductCode no pack covers and a Year
 * no pack sells all answer no_licence_code with no ErrorField, and spend
 * nothing; denied_product is -9901 ProductCode.
 */
static void
test_one_licence_error(void **state)
{
	struct env *e = *state;
	struct sim s2;
	struct buf out;
	char field[128]; /* as struct epki_error's */

	sim_start(&s2,
	    "licences = 1\nexpired_code = -7000\n"
	    "denied_product = EPKIPSPro\n");
	assert_int_equal(state_get(&s2, "no_licence_code"), -7000);
	assert_int_equal(order_code(e, s2.url, "EPKIPSPersonal", 2, field,
			     sizeof(field)),
	    -7000);
	assert_string_equal(field, "");
	assert_int_equal(order_code(e, s2.url, "EPKIOther", 1, field,
			     sizeof(field)),
	    -7000);
	assert_int_equal(order_code(e, s2.url, "EPKIPSPro", 1, field,
			     sizeof(field)),
	    -9901);
	assert_string_equal(field, "ProductCode");
	assert_int_equal(admin(&s2, "/sim/config",
			     "no_licence_code=-6101&licence_expiry=2001-01-01",
			     &out),
	    200);
	buf_cleanup(&out);
	assert_int_equal(order_code(e, s2.url, "EPKIPSPersonal", 1, field,
			     sizeof(field)),
	    -6101);
	assert_int_equal(state_get(&s2, "licences_spent"), 0);
	/* All or nothing: a bad item leaves the code as it was. */
	assert_int_equal(admin(&s2, "/sim/config",
			     "licence_expiry=2999-12-31&no_licence_code=5",
			     &out),
	    400);
	buf_cleanup(&out);
	assert_int_equal(state_get(&s2, "no_licence_code"), -6101);
	assert_int_equal(order_code(e, s2.url, "EPKIPSPersonal", 1, field,
			     sizeof(field)),
	    -6101);
	assert_int_equal(admin(&s2, "/sim/config", "licence_expiry=2999-12-31",
			     &out),
	    200);
	buf_cleanup(&out);
	assert_int_equal(order_code(e, s2.url, "EPKIPSPersonal", 1, field,
			     sizeof(field)),
	    0);
	/* The pack's one licence is gone. */
	assert_int_equal(order_code(e, s2.url, "EPKIPSPersonal", 1, field,
			     sizeof(field)),
	    -6101);
	assert_int_equal(state_get(&s2, "licences_spent"), 1);
	assert_int_equal(sim_stop(&s2), 0);
}

/* The NIDs of x's extensions, in order, into nids (at most max). */
static int
ext_nids(const X509 *x, int *nids, int max)
{
	int i, n = X509_get_ext_count(x);

	assert_true(n <= max);
	for (i = 0; i < n; i++)
		nids[i] =
		    OBJ_obj2nid(X509_EXTENSION_get_object(X509_get_ext(x, i)));
	return n;
}

/*
 * The leaf's extensions, in their order: the fixed ones are
 * built once at start, the subjectKeyIdentifier per leaf (SHA-1 of its
 * key), the authorityKeyIdentifier is the issuing CA's key identifier,
 * and the URLs carry the bound port.
 */
static void
test_leaf_extensions(void **state)
{
	static const int want[] = { NID_basic_constraints, NID_key_usage,
		NID_ext_key_usage, NID_certificate_policies,
		NID_subject_key_identifier, NID_authority_key_identifier,
		NID_crl_distribution_points, NID_info_access };
	struct env *e = *state;
	struct epki_client_opts o = { .url = e->sim.url, .timeout_s = 10 };
	struct epki_order ord = { .profile_id = PROFILE,
		.product_code = "EPKIPSPersonal",
		.years = 1,
		.csr_pem = e->csr,
		.cn = "ext-check" };
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	const ASN1_OCTET_STRING *ski, *aki;
	const X509 *leaf;
	struct epki_resp r;
	struct gw_err err;
	X509 *full, *ca;
	FILE *f;
	char port[16], text[256], path[192];
	int nids[16], n, i, crit;
	BIO *b;

	assert_int_equal(epki_order_call(&o, &auth, &ord, &r, &err), 0);
	leaf = epki_resp_get0_cert_for_key(&r, e->key);
	assert_non_null(leaf);
	/* CERT is the leaf alone by default: the CA from DIR. */
	snprintf(path, sizeof(path), "%s/issuing.pem", e->sim.dir);
	assert_non_null(f = fopen(path, "r"));
	ca = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(ca);
	assert_int_equal(X509_check_issued(ca, (X509 *)(uintptr_t)leaf),
	    X509_V_OK);
	full = gw_x509_full(leaf);
	assert_non_null(full);
	n = ext_nids(full, nids, 16);
	assert_int_equal(n, (int)(sizeof(want) / sizeof(want[0])));
	for (i = 0; i < n; i++)
		assert_int_equal(nids[i], want[i]);
	assert_int_equal(X509_get_extension_flags(full) & EXFLAG_CA, 0);
	assert_int_equal(X509_get_key_usage(full),
	    KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
	assert_int_equal(X509_get_extended_key_usage(full),
	    XKU_SSL_CLIENT | XKU_SMIME);
	ASN1_BIT_STRING_free(
	    X509_get_ext_d2i(full, NID_key_usage, &crit, NULL));
	assert_int_equal(crit, 1);
	ski = X509_get0_subject_key_id(full);
	assert_non_null(ski);
	assert_int_equal(X509_pubkey_digest(full, EVP_sha1(), md, &mdlen), 1);
	assert_int_equal(ASN1_STRING_length(ski), (int)mdlen);
	assert_memory_equal(ASN1_STRING_get0_data(ski), md, mdlen);
	aki = X509_get0_authority_key_id(full);
	assert_non_null(aki);
	assert_int_equal(ASN1_OCTET_STRING_cmp(aki,
			     X509_get0_subject_key_id(ca)),
	    0);
	snprintf(port, sizeof(port), ":%s/", strrchr(e->sim.base, ':') + 1);
	b = BIO_new(BIO_s_mem());
	for (i = 3; i < n; i++) {
		if (i == 4 || i == 5)
			continue;
		assert_int_equal(X509V3_EXT_print(b, X509_get_ext(full, i), 0,
				     0),
		    1);
		memset(text, 0, sizeof(text));
		BIO_read(b, text, sizeof(text) - 1);
		if (strstr(text, port) == NULL)
			fail_msg("extension %d lacks port %s: %s", i, port,
			    text);
	}
	BIO_free(b);
	X509_free(full);
	X509_free(ca);
	epki_resp_cleanup(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_orders_revoke_profiles),
		cmocka_unit_test(test_both_paths),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_fault_probability),
		cmocka_unit_test(test_fault_latency),
		cmocka_unit_test(test_fault_drop_then_find),
		cmocka_unit_test(test_packs_and_profile),
		cmocka_unit_test(test_one_licence_error),
		cmocka_unit_test(test_leaf_extensions),
	};

	return cmocka_run_group_tests(tests, env_setup, env_teardown);
}
