/* SLIP-10: every chain of shared/vectors/slip10.json for secp256k1,
 * nist256p1 (including the "derivation retry" and "seed retry" vectors)
 * and ed25519: parent fingerprint, chain code, private and public key.
 * curve25519 vectors are counted as skipped: crypto.h has no X25519 public
 * key function, and wallet code reaches crypto only through crypto.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "kashguard/wallet/hd.h"

static void expect_hex(const uint8_t *got, size_t len, const char *hex)
{
    char buf[200];
    kg_hex_encode(buf, got, len);
    assert_string_equal(buf, hex);
}

static void test_vectors(void **state)
{
    (void)state;
    json_error_t jerr;
    json_t *root = json_load_file(KG_VECTORS_DIR "/slip10.json", 0, &jerr);
    assert_non_null(root);
    size_t i, j, done[3] = {0}, skipped = 0;
    json_t *v, *c;
    json_array_foreach(json_object_get(root, "vectors"), i, v) {
        const char *curve_name = json_string_value(json_object_get(v, "curve"));
        kg_wallet_curve curve;
        if (strcmp(curve_name, "secp256k1") == 0) curve = KG_WALLET_CURVE_SECP256K1;
        else if (strcmp(curve_name, "nist256p1") == 0) curve = KG_WALLET_CURVE_NIST256P1;
        else if (strcmp(curve_name, "ed25519") == 0) curve = KG_WALLET_CURVE_ED25519;
        else {
            skipped += json_array_size(json_object_get(v, "chains"));
            printf("slip10: skipped '%s' (%zu chains): curve not supported\n",
                   json_string_value(json_object_get(v, "name")), json_array_size(json_object_get(v, "chains")));
            continue;
        }
        uint8_t seed[64];
        size_t seed_len = 0;
        assert_int_equal(kg_hex_decode(seed, sizeof seed, &seed_len,
                                       json_string_value(json_object_get(v, "seed_hex"))), KG_OK);
        kg_wallet_hdkey m, k;
        assert_int_equal(kg_wallet_hd_from_seed(&m, curve, seed, seed_len), KG_OK);
        json_array_foreach(json_object_get(v, "chains"), j, c) {
            assert_int_equal(kg_wallet_hd_derive_str(&k, &m, json_string_value(json_object_get(c, "chain"))), KG_OK);
            expect_hex(k.parent_fp, 4, json_string_value(json_object_get(c, "fingerprint")));
            expect_hex(k.chain_code, 32, json_string_value(json_object_get(c, "chain_code")));
            expect_hex(k.priv, 32, json_string_value(json_object_get(c, "private")));
            expect_hex(k.pub, 33, json_string_value(json_object_get(c, "public")));
            done[curve]++;
        }
        kg_wallet_hdkey_wipe(&m);
        kg_wallet_hdkey_wipe(&k);
    }
    printf("slip10: %zu secp256k1, %zu nist256p1 (incl. retry vectors), %zu ed25519 chains passed; "
           "%zu curve25519 chains skipped\n", done[0], done[1], done[2], skipped);
    assert_int_equal(done[0], 12);
    assert_int_equal(done[1], 16);
    assert_int_equal(done[2], 12);
    json_decref(root);
}

static void test_rules(void **state)
{
    (void)state;
    uint8_t seed[32] = {7};
    kg_wallet_hdkey m, k, pub;
    char x[KG_WALLET_XKEY_MAX_BYTES];
    assert_int_equal(kg_wallet_hd_from_seed(&m, KG_WALLET_CURVE_ED25519, seed, sizeof seed), KG_OK);
    assert_int_equal(kg_wallet_hd_derive(&k, &m, 0), KG_ERR_BAD_INPUT);          /* ed25519: hardened only */
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "hardened"));
    assert_int_equal(kg_wallet_hd_derive_str(&k, &m, "m/44'/501'/0'/0'"), KG_OK); /* Solana's path */
    assert_int_equal(kg_wallet_xkey_serialize(x, sizeof x, &k, KG_WALLET_XKEY_X, false), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_wallet_hd_from_seed(&m, KG_WALLET_CURVE_NIST256P1, seed, sizeof seed), KG_OK);
    kg_wallet_hd_neuter(&pub, &m);
    assert_int_equal(kg_wallet_hd_derive(&k, &pub, 1), KG_ERR_WRONG_KEY_USAGE);  /* no P-256 CKDpub */
    static const kg_wallet_hdkey zero;
    assert_memory_equal(&k, &zero, sizeof k);
    kg_wallet_hdkey_wipe(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
