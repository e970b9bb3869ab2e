/*
 * epki-sim's sim.conf keys for what the public sources show of GlobalSign
 * beyond the schema: profile OUs, UPN, Email, field lengths, LicenseNo,
 * SerialNumber formats, the profile's closing date, lenient_ns.
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

/* Orders ord (profile, product, year and CSR filled in) from url into r. */
static void
order_full(const struct env *e, const char *url, struct epki_order *ord,
    struct epki_resp *r)
{
	struct epki_client_opts o = { .url = url, .timeout_s = 10 };
	struct gw_err err;

	ord->profile_id = PROFILE;
	ord->product_code = "EPKIPSPersonal";
	ord->years = 1;
	ord->csr_pem = e->csr;
	epki_order_call(&o, &auth, ord, r, &err);
}

/* True when x carries a UPN otherName. */
static bool
has_upn(const X509 *x)
{
	GENERAL_NAMES *gens =
	    X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	bool found = false;
	int i;

	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++)
		found = found ||
		    sk_GENERAL_NAME_value(gens, i)->type == GEN_OTHERNAME;
	GENERAL_NAMES_free(gens);
	return found;
}

/* The sim.conf of the two tests below. */
static const char knob_conf[] =
    "profile_ous = For Test Use Only\nprofile_ous = Second, Third\n"
    "profile_upn = no\nemail_allowed = no\nemail_code = -9998\n"
    "max_ous = 2\ntimestamp_skew = 12\n"
    "profile_state_codes = VALIDATED, PENDING, SUSPENDED\n";

/* One good order ("knobs", OU "Request", a UPN) from s2 into r. */
static void
knob_order(const struct env *e, const struct sim *s2, struct epki_resp *r)
{
	struct epki_order ord;

	memset(&ord, 0, sizeof(ord));
	ord.cn = "knobs";
	ord.ous[ord.nous++] = "Request";
	ord.upn = "someone@corp.example";
	order_full(e, s2->url, &ord, r);
	assert_int_equal(r->cls, EPKI_OK);
}

/*
 * The GlobalSign behaviour the public sources show, from sim.conf: the
 * profile's OUs after the request's and in GetProfiles, the UPN only when
 * the profile enables it, a 12-hour Timestamp skew, the state strings.
 */
static void
test_fidelity_profile(void **state)
{
	static const char *const want_ous[] = { "Request", "For Test Use Only",
		"Second", "Third" };
	struct env *e = *state;
	struct epki_client_opts o;
	struct epki_resp r;
	struct gw_err err;
	char text[64];
	struct sim s2;
	X509_NAME *n;
	const X509 *leaf;
	ASN1_STRING *d;
	int i, k = -1;

	sim_start(&s2, knob_conf);
	o = (struct epki_client_opts) { .url = s2.url, .timeout_s = 10 };
	knob_order(e, &s2, &r);
	leaf = epki_resp_get0_cert_for_key(&r, e->key);
	assert_non_null(leaf);
	n = X509_get_subject_name(leaf);
	/* OUs: the request's, then the profile's in sim.conf order. */
	for (i = 0; i < 4; i++) {
		k = X509_NAME_get_index_by_NID(n, NID_organizationalUnitName,
		    k);
		assert_true(k >= 0);
		d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, k));
		snprintf(text, sizeof(text), "%.*s", ASN1_STRING_length(d),
		    (const char *)ASN1_STRING_get0_data(d));
		assert_string_equal(text, want_ous[i]);
	}
	assert_false(has_upn(leaf));
	epki_resp_cleanup(&r);

	/* GetProfiles: the OUs, UPN false, the configured state string. */
	assert_int_equal(epki_profile_list_call(&o, &auth, NULL, &r, &err), 0);
	assert_int_equal(r.profiles[0].nous, 3);
	assert_string_equal(r.profiles[0].ous[0], "For Test Use Only");
	assert_string_equal(r.profiles[0].ous[2], "Third");
	assert_string_equal(r.profiles[0].upn, "false");
	assert_string_equal(r.profiles[0].state_code, "VALIDATED");
	assert_int_equal(r.profiles[0].state, EPKI_PROFILE_VALID);
	assert_string_equal(r.profiles[0].not_after,
	    "2099-12-31T23:59:59.000Z");
	epki_resp_cleanup(&r);
	assert_int_equal(sim_stop(&s2), 0);
}

/*
 * Email refused with email_code, max_ous, the field lengths (-103,
 * dotted ErrorField); LicenseNo on every order and the LicenseOrderNo
 * filter.
 */
static void
test_fidelity_refusals(void **state)
{
	struct env *e = *state;
	struct epki_client_opts o;
	struct epki_order_query q = { .want_cert_info = true };
	struct epki_order ord;
	struct epki_resp r;
	struct gw_err err;
	char long_cn[70];
	struct sim s2;

	sim_start(&s2, knob_conf);
	o = (struct epki_client_opts) { .url = s2.url, .timeout_s = 10 };
	knob_order(e, &s2, &r);
	epki_resp_cleanup(&r);
	memset(&ord, 0, sizeof(ord));
	ord.cn = "knobs";
	ord.ous[ord.nous++] = "Request";
	/* Email on an account that may not: email_code, dotted field. */
	ord.email = "a@example.com";
	order_full(e, s2.url, &ord, &r);
	assert_int_equal(r.errors[0].code, -9998);
	assert_string_equal(r.errors[0].field, "DnAttributes.Email");
	epki_resp_cleanup(&r);
	ord.email = NULL;
	/* Three OUs with max_ous = 2. */
	ord.ous[ord.nous++] = "b";
	ord.ous[ord.nous++] = "c";
	order_full(e, s2.url, &ord, &r);
	assert_int_equal(r.errors[0].code, -103);
	assert_string_equal(r.errors[0].field, "DnAttributes.OrganizationUnit");
	epki_resp_cleanup(&r);
	ord.nous = 1;
	/* CN of 65 characters; 64 multi-byte characters are fine. */
	memset(long_cn, 'x', 65);
	long_cn[65] = '\0';
	ord.cn = long_cn;
	order_full(e, s2.url, &ord, &r);
	assert_int_equal(r.cls, EPKI_BAD_REQUEST);
	assert_int_equal(r.errors[0].code, -103);
	assert_string_equal(r.errors[0].field, "DnAttributes.CommonName");
	epki_resp_cleanup(&r);
	assert_int_equal(state_get(&s2, "orders"), 1);

	/* LicenseNo on every order; the LicenseOrderNo filter. */
	assert_int_equal(epki_order_find_call(&o, &auth, &q, &r, &err), 0);
	assert_int_equal(r.nfound, 1);
	assert_string_equal(r.found[0].license_no, "LP000000000001");
	assert_true(r.found[0].serial[0] != '\0');
	epki_resp_cleanup(&r);
	q.license_no = "LP000000000001";
	assert_int_equal(epki_order_find_call(&o, &auth, &q, &r, &err), 0);
	assert_int_equal(r.nfound, 1);
	epki_resp_cleanup(&r);
	q.license_no = "LP000000000002";
	assert_int_equal(epki_order_find_call(&o, &auth, &q, &r, &err), 0);
	assert_int_equal(r.nfound, 0);
	epki_resp_cleanup(&r);
	assert_int_equal(sim_stop(&s2), 0);
}

/* The UPN SAN when the profile enables it (the default); every
 * SerialNumber format names the certificate once normalised; a profile
 * past its closing date refuses orders with profile_code. */
static void
test_fidelity_serials_upn(void **state)
{
	static const char *const confs[] = { "serial_format = upper\n",
		"serial_format = lower\n", "serial_format = colon\n",
		"serial_format = decimal\n" };
	struct env *e = *state;
	struct epki_client_opts o;
	struct epki_order_query q = { .want_cert_info = true,
		.want_fulfillment = true };
	struct epki_order ord;
	struct epki_resp r;
	struct gw_err err;
	struct sim s2;
	size_t i;

	for (i = 0; i < sizeof(confs) / sizeof(confs[0]); i++) {
		print_message("%s", confs[i]);
		sim_start(&s2, confs[i]);
		o = (struct epki_client_opts) { .url = s2.url,
			.timeout_s = 10 };
		memset(&ord, 0, sizeof(ord));
		ord.cn = "serial";
		ord.upn = "someone@corp.example";
		order_full(e, s2.url, &ord, &r);
		assert_int_equal(r.cls, EPKI_OK);
		assert_true(has_upn(epki_resp_get0_cert_for_key(&r, e->key)));
		epki_resp_cleanup(&r);
		assert_int_equal(epki_order_find_call(&o, &auth, &q, &r, &err),
		    0);
		assert_int_equal(r.nfound, 1);
		print_message("SerialNumber %s\n", r.found[0].serial);
		assert_non_null(r.found[0].certs);
		assert_true(epki_serial_matches(r.found[0].serial,
		    sk_X509_value(r.found[0].certs, 0)));
		if (i == 2)
			assert_non_null(strchr(r.found[0].serial, ':'));
		epki_resp_cleanup(&r);
		assert_int_equal(sim_stop(&s2), 0);
	}

	sim_start(&s2, "profile_not_after = 2020-01-31\n");
	memset(&ord, 0, sizeof(ord));
	ord.cn = "late";
	order_full(e, s2.url, &ord, &r);
	assert_int_equal(r.errors[0].code, -105);
	assert_string_equal(r.errors[0].field, "ProfileID");
	epki_resp_cleanup(&r);
	o = (struct epki_client_opts) { .url = s2.url, .timeout_s = 10 };
	assert_int_equal(epki_profile_list_call(&o, &auth, NULL, &r, &err), 0);
	assert_string_equal(r.profiles[0].not_after,
	    "2020-01-31T23:59:59.000Z");
	assert_string_equal(r.profiles[0].upn, "true");
	epki_resp_cleanup(&r);
	assert_int_equal(sim_stop(&s2), 0);
}

/* lenient_ns: a GetProfiles in another namespace, children qualified, is
 * answered; strict (the default), it is a soap:Client Fault. */
static void
test_fidelity_lenient_ns(void **state)
{
	static const char lenient[] =
	    "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\""
	    " xmlns:x=\"urn:elsewhere\"><s:Body><x:GetProfiles><x:Request>"
	    "<x:QueryRequestHeader><x:AuthToken><x:UserName>PAR00000_scepgw"
	    "</x:UserName><x:Password>epki-sim-password</x:Password>"
	    "</x:AuthToken></x:QueryRequestHeader></x:Request></x:GetProfiles>"
	    "</s:Body></s:Envelope>";
	struct buf out;
	struct sim s2;
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		sim_start(&s2, i == 0 ? "lenient_ns = yes\n" : NULL);
		assert_int_equal(admin(&s2, "/cr/ws/GasOrderService", lenient,
				     &out),
		    i == 0 ? 200 : 500);
		if (i == 0)
			assert_non_null(strstr((char *)out.data,
			    "<SuccessCode>0</SuccessCode>"));
		buf_cleanup(&out);
		assert_int_equal(sim_stop(&s2), 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fidelity_profile),
		cmocka_unit_test(test_fidelity_refusals),
		cmocka_unit_test(test_fidelity_serials_upn),
		cmocka_unit_test(test_fidelity_lenient_ns),
	};

	return cmocka_run_group_tests(tests, env_setup, env_teardown);
}
