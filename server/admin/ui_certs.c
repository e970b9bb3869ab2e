/*
 * The console's certificates (README "Admin web console"): the search
 * (/ui/certificates: by serial, CN, e-mail address, state; 50 a page,
 * newest first, one indexed query of db_cert_search()), a certificate's
 * page (/ui/certificates/SERIAL: the stored DER read with OpenSSL, its
 * row, its transaction and renewals) and its PEM download
 * (/ui/certificates/SERIAL/pem). Revoking is ui_certs_revoke.c. Every
 * value printed goes through ui_esc().
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "admin_int.h"
#include "buf.h"
#include "db.h"
#include "gw.h"
#include "gw_err.h"
#include "log.h"
#include "revoke.h"
#include "ui_int.h"

#define CERTS_PAGE 50

static const char *const cert_states[DB_CERT__MAX] = {
	[DB_CERT_ANY] = "",
	[DB_CERT_VALID] = "valid",
	[DB_CERT_EXPIRED] = "expired",
	[DB_CERT_REVOKED] = "revoked",
};

/* The state word of a row as of now. */
const char *
ui_cert_state(const struct db_cert *c, int64_t now)
{
	if (c->revoked != 0)
		return "revoked";
	return c->not_after <= now ? "expired" : "valid";
}

/*
 * The query argument name into out (n bytes): 0, 1 when absent or empty,
 * -1 when longer than n - 1.
 */
static int
cert_arg(struct ui_call *c, const char *name, char *out, size_t n)
{
	const char *v = MHD_lookup_connection_value(c->rq->conn,
	    MHD_GET_ARGUMENT_KIND, name);

	out[0] = '\0';
	if (v == NULL || v[0] == '\0')
		return 1;
	if (strlen(v) >= n)
		return -1;
	snprintf(out, n, "%s", v);
	return 0;
}

/* A 400 page naming what was wrong with the search. */
static enum MHD_Result
cert_bad(struct ui_call *c, const char *what)
{
	struct buf b;

	buf_init(&b, 8192);
	buf_addstr(&b, "<section><p class=\"bad\">");
	ui_esc(&b, what);
	buf_addstr(&b,
	    "</p><p><a href=\"/ui/certificates\">Search again</a></p>"
	    "</section>");
	return ui_page_buf(c, MHD_HTTP_BAD_REQUEST, "Certificates", &b);
}

/* The rows of a page: the first CERTS_PAGE printed, one more noted. */
struct cert_rows {
	struct buf *b;
	int64_t now;
	size_t n;
	int64_t last_issued;
	char last_serial[80];
};

static int
cert_row(void *arg, const struct db_cert *c)
{
	struct cert_rows *r = arg;
	struct buf *b = r->b;
	char when[40];

	if (++r->n > CERTS_PAGE)
		return 1;
	r->last_issued = c->issued;
	snprintf(r->last_serial, sizeof(r->last_serial), "%s", c->serial_hex);
	ui_time(c->not_after, when, sizeof(when));
	buf_addstr(b, "<tr><td><a href=\"/ui/certificates/");
	ui_url_esc(b, c->serial_hex);
	buf_addstr(b, "\">");
	ui_esc(b, c->serial_hex);
	buf_addstr(b, "</a></td><td>");
	ui_esc(b, c->cn != NULL ? c->cn : "");
	buf_addstr(b, "</td><td>");
	ui_esc(b, c->email != NULL ? c->email : "");
	buf_printf(b, "</td><td>%s</td><td class=\"%s\">%s</td></tr>", when,
	    c->revoked != 0 ? "bad" : "ok", ui_cert_state(c, r->now));
	return 0;
}

/* One text field of the search form, holding its current value. */
static void
cert_field(struct buf *b, const char *label, const char *name,
    const char *value)
{
	buf_printf(b, "<label>%s <input name=\"%s\" value=\"", label, name);
	ui_esc(b, value);
	buf_addstr(b, "\"></label>");
}

/* The search form and the page of rows q selects. */
static enum MHD_Result
cert_list_page(struct ui_call *c, struct db_cert_query *q, const char *serial,
    const char *cn, const char *email)
{
	struct cert_rows r = { 0 };
	struct gw_err err;
	struct buf b;
	int i;

	buf_init(&b, 1024 * 1024);
	buf_addstr(&b,
	    "<section><h2>Search</h2>"
	    "<form method=\"get\" action=\"/ui/certificates\">");
	cert_field(&b, "Serial (hex, exact)", "serial", serial);
	cert_field(&b, "Common name (exact)", "cn", cn);
	cert_field(&b, "E-mail (exact)", "email", email);
	buf_addstr(&b, "<label>State <select name=\"state\">");
	for (i = 0; i < DB_CERT__MAX; i++)
		buf_printf(&b, "<option value=\"%s\"%s>%s</option>",
		    cert_states[i], (int)q->state == i ? " selected" : "",
		    i == 0 ? "any" : cert_states[i]);
	buf_addstr(&b,
	    "</select></label><button type=\"submit\">Search</button>"
	    "</form></section><section><h2>Certificates</h2>");
	r.b = &b;
	r.now = q->now;
	q->limit = CERTS_PAGE + 1;
	buf_addstr(&b,
	    "<table><tr><th>Serial</th><th>Common name</th><th>E-mail</th>"
	    "<th>Not after</th><th>State</th></tr>");
	if (db_cert_search(c->ctx->db, q, cert_row, &r, &err) != 0) {
		log_warnx("%s console: certificate search: %s", c->client,
		    err.msg);
		buf_cleanup(&b);
		return ui_plain(c->rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "the database did not answer; try again later\n");
	}
	buf_addstr(&b, "</table>");
	if (r.n == 0)
		buf_addstr(&b, "<p class=\"muted\">No certificate found.</p>");
	buf_addstr(&b, "<p>");
	if (q->after_serial != NULL) {
		buf_addstr(&b, "<a href=\"/ui/certificates?serial=");
		ui_url_esc(&b, serial);
		buf_addstr(&b, "&amp;cn=");
		ui_url_esc(&b, cn);
		buf_addstr(&b, "&amp;email=");
		ui_url_esc(&b, email);
		buf_printf(&b, "&amp;state=%s\">First page</a> ",
		    cert_states[q->state]);
	}
	if (r.n > CERTS_PAGE) {
		buf_addstr(&b, "<a href=\"/ui/certificates?serial=");
		ui_url_esc(&b, serial);
		buf_addstr(&b, "&amp;cn=");
		ui_url_esc(&b, cn);
		buf_addstr(&b, "&amp;email=");
		ui_url_esc(&b, email);
		buf_printf(&b, "&amp;state=%s&amp;after=%" PRId64 "-",
		    cert_states[q->state], r.last_issued);
		ui_url_esc(&b, r.last_serial);
		buf_addstr(&b, "\">Next page</a>");
	}
	buf_addstr(&b, "</p></section>");
	return ui_page_buf(c, MHD_HTTP_OK, "Certificates", &b);
}

/*
 * GET /ui/certificates[?serial=HEX][&cn=][&email=][&state=][&after=]:
 * after is ISSUED-SERIAL of the last row of the previous page.
 */
enum MHD_Result
ui_certificates(struct ui_call *c)
{
	char serial[UI_FIELD_MAX], norm[80], cn[UI_FIELD_MAX];
	char email[UI_FIELD_MAX], state[16], after[100], *dash, *end;
	struct db_cert_query q = { 0 };
	int i;

	if (!c->get)
		return ui_plain(c->rq, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method not allowed\n");
	q.now = (int64_t)time(NULL);
	if (cert_arg(c, "serial", serial, sizeof(serial)) == -1 ||
	    cert_arg(c, "cn", cn, sizeof(cn)) == -1 ||
	    cert_arg(c, "email", email, sizeof(email)) == -1)
		return cert_bad(c, "A search field is too long.");
	if (serial[0] != '\0') {
		if (cert_serial_normalize(serial, norm, sizeof(norm)) != 0)
			return cert_bad(c,
			    "The serial must be hexadecimal digits (colons "
			    "and spaces are ignored).");
		q.serial_hex = norm;
	}
	q.cn = cn[0] != '\0' ? cn : NULL;
	q.email = email[0] != '\0' ? email : NULL;
	if (cert_arg(c, "state", state, sizeof(state)) == -1)
		return cert_bad(c,
		    "State: expected valid, expired or revoked.");
	for (i = 0; i < DB_CERT__MAX && strcmp(state, cert_states[i]) != 0; i++)
		;
	if (i == DB_CERT__MAX && strcmp(state, "any") != 0)
		return cert_bad(c,
		    "State: expected valid, expired or revoked.");
	q.state = i == DB_CERT__MAX ? DB_CERT_ANY : (enum db_cert_state)i;
	if (cert_arg(c, "after", after, sizeof(after)) == 0) {
		q.after_issued = strtoll(after, &end, 10);
		dash = end;
		if (dash == after || *dash != '-' ||
		    cert_serial_normalize(dash + 1, norm, sizeof(norm)) != 0 ||
		    strcmp(norm, dash + 1) != 0)
			return cert_bad(c, "The page link is not valid.");
		q.after_serial = dash + 1;
	} else if (after[0] != '\0')
		return cert_bad(c, "The page link is not valid.");
	return cert_list_page(c, &q, serial, cn, email);
}

/* A name as one line, RFC 2253 order and escaping, into b. */
static void
cert_name(struct buf *b, const X509_NAME *name)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p;
	long n;

	if (bio == NULL ||
	    X509_NAME_print_ex(bio, name, 0,
		XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) {
		BIO_free(bio);
		buf_addstr(b, "(unreadable)");
		return;
	}
	n = BIO_get_mem_data(bio, &p);
	buf_add(b, p, n > 0 ? (size_t)n : 0);
	BIO_free(bio);
}

/* Appends the certificate's SANs, one per line, as "type: value". */
static void
cert_sans(struct buf *out, const X509 *x)
{
	GENERAL_NAMES *gens =
	    X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	const GENERAL_NAME *g;
	const unsigned char *s;
	struct buf v;
	int i, n, k;

	buf_init(&v, 4096);
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		buf_reset(&v);
		s = NULL;
		n = 0;
		if (g->type == GEN_EMAIL || g->type == GEN_DNS ||
		    g->type == GEN_URI) {
			s = ASN1_STRING_get0_data(g->d.ia5);
			n = ASN1_STRING_length(g->d.ia5);
			buf_addstr(&v,
			    g->type == GEN_EMAIL   ? "E-mail: " :
				g->type == GEN_DNS ? "DNS: " :
						     "URI: ");
		} else if (g->type == GEN_IPADD) {
			buf_addstr(&v, "IP: ");
			for (k = 0; k < ASN1_STRING_length(g->d.ip); k++)
				buf_printf(&v, k == 0 ? "%u" : ".%u",
				    ASN1_STRING_get0_data(g->d.ip)[k]);
		} else if (g->type == GEN_OTHERNAME &&
		    OBJ_obj2nid(g->d.otherName->type_id) == NID_ms_upn &&
		    g->d.otherName->value->type == V_ASN1_UTF8STRING) {
			s = ASN1_STRING_get0_data(
			    g->d.otherName->value->value.utf8string);
			n = ASN1_STRING_length(
			    g->d.otherName->value->value.utf8string);
			buf_addstr(&v, "UPN: ");
		} else
			buf_addstr(&v, "(another kind of name)");
		if (s != NULL && n > 0)
			buf_add(&v, s, (size_t)n);
		buf_add(&v, "", 1);
		buf_addstr(out, "<div>");
		ui_esc(out, (const char *)v.data);
		buf_addstr(out, "</div>");
	}
	if (sk_GENERAL_NAME_num(gens) <= 0)
		buf_addstr(out, "<span class=\"muted\">none</span>");
	buf_cleanup(&v);
	GENERAL_NAMES_free(gens);
}

/* "AB:CD:…" of the certificate's digest md, as openssl x509 -fingerprint
 * prints it. */
static void
cert_fp(struct buf *b, const X509 *x, const EVP_MD *md)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned n = 0, i;

	if (X509_digest(x, md, d, &n) != 1) {
		buf_addstr(b, "-");
		return;
	}
	for (i = 0; i < n; i++)
		buf_printf(b, i == 0 ? "%02X" : ":%02X", d[i]);
}

/* One row of the detail table: a label and text to escape. */
static void
cert_tr(struct buf *b, const char *label, const char *text)
{
	buf_printf(b, "<tr><th>%s</th><td>", label);
	ui_esc(b, text != NULL ? text : "-");
	buf_addstr(b, "</td></tr>");
}

/* The lines that come from the certificate itself. */
static void
cert_parsed(struct buf *b, const X509 *x)
{
	struct buf v;
	char nb[40], na[40];
	struct tm tm;

	buf_init(&v, 64 * 1024);
	cert_name(&v, X509_get_subject_name(x));
	buf_add(&v, "", 1);
	cert_tr(b, "Subject", (const char *)v.data);
	buf_addstr(b, "<tr><th>Alternative names</th><td>");
	cert_sans(b, x);
	buf_addstr(b, "</td></tr>");
	buf_reset(&v);
	cert_name(&v, X509_get_issuer_name(x));
	buf_add(&v, "", 1);
	cert_tr(b, "Issuer", (const char *)v.data);
	snprintf(nb, sizeof(nb), "?");
	snprintf(na, sizeof(na), "?");
	if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm) == 1)
		strftime(nb, sizeof(nb), "%Y-%m-%d %H:%M UTC", &tm);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
		strftime(na, sizeof(na), "%Y-%m-%d %H:%M UTC", &tm);
	buf_printf(b, "<tr><th>Valid</th><td>from %s to %s</td></tr>", nb, na);
	buf_addstr(b, "<tr><th>SHA-256 fingerprint</th><td><code>");
	cert_fp(b, x, EVP_sha256());
	buf_addstr(b,
	    "</code></td></tr><tr><th>SHA-1 fingerprint</th><td>"
	    "<code>");
	cert_fp(b, x, EVP_sha1());
	buf_addstr(b, "</code></td></tr>");
	buf_cleanup(&v);
}

/* The transaction's lines: its link, identity and renewals. */
static void
cert_txn(struct ui_call *c, struct buf *b, const struct db_cert_renewal *r)
{
	const struct db_cert *cert = &r->cert;
	struct db_txn t;
	struct gw_err err;

	buf_addstr(b, "<tr><th>Transaction</th><td>");
	if (cert->txid != NULL) {
		buf_addstr(b, "<a href=\"/ui/enrollments/");
		ui_url_esc(b, cert->txid);
		buf_addstr(b, "\">");
		ui_esc(b, cert->txid);
		buf_addstr(b, "</a>");
	} else
		buf_addstr(b, "-");
	buf_addstr(b, "</td></tr>");
	memset(&t, 0, sizeof(t));
	if (cert->txid != NULL &&
	    db_txn_get(c->ctx->db, cert->txid, &t, &err) == 0) {
		cert_tr(b, "Common name", t.cn);
		cert_tr(b, "E-mail", t.email);
		if (t.renews != NULL) {
			buf_addstr(b,
			    "<tr><th>Renews</th><td>"
			    "<a href=\"/ui/certificates/");
			ui_url_esc(b, t.renews);
			buf_addstr(b, "\">");
			ui_esc(b, t.renews);
			buf_addstr(b, "</a></td></tr>");
		}
	}
	db_txn_cleanup(&t);
	if (r->successor != NULL) {
		buf_addstr(b,
		    "<tr><th>Renewed by</th><td>"
		    "<a href=\"/ui/enrollments/");
		ui_url_esc(b, r->successor);
		buf_addstr(b, "\">transaction ");
		ui_esc(b, r->successor);
		buf_addstr(b, "</a></td></tr>");
	}
}

/* GET /ui/certificates/SERIAL */
static enum MHD_Result
cert_detail(struct ui_call *c, const char *serial)
{
	struct db_cert_renewal r;
	const struct db_cert *cert = &r.cert;
	const unsigned char *p;
	struct gw_err err;
	X509 *x = NULL;
	char when[40];
	struct buf b;
	int rc;

	memset(&r, 0, sizeof(r));
	rc = db_cert_renewal(c->ctx->db, serial, &r, &err);
	if (rc != 0) {
		db_cert_renewal_cleanup(&r);
		if (rc == 1)
			return ui_page(c, MHD_HTTP_NOT_FOUND, "Certificate",
			    "<section><p class=\"bad\">No certificate with this "
			    "serial was issued through this gateway.</p>"
			    "</section>");
		log_warnx("%s console: certificate: %s", c->client, err.msg);
		return ui_plain(c->rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "the database did not answer; try again later\n");
	}
	buf_init(&b, 512 * 1024);
	buf_addstr(&b, "<section><table>");
	cert_tr(&b, "Serial", cert->serial_hex);
	p = cert->der;
	if (cert->der != NULL && cert->der_len <= 1024 * 1024)
		x = d2i_X509(NULL, &p, (long)cert->der_len);
	if (x != NULL)
		cert_parsed(&b, x);
	else {
		buf_addstr(&b,
		    "<tr><th>Certificate</th><td class=\"bad\">"
		    "The stored certificate could not be read; what "
		    "the database knows follows.</td></tr>");
		cert_tr(&b, "Subject", cert->subject);
	}
	X509_free(x);
	ui_time(cert->issued, when, sizeof(when));
	cert_tr(&b, "Issued", when);
	cert_tr(&b, "OrderID", cert->order_id);
	cert_txn(c, &b, &r);
	buf_addstr(&b, "<tr><th>State</th><td>");
	if (cert->revoked != 0) {
		ui_time(cert->revoked, when, sizeof(when));
		buf_printf(&b,
		    "<strong class=\"bad\">REVOKED</strong> on %s, "
		    "reason ",
		    when);
		ui_esc(&b,
		    cert->revoke_reason != NULL ? cert->revoke_reason : "-");
	} else
		buf_printf(&b, "<span class=\"ok\">%s</span>",
		    ui_cert_state(cert, (int64_t)time(NULL)));
	buf_addstr(&b, "</td></tr></table><p><a href=\"/ui/certificates/");
	ui_url_esc(&b, cert->serial_hex);
	buf_addstr(&b, "/pem\">Download PEM</a></p>");
	if (ui_is_admin(c->who) && cert->revoked == 0) {
		buf_addstr(&b,
		    "<form method=\"get\" action=\"/ui/certificates/");
		ui_url_esc(&b, cert->serial_hex);
		buf_addstr(&b,
		    "/revoke\"><button type=\"submit\">Revoke"
		    "&hellip;</button></form>");
	}
	buf_addstr(&b, "</section>");
	db_cert_renewal_cleanup(&r);
	return ui_page_buf(c, MHD_HTTP_OK, "Certificate", &b);
}

/* GET /ui/certificates/SERIAL/pem: the stored DER as PEM. */
static enum MHD_Result
cert_pem(struct ui_call *c, const char *serial)
{
	struct db_cert cert;
	struct gw_err err;
	enum MHD_Result rc;
	char name[100];
	int found;
	BIO *bio;
	char *p;
	long n;

	memset(&cert, 0, sizeof(cert));
	if ((found = db_cert_get(c->ctx->db, serial, &cert, &err)) != 0) {
		db_cert_cleanup(&cert);
		if (found == 1)
			return ui_plain(c->rq, MHD_HTTP_NOT_FOUND,
			    "no such certificate\n");
		log_warnx("%s console: certificate: %s", c->client, err.msg);
		return ui_plain(c->rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "the database did not answer; try again later\n");
	}
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio(bio, PEM_STRING_X509, "", cert.der,
		(long)cert.der_len) <= 0) {
		BIO_free(bio);
		db_cert_cleanup(&cert);
		return ui_plain(c->rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "out of memory\n");
	}
	n = BIO_get_mem_data(bio, &p);
	snprintf(name, sizeof(name), "%s.pem", cert.serial_hex);
	rc = ui_file(c->rq, "application/x-pem-file", name, p,
	    n > 0 ? (size_t)n : 0);
	BIO_free(bio);
	db_cert_cleanup(&cert);
	return rc;
}

/*
 * /ui/certificates/SERIAL[/pem|/revoke]: SERIAL as stored (upper-case
 * hex); another spelling of it is sent to that one.
 */
enum MHD_Result
ui_certificate(struct ui_call *c)
{
	const char *slash = strchr(c->rest, '/');
	char serial[80], norm[80], where[120];
	size_t len =
	    slash != NULL ? (size_t)(slash - c->rest) : strlen(c->rest);

	if (len == 0 || len >= sizeof(serial))
		return ui_plain(c->rq, MHD_HTTP_NOT_FOUND, "not found\n");
	memcpy(serial, c->rest, len);
	serial[len] = '\0';
	if (cert_serial_normalize(serial, norm, sizeof(norm)) != 0)
		return ui_plain(c->rq, MHD_HTTP_NOT_FOUND,
		    "not found: not a serial\n");
	if (slash != NULL && strcmp(slash, "/revoke") == 0)
		return ui_cert_revoke(c, norm);
	if (slash != NULL && strcmp(slash, "/pem") != 0)
		return ui_plain(c->rq, MHD_HTTP_NOT_FOUND, "not found\n");
	if (!c->get)
		return ui_plain(c->rq, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method not allowed\n");
	if (strcmp(norm, serial) != 0) {
		snprintf(where, sizeof(where), "/ui/certificates/%s%s", norm,
		    slash != NULL ? slash : "");
		return ui_redirect(c->rq, where, NULL, NULL);
	}
	return slash == NULL ? cert_detail(c, norm) : cert_pem(c, norm);
}
