/*
 * libmicrohttpd's version as this process runs it, for `scepgw --version`
 * (README "Commands").
 */
#include <microhttpd.h>

#include "http.h"

/* The loaded libmicrohttpd's version, e.g. "0.9.75"; a static string. */
const char *
srv_http_mhd_version(void)
{
	const char *v = MHD_get_version();

	return v != NULL ? v : "?";
}
