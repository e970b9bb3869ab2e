/*
 * Reads the epki/ unit tests' fixtures (test_epki_fixture.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "buf.h"
#include "gw_err.h"
#include "secure.h"
#include "test_epki_fixture.h"

/* Reads a fixture into b (caller cleans up). */
void
fixture_read(const char *name, struct buf *b)
{
	char path[512];
	struct gw_err err;

	snprintf(path, sizeof(path), FIX "%s", name);
	assert_int_equal(gw_file_read(path, 1 << 20, b, &err), 0);
}
