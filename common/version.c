/*
 * OpenSSL's version as this process runs it, for `scepgw --version`
 * (README "Commands").
 */
#include <openssl/crypto.h>

#include "gw_version.h"

/* The loaded libcrypto's version, e.g. "3.0.19"; a static string. */
const char *
gw_openssl_version(void)
{
	return OpenSSL_version(OPENSSL_VERSION_STRING);
}
