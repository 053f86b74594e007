/*
 * aemp.h - the public API of aemp, AnyEvent::MP in C.
 *
 * aemp gives C programs Erlang-style nodes and ports that speak the AEMP 2.x
 * wire protocol of Perl's AnyEvent::MP, so a C node and a Perl node talk as
 * equals.  This is the only public header; everything else is internal.
 *
 * Conventions used by every declaration below:
 *
 *  - Errors: functions return int; >= 0 is success (or a count), < 0 is a
 *    negated errno value or one of the AEMP_E* codes (all outside the errno
 *    range).  aemp_strerror() maps every code to text.  Control-plane calls
 *    (configuration, node creation, certificates) additionally leave a
 *    human-readable message for the calling thread, read with aemp_errmsg().
 *  - Ownership: every pointer argument is *borrowed* (only read during the
 *    call) unless the comment says the function *takes* it.  Results are
 *    either *borrowed* (valid for a stated time) or *new* (the caller frees
 *    them with the named function).
 *  - Threads: a node runs N shards, one thread each.  Handlers and callbacks
 *    run on a shard thread.  Functions taking an aemp_node may be called
 *    from any thread: on a shard thread of that node they take the fast path
 *    (no locks, no system calls); on any other thread ("application" or
 *    "foreign" thread) the call is posted to the responsible shard through
 *    the thread's own lock-free queue to that shard (made on first use,
 *    freed when the thread exits) and, where it returns a result, waits
 *    for it.  Calls about a port (aemp_snd, aemp_snd_ref, aemp_kil,
 *    aemp_mon*, aemp_cal, aemp_spawn) go to that port's shard, or for a
 *    port of another node to the shard that owns the connection to it, so
 *    one thread's calls about a port are carried out in the order it made
 *    them; other calls go to shard 0 unless stated.  A thread's queue to a
 *    shard holds at most max_thread_queue bytes (docs/config.md): beyond
 *    that every call from it returns -EAGAIN (nothing queued) until the
 *    shard has caught up; one thread's backlog never delays another
 *    thread's calls by more than a loop turn.  Exceptions are stated at
 *    the function.
 *  - Port and node IDs are strings: "NODEID#PORTNAME"; a bare node ID or
 *    "NODEID#" names the node port of that node.
 */
#ifndef AEMP_H
#define AEMP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AEMP_VERSION_MAJOR 0
#define AEMP_VERSION_MINOR 1
#define AEMP_VERSION_PATCH 0
#define AEMP_VERSION_STRING "0.1.0"
/* Numeric version for compile-time comparisons: 0x00MMmmpp. */
#define AEMP_VERSION                                                           \
	((AEMP_VERSION_MAJOR << 16) | (AEMP_VERSION_MINOR << 8) |              \
	 (AEMP_VERSION_PATCH))

#if defined(__GNUC__)
#define AEMP_API __attribute__((visibility("default")))
#else
#define AEMP_API
#endif

/* ------------------------------------------------------------------------ */
/* Error codes                                                               */
/* ------------------------------------------------------------------------ */

#define AEMP_ENOPORT (-5001)    /* no such port */
#define AEMP_ENONODE (-5002)    /* node unknown or unreachable */
#define AEMP_EMALFORMED (-5003) /* malformed packet or value */
#define AEMP_EDEPTH (-5004)     /* nesting deeper than AEMP_MAX_DEPTH */
#define AEMP_ETOOBIG (-5005)    /* packet or value above the size limit */
#define AEMP_EAUTH (-5006)      /* authentication failed */
#define AEMP_ECONFIG (-5007)    /* bad configuration (see aemp_errmsg) */
#define AEMP_ESTATE (-5008)     /* call not valid in this state */
#define AEMP_ESECURE (-5009)    /* refused by secure mode */
#define AEMP_EUNKFUNC (-5010)   /* function name not registered */
#define AEMP_EHANDSHAKE (-5011) /* handshake refused or failed */
#define AEMP_ETLS (-5012)       /* TLS failure */
#define AEMP_ENOCONTEXT (-5013) /* needs port context ($SELF) */
#define AEMP_EDIE (-5014)       /* handler failed (port dies with "die") */
#define AEMP_EOVERFLOW (-5015)  /* a bounded queue overflowed */

/*
 * aemp_strerror - text for any error code returned by aemp.
 * Returns a static string (never NULL); works for negated errno values too.
 * Any thread.
 */
AEMP_API const char *aemp_strerror(int err);

/*
 * aemp_errmsg - the detailed message of the last control-plane error on the
 * calling thread (configuration, node creation, certificates, files), e.g.
 * "binds: cannot listen on 127.0.0.1:4040: Address already in use".
 * Returns a borrowed thread-local string, valid until the next aemp call on
 * this thread; "" if none.  Any thread.
 */
AEMP_API const char *aemp_errmsg(void);

/* ------------------------------------------------------------------------ */
/* Message values                                                           */
/* ------------------------------------------------------------------------ */

/*
 * A message is an ordered list of values.  A value is one of the kinds AEMP
 * carries in JSON and CBOR: null, boolean, integer, double, string (bytes,
 * not necessarily NUL-terminated or UTF-8), array, map, and (CBOR only) a
 * tagged value.  aemp_val is a 16-byte plain struct; building a message is
 * writing an array of them (usually on the stack, see AEMP_MSG), so
 * sending needs no allocation per element.
 *
 * A received message is a read-only array of aemp_val whose strings point
 * into the receive buffer (or the decoder's scratch space for JSON strings
 * that needed unescaping).  It is valid only during the handler call; keep a
 * message with aemp_msg_dup().
 *
 * Integers cover -2^64 .. 2^64-1, what CBOR can carry (Perl keeps the
 * unsigned half as UVs).  Every integer has exactly one form, so code that
 * only knows AEMP_INT keeps working for everything in int64:
 *  - AEMP_INT, u.i: -2^63 .. 2^63-1;
 *  - AEMP_UINT, u.u: 2^63 .. 2^64-1;
 *  - AEMP_UINT with AEMP_VF_NEG, u.u = n: the integer -1 - n, for n in
 *    2^63 .. 2^64-1, i.e. -2^64 .. -2^63-1 (n is CBOR's major type 1
 *    argument; no C integer type holds these values).
 * aemp_uint() and aemp_negint() pick the form.  JSON and CBOR write every
 * integer exactly (decimal; CBOR major type 0 or 1 with the shortest head).
 *
 * A CBOR tag (RFC 8949 §3.4; Perl's CBOR::XS writes \$scalar as tag 22098,
 * objects as 26 or 27, shared values as 28/29, packed strings as 256/25)
 * is an AEMP_TAG value with two children at u.a: the tag number (an
 * integer >= 0: AEMP_INT, or AEMP_UINT above 2^63-1) and the tagged value.
 * Decoded tags are kept, and CBOR writes them back as they came, so values
 * aemp relays or stores for other nodes keep their tags.  JSON has no tags:
 * it writes the tagged value alone, except that tag 22098 around the
 * integer 1 or 0 becomes true or false (what JSON::XS writes for \1, \0).
 * A tag counts as one level of nesting (AEMP_MAX_DEPTH).
 */
typedef enum aemp_type {
	AEMP_NULL = 0,
	AEMP_BOOL = 1,
	AEMP_INT = 2,
	AEMP_FLOAT = 3,
	AEMP_STR = 4,
	AEMP_ARRAY = 5,
	AEMP_MAP = 6,
	AEMP_UINT = 7, /* integer outside int64, see above */
	AEMP_TAG = 8,  /* CBOR tag: u.a[0] number, u.a[1] value; len 2 */
} aemp_type;

/*
 * Value flags.  C code that builds values leaves them 0 (the constructors
 * do); decoders set them so that CBOR output repeats what came in.
 */
/* STR: binary; CBOR writes a byte string (major type 2), JSON writes each
 * byte >= 0x80 as the character U+0080..U+00FF (as JSON::XS writes a Perl
 * byte string).  Set on CBOR byte strings. */
#define AEMP_VF_BYTES 0x01
/* STR: text; CBOR writes a text string (major type 3) even if the bytes
 * are not valid UTF-8.  Set on CBOR text strings.  Without BYTES or TEXT,
 * CBOR writes text when the bytes are valid UTF-8, else bytes. */
#define AEMP_VF_TEXT 0x02
/* UINT: the value is -1 - u.u (see above). */
#define AEMP_VF_NEG 0x04
/* NULL: CBOR `undefined` (simple value 23; CBOR::XS's
 * Types::Serialiser::error), written back as such in CBOR, null in JSON. */
#define AEMP_VF_UNDEF 0x08
/* FLOAT: the CBOR width it came in (half, single, double), written back in
 * the same width when the value fits it exactly (NaN payloads included).
 * Without a width, CBOR writes single precision when that is exact, else
 * double (what CBOR::XS does). */
#define AEMP_VF_F16 0x10
#define AEMP_VF_F32 0x20
#define AEMP_VF_F64 0x30
#define AEMP_VF_WIDTH 0x30 /* mask of the three above */

/* Deepest nesting of arrays, maps and tags accepted and produced (Perl's
 * limit for arrays and maps). */
#define AEMP_MAX_DEPTH 512

typedef struct aemp_val {
	uint8_t type;  /* aemp_type */
	uint8_t flags; /* AEMP_VF_* */
	uint16_t pad;  /* zero */
	uint32_t len;  /* STR: bytes; ARRAY: elements; MAP: key/value pairs;
	                  TAG: 2 */
	union {
		int64_t i;                /* INT; BOOL (0 or 1) */
		uint64_t u;               /* UINT */
		double f;                 /* FLOAT */
		const char *s;            /* STR: len bytes */
		const struct aemp_val *a; /* ARRAY: len values; MAP: 2*len
		                              values, key0, val0, key1, ...;
		                              keys are STR (CBOR: or a TAG
		                              around a key or an integer);
		                              TAG: number, value */
	} u;
} aemp_val;

/* Constructors: plain values, no allocation.  Strings are borrowed: the
 * bytes must stay valid until the value has been sent (aemp_snd returns). */
static inline aemp_val
aemp_null(void)
{
	aemp_val v = {AEMP_NULL, 0, 0, 0, {0}};
	return v;
}

static inline aemp_val
aemp_bool(int b)
{
	aemp_val v = {AEMP_BOOL, 0, 0, 0, {0}};
	v.u.i = b ? 1 : 0;
	return v;
}

static inline aemp_val
aemp_int(int64_t i)
{
	aemp_val v = {AEMP_INT, 0, 0, 0, {0}};
	v.u.i = i;
	return v;
}

/* aemp_uint - the integer u: AEMP_INT up to INT64_MAX, else AEMP_UINT. */
static inline aemp_val
aemp_uint(uint64_t u)
{
	aemp_val v = {AEMP_UINT, 0, 0, 0, {0}};

	if (u <= (uint64_t)INT64_MAX)
		return aemp_int((int64_t)u);
	v.u.u = u;
	return v;
}

/* aemp_negint - the integer -1 - n (CBOR major type 1 with argument n):
 * AEMP_INT down to INT64_MIN, else AEMP_UINT with AEMP_VF_NEG.
 * aemp_negint(UINT64_MAX) is -2^64. */
static inline aemp_val
aemp_negint(uint64_t n)
{
	aemp_val v = {AEMP_UINT, AEMP_VF_NEG, 0, 0, {0}};

	if (n <= (uint64_t)INT64_MAX)
		return aemp_int(-1 - (int64_t)n);
	v.u.u = n;
	return v;
}

static inline aemp_val
aemp_float(double f)
{
	aemp_val v = {AEMP_FLOAT, 0, 0, 0, {0}};
	v.u.f = f;
	return v;
}

static inline aemp_val
aemp_strn(const char *s, size_t len)
{
	aemp_val v = {AEMP_STR, 0, 0, (uint32_t)len, {0}};
	v.u.s = s;
	return v;
}

static inline aemp_val
aemp_str(const char *s)
{
	return aemp_strn(s, strlen(s));
}

static inline aemp_val
aemp_bytes(const void *p, size_t len)
{
	aemp_val v = aemp_strn((const char *)p, len);
	v.flags = AEMP_VF_BYTES;
	return v;
}

static inline aemp_val
aemp_array(const aemp_val *elems, size_t n)
{
	aemp_val v = {AEMP_ARRAY, 0, 0, (uint32_t)n, {0}};
	v.u.a = elems;
	return v;
}

/* kv holds 2*npairs values: key0, value0, key1, value1, ...; keys are STR. */
static inline aemp_val
aemp_map(const aemp_val *kv, size_t npairs)
{
	aemp_val v = {AEMP_MAP, 0, 0, (uint32_t)npairs, {0}};
	v.u.a = kv;
	return v;
}

/*
 * aemp_tag - the value v under CBOR tag number `tag`.  pair is the storage
 * for the two children (tag number, value), which the result points at:
 * it must live as long as the result.  Returns the AEMP_TAG value.
 */
static inline aemp_val
aemp_tag(aemp_val pair[2], uint64_t tag, aemp_val v)
{
	aemp_val t = {AEMP_TAG, 0, 0, 2, {0}};

	pair[0] = aemp_uint(tag);
	pair[1] = v;
	t.u.a = pair;
	return t;
}

/* AEMP_TAGGED(tag, v) is the value v under tag number `tag`, its children
 * on the stack like AEMP_ARR's:
 *     aemp_snd(node, port, AEMP_MSG(AEMP_TAGGED(22098, aemp_int(1))));
 * sends what Perl sends for \1. */
#define AEMP_TAGGED(tag, v)                                                    \
	(aemp_tag((aemp_val[2]){{0, 0, 0, 0, {0}}, {0, 0, 0, 0, {0}}}, (tag),  \
	          (v)))

/* Number of values in a braced list of aemp_val expressions. */
#define AEMP_COUNT(...)                                                        \
	(sizeof((const aemp_val[]){__VA_ARGS__}) / sizeof(aemp_val))

/*
 * AEMP_MSG(v, ...) expands to the two arguments "elements, count" of a
 * message built on the stack, for the (msg, n) parameter pairs below:
 *     aemp_snd(node, port, AEMP_MSG(aemp_str("ping"), aemp_int(7)));
 */
#define AEMP_MSG(...) ((const aemp_val[]){__VA_ARGS__}), AEMP_COUNT(__VA_ARGS__)

/* AEMP_ARR(v, ...) is an array value of the listed elements (stack). */
#define AEMP_ARR(...)                                                          \
	(aemp_array((const aemp_val[]){__VA_ARGS__}, AEMP_COUNT(__VA_ARGS__)))

/* Accessors: read-only views, no allocation. */

/* Element i of an array value, or NULL if v is not an array or i is out of
 * range.  The result is borrowed from v. */
static inline const aemp_val *
aemp_at(const aemp_val *v, size_t i)
{
	if (v == NULL || v->type != AEMP_ARRAY || i >= v->len)
		return NULL;
	return &v->u.a[i];
}

/* 1 if v is a string equal to the NUL-terminated s (byte comparison). */
static inline int
aemp_str_eq(const aemp_val *v, const char *s)
{
	size_t n;

	if (v == NULL || v->type != AEMP_STR)
		return 0;
	n = strlen(s);
	return v->len == n && (n == 0 || memcmp(v->u.s, s, n) == 0);
}

/* The tag number of an AEMP_TAG value t. */
static inline uint64_t
aemp_tag_num(const aemp_val *t)
{
	const aemp_val *n = &t->u.a[0];

	return n->type == AEMP_INT ? (uint64_t)n->u.i : n->u.u;
}

/* The value under an AEMP_TAG value t, or NULL if t is not a tag.
 * Borrowed from t. */
static inline const aemp_val *
aemp_tag_value(const aemp_val *t)
{
	if (t == NULL || t->type != AEMP_TAG)
		return NULL;
	return &t->u.a[1];
}

/* aemp_untag - v without the tags around it (v itself if it has none),
 * for handlers that treat tagged values like plain ones.  Borrowed. */
static inline const aemp_val *
aemp_untag(const aemp_val *v)
{
	while (v != NULL && v->type == AEMP_TAG)
		v = &v->u.a[1];
	return v;
}

/*
 * aemp_get_int - the integer value of v, leniently (Perl scalar typing):
 * INT; BOOL as 0/1; FLOAT with no fractional part inside the int64 range;
 * a STR holding a decimal integer.  Returns 0 and sets *out, or
 * AEMP_EMALFORMED if v has no integer value in the int64 range (AEMP_UINT
 * never has one; see aemp_get_uint).  Any thread.
 */
AEMP_API int aemp_get_int(const aemp_val *v, int64_t *out);

/*
 * aemp_get_uint - like aemp_get_int for the range 0 .. 2^64-1: INT >= 0;
 * AEMP_UINT without AEMP_VF_NEG; BOOL; FLOAT with no fractional part in
 * range; a STR holding a decimal integer in range.  Returns 0 and sets
 * *out, or AEMP_EMALFORMED.  Any thread.
 */
AEMP_API int aemp_get_uint(const aemp_val *v, uint64_t *out);

/* aemp_get_float - like aemp_get_int for doubles (INT, UINT, FLOAT,
 * numeric STR; UINT rounds to the nearest double).  Returns 0 or
 * AEMP_EMALFORMED.  Any thread. */
AEMP_API int aemp_get_float(const aemp_val *v, double *out);

/* aemp_truthy - Perl truth: null (and undefined), false, 0, 0.0, "" and
 * "0" are false, everything else true (arrays, maps, tagged values and
 * AEMP_UINT are true).  Returns 0 or 1. */
AEMP_API int aemp_truthy(const aemp_val *v);

/* aemp_map_get - the value stored under key in map v (first match), or NULL
 * if v is not a map or has no such key.  Borrowed from v. */
AEMP_API const aemp_val *aemp_map_get(const aemp_val *v, const char *key);

/* aemp_val_eq - structural equality (same kinds, same bytes, arrays and maps
 * element by element; map key order matters not; tags by number and
 * value).  Integers and FLOAT compare numerically (1 equals 1.0); string
 * flags and float widths do not count; null and undefined differ.
 * Returns 1 if equal, 0 if not. */
AEMP_API int aemp_val_eq(const aemp_val *a, const aemp_val *b);

/*
 * aemp_val_dup - deep copy of v in one allocation (strings included).
 * Returns new (free with aemp_val_free) or NULL on out of memory or a value
 * nested deeper than AEMP_MAX_DEPTH.  Any thread.
 */
AEMP_API aemp_val *aemp_val_dup(const aemp_val *v);

/* aemp_msg_dup - deep copy of the message (msg, n) as one new ARRAY value.
 * Returns new (free with aemp_val_free) or NULL.  Any thread. */
AEMP_API aemp_val *aemp_msg_dup(const aemp_val *msg, size_t n);

/* aemp_val_free - free a value returned by aemp_val_dup, aemp_msg_dup or
 * aemp_json_parse.  NULL is a no-op. */
AEMP_API void aemp_val_free(aemp_val *v);

/*
 * aemp_json_parse - parse one JSON text (array, object, string, number,
 * true, false, null; surrounding whitespace allowed) into a new value.
 * Returns 0 and *out (new, free with aemp_val_free), AEMP_EMALFORMED,
 * AEMP_EDEPTH or -ENOMEM.  Any thread.
 */
AEMP_API int aemp_json_parse(const char *text, size_t len, aemp_val **out);

/*
 * aemp_json_format - write v as compact JSON (the form Perl nodes send) into
 * buf (at most cap bytes, always NUL-terminated when cap > 0).  Returns the
 * length the full text needs (excluding the NUL), like snprintf, or
 * AEMP_EDEPTH / AEMP_EMALFORMED (non-string map key).  Any thread.
 */
AEMP_API int aemp_json_format(const aemp_val *v, char *buf, size_t cap);

/* ------------------------------------------------------------------------ */
/* Configuration                                                            */
/* ------------------------------------------------------------------------ */

/*
 * A configuration is what AnyEvent::MP's configure() takes: key/value
 * pairs, resolved against the configuration file shared with the Perl tool
 * ($PERL_ANYEVENT_MP_RC, else ~/.perl-anyevent-mp) and its profiles.
 * Keys of AnyEvent::MP: profile, nodeid, secret, cert, binds, seeds,
 * services, secure, monitor_timeout, connect_interval, framing_format,
 * auth_offer, auth_accept, autocork, nodelay, norc, force.  aemp adds:
 * shards (number of shard threads, default: CPUs), max_packet (largest
 * packet accepted, bytes), max_queue (per-connection outgoing queue limit,
 * bytes), fragment_size (larger packets go to aemp peers in fragments of
 * this size, so they do not hold up small ones; 0: off), socket_buffer
 * (bytes a connection's socket may hold each way; 0, the default: the
 * kernel sizes it, which favours throughput over the latency of a message
 * behind a stream of small ones), max_handshakes
 * (concurrent unauthenticated connections),
 * log_level (1..9), busy_poll_us (idle shards spin that long before
 * sleeping: low latency for a core each; $AEMP_BUSY_POLL_US sets its
 * default), cpus (pin shard i to the i-th CPU).  See docs/config.md.
 */
typedef struct aemp_conf aemp_conf;

/* aemp_conf_new - an empty configuration (built-in defaults only).
 * Returns 0 and *out (new, free with aemp_conf_free) or -ENOMEM.  Any
 * thread; a configuration is not shared between threads while modified. */
AEMP_API int aemp_conf_new(aemp_conf **out);

/* aemp_conf_free - free a configuration.  NULL is a no-op. */
AEMP_API void aemp_conf_free(aemp_conf *c);

/*
 * aemp_conf_set - set a configure() argument (second precedence level,
 * first with "force").  v is deep-copied.  Setting a key that was set
 * before replaces it.  Returns 0, AEMP_ECONFIG (unknown key, or value of
 * the wrong kind; message in aemp_errmsg) or -ENOMEM.
 */
AEMP_API int aemp_conf_set(aemp_conf *c, const char *key, const aemp_val *v);

/* aemp_conf_set_str - aemp_conf_set with a string value. */
AEMP_API int aemp_conf_set_str(aemp_conf *c, const char *key, const char *s);

/* aemp_conf_set_json - aemp_conf_set with the value given as JSON text
 * (e.g. "[\"127.0.0.1:4040\"]").  Returns as aemp_conf_set, or
 * AEMP_ECONFIG for bad JSON. */
AEMP_API int aemp_conf_set_json(aemp_conf *c, const char *key,
                                const char *json);

/*
 * aemp_conf_resolve - compute the effective configuration as
 * AnyEvent::MP's configure does: defaults < arguments < file's global
 * section < profile chain (parent first) < profile, or arguments on top
 * with "force"; the file is skipped with "norc".  Also expands the node-ID
 * template (%n, %u, trailing "/").  Calling it again recomputes.
 * Returns 0, AEMP_ECONFIG (unreadable or invalid file, parent cycle, bad
 * value; message in aemp_errmsg) or -ENOMEM.
 */
AEMP_API int aemp_conf_resolve(aemp_conf *c);

/* aemp_conf_get - the effective value of key after aemp_conf_resolve (NULL
 * before, or if the key is unset).  Borrowed; valid until the next call
 * that modifies or resolves c. */
AEMP_API const aemp_val *aemp_conf_get(const aemp_conf *c, const char *key);

/*
 * aemp_conf_format - the effective configuration (after aemp_conf_resolve)
 * as pretty-printed JSON, as `aemp showconfig` prints it.  Returns 0 and
 * *out (new, free with aemp_free), AEMP_ESTATE before resolve, -ENOMEM.
 */
AEMP_API int aemp_conf_format(const aemp_conf *c, char **out);

/* aemp_free - free memory aemp returned as "new, free with aemp_free".
 * NULL is a no-op.  Any thread. */
AEMP_API void aemp_free(void *p);

/* ------------------------------------------------------------------------ */
/* The configuration file                                                   */
/* ------------------------------------------------------------------------ */

/*
 * The file shared with Perl's aemp tool: a JSON object read in relaxed mode
 * (# comments, trailing commas); top-level keys are the global defaults,
 * "profile" maps profile names to objects of the same keys plus "parent".
 * Entries aemp does not use (Perl services, "eval") are kept untouched.
 * All functions: any thread, one thread at a time per aemp_rc.
 */
typedef struct aemp_rc aemp_rc;

/*
 * aemp_rc_path - the file's path: $PERL_ANYEVENT_MP_RC, else
 * $HOME/.perl-anyevent-mp.  Writes it into buf (NUL-terminated).  Returns
 * the length, -ERANGE if cap is too small, AEMP_ECONFIG if neither
 * variable is set.
 */
AEMP_API int aemp_rc_path(char *buf, size_t cap);

/*
 * aemp_rc_open - read the file at path (NULL: aemp_rc_path()).  A missing
 * file gives {"version": 1}.  Returns 0 and *out (new, close with
 * aemp_rc_close), AEMP_ECONFIG for an unreadable file or invalid JSON
 * (message with line and column in aemp_errmsg), -ENOMEM.
 */
AEMP_API int aemp_rc_open(const char *path, aemp_rc **out);

/* aemp_rc_close - free rc without saving.  NULL is a no-op. */
AEMP_API void aemp_rc_close(aemp_rc *rc);

/* aemp_rc_get - the value of key in profile (NULL: the global section),
 * as stored in the file (no inheritance).  Borrowed until rc changes;
 * NULL if absent. */
AEMP_API const aemp_val *aemp_rc_get(const aemp_rc *rc, const char *profile,
                                     const char *key);

/* aemp_rc_set - set key in profile (NULL: global section; the profile is
 * created if missing); v is deep-copied.  Returns 0, -ENOMEM. */
AEMP_API int aemp_rc_set(aemp_rc *rc, const char *profile, const char *key,
                         const aemp_val *v);

/* aemp_rc_del - remove key from profile (NULL: global section).  Returns 0
 * (also if absent). */
AEMP_API int aemp_rc_del(aemp_rc *rc, const char *profile, const char *key);

/* aemp_rc_has_profile - 1 if the profile exists, else 0. */
AEMP_API int aemp_rc_has_profile(const aemp_rc *rc, const char *profile);

/* aemp_rc_add_profile - create an empty profile if missing.  Returns 0 or
 * -ENOMEM. */
AEMP_API int aemp_rc_add_profile(aemp_rc *rc, const char *profile);

/* aemp_rc_del_profile - delete a profile.  Returns 0, or AEMP_ECONFIG if it
 * does not exist. */
AEMP_API int aemp_rc_del_profile(aemp_rc *rc, const char *profile);

/*
 * aemp_rc_format - profile's own values (NULL: the whole file) as
 * pretty-printed JSON.  Returns 0 and *out (new, aemp_free), AEMP_ECONFIG
 * for a missing profile, -ENOMEM.
 */
AEMP_API int aemp_rc_format(const aemp_rc *rc, const char *profile, char **out);

/*
 * aemp_rc_save - if rc was modified, write it the way the Perl tool does:
 * pretty JSON to FILE~new~, the old file hard-linked to FILE~ (backup),
 * then FILE~new~ renamed over FILE.  Returns 0 or a negated errno
 * (message in aemp_errmsg).
 */
AEMP_API int aemp_rc_save(aemp_rc *rc);

/* ------------------------------------------------------------------------ */
/* Secrets and certificates                                                 */
/* ------------------------------------------------------------------------ */

/* aemp_gensecret - len random characters of 0-9A-Za-z from a CSPRNG into
 * out (cap >= len + 1, NUL-terminated); Perl's aemp uses len = 180.
 * Returns 0, -EINVAL, or a negated errno from the random source. */
AEMP_API int aemp_gensecret(char *out, size_t len);

#define AEMP_CERT_RSA2048 1 /* what Perl's `aemp gencert` makes */
#define AEMP_CERT_EC256 2   /* ECDSA P-256, accepted by Perl's TLS stack */

/*
 * aemp_gencert - a new self-signed certificate (CN=AnyEvent::MP, valid
 * 3650 days) and its unencrypted private key, as one PEM text (certificate
 * first, then key), for the "cert" configuration key.  Returns 0 and
 * *pem_out (new, aemp_free), -EINVAL for an unknown kind, AEMP_ETLS if
 * generation fails (message in aemp_errmsg).
 */
AEMP_API int aemp_gencert(int kind, char **pem_out);

/*
 * aemp_cert_check - check that pem (len bytes) holds a private key and a
 * certificate that belong together (in either order, optionally followed
 * by CA certificates).  Returns 0 or AEMP_ECONFIG with the reason in
 * aemp_errmsg.
 */
AEMP_API int aemp_cert_check(const char *pem, size_t len);

/* ------------------------------------------------------------------------ */
/* Nodes                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct aemp_node aemp_node;

/* Port or node ID buffer filled by the API.  IDs longer than
 * AEMP_ID_MAX - 1 bytes are refused everywhere (AEMP_ETOOBIG). */
#define AEMP_ID_MAX 256
typedef struct aemp_id {
	char s[AEMP_ID_MAX]; /* NUL-terminated */
} aemp_id;

/*
 * aemp_node_new - create a node from a configuration: resolves it if that
 * was not done yet, fixes the node ID, creates the shards (not yet
 * running) and binds the listeners of "binds".  The node takes nothing from
 * c; c may be freed afterwards.  Returns 0 and *out (new, free with
 * aemp_node_free), AEMP_ECONFIG (bad value, or a CPU of "cpus" this
 * process cannot run on; message in aemp_errmsg), -EADDRINUSE or another bind error (message in aemp_errmsg), -ENOMEM.
 * Any thread but a shard thread.
 */
AEMP_API int aemp_node_new(const aemp_conf *c, aemp_node **out);

/*
 * aemp_node_start - start the shard threads, seeds and services.  Returns
 * 0, AEMP_ESTATE if already started, or a negated errno if a thread or
 * ring cannot be created (message in aemp_errmsg).  Any thread but a
 * shard thread.
 */
AEMP_API int aemp_node_start(aemp_node *node);

/*
 * aemp_node_run - start the node if needed and block until aemp_node_stop
 * is called.  Returns 0 or an error of aemp_node_start.  Any thread but a
 * shard thread.
 */
AEMP_API int aemp_node_run(aemp_node *node);

/*
 * aemp_node_stop - ask the node to stop: shards finish their current loop
 * turn, close connections (peers see the connection drop) and exit.
 * Returns at once.  Any thread, including shard threads, and
 * async-signal-safe (usable from a SIGINT handler).
 */
AEMP_API void aemp_node_stop(aemp_node *node);

/*
 * aemp_node_wait - block until the node has stopped (all shard threads
 * joined).  Returns 0, or AEMP_ESTATE if it was never started.  Any thread
 * but a shard thread.
 */
AEMP_API int aemp_node_wait(aemp_node *node);

/* aemp_node_free - stop (if running), wait and free the node and every
 * port, monitor and connection it holds.  NULL is a no-op.  Any thread but
 * a shard thread. */
AEMP_API void aemp_node_free(aemp_node *node);

/* aemp_node_id - this node's ID.  Borrowed, valid for the node's life.
 * Any thread. */
AEMP_API const char *aemp_node_id(const aemp_node *node);

/* aemp_node_shards - the number of shards of the node.  Any thread. */
AEMP_API int aemp_node_shards(const aemp_node *node);

/*
 * aemp_node_listeners - the node's actually bound listener addresses
 * ("IP:PORT"), written into out as a JSON array text (like
 * aemp_json_format).  Returns the length needed.  Any thread.
 */
AEMP_API int aemp_node_listeners(const aemp_node *node, char *out, size_t cap);

/* Log levels of AnyEvent::Log. */
enum {
	AEMP_LOG_FATAL = 1,
	AEMP_LOG_ALERT = 2,
	AEMP_LOG_CRIT = 3,
	AEMP_LOG_ERROR = 4,
	AEMP_LOG_WARN = 5,
	AEMP_LOG_NOTE = 6,
	AEMP_LOG_INFO = 7,
	AEMP_LOG_DEBUG = 8,
	AEMP_LOG_TRACE = 9,
};

/* A log sink: level, the node's ID and the message (borrowed, no newline). */
typedef void (*aemp_log_fn)(int level, const char *nodeid, const char *msg,
                            void *arg);

/*
 * aemp_set_log - route the node's log messages at or below level to fn
 * (NULL: the default, one line on stderr).  Called before aemp_node_start;
 * fn may run on any shard thread concurrently.  Returns 0 or AEMP_ESTATE
 * after start.
 */
AEMP_API int aemp_set_log(aemp_node *node, int level, aemp_log_fn fn,
                          void *arg);

/* aemp_exec - run fn(node, arg) on shard `shard` (0..shards-1) in a later
 * loop turn, outside any port context.  Returns 0, -EINVAL for a bad shard
 * number, -ENOMEM, AEMP_ESTATE (the node is stopping) or -EAGAIN (an
 * application thread whose queue to that shard is full; nothing queued).
 * Any thread. */
AEMP_API int aemp_exec(aemp_node *node, int shard,
                       void (*fn)(aemp_node *node, void *arg), void *arg);

/* ------------------------------------------------------------------------ */
/* Identity                                                                 */
/* ------------------------------------------------------------------------ */

/* aemp_node_of - length of the node part of a port or node ID (up to the
 * first '#', or the whole string).  Any thread, no node needed. */
AEMP_API size_t aemp_node_of(const char *id);

/* aemp_port_is_local - 1 if the node part of id is this node's ID, else 0.
 * Any thread. */
AEMP_API int aemp_port_is_local(const aemp_node *node, const char *id);

/*
 * aemp_self - the port ID of the port whose handler, init function or
 * peval is running on the calling thread ($SELF), or NULL outside port
 * context (and on foreign threads).  Borrowed, valid during the call.
 */
AEMP_API const char *aemp_self(aemp_node *node);

/* aemp_srcnode - during a handler, the ID of the node the message came
 * from (this node's ID for local messages); NULL elsewhere.  Borrowed,
 * valid during the handler call. */
AEMP_API const char *aemp_srcnode(aemp_node *node);

/* ------------------------------------------------------------------------ */
/* Ports                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * A receive handler.  msg/n is the message (borrowed, valid during the
 * call).  Returns 0; a negative return kills the port with
 * ("die", TEXT), TEXT being the message set by aemp_fail() during this call
 * or else aemp_strerror() of the return value.  Runs on the port's shard.
 */
typedef int (*aemp_rcv_fn)(aemp_node *node, const aemp_val *msg, size_t n,
                           void *arg);

/*
 * aemp_port - create a local port.  With fn NULL, the first message kills
 * it with ("unhandled_message", "no callback found for message 'TAG'");
 * otherwise fn(msg, arg) is its default handler.  arg is borrowed for the
 * port's life (free it from a monitor callback if needed).  Created on the
 * calling shard, or on shard 0 from a foreign thread.  Returns 0 and the
 * new port ID in *out, or -ENOMEM.
 */
AEMP_API int aemp_port(aemp_node *node, aemp_rcv_fn fn, void *arg,
                       aemp_id *out);

/*
 * aemp_rcv - replace the default handler of a local port, creating the
 * port if it does not exist (this is how spawned ports come to be).  fn
 * NULL restores the "unhandled_message" behaviour.  Returns 0,
 * AEMP_ENOPORT if port is not local or is a node port, -ENOMEM.
 */
AEMP_API int aemp_rcv(aemp_node *node, const char *port, aemp_rcv_fn fn,
                      void *arg);

/*
 * aemp_rcv_tag - add, replace (fn non-NULL) or remove (fn NULL) the handler
 * for messages whose first element is the string tag.  Such messages go to
 * fn without the tag; all others to the default handler with all elements.
 * Creates the port if missing, like aemp_rcv.  Returns as aemp_rcv.
 */
AEMP_API int aemp_rcv_tag(aemp_node *node, const char *port, const char *tag,
                          aemp_rcv_fn fn, void *arg);

/*
 * aemp_fail - set the "die" text for the handler returning on this thread
 * and return AEMP_EDIE, so a handler can write
 *     return aemp_fail(node, "bad request %d", x);
 * printf-style; the text is truncated at 1 KiB.  Shard threads only.
 */
AEMP_API int aemp_fail(aemp_node *node, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/*
 * aemp_snd - send the message (msg, n) to a port anywhere.  Asynchronous:
 * the message is copied or encoded before return, so msg may be reused at
 * once.  Local delivery to a port on the calling shard is immediate (the
 * handler runs before aemp_snd returns), except that nesting deeper than
 * 50 defers to the next loop turn; order per sender and destination is kept
 * in every case.  Messages to ports that do not exist are dropped silently
 * (AnyEvent::MP semantics: monitor a port to learn of its death).
 * Returns 0; -EAGAIN (back pressure: the queue towards that shard or node
 * is above its limit; nothing was sent, retry later, or use aemp_snd_wait);
 * AEMP_ETOOBIG (ID too long or message above max_packet); AEMP_EMALFORMED
 * (value that cannot be encoded, e.g. non-string map key) or AEMP_EDEPTH;
 * AEMP_ENONODE (a remote port, and the node has no network); AEMP_ESTATE
 * (the node is stopping).
 *
 * From an application thread the message is copied into the thread's
 * queue to the destination's shard and sent from there exactly as a send
 * made on that shard, in order; -EAGAIN then means the thread's queue is
 * full (max_thread_queue) or the connection to the destination's node is
 * above max_queue.  Messages accepted from an application thread wait in
 * its queue while their destination has no room; they never push a
 * connection past max_queue.  An error found only on the shard (e.g.
 * AEMP_EMALFORMED while encoding for a remote node) drops the message
 * with an AEMP_LOG_ERROR line.
 */
AEMP_API int aemp_snd(aemp_node *node, const char *port, const aemp_val *msg,
                      size_t n);

/*
 * aemp_snd_wait - aemp_snd, but instead of returning -EAGAIN it blocks the
 * calling thread until the destination has room again (a shard drained
 * the thread's queue, or the connection fell below max_queue / 2), then
 * retries; no polling.  timeout_s: seconds to wait at most (< 0: no
 * limit; 0: one attempt, like aemp_snd).  Returns as aemp_snd, or
 * -ETIMEDOUT (nothing was sent), -EINVAL for a NaN timeout, AEMP_ESTATE
 * when the node stops meanwhile.  On a shard thread (a handler must not
 * block) it never waits: it returns aemp_snd's result at once.
 * Application threads; any number may wait at the same time.
 */
AEMP_API int aemp_snd_wait(aemp_node *node, const char *port,
                           const aemp_val *msg, size_t n, double timeout_s);

/*
 * A resolved destination, for senders that send many messages to the same
 * port: resolving once saves parsing and looking up the ID per message.
 */
typedef struct aemp_ref {
	uint64_t v;
} aemp_ref;

/* aemp_ref_new - resolve a port ID into *out.  Returns 0, AEMP_ETOOBIG or
 * -ENOMEM.  Release with aemp_ref_free.  Any thread. */
AEMP_API int aemp_ref_new(aemp_node *node, const char *port, aemp_ref *out);

/* aemp_ref_free - release a resolved destination.  Any thread. */
AEMP_API void aemp_ref_free(aemp_node *node, aemp_ref ref);

/* aemp_snd_ref - aemp_snd to a resolved destination; same results. */
AEMP_API int aemp_snd_ref(aemp_node *node, aemp_ref ref, const aemp_val *msg,
                          size_t n);

/* aemp_snd_ref_wait - aemp_snd_wait to a resolved destination; same
 * results. */
AEMP_API int aemp_snd_ref_wait(aemp_node *node, aemp_ref ref,
                               const aemp_val *msg, size_t n, double timeout_s);

/*
 * One message of a batch (aemp_snd_many): n values at msg, as for aemp_snd.
 */
typedef struct aemp_msgv {
	const aemp_val *msg;
	size_t n;
} aemp_msgv;

/*
 * aemp_snd_many - send count messages to one resolved destination, in
 * order, as count aemp_snd_ref calls would, but resolving the route once
 * for the whole batch (for a remote node: the connection is found once,
 * and, on the shard that owns it, the packets are encoded back to back
 * into one reservation of its queue, counted and checked against
 * max_queue as they go; from another shard they are handed over one by
 * one).  Every
 * message is copied or encoded before return, so msgs and what it points
 * to are borrowed only for the call.  On the wire and at the receiver
 * nothing tells a batch from single sends.
 *
 * It stops at the first message that cannot be sent.  Returns the number
 * of messages sent, 0..count (the first that many of msgs; the others
 * were not sent and may be retried); or, when not even the first was
 * sent, aemp_snd's error for it: -EAGAIN (back pressure), AEMP_ETOOBIG,
 * AEMP_EMALFORMED, AEMP_EDEPTH, AEMP_ENONODE, AEMP_ESTATE, -ENOMEM.
 * count 0 returns 0; count above INT_MAX is -EINVAL.  A short count means the message after the last one
 * sent failed: call again with the rest to learn its error (-EAGAIN is
 * the usual one).  Any thread; from an application thread the messages
 * go through the thread's queue like aemp_snd's, and never wait.
 */
AEMP_API int aemp_snd_many(aemp_node *node, aemp_ref ref, const aemp_msgv *msgs,
                           size_t count);

/*
 * aemp_kil - kill a port.  reason/n is the kill reason (n == 0: normal
 * termination).  Local ports die asynchronously (monitors run in a later
 * loop turn, never inside aemp_kil); remote ports get a kil1 request.
 * Returns 0; AEMP_ESTATE for a node port (node ports cannot be killed);
 * AEMP_ETOOBIG; -EAGAIN as aemp_snd for a port of another node (a kill of
 * a local port is always taken).  Killing a port that does not exist is
 * not an error.  From an application thread the kill is queued to the
 * port's shard (or the shard owning the connection to its node) after
 * the thread's earlier sends to it, and carried out when the connection
 * has room; -EAGAIN then means the thread's queue is full.
 */
AEMP_API int aemp_kil(aemp_node *node, const char *port, const aemp_val *reason,
                      size_t n);

/* ------------------------------------------------------------------------ */
/* Monitoring                                                               */
/* ------------------------------------------------------------------------ */

/* A cancellation handle for a monitor, timer or registration. Zero-filled
 * means "none". */
typedef struct aemp_guard {
	uint64_t v;
} aemp_guard;

/*
 * A monitor callback: the monitored port died with reason (borrowed,
 * n == 0 for normal death).  Runs once, on the shard that created the
 * monitor, in the port context ($SELF) of its creator if any.
 */
typedef void (*aemp_mon_fn)(aemp_node *node, const aemp_val *reason, size_t n,
                            void *arg);

/*
 * aemp_mon - call cb(reason) once when port dies.  A port that does not
 * exist fires at once (in a later loop turn) with ("no_such_port",
 * "cannot monitor nonexistent port", PORTID); a remote port also fires with
 * ("transport_error", NODE, TEXT) when the connection to its node fails.
 * Monitoring a node ID (no port name) fires only on such transport errors
 * and starts a connection to the node.  If guard is non-NULL it receives a
 * handle for aemp_guard_cancel.  From an application thread the monitor is
 * made (and cb runs) on the port's shard, or for a remote port on the
 * shard owning the connection.  Returns 0, AEMP_ETOOBIG, -ENOMEM, -EAGAIN
 * (application thread, its queue full).
 */
AEMP_API int aemp_mon(aemp_node *node, const char *port, aemp_mon_fn cb,
                      void *arg, aemp_guard *guard);

/*
 * aemp_mon_kill - link: when port dies with a non-empty reason, kill
 * victim with the same reason (nothing on normal death).  victim NULL means
 * the current port ($SELF; AEMP_ENOCONTEXT outside port context).
 * Returns as aemp_mon.
 */
AEMP_API int aemp_mon_kill(aemp_node *node, const char *port,
                           const char *victim, aemp_guard *guard);

/*
 * aemp_mon_snd - when port dies, send msg followed by the reason values to
 * dest (always, also on normal death).  msg is copied.  Returns as
 * aemp_mon.
 */
AEMP_API int aemp_mon_snd(aemp_node *node, const char *port, const char *dest,
                          const aemp_val *msg, size_t n, aemp_guard *guard);

/*
 * aemp_mon_guard - keep references alive for a port's life: release(ref)
 * is called once, when port dies (at once, in a later turn, if it does not
 * exist).  Returns as aemp_mon.
 */
AEMP_API int aemp_mon_guard(aemp_node *node, const char *port,
                            void (*release)(void *ref), void *ref,
                            aemp_guard *guard);

/*
 * aemp_guard_cancel - cancel the monitor, timer or registration behind
 * guard.  After it returns on the guard's shard, the callback will not
 * run; from another thread the cancellation is asynchronous and races
 * with firing (the callback runs at most once either way).  Cancelling a
 * fired, cancelled or zero guard is a no-op.  Clears *guard.  Returns 0
 * (or AEMP_ESTATE when the node is stopping, -ENOMEM).  A cancellation is
 * never refused for back pressure: an application thread whose queue to
 * the guard's shard is full waits until it has room.
 */
AEMP_API int aemp_guard_cancel(aemp_node *node, aemp_guard *guard);

/* ------------------------------------------------------------------------ */
/* Spawn, functions, timers, calls                                          */
/* ------------------------------------------------------------------------ */

/*
 * A registered function ("My::Worker::init").  As a spawn init function it
 * runs in the new port's context (aemp_self) and must install handlers
 * with aemp_rcv; a negative return kills the port with ("die", TEXT) as
 * for handlers.  As a function-name request to the node port it runs
 * outside port context and its return value is only logged.
 */
typedef int (*aemp_func_fn)(aemp_node *node, const aemp_val *args, size_t n,
                            void *arg);

/*
 * aemp_register - make fn callable by name, for spawn and for remote
 * function-name requests.  Names are fully qualified ("Pkg::name"; "::name"
 * for the main program).  Before aemp_node_start, or after it from a
 * service module's aemp_module_init (see "Service modules" below).  A
 * function-name request runs on the shard that received it (see
 * aemp_register_on).  Returns 0, -EEXIST if the name is taken (also by
 * another module), -EINVAL for a name without "::" or with '#', or of
 * AEMP_ID_MAX bytes or more, AEMP_ESTATE after start outside a module's
 * init, -ENOMEM.  Thread: the creating thread before start; the module
 * init's shard thread after.  The registry is read lock-free by every
 * shard, also while a module adds to it; a name once registered stays
 * until aemp_node_free.
 */
AEMP_API int aemp_register(aemp_node *node, const char *name, aemp_func_fn fn,
                           void *arg);

/* Where a registered function's function-name requests run. */
#define AEMP_SHARD_HERE (-2)   /* on the shard that received the request */
#define AEMP_SHARD_SPREAD (-1) /* round-robin over the node's shards */

/*
 * aemp_register_on - aemp_register, choosing the shard that runs fn for
 * function-name requests ([NAME, ARGS...] sent to the node port):
 * AEMP_SHARD_HERE (what aemp_register does: the request's shard, so a
 * peer's requests run in the order sent), AEMP_SHARD_SPREAD (each request
 * to the next shard, round-robin: requests run in parallel, in no
 * particular order), or a shard number (taken modulo the shard count, so
 * 0 is always valid) to keep fn's state on one thread.  Spawns are not
 * moved: a spawned port lives on the shard its name hashes to, and its
 * init function runs there (docs/hosting.md "Shards").  A module that
 * wants its own ports on one shard creates them there with aemp_exec.
 * Returns as aemp_register, and -EINVAL for shard < AEMP_SHARD_HERE.
 */
AEMP_API int aemp_register_on(aemp_node *node, const char *name,
                              aemp_func_fn fn, void *arg, int shard);

/*
 * Service modules (docs/hosting.md).  A module is a shared object built
 * against this header only:
 *     cc -shared -fPIC $(pkg-config --cflags aemp) -o counter.so counter.c
 * It resolves the aemp_* functions from the process that loads it: the
 * `aemp` tool exports them (aemp run), and a program of your own must too
 * (link libaemp.so, or the static library with -rdynamic and
 * -Wl,--whole-archive).  It exports
 *     int aemp_module_init(aemp_node *node);
 * and may export
 *     void aemp_module_fini(aemp_node *node);
 *
 * aemp_module_init runs once per node that loads the module, on a shard
 * thread of that node (shard 0 for the `modules` key, the requesting
 * shard for an on-demand load), outside port context.  It registers the
 * module's functions (aemp_register, aemp_register_on) and may use any
 * call allowed on a shard thread (aemp_port, aemp_spawn, aemp_db_set,
 * aemp_after, aemp_exec, aemp_module_load for a module it needs ...), but
 * must not block for long: the shard serves nothing meanwhile, and other
 * shards asking for a module wait.
 * It returns 0, or a negative error code: then nothing it registered is
 * published, the module is dlclosed and the reason logged, so a failing
 * init must not leave ports, timers or handlers pointing into its code.
 *
 * A loaded module stays loaded until aemp_node_free: that calls every
 * module's aemp_module_fini (newest first) on the freeing thread after
 * every shard has stopped (free memory there, nothing else: no aemp_*
 * calls on the node), then dlcloses it.  Nothing of the module may run
 * after that.  Module data that outlives a request belongs to the module
 * (per node: key it by the node pointer if a process hosts several).
 */
typedef int (*aemp_module_init_fn)(aemp_node *node);
typedef void (*aemp_module_fini_fn)(aemp_node *node);

/*
 * aemp_module_load - load the module in file now, as an entry of the
 * `modules` key: an absolute path, a file name looked up in the
 * module_path directories (as given without module_path), or "A::B" for
 * A/B.so.  Loading a loaded file (same real path) does nothing.  From a
 * shard thread of node it loads there; from another thread it waits for
 * shard 0 to load it (before aemp_node_start: on the calling thread).
 * Returns 0; -ENOENT (or another errno value) when the file cannot be
 * found; -ENOEXEC when it is not a shared object, a symbol it needs is
 * missing, or it lacks aemp_module_init; init's own negative result;
 * AEMP_ESTATE when the node is stopping.  The reason is logged
 * (AEMP_LOG_ERROR).
 */
AEMP_API int aemp_module_load(aemp_node *node, const char *file);

/*
 * aemp_spawn - create a port running func(args) on the node of
 * node_or_port and return its ID at once in *out.  The name is chosen here
 * (AnyEvent::MP style), the init function runs in a later loop turn (also
 * locally).  If it is unknown there, the request is logged and ignored and
 * the port never exists.  From an application thread the request is queued
 * and sent asynchronously, before anything the thread sends to the new
 * port afterwards.  Returns 0, AEMP_ETOOBIG, -EAGAIN (as aemp_snd; nothing
 * sent), -ENOMEM.
 */
AEMP_API int aemp_spawn(aemp_node *node, const char *node_or_port,
                        const char *func, const aemp_val *args, size_t n,
                        aemp_id *out);

/* aemp_snd_to_func - send ["", FUNC, ARGS...] to a node (a function-name
 * request).  Returns as aemp_snd. */
AEMP_API int aemp_snd_to_func(aemp_node *node, const char *nodeid,
                              const char *func, const aemp_val *args, size_t n);

/*
 * aemp_after - call cb(node, arg) once after `seconds`, on the calling
 * shard (shard 0 from a foreign thread), in the caller's port context if
 * any.  The time counts from this call, also from an application thread
 * whose call waits in a queue.  guard (optional) cancels it.  Returns 0,
 * -EINVAL for a negative or non-finite delay, -ENOMEM, -EAGAIN (application
 * thread, its queue full).
 */
AEMP_API int aemp_after(aemp_node *node, double seconds,
                        void (*cb)(aemp_node *node, void *arg), void *arg,
                        aemp_guard *guard);

/* aemp_after_snd - send msg to port after `seconds` (msg is copied).
 * Returns as aemp_after. */
AEMP_API int aemp_after_snd(aemp_node *node, double seconds, const char *port,
                            const aemp_val *msg, size_t n, aemp_guard *guard);

/*
 * A reply callback for aemp_cal: status 0 and the reply message, or status
 * -ETIMEDOUT (timeout) or AEMP_ENOPORT (the called port died; its reason
 * is in reply/n) with no reply.
 */
typedef void (*aemp_cal_fn)(aemp_node *node, int status, const aemp_val *reply,
                            size_t n, void *arg);

/*
 * aemp_cal - simple RPC: create a reply port, send msg followed by the
 * reply port ID to port, and call cb once with the first reply.  With
 * timeout_s > 0 the call fails with -ETIMEDOUT that long after aemp_cal
 * was called (however long the request waited in queues); otherwise port
 * is monitored and its death fails the call (the monitor is cancelled on
 * reply).  Runs cb on the calling shard; from an application thread on
 * the port's shard, or for a remote port the shard owning the connection,
 * where the request goes after the thread's earlier sends to port and
 * without waiting for other threads' backlogs.  The request is control
 * traffic: a connection takes it up to 1.5 x max_queue, so calls get
 * through while bulk senders keep the connection at max_queue (-EAGAIN
 * only beyond that).  The reply port ID goes to *reply_port if non-NULL.
 * Returns 0 or an error of aemp_snd.
 */
AEMP_API int aemp_cal(aemp_node *node, const char *port, const aemp_val *msg,
                      size_t n, aemp_cal_fn cb, void *arg, double timeout_s,
                      aemp_id *reply_port);

/*
 * aemp_peval - run fn(node, arg) in the context of local port `port`
 * ($SELF = port), like AnyEvent::MP's peval/psub: a negative return kills
 * the port with ("die", TEXT).  Runs before returning if the port lives on
 * the calling shard, else in a later loop turn on the port's shard.  To
 * capture the current context for later (psub), copy aemp_self() into an
 * aemp_id and pass it here.  Returns 0 (or fn's result when run
 * synchronously), AEMP_ENOPORT if port is not local.
 */
AEMP_API int aemp_peval(aemp_node *node, const char *port,
                        int (*fn)(aemp_node *node, void *arg), void *arg);

/* ------------------------------------------------------------------------ */
/* Node queries and events                                                  */
/* ------------------------------------------------------------------------ */

/* aemp_node_is_up - 1 if nodeid is this node or connected, 0 if known but
 * not connected, AEMP_ENONODE if unknown.  Any thread. */
AEMP_API int aemp_node_is_up(aemp_node *node, const char *nodeid);

/*
 * aemp_up_nodes - the IDs of all connected nodes (this node excluded),
 * written into out as a JSON array text, like aemp_json_format.  Returns
 * the length needed.  Any thread.
 */
AEMP_API int aemp_up_nodes(aemp_node *node, char *out, size_t cap);

/* A node event: nodeid came up (up = 1) or went down (up = 0, reason). */
typedef void (*aemp_node_fn)(aemp_node *node, const char *nodeid, int up,
                             const aemp_val *reason, size_t n, void *arg);

/*
 * aemp_mon_nodes - call cb for every node up/down event until the guard is
 * cancelled.  Events per node alternate strictly.  Runs cb on the calling
 * shard.  Returns 0 or -ENOMEM.
 */
AEMP_API int aemp_mon_nodes(aemp_node *node, aemp_node_fn cb, void *arg,
                            aemp_guard *guard);

/* ------------------------------------------------------------------------ */
/* The distributed database                                                 */
/* ------------------------------------------------------------------------ */

/*
 * The database of AnyEvent::MP 2.x (aemp-protocol.md §6, §7.9): a
 * two-level map FAMILY -> KEY -> VALUE held by the global nodes.  Each
 * node owns the entries it sets; they live as long as its connection to
 * its master (a global node it reached through its seeds).  Families are
 * non-empty strings (application families start with a letter; internal
 * ones, 'l and 'g, with an apostrophe); keys are non-empty strings.
 *
 * All database work runs on the control shard (shard 0), and so do the
 * callbacks below, in the port context ($SELF) of the caller if it had
 * one.  Calls may be made from any thread; they are posted to shard 0
 * and return at once (-EAGAIN: the calling thread's queue to shard 0, or
 * shard 0's queue of posted calls, is full; nothing was done).
 */

/* A query result: a MAP for aemp_db_family, an ARRAY of keys or values
 * for aemp_db_keys / aemp_db_values.  Borrowed during the call. */
typedef void (*aemp_db_fn)(aemp_node *node, const char *family,
                           const aemp_val *result, void *arg);

/*
 * The mirror of a monitored family as a db_mon callback sees it: this
 * node's copy of FAMILY -> {KEY: VALUE}, updated in place as changes
 * arrive (like the hash AnyEvent::MP's db_mon passes).  Opaque and
 * read-only; valid only during the callback that received it, and only
 * on that callback's thread (the control shard).  Read it with the
 * aemp_dbmirror_* calls below.
 */
typedef struct aemp_dbmirror aemp_dbmirror;

/*
 * A family monitor callback: mirror is the family as this node mirrors it
 * after the change; added, changed and deleted are ARRAYs of the keys
 * this change touched (possibly empty; a change may be reported even if
 * the value did not change).  The cost of a callback depends on the keys
 * changed, not on the family's size.  All arguments borrowed during the
 * call: copy keys or values (aemp_val_dup) to keep them.
 */
typedef void (*aemp_dbmon_fn)(aemp_node *node, const char *family,
                              const aemp_dbmirror *mirror,
                              const aemp_val *added, const aemp_val *changed,
                              const aemp_val *deleted, void *arg);

/*
 * aemp_dbmirror_get - the value of key (keylen bytes) in the mirror, or
 * NULL if the family has no such key (a stored null is an AEMP_NULL
 * value).  Borrowed: valid until the callback returns.  O(1).
 * aemp_dbmirror_len - the number of keys.  O(1).
 * Both only inside the db_mon callback that passed the mirror.
 */
AEMP_API const aemp_val *aemp_dbmirror_get(const aemp_dbmirror *mirror,
                                           const char *key, size_t keylen);
AEMP_API size_t aemp_dbmirror_len(const aemp_dbmirror *mirror);

/*
 * aemp_dbmirror_each - call fn(key, keylen, value, arg) for every entry,
 * in no particular order (key and value borrowed during fn); stops at
 * the first non-zero return of fn and returns it, else 0.  fn must not
 * call into the database.  O(size).  Only inside the db_mon callback.
 */
AEMP_API int aemp_dbmirror_each(const aemp_dbmirror *mirror,
                                int (*fn)(const char *key, size_t keylen,
                                          const aemp_val *value, void *arg),
                                void *arg);

/*
 * aemp_dbmirror_map - the whole mirror as a new MAP value (caller frees
 * with aemp_val_free), or NULL when out of memory.  O(size): for a copy
 * to keep, not for every change.  Only inside the db_mon callback.
 * Its keys carry the string kind they came in as (AEMP_VF_BYTES for a
 * CBOR byte string, as Perl sends plain strings; AEMP_VF_TEXT for text);
 * the other calls give keys as bytes only.  Values keep every flag and
 * tag they came with.
 */
AEMP_API aemp_val *aemp_dbmirror_map(const aemp_dbmirror *mirror);

/*
 * aemp_db_set - set family/key to value (NULL: null) in this node's part
 * of the database; sent to the master only if the value changed (in any
 * detail a peer can see: 1 and 1.0, or a byte and a text string, differ;
 * a global stores and hands on the value exactly as it came).  With
 * guard non-NULL, cancelling the guard deletes the key.  value is copied.
 * Returns 0, -EINVAL (empty family or key), AEMP_ETOOBIG, -ENOMEM, or
 * -EAGAIN (back pressure, nothing done, guard not set; retry later): the
 * connection to the master is above max_queue (until it falls below
 * half of it), or the calling thread's queue to shard 0 is full
 * (application thread, max_thread_queue), or the record queue to shard 0
 * is full (another shard).  A write that returned 0 is never dropped: it
 * reaches the master (or the next master, which gets this node's whole
 * part of the database when it takes over); only running out of memory
 * when it is applied can lose it, and that is logged (AEMP_LOG_CRIT).
 * Writes are applied on shard 0 in the order of the calls, in batches:
 * those of one loop turn in the next, the changes of consecutive writes
 * to one family sent to the master as one g_upd (each key once).
 */
AEMP_API int aemp_db_set(aemp_node *node, const char *family, const char *key,
                         const aemp_val *value, aemp_guard *guard);

/* aemp_db_del - delete family/key from this node's part (if present).
 * Returns as aemp_db_set (-EAGAIN included). */
AEMP_API int aemp_db_del(aemp_node *node, const char *family, const char *key);

/*
 * aemp_db_reg - aemp_db_set(family, port, value) plus a monitor that
 * deletes the key when the port dies, for any reason.  port NULL: the
 * current port ($SELF; AEMP_ENOCONTEXT outside port context).  The guard
 * deletes the key and drops the monitor.  Returns as aemp_db_set.
 */
AEMP_API int aemp_db_reg(aemp_node *node, const char *family, const char *port,
                         const aemp_val *value, aemp_guard *guard);

/*
 * aemp_db_family / aemp_db_keys / aemp_db_values - ask the master for a
 * whole family, its keys or its values; cb runs once with the answer
 * (requests wait while no master is known and are re-sent to a new
 * master).  Returns 0, -EINVAL, -ENOMEM.
 */
AEMP_API int aemp_db_family(aemp_node *node, const char *family, aemp_db_fn cb,
                            void *arg);
AEMP_API int aemp_db_keys(aemp_node *node, const char *family, aemp_db_fn cb,
                          void *arg);
AEMP_API int aemp_db_values(aemp_node *node, const char *family, aemp_db_fn cb,
                            void *arg);

/*
 * aemp_db_mon - mirror family and call cb on every change until the guard
 * is cancelled: first (in a later loop turn) with the current mirror and
 * all its keys as added, then per change.  After a master change the
 * mirror resynchronises and cb reports the differences.  Returns 0,
 * -EINVAL, -ENOMEM.
 */
AEMP_API int aemp_db_mon(aemp_node *node, const char *family, aemp_dbmon_fn cb,
                         void *arg, aemp_guard *guard);

/*
 * aemp_node_is_global - 1 if this node runs the global service (it found
 * itself among its seeds, a node sent it g_slave, or the service
 * "AnyEvent::MP::Global::" was configured), else 0.  Any thread.
 */
AEMP_API int aemp_node_is_global(aemp_node *node);

/*
 * aemp_node_master - copy the node ID of the global node this node
 * currently uses as its master (its database and global service) into
 * out, NUL-terminated; "" while no master is known.  A global node is its
 * own master.  Any thread; the answer is a snapshot and may change at
 * once.  Returns the ID's length, -EINVAL (out NULL or cap 0) or
 * AEMP_ETOOBIG (cap too small: out holds a truncated ID).
 */
AEMP_API int aemp_node_master(aemp_node *node, char *out, size_t cap);

/* Counters of a node, summed over its shards (each shard writes its own;
 * a read is a consistent-enough snapshot, not an atomic one). */
typedef struct aemp_stats {
	uint64_t msgs_delivered; /* messages run by port handlers */
	uint64_t msgs_xshard;    /* records passed between shards */
	uint64_t packets_out;    /* packets queued for remote nodes */
	uint64_t packets_in;     /* packets received from remote nodes */
	uint64_t bytes_out;      /* bytes written to sockets (TLS included) */
	uint64_t bytes_in;       /* bytes read from sockets */
	uint64_t ports;          /* live local ports */
	uint64_t ports_created;  /* local ports ever created */
	uint64_t connections;    /* authenticated connections */
	uint64_t handshakes;     /* connections still in the handshake */
	uint32_t shards;
	uint32_t pad;
	/* Records of remote nodes held: one per node that is connected,
	 * being connected to, monitored or sent to, and, for node_gc_delay
	 * seconds (docs/config.md), per node that left. */
	uint64_t remote_nodes;
	/* peers_up, peers_down, resident_bytes (and remote_nodes above)
	 * came with 0.2: the struct grew, so programs built against an
	 * older aemp.h must be rebuilt. */
	uint64_t peers_up;       /* remote nodes connected now */
	uint64_t peers_down;     /* remote nodes known, not connected */
	uint64_t resident_bytes; /* process resident memory (0: unknown) */
	/* The fields below came after those above (docs/metrics.md has
	 * their exact meanings): the struct grew again, rebuild against
	 * it. */
	uint64_t queue_bytes;     /* bytes queued on connections to peers */
	uint64_t tls_connections; /* of connections: with TLS */
	/* Port monitors held by the shards: local ones (aemp_mon and those
	 * aemp_cal and guards make) and the proxies standing for remote
	 * nodes' monitors of local ports (freed when the connection they came
	 * over ends).  Node monitors (aemp_mon_nodes) are not counted. */
	uint64_t monitors;
	/* Handshakes (both directions) that failed, by reason: outgoing
	 * TCP connect, a deadline, malformed or unusable greeting/auth
	 * lines, authentication, TLS, closed or refused by max_handshakes,
	 * peer already connected, closed by the peer or socket error. */
	uint64_t hs_failed_connect;
	uint64_t hs_failed_timeout;
	uint64_t hs_failed_protocol;
	uint64_t hs_failed_auth;
	uint64_t hs_failed_tls;
	uint64_t hs_failed_limit;
	uint64_t hs_failed_duplicate;
	uint64_t hs_failed_io;
	uint64_t db_families;       /* global database held (global nodes) */
	uint64_t db_keys;           /* ... its keys */
	uint64_t db_local_families; /* this node's own registrations */
	uint64_t db_local_keys;
	uint64_t busy_ns; /* CPU time of the shard threads, summed */
} aemp_stats;

/*
 * aemp_stats_get - the node's counters into *out.  Also answered remotely:
 * a node-port request ["", "aemp::stats", REPLYADDR...] replies with a map
 * of these names (docs/aemp.1, `aemp stats`), and ["", "aemp::nodes",
 * REPLYADDR...] with the array of connected node IDs (aemp extensions,
 * docs/protocol.md).  Returns 0.  Any thread; reads /proc for
 * resident_bytes and takes the peer table's mutex (not for hot loops).
 * It never waits for a shard: the database figures are those of the
 * last count on shard 0 (counted at once when called there, as the
 * aemp::stats reply is); each call asks shard 0 for a fresh count, so
 * a caller polling sees them follow a loop turn later.
 */
AEMP_API int aemp_stats_get(aemp_node *node, aemp_stats *out);

/*
 * Metrics endpoint (docs/metrics.md).  With the configuration key
 * `metrics` set to "IP:PORT" (numeric; port 0 picks a free port),
 * aemp_node_new binds that address and serves HTTP GET /metrics in the
 * Prometheus text exposition format 0.0.4 from a thread of its own (GNU
 * libmicrohttpd), off the message path, until aemp_node_free.  A bad
 * address fails aemp_node_new with AEMP_ECONFIG, an address that cannot
 * be bound with the negative errno (e.g. -EADDRINUSE); aemp_errmsg names
 * the key and the address.
 */

/*
 * aemp_metrics_addr - the endpoint's bound address ("IP:PORT" or
 * "[IPv6]:PORT", the real port when 0 was configured) into out,
 * NUL-terminated; "" (returns 0) when the endpoint is off.  Any thread,
 * between aemp_node_new and aemp_node_free.  Returns the length,
 * -EINVAL (node or out NULL, cap 0) or AEMP_ETOOBIG (truncated).
 */
AEMP_API int aemp_metrics_addr(aemp_node *node, char *out, size_t cap);

/*
 * aemp_metrics_text - the text the endpoint would serve now, for
 * embedders that serve it their own way (works with the endpoint off).
 * Writes at most cap - 1 bytes and a NUL into buf (buf may be NULL when
 * cap is 0) and returns the full length, as snprintf does: call again
 * with a larger buffer when the result is >= cap.  Any thread, between
 * aemp_node_new and aemp_node_free; allocates.  Returns the length,
 * -EINVAL, AEMP_ESTATE (node has no network layer) or -ENOMEM (also
 * when the text would exceed 8 MiB).
 */
AEMP_API int aemp_metrics_text(aemp_node *node, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* AEMP_H */
