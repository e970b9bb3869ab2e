/*
 * Enrollment side of scepgw-bench: before the clock starts, fetches the
 * RA certificate and builds one PKCSReq per challenge (fresh key, CSR,
 * self-signed signer) on a few threads; after the run, checks every
 * CertRep with the test client library and looks for serial numbers
 * issued twice.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "buf.h"
#include "gw_err.h"
#include "secure.h"
#include "scep.h"
#include "scep_client.h"
#include "bench.h"

/* Everything one PKCSReq needs, and the message built from it. */
struct bench_job {
	EVP_PKEY *key;		    /* the device key (signs the request) */
	X509_REQ *csr;		    /* its CSR, with the challenge */
	X509 *signer;		    /* self-signed signer certificate */
	char txid[33];		    /* transactionID */
	struct scep_client_req req; /* nonce filled in by the build */
	struct buf msg;		    /* the pkiMessage */
};

struct bench_enroll {
	const struct bench_enroll_opts *o; /* borrowed */
	STACK_OF(X509) *bag;		   /* GetCACert reply */
	X509 *ra;			   /* recipient, from the bag */
	struct bench_job *jobs;		   /* o->n of them */
};

/* A preparation thread's share: jobs first, first + step, ... */
struct bench_worker {
	struct bench_enroll *b; /* shared, read-only but for its jobs */
	size_t first;		/* first job index */
	size_t step;		/* stride */
	pthread_t thread;	/* the thread */
	struct gw_err err;	/* why it stopped, if it failed */
	int rc;			/* 0 or -1 */
};

static const char *const bench_fail_names[BENCH_FAIL__MAX] = {
	[BENCH_FAIL_TRANSPORT] = "transport",
	[BENCH_FAIL_HTTP] = "http",
	[BENCH_FAIL_BADREPLY] = "badreply",
	[BENCH_FAIL_PENDING] = "pending",
	[BENCH_FAIL_FAILURE] = "failure",
	[BENCH_FAIL_WRONGKEY] = "wrongkey",
	[BENCH_FAIL_DUPSERIAL] = "dupserial",
};

/* The report name of a failure kind. */
const char *
bench_fail_name(enum bench_fail f)
{
	return f < BENCH_FAIL__MAX ? bench_fail_names[f] : "?";
}

/*
 * Counts a wrong reply of kind f for request i, and explains the first
 * five of each kind on stderr.
 */
void
bench_tally_add(struct bench_tally *t, enum bench_fail f, size_t i,
    const char *fmt, ...)
{
	va_list ap;

	if (t->fail[f]++ >= 5)
		return;
	fprintf(stderr, "scepgw-bench: request %zu: %s: ", i,
	    bench_fail_name(f));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* transactionID: hex of the first 16 bytes of SHA-256(SPKI), as scepreq. */
static int
job_txid_make(struct bench_job *j)
{
	unsigned char *der = NULL, md[32];
	unsigned int mdlen;
	int n, rc = -1;

	if ((n = i2d_PUBKEY(j->key, &der)) > 0 &&
	    EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL) == 1) {
		gw_hex(md, 16, j->txid);
		rc = 0;
	}
	OPENSSL_free(der);
	return rc;
}

/*
 * The key of request i: read from DIR/key-<i>.pem when --key-dir names a
 * folder that has it, else generated (and then saved there). Keeping keys
 * between runs only saves the untimed preparation: each run talks to a
 * fresh gateway, and every key of a run is still different. NULL on error.
 */
static EVP_PKEY *
job_key(const struct bench_enroll_opts *o, size_t i)
{
	char path[4096];
	EVP_PKEY *k = NULL;
	FILE *f;

	if (o->key_dir == NULL)
		return scep_client_key_new(false, o->key_bits);
	snprintf(path, sizeof(path), "%s/key-%d-%zu.pem", o->key_dir,
	    o->key_bits, i);
	if ((f = fopen(path, "r")) != NULL) {
		k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
		if (k != NULL)
			return k;
	}
	if ((k = scep_client_key_new(false, o->key_bits)) == NULL)
		return NULL;
	if ((f = fopen(path, "w")) != NULL) {
		PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
		fclose(f);
	}
	return k;
}

/* Builds request i: key, CSR, signer, pkiMessage. 0 or -1 with err. */
static int
job_build(struct bench_enroll *b, size_t i, struct gw_err *err)
{
	const struct bench_enroll_opts *o = b->o;
	struct bench_job *j = &b->jobs[i];
	char cn[64];

	ERR_clear_error();
	snprintf(cn, sizeof(cn), "bench-%zu", i);
	if ((j->key = job_key(o, i)) == NULL ||
	    (j->csr = scep_client_csr_new(j->key, cn, NULL,
		 o->challenges[i])) == NULL ||
	    (j->signer = scep_client_selfsigned_new(j->key, cn)) == NULL ||
	    job_txid_make(j) == -1) {
		gw_err_set_ossl(err, 0, "generating key, CSR or signer");
		return -1;
	}
	j->req.type = SCEP_MT_PKCSREQ;
	j->req.txid = j->txid;
	j->req.cipher_nid = o->cipher_nid;
	j->req.digest_nid = o->digest_nid;
	j->req.signer = j->signer;
	j->req.key = j->key;
	j->req.recipient = b->ra;
	j->req.csr = j->csr;
	j->req.lax_sender_nonce = o->lax_sender_nonce;
	buf_init(&j->msg, 0);
	return scep_client_msg_build(&j->req, &j->msg, err);
}

/* Preparation thread body. */
static void *
worker_run(void *arg)
{
	struct bench_worker *w = arg;
	size_t i;

	w->rc = 0;
	for (i = w->first; i < w->b->o->n && w->rc == 0; i += w->step)
		w->rc = job_build(w->b, i, &w->err);
	return NULL;
}

/* Builds every job on o->threads threads; 0 or -1 with err. */
static int
jobs_build(struct bench_enroll *b, struct gw_err *err)
{
	struct bench_worker *w;
	unsigned k, nw = b->o->threads > 0 ? b->o->threads : 1, started = 0;
	int rc = -1;

	if ((w = calloc(nw, sizeof(*w))) == NULL) {
		gw_err_set(err, 0, "out of memory");
		return -1;
	}
	for (k = 0; k < nw; k++) {
		w[k].b = b;
		w[k].first = k;
		w[k].step = nw;
		if (pthread_create(&w[k].thread, NULL, worker_run, &w[k]) != 0)
			break;
		started++;
	}
	rc = started == nw ? 0 : -1;
	if (rc == -1)
		gw_err_set(err, 0, "cannot start preparation threads");
	for (k = 0; k < started; k++) {
		pthread_join(w[k].thread, NULL);
		if (w[k].rc == -1 && rc == 0) {
			*err = w[k].err;
			rc = -1;
		}
	}
	free(w);
	return rc;
}

/* GetCACert, and the RA certificate picked from it; 0 or -1 with err. */
static int
ra_fetch(struct bench_enroll *b, struct gw_err *err)
{
	struct buf body, url;
	int rc = -1;

	buf_init(&body, 0);
	buf_init(&url, 0);
	if (buf_printf(&url, "%s?operation=GetCACert", b->o->url) == -1 ||
	    bench_http_get((char *)url.data, &body, err) == -1 ||
	    scep_client_bag_parse(body.data, body.len, &b->bag, err) == -1)
		goto out;
	if ((b->ra = scep_client_recipient_pick(b->bag)) == NULL) {
		gw_err_set(err, 0, "GetCACert names no RA certificate");
		goto out;
	}
	rc = 0;
out:
	buf_cleanup(&body);
	buf_cleanup(&url);
	return rc;
}

/*
 * Fetches the RA certificate and builds o->n PKCSReq messages, one per
 * challenge. o must outlive the result. Returns 0 with *out (free with
 * bench_enroll_free()), or -1 with err.
 */
int
bench_enroll_new(struct bench_enroll **out, const struct bench_enroll_opts *o,
    struct gw_err *err)
{
	struct bench_enroll *b;
	int rc = -1;

	*out = NULL;
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->jobs = calloc(o->n, sizeof(*b->jobs))) == NULL) {
		gw_err_set(err, 0, "out of memory");
		goto out;
	}
	b->o = o;
	if (ra_fetch(b, err) == -1 || jobs_build(b, err) == -1)
		goto out;
	*out = b;
	b = NULL;
	rc = 0;
out:
	bench_enroll_free(b);
	return rc;
}

/* Frees the requests and keys. NULL-safe. */
void
bench_enroll_free(struct bench_enroll *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; b->jobs != NULL && i < b->o->n; i++) {
		EVP_PKEY_free(b->jobs[i].key);
		X509_REQ_free(b->jobs[i].csr);
		X509_free(b->jobs[i].signer);
		buf_cleanup(&b->jobs[i].msg);
	}
	free(b->jobs);
	sk_X509_pop_free(b->bag, X509_free);
	free(b);
}

/* Points transfer i at request i's message (x holds o->n zeroed slots). */
void
bench_enroll_xfers(const struct bench_enroll *b, struct bench_xfer *x)
{
	size_t i;

	for (i = 0; i < b->o->n; i++) {
		x[i].body = b->jobs[i].msg.data;
		x[i].len = b->jobs[i].msg.len;
	}
}

/* Checks one reply; on SUCCESS returns the issued serial (caller frees). */
static char *
reply_check(const struct bench_job *j, const struct bench_xfer *x, X509 *ra,
    size_t i, struct bench_tally *t)
{
	struct scep_client_rep rep;
	struct gw_err err;
	BIGNUM *bn = NULL;
	char *serial = NULL, *hex = NULL;

	if (x->curl_rc != 0) {
		bench_tally_add(t, BENCH_FAIL_TRANSPORT, i, "curl error %d",
		    x->curl_rc);
		return NULL;
	}
	if (x->status != 200) {
		bench_tally_add(t, BENCH_FAIL_HTTP, i, "HTTP %ld: %.120s",
		    x->status,
		    x->reply.data != NULL ? (char *)x->reply.data : "");
		return NULL;
	}
	if (scep_client_rep_parse(x->reply.data, x->reply.len, ra, &j->req,
		&rep, &err) == -1) {
		bench_tally_add(t, BENCH_FAIL_BADREPLY, i, "%s", err.msg);
		return NULL;
	}
	if (rep.status == SCEP_STATUS_PENDING)
		bench_tally_add(t, BENCH_FAIL_PENDING, i, "txid %s", j->txid);
	else if (rep.status == SCEP_STATUS_FAILURE)
		bench_tally_add(t, BENCH_FAIL_FAILURE, i, "failInfo %s: %s",
		    scep_fail_name((enum scep_fail)rep.fail), rep.fail_text);
	else if (rep.issued == NULL)
		bench_tally_add(t, BENCH_FAIL_BADREPLY, i, "no certificate");
	else if (EVP_PKEY_eq(X509_get0_pubkey(rep.issued), j->key) != 1)
		bench_tally_add(t, BENCH_FAIL_WRONGKEY, i, "txid %s", j->txid);
	else if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(rep.issued),
		      NULL)) == NULL ||
	    (hex = BN_bn2hex(bn)) == NULL)
		bench_tally_add(t, BENCH_FAIL_BADREPLY, i, "unreadable serial");
	else
		serial = gw_strdup(hex);
	OPENSSL_free(hex);
	BN_free(bn);
	scep_client_rep_cleanup(&rep);
	return serial;
}

/* An issued serial number and the request it answered. */
struct bench_serial {
	char *hex; /* serial number, upper-case hex */
	size_t i;  /* request index */
};

/* qsort comparator for serial numbers. */
static int
serial_cmp(const void *a, const void *b)
{
	const struct bench_serial *x = a, *y = b;

	return strcmp(x->hex, y->hex);
}

/*
 * Checks every reply against its request (signature by the RA,
 * transactionID, nonces, SUCCESS, the certified key) and counts serial
 * numbers issued more than once. Results go to t.
 */
void
bench_enroll_check(const struct bench_enroll *b, const struct bench_xfer *x,
    struct bench_tally *t)
{
	struct bench_serial *serials;
	size_t i, ns = 0;

	if ((serials = calloc(b->o->n, sizeof(*serials))) == NULL) {
		fprintf(stderr, "scepgw-bench: out of memory\n");
		abort();
	}
	for (i = 0; i < b->o->n; i++) {
		serials[ns].hex = reply_check(&b->jobs[i], &x[i], b->ra, i, t);
		if (serials[ns].hex != NULL)
			serials[ns++].i = i;
	}
	qsort(serials, ns, sizeof(*serials), serial_cmp);
	t->ok = ns;
	for (i = 1; i < ns; i++)
		if (strcmp(serials[i - 1].hex, serials[i].hex) == 0) {
			bench_tally_add(t, BENCH_FAIL_DUPSERIAL, serials[i].i,
			    "serial %s also issued to request %zu",
			    serials[i].hex, serials[i - 1].i);
			t->ok--;
		}
	for (i = 0; i < ns; i++)
		free(serials[i].hex);
	free(serials);
}
