/*
 * The gateway's wiring: one struct gw_ctx passed explicitly
 * to every part of server/, holding the loaded config and the long-lived
 * handles. The seam between the HTTP layer and the enrollment state
 * machine is enroll/enroll.h.
 */
#ifndef GW_GW_H
#define GW_GW_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "epki.h"
#include "scep.h"

struct buf;
struct crl_cache;
struct db;
struct db_lease;
struct enroll;
struct reconcile;
struct gw_config;
struct gw_profile;
struct gw_err;
struct ndes;
struct srv_http;
struct admin;
struct ratelimit;
struct intune;

struct gw_ctx {
	const struct gw_config *cfg;
	struct db *db;
	struct db_lease *lease; /* serve: this incarnation's lease and order
				   gate (README "How an enrollment works" 7);
				   NULL: none, orders always start */
	bool lease_release;	/* serve: drained with nothing in flight */
	struct scep_ra *ra;	/* read with gw_ra_get1(), replaced by a reload
				   (live.c) */
	uint8_t (*static_sha)[32]; /* serve: each profile's static secret
				      hash, as reloaded (live.c); NULL: the
				      config's */
	size_t nstatic;
	struct scep_policy pol;
	struct epki_client *epki; /* owns the upstream thread */
	struct epki_transport tr; /* how orders are sent (a seam for tests) */
	struct epki_auth auth;	  /* password owned here, wiped on exit */
	char *epki_password;
	struct enroll *enroll;	     /* in-flight orders, PENDING timer */
	struct reconcile *reconcile; /* finishes interrupted orders */
	struct crl_cache *crl;	     /* GetCRL: the issuing CA's CRL */
	struct srv_http *http;
	int http_fd; /* listener bound before the privilege drop, or -1 */
	struct admin *admin;   /* admin listener (admin/), or NULL */
	struct ratelimit *rl;  /* failure limit per address, or NULL */
	struct ndes *ndes;     /* NDES login threads, or NULL: page off */
	struct intune *intune; /* Intune's client (README "Microsoft
				  Intune"), or NULL: not configured */
};

#endif
