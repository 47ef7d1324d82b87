/* RLP (Yellow Paper appendix B) against the examples of the Ethereum wiki
 * ("dog", ["cat","dog"], "", 0, 15, 1024, the set-theoretic
 * [ [], [[]], [ [], [[]] ] ], a 56-byte string), the builder in both forms
 * (caller buffer, growable), the strict decoder's rejects of non-canonical
 * and malformed input, and the uint256 / ether-unit conversions. */
#include "test_eth_util.h"

static void enc_check(void (*build)(kg_chain_rlp_enc *), const char *want)
{
    uint8_t buf[128];
    size_t n = 0;
    kg_chain_rlp_enc e;
    kg_chain_rlp_enc_init(&e, buf, sizeof buf);
    build(&e);
    assert_int_equal(kg_chain_rlp_enc_finish(&n, &e), KG_OK);
    te_assert_hex(buf, n, want);
    /* the growable form gives the same bytes */
    kg_bytes b = { 0 };
    kg_chain_rlp_enc_init_bytes(&e, &b);
    build(&e);
    assert_int_equal(kg_chain_rlp_enc_finish(&n, &e), KG_OK);
    assert_int_equal(b.len, n);
    te_assert_hex(b.data, b.len, want);
    /* and it decodes strictly */
    kg_chain_rlp_item it;
    assert_int_equal(kg_chain_rlp_decode(&it, b.data, b.len), KG_OK);
    assert_int_equal(it.raw_len, b.len);
    kg_bytes_free(&b);
}

static void b_dog(kg_chain_rlp_enc *e) { kg_chain_rlp_enc_bytes(e, (const uint8_t *)"dog", 3); }
static void b_catdog(kg_chain_rlp_enc *e)
{
    kg_chain_rlp_enc_list_begin(e);
    kg_chain_rlp_enc_bytes(e, (const uint8_t *)"cat", 3);
    kg_chain_rlp_enc_bytes(e, (const uint8_t *)"dog", 3);
    kg_chain_rlp_enc_list_end(e);
}
static void b_empty(kg_chain_rlp_enc *e) { kg_chain_rlp_enc_bytes(e, NULL, 0); }
static void b_emptylist(kg_chain_rlp_enc *e) { kg_chain_rlp_enc_list_begin(e); kg_chain_rlp_enc_list_end(e); }
static void b_zero(kg_chain_rlp_enc *e) { kg_chain_rlp_enc_uint(e, 0); }
static void b_byte0(kg_chain_rlp_enc *e) { kg_chain_rlp_enc_bytes(e, (const uint8_t *)"\x00", 1); }
static void b_15(kg_chain_rlp_enc *e) { kg_chain_rlp_enc_uint(e, 15); }
static void b_1024(kg_chain_rlp_enc *e) { kg_chain_rlp_enc_uint(e, 1024); }
static void b_set(kg_chain_rlp_enc *e)
{
    kg_chain_rlp_enc_list_begin(e);
    b_emptylist(e);
    kg_chain_rlp_enc_list_begin(e);
    b_emptylist(e);
    kg_chain_rlp_enc_list_end(e);
    kg_chain_rlp_enc_list_begin(e);
    b_emptylist(e);
    kg_chain_rlp_enc_list_begin(e);
    b_emptylist(e);
    kg_chain_rlp_enc_list_end(e);
    kg_chain_rlp_enc_list_end(e);
    kg_chain_rlp_enc_list_end(e);
}
static void b_lorem(kg_chain_rlp_enc *e)
{
    const char *s = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";
    kg_chain_rlp_enc_bytes(e, (const uint8_t *)s, strlen(s));
}

static void test_wiki_examples(void **state)
{
    (void)state;
    enc_check(b_dog, "83646f67");
    enc_check(b_catdog, "c88363617483646f67");
    enc_check(b_empty, "80");
    enc_check(b_emptylist, "c0");
    enc_check(b_zero, "80");
    enc_check(b_byte0, "00");
    enc_check(b_15, "0f");
    enc_check(b_1024, "820400");
    enc_check(b_set, "c7c0c1c0c3c0c1c0");
    enc_check(b_lorem, "b8384c6f72656d20697073756d20646f6c6f722073697420616d65742c20636f6e7365637465747572206164697069736963696e6720656c6974");
    printf("[ RLP wiki examples ] 10 encodings match (buffer and growable), all decode\n");
}

static void test_builder_errors(void **state)
{
    (void)state;
    uint8_t buf[3];
    size_t n = 7;
    kg_chain_rlp_enc e;
    kg_chain_rlp_enc_init(&e, buf, sizeof buf);
    b_catdog(&e); /* 9 bytes into 3 */
    assert_int_equal(kg_chain_rlp_enc_finish(&n, &e), KG_ERR_BAD_INPUT);
    assert_int_equal(n, 0);
    kg_chain_rlp_enc_init(&e, buf, sizeof buf);
    kg_chain_rlp_enc_list_begin(&e);
    assert_int_equal(kg_chain_rlp_enc_finish(&n, &e), KG_ERR_BAD_INPUT); /* left open */
    kg_chain_rlp_enc_init(&e, buf, sizeof buf);
    kg_chain_rlp_enc_list_end(&e);
    assert_int_equal(kg_chain_rlp_enc_finish(&n, &e), KG_ERR_BAD_INPUT);
    kg_bytes b = { 0 };
    kg_chain_rlp_enc_init_bytes(&e, &b);
    for (int i = 0; i <= KG_CHAIN_RLP_MAX_DEPTH; i++)
        kg_chain_rlp_enc_list_begin(&e);
    assert_int_equal(kg_chain_rlp_enc_finish(&n, &e), KG_ERR_BAD_INPUT);
    assert_null(b.data);
    /* a long list: header of 3 bytes moves the payload */
    kg_chain_rlp_enc_init_bytes(&e, &b);
    kg_chain_rlp_enc_list_begin(&e);
    for (int i = 0; i < 300; i++)
        kg_chain_rlp_enc_uint(&e, 0x80); /* 0x8180 each */
    kg_chain_rlp_enc_list_end(&e);
    assert_int_equal(kg_chain_rlp_enc_finish(&n, &e), KG_OK);
    assert_int_equal(n, 3 + 600);
    te_assert_hex(b.data, 5, "f902588180");
    kg_chain_rlp_item it, items[4];
    size_t cnt = 0;
    assert_int_equal(kg_chain_rlp_decode(&it, b.data, b.len), KG_OK);
    assert_int_equal(kg_chain_rlp_list_items(items, 4, &cnt, &it), KG_ERR_BAD_INPUT); /* more than 4 */
    kg_bytes_free(&b);
}

static void test_decode_rejects(void **state)
{
    (void)state;
    static const struct { const char *hex, *why; } bad[] = {
        { "", "empty" },
        { "8100", "single byte below 0x80 in long form" },
        { "817f", "single byte below 0x80 in long form" },
        { "b80100", "long form for a short string" },
        { "b90000", "length with leading zero" },
        { "f80100", "long list form for a short list" },
        { "83646f", "string runs past the end" },
        { "c88363617483646f", "list runs past the end" },
        { "c3836461", "item inside list runs past the list" },
        { "83646f6700", "trailing byte" },
        { "bf0000000000000001", "huge length" },
        { "c1c1c0", "list payload shorter than its item" },
        { "c48100", "non-canonical item inside a list" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t len = 0;
        uint8_t *b = te_hex(bad[i].hex, &len);
        kg_chain_rlp_item it;
        if (kg_chain_rlp_decode(&it, b, len) != KG_ERR_BAD_INPUT)
            fail_msg("accepted %s (%s)", bad[i].hex, bad[i].why);
        assert_null(it.raw);
        free(b);
    }
    /* nesting deeper than the bound */
    uint8_t deep[KG_CHAIN_RLP_MAX_DEPTH + 2];
    for (size_t i = 0; i < sizeof deep; i++)
        deep[i] = (uint8_t)(0xc0 + sizeof deep - 1 - i);
    kg_chain_rlp_item it;
    assert_int_equal(kg_chain_rlp_decode(&it, deep, sizeof deep), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_chain_rlp_decode(&it, deep + 2, sizeof deep - 2), KG_OK);
    /* integers */
    uint64_t v = 0;
    uint8_t w[32];
    assert_int_equal(kg_chain_rlp_decode(&it, (const uint8_t *)"\x82\x00\x01", 3), KG_OK);
    assert_int_equal(kg_chain_rlp_item_uint(&v, &it, "nonce"), KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "nonce has leading zero"));
    assert_int_equal(kg_chain_rlp_decode(&it, (const uint8_t *)"\x89\x01\x00\x00\x00\x00\x00\x00\x00\x00", 10), KG_OK);
    assert_int_equal(kg_chain_rlp_item_uint(&v, &it, "gas"), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_chain_rlp_item_u256(w, &it, "value"), KG_OK);
    assert_int_equal(w[23], 1);
    printf("[ RLP rejects ] %zu non-canonical/malformed inputs and over-deep nesting rejected\n",
           sizeof bad / sizeof bad[0]);
}

static void test_u256(void **state)
{
    (void)state;
    uint8_t v[32];
    char dec[KG_CHAIN_ETH_U256_DEC_BYTES], hex[67], txt[100];
    const char *max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
    assert_int_equal(kg_chain_eth_u256_from_dec(v, max), KG_OK);
    kg_chain_eth_u256_to_dec(dec, v);
    assert_string_equal(dec, max);
    kg_chain_eth_u256_to_hex(hex, v);
    assert_int_equal(strlen(hex), 66);
    assert_int_equal(kg_chain_eth_u256_from_dec(v, "115792089237316195423570985008687907853269984665640564039457584007913129639936"),
                     KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "overflow"));
    assert_int_equal(kg_chain_eth_u256_from_dec(v, "12a"), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_chain_eth_u256_from_dec(v, ""), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_chain_eth_u256_from_dec(v, "0"), KG_OK);
    kg_chain_eth_u256_to_dec(dec, v);
    assert_string_equal(dec, "0");
    kg_chain_eth_u256_to_hex(hex, v);
    assert_string_equal(hex, "0x0");
    assert_int_equal(kg_chain_eth_u256_from_hex(v, "0x1a", true), KG_OK);
    assert_int_equal(v[31], 0x1a);
    assert_int_equal(kg_chain_eth_u256_from_hex(v, "0x01a", true), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_chain_eth_u256_from_hex(v, "0x01a", false), KG_OK);
    assert_int_equal(kg_chain_eth_u256_from_hex(v, "1a", false), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_chain_eth_u256_from_hex(v, "0x", false), KG_ERR_BAD_INPUT);
    uint64_t u = 0;
    assert_int_equal(kg_chain_eth_u256_from_hex(v, "0x10000000000000000", true), KG_OK);
    assert_int_equal(kg_chain_eth_u256_to_u64(&u, v), KG_ERR_BAD_INPUT);

    /* ether units */
    assert_int_equal(kg_chain_eth_units_parse(v, "1.5", 18), KG_OK);
    kg_chain_eth_u256_to_dec(dec, v);
    assert_string_equal(dec, "1500000000000000000");
    assert_int_equal(kg_chain_eth_units_format(txt, sizeof txt, v, 18), KG_OK);
    assert_string_equal(txt, "1.5");
    assert_int_equal(kg_chain_eth_units_format(txt, sizeof txt, v, 9), KG_OK);
    assert_string_equal(txt, "1500000000");
    assert_int_equal(kg_chain_eth_units_parse(v, "0.000000001", 18), KG_OK);
    kg_chain_eth_u256_to_dec(dec, v);
    assert_string_equal(dec, "1000000000");
    assert_int_equal(kg_chain_eth_units_format(txt, sizeof txt, v, 18), KG_OK);
    assert_string_equal(txt, "0.000000001");
    assert_int_equal(kg_chain_eth_units_parse(v, "0.0000000000000000001", 18), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_chain_eth_units_parse(v, "1.2.3", 18), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_chain_eth_units_parse(v, "-1", 18), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_chain_eth_units_parse(v, ".", 18), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_chain_eth_units_parse(v, "115792089237316195423570985008687907853269984665640564039458", 18),
                     KG_ERR_BAD_INPUT);
    assert_int_equal(kg_chain_eth_units_parse(v, "0", 18), KG_OK);
    assert_int_equal(kg_chain_eth_units_format(txt, sizeof txt, v, 18), KG_OK);
    assert_string_equal(txt, "0");
    assert_int_equal(kg_chain_eth_units_format(txt, 2, (uint8_t[32]){ [31] = 100 }, 0), KG_ERR_BAD_INPUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wiki_examples),
        cmocka_unit_test(test_builder_errors),
        cmocka_unit_test(test_decode_rejects),
        cmocka_unit_test(test_u256),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
