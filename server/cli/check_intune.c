/*
 * `scepgw check`'s lines on Microsoft Intune (README "Commands"), when
 * [intune] is configured: the tenant, the client secret or certificate,
 * Graph's Application.Read.All, the service discovery and Intune's
 * scep_challenge_provider, each proved live (intune_probe()), each
 * failure with its fix. A FAIL counts like the other lines; a line after
 * a failure is SKIP.
 */
#include <stdio.h>

#include "cli.h"
#include "config.h"
#include "gw_err.h"
#include "intune.h"

/* Prints the Intune lines; returns 1 on any FAIL, 0 otherwise. */
int
cli_check_intune(const struct gw_config *cfg)
{
	static const char *const tag[] = { "OK", "FAIL", "SKIP" };
	struct intune_probe_line lines[INTUNE_PROBE_LINES];
	const struct gw_intune_conf *ic = config_intune(cfg);
	struct intune *in = NULL;
	struct gw_err err;
	int i, bad = 0;

	if (ic == NULL)
		return 0;
	gw_err_clear(&err);
	if (intune_new(&in, ic, &err) != 0) {
		printf("%-8s %s: %s\n", "FAIL", "Intune client", err.msg);
		return 1;
	}
	(void)intune_probe(in, lines);
	for (i = 0; i < INTUNE_PROBE_LINES; i++) {
		printf("%-8s %s: %s\n", tag[lines[i].state], lines[i].what,
		    lines[i].detail);
		bad |= lines[i].state == INTUNE_PROBE_FAIL;
	}
	intune_free(in);
	return bad;
}
