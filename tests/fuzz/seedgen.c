/*
 * fuzz-seedgen: writes the seed corpora of tests/fuzz/corpus/ from real
 * messages, and the fixed test-only RA of tests/fuzz/ra/ when it is
 * missing. Not run by the build or CI; run it by hand when a message
 * format changes, then commit what it wrote:
 *
 *   fuzz-seedgen SRC_DIR       (the repository root)
 *
 * pkiMessages come from the test SCEP client (tests/tools) encrypted to
 * the committed RA, so the fuzz target decrypts them; SOAP replies are
 * the recorded fixtures of tests/fuzz/../fixtures/epki; SOAP requests come
 * from the client's own builders; config files are the demo's and small
 * variants.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "buf.h"
#include "gw_err.h"
#include "secure.h"
#include "epki.h"
#include "scep.h"
#include "scep_client.h"

static const char *src;

/* Writes one seed file src/tests/fuzz/corpus/target/name; exits on error. */
static void
seed_put(const char *target, const char *name, const void *p, size_t n)
{
	char path[4096];
	struct gw_err err;

	snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/%s", src, target);
	if (mkdir(path, 0755) == -1 && errno != EEXIST) {
		fprintf(stderr, "seedgen: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/%s/%s", src, target,
	    name);
	if (gw_file_write(path, p, n, 0644, &err) == -1) {
		fprintf(stderr, "seedgen: %s\n", err.msg);
		exit(1);
	}
}

/* Exits with a message when a step failed. */
static void
check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "seedgen: %s failed\n", what);
		exit(1);
	}
}

/* Loads the committed RA certificate, making the RA first if missing. */
static X509 *
ra_cert_get(void)
{
	char key[4096], cert[4096];
	struct gw_err err;
	X509 *x = NULL;
	FILE *f;

	snprintf(key, sizeof(key), "%s/tests/fuzz/ra/ra.key", src);
	snprintf(cert, sizeof(cert), "%s/tests/fuzz/ra/ra.pem", src);
	if (access(key, F_OK) == -1) {
		check(scep_ra_key_new(key, 2048, &err) == 0, "RA key");
		check(scep_ra_selfsigned_new(key, "scepgw fuzz RA (test only)",
			  3650, cert, &err) == 0,
		    "RA certificate");
	}
	check((f = fopen(cert, "r")) != NULL, "opening the RA certificate");
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	check(x != NULL, "reading the RA certificate");
	return x;
}

/* One pkiMessage variant. */
struct msg_seed {
	const char *name;
	int type;
	int cipher;
	int digest;
	bool oaep;
	bool ber;
	bool ec; /* the CSR's key is P-256 */
};

static const struct msg_seed msg_seeds[] = {
	{ "pkcsreq-aes128-sha256", SCEP_MT_PKCSREQ, NID_aes_128_cbc, NID_sha256,
	    false, false, false },
	{ "pkcsreq-aes192-sha384", SCEP_MT_PKCSREQ, NID_aes_192_cbc, NID_sha384,
	    false, false, false },
	{ "pkcsreq-aes256-sha512", SCEP_MT_PKCSREQ, NID_aes_256_cbc, NID_sha512,
	    false, false, false },
	{ "pkcsreq-des3-sha1", SCEP_MT_PKCSREQ, NID_des_ede3_cbc, NID_sha1,
	    false, false, false },
	{ "pkcsreq-des-sha224", SCEP_MT_PKCSREQ, NID_des_cbc, NID_sha224, false,
	    false, false },
	{ "pkcsreq-oaep", SCEP_MT_PKCSREQ, NID_aes_128_cbc, NID_sha256, true,
	    false, false },
	{ "pkcsreq-ber", SCEP_MT_PKCSREQ, NID_aes_128_cbc, NID_sha256, false,
	    true, false },
	{ "pkcsreq-ec-csr", SCEP_MT_PKCSREQ, NID_aes_256_cbc, NID_sha256, false,
	    false, true },
	{ "renewalreq", SCEP_MT_RENEWALREQ, NID_aes_128_cbc, NID_sha256, false,
	    false, false },
	{ "certpoll", SCEP_MT_CERTPOLL, NID_aes_128_cbc, NID_sha256, false,
	    false, false },
	{ "certpoll-ber", SCEP_MT_CERTPOLL, NID_des_ede3_cbc, NID_sha1, false,
	    true, false },
	{ "getcert", SCEP_MT_GETCERT, NID_aes_128_cbc, NID_sha256, false, false,
	    false },
	{ "getcrl", SCEP_MT_GETCRL, NID_aes_128_cbc, NID_sha256, false, false,
	    false },
	{ "unknown-type-3", SCEP_MT_CERTREP, NID_aes_128_cbc, NID_sha256, false,
	    false, false },
};

/* Base64 of p (one line), for the query corpus; free() the result. */
static char *
b64_line(const uint8_t *p, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);

	check(out != NULL, "malloc");
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

/* The query decoder's seeds: one message in each client's spelling. */
static void
query_seeds(const uint8_t *der, size_t n)
{
	char *b = b64_line(der, n);
	struct buf v;
	size_t i;

	seed_put("fuzz_scep_query", "plain", b, strlen(b));
	/* sscep and Cisco: a line break every 64 letters. */
	buf_init(&v, 0);
	for (i = 0; b[i] != '\0'; i++) {
		check(buf_add(&v, &b[i], 1) == 0, "buf");
		if (i % 64 == 63)
			check(buf_addstr(&v, "\r\n") == 0, "buf");
	}
	seed_put("fuzz_scep_query", "crlf", v.data, v.len);
	/* Double percent-encoding of + / =, base64url without padding, and
	 * spaces that were '+' before form decoding. */
	buf_reset(&v);
	for (i = 0; b[i] != '\0'; i++)
		if (b[i] == '+' || b[i] == '/' || b[i] == '=')
			check(buf_printf(&v, "%%%02X", (unsigned char)b[i]) ==
				0,
			    "buf");
		else
			check(buf_add(&v, &b[i], 1) == 0, "buf");
	seed_put("fuzz_scep_query", "percent", v.data, v.len);
	buf_reset(&v);
	for (i = 0; b[i] != '\0' && b[i] != '='; i++) {
		char c = b[i] == '+' ? '-' : b[i] == '/' ? '_' : b[i];

		check(buf_add(&v, &c, 1) == 0, "buf");
	}
	seed_put("fuzz_scep_query", "urlsafe-nopad", v.data, v.len);
	buf_reset(&v);
	for (i = 0; b[i] != '\0'; i++) {
		char c = b[i] == '+' ? ' ' : b[i];

		check(buf_add(&v, &c, 1) == 0, "buf");
	}
	seed_put("fuzz_scep_query", "spaces", v.data, v.len);
	seed_put("fuzz_scep_query", "short", "TUlJ", 4);
	seed_put("fuzz_scep_query", "bad-letter", "TU!J", 4);
	buf_cleanup(&v);
	free(b);
}

/* The DER of a CSR, as a seed of fuzz_scep_csr. */
static void
csr_seed(const char *name, X509_REQ *csr)
{
	unsigned char *der = NULL;
	int n = i2d_X509_REQ(csr, &der);

	check(n > 0, "i2d_X509_REQ");
	seed_put("fuzz_scep_csr", name, der, (size_t)n);
	OPENSSL_free(der);
}

/* pkiMessages, GET values and CSRs. */
static void
scep_seeds(void)
{
	EVP_PKEY *rsa, *ec;
	X509 *ra, *signer;
	X509_REQ *csr_rsa, *csr_ec, *csr_plain;
	ASN1_INTEGER *serial;
	struct gw_err err;
	struct buf out;
	size_t i;

	ra = ra_cert_get();
	check((rsa = scep_client_key_new(false, 2048)) != NULL, "RSA key");
	check((ec = scep_client_key_new(true, 0)) != NULL, "EC key");
	check((signer = scep_client_selfsigned_new(rsa, "device-1")) != NULL,
	    "signer");
	check((csr_rsa = scep_client_csr_new(rsa, "device-1",
		   "device-1@example.com", "s3cret")) != NULL,
	    "CSR");
	check((csr_ec = scep_client_csr_new(ec, "device-ec", NULL,
		   "ec-challenge")) != NULL,
	    "EC CSR");
	check((csr_plain = scep_client_csr_new(rsa, "no-challenge", NULL,
		   NULL)) != NULL,
	    "CSR without challenge");
	check((serial = ASN1_INTEGER_new()) != NULL &&
		ASN1_INTEGER_set(serial, 0x1234567) == 1,
	    "serial");
	for (i = 0; i < sizeof(msg_seeds) / sizeof(msg_seeds[0]); i++) {
		const struct msg_seed *s = &msg_seeds[i];
		struct scep_client_req req = { .type = s->type,
			.txid = "0123456789abcdef0123456789abcdef",
			.cipher_nid = s->cipher,
			.digest_nid = s->digest,
			.oaep = s->oaep,
			.ber = s->ber,
			.signer = signer,
			.key = rsa,
			.recipient = ra,
			.csr = s->ec ? csr_ec : csr_rsa,
			.issuer = X509_get_subject_name(signer),
			.subject = X509_get_subject_name(signer),
			.serial = serial };

		check(scep_client_msg_build(&req, &out, &err) == 0, s->name);
		seed_put("fuzz_scep_pkimessage", s->name, out.data, out.len);
		if (strcmp(s->name, "certpoll") == 0)
			query_seeds(out.data, out.len);
		buf_cleanup(&out);
	}
	csr_seed("rsa-challenge-email", csr_rsa);
	csr_seed("ec-challenge", csr_ec);
	csr_seed("rsa-plain", csr_plain);
	ASN1_INTEGER_free(serial);
	X509_REQ_free(csr_rsa);
	X509_REQ_free(csr_ec);
	X509_REQ_free(csr_plain);
	X509_free(signer);
	X509_free(ra);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
}

/* The operation byte of fuzz_epki_response for a fixture's name. */
static int
resp_op_byte(const char *name)
{
	static const struct {
		const char *prefix;
		int op;
	} map[] = {
		{ "get-orders-", 2 },
		{ "get-order-", 1 },
		{ "get-profiles-", 4 },
		{ "revoke-", 3 },
		{ "order-", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strncmp(name, map[i].prefix, strlen(map[i].prefix)) == 0)
			return map[i].op;
	return 0x80; /* faults and HTML: OrderAndIssueCertificate, HTTP 500 */
}

/* SOAP replies: the recorded fixtures behind their operation byte. */
static void
epki_response_seeds(void)
{
	char dir[4096], path[4096 + 256];
	struct gw_err err;
	struct dirent *d;
	struct buf in, seed;
	uint8_t op;
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s/tests/fixtures/epki", src);
	check((dp = opendir(dir)) != NULL, "opening the EPKI fixtures");
	while ((d = readdir(dp)) != NULL) {
		size_t n = strlen(d->d_name);

		if (n < 5 || strcmp(d->d_name + n - 4, ".xml") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		check(gw_file_read(path, 1 << 20, &in, &err) == 0, path);
		op = (uint8_t)resp_op_byte(d->d_name);
		buf_init(&seed, 0);
		check(buf_add(&seed, &op, 1) == 0 &&
			buf_add(&seed, in.data, in.len) == 0,
		    "buf");
		seed_put("fuzz_epki_response", d->d_name, seed.data, seed.len);
		buf_cleanup(&seed);
		buf_cleanup(&in);
	}
	closedir(dp);
}

/* SOAP requests, as the gateway sends them to epki-sim. */
static void
epki_request_seeds(void)
{
	static const char csr[] = "-----BEGIN CERTIFICATE REQUEST-----\n"
				  "MIIBAA==\n"
				  "-----END CERTIFICATE REQUEST-----\n";
	const struct epki_auth auth = { "PAR12345_UserID", "pass&<word>" };
	const struct epki_order o = { .profile_id = "MP201604143456",
		.product_code = "EPKIPSPersonal",
		.years = 2,
		.csr_pem = csr,
		.cn = "Jane & <Doe>",
		.email = "jane@example.com",
		.ous = { "Mobile", "R&D" },
		.nous = 2 };
	const struct epki_order_query q = { .product_code = "EPKIPSPersonal",
		.profile_id = "MP201604143456",
		.order_state = "4",
		.request_from = "2026-11-01",
		.request_to = "2026-11-27T12:00:00",
		.cn = "device-1",
		.want_cert_info = true,
		.want_fulfillment = true };
	const struct epki_order_query q0 = { 0 };
	struct buf b;

	/* The builders append to an initialised buffer. */
	buf_init(&b, 0);
	check(epki_soap_order_build(&auth, &o, &b, NULL) == 0, "order");
	seed_put("fuzz_epki_request", "order", b.data, b.len);
	buf_reset(&b);
	check(epki_soap_get_order_build(&auth, "CO2026112700001", &b, NULL) ==
		0,
	    "get order");
	seed_put("fuzz_epki_request", "get-order", b.data, b.len);
	buf_reset(&b);
	check(epki_soap_orders_build(&auth, &q, &b, NULL) == 0, "orders");
	seed_put("fuzz_epki_request", "get-orders", b.data, b.len);
	buf_reset(&b);
	check(epki_soap_orders_build(&auth, &q0, &b, NULL) == 0, "orders");
	seed_put("fuzz_epki_request", "get-orders-empty", b.data, b.len);
	buf_reset(&b);
	check(epki_soap_revoke_build(&auth, "CO2026112700001", &b, NULL) == 0,
	    "revoke");
	seed_put("fuzz_epki_request", "revoke", b.data, b.len);
	buf_reset(&b);
	check(epki_soap_profiles_build(&auth, "MP201604143456", &b, NULL) == 0,
	    "profiles");
	seed_put("fuzz_epki_request", "get-profiles", b.data, b.len);
	buf_reset(&b);
	check(epki_soap_profiles_build(&auth, NULL, &b, NULL) == 0, "profiles");
	seed_put("fuzz_epki_request", "get-profiles-all", b.data, b.len);
	buf_cleanup(&b);
}

/* Config files: the demo's, the smallest that loads, and broken ones. */
static void
config_seeds(void)
{
	static const char min[] = "[db]\npath = scepgw.db\n"
				  "[ra]\ncert = ra.pem\nkey = ra.key\n"
				  "ca_chain = ca-chain.pem\n"
				  "[epki]\nurl = https://epki.example/ws\n"
				  "username = PAR12345_UserID\n"
				  "password_file = epki.password\n"
				  "profile_id = MP201604143456\n";
	static const char bad[] = "; comment\n[server]\nthreads = 65\n"
				  "max_request_bytes = 1e9\nlisten = :\n"
				  "[nope]\nx = y\n[scep]\nallow_des = maybe\n"
				  "[log]\nlevel = loud\nno equals sign\n";
	char path[4096];
	struct gw_err err;
	struct buf b;

	snprintf(path, sizeof(path), "%s/demo/scepgw.conf", src);
	check(gw_file_read(path, 1 << 20, &b, &err) == 0, path);
	seed_put("fuzz_config", "demo", b.data, b.len);
	buf_cleanup(&b);
	seed_put("fuzz_config", "minimal", min, strlen(min));
	seed_put("fuzz_config", "bad-values", bad, strlen(bad));
}

/* Writes every corpus under argv[1]; exits 1 on the first failure. */
int
main(int argc, char **argv)
{
	struct gw_err err;

	if (argc != 2) {
		fprintf(stderr, "usage: fuzz-seedgen SRC_DIR\n");
		return 2;
	}
	src = argv[1];
	check(scep_init(true, &err) == 0, "scep_init");
	scep_seeds();
	epki_response_seeds();
	epki_request_seeds();
	config_seeds();
	return 0;
}
