/*
 * The web console's one-time .mobileconfig links (README "Admin web
 * console", **Challenges.**): /ui/mc/TOKEN, an open route whose 256-bit
 * random TOKEN is the only key. This process keeps, in memory only, the
 * token's SHA-256 with the profile file made when the challenge was
 * created, the challenge's id and the SHA-256 of its secret. A link is
 * usable once (the first GET takes it out, whatever follows), dies with
 * its challenge's expiry, and is refused when the database says the
 * challenge is used or revoked. At most UI_MC_MAX links are kept: a new
 * one beyond that evicts the oldest. Files are wiped when they leave.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/sha.h>

#include "admin_int.h"
#include "db.h"
#include "gw.h"
#include "gw_err.h"
#include "log.h"
#include "secure.h"
#include "ui.h"
#include "ui_int.h"

struct mc_link {
	uint8_t tokh[32]; /* SHA-256 of the token's 64 hex digits */
	uint8_t chh[32];  /* SHA-256 of the challenge's secret */
	long long id;	  /* the challenge */
	int64_t expires;  /* the challenge's */
	char *data;	  /* the profile file */
	size_t len;
};

static pthread_mutex_t mc_mu = PTHREAD_MUTEX_INITIALIZER;
static struct mc_link mc_v[UI_MC_MAX]; /* oldest first */
static size_t mc_n;

/* Wipes and frees link i and closes the gap. Lock held. */
static void
mc_drop(size_t i)
{
	gw_cleanse(mc_v[i].data, mc_v[i].len);
	free(mc_v[i].data);
	memmove(&mc_v[i], &mc_v[i + 1], (mc_n - i - 1) * sizeof(mc_v[0]));
	mc_n--;
	memset(&mc_v[mc_n], 0, sizeof(mc_v[0]));
}

/* Drops the links whose challenge has expired at now. Lock held. */
static void
mc_expire(int64_t now)
{
	size_t i = 0;

	while (i < mc_n)
		if (mc_v[i].expires <= now)
			mc_drop(i);
		else
			i++;
}

/*
 * Keeps data (len bytes, taken: freed here on failure too) as the file of
 * challenge id whose secret hashes to chh, until expires; writes the new
 * link's token (64 hex digits) to tok. Returns 0 or -1.
 */
int
ui_mc_add(long long id, const uint8_t chh[32], int64_t expires, char *data,
    size_t len, char tok[65])
{
	struct mc_link *l;

	if (ui_random_hex(tok, 32) != 0) {
		gw_cleanse(data, len);
		free(data);
		return -1;
	}
	pthread_mutex_lock(&mc_mu);
	mc_expire((int64_t)time(NULL));
	if (mc_n == UI_MC_MAX) {
		log_info("console: mobileconfig link of challenge %lld "
			 "evicted (%d links kept)",
		    mc_v[0].id, UI_MC_MAX);
		mc_drop(0);
	}
	l = &mc_v[mc_n++];
	SHA256((const unsigned char *)tok, 64, l->tokh);
	memcpy(l->chh, chh, 32);
	l->id = id;
	l->expires = expires;
	l->data = data;
	l->len = len;
	pthread_mutex_unlock(&mc_mu);
	return 0;
}

/* Forgets challenge id's link (revoked). */
void
ui_mc_forget(long long id)
{
	size_t i;

	pthread_mutex_lock(&mc_mu);
	for (i = 0; i < mc_n; i++)
		if (mc_v[i].id == id) {
			mc_drop(i);
			break;
		}
	pthread_mutex_unlock(&mc_mu);
}

/*
 * Takes the link of tok out of the store: 0 with *l filled (the caller
 * owns l->data), or 1 when there is none (never was, used, evicted or
 * expired).
 */
static int
mc_take(const char *tok, struct mc_link *l)
{
	uint8_t h[32];
	size_t i;
	int rc = 1;

	SHA256((const unsigned char *)tok, 64, h);
	pthread_mutex_lock(&mc_mu);
	mc_expire((int64_t)time(NULL));
	for (i = 0; i < mc_n; i++)
		if (memcmp(mc_v[i].tokh, h, sizeof(h)) == 0) {
			*l = mc_v[i];
			mc_v[i].data = NULL; /* now the caller's */
			mc_v[i].len = 0;
			mc_drop(i);
			rc = 0;
			break;
		}
	pthread_mutex_unlock(&mc_mu);
	return rc;
}

static bool
is_hex64(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
			(s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == '\0';
}

/*
 * GET /ui/mc/TOKEN: the profile file once, if the challenge is still
 * unused in the database; otherwise 410 with the reason. Only the
 * challenge id is logged (the token is redacted from the request line).
 */
enum MHD_Result
ui_mc(struct ui_call *c)
{
	struct admin_req *rq = c->rq;
	struct db_challenge ch;
	enum db_start res;
	struct gw_err err;
	struct mc_link l;
	enum MHD_Result rc;
	const char *tok = c->rest;
	char name[48];

	rq->path = "/ui/mc/(token)";
	if (!c->get || strcmp(rq->method, MHD_HTTP_METHOD_HEAD) == 0)
		return ui_plain(rq, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method not allowed: GET the link once\n");
	if (!is_hex64(tok) || mc_take(tok, &l) != 0) {
		log_info("%s console: mobileconfig link unknown, used or "
			 "expired",
		    c->client);
		return ui_plain(rq, MHD_HTTP_GONE,
		    "gone: this link is unknown, already used or expired; "
		    "links work once, on the gateway that made them, until "
		    "it restarts\n");
	}
	if (db_challenge_peek(c->ctx->db, l.chh, (int64_t)time(NULL), &ch, &res,
		&err) != 0 ||
	    ch.id != l.id || res != DB_START_OK) {
		db_challenge_cleanup(&ch);
		gw_cleanse(l.data, l.len);
		free(l.data);
		log_info("%s console: mobileconfig link of challenge %lld "
			 "refused: the challenge is no longer usable",
		    c->client, l.id);
		return ui_plain(rq, MHD_HTTP_GONE,
		    "gone: the challenge of this link was used, revoked or "
		    "has expired\n");
	}
	db_challenge_cleanup(&ch);
	log_info("%s console: mobileconfig of challenge %lld downloaded",
	    c->client, l.id);
	snprintf(name, sizeof(name), "scepgw-%lld.mobileconfig", l.id);
	rc = ui_file(rq, "application/x-apple-aspen-config", name, l.data,
	    l.len);
	gw_cleanse(l.data, l.len);
	free(l.data);
	return rc;
}
