/*
 * Library set-up: registers the SCEP attribute OIDs with OpenSSL exactly
 * once (thread-safe), optionally loads the legacy provider for single DES,
 * and names the enums for logs and reports.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/provider.h>

#include "gw_err.h"
#include "scep.h"
#include "scep_int.h"

/* One registered attribute: its dotted OID and OpenSSL short/long names. */
struct scep_oid {
	const char *oid;
	const char *sn;
	const char *ln;
};

static const struct scep_oid scep_oids[SCEP_ATTR__MAX] = {
	[SCEP_ATTR_MSGTYPE] = { "2.16.840.1.113733.1.9.2", "messageType",
	    "SCEP messageType" },
	[SCEP_ATTR_PKISTATUS] = { "2.16.840.1.113733.1.9.3", "pkiStatus",
	    "SCEP pkiStatus" },
	[SCEP_ATTR_FAILINFO] = { "2.16.840.1.113733.1.9.4", "failInfo",
	    "SCEP failInfo" },
	[SCEP_ATTR_SENDERNONCE] = { "2.16.840.1.113733.1.9.5", "senderNonce",
	    "SCEP senderNonce" },
	[SCEP_ATTR_RECIPIENTNONCE] = { "2.16.840.1.113733.1.9.6",
	    "recipientNonce", "SCEP recipientNonce" },
	[SCEP_ATTR_TXID] = { "2.16.840.1.113733.1.9.7", "transId",
	    "SCEP transactionID" },
	[SCEP_ATTR_FAILINFOTEXT] = { "1.3.6.1.5.5.7.24.1", "failInfoText",
	    "SCEP failInfoText" },
};

/* The NIDs, written once under scep_oid_once and read-only afterwards. */
static struct {
	int nid[SCEP_ATTR__MAX];
	bool ok;
} scep_nids;
static CRYPTO_ONCE scep_oid_once = CRYPTO_ONCE_STATIC_INIT;

/* Legacy provider state, written once under scep_legacy_once. */
static OSSL_PROVIDER *scep_prov_legacy;
static OSSL_PROVIDER *scep_prov_default;
static bool scep_legacy_ok;
static CRYPTO_ONCE scep_legacy_once = CRYPTO_ONCE_STATIC_INIT;

static const char *const scep_fail_names[SCEP_FAIL__MAX] = {
	[SCEP_FAIL_BADALG] = "badAlg",
	[SCEP_FAIL_BADMESSAGECHECK] = "badMessageCheck",
	[SCEP_FAIL_BADREQUEST] = "badRequest",
	[SCEP_FAIL_BADTIME] = "badTime",
	[SCEP_FAIL_BADCERTID] = "badCertId",
};

static const char *const scep_msgtype_names[SCEP_MT_GETCRL + 1] = {
	[SCEP_MT_CERTREP] = "CertRep",
	[SCEP_MT_RENEWALREQ] = "RenewalReq",
	[SCEP_MT_PKCSREQ] = "PKCSReq",
	[SCEP_MT_CERTPOLL] = "CertPoll",
	[SCEP_MT_GETCERT] = "GetCert",
	[SCEP_MT_GETCRL] = "GetCRL",
};

/* Registers each OID unless OpenSSL already knows it. */
static void
oids_register(void)
{
	size_t i;
	int nid;

	for (i = 0; i < SCEP_ATTR__MAX; i++) {
		nid = OBJ_txt2nid(scep_oids[i].oid);
		if (nid == NID_undef)
			nid = OBJ_create(scep_oids[i].oid, scep_oids[i].sn,
			    scep_oids[i].ln);
		if (nid == NID_undef)
			return;
		scep_nids.nid[i] = nid;
	}
	scep_nids.ok = true;
}

/*
 * Unloads the providers at exit, before OPENSSL_cleanup() runs (atexit
 * order is last in, first out): OpenSSL 3.0 otherwise leaks the legacy
 * provider's child library context, which LeakSanitizer reports.
 */
static void
legacy_unload(void)
{
	if (scep_prov_legacy != NULL)
		OSSL_PROVIDER_unload(scep_prov_legacy);
	if (scep_prov_default != NULL)
		OSSL_PROVIDER_unload(scep_prov_default);
}

/* Loads "default" and "legacy" (single DES) into the default context. */
static void
legacy_load(void)
{
	if ((scep_prov_default = OSSL_PROVIDER_load(NULL, "default")) == NULL)
		return;
	if ((scep_prov_legacy = OSSL_PROVIDER_load(NULL, "legacy")) == NULL)
		return;
	if (atexit(legacy_unload) != 0)
		return;
	scep_legacy_ok = true;
}

/*
 * Registers the SCEP OIDs once; safe to call from any thread, any number
 * of times. Returns 0, or -1 if OpenSSL refused.
 */
int
scep_oids_init(void)
{
	if (CRYPTO_THREAD_run_once(&scep_oid_once, oids_register) != 1)
		return -1;
	return scep_nids.ok ? 0 : -1;
}

/* The ASN1_OBJECT of a SCEP attribute, or NULL if registration failed. */
const ASN1_OBJECT *
scep_attr_obj(enum scep_attr a)
{
	if (a >= SCEP_ATTR__MAX || scep_oids_init() == -1)
		return NULL;
	return OBJ_nid2obj(scep_nids.nid[a]);
}

/*
 * Prepares the library: registers the SCEP attribute OIDs and, when
 * load_legacy is true, loads OpenSSL's legacy and default providers so
 * that single-DES envelopes can be decrypted. Thread-safe and idempotent.
 * Returns 0, or -1 with err set.
 */
int
scep_init(bool load_legacy, struct gw_err *err)
{
	if (scep_oids_init() == -1) {
		gw_err_set_ossl(err, 0, "registering the SCEP OIDs");
		return -1;
	}
	if (!load_legacy)
		return 0;
	if (CRYPTO_THREAD_run_once(&scep_legacy_once, legacy_load) != 1 ||
	    !scep_legacy_ok) {
		gw_err_set_ossl(err, 0,
		    "loading OpenSSL's legacy provider (needed by "
		    "[scep] allow_des)");
		return -1;
	}
	return 0;
}

/* The RFC 8894 name of a failInfo value, or "unknown". */
const char *
scep_fail_name(enum scep_fail f)
{
	if ((unsigned)f >= SCEP_FAIL__MAX)
		return "unknown";
	return scep_fail_names[f];
}

/* The RFC 8894 name of a messageType value, or "unknown". */
const char *
scep_msgtype_name(int type)
{
	if (type < 0 || type > SCEP_MT_GETCRL ||
	    scep_msgtype_names[type] == NULL)
		return "unknown";
	return scep_msgtype_names[type];
}
