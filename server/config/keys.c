/*
 * The one table of configuration keys: for each [section] name its type,
 * bounds, default (the text a file would hold) and whether it is
 * required, and the order and comments of the file `scepgw init` writes.
 * Loading (config.c), writing (write.c), `scepgw init` and the tests take
 * the defaults from here.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "config.h"
#include "config_int.h"

#define K(s, n, t, lo, hi, d, req, field)                                  \
	{                                                                  \
		s, n, t, lo, hi, d, req, offsetof(struct gw_config, field) \
	}

/* Sorted by section, then name: cfg_key_find() uses bsearch(). */
const struct cfg_key cfg_keys[] = {
	K("admin", "listen", CFG_STRING, 0, 0, NULL, false, admin_listen),
	K("admin", "max_outstanding_challenges", CFG_LONG, 0, 10000000, "1000",
	    false, admin_max_outstanding),
	K("admin", "token_file", CFG_PATH, 0, 0, NULL, false, admin_token_file),
	K("cluster", "lease_seconds", CFG_LONG, 0, 3600, "0", false,
	    cluster_lease_seconds),
	K("cluster", "node_name", CFG_STRING, 0, 0, NULL, false,
	    cluster_node_name),
	K("console", "absolute_seconds", CFG_LONG, 1, 604800, "28800", false,
	    console_absolute_seconds),
	K("console", "idle_seconds", CFG_LONG, 1, 86400, "900", false,
	    console_idle_seconds),
	K("db", "password_file", CFG_PATH, 0, 0, NULL, false, db_password_file),
	K("db", "path", CFG_PATH, 0, 0, NULL, false, db_path),
	K("db", "timeout_seconds", CFG_LONG, 2, 3600, "10", false,
	    db_timeout_seconds),
	K("db", "url", CFG_STRING, 0, 0, NULL, false, db_url),
	K("enroll", "challenge_ttl_seconds", CFG_LONG, 60, 31536000, "3600",
	    false, challenge_ttl_seconds),
	K("enroll", "max_failures_per_minute", CFG_UINT, 0, 600, "5", false,
	    enroll_max_failures),
	K("epki", "allow_http", CFG_BOOL, 0, 0, "no", false, epki_allow_http),
	K("epki", "ca_file", CFG_PATH, 0, 0, NULL, false, epki_ca_file),
	K("epki", "licence_error_code", CFG_INT, -99999, -1, "-6101", false,
	    epki_licence_error_code),
	K("epki", "licences", CFG_LONG, 0, 100000000, "0", false,
	    epki_licences),
	K("epki", "licences_expire", CFG_STRING, 0, 0, NULL, false,
	    epki_licences_expire),
	K("epki", "licences_used_before", CFG_LONG, 0, 100000000, "0", false,
	    epki_licences_used_before),
	K("epki", "max_connections", CFG_UINT, 1, 65536, "1024", false,
	    epki_max_connections),
	K("epki", "max_response_bytes", CFG_SIZE, 1024, 67108864, "1048576",
	    false, epki_max_response),
	K("epki", "password_file", CFG_PATH, 0, 0, NULL, true,
	    epki_password_file),
	K("epki", "product_code", CFG_STRING, 0, 0, "EPKIPSPersonal", false,
	    epki_product_code),
	K("epki", "profile_id", CFG_STRING, 0, 0, NULL, true, epki_profile_id),
	K("epki", "reconcile_seconds", CFG_LONG, 1, 3600, "30", false,
	    epki_reconcile_seconds),
	K("epki", "timeout_seconds", CFG_LONG, 1, 600, "30", false,
	    epki_timeout_seconds),
	K("epki", "url", CFG_STRING, 0, 0, NULL, true, epki_url),
	K("epki", "username", CFG_STRING, 0, 0, NULL, true, epki_username),
	K("epki", "years", CFG_INT, 1, 3, "1", false, epki_years),
	K("intune", "api_version", CFG_STRING, 0, 0, "2018-02-20", false,
	    intune.api_version),
	K("intune", "authority", CFG_STRING, 0, 0,
	    "https://login.microsoftonline.com/", false, intune.authority),
	K("intune", "ca_file", CFG_PATH, 0, 0, NULL, false, intune.ca_file),
	K("intune", "client_cert", CFG_PATH, 0, 0, NULL, false,
	    intune.client_cert),
	K("intune", "client_id", CFG_STRING, 0, 0, NULL, false,
	    intune.client_id),
	K("intune", "client_key", CFG_PATH, 0, 0, NULL, false,
	    intune.client_key),
	K("intune", "client_secret_file", CFG_PATH, 0, 0, NULL, false,
	    intune.client_secret_file),
	K("intune", "graph_url", CFG_STRING, 0, 0,
	    "https://graph.microsoft.com/", false, intune.graph_url),
	K("intune", "intune_app_id", CFG_STRING, 0, 0,
	    "0000000a-0000-0000-c000-000000000000", false,
	    intune.intune_app_id),
	K("intune", "intune_resource", CFG_STRING, 0, 0,
	    "https://api.manage.microsoft.com/", false, intune.intune_resource),
	K("intune", "tenant", CFG_STRING, 0, 0, NULL, false, intune.tenant),
	K("intune", "timeout_seconds", CFG_LONG, 5, 300, "30", false,
	    intune.timeout_seconds),
	K("log", "format", CFG_LOGFORMAT, 0, 0, "text", false, log_format),
	K("log", "level", CFG_LOGLEVEL, 0, 0, "info", false, log_level),
	K("ndes", "enabled", CFG_BOOL, 0, 0, "yes", false, ndes_enabled),
	K("ndes", "login_threads", CFG_UINT, 1, 16, "2", false,
	    ndes_login_threads),
	K("ndes", "max_waiting_logins", CFG_UINT, 1, 100000, "64", false,
	    ndes_max_waiting),
	K("ra", "ca_chain", CFG_PATH, 0, 0, NULL, true, ca_chain),
	K("ra", "cert", CFG_PATH, 0, 0, NULL, true, ra_cert),
	K("ra", "key", CFG_PATH, 0, 0, NULL, true, ra_key),
	K("ra", "next_cert", CFG_PATH, 0, 0, NULL, false, ra_next_cert),
	K("ra", "next_key", CFG_PATH, 0, 0, NULL, false, ra_next_key),
	K("ra", "previous_cert", CFG_PATH, 0, 0, NULL, false, ra_previous_cert),
	K("ra", "previous_key", CFG_PATH, 0, 0, NULL, false, ra_previous_key),
	K("scep", "allow_des", CFG_BOOL, 0, 0, "no", false, allow_des),
	K("scep", "max_certificates", CFG_UINT, 1, 1000, "10", false,
	    max_certificates),
	K("scep", "max_recipient_infos", CFG_UINT, 1, 100, "4", false,
	    max_recipient_infos),
	K("scep", "pending_after_seconds", CFG_LONG, 1, 3600, "20", false,
	    pending_after_seconds),
	K("server", "allow_root", CFG_BOOL, 0, 0, "no", false, allow_root),
	K("server", "listen", CFG_STRING, 0, 0, "127.0.0.1:8080", false,
	    listen),
	K("server", "max_connections", CFG_UINT, 16, 1000000, "10000", false,
	    max_connections),
	K("server", "max_connections_per_ip", CFG_UINT, 0, 1000000, "0", false,
	    max_connections_per_ip),
	K("server", "max_request_bytes", CFG_SIZE, 1024, 1048576, "65536",
	    false, max_request_bytes),
	K("server", "request_timeout_seconds", CFG_UINT, 1, 3600, "60", false,
	    request_timeout_seconds),
	K("server", "threads", CFG_UINT, 1, 64, "4", false, threads),
	K("server", "timeout_seconds", CFG_UINT, 1, 3600, "30", false,
	    conn_timeout_seconds),
	K("server", "trusted_proxies", CFG_NETS, 0, 0, NULL, false,
	    trusted_proxies),
	K("server", "user", CFG_STRING, 0, 0, NULL, false, user),
};

_Static_assert(sizeof(cfg_keys) / sizeof(cfg_keys[0]) == CFG_KEYS_N,
    "CFG_KEYS_N counts the keys");

/* The order and comments of the written file: README "Configuration". */
const struct cfg_doc cfg_docs[] = {
	{ "server", "listen", "SCEP listener, host:port" },
	{ "server", "max_request_bytes",
	    "largest SCEP request (1024..1048576)" },
	{ "server", "threads", "HTTP worker threads (1..64)" },
	{ "server", "max_connections",
	    "open connections at most; more wait in the backlog" },
	{ "server", "max_connections_per_ip",
	    "open connections per client address; 0 = no limit (NAT, MDM "
	    "proxies)" },
	{ "server", "timeout_seconds",
	    "an idle connection is closed after this many silent seconds" },
	{ "server", "request_timeout_seconds",
	    "a request (headers and body) must arrive within this; slow "
	    "clients are cut off" },
	{ "server", "user",
	    "drop to this user after binding the listener; empty = stay" },
	{ "server", "allow_root",
	    "serve may keep running as root (no user set)" },
	{ "server", "trusted_proxies",
	    "reverse proxies whose X-Forwarded-For names the client "
	    "(addresses, CIDRs); empty = none" },
	{ "admin", "listen", "admin HTTP API, host:port; empty = off" },
	{ "admin", "token_file", "bearer token for the admin API" },
	{ "admin", "max_outstanding_challenges",
	    "NDES page: \"password cache is full\" beyond this many unused "
	    "challenges; 0 = no cap" },
	{ "console", "idle_seconds",
	    "admin web console: a session unused this long ends (1..86400)" },
	{ "console", "absolute_seconds",
	    "admin web console: a session ends this long after its login "
	    "(1..604800)" },
	{ "db", "path", "SQLite database; set path or url, not both" },
	{ "db", "url",
	    "PostgreSQL instead: libpq URI or key=value string (README "
	    "\"PostgreSQL\"); empty = SQLite at path" },
	{ "db", "timeout_seconds",
	    "PostgreSQL: the longest wait for a connection and for the "
	    "server's answer to one statement or batch (plus 2 s)" },
	{ "db", "password_file",
	    "file holding the PostgreSQL password (mode 0600); empty = "
	    "none or ~/.pgpass" },
	{ "cluster", "node_name",
	    "this gateway's name in logs and `scepgw check`; empty = the "
	    "hostname" },
	{ "cluster", "lease_seconds",
	    "lease of a serve process; 0 = [epki] timeout_seconds + 30; at "
	    "least timeout_seconds + 15" },
	{ "ra", "cert", "RA certificate (signs CertReps, decrypts requests)" },
	{ "ra", "key", "RA private key (mode 0600)" },
	{ "ra", "ca_chain",
	    "issuing CA (+ intermediates, root) returned by GetCACert" },
	{ "ra", "next_cert",
	    "RA rollover: next certificate, announced by GetNextCACert; "
	    "empty = none" },
	{ "ra", "next_key", "its key (mode 0600)" },
	{ "ra", "previous_cert",
	    "RA rollover: the replaced certificate, still decrypts; "
	    "empty = none" },
	{ "ra", "previous_key", "its key (mode 0600)" },
	{ "epki", "url",
	    "GlobalSign GasOrderService endpoint; https (http only to a "
	    "loopback address)" },
	{ "epki", "allow_http",
	    "allow an http:// url to a host that is not loopback (the API "
	    "password then travels in clear)" },
	{ "epki", "username", "EPKI API user" },
	{ "epki", "password_file", "file holding the EPKI API password" },
	{ "epki", "profile_id", "EPKI profile (MP...)" },
	{ "epki", "product_code", NULL },
	{ "epki", "years", "must match the licence pack: 1, 2 or 3" },
	{ "epki", "timeout_seconds", "upstream call timeout (1..600)" },
	{ "epki", "reconcile_seconds",
	    "how often unfinished orders are looked up at GlobalSign "
	    "(1..3600)" },
	{ "epki", "ca_file",
	    "TLS trust for the EPKI URL; empty = system store" },
	{ "epki", "max_response_bytes",
	    "largest GlobalSign reply read (1024..67108864)" },
	{ "epki", "max_connections",
	    "parallel connections to GlobalSign at most; more orders wait "
	    "their turn (1..65536)" },
	{ "epki", "licence_error_code",
	    "GlobalSign's ErrorCode for \"no licence\" (pack expired or used "
	    "up, product or years not matching it) (-99999..-1)" },
	{ "epki", "licences",
	    "licences in the pack, counted locally (GlobalSign's API tells "
	    "none); 0 = not counted (0..100000000)" },
	{ "epki", "licences_used_before",
	    "licences of the pack spent before this gateway counted "
	    "(0..licences)" },
	{ "epki", "licences_expire",
	    "the licence pack's last day, YYYY-MM-DD; empty = not watched" },
	{ "scep", "allow_des",
	    "single-DES requests (legacy clients); needs OpenSSL's legacy "
	    "provider" },
	{ "scep", "max_recipient_infos",
	    "RecipientInfos in a request's envelope at most (1..100)" },
	{ "scep", "max_certificates",
	    "certificates in a request's SignedData at most (1..1000)" },
	{ "scep", "pending_after_seconds",
	    "answer PENDING when GlobalSign takes longer; finish in the "
	    "background" },
	{ "enroll", "challenge_ttl_seconds",
	    "lifetime of a new challenge (60..31536000)" },
	{ "enroll", "max_failures_per_minute",
	    "wrong challenges or NDES page logins allowed per client address "
	    "(IPv6: per /64) per minute; 0 = no limit" },
	{ "ndes", "enabled",
	    "the NDES-compatible challenge page /certsrv/mscep_admin/; no = "
	    "404" },
	{ "ndes", "login_threads",
	    "NDES logins checked at once (scrypt, 32 MiB each) (1..16)" },
	{ "ndes", "max_waiting_logins",
	    "NDES logins waiting for a thread at most; more get 503 "
	    "(1..100000)" },
	{ "intune", "tenant",
	    "Microsoft Intune (README \"Microsoft Intune\"): the Entra ID "
	    "tenant, GUID or domain; empty = off" },
	{ "intune", "client_id",
	    "the app registration's Application (client) "
	    "ID" },
	{ "intune", "client_secret_file",
	    "file holding its client secret (one line, mode 0600); or set "
	    "client_cert and client_key" },
	{ "intune", "client_cert",
	    "certificate registered on the app (PEM): a signed client "
	    "assertion instead of a secret" },
	{ "intune", "client_key", "its RSA key (PEM, mode 0600)" },
	{ "intune", "authority",
	    "Entra ID login URL, ending in /; national clouds differ" },
	{ "intune", "graph_url",
	    "Microsoft Graph URL, ending in /; finds the Intune service" },
	{ "intune", "intune_resource",
	    "Intune's resource, ending in /; the token scope is it + "
	    "/.default" },
	{ "intune", "intune_app_id", "Intune's application ID in Graph" },
	{ "intune", "api_version", "api-version of Intune's SCEP calls" },
	{ "intune", "ca_file",
	    "TLS trust for these URLs; empty = system store" },
	{ "intune", "timeout_seconds",
	    "one Intune call at most, token and retries included (5..300)" },
	{ "log", "level", "error, warning, info or debug" },
	{ "log", "format",
	    "text (one line for people) or json (one object per line, "
	    "README \"Logs\")" },
};

_Static_assert(sizeof(cfg_docs) / sizeof(cfg_docs[0]) == CFG_KEYS_N,
    "every key is written by config_write_default()");

/* The words a yes/no value and a log level may be written as. */
const struct cfg_word cfg_bool_words[] = {
	{ "yes", 1 },
	{ "no", 0 },
	{ "true", 1 },
	{ "false", 0 },
	{ "on", 1 },
	{ "off", 0 },
	{ "1", 1 },
	{ "0", 0 },
};

const struct cfg_word cfg_format_words[] = {
	{ "text", 0 },
	{ "json", 1 },
};

const struct cfg_word cfg_level_words[] = {
	{ "error", LOG_ERR },
	{ "warning", LOG_WARNING },
	{ "info", LOG_INFO },
	{ "debug", LOG_DEBUG },
};

static int
cfg_key_cmp(const void *a, const void *b)
{
	const struct cfg_key *x = a, *y = b;
	int d;

	d = strcmp(x->section, y->section);
	return d != 0 ? d : strcmp(x->name, y->name);
}

/* The row of [section] name, or NULL. */
const struct cfg_key *
cfg_key_find(const char *section, const char *name)
{
	struct cfg_key k;

	memset(&k, 0, sizeof(k));
	k.section = section;
	k.name = name;
	return bsearch(&k, cfg_keys, CFG_KEYS_N, sizeof(cfg_keys[0]),
	    cfg_key_cmp);
}

/* Whether a [section] of that name has any key. */
bool
cfg_section_known(const char *section)
{
	size_t i;

	for (i = 0; i < CFG_KEYS_N; i++)
		if (strcmp(cfg_keys[i].section, section) == 0)
			return true;
	return false;
}

/*
 * The default of [section] name as the table holds it (the text a file
 * would hold), or NULL when the key has none or does not exist.
 */
const char *
config_default(const char *section, const char *name)
{
	const struct cfg_key *k = cfg_key_find(section, name);

	return k != NULL ? k->def : NULL;
}
