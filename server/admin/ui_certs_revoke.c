/*
 * Revoking a certificate from the console (README "Admin web console"):
 * GET /ui/certificates/SERIAL/revoke is a confirmation page naming the
 * certificate with the reasons cert_revoke() takes; its POST (an admin's,
 * with the session's CSRF token, both checked by ui_handle()) calls
 * cert_revoke() as `scepgw cert revoke` and the JSON API do: GlobalSign
 * first, then the database, so that a refusal marks nothing revoked. A
 * viewer gets 403 on both.
 */
#include <stdio.h>
#include <string.h>

#include "admin_int.h"
#include "buf.h"
#include "db.h"
#include "gw.h"
#include "gw_err.h"
#include "log.h"
#include "revoke.h"
#include "ui_int.h"

/* A page in plain words after a revocation that did not happen. */
static enum MHD_Result
revoke_failed(struct ui_call *c, unsigned status, const char *serial,
    const char *lead, const char *detail)
{
	struct buf b;

	buf_init(&b, 16384);
	buf_addstr(&b, "<section><p class=\"bad\">");
	ui_esc(&b, lead);
	buf_addstr(&b, "</p><pre>");
	ui_esc(&b, detail);
	buf_addstr(&b, "</pre><p><a href=\"/ui/certificates/");
	ui_esc(&b, serial);
	buf_addstr(&b, "\">Back to the certificate</a></p></section>");
	return ui_page_buf(c, status, "Revoke certificate", &b);
}

/* The confirmation page of a certificate not yet revoked. */
static enum MHD_Result
revoke_confirm(struct ui_call *c, const struct db_cert *cert)
{
	const char *r;
	char when[40];
	struct buf b;
	size_t i;

	buf_init(&b, 32768);
	buf_addstr(&b,
	    "<section><h2>Revoke this certificate?</h2><table>"
	    "<tr><th>Serial</th><td>");
	ui_esc(&b, cert->serial_hex);
	buf_addstr(&b, "</td></tr><tr><th>Subject</th><td>");
	ui_esc(&b, cert->subject != NULL ? cert->subject : "-");
	buf_addstr(&b, "</td></tr><tr><th>OrderID</th><td>");
	ui_esc(&b, cert->order_id != NULL ? cert->order_id : "-");
	ui_time(cert->not_after, when, sizeof(when));
	buf_printf(&b,
	    "</td></tr><tr><th>Not after</th><td>%s</td></tr></table>"
	    "<p>GlobalSign is asked to revoke it; this cannot be undone.</p>"
	    "<form method=\"post\" action=\"/ui/certificates/",
	    when);
	ui_esc(&b, cert->serial_hex);
	buf_addstr(&b, "/revoke\">");
	ui_csrf_field(&b, c->who);
	buf_addstr(&b, "<label>Reason <select name=\"reason\">");
	for (i = 0; (r = cert_revoke_reason_name(i)) != NULL; i++) {
		buf_addstr(&b, "<option>");
		ui_esc(&b, r);
		buf_addstr(&b, "</option>");
	}
	buf_addstr(&b,
	    "</select></label><button type=\"submit\">Revoke at "
	    "GlobalSign</button> <a href=\"/ui/certificates/");
	ui_esc(&b, cert->serial_hex);
	buf_addstr(&b, "\">Cancel</a></form></section>");
	return ui_page_buf(c, MHD_HTTP_OK, "Revoke certificate", &b);
}

/* GET: the confirmation, or why there is nothing to confirm. */
static enum MHD_Result
revoke_get(struct ui_call *c, const char *serial)
{
	struct db_cert cert;
	struct gw_err err;
	enum MHD_Result rc;
	char when[40], msg[300];
	int found;

	memset(&cert, 0, sizeof(cert));
	found = db_cert_get(c->ctx->db, serial, &cert, &err);
	if (found == -1) {
		log_warnx("%s console: certificate: %s", c->client, err.msg);
		return ui_plain(c->rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "the database did not answer; try again later\n");
	}
	if (found == 1)
		return ui_page(c, MHD_HTTP_NOT_FOUND, "Revoke certificate",
		    "<section><p class=\"bad\">No certificate with this serial "
		    "was issued through this gateway.</p></section>");
	if (cert.revoked != 0) {
		ui_time(cert.revoked, when, sizeof(when));
		snprintf(msg, sizeof(msg), "revoked on %s, reason %s", when,
		    cert.revoke_reason != NULL ? cert.revoke_reason : "-");
		rc = revoke_failed(c, MHD_HTTP_CONFLICT, serial,
		    "This certificate is already revoked; nothing to do.", msg);
	} else
		rc = revoke_confirm(c, &cert);
	db_cert_cleanup(&cert);
	return rc;
}

/* POST: cert_revoke(), then back to the certificate's page. */
static enum MHD_Result
revoke_post(struct ui_call *c, const char *serial)
{
	enum cert_revoke_res res;
	struct cert_revoke cr;
	char reason[64], where[120];

	if (ui_form_get(&c->rq->body, "reason", reason, sizeof(reason)) != 0 ||
	    !cert_revoke_reason_known(reason))
		return revoke_failed(c, MHD_HTTP_BAD_REQUEST, serial,
		    "Choose one of the reasons offered.",
		    "the form's reason is missing or unknown");
	res = cert_revoke(c->ctx->cfg, c->ctx->db, &c->ctx->auth, serial,
	    reason, &cr);
	log_ev(LOG_INFO, "admin.revoke", LOG_F(.peer = c->client),
	    "%s console: user=%s: revoke serial=%s order=%s reason=%s: %s",
	    c->client, c->who->user, cr.serial[0] != '\0' ? cr.serial : "?",
	    cr.order_id[0] != '\0' ? cr.order_id : "-", reason,
	    res == CERT_REVOKE_OK ? "revoked" : cr.detail);
	switch (res) {
	case CERT_REVOKE_OK:
		snprintf(where, sizeof(where), "/ui/certificates/%s", serial);
		return ui_redirect(c->rq, where, NULL, NULL);
	case CERT_REVOKE_ALREADY:
		return revoke_failed(c, MHD_HTTP_CONFLICT, serial,
		    "This certificate is already revoked; GlobalSign was not "
		    "asked again.",
		    cr.detail);
	case CERT_REVOKE_UPSTREAM:
		return revoke_failed(c, MHD_HTTP_BAD_GATEWAY, serial,
		    "GlobalSign did not revoke the certificate, so it is not "
		    "marked revoked here. Try again later; what GlobalSign "
		    "said:",
		    cr.detail);
	case CERT_REVOKE_DB:
		return revoke_failed(c, MHD_HTTP_SERVICE_UNAVAILABLE, serial,
		    "The database failed; see below whether GlobalSign "
		    "revoked it, then run scepgw cert revoke again.",
		    cr.detail);
	case CERT_REVOKE_NOT_FOUND:
		return revoke_failed(c, MHD_HTTP_NOT_FOUND, serial,
		    "No such certificate.", cr.detail);
	default:
		return revoke_failed(c, MHD_HTTP_CONFLICT, serial,
		    "The certificate cannot be revoked from here.", cr.detail);
	}
}

/*
 * /ui/certificates/SERIAL/revoke, SERIAL already normalised: admins only
 * (a viewer does not even see the confirmation page).
 */
enum MHD_Result
ui_cert_revoke(struct ui_call *c, const char *serial)
{
	if (!ui_is_admin(c->who)) {
		log_info("%s console: user=%s: revoke of %s refused: a viewer "
			 "changes nothing",
		    c->client, c->who->user, serial);
		return ui_plain(c->rq, MHD_HTTP_FORBIDDEN,
		    "forbidden: a viewer can look but not change; ask an "
		    "admin\n");
	}
	if (c->post)
		return revoke_post(c, serial);
	if (!c->get)
		return ui_plain(c->rq, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method not allowed\n");
	return revoke_get(c, serial);
}
