/*
 * The [intune] section (README "Configuration"): Microsoft Intune's SCEP
 * validation API as the client in server/intune/ sees it. The section is
 * off until tenant is set; then the app registration and exactly one
 * credential must be there and usable: a client secret file (one line,
 * private to us, as [epki] password_file) or a certificate and its RSA key
 * for a signed client assertion.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "buf.h"
#include "config.h"
#include "gw_err.h"
#include "secure.h"
#include "template.h"

/* A PEM RSA key of 8192 bits is under 7 KiB. */
#define INTUNE_KEY_MAX (64 * 1024)

/* The [intune] section of c, or NULL when it is not configured. */
const struct gw_intune_conf *
config_intune(const struct gw_config *c)
{
	return c != NULL && c->intune.configured ? &c->intune : NULL;
}

/* True for a GUID written 8-4-4-4-12 hex digits. */
static bool
intune_guid_ok(const char *s)
{
	static const int dash[] = { 8, 13, 18, 23 };
	size_t i, d = 0;

	if (strlen(s) != 36)
		return false;
	for (i = 0; i < 36; i++) {
		if (d < 4 && (int)i == dash[d]) {
			if (s[i] != '-')
				return false;
			d++;
		} else if (!isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

/*
 * Reads a secret file (the client secret, the client key) into out, a
 * secret buffer: a private file, also another owner's when we are root
 * (serve before its drop to [server] user, README "Privileges"): that
 * user opens the file again, with every check, once it runs as it.
 */
static int
intune_secret_read(const char *path, struct buf *out, struct gw_err *err)
{
	return gw_private_read_preroot(path, INTUNE_KEY_MAX, out, err);
}

/*
 * Reads [intune] client_secret_file (gw_secret_read_preroot(), as
 * intune_secret_read() reads the key): one line, its end of line
 * removed, not empty. The caller frees *out with
 * gw_secret_free().
 */
int
config_intune_secret_read(const char *path, char **out, struct gw_err *err)
{
	return gw_secret_read_preroot(path, out, err);
}

/* Refuses a passphrase prompt: the key must be unencrypted. */
static int
intune_pass_none(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

/*
 * Loads [intune] client_cert and client_key: a PEM certificate and the
 * RSA key that matches it, the key read from a private file
 * (intune_secret_read()). On success the caller frees *cert
 * and *key; on failure both are NULL and err says why.
 */
int
config_intune_credential_load(const struct gw_intune_conf *ic, X509 **cert,
    EVP_PKEY **key, struct gw_err *err)
{
	struct buf pem;
	BIO *bio = NULL;
	int rc = -1;

	*cert = NULL;
	*key = NULL;
	if ((bio = BIO_new_file(ic->client_cert, "r")) == NULL ||
	    (*cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		gw_err_set_ossl(err, EINVAL, ic->client_cert);
		goto out;
	}
	BIO_free(bio);
	bio = NULL;
	if (intune_secret_read(ic->client_key, &pem, err) == -1)
		goto out;
	if ((bio = BIO_new_mem_buf(pem.data, (int)pem.len)) != NULL)
		*key =
		    PEM_read_bio_PrivateKey(bio, NULL, intune_pass_none, NULL);
	buf_cleanup(&pem);
	if (*key == NULL) {
		gw_err_set_ossl(err, EINVAL, ic->client_key);
		goto out;
	}
	if (EVP_PKEY_get_base_id(*key) != EVP_PKEY_RSA ||
	    EVP_PKEY_get_bits(*key) < 2048) {
		gw_err_set(err, EINVAL,
		    "%s: not an RSA key of 2048 bits or more (Entra ID signs "
		    "client assertions with RS256)",
		    ic->client_key);
		goto out;
	}
	if (X509_check_private_key(*cert, *key) != 1) {
		gw_err_set(err, EINVAL, "%s: not the key of %s", ic->client_key,
		    ic->client_cert);
		goto out;
	}
	rc = 0;
out:
	BIO_free(bio);
	if (rc != 0) {
		X509_free(*cert);
		EVP_PKEY_free(*key);
		*cert = NULL;
		*key = NULL;
	}
	return rc;
}

/* Reports one problem of the section and counts it. */
static void
intune_report(const struct gw_config *c, FILE *errf, int *errors,
    const char *key, const char *reason)
{
	if (key != NULL)
		fprintf(errf, "%s: [intune] key \"%s\": %s\n", c->path, key,
		    reason);
	else
		fprintf(errf, "%s: [intune] %s\n", c->path, reason);
	(*errors)++;
}

/* A base URL: https (http only to a loopback address), ending in '/'. */
static void
intune_url_check(const struct gw_config *c, FILE *errf, int *errors,
    const char *key, const char *url)
{
	char reason[200];

	if (!config_url_https_or_loopback(url)) {
		snprintf(reason, sizeof(reason),
		    "bad value \"%.60s\": expected https://HOST/ (http:// "
		    "only to a loopback address: tokens travel on it)",
		    url);
		intune_report(c, errf, errors, key, reason);
	} else if (url[strlen(url) - 1] != '/') {
		snprintf(reason, sizeof(reason),
		    "\"%.60s\" must end in '/' (the scopes and paths are "
		    "appended to it)",
		    url);
		intune_report(c, errf, errors, key, reason);
	}
}

/* Exactly one credential, and it is usable. */
static void
intune_credential_check(const struct gw_config *c, FILE *errf, int *errors)
{
	const struct gw_intune_conf *ic = &c->intune;
	struct gw_err err;
	char *secret = NULL, reason[GW_ERR_MSG + 40];
	EVP_PKEY *key;
	X509 *cert;
	bool has_cert = ic->client_cert != NULL || ic->client_key != NULL;

	if (ic->client_secret_file != NULL && has_cert) {
		intune_report(c, errf, errors, NULL,
		    "set client_secret_file or client_cert + client_key, not "
		    "both");
		return;
	}
	if (ic->client_secret_file == NULL && !has_cert) {
		intune_report(c, errf, errors, NULL,
		    "missing credential: set client_secret_file (the app's "
		    "client secret) or client_cert + client_key");
		return;
	}
	if (ic->client_secret_file != NULL) {
		gw_err_clear(&err);
		if (config_intune_secret_read(ic->client_secret_file, &secret,
			&err) == -1) {
			snprintf(reason, sizeof(reason), "%s", err.msg);
			intune_report(c, errf, errors, "client_secret_file",
			    reason);
		}
		gw_secret_free(secret);
		return;
	}
	if (ic->client_cert == NULL || ic->client_key == NULL) {
		intune_report(c, errf, errors,
		    ic->client_cert == NULL ? "client_cert" : "client_key",
		    "client_cert and client_key go together");
		return;
	}
	gw_err_clear(&err);
	if (config_intune_credential_load(ic, &cert, &key, &err) == -1) {
		snprintf(reason, sizeof(reason), "%s", err.msg);
		intune_report(c, errf, errors, "client_key", reason);
		return;
	}
	X509_free(cert);
	EVP_PKEY_free(key);
}

/*
 * After parsing: decides whether [intune] is configured (tenant set, or
 * any key of the app registration) and checks it. Reports each problem to
 * errf; returns their number.
 */
int
config_intune_finish(struct gw_config *c, FILE *errf)
{
	struct gw_intune_conf *ic = &c->intune;
	int errors = 0;

	ic->configured = false;
	if (ic->tenant == NULL && ic->client_id == NULL &&
	    ic->client_secret_file == NULL && ic->client_cert == NULL &&
	    ic->client_key == NULL)
		return 0;
	if (ic->tenant == NULL)
		intune_report(c, errf, &errors, NULL,
		    "missing key \"tenant\" (the Entra ID tenant's GUID or "
		    "domain, e.g. contoso.onmicrosoft.com)");
	else if (!intune_guid_ok(ic->tenant) && !tmpl_domain_ok(ic->tenant))
		intune_report(c, errf, &errors, "tenant",
		    "expected the tenant's GUID or domain name (e.g. "
		    "contoso.onmicrosoft.com)");
	if (ic->client_id == NULL)
		intune_report(c, errf, &errors, NULL,
		    "missing key \"client_id\" (the app registration's "
		    "Application (client) ID)");
	else if (!intune_guid_ok(ic->client_id))
		intune_report(c, errf, &errors, "client_id",
		    "expected a GUID (the app registration's Application "
		    "(client) ID)");
	if (!intune_guid_ok(ic->intune_app_id))
		intune_report(c, errf, &errors, "intune_app_id",
		    "expected a GUID");
	intune_url_check(c, errf, &errors, "authority", ic->authority);
	intune_url_check(c, errf, &errors, "graph_url", ic->graph_url);
	if (strncasecmp(ic->intune_resource, "https://", 8) != 0 ||
	    ic->intune_resource[strlen(ic->intune_resource) - 1] != '/')
		intune_report(c, errf, &errors, "intune_resource",
		    "expected https://HOST/, ending in '/' (the scope is it + "
		    "/.default)");
	intune_credential_check(c, errf, &errors);
	ic->configured = errors == 0;
	return errors;
}
