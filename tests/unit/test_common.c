/*
 * Unit tests of common/: bounded buffers (the ceiling holds and a failed
 * add leaves the buffer as it was), the error report (OpenSSL's queue is
 * drained), and the secret and file helpers (private-file checks, atomic
 * writes with their mode, one-line secrets, hex).
 */
#define _GNU_SOURCE /* memmem() */
#include <errno.h>
#include <malloc.h>
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "buf.h"
#include "gw_date.h"
#include "gw_err.h"
#include "gw_listen.h"
#include "secure.h"

/* A fresh temporary folder per test, removed afterwards. */
struct fx {
	char dir[64];
	char path[128];
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/gw-common-XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	snprintf(fx->path, sizeof(fx->path), "%s/f", fx->dir);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	unlink(fx->path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* Writes text to the fixture file with a mode, bypassing our helpers. */
static void
put(const struct fx *fx, const char *text, mode_t mode)
{
	FILE *f = fopen(fx->path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(fx->path, mode), 0);
}

static void
test_buf_ceiling(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_addstr(&b, "abcd"), 0);
	assert_int_equal(buf_add(&b, "efgh", 4), 0);
	assert_int_equal(b.len, 8);
	/* One past the ceiling fails and changes nothing. */
	assert_int_equal(buf_add(&b, "i", 1), -1);
	assert_int_equal(b.len, 8);
	assert_string_equal((char *)b.data, "abcdefgh");
	assert_int_equal(buf_printf(&b, "%d", 1), -1);
	assert_int_equal(b.len, 8);
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal((char *)b.data, "");
	assert_int_equal(buf_printf(&b, "%s-%d", "x", 42), 0);
	assert_string_equal((char *)b.data, "x-42");
	buf_cleanup(&b);
	assert_null(b.data);
}

static void
test_buf_grow_steal(void **state)
{
	uint8_t chunk[1000], *p;
	struct buf b;
	size_t i, len;

	(void)state;
	memset(chunk, 'z', sizeof(chunk));
	buf_init(&b, 0);
	for (i = 0; i < 100; i++)
		assert_int_equal(buf_add(&b, chunk, sizeof(chunk)), 0);
	assert_int_equal(b.len, 100000);
	assert_int_equal(b.data[b.len], '\0');
	p = buf_steal(&b, &len);
	assert_int_equal(len, 100000);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	free(p);
	buf_init(&b, 0);
	assert_null(buf_steal(&b, &len));
	assert_int_equal(len, 0);
}

/*
 * The allocator seam: this program is linked with --wrap=realloc and
 * --wrap=free (common.cmake), so every block common/ hands back to the
 * allocator passes here. While a mark is watched, blocks handed back with
 * it still inside are counted.
 */
void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
void __real_free(void *p);
static const char *watch_mark;
static int watch_unwiped;

static void
watch_block(void *p)
{
	if (watch_mark != NULL && p != NULL &&
	    memmem(p, malloc_usable_size(p), watch_mark, strlen(watch_mark)) !=
		NULL)
		watch_unwiped++;
}

void *
__wrap_realloc(void *p, size_t n)
{
	watch_block(p); /* realloc() may move and free the block as it is */
	return __real_realloc(p, n);
}

void
__wrap_free(void *p)
{
	watch_block(p);
	__real_free(p);
}

/* Fills b past several growths after a secret; counts unwiped blocks. */
static int
buf_unwiped_after_growth(bool secret)
{
	static const char mark[] = "<Password>s3cret-Passw0rd</Password>";
	char filler[300];
	struct buf b;
	int i;

	memset(filler, 'x', sizeof(filler));
	buf_init(&b, 0);
	if (secret)
		buf_set_secret(&b);
	assert_int_equal(buf_addstr(&b, mark), 0);
	watch_mark = mark;
	watch_unwiped = 0;
	for (i = 0; i < 40; i++)
		assert_int_equal(buf_add(&b, filler, sizeof(filler)), 0);
	assert_non_null(memmem(b.data, b.len, mark, strlen(mark)));
	buf_reset(&b);
	assert_int_equal(buf_addstr(&b, mark), 0);
	buf_cleanup(&b);
	watch_mark = NULL;
	return watch_unwiped;
}

/* A secret buffer leaves no copy behind when it grows or is freed. */
static void
test_buf_secret_grow(void **state)
{
	(void)state;
	/* The seam sees an ordinary buffer's copies... */
	assert_true(buf_unwiped_after_growth(false) > 0);
	/* ...and none of a secret one's. */
	assert_int_equal(buf_unwiped_after_growth(true), 0);
}

static void
test_err(void **state)
{
	struct gw_err err;
	BIO *bio;

	(void)state;
	gw_err_set(&err, 7, "n=%d %s", 3, "x");
	assert_int_equal(err.code, 7);
	assert_string_equal(err.msg, "n=3 x");
	gw_err_clear(&err);
	assert_int_equal(err.code, 0);
	assert_string_equal(err.msg, "");
	gw_err_set(NULL, 1, "ignored");
	gw_err_clear(NULL);
	/* A failing OpenSSL call leaves reasons; they are drained. */
	bio = BIO_new_mem_buf("junk", 4);
	assert_null(PEM_read_bio_X509(bio, NULL, NULL, NULL));
	BIO_free(bio);
	gw_err_set_ossl(&err, 5, "PEM_read");
	assert_int_equal(err.code, 5);
	assert_non_null(strstr(err.msg, "PEM_read: "));
	assert_int_equal(ERR_peek_error(), 0);
	gw_err_set_ossl(NULL, 5, "nothing");
}

static void
test_strings(void **state)
{
	char *s, hex[9];
	const uint8_t raw[4] = { 0x00, 0x9f, 0xa0, 0xff };

	(void)state;
	assert_null(gw_strdup(NULL));
	s = gw_strdup("secret");
	assert_string_equal(s, "secret");
	gw_secret_free(s);
	gw_secret_free(NULL);
	s = gw_strndup("abcdef", 3);
	assert_string_equal(s, "abc");
	free(s);
	gw_hex(raw, sizeof(raw), hex);
	assert_string_equal(hex, "009fa0ff");
	assert_int_equal(gw_random_bytes((uint8_t *)hex, 8), 0);
}

/* Private-file checks, table-driven over modes. */
static void
test_private_modes(void **state)
{
	static const struct {
		mode_t mode;
		int rc;
	} rows[] = {
		{ 0600, 0 },
		{ 0400, 0 },
		{ 0640, -1 },
		{ 0604, -1 },
		{ 0644, -1 },
		{ 0660, -1 },
	};
	struct fx *fx = *state;
	struct gw_err err;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		put(fx, "x\n", rows[i].mode);
		assert_int_equal(gw_file_check_private(fx->path, &err),
		    rows[i].rc);
		if (rows[i].rc == -1)
			assert_non_null(strstr(err.msg, "chmod 600"));
	}
	assert_int_equal(gw_file_check_private(fx->dir, &err), -1);
	assert_non_null(strstr(err.msg, "not a regular file"));
	assert_int_equal(gw_file_check_private("/nonexistent/x", &err), -1);
}

static void
test_secret_read(void **state)
{
	struct fx *fx = *state;
	struct gw_err err;
	char *s;

	put(fx, "p4ss\r\n", 0600);
	assert_int_equal(gw_secret_read(fx->path, &s, &err), 0);
	assert_string_equal(s, "p4ss");
	gw_secret_free(s);
	put(fx, "\n", 0600);
	assert_int_equal(gw_secret_read(fx->path, &s, &err), -1);
	assert_null(s);
	assert_non_null(strstr(err.msg, "empty"));
	put(fx, "p4ss\n", 0644);
	assert_int_equal(gw_secret_read(fx->path, &s, &err), -1);
	assert_null(s);
}

/* A symbolic link to a private file is refused, not followed. */
static void
test_secret_symlink(void **state)
{
	struct fx *fx = *state;
	struct gw_err err;
	char link[160];
	char *s = NULL;

	put(fx, "p4ss\n", 0600);
	snprintf(link, sizeof(link), "%s/link", fx->dir);
	assert_int_equal(symlink(fx->path, link), 0);
	assert_int_equal(gw_file_check_private(link, &err), -1);
	assert_non_null(strstr(err.msg, "symbolic link"));
	assert_int_equal(gw_secret_read(link, &s, &err), -1);
	assert_null(s);
	assert_non_null(strstr(err.msg, "symbolic link"));
	unlink(link);
}

static void
test_file_write_read(void **state)
{
	struct fx *fx = *state;
	struct gw_err err;
	struct stat st;
	struct buf b;

	assert_int_equal(gw_file_write(fx->path, "hello", 5, 0600, &err), 0);
	assert_int_equal(stat(fx->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(gw_file_read(fx->path, 100, &b, &err), 0);
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.data, "hello", 5);
	buf_cleanup(&b);
	/* Over the ceiling: refused, nothing left behind. */
	assert_int_equal(gw_file_read(fx->path, 4, &b, &err), -1);
	assert_null(b.data);
	assert_int_equal(gw_file_write(fx->path, "", 0, 0644, &err), 0);
	assert_int_equal(gw_file_read(fx->path, 100, &b, &err), 0);
	assert_int_equal(b.len, 0);
	assert_non_null(b.data);
	buf_cleanup(&b);
	assert_int_equal(gw_file_write("/nonexistent/x", "a", 1, 0600, &err),
	    -1);
	assert_int_equal(gw_file_read("/nonexistent/x", 10, &b, &err), -1);
}

/*
 * The temporary file is made exclusively and never through a link: one
 * planted at its name is refused and its target left as it was;
 * gw_file_write_owned() with our own ids gives the file to us.
 */
static void
test_file_write_no_link(void **state)
{
	struct fx *fx = *state;
	char tmp[200], target[160];
	struct gw_err err;
	struct stat st;
	struct buf b;

	snprintf(target, sizeof(target), "%s/target", fx->dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", fx->path, (long)getpid());
	assert_int_equal(gw_file_write(target, "keep", 4, 0644, &err), 0);
	assert_int_equal(symlink(target, tmp), 0);
	assert_int_equal(gw_file_write(fx->path, "secret", 6, 0600, &err), -1);
	assert_int_equal(gw_file_read(target, 100, &b, &err), 0);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, "keep", 4);
	buf_cleanup(&b);
	assert_int_equal(lstat(fx->path, &st), -1);
	unlink(tmp);
	assert_int_equal(gw_file_write_owned(fx->path, "x", 1, 0600, geteuid(),
			     getegid(), &err),
	    0);
	assert_int_equal(stat(fx->path, &st), 0);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(st.st_mode & 0777, 0600);
	unlink(target);
}

/* gw_days_from_civil(): the epoch, leap days, centuries, before 1970. */
static void
test_days_from_civil(void **state)
{
	(void)state;
	assert_int_equal(gw_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(gw_days_from_civil(1969, 12, 31), -1);
	assert_int_equal(gw_days_from_civil(2000, 3, 1) -
		gw_days_from_civil(2000, 2, 28),
	    2); /* 2000 is a leap year */
	assert_int_equal(gw_days_from_civil(2100, 3, 1) -
		gw_days_from_civil(2100, 2, 28),
	    1); /* 2100 is not */
	/* 1,796,515,200 s (`date -ud @1796515200`: 2026-12-06) / 86,400. */
	assert_int_equal(gw_days_from_civil(2026, 12, 6), 20793);
	assert_int_equal(gw_days_from_civil(1900, 1, 1), -25567);
}

/* gw_listen_parse4(): HOST:PORT with an IPv4 host, port 0..65535. */
static void
test_listen_parse4(void **state)
{
	static const char *const bad[] = { "127.0.0.1",
		"127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
		"127.0.0.1:80x", "localhost:80", "[::1]:80", ":80",
		"123456789012345678901234567890.0.0.1:80" };
	struct sockaddr_in sa;
	char host[16];
	size_t i;

	(void)state;
	assert_int_equal(gw_listen_parse4("127.0.0.1:8080", host, sizeof(host),
			     &sa),
	    0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(ntohs(sa.sin_port), 8080);
	assert_int_equal(ntohl(sa.sin_addr.s_addr), 0x7f000001);
	assert_int_equal(gw_listen_parse4("0.0.0.0:0", host, sizeof(host), &sa),
	    0);
	assert_int_equal(sa.sin_port, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(gw_listen_parse4(bad[i], host, sizeof(host),
				     &sa),
		    -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_ceiling),
		cmocka_unit_test(test_buf_grow_steal),
		cmocka_unit_test(test_buf_secret_grow),
		cmocka_unit_test(test_err),
		cmocka_unit_test(test_days_from_civil),
		cmocka_unit_test(test_listen_parse4),
		cmocka_unit_test(test_strings),
		cmocka_unit_test_setup_teardown(test_private_modes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_secret_read, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_secret_symlink, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_file_write_read, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_file_write_no_link, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
