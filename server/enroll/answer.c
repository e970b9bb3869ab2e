/*
 * Answer from state: a request whose transactionID is known gets the
 * stored answer (a retry, CertPoll), but only when it is signed with the
 * key that made the transaction (README "Security model"); GetCert is
 * answered from the certificate table.
 */
#include <stdint.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "buf.h"
#include "config.h"
#include "crl.h"
#include "db.h"
#include "enroll_int.h"
#include "enroll.h"
#include "gw.h"
#include "gw_err.h"
#include "gw_thread.h"
#include "log.h"
#include "pubkey.h"
#include "scep.h"
#include "secure.h"

/* Sets op from a stored transaction: the same answer a retry deserves. */
static void
op_from_txn(struct enroll_op *op, const struct db_txn *t)
{
	const unsigned char *p;

	switch (t->state) {
	case DB_TXN_ISSUED:
		/* Intune hears of a certificate before the device does
		 * (README "Microsoft Intune"): PENDING until it has. */
		if (t->intune == DB_INTUNE_VALIDATED) {
			op->status = SCEP_STATUS_PENDING;
			return;
		}
		p = t->cert_der;
		op->cert = d2i_X509(NULL, &p, (long)t->cert_len);
		if (op->cert == NULL) {
			enroll_op_fail(op, SCEP_FAIL_BADREQUEST,
			    "stored certificate unreadable");
			return;
		}
		op->status = SCEP_STATUS_SUCCESS;
		return;
	case DB_TXN_FAILED:
		enroll_op_fail(op, (enum scep_fail)t->fail_info,
		    t->fail_text != NULL ? t->fail_text : "request failed");
		return;
	case DB_TXN_ORDERING:
	default:
		op->status = SCEP_STATUS_PENDING;
		return;
	}
}

/*
 * The key a transaction was requested for: its stored fingerprint, else
 * (rows older than schema 5) the one of its stored CSR. Returns 0 or -1.
 */
static int
txn_key_sha256(const struct db_txn *t, uint8_t out[32])
{
	unsigned char *der = NULL;
	unsigned int len = 0;
	X509_REQ *req = NULL;
	BIO *bio;
	int n, rc = -1;

	if (t->has_key) {
		memcpy(out, t->key_sha256, 32);
		return 0;
	}
	if (t->csr_pem == NULL ||
	    (bio = BIO_new_mem_buf(t->csr_pem, -1)) == NULL)
		return -1;
	req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (req != NULL &&
	    (n = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req), &der)) > 0 &&
	    EVP_Digest(der, (size_t)n, out, &len, EVP_sha256(), NULL) == 1 &&
	    len == 32)
		rc = 0;
	OPENSSL_free(der);
	X509_REQ_free(req);
	ERR_clear_error();
	return rc;
}

/*
 * Whether op may read transaction t (README "Security model"): only a
 * request signed with the key of the request that made it, or for a
 * renewal with the certificate it renews. Anyone else learns nothing, not
 * even that the transactionID exists. Returns 1 or 0, -1 on a database
 * error (err set).
 */
int
enroll_txn_reader_ok(struct gw_ctx *ctx, const struct enroll_op *op,
    const struct db_txn *t, struct gw_err *err)
{
	uint8_t mine[32], theirs[32];
	struct db_cert c;
	int found, ok;

	if (scep_msg_signer_key_sha256(op->msg, mine) == 0 &&
	    txn_key_sha256(t, theirs) == 0 &&
	    CRYPTO_memcmp(mine, theirs, sizeof(mine)) == 0)
		return 1;
	if (t->renews == NULL)
		return 0;
	memset(&c, 0, sizeof(c));
	if ((found = db_cert_get(ctx->db, t->renews, &c, err)) == -1)
		return -1;
	ok = found == 0 && enroll_signer_is(op, c.der, c.der_len);
	db_cert_cleanup(&c);
	return ok;
}

/*
 * A request with a known transactionID. The same CSR is a retry: the
 * stored answer, no second order. Another key is refused, never an
 * overwrite. The same key with a new CSR (certmonger keeps its key, so
 * its transactionID, and builds a new CSR whenever it resubmits) gets
 * the stored answer while the order is open or once it was issued — the
 * certificate is that key's, and nothing is paid twice — unless it is an
 * authenticated renewal of the very certificate that transaction issued
 * (renews_it: certmonger renewing); after a failure, or for such a
 * renewal, it becomes a new transaction (the caller archives the old row
 * just before it starts the new one: renamed, never overwritten). A
 * replayed renewal signed by an older certificate gets the stored answer.
 */
enum retry
enroll_answer_retry(struct enroll_op *op, const struct db_txn *t,
    const struct scep_csr_info *info, bool renews_it)
{
	if (memcmp(t->csr_sha256, info->csr_sha256, 32) == 0) {
		log_ev(LOG_INFO, "enroll.retry",
		    LOG_F(.peer = op->peer, .txid = t->txid),
		    "%s txid=%s: retry answered from stored state", op->peer,
		    t->txid);
		op_from_txn(op, t);
		return RETRY_ANSWERED;
	}
	if (!t->has_key || memcmp(t->key_sha256, info->key_sha256, 32) != 0) {
		log_ev(LOG_INFO, "enroll.refused",
		    LOG_F(.peer = op->peer, .txid = t->txid,
			.fail_info = scep_fail_name(SCEP_FAIL_BADREQUEST),
			.reason =
			    "transactionID already used for another request"),
		    "%s txid=%s: transactionID reused with another key",
		    op->peer, t->txid);
		enroll_op_fail(op, SCEP_FAIL_BADREQUEST,
		    "transactionID already used for another request");
		return RETRY_ANSWERED;
	}
	if (t->state == DB_TXN_ORDERING ||
	    (t->state == DB_TXN_ISSUED && !renews_it)) {
		log_ev(LOG_INFO, "enroll.retry",
		    LOG_F(.peer = op->peer, .txid = t->txid),
		    "%s txid=%s: new CSR for the same key; answered from "
		    "stored state",
		    op->peer, t->txid);
		op_from_txn(op, t);
		return RETRY_ANSWERED;
	}
	log_ev(LOG_INFO, "enroll.retry",
	    LOG_F(.peer = op->peer, .txid = t->txid),
	    "%s txid=%s: same key, new CSR after the transaction %s: "
	    "a new transaction (the old one will be kept as %s@%lld)",
	    op->peer, t->txid,
	    renews_it ? "issued the certificate it renews" : "failed", t->txid,
	    (long long)t->id);
	return RETRY_NEW;
}

/* The log words for a refused challenge; the device only hears "invalid". */
const char *
enroll_start_reason(enum db_start res)
{
	switch (res) {
	case DB_START_CHALLENGE_USED:
		return "challenge already used";
	case DB_START_CHALLENGE_EXPIRED:
		return "challenge expired";
	case DB_START_CHALLENGE_REVOKED:
		return "challenge revoked";
	case DB_START_CHALLENGE_BAD:
	default:
		return "unknown challenge";
	}
}

/*
 * CertPoll: answered from the database, keyed by transactionID; a
 * certificate Intune has not heard of yet is reported to it first
 * (README "Microsoft Intune"). Returns 0 when op holds its answer, 1 when
 * op->resume will be called.
 */
int
enroll_certpoll(struct gw_ctx *ctx, struct enroll_op *op)
{
	const char *txid = scep_msg_txid(op->msg);
	struct db_txn t;
	struct gw_err err;
	int found, reader = 0, rc = 0;

	memset(&t, 0, sizeof(t));
	found = db_txn_get(ctx->db, txid, &t, &err);
	if (found == 0 &&
	    (reader = enroll_txn_reader_ok(ctx, op, &t, &err)) == -1)
		found = -1;
	if (found == -1) {
		log_ev(LOG_WARNING, "db.error",
		    LOG_F(.peer = op->peer, .txid = txid, .http_status = 503),
		    "%s txid=%s: database: %s", op->peer, txid, err.msg);
		enroll_op_http(op, 503, "try again later\n");
	} else if (found == 1) {
		/* RFC 8894 4.4: a poll must match an earlier request. */
		log_ev(LOG_INFO, "certpoll",
		    LOG_F(.peer = op->peer, .txid = txid,
			.fail_info = scep_fail_name(SCEP_FAIL_BADCERTID),
			.reason = "unknown transaction"),
		    "%s txid=%s: CertPoll for an unknown transaction", op->peer,
		    txid);
		enroll_op_fail(op, SCEP_FAIL_BADCERTID, "unknown transaction");
	} else if (reader == 0) {
		log_ev(LOG_INFO, "certpoll",
		    LOG_F(.peer = op->peer, .txid = txid,
			.fail_info = scep_fail_name(SCEP_FAIL_BADCERTID),
			.reason = "unknown transaction"),
		    "%s txid=%s: CertPoll signed by a key other than the "
		    "request's; refused",
		    op->peer, txid);
		enroll_op_fail(op, SCEP_FAIL_BADCERTID, "unknown transaction");
	} else if (t.state == DB_TXN_ISSUED &&
	    t.intune == DB_INTUNE_VALIDATED) {
		rc = enroll_intune_poll(ctx, op, &t);
	} else {
		op_from_txn(op, &t);
	}
	db_txn_cleanup(&t);
	return rc;
}

/*
 * GetCert (RFC 8894 3.3.4): a certificate issued through this gateway,
 * by issuer and serial number; anything else is badCertId.
 */
void
enroll_getcert(struct gw_ctx *ctx, struct enroll_op *op)
{
	const X509_NAME *issuer = scep_msg_get0_issuer(op->msg);
	const unsigned char *p;
	struct db_cert c;
	struct db_txn t;
	struct gw_err err;
	char serial[80];
	X509 *x = NULL;
	int found = 1;

	memset(&c, 0, sizeof(c));
	if (enroll_serial_hex(scep_msg_get0_serial(op->msg), serial,
		sizeof(serial)) == 0)
		found = db_cert_get(ctx->db, serial, &c, &err);
	if (found == -1) {
		log_ev(LOG_WARNING, "getcert",
		    LOG_F(.peer = op->peer, .http_status = 503),
		    "%s GetCert: database: %s", op->peer, err.msg);
		enroll_op_http(op, 503, "try again later\n");
		goto out;
	}
	p = c.der;
	if (found == 0)
		x = d2i_X509(NULL, &p, (long)c.der_len);
	if (x == NULL || issuer == NULL ||
	    X509_NAME_cmp(X509_get_issuer_name(x), issuer) != 0) {
		log_ev(LOG_INFO, "getcert",
		    LOG_F(.peer = op->peer,
			.fail_info = scep_fail_name(SCEP_FAIL_BADCERTID),
			.reason = "unknown certificate"),
		    "%s GetCert: no certificate serial=%s from that issuer",
		    op->peer, found == 0 ? serial : "?");
		enroll_op_fail(op, SCEP_FAIL_BADCERTID, "unknown certificate");
		goto out;
	}
	/* Only the holder of the certificate's key may fetch it. */
	if (!gw_x509_has_key(x,
		X509_get0_pubkey(scep_msg_get0_signer_keyed(op->msg)))) {
		log_ev(LOG_INFO, "getcert",
		    LOG_F(.peer = op->peer, .serial = serial,
			.fail_info = scep_fail_name(SCEP_FAIL_BADCERTID),
			.reason = "unknown certificate"),
		    "%s GetCert: serial=%s asked for by a signer without "
		    "its key; refused",
		    op->peer, serial);
		enroll_op_fail(op, SCEP_FAIL_BADCERTID, "unknown certificate");
		goto out;
	}
	/* Not before Intune heard of it (README "Microsoft Intune"); a
	 * database that cannot say refuses, never hands it out. */
	memset(&t, 0, sizeof(t));
	if (c.txid != NULL &&
	    (found = db_txn_get(ctx->db, c.txid, &t, &err)) == -1) {
		db_txn_cleanup(&t);
		log_ev(LOG_WARNING, "getcert",
		    LOG_F(.peer = op->peer, .http_status = 503),
		    "%s GetCert: database: %s", op->peer, err.msg);
		enroll_op_http(op, 503, "try again later\n");
		goto out;
	}
	if (c.txid != NULL && found == 0 && t.intune == DB_INTUNE_VALIDATED) {
		db_txn_cleanup(&t);
		log_ev(LOG_INFO, "getcert",
		    LOG_F(.peer = op->peer, .serial = serial,
			.fail_info = scep_fail_name(SCEP_FAIL_BADCERTID),
			.reason = "unknown certificate"),
		    "%s GetCert: serial=%s: Intune has not been told of "
		    "it yet; refused",
		    op->peer, serial);
		enroll_op_fail(op, SCEP_FAIL_BADCERTID, "unknown certificate");
		goto out;
	}
	db_txn_cleanup(&t);
	log_ev(LOG_INFO, "getcert", LOG_F(.peer = op->peer, .serial = serial),
	    "%s GetCert: serial=%s", op->peer, serial);
	op->cert = x;
	x = NULL;
	op->status = SCEP_STATUS_SUCCESS;
out:
	X509_free(x);
	db_cert_cleanup(&c);
}
