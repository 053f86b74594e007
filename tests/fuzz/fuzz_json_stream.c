/*
 * tests/fuzz/fuzz_json_stream.c - libFuzzer target for JSON packet
 * streams (codec/stream.c, codec/json_scan.c, codec/json.cc) and JSON
 * values: see tests/fuzz/fuzz_codec.h for the input layout and what is
 * checked.  Seeds in tests/fuzz/corpus/fuzz_json_stream/: the JSON
 * packets of tests/vectors with a two-byte header.
 * Build: make FLAVOR=fuzz fuzz-build.
 */
#include "tests/fuzz/fuzz_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_run(COD_JSON, data, size);
}
