/* Reshare of CGGMP21 keys across processes (coord_cggmp_reshare.c,
 * node_cggmp.c phase 5) and the eviction of finished node sessions: five
 * real `kashguard mpc-node` processes on free loopback ports
 * (tests/mpc/mpc_nodes.h), safe-prime pools pre-filled with distinct lines
 * of tests/mpc/fixtures/safe_primes_1024.txt (2048-bit Paillier moduli,
 * KG_MPC_PAILLIER_BITS=2048), driven by the coordinator in this process.
 *
 *  - 3-of-5 -> 2-of-3 dropping nodes 4 and 5: same public key and chain
 *    code, epoch + 1, nodes 4 and 5 hold no record of the key any more,
 *    a signature by the new set verifies (libsecp256k1) under the key;
 *  - 40 presignatures requested in a row on one 2-of-3 key succeed (a
 *    node's finished sessions no longer count against its limit of 16);
 *  - 2-of-3 -> 3-of-4 with node 4 new: the old epoch's presignatures of
 *    nodes 1 and 3 are gone, node 4 holds epoch 1 with aux info, the new
 *    set signs under the unchanged key, the old record is refused;
 *  - a reshare with a new node down fails, the key record is unchanged
 *    and the old shares still sign. */
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

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "kashguard/crypto.h"
#include "kashguard/mpc/cggmp.h"
#include "kashguard/mpc/node.h"
#include "../../src/mpc/node_int.h"

#include "../mpc/mpc_nodes.h"

#define N 5
/* Primes per node (each aux takes two): the 3-of-5 key and its reshare to
 * {1,2,3}, the 2-of-3 key and its reshare to {1,2,3,4}. The padding
 * lines of mpc_nodes_fill_primes start every file and are never taken, so no pool falls below its
 * target of four (no background prime generation during the test). */
static const int PRIMES[N + 1] = {0, 8, 8, 8, 4, 2};

static mpc_nodes M;
static secp256k1_context *ctx;
static kg_mpc_key KA; /* the 2-of-3, then 3-of-4 key */

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
    if (mpc_nodes_init(&M, "kg-cggmp-reshare", N, false) != 0) return -1;
    for (int id = 1, from = 0; id <= N; from += PRIMES[id], id++)
        if (mpc_nodes_fill_primes(&M, id, from, PRIMES[id]) != 0 || mpc_nodes_start(&M, id, NULL) != 0) return -1;
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


/* CGGMP_INFO of node id for k: its epoch and unused presignature count. */
static kg_err node_info(int id, const kg_mpc_key *k, uint32_t *epoch, bool *has_aux, size_t *presigs)
{
    kg_mpc_net_conn *c = NULL;
    kg_bytes resp = {0};
    kg_mpc_node_msg m;
    kg_mpc_node_wr w = {0};
    uint8_t sess[32] = {1};
    kg_mpc_node_wr_blob(&w, (const uint8_t *)k->key_id, strlen(k->key_id));
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    assert_int_equal(kg_mpc_co_connect(&c, M.co, (uint16_t)id), KG_OK);
    kg_err e = kg_mpc_coord_call(&resp, &m, c, KG_MPC_NODE_CGGMP_INFO, k->g, sess, &w.b);
    if (!e) {
        kg_mpc_node_rd r;
        kg_mpc_node_rd_init(&r, m.body, m.body_len);
        const uint8_t *h = kg_mpc_node_rd_fixed(&r, 4 + 1 + 64);
        assert_non_null(h);
        *epoch = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
        *has_aux = h[4] != 0;
        *presigs = kg_mpc_node_rd_u16(&r);
    }
    kg_bytes_free(&resp);
    kg_bytes_free(&w.b);
    kg_mpc_co_release(M.co, c, true);
    return e;
}

static void expect_info(int id, const kg_mpc_key *k, uint32_t epoch, size_t presigs)
{
    uint32_t ep = 0;
    bool aux = false;
    size_t np = 0;
    kg_err e = node_info(id, k, &ep, &aux, &np);
    if (e) fail_msg("INFO of node %d: %s", id, kg_err_detail(e));
    assert_int_equal(ep, epoch);
    assert_true(aux);
    assert_int_equal(np, presigs);
}

static void sign_check(const kg_mpc_key *k, const char *msg, const uint8_t pub[33])
{
    uint8_t dg[32], sig[64];
    int recid = -1;
    kg_crypto_sha256(dg, (const uint8_t *)msg, strlen(msg));
    kg_err e = kg_mpc_coordinator_cggmp_sign(M.co, k, dg, NULL, sig, &recid, NULL);
    if (e) fail_msg("sign %s: %s", msg, kg_err_detail(e));
    k1_check(sig, recid, dg, pub);
}

/* ------------------------------------------------------------ tests */

static void test_3of5_to_2of3(void **state)
{
    (void)state;
    kg_mpc_key k, old;
    uint16_t ids[5] = {1, 2, 3, 4, 5}, new_ids[3] = {3, 1, 2};
    uint8_t pub[33];
    double t0 = mpc_nodes_now_ms();
    kg_err e = kg_mpc_coordinator_cggmp_keygen(M.co, &k, KG_MPC_GROUP_SECP256K1, 3, ids, 5);
    if (e) fail_msg("3-of-5 keygen: %s", kg_err_detail(e));
    printf("figure: 3-of-5 secp256k1 keygen + aux: %.0f ms\n", mpc_nodes_now_ms() - t0);
    old = k;
    pub_bytes(pub, k.g, &k.group_public);
    t0 = mpc_nodes_now_ms();
    e = kg_mpc_coordinator_cggmp_reshare(M.co, &k, 2, new_ids, 3);
    if (e) fail_msg("reshare 3-of-5 -> 2-of-3: %s", kg_err_detail(e));
    printf("figure: reshare 3-of-5 -> 2-of-3 (+ aux on 3 nodes): %.0f ms\n", mpc_nodes_now_ms() - t0);
    assert_int_equal(k.t, 2);
    assert_int_equal(k.n, 3);
    assert_int_equal(k.epoch, old.epoch + 1);
    for (int i = 0; i < 3; i++) assert_int_equal(k.ids[i], i + 1);
    assert_true(kg_mpc_point_eq(k.g, &k.group_public, &old.group_public));
    assert_memory_equal(k.chain_code, old.chain_code, 32);
    for (int i = 0; i < 3; i++) assert_false(kg_mpc_point_eq(k.g, &k.pub[i], &old.pub[i])); /* new shares */
    for (int id = 1; id <= 3; id++) expect_info(id, &k, 1, 0);
    uint32_t ep = 0;
    bool aux = false;
    size_t np = 0;
    for (int id = 4; id <= 5; id++) { /* left out: the share is deleted */
        e = node_info(id, &k, &ep, &aux, &np);
        assert_int_equal(e, KG_ERR_NOT_FOUND);
    }
    sign_check(&k, "reshared 2-of-3", pub);
    /* the old record (3-of-5 at epoch 0) is refused by the nodes */
    uint8_t dg[32] = {7}, sig[64];
    int recid = -1;
    assert_int_not_equal(kg_mpc_coordinator_cggmp_sign(M.co, &old, dg, NULL, sig, &recid, NULL), KG_OK);
}

/* More than a node's KG_MPC_ND_MAX_CGGMP_SESSIONS (16) in a row: finished
 * sessions must not count against the limit. */
#define MANY 40
#define MANY_S "40"
static void test_many_presignatures(void **state)
{
    (void)state;
    uint16_t ids[3] = {1, 2, 3};
    unsigned made = 0;
    kg_err e = kg_mpc_coordinator_cggmp_keygen(M.co, &KA, KG_MPC_GROUP_SECP256K1, 2, ids, 3);
    if (e) fail_msg("2-of-3 keygen: %s", kg_err_detail(e));
    double t0 = mpc_nodes_now_ms();
    e = kg_mpc_coordinator_cggmp_presign(M.co, &KA, MANY, &made);
    if (e) fail_msg(MANY_S " presignatures (made %u): %s", made, kg_err_detail(e));
    printf("figure: " MANY_S " presignatures 2-of-3 in a row: %.0f ms\n", mpc_nodes_now_ms() - t0);
    assert_int_equal(made, MANY);
    expect_info(1, &KA, 0, MANY);
    expect_info(2, &KA, 0, MANY);
}

static void test_2of3_to_3of4(void **state)
{
    (void)state;
    kg_mpc_key k = KA;
    uint16_t new_ids[4] = {1, 2, 3, 4};
    uint8_t pub[33];
    unsigned made = 0;
    pub_bytes(pub, k.g, &k.group_public);
    /* a presignature on node 3 (node 1 down: signers 2 and 3) */
    mpc_nodes_kill(&M, 1);
    assert_int_equal(kg_mpc_coordinator_cggmp_presign(M.co, &k, 1, &made), KG_OK);
    assert_int_equal(mpc_nodes_start(&M, 1, NULL), 0);
    expect_info(3, &k, 0, 1);
    double t0 = mpc_nodes_now_ms();
    kg_err e = kg_mpc_coordinator_cggmp_reshare(M.co, &k, 3, new_ids, 4);
    if (e) fail_msg("reshare 2-of-3 -> 3-of-4: %s", kg_err_detail(e));
    printf("figure: reshare 2-of-3 -> 3-of-4 (+ aux on 4 nodes): %.0f ms\n", mpc_nodes_now_ms() - t0);
    assert_int_equal(k.t, 3);
    assert_int_equal(k.n, 4);
    assert_int_equal(k.epoch, KA.epoch + 1);
    assert_true(kg_mpc_point_eq(k.g, &k.group_public, &KA.group_public));
    assert_memory_equal(k.chain_code, KA.chain_code, 32);
    for (int id = 1; id <= 4; id++) expect_info(id, &k, 1, 0); /* the old epoch's presignatures are gone */
    sign_check(&k, "reshared 3-of-4", pub);
    uint8_t dg[32] = {8}, sig[64];
    int recid = -1;
    assert_int_not_equal(kg_mpc_coordinator_cggmp_sign(M.co, &KA, dg, NULL, sig, &recid, NULL), KG_OK);
    KA = k;
}

static void test_new_node_down(void **state)
{
    (void)state;
    kg_mpc_key k = KA;
    uint16_t new_ids[5] = {1, 2, 3, 4, 5};
    uint8_t pub[33];
    pub_bytes(pub, k.g, &k.group_public);
    mpc_nodes_kill(&M, 5);
    kg_err e = kg_mpc_coordinator_cggmp_reshare(M.co, &k, 3, new_ids, 5);
    assert_int_equal(e, KG_ERR_NETWORK);
    assert_non_null(strstr(kg_err_detail(e), "node 5"));
    assert_non_null(strstr(kg_err_detail(e), "unchanged"));
    assert_int_equal(k.epoch, KA.epoch); /* the record is unchanged */
    assert_int_equal(k.t, KA.t);
    assert_int_equal(k.n, KA.n);
    assert_memory_equal(k.ids, KA.ids, sizeof k.ids);
    for (int id = 1; id <= 4; id++) expect_info(id, &k, KA.epoch, 0);
    sign_check(&k, "old shares after a failed reshare", pub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_3of5_to_2of3),
        cmocka_unit_test(test_many_presignatures),
        cmocka_unit_test(test_2of3_to_3of4),
        cmocka_unit_test(test_new_node_down),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
