/*
 * Moving an instance from SQLite to PostgreSQL (`scepgw db migrate`,
 * README "PostgreSQL"): the tables that make an instance; db_copy(),
 * which streams the source's rows (its backend's copy_out) into the
 * target (its copy_in: one transaction); and the check both sides share:
 * per table the number of rows and an order-free sum of each row's
 * SHA-256, which must agree before the target commits. Incarnations
 * (nodes) are not copied: they are the old server's, and a transaction's
 * owner and taken_at go with them (NULL: the new gateways' reconcilers
 * take the ORDERING rows over at once, db/README.md "Leases"). All else
 * is copied as it is, the CSR of an open order and its OrderID included,
 * so that the order is looked up, not placed again.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "gw_err.h"
#include "db.h"
#include "db_int.h"

/* transactions.owner and taken_at name an incarnation of the old server. */
static const char *const db_copy_txn_skip[] = { "owner", "taken_at", NULL };

/*
 * The tables of an instance, in the order the foreign keys need (a
 * transaction names its challenge, a certificate its transaction); their
 * columns come from the schemas (struct db_copy_table). A table of the
 * source in neither list stops the copy: a migration that adds one must
 * say here whether it is instance data.
 */
static const struct db_copy_table db_copy_tables[DB_COPY_TABLES] = {
	{ "challenges", "id", true, NULL, 0, { { "", 0 } } },
	{ "transactions", "id", true, db_copy_txn_skip, 0, { { "", 0 } } },
	{ "certificates", "serial_hex", false, NULL, 0, { { "", 0 } } },
	{ "users", "name", false, NULL, 0, { { "", 0 } } },
	{ "licence_counts", "pool", false, NULL, 0, { { "", 0 } } },
	{ "txn_events", "id", true, NULL, 0, { { "", 0 } } },
};
static const char *const db_copy_ignored[] = { "nodes", NULL };

/* Appends a big-endian 64-bit number to the hash. */
static void
sum_u64(EVP_MD_CTX *h, uint64_t v)
{
	uint8_t b[8];
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)(v & 0xff);
	EVP_DigestUpdate(h, b, sizeof(b));
}

/*
 * Adds row v of t to sum: the SHA-256 of its values (each tagged NULL,
 * number or bytes, lengths given, so no two rows encode alike) added to
 * sum as four 64-bit lanes. Addition does not depend on the order the
 * rows come in, which differs between engines for text keys. Returns 0,
 * or -1 when OpenSSL fails (out of memory).
 */
int
db_copy_sum_add(uint8_t sum[32], const struct db_copy_table *t,
    const struct db_copy_val *v)
{
	uint8_t md[EVP_MAX_MD_SIZE], tag;
	EVP_MD_CTX *h;
	uint64_t a, b;
	size_t i, k;
	unsigned mdlen = 0;

	if ((h = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(h, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(h);
		return -1;
	}
	for (i = 0; i < t->ncols; i++) {
		tag = v[i].null ? 0 :
		    t->cols[i].type == DB_COL_INT ||
			t->cols[i].type == DB_COL_BOOL ?
				  1 :
				  2;
		EVP_DigestUpdate(h, &tag, 1);
		if (tag == 1)
			sum_u64(h, (uint64_t)v[i].i);
		else if (tag == 2) {
			sum_u64(h, (uint64_t)v[i].len);
			if (v[i].len > 0)
				EVP_DigestUpdate(h, v[i].p, v[i].len);
		}
	}
	k = EVP_DigestFinal_ex(h, md, &mdlen) == 1 && mdlen == 32;
	EVP_MD_CTX_free(h);
	if (!k)
		return -1;
	for (i = 0; i < 32; i += 8) {
		for (a = b = 0, k = 0; k < 8; k++) {
			a = a << 8 | sum[i + k];
			b = b << 8 | md[i + k];
		}
		a += b;
		for (k = 8; k-- > 0; a >>= 8)
			sum[i + k] = (uint8_t)(a & 0xff);
	}
	return 0;
}

/*
 * Whether the target holds what the source had: per table the same
 * number of rows and the same sum. Returns 0, or -1 with err naming the
 * first table that differs.
 */
int
db_copy_verify(const struct db_copy_count *counts, size_t n, struct gw_err *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (counts[i].src_rows != counts[i].dst_rows ||
		    memcmp(counts[i].src_sum, counts[i].dst_sum, 32) != 0) {
			gw_err_set(err, DB_ERR_SQL,
			    "%s: %lld rows read from the source, %lld in the "
			    "target%s; nothing was committed",
			    counts[i].table, (long long)counts[i].src_rows,
			    (long long)counts[i].dst_rows,
			    counts[i].src_rows == counts[i].dst_rows ?
				" with other contents" :
				"");
			return -1;
		}
	}
	return 0;
}

/* The source's rows of one table, summed on their way to the target. */
struct copy_src {
	struct db *src;
	const struct db_copy_table *tabs; /* db_copy()'s, described */
	struct db_copy_count *counts;
	size_t idx; /* the table being copied */
	db_copy_row_fn *fn;
	void *fnarg;
};

static int
copy_src_row(void *arg, const struct db_copy_val *v, struct gw_err *err)
{
	struct copy_src *s = arg;
	struct db_copy_count *c = &s->counts[s->idx];

	c->src_rows++;
	if (db_copy_sum_add(c->src_sum, &s->tabs[s->idx], v) != 0) {
		gw_err_set(err, DB_ERR_SQL, "%s: SHA-256 failed", c->table);
		return -1;
	}
	return s->fn(s->fnarg, v, err);
}

static int
copy_src_table(void *arg, const struct db_copy_table *t, db_copy_row_fn *fn,
    void *fnarg, struct gw_err *err)
{
	struct copy_src *s = arg;

	if (t < s->tabs || t >= s->tabs + DB_COPY_TABLES) {
		gw_err_set(err, DB_ERR_ARG, "copy: unknown table");
		return -1;
	}
	s->idx = (size_t)(t - s->tabs);
	s->fn = fn;
	s->fnarg = fnarg;
	return s->src->be->copy_out(s->src, t, copy_src_row, s, err);
}

/*
 * Copies the instance in src (SQLite, opened with db_open_readonly() and
 * holding its serve lock) into dst (PostgreSQL, opened with
 * db_open_url(), so at this program's schema), which must hold no
 * instance data. One transaction on dst: it commits only once every
 * table's rows and sum read back from dst equal the source's, so a
 * failure at any point leaves dst as it was; src is only read. Fills
 * counts (one per table, in copy order). Returns 0, or -1 with err set
 * (DB_ERR_EXISTS: dst holds data already; DB_ERR_SCHEMA: a table or
 * column of the source the copy or the target does not know).
 */
int
db_copy(struct db *src, struct db *dst,
    struct db_copy_count counts[DB_COPY_TABLES], struct gw_err *err)
{
	struct db_copy_table tabs[DB_COPY_TABLES];
	struct copy_src s;
	size_t i;
	int rc;

	memset(counts, 0, sizeof(*counts) * DB_COPY_TABLES);
	memcpy(tabs, db_copy_tables, sizeof(tabs));
	for (i = 0; i < DB_COPY_TABLES; i++)
		counts[i].table = tabs[i].name;
	if (src->be->copy_describe == NULL || src->be->copy_out == NULL ||
	    src->be->copy_snapshot == NULL || dst->be->copy_in == NULL) {
		gw_err_set(err, DB_ERR_ARG,
		    "copy: from %s to %s is not supported (SQLite to "
		    "PostgreSQL only)",
		    src->be->name, dst->be->name);
		return -1;
	}
	memset(&s, 0, sizeof(s));
	s.src = src;
	s.tabs = tabs;
	s.counts = counts;
	if (src->be->copy_snapshot(src, true, err) != 0)
		return -1;
	rc = src->be->copy_describe(src, tabs, DB_COPY_TABLES, db_copy_ignored,
	    err);
	if (rc == 0)
		rc = dst->be->copy_in(dst, tabs, DB_COPY_TABLES, copy_src_table,
		    &s, counts, err);
	src->be->copy_snapshot(src, false, NULL);
	return rc;
}
