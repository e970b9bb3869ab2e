/*
 * The scepgw command line: cli.c dispatches; one file per command: init.c
 * holds `init`, which sets up an instance (init_user.c: for its service
 * user), check.c `check`, which verifies
 * one (nodes.c: check's lines on the serving gateways; check_intune.c:
 * its lines on Microsoft Intune); cert.c
 * holds `cert list` and `cert revoke`; challenge.c `challenge`; user.c
 * `user`; mobileconfig.c `mobileconfig`; migrate.c `db migrate`; backup.c
 * `backup` and `restore`; serve.c
 * `serve`, the daemon's start and stop.
 */
#ifndef GW_CLI_H
#define GW_CLI_H

#include <stdio.h>
#include <sys/types.h>

struct db;
struct gw_err;
struct gw_config;

int cli_main(int argc, char **argv);
int cli_init(const char *conf, int argc, char **argv);

/* The service user of `init --user` (init_user.c). */
struct init_owner {
	const char *name;
	uid_t uid;
	gid_t gid;
};
int init_owner_get(const char *name, struct init_owner *ow);
int init_owner_dir_check(const char *dir);
int init_owner_db_check(const struct init_owner *ow, const char *path);
int init_owner_db_create(const struct init_owner *ow, const char *path);
int init_owner_adopt(const struct init_owner *ow, const char *path,
    struct gw_err *err);
int cli_check(const char *conf, int nargs);			  /* check.c */
void cli_check_nodes(struct db *db, const struct gw_config *cfg); /* nodes.c */
int cli_check_server(struct db *db);		   /* check_db.c */
int cli_check_intune(const struct gw_config *cfg); /* check_intune.c */
int cli_cert_list(struct db *db, struct gw_err *err);
int cli_user(const char *conf, int argc, char **argv);
int cli_cert_revoke(const char *conf, int argc, char **argv);

int cli_mobileconfig(const char *conf, int argc, char **argv);
int cli_db_migrate(const char *conf, int argc, char **argv); /* migrate.c */
int cli_backup(const char *conf, int argc, char **argv);     /* backup.c */
int cli_restore(const char *conf, int argc, char **argv);    /* backup.c */

/* Options every command shares. */
struct cli {
	const char *conf;
	int argc;
	char **argv;
};

/* Shared by the commands of cli.c and challenge.c. */
struct gw_config;
void cli_usage(FILE *f);
void cli_version(FILE *f); /* version.c */
int cli_parse_long(const char *s, long lo, long hi, long *out);
struct gw_config *cli_config(const struct cli *c);
struct db *cli_db(const struct gw_config *cfg);
struct gw_err;
const char *cli_db_name(const struct gw_config *cfg);
int cli_db_open(const struct gw_config *cfg, struct db **db,
    struct gw_err *err);
int cli_challenge_new(const struct cli *c);
int cli_db_simple(const struct cli *c, const char *what);

/* The daemon (serve.c). */
struct gw_config;
struct scep_ra;
int serve_conf_check(const char *conf);
int serve_run(const struct gw_config *cfg);
int serve_ra_load(const struct gw_config *cfg, struct scep_ra **out,
    struct gw_err *err);

/* systemd's notifications and watchdog (notify.c), the SIGHUP reload
 * (reload.c); README "Running under systemd". */
struct gw_ctx;
struct notify_wd;
void notify_ready(const struct gw_ctx *ctx);
void notify_reloading(void);
void notify_stopping(void);
int notify_watchdog_start(struct notify_wd **out, struct gw_ctx *ctx);
void notify_watchdog_stop(struct notify_wd *w);
void notify_watchdog_free(struct notify_wd *w);
int serve_reload(struct gw_ctx *ctx);

#endif
