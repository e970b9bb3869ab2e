/*
 * GlobalSign GAS error codes (those its APIs share, EPKI's included) and
 * the class each one means to the caller. GlobalSign does not publish the
 * codes of EPKI's own conditions (licence pack expired, profile not
 * approved, Year not matching the pack); they deliberately get no entry of
 * their own: they fall to EPKI_FAILURE.
 */
#include <stddef.h>

#include "epki.h"

struct code_class {
	int code;
	enum epki_class cls;
};

/* Every code the GAS APIs document. */
static const struct code_class code_classes[] = {
	{ -1, EPKI_TRANSIENT },
	{ -101, EPKI_BAD_REQUEST },
	{ -102, EPKI_BAD_REQUEST },
	{ -103, EPKI_BAD_REQUEST },
	{ -104, EPKI_BAD_REQUEST },
	{ -105, EPKI_BAD_REQUEST },
	{ -109, EPKI_BAD_REQUEST },
	{ -201, EPKI_TRANSIENT },
	{ -300, EPKI_TRANSIENT },
	{ -301, EPKI_TRANSIENT },
	{ -2001, EPKI_WARNING },
	{ -4001, EPKI_AUTH },
	{ -4003, EPKI_NOT_FOUND },
	{ -4004, EPKI_CONFLICT },
	{ -4005, EPKI_BAD_REQUEST },
	{ -4006, EPKI_BAD_CSR },
	{ -4007, EPKI_BAD_CSR },
	{ -4008, EPKI_BAD_REQUEST },
	{ -4016, EPKI_CONFLICT },
	{ -4201, EPKI_AUTH },
	{ -5001, EPKI_WARNING },
	{ -6002, EPKI_BAD_REQUEST },
	{ -6007, EPKI_BAD_CSR },
	{ -6101, EPKI_QUOTA },
	{ -6102, EPKI_BAD_REQUEST },
	{ -9100, EPKI_FAILURE },
	{ -9200, EPKI_AUTH },
	{ -9901, EPKI_AUTH },
	{ -9902, EPKI_NOT_FOUND },
	{ -9915, EPKI_CONFLICT },
	{ -9916, EPKI_NOT_FOUND },
	{ -9936, EPKI_BAD_CSR },
	{ -9938, EPKI_CONFLICT },
	{ -9939, EPKI_AUTH },
	{ -9940, EPKI_BAD_CSR },
	{ -9942, EPKI_TRANSIENT },
	{ -9943, EPKI_TRANSIENT },
	{ -9961, EPKI_BAD_CSR },
	{ -9962, EPKI_BAD_CSR },
};

static const char *const class_names[EPKI_CLASS__MAX] = {
	[EPKI_OK] = "ok",
	[EPKI_WARNING] = "warning",
	[EPKI_BAD_REQUEST] = "bad-request",
	[EPKI_BAD_CSR] = "bad-csr",
	[EPKI_AUTH] = "auth",
	[EPKI_QUOTA] = "quota",
	[EPKI_TRANSIENT] = "transient",
	[EPKI_NOT_FOUND] = "not-found",
	[EPKI_CONFLICT] = "conflict",
	[EPKI_FAILURE] = "failure",
	[EPKI_TRANSPORT] = "transport",
};

/*
 * The class of one ErrorCode. Codes the table does not know, including
 * the unconfirmed EPKI-specific ones, are EPKI_FAILURE.
 */
enum epki_class
epki_code_class(int code)
{
	size_t i;

	for (i = 0; i < sizeof(code_classes) / sizeof(code_classes[0]); i++)
		if (code_classes[i].code == code)
			return code_classes[i].cls;
	return EPKI_FAILURE;
}

/* A short stable name for a class ("quota"), for logs and metrics. */
const char *
epki_class_name(enum epki_class cls)
{
	if ((int)cls < 0 || cls >= EPKI_CLASS__MAX)
		return "unknown";
	return class_names[cls];
}
