/* The seal: init, unseal with every order and subset of T-of-N shares,
 * wrong and duplicate shares, the sealed state, restart, seal, dev
 * bootstrap and the at-rest sealing helpers. Real SQLite store. */
#include "core_fixture.h"

#include <sys/stat.h>

static json_t *status_of(fx *f)
{
    json_t *st = kg_kms_status(f->kms);
    assert_non_null(st);
    return st;
}

static json_int_t progress(fx *f)
{
    json_t *st = status_of(f);
    json_int_t p = json_integer_value(json_object_get(st, "progress"));
    json_decref(st);
    return p;
}

static const char *share(fx *f, size_t i)
{
    return json_string_value(json_array_get(json_object_get(f->init, "unseal_keys"), i));
}

/* Unseal with the shares in order[0..k) and check the result. */
static void unseal_seq(fx *f, const unsigned *order, unsigned k, unsigned t)
{
    for (unsigned i = 0; i < k; i++) {
        json_t *st = NULL;
        assert_int_equal(kg_kms_unseal(f->kms, &st, share(f, order[i])), KG_OK);
        bool done = i + 1 >= t;
        assert_int_equal(json_is_true(json_object_get(st, "sealed")), !done);
        if (!done)
            assert_int_equal(json_integer_value(json_object_get(st, "progress")), i + 1);
        json_decref(st);
    }
}

/* Every permutation of every t-subset of n shares unseals; fewer never do. */
static void all_orders(unsigned n, unsigned t)
{
    fx *f = fx_new(n, t, false, 0);
    assert_int_equal(json_array_size(json_object_get(f->init, "unseal_keys")), n);
    assert_non_null(json_string_value(json_object_get(f->init, "root_token")));
    unsigned idx[5], count = 0;
    /* Enumerate t-tuples of distinct indices (all orders) with a counter. */
    unsigned total = 1;
    for (unsigned i = 0; i < t; i++)
        total *= n;
    for (unsigned code = 0; code < total; code++) {
        unsigned c = code;
        bool distinct = true;
        for (unsigned i = 0; i < t; i++) {
            idx[i] = c % n;
            c /= n;
            for (unsigned j = 0; j < i; j++)
                distinct = distinct && idx[j] != idx[i];
        }
        if (!distinct)
            continue;
        assert_true(fx_sealed(f));
        unseal_seq(f, idx, t, t);
        assert_false(fx_sealed(f));
        assert_int_equal(kg_kms_seal(f->kms, f->sys), KG_OK);
        count++;
    }
    unsigned expect = 1;
    for (unsigned i = 0; i < t; i++)
        expect *= n - i;
    assert_int_equal(count, expect);
    /* t-1 shares (any) leave it sealed. */
    unseal_seq(f, (unsigned[]){ n - 1, 0, 1 }, t - 1, t);
    assert_true(fx_sealed(f));
    kg_kms_unseal_reset(f->kms);
    assert_int_equal(progress(f), 0);
    fx_free(f);
}

static void test_unseal_2_of_3(void **s) { (void)s; all_orders(3, 2); }
static void test_unseal_3_of_5(void **s) { (void)s; all_orders(5, 3); }

static void test_wrong_share(void **s)
{
    (void)s;
    fx *f = fx_new(3, 2, false, 0);
    fx *other = fx_new(3, 2, false, 0);
    json_t *st = NULL;
    /* a share of another KMS: combination fails the GCM check */
    assert_int_equal(kg_kms_unseal(f->kms, &st, share(f, 0)), KG_OK);
    json_decref(st);
    st = NULL;
    assert_int_equal(kg_kms_unseal(f->kms, &st, share(other, 1)), KG_ERR_UNSEAL_KEY);
    assert_null(st);
    assert_true(fx_sealed(f));
    assert_int_equal(progress(f), 0);
    /* a flipped bit in a share */
    kg_bytes b = { 0 };
    assert_int_equal(kg_b64_decode(&b, share(f, 1)), KG_OK);
    b.data[5] ^= 1;
    char bad[64];
    kg_b64_encode(bad, b.data, b.len);
    kg_bytes_free(&b);
    assert_int_equal(kg_kms_unseal(f->kms, &st, share(f, 0)), KG_OK);
    json_decref(st);
    assert_int_equal(kg_kms_unseal(f->kms, &st, bad), KG_ERR_UNSEAL_KEY);
    assert_true(fx_sealed(f));
    /* same x, different y, submitted in one round */
    assert_int_equal(kg_kms_unseal(f->kms, &st, bad), KG_OK);
    json_decref(st);
    assert_int_equal(kg_kms_unseal(f->kms, &st, share(f, 1)), KG_ERR_UNSEAL_KEY);
    assert_int_equal(progress(f), 0);
    /* garbage */
    assert_int_equal(kg_kms_unseal(f->kms, &st, "not base64!"), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_kms_unseal(f->kms, &st, "AAAA"), KG_ERR_UNSEAL_KEY);
    assert_true(fx_sealed(f));
    /* the right shares still work afterwards */
    fx_unseal(f);
    fx_free(other);
    fx_free(f);
}

static void test_duplicate_share_ignored(void **s)
{
    (void)s;
    fx *f = fx_new(5, 3, false, 0);
    json_t *st = NULL;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(kg_kms_unseal(f->kms, &st, share(f, 2)), KG_OK);
        json_decref(st);
    }
    assert_int_equal(progress(f), 1);
    assert_true(fx_sealed(f));
    assert_int_equal(kg_kms_unseal(f->kms, &st, share(f, 4)), KG_OK);
    json_decref(st);
    assert_int_equal(kg_kms_unseal(f->kms, &st, share(f, 0)), KG_OK);
    json_decref(st);
    assert_false(fx_sealed(f));
    fx_free(f);
}

static void test_init_rules(void **s)
{
    (void)s;
    fx *f = fx_new(0, 0, false, 0);
    json_t *st = status_of(f), *out = NULL;
    assert_false(json_is_true(json_object_get(st, "initialized")));
    assert_true(json_is_true(json_object_get(st, "sealed")));
    json_decref(st);
    assert_int_equal(kg_kms_unseal(f->kms, &out, "AAAA"), KG_ERR_NOT_INIT);
    assert_int_equal(kg_kms_init(f->kms, &out, 0, 0), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_kms_init(f->kms, &out, 3, 4), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_kms_init(f->kms, &out, 3, 1), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_kms_init(f->kms, &out, 256, 2), KG_ERR_BAD_INPUT);
    assert_null(out);
    st = status_of(f);
    assert_false(json_is_true(json_object_get(st, "initialized")));
    json_decref(st);
    assert_int_equal(kg_kms_init(f->kms, &out, 3, 2), KG_OK);
    assert_non_null(json_object_get(out, "audit_public_key"));
    json_decref(out);
    out = NULL;
    assert_int_equal(kg_kms_init(f->kms, &out, 3, 2), KG_ERR_ALREADY_INIT);
    assert_null(out);
    st = status_of(f);
    assert_true(json_is_true(json_object_get(st, "initialized")));
    assert_int_equal(json_integer_value(json_object_get(st, "threshold")), 2);
    assert_int_equal(json_integer_value(json_object_get(st, "shares")), 3);
    json_decref(st);
    fx_free(f);
}

static void test_sealed_refuses(void **s)
{
    (void)s;
    fx *f = fx_new(1, 1, true, 0);
    json_t *meta = fx_create(f, "{\"spec\":\"AES_256\",\"alias\":\"a\"}");
    json_decref(meta);
    assert_int_equal(kg_kms_seal(f->kms, f->sys), KG_OK);
    json_t *out = NULL, *info = NULL;
    json_t *req = json_pack("{s:s}", "spec", "AES_256");
    assert_int_equal(kg_kms_key_create(f->kms, f->sys, &out, req), KG_ERR_SEALED);
    assert_non_null(strstr(kg_err_detail(KG_ERR_SEALED), "kashguard operator unseal"));
    json_decref(req);
    assert_int_equal(kg_kms_key_get(f->kms, f->sys, &out, "a"), KG_ERR_SEALED);
    assert_int_equal(kg_kms_key_list(f->kms, f->sys, &out, 0, NULL), KG_ERR_SEALED);
    kg_bytes ct = { 0 };
    assert_int_equal(kg_kms_encrypt(f->kms, f->sys, &ct, &info, "a", NULL, (const uint8_t *)"x", 1),
                     KG_ERR_SEALED);
    assert_null(ct.data);
    assert_int_equal(kg_kms_random(f->kms, f->sys, &ct, 16), KG_ERR_SEALED);
    assert_int_equal(kg_kms_key_rotate(f->kms, f->sys, &out, "a"), KG_ERR_SEALED);
    assert_int_equal(kg_kms_seal(f->kms, f->sys), KG_ERR_SEALED);
    kg_kms_tick(f->kms); /* no-op while sealed */
    uint8_t k[32];
    assert_int_equal(kms_root_derive(f->kms, k, "x"), KG_ERR_SEALED);
    assert_null(out);
    fx_free(f);
}

static void test_restart_keeps_keys(void **s)
{
    (void)s;
    fx *f = fx_new(3, 2, true, 0);
    json_t *meta = fx_create(f, "{\"spec\":\"AES_256\",\"alias\":\"keep\"}");
    kg_bytes ct = { 0 };
    json_t *info = NULL;
    assert_int_equal(kg_kms_encrypt(f->kms, f->sys, &ct, &info, "keep", NULL,
                                    (const uint8_t *)"hello", 5), KG_OK);
    json_decref(info);
    fx_reopen(f);
    assert_true(fx_sealed(f));
    fx_unseal(f);
    kg_secret *pt = NULL;
    assert_int_equal(kg_kms_decrypt(f->kms, f->sys, &pt, &info, NULL, NULL, ct.data, ct.len), KG_OK);
    assert_int_equal(kg_secret_len(pt), 5);
    assert_memory_equal(kg_secret_cdata(pt), "hello", 5);
    assert_string_equal(json_string_value(json_object_get(info, "key_id")), fx_id(meta));
    kg_secret_free(pt);
    json_decref(info);
    assert_int_equal(fx_key_count(f), 1);
    kg_bytes_free(&ct);
    json_decref(meta);
    fx_free(f);
}

static void test_seal_helpers(void **s)
{
    (void)s;
    fx *f = fx_new(1, 1, true, 0);
    kg_bytes blob = { 0 };
    kg_secret *out = NULL;
    assert_int_equal(kms_rdlock_unsealed(f->kms), KG_OK);
    assert_int_equal(kms_seal_encrypt(f->kms, &blob, "label:a", (const uint8_t *)"secret", 6), KG_OK);
    assert_int_equal(blob.len, 6 + 12 + 16);
    assert_int_equal(kms_seal_decrypt(f->kms, &out, "label:a", blob.data, blob.len), KG_OK);
    assert_memory_equal(kg_secret_cdata(out), "secret", 6);
    kg_secret_free(out);
    assert_int_equal(kms_seal_decrypt(f->kms, &out, "label:b", blob.data, blob.len), KG_ERR_CRYPTO);
    blob.data[13] ^= 1;
    assert_int_equal(kms_seal_decrypt(f->kms, &out, "label:a", blob.data, blob.len), KG_ERR_CRYPTO);
    assert_int_equal(kms_seal_decrypt(f->kms, &out, "label:a", blob.data, 10), KG_ERR_CRYPTO);
    assert_null(out);
    uint8_t a[32], b[32];
    assert_int_equal(kms_root_derive(f->kms, a, "audit"), KG_OK);
    assert_int_equal(kms_root_derive(f->kms, b, "other"), KG_OK);
    assert_memory_not_equal(a, b, 32);
    kms_unlock(f->kms);
    kg_bytes_free(&blob);
    fx_free(f);
}

static void check_mode_0600(const char *dir, const char *name)
{
    char p[400];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
}

static void test_dev_bootstrap(void **s)
{
    (void)s;
    fx *f = fx_new(0, 0, false, 0);
    char *tok = NULL, *tok2 = NULL;
    assert_int_equal(kg_kms_dev_bootstrap(f->kms, &tok), KG_OK);
    assert_non_null(tok);
    assert_int_equal(strncmp(tok, "kg.", 3), 0);
    assert_false(fx_sealed(f));
    check_mode_0600(f->dir, "dev-unseal.key");
    check_mode_0600(f->dir, "root.token");
    json_decref(fx_create(f, "{\"spec\":\"HMAC_256\"}"));
    fx_reopen(f);
    assert_true(fx_sealed(f));
    assert_int_equal(kg_kms_dev_bootstrap(f->kms, &tok2), KG_OK);
    assert_string_equal(tok, tok2);
    assert_false(fx_sealed(f));
    assert_int_equal(fx_key_count(f), 1);
    /* the root token from the file authenticates */
    kg_kms_caller *c = NULL;
    assert_int_equal(kg_kms_token_authenticate(f->kms, &c, tok2), KG_OK);
    kg_kms_caller_free(c);
    free(tok);
    free(tok2);
    fx_free(f);
}

static void test_seal_needs_permission(void **s)
{
    (void)s;
    fx *f = fx_new(1, 1, true, 0);
    json_t *req = json_pack("{s:[s]}", "policies", "nobody"), *out = NULL;
    json_t *pol = json_loads("{\"name\":\"nobody\",\"rules\":[{\"actions\":[\"random\"]}]}", 0, NULL);
    json_t *pout = NULL;
    assert_int_equal(kg_kms_policy_put(f->kms, f->sys, &pout, pol), KG_OK);
    assert_int_equal(kg_kms_token_create(f->kms, f->sys, &out, req), KG_OK);
    kg_kms_caller *c = NULL;
    assert_int_equal(kg_kms_token_authenticate(f->kms, &c,
                                               json_string_value(json_object_get(out, "token"))), KG_OK);
    assert_int_equal(kg_kms_seal(f->kms, c), KG_ERR_DENIED);
    assert_false(fx_sealed(f));
    assert_int_equal(kg_kms_seal(f->kms, f->sys), KG_OK);
    assert_true(fx_sealed(f));
    kg_kms_caller_free(c);
    json_decref(req);
    json_decref(out);
    json_decref(pol);
    json_decref(pout);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unseal_2_of_3),
        cmocka_unit_test(test_unseal_3_of_5),
        cmocka_unit_test(test_wrong_share),
        cmocka_unit_test(test_duplicate_share_ignored),
        cmocka_unit_test(test_init_rules),
        cmocka_unit_test(test_sealed_refuses),
        cmocka_unit_test(test_restart_keeps_keys),
        cmocka_unit_test(test_seal_helpers),
        cmocka_unit_test(test_dev_bootstrap),
        cmocka_unit_test(test_seal_needs_permission),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
