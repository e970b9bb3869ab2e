/*
 * The query and modify operations of the EPKI client: GetOrders, Revoke and
 * GetProfiles requests in schema element order, and the list payloads of
 * their answers (OrderDetails, ProfileDetails), read leniently: absent,
 * empty and xsi:nil alike. No I/O.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/tree.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "buf.h"
#include "gw_err.h"
#include "gw_date.h"
#include "epki.h"
#include "epki_int.h"

/* Ceiling on list entries kept from one answer (the rest is counted). */
#define QUERY_MAX_ITEMS 4096

/* Appends <name>value</name> only when value is set. */
static int
opt_elem(struct buf *out, const char *name, const char *value)
{
	if (value == NULL)
		return 0;
	return epki_soap_elem(out, name, value);
}

/* Appends OrderQueryParam with its set filters, in schema order. */
static int
orders_param(struct buf *out, const struct epki_order_query *q)
{
	if (buf_addstr(out, "<OrderQueryParam>") == -1 ||
	    opt_elem(out, "ProductCode", q->product_code) == -1 ||
	    opt_elem(out, "ProfileOrderNo", q->profile_id) == -1 ||
	    opt_elem(out, "LicenseOrderNo", q->license_no) == -1 ||
	    opt_elem(out, "OrderState", q->order_state) == -1 ||
	    opt_elem(out, "CertState", q->cert_state) == -1 ||
	    opt_elem(out, "RequestDateFrom", q->request_from) == -1 ||
	    opt_elem(out, "RequestDateTo", q->request_to) == -1 ||
	    opt_elem(out, "IssueDateFrom", q->issue_from) == -1 ||
	    opt_elem(out, "IssueDateTo", q->issue_to) == -1 ||
	    opt_elem(out, "CommonName", q->cn) == -1 ||
	    buf_addstr(out, "</OrderQueryParam>") == -1)
		return -1;
	return 0;
}

/* Sets err for a body that could not be built. */
static int
build_fail(const char *op, struct gw_err *err)
{
	gw_err_set(err, EINVAL,
	    "%s: a value has a control character or is too long", op);
	return -1;
}

/*
 * Builds a GetOrders request into out, which the caller
 * initialised: QueryRequestHeader, OrderQueryParam (only the filters
 * that are set), OrdersQueryOption. The body holds the password: wipe it
 * when done. -1 with err set on missing credentials, a value XML cannot
 * carry, or a full buffer.
 */
int
epki_soap_orders_build(const struct epki_auth *auth,
    const struct epki_order_query *q, struct buf *out, struct gw_err *err)
{
	const char *op = "GetOrders";

	if (auth->user == NULL || auth->password == NULL || q == NULL) {
		gw_err_set(err, EINVAL, "%s: a required field is missing", op);
		return -1;
	}
	if (epki_soap_open(out, op) == -1 ||
	    epki_soap_auth(out, "QueryRequestHeader", auth) == -1 ||
	    orders_param(out, q) == -1 ||
	    buf_printf(out,
		"<OrdersQueryOption>"
		"<ReturnCertificateInfo>%s</ReturnCertificateInfo>"
		"<ReturnFulfillment>%s</ReturnFulfillment>"
		"</OrdersQueryOption>",
		q->want_cert_info ? "true" : "false",
		q->want_fulfillment ? "true" : "false") == -1 ||
	    epki_soap_close(out, op) == -1)
		return build_fail(op, err);
	return 0;
}

/*
 * Builds a Revoke request: OrderRequestHeader, OrderID. Same
 * contract as epki_soap_orders_build().
 */
int
epki_soap_revoke_build(const struct epki_auth *auth, const char *order_id,
    struct buf *out, struct gw_err *err)
{
	const char *op = "Revoke";

	if (auth->user == NULL || auth->password == NULL || order_id == NULL) {
		gw_err_set(err, EINVAL, "%s: a required field is missing", op);
		return -1;
	}
	if (epki_soap_open(out, op) == -1 ||
	    epki_soap_auth(out, "OrderRequestHeader", auth) == -1 ||
	    epki_soap_elem(out, "OrderID", order_id) == -1 ||
	    epki_soap_close(out, op) == -1)
		return build_fail(op, err);
	return 0;
}

/*
 * Builds a GetProfiles request: QueryRequestHeader, then
 * ProfileQueryParam/ProfileOrderNo when profile_id is not NULL. Same
 * contract as epki_soap_orders_build().
 */
int
epki_soap_profiles_build(const struct epki_auth *auth, const char *profile_id,
    struct buf *out, struct gw_err *err)
{
	const char *op = "GetProfiles";

	if (auth->user == NULL || auth->password == NULL) {
		gw_err_set(err, EINVAL, "%s: a required field is missing", op);
		return -1;
	}
	if (epki_soap_open(out, op) == -1 ||
	    epki_soap_auth(out, "QueryRequestHeader", auth) == -1 ||
	    (profile_id != NULL &&
		(buf_addstr(out, "<ProfileQueryParam>") == -1 ||
		    epki_soap_elem(out, "ProfileOrderNo", profile_id) == -1 ||
		    buf_addstr(out, "</ProfileQueryParam>") == -1)) ||
	    epki_soap_close(out, op) == -1)
		return build_fail(op, err);
	return 0;
}

/* The child element name of n (any namespace, any case), or NULL. */
static xmlNodePtr
kid(xmlNodePtr n, const char *name)
{
	return epki_xml_child(n, name, false);
}

/* Copies the text of parent/name into a fixed field. */
#define COPY(parent, name, field) \
	epki_xml_copy(kid(parent, name), field, sizeof(field))

/* Fills one found order from an OrderDetail element. */
static void
found_fill(xmlNodePtr d, struct epki_found *f)
{
	xmlNodePtr info = kid(d, "OrderInfo"), ci = kid(d, "CrCertificateInfo");
	xmlNodePtr crt = kid(kid(d, "Fulfillment"), "CrCertificate");
	static const char *const ful[] = { "PKCS7Cert", "Certificate", NULL };

	COPY(info, "OrderNo", f->order_id);
	COPY(info, "OrderStatus", f->order_status);
	COPY(info, "ProductCode", f->product_code);
	COPY(info, "ProfileNo", f->profile_id);
	COPY(info, "LicenseNo", f->license_no);
	COPY(info, "RequestDate", f->request_date);
	COPY(info, "IssueDate", f->issue_date);
	COPY(ci, "CertificateStatus", f->cert_status);
	COPY(ci, "SerialNumber", f->serial);
	COPY(ci, "CommonName", f->cn);
	/* Prefer the PKCS#7 form: it may carry the issuing CA too. */
	if (epki_xml_certs(crt, ful, &f->certs, NULL) == -1)
		f->cert_unreadable = true;
}

/* Counts the element children of list called name. */
static size_t
count_items(xmlNodePtr list, const char *name)
{
	xmlNodePtr n;
	size_t k = 0;

	for (n = list == NULL ? NULL : list->children; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    xmlStrcasecmp(n->name, (const xmlChar *)name) == 0)
			k++;
	return k;
}

/* Reads GetOrders' OrderDetails/OrderDetail* into r->found. */
static int
orders_payload(xmlNodePtr resp, struct epki_resp *r)
{
	xmlNodePtr list = kid(resp, "OrderDetails"), n;
	size_t want = count_items(list, "OrderDetail");

	if (want > QUERY_MAX_ITEMS)
		want = QUERY_MAX_ITEMS;
	if (want == 0)
		return 0;
	if ((r->found = calloc(want, sizeof(*r->found))) == NULL)
		return -1;
	for (n = list->children; n != NULL && r->nfound < want; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    xmlStrcasecmp(n->name, (const xmlChar *)"OrderDetail") == 0)
			found_fill(n, &r->found[r->nfound++]);
	return 0;
}

/* Reads ProfileDnAttributes into p. */
static void
profile_dn(xmlNodePtr dn, struct epki_profile *p)
{
	xmlNodePtr n;

	COPY(dn, "CommonName", p->cn);
	COPY(dn, "Organization", p->org);
	COPY(dn, "StateOrProvince", p->st);
	COPY(dn, "Locality", p->locality);
	COPY(dn, "Country", p->country);
	n = kid(dn, "OrganizationUnits");
	for (n = n == NULL ? NULL : n->children; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE || p->nous == EPKI_MAX_OUS ||
		    xmlStrcasecmp(n->name,
			(const xmlChar *)"OrganizationUnit") != 0)
			continue;
		epki_xml_copy(n, p->ous[p->nous], sizeof(p->ous[0]));
		if (p->ous[p->nous][0] != '\0')
			p->nous++;
	}
}

/* Fills one profile from a ProfileDetail element. */
static void
profile_fill(xmlNodePtr d, struct epki_profile *p)
{
	xmlNodePtr info = kid(d, "ProfileInfo"),
		   vp = kid(info, "ValidityPeriod");

	COPY(info, "ProfileOrderNo", p->profile_id);
	COPY(info, "ProfileOrderState", p->state_code);
	COPY(info, "IssueDate", p->issue_date);
	COPY(info, "SuspendDate", p->suspend_date);
	COPY(info, "CancelDate", p->cancel_date);
	COPY(vp, "NotBefore", p->not_before);
	COPY(vp, "NotAfter", p->not_after);
	profile_dn(kid(d, "ProfileDnAttributes"), p);
	COPY(kid(d, "ProfileAttributes"), "HashType", p->hash_type);
	COPY(kid(d, "ProfileAttributes"), "UPN", p->upn);
	p->state = epki_profile_state(p);
}

/* Reads GetProfiles' ProfileDetails/ProfileDetail* into r->profiles. */
static int
profiles_payload(xmlNodePtr resp, struct epki_resp *r)
{
	xmlNodePtr list = kid(resp, "ProfileDetails"), n;
	size_t want = count_items(list, "ProfileDetail");

	if (want > QUERY_MAX_ITEMS)
		want = QUERY_MAX_ITEMS;
	if (want == 0)
		return 0;
	if ((r->profiles = calloc(want, sizeof(*r->profiles))) == NULL)
		return -1;
	for (n = list->children; n != NULL && r->nprofiles < want; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    xmlStrcasecmp(n->name, (const xmlChar *)"ProfileDetail") ==
			0)
			profile_fill(n, &r->profiles[r->nprofiles++]);
	return 0;
}

#undef COPY

/*
 * Reads the list payload of a GetOrders or GetProfiles response into r
 * (nothing for other operations): TotalCount, then every detail entry.
 * An entry whose certificate does not decode is kept and flagged. -1
 * only when memory runs out.
 */
int
epki_query_payload(const char *op, xmlNodePtr resp, struct epki_resp *r)
{
	char *s;

	if (strcmp(op, "GetOrders") != 0 && strcmp(op, "GetProfiles") != 0)
		return 0;
	s = epki_xml_text(kid(resp, "TotalCount"));
	if (epki_parse_int(s, &r->total_count) == -1)
		r->total_count = -1;
	free(s);
	if (strcmp(op, "GetOrders") == 0)
		return orders_payload(resp, r);
	return profiles_payload(resp, r);
}

/* Frees the lists epki_query_payload() filled; leaves them empty. */
void
epki_query_cleanup(struct epki_resp *r)
{
	size_t i;

	for (i = 0; i < r->nfound; i++)
		sk_X509_pop_free(r->found[i].certs, X509_free);
	free(r->found);
	free(r->profiles);
	r->found = NULL;
	r->profiles = NULL;
	r->nfound = r->nprofiles = 0;
}

/* True if code is one of the codes in the NULL-terminated list. */
static bool
code_in(const char *code, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(code, *list) == 0)
			return true;
	return false;
}

/*
 * What a profile's state means, from its dates first (they are named in
 * the schema) and then its ProfileOrderState, read with the GAS status
 * codes (a guess: EPKI documents none): CancelDate or 3/5 cancelled;
 * SuspendDate or 9 (locked) suspended; 4 or VALIDATED valid; 1, 2, 8
 * pending. Anything else is unknown, which callers treat as not usable.
 */
enum epki_profile_state
epki_profile_state(const struct epki_profile *p)
{
	static const char *const cancelled[] = { "3", "5", NULL };
	static const char *const pending[] = { "1", "2", "8", NULL };
	static const char *const suspended[] = { "9", "10", NULL };

	if (p->cancel_date[0] != '\0' || code_in(p->state_code, cancelled))
		return EPKI_PROFILE_CANCELLED;
	if (p->suspend_date[0] != '\0' || code_in(p->state_code, suspended))
		return EPKI_PROFILE_SUSPENDED;
	/* "Validated" is the word GCC's Search Profiles shows. */
	if (strcmp(p->state_code, "4") == 0 ||
	    strcasecmp(p->state_code, "VALIDATED") == 0)
		return EPKI_PROFILE_VALID;
	if (code_in(p->state_code, pending))
		return EPKI_PROFILE_PENDING;
	if (p->state_code[0] == '\0' && p->issue_date[0] != '\0')
		return EPKI_PROFILE_VALID;
	return EPKI_PROFILE_UNKNOWN;
}

/* A short stable name for a profile state ("suspended"). */
const char *
epki_profile_state_name(enum epki_profile_state s)
{
	static const char *const names[EPKI_PROFILE__MAX] = {
		[EPKI_PROFILE_UNKNOWN] = "unknown",
		[EPKI_PROFILE_VALID] = "validated",
		[EPKI_PROFILE_PENDING] = "pending-vetting",
		[EPKI_PROFILE_SUSPENDED] = "suspended",
		[EPKI_PROFILE_CANCELLED] = "cancelled",
	};

	if ((int)s < 0 || s >= EPKI_PROFILE__MAX)
		return "unknown";
	return names[s];
}

/* Reads exactly n digits at *p into *v and advances; 0 or -1. */
static int
date_digits(const char **p, int n, long *v)
{
	for (*v = 0; n > 0; n--, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		*v = *v * 10 + (**p - '0');
	}
	return 0;
}

/*
 * The day of a date GlobalSign sends as xs:string in query results (its
 * format is undocumented, README "Talking to GlobalSign"): YYYY-MM-DD or
 * YYYY/MM/DD, optionally followed by a time, which is ignored. Writes the
 * days since 1970-01-01 into *days; 0, or -1 when s is none of those.
 */
int
epki_date_day(const char *s, long *days)
{
	long y, m, d;
	const char *p = s;
	char sep;

	if (s == NULL || date_digits(&p, 4, &y) == -1 ||
	    ((sep = *p++) != '-' && sep != '/') ||
	    date_digits(&p, 2, &m) == -1 || *p++ != sep ||
	    date_digits(&p, 2, &d) == -1 || m < 1 || m > 12 || d < 1 ||
	    d > 31 || (*p != '\0' && *p != 'T' && *p != ' '))
		return -1;
	*days = gw_days_from_civil(y, m, d);
	return 0;
}

/*
 * Brings a SerialNumber as GlobalSign may write it (its format is
 * undocumented: "0A1B", "0a:1b", "0a 1b", "0x0A1B") to one form: upper-case
 * hex without separators or leading zeros ("A1B"; "0" for zero). 0, or -1
 * when it is not a hex number or does not fit n.
 */
int
epki_serial_norm(const char *in, char *out, size_t n)
{
	size_t k = 0;
	char c;

	if (in[0] == '0' && (in[1] == 'x' || in[1] == 'X'))
		in += 2;
	for (; *in != '\0'; in++) {
		c = *in;
		if (c == ':' || c == ' ' || c == '-')
			continue;
		if (c >= 'a' && c <= 'f')
			c = (char)(c - 'a' + 'A');
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
			return -1;
		if (k == 0 && c == '0')
			continue; /* a leading zero */
		if (k + 1 >= n)
			return -1;
		out[k++] = c;
	}
	if (k == 0) {
		if (n < 2)
			return -1;
		out[k++] = '0';
	}
	out[k] = '\0';
	return 0;
}

/*
 * True when a SerialNumber names the serial of cert: compared after
 * epki_serial_norm() as hex, or, for a string of decimal digits only, as
 * a decimal number too (a form GlobalSign might use). The certificate is
 * the key the gateway stores; this only checks an answer's consistency.
 */
bool
epki_serial_matches(const char *api, const X509 *cert)
{
	char norm[128], *hex = NULL, *dec = NULL;
	BIGNUM *bn;
	bool ok = false;

	if (api == NULL || cert == NULL ||
	    (bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL)) ==
		NULL)
		return false;
	if ((hex = BN_bn2hex(bn)) != NULL &&
	    epki_serial_norm(api, norm, sizeof(norm)) == 0) {
		/* BN_bn2hex writes "0" or hex without leading zeros. */
		ok = strcmp(norm,
			 hex[0] == '0' && hex[1] != '\0' ? hex + 1 : hex) == 0;
	}
	if (!ok && strspn(api, "0123456789") == strlen(api) &&
	    (dec = BN_bn2dec(bn)) != NULL) {
		while (api[0] == '0' && api[1] != '\0')
			api++;
		ok = strcmp(api, dec) == 0;
	}
	OPENSSL_free(hex);
	OPENSSL_free(dec);
	BN_free(bn);
	return ok;
}
