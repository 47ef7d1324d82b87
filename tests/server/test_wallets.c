/* Wallet endpoints suite: a real dev server in this process, driven over
 * real sockets (one request per connection, read to EOF), like
 * test_server.c.
 *
 * Every answer is checked independently of the handler's own code path:
 * the Ethereum address is recomputed from the KMS public key
 * (GET /v1/keys/{id}/public-key) with Keccak-256, the Bitcoin and Cosmos
 * addresses are decoded back to HASH160 of the compressed key, the Solana
 * address to the Ed25519 key; signatures are checked by public-key
 * recovery (EIP-191, EIP-712 -- against the digest of the EIP-712 spec's
 * "Mail" example -- and the decoded transactions), and the signed PSBT is
 * finalized and extracted. Policies: a token that may read but not sign
 * gets 403 from the KMS. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <kashguard/server.h>
#include "server_fixture.h"
#include <kashguard/chain.h>


static const char *str(const resp *r, const char *field)
{
    return json_string_value(json_object_get(r->json, field));
}


static void expect_ok(const resp *r)
{
    if (r->status != 200)
        fprintf(stderr, "unexpected %d: %s\n", r->status, err_msg(r) ? err_msg(r) : "?");
    assert_int_equal(r->status, 200);
}


/* The wallet every test uses, and its keys as the KMS reports them. */
static char eth_addr[64], key_id[64];
static uint8_t pub65[65], pub33[33], ed_pub[32];

static void raw_public_key(uint8_t *out, size_t want, const char *ref)
{
    char path[160];
    resp r;
    kg_bytes raw = { 0 };
    snprintf(path, sizeof path, "/v1/keys/%s/public-key", ref);
    http(&r, "GET", path, root, NULL);
    expect_ok(&r);
    assert_int_equal(kg_json_get_b64(&raw, r.json, "public_key", true, 65), KG_OK);
    assert_int_equal(raw.len, want);
    memcpy(out, raw.data, want);
    kg_bytes_free(&raw);
    json_decref(r.json);
}

static int setup(void **state)
{
    return server_setup("kg-wallets-test");
}

static int teardown(void **state)
{
    return server_teardown();
}

/* ------------------------------------------------------------ create */

static void test_create_idempotent(void **state)
{
    const char *extra = "Idempotency-Key: wallet-create-1\r\n";
    resp a, b;
    http_x(&a, "POST", "/v1/wallets", root, extra, "{\"name\":\"treasury\"}");
    expect_ok(&a);
    http_x(&b, "POST", "/v1/wallets", root, extra, "{\"name\":\"treasury\"}");
    expect_ok(&b);
    assert_string_equal(str(&a, "name"), "treasury");
    assert_string_equal(str(&a, "key_id"), str(&b, "key_id"));
    assert_non_null(str(&a, "ed25519_key_id"));
    json_t *addrs = json_object_get(a.json, "addresses");
    for (const char *c = "eth\0btc\0cosmos\0solana\0"; *c; c += strlen(c) + 1)
        assert_non_null(json_string_value(json_object_get(addrs, c)));
    snprintf(eth_addr, sizeof eth_addr, "%s", json_string_value(json_object_get(addrs, "eth")));
    snprintf(key_id, sizeof key_id, "%s", str(&a, "key_id"));
    json_decref(a.json);
    json_decref(b.json);
    raw_public_key(pub65, 65, key_id);
    raw_public_key(ed_pub, 32, "wallet-treasury-ed25519");
    /* Compress by hand (SEC 1 §2.3.3): the prefix is the parity of y. */
    pub33[0] = (uint8_t)(0x02 | (pub65[64] & 1));
    memcpy(pub33 + 1, pub65 + 1, 32);

    resp c;
    http(&c, "POST", "/v1/wallets", root, "{\"name\":\"treasury\"}");
    expect_error(&c, 409, "conflict");
}

static void test_create_bad_names(void **state)
{
    resp r;
    http(&r, "POST", "/v1/wallets", root, "{\"name\":\"bad/name\"}");
    expect_error(&r, 400, "bad_input");
    http(&r, "POST", "/v1/wallets", root, "{\"name\":\"x-ed25519\"}");
    expect_error(&r, 400, "bad_input");
    http(&r, "POST", "/v1/wallets", root, "{\"name\":\"\"}");
    expect_error(&r, 400, "bad_input");
    http(&r, "POST", "/v1/wallets", root,
         "{\"name\":\"a-name-that-is-much-longer-than-forty-eight-characters\"}");
    expect_error(&r, 400, "bad_input");
    http(&r, "POST", "/v1/wallets", root, "{\"name\":\"ok\",\"colour\":\"red\"}");
    expect_error(&r, 400, "bad_input");
    http(&r, "POST", "/v1/wallets", root, "{}");
    expect_error(&r, 400, "bad_input");
}

/* ------------------------------------------------------------ read */

static void test_eth_address_matches_kms_key(void **state)
{
    /* keccak256(X || Y)[12..32], computed here from the KMS's raw key. */
    uint8_t h[32];
    char want[41];
    kg_crypto_keccak256(h, pub65 + 1, 64);
    kg_hex_encode(want, h + 12, 20);
    assert_int_equal(strncmp(eth_addr, "0x", 2), 0);
    assert_int_equal(strcasecmp(eth_addr + 2, want), 0);
    /* Mixed case that passes the EIP-55 check. */
    uint8_t parsed[20];
    assert_int_equal(kg_chain_eth_addr_parse(parsed, eth_addr), KG_OK);
    assert_memory_equal(parsed, h + 12, 20);
    assert_int_not_equal(strcmp(eth_addr + 2, want), 0); /* not all lower case */
}

static void get_address(char *out, size_t cap, const char *query)
{
    char path[256];
    resp r;
    snprintf(path, sizeof path, "/v1/wallets/treasury/address?%s", query);
    http(&r, "GET", path, root, NULL);
    expect_ok(&r);
    snprintf(out, cap, "%s", str(&r, "address"));
    json_decref(r.json);
}

static void test_btc_addresses(void **state)
{
    static const struct {
        const char *query;
        kg_chain_btc_network net;
        kg_chain_btc_script_type type;
        const char *prefix;
    } cases[] = {
        { "chain=btc", KG_CHAIN_BTC_MAINNET, KG_CHAIN_BTC_P2WPKH, "bc1q" },
        { "chain=btc&network=testnet", KG_CHAIN_BTC_TESTNET, KG_CHAIN_BTC_P2WPKH, "tb1q" },
        { "chain=btc&network=regtest&type=p2wpkh", KG_CHAIN_BTC_REGTEST, KG_CHAIN_BTC_P2WPKH, "bcrt1q" },
        { "chain=btc&type=p2pkh", KG_CHAIN_BTC_MAINNET, KG_CHAIN_BTC_P2PKH, "1" },
        { "chain=btc&network=testnet&type=p2pkh", KG_CHAIN_BTC_TESTNET, KG_CHAIN_BTC_P2PKH, "" },
        { "chain=btc&type=p2sh-p2wpkh", KG_CHAIN_BTC_MAINNET, KG_CHAIN_BTC_P2SH, "3" },
    };
    uint8_t h160[20], redeem[22] = { 0x00, 0x14 }, sh[20];
    kg_crypto_hash160(h160, pub33, 33);
    memcpy(redeem + 2, h160, 20);
    kg_crypto_hash160(sh, redeem, sizeof redeem);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char addr[128];
        get_address(addr, sizeof addr, cases[i].query);
        assert_int_equal(strncmp(addr, cases[i].prefix, strlen(cases[i].prefix)), 0);
        kg_chain_btc_spk spk;
        kg_chain_btc_script_type t;
        assert_int_equal(kg_chain_btc_address_decode(&spk, &t, cases[i].net, addr), KG_OK);
        assert_int_equal(t, cases[i].type);
        uint8_t prog[40];
        size_t plen = 0;
        kg_chain_btc_spk_classify(prog, &plen, spk.data, spk.len);
        assert_int_equal(plen, 20);
        assert_memory_equal(prog, cases[i].type == KG_CHAIN_BTC_P2SH ? sh : h160, 20);
    }
    printf("btc address forms checked: %zu\n", sizeof cases / sizeof cases[0]);
}

static void test_cosmos_solana_eth_addresses(void **state)
{
    char addr[128];
    uint8_t h160[20], got[20], sol[32];
    kg_crypto_hash160(h160, pub33, 33);
    get_address(addr, sizeof addr, "chain=cosmos");
    assert_int_equal(kg_chain_cosmos_address_check(got, addr, "cosmos"), KG_OK);
    assert_memory_equal(got, h160, 20);
    get_address(addr, sizeof addr, "chain=cosmos&hrp=osmo");
    assert_int_equal(kg_chain_cosmos_address_check(got, addr, "osmo"), KG_OK);
    assert_memory_equal(got, h160, 20);
    get_address(addr, sizeof addr, "chain=solana");
    assert_int_equal(kg_chain_sol_address_decode(sol, addr), KG_OK);
    assert_memory_equal(sol, ed_pub, 32);
    get_address(addr, sizeof addr, "chain=eth");
    assert_string_equal(addr, eth_addr);
}

static void test_get_and_list(void **state)
{
    resp r;
    http(&r, "GET", "/v1/wallets/treasury", root, NULL);
    expect_ok(&r);
    assert_string_equal(str(&r, "key_id"), key_id);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "addresses"), "eth")), eth_addr);
    json_decref(r.json);
    /* A plain KMS key is not a wallet, nor is the Ed25519 half. */
    http(&r, "POST", "/v1/keys", root, "{\"spec\":\"AES_256\",\"alias\":\"not-a-wallet\"}");
    expect_ok(&r);
    json_decref(r.json);
    http(&r, "GET", "/v1/wallets", root, NULL);
    expect_ok(&r);
    json_t *ws = json_object_get(r.json, "wallets");
    assert_int_equal(json_array_size(ws), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ws, 0), "name")), "treasury");
    assert_true(json_is_null(json_object_get(r.json, "next_cursor")));
    json_decref(r.json);
}

static void test_bad_inputs(void **state)
{
    resp r;
    http(&r, "GET", "/v1/wallets/nobody", root, NULL);
    expect_error(&r, 404, "not_found");
    http(&r, "GET", "/v1/wallets/nobody/address?chain=eth", root, NULL);
    expect_error(&r, 404, "not_found");
    http(&r, "GET", "/v1/wallets/treasury/address?chain=doge", root, NULL);
    expect_error(&r, 400, "bad_input");
    http(&r, "GET", "/v1/wallets/treasury/address", root, NULL);
    expect_error(&r, 400, "bad_input");
    http(&r, "GET", "/v1/wallets/treasury/address?chain=eth&network=testnet", root, NULL);
    expect_error(&r, 400, "bad_input");
    http(&r, "GET", "/v1/wallets/treasury/address?chain=btc&network=moon", root, NULL);
    expect_error(&r, 400, "bad_input");
    http(&r, "GET", "/v1/wallets/treasury/address?chain=btc&type=p2tr", root, NULL);
    expect_error(&r, 400, "bad_input");
    http(&r, "GET", "/v1/wallets/treasury/address?chain=cosmos&hrp=BAD%20HRP", root, NULL);
    expect_error(&r, 400, "bad_input");
    http(&r, "GET", "/v1/wallets/treasury/address?chain=eth&chain=btc", root, NULL);
    expect_error(&r, 400, "bad_input");
    http(&r, "GET", "/v1/keys?chain=eth&colour=red", root, NULL);
    expect_error(&r, 400, "bad_input");
    http(&r, "POST", "/v1/wallets/treasury/sign-message", root, "{\"chain\":\"btc\",\"message\":\"hi\"}");
    expect_error(&r, 400, "bad_input");
    http(&r, "POST", "/v1/wallets/treasury/sign-message", root, "{\"message\":\"zz\",\"encoding\":\"hex\"}");
    expect_error(&r, 400, "bad_input");
    http(&r, "POST", "/v1/wallets/treasury/sign-typed-data", root, "{\"typed_data\":{\"types\":{}}}");
    expect_error(&r, 400, "bad_input");
    http(&r, "POST", "/v1/wallets/treasury/psbt/sign", root, "{\"psbt\":\"cHNidP8=\"}");
    expect_error(&r, 400, "bad_input");
}

/* ------------------------------------------------------------ messages */

static void test_sign_message_recovers(void **state)
{
    resp r;
    uint8_t sig[65], addr[20], want[20];
    size_t n = 0;
    assert_int_equal(kg_chain_eth_addr_parse(want, eth_addr), KG_OK);
    http(&r, "POST", "/v1/wallets/treasury/sign-message", root, "{\"chain\":\"eth\",\"message\":\"hello kashguard\"}");
    expect_ok(&r);
    assert_int_equal(strlen(str(&r, "signature")), 132);
    assert_int_equal(kg_hex_decode(sig, sizeof sig, &n, str(&r, "signature")), KG_OK);
    assert_int_equal(n, 65);
    assert_true(sig[64] == 27 || sig[64] == 28);
    json_decref(r.json);
    const char *m = "hello kashguard";
    assert_int_equal(kg_chain_eth_personal_recover(addr, sig, (const uint8_t *)m, strlen(m)), KG_OK);
    assert_memory_equal(addr, want, 20);
    /* The same bytes given as hex sign the same message. */
    http(&r, "POST", "/v1/wallets/treasury/sign-message", root,
         "{\"message\":\"0x68656c6c6f206b617368677561726421\",\"encoding\":\"hex\"}");
    expect_ok(&r);
    assert_int_equal(kg_hex_decode(sig, sizeof sig, &n, str(&r, "signature")), KG_OK);
    json_decref(r.json);
    m = "hello kashguard!";
    assert_int_equal(kg_chain_eth_personal_recover(addr, sig, (const uint8_t *)m, strlen(m)), KG_OK);
    assert_memory_equal(addr, want, 20);
}

#define MAIL_DIGEST "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2"
#define MAIL_JSON                                                                                          \
    "{\"types\":{\"EIP712Domain\":[{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"version\",\"type\":" \
    "\"string\"},{\"name\":\"chainId\",\"type\":\"uint256\"},{\"name\":\"verifyingContract\",\"type\":"     \
    "\"address\"}],\"Person\":[{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"wallet\",\"type\":"      \
    "\"address\"}],\"Mail\":[{\"name\":\"from\",\"type\":\"Person\"},{\"name\":\"to\",\"type\":\"Person\"}," \
    "{\"name\":\"contents\",\"type\":\"string\"}]},\"primaryType\":\"Mail\",\"domain\":{\"name\":"           \
    "\"Ether Mail\",\"version\":\"1\",\"chainId\":1,\"verifyingContract\":"                                 \
    "\"0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC\"},\"message\":{\"from\":{\"name\":\"Cow\",\"wallet\":"   \
    "\"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826\"},\"to\":{\"name\":\"Bob\",\"wallet\":"                  \
    "\"0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB\"},\"contents\":\"Hello, Bob!\"}}"

static void test_sign_typed_data_recovers(void **state)
{
    resp r;
    uint8_t sig65[65], digest[32], addr[20], want[20];
    size_t n = 0;
    kg_chain_eth_sig sig;
    assert_int_equal(kg_chain_eth_addr_parse(want, eth_addr), KG_OK);
    http(&r, "POST", "/v1/wallets/treasury/sign-typed-data", root, "{\"typed_data\":" MAIL_JSON "}");
    expect_ok(&r);
    assert_string_equal(str(&r, "digest"), MAIL_DIGEST); /* the EIP-712 specification's example */
    assert_int_equal(kg_hex_decode(sig65, sizeof sig65, &n, str(&r, "signature")), KG_OK);
    assert_int_equal(kg_hex_decode(digest, sizeof digest, &n, MAIL_DIGEST), KG_OK);
    json_decref(r.json);
    assert_int_equal(kg_chain_eth_sig_from_bytes(&sig, sig65), KG_OK);
    assert_int_equal(kg_chain_eth_sig_recover(addr, &sig, digest), KG_OK);
    assert_memory_equal(addr, want, 20);
}

/* ------------------------------------------------------------ transactions */

static void sign_and_decode(const char *tx_json, kg_chain_eth_tx_type type, uint64_t chain_id)
{
    char body[2048];
    resp r;
    uint8_t raw[1024], sender[20], want[20], hash[32], got_hash[32];
    size_t n = 0, hn = 0;
    snprintf(body, sizeof body, "{\"chain\":\"eth\",\"tx\":%s}", tx_json);
    http(&r, "POST", "/v1/wallets/treasury/sign-transaction", root, body);
    expect_ok(&r);
    assert_int_equal(kg_hex_decode(raw, sizeof raw, &n, str(&r, "raw")), KG_OK);
    assert_int_equal(kg_hex_decode(hash, sizeof hash, &hn, str(&r, "hash")), KG_OK);
    assert_string_equal(str(&r, "from"), eth_addr);
    json_decref(r.json);
    kg_chain_eth_tx tx;
    assert_int_equal(kg_chain_eth_tx_decode(&tx, sender, raw, n, 0), KG_OK);
    assert_int_equal(kg_chain_eth_addr_parse(want, eth_addr), KG_OK);
    assert_memory_equal(sender, want, 20);
    assert_int_equal(tx.type, type);
    assert_int_equal(tx.chain_id, chain_id);
    kg_chain_eth_tx_free(&tx);
    kg_crypto_keccak256(got_hash, raw, n);
    assert_memory_equal(got_hash, hash, 32);
}

static void test_sign_transaction_types(void **state)
{
    sign_and_decode("{\"type\":2,\"chain_id\":\"31337\",\"nonce\":\"0\",\"to\":"
                    "\"0x70997970C51812dc3A010C7d01b50e0d17dc79C8\",\"value\":\"1000000000000000000\","
                    "\"data\":\"0x\",\"gas_limit\":\"21000\",\"max_fee_per_gas\":\"2000000000\","
                    "\"max_priority_fee_per_gas\":\"1000000000\"}", KG_CHAIN_ETH_TX_DYNAMIC_FEE, 31337);
    sign_and_decode("{\"type\":0,\"chain_id\":\"1\",\"nonce\":\"7\",\"to\":"
                    "\"0x70997970c51812dc3a010c7d01b50e0d17dc79c8\",\"value\":\"0x10\",\"data\":\"0xdeadbeef\","
                    "\"gas_limit\":50000,\"gas_price\":\"20000000000\"}", KG_CHAIN_ETH_TX_LEGACY, 1);
    sign_and_decode("{\"type\":1,\"chain_id\":\"5\",\"nonce\":\"1\",\"gas_limit\":\"100000\","
                    "\"gas_price\":\"1\",\"data\":\"0x6000\",\"access_list\":[{\"address\":"
                    "\"0x70997970c51812dc3a010c7d01b50e0d17dc79c8\",\"storage_keys\":[\"0x"
                    "0000000000000000000000000000000000000000000000000000000000000001\"]}]}",
                    KG_CHAIN_ETH_TX_ACCESS_LIST, 5);
}

static void test_sign_transaction_bad_fields(void **state)
{
    static const char *const bad[] = {
        "{\"chain\":\"eth\"}",
        "{\"chain\":\"btc\",\"tx\":{}}",
        "{\"tx\":{\"type\":3,\"chain_id\":\"1\",\"nonce\":\"0\",\"gas_limit\":\"21000\"}}",
        "{\"tx\":{\"chain_id\":\"1\",\"nonce\":\"abc\",\"gas_limit\":\"21000\",\"max_fee_per_gas\":\"1\","
        "\"max_priority_fee_per_gas\":\"1\"}}",
        "{\"tx\":{\"chain_id\":\"1\",\"nonce\":\"0\",\"gas_limit\":\"21000\",\"gas_price\":\"1\"}}",
        "{\"tx\":{\"chain_id\":\"1\",\"nonce\":\"0\",\"gas_limit\":\"21000\",\"max_fee_per_gas\":\"1\","
        "\"max_priority_fee_per_gas\":\"2\"}}",
        "{\"tx\":{\"chain_id\":\"1\",\"nonce\":\"0\",\"gas_limit\":\"21000\",\"max_fee_per_gas\":\"1\","
        "\"max_priority_fee_per_gas\":\"1\",\"to\":\"0x70997970C51812DC3a010C7d01b50e0d17dc79C8\"}}",
        "{\"tx\":{\"chain_id\":\"1\",\"nonce\":\"0\",\"gas_limit\":\"21000\",\"max_fee_per_gas\":\"1\","
        "\"max_priority_fee_per_gas\":\"1\",\"data\":\"0xabc\"}}",
        "{\"tx\":{\"chain_id\":\"0\",\"nonce\":\"0\",\"gas_limit\":\"21000\",\"max_fee_per_gas\":\"1\","
        "\"max_priority_fee_per_gas\":\"1\"}}",
        "{\"tx\":{\"chain_id\":\"1\",\"nonce\":\"18446744073709551616\",\"gas_limit\":\"21000\","
        "\"max_fee_per_gas\":\"1\",\"max_priority_fee_per_gas\":\"1\"}}",
        "{\"tx\":{\"chain_id\":\"1\",\"nonce\":\"0\",\"gas_limit\":\"21000\",\"max_fee_per_gas\":\"-1\","
        "\"max_priority_fee_per_gas\":\"1\"}}",
        "{\"tx\":{\"type\":0,\"chain_id\":\"1\",\"nonce\":\"0\",\"gas_limit\":\"21000\",\"gas_price\":\"1\","
        "\"access_list\":[]}}",
        "{\"tx\":{\"type\":1,\"chain_id\":\"1\",\"nonce\":\"0\",\"gas_limit\":\"21000\",\"gas_price\":\"1\","
        "\"access_list\":[{\"address\":\"0x70997970c51812dc3a010c7d01b50e0d17dc79c8\",\"storage_keys\":[\"0x01\"]}]}}",
        "{\"tx\":{\"chain_id\":\"1\",\"nonce\":\"0\",\"gas_limit\":\"0\",\"max_fee_per_gas\":\"1\","
        "\"max_priority_fee_per_gas\":\"1\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        resp r;
        http(&r, "POST", "/v1/wallets/treasury/sign-transaction", root, bad[i]);
        if (r.status != 400)
            fprintf(stderr, "case %zu: %d %s\n", i, r.status, err_msg(&r) ? err_msg(&r) : "");
        expect_error(&r, 400, "bad_input");
    }
    printf("malformed transactions refused: %zu\n", sizeof bad / sizeof bad[0]);
}

/* ------------------------------------------------------------ PSBT */

/* A v0 PSBT spending one coin of the wallet's P2WPKH (and paying back to it). */
static char *wallet_psbt(void)
{
    uint8_t h160[20], prev[32], raw[256];
    size_t n = 0;
    kg_chain_btc_spk spk;
    kg_crypto_hash160(h160, pub33, 33);
    kg_chain_btc_spk_p2wpkh(&spk, h160);
    memset(prev, 0x42, sizeof prev);
    kg_chain_btc_tx tx;
    assert_int_equal(kg_chain_btc_tx_alloc(&tx, 1, 1, 0, 0), KG_OK);
    assert_int_equal(kg_chain_btc_tx_add_input(&tx, prev, 1, KG_CHAIN_BTC_SEQUENCE_RBF), KG_OK);
    assert_int_equal(kg_chain_btc_tx_add_output(&tx, 90000, spk.data, spk.len), KG_OK);
    assert_int_equal(kg_chain_btc_tx_serialize(raw, sizeof raw, &n, &tx, false), KG_OK);
    kg_chain_btc_tx_free(&tx);
    kg_chain_psbt p;
    char *b64 = NULL;
    assert_int_equal(kg_chain_psbt_alloc(&p, 8192), KG_OK);
    assert_int_equal(kg_chain_psbt_create_v0(&p, raw, n), KG_OK);
    assert_int_equal(kg_chain_psbt_set_witness_utxo(&p, 0, 100000, spk.data, spk.len), KG_OK);
    assert_int_equal(kg_chain_psbt_to_base64(&b64, &p), KG_OK);
    kg_chain_psbt_free(&p);
    return b64;
}

static void test_psbt_sign_finalize_extract(void **state)
{
    char *b64 = wallet_psbt(), body[4096];
    resp r;
    snprintf(body, sizeof body, "{\"psbt\":\"%s\",\"network\":\"regtest\"}", b64);
    free(b64);
    http(&r, "POST", "/v1/wallets/treasury/psbt/sign", root, body);
    expect_ok(&r);
    assert_int_equal(json_integer_value(json_object_get(r.json, "signed_inputs")), 1);
    kg_chain_psbt p;
    assert_int_equal(kg_chain_psbt_alloc(&p, 16384), KG_OK);
    assert_int_equal(kg_chain_psbt_parse_base64(&p, str(&r, "psbt")), KG_OK);
    json_decref(r.json);
    /* Only the signature was added: the temporary derivation is gone. */
    assert_non_null(kg_chain_psbt_map_find(&p.in[0], KG_PSBT_IN_PARTIAL_SIG));
    assert_null(kg_chain_psbt_map_find(&p.in[0], KG_PSBT_IN_BIP32_DERIVATION));
    assert_int_equal(kg_chain_psbt_finalize(&p), KG_OK);
    uint8_t raw[512];
    size_t n = 0;
    assert_int_equal(kg_chain_psbt_extract(raw, sizeof raw, &n, &p), KG_OK);
    kg_chain_psbt_free(&p);
    /* The extracted tx: one input with the witness [sig, the wallet's key]. */
    kg_chain_btc_tx tx;
    assert_int_equal(kg_chain_btc_tx_alloc(&tx, 4, 4, 8, 0), KG_OK);
    assert_int_equal(kg_chain_btc_tx_parse(&tx, raw, n), KG_OK);
    assert_int_equal(tx.inputs[0].witness_count, 2);
    assert_int_equal(tx.inputs[0].witness[1].len, 33);
    assert_memory_equal(tx.inputs[0].witness[1].data, pub33, 33);
    kg_chain_btc_tx_free(&tx);
}

static void test_psbt_not_ours(void **state)
{
    /* Another wallet's coin: nothing to sign is a 400 that names the wallet's address. */
    resp r;
    http(&r, "POST", "/v1/wallets", root, "{\"name\":\"other\"}");
    expect_ok(&r);
    json_decref(r.json);
    char *b64 = wallet_psbt(), body[4096];
    snprintf(body, sizeof body, "{\"psbt\":\"%s\"}", b64);
    free(b64);
    http(&r, "POST", "/v1/wallets/other/psbt/sign", root, body);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(err_msg(&r), "bc1q"));
    json_decref(r.json);
}

/* ------------------------------------------------------------ policies */

static void test_policy_without_sign_is_403(void **state)
{
    resp r;
    http(&r, "POST", "/v1/policies", root,
         "{\"name\":\"wallet-reader\",\"rules\":[{\"keys\":[\"wallet-treasury*\"],"
         "\"actions\":[\"describe\",\"get-public-key\"]}]}");
    expect_ok(&r);
    json_decref(r.json);
    http(&r, "POST", "/v1/tokens", root, "{\"policies\":[\"wallet-reader\"],\"ttl\":\"1h\"}");
    expect_ok(&r);
    char tok[128];
    snprintf(tok, sizeof tok, "%s", str(&r, "token"));
    json_decref(r.json);

    http(&r, "GET", "/v1/wallets/treasury", tok, NULL);
    expect_ok(&r);
    json_decref(r.json);
    http(&r, "POST", "/v1/wallets/treasury/sign-message", tok, "{\"message\":\"pay me\"}");
    assert_int_equal(r.status, 403);
    assert_string_equal(err_code(&r), "permission_denied");
    assert_non_null(strstr(err_msg(&r), "sign"));
    json_decref(r.json);
    http(&r, "POST", "/v1/wallets/treasury/sign-transaction", tok,
         "{\"tx\":{\"chain_id\":\"1\",\"nonce\":\"0\",\"gas_limit\":\"21000\",\"max_fee_per_gas\":\"1\","
         "\"max_priority_fee_per_gas\":\"1\"}}");
    expect_error(&r, 403, "permission_denied");
    http(&r, "POST", "/v1/wallets", tok, "{\"name\":\"mine\"}");
    expect_error(&r, 403, "permission_denied");
    /* A wallet outside the policy's keys: not even its address. */
    http(&r, "GET", "/v1/wallets/other/address?chain=eth", tok, NULL);
    expect_error(&r, 403, "permission_denied");
}

static void test_audit_hides_wallet_names(void **state)
{
    /* Wallet names are like aliases: the audited path carries their HMAC. */
    resp r;
    http(&r, "GET", "/v1/audit?limit=1000", root, NULL);
    expect_ok(&r);
    char *dump = json_dumps(r.json, JSON_COMPACT);
    assert_non_null(dump);
    assert_non_null(strstr(dump, "/v1/wallets/hmac-sha256:"));
    assert_null(strstr(dump, "treasury"));
    free(dump);
    json_decref(r.json);
}

int main(void)
{
    const struct CMUnitTest live[] = {
        cmocka_unit_test(test_create_idempotent),
        cmocka_unit_test(test_create_bad_names),
        cmocka_unit_test(test_eth_address_matches_kms_key),
        cmocka_unit_test(test_btc_addresses),
        cmocka_unit_test(test_cosmos_solana_eth_addresses),
        cmocka_unit_test(test_get_and_list),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_sign_message_recovers),
        cmocka_unit_test(test_sign_typed_data_recovers),
        cmocka_unit_test(test_sign_transaction_types),
        cmocka_unit_test(test_sign_transaction_bad_fields),
        cmocka_unit_test(test_psbt_sign_finalize_extract),
        cmocka_unit_test(test_psbt_not_ours),
        cmocka_unit_test(test_policy_without_sign_is_403),
        cmocka_unit_test(test_audit_hides_wallet_names),
    };
    return cmocka_run_group_tests_name("server_wallets", live, setup, teardown);
}
