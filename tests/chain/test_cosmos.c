/* Cosmos SDK: addresses and a signed bank MsgSend (SIGN_MODE_DIRECT).
 *
 * Known answers: the address of the generator point's key (HASH160
 * 751e76e8...3bd6, the key of BIP173's example address) under two
 * prefixes; the TxBody, AuthInfo, SignDoc and TxRaw are read back with a
 * protobuf reader written here (independent of the encoder) and checked
 * field by field against the proto definitions; the signature verifies
 * over SHA256(SignDoc) and is low-S. Bad input: invalid addresses, coins,
 * keys, a signer with another key, short buffers.
 *
 * With KG_COSMOS_DUMP=<path> set, the fixed transaction's address, public
 * key, body, auth info, SignDoc, signature and TxRaw are written there as
 * "name hex" lines for tests/chain/test_cosmos_interop.sh (@cosmjs). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <kashguard/crypto.h>
#include <kashguard/chain.h>

/* ------------------------------------------------ a test-side pb reader */

typedef struct {
    const uint8_t *p;
    size_t len, pos;
} pbr;

static uint64_t rd_varint(pbr *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        assert_true(r->pos < r->len);
        uint8_t b = r->p[r->pos++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    fail_msg("varint too long");
    return 0;
}

/* Next field: its number; *sub gets a length-delimited value, *v a varint. */
static unsigned rd_field(pbr *r, pbr *sub, uint64_t *v)
{
    uint64_t key = rd_varint(r);
    unsigned wt = (unsigned)(key & 7);
    if (wt == 0) {
        *v = rd_varint(r);
    } else {
        assert_int_equal(wt, 2);
        uint64_t n = rd_varint(r);
        assert_true(n <= r->len - r->pos);
        *sub = (pbr){ r->p + r->pos, (size_t)n, 0 };
        r->pos += (size_t)n;
    }
    return (unsigned)(key >> 3);
}

static void expect_str(pbr *r, unsigned field, const char *s)
{
    pbr sub;
    uint64_t v = 0;
    assert_int_equal(rd_field(r, &sub, &v), field);
    assert_int_equal(sub.len, strlen(s));
    assert_memory_equal(sub.p, s, sub.len);
}

static pbr expect_sub(pbr *r, unsigned field)
{
    pbr sub = { 0 };
    uint64_t v = 0;
    assert_int_equal(rd_field(r, &sub, &v), field);
    return sub;
}

static void expect_uint(pbr *r, unsigned field, uint64_t want)
{
    pbr sub;
    uint64_t v = 0;
    assert_int_equal(rd_field(r, &sub, &v), field);
    assert_true(v == want);
}

static void expect_coin(pbr *r, unsigned field, const char *denom, const char *amount)
{
    pbr c = expect_sub(r, field);
    expect_str(&c, 1, denom);
    expect_str(&c, 2, amount);
    assert_int_equal(c.pos, c.len);
}

/* ------------------------------------------------------- a test signer */

typedef struct {
    uint8_t key[32];
} ksigner;

static kg_err k_pub(kg_signer *s, kg_pubkey *out, const kg_key_ref *ref, kg_sig_scheme scheme)
{
    (void)ref;
    assert_int_equal(scheme, KG_SIG_ECDSA_SECP256K1);
    out->len = 33;
    return kg_crypto_k1_pubkey(out->data, 33, ((ksigner *)s->impl)->key);
}

static kg_err k_sign(kg_signer *s, kg_signature *out, const kg_key_ref *ref, kg_sig_scheme scheme,
                     const uint8_t *msg, size_t msg_len)
{
    (void)ref;
    assert_int_equal(scheme, KG_SIG_ECDSA_SECP256K1);
    assert_int_equal(msg_len, 32);
    out->len = 64;
    return kg_crypto_k1_sign_recoverable(out->data, &out->recid, ((ksigner *)s->impl)->key, msg);
}

static const kg_signer_ops k_ops = { k_pub, k_sign, NULL };

/* ------------------------------------------------------ the fixed tx */

typedef struct {
    ksigner ks;
    kg_signer signer;
    char from[KG_CHAIN_COSMOS_ADDRESS_MAX_BYTES], to[KG_CHAIN_COSMOS_ADDRESS_MAX_BYTES];
    kg_chain_cosmos_coin amount[1], fee[1];
    kg_chain_cosmos_msg_send msg;
    kg_chain_cosmos_tx tx;
} fixture;

static void fixture_init(fixture *f)
{
    uint8_t k2[32], pub2[33];
    memset(f, 0, sizeof *f);
    memset(f->ks.key, 0x01, 32);
    memset(k2, 0x02, 32);
    f->signer = (kg_signer){ &k_ops, &f->ks };
    assert_int_equal(kg_crypto_k1_pubkey(f->tx.pubkey, 33, f->ks.key), KG_OK);
    assert_int_equal(kg_crypto_k1_pubkey(pub2, 33, k2), KG_OK);
    assert_int_equal(kg_chain_cosmos_address(f->from, sizeof f->from, "cosmos", f->tx.pubkey), KG_OK);
    assert_int_equal(kg_chain_cosmos_address(f->to, sizeof f->to, "cosmos", pub2), KG_OK);
    f->amount[0] = (kg_chain_cosmos_coin){ "uatom", "1234567" };
    f->fee[0] = (kg_chain_cosmos_coin){ "uatom", "5000" };
    f->msg = (kg_chain_cosmos_msg_send){ f->from, f->to, f->amount, 1 };
    f->tx.msgs = &f->msg;
    f->tx.msg_count = 1;
    f->tx.memo = "kashguard test";
    f->tx.timeout_height = 12345678;
    f->tx.sequence = 7;
    f->tx.fee = f->fee;
    f->tx.fee_count = 1;
    f->tx.gas_limit = 200000;
    f->tx.chain_id = "cosmoshub-4";
    f->tx.account_number = 42;
}

/* ---------------------------------------------------------------- tests */

static void test_address(void **state)
{
    (void)state;
    uint8_t one[32] = { 0 }, pub[33], h[20];
    one[31] = 1;
    char a[KG_CHAIN_COSMOS_ADDRESS_MAX_BYTES];
    assert_int_equal(kg_crypto_k1_pubkey(pub, 33, one), KG_OK);
    assert_int_equal(kg_chain_cosmos_address(a, sizeof a, "cosmos", pub), KG_OK);
    /* HASH160(G) = 751e76e8199196d454941c45d1b3a323f1433bd6 in Bech32 (BIP173) */
    assert_string_equal(a, "cosmos1w508d6qejxtdg4y5r3zarvary0c5xw7k6ah60c");
    assert_int_equal(kg_chain_cosmos_address_check(h, a, "cosmos"), KG_OK);
    assert_memory_equal(h, "\x75\x1e\x76\xe8\x19\x91\x96\xd4\x54\x94\x1c\x45\xd1\xb3\xa3\x23\xf1\x43\x3b\xd6", 20);
    assert_int_equal(kg_chain_cosmos_address(a, sizeof a, "osmo", pub), KG_OK);
    assert_string_equal(a, "osmo1w508d6qejxtdg4y5r3zarvary0c5xw7kjxy2e2");
    assert_int_equal(kg_chain_cosmos_address_check(NULL, a, "cosmos"), KG_ERR_BAD_INPUT);
    /* bad key, bad checksum, a 32-byte (module/ICA style) program is not an account */
    pub[0] = 0x05;
    assert_int_equal(kg_chain_cosmos_address(a, sizeof a, "cosmos", pub), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_chain_cosmos_address_check(NULL, "cosmos1w508d6qejxtdg4y5r3zarvary0c5xw7k6ah60d", NULL),
                     KG_ERR_BAD_INPUT);
    printf("cosmos address: 2 known answers (cosmos, osmo), 3 rejections\n");
}

static void check_body(const uint8_t *b, size_t n, const fixture *f)
{
    pbr r = { b, n, 0 };
    pbr any = expect_sub(&r, 1);                       /* TxBody.messages */
    expect_str(&any, 1, "/cosmos.bank.v1beta1.MsgSend"); /* Any.type_url */
    pbr ms = expect_sub(&any, 2);                      /* Any.value */
    assert_int_equal(any.pos, any.len);
    expect_str(&ms, 1, f->from);
    expect_str(&ms, 2, f->to);
    expect_coin(&ms, 3, "uatom", "1234567");
    assert_int_equal(ms.pos, ms.len);
    expect_str(&r, 2, "kashguard test");                /* memo */
    expect_uint(&r, 3, 12345678);                       /* timeout_height */
    assert_int_equal(r.pos, r.len);
}

static void check_auth_info(const uint8_t *b, size_t n, const fixture *f)
{
    pbr r = { b, n, 0 };
    pbr si = expect_sub(&r, 1);                        /* signer_infos */
    pbr pk = expect_sub(&si, 1);                       /* public_key Any */
    expect_str(&pk, 1, "/cosmos.crypto.secp256k1.PubKey");
    pbr key = expect_sub(&pk, 2);
    pbr raw = expect_sub(&key, 1);                     /* PubKey.key */
    assert_int_equal(raw.len, 33);
    assert_memory_equal(raw.p, f->tx.pubkey, 33);
    pbr mi = expect_sub(&si, 2);                       /* mode_info */
    pbr single = expect_sub(&mi, 1);
    expect_uint(&single, 1, 1);                        /* SIGN_MODE_DIRECT */
    expect_uint(&si, 3, 7);                            /* sequence */
    assert_int_equal(si.pos, si.len);
    pbr fee = expect_sub(&r, 2);
    expect_coin(&fee, 1, "uatom", "5000");
    expect_uint(&fee, 2, 200000);
    assert_int_equal(fee.pos, fee.len);
    assert_int_equal(r.pos, r.len);
}

static void dump(const char *path, const char *name, const uint8_t *b, size_t n)
{
    FILE *fp = fopen(path, "a");
    assert_non_null(fp);
    char *h = malloc(2 * n + 1);
    kg_hex_encode(h, b, n);
    fprintf(fp, "%s %s\n", name, h);
    free(h);
    fclose(fp);
}

static void test_sign(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    uint8_t body[512], auth[512], doc[1024], raw[1024], sig[64], digest[32];
    size_t bl = 0, al = 0, dl = 0, rl = 0, dl2 = 0;
    kg_key_ref ref = { .key = "k" };
    assert_int_equal(kg_chain_cosmos_body_encode(body, sizeof body, &bl, &f.tx), KG_OK);
    assert_int_equal(kg_chain_cosmos_auth_info_encode(auth, sizeof auth, &al, &f.tx), KG_OK);
    check_body(body, bl, &f);
    check_auth_info(auth, al, &f);
    kg_err e = kg_chain_cosmos_tx_sign(raw, sizeof raw, &rl, sig, doc, sizeof doc, &dl, &f.signer, &ref, &f.tx);
    if (e != KG_OK)
        fail_msg("sign: %s", kg_err_detail(e));
    /* SignDoc: body_bytes, auth_info_bytes, chain_id, account_number */
    pbr d = { doc, dl, 0 };
    pbr x = expect_sub(&d, 1);
    assert_int_equal(x.len, bl);
    assert_memory_equal(x.p, body, bl);
    x = expect_sub(&d, 2);
    assert_int_equal(x.len, al);
    assert_memory_equal(x.p, auth, al);
    expect_str(&d, 3, "cosmoshub-4");
    expect_uint(&d, 4, 42);
    assert_int_equal(d.pos, d.len);
    uint8_t doc2[1024];
    assert_int_equal(kg_chain_cosmos_sign_doc_encode(doc2, sizeof doc2, &dl2, body, bl, auth, al, "cosmoshub-4", 42),
                     KG_OK);
    assert_int_equal(dl2, dl);
    assert_memory_equal(doc2, doc, dl);
    /* TxRaw: body_bytes, auth_info_bytes, signatures */
    pbr t = { raw, rl, 0 };
    x = expect_sub(&t, 1);
    assert_memory_equal(x.p, body, bl);
    x = expect_sub(&t, 2);
    assert_memory_equal(x.p, auth, al);
    x = expect_sub(&t, 3);
    assert_int_equal(x.len, 64);
    assert_memory_equal(x.p, sig, 64);
    assert_int_equal(t.pos, t.len);
    uint8_t raw2[1024];
    size_t rl2 = 0;
    assert_int_equal(kg_chain_cosmos_tx_raw_encode(raw2, sizeof raw2, &rl2, body, bl, auth, al, sig), KG_OK);
    assert_int_equal(rl2, rl);
    assert_memory_equal(raw2, raw, rl);
    /* the signature: SHA256(SignDoc), low-S (kg_crypto_k1_verify requires it) */
    kg_crypto_sha256(digest, doc, dl);
    assert_int_equal(kg_crypto_k1_verify(f.tx.pubkey, 33, sig, digest), KG_OK);
    assert_true(sig[32] < 0x80);
    char *b64 = malloc(kg_b64_encoded_len(rl));
    kg_b64_encode(b64, raw, rl);
    printf("cosmos MsgSend: body %zu, auth_info %zu, sign_doc %zu, tx_raw %zu bytes (base64 %zu chars); "
           "fields checked, signature verified\n", bl, al, dl, rl, strlen(b64));
    const char *path = getenv("KG_COSMOS_DUMP");
    if (path != NULL && path[0] != 0) {
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fprintf(fp, "from %s\nto %s\n", f.from, f.to);
        fclose(fp);
        dump(path, "pubkey", f.tx.pubkey, 33);
        dump(path, "body", body, bl);
        dump(path, "auth_info", auth, al);
        dump(path, "sign_doc", doc, dl);
        dump(path, "signature", sig, 64);
        dump(path, "tx_raw", raw, rl);
        fp = fopen(path, "a");
        fprintf(fp, "tx_raw_b64 %s\n", b64);
        fclose(fp);
    }
    free(b64);
}

static void test_defaults_omitted(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    f.tx.memo = NULL;
    f.tx.timeout_height = 0;
    f.tx.sequence = 0;
    f.tx.fee_count = 0;
    uint8_t body[512], auth[512];
    size_t bl = 0, al = 0;
    assert_int_equal(kg_chain_cosmos_body_encode(body, sizeof body, &bl, &f.tx), KG_OK);
    assert_int_equal(kg_chain_cosmos_auth_info_encode(auth, sizeof auth, &al, &f.tx), KG_OK);
    pbr r = { body, bl, 0 };
    (void)expect_sub(&r, 1);
    assert_int_equal(r.pos, r.len); /* no memo, no timeout_height */
    pbr a = { auth, al, 0 };
    pbr si = expect_sub(&a, 1);
    (void)expect_sub(&si, 1);
    (void)expect_sub(&si, 2);
    assert_int_equal(si.pos, si.len); /* sequence 0 omitted */
    pbr fee = expect_sub(&a, 2);
    expect_uint(&fee, 2, 200000);     /* no coins */
    assert_int_equal(fee.pos, fee.len);
}

static void test_bad_input(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    uint8_t buf[1024];
    size_t n = 0;
    kg_key_ref ref = { .key = "k" };
    static const char *bad_amounts[] = { "", "-1", "01", "1.5", "12a", NULL };
    for (size_t i = 0; bad_amounts[i] != NULL; i++) {
        f.amount[0].amount = bad_amounts[i];
        assert_int_equal(kg_chain_cosmos_body_encode(buf, sizeof buf, &n, &f.tx), KG_ERR_BAD_INPUT);
    }
    f.amount[0].amount = "1";
    static const char *bad_denoms[] = { "", "ua", "1atom", "u atom", NULL };
    for (size_t i = 0; bad_denoms[i] != NULL; i++) {
        f.amount[0].denom = bad_denoms[i];
        assert_int_equal(kg_chain_cosmos_body_encode(buf, sizeof buf, &n, &f.tx), KG_ERR_BAD_INPUT);
    }
    f.amount[0].denom = "ibc/27394FB092D2ECCD56123C74F36E4C1F926001CEADA9CA97EA622B25F41E5EB2";
    assert_int_equal(kg_chain_cosmos_body_encode(buf, sizeof buf, &n, &f.tx), KG_OK);
    assert_int_equal(kg_chain_cosmos_body_encode(buf, 10, &n, &f.tx), KG_ERR_BAD_INPUT);
    f.msg.to_address = "cosmos1notanaddress";
    assert_int_equal(kg_chain_cosmos_body_encode(buf, sizeof buf, &n, &f.tx), KG_ERR_BAD_INPUT);
    f.msg.to_address = f.to;
    f.tx.chain_id = "";
    assert_int_equal(kg_chain_cosmos_tx_sign(buf, sizeof buf, &n, NULL, NULL, 0, NULL, &f.signer, &ref, &f.tx),
                     KG_ERR_BAD_INPUT);
    f.tx.chain_id = "cosmoshub-4";
    f.tx.pubkey[5] ^= 1; /* the signer's key is not the tx's key (or not a point) */
    assert_int_equal(kg_chain_cosmos_tx_sign(buf, sizeof buf, &n, NULL, NULL, 0, NULL, &f.signer, &ref, &f.tx),
                     KG_ERR_BAD_INPUT);
    assert_int_equal(n, 0);
    f.tx.pubkey[5] ^= 1;
    assert_int_equal(kg_chain_cosmos_tx_sign(buf, 50, &n, NULL, NULL, 0, NULL, &f.signer, &ref, &f.tx),
                     KG_ERR_BAD_INPUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address),
        cmocka_unit_test(test_sign),
        cmocka_unit_test(test_defaults_omitted),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
