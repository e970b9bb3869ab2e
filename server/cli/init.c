/*
 * `scepgw init` creates a complete instance in a folder: config, RA key
 * (0600), RA certificate, CA chain, EPKI password file and an empty
 * database. Apple devices accept the GetCACert bag only when the RA
 * certificate (digitalSignature + keyEncipherment) chains to the CA they
 * pin (README "How an enrollment works" 1), so by default the RA
 * certificate is ordered from EPKI itself and checked against the CA chain.
 * `scepgw check` verifies an instance, one line per item, ending with a
 * live GetProfiles call that proves the EPKI credentials, the API IP
 * allow-list and the profile's state.
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
/* Days before the EPKI profile closes that `check` warns (README). */
#define PROFILE_WARN_DAYS 30
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
};

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

static int copy_file(const char *from, const char *to, mode_t mode,
    struct gw_err *err);

/*
 * Creates and migrates the instance's database: scepgw.db in the folder,
 * or the PostgreSQL database of --db-url, whose --db-password-file is
 * copied to db.password (0600) as the EPKI password is. 0 or -1.
 */
static int
init_db(const struct init_opts *o, struct db **db, struct gw_err *err)
{
	char path[PATH_MAX], *pw = NULL;
	int rc;

	if (o->db_url == NULL) {
		if (path_join(path, sizeof(path), o->dir, "scepgw.db") == -1) {
			gw_err_set(err, 0, "%s: path too long", o->dir);
			return -1;
		}
		return db_open(db, path, err);
	}
	if (o->db_password_file != NULL &&
	    (gw_secret_read(o->db_password_file, &pw, err) == -1 ||
		path_join(path, sizeof(path), o->dir, "db.password") == -1 ||
		copy_file(o->db_password_file, path, 0600, err) == -1)) {
		gw_secret_free(pw);
		return -1;
	}
	rc = db_open_url(db, o->db_url, pw, NULL, err);
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
		default:
			return -1;
		}
	}
	if (optind != argc || o->dir == NULL ||
	    (o->db_password_file != NULL && o->db_url == NULL))
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
	return 0;
}

/* Writes a copy of a file unless it already is the destination. */
static int
copy_file(const char *from, const char *to, mode_t mode, struct gw_err *err)
{
	char a[PATH_MAX], b[PATH_MAX];
	struct buf data;
	int rc;

	if (realpath(from, a) != NULL && realpath(to, b) != NULL &&
	    strcmp(a, b) == 0)
		return 0;
	if (gw_file_read(from, 1024 * 1024, &data, err) == -1)
		return -1;
	rc = gw_file_write(to, data.data, data.len, mode, err);
	gw_cleanse(data.data, data.len);
	buf_cleanup(&data);
	return rc;
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
		o->db_url == NULL ? "scepgw.db" : NULL) == -1 ||
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
	if (rc == 0 && gw_file_write(conf_path, text, len, 0640, &err) == -1) {
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
	if (scep_ra_key_new(key, 2048, &err) == -1) {
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
		    "[--db-url URL [--db-password-file F]]\n");
		return EXIT_USAGE;
	}
	if (init_check_opts(&o) == -1)
		return EXIT_USAGE;
	if (mkdir(o.dir, 0700) == -1 && errno != EEXIST) {
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
	if (gw_secret_read(o.password_file, &password, &err) == -1 ||
	    path_join(path, sizeof(path), o.dir, "epki.password") == -1 ||
	    copy_file(o.password_file, path, 0600, &err) == -1) {
		fprintf(stderr, "scepgw init: EPKI password: %s\n", err.msg);
		goto out;
	}
	if ((chain = pem_certs_read(o.ca_chain, &err)) == NULL ||
	    path_join(path, sizeof(path), o.dir, "ca-chain.pem") == -1 ||
	    copy_file(o.ca_chain, path, 0644, &err) == -1) {
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

/* Prints one check line; returns 0 for OK, 1 for a failure. */
static int
check_line(bool ok, const char *what, const char *detail)
{
	printf("%-8s %s%s%s\n", ok ? "OK" : "FAIL", what,
	    detail[0] != '\0' ? ": " : "", detail);
	return ok ? 0 : 1;
}

/* Checks the RA: loads, matches its key, and is not about to expire. */
static int
check_ra(const struct gw_config *cfg)
{
	struct scep_ra *ra = NULL;
	struct gw_err err;
	char detail[256];
	int days = 0, secs = 0, bad;

	gw_err_clear(&err);
	bad = gw_file_check_private(cfg->ra_key, &err) == -1;
	bad |= check_line(!bad, "RA key permissions", err.msg);
	if (scep_init(cfg->allow_des, &err) == -1 ||
	    scep_ra_load(&ra, cfg->ra_cert, cfg->ra_key, cfg->ca_chain, &err) ==
		-1)
		return bad |
		    check_line(false, "RA certificate and CA chain", err.msg);
	ASN1_TIME_diff(&days, &secs, NULL,
	    X509_get0_notAfter(scep_ra_get0_cert(ra)));
	snprintf(detail, sizeof(detail), "expires in %d days%s", days,
	    days < 30 ? " (renew it soon: scepgw init --force)" : "");
	bad |= check_line(days > 0, "RA certificate", detail);
	scep_ra_free(ra);
	return bad;
}

/* The first error of r whose code is one of codes (0-terminated). */
static const struct epki_error *
resp_error_find(const struct epki_resp *r, const int *codes)
{
	size_t i, k;

	for (i = 0; i < r->nerrors; i++)
		for (k = 0; codes[k] != 0; k++)
			if (r->errors[i].code == codes[k])
				return &r->errors[i];
	return NULL;
}

/* Prints a line that does not count as a failure. */
static void
check_note(const char *tag, const char *what, const char *detail)
{
	printf("%-8s %s: %s\n", tag, what, detail);
}

/*
 * The hint for an HTTP 404: GlobalSign's service is documented under two
 * paths (README, "Set up an instance"), so name the one url does not use.
 */
static void
epki_path_hint(const char *url, char *out, size_t n)
{
	static const char alt[] = "/services/cr/ws/GasOrderService";
	const char *path = alt + strlen("/services");
	size_t ul = strlen(url), al = strlen(alt), pl = strlen(path);

	if (ul >= al && strcmp(url + ul - al, alt) == 0)
		snprintf(out, n, "try %.*s%s", (int)(ul - al), url, path);
	else if (ul >= pl && strcmp(url + ul - pl, path) == 0)
		snprintf(out, n, "try %.*s%s", (int)(ul - pl), url, alt);
	else
		snprintf(out, n, "the service's path is %s or %s", path, alt);
}

/* The connection line: did the URL give a SOAP answer at all? */
static int
check_epki_transport(const struct gw_config *cfg, const struct epki_resp *r,
    const char *msg)
{
	char detail[640], hint[320];

	if (r->cls != EPKI_TRANSPORT) {
		snprintf(detail, sizeof(detail), "%s answered GetProfiles",
		    cfg->epki_url);
		return check_line(true, "EPKI connection", detail);
	}
	if (r->http_status == 404) {
		epki_path_hint(cfg->epki_url, hint, sizeof(hint));
		snprintf(detail, sizeof(detail),
		    "%s answered HTTP 404 (no such path): fix the path of "
		    "[epki] url: %s",
		    cfg->epki_url, hint);
	} else {
		snprintf(detail, sizeof(detail),
		    "no usable answer from %s: %s (check [epki] url, DNS, "
		    "firewall or proxy, and TLS: the server's certificate "
		    "must verify%s)",
		    cfg->epki_url, r->fault[0] != '\0' ? r->fault : msg,
		    cfg->epki_ca_file != NULL ? " against [epki] ca_file" : "");
	}
	check_line(false, "EPKI connection", detail);
	check_note("SKIP", "EPKI credentials, IP allow-list, profile",
	    "not checked until the connection works");
	return 1;
}

/* The credentials and IP allow-list lines; 1 when either failed. */
static int
check_epki_auth(const struct gw_config *cfg, const struct epki_resp *r)
{
	static const int login[] = { -4001, -9200, -9939, 0 };
	static const int ip[] = { -4201, 0 };
	const struct epki_error *e;
	char detail[256];

	if ((e = resp_error_find(r, login)) != NULL) {
		check_line(false, "EPKI credentials",
		    config_epki_advice(e->code));
		check_note("SKIP", "EPKI IP allow-list, profile",
		    "not checked until the login works");
		return 1;
	}
	snprintf(detail, sizeof(detail), "API user %s accepted",
	    cfg->epki_username);
	check_line(true, "EPKI credentials", detail);
	if ((e = resp_error_find(r, ip)) != NULL) {
		check_line(false, "EPKI API IP allow-list",
		    config_epki_advice(e->code));
		check_note("SKIP", "EPKI profile",
		    "not checked until the IP address is allowed");
		return 1;
	}
	return check_line(true, "EPKI API IP allow-list",
	    "this server's address may call the API");
}

/* What to do about a profile that exists but cannot be used. */
static const char *
profile_advice(enum epki_profile_state s)
{
	switch (s) {
	case EPKI_PROFILE_VALID:
		return "orders can use it";
	case EPKI_PROFILE_PENDING:
		return "GlobalSign has not finished vetting it; orders fail "
		       "until GCC > Enterprise PKI > Search Profiles shows "
		       "the Profile Order Status as Validated: complete the "
		       "vetting with GlobalSign, or set [epki] profile_id to "
		       "a validated profile";
	case EPKI_PROFILE_SUSPENDED:
		return "the profile is suspended, so orders are refused: ask "
		       "GlobalSign support to reinstate it, or set [epki] "
		       "profile_id to a validated profile";
	case EPKI_PROFILE_CANCELLED:
		return "the profile is cancelled: create and have GlobalSign "
		       "vet a new profile in GCC, then set [epki] profile_id";
	default:
		return "GlobalSign sent a ProfileOrderState this program does "
		       "not know, so orders are not expected to work: check "
		       "that GCC > Enterprise PKI > Search Profiles shows the "
		       "profile Validated";
	}
}

/*
 * The profile's closing date (ProfileInfo/ValidityPeriod/NotAfter): orders
 * fail once it has passed; a warning from PROFILE_WARN_DAYS before.
 * Returns 1 when it has passed.
 */
static int
check_epki_profile_closing(const struct epki_profile *p)
{
	const char *what = "EPKI profile validity";
	char detail[512];
	long day, left;

	if (p->not_after[0] == '\0') {
		check_note("INFO", what,
		    "GetProfiles sent no closing date (ValidityPeriod/NotAfter)");
		return 0;
	}
	if (epki_date_day(p->not_after, &day) == -1) {
		snprintf(detail, sizeof(detail),
		    "closing date \"%s\" not understood; check the Closing "
		    "Profile validity date in GCC > Enterprise PKI > Search "
		    "Profiles",
		    p->not_after);
		check_note("WARN", what, detail);
		return 0;
	}
	left = day - (long)(time(NULL) / 86400);
	if (left < 0) {
		snprintf(detail, sizeof(detail),
		    "profile %s closed on %.10s: orders are refused; ask "
		    "GlobalSign to renew the profile, or set [epki] profile_id "
		    "to a profile that is still valid",
		    p->profile_id, p->not_after);
		return check_line(false, what, detail);
	}
	snprintf(detail, sizeof(detail),
	    "profile %s closes on %.10s, in %ld "
	    "day%s%s",
	    p->profile_id, p->not_after, left, left == 1 ? "" : "s",
	    left <= PROFILE_WARN_DAYS ?
		": orders will be refused from then on; ask GlobalSign to "
		"renew the profile, or prepare another one" :
		"");
	if (left <= PROFILE_WARN_DAYS) {
		check_note("WARN", what, detail);
		return 0;
	}
	return check_line(true, what, detail);
}

/* The profile line: found, and in a state that lets orders through. */
static int
check_epki_profile(const struct gw_config *cfg, const struct epki_resp *r)
{
	const struct epki_profile *p = NULL;
	enum epki_profile_state s;
	char detail[768];
	size_t i;

	if (r->cls != EPKI_OK && r->cls != EPKI_WARNING) {
		snprintf(detail, sizeof(detail),
		    "GetProfiles failed: ErrorCode %d%s%s: %s",
		    r->nerrors > 0 ? r->errors[0].code : 0,
		    r->nerrors > 0 && r->errors[0].field[0] != '\0' ?
			" ErrorField " :
			"",
		    r->nerrors > 0 ? r->errors[0].field : "",
		    r->nerrors > 0 ? r->errors[0].message : r->fault);
		return check_line(false, "EPKI profile", detail);
	}
	for (i = 0; i < r->nprofiles && p == NULL; i++)
		if (strcmp(r->profiles[i].profile_id, cfg->epki_profile_id) ==
		    0)
			p = &r->profiles[i];
	if (p == NULL) {
		snprintf(detail, sizeof(detail),
		    "%s is not a profile of this account: set [epki] "
		    "profile_id to the Profile ID that GCC > Enterprise PKI "
		    "> Search Profiles lists (MP and 12 digits)",
		    cfg->epki_profile_id);
		return check_line(false, "EPKI profile", detail);
	}
	s = epki_profile_state(p);
	snprintf(detail, sizeof(detail),
	    "%s is %s (state %s; O=%s, L=%s, "
	    "ST=%s, C=%s): %s",
	    p->profile_id, epki_profile_state_name(s),
	    p->state_code[0] != '\0' ? p->state_code : "-", p->org, p->locality,
	    p->st, p->country, profile_advice(s));
	/* An unknown state is not usable: GCC must show it Validated. */
	if (check_line(s == EPKI_PROFILE_VALID, "EPKI profile", detail) != 0)
		return 1;
	/* GlobalSign issues a UPN only when the profile enables it. */
	if (strcasecmp(p->upn, "false") == 0)
		check_note("INFO", "EPKI profile UPN",
		    "the profile's UPN attribute is off: GlobalSign puts no "
		    "UPN (smart-card logon) in its certificates, even when a "
		    "challenge or an upn template decides one; ask GlobalSign "
		    "to enable UPN on the profile if devices need it");
	return check_epki_profile_closing(p);
}

/* Licences: GetProfiles says nothing about them; say what an order will. */
static void
check_epki_licences(const struct gw_config *cfg)
{
	char detail[1024];

	snprintf(detail, sizeof(detail),
	    "not reported by GlobalSign's API; only an order checks them. "
	    "Orders need a licence pack for product %s, %d year%s. GlobalSign "
	    "refuses an order with ErrorCode %d ([epki] licence_error_code) "
	    "when there is %s",
	    cfg->epki_product_code, cfg->epki_years,
	    cfg->epki_years == 1 ? "" : "s", cfg->epki_licence_error_code,
	    config_licence_advice());
	check_note("INFO", "EPKI licences", detail);
}

/*
 * README "Licences": per pool whose config sets licences or
 * licences_expire, the gateway's own figures (WARN from 90 % used or
 * within 30 days of the pack's last day), then the last licence error
 * GlobalSign answered, if any. Warnings do not fail the check.
 */
static void
check_licence_pools(const struct gw_config *cfg, struct db *db)
{
	struct enroll_licence_fig f;
	char detail[768], what[96], warn[512], warn2[512], when[32];
	char text[256], *msg = NULL;
	struct gw_err err;
	int64_t at;
	time_t t;
	size_t i, n;

	for (i = 0; i < cfg->npools; i++) {
		if (!enroll_licence_watched(cfg, i))
			continue;
		snprintf(what, sizeof(what), "licence pool %s",
		    cfg->pools[i].name);
		if (enroll_licence_figures(cfg, db, i, &f, &err) != 0) {
			check_note("WARN", what, err.msg);
			continue;
		}
		if (cfg->pools[i].licences > 0)
			n = (size_t)snprintf(detail, sizeof(detail),
			    "%ld licences configured, %ld used (%ld before "
			    "this gateway counted, %ld orders GlobalSign "
			    "accepted since), %ld remaining",
			    cfg->pools[i].licences, f.used,
			    cfg->pools[i].used_before, f.counted, f.remaining);
		else
			n = (size_t)snprintf(detail, sizeof(detail),
			    "licences not set (%ld orders GlobalSign accepted "
			    "counted)",
			    f.counted);
		if (cfg->pools[i].expire[0] != '\0' && n < sizeof(detail))
			snprintf(detail + n, sizeof(detail) - n,
			    "; the pack's last day %s, %ld day%s left",
			    cfg->pools[i].expire, f.days_left,
			    f.days_left == 1 || f.days_left == -1 ? "" : "s");
		enroll_licence_warning(&f, false, warn, sizeof(warn));
		enroll_licence_warning(&f, true, warn2, sizeof(warn2));
		check_note(warn[0] != '\0' || warn2[0] != '\0' ? "WARN" : "OK",
		    what, detail);
		/* The warnings name their pool, as the log's do. */
		if (warn[0] != '\0')
			printf("%-8s %s\n", "WARN", warn);
		if (warn2[0] != '\0')
			printf("%-8s %s\n", "WARN", warn2);
	}
	if (db_licence_last_error(db, cfg->epki_licence_error_code, &at, &msg,
		&err) != 0) {
		check_note("WARN", "EPKI licence error", err.msg);
		return;
	}
	if (at == 0)
		return;
	t = (time_t)at;
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", gmtime(&t));
	/* GlobalSign's text came from the network: no control bytes. */
	log_escape(text, sizeof(text), msg != NULL ? msg : "",
	    msg != NULL ? strlen(msg) : 0);
	snprintf(detail, sizeof(detail),
	    "GlobalSign last refused an order with ErrorCode %d on %s "
	    "(\"%.160s\"): %s",
	    cfg->epki_licence_error_code, when, text, config_licence_advice());
	free(msg);
	/* An old one is history: a note, not a warning. */
	check_note(time(NULL) - at < 30 * 86400 ? "WARN" : "INFO",
	    "EPKI licence error", detail);
}

/* The live GetProfiles call and its lines; returns 1 on any FAIL. */
static int
check_epki(const struct gw_config *cfg)
{
	struct epki_client_opts o;
	struct epki_auth auth;
	struct epki_resp resp;
	struct gw_err err;
	char *pw = NULL;
	int bad;

	gw_err_clear(&err);
	if (gw_secret_read(cfg->epki_password_file, &pw, &err) == -1) {
		check_note("SKIP", "EPKI GetProfiles",
		    "not called without the password file");
		return 1;
	}
	config_epki_opts(cfg, &o);
	auth.user = cfg->epki_username;
	auth.password = pw;
	(void)epki_profile_list_call(&o, &auth, cfg->epki_profile_id, &resp,
	    &err);
	gw_secret_free(pw);
	if ((bad = check_epki_transport(cfg, &resp, err.msg)) == 0 &&
	    (bad = check_epki_auth(cfg, &resp)) == 0)
		bad = check_epki_profile(cfg, &resp);
	check_epki_licences(cfg);
	epki_resp_cleanup(&resp);
	return bad;
}

/* `scepgw check`: config, files and permissions, database, RA, EPKI. */
int
cli_check(const char *conf, int nargs)
{
	struct gw_config *cfg = NULL;
	struct db *db = NULL;
	struct gw_err err;
	char *pw = NULL, detail[64] = "";
	int bad = 0;

	if (nargs != 0) {
		fprintf(stderr, "usage: scepgw check [-c FILE]\n");
		return EXIT_USAGE;
	}
	if (config_load(&cfg, conf, stderr) == -1) {
		check_line(false, "config", conf);
		return 1;
	}
	check_line(true, "config", conf);
	gw_err_clear(&err);
	bad |=
	    check_line(gw_secret_read(cfg->epki_password_file, &pw, &err) == 0,
		"EPKI password file", err.msg);
	gw_secret_free(pw);
	bad |= check_ra(cfg);
	gw_err_clear(&err);
	if (cli_db_open(cfg, &db, &err) == 0)
		snprintf(detail, sizeof(detail), "%s, schema version %d",
		    db_backend_name(db), db_schema_version(db));
	bad |=
	    check_line(db != NULL, "database", db != NULL ? detail : err.msg);
	bad |= check_epki(cfg);
	if (db != NULL) {
		check_licence_pools(cfg, db);
		cli_check_nodes(db);
	}
	db_close(db);
	config_free(cfg);
	return bad ? 1 : 0;
}
