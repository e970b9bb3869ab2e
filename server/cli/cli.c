/*
 * The scepgw command line (README "Commands"): --version, serve, init,
 * check, challenge new|list|revoke, cert list|revoke, user, mobileconfig,
 * db migrate, backup, restore. Exit status 0 on
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

void
cli_usage(FILE *f)
{
	fprintf(f,
	    "usage: scepgw [-c FILE] COMMAND [options]\n"
	    "       scepgw -V | --version | -h | --help\n"
	    "commands:\n"
	    "  serve                       run the SCEP listener\n"
	    "  init --dir DIR [--epki-url URL] [--epki-user U]\n"
	    "       [--epki-password-file F] [--profile-id ID]\n"
	    "       [--ca-chain FILE] [--self-signed-ra] [--listen ADDR]\n"
	    "       [--force] [--user NAME] [--db-path PATH |\n"
	    "       --db-url URL [--db-password-file F]]\n"
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
	    "  user add NAME --role viewer|admin\n"
	    "                              add a user of the admin web\n"
	    "                              console (password on stdin)\n"
	    "  user set NAME [--profile P[,P...]]... [--role R]\n"
	    "                              change a user's profiles, role\n"
	    "  user list | remove NAME     list / remove those users\n"
	    "  mobileconfig [--profile NAME] (--challenge C | --dynamic)\n"
	    "       [--name N] [--url URL] [--cn CN]\n"
	    "                              print an Apple .mobileconfig\n"
	    "  db migrate --to URL [--db-password-file F]\n"
	    "                              copy the SQLite instance into an\n"
	    "                              empty PostgreSQL database\n"
	    "  backup FILE [--force]       copy the SQLite database into FILE,\n"
	    "                              also while serve runs\n"
	    "  restore FILE [--keep-challenges]\n"
	    "                              put a backup in place (serve\n"
	    "                              stopped); revokes its unused\n"
	    "                              challenges unless told not to\n"
	    "every command takes -c FILE (default " DEFAULT_CONF ")\n");
}

/* Parses a decimal number within bounds; 0 or -1. */
int
cli_parse_long(const char *s, long lo, long hi, long *out)
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
struct gw_config *
cli_config(const struct cli *c)
{
	struct gw_config *cfg = NULL;

	if (config_load(&cfg, c->conf, stderr) == -1)
		return NULL;
	log_init(cfg->log_level);
	log_format_set((enum log_format)cfg->log_format);
	return cfg;
}

/* The database of a config, for messages: [db] path, or "[db] url" (a
 * URL may hold a password, so it is never printed). */
const char *
cli_db_name(const struct gw_config *cfg)
{
	return cfg->db_url != NULL ? "[db] url" : cfg->db_path;
}

/*
 * Opens the database of a config: SQLite at [db] path, or PostgreSQL at
 * [db] url with the password of [db] password_file (mode 0600, like
 * [epki] password_file; run by root, of any owner: README "Commands";
 * serve checks its owner before). Returns 0, or -1 with err set.
 */
int
cli_db_open(const struct gw_config *cfg, struct db **db, struct gw_err *err)
{
	struct gw_err e;
	char *pw = NULL;
	int rc;

	if (cfg->db_url == NULL)
		return db_open(db, cfg->db_path, err);
	*db = NULL;
	gw_err_clear(&e);
	if (cfg->db_password_file != NULL &&
	    gw_secret_read_preroot(cfg->db_password_file, &pw, &e) == -1) {
		gw_err_set(err, DB_ERR_ARG, "[db] password_file: %s", e.msg);
		return -1;
	}
	rc = db_open_url(db, cfg->db_url, pw, NULL,
	    (int)cfg->db_timeout_seconds, err);
	gw_secret_free(pw);
	return rc;
}

/* Opens the database of a config; prints the error. */
struct db *
cli_db(const struct gw_config *cfg)
{
	struct gw_err err;
	struct db *db = NULL;

	if (cli_db_open(cfg, &db, &err) == -1) {
		fprintf(stderr, "scepgw: %s: %s\n", cli_db_name(cfg), err.msg);
		return NULL;
	}
	return db;
}

/* `scepgw serve` */
static int
cmd_serve(const struct cli *c)
{
	struct gw_config *cfg;
	int rc;

	if (c->argc > 0) {
		cli_usage(stderr);
		return EXIT_USAGE;
	}
	if (serve_conf_check(c->conf) == -1 || (cfg = cli_config(c)) == NULL)
		return 1;
	rc = serve_run(cfg);
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
			cli_usage(stdout);
			exit(0);
		} else if (strcmp(argv[i], "-V") == 0 ||
		    strcmp(argv[i], "--version") == 0) {
			cli_version(stdout);
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
		cli_usage(stderr);
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
			return cli_challenge_new(&c);
		c.argv = rest + 2;
		c.argc = nrest - 2;
		cli_take_conf(&c);
		if (strcmp(rest[1], "list") == 0 ||
		    strcmp(rest[1], "revoke") == 0)
			return cli_db_simple(&c, rest[1]);
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
		return cli_db_simple(&c, "certs");
	}
	if (strcmp(rest[0], "db") == 0 && nrest >= 2 &&
	    strcmp(rest[1], "migrate") == 0) {
		c.argv = rest + 1;
		c.argc = nrest - 1;
		cli_take_conf(&c);
		return cli_db_migrate(c.conf, c.argc, c.argv);
	}
	if (strcmp(rest[0], "backup") == 0 || strcmp(rest[0], "restore") == 0) {
		c.argv = rest;
		c.argc = nrest;
		cli_take_conf(&c);
		return rest[0][0] == 'b' ? cli_backup(c.conf, c.argc, c.argv) :
					   cli_restore(c.conf, c.argc, c.argv);
	}
	if (strcmp(rest[0], "mobileconfig") == 0) {
		c.argv = rest;
		c.argc = nrest;
		cli_take_conf(&c);
		return cli_mobileconfig(c.conf, c.argc, c.argv);
	}
	cli_usage(stderr);
	return EXIT_USAGE;
}
