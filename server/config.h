/*
 * The configuration: one INI file (DESIGN.md "Config"), parsed with inih
 * into struct gw_config through one table of keys (STYLE.md 17). Never
 * modified after load. Relative paths are resolved against the config
 * file's folder. Every bad key is reported as "file:line: reason".
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct gw_config {
	char *path; /* the file this came from */
	char *dir;  /* its folder */
	/* [server] */
	char *listen; /* host:port of the SCEP listener */
	size_t max_request_bytes;
	unsigned threads;		 /* HTTP worker threads */
	unsigned max_connections;	 /* open connections at most */
	unsigned max_connections_per_ip; /* 0: no limit */
	unsigned conn_timeout_seconds;	 /* idle connection timeout */
	/* [admin] */
	char *admin_listen; /* or NULL: off */
	char *admin_token_file;
	long admin_max_outstanding; /* NDES page cap; 0: none */
	/* [db] */
	char *db_path;
	/* [ra] */
	char *ra_cert;
	char *ra_key;
	char *ca_chain;
	char *ra_next_cert; /* rollover, or NULL */
	char *ra_next_key;
	char *ra_previous_cert; /* rollover, or NULL */
	char *ra_previous_key;
	/* [epki] */
	char *epki_url;
	char *epki_username;
	char *epki_password_file;
	char *epki_profile_id;
	char *epki_product_code;
	int epki_years;
	long epki_timeout_seconds;
	long epki_reconcile_seconds; /* period of the reconciler */
	char *epki_ca_file;	     /* TLS trust for the EPKI URL, or NULL */
	/* [scep] */
	bool allow_des;
	long pending_after_seconds;
	/* [enroll] */
	long challenge_ttl_seconds;
	unsigned enroll_max_failures; /* per address per minute; 0: none */
	/* [log] */
	int log_level; /* LOG_ERR .. LOG_DEBUG */
};

int config_load(struct gw_config **out, const char *path, FILE *errf);
void config_free(struct gw_config *c);
int config_write_default(FILE *f, const struct gw_config *c);

#endif
