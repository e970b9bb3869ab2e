/*
 * test_spawn_line(): starts argv[0] (a path) with argv, its standard
 * output a pipe, and reads the program's first line into line (n bytes)
 * before closing the pipe. Returns the child's pid; the test fails when
 * the program cannot start or prints nothing. Shared by the unit tests
 * that run a simulator on loopback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "test_spawn.h"

pid_t
test_spawn_line(const char *const argv[], char *line, size_t n)
{
	int fds[2];
	pid_t pid;
	FILE *f;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* execv() wants writable strings: copies, in the child. */
		size_t i, argc = 0;
		char **v;

		while (argv[argc] != NULL)
			argc++;
		if ((v = calloc(argc + 1, sizeof(*v))) == NULL)
			_exit(127);
		for (i = 0; i < argc; i++)
			if ((v[i] = strdup(argv[i])) == NULL)
				_exit(127);
		dup2(fds[1], 1);
		close(fds[0]);
		execv(v[0], v);
		_exit(127);
	}
	close(fds[1]);
	assert_non_null(f = fdopen(fds[0], "r"));
	assert_non_null(fgets(line, (int)n, f));
	fclose(f);
	return pid;
}
