/*
 * Placeholder of the Intune client (intune.h) until the calls land: the
 * object exists, every submit is refused with a reason.
 */
#include <errno.h>
#include <stdlib.h>

#include "config.h"
#include "gw_err.h"
#include "intune.h"

struct intune {
	const struct gw_intune_conf *conf;
};

int
intune_new(struct intune **out, const struct gw_intune_conf *c,
    struct gw_err *err)
{
	*out = NULL;
	if (c == NULL || !c->configured) {
		gw_err_set(err, EINVAL, "[intune] is not configured");
		return -1;
	}
	if ((*out = calloc(1, sizeof(**out))) == NULL) {
		gw_err_set(err, ENOMEM, "out of memory");
		return -1;
	}
	(*out)->conf = c;
	return 0;
}

void
intune_free(struct intune *in)
{
	free(in);
}

static int
intune_todo(struct gw_err *err)
{
	gw_err_set(err, ENOSYS, "the Intune client is not built yet");
	return -1;
}

int
intune_validate_submit(struct intune *in, const char *txid, const uint8_t *csr,
    size_t csr_len, intune_done_fn *done, void *arg, struct gw_err *err)
{
	(void)in, (void)txid, (void)csr, (void)csr_len, (void)done, (void)arg;
	return intune_todo(err);
}

int
intune_success_submit(struct intune *in, const char *txid, const uint8_t *csr,
    size_t csr_len, const X509 *cert, intune_done_fn *done, void *arg,
    struct gw_err *err)
{
	(void)in, (void)txid, (void)csr, (void)csr_len, (void)cert;
	(void)done, (void)arg;
	return intune_todo(err);
}

int
intune_failure_submit(struct intune *in, const char *txid, const uint8_t *csr,
    size_t csr_len, long hresult, const char *description, intune_done_fn *done,
    void *arg, struct gw_err *err)
{
	(void)in, (void)txid, (void)csr, (void)csr_len, (void)hresult;
	(void)description, (void)done, (void)arg;
	return intune_todo(err);
}

int
intune_success_call(struct intune *in, const char *txid, const uint8_t *csr,
    size_t csr_len, const X509 *cert, struct intune_result *out)
{
	(void)in, (void)txid, (void)csr, (void)csr_len, (void)cert;
	out->outcome = INTUNE_UNAVAILABLE;
	return -1;
}

int
intune_failure_call(struct intune *in, const char *txid, const uint8_t *csr,
    size_t csr_len, long hresult, const char *description,
    struct intune_result *out)
{
	(void)in, (void)txid, (void)csr, (void)csr_len, (void)hresult;
	(void)description;
	out->outcome = INTUNE_UNAVAILABLE;
	return -1;
}
