/*
 * tests/unit/crypto_wolf.c - the wolfSSL that is linked is the one the
 * build meant (docs/tls.md §8).
 *
 * With the build from Debian's source (AEMP_WOLFSSL_BUILT, set by
 * tools/wolfssl.mk): it has AES-NI, the Intel assembly and (x86-64) the
 * SP code for the handshake's public-key operations, no shared
 * libwolfssl is loaded (the static one is in the program), and on a CPU
 * with AES-NI the library's AES-GCM really uses it.  With Debian's
 * library (the fallback, or WOLFSSL=system): that library is loaded and
 * AES-GCM is not preferred.  Either way, the headers compiled against
 * are the library's version and size its structures as it does, and the
 * description names it.
 */
#include <link.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/wolf.h"
#include "tests/tap.h"

/* dl_iterate_phdr callback: counts loaded objects named libwolfssl.so* */
static int
count_wolf_so(struct dl_phdr_info *info, size_t size, void *arg)
{
	const char *base = strrchr(info->dlpi_name, '/');

	(void)size;
	base = base != NULL ? base + 1 : info->dlpi_name;
	if (strncmp(base, "libwolfssl.so", 13) == 0)
		(*(int *)arg)++;
	return 0;
}

#define GUARD 512

static int
guard_intact(const uint8_t *g)
{
	for (int i = 0; i < GUARD; i++)
		if (g[i] != 0xa5)
			return 0;
	return 1;
}

/* The headers size wolfSSL's structures as the library does: keys the
 * library sets up stay inside sizeof, the guard bytes after them stay
 * untouched.  Header and library disagreeing (e.g. on HAVE___UINT128_T,
 * which Debian's options.h leaves out; tools/wolfssl.sh) makes ecc_key
 * and RsaKey too small here, and the library writes past them. */
static void
test_layout(void)
{
	struct {
		ecc_key k;
		uint8_t guard[GUARD];
	} *e = calloc(1, sizeof(*e));
	struct {
		RsaKey k;
		uint8_t guard[GUARD];
	} *r = calloc(1, sizeof(*r));
	WC_RNG rng;

	memset(e->guard, 0xa5, GUARD);
	memset(r->guard, 0xa5, GUARD);
	CHECK_EQ(wc_InitRng(&rng), 0);
	CHECK_EQ(wc_ecc_init(&e->k), 0);
	CHECK_EQ(wc_ecc_make_key(&rng, 32, &e->k), 0);
	CHECK(guard_intact(e->guard));
	CHECK_EQ(wc_InitRsaKey(&r->k, NULL), 0);
	CHECK(guard_intact(r->guard));
	wc_FreeRsaKey(&r->k);
	wc_ecc_free(&e->k);
	wc_FreeRng(&rng);
	free(e);
	free(r);
}

int
main(void)
{
	struct cry_wolf_info w;
	char what[160];
	int so = 0;

	CHECK_OK(cry_wolf_init());
	cry_wolf_info(&w);
	DIAG("%s", cry_wolf_describe(what, sizeof(what)));
	DIAG("built %d aesni %d intelasm %d cpu_aes %d cpu_avx2 %d "
	     "gcm_aesni %d",
	     w.built, w.aesni, w.intelasm, w.cpu_aes, w.cpu_avx2, w.gcm_aesni);
	CHECK_STREQ(w.version, LIBWOLFSSL_VERSION_STRING);
	CHECK(strstr(what, w.version) != NULL);
	CHECK_EQ(cry_wolf_aes_fast(), w.gcm_aesni);
	dl_iterate_phdr(count_wolf_so, &so);
#ifdef AEMP_WOLFSSL_BUILT
	CHECK_EQ(w.built, 1);
	CHECK_EQ(w.aesni, 1);
	CHECK_EQ(w.intelasm, 1);
#if defined(__x86_64__) && !defined(WOLFSSL_SP_X86_64_ASM)
	CHECK(!"built without the x86-64 SP code (--enable-sp-asm)");
#endif
	CHECK_EQ(so, 0);
	CHECK_EQ(w.gcm_aesni, w.cpu_aes);
	CHECK(strstr(what, "built from source") != NULL);
#else
	CHECK_EQ(w.built, 0);
	CHECK_EQ(so, 1);
	/* Debian's package has no AES-NI: ChaCha20-Poly1305 first. */
	CHECK_EQ(w.gcm_aesni, w.aesni && w.cpu_aes);
	CHECK(strstr(what, "of Debian") != NULL);
#endif
	test_layout();
	return tap_done();
}
