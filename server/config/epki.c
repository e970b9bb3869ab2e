/*
 * The [epki] section as the upstream client sees it: whether its URL may
 * be used, the client's options from a config, and what an admin should
 * do about an account error.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "epki.h"

/* The upstream client settings of a config. */
void
config_epki_opts(const struct gw_config *cfg, struct epki_client_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->url = cfg->epki_url;
	o->timeout_s = cfg->epki_timeout_seconds;
	o->connect_timeout_s =
	    cfg->epki_timeout_seconds < 15 ? cfg->epki_timeout_seconds : 15;
	o->ca_file = cfg->epki_ca_file;
	o->max_response = cfg->epki_max_response;
	o->max_connections = (long)cfg->epki_max_connections;
	/* http only where config_epki_url_check() let an http:// URL in. */
	o->https_only = strncasecmp(cfg->epki_url, "https://", 8) == 0 &&
	    !cfg->epki_allow_http;
}

/*
 * What an admin should do about a GlobalSign error code that means the
 * account or its settings are wrong, or NULL when the code is not one of
 * those. The licence error has its own message, keyed on [epki]
 * licence_error_code: config_licence_advice().
 */
const char *
config_epki_advice(int code)
{
	switch (code) {
	case -4001:
		return "GlobalSign refused the login (ErrorCode -4001: wrong "
		       "API user or password): fix [epki] username (the GCC "
		       "API user, PAR12345_name) and the password in "
		       "[epki] password_file";
	case -4201:
		return "this server's address is not in GCC's API IP Address "
		       "Range (ErrorCode -4201): ask GlobalSign support to "
		       "add this server's public IP address to the account's "
		       "API allow-list";
	case -9200:
		return "this GCC user may not use the API (ErrorCode -9200): "
		       "the API user needs administrator rights in the "
		       "GlobalSign customer portal (GCC) and EPKI API access, "
		       "and this server's public IP address must be in the "
		       "API IP Address Range; give the user those rights in "
		       "GCC, or set [epki] username to one that has them";
	case -9939:
		return "the GlobalSign account is invalid, stopped or locked "
		       "(ErrorCode -9939): contact GlobalSign support or "
		       "your account manager";
	case -9901:
		return "the account may not order this product (ErrorCode "
		       "-9901): [epki] product_code must match your licence "
		       "pack (EPKIPSPersonal)";
	default:
		return NULL;
	}
}

/*
 * What an admin should do about the client's last failure (the console's
 * dashboard): the account advice above, the one licence message ([epki]
 * licence_error_code, README "Licences"), the profile, or for a call
 * that got no answer the URL, the firewall, TLS trust or the timeout.
 */
const char *
config_epki_status_advice(const struct gw_config *cfg,
    const struct epki_status *st)
{
	const char *a;

	if (st->cls == EPKI_TRANSPORT) {
		switch (st->net) {
		case EPKI_NET_CONNECT:
			return "the gateway cannot connect to GlobalSign: check "
			       "[epki] url, that this server resolves its name "
			       "and that the firewall or proxy lets it reach "
			       "that address on port 443";
		case EPKI_NET_TLS:
			return "the TLS connection to GlobalSign failed: the "
			       "server's certificate is not trusted (set "
			       "[epki] ca_file to a file holding its root CA, "
			       "or leave it empty for the system store) or "
			       "something between intercepts TLS";
		case EPKI_NET_TIMEOUT:
			return "GlobalSign did not answer in time ([epki] "
			       "timeout_seconds): GlobalSign is slow or the "
			       "network drops packets; the orders concerned are "
			       "looked up again, nothing to do unless it lasts";
		case EPKI_NET_NONE:
			return st->http_status == 404 ?
			    "GlobalSign answered 404: [epki] url has a path it "
			    "does not serve (run `scepgw check`)" :
			    "GlobalSign (or a proxy) answered with an HTTP "
			    "error instead of SOAP: usually a passing outage; "
			    "if it lasts, check [epki] url and any proxy";
		default:
			return "the call to GlobalSign failed on the way (the "
			       "connection was lost or the answer was too "
			       "large); the orders concerned are looked up "
			       "again";
		}
	}
	if (cfg != NULL && st->code == cfg->epki_licence_error_code)
		return config_licence_advice();
	if ((a = config_epki_advice(st->code)) != NULL)
		return a;
	switch (st->cls) {
	case EPKI_TRANSIENT:
		return "GlobalSign reported a passing error of its own; the "
		       "orders concerned are tried or looked up again";
	case EPKI_BAD_CSR:
		return "GlobalSign refused a device's CSR (invalid, key too "
		       "short, curve not allowed); the account works";
	case EPKI_NOT_FOUND:
	case EPKI_CONFLICT:
		return "GlobalSign did not know the order or refused the "
		       "change asked of it (already revoked, ...); the "
		       "account works";
	default:
		break;
	}
	if (st->code == -101 || st->code == -105)
		return "the profile ID is not the account's, or the profile "
		       "is not approved (vetting pending, suspended): check "
		       "[epki] profile_id (and the profiles' own) against "
		       "GCC > Search Profiles";
	return "see README \"Troubleshooting\" for this ErrorCode and the "
	       "gateway's log for the order concerned";
}

/* Whether host (a URL's, IPv6 without brackets) is a loopback address. */
static bool
cfg_host_is_loopback(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/*
 * The host of an http:// or https:// url (rest points past the scheme),
 * into out: no user info, no port, IPv6 without its brackets. Returns 0,
 * or -1 when there is none.
 */
static int
cfg_url_host(const char *rest, char *out, size_t n)
{
	size_t len = strcspn(rest, "/?#");
	const char *at, *end;

	/* User info ends at the authority's last '@'. */
	for (at = rest + len; at > rest && at[-1] != '@'; at--)
		;
	len -= (size_t)(at - rest);
	rest = at;
	if (rest[0] == '[') {
		if ((end = memchr(rest, ']', len)) == NULL)
			return -1;
		rest++;
		len = (size_t)(end - rest);
	} else if ((end = memchr(rest, ':', len)) != NULL)
		len = (size_t)(end - rest);
	if (len == 0 || len >= n)
		return -1;
	memcpy(out, rest, len);
	out[len] = '\0';
	return 0;
}

/*
 * Whether url is https://HOST..., or http:// to a loopback address (a
 * simulator on this machine): the rule of [epki] url without allow_http,
 * which [intune]'s URLs follow too.
 */
bool
config_url_https_or_loopback(const char *url)
{
	char host[256];

	if (strncasecmp(url, "https://", 8) == 0)
		return cfg_url_host(url + 8, host, sizeof(host)) == 0;
	return strncasecmp(url, "http://", 7) == 0 &&
	    cfg_url_host(url + 7, host, sizeof(host)) == 0 &&
	    cfg_host_is_loopback(host);
}

/*
 * The [epki] url rule (README "Configuration"): https; http only to a
 * loopback address (epki-sim) or with allow_http, since plain HTTP sends
 * the API password and every order in clear. Returns 0, or -1 with the
 * reason.
 */
int
config_epki_url_check(const char *url, bool allow_http, char *reason,
    size_t rlen)
{
	char host[256];

	if (strncasecmp(url, "https://", 8) == 0 &&
	    cfg_url_host(url + 8, host, sizeof(host)) == 0)
		return 0;
	if (strncasecmp(url, "http://", 7) != 0 ||
	    cfg_url_host(url + 7, host, sizeof(host)) == -1) {
		snprintf(reason, rlen,
		    "bad value \"%.60s\": expected https://HOST/...", url);
		return -1;
	}
	if (allow_http || cfg_host_is_loopback(host))
		return 0;
	snprintf(reason, rlen,
	    "http:// sends the API password and every order in clear: use "
	    "https://, or set [epki] allow_http = yes");
	return -1;
}
