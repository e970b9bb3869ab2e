/*
 * Group commit. With synchronous=FULL every COMMIT waits for an fsync of
 * the WAL, and one connection does one commit at a time: on a disk whose
 * fsync takes milliseconds that alone caps enrollments at a few hundred
 * per second, whatever the CPU. So the hot writes (db_txn_start and the
 * db_txn_set_* family, struct db_write in db_int.h) go through a queue.
 * One thread at a time leads: it takes everything queued as one batch
 * and hands it to the backend's exec_batch, which runs it with one
 * COMMIT (one fsync) for all (SQLite: one transaction, each write in its
 * own SAVEPOINT, db_sq_batch.c). Nobody hears "done" before the commit
 * that covers its write, and a write that fails leaves the others alone.
 *
 * db_write_run() waits for its commit: a caller that finds nobody writing
 * leads its own write; otherwise it waits in the queue and may be handed
 * the lead. db_write_submit() (an HTTP thread recording a new request,
 * the EPKI thread recording an order's outcome) never waits for a disk:
 * the job is queued and its completion runs on the thread that commits it,
 * the database's writer thread when nobody else leads. Leading from an
 * HTTP thread or the EPKI thread would stall every request they serve
 * for the length of an fsync; the writer thread keeps them computing
 * (1,104 against 1,043 enrollments/s at concurrency 16 when HTTP threads
 * still led while nobody else wrote; tests/bench/README.md, round 6).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gw_err.h"
#include "gw_thread.h"
#include "db.h"
#include "db_int.h"

/* Counts a batch for db_write_stats(). */
static void
batch_count(struct db *db, const struct db_write *batch)
{
	uint64_t n = 0;

	for (; batch != NULL; batch = batch->next)
		n++;
	pthread_mutex_lock(&db->qmu);
	db->qbatches++;
	db->qwrites += n;
	pthread_mutex_unlock(&db->qmu);
}

/* Runs a batch of one on the calling thread: the leader itself writing
 * from a completion callback. */
static int
write_inline(struct db *db, struct db_write *j)
{
	j->next = NULL;
	batch_count(db, j);
	db->be->exec_batch(db, j);
	return j->rc;
}

/* Takes the whole queue; the caller holds qmu. */
static struct db_write *
queue_take(struct db *db)
{
	struct db_write *batch = db->qhead;

	db->qhead = NULL;
	db->qtail = &db->qhead;
	return batch;
}

#ifdef GW_TEST_HOOKS
/*
 * Test builds only (CMake GW_TEST_HOOKS; packages are built without): while
 * the file named by SCEPGW_TEST_FREEZE_DB exists, a leader stalls before its
 * batch as one stuck in a disk or a statement would, so that a test sees
 * the watchdog of README "Running under systemd" stop.
 */
static void
lead_test_freeze(void)
{
	static const struct timespec tick = { 0, 20 * 1000 * 1000 };
	const char *f = getenv("SCEPGW_TEST_FREEZE_DB");

	while (f != NULL && access(f, F_OK) == 0)
		nanosleep(&tick, NULL);
}
#else
static void
lead_test_freeze(void)
{
}
#endif

/*
 * The leader's loop: runs batch, reports it, then either hands the lead
 * to a caller waiting in the queue (it takes the queue as its batch),
 * or, when only submitted jobs wait, runs them too, or steps down when
 * nothing waits. Completions of submitted jobs run here, outside qmu.
 */
static void
lead(struct db *db, struct db_write *batch)
{
	struct db_write *j, *next, *waiting;

	for (;;) {
		lead_test_freeze();
		batch_count(db, batch);
		db->be->exec_batch(db, batch);
		waiting = NULL;
		for (j = batch; j != NULL; j = next) {
			next = j->next;
			if (j->done != NULL) {
				j->done(j, j->rc, &j->err); /* may free j */
			} else {
				j->next = waiting;
				waiting = j;
			}
		}
		pthread_mutex_lock(&db->qmu);
		for (j = waiting; j != NULL; j = j->next)
			j->finished = true;
		for (j = db->qhead; j != NULL && j->done != NULL; j = j->next)
			;
		batch = NULL;
		if (j != NULL)
			j->lead = true; /* it takes the queue */
		else if (db->qhead != NULL)
			batch = queue_take(db);
		else
			db->qleader = false;
		pthread_cond_broadcast(&db->qdone);
		pthread_mutex_unlock(&db->qmu);
		if (batch == NULL)
			return;
	}
}

/*
 * Queues j, or makes the calling thread the leader when nobody writes.
 * Returns the batch to lead (j alone), NULL when j was queued, or sets
 * *inline_ when the caller is the leader already (writing from a
 * completion) and must run j at once.
 */
static struct db_write *
queue_join(struct db *db, struct db_write *j, bool *inline_)
{
	struct db_write *batch = NULL;

	*inline_ = false;
	j->next = NULL;
	j->finished = false;
	j->lead = false;
	pthread_mutex_lock(&db->qmu);
	if (!db->qleader) {
		db->qleader = true;
		db->qowner = pthread_self();
		batch = j;
	} else if (pthread_equal(db->qowner, pthread_self())) {
		*inline_ = true;
	} else {
		*db->qtail = j;
		db->qtail = &j->next;
	}
	pthread_mutex_unlock(&db->qmu);
	return batch;
}

/*
 * Runs the write j (the caller's: kind and u set, done NULL) in a commit
 * shared with whatever else is queued, and returns once it is committed:
 * DB_WRITE_KEEP (0) or DB_WRITE_UNDO (1, nothing written, as the write
 * decided) on success, -1 with err set when the write failed or the
 * commit did (nothing of j's was kept). j->u holds what the write read.
 */
int
db_write_run(struct db *db, struct db_write *j, struct gw_err *err)
{
	struct db_write *batch;
	bool now;

	j->done = NULL;
	if ((batch = queue_join(db, j, &now)) != NULL) {
		lead(db, batch);
	} else if (now) {
		write_inline(db, j);
	} else {
		pthread_mutex_lock(&db->qmu);
		while (!j->finished && !j->lead)
			pthread_cond_wait(&db->qdone, &db->qmu);
		batch = j->finished ? NULL : queue_take(db);
		if (batch != NULL)
			db->qowner = pthread_self();
		pthread_mutex_unlock(&db->qmu);
		if (batch != NULL)
			lead(db, batch);
	}
	if (j->rc == -1 && err != NULL)
		*err = j->err;
	return j->rc;
}

/*
 * The writer thread: leads the batches of submitted jobs that arrive while
 * nobody writes, so that no HTTP thread and not the EPKI thread ever waits
 * for a disk on their behalf. A thread in db_write_run() still leads its
 * own write when nobody else does (it waits for it anyway).
 */
static void *
writer_main(void *arg)
{
	struct db *db = arg;
	struct db_write *batch;

	gw_thread_name("scepgw-db");
	pthread_mutex_lock(&db->qmu);
	for (;;) {
		while (db->qleader || db->qhead == NULL) {
			if (db->writer_stop)
				goto out;
			pthread_cond_wait(&db->qwork, &db->qmu);
		}
		db->qleader = true;
		db->qowner = pthread_self();
		batch = queue_take(db);
		pthread_mutex_unlock(&db->qmu);
		lead(db, batch);
		pthread_mutex_lock(&db->qmu);
	}
out:
	pthread_mutex_unlock(&db->qmu);
	return NULL;
}

/*
 * Queues j (kind, u and done set by the caller, which owns j) and returns
 * without waiting for a disk: the thread leading the next batch runs it
 * (the writer thread when nobody else writes; the leader itself, after
 * its current batch, when j comes from one of its completions), and
 * j->done(j, rc, err) runs there after the commit (rc as for
 * db_write_run) and may free j. Never on the calling thread before this
 * returns. Returns 0, or -1 with err set when the writer thread cannot
 * start (j was not queued and done will not run).
 */
int
db_write_submit(struct db *db, struct db_write *j, struct gw_err *err)
{
	int rc = 0;

	j->next = NULL;
	j->finished = false;
	j->lead = false;
	pthread_mutex_lock(&db->qmu);
	if (!db->writer_started) {
		if (pthread_create(&db->writer, NULL, writer_main, db) != 0) {
			gw_err_set(err, DB_ERR_SQL,
			    "cannot start the database writer thread");
			rc = -1;
			goto out;
		}
		db->writer_started = true;
	}
	*db->qtail = j;
	db->qtail = &j->next;
	if (!db->qleader)
		pthread_cond_signal(&db->qwork);
out:
	pthread_mutex_unlock(&db->qmu);
	return rc;
}

/* Waits until no write is queued or running, their completions included:
 * before freeing what completions use. Never from a completion (it would
 * wait for itself). */
void
db_write_flush(struct db *db)
{
	pthread_mutex_lock(&db->qmu);
	while (db->qleader || db->qhead != NULL)
		pthread_cond_wait(&db->qdone, &db->qmu);
	pthread_mutex_unlock(&db->qmu);
}

/* Stops the writer thread once nothing is queued; for db_close(). */
void
db_writer_stop(struct db *db)
{
	bool started;

	pthread_mutex_lock(&db->qmu);
	db->writer_stop = true;
	started = db->writer_started;
	pthread_cond_signal(&db->qwork);
	pthread_mutex_unlock(&db->qmu);
	if (started)
		pthread_join(db->writer, NULL);
}

/* How many batched commits ran and how many writes they held: their
 * ratio is the writes one fsync covered, on average. */
void
db_write_stats(struct db *db, uint64_t *batches, uint64_t *writes)
{
	pthread_mutex_lock(&db->qmu);
	*batches = db->qbatches;
	*writes = db->qwrites;
	pthread_mutex_unlock(&db->qmu);
}
