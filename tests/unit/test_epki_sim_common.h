/*
 * What the epki-sim unit tests share (test_epki_sim*.c): a simulator
 * started on loopback in a fresh folder, its admin endpoint, a CSR, and
 * an order or a GetOrders call through the client.
 */
#ifndef TEST_EPKI_SIM_COMMON_H
#define TEST_EPKI_SIM_COMMON_H

#include <stddef.h>
#include <sys/types.h>

#include <openssl/evp.h>

#include "buf.h"
#include "epki.h"

#define PROFILE "MP000000000001"

struct sim {
	pid_t pid;
	char dir[128];
	char base[64]; /* http://127.0.0.1:PORT */
	char url[128]; /* the GasOrderService endpoint */
};

struct env {
	struct sim sim;
	EVP_PKEY *key;
	char *csr;
	char today[16];
};

extern const struct epki_auth auth;
/* --cert-format for the next sim_start(), or NULL for none. */
extern const char *start_format;

void sim_start(struct sim *s, const char *conf);
int sim_stop(struct sim *s);
long admin(const struct sim *s, const char *path, const char *form,
    struct buf *out);
void fault_set(const struct sim *s, const char *form);
long state_get(const struct sim *s, const char *key);
char *csr_make(EVP_PKEY *key);
int env_setup(void **state);
int env_teardown(void **state);
enum epki_class order(const struct env *e, const char *url, long timeout,
    const char *cn, int years, char *id, size_t idlen);
void find(const struct env *e, const char *cn, const char *from,
    struct epki_resp *r);

#endif
