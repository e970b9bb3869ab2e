/*
 * Unit tests of server/enroll/: the identity rules (README "Identity
 * templates": templates, challenge bindings, UPNs, value checks), static
 * challenges and the per-address failure limit on them, and challenges
 * issued for one profile.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "config.h"
#include "db.h"
#include "epki.h"
#include "enroll.h"
#include "gw.h"
#include "gw_err.h"
#include "ratelimit.h"
#include "scep.h"
#include "scep_client.h"
#include "test_enroll_common.h"
#include "test_server_common.h"

/*
 * A CSR with extra subjectAltNames (OpenSSL's "DNS:x,otherName:..."), in
 * a second subjectAltName extension too when san2 is not NULL.
 */
static X509_REQ *
csr_san2_new(struct srv_fx *fx, const char *cn, const char *challenge,
    const char *san, const char *san2)
{
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_EXTENSION *ext;
	X509_REQ *csr;

	csr = scep_client_csr_new(fx->pki->key, cn, NULL, challenge);
	assert_non_null(csr);
	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
	assert_non_null(ext);
	assert_true(sk_X509_EXTENSION_push(exts, ext) > 0);
	if (san2 != NULL) {
		ext =
		    X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san2);
		assert_non_null(ext);
		assert_true(sk_X509_EXTENSION_push(exts, ext) > 0);
	}
	assert_int_equal(X509_REQ_add_extensions(csr, exts), 1);
	assert_true(X509_REQ_sign(csr, fx->pki->key, EVP_sha256()) > 0);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return csr;
}

/* A one-time challenge with a binding; returns its id. */
static int64_t
chal_bound_put(struct srv_fx *fx, const char *secret, const char *cn,
    const char *email, const char *ou, const char *upn)
{
	const struct db_challenge_bind b = { cn, email, ou, upn, NULL };
	uint8_t hash[32];
	struct gw_err err;
	int64_t id, now = (int64_t)time(NULL);

	SHA256((const unsigned char *)secret, strlen(secret), hash);
	if (db_challenge_put_bound(fx->ctx.db, hash, now, now + 3600, &b, &id,
		&err) != 0)
		fail_msg("db_challenge_put_bound: %s", err.msg);
	return id;
}

/* One identity rule: a profile, a challenge, a CSR; what must happen. */
struct ident_case {
	const char *name;
	const char *subject_cn; /* templates; NULL: built-in */
	const char *email;
	const char *ou;
	bool require_binding;
	const char *bind_cn; /* the challenge's binding */
	const char *bind_ou;
	const char *csr_cn;
	const char *san;     /* extra SANs in the CSR, or NULL */
	const char *fail;    /* expected failInfoText, or NULL: issued */
	const char *want_cn; /* issued: what went upstream */
	const char *want_email;
	const char *want_ou;
	const char *upn; /* template; NULL: built-in */
	const char *bind_upn;
	const char *bind_email;
	const char *domain; /* the profile's one email_domains, or NULL */
	const char *san2;   /* a second subjectAltName extension, or NULL */
	const char *want_upn;
};

#define UPN_SAN(u) "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:" u
#define S10 "0123456789"
#define S64 S10 S10 S10 S10 S10 S10 "abcd"
#define E8 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
#define E64 E8 E8 E8 E8 E8 E8 E8 E8

static const struct ident_case ident_cases[] = {
	{ "built-in: binding wins", NULL, NULL, NULL, false, "bound", "Sales",
	    "device-1", NULL, NULL, "bound", NULL, "Sales", NULL, NULL, NULL,
	    NULL, NULL, NULL },
	{ "built-in: CSR fallback", NULL, NULL, NULL, false, NULL, NULL,
	    "device-1", "email:dev@example.com", NULL, "device-1",
	    "dev@example.com", NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	{ "upn and literal", "iPhone ${csr.upn}", "${csr.upn}",
	    "${challenge.ou|\"Fleet\"}", false, NULL, NULL, "device-1",
	    UPN_SAN("ann@corp.example"), NULL, "iPhone ann@corp.example",
	    "ann@corp.example", "Fleet", "${csr.upn}", NULL, NULL, NULL, NULL,
	    "ann@corp.example" },
	/* The UPN is decided, never taken from the CSR. */
	{ "CSR UPN, none decided", NULL, NULL, NULL, false, "alice", NULL,
	    "whatever", UPN_SAN("administrator@corp.example"),
	    "UPN not allowed", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    NULL },
	{ "CSR UPN, another bound", NULL, NULL, NULL, false, "alice", NULL,
	    "whatever", UPN_SAN("administrator@corp.example"),
	    "UPN not allowed", NULL, NULL, NULL, NULL, "alice@corp.example",
	    NULL, NULL, NULL, NULL },
	{ "bound UPN issued", NULL, NULL, NULL, false, "alice", NULL,
	    "whatever", NULL, NULL, "alice", NULL, NULL, NULL,
	    "alice@corp.example", NULL, NULL, NULL, "alice@corp.example" },
	{ "bound UPN asked for", NULL, NULL, NULL, false, NULL, NULL, "alice",
	    UPN_SAN("Alice@corp.example"), NULL, "alice", NULL, NULL, NULL,
	    "alice@corp.example", NULL, NULL, NULL, "alice@corp.example" },
	{ "CSR asks for the bound UPN and another", NULL, NULL, NULL, false,
	    NULL, NULL, "alice",
	    UPN_SAN("alice@corp.example") "," UPN_SAN("admin@corp.example"),
	    "UPN not allowed", NULL, NULL, NULL, NULL, "alice@corp.example",
	    NULL, NULL, NULL, NULL },
	{ "UPN binding passes require_binding", NULL, NULL, NULL, true, NULL,
	    NULL, "device-1", NULL, NULL, "device-1", NULL, NULL, NULL,
	    "bob@corp.example", NULL, NULL, NULL, "bob@corp.example" },
	/* Values GlobalSign can take, checked before the challenge is spent. */
	{ "CN with a control character", NULL, NULL, NULL, false, NULL, NULL,
	    "evil\001name", NULL, "identity value not acceptable", NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	/* OpenSSL will not make a CSR with a longer CN: bind or template it. */
	{ "bound CN of 65 characters", NULL, NULL, NULL, false, S64 "e", NULL,
	    "device-1", NULL, "identity value not acceptable", NULL, NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL, NULL },
	{ "templated CN of 65 characters", "x${csr.cn}", NULL, NULL, false,
	    NULL, NULL, S64, NULL, "identity value not acceptable", NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	{ "CN of 64 characters", NULL, NULL, NULL, false, NULL, NULL, S64, NULL,
	    NULL, S64, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	{ "CN of 64 two-byte characters", NULL, NULL, NULL, false, NULL, NULL,
	    E64, NULL, NULL, E64, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    NULL },
	{ "OU of 65 characters", NULL, NULL, NULL, false, "bound", S64 "e",
	    "device-1", NULL, "identity value not acceptable", NULL, NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL, NULL },
	{ "bound e-mail not an address", NULL, NULL, NULL, false, "bound", NULL,
	    "device-1", NULL, "identity value not acceptable", NULL, NULL, NULL,
	    NULL, NULL, "not an address", NULL, NULL, NULL },
	{ "CSR e-mail not an address", NULL, NULL, NULL, false, NULL, NULL,
	    "device-1", "email:a@@example.com", "identity value not acceptable",
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	{ "e-mail outside email_domains", NULL, NULL, NULL, false, "bound",
	    NULL, "device-1", NULL, "e-mail domain not allowed", NULL, NULL,
	    NULL, NULL, NULL, "ceo@other.example", "example.com", NULL, NULL },
	{ "e-mail inside email_domains", NULL, NULL, NULL, false, "bound", NULL,
	    "device-1", NULL, NULL, "bound", "ceo@Example.COM", NULL, NULL,
	    NULL, "ceo@Example.COM", "example.com", NULL, NULL },
	{ "CSR e-mail outside email_domains", NULL, NULL, NULL, false, NULL,
	    NULL, "device-1", "email:ceo@other.example",
	    "e-mail domain not allowed", NULL, NULL, NULL, NULL, NULL, NULL,
	    "example.com", NULL, NULL },
	{ "two subjectAltName extensions", NULL, NULL, NULL, false, "bound",
	    NULL, "device-1", "email:a@example.com",
	    "certificate request not acceptable", NULL, NULL, NULL, NULL, NULL,
	    NULL, NULL, "DNS:host.example.com", NULL },
	{ "missing variable", "${challenge.cn}", NULL, NULL, false, NULL, NULL,
	    "device-1", NULL, "identity variable without value", NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	{ "missing upn", NULL, "${csr.upn}", NULL, false, "bound", NULL,
	    "device-1", NULL, "identity variable without value", NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	{ "require_binding refuses", NULL, NULL, NULL, true, NULL, NULL,
	    "device-1", NULL, "challenge has no identity", NULL, NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL, NULL },
	{ "require_binding passes", NULL, NULL, NULL, true, "bound", NULL,
	    "device-1", NULL, NULL, "bound", NULL, NULL, NULL, NULL, NULL, NULL,
	    NULL, NULL },
	{ "dNSName refused", NULL, NULL, NULL, false, NULL, NULL, "device-1",
	    "DNS:host.example.com", "subjectAltName type not supported", NULL,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	{ "iPAddress refused", NULL, NULL, NULL, false, NULL, NULL, "device-1",
	    "IP:192.0.2.7", "subjectAltName type not supported", NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	{ "URI refused", NULL, NULL, NULL, false, NULL, NULL, "device-1",
	    "URI:tag:microsoft.com;sid:S-1-5-21",
	    "subjectAltName type not supported", NULL, NULL, NULL, NULL, NULL,
	    NULL, NULL, NULL, NULL },
};

/* A profile for one case; strings are borrowed (never freed). */
static void
ident_profile(struct gw_profile *p, const struct ident_case *c)
{
	memset(p, 0, sizeof(*p));
	p->name = (char *)(uintptr_t) "test";
	p->profile_id = (char *)(uintptr_t) "MP0002";
	p->product_code = (char *)(uintptr_t) "EPKIPSPersonal";
	p->years = 2;
	p->subject_cn = (char *)(uintptr_t)(c->subject_cn != NULL ?
		c->subject_cn :
		"${challenge.cn|csr.cn}");
	p->email = (char *)(uintptr_t)(c->email != NULL ?
		c->email :
		"${challenge.email|csr.email|\"\"}");
	p->ou =
	    (char *)(uintptr_t)(c->ou != NULL ? c->ou : "${challenge.ou|\"\"}");
	p->upn = (char *)(uintptr_t)(c->upn != NULL ? c->upn :
						      "${challenge.upn|\"\"}");
	p->require_binding = c->require_binding;
	if (c->domain != NULL) {
		static char *dom[1];

		dom[0] = (char *)(uintptr_t)c->domain;
		p->email_domains = dom;
		p->nemail_domains = 1;
	}
}

/* Checks what went upstream for an issued case. */
static void
ident_assert_order(struct srv_fx *fx, const struct ident_case *c)
{
	struct epki_req req;
	struct gw_err err;

	memset(&req, 0, sizeof(req));
	assert_int_equal(epki_soap_req_parse(fx->fake.last.data,
			     fx->fake.last.len, &req, &err),
	    0);
	assert_string_equal(req.order.profile_id, "MP0002");
	assert_int_equal(req.order.years, 2);
	assert_string_equal(req.order.cn, c->want_cn);
	if (c->want_email != NULL)
		assert_string_equal(req.order.email, c->want_email);
	else
		assert_true(
		    req.order.email == NULL || req.order.email[0] == '\0');
	assert_int_equal(req.order.nous, c->want_ou != NULL ? 1 : 0);
	if (c->want_ou != NULL)
		assert_string_equal(req.order.ous[0], c->want_ou);
	if (c->want_upn != NULL)
		assert_string_equal(req.order.upn, c->want_upn);
	else
		assert_true(req.order.upn == NULL || req.order.upn[0] == '\0');
	epki_req_cleanup(&req);
}

/* Every identity rule (README "Identity templates"); a refusal never burns
 * the challenge. */
static void
test_enroll_identity_templates(void **state)
{
	struct srv_fx *fx = *state;
	struct gw_profile prof;
	struct db_txn t;
	struct call c;
	X509_REQ *csr;
	char txid[64], secret[64], used_by[128];
	int64_t id, used;
	size_t i;

	fx->fake.autoans = FAKE_ISSUE;
	for (i = 0; i < sizeof(ident_cases) / sizeof(ident_cases[0]); i++) {
		const struct ident_case *ic = &ident_cases[i];

		print_message("identity: %s\n", ic->name);
		snprintf(secret, sizeof(secret), "ident-%zu", i);
		snprintf(txid, sizeof(txid), "TX-IDENT-%zu", i);
		id = chal_bound_put(fx, secret, ic->bind_cn, ic->bind_email,
		    ic->bind_ou, ic->bind_upn);
		csr = ic->san != NULL ?
		    csr_san2_new(fx, ic->csr_cn, secret, ic->san, ic->san2) :
		    csr_new(fx, ic->csr_cn, secret);
		ident_profile(&prof, ic);
		call_init(fx, &c, SCEP_MT_PKCSREQ, txid, csr, 0);
		c.op.profile = &prof;
		call_run(fx, &c);
		used = srv_challenge_used(fx, id, used_by, sizeof(used_by));
		if (ic->fail != NULL) {
			assert_failure(&c, SCEP_FAIL_BADREQUEST);
			assert_string_equal(c.rep.fail_text, ic->fail);
			assert_int_equal(used, 0);
			assert_int_equal(srv_txn_state(fx, txid), 0);
		} else {
			assert_success(fx, &c);
			assert_true(used > 0);
			ident_assert_order(fx, ic);
			txn_get(fx, txid, &t);
			assert_non_null(t.profile);
			assert_string_equal(t.profile, "test");
			if (ic->want_upn != NULL)
				assert_string_equal(t.upn, ic->want_upn);
			else
				assert_null(t.upn);
			db_txn_cleanup(&t);
		}
		call_cleanup(&c);
		X509_REQ_free(csr);
	}
}

/*
 * One PKCSReq for cn with challenge secret under prof: SUCCESS when fail
 * is NULL, else FAILURE badRequest with fail as its text.
 */
static void
static_step(struct srv_fx *fx, struct gw_profile *prof, const char *txid,
    const char *cn, const char *secret, const char *fail)
{
	struct call c;
	X509_REQ *csr;

	csr = csr_new(fx, cn, secret);
	call_init(fx, &c, SCEP_MT_PKCSREQ, txid, csr, 0);
	c.op.profile = prof;
	call_run(fx, &c);
	if (fail != NULL) {
		assert_failure(&c, SCEP_FAIL_BADREQUEST);
		assert_string_equal(c.rep.fail_text, fail);
	} else {
		assert_success(fx, &c);
	}
	call_cleanup(&c);
	X509_REQ_free(csr);
}

/* Static challenges: many uses, constant secret, mode respected. */
static void
test_enroll_static_challenge(void **state)
{
	struct srv_fx *fx = *state;
	static const struct {
		enum gw_chal_mode mode;
		const char *secret;
		bool onetime; /* the secret is a one-time challenge */
		const char *fail;
	} steps[] = {
		{ GW_CHAL_STATIC, "static-pw", false, NULL },
		{ GW_CHAL_STATIC, "static-pw", false, NULL },
		{ GW_CHAL_STATIC, "wrong-pw", false,
		    "invalid challenge password" },
		{ GW_CHAL_STATIC, "onetime-1", true,
		    "invalid challenge password" },
		{ GW_CHAL_BOTH, "onetime-2", true, NULL },
		{ GW_CHAL_BOTH, "static-pw", false, NULL },
		{ GW_CHAL_ONETIME, "static-pw", false,
		    "invalid challenge password" },
	};
	struct ident_case ic;
	struct gw_profile prof;
	char txid[64];
	size_t i;

	memset(&ic, 0, sizeof(ic));
	fx->fake.autoans = FAKE_ISSUE;
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		print_message("static: step %zu\n", i);
		if (steps[i].onetime)
			srv_challenge_put(fx, steps[i].secret, 3600);
		ident_profile(&prof, &ic);
		prof.challenge = steps[i].mode;
		prof.has_static = true;
		SHA256((const unsigned char *)"static-pw", 9,
		    prof.static_sha256);
		snprintf(txid, sizeof(txid), "TX-STATIC-%zu", i);
		static_step(fx, &prof, txid, "kiosk-1", steps[i].secret,
		    steps[i].fail);
	}
}

/* Wrong static secrets count against the per-address failure limit. */
static void
test_enroll_static_ratelimit(void **state)
{
	struct srv_fx *fx = *state;
	static const struct {
		const char *secret;
		const char *fail;
	} steps[] = {
		{ "static-pw", NULL }, /* a success costs nothing */
		{ "guess-1", "invalid challenge password" },
		{ "guess-2", "invalid challenge password" },
		{ "static-pw", "too many failed attempts; try again later" },
	};
	struct ident_case ic;
	struct gw_profile prof;
	char txid[64];
	size_t i;

	memset(&ic, 0, sizeof(ic));
	assert_int_equal(ratelimit_new(&fx->ctx.rl, 64, 2, 60), 0);
	fx->fake.autoans = FAKE_ISSUE;
	ident_profile(&prof, &ic);
	prof.challenge = GW_CHAL_STATIC;
	prof.has_static = true;
	SHA256((const unsigned char *)"static-pw", 9, prof.static_sha256);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		snprintf(txid, sizeof(txid), "TX-SRL-%zu", i);
		static_step(fx, &prof, txid, "kiosk-2", steps[i].secret,
		    steps[i].fail);
	}
	ratelimit_free(fx->ctx.rl);
	fx->ctx.rl = NULL;
}

/* A challenge issued for one profile is refused, unconsumed, on another. */
static void
test_enroll_challenge_profile(void **state)
{
	static const struct {
		const char *chal_profile; /* NULL: any profile */
		const char *prof;	  /* the request's profile */
		bool ok;
	} cases[] = {
		{ "test", "test", true },
		{ NULL, "test", true },
		{ "other", "test", false },
		{ "test", "default", false },
	};
	struct srv_fx *fx = *state;
	struct ident_case ic;
	struct gw_profile prof;
	struct gw_err err;
	struct call c;
	X509_REQ *csr;
	uint8_t hash[32];
	char txid[64], secret[64], used_by[128];
	int64_t id, now = (int64_t)time(NULL);
	size_t i;

	memset(&ic, 0, sizeof(ic));
	fx->fake.autoans = FAKE_ISSUE;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(secret, sizeof(secret), "prof-%zu", i);
		snprintf(txid, sizeof(txid), "TX-PROF-%zu", i);
		SHA256((const unsigned char *)secret, strlen(secret), hash);
		assert_int_equal(db_challenge_put_profile(fx->ctx.db, hash, now,
				     now + 60, NULL, NULL, NULL,
				     cases[i].chal_profile, &id, &err),
		    0);
		ident_profile(&prof, &ic);
		prof.name = (char *)(uintptr_t)cases[i].prof;
		csr = csr_new(fx, "device-p", secret);
		call_init(fx, &c, SCEP_MT_PKCSREQ, txid, csr, 0);
		c.op.profile = &prof;
		call_run(fx, &c);
		if (cases[i].ok) {
			assert_success(fx, &c);
		} else {
			assert_failure(&c, SCEP_FAIL_BADREQUEST);
			assert_int_equal(srv_challenge_used(fx, id, used_by,
					     sizeof(used_by)),
			    0);
		}
		call_cleanup(&c);
		X509_REQ_free(csr);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, srv_fx_setup, srv_fx_teardown)
		T(test_enroll_identity_templates),
		T(test_enroll_static_challenge),
		T(test_enroll_static_ratelimit),
		T(test_enroll_challenge_profile),
#undef T
	};

	return cmocka_run_group_tests(tests, srv_pki_setup, srv_pki_teardown);
}
