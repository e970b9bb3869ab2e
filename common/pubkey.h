/*
 * Certificates, requests and public keys without OpenSSL 3.0's decoder
 * chains. On 3.0, every d2i of a certificate or PKCS#10 request builds a
 * decoder chain for its public key: ~70 us, more than an RSA-2048
 * signature, and an enrollment met the same device key three times
 * (signer certificate, CSR, issued certificate). These read the structure
 * in a library context that has no decoders (the key stays undecoded),
 * and build RSA and named-curve EC keys from their parameters (~3 us).
 * A pkiMessage's signer certificate is read bare too; OpenSSL's CMS code
 * takes its key only from a certificate, so gw_x509_keyed() makes one.
 */
#ifndef GW_PUBKEY_H
#define GW_PUBKEY_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

X509 *gw_x509_d2i_bare(const unsigned char *der, size_t len);
X509 *gw_x509_full(const X509 *x);
X509 *gw_x509_keyed(const X509 *x);
CMS_ContentInfo *gw_cms_d2i_bare(const unsigned char **p, long len);
X509_REQ *gw_req_d2i_bare(const unsigned char **p, long len);
EVP_PKEY *gw_spki_pkey(const X509_PUBKEY *spki);
bool gw_spki_eq(const X509_PUBKEY *a, const X509_PUBKEY *b);
bool gw_x509_has_key(const X509 *x, const EVP_PKEY *pub);

#endif
