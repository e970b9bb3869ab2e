/*
 * `scepgw challenge new|list|revoke`: making challenges from the command
 * line (the admin API's POST /api/v1/challenges does the same), listing
 * them without their secrets, withdrawing one; and `scepgw cert list`,
 * which shares the listing's plumbing. A challenge is printed once, when
 * it is made; the database keeps only its SHA-256.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "buf.h"
#include "challenge.h"
#include "cli.h"
#include "config.h"
#include "db.h"
#include "epki.h"
#include "gw.h"
#include "gw_err.h"
#include "log.h"
#include "scep.h"
#include "secure.h"
#include "template.h"

#define EXIT_USAGE 2

static void
fmt_time(int64_t t, char *out, size_t n)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t == 0) {
		snprintf(out, n, "-");
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*
 * Refuses a binding GlobalSign could not put in a certificate (README
 * "Identity templates"), naming the option. Returns 0, or -1 (reported).
 */
static int
binding_check(const char *cn, const char *email, const char *ou,
    const char *upn)
{
	const struct {
		const char *opt;
		enum tmpl_field f;
		const char *v;
	} f[] = {
		{ "--cn", TMPL_F_CN, cn },
		{ "--email", TMPL_F_EMAIL, email },
		{ "--ou", TMPL_F_OU, ou },
		{ "--upn", TMPL_F_UPN, upn },
	};
	char why[128];
	size_t i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (f[i].v != NULL && f[i].v[0] == '\0') {
			fprintf(stderr, "scepgw: %s: must not be empty\n",
			    f[i].opt);
			return -1;
		}
		if (tmpl_value_check(f[i].f, f[i].v, why, sizeof(why)) == -1) {
			fprintf(stderr, "scepgw: %s: %s\n", f[i].opt, why);
			return -1;
		}
	}
	return 0;
}

/* `scepgw challenge new` */
int
cli_challenge_new(const struct cli *c)
{
	static const struct option opts[] = {
		{ "ttl", required_argument, NULL, 't' },
		{ "cn", required_argument, NULL, 'n' },
		{ "email", required_argument, NULL, 'e' },
		{ "ou", required_argument, NULL, 'o' },
		{ "upn", required_argument, NULL, 'u' },
		{ "count", required_argument, NULL, 'k' },
		{ "profile", required_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cn = NULL, *email = NULL, *ou = NULL, *conf = c->conf;
	const char *profile = NULL, *upn = NULL;
	struct db_challenge_bind b;
	long ttl = -1, count = 1, i;
	struct gw_config *cfg = NULL;
	struct db *db = NULL;
	struct gw_err err;
	struct cli cc = *c;
	char secret[ENROLL_SECRET_LEN];
	uint8_t hash[32];
	int64_t now, id;
	int ch, rc = 1;

	optind = 1;
	while ((ch = getopt_long(c->argc, c->argv, "c:", opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			if (cli_parse_long(optarg, 60, 31536000, &ttl) == -1)
				goto bad;
			break;
		case 'n':
			cn = optarg;
			break;
		case 'e':
			email = optarg;
			break;
		case 'o':
			ou = optarg;
			break;
		case 'u':
			upn = optarg;
			break;
		case 'p':
			profile = optarg;
			break;
		case 'k':
			if (cli_parse_long(optarg, 1, 10000, &count) == -1)
				goto bad;
			break;
		case 'c':
			conf = optarg;
			break;
		default:
			goto bad;
		}
	}
	if (optind != c->argc)
		goto bad;
	if (binding_check(cn, email, ou, upn) == -1)
		return EXIT_USAGE;
	cc.conf = conf;
	if ((cfg = cli_config(&cc)) == NULL || (db = cli_db(cfg)) == NULL)
		goto out;
	if (ttl == -1)
		ttl = cfg->challenge_ttl_seconds;
	if (profile != NULL && config_profile_find(cfg, profile) == NULL) {
		fprintf(stderr, "scepgw: no [profile %s] in %s\n", profile,
		    cc.conf);
		goto out;
	}
	if (profile != NULL &&
	    config_profile_onetime_refusal(config_profile_find(cfg, profile))) {
		fprintf(stderr, "scepgw: [profile %s] %s\n", profile,
		    config_profile_onetime_refusal(
			config_profile_find(cfg, profile)));
		goto out;
	}
	if (profile != NULL && email != NULL &&
	    !config_profile_email_ok(config_profile_find(cfg, profile),
		email)) {
		fprintf(stderr,
		    "scepgw: --email: not in [profile %s] email_domains\n",
		    profile);
		goto out;
	}
	now = (int64_t)time(NULL);
	for (i = 0; i < count; i++) {
		if (enroll_challenge_make(secret, hash) == -1) {
			fprintf(stderr, "scepgw: no randomness\n");
			goto out;
		}
		b = (struct db_challenge_bind) { cn, email, ou, upn, profile };
		if (db_challenge_put_bound(db, hash, now, now + ttl, &b, &id,
			&err) == -1) {
			fprintf(stderr, "scepgw: %s\n", err.msg);
			goto out;
		}
		printf("%s\n", secret);
		gw_cleanse(secret, sizeof(secret));
	}
	fflush(stdout);
	rc = 0;
out:
	db_close(db);
	config_free(cfg);
	return rc;
bad:
	fprintf(stderr,
	    "usage: scepgw challenge new [--ttl SECONDS] [--cn "
	    "NAME] [--email ADDR] [--ou OU] [--upn UPN] [--count N] "
	    "[--profile NAME]\n");
	return EXIT_USAGE;
}

static const char *
challenge_state(const struct db_challenge *ch, int64_t now)
{
	if (ch->revoked)
		return "revoked";
	if (ch->used != 0)
		return "used";
	if (ch->expires <= now)
		return "expired";
	return "unused";
}

static int
challenge_print(void *arg, const struct db_challenge *ch)
{
	char created[32], expires[32];

	(void)arg;
	fmt_time(ch->created, created, sizeof(created));
	fmt_time(ch->expires, expires, sizeof(expires));
	printf("%-6lld %-8s %s %s cn=%s email=%s ou=%s upn=%s txid=%s\n",
	    (long long)ch->id, challenge_state(ch, (int64_t)time(NULL)),
	    created, expires, ch->cn != NULL ? ch->cn : "-",
	    ch->email != NULL ? ch->email : "-", ch->ou != NULL ? ch->ou : "-",
	    ch->upn != NULL ? ch->upn : "-", ch->txid != NULL ? ch->txid : "-");
	return 0;
}

/* `scepgw challenge list|revoke` and `scepgw cert list`. */
int
cli_db_simple(const struct cli *c, const char *what)
{
	struct gw_config *cfg = NULL;
	struct db *db = NULL;
	struct gw_err err;
	long id = 0;
	int rc = 1;

	if (strcmp(what, "revoke") == 0) {
		if (c->argc != 1 ||
		    cli_parse_long(c->argv[0], 1, LONG_MAX, &id) == -1) {
			fprintf(stderr, "usage: scepgw challenge revoke ID\n");
			return EXIT_USAGE;
		}
	} else if (c->argc != 0) {
		cli_usage(stderr);
		return EXIT_USAGE;
	}
	if ((cfg = cli_config(c)) == NULL || (db = cli_db(cfg)) == NULL)
		goto out;
	if (strcmp(what, "revoke") == 0)
		rc = db_challenge_revoke(db, id, &err);
	else if (strcmp(what, "list") == 0) {
		printf("%-6s %-8s %-20s %-20s binding\n", "id", "state",
		    "created", "expires");
		rc = db_challenge_list(db, challenge_print, NULL, &err);
	} else
		rc = cli_cert_list(db, &err);
	if (rc == -1)
		fprintf(stderr, "scepgw: %s\n", err.msg);
	else if (strcmp(what, "revoke") == 0)
		printf("challenge %ld revoked\n", id);
	rc = rc == -1 ? 1 : 0;
out:
	db_close(db);
	config_free(cfg);
	return rc;
}
