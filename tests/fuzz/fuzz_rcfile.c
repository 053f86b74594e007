/*
 * tests/fuzz/fuzz_rcfile.c - libFuzzer target for the configuration file
 * reader (engine/conf/rcfile.h): relaxed parsing, the pretty writer round trip
 * (pretty text must read back strictly to an equal tree and print the same
 * text again), the aemp_rc edits, and resolving a configuration against
 * the file (profile chains, validation, node-ID templates).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/conf/config.h"
#include "engine/conf/rcfile.h"
#include "ring/alloc.h"
#include "ring/base.h"

#define FUZZ_CHECK(x)                                                          \
	do {                                                                   \
		if (!(x))                                                      \
			abort();                                               \
	} while (0)

static void
round_trip(const aemp_val *v)
{
	char *t1 = NULL, *t2 = NULL, err[128];
	aemp_val *w = NULL;
	size_t n1, n2;

	FUZZ_CHECK(eng_rcv_pretty(v, &t1, &n1) == 0);
	FUZZ_CHECK(strlen(t1) == n1 || memchr(t1, '\0', n1) == NULL);
	FUZZ_CHECK(eng_rcv_parse(t1, n1, 0, &w, err, sizeof(err)) == 0);
	FUZZ_CHECK(aemp_val_eq(v, w));
	FUZZ_CHECK(eng_rcv_pretty(w, &t2, &n2) == 0);
	FUZZ_CHECK(n1 == n2 && memcmp(t1, t2, n1) == 0);
	ring_free(t1, 0);
	ring_free(t2, 0);
	eng_rcv_free(w);
}

/* The first profile name of the file, if any (borrowed). */
static const char *
first_profile(const aemp_rc *rc)
{
	const aemp_val *p = eng_rcv_map_get(eng_rc_root(rc), "profile");

	if (p == NULL || p->len == 0)
		return NULL;
	return p->u.a[0].u.s;
}

static void
file_ops(const char *text, size_t len)
{
	aemp_val one = aemp_int(1);
	aemp_conf *c = NULL;
	const char *prof;
	aemp_rc *rc = NULL;
	char *out = NULL;

	if (eng_rc_from_text("/fuzz/rc", text, len, &rc) < 0)
		return;
	FUZZ_CHECK(aemp_rc_format(rc, NULL, &out) == 0);
	aemp_free(out);
	if (aemp_conf_new(&c) == 0) {
		prof = first_profile(rc);
		if (prof != NULL)
			aemp_conf_set_str(c, "profile", prof);
		if (eng_conf_resolve_rc(c, rc) == 0) {
			FUZZ_CHECK(aemp_conf_format(c, &out) == 0);
			aemp_free(out);
		}
		aemp_conf_free(c);
	}
	FUZZ_CHECK(aemp_rc_set(rc, "fuzz", "shards", &one) == 0);
	FUZZ_CHECK(aemp_rc_format(rc, "fuzz", &out) == 0);
	aemp_free(out);
	FUZZ_CHECK(aemp_rc_del_profile(rc, "fuzz") == 0);
	aemp_rc_close(rc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	aemp_val *v = NULL, *s = NULL;
	char err[128];
	int rr, rs;

	rr = eng_rcv_parse(text, size, ENG_RCV_RELAXED, &v, err, sizeof(err));
	rs = eng_rcv_parse(text, size, 0, &s, err, sizeof(err));
	FUZZ_CHECK(rs < 0 || rr == 0); /* relaxed accepts all strict JSON */
	if (rr == 0)
		round_trip(v);
	if (rs == 0)
		FUZZ_CHECK(aemp_val_eq(v, s));
	eng_rcv_free(v);
	eng_rcv_free(s);
	file_ops(text, size);
	return 0;
}
