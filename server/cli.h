/*
 * The scepgw command line: cli.c dispatches; cli_init.c holds `init` and
 * `check`, which set up and verify an instance; cli_cert.c holds `cert
 * list` and `cert revoke`.
 */
#ifndef GW_CLI_H
#define GW_CLI_H

struct db;
struct gw_err;

int cli_main(int argc, char **argv);
int cli_init(const char *conf, int argc, char **argv);
int cli_check(const char *conf, int nargs);
int cli_cert_list(struct db *db, struct gw_err *err);
int cli_user(const char *conf, int argc, char **argv);
int cli_cert_revoke(const char *conf, int argc, char **argv);
const char *cli_epki_advice(int code);

#endif
