/*
 * The --listen HOST:PORT option of the simulators (epki-sim, intune-sim).
 */
#ifndef GW_LISTEN_H
#define GW_LISTEN_H

#include <stddef.h>

#include <netinet/in.h>

int gw_listen_parse4(const char *arg, char *host, size_t hostlen,
    struct sockaddr_in *sa);

#endif
