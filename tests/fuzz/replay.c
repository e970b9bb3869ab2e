/*
 * The corpus replay driver: a main() that feeds every file named on the
 * command line, or found directly in a folder named there, to
 * LLVMFuzzerTestOneInput() once, in name order. Linked with each target
 * in every build (no libFuzzer needed), so ctest -L fuzz-corpus replays
 * the committed corpora under whatever sanitizers the build has.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "gw_err.h"
#include "secure.h"
#include "fuzz.h"

#define REPLAY_MAX (16 * 1024 * 1024)

/*
 * Runs one file through the target; 0 or -1 (unreadable). The input goes
 * in an allocation of exactly its size, as libFuzzer does, so ASan sees
 * a read one byte past the end.
 */
static int
replay_file(const char *path)
{
	struct gw_err err;
	struct buf b;
	uint8_t *copy = NULL;
	int rc = -1;

	if (gw_file_read(path, REPLAY_MAX, &b, &err) == -1) {
		fprintf(stderr, "replay: %s\n", err.msg);
		return -1;
	}
	if ((copy = malloc(b.len > 0 ? b.len : 1)) == NULL) {
		fprintf(stderr, "replay: %s: out of memory\n", path);
		goto out;
	}
	if (b.len > 0)
		memcpy(copy, b.data, b.len);
	rc = LLVMFuzzerTestOneInput(copy, b.len) == 0 ? 0 : -1;
out:
	free(copy);
	buf_cleanup(&b);
	return rc;
}

/* Orders folder entries by name. */
static int
replay_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Skips ".", ".." and hidden files. */
static int
replay_visible(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Runs every regular file of a folder; counts into *n; 0 or -1. */
static int
replay_dir(const char *dir, size_t *n)
{
	struct dirent **ents = NULL;
	char path[4096];
	struct stat st;
	int i, count, rc = 0;

	if ((count = scandir(dir, &ents, replay_visible, replay_cmp)) == -1) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < count; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir,
			ents[i]->d_name) >= (int)sizeof(path) ||
		    stat(path, &st) == -1 || !S_ISREG(st.st_mode))
			continue;
		if (replay_file(path) == -1)
			rc = -1;
		else
			(*n)++;
	}
	for (i = 0; i < count; i++)
		free(ents[i]);
	free(ents);
	return rc;
}

/* Replays the named files and folders; 0, or 1 if one was unreadable. */
int
main(int argc, char **argv)
{
	struct stat st;
	size_t n = 0;
	int i, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|FOLDER...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == -1) {
			fprintf(stderr, "replay: %s: %s\n", argv[i],
			    strerror(errno));
			rc = 1;
		} else if (S_ISDIR(st.st_mode)) {
			if (replay_dir(argv[i], &n) == -1)
				rc = 1;
		} else if (replay_file(argv[i]) == -1) {
			rc = 1;
		} else {
			n++;
		}
	}
	printf("replay: %zu inputs run\n", n);
	if (n == 0) {
		fprintf(stderr, "replay: no input found\n");
		rc = 1;
	}
	return rc;
}
