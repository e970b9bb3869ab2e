/*
 * epki-sim's order store: one file per order under DIR/orders/ (key=value
 * header lines, a blank line, the leaf PEM), written atomically, and the
 * certificate details that GetOrderByOrderId and GetOrders report.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "buf.h"
#include "gw_err.h"
#include "secure.h"
#include "sim.h"

#define ORDER_FILE_MAX (64 * 1024)

/* True (1) if id is a plausible order number (no path tricks). */
int
sim_order_id_ok(const char *id)
{
	size_t n = strlen(id);

	return n > 0 && n < 48 &&
	    strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == n;
}

/* Appends the leaf's PEM to out; 0 or -1. */
int
sim_leaf_pem(X509 *x, struct buf *out)
{
	BIO *b;
	char *p;
	long n;
	int rc = -1;

	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return -1;
	if (PEM_write_bio_X509(b, x) == 1 && (n = BIO_get_mem_data(b, &p)) > 0)
		rc = buf_add(out, p, (size_t)n);
	BIO_free(b);
	return rc;
}

/*
 * Writes path with mode 0644. By default atomically and durably
 * (gw_file_write(): temporary file, fsync, rename). With --no-fsync, which
 * benchmarks use, the file is rewritten in place: no sync and no new inode
 * per write (creating and renaming temporary files costs more kernel time
 * than the signing), so a crash of the machine or of epki-sim mid-write
 * may lose or truncate the last orders and counts.
 */
int
sim_file_write(const struct sim *s, const char *path, const void *p, size_t n,
    struct gw_err *err)
{
	FILE *f;
	int rc = -1;

	if (!s->no_fsync)
		return gw_file_write(path, p, n, 0644, err);
	if ((f = fopen(path, "w")) == NULL) {
		gw_err_set(err, errno, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fwrite(p, 1, n, f) != n)
		gw_err_set(err, errno, "%s: %s", path, strerror(errno));
	else
		rc = 0;
	if (fclose(f) != 0 && rc == 0) {
		gw_err_set(err, errno, "%s: %s", path, strerror(errno));
		rc = -1;
	}
	return rc;
}

/*
 * Writes DIR/orders/<id> atomically (revoke_date may be NULL); call with
 * s->mu held. 0, or -1 with err set.
 */
int
sim_order_save(struct sim *s, const char *id, const char *status,
    const char *request_date, const char *profile, const char *product,
    const char *revoke_date, X509 *leaf, struct gw_err *err)
{
	char path[PATH_MAX], name[96];
	struct buf b;
	int rc = -1;

	buf_init(&b, ORDER_FILE_MAX);
	snprintf(name, sizeof(name), "orders/%s", id);
	if (sim_path(s, path, sizeof(path), name) == -1 ||
	    buf_printf(&b,
		"# epki-sim order\nstatus=%s\nrequest_date=%s\nprofile=%s\n"
		"product=%s\n",
		status, request_date, profile, product) == -1 ||
	    (revoke_date != NULL &&
		buf_printf(&b, "revoke_date=%s\n", revoke_date) == -1) ||
	    buf_addstr(&b, "\n") == -1 || sim_leaf_pem(leaf, &b) == -1) {
		gw_err_set(err, ENOMEM, "order %s: cannot store", id);
		goto out;
	}
	rc = sim_file_write(s, path, b.data, b.len, err);
out:
	buf_cleanup(&b);
	return rc;
}

/* Splits the key=value header lines of a stored order in place. */
static void
stored_parse(char *hdr, struct sim_stored *st)
{
	char *line, *next, *v;

	for (line = hdr; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((v = strchr(line, '=')) == NULL)
			continue;
		*v++ = '\0';
		if (strcmp(line, "status") == 0)
			st->status = v;
		else if (strcmp(line, "request_date") == 0)
			st->request_date = v;
		else if (strcmp(line, "profile") == 0)
			st->profile = v;
		else if (strcmp(line, "product") == 0)
			st->product = v;
		else if (strcmp(line, "revoke_date") == 0)
			st->revoke_date = v;
	}
}

/*
 * Loads DIR/orders/<id> into st (release with sim_stored_cleanup() either
 * way); -1 if there is no such order. Takes s->mu for the read unless
 * the caller holds it (locked != 0).
 */
static int
stored_load(struct sim *s, const char *id, struct sim_stored *st, int locked)
{
	char path[PATH_MAX], name[96], *sep;
	struct gw_err err;
	BIO *b;
	int rc;

	memset(st, 0, sizeof(*st));
	snprintf(name, sizeof(name), "orders/%s", id);
	if (!sim_order_id_ok(id) || sim_path(s, path, sizeof(path), name) == -1)
		return -1;
	if (!locked)
		pthread_mutex_lock(&s->mu);
	rc = gw_file_read(path, ORDER_FILE_MAX, &st->raw, &err);
	if (!locked)
		pthread_mutex_unlock(&s->mu);
	if (rc == -1 || (sep = strstr((char *)st->raw.data, "\n\n")) == NULL)
		return -1;
	sep[1] = '\0';
	if ((b = BIO_new_mem_buf(sep + 2, -1)) != NULL)
		st->leaf = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	stored_parse((char *)st->raw.data, st);
	if (st->status == NULL)
		st->status = "4";
	if (st->request_date == NULL)
		st->request_date = "";
	return st->leaf == NULL ? -1 : 0;
}

/* Loads an order, taking s->mu for the read; see stored_load(). */
int
sim_stored_load(struct sim *s, const char *id, struct sim_stored *st)
{
	return stored_load(s, id, st, 0);
}

/* Loads an order while the caller holds s->mu. */
int
sim_stored_load_locked(struct sim *s, const char *id, struct sim_stored *st)
{
	return stored_load(s, id, st, 1);
}

/* Frees a stored order; safe after a failed load. */
void
sim_stored_cleanup(struct sim_stored *st)
{
	buf_cleanup(&st->raw);
	X509_free(st->leaf);
	st->leaf = NULL;
}

/* Formats an ASN1_TIME as 2026-11-27T06:12:13.000Z. */
static void
time_text(const ASN1_TIME *t, char *out, size_t n)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(out, n, "%Y-%m-%dT%H:%M:%S.000Z", &tm) == 0)
		snprintf(out, n, "%s", "");
}

/* The text of the first entry nid in name, into out. */
static void
name_text(const X509_NAME *name, int nid, char *out, int n)
{
	if (X509_NAME_get_text_by_NID(name, nid, out, n) < 0)
		out[0] = '\0';
}

/* Prepares li for sim_leaf_info_fill(). */
void
sim_leaf_info_init(struct sim_leaf_info *li)
{
	memset(li, 0, sizeof(*li));
	buf_init(&li->pem, ORDER_FILE_MAX);
	buf_init(&li->p7, ORDER_FILE_MAX);
}

/* Frees what li holds. */
void
sim_leaf_info_cleanup(struct sim_leaf_info *li)
{
	buf_cleanup(&li->pem);
	buf_cleanup(&li->p7);
}

/* Fills li (initialised) from a stored order's leaf; 0 or -1. */
int
sim_leaf_info_fill(const struct sim *s, X509 *leaf, struct sim_leaf_info *li)
{
	const ASN1_INTEGER *ai = X509_get0_serialNumber(leaf);
	struct buf pem;
	BIGNUM *bn;
	char *hex = NULL;
	int rc = -1;

	buf_init(&pem, ORDER_FILE_MAX);
	if ((bn = ASN1_INTEGER_to_BN(ai, NULL)) == NULL ||
	    (hex = BN_bn2hex(bn)) == NULL)
		goto out;
	snprintf(li->serial, sizeof(li->serial), "%s", hex);
	time_text(X509_get0_notBefore(leaf), li->nb, sizeof(li->nb));
	time_text(X509_get0_notAfter(leaf), li->na, sizeof(li->na));
	name_text(X509_get_subject_name(leaf), NID_commonName, li->cn,
	    (int)sizeof(li->cn));
	name_text(X509_get_subject_name(leaf), NID_pkcs9_emailAddress,
	    li->email, (int)sizeof(li->email));
	if (sim_leaf_pem(leaf, &pem) == -1 ||
	    sim_pem_crlf((const char *)pem.data, &li->pem) == -1 ||
	    sim_pki_p7_pem(s, leaf, &li->p7) == -1)
		goto out;
	rc = 0;
out:
	OPENSSL_free(hex);
	BN_free(bn);
	buf_cleanup(&pem);
	return rc;
}

/* Points info at what st and li hold for order id (spec 5.2). */
void
sim_order_info_set(struct epki_order_info *info, const char *id,
    const struct sim_stored *st, const struct sim_leaf_info *li)
{
	*info = (struct epki_order_info) { .order_id = id,
		.order_status = st->status,
		.product_code = st->product,
		.profile_id = st->profile,
		.request_date = st->request_date,
		.issue_date = li->nb,
		.not_before = li->nb,
		.not_after = li->na,
		.cert_status = st->status,
		.serial = li->serial,
		.cn = li->cn,
		.email = li->email[0] ? li->email : NULL,
		.certificate = (const char *)li->pem.data,
		.pkcs7 = (const char *)li->p7.data,
		.revoke_date = st->revoke_date };
}
