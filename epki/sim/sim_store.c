/*
 * epki-sim's order store: DIR/orders.log, a journal with one record per
 * order event (issued, revoked), appended with one write() each; the last
 * record of an order is its state. An index in memory (under s->mu) maps
 * each order to its last record. Creating a file per order cost more
 * than the simulator's certificate signature (tests/bench/README.md,
 * round 8). Also the certificate details that GetOrderByOrderId and
 * GetOrders report.
 */
/* getline() is POSIX 2008, which -std=c11 hides without this. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "buf.h"
#include "gw_err.h"
#include "secure.h"
#include "sim.h"

#define ORDER_FILE_MAX (64 * 1024)
#define JOURNAL "orders.log"

/* Where the last record of one order lies in the journal. */
struct sim_order_ref {
	char id[48];
	off_t off;
	size_t len;
};

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

/* FNV-1a of an order number, for the index's hash table. */
static size_t
id_hash(const char *id)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 1099511628211ULL;
	return (size_t)h;
}

/* The slot of the hash table that holds order id, or the empty slot
 * where it would go; needs a table (s->slots_cap > 0). */
static size_t
index_slot(const struct sim *s, const char *id)
{
	size_t mask = s->slots_cap - 1, i = id_hash(id) & mask;

	while (
	    s->slots[i] != 0 && strcmp(s->orders[s->slots[i] - 1].id, id) != 0)
		i = (i + 1) & mask;
	return i;
}

/* The index entry of order id, or NULL; call with s->mu held. */
static struct sim_order_ref *
index_find(struct sim *s, const char *id)
{
	size_t i;

	if (s->slots_cap == 0)
		return NULL;
	i = index_slot(s, id);
	return s->slots[i] != 0 ? &s->orders[s->slots[i] - 1] : NULL;
}

/* Doubles the hash table (kept at most half full) and refills it; 0 or
 * -1 (memory). */
static int
index_grow(struct sim *s)
{
	size_t cap = s->slots_cap ? s->slots_cap * 2 : 2048, i;
	size_t *old = s->slots;

	if ((s->slots = calloc(cap, sizeof(*s->slots))) == NULL) {
		s->slots = old;
		return -1;
	}
	free(old);
	s->slots_cap = cap;
	for (i = 0; i < s->norders; i++)
		s->slots[index_slot(s, s->orders[i].id)] = i + 1;
	return 0;
}

/* Points order id at the record [off, off + len); 0 or -1 (memory). */
static int
index_set(struct sim *s, const char *id, off_t off, size_t len)
{
	struct sim_order_ref *r, *nv;
	size_t cap;

	if ((r = index_find(s, id)) == NULL) {
		if (s->norders == s->orders_cap) {
			cap = s->orders_cap ? s->orders_cap * 2 : 1024;
			if ((nv = realloc(s->orders, cap * sizeof(*nv))) ==
			    NULL)
				return -1;
			s->orders = nv;
			s->orders_cap = cap;
		}
		if ((s->norders + 1) * 2 > s->slots_cap && index_grow(s) == -1)
			return -1;
		r = &s->orders[s->norders];
		snprintf(r->id, sizeof(r->id), "%s", id);
		s->slots[index_slot(s, id)] = ++s->norders;
	}
	r->off = off;
	r->len = len;
	return 0;
}

/* Adds "key=value\n", with any line break in value made a space so that
 * a value cannot forge a line of its own; 0 or -1. */
static int
rec_field(struct buf *b, const char *key, const char *value)
{
	size_t start = b->len, i;

	if (buf_printf(b, "%s=%s\n", key, value) == -1)
		return -1;
	for (i = start + strlen(key) + 1; i + 1 < b->len; i++)
		if (b->data[i] == '\n' || b->data[i] == '\r')
			b->data[i] = ' ';
	return 0;
}

/* Adds "cert=" and the leaf's DER in base64 on one line; 0 or -1. */
static int
rec_cert(struct buf *b, X509 *leaf)
{
	unsigned char *der = NULL;
	char *b64 = NULL;
	int n, rc = -1;

	if ((n = i2d_X509(leaf, &der)) <= 0 ||
	    (b64 = malloc((size_t)n / 3 * 4 + 8)) == NULL)
		goto out;
	EVP_EncodeBlock((unsigned char *)b64, der, n);
	rc = buf_printf(b, "cert=%s\n", b64);
out:
	free(b64);
	OPENSSL_free(der);
	return rc;
}

/* Appends b (whole records) to the journal with one write(), not synced
 * (sim_journal_sync()); call with s->mu held. 0 with *at set to where b
 * begins, or -1 with err set and the journal as it was. */
static int
journal_write(struct sim *s, const struct buf *b, off_t *at, struct gw_err *err)
{
	ssize_t w;
	int e;

	if ((*at = lseek(s->journal_fd, 0, SEEK_END)) == -1) {
		gw_err_set(err, errno, JOURNAL ": %s", strerror(errno));
		return -1;
	}
	if ((w = write(s->journal_fd, b->data, b->len)) == (ssize_t)b->len)
		return 0;
	e = w == -1 ? errno : ENOSPC;
	gw_err_set(err, e, JOURNAL ": %s", strerror(e));
	/* A torn record must not glue itself to the next one. */
	if (ftruncate(s->journal_fd, *at) == -1)
		fprintf(stderr, "epki-sim: " JOURNAL ": %s\n", strerror(errno));
	return -1;
}

/*
 * Makes what was appended so far durable (fdatasync; nothing with
 * --no-fsync). Called after the lock is released, so that orders append
 * while another's sync is under way and one sync may cover several:
 * under the lock the disk serialised every order. 0, or -1 with err set
 * (the records stay; whether they reached the disk is unknown).
 */
int
sim_journal_sync(struct sim *s, struct gw_err *err)
{
	if (s->no_fsync || fdatasync(s->journal_fd) == 0)
		return 0;
	gw_err_set(err, errno, JOURNAL ": %s", strerror(errno));
	return -1;
}

/* Adds a state record (the counts of sim_state_lines()) to b; 0 or -1. */
static int
rec_state(const struct sim *s, struct buf *b)
{
	if (buf_addstr(b, "state\n") == -1 || sim_state_lines(s, b) == -1)
		return -1;
	return buf_addstr(b, "\n");
}

/* Records the counts as a state record in the journal, not synced;
 * call with s->mu held. 0, or -1 with err set. */
int
sim_state_save(struct sim *s, struct gw_err *err)
{
	struct buf b;
	off_t at;
	int rc = -1;

	buf_init(&b, ORDER_FILE_MAX);
	if (rec_state(s, &b) == -1)
		gw_err_set(err, ENOMEM, "state: out of memory");
	else
		rc = journal_write(s, &b, &at, err);
	buf_cleanup(&b);
	return rc;
}

/*
 * Records order id's state (revoke_date may be NULL) as a new journal
 * record, followed in the same write by a state record with the counts
 * when with_state is set (a new order: one write); call with s->mu held,
 * then sim_journal_sync() without it. 0, or -1 with err set.
 */
int
sim_order_save(struct sim *s, const char *id, const char *status,
    const char *request_date, const char *profile, const char *product,
    const char *licence, const char *revoke_date, X509 *leaf, int with_state,
    struct gw_err *err)
{
	struct buf b;
	size_t len;
	off_t at;
	int rc = -1;

	if (!sim_order_id_ok(id)) {
		gw_err_set(err, EINVAL, "%s: not an order number", id);
		return -1;
	}
	buf_init(&b, ORDER_FILE_MAX);
	if (rec_field(&b, "order", id) == -1 ||
	    rec_field(&b, "status", status) == -1 ||
	    rec_field(&b, "request_date", request_date) == -1 ||
	    rec_field(&b, "profile", profile) == -1 ||
	    rec_field(&b, "product", product) == -1 ||
	    (licence != NULL && rec_field(&b, "licence", licence) == -1) ||
	    (revoke_date != NULL &&
		rec_field(&b, "revoke_date", revoke_date) == -1) ||
	    rec_cert(&b, leaf) == -1 || buf_addstr(&b, "\n") == -1)
		goto nomem;
	len = b.len; /* the order's record; a state record may follow */
	if (with_state && rec_state(s, &b) == -1)
		goto nomem;
	if (journal_write(s, &b, &at, err) == -1)
		goto out;
	if (index_set(s, id, at, len) == -1) {
		gw_err_set(err, ENOMEM, "order %s: out of memory", id);
		goto out;
	}
	rc = 0;
	goto out;
nomem:
	gw_err_set(err, ENOMEM, "order %s: cannot store", id);
out:
	buf_cleanup(&b);
	return rc;
}

/* Decodes a record's one-line base64 certificate; NULL if it is not one. */
static X509 *
rec_leaf(const char *b64)
{
	size_t n = strlen(b64), pad = 0;
	const unsigned char *p;
	unsigned char *der;
	X509 *x = NULL;
	int len;

	if (n == 0 || n % 4 != 0 || (der = malloc(n / 4 * 3)) == NULL)
		return NULL;
	if ((len = EVP_DecodeBlock(der, (const unsigned char *)b64, (int)n)) >
	    0) {
		pad = (size_t)(b64[n - 1] == '=') + (size_t)(b64[n - 2] == '=');
		p = der;
		x = d2i_X509(NULL, &p, len - (int)pad);
	}
	free(der);
	return x;
}

/* Splits the key=value lines of a record in place. */
static void
stored_parse(char *rec, struct sim_stored *st)
{
	char *line, *next, *v;

	for (line = rec; line != NULL && *line != '\0'; line = next) {
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
		else if (strcmp(line, "licence") == 0)
			st->licence = v;
		else if (strcmp(line, "revoke_date") == 0)
			st->revoke_date = v;
		else if (strcmp(line, "cert") == 0 && st->leaf == NULL)
			st->leaf = rec_leaf(v);
	}
}

/*
 * Loads order id's last record into st (release with
 * sim_stored_cleanup() either way); -1 if there is no such order. Takes
 * s->mu for the read unless the caller holds it (locked != 0).
 */
static int
stored_load(struct sim *s, const char *id, struct sim_stored *st, int locked)
{
	const struct sim_order_ref *r;
	unsigned char *rec = NULL;
	ssize_t got = -1;
	size_t len = 0;

	memset(st, 0, sizeof(*st));
	buf_init(&st->raw, ORDER_FILE_MAX);
	if (!locked)
		pthread_mutex_lock(&s->mu);
	if ((r = index_find(s, id)) != NULL && r->len <= ORDER_FILE_MAX &&
	    (rec = malloc(r->len)) != NULL) {
		len = r->len;
		got = pread(s->journal_fd, rec, len, r->off);
	}
	if (!locked)
		pthread_mutex_unlock(&s->mu);
	if (rec == NULL || got != (ssize_t)len ||
	    buf_add(&st->raw, rec, len) == -1) {
		free(rec);
		return -1;
	}
	free(rec);
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

/* Sorts order names (qsort). */
static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Frees a list of names. */
void
sim_order_names_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The sorted names of every stored order; -1 when out of memory. */
int
sim_order_names(struct sim *s, char ***out, size_t *n)
{
	char **v;
	size_t i;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&s->mu);
	if ((v = calloc(s->norders + 1, sizeof(*v))) == NULL) {
		pthread_mutex_unlock(&s->mu);
		return -1;
	}
	for (i = 0; i < s->norders; i++)
		if ((v[i] = gw_strdup(s->orders[i].id)) == NULL)
			break;
	pthread_mutex_unlock(&s->mu);
	if (i < s->norders) {
		sim_order_names_free(v, i);
		return -1;
	}
	qsort(v, i, sizeof(*v), name_cmp);
	*out = v;
	*n = i;
	return 0;
}

/*
 * Reads the journal line by line from f: indexes its order records and
 * applies its state records (the counts) in order, so the last one wins;
 * sets *good to the length of the part whole records fill, so that a
 * torn last record (a crash mid-append: no blank line yet) can be cut
 * off. 0, or -1 with err set.
 */
static int
journal_index(struct sim *s, FILE *f, off_t *good, struct gw_err *err)
{
	char *line = NULL, id[48] = "";
	struct buf st;
	bool is_state = false;
	size_t cap = 0;
	off_t at = 0, start = 0;
	ssize_t n;
	int rc = 0;

	*good = 0;
	buf_init(&st, ORDER_FILE_MAX);
	while ((n = getline(&line, &cap, f)) > 0) {
		if (at == start) { /* the first line of a record */
			is_state = strcmp(line, "state\n") == 0;
			buf_reset(&st);
			snprintf(id, sizeof(id), "%s",
			    strncmp(line, "order=", 6) == 0 ? line + 6 : "");
		} else if (is_state && n > 1 &&
		    buf_add(&st, line, (size_t)n) == -1)
			is_state = false; /* not a state record we know */
		at += n;
		if (n != 1 || line[0] != '\n')
			continue;
		id[strcspn(id, "\n")] = '\0';
		if (is_state)
			sim_state_parse(s, (char *)st.data);
		else if (sim_order_id_ok(id) &&
		    index_set(s, id, start, (size_t)(at - start)) == -1) {
			gw_err_set(err, ENOMEM, JOURNAL ": out of memory");
			rc = -1;
			break;
		}
		start = *good = at;
	}
	if (rc == 0 && ferror(f)) {
		gw_err_set(err, EIO, JOURNAL ": read error");
		rc = -1;
	}
	buf_cleanup(&st);
	free(line);
	return rc;
}

/*
 * Imports DIR/orders/<id> files, the store of earlier versions (key=value
 * lines, a blank line, the leaf PEM), into an empty journal, so that a
 * directory made before keeps its orders. The files stay; once the
 * journal has records they are ignored. 0, or -1 with err set.
 */
static int
journal_import(struct sim *s, struct gw_err *err)
{
	char path[PATH_MAX], name[96], *sep, **v = NULL, **nv;
	struct sim_stored st;
	struct gw_err ferr;
	struct dirent *d;
	size_t n = 0, cap = 0, i;
	DIR *dir;
	BIO *bio;
	int rc = 0;

	if (sim_path(s, path, sizeof(path), "orders") == -1 ||
	    (dir = opendir(path)) == NULL)
		return 0;
	while (rc == 0 && (d = readdir(dir)) != NULL) {
		if (!sim_order_id_ok(d->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				rc = -1;
				break;
			}
			v = nv;
		}
		if ((v[n] = gw_strdup(d->d_name)) == NULL)
			rc = -1;
		else
			n++;
	}
	closedir(dir);
	if (rc == -1)
		gw_err_set(err, ENOMEM, "orders/: out of memory");
	if (n > 0)
		qsort(v, n, sizeof(*v), name_cmp);
	for (i = 0; rc == 0 && i < n; i++) {
		memset(&st, 0, sizeof(st));
		snprintf(name, sizeof(name), "orders/%s", v[i]);
		if (sim_path(s, path, sizeof(path), name) == -1 ||
		    gw_file_read(path, ORDER_FILE_MAX, &st.raw, &ferr) == -1 ||
		    (sep = strstr((char *)st.raw.data, "\n\n")) == NULL) {
			fprintf(stderr, "epki-sim: %s: not an order, skipped\n",
			    path);
			sim_stored_cleanup(&st);
			continue;
		}
		sep[1] = '\0';
		if ((bio = BIO_new_mem_buf(sep + 2, -1)) != NULL)
			st.leaf = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		BIO_free(bio);
		stored_parse((char *)st.raw.data, &st);
		if (st.leaf != NULL)
			rc = sim_order_save(s, v[i],
			    st.status != NULL ? st.status : "4",
			    st.request_date != NULL ? st.request_date : "",
			    st.profile != NULL ? st.profile : "",
			    st.product != NULL ? st.product : "", NULL,
			    st.revoke_date, st.leaf, 0, err);
		sim_stored_cleanup(&st);
	}
	if (rc == 0 && n > 0)
		rc = sim_journal_sync(s, err);
	if (rc == 0 && n > 0)
		fprintf(stderr,
		    "epki-sim: imported %zu orders from orders/ "
		    "into " JOURNAL "\n",
		    s->norders);
	sim_order_names_free(v, n);
	return rc;
}

/*
 * Opens DIR/orders.log (creating it), indexes its records, cuts off a torn
 * last record, and imports an older orders/ directory into a new journal.
 * 0, or -1 with err set.
 */
int
sim_orders_open(struct sim *s, struct gw_err *err)
{
	char path[PATH_MAX];
	off_t good, size;
	FILE *f;
	int dfd, rc;

	s->journal_fd = -1;
	if (sim_path(s, path, sizeof(path), JOURNAL) == -1) {
		gw_err_set(err, ENAMETOOLONG, "%s: path too long", s->dir);
		return -1;
	}
	if ((s->journal_fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC,
		 0644)) == -1) {
		gw_err_set(err, errno, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* The journal's own name must survive a crash too. */
	if (!s->no_fsync && (dfd = open(s->dir, O_RDONLY | O_DIRECTORY)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	if ((f = fopen(path, "r")) == NULL) {
		gw_err_set(err, errno, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = journal_index(s, f, &good, err);
	fclose(f);
	if (rc == -1 || (size = lseek(s->journal_fd, 0, SEEK_END)) == -1)
		return -1;
	if (good < size) {
		fprintf(stderr,
		    "epki-sim: %s: cut off a torn last record (%lld bytes)\n",
		    path, (long long)(size - good));
		if (ftruncate(s->journal_fd, good) == -1) {
			gw_err_set(err, errno, "%s: %s", path, strerror(errno));
			return -1;
		}
	}
	return s->norders == 0 ? journal_import(s, err) : 0;
}

/* Closes the journal and frees the index. */
void
sim_orders_close(struct sim *s)
{
	if (s->journal_fd >= 0)
		close(s->journal_fd);
	s->journal_fd = -1;
	free(s->orders);
	free(s->slots);
	s->orders = NULL;
	s->slots = NULL;
	s->norders = s->orders_cap = s->slots_cap = 0;
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
	/* SerialNumber in the configured format (serial_format). */
	if (sim_serial_text(s->conf.serial_fmt, X509_get0_serialNumber(leaf),
		li->serial, sizeof(li->serial)) == -1)
		return -1;
	time_text(X509_get0_notBefore(leaf), li->nb, sizeof(li->nb));
	time_text(X509_get0_notAfter(leaf), li->na, sizeof(li->na));
	name_text(X509_get_subject_name(leaf), NID_commonName, li->cn,
	    (int)sizeof(li->cn));
	name_text(X509_get_subject_name(leaf), NID_pkcs9_emailAddress,
	    li->email, (int)sizeof(li->email));
	if (sim_cert_text(s, leaf, sim_cert_format_get(s), &li->pem) == -1 ||
	    sim_pki_p7_pem(s, leaf, &li->p7) == -1)
		return -1;
	return 0;
}

/* Points info at what st and li hold for order id (GetOrderByOrderId). */
void
sim_order_info_set(struct epki_order_info *info, const char *id,
    const struct sim_stored *st, const struct sim_leaf_info *li)
{
	*info = (struct epki_order_info) { .order_id = id,
		.order_status = st->status,
		.product_code = st->product,
		.profile_id = st->profile,
		.license_no = st->licence,
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
