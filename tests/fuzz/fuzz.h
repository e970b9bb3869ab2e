/*
 * What every fuzz target of tests/fuzz/ shares: the libFuzzer entry point
 * (also called by the replay driver, replay.c) and small helpers for
 * targets whose code under test reads files.
 */
#ifndef GW_FUZZ_H
#define GW_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* One input; always returns 0 (libFuzzer's contract). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int fuzz_tmpdir_new(char *dir, size_t size);
int fuzz_path(char *out, size_t size, const char *dir, const char *name);

#endif
