/*
 * epki-sim's operations: OrderAndIssueCertificate and GetOrderByOrderId,
 * with the validation order of spec 9.2 and the placeholder codes of
 * 7.3. Orders persist as one file each under DIR/orders/ (key=value
 * lines, a blank line, the leaf PEM); the licence count in DIR/state.
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
#include "secure.h"
#include "sim.h"

#define ORDER_FILE_MAX (64 * 1024)

/* Fills e; 0 so checks read "return sim_fail(...)" as "failed". */
static int
fail(struct epki_error *e, int code, const char *field, const char *msg)
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

/* Spec 9.2 steps 1-2: credentials (-4001), then the IP (-4201). */
static int
check_caller(const struct sim *s, const struct epki_req *rq,
    const struct sockaddr *peer, struct epki_error *e)
{
	if (rq->user == NULL || strcmp(rq->user, s->conf.user) != 0 ||
	    !secret_eq(rq->password, s->conf.password))
		return fail(e, -4001, NULL,
		    "Login failure. Invalid UserName or Password.");
	if (!sim_addr_allowed(s->conf.allow, peer))
		return fail(e, -4201, NULL,
		    "This IP address is not registered for API access.");
	return 0;
}

/* Spec 9.2: required fields (-102 with ErrorField). */
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
		missing = "CommonName";
	if (missing != NULL)
		return fail(e, -102, missing,
		    "A required parameter is missing.");
	return 0;
}

/* Spec 7.3 placeholders: product, profile, Year, licences. */
static int
check_account(struct sim *s, const struct epki_order *o, struct epki_error *e)
{
	long left;

	if (strcmp(o->product_code, s->conf.product) != 0)
		return fail(e, -9901, "ProductCode",
		    "The ProductCode is not allowed for this user.");
	if (strcmp(o->profile_id, s->conf.profile) != 0)
		return fail(e, -101, "ProfileID",
		    "The ProfileID is invalid or not this account's.");
	if (o->years != s->conf.years)
		return fail(e, -101, "Year",
		    "Year does not match the licence pack.");
	pthread_mutex_lock(&s->mu);
	left = s->licences;
	pthread_mutex_unlock(&s->mu);
	if (left <= 0)
		return fail(e, -6101, NULL,
		    "Not enough licences left in the licence pack.");
	return 0;
}

/* Key strength: RSA >= 2048 (-9936), EC on P-256/P-384 only (-9961). */
static int
check_key(EVP_PKEY *pub, struct epki_error *e)
{
	char curve[64];
	size_t n;

	if (EVP_PKEY_is_a(pub, "RSA"))
		return EVP_PKEY_get_bits(pub) < 2048 ?
		    fail(e, -9936, "CSR", "The key is too short or weak.") :
		    0;
	if (!EVP_PKEY_is_a(pub, "EC"))
		return fail(e, -4006, "CSR", "The key type is not RSA or ECC.");
	if (EVP_PKEY_get_utf8_string_param(pub, "group", curve, sizeof(curve),
		&n) != 1 ||
	    (strcmp(curve, "prime256v1") != 0 &&
		strcmp(curve, "secp384r1") != 0))
		return fail(e, -9961, "CSR", "The ECC curve is not allowed.");
	return 0;
}

/* Spec 9.2: CSR parse and signature (-4007), then the key. */
static int
check_csr(const char *pem, EVP_PKEY **pub, struct epki_error *e)
{
	X509_REQ *req = NULL;
	BIO *b;
	int rc = -1;

	*pub = NULL;
	if ((b = BIO_new_mem_buf(pem, -1)) != NULL)
		req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	BIO_free(b);
	if (req == NULL || (*pub = X509_REQ_get_pubkey(req)) == NULL ||
	    X509_REQ_verify(req, *pub) != 1) {
		fail(e, -4007, "CSR", "The CSR is invalid.");
		goto out;
	}
	rc = check_key(*pub, e);
out:
	if (rc == -1) {
		EVP_PKEY_free(*pub);
		*pub = NULL;
	}
	ERR_clear_error();
	X509_REQ_free(req);
	return rc;
}

/* Writes the leaf's PEM into out. */
static int
leaf_pem(X509 *x, struct buf *out)
{
	BIO *b;
	char *p;
	long n;
	int rc = -1;

	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return -1;
	if (PEM_write_bio_X509(b, x) == 1 && (n = BIO_get_mem_data(b, &p)) > 0)
		rc = buf_add(out, p, (size_t)n);
	BIO_free(b);
	return rc;
}

/* Persists an order as DIR/orders/<id>; call with s->mu held. */
static int
order_save(struct sim *s, const char *id, const struct epki_order *o,
    X509 *leaf, struct gw_err *err)
{
	char path[PATH_MAX], name[96], ts[48];
	struct buf b;
	int rc = -1;

	buf_init(&b, ORDER_FILE_MAX);
	snprintf(name, sizeof(name), "orders/%s", id);
	if (epki_timestamp(ts, sizeof(ts)) == -1 ||
	    sim_path(s, path, sizeof(path), name) == -1 ||
	    buf_printf(&b,
		"# epki-sim order\nstatus=4\nrequest_date=%s\nprofile=%s\nproduct=%s\n\n",
		ts, o->profile_id, o->product_code) == -1 ||
	    leaf_pem(leaf, &b) == -1) {
		gw_err_set(err, ENOMEM, "order %s: cannot store", id);
		goto out;
	}
	rc = gw_file_write(path, b.data, b.len, 0644, err);
out:
	buf_cleanup(&b);
	return rc;
}

/* Issues, numbers, stores and counts one order under the lock. */
static int
order_issue(struct sim *s, EVP_PKEY *pub, const struct epki_order *o, char *id,
    size_t idlen, X509 **leaf, struct epki_error *e)
{
	struct gw_err err;
	char day[16];
	struct tm tm;
	time_t now = time(NULL);
	int rc = -1;

	pthread_mutex_lock(&s->mu);
	if (s->licences <= 0) {
		fail(e, -6101, NULL,
		    "Not enough licences left in the "
		    "licence pack.");
		goto out;
	}
	gmtime_r(&now, &tm);
	strftime(day, sizeof(day), "%Y%m%d", &tm);
	snprintf(id, idlen, "MPS%s%06lu", day, s->counter + 1);
	if (sim_pki_issue(s, pub, o, leaf, &err) == -1 ||
	    order_save(s, id, o, *leaf, &err) == -1) {
		fprintf(stderr, "epki-sim: order %s: %s\n", id, err.msg);
		fail(e, -9943, NULL,
		    "Problem issuing the certificate in the RA system.");
		goto out;
	}
	s->counter++;
	s->licences--;
	if (sim_state_save(s, &err) == -1)
		fprintf(stderr, "epki-sim: %s\n", err.msg);
	rc = 0;
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* OrderAndIssueCertificate (spec 5.1, 9.2). */
static int
op_order(struct sim *s, const struct sockaddr *peer, struct epki_req *rq,
    struct buf *out)
{
	struct epki_reply rep = { .op = EPKI_OP_ORDER, .success_code = -1 };
	struct epki_error e;
	struct buf cert;
	EVP_PKEY *pub = NULL;
	X509 *leaf = NULL;
	char id[64];
	int rc;

	memset(&e, 0, sizeof(e));
	buf_init(&cert, ORDER_FILE_MAX);
	if (check_caller(s, rq, peer, &e) == 0 && check_fields(rq, &e) == 0 &&
	    check_account(s, &rq->order, &e) == 0 &&
	    check_csr(rq->order.csr_pem, &pub, &e) == 0 &&
	    order_issue(s, pub, &rq->order, id, sizeof(id), &leaf, &e) == 0) {
		if (sim_pki_p7_pem(s, leaf, &cert) == 0) {
			rep.success_code = 0;
			rep.order_id = id;
			rep.cert = (const char *)cert.data;
		} else {
			fail(&e, -9943, NULL,
			    "Problem returning the "
			    "certificate.");
		}
	}
	if (rep.success_code != 0) {
		rep.errors = &e;
		rep.nerrors = 1;
	}
	rc = epki_soap_reply_build(&rep, out, NULL);
	buf_cleanup(&cert);
	EVP_PKEY_free(pub);
	X509_free(leaf);
	return rc;
}

/* True if id is a plausible order number (no path tricks). */
static int
id_ok(const char *id)
{
	size_t n = strlen(id);

	return n > 0 && n < 48 &&
	    strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == n;
}

/* A stored order: its header values (pointing into raw) and leaf. */
struct stored {
	struct buf raw;
	const char *status;
	const char *request_date;
	const char *profile;
	const char *product;
	X509 *leaf;
};

/* Splits the key=value header lines of a stored order in place. */
static void
stored_parse(char *hdr, struct stored *st)
{
	char *line, *next, *v;

	for (line = hdr; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((v = strchr(line, '=')) == NULL)
			continue;
		*v++ = '\0';
		if (strcmp(line, "status") == 0)
			st->status = v;
		else if (strcmp(line, "request_date") == 0)
			st->request_date = v;
		else if (strcmp(line, "profile") == 0)
			st->profile = v;
		else if (strcmp(line, "product") == 0)
			st->product = v;
	}
}

/* Loads DIR/orders/<id>; -1 if there is no such order. */
static int
stored_load(struct sim *s, const char *id, struct stored *st)
{
	char path[PATH_MAX], name[96], *sep;
	struct gw_err err;
	BIO *b;

	memset(st, 0, sizeof(*st));
	snprintf(name, sizeof(name), "orders/%s", id);
	if (sim_path(s, path, sizeof(path), name) == -1)
		return -1;
	pthread_mutex_lock(&s->mu);
	if (gw_file_read(path, ORDER_FILE_MAX, &st->raw, &err) == -1) {
		pthread_mutex_unlock(&s->mu);
		return -1;
	}
	pthread_mutex_unlock(&s->mu);
	if ((sep = strstr((char *)st->raw.data, "\n\n")) == NULL)
		return -1;
	sep[1] = '\0';
	if ((b = BIO_new_mem_buf(sep + 2, -1)) != NULL)
		st->leaf = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	stored_parse((char *)st->raw.data, st);
	return st->leaf == NULL ? -1 : 0;
}

/* Frees a stored order; safe after a failed load. */
static void
stored_cleanup(struct stored *st)
{
	buf_cleanup(&st->raw);
	X509_free(st->leaf);
}

/* Formats an ASN1_TIME as 2026-11-27T06:12:13.000Z. */
static void
time_text(const ASN1_TIME *t, char *out, size_t n)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(out, n, "%Y-%m-%dT%H:%M:%S.000Z", &tm) == 0)
		snprintf(out, n, "%s", "");
}

/* The text of the first entry nid in name, into out. */
static void
name_text(const X509_NAME *name, int nid, char *out, int n)
{
	if (X509_NAME_get_text_by_NID(name, nid, out, n) < 0)
		out[0] = '\0';
}

/* Certificate details of spec 5.2 taken from the stored leaf. */
struct leaf_info {
	char serial[80], nb[40], na[40], cn[256], email[256];
	struct buf pem; /* leaf PEM, CRLF */
	struct buf p7;	/* PKCS#7 PEM, CRLF */
};

/* Fills li from the stored order's leaf; 0 or -1. */
static int
leaf_info_fill(const struct sim *s, X509 *leaf, struct leaf_info *li)
{
	const ASN1_INTEGER *ai = X509_get0_serialNumber(leaf);
	struct buf pem;
	BIGNUM *bn;
	char *hex = NULL;
	int rc = -1;

	buf_init(&pem, ORDER_FILE_MAX);
	if ((bn = ASN1_INTEGER_to_BN(ai, NULL)) == NULL ||
	    (hex = BN_bn2hex(bn)) == NULL)
		goto out;
	snprintf(li->serial, sizeof(li->serial), "%s", hex);
	time_text(X509_get0_notBefore(leaf), li->nb, sizeof(li->nb));
	time_text(X509_get0_notAfter(leaf), li->na, sizeof(li->na));
	name_text(X509_get_subject_name(leaf), NID_commonName, li->cn,
	    (int)sizeof(li->cn));
	name_text(X509_get_subject_name(leaf), NID_pkcs9_emailAddress,
	    li->email, (int)sizeof(li->email));
	if (leaf_pem(leaf, &pem) == -1 ||
	    sim_pem_crlf((const char *)pem.data, &li->pem) == -1 ||
	    sim_pki_p7_pem(s, leaf, &li->p7) == -1)
		goto out;
	rc = 0;
out:
	OPENSSL_free(hex);
	BN_free(bn);
	buf_cleanup(&pem);
	return rc;
}

/* GetOrderByOrderId (spec 5.2): the order with its certificate. */
static int
op_get_order(struct sim *s, const struct sockaddr *peer, struct epki_req *rq,
    struct buf *out)
{
	struct epki_reply rep = { .op = EPKI_OP_GET_ORDER, .success_code = -1 };
	struct epki_order_info info;
	struct leaf_info li;
	struct stored st;
	struct epki_error e;
	int rc;

	memset(&e, 0, sizeof(e));
	memset(&st, 0, sizeof(st));
	memset(&li, 0, sizeof(li));
	memset(&info, 0, sizeof(info));
	buf_init(&li.pem, ORDER_FILE_MAX);
	buf_init(&li.p7, ORDER_FILE_MAX);
	if (check_caller(s, rq, peer, &e) == -1)
		goto reply;
	if (rq->order_no == NULL) {
		fail(&e, -102, "OrderNo", "A required parameter is missing.");
		goto reply;
	}
	if (!id_ok(rq->order_no) || stored_load(s, rq->order_no, &st) == -1 ||
	    leaf_info_fill(s, st.leaf, &li) == -1) {
		fail(&e, -9916, "OrderNo", "OrderID not found.");
		goto reply;
	}
	info = (struct epki_order_info) { .order_status = st.status,
		.product_code = st.product,
		.profile_id = st.profile,
		.request_date = st.request_date,
		.issue_date = li.nb,
		.not_before = li.nb,
		.not_after = li.na,
		.cert_status = st.status,
		.serial = li.serial,
		.cn = li.cn,
		.email = li.email[0] ? li.email : NULL,
		.certificate = (const char *)li.pem.data,
		.pkcs7 = (const char *)li.p7.data };
	rep.success_code = 0;
	rep.order_id = rq->order_no;
	rep.info = &info;
	rep.want_cert_info = rq->want_cert_info;
	rep.want_fulfillment = rq->want_fulfillment;
	rep.want_p7 = rq->want_p7;
reply:
	if (rep.success_code != 0) {
		rep.errors = &e;
		rep.nerrors = 1;
	}
	rc = epki_soap_reply_build(&rep, out, NULL);
	stored_cleanup(&st);
	buf_cleanup(&li.pem);
	buf_cleanup(&li.p7);
	return rc;
}

/* Writes a soap:Client Fault with HTTP 500. */
static void
reply_fault(struct buf *out, unsigned *status, const char *msg)
{
	buf_reset(out);
	epki_soap_fault_build("soap:Client", msg, out);
	*status = 500;
}

/*
 * Answers one SOAP request from peer: the response body into out (which
 * the caller initialised) and the HTTP status. Returns 0, or -1 when no
 * answer could be built at all.
 */
int
sim_handle(struct sim *s, const struct sockaddr *peer, const uint8_t *body,
    size_t len, struct buf *out, unsigned *status)
{
	struct epki_req rq;
	struct gw_err err;
	char msg[256];
	int rc = 0;

	*status = 200;
	gw_err_clear(&err);
	ERR_clear_error();
	if (epki_soap_req_parse(body, len, &rq, &err) == -1) {
		reply_fault(out, status, err.msg);
	} else if (rq.op == EPKI_OP_UNKNOWN) {
		snprintf(msg, sizeof(msg),
		    "Unexpected wrapper element %s found.   Expected "
		    "{" EPKI_NS "}OrderAndIssueCertificate.",
		    rq.wrapper);
		reply_fault(out, status, msg);
	} else if (rq.op == EPKI_OP_ORDER) {
		rc = op_order(s, peer, &rq, out);
	} else {
		rc = op_get_order(s, peer, &rq, out);
	}
	if (rc == -1)
		reply_fault(out, status, "Internal error building the reply");
	epki_req_cleanup(&rq);
	return out->len > 0 ? 0 : -1;
}
