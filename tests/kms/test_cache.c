/* The key-material cache (src/kms/cache.c): what it holds is only ever a
 * copy of stored material; it never outlives the seal, never serves a
 * destroyed key, never makes a disabled key usable, and a hit returns the
 * same bytes as the store. */
#include "core_fixture.h"

static void label_of(char *out, size_t cap, const char *id, unsigned v)
{
    snprintf(out, cap, "key:%s:v:%u", id, v);
}

static bool cached(fx *f, const char *id, unsigned v)
{
    char label[96];
    label_of(label, sizeof(label), id, v);
    kg_secret *m = NULL;
    bool hit = kms_cache_get(f->kms->cache, &m, NULL, label);
    kg_secret_free(m);
    return hit;
}

static void test_hit_matches_store(void **s)
{
    (void)s;
    fx *f = fx_new(1, 1, true, 0);
    json_t *m = fx_create(f, "{\"spec\":\"ECC_NIST_P256\",\"alias\":\"c\"}"), *info = NULL;
    const char *id = fx_id(m);
    assert_false(cached(f, id, 1));
    kg_bytes sig = { 0 };
    assert_int_equal(kg_kms_sign(f->kms, f->sys, &sig, &info, "c", KG_CRYPTO_INPUT_MESSAGE,
                                 KG_CRYPTO_SIG_DER, (const uint8_t *)"m", 1), KG_OK);
    json_decref(info);
    assert_true(cached(f, id, 1));
    /* The cached bytes and public key are those the store unseals to. */
    kg_secret *hit = NULL, *fresh = NULL;
    kg_bytes hit_pub = { 0 }, fresh_pub = { 0 };
    char label[96];
    label_of(label, sizeof(label), id, 1);
    assert_true(kms_cache_get(f->kms->cache, &hit, &hit_pub, label));
    kms_cache_clear(f->kms->cache);
    assert_int_equal(kms_rdlock_unsealed(f->kms), KG_OK);
    assert_int_equal(kms_key_material(f->kms, &fresh, &fresh_pub, id, 1), KG_OK);
    kms_unlock(f->kms);
    assert_int_equal(kg_secret_len(hit), kg_secret_len(fresh));
    assert_memory_equal(kg_secret_cdata(hit), kg_secret_cdata(fresh), kg_secret_len(hit));
    assert_true(hit_pub.len > 0);
    assert_int_equal(hit_pub.len, fresh_pub.len);
    assert_memory_equal(hit_pub.data, fresh_pub.data, hit_pub.len);
    kg_secret_free(hit);
    kg_secret_free(fresh);
    kg_bytes_free(&hit_pub);
    kg_bytes_free(&fresh_pub);
    /* A signature made from the cached material verifies. */
    assert_int_equal(kg_kms_verify(f->kms, f->sys, &info, "c", 0, KG_CRYPTO_INPUT_MESSAGE, KG_CRYPTO_SIG_DER,
                                   (const uint8_t *)"m", 1, sig.data, sig.len), KG_OK);
    json_decref(info);
    kg_bytes_free(&sig);
    json_decref(m);
    fx_free(f);
}

static void test_cleared_at_seal(void **s)
{
    (void)s;
    fx *f = fx_new(1, 1, true, 0);
    json_t *m = fx_create(f, "{\"spec\":\"AES_256\",\"alias\":\"c\"}"), *info = NULL;
    kg_bytes ct = { 0 };
    assert_int_equal(kg_kms_encrypt(f->kms, f->sys, &ct, &info, "c", NULL, (const uint8_t *)"x", 1), KG_OK);
    json_decref(info);
    assert_true(cached(f, fx_id(m), 1));
    assert_int_equal(kg_kms_seal(f->kms, f->sys), KG_OK);
    assert_false(cached(f, fx_id(m), 1));
    assert_null(f->kms->audit_hmac_key);
    /* Sealed: the operation fails even though it worked a moment ago. */
    kg_secret *pt = NULL;
    assert_int_equal(kg_kms_decrypt(f->kms, f->sys, &pt, &info, NULL, NULL, ct.data, ct.len), KG_ERR_SEALED);
    fx_unseal(f);
    assert_int_equal(kg_kms_decrypt(f->kms, f->sys, &pt, &info, NULL, NULL, ct.data, ct.len), KG_OK);
    assert_memory_equal(kg_secret_cdata(pt), "x", 1);
    kg_secret_free(pt);
    json_decref(info);
    kg_bytes_free(&ct);
    json_decref(m);
    fx_free(f);
}

static void test_state_checked_on_hit(void **s)
{
    (void)s;
    fx *f = fx_new(1, 1, true, 0);
    json_t *m = fx_create(f, "{\"spec\":\"HMAC_256\",\"alias\":\"c\"}"), *info = NULL, *out = NULL;
    kg_bytes mac = { 0 };
    assert_int_equal(kg_kms_mac(f->kms, f->sys, &mac, &info, "c", (const uint8_t *)"x", 1), KG_OK);
    json_decref(info);
    kg_bytes_free(&mac);
    assert_true(cached(f, fx_id(m), 1));
    assert_int_equal(kg_kms_key_disable(f->kms, f->sys, &out, "c"), KG_OK);
    json_decref(out);
    assert_int_equal(kg_kms_mac(f->kms, f->sys, &mac, &info, "c", (const uint8_t *)"x", 1), KG_ERR_KEY_DISABLED);
    assert_null(mac.data);
    json_decref(m);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_matches_store),
        cmocka_unit_test(test_cleared_at_seal),
        cmocka_unit_test(test_state_checked_on_hit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
