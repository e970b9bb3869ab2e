/*
 * `scepgw serve`: load everything once, start the listener, wait for
 * SIGTERM or SIGINT, then drain: stop accepting (new requests get 503),
 * let every waiting device get its answer, give in-flight orders time to
 * finish, and exit 0. SIGHUP reloads the RA, the static challenges and the
 * log level (reload.c); systemd hears of all this through notify.c.
 * Started as root with [server] user, it binds the SCEP listener, drops to
 * that user, and only then opens the secrets and the database.
 */
#define _DEFAULT_SOURCE /* setgroups() */

#include <errno.h>
#include <grp.h>
#include <malloc.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cli.h"
#include "config.h"
#include "crl.h"
#include "db.h"
#include "db_lease.h"
#include "epki.h"
#include "enroll.h"
#include "gw.h"
#include "http.h"
#include "gw_err.h"
#include "intune.h"
#include "live.h"
#include "log.h"
#include "admin.h"
#include "ndes.h"
#include "ratelimit.h"
#include "scep.h"
#include "secure.h"

/*
 * One step of serve_conf_check(): path (a file, or a folder on the way to
 * it) must be root's and writable by root only. A sticky folder such as
 * /tmp may be world-writable: others cannot rename or remove what root
 * owns in it. Returns 0 or -1 (printed).
 */
static int
conf_node_check(const char *path)
{
	struct stat st;
	bool dir;

	if (stat(path, &st) == -1) {
		fprintf(stderr, "scepgw: %s: %s\n", path, strerror(errno));
		return -1;
	}
	dir = S_ISDIR(st.st_mode);
	if (st.st_uid != 0)
		fprintf(stderr,
		    "scepgw: refusing to start as root: %s %s is owned by "
		    "uid %lu, who could rewrite the config root reads "
		    "(README \"Privileges\"); run: chown root %s\n",
		    dir ? "the folder" : "the config", path,
		    (unsigned long)st.st_uid, path);
	else if ((st.st_mode & 022) != 0 && !(dir && (st.st_mode & S_ISVTX)))
		fprintf(stderr,
		    "scepgw: refusing to start as root: %s %s is mode %03o, "
		    "writable by others than root (README \"Privileges\"); "
		    "run: chmod go-w %s\n",
		    dir ? "the folder" : "the config", path,
		    (unsigned)(st.st_mode & 0777), path);
	else
		return 0;
	return -1;
}

/* Checks path and every folder above it, up to /; 0 or -1 (printed). */
static int
conf_chain_check(char *path)
{
	char *slash;

	for (;;) {
		if (conf_node_check(path) == -1)
			return -1;
		if ((slash = strrchr(path, '/')) == NULL || slash == path)
			break;
		*slash = '\0';
	}
	return path[0] == '/' && path[1] != '\0' ? conf_node_check("/") : 0;
}

/* The folder conf is named in, resolved; malloc'd, or NULL. */
static char *
conf_dir_of(const char *conf)
{
	char *copy, *slash, *dir;

	if ((slash = strrchr(conf, '/')) == NULL)
		return realpath(".", NULL);
	if (slash == conf)
		return gw_strdup("/");
	if ((copy = gw_strndup(conf, (size_t)(slash - conf))) == NULL)
		return NULL;
	dir = realpath(copy, NULL);
	free(copy);
	return dir;
}

/*
 * Started as root, serve reads a config that says which user to become
 * and which files to trust; a config that user (or anyone but root) could
 * rewrite would let it regain root at the next start. So, when euid is 0,
 * the config file, the folder holding it and every folder above must be
 * root's and writable by root only (README "Privileges"). Both the folder
 * the config is named in (a link there could be swapped) and the file a
 * symbolic link leads to are checked. Returns 0, or -1 with the reason on
 * stderr.
 */
int
serve_conf_check(const char *conf)
{
	char *real = NULL, *dir = NULL;
	int rc = -1;

	if (geteuid() != 0)
		return 0;
	if ((real = realpath(conf, NULL)) == NULL) {
		fprintf(stderr, "scepgw: %s: %s\n", conf, strerror(errno));
		return -1;
	}
	if ((dir = conf_dir_of(conf)) == NULL)
		fprintf(stderr, "scepgw: %s: cannot resolve its folder\n",
		    conf);
	else if (conf_chain_check(real) == 0 && conf_chain_check(dir) == 0)
		rc = 0;
	free(real);
	free(dir);
	return rc;
}

/* Adds one rollover key pair to the RA, if the config names it. */
static int
serve_ra_slot(struct scep_ra *ra, enum scep_ra_slot slot, const char *cert,
    const char *key, struct gw_err *err)
{
	const char *what = slot == SCEP_RA_NEXT ? "next" : "previous";

	if (cert == NULL && key == NULL)
		return 0;
	if (cert == NULL || key == NULL) {
		gw_err_set(err, 0, "[ra] %s_cert and %s_key go together", what,
		    what);
		return -1;
	}
	if (scep_ra_add_key(ra, slot, cert, key, err) == -1) {
		gw_err_set(err, err->code, "[ra] %s_cert: %.200s", what,
		    err->msg);
		return -1;
	}
	return 0;
}

/*
 * Loads the RA of a config: the current certificate and key, the CA
 * chain, and the next and previous key pairs of a rollover. Returns 0 or
 * -1 with err set.
 */
int
serve_ra_load(const struct gw_config *cfg, struct scep_ra **out,
    struct gw_err *err)
{
	struct scep_ra *ra = NULL;

	*out = NULL;
	if (scep_ra_load(&ra, cfg->ra_cert, cfg->ra_key, cfg->ca_chain, err) ==
	    -1)
		return -1;
	if (serve_ra_slot(ra, SCEP_RA_NEXT, cfg->ra_next_cert, cfg->ra_next_key,
		err) == -1 ||
	    serve_ra_slot(ra, SCEP_RA_PREVIOUS, cfg->ra_previous_cert,
		cfg->ra_previous_key, err) == -1) {
		scep_ra_free(ra);
		return -1;
	}
	*out = ra;
	return 0;
}

/*
 * With [server] user set, the RA key must belong to that user (we run as
 * it by now): readable by nobody else, not even by root-owned services.
 */
static int
serve_owner_check(const struct gw_config *cfg, const char *path,
    const char *what)
{
	struct stat st;

	if (cfg->user == NULL)
		return 0;
	if (stat(path, &st) == -1) {
		log_ev(LOG_WARNING, "server", NULL, "%s: %s: %s", what, path,
		    strerror(errno));
		return -1;
	}
	if (st.st_uid != geteuid()) {
		log_ev(LOG_WARNING, "server", NULL,
		    "%s: %s is owned by uid %lu, not by [server] user "
		    "%s (uid %lu)",
		    what, path, (unsigned long)st.st_uid, cfg->user,
		    (unsigned long)geteuid());
		return -1;
	}
	return 0;
}

/*
 * Becomes [server] user: supplementary groups, group, then user, and
 * checks that root cannot be regained. Returns 0 or -1 (logged).
 */
static int
serve_setuser(const struct gw_config *cfg)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	gid_t gid;
	uid_t uid;
	int e;

	e = getpwnam_r(cfg->user, &pw, buf, sizeof(buf), &res);
	if (e != 0 || res == NULL) {
		log_ev(LOG_WARNING, "server", NULL,
		    "[server] user: no user \"%s\"", cfg->user);
		return -1;
	}
	uid = pw.pw_uid;
	gid = pw.pw_gid;
	if (uid == 0) {
		log_ev(LOG_WARNING, "server", NULL,
		    "[server] user: \"%s\" is root", cfg->user);
		return -1;
	}
	if (setgroups(1, &gid) == -1 || setgid(gid) == -1 ||
	    setuid(uid) == -1) {
		log_ev(LOG_WARNING, "server", NULL,
		    "[server] user: cannot become %s: %s", cfg->user,
		    strerror(errno));
		return -1;
	}
	if (setuid(0) != -1 || seteuid(0) != -1 || getuid() != uid ||
	    geteuid() != uid || getgid() != gid || getegid() != gid) {
		log_ev(LOG_WARNING, "server", NULL,
		    "[server] user: the drop to %s did not hold", cfg->user);
		return -1;
	}
	log_ev(LOG_INFO, "server", NULL, "running as %s (uid %lu, gid %lu)",
	    cfg->user, (unsigned long)uid, (unsigned long)gid);
	return 0;
}

/*
 * Refuses root unless [server] allow_root = yes; with [server] user set,
 * binds the SCEP listener first (low ports need root), then drops to the
 * user, so the secrets and the database are opened as that user. The
 * admin listener is bound later, as the user. Returns 0 or -1 (logged).
 */
static int
serve_privs(struct gw_ctx *ctx, const struct gw_config *cfg)
{
	struct gw_err err;
	struct passwd *pw;

	if (cfg->user == NULL) {
		if (geteuid() == 0 && !cfg->allow_root) {
			log_ev(LOG_WARNING, "server", NULL,
			    "refusing to serve as root: set [server] "
			    "user = NAME to drop privileges after "
			    "binding, or [server] allow_root = yes");
			return -1;
		}
		return 0;
	}
	if (geteuid() != 0) {
		/* Already that user (systemd's User=) is fine. */
		pw = getpwnam(cfg->user);
		if (pw != NULL && pw->pw_uid == geteuid())
			return 0;
		log_ev(LOG_WARNING, "server", NULL,
		    "[server] user = %s needs serve to start as root",
		    cfg->user);
		return -1;
	}
	if (srv_http_bind(cfg->listen, &ctx->http_fd, &err) == -1) {
		log_ev(LOG_WARNING, "server", NULL, "[server] listen: %s",
		    err.msg);
		return -1;
	}
	return serve_setuser(cfg);
}

/*
 * No core dumps (README "Privileges"): a core would hold the RA key, the
 * EPKI password and challenges in flight, readable by whoever collects
 * cores. Non-dumpable also keeps other processes of the same user from
 * attaching with ptrace or reading /proc/PID/mem. Called after the drop
 * to [server] user, since setuid() resets the flag, and before any secret
 * is read. Returns 0 or -1 (logged).
 */
static int
serve_nodump(void)
{
	struct rlimit rl;

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
		log_ev(LOG_WARNING, "server", NULL,
		    "prctl(PR_SET_DUMPABLE): %s", strerror(errno));
		return -1;
	}
	/* Belt and braces; the unit's LimitCORE=0 has done it already (and
	 * its system call filter would refuse setrlimit()). */
	if (getrlimit(RLIMIT_CORE, &rl) == 0 && rl.rlim_max == 0)
		return 0;
	rl.rlim_cur = rl.rlim_max = 0;
	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		log_ev(LOG_WARNING, "server", NULL,
		    "setrlimit(RLIMIT_CORE): %s", strerror(errno));
	return 0;
}

/*
 * The config may have read secret files of any owner while root (README
 * "Commands"); serve holds them to the owner rule (README "Privileges"):
 * checked again as the user it now runs as, each profile's
 * static_challenge_file and [db] password_file must be its own or root's.
 * Returns 0 or -1 (logged).
 */
static int
serve_secrets_check(const struct gw_config *cfg)
{
	const struct gw_profile *p;
	struct gw_err err;
	size_t i;

	for (i = 0; i < cfg->nprofiles; i++) {
		p = &cfg->profiles[i];
		if (p->static_challenge_file != NULL &&
		    gw_file_check_private(p->static_challenge_file, &err) ==
			-1) {
			log_warnx("[profile %s] static_challenge_file: %s",
			    p->name, err.msg);
			return -1;
		}
	}
	if (cfg->db_password_file != NULL &&
	    gw_file_check_private(cfg->db_password_file, &err) == -1) {
		log_warnx("[db] password_file: %s", err.msg);
		return -1;
	}
	return 0;
}

/* The table of static secrets a reload rewrites (live.c), from cfg. */
static int
serve_statics(struct gw_ctx *ctx, const struct gw_config *cfg)
{
	size_t i;

	if (gw_static_init(ctx, cfg->nprofiles) == -1) {
		log_warnx("out of memory");
		return -1;
	}
	for (i = 0; i < cfg->nprofiles; i++)
		gw_static_set(ctx, i, cfg->profiles[i].static_sha256);
	return 0;
}

/* Loads the secrets, the RA and the database into ctx. */
static int
serve_open(struct gw_ctx *ctx, const struct gw_config *cfg)
{
	struct gw_err err;

	if (serve_secrets_check(cfg) == -1)
		return -1;
	if (gw_secret_read(cfg->epki_password_file, &ctx->epki_password,
		&err) == -1) {
		log_ev(LOG_WARNING, "server", NULL, "[epki] password_file: %s",
		    err.msg);
		return -1;
	}
	ctx->auth.user = cfg->epki_username;
	ctx->auth.password = ctx->epki_password;
	/* The owner first: a key still root's cannot even be opened. */
	if (serve_owner_check(cfg, cfg->ra_key, "[ra] key") == -1)
		return -1;
	if (gw_file_check_private(cfg->ra_key, &err) == -1) {
		log_ev(LOG_WARNING, "server", NULL, "[ra] key: %s", err.msg);
		return -1;
	}
	if (scep_init(cfg->allow_des, &err) == -1) {
		log_ev(LOG_WARNING, "server", NULL, "%s", err.msg);
		return -1;
	}
	if (serve_ra_load(cfg, &ctx->ra, &err) == -1) {
		log_ev(LOG_WARNING, "server", NULL, "RA: %s", err.msg);
		return -1;
	}
	if ((cfg->db_url == NULL && db_file_check(cfg->db_path, &err) == -1) ||
	    cli_db_open(cfg, &ctx->db, &err) == -1 ||
	    db_serve_lock(ctx->db, &err) == -1) {
		log_ev(LOG_WARNING, "server", NULL, "[db] %s: %s",
		    cfg->db_url != NULL ? "url" : "path", err.msg);
		return -1;
	}
	log_ev(LOG_INFO, "server", NULL, "database: %s",
	    db_backend_name(ctx->db));
	if (serve_statics(ctx, cfg) == -1)
		return -1;
	ctx->pol.allow_des = cfg->allow_des;
	ctx->pol.max_csr_bytes = cfg->max_request_bytes;
	ctx->pol.max_recipients = cfg->max_recipient_infos;
	ctx->pol.max_certs = cfg->max_certificates;
	return 0;
}

/* Logs what the lease thread reports (db/ does not log). */
static void
serve_lease_event(void *arg, bool warn, const char *msg)
{
	(void)arg;
	if (warn)
		log_ev(LOG_WARNING, "server", NULL, "%s", msg);
	else
		log_ev(LOG_INFO, "server", NULL, "%s", msg);
}

/* SHA-256 of the config file's bytes as read now, kept with the
 * incarnation; false when it cannot be read (then none is kept). */
static bool
serve_conf_sha256(const char *path, uint8_t out[32])
{
	unsigned char buf[4096];
	EVP_MD_CTX *c;
	size_t n;
	FILE *f;
	bool ok;

	if ((f = fopen(path, "rb")) == NULL)
		return false;
	ok = (c = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;
	while (ok && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		ok = EVP_DigestUpdate(c, buf, n) == 1;
	ok = ok && ferror(f) == 0 && EVP_DigestFinal_ex(c, out, NULL) == 1;
	fclose(f);
	EVP_MD_CTX_free(c);
	return ok;
}

/*
 * Registers this process as a new incarnation and starts its lease thread
 * (README "How an enrollment works" 7): [cluster] node_name (default: the
 * hostname), lease L = [cluster] lease_seconds (0: [epki] timeout_seconds
 * + 30), renewed every H seconds. Returns 0 or -1 (logged).
 */
static int
serve_lease(struct gw_ctx *ctx, const struct gw_config *cfg)
{
	struct db_lease_opts o;
	struct gw_err err;
	uint8_t sha[32], ra_sha[32];
	unsigned ra_len = 0;
	char host[256];

	memset(&o, 0, sizeof(o));
	if (serve_conf_sha256(cfg->path, sha))
		o.cfg_sha256 = sha;
	/* What `scepgw check` compares across the live gateways (README
	 * "High availability"): the settings that decide an order, and the
	 * RA certificate devices encrypt to. */
	if (cfg->has_order_sha256)
		o.order_sha256 = cfg->order_sha256;
	if (X509_digest(scep_ra_get0_cert(ctx->ra), EVP_sha256(), ra_sha,
		&ra_len) == 1 &&
	    ra_len == sizeof(ra_sha))
		o.ra_sha256 = ra_sha;
	o.name = cfg->cluster_node_name;
	if (o.name == NULL || o.name[0] == '\0') {
		if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
			snprintf(host, sizeof(host), "scepgw");
		host[sizeof(host) - 1] = '\0';
		o.name = host;
	}
	log_node_set(o.name); /* before the lease thread logs */
	o.call_s = (int)cfg->epki_timeout_seconds;
	o.lease_s = cfg->cluster_lease_seconds > 0 ?
	    (int)cfg->cluster_lease_seconds :
	    o.call_s + 30;
	o.margin_s = DB_LEASE_MARGIN_S;
	o.beat_s = DB_LEASE_BEAT_S;
	o.version = "scepgw " GW_VERSION;
	o.event = serve_lease_event;
	if (db_lease_start(&ctx->lease, ctx->db, &o, &err) == -1) {
		log_ev(LOG_WARNING, "server", NULL,
		    "[cluster]: cannot register this gateway: %s", err.msg);
		return -1;
	}
	log_ev(LOG_INFO, "server", NULL,
	    "incarnation %lld (%s): lease %d s, renewed every %d s",
	    (long long)db_lease_node(ctx->lease), o.name, o.lease_s, o.beat_s);
	return 0;
}

/*
 * Starts the upstream client, the enrollment timer, the reconciler, the
 * CRL cache (its refresh thread), the NDES login threads and the listener.
 */
static int
serve_start(struct gw_ctx *ctx, const struct gw_config *cfg)
{
	struct epki_client_opts o;
	struct gw_err err;

	config_epki_opts(cfg, &o);
	/* No order leaves unless the lease outlasts it (the order gate). */
	o.may_start = db_lease_may_order;
	o.may_start_arg = ctx->lease;
	if (epki_client_new(&ctx->epki, &o, &err) == -1) {
		log_ev(LOG_WARNING, "server", NULL, "EPKI client: %s", err.msg);
		return -1;
	}
	ctx->tr = epki_client_transport(ctx->epki);
	/* Intune's client (README "Microsoft Intune"): its own thread. */
	if (config_intune(cfg) != NULL &&
	    intune_new(&ctx->intune, config_intune(cfg), &err) == -1) {
		log_ev(LOG_WARNING, "server", NULL, "Intune client: %s",
		    err.msg);
		return -1;
	}
	if (enroll_new(&ctx->enroll, ctx, &err) == -1) {
		log_ev(LOG_WARNING, "server", NULL, "%s", err.msg);
		return -1;
	}
	if (reconcile_new(&ctx->reconcile, ctx, &err) == -1) {
		log_ev(LOG_WARNING, "server", NULL, "%s", err.msg);
		return -1;
	}
	/* GetCRL works only when the RA certificate names a CDP. */
	if (crl_cache_new(&ctx->crl, ctx->ra, NULL, &err) == -1)
		log_ev(LOG_INFO, "server", NULL, "GetCRL disabled: %s",
		    err.msg);
	else if (crl_cache_start(ctx->crl, &err) == -1) {
		log_ev(LOG_WARNING, "server", NULL, "%s", err.msg);
		return -1;
	}
	if (cfg->enroll_max_failures > 0 &&
	    ratelimit_new(&ctx->rl, 4096, cfg->enroll_max_failures, 60) == -1) {
		log_ev(LOG_WARNING, "server", NULL, "out of memory");
		return -1;
	}
	if (cfg->ndes_enabled && ndes_new(&ctx->ndes, cfg, &err) == -1) {
		log_ev(LOG_WARNING, "server", NULL, "[ndes]: %s", err.msg);
		return -1;
	}
	if (srv_http_start(&ctx->http, ctx, &err) == -1) {
		log_ev(LOG_WARNING, "server", NULL, "[server] listen: %s",
		    err.msg);
		return -1;
	}
	if (admin_start(&ctx->admin, ctx, &err) == -1) {
		log_ev(LOG_WARNING, "server", NULL, "[admin] listen: %s",
		    err.msg);
		return -1;
	}
	return 0;
}

/*
 * Stops accepting (a request that arrives now, on a kept-alive connection
 * too, gets 503), answers everyone waiting for an order or an NDES login,
 * then gives the connections a moment before the listener is closed: no
 * connection is left suspended for MHD_stop_daemon().
 */
static void
serve_drain(struct gw_ctx *ctx)
{
	struct timespec tick = { 0, 50 * 1000 * 1000 };
	int i;

	srv_http_quiesce(ctx->http);
	enroll_drain(ctx->enroll, ctx->cfg->epki_timeout_seconds);
	ndes_drain(ctx->ndes);
	/* Give resumed connections up to 5 s to send their replies. */
	for (i = 0; i < 100 && srv_http_connections(ctx->http) > 0; i++)
		nanosleep(&tick, NULL);
}

/*
 * glibc gives a thread arena's free top back to the kernel (madvise)
 * once it passes 128 KiB, which an enrollment's OpenSSL and SQLite churn
 * crosses about once per enrollment on the writer thread; the pages come
 * back as faults on the next one. Keep up to 64 MiB (a thread heap's
 * size) instead: at c=16 the gateway's CPU per enrollment fell 5% (0.98
 * -> 0.93 ms), 1,162 -> 1,186 enrollments/s (tests/bench/README.md,
 * round 7); the peak with 2,000 waiting is unchanged (127 MiB). Memory
 * freed after a burst stays with the process, up to that peak.
 */
static void
serve_malloc(void)
{
	/* Another allocator (ASan's, an LD_PRELOADed one) may ignore it and
	 * return 0: nothing an operator needs to hear about. */
	(void)mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
}

/*
 * Raises the open-file limit toward what [server] max_connections and
 * [epki] max_connections need together (waiting requests hold an upstream
 * socket each, up to the latter), plus room for files and the database.
 */
static void
serve_nofile(const struct gw_config *cfg)
{
	rlim_t want = (rlim_t)cfg->max_connections +
	    (rlim_t)cfg->epki_max_connections + 1024;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ?
	    want :
	    rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur < want)
		log_ev(LOG_WARNING, "server", NULL,
		    "open-file limit %llu is below the %llu that "
		    "[server] and [epki] max_connections need",
		    (unsigned long long)rl.rlim_cur, (unsigned long long)want);
}

/* Frees everything serve_open() and serve_start() made, in reverse. */
static void
serve_close(struct gw_ctx *ctx)
{
	admin_stop(ctx->admin);
	if (ctx->http == NULL && ctx->http_fd > 0)
		close(ctx->http_fd); /* bound, never served */
	srv_http_stop(ctx->http);
	ndes_free(ctx->ndes);
	ratelimit_free(ctx->rl);
	/* Stopped first, freed last: the orders epki_client_free() ends,
	 * and their completions on the writer thread, may still kick it. */
	reconcile_stop(ctx->reconcile);
	crl_cache_free(ctx->crl);
	epki_client_free(ctx->epki);
	/* The orders it ended are recorded by the database's writer thread,
	 * whose completions use the registry. */
	if (ctx->db != NULL)
		db_write_flush(ctx->db);
	/* Those completions may have notified Intune; its callbacks end
	 * orders and write to the database. */
	intune_free(ctx->intune);
	ctx->intune = NULL;
	if (ctx->db != NULL)
		db_write_flush(ctx->db);
	/* Nothing of this incarnation is in flight any more; released only
	 * after a drain that left no order unanswered, so that a survivor
	 * takes over at once. */
	db_lease_stop(ctx->lease, ctx->lease_release);
	reconcile_free(ctx->reconcile);
	enroll_free(ctx->enroll);
	db_close(ctx->db);
	gw_ra_set0(ctx, NULL);
	gw_static_free(ctx);
	gw_secret_free(ctx->epki_password);
}

/*
 * Waits for a signal: SIGHUP reloads (RELOADING=1, then READY=1 whether
 * or not the reload was refused: the gateway serves either way) and waits
 * again; SIGTERM or SIGINT is returned.
 */
static int
serve_wait(struct gw_ctx *ctx, const sigset_t *set)
{
	int sig = 0;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig != SIGHUP)
			return sig;
		notify_reloading();
		(void)serve_reload(ctx);
		notify_ready(ctx);
	}
}

/*
 * Runs the gateway until SIGTERM or SIGINT. The signals (and SIGHUP) are
 * blocked in every thread and taken with sigwait() here, so no handler
 * runs at an awkward moment. Returns the process exit status.
 */
int
serve_run(const struct gw_config *cfg)
{
	struct notify_wd *wd = NULL;
	struct gw_ctx ctx;
	sigset_t set;
	int sig = 0, rc = 1;

	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = cfg;
	ctx.http_fd = -1;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	serve_malloc();
	serve_nofile(cfg);
	if (serve_privs(&ctx, cfg) == -1 || serve_nodump() == -1 ||
	    serve_open(&ctx, cfg) == -1 || serve_lease(&ctx, cfg) == -1 ||
	    serve_start(&ctx, cfg) == -1 ||
	    notify_watchdog_start(&wd, &ctx) == -1)
		goto out;
	log_ev(LOG_INFO, "server.start", NULL,
	    "scepgw listening on %s (port %u), ordering from %s as %s",
	    cfg->listen, srv_http_port(ctx.http), cfg->epki_url,
	    cfg->epki_username);
	/* Both listeners accept and the database is open. */
	notify_ready(&ctx);
	sig = serve_wait(&ctx, &set);
	notify_stopping();
	notify_watchdog_stop(wd);
	log_ev(LOG_INFO, "server.drain", NULL, "signal %d: draining", sig);
	serve_drain(&ctx);
	ctx.lease_release = enroll_inflight(ctx.enroll) == 0;
	log_ev(LOG_INFO, "server.stop", NULL, "stopped");
	rc = 0;
out:
	notify_watchdog_stop(wd);
	serve_close(&ctx);
	/* After serve_close() flushed the writes: no probe is queued. */
	notify_watchdog_free(wd);
	return rc;
}
