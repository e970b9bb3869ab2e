/*
 * The admin API's handlers (README "Admin HTTP API"): challenges (create,
 * list, revoke), enrollments and certificates with filters; the
 * Prometheus /metrics page is metrics.c's. Requests arrive authenticated
 * (admin.c).
 * POST /api/v1/challenges is the only answer that carries a secret.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "admin.h"
#include "admin_int.h"
#include "buf.h"
#include "config.h"
#include "db.h"
#include "enroll.h"
#include "gw.h"
#include "gw_err.h"
#include "log.h"
#include "ratelimit.h"
#include "revoke.h"
#include "template.h"

#define LIST_LIMIT_DEFAULT 1000
#define LIST_LIMIT_MAX 10000
#define POST_COUNT_MAX 1000

static const char *const challenge_state_names[DB_CH__MAX] = {
	[DB_CH_ANY] = "any",
	[DB_CH_UNUSED] = "unused",
	[DB_CH_USED] = "used",
	[DB_CH_EXPIRED] = "expired",
	[DB_CH_REVOKED] = "revoked",
};

static const char *const txn_state_names[] = {
	[0] = "any",
	[DB_TXN_ORDERING] = "ordering",
	[DB_TXN_ISSUED] = "issued",
	[DB_TXN_FAILED] = "failed",
};

#define TXN_STATES_N (sizeof(txn_state_names) / sizeof(txn_state_names[0]))

/* A JSON string of s, or null when s is NULL or not UTF-8. */
static json_t *
jstr(const char *s)
{
	json_t *j = s != NULL ? json_string(s) : NULL;

	return j != NULL ? j : json_null();
}

/* A JSON RFC 3339 UTC time of t, or null when t is 0. */
static json_t *
jtime(int64_t t)
{
	char out[32];
	struct tm tm;
	time_t tt = (time_t)t;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL)
		return json_null();
	strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(out);
}

/* The value of query parameter name, or NULL. */
static const char *
query(struct admin_req *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND,
	    name);
}

/* Reads ?limit= (default LIST_LIMIT_DEFAULT). Returns 0 or -1 (bad). */
static int
query_limit(struct admin_req *rq, size_t *limit)
{
	const char *s = query(rq, "limit");
	char *end;
	long v;

	*limit = LIST_LIMIT_DEFAULT;
	if (s == NULL)
		return 0;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 ||
	    v > LIST_LIMIT_MAX)
		return -1;
	*limit = (size_t)v;
	return 0;
}

/* Looks s up in names[0..n); returns its index or -1. NULL is 0. */
static int
name_index(const char *const *names, size_t n, const char *s)
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; i < n; i++)
		if (names[i] != NULL && strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

/* The state word of a challenge row as of now. */
static const char *
challenge_state_word(const struct db_challenge *c, int64_t now)
{
	if (c->revoked)
		return "revoked";
	if (c->used != 0)
		return "used";
	if (c->expires <= now)
		return "expired";
	return "unused";
}

/* Collects listed rows into a JSON array. */
struct list_acc {
	json_t *arr;
	int64_t now;
	bool nomem;
	const struct gw_config *cfg; /* enrollments: the licence error code */
};

/* Appends item (taken) to the accumulator. */
static int
list_acc_add(struct list_acc *acc, json_t *item)
{
	if (item == NULL || json_array_append_new(acc->arr, item) != 0) {
		acc->nomem = true;
		return 1;
	}
	return 0;
}

static int
challenge_json(void *arg, const struct db_challenge *c)
{
	struct list_acc *acc = arg;

	return list_acc_add(acc,
	    json_pack("{s:I,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id",
		(json_int_t)c->id, "state", challenge_state_word(c, acc->now),
		"created", jtime(c->created), "expires", jtime(c->expires),
		"used", jtime(c->used), "cn", jstr(c->cn), "email",
		jstr(c->email), "ou", jstr(c->ou), "upn", jstr(c->upn), "txid",
		jstr(c->txid)));
}

/*
 * What an admin should do about GlobalSign's refusal of an enrollment:
 * the one licence message for [epki] licence_error_code (README
 * "Licences"), the account advice for the codes it knows, else NULL.
 */
static const char *
txn_advice(const struct list_acc *acc, const struct db_txn *t)
{
	if (t->state != DB_TXN_FAILED || t->epki_code == 0)
		return NULL;
	if (acc->cfg != NULL &&
	    t->epki_code == acc->cfg->epki_licence_error_code)
		return config_licence_advice();
	return config_epki_advice(t->epki_code);
}

static int
txn_json(void *arg, const struct db_txn *t)
{
	struct list_acc *acc = arg;
	const char *state = (size_t)t->state < TXN_STATES_N ?
	    txn_state_names[t->state] :
	    "unknown";
	bool refused = t->state == DB_TXN_FAILED && t->epki_code != 0;

	return list_acc_add(acc,
	    json_pack("{s:o,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
		"txid", jstr(t->txid), "state", state, "cn", jstr(t->cn),
		"email", jstr(t->email), "ou", jstr(t->ou), "upn", jstr(t->upn),
		"order_id", jstr(t->order_id), "created", jtime(t->created),
		"updated", jtime(t->updated), "fail_text",
		t->state == DB_TXN_FAILED ? jstr(t->fail_text) : json_null(),
		"epki_error_code",
		refused ? json_integer(t->epki_code) : json_null(),
		"epki_error", refused ? jstr(t->epki_message) : json_null(),
		"advice", jstr(txn_advice(acc, t))));
}

static int
cert_json(void *arg, const struct db_cert *c)
{
	struct list_acc *acc = arg;

	return list_acc_add(acc,
	    json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:o,s:o}", "serial",
		jstr(c->serial_hex), "subject", jstr(c->subject), "issued",
		jtime(c->issued), "not_after", jtime(c->not_after), "order_id",
		jstr(c->order_id), "txid", jstr(c->txid), "revoked",
		c->revoked != 0, "revoked_at", jtime(c->revoked),
		"revoke_reason", jstr(c->revoke_reason)));
}

/* Sends {key: acc->arr} after a listing; rc is the listing's result. */
static enum MHD_Result
list_reply(struct admin_req *rq, const char *key, struct list_acc *acc, int rc,
    const struct gw_err *err)
{
	if (rc != 0 || acc->nomem) {
		log_ev(LOG_WARNING, "admin", NULL, "admin %s: %s", rq->path,
		    rc != 0 ? err->msg : "out of memory");
		json_decref(acc->arr);
		return admin_reply_error(rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "database unavailable", NULL);
	}
	return admin_reply_json(rq, MHD_HTTP_OK,
	    json_pack("{s:o}", key, acc->arr));
}

/* GET /api/v1/challenges[?state=unused|used|expired|revoked][&limit=N] */
enum MHD_Result
admin_challenges_get(struct admin_req *rq)
{
	struct list_acc acc = { NULL, (int64_t)time(NULL), false, NULL };
	struct gw_err err;
	size_t limit;
	int state, rc;

	state =
	    name_index(challenge_state_names, DB_CH__MAX, query(rq, "state"));
	if (state < 0)
		return admin_reply_error(rq, MHD_HTTP_BAD_REQUEST,
		    "state: expected unused, used, expired or revoked",
		    "state");
	if (query_limit(rq, &limit) != 0)
		return admin_reply_error(rq, MHD_HTTP_BAD_REQUEST,
		    "limit: expected 1..10000", "limit");
	if ((acc.arr = json_array()) == NULL)
		return MHD_NO;
	rc =
	    db_challenge_list_state(rq->ctx->db, (enum db_challenge_state)state,
		acc.now, 0, limit, challenge_json, &acc, &err);
	return list_reply(rq, "challenges", &acc, rc, &err);
}

/* DELETE /api/v1/challenges/ID: revoke. */
enum MHD_Result
admin_challenge_delete(struct admin_req *rq, const char *id)
{
	long long v;

	switch (admin_chal_revoke(rq, id, &v)) {
	case 0:
		break;
	case 1:
		return admin_reply_error(rq, MHD_HTTP_BAD_REQUEST,
		    "id: expected a challenge id", "id");
	case 2:
		return admin_reply_error(rq, MHD_HTTP_NOT_FOUND,
		    "no such challenge", NULL);
	default:
		return admin_reply_error(rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "database unavailable", NULL);
	}
	return admin_reply_json(rq, MHD_HTTP_OK,
	    json_pack("{s:I,s:s}", "id", (json_int_t)v, "state", "revoked"));
}

/* GET /api/v1/enrollments[?state=ordering|issued|failed][&cn=][&limit=] */
enum MHD_Result
admin_enrollments_get(struct admin_req *rq)
{
	struct list_acc acc = { NULL, 0, false, rq->ctx->cfg };
	struct gw_err err;
	size_t limit;
	int state, rc;

	state = name_index(txn_state_names, TXN_STATES_N, query(rq, "state"));
	if (state < 0)
		return admin_reply_error(rq, MHD_HTTP_BAD_REQUEST,
		    "state: expected ordering, issued or failed", "state");
	if (query_limit(rq, &limit) != 0)
		return admin_reply_error(rq, MHD_HTTP_BAD_REQUEST,
		    "limit: expected 1..10000", "limit");
	if ((acc.arr = json_array()) == NULL)
		return MHD_NO;
	rc = db_txn_list(rq->ctx->db, (enum db_txn_state)state, query(rq, "cn"),
	    limit, txn_json, &acc, &err);
	return list_reply(rq, "enrollments", &acc, rc, &err);
}

/* db_event_list() callback: one event of the "events" array. */
static int
event_json(void *arg, const struct db_event *e)
{
	json_t *o = json_pack("{s:I, s:s, s:s?, s:I}", "at", (json_int_t)e->at,
	    "kind", e->kind, "detail", e->detail, "count", (json_int_t)e->n);

	return o == NULL || json_array_append_new(arg, o) != 0 ? -1 : 0;
}

/*
 * GET /api/v1/enrollments/TXID (TXID percent-encoded in the path): the
 * one enrollment, as an entry of the list, with GlobalSign's error and
 * the advice for it, and its history ("events", oldest first, at most
 * 200: db/README.md "History"); 404 when there is none.
 */
enum MHD_Result
admin_enrollment_get(struct admin_req *rq, const char *txid)
{
	struct list_acc acc = { NULL, 0, false, rq->ctx->cfg };
	struct db_txn t;
	struct gw_err err;
	json_t *one, *ev = NULL;
	int rc;

	rc = txid[0] != '\0' ? db_txn_get(rq->ctx->db, txid, &t, &err) : 1;
	if (rc == 1)
		return admin_reply_error(rq, MHD_HTTP_NOT_FOUND,
		    "no such enrollment", NULL);
	if (rc != 0) {
		log_ev(LOG_WARNING, "admin", NULL, "admin %s: %s", rq->path,
		    err.msg);
		return admin_reply_error(rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "database unavailable", NULL);
	}
	if ((acc.arr = json_array()) != NULL)
		(void)txn_json(&acc, &t);
	db_txn_cleanup(&t);
	if (acc.arr == NULL || acc.nomem ||
	    (one = json_array_get(acc.arr, 0)) == NULL) {
		json_decref(acc.arr);
		return admin_reply_error(rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "out of memory", NULL);
	}
	json_incref(one);
	json_decref(acc.arr);
	if ((ev = json_array()) == NULL ||
	    db_event_list(rq->ctx->db, txid, 200, event_json, ev, &err) != 0) {
		json_decref(ev);
		json_decref(one);
		return admin_reply_error(rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "database unavailable", NULL);
	}
	if (json_object_set_new(one, "events", ev) != 0) {
		json_decref(one);
		return admin_reply_error(rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "database unavailable", NULL);
	}
	return admin_reply_json(rq, MHD_HTTP_OK,
	    json_pack("{s:o}", "enrollment", one));
}

/* Upper-cases a hex serial into out. Returns 0, or -1 when not hex. */
static int
serial_normalize(const char *s, char *out, size_t n)
{
	size_t i, len = strlen(s);

	if (len == 0 || len >= n)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			out[i] = s[i];
		else if (s[i] >= 'a' && s[i] <= 'f')
			out[i] = (char)(s[i] - 'a' + 'A');
		else if (s[i] >= 'A' && s[i] <= 'F')
			out[i] = s[i];
		else
			return -1;
	}
	out[len] = '\0';
	return 0;
}

/* GET /api/v1/certificates[?serial=HEX][&cn=][&limit=] */
enum MHD_Result
admin_certificates_get(struct admin_req *rq)
{
	struct list_acc acc = { NULL, 0, false, NULL };
	const char *serial = query(rq, "serial");
	char norm[128];
	struct gw_err err;
	size_t limit;
	int rc;

	if (serial != NULL && serial_normalize(serial, norm, sizeof(norm)) != 0)
		return admin_reply_error(rq, MHD_HTTP_BAD_REQUEST,
		    "serial: expected hexadecimal digits", "serial");
	if (query_limit(rq, &limit) != 0)
		return admin_reply_error(rq, MHD_HTTP_BAD_REQUEST,
		    "limit: expected 1..10000", "limit");
	if ((acc.arr = json_array()) == NULL)
		return MHD_NO;
	rc = db_cert_find(rq->ctx->db, serial != NULL ? norm : NULL,
	    query(rq, "cn"), limit, cert_json, &acc, &err);
	return list_reply(rq, "certificates", &acc, rc, &err);
}

/* True when s has 1..max bytes and no control characters. */
static bool
text_is_ok(const char *s, size_t max)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* Checks one string field; sets *out. Returns NULL, or "bad". */
static const char *
field_text(json_t *v, size_t max, const char **out)
{
	if (!json_is_string(v) || !text_is_ok(json_string_value(v), max))
		return "bad";
	*out = json_string_value(v);
	return NULL;
}

/*
 * Checks one identity field: a value GlobalSign can take (README
 * "Identity templates"); sets *out. Returns NULL, or "bad".
 */
static const char *
field_ident(json_t *v, enum tmpl_field f, const char **out)
{
	char why[128];

	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v) ||
	    tmpl_value_check(f, json_string_value(v), why, sizeof(why)) != 0)
		return "bad";
	*out = json_string_value(v);
	return NULL;
}

/* Checks one integer field within lo..hi; sets *out. NULL, or "bad". */
static const char *
field_long(json_t *v, long lo, long hi, long *out)
{
	json_int_t i;

	if (!json_is_integer(v))
		return "bad";
	i = json_integer_value(v);
	if (i < lo || i > hi)
		return "bad";
	*out = (long)i;
	return NULL;
}

/*
 * Reads the fields of a POST body into *r. Returns 0, or -1 with the
 * message (naming the field) in msg and the field name in *field.
 */
int
admin_chal_req_parse(json_t *o, const struct gw_config *cfg, struct chal_req *r,
    char *msg, size_t n, const char **field)
{
	const char *key, *e = NULL;
	json_t *v;

	memset(r, 0, sizeof(*r));
	r->ttl = cfg->challenge_ttl_seconds;
	r->count = 1;
	json_object_foreach(o, key, v)
	{
		*field = key;
		if (strcmp(key, "cn") == 0 || strcmp(key, "ou") == 0) {
			e = field_ident(v,
			    key[0] == 'c' ? TMPL_F_CN : TMPL_F_OU,
			    key[0] == 'c' ? &r->cn : &r->ou);
			if (e != NULL)
				snprintf(msg, n,
				    "%s: must be a string of "
				    "1..64 characters",
				    key);
		} else if (strcmp(key, "email") == 0) {
			e = field_ident(v, TMPL_F_EMAIL, &r->email);
			if (e != NULL)
				snprintf(msg, n,
				    "email: must be an address "
				    "of up to 128 characters");
		} else if (strcmp(key, "upn") == 0) {
			e = field_ident(v, TMPL_F_UPN, &r->upn);
			if (e != NULL)
				snprintf(msg, n,
				    "upn: must be a UPN (name@suffix) "
				    "of up to 255 characters");
		} else if (strcmp(key, "ttl") == 0) {
			if ((e = field_long(v, 60, 31536000, &r->ttl)) != NULL)
				snprintf(msg, n,
				    "ttl: must be an integer "
				    "60..31536000 (seconds)");
		} else if (strcmp(key, "count") == 0) {
			if ((e = field_long(v, 1, POST_COUNT_MAX, &r->count)) !=
			    NULL)
				snprintf(msg, n,
				    "count: must be an integer "
				    "1..%d",
				    POST_COUNT_MAX);
		} else if (strcmp(key, "profile") == 0) {
			e = field_text(v, 64, &r->profile);
			if (e == NULL &&
			    config_profile_find(cfg, r->profile) == NULL)
				e = "bad";
			if (e != NULL)
				snprintf(msg, n,
				    "profile: must name a configured "
				    "[profile NAME]");
			else if ((e = config_profile_onetime_refusal(
				      config_profile_find(cfg, r->profile))) !=
			    NULL)
				snprintf(msg, n, "profile: [profile %s] %s",
				    r->profile, e);
		} else {
			e = "unknown";
			snprintf(msg, n, "unknown field \"%.40s\"", key);
		}
		if (e != NULL)
			return -1;
	}
	if (r->profile != NULL && r->email != NULL &&
	    !config_profile_email_ok(config_profile_find(cfg, r->profile),
		r->email)) {
		*field = "email";
		snprintf(msg, n, "email: not in [profile %s] email_domains",
		    r->profile);
		return -1;
	}
	*field = NULL;
	return 0;
}

/* Builds the 201 answer; the caller wipes secrets. */
static json_t *
chal_batch_json(const int64_t *ids, char (*secrets)[ENROLL_SECRET_LEN], long n,
    int64_t expires)
{
	json_t *arr, *item;
	long i;

	if ((arr = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		item = json_pack("{s:I,s:s,s:o}", "id", (json_int_t)ids[i],
		    "challenge", secrets[i], "expires", jtime(expires));
		if (item == NULL || json_array_append_new(arr, item) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return json_pack("{s:o}", "challenges", arr);
}

/* Makes r->count challenges; answers 201 with them, or an error. */
static enum MHD_Result
chal_batch_make(struct admin_req *rq, const struct chal_req *r)
{
	struct chal_made m;
	enum MHD_Result rc;

	if (admin_chal_make(rq, r, &m) != 0)
		return admin_reply_error(rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "could not store challenges", NULL);
	rc = admin_reply_json(rq, MHD_HTTP_CREATED,
	    chal_batch_json(m.ids, m.secrets, m.n, m.expires));
	admin_chal_made_free(&m);
	return rc;
}

/* POST /api/v1/challenges {cn, email, ou, upn, ttl, count, profile} */
enum MHD_Result
admin_challenges_post(struct admin_req *rq)
{
	const char *field = NULL;
	struct chal_req r;
	json_error_t jerr;
	enum MHD_Result rc;
	char msg[200];
	json_t *o;

	o = json_loadb(rq->body.data != NULL ? (const char *)rq->body.data : "",
	    rq->body.len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL) {
		snprintf(msg, sizeof(msg),
		    "malformed JSON at line %d, column %d: %s", jerr.line,
		    jerr.column, jerr.text);
		return admin_reply_error(rq, MHD_HTTP_BAD_REQUEST, msg, NULL);
	}
	if (!json_is_object(o)) {
		json_decref(o);
		return admin_reply_error(rq, MHD_HTTP_BAD_REQUEST,
		    "the body must be a JSON object", NULL);
	}
	if (admin_chal_req_parse(o, rq->ctx->cfg, &r, msg, sizeof(msg),
		&field) != 0)
		rc = admin_reply_error(rq, MHD_HTTP_BAD_REQUEST, msg, field);
	else
		rc = chal_batch_make(rq, &r);
	json_decref(o);
	return rc;
}

/* The HTTP status for each revocation outcome. */
static const unsigned revoke_status[CERT_REVOKE__MAX] = {
	[CERT_REVOKE_OK] = MHD_HTTP_OK,
	[CERT_REVOKE_BAD_SERIAL] = MHD_HTTP_BAD_REQUEST,
	[CERT_REVOKE_BAD_REASON] = MHD_HTTP_BAD_REQUEST,
	[CERT_REVOKE_NOT_FOUND] = MHD_HTTP_NOT_FOUND,
	[CERT_REVOKE_ALREADY] = MHD_HTTP_CONFLICT,
	[CERT_REVOKE_NO_ORDER] = MHD_HTTP_CONFLICT,
	[CERT_REVOKE_UPSTREAM] = MHD_HTTP_BAD_GATEWAY,
	[CERT_REVOKE_DB] = MHD_HTTP_SERVICE_UNAVAILABLE,
};

/*
 * The optional body of a revoke: {} or {"reason": NAME}. Returns 0, or -1
 * with msg and *field set.
 */
int
admin_revoke_body_parse(struct admin_req *rq, json_t **o, const char **reason,
    char *msg, size_t n, const char **field)
{
	json_error_t jerr;
	const char *key;
	json_t *v;

	*reason = NULL;
	*o = NULL;
	if (rq->body.len == 0)
		return 0;
	*o = json_loadb((const char *)rq->body.data, rq->body.len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (*o == NULL || !json_is_object(*o)) {
		snprintf(msg, n, "the body must be a JSON object");
		return -1;
	}
	json_object_foreach(*o, key, v)
	{
		if (strcmp(key, "reason") != 0) {
			*field = "unknown";
			snprintf(msg, n, "unknown field \"%.40s\"", key);
			return -1;
		}
		if ((*reason = json_string_value(v)) == NULL) {
			*field = "reason";
			snprintf(msg, n, "reason: must be a string");
			return -1;
		}
	}
	return 0;
}

/*
 * POST /api/v1/certificates/SERIAL/revoke [{"reason": R}]: the same
 * revocation as `scepgw cert revoke` (cert_revoke(): GlobalSign first,
 * then the database).
 */
enum MHD_Result
admin_certificate_revoke(struct admin_req *rq, const char *rest)
{
	const char *slash = strchr(rest, '/'), *reason, *field = NULL;
	enum cert_revoke_res res;
	struct cert_revoke cr;
	enum MHD_Result rc;
	char serial[80], msg[200];
	json_t *o = NULL, *j;

	if (slash == NULL || strcmp(slash, "/revoke") != 0 ||
	    (size_t)(slash - rest) >= sizeof(serial))
		return admin_reply_error(rq, MHD_HTTP_NOT_FOUND, "not found",
		    NULL);
	snprintf(serial, sizeof(serial), "%.*s", (int)(slash - rest), rest);
	if (admin_revoke_body_parse(rq, &o, &reason, msg, sizeof(msg),
		&field) != 0) {
		rc = admin_reply_error(rq, MHD_HTTP_BAD_REQUEST, msg, field);
		goto out;
	}
	res = cert_revoke(rq->ctx->cfg, rq->ctx->db, &rq->ctx->auth, serial,
	    reason, &cr);
	log_ev(LOG_INFO, "admin.revoke", LOG_F(.peer = rq->peer),
	    "%s admin: revoke serial=%s order=%s reason=%s: %s", rq->peer,
	    cr.serial[0] != '\0' ? cr.serial : "?",
	    cr.order_id[0] != '\0' ? cr.order_id : "-", cr.reason,
	    res == CERT_REVOKE_OK ? "revoked" : cr.detail);
	if (res != CERT_REVOKE_OK) {
		rc = admin_reply_error(rq, revoke_status[res], cr.detail,
		    res == CERT_REVOKE_BAD_SERIAL     ? "serial" :
			res == CERT_REVOKE_BAD_REASON ? "reason" :
							NULL);
		goto out;
	}
	j = json_pack("{s:s, s:s, s:s, s:b, s:s}", "serial", cr.serial,
	    "order_id", cr.order_id, "reason", cr.reason, "revoked", 1,
	    "detail", cr.detail);
	rc = j != NULL ? admin_reply_json(rq, MHD_HTTP_OK, j) :
			 admin_reply_error(rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
			     "out of memory", NULL);
out:
	json_decref(o);
	return rc;
}
