/*
 * One `scepgw serve` per SQLite database: serve holds an exclusive
 * flock(2) on PATH.lock for its life. A separate file, not the database:
 * SQLite's own POSIX locks on the database are dropped by the kernel when
 * the process closes any descriptor of that file, so no second descriptor
 * of it may come and go. The kernel releases the lock when the process
 * exits, however it exits: a server killed with SIGKILL leaves nothing
 * to clean up.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gw_err.h"
#include "db.h"
#include "db_int.h"
#include "db_sq_int.h"

/* How long a new server waits for a stopping one to exit. */
#define LOCK_WAIT_MS 5000
#define LOCK_STEP_MS 100

/*
 * Opens (creating it 0600) the lock file. Returns the descriptor or -1.
 * Made by root (`scepgw db migrate` run as root on a database never
 * served), it goes to the database file's owner, so that the user serve
 * runs as can still open it.
 */
static int
lock_open(const char *lock, const char *path, struct gw_err *err)
{
	struct stat db, st;
	int fd;

	fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		gw_err_set(err, DB_ERR_SQL, "%s: %s", lock,
		    errno == ELOOP ? "a symbolic link; remove it" :
				     strerror(errno));
		return -1;
	}
	if (geteuid() == 0 && fstat(fd, &st) == 0 && stat(path, &db) == 0 &&
	    st.st_uid == 0 && db.st_uid != 0 &&
	    fchown(fd, db.st_uid, db.st_gid) == -1) {
		gw_err_set(err, DB_ERR_SQL, "%s: fchown: %s", lock,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Takes the lock on fd, trying for wait_ms. Returns 0, 1 when another
 * process holds it, or -1 (errno set). */
static int
lock_take(int fd, int wait_ms)
{
	const struct timespec step = { 0, LOCK_STEP_MS * 1000000L };
	int waited;

	for (waited = 0;; waited += LOCK_STEP_MS) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return -1;
		if (waited >= wait_ms)
			return 1;
		nanosleep(&step, NULL);
	}
}

/*
 * Takes the exclusive lock on PATH.lock beside the database path, trying
 * for wait_ms (0: once). On success *fd holds it until closed. Returns 0,
 * or -1 with err set (DB_ERR_BUSY: a `scepgw serve` holds it).
 */
int
sq_lock_path(const char *path, int wait_ms, int *fd, struct gw_err *err)
{
	char *lock;
	size_t len;
	int lfd, rc = -1;

	*fd = -1;
	len = strlen(path) + sizeof(".lock");
	if ((lock = malloc(len)) == NULL) {
		gw_err_set(err, DB_ERR_SQL, "out of memory");
		return -1;
	}
	snprintf(lock, len, "%s.lock", path);
	if ((lfd = lock_open(lock, path, err)) == -1)
		goto out;
	switch (lock_take(lfd, wait_ms)) {
	case 0:
		*fd = lfd;
		rc = 0;
		goto out;
	case 1:
		gw_err_set(err, DB_ERR_BUSY,
		    "%s is served by another scepgw serve (it holds %s): "
		    "one server per database",
		    path, lock);
		break;
	default:
		gw_err_set(err, DB_ERR_SQL, "%s: flock: %s", lock,
		    strerror(errno));
		break;
	}
	close(lfd);
out:
	free(lock);
	return rc;
}

/* db_serve_lock(): the exclusive lock on PATH.lock, kept until
 * sq_close(). Taking it twice on one handle is fine. A read-only handle
 * (`scepgw db migrate`) tries once: it must not wait for a server that is
 * not stopping. */
int
sq_serve_lock(struct db *db, struct gw_err *err)
{
	struct db_sq *sq = db_sq(db);

	if (sq->lock_fd != -1)
		return 0;
	return sq_lock_path(sq->path, sq->readonly ? 0 : LOCK_WAIT_MS,
	    &sq->lock_fd, err);
}
