/*
 * `scepgw user add NAME [--no-issue] [--profile P[,P...]]... [--role R]`,
 * `user set NAME [--profile P[,P...]]... [--role R]`, `user list`, `user
 * remove NAME`: the accounts of the NDES-compatible challenge page (role
 * "ndes", the default) and of the admin web console ("viewer", "admin";
 * README "Admin web console"). The password is one line on standard input (so
 * scripts can pipe it in); it is hashed with scrypt by db_user_add() and never
 * printed or logged. A user fetches challenges bound to one of its
 * profiles only, "default" unless --profile says otherwise (README
 * "Security model").
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "db.h"
#include "gw_err.h"
#include "log.h"
#include "secure.h"

#define EXIT_USAGE 2
#define PASSWORD_MAX 1024
#define PROFILES_MAX 1024

static int
user_usage(void)
{
	fprintf(stderr,
	    "usage: scepgw user add NAME [--no-issue] [--profile P[,P...]]... "
	    "[--role ndes|viewer|admin]  (password: one line on stdin)\n"
	    "       scepgw user set NAME [--profile P[,P...]]... "
	    "[--role ndes|viewer|admin]\n"
	    "       scepgw user list\n"
	    "       scepgw user remove NAME\n");
	return EXIT_USAGE;
}

/* Loads the config and opens its database; prints what went wrong. */
static int
user_open(const char *conf, struct gw_config **cfg, struct db **db)
{
	struct gw_err err;

	*cfg = NULL;
	*db = NULL;
	if (config_load(cfg, conf, stderr) == -1)
		return -1;
	log_init((*cfg)->log_level);
	log_format_set((enum log_format)(*cfg)->log_format);
	if (cli_db_open(*cfg, db, &err) == -1) {
		fprintf(stderr, "scepgw: %s: %s\n", cli_db_name(*cfg), err.msg);
		config_free(*cfg);
		*cfg = NULL;
		return -1;
	}
	return 0;
}

/*
 * Reads one line from stdin into pw (at most PASSWORD_MAX bytes), without
 * its line ending. Returns 0, or -1 with a message printed.
 */
static int
user_password_read(char pw[PASSWORD_MAX + 2])
{
	size_t n;

	if (isatty(STDIN_FILENO))
		fprintf(stderr, "password (one line; it will be shown): ");
	if (fgets(pw, PASSWORD_MAX + 2, stdin) == NULL) {
		fprintf(stderr, "scepgw: no password on standard input\n");
		return -1;
	}
	n = strlen(pw);
	if (n > 0 && pw[n - 1] != '\n' && n > PASSWORD_MAX) {
		fprintf(stderr, "scepgw: password longer than %d bytes\n",
		    PASSWORD_MAX);
		return -1;
	}
	while (n > 0 && (pw[n - 1] == '\n' || pw[n - 1] == '\r'))
		pw[--n] = '\0';
	if (n == 0) {
		fprintf(stderr, "scepgw: empty password\n");
		return -1;
	}
	return 0;
}

/*
 * Parses the options of `user add NAME ...` (or, with set, of `user set
 * NAME ...`: no --no-issue, at least one --profile or --role) into
 * *can_issue, *role (-1 when no --role) and profiles (the --profile values
 * joined by commas; "default" when none for add, empty for set). Returns
 * 0, or -1 after a message (usage or a bad profile list or role).
 */
static int
user_add_args(int argc, char **argv, bool set, bool *can_issue, int *role,
    char profiles[PROFILES_MAX + 1])
{
	enum db_user_role r;
	size_t n = 0, len;
	int i;

	*can_issue = true;
	*role = -1;
	profiles[0] = '\0';
	if (argc < 2 || argv[1][0] == '-') {
		user_usage();
		return -1;
	}
	for (i = 2; i < argc; i++) {
		if (!set && strcmp(argv[i], "--no-issue") == 0) {
			*can_issue = false;
			continue;
		}
		if (strcmp(argv[i], "--role") == 0 && i + 1 < argc) {
			if (db_user_role_parse(argv[++i], &r) != 0) {
				fprintf(stderr,
				    "scepgw: --role: ndes, viewer "
				    "or admin\n");
				return -1;
			}
			*role = (int)r;
			continue;
		}
		if (strcmp(argv[i], "--profile") != 0 || i + 1 == argc) {
			user_usage();
			return -1;
		}
		len = strlen(argv[++i]);
		if (n + (n > 0) + len > PROFILES_MAX) {
			fprintf(stderr, "scepgw: --profile: too long\n");
			return -1;
		}
		if (n > 0)
			profiles[n++] = ',';
		memcpy(profiles + n, argv[i], len + 1);
		n += len;
	}
	if (n == 0 && set) {
		if (*role == -1) {
			user_usage();
			return -1;
		}
		return 0;
	}
	if (n == 0)
		snprintf(profiles, PROFILES_MAX + 1, "default");
	if (!db_user_profiles_valid(profiles)) {
		fprintf(stderr,
		    "scepgw: --profile: names of A-Z a-z 0-9 _ - separated by "
		    "commas, each once\n");
		return -1;
	}
	return 0;
}

/* config_profiles_usable(), printing why not. */
static bool
user_profiles_usable(const struct gw_config *cfg, const char *profiles)
{
	char why[1200];

	if (config_profiles_usable(cfg, profiles, why, sizeof(why)))
		return true;
	fprintf(stderr, "scepgw: %s\n", why);
	return false;
}

/* `user add NAME [--no-issue] [--profile P[,P...]]...` */
static int
user_add(const struct gw_config *cfg, struct db *db, int argc, char **argv)
{
	char pw[PASSWORD_MAX + 2], profiles[PROFILES_MAX + 1];
	bool can_issue = true;
	struct gw_err err;
	int rc = 1, role;

	if (user_add_args(argc, argv, false, &can_issue, &role, profiles) == -1)
		return EXIT_USAGE;
	if (role == -1)
		role = DB_ROLE_NDES;
	/* A console user fetches no NDES challenges: no profile to check. */
	if (role == DB_ROLE_NDES && !user_profiles_usable(cfg, profiles))
		return 1;
	if (user_password_read(pw) == -1)
		goto out;
	if (db_user_add_role(db, argv[1], pw, can_issue, profiles,
		(enum db_user_role)role, (int64_t)time(NULL), &err) == -1) {
		fprintf(stderr, "scepgw: %s\n", err.msg);
		goto out;
	}
	if (role != DB_ROLE_NDES)
		printf("user %s added, role %s (admin web console)\n", argv[1],
		    db_user_role_name((enum db_user_role)role));
	else
		printf("user %s added%s, profiles %s\n", argv[1],
		    can_issue ? " (may fetch challenges)" :
				" (no right to issue)",
		    profiles);
	rc = 0;
out:
	gw_cleanse(pw, sizeof(pw));
	return rc;
}

/* `user set NAME [--profile P[,P...]]... [--role R]` */
static int
user_set(const struct gw_config *cfg, struct db *db, int argc, char **argv)
{
	char profiles[PROFILES_MAX + 1];
	struct gw_err err;
	bool can_issue;
	int role;

	if (user_add_args(argc, argv, true, &can_issue, &role, profiles) == -1)
		return EXIT_USAGE;
	if (profiles[0] != '\0' && !user_profiles_usable(cfg, profiles))
		return 1;
	if (profiles[0] != '\0' &&
	    db_user_set_profiles(db, argv[1], profiles, &err) == -1) {
		fprintf(stderr, "scepgw: %s\n", err.msg);
		return 1;
	}
	if (role != -1 &&
	    db_user_set_role(db, argv[1], (enum db_user_role)role, &err) ==
		-1) {
		fprintf(stderr, "scepgw: %s\n", err.msg);
		return 1;
	}
	if (profiles[0] != '\0')
		printf("user %s: profiles %s\n", argv[1], profiles);
	if (role != -1)
		printf("user %s: role %s\n", argv[1],
		    db_user_role_name((enum db_user_role)role));
	return 0;
}

static int
user_print(void *arg, const struct db_user *u)
{
	char created[32];
	struct tm tm;
	time_t t = (time_t)u->created;

	(void)arg;
	gmtime_r(&t, &tm);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%-24s %-9s %s %-24s %-24s %s\n", u->name,
	    u->can_issue ? "can_issue" : "-", created,
	    u->profiles != NULL ? u->profiles : "default", u->kdf,
	    db_user_role_name(u->role));
	return 0;
}

/*
 * Runs `scepgw user ...` with the config conf; argv[0] is the
 * subcommand. Returns the exit status.
 */
int
cli_user(const char *conf, int argc, char **argv)
{
	struct gw_config *cfg = NULL;
	struct db *db = NULL;
	struct gw_err err;
	int rc = 1;

	if (argc < 1 || (strcmp(argv[0], "list") == 0 && argc != 1) ||
	    (strcmp(argv[0], "remove") == 0 && argc != 2) ||
	    (strcmp(argv[0], "add") != 0 && strcmp(argv[0], "set") != 0 &&
		strcmp(argv[0], "list") != 0 && strcmp(argv[0], "remove") != 0))
		return user_usage();
	if ((strcmp(argv[0], "add") == 0 || strcmp(argv[0], "set") == 0) &&
	    argc < 2)
		return user_usage();
	if (user_open(conf, &cfg, &db) == -1)
		goto out;
	if (strcmp(argv[0], "add") == 0)
		rc = user_add(cfg, db, argc, argv);
	else if (strcmp(argv[0], "set") == 0)
		rc = user_set(cfg, db, argc, argv);
	else if (strcmp(argv[0], "list") == 0) {
		printf("%-24s %-9s %-20s %-24s %-24s %s\n", "name", "rights",
		    "created", "profiles", "hash", "role");
		rc = db_user_list(db, user_print, NULL, &err) == 0 ? 0 : 1;
		if (rc != 0)
			fprintf(stderr, "scepgw: %s\n", err.msg);
	} else if (db_user_remove(db, argv[1], &err) == 0) {
		printf("user %s removed\n", argv[1]);
		rc = 0;
	} else
		fprintf(stderr, "scepgw: %s\n", err.msg);
out:
	db_close(db);
	config_free(cfg);
	return rc;
}
