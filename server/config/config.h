/*
 * The configuration: one INI file (README "Configuration"), parsed with
 * inih into struct gw_config through one table of keys. Never modified
 * after load. Relative paths are resolved against the config file's folder.
 * Every bad key is reported as "file:line: reason".
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/types.h>

struct gw_err;
struct proxy_list;

/*
 * [intune] (README "Configuration"): the client of Microsoft Intune's SCEP
 * validation API (server/intune/). Set when tenant is: configured.
 * Base URLs end in '/'.
 */
struct gw_intune_conf {
	bool configured;	  /* the section names a tenant */
	char *tenant;		  /* GUID or domain name */
	char *client_id;	  /* the app registration's GUID */
	char *client_secret_file; /* one line, mode 0600; or NULL */
	char *client_cert;	  /* PEM, for a client assertion; or NULL */
	char *client_key;	  /* its RSA key, mode 0600 */
	char *authority;	  /* token URL: authority + tenant + path */
	char *graph_url;	  /* discovery; the scope is this + .default */
	char *intune_resource;	  /* the scope is this + /.default */
	char *intune_app_id;	  /* Intune's first-party app ID */
	char *api_version;	  /* api-version header of ScepActions */
	char *ca_file;		  /* TLS trust, or NULL: system store */
	long timeout_seconds;	  /* whole budget of one call, retries too */
};

struct gw_config {
	char *path; /* the file this came from */
	char *dir;  /* its folder */
	/* [server] */
	char *listen; /* host:port of the SCEP listener */
	size_t max_request_bytes;
	unsigned threads;		  /* HTTP worker threads */
	unsigned max_connections;	  /* open connections at most */
	unsigned max_connections_per_ip;  /* 0: no limit */
	unsigned conn_timeout_seconds;	  /* idle connection timeout */
	unsigned request_timeout_seconds; /* whole request must arrive */
	char *user;			  /* drop to it after bind, or NULL */
	bool allow_root;		  /* may serve as root */
	char *trusted_proxies;		  /* as written, or NULL */
	struct proxy_list *proxies;	  /* parsed; NULL or empty: none */
	/* [admin] */
	char *admin_listen; /* or NULL: off */
	char *admin_token_file;
	long admin_max_outstanding; /* NDES page cap; 0: none */
	/* [console]: the admin web console's sessions */
	long console_idle_seconds;
	long console_absolute_seconds;
	/* [db] */
	char *db_path;
	char *db_url;
	char *db_password_file;
	long db_timeout_seconds; /* PostgreSQL: connect, statement (+2 s) */
	/* [cluster] (README "How an enrollment works" 7) */
	char *cluster_node_name;    /* NULL: the hostname */
	long cluster_lease_seconds; /* 0: epki_timeout_seconds + 30 */
	/* [ra] */
	char *ra_cert;
	char *ra_key;
	char *ca_chain;
	char *ra_next_cert; /* rollover, or NULL */
	char *ra_next_key;
	char *ra_previous_cert; /* rollover, or NULL */
	char *ra_previous_key;
	/* [epki] */
	char *epki_url;	      /* https; http only to loopback or allowed */
	bool epki_allow_http; /* http:// to any host */
	char *epki_username;
	char *epki_password_file;
	char *epki_profile_id;
	char *epki_product_code;
	int epki_years;
	long epki_timeout_seconds;
	long epki_reconcile_seconds;   /* period of the reconciler */
	char *epki_ca_file;	       /* TLS trust for the EPKI URL, or NULL */
	size_t epki_max_response;      /* largest SOAP reply read */
	unsigned epki_max_connections; /* parallel upstream connections */
	int epki_licence_error_code;   /* GlobalSign's "no licence" code */
	long epki_licences;	       /* README "Licences"; 0: not counted */
	long epki_licences_used_before; /* used before this gateway counted */
	char *epki_licences_expire;	/* YYYY-MM-DD, or NULL */
	/* [scep] */
	bool allow_des;
	unsigned max_recipient_infos; /* RecipientInfos per request */
	unsigned max_certificates;    /* certificates per request */
	long pending_after_seconds;
	/* [enroll] */
	long challenge_ttl_seconds;
	unsigned enroll_max_failures; /* per address per minute; 0: none */
	/* [ndes] */
	bool ndes_enabled;	     /* the challenge page is served */
	unsigned ndes_login_threads; /* scrypt checks at once */
	unsigned ndes_max_waiting;   /* logins queued for them at most */
	/* [intune] */
	struct gw_intune_conf intune;
	/* [log] */
	int log_level;	/* LOG_ERR .. LOG_DEBUG */
	int log_format; /* 0 text, 1 json (log_format_set()) */
	/* [profile NAME] sections (profile.c); [0] is "default" */
	struct gw_profile *profiles;
	size_t nprofiles;
	/* licence pools (licence.c); [0] is [epki]'s, then each profile's own
	 */
	struct gw_licence_pool *pools;
	size_t npools;
	/* SHA-256 of the settings that decide an order (digest.c) */
	uint8_t order_sha256[32];
	bool has_order_sha256;
};

/*
 * A licence pool (README "Licences"): the orders the gateway placed that
 * GlobalSign accepted are counted against it in the database under name.
 */
struct gw_licence_pool {
	char *name;	  /* "epki" or "profile:NAME" */
	long licences;	  /* the pack's size; 0: not set */
	long used_before; /* spent before this gateway counted */
	char expire[11];  /* the pack's last day, YYYY-MM-DD, or "" */
	long expire_day;  /* that day, days since 1970-01-01 */
};

/* How a profile's devices prove they may enroll (README "Profiles"). */
enum gw_chal_mode {
	GW_CHAL_ONETIME, /* one-time challenges from the database */
	GW_CHAL_STATIC,	 /* one shared secret, usable many times */
	GW_CHAL_BOTH,	 /* either */
	GW_CHAL_INTUNE,	 /* Intune's own, checked by Intune (README
			    "Configuration") */
	GW_CHAL__MAX
};

/*
 * One enrollment profile, served at /scep/NAME ("default": the plain
 * paths). After config_load() every field is set: what a section left
 * out comes from [epki] and the built-in templates.
 */
struct gw_profile {
	char *name;
	char *profile_id; /* EPKI profile (MP...) */
	char *product_code;
	int years;
	char *subject_cn; /* identity templates (template.h) */
	char *email;
	char *ou;
	char *upn;
	char **email_domains; /* a decided e-mail must be in one; NULL: any */
	size_t nemail_domains;
	enum gw_chal_mode challenge;
	char *static_challenge_file; /* or NULL */
	uint8_t static_sha256[32];   /* SHA-256 of the static secret */
	bool has_static;
	bool require_binding; /* refuse challenges issued without identity */
	long licences;	      /* own licence pool (README "Licences"), */
	long licences_used_before; /* when own_pool */
	char *licences_expire;	   /* or NULL */
	bool own_pool;		   /* any of the three set */
	size_t pool;		   /* its pool in gw_config.pools */
	unsigned seen;		   /* keys set in the file (bit per key) */
	int line;		   /* where the section first appeared */
};

int config_load(struct gw_config **out, const char *path, FILE *errf);
const char *config_default(const char *section, const char *name);
struct gw_config *config_new_defaults(const char *path);
int config_str_set(char **dst, const char *s);
void config_free(struct gw_config *c);
int config_write_default(FILE *f, const struct gw_config *c);
int config_epki_url_check(const char *url, bool allow_http, char *reason,
    size_t rlen);

/* The upstream client's view of [epki] (epki.c). */
struct epki_client_opts;
void config_epki_opts(const struct gw_config *cfg, struct epki_client_opts *o);
const char *config_epki_advice(int code);
struct epki_status;
const char *config_epki_status_advice(const struct gw_config *cfg,
    const struct epki_status *st);

/* [intune] (intune.c): NULL when the section is not configured. */
const struct gw_intune_conf *config_intune(const struct gw_config *c);
int config_intune_finish(struct gw_config *c, FILE *errf);
int config_intune_secret_read(const char *path, char **out, struct gw_err *err);
int config_intune_credential_load(const struct gw_intune_conf *ic, X509 **cert,
    EVP_PKEY **key, struct gw_err *err);
bool config_url_https_or_loopback(const char *url);

/* What changed between two loads (diff.c): fn gets "ra", "cert" or, for a
 * profile added or removed, "profile NAME" and NULL. */
typedef void config_diff_fn(void *arg, const char *section, const char *key);
size_t config_diff(const struct gw_config *old, const struct gw_config *new_,
    config_diff_fn *fn, void *arg);
size_t config_profiles_diff(const struct gw_config *old,
    const struct gw_config *new_, config_diff_fn *fn, void *arg);
bool config_str_differ(const char *a, const char *b);

/* Profiles (profile.c). */
const struct gw_profile *config_profile_find(const struct gw_config *c,
    const char *name);
const char *config_chal_mode_name(enum gw_chal_mode m);
bool config_profile_email_ok(const struct gw_profile *p, const char *email);
const char *config_profile_onetime_refusal(const struct gw_profile *p);
bool config_profiles_usable(const struct gw_config *cfg, const char *profiles,
    char *why, size_t n);
int config_profile_key(struct gw_config *c, const char *name, const char *key,
    const char *value, int line, char *reason, size_t rlen);
int config_profiles_finish(struct gw_config *c, FILE *errf);
void config_profiles_free(struct gw_config *c);

/* Licence pools and the licence error (licence.c, README "Licences"). */
int config_date_parse(const char *v, long *day);
int config_licence_count_parse(const char *v, long lo, long *out, char *reason,
    size_t rlen);
int config_licences_finish(struct gw_config *c, FILE *errf);
void config_licences_free(struct gw_config *c);
const struct gw_licence_pool *config_licence_pool(const struct gw_config *c,
    const char *profile);
const char *config_licence_advice(void);

#endif
