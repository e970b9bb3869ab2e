/*
 * The versions of the database libraries this process runs with, for
 * `scepgw --version` (README "Commands"): asked of the loaded libraries,
 * not taken from their headers.
 */
#include <stdio.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "db.h"

/* The SQLite library's version, e.g. "3.40.1"; a static string. */
const char *
db_sqlite_version(void)
{
	return sqlite3_libversion();
}

/*
 * libpq's version into out (n bytes), e.g. "15.5": PQlibVersion() gives
 * major * 10000 + minor from release 10 on, major * 10000 + minor * 100 +
 * patch before.
 */
void
db_pq_version(char *out, size_t n)
{
	int v = PQlibVersion();

	if (v >= 100000)
		snprintf(out, n, "%d.%d", v / 10000, v % 10000);
	else
		snprintf(out, n, "%d.%d.%d", v / 10000, v / 100 % 100, v % 100);
}
