/* RSA: Wycheproof RSAES-OAEP (SHA-256/MGF1-SHA-256) decryption with the
 * file's PKCS#8 key imported as RSA-2048, OAEP round trips with and without
 * a label, the single decryption error, key generation for RSA-3072/4096 and
 * the size checks of import. */
#include "crypto_test.h"

static void test_oaep_wycheproof(void **state)
{
    (void)state;
    const char *file = "wycheproof/rsa_oaep_2048_sha256_mgf1sha256_test.json";
    json_t *root = t_load(file);
    t_tally tally = {.name = file};
    T_FOR_EACH_TEST(root, group, test) {
        size_t kl, cl, ll, ml;
        uint8_t *p8 = t_jhex(group, "privateKeyPkcs8", &kl);
        kg_secret *priv = NULL, *pt = NULL;
        assert_int_equal(kg_crypto_priv_import(&priv, KG_CRYPTO_RSA2048, p8, kl), KG_OK);
        uint8_t *ct = t_jhex(test, "ct", &cl), *label = t_jhex(test, "label", &ll);
        uint8_t *msg = t_jhex(test, "msg", &ml);
        kg_err err = kg_crypto_rsa_oaep_decrypt(&pt, priv, label, ll, ct, cl);
        if (err != KG_OK) {
            assert_int_equal(err, KG_ERR_DECRYPT);
            assert_null(pt);
        }
        t_record(&tally, test, err == KG_OK && kg_secret_len(pt) == ml &&
                                   memcmp(kg_secret_cdata(pt), msg, ml) == 0);
        kg_secret_free(pt);
        kg_secret_free(priv);
        free(p8); free(ct); free(label); free(msg);
    }
    t_report(&tally);
    json_decref(root);
}

static void oaep_round_trip(kg_crypto_key_type t)
{
    kg_secret *priv = NULL, *pt = NULL;
    kg_bytes spki = {0}, ct = {0};
    int bits = t == KG_CRYPTO_RSA3072 ? 3072 : 4096;
    assert_int_equal(kg_crypto_keygen(&priv, t), KG_OK);
    assert_int_equal(kg_crypto_pub_from_priv(&spki, t, priv), KG_OK);
    const uint8_t key[32] = "a 256-bit data key to be wrapped";
    const uint8_t label[] = "kashguard:key:payments";
    assert_int_equal(kg_crypto_rsa_oaep_encrypt(&ct, spki.data, spki.len, label, sizeof label,
                                                key, sizeof key), KG_OK);
    assert_int_equal(ct.len, (size_t)bits / 8);
    assert_int_equal(kg_crypto_rsa_oaep_decrypt(&pt, priv, label, sizeof label, ct.data, ct.len),
                     KG_OK);
    assert_int_equal(kg_secret_len(pt), sizeof key);
    assert_memory_equal(kg_secret_cdata(pt), key, sizeof key);
    kg_secret_free(pt);
    pt = NULL;
    /* Wrong label, no label, tampered ciphertext, truncated ciphertext: one error. */
    assert_int_equal(kg_crypto_rsa_oaep_decrypt(&pt, priv, (const uint8_t *)"other", 5,
                                                ct.data, ct.len), KG_ERR_DECRYPT);
    assert_int_equal(kg_crypto_rsa_oaep_decrypt(&pt, priv, NULL, 0, ct.data, ct.len),
                     KG_ERR_DECRYPT);
    const char *detail = kg_err_detail(KG_ERR_DECRYPT);
    char first[256];
    snprintf(first, sizeof first, "%s", detail);
    ct.data[10] ^= 1;
    assert_int_equal(kg_crypto_rsa_oaep_decrypt(&pt, priv, label, sizeof label, ct.data, ct.len),
                     KG_ERR_DECRYPT);
    assert_string_equal(kg_err_detail(KG_ERR_DECRYPT), first);
    assert_int_equal(kg_crypto_rsa_oaep_decrypt(&pt, priv, label, sizeof label, ct.data,
                                                ct.len - 1), KG_ERR_DECRYPT);
    assert_string_equal(kg_err_detail(KG_ERR_DECRYPT), first);
    assert_null(pt);
    kg_bytes_free(&ct);
    /* Empty plaintext and no label work; too long a plaintext is refused. */
    assert_int_equal(kg_crypto_rsa_oaep_encrypt(&ct, spki.data, spki.len, NULL, 0, NULL, 0), KG_OK);
    assert_int_equal(kg_crypto_rsa_oaep_decrypt(&pt, priv, NULL, 0, ct.data, ct.len), KG_OK);
    assert_int_equal(kg_secret_len(pt), 0);
    kg_secret_free(pt);
    kg_bytes_free(&ct);
    uint8_t big[512] = {0};
    size_t max = (size_t)bits / 8 - 66;
    assert_int_equal(kg_crypto_rsa_oaep_encrypt(&ct, spki.data, spki.len, NULL, 0, big, max), KG_OK);
    kg_bytes_free(&ct);
    assert_int_equal(kg_crypto_rsa_oaep_encrypt(&ct, spki.data, spki.len, NULL, 0, big, max + 1),
                     KG_ERR_BAD_INPUT);
    assert_null(ct.data);
    kg_bytes_free(&spki);
    kg_secret_free(priv);
}

static void test_oaep_round_trip_3072(void **state)
{
    (void)state;
    oaep_round_trip(KG_CRYPTO_RSA3072);
}

/* RSA-4096: key generation, PSS signature and OAEP, once. */
static void test_rsa4096(void **state)
{
    (void)state;
    oaep_round_trip(KG_CRYPTO_RSA4096);
    kg_secret *priv = NULL;
    kg_bytes spki = {0}, sig = {0};
    const uint8_t msg[] = "rsa-4096 pss";
    assert_int_equal(kg_crypto_keygen(&priv, KG_CRYPTO_RSA4096), KG_OK);
    assert_int_equal(kg_crypto_pub_from_priv(&spki, KG_CRYPTO_RSA4096, priv), KG_OK);
    assert_int_equal(kg_crypto_sign(&sig, KG_CRYPTO_RSA4096, priv, KG_CRYPTO_INPUT_MESSAGE,
                                    KG_CRYPTO_SIG_RAW, msg, sizeof msg), KG_OK);
    assert_int_equal(sig.len, 512);
    assert_int_equal(kg_crypto_verify(KG_CRYPTO_RSA4096, spki.data, spki.len,
                                      KG_CRYPTO_INPUT_MESSAGE, KG_CRYPTO_SIG_RAW, 0, msg,
                                      sizeof msg, sig.data, sig.len), KG_OK);
    sig.data[100] ^= 4;
    assert_int_equal(kg_crypto_verify(KG_CRYPTO_RSA4096, spki.data, spki.len,
                                      KG_CRYPTO_INPUT_MESSAGE, KG_CRYPTO_SIG_RAW, 0, msg,
                                      sizeof msg, sig.data, sig.len), KG_ERR_VERIFY);
    kg_bytes_free(&sig);
    kg_bytes_free(&spki);
    kg_secret_free(priv);
}

static void test_rsa_sizes_checked(void **state)
{
    (void)state;
    kg_secret *priv = NULL, *no = NULL;
    kg_bytes spki = {0}, sig = {0};
    assert_int_equal(kg_crypto_keygen(&priv, KG_CRYPTO_RSA3072), KG_OK);
    /* a 3072-bit key is not an RSA-4096 or RSA-2048 key */
    assert_int_equal(kg_crypto_priv_import(&no, KG_CRYPTO_RSA4096, kg_secret_cdata(priv),
                                           kg_secret_len(priv)), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_crypto_priv_import(&no, KG_CRYPTO_RSA2048, kg_secret_cdata(priv),
                                           kg_secret_len(priv)), KG_ERR_BAD_INPUT);
    assert_null(no);
    assert_int_equal(kg_crypto_pub_from_priv(&spki, KG_CRYPTO_RSA3072, priv), KG_OK);
    assert_int_equal(kg_crypto_sign(&sig, KG_CRYPTO_RSA3072, priv, KG_CRYPTO_INPUT_MESSAGE,
                                    KG_CRYPTO_SIG_RAW, (const uint8_t *)"m", 1), KG_OK);
    assert_int_equal(sig.len, 384);
    assert_int_equal(kg_crypto_verify(KG_CRYPTO_RSA4096, spki.data, spki.len,
                                      KG_CRYPTO_INPUT_MESSAGE, KG_CRYPTO_SIG_RAW, 0,
                                      (const uint8_t *)"m", 1, sig.data, sig.len),
                     KG_ERR_BAD_INPUT);
    /* a truncated PKCS#8 is rejected */
    assert_int_equal(kg_crypto_priv_import(&no, KG_CRYPTO_RSA3072, kg_secret_cdata(priv),
                                           kg_secret_len(priv) - 1), KG_ERR_BAD_INPUT);
    kg_bytes_free(&sig);
    kg_bytes_free(&spki);
    kg_secret_free(priv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oaep_wycheproof),
        cmocka_unit_test(test_oaep_round_trip_3072),
        cmocka_unit_test(test_rsa4096),
        cmocka_unit_test(test_rsa_sizes_checked),
    };
    return cmocka_run_group_tests_name("crypto/rsa", tests, t_init, NULL);
}
