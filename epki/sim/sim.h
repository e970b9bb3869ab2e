/*
 * epki-sim internals: the account configuration, the persistent state
 * (licences, order counter, orders), the test PKI and the SOAP handlers.
 * Everything mutable lives in one struct sim guarded by one mutex.
 */
#ifndef EPKI_SIM_H
#define EPKI_SIM_H

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "epki.h"

struct buf;
struct gw_err;

struct sim_conf {
	char user[128];	    /* AuthToken/UserName */
	char password[128]; /* AuthToken/Password */
	char profile[64];   /* ProfileID */
	char product[64];   /* ProductCode */
	int years;	    /* the licence pack's validity */
	long licences;	    /* initial count, used on first start */
	char allow[512];    /* comma-separated CIDRs */
	char org[128];	    /* profile O */
	char locality[128]; /* profile L */
	char state[128];    /* profile ST */
	char country[4];    /* profile C */
};

struct sim {
	struct sim_conf conf;
	char dir[PATH_MAX / 2]; /* --dir */
	char host[64];		/* --listen host, for URLs */
	unsigned port;		/* bound port, for URLs */
	long latency_ms;	/* --latency-ms */
	pthread_mutex_t mu;	/* guards everything below and the files */
	long licences;		/* remaining */
	unsigned long counter;	/* last order number */
	X509 *root;
	X509 *ca; /* issuing CA */
	EVP_PKEY *ca_key;
};

/* sim_conf.c */
void sim_conf_defaults(struct sim_conf *c);
int sim_conf_load(struct sim_conf *c, const char *path, struct gw_err *err);
int sim_state_load(struct sim *s, struct gw_err *err);
int sim_state_save(struct sim *s, struct gw_err *err);
int sim_addr_allowed(const char *allow, const struct sockaddr *sa);
int sim_path(const struct sim *s, char *out, size_t n, const char *name);

/* sim_pki.c */
int sim_pki_load(struct sim *s, struct gw_err *err);
void sim_pki_cleanup(struct sim *s);
int sim_pki_issue(struct sim *s, EVP_PKEY *pub, const struct epki_order *o,
    X509 **out, struct gw_err *err);
int sim_pki_p7_pem(const struct sim *s, X509 *leaf, struct buf *out);
int sim_pem_crlf(const char *pem, struct buf *out);

/* sim_ops.c */
int sim_handle(struct sim *s, const struct sockaddr *peer, const uint8_t *body,
    size_t len, struct buf *out, unsigned *status);

#endif
