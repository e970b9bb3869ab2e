/*
 * The versions of libcurl and libxml2 this process runs with, for
 * `scepgw --version` (README "Commands"): asked of the loaded libraries,
 * not taken from their headers.
 */
#include <stdio.h>
#include <stdlib.h>

#include <curl/curl.h>
#include <libxml/parser.h>

#include "epki.h"

/* libcurl's version, e.g. "7.88.1"; a static string. */
const char *
epki_curl_version(void)
{
	const curl_version_info_data *d = curl_version_info(CURLVERSION_NOW);

	return d != NULL && d->version != NULL ? d->version : "?";
}

/*
 * libxml2's version into out (n bytes), e.g. "2.9.14": xmlParserVersion
 * is the running library's number, major * 10000 + minor * 100 + patch,
 * possibly followed by an extra tag that is left out.
 */
void
epki_xml_version(char *out, size_t n)
{
	long v = strtol(xmlParserVersion, NULL, 10);

	snprintf(out, n, "%ld.%ld.%ld", v / 10000, v / 100 % 100, v % 100);
}
