/* Bitcoin scripts, addresses and coin selection: BIP341 "scriptPubKey"
 * vectors (script-tree merkle root, tweak, scriptPubKey, BIP350 address),
 * addresses of every template on every network with the network check,
 * and coin selection (changeless branch and bound, change, dust, the
 * insufficient-funds message). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include <kashguard/chain.h>
#include <kashguard/crypto.h>

static void hex32(uint8_t out[32], const char *h)
{
    size_t n = 0;
    assert_int_equal(kg_hex_decode(out, 32, &n, h), KG_OK);
    assert_int_equal(n, 32);
}

/* Merkle root of a BIP341 vector script tree: a leaf object or a pair list. */
static void tree_hash(uint8_t out[32], const json_t *node)
{
    if (json_is_array(node)) {
        uint8_t a[32], b[32];
        assert_int_equal(json_array_size(node), 2);
        tree_hash(a, json_array_get(node, 0));
        tree_hash(b, json_array_get(node, 1));
        kg_chain_btc_tap_branch_hash(out, a, b);
        return;
    }
    const char *sh = json_string_value(json_object_get(node, "script"));
    uint8_t script[200];
    size_t n = 0;
    assert_int_equal(kg_hex_decode(script, sizeof script, &n, sh), KG_OK);
    kg_chain_btc_tap_leaf_hash(out, (uint8_t)json_integer_value(json_object_get(node, "leafVersion")), script, n);
}

static void test_bip341_script_pubkeys(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/bip341_wallet_test_vectors.json", KG_VECTORS_DIR);
    json_t *j = json_load_file(path, 0, NULL);
    assert_non_null(j);
    size_t i, n = 0;
    json_t *v;
    json_array_foreach(json_object_get(j, "scriptPubKey"), i, v) {
        const json_t *g = json_object_get(v, "given"), *im = json_object_get(v, "intermediary"),
                     *ex = json_object_get(v, "expected");
        uint8_t internal[32], root[32], want_root[32];
        hex32(internal, json_string_value(json_object_get(g, "internalPubkey")));
        const json_t *tree = json_object_get(g, "scriptTree");
        const uint8_t *mr = NULL;
        if (!json_is_null(tree)) {
            tree_hash(root, tree);
            hex32(want_root, json_string_value(json_object_get(im, "merkleRoot")));
            assert_memory_equal(root, want_root, 32);
            mr = root;
        }
        kg_chain_btc_spk spk;
        assert_int_equal(kg_chain_btc_spk_for_key(&spk, KG_CHAIN_BTC_P2TR, internal, 32, mr), KG_OK);
        uint8_t want[34];
        size_t wl = 0;
        assert_int_equal(kg_hex_decode(want, sizeof want, &wl, json_string_value(json_object_get(ex, "scriptPubKey"))), KG_OK);
        assert_int_equal(spk.len, wl);
        assert_memory_equal(spk.data, want, wl);
        char addr[KG_CHAIN_BTC_ADDRESS_MAX_BYTES];
        assert_int_equal(kg_chain_btc_address_from_key(addr, sizeof addr, KG_CHAIN_BTC_MAINNET, KG_CHAIN_BTC_P2TR,
                                                       internal, 32, mr), KG_OK);
        assert_string_equal(addr, json_string_value(json_object_get(ex, "bip350Address")));
        kg_chain_btc_spk back;
        kg_chain_btc_script_type t;
        assert_int_equal(kg_chain_btc_address_decode(&back, &t, KG_CHAIN_BTC_MAINNET, addr), KG_OK);
        assert_int_equal(t, KG_CHAIN_BTC_P2TR);
        assert_memory_equal(back.data, want, wl);
        n++;
    }
    printf("bip341 scriptPubKey: %zu vectors (merkle root, output key, scriptPubKey, bip350 address) pass\n", n);
    json_decref(j);
}

static void test_addresses_networks(void **state)
{
    (void)state;
    static const char G33[] = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
    uint8_t pub[33];
    size_t n = 0;
    assert_int_equal(kg_hex_decode(pub, sizeof pub, &n, G33), KG_OK);
    char addr[KG_CHAIN_BTC_ADDRESS_MAX_BYTES];
    /* Known: BIP173's example address is P2WPKH of this key. */
    assert_int_equal(kg_chain_btc_address_from_key(addr, sizeof addr, KG_CHAIN_BTC_MAINNET, KG_CHAIN_BTC_P2WPKH, pub, 33, NULL), KG_OK);
    assert_string_equal(addr, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4");
    assert_int_equal(kg_chain_btc_address_from_key(addr, sizeof addr, KG_CHAIN_BTC_MAINNET, KG_CHAIN_BTC_P2PKH, pub, 33, NULL), KG_OK);
    assert_string_equal(addr, "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH");
    static const kg_chain_btc_script_type T[] = { KG_CHAIN_BTC_P2PKH, KG_CHAIN_BTC_P2SH_P2WPKH, KG_CHAIN_BTC_P2WPKH, KG_CHAIN_BTC_P2TR };
    static const kg_chain_btc_network N[] = { KG_CHAIN_BTC_MAINNET, KG_CHAIN_BTC_TESTNET, KG_CHAIN_BTC_SIGNET, KG_CHAIN_BTC_REGTEST };
    for (size_t t = 0; t < 4; t++)
        for (size_t k = 0; k < 4; k++) {
            kg_chain_btc_spk spk, back;
            kg_chain_btc_script_type got;
            assert_int_equal(kg_chain_btc_spk_for_key(&spk, T[t], pub, 33, NULL), KG_OK);
            assert_int_equal(kg_chain_btc_address_encode(addr, sizeof addr, N[k], spk.data, spk.len), KG_OK);
            assert_int_equal(kg_chain_btc_address_decode(&back, &got, N[k], addr), KG_OK);
            assert_int_equal(back.len, spk.len);
            assert_memory_equal(back.data, spk.data, spk.len);
            assert_int_equal(got, T[t] == KG_CHAIN_BTC_P2SH_P2WPKH ? KG_CHAIN_BTC_P2SH : T[t]);
            if (N[k] != KG_CHAIN_BTC_MAINNET) {   /* the wrong network is refused and named */
                kg_err e = kg_chain_btc_address_decode(&back, &got, KG_CHAIN_BTC_MAINNET, addr);
                assert_int_equal(e, KG_ERR_BAD_INPUT);
                assert_non_null(strstr(kg_err_detail(e), "expected mainnet"));
                assert_int_equal(back.len, 0);
            }
        }
    kg_chain_btc_spk back;
    kg_err e = kg_chain_btc_address_decode(&back, NULL, KG_CHAIN_BTC_MAINNET, "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx");
    assert_string_equal(kg_err_detail(e), "address is for testnet, expected mainnet");
    e = kg_chain_btc_address_decode(&back, NULL, KG_CHAIN_BTC_MAINNET, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5");
    assert_non_null(strstr(kg_err_detail(e), "checksum"));
    e = kg_chain_btc_address_decode(&back, NULL, KG_CHAIN_BTC_MAINNET, "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMI");
    assert_non_null(strstr(kg_err_detail(e), "'I'"));
    kg_chain_btc_network net;
    assert_int_equal(kg_chain_btc_network_parse(&net, "signet"), KG_OK);
    assert_int_equal(net, KG_CHAIN_BTC_SIGNET);
    assert_int_equal(kg_chain_btc_network_parse(&net, "litecoin"), KG_ERR_BAD_INPUT);
    /* Script-hash outputs and classification. */
    kg_chain_btc_spk spk;
    assert_int_equal(kg_chain_btc_spk_for_script(&spk, KG_CHAIN_BTC_P2WSH, pub, 33), KG_OK);
    assert_int_equal(kg_chain_btc_spk_classify(NULL, NULL, spk.data, spk.len), KG_CHAIN_BTC_P2WSH);
    assert_int_equal(kg_chain_btc_spk_for_key(&spk, KG_CHAIN_BTC_P2WPKH, pub, 32, NULL), KG_ERR_BAD_INPUT);
    static const uint8_t OPRET[] = { 0x6a, 0x01, 0x00 };
    assert_int_equal(kg_chain_btc_spk_classify(NULL, NULL, OPRET, 3), KG_CHAIN_BTC_OP_RETURN);
    assert_int_equal(kg_chain_btc_address_encode(addr, sizeof addr, KG_CHAIN_BTC_MAINNET, OPRET, 3), KG_ERR_BAD_INPUT);
}

static void test_coin_selection(void **state)
{
    (void)state;
    static const uint8_t PAY[22] = { 0x00, 0x14, 1 }, CHANGE[22] = { 0x00, 0x14, 2 };
    kg_chain_btc_utxo u[4] = { 0 };
    uint64_t vals[4] = { 50000, 120000, 30000, 1000 };
    for (int i = 0; i < 4; i++) {
        u[i].value = vals[i];
        u[i].type = KG_CHAIN_BTC_P2WPKH;
        u[i].vout = (uint32_t)i;
    }
    kg_chain_btc_txout out = { 100000, { PAY, 22 } };
    kg_chain_btc_coin_select_params p = { u, 4, &out, 1, 2000, CHANGE, 22 };
    size_t sel[4];
    kg_chain_btc_coin_selection cs = { .selected = sel };
    assert_int_equal(kg_chain_btc_coin_select(&cs, &p), KG_OK);
    assert_int_equal(cs.input_total, cs.fee + out.value + cs.change);
    assert_true(cs.fee * 1000 >= cs.vsize * p.fee_rate_sat_kvb);
    assert_true(cs.change == 0 || cs.change >= kg_chain_btc_dust_limit(22, true));
    /* Build it and check the real size is within the estimate (signatures are at most 72 bytes). */
    kg_chain_btc_tx tx;
    assert_int_equal(kg_chain_btc_tx_alloc(&tx, 4, 4, 8, 0), KG_OK);
    assert_int_equal(kg_chain_btc_tx_from_selection(&tx, &cs, &p, true), KG_OK);
    assert_int_equal(tx.inputs[0].sequence, KG_CHAIN_BTC_SEQUENCE_RBF);
    assert_int_equal(tx.output_count, cs.change > 0 ? 2 : 1);
    kg_chain_btc_tx_free(&tx);
    /* An exact match is taken without change (branch and bound). */
    uint64_t in_fee = (kg_chain_btc_input_weight(KG_CHAIN_BTC_P2WPKH) + 3) / 4 * 2;  /* at 2 sat/vB */
    kg_chain_btc_utxo exact[3] = { { .value = 70000, .type = KG_CHAIN_BTC_P2WPKH },
                                   { .value = 100000 + in_fee + 200, .type = KG_CHAIN_BTC_P2WPKH },
                                   { .value = 500000, .type = KG_CHAIN_BTC_P2WPKH } };
    kg_chain_btc_coin_select_params p2 = { exact, 3, &out, 1, 2000, CHANGE, 22 };
    assert_int_equal(kg_chain_btc_coin_select(&cs, &p2), KG_OK);
    assert_true(cs.changeless);
    assert_int_equal(cs.selected_count, 1);
    assert_int_equal(sel[0], 1);
    assert_int_equal(cs.change, 0);
    /* Not enough: the message names the shortfall. */
    out.value = 250000;
    kg_err e = kg_chain_btc_coin_select(&cs, &p);
    assert_int_equal(e, KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(e), "insufficient funds"));
    assert_non_null(strstr(kg_err_detail(e), "short by"));
    printf("%s\n", kg_err_detail(e));
    assert_int_equal(cs.selected_count, 0);
    /* Estimates: P2TR input 57.5 vB, P2WPKH 68 vB, P2PKH 148 vB; dust 294/546. */
    assert_int_equal(kg_chain_btc_input_weight(KG_CHAIN_BTC_P2TR), 230);
    assert_int_equal(kg_chain_btc_input_weight(KG_CHAIN_BTC_P2WPKH), 272);
    assert_int_equal(kg_chain_btc_input_weight(KG_CHAIN_BTC_P2PKH), 592);
    assert_int_equal(kg_chain_btc_dust_limit(22, true), 294);
    assert_int_equal(kg_chain_btc_dust_limit(25, false), 546);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bip341_script_pubkeys),
        cmocka_unit_test(test_addresses_networks),
        cmocka_unit_test(test_coin_selection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
