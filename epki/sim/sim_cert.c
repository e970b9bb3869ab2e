/*
 * epki-sim's certificate text: how the issued leaf is written into
 * OrderAndIssueCertificate's CERT and Fulfillment/CrCertificate/Certificate
 * (epki/sim/README.md "Certificate formats"). GlobalSign does not document
 * the encoding, so each plausible shape can be chosen: --cert-format,
 * sim.conf cert_format, POST /sim/config cert_format=.
 */
#include <stdatomic.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "buf.h"
#include "sim.h"

#define CERT_TEXT_MAX (64 * 1024)

static const char *const cert_format_names[SIM_CERT__MAX] = {
	[SIM_CERT_PEM_X509] = "pem-x509",
	[SIM_CERT_PEM_X509_NONL] = "pem-x509-nonl",
	[SIM_CERT_PEM_X509_CRLF] = "pem-x509-crlf",
	[SIM_CERT_BASE64_DER] = "base64-der",
	[SIM_CERT_PEM_PKCS7] = "pem-pkcs7",
	[SIM_CERT_PEM_PKCS7_CHAIN] = "pem-pkcs7-chain",
};

/* The option word of a format. */
const char *
sim_cert_format_name(enum sim_cert_format f)
{
	if ((int)f < 0 || f >= SIM_CERT__MAX)
		return "?";
	return cert_format_names[f];
}

/* Parses a format word; 0 or -1. */
int
sim_cert_format_parse(const char *v, enum sim_cert_format *out)
{
	int i;

	for (i = 0; i < SIM_CERT__MAX; i++)
		if (strcmp(v, cert_format_names[i]) == 0) {
			*out = (enum sim_cert_format)i;
			return 0;
		}
	return -1;
}

/* The format in force now (it may change at run time, without the lock). */
enum sim_cert_format
sim_cert_format_get(const struct sim *s)
{
	return (enum sim_cert_format)atomic_load(&s->cert_format);
}

/* Sets the format in force. */
void
sim_cert_format_set(struct sim *s, enum sim_cert_format f)
{
	atomic_store(&s->cert_format, (int)f);
}

/* Appends the leaf's DER in base64, one line, no line end; 0 or -1. */
static int
cert_base64_der(X509 *leaf, struct buf *out)
{
	unsigned char *der = NULL, *b64 = NULL;
	int n, m, rc = -1;

	if ((n = i2d_X509(leaf, &der)) <= 0)
		return -1;
	if ((b64 = OPENSSL_malloc((size_t)(n + 2) / 3 * 4 + 1)) == NULL)
		goto out;
	m = EVP_EncodeBlock(b64, der, n);
	rc = buf_add(out, b64, (size_t)m);
out:
	OPENSSL_free(b64);
	OPENSSL_free(der);
	return rc;
}

/*
 * Appends a certs-only PKCS#7 PEM with the leaf (and the issuing CA when
 * chain), LF line ends, final newline; 0 or -1.
 */
static int
cert_p7_pem(const struct sim *s, X509 *leaf, bool chain, struct buf *out)
{
	PKCS7 *p7 = NULL;
	BIO *b = NULL;
	char *p;
	long n;
	int rc = -1;

	if ((p7 = PKCS7_new()) == NULL ||
	    PKCS7_set_type(p7, NID_pkcs7_signed) != 1 ||
	    PKCS7_content_new(p7, NID_pkcs7_data) != 1 ||
	    PKCS7_add_certificate(p7, leaf) != 1 ||
	    (chain && PKCS7_add_certificate(p7, s->ca) != 1) ||
	    (b = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PKCS7(b, p7) != 1)
		goto out;
	if ((n = BIO_get_mem_data(b, &p)) > 0)
		rc = buf_add(out, p, (size_t)n);
out:
	BIO_free(b);
	PKCS7_free(p7);
	return rc;
}

/*
 * Appends a certs-only PKCS#7 PEM holding leaf and the issuing CA, with
 * CRLF line ends, as GlobalSign's PKCS7Cert. 0 or -1.
 */
int
sim_pki_p7_pem(const struct sim *s, X509 *leaf, struct buf *out)
{
	struct buf lf;
	int rc;

	buf_init(&lf, CERT_TEXT_MAX);
	rc = cert_p7_pem(s, leaf, true, &lf);
	if (rc == 0)
		rc = sim_pem_crlf((const char *)lf.data, out);
	buf_cleanup(&lf);
	return rc;
}

/* Appends the leaf as the format f writes it; 0 or -1. */
int
sim_cert_text(const struct sim *s, X509 *leaf, enum sim_cert_format f,
    struct buf *out)
{
	struct buf pem;
	int rc = -1;

	buf_init(&pem, CERT_TEXT_MAX);
	switch (f) {
	case SIM_CERT_PEM_X509:
		rc = sim_leaf_pem(leaf, out);
		break;
	case SIM_CERT_PEM_X509_NONL:
		/* Cut the final LF; the buffer stays NUL-terminated. */
		if ((rc = sim_leaf_pem(leaf, out)) == 0 && out->len > 0 &&
		    out->data[out->len - 1] == '\n')
			out->data[--out->len] = '\0';
		break;
	case SIM_CERT_PEM_X509_CRLF:
		if (sim_leaf_pem(leaf, &pem) == 0)
			rc = sim_pem_crlf((const char *)pem.data, out);
		break;
	case SIM_CERT_BASE64_DER:
		rc = cert_base64_der(leaf, out);
		break;
	case SIM_CERT_PEM_PKCS7:
		rc = cert_p7_pem(s, leaf, false, out);
		break;
	default:
		rc = sim_pki_p7_pem(s, leaf, out);
		break;
	}
	buf_cleanup(&pem);
	return rc;
}
