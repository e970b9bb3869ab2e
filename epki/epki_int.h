/*
 * Private to epki/: helpers that epki_soap.c, epki_soap_srv.c and
 * epki_cert.c share. Not part of the module's interface.
 */
#ifndef GW_EPKI_INT_H
#define GW_EPKI_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>
#include <openssl/x509.h>

struct gw_err;

#define EPKI_SOAP_NS "http://schemas.xmlsoap.org/soap/envelope/"
#define EPKI_XSI_NS "http://www.w3.org/2001/XMLSchema-instance"
#define EPKI_CERT_MAX (1024 * 1024)

/* CERT text (PEM PKCS7/CERTIFICATE or bare base64) to certificates. */
int epki_cert_decode(const char *text, STACK_OF(X509) **out,
    struct gw_err *err);

/* libxml2 helpers (epki_soap.c). */
xmlDocPtr epki_xml_read(const uint8_t *body, size_t len, struct gw_err *err);
xmlNodePtr epki_xml_first_elem(xmlNodePtr parent);
xmlNodePtr epki_xml_child(xmlNodePtr parent, const char *name, bool strict);
bool epki_xml_is(xmlNodePtr n, const char *ns, const char *name);
char *epki_xml_text(xmlNodePtr n);
int epki_xml_certs(xmlNodePtr parent, const char *const *names,
    STACK_OF(X509) **certs, struct gw_err *err);

/* Request building and response reading shared by the epki_*.c files. */
struct buf;
struct epki_auth;
struct epki_resp;
int epki_soap_elem(struct buf *out, const char *name, const char *value);
int epki_soap_open(struct buf *out, const char *op);
int epki_soap_close(struct buf *out, const char *op);
int epki_soap_auth(struct buf *out, const char *header,
    const struct epki_auth *a);
void epki_xml_copy(xmlNodePtr node, char *dst, size_t n);
int epki_parse_int(const char *s, int *out);

/* GetOrders and GetProfiles payloads (epki_query.c). */
int epki_query_payload(const char *op, xmlNodePtr resp, struct epki_resp *r);
void epki_query_cleanup(struct epki_resp *r);

#endif
