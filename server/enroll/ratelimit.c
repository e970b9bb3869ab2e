/*
 * Failure rate limiting per client address; see ratelimit.h. Each slot
 * keeps the times of its address's last max failures in a small ring, so
 * "at most max in any window seconds" is exact. Slots are found by a
 * seeded hash with a short linear probe; the seed keeps an attacker from
 * choosing addresses that collide.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "secure.h"
#include "ratelimit.h"

#define RL_PROBES 16
#define RL_KEY_LEN 16

struct rl_slot {
	uint8_t key[RL_KEY_LEN];
	bool used;
	unsigned head; /* ring index of the oldest failure */
	unsigned n;    /* failures in the ring */
	int64_t last;  /* time of the newest failure */
};

struct ratelimit {
	pthread_mutex_t mu;
	size_t nslots;
	unsigned max;
	unsigned window;
	uint64_t seed;
	uint64_t refused;
	struct rl_slot *slots;
	int64_t *ts; /* nslots rings of max times each */
};

/*
 * Creates a limiter of slots addresses allowing max failures per window
 * seconds. Returns 0 with *out set (free with ratelimit_free()), or -1.
 */
int
ratelimit_new(struct ratelimit **out, size_t slots, unsigned max,
    unsigned window)
{
	struct ratelimit *rl = NULL;
	int rc = -1;

	*out = NULL;
	if (slots == 0 || max == 0 || window == 0 || slots > (1u << 24) ||
	    max > 1000)
		goto out;
	if ((rl = calloc(1, sizeof(*rl))) == NULL)
		goto out;
	rl->nslots = slots;
	rl->max = max;
	rl->window = window;
	rl->slots = calloc(slots, sizeof(*rl->slots));
	rl->ts = calloc(slots * max, sizeof(*rl->ts));
	if (rl->slots == NULL || rl->ts == NULL ||
	    gw_random_bytes((uint8_t *)&rl->seed, sizeof(rl->seed)) != 0 ||
	    pthread_mutex_init(&rl->mu, NULL) != 0) {
		free(rl->slots);
		free(rl->ts);
		free(rl);
		rl = NULL;
		goto out;
	}
	*out = rl;
	rc = 0;
out:
	return rc;
}

/* Frees a limiter; accepts NULL. */
void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->mu);
	free(rl->slots);
	free(rl->ts);
	free(rl);
}

/*
 * The table key of a textual address: IPv4 as ::ffff:a.b.c.d, IPv6 cut to
 * its /64. Anything unparsable shares one all-ones key.
 */
static void
rl_key(const char *addr, uint8_t key[RL_KEY_LEN])
{
	struct in_addr a4;

	memset(key, 0, RL_KEY_LEN);
	if (addr != NULL && inet_pton(AF_INET, addr, &a4) == 1) {
		key[10] = 0xff;
		key[11] = 0xff;
		memcpy(key + 12, &a4, 4);
	} else if (addr != NULL && inet_pton(AF_INET6, addr, key) == 1) {
		if (key[0] == 0 && key[10] == 0xff && key[11] == 0xff)
			return; /* v4-mapped: per address, like IPv4 */
		memset(key + 8, 0, 8);
	} else
		memset(key, 0xff, RL_KEY_LEN);
}

/* FNV-1a over the key, started from the random seed. */
static size_t
rl_hash(const struct ratelimit *rl, const uint8_t key[RL_KEY_LEN])
{
	uint64_t h = 0xcbf29ce484222325ULL ^ rl->seed;
	size_t i;

	for (i = 0; i < RL_KEY_LEN; i++) {
		h ^= key[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 29;
	return (size_t)(h % rl->nslots);
}

/* Forgets the failures of slot s that are older than the window. */
static void
rl_slot_prune(struct ratelimit *rl, struct rl_slot *s, int64_t now)
{
	const int64_t *ring = rl->ts + (size_t)(s - rl->slots) * rl->max;

	while (s->n > 0 && ring[s->head] <= now - (int64_t)rl->window) {
		s->head = (s->head + 1) % rl->max;
		s->n--;
	}
}

/*
 * The slot of key: its own, else a free or stale one in the probe range,
 * else the least recently active one there (reset for key).
 */
static struct rl_slot *
rl_slot_get(struct ratelimit *rl, const uint8_t key[RL_KEY_LEN], int64_t now)
{
	size_t i, h = rl_hash(rl, key);
	struct rl_slot *s, *pick = &rl->slots[h];
	int64_t score, best = INT64_MAX;

	for (i = 0; i < RL_PROBES && i < rl->nslots; i++) {
		s = &rl->slots[(h + i) % rl->nslots];
		if (s->used && memcmp(s->key, key, RL_KEY_LEN) == 0)
			return s;
		if (s->used)
			rl_slot_prune(rl, s, now);
		/* Free or stale slots first, then the least recent. */
		score = !s->used || s->n == 0 ? INT64_MIN : s->last;
		if (score < best) {
			pick = s;
			best = score;
		}
	}
	memset(pick, 0, sizeof(*pick));
	memcpy(pick->key, key, RL_KEY_LEN);
	pick->used = true;
	return pick;
}

/*
 * Reserves one failure for addr at now. Returns true when the attempt may
 * go ahead (give the failure back with ratelimit_refund() if the secret
 * was right), false when addr has used up its failures for the window.
 */
bool
ratelimit_take(struct ratelimit *rl, const char *addr, int64_t now)
{
	uint8_t key[RL_KEY_LEN];
	struct rl_slot *s;
	int64_t *ring;
	bool ok = false;

	rl_key(addr, key);
	pthread_mutex_lock(&rl->mu);
	s = rl_slot_get(rl, key, now);
	rl_slot_prune(rl, s, now);
	if (s->n >= rl->max) {
		rl->refused++;
		goto out;
	}
	ring = rl->ts + (size_t)(s - rl->slots) * rl->max;
	ring[(s->head + s->n) % rl->max] = now;
	s->n++;
	s->last = now;
	ok = true;
out:
	pthread_mutex_unlock(&rl->mu);
	return ok;
}

/*
 * Whether addr may make an attempt at now, reserving nothing: for a check
 * that runs elsewhere and takes seconds (Intune's validateRequest, README
 * "Microsoft Intune"), where a reservation held meanwhile would refuse the
 * next devices behind one address (a NAT, a proxy) although none failed.
 * ratelimit_fail() records the failure once the check has failed. False,
 * counted as refused, when addr has used up its failures for the window.
 */
bool
ratelimit_check(struct ratelimit *rl, const char *addr, int64_t now)
{
	uint8_t key[RL_KEY_LEN];
	struct rl_slot *s;
	bool ok;

	rl_key(addr, key);
	pthread_mutex_lock(&rl->mu);
	s = rl_slot_get(rl, key, now);
	rl_slot_prune(rl, s, now);
	ok = s->n < rl->max;
	if (!ok)
		rl->refused++;
	pthread_mutex_unlock(&rl->mu);
	return ok;
}

/*
 * Records one failure for addr at now, after a ratelimit_check(); when
 * addr's window is full already (checks that failed at the same time),
 * the oldest is replaced, so the address stays refused for the window.
 */
void
ratelimit_fail(struct ratelimit *rl, const char *addr, int64_t now)
{
	const unsigned max = rl->max;
	uint8_t key[RL_KEY_LEN];
	struct rl_slot *s;
	int64_t *ring;

	if (max == 0) /* never: ratelimit_new() refuses it */
		return;
	rl_key(addr, key);
	pthread_mutex_lock(&rl->mu);
	s = rl_slot_get(rl, key, now);
	rl_slot_prune(rl, s, now);
	if (s->n >= max) {
		s->head = (s->head + 1) % max;
		s->n--;
	}
	ring = rl->ts + (size_t)(s - rl->slots) * max;
	ring[(s->head + s->n) % max] = now;
	s->n++;
	s->last = now;
	pthread_mutex_unlock(&rl->mu);
}

/* Gives back the newest failure reserved for addr (the secret was right). */
void
ratelimit_refund(struct ratelimit *rl, const char *addr)
{
	uint8_t key[RL_KEY_LEN];
	struct rl_slot *s;
	size_t i, h;

	rl_key(addr, key);
	h = rl_hash(rl, key);
	pthread_mutex_lock(&rl->mu);
	for (i = 0; i < RL_PROBES && i < rl->nslots; i++) {
		s = &rl->slots[(h + i) % rl->nslots];
		if (s->used && memcmp(s->key, key, RL_KEY_LEN) == 0) {
			if (s->n > 0)
				s->n--;
			break;
		}
	}
	pthread_mutex_unlock(&rl->mu);
}

/* How many attempts were refused since the limiter was made. */
uint64_t
ratelimit_refused(struct ratelimit *rl)
{
	uint64_t n;

	pthread_mutex_lock(&rl->mu);
	n = rl->refused;
	pthread_mutex_unlock(&rl->mu);
	return n;
}
