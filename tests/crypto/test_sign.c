/* Signatures: Wycheproof verification vectors (ECDSA P-256, secp256k1, the
 * Bitcoin low-S/DER variant, Ed25519, RSA-PSS), RFC 8032 known answers, and
 * the contract of kg_crypto_sign/verify: round trips for every key type,
 * input mode and format, low-S, tamper detection, strict DER, key import
 * from PKCS#8 (checked against OpenSSL's own encodings) and the public-key
 * encodings. */
#include "crypto_test.h"

#include <pthread.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

static const kg_crypto_key_type ALL_TYPES[] = {KG_CRYPTO_P256, KG_CRYPTO_SECP256K1,
                                               KG_CRYPTO_ED25519, KG_CRYPTO_RSA3072};

static const uint8_t P256_N[32] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};
static const uint8_t K256_N[32] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};

/* ------------------------------------------------------------ Wycheproof */

static void run_verify_file(const char *file, kg_crypto_key_type t, kg_crypto_sig_format fmt,
                            unsigned flags)
{
    json_t *root = t_load(file);
    t_tally tally = {.name = file};
    T_FOR_EACH_TEST(root, group, test) {
        size_t kl, ml, sl;
        uint8_t *spki = t_jhex(group, "publicKeyDer", &kl);
        uint8_t *msg = t_jhex(test, "msg", &ml), *sig = t_jhex(test, "sig", &sl);
        kg_err err = kg_crypto_verify(t, spki, kl, KG_CRYPTO_INPUT_MESSAGE, fmt, flags,
                                      msg, ml, sig, sl);
        if (err != KG_OK && err != KG_ERR_VERIFY)
            fail_msg("%s tcId %lld: unexpected %s: %s", file,
                     (long long)json_integer_value(json_object_get(test, "tcId")),
                     kg_err_code(err), kg_err_detail(err));
        t_record(&tally, test, err == KG_OK);
        free(spki);
        free(msg);
        free(sig);
    }
    t_report(&tally);
    json_decref(root);
}

static void test_wycheproof_p256(void **state)
{
    (void)state;
    run_verify_file("wycheproof/ecdsa_secp256r1_sha256_test.json", KG_CRYPTO_P256,
                    KG_CRYPTO_SIG_DER, 0);
}

static void test_wycheproof_secp256k1(void **state)
{
    (void)state;
    run_verify_file("wycheproof/ecdsa_secp256k1_sha256_test.json", KG_CRYPTO_SECP256K1,
                    KG_CRYPTO_SIG_DER, 0);
}

static void test_wycheproof_secp256k1_bitcoin(void **state)
{
    (void)state;
    run_verify_file("wycheproof/ecdsa_secp256k1_sha256_bitcoin_test.json", KG_CRYPTO_SECP256K1,
                    KG_CRYPTO_SIG_DER, KG_CRYPTO_VERIFY_LOW_S);
}

static void test_wycheproof_ed25519(void **state)
{
    (void)state;
    run_verify_file("wycheproof/ed25519_test.json", KG_CRYPTO_ED25519, KG_CRYPTO_SIG_RAW, 0);
}

static void test_wycheproof_rsa_pss(void **state)
{
    (void)state;
    run_verify_file("wycheproof/rsa_pss_2048_sha256_mgf1_32_test.json", KG_CRYPTO_RSA2048,
                    KG_CRYPTO_SIG_RAW, 0);
}

static void test_rfc8032(void **state)
{
    (void)state;
    json_t *root = t_load("rfc8032.json");
    json_t *vectors = json_object_get(root, "vectors");
    assert_true(json_array_size(vectors) > 0);
    for (size_t i = 0; i < json_array_size(vectors); i++) {
        json_t *v = json_array_get(vectors, i);
        size_t sk_l, pk_l, m_l, s_l;
        uint8_t *sk = t_jhex(v, "secret_key", &sk_l), *pk = t_jhex(v, "public_key", &pk_l);
        uint8_t *msg = t_jhex(v, "message", &m_l), *want = t_jhex(v, "signature", &s_l);
        kg_secret *priv = NULL;
        kg_bytes spki = {0}, raw = {0}, sig = {0};
        assert_int_equal(kg_crypto_priv_import(&priv, KG_CRYPTO_ED25519, sk, sk_l), KG_OK);
        assert_int_equal(kg_crypto_pub_from_priv(&spki, KG_CRYPTO_ED25519, priv), KG_OK);
        assert_int_equal(kg_crypto_pub_raw(&raw, KG_CRYPTO_ED25519, spki.data, spki.len), KG_OK);
        assert_int_equal(raw.len, pk_l);
        assert_memory_equal(raw.data, pk, pk_l);
        assert_int_equal(kg_crypto_sign(&sig, KG_CRYPTO_ED25519, priv, KG_CRYPTO_INPUT_MESSAGE,
                                        KG_CRYPTO_SIG_RAW, msg, m_l), KG_OK);
        assert_int_equal(sig.len, s_l);
        assert_memory_equal(sig.data, want, s_l);
        assert_int_equal(kg_crypto_verify(KG_CRYPTO_ED25519, spki.data, spki.len,
                                          KG_CRYPTO_INPUT_MESSAGE, KG_CRYPTO_SIG_RAW, 0,
                                          msg, m_l, sig.data, sig.len), KG_OK);
        kg_secret_free(priv);
        kg_bytes_free(&spki);
        kg_bytes_free(&raw);
        kg_bytes_free(&sig);
        free(sk); free(pk); free(msg); free(want);
    }
    printf("[ rfc8032.json ] %zu Ed25519 known answers matched\n", json_array_size(vectors));
    json_decref(root);
}

/* ------------------------------------------------------------ round trips */

static void round_trip(kg_crypto_key_type t, const kg_secret *priv, const kg_bytes *spki,
                       kg_crypto_input input, kg_crypto_sig_format fmt)
{
    uint8_t msg[] = "transfer 1 BTC to bc1q...", digest[32];
    kg_crypto_sha256(digest, msg, sizeof msg);
    const uint8_t *data = input == KG_CRYPTO_INPUT_MESSAGE ? msg : digest;
    size_t len = input == KG_CRYPTO_INPUT_MESSAGE ? sizeof msg : sizeof digest;
    kg_bytes sig = {0};
    assert_int_equal(kg_crypto_sign(&sig, t, priv, input, fmt, data, len), KG_OK);
    if (t != KG_CRYPTO_ED25519 && !(t == KG_CRYPTO_RSA3072))
        assert_true(fmt == KG_CRYPTO_SIG_RAW ? sig.len == 64 : sig.len <= 72);
    assert_int_equal(kg_crypto_verify(t, spki->data, spki->len, input, fmt, 0, data, len,
                                      sig.data, sig.len), KG_OK);
    if (t != KG_CRYPTO_ED25519) { /* the message and its digest are interchangeable */
        assert_int_equal(kg_crypto_verify(t, spki->data, spki->len, KG_CRYPTO_INPUT_DIGEST, fmt,
                                          KG_CRYPTO_VERIFY_LOW_S, digest, 32, sig.data,
                                          sig.len), KG_OK);
    }
    uint8_t *bad = malloc(len);
    assert_non_null(bad);
    memcpy(bad, data, len);
    bad[len - 1] ^= 1;
    assert_int_equal(kg_crypto_verify(t, spki->data, spki->len, input, fmt, 0, bad, len,
                                      sig.data, sig.len), KG_ERR_VERIFY);
    free(bad);
    for (size_t i = 0; i < sig.len; i += sig.len / 7 + 1) { /* tamper with the signature */
        sig.data[i] ^= 0x10;
        assert_int_equal(kg_crypto_verify(t, spki->data, spki->len, input, fmt, 0, data, len,
                                          sig.data, sig.len), KG_ERR_VERIFY);
        sig.data[i] ^= 0x10;
    }
    assert_int_equal(kg_crypto_verify(t, spki->data, spki->len, input, fmt, 0, data, len,
                                      sig.data, sig.len - 1), KG_ERR_VERIFY);
    kg_bytes_free(&sig);
}

static void test_round_trips(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ALL_TYPES / sizeof ALL_TYPES[0]; i++) {
        kg_crypto_key_type t = ALL_TYPES[i];
        kg_secret *priv = NULL;
        kg_bytes spki = {0};
        assert_int_equal(kg_crypto_keygen(&priv, t), KG_OK);
        assert_int_equal(kg_crypto_pub_from_priv(&spki, t, priv), KG_OK);
        for (int fmt = KG_CRYPTO_SIG_DER; fmt <= KG_CRYPTO_SIG_RAW; fmt++) {
            round_trip(t, priv, &spki, KG_CRYPTO_INPUT_MESSAGE, (kg_crypto_sig_format)fmt);
            if (t != KG_CRYPTO_ED25519)
                round_trip(t, priv, &spki, KG_CRYPTO_INPUT_DIGEST, (kg_crypto_sig_format)fmt);
        }
        /* A signature never verifies under another key of the same type. */
        kg_secret *other = NULL;
        kg_bytes other_spki = {0}, sig = {0};
        assert_int_equal(kg_crypto_keygen(&other, t), KG_OK);
        assert_int_equal(kg_crypto_pub_from_priv(&other_spki, t, other), KG_OK);
        assert_int_equal(kg_crypto_sign(&sig, t, priv, KG_CRYPTO_INPUT_MESSAGE, KG_CRYPTO_SIG_DER,
                                        (const uint8_t *)"x", 1), KG_OK);
        assert_int_equal(kg_crypto_verify(t, other_spki.data, other_spki.len,
                                          KG_CRYPTO_INPUT_MESSAGE, KG_CRYPTO_SIG_DER, 0,
                                          (const uint8_t *)"x", 1, sig.data, sig.len),
                         KG_ERR_VERIFY);
        kg_bytes_free(&sig);
        kg_bytes_free(&other_spki);
        kg_secret_free(other);
        kg_bytes_free(&spki);
        kg_secret_free(priv);
    }
}

/* ------------------------------------------------------------------ low-S */

static int be_cmp(const uint8_t *a, const uint8_t *b)
{
    return memcmp(a, b, 32);
}

static void be_sub(uint8_t out[32], const uint8_t a[32], const uint8_t b[32])
{
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int v = a[i] - b[i] - borrow;
        borrow = v < 0;
        out[i] = (uint8_t)(v + (borrow ? 256 : 0));
    }
}

static void low_s_for(kg_crypto_key_type t, const uint8_t n[32])
{
    uint8_t half[32];
    for (int i = 0, c = 0; i < 32; i++) {
        half[i] = (uint8_t)((n[i] >> 1) | (c << 7));
        c = n[i] & 1;
    }
    kg_secret *priv = NULL;
    kg_bytes spki = {0};
    assert_int_equal(kg_crypto_keygen(&priv, t), KG_OK);
    assert_int_equal(kg_crypto_pub_from_priv(&spki, t, priv), KG_OK);
    for (int i = 0; i < 24; i++) {
        uint8_t msg[4] = {(uint8_t)i, 1, 2, 3}, high[64];
        kg_bytes sig = {0};
        assert_int_equal(kg_crypto_sign(&sig, t, priv, KG_CRYPTO_INPUT_MESSAGE,
                                        KG_CRYPTO_SIG_RAW, msg, sizeof msg), KG_OK);
        assert_true(be_cmp(sig.data + 32, half) <= 0);
        memcpy(high, sig.data, 32);
        be_sub(high + 32, n, sig.data + 32);
        assert_true(be_cmp(high + 32, half) > 0);
        assert_int_equal(kg_crypto_verify(t, spki.data, spki.len, KG_CRYPTO_INPUT_MESSAGE,
                                          KG_CRYPTO_SIG_RAW, 0, msg, sizeof msg, high, 64), KG_OK);
        assert_int_equal(kg_crypto_verify(t, spki.data, spki.len, KG_CRYPTO_INPUT_MESSAGE,
                                          KG_CRYPTO_SIG_RAW, KG_CRYPTO_VERIFY_LOW_S, msg,
                                          sizeof msg, high, 64), KG_ERR_VERIFY);
        assert_int_equal(kg_crypto_verify(t, spki.data, spki.len, KG_CRYPTO_INPUT_MESSAGE,
                                          KG_CRYPTO_SIG_RAW, KG_CRYPTO_VERIFY_LOW_S, msg,
                                          sizeof msg, sig.data, 64), KG_OK);
        /* kg_crypto_ecdsa_finish (for HSM signatures) turns the high-S twin
         * back into exactly the low-S signature, raw or DER. */
        kg_bytes fin = {0}, der = {0};
        assert_int_equal(kg_crypto_ecdsa_finish(&fin, t, high, 64, KG_CRYPTO_SIG_RAW), KG_OK);
        assert_int_equal(fin.len, 64);
        assert_memory_equal(fin.data, sig.data, 64);
        kg_bytes_free(&fin);
        assert_int_equal(kg_crypto_ecdsa_finish(&der, t, sig.data, 64, KG_CRYPTO_SIG_DER), KG_OK);
        assert_int_equal(kg_crypto_verify(t, spki.data, spki.len, KG_CRYPTO_INPUT_MESSAGE,
                                          KG_CRYPTO_SIG_DER, KG_CRYPTO_VERIFY_LOW_S, msg,
                                          sizeof msg, der.data, der.len), KG_OK);
        assert_int_equal(kg_crypto_ecdsa_finish(&fin, t, high, 63, KG_CRYPTO_SIG_RAW), KG_ERR_CRYPTO);
        assert_null(fin.data);
        kg_bytes_free(&der);
        kg_bytes_free(&sig);
    }
    kg_bytes_free(&spki);
    kg_secret_free(priv);
}

static void test_low_s(void **state)
{
    (void)state;
    low_s_for(KG_CRYPTO_P256, P256_N);
    low_s_for(KG_CRYPTO_SECP256K1, K256_N);
}

/* secp256k1 signatures are deterministic (RFC 6979). */
static void test_secp256k1_deterministic(void **state)
{
    (void)state;
    kg_secret *priv = NULL;
    kg_bytes a = {0}, b = {0};
    assert_int_equal(kg_crypto_keygen(&priv, KG_CRYPTO_SECP256K1), KG_OK);
    assert_int_equal(kg_crypto_sign(&a, KG_CRYPTO_SECP256K1, priv, KG_CRYPTO_INPUT_MESSAGE,
                                    KG_CRYPTO_SIG_DER, (const uint8_t *)"m", 1), KG_OK);
    assert_int_equal(kg_crypto_sign(&b, KG_CRYPTO_SECP256K1, priv, KG_CRYPTO_INPUT_MESSAGE,
                                    KG_CRYPTO_SIG_DER, (const uint8_t *)"m", 1), KG_OK);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    kg_bytes_free(&a);
    kg_bytes_free(&b);
    kg_secret_free(priv);
}

/* --------------------------------------------------------- usage errors */

static void test_usage_errors(void **state)
{
    (void)state;
    kg_secret *ed = NULL, *ec = NULL;
    kg_bytes spki = {0}, sig = {0};
    uint8_t digest[32] = {1}, fake[64] = {0};
    assert_int_equal(kg_crypto_keygen(&ed, KG_CRYPTO_ED25519), KG_OK);
    assert_int_equal(kg_crypto_pub_from_priv(&spki, KG_CRYPTO_ED25519, ed), KG_OK);
    assert_int_equal(kg_crypto_sign(&sig, KG_CRYPTO_ED25519, ed, KG_CRYPTO_INPUT_DIGEST,
                                    KG_CRYPTO_SIG_RAW, digest, 32), KG_ERR_WRONG_KEY_USAGE);
    assert_null(sig.data);
    assert_int_equal(kg_crypto_verify(KG_CRYPTO_ED25519, spki.data, spki.len,
                                      KG_CRYPTO_INPUT_DIGEST, KG_CRYPTO_SIG_RAW, 0, digest, 32,
                                      fake, 64), KG_ERR_WRONG_KEY_USAGE);
    /* A digest must be 32 bytes. */
    assert_int_equal(kg_crypto_keygen(&ec, KG_CRYPTO_P256), KG_OK);
    assert_int_equal(kg_crypto_sign(&sig, KG_CRYPTO_P256, ec, KG_CRYPTO_INPUT_DIGEST,
                                    KG_CRYPTO_SIG_DER, digest, 31), KG_ERR_BAD_INPUT);
    /* A key of another type is a bad key, not a bad signature. */
    assert_int_equal(kg_crypto_verify(KG_CRYPTO_P256, spki.data, spki.len,
                                      KG_CRYPTO_INPUT_MESSAGE, KG_CRYPTO_SIG_RAW, 0, digest, 32,
                                      fake, 64), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_crypto_verify(KG_CRYPTO_P256, (const uint8_t *)"junk", 4,
                                      KG_CRYPTO_INPUT_MESSAGE, KG_CRYPTO_SIG_RAW, 0, digest, 32,
                                      fake, 64), KG_ERR_BAD_INPUT);
    /* RSA-2048 is import-only. */
    kg_secret *rsa = NULL;
    assert_int_equal(kg_crypto_keygen(&rsa, KG_CRYPTO_RSA2048), KG_ERR_WRONG_KEY_USAGE);
    assert_null(rsa);
    kg_bytes_free(&spki);
    kg_secret_free(ed);
    kg_secret_free(ec);
}

/* DER must be strict: every BER re-encoding of a valid signature fails. */
static void test_strict_der(void **state)
{
    (void)state;
    kg_secret *priv = NULL;
    kg_bytes spki = {0}, sig = {0};
    const uint8_t msg[] = "der";
    assert_int_equal(kg_crypto_keygen(&priv, KG_CRYPTO_SECP256K1), KG_OK);
    assert_int_equal(kg_crypto_pub_from_priv(&spki, KG_CRYPTO_SECP256K1, priv), KG_OK);
    assert_int_equal(kg_crypto_sign(&sig, KG_CRYPTO_SECP256K1, priv, KG_CRYPTO_INPUT_MESSAGE,
                                    KG_CRYPTO_SIG_DER, msg, sizeof msg), KG_OK);
    uint8_t ber[80];
    size_t n = sig.len;
    /* 1. long-form sequence length */
    ber[0] = 0x30; ber[1] = 0x81; ber[2] = sig.data[1];
    memcpy(ber + 3, sig.data + 2, n - 2);
    assert_int_equal(kg_crypto_verify(KG_CRYPTO_SECP256K1, spki.data, spki.len,
                                      KG_CRYPTO_INPUT_MESSAGE, KG_CRYPTO_SIG_DER, 0, msg,
                                      sizeof msg, ber, n + 1), KG_ERR_VERIFY);
    /* 2. an extra zero byte in front of r */
    size_t rlen = sig.data[3];
    ber[0] = 0x30; ber[1] = (uint8_t)(sig.data[1] + 1); ber[2] = 0x02; ber[3] = (uint8_t)(rlen + 1);
    ber[4] = 0x00;
    memcpy(ber + 5, sig.data + 4, n - 4);
    assert_int_equal(kg_crypto_verify(KG_CRYPTO_SECP256K1, spki.data, spki.len,
                                      KG_CRYPTO_INPUT_MESSAGE, KG_CRYPTO_SIG_DER, 0, msg,
                                      sizeof msg, ber, n + 1), KG_ERR_VERIFY);
    /* 3. trailing garbage */
    memcpy(ber, sig.data, n);
    ber[n] = 0;
    assert_int_equal(kg_crypto_verify(KG_CRYPTO_SECP256K1, spki.data, spki.len,
                                      KG_CRYPTO_INPUT_MESSAGE, KG_CRYPTO_SIG_DER, 0, msg,
                                      sizeof msg, ber, n + 1), KG_ERR_VERIFY);
    /* and the original still verifies */
    assert_int_equal(kg_crypto_verify(KG_CRYPTO_SECP256K1, spki.data, spki.len,
                                      KG_CRYPTO_INPUT_MESSAGE, KG_CRYPTO_SIG_DER, 0, msg,
                                      sizeof msg, sig.data, sig.len), KG_OK);
    kg_bytes_free(&sig);
    kg_bytes_free(&spki);
    kg_secret_free(priv);
}

/* ------------------------------------------------- import and encodings */

static EVP_PKEY *openssl_key(kg_crypto_key_type t)
{
    switch (t) {
    case KG_CRYPTO_P256: return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    case KG_CRYPTO_SECP256K1: return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
    case KG_CRYPTO_ED25519: return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    default: return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
    }
}

/* A key made by OpenSSL, imported from PKCS#8, has the SPKI OpenSSL computes. */
static void test_import_pkcs8(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ALL_TYPES / sizeof ALL_TYPES[0]; i++) {
        kg_crypto_key_type t = ALL_TYPES[i];
        EVP_PKEY *pkey = openssl_key(t);
        assert_non_null(pkey);
        PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pkey);
        unsigned char *der = NULL, *pub = NULL;
        int der_len = i2d_PKCS8_PRIV_KEY_INFO(p8, &der), pub_len = i2d_PUBKEY(pkey, &pub);
        assert_true(der_len > 0 && pub_len > 0);
        kg_secret *priv = NULL, *again = NULL;
        kg_bytes spki = {0};
        assert_int_equal(kg_crypto_priv_import(&priv, t, der, (size_t)der_len), KG_OK);
        if (t != KG_CRYPTO_RSA3072)
            assert_int_equal(kg_secret_len(priv), 32);
        assert_int_equal(kg_crypto_pub_from_priv(&spki, t, priv), KG_OK);
        assert_int_equal(spki.len, (size_t)pub_len);
        assert_memory_equal(spki.data, pub, spki.len);
        /* the native encoding imports to itself */
        assert_int_equal(kg_crypto_priv_import(&again, t, kg_secret_cdata(priv),
                                               kg_secret_len(priv)), KG_OK);
        assert_memory_equal(kg_secret_cdata(again), kg_secret_cdata(priv), kg_secret_len(priv));
        /* the wrong type is refused */
        kg_crypto_key_type wrong = t == KG_CRYPTO_P256 ? KG_CRYPTO_SECP256K1 : KG_CRYPTO_P256;
        kg_secret *no = NULL;
        assert_int_equal(kg_crypto_priv_import(&no, wrong, der, (size_t)der_len), KG_ERR_BAD_INPUT);
        assert_null(no);
        kg_secret_free(again);
        kg_secret_free(priv);
        kg_bytes_free(&spki);
        OPENSSL_free(der);
        OPENSSL_free(pub);
        PKCS8_PRIV_KEY_INFO_free(p8);
        EVP_PKEY_free(pkey);
    }
}

static void test_import_rejects(void **state)
{
    (void)state;
    kg_secret *p = NULL;
    uint8_t zero[32] = {0};
    assert_int_equal(kg_crypto_priv_import(&p, KG_CRYPTO_P256, zero, 32), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_crypto_priv_import(&p, KG_CRYPTO_SECP256K1, zero, 32), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_crypto_priv_import(&p, KG_CRYPTO_P256, P256_N, 32), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_crypto_priv_import(&p, KG_CRYPTO_SECP256K1, K256_N, 32), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_crypto_priv_import(&p, KG_CRYPTO_P256, zero, 31), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_crypto_priv_import(&p, KG_CRYPTO_RSA3072, zero, 32), KG_ERR_BAD_INPUT);
    assert_null(p);
    uint8_t n_minus_1[32];
    memcpy(n_minus_1, P256_N, 32);
    n_minus_1[31]--;
    assert_int_equal(kg_crypto_priv_import(&p, KG_CRYPTO_P256, n_minus_1, 32), KG_OK);
    kg_secret_free(p);
}

static void test_public_encodings(void **state)
{
    (void)state;
    static const size_t raw_len[] = {65, 65, 32, 0};
    for (size_t i = 0; i < sizeof ALL_TYPES / sizeof ALL_TYPES[0]; i++) {
        kg_crypto_key_type t = ALL_TYPES[i];
        kg_secret *priv = NULL;
        kg_bytes spki = {0}, raw = {0};
        char *pem = NULL;
        assert_int_equal(kg_crypto_keygen(&priv, t), KG_OK);
        assert_int_equal(kg_crypto_pub_from_priv(&spki, t, priv), KG_OK);
        assert_int_equal(kg_crypto_pub_raw(&raw, t, spki.data, spki.len), KG_OK);
        if (raw_len[i] != 0)
            assert_int_equal(raw.len, raw_len[i]);
        else
            assert_int_equal(raw.data[0], 0x30); /* PKCS#1 RSAPublicKey */
        if (raw_len[i] == 65)
            assert_int_equal(raw.data[0], 0x04);
        assert_int_equal(kg_crypto_pub_pem(&pem, spki.data, spki.len), KG_OK);
        assert_true(strncmp(pem, "-----BEGIN PUBLIC KEY-----\n", 27) == 0);
        BIO *bio = BIO_new_mem_buf(pem, -1);
        EVP_PKEY *pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
        assert_non_null(pk);
        unsigned char *der = NULL;
        int der_len = i2d_PUBKEY(pk, &der);
        assert_int_equal((size_t)der_len, spki.len);
        assert_memory_equal(der, spki.data, spki.len);
        OPENSSL_free(der);
        EVP_PKEY_free(pk);
        BIO_free(bio);
        free(pem);
        kg_bytes_free(&raw);
        kg_bytes_free(&spki);
        kg_secret_free(priv);
    }
    char *pem = NULL;
    assert_int_equal(kg_crypto_pub_pem(&pem, (const uint8_t *)"\x30\x00", 2), KG_ERR_BAD_INPUT);
    assert_null(pem);
}

/* The shared secp256k1 context and OpenSSL are safe to use from many threads. */
static void *sign_worker(void *arg)
{
    const kg_crypto_key_type t = *(const kg_crypto_key_type *)arg;
    for (int i = 0; i < 20; i++) {
        kg_secret *priv = NULL;
        kg_bytes spki = {0}, sig = {0};
        uint8_t msg[2] = {(uint8_t)i, (uint8_t)t};
        if (kg_crypto_keygen(&priv, t) != KG_OK ||
            kg_crypto_pub_from_priv(&spki, t, priv) != KG_OK ||
            kg_crypto_sign(&sig, t, priv, KG_CRYPTO_INPUT_MESSAGE, KG_CRYPTO_SIG_DER,
                           msg, 2) != KG_OK ||
            kg_crypto_verify(t, spki.data, spki.len, KG_CRYPTO_INPUT_MESSAGE, KG_CRYPTO_SIG_DER,
                             KG_CRYPTO_VERIFY_LOW_S, msg, 2, sig.data, sig.len) != KG_OK)
            return (void *)1;
        kg_bytes_free(&sig);
        kg_bytes_free(&spki);
        kg_secret_free(priv);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    static const kg_crypto_key_type types[4] = {KG_CRYPTO_SECP256K1, KG_CRYPTO_P256,
                                                KG_CRYPTO_SECP256K1, KG_CRYPTO_ED25519};
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, sign_worker, (void *)&types[i]), 0);
    for (int i = 0; i < 4; i++) {
        void *rc = (void *)1;
        assert_int_equal(pthread_join(th[i], &rc), 0);
        assert_null(rc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wycheproof_p256),
        cmocka_unit_test(test_wycheproof_secp256k1),
        cmocka_unit_test(test_wycheproof_secp256k1_bitcoin),
        cmocka_unit_test(test_wycheproof_ed25519),
        cmocka_unit_test(test_wycheproof_rsa_pss),
        cmocka_unit_test(test_rfc8032),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_low_s),
        cmocka_unit_test(test_secp256k1_deterministic),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_strict_der),
        cmocka_unit_test(test_import_pkcs8),
        cmocka_unit_test(test_import_rejects),
        cmocka_unit_test(test_public_encodings),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests_name("crypto/sign", tests, t_init, NULL);
}
