/*
 * What only the server sees of a transaction, added to its history
 * (db/README.md "History"; the database records the state changes
 * itself): a request refused (with or without a transaction row), the
 * CertRep PENDING or SUCCESS sent, and CertPoll (one row per transaction,
 * counted). Each is queued with the hot writes and never waited for.
 * Only a refusal that op->why explains is recorded: those come after the
 * per-address failure limit was checked (admit.c), and the reconciler
 * prunes them (README "Admin web console").
 */
#include <stdio.h>
#include <string.h>

#include <openssl/x509.h>

#include "db.h"
#include "enroll_int.h"
#include "enroll.h"
#include "gw.h"
#include "gw_err.h"
#include "log.h"
#include "scep.h"

/* The refusals kept (README "Admin web console"). */
#define ENROLL_REFUSED_DAYS 30
#define ENROLL_REFUSED_KEEP 100000

static const char *
status_name(enum scep_status st)
{
	switch (st) {
	case SCEP_STATUS_SUCCESS:
		return "SUCCESS";
	case SCEP_STATUS_PENDING:
		return "PENDING";
	default:
		return "FAILURE";
	}
}

/* The event a PKCSReq's or RenewalReq's answer makes, or NULL: none. */
static const char *
request_event(const struct enroll_op *op, int type, char *detail, size_t n)
{
	const char *what =
	    type == SCEP_MT_RENEWALREQ ? "RenewalReq" : "PKCSReq";
	char serial[80] = "";

	switch (op->status) {
	case SCEP_STATUS_SUCCESS:
		if (op->cert != NULL)
			enroll_serial_hex(X509_get0_serialNumber(op->cert),
			    serial, sizeof(serial));
		snprintf(detail, n, "CertRep SUCCESS sent to %s%s%s", op->peer,
		    serial[0] != '\0' ? ", serial " : "", serial);
		return "delivered";
	case SCEP_STATUS_PENDING:
		snprintf(detail, n,
		    "CertRep PENDING sent to %s: GlobalSign has not answered "
		    "yet; the device polls",
		    op->peer);
		return "pending";
	default:
		if (op->why[0] == '\0')
			return NULL;
		snprintf(detail, n, "%s from %s: %s", what, op->peer, op->why);
		return DB_EVENT_REFUSED;
	}
}

/*
 * Called once op's CertRep is built (enroll_finish()): queues the event
 * its answer makes, if any. A CertPoll for a transaction unknown to its
 * signer (badCertId) adds nothing.
 */
void
enroll_history_answer(struct gw_ctx *ctx, const struct enroll_op *op)
{
	char detail[256];
	struct db_event_new e;
	struct gw_err err;
	int type;

	if (ctx->db == NULL || op->msg == NULL)
		return;
	memset(&e, 0, sizeof(e));
	type = scep_msg_type(op->msg);
	if (type == SCEP_MT_PKCSREQ || type == SCEP_MT_RENEWALREQ) {
		e.kind = request_event(op, type, detail, sizeof(detail));
		e.cn = op->csr_cn[0] != '\0' ? op->csr_cn : NULL;
	} else if (type == SCEP_MT_CERTPOLL &&
	    !(op->status == SCEP_STATUS_FAILURE &&
		op->fail == SCEP_FAIL_BADCERTID)) {
		snprintf(detail, sizeof(detail), "last answer %s, to %s",
		    status_name(op->status), op->peer);
		e.kind = DB_EVENT_POLLED;
	}
	if (e.kind == NULL)
		return;
	e.txid = scep_msg_txid(op->msg);
	e.at = enroll_now();
	e.detail = detail;
	if (e.txid == NULL || db_event_submit(ctx->db, &e, &err) != 0)
		log_ev(LOG_WARNING, "db.error", LOG_F(.txid = e.txid),
		    "txid=%s: history: %s", e.txid != NULL ? e.txid : "-",
		    e.txid != NULL ? err.msg : "no transactionID");
}

/*
 * The reconciler's round: the refusals older than ENROLL_REFUSED_DAYS go,
 * and beyond the newest ENROLL_REFUSED_KEEP the oldest (README "Admin web
 * console"), so that refused requests cannot fill the disk. One DELETE on
 * the refusals' own index.
 */
void
enroll_history_prune(struct gw_ctx *ctx)
{
	struct gw_err err;
	int64_t n = 0;

	if (db_event_prune(ctx->db, enroll_now() - ENROLL_REFUSED_DAYS * 86400,
		ENROLL_REFUSED_KEEP, &n, &err) != 0)
		log_ev(LOG_WARNING, "db.error", NULL, "reconciler: history: %s",
		    err.msg);
	else if (n > 0)
		log_ev(LOG_INFO, "history.pruned", NULL,
		    "reconciler: %lld refused requests' history pruned",
		    (long long)n);
}
