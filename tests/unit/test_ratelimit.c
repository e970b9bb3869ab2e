/*
 * Unit tests for server/enroll/ratelimit.c: the sliding window per address,
 * refunds, IPv6 /64 grouping, eviction when the table is full, and
 * concurrent takers that must never get more than max through.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ratelimit.h"

/* One step of a scripted scenario: a take (or refund) and its answer. */
struct rl_step {
	const char *addr;
	int64_t now;
	bool refund; /* ratelimit_refund() instead of a take */
	bool ok;     /* expected answer of the take */
};

struct rl_case {
	const char *name;
	size_t slots;
	unsigned max;
	unsigned window;
	struct rl_step steps[12];
	size_t nsteps;
	uint64_t refused;
};

static const struct rl_case cases[] = {
	{ "three per minute, sliding", 64, 3, 60,
	    {
		{ "192.0.2.1", 0, false, true },
		{ "192.0.2.1", 1, false, true },
		{ "192.0.2.1", 2, false, true },
		{ "192.0.2.1", 3, false, false },
		{ "192.0.2.1", 59, false, false },
		{ "192.0.2.1", 60, false, true },  /* t=0 left the window */
		{ "192.0.2.1", 60, false, false }, /* 1, 2, 60 in it */
		{ "192.0.2.1", 62, false, true },
	    },
	    8, 3 },
	{ "addresses are independent", 64, 1, 60,
	    {
		{ "192.0.2.1", 0, false, true },
		{ "192.0.2.1", 0, false, false },
		{ "192.0.2.2", 0, false, true },
		{ "2001:db8::1", 0, false, true },
		{ "::ffff:192.0.2.3", 0, false, true },
		{ "192.0.2.3", 0, false, false }, /* same as v4-mapped */
	    },
	    6, 2 },
	{ "IPv6 counts per /64", 64, 2, 60,
	    {
		{ "2001:db8:1:2::1", 0, false, true },
		{ "2001:db8:1:2:ffff::9", 1, false, true },
		{ "2001:db8:1:2::abcd", 2, false, false },
		{ "2001:db8:1:3::1", 2, false, true },
	    },
	    4, 1 },
	{ "a refund gives one back", 64, 2, 60,
	    {
		{ "198.51.100.7", 0, false, true },
		{ "198.51.100.7", 0, false, true },
		{ "198.51.100.7", 0, true, true },
		{ "198.51.100.7", 1, false, true },
		{ "198.51.100.7", 1, false, false },
		{ "198.51.100.8", 1, true, true }, /* unknown: no effect */
		{ "198.51.100.8", 1, false, true },
	    },
	    7, 1 },
	{ "unparsable addresses share one slot", 64, 1, 60,
	    {
		{ "?", 0, false, true },
		{ "not an address", 0, false, false },
	    },
	    2, 1 },
	{ "a full table forgets the least recent address", 1, 1, 60,
	    {
		{ "203.0.113.1", 0, false, true },
		{ "203.0.113.2", 1, false, true }, /* evicts .1 */
		{ "203.0.113.2", 2, false, false },
		{ "203.0.113.1", 3, false, true },
	    },
	    4, 1 },
};

static void
test_scenarios(void **state)
{
	struct ratelimit *rl;
	const struct rl_case *c;
	const struct rl_step *s;
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = &cases[i];
		assert_int_equal(ratelimit_new(&rl, c->slots, c->max,
				     c->window),
		    0);
		for (j = 0; j < c->nsteps; j++) {
			s = &c->steps[j];
			if (s->refund) {
				ratelimit_refund(rl, s->addr);
				continue;
			}
			if (ratelimit_take(rl, s->addr, s->now) != s->ok)
				fail_msg("%s: step %zu (%s at %lld): expected "
					 "%s",
				    c->name, j, s->addr, (long long)s->now,
				    s->ok ? "allowed" : "refused");
		}
		assert_int_equal(ratelimit_refused(rl), c->refused);
		ratelimit_free(rl);
	}
}

/*
 * ratelimit_check() reserves nothing: any number of checks pass while
 * the address has failures left (devices behind one NAT waiting on
 * Intune); ratelimit_fail() counts a failure, and a full window stays
 * full (the oldest is replaced) until its failures age out.
 */
static void
test_check_then_fail(void **state)
{
	struct ratelimit *rl;
	int i;

	(void)state;
	assert_int_equal(ratelimit_new(&rl, 64, 3, 60), 0);
	for (i = 0; i < 50; i++)
		assert_true(ratelimit_check(rl, "192.0.2.9", 0));
	ratelimit_fail(rl, "192.0.2.9", 1);
	ratelimit_fail(rl, "192.0.2.9", 2);
	assert_true(ratelimit_check(rl, "192.0.2.9", 3));
	ratelimit_fail(rl, "192.0.2.9", 3);
	assert_false(ratelimit_check(rl, "192.0.2.9", 4));
	assert_false(ratelimit_take(rl, "192.0.2.9", 4));
	/* Concurrent checks that failed together: still full, newest kept. */
	ratelimit_fail(rl, "192.0.2.9", 10);
	assert_false(ratelimit_check(rl, "192.0.2.9", 11));
	/* t=1 was replaced, t=2 left the window at 62: two of three. */
	assert_true(ratelimit_check(rl, "192.0.2.9", 62));
	assert_true(ratelimit_check(rl, "192.0.2.8", 4));
	assert_int_equal(ratelimit_refused(rl), 3);
	ratelimit_free(rl);
}

static void
test_new_bad_args(void **state)
{
	struct ratelimit *rl = (struct ratelimit *)(uintptr_t)1;

	(void)state;
	assert_int_equal(ratelimit_new(&rl, 0, 5, 60), -1);
	assert_null(rl);
	assert_int_equal(ratelimit_new(&rl, 16, 0, 60), -1);
	assert_int_equal(ratelimit_new(&rl, 16, 5, 0), -1);
	assert_int_equal(ratelimit_new(&rl, 16, 1001, 60), -1);
	ratelimit_free(NULL);
}

#define RACERS 8
#define TRIES 200

struct racer {
	struct ratelimit *rl;
	int allowed;
};

static void *
racer_run(void *arg)
{
	struct racer *r = arg;
	int i;

	for (i = 0; i < TRIES; i++)
		if (ratelimit_take(r->rl, "192.0.2.99", 1000))
			r->allowed++;
	return NULL;
}

/* Concurrent attempts from one address: exactly max get through. */
static void
test_concurrent_takers(void **state)
{
	struct racer r[RACERS];
	pthread_t th[RACERS];
	struct ratelimit *rl;
	int i, total = 0;

	(void)state;
	assert_int_equal(ratelimit_new(&rl, 256, 5, 60), 0);
	for (i = 0; i < RACERS; i++) {
		r[i].rl = rl;
		r[i].allowed = 0;
		assert_int_equal(pthread_create(&th[i], NULL, racer_run, &r[i]),
		    0);
	}
	for (i = 0; i < RACERS; i++) {
		pthread_join(th[i], NULL);
		total += r[i].allowed;
	}
	assert_int_equal(total, 5);
	assert_int_equal(ratelimit_refused(rl), RACERS * TRIES - 5);
	ratelimit_free(rl);
}

/* Many addresses in a small table: each gets its own budget while it
 * fits, and nothing crashes when it no longer does. */
static void
test_many_addresses(void **state)
{
	struct ratelimit *rl;
	char addr[32];
	int i;

	(void)state;
	assert_int_equal(ratelimit_new(&rl, 512, 1, 60), 0);
	for (i = 0; i < 200; i++) {
		snprintf(addr, sizeof(addr), "10.0.%d.%d", i / 256, i % 256);
		assert_true(ratelimit_take(rl, addr, 5));
		assert_false(ratelimit_take(rl, addr, 5));
	}
	for (i = 0; i < 5000; i++) {
		snprintf(addr, sizeof(addr), "10.1.%d.%d", i / 256, i % 256);
		assert_true(ratelimit_take(rl, addr, 6));
	}
	ratelimit_free(rl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scenarios),
		cmocka_unit_test(test_new_bad_args),
		cmocka_unit_test(test_check_then_fail),
		cmocka_unit_test(test_concurrent_takers),
		cmocka_unit_test(test_many_addresses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
