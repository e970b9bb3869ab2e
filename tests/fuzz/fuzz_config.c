/*
 * Fuzz target: the configuration file parser (server/config/). The
 * input is written to a file in a private temporary folder made once,
 * loaded, and, when it loads, written back out with
 * config_write_default(). Errors go to /dev/null. The folder is removed
 * at exit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/err.h>

#include "config.h"
#include "fuzz.h"

static char conf_dir[256];
static char conf_path[512];
static FILE *conf_null;

/* Removes the file and its folder at exit. */
static void
conf_cleanup(void)
{
	unlink(conf_path);
	rmdir(conf_dir);
	if (conf_null != NULL)
		fclose(conf_null);
}

/* Makes the folder and opens /dev/null once; exits on failure. */
static void
conf_init(void)
{
	if (fuzz_tmpdir_new(conf_dir, sizeof(conf_dir)) == -1 ||
	    fuzz_path(conf_path, sizeof(conf_path), conf_dir, "scepgw.conf") ==
		-1 ||
	    (conf_null = fopen("/dev/null", "w")) == NULL) {
		fprintf(stderr, "fuzz: cannot set up\n");
		exit(1);
	}
	atexit(conf_cleanup);
}

/* Runs one input; always 0. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_config *c = NULL;
	FILE *f;

	if (conf_null == NULL)
		conf_init();
	if ((f = fopen(conf_path, "w")) == NULL)
		return 0;
	if (size > 0 && fwrite(data, 1, size, f) != size) {
		fclose(f);
		return 0;
	}
	if (fclose(f) != 0)
		return 0;
	if (config_load(&c, conf_path, conf_null) == 0)
		(void)config_write_default(conf_null, c);
	config_free(c);
	ERR_clear_error();
	return 0;
}
