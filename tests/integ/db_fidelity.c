/*
 * tests/integ/db_fidelity.c - database values keep their exact bytes
 * through aemp globals: two globals (g1, g2, merged into one mesh) and a
 * client on each side (ca of g1, cb of g2), in one process over loopback.
 * The values are the corpus of tests/codec_corpus.h (what Perl nodes
 * send: big integers, floats of every width, NaN payloads, tags, binary
 * keys, undefined, ...) plus a large array, a large map and a deep value.
 *
 * ca sets every value before g2 exists, so they reach g2 in g1's g_set;
 * cb reads them with db_family (g_reply), db_values (g_reply) and db_mon
 * (g_chg1); then ca changes each value (g_upd to g1, forwarded to g2,
 * g_chg2 to cb), and cb sets values that ca reads through g1.  Every
 * value cb or ca gets must re-encode to the bytes it started as.  Run in
 * CBOR (the bytes of the corpus) and in JSON (the JSON text aemp writes
 * for each value, which a JSON hop must not change).
 *
 * A value replaced by an equal one in another form (1 by 1.0, text by
 * bytes) arrives at the far global in the new form.
 *
 * Keys keep their kind of string too: a raw peer (a Perl node's bytes)
 * registers as g1's slave with byte-string and text keys, and cb's mirror
 * of them, through g1, g2 and g_chg1, has each key with its flag.
 *
 * aemp-test-timeout: 120
 */
#include "codec/codec.h"
#include "tests/codec_corpus.h"
#include "tests/engine_util.h"
#include "tests/integ/peer.h"

#define NEXTRA 3
#define NVALS (CC_NCORPUS + NEXTRA)

static enum cod_framing framing;
static uint8_t *want[NVALS]; /* the bytes of value i in `framing` */
static size_t wantlen[NVALS];
static uint8_t *wrapped[NVALS]; /* the same for [value i] */
static size_t wrappedlen[NVALS];
static struct cod_tape tapes[NVALS];
static const aemp_val *vals[NVALS];
static uint8_t *raw[NVALS]; /* the CBOR the values were decoded from */

/* What a callback saw: values matching, values differing. */
struct seen {
	atomic_int calls;
	atomic_int good;
	atomic_int bad;
	const char *what;
	int wrap; /* expect [value] */
};

static aemp_node *
mknode(const char *id, aemp_node *seed, int global)
{
	char conf[1024], addr[256] = "[]";

	if (seed != NULL)
		aemp_node_listeners(seed, addr, sizeof(addr));
	snprintf(conf, sizeof(conf),
	         "{\"binds\":[\"127.0.0.1:0\"],\"secret\":\"geheim\","
	         "\"shards\":2,\"connect_interval\":1,\"seeds\":%s,"
	         "\"framing_format\":[\"%s\"]%s}",
	         addr, cod_framing_name(framing),
	         global ? ",\"services\":[\"AnyEvent::MP::Global::\"]" : "");
	return tu_node_json(id, conf);
}

/* The index of key "k<i>", or -1. */
static int
key_index(const aemp_val *k)
{
	char buf[16];
	int i;

	if (k->type != AEMP_STR || k->len < 2 || k->len > 8 || k->u.s[0] != 'k')
		return -1;
	snprintf(buf, sizeof(buf), "%.*s", (int)k->len - 1, k->u.s + 1);
	i = atoi(buf);
	return i >= 0 && i < (int)NVALS ? i : -1;
}

/* 1 if v encodes in `framing` to exactly the bytes expected for i. */
static int
same_bytes(const aemp_val *v, int i, int wrap)
{
	const uint8_t *w = wrap ? wrapped[i] : want[i];
	size_t wl = wrap ? wrappedlen[i] : wantlen[i];
	ssize_t n = cod_encode_value(framing, NULL, 0, v);
	uint8_t *b;
	int ok;

	if (n < 0 || (size_t)n != wl)
		return 0;
	if ((b = malloc((size_t)n)) == NULL)
		return 0;
	cod_encode_value(framing, b, (size_t)n, v);
	ok = memcmp(b, w, wl) == 0;
	free(b);
	return ok;
}

/* Counts the pairs of a family map whose values have the expected bytes
 * (keys k0..kN-1 of this test only). */
static void
check_map(struct seen *s, const aemp_val *map)
{
	int good = 0, bad = 0, i;
	uint32_t j;

	for (j = 0; map != NULL && map->type == AEMP_MAP && j < map->len; j++) {
		if ((i = key_index(&map->u.a[2 * j])) < 0)
			continue;
		if (same_bytes(&map->u.a[2 * j + 1], i, s->wrap))
			good++;
		else
			bad++;
	}
	atomic_store(&s->good, good);
	atomic_store(&s->bad, bad);
	atomic_fetch_add(&s->calls, 1);
}

static void
on_family(aemp_node *n, const char *family, const aemp_val *res, void *arg)
{
	(void)n;
	(void)family;
	check_map(arg, res);
}

/* db_values: every value must be one of the expected ones. */
static void
on_values(aemp_node *n, const char *family, const aemp_val *res, void *arg)
{
	struct seen *s = arg;
	int good = 0, bad = 0, i, hit;
	uint32_t j;

	(void)n;
	(void)family;
	for (j = 0; res != NULL && res->type == AEMP_ARRAY && j < res->len;
	     j++) {
		for (i = 0, hit = 0; i < (int)NVALS && !hit; i++)
			hit = same_bytes(&res->u.a[j], i, s->wrap);
		if (hit)
			good++;
		else
			bad++;
	}
	atomic_store(&s->good, good);
	atomic_store(&s->bad, bad);
	atomic_fetch_add(&s->calls, 1);
}

static void
on_mon(aemp_node *n, const char *family, const aemp_dbmirror *mirror,
       const aemp_val *added, const aemp_val *changed, const aemp_val *deleted,
       void *arg)
{
	aemp_val *map = aemp_dbmirror_map(mirror);

	(void)n;
	(void)family;
	(void)added;
	(void)changed;
	(void)deleted;
	check_map(arg, map);
	aemp_val_free(map);
}

/* The keys the raw peer sets, as a Perl node sends them: bytes "\xc3\xa9"
 * (2 Perl characters), bytes "plain", text "\u20ac", text that is not
 * UTF-8 (Perl's own UTF-8 allows surrogates). */
static const struct {
	const char *k;
	size_t len;
	uint8_t flags;
} rawkeys[] = {
        {"\xc3\xa9", 2, AEMP_VF_BYTES},
        {"plain", 5, AEMP_VF_BYTES},
        {"\xe2\x82\xac", 3, AEMP_VF_TEXT},
        {"\xed\xa0\x80", 3, AEMP_VF_TEXT},
};
/* ["", "g_slave", {"fidk": {those keys: 1, 2, 3, 4}}] */
static const char rawslave[] = "836067675f736c617665a1646669646ba4"
                               "42c3a901"
                               "45706c61696e02"
                               "63e282ac03"
                               "63eda08004";

static void
on_keys(aemp_node *n, const char *family, const aemp_dbmirror *mirror_,
        const aemp_val *added, const aemp_val *changed, const aemp_val *deleted,
        void *arg)
{
	aemp_val *mirror = aemp_dbmirror_map(mirror_);
	struct seen *s = arg;
	int good = 0;
	size_t i;
	uint32_t j;

	(void)n;
	(void)family;
	(void)added;
	(void)changed;
	(void)deleted;
	for (i = 0; i < AEMP_ARRAY_LEN(rawkeys); i++) {
		for (j = 0; mirror != NULL && mirror->type == AEMP_MAP &&
		            j < mirror->len;
		     j++) {
			const aemp_val *k = &mirror->u.a[2 * j];

			if (k->len == rawkeys[i].len &&
			    memcmp(k->u.s, rawkeys[i].k, k->len) == 0 &&
			    k->flags == rawkeys[i].flags &&
			    mirror->u.a[2 * j + 1].u.i == (int64_t)i + 1)
				good++;
		}
	}
	aemp_val_free(mirror);
	atomic_store(&s->good, good);
	atomic_fetch_add(&s->calls, 1);
}

/* A raw CBOR peer, slave of g1, sets keys of every kind; cb mirrors. */
static void
check_keys(aemp_node *g1, aemp_node *cb)
{
	struct seen ks = {0, 0, 0, "cb mirror keys", 0};
	char addr[128];
	struct peer pk;
	uint8_t *b;
	size_t n;

	aemp_node_listeners(g1, addr, sizeof(addr)); /* ["IP:PORT"] */
	addr[2 + strcspn(addr + 2, "\"")] = '\0';
	memset(&pk, 0, sizeof(pk));
	pk.cbor = 1;
	CHECK_OK(peer_connect_opts(&pk, addr + 2, "pk", "geheim"));
	CHECK_EQ(pk.send_f, COD_CBOR);
	b = cc_unhex(rawslave, &n);
	CHECK_OK(peer_write(&pk, b, n));
	free(b);
	CHECK_OK(aemp_db_mon(cb, "fidk", on_keys, &ks, NULL));
	CHECK(TU_WAIT(atomic_load(&ks.good) == (int)AEMP_ARRAY_LEN(rawkeys),
	              15));
	peer_close(&pk);
}

/* What cb's db_family of "fidr" had at key "r": kind and flags. */
struct repr {
	atomic_int type;
	atomic_int flags;
	atomic_int calls;
};

static void
on_repr(aemp_node *n, const char *family, const aemp_val *res, void *arg)
{
	struct repr *r = arg;
	const aemp_val *v = res ? aemp_map_get(res, "r") : NULL;

	(void)n;
	(void)family;
	atomic_store(&r->type, v ? v->type : -1);
	atomic_store(&r->flags, v ? v->flags : -1);
	atomic_fetch_add(&r->calls, 1);
}

/* Asks cb until "fidr"/"r" has the kind and flags wanted (flags < 0:
 * any; a JSON value gets flags on the engine's internal CBOR hops). */
static int
repr_is(aemp_node *cb, int type, int flags)
{
	struct repr r = {-1, -1, 0};
	double end = tu_now() + 10;
	int calls;

	do {
		calls = atomic_load(&r.calls);
		if (aemp_db_family(cb, "fidr", on_repr, &r) < 0)
			return 0;
		TU_WAIT(atomic_load(&r.calls) > calls, 5);
		if (atomic_load(&r.type) == type &&
		    (flags < 0 || atomic_load(&r.flags) == flags))
			return 1;
		usleep(50000);
	} while (tu_now() < end);
	DIAG("fidr/r (%s): kind %d flags %#x, wanted %d %#x",
	     cod_framing_name(framing), atomic_load(&r.type),
	     atomic_load(&r.flags), type, flags);
	return 0;
}

/* A value replaced by an equal one in another form (1 by 1.0, a text by
 * a byte string) is the new form at the far global: globals store what
 * came last, as Perl's do. */
static void
check_repr(aemp_node *ca, aemp_node *cb)
{
	aemp_val one = aemp_int(1), onef = aemp_float(1.0);
	aemp_val text = aemp_strn("x", 1), bytes = aemp_strn("x", 1);
	int cbor = framing == COD_CBOR;

	bytes.flags = AEMP_VF_BYTES;
	CHECK_OK(aemp_db_set(ca, "fidr", "r", &one, NULL));
	CHECK(repr_is(cb, AEMP_INT, cbor ? 0 : -1));
	CHECK_OK(aemp_db_set(ca, "fidr", "r", &onef, NULL));
	CHECK(repr_is(cb, AEMP_FLOAT, cbor ? AEMP_VF_F32 : -1));
	CHECK_OK(aemp_db_set(ca, "fidr", "r", &text, NULL));
	CHECK(repr_is(cb, AEMP_STR, cbor ? AEMP_VF_TEXT : -1));
	if (!cbor)
		return; /* JSON has one kind of string */
	CHECK_OK(aemp_db_set(ca, "fidr", "r", &bytes, NULL));
	CHECK(repr_is(cb, AEMP_STR, AEMP_VF_BYTES));
}

/* Decodes every value the test stores, keeps what it must come back as. */
static void
load_values(void)
{
	uint8_t *b;
	size_t i, n;
	ssize_t m;
	aemp_val one;

	for (i = 0; i < NVALS; i++) {
		if (i < CC_NCORPUS)
			b = cc_unhex(cc_corpus[i].cbor, &n);
		else if (i == CC_NCORPUS)
			b = cc_gen_array(2000, &n);
		else if (i == CC_NCORPUS + 1)
			b = cc_gen_map(300, &n);
		else
			b = cc_gen_deep(400, 1, &n);
		cod_tape_init(&tapes[i]);
		raw[i] = b; /* strings of the value point into it */
		if (cod_decode_value(COD_CBOR, &tapes[i], b, n, &vals[i]) < 0)
			abort();
		m = cod_encode_value(framing, NULL, 0, vals[i]);
		want[i] = malloc((size_t)m);
		wantlen[i] = (size_t)m;
		cod_encode_value(framing, want[i], (size_t)m, vals[i]);
		if (framing == COD_CBOR &&
		    (wantlen[i] != n || memcmp(want[i], b, n) != 0))
			abort(); /* codec_fidelity covers this */
		one = aemp_array(vals[i], 1);
		m = cod_encode_value(framing, NULL, 0, &one);
		wrapped[i] = malloc((size_t)m);
		wrappedlen[i] = (size_t)m;
		cod_encode_value(framing, wrapped[i], (size_t)m, &one);
	}
}

static void
set_all(aemp_node *n, const char *family, int wrap)
{
	char key[16];
	aemp_val one;
	size_t i;
	int rc = 0;

	for (i = 0; i < NVALS; i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		one = aemp_array(vals[i], 1);
		rc |= aemp_db_set(n, family, key, wrap ? &one : vals[i], NULL);
	}
	CHECK_OK(rc);
}

/* Asks (db_family or db_values) until s has seen a complete and correct
 * answer: the globals may still be merging. */
static int
ask_until(aemp_node *n, const char *family,
          int (*ask)(aemp_node *, const char *, aemp_db_fn, void *),
          aemp_db_fn fn, struct seen *s, double secs)
{
	double end = tu_now() + secs;
	int calls;

	do {
		calls = atomic_load(&s->calls);
		if (ask(n, family, fn, s) < 0)
			return 0;
		TU_WAIT(atomic_load(&s->calls) > calls, 5);
		if (atomic_load(&s->good) == (int)NVALS &&
		    atomic_load(&s->bad) == 0)
			return 1;
		usleep(100000);
	} while (tu_now() < end);
	DIAG("%s (%s): %d calls, %d good, %d bad of %d", s->what,
	     cod_framing_name(framing), atomic_load(&s->calls),
	     atomic_load(&s->good), atomic_load(&s->bad), (int)NVALS);
	return 0;
}

/* Waits until s has seen a complete and correct answer. */
static int
all_good(struct seen *s, double secs)
{
	int ok = TU_WAIT(atomic_load(&s->calls) > 0 &&
	                         atomic_load(&s->good) == (int)NVALS &&
	                         atomic_load(&s->bad) == 0,
	                 secs);

	if (!ok)
		DIAG("%s (%s): %d calls, %d good, %d bad of %d", s->what,
		     cod_framing_name(framing), atomic_load(&s->calls),
		     atomic_load(&s->good), atomic_load(&s->bad), (int)NVALS);
	return ok;
}

static void
run(enum cod_framing f)
{
	struct seen fam = {0, 0, 0, "cb db_family", 0};
	struct seen values = {0, 0, 0, "cb db_values", 0};
	struct seen mon = {0, 0, 0, "cb db_mon", 0};
	struct seen back = {0, 0, 0, "ca db_family of cb's values", 1};
	aemp_node *g1, *g2, *ca, *cb;
	size_t i;

	framing = f;
	load_values();
	g1 = mknode("g1", NULL, 1);
	ca = mknode("ca", g1, 0);
	tu_start(g1);
	tu_start(ca);
	CHECK(TU_WAIT(aemp_node_is_global(g1), 10));
	CHECK(TU_WAIT(aemp_node_is_up(ca, "g1") == 1, 10));
	set_all(ca, "fid", 0);
	usleep(300000);
	/* g2 and cb come later: ca's values reach g2 in g1's g_set */
	g2 = mknode("g2", g1, 1);
	tu_start(g2);
	CHECK(TU_WAIT(aemp_node_is_global(g2), 10));
	CHECK(TU_WAIT(aemp_node_is_up(g1, "g2") == 1, 10));
	cb = mknode("cb", g2, 0);
	tu_start(cb);
	CHECK(TU_WAIT(aemp_node_is_up(cb, "g2") == 1, 10));
	CHECK(ask_until(cb, "fid", aemp_db_family, on_family, &fam, 15));
	CHECK(ask_until(cb, "fid", aemp_db_values, on_values, &values, 10));
	CHECK_OK(aemp_db_mon(cb, "fid", on_mon, &mon, NULL));
	CHECK(all_good(&mon, 10));
	/* changes: g_upd to g1, forwarded to g2, g_chg2 to cb */
	mon.wrap = 1;
	set_all(ca, "fid", 1);
	CHECK(all_good(&mon, 15));
	/* the other way: cb's values through g2 and g1 to ca */
	set_all(cb, "fid2", 1);
	CHECK(ask_until(ca, "fid2", aemp_db_family, on_family, &back, 15));
	check_repr(ca, cb);
	if (f == COD_CBOR)
		check_keys(g1, cb);
	aemp_node_free(cb);
	aemp_node_free(ca);
	aemp_node_free(g2);
	aemp_node_free(g1);
	for (i = 0; i < NVALS; i++) {
		free(want[i]);
		free(wrapped[i]);
		free(raw[i]);
		cod_tape_fini(&tapes[i]);
	}
}

int
main(void)
{
	alarm(110);
	run(COD_CBOR);
	run(COD_JSON);
	return tap_done();
}
