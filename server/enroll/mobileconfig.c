/*
 * The Apple configuration profile (README "Apple configuration profiles"):
 * plist XML that enrolls a device through a profile of this gateway: a
 * com.apple.security.scep payload (URL, Name, Challenge, RSA 2048, Key
 * Usage 5 = signing and encryption, the Subject where the profile's
 * templates are literal, CAFingerprint = SHA-1 of the issuing CA
 * certificate) and one certificate payload per CA of [ra] ca_chain
 * (com.apple.security.root for a self-signed one, else
 * com.apple.security.pkcs1). PayloadUUIDs are random; PayloadIdentifiers
 * are stable, so a new profile replaces the old one on the device. One
 * generator for `scepgw mobileconfig` and the web console's one-time link
 * (README "Admin web console").
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "mobileconfig.h"
#include "secure.h"
#include "template.h"

/* Writes s with the five XML special characters escaped. */
static void
xml_put(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&apos;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

/* <key>k</key><string>v</string> at indentation depth d. */
static void
kv_string(FILE *f, int d, const char *k, const char *v)
{
	fprintf(f, "%*s<key>", d, "");
	xml_put(f, k);
	fprintf(f, "</key>\n%*s<string>", d, "");
	xml_put(f, v);
	fputs("</string>\n", f);
}

static void
kv_int(FILE *f, int d, const char *k, long v)
{
	fprintf(f, "%*s<key>%s</key>\n%*s<integer>%ld</integer>\n", d, "", k, d,
	    "", v);
}

/* <key>k</key><data>base64</data>; 0 or -1 (out of memory). */
static int
kv_data(FILE *f, int d, const char *k, const uint8_t *p, size_t n)
{
	unsigned char *b64;
	size_t i, len;

	if ((b64 = malloc(4 * ((n + 2) / 3) + 1)) == NULL)
		return -1;
	len = (size_t)EVP_EncodeBlock(b64, p, (int)n);
	fprintf(f, "%*s<key>%s</key>\n%*s<data>\n", d, "", k, d, "");
	for (i = 0; i < len; i += 64)
		fprintf(f, "%*s%.*s\n", d, "",
		    (int)(len - i < 64 ? len - i : 64), (const char *)b64 + i);
	fprintf(f, "%*s</data>\n", d, "");
	free(b64);
	return 0;
}

/* A random (version 4) UUID, upper-case as Apple writes them. */
static int
uuid_new(char out[37])
{
	uint8_t b[16];

	if (gw_random_bytes(b, sizeof(b)) != 0)
		return -1;
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37,
	    "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-"
	    "%02X%02X%02X%02X%02X%02X",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
	    b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

/* The common payload keys: type, identifier, UUID, version, name. */
static int
payload_head(FILE *f, int d, const char *type, const char *id,
    const char *display)
{
	char uuid[37];

	if (uuid_new(uuid) != 0)
		return -1;
	kv_string(f, d, "PayloadType", type);
	kv_string(f, d, "PayloadIdentifier", id);
	kv_string(f, d, "PayloadUUID", uuid);
	kv_int(f, d, "PayloadVersion", 1);
	kv_string(f, d, "PayloadDisplayName", display);
	return 0;
}

/* One CA certificate as a root or intermediate (pkcs1) payload. */
static int
payload_cert(FILE *f, X509 *x, const char *base, int i)
{
	unsigned char *der = NULL;
	char id[160], cn[128] = "CA certificate";
	int len, self, rc = -1;

	self = X509_check_issued(x, x) == X509_V_OK;
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
	    (int)sizeof(cn));
	snprintf(id, sizeof(id), "%s.ca%d", base, i);
	if ((len = i2d_X509(x, &der)) <= 0)
		return -1;
	fputs("    <dict>\n", f);
	if (payload_head(f, 6,
		self ? "com.apple.security.root" : "com.apple.security.pkcs1",
		id, cn) != 0 ||
	    kv_data(f, 6, "PayloadContent", der, (size_t)len) != 0)
		goto out;
	kv_string(f, 6, "PayloadCertificateFileName", cn);
	fputs("    </dict>\n", f);
	rc = 0;
out:
	OPENSSL_free(der);
	return rc;
}

/* One RDN of the Subject array: [[oid, value]]. */
static void
subject_rdn(FILE *f, const char *oid, const char *v)
{
	fputs("        <array>\n          <array>\n", f);
	fprintf(f, "            <string>%s</string>\n            <string>",
	    oid);
	xml_put(f, v);
	fputs("</string>\n          </array>\n        </array>\n", f);
}

/* The Subject: each template that is literal, plus --cn. */
static void
scep_subject(FILE *f, const struct gw_profile *p, const struct mc_params *o)
{
	const char *cn = o->cn;

	if (cn == NULL && tmpl_is_literal(p->subject_cn) &&
	    p->subject_cn[0] != '\0')
		cn = p->subject_cn;
	fputs("      <key>Subject</key>\n      <array>\n", f);
	if (p->ou[0] != '\0' && tmpl_is_literal(p->ou))
		subject_rdn(f, "OU", p->ou);
	if (cn != NULL)
		subject_rdn(f, "CN", cn);
	if (p->email[0] != '\0' && tmpl_is_literal(p->email))
		subject_rdn(f, "1.2.840.113549.1.9.1", p->email);
	fputs("      </array>\n", f);
}

/* The com.apple.security.scep payload. */
static int
payload_scep(FILE *f, const struct gw_profile *p, const struct mc_params *o,
    const char *url, const char *base, X509 *ca)
{
	uint8_t fp[SHA_DIGEST_LENGTH];
	unsigned int fplen = 0;
	char id[160];

	snprintf(id, sizeof(id), "%s.scep", base);
	if (X509_digest(ca, EVP_sha1(), fp, &fplen) != 1)
		return -1;
	fputs("    <dict>\n", f);
	if (payload_head(f, 6, "com.apple.security.scep", id, o->name) != 0)
		return -1;
	fputs("      <key>PayloadContent</key>\n      <dict>\n", f);
	kv_string(f, 8, "URL", url);
	kv_string(f, 8, "Name", o->name);
	kv_string(f, 8, "Challenge",
	    o->challenge != NULL ? o->challenge : MC_DYNAMIC_PLACEHOLDER);
	kv_int(f, 8, "Keysize", 2048);
	kv_string(f, 8, "Key Type", "RSA");
	kv_int(f, 8, "Key Usage", 5);
	if (kv_data(f, 8, "CAFingerprint", fp, fplen) != 0)
		return -1;
	scep_subject(f, p, o);
	fputs("      </dict>\n    </dict>\n", f);
	return 0;
}

/*
 * The CA certificates of path, in file order; NULL when unreadable. Free
 * with mobileconfig_chain_free().
 */
STACK_OF(X509) *
mobileconfig_chain_load(const char *path)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	FILE *f;
	X509 *x;

	if (sk == NULL || (f = fopen(path, "r")) == NULL) {
		sk_X509_free(sk);
		return NULL;
	}
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
		if (sk_X509_push(sk, x) <= 0) {
			X509_free(x);
			break;
		}
	fclose(f);
	if (sk_X509_num(sk) == 0) {
		sk_X509_free(sk);
		return NULL;
	}
	return sk;
}

/*
 * Writes the whole profile to f: the SCEP payload for p at url, then one
 * payload per certificate of chain (its first is the issuing CA). Returns
 * 0 or -1.
 */
int
mobileconfig_write(FILE *f, const struct gw_profile *p,
    const struct mc_params *o, const char *url, STACK_OF(X509) *chain)
{
	char base[128], display[160];
	int i;

	snprintf(base, sizeof(base), "scepgw.%s", p->name);
	snprintf(display, sizeof(display), "%s (SCEP profile %s)", o->name,
	    p->name);
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	      "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
	      "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
	      "<plist version=\"1.0\">\n<dict>\n"
	      "  <key>PayloadContent</key>\n  <array>\n",
	    f);
	if (payload_scep(f, p, o, url, base, sk_X509_value(chain, 0)) != 0)
		return -1;
	for (i = 0; i < sk_X509_num(chain); i++)
		if (payload_cert(f, sk_X509_value(chain, i), base, i) != 0)
			return -1;
	fputs("  </array>\n", f);
	if (payload_head(f, 2, "Configuration", base, display) != 0)
		return -1;
	fputs("</dict>\n</plist>\n", f);
	return ferror(f) ? -1 : 0;
}

void
mobileconfig_chain_free(STACK_OF(X509) *chain)
{
	sk_X509_pop_free(chain, X509_free);
}

/* The default SCEP URL: http://[server] listen/scep[/NAME]. */
void
mobileconfig_default_url(const struct gw_config *cfg, const char *profile,
    char *out, size_t n)
{
	bool dflt = strcmp(profile, "default") == 0;

	snprintf(out, n, "http://%s/scep%s%s", cfg->listen, dflt ? "" : "/",
	    dflt ? "" : profile);
}
