/*
 * Reads a listening address given as HOST:PORT, HOST an IPv4 address
 * (gw_listen.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw_listen.h"

/*
 * Parses arg ("127.0.0.1:8080"; port 0: any free one) into sa, and its
 * host part into host (hostlen bytes). Returns 0, or -1 when arg is not
 * an IPv4 address, a colon and a port 0..65535, or the host does not fit.
 */
int
gw_listen_parse4(const char *arg, char *host, size_t hostlen,
    struct sockaddr_in *sa)
{
	const char *colon = strrchr(arg, ':');
	char *end;
	long port;

	if (colon == NULL || (size_t)(colon - arg) >= hostlen)
		return -1;
	memcpy(host, arg, (size_t)(colon - arg));
	host[colon - arg] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno != 0 || end == colon + 1 || *end != '\0' || port < 0 ||
	    port > 65535)
		return -1;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}
