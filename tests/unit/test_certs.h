/*
 * tests/unit/test_certs.h - certificate fixtures shared by the crypto unit
 * tests (crypto_cert.c, crypto_tls.c).  The same PEM texts seed
 * tests/fuzz/corpus/fuzz_pem/.
 */
#ifndef TESTS_UNIT_TEST_CERTS_H
#define TESTS_UNIT_TEST_CERTS_H

/* CA "aemp test CA" and two leaves it signed ("aemp leaf", "aemp leaf2"),
 * all EC P-256, valid 2000-2125, made with OpenSSL 3 (genpkey, req, ca). */
static const char fx_ca_crt[] =
        "-----BEGIN CERTIFICATE-----\n"
        "MIIBUTCB+KADAgECAgIQADAKBggqhkjOPQQDAjAXMRUwEwYDVQQDDAxhZW1wIHRl\n"
        "c3QgQ0EwIBcNMDAwMTAxMDAwMDAwWhgPMjEyNTAxMDEwMDAwMDBaMBcxFTATBgNV\n"
        "BAMMDGFlbXAgdGVzdCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABBECgt6T\n"
        "vt6woojLlguO4Nnrlo5fyU5S/LAS+1f9FJwWXTLobdSFFm49CtOyD+jBflf8Keug\n"
        "KQFUak0H4HLClfijMjAwMA8GA1UdEwEB/wQFMAMBAf8wHQYDVR0OBBYEFH4F/aI2\n"
        "aiIAEIUbEfmOgFDt4JuQMAoGCCqGSM49BAMCA0gAMEUCIQD8s1eGHEHpjeCCRU0G\n"
        "uW5K/TGLYY+7qks3rjajbevDCQIgIbNtgrE24wbdfpnc19bb3VWceX0hAJS+Dc1/\n"
        "tbLSRgo=\n"
        "-----END CERTIFICATE-----\n";

static const char fx_leaf_crt[] =
        "-----BEGIN CERTIFICATE-----\n"
        "MIIBajCCARCgAwIBAgICEAEwCgYIKoZIzj0EAwIwFzEVMBMGA1UEAwwMYWVtcCB0\n"
        "ZXN0IENBMCAXDTAwMDEwMTAwMDAwMFoYDzIxMjUwMTAxMDAwMDAwWjAUMRIwEAYD\n"
        "VQQDDAlhZW1wIGxlYWYwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQYvq07iVjL\n"
        "tVuckT9Vgs1VAVOLvQBZJFcIsGQYi7354gziPzA4or1lxJRPAoNoJdAvBRf1COQr\n"
        "lEOiMayvgjyio00wSzAJBgNVHRMEAjAAMB0GA1UdDgQWBBQOx6qxjlX73mQYCiE/\n"
        "YO2w3KH8TjAfBgNVHSMEGDAWgBR+Bf2iNmoiABCFGxH5joBQ7eCbkDAKBggqhkjO\n"
        "PQQDAgNIADBFAiEA4Kfqv17DdLKfyqJ//N3Fz2YrFgIblTGlMVSijQqbKfcCIEO8\n"
        "1ZaXRaN1ceeaj/18Oe9SzywvN4+c4bRY/cgq3/Bs\n"
        "-----END CERTIFICATE-----\n";

static const char fx_leaf_key[] =
        "-----BEGIN PRIVATE KEY-----\n"
        "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgrIqyo+j7I5Jj3hIV\n"
        "AWxp74HLukzqvHUyN+qieA6s9SmhRANCAAQYvq07iVjLtVuckT9Vgs1VAVOLvQBZ\n"
        "JFcIsGQYi7354gziPzA4or1lxJRPAoNoJdAvBRf1COQrlEOiMayvgjyi\n"
        "-----END PRIVATE KEY-----\n";

static const char fx_leaf2_crt[] =
        "-----BEGIN CERTIFICATE-----\n"
        "MIIBbDCCARGgAwIBAgICEAIwCgYIKoZIzj0EAwIwFzEVMBMGA1UEAwwMYWVtcCB0\n"
        "ZXN0IENBMCAXDTAwMDEwMTAwMDAwMFoYDzIxMjUwMTAxMDAwMDAwWjAVMRMwEQYD\n"
        "VQQDDAphZW1wIGxlYWYyMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEZu6grZzK\n"
        "b+pXpJoeBVw1BPCoHyJ4yqpzCVpcfR/0bCf4JtcPZcZEwqk0cpWZCNxPXivXeEWC\n"
        "5CkRUTKzIL9d/aNNMEswCQYDVR0TBAIwADAdBgNVHQ4EFgQUDYj3NLeg8aJGDghF\n"
        "78/QLrSYRmowHwYDVR0jBBgwFoAUfgX9ojZqIgAQhRsR+Y6AUO3gm5AwCgYIKoZI\n"
        "zj0EAwIDSQAwRgIhAM/B0tbVDfUA3/c0qjyWqRSttsR+qGHCqhxEggRTjYASAiEA\n"
        "/dIS4lTAtHvHqwlv6LaLwdyRx5SLfhuoaq8PfCAB1bc=\n"
        "-----END CERTIFICATE-----\n";

static const char fx_leaf2_key[] =
        "-----BEGIN PRIVATE KEY-----\n"
        "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg8aV/yR/m8IFy+k+I\n"
        "BjKb/LrXuT8aWUXuRDHdguLoRsehRANCAARm7qCtnMpv6lekmh4FXDUE8KgfInjK\n"
        "qnMJWlx9H/RsJ/gm1w9lxkTCqTRylZkI3E9eK9d4RYLkKRFRMrMgv139\n"
        "-----END PRIVATE KEY-----\n";

#endif
