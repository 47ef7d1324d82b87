/* CGGMP21 threshold ECDSA across processes: five real `kashguard mpc-node`
 * processes on free loopback ports (tests/mpc/mpc_nodes.h), their
 * safe-prime pools pre-filled with distinct lines of
 * tests/mpc/fixtures/safe_primes_1024.txt (2048-bit Paillier moduli,
 * KG_MPC_PAILLIER_BITS=2048), driven by the coordinator of
 * coord_cggmp*.c in this process.
 *
 *  - 2-of-3 on secp256k1: keygen + aux, presign, online signing; every
 *    signature verified with libsecp256k1 (low-S, the recovery id recovers
 *    the key) and a BIP32 child m/0/5 signature verified under the child
 *    key computed here from the public key and chain code (HMAC-SHA512 of
 *    OpenSSL, tweak-add of libsecp256k1);
 *  - a presignature is never used twice: two signatures consume two
 *    different ones (the nodes' CGGMP_INFO, different r), and a second
 *    CGGMP_SIGN sent directly for a used presignature is refused;
 *  - 2-of-3 on P-256 with full signing (no presignature ahead), verified
 *    with OpenSSL;
 *  - 3-of-5: two nodes SIGKILLed, signing goes on with the other three;
 *  - a node killed and restarted still signs with its stored presignature;
 *  - refresh: epoch + 1, same public key, new public shares, signing
 *    works after it.
 * Figures (keygen + aux, presign, online and full signing) are printed. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "kashguard/crypto.h"
#include "kashguard/mpc/cggmp.h"
#include "kashguard/mpc/node.h"
#include "../../src/mpc/node_int.h"

#include "../mpc/mpc_nodes.h"

#define N 5
/* Primes per node: each aux or refresh takes two (from the end of the
 * file). Nodes 1..3 run four (two keys' aux, a 3-of-5 aux, a refresh),
 * nodes 4 and 5 one. Every file starts with the same padding lines (mpc_nodes_fill_primes), never
 * taken, so no pool falls below its target of four and no node spends
 * the test making primes in the background. */
static const int PRIMES[N + 1] = {0, 8, 8, 8, 2, 2};

static mpc_nodes M;
static kg_mpc_key K1; /* 2-of-3 secp256k1 on nodes 1..3 */
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
    if (kg_crypto_init() != KG_OK) return -1;
    ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    setenv("KG_MPC_PAILLIER_BITS", "2048", 1);
    if (mpc_nodes_init(&M, "kg-cggmp-net", N, false) != 0) return -1;
    for (int id = 1, from = 0; id <= N; from += PRIMES[id], id++)
        if (mpc_nodes_fill_primes(&M, id, from, PRIMES[id]) != 0 || mpc_nodes_start(&M, id, NULL) != 0) return -1;
    uint16_t ids[3] = {1, 2, 3};
    double t0 = mpc_nodes_now_ms();
    kg_err e = kg_mpc_coordinator_cggmp_keygen(M.co, &K1, KG_MPC_GROUP_SECP256K1, 2, ids, 3);
    if (e != KG_OK) {
        fprintf(stderr, "keygen: %s\n", kg_err_detail(e));
        return -1;
    }
    printf("figure: 2-of-3 secp256k1 keygen + aux: %.0f ms\n", mpc_nodes_now_ms() - t0);
    return 0;
}

/* ------------------------------------------------ independent checks */

static void pub_bytes(uint8_t out[33], kg_mpc_group_id g, const kg_mpc_point *p)
{
    uint8_t b[KG_MPC_POINT_MAX_BYTES];
    assert_int_equal(kg_mpc_point_serialize(g, b, p), KG_OK);
    assert_int_equal(kg_mpc_group_point_len(g), 33);
    memcpy(out, b, 33);
}

/* libsecp256k1: sig verifies under pub33, S is low, recid recovers pub33. */
static void k1_check(const uint8_t sig[64], int recid, const uint8_t dg[32], const uint8_t pub33[33])
{
    secp256k1_pubkey pk, rec;
    secp256k1_ecdsa_signature s;
    secp256k1_ecdsa_recoverable_signature rs;
    uint8_t ser[33];
    size_t sl = sizeof ser;
    assert_int_equal(secp256k1_ec_pubkey_parse(ctx, &pk, pub33, 33), 1);
    assert_int_equal(secp256k1_ecdsa_signature_parse_compact(ctx, &s, sig), 1);
    assert_int_equal(secp256k1_ecdsa_signature_normalize(ctx, NULL, &s), 0); /* already low-S */
    assert_int_equal(secp256k1_ecdsa_verify(ctx, &s, dg, &pk), 1);
    uint8_t other[32];
    memcpy(other, dg, 32);
    other[0] ^= 1;
    assert_int_equal(secp256k1_ecdsa_verify(ctx, &s, other, &pk), 0);
    assert_true(recid >= 0 && recid <= 3);
    assert_int_equal(secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rs, sig, recid), 1);
    assert_int_equal(secp256k1_ecdsa_recover(ctx, &rec, &rs, dg), 1);
    assert_int_equal(secp256k1_ec_pubkey_serialize(ctx, ser, &sl, &rec, SECP256K1_EC_COMPRESSED), 1);
    assert_memory_equal(ser, pub33, 33);
}

/* BIP32 CKDpub, computed here: I = HMAC-SHA512(cc, K || i), K' = K + I_L·G. */
static void ckd_pub(uint8_t pub33[33], uint8_t cc[32], uint32_t i)
{
    uint8_t data[37], I[64];
    unsigned il = 0;
    secp256k1_pubkey pk;
    size_t sl = 33;
    memcpy(data, pub33, 33);
    data[33] = (uint8_t)(i >> 24), data[34] = (uint8_t)(i >> 16), data[35] = (uint8_t)(i >> 8), data[36] = (uint8_t)i;
    assert_non_null(HMAC(EVP_sha512(), cc, 32, data, sizeof data, I, &il));
    assert_int_equal(secp256k1_ec_pubkey_parse(ctx, &pk, pub33, 33), 1);
    assert_int_equal(secp256k1_ec_pubkey_tweak_add(ctx, &pk, I), 1);
    assert_int_equal(secp256k1_ec_pubkey_serialize(ctx, pub33, &sl, &pk, SECP256K1_EC_COMPRESSED), 1);
    memcpy(cc, I + 32, 32);
}

/* OpenSSL: sig (r || s) verifies under the P-256 key pub33. */
static bool p256_verify(const uint8_t pub33[33], const uint8_t sig[64], const uint8_t dg[32])
{
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM *ps = NULL;
    EVP_PKEY *pk = NULL;
    EVP_PKEY_CTX *fc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL), *vc = NULL;
    ECDSA_SIG *s = ECDSA_SIG_new();
    unsigned char *der = NULL;
    int len = 0, rc = 0;
    if (b && OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
        OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pub33, 33))
        ps = OSSL_PARAM_BLD_to_param(b);
    if (ps && fc && EVP_PKEY_fromdata_init(fc) == 1 && EVP_PKEY_fromdata(fc, &pk, EVP_PKEY_PUBLIC_KEY, ps) == 1 && s &&
        ECDSA_SIG_set0(s, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL)) == 1)
        len = i2d_ECDSA_SIG(s, &der);
    if (len > 0 && (vc = EVP_PKEY_CTX_new(pk, NULL)) && EVP_PKEY_verify_init(vc) == 1)
        rc = EVP_PKEY_verify(vc, der, (size_t)len, dg, 32);
    OPENSSL_free(der);
    ECDSA_SIG_free(s);
    EVP_PKEY_CTX_free(vc);
    EVP_PKEY_CTX_free(fc);
    EVP_PKEY_free(pk);
    OSSL_PARAM_free(ps);
    OSSL_PARAM_BLD_free(b);
    return rc == 1;
}

/* -------------------------------------------- direct node requests */

/* The unused presignature ids node id lists for k (CGGMP_INFO). */
static size_t node_presigs(int id, const kg_mpc_key *k, uint8_t out[][32], size_t cap)
{
    kg_mpc_net_conn *c = NULL;
    kg_bytes resp = {0}, body = {0};
    kg_mpc_node_msg m;
    kg_mpc_node_wr w = {0};
    uint8_t sess[32] = {1};
    kg_mpc_node_wr_blob(&w, (const uint8_t *)k->key_id, strlen(k->key_id));
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    body = w.b;
    assert_int_equal(kg_mpc_co_connect(&c, M.co, (uint16_t)id), KG_OK);
    kg_err e = kg_mpc_coord_call(&resp, &m, c, KG_MPC_NODE_CGGMP_INFO, k->g, sess, &body);
    if (e) fail_msg("INFO from node %d: %s", id, kg_err_detail(e));
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, m.body, m.body_len);
    kg_mpc_node_rd_fixed(&r, 4 + 1 + 64);
    size_t n = kg_mpc_node_rd_u16(&r);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *pid = kg_mpc_node_rd_fixed(&r, 32);
        unsigned ns = kg_mpc_node_rd_u16(&r);
        for (unsigned s = 0; s < ns; s++) kg_mpc_node_rd_u16(&r);
        assert_non_null(pid);
        if (i < cap) memcpy(out[i], pid, 32);
    }
    if (r.left) { /* the optional tail: each listed presignature's R */
        assert_int_equal(kg_mpc_node_rd_u16(&r), n);
        assert_non_null(kg_mpc_node_rd_fixed(&r, n * 33));
    }
    assert_int_equal(kg_mpc_node_rd_end(&r, "INFO"), KG_OK);
    kg_bytes_free(&resp);
    kg_bytes_free(&body);
    kg_mpc_co_release(M.co, c, true);
    return n;
}

/* CGGMP_SIGN sent straight to node id for presignature pid. */
static kg_err direct_sign(int id, const kg_mpc_key *k, const uint8_t pid[32])
{
    kg_mpc_net_conn *c = NULL;
    kg_bytes resp = {0};
    kg_mpc_node_msg m;
    kg_mpc_node_wr w = {0};
    uint8_t sess[32] = {2}, dg[32] = {9};
    kg_mpc_node_wr_blob(&w, (const uint8_t *)k->key_id, strlen(k->key_id));
    kg_mpc_node_wr_fixed(&w, pid, 32);
    kg_mpc_node_wr_fixed(&w, dg, 32);
    kg_mpc_node_wr_u16(&w, 0);
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    assert_int_equal(kg_mpc_co_connect(&c, M.co, (uint16_t)id), KG_OK);
    kg_err e = kg_mpc_coord_call(&resp, &m, c, KG_MPC_NODE_CGGMP_SIGN, k->g, sess, &w.b);
    kg_bytes_free(&resp);
    kg_bytes_free(&w.b);
    kg_mpc_co_release(M.co, c, true);
    return e;
}

static void sign_ok(const kg_mpc_key *k, const char *what, const uint8_t dg[32], const char *path, uint8_t sig[64],
                    int *recid, kg_mpc_point *child)
{
    kg_err e = kg_mpc_coordinator_cggmp_sign(M.co, k, dg, path, sig, recid, child);
    if (e) fail_msg("%s: %s", what, kg_err_detail(e));
}

/* ------------------------------------------------------------ tests */

static void test_secp256k1_2of3(void **state)
{
    (void)state;
    uint8_t dg[32], sig[64], sig2[64], pub[33], cc[32], ids0[4][32], ids1[4][32];
    int recid = -1;
    unsigned made = 0;
    kg_mpc_point child;
    assert_true(K1.ecdsa);
    assert_string_equal(kg_mpc_key_scheme(&K1), "cggmp21-secp256k1");
    pub_bytes(pub, K1.g, &K1.group_public);

    double t0 = mpc_nodes_now_ms();
    kg_err e = kg_mpc_coordinator_cggmp_presign(M.co, &K1, 2, &made);
    if (e) fail_msg("presign: %s", kg_err_detail(e));
    printf("figure: 2-of-3 secp256k1 presign: %.0f ms each\n", (mpc_nodes_now_ms() - t0) / 2);
    assert_int_equal(made, 2);
    assert_int_equal(node_presigs(1, &K1, ids0, 4), 2); /* lowest ids: nodes 1 and 2 */
    assert_int_equal(node_presigs(2, &K1, ids0, 4), 2);

    kg_crypto_sha256(dg, (const uint8_t *)"cggmp one", 9);
    t0 = mpc_nodes_now_ms();
    sign_ok(&K1, "online sign", dg, NULL, sig, &recid, &child);
    printf("figure: 2-of-3 secp256k1 online sign: %.1f ms\n", mpc_nodes_now_ms() - t0);
    k1_check(sig, recid, dg, pub);
    assert_true(kg_mpc_point_eq(K1.g, &child, &K1.group_public));

    /* the second signature takes the other presignature */
    assert_int_equal(node_presigs(1, &K1, ids1, 4), 1);
    sign_ok(&K1, "second sign", dg, NULL, sig2, &recid, NULL);
    k1_check(sig2, recid, dg, pub);
    assert_memory_not_equal(sig, sig2, 32); /* another R */
    assert_int_equal(node_presigs(1, &K1, ids1, 4), 0);
    /* both used: a direct second use is refused by either signer */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(direct_sign(1, &K1, ids0[i]), KG_ERR_CONFLICT);
        assert_int_equal(direct_sign(2, &K1, ids0[i]), KG_ERR_CONFLICT);
    }

    /* child m/0/5, independently derived */
    memcpy(cc, K1.chain_code, 32);
    ckd_pub(pub, cc, 0);
    ckd_pub(pub, cc, 5);
    t0 = mpc_nodes_now_ms();
    sign_ok(&K1, "child m/0/5 (full signing)", dg, "m/0/5", sig, &recid, &child);
    printf("figure: 2-of-3 secp256k1 full sign (presign + sign): %.0f ms\n", mpc_nodes_now_ms() - t0);
    uint8_t cb[33];
    pub_bytes(cb, K1.g, &child);
    assert_memory_equal(cb, pub, 33);
    k1_check(sig, recid, dg, pub);
    uint8_t root[33];
    pub_bytes(root, K1.g, &K1.group_public);
    secp256k1_pubkey pk;
    secp256k1_ecdsa_signature s;
    assert_int_equal(secp256k1_ec_pubkey_parse(ctx, &pk, root, 33), 1);
    assert_int_equal(secp256k1_ecdsa_signature_parse_compact(ctx, &s, sig), 1);
    assert_int_equal(secp256k1_ecdsa_verify(ctx, &s, dg, &pk), 0); /* not the root key's */
    assert_int_not_equal(kg_mpc_coordinator_cggmp_sign(M.co, &K1, dg, "m/0'/5", sig, &recid, NULL), KG_OK);
}

static void test_p256_full_signing(void **state)
{
    (void)state;
    kg_mpc_key k;
    uint16_t ids[3] = {3, 1, 2};
    uint8_t dg[32], sig[64], pub[33];
    int recid = -1;
    double t0 = mpc_nodes_now_ms();
    kg_err e = kg_mpc_coordinator_cggmp_keygen(M.co, &k, KG_MPC_GROUP_P256, 2, ids, 3);
    if (e) fail_msg("P-256 keygen: %s", kg_err_detail(e));
    printf("figure: 2-of-3 P-256 keygen + aux: %.0f ms\n", mpc_nodes_now_ms() - t0);
    assert_string_equal(kg_mpc_key_scheme(&k), "cggmp21-p256");
    pub_bytes(pub, k.g, &k.group_public);
    kg_crypto_sha256(dg, (const uint8_t *)"p256", 4);
    t0 = mpc_nodes_now_ms();
    sign_ok(&k, "P-256 full sign", dg, NULL, sig, &recid, NULL);
    printf("figure: 2-of-3 P-256 full sign: %.0f ms\n", mpc_nodes_now_ms() - t0);
    assert_true(p256_verify(pub, sig, dg));
    dg[3] ^= 1;
    assert_false(p256_verify(pub, sig, dg));

    /* the JSON record round-trips with its chain code */
    json_t *o = NULL;
    kg_mpc_key back;
    assert_int_equal(kg_mpc_key_to_json(&o, &k), KG_OK);
    assert_non_null(json_object_get(o, "chain_code"));
    assert_int_equal(kg_mpc_key_from_json(&back, o), KG_OK);
    json_decref(o);
    assert_true(back.ecdsa);
    assert_memory_equal(back.chain_code, k.chain_code, 32);
    assert_true(kg_mpc_point_eq(k.g, &back.group_public, &k.group_public));
}

static void test_3of5_two_down(void **state)
{
    (void)state;
    kg_mpc_key k;
    uint16_t ids[5] = {1, 2, 3, 4, 5};
    uint8_t dg[32], sig[64], pub[33];
    int recid = -1;
    unsigned made = 0;
    double t0 = mpc_nodes_now_ms();
    kg_err e = kg_mpc_coordinator_cggmp_keygen(M.co, &k, KG_MPC_GROUP_SECP256K1, 3, ids, 5);
    if (e) fail_msg("3-of-5 keygen: %s", kg_err_detail(e));
    printf("figure: 3-of-5 secp256k1 keygen + aux: %.0f ms\n", mpc_nodes_now_ms() - t0);
    pub_bytes(pub, k.g, &k.group_public);
    t0 = mpc_nodes_now_ms();
    assert_int_equal(kg_mpc_coordinator_cggmp_presign(M.co, &k, 1, &made), KG_OK);
    printf("figure: 3-of-5 secp256k1 presign: %.0f ms\n", mpc_nodes_now_ms() - t0);
    kg_crypto_sha256(dg, (const uint8_t *)"3of5", 4);
    t0 = mpc_nodes_now_ms();
    sign_ok(&k, "3-of-5 online", dg, NULL, sig, &recid, NULL);
    printf("figure: 3-of-5 secp256k1 online sign: %.1f ms\n", mpc_nodes_now_ms() - t0);
    k1_check(sig, recid, dg, pub);

    assert_int_equal(kg_mpc_coordinator_cggmp_presign(M.co, &k, 1, &made), KG_OK); /* on nodes 1, 2, 3 */
    mpc_nodes_kill(&M, 1);
    mpc_nodes_kill(&M, 2);
    kg_crypto_sha256(dg, (const uint8_t *)"3of5 two down", 13);
    sign_ok(&k, "3-of-5 with nodes 1 and 2 down", dg, NULL, sig, &recid, NULL);
    k1_check(sig, recid, dg, pub);
    uint8_t none[1][32];
    assert_int_equal(node_presigs(3, &k, none, 0), 1); /* the 1-2-3 one is still there, unused */
    mpc_nodes_kill(&M, 3); /* two left of three needed */
    e = kg_mpc_coordinator_cggmp_sign(M.co, &k, dg, NULL, sig, &recid, NULL);
    assert_int_equal(e, KG_ERR_NETWORK);
    assert_non_null(strstr(kg_err_detail(e), "node 1"));
    for (int id = 1; id <= 3; id++) assert_int_equal(mpc_nodes_start(&M, id, NULL), 0);
}

static void test_restart_keeps_presignatures(void **state)
{
    (void)state;
    uint8_t dg[32], sig[64], pub[33], pid[2][32];
    int recid = -1;
    unsigned made = 0;
    pub_bytes(pub, K1.g, &K1.group_public);
    assert_int_equal(kg_mpc_coordinator_cggmp_presign(M.co, &K1, 1, &made), KG_OK);
    assert_int_equal(node_presigs(1, &K1, pid, 2), 1);
    assert_int_equal(mpc_nodes_start(&M, 1, NULL), 0); /* SIGKILL and start again */
    assert_int_equal(node_presigs(1, &K1, pid + 1, 1), 1);
    assert_memory_equal(pid[0], pid[1], 32);
    kg_crypto_sha256(dg, (const uint8_t *)"after restart", 13);
    sign_ok(&K1, "sign after a restart", dg, NULL, sig, &recid, NULL);
    k1_check(sig, recid, dg, pub);
    assert_int_equal(direct_sign(1, &K1, pid[0]), KG_ERR_CONFLICT); /* it was that one */
}

static void test_refresh(void **state)
{
    (void)state;
    kg_mpc_key k = K1;
    uint8_t dg[32], sig[64], pub[33], none[1][32];
    int recid = -1;
    unsigned made = 0;
    pub_bytes(pub, K1.g, &K1.group_public);
    assert_int_equal(kg_mpc_coordinator_cggmp_presign(M.co, &k, 1, &made), KG_OK);
    double t0 = mpc_nodes_now_ms();
    kg_err e = kg_mpc_coordinator_cggmp_refresh(M.co, &k);
    if (e) fail_msg("refresh: %s", kg_err_detail(e));
    printf("figure: 2-of-3 secp256k1 refresh: %.0f ms\n", mpc_nodes_now_ms() - t0);
    assert_int_equal(k.epoch, K1.epoch + 1);
    assert_true(kg_mpc_point_eq(k.g, &k.group_public, &K1.group_public));
    for (unsigned i = 0; i < k.n; i++) assert_false(kg_mpc_point_eq(k.g, &k.pub[i], &K1.pub[i]));
    assert_int_equal(node_presigs(1, &k, none, 0), 0); /* the old epoch's presignature is gone */
    kg_crypto_sha256(dg, (const uint8_t *)"refreshed", 9);
    sign_ok(&k, "sign after refresh", dg, NULL, sig, &recid, NULL);
    k1_check(sig, recid, dg, pub);
    /* the old record (epoch 0) is refused by the nodes */
    assert_int_not_equal(kg_mpc_coordinator_cggmp_sign(M.co, &K1, dg, NULL, sig, &recid, NULL), KG_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secp256k1_2of3),
        cmocka_unit_test(test_p256_full_signing),
        cmocka_unit_test(test_3of5_two_down),
        cmocka_unit_test(test_restart_keeps_presignatures),
        cmocka_unit_test(test_refresh),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
