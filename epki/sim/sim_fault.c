/*
 * epki-sim's fault injection and its admin surface: fault specs ("drop
 * op=OrderAndIssueCertificate count=1", from --fault, sim.conf or the
 * POST /sim/fault form), the choice of the fault for each call (per
 * operation, by count or probability), run-time settings (POST
 * /sim/config) and the GET /sim/state report (README "Admin endpoint").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "gw_err.h"
#include "secure.h"
#include "sim.h"

#define SPEC_MAX 512

static const char *const kind_names[SIM_F__MAX] = {
	[SIM_F_LATENCY] = "latency",
	[SIM_F_HTTP500] = "http500",
	[SIM_F_HTTP502] = "http502",
	[SIM_F_HTTP503] = "http503",
	[SIM_F_RESET] = "reset",
	[SIM_F_INTERNAL] = "internal",
	[SIM_F_WARNING] = "warning",
	[SIM_F_DROP] = "drop",
	[SIM_F_FOREIGN] = "foreign",
	[SIM_F_LOGIN] = "login",
};

/* Decodes %XX and + of a form value in place. */
static void
form_decode(char *s)
{
	char *w = s, hex[3] = { 0, 0, 0 };

	for (; *s != '\0'; s++) {
		if (*s == '+') {
			*w++ = ' ';
		} else if (*s == '%' && s[1] != '\0' && s[2] != '\0') {
			hex[0] = s[1];
			hex[1] = s[2];
			*w++ = (char)strtol(hex, NULL, 16);
			s += 2;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

/* The fault kind called v; -1 if none. */
static int
kind_parse(const char *v)
{
	int i;

	for (i = 0; i < SIM_F__MAX; i++)
		if (strcmp(v, kind_names[i]) == 0)
			return i;
	return -1;
}

/* The operation called v ("all" or "*" is -1); -2 if none. */
static int
op_parse(const char *v)
{
	int i;

	if (strcmp(v, "all") == 0 || strcmp(v, "*") == 0)
		return -1;
	for (i = EPKI_OP_ORDER; i < EPKI_OP__MAX; i++)
		if (strcmp(v, epki_op_name((enum epki_op)i)) == 0)
			return i;
	return -2;
}

/* Applies one key=value (or a bare kind) of a fault spec; 0 or -1. */
static int
spec_item(char *item, struct sim_fault *f, int *kind_set, int *clear)
{
	char *v = strchr(item, '=');
	const char *key = item;
	long n;
	int k;

	if (v != NULL) {
		*v++ = '\0';
	} else {
		v = item;
		key = "fault";
	}
	form_decode(v);
	if (strcmp(key, "fault") == 0 || strcmp(key, "kind") == 0) {
		if (strcmp(v, "clear") == 0) {
			*clear = 1;
			return 0;
		}
		if ((k = kind_parse(v)) < 0)
			return -1;
		f->kind = (enum sim_fault_kind)k;
		*kind_set = 1;
		return 0;
	}
	if (strcmp(key, "op") == 0)
		return (f->op = op_parse(v)) == -2 ? -1 : 0;
	if (strcmp(key, "count") == 0 &&
	    sim_parse_long(v, -1, 1000000000L, &n) == 0 && n != 0)
		f->count = n;
	else if (strcmp(key, "prob") == 0 && sim_parse_long(v, 1, 100, &n) == 0)
		f->prob = (int)n;
	else if (strcmp(key, "ms") == 0 &&
	    sim_parse_long(v, 0, 600000, &n) == 0)
		f->ms = n;
	else
		return -1;
	return 0;
}

/*
 * Parses one fault spec: items separated by '&', ',' or blanks, each
 * key=value (fault=KIND, op=OPERATION|all, count=N|-1, prob=1-100,
 * ms=N) or a bare KIND. Defaults: every operation, unlimited count,
 * probability 100, ms 0 (drop: 0 closes at once). *clear is set for
 * "fault=clear". 0, or -1 for anything unknown.
 */
int
sim_fault_parse(const char *spec, struct sim_fault *f, int *clear)
{
	char text[SPEC_MAX], *item, *p;
	int kind_set = 0;

	*clear = 0;
	*f = (struct sim_fault) { .kind = SIM_F_LATENCY,
		.op = -1,
		.count = -1,
		.prob = 100 };
	if (strlen(spec) >= sizeof(text))
		return -1;
	memcpy(text, spec, strlen(spec) + 1);
	for (p = text; p != NULL;) {
		item = p;
		if ((p = strpbrk(p, "&, \t\r\n")) != NULL)
			*p++ = '\0';
		if (*item == '\0')
			continue;
		if (spec_item(item, f, &kind_set, clear) == -1)
			return -1;
	}
	return *clear || kind_set ? 0 : -1;
}

/* A pseudo-random percentage 0-99 (xorshift64); call with s->mu held. */
static int
roll(struct sim *s)
{
	uint64_t x = s->rng != 0 ? s->rng : 0x9e3779b97f4a7c15ULL;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	s->rng = x;
	return (int)(x % 100);
}

/* Uses up one count of fault i, removing it when none is left. */
static void
fault_use(struct sim *s, size_t i)
{
	if (s->faults[i].count > 0 && --s->faults[i].count == 0) {
		memmove(&s->faults[i], &s->faults[i + 1],
		    (s->nfaults - i - 1) * sizeof(s->faults[0]));
		s->nfaults--;
	}
}

/*
 * Counts a call to op and chooses its faults: every matching latency
 * fault adds its ms to *latency_ms; the first other matching fault that
 * fires is copied to *hit (when hit is not NULL; kind SIM_F_LATENCY
 * means none). Each fault that fires uses up one of its count.
 */
void
sim_fault_pick(struct sim *s, int op, long *latency_ms, struct sim_fault *hit)
{
	size_t i = 0;
	int have = 0;

	if (hit != NULL)
		*hit = (struct sim_fault) { .kind = SIM_F_LATENCY, .op = -1 };
	pthread_mutex_lock(&s->mu);
	s->calls[op >= 0 && op < EPKI_OP__MAX ? op : EPKI_OP_UNKNOWN]++;
	*latency_ms += s->latency_ms;
	while (i < s->nfaults) {
		const struct sim_fault *f = &s->faults[i];
		size_t before = s->nfaults;

		if ((f->op != -1 && f->op != op) ||
		    (f->kind != SIM_F_LATENCY && (have || hit == NULL)) ||
		    (f->prob < 100 && roll(s) >= f->prob)) {
			i++;
			continue;
		}
		if (f->kind == SIM_F_LATENCY) {
			*latency_ms += f->ms;
		} else {
			*hit = *f;
			have = 1;
		}
		s->fired[f->kind]++;
		fault_use(s, i);
		if (s->nfaults == before)
			i++;
	}
	pthread_mutex_unlock(&s->mu);
}

/*
 * Handles a POST /sim/fault form: adds the fault it describes, or clears
 * them all with fault=clear. Writes a one-line answer into msg; 0, or -1
 * for a bad form or a full table.
 */
int
sim_fault_admin(struct sim *s, const char *form, struct buf *msg)
{
	struct sim_fault f;
	int clear, rc = -1;

	if (sim_fault_parse(form, &f, &clear) == -1) {
		buf_addstr(msg, "bad fault spec\n");
		return -1;
	}
	pthread_mutex_lock(&s->mu);
	if (clear) {
		s->nfaults = 0;
		rc = 0;
	} else if (s->nfaults < SIM_MAX_FAULTS) {
		s->faults[s->nfaults++] = f;
		rc = 0;
	}
	pthread_mutex_unlock(&s->mu);
	buf_addstr(msg, rc == 0 ? "ok\n" : "fault table full\n");
	return rc;
}

/*
 * Applies one run-time setting; call with s->mu held. A cert_format is
 * only noted in *cert_format, set once the whole form is good. 0 or -1.
 */
static int
config_item(struct sim *s, const char *k, const char *v, int *cert_format)
{
	enum sim_profile_state st;
	enum sim_cert_format cf;
	struct gw_err err;
	time_t t;
	long n;

	if (strcmp(k, "profile_state") == 0 &&
	    sim_profile_state_parse(v, &st) == 0) {
		s->profile_state = st;
		return 0;
	}
	if (strcmp(k, "licences") == 0 &&
	    sim_parse_long(v, 0, 100000000L, &n) == 0) {
		s->packs[0].left = n;
		if (sim_state_save(s, &err) == -1 ||
		    sim_journal_sync(s, &err) == -1)
			return -1;
		return 0;
	}
	if (strcmp(k, "no_licence_code") == 0 &&
	    sim_parse_long(v, -99999, -1, &n) == 0) {
		s->conf.no_licence_code = n;
		return 0;
	}
	/* Not saved: DIR/state keeps counts only; sim.conf sets it for good. */
	if (strcmp(k, "licence_expiry") == 0 && strlen(v) == 10 &&
	    sim_date_parse(v, 1, &t) == 0) {
		memcpy(s->packs[0].expiry, v, 11);
		s->packs[0].expiry_t = t;
		return 0;
	}
	if (strcmp(k, "latency_ms") == 0 &&
	    sim_parse_long(v, 0, 600000, &n) == 0) {
		s->latency_ms = n;
		return 0;
	}
	if (strcmp(k, "cert_format") == 0 &&
	    sim_cert_format_parse(v, &cf) == 0) {
		*cert_format = (int)cf;
		return 0;
	}
	if (strcmp(k, "seed") == 0 &&
	    sim_parse_long(v, 1, 2000000000L, &n) == 0) {
		s->rng = (uint64_t)n;
		return 0;
	}
	return -1;
}

/*
 * Handles a POST /sim/config form (profile_state=, licences= and
 * licence_expiry= for the first pack, no_licence_code=, latency_ms=,
 * cert_format=, seed=); every item or none is applied. 0, or -1 with a
 * message in msg.
 */
int
sim_config_admin(struct sim *s, const char *form, struct buf *msg)
{
	char text[SPEC_MAX], *item, *p, *v;
	enum sim_profile_state saved_state;
	struct sim_pack saved_pack0;
	long saved_latency, saved_code;
	int rc = 0, cert_format = -1;

	if (strlen(form) >= sizeof(text)) {
		buf_addstr(msg, "form too long\n");
		return -1;
	}
	memcpy(text, form, strlen(form) + 1);
	pthread_mutex_lock(&s->mu);
	saved_state = s->profile_state;
	saved_latency = s->latency_ms;
	saved_code = s->conf.no_licence_code;
	saved_pack0 = s->packs[0];
	for (p = text; p != NULL && rc == 0;) {
		item = p;
		if ((p = strpbrk(p, "&, \t\r\n")) != NULL)
			*p++ = '\0';
		if (*item == '\0')
			continue;
		if ((v = strchr(item, '=')) == NULL) {
			rc = -1;
			break;
		}
		*v++ = '\0';
		form_decode(v);
		rc = config_item(s, item, v, &cert_format);
	}
	if (rc == -1) {
		s->profile_state = saved_state;
		s->latency_ms = saved_latency;
		s->conf.no_licence_code = saved_code;
		memcpy(s->packs[0].expiry, saved_pack0.expiry,
		    sizeof(saved_pack0.expiry));
		s->packs[0].expiry_t = saved_pack0.expiry_t;
	} else if (cert_format >= 0)
		sim_cert_format_set(s, (enum sim_cert_format)cert_format);
	pthread_mutex_unlock(&s->mu);
	buf_addstr(msg, rc == 0 ? "ok\n" : "bad setting\n");
	return rc;
}

/* Appends the fault table lines of the state report. */
static int
state_faults(const struct sim *s, struct buf *out)
{
	const struct sim_fault *f;
	size_t i;

	if (buf_printf(out, "faults=%zu\n", s->nfaults) == -1)
		return -1;
	for (i = 0; i < s->nfaults; i++) {
		f = &s->faults[i];
		if (buf_printf(out,
			"fault.%zu=%s op=%s count=%ld prob=%d ms=%ld\n", i,
			kind_names[f->kind],
			f->op < 0 ? "all" : epki_op_name((enum epki_op)f->op),
			f->count, f->prob, f->ms) == -1)
			return -1;
	}
	for (i = 0; i < SIM_F__MAX; i++)
		if (buf_printf(out, "fired.%s=%lu\n", kind_names[i],
			s->fired[i]) == -1)
			return -1;
	return 0;
}

/*
 * Writes the GET /sim/state report, key=value lines: orders, licences
 * spent and left, each pack, the profile state, calls per operation, the
 * active faults and how often each kind fired. 0 or -1.
 */
int
sim_state_text(struct sim *s, struct buf *out)
{
	const struct sim_pack *p;
	long left = 0;
	size_t i;
	int rc = -1;

	pthread_mutex_lock(&s->mu);
	for (i = 0; i < s->npacks; i++)
		left += s->packs[i].left;
	if (buf_printf(out,
		"orders=%lu\nlicences_spent=%lu\nlicences_left=%ld\n"
		"profile_state=%s\nlatency_ms=%ld\nno_licence_code=%ld\n",
		s->counter, s->spent, left,
		sim_profile_state_name(s->profile_state), s->latency_ms,
		s->conf.no_licence_code) == -1)
		goto out;
	for (i = 0; i < s->npacks; i++) {
		p = &s->packs[i];
		if (buf_printf(out, "pack.%zu=years:%d expiry:%s left:%ld\n", i,
			p->years, p->expiry, p->left) == -1)
			goto out;
	}
	if (buf_printf(out, "cert_format=%s\n",
		sim_cert_format_name(sim_cert_format_get(s))) == -1)
		goto out;
	for (i = 0; i < EPKI_OP__MAX; i++)
		if (buf_printf(out, "calls.%s=%lu\n",
			i == EPKI_OP_UNKNOWN ? "other" :
					       epki_op_name((enum epki_op)i),
			s->calls[i]) == -1)
			goto out;
	if (buf_printf(out, "calls.crl=%lu\n", s->crl_calls) == -1)
		goto out;
	rc = state_faults(s, out);
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}
