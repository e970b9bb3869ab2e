/*
 * Helpers shared by the fuzz targets: a private temporary folder, and
 * joined paths that never truncate silently.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"

/* Makes a new folder under $TMPDIR (or /tmp), mode 0700; 0 or -1. */
int
fuzz_tmpdir_new(char *dir, size_t size)
{
	const char *base = getenv("TMPDIR");
	int n;

	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	n = snprintf(dir, size, "%s/scepgw-fuzz-XXXXXX", base);
	if (n < 0 || (size_t)n >= size)
		return -1;
	return mkdtemp(dir) == NULL ? -1 : 0;
}

/* Writes dir/name into out; 0, or -1 if it does not fit. */
int
fuzz_path(char *out, size_t size, const char *dir, const char *name)
{
	int n = snprintf(out, size, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}
