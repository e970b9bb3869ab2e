/*
 * Receive and decode: a PKIOperation's bytes become a decoded request,
 * which goes to answer.c (a known transactionID, CertPoll, GetCert),
 * order.c (a new PKCSReq or RenewalReq) or crl.c (GetCRL). Also the
 * helpers that mark a request's outcome.
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
#include "live.h"
#include "log.h"
#include "pubkey.h"
#include "scep.h"
#include "secure.h"

/* The current time, in seconds since the epoch, as db/ stores it. */
int64_t
enroll_now(void)
{
	return (int64_t)time(NULL);
}

/* Marks op as a FAILURE with failInfo f and a short text. */
void
enroll_op_fail(struct enroll_op *op, enum scep_fail f, const char *text)
{
	op->status = SCEP_STATUS_FAILURE;
	op->fail = f;
	snprintf(op->fail_text, sizeof(op->fail_text), "%s", text);
}

/* Marks op as a FAILURE that the transaction's history records as
 * refused, with why in plain words (history.c). */
void
enroll_op_refuse(struct enroll_op *op, enum scep_fail f, const char *text,
    const char *why)
{
	enroll_op_fail(op, f, text);
	snprintf(op->why, sizeof(op->why), "%s", why);
}

/* Answers op with plain HTTP: for input that cannot carry a CertRep. */
void
enroll_op_http(struct enroll_op *op, unsigned status, const char *text)
{
	op->reply.http_status = status;
	op->reply.content_type = "text/plain";
	op->reply.body = (uint8_t *)gw_strdup(text);
	op->reply.len = op->reply.body != NULL ? strlen(text) : 0;
	op->done = true;
}

/* The short text sent for a failInfo found while decoding. */
static const char *
decode_fail_text(int code)
{
	switch (code) {
	case SCEP_FAIL_BADALG:
		return "algorithm not allowed";
	case SCEP_FAIL_BADMESSAGECHECK:
		return "message check failed";
	case SCEP_FAIL_BADTIME:
		return "bad time";
	case SCEP_FAIL_BADCERTID:
		return "unknown certificate";
	default:
		return "bad request";
	}
}

/*
 * Handles one PKIOperation. Returns 0 when op->reply is ready, or 1 when
 * an order is in flight: op->resume will be called once, from another
 * thread, and the caller then calls enroll_finish() to build the reply.
 */
int
enroll_pkioperation(struct gw_ctx *ctx, struct enroll_op *op,
    const uint8_t *der, size_t len)
{
	struct gw_err err;
	const char *txid;
	int type;

	ERR_clear_error();
	/* Decrypted and answered with the RA of this moment, whatever a
	 * reload publishes meanwhile. */
	if (op->ra == NULL)
		op->ra = gw_ra_get1(ctx);
	if (scep_msg_parse(&op->msg, der, len, &err) == -1) {
		log_ev(LOG_INFO, "scep.invalid",
		    LOG_F(.peer = op->peer, .op = "PKIOperation",
			.http_status = 400),
		    "%s PKIOperation: not a SCEP message: %s", op->peer,
		    err.msg);
		enroll_op_http(op, 400, "not a SCEP pkiMessage\n");
		return 0;
	}
	txid = scep_msg_txid(op->msg);
	type = scep_msg_type(op->msg);
	log_ev(LOG_DEBUG, "scep.request",
	    LOG_F(.txid = txid, .peer = op->peer, .op = "PKIOperation",
		.msg_type = scep_msgtype_name(type)),
	    "%s txid=%s: %s", op->peer, txid, scep_msgtype_name(type));
	if (scep_msg_verify(op->msg, &err) == -1 ||
	    scep_msg_decrypt(op->msg, op->ra, &ctx->pol, &err) == -1) {
		log_ev(LOG_INFO, "enroll.refused",
		    LOG_F(.peer = op->peer, .txid = txid,
			.fail_info = scep_fail_name((enum scep_fail)err.code),
			.reason = decode_fail_text(err.code)),
		    "%s txid=%s: %s refused (%s): %s", op->peer, txid,
		    scep_msgtype_name(type),
		    scep_fail_name((enum scep_fail)err.code), err.msg);
		enroll_op_fail(op, (enum scep_fail)err.code,
		    decode_fail_text(err.code));
		enroll_finish(ctx, op);
		return 0;
	}
	switch (type) {
	case SCEP_MT_PKCSREQ:
	case SCEP_MT_RENEWALREQ:
		if (enroll_pkcsreq(ctx, op) == 1)
			return 1;
		break;
	case SCEP_MT_CERTPOLL:
		if (enroll_certpoll(ctx, op) == 1)
			return 1;
		break;
	case SCEP_MT_GETCERT:
		enroll_getcert(ctx, op);
		break;
	case SCEP_MT_GETCRL:
		enroll_getcrl(ctx, op);
		break;
	default:
		log_ev(LOG_INFO, "enroll.refused",
		    LOG_F(.peer = op->peer, .txid = txid,
			.fail_info = scep_fail_name(SCEP_FAIL_BADREQUEST),
			.reason = "operation not supported"),
		    "%s txid=%s: %s is not supported", op->peer, txid,
		    scep_msgtype_name(type));
		enroll_op_fail(op, SCEP_FAIL_BADREQUEST,
		    "operation not supported");
		break;
	}
	if (!op->done)
		enroll_finish(ctx, op);
	return 0;
}

/*
 * Frees what an op holds. Only for an op no order is attached to
 * (op->job == NULL): the HTTP layer frees a request after it was resumed.
 */
void
enroll_op_cleanup(struct enroll_op *op)
{
	scep_msg_free(op->msg);
	op->msg = NULL;
	scep_ra_free(op->ra);
	op->ra = NULL;
	X509_free(op->cert);
	op->cert = NULL;
	free(op->reply.body);
	op->reply.body = NULL;
}
