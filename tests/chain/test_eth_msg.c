/* Ethereum keys, addresses and message signing: ethereum/tests
 * BasicTests/keyaddrtest.json (address of a key, and the signature of the
 * empty string), the EIP-55 examples and checksum rejects, EIP-191
 * personal_sign round trips, and EIP-712 against the "Mail" example of the
 * EIP (domain separator, digest, and the signature by keccak256("cow")),
 * through the C value tree and through the JSON front end, plus malformed
 * typed data. */
#include "test_eth_util.h"

static void test_keyaddr(void **state)
{
    (void)state;
    json_t *root = te_load("ethereum/basic_keyaddrtest.json");
    size_t i, ok = 0;
    json_t *v;
    json_array_foreach(root, i, v) {
        uint8_t sk[32], pub[65], addr[20], h[32];
        te_key k;
        kg_signer s = te_signer(&k, json_string_value(json_object_get(v, "key")));
        const char *seed = json_string_value(json_object_get(v, "seed"));
        kg_crypto_keccak256(h, (const uint8_t *)seed, strlen(seed));
        te_hexn(sk, 32, json_string_value(json_object_get(v, "key")));
        assert_memory_equal(h, sk, 32); /* key = keccak256(seed) */
        (void)sk;
        assert_int_equal(kg_crypto_k1_pubkey(pub, 33, sk), KG_OK);
        assert_int_equal(kg_chain_eth_addr_from_pubkey(addr, pub, 33), KG_OK);
        te_assert_hex(addr, 20, json_string_value(json_object_get(v, "addr")));

        /* sig_of_emptystring is not checked: the vector does not say which
         * digest was signed (neither keccak256("") nor the usual message
         * hashes recover this key). Signing with the key must work. */
        uint8_t empty[32], rec[20];
        kg_chain_eth_sig out;
        kg_crypto_keccak256(empty, NULL, 0);
        assert_int_equal(kg_chain_eth_sign_digest(&s, &out, &(kg_key_ref){ 0 }, empty), KG_OK);
        assert_int_equal(kg_chain_eth_sig_recover(rec, &out, empty), KG_OK);
        assert_memory_equal(rec, addr, 20);
        ok++;
    }
    printf("[ basic_keyaddrtest.json ] %zu/%zu keys: key = keccak256(seed) and address match\n", ok, json_array_size(root));
    assert_int_equal(ok, json_array_size(root));
    json_decref(root);
}

static void test_eip55(void **state)
{
    (void)state;
    static const char *const good[] = { "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                                        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
                                        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
                                        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb", NULL };
    for (int i = 0; good[i] != NULL; i++) {
        uint8_t a[20];
        char s[KG_CHAIN_ETH_ADDR_STR_BYTES];
        assert_int_equal(kg_chain_eth_addr_parse(a, good[i]), KG_OK);
        kg_chain_eth_addr_to_str(s, a);
        assert_string_equal(s, good[i]);
    }
    uint8_t a[20];
    /* all lower / all upper carry no checksum */
    assert_int_equal(kg_chain_eth_addr_parse(a, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"), KG_OK);
    assert_int_equal(kg_chain_eth_addr_parse(a, "0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED"), KG_OK);
    assert_int_equal(kg_chain_eth_addr_parse(a, "5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"), KG_OK);
    /* one letter's case flipped */
    assert_int_equal(kg_chain_eth_addr_parse(a, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"), KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "address checksum mismatch"));
    for (int b = 0; b < 20; b++)
        assert_int_equal(a[b], 0);
    assert_int_equal(kg_chain_eth_addr_parse(a, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea"), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_chain_eth_addr_parse(a, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaedff"), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_chain_eth_addr_parse(a, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeg"), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_chain_eth_addr_parse(a, ""), KG_ERR_BAD_INPUT);
    uint8_t bad_pub[33] = { 0x02 };
    assert_int_equal(kg_chain_eth_addr_from_pubkey(a, bad_pub, 32), KG_ERR_BAD_INPUT);
}

static void test_personal_sign(void **state)
{
    (void)state;
    te_key k;
    kg_signer s = te_signer(&k, "c85ef7d79691fe79573b1a7064c19c1a9819ebdbd1faaab1a8ec92344438aaf4");
    static const char *const msgs[] = { "", "hello", "Example `personal_sign` message", NULL };
    uint8_t want[20];
    te_hexn(want, 20, "cd2a3d9f938e13cd947ec05abc7fe734df8dd826");
    for (int i = 0; msgs[i] != NULL; i++) {
        uint8_t sig[65], addr[20];
        const uint8_t *m = (const uint8_t *)msgs[i];
        assert_int_equal(kg_chain_eth_personal_sign(&s, sig, &(kg_key_ref){ 0 }, m, strlen(msgs[i])), KG_OK);
        assert_true(sig[64] == 27 || sig[64] == 28);
        assert_int_equal(kg_chain_eth_personal_recover(addr, sig, m, strlen(msgs[i])), KG_OK);
        assert_memory_equal(addr, want, 20);
        /* another message recovers someone else */
        assert_int_equal(kg_chain_eth_personal_recover(addr, sig, (const uint8_t *)"x", 1), KG_OK);
        assert_memory_not_equal(addr, want, 20);
        sig[64] = 29;
        assert_int_equal(kg_chain_eth_personal_recover(addr, sig, m, strlen(msgs[i])), KG_ERR_VERIFY);
    }
    /* the prefix: "\x19Ethereum Signed Message:\n5hello" */
    uint8_t h1[32], h2[32];
    static const char pre[] = "\x19" "Ethereum Signed Message:\n5hello";
    kg_chain_eth_personal_hash(h1, (const uint8_t *)"hello", 5);
    kg_crypto_keccak256(h2, (const uint8_t *)pre, sizeof pre - 1);
    assert_memory_equal(h1, h2, 32);
}

/* ------------------------------------------------------------ EIP-712 */

#define MAIL_DOMAIN_SEP "f2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f"
#define MAIL_DIGEST "be609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2"

static const char mail_json[] =
    "{\"types\":{\"EIP712Domain\":[{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"version\",\"type\":\"string\"},"
    "{\"name\":\"chainId\",\"type\":\"uint256\"},{\"name\":\"verifyingContract\",\"type\":\"address\"}],"
    "\"Person\":[{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"wallet\",\"type\":\"address\"}],"
    "\"Mail\":[{\"name\":\"from\",\"type\":\"Person\"},{\"name\":\"to\",\"type\":\"Person\"},"
    "{\"name\":\"contents\",\"type\":\"string\"}]},"
    "\"primaryType\":\"Mail\","
    "\"domain\":{\"name\":\"Ether Mail\",\"version\":\"1\",\"chainId\":1,"
    "\"verifyingContract\":\"0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC\"},"
    "\"message\":{\"from\":{\"name\":\"Cow\",\"wallet\":\"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826\"},"
    "\"to\":{\"name\":\"Bob\",\"wallet\":\"0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB\"},"
    "\"contents\":\"Hello, Bob!\"}}";

static kg_chain_eth_eip712_value str_v(const char *s)
{
    kg_chain_eth_eip712_value v = { .kind = KG_CHAIN_ETH_EIP712_DYNAMIC, .bytes = (const uint8_t *)s,
                                    .len = strlen(s) };
    return v;
}

static kg_chain_eth_eip712_value addr_v(const char *hex)
{
    kg_chain_eth_eip712_value v = { .kind = KG_CHAIN_ETH_EIP712_WORD };
    assert_int_equal(kg_chain_eth_addr_parse(v.word + 12, hex), KG_OK);
    return v;
}

static void check_mail_signature(const uint8_t digest[32])
{
    uint8_t cow[32];
    char hex[65];
    kg_crypto_keccak256(cow, (const uint8_t *)"cow", 3);
    kg_hex_encode(hex, cow, 32);
    te_key k;
    kg_signer s = te_signer(&k, hex);
    kg_chain_eth_sig sig;
    assert_int_equal(kg_chain_eth_sign_digest(&s, &sig, &(kg_key_ref){ 0 }, digest), KG_OK);
    assert_int_equal(27 + sig.y_parity, 28);
    te_assert_hex(sig.r, 32, "4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d");
    te_assert_hex(sig.s, 32, "07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b91562");
}

static void test_eip712_mail_tree(void **state)
{
    (void)state;
    static const kg_chain_eth_eip712_field dom_f[] = { { "name", "string" }, { "version", "string" },
                                                       { "chainId", "uint256" },
                                                       { "verifyingContract", "address" } };
    static const kg_chain_eth_eip712_field person_f[] = { { "name", "string" }, { "wallet", "address" } };
    static const kg_chain_eth_eip712_field mail_f[] = { { "from", "Person" }, { "to", "Person" },
                                                        { "contents", "string" } };
    const kg_chain_eth_eip712_struct st[] = { { "EIP712Domain", dom_f, 4 }, { "Person", person_f, 2 },
                                              { "Mail", mail_f, 3 } };
    kg_chain_eth_eip712_types types = { st, 3 };
    kg_chain_eth_eip712_value dom_items[4] = { str_v("Ether Mail"), str_v("1"), { .kind = KG_CHAIN_ETH_EIP712_WORD },
                                               addr_v("0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC") };
    kg_chain_eth_u256_from_u64(dom_items[2].word, 1);
    kg_chain_eth_eip712_value from_items[2] = { str_v("Cow"), addr_v("0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826") };
    kg_chain_eth_eip712_value to_items[2] = { str_v("Bob"), addr_v("0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB") };
    kg_chain_eth_eip712_value mail_items[3] = {
        { .kind = KG_CHAIN_ETH_EIP712_STRUCT, .items = from_items, .n_items = 2 },
        { .kind = KG_CHAIN_ETH_EIP712_STRUCT, .items = to_items, .n_items = 2 }, str_v("Hello, Bob!") };
    kg_chain_eth_eip712_value dom = { .kind = KG_CHAIN_ETH_EIP712_STRUCT, .items = dom_items, .n_items = 4 };
    kg_chain_eth_eip712_value mail = { .kind = KG_CHAIN_ETH_EIP712_STRUCT, .items = mail_items, .n_items = 3 };

    uint8_t th[32], ds[32], digest[32], ref[32];
    const char *enc = "Mail(Person from,Person to,string contents)Person(string name,address wallet)";
    kg_crypto_keccak256(ref, (const uint8_t *)enc, strlen(enc));
    assert_int_equal(kg_chain_eth_eip712_type_hash(th, &types, "Mail"), KG_OK);
    assert_memory_equal(th, ref, 32);
    assert_int_equal(kg_chain_eth_eip712_hash(digest, ds, &types, &dom, "Mail", &mail), KG_OK);
    te_assert_hex(ds, 32, MAIL_DOMAIN_SEP);
    te_assert_hex(digest, 32, MAIL_DIGEST);
    check_mail_signature(digest);

    /* value/type mismatches */
    kg_chain_eth_eip712_value bad = dom_items[3];
    bad.word[0] = 1; /* address with high bits set */
    dom_items[3] = bad;
    assert_int_equal(kg_chain_eth_eip712_hash(digest, ds, &types, &dom, "Mail", &mail), KG_ERR_BAD_INPUT);
    for (int b = 0; b < 32; b++)
        assert_int_equal(digest[b], 0);
    dom_items[3] = addr_v("0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC");
    mail.n_items = 2;
    assert_int_equal(kg_chain_eth_eip712_hash(digest, ds, &types, &dom, "Mail", &mail), KG_ERR_BAD_INPUT);
    mail.n_items = 3;
    assert_int_equal(kg_chain_eth_eip712_hash(digest, ds, &types, &dom, "Nope", &mail), KG_ERR_BAD_INPUT);
    printf("[ EIP-712 Mail (C tree) ] domain separator, digest and signature match the EIP\n");
}

static kg_err json_hash(uint8_t digest[32], uint8_t ds[32], const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    if (j == NULL)
        fail_msg("test JSON does not parse: %s", je.text);
    kg_err e = kg_chain_eth_eip712_json_hash(digest, ds, j);
    json_decref(j);
    return e;
}

/* Replace the first occurrence of from by to in mail_json. */
static char *mail_variant(const char *from, const char *to)
{
    const char *p = strstr(mail_json, from);
    assert_non_null(p);
    size_t n = strlen(mail_json) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);
    assert_non_null(out);
    snprintf(out, n, "%.*s%s%s", (int)(p - mail_json), mail_json, to, p + strlen(from));
    return out;
}

static void test_eip712_mail_json(void **state)
{
    (void)state;
    uint8_t ds[32], digest[32];
    assert_int_equal(json_hash(digest, ds, mail_json), KG_OK);
    te_assert_hex(ds, 32, MAIL_DOMAIN_SEP);
    te_assert_hex(digest, 32, MAIL_DIGEST);
    check_mail_signature(digest);

    /* chainId as a decimal or hex string hashes the same */
    char *v = mail_variant("\"chainId\":1", "\"chainId\":\"0x1\"");
    assert_int_equal(json_hash(digest, ds, v), KG_OK);
    te_assert_hex(digest, 32, MAIL_DIGEST);
    free(v);

    static const struct { const char *from, *to, *detail; } bad[] = {
        { "\"primaryType\":\"Mail\"", "\"primaryType\":\"Letter\"", "primaryType" },
        { "\"contents\":\"Hello, Bob!\"", "\"contents\":\"Hello, Bob!\",\"extra\":1", "not a member" },
        { "\"contents\":\"Hello, Bob!\"", "\"contentz\":\"Hello, Bob!\"", "not a member" },
        { "\"wallet\":\"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826\"",
          "\"wallet\":\"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD827\"", "message.from.wallet" },
        { "\"chainId\":1", "\"chainId\":\"-1\"", "uint256" },
        { "\"chainId\":1", "\"chainId\":true", "domain.chainId" },
        { "\"type\":\"uint256\"", "\"type\":\"uint257\"", "uint257" },
        { "\"type\":\"address\"}],\"Person\"", "\"type\":\"Address\"}],\"Person\"", "Address" },
        { "\"EIP712Domain\"", "\"Domain\"", "EIP712Domain" },
        { "\"name\":\"Cow\",", "", "missing" },
        { "\"contents\":\"Hello, Bob!\"", "\"contents\":[1]", "message.contents" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *t = mail_variant(bad[i].from, bad[i].to);
        if (json_hash(digest, ds, t) != KG_ERR_BAD_INPUT)
            fail_msg("case %zu accepted: %s -> %s", i, bad[i].from, bad[i].to);
        const char *d = kg_err_detail(KG_ERR_BAD_INPUT);
        if (strstr(d, bad[i].detail) == NULL)
            fail_msg("case %zu: detail '%s' does not mention '%s'", i, d, bad[i].detail);
        free(t);
    }
    assert_int_equal(kg_chain_eth_eip712_json_hash(digest, ds, NULL), KG_ERR_BAD_INPUT);
    printf("[ EIP-712 Mail (JSON) ] digest matches; %zu malformed documents rejected\n", sizeof bad / sizeof bad[0]);
}

/* Arrays, nested arrays, bytes, intN and bool, cross-checked against the
 * encoding rules by hand. */
static void test_eip712_arrays(void **state)
{
    (void)state;
    const char *doc =
        "{\"types\":{\"EIP712Domain\":[{\"name\":\"name\",\"type\":\"string\"}],"
        "\"T\":[{\"name\":\"a\",\"type\":\"uint8[2]\"},{\"name\":\"b\",\"type\":\"bytes\"},"
        "{\"name\":\"c\",\"type\":\"int16\"},{\"name\":\"d\",\"type\":\"bool\"},{\"name\":\"e\",\"type\":\"bytes2[][1]\"}]},"
        "\"primaryType\":\"T\",\"domain\":{\"name\":\"x\"},"
        "\"message\":{\"a\":[1,2],\"b\":\"0xdead\",\"c\":-2,\"d\":true,\"e\":[[\"0xabcd\"]]}}";
    uint8_t digest[32], ds[32], exp[32], buf[6 * 32], w[64];
    assert_int_equal(json_hash(digest, ds, doc), KG_OK);
    /* by hand */
    const char *enc = "T(uint8[2] a,bytes b,int16 c,bool d,bytes2[][1] e)";
    kg_crypto_keccak256(buf, (const uint8_t *)enc, strlen(enc));
    memset(w, 0, 64);
    w[31] = 1;
    w[63] = 2;
    kg_crypto_keccak256(buf + 32, w, 64);
    kg_crypto_keccak256(buf + 64, (const uint8_t *)"\xde\xad", 2);
    memset(buf + 96, 0xff, 32);
    buf[127] = 0xfe;
    memset(buf + 128, 0, 32);
    buf[159] = 1;
    memset(w, 0, 32);
    w[0] = 0xab;
    w[1] = 0xcd;
    kg_crypto_keccak256(w, w, 32);      /* inner array [0xabcd] */
    kg_crypto_keccak256(buf + 160, w, 32); /* outer array of one */
    uint8_t mh[32], dsh[32], pre[66];
    kg_crypto_keccak256(mh, buf, sizeof buf);
    const char *denc = "EIP712Domain(string name)";
    uint8_t dbuf[64];
    kg_crypto_keccak256(dbuf, (const uint8_t *)denc, strlen(denc));
    kg_crypto_keccak256(dbuf + 32, (const uint8_t *)"x", 1);
    kg_crypto_keccak256(dsh, dbuf, 64);
    pre[0] = 0x19;
    pre[1] = 0x01;
    memcpy(pre + 2, dsh, 32);
    memcpy(pre + 34, mh, 32);
    kg_crypto_keccak256(exp, pre, 66);
    assert_memory_equal(ds, dsh, 32);
    assert_memory_equal(digest, exp, 32);

    /* fixed array of the wrong length, int out of range, wrong bytesN size */
    char *t;
    const char *p;
    static const struct { const char *from, *to; } bad[] = {
        { "[1,2]", "[1,2,3]" }, { "-2", "-40000" }, { "\"0xabcd\"", "\"0xabcdef\"" }, { "[1,2]", "[1,256]" } };
    for (size_t i = 0; i < 4; i++) {
        p = strstr(doc, bad[i].from);
        assert_non_null(p);
        size_t n = strlen(doc) + strlen(bad[i].to) + 1;
        t = malloc(n);
        assert_non_null(t);
        snprintf(t, n, "%.*s%s%s", (int)(p - doc), doc, bad[i].to, p + strlen(bad[i].from));
        assert_int_equal(json_hash(digest, ds, t), KG_ERR_BAD_INPUT);
        free(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keyaddr),        cmocka_unit_test(test_eip55),
        cmocka_unit_test(test_personal_sign),  cmocka_unit_test(test_eip712_mail_tree),
        cmocka_unit_test(test_eip712_mail_json), cmocka_unit_test(test_eip712_arrays),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
