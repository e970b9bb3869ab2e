/*
 * `scepgw init --user NAME`: init runs as root, because the config and
 * its folder stay root's (README "Privileges": a service must not be able
 * to rewrite its own config), and gives the service user its files as it
 * makes them (README "Installing the Debian package"): the secrets are
 * the user's from their creation (gw_file_write_owned()), and the SQLite
 * database is created and migrated by a child process that has become the
 * user, so the database and the -wal, -shm files SQLite makes beside it
 * are the user's too.
 */
#define _DEFAULT_SOURCE /* setgroups() */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "db.h"
#include "gw_err.h"

/*
 * Looks up the service user NAME for init. Refuses (message on stderr)
 * when we are not root (only root can give files away), when there is no
 * such user, and when it is root. 0 or -1.
 */
int
init_owner_get(const char *name, struct init_owner *ow)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int e;

	if (geteuid() != 0) {
		fprintf(stderr,
		    "scepgw init: --user %s needs root: init gives the "
		    "user its secret files and database, which only root "
		    "can do (run it as root, or drop --user)\n",
		    name);
		return -1;
	}
	e = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
	if (e != 0 || res == NULL) {
		fprintf(stderr, "scepgw init: --user %s: no such user%s%s\n",
		    name, e != 0 ? ": " : "", e != 0 ? strerror(e) : "");
		return -1;
	}
	if (pw.pw_uid == 0) {
		fprintf(stderr,
		    "scepgw init: --user %s is root; name the service's "
		    "own user\n",
		    name);
		return -1;
	}
	ow->name = name;
	ow->uid = pw.pw_uid;
	ow->gid = pw.pw_gid;
	return 0;
}

/* In a child: becomes ow's user for good (groups, group, user). */
static int
owner_become(const struct init_owner *ow)
{
	if (setgroups(1, &ow->gid) == -1 || setgid(ow->gid) == -1 ||
	    setuid(ow->uid) == -1 || setuid(0) != -1 || geteuid() != ow->uid) {
		fprintf(stderr, "scepgw init: cannot become %s: %s\n", ow->name,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* The folder of path (absolute) into dir. */
static void
path_dir(const char *path, char *dir, size_t n)
{
	const char *slash = strrchr(path, '/');
	size_t k = slash == NULL || slash == path ? 1 : (size_t)(slash - path);

	if (slash == NULL)
		snprintf(dir, n, ".");
	else
		snprintf(dir, n, "%.*s", (int)k, path);
}

/* Runs fn(ow, path) in a child that is ow's user; 0 when it exits 0. */
static int
owner_run(const struct init_owner *ow, const char *path,
    int (*fn)(const struct init_owner *, const char *))
{
	pid_t pid;
	int st;

	fflush(NULL);
	if ((pid = fork()) == -1) {
		fprintf(stderr, "scepgw init: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0)
		_exit(owner_become(ow) == 0 && fn(ow, path) == 0 ? 0 : 1);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* As the user: may it make files in the database's folder? */
static int
db_dir_check(const struct init_owner *ow, const char *path)
{
	char dir[PATH_MAX];

	path_dir(path, dir, sizeof(dir));
	if (access(dir, W_OK | X_OK) == 0)
		return 0;
	fprintf(stderr,
	    "scepgw init: database %s: user %s cannot write in %s (%s); "
	    "give it a folder of its own (--db-path "
	    "/var/lib/scepgw/scepgw.db)\n",
	    path, ow->name, dir, strerror(errno));
	return -1;
}

/* As the user: creates (or opens) and migrates the database. */
static int
db_create(const struct init_owner *ow, const char *path)
{
	struct gw_err err;
	struct db *db = NULL;

	(void)ow;
	umask(077);
	if (db_open(&db, path, &err) == -1) {
		fprintf(stderr, "scepgw init: database: %s\n", err.msg);
		return -1;
	}
	db_close(db);
	return 0;
}

/*
 * Refuses (message on stderr) a database path whose folder the user
 * cannot write: SQLite makes its -wal and -shm files there. 0 or -1.
 */
int
init_owner_db_check(const struct init_owner *ow, const char *path)
{
	return owner_run(ow, path, db_dir_check);
}

/* Creates and migrates the SQLite database at path as ow's user. */
int
init_owner_db_create(const struct init_owner *ow, const char *path)
{
	return owner_run(ow, path, db_create);
}

/*
 * Refuses (message on stderr) an instance folder that someone other than
 * root could write, or whose folders above could be: the service user
 * could then rewrite the config root reads (README "Privileges"), the
 * check serve makes when started as root (serve_conf_check()). A folder
 * init is about to make is judged by its parent. 0 or -1.
 */
int
init_owner_dir_check(const char *dir)
{
	char parent[PATH_MAX];
	struct stat st;

	if (stat(dir, &st) == 0 || errno != ENOENT)
		snprintf(parent, sizeof(parent), "%s", dir);
	else
		path_dir(dir, parent, sizeof(parent));
	if (serve_conf_check(parent) == 0)
		return 0;
	fprintf(stderr,
	    "scepgw init: --dir %s: with --user the instance goes in a "
	    "folder only root can write, so the service cannot rewrite "
	    "its own config\n",
	    dir);
	return -1;
}

/*
 * Gives an existing secret file (the --epki-password-file init was told
 * to use in place) to ow: mode 0600 first, then the owner, both on the
 * descriptor opened without following a link. 0 or -1 with err.
 */
int
init_owner_adopt(const struct init_owner *ow, const char *path,
    struct gw_err *err)
{
	struct stat st;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		gw_err_set(err, errno, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		gw_err_set(err, EINVAL, "%s: not a regular file", path);
		goto out;
	}
	/* Never give away a file that has another name, or another owner. */
	if (st.st_nlink != 1 || (st.st_uid != 0 && st.st_uid != ow->uid)) {
		gw_err_set(err, EPERM,
		    "%s: owned by uid %lu with %lu names; init gives the "
		    "user only a file of root's with one name",
		    path, (unsigned long)st.st_uid, (unsigned long)st.st_nlink);
		goto out;
	}
	if (fchmod(fd, 0600) == -1 || fchown(fd, ow->uid, ow->gid) == -1 ||
	    fchmod(fd, 0600) == -1) {
		gw_err_set(err, errno, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}
