/* Operations: encrypt/decrypt with context, the ciphertext format, every
 * tampered byte, rotation, key states, data keys, re-encrypt, sign/verify
 * for each asymmetric spec, MAC, RSA OAEP, random, and a token caller whose
 * policy allows only some keys. Real SQLite store. */
#include "core_fixture.h"

static const uint8_t MSG[] = "attack at dawn";
#define MSG_LEN (sizeof(MSG) - 1)

static json_t *ctx(const char *text)
{
    json_t *c = json_loads(text, 0, NULL);
    assert_non_null(c);
    return c;
}

static void enc(fx *f, kg_bytes *ct, const char *ref, const json_t *c, const uint8_t *pt, size_t n)
{
    json_t *info = NULL;
    kg_err e = kg_kms_encrypt(f->kms, f->sys, ct, &info, ref, c, pt, n);
    if (e != KG_OK)
        fprintf(stderr, "encrypt: %s\n", kg_err_detail(e));
    assert_int_equal(e, KG_OK);
    json_decref(info);
}

static kg_err dec(fx *f, kg_secret **pt, const char *ref, const json_t *c, const kg_bytes *ct)
{
    json_t *info = NULL;
    kg_err e = kg_kms_decrypt(f->kms, f->sys, pt, &info, ref, c, ct->data, ct->len);
    if (e != KG_OK) {
        assert_null(*pt);
        assert_null(info);
    }
    json_decref(info);
    return e;
}

static void expect_pt(fx *f, const char *ref, const json_t *c, const kg_bytes *ct,
                      const uint8_t *want, size_t n)
{
    kg_secret *pt = NULL;
    assert_int_equal(dec(f, &pt, ref, c, ct), KG_OK);
    assert_int_equal(kg_secret_len(pt), n);
    if (n > 0)
        assert_memory_equal(kg_secret_cdata(pt), want, n);
    kg_secret_free(pt);
}

static void test_context_and_format(void **s)
{
    (void)s;
    fx *f = fx_new(1, 1, true, 7 * 86400);
    json_t *m = fx_create(f, "{\"spec\":\"AES_256\",\"alias\":\"e\"}");
    json_t *c1 = ctx("{\"tenant\":\"42\",\"dept\":\"hr\"}"), *c2 = ctx("{\"dept\":\"hr\",\"tenant\":\"42\"}");
    json_t *c3 = ctx("{\"tenant\":\"43\",\"dept\":\"hr\"}"), *empty = ctx("{}");
    kg_bytes ct = { 0 };
    enc(f, &ct, "e", c1, MSG, MSG_LEN);
    /* format: KGC1 | 26 | id | version 1 | iv | ct | tag */
    assert_int_equal(ct.len, 4 + 1 + 26 + 4 + 12 + MSG_LEN + 16);
    assert_memory_equal(ct.data, "KGC1", 4);
    assert_int_equal(ct.data[4], 26);
    assert_memory_equal(ct.data + 5, fx_id(m), 26);
    assert_memory_equal(ct.data + 31, "\0\0\0\1", 4);
    expect_pt(f, NULL, c2, &ct, MSG, MSG_LEN);      /* key order does not matter */
    expect_pt(f, "e", c1, &ct, MSG, MSG_LEN);
    expect_pt(f, fx_id(m), c1, &ct, MSG, MSG_LEN);
    kg_secret *pt = NULL;
    assert_int_equal(dec(f, &pt, NULL, c3, &ct), KG_ERR_DECRYPT);
    const char *msg1 = kg_err_detail(KG_ERR_DECRYPT);
    char saved[256];
    snprintf(saved, sizeof(saved), "%s", msg1);
    assert_int_equal(dec(f, &pt, NULL, NULL, &ct), KG_ERR_DECRYPT);
    assert_int_equal(dec(f, &pt, NULL, empty, &ct), KG_ERR_DECRYPT);
    /* every single-byte change and every truncation fails, with one message */
    for (size_t i = 0; i < ct.len; i++) {
        ct.data[i] ^= 0x01;
        assert_int_equal(dec(f, &pt, NULL, c1, &ct), KG_ERR_DECRYPT);
        assert_string_equal(kg_err_detail(KG_ERR_DECRYPT), saved);
        ct.data[i] ^= 0x01;
    }
    for (size_t n = 0; n < ct.len; n++) {
        kg_bytes t = { ct.data, n };
        assert_int_equal(dec(f, &pt, NULL, c1, &t), KG_ERR_DECRYPT);
    }
    /* no context and {} are the same */
    kg_bytes ct2 = { 0 };
    enc(f, &ct2, "e", NULL, MSG, MSG_LEN);
    expect_pt(f, NULL, empty, &ct2, MSG, MSG_LEN);
    /* bad contexts */
    json_t *info = NULL, *badv = ctx("{\"n\":1}"), *big = json_object();
    for (int i = 0; i < 65; i++) {
        char k[8];
        snprintf(k, sizeof(k), "k%d", i);
        json_object_set_new(big, k, json_string("v"));
    }
    kg_bytes x = { 0 };
    assert_int_equal(kg_kms_encrypt(f->kms, f->sys, &x, &info, "e", badv, MSG, MSG_LEN), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_kms_encrypt(f->kms, f->sys, &x, &info, "e", big, MSG, MSG_LEN), KG_ERR_BAD_INPUT);
    assert_null(x.data);
    /* empty plaintext and the 64 KiB limit */
    enc(f, &x, "e", NULL, NULL, 0);
    expect_pt(f, NULL, NULL, &x, NULL, 0);
    kg_bytes_free(&x);
    uint8_t *large = calloc(1, 65537);
    enc(f, &x, "e", NULL, large, 65536);
    expect_pt(f, NULL, NULL, &x, large, 65536);
    kg_bytes_free(&x);
    assert_int_equal(kg_kms_encrypt(f->kms, f->sys, &x, &info, "e", NULL, large, 65537), KG_ERR_TOO_LARGE);
    free(large);
    kg_bytes_free(&ct);
    kg_bytes_free(&ct2);
    json_decref(c1); json_decref(c2); json_decref(c3); json_decref(empty);
    json_decref(badv); json_decref(big); json_decref(m);
    fx_free(f);
}

static void test_rotation_states_and_refs(void **s)
{
    (void)s;
    fx *f = fx_new(1, 1, true, 7 * 86400);
    json_t *m = fx_create(f, "{\"spec\":\"AES_256\",\"alias\":\"r\"}"), *out = NULL, *info = NULL;
    json_decref(fx_create(f, "{\"spec\":\"AES_256\",\"alias\":\"other\"}"));
    json_t *hmac = fx_create(f, "{\"spec\":\"HMAC_256\",\"alias\":\"h\"}");
    kg_bytes v1 = { 0 }, v2 = { 0 };
    enc(f, &v1, "r", NULL, MSG, MSG_LEN);
    assert_int_equal(kg_kms_key_rotate(f->kms, f->sys, &out, "r"), KG_OK);
    json_decref(out);
    assert_int_equal(kg_kms_encrypt(f->kms, f->sys, &v2, &info, "r", NULL, MSG, MSG_LEN), KG_OK);
    assert_int_equal(json_integer_value(json_object_get(info, "version")), 2);
    json_decref(info);
    assert_memory_equal(v2.data + 31, "\0\0\0\2", 4);
    expect_pt(f, NULL, NULL, &v1, MSG, MSG_LEN);
    expect_pt(f, NULL, NULL, &v2, MSG, MSG_LEN);
    kg_secret *pt = NULL;
    /* a ref naming another key is refused */
    assert_int_equal(dec(f, &pt, "other", NULL, &v1), KG_ERR_BAD_INPUT);
    assert_int_equal(dec(f, &pt, "missing", NULL, &v1), KG_ERR_NOT_FOUND);
    /* wrong usage */
    kg_bytes x = { 0 };
    assert_int_equal(kg_kms_encrypt(f->kms, f->sys, &x, &info, "h", NULL, MSG, MSG_LEN),
                     KG_ERR_WRONG_KEY_USAGE);
    /* disabled: decrypt gives the key-state error */
    assert_int_equal(kg_kms_key_disable(f->kms, f->sys, &out, "r"), KG_OK);
    json_decref(out);
    assert_int_equal(dec(f, &pt, NULL, NULL, &v1), KG_ERR_KEY_DISABLED);
    assert_int_equal(kg_kms_key_enable(f->kms, f->sys, &out, "r"), KG_OK);
    json_decref(out);
    expect_pt(f, "r", NULL, &v1, MSG, MSG_LEN);
    kg_bytes_free(&v1);
    kg_bytes_free(&v2);
    json_decref(hmac);
    json_decref(m);
    fx_free(f);
}

static void test_data_key_and_reencrypt(void **s)
{
    (void)s;
    fx *f = fx_new(1, 1, true, 7 * 86400);
    json_decref(fx_create(f, "{\"spec\":\"AES_256\",\"alias\":\"a\"}"));
    json_t *b = fx_create(f, "{\"spec\":\"AES_256\",\"alias\":\"b\"}");
    json_t *c = ctx("{\"purpose\":\"backup\"}"), *c2 = ctx("{\"purpose\":\"archive\"}"), *info = NULL;
    kg_secret *dk = NULL;
    kg_bytes ct = { 0 }, ct2 = { 0 };
    assert_int_equal(kg_kms_data_key(f->kms, f->sys, &dk, &ct, &info, "a", c, 0), KG_OK);
    assert_int_equal(kg_secret_len(dk), 32);
    json_decref(info);
    expect_pt(f, NULL, c, &ct, kg_secret_cdata(dk), 32);
    assert_int_equal(kg_kms_reencrypt(f->kms, f->sys, &ct2, &info, "b", c, c2, ct.data, ct.len), KG_OK);
    assert_string_equal(json_string_value(json_object_get(info, "key_id")), fx_id(b));
    assert_non_null(json_object_get(info, "source_key_id"));
    assert_int_equal(json_integer_value(json_object_get(info, "source_version")), 1);
    json_decref(info);
    expect_pt(f, "b", c2, &ct2, kg_secret_cdata(dk), 32);
    kg_bytes bad = { 0 };
    assert_int_equal(kg_kms_reencrypt(f->kms, f->sys, &bad, &info, "b", c2, c2, ct.data, ct.len),
                     KG_ERR_DECRYPT);
    assert_null(bad.data);
    kg_secret_free(dk);
    kg_bytes_free(&ct);
    /* without plaintext, other sizes */
    assert_int_equal(kg_kms_data_key(f->kms, f->sys, NULL, &ct, &info, "a", NULL, 64), KG_OK);
    json_decref(info);
    kg_secret *pt = NULL;
    assert_int_equal(dec(f, &pt, NULL, NULL, &ct), KG_OK);
    assert_int_equal(kg_secret_len(pt), 64);
    kg_secret_free(pt);
    kg_bytes_free(&ct);
    assert_int_equal(kg_kms_data_key(f->kms, f->sys, &dk, &ct, &info, "a", NULL, 15), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_kms_data_key(f->kms, f->sys, &dk, &ct, &info, "a", NULL, 65), KG_ERR_BAD_INPUT);
    kg_bytes_free(&ct2);
    json_decref(c);
    json_decref(c2);
    json_decref(b);
    fx_free(f);
}

static void sign_verify_spec(fx *f, const char *spec, bool digest_ok)
{
    char req[64];
    snprintf(req, sizeof(req), "{\"spec\":\"%s\"}", spec);
    json_t *m = fx_create(f, req), *info = NULL, *out = NULL;
    const char *id = fx_id(m);
    kg_bytes sig = { 0 }, sig_raw = { 0 };
    assert_int_equal(kg_kms_sign(f->kms, f->sys, &sig, &info, id, KG_CRYPTO_INPUT_MESSAGE,
                                 KG_CRYPTO_SIG_DER, MSG, MSG_LEN), KG_OK);
    assert_int_equal(json_integer_value(json_object_get(info, "version")), 1);
    json_decref(info);
    assert_int_equal(kg_kms_verify(f->kms, f->sys, &info, id, 0, KG_CRYPTO_INPUT_MESSAGE,
                                   KG_CRYPTO_SIG_DER, MSG, MSG_LEN, sig.data, sig.len), KG_OK);
    json_decref(info);
    assert_int_equal(kg_kms_verify(f->kms, f->sys, &info, id, 0, KG_CRYPTO_INPUT_MESSAGE,
                                   KG_CRYPTO_SIG_DER, MSG, MSG_LEN - 1, sig.data, sig.len), KG_ERR_VERIFY);
    assert_null(info);
    uint8_t dg[32];
    kg_crypto_sha256(dg, MSG, MSG_LEN);
    kg_err e = kg_kms_sign(f->kms, f->sys, &sig_raw, &info, id, KG_CRYPTO_INPUT_DIGEST,
                           KG_CRYPTO_SIG_RAW, dg, 32);
    if (!digest_ok) {
        assert_int_equal(e, KG_ERR_WRONG_KEY_USAGE);
    } else {
        assert_int_equal(e, KG_OK);
        json_decref(info);
        assert_int_equal(kg_kms_verify(f->kms, f->sys, &info, id, 1, KG_CRYPTO_INPUT_DIGEST,
                                       KG_CRYPTO_SIG_RAW, dg, 32, sig_raw.data, sig_raw.len), KG_OK);
        json_decref(info);
    }
    /* after rotation, old signatures verify (found at version 1) */
    assert_int_equal(kg_kms_key_rotate(f->kms, f->sys, &out, id), KG_OK);
    json_decref(out);
    assert_int_equal(kg_kms_verify(f->kms, f->sys, &info, id, 0, KG_CRYPTO_INPUT_MESSAGE,
                                   KG_CRYPTO_SIG_DER, MSG, MSG_LEN, sig.data, sig.len), KG_OK);
    assert_int_equal(json_integer_value(json_object_get(info, "version")), 1);
    json_decref(info);
    info = NULL;
    assert_int_equal(kg_kms_verify(f->kms, f->sys, &info, id, 2, KG_CRYPTO_INPUT_MESSAGE,
                                   KG_CRYPTO_SIG_DER, MSG, MSG_LEN, sig.data, sig.len), KG_ERR_VERIFY);
    assert_int_equal(kg_kms_verify(f->kms, f->sys, &info, id, 3, KG_CRYPTO_INPUT_MESSAGE,
                                   KG_CRYPTO_SIG_DER, MSG, MSG_LEN, sig.data, sig.len), KG_ERR_NOT_FOUND);
    kg_bytes_free(&sig);
    assert_int_equal(kg_kms_sign(f->kms, f->sys, &sig, &info, id, KG_CRYPTO_INPUT_MESSAGE,
                                 KG_CRYPTO_SIG_DER, MSG, MSG_LEN), KG_OK);
    assert_int_equal(json_integer_value(json_object_get(info, "version")), 2);
    json_decref(info);
    kg_bytes_free(&sig);
    kg_bytes_free(&sig_raw);
    json_decref(m);
}

static void test_sign_verify(void **s)
{
    (void)s;
    fx *f = fx_new(1, 1, true, 7 * 86400);
    sign_verify_spec(f, "ECC_NIST_P256", true);
    sign_verify_spec(f, "ECC_SECG_P256K1", true);
    sign_verify_spec(f, "ED25519", false);
    sign_verify_spec(f, "RSA_3072", true);
    json_decref(fx_create(f, "{\"spec\":\"AES_256\",\"alias\":\"aes\"}"));
    kg_bytes sig = { 0 };
    json_t *info = NULL;
    assert_int_equal(kg_kms_sign(f->kms, f->sys, &sig, &info, "aes", KG_CRYPTO_INPUT_MESSAGE,
                                 KG_CRYPTO_SIG_DER, MSG, MSG_LEN), KG_ERR_WRONG_KEY_USAGE);
    assert_null(sig.data);
    fx_free(f);
}

static void test_rsa_encrypt(void **s)
{
    (void)s;
    fx *f = fx_new(1, 1, true, 7 * 86400);
    json_t *m = fx_create(f, "{\"spec\":\"RSA_3072\",\"alias\":\"rsa\"}"), *c = ctx("{\"a\":\"b\"}"), *info = NULL;
    kg_bytes ct = { 0 };
    enc(f, &ct, "rsa", c, MSG, MSG_LEN);
    assert_int_equal(ct.len, 35 + 384);
    expect_pt(f, NULL, c, &ct, MSG, MSG_LEN);
    kg_secret *pt = NULL;
    assert_int_equal(dec(f, &pt, NULL, NULL, &ct), KG_ERR_DECRYPT);
    ct.data[100] ^= 1;
    assert_int_equal(dec(f, &pt, NULL, c, &ct), KG_ERR_DECRYPT);
    kg_bytes_free(&ct);
    uint8_t big[319] = { 0 };
    enc(f, &ct, "rsa", NULL, big, 318);
    kg_bytes_free(&ct);
    assert_int_equal(kg_kms_encrypt(f->kms, f->sys, &ct, &info, "rsa", NULL, big, 319), KG_ERR_TOO_LARGE);
    json_decref(c);
    json_decref(m);
    fx_free(f);
}

static void test_mac_and_random(void **s)
{
    (void)s;
    fx *f = fx_new(1, 1, true, 7 * 86400);
    json_decref(fx_create(f, "{\"spec\":\"HMAC_256\",\"alias\":\"m\"}"));
    json_decref(fx_create(f, "{\"spec\":\"ED25519\",\"alias\":\"ed\"}"));
    kg_bytes mac = { 0 }, mac2 = { 0 };
    json_t *info = NULL, *out = NULL;
    assert_int_equal(kg_kms_mac(f->kms, f->sys, &mac, &info, "m", MSG, MSG_LEN), KG_OK);
    assert_int_equal(mac.len, 32);
    json_decref(info);
    assert_int_equal(kg_kms_mac(f->kms, f->sys, &mac2, &info, "m", MSG, MSG_LEN), KG_OK);
    assert_memory_equal(mac.data, mac2.data, 32); /* deterministic */
    json_decref(info);
    assert_int_equal(kg_kms_verify_mac(f->kms, f->sys, &info, "m", MSG, MSG_LEN, mac.data, 32), KG_OK);
    json_decref(info);
    assert_int_equal(kg_kms_key_rotate(f->kms, f->sys, &out, "m"), KG_OK);
    json_decref(out);
    assert_int_equal(kg_kms_verify_mac(f->kms, f->sys, &info, "m", MSG, MSG_LEN, mac.data, 32), KG_OK);
    assert_int_equal(json_integer_value(json_object_get(info, "version")), 1);
    json_decref(info);
    info = NULL;
    assert_int_equal(kg_kms_verify_mac(f->kms, f->sys, &info, "m", MSG, MSG_LEN - 1, mac.data, 32),
                     KG_ERR_VERIFY);
    assert_int_equal(kg_kms_verify_mac(f->kms, f->sys, &info, "m", MSG, MSG_LEN, mac.data, 31),
                     KG_ERR_VERIFY);
    mac.data[0] ^= 1;
    assert_int_equal(kg_kms_verify_mac(f->kms, f->sys, &info, "m", MSG, MSG_LEN, mac.data, 32),
                     KG_ERR_VERIFY);
    assert_null(info);
    kg_bytes_free(&mac2);
    assert_int_equal(kg_kms_mac(f->kms, f->sys, &mac2, &info, "m", MSG, MSG_LEN), KG_OK);
    assert_memory_not_equal(mac.data, mac2.data, 32); /* new version, new key */
    json_decref(info);
    kg_bytes x = { 0 };
    assert_int_equal(kg_kms_mac(f->kms, f->sys, &x, &info, "ed", MSG, MSG_LEN), KG_ERR_WRONG_KEY_USAGE);
    assert_int_equal(kg_kms_random(f->kms, f->sys, &x, 32), KG_OK);
    assert_int_equal(x.len, 32);
    kg_bytes_free(&x);
    assert_int_equal(kg_kms_random(f->kms, f->sys, &x, 0), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_kms_random(f->kms, f->sys, &x, 1025), KG_ERR_BAD_INPUT);
    kg_bytes_free(&mac);
    kg_bytes_free(&mac2);
    fx_free(f);
}

static void test_token_caller(void **s)
{
    (void)s;
    fx *f = fx_new(1, 1, true, 7 * 86400);
    json_t *mine = fx_create(f, "{\"spec\":\"AES_256\",\"alias\":\"app-one\"}");
    json_decref(fx_create(f, "{\"spec\":\"AES_256\",\"alias\":\"secret-other\"}"));
    json_t *pol = json_loads("{\"name\":\"app\",\"rules\":[{\"keys\":[\"app-*\"],"
                             "\"actions\":[\"encrypt\",\"decrypt\"]}]}", 0, NULL);
    json_t *pout = NULL, *tout = NULL, *treq = json_pack("{s:[s]}", "policies", "app"), *info = NULL;
    assert_int_equal(kg_kms_policy_put(f->kms, f->sys, &pout, pol), KG_OK);
    assert_int_equal(kg_kms_token_create(f->kms, f->sys, &tout, treq), KG_OK);
    kg_kms_caller *c = NULL;
    assert_int_equal(kg_kms_token_authenticate(f->kms, &c, json_string_value(json_object_get(tout, "token"))),
                     KG_OK);
    kg_bytes ct = { 0 }, x = { 0 };
    /* the policy matches the alias ... */
    assert_int_equal(kg_kms_encrypt(f->kms, c, &ct, &info, "app-one", NULL, MSG, MSG_LEN), KG_OK);
    json_decref(info);
    /* ... also when the key is named by id (or found from the ciphertext) */
    kg_secret *pt = NULL;
    assert_int_equal(kg_kms_decrypt(f->kms, c, &pt, &info, NULL, NULL, ct.data, ct.len), KG_OK);
    kg_secret_free(pt);
    json_decref(info);
    assert_int_equal(kg_kms_encrypt(f->kms, c, &x, &info, fx_id(mine), NULL, MSG, MSG_LEN), KG_OK);
    kg_bytes_free(&x);
    json_decref(info);
    assert_int_equal(kg_kms_encrypt(f->kms, c, &x, &info, "secret-other", NULL, MSG, MSG_LEN), KG_ERR_DENIED);
    json_t *out = NULL, *creq = json_pack("{s:s}", "spec", "AES_256");
    assert_int_equal(kg_kms_key_create(f->kms, c, &out, creq), KG_ERR_DENIED);
    assert_int_equal(kg_kms_key_rotate(f->kms, c, &out, "app-one"), KG_ERR_DENIED);
    assert_int_equal(kg_kms_random(f->kms, c, &x, 8), KG_ERR_DENIED);
    assert_int_equal(kg_kms_key_list(f->kms, c, &out, 0, NULL), KG_ERR_DENIED);
    assert_null(out);
    assert_int_equal(fx_key_count(f), 2);
    kg_kms_caller_free(c);
    kg_bytes_free(&ct);
    json_decref(creq); json_decref(pol); json_decref(pout); json_decref(tout); json_decref(treq);
    json_decref(mine);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_context_and_format),
        cmocka_unit_test(test_rotation_states_and_refs),
        cmocka_unit_test(test_data_key_and_reencrypt),
        cmocka_unit_test(test_sign_verify),
        cmocka_unit_test(test_rsa_encrypt),
        cmocka_unit_test(test_mac_and_random),
        cmocka_unit_test(test_token_caller),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
