/*
 * The lease of this `scepgw serve` incarnation and the order gate
 * (db/README.md "Leases"), shared by every backend: one thread renews the
 * lease every beat_s seconds; db_lease_may_order() says, on the monotonic
 * clock, whether an order started now would end while the lease surely
 * still holds. Nothing here logs: events go to the caller's callback.
 */
#ifndef GW_DB_LEASE_H
#define GW_DB_LEASE_H

#include <stdbool.h>
#include <stdint.h>

struct db;
struct gw_err;
struct db_lease;

/* The defaults of README "Configuration" [cluster]. */
#define DB_LEASE_MARGIN_S 5 /* M: clock skew, scheduling, drift */
#define DB_LEASE_BEAT_S 5   /* H: seconds between renewals */

/* warn: something an operator should hear of; msg: one line. */
typedef void db_lease_event_fn(void *arg, bool warn, const char *msg);
/* Milliseconds on a monotonic clock (tests inject their own). */
typedef int64_t db_lease_clock_fn(void *arg);

struct db_lease_opts {
	const char *name; /* the incarnations' name */
	int lease_s;	  /* L */
	int call_s;	  /* E: the longest upstream call */
	int margin_s;	  /* M */
	int beat_s;	  /* H; 0: no thread, db_lease_tick() by hand */
	const uint8_t *cfg_sha256; /* 32 bytes, or NULL */
	/* db_node_set_marks(): 32 bytes each, or NULL */
	const uint8_t *order_sha256;
	const uint8_t *ra_sha256;
	const char *version;
	db_lease_event_fn *event; /* or NULL */
	void *event_arg;
	db_lease_clock_fn *clock; /* NULL: CLOCK_MONOTONIC */
	void *clock_arg;
};

bool db_lease_gate(int64_t now_ms, int64_t deadline_ms, int call_s,
    int margin_s);
int db_lease_start(struct db_lease **out, struct db *db,
    const struct db_lease_opts *o, struct gw_err *err);
int db_lease_tick(struct db_lease *l);
bool db_lease_may_order(void *lease);
int64_t db_lease_node(struct db_lease *l);
int db_lease_set_ra(struct db_lease *l, const uint8_t ra_sha256[32],
    struct gw_err *err);
void db_lease_stop(struct db_lease *l, bool release);

#endif
