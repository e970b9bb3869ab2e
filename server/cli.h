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

/* Revoking a certificate (cli_cert.c): the CLI and the admin API. */
enum cert_revoke_res {
	CERT_REVOKE_OK,		/* revoked at GlobalSign and recorded */
	CERT_REVOKE_BAD_SERIAL, /* not a hex number */
	CERT_REVOKE_BAD_REASON, /* not an RFC 5280 reason name */
	CERT_REVOKE_NOT_FOUND,	/* not issued through this gateway */
	CERT_REVOKE_ALREADY,	/* already revoked here */
	CERT_REVOKE_NO_ORDER,	/* no OrderID recorded */
	CERT_REVOKE_UPSTREAM,	/* GlobalSign refused or did not answer */
	CERT_REVOKE_DB,		/* the database failed */
	CERT_REVOKE__MAX
};
struct cert_revoke {
	char serial[80]; /* as stored: upper-case hex */
	char order_id[128];
	char reason[40];
	char detail[1024]; /* lines for the operator; no secrets */
};
struct gw_config;
struct epki_auth;
enum cert_revoke_res cert_revoke(const struct gw_config *cfg, struct db *db,
    const struct epki_auth *auth, const char *serial, const char *reason,
    struct cert_revoke *cr);
int cli_mobileconfig(const char *conf, int argc, char **argv);
const char *cli_epki_advice(int code);

#endif
