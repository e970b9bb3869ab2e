/*
 * `scepgw backup FILE [--force]` and `scepgw restore FILE
 * [--keep-challenges]` (README "Backup and restore"): the SQLite
 * database of [db] path copied while `serve` runs, and put back while it
 * does not (db/'s db_backup_to(), db_restore_from()). On PostgreSQL
 * ([db] url) both refuse and name pg_dump. Exit status 0, 1 or 2.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "db.h"
#include "gw_err.h"

#define EXIT_USAGE 2

/* Parses FILE and the one flag (--force, --keep-challenges) a command
 * takes; argv[0] is the command. 0 or -1. */
static int
backup_parse(int argc, char **argv, const char *flag, const char **file,
    bool *set)
{
	const struct option opts[] = {
		{ flag, no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	*set = false;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'f')
			return -1;
		*set = true;
	}
	if (optind + 1 != argc || argv[optind][0] == '\0')
		return -1;
	*file = argv[optind];
	return 0;
}

/* Loads the config; NULL (message printed) when it fails or names
 * PostgreSQL, whose backups are pg_dump's. */
static struct gw_config *
backup_config(const char *conf, const char *cmd)
{
	struct cli c = { conf, 0, NULL };
	struct gw_config *cfg;

	if ((cfg = cli_config(&c)) == NULL)
		return NULL;
	if (cfg->db_url != NULL) {
		fprintf(stderr,
		    "scepgw: %s: [db] url is set: %s works on a SQLite "
		    "database ([db] path); back up PostgreSQL with pg_dump -Fc "
		    "and restore with pg_restore into an empty database "
		    "(README \"Backup and restore\")\n",
		    conf, cmd);
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

/* Prints the schema version and each table's rows. */
static void
backup_report(const struct db_backup_info *info)
{
	size_t i;

	printf("  schema version %d (this program's: %d), integrity_check ok\n",
	    info->schema, info->schema_latest);
	printf("  %-16s %10s\n", "table", "rows");
	for (i = 0; i < info->ntables; i++)
		printf("  %-16s %10lld\n", info->tables[i].name,
		    (long long)info->tables[i].rows);
}

/* `scepgw backup FILE [--force]`; argv[0] is "backup". */
int
cli_backup(const char *conf, int argc, char **argv)
{
	struct db_backup_info info;
	struct gw_config *cfg;
	struct gw_err err;
	const char *file = NULL;
	bool force;
	int rc = 1;

	if (backup_parse(argc, argv, "force", &file, &force) == -1) {
		fprintf(stderr,
		    "usage: scepgw [-c FILE] backup FILE "
		    "[--force]\n");
		return EXIT_USAGE;
	}
	if ((cfg = backup_config(conf, "backup")) == NULL)
		return 1;
	gw_err_clear(&err);
	if (db_backup_to(cfg->db_path, file, force ? DB_BACKUP_FORCE : 0, &info,
		&err) == -1) {
		fprintf(stderr, "scepgw: backup of %s: %s\n", cfg->db_path,
		    err.msg);
		goto out;
	}
	printf("backed up %s to %s (0600), one consistent snapshot:\n",
	    cfg->db_path, file);
	backup_report(&info);
	if (info.ordering > 0)
		printf("  %lld transactions were ordering: after a restore the "
		       "reconciler looks their orders up at GlobalSign\n",
		    (long long)info.ordering);
	printf("keep the RA key, the config and its secret files with it "
	       "(README \"Backup and restore\")\n");
	rc = 0;
out:
	config_free(cfg);
	return rc;
}

/* What a restore did, and what it leaves to the administrator. */
static void
restore_report(const char *path, const char *file,
    const struct db_backup_info *info, bool keep)
{
	printf("restored %s to %s (0600, uid %ld, gid %ld):\n", file, path,
	    info->uid, info->gid);
	backup_report(info);
	if (info->schema < info->schema_latest)
		printf("  schema version %d is older: the next scepgw serve "
		       "(or any command that opens it) migrates it to %d\n",
		    info->schema, info->schema_latest);
	if (info->kept[0] != '\0')
		printf("the previous database is kept as %s (0600)\n",
		    info->kept);
	if (keep)
		printf(
		    "kept %lld unused challenges usable (--keep-challenges): "
		    "one consumed after the backup can buy a second "
		    "certificate\n",
		    (long long)info->unused);
	else
		printf("revoked %lld unused challenges (one consumed after the "
		       "backup would be usable again): issue new ones with "
		       "scepgw challenge new\n",
		    (long long)info->revoked);
	if (info->ordering > 0)
		printf("%lld transactions are ordering: scepgw serve looks "
		       "each order up at GlobalSign and orders again only "
		       "when GlobalSign has none\n",
		    (long long)info->ordering);
	printf("certificates issued after the backup are not in scepgw cert "
	       "list; GlobalSign's portal lists them (README \"Backup and "
	       "restore\")\n");
}

/* `scepgw restore FILE [--keep-challenges]`; argv[0] is "restore". */
int
cli_restore(const char *conf, int argc, char **argv)
{
	struct db_backup_info info;
	struct gw_config *cfg;
	struct gw_err err;
	const char *file = NULL;
	bool keep;
	int rc = 1;

	if (backup_parse(argc, argv, "keep-challenges", &file, &keep) == -1) {
		fprintf(stderr,
		    "usage: scepgw [-c FILE] restore FILE "
		    "[--keep-challenges]\n");
		return EXIT_USAGE;
	}
	if ((cfg = backup_config(conf, "restore")) == NULL)
		return 1;
	gw_err_clear(&err);
	if (db_restore_from(cfg->db_path, file,
		keep ? DB_RESTORE_KEEP_CHALLENGES : 0, &info, &err) == -1) {
		if (err.code == DB_ERR_BUSY)
			fprintf(stderr,
			    "scepgw: %s: the database is being served by a "
			    "running scepgw serve; stop scepgw serve first\n",
			    cfg->db_path);
		else
			fprintf(stderr,
			    "scepgw: restore of %s: %s (the database is left "
			    "as it was)\n",
			    file, err.msg);
		goto out;
	}
	restore_report(cfg->db_path, file, &info, keep);
	rc = 0;
out:
	config_free(cfg);
	return rc;
}
