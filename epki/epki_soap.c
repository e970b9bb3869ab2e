/*
 * Builds and parses GlobalSign EPKI SOAP 1.1 messages (GasOrderService)
 * on the client side; no network I/O. Requests are text templates with a
 * fixed cr: prefix and unqualified children; responses are read with
 * libxml2, namespace-aware, with no network and no DTD, and matched
 * leniently by local name.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "buf.h"
#include "gw_err.h"
#include "secure.h"
#include "epki.h"
#include "epki_int.h"

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

/* libxml2 must be initialised once before threads use it. */
static void
xml_init(void)
{
	xmlInitParser();
}

/* Whether c goes into XML text as it is. */
static bool
xml_plain(char c)
{
	unsigned char u = (unsigned char)c;

	if (u < 0x20)
		return c == '\t' || c == '\n';
	return c != '&' && c != '<' && c != '>';
}

/*
 * Appends s with &, <, > escaped and CR written as &#xD; so it survives
 * the trip. Returns -1 (buffer may hold a partial value) when s has a
 * control character XML 1.0 cannot carry or the buffer is full.
 */
int
epki_xml_escape(struct buf *out, const char *s)
{
	const char *rep;
	size_t run;
	int rc = 0;

	while (*s != '\0' && rc == 0) {
		/* Bytes that need no escaping go in one piece (PEM, base64). */
		for (run = 0; s[run] != '\0' && xml_plain(s[run]); run++)
			;
		if (run > 0) {
			rc = buf_add(out, s, run);
			s += run;
			continue;
		}
		switch (*s) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '\r':
			rep = "&#xD;";
			break;
		default:
			/* A control character XML 1.0 cannot carry. */
			return -1;
		}
		rc = buf_addstr(out, rep);
		s++;
	}
	return rc;
}

/*
 * Writes the current local time as an xs:dateTime with milliseconds and
 * the UTC offset, "2016-04-14T10:21:33.512+09:00". 0 or -1.
 */
int
epki_timestamp(char *out, size_t n)
{
	struct timespec ts;
	char date[32], zone[8];
	struct tm tm;
	int len;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1 ||
	    localtime_r(&ts.tv_sec, &tm) == NULL)
		return -1;
	if (strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0 ||
	    strftime(zone, sizeof(zone), "%z", &tm) != 5)
		return -1;
	len = snprintf(out, n, "%s.%03ld%.3s:%s", date,
	    (long)(ts.tv_nsec / 1000000), zone, zone + 3);
	return len < 0 || (size_t)len >= n ? -1 : 0;
}

/* Appends <name>escaped value</name>. */
int
epki_soap_elem(struct buf *out, const char *name, const char *value)
{
	if (buf_printf(out, "<%s>", name) == -1 ||
	    epki_xml_escape(out, value) == -1 ||
	    buf_printf(out, "</%s>", name) == -1)
		return -1;
	return 0;
}

/* Opens the envelope and the cr:<op> wrapper, then <Request>. */
int
epki_soap_open(struct buf *out, const char *op)
{
	return buf_printf(out,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	    "<soapenv:Envelope xmlns:soapenv=\"" EPKI_SOAP_NS "\" "
	    "xmlns:cr=\"" EPKI_NS "\"><soapenv:Header/><soapenv:Body>"
	    "<cr:%s><Request>",
	    op);
}

/* Closes what epki_soap_open() opened. */
int
epki_soap_close(struct buf *out, const char *op)
{
	return buf_printf(out,
	    "</Request></cr:%s></soapenv:Body></soapenv:Envelope>", op);
}

/*
 * Appends <header><AuthToken><UserName/><Password/></AuthToken>; out holds
 * the password from here on, so it is flagged secret.
 */
int
epki_soap_auth(struct buf *out, const char *header, const struct epki_auth *a)
{
	buf_set_secret(out);
	if (buf_printf(out, "<%s><AuthToken>", header) == -1 ||
	    epki_soap_elem(out, "UserName", a->user) == -1 ||
	    epki_soap_elem(out, "Password", a->password) == -1 ||
	    buf_printf(out, "</AuthToken></%s>", header) == -1)
		return -1;
	return 0;
}

/* Appends DnAttributes: CommonName, OrganizationUnit*, Email. */
static int
soap_dn(struct buf *out, const struct epki_order *o)
{
	size_t i;

	if (buf_addstr(out, "<DnAttributes>") == -1 ||
	    epki_soap_elem(out, "CommonName", o->cn) == -1)
		return -1;
	for (i = 0; i < o->nous && i < EPKI_MAX_OUS; i++)
		if (epki_soap_elem(out, "OrganizationUnit", o->ous[i]) == -1)
			return -1;
	if (o->email != NULL && o->email[0] != '\0' &&
	    epki_soap_elem(out, "Email", o->email) == -1)
		return -1;
	return buf_addstr(out, "</DnAttributes>");
}

/*
 * Builds an OrderAndIssueCertificate request into out, which
 * the caller initialised; children in schema order. The body holds the
 * password: wipe it when done. -1 with err set on a missing field, a
 * value XML cannot carry, or a full buffer.
 */
int
epki_soap_order_build(const struct epki_auth *auth, const struct epki_order *o,
    struct buf *out, struct gw_err *err)
{
	const char *op = "OrderAndIssueCertificate";
	char year[16];

	if (auth->user == NULL || auth->password == NULL ||
	    o->profile_id == NULL || o->product_code == NULL ||
	    o->csr_pem == NULL || o->cn == NULL || o->nous > EPKI_MAX_OUS) {
		gw_err_set(err, EINVAL, "%s: a required field is missing", op);
		return -1;
	}
	snprintf(year, sizeof(year), "%d", o->years);
	if (epki_soap_open(out, op) == -1 ||
	    epki_soap_auth(out, "OrderRequestHeader", auth) == -1 ||
	    epki_soap_elem(out, "ProfileID", o->profile_id) == -1 ||
	    epki_soap_elem(out, "ProductCode", o->product_code) == -1 ||
	    epki_soap_elem(out, "Year", year) == -1 ||
	    epki_soap_elem(out, "CSR", o->csr_pem) == -1 ||
	    (o->upn != NULL && epki_soap_elem(out, "UPN", o->upn) == -1) ||
	    soap_dn(out, o) == -1 || epki_soap_close(out, op) == -1) {
		gw_err_set(err, EINVAL,
		    "%s: a value has a control character or is too long", op);
		return -1;
	}
	return 0;
}

/*
 * Builds a GetOrderByOrderId request asking for the
 * certificate info, the fulfillment and the PKCS#7 form. Same contract
 * as epki_soap_order_build().
 */
int
epki_soap_get_order_build(const struct epki_auth *auth, const char *order_id,
    struct buf *out, struct gw_err *err)
{
	const char *op = "GetOrderByOrderId";

	if (auth->user == NULL || auth->password == NULL || order_id == NULL) {
		gw_err_set(err, EINVAL, "%s: a required field is missing", op);
		return -1;
	}
	if (epki_soap_open(out, op) == -1 ||
	    epki_soap_auth(out, "QueryRequestHeader", auth) == -1 ||
	    epki_soap_elem(out, "OrderNo", order_id) == -1 ||
	    buf_addstr(out,
		"<OrderQueryOption>"
		"<ReturnCertificateInfo>true</ReturnCertificateInfo>"
		"<ReturnFulfillment>true</ReturnFulfillment>"
		"<ReturnP7>true</ReturnP7>"
		"<ReturnModEvents>false</ReturnModEvents>"
		"</OrderQueryOption>") == -1 ||
	    epki_soap_close(out, op) == -1) {
		gw_err_set(err, EINVAL,
		    "%s: a value has a control character or is too long", op);
		return -1;
	}
	return 0;
}

/*
 * Parses body as XML without network access or a DTD; NULL
 * with err set when it is not well-formed. Free with xmlFreeDoc().
 */
/* libxml2's error sink for our threads: say nothing, we report via err. */
static void
xml_silent(void *ctx, const char *fmt, ...)
{
	(void)ctx;
	(void)fmt;
}

xmlDocPtr
epki_xml_read(const uint8_t *body, size_t len, struct gw_err *err)
{
	xmlDocPtr doc;

	pthread_once(&xml_once, xml_init);
	/*
	 * Some encoding errors reach libxml2's generic handler (stderr)
	 * despite XML_PARSE_NOERROR; the handler is per thread, so set it
	 * for whichever thread parses.
	 */
	xmlSetGenericErrorFunc(NULL, xml_silent);
	if (body == NULL || len == 0 || len > INT_MAX) {
		gw_err_set(err, EINVAL, "empty or oversized body");
		return NULL;
	}
	doc = xmlReadMemory((const char *)body, (int)len, "epki.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL) {
		gw_err_set(err, EINVAL, "not well-formed XML");
		return NULL;
	}
	if (doc->intSubset != NULL || doc->extSubset != NULL) {
		gw_err_set(err, EINVAL, "a DTD is not allowed");
		xmlFreeDoc(doc);
		return NULL;
	}
	return doc;
}

/* The first element child of parent, or NULL. */
xmlNodePtr
epki_xml_first_elem(xmlNodePtr parent)
{
	xmlNodePtr n;

	for (n = parent == NULL ? NULL : parent->children; n != NULL;
	     n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			return n;
	return NULL;
}

/* True if n is the element {ns}name (ns NULL: no namespace). */
bool
epki_xml_is(xmlNodePtr n, const char *ns, const char *name)
{
	const char *nns;

	if (n == NULL || n->type != XML_ELEMENT_NODE ||
	    strcmp((const char *)n->name, name) != 0)
		return false;
	nns = n->ns == NULL ? NULL : (const char *)n->ns->href;
	if (ns == NULL || nns == NULL)
		return ns == nns;
	return strcmp(ns, nns) == 0;
}

/*
 * The first child element called name. strict: unqualified and exact
 * case, as the schema says; otherwise any namespace and any case.
 */
xmlNodePtr
epki_xml_child(xmlNodePtr parent, const char *name, bool strict)
{
	xmlNodePtr n;

	for (n = parent == NULL ? NULL : parent->children; n != NULL;
	     n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (strict ? epki_xml_is(n, NULL, name) :
			     strcasecmp((const char *)n->name, name) == 0)
			return n;
	}
	return NULL;
}

/*
 * The text of n as a malloc'd string (free()), or NULL when n is absent,
 * empty or xsi:nil (the three mean the same).
 */
char *
epki_xml_text(xmlNodePtr n)
{
	xmlChar *nil, *c;
	char *s = NULL;

	if (n == NULL)
		return NULL;
	nil = xmlGetNsProp(n, (const xmlChar *)"nil",
	    (const xmlChar *)EPKI_XSI_NS);
	if (nil != NULL &&
	    (strcmp((const char *)nil, "true") == 0 ||
		strcmp((const char *)nil, "1") == 0)) {
		xmlFree(nil);
		return NULL;
	}
	xmlFree(nil);
	if ((c = xmlNodeGetContent(n)) == NULL)
		return NULL;
	if (c[0] != '\0')
		s = gw_strdup((const char *)c);
	xmlFree(c);
	return s;
}

/* Copies the text of n (or "") into dst of size n bytes. */
void
epki_xml_copy(xmlNodePtr node, char *dst, size_t n)
{
	char *s = epki_xml_text(node);

	snprintf(dst, n, "%s", s == NULL ? "" : s);
	free(s);
}

/* Parses a whole decimal integer, sign allowed, surrounding blanks too. */
int
epki_parse_int(const char *s, int *out)
{
	char *end;
	long v;

	if (s == NULL)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
		end++;
	if (errno != 0 || end == s || *end != '\0' || v < INT_MIN ||
	    v > INT_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

/* Marks r a transport failure with a printf-style detail. */
static void resp_transport(struct epki_resp *r, struct gw_err *err,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
resp_transport(struct epki_resp *r, struct gw_err *err, const char *fmt, ...)
{
	va_list ap;

	r->cls = EPKI_TRANSPORT;
	va_start(ap, fmt);
	vsnprintf(r->fault, sizeof(r->fault), fmt, ap);
	va_end(ap);
	gw_err_set(err, EINVAL, "%s", r->fault);
}

/* Reads SuccessCode and every Errors/Error of the response header. */
static int
resp_header(xmlNodePtr hdr, struct epki_resp *r)
{
	struct epki_error *e;
	xmlNodePtr n;
	char *s;
	int rc;

	s = epki_xml_text(epki_xml_child(hdr, "SuccessCode", false));
	rc = epki_parse_int(s, &r->success_code);
	free(s);
	if (rc == -1)
		return -1;
	n = epki_xml_child(hdr, "Errors", false);
	for (n = n == NULL ? NULL : n->children; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE ||
		    strcasecmp((const char *)n->name, "Error") != 0 ||
		    r->nerrors == EPKI_MAX_ERRORS)
			continue;
		e = &r->errors[r->nerrors++];
		s = epki_xml_text(epki_xml_child(n, "ErrorCode", false));
		if (epki_parse_int(s, &e->code) == -1)
			e->code = 0;
		free(s);
		epki_xml_copy(epki_xml_child(n, "ErrorField", false), e->field,
		    sizeof(e->field));
		epki_xml_copy(epki_xml_child(n, "ErrorMessage", false),
		    e->message, sizeof(e->message));
	}
	return 0;
}

/*
 * Decodes the certificates of the first of the named children of parent
 * that has text and reads as certificates: a PKCS7Cert that is blank or
 * unreadable gives way to the Certificate beside it. 0 (*certs NULL when
 * no child has text), or -1 with err set when none of them decodes.
 */
int
epki_xml_certs(xmlNodePtr parent, const char *const *names,
    STACK_OF(X509) **certs, struct gw_err *err)
{
	bool seen = false;
	char *s;
	int rc;

	*certs = NULL;
	for (; *names != NULL; names++) {
		if ((s = epki_xml_text(
			 epki_xml_child(parent, *names, false))) == NULL)
			continue;
		seen = true;
		rc = epki_cert_decode(s, certs, err);
		free(s);
		if (rc == 0)
			return 0;
	}
	return seen ? -1 : 0;
}

/* The first of the named children that has text, or NULL (free()). */
static char *
first_text(xmlNodePtr parent, const char *const *names)
{
	char *s = NULL;

	for (; *names != NULL && s == NULL; names++)
		s = epki_xml_text(epki_xml_child(parent, *names, false));
	return s;
}

/* Reads OrderID/OrderNo, OrderStatus and the certificate text. */
static int
resp_payload(xmlNodePtr resp, struct epki_resp *r, struct gw_err *err)
{
	static const char *const ids[] = { "OrderID", "OrderNo", NULL };
	static const char *const direct[] = { "CERT", "Certificate", NULL };
	static const char *const ful[] = { "PKCS7Cert", "Certificate", NULL };
	static const char *const st[] = { "OrderStatus", NULL };
	xmlNodePtr info, crt;
	char *s;
	int rc = 0;

	info = epki_xml_child(epki_xml_child(resp, "OrderDetail", false),
	    "OrderInfo", false);
	if ((s = first_text(resp, ids)) == NULL)
		s = first_text(info, ids);
	snprintf(r->order_id, sizeof(r->order_id), "%s", s ? s : "");
	free(s);
	if ((s = first_text(info, st)) == NULL)
		s = first_text(resp, st);
	snprintf(r->order_status, sizeof(r->order_status), "%s", s ? s : "");
	free(s);
	crt = epki_xml_child(epki_xml_child(epki_xml_child(resp, "OrderDetail",
						false),
				 "Fulfillment", false),
	    "CrCertificate", false);
	/* CERT (the order) or Fulfillment (GetOrderByOrderId), whichever
	 * is present; PKCS7Cert first, as it may carry the issuing CA. */
	rc = epki_xml_certs(resp, direct, &r->certs, err);
	if (rc == 0 && r->certs == NULL)
		rc = epki_xml_certs(crt, ful, &r->certs, err);
	return rc;
}

/* The class of a parsed result: the first classed error. */
static enum epki_class
resp_classify(const struct epki_resp *r)
{
	enum epki_class c;
	size_t i;

	if (r->success_code == 0)
		return EPKI_OK;
	if (r->success_code == 1)
		return EPKI_WARNING;
	for (i = 0; i < r->nerrors; i++) {
		c = epki_code_class(r->errors[i].code);
		if (c != EPKI_FAILURE && c != EPKI_WARNING)
			return c;
	}
	return EPKI_FAILURE;
}

/* Copies up to 80 printable characters of a non-SOAP body. */
static void
body_snippet(const uint8_t *body, size_t len, char *out, size_t n)
{
	size_t i, j = 0;

	for (i = 0; i < len && j + 1 < n && j < 80; i++)
		out[j++] =
		    body[i] >= 0x20 && body[i] < 0x7f ? (char)body[i] : ' ';
	out[j] = '\0';
}

/* Fills r from a SOAP Fault element. */
static void
resp_fault(xmlNodePtr fault, long status, struct epki_resp *r,
    struct gw_err *err)
{
	char *code, *str, http[32];

	code = epki_xml_text(epki_xml_child(fault, "faultcode", false));
	str = epki_xml_text(epki_xml_child(fault, "faultstring", false));
	snprintf(http, sizeof(http), "HTTP %ld SOAP Fault ", status);
	r->cls = EPKI_TRANSPORT;
	snprintf(r->fault, sizeof(r->fault), "%s%s: %s", http,
	    code ? code : "?", str ? str : "");
	gw_err_set(err, EINVAL, "%s", r->fault);
	free(code);
	free(str);
}

/* Parses the Body's operation wrapper; 0 or -1 (transport). */
static int
resp_wrapper(xmlNodePtr w, const char *op, struct epki_resp *r,
    struct gw_err *err)
{
	char want[96];
	xmlNodePtr resp, hdr;

	snprintf(want, sizeof(want), "%sResponse", op);
	if (!epki_xml_is(w, EPKI_NS, want)) {
		resp_transport(r, err, "unexpected wrapper element %s, not %s",
		    w == NULL ? "(none)" : (const char *)w->name, want);
		return -1;
	}
	resp = epki_xml_child(w, "Response", false);
	/* Revoke says orderResponseHeader (GlobalSign's WSDL); any case. */
	if ((hdr = epki_xml_child(resp, "OrderResponseHeader", false)) == NULL)
		hdr = epki_xml_child(resp, "QueryResponseHeader", false);
	if (hdr == NULL || resp_header(hdr, r) == -1) {
		resp_transport(r, err, "%s: %s", want,
		    "no response header with a SuccessCode");
		return -1;
	}
	r->cls = resp_classify(r);
	if (resp_payload(resp, r, err) == -1 ||
	    epki_query_payload(op, resp, r) == -1) {
		/* A certificate we cannot read is no usable answer. */
		r->cls = EPKI_TRANSPORT;
		snprintf(r->fault, sizeof(r->fault), "%s", err ? err->msg : "");
		return -1;
	}
	return 0;
}

/*
 * Parses the response to operation op ("OrderAndIssueCertificate") into
 * out, which is initialised here; release it with epki_resp_cleanup()
 * either way. Returns 0 for a SOAP answer of op, success or business
 * error alike (see out->cls); -1 when there is no usable answer (not XML,
 * a SOAP Fault, the wrong wrapper, an unreadable certificate): then
 * out->cls is EPKI_TRANSPORT and out->fault and err say why.
 */
int
epki_soap_parse(const char *op, long http_status, const uint8_t *body,
    size_t len, struct epki_resp *out, struct gw_err *err)
{
	char snip[96], http[32];
	xmlNodePtr env, bdy, first;
	xmlDocPtr doc;
	int rc = -1;

	epki_resp_init(out);
	out->http_status = http_status;
	snprintf(http, sizeof(http), "HTTP %ld", http_status);
	if ((doc = epki_xml_read(body, len, NULL)) == NULL) {
		body_snippet(body, body == NULL ? 0 : len, snip, sizeof(snip));
		resp_transport(out, err, "%s, not a SOAP answer: %s", http,
		    snip);
		return -1;
	}
	env = xmlDocGetRootElement(doc);
	bdy = epki_xml_is(env, EPKI_SOAP_NS, "Envelope") ?
	    epki_xml_child(env, "Body", false) :
	    NULL;
	first = epki_xml_first_elem(bdy);
	if (bdy == NULL || first == NULL) {
		resp_transport(out, err, "%s, %s", http,
		    "XML without a SOAP 1.1 Envelope/Body");
		goto out;
	}
	if (epki_xml_is(first, EPKI_SOAP_NS, "Fault")) {
		resp_fault(first, http_status, out, err);
		goto out;
	}
	rc = resp_wrapper(first, op, out, err);
out:
	xmlFreeDoc(doc);
	return rc;
}

/* Prepares an empty result: no success code, class EPKI_TRANSPORT. */
void
epki_resp_init(struct epki_resp *r)
{
	memset(r, 0, sizeof(*r));
	r->cls = EPKI_TRANSPORT;
	r->success_code = -2;
	r->certs = NULL;
	r->total_count = -1;
	r->found = NULL;
	r->profiles = NULL;
}

/* Frees what r holds and leaves it as epki_resp_init() does; NULL-safe. */
void
epki_resp_cleanup(struct epki_resp *r)
{
	if (r == NULL)
		return;
	sk_X509_pop_free(r->certs, X509_free);
	epki_query_cleanup(r);
	epki_resp_init(r);
}
