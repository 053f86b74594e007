/*
 * tests/fuzz/fuzz_modname.c - libFuzzer target for the mapping of a
 * function name from the network ("A::B::func", a spawn or function-name
 * request) to the module file loaded on demand (rel_of_func in
 * engine/core/module.c, docs/hosting.md).
 *
 * Checked on every input (a violation aborts): a name that maps to a file
 * gives a relative path ("A/B.so") of non-empty segments made of letters,
 * digits and '_' only, so it can never leave the module_path directory
 * ('/' at the start, "..", "." or an empty segment); the file ends in
 * ".so" and fits the buffer; names without a package map to nothing.
 * Seeds in tests/fuzz/corpus/fuzz_modname/.
 * Build: make FLAVOR=fuzz fuzz-build.
 */
#include "engine/core/module.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_REQUIRE(x)                                                          \
	do {                                                                   \
		if (!(x)) {                                                    \
			fprintf(stderr, "fuzz_modname: %s failed\n", #x);      \
			abort();                                               \
		}                                                              \
	} while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[ENG_MOD_NAME_MAX + 8];
	size_t i, len, seg = 0;
	int rc;

	memset(out, 0x55, sizeof(out));
	rc = rel_of_func((const char *)data, size, out, sizeof(out));
	FZ_REQUIRE(rc >= -EINVAL && rc <= 1);
	if (rc != 1)
		return 0;
	len = strnlen(out, sizeof(out));
	FZ_REQUIRE(len < sizeof(out));
	FZ_REQUIRE(len > 3 && strcmp(out + len - 3, ".so") == 0);
	for (i = 0; i < len - 3; i++) {
		if (out[i] == '/') {
			FZ_REQUIRE(seg > 0);
			seg = 0;
			continue;
		}
		FZ_REQUIRE(ident_char(out[i]));
		seg++;
	}
	FZ_REQUIRE(seg > 0);
	/* the input had "::" before the function's own name */
	FZ_REQUIRE(size >= 2 && memmem(data, size, "::", 2) != NULL);
	return 0;
}
