/*
 * What a reload may replace while requests are served (live.c): the RA,
 * by reference, and the profiles' static challenge hashes.
 */
#ifndef GW_LIVE_H
#define GW_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gw_ctx;
struct scep_ra;

struct scep_ra *gw_ra_get1(struct gw_ctx *ctx);
void gw_ra_set0(struct gw_ctx *ctx, struct scep_ra *ra);
bool gw_static_match(struct gw_ctx *ctx, size_t i, const uint8_t sha[32],
    const uint8_t chash[32]);
void gw_static_set(struct gw_ctx *ctx, size_t i, const uint8_t sha[32]);
int gw_static_init(struct gw_ctx *ctx, size_t n);
void gw_static_free(struct gw_ctx *ctx);

#endif
