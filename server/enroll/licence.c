/*
 * Licences (README "Licences"): GlobalSign's API tells no licence counts,
 * so the gateway reports its own: per pool, the orders GlobalSign accepted
 * (counted by db/ in the write that records them) plus what was spent
 * before, against the pack size and last day the config gives. Warnings
 * at 90 % and 100 % used, once per crossing (again once after a start),
 * and from 30 days before the pack's last day, once a day at most. An
 * order is never refused for these figures: GlobalSign decides. Also the
 * one message for GlobalSign's licence error, and its counter.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "db.h"
#include "enroll.h"
#include "gw.h"
#include "gw_err.h"
#include "log.h"

#define WATCH_MAX 64	    /* pools watched at most */
#define EXPIRY_WARN_DAYS 30 /* warn from this many days before */

/* What was last said about one pool. */
struct watch {
	const struct gw_licence_pool *pool; /* NULL: slot free */
	int level;			    /* 0, 1 (>= 90 %), 2 (>= 100 %) */
	long warned_day;		    /* last expiry warning; -1 none */
};

static pthread_mutex_t watch_mu = PTHREAD_MUTEX_INITIALIZER;
static struct watch watches[WATCH_MAX];
static atomic_uint_fast64_t licence_errors;

/* Today, days since 1970-01-01 (UTC). */
static long
today(void)
{
	return (long)(time(NULL) / 86400);
}

/*
 * The figures of cfg's pool i into *f. Returns 0, or -1 with err set (the
 * database did not answer).
 */
int
enroll_licence_figures(const struct gw_config *cfg, struct db *db, size_t i,
    struct enroll_licence_fig *f, struct gw_err *err)
{
	const struct gw_licence_pool *p = &cfg->pools[i];
	int64_t counted;

	memset(f, 0, sizeof(*f));
	f->pool = p;
	if (db_licence_used(db, p->name, &counted, err) != 0)
		return -1;
	f->counted = (long)counted;
	f->used = p->used_before + f->counted;
	f->remaining = p->licences - f->used;
	f->days_left = p->expire[0] != '\0' ? p->expire_day - today() : 0;
	return 0;
}

/* Whether pool i has anything to watch (licences or a last day). */
bool
enroll_licence_watched(const struct gw_config *cfg, size_t i)
{
	return cfg->pools[i].licences > 0 || cfg->pools[i].expire[0] != '\0';
}

/* 0 under 90 % used, 1 from 90 %, 2 from 100 %. */
static int
level_of(const struct enroll_licence_fig *f)
{
	if (f->pool->licences <= 0)
		return 0;
	if (f->used >= f->pool->licences)
		return 2;
	return f->used * 10 >= f->pool->licences * 9 ? 1 : 0;
}

/*
 * The warning of one pool's figures into buf, or "" when there is none:
 * usage level (0: none), or the expiry when expiry is true.
 */
void
enroll_licence_warning(const struct enroll_licence_fig *f, bool expiry,
    char *buf, size_t n)
{
	const struct gw_licence_pool *p = f->pool;
	int level = level_of(f);

	buf[0] = '\0';
	if (expiry) {
		if (p->expire[0] == '\0' || f->days_left > EXPIRY_WARN_DAYS)
			return;
		if (f->days_left >= 0)
			snprintf(buf, n,
			    "licence pool %s: the licence pack's last day is "
			    "%s, in %ld day%s: order a new pack in GCC and "
			    "set licences_expire",
			    p->name, p->expire, f->days_left,
			    f->days_left == 1 ? "" : "s");
		else
			snprintf(buf, n,
			    "licence pool %s: the licence pack expired on %s, "
			    "%ld day%s ago: GlobalSign refuses orders from an "
			    "expired pack; order a new pack in GCC and set "
			    "licences_expire",
			    p->name, p->expire, -f->days_left,
			    f->days_left == -1 ? "" : "s");
		return;
	}
	if (level == 0)
		return;
	snprintf(buf, n,
	    "licence pool %s: %ld of %ld licences used (%ld %%), %ld left: %s",
	    p->name, f->used, p->licences, f->used * 100 / p->licences,
	    f->remaining,
	    level == 2 ? "GlobalSign will refuse orders once the pack is "
			 "empty; order more licence packs in GCC, then raise "
			 "licences (orders are never refused for this count)" :
			 "order more licence packs in GCC before devices fail");
}

/* The watch slot of pool p, taken when new; NULL when full. */
static struct watch *
watch_of(const struct gw_licence_pool *p)
{
	size_t i;

	for (i = 0; i < WATCH_MAX; i++)
		if (watches[i].pool == p)
			return &watches[i];
	for (i = 0; i < WATCH_MAX; i++)
		if (watches[i].pool == NULL) {
			watches[i].pool = p;
			watches[i].level = 0;
			watches[i].warned_day = -1;
			return &watches[i];
		}
	return NULL;
}

/*
 * Looks at every watched pool of ctx's config and logs a warning for each
 * new crossing of 90 % or 100 % used, and for a pack within 30 days of
 * its last day (or past it) once a day. Called at start, after each order
 * GlobalSign accepted and by the reconciler's rounds.
 */
void
enroll_licence_watch(struct gw_ctx *ctx)
{
	const struct gw_config *cfg = ctx->cfg;
	struct enroll_licence_fig f;
	struct gw_err err;
	struct watch *w;
	char msg[512];
	size_t i;
	int level;

	if (cfg == NULL || ctx->db == NULL)
		return;
	for (i = 0; i < cfg->npools && !enroll_licence_watched(cfg, i); i++)
		;
	if (i == cfg->npools)
		return; /* nothing to watch: no query per order */
	pthread_mutex_lock(&watch_mu);
	for (i = 0; i < cfg->npools; i++) {
		if (!enroll_licence_watched(cfg, i) ||
		    (w = watch_of(&cfg->pools[i])) == NULL)
			continue;
		if (enroll_licence_figures(cfg, ctx->db, i, &f, &err) != 0) {
			log_ev(LOG_WARNING, "db.error", NULL,
			    "licence pool %s: database: %s", cfg->pools[i].name,
			    err.msg);
			continue;
		}
		level = level_of(&f);
		if (level > w->level) {
			enroll_licence_warning(&f, false, msg, sizeof(msg));
			log_ev(LOG_WARNING, "licence", NULL, "%s", msg);
		}
		w->level = level;
		enroll_licence_warning(&f, true, msg, sizeof(msg));
		if (msg[0] != '\0' && w->warned_day != today()) {
			log_ev(LOG_WARNING, "licence", NULL, "%s", msg);
			w->warned_day = today();
		}
	}
	pthread_mutex_unlock(&watch_mu);
}

/* Whether r carries GlobalSign's licence error ([epki] licence_error_code). */
bool
enroll_licence_error_in(const struct gw_ctx *ctx, const struct epki_resp *r)
{
	size_t i;

	for (i = 0; ctx->cfg != NULL && i < r->nerrors; i++)
		if (r->errors[i].code == ctx->cfg->epki_licence_error_code)
			return true;
	return false;
}

/*
 * Logs the one operator message for GlobalSign's licence error on the
 * order of txid and counts it (scepgw_epki_licence_errors_total).
 */
void
enroll_licence_error(struct gw_ctx *ctx, const char *txid)
{
	atomic_fetch_add(&licence_errors, 1);
	log_ev(LOG_WARNING, "epki.licence", LOG_F(.txid = txid),
	    "txid=%s: GlobalSign licence error (ErrorCode %d, [epki] "
	    "licence_error_code): %s",
	    txid, ctx->cfg->epki_licence_error_code, config_licence_advice());
}

/* How many orders GlobalSign refused with its licence error since start. */
uint64_t
enroll_licence_errors(void)
{
	return (uint64_t)atomic_load(&licence_errors);
}
