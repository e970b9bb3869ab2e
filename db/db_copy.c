/*
 * Moving an instance from SQLite to PostgreSQL (`scepgw db migrate`,
 * README "PostgreSQL"): the tables that make an instance, described once
 * for both backends; db_copy(), which streams the source's rows (its
 * backend's copy_out) into the target (its copy_in: one transaction),
 * and the check both sides share: per table the number of rows and an
 * order-free sum of each row's SHA-256, which must agree before the
 * target commits. Incarnations (nodes) are not copied: they are the old
 * server's, and a transaction's owner and taken_at go with them (NULL:
 * the new gateways' reconcilers take the ORDERING rows over at once,
 * db/README.md "Leases"). Everything else is copied as it is, the CSR of an
 * open order and its OrderID included, so that the order is looked up, not
 * placed again.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "gw_err.h"
#include "db.h"
#include "db_int.h"

#define I DB_COL_INT
#define B DB_COL_BOOL
#define T DB_COL_TEXT
#define X DB_COL_BLOB

/*
 * SQLite schema 10 (db_sq_open.c) and PostgreSQL schema 1
 * (db_pg_schema.c), in the order the foreign keys need: a transaction
 * names its challenge, a certificate its transaction. A migration that
 * adds a column to either side must add it here (db_copy() refuses other
 * versions).
 */
#define DB_COPY_SQ_SCHEMA 10
#define DB_COPY_PG_SCHEMA 1
static const struct db_copy_table db_copy_tables[DB_COPY_TABLES] = {
	{ "challenges", "id", true, 12,
	    { { "id", I }, { "hash", X }, { "created", I }, { "expires", I },
		{ "used", I }, { "revoked", B }, { "cn", T }, { "email", T },
		{ "ou", T }, { "txid", T }, { "profile", T }, { "upn", T } } },
	{ "transactions", "id", true, 22,
	    { { "id", I }, { "txid", T }, { "csr_sha256", X }, { "state", I },
		{ "created", I }, { "updated", I }, { "challenge_id", I },
		{ "cn", T }, { "email", T }, { "ou", T }, { "csr_pem", T },
		{ "order_id", T }, { "cert_der", X }, { "fail_info", I },
		{ "fail_text", T }, { "profile", T }, { "key_sha256", X },
		{ "renews", T }, { "upn", T }, { "licence_pool", T },
		{ "epki_code", I }, { "epki_message", T } } },
	{ "certificates", "serial_hex", false, 9,
	    { { "serial_hex", T }, { "order_id", T }, { "txid", T },
		{ "subject", T }, { "cert_der", X }, { "issued", I },
		{ "not_after", I }, { "revoked", I },
		{ "revoke_reason", T } } },
	{ "users", "name", false, 10,
	    { { "name", T }, { "kdf", T }, { "kdf_n", I }, { "kdf_r", I },
		{ "kdf_p", I }, { "salt", X }, { "hash", X },
		{ "can_issue", B }, { "created", I }, { "profiles", T } } },
	{ "licence_counts", "pool", false, 2,
	    { { "pool", T }, { "used", I } } },
};

#undef I
#undef B
#undef T
#undef X

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
	if (db_copy_sum_add(c->src_sum, &db_copy_tables[s->idx], v) != 0) {
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

	if (t < db_copy_tables || t >= db_copy_tables + DB_COPY_TABLES) {
		gw_err_set(err, DB_ERR_ARG, "copy: unknown table");
		return -1;
	}
	s->idx = (size_t)(t - db_copy_tables);
	s->fn = fn;
	s->fnarg = fnarg;
	return s->src->be->copy_out(s->src, t, copy_src_row, s, err);
}

/*
 * Copies the instance in src (SQLite, opened with db_open_readonly()
 * and holding its serve lock) into dst (PostgreSQL, opened with
 * db_open_url(), so at this program's schema), which must hold no
 * instance data. One transaction on dst: it commits only once every
 * table's rows and sum read back from dst equal the source's, so a
 * failure at any point leaves dst as it was; src is only read. Fills
 * counts (one per table, in copy order). Returns 0, or -1 with err set
 * (DB_ERR_EXISTS: dst holds data already; DB_ERR_SCHEMA: a schema this
 * copy does not know).
 */
int
db_copy(struct db *src, struct db *dst,
    struct db_copy_count counts[DB_COPY_TABLES], struct gw_err *err)
{
	struct copy_src s;
	size_t i;
	int v, rc;

	memset(counts, 0, sizeof(*counts) * DB_COPY_TABLES);
	for (i = 0; i < DB_COPY_TABLES; i++)
		counts[i].table = db_copy_tables[i].name;
	if (src->be->copy_out == NULL || src->be->copy_snapshot == NULL ||
	    dst->be->copy_in == NULL) {
		gw_err_set(err, DB_ERR_ARG,
		    "copy: from %s to %s is not supported (SQLite to "
		    "PostgreSQL only)",
		    src->be->name, dst->be->name);
		return -1;
	}
	if ((v = db_schema_version(src)) != DB_COPY_SQ_SCHEMA) {
		gw_err_set(err, DB_ERR_SCHEMA,
		    "copy: source schema version %d; this copy knows %d", v,
		    DB_COPY_SQ_SCHEMA);
		return -1;
	}
	if ((v = db_schema_version(dst)) != DB_COPY_PG_SCHEMA) {
		gw_err_set(err, DB_ERR_SCHEMA,
		    "copy: target schema version %d; this copy knows %d", v,
		    DB_COPY_PG_SCHEMA);
		return -1;
	}
	memset(&s, 0, sizeof(s));
	s.src = src;
	s.counts = counts;
	if (src->be->copy_snapshot(src, true, err) != 0)
		return -1;
	rc = dst->be->copy_in(dst, db_copy_tables, DB_COPY_TABLES,
	    copy_src_table, &s, counts, err);
	src->be->copy_snapshot(src, false, NULL);
	return rc;
}
