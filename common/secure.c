/*
 * Helpers for strings, secrets and files; see secure.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "buf.h"
#include "gw_err.h"
#include "secure.h"

/* A malloc'd copy of s (NULL stays NULL); caller frees with free(). */
char *
gw_strdup(const char *s)
{
	return s == NULL ? NULL : gw_strndup(s, strlen(s));
}

/* A malloc'd copy of at most n bytes of s, NUL-terminated. */
char *
gw_strndup(const char *s, size_t n)
{
	size_t len;
	char *p;

	if (s == NULL)
		return NULL;
	len = strnlen(s, n);
	if ((p = malloc(len + 1)) == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/* Wipes a C string, then frees it; accepts NULL. */
void
gw_secret_free(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

/* Wipes n bytes in a way the compiler may not optimise away. */
void
gw_cleanse(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

/*
 * Reads a whole file into out (initialised here, ceiling max). On failure
 * out is empty and err says why.
 */
int
gw_file_read(const char *path, size_t max, struct buf *out, struct gw_err *err)
{
	uint8_t chunk[4096];
	size_t n;
	FILE *f;
	int rc = -1;

	buf_init(out, max);
	if ((f = fopen(path, "rb")) == NULL) {
		gw_err_set(err, errno, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (buf_add(out, chunk, n) == -1) {
			gw_err_set(err, EFBIG, "%s: larger than %zu bytes",
			    path, max);
			goto out;
		}
	}
	if (ferror(f)) {
		gw_err_set(err, EIO, "%s: read error", path);
		goto out;
	}
	if (out->data == NULL && buf_add(out, "", 0) == -1) {
		gw_err_set(err, ENOMEM, "%s: out of memory", path);
		goto out;
	}
	rc = 0;
out:
	fclose(f);
	if (rc == -1) {
		gw_cleanse(out->data, out->len);
		buf_cleanup(out);
	}
	return rc;
}

/*
 * Writes a file atomically (temporary file, fsync, rename) with the given
 * mode, so a crash never leaves a half-written key or config behind.
 */
int
gw_file_write(const char *path, const void *p, size_t n, mode_t mode,
    struct gw_err *err)
{
	return gw_file_write_owned(path, p, n, mode, (uid_t)-1, (gid_t)-1, err);
}

/*
 * As gw_file_write(), and the file gets owner uid and group gid
 * ((uid_t)-1 and (gid_t)-1: the caller's) on the descriptor, before a
 * byte is written: it never exists with another owner or a wider mode.
 * The temporary file is created exclusively, never through a link.
 */
int
gw_file_write_owned(const char *path, const void *p, size_t n, mode_t mode,
    uid_t uid, gid_t gid, struct gw_err *err)
{
	char tmp[4096];
	int fd = -1, rc = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp)) {
		gw_err_set(err, ENAMETOOLONG, "%s: path too long", path);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode & 0700);
	if (fd == -1) {
		gw_err_set(err, errno, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	/* fchown() may clear mode bits: fchmod() after it. */
	if (fchown(fd, uid, gid) == -1 || fchmod(fd, mode) == -1 ||
	    write(fd, p, n) != (ssize_t)n || fsync(fd) == -1) {
		gw_err_set(err, errno, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		gw_err_set(err, errno, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		gw_err_set(err, errno, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (rc == -1)
		unlink(tmp);
	return rc;
}

/* Checks an open secret file: regular, ours (or root's; when root_any,
 * and we are root, anyone's), mode 0?00. */
static int
private_fstat(int fd, const char *path, bool root_any, struct gw_err *err)
{
	struct stat st;

	if (fstat(fd, &st) == -1) {
		gw_err_set(err, errno, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		gw_err_set(err, EINVAL, "%s: not a regular file", path);
		return -1;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0 &&
	    !(root_any && geteuid() == 0)) {
		gw_err_set(err, EPERM, "%s: owned by uid %ld, not by us", path,
		    (long)st.st_uid);
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		gw_err_set(err, EPERM,
		    "%s: mode %03o lets group or others read it; "
		    "run chmod 600 %s",
		    path, (unsigned)(st.st_mode & 0777), path);
		return -1;
	}
	return 0;
}

/*
 * Opens a file holding a secret for reading and checks that same
 * descriptor (no window between check and use): a regular file owned by
 * us (or root), not readable or writable by group or others. A symbolic
 * link is refused, not followed. Returns the descriptor, or -1 with err.
 */
static int
private_open(const char *path, bool root_any, struct gw_err *err)
{
	int fd;

	/* O_NONBLOCK: a FIFO put in its place must not hang us. */
	fd = open(path,
	    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd == -1 && errno == ELOOP) {
		gw_err_set(err, ELOOP,
		    "%s: a symbolic link; secret files are not followed "
		    "through links, name the file itself",
		    path);
		return -1;
	}
	if (fd == -1) {
		gw_err_set(err, errno, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (private_fstat(fd, path, root_any, err) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

int
gw_file_open_private(const char *path, struct gw_err *err)
{
	return private_open(path, false, err);
}

static int
private_check(const char *path, bool root_any, struct gw_err *err)
{
	int fd;

	if ((fd = private_open(path, root_any, err)) == -1)
		return -1;
	close(fd);
	return 0;
}

/* Checks a secret file as gw_file_open_private() does; 0 or -1. */
int
gw_file_check_private(const char *path, struct gw_err *err)
{
	return private_check(path, false, err);
}

/* As gw_file_check_private(), with gw_private_read_preroot()'s owner
 * rule. */
int
gw_file_check_private_preroot(const char *path, struct gw_err *err)
{
	return private_check(path, true, err);
}

/*
 * Reads a whole secret file (checked as by gw_file_open_private()) into
 * out, initialised here as a secret buffer with ceiling max. On failure
 * out is empty and err says why. The caller wipes and cleans up out.
 */
static int
private_read(const char *path, size_t max, bool root_any, struct buf *out,
    struct gw_err *err)
{
	uint8_t chunk[4096];
	ssize_t n;
	int fd, rc = -1;

	buf_init(out, max);
	buf_set_secret(out);
	if ((fd = private_open(path, root_any, err)) == -1)
		return -1;
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			gw_err_set(err, errno, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (buf_add(out, chunk, (size_t)n) == -1) {
			gw_err_set(err, EFBIG, "%s: larger than %zu bytes",
			    path, max);
			goto out;
		}
	}
	if (out->data == NULL && buf_add(out, "", 0) == -1) {
		gw_err_set(err, ENOMEM, "%s: out of memory", path);
		goto out;
	}
	rc = 0;
out:
	gw_cleanse(chunk, sizeof(chunk));
	close(fd);
	if (rc == -1)
		buf_cleanup(out);
	return rc;
}

int
gw_private_read(const char *path, size_t max, struct buf *out,
    struct gw_err *err)
{
	return private_read(path, max, false, out, err);
}

/*
 * As gw_private_read(), except that root also accepts a file of another
 * owner (still a regular file, mode 0?00, no symbolic link), which root
 * can read anyway: for reading the config as root before the drop to
 * [server] user (README "Privileges"), when the process running as that
 * user opens the file again, with every check, before it uses what it
 * holds; and for the commands other than serve, which root runs on an
 * instance whose secret files belong to the service user (README
 * "Commands").
 */
int
gw_private_read_preroot(const char *path, size_t max, struct buf *out,
    struct gw_err *err)
{
	return private_read(path, max, true, out, err);
}

static int
secret_read(const char *path, bool root_any, char **out, struct gw_err *err)
{
	struct buf b;
	size_t len;

	*out = NULL;
	if (private_read(path, 4096, root_any, &b, err) == -1)
		return -1;
	len = strnlen((char *)b.data, b.len);
	while (len > 0 && (b.data[len - 1] == '\n' || b.data[len - 1] == '\r'))
		len--;
	b.data[len] = '\0';
	if (len == 0) {
		gw_err_set(err, EINVAL, "%s: empty", path);
		buf_cleanup(&b);
		return -1;
	}
	*out = (char *)buf_steal(&b, NULL);
	return 0;
}

/*
 * Reads a one-line secret (password, token) from a private file, without
 * the trailing newline, not empty. The caller frees *out with
 * gw_secret_free().
 */
int
gw_secret_read(const char *path, char **out, struct gw_err *err)
{
	return secret_read(path, false, out, err);
}

/* As gw_secret_read(), with gw_private_read_preroot()'s owner rule. */
int
gw_secret_read_preroot(const char *path, char **out, struct gw_err *err)
{
	return secret_read(path, true, out, err);
}

/* Writes 2n lowercase hex digits and a NUL into out. */
void
gw_hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

/* Fills p with n bytes from OpenSSL's CSPRNG; 0 or -1. */
int
gw_random_bytes(uint8_t *p, size_t n)
{
	if (n > INT32_MAX)
		return -1;
	return RAND_bytes(p, (int)n) == 1 ? 0 : -1;
}
