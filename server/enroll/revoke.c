/*
 * Revoking a certificate, for `scepgw cert revoke` and the admin API
 * alike. A revocation goes upstream first (EPKI Revoke with the
 * certificate's OrderID) and is recorded in the database only once
 * GlobalSign has confirmed it, so the local record never claims a
 * revocation that did not happen. EPKI's Revoke has no reason field: the
 * reason is kept locally, for the operator.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "db.h"
#include "epki.h"
#include "gw_err.h"
#include "revoke.h"
#include "secure.h"

#define SERIAL_MAX 80

/* The reasons of RFC 5280 5.3.1 that make sense for an end entity. */
static const char *const reasons[] = {
	"unspecified",
	"keyCompromise",
	"affiliationChanged",
	"superseded",
	"cessationOfOperation",
	"certificateHold",
	"privilegeWithdrawn",
	NULL,
};

/*
 * Brings a serial as an admin may type it ("0a:1b", "0x0A1B", "00A1B")
 * to the stored form: upper-case hex, no separators, no leading zero
 * bytes (BN_bn2hex). Returns 0, or -1 when it is not a hex number.
 */
int
cert_serial_normalize(const char *in, char *out, size_t n)
{
	char digits[SERIAL_MAX];
	size_t k = 0, i = 0, len;

	if (strncmp(in, "0x", 2) == 0 || strncmp(in, "0X", 2) == 0)
		in += 2;
	for (; *in != '\0'; in++) {
		if (*in == ':' || *in == ' ')
			continue;
		if (!isxdigit((unsigned char)*in) || k + 1 >= sizeof(digits))
			return -1;
		digits[k++] = (char)toupper((unsigned char)*in);
	}
	digits[k] = '\0';
	while (digits[i] == '0' && digits[i + 1] != '\0')
		i++;
	len = k - i;
	if (len == 0 || len + 2 > n)
		return -1;
	snprintf(out, n, "%s%s", len % 2 != 0 ? "0" : "", digits + i);
	return 0;
}

/* The i-th reason cert_revoke() takes (0: "unspecified"), or NULL past
 * the last: the console's choice of reasons. */
const char *
cert_revoke_reason_name(size_t i)
{
	return i < sizeof(reasons) / sizeof(reasons[0]) ? reasons[i] : NULL;
}

bool
cert_revoke_reason_known(const char *r)
{
	size_t i;

	for (i = 0; reasons[i] != NULL; i++)
		if (strcmp(reasons[i], r) == 0)
			return true;
	return false;
}

/* Appends one formatted line to the outcome's detail. */
static void __attribute__((format(printf, 2, 3)))
detail_add(struct cert_revoke *cr, const char *fmt, ...)
{
	size_t n = strlen(cr->detail);
	va_list ap;

	if (n + 2 >= sizeof(cr->detail))
		return;
	if (n > 0)
		cr->detail[n++] = '\n';
	va_start(ap, fmt);
	vsnprintf(cr->detail + n, sizeof(cr->detail) - n, fmt, ap);
	va_end(ap);
}

/* Adds every GlobalSign error of r to the detail, with advice if known. */
static void
resp_detail(struct cert_revoke *cr, const char *url, const struct epki_resp *r,
    const char *msg)
{
	const char *advice;
	size_t i;

	if (r->cls == EPKI_TRANSPORT) {
		detail_add(cr,
		    "no usable answer from GlobalSign at %s: %s; "
		    "nothing was recorded (run the command again)",
		    url, r->fault[0] != '\0' ? r->fault : msg);
		return;
	}
	for (i = 0; i < r->nerrors; i++) {
		detail_add(cr, "GlobalSign ErrorCode %d%s%s: %s",
		    r->errors[i].code,
		    r->errors[i].field[0] != '\0' ? " ErrorField " : "",
		    r->errors[i].field, r->errors[i].message);
		if ((advice = config_epki_advice(r->errors[i].code)) != NULL)
			detail_add(cr, "%s", advice);
	}
}

/*
 * After a "status already changed" answer: is the order revoked at
 * GlobalSign (order status 6 revoking or 7 revoked), e.g. from the GCC
 * portal?
 */
static bool
order_is_revoked(const struct epki_client_opts *o, const struct epki_auth *auth,
    const char *order_id)
{
	struct epki_resp r;
	struct gw_err err;
	bool yes;

	(void)epki_order_get_call(o, auth, order_id, &r, &err);
	yes = (r.cls == EPKI_OK || r.cls == EPKI_WARNING) &&
	    (strcmp(r.order_status, "7") == 0 ||
		strcmp(r.order_status, "6") == 0);
	epki_resp_cleanup(&r);
	return yes;
}

/*
 * Calls EPKI Revoke for the order with auth (or, when NULL, the password
 * of [epki] password_file). Returns 0 when GlobalSign confirmed (or shows
 * the order already revoked), -1 otherwise (cr->detail says why).
 */
static int
revoke_upstream(const struct gw_config *cfg, const struct epki_auth *auth,
    const char *order_id, struct cert_revoke *cr)
{
	struct epki_client_opts o;
	struct epki_auth a;
	struct epki_resp r;
	struct gw_err err;
	char *pw = NULL;
	int rc = -1;

	epki_resp_init(&r);
	gw_err_clear(&err);
	if (auth == NULL) {
		/* `scepgw cert revoke`, perhaps run by root on the
		 * service user's file (README "Commands"). */
		if (gw_secret_read_preroot(cfg->epki_password_file, &pw,
			&err) == -1) {
			detail_add(cr, "[epki] password_file: %s", err.msg);
			goto out;
		}
		a.user = cfg->epki_username;
		a.password = pw;
		auth = &a;
	}
	config_epki_opts(cfg, &o);
	(void)epki_order_revoke_call(&o, auth, order_id, &r, &err);
	if (r.cls == EPKI_OK || r.cls == EPKI_WARNING) {
		if (r.cls == EPKI_WARNING)
			resp_detail(cr, cfg->epki_url, &r, err.msg);
		rc = 0;
	} else if (r.cls == EPKI_CONFLICT &&
	    order_is_revoked(&o, auth, order_id)) {
		detail_add(cr, "order %s was already revoked at GlobalSign",
		    order_id);
		rc = 0;
	} else {
		detail_add(cr, "GlobalSign did not revoke order %s (%s)",
		    order_id, epki_class_name(r.cls));
		resp_detail(cr, cfg->epki_url, &r, err.msg);
	}
out:
	epki_resp_cleanup(&r);
	gw_secret_free(pw);
	return rc;
}

/* Looks serial up and refuses what cannot be revoked. */
static enum cert_revoke_res
revoke_find(struct db *db, const char *serial, struct db_cert *c,
    struct cert_revoke *cr)
{
	struct gw_err err;
	char when[32];
	int found;

	found = db_cert_get(db, serial, c, &err);
	if (found == -1) {
		detail_add(cr, "database: %s", err.msg);
		return CERT_REVOKE_DB;
	}
	if (found == 1) {
		detail_add(cr,
		    "no certificate with serial %s was issued through this "
		    "gateway (see scepgw cert list)",
		    serial);
		return CERT_REVOKE_NOT_FOUND;
	}
	if (c->revoked != 0) {
		cert_time_fmt(c->revoked, when, sizeof(when));
		detail_add(cr,
		    "certificate %s is already revoked (%s, reason %s); "
		    "nothing to do",
		    serial, when,
		    c->revoke_reason != NULL ? c->revoke_reason : "-");
		return CERT_REVOKE_ALREADY;
	}
	if (c->order_id == NULL || c->order_id[0] == '\0') {
		detail_add(cr,
		    "certificate %s has no GlobalSign OrderID recorded; "
		    "revoke it in GCC (Enterprise PKI > Search Orders)",
		    serial);
		return CERT_REVOKE_NO_ORDER;
	}
	return CERT_REVOKE_OK;
}

/*
 * Revokes the certificate with serial (hex as an admin types it) for
 * reason (an RFC 5280 name; NULL: "unspecified"): at GlobalSign first,
 * then in the database, so the record never claims a revocation that did
 * not happen. auth is the EPKI login (NULL: read [epki] password_file).
 * Used by `scepgw cert revoke` and the admin API. Fills *cr (the stored
 * serial, the order, and one or more lines of detail, no secrets) and
 * returns the outcome; CERT_REVOKE_OK means revoked and recorded.
 */
enum cert_revoke_res
cert_revoke(const struct gw_config *cfg, struct db *db,
    const struct epki_auth *auth, const char *serial, const char *reason,
    struct cert_revoke *cr)
{
	enum cert_revoke_res res;
	struct db_cert c;
	struct gw_err err;

	memset(cr, 0, sizeof(*cr));
	memset(&c, 0, sizeof(c));
	if (reason == NULL)
		reason = "unspecified";
	snprintf(cr->reason, sizeof(cr->reason), "%s", reason);
	if (cert_serial_normalize(serial, cr->serial, sizeof(cr->serial)) ==
	    -1) {
		detail_add(cr, "serial must be a hexadecimal number");
		return CERT_REVOKE_BAD_SERIAL;
	}
	if (!cert_revoke_reason_known(reason)) {
		detail_add(cr, "unknown reason \"%.40s\"", reason);
		return CERT_REVOKE_BAD_REASON;
	}
	if ((res = revoke_find(db, cr->serial, &c, cr)) != CERT_REVOKE_OK)
		goto out;
	snprintf(cr->order_id, sizeof(cr->order_id), "%s", c.order_id);
	res = CERT_REVOKE_UPSTREAM;
	if (revoke_upstream(cfg, auth, c.order_id, cr) != 0)
		goto out;
	res = CERT_REVOKE_DB;
	if (db_cert_set_revoked(db, cr->serial, (int64_t)time(NULL), reason,
		&err) == -1) {
		detail_add(cr,
		    "GlobalSign revoked order %s, but recording it failed: %s",
		    c.order_id, err.msg);
		goto out;
	}
	res = CERT_REVOKE_OK;
out:
	db_cert_cleanup(&c);
	return res;
}

/* Formats unix seconds as UTC ISO 8601, or "-" for 0. */
void
cert_time_fmt(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL) {
		snprintf(out, n, "-");
		return;
	}
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
