/* Base58/Base58Check and Bech32/Bech32m/segwit addresses: every case of
 * shared/vectors/bech32.json (BIP173 and BIP350 valid and invalid strings,
 * segwit address <-> scriptPubKey pairs, invalid addresses), Base58 known
 * answers (Bitcoin Core's base58_encode_decode cases and the address of
 * the generator point's key), and the error details for bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include <kashguard/chain.h>
#include <kashguard/crypto.h>

static json_t *load(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", KG_VECTORS_DIR, name);
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (j == NULL)
        fail_msg("cannot load %s: %s", path, err.text);
    return j;
}

/* The raw bytes of a vector string (its "hex" field, Latin-1) as a C string. */
static void vec_string(char *out, size_t cap, const json_t *v)
{
    const char *hex = json_string_value(json_object_get(v, "hex"));
    uint8_t b[256];
    size_t n = 0;
    assert_non_null(hex);
    assert_int_equal(kg_hex_decode(b, sizeof b - 1, &n, hex), KG_OK);
    assert_true(n < cap);
    memcpy(out, b, n);
    out[n] = '\0';
}

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static void check_bech32_set(const char *key, kg_chain_bech32_variant want)
{
    json_t *j = load("bech32.json");
    json_t *set = json_object_get(j, key);
    size_t i, nv = 0, ni = 0;
    json_t *v;
    json_array_foreach(json_object_get(set, "valid"), i, v) {
        char s[256], hrp[100], again[256];
        uint8_t d[128];
        size_t dl = 0;
        kg_chain_bech32_variant var;
        vec_string(s, sizeof s, v);
        kg_err e = kg_chain_bech32_decode(hrp, sizeof hrp, d, sizeof d, &dl, &var, s, 0);
        if (e != KG_OK)
            fail_msg("%s valid '%s': %s", key, s, kg_err_detail(e));
        assert_int_equal(var, want);
        assert_int_equal(kg_chain_bech32_encode(again, sizeof again, hrp, d, dl, var, 0), KG_OK);
        lower(s);
        assert_string_equal(again, s);
        nv++;
    }
    json_array_foreach(json_object_get(set, "invalid"), i, v) {
        char s[256], hrp[100];
        uint8_t d[128];
        size_t dl = 7;
        kg_chain_bech32_variant var;
        vec_string(s, sizeof s, v);
        kg_err e = kg_chain_bech32_decode(hrp, sizeof hrp, d, sizeof d, &dl, &var, s, 0);
        /* A string valid under the other checksum is invalid for this variant. */
        if (e == KG_OK && var == want)
            fail_msg("%s invalid '%s' (%s) was accepted", key, s,
                     json_string_value(json_object_get(v, "reason")));
        if (e != KG_OK)
            assert_int_equal(dl, 0);
        ni++;
    }
    printf("%s: %zu valid, %zu invalid vectors pass\n", key, nv, ni);
    json_decref(j);
}

static void test_bech32_vectors(void **state)
{
    (void)state;
    check_bech32_set("bech32", KG_CHAIN_BECH32);
    check_bech32_set("bech32m", KG_CHAIN_BECH32M);
}

/* Decode addr for whichever of bc/tb its prefix names; compare with spk. */
static kg_err segwit_to_spk(uint8_t *spk, size_t *spk_len, const char *addr)
{
    const char *hrp = (strncasecmp(addr, "tb", 2) == 0) ? "tb" : "bc";
    unsigned ver = 0;
    uint8_t prog[40];
    size_t pl = 0;
    kg_err e = kg_chain_segwit_addr_decode(&ver, prog, &pl, hrp, addr);
    if (e != KG_OK)
        return e;
    spk[0] = ver == 0 ? 0 : (uint8_t)(0x50 + ver);
    spk[1] = (uint8_t)pl;
    memcpy(spk + 2, prog, pl);
    *spk_len = pl + 2;
    return KG_OK;
}

static void test_segwit_vectors(void **state)
{
    (void)state;
    json_t *j = load("bech32.json");
    size_t i, nv = 0, ni = 0, n173 = 0, n173_v1 = 0;
    json_t *v;
    json_array_foreach(json_object_get(json_object_get(j, "segwit_bip350"), "valid"), i, v) {
        const char *addr = json_string_value(json_object_get(v, "address"));
        uint8_t want[64], spk[64];
        size_t wl = 0, sl = 0;
        assert_int_equal(kg_hex_decode(want, sizeof want, &wl, json_string_value(json_object_get(v, "scriptPubKey"))), KG_OK);
        kg_err e = segwit_to_spk(spk, &sl, addr);
        if (e != KG_OK)
            fail_msg("bip350 valid %s: %s", addr, kg_err_detail(e));
        assert_int_equal(sl, wl);
        assert_memory_equal(spk, want, wl);
        char again[100], low[100];
        const char *hrp = (strncasecmp(addr, "tb", 2) == 0) ? "tb" : "bc";
        unsigned ver = spk[0] == 0 ? 0 : spk[0] - 0x50u;
        assert_int_equal(kg_chain_segwit_addr_encode(again, sizeof again, hrp, ver, spk + 2, sl - 2), KG_OK);
        snprintf(low, sizeof low, "%s", addr);
        lower(low);
        assert_string_equal(again, low);
        nv++;
    }
    /* BIP173's valid list: v0 stays valid; its v1+ Bech32 addresses are invalid under BIP350. */
    json_array_foreach(json_object_get(json_object_get(j, "segwit_bip173"), "valid"), i, v) {
        const char *addr = json_string_value(json_object_get(v, "address"));
        const char *want = json_string_value(json_object_get(v, "scriptPubKey"));
        uint8_t spk[64];
        size_t sl = 0;
        kg_err e = segwit_to_spk(spk, &sl, addr);
        if (strncmp(want, "00", 2) == 0) {
            assert_int_equal(e, KG_OK);
            n173++;
        } else {
            assert_int_equal(e, KG_ERR_BAD_INPUT);
            assert_non_null(strstr(kg_err_detail(e), "Bech32m"));
            n173_v1++;
        }
    }
    const char *lists[2] = { "segwit_bip350", "segwit_bip173" };
    for (int k = 0; k < 2; k++)
        json_array_foreach(json_object_get(json_object_get(j, lists[k]), "invalid"), i, v) {
            const char *addr = json_string_value(json_object_get(v, "address"));
            unsigned ver = 9;
            uint8_t prog[40];
            size_t pl = 9;
            assert_int_equal(kg_chain_segwit_addr_decode(&ver, prog, &pl, "bc", addr), KG_ERR_BAD_INPUT);
            assert_int_equal(pl, 0);
            assert_int_equal(kg_chain_segwit_addr_decode(&ver, prog, &pl, "tb", addr), KG_ERR_BAD_INPUT);
            ni++;
        }
    printf("segwit: %zu bip350 valid, %zu bip173 v0 valid, %zu bip173 v1+ rejected (BIP350), %zu invalid pass\n",
           nv, n173, n173_v1, ni);
    json_decref(j);
}

static void test_bech32_errors(void **state)
{
    (void)state;
    char hrp[100], out[200];
    uint8_t d[100];
    size_t dl = 0;
    kg_chain_bech32_variant var;
    kg_err e = kg_chain_bech32_decode(hrp, sizeof hrp, d, sizeof d, &dl, &var, "bc1qw508d6qejxtdg4y5r3zarvAry0c5xw7kv8f3t4", 0);
    assert_int_equal(e, KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(e), "mixed"));
    e = kg_chain_bech32_decode(hrp, sizeof hrp, d, sizeof d, &dl, &var, "bc1qw508d6qejxtdg4y5r3zarvbry0c5xw7kv8f3t4", 0);
    assert_non_null(strstr(kg_err_detail(e), "'b' at position 26"));
    e = kg_chain_bech32_decode(hrp, sizeof hrp, d, sizeof d, &dl, &var, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", 0);
    assert_non_null(strstr(kg_err_detail(e), "checksum"));
    /* Length limit, and a larger limit for other users. */
    uint8_t five[100] = { 0 };
    assert_int_equal(kg_chain_bech32_encode(out, sizeof out, "a", five, 84, KG_CHAIN_BECH32, 0), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_chain_bech32_encode(out, sizeof out, "a", five, 82, KG_CHAIN_BECH32, 0), KG_OK);
    assert_int_equal(strlen(out), 90);
    assert_int_equal(kg_chain_bech32_encode(out, sizeof out, "a", five, 84, KG_CHAIN_BECH32, 120), KG_OK);
    assert_int_equal(kg_chain_bech32_decode(hrp, sizeof hrp, d, sizeof d, &dl, &var, out, 0), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_chain_bech32_decode(hrp, sizeof hrp, d, sizeof d, &dl, &var, out, 120), KG_OK);
    five[0] = 32;
    assert_int_equal(kg_chain_bech32_encode(out, sizeof out, "a", five, 3, KG_CHAIN_BECH32, 0), KG_ERR_BAD_INPUT);
    /* Cosmos-style byte payloads with an expected prefix. */
    uint8_t addr20[20], back[40];
    for (int i = 0; i < 20; i++)
        addr20[i] = (uint8_t)(i * 13);
    assert_int_equal(kg_chain_bech32_encode_bytes(out, sizeof out, "cosmos", addr20, 20, KG_CHAIN_BECH32, 0), KG_OK);
    assert_int_equal(kg_chain_bech32_decode_bytes(hrp, sizeof hrp, back, sizeof back, &dl, &var, out, "cosmos", 0), KG_OK);
    assert_int_equal(dl, 20);
    assert_memory_equal(back, addr20, 20);
    e = kg_chain_bech32_decode_bytes(hrp, sizeof hrp, back, sizeof back, &dl, &var, out, "osmo", 0);
    assert_int_equal(e, KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(e), "expected 'osmo'"));
    assert_int_equal(dl, 0);
    /* Regrouping rejects a value wider than the group. */
    uint8_t w = 0x20;
    assert_int_equal(kg_chain_bits_convert(back, sizeof back, &dl, &w, 1, 5, 8, true), KG_ERR_BAD_INPUT);
}

static void check_b58(const char *hex, const char *want)
{
    uint8_t in[64], back[64];
    size_t n = 0, bl = 0;
    char out[128];
    assert_int_equal(kg_hex_decode(in, sizeof in, &n, hex), KG_OK);
    assert_int_equal(kg_chain_base58_encode(out, sizeof out, in, n), KG_OK);
    assert_string_equal(out, want);
    if (n > 0) {
        assert_int_equal(kg_chain_base58_decode(back, sizeof back, &bl, want), KG_OK);
        assert_int_equal(bl, n);
        assert_memory_equal(back, in, n);
    }
}

static void test_base58_known_answers(void **state)
{
    (void)state;
    /* Bitcoin Core src/test/data/base58_encode_decode.json cases. */
    static const char *const V[][2] = {
        { "", "" }, { "61", "2g" }, { "626262", "a3gV" }, { "636363", "aPEr" },
        { "73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2" },
        { "00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L" },
        { "516b6fcd0f", "ABnLTmg" }, { "bf4f89001e670274dd", "3SEo3LWLoPntC" }, { "572e4794", "3EFU7m" },
        { "ecac89cad93923c02321", "EJDM8drfXA6uyA" }, { "10c8511e", "Rt5zm" }, { "00000000000000000000", "1111111111" },
    };
    for (size_t i = 0; i < sizeof V / sizeof V[0]; i++)
        check_b58(V[i][0], V[i][1]);
    printf("base58: %zu known answers pass\n", sizeof V / sizeof V[0]);
    /* Base58Check: P2PKH of the generator point's key (secret key 1). */
    static const char G33[] = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
    uint8_t pub[33], payload[21], back[64];
    size_t n = 0;
    char addr[64];
    assert_int_equal(kg_hex_decode(pub, sizeof pub, &n, G33), KG_OK);
    payload[0] = 0x00;
    kg_crypto_hash160(payload + 1, pub, 33);
    assert_int_equal(kg_chain_base58check_encode(addr, sizeof addr, payload, 21), KG_OK);
    assert_string_equal(addr, "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH");
    assert_int_equal(kg_chain_base58check_decode(back, sizeof back, &n, addr), KG_OK);
    assert_int_equal(n, 21);
    assert_memory_equal(back, payload, 21);
    /* Errors: bad character named, bad checksum, too small buffer. */
    kg_err e = kg_chain_base58check_decode(back, sizeof back, &n, "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAM0");
    assert_int_equal(e, KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(e), "'0' at position 33"));
    e = kg_chain_base58check_decode(back, sizeof back, &n, "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMJ");
    assert_non_null(strstr(kg_err_detail(e), "bad checksum"));
    assert_int_equal(n, 0);
    assert_int_equal(kg_chain_base58_decode(back, sizeof back, &n, ""), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_chain_base58check_decode(back, 10, &n, addr), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_chain_base58_encode(addr, 5, payload, 21), KG_ERR_BAD_INPUT);
    assert_string_equal(addr, "");
    e = kg_chain_base58_decode(back, sizeof back, &n, "2g\x80");
    assert_non_null(strstr(kg_err_detail(e), "0x80"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bech32_vectors),
        cmocka_unit_test(test_segwit_vectors),
        cmocka_unit_test(test_bech32_errors),
        cmocka_unit_test(test_base58_known_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
