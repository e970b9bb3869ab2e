/*
 * intune-sim internals: the configuration (sim.conf), the test PKI and
 * token key, the JSON state (request log, violations, transactions) and
 * the handlers of each hop. Everything mutable lives in one struct isim
 * guarded by one mutex; tests/tools/intune-sim/README.md describes the
 * behaviour.
 */
#ifndef INTUNE_SIM_H
#define INTUNE_SIM_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#define ISIM_MAX_FAULTS 32
#define ISIM_LOG_MAX 20000 /* log entries kept (oldest dropped) */

/* Intune's first-party application id (README "Endpoints"). */
#define ISIM_INTUNE_APP_ID "0000000a-0000-0000-c000-000000000000"
#define ISIM_API_VERSION "2018-02-20"
#define ISIM_API_VERSION_ALT "5019-05-05"
/* Where discovery puts PkiConnectorFEService (the revocation API). */
#define ISIM_PKI_PATH                                    \
	"/TrafficGateway/TrafficRoutingService/RACerts/" \
	"StatelessPkiConnectorService"

/* The hops a request can belong to; faults and counts are per hop. */
enum isim_hop {
	HOP_TOKEN_GRAPH,
	HOP_TOKEN_INTUNE,
	HOP_DISCOVERY,
	HOP_VALIDATE,
	HOP_SUCCESS,
	HOP_FAILURE,
	HOP_REVOKE_DOWNLOAD, /* PkiConnectorFEService (optional API) */
	HOP_REVOKE_UPLOAD,
	HOP_OTHER, /* a protocol-looking request the sim does not serve */
	HOP__MAX
};

/* sim.conf keys (README "sim.conf"). */
struct isim_conf {
	char tenant[64]; /* GUID */
	char tenant_domain[256];
	char client_id[64];
	char client_secret[256];
	char client_cert[PATH_MAX]; /* PEM: assertions signed by its key */
	int secret_expired;	    /* AADSTS7000222 for a right secret */
	int consent_graph;	    /* roles: Application.Read.All */
	int consent_intune;	    /* roles: scep_challenge_provider */
	long token_lifetime;	    /* seconds */
	int single_slash;	    /* accept .../.default for Intune */
	int omit_scep;		    /* discovery without the SCEP entry */
	int odd_case;		    /* providerName in odd case */
	int trailing_slash;	    /* uri ends in / */
	char service_path[256];	    /* where ScepActions live */
	int accept_alt_version;	    /* api-version 5019-05-05 too */
	long challenge_lifetime;    /* seconds, when a challenge says none */
	int profile_targeted;	    /* no: every validation refused */
	int strict_notifications;   /* a violation answers non-Success */
	char graph_resource[256];   /* graph scope = this + ".default" */
	char intune_resource[256];  /* intune scope = this + "/.default" */
};

/* An injected fault (README "Fault injection"). */
struct isim_fault {
	enum isim_hop hop;
	char mode[24]; /* 500 503 401 403 404 html code no-description
			  delay hang reset */
	char code[64]; /* the code of mode "code" */
	long count;    /* -1: forever */
	long ms;       /* delay, hang limit */
};

/* What the access handler knows about one request. */
struct isim_req {
	struct MHD_Connection *conn;
	const char *method;
	const char *url;
	const char *body; /* NUL-terminated */
	size_t len;
	json_t *entry; /* its log entry, filled by the handler */
};

/* The answer a handler decides. body is malloc'd (or NULL). */
struct isim_resp {
	unsigned status;
	const char *ctype;
	char *body;
	int close; /* reset the connection instead of answering */
	const char *www_auth;
};

struct isim {
	pthread_mutex_t mu;
	char dir[PATH_MAX];
	char host[64];
	unsigned port;
	int http;	/* --http: no TLS */
	char base[128]; /* https://127.0.0.1:PORT */
	struct isim_conf conf;
	EVP_PKEY *token_key;	  /* signs the access tokens (RS256) */
	EVP_PKEY *client_pub;	  /* the registered client certificate's */
	unsigned char hmac[32];	  /* the challenge key */
	char *tls_cert, *tls_key; /* PEM, for MHD */
	long clock_offset;	  /* seconds added to the wall clock */
	uint64_t seq;		  /* last sequence number given */
	uint64_t cur_seq;	  /* the request being handled */
	json_t *log;		  /* array of entries */
	json_t *violations;	  /* array */
	json_t *txns;		  /* transactionId -> state object */
	json_t *jtis;		  /* assertion jti -> exp */
	json_t *revocations;	  /* queued revocation requests */
	long hop_count[HOP__MAX];
	long token_count[2]; /* graph, intune tokens issued */
	struct isim_fault faults[ISIM_MAX_FAULTS];
	size_t nfaults;
	long fired;
	unsigned long generation; /* counts resets: drops late entries */
	atomic_int stop;	  /* set at exit: ends delays and hangs */
};

/* isim_conf.c */
void isim_conf_defaults(struct isim_conf *c);
int isim_conf_set(struct isim_conf *c, const char *key, const char *val);
int isim_conf_load(struct isim_conf *c, const char *path, char *err,
    size_t errlen);
void isim_conf_json(const struct isim_conf *c, json_t *o);

/* isim_pki.c */
int isim_pki_load(struct isim *s, char *err, size_t errlen);
int isim_client_cert_load(struct isim *s, char *err, size_t errlen);
char *isim_b64_encode(const unsigned char *p, size_t n, int url);
int isim_b64_decode(const char *s, size_t n, int url, unsigned char **out,
    size_t *outlen);
char *isim_jwt_sign(EVP_PKEY *key, json_t *claims);
json_t *isim_jwt_verify(const char *jwt, EVP_PKEY *key, const char **why);
json_t *isim_jwt_header(const char *jwt);
void isim_uuid(char out[37]);
int isim_is_uuid(const char *s);

/* isim_token.c */
void isim_token(struct isim *s, struct isim_req *rq, const char *tenant,
    struct isim_resp *out);
enum isim_hop isim_token_hop(struct isim *s, const char *body);

/* isim_graph.c */
void isim_discovery(struct isim *s, struct isim_req *rq, struct isim_resp *out);
json_t *isim_bearer(struct isim *s, struct isim_req *rq, const char *aud,
    const char **why);

/* isim_scep.c */
void isim_scep(struct isim *s, struct isim_req *rq, enum isim_hop hop,
    struct isim_resp *out);
void isim_violation(struct isim *s, enum isim_hop hop, const char *txid,
    const char *rule, const char *detail);
json_t *isim_svc_open(struct isim *s, struct isim_req *rq, enum isim_hop hop,
    json_t **tokenp, json_t **bodyp, struct isim_resp *out);
void isim_svc_error(struct isim_req *rq, struct isim_resp *out, unsigned status,
    const char *code, const char *msg);

/* isim_revoke.c */
void isim_revoke(struct isim *s, struct isim_req *rq, enum isim_hop hop,
    struct isim_resp *out);
json_t *isim_revoke_admin(struct isim *s, struct isim_req *rq, json_t *j,
    char *err, size_t errlen);

/* isim_chal.c */
char *isim_challenge_issue(struct isim *s, json_t *req, char *err,
    size_t errlen);
const char *isim_challenge_check(struct isim *s, const char *challenge,
    json_t *token, X509_REQ *csr, char *desc, size_t desclen);

/* isim_admin.c */
void isim_admin(struct isim *s, struct isim_req *rq, struct isim_resp *out);
const struct isim_fault *isim_fault_take(struct isim *s, enum isim_hop hop,
    struct isim_fault *copy);
void isim_fault_answer(struct isim *s, const struct isim_fault *f,
    enum isim_hop hop, struct isim_resp *out);
void isim_reset(struct isim *s);

/* isim_main.c */
time_t isim_now(const struct isim *s);
const char *isim_hop_name(enum isim_hop hop);
const char *isim_header(struct isim_req *rq, const char *name);
void isim_json_resp(struct isim_resp *out, unsigned status, json_t *body);
char *isim_iso_time(time_t t, char *buf, size_t n);

#endif
