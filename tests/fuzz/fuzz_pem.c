/*
 * tests/fuzz/fuzz_pem.c - libFuzzer target for the "cert" PEM blob: the
 * block splitter (crypto/pem.c) with its invariants checked, then the
 * whole load as a node does it (cry_tls_ctx_new) and aemp_cert_check.
 *
 * Seeds in tests/fuzz/corpus/fuzz_pem/: the layouts of crypto_cert.c
 * (OpenSSL- and aemp-made blobs, CA chains, encrypted keys, broken
 * blocks).  Build: make FLAVOR=fuzz fuzz-build.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aemp.h"
#include "crypto/pem.h"
#include "crypto/tls.h"

/* What cry_pem_init promises about a successful split. */
static void
check_split(const struct cry_pem *pem)
{
	size_t used = 0;

	if (pem->n < 0 || pem->n > CRY_PEM_BLOCKS_MAX)
		abort();
	for (int i = 0; i < pem->n; i++) {
		const struct cry_pem_block *b = &pem->blk[i];

		if (b->kind != CRY_PEM_CERT && b->kind != CRY_PEM_KEY)
			abort();
		if (b->der_len == 0 || b->der != pem->buf + used ||
		    used + b->der_len > pem->cap)
			abort();
		if (strlen(b->label) > CRY_PEM_LABEL_MAX || b->index <= i)
			abort();
		used += b->der_len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct cry_tls_ctx *ctx = NULL;
	struct cry_pem pem;

	if (cry_pem_init(&pem, text, size) == 0) {
		check_split(&pem);
		cry_pem_fini(&pem);
	}
	if (cry_tls_ctx_new(&ctx, text, size) == 0)
		cry_tls_ctx_free(ctx);
	(void)aemp_cert_check(text, size);
	return 0;
}
