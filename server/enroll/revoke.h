/*
 * Revoking a certificate (revoke.c): `scepgw cert revoke` and the admin
 * API's POST /api/v1/certificates/{serial}/revoke.
 */
#ifndef GW_REVOKE_H
#define GW_REVOKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;
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
int cert_serial_normalize(const char *in, char *out, size_t n);
bool cert_revoke_reason_known(const char *r);
const char *cert_revoke_reason_name(size_t i);
void cert_time_fmt(int64_t t, char *out, size_t n);

#endif
