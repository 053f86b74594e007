/*
 * tests/fuzz/fuzz_frag.c - libFuzzer target for the reassembly of
 * fragments (engine/net/frag.c, contract engine/net/frag.h).
 *
 * The input is a sequence of fragments with arbitrary interleaving of
 * streams, sizes, offsets and truncation, checked against a model:
 *   byte 0, 1   max_packet = 64 << (b0 % 12), max_bytes = 64 << (b1 % 14)
 *   then per fragment:
 *     sid    1 byte (16 streams possible, 8 may be open)
 *     flags  1 byte: bit 0 OFF is where the stream stands (else 2 bytes
 *            follow), bit 1 TOTAL is the stream's (else 3 bytes follow),
 *            bit 2 release the complete packet only after the next
 *            fragment, bit 3 give the piece in two writes
 *            (eng_frag_rx_begin, eng_frag_rx_write twice; the split is
 *            the next byte, scaled), as connrx.c does for a piece that
 *            straddles receive buffers
 *     len    2 bytes, then len bytes of piece (cut by the input's end)
 * The model predicts every result: 0, a complete packet (compared byte
 * for byte with the pieces the model kept, padding zeroed), or the error
 * code; after an error the connection would close, so the run ends with
 * eng_frag_rx_fini.  held never exceeds max_bytes, nor open streams 8.
 * The same input also goes through eng_frag_cbor_name, eng_frag_cbor_head
 * and, decoded as a CBOR value, eng_frag_parse (a fragment's fields must be
 * consistent, and the same through both parsers); and each fragment's head
 * from eng_frag_cbor_head_put must be the codec's bytes, byte for byte.
 *
 * Build: make FLAVOR=fuzz fuzz-build.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "codec/tape.h"
#include "engine/net/frag.h"

#define NSID 16

struct model {
	int open;
	size_t total;
	size_t got;
	uint8_t *buf;
};

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_frag: %s\n", what);
	abort();
}

static size_t
rd(const uint8_t **p, const uint8_t *end, int n)
{
	size_t v = 0;

	while (n-- > 0)
		v = v << 8 | (*p < end ? *(*p)++ : 0);
	return v;
}

static void
check_parse(const uint8_t *data, size_t size)
{
	static struct cod_tape t;
	static int init;
	struct eng_frag_piece f, h;
	const aemp_val *v;
	const char *name;
	size_t len, hl;
	uint8_t *copy;
	int rc;

	if (eng_frag_cbor_name(data, size, &name, &len) == 0 &&
	    (name < (const char *)data ||
	     name + len > (const char *)data + size))
		fail("cbor_name out of bounds");
	if (!init) {
		cod_tape_init(&t);
		init = 1;
	}
	copy = malloc(size + COD_PADDING);
	memcpy(copy, data, size);
	memset(copy + size, 0, COD_PADDING);
	if (cod_decode(COD_CBOR, &t, copy, size, &v) == 0) {
		rc = eng_frag_parse(v, &f);
		if (rc == 1 &&
		    (f.n == 0 || f.off >= f.total || f.n > f.total - f.off))
			fail("parse accepted an inconsistent fragment");
		if (rc == 1 && eng_frag_cbor_head(data, size, &h, &hl) == 1 &&
		    (h.sid != f.sid || h.off != f.off || h.total != f.total ||
		     h.n != f.n || copy + hl != f.p))
			fail("head parser and decoder disagree");
	}
	if (eng_frag_cbor_head(data, size, &h, &hl) == 1 &&
	    (hl > size || hl > ENG_FRAG_HEAD_MAX))
		fail("head parser out of bounds");
	free(copy);
}

/* check_head_put - the head eng_frag_cbor_head_put writes for fragment f
 * is what the codec writes before the piece's bytes, and parses back. */
static void
check_head_put(const struct eng_frag_piece *f)
{
	static uint8_t buf[ENG_FRAG_HEAD_MAX + 65536 + 64];
	uint8_t h[ENG_FRAG_HEAD_MAX];
	struct eng_frag_piece g;
	aemp_val a[5];
	struct cod_seg seg = {a, 5};
	size_t hl, gl;
	ssize_t n;

	a[0] = aemp_str("aemp_frag");
	a[1] = aemp_uint(f->sid);
	a[2] = aemp_uint(f->off);
	a[3] = aemp_uint(f->total);
	a[4] = aemp_bytes(f->p, f->n);
	hl = eng_frag_cbor_head_put(h, f->sid, f->off, f->total, f->n);
	n = cod_encode_packet(COD_CBOR, buf, sizeof(buf), "", 0, &seg, 1);
	if (n < 0 || (size_t)n != hl + f->n || memcmp(buf, h, hl) != 0)
		fail("head_put differs from the codec");
	if (eng_frag_cbor_head(h, hl, &g, &gl) != 1 || gl != hl ||
	    g.sid != f->sid || g.off != f->off || g.total != f->total ||
	    g.n != f->n)
		fail("head_put does not parse back");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	struct model m[NSID];
	struct eng_frag_rx r;
	struct eng_frag_piece f;
	uint8_t *pend = NULL, *out;
	size_t pendlen = 0, pendcap = 0, outlen, outcap, max_packet, max_bytes,
	       held = 0;
	unsigned open = 0;
	int rc, want, i;

	check_parse(data, size);
	if (size < 2)
		return 0;
	max_packet = (size_t)64 << (rd(&p, end, 1) % 12);
	max_bytes = (size_t)64 << (rd(&p, end, 1) % 14);
	memset(m, 0, sizeof(m));
	eng_frag_rx_init(&r, max_packet, max_bytes);
	while (p < end) {
		unsigned sid = (unsigned)rd(&p, end, 1) % NSID;
		unsigned flags = (unsigned)rd(&p, end, 1);
		struct model *s = &m[sid];
		size_t len, split;

		f.sid = sid * 0x100000001ull; /* wide stream ids */
		f.off = (flags & 1) ? (s->open ? s->got : 0) : rd(&p, end, 2);
		f.total = (flags & 2) && s->open ? s->total : rd(&p, end, 3);
		split = (flags & 8) ? rd(&p, end, 1) : 0;
		len = rd(&p, end, 2);
		if (len > (size_t)(end - p))
			len = (size_t)(end - p); /* truncated */
		f.p = p;
		f.n = len;
		p += len;
		check_head_put(&f);

		/* the model's answer */
		if (f.n == 0 || f.off >= f.total || f.n > f.total - f.off)
			want = AEMP_EMALFORMED;
		else if (!s->open && f.off != 0)
			want = AEMP_EMALFORMED;
		else if (s->open && (f.off != s->got || f.total != s->total))
			want = AEMP_EMALFORMED;
		else if (!s->open && f.total > max_packet)
			want = AEMP_ETOOBIG;
		else if (!s->open && (open >= ENG_FRAG_STREAMS ||
		                      f.total > max_bytes - held))
			want = AEMP_EOVERFLOW;
		else
			want = f.off + f.n == f.total;

		if (flags & 8) {
			/* in two writes, the first 0..n bytes long */
			split = f.n * split / 255;
			rc = eng_frag_rx_begin(&r, &f);
			if (rc == 0)
				rc = eng_frag_rx_write(&r, f.p, split, &out,
				                       &outlen, &outcap);
			if (rc == 0 && split < f.n)
				rc = eng_frag_rx_write(&r, f.p + split,
				                       f.n - split, &out,
				                       &outlen, &outcap);
			else if (rc == 1 && split < f.n)
				fail("complete before the piece's end");
		} else {
			rc = eng_frag_rx_piece(&r, &f, &out, &outlen, &outcap);
		}
		if (rc == -ENOMEM)
			break;
		if (rc != want) {
			fprintf(stderr,
			        "sid %u off %llu total %llu n %zu: %d, "
			        "model %d\n",
			        sid, (unsigned long long)f.off,
			        (unsigned long long)f.total, f.n, rc, want);
			fail("result differs from the model");
		}
		if (rc < 0)
			break;
		if (!s->open) {
			s->open = 1;
			s->total = (size_t)f.total;
			s->got = 0;
			s->buf = malloc(s->total);
			open++;
			held += s->total;
		}
		memcpy(s->buf + s->got, f.p, f.n);
		s->got += f.n;
		if (pend != NULL) {
			eng_frag_rx_release(&r, pend, pendlen, pendcap);
			held -= pendlen;
			pend = NULL;
		}
		if (rc == 1) {
			if (outlen != s->total ||
			    memcmp(out, s->buf, outlen) != 0)
				fail("reassembled packet differs");
			for (i = 0; i < COD_PADDING; i++)
				if (out[outlen + (size_t)i] != 0)
					fail("padding not zeroed");
			free(s->buf);
			s->buf = NULL;
			s->open = 0;
			open--;
			if (outcap < outlen)
				fail("buffer smaller than the packet");
			if (flags & 4) {
				pend = out;
				pendlen = outlen;
				pendcap = outcap;
			} else {
				eng_frag_rx_release(&r, out, outlen, outcap);
				held -= outlen;
			}
		}
		if (r.held != held || r.n != open || r.held > max_bytes ||
		    r.n > ENG_FRAG_STREAMS)
			fail("accounting differs");
	}
	if (pend != NULL)
		eng_frag_rx_release(&r, pend, pendlen, pendcap);
	eng_frag_rx_fini(&r);
	if (r.held != 0 || r.n != 0)
		fail("fini left something");
	for (i = 0; i < NSID; i++)
		free(m[i].buf);
	return 0;
}
