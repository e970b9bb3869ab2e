/*
 * jansson's version for `scepgw --version` (README "Commands"). jansson
 * has no call that reports the loaded library's version, so this is the
 * version of the headers scepgw was built with.
 */
#include <jansson.h>

#include "admin.h"

/* The jansson version scepgw was compiled against; a static string. */
const char *
admin_jansson_version(void)
{
	return JANSSON_VERSION;
}
