/*
 * epki-sim's knobs for what the public sources show of GlobalSign's
 * behaviour beyond the schema (epki/sim/README.md "sim.conf"): a skewed
 * Timestamp, the SerialNumber format, the profile's own OUs, its UPN
 * attribute, its closing date and state strings, whether Email is allowed,
 * and the field lengths of GlobalSign Japan's EPKI bulk form (CN and each
 * OU at most 64 characters, Email at most 128), with the -103 and dotted
 * ErrorField GlobalSign gives for a nested field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>

#include "buf.h"
#include "sim.h"

#define CN_MAX 64
#define OU_MAX 64
#define EMAIL_MAX 128

/* Copies v without its blanks at both ends into out; 0 or -1 if long. */
static int
copy_trimmed(const char *v, size_t len, char *out, size_t n)
{
	while (len > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= n)
		return -1;
	memcpy(out, v, len);
	out[len] = '\0';
	return 0;
}

/* Reads yes/no/true/false; 0 or -1. */
static int
parse_bool(const char *v, bool *out)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0) {
		*out = true;
		return 0;
	}
	if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0) {
		*out = false;
		return 0;
	}
	return -1;
}

/* profile_ous: comma-separated, appended to those of earlier lines. */
static int
set_profile_ous(struct sim_conf *c, const char *v)
{
	const char *p = v, *comma;
	size_t len;

	for (;;) {
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (c->nprofile_ous == SIM_MAX_PROFILE_OUS ||
		    copy_trimmed(p, len, c->profile_ous[c->nprofile_ous],
			sizeof(c->profile_ous[0])) == -1)
			return -1;
		c->nprofile_ous++;
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

/* profile_state_codes: VALIDATED,PENDING,SUSPENDED, all three. */
static int
set_state_codes(struct sim_conf *c, const char *v)
{
	char codes[SIM_PROFILE__MAX][32];
	const char *p = v, *comma;
	int i;

	for (i = 0; i < SIM_PROFILE__MAX; i++) {
		comma = strchr(p, ',');
		if ((comma == NULL) != (i == SIM_PROFILE__MAX - 1) ||
		    copy_trimmed(p,
			comma != NULL ? (size_t)(comma - p) : strlen(p),
			codes[i], sizeof(codes[i])) == -1)
			return -1;
		p = comma != NULL ? comma + 1 : p;
	}
	memcpy(c->state_codes, codes, sizeof(codes));
	return 0;
}

/* serial_format: upper, lower, colon or decimal. */
static int
set_serial_fmt(struct sim_conf *c, const char *v)
{
	static const char *const names[SIM_SERIAL__MAX] = {
		[SIM_SERIAL_UPPER] = "upper",
		[SIM_SERIAL_LOWER] = "lower",
		[SIM_SERIAL_COLON] = "colon",
		[SIM_SERIAL_DECIMAL] = "decimal",
	};
	int i;

	for (i = 0; i < SIM_SERIAL__MAX; i++)
		if (strcmp(v, names[i]) == 0) {
			c->serial_fmt = (enum sim_serial_fmt)i;
			return 0;
		}
	return -1;
}

/* The defaults of the keys below: today's behaviour. */
void
sim_fidelity_defaults(struct sim_conf *c)
{
	c->timestamp_skew_h = 0;
	c->serial_fmt = SIM_SERIAL_UPPER;
	c->nprofile_ous = 0;
	c->profile_upn = true;
	c->email_allowed = true;
	c->email_code = -103;
	c->max_ous = 0;
	snprintf(c->profile_not_after, sizeof(c->profile_not_after),
	    "2099-12-31");
	sim_date_parse(c->profile_not_after, 1, &c->profile_not_after_t);
	snprintf(c->state_codes[SIM_PROFILE_VALIDATED],
	    sizeof(c->state_codes[0]), "4");
	snprintf(c->state_codes[SIM_PROFILE_PENDING], sizeof(c->state_codes[0]),
	    "2");
	snprintf(c->state_codes[SIM_PROFILE_SUSPENDED],
	    sizeof(c->state_codes[0]), "9");
}

/* Applies one of the keys above; 1 if k is not one of them, -1 if v is
 * bad, 0 once applied. */
int
sim_fidelity_set(struct sim_conf *c, const char *k, const char *v)
{
	time_t t;
	bool b;
	long n;

	if (strcmp(k, "timestamp_skew") == 0) {
		if (sim_parse_long(v, -48, 48, &n) == -1)
			return -1;
		c->timestamp_skew_h = (int)n;
		return 0;
	}
	if (strcmp(k, "serial_format") == 0)
		return set_serial_fmt(c, v);
	if (strcmp(k, "profile_ous") == 0)
		return set_profile_ous(c, v);
	if (strcmp(k, "profile_upn") == 0 || strcmp(k, "email_allowed") == 0 ||
	    strcmp(k, "lenient_ns") == 0) {
		if (parse_bool(v, &b) == -1)
			return -1;
		*(k[0] == 'p'	    ? &c->profile_upn :
			k[0] == 'e' ? &c->email_allowed :
				      &c->lenient_ns) = b;
		return 0;
	}
	if (strcmp(k, "email_code") == 0 || strcmp(k, "max_ous") == 0) {
		if (k[0] == 'e' ? sim_parse_long(v, -99999, -1, &n) == -1 :
				  sim_parse_long(v, 0, EPKI_MAX_OUS, &n) == -1)
			return -1;
		*(k[0] == 'e' ? &c->email_code : &c->max_ous) = n;
		return 0;
	}
	if (strcmp(k, "profile_not_after") == 0) {
		if (strlen(v) != 10 || sim_date_parse(v, 1, &t) == -1)
			return -1;
		memcpy(c->profile_not_after, v, 11);
		c->profile_not_after_t = t;
		return 0;
	}
	if (strcmp(k, "profile_state_codes") == 0)
		return set_state_codes(c, v);
	return 1;
}

/* The LicenseNo of the pack-th licence pack (one per pack). */
void
sim_licence_no(size_t pack, char *out, size_t n)
{
	snprintf(out, n, "LP%012zu", pack + 1);
}

/* Writes the serial ai as the configured SerialNumber; 0 or -1. */
int
sim_serial_text(enum sim_serial_fmt fmt, const ASN1_INTEGER *ai, char *out,
    size_t n)
{
	BIGNUM *bn;
	char *text = NULL;
	size_t i, k = 0, len;
	int rc = -1;

	if ((bn = ASN1_INTEGER_to_BN(ai, NULL)) == NULL ||
	    (text = fmt == SIM_SERIAL_DECIMAL ? BN_bn2dec(bn) :
						BN_bn2hex(bn)) == NULL)
		goto out;
	len = strlen(text);
	if (fmt == SIM_SERIAL_UPPER || fmt == SIM_SERIAL_DECIMAL) {
		rc = snprintf(out, n, "%s", text) < (int)n ? 0 : -1;
		goto out;
	}
	for (i = 0; i < len && k + 4 < n; i++) {
		if (fmt == SIM_SERIAL_COLON && i > 0 && i % 2 == 0)
			out[k++] = ':';
		out[k++] = (char)(text[i] >= 'A' && text[i] <= 'F' ?
			text[i] - 'A' + 'a' :
			text[i]);
	}
	out[k] = '\0';
	rc = i == len ? 0 : -1;
out:
	OPENSSL_free(text);
	BN_free(bn);
	return rc;
}

/* Fails e with -103 and the dotted ErrorField of a nested field. */
static int
too_long(struct epki_error *e, const char *field, int max)
{
	char msg[128];

	snprintf(msg, sizeof(msg),
	    "The parameter is too long (at most %d characters).", max);
	return sim_fail(e, -103, field, msg);
}

/*
 * The DnAttributes checks, after the required fields: lengths (-103),
 * the number of OUs (max_ous, -103), and Email on an account that may
 * not put one in certificates (email_code). Lengths count characters
 * (UTF-8 code points), as GlobalSign's form does. 0 or -1 with e set.
 */
int
sim_check_dn(const struct sim_conf *c, const struct epki_order *o,
    struct epki_error *e)
{
	size_t i;

	if (sim_utf8_len(o->cn) > CN_MAX)
		return too_long(e, "DnAttributes.CommonName", CN_MAX);
	for (i = 0; i < o->nous; i++)
		if (sim_utf8_len(o->ous[i]) > OU_MAX)
			return too_long(e, "DnAttributes.OrganizationUnit",
			    OU_MAX);
	if (c->max_ous > 0 && o->nous > (size_t)c->max_ous)
		return sim_fail(e, -103, "DnAttributes.OrganizationUnit",
		    "Too many OrganizationUnit values.");
	if (o->email != NULL && sim_utf8_len(o->email) > EMAIL_MAX)
		return too_long(e, "DnAttributes.Email", EMAIL_MAX);
	if (o->email != NULL && !c->email_allowed)
		return sim_fail(e, (int)c->email_code, "DnAttributes.Email",
		    "This account may not include email addresses in "
		    "certificates.");
	return 0;
}

/* The number of UTF-8 code points in s (continuation bytes skipped). */
size_t
sim_utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/*
 * Rewrites the Timestamp of a built reply to now + timestamp_skew hours,
 * written as GlobalSign writes it (local time, milliseconds, offset):
 * with 12 the hour is off by 12, as recorded from GlobalSign's test
 * system. Nothing to do without a skew or a Timestamp. 0 or -1.
 */
int
sim_timestamp_skew(const struct sim_conf *c, struct buf *out)
{
	static const char open[] = "<Timestamp>", close[] = "</Timestamp>";
	char date[32], zone[8], ts[48], *start, *end;
	struct buf b;
	struct tm tm;
	time_t t;
	int rc;

	if (c->timestamp_skew_h == 0 || out->len == 0 ||
	    (start = strstr((char *)out->data, open)) == NULL ||
	    (end = strstr(start, close)) == NULL)
		return 0;
	start += sizeof(open) - 1;
	t = time(NULL) + (time_t)c->timestamp_skew_h * 3600;
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0 ||
	    strftime(zone, sizeof(zone), "%z", &tm) != 5)
		return -1;
	snprintf(ts, sizeof(ts), "%s.000%.3s:%s", date, zone, zone + 3);
	buf_init(&b, out->len + sizeof(ts) + 1);
	rc =
	    buf_add(&b, out->data, (size_t)(start - (char *)out->data)) == -1 ||
		buf_addstr(&b, ts) == -1 || buf_addstr(&b, end) == -1 ?
	    -1 :
	    0;
	if (rc == 0) {
		buf_reset(out);
		rc = buf_add(out, b.data, b.len);
	}
	buf_cleanup(&b);
	return rc;
}
