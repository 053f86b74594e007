/*
 * tests/unit/crypto_hash.c - SHA3-512, HMAC-SHA3-512 (block size 72),
 * hex, constant-time compare, Base64 and the random helpers
 * (aemp-protocol.md §2.4, §2.9).
 */
#include <errno.h>

#include "crypto/crypto.h"
#include "ring/base.h"
#include "tests/tap.h"

#define FOX "The quick brown fox jumps over the lazy dog"

static const char sha3_abc[] =
        "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e"
        "10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0";
static const char sha3_empty[] =
        "a69f73cca23a9ac5c8b567dc185a756e97c982164fe25859e0d1dcc1475c80a6"
        "15b2123af1f5f94c11e3e9402c3ac558f500199d95b6d3e301758586281dcd26";
static const char hmac_fox[] =
        "237a35049c40b3ef5ddd960b3dc893d8284953b9a4756611b1b61bffcf53edd9"
        "79f93547db714b06ef0a692062c609b70208ab8d4a280ceee40ed8100f293063";
/* What a (wrong) block size of 128 gives; must never come out. */
static const char hmac_fox_block128[] =
        "2a18de870613ad3cb1d3ed660320c8508c1107915ab7d9eadc06723237e97de4"
        "91e8ba87b3a2e2f4c61775e24e11f77bdd9e7406d5dca68e9c692c67fc3307b1";
static const char hmac_longkey[] =
        "11f8010ffeacd2dc20d9e636f67b319bb0bb57a2941c12c0c5d54767d44b66df"
        "a04239e470212e9b00400613833ed0053f7415cf3b070dab6b550b6f1413c910";

static struct iovec
iov_str(const char *s)
{
	struct iovec v = {(void *)s, strlen(s)};
	return v;
}

static void
hex_of(const uint8_t md[CRY_SHA3_512_LEN], char out[CRY_TOKEN_HEX_MAX])
{
	cry_hex(md, CRY_SHA3_512_LEN, out);
}

/* RFC 2104 HMAC over cry_sha3_512 with any block size: the reference the
 * library is checked against, and the source of the block-128 mistake. */
static void
hmac_ref(size_t block, const char *key, size_t klen, const char *msg,
         char out[CRY_TOKEN_HEX_MAX])
{
	uint8_t k[256] = {0}, ipad[256], opad[256], inner[CRY_SHA3_512_LEN];
	uint8_t md[CRY_SHA3_512_LEN];
	struct iovec v[2];

	if (klen > block) {
		v[0] = (struct iovec){(void *)key, klen};
		cry_sha3_512(v, 1, k);
	} else {
		memcpy(k, key, klen);
	}
	for (size_t i = 0; i < block; i++) {
		ipad[i] = k[i] ^ 0x36;
		opad[i] = k[i] ^ 0x5c;
	}
	v[0] = (struct iovec){ipad, block};
	v[1] = iov_str(msg);
	cry_sha3_512(v, 2, inner);
	v[0] = (struct iovec){opad, block};
	v[1] = (struct iovec){inner, sizeof(inner)};
	cry_sha3_512(v, 2, md);
	hex_of(md, out);
}

static void
test_sha3(void)
{
	uint8_t md[CRY_SHA3_512_LEN];
	char hex[CRY_TOKEN_HEX_MAX];
	struct iovec v[3] = {iov_str("a"), iov_str(""), iov_str("bc")};

	CHECK_OK(cry_sha3_512(v, 3, md));
	hex_of(md, hex);
	CHECK_STREQ(hex, sha3_abc);
	CHECK_OK(cry_sha3_512(v, 0, md));
	hex_of(md, hex);
	CHECK_STREQ(hex, sha3_empty);
}

static void
test_hmac(void)
{
	uint8_t md[CRY_SHA3_512_LEN];
	char hex[CRY_TOKEN_HEX_MAX], key[100];
	struct iovec v[2] = {iov_str("The quick brown fox"),
	                     iov_str(" jumps over the lazy dog")};

	CHECK_OK(cry_hmac_sha3_512("key", 3, v, 2, md));
	hex_of(md, hex);
	CHECK_STREQ(hex, hmac_fox);
	CHECK(strcmp(hex, hmac_fox_block128) != 0);

	memset(key, 'k', sizeof(key));
	v[0] = iov_str("msg");
	CHECK_OK(cry_hmac_sha3_512(key, sizeof(key), v, 1, md));
	hex_of(md, hex);
	CHECK_STREQ(hex, hmac_longkey);

	/* The reference construction reproduces all three published
	 * values, so the negative vector really is "block size 128". */
	hmac_ref(CRY_HMAC_BLOCK, "key", 3, FOX, hex);
	CHECK_STREQ(hex, hmac_fox);
	hmac_ref(128, "key", 3, FOX, hex);
	CHECK_STREQ(hex, hmac_fox_block128);
	hmac_ref(CRY_HMAC_BLOCK, key, sizeof(key), "msg", hex);
	CHECK_STREQ(hex, hmac_longkey);

	/* Keys of exactly the block size are used as they are, one more
	 * byte is hashed: both must agree with the reference. */
	for (size_t klen = 71; klen <= 73; klen++) {
		char ref[CRY_TOKEN_HEX_MAX];

		v[0] = iov_str(FOX);
		CHECK_OK(cry_hmac_sha3_512(key, klen, v, 1, md));
		hex_of(md, hex);
		hmac_ref(CRY_HMAC_BLOCK, key, klen, FOX, ref);
		CHECK_STREQ(hex, ref);
	}
}

static void
test_hex_memeq(void)
{
	const uint8_t b[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
	char hex[2 * sizeof(b) + 1];

	cry_hex(b, sizeof(b), hex);
	CHECK_STREQ(hex, "00017f80abff");
	cry_hex(b, 0, hex);
	CHECK_STREQ(hex, "");
	CHECK_EQ(cry_memeq("abc", "abc", 3), 1);
	CHECK_EQ(cry_memeq("abc", "abd", 3), 0);
	CHECK_EQ(cry_memeq("\x80", "\x00", 1), 0);
	CHECK_EQ(cry_memeq("x", "y", 0), 1);
}

static void
test_base64(void)
{
	static const char *const rfc[][2] = {
	        {"", ""},
	        {"f", "Zg=="},
	        {"fo", "Zm8="},
	        {"foo", "Zm9v"},
	        {"foob", "Zm9vYg=="},
	        {"fooba", "Zm9vYmE="},
	        {"foobar", "Zm9vYmFy"},
	};
	char enc[128];
	uint8_t dec[128], nonce[66];

	for (size_t i = 0; i < AEMP_ARRAY_LEN(rfc); i++) {
		size_t n = strlen(rfc[i][0]);

		CHECK_EQ(cry_base64((const uint8_t *)rfc[i][0], n, enc),
		         strlen(rfc[i][1]));
		CHECK_STREQ(enc, rfc[i][1]);
		CHECK_EQ(cry_base64_decode(rfc[i][1], strlen(rfc[i][1]), dec,
		                           sizeof(dec)),
		         n);
		CHECK_MEMEQ(dec, n, rfc[i][0], n);
	}
	/* §2.12: the nonces 00..41 and 80..c1 as 88 characters. */
	for (int i = 0; i < 66; i++)
		nonce[i] = (uint8_t)i;
	CHECK_EQ(cry_base64(nonce, 66, enc), 88);
	CHECK_STREQ(enc, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJC"
	                 "UmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BB");
	for (int i = 0; i < 66; i++)
		nonce[i] = (uint8_t)(0x80 + i);
	cry_base64(nonce, 66, enc);
	CHECK_STREQ(enc, "gIGCg4SFhoeIiYqLjI2Oj5CRkpOUlZaXmJmam5ydnp+goaKjpK"
	                 "Wmp6ipqqusra6vsLGys7S1tre4ubq7vL2+v8DB");
	CHECK_EQ(cry_base64_decode(enc, 88, dec, sizeof(dec)), 66);
	CHECK_MEMEQ(dec, 66, nonce, 66);

	/* Whitespace is skipped (PEM lines); everything else is strict. */
	CHECK_EQ(cry_base64_decode(" Zm9v\r\nYmFy\n", 12, dec, sizeof(dec)), 6);
	CHECK_ERR(cry_base64_decode("Zm9", 3, dec, sizeof(dec)), -EINVAL);
	CHECK_ERR(cry_base64_decode("Zg=", 3, dec, sizeof(dec)), -EINVAL);
	CHECK_ERR(cry_base64_decode("Z===", 4, dec, sizeof(dec)), -EINVAL);
	CHECK_ERR(cry_base64_decode("Zg==Zg==", 8, dec, sizeof(dec)), -EINVAL);
	CHECK_ERR(cry_base64_decode("Zm=v", 4, dec, sizeof(dec)), -EINVAL);
	CHECK_ERR(cry_base64_decode("Zm9*", 4, dec, sizeof(dec)), -EINVAL);
	CHECK_ERR(cry_base64_decode("Zm9vYmFy", 8, dec, 5), -ENOBUFS);
}

static void
test_random(void)
{
	static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                               "abcdefghijklmnopqrstuvwxyz";
	enum { N = 62 * 2000 };
	static char s[N];
	unsigned count[62] = {0};
	uint8_t a[32] = {0}, b[32] = {0};
	char secret[181];
	double chi2 = 0, expect = N / 62.0;

	CHECK_OK(cry_random(a, sizeof(a)));
	CHECK_OK(cry_random(b, sizeof(b)));
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	CHECK_OK(cry_random(a, 0));

	CHECK_OK(cry_random_alnum(s, N));
	for (size_t i = 0; i < N; i++) {
		const char *p = memchr(alphabet, s[i], 62);

		if (p == NULL)
			break;
		count[p - alphabet]++;
	}
	unsigned total = 0;

	for (int i = 0; i < 62; i++)
		total += count[i];
	CHECK_EQ(total, N);
	for (int i = 0; i < 62; i++)
		chi2 += (count[i] - expect) * (count[i] - expect) / expect;
	/* 61 degrees of freedom: p = 1e-6 is at about 130. */
	DIAG("alnum chi-square %.1f over %d draws", chi2, N);
	CHECK(chi2 < 130);

	memset(secret, '#', sizeof(secret));
	CHECK_OK(aemp_gensecret(secret, 180));
	CHECK_EQ(strlen(secret), 180);
	CHECK_EQ(strspn(secret, alphabet), 180);
	CHECK_ERR(aemp_gensecret(NULL, 180), -EINVAL);
	CHECK_ERR(aemp_gensecret(secret, 0), -EINVAL);
}

int
main(void)
{
	test_sha3();
	test_hmac();
	test_hex_memeq();
	test_base64();
	test_random();
	return tap_done();
}
