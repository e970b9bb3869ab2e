/*
 * `scepgw init` creates a complete instance in a folder: config, RA key
 * (0600), RA certificate, CA chain, EPKI password file and an empty
 * database. Apple devices accept the GetCACert bag only when the RA
 * certificate (digitalSignature + keyEncipherment) chains to the CA they
 * pin (README "How an enrollment works" 1), so by default the RA
 * certificate is ordered from EPKI itself and checked against the CA chain.
 * `scepgw check` is check.c's.
 */
#define _XOPEN_SOURCE 700 /* realpath() */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "cli.h"
#include "config.h"
#include "db.h"
#include "enroll.h"
#include "epki.h"
#include "gw.h"
#include "gw_err.h"
#include "log.h"
#include "pubkey.h"
#include "scep.h"
#include "secure.h"

#define EXIT_USAGE 2
#define PROD_URL "https://system.globalsign.com/cr/ws/GasOrderService"

struct init_opts {
	const char *dir;
	const char *url;
	const char *user;
	const char *password_file;
	const char *profile_id;
	const char *ca_chain;
	const char *listen;
	bool self_signed;
	bool force;
	const char *db_url;	      /* PostgreSQL instead of scepgw.db */
	const char *db_password_file; /* copied to db.password */
	const char *db_path;	      /* SQLite file, not DIR/scepgw.db */
	const char *owner_name;	      /* --user: the service user */
	struct init_owner owner;      /* its ids, with owner_name */
};

/* The owner --user gives a secret file: that user, or ours. */
static uid_t
owner_uid(const struct init_opts *o)
{
	return o->owner_name != NULL ? o->owner.uid : (uid_t)-1;
}

static gid_t
owner_gid(const struct init_opts *o)
{
	return o->owner_name != NULL ? o->owner.gid : (gid_t)-1;
}

/* dir + "/" + name into out; -1 when it does not fit. */
static int
path_join(char *out, size_t n, const char *dir, const char *name)
{
	int k = snprintf(out, n, "%s/%s", dir, name);

	return k < 0 || (size_t)k >= n ? -1 : 0;
}

/* Reads every certificate of a PEM file, in order; NULL on failure. */
static STACK_OF(X509) *
pem_certs_read(const char *path, struct gw_err *err)
{
	STACK_OF(X509) *sk = NULL;
	X509 *x;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		gw_err_set(err, errno, "%s: %s", path, strerror(errno));
		return NULL;
	}
	sk = sk_X509_new_null();
	while (sk != NULL && (x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
		if (sk_X509_push(sk, x) <= 0) {
			X509_free(x);
			break;
		}
	fclose(f);
	ERR_clear_error(); /* PEM_R_NO_START_LINE ends the file */
	if (sk == NULL || sk_X509_num(sk) == 0) {
		gw_err_set(err, EINVAL, "%s: no PEM certificate in it", path);
		sk_X509_pop_free(sk, X509_free);
		return NULL;
	}
	return sk;
}

/*
 * Verifies that leaf chains to the last certificate of chain (the root),
 * through the ones before it. 0 or -1 with the reason in err.
 */
static int
chain_verify(const X509 *leaf, STACK_OF(X509) *chain, struct gw_err *err)
{
	X509_STORE_CTX *sctx = NULL;
	X509_STORE *store = NULL;
	int rc = -1, n = sk_X509_num(chain);

	if ((store = X509_STORE_new()) == NULL ||
	    X509_STORE_add_cert(store, sk_X509_value(chain, n - 1)) != 1 ||
	    (sctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(sctx, store, (X509 *)(uintptr_t)leaf, chain) !=
		1) {
		gw_err_set_ossl(err, 0, "certificate store");
		goto out;
	}
	X509_STORE_CTX_set_purpose(sctx, X509_PURPOSE_ANY);
	if (X509_verify_cert(sctx) != 1) {
		gw_err_set(err, 0, "%s",
		    X509_verify_cert_error_string(
			X509_STORE_CTX_get_error(sctx)));
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	X509_STORE_CTX_free(sctx);
	X509_STORE_free(store);
	return rc;
}

/* Writes one certificate as PEM to path (mode 0644). */
static int
pem_cert_write(const char *path, const X509 *x, struct gw_err *err)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;
	int rc = -1;

	if (b == NULL || PEM_write_bio_X509(b, x) != 1) {
		gw_err_set_ossl(err, 0, "PEM_write_bio_X509");
		goto out;
	}
	n = BIO_get_mem_data(b, &p);
	rc = gw_file_write(path, p, (size_t)n, 0644, err);
out:
	BIO_free(b);
	return rc;
}

/* Orders the RA certificate from EPKI for the key in key_path. */
static int
init_order_ra(const struct init_opts *o, const char *password,
    const char *key_path, const char *cert_path, STACK_OF(X509) *chain)
{
	struct epki_client_opts co;
	struct epki_auth auth = { o->user, password };
	struct epki_order ord;
	struct epki_resp resp;
	struct gw_err err;
	X509_REQ *req = NULL;
	char cn[128], host[64] = "localhost", *pem = NULL;
	const X509 *leaf;
	X509 *full = NULL;
	size_t i;
	BIO *b = NULL;
	int rc = 1;

	epki_resp_init(&resp);
	gethostname(host, sizeof(host) - 1);
	snprintf(cn, sizeof(cn), "scepgw RA %s", host);
	if (scep_ra_csr_new(key_path, cn, &pem, &err) == -1) {
		fprintf(stderr, "scepgw init: RA request: %s\n", err.msg);
		goto out;
	}
	memset(&co, 0, sizeof(co));
	co.url = o->url;
	co.timeout_s = 60;
	co.connect_timeout_s = 15;
	co.max_response =
	    (size_t)strtoull(config_default("epki", "max_response_bytes"), NULL,
		10);
	memset(&ord, 0, sizeof(ord));
	ord.profile_id = o->profile_id;
	ord.product_code = config_default("epki", "product_code");
	ord.years = 1;
	ord.csr_pem = pem;
	ord.cn = cn;
	if (epki_order_call(&co, &auth, &ord, &resp, &err) == -1 ||
	    (resp.cls != EPKI_OK && resp.cls != EPKI_WARNING)) {
		fprintf(stderr,
		    "scepgw init: ordering the RA certificate "
		    "from %s failed: %s\n",
		    o->url, resp.fault[0] != '\0' ? resp.fault : err.msg);
		for (i = 0; i < resp.nerrors; i++)
			fprintf(stderr, "  GlobalSign ErrorCode %d %s: %s\n",
			    resp.errors[i].code, resp.errors[i].field,
			    resp.errors[i].message);
		fprintf(stderr, "  (or use --self-signed-ra for a lab)\n");
		goto out;
	}
	if ((b = BIO_new_mem_buf(pem, -1)) == NULL ||
	    (req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL)) == NULL ||
	    (leaf = epki_resp_get0_cert_for_key(&resp,
		 X509_REQ_get0_pubkey(req))) == NULL) {
		fprintf(stderr,
		    "scepgw init: order %s returned no "
		    "certificate for the RA key\n",
		    resp.order_id);
		goto out;
	}
	/* The leaf came bare (epki.h); verifying needs its key. */
	if ((full = gw_x509_full(leaf)) == NULL ||
	    chain_verify(full, chain, &err) == -1) {
		fprintf(stderr,
		    "scepgw init: the RA certificate from order "
		    "%s does not chain to --ca-chain: %s\n",
		    resp.order_id, err.msg);
		goto out;
	}
	if (pem_cert_write(cert_path, leaf, &err) == -1) {
		fprintf(stderr, "scepgw init: %s\n", err.msg);
		goto out;
	}
	printf("RA certificate ordered from EPKI: order %s, CN=%s\n",
	    resp.order_id, cn);
	rc = 0;
out:
	ERR_clear_error();
	BIO_free(b);
	X509_REQ_free(req);
	X509_free(full);
	free(pem);
	epki_resp_cleanup(&resp);
	return rc;
}

static int copy_secret(const struct init_opts *o, const char *from,
    const char *to, struct gw_err *err);

/* The SQLite database: --db-path, or scepgw.db in the folder. */
static int
init_db_path(const struct init_opts *o, char *path, size_t n)
{
	if (o->db_path != NULL) {
		if (snprintf(path, n, "%s", o->db_path) >= (int)n)
			return -1;
		return 0;
	}
	return path_join(path, n, o->dir, "scepgw.db");
}

/* Reads a secret file; as root for --user, the user's own files too. */
static int
init_secret_read(const struct init_opts *o, const char *path, char **out,
    struct gw_err *err)
{
	return o->owner_name != NULL ? gw_secret_read_preroot(path, out, err) :
				       gw_secret_read(path, out, err);
}

/*
 * Creates and migrates the instance's database: scepgw.db in the folder
 * (or --db-path; with --user, created as that user), or the PostgreSQL
 * database of --db-url, whose --db-password-file is copied to db.password
 * (0600) as the EPKI password is. 0 or -1.
 */
static int
init_db(const struct init_opts *o, struct db **db, struct gw_err *err)
{
	char path[PATH_MAX], *pw = NULL;
	int rc;

	if (o->db_url == NULL) {
		if (init_db_path(o, path, sizeof(path)) == -1) {
			gw_err_set(err, 0, "%s: path too long", o->dir);
			return -1;
		}
		if (o->owner_name == NULL)
			return db_open(db, path, err);
		if (init_owner_db_create(&o->owner, path) == -1) {
			gw_err_set(err, 0, "%s: not created as %s", path,
			    o->owner_name);
			return -1;
		}
		return 0;
	}
	if (o->db_password_file != NULL &&
	    (init_secret_read(o, o->db_password_file, &pw, err) == -1 ||
		path_join(path, sizeof(path), o->dir, "db.password") == -1 ||
		copy_secret(o, o->db_password_file, path, err) == -1)) {
		gw_secret_free(pw);
		return -1;
	}
	rc = db_open_url(db, o->db_url, pw, NULL, 0, err);
	gw_secret_free(pw);
	return rc;
}

static int
init_parse(int argc, char **argv, struct init_opts *o)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "epki-url", required_argument, NULL, 'u' },
		{ "epki-user", required_argument, NULL, 'U' },
		{ "epki-password-file", required_argument, NULL, 'p' },
		{ "profile-id", required_argument, NULL, 'P' },
		{ "ca-chain", required_argument, NULL, 'C' },
		{ "listen", required_argument, NULL, 'l' },
		{ "self-signed-ra", no_argument, NULL, 's' },
		{ "force", no_argument, NULL, 'f' },
		{ "db-url", required_argument, NULL, 'D' },
		{ "db-password-file", required_argument, NULL, 'W' },
		{ "db-path", required_argument, NULL, 'B' },
		{ "user", required_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->url = PROD_URL;
	o->listen = config_default("server", "listen");
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			o->dir = optarg;
			break;
		case 'u':
			o->url = optarg;
			break;
		case 'U':
			o->user = optarg;
			break;
		case 'p':
			o->password_file = optarg;
			break;
		case 'P':
			o->profile_id = optarg;
			break;
		case 'C':
			o->ca_chain = optarg;
			break;
		case 'l':
			o->listen = optarg;
			break;
		case 's':
			o->self_signed = true;
			break;
		case 'f':
			o->force = true;
			break;
		case 'D':
			o->db_url = optarg;
			break;
		case 'W':
			o->db_password_file = optarg;
			break;
		case 'B':
			o->db_path = optarg;
			break;
		case 'N':
			o->owner_name = optarg;
			break;
		default:
			return -1;
		}
	}
	if (optind != argc || o->dir == NULL ||
	    (o->db_password_file != NULL && o->db_url == NULL) ||
	    (o->db_path != NULL && o->db_url != NULL))
		return -1;
	return 0;
}

/* Refuses what init cannot do; prints the first problem. */
static int
init_check_opts(const struct init_opts *o)
{
	char reason[160];

	if (o->ca_chain == NULL) {
		fprintf(stderr,
		    "scepgw init: --ca-chain FILE is required: "
		    "the GlobalSign issuing CA (then root) that "
		    "devices will trust\n");
		return -1;
	}
	if (o->user == NULL || o->password_file == NULL ||
	    o->profile_id == NULL) {
		fprintf(stderr,
		    "scepgw init: --epki-user, "
		    "--epki-password-file and --profile-id are "
		    "required (GCC > Enterprise PKI > API user "
		    "and profile)\n");
		return -1;
	}
	if (config_epki_url_check(o->url, false, reason, sizeof(reason)) ==
	    -1) {
		fprintf(stderr, "scepgw init: --epki-url: %s\n", reason);
		return -1;
	}
	if (o->db_path != NULL && o->db_path[0] != '/') {
		fprintf(stderr,
		    "scepgw init: --db-path %s: name the file by its "
		    "absolute path\n",
		    o->db_path);
		return -1;
	}
	return 0;
}

/*
 * Writes a copy of a file with mode; a secret one (0600) is the --user's
 * from its creation. When from already is the destination, a secret is
 * given to the --user in place (init_owner_adopt()).
 */
static int
copy_file(const struct init_opts *o, const char *from, const char *to,
    mode_t mode, struct gw_err *err)
{
	char a[PATH_MAX], b[PATH_MAX];
	struct buf data;
	int rc;

	if (realpath(from, a) != NULL && realpath(to, b) != NULL &&
	    strcmp(a, b) == 0)
		return o->owner_name != NULL && mode == 0600 ?
		    init_owner_adopt(&o->owner, to, err) :
		    0;
	if (gw_file_read(from, 1024 * 1024, &data, err) == -1)
		return -1;
	rc = mode == 0600 ? gw_file_write_owned(to, data.data, data.len, mode,
				owner_uid(o), owner_gid(o), err) :
			    gw_file_write(to, data.data, data.len, mode, err);
	gw_cleanse(data.data, data.len);
	buf_cleanup(&data);
	return rc;
}

/* A secret file's copy: mode 0600, the --user's. */
static int
copy_secret(const struct init_opts *o, const char *from, const char *to,
    struct gw_err *err)
{
	return copy_file(o, from, to, 0600, err);
}

/* The config init writes: README "Configuration" keys, relative names. */
static int
init_write_config(const struct init_opts *o, const char *conf_path)
{
	struct gw_config *c;
	struct gw_err err;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	/* Every default, then what init knows; file names stay relative. */
	if ((c = config_new_defaults(conf_path)) == NULL)
		return -1;
	if (config_str_set(&c->listen, o->listen) == -1 ||
	    config_str_set(&c->admin_token_file, "admin.token") == -1 ||
	    config_str_set(&c->db_path,
		o->db_url != NULL      ? NULL :
		    o->db_path != NULL ? o->db_path :
					 "scepgw.db") == -1 ||
	    config_str_set(&c->db_url, o->db_url) == -1 ||
	    config_str_set(&c->db_password_file,
		o->db_password_file != NULL ? "db.password" : NULL) == -1 ||
	    config_str_set(&c->ra_cert, "ra.pem") == -1 ||
	    config_str_set(&c->ra_key, "ra.key") == -1 ||
	    config_str_set(&c->ca_chain, "ca-chain.pem") == -1 ||
	    config_str_set(&c->epki_url, o->url) == -1 ||
	    config_str_set(&c->epki_username, o->user) == -1 ||
	    config_str_set(&c->epki_password_file, "epki.password") == -1 ||
	    config_str_set(&c->epki_profile_id, o->profile_id) == -1) {
		config_free(c);
		return -1;
	}
	if ((f = open_memstream(&text, &len)) == NULL) {
		config_free(c);
		return -1;
	}
	rc = config_write_default(f, c);
	config_free(c);
	if (fclose(f) != 0)
		rc = -1;
	/*
	 * With --user the config stays root's and holds no secret: 0644, as
	 * README "Privileges" asks, so the user reads it.
	 */
	if (rc == 0 &&
	    gw_file_write(conf_path, text, len,
		o->owner_name != NULL ? 0644 : 0640, &err) == -1) {
		fprintf(stderr, "scepgw init: %s\n", err.msg);
		rc = -1;
	}
	free(text);
	return rc;
}

/* The RA key and certificate: ordered from EPKI, or self-signed. */
static int
init_ra(const struct init_opts *o, const char *password, STACK_OF(X509) *chain)
{
	char key[PATH_MAX], cert[PATH_MAX];
	struct gw_err err;

	if (path_join(key, sizeof(key), o->dir, "ra.key") == -1 ||
	    path_join(cert, sizeof(cert), o->dir, "ra.pem") == -1)
		return 1;
	if (scep_ra_key_new_owned(key, 2048, owner_uid(o), owner_gid(o),
		&err) == -1) {
		fprintf(stderr, "scepgw init: RA key: %s\n", err.msg);
		return 1;
	}
	if (!o->self_signed)
		return init_order_ra(o, password, key, cert, chain);
	if (scep_ra_selfsigned_new(key, "scepgw RA (self-signed)", 3650, cert,
		&err) == -1) {
		fprintf(stderr, "scepgw init: RA certificate: %s\n", err.msg);
		return 1;
	}
	fprintf(stderr,
	    "scepgw init: warning: the RA certificate is "
	    "self-signed; Apple devices refuse it (they need an "
	    "RA that chains to the CA they pin). For labs only.\n");
	return 0;
}

/*
 * --user NAME: refuses, before anything is written, a caller that is not
 * root, an unknown user, an instance folder others than root could write
 * and a database folder the user cannot write.
 */
static int
init_check_owner(struct init_opts *o)
{
	char path[PATH_MAX];

	if (init_owner_get(o->owner_name, &o->owner) == -1 ||
	    init_owner_dir_check(o->dir) == -1)
		return -1;
	if (o->db_url != NULL)
		return 0;
	if (init_db_path(o, path, sizeof(path)) == -1) {
		fprintf(stderr, "scepgw init: %s: path too long\n", o->dir);
		return -1;
	}
	return init_owner_db_check(&o->owner, path);
}

/* `scepgw init --dir DIR ...` */
int
cli_init(const char *conf, int argc, char **argv)
{
	char path[PATH_MAX], *password = NULL;
	STACK_OF(X509) *chain = NULL;
	struct init_opts o;
	struct gw_err err;
	struct db *db = NULL;
	struct stat st;
	int rc = 1;

	(void)conf;
	if (init_parse(argc, argv, &o) == -1) {
		fprintf(stderr,
		    "usage: scepgw init --dir DIR [--epki-url URL] "
		    "[--epki-user U] [--epki-password-file F] "
		    "[--profile-id ID] [--ca-chain FILE] "
		    "[--self-signed-ra] [--listen ADDR] [--force] "
		    "[--user NAME] [--db-path PATH | "
		    "--db-url URL [--db-password-file F]]\n");
		return EXIT_USAGE;
	}
	if (init_check_opts(&o) == -1)
		return EXIT_USAGE;
	if (o.owner_name != NULL && init_check_owner(&o) == -1)
		return 1;
	/* With --user the user must reach its files in the folder. */
	if (mkdir(o.dir, o.owner_name != NULL ? 0755 : 0700) == -1 &&
	    errno != EEXIST) {
		fprintf(stderr, "scepgw init: %s: %s\n", o.dir,
		    strerror(errno));
		return 1;
	}
	if (path_join(path, sizeof(path), o.dir, "scepgw.conf") == -1)
		return 1;
	if (stat(path, &st) == 0 && !o.force) {
		fprintf(stderr,
		    "scepgw init: %s exists; this folder is "
		    "already an instance (--force to redo it)\n",
		    path);
		return 1;
	}
	if (init_secret_read(&o, o.password_file, &password, &err) == -1 ||
	    path_join(path, sizeof(path), o.dir, "epki.password") == -1 ||
	    copy_secret(&o, o.password_file, path, &err) == -1) {
		fprintf(stderr, "scepgw init: EPKI password: %s\n", err.msg);
		goto out;
	}
	if ((chain = pem_certs_read(o.ca_chain, &err)) == NULL ||
	    path_join(path, sizeof(path), o.dir, "ca-chain.pem") == -1 ||
	    copy_file(&o, o.ca_chain, path, 0644, &err) == -1) {
		fprintf(stderr, "scepgw init: CA chain: %s\n", err.msg);
		goto out;
	}
	if (scep_init(false, &err) == -1 || init_ra(&o, password, chain) != 0)
		goto out;
	if (init_db(&o, &db, &err) == -1) {
		fprintf(stderr, "scepgw init: database: %s\n", err.msg);
		goto out;
	}
	if (path_join(path, sizeof(path), o.dir, "scepgw.conf") == -1 ||
	    init_write_config(&o, path) == -1)
		goto out;
	printf("instance ready in %s\nstart it with: scepgw serve -c %s\n",
	    o.dir, path);
	rc = 0;
out:
	db_close(db);
	sk_X509_pop_free(chain, X509_free);
	gw_secret_free(password);
	return rc;
}
