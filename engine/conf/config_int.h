/*
 * engine/conf/config_int.h - what engine/conf/config.c (aemp_conf, resolution,
 * validation) and engine/conf/config_build.c (eng_config_build) share.  Not
 * for other modules: they use engine/conf/config.h.
 *
 * Threads: as engine/conf/config.h.
 */
#ifndef ENGINE_CONF_CONFIG_INT_H
#define ENGINE_CONF_CONFIG_INT_H

#include <stdint.h>

#include "engine/conf/config.h"

enum conf_kind {
	CK_STR,      /* string (numbers accepted, Perl scalars) */
	CK_SPECS,    /* binds/seeds: array of strings or comma list */
	CK_SERVICES, /* array of names or [NAME, ARG...] */
	CK_BOOL,     /* any scalar, Perl truth */
	CK_SECS,     /* number of seconds > 0 */
	CK_NAMES,    /* array of non-empty strings or comma list */
	CK_INT,      /* integer in [min, max] */
	CK_PERL,     /* Perl-only (eval): stored, never used */
	CK_NETS,     /* addresses or IP/BITS prefixes: array or comma list */
	CK_CPUS,     /* CPU numbers: array or comma list (cpus) */
	CK_PATHS,    /* file names: array or comma list (modules) */
};

#define CF_ARG_ONLY 0x01  /* configure() argument only (profile, norc) */
#define CF_FILE_ONLY 0x02 /* file only (parent) */
#define CF_SECRET 0x04    /* never quote the value in messages */

struct conf_key {
	const char *name;
	enum conf_kind kind;
	int64_t min; /* CK_INT */
	int64_t max;
	unsigned flags;
};

/* The result of a resolution. */
struct conf_eff {
	aemp_val *defaults; /* owned MAP: the built-in defaults */
	aemp_val *map;      /* owned MAP: effective values, printable; keys
	                     with a default are never null here */
	aemp_val *origin; /* owned MAP: key -> STR, where the value came from */
	aemp_val profile; /* owned STR: effective profile name */
	aemp_val nodeid;  /* owned STR: expanded node ID */
	int nodeid_random;
};

struct aemp_conf {
	aemp_val *args; /* owned MAP: configure() arguments, in order */
	int resolved;
	struct conf_eff eff;
};

/* eng_conf_key - the known key `name`, or NULL. */
const struct conf_key *eng_conf_key(const char *name);

/* eng_conf_check - validate v for key k; origin (e.g. "configure
 * argument") goes into the message.  Null is always valid (the default).
 * Returns 0 or AEMP_ECONFIG. */
int eng_conf_check(const struct conf_key *k, const aemp_val *v,
                   const char *origin);

/* eng_conf_resolve_into - resolve c into *e (zeroed by the caller),
 * reading the file at aemp_rc_path() unless rc is given (borrowed) or
 * norc is set.  On error *e holds nothing.  Returns 0, AEMP_ECONFIG or
 * -ENOMEM. */
int eng_conf_resolve_into(const aemp_conf *c, const aemp_rc *rc,
                          struct conf_eff *e);

void eng_conf_eff_fini(struct conf_eff *e);

/* eng_conf_num_text - a number value (INT, UINT, FLOAT) as text, as Perl
 * stringifies it closely enough for names and messages, written to buf
 * (NUL-terminated).  Returns the length. */
size_t eng_conf_num_text(const aemp_val *v, char *buf, size_t cap);

/* eng_conf_cpu - parse one item of `cpus` (decimal text, as
 * eng_conf_each gives it) into *cpu.  Returns 0 or -EINVAL. */
int eng_conf_cpu(const char *s, size_t n, int *cpu);

/* eng_conf_each - call fn(s, n, arg) for every item of a CK_NAMES,
 * CK_SPECS or CK_CPUS value: the elements of an array (numbers as text), or the
 * comma-separated non-empty fields of a string.  Stops at and returns a
 * negative fn result; else 0. */
int eng_conf_each(const aemp_val *list,
                  int (*fn)(const char *s, size_t n, void *arg), void *arg);

#endif /* ENGINE_CONF_CONFIG_INT_H */
