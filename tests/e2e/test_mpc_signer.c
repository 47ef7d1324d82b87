/* The networked MPC signer across processes: three real `kashguard mpc-node`
 * processes on free loopback ports, a coordinator in this process.
 *
 *  - frost-secp256k1-tr (BIP 445): DKG, then BIP340 signatures over the
 *    network, plain and BIP341-tweaked (BIP86 and with a merkle root), each
 *    checked with libsecp256k1's secp256k1_schnorrsig_verify against a key
 *    tweaked independently here (secp256k1_xonly_pubkey_tweak_add);
 *  - wallet use through kg_mpc_coordinator_signer_new: a P2TR key-path PSBT
 *    signed by the FROST group, finalized and extracted by the chain layer,
 *    its witness checked with libsecp256k1 against the BIP341 sighash, and
 *    (when node and tests/btc/node_modules are there) verified and
 *    finalized by @scure/btc-signer; a Solana transfer signed by a
 *    frost-ed25519 group, checked with libsodium;
 *  - refusals (wrong scheme/key pairs, paths, digest size) and signing on
 *    with one node killed. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>
#include <sodium.h>

#include "kashguard/chain/bitcoin.h"
#include "kashguard/chain/psbt.h"
#include "kashguard/chain/solana.h"
#include "kashguard/crypto.h"
#include "kashguard/mpc/node.h"
#include "kashguard/signer.h"

#include "../mpc/mpc_nodes.h"
#include "../mpc/bip340_check.h"

#define N 3
static mpc_nodes M; /* the nodes, their CA and the coordinator M.co */
static kg_mpc_key ktr, ked; /* frost-secp256k1-tr and frost-ed25519, 2-of-3 */
static secp256k1_context *ctx;

static int teardown(void **state)
{
    (void)state;
    mpc_nodes_free(&M);
    if (ctx) secp256k1_context_destroy(ctx);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    if (kg_crypto_init() != KG_OK || sodium_init() < 0) return -1;
    ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (mpc_nodes_init(&M, "kg-mpc-signer", N, true) != 0) return -1;
    uint16_t ids[N] = {1, 2, 3};
    kg_err e = kg_mpc_coordinator_keygen(M.co, &ktr, KG_MPC_GROUP_SECP256K1, true, 2, ids, N);
    if (e == KG_OK) e = kg_mpc_coordinator_keygen(M.co, &ked, KG_MPC_GROUP_ED25519, false, 2, ids, N);
    if (e != KG_OK) fprintf(stderr, "keygen: %s\n", kg_err_detail(e));
    return e == KG_OK ? 0 : -1;
}

/* ------------------------------------------------ independent checks */

static void tr_sign(uint8_t sig[64], const uint8_t *msg, size_t len, const kg_mpc_sign_opts *o)
{
    uint8_t s[KG_MPC_FROST_SIG_MAX_BYTES];
    size_t sl = 0;
    kg_err e = kg_mpc_coordinator_sign(M.co, s, &sl, &ktr, msg, len, o);
    if (e != KG_OK) fail_msg("BIP 445 sign: %s", kg_err_detail(e));
    assert_int_equal(sl, 64);
    memcpy(sig, s, 64);
}

/* ------------------------------------------------------------ tests */

static void test_taproot_sign(void **state)
{
    (void)state;
    uint8_t pub[KG_MPC_POINT_MAX_BYTES], x[32], out[32], msg[32], sig[64], mr[32];
    size_t pl = 0;
    assert_true(ktr.taproot);
    assert_int_equal(kg_mpc_key_public(pub, &pl, &ktr), KG_OK);
    assert_int_equal(pl, 32);
    memcpy(x, pub, 32);
    kg_crypto_sha256(msg, (const uint8_t *)"pay 1 BTC to bob", 16);
    tr_sign(sig, msg, sizeof msg, NULL);
    assert_true(bip340_verify(ctx, sig, msg, sizeof msg, x));
    msg[0] ^= 1;
    assert_false(bip340_verify(ctx, sig, msg, sizeof msg, x));
    /* BIP86: the key-path-only output key */
    kg_mpc_sign_opts o = {.taproot_tweak = true};
    tr_sign(sig, msg, sizeof msg, &o);
    bip340_output_key(ctx, out, x, NULL);
    assert_true(bip340_verify(ctx, sig, msg, sizeof msg, out));
    assert_false(bip340_verify(ctx, sig, msg, sizeof msg, x));
    /* with a script tree */
    memset(mr, 0x5a, sizeof mr);
    o.has_merkle_root = true;
    memcpy(o.merkle_root, mr, 32);
    tr_sign(sig, msg, sizeof msg, &o);
    bip340_output_key(ctx, out, x, mr);
    assert_true(bip340_verify(ctx, sig, msg, sizeof msg, out));
    /* BIP340 of a message that is not 32 bytes */
    tr_sign(sig, (const uint8_t *)"hello", 5, NULL);
    assert_true(bip340_verify(ctx, sig, (const uint8_t *)"hello", 5, x));
    /* a taproot tweak on a non-taproot key is refused */
    uint8_t s[KG_MPC_FROST_SIG_MAX_BYTES];
    size_t sl = 1;
    assert_int_equal(kg_mpc_coordinator_sign(M.co, s, &sl, &ked, msg, 32, &o), KG_ERR_BAD_INPUT);
    assert_int_equal(sl, 0);
}

static void test_signer_p2tr_psbt(void **state)
{
    (void)state;
    kg_signer *sg = NULL;
    assert_int_equal(kg_mpc_coordinator_signer_new(&sg, M.co, &ktr), KG_OK);
    uint8_t x[32], out[32], fp[4] = {0xf0, 0x57, 0x00, 0x01};
    kg_key_ref ref = {.key = ktr.key_id};
    kg_pubkey pk;
    assert_int_equal(kg_signer_public_key(sg, &pk, &ref, KG_SIG_BIP340), KG_OK);
    assert_int_equal(pk.len, 32);
    memcpy(x, pk.data, 32);
    ref.taproot = true;
    assert_int_equal(kg_signer_public_key(sg, &pk, &ref, KG_SIG_BIP340), KG_OK);
    bip340_output_key(ctx, out, x, NULL);
    assert_memory_equal(pk.data, out, 32);

    kg_chain_btc_spk spk;
    assert_int_equal(kg_chain_btc_spk_for_key(&spk, KG_CHAIN_BTC_P2TR, x, 32, NULL), KG_OK);
    assert_memory_equal(spk.data + 2, out, 32);
    kg_chain_psbt_in in = {.vout = 1, .sequence = 0xfffffffdu};
    memset(in.txid, 0x42, 32);
    kg_chain_psbt_out po = {90000, spk.data, spk.len};
    kg_chain_psbt p;
    assert_int_equal(kg_chain_psbt_alloc(&p, 1 << 16), KG_OK);
    assert_int_equal(kg_chain_psbt_create_v2(&p, 2, 0, &in, 1, &po, 1), KG_OK);
    assert_int_equal(kg_chain_psbt_set_witness_utxo(&p, 0, 100000, spk.data, spk.len), KG_OK);
    assert_int_equal(kg_chain_psbt_set_tap_internal_key(&p, false, 0, x), KG_OK);
    assert_int_equal(kg_chain_psbt_add_tap_bip32(&p, false, 0, x, fp, NULL, 0), KG_OK);
    assert_int_equal(kg_chain_psbt_convert(&p, 0), KG_OK);
    size_t n = 0;
    kg_err e = kg_chain_psbt_sign(&p, &n, sg, ktr.key_id, fp);
    if (e != KG_OK) fail_msg("psbt sign: %s", kg_err_detail(e));
    assert_int_equal(n, 1);
    char *b64 = NULL;
    assert_int_equal(kg_chain_psbt_to_base64(&b64, &p), KG_OK);
    assert_int_equal(kg_chain_psbt_finalize(&p), KG_OK);
    uint8_t raw[1024], digest[32];
    size_t rl = 0;
    assert_int_equal(kg_chain_psbt_extract(raw, sizeof raw, &rl, &p), KG_OK);

    /* the witness is a BIP340 signature of the BIP341 sighash under the output key */
    kg_chain_btc_tx tx;
    assert_int_equal(kg_chain_btc_tx_alloc(&tx, 1, 1, 4, 0), KG_OK);
    assert_int_equal(kg_chain_btc_tx_parse(&tx, raw, rl), KG_OK);
    assert_int_equal(tx.inputs[0].witness_count, 1);
    assert_int_equal(tx.inputs[0].witness[0].len, 64);
    kg_chain_btc_txout spent = {100000, {spk.data, spk.len}};
    assert_int_equal(kg_chain_btc_sighash_taproot(digest, &tx, 0, &spent, 1, 0), KG_OK);
    assert_true(bip340_verify(ctx, tx.inputs[0].witness[0].data, digest, 32, out));
    assert_false(bip340_verify(ctx, tx.inputs[0].witness[0].data, digest, 32, x));
    kg_chain_btc_tx_free(&tx);
    kg_chain_psbt_free(&p);

    /* @scure/btc-signer: its own BIP341 sighash, noble's verifier, finalize */
    char cmd[8192], line[4096] = "";
    snprintf(cmd, sizeof cmd, "%s/tests/btc/node_modules/@scure/btc-signer", KG_SOURCE_DIR);
    if (access(cmd, R_OK) != 0 || system("node --version >/dev/null 2>&1") != 0) {
        printf("skip scure check: node or tests/btc/node_modules is missing (npm ci in tests/btc)\n");
    } else {
        snprintf(cmd, sizeof cmd, "node %s/tests/btc/btc.mjs finalize '%s' 2>&1", KG_SOURCE_DIR, b64);
        FILE *f = popen(cmd, "r");
        assert_non_null(f);
        size_t got = fread(line, 1, sizeof line - 1, f);
        line[got] = '\0';
        int st = pclose(f);
        if (st != 0) fail_msg("scure rejects the FROST-signed PSBT: %s", line);
        assert_non_null(strstr(line, "\"verified\":[\"p2tr\"]"));
        printf("@scure/btc-signer verified and finalized the FROST P2TR spend\n");
    }
    free(b64);
    kg_signer_close(sg);
}

static void test_signer_solana(void **state)
{
    (void)state;
    kg_signer *sg = NULL;
    assert_int_equal(kg_mpc_coordinator_signer_new(&sg, M.co, &ked), KG_OK);
    kg_pubkey pk;
    assert_int_equal(kg_signer_public_key(sg, &pk, NULL, KG_SIG_ED25519), KG_OK);
    assert_int_equal(pk.len, 32);
    assert_memory_equal(pk.data, ked.group_public.b, 32);
    kg_chain_sol_transfer t = {.lamports = 1500000};
    memcpy(t.from, pk.data, 32);
    memset(t.to, 0x07, 32);
    memset(t.recent_blockhash, 0x33, 32);
    kg_key_ref ref = {.key = ked.key_id};
    uint8_t tx[KG_CHAIN_SOL_TX_MAX_BYTES], sig[64], msg[512];
    size_t tl = 0, ml = 0;
    kg_err e = kg_chain_sol_transfer_sign(tx, sizeof tx, &tl, sig, sg, &ref, &t);
    if (e != KG_OK) fail_msg("solana sign: %s", kg_err_detail(e));
    assert_int_equal(kg_chain_sol_transfer_message(msg, sizeof msg, &ml, &t), KG_OK);
    assert_int_equal(tx[0], 1);
    assert_memory_equal(tx + 1, sig, 64);
    assert_memory_equal(tx + 65, msg, ml);
    assert_int_equal(crypto_sign_verify_detached(sig, msg, ml, pk.data), 0);
    msg[ml - 1] ^= 1;
    assert_int_not_equal(crypto_sign_verify_detached(sig, msg, ml, pk.data), 0);
    kg_signer_close(sg);
}

static void test_signer_refuses(void **state)
{
    (void)state;
    kg_signer *tr = NULL, *ed = NULL;
    kg_signature sig;
    kg_pubkey pk;
    uint8_t d[32] = {1};
    assert_int_equal(kg_mpc_coordinator_signer_new(&tr, M.co, &ktr), KG_OK);
    assert_int_equal(kg_mpc_coordinator_signer_new(&ed, M.co, &ked), KG_OK);
    assert_int_equal(kg_signer_sign(tr, &sig, NULL, KG_SIG_ED25519, d, 32), KG_ERR_WRONG_KEY_USAGE);
    assert_int_equal(kg_signer_sign(tr, &sig, NULL, KG_SIG_ECDSA_SECP256K1, d, 32), KG_ERR_WRONG_KEY_USAGE);
    assert_int_equal(kg_signer_public_key(tr, &pk, NULL, KG_SIG_ECDSA_SECP256K1), KG_ERR_WRONG_KEY_USAGE);
    assert_int_equal(kg_signer_sign(ed, &sig, NULL, KG_SIG_BIP340, d, 32), KG_ERR_WRONG_KEY_USAGE);
    assert_int_equal(kg_signer_sign(ed, &sig, NULL, KG_SIG_ECDSA_P256, d, 32), KG_ERR_WRONG_KEY_USAGE);
    assert_int_equal(sig.len, 0);
    assert_int_equal(kg_signer_sign(tr, &sig, NULL, KG_SIG_BIP340, d, 31), KG_ERR_BAD_INPUT);
    kg_key_ref path = {.path = {1}, .path_len = 1};
    assert_int_equal(kg_signer_sign(tr, &sig, &path, KG_SIG_BIP340, d, 32), KG_ERR_BAD_INPUT);
    kg_key_ref tap = {.taproot = true};
    assert_int_equal(kg_signer_sign(ed, &sig, &tap, KG_SIG_ED25519, d, 32), KG_ERR_BAD_INPUT);
    /* a frost-secp256k1 (RFC 9591) key record makes no BIP340 signatures */
    kg_mpc_key k1 = ktr;
    k1.taproot = false;
    kg_signer *s1 = NULL;
    assert_int_equal(kg_mpc_coordinator_signer_new(&s1, M.co, &k1), KG_OK);
    assert_int_equal(kg_signer_sign(s1, &sig, NULL, KG_SIG_BIP340, d, 32), KG_ERR_WRONG_KEY_USAGE);
    kg_signer_close(s1);
    kg_signer_close(tr);
    kg_signer_close(ed);
}

/* Last: node 1 is killed; nodes 2 and 3 sign (other Lagrange coefficients). */
static void test_node_down(void **state)
{
    (void)state;
    uint8_t pub[KG_MPC_POINT_MAX_BYTES], msg[32] = {9}, sig[64], out[32];
    size_t pl = 0;
    mpc_nodes_kill(&M, 1);
    assert_int_equal(kg_mpc_key_public(pub, &pl, &ktr), KG_OK);
    kg_mpc_sign_opts o = {.taproot_tweak = true};
    tr_sign(sig, msg, sizeof msg, &o);
    bip340_output_key(ctx, out, pub, NULL);
    assert_true(bip340_verify(ctx, sig, msg, sizeof msg, out));
    mpc_nodes_kill(&M, 2);
    uint8_t s[KG_MPC_FROST_SIG_MAX_BYTES];
    size_t sl = 0;
    assert_int_equal(kg_mpc_coordinator_sign(M.co, s, &sl, &ktr, msg, 32, NULL), KG_ERR_NETWORK);
}

int main(void)
{
    if (access(KG_BINARY, X_OK) != 0) {
        printf("skip: %s is not built\n", KG_BINARY);
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_taproot_sign),
        cmocka_unit_test(test_signer_p2tr_psbt),
        cmocka_unit_test(test_signer_solana),
        cmocka_unit_test(test_signer_refuses),
        cmocka_unit_test(test_node_down),
    };
    return cmocka_run_group_tests_name("mpc_signer", tests, setup, teardown);
}
