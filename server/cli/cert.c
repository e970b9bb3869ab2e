/*
 * `scepgw cert list` and `scepgw cert revoke SERIAL [--reason R]`. A
 * revocation goes upstream first (EPKI Revoke with the certificate's
 * OrderID) and is recorded in the database only once GlobalSign has
 * confirmed it, so the local record never claims a revocation that did not
 * happen. EPKI's Revoke has no reason field: the reason is kept locally,
 * for the operator.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdarg.h>
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
#include "revoke.h"
#include "secure.h"

#define EXIT_USAGE 2
#define SERIAL_MAX 80

static int
cert_print(void *arg, const struct db_cert *ct)
{
	char issued[32], until[32], revoked[32];

	(void)arg;
	cert_time_fmt(ct->issued, issued, sizeof(issued));
	cert_time_fmt(ct->not_after, until, sizeof(until));
	cert_time_fmt(ct->revoked, revoked, sizeof(revoked));
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
	return cert_revoke_reason_known(*reason) ? 0 : -1;
}

/* Prints each line of the detail with the program's prefix. */
static void
detail_print(FILE *f, const char *detail)
{
	const char *nl;

	while (*detail != '\0') {
		nl = strchr(detail, '\n');
		if (nl == NULL)
			nl = detail + strlen(detail);
		fprintf(f, "scepgw: %.*s\n", (int)(nl - detail), detail);
		detail = *nl != '\0' ? nl + 1 : nl;
	}
}

/* `scepgw cert revoke SERIAL [--reason R]`; argv[0] is "revoke". */
int
cli_cert_revoke(const char *conf, int argc, char **argv)
{
	struct gw_config *cfg = NULL;
	struct cert_revoke cr;
	struct db *db = NULL;
	struct gw_err err;
	const char *arg, *reason;
	char serial[SERIAL_MAX];
	int rc = 1;

	if (revoke_parse(argc, argv, &arg, &reason) == -1 ||
	    cert_serial_normalize(arg, serial, sizeof(serial)) == -1) {
		fprintf(stderr,
		    "usage: scepgw cert revoke SERIAL (hex) [--reason "
		    "unspecified|keyCompromise|affiliationChanged|superseded|"
		    "cessationOfOperation|certificateHold|"
		    "privilegeWithdrawn]\n");
		return EXIT_USAGE;
	}
	if (config_load(&cfg, conf, stderr) == -1)
		goto out;
	if (cli_db_open(cfg, &db, &err) == -1) {
		fprintf(stderr, "scepgw: %s: %s\n", cli_db_name(cfg), err.msg);
		goto out;
	}
	if (cert_revoke(cfg, db, NULL, arg, reason, &cr) != CERT_REVOKE_OK) {
		detail_print(stderr, cr.detail);
		goto out;
	}
	detail_print(stdout, cr.detail);
	printf("certificate %s (order %s) revoked at GlobalSign; reason %s "
	       "recorded\n",
	    cr.serial, cr.order_id, reason);
	rc = 0;
out:
	db_close(db);
	config_free(cfg);
	return rc;
}
