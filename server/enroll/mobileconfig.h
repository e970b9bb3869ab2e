/*
 * The Apple configuration profile generator (mobileconfig.c), shared by
 * `scepgw mobileconfig` and the web console.
 */
#ifndef GW_ENROLL_MOBILECONFIG_H
#define GW_ENROLL_MOBILECONFIG_H

#include <stddef.h>
#include <stdio.h>

#include <openssl/x509.h>

struct gw_config;
struct gw_profile;

/* What the MDM replaces with a challenge it fetches (--dynamic). */
#define MC_DYNAMIC_PLACEHOLDER "$SCEP_CHALLENGE"

struct mc_params {
	const char *challenge; /* or NULL: MC_DYNAMIC_PLACEHOLDER */
	const char *name;      /* SCEP "Name" and the display name */
	const char *cn;	       /* Subject CN when the template is not literal */
};

STACK_OF(X509) *mobileconfig_chain_load(const char *path);
void mobileconfig_chain_free(STACK_OF(X509) *chain);
void mobileconfig_default_url(const struct gw_config *cfg, const char *profile,
    char *out, size_t n);
int mobileconfig_write(FILE *f, const struct gw_profile *p,
    const struct mc_params *o, const char *url, STACK_OF(X509) *chain);

#endif
