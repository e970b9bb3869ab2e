/*
 * A transaction's history and the console's search (db/README.md
 * "History"): the front every backend shares. The events only the server
 * sees go through the group-commit queue as DB_W_EVENT writes, so that an
 * enrollment's CertRep does not wait for a commit of its own.
 */
#include <stdlib.h>
#include <string.h>

#include "gw_err.h"
#include "db.h"
#include "db_int.h"

/* Longest kind, detail and CN an event keeps (a longer one is cut). */
#define DB_EVENT_TEXT_MAX 512

/* Frees the strings of an event row and zeroes it; accepts NULL. */
void
db_event_cleanup(struct db_event *e)
{
	if (e == NULL)
		return;
	free(e->txid);
	free(e->kind);
	free(e->detail);
	free(e->cn);
	memset(e, 0, sizeof(*e));
}

static int
event_check(const struct db_event_new *e, struct gw_err *err)
{
	if (e == NULL || e->txid == NULL || e->txid[0] == '\0' ||
	    e->kind == NULL || e->kind[0] == '\0') {
		gw_err_set(err, DB_ERR_ARG, "event: txid and kind needed");
		return -1;
	}
	return 0;
}

/* Records one event and waits for its commit. 0, or -1 with err set. */
int
db_event_add(struct db *db, const struct db_event_new *e, struct gw_err *err)
{
	struct db_write j;

	if (event_check(e, err) != 0)
		return -1;
	memset(&j, 0, sizeof(j));
	j.kind = DB_W_EVENT;
	j.u.ev = *e;
	return db_write_run(db, &j, err) == -1 ? -1 : 0;
}

/* A queued event: the job and copies of its strings. */
struct event_job {
	struct db_write w; /* first: the completion gets &w */
	char *txid, *kind, *detail, *cn;
};

static void
event_job_done(struct db_write *w, int rc, const struct gw_err *err)
{
	struct event_job *q = (struct event_job *)(void *)w;

	(void)rc; /* a lost line of history is not worth a failure */
	(void)err;
	free(q->txid);
	free(q->kind);
	free(q->detail);
	free(q->cn);
	free(q);
}

/* A copy of s (NULL stays NULL), cut at DB_EVENT_TEXT_MAX bytes, and
 * then before a UTF-8 character the cut would split (PostgreSQL refuses
 * text that is not UTF-8). */
static int
event_strdup(const char *s, char **out)
{
	size_t n;

	*out = NULL;
	if (s == NULL)
		return 0;
	if ((*out = strndup(s, DB_EVENT_TEXT_MAX)) == NULL)
		return -1;
	n = strlen(*out);
	if (n == DB_EVENT_TEXT_MAX && s[n] != '\0') {
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		(*out)[n] = '\0';
	}
	return 0;
}

/*
 * Queues one event behind the hot writes and returns: nothing waits for
 * its commit, and a failure to write it is dropped (the history is for
 * people; the transaction's row is the truth). 0, or -1 with err set.
 */
int
db_event_submit(struct db *db, const struct db_event_new *e, struct gw_err *err)
{
	struct event_job *q;

	if (event_check(e, err) != 0)
		return -1;
	if ((q = calloc(1, sizeof(*q))) == NULL ||
	    event_strdup(e->txid, &q->txid) != 0 ||
	    event_strdup(e->kind, &q->kind) != 0 ||
	    event_strdup(e->detail, &q->detail) != 0 ||
	    event_strdup(e->cn, &q->cn) != 0) {
		if (q != NULL)
			event_job_done(&q->w, -1, NULL);
		gw_err_set(err, DB_ERR_SQL, "event: out of memory");
		return -1;
	}
	q->w.kind = DB_W_EVENT;
	q->w.done = event_job_done;
	q->w.u.ev =
	    (struct db_event_new) { q->txid, e->at, q->kind, q->detail, q->cn };
	if (db_write_submit(db, &q->w, err) != 0) {
		event_job_done(&q->w, -1, NULL);
		return -1;
	}
	return 0;
}

/* Calls fn for txid's events, oldest first, at most limit (0: all). */
int
db_event_list(struct db *db, const char *txid, size_t limit, db_event_fn *fn,
    void *arg, struct gw_err *err)
{
	if (txid == NULL) {
		gw_err_set(err, DB_ERR_ARG, "event list: no txid");
		return -1;
	}
	return db->be->event_list(db, txid, limit, fn, arg, err);
}

/*
 * Calls fn for the "refused" events (requests refused before or without a
 * transaction row) that match q's cn prefix and date range, newest first;
 * q's state and email are ignored.
 */
int
db_event_refused(struct db *db, const struct db_txn_query *q, db_event_fn *fn,
    void *arg, struct gw_err *err)
{
	return db->be->event_refused(db, q, fn, arg, err);
}

/*
 * Deletes the "refused" events older than before, and the oldest of them
 * beyond the newest keep (0: no cap): what an attacker's refused requests
 * leave is bounded (README "Admin web console"). *n: rows deleted.
 */
int
db_event_prune(struct db *db, int64_t before, int64_t keep, int64_t *n,
    struct gw_err *err)
{
	int64_t dummy;

	return db->be->event_prune(db, before, keep, n != NULL ? n : &dummy,
	    err);
}

/* The console's search: struct db_txn_query (db.h). */
int
db_txn_search(struct db *db, const struct db_txn_query *q, db_txn_fn *fn,
    void *arg, struct gw_err *err)
{
	if (q == NULL || (int)q->state < 0 || q->state > DB_TXN_FAILED) {
		gw_err_set(err, DB_ERR_ARG, "txn search: bad query");
		return -1;
	}
	return db->be->txn_search(db, q, fn, arg, err);
}

/*
 * The upper end of a prefix's index range: prefix followed by U+10FFFF
 * (UTF-8 F4 8F BF BF), above every string that starts with prefix in
 * byte order (SQLite BINARY, PostgreSQL COLLATE "C"). Caller frees.
 */
char *
db_prefix_end(const char *prefix)
{
	size_t n = strlen(prefix);
	char *s = malloc(n + 5);

	if (s == NULL)
		return NULL;
	memcpy(s, prefix, n);
	memcpy(s + n, "\xf4\x8f\xbf\xbf", 5);
	return s;
}
