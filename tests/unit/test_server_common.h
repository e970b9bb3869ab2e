/*
 * Shared fixture of the server unit tests: a throwaway PKI (RA, issuing
 * CA, client key), a real database, config and struct gw_ctx, and a fake
 * EPKI transport (struct epki_transport) whose answers the test decides:
 * when they come, from which thread, and what they say. Answers are real
 * SOAP bodies built with epki_soap_reply_build(), with a certificate the
 * test CA signs for the CSR's key.
 */
#ifndef TEST_SERVER_COMMON_H
#define TEST_SERVER_COMMON_H

#include <pthread.h>
#include <stdbool.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "buf.h"
#include "config.h"
#include "gw.h"

/* What the fake GlobalSign answers to a pending order. */
enum fake_answer {
	FAKE_HOLD,	/* nothing: the test answers later */
	FAKE_ISSUE,	/* SuccessCode 0, a certificate for the CSR's key */
	FAKE_BIZ_101,	/* SuccessCode -1, ErrorCode -101 ProfileID */
	FAKE_TRANSPORT, /* curl failed: no HTTP answer */
	FAKE_FAULT,	/* HTTP 500 with a SOAP Fault */
	FAKE_OTHER_KEY, /* SuccessCode 0, a certificate for another key */
	FAKE_FOREIGN,	/* SuccessCode 0, the CSR's key, not signed by the CA */
	FAKE__MAX
};

/* Made once per test program: keys and certificates are slow. */
struct srv_pki {
	char dir[64];	   /* temporary folder for the RA files */
	char ra_cert[128]; /* RA certificate, key and chain files */
	char ra_key[128];
	char ca_chain[128];
	struct scep_ra *ra; /* the loaded RA */
	X509 *ra_x509;	    /* its certificate, for the client */
	EVP_PKEY *ca_key;   /* the issuing CA that plays GlobalSign */
	X509 *ca;
	EVP_PKEY *key;	 /* the device's key (RSA) */
	X509 *signer;	 /* its self-signed signer certificate */
	EVP_PKEY *other; /* an unrelated key (EC) */
};

/* The fake transport's state; every field is guarded by mu. */
struct fake {
	pthread_mutex_t mu;
	struct srv_pki *pki;
	struct db *db;		  /* fake_complete() waits for its writes */
	int posts;		  /* post() calls */
	int accepted;		  /* post() calls that returned 0 */
	bool fail_post;		  /* post() returns -1 */
	long fail_post_ms;	  /* ... after this long (a slow submit) */
	enum fake_answer autoans; /* answered at once from a new thread */
	struct buf last;	  /* the last posted body, kept */
	char last_op[64];
	bool pending;	 /* a call waits for fake_complete() */
	struct buf body; /* its body */
	epki_http_fn *done;
	void *arg;
	pthread_t th; /* the answering thread, if any */
	bool th_live;
	/* answering threads that posted again: joined at teardown */
#define FAKE_REAP_MAX 64
	pthread_t reap[FAKE_REAP_MAX];
	int nreap;
	int serial; /* next certificate serial and order number */
};

/* One test's world. */
struct srv_fx {
	struct srv_pki *pki;
	char dir[64]; /* temporary folder for the database */
	char db_path[128];
	struct gw_config cfg;
	struct gw_ctx ctx;
	struct fake fake;
};

int srv_pki_setup(void **state);
int srv_pki_teardown(void **state);
int srv_fx_setup(void **state);
int srv_fx_teardown(void **state);

/* The fake transport. */
void fake_complete(struct fake *f, enum fake_answer a);
void fake_complete_later(struct fake *f, enum fake_answer a, long ms);
void fake_join(struct fake *f);
int fake_posts(struct fake *f);
int fake_accepted(struct fake *f);
bool fake_pending(struct fake *f);

/* Challenges and transactions in the database. */
int64_t srv_challenge_put(struct srv_fx *fx, const char *secret,
    int64_t expires_in);
int64_t srv_challenge_used(struct srv_fx *fx, int64_t id, char *txid, size_t n);
int srv_txn_state(struct srv_fx *fx, const char *txid);

/* Pause for ms milliseconds. */
void srv_sleep_ms(long ms);

#endif
