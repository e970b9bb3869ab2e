/*
 * What the server/intune/ unit tests share (test_intune*.c): a real
 * intune-sim on loopback (HTTPS, its own test CA), its admin API, an
 * [intune] configuration pointing at it, CSRs carrying its challenges,
 * and a callback that records each result.
 */
#ifndef TEST_INTUNE_COMMON_H
#define TEST_INTUNE_COMMON_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "config.h"
#include "intune.h"

#define SIM_TENANT "7f3c2a10-5b6e-4d8f-9a1b-2c3d4e5f6a7b"
#define SIM_CLIENT "3b9e1f2a-7c4d-4e5f-8a6b-9c0d1e2f3a4b"
#define SIM_SECRET "intune-sim-client-secret"

struct isim {
	char dir[64];
	char base[64]; /* https://127.0.0.1:PORT */
	char ca[128];  /* DIR/ca.pem */
	pid_t pid;
	char secret_path[128];
	struct gw_intune_conf conf; /* points at the sim */
	char authority[80];
	struct intune *in;
};

/* One recorded result of an asynchronous call. */
struct rec {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int calls;
	struct intune_result r;
	pthread_t thread; /* the thread the callback ran on */
};

void isim_start(struct isim *s, const char *simconf);
int isim_setup(void **state);
int isim_teardown(void **state);
void isim_client(struct isim *s);
json_t *isim_get(const struct isim *s, const char *path);
void isim_post(const struct isim *s, const char *path, const char *json);
long isim_count(const struct isim *s, const char *hop);
long isim_tokens(const struct isim *s, const char *which);
json_t *isim_log_hop(const struct isim *s, const char *hop, size_t nth);
size_t isim_violations(const struct isim *s);

uint8_t *csr_new(const struct isim *s, const char *challenge, size_t *len);
uint8_t *csr_sim(const struct isim *s, size_t *len);
X509 *cert_for(const uint8_t *csr, size_t len);

void rec_init(struct rec *r);
void rec_done(void *arg, const struct intune_result *res);
void rec_wait(struct rec *r, int calls);
void rec_free(struct rec *r);
void validate_sync(struct isim *s, const char *txid, const uint8_t *csr,
    size_t len, struct intune_result *out);

#endif
