/*
 * `scepgw --version` (README "Commands"): this program's version, then
 * one line per library with the version the process runs with, asked of
 * each library by the room that owns it. Reads no config.
 */
#include <stdio.h>

#include "admin.h"
#include "cli.h"
#include "db.h"
#include "epki.h"
#include "gw_version.h"
#include "http.h"

#ifndef GW_VERSION
#define GW_VERSION "0"
#endif

/* Prints the version lines to f. */
void
cli_version(FILE *f)
{
	char pq[32], xml[32];

	db_pq_version(pq, sizeof(pq));
	epki_xml_version(xml, sizeof(xml));
	fprintf(f, "scepgw %s\n", GW_VERSION);
	fprintf(f, "OpenSSL %s\n", gw_openssl_version());
	fprintf(f, "libmicrohttpd %s\n", srv_http_mhd_version());
	fprintf(f, "libcurl %s\n", epki_curl_version());
	fprintf(f, "libxml2 %s\n", xml);
	fprintf(f, "SQLite %s\n", db_sqlite_version());
	fprintf(f, "libpq %s\n", pq);
	fprintf(f, "jansson %s (built with)\n", admin_jansson_version());
}
