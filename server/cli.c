/*
 * The scepgw command line (README "Commands"): serve, init,
 * check, challenge new|list|revoke, cert list|revoke. Exit status 0 on
 * success, 1 on a failure the message explains, 2 on bad usage. Errors go
 * to stderr as one line; no secret is ever printed except a challenge
 * that was just made.
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
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "buf.h"
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

#define DEFAULT_CONF "/etc/scepgw/scepgw.conf"
#define EXIT_USAGE 2

/* Options every command shares. */
struct cli {
	const char *conf;
	int argc;
	char **argv;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: scepgw [-c FILE] COMMAND [options]\n"
	    "commands:\n"
	    "  serve                       run the SCEP listener\n"
	    "  init --dir DIR [--epki-url URL] [--epki-user U]\n"
	    "       [--epki-password-file F] [--profile-id ID]\n"
	    "       [--ca-chain FILE] [--self-signed-ra] [--listen ADDR]\n"
	    "                              create an instance in DIR\n"
	    "  check                       validate config, files, RA, db\n"
	    "  challenge new [--ttl S] [--cn NAME] [--email ADDR] [--ou OU]\n"
	    "                [--upn UPN] [--count N] [--profile NAME]\n"
	    "                              print one-time challenges\n"
	    "  challenge list              list challenges (never secrets)\n"
	    "  challenge revoke ID         withdraw a challenge\n"
	    "  cert list                   list issued certificates\n"
	    "  cert revoke SERIAL [--reason R]\n"
	    "                              revoke at GlobalSign, record it\n"
	    "  user add NAME [--no-issue] [--profile P[,P...]]...\n"
	    "                              add a user of the NDES challenge\n"
	    "                              page (password on stdin), for\n"
	    "                              those profiles (default: default)\n"
	    "  user set NAME --profile P[,P...]...\n"
	    "                              change a user's profiles\n"
	    "  user list | remove NAME     list / remove those users\n"
	    "  mobileconfig [--profile NAME] (--challenge C | --dynamic)\n"
	    "       [--name N] [--url URL] [--cn CN]\n"
	    "                              print an Apple .mobileconfig\n"
	    "every command takes -c FILE (default " DEFAULT_CONF ")\n");
}

/* Parses a decimal number within bounds; 0 or -1. */
static int
parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* Loads the config named by -c; prints the errors. */
static struct gw_config *
cli_config(const struct cli *c)
{
	struct gw_config *cfg = NULL;

	if (config_load(&cfg, c->conf, stderr) == -1)
		return NULL;
	log_init(cfg->log_level);
	return cfg;
}

/* Opens the database of a config; prints the error. */
static struct db *
cli_db(const struct gw_config *cfg)
{
	struct gw_err err;
	struct db *db = NULL;

	if (db_open(&db, cfg->db_path, &err) == -1) {
		fprintf(stderr, "scepgw: %s: %s\n", cfg->db_path, err.msg);
		return NULL;
	}
	return db;
}

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

/* `scepgw serve` */
static int
cmd_serve(const struct cli *c)
{
	struct gw_config *cfg;
	int rc;

	if (c->argc > 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (serve_conf_check(c->conf) == -1 || (cfg = cli_config(c)) == NULL)
		return 1;
	rc = serve_run(cfg);
	config_free(cfg);
	return rc;
}

/* Makes one challenge: 128 random bits as 32 hex digits. */
static int
challenge_make(char out[33], uint8_t hash[32])
{
	uint8_t raw[16];
	size_t i;

	if (gw_random_bytes(raw, sizeof(raw)) == -1)
		return -1;
	gw_hex(raw, sizeof(raw), out);
	for (i = 0; out[i] != '\0'; i++)
		if (out[i] >= 'a' && out[i] <= 'f')
			out[i] = (char)(out[i] - 'a' + 'A');
	SHA256((const unsigned char *)out, strlen(out), hash);
	gw_cleanse(raw, sizeof(raw));
	return 0;
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
static int
cmd_challenge_new(const struct cli *c)
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
	char secret[33];
	uint8_t hash[32];
	int64_t now, id;
	int ch, rc = 1;

	optind = 1;
	while ((ch = getopt_long(c->argc, c->argv, "c:", opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			if (parse_long(optarg, 60, 31536000, &ttl) == -1)
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
			if (parse_long(optarg, 1, 10000, &count) == -1)
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
		if (challenge_make(secret, hash) == -1) {
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
static int
cmd_db_simple(const struct cli *c, const char *what)
{
	struct gw_config *cfg = NULL;
	struct db *db = NULL;
	struct gw_err err;
	long id = 0;
	int rc = 1;

	if (strcmp(what, "revoke") == 0) {
		if (c->argc != 1 ||
		    parse_long(c->argv[0], 1, LONG_MAX, &id) == -1) {
			fprintf(stderr, "usage: scepgw challenge revoke ID\n");
			return EXIT_USAGE;
		}
	} else if (c->argc != 0) {
		usage(stderr);
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

/* Pulls -c/--config out of argv wherever it stands before the command. */
static int
cli_split(int argc, char **argv, struct cli *c, char ***rest, int *nrest)
{
	int i = 1;

	c->conf = DEFAULT_CONF;
	while (i < argc && argv[i][0] == '-') {
		if ((strcmp(argv[i], "-c") == 0 ||
			strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc) {
			c->conf = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			exit(0);
		} else
			return -1;
	}
	*rest = argv + i;
	*nrest = argc - i;
	return *nrest > 0 ? 0 : -1;
}

/* Removes a trailing "-c FILE" from a command's own words. */
static void
cli_take_conf(struct cli *c)
{
	int i, j;

	for (i = 0; i < c->argc; i++) {
		if ((strcmp(c->argv[i], "-c") == 0 ||
			strcmp(c->argv[i], "--config") == 0) &&
		    i + 1 < c->argc) {
			c->conf = c->argv[i + 1];
			for (j = i; j + 2 <= c->argc; j++)
				c->argv[j] = c->argv[j + 2];
			c->argc -= 2;
			i--;
		}
	}
}

/* Entry point of the scepgw binary. */
int
cli_main(int argc, char **argv)
{
	char **rest;
	int nrest;
	struct cli c;

	if (cli_split(argc, argv, &c, &rest, &nrest) == -1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	c.argv = rest + 1;
	c.argc = nrest - 1;
	if (strcmp(rest[0], "serve") == 0) {
		cli_take_conf(&c);
		return cmd_serve(&c);
	}
	if (strcmp(rest[0], "init") == 0)
		return cli_init(c.conf, nrest, rest);
	if (strcmp(rest[0], "check") == 0) {
		cli_take_conf(&c);
		return cli_check(c.conf, c.argc);
	}
	if (strcmp(rest[0], "challenge") == 0 && nrest >= 2) {
		c.argv = rest + 1;
		c.argc = nrest - 1;
		if (strcmp(rest[1], "new") == 0)
			return cmd_challenge_new(&c);
		c.argv = rest + 2;
		c.argc = nrest - 2;
		cli_take_conf(&c);
		if (strcmp(rest[1], "list") == 0 ||
		    strcmp(rest[1], "revoke") == 0)
			return cmd_db_simple(&c, rest[1]);
	}
	if (strcmp(rest[0], "user") == 0 && nrest >= 2) {
		cli_take_conf(&c);
		return cli_user(c.conf, c.argc, c.argv);
	}
	if (strcmp(rest[0], "cert") == 0 && nrest >= 2 &&
	    strcmp(rest[1], "revoke") == 0) {
		cli_take_conf(&c);
		return cli_cert_revoke(c.conf, c.argc, c.argv);
	}
	if (strcmp(rest[0], "cert") == 0 && nrest >= 2 &&
	    strcmp(rest[1], "list") == 0) {
		c.argv = rest + 2;
		c.argc = nrest - 2;
		cli_take_conf(&c);
		return cmd_db_simple(&c, "certs");
	}
	if (strcmp(rest[0], "mobileconfig") == 0) {
		c.argv = rest;
		c.argc = nrest;
		cli_take_conf(&c);
		return cli_mobileconfig(c.conf, c.argc, c.argv);
	}
	usage(stderr);
	return EXIT_USAGE;
}
