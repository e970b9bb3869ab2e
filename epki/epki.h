/*
 * GlobalSign EPKI (GasOrderService, SOAP 1.1) client side and the schema
 * code that epki-sim reuses for the server side. Knows nothing about SCEP.
 * epki_soap.c builds and parses messages (libxml2, no I/O); epki_client.c
 * moves them over HTTP(S) with the libcurl multi interface on one thread
 * of its own; epki_order.c ties the two together for the gateway.
 */
#ifndef GW_EPKI_H
#define GW_EPKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

struct buf;
struct gw_err;
struct epki_client;

#define EPKI_NS "https://system.globalsign.com/cr/ws/"
#define EPKI_MAX_ERRORS 8
#define EPKI_MAX_OUS 8

/* What a result means to the caller (epki_code.c maps the ErrorCodes). */
enum epki_class {
	EPKI_OK,	  /* SuccessCode 0 */
	EPKI_WARNING,	  /* SuccessCode 1: use the result, log errors */
	EPKI_BAD_REQUEST, /* -101..-109, -4005, -4008, -6002, -6102 ... */
	EPKI_BAD_CSR,	  /* -4006, -4007, -6007, -9936, -9940, -996x */
	EPKI_AUTH,	  /* -4001, -4201, -9200, -9939, -9901: operator */
	EPKI_QUOTA,	  /* -6101: licences */
	EPKI_TRANSIENT,	  /* -1, -201, -300, -301, -9942, -9943 */
	EPKI_NOT_FOUND,	  /* -4003, -9902, -9916 */
	EPKI_CONFLICT,	  /* -4004, -4016, -9915, -9938 */
	EPKI_FAILURE,	  /* any other business error */
	EPKI_TRANSPORT,	  /* no usable answer: network, HTTP, Fault, non-XML */
	EPKI_CLASS__MAX
};

struct epki_auth {
	const char *user;     /* PAR12345_UserID */
	const char *password; /* never logged */
};

/* An OrderAndIssueCertificate request, client or simulator. */
struct epki_order {
	const char *profile_id;
	const char *product_code;
	int years;
	const char *csr_pem;
	const char *cn;
	const char *email; /* or NULL */
	const char *ous[EPKI_MAX_OUS];
	size_t nous;
	const char *upn; /* Microsoft UPN otherName SAN, or NULL */
};

struct epki_error {
	int code;	   /* -4001 */
	char field[128];   /* ErrorField as sent (a dotted path), or "" */
	char message[256]; /* ErrorMessage, or "" */
};

/* GetOrders filters; NULL members are left out of the request. */
struct epki_order_query {
	const char *product_code; /* ProductCode */
	const char *profile_id;	  /* ProfileOrderNo */
	const char *license_no;	  /* LicenseOrderNo */
	const char *order_state;  /* OrderState, "4" */
	const char *cert_state;	  /* CertState */
	const char *request_from; /* RequestDateFrom, "2026-11-27" or ISO */
	const char *request_to;	  /* RequestDateTo */
	const char *issue_from;	  /* IssueDateFrom */
	const char *issue_to;	  /* IssueDateTo */
	const char *cn;		  /* CommonName */
	bool want_cert_info;	  /* OrdersQueryOption/ReturnCertificateInfo */
	bool want_fulfillment;	  /* OrdersQueryOption/ReturnFulfillment */
};

/* One OrderDetail of a GetOrders answer; "" for what was not sent. */
struct epki_found {
	char order_id[64];     /* OrderInfo/OrderNo */
	char order_status[16]; /* OrderInfo/OrderStatus: 4 issued, 7 revoked */
	char product_code[64]; /* OrderInfo/ProductCode */
	char profile_id[64];   /* OrderInfo/ProfileNo */
	char license_no[64];   /* OrderInfo/LicenseNo */
	char request_date[48]; /* OrderInfo/RequestDate, as sent */
	char issue_date[48];   /* OrderInfo/IssueDate, as sent */
	char cert_status[16];  /* CrCertificateInfo/CertificateStatus */
	char serial[80];       /* CrCertificateInfo/SerialNumber */
	char cn[128];	       /* CrCertificateInfo/CommonName */
	bool cert_unreadable;  /* a Fulfillment was sent but not decoded */
	STACK_OF(X509) *certs; /* Fulfillment certificates, or NULL; the
				  leaf bare, as in epki_resp */
};

/* What GlobalSign's ProfileOrderState and dates say (a guess: undocumented). */
enum epki_profile_state {
	EPKI_PROFILE_UNKNOWN,	/* nothing we recognise */
	EPKI_PROFILE_VALID,	/* vetted and issued: orders work */
	EPKI_PROFILE_PENDING,	/* waiting for vetting or approval */
	EPKI_PROFILE_SUSPENDED, /* SuspendDate set, or locked */
	EPKI_PROFILE_CANCELLED, /* CancelDate set, or cancelled */
	EPKI_PROFILE__MAX
};

/* One ProfileDetail of a GetProfiles answer. */
struct epki_profile {
	char profile_id[64];	       /* ProfileInfo/ProfileOrderNo */
	char state_code[16];	       /* ProfileInfo/ProfileOrderState */
	enum epki_profile_state state; /* derived, see epki_profile_state() */
	char issue_date[48];	       /* ProfileInfo/IssueDate */
	char suspend_date[48];	       /* ProfileInfo/SuspendDate */
	char cancel_date[48];	       /* ProfileInfo/CancelDate */
	char not_before[48];	    /* ProfileInfo/ValidityPeriod/NotBefore */
	char not_after[48];	    /* ProfileInfo/ValidityPeriod/NotAfter */
	char cn[128];		    /* ProfileDnAttributes/CommonName */
	char org[128];		    /* Organization */
	char ous[EPKI_MAX_OUS][64]; /* OrganizationUnits/OrganizationUnit */
	size_t nous;
	char st[128];	    /* StateOrProvince */
	char locality[128]; /* Locality */
	char country[8];    /* Country */
	char hash_type[32]; /* ProfileAttributes/HashType */
	char upn[16];	    /* ProfileAttributes/UPN, "true" or "false" */
};

/* A parsed response of any operation. */
struct epki_resp {
	enum epki_class cls;
	int success_code; /* 0, 1, -1; -2 when there was none */
	size_t nerrors;
	struct epki_error errors[EPKI_MAX_ERRORS];
	char fault[256];       /* SOAP Fault or transport detail, or "" */
	long http_status;      /* the HTTP status it came with; 0 if none */
	char order_id[64];     /* OrderID / OrderNo, or "" */
	char order_status[16]; /* OrderStatus when present, or "" */
	/* Every certificate found in CERT, or NULL. CA certificates are
	 * decoded in full; the others (the issued leaf) bare, their key
	 * undecoded (pubkey.h): stored, matched with gw_x509_has_key() and
	 * passed on; gw_x509_full() for anything that verifies them. */
	STACK_OF(X509) *certs;
	int total_count;	  /* TotalCount (GetOrders, GetProfiles); -1 */
	size_t nfound;		  /* GetOrders: orders in found */
	struct epki_found *found; /* GetOrders OrderDetails, or NULL */
	size_t nprofiles;	  /* GetProfiles: entries in profiles */
	struct epki_profile *profiles; /* GetProfiles ProfileDetails, or NULL */
};

/* Error codes (epki_soap.c). */
enum epki_class epki_code_class(int code);
const char *epki_class_name(enum epki_class cls);

/* Messages (epki_soap.c). */
int epki_soap_order_build(const struct epki_auth *auth,
    const struct epki_order *o, struct buf *out, struct gw_err *err);
int epki_soap_get_order_build(const struct epki_auth *auth,
    const char *order_id, struct buf *out, struct gw_err *err);
int epki_soap_orders_build(const struct epki_auth *auth,
    const struct epki_order_query *q, struct buf *out, struct gw_err *err);
int epki_soap_revoke_build(const struct epki_auth *auth, const char *order_id,
    struct buf *out, struct gw_err *err);
int epki_soap_profiles_build(const struct epki_auth *auth,
    const char *profile_id, struct buf *out, struct gw_err *err);
enum epki_profile_state epki_profile_state(const struct epki_profile *p);
const char *epki_profile_state_name(enum epki_profile_state s);
int epki_date_day(const char *s, long *days);
int epki_serial_norm(const char *in, char *out, size_t n);
bool epki_serial_matches(const char *api, const X509 *cert);
int epki_soap_parse(const char *op, long http_status, const uint8_t *body,
    size_t len, struct epki_resp *out, struct gw_err *err);
void epki_resp_init(struct epki_resp *r);
void epki_resp_cleanup(struct epki_resp *r);
const X509 *epki_resp_get0_cert_for_key(const struct epki_resp *r,
    const EVP_PKEY *pub);
bool epki_resp_has_leaf(const struct epki_resp *r);

/* Transport: a seam so unit tests can hand in canned replies. */
struct epki_http {
	int curl_code; /* CURLE_OK or the failure */
	long status;   /* HTTP status, 0 if none */
	const uint8_t *body;
	size_t len;
	const char *error; /* curl's message when curl_code != 0 */
	bool local; /* never reached GlobalSign by our own choice: the order
		       gate said no, or the client was stopping */
};
typedef void epki_http_fn(void *arg, const struct epki_http *res);
struct epki_transport {
	/* Sends body (taken, even on failure) for operation op; calls done
	 * exactly once, later, from the transport's own thread. */
	int (*post)(void *ctx, const char *op, struct buf *body,
	    epki_http_fn *done, void *arg, struct gw_err *err);
	void *ctx;
	/* Optional: told of every answer once parsed (password masked),
	 * on the transport's thread, before the caller's callback. */
	void (*note)(void *ctx, const char *op, const struct epki_http *h,
	    const struct epki_resp *r);
};

struct epki_client_opts {
	const char *url;
	long timeout_s; /* whole call */
	long connect_timeout_s;
	const char *ca_file;  /* or NULL: system store */
	size_t max_response;  /* ceiling on a response body */
	long max_connections; /* cap on parallel connections; 0: none */
	bool https_only;      /* refuse http:// (README "Configuration") */
	/*
	 * Asked right before an OrderAndIssueCertificate request is sent,
	 * on the thread sending it, after any wait for a connection: false
	 * and the request is not sent, the call fails as a transport error
	 * ("not sent"). NULL: always sent. The gateway passes its order
	 * gate (README "How an enrollment works" 7).
	 */
	bool (*may_start)(void *arg);
	void *may_start_arg;
};
int epki_client_new(struct epki_client **out, const struct epki_client_opts *o,
    struct gw_err *err);
void epki_client_free(struct epki_client *c);
struct epki_transport epki_client_transport(struct epki_client *c);
void epki_client_stats(struct epki_client *c, uint64_t *calls,
    uint64_t *connects);

/* Why a call got no answer from GlobalSign (EPKI_TRANSPORT). */
enum epki_net {
	EPKI_NET_NONE,	  /* an HTTP answer came (a status, a Fault) */
	EPKI_NET_CONNECT, /* no connection: name, address, port, proxy */
	EPKI_NET_TLS,	  /* TLS handshake or the server's certificate */
	EPKI_NET_TIMEOUT, /* no answer in time */
	EPKI_NET_OTHER,	  /* connection lost, answer too large, ... */
};

/*
 * The last outcomes of a client's calls (epki_client_status()), kept in
 * its memory: per process, lost at restart.
 */
struct epki_status {
	int64_t last_ok;     /* Unix time of the last success; 0: none */
	int64_t last_err;    /* Unix time of the last failure; 0: none */
	bool failing;	     /* the last call failed */
	enum epki_class cls; /* the failure's class */
	enum epki_net net;   /* for EPKI_TRANSPORT: why */
	int code;	     /* GlobalSign's first ErrorCode; 0: none */
	long http_status;    /* 0 when none */
	char op[32];	     /* the operation, "OrderAndIssueCertificate" */
	char text[256];	     /* GlobalSign's message or the transport's */
};
void epki_client_status(struct epki_client *c, struct epki_status *out);
int epki_client_post_sync(const struct epki_client_opts *o, const char *op,
    const struct buf *body, struct buf *resp, long *status, struct gw_err *err);

/* Orders (epki_order.c): build, send, parse, call back. */
/* r is valid until the callback returns, which may take certificates
 * out of r->certs (then they are its own to free). */
typedef void epki_resp_fn(void *arg, struct epki_resp *r);
int epki_order_submit(const struct epki_transport *t,
    const struct epki_auth *auth, const struct epki_order *o,
    epki_resp_fn *done, void *arg, struct gw_err *err);
int epki_order_get_submit(const struct epki_transport *t,
    const struct epki_auth *auth, const char *order_id, epki_resp_fn *done,
    void *arg, struct gw_err *err);
int epki_order_call(const struct epki_client_opts *o,
    const struct epki_auth *auth, const struct epki_order *ord,
    struct epki_resp *out, struct gw_err *err);
int epki_order_get_call(const struct epki_client_opts *o,
    const struct epki_auth *auth, const char *order_id, struct epki_resp *out,
    struct gw_err *err);

/* GetOrders, Revoke, GetProfiles (epki_order.c): same two contracts. */
int epki_order_find_submit(const struct epki_transport *t,
    const struct epki_auth *auth, const struct epki_order_query *q,
    epki_resp_fn *done, void *arg, struct gw_err *err);
int epki_order_find_call(const struct epki_client_opts *o,
    const struct epki_auth *auth, const struct epki_order_query *q,
    struct epki_resp *out, struct gw_err *err);
int epki_order_revoke_submit(const struct epki_transport *t,
    const struct epki_auth *auth, const char *order_id, epki_resp_fn *done,
    void *arg, struct gw_err *err);
int epki_order_revoke_call(const struct epki_client_opts *o,
    const struct epki_auth *auth, const char *order_id, struct epki_resp *out,
    struct gw_err *err);
int epki_profile_list_submit(const struct epki_transport *t,
    const struct epki_auth *auth, const char *profile_id, epki_resp_fn *done,
    void *arg, struct gw_err *err);
int epki_profile_list_call(const struct epki_client_opts *o,
    const struct epki_auth *auth, const char *profile_id, struct epki_resp *out,
    struct gw_err *err);

/* Server side of the schema, for epki-sim (epki_soap_srv.c). */
enum epki_op {
	EPKI_OP_UNKNOWN,      /* a wrapper we do not serve */
	EPKI_OP_ORDER,	      /* OrderAndIssueCertificate */
	EPKI_OP_GET_ORDER,    /* GetOrderByOrderId */
	EPKI_OP_GET_ORDERS,   /* GetOrders */
	EPKI_OP_REVOKE,	      /* Revoke */
	EPKI_OP_GET_PROFILES, /* GetProfiles */
	EPKI_OP__MAX
};

/* A parsed incoming request; every string is owned by the struct. */
struct epki_req {
	enum epki_op op;
	char wrapper[128];	 /* {ns}local of the Body's first element */
	char *user;		 /* AuthToken/UserName, or NULL */
	char *password;		 /* AuthToken/Password, or NULL; wiped */
	struct epki_order order; /* OrderAndIssueCertificate; NULL = absent */
	bool has_year;		 /* Year was present */
	char *order_no;		 /* OrderNo (GetOrderByOrderId), OrderID
				    (Revoke), ProfileOrderNo (GetProfiles) */
	struct epki_order_query query; /* GetOrders filters; NULL = absent */
	bool want_cert_info;   /* OrderQueryOption/ReturnCertificateInfo */
	bool want_fulfillment; /* OrderQueryOption/ReturnFulfillment */
	bool want_p7;	       /* OrderQueryOption/ReturnP7 */
	char *owned[16 + EPKI_MAX_OUS]; /* strings behind order, query */
	size_t nowned;
	bool lenient; /* parsed by local name (epki_soap_req_parse_ns) */
};

/* GetOrderByOrderId detail; NULL members are sent as empty elements. */
struct epki_order_info {
	const char *order_id;	  /* OrderNo; NULL: the reply's order_id */
	const char *order_status; /* "4" */
	const char *product_code;
	const char *profile_id;
	const char *license_no; /* LicenseNo, the licence pack */
	const char *request_date;
	const char *issue_date;
	const char *not_before;
	const char *not_after;
	const char *cert_status;
	const char *serial;
	const char *cn;
	const char *email;
	const char *certificate; /* leaf PEM (Fulfillment), or NULL */
	const char *pkcs7;	 /* PKCS#7 PEM (ReturnP7), or NULL */
	const char *revoke_date; /* RevokeDate, or NULL */
};

/* One GetProfiles ProfileDetail to send; NULL members are empty. */
struct epki_profile_rec {
	const char *profile_id;
	const char *state_code; /* ProfileOrderState */
	const char *request_date;
	const char *issue_date;	  /* NULL while not vetted */
	const char *suspend_date; /* NULL unless suspended */
	const char *not_before;
	const char *not_after;
	const char *cn;
	const char *org;
	const char *const *ous; /* OrganizationUnits/OrganizationUnit* */
	size_t nous;
	bool upn; /* ProfileAttributes/UPN */
	const char *st;
	const char *locality;
	const char *country;
};

/* A response to build; errors empty on success. */
struct epki_reply {
	enum epki_op op;
	int success_code;
	const struct epki_error *errors;
	size_t nerrors;
	const char *order_id;		     /* OrderID / OrderNo, or NULL */
	const char *cert;		     /* OrderAndIssueCertificate CERT */
	const struct epki_order_info *info;  /* GetOrderByOrderId, or NULL */
	const struct epki_order_info *infos; /* GetOrders: ninfos of them */
	size_t ninfos;
	const struct epki_profile_rec *profiles; /* GetProfiles */
	size_t nprofiles;
	bool want_cert_info;
	bool want_fulfillment;
	bool want_p7;
};

const char *epki_op_name(enum epki_op op);
int epki_soap_req_parse(const uint8_t *body, size_t len, struct epki_req *out,
    struct gw_err *err);
int epki_soap_req_parse_ns(const uint8_t *body, size_t len, bool lenient,
    struct epki_req *out, struct gw_err *err);
void epki_req_cleanup(struct epki_req *r);
int epki_soap_reply_build(const struct epki_reply *r, struct buf *out,
    struct gw_err *err);
int epki_soap_fault_build(const char *code, const char *string,
    struct buf *out);

/* Shared text helpers (epki_soap.c). */
int epki_xml_escape(struct buf *out, const char *s);
int epki_timestamp(char *out, size_t n);

/* The loaded libcurl and libxml2 versions (epki_version.c). */
const char *epki_curl_version(void);
void epki_xml_version(char *out, size_t n);

#endif
