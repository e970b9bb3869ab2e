/*
 * Shared helpers of the enrollment unit tests (test_enroll*.c), over the
 * server fixture of test_server_common.h: one PKIOperation built with
 * the test client, run through enroll_pkioperation() and its resume
 * callback, and its CertRep checked.
 */
#ifndef TEST_ENROLL_COMMON_H
#define TEST_ENROLL_COMMON_H

#include <pthread.h>
#include <stdbool.h>

#include <openssl/x509.h>

#include "buf.h"
#include "db.h"
#include "enroll.h"
#include "scep.h"
#include "scep_client.h"
#include "test_server_common.h"

/* Counts op->resume calls. */
struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int calls;
};

/* One PKIOperation: the request, the op and the checked reply. */
struct call {
	struct scep_client_req req;
	struct buf der;
	struct enroll_op op;
	struct waiter w;
	int rc; /* enroll_pkioperation() */
	struct scep_client_rep rep;
};

/* op->resume: counts the call and wakes waiter_wait(). */
void on_resume(void *arg);
/* Resume calls so far. */
int waiter_calls(struct waiter *w);
/* Builds a request of type for txid (csr for PKCSReq, else NULL). */
void call_init(struct srv_fx *fx, struct call *c, int type, const char *txid,
    const X509_REQ *csr, int cipher_nid);
/* Starts the operation: 0 when answered without an order in flight, 1
 * when it waits for one. */
int call_start(struct srv_fx *fx, struct call *c);
/* For an async op: waits for resume, then builds the reply. */
void call_wait(struct srv_fx *fx, struct call *c);
/* Checks the reply is a CertRep for the request and parses it. */
void call_rep(struct srv_fx *fx, struct call *c);
/* Runs the whole operation (synchronous or not) and parses the reply. */
void call_run(struct srv_fx *fx, struct call *c);
void call_cleanup(struct call *c);
/* Asserts a FAILURE reply with failInfo f. */
void assert_failure(const struct call *c, enum scep_fail f);
/* Asserts a SUCCESS reply whose certificate carries the device's key. */
void assert_success(struct srv_fx *fx, const struct call *c);
/* A CSR from the device's key. Caller frees with X509_REQ_free(). */
X509_REQ *csr_new(struct srv_fx *fx, const char *cn, const char *challenge);
/* The stored transaction; caller cleans it up. */
void txn_get(struct srv_fx *fx, const char *txid, struct db_txn *t);

#endif
