/*
 * Fuzz target: the admin API's JSON request bodies (server/admin/api.c).
 * Every input is parsed twice over: as a POST /api/v1/challenges body
 * (json_loadb as admin_challenges_post() calls it, then
 * admin_chal_req_parse() against a config with one extra [profile iot]),
 * and as a POST /api/v1/certificates/SERIAL/revoke body
 * (admin_revoke_body_parse()). The config is written to a private
 * temporary folder and loaded once; the folder is removed at exit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "admin_int.h"
#include "config.h"
#include "fuzz.h"

static const char admin_conf_text[] =
    "[db]\npath = scepgw.db\n"
    "[ra]\ncert = ra.pem\nkey = ra.key\nca_chain = ca-chain.pem\n"
    "[epki]\nurl = https://epki.example/ws\nusername = PAR12345_UserID\n"
    "password_file = epki.password\nprofile_id = MP201604143456\n"
    "[profile iot]\nprofile_id = MP201604143457\n";

static char admin_dir[256];
static char admin_path[512];
static struct gw_config *admin_cfg;

/* Frees the config and removes its file and folder at exit. */
static void
admin_cleanup(void)
{
	config_free(admin_cfg);
	unlink(admin_path);
	rmdir(admin_dir);
}

/* Writes and loads the config once; exits on failure. */
static void
admin_init(void)
{
	FILE *f = NULL;

	if (fuzz_tmpdir_new(admin_dir, sizeof(admin_dir)) == -1 ||
	    fuzz_path(admin_path, sizeof(admin_path), admin_dir,
		"scepgw.conf") == -1 ||
	    (f = fopen(admin_path, "w")) == NULL ||
	    fputs(admin_conf_text, f) == EOF || fclose(f) != 0 ||
	    config_load(&admin_cfg, admin_path, stderr) == -1) {
		fprintf(stderr, "fuzz: cannot set up\n");
		exit(1);
	}
	atexit(admin_cleanup);
}

/* The POST /api/v1/challenges path, up to the database. */
static void
admin_fuzz_challenges(const uint8_t *data, size_t size)
{
	const char *field = NULL;
	char msg[200] = "";
	struct chal_req r;
	json_error_t jerr;
	json_t *o;

	o = json_loadb(data != NULL ? (const char *)data : "", size,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL)
		return;
	if (json_is_object(o) &&
	    admin_chal_req_parse(o, admin_cfg, &r, msg, sizeof(msg), &field) ==
		0) {
		/* What chal_batch_make() relies on. */
		if (r.count < 1 || r.ttl < 1 ||
		    (r.cn != NULL && strlen(r.cn) > 64))
			abort();
	} else if (json_is_object(o) && (msg[0] == '\0' || field == NULL)) {
		abort(); /* a refusal always names its field */
	}
	json_decref(o);
}

/* The POST /api/v1/certificates/SERIAL/revoke body. */
static void
admin_fuzz_revoke(const uint8_t *data, size_t size)
{
	struct admin_req rq;
	const char *reason = NULL, *field = NULL;
	char msg[200] = "";
	json_t *o = NULL;

	memset(&rq, 0, sizeof(rq));
	rq.body.data = (uint8_t *)(uintptr_t)data;
	rq.body.len = size;
	if (admin_revoke_body_parse(&rq, &o, &reason, msg, sizeof(msg),
		&field) != 0 &&
	    msg[0] == '\0')
		abort();
	if (reason != NULL)
		(void)strlen(reason);
	json_decref(o);
}

/* Runs one input through both parsers; always 0. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (admin_cfg == NULL)
		admin_init();
	admin_fuzz_challenges(data, size);
	admin_fuzz_revoke(data, size);
	return 0;
}
