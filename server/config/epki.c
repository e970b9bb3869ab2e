/*
 * The [epki] section as the upstream client sees it: the client's options
 * from a config, and what an admin should do about an account error.
 */
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
 * account or its settings are wrong (spec 2 and 7.2), or NULL when the
 * code is not one of those.
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
		       "make it an API user with EPKI API access in GCC, or "
		       "set [epki] username to one that is";
	case -9939:
		return "the GlobalSign account is invalid, stopped or locked "
		       "(ErrorCode -9939): contact GlobalSign support or "
		       "your account manager";
	case -9901:
		return "the account may not order this product (ErrorCode "
		       "-9901): [epki] product_code must match your licence "
		       "pack (EPKIPSPersonal)";
	case -6101:
		return "no licence left (ErrorCode -6101): the licence pack "
		       "has expired or is used up; order more licence packs "
		       "in GCC (Enterprise PKI)";
	default:
		return NULL;
	}
}
