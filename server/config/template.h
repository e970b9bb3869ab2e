/*
 * Identity templates (README "Identity templates"): the subject CN,
 * e-mail, OU and UPN a profile sends to GlobalSign, built from text and
 * ${...} expressions.
 * An expression lists alternatives separated by '|', tried in order:
 * variable names (challenge.cn, csr.email, ...) or "quoted literals".
 * A pure module: no I/O, no allocation, no logging.
 */
#ifndef GW_TEMPLATE_H
#define GW_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

/* The variables a template may name. */
enum tmpl_var {
	TMPL_CHALLENGE_CN,    /* the challenge's bound CN */
	TMPL_CHALLENGE_EMAIL, /* the challenge's bound e-mail */
	TMPL_CHALLENGE_OU,    /* the challenge's bound OU */
	TMPL_CHALLENGE_UPN,   /* the challenge's bound UPN */
	TMPL_CSR_CN,	      /* the CSR's subject CN */
	TMPL_CSR_EMAIL,	      /* rfc822Name SAN, else emailAddress */
	TMPL_CSR_UPN,	      /* Microsoft UPN otherName SAN */
	TMPL_VAR__MAX
};

/* Outcome of tmpl_expand(). */
enum tmpl_res {
	TMPL_OK,
	TMPL_MISSING, /* no alternative of an expression has a value */
	TMPL_SYNTAX,  /* malformed template or unknown variable */
	TMPL_TOOLONG, /* the result does not fit */
	TMPL__MAX
};

/* The built-in templates: a challenge's binding, else the CSR. */
#define TMPL_DEF_SUBJECT_CN "${challenge.cn|csr.cn}"
#define TMPL_DEF_EMAIL "${challenge.email|csr.email|\"\"}"
#define TMPL_DEF_OU "${challenge.ou|\"\"}"
/* A UPN only when the challenge binds one: never the CSR's by default. */
#define TMPL_DEF_UPN "${challenge.upn|\"\"}"
/* On a profile with challenge = intune, Intune has checked the CSR's SANs
 * against what it expects (README "Microsoft Intune"): the CSR's UPN. */
#define TMPL_INTUNE_UPN "${csr.upn|\"\"}"

/* Longest expanded value, NUL included. */
#define TMPL_OUT_MAX 256

const char *tmpl_var_name(enum tmpl_var v);
int tmpl_check(const char *tmpl, char *why, size_t whylen);
enum tmpl_res tmpl_expand(const char *tmpl,
    const char *const vals[TMPL_VAR__MAX], char *out, size_t outlen, char *why,
    size_t whylen);
bool tmpl_is_literal(const char *tmpl);

/*
 * The identity values GlobalSign EPKI can take (README "Identity
 * templates"): valid UTF-8 without control characters, CN and OU of at
 * most 64 characters, an e-mail address of at most 128, a UPN of the
 * form name@suffix.
 */
enum tmpl_field { TMPL_F_CN, TMPL_F_EMAIL, TMPL_F_OU, TMPL_F_UPN, TMPL_F__MAX };
#define TMPL_CN_MAX 64	   /* characters */
#define TMPL_OU_MAX 64	   /* characters */
#define TMPL_EMAIL_MAX 128 /* characters (ASCII: bytes) */
#define TMPL_UPN_MAX 255   /* characters */
int tmpl_value_check(enum tmpl_field f, const char *v, char *why,
    size_t whylen);
bool tmpl_domain_ok(const char *d);

#endif
