/*
 * What a reload (SIGHUP, README "Running under systemd") may replace while
 * requests are served: the RA and the profiles' static challenge hashes.
 * Readers take a reference to the RA they start with (gw_ra_get1()), so a
 * request in flight keeps decrypting and signing with it while a reload
 * publishes a new one; the swap and the reads share one mutex.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "gw.h"
#include "live.h"
#include "scep.h"

/* Guards ctx->ra and ctx->static_sha of every context (there is one). */
static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;

/*
 * The RA requests start with now: a new reference the caller gives back
 * with scep_ra_free(), or NULL when none is loaded.
 */
struct scep_ra *
gw_ra_get1(struct gw_ctx *ctx)
{
	struct scep_ra *ra;

	pthread_mutex_lock(&live_mu);
	if ((ra = ctx->ra) != NULL)
		scep_ra_up_ref(ra);
	pthread_mutex_unlock(&live_mu);
	return ra;
}

/*
 * Publishes ra (the context takes the caller's reference) and gives back
 * the context's reference to the one it replaces: requests still holding
 * that one keep it until they end.
 */
void
gw_ra_set0(struct gw_ctx *ctx, struct scep_ra *ra)
{
	struct scep_ra *old;

	pthread_mutex_lock(&live_mu);
	old = ctx->ra;
	ctx->ra = ra;
	pthread_mutex_unlock(&live_mu);
	scep_ra_free(old);
}

/*
 * True when chash is the static secret of the profile at index i of the
 * config (README "Profiles, identity templates, static challenges"),
 * compared in constant time: against the hash a reload installed when the
 * serve process keeps a table (ctx->static_sha), else against sha, the
 * one the config was loaded with.
 */
bool
gw_static_match(struct gw_ctx *ctx, size_t i, const uint8_t sha[32],
    const uint8_t chash[32])
{
	bool ok;

	pthread_mutex_lock(&live_mu);
	if (ctx->static_sha != NULL && i < ctx->nstatic)
		ok = CRYPTO_memcmp(chash, ctx->static_sha[i], 32) == 0;
	else
		ok = CRYPTO_memcmp(chash, sha, 32) == 0;
	pthread_mutex_unlock(&live_mu);
	return ok;
}

/* Replaces the static secret hash of the profile at index i (reload). */
void
gw_static_set(struct gw_ctx *ctx, size_t i, const uint8_t sha[32])
{
	pthread_mutex_lock(&live_mu);
	if (ctx->static_sha != NULL && i < ctx->nstatic)
		memcpy(ctx->static_sha[i], sha, 32);
	pthread_mutex_unlock(&live_mu);
}

/*
 * Makes the table of n static secret hashes (one per profile, in config
 * order) that reloads write to; the caller fills it with gw_static_set().
 * Returns 0 or -1 (no memory).
 */
int
gw_static_init(struct gw_ctx *ctx, size_t n)
{
	uint8_t(*t)[32];

	if ((t = calloc(n > 0 ? n : 1, sizeof(*t))) == NULL)
		return -1;
	pthread_mutex_lock(&live_mu);
	ctx->static_sha = t;
	ctx->nstatic = n;
	pthread_mutex_unlock(&live_mu);
	return 0;
}

/* Wipes and frees that table; for the end of serve. */
void
gw_static_free(struct gw_ctx *ctx)
{
	uint8_t(*t)[32];
	size_t n;

	pthread_mutex_lock(&live_mu);
	t = ctx->static_sha;
	n = ctx->nstatic;
	ctx->static_sha = NULL;
	ctx->nstatic = 0;
	pthread_mutex_unlock(&live_mu);
	if (t != NULL)
		OPENSSL_cleanse(t, n * sizeof(*t));
	free(t);
}
