/* BIP32: every chain of test vectors 1-4 of shared/vectors/bip32.json
 * (private derivation from the seed, public derivation from the parent
 * xpub where the step is non-hardened, parse/serialize round trips), every
 * invalid key of vector 5 rejected for its stated reason, SLIP-132
 * encodings, paths and BIP44-family helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "kashguard/wallet/hd.h"

static json_t *load(const char *name)
{
    json_error_t jerr;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", KG_VECTORS_DIR, name);
    json_t *root = json_load_file(path, 0, &jerr);
    assert_non_null(root);
    return root;
}

/* The vectors write hardened as "H"; our parser takes it too. */
static void test_vectors(void **state)
{
    (void)state;
    json_t *root = load("bip32.json");
    size_t i, j, chains = 0, pub_derived = 0;
    json_t *v, *c;
    json_array_foreach(json_object_get(root, "vectors"), i, v) {
        uint8_t seed[64];
        size_t seed_len = 0;
        assert_int_equal(kg_hex_decode(seed, sizeof seed, &seed_len,
                                       json_string_value(json_object_get(v, "seed_hex"))), KG_OK);
        kg_wallet_hdkey master, prev_pub;
        memset(&prev_pub, 0, sizeof prev_pub);
        assert_int_equal(kg_wallet_hd_from_seed(&master, KG_WALLET_CURVE_SECP256K1, seed, seed_len), KG_OK);
        uint32_t prev_path[KG_WALLET_PATH_MAX];
        size_t prev_n = 0;
        json_array_foreach(json_object_get(v, "chains"), j, c) {
            const char *chain = json_string_value(json_object_get(c, "chain"));
            const char *xpub = json_string_value(json_object_get(c, "ext_pub"));
            const char *xprv = json_string_value(json_object_get(c, "ext_prv"));
            kg_wallet_hdkey k, parsed, pubk;
            char out[KG_WALLET_XKEY_MAX_BYTES];
            assert_int_equal(kg_wallet_hd_derive_str(&k, &master, chain), KG_OK);
            assert_int_equal(kg_wallet_xkey_serialize(out, sizeof out, &k, KG_WALLET_XKEY_X, true), KG_OK);
            assert_string_equal(out, xprv);
            assert_int_equal(kg_wallet_xkey_serialize(out, sizeof out, &k, KG_WALLET_XKEY_X, false), KG_OK);
            assert_string_equal(out, xpub);
            /* parse both and write them back */
            kg_wallet_xkey_kind kind = KG_WALLET_XKEY_T;
            assert_int_equal(kg_wallet_xkey_parse(&parsed, &kind, xprv), KG_OK);
            assert_int_equal(kind, KG_WALLET_XKEY_X);
            assert_true(parsed.has_priv);
            assert_memory_equal(parsed.pub, k.pub, 33);
            assert_int_equal(kg_wallet_xkey_serialize(out, sizeof out, &parsed, KG_WALLET_XKEY_X, true), KG_OK);
            assert_string_equal(out, xprv);
            assert_int_equal(kg_wallet_xkey_parse(&pubk, NULL, xpub), KG_OK);
            assert_false(pubk.has_priv);
            assert_int_equal(kg_wallet_xkey_serialize(out, sizeof out, &pubk, KG_WALLET_XKEY_X, true),
                             KG_ERR_BAD_INPUT);
            /* CKDpub: the child xpub from the parent xpub when the last step is not hardened */
            uint32_t path[KG_WALLET_PATH_MAX];
            size_t n = 0;
            assert_int_equal(kg_wallet_path_parse(path, KG_WALLET_PATH_MAX, &n, chain), KG_OK);
            if (n == prev_n + 1 && n > 0 && path[n - 1] < KG_WALLET_HARDENED) {
                kg_wallet_hdkey child;
                assert_int_equal(kg_wallet_hd_derive(&child, &prev_pub, path[n - 1]), KG_OK);
                assert_int_equal(kg_wallet_xkey_serialize(out, sizeof out, &child, KG_WALLET_XKEY_X, false), KG_OK);
                assert_string_equal(out, xpub);
                pub_derived++;
            }
            /* hardened steps need the private key */
            kg_wallet_hdkey tmp;
            assert_int_equal(kg_wallet_hd_derive(&tmp, &pubk, KG_WALLET_HARDENED), KG_ERR_BAD_INPUT);
            prev_pub = pubk;
            memcpy(prev_path, path, sizeof path);
            prev_n = n;
            kg_wallet_hdkey_wipe(&k);
            kg_wallet_hdkey_wipe(&parsed);
            chains++;
        }
        kg_wallet_hdkey_wipe(&master);
    }
    size_t bad = 0;
    json_array_foreach(json_object_get(root, "invalid_extended_keys"), i, v) {
        const char *key = json_string_value(json_object_get(v, "key"));
        const char *reason = json_string_value(json_object_get(v, "reason"));
        kg_wallet_hdkey k;
        memset(&k, 0xAA, sizeof k);
        assert_int_equal(kg_wallet_xkey_parse(&k, NULL, key), KG_ERR_BAD_INPUT);
        const char *detail = kg_err_detail(KG_ERR_BAD_INPUT);
        /* the detail states the vector's reason (checksum: "bad checksum"
         * from the chain layer's base58check) */
        const char *want = strstr(reason, "checksum") ? "checksum"
                           : strncmp(reason, "invalid pubkey 02", 17) == 0 ? "not a point"
                           : strcmp(reason, "private key n not in 1..n-1") == 0 ? "private key >= n not in 1..n-1"
                           : reason;
        if (!strstr(detail, want)) fail_msg("'%s': detail '%s' does not say '%s'", key, detail, want);
        static const kg_wallet_hdkey zero;
        assert_memory_equal(&k, &zero, sizeof k);
        bad++;
    }
    printf("bip32: %zu chains of vectors 1-4 (xprv+xpub, parse, serialize), %zu by public derivation; "
           "%zu invalid keys of vector 5 rejected for their reason\n", chains, pub_derived, bad);
    assert_int_equal(chains, 17);
    assert_int_equal(bad, 16);
    json_decref(root);
}

static void test_slip132(void **state)
{
    (void)state;
    static const char *const prefix[KG_WALLET_XKEY_COUNT][2] = {
        {"xpub", "xprv"}, {"ypub", "yprv"}, {"zpub", "zprv"}, {"tpub", "tprv"}, {"upub", "uprv"}, {"vpub", "vprv"}};
    uint8_t seed[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    kg_wallet_hdkey m, k, back;
    assert_int_equal(kg_wallet_hd_from_seed(&m, KG_WALLET_CURVE_SECP256K1, seed, sizeof seed), KG_OK);
    assert_int_equal(kg_wallet_hd_derive_str(&k, &m, "m/84'/0'/0'"), KG_OK);
    for (int kind = 0; kind < KG_WALLET_XKEY_COUNT; kind++)
        for (int p = 0; p < 2; p++) {
            char out[KG_WALLET_XKEY_MAX_BYTES];
            kg_wallet_xkey_kind got;
            assert_int_equal(kg_wallet_xkey_serialize(out, sizeof out, &k, (kg_wallet_xkey_kind)kind, p), KG_OK);
            assert_int_equal(strncmp(out, prefix[kind][p], 4), 0);
            assert_int_equal(kg_wallet_xkey_parse(&back, &got, out), KG_OK);
            assert_int_equal(got, kind);
            assert_int_equal(back.has_priv, p);
            assert_memory_equal(back.pub, k.pub, 33);
            assert_memory_equal(back.chain_code, k.chain_code, 32);
            assert_int_equal(back.depth, 3);
            assert_int_equal(back.child, 0x80000000u);
        }
    /* a known zpub: BIP84's account 0 for "abandon ... about" */
    uint8_t s[64];
    char out[KG_WALLET_XKEY_MAX_BYTES];
    assert_int_equal(kg_wallet_bip39_to_seed(s, "abandon abandon abandon abandon abandon abandon abandon abandon "
                                             "abandon abandon abandon about", ""), KG_OK);
    assert_int_equal(kg_wallet_hd_from_seed(&m, KG_WALLET_CURVE_SECP256K1, s, 64), KG_OK);
    assert_int_equal(kg_wallet_hd_derive_str(&k, &m, "m/84'/0'/0'"), KG_OK);
    assert_int_equal(kg_wallet_xkey_serialize(out, sizeof out, &k, KG_WALLET_XKEY_Z, false), KG_OK);
    assert_string_equal(out, "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs");
    assert_int_equal(kg_wallet_xkey_serialize(out, sizeof out, &k, KG_WALLET_XKEY_Z, true), KG_OK);
    assert_string_equal(out, "zprvAdG4iTXWBoARxkkzNpNh8r6Qag3irQB8PzEMkAFeTRXxHpbF9z4QgEvBRmfvqWvGp42t42nvgGpNgYSJA9iefm1yYNZKEm7z6qUWCroSQnE");
    /* bad inputs */
    assert_int_equal(kg_wallet_xkey_serialize(out, 50, &k, KG_WALLET_XKEY_X, false), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_wallet_xkey_serialize(out, sizeof out, &k, (kg_wallet_xkey_kind)9, false), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_wallet_xkey_parse(&back, NULL, ""), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_wallet_xkey_parse(&back, NULL, "xpub0OIl"), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_wallet_xkey_parse(&back, NULL, "1111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111"), KG_ERR_BAD_INPUT);
    kg_wallet_hdkey_wipe(&m);
    kg_wallet_hdkey_wipe(&k);
}

static void test_paths(void **state)
{
    (void)state;
    uint32_t p[KG_WALLET_PATH_MAX];
    size_t n = 0;
    char out[KG_WALLET_PATH_MAX_BYTES];
    assert_int_equal(kg_wallet_path_parse(p, KG_WALLET_PATH_MAX, &n, "m/84'/0h/0H/0/5"), KG_OK);
    assert_int_equal(n, 5);
    assert_int_equal(p[0], 84 | KG_WALLET_HARDENED);
    assert_int_equal(p[1], KG_WALLET_HARDENED);
    assert_int_equal(p[2], KG_WALLET_HARDENED);
    assert_int_equal(p[3], 0);
    assert_int_equal(p[4], 5);
    assert_int_equal(kg_wallet_path_format(out, sizeof out, p, n, true), KG_OK);
    assert_string_equal(out, "m/84'/0'/0'/0/5");
    assert_int_equal(kg_wallet_path_format(out, sizeof out, p, n, false), KG_OK);
    assert_string_equal(out, "84'/0'/0'/0/5");
    assert_int_equal(kg_wallet_path_format(out, 5, p, n, true), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_wallet_path_parse(p, KG_WALLET_PATH_MAX, &n, "m"), KG_OK);
    assert_int_equal(n, 0);
    assert_int_equal(kg_wallet_path_format(out, sizeof out, p, 0, true), KG_OK);
    assert_string_equal(out, "m");
    assert_int_equal(kg_wallet_path_parse(p, KG_WALLET_PATH_MAX, &n, "0/1'/2147483647h"), KG_OK);
    assert_int_equal(n, 3);
    assert_int_equal(p[2], 0xFFFFFFFFu);
    static const char *const bad[] = {
        "", "m/", "m//1", "m/1/", "m/2147483648", "m/1''", "m/-1", "m/1x", "n/1", "m/ 1", "m/1/99999999999999999999",
        "m/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        n = 7;
        if (kg_wallet_path_parse(p, KG_WALLET_PATH_MAX, &n, bad[i]) != KG_ERR_BAD_INPUT) fail_msg("accepted '%s'", bad[i]);
        assert_int_equal(n, 0);
    }
    uint32_t b44[5];
    assert_int_equal(kg_wallet_bip44_path(b44, KG_WALLET_PURPOSE_BIP84, KG_WALLET_COIN_BTC, 0, 0, 5), KG_OK);
    assert_int_equal(kg_wallet_path_format(out, sizeof out, b44, 5, true), KG_OK);
    assert_string_equal(out, "m/84'/0'/0'/0/5");
    assert_int_equal(kg_wallet_bip44_path(b44, KG_WALLET_PURPOSE_BIP44, KG_WALLET_COIN_ETH, 2, 1, 7), KG_OK);
    assert_int_equal(kg_wallet_path_format(out, sizeof out, b44, 5, true), KG_OK);
    assert_string_equal(out, "m/44'/60'/2'/1/7");
    assert_int_equal(kg_wallet_bip44_path(b44, KG_WALLET_PURPOSE_BIP86, KG_WALLET_COIN_SOLANA, 0x80000000u, 0, 0),
                     KG_ERR_BAD_INPUT);
}

static void test_derive_errors(void **state)
{
    (void)state;
    uint8_t seed[64] = {1};
    kg_wallet_hdkey m, k, pub;
    assert_int_equal(kg_wallet_hd_from_seed(&m, KG_WALLET_CURVE_SECP256K1, seed, 15), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_wallet_hd_from_seed(&m, KG_WALLET_CURVE_SECP256K1, seed, 65), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_wallet_hd_from_seed(&m, (kg_wallet_curve)7, seed, 32), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_wallet_hd_from_seed(&m, KG_WALLET_CURVE_SECP256K1, seed, 32), KG_OK);
    assert_int_equal(kg_wallet_hd_derive_str(&k, &m, "m/1/x"), KG_ERR_BAD_INPUT);
    kg_wallet_hd_neuter(&pub, &m);
    assert_false(pub.has_priv);
    static const uint8_t zero[32];
    assert_memory_equal(pub.priv, zero, 32);
    /* public and private derivation agree on non-hardened paths */
    kg_wallet_hdkey a, b;
    assert_int_equal(kg_wallet_hd_derive_str(&a, &m, "m/0/1/2/3"), KG_OK);
    assert_int_equal(kg_wallet_hd_derive_str(&b, &pub, "m/0/1/2/3"), KG_OK);
    assert_memory_equal(a.pub, b.pub, 33);
    assert_memory_equal(a.chain_code, b.chain_code, 32);
    assert_memory_equal(a.parent_fp, b.parent_fp, 4);
    assert_int_equal(kg_wallet_hd_derive_str(&b, &pub, "m/0/1'"), KG_ERR_BAD_INPUT);
    /* depth 255 is the end */
    k = m;
    k.depth = 255;
    assert_int_equal(kg_wallet_hd_derive(&a, &k, 0), KG_ERR_BAD_INPUT);
    kg_wallet_hdkey_wipe(&m);
    kg_wallet_hdkey_wipe(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_slip132),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_derive_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
