/*
 * The lease thread and the order gate (db/README.md "Leases"), the same
 * for every backend. The thread renews this incarnation's lease every H
 * seconds. It notes the monotonic time t_send just before it sends a
 * renewal; the database sets lease_until = its now + L only after it
 * received the statement, so deadline = t_send + L is never later than
 * the real lease_until (up to clock-rate drift, which M covers). An order
 * may start only while now + E + M < deadline: every call it starts then
 * ends (libcurl bounds it by E) before the lease can run out, and a
 * survivor takes over only M after that. A renewal that finds the lease
 * gone means this incarnation is dead for good: a new one is registered,
 * and the gate stays closed until its first renewal.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw_err.h"
#include "gw_thread.h"
#include "secure.h"
#include "db.h"
#include "db_lease.h"

struct db_lease {
	struct db *db;
	struct db_lease_opts o; /* name, version, cfg_sha256 point below */
	char *name;
	char *version;
	uint8_t cfg_sha256[32];
	uint8_t order_sha256[32];
	uint8_t ra_sha256[32];
	_Atomic int64_t node;	     /* this incarnation */
	_Atomic int64_t deadline_ms; /* t_send + L of the last renewal; 0 */
	int64_t last_tick_ms;	     /* tick thread only */
	pthread_t thread;
	bool started;
	pthread_mutex_t mu; /* guards stop, and ra_sha256 once started */
	pthread_cond_t cv;
	bool stop;
};

/* CLOCK_MONOTONIC in milliseconds. */
static int64_t
lease_mono_ms(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
lease_now(struct db_lease *l)
{
	return l->o.clock(l->o.clock_arg);
}

/* Reports one event through the caller's callback, if any. */
static void __attribute__((format(printf, 3, 4)))
lease_event(struct db_lease *l, bool warn, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	if (l->o.event == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	l->o.event(l->o.event_arg, warn, msg);
}

/*
 * The order gate's rule: an order of at most call_s seconds started at
 * now_ms ends, with margin_s to spare, before deadline_ms (all on one
 * monotonic clock). A deadline of 0 (no renewal yet) is closed.
 */
bool
db_lease_gate(int64_t now_ms, int64_t deadline_ms, int call_s, int margin_s)
{
	if (deadline_ms <= 0)
		return false;
	return now_ms + ((int64_t)call_s + margin_s) * 1000 < deadline_ms;
}

/*
 * Whether an order may start now (lease is a struct db_lease, or NULL:
 * no lease, as in the CLI, always yes). Any thread; this is the
 * may_start callback of the upstream client.
 */
bool
db_lease_may_order(void *lease)
{
	struct db_lease *l = lease;

	if (l == NULL)
		return true;
	return db_lease_gate(lease_now(l), atomic_load(&l->deadline_ms),
	    l->o.call_s, l->o.margin_s);
}

/* The incarnation the lease is for now (it changes after a loss). */
int64_t
db_lease_node(struct db_lease *l)
{
	return atomic_load(&l->node);
}

/* Registers a new incarnation; the gate is closed until its renewal. */
static int
lease_register(struct db_lease *l, struct gw_err *err)
{
	int64_t node = 0;
	uint8_t ra[32];
	const uint8_t *rap = NULL;
	struct gw_err e;

	atomic_store(&l->deadline_ms, 0);
	if (db_node_register(l->db, l->o.name, l->o.lease_s, l->o.cfg_sha256,
		l->o.version, &node, err) != 0)
		return -1;
	atomic_store(&l->node, node);
	/* A reload may change the RA's (db_lease_set_ra()). */
	pthread_mutex_lock(&l->mu);
	if (l->o.ra_sha256 != NULL) {
		memcpy(ra, l->ra_sha256, 32);
		rap = ra;
	}
	pthread_mutex_unlock(&l->mu);
	/* What `scepgw check` compares; the lease works without it. */
	if ((l->o.order_sha256 != NULL || rap != NULL) &&
	    db_node_set_marks(l->db, node, l->o.order_sha256, rap, &e) != 0)
		lease_event(l, true, "cannot record the settings digest: %s",
		    e.msg);
	return 0;
}

/* Renews once; 0, 1 lost, -1 error (as db_node_renew()). */
static int
lease_renew(struct db_lease *l, struct gw_err *err)
{
	int64_t t_send = lease_now(l);
	int rc;

	rc = db_node_renew(l->db, atomic_load(&l->node), l->o.lease_s, err);
	if (rc == 0)
		atomic_store(&l->deadline_ms,
		    t_send + (int64_t)l->o.lease_s * 1000);
	else if (rc == 1)
		atomic_store(&l->deadline_ms, 0);
	return rc;
}

/*
 * One beat of the lease thread (tests call it by hand): renews the lease,
 * or registers a new incarnation when it was lost. Returns 0 renewed, 1
 * lost (a new incarnation is registered, or will be at the next beat),
 * -1 the renewal failed (the gate closes as the old deadline nears).
 */
int
db_lease_tick(struct db_lease *l)
{
	int64_t now = lease_now(l), old = atomic_load(&l->node);
	struct gw_err err;
	int rc;

	/* A beat far later than due: the process was frozen (SIGSTOP, a VM
	 * pause) or starved; an order may have been about to leave. */
	if (l->last_tick_ms != 0 && l->o.beat_s > 0 &&
	    now - l->last_tick_ms >
		((int64_t)l->o.beat_s + l->o.margin_s) * 1000)
		lease_event(l, true,
		    "lease of incarnation %lld renewed %lld ms late (the "
		    "process was frozen or starved)",
		    (long long)old, (long long)(now - l->last_tick_ms));
	l->last_tick_ms = now;
	gw_err_clear(&err);
	rc = lease_renew(l, &err);
	if (rc == -1) {
		lease_event(l, true,
		    "lease of incarnation %lld: renewal failed: %s; no order "
		    "starts once it may outlast the lease",
		    (long long)old, err.msg);
		return -1;
	}
	if (rc == 0)
		return 0;
	lease_event(l, true,
	    "lease of incarnation %lld was lost (it ran out); its orders are "
	    "left to be taken over; registering a new incarnation",
	    (long long)old);
	gw_err_clear(&err);
	if (lease_register(l, &err) != 0)
		lease_event(l, true, "cannot register a new incarnation: %s",
		    err.msg);
	else
		lease_event(l, false,
		    "registered incarnation %lld (%s); orders start after its "
		    "first renewal",
		    (long long)atomic_load(&l->node), l->o.name);
	return 1;
}

static void *
lease_run(void *arg)
{
	struct db_lease *l = arg;
	struct timespec until;

	gw_thread_name("scepgw-lease");
	pthread_mutex_lock(&l->mu);
	while (!l->stop) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += l->o.beat_s;
		while (!l->stop &&
		    pthread_cond_timedwait(&l->cv, &l->mu, &until) != ETIMEDOUT)
			;
		if (l->stop)
			break;
		pthread_mutex_unlock(&l->mu);
		(void)db_lease_tick(l);
		pthread_mutex_lock(&l->mu);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

/* Frees l without touching the database; NULL-safe. */
static void
lease_free(struct db_lease *l)
{
	if (l == NULL)
		return;
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l->name);
	free(l->version);
	free(l);
}

/* Copies o into l (strings and digest owned by l). */
static int
lease_opts_copy(struct db_lease *l, const struct db_lease_opts *o)
{
	l->o = *o;
	if (l->o.clock == NULL)
		l->o.clock = lease_mono_ms;
	if ((l->name = gw_strdup(o->name)) == NULL ||
	    (o->version != NULL &&
		(l->version = gw_strdup(o->version)) == NULL))
		return -1;
	l->o.name = l->name;
	l->o.version = l->version;
	if (o->cfg_sha256 != NULL) {
		memcpy(l->cfg_sha256, o->cfg_sha256, 32);
		l->o.cfg_sha256 = l->cfg_sha256;
	}
	if (o->order_sha256 != NULL) {
		memcpy(l->order_sha256, o->order_sha256, 32);
		l->o.order_sha256 = l->order_sha256;
	}
	if (o->ra_sha256 != NULL) {
		memcpy(l->ra_sha256, o->ra_sha256, 32);
		l->o.ra_sha256 = l->ra_sha256;
	}
	return 0;
}

/*
 * Registers a new incarnation on db, renews its lease once (the gate
 * opens), and starts the lease thread (none when o->beat_s is 0). The
 * handle then stamps the incarnation on the transactions it starts.
 * Returns 0, or -1 with err set and nothing registered or started but
 * an incarnation whose first renewal failed.
 */
int
db_lease_start(struct db_lease **out, struct db *db,
    const struct db_lease_opts *o, struct gw_err *err)
{
	pthread_condattr_t ca;
	struct db_lease *l;
	int rc;

	*out = NULL;
	if (o->name == NULL || o->lease_s <= 0 || o->call_s < 0 ||
	    o->margin_s < 0 || o->beat_s < 0) {
		gw_err_set(err, DB_ERR_ARG, "lease: bad argument");
		return -1;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		gw_err_set(err, DB_ERR_SQL, "lease: out of memory");
		return -1;
	}
	l->db = db;
	pthread_mutex_init(&l->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (lease_opts_copy(l, o) != 0) {
		gw_err_set(err, DB_ERR_SQL, "lease: out of memory");
		goto err;
	}
	if (lease_register(l, err) != 0)
		goto err;
	if ((rc = lease_renew(l, err)) != 0) {
		if (rc == 1)
			gw_err_set(err, DB_ERR_STATE,
			    "lease: ran out before its first renewal");
		goto err;
	}
	l->last_tick_ms = lease_now(l);
	if (o->beat_s > 0) {
		if (pthread_create(&l->thread, NULL, lease_run, l) != 0) {
			gw_err_set(err, DB_ERR_SQL,
			    "lease: cannot start its thread");
			goto err;
		}
		l->started = true;
	}
	*out = l;
	return 0;
err:
	lease_free(l);
	return -1;
}

/*
 * Stops the lease thread and, with release (after a graceful drain:
 * nothing of this incarnation is in flight), ends the lease at once so a
 * survivor takes over without waiting it out. The gate closes. NULL-safe.
 */
void
db_lease_stop(struct db_lease *l, bool release)
{
	struct gw_err err;
	int64_t node;

	if (l == NULL)
		return;
	if (l->started) {
		pthread_mutex_lock(&l->mu);
		l->stop = true;
		pthread_cond_broadcast(&l->cv);
		pthread_mutex_unlock(&l->mu);
		pthread_join(l->thread, NULL);
		l->started = false;
	}
	atomic_store(&l->deadline_ms, 0);
	node = atomic_load(&l->node);
	gw_err_clear(&err);
	if (release && node > 0 && db_node_release(l->db, node, &err) != 0)
		lease_event(l, true,
		    "cannot release the lease of "
		    "incarnation %lld: %s",
		    (long long)node, err.msg);
	else if (release && node > 0)
		lease_event(l, false, "released the lease of incarnation %lld",
		    (long long)node);
	lease_free(l);
}

/*
 * Records ra_sha256 as the RA certificate this incarnation serves (a
 * reload replaced it, README "Running under systemd"), for `scepgw check`
 * now and for any incarnation the lease thread registers later. Returns
 * 0, or -1 with err set (the lease itself is unaffected).
 */
int
db_lease_set_ra(struct db_lease *l, const uint8_t ra_sha256[32],
    struct gw_err *err)
{
	const uint8_t *order;

	pthread_mutex_lock(&l->mu);
	memcpy(l->ra_sha256, ra_sha256, 32);
	l->o.ra_sha256 = l->ra_sha256;
	order = l->o.order_sha256;
	pthread_mutex_unlock(&l->mu);
	return db_node_set_marks(l->db, atomic_load(&l->node), order, ra_sha256,
	    err);
}
