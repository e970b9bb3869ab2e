/*
 * Admission of a new enrollment (README "How an enrollment works", before
 * step 4): decides whether a PKCSReq or RenewalReq may start an order, and
 * with which identity. A renewal is authenticated by its signer
 * certificate, one this gateway issued, and keeps that certificate's
 * identity and profile; any other request needs the profile's static
 * challenge or a usable one-time challenge, which is checked here without
 * being consumed, and the profile's templates decide its identity.
 * Consuming the challenge and ordering stay in order.c.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "crl.h"
#include "db.h"
#include "enroll_int.h"
#include "enroll.h"
#include "gw.h"
#include "gw_err.h"
#include "live.h"
#include "log.h"
#include "ratelimit.h"
#include "scep.h"
#include "template.h"

/* The first rfc822Name SAN of x, else its emailAddress, into out. */
static void
cert_email(const X509 *x, char *out, size_t n)
{
	GENERAL_NAMES *gens;
	const GENERAL_NAME *g;
	int i;

	out[0] = '\0';
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; i < sk_GENERAL_NAME_num(gens) && out[0] == '\0'; i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_EMAIL)
			snprintf(out, n, "%.*s", g->d.rfc822Name->length,
			    (const char *)g->d.rfc822Name->data);
	}
	GENERAL_NAMES_free(gens);
	if (out[0] == '\0')
		X509_NAME_get_text_by_NID(X509_get_subject_name(x),
		    NID_pkcs9_emailAddress, out, (int)n);
}

/* True when x carries clientAuth or emailProtection in its extended key
 * usage: what the profiles issue (PersonalSign), so what may renew. */
static bool
cert_eku_ok(const X509 *x)
{
	EXTENDED_KEY_USAGE *eku;
	bool ok = false;
	int i, nid;

	eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	for (i = 0; i < sk_ASN1_OBJECT_num(eku) && !ok; i++) {
		nid = OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i));
		ok = nid == NID_client_auth || nid == NID_email_protect;
	}
	EXTENDED_KEY_USAGE_free(eku);
	return ok;
}

/* True when op's signer certificate is the certificate der (DER). */
bool
enroll_signer_is(const struct enroll_op *op, const uint8_t *der, size_t len)
{
	const X509 *signer = scep_msg_get0_signer(op->msg);
	unsigned char *mine = NULL;
	bool eq;
	int n;

	if (signer == NULL || der == NULL || (n = i2d_X509(signer, &mine)) <= 0)
		return false;
	eq = (size_t)n == len && memcmp(mine, der, len) == 0;
	OPENSSL_free(mine);
	return eq;
}

/*
 * The first Microsoft UPN otherName SAN of x, into out ("" if none). One
 * that does not fit is cut, and so fails tmpl_value_check(): out holds
 * any UPN of TMPL_UPN_MAX characters.
 */
static void
cert_upn(const X509 *x, char *out, size_t n)
{
	GENERAL_NAMES *gens;
	const GENERAL_NAME *g;
	const OTHERNAME *on;
	int i;

	out[0] = '\0';
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; i < sk_GENERAL_NAME_num(gens) && out[0] == '\0'; i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_OTHERNAME)
			continue;
		on = g->d.otherName;
		if (OBJ_obj2nid(on->type_id) == NID_ms_upn &&
		    on->value != NULL && on->value->type == V_ASN1_UTF8STRING)
			snprintf(out, n, "%.*s",
			    on->value->value.utf8string->length,
			    (const char *)on->value->value.utf8string->data);
	}
	GENERAL_NAMES_free(gens);
}

/*
 * True when the issuing CA's CRL, as last fetched (README "Renewal"),
 * lists x: a revocation made outside this gateway. Without a CRL yet,
 * false: only the database's record counts then.
 */
static bool
cert_crl_listed(struct crl_cache *crl, const X509 *x)
{
	X509_REVOKED *rev = NULL;
	enum crl_source src;
	X509_CRL *c = NULL;
	struct gw_err err;
	bool listed;

	if (crl == NULL || crl_cache_get1(crl, &c, &src, &err) == -1)
		return false;
	listed = X509_CRL_get0_by_cert(c, &rev, (X509 *)(uintptr_t)x) == 1;
	X509_CRL_free(c);
	return listed;
}

/*
 * Why the signer (serial, found as db_cert_renewal() says) cannot renew
 * on profile pname, into why; *fail is the failInfo a RenewalReq gets.
 * Returns false when it can.
 */
static bool
renew_why_not(struct gw_ctx *ctx, const struct enroll_op *op,
    const X509 *signer, int found, const struct db_cert_renewal *r,
    const char *pname, char *why, size_t n, enum scep_fail *fail)
{
	const char *issued_on;

	*fail = SCEP_FAIL_BADMESSAGECHECK;
	if (found == 1)
		snprintf(why, n, "it was not issued through this gateway");
	else if (!enroll_signer_is(op, r->cert.der, r->cert.der_len))
		snprintf(why, n,
		    "it is not the certificate this gateway issued with that "
		    "serial");
	else if (r->txn_state != DB_TXN_ISSUED)
		snprintf(why, n, "its transaction is not ISSUED");
	else if (r->cert.revoked != 0)
		snprintf(why, n, "it is revoked");
	else if (cert_crl_listed(ctx->crl, signer))
		snprintf(why, n, "the issuing CA's CRL lists it as revoked");
	else if (r->cert.not_after <= enroll_now())
		snprintf(why, n, "it has expired");
	else if (r->successor != NULL)
		snprintf(why, n, "it was renewed already, by txid=%s",
		    r->successor);
	else if (!cert_eku_ok(signer))
		snprintf(why, n,
		    "it carries neither clientAuth nor emailProtection");
	else {
		issued_on = r->profile != NULL ? r->profile : "default";
		if (strcmp(issued_on, pname) == 0)
			return false;
		snprintf(why, n,
		    "it was issued on profile %s, the request came on "
		    "profile %s",
		    issued_on, pname);
		*fail = SCEP_FAIL_BADREQUEST;
	}
	return true;
}

/*
 * Decides whether a request is a renewal (RFC 8894 2.4, README
 * "Renewal"): its signer certificate verifies up to [ra] ca_chain, and is
 * one this gateway issued (the whole DER is in the database, its
 * transaction ISSUED), not revoked, not expired, not renewed already,
 * with clientAuth or emailProtection, issued on the profile the request
 * came in on. Returns 1 for an authenticated renewal (id filled), 0 for a
 * plain PKCSReq (a challenge is needed), -1 when refused (op holds the
 * answer: a RenewalReq's FAILURE, or 503 when the database failed).
 */
int
enroll_renew_check(struct gw_ctx *ctx, struct enroll_op *op,
    struct renew_id *id)
{
	const X509 *signer = scep_msg_get0_signer(op->msg);
	const char *txid = scep_msg_txid(op->msg);
	const struct gw_profile *p = enroll_op_profile(ctx, op);
	const char *pname = p != NULL ? p->name : "default";
	bool rr = scep_msg_type(op->msg) == SCEP_MT_RENEWALREQ;
	const X509_NAME *subj;
	struct db_cert_renewal r;
	enum scep_fail fail;
	struct gw_err err;
	char serial[80], why[160];
	int found, rc = -1;

	memset(&r, 0, sizeof(r));
	if (scep_ra_verify_issued(op->ra, signer, &err) == -1) {
		if (!rr)
			return 0;
		log_ev(LOG_INFO, "renewal.refused",
		    LOG_F(.peer = op->peer, .txid = txid,
			.fail_info = scep_fail_name(SCEP_FAIL_BADMESSAGECHECK),
			.reason =
			    "renewal must be signed by a valid certificate of this CA"),
		    "%s txid=%s: RenewalReq refused: %s", op->peer, txid,
		    err.msg);
		enroll_op_fail(op, SCEP_FAIL_BADMESSAGECHECK,
		    "renewal must be signed by a valid certificate of this CA");
		return -1;
	}
	if (enroll_serial_hex(X509_get0_serialNumber(signer), serial,
		sizeof(serial)) == -1) {
		snprintf(serial, sizeof(serial), "?");
		found = 1;
	} else if ((found = db_cert_renewal(ctx->db, serial, &r, &err)) == -1) {
		log_ev(LOG_WARNING, "db.error",
		    LOG_F(.peer = op->peer, .txid = txid, .http_status = 503),
		    "%s txid=%s: database: %s", op->peer, txid, err.msg);
		enroll_op_http(op, 503, "try again later\n");
		goto out;
	}
	if (renew_why_not(ctx, op, signer, found, &r, pname, why, sizeof(why),
		&fail)) {
		if (!rr) {
			log_ev(LOG_INFO, "enroll",
			    LOG_F(.peer = op->peer, .txid = txid,
				.serial = serial),
			    "%s txid=%s: PKCSReq signed by serial=%s is "
			    "not a renewal (%s): it needs a challenge",
			    op->peer, txid, serial, why);
			rc = 0;
			goto out;
		}
		log_ev(LOG_INFO, "renewal.refused",
		    LOG_F(.peer = op->peer, .txid = txid, .serial = serial,
			.fail_info = scep_fail_name(fail),
			.reason = fail == SCEP_FAIL_BADREQUEST ?
			    "renewal must be sent to the certificate's profile" :
			    "renewal must be signed by a valid certificate "
			    "issued through this gateway"),
		    "%s txid=%s: RenewalReq refused: signer serial=%s: %s",
		    op->peer, txid, serial, why);
		enroll_op_fail(op, fail,
		    fail == SCEP_FAIL_BADREQUEST ?
			"renewal must be sent to the certificate's profile" :
			"renewal must be signed by a valid certificate "
			"issued through this gateway");
		goto out;
	}
	subj = X509_get_subject_name(signer);
	memset(id, 0, sizeof(*id));
	X509_NAME_get_text_by_NID(subj, NID_commonName, id->cn,
	    (int)sizeof(id->cn));
	/*
	 * The OU the issuing transaction ordered, not the certificate's
	 * first: GlobalSign appends the profile's own OUs ("For Test Use
	 * Only") after the request's (README "Talking to GlobalSign"), and
	 * ordering those again would repeat them. The certificate's first
	 * OU only when no transaction is on record.
	 */
	if (r.txn_state != 0)
		snprintf(id->ou, sizeof(id->ou), "%s",
		    r.ou != NULL ? r.ou : "");
	else
		X509_NAME_get_text_by_NID(subj, NID_organizationalUnitName,
		    id->ou, (int)sizeof(id->ou));
	cert_email(signer, id->email, sizeof(id->email));
	snprintf(id->serial, sizeof(id->serial), "%s", serial);
	if (r.profile != NULL && strcmp(r.profile, "default") != 0)
		snprintf(id->profile, sizeof(id->profile), "%s", r.profile);
	cert_upn(signer, id->upn, sizeof(id->upn));
	log_ev(LOG_INFO, "renewal.admitted",
	    LOG_F(.peer = op->peer, .txid = txid, .serial = serial),
	    "%s txid=%s: renewal of serial=%s authenticated", op->peer, txid,
	    serial);
	rc = 1;
out:
	db_cert_renewal_cleanup(&r);
	return rc;
}

/* Fills a new transaction from the decided or the renewed identity. */
void
enroll_txn_new_fill(struct db_txn_new *n, const char *txid,
    const struct scep_csr_info *info, const struct renew_id *id,
    const struct enroll_ident *ident, const uint8_t *chash, const char *profile)
{
	memset(n, 0, sizeof(*n));
	n->txid = txid;
	n->csr_sha256 = info->csr_sha256;
	n->key_sha256 = info->key_sha256;
	n->csr_pem = info->pem;
	n->now = enroll_now();
	n->identity_final = true;
	n->profile = profile;
	if (id != NULL) {
		/* The renewed certificate's profile (README "Renewal"). */
		n->profile = id->profile[0] != '\0' ? id->profile : NULL;
		n->renews = id->serial;
		n->csr_cn = id->cn;
		n->csr_email = id->email[0] != '\0' ? id->email : NULL;
		n->csr_ou = id->ou[0] != '\0' ? id->ou : NULL;
		n->upn = id->upn[0] != '\0' ? id->upn : NULL;
		return;
	}
	n->challenge_sha256 = chash;
	n->csr_cn = ident->cn;
	n->csr_email = ident->email[0] != '\0' ? ident->email : NULL;
	n->csr_ou = ident->ou[0] != '\0' ? ident->ou : NULL;
	n->upn = ident->upn[0] != '\0' ? ident->upn : NULL;
}

/*
 * Refuses a CSR asking for a subjectAltName GlobalSign EPKI cannot put
 * in the certificate (EPKI issues CN, OU, e-mail and UPN only), naming
 * it in the log. On an Intune profile the strong-mapping URI Intune adds
 * (README "Microsoft Intune") is left out of the order instead, with a
 * log line: the order carries only the identity decided, never the CSR's
 * SANs. Returns 0, or -1 with op holding the FAILURE.
 */
int
enroll_csr_sans_check(struct enroll_op *op, const char *txid,
    const struct scep_csr_info *info, bool intune)
{
	unsigned bad =
	    info->sans & ~((1u << SCEP_SAN_EMAIL) | (1u << SCEP_SAN_UPN));
	int k = 0;

	if (info->ms_sid && !intune)
		bad |= 1u << SCEP_SAN_URI;
	if (bad == 0) {
		if (info->ms_sid)
			log_ev(LOG_INFO, "enroll",
			    LOG_F(.peer = op->peer, .txid = txid),
			    "%s txid=%s: the strong-mapping URI "
			    "subjectAltName (" SCEP_MS_SID_PREFIX
			    "...) is left out of the order: GlobalSign "
			    "EPKI cannot issue it",
			    op->peer, txid);
		return 0;
	}
	while ((bad & (1u << k)) == 0)
		k++;
	log_ev(LOG_INFO, "enroll.refused",
	    LOG_F(.peer = op->peer, .txid = txid,
		.fail_info = scep_fail_name(SCEP_FAIL_BADREQUEST),
		.reason = "subjectAltName type not supported"),
	    "%s txid=%s: CSR refused: it asks for a %s subjectAltName, "
	    "which GlobalSign EPKI cannot issue (CN, OU, e-mail, UPN only)",
	    op->peer, txid, scep_san_name((enum scep_san)k));
	enroll_op_fail(op, SCEP_FAIL_BADREQUEST,
	    "subjectAltName type not supported");
	return -1;
}

/*
 * Runs the profile's templates over the challenge's binding (ch, or NULL
 * for a static challenge) and the CSR. Returns 0, or -1 with op holding
 * the FAILURE and a log line naming the missing variable.
 */
static int
ident_decide(const struct gw_profile *p, const struct db_challenge *ch,
    const struct scep_csr_info *info, struct enroll_op *op, const char *txid,
    struct enroll_ident *id)
{
	const char *vals[TMPL_VAR__MAX] = {
		[TMPL_CHALLENGE_CN] = ch != NULL ? ch->cn : NULL,
		[TMPL_CHALLENGE_EMAIL] = ch != NULL ? ch->email : NULL,
		[TMPL_CHALLENGE_OU] = ch != NULL ? ch->ou : NULL,
		[TMPL_CHALLENGE_UPN] = ch != NULL ? ch->upn : NULL,
		[TMPL_CSR_CN] = info->cn,
		[TMPL_CSR_EMAIL] = info->email,
		[TMPL_CSR_UPN] = info->upn,
	};
	const struct {
		const char *key;
		const char *tmpl;
		char *out;
	} f[] = {
		{ "subject_cn", p != NULL ? p->subject_cn : TMPL_DEF_SUBJECT_CN,
		    id->cn },
		{ "email", p != NULL ? p->email : TMPL_DEF_EMAIL, id->email },
		{ "ou", p != NULL ? p->ou : TMPL_DEF_OU, id->ou },
		{ "upn", p != NULL && p->upn != NULL ? p->upn : TMPL_DEF_UPN,
		    id->upn },
	};
	enum tmpl_res r;
	char why[128], line[320];
	size_t i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		r = tmpl_expand(f[i].tmpl, vals, f[i].out, TMPL_OUT_MAX, why,
		    sizeof(why));
		if (r == TMPL_OK)
			continue;
		log_ev(LOG_INFO, "enroll.refused",
		    LOG_F(.peer = op->peer, .txid = txid,
			.fail_info = scep_fail_name(SCEP_FAIL_BADREQUEST),
			.reason = r == TMPL_MISSING ?
			    "identity variable without value" :
			    "identity template failed"),
		    "%s txid=%s: profile %s: %s: %s%s", op->peer, txid,
		    p != NULL ? p->name : "default", f[i].key,
		    r == TMPL_MISSING ? "no value for variable " : "", why);
		snprintf(line, sizeof(line), "profile %s: %s: %s%s",
		    p != NULL ? p->name : "default", f[i].key,
		    r == TMPL_MISSING ? "no value for variable " : "", why);
		enroll_op_refuse(op, SCEP_FAIL_BADREQUEST,
		    r == TMPL_MISSING ? "identity variable without value" :
					"identity template failed",
		    line);
		return -1;
	}
	if (id->cn[0] != '\0')
		return 0;
	log_ev(LOG_INFO, "enroll.refused",
	    LOG_F(.peer = op->peer, .txid = txid,
		.fail_info = scep_fail_name(SCEP_FAIL_BADREQUEST),
		.reason = "no common name"),
	    "%s txid=%s: no common name in the CSR or the challenge", op->peer,
	    txid);
	enroll_op_refuse(op, SCEP_FAIL_BADREQUEST, "no common name",
	    "no common name in the CSR or the challenge");
	return -1;
}

/*
 * Checks a decided (or, for a renewal, carried-over) identity before
 * anything is consumed or ordered (README "Identity templates"): each
 * value within what GlobalSign takes (tmpl_value_check()), the e-mail in
 * the profile's email_domains, and no UPN in the CSR but the decided one
 * (ASCII case aside, as Windows compares UPNs). Returns 0, or -1 with op
 * holding FAILURE badRequest and a log line naming the field.
 */
static int
ident_check(const struct gw_profile *p, const char *cn, const char *email,
    const char *ou, const char *upn, const struct scep_csr_info *info,
    struct enroll_op *op, const char *txid)
{
	const struct {
		const char *key;
		enum tmpl_field f;
		const char *v;
	} f[] = {
		{ "subject_cn", TMPL_F_CN, cn },
		{ "email", TMPL_F_EMAIL, email },
		{ "ou", TMPL_F_OU, ou },
		{ "upn", TMPL_F_UPN, upn },
	};
	const char *pname = p != NULL ? p->name : "default";
	char why[128], line[320];
	size_t i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (tmpl_value_check(f[i].f, f[i].v, why, sizeof(why)) == 0)
			continue;
		log_ev(LOG_INFO, "enroll.refused",
		    LOG_F(.peer = op->peer, .txid = txid, .profile = pname,
			.fail_info = scep_fail_name(SCEP_FAIL_BADREQUEST),
			.reason = "identity value not acceptable"),
		    "%s txid=%s: profile %s: %s refused: %s", op->peer, txid,
		    pname, f[i].key, why);
		snprintf(line, sizeof(line), "profile %s: %s refused: %s",
		    pname, f[i].key, why);
		enroll_op_refuse(op, SCEP_FAIL_BADREQUEST,
		    "identity value not acceptable", line);
		return -1;
	}
	if (email != NULL && email[0] != '\0' &&
	    !config_profile_email_ok(p, email)) {
		log_ev(LOG_INFO, "enroll.refused",
		    LOG_F(.peer = op->peer, .txid = txid, .profile = pname,
			.fail_info = scep_fail_name(SCEP_FAIL_BADREQUEST),
			.reason = "e-mail domain not allowed"),
		    "%s txid=%s: profile %s: email refused: %s is not in "
		    "email_domains",
		    op->peer, txid, pname, email);
		snprintf(line, sizeof(line),
		    "profile %s: email %s is not in email_domains", pname,
		    email);
		enroll_op_refuse(op, SCEP_FAIL_BADREQUEST,
		    "e-mail domain not allowed", line);
		return -1;
	}
	if (info->upn_many) {
		log_ev(LOG_INFO, "enroll.refused",
		    LOG_F(.peer = op->peer, .txid = txid, .profile = pname,
			.fail_info = scep_fail_name(SCEP_FAIL_BADREQUEST),
			.reason = "UPN not allowed"),
		    "%s txid=%s: profile %s: CSR refused: it asks for "
		    "more than one UPN",
		    op->peer, txid, pname);
		enroll_op_refuse(op, SCEP_FAIL_BADREQUEST, "UPN not allowed",
		    "the CSR asks for more than one UPN");
		return -1;
	}
	if (info->upn != NULL &&
	    (upn == NULL || strcasecmp(info->upn, upn) != 0)) {
		/* The CSR's UPN is logged only when it is plain text. */
		log_ev(LOG_INFO, "enroll.refused",
		    LOG_F(.peer = op->peer, .txid = txid, .profile = pname,
			.fail_info = scep_fail_name(SCEP_FAIL_BADREQUEST),
			.reason = "UPN not allowed"),
		    "%s txid=%s: profile %s: CSR refused: it asks for "
		    "UPN %s, the UPN decided is %s",
		    op->peer, txid, pname,
		    tmpl_value_check(TMPL_F_UPN, info->upn, why, sizeof(why)) ==
			    0 ?
			info->upn :
			"(not a UPN)",
		    upn != NULL && upn[0] != '\0' ? upn : "none");
		enroll_op_refuse(op, SCEP_FAIL_BADREQUEST, "UPN not allowed",
		    "the CSR asks for another UPN than the one decided");
		return -1;
	}
	return 0;
}

/*
 * A renewal keeps the identity of the certificate it renews (id), never
 * the new CSR's: that identity must still be one GlobalSign can take and
 * the profile allows, and the CSR may ask for no other UPN. Returns 0, or
 * -1 with op holding the FAILURE.
 */
int
enroll_renew_admit(struct gw_ctx *ctx, struct enroll_op *op,
    const struct scep_csr_info *info, const struct renew_id *id)
{
	return ident_check(enroll_op_profile(ctx, op), id->cn, id->email,
	    id->ou, id->upn, info, op, scep_msg_txid(op->msg));
}

/* True when the challenge is p's static secret (constant-time compare),
 * as last read from its file (at start or by a reload). */
static bool
chal_is_static(struct gw_ctx *ctx, const struct gw_profile *p,
    const uint8_t chash[32])
{
	const struct gw_config *c = ctx->cfg;

	if (p == NULL || p->challenge == GW_CHAL_ONETIME || !p->has_static)
		return false;
	if (p >= c->profiles && p < c->profiles + c->nprofiles)
		return gw_static_match(ctx, (size_t)(p - c->profiles),
		    p->static_sha256, chash);
	return CRYPTO_memcmp(chash, p->static_sha256, 32) == 0;
}

/*
 * Checks a one-time challenge without consuming it and fills *ch with its
 * binding. A challenge issued for one profile is refused on the others.
 * Returns 0, or -1 with op holding the FAILURE.
 */
static int
chal_onetime_peek(struct gw_ctx *ctx, struct enroll_op *op, const char *txid,
    const uint8_t chash[32], struct db_challenge *ch)
{
	const struct gw_profile *p = enroll_op_profile(ctx, op);
	const char *pname = p != NULL ? p->name : "default";
	enum db_start res;
	struct gw_err err;
	char why[160];
	int found;

	found = db_challenge_peek(ctx->db, chash, enroll_now(), ch, &res, &err);
	if (found == -1) {
		log_ev(LOG_WARNING, "db.error",
		    LOG_F(.peer = op->peer, .txid = txid, .http_status = 503),
		    "%s txid=%s: database: %s", op->peer, txid, err.msg);
		enroll_op_http(op, 503, "try again later\n");
		return -1;
	}
	if (found == 1 || res != DB_START_OK) {
		log_ev(LOG_INFO, "enroll.refused",
		    LOG_F(.peer = op->peer, .txid = txid,
			.fail_info = scep_fail_name(SCEP_FAIL_BADREQUEST),
			.reason = "invalid challenge password"),
		    "%s txid=%s: challenge refused: %s", op->peer, txid,
		    enroll_start_reason(
			found == 1 ? DB_START_CHALLENGE_BAD : res));
		enroll_op_refuse(op, SCEP_FAIL_BADREQUEST,
		    "invalid challenge password",
		    enroll_start_reason(
			found == 1 ? DB_START_CHALLENGE_BAD : res));
		return -1;
	}
	if (ch->profile != NULL && strcmp(ch->profile, pname) != 0) {
		log_ev(LOG_INFO, "enroll.refused",
		    LOG_F(.peer = op->peer, .txid = txid, .profile = pname,
			.fail_info = scep_fail_name(SCEP_FAIL_BADREQUEST),
			.reason = "invalid challenge password"),
		    "%s txid=%s: challenge refused: issued for profile "
		    "%s, used on profile %s",
		    op->peer, txid, ch->profile, pname);
		snprintf(why, sizeof(why),
		    "challenge issued for profile %s, used on profile %s",
		    ch->profile, pname);
		enroll_op_refuse(op, SCEP_FAIL_BADREQUEST,
		    "invalid challenge password", why);
		return -1;
	}
	return 0;
}

/*
 * A request on an Intune profile (README "Microsoft Intune"): the
 * challenge is Intune's to check, so only the per-address failure limit
 * is checked here, nothing reserved while Intune decides (a refusal is
 * counted then, intune_flow.c); the templates decide the identity from
 * the CSR alone. Returns 0, or -1 with op's answer set.
 */
int
enroll_admit_intune(struct gw_ctx *ctx, struct enroll_op *op,
    const struct scep_csr_info *info, struct enroll_ident *id)
{
	const struct gw_profile *p = enroll_op_profile(ctx, op);
	const char *txid = scep_msg_txid(op->msg);

	if (ctx->rl != NULL &&
	    !ratelimit_check(ctx->rl, op->peer, enroll_now())) {
		log_ev(LOG_INFO, "enroll.refused",
		    LOG_F(.peer = op->peer, .txid = txid,
			.fail_info = scep_fail_name(SCEP_FAIL_BADREQUEST),
			.reason = "too many failed attempts; try again later"),
		    "%s txid=%s: challenge refused: too many failed "
		    "attempts from this address",
		    op->peer, txid);
		enroll_op_fail(op, SCEP_FAIL_BADREQUEST,
		    "too many failed attempts; try again later");
		return -1;
	}
	/* A refusal here is no guess at the challenge: nothing counted. */
	if (ident_decide(p, NULL, info, op, txid, id) == -1 ||
	    ident_check(p, id->cn, id->email, id->ou, id->upn, info, op,
		txid) == -1)
		return -1;
	return 0;
}

/*
 * On an Intune profile a PKCSReq signed by another key than its CSR's
 * (an Apple device signs its renewal with the old certificate) passes
 * only when the signer is a certificate this gateway issued (the whole
 * DER in the database), not revoked there and not expired (README
 * "Microsoft Intune", "Who may do what"). Any certificate of the shared
 * issuing CA would let its holder sign a device's captured request again
 * (the envelope needs no decryption for that) under a new transactionID
 * and have it validated and ordered once more. The transaction then
 * records the signer as the certificate it renews (serial, n bytes), so
 * that its CertPoll, signed by that certificate as Apple devices sign it,
 * is answered (enroll_txn_reader_ok()), and one certificate has one live
 * successor (README "Renewal"). Returns 1 when it may, 0 with op holding
 * the FAILURE, -1 with op holding the 503 (database).
 */
int
enroll_intune_signer_ok(struct gw_ctx *ctx, struct enroll_op *op,
    char *serial_out, size_t n)
{
	const X509 *signer = scep_msg_get0_signer(op->msg);
	const char *txid = scep_msg_txid(op->msg);
	struct db_cert_renewal r;
	struct gw_err err;
	const char *why = NULL;
	char serial[80];
	int found = 1;

	memset(&r, 0, sizeof(r));
	if (scep_ra_verify_issued(op->ra, signer, &err) == -1) {
		log_ev(LOG_INFO, "enroll",
		    LOG_F(.peer = op->peer, .txid = txid),
		    "%s txid=%s: PKCSReq signed by a key other than the "
		    "request's",
		    op->peer, txid);
		goto refuse;
	}
	if (enroll_serial_hex(X509_get0_serialNumber(signer), serial,
		sizeof(serial)) == -1)
		snprintf(serial, sizeof(serial), "?");
	else if ((found = db_cert_renewal(ctx->db, serial, &r, &err)) == -1) {
		log_ev(LOG_WARNING, "db.error",
		    LOG_F(.peer = op->peer, .txid = txid, .http_status = 503),
		    "%s txid=%s: database: %s", op->peer, txid, err.msg);
		enroll_op_http(op, 503, "try again later\n");
		db_cert_renewal_cleanup(&r);
		return -1;
	}
	if (found != 0 || !enroll_signer_is(op, r.cert.der, r.cert.der_len))
		why = "this gateway did not issue";
	else if (r.cert.revoked != 0)
		why = "revoked";
	else if (r.cert.not_after <= enroll_now())
		why = "expired";
	db_cert_renewal_cleanup(&r);
	if (why == NULL) {
		snprintf(serial_out, n, "%s", serial);
		return 1;
	}
	log_ev(LOG_INFO, "enroll",
	    LOG_F(.peer = op->peer, .txid = txid, .serial = serial),
	    "%s txid=%s: PKCSReq signed by a certificate %s "
	    "(serial=%s), not the request's key: refused",
	    op->peer, txid, why, serial);
refuse:
	enroll_op_fail(op, SCEP_FAIL_BADMESSAGECHECK,
	    "the signer certificate must carry the request's key");
	return 0;
}

/*
 * A new (not renewal) request: the challenge must be the profile's static
 * secret or a usable one-time challenge, both under the per-address
 * failure limit; then the templates decide the identity, before anything
 * is consumed. Sets *is_static. Returns 0, or -1 with op's answer set.
 */
int
enroll_admit(struct gw_ctx *ctx, struct enroll_op *op,
    const struct scep_csr_info *info, const uint8_t chash[32], bool *is_static,
    struct enroll_ident *id)
{
	const struct gw_profile *p = enroll_op_profile(ctx, op);
	const char *txid = scep_msg_txid(op->msg);
	struct db_challenge ch;
	int rc = -1;

	memset(&ch, 0, sizeof(ch));
	if (ctx->rl != NULL &&
	    !ratelimit_take(ctx->rl, op->peer, enroll_now())) {
		log_ev(LOG_INFO, "enroll.refused",
		    LOG_F(.peer = op->peer, .txid = txid,
			.fail_info = scep_fail_name(SCEP_FAIL_BADREQUEST),
			.reason = "too many failed attempts; try again later"),
		    "%s txid=%s: challenge refused: too many failed "
		    "attempts from this address",
		    op->peer, txid);
		enroll_op_fail(op, SCEP_FAIL_BADREQUEST,
		    "too many failed attempts; try again later");
		return -1;
	}
	*is_static = chal_is_static(ctx, p, chash);
	if (!*is_static && p != NULL && p->challenge == GW_CHAL_STATIC) {
		log_ev(LOG_INFO, "enroll.refused",
		    LOG_F(.peer = op->peer, .txid = txid, .profile = p->name,
			.fail_info = scep_fail_name(SCEP_FAIL_BADREQUEST),
			.reason = "invalid challenge password"),
		    "%s txid=%s: challenge refused: not the static "
		    "challenge of profile %s",
		    op->peer, txid, p->name);
		enroll_op_refuse(op, SCEP_FAIL_BADREQUEST,
		    "invalid challenge password",
		    "not the static challenge of the profile");
		return -1;
	}
	if (!*is_static && chal_onetime_peek(ctx, op, txid, chash, &ch) == -1)
		goto out;
	/* A valid secret: what follows is not a guess. */
	if (ctx->rl != NULL)
		ratelimit_refund(ctx->rl, op->peer);
	if (!*is_static && p != NULL && p->require_binding && ch.cn == NULL &&
	    ch.email == NULL && ch.ou == NULL && ch.upn == NULL) {
		log_ev(LOG_INFO, "enroll.refused",
		    LOG_F(.peer = op->peer, .txid = txid, .profile = p->name,
			.fail_info = scep_fail_name(SCEP_FAIL_BADREQUEST),
			.reason = "challenge has no identity"),
		    "%s txid=%s: challenge refused: profile %s requires "
		    "a challenge issued with an identity",
		    op->peer, txid, p->name);
		enroll_op_refuse(op, SCEP_FAIL_BADREQUEST,
		    "challenge has no identity",
		    "the profile requires a challenge issued with an "
		    "identity");
		goto out;
	}
	if (ident_decide(p, *is_static ? NULL : &ch, info, op, txid, id) ==
		-1 ||
	    ident_check(p, id->cn, id->email, id->ou, id->upn, info, op,
		txid) == -1)
		goto out;
	rc = 0;
out:
	db_challenge_cleanup(&ch);
	return rc;
}
