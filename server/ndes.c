/*
 * The NDES-compatible dynamic challenge page. MDMs (Workspace ONE, Jamf,
 * Ivanti, BlackBerry, Fleet, GlobalProtect) log in to Microsoft NDES's
 * mscep_admin page and scrape the one-time password out of its HTML;
 * this page answers the same way: UTF-16LE with a BOM, the CA thumbprint
 * line and "The enrollment challenge password is: <B> XXXX </B>", or
 * NDES's "password cache is full" and "do not have sufficient permission"
 * pages, which scrapers also recognise (spec/scep.md 4.4).
 *
 * Logins are HTTP Basic against `scepgw user` accounts (scrypt hashes);
 * a wrong login counts against the client address's failure limit, like
 * a wrong challenge. Neither a password nor a challenge is ever logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "admin.h"
#include "buf.h"
#include "config.h"
#include "db.h"
#include "gw.h"
#include "gw_err.h"
#include "log.h"
#include "ndes.h"
#include "ratelimit.h"
#include "scep.h"
#include "secure.h"

#define NDES_REALM "scepgw"
#define NDES_CTYPE "text/html; charset=utf-16"
#define NDES_PAGE_MAX (16 * 1024)

/* The paths NDES serves the page on (IIS matches them case-blind). */
static const char *const ndes_paths[] = {
	"/certsrv/mscep_admin",
	"/certsrv/mscep_admin/",
	"/certsrv/mscep_admin/default.aspx",
};

static const char ndes_head[] =
    "<HTML><Head><Meta HTTP-Equiv=\"Content-Type\" Content=\"text/html; "
    "charset=UTF-16\"><Title>Network Device Enrollment Service</Title>"
    "</Head><Body BgColor=#FFFFFF><Font ID=locPageFont Face=\"Arial\">"
    "<Table Border=0 CellSpacing=0 CellPadding=4 Width=100% "
    "BgColor=#008080><TR><TD><Font ID=locPageTitleFont Face=\"Arial\" "
    "Size=-1 Color=#FFFFFF><LocID ID=locMSCertSrv>Network Device "
    "Enrollment Service</LocID></Font></TD></TR></Table>\r\n"
    "<P ID=locPageDesc> Network Device Enrollment Service allows you to "
    "obtain certificates for routers or other network devices using the "
    "Simple Certificate Enrollment Protocol (SCEP). </P>\r\n";

static const char ndes_tail[] = "</Font></Body></HTML>\r\n";

/* True when url is the mscep_admin page. */
bool
ndes_is_path(const char *url)
{
	size_t i;

	for (i = 0; i < sizeof(ndes_paths) / sizeof(ndes_paths[0]); i++)
		if (strcasecmp(url, ndes_paths[i]) == 0)
			return true;
	return false;
}

/*
 * Encodes 7-bit text as UTF-16LE with a byte order mark into out
 * (initialised here). Returns 0, or -1 when the text is not ASCII or
 * memory ran out.
 */
int
ndes_utf16le(const char *ascii, struct buf *out)
{
	static const uint8_t bom[2] = { 0xff, 0xfe };
	uint8_t u[2] = { 0, 0 };
	size_t i;

	buf_init(out, 0);
	if (buf_add(out, bom, sizeof(bom)) == -1)
		goto err;
	for (i = 0; ascii[i] != '\0'; i++) {
		if ((unsigned char)ascii[i] >= 0x80)
			goto err;
		u[0] = (uint8_t)ascii[i];
		if (buf_add(out, u, sizeof(u)) == -1)
			goto err;
	}
	return 0;
err:
	buf_cleanup(out);
	return -1;
}

/* Sends an NDES page: head, body (ASCII), tail, in UTF-16LE. */
static enum MHD_Result
ndes_send(struct MHD_Connection *conn, const char *body)
{
	static const char *const hdr[] = { "Cache-Control", "no-store", NULL };
	struct buf html, u16;
	enum MHD_Result rc = MHD_NO;

	buf_init(&html, NDES_PAGE_MAX);
	if (buf_addstr(&html, ndes_head) == -1 ||
	    buf_addstr(&html, body) == -1 ||
	    buf_addstr(&html, ndes_tail) == -1 ||
	    ndes_utf16le((const char *)html.data, &u16) == -1)
		goto out;
	rc = admin_respond(conn, MHD_HTTP_OK, NDES_CTYPE, u16.data, u16.len,
	    hdr);
	gw_cleanse(u16.data, u16.len);
	buf_cleanup(&u16);
out:
	gw_cleanse(html.data, html.len);
	buf_cleanup(&html);
	return rc;
}

/*
 * Writes the SHA-1 thumbprint of the issuing CA (the first certificate of
 * [ra] ca_chain) as NDES shows it: upper-case hex, a space between bytes.
 * Returns 0, or -1 when there is no CA certificate.
 */
static int
ndes_thumbprint(const struct gw_ctx *ctx, char *out, size_t n)
{
	static const char digits[] = "0123456789ABCDEF";
	const STACK_OF(X509) *chain = scep_ra_get0_chain(ctx->ra);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;

	if (chain == NULL || sk_X509_num(chain) < 1 || n < 3 * 20 ||
	    X509_digest(sk_X509_value(chain, 0), EVP_sha1(), md, &len) != 1)
		return -1;
	for (i = 0; i < len; i++) {
		out[3 * i] = digits[md[i] >> 4];
		out[3 * i + 1] = digits[md[i] & 0x0f];
		out[3 * i + 2] = i + 1 < len ? ' ' : '\0';
	}
	return 0;
}

/* The success page, with the thumbprint and a fresh challenge. */
static enum MHD_Result
ndes_send_challenge(struct gw_ctx *ctx, struct MHD_Connection *conn,
    const char *secret)
{
	char thumb[3 * EVP_MAX_MD_SIZE], line[320], body[1400];
	long minutes = ctx->cfg->challenge_ttl_seconds / 60;
	enum MHD_Result rc;

	line[0] = '\0';
	if (ndes_thumbprint(ctx, thumb, sizeof(thumb)) == 0)
		snprintf(line, sizeof(line),
		    "The thumbprint (hash value) for the CA certificate is: "
		    "<B> %s </B> <P> ",
		    thumb);
	snprintf(body, sizeof(body),
	    "<P> To complete certificate enrollment for your network device "
	    "you will need the following information: <P> %s"
	    "The enrollment challenge password is: <B> %s </B> <P> This "
	    "password can be used only once and will expire within %ld "
	    "minutes. <P> Each enrollment requires a new challenge password. "
	    "You can refresh this web page to obtain a new challenge "
	    "password. </P>\r\n",
	    line, secret, minutes);
	rc = ndes_send(conn, body);
	gw_cleanse(body, sizeof(body));
	return rc;
}

/* Copies a user name for a log line: printable ASCII, at most 64. */
static void
ndes_log_name(const char *name, char *out, size_t n)
{
	size_t i;

	for (i = 0; name != NULL && name[i] != '\0' && i + 1 < n && i < 64; i++)
		out[i] = name[i] > ' ' && name[i] <= '~' ? name[i] : '?';
	out[i] = '\0';
}

/*
 * A challenge for an authenticated user with the right to issue: stored
 * unless the cap of outstanding challenges is reached.
 */
static enum MHD_Result
ndes_issue(struct gw_ctx *ctx, struct MHD_Connection *conn, const char *peer,
    const char *user)
{
	char secret[ADMIN_SECRET_LEN];
	int64_t now = (int64_t)time(NULL), id = 0, cap;
	struct gw_err err;
	uint8_t hash[32];
	enum MHD_Result rc;
	int r;

	cap = ctx->cfg->admin_max_outstanding > 0 ?
	    ctx->cfg->admin_max_outstanding :
	    INT64_MAX;
	if (admin_challenge_make(secret, hash) != 0)
		return MHD_NO;
	r = db_challenge_put_capped(ctx->db, hash, now,
	    now + ctx->cfg->challenge_ttl_seconds, cap, &id, &err);
	gw_cleanse(hash, sizeof(hash));
	if (r == -1) {
		log_warnx("%s ndes: user=%s: database: %s", peer, user,
		    err.msg);
		rc = admin_respond(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "text/plain", "try again later\n", 16, NULL);
	} else if (r == 1) {
		log_warnx("%s ndes: user=%s: password cache is full ([admin] "
			  "max_outstanding_challenges = %ld)",
		    peer, user, ctx->cfg->admin_max_outstanding);
		rc = ndes_send(conn,
		    "<P> The password cache is full. Unused passwords expire "
		    "after their lifetime; try again later, or ask the "
		    "administrator to raise the limit. </P>\r\n");
	} else {
		log_info("%s ndes: user=%s: challenge id=%lld issued", peer,
		    user, (long long)id);
		rc = ndes_send_challenge(ctx, conn, secret);
	}
	gw_cleanse(secret, sizeof(secret));
	return rc;
}

/* Answers 401 with the Basic challenge, as NDES/IIS would. */
static enum MHD_Result
ndes_unauthorized(struct MHD_Connection *conn)
{
	static const char *const hdr[] = { MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		"Basic realm=\"" NDES_REALM "\", charset=\"UTF-8\"", NULL };
	static const char text[] = "401 - Unauthorized: Access is denied "
				   "due to invalid credentials.\n";

	return admin_respond(conn, MHD_HTTP_UNAUTHORIZED, "text/plain", text,
	    sizeof(text) - 1, hdr);
}

/* Checks the Basic credentials of the request; 0 ok, 1 bad, -1 error. */
static int
ndes_login(struct gw_ctx *ctx, const char *user, char *pass, bool *can_issue)
{
	struct gw_err err;
	int r;

	r = db_user_check(ctx->db, user, pass != NULL ? pass : "", can_issue,
	    &err);
	if (r == -1)
		log_warnx("ndes: user check: %s", err.msg);
	return r;
}

/*
 * Serves GET /certsrv/mscep_admin/ for the SCEP listener (http.c). Other
 * methods get 405. Returns what MHD_queue_response() returned.
 */
enum MHD_Result
ndes_page(struct gw_ctx *ctx, struct MHD_Connection *conn, const char *method)
{
	static const char *const allow[] = { "Allow", "GET, HEAD", NULL };
	char peer[64], name[72];
	char *user = NULL, *pass = NULL;
	bool can_issue = false;
	enum MHD_Result rc;
	int r;

	srv_client_addr(ctx, conn, peer, sizeof(peer));
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return admin_respond(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "text/plain", "method not allowed\n", 19, allow);
	user = MHD_basic_auth_get_username_password(conn, &pass);
	if (user == NULL) {
		log_info("%s ndes: no credentials", peer);
		rc = ndes_unauthorized(conn);
		goto out;
	}
	ndes_log_name(user, name, sizeof(name));
	if (ctx->rl != NULL &&
	    !ratelimit_take(ctx->rl, peer, (int64_t)time(NULL))) {
		log_info("%s ndes: user=%s: too many failed logins", peer,
		    name);
		rc = admin_respond(conn, MHD_HTTP_TOO_MANY_REQUESTS,
		    "text/plain", "too many failed attempts; try later\n", 36,
		    (const char *const[]) { "Retry-After", "60", NULL });
		goto out;
	}
	r = ndes_login(ctx, user, pass, &can_issue);
	if (r != 1 && ctx->rl != NULL)
		ratelimit_refund(ctx->rl, peer);
	if (r == -1)
		rc = admin_respond(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "text/plain", "try again later\n", 16, NULL);
	else if (r == 1) {
		log_info("%s ndes: user=%s: login failed", peer, name);
		rc = ndes_unauthorized(conn);
	} else if (!can_issue) {
		log_info("%s ndes: user=%s: no right to issue", peer, name);
		rc = ndes_send(conn,
		    "<P> You do not have sufficient permission to enroll with "
		    "SCEP. Please contact your system administrator. </P>\r\n");
	} else
		rc = ndes_issue(ctx, conn, peer, name);
out:
	if (pass != NULL)
		gw_cleanse(pass, strlen(pass));
	MHD_free(pass);
	MHD_free(user);
	return rc;
}
