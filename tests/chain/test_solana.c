/* Solana: addresses and a signed System Program transfer.
 *
 * Known answers: the System Program address (32 zero bytes ->
 * "111...1"), the address of RFC 8032 TEST 1's public key; the legacy
 * message read back field by field (header, shortvec counts, keys,
 * blockhash, instruction with u32 LE 2 + u64 LE lamports), the transfer to
 * oneself (keys deduplicated), the wire transaction layout, the signature
 * verified with Ed25519 over the message. Bad input: addresses of the
 * wrong length or alphabet, a signer with another key, short buffers.
 *
 * With KG_SOLANA_DUMP=<path> set, the fixed transfer's fields and bytes
 * are written there for tests/chain/test_solana_interop.sh (@solana/web3.js). */
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

/* RFC 8032 section 7.1 TEST 1 */
static const uint8_t seed1[32] = {
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60 };
static const uint8_t pub1[32] = {
    0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a,
    0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a };

static kg_err e_pub(kg_signer *s, kg_pubkey *out, const kg_key_ref *ref, kg_sig_scheme scheme)
{
    (void)ref;
    assert_int_equal(scheme, KG_SIG_ED25519);
    out->len = 32;
    return kg_crypto_ed25519_pubkey(out->data, s->impl);
}

static kg_err e_sign(kg_signer *s, kg_signature *out, const kg_key_ref *ref, kg_sig_scheme scheme,
                     const uint8_t *msg, size_t msg_len)
{
    (void)ref;
    assert_int_equal(scheme, KG_SIG_ED25519);
    out->len = 64;
    out->recid = -1;
    return kg_crypto_ed25519_sign(out->data, s->impl, msg, msg_len);
}

static const kg_signer_ops e_ops = { e_pub, e_sign, NULL };

static void fixture(kg_chain_sol_transfer *t)
{
    memset(t, 0, sizeof *t);
    memcpy(t->from, pub1, 32);
    for (int i = 0; i < 32; i++) {
        t->to[i] = (uint8_t)(0x40 + i);
        t->recent_blockhash[i] = (uint8_t)(0xa0 ^ (i * 7));
    }
    t->lamports = 1234567890123ull;
}

static void test_address(void **state)
{
    (void)state;
    uint8_t zero[32] = { 0 }, back[32];
    char a[KG_CHAIN_SOL_ADDRESS_MAX_BYTES];
    assert_int_equal(kg_chain_sol_address(a, sizeof a, zero), KG_OK);
    assert_string_equal(a, "11111111111111111111111111111111");
    assert_int_equal(kg_chain_sol_address(a, sizeof a, pub1), KG_OK);
    assert_string_equal(a, "FVen3X669xLzsi6N2V91DoiyzHzg1uAgqiT8jZ9nS96Z");
    assert_int_equal(kg_chain_sol_address_decode(back, a), KG_OK);
    assert_memory_equal(back, pub1, 32);
    assert_int_equal(kg_chain_sol_address_decode(back, "1111"), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_chain_sol_address_decode(back, "FVen3X669xLzsi6N2V91DoiyzHzg1uAgqiT8jZ9nS96O"),
                     KG_ERR_BAD_INPUT); /* 'O' is not Base58 */
    printf("solana address: 2 known answers, round trip, 2 rejections\n");
}

static void expect(const uint8_t **p, const void *want, size_t n)
{
    assert_memory_equal(*p, want, n);
    *p += n;
}

static void test_message(void **state)
{
    (void)state;
    kg_chain_sol_transfer t;
    fixture(&t);
    uint8_t m[256];
    size_t n = 0;
    assert_int_equal(kg_chain_sol_transfer_message(m, sizeof m, &n, &t), KG_OK);
    const uint8_t *p = m, zero[32] = { 0 };
    expect(&p, "\x01\x00\x01", 3);                 /* header: 1 signer, 0 ro signed, 1 ro unsigned */
    expect(&p, "\x03", 1);                         /* 3 account keys */
    expect(&p, t.from, 32);
    expect(&p, t.to, 32);
    expect(&p, zero, 32);                          /* System Program */
    expect(&p, t.recent_blockhash, 32);
    expect(&p, "\x01", 1);                         /* 1 instruction */
    expect(&p, "\x02", 1);                         /* program id index */
    expect(&p, "\x02\x00\x01", 3);                 /* accounts [from, to] */
    expect(&p, "\x0c\x02\x00\x00\x00", 5);         /* 12 data bytes: Transfer (u32 LE 2) */
    expect(&p, "\xcb\x04\xfb\x71\x1f\x01\x00\x00", 8); /* 1234567890123 LE */
    assert_int_equal((size_t)(p - m), n);
    assert_int_equal(n, 150);
    /* to oneself: the key appears once */
    memcpy(t.to, t.from, 32);
    assert_int_equal(kg_chain_sol_transfer_message(m, sizeof m, &n, &t), KG_OK);
    assert_int_equal(n, 118);
    assert_int_equal(m[3], 2);
    assert_memory_equal(m + 4 + 64 + 32, "\x01\x01\x02\x00\x00\x0c", 6);
    assert_int_equal(kg_chain_sol_transfer_message(m, 20, &n, &t), KG_ERR_BAD_INPUT);
    printf("solana message: every field checked; self-transfer deduplicated\n");
}

static void dump(FILE *f, const char *name, const uint8_t *b, size_t n)
{
    char *h = malloc(2 * n + 1);
    kg_hex_encode(h, b, n);
    fprintf(f, "%s %s\n", name, h);
    free(h);
}

static void test_sign(void **state)
{
    (void)state;
    kg_chain_sol_transfer t;
    fixture(&t);
    kg_signer s = { &e_ops, (void *)seed1 };
    kg_key_ref ref = { .key = "sol" };
    uint8_t tx[KG_CHAIN_SOL_TX_MAX_BYTES], sig[64], msg[256];
    size_t n = 0, ml = 0;
    kg_err e = kg_chain_sol_transfer_sign(tx, sizeof tx, &n, sig, &s, &ref, &t);
    if (e != KG_OK)
        fail_msg("sign: %s", kg_err_detail(e));
    assert_int_equal(kg_chain_sol_transfer_message(msg, sizeof msg, &ml, &t), KG_OK);
    assert_int_equal(n, 1 + 64 + ml);
    assert_int_equal(tx[0], 1);
    assert_memory_equal(tx + 1, sig, 64);
    assert_memory_equal(tx + 65, msg, ml);
    assert_int_equal(kg_crypto_ed25519_verify(sig, pub1, msg, ml), KG_OK);
    char b58[KG_CHAIN_SOL_TX_B58_MAX_BYTES];
    assert_int_equal(kg_chain_sol_tx_base58(b58, sizeof b58, tx, n), KG_OK);
    char *b64 = malloc(kg_b64_encoded_len(n));
    kg_b64_encode(b64, tx, n);
    printf("solana transfer: %zu-byte tx, signature verified (base58 %zu, base64 %zu chars)\n", n, strlen(b58),
           strlen(b64));
    const char *path = getenv("KG_SOLANA_DUMP");
    if (path != NULL && path[0] != 0) {
        char a[KG_CHAIN_SOL_ADDRESS_MAX_BYTES];
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        dump(f, "seed", seed1, 32);
        assert_int_equal(kg_chain_sol_address(a, sizeof a, t.from), KG_OK);
        fprintf(f, "from %s\n", a);
        assert_int_equal(kg_chain_sol_address(a, sizeof a, t.to), KG_OK);
        fprintf(f, "to %s\n", a);
        assert_int_equal(kg_chain_sol_address(a, sizeof a, t.recent_blockhash), KG_OK);
        fprintf(f, "blockhash %s\nlamports %llu\n", a, (unsigned long long)t.lamports);
        dump(f, "message", msg, ml);
        dump(f, "signature", sig, 64);
        dump(f, "tx", tx, n);
        fprintf(f, "tx_b58 %s\ntx_b64 %s\n", b58, b64);
        fclose(f);
    }
    free(b64);
    /* a signer whose key is not 'from' is refused; the output is zeroed */
    t.from[0] ^= 1;
    assert_int_equal(kg_chain_sol_transfer_sign(tx, sizeof tx, &n, sig, &s, &ref, &t), KG_ERR_BAD_INPUT);
    assert_int_equal(n, 0);
    t.from[0] ^= 1;
    assert_int_equal(kg_chain_sol_transfer_sign(tx, 100, &n, NULL, &s, &ref, &t), KG_ERR_BAD_INPUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address),
        cmocka_unit_test(test_message),
        cmocka_unit_test(test_sign),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
