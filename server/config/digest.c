/*
 * The digest of the settings that decide an order (README "High
 * availability"): every key of [epki] and of each [profile NAME] as the
 * file sets it, except the paths of files (*_file: they may differ from
 * one host to the next; what matters in them is compared otherwise, or is
 * a secret). The lines "section\nname\nvalue" are sorted, so the order
 * of the file does not matter, and hashed with SHA-256. Each gateway
 * records it with its incarnation and `scepgw check` warns when live
 * gateways differ.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "config.h"
#include "config_int.h"
#include "secure.h"

/* Whether [section] name counts. */
static bool
digest_wanted(const char *section, const char *name)
{
	size_t n = strlen(name);

	if (strcmp(section, "epki") != 0 &&
	    strncmp(section, "profile ", 8) != 0)
		return false;
	return !(n >= 5 && strcmp(name + n - 5, "_file") == 0);
}

/* Keeps one name = value line of the file, if it counts. */
void
cfg_digest_add(struct cfg_digest *d, const char *section, const char *name,
    const char *value)
{
	size_t n;
	char *s, **v;

	if (d->oom || !digest_wanted(section, name))
		return;
	if (d->n == d->cap) {
		d->cap = d->cap != 0 ? d->cap * 2 : 32;
		if ((v = realloc(d->v, d->cap * sizeof(*v))) == NULL) {
			d->oom = true;
			return;
		}
		d->v = v;
	}
	n = strlen(section) + strlen(name) + strlen(value) + 3;
	if ((s = malloc(n)) == NULL) {
		d->oom = true;
		return;
	}
	/* Newlines cannot occur in a line of the file: no ambiguity. */
	snprintf(s, n, "%s\n%s\n%s", section, name, value);
	d->v[d->n++] = s;
}

static int
digest_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Hashes the kept lines into out (NULL: only frees them) and frees them.
 * 0, or -1 (no memory, no hash, or out NULL: out is not to be used). */
int
cfg_digest_final(struct cfg_digest *d, uint8_t out[32])
{
	EVP_MD_CTX *c = NULL;
	bool ok = !d->oom && out != NULL;
	size_t i;

	if (ok && d->n > 0)
		qsort(d->v, d->n, sizeof(*d->v), digest_cmp);
	ok = ok && (c = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;
	/* Each line with its NUL: "ab" + "c" is not "a" + "bc". */
	for (i = 0; ok && i < d->n; i++)
		ok = EVP_DigestUpdate(c, d->v[i], strlen(d->v[i]) + 1) == 1;
	ok = ok && EVP_DigestFinal_ex(c, out, NULL) == 1;
	EVP_MD_CTX_free(c);
	for (i = 0; i < d->n; i++)
		free(d->v[i]);
	free(d->v);
	memset(d, 0, sizeof(*d));
	return ok ? 0 : -1;
}
