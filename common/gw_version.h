/* The OpenSSL version scepgw runs with (version.c). */
#ifndef GW_VERSION_H
#define GW_VERSION_H

const char *gw_openssl_version(void);

#endif
