/*
 * The identity template engine (template.h). A template is text with
 * ${alt|alt|...} expressions; each alternative is a variable name or a
 * "quoted literal" (which may be empty: "" makes a value optional). The
 * first alternative with a non-empty value wins; when none has one the
 * expansion fails and names the expression, so the log can say which
 * variable was missing (README "Identity templates").
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "template.h"

static const char *const var_names[TMPL_VAR__MAX] = {
	[TMPL_CHALLENGE_CN] = "challenge.cn",
	[TMPL_CHALLENGE_EMAIL] = "challenge.email",
	[TMPL_CHALLENGE_OU] = "challenge.ou",
	[TMPL_CHALLENGE_UPN] = "challenge.upn",
	[TMPL_CSR_CN] = "csr.cn",
	[TMPL_CSR_EMAIL] = "csr.email",
	[TMPL_CSR_UPN] = "csr.upn",
};

/* The name of variable v, as written in templates. */
const char *
tmpl_var_name(enum tmpl_var v)
{
	return v < TMPL_VAR__MAX ? var_names[v] : "?";
}

/* The variable named by s[0..n), or TMPL_VAR__MAX. */
static enum tmpl_var
var_find(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < TMPL_VAR__MAX; i++)
		if (strlen(var_names[i]) == n &&
		    strncmp(var_names[i], s, n) == 0)
			return (enum tmpl_var)i;
	return TMPL_VAR__MAX;
}

/* One parsed alternative: a literal or a variable. */
struct alt {
	const char *lit; /* literal text, or NULL for a variable */
	size_t litlen;
	enum tmpl_var var;
};

/*
 * Parses one alternative at *p (inside ${...}), leaving *p on the '|' or
 * '}' after it. Returns 0, or -1 with why set.
 */
static int
alt_parse(const char **p, struct alt *a, char *why, size_t whylen)
{
	const char *s = *p, *e;

	memset(a, 0, sizeof(*a));
	if (*s == '"') {
		if ((e = strchr(s + 1, '"')) == NULL) {
			snprintf(why, whylen, "unterminated \"literal\"");
			return -1;
		}
		a->lit = s + 1;
		a->litlen = (size_t)(e - s - 1);
		*p = e + 1;
		return 0;
	}
	e = s + strcspn(s, "|}");
	a->var = var_find(s, (size_t)(e - s));
	if (a->var == TMPL_VAR__MAX) {
		snprintf(why, whylen, "unknown variable \"%.*s\"",
		    (int)(e - s > 40 ? 40 : e - s), s);
		return -1;
	}
	*p = e;
	return 0;
}

/* The state of one expansion. */
struct expand {
	const char *const *vals; /* NULL: only check the syntax */
	char *out;
	size_t outlen;
	size_t len;
	char *why;
	size_t whylen;
};

/* Appends n bytes of s to the output. Returns 0 or -1 (too long). */
static int
expand_add(struct expand *x, const char *s, size_t n)
{
	if (x->vals == NULL)
		return 0;
	if (x->len + n + 1 > x->outlen)
		return -1;
	memcpy(x->out + x->len, s, n);
	x->len += n;
	x->out[x->len] = '\0';
	return 0;
}

/*
 * Expands the expression whose text starts at *p (just after "${"),
 * leaving *p after its '}'.
 */
static enum tmpl_res
expr_expand(struct expand *x, const char **p)
{
	const char *start = *p, *v;
	bool done = false;
	struct alt a;

	for (;;) {
		if (alt_parse(p, &a, x->why, x->whylen) == -1)
			return TMPL_SYNTAX;
		if (**p != '|' && **p != '}') {
			snprintf(x->why, x->whylen, "expected '|' or '}'");
			return TMPL_SYNTAX;
		}
		v = a.lit != NULL || x->vals == NULL ? NULL : x->vals[a.var];
		if (!done && a.lit != NULL) {
			if (expand_add(x, a.lit, a.litlen) == -1)
				return TMPL_TOOLONG;
			done = true;
		} else if (!done && v != NULL && *v != '\0') {
			if (expand_add(x, v, strlen(v)) == -1)
				return TMPL_TOOLONG;
			done = true;
		}
		if (*(*p)++ == '}')
			break;
	}
	if (done || x->vals == NULL)
		return TMPL_OK;
	snprintf(x->why, x->whylen, "%.*s", (int)(*p - start - 1), start);
	return TMPL_MISSING;
}

/* Expands (or, with x->vals NULL, checks) a whole template. */
static enum tmpl_res
tmpl_run(struct expand *x, const char *tmpl)
{
	const char *p = tmpl, *d;
	enum tmpl_res r;

	if (x->vals != NULL && x->outlen > 0)
		x->out[0] = '\0';
	while (*p != '\0') {
		if ((d = strstr(p, "${")) == NULL)
			d = p + strlen(p);
		if (expand_add(x, p, (size_t)(d - p)) == -1) {
			snprintf(x->why, x->whylen, "value too long");
			return TMPL_TOOLONG;
		}
		if (*d == '\0')
			break;
		p = d + 2;
		if ((r = expr_expand(x, &p)) != TMPL_OK) {
			if (r == TMPL_TOOLONG)
				snprintf(x->why, x->whylen, "value too long");
			return r;
		}
	}
	return TMPL_OK;
}

/*
 * Checks a template's syntax and variable names (at config load).
 * Returns 0, or -1 with a one-line reason in why.
 */
int
tmpl_check(const char *tmpl, char *why, size_t whylen)
{
	struct expand x;

	memset(&x, 0, sizeof(x));
	x.why = why;
	x.whylen = whylen;
	return tmpl_run(&x, tmpl) == TMPL_OK ? 0 : -1;
}

/*
 * Expands tmpl with vals (indexed by enum tmpl_var; NULL or "" is no
 * value) into out. On TMPL_MISSING, why holds the expression that had
 * no value (e.g. "challenge.cn|csr.cn"); on any other failure, a reason.
 */
enum tmpl_res
tmpl_expand(const char *tmpl, const char *const vals[TMPL_VAR__MAX], char *out,
    size_t outlen, char *why, size_t whylen)
{
	struct expand x;
	enum tmpl_res r;

	memset(&x, 0, sizeof(x));
	x.vals = vals;
	x.out = out;
	x.outlen = outlen;
	x.why = why;
	x.whylen = whylen;
	if (outlen == 0)
		return TMPL_TOOLONG;
	if ((r = tmpl_run(&x, tmpl)) != TMPL_OK)
		out[0] = '\0';
	return r;
}

/* True when tmpl has no ${...} expression: its text is its value. */
bool
tmpl_is_literal(const char *tmpl)
{
	return strstr(tmpl, "${") == NULL;
}

/*
 * The number of characters of s when it is valid UTF-8 (shortest forms,
 * no surrogates, at most U+10FFFF) without a control character (C0, DEL,
 * C1), else -1.
 */
static long
utf8_text_len(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned long cp;
	long n = 0;
	int more, i;

	while (*p != '\0') {
		if (*p < 0x80) {
			cp = *p;
			more = 0;
		} else if (*p >= 0xc2 && *p <= 0xdf) {
			cp = *p & 0x1fu;
			more = 1;
		} else if (*p >= 0xe0 && *p <= 0xef) {
			cp = *p & 0x0fu;
			more = 2;
		} else if (*p >= 0xf0 && *p <= 0xf4) {
			cp = *p & 0x07u;
			more = 3;
		} else {
			return -1;
		}
		for (i = 1; i <= more; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return -1;
			cp = cp << 6 | (p[i] & 0x3fu);
		}
		if ((more == 2 && cp < 0x800) || (more == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return -1;
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return -1;
		p += more + 1;
		n++;
	}
	return n;
}

/* True for a letter, digit or hyphen. */
static bool
ldh(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-';
}

/*
 * True when d is a DNS domain name of two labels or more (RFC 1035 2.3.1:
 * letters, digits and inner hyphens, 1..63 a label, 253 in all), as an
 * e-mail domain and an email_domains entry must be.
 */
bool
tmpl_domain_ok(const char *d)
{
	size_t len = strlen(d), lab = 0, labels = 0, i;

	if (len == 0 || len > 253)
		return false;
	for (i = 0; i <= len; i++) {
		if (d[i] == '.' || d[i] == '\0') {
			if (lab == 0 || lab > 63 || d[i - 1] == '-' ||
			    d[i - lab] == '-')
				return false;
			labels++;
			lab = 0;
		} else if (ldh(d[i])) {
			lab++;
		} else {
			return false;
		}
	}
	return labels >= 2;
}

/*
 * True when s is an addr-spec GlobalSign can put in an rfc822Name
 * (RFC 5322 3.4.1 dot-atom local part of 1..64 ASCII characters, '@', a
 * domain name).
 */
static bool
email_ok(const char *s)
{
	static const char atext[] = "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
				    "!#$%&'*+/=?^_`{|}~-";
	const char *at = strchr(s, '@'), *p;

	if (at == NULL || at == s || at - s > 64 || s[0] == '.' ||
	    at[-1] == '.')
		return false;
	for (p = s; p < at; p++)
		if (!(*p == '.' ? p[1] != '.' : strchr(atext, *p) != NULL))
			return false;
	return tmpl_domain_ok(at + 1);
}

/*
 * Checks one decided identity value v of field f against what GlobalSign
 * EPKI can take (template.h). An empty value passes (no such value; the
 * CN's presence is checked elsewhere). Returns 0, or -1 with a one-line
 * reason in why.
 */
int
tmpl_value_check(enum tmpl_field f, const char *v, char *why, size_t whylen)
{
	static const long max[TMPL_F__MAX] = {
		[TMPL_F_CN] = TMPL_CN_MAX,
		[TMPL_F_EMAIL] = TMPL_EMAIL_MAX,
		[TMPL_F_OU] = TMPL_OU_MAX,
		[TMPL_F_UPN] = TMPL_UPN_MAX,
	};
	const char *at;
	long n;

	if (f >= TMPL_F__MAX) {
		snprintf(why, whylen, "unknown field");
		return -1;
	}
	if (v == NULL || *v == '\0')
		return 0;
	if ((n = utf8_text_len(v)) < 0) {
		snprintf(why, whylen,
		    "not valid UTF-8, or has a control character");
		return -1;
	}
	if (n > max[f]) {
		snprintf(why, whylen, "%ld characters; at most %ld", n, max[f]);
		return -1;
	}
	if (f == TMPL_F_EMAIL && !email_ok(v)) {
		snprintf(why, whylen, "not an e-mail address (name@domain)");
		return -1;
	}
	if (f == TMPL_F_UPN &&
	    ((at = strrchr(v, '@')) == NULL || at == v || at[1] == '\0' ||
		strchr(v, ' ') != NULL)) {
		snprintf(why, whylen, "not a UPN (name@suffix)");
		return -1;
	}
	return 0;
}
