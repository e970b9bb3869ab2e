/*
 * Challenges made and revoked for the admin API (api.c) and the web
 * console (ui_chal.c), one code path for both (README "Admin HTTP API",
 * "Admin web console"): a batch is all or nothing, the log names ids and
 * never a secret, and a revoked challenge loses its one-time
 * .mobileconfig link (ui_mc.c).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin_int.h"
#include "challenge.h"
#include "db.h"
#include "gw.h"
#include "gw_err.h"
#include "log.h"
#include "secure.h"
#include "ui.h"

/* Withdraws the challenges made so far when a batch fails halfway. */
static void
chal_batch_undo(struct db *db, const int64_t *ids, long n)
{
	struct gw_err err;
	long i;

	for (i = 0; i < n; i++)
		db_challenge_revoke(db, ids[i], &err);
}

/*
 * Makes r->count challenges bound as r asks (the API's POST and the web
 * console's form): all or none, since a batch that fails halfway is
 * withdrawn. Returns 0 with m filled (free it with admin_chal_made_free(),
 * which wipes the secrets), or -1 after logging why.
 */
int
admin_chal_make(struct admin_req *rq, const struct chal_req *r,
    struct chal_made *m)
{
	const struct db_challenge_bind b = { r->cn, r->email, r->ou, r->upn,
		r->profile };
	int64_t now = (int64_t)time(NULL);
	struct gw_err err;
	uint8_t hash[32];
	long i = 0;

	memset(m, 0, sizeof(*m));
	m->expires = now + r->ttl;
	m->secrets = calloc((size_t)r->count, sizeof(*m->secrets));
	m->ids = calloc((size_t)r->count, sizeof(*m->ids));
	m->hashes = calloc((size_t)r->count, sizeof(*m->hashes));
	if (m->secrets == NULL || m->ids == NULL || m->hashes == NULL)
		goto fail;
	for (i = 0; i < r->count; i++) {
		if (enroll_challenge_make(m->secrets[i], hash) != 0)
			goto fail;
		memcpy(m->hashes[i], hash, sizeof(hash));
		if (db_challenge_put_bound(rq->ctx->db, hash, now, m->expires,
			&b, &m->ids[i], &err) != 0) {
			log_ev(LOG_WARNING, "admin", NULL,
			    "admin challenges: %s", err.msg);
			goto fail;
		}
	}
	m->n = r->count;
	gw_cleanse(hash, sizeof(hash));
	log_ev(LOG_INFO, "admin.challenges", LOG_F(.peer = rq->peer),
	    "%s admin: %ld challenge(s) created, ids %lld..%lld, "
	    "cn=%s",
	    rq->peer, r->count, (long long)m->ids[0],
	    (long long)m->ids[r->count - 1], r->cn != NULL ? r->cn : "-");
	return 0;
fail:
	gw_cleanse(hash, sizeof(hash));
	if (m->ids != NULL)
		chal_batch_undo(rq->ctx->db, m->ids, i);
	m->n = r->count;
	admin_chal_made_free(m);
	return -1;
}

/* Wipes and frees what admin_chal_make() made. */
void
admin_chal_made_free(struct chal_made *m)
{
	if (m->secrets != NULL)
		gw_cleanse(m->secrets, (size_t)m->n * sizeof(*m->secrets));
	if (m->hashes != NULL)
		gw_cleanse(m->hashes, (size_t)m->n * sizeof(*m->hashes));
	free(m->secrets);
	free(m->hashes);
	free(m->ids);
	memset(m, 0, sizeof(*m));
}

/*
 * Revokes challenge id string s (the API's DELETE and the web console's
 * form) and forgets its one-time .mobileconfig link. Returns 0 with *id
 * set, 1 when s is no id, 2 when there is no such challenge, -1 on a
 * database error (logged).
 */
int
admin_chal_revoke(struct admin_req *rq, const char *s, long long *id)
{
	struct gw_err err;
	char *end;

	errno = 0;
	*id = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || *id < 1)
		return 1;
	gw_err_clear(&err);
	if (db_challenge_revoke(rq->ctx->db, *id, &err) != 0) {
		if (err.code == DB_ERR_NOTFOUND)
			return 2;
		log_ev(LOG_WARNING, "admin", NULL, "admin revoke: %s", err.msg);
		return -1;
	}
	ui_mc_forget(*id);
	log_ev(LOG_INFO, "admin.revoke", LOG_F(.peer = rq->peer),
	    "%s admin: challenge %lld revoked", rq->peer, *id);
	return 0;
}
