/*
 * GetCACaps body (RFC 8894 3.5.2, scep.md 0 item 7): each token on its own
 * CRLF line, exact case. Renewal: a RenewalReq is authenticated by the
 * certificate it is signed with, and needs no challenge.
 */
#include "scep.h"

/* The capabilities text, a static string. */
const char *
scep_caps_text(void)
{
	return "POSTPKIOperation\r\n"
	       "Renewal\r\n"
	       "AES\r\n"
	       "DES3\r\n"
	       "SHA-1\r\n"
	       "SHA-256\r\n"
	       "SHA-512\r\n"
	       "SCEPStandard\r\n";
}
