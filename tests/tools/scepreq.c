/*
 * scepreq: a command-line SCEP client for integration tests, demos and
 * the enrollment load test. It speaks to a SCEP server over HTTP with
 * libcurl (scepreq_http.c) and uses the test client library for the
 * messages.
 *
 *   scepreq caps|cacert|enroll|poll|getcert|getcrl --url URL [options]
 *
 * enroll, poll, getcert and getcrl print one line, "status=... failinfo=...
 * txid=... cipher=... digest=...", and exit 0 (SUCCESS), 2 (FAILURE), 3
 * (PENDING) or 1 (usage, transport or verification problem, explained on
 * stderr).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "buf.h"
#include "gw_err.h"
#include "secure.h"
#include "scep.h"
#include "scep_client.h"
#include "scepreq.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: scepreq caps|cacert|enroll|poll|getcert|getcrl --url URL "
	    "[--get]\n"
	    "\t[--challenge C | --challenge-file F] [--cn CN] [--email E]\n"
	    "\t[--cipher aes128|aes192|aes256|des3|des]\n"
	    "\t[--digest sha1|sha224|sha256|sha384|sha512] [--oaep]\n"
	    "\t[--key FILE] [--cert-out FILE] [--certs-out FILE] [--txid T]\n"
	    "\t[--renew-cert F --renew-key F [--pkcsreq]] [--ec] "
	    "[--content-type T] [--serial HEX]\n"
	    "\t[--get-encoding escaped|raw|half|urlsafe|space|wrapped]\n"
	    "\t[--encrypt-to RA-CERT.pem] [--crl-out FILE]\n"
	    "\t[--add-certs PEM-BUNDLE] [--add-recipients PEM-BUNDLE]\n"
	    "\t[--headers-out FILE] [--header 'Name: value']...\n"
	    "\t[--interface LOCAL-ADDR] [--cacert PEM]\n");
}

/* Fetches and decodes the GetCACert bag; 0 or -1 with stderr. */
static int
cacert_fetch(const struct opts *o, STACK_OF(X509) **certs)
{
	struct http_reply r;
	struct gw_err err;
	int rc;

	if (http_get_op(o, "GetCACert", &r) == -1)
		return -1;
	rc = scep_client_bag_parse(r.body.data, r.body.len, certs, &err);
	if (rc == -1)
		fprintf(stderr, "scepreq: %s\n", err.msg);
	buf_cleanup(&r.body);
	return rc;
}

/* Writes certificates as PEM to path ("-" or NULL: stdout); 0 or -1. */
static int
certs_write(const char *path, STACK_OF(X509) *certs, int n)
{
	FILE *f = stdout;
	int i, rc = 0;

	if (path != NULL && strcmp(path, "-") != 0 &&
	    (f = fopen(path, "w")) == NULL) {
		fprintf(stderr, "scepreq: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < n && i < sk_X509_num(certs); i++)
		if (PEM_write_X509(f, sk_X509_value(certs, i)) != 1)
			rc = -1;
	if (f != stdout && fclose(f) != 0)
		rc = -1;
	if (rc == -1)
		fprintf(stderr, "scepreq: writing %s failed\n", path);
	return rc;
}

/* Writes CRLs as PEM to path ("-" or NULL: stdout); 0 or -1. */
static int
crls_write(const char *path, STACK_OF(X509_CRL) *crls)
{
	FILE *f = stdout;
	int i, rc = 0;

	if (path != NULL && strcmp(path, "-") != 0 &&
	    (f = fopen(path, "w")) == NULL) {
		fprintf(stderr, "scepreq: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < sk_X509_CRL_num(crls); i++)
		if (PEM_write_X509_CRL(f, sk_X509_CRL_value(crls, i)) != 1)
			rc = -1;
	if (f != stdout && fclose(f) != 0)
		rc = -1;
	if (rc == -1)
		fprintf(stderr, "scepreq: writing %s failed\n", path);
	return rc;
}

/* Loads the key file, or creates it (mode 0600) if it does not exist. */
static EVP_PKEY *
key_get(const struct opts *o)
{
	struct gw_err err;
	struct stat st;
	EVP_PKEY *key = NULL;
	BIO *bio = NULL;
	char *p;
	long n;

	if (o->key != NULL && stat(o->key, &st) == 0) {
		if ((bio = BIO_new_file(o->key, "r")) != NULL)
			key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		BIO_free(bio);
		if (key == NULL)
			fprintf(stderr, "scepreq: %s: not a PEM key\n", o->key);
		return key;
	}
	if ((key = scep_client_key_new(o->ec, 2048)) == NULL || o->key == NULL)
		return key;
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) !=
		1 ||
	    (n = BIO_get_mem_data(bio, &p)) <= 0 ||
	    gw_file_write(o->key, p, (size_t)n, 0600, &err) == -1) {
		fprintf(stderr, "scepreq: %s: cannot write the key\n", o->key);
		EVP_PKEY_free(key);
		key = NULL;
	}
	BIO_free(bio);
	return key;
}

/* Reads one PEM certificate; NULL with stderr. */
static X509 *
cert_read(const char *path)
{
	X509 *x = NULL;
	BIO *bio;

	if ((bio = BIO_new_file(path, "r")) != NULL)
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (x == NULL)
		fprintf(stderr, "scepreq: %s: not a PEM certificate\n", path);
	return x;
}

/*
 * The self-signed signer for key. With --key it is kept next to the key
 * (KEY.signer.pem), so a later poll signs with the same certificate.
 */
static X509 *
signer_get(const struct opts *o, EVP_PKEY *key)
{
	char path[4096];
	struct stat st;
	X509 *x = NULL;
	FILE *f;

	if (o->key == NULL)
		return scep_client_selfsigned_new(key, o->cn);
	if ((size_t)snprintf(path, sizeof(path), "%s.signer.pem", o->key) >=
	    sizeof(path))
		return NULL;
	if (stat(path, &st) == 0 && (x = cert_read(path)) != NULL &&
	    X509_check_private_key(x, key) == 1)
		return x;
	X509_free(x);
	if ((x = scep_client_selfsigned_new(key, o->cn)) == NULL)
		return NULL;
	if ((f = fopen(path, "w")) == NULL || PEM_write_X509(f, x) != 1) {
		fprintf(stderr, "scepreq: %s: cannot write\n", path);
		if (f != NULL)
			fclose(f);
		X509_free(x);
		return NULL;
	}
	fclose(f);
	return x;
}

/* The default transactionID: hex of the first 16 bytes of SHA-256(SPKI). */
static int
txid_from_key(EVP_PKEY *key, char out[33])
{
	unsigned char *der = NULL, md[32];
	unsigned int mdlen;
	int n, rc = -1;

	if ((n = i2d_PUBKEY(key, &der)) > 0 &&
	    EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL) == 1) {
		gw_hex(md, 16, out);
		rc = 0;
	}
	OPENSSL_free(der);
	return rc;
}

/* Everything one PKIOperation needs, owned here. */
struct job {
	STACK_OF(X509) *bag;  /* GetCACert reply */
	EVP_PKEY *key;	      /* our key (the CSR key) */
	X509_REQ *csr;	      /* PKCSReq, RenewalReq, CertPoll subject */
	X509 *signer;	      /* signs the request */
	EVP_PKEY *signer_key; /* its key */
	char txid[33];	      /* derived transactionID */
	ASN1_INTEGER *serial; /* GetCert */
	X509 *encrypt_to;     /* --encrypt-to: a recipient not in the bag */
	STACK_OF(X509) *add_certs;
	STACK_OF(X509) *add_recipients;
	struct scep_client_req req;
};

static void
job_cleanup(struct job *j)
{
	sk_X509_pop_free(j->bag, X509_free);
	if (j->signer_key != j->key)
		EVP_PKEY_free(j->signer_key);
	EVP_PKEY_free(j->key);
	X509_REQ_free(j->csr);
	X509_free(j->signer);
	ASN1_INTEGER_free(j->serial);
	X509_free(j->encrypt_to);
	sk_X509_pop_free(j->add_certs, X509_free);
	sk_X509_pop_free(j->add_recipients, X509_free);
}

/* Reads every certificate of a PEM bundle; NULL (explained) on error. */
static STACK_OF(X509) *
bundle_read(const char *path)
{
	STACK_OF(X509) *sk;
	X509 *x;
	BIO *bio;

	if ((bio = BIO_new_file(path, "r")) == NULL ||
	    (sk = sk_X509_new_null()) == NULL) {
		BIO_free(bio);
		fprintf(stderr, "scepreq: %s: cannot read\n", path);
		return NULL;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		if (sk_X509_push(sk, x) == 0) {
			X509_free(x);
			break;
		}
	BIO_free(bio);
	return sk;
}

/* Loads the RenewalReq signer; 0 or -1. */
static int
job_renewal_signer(const struct opts *o, struct job *j)
{
	BIO *bio;

	if ((j->signer = cert_read(o->renew_cert)) == NULL)
		return -1;
	if ((bio = BIO_new_file(o->renew_key, "r")) != NULL)
		j->signer_key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (j->signer_key == NULL ||
	    X509_check_private_key(j->signer, j->signer_key) != 1) {
		fprintf(stderr, "scepreq: %s: no key for --renew-cert\n",
		    o->renew_key);
		return -1;
	}
	return 0;
}

/* A PEM CSR made elsewhere (--csr), e.g. with SANs our builder lacks. */
static X509_REQ *
csr_read_file(const char *path)
{
	X509_REQ *req = NULL;
	BIO *b;

	if ((b = BIO_new_file(path, "r")) != NULL)
		req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	BIO_free(b);
	if (req == NULL)
		fprintf(stderr, "scepreq: %s: not a PEM CSR\n", path);
	return req;
}

/*
 * GetCert's serial number, from --serial HEX. GetCRL's defaults to the
 * RA certificate's: the issuing CA issued it too.
 */
static int
serial_parse(const char *hex, struct job *j)
{
	BIGNUM *bn = NULL;

	if (hex == NULL && j->req.type == SCEP_MT_GETCRL) {
		j->serial =
		    ASN1_INTEGER_dup(X509_get0_serialNumber(j->req.recipient));
		return j->serial != NULL ? 0 : -1;
	}
	if (hex == NULL || BN_hex2bn(&bn, hex) == 0) {
		fprintf(stderr, "scepreq: getcert needs --serial HEX\n");
		return -1;
	}
	j->serial = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	return j->serial != NULL ? 0 : -1;
}

/* Gathers keys, CSR, signer and recipient for enroll or poll. */
static int
job_prepare(const struct opts *o, struct job *j, int type)
{
	struct scep_client_req *r = &j->req;
	const X509 *ra;

	if (cacert_fetch(o, &j->bag) == -1 || (j->key = key_get(o)) == NULL)
		return -1;
	if (o->csr_file != NULL)
		j->csr = csr_read_file(o->csr_file);
	else
		j->csr =
		    scep_client_csr_new(j->key, o->cn, o->email, o->challenge);
	if (j->csr == NULL)
		return -1;
	if (o->renew_cert != NULL) {
		if (job_renewal_signer(o, j) == -1)
			return -1;
	} else {
		j->signer_key = j->key;
		if ((j->signer = signer_get(o, j->key)) == NULL)
			return -1;
	}
	if (txid_from_key(j->key, j->txid) == -1)
		return -1;
	r->type = type;
	r->txid = o->txid != NULL ? o->txid : j->txid;
	r->cipher_nid = o->cipher;
	r->digest_nid = o->digest;
	r->oaep = o->oaep;
	r->signer = j->signer;
	r->key = j->signer_key;
	r->recipient = scep_client_recipient_pick(j->bag);
	if (o->encrypt_to != NULL) {
		if ((j->encrypt_to = cert_read(o->encrypt_to)) == NULL)
			return -1;
		r->recipient = j->encrypt_to;
	}
	if (o->add_certs != NULL &&
	    (j->add_certs = bundle_read(o->add_certs)) == NULL)
		return -1;
	if (o->add_recipients != NULL &&
	    (j->add_recipients = bundle_read(o->add_recipients)) == NULL)
		return -1;
	r->add_certs = j->add_certs;
	r->add_recipients = j->add_recipients;
	r->csr = j->csr;
	/* IssuerAndSubject: the issuing CA (second in the bag) and us. */
	ra = sk_X509_num(j->bag) > 1 ? sk_X509_value(j->bag, 1) : r->recipient;
	r->issuer = sk_X509_num(j->bag) > 1 ? X509_get_subject_name(ra) :
					      X509_get_issuer_name(ra);
	r->subject = X509_REQ_get_subject_name(j->csr);
	if ((type == SCEP_MT_GETCERT || type == SCEP_MT_GETCRL) &&
	    serial_parse(o->serial, j) == -1)
		return -1;
	r->serial = j->serial;
	return 0;
}

/* Prints the result line and maps the status to the exit code. */
static int
result_print(const struct opts *o, const struct job *j,
    const struct scep_client_rep *rep)
{
	const char *st = "SUCCESS";
	int ex = 0;

	if (rep->status == SCEP_STATUS_FAILURE) {
		st = "FAILURE";
		ex = 2;
	} else if (rep->status == SCEP_STATUS_PENDING) {
		st = "PENDING";
		ex = 3;
	}
	printf("status=%s failinfo=%s txid=%s cipher=%s digest=%s\n", st,
	    rep->fail >= 0 ? scep_fail_name((enum scep_fail)rep->fail) : "-",
	    j->req.txid,
	    rep->status == SCEP_STATUS_SUCCESS ?
		scep_client_cipher_name(rep->cipher_nid) :
		"-",
	    scep_client_digest_name(rep->digest_nid));
	if (rep->fail_text[0] != '\0')
		fprintf(stderr, "scepreq: failInfoText: %s\n", rep->fail_text);
	if (ex == 0 && j->req.type == SCEP_MT_GETCRL) {
		if (sk_X509_CRL_num(rep->crls) <= 0) {
			fprintf(stderr, "scepreq: no CRL in the reply\n");
			return 1;
		}
		return crls_write(o->crl_out, rep->crls) == 0 ? 0 : 1;
	}
	if (ex == 0 && o->cert_out != NULL &&
	    certs_write(o->cert_out, rep->certs, 1) == -1)
		return 1;
	if (ex == 0 && o->certs_out != NULL &&
	    certs_write(o->certs_out, rep->certs, sk_X509_num(rep->certs)) ==
		-1)
		return 1;
	return ex;
}

/* enroll (PKCSReq or RenewalReq) and poll (CertPoll). */
static int
cmd_pkioperation(const struct opts *o, int type)
{
	struct scep_client_rep rep;
	struct http_reply http;
	struct gw_err err;
	struct job j;
	struct buf msg;
	int ex = 1;

	memset(&j, 0, sizeof(j));
	buf_init(&msg, 0);
	buf_init(&http.body, 0);
	if (job_prepare(o, &j, type) == -1)
		goto out;
	if (scep_client_msg_build(&j.req, &msg, &err) == -1) {
		fprintf(stderr, "scepreq: %s\n", err.msg);
		goto out;
	}
	if (http_pkioperation(o, &msg, &http) == -1)
		goto out;
	/* The reply is signed by the RA of the bag, whoever we encrypted to. */
	if (scep_client_rep_parse(http.body.data, http.body.len,
		scep_client_recipient_pick(j.bag), &j.req, &rep, &err) == -1) {
		fprintf(stderr, "scepreq: bad CertRep: %s\n", err.msg);
		goto out;
	}
	ex = result_print(o, &j, &rep);
	scep_client_rep_cleanup(&rep);
out:
	buf_cleanup(&msg);
	buf_cleanup(&http.body);
	job_cleanup(&j);
	return ex;
}

/* caps: prints the GetCACaps body. */
static int
cmd_caps(const struct opts *o)
{
	struct http_reply r;

	if (http_get_op(o, "GetCACaps", &r) == -1)
		return 1;
	if (r.body.len > 0)
		fwrite(r.body.data, 1, r.body.len, stdout);
	buf_cleanup(&r.body);
	return 0;
}

/* cacert: writes the GetCACert certificates as PEM. */
static int
cmd_cacert(const struct opts *o)
{
	STACK_OF(X509) *certs;
	int ex;

	if (cacert_fetch(o, &certs) == -1)
		return 1;
	ex = certs_write(o->cert_out, certs, sk_X509_num(certs)) == 0 ? 0 : 1;
	sk_X509_pop_free(certs, X509_free);
	return ex;
}

/* Reads the first line of a challenge file. */
static char *
challenge_read(const char *path)
{
	struct gw_err err;
	struct buf b;
	size_t n;
	char *s;

	if (gw_file_read(path, 4096, &b, &err) == -1) {
		fprintf(stderr, "scepreq: %s\n", err.msg);
		return NULL;
	}
	n = strcspn((char *)b.data, "\r\n");
	s = gw_strndup((char *)b.data, n);
	gw_cleanse(b.data, b.len);
	buf_cleanup(&b);
	return s;
}

/* Parses a value-taking option; 0, or -1 on a bad value. */
static int
opt_value(struct opts *o, const char *name, const char *v)
{
	if (strcmp(name, "--url") == 0)
		o->url = v;
	else if (strcmp(name, "--challenge") == 0)
		o->challenge = gw_strdup(v);
	else if (strcmp(name, "--challenge-file") == 0)
		o->challenge = challenge_read(v);
	else if (strcmp(name, "--cn") == 0)
		o->cn = v;
	else if (strcmp(name, "--email") == 0)
		o->email = v;
	else if (strcmp(name, "--cipher") == 0)
		o->cipher = scep_client_cipher_nid(v);
	else if (strcmp(name, "--digest") == 0)
		o->digest = scep_client_digest_nid(v);
	else if (strcmp(name, "--key") == 0)
		o->key = v;
	else if (strcmp(name, "--cert-out") == 0)
		o->cert_out = v;
	else if (strcmp(name, "--certs-out") == 0)
		o->certs_out = v;
	else if (strcmp(name, "--txid") == 0)
		o->txid = v;
	else if (strcmp(name, "--renew-cert") == 0)
		o->renew_cert = v;
	else if (strcmp(name, "--renew-key") == 0)
		o->renew_key = v;
	else if (strcmp(name, "--content-type") == 0)
		o->content_type = v;
	else if (strcmp(name, "--serial") == 0)
		o->serial = v;
	else if (strcmp(name, "--crl-out") == 0)
		o->crl_out = v;
	else if (strcmp(name, "--encrypt-to") == 0)
		o->encrypt_to = v;
	else if (strcmp(name, "--csr") == 0)
		o->csr_file = v;
	else if (strcmp(name, "--add-certs") == 0)
		o->add_certs = v;
	else if (strcmp(name, "--add-recipients") == 0)
		o->add_recipients = v;
	else if (strcmp(name, "--headers-out") == 0)
		headers_out = v;
	else if (strcmp(name, "--interface") == 0)
		local_addr = v;
	else if (strcmp(name, "--cacert") == 0)
		cacert = v;
	else if (strcmp(name, "--header") == 0) {
		if (nextra_headers == EXTRA_HEADERS_MAX)
			return -1;
		extra_headers[nextra_headers++] = v;
	} else if (strcmp(name, "--get-encoding") == 0) {
		o->get_encoding = v;
		o->get = true;
	} else
		return -1;
	if (o->cipher == NID_undef || o->digest == NID_undef ||
	    (strncmp(name, "--challenge", 11) == 0 && o->challenge == NULL))
		return -1;
	return 0;
}

/* Parses the command line; 0 or -1. */
static int
opts_parse(struct opts *o, int argc, char **argv)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->cn = "scepreq-device";
	o->cipher = NID_aes_128_cbc;
	o->digest = NID_sha256;
	o->content_type = "application/x-pki-message";
	if (argc < 2)
		return -1;
	o->cmd = argv[1];
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--get") == 0)
			o->get = true;
		else if (strcmp(argv[i], "--oaep") == 0)
			o->oaep = true;
		else if (strcmp(argv[i], "--ec") == 0)
			o->ec = true;
		else if (strcmp(argv[i], "--pkcsreq") == 0)
			o->renew_as_pkcsreq = true;
		else if (i + 1 >= argc ||
		    opt_value(o, argv[i], argv[i + 1]) == -1) {
			fprintf(stderr, "scepreq: bad option %s\n", argv[i]);
			return -1;
		} else
			i++;
	}
	if (o->url == NULL || (o->renew_cert == NULL) != (o->renew_key == NULL))
		return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	struct gw_err err;
	struct opts o;
	int ex = 1;

	if (opts_parse(&o, argc, argv) == -1) {
		usage();
		goto out;
	}
	if (scep_init(o.cipher == NID_des_cbc, &err) == -1) {
		fprintf(stderr, "scepreq: %s\n", err.msg);
		goto out;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (strcmp(o.cmd, "caps") == 0)
		ex = cmd_caps(&o);
	else if (strcmp(o.cmd, "cacert") == 0)
		ex = cmd_cacert(&o);
	else if (strcmp(o.cmd, "enroll") == 0)
		ex = cmd_pkioperation(&o,
		    o.renew_cert != NULL && !o.renew_as_pkcsreq ?
			SCEP_MT_RENEWALREQ :
			SCEP_MT_PKCSREQ);
	else if (strcmp(o.cmd, "poll") == 0)
		ex = cmd_pkioperation(&o, SCEP_MT_CERTPOLL);
	else if (strcmp(o.cmd, "getcert") == 0)
		ex = cmd_pkioperation(&o, SCEP_MT_GETCERT);
	else if (strcmp(o.cmd, "getcrl") == 0)
		ex = cmd_pkioperation(&o, SCEP_MT_GETCRL);
	else
		usage();
	curl_global_cleanup();
out:
	gw_secret_free(o.challenge);
	return ex;
}
