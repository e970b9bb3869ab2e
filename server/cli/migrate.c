/*
 * `scepgw db migrate --to URL [--db-password-file F]` (README "Commands",
 * "PostgreSQL"): moves the instance of a config's SQLite database
 * ([db] path) into an empty PostgreSQL database. The source is opened
 * read-only and its serve lock held throughout, so no `scepgw serve`
 * runs on it meanwhile; the target is created or migrated as by
 * `init --db-url`, and the copy is db_copy()'s: one transaction, checked
 * table by table before it commits. Prints what was copied and the [db]
 * lines to serve from PostgreSQL, never the password.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "config.h"
#include "db.h"
#include "gw_err.h"
#include "secure.h"

#define EXIT_USAGE 2

/* The command's options. */
struct migrate_opts {
	const char *to;		   /* --to: the target's URL */
	const char *password_file; /* --db-password-file, or NULL */
};

/* Parses the words after "db"; argv[0] is "migrate". 0 or -1. */
static int
migrate_parse(int argc, char **argv, struct migrate_opts *o)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "db-password-file", required_argument, NULL, 'W' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			o->to = optarg;
			break;
		case 'W':
			o->password_file = optarg;
			break;
		default:
			return -1;
		}
	}
	if (optind != argc || o->to == NULL || o->to[0] == '\0')
		return -1;
	return 0;
}

/* The first 16 hex digits of a sum, for the table of counts. */
static void
sum_hex(const uint8_t sum[32], char out[17])
{
	uint8_t head[8];

	memcpy(head, sum, sizeof(head));
	gw_hex(head, sizeof(head), out);
}

/* Prints what was copied: per table the rows on both sides and sums. */
static void
migrate_report(const char *path, const struct db_copy_count *counts)
{
	char a[17], b[17];
	size_t i;

	printf("copied %s (SQLite) into PostgreSQL in one transaction:\n",
	    path);
	printf("  %-15s %10s %10s  %-16s %-16s\n", "table", "sqlite",
	    "postgresql", "sum sqlite", "sum postgresql");
	for (i = 0; i < DB_COPY_TABLES; i++) {
		sum_hex(counts[i].src_sum, a);
		sum_hex(counts[i].dst_sum, b);
		printf("  %-15s %10lld %10lld  %s %s", counts[i].table,
		    (long long)counts[i].src_rows,
		    (long long)counts[i].dst_rows, a, b);
		if (counts[i].dst_next_id > 0)
			printf("  next id %lld",
			    (long long)counts[i].dst_next_id);
		printf("\n");
	}
	printf("verified: every table has the same rows and the same sum "
	       "(SHA-256 of each row) on both sides\n");
}

/* Prints how to switch the config to the target, without its password. */
static void
migrate_advice(const char *conf, const struct gw_config *cfg,
    const struct migrate_opts *o, const char *url)
{
	printf("\nnext: keep scepgw serve stopped on %s (it is left as it "
	       "was;\nserving both would let a challenge be used twice), and "
	       "in [db] of %s\nreplace the line path = ... (%s) with\n"
	       "  url = %s\n",
	    cfg->db_path, conf, cfg->db_path, url);
	if (o->password_file != NULL)
		printf("  password_file = %s\n"
		       "(mode 0600, owned by the user scepgw serve runs as)\n",
		    o->password_file);
	else if (strcmp(url, o->to) != 0)
		printf("  password_file = FILE\n"
		       "(the URL's password, alone in FILE, mode 0600, owned "
		       "by the user scepgw serve runs as)\n");
	printf("then start scepgw serve; `scepgw check` names the backend.\n");
}

/* Opens the source read-only and takes its serve lock; prints errors. */
static struct db *
migrate_source(const struct gw_config *cfg)
{
	struct gw_err err;
	struct db *src = NULL;

	gw_err_clear(&err);
	if (db_open_readonly(&src, cfg->db_path, &err) == -1) {
		fprintf(stderr, "scepgw: [db] path %s: %s\n", cfg->db_path,
		    err.msg);
		return NULL;
	}
	if (db_serve_lock(src, &err) == -1) {
		if (err.code == DB_ERR_BUSY)
			fprintf(stderr,
			    "scepgw: %s: the database is being served by a "
			    "running scepgw serve; stop it first\n",
			    cfg->db_path);
		else
			fprintf(stderr, "scepgw: %s: %s\n", cfg->db_path,
			    err.msg);
		db_close(src);
		return NULL;
	}
	return src;
}

/* Opens (creating or migrating its schema) the target; prints errors. */
static struct db *
migrate_target(const struct migrate_opts *o)
{
	struct gw_err err;
	struct db *dst = NULL;
	char *pw = NULL;

	gw_err_clear(&err);
	if (o->password_file != NULL &&
	    gw_secret_read(o->password_file, &pw, &err) == -1) {
		fprintf(stderr, "scepgw: --db-password-file: %s\n", err.msg);
		return NULL;
	}
	if (db_open_url(&dst, o->to, pw, "migrate", 0, &err) == -1)
		fprintf(stderr, "scepgw: --to: %s\n", err.msg);
	gw_secret_free(pw);
	return dst;
}

/* `scepgw db migrate`; argv[0] is "migrate". Exit status 0, 1 or 2. */
int
cli_db_migrate(const char *conf, int argc, char **argv)
{
	struct db_copy_count counts[DB_COPY_TABLES];
	struct migrate_opts o;
	struct gw_config *cfg = NULL;
	struct db *src = NULL, *dst = NULL;
	struct gw_err err;
	struct cli c = { conf, 0, NULL };
	char *url = NULL;
	int rc = 1;

	if (migrate_parse(argc, argv, &o) == -1) {
		fprintf(stderr,
		    "usage: scepgw [-c FILE] db migrate --to URL "
		    "[--db-password-file F]\n");
		return EXIT_USAGE;
	}
	if ((cfg = cli_config(&c)) == NULL)
		return 1;
	if (cfg->db_url != NULL) {
		fprintf(stderr,
		    "scepgw: %s: [db] url is set: this instance is on "
		    "PostgreSQL already; db migrate moves one from [db] path "
		    "(SQLite)\n",
		    conf);
		goto out;
	}
	/* The source first: a refusal there leaves the target untouched. */
	if ((src = migrate_source(cfg)) == NULL ||
	    (dst = migrate_target(&o)) == NULL)
		goto out;
	gw_err_clear(&err);
	if (db_copy(src, dst, counts, &err) == -1) {
		fprintf(stderr, "scepgw: db migrate: %s\n", err.msg);
		goto out;
	}
	migrate_report(cfg->db_path, counts);
	if ((url = db_url_public(o.to)) == NULL) {
		fprintf(stderr, "scepgw: out of memory\n");
		goto out;
	}
	migrate_advice(conf, cfg, &o, url);
	rc = 0;
out:
	free(url);
	db_close(dst);
	db_close(src);
	config_free(cfg);
	return rc;
}
