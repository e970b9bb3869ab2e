/*
 * epki-sim's dispatcher and its order operations: OrderAndIssueCertificate
 * and GetOrderByOrderId, with the validation order and the placeholder
 * codes (licence packs, profile states) of epki/sim/README.md, and the
 * injected faults applied around them. Orders and licence counts
 * persist in the journal (sim_store.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "buf.h"
#include "gw_err.h"
#include "pubkey.h"
#include "secure.h"
#include "sim.h"

#define ORDER_FILE_MAX (64 * 1024)

/* Where sim_pack_pick() found no usable pack. */
#define PACK_NONE ((size_t)-1)

/* Fills e and returns -1, so checks read "return sim_fail(...)". */
int
sim_fail(struct epki_error *e, int code, const char *field, const char *msg)
{
	e->code = code;
	snprintf(e->field, sizeof(e->field), "%s", field ? field : "");
	snprintf(e->message, sizeof(e->message), "%s", msg);
	return -1;
}

/* True if a and b are equal strings, compared in constant time. */
static int
secret_eq(const char *a, const char *b)
{
	size_t n;

	if (a == NULL || b == NULL || (n = strlen(a)) != strlen(b))
		return 0;
	return CRYPTO_memcmp(a, b, n) == 0;
}

/* Validation steps 1-2: credentials (-4001), then the IP (-4201). */
int
sim_check_caller(const struct sim *s, const struct epki_req *rq,
    const struct sockaddr *peer, struct epki_error *e)
{
	if (rq->user == NULL || strcmp(rq->user, s->conf.user) != 0 ||
	    !secret_eq(rq->password, s->conf.password))
		return sim_fail(e, -4001, NULL,
		    "Login failure. Invalid UserName or Password.");
	if (!sim_addr_allowed(s->conf.allow, peer))
		return sim_fail(e, -4201, NULL,
		    "This IP address is not registered for API access.");
	return 0;
}

/* Validation step 3: required fields (-102 with ErrorField). */
static int
check_fields(const struct epki_req *rq, struct epki_error *e)
{
	const struct epki_order *o = &rq->order;
	const char *missing = NULL;

	if (o->profile_id == NULL)
		missing = "ProfileID";
	else if (o->product_code == NULL)
		missing = "ProductCode";
	else if (!rq->has_year)
		missing = "Year";
	else if (o->csr_pem == NULL)
		missing = "CSR";
	else if (o->cn == NULL)
		missing = "DnAttributes.CommonName";
	if (missing != NULL)
		return sim_fail(e, -102, missing,
		    "A required parameter is missing.");
	return 0;
}

/*
 * The one answer for every licence condition: GlobalSign's EPKI guide
 * for MobileIron shows its licence error for an expired pack, and "also if
 * the ProductCode and/or Certificate Expiration do not match your
 * certificate licence pack" (epki/sim/README.md "Validation order", step
 * 4). Call with s->mu held (the code may change at run time).
 */
static int
no_licence(struct sim *s, struct epki_error *e)
{
	return sim_fail(e, (int)s->conf.no_licence_code, NULL,
	    "No licence available: the licence pack has expired or is used "
	    "up, or the ProductCode or Year does not match it.");
}

/*
 * Picks the pack that sells years-year certificates, is not expired at
 * now and has licences left; call with s->mu held. PACK_NONE with e set
 * to the one licence error otherwise (no such pack, all expired, all
 * used up).
 */
static size_t
pack_pick(struct sim *s, int years, time_t now, struct epki_error *e)
{
	size_t i;

	for (i = 0; i < s->npacks; i++)
		if (s->packs[i].years == years && s->packs[i].expiry_t >= now &&
		    s->packs[i].left > 0)
			return i;
	no_licence(s, e);
	return PACK_NONE;
}

/*
 * Step 4, placeholder codes: the user's product rights, profile and its
 * state, licence pack (a ProductCode no pack covers is the licence
 * error).
 */
static int
check_account(struct sim *s, const struct epki_order *o, struct epki_error *e)
{
	enum sim_profile_state st;
	size_t pack;

	if (s->conf.denied_product[0] != '\0' &&
	    strcmp(o->product_code, s->conf.denied_product) == 0)
		return sim_fail(e, -9901, "ProductCode",
		    "The ProductCode is not allowed for this user.");
	if (strcmp(o->profile_id, s->conf.profile) != 0)
		return sim_fail(e, -101, "ProfileID",
		    "The ProfileID is invalid or not this account's.");
	pthread_mutex_lock(&s->mu);
	st = s->profile_state;
	if (strcmp(o->product_code, s->conf.product) != 0) {
		no_licence(s, e);
		pack = PACK_NONE;
	} else
		pack = pack_pick(s, o->years, time(NULL), e);
	pthread_mutex_unlock(&s->mu);
	if (st == SIM_PROFILE_PENDING)
		return sim_fail(e, (int)s->conf.profile_code, "ProfileID",
		    "The profile has not been validated yet (vetting "
		    "pending).");
	if (st == SIM_PROFILE_SUSPENDED)
		return sim_fail(e, (int)s->conf.profile_code, "ProfileID",
		    "The profile is suspended.");
	if (time(NULL) > s->conf.profile_not_after_t)
		return sim_fail(e, (int)s->conf.profile_code, "ProfileID",
		    "The profile's validity period has ended.");
	return pack == PACK_NONE ? -1 : 0;
}

/* Key strength: RSA >= 2048 (-9936), EC on P-256/P-384 only (-9961). */
static int
check_key(EVP_PKEY *pub, struct epki_error *e)
{
	char curve[64];
	size_t n;

	if (EVP_PKEY_is_a(pub, "RSA"))
		return EVP_PKEY_get_bits(pub) < 2048 ?
		    sim_fail(e, -9936, "CSR", "The key is too short or weak.") :
		    0;
	if (!EVP_PKEY_is_a(pub, "EC"))
		return sim_fail(e, -4006, "CSR",
		    "The key type is not RSA or ECC.");
	if (EVP_PKEY_get_utf8_string_param(pub, "group", curve, sizeof(curve),
		&n) != 1 ||
	    (strcmp(curve, "prime256v1") != 0 &&
		strcmp(curve, "secp384r1") != 0))
		return sim_fail(e, -9961, "CSR",
		    "The ECC curve is not allowed.");
	return 0;
}

/*
 * Steps 5-6: CSR parse and signature (-4007), then the key. On success
 * *reqp is the parsed request (its SubjectPublicKeyInfo goes into the
 * certificate as is) and *pub its key; the caller frees both.
 */
static int
check_csr(const char *pem, X509_REQ **reqp, EVP_PKEY **pub,
    struct epki_error *e)
{
	X509_REQ *req = NULL;
	unsigned char *der = NULL;
	const unsigned char *p;
	long len = 0;
	BIO *b;
	int rc = -1;

	*pub = NULL;
	*reqp = NULL;
	/* Decoded bare, the key built once from its parameters (pubkey.h). */
	if ((b = BIO_new_mem_buf(pem, -1)) != NULL &&
	    PEM_bytes_read_bio(&der, &len, NULL, PEM_STRING_X509_REQ, b, NULL,
		NULL) == 1) {
		p = der;
		req = gw_req_d2i_bare(&p, len);
	}
	BIO_free(b);
	OPENSSL_free(der);
	if (req == NULL ||
	    (*pub = gw_spki_pkey(X509_REQ_get_X509_PUBKEY(req))) == NULL ||
	    X509_REQ_verify(req, *pub) != 1) {
		sim_fail(e, -4007, "CSR", "The CSR is invalid.");
		goto out;
	}
	rc = check_key(*pub, e);
out:
	if (rc == -1) {
		EVP_PKEY_free(*pub);
		*pub = NULL;
	} else {
		*reqp = req;
		req = NULL;
	}
	ERR_clear_error();
	X509_REQ_free(req);
	return rc;
}

/* Issues, numbers, stores and counts one order under the lock. */
static int
order_issue(struct sim *s, EVP_PKEY *pub, const X509_PUBKEY *spki,
    const struct epki_order *o, char *id, size_t idlen, X509 **leaf,
    struct epki_error *e)
{
	struct gw_err err;
	char day[16], ts[48], licence[32];
	struct tm tm;
	time_t now = time(NULL);
	size_t pack;
	int rc = -1;

	/*
	 * Signing reads only what is fixed at start (conf, CA, key) and
	 * needs no order number (serials are random), so it runs before
	 * the lock: calls sign in parallel and only numbering and storing
	 * are serialised.
	 */
	if (sim_pki_issue(s, pub, spki, o, leaf, &err) == -1) {
		fprintf(stderr, "epki-sim: issuing: %s\n", err.msg);
		sim_fail(e, -9943, NULL,
		    "Problem issuing the certificate in the RA system.");
		return -1;
	}
	pthread_mutex_lock(&s->mu);
	/* Checked again under the lock: the last licence may just have gone. */
	if ((pack = pack_pick(s, o->years, now, e)) == PACK_NONE)
		goto out;
	gmtime_r(&now, &tm);
	strftime(day, sizeof(day), "%Y%m%d", &tm);
	snprintf(id, idlen, "MPS%s%06lu", day, s->counter + 1);
	/* Counted first: the order's record carries the new counts. */
	s->counter++;
	s->spent++;
	s->packs[pack].left--;
	sim_licence_no(pack, licence, sizeof(licence));
	if (epki_timestamp(ts, sizeof(ts)) == -1 ||
	    sim_order_save(s, id, "4", ts, o->profile_id, o->product_code,
		licence, NULL, *leaf, 1, &err) == -1) {
		fprintf(stderr, "epki-sim: order %s: %s\n", id, err.msg);
		s->counter--;
		s->spent--;
		s->packs[pack].left++;
		sim_fail(e, -9943, NULL,
		    "Problem issuing the certificate in the RA system.");
		goto out;
	}
	rc = 0;
out:
	pthread_mutex_unlock(&s->mu);
	/*
	 * Synced outside the lock. Should the sync fail, the order stays
	 * made and counted while the caller hears an error: what a lost
	 * answer from GlobalSign looks like, which a lookup resolves.
	 */
	if (rc == 0 && sim_journal_sync(s, &err) == -1) {
		fprintf(stderr, "epki-sim: order %s: %s\n", id, err.msg);
		sim_fail(e, -9943, NULL,
		    "Problem issuing the certificate in the RA system.");
		rc = -1;
	}
	if (rc == -1) {
		X509_free(*leaf);
		*leaf = NULL;
	}
	return rc;
}

/*
 * Finishes a reply: a success becomes SuccessCode 1 with the -2001
 * warning when warn is set; a failure carries e. Builds into out.
 */
int
sim_reply_send(struct epki_reply *rep, struct epki_error *e, int warn,
    struct buf *out)
{
	if (rep->success_code != 0) {
		rep->success_code = -1;
		rep->errors = e;
		rep->nerrors = 1;
	} else if (warn) {
		sim_fail(e, -2001, NULL,
		    "Internal warning: the notification email could not be "
		    "sent.");
		rep->success_code = 1;
		rep->errors = e;
		rep->nerrors = 1;
	}
	return epki_soap_reply_build(rep, out, NULL);
}

/* OrderAndIssueCertificate. */
static int
op_order(struct sim *s, const struct sockaddr *peer, struct epki_req *rq,
    int warn, struct buf *out)
{
	struct epki_reply rep = { .op = EPKI_OP_ORDER, .success_code = -1 };
	struct epki_error e;
	struct gw_err err;
	struct buf cert;
	EVP_PKEY *pub = NULL;
	X509_REQ *req = NULL;
	X509 *leaf = NULL;
	char id[64];
	int rc;

	memset(&e, 0, sizeof(e));
	buf_init(&cert, ORDER_FILE_MAX);
	if (sim_check_caller(s, rq, peer, &e) == 0 &&
	    check_fields(rq, &e) == 0 &&
	    sim_check_dn(&s->conf, &rq->order, &e) == 0 &&
	    check_account(s, &rq->order, &e) == 0 &&
	    check_csr(rq->order.csr_pem, &req, &pub, &e) == 0 &&
	    order_issue(s, pub, X509_REQ_get_X509_PUBKEY(req), &rq->order, id,
		sizeof(id), &leaf, &e) == 0) {
		/* Fault "foreign": the order is made and paid for, but the
		 * answer carries a certificate the CA did not sign. */
		if ((warn & SIM_OP_FOREIGN) != 0 &&
		    sim_pki_forge(leaf, &err) == -1)
			fprintf(stderr, "epki-sim: %s\n", err.msg);
		if (sim_cert_text(s, leaf, sim_cert_format_get(s), &cert) ==
		    0) {
			rep.success_code = 0;
			rep.order_id = id;
			rep.cert = (const char *)cert.data;
		} else {
			sim_fail(&e, -9943, NULL,
			    "Problem returning the certificate.");
		}
	}
	rc = sim_reply_send(&rep, &e, warn & SIM_OP_WARN, out);
	buf_cleanup(&cert);
	EVP_PKEY_free(pub);
	X509_REQ_free(req);
	X509_free(leaf);
	return rc;
}

/* GetOrderByOrderId: the order with its certificate. */
static int
op_get_order(struct sim *s, const struct sockaddr *peer, struct epki_req *rq,
    int warn, struct buf *out)
{
	struct epki_reply rep = { .op = EPKI_OP_GET_ORDER, .success_code = -1 };
	struct epki_order_info info;
	struct sim_leaf_info li;
	struct sim_stored st;
	struct epki_error e;
	struct gw_err err;
	int rc;

	memset(&e, 0, sizeof(e));
	memset(&st, 0, sizeof(st));
	sim_leaf_info_init(&li);
	if (sim_check_caller(s, rq, peer, &e) == -1)
		goto reply;
	if (rq->order_no == NULL) {
		sim_fail(&e, -102, "OrderNo",
		    "A required parameter is missing.");
		goto reply;
	}
	if (sim_stored_load(s, rq->order_no, &st) == -1 ||
	    ((warn & SIM_OP_FOREIGN) != 0 &&
		sim_pki_forge(st.leaf, &err) == -1) ||
	    sim_leaf_info_fill(s, st.leaf, &li) == -1) {
		sim_fail(&e, -9916, "OrderNo", "OrderID not found.");
		goto reply;
	}
	sim_order_info_set(&info, rq->order_no, &st, &li);
	rep.success_code = 0;
	rep.order_id = rq->order_no;
	rep.info = &info;
	rep.want_cert_info = rq->want_cert_info;
	rep.want_fulfillment = rq->want_fulfillment;
	rep.want_p7 = rq->want_p7;
reply:
	rc = sim_reply_send(&rep, &e, warn & SIM_OP_WARN, out);
	sim_stored_cleanup(&st);
	sim_leaf_info_cleanup(&li);
	return rc;
}

/* Writes a SOAP Fault (soap:Client or soap:Server) with HTTP 500. */
static void
reply_fault(struct sim_result *res, const char *code, const char *msg)
{
	buf_reset(res->out);
	epki_soap_fault_build(code, msg, res->out);
	res->status = 500;
}

/* A -1 "internal system error" answer for op. */
static int
reply_internal(int op, struct buf *out)
{
	struct epki_reply rep = { .op = (enum epki_op)op, .success_code = -1 };
	struct epki_error e;

	sim_fail(&e, -1, NULL,
	    "Internal system error. Please re-execute. If the error "
	    "persists, contact GlobalSign Support.");
	return sim_reply_send(&rep, &e, 0, out);
}

/* The answer to a wrong UserName or Password (validation step 1). */
static int
reply_login(int op, struct buf *out)
{
	struct epki_reply rep = { .op = (enum epki_op)op, .success_code = -1 };
	struct epki_error e;

	sim_fail(&e, -4001, NULL,
	    "Login failure. Invalid UserName or Password.");
	return sim_reply_send(&rep, &e, 0, out);
}

/* A proxy's HTML error page: not every answer is SOAP. */
static void
reply_html(struct sim_result *res, unsigned status)
{
	buf_reset(res->out);
	buf_printf(res->out,
	    "<!DOCTYPE html>\n<html><head><title>%u %s</title></head>"
	    "<body><h1>%s</h1><p>The upstream server is unavailable."
	    "</p></body></html>\n",
	    status, status == 502 ? "Bad Gateway" : "Service Unavailable",
	    status == 502 ? "Bad Gateway" : "Service Unavailable");
	res->status = status;
	res->ctype = "text/html";
}

/* Runs the operation itself (no fault, or one that lets it run). */
static int
op_run(struct sim *s, const struct sockaddr *peer, struct epki_req *rq,
    int warn, struct buf *out)
{
	switch (rq->op) {
	case EPKI_OP_ORDER:
		return op_order(s, peer, rq, warn, out);
	case EPKI_OP_GET_ORDER:
		return op_get_order(s, peer, rq, warn, out);
	case EPKI_OP_GET_ORDERS:
		return sim_op_get_orders(s, peer, rq, warn, out);
	case EPKI_OP_REVOKE:
		return sim_op_revoke(s, peer, rq, warn & SIM_OP_WARN, out);
	default:
		return sim_op_get_profiles(s, peer, rq, warn & SIM_OP_WARN,
		    out);
	}
}

/* Applies the fault picked for a parsed call, or runs it. */
static int
call_apply(struct sim *s, const struct sockaddr *peer, struct epki_req *rq,
    const struct sim_fault *f, struct sim_result *res)
{
	switch ((int)f->kind) {
	case SIM_F_HTTP500:
		reply_fault(res, "soap:Server",
		    "Fault occurred while processing.");
		return 0;
	case SIM_F_HTTP502:
	case SIM_F_HTTP503:
		reply_html(res, f->kind == SIM_F_HTTP502 ? 502 : 503);
		return 0;
	case SIM_F_RESET:
		res->action = SIM_ACT_CLOSE;
		return 0;
	case SIM_F_INTERNAL:
		return reply_internal((int)rq->op, res->out);
	case SIM_F_LOGIN:
		return reply_login((int)rq->op, res->out);
	case SIM_F_DROP:
		/* The work is done and paid for; only the answer is lost. */
		res->action = SIM_ACT_CLOSE;
		res->delay_ms += f->ms;
		return op_run(s, peer, rq, 0, res->out);
	case SIM_F_FOREIGN:
		return op_run(s, peer, rq, SIM_OP_FOREIGN, res->out);
	default:
		return op_run(s, peer, rq,
		    f->kind == SIM_F_WARNING ? SIM_OP_WARN : 0, res->out);
	}
}

/*
 * Answers one SOAP request from peer into res (res->out initialised by
 * the caller): counts the call, applies any injected fault (README), and
 * says whether to reply or close, and after how long. Returns 0, or -1
 * when no answer could be built at all.
 */
int
sim_handle(struct sim *s, const struct sockaddr *peer, const uint8_t *body,
    size_t len, struct sim_result *res)
{
	struct sim_fault f;
	struct epki_req rq;
	struct gw_err err;
	char msg[256];
	int rc = 0;

	res->status = 200;
	res->ctype = "text/xml;charset=UTF-8";
	res->action = SIM_ACT_REPLY;
	res->delay_ms = 0;
	gw_err_clear(&err);
	ERR_clear_error();
	if (epki_soap_req_parse_ns(body, len, s->conf.lenient_ns, &rq, &err) ==
	    -1) {
		sim_fault_pick(s, EPKI_OP_UNKNOWN, &res->delay_ms, NULL);
		reply_fault(res, "soap:Client", err.msg);
	} else if (rq.op == EPKI_OP_UNKNOWN) {
		sim_fault_pick(s, EPKI_OP_UNKNOWN, &res->delay_ms, NULL);
		snprintf(msg, sizeof(msg),
		    "Unexpected wrapper element %s found.   Expected "
		    "{" EPKI_NS "}OrderAndIssueCertificate.",
		    rq.wrapper);
		reply_fault(res, "soap:Client", msg);
	} else {
		sim_fault_pick(s, (int)rq.op, &res->delay_ms, &f);
		rc = call_apply(s, peer, &rq, &f, res);
	}
	if (rc == -1 ||
	    (res->status == 200 &&
		sim_timestamp_skew(&s->conf, res->out) == -1))
		reply_fault(res, "soap:Server",
		    "Internal error building the reply");
	epki_req_cleanup(&rq);
	return res->out->len > 0 || res->action == SIM_ACT_CLOSE ? 0 : -1;
}
