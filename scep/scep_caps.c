/*
 * GetCACaps body (RFC 8894 3.5.2): each token on its own CRLF line, exact
 * case, the one form every client family parses. Renewal: a RenewalReq is
 * authenticated by the certificate it is signed with, and needs no
 * challenge. Every digest scep_msg.c accepts is listed, SHA-224 and
 * SHA-384 included: strongSwan's `pki --scep` 5.9 reads the capability
 * tokens one bit off and refuses AES unless SHA-384 is listed (README
 * "Pointing devices and MDMs at it").
 */
#include "scep.h"

/*
 * The capabilities text, a static string. GetNextCACert is advertised
 * only while a next RA certificate is configured (RFC 8894 3.5.2).
 */
const char *
scep_caps_text(const struct scep_ra *ra)
{
	static const char base[] = "POSTPKIOperation\r\n"
				   "Renewal\r\n"
				   "AES\r\n"
				   "DES3\r\n"
				   "SHA-1\r\n"
				   "SHA-224\r\n"
				   "SHA-256\r\n"
				   "SHA-384\r\n"
				   "SHA-512\r\n"
				   "SCEPStandard\r\n";
	static const char next[] = "POSTPKIOperation\r\n"
				   "Renewal\r\n"
				   "GetNextCACert\r\n"
				   "AES\r\n"
				   "DES3\r\n"
				   "SHA-1\r\n"
				   "SHA-224\r\n"
				   "SHA-256\r\n"
				   "SHA-384\r\n"
				   "SHA-512\r\n"
				   "SCEPStandard\r\n";
	size_t len;

	return ra != NULL && scep_ra_nextcacert(ra, &len) != NULL ? next : base;
}
