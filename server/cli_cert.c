/*
 * `scepgw cert list` and `scepgw cert revoke SERIAL [--reason R]`. A
 * revocation goes upstream first (EPKI Revoke with the certificate's
 * OrderID, spec/epki-api.md 5.4) and is recorded in the database only
 * once GlobalSign has confirmed it, so the local record never claims a
 * revocation that did not happen. EPKI's Revoke has no reason field: the
 * reason is kept locally, for the operator.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "config.h"
#include "db.h"
#include "epki.h"
#include "gw.h"
#include "gw_err.h"
#include "secure.h"

#define EXIT_USAGE 2
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

/* Formats unix seconds as UTC ISO 8601, or "-" for 0. */
static void
time_fmt(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL) {
		snprintf(out, n, "-");
		return;
	}
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int
cert_print(void *arg, const struct db_cert *ct)
{
	char issued[32], until[32], revoked[32];

	(void)arg;
	time_fmt(ct->issued, issued, sizeof(issued));
	time_fmt(ct->not_after, until, sizeof(until));
	time_fmt(ct->revoked, revoked, sizeof(revoked));
	printf("%s %s %s %s order=%s", ct->serial_hex, issued, until,
	    ct->subject != NULL ? ct->subject : "-",
	    ct->order_id != NULL ? ct->order_id : "-");
	if (ct->revoked != 0)
		printf(" REVOKED %s reason=%s", revoked,
		    ct->revoke_reason != NULL ? ct->revoke_reason : "-");
	printf("\n");
	return 0;
}

/* Prints the certificate table. */
int
cli_cert_list(struct db *db, struct gw_err *err)
{
	printf("serial issued not_after subject order\n");
	return db_cert_list(db, cert_print, NULL, err);
}

/*
 * Brings a serial as an admin may type it ("0a:1b", "0x0A1B", "00A1B")
 * to the stored form: upper-case hex, no separators, no leading zero
 * bytes (BN_bn2hex). Returns 0, or -1 when it is not a hex number.
 */
static int
serial_normalize(const char *in, char *out, size_t n)
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

static bool
reason_is_known(const char *r)
{
	size_t i;

	for (i = 0; reasons[i] != NULL; i++)
		if (strcmp(reasons[i], r) == 0)
			return true;
	return false;
}

/* Parses SERIAL [--reason R]; argv[0] is the word "revoke". */
static int
revoke_parse(int argc, char **argv, const char **serial, const char **reason)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	*reason = "unspecified";
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'r')
			return -1;
		*reason = optarg;
	}
	if (optind + 1 != argc)
		return -1;
	*serial = argv[optind];
	return reason_is_known(*reason) ? 0 : -1;
}

/* Prints every GlobalSign error of r to stderr, with advice if known. */
static void
resp_print(const char *url, const struct epki_resp *r, const char *msg)
{
	const char *advice;
	size_t i;

	if (r->cls == EPKI_TRANSPORT) {
		fprintf(stderr,
		    "scepgw: no usable answer from GlobalSign at %s: %s; "
		    "nothing was recorded (run the command again)\n",
		    url, r->fault[0] != '\0' ? r->fault : msg);
		return;
	}
	for (i = 0; i < r->nerrors; i++) {
		fprintf(stderr, "scepgw: GlobalSign ErrorCode %d%s%s: %s\n",
		    r->errors[i].code,
		    r->errors[i].field[0] != '\0' ? " ErrorField " : "",
		    r->errors[i].field, r->errors[i].message);
		if ((advice = cli_epki_advice(r->errors[i].code)) != NULL)
			fprintf(stderr, "scepgw: %s\n", advice);
	}
}

/*
 * After a "status already changed" answer: is the order revoked at
 * GlobalSign (order status 6 or 7, spec 8), e.g. from the GCC portal?
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
 * Calls EPKI Revoke for the order. Returns 0 when GlobalSign confirmed
 * (or shows the order already revoked), 1 otherwise (message printed).
 */
static int
revoke_upstream(const struct gw_config *cfg, const char *order_id)
{
	struct epki_client_opts o;
	struct epki_auth auth;
	struct epki_resp r;
	struct gw_err err;
	char *pw = NULL;
	int rc = 1;

	epki_resp_init(&r);
	gw_err_clear(&err);
	if (gw_secret_read(cfg->epki_password_file, &pw, &err) == -1) {
		fprintf(stderr, "scepgw: [epki] password_file: %s\n", err.msg);
		goto out;
	}
	serve_epki_opts(cfg, &o);
	auth.user = cfg->epki_username;
	auth.password = pw;
	(void)epki_order_revoke_call(&o, &auth, order_id, &r, &err);
	if (r.cls == EPKI_OK || r.cls == EPKI_WARNING) {
		if (r.cls == EPKI_WARNING)
			resp_print(cfg->epki_url, &r, err.msg);
		rc = 0;
	} else if (r.cls == EPKI_CONFLICT &&
	    order_is_revoked(&o, &auth, order_id)) {
		printf("order %s was already revoked at GlobalSign\n",
		    order_id);
		rc = 0;
	} else {
		fprintf(stderr,
		    "scepgw: GlobalSign did not revoke order %s (%s)\n",
		    order_id, epki_class_name(r.cls));
		resp_print(cfg->epki_url, &r, err.msg);
	}
out:
	epki_resp_cleanup(&r);
	gw_secret_free(pw);
	return rc;
}

/* Looks serial up and refuses what cannot be revoked; 0 or 1. */
static int
revoke_find(struct db *db, const char *serial, struct db_cert *c)
{
	struct gw_err err;
	char when[32];
	int found;

	found = db_cert_get(db, serial, c, &err);
	if (found == -1) {
		fprintf(stderr, "scepgw: database: %s\n", err.msg);
		return 1;
	}
	if (found == 1) {
		fprintf(stderr,
		    "scepgw: no certificate with serial %s was issued "
		    "through this gateway (see scepgw cert list)\n",
		    serial);
		return 1;
	}
	if (c->revoked != 0) {
		time_fmt(c->revoked, when, sizeof(when));
		fprintf(stderr,
		    "scepgw: certificate %s is already revoked (%s, "
		    "reason %s); nothing to do\n",
		    serial, when,
		    c->revoke_reason != NULL ? c->revoke_reason : "-");
		return 1;
	}
	if (c->order_id == NULL || c->order_id[0] == '\0') {
		fprintf(stderr,
		    "scepgw: certificate %s has no GlobalSign OrderID "
		    "recorded; revoke it in GCC (Enterprise PKI > Search "
		    "Orders)\n",
		    serial);
		return 1;
	}
	return 0;
}

/* `scepgw cert revoke SERIAL [--reason R]`; argv[0] is "revoke". */
int
cli_cert_revoke(const char *conf, int argc, char **argv)
{
	struct gw_config *cfg = NULL;
	struct db_cert c;
	struct db *db = NULL;
	struct gw_err err;
	const char *arg, *reason;
	char serial[SERIAL_MAX];
	int rc = 1;

	memset(&c, 0, sizeof(c));
	if (revoke_parse(argc, argv, &arg, &reason) == -1 ||
	    serial_normalize(arg, serial, sizeof(serial)) == -1) {
		fprintf(stderr,
		    "usage: scepgw cert revoke SERIAL (hex) [--reason "
		    "unspecified|keyCompromise|affiliationChanged|superseded|"
		    "cessationOfOperation|certificateHold|"
		    "privilegeWithdrawn]\n");
		return EXIT_USAGE;
	}
	if (config_load(&cfg, conf, stderr) == -1)
		goto out;
	if (db_open(&db, cfg->db_path, &err) == -1) {
		fprintf(stderr, "scepgw: %s: %s\n", cfg->db_path, err.msg);
		goto out;
	}
	if (revoke_find(db, serial, &c) != 0 ||
	    revoke_upstream(cfg, c.order_id) != 0)
		goto out;
	if (db_cert_set_revoked(db, serial, (int64_t)time(NULL), reason,
		&err) == -1) {
		fprintf(stderr,
		    "scepgw: GlobalSign revoked order %s, but recording it "
		    "failed: %s\n",
		    c.order_id, err.msg);
		goto out;
	}
	printf("certificate %s (order %s) revoked at GlobalSign; reason %s "
	       "recorded\n",
	    serial, c.order_id, reason);
	rc = 0;
out:
	db_cert_cleanup(&c);
	db_close(db);
	config_free(cfg);
	return rc;
}
