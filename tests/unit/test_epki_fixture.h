/*
 * The epki/ unit tests' fixtures: hand-written GlobalSign answers in
 * tests/fixtures/epki/.
 */
#ifndef TEST_EPKI_FIXTURE_H
#define TEST_EPKI_FIXTURE_H

#include "buf.h"

#define FIX GW_SRC "/tests/fixtures/epki/"

void fixture_read(const char *name, struct buf *b);

#endif
