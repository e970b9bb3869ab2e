/*
 * epki-sim's query and modify operations: GetOrders over the order
 * journal, Revoke (with the lower-case response header) and GetProfiles
 * for the one configured profile.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "buf.h"
#include "gw_err.h"
#include "secure.h"
#include "sim.h"

/* Ceiling on the orders one GetOrders answer carries. */
#define QUERY_MAX 1000

/* Dates of the simulated profile (its vetting history is made up). */
#define PROFILE_REQUESTED "2020-01-06T09:00:00.000Z"
#define PROFILE_ISSUED "2020-01-08T09:00:00.000Z"
#define PROFILE_SUSPENDED "2026-01-01T00:00:00.000Z"

/* A parsed date range; from/to 0 when open. */
struct range {
	time_t from, to;
};

/* Parses a From/To pair of filters; -1 with e set on a bad format. */
static int
range_parse(const char *from, const char *to, const char *field_from,
    const char *field_to, struct range *r, struct epki_error *e)
{
	char field[64];

	r->from = r->to = 0;
	/* ErrorField: the dotted path of the nested field. */
	if (from != NULL && sim_date_parse(from, 0, &r->from) == -1) {
		snprintf(field, sizeof(field), "OrderQueryParam.%s",
		    field_from);
		return sim_fail(e, -104, field,
		    "The parameter has the wrong format.");
	}
	if (to != NULL && sim_date_parse(to, 1, &r->to) == -1) {
		snprintf(field, sizeof(field), "OrderQueryParam.%s", field_to);
		return sim_fail(e, -104, field,
		    "The parameter has the wrong format.");
	}
	return 0;
}

/* True (1) if date lies in r (an unreadable date never does). */
static int
range_has(const struct range *r, const char *date)
{
	time_t t;

	if (r->from == 0 && r->to == 0)
		return 1;
	if (date == NULL || sim_date_parse(date, 0, &t) == -1)
		return 0;
	return (r->from == 0 || t >= r->from) && (r->to == 0 || t <= r->to);
}

/* True (1) if want is NULL or equals have. */
static int
eq_or_any(const char *want, const char *have)
{
	return want == NULL || (have != NULL && strcmp(want, have) == 0);
}

/* One GetOrders answer under construction. */
struct found {
	struct sim_stored *st;
	struct sim_leaf_info *li;
	struct epki_order_info *info;
	size_t n;
};

/* True (1) if the loaded order matches every filter of q. */
static int
order_matches(const struct epki_order_query *q, const struct range *req,
    const struct range *iss, const struct sim_stored *st,
    const struct sim_leaf_info *li)
{
	return eq_or_any(q->product_code, st->product) &&
	    eq_or_any(q->profile_id, st->profile) &&
	    eq_or_any(q->license_no, st->licence) &&
	    eq_or_any(q->order_state, st->status) &&
	    eq_or_any(q->cert_state, st->status) && eq_or_any(q->cn, li->cn) &&
	    range_has(req, st->request_date) && range_has(iss, li->nb);
}

/* Loads each stored order and keeps those matching q; forge: fault
 * "foreign" (sim_pki_forge()). */
static void
orders_collect(struct sim *s, const struct epki_order_query *q,
    const struct range *req, const struct range *iss, char **names,
    size_t nnames, bool forge, struct found *f)
{
	struct gw_err err;
	struct sim_stored *st;
	struct sim_leaf_info *li;
	size_t i;

	for (i = 0; i < nnames && f->n < QUERY_MAX; i++) {
		st = &f->st[f->n];
		li = &f->li[f->n];
		sim_leaf_info_init(li);
		if (sim_stored_load(s, names[i], st) == 0 &&
		    (!forge || sim_pki_forge(st->leaf, &err) == 0) &&
		    sim_leaf_info_fill(s, st->leaf, li) == 0 &&
		    order_matches(q, req, iss, st, li)) {
			sim_order_info_set(&f->info[f->n], names[i], st, li);
			f->n++;
			continue;
		}
		sim_stored_cleanup(st);
		sim_leaf_info_cleanup(li);
	}
}

/* Makes room for cap orders; 0 or -1. */
static int
found_alloc(struct found *f, size_t cap)
{
	if ((f->st = calloc(cap, sizeof(*f->st))) == NULL ||
	    (f->li = calloc(cap, sizeof(*f->li))) == NULL ||
	    (f->info = calloc(cap, sizeof(*f->info))) == NULL)
		return -1;
	return 0;
}

/* Frees a GetOrders answer. */
static void
found_free(struct found *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		sim_stored_cleanup(&f->st[i]);
		sim_leaf_info_cleanup(&f->li[i]);
	}
	free(f->st);
	free(f->li);
	free(f->info);
}

/* GetOrders: every stored order matching the filters. */
int
sim_op_get_orders(struct sim *s, const struct sockaddr *peer,
    struct epki_req *rq, int warn, struct buf *out)
{
	struct epki_reply rep = { .op = EPKI_OP_GET_ORDERS,
		.success_code = -1 };
	const struct epki_order_query *q = &rq->query;
	struct found f = { NULL, NULL, NULL, 0 };
	struct range req, iss;
	struct epki_error e;
	char **names = NULL;
	size_t nnames = 0;
	int rc;

	memset(&e, 0, sizeof(e));
	if (sim_check_caller(s, rq, peer, &e) == -1 ||
	    range_parse(q->request_from, q->request_to, "RequestDateFrom",
		"RequestDateTo", &req, &e) == -1 ||
	    range_parse(q->issue_from, q->issue_to, "IssueDateFrom",
		"IssueDateTo", &iss, &e) == -1)
		goto reply;
	if (sim_order_names(s, &names, &nnames) == -1 ||
	    found_alloc(&f, nnames < QUERY_MAX ? nnames + 1 : QUERY_MAX) ==
		-1) {
		sim_fail(&e, -300, NULL, "Database error.");
		goto reply;
	}
	orders_collect(s, q, &req, &iss, names, nnames,
	    (warn & SIM_OP_FOREIGN) != 0, &f);
	rep.success_code = 0;
	rep.infos = f.info;
	rep.ninfos = f.n;
	rep.want_cert_info = q->want_cert_info;
	rep.want_fulfillment = q->want_fulfillment;
reply:
	rc = sim_reply_send(&rep, &e, warn & SIM_OP_WARN, out);
	found_free(&f);
	sim_order_names_free(names, nnames);
	return rc;
}

/* Marks a stored order revoked (status 7) under the lock. */
static int
revoke_store(struct sim *s, const char *id, struct epki_error *e)
{
	struct sim_stored st;
	struct gw_err err;
	char ts[48];
	int rc = -1;

	pthread_mutex_lock(&s->mu);
	if (sim_stored_load_locked(s, id, &st) == -1) {
		sim_fail(e, -9916, "OrderID", "OrderID not found.");
		goto out;
	}
	if (strcmp(st.status, "7") == 0 || strcmp(st.status, "6") == 0) {
		sim_fail(e, -9938, "OrderID",
		    "The certificate's status has already been changed.");
		goto out;
	}
	if (epki_timestamp(ts, sizeof(ts)) == -1 ||
	    sim_order_save(s, id, "7", st.request_date,
		st.profile ? st.profile : "", st.product ? st.product : "",
		st.licence, ts, st.leaf, 0, &err) == -1) {
		sim_fail(e, -300, NULL, "Database error.");
		goto out;
	}
	rc = 0;
out:
	pthread_mutex_unlock(&s->mu);
	if (rc == 0 && sim_journal_sync(s, &err) == -1) {
		sim_fail(e, -300, NULL, "Database error.");
		rc = -1;
	}
	sim_stored_cleanup(&st);
	return rc;
}

/* Revoke: status 7 at once; the reply uses orderNo. */
int
sim_op_revoke(struct sim *s, const struct sockaddr *peer, struct epki_req *rq,
    int warn, struct buf *out)
{
	struct epki_reply rep = { .op = EPKI_OP_REVOKE, .success_code = -1 };
	struct epki_error e;

	memset(&e, 0, sizeof(e));
	if (sim_check_caller(s, rq, peer, &e) == -1)
		goto reply;
	if (rq->order_no == NULL) {
		sim_fail(&e, -102, "OrderID",
		    "A required parameter is missing.");
		goto reply;
	}
	if (revoke_store(s, rq->order_no, &e) == -1)
		goto reply;
	rep.success_code = 0;
	rep.order_id = rq->order_no;
reply:
	return sim_reply_send(&rep, &e, warn, out);
}

/* GetProfiles: the configured profile, in its state. */
int
sim_op_get_profiles(struct sim *s, const struct sockaddr *peer,
    struct epki_req *rq, int warn, struct buf *out)
{
	struct epki_reply rep = { .op = EPKI_OP_GET_PROFILES,
		.success_code = -1 };
	const char *ous[SIM_MAX_PROFILE_OUS];
	struct epki_profile_rec p;
	enum sim_profile_state st;
	struct epki_error e;
	char not_after[32];
	size_t i;

	memset(&e, 0, sizeof(e));
	for (i = 0; i < s->conf.nprofile_ous; i++)
		ous[i] = s->conf.profile_ous[i];
	snprintf(not_after, sizeof(not_after), "%sT23:59:59.000Z",
	    s->conf.profile_not_after);
	if (sim_check_caller(s, rq, peer, &e) == -1)
		goto reply;
	pthread_mutex_lock(&s->mu);
	st = s->profile_state;
	pthread_mutex_unlock(&s->mu);
	p = (struct epki_profile_rec) { .profile_id = s->conf.profile,
		.state_code = s->conf.state_codes[st],
		.request_date = PROFILE_REQUESTED,
		.issue_date = st == SIM_PROFILE_PENDING ? NULL : PROFILE_ISSUED,
		.suspend_date =
		    st == SIM_PROFILE_SUSPENDED ? PROFILE_SUSPENDED : NULL,
		.not_before = st == SIM_PROFILE_PENDING ? NULL : PROFILE_ISSUED,
		.not_after = st == SIM_PROFILE_PENDING ? NULL : not_after,
		.cn = s->conf.org,
		.org = s->conf.org,
		.st = s->conf.state,
		.locality = s->conf.locality,
		.country = s->conf.country,
		.ous = ous,
		.nous = s->conf.nprofile_ous,
		.upn = s->conf.profile_upn };
	rep.success_code = 0;
	if (rq->order_no == NULL ||
	    strcmp(rq->order_no, s->conf.profile) == 0) {
		rep.profiles = &p;
		rep.nprofiles = 1;
	}
reply:
	return sim_reply_send(&rep, &e, warn, out);
}
