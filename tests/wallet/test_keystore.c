/* Keystore v3 (Web3 Secret Storage): every case of ethereum/tests
 * KeyStoreTests/basic_tests.json decrypts to its "priv"; export then import
 * round-trips with both kdfs; wrong passwords, tampering and absurd or
 * malformed parameters are refused with clear errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kashguard/wallet.h>
#include <kashguard/crypto.h>
#include "../../src/wallet/wstore_int.h"

static json_t *load_vectors(void)
{
    json_error_t err;
    json_t *v = json_load_file(KG_VECTORS_DIR "/ethereum/keystore_basic_tests.json", 0, &err);
    if (v == NULL)
        fprintf(stderr, "cannot load vectors: %s\n", err.text);
    assert_non_null(v);
    return v;
}

/* Import doc (a JSON value) with password; returns the error. */
static kg_err import_doc(kg_secret **priv, uint8_t *addr, const json_t *doc, const char *password)
{
    char *text = json_dumps(doc, 0);
    assert_non_null(text);
    kg_err e = kg_wallet_keystore_import(priv, addr, text, strlen(text), password, strlen(password));
    free(text);
    return e;
}

static void test_vectors(void **state)
{
    (void)state;
    json_t *all = load_vectors();
    const char *name;
    json_t *tc;
    size_t n = 0, passed = 0;
    json_object_foreach(all, name, tc) {
        n++;
        kg_secret *priv = NULL;
        uint8_t addr[20];
        const char *pw = json_string_value(json_object_get(tc, "password"));
        kg_err e = import_doc(&priv, addr, json_object_get(tc, "json"), pw);
        if (e != KG_OK)
            fprintf(stderr, "%s: %s\n", name, kg_err_detail(e));
        assert_int_equal(e, KG_OK);
        char hex[65];
        kg_hex_encode(hex, kg_secret_cdata(priv), 32);
        assert_string_equal(hex, json_string_value(json_object_get(tc, "priv")));
        const char *want_addr = json_string_value(json_object_get(json_object_get(tc, "json"), "address"));
        if (want_addr != NULL) {
            char ah[41];
            kg_hex_encode(ah, addr, 20);
            assert_string_equal(ah, want_addr);
        }
        /* The same document with a wrong password: a clear decrypt error. */
        kg_secret *bad = NULL;
        assert_int_equal(import_doc(&bad, NULL, json_object_get(tc, "json"), "not the password"),
                         KG_ERR_DECRYPT);
        assert_null(bad);
        assert_non_null(strstr(kg_err_detail(KG_ERR_DECRYPT), "wrong password"));
        kg_secret_free(priv);
        passed++;
    }
    printf("keystore_basic_tests.json: %zu/%zu vectors passed\n", passed, n);
    assert_int_equal(n, 5);
    json_decref(all);
}

static const uint8_t k_priv[32] = {
    0x7a, 0x28, 0xb5, 0xba, 0x57, 0xc5, 0x36, 0x03, 0xb0, 0xb0, 0x7b, 0x56, 0xbb, 0xa7, 0x52, 0xf7,
    0x78, 0x4b, 0xf5, 0x06, 0xfa, 0x95, 0xed, 0xc3, 0x95, 0xf5, 0xcf, 0x6c, 0x75, 0x14, 0xfe, 0x9d,
};

static void round_trip(const kg_wallet_keystore_params *p)
{
    kg_secret *priv = kg_secret_from(k_priv, 32), *back = NULL;
    char *json = NULL;
    assert_int_equal(kg_wallet_keystore_export(&json, priv, "pässwörd", strlen("pässwörd"), p), KG_OK);
    json_t *doc = json_loads(json, 0, NULL);
    assert_non_null(doc);
    const char *id = json_string_value(json_object_get(doc, "id"));
    assert_int_equal(strlen(id), 36);
    assert_int_equal(id[14], '4');                 /* UUID version 4 */
    assert_non_null(strchr("89ab", id[19]));       /* RFC 4122 variant */
    assert_int_equal(strlen(json_string_value(json_object_get(doc, "address"))), 40);
    uint8_t addr[20], want[20];
    assert_int_equal(wstore_eth_address(want, k_priv), KG_OK);
    assert_int_equal(kg_wallet_keystore_import(&back, addr, json, strlen(json), "pässwörd",
                                               strlen("pässwörd")), KG_OK);
    assert_memory_equal(kg_secret_cdata(back), k_priv, 32);
    assert_memory_equal(addr, want, 20);
    kg_secret_free(back);
    back = NULL;
    assert_int_equal(kg_wallet_keystore_import(&back, NULL, json, strlen(json), "password", 8), KG_ERR_DECRYPT);
    /* Two exports differ (fresh salt, IV and id). */
    char *json2 = NULL;
    assert_int_equal(kg_wallet_keystore_export(&json2, priv, "x", 1, p), KG_OK);
    assert_string_not_equal(json, json2);
    free(json2);
    free(json);
    json_decref(doc);
    kg_secret_free(priv);
}

static void test_round_trip_scrypt(void **state)
{
    (void)state;
    kg_wallet_keystore_params p = { .kdf = KG_WALLET_KEYSTORE_SCRYPT, .n = 1024, .r = 8, .p = 1 };
    round_trip(&p);
    printf("keystore export/import round trip: scrypt n=1024 r=8 p=1 ok\n");
}

static void test_round_trip_pbkdf2(void **state)
{
    (void)state;
    kg_wallet_keystore_params p = { .kdf = KG_WALLET_KEYSTORE_PBKDF2, .c = 1000 };
    round_trip(&p);
    kg_wallet_keystore_params d;
    kg_wallet_keystore_params_default(&d, KG_WALLET_KEYSTORE_PBKDF2);
    assert_int_equal(d.c, 262144);
    kg_wallet_keystore_params_default(&d, KG_WALLET_KEYSTORE_SCRYPT);
    assert_true(d.n == 262144 && d.r == 8 && d.p == 1);
    assert_int_equal(wstore_keystore_params_check(&d), KG_OK);
    printf("keystore export/import round trip: pbkdf2 c=1000 ok\n");
}

static void test_export_bad(void **state)
{
    (void)state;
    char *json = NULL;
    kg_secret *zero = kg_secret_new(32), *shortk = kg_secret_new(31);
    assert_int_equal(kg_wallet_keystore_export(&json, zero, "x", 1, NULL), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_wallet_keystore_export(&json, shortk, "x", 1, NULL), KG_ERR_BAD_INPUT);
    kg_secret *priv = kg_secret_from(k_priv, 32);
    kg_wallet_keystore_params p = { .kdf = KG_WALLET_KEYSTORE_SCRYPT, .n = 1000, .r = 8, .p = 1 };
    assert_int_equal(kg_wallet_keystore_export(&json, priv, "x", 1, &p), KG_ERR_BAD_INPUT);
    p = (kg_wallet_keystore_params){ .kdf = KG_WALLET_KEYSTORE_PBKDF2, .c = 0 };
    assert_int_equal(kg_wallet_keystore_export(&json, priv, "x", 1, &p), KG_ERR_BAD_INPUT);
    assert_null(json);
    kg_secret_free(zero);
    kg_secret_free(shortk);
    kg_secret_free(priv);
}

/* Modify a copy of the mycrypto vector with `edit`, import, expect err. */
typedef void (*edit_fn)(json_t *doc);
static void expect_import(edit_fn edit, kg_err want, const char *detail_part)
{
    json_t *all = load_vectors();
    json_t *doc = json_deep_copy(json_object_get(json_object_get(all, "mycrypto"), "json"));
    edit(doc);
    kg_secret *priv = NULL;
    kg_err e = import_doc(&priv, NULL, doc, "foobartest121");
    if (e != want)
        fprintf(stderr, "got %s: %s\n", kg_err_code(e), kg_err_detail(e));
    assert_int_equal(e, want);
    if (want == KG_OK)
        assert_non_null(priv);
    else
        assert_null(priv);
    kg_secret_free(priv);
    if (detail_part != NULL)
        assert_non_null(strstr(kg_err_detail(e), detail_part));
    json_decref(doc);
    json_decref(all);
}

static json_t *kp(json_t *doc) { return json_object_get(json_object_get(doc, "crypto"), "kdfparams"); }
static json_t *cr(json_t *doc) { return json_object_get(doc, "crypto"); }
static void ed_version(json_t *d) { json_object_set_new(d, "version", json_integer(2)); }
static void ed_n_huge(json_t *d) { json_object_set_new(kp(d), "n", json_integer(1 << 30)); }
static void ed_n_odd(json_t *d) { json_object_set_new(kp(d), "n", json_integer(1000)); }
static void ed_r_zero(json_t *d) { json_object_set_new(kp(d), "r", json_integer(0)); }
static void ed_p_huge(json_t *d) { json_object_set_new(kp(d), "p", json_integer(1000000)); }
static void ed_mem(json_t *d) { json_object_set_new(kp(d), "n", json_integer(1 << 20)); json_object_set_new(kp(d), "r", json_integer(8)); }
static void ed_dklen(json_t *d) { json_object_set_new(kp(d), "dklen", json_integer(16)); }
static void ed_neg(json_t *d) { json_object_set_new(kp(d), "n", json_integer(-8192)); }
static void ed_kdf(json_t *d) { json_object_set_new(cr(d), "kdf", json_string("argon2")); }
static void ed_cipher(json_t *d) { json_object_set_new(cr(d), "cipher", json_string("aes-128-cbc")); }
static void ed_extra(json_t *d) { json_object_set_new(kp(d), "c", json_integer(5)); }
static void ed_iv(json_t *d) { json_object_set_new(json_object_get(cr(d), "cipherparams"), "iv", json_string("00")); }
static void ed_ct_len(json_t *d) { json_object_set_new(cr(d), "ciphertext", json_string("abcd")); }
static void ed_mac_hex(json_t *d) { json_object_set_new(cr(d), "mac", json_string("zz")); }
static void ed_salt(json_t *d) { json_object_set_new(kp(d), "salt", json_string("0102")); }
static void ed_no_crypto(json_t *d) { json_object_del(d, "crypto"); }
static void ed_both(json_t *d) { json_object_set(d, "Crypto", cr(d)); }
static void ed_uuid(json_t *d) { json_object_set_new(d, "id", json_string("not-a-uuid")); }
static void ed_top(json_t *d) { json_object_set_new(d, "surprise", json_true()); }
static void ed_addr(json_t *d) { json_object_set_new(d, "address", json_string("0000000000000000000000000000000000000000")); }
static void ed_ct(json_t *d)
{
    json_object_set_new(cr(d), "ciphertext",
                        json_string("64ae683c6287fa3d58321f09d56e26d94e58a00d4f90bdd95782ae0e4aab618b"));
}
static void ed_string_n(json_t *d) { json_object_set_new(kp(d), "n", json_string("8192")); }
static void ed_pbkdf2_prf(json_t *d)
{
    json_object_set_new(cr(d), "kdf", json_string("pbkdf2"));
    json_object_set_new(cr(d), "kdfparams", json_pack("{s:i,s:i,s:s,s:s}", "dklen", 32, "c", 10,
                                                      "prf", "hmac-sha512", "salt", "0011223344556677"));
}
static void ed_pbkdf2_c(json_t *d)
{
    json_object_set_new(cr(d), "kdf", json_string("pbkdf2"));
    json_object_set_new(cr(d), "kdfparams", json_pack("{s:i,s:I,s:s,s:s}", "dklen", 32, "c",
                                                      (json_int_t)4000000000LL, "prf", "hmac-sha256",
                                                      "salt", "0011223344556677"));
}
static void ed_none(json_t *d) { (void)d; }

static void test_import_bad(void **state)
{
    (void)state;
    expect_import(ed_none, KG_OK, NULL);
    expect_import(ed_version, KG_ERR_BAD_INPUT, "version");
    expect_import(ed_n_huge, KG_ERR_BAD_INPUT, "scrypt n");
    expect_import(ed_n_odd, KG_ERR_BAD_INPUT, "power of two");
    expect_import(ed_r_zero, KG_ERR_BAD_INPUT, "scrypt r");
    expect_import(ed_p_huge, KG_ERR_BAD_INPUT, "scrypt p");
    expect_import(ed_mem, KG_ERR_BAD_INPUT, "MiB");
    expect_import(ed_dklen, KG_ERR_BAD_INPUT, "dklen");
    expect_import(ed_neg, KG_ERR_BAD_INPUT, "'n'");
    expect_import(ed_kdf, KG_ERR_BAD_INPUT, "argon2");
    expect_import(ed_cipher, KG_ERR_BAD_INPUT, "aes-128-ctr");
    expect_import(ed_extra, KG_ERR_BAD_INPUT, "unknown field 'c'");
    expect_import(ed_iv, KG_ERR_BAD_INPUT, "'iv'");
    expect_import(ed_ct_len, KG_ERR_BAD_INPUT, "'ciphertext'");
    expect_import(ed_mac_hex, KG_ERR_BAD_INPUT, "'mac'");
    expect_import(ed_salt, KG_ERR_BAD_INPUT, "'salt'");
    expect_import(ed_no_crypto, KG_ERR_BAD_INPUT, "crypto");
    expect_import(ed_both, KG_ERR_BAD_INPUT, "Crypto");
    expect_import(ed_uuid, KG_ERR_BAD_INPUT, "UUID");
    expect_import(ed_top, KG_ERR_BAD_INPUT, "surprise");
    expect_import(ed_addr, KG_ERR_BAD_INPUT, "address");
    expect_import(ed_ct, KG_ERR_DECRYPT, "wrong password");
    expect_import(ed_string_n, KG_ERR_BAD_INPUT, "'n'");
    expect_import(ed_pbkdf2_prf, KG_ERR_BAD_INPUT, "hmac-sha256");
    expect_import(ed_pbkdf2_c, KG_ERR_BAD_INPUT, "pbkdf2 c");
}

static void test_import_not_json(void **state)
{
    (void)state;
    kg_secret *priv = NULL;
    assert_int_equal(kg_wallet_keystore_import(&priv, NULL, "{", 1, "x", 1), KG_ERR_BAD_JSON);
    assert_int_equal(kg_wallet_keystore_import(&priv, NULL, "[]", 2, "x", 1), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_wallet_keystore_import(&priv, NULL, "{}", 2, "x", 1), KG_ERR_BAD_INPUT);
    size_t big = 70000;
    char *huge = malloc(big);
    assert_non_null(huge);
    memset(huge, ' ', big);
    assert_int_equal(kg_wallet_keystore_import(&priv, NULL, huge, big, "x", 1), KG_ERR_TOO_LARGE);
    free(huge);
    assert_null(priv);
}

int main(void)
{
    assert_int_equal(kg_crypto_init(), KG_OK);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_round_trip_scrypt),
        cmocka_unit_test(test_round_trip_pbkdf2),
        cmocka_unit_test(test_export_bad),
        cmocka_unit_test(test_import_bad),
        cmocka_unit_test(test_import_not_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
