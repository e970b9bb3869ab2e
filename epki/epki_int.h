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

#endif
