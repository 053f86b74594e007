/*
 * tests/unit/crypto_cert.c - the PEM blob of the "cert" setting: splitting
 * (crypto/pem.c), aemp_cert_check and cry_tls_ctx_new on the layouts
 * Perl's tool and OpenSSL write (certificate then key, key then
 * certificate, CA certificates after them; PKCS#8, PKCS#1 and SEC1 keys;
 * EC PARAMETERS blocks, CRLF, text between blocks), every refusal with
 * its message, and what aemp_gencert produces.
 */
#include <errno.h>

#include "crypto/crypto.h"
#include "crypto/pem.h"
#include "crypto/tls.h"
#include "crypto/wolf.h"
#include "ring/alloc.h"
#include "ring/base.h"
#include "tests/tap.h"
#include "tests/unit/test_certs.h"

/*
 * Fixtures made with OpenSSL 3.0 (`openssl ca` with -startdate 2000 and
 * -enddate 2125, so they stay valid): perl = RSA-2048 CN=AnyEvent::MP
 * with a PKCS#8 key (the `aemp gencert` layout); ec = `openssl ecparam
 * -genkey` output (EC PARAMETERS + SEC1 key); trad = PKCS#1 "RSA PRIVATE
 * KEY"; enc / legacy_enc = the ec key with a passphrase (PKCS#8 and
 * Proc-Type forms); expired = valid 2000-2001.  ca, leaf, leaf2 = a CA
 * and two EC leaves it signed are in tests/unit/test_certs.h.
 */
static const char fx_perl_crt[] =
        "-----BEGIN CERTIFICATE-----\n"
        "MIIC3jCCAcagAwIBAgICEAMwDQYJKoZIhvcNAQELBQAwFzEVMBMGA1UEAwwMQW55\n"
        "RXZlbnQ6Ok1QMCAXDTAwMDEwMTAwMDAwMFoYDzIxMjUwMTAxMDAwMDAwWjAXMRUw\n"
        "EwYDVQQDDAxBbnlFdmVudDo6TVAwggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEK\n"
        "AoIBAQCoEV/b13gdaBDowFQaH7+RWohE1R8agEDxi8BkxUJFvKxzuc+NL2CJXT/2\n"
        "K4g3dS6iMxc2SjyZHz01FKKwKjY+fKctYkwMv/JTSJSySA/D0YDguGqef1UTNaTT\n"
        "z/SJQOU8OuINhkYushUen4mvrP2p/WMa9Lg1ZSLN2w9fxZG5KDC7tbDKJnG4HYVg\n"
        "zLNkFpMy0PwrBpCm4TTJ/ssDzDiMcrmPUa119tvXfR70OA9wZ9oZCJqliBIkGarv\n"
        "zZPnRYAxnHpORDaG6ds+W/RjZ5tJTrfoUhqIohWIrsgYASlZm1lD5jFhETtDmavT\n"
        "iL+jdd8vs7qF4TUQRS4OY0ZinWVPAgMBAAGjMjAwMA8GA1UdEwEB/wQFMAMBAf8w\n"
        "HQYDVR0OBBYEFBsyRZ8ktsJSGKkmeJ6zWBLxuBgbMA0GCSqGSIb3DQEBCwUAA4IB\n"
        "AQAHKC6vFVTs7xIXbL9nXCYnvr195X63VVPyFUkaQzba12ai4iLD+qctKtiFYFCN\n"
        "S7gwqm2pjzVCG2RnBMV5AAnUaqLITto2kAiK0Pux081jqoqpzfEO0Z1knphLcKb1\n"
        "n+u0td/Ik2YW4gu7GXNpjDqskgHfYpF8e2X0uSTrB51NDPFCZLGrMCkH1eNfuq1z\n"
        "pPDFkTCBNcd732c5j3bsXh4NfdhkJzoo3d+2BYdPPxiY3BlUo8E7GeLgJsk3BeF8\n"
        "4roibycbezbT0qFfrhmfiqb9WoGjkAFWQX4wC0vpRFEn4Y8cJfBEBInUXlCR9Vzm\n"
        "rs7vTmAPe5J2/j8+6OuNEqtm\n"
        "-----END CERTIFICATE-----\n";

static const char fx_perl_key[] =
        "-----BEGIN PRIVATE KEY-----\n"
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCoEV/b13gdaBDo\n"
        "wFQaH7+RWohE1R8agEDxi8BkxUJFvKxzuc+NL2CJXT/2K4g3dS6iMxc2SjyZHz01\n"
        "FKKwKjY+fKctYkwMv/JTSJSySA/D0YDguGqef1UTNaTTz/SJQOU8OuINhkYushUe\n"
        "n4mvrP2p/WMa9Lg1ZSLN2w9fxZG5KDC7tbDKJnG4HYVgzLNkFpMy0PwrBpCm4TTJ\n"
        "/ssDzDiMcrmPUa119tvXfR70OA9wZ9oZCJqliBIkGarvzZPnRYAxnHpORDaG6ds+\n"
        "W/RjZ5tJTrfoUhqIohWIrsgYASlZm1lD5jFhETtDmavTiL+jdd8vs7qF4TUQRS4O\n"
        "Y0ZinWVPAgMBAAECggEAFKriTLC6sB8P0+zGytme9KXF6R+uLf5Ek4+PJAqP45nX\n"
        "486fOSpGJvjlIzASQFj0LZ+2bzIs29rta3LIrieFY89vaCjU16KJDvh3dKm2P+sq\n"
        "UTghwFuXNNVdb2tSE8jRB8Q+mnwpyEHqT/Q9ecbTq3eh8XrTkO60G3ggnrM3KtC/\n"
        "4xaE7S6MNcTOdO3aQni4eMydDaizw/xfKRKlAyDJ9RlN0S8dsQfU9+U6v+6mzFyr\n"
        "RGjVJMyJHv2GdPp7j0kDljU1rVpXczKSovQDgl25x/EmcbCZwleRy3C8tcW5f1Pp\n"
        "t918umzVpkqjwQ8OOxKwzAaQr3bIo+rcA7QMolfOKQKBgQDVQs1ICtc4p5kzitYt\n"
        "wnWHnHmARFTu/84Hkr4E2El8DYhiQ1lOZs0SWeC+Ay1Totj6x8IsYk7/id4Ax9Kx\n"
        "Jceh4RTywe+CopB7N+S4sVjlw02IH4ovqwhmU9XcNcBZZuFpEyCCmZMwiJ4nWyv/\n"
        "8KzXhWDsOUJ5+s2eqSp+4pJmRwKBgQDJv/l+Ns97rSkWqRstna4lFVoGSvvlMfEw\n"
        "SyOMKzsquWBBb/5xQYaoV4YG/7nPYAci1kGkoS8BdCyCVU+J2PQAYX+Y38AqNzPJ\n"
        "UgJH2tNkyuD4S7nImoCHBJxvmkfolI5rK7Ww/AOPCIBSCsdis7mPJwF4UMxSKai2\n"
        "pPpBQlSkuQKBgEWABcKKteUiyYzAnFhBXWgamIYyvrM87noNWpvdmOUyy9WqOTqR\n"
        "yhdG7zU9d9If6jKgUyl/yFsDJTR/6qwMseiRn/AVP+cE760YZBPEyEHoyiWokbJD\n"
        "PPOMMtAXPF5mZuOFdjzZq9xPSattzQMV/l4me5XAe2ehUs14N/8t+6QVAoGAE7Or\n"
        "qaewm2NNn+jjvpCncPek0vh/oOI/q3erAQU3wfRYcgt9zZGYlNf3Pre6bYXzLHO/\n"
        "9VPIQ1wU/KVYHx4QtfjPfR5cpcK+S+q2Tk4QVsd5MMY0XmK4KndIz51BaHUZc13R\n"
        "YHc74bvyzBBBaGIkvNYSTq2VRnDLCQsTZUwU+AECgYEAzo9Glz11m34fa9ggWEZS\n"
        "JpenS4dj0hqJzmmQnhdalmurfvNWQ3vlvVyfShUo89nnsD7GmfRmP/75dCze0tX0\n"
        "BHAUg+vb2JhLZBVp/sHykujaLRB94FpGqcXEGywHr2iQI5o8KREGpx0/Rqu4OvIl\n"
        "yGdxwpGsFF842E9sUBFFPM0=\n"
        "-----END PRIVATE KEY-----\n";

static const char fx_ec_key[] =
        "-----BEGIN EC PARAMETERS-----\n"
        "BggqhkjOPQMBBw==\n"
        "-----END EC PARAMETERS-----\n"
        "-----BEGIN EC PRIVATE KEY-----\n"
        "MHcCAQEEIAMM4QWo4453C/QyeElNwd3ggDfHbAYyfxQoKGQ24Xt5oAoGCCqGSM49\n"
        "AwEHoUQDQgAEcFBRbZWPgK4Zp9w3knyvJHbOHywyV8F1oTErKe5WZpo5CxzQE9O3\n"
        "sNVcmw5VhDMClFbyXgfbZ2qHn3bRpaTN1Q==\n"
        "-----END EC PRIVATE KEY-----\n";

static const char fx_ec_crt[] =
        "-----BEGIN CERTIFICATE-----\n"
        "MIIBUjCB+KADAgECAgIQBDAKBggqhkjOPQQDAjAXMRUwEwYDVQQDDAxBbnlFdmVu\n"
        "dDo6TVAwIBcNMDAwMTAxMDAwMDAwWhgPMjEyNTAxMDEwMDAwMDBaMBcxFTATBgNV\n"
        "BAMMDEFueUV2ZW50OjpNUDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABHBQUW2V\n"
        "j4CuGafcN5J8ryR2zh8sMlfBdaExKynuVmaaOQsc0BPTt7DVXJsOVYQzApRW8l4H\n"
        "22dqh5920aWkzdWjMjAwMA8GA1UdEwEB/wQFMAMBAf8wHQYDVR0OBBYEFIfH4bee\n"
        "EmW9YK4wc3u5o94jLj83MAoGCCqGSM49BAMCA0kAMEYCIQDOdK3bcUgo22qkJPGA\n"
        "yjJ+EL0ncx7fkOsp7PPy7hxc/AIhAMd4lAWJCbUuljaKUwZuLliqbxgxQCOy3/My\n"
        "kMTMzjXj\n"
        "-----END CERTIFICATE-----\n";

static const char fx_trad_key[] =
        "-----BEGIN RSA PRIVATE KEY-----\n"
        "MIIEpAIBAAKCAQEAwdQpftbbclNLY8Zmc10UE3g3+6dOw0GBpEj/i2cAb/DXwoma\n"
        "aqCF+Wu/uvBauZlJ8dugUmehIgfyoz7eelXgGwsJKWr3l8lcqCTlmCWWEitOUCWa\n"
        "Rklid0k1pEBIxelk/qHF1f/hLCd6ivJnX1eBm5cyEooHriy96L4AkFycRCiywhHg\n"
        "gVqULNq9SUmBbnhLUsebYyZ30ENn4+824cTBx6X2SK2qbPWY77hTkpzY4Wmhn5hJ\n"
        "86b4lg/i6RFVwm3HhjfwuG1Vzy+dHZ9c7/Dp2V8j+Eh8xP64GP6zrvdnnmMXJDBc\n"
        "iZTwoddN6ZSY+cMesoANSFR4NENFH+21ZvNEIwIDAQABAoIBAD5mWaeKbyJ6m1I3\n"
        "PKNWK1DrSoabQbmNfLmRgKd11Qe0rxljaFF8dTUrkZGSsHqA1XPmA1KUJyVIDr6s\n"
        "Tj5vKBM8tcneNHBqtIgzPLEDJLGbvH4D5QtMs8T4TisfQO5qKYfqN8Ehu/GVkhdq\n"
        "W4ovpzuabNXYFwnlQIxNouvWzL4KFZdBqwONxZrtnYqPrIU9OD9Ce4bZf2wsglNK\n"
        "Gl1TUzpqv1Vwv+/ZkYT2+dYT0BfsRz/cX67E1j6iBjiUPPg7WDNQYjH0rgXZTNGJ\n"
        "/qW4lPwpHTixYnYfX0Az60TP6nu12uVfhjAKFX9KhJOlPlHg3C35jvwTpKi0Yk9f\n"
        "cL/9zXkCgYEA/I+utoyNIEaLohU0CRtQ6aU9hRoMmp7M5ZRMQ9lhomGvStqfE8Zf\n"
        "bFE2SwP/B8aLpdsBEDFNxCxwz4bcDYhGKDgPsXMmm1tps2bMwCdjma6sAslT6pHx\n"
        "dO0OXAEIg4cNeEV/jYXGCEK17G/k+VOoe5aASFQfKKe7ZtYYVtceVXsCgYEAxHfD\n"
        "kV4w87yHzPt3Ttp1VwG1B8OCnBtQXf9tr+xCYSvhZwyGwTU/NvHGSw99xqxcvBIz\n"
        "mjs9sRRJ8T0PzQwu1iWnhBgZNaNNayahM8n/ynO0x/3vOXE7dmR/VLEXevCtyz1T\n"
        "zdyFxCFSY8wDspBHl19FUDiqDQv2hSoNeTbLh3kCgYEA1HKorLYeIIA3BOiBFQf9\n"
        "UAzHayc2YvohsRzF6mz5S/aP1Y+BMMk1i4/k88UwygGhhqpqgox2tgYL/wWaJWf0\n"
        "W/CMguAyIY0LpPVcVmbLyYK8/rsL881AJvMhmRLlbn40Pm93lDxrEJfNIE4fdfuB\n"
        "RjSbRDw+2Zv+b8q4PpRF1/ECgYA3UZWCV+gmqN3/7IpCbKZ/ch6b6gPbmqE9Zk9n\n"
        "KnniTG2yC0fiHPEIsnjn55u9lgiid+mJssaDFrhfMZdCX/zMFVweiH6IqMuCsSTQ\n"
        "pT7drUioyypRnT1l75Qer6Jx3lTBFiqDm2UavVsqeGZOH+vYhl3I4buX4tdt1VJn\n"
        "3/Lc2QKBgQC0ZwNgnsdQ+s28MJUdnm8DCONXHO155VRs2OR0Jyd7r064XcNmkMG7\n"
        "IAiTBLiuot7evhQet08nCc3q98M4vYJQbaRWW8HuIk243G3Ss01j+4tnl46mToch\n"
        "JZkhpgi2QcU2W6k2+u4Lsf4ygaxsKbz8radongP6C681G5wuQ19Q7A==\n"
        "-----END RSA PRIVATE KEY-----\n";

static const char fx_trad_crt[] =
        "-----BEGIN CERTIFICATE-----\n"
        "MIICzjCCAbagAwIBAgICEAUwDQYJKoZIhvcNAQELBQAwDzENMAsGA1UEAwwEdHJh\n"
        "ZDAgFw0wMDAxMDEwMDAwMDBaGA8yMTI1MDEwMTAwMDAwMFowDzENMAsGA1UEAwwE\n"
        "dHJhZDCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAMHUKX7W23JTS2PG\n"
        "ZnNdFBN4N/unTsNBgaRI/4tnAG/w18KJmmqghflrv7rwWrmZSfHboFJnoSIH8qM+\n"
        "3npV4BsLCSlq95fJXKgk5ZgllhIrTlAlmkZJYndJNaRASMXpZP6hxdX/4Swneory\n"
        "Z19XgZuXMhKKB64svei+AJBcnEQossIR4IFalCzavUlJgW54S1LHm2Mmd9BDZ+Pv\n"
        "NuHEwcel9kitqmz1mO+4U5Kc2OFpoZ+YSfOm+JYP4ukRVcJtx4Y38LhtVc8vnR2f\n"
        "XO/w6dlfI/hIfMT+uBj+s673Z55jFyQwXImU8KHXTemUmPnDHrKADUhUeDRDRR/t\n"
        "tWbzRCMCAwEAAaMyMDAwDwYDVR0TAQH/BAUwAwEB/zAdBgNVHQ4EFgQU67FwKCOt\n"
        "9VBAxZJzisyMtV3pUQswDQYJKoZIhvcNAQELBQADggEBADyI1spmpyZpdrdpXRQt\n"
        "KNRoEDp8ONL0i8WYLuwVXMce4zVRPfYjRjw0cxl7EP5DbMGju6mhwpKnuJnJvT+C\n"
        "95IKWDoqu07UX2IOjgRNHYiEywrlXx2xx9XDvT2mxkBDH78UlN3+UVhylfE6Ms+5\n"
        "xFcZ66eM359cprgK+yA0R1+EhBx8sX20pV/qI2f+OjOWAaiWJq9VOyP5TROdfAYV\n"
        "E9B+Kttvhaf/EHOr0mYMhbmNxXf/NbuYSgHgEgPEuqFQHNInshoKlZT7bmBFR11p\n"
        "kYz6rsM3p+XqeHR+vCkJ3Jzb5+djYASn6kd47Ul3sRjcEfo63S7BfFKJeLHLUczL\n"
        "SBk=\n"
        "-----END CERTIFICATE-----\n";

static const char fx_enc_key[] =
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
        "MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAjZcvYZlV2M9gICCAAw\n"
        "DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEK5j6cJISJbWVzSBbDGWsFQEgZCD\n"
        "y7lGuqlCpG+wWFgrQIr1bI75/ymejS5JHMSrqSIUXJJFXF1NupypKgFxcc9GNUvt\n"
        "2MiiaLl/3udMc1UMozr8PQdzc5/RrPZ5zhwupoyG4k4NNXDCeveC7Uce+2Iih5FD\n"
        "mXaJBOagvK9DuznliGlF5HVBFOGqpsx+SGlupPPAuUfc9aB5i9mJShGrfnWcFRs=\n"
        "-----END ENCRYPTED PRIVATE KEY-----\n";

static const char fx_legacy_enc_key[] =
        "-----BEGIN EC PRIVATE KEY-----\n"
        "Proc-Type: 4,ENCRYPTED\n"
        "DEK-Info: AES-128-CBC,25954A3BD8EDDF8923C11B760035DC82\n"
        "\n"
        "OR/RU3EwaTqwKinayJZ+xmvKJdErOkgxnQyO3T0z6+24MP+mvfRQVeA2N2LmQsV6\n"
        "CH1nprToJYCCagy41Lm6ZJrUFTEaKWOU0SStAR62L5AuoYvy8ifzyOvvJch3wobg\n"
        "EetfGuRUuY8svX3UmGp0SgpAFFeC5UZHzBsmdqh4ciw=\n"
        "-----END EC PRIVATE KEY-----\n";

static const char fx_expired_crt[] =
        "-----BEGIN CERTIFICATE-----\n"
        "MIIBRjCB7KADAgECAgIQBjAKBggqhkjOPQQDAjASMRAwDgYDVQQDDAdleHBpcmVk\n"
        "MB4XDTAwMDEwMTAwMDAwMFoXDTAxMDEwMTAwMDAwMFowEjEQMA4GA1UEAwwHZXhw\n"
        "aXJlZDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABBi+rTuJWMu1W5yRP1WCzVUB\n"
        "U4u9AFkkVwiwZBiLvfniDOI/MDiivWXElE8Cg2gl0C8FF/UI5CuUQ6IxrK+CPKKj\n"
        "MjAwMA8GA1UdEwEB/wQFMAMBAf8wHQYDVR0OBBYEFA7HqrGOVfveZBgKIT9g7bDc\n"
        "ofxOMAoGCCqGSM49BAMCA0kAMEYCIQDM9PZwzmgC4fCzrONVc0ryAl77BPQVhzuj\n"
        "pVebLmYnIQIhAIGycORqktjeIlHqtYhddUNENVbb3byx9Ih1VkWy5DT6\n"
        "-----END CERTIFICATE-----\n";

/* Concatenation of up to four strings (new, free()). */
static char *
cat(const char *a, const char *b, const char *c, const char *d)
{
	const char *p[4] = {a, b, c, d};
	size_t n = 1;
	char *s;

	for (int i = 0; i < 4; i++)
		n += p[i] != NULL ? strlen(p[i]) : 0;
	if ((s = malloc(n)) == NULL)
		abort();
	s[0] = '\0';
	for (int i = 0; i < 4; i++)
		if (p[i] != NULL)
			strcat(s, p[i]);
	return s;
}

/* s with every occurrence of `from` (one byte) replaced by `to`, once. */
static char *
replace_first(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
	char *r = malloc(n);

	if (at == NULL || r == NULL)
		abort();
	snprintf(r, n, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
	return r;
}

/* aemp_cert_check and cry_tls_ctx_new agree on text; returns the code and
 * leaves the message of the check in aemp_errmsg. */
static int
check_blob(const char *text)
{
	struct cry_tls_ctx *ctx = NULL;
	int rc_ctx = cry_tls_ctx_new(&ctx, text, strlen(text));
	int rc = aemp_cert_check(text, strlen(text));

	CHECK_EQ(rc_ctx, rc);
	cry_tls_ctx_free(ctx);
	return rc;
}

/* The blob is accepted. */
static void
accept_blob(const char *what, char *text)
{
	int rc = check_blob(text);

	if (rc != 0)
		DIAG("%s: %s", what, aemp_errmsg());
	CHECK_OK(rc);
	free(text);
}

/* The blob is refused with AEMP_ECONFIG and a message containing msg. */
static void
refuse_blob(const char *what, char *text, const char *msg)
{
	int rc = check_blob(text);

	DIAG("%s: %s", what, aemp_errmsg());
	CHECK_ERR(rc, AEMP_ECONFIG);
	CHECK(strstr(aemp_errmsg(), msg) != NULL);
	CHECK(strncmp(aemp_errmsg(), "cert: ", 6) == 0);
	free(text);
}

static char *
crlf(const char *s)
{
	size_t n = strlen(s);
	char *r = malloc(2 * n + 1), *p = r;

	if (r == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			*p++ = '\r';
		*p++ = s[i];
	}
	*p = '\0';
	return r;
}

static void
test_layouts(void)
{
	char *t;

	accept_blob("cert, key", cat(fx_perl_crt, fx_perl_key, 0, 0));
	accept_blob("key, cert", cat(fx_perl_key, fx_perl_crt, 0, 0));
	accept_blob("ecparam", cat(fx_ec_key, fx_ec_crt, 0, 0));
	accept_blob("PKCS#1", cat(fx_trad_crt, fx_trad_key, 0, 0));
	accept_blob("leaf, key, CA",
	            cat(fx_leaf_crt, fx_leaf_key, fx_ca_crt, 0));
	accept_blob("key, leaf, CA",
	            cat(fx_leaf_key, fx_leaf_crt, fx_ca_crt, 0));
	accept_blob("CA, key, leaf",
	            cat(fx_ca_crt, fx_leaf_key, fx_leaf_crt, 0));
	accept_blob("leaf, key, CA, other leaf",
	            cat(fx_leaf_crt, fx_leaf_key, fx_ca_crt, fx_leaf2_crt));
	t = cat(fx_perl_crt, fx_perl_key, 0, 0);
	accept_blob("CRLF", crlf(t));
	free(t);
	accept_blob("text around blocks",
	            cat("Bag Attributes\n    localKeyID: 01 02\n# comment\n",
	                fx_ec_crt, "subject=/CN=AnyEvent::MP\n\n", fx_ec_key));
	accept_blob("no final LF, trailing blanks",
	            cat(fx_ec_key, fx_ec_crt, "   \t", 0));
	t = cat(fx_ec_key, fx_ec_crt, 0, 0);
	t[strlen(t) - 1] = '\0';
	accept_blob("no final LF", t);
}

/* A block made of many tiny skipped blocks and certificates. */
static char *
many_blocks(int ncert)
{
	size_t n = strlen(fx_ec_key) + ncert * strlen(fx_ec_crt) + 1;
	char *s = malloc(n);

	if (s == NULL)
		abort();
	strcpy(s, fx_ec_key);
	for (int i = 0; i < ncert; i++)
		strcat(s, fx_ec_crt);
	return s;
}

/* Refusals for what the blob holds. */
static void
test_refusals_content(void)
{
	CHECK_ERR(aemp_cert_check(NULL, 0), AEMP_ECONFIG);
	CHECK(strstr(aemp_errmsg(), "no PEM data") != NULL);
	refuse_blob("empty", cat("", 0, 0, 0), "no PEM data");
	refuse_blob("garbage", cat("\x01\xff garbage\n-----\n", 0, 0, 0),
	            "no PEM data");
	refuse_blob("cert only", cat(fx_perl_crt, 0, 0, 0), "no private key");
	refuse_blob("key only", cat(fx_perl_key, 0, 0, 0), "no certificate");
	refuse_blob("ec params only",
	            cat("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n"
	                "-----END EC PARAMETERS-----\n",
	                fx_perl_crt, 0, 0),
	            "no private key");
	refuse_blob("mismatch", cat(fx_perl_crt, fx_ec_key, 0, 0),
	            "does not belong to the certificate");
	/* Both P-256: wolfSSL's own check would let this one through. */
	refuse_blob("EC mismatch", cat(fx_ec_crt, fx_leaf_key, 0, 0),
	            "does not belong to the certificate");
	refuse_blob("RSA mismatch", cat(fx_trad_key, fx_perl_crt, 0, 0),
	            "does not belong to the certificate");
	refuse_blob("mismatch of 2", cat(fx_leaf2_crt, fx_ec_key, fx_ca_crt, 0),
	            "belongs to none of the 2 certificates");
	refuse_blob("two keys", cat(fx_perl_key, fx_ec_key, fx_perl_crt, 0),
	            "more than one private key (PEM blocks 1 and 3)");
	refuse_blob("encrypted PKCS#8", cat(fx_ec_crt, fx_enc_key, 0, 0),
	            "encrypted private keys are not supported");
	refuse_blob("encrypted legacy", cat(fx_ec_crt, fx_legacy_enc_key, 0, 0),
	            "encrypted private keys are not supported");
	refuse_blob("expired", cat(fx_expired_crt, fx_leaf_key, 0, 0),
	            "PEM block 1 (CERTIFICATE): unusable certificate");
}

/* Refusals for the form of the text. */
static void
test_refusals_syntax(void)
{
	char *t;

	t = cat(fx_perl_crt, fx_perl_key, 0, 0);
	*strstr(t, "-----END PRIVATE KEY-----") = '\0';
	refuse_blob("truncated", t,
	            "PEM block 2 (PRIVATE KEY) has no "
	            "matching END line");
	refuse_blob("END label",
	            replace_first(fx_ec_crt, "END CERTIFICATE", "END X"),
	            "has no matching END line");
	refuse_blob("BEGIN in block",
	            replace_first(fx_ec_crt, "-----END CERTIFICATE-----\n", ""),
	            "no matching END");
	refuse_blob("stray END",
	            cat("-----END CERTIFICATE-----\n", fx_ec_crt, 0, 0),
	            "END line without BEGIN");
	refuse_blob("malformed BEGIN",
	            cat("-----BEGIN certificate-----\n", fx_ec_crt, 0, 0),
	            "malformed PEM BEGIN line");
	refuse_blob("empty block",
	            cat("-----BEGIN CERTIFICATE-----\n"
	                "-----END CERTIFICATE-----\n",
	                fx_ec_key, 0, 0),
	            "PEM block 1 (CERTIFICATE): empty");
	t = cat(fx_ec_key, fx_ec_crt, 0, 0);
	t[strlen(t) - 40] = '*';
	refuse_blob("bad Base64", t, "PEM block 3 (CERTIFICATE): bad Base64");

	/* DER that is valid Base64 but not a certificate / key. */
	refuse_blob("bad DER cert",
	            cat(fx_ec_key,
	                "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n"
	                "-----END CERTIFICATE-----\n",
	                0, 0),
	            "PEM block 3 (CERTIFICATE): unusable certificate");
	refuse_blob("bad DER key",
	            cat(fx_ec_crt,
	                "-----BEGIN PRIVATE KEY-----\nMAMCAQE=\n"
	                "-----END PRIVATE KEY-----\n",
	                0, 0),
	            "PEM block 2 (PRIVATE KEY): unusable private key");

	refuse_blob("33 certificates", many_blocks(CRY_PEM_BLOCKS_MAX),
	            "more than 32 keys and certificates");
	accept_blob("31 certificates", many_blocks(CRY_PEM_BLOCKS_MAX - 1));

	t = calloc(1, CRY_PEM_TEXT_MAX + 2);
	memset(t, '\n', CRY_PEM_TEXT_MAX + 1);
	refuse_blob("too long", t, "at most 1048576");
}

/* Refusal messages name blocks, never their contents. */
static void
test_no_key_in_messages(void)
{
	const char *body = strchr(fx_perl_key, '\n') + 1;
	char line[65];
	char *t;

	memcpy(line, body, 64);
	line[64] = '\0';
	t = cat(fx_ec_crt, fx_perl_key, 0, 0);
	CHECK_ERR(check_blob(t), AEMP_ECONFIG);
	CHECK(strstr(aemp_errmsg(), line) == NULL);
	CHECK(strstr(aemp_errmsg(), line + 40) == NULL);
	free(t);
	t = replace_first(fx_perl_key, "\n", "\n*");
	CHECK_ERR(aemp_cert_check(t, strlen(t)), AEMP_ECONFIG);
	CHECK(strstr(aemp_errmsg(), line + 40) == NULL);
	free(t);
}

static void
test_pem_blocks(void)
{
	char *t = cat("intro\n", fx_ec_key, fx_ec_crt, fx_perl_key);
	struct cry_pem pem;

	CHECK_OK(cry_pem_init(&pem, t, strlen(t)));
	CHECK_EQ(pem.n, 3); /* EC PARAMETERS is skipped */
	CHECK_EQ(pem.blk[0].kind, CRY_PEM_KEY);
	CHECK_EQ(pem.blk[0].index, 2);
	CHECK_STREQ(pem.blk[0].label, "EC PRIVATE KEY");
	CHECK_EQ(pem.blk[1].kind, CRY_PEM_CERT);
	CHECK_EQ(pem.blk[1].index, 3);
	CHECK_STREQ(pem.blk[2].label, "PRIVATE KEY");
	for (int i = 0; i < pem.n; i++) {
		CHECK(pem.blk[i].der_len > 100);
		CHECK_EQ(pem.blk[i].der[0], 0x30); /* a DER SEQUENCE */
	}
	cry_pem_fini(&pem);
	CHECK(pem.buf == NULL);
	cry_pem_fini(&pem); /* twice is harmless */
	free(t);
}

/* The fields `aemp gencert` promises, read back with wolfSSL. */
static void
check_generated_fields(const char *pem, int kind)
{
	WOLFSSL_X509 *x = wolfSSL_X509_load_certificate_buffer(
	        (const unsigned char *)pem, (int)strlen(pem),
	        WOLFSSL_FILETYPE_PEM);
	WOLFSSL_EVP_PKEY *k = x != NULL ? wolfSSL_X509_get_pubkey(x) : NULL;
	char name[128] = "";
	int days = 0, secs = 0;

	CHECK(x != NULL && k != NULL);
	if (x == NULL || k == NULL)
		goto out;
	wolfSSL_X509_NAME_oneline(wolfSSL_X509_get_subject_name(x), name,
	                          sizeof(name));
	CHECK_STREQ(name, "/CN=AnyEvent::MP");
	wolfSSL_X509_NAME_oneline(wolfSSL_X509_get_issuer_name(x), name,
	                          sizeof(name));
	CHECK_STREQ(name, "/CN=AnyEvent::MP");
	CHECK_EQ(wolfSSL_ASN1_TIME_diff(&days, &secs,
	                                wolfSSL_X509_get_notBefore(x),
	                                wolfSSL_X509_get_notAfter(x)),
	         WOLFSSL_SUCCESS);
	/* wolfCrypt back-dates notBefore by a day against clock skew. */
	CHECK(days >= 3650 && days <= 3651);
	CHECK_EQ(wolfSSL_X509_get_signature_type(x),
	         kind == AEMP_CERT_RSA2048 ? CTC_SHA256wRSA : CTC_SHA256wECDSA);
	CHECK_EQ(wolfSSL_EVP_PKEY_bits(k),
	         kind == AEMP_CERT_RSA2048 ? 2048 : 256);
	CHECK_EQ(wolfSSL_X509_get_isCA(x), 1);
out:
	wolfSSL_EVP_PKEY_free(k);
	wolfSSL_X509_free(x);
}

static void
test_gencert(int kind)
{
	static const char begin_crt[] = "-----BEGIN CERTIFICATE-----\n";
	static const char end_key[] = "-----END PRIVATE KEY-----\n";
	char *a = NULL, *b = NULL;
	const char *k, *line;

	CHECK_OK(aemp_gencert(kind, &a));
	CHECK_OK(aemp_gencert(kind, &b));
	if (a == NULL || b == NULL)
		goto out;
	CHECK(strcmp(a, b) != 0);
	/* Certificate first, then the unencrypted PKCS#8 key, as Perl's
	 * tool stores it. */
	CHECK(strncmp(a, begin_crt, strlen(begin_crt)) == 0);
	k = strstr(a, "-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----"
	              "\n");
	CHECK(k != NULL);
	CHECK(strlen(a) > strlen(end_key) &&
	      strcmp(a + strlen(a) - strlen(end_key), end_key) == 0);
	for (line = a; *line != '\0'; line = strchr(line, '\n') + 1)
		if (strcspn(line, "\n") > 64)
			break;
	CHECK_EQ(*line, '\0'); /* every line at most 64 characters */
	CHECK_OK(aemp_cert_check(a, strlen(a)));
	check_generated_fields(a, kind);
	/* Key first works as well. */
	if (k != NULL) {
		char *swapped =
		        cat(k + strlen("-----END CERTIFICATE-----\n"), a, 0, 0);
		swapped[strlen(swapped) - strlen(k) +
		        strlen("-----END CERTIFICATE-----\n")] = '\0';
		CHECK_OK(aemp_cert_check(swapped, strlen(swapped)));
		free(swapped);
	}
out:
	ring_free(a, 0);
	ring_free(b, 0);
}

int
main(void)
{
	char *pem = NULL;

	test_layouts();
	test_refusals_content();
	test_refusals_syntax();
	test_no_key_in_messages();
	test_pem_blocks();
	test_gencert(AEMP_CERT_EC256);
	test_gencert(AEMP_CERT_RSA2048);
	CHECK_ERR(aemp_gencert(0, &pem), -EINVAL);
	CHECK_ERR(aemp_gencert(3, &pem), -EINVAL);
	CHECK_ERR(aemp_gencert(AEMP_CERT_EC256, NULL), -EINVAL);
	CHECK(pem == NULL);
	return tap_done();
}
