/*
 * The server side of the EPKI schema, for epki-sim: parses incoming
 * OrderAndIssueCertificate, GetOrderByOrderId, GetOrders, Revoke and
 * GetProfiles requests and builds responses the way GlobalSign's Apache
 * CXF stack writes them: one line, soap:/ns2:
 * prefixes, ns2 declared on the wrapper, <Errors/> on success, xsi:nil
 * placeholders on failure.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/tree.h>

#include "buf.h"
#include "gw_err.h"
#include "secure.h"
#include "epki.h"
#include "epki_int.h"

static const char *const op_names[EPKI_OP__MAX] = {
	[EPKI_OP_UNKNOWN] = "",
	[EPKI_OP_ORDER] = "OrderAndIssueCertificate",
	[EPKI_OP_GET_ORDER] = "GetOrderByOrderId",
	[EPKI_OP_GET_ORDERS] = "GetOrders",
	[EPKI_OP_REVOKE] = "Revoke",
	[EPKI_OP_GET_PROFILES] = "GetProfiles",
};

/* The wrapper element name of an operation, "" for EPKI_OP_UNKNOWN. */
const char *
epki_op_name(enum epki_op op)
{
	if ((int)op < 0 || op >= EPKI_OP__MAX)
		return "";
	return op_names[op];
}

/*
 * The child element name of parent: unqualified and exact case, as the
 * schema says and JAXB binds, or with r->lenient any namespace and case
 * (a server binding by local name, which the public evidence cannot rule
 * out: epki-sim's lenient_ns).
 */
static xmlNodePtr
kid(const struct epki_req *r, xmlNodePtr parent, const char *name)
{
	return epki_xml_child(parent, name, !r->lenient);
}

/*
 * The text of the unqualified child name of parent, owned by r, or NULL.
 * The simulator is strict where JAXB is: a qualified child is unknown.
 */
static const char *
req_text(struct epki_req *r, xmlNodePtr parent, const char *name)
{
	char *s;

	if (r->nowned == sizeof(r->owned) / sizeof(r->owned[0]))
		return NULL;
	if ((s = epki_xml_text(kid(r, parent, name))) == NULL)
		return NULL;
	r->owned[r->nowned++] = s;
	return s;
}

/* Reads AuthToken/{UserName,Password} of the named header. */
static void
req_auth(struct epki_req *r, xmlNodePtr req, const char *header)
{
	xmlNodePtr tok;

	tok = kid(r, kid(r, req, header), "AuthToken");
	r->user = epki_xml_text(kid(r, tok, "UserName"));
	r->password = epki_xml_text(kid(r, tok, "Password"));
}

/* Reads a whole decimal int; -1 if s is not one (xs:int). */
static int
req_int(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < INT_MIN ||
	    v > INT_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

/* Reads an OrderAndIssueCertificate Request. */
static int
req_order(struct epki_req *r, xmlNodePtr req, struct gw_err *err)
{
	struct epki_order *o = &r->order;
	const char *year;
	xmlNodePtr dn, n;

	req_auth(r, req, "OrderRequestHeader");
	o->profile_id = req_text(r, req, "ProfileID");
	o->product_code = req_text(r, req, "ProductCode");
	o->csr_pem = req_text(r, req, "CSR");
	if ((year = req_text(r, req, "Year")) != NULL) {
		if (req_int(year, &o->years) == -1) {
			gw_err_set(err, EINVAL,
			    "Unmarshalling Error: Not a number: %.64s", year);
			return -1;
		}
		r->has_year = true;
	}
	o->upn = req_text(r, req, "UPN");
	dn = kid(r, req, "DnAttributes");
	o->cn = req_text(r, dn, "CommonName");
	o->email = req_text(r, dn, "Email");
	for (n = dn == NULL ? NULL : dn->children; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE ||
		    (r->lenient ? strcasecmp((const char *)n->name,
				      "OrganizationUnit") != 0 :
				  !epki_xml_is(n, NULL, "OrganizationUnit")) ||
		    o->nous == EPKI_MAX_OUS ||
		    r->nowned == sizeof(r->owned) / sizeof(r->owned[0]))
			continue;
		if ((r->owned[r->nowned] = epki_xml_text(n)) == NULL)
			continue;
		o->ous[o->nous++] = r->owned[r->nowned++];
	}
	return 0;
}

/* True if the option child of opt says "true". */
static bool
req_flag(const struct epki_req *r, xmlNodePtr opt, const char *name)
{
	char *s = epki_xml_text(kid(r, opt, name));
	bool on = s != NULL && strcmp(s, "true") == 0;

	free(s);
	return on;
}

/* Reads a GetOrderByOrderId Request. */
static void
req_get_order(struct epki_req *r, xmlNodePtr req)
{
	xmlNodePtr opt;

	req_auth(r, req, "QueryRequestHeader");
	r->order_no = epki_xml_text(kid(r, req, "OrderNo"));
	opt = kid(r, req, "OrderQueryOption");
	r->want_cert_info = req_flag(r, opt, "ReturnCertificateInfo");
	r->want_fulfillment = req_flag(r, opt, "ReturnFulfillment");
	r->want_p7 = req_flag(r, opt, "ReturnP7");
}

/* Reads a GetOrders Request. */
static void
req_get_orders(struct epki_req *r, xmlNodePtr req)
{
	struct epki_order_query *q = &r->query;
	xmlNodePtr p, opt;

	req_auth(r, req, "QueryRequestHeader");
	p = kid(r, req, "OrderQueryParam");
	q->product_code = req_text(r, p, "ProductCode");
	q->profile_id = req_text(r, p, "ProfileOrderNo");
	q->license_no = req_text(r, p, "LicenseOrderNo");
	q->order_state = req_text(r, p, "OrderState");
	q->cert_state = req_text(r, p, "CertState");
	q->request_from = req_text(r, p, "RequestDateFrom");
	q->request_to = req_text(r, p, "RequestDateTo");
	q->issue_from = req_text(r, p, "IssueDateFrom");
	q->issue_to = req_text(r, p, "IssueDateTo");
	q->cn = req_text(r, p, "CommonName");
	opt = kid(r, req, "OrdersQueryOption");
	q->want_cert_info = req_flag(r, opt, "ReturnCertificateInfo");
	q->want_fulfillment = req_flag(r, opt, "ReturnFulfillment");
}

/* Reads a Revoke or GetProfiles Request. */
static void
req_revoke_profiles(struct epki_req *r, xmlNodePtr req)
{
	xmlNodePtr p;

	if (r->op == EPKI_OP_REVOKE) {
		req_auth(r, req, "OrderRequestHeader");
		r->order_no = epki_xml_text(kid(r, req, "OrderID"));
		return;
	}
	req_auth(r, req, "QueryRequestHeader");
	p = kid(r, req, "ProfileQueryParam");
	r->order_no = epki_xml_text(kid(r, p, "ProfileOrderNo"));
}

/* Picks the operation from the Body's first element. */
static void
req_dispatch(struct epki_req *r, xmlNodePtr w)
{
	int op;

	snprintf(r->wrapper, sizeof(r->wrapper), "{%s}%s",
	    w->ns == NULL ? "" : (const char *)w->ns->href,
	    (const char *)w->name);
	for (op = EPKI_OP_ORDER; op < EPKI_OP__MAX; op++)
		if (epki_xml_is(w, EPKI_NS, op_names[op]) ||
		    (r->lenient &&
			strcmp((const char *)w->name, op_names[op]) == 0))
			r->op = (enum epki_op)op;
}

/*
 * Parses an incoming SOAP request into out (initialised here; release
 * with epki_req_cleanup() either way). An unknown wrapper parses as
 * EPKI_OP_UNKNOWN with out->wrapper set. -1 with err->msg suitable for a
 * soap:Client Fault ("Unmarshalling Error: ...") when the body is not a
 * SOAP 1.1 envelope or a value does not fit its schema type.
 */
int
epki_soap_req_parse(const uint8_t *body, size_t len, struct epki_req *out,
    struct gw_err *err)
{
	return epki_soap_req_parse_ns(body, len, false, out, err);
}

/*
 * epki_soap_req_parse(), with lenient: the wrapper matched by its local
 * name in any namespace, and children bound by local name in any
 * namespace and case.
 */
int
epki_soap_req_parse_ns(const uint8_t *body, size_t len, bool lenient,
    struct epki_req *out, struct gw_err *err)
{
	xmlNodePtr env, bdy, w, req;
	struct gw_err xerr;
	xmlDocPtr doc;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->lenient = lenient;
	if ((doc = epki_xml_read(body, len, &xerr)) == NULL) {
		gw_err_set(err, EINVAL, "Unmarshalling Error: %s", xerr.msg);
		return -1;
	}
	env = xmlDocGetRootElement(doc);
	bdy = epki_xml_is(env, EPKI_SOAP_NS, "Envelope") ?
	    epki_xml_child(env, "Body", false) :
	    NULL;
	if ((w = epki_xml_first_elem(bdy)) == NULL) {
		gw_err_set(err, EINVAL,
		    "Unmarshalling Error: no SOAP 1.1 Envelope/Body");
		goto out;
	}
	req_dispatch(out, w);
	req = kid(out, w, "Request");
	rc = 0;
	if (out->op == EPKI_OP_ORDER)
		rc = req_order(out, req, err);
	else if (out->op == EPKI_OP_GET_ORDER)
		req_get_order(out, req);
	else if (out->op == EPKI_OP_GET_ORDERS)
		req_get_orders(out, req);
	else if (out->op != EPKI_OP_UNKNOWN)
		req_revoke_profiles(out, req);
out:
	xmlFreeDoc(doc);
	return rc;
}

/* Frees what r owns, wiping the password; NULL-safe. */
void
epki_req_cleanup(struct epki_req *r)
{
	size_t i;

	if (r == NULL)
		return;
	free(r->user);
	gw_secret_free(r->password);
	free(r->order_no);
	for (i = 0; i < r->nowned; i++)
		free(r->owned[i]);
	memset(r, 0, sizeof(*r));
}

/* Appends <name>value</name>, or the xsi:nil form when value is NULL. */
static int
rep_elem(struct buf *out, const char *name, const char *value)
{
	if (value == NULL)
		return buf_printf(out,
		    "<%s xmlns:xsi=\"" EPKI_XSI_NS "\" xsi:nil=\"true\"/>",
		    name);
	if (buf_printf(out, "<%s>", name) == -1 ||
	    epki_xml_escape(out, value) == -1 ||
	    buf_printf(out, "</%s>", name) == -1)
		return -1;
	return 0;
}

/* Appends <name>value</name>, with "" for a NULL value. */
static int
rep_text(struct buf *out, const char *name, const char *value)
{
	return rep_elem(out, name, value == NULL ? "" : value);
}

/* Appends the response header: SuccessCode, Errors, Timestamp. */
static int
rep_header(struct buf *out, const char *name, const struct epki_reply *r)
{
	const struct epki_error *e;
	char ts[48];
	size_t i;

	if (epki_timestamp(ts, sizeof(ts)) == -1 ||
	    buf_printf(out, "<%s><SuccessCode>%d</SuccessCode>", name,
		r->success_code) == -1)
		return -1;
	if (r->nerrors == 0 && buf_addstr(out, "<Errors/>") == -1)
		return -1;
	if (r->nerrors > 0 && buf_addstr(out, "<Errors>") == -1)
		return -1;
	for (i = 0; i < r->nerrors; i++) {
		e = &r->errors[i];
		if (buf_printf(out, "<Error><ErrorCode>%d</ErrorCode>",
			e->code) == -1 ||
		    (e->field[0] != '\0' &&
			rep_elem(out, "ErrorField", e->field) == -1) ||
		    rep_elem(out, "ErrorMessage", e->message) == -1 ||
		    buf_addstr(out, "</Error>") == -1)
			return -1;
	}
	if (r->nerrors > 0 && buf_addstr(out, "</Errors>") == -1)
		return -1;
	return buf_printf(out, "<Timestamp>%s</Timestamp></%s>", ts, name);
}

/* Appends OrderDetail/OrderInfo. */
static int
rep_order_info(struct buf *out, const struct epki_reply *r,
    const struct epki_order_info *i)
{
	if (buf_addstr(out, "<OrderInfo>") == -1 ||
	    rep_text(out, "OrderNo",
		i->order_id != NULL ? i->order_id : r->order_id) == -1 ||
	    rep_text(out, "OrderStatus", i->order_status) == -1 ||
	    rep_text(out, "ProductCode", i->product_code) == -1 ||
	    rep_text(out, "ProfileNo", i->profile_id) == -1 ||
	    rep_text(out, "LicenseNo", i->license_no) == -1 ||
	    rep_text(out, "RequestDate", i->request_date) == -1 ||
	    rep_text(out, "OrderDate", i->request_date) == -1 ||
	    rep_text(out, "IssueDate", i->issue_date) == -1 ||
	    (i->revoke_date != NULL &&
		rep_text(out, "RevokeDate", i->revoke_date) == -1) ||
	    buf_addstr(out, "<ValidityPeriod>") == -1 ||
	    rep_text(out, "NotBefore", i->not_before) == -1 ||
	    rep_text(out, "NotAfter", i->not_after) == -1)
		return -1;
	return buf_addstr(out, "</ValidityPeriod></OrderInfo>");
}

/* Appends CrCertificateInfo and Fulfillment as the options ask. */
static int
rep_cert_parts(struct buf *out, const struct epki_reply *r,
    const struct epki_order_info *i)
{
	if (r->want_cert_info &&
	    (buf_addstr(out, "<CrCertificateInfo>") == -1 ||
		rep_text(out, "CertificateStatus", i->cert_status) == -1 ||
		rep_text(out, "SerialNumber", i->serial) == -1 ||
		rep_text(out, "StartDate", i->not_before) == -1 ||
		rep_text(out, "EndDate", i->not_after) == -1 ||
		(i->email != NULL && rep_text(out, "Email", i->email) == -1) ||
		rep_text(out, "CommonName", i->cn) == -1 ||
		buf_addstr(out, "</CrCertificateInfo>") == -1))
		return -1;
	if (!r->want_fulfillment || i->certificate == NULL)
		return 0;
	if (buf_addstr(out, "<Fulfillment><CrCertificate>") == -1 ||
	    rep_text(out, "Certificate", i->certificate) == -1 ||
	    (r->want_p7 && i->pkcs7 != NULL &&
		rep_text(out, "PKCS7Cert", i->pkcs7) == -1))
		return -1;
	return buf_addstr(out, "</CrCertificate></Fulfillment>");
}

/* Appends the payload of a GetOrderByOrderId response. */
static int
rep_get_order(struct buf *out, const struct epki_reply *r)
{
	if (r->info == NULL)
		return rep_elem(out, "OrderNo", NULL) == -1 ||
			rep_elem(out, "OrderDetail", NULL) == -1 ?
		    -1 :
		    0;
	if (rep_text(out, "OrderNo", r->order_id) == -1 ||
	    buf_addstr(out, "<OrderDetail>") == -1 ||
	    rep_order_info(out, r, r->info) == -1 ||
	    rep_cert_parts(out, r, r->info) == -1)
		return -1;
	return buf_addstr(out, "</OrderDetail>");
}

/* Appends TotalCount and OrderDetails of a GetOrders response. */
static int
rep_get_orders(struct buf *out, const struct epki_reply *r)
{
	size_t i;

	if (r->success_code < 0)
		return rep_elem(out, "TotalCount", NULL) == -1 ||
			rep_elem(out, "OrderDetails", NULL) == -1 ?
		    -1 :
		    0;
	if (buf_printf(out, "<TotalCount>%zu</TotalCount>", r->ninfos) == -1)
		return -1;
	if (r->ninfos == 0)
		return buf_addstr(out, "<OrderDetails/>");
	if (buf_addstr(out, "<OrderDetails>") == -1)
		return -1;
	for (i = 0; i < r->ninfos; i++)
		if (buf_addstr(out, "<OrderDetail>") == -1 ||
		    rep_order_info(out, r, &r->infos[i]) == -1 ||
		    rep_cert_parts(out, r, &r->infos[i]) == -1 ||
		    buf_addstr(out, "</OrderDetail>") == -1)
			return -1;
	return buf_addstr(out, "</OrderDetails>");
}

/* Appends OrganizationUnits with each of the profile's OUs. */
static int
rep_profile_ous(struct buf *out, const struct epki_profile_rec *p)
{
	size_t i;

	if (buf_addstr(out, "<OrganizationUnits>") == -1)
		return -1;
	for (i = 0; i < p->nous; i++)
		if (rep_text(out, "OrganizationUnit", p->ous[i]) == -1)
			return -1;
	return buf_addstr(out, "</OrganizationUnits>");
}

/* Appends one ProfileDetail. */
static int
rep_profile(struct buf *out, const struct epki_profile_rec *p)
{
	if (buf_addstr(out, "<ProfileDetail><ProfileInfo>") == -1 ||
	    rep_text(out, "ProfileOrderNo", p->profile_id) == -1 ||
	    rep_text(out, "ProfileOrderState", p->state_code) == -1 ||
	    rep_text(out, "RequestDate", p->request_date) == -1 ||
	    rep_text(out, "OrderDate", p->request_date) == -1 ||
	    rep_elem(out, "IssueDate", p->issue_date) == -1 ||
	    rep_elem(out, "SuspendDate", p->suspend_date) == -1 ||
	    buf_addstr(out, "<ValidityPeriod>") == -1 ||
	    rep_text(out, "NotBefore", p->not_before) == -1 ||
	    rep_text(out, "NotAfter", p->not_after) == -1 ||
	    buf_addstr(out,
		"</ValidityPeriod></ProfileInfo><ProfileDnAttributes>") == -1 ||
	    rep_text(out, "CommonName", p->cn) == -1 ||
	    rep_text(out, "Organization", p->org) == -1 ||
	    rep_profile_ous(out, p) == -1 ||
	    rep_text(out, "StateOrProvince", p->st) == -1 ||
	    rep_text(out, "Locality", p->locality) == -1 ||
	    rep_text(out, "Country", p->country) == -1 ||
	    buf_printf(out,
		"</ProfileDnAttributes><ProfileAttributes>"
		"<HashType>SHA256</HashType><EFSOption>false</EFSOption>"
		"<UPN>%s</UPN>",
		p->upn ? "true" : "false") == -1)
		return -1;
	return buf_addstr(out,
	    "<RenewalType>0</RenewalType>"
	    "<NonExportable>false</NonExportable>"
	    "<NonRepudiation>false</NonRepudiation>"
	    "<OCSPOption>false</OCSPOption>"
	    "</ProfileAttributes></ProfileDetail>");
}

/* Appends TotalCount and ProfileDetails of a GetProfiles response. */
static int
rep_get_profiles(struct buf *out, const struct epki_reply *r)
{
	size_t i;

	if (r->success_code < 0)
		return rep_elem(out, "TotalCount", NULL) == -1 ||
			rep_elem(out, "ProfileDetails", NULL) == -1 ?
		    -1 :
		    0;
	if (buf_printf(out, "<TotalCount>%zu</TotalCount>", r->nprofiles) == -1)
		return -1;
	if (r->nprofiles == 0)
		return buf_addstr(out, "<ProfileDetails/>");
	if (buf_addstr(out, "<ProfileDetails>") == -1)
		return -1;
	for (i = 0; i < r->nprofiles; i++)
		if (rep_profile(out, &r->profiles[i]) == -1)
			return -1;
	return buf_addstr(out, "</ProfileDetails>");
}

/* Appends the header and payload of r->op's Response. */
static int
rep_body(struct buf *out, const struct epki_reply *r)
{
	switch (r->op) {
	case EPKI_OP_ORDER:
		return rep_header(out, "OrderResponseHeader", r) == -1 ||
			rep_elem(out, "OrderID", r->order_id) == -1 ||
			rep_elem(out, "CERT", r->cert) == -1 ?
		    -1 :
		    0;
	case EPKI_OP_REVOKE:
		/* GlobalSign's lower-case quirk, reproduced on purpose. */
		return rep_header(out, "orderResponseHeader", r) == -1 ||
			rep_elem(out, "orderNo", r->order_id) == -1 ?
		    -1 :
		    0;
	case EPKI_OP_GET_ORDERS:
		return rep_header(out, "QueryResponseHeader", r) == -1 ||
			rep_get_orders(out, r) == -1 ?
		    -1 :
		    0;
	case EPKI_OP_GET_PROFILES:
		return rep_header(out, "QueryResponseHeader", r) == -1 ||
			rep_get_profiles(out, r) == -1 ?
		    -1 :
		    0;
	default:
		return rep_header(out, "QueryResponseHeader", r) == -1 ||
			rep_get_order(out, r) == -1 ?
		    -1 :
		    0;
	}
}

/*
 * Builds a response to r->op into out (initialised by the caller), on
 * one line, as CXF writes it. -1 with err set on a full buffer or an
 * unknown operation.
 */
int
epki_soap_reply_build(const struct epki_reply *r, struct buf *out,
    struct gw_err *err)
{
	const char *op = epki_op_name(r->op);
	int rc;

	if (op[0] == '\0') {
		gw_err_set(err, EINVAL, "no reply for an unknown operation");
		return -1;
	}
	rc = buf_printf(out,
	    "<soap:Envelope xmlns:soap=\"" EPKI_SOAP_NS "\"><soap:Body>"
	    "<ns2:%sResponse xmlns:ns2=\"" EPKI_NS "\"><Response>",
	    op);
	if (rc == 0)
		rc = rep_body(out, r);
	if (rc == 0)
		rc = buf_printf(out,
		    "</Response></ns2:%sResponse></soap:Body></soap:Envelope>",
		    op);
	if (rc == -1)
		gw_err_set(err, ENOMEM, "%sResponse: cannot build", op);
	return rc;
}

/*
 * Builds a SOAP 1.1 Fault (code "soap:Client" or "soap:Server") into out
 * (initialised by the caller). 0 or -1.
 */
int
epki_soap_fault_build(const char *code, const char *string, struct buf *out)
{
	if (buf_addstr(out,
		"<soap:Envelope xmlns:soap=\"" EPKI_SOAP_NS "\"><soap:Body>"
		"<soap:Fault>") == -1 ||
	    rep_elem(out, "faultcode", code) == -1 ||
	    rep_elem(out, "faultstring", string) == -1)
		return -1;
	return buf_addstr(out, "</soap:Fault></soap:Body></soap:Envelope>");
}
