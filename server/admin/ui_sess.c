/*
 * The console's sessions (README "Admin web console", "Sessions"): a
 * 256-bit random id per login, of which only the SHA-256 is kept, in this
 * process's memory, with the user, role, CSRF token and the idle and
 * absolute deadlines ([console] idle_seconds, absolute_seconds).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "config.h"
#include "log.h"
#include "secure.h"
#include "ui.h"
#include "ui_int.h"

/* Sessions kept at most; a login beyond evicts the least recently used. */
#define UI_SESS_MAX 256

struct ui_sess {
	bool used;
	uint8_t idh[32]; /* SHA-256 of the cookie's id */
	int64_t born;	 /* monotonic seconds */
	int64_t last;
	struct ui_who who;
};

struct ui_sessions {
	pthread_mutex_t mu;
	struct ui_sess v[UI_SESS_MAX];
};

int
ui_sessions_new(struct ui_sessions **out)
{
	struct ui_sessions *s;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -1;
	pthread_mutex_init(&s->mu, NULL);
	*out = s;
	return 0;
}

/* Frees the store, wiping it; accepts NULL. */
void
ui_sessions_free(struct ui_sessions *s)
{
	if (s == NULL)
		return;
	pthread_mutex_destroy(&s->mu);
	gw_cleanse(s->v, sizeof(s->v));
	free(s);
}

static int64_t
ui_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* n random bytes as 2n hex characters into out (2n + 1 bytes). */
int
ui_random_hex(char *out, size_t nbytes)
{
	static const char hx[] = "0123456789abcdef";
	uint8_t r[32];
	size_t i;

	if (nbytes > sizeof(r) || gw_random_bytes(r, nbytes) != 0)
		return -1;
	for (i = 0; i < nbytes; i++) {
		out[2 * i] = hx[r[i] >> 4];
		out[2 * i + 1] = hx[r[i] & 15];
	}
	out[2 * nbytes] = '\0';
	gw_cleanse(r, sizeof(r));
	return 0;
}

/* Constant-time equality of two 64-character tokens. */
bool
ui_token_eq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strlen(a) == 64 && strlen(b) == 64 &&
	    CRYPTO_memcmp(a, b, 64) == 0;
}

/*
 * Finds the session of cookie id, drops it when expired, else refreshes
 * its idle deadline and copies it into *who. Returns true when found.
 */
bool
ui_sess_find(struct ui_sessions *s, const struct gw_config *cfg, const char *id,
    struct ui_who *who)
{
	uint8_t h[32];
	int64_t now = ui_now();
	bool found = false;
	size_t i;

	if (id == NULL || strlen(id) != 64)
		return false;
	SHA256((const unsigned char *)id, 64, h);
	pthread_mutex_lock(&s->mu);
	for (i = 0; i < UI_SESS_MAX; i++) {
		if (!s->v[i].used ||
		    CRYPTO_memcmp(s->v[i].idh, h, sizeof(h)) != 0)
			continue;
		if (now - s->v[i].last >= cfg->console_idle_seconds ||
		    now - s->v[i].born >= cfg->console_absolute_seconds) {
			log_info("console: user=%s: session expired",
			    s->v[i].who.user);
			gw_cleanse(&s->v[i], sizeof(s->v[i]));
			break;
		}
		s->v[i].last = now;
		*who = s->v[i].who;
		found = true;
		break;
	}
	pthread_mutex_unlock(&s->mu);
	return found;
}

/* Forgets the session of cookie id (logout). */
void
ui_sess_drop(struct ui_sessions *s, const char *id)
{
	uint8_t h[32];
	size_t i;

	if (id == NULL || strlen(id) != 64)
		return;
	SHA256((const unsigned char *)id, 64, h);
	pthread_mutex_lock(&s->mu);
	for (i = 0; i < UI_SESS_MAX; i++)
		if (s->v[i].used &&
		    CRYPTO_memcmp(s->v[i].idh, h, sizeof(h)) == 0)
			gw_cleanse(&s->v[i], sizeof(s->v[i]));
	pthread_mutex_unlock(&s->mu);
}

/*
 * Ends every session of user (removed, or its role changed: it logs in
 * again with what it now is). Returns how many ended.
 */
int
ui_sess_drop_user(struct ui_sessions *s, const char *user)
{
	size_t i;
	int n = 0;

	pthread_mutex_lock(&s->mu);
	for (i = 0; i < UI_SESS_MAX; i++)
		if (s->v[i].used && strcmp(s->v[i].who.user, user) == 0) {
			gw_cleanse(&s->v[i], sizeof(s->v[i]));
			n++;
		}
	pthread_mutex_unlock(&s->mu);
	return n;
}

/*
 * A new session for user with role: its id (64 hex) into id. Takes a free
 * slot, else the least recently used one. Returns 0 or -1 (no entropy).
 */
int
ui_sess_new(struct ui_sessions *s, const char *user, int role, char id[65])
{
	struct ui_sess n;
	size_t i, pick = 0;

	memset(&n, 0, sizeof(n));
	if (ui_random_hex(id, 32) != 0 || ui_random_hex(n.who.csrf, 32) != 0)
		return -1;
	SHA256((const unsigned char *)id, 64, n.idh);
	n.used = true;
	n.born = n.last = ui_now();
	/* A name that logged in is 1..64 characters (db_user.c). */
	snprintf(n.who.user, sizeof(n.who.user), "%.64s", user);
	n.who.role = role;
	pthread_mutex_lock(&s->mu);
	for (i = 0; i < UI_SESS_MAX; i++) {
		if (!s->v[i].used) {
			pick = i;
			break;
		}
		if (s->v[i].last < s->v[pick].last)
			pick = i;
	}
	s->v[pick] = n;
	pthread_mutex_unlock(&s->mu);
	gw_cleanse(&n, sizeof(n));
	return 0;
}
