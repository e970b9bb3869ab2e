/*
 * The SQL of db_cert_search() (db.h), one text for both backends: only
 * the clauses a search needs, so that each search reads through one
 * index (README "Admin web console"): the serial through the primary
 * key, a CN or an e-mail address through transactions_cn or
 * transactions_email then certificates_txid, a state or no filter
 * newest first through certificates_issued (revoked ones through the
 * partial index certificates_revoked), and a next page from the last
 * row shown (keyset), not by skipping rows.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "db_int.h"

struct cq_sql {
	char *s;
	size_t n, len;
	bool full;
	char mark;
	enum db_cq_arg *args;
	int nargs;
};

/* Appends text, each '@' in it a new parameter taking arg. */
static void
cq_add(struct cq_sql *q, const char *text, enum db_cq_arg arg)
{
	int w;

	for (; *text != '\0' && !q->full; text++) {
		if (*text == '@') {
			q->args[q->nargs++] = arg;
			w = snprintf(q->s + q->len, q->n - q->len, "%c%d",
			    q->mark, q->nargs);
		} else
			w = snprintf(q->s + q->len, q->n - q->len, "%c", *text);
		if (w < 0 || (size_t)w >= q->n - q->len)
			q->full = true;
		else
			q->len += (size_t)w;
	}
}

int
db_cert_search_sql(const struct db_cert_query *q, char mark, char *sql,
    size_t n, enum db_cq_arg args[DB_CQ__MAX], int *nargs)
{
	struct cq_sql b = { sql, n, 0, false, mark, args, 0 };

	if (n == 0)
		return -1;
	sql[0] = '\0';
	cq_add(&b,
	    "SELECT c.serial_hex, c.order_id, c.txid, c.subject, c.issued, "
	    "c.not_after, c.revoked, c.revoke_reason, t.cn, t.email "
	    "FROM certificates c LEFT JOIN transactions t ON t.txid = c.txid "
	    "WHERE 1 = 1",
	    DB_CQ__MAX);
	if (q->serial_hex != NULL)
		cq_add(&b, " AND c.serial_hex = @", DB_CQ_SERIAL);
	if (q->cn != NULL)
		cq_add(&b, " AND t.cn = @", DB_CQ_CN);
	if (q->email != NULL)
		cq_add(&b, " AND t.email = @", DB_CQ_EMAIL);
	/* The literal "c.revoked <> 0" is what lets SQLite choose the
	 * partial index certificates_revoked. */
	if (q->state == DB_CERT_REVOKED)
		cq_add(&b, " AND c.revoked <> 0", DB_CQ__MAX);
	else if (q->state == DB_CERT_VALID)
		cq_add(&b, " AND c.revoked = 0 AND c.not_after > @", DB_CQ_NOW);
	else if (q->state == DB_CERT_EXPIRED)
		cq_add(&b, " AND c.revoked = 0 AND c.not_after <= @",
		    DB_CQ_NOW);
	if (q->after_serial != NULL) {
		/* A row value: both backends read it as a range of the
		 * index on (issued, serial_hex). */
		cq_add(&b, " AND (c.issued, c.serial_hex) < (@",
		    DB_CQ_AFTER_ISSUED);
		cq_add(&b, ", @)", DB_CQ_AFTER_SERIAL);
	}
	cq_add(&b, " ORDER BY c.issued DESC, c.serial_hex DESC LIMIT @",
	    DB_CQ_LIMIT);
	*nargs = b.nargs;
	return b.full ? -1 : 0;
}
