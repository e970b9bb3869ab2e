/*
 * Per-client-address failure rate limiting for challenge checks
 * ([enroll] max_failures_per_minute): at most max failures per window
 * seconds from one address, in any window (a sliding log, not fixed
 * buckets). IPv6 clients are counted per /64, since one host usually owns
 * a whole /64. A fixed-size table keyed by address; when it is full the
 * least recently active address is forgotten. Thread-safe.
 *
 * Use: ratelimit_take() before checking a secret reserves one failure (so
 * that many concurrent attempts cannot all pass the check before any
 * failure is recorded); ratelimit_refund() gives it back when the secret
 * turned out right. A check that takes seconds elsewhere (Intune) uses
 * ratelimit_check() before and ratelimit_fail() once it failed instead:
 * nothing is held while it runs.
 */
#ifndef GW_RATELIMIT_H
#define GW_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ratelimit;

int ratelimit_new(struct ratelimit **out, size_t slots, unsigned max,
    unsigned window);
void ratelimit_free(struct ratelimit *rl);
bool ratelimit_take(struct ratelimit *rl, const char *addr, int64_t now);
void ratelimit_refund(struct ratelimit *rl, const char *addr);
bool ratelimit_check(struct ratelimit *rl, const char *addr, int64_t now);
void ratelimit_fail(struct ratelimit *rl, const char *addr, int64_t now);
uint64_t ratelimit_refused(struct ratelimit *rl);

#endif
