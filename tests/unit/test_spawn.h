/*
 * Starting a simulator (epki-sim, intune-sim) from a unit test: its first
 * line of output says where it listens.
 */
#ifndef TEST_SPAWN_H
#define TEST_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

pid_t test_spawn_line(const char *const argv[], char *line, size_t n);

#endif
