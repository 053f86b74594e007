/*
 * tests/fuzz/fuzz_cbor_stream.c - libFuzzer target for CBOR packet
 * streams (codec/stream.c, codec/cbor.c, codec/cbor_enc.c) and CBOR
 * values: see tests/fuzz/fuzz_codec.h for the input layout and what is
 * checked.  Seeds in tests/fuzz/corpus/fuzz_cbor_stream/: the CBOR
 * packets of tests/vectors with a two-byte header.
 * Build: make FLAVOR=fuzz fuzz-build.
 */
#include "tests/fuzz/fuzz_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_run(COD_CBOR, data, size);
}
