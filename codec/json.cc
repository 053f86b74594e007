/*
 * codec/json.cc - JSON decoding with simdjson's On-Demand API, behind the
 * C interface of codec/json.h.  The only C++ file of aemp (STYLE.md §10).
 *
 * Why On-Demand: it hands out the input position of every token, so a
 * string without escapes becomes a value pointing into the input (zero
 * copy); only strings with escapes are unescaped, into simdjson's string
 * buffer.  Runs of complete packets (found by codec/json_scan.c) are parsed
 * with iterate_many: one structural pass over the whole run instead of a
 * parser setup per packet.
 *
 * Number mapping (as Perl JSON::XS, which keeps integers up to 2^64-1 as
 * IV/UV): integers in int64 range are AEMP_INT, integers up to 2^64-1 and
 * down to -2^64 are AEMP_UINT (the same form CBOR gives them, so a value
 * passes between the framings unchanged); larger integers and numbers
 * with a fraction or exponent are AEMP_FLOAT; a number beyond the double
 * range is malformed.
 *
 * Invariants: nothing C++ escapes: no exceptions (built with
 * -fno-exceptions, SIMDJSON_EXCEPTIONS=0), every simdjson error becomes an
 * aemp error code.  Recursion is bounded by AEMP_MAX_DEPTH.
 *
 * Threads: the parser belongs to the tape, hence to one thread.
 */
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>

#include <simdjson.h>

extern "C" {
#include "codec/json.h"
#include "codec/tape.h"
}

namespace od = simdjson::ondemand;

namespace
{

/* Least room per iterate_many batch (the parser keeps ~5 bytes per byte
 * of it): the run must fit in one batch, and runs stop near 128 KiB. */
constexpr size_t JSON_MIN_BATCH = 128 << 10;

struct json_state {
	od::parser parser;
};

int
json_err(simdjson::error_code e)
{
	switch (e) {
	case simdjson::SUCCESS:
		return 0;
	case simdjson::MEMALLOC:
		return -ENOMEM;
	case simdjson::DEPTH_ERROR:
		return AEMP_EDEPTH;
	case simdjson::CAPACITY:
		return AEMP_ETOOBIG;
	default:
		return AEMP_EMALFORMED;
	}
}

od::parser *
json_parser(struct cod_tape *t)
{
	if (t->json == nullptr)
		t->json = new (std::nothrow) json_state();
	if (t->json == nullptr)
		return nullptr;
	return &static_cast<json_state *>(t->json)->parser;
}

aemp_val
json_str(const char *s, size_t n)
{
	aemp_val v = aemp_strn(s, n);
	return v;
}

/* Length of the run of digits at s[i..n). */
size_t
json_digits(std::string_view s, size_t i)
{
	size_t j = i;

	while (j < s.size() && s[j] >= '0' && s[j] <= '9')
		j++;
	return j - i;
}

/* 1 if s is exactly a JSON number (RFC 8259 grammar). */
int
json_is_number(std::string_view s)
{
	size_t i = s.size() > 0 && s[0] == '-', k;

	if ((k = json_digits(s, i)) == 0 || (s[i] == '0' && k > 1))
		return 0;
	i += k;
	if (i < s.size() && s[i] == '.') {
		if ((k = json_digits(s, i + 1)) == 0)
			return 0;
		i += 1 + k;
	}
	if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < s.size() && (s[i] == '+' || s[i] == '-'))
			i++;
		if ((k = json_digits(s, i)) == 0)
			return 0;
		i += k;
	}
	return i == s.size();
}

/* A negative integer literal (a JSON number) below int64, which simdjson
 * refuses: -1 - n for an argument n of CBOR major type 1 when it is at
 * least -2^64.  Returns 1 and *out, or 0 (not such an integer). */
int
json_negint(std::string_view tok, aemp_val *out)
{
	std::string_view dig = tok.substr(1);
	uint64_t m = 0;

	if (tok.size() < 2 || tok[0] != '-' ||
	    json_digits(tok, 1) != dig.size())
		return 0;
	if (dig == "18446744073709551616") { /* -2^64 */
		*out = aemp_negint(UINT64_MAX);
		return 1;
	}
	for (char c : dig) {
		unsigned d = static_cast<unsigned>(c - '0');

		if (m > (UINT64_MAX - d) / 10)
			return 0;
		m = m * 10 + d;
	}
	if (m <= static_cast<uint64_t>(INT64_MAX) + 1)
		return 0; /* simdjson types these itself */
	*out = aemp_negint(m - 1);
	return 1;
}

/* A number simdjson would not type (beyond 64 bits): an exact integer
 * down to -2^64, else a double if the token is a JSON number in the
 * double range. */
int
json_bignum(std::string_view tok, aemp_val *out)
{
	char buf[400], *end = nullptr;
	size_t n = tok.size();
	double d;

	while (n > 0 && (tok[n - 1] == ' ' || tok[n - 1] == '\t' ||
	                 tok[n - 1] == '\n' || tok[n - 1] == '\r'))
		n--;
	tok = tok.substr(0, n);
	if (n >= sizeof(buf) || !json_is_number(tok))
		return AEMP_EMALFORMED;
	if (json_negint(tok, out))
		return 0;
	memcpy(buf, tok.data(), n);
	buf[n] = '\0';
	d = strtod(buf, &end);
	if (end != buf + n || !std::isfinite(d))
		return AEMP_EMALFORMED;
	*out = aemp_float(d);
	return 0;
}

/*
 * One parse with get_number(), but simdjson 3.0.1 gets long doubles wrong:
 * get_number() returns 0 for doubles that need its slow path (more than
 * 19 digits: "12345678901234567890.0"), and get_double() misreads long
 * mantissas after "0." (0.1234... with 20 digits gives 4.8e-05).  Any
 * double token longer than 19 characters therefore goes to strtod, as do
 * integers beyond 64 bits (which simdjson refuses).
 */
int
json_number(od::value &v, aemp_val *out)
{
	std::string_view tok = v.raw_json_token();
	od::number num;

	if (v.get_number().get(num))
		return json_bignum(tok, out);
	switch (num.get_number_type()) {
	case od::number_type::signed_integer:
		*out = aemp_int(num.get_int64());
		return 0;
	case od::number_type::unsigned_integer:
		*out = aemp_uint(num.get_uint64());
		return 0;
	default:
		if (tok.size() > 19)
			return json_bignum(tok, out);
		*out = aemp_float(num.get_double());
		return 0;
	}
}

/* A string value: into the input when it has no escape. */
int
json_string(od::value &v, const uint8_t *end, aemp_val *out)
{
	std::string_view tok, s;
	od::raw_json_string raw;
	const uint8_t *q;
	size_t k;

	tok = v.raw_json_token();
	q = reinterpret_cast<const uint8_t *>(tok.data()) + 1;
	k = cod_json_strspan(q, static_cast<size_t>(end - q));
	if (q + k < end && q[k] == '"') {
		if (v.get_raw_json_string().get(raw))
			return AEMP_EMALFORMED;
		*out = json_str(reinterpret_cast<const char *>(q), k);
	} else {
		if (auto e = v.get_string().get(s))
			return json_err(e);
		*out = json_str(s.data(), s.size());
	}
	return 0;
}

int
json_key(od::field &f, const uint8_t *end, aemp_val *out)
{
	const uint8_t *q = reinterpret_cast<const uint8_t *>(f.key().raw());
	size_t k = cod_json_strspan(q, static_cast<size_t>(end - q));
	std::string_view s;

	if (q + k < end && q[k] == '"') {
		*out = json_str(reinterpret_cast<const char *>(q), k);
		return 0;
	}
	if (auto e = f.unescaped_key().get(s))
		return json_err(e);
	*out = json_str(s.data(), s.size());
	return 0;
}

struct json_walk {
	struct cod_tape *t;
	const uint8_t *end; /* end of the input (strings never pass it) */
};

int json_value(struct json_walk *w, od::value &v, uint32_t depth);

int
json_array(struct json_walk *w, od::array a, uint32_t depth)
{
	size_t mark = w->t->stklen;
	int rc;

	for (auto el : a) {
		od::value v;
		if (auto e = std::move(el).get(v))
			return json_err(e);
		if ((rc = json_value(w, v, depth + 1)) < 0)
			return rc;
	}
	return cod_tape_close(w->t, mark, AEMP_ARRAY);
}

int
json_object(struct json_walk *w, od::object o, uint32_t depth)
{
	size_t mark = w->t->stklen;
	aemp_val *k;
	int rc;

	for (auto fl : o) {
		od::field f;
		if (auto e = std::move(fl).get(f))
			return json_err(e);
		if ((k = cod_tape_slot(w->t)) == nullptr)
			return -ENOMEM;
		if ((rc = json_key(f, w->end, k)) < 0)
			return rc;
		w->t->stklen++;
		if ((rc = json_value(w, f.value(), depth + 1)) < 0)
			return rc;
	}
	return cod_tape_close(w->t, mark, AEMP_MAP);
}

int
json_container(struct json_walk *w, od::value &v, od::json_type type,
               uint32_t depth)
{
	od::array a;
	od::object o;

	if (depth >= AEMP_MAX_DEPTH)
		return AEMP_EDEPTH;
	if (type == od::json_type::array) {
		if (auto e = v.get_array().get(a))
			return json_err(e);
		return json_array(w, a, depth);
	}
	if (auto e = v.get_object().get(o))
		return json_err(e);
	return json_object(w, o, depth);
}

/* Numbers, booleans and null. */
int
json_scalar(od::value &v, od::json_type type, aemp_val *out)
{
	bool b = false;

	switch (type) {
	case od::json_type::number:
		return json_number(v, out);
	case od::json_type::boolean:
		if (auto e = v.get_bool().get(b))
			return json_err(e);
		*out = aemp_bool(b);
		return 0;
	case od::json_type::null:
		if (v.is_null().get(b) || !b)
			return AEMP_EMALFORMED;
		*out = aemp_null();
		return 0;
	default:
		return AEMP_EMALFORMED;
	}
}

/* Appends the value v (depth = containers around it) to t->stk. */
int
json_value(struct json_walk *w, od::value &v, uint32_t depth)
{
	od::json_type type;
	aemp_val *x;
	int rc;

	if (auto e = v.type().get(type))
		return json_err(e);
	if (type == od::json_type::array || type == od::json_type::object)
		return json_container(w, v, type, depth);
	if ((x = cod_tape_slot(w->t)) == nullptr)
		return -ENOMEM;
	if (type == od::json_type::string)
		rc = json_string(v, w->end, x);
	else
		rc = json_scalar(v, type, x);
	if (rc < 0)
		return rc;
	w->t->stklen++;
	return 0;
}

/* Walks a document whose root is an array (or, unless want_array, an
 * object) into t and finishes the tree. */
template <typename D>
int
json_doc(struct json_walk *w, D &doc, int want_array, const aemp_val **out)
{
	od::json_type type;
	od::value v;
	int rc;

	cod_tape_reset(w->t);
	if (auto e = doc.type().get(type))
		return json_err(e);
	if (type != od::json_type::array &&
	    (want_array || type != od::json_type::object))
		return AEMP_EMALFORMED;
	if (auto e = doc.get_value().get(v))
		return json_err(e);
	if ((rc = json_container(w, v, type, 0)) < 0)
		return rc;
	if ((*out = cod_tape_finish(w->t)) == nullptr)
		return -ENOMEM;
	return 0;
}

/* Decodes one array or object filling p[0..len) into t. */
int
json_decode_one(struct cod_tape *t, const uint8_t *p, size_t len,
                int want_array, const aemp_val **out)
{
	struct json_walk w = {t, p + len};
	od::parser *parser = json_parser(t);
	od::document doc;
	const char *rest = nullptr;
	int rc;

	if (parser == nullptr)
		return -ENOMEM;
	if (len > UINT32_MAX)
		return AEMP_ETOOBIG;
	if (auto e = parser->iterate(p, len, len + COD_PADDING).get(doc))
		return json_err(e);
	if ((rc = json_doc(&w, doc, want_array, out)) < 0)
		return rc;
	/* Anything left after the root is a second text: not one value. */
	if (doc.current_location().get(rest) == simdjson::SUCCESS)
		return AEMP_EMALFORMED;
	return 0;
}

/*
 * A scalar text ("x", 12, null) is parsed as the only element of "[...]"
 * built in the tape's scratch: simdjson 3.0's root-scalar handling is
 * uneven (is_null() on " null " says false), an array element's is not.
 * Strings then point into the scratch copy, which lives as long as the
 * tape's values.  Control-plane use only (configuration, CLI).
 */
int
json_decode_scalar(struct cod_tape *t, const uint8_t *p, size_t len,
                   const aemp_val **out)
{
	const aemp_val *arr;
	int rc;

	if (len > UINT32_MAX - 2 - COD_PADDING)
		return AEMP_ETOOBIG;
	t->slen = 0;
	if (t->scap < len + 2 + COD_PADDING &&
	    cod_tape_grow_s(t, len + 2 + COD_PADDING) < 0)
		return -ENOMEM;
	t->s[0] = '[';
	memcpy(t->s + 1, p, len);
	t->s[len + 1] = ']';
	memset(t->s + len + 2, 0, COD_PADDING);
	rc = json_decode_one(t, reinterpret_cast<const uint8_t *>(t->s),
	                     len + 2, 1, &arr);
	if (rc < 0)
		return rc;
	if (arr->len != 1)
		return AEMP_EMALFORMED;
	*out = &arr->u.a[0];
	return 0;
}

/*
 * After the walk of packet i of a run: did the parser stop exactly at the
 * packet's end (the next packet's start, or the end of the run)?  On
 * malformed input iterate_many can end an array early without an error
 * ("[\"a\"2.5]" followed by more bytes reads as ["a"]); the walk then
 * stops inside the packet, and the caller falls back to parsing packets
 * one by one, which reports the error.
 */
bool
json_doc_ended(od::document_reference &doc, const uint8_t *p, size_t len,
               const struct cod_span *pk, size_t npk, size_t i)
{
	const char *loc = nullptr;
	bool out = doc.current_location().get(loc) != simdjson::SUCCESS;
	const uint8_t *at = reinterpret_cast<const uint8_t *>(loc);

	if (i + 1 < npk)
		return !out && at == p + pk[i + 1].off;
	return out || at >= p + len;
}

/*
 * The fast path of cod_json_decode_run: one iterate_many over the run.
 * Returns 0, cb's non-zero value (*by_cb set), or a decode error; *done
 * counts the packets handed to cb.
 */
int
json_run_many(struct cod_tape *t, const uint8_t *p, size_t len,
              const struct cod_span *pk, size_t npk, cod_pkt_fn cb, void *arg,
              size_t *done, int *by_cb)
{
	/* The parse starts at the first packet; its index 0 is pk[0].off. */
	const uint8_t *q = p + pk[0].off;
	size_t qlen = len - pk[0].off, i = 0;
	struct json_walk w = {t, p + len};
	od::parser *parser = json_parser(t);
	od::document_stream st;
	const aemp_val *pkt;
	int rc;

	if (parser == nullptr)
		return -ENOMEM;
	if (auto e = parser->iterate_many(q, qlen,
	                                  std::max(qlen, JSON_MIN_BATCH))
	                     .get(st))
		return json_err(e);
	for (auto it = st.begin(); it != st.end(); ++it, *done = ++i) {
		od::document_reference doc;
		if (i == npk || it.current_index() + pk[0].off != pk[i].off)
			return AEMP_EMALFORMED;
		if (auto e = (*it).get(doc))
			return json_err(e);
		if ((rc = json_doc(&w, doc, 1, &pkt)) < 0)
			return rc;
		if (!json_doc_ended(doc, p, len, pk, npk, i))
			return AEMP_EMALFORMED;
		if ((rc = cb(arg, pkt, p + pk[i].off, pk[i].len)) != 0) {
			*by_cb = 1;
			return rc;
		}
	}
	return i == npk ? 0 : AEMP_EMALFORMED;
}

} /* namespace */

extern "C" void
cod_json_free(void *json)
{
	delete static_cast<json_state *>(json);
}

extern "C" int
cod_json_decode(struct cod_tape *t, const uint8_t *p, size_t len,
                int want_array, const aemp_val **out)
{
	size_t i = 0;

	while (i < len &&
	       (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
		i++;
	if (!want_array && (i == len || (p[i] != '[' && p[i] != '{')))
		return json_decode_scalar(t, p, len, out);
	return json_decode_one(t, p, len, want_array, out);
}

extern "C" int
cod_json_decode_run(struct cod_tape *t, const uint8_t *p, size_t len,
                    const struct cod_span *pk, size_t npk, cod_pkt_fn cb,
                    void *arg)
{
	const aemp_val *pkt;
	size_t i = 0, nb = npk;
	uint8_t after = p[len];
	int rc = 0, by_cb = 0;

	/*
	 * iterate_many reads the byte after its input: when that is ',' or
	 * ']', a malformed last document can pass ("[1,,2]" then ","), so
	 * the run stops before a packet not followed by whitespace or the
	 * next packet's '[', and that packet is parsed alone.
	 */
	if (!(after == ' ' || after == '\n' || after == '\r' || after == '\t' ||
	      after == '['))
		nb--;
	if (nb >= 2)
		rc = json_run_many(t, p, pk[nb - 1].off + pk[nb - 1].len, pk,
		                   nb, cb, arg, &i, &by_cb);
	if (by_cb || rc == -ENOMEM)
		return rc;
	/*
	 * The rest, and all of a run that failed as a whole (simdjson checks
	 * the UTF-8 of the whole run first), one packet at a time: the
	 * packets before a bad one still come out, as with any split.
	 */
	for (; i < npk; i++) {
		rc = json_decode_one(t, p + pk[i].off, pk[i].len, 1, &pkt);
		if (rc < 0)
			return rc;
		if ((rc = cb(arg, pkt, p + pk[i].off, pk[i].len)) != 0)
			return rc;
	}
	return 0;
}

extern "C" size_t
cod_json_dtoa(double d, char *out)
{
	std::to_chars_result r = std::to_chars(out, out + 32, d);

	return static_cast<size_t>(r.ptr - out);
}
