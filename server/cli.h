/*
 * The scepgw command line: cli.c dispatches; cli_init.c holds `init` and
 * `check`, which set up and verify an instance.
 */
#ifndef GW_CLI_H
#define GW_CLI_H

struct db;
struct gw_err;

int cli_main(int argc, char **argv);
int cli_init(const char *conf, int argc, char **argv);
int cli_check(const char *conf, int nargs);
int cli_cert_list(struct db *db, struct gw_err *err);

#endif
