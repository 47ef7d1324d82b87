/* Keys: creation of every spec, aliases, listing, rotation (on demand and
 * by the tick), enable/disable, deletion scheduling and destruction,
 * update, BYOK import (wrapped here with OpenSSL directly), and that bad
 * input changes nothing. Real SQLite store. */
#include "core_fixture.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

static const char *SPECS[] = { "AES_256", "HMAC_256", "ECC_NIST_P256", "ECC_SECG_P256K1",
                               "ED25519", "RSA_3072", "RSA_4096" };

static kg_err create_err(fx *f, const char *text)
{
    json_t *req = json_loads(text, 0, NULL), *out = NULL;
    assert_non_null(req);
    kg_err e = kg_kms_key_create(f->kms, f->sys, &out, req);
    json_decref(req);
    if (e != KG_OK)
        assert_null(out);
    json_decref(out);
    return e;
}

static json_t *get(fx *f, const char *ref)
{
    json_t *m = NULL;
    assert_int_equal(kg_kms_key_get(f->kms, f->sys, &m, ref), KG_OK);
    return m;
}

static const char *str(const json_t *m, const char *k)
{
    return json_string_value(json_object_get(m, k));
}

static void test_create_each_spec(void **s)
{
    (void)s;
    fx *f = fx_new(1, 1, true, 7 * 86400);
    const char *usage[] = { "encrypt_decrypt", "generate_verify_mac", "sign_verify", "sign_verify",
                            "sign_verify", "encrypt_decrypt_sign_verify", "encrypt_decrypt_sign_verify" };
    for (size_t i = 0; i < 7; i++) {
        char req[128];
        snprintf(req, sizeof(req), "{\"spec\":\"%s\",\"description\":\"d%zu\"}", SPECS[i], i);
        json_t *m = fx_create(f, req);
        const char *id = fx_id(m);
        assert_int_equal(strlen(id), 26);
        assert_int_equal(strncmp(id, "k-", 2), 0);
        assert_string_equal(str(m, "spec"), SPECS[i]);
        assert_string_equal(str(m, "usage"), usage[i]);
        assert_string_equal(str(m, "state"), "enabled");
        assert_string_equal(str(m, "origin"), "generated");
        assert_int_equal(json_integer_value(json_object_get(m, "current_version")), 1);
        assert_int_equal(json_array_size(json_object_get(m, "versions")), 1);
        assert_true(json_is_null(json_object_get(m, "alias")));
        assert_true(json_is_null(json_object_get(m, "rotation_period")));
        assert_null(json_object_get(m, "_rotation_seconds")); /* internal fields stripped */
        json_t *g = get(f, id);
        assert_true(json_equal(g, m));
        json_t *pk = NULL;
        kg_err e = kg_kms_public_key(f->kms, f->sys, &pk, id, 0);
        if (i < 2) {
            assert_int_equal(e, KG_ERR_WRONG_KEY_USAGE);
        } else {
            assert_int_equal(e, KG_OK);
            assert_non_null(strstr(str(pk, "public_key_pem"), "BEGIN PUBLIC KEY"));
            assert_int_equal(json_integer_value(json_object_get(pk, "version")), 1);
        }
        json_decref(pk);
        json_decref(g);
        json_decref(m);
    }
    assert_int_equal(fx_key_count(f), 7);
    fx_free(f);
}

static void test_bad_input_changes_nothing(void **s)
{
    (void)s;
    fx *f = fx_new(1, 1, true, 7 * 86400);
    assert_int_equal(create_err(f, "{\"spec\":\"AES_128\"}"), KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "AES_256"));
    assert_int_equal(create_err(f, "{}"), KG_ERR_BAD_INPUT);
    assert_int_equal(create_err(f, "{\"spec\":\"AES_256\",\"colour\":\"red\"}"), KG_ERR_BAD_INPUT);
    assert_int_equal(create_err(f, "{\"spec\":\"AES_256\",\"alias\":\"k-abc\"}"), KG_ERR_BAD_INPUT);
    assert_int_equal(create_err(f, "{\"spec\":\"AES_256\",\"alias\":\"\"}"), KG_ERR_BAD_INPUT);
    assert_int_equal(create_err(f, "{\"spec\":\"AES_256\",\"alias\":\"a b\"}"), KG_ERR_BAD_INPUT);
    assert_int_equal(create_err(f, "{\"spec\":\"AES_256\",\"alias\":"
                                   "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}"),
                     KG_ERR_BAD_INPUT);
    assert_int_equal(create_err(f, "{\"spec\":\"AES_256\",\"rotation_period\":\"30s\"}"), KG_ERR_BAD_INPUT);
    assert_int_equal(create_err(f, "{\"spec\":\"AES_256\",\"rotation_period\":\"soon\"}"), KG_ERR_BAD_INPUT);
    assert_int_equal(create_err(f, "{\"spec\":7}"), KG_ERR_BAD_INPUT);
    assert_int_equal(fx_key_count(f), 0);
    /* alias conflicts: the second key is not created at all */
    json_decref(fx_create(f, "{\"spec\":\"AES_256\",\"alias\":\"team/app.v1_x-y\"}"));
    assert_int_equal(create_err(f, "{\"spec\":\"HMAC_256\",\"alias\":\"team/app.v1_x-y\"}"), KG_ERR_CONFLICT);
    assert_int_equal(fx_key_count(f), 1);
    json_t *out = NULL;
    assert_int_equal(kg_kms_key_get(f->kms, f->sys, &out, "nope"), KG_ERR_NOT_FOUND);
    assert_int_equal(kg_kms_key_get(f->kms, f->sys, &out, "k-000000000000000000000000"), KG_ERR_NOT_FOUND);
    assert_int_equal(kg_kms_key_get(f->kms, f->sys, &out, "k-zz"), KG_ERR_NOT_FOUND);
    assert_int_equal(kg_kms_key_get(f->kms, f->sys, &out, ""), KG_ERR_BAD_INPUT);
    assert_null(out);
    fx_free(f);
}

static void test_list_pages(void **s)
{
    (void)s;
    fx *f = fx_new(1, 1, true, 7 * 86400);
    for (int i = 0; i < 5; i++)
        json_decref(fx_create(f, "{\"spec\":\"HMAC_256\"}"));
    json_t *seen = json_object();
    char cursor[64] = "";
    int pages = 0;
    for (;;) {
        json_t *out = NULL;
        assert_int_equal(kg_kms_key_list(f->kms, f->sys, &out, 2, cursor[0] ? cursor : NULL), KG_OK);
        json_t *keys = json_object_get(out, "keys"), *k;
        size_t i;
        assert_true(json_array_size(keys) <= 2);
        json_array_foreach(keys, i, k) {
            assert_null(json_object_get(seen, fx_id(k)));
            json_object_set_new(seen, fx_id(k), json_true());
        }
        pages++;
        json_t *next = json_object_get(out, "next_cursor");
        if (json_is_null(next)) {
            json_decref(out);
            break;
        }
        snprintf(cursor, sizeof(cursor), "%s", json_string_value(next));
        json_decref(out);
    }
    assert_int_equal(pages, 3);
    assert_int_equal(json_object_size(seen), 5);
    json_decref(seen);
    json_t *out = NULL;
    assert_int_equal(kg_kms_key_list(f->kms, f->sys, &out, 1001, NULL), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_kms_key_list(f->kms, f->sys, &out, 10, "garbage"), KG_ERR_BAD_INPUT);
    fx_free(f);
}

static void test_rotate_enable_disable(void **s)
{
    (void)s;
    fx *f = fx_new(1, 1, true, 7 * 86400);
    json_t *m = fx_create(f, "{\"spec\":\"AES_256\",\"alias\":\"r\"}"), *out = NULL;
    assert_int_equal(kg_kms_key_rotate(f->kms, f->sys, &out, "r"), KG_OK);
    assert_int_equal(json_integer_value(json_object_get(out, "current_version")), 2);
    assert_int_equal(json_array_size(json_object_get(out, "versions")), 2);
    json_decref(out);
    assert_int_equal(kg_kms_key_disable(f->kms, f->sys, &out, fx_id(m)), KG_OK);
    assert_string_equal(str(out, "state"), "disabled");
    json_decref(out);
    out = NULL;
    assert_int_equal(kg_kms_key_rotate(f->kms, f->sys, &out, "r"), KG_ERR_KEY_DISABLED);
    assert_non_null(strstr(kg_err_detail(KG_ERR_KEY_DISABLED), "kashguard key enable"));
    kg_bytes ct = { 0 };
    json_t *info = NULL;
    assert_int_equal(kg_kms_encrypt(f->kms, f->sys, &ct, &info, "r", NULL, (const uint8_t *)"x", 1),
                     KG_ERR_KEY_DISABLED);
    assert_int_equal(kg_kms_key_enable(f->kms, f->sys, &out, "r"), KG_OK);
    assert_string_equal(str(out, "state"), "enabled");
    assert_int_equal(json_integer_value(json_object_get(out, "current_version")), 2);
    json_decref(out);
    json_decref(m);
    fx_free(f);
}

static void test_deletion_minimum_and_cancel(void **s)
{
    (void)s;
    fx *f = fx_new(1, 1, true, 7 * 86400);
    json_t *m = fx_create(f, "{\"spec\":\"AES_256\",\"alias\":\"d\"}"), *out = NULL;
    json_t *req = json_pack("{s:s}", "waiting_period", "1d");
    assert_int_equal(kg_kms_key_schedule_deletion(f->kms, f->sys, &out, "d", req), KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "at least 604800"));
    json_decref(req);
    json_t *g = get(f, "d");
    assert_string_equal(str(g, "state"), "enabled");
    json_decref(g);
    req = json_pack("{s:s}", "waiting_period", "8d");
    assert_int_equal(kg_kms_key_schedule_deletion(f->kms, f->sys, &out, "d", req), KG_OK);
    assert_string_equal(str(out, "state"), "pending_deletion");
    assert_false(json_is_null(json_object_get(out, "deletion_date")));
    json_decref(out);
    assert_int_equal(kg_kms_key_schedule_deletion(f->kms, f->sys, &out, "d", req),
                     KG_ERR_KEY_PENDING_DELETION);
    kg_bytes ct = { 0 };
    json_t *info = NULL;
    assert_int_equal(kg_kms_encrypt(f->kms, f->sys, &ct, &info, "d", NULL, (const uint8_t *)"x", 1),
                     KG_ERR_KEY_PENDING_DELETION);
    assert_int_equal(kg_kms_key_enable(f->kms, f->sys, &out, "d"), KG_ERR_KEY_PENDING_DELETION);
    kg_kms_tick(f->kms); /* not due: nothing happens */
    assert_int_equal(kg_kms_key_cancel_deletion(f->kms, f->sys, &out, "d"), KG_OK);
    assert_string_equal(str(out, "state"), "disabled");
    assert_true(json_is_null(json_object_get(out, "deletion_date")));
    json_decref(out);
    assert_int_equal(kg_kms_key_cancel_deletion(f->kms, f->sys, &out, "d"), KG_ERR_CONFLICT);
    /* default waiting period (no request body) */
    assert_int_equal(kg_kms_key_schedule_deletion(f->kms, f->sys, &out, "d", NULL), KG_OK);
    json_decref(out);
    json_decref(req);
    json_decref(m);
    fx_free(f);
}

static void test_deletion_tick_destroys(void **s)
{
    (void)s;
    fx *f = fx_new(1, 1, true, 0);
    json_t *m = fx_create(f, "{\"spec\":\"AES_256\",\"alias\":\"gone\"}"), *out = NULL, *info = NULL;
    kg_bytes ct = { 0 };
    assert_int_equal(kg_kms_encrypt(f->kms, f->sys, &ct, &info, "gone", NULL, (const uint8_t *)"x", 1), KG_OK);
    json_decref(info);
    assert_int_equal(kg_kms_key_rotate(f->kms, f->sys, &out, "gone"), KG_OK);
    json_decref(out);
    json_t *req = json_pack("{s:s}", "waiting_period", "1s");
    assert_int_equal(kg_kms_key_schedule_deletion(f->kms, f->sys, &out, "gone", req), KG_OK);
    json_decref(out);
    json_decref(req);
    sleep(2);
    kg_kms_tick(f->kms);
    json_t *g = get(f, fx_id(m));
    assert_string_equal(str(g, "state"), "destroyed");
    assert_true(json_is_null(json_object_get(g, "alias")));
    assert_string_equal(str(json_array_get(json_object_get(g, "versions"), 1), "state"), "destroyed");
    json_decref(g);
    /* The destruction is in the audit log as a system event. */
    json_t *log = NULL;
    assert_int_equal(kg_kms_audit_read(f->kms, f->sys, &log, 0, 1000), KG_OK);
    bool audited = false;
    size_t i;
    json_t *en;
    json_array_foreach(json_object_get(log, "entries"), i, en) {
        const char *ev = json_string_value(json_object_get(en, "event"));
        const char *kid = json_string_value(json_object_get(en, "key_id"));
        if (ev && kid && strcmp(ev, "key-destroyed") == 0 && strcmp(kid, fx_id(m)) == 0)
            audited = true;
    }
    json_decref(log);
    assert_true(audited);
    char k[96];
    kg_bytes row = { 0 };
    for (int v = 1; v <= 2; v++) {
        snprintf(k, sizeof(k), "keys/%s/v/%010d", fx_id(m), v);
        assert_int_equal(kg_store_get(f->st, NULL, &row, k), KG_ERR_NOT_FOUND);
    }
    kg_secret *pt = NULL;
    assert_int_equal(kg_kms_decrypt(f->kms, f->sys, &pt, &info, NULL, NULL, ct.data, ct.len),
                     KG_ERR_KEY_DESTROYED);
    assert_int_equal(kg_kms_key_cancel_deletion(f->kms, f->sys, &out, fx_id(m)), KG_ERR_KEY_DESTROYED);
    /* the alias is free again */
    json_decref(fx_create(f, "{\"spec\":\"AES_256\",\"alias\":\"gone\"}"));
    kg_bytes_free(&ct);
    json_decref(m);
    fx_free(f);
}

static void test_auto_rotation_tick(void **s)
{
    (void)s;
    fx *f = fx_new(1, 1, true, 7 * 86400);
    json_t *m = fx_create(f, "{\"spec\":\"ECC_NIST_P256\",\"rotation_period\":\"90d\"}");
    assert_string_equal(str(m, "rotation_period"), "90d");
    assert_false(json_is_null(json_object_get(m, "next_rotation_at")));
    kg_kms_tick(f->kms);
    json_t *g = get(f, fx_id(m));
    assert_int_equal(json_integer_value(json_object_get(g, "current_version")), 1);
    json_decref(g);
    /* make it due by moving the internal due time into the past */
    char k[64];
    snprintf(k, sizeof(k), "keys/%s", fx_id(m));
    json_t *row = NULL;
    assert_int_equal(kg_store_get_json(f->st, NULL, &row, k), KG_OK);
    json_object_set_new(row, "_next_rotation", json_integer(1));
    assert_int_equal(kg_store_put_json(f->st, NULL, k, row), KG_OK);
    json_decref(row);
    kg_kms_tick(f->kms);
    g = get(f, fx_id(m));
    assert_int_equal(json_integer_value(json_object_get(g, "current_version")), 2);
    assert_int_equal(json_array_size(json_object_get(g, "versions")), 2);
    json_decref(g);
    kg_kms_tick(f->kms); /* next due in 90 days: no third version */
    g = get(f, fx_id(m));
    assert_int_equal(json_integer_value(json_object_get(g, "current_version")), 2);
    json_decref(g);
    json_decref(m);
    fx_free(f);
}

static void test_update(void **s)
{
    (void)s;
    fx *f = fx_new(1, 1, true, 7 * 86400);
    json_t *m = fx_create(f, "{\"spec\":\"AES_256\",\"alias\":\"old\"}"), *out = NULL;
    json_decref(fx_create(f, "{\"spec\":\"AES_256\",\"alias\":\"taken\"}"));
    json_t *req = json_loads("{\"alias\":\"new\",\"description\":\"hi\",\"rotation_period\":\"12h\"}", 0, NULL);
    assert_int_equal(kg_kms_key_update(f->kms, f->sys, &out, "old", req), KG_OK);
    assert_string_equal(str(out, "alias"), "new");
    assert_string_equal(str(out, "description"), "hi");
    assert_string_equal(str(out, "rotation_period"), "12h");
    json_decref(out);
    json_decref(req);
    assert_int_equal(kg_kms_key_get(f->kms, f->sys, &out, "old"), KG_ERR_NOT_FOUND);
    json_t *g = get(f, "new");
    assert_string_equal(fx_id(g), fx_id(m));
    json_decref(g);
    req = json_loads("{\"alias\":\"taken\",\"description\":\"changed\"}", 0, NULL);
    assert_int_equal(kg_kms_key_update(f->kms, f->sys, &out, "new", req), KG_ERR_CONFLICT);
    json_decref(req);
    g = get(f, "new");
    assert_string_equal(str(g, "description"), "hi"); /* nothing applied */
    json_decref(g);
    req = json_loads("{\"rotation_period\":\"0\"}", 0, NULL);
    assert_int_equal(kg_kms_key_update(f->kms, f->sys, &out, "new", req), KG_OK);
    assert_true(json_is_null(json_object_get(out, "rotation_period")));
    json_decref(out);
    json_decref(req);
    req = json_object();
    assert_int_equal(kg_kms_key_update(f->kms, f->sys, &out, "new", req), KG_ERR_BAD_INPUT);
    json_decref(req);
    json_decref(m);
    fx_free(f);
}

/* ---------------------------------------------------------------- import */

static EVP_PKEY *load_pem(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(k);
    return k;
}

static size_t oaep(uint8_t *out, EVP_PKEY *pub, const uint8_t *in, size_t in_len)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pub, NULL);
    size_t n = 512;
    assert_int_equal(EVP_PKEY_encrypt_init(c), 1);
    assert_true(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) > 0);
    assert_true(EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) > 0);
    assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256()) > 0);
    assert_int_equal(EVP_PKEY_encrypt(c, out, &n, in, in_len), 1);
    EVP_PKEY_CTX_free(c);
    return n;
}

/* RSA_AES_KEY_WRAP_SHA_256 of material under the import params' key, as b64. */
static char *wrap_kwp(const json_t *params, const uint8_t *mat, size_t mat_len)
{
    EVP_PKEY *pub = load_pem(str(params, "public_key_pem"));
    uint8_t aes[32], buf[4096];
    assert_int_equal(kg_crypto_random(aes, 32), KG_OK);
    size_t n = oaep(buf, pub, aes, 32);
    assert_int_equal(n, 384);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    int l = 0, l2 = 0;
    assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_wrap_pad(), NULL, aes, NULL), 1);
    assert_int_equal(EVP_EncryptUpdate(c, buf + n, &l, mat, (int)mat_len), 1);
    assert_int_equal(EVP_EncryptFinal_ex(c, buf + n + l, &l2), 1);
    EVP_CIPHER_CTX_free(c);
    EVP_PKEY_free(pub);
    n += (size_t)(l + l2);
    char *b64 = malloc(kg_b64_encoded_len(n));
    kg_b64_encode(b64, buf, n);
    return b64;
}

static json_t *params(fx *f)
{
    json_t *p = NULL;
    assert_int_equal(kg_kms_import_params(f->kms, f->sys, &p), KG_OK);
    assert_int_equal(strlen(str(p, "import_token")), 32);
    assert_string_equal(str(p, "wrapping_algorithm"), "RSA_AES_KEY_WRAP_SHA_256");
    return p;
}

static kg_err do_import(fx *f, json_t **out, const char *spec, const char *token, const char *wrapped,
                        const char *alg)
{
    json_t *req = json_pack("{s:s,s:s,s:s,s:s}", "spec", spec, "import_token", token,
                            "wrapped_material", wrapped, "wrapping_algorithm", alg);
    kg_err e = kg_kms_key_import(f->kms, f->sys, out, req);
    json_decref(req);
    return e;
}

static void test_import_aes(void **s)
{
    (void)s;
    fx *f = fx_new(1, 1, true, 7 * 86400);
    uint8_t mat[33];
    assert_int_equal(kg_crypto_random(mat, sizeof(mat)), KG_OK);
    json_t *p = params(f), *m = NULL;
    const char *tok = str(p, "import_token");
    /* wrong size: refused, token still usable */
    char *w = wrap_kwp(p, mat, 31);
    assert_int_equal(do_import(f, &m, "AES_256", tok, w, "RSA_AES_KEY_WRAP_SHA_256"), KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "exactly 32 bytes"));
    free(w);
    assert_int_equal(fx_key_count(f), 0);
    /* damaged wrapping */
    w = wrap_kwp(p, mat, 32);
    size_t at = strlen(w) - 10; /* inside the key-wrap part */
    w[at] = w[at] == 'A' ? 'B' : 'A';
    assert_int_equal(do_import(f, &m, "AES_256", tok, w, "RSA_AES_KEY_WRAP_SHA_256"), KG_ERR_BAD_INPUT);
    free(w);
    w = wrap_kwp(p, mat, 32);
    assert_int_equal(do_import(f, &m, "AES_256", tok, w, "RSA_AES_KEY_WRAP_SHA_256"), KG_OK);
    assert_string_equal(str(m, "origin"), "imported");
    /* one-time use */
    json_t *m2 = NULL;
    assert_int_equal(do_import(f, &m2, "AES_256", tok, w, "RSA_AES_KEY_WRAP_SHA_256"), KG_ERR_NOT_FOUND);
    free(w);
    /* the KMS really uses the imported material: decrypt its ciphertext here */
    kg_bytes ct = { 0 };
    json_t *info = NULL;
    assert_int_equal(kg_kms_encrypt(f->kms, f->sys, &ct, &info, fx_id(m), NULL,
                                    (const uint8_t *)"imported!", 9), KG_OK);
    size_t hdr = 9 + 26;
    uint8_t pt[9];
    assert_int_equal(kg_crypto_aes256gcm_decrypt(pt, mat, ct.data + hdr, 12, ct.data, hdr,
                                                 ct.data + hdr + 12, 9, ct.data + hdr + 21, 16), KG_OK);
    assert_memory_equal(pt, "imported!", 9);
    json_t *out = NULL;
    assert_int_equal(kg_kms_key_rotate(f->kms, f->sys, &out, fx_id(m)), KG_ERR_BAD_INPUT);
    kg_bytes_free(&ct);
    json_decref(info);
    json_decref(m);
    /* RSAES_OAEP_SHA_256 directly */
    json_decref(p);
    p = params(f);
    EVP_PKEY *pub = load_pem(str(p, "public_key_pem"));
    uint8_t buf[512];
    size_t n = oaep(buf, pub, mat, 32);
    EVP_PKEY_free(pub);
    char b64[1024];
    kg_b64_encode(b64, buf, n);
    assert_int_equal(do_import(f, &m, "HMAC_256", str(p, "import_token"), b64, "RSAES_OAEP_SHA_256"), KG_OK);
    assert_string_equal(str(m, "spec"), "HMAC_256");
    json_decref(m);
    assert_int_equal(do_import(f, &m, "AES_256", "nothex", b64, "RSAES_OAEP_SHA_256"), KG_ERR_BAD_INPUT);
    assert_int_equal(fx_key_count(f), 2);
    json_decref(p);
    fx_free(f);
}

static void test_import_p256(void **s)
{
    (void)s;
    fx *f = fx_new(1, 1, true, 7 * 86400);
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(k);
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(k);
    uint8_t *der = NULL;
    int der_len = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
    assert_true(der_len > 0);
    json_t *p = params(f), *m = NULL;
    char *w = wrap_kwp(p, der, (size_t)der_len);
    /* the material is not a secp256k1 key */
    assert_int_equal(do_import(f, &m, "ECC_SECG_P256K1", str(p, "import_token"), w,
                               "RSA_AES_KEY_WRAP_SHA_256"), KG_ERR_BAD_INPUT);
    assert_int_equal(do_import(f, &m, "ECC_NIST_P256", str(p, "import_token"), w,
                               "RSA_AES_KEY_WRAP_SHA_256"), KG_OK);
    free(w);
    /* same public key, and a KMS signature verifies with OpenSSL */
    json_t *pk = NULL;
    assert_int_equal(kg_kms_public_key(f->kms, f->sys, &pk, fx_id(m), 0), KG_OK);
    uint8_t *spki = NULL;
    int spki_len = i2d_PUBKEY(k, &spki);
    kg_bytes got = { 0 };
    assert_int_equal(kg_b64_decode(&got, str(pk, "public_key_der")), KG_OK);
    assert_int_equal(got.len, (size_t)spki_len);
    assert_memory_equal(got.data, spki, got.len);
    kg_bytes sig = { 0 };
    json_t *info = NULL;
    assert_int_equal(kg_kms_sign(f->kms, f->sys, &sig, &info, fx_id(m), KG_CRYPTO_INPUT_MESSAGE,
                                 KG_CRYPTO_SIG_DER, (const uint8_t *)"msg", 3), KG_OK);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k), 1);
    assert_int_equal(EVP_DigestVerify(md, sig.data, sig.len, (const uint8_t *)"msg", 3), 1);
    EVP_MD_CTX_free(md);
    kg_bytes_free(&sig);
    kg_bytes_free(&got);
    json_decref(info);
    json_decref(pk);
    json_decref(m);
    json_decref(p);
    OPENSSL_free(spki);
    OPENSSL_free(der);
    PKCS8_PRIV_KEY_INFO_free(p8);
    EVP_PKEY_free(k);
    fx_free(f);
}

static void test_import_token_expiry(void **s)
{
    (void)s;
    fx *f = fx_new(1, 1, true, 7 * 86400);
    json_t *p = params(f), *row = NULL, *m = NULL;
    char k[64];
    snprintf(k, sizeof(k), "import/%s", str(p, "import_token"));
    assert_int_equal(kg_store_get_json(f->st, NULL, &row, k), KG_OK);
    json_object_set_new(row, "expires_at", json_integer(1));
    assert_int_equal(kg_store_put_json(f->st, NULL, k, row), KG_OK);
    json_decref(row);
    uint8_t mat[32] = { 1 };
    char *w = wrap_kwp(p, mat, 32);
    assert_int_equal(do_import(f, &m, "AES_256", str(p, "import_token"), w, "RSA_AES_KEY_WRAP_SHA_256"),
                     KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "expired"));
    kg_kms_tick(f->kms); /* purges the expired token */
    kg_bytes b = { 0 };
    assert_int_equal(kg_store_get(f->st, NULL, &b, k), KG_ERR_NOT_FOUND);
    assert_int_equal(fx_key_count(f), 0);
    free(w);
    json_decref(p);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_each_spec),
        cmocka_unit_test(test_bad_input_changes_nothing),
        cmocka_unit_test(test_list_pages),
        cmocka_unit_test(test_rotate_enable_disable),
        cmocka_unit_test(test_deletion_minimum_and_cancel),
        cmocka_unit_test(test_deletion_tick_destroys),
        cmocka_unit_test(test_auto_rotation_tick),
        cmocka_unit_test(test_update),
        cmocka_unit_test(test_import_aes),
        cmocka_unit_test(test_import_p256),
        cmocka_unit_test(test_import_token_expiry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
