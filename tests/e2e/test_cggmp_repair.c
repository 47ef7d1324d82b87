/* Catching up for CGGMP21 keys across processes: repair
 * (kg_mpc_coordinator_cggmp_repair, coord_cggmp_reshare.c: a reshare to
 * the same set dealt by t up-to-date holders, then aux on the whole set)
 * and resync (kg_mpc_coordinator_cggmp_resync, coord_cggmp_resync.c,
 * CGGMP_INFO with the public tail). Three real `kashguard mpc-node`
 * processes (tests/mpc/mpc_nodes.h), 2048-bit Paillier moduli, each node's
 * prime pool pre-filled with its own lines of
 * tests/mpc/fixtures/safe_primes_1024.txt (every aux run takes two). On a
 * 2-of-3 secp256k1 key:
 *  - node 3 SIGKILLed: signing goes on with nodes 1 and 2; a refresh fails
 *    naming node 3 (CGGMP21's refresh is n-party) and changes nothing;
 *  - node 3 put back on its data from before a refresh (stale, epoch 0 of
 *    2): a signing set {1,3} fails, repair brings it to the new epoch and
 *    {1,3} signs under the unchanged key (libsecp256k1 verifies);
 *  - node 3 with its store wiped: repaired the same way;
 *  - the repair's bad input (not a holder) and a repair with a dealer down
 *    change nothing;
 *  - resync of a record from before a refresh rebuilds the new record
 *    exactly; of an in-sync record changes nothing; with node 3 down marks
 *    it stale, and a repair clears that. */
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
#include <secp256k1_recovery.h>

#include "kashguard/crypto.h"
#include "kashguard/mpc/cggmp.h"
#include "kashguard/mpc/node.h"
#include "../../src/mpc/node_int.h"

#include "../mpc/mpc_nodes.h"

#define N 3
/* Six aux runs (keygen, two refreshes, three repairs) of two primes per
 * node; the padding lines (mpc_nodes_fill_primes) start every pool file and are never taken (no
 * background prime generation during the test). */
#define PER_NODE 12

static mpc_nodes M;
static secp256k1_context *ctx;
static kg_mpc_key K; /* the key record as it should be */
static uint8_t PUB[33];

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
    if (mpc_nodes_init(&M, "kg-cggmp-repair", N, false) != 0) return -1;
    for (int id = 1; id <= N; id++)
        if (mpc_nodes_fill_primes(&M, id, (id - 1) * PER_NODE, PER_NODE) != 0 || mpc_nodes_start(&M, id, NULL) != 0) return -1;
    return 0;
}

/* ------------------------------------------------------------ helpers */

/* libsecp256k1: sig verifies under pub33 (and not for another digest), S
 * is low, recid recovers pub33. */
static void k1_check(const uint8_t sig[64], int recid, const uint8_t dg[32], const uint8_t pub33[33])
{
    secp256k1_pubkey pk, rec;
    secp256k1_ecdsa_signature s;
    secp256k1_ecdsa_recoverable_signature rs;
    uint8_t ser[33], other[32];
    size_t sl = sizeof ser;
    assert_int_equal(secp256k1_ec_pubkey_parse(ctx, &pk, pub33, 33), 1);
    assert_int_equal(secp256k1_ecdsa_signature_parse_compact(ctx, &s, sig), 1);
    assert_int_equal(secp256k1_ecdsa_signature_normalize(ctx, NULL, &s), 0);
    assert_int_equal(secp256k1_ecdsa_verify(ctx, &s, dg, &pk), 1);
    memcpy(other, dg, 32);
    other[0] ^= 1;
    assert_int_equal(secp256k1_ecdsa_verify(ctx, &s, other, &pk), 0);
    assert_true(recid >= 0 && recid <= 3);
    assert_int_equal(secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rs, sig, recid), 1);
    assert_int_equal(secp256k1_ecdsa_recover(ctx, &rec, &rs, dg), 1);
    assert_int_equal(secp256k1_ec_pubkey_serialize(ctx, ser, &sl, &rec, SECP256K1_EC_COMPRESSED), 1);
    assert_memory_equal(ser, pub33, 33);
}

static kg_err try_sign(const kg_mpc_key *k, const char *msg, uint8_t sig[64], int *recid, uint8_t dg[32])
{
    kg_crypto_sha256(dg, (const uint8_t *)msg, strlen(msg));
    return kg_mpc_coordinator_cggmp_sign(M.co, k, dg, NULL, sig, recid, NULL);
}

static void sign_check(const kg_mpc_key *k, const char *msg)
{
    uint8_t dg[32], sig[64];
    int recid = -1;
    kg_err e = try_sign(k, msg, sig, &recid, dg);
    if (e) fail_msg("sign %s: %s", msg, kg_err_detail(e));
    k1_check(sig, recid, dg, PUB);
}

/* Signing with node 2 down: the signing set is {1,3}. */
static void sign_1_3(const kg_mpc_key *k, const char *msg)
{
    mpc_nodes_kill(&M, 2);
    sign_check(k, msg);
    assert_int_equal(mpc_nodes_start(&M, 2, NULL), 0);
}

/* CGGMP_INFO of node id for k (flags < 0: none, the old request and
 * answer): its epoch. */
static kg_err node_info(int id, const kg_mpc_key *k, int flags, uint32_t *epoch)
{
    kg_mpc_net_conn *c = NULL;
    kg_bytes resp = {0};
    kg_mpc_node_msg m;
    kg_mpc_node_wr w = {0};
    uint8_t sess[32] = {1}, fl = (uint8_t)flags;
    kg_mpc_node_wr_blob(&w, (const uint8_t *)k->key_id, strlen(k->key_id));
    if (flags >= 0) kg_mpc_node_wr_fixed(&w, &fl, 1);
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    assert_int_equal(kg_mpc_co_connect(&c, M.co, (uint16_t)id), KG_OK);
    kg_err e = kg_mpc_coord_call(&resp, &m, c, KG_MPC_NODE_CGGMP_INFO, k->g, sess, &w.b);
    if (!e) {
        assert_true(m.body_len >= 4);
        *epoch = (uint32_t)m.body[0] << 24 | (uint32_t)m.body[1] << 16 | (uint32_t)m.body[2] << 8 | m.body[3];
    }
    kg_bytes_free(&resp);
    kg_bytes_free(&w.b);
    kg_mpc_co_release(M.co, c, true);
    return e;
}

static kg_err node_epoch(int id, const kg_mpc_key *k, uint32_t *epoch) { return node_info(id, k, -1, epoch); }

static void expect_epoch(int id, uint32_t epoch)
{
    uint32_t ep = UINT32_MAX;
    kg_err e = node_epoch(id, &K, &ep);
    if (e) fail_msg("INFO of node %d: %s", id, kg_err_detail(e));
    assert_int_equal(ep, epoch);
}

static void same_record(const kg_mpc_key *a, const kg_mpc_key *b)
{
    assert_string_equal(a->key_id, b->key_id);
    assert_int_equal(a->g, b->g);
    assert_int_equal(a->ecdsa, b->ecdsa);
    assert_int_equal(a->t, b->t);
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->epoch, b->epoch);
    assert_true(kg_mpc_point_eq(a->g, &a->group_public, &b->group_public));
    assert_memory_equal(a->chain_code, b->chain_code, 32);
    for (unsigned i = 0; i < a->n; i++) {
        assert_int_equal(a->ids[i], b->ids[i]);
        assert_true(kg_mpc_point_eq(a->g, &a->pub[i], &b->pub[i]));
        assert_int_equal(a->stale[i], b->stale[i]);
    }
}

/* Node id's store files (node.db and SQLite's -wal/-shm) saved to / put
 * back from DIR/node<id>-save, or removed. The node must be down. */
static void store_files(int id, const char *how)
{
    char cmd[1400], d[300];
    mpc_nodes_path(d, sizeof d, &M, id, NULL);
    if (!strcmp(how, "save"))
        snprintf(cmd, sizeof cmd, "rm -rf '%s-save' && mkdir '%s-save' && cp -p '%s'/node.db* '%s-save'/", d, d, d, d);
    else if (!strcmp(how, "restore"))
        snprintf(cmd, sizeof cmd, "rm -f '%s'/node.db* && cp -p '%s-save'/node.db* '%s'/", d, d, d);
    else snprintf(cmd, sizeof cmd, "rm -f '%s'/node.db*", d);
    assert_int_equal(system(cmd), 0);
}

static void repair_ok(uint16_t node, const char *what)
{
    kg_mpc_key before = K;
    kg_err e = kg_mpc_coordinator_cggmp_repair(M.co, &K, node);
    if (e) fail_msg("repair of node %u (%s): %s", node, what, kg_err_detail(e));
    assert_int_equal(K.epoch, before.epoch + 1);
    assert_int_equal(K.t, 2);
    assert_int_equal(K.n, 3);
    assert_true(kg_mpc_point_eq(K.g, &K.group_public, &before.group_public));
    assert_memory_equal(K.chain_code, before.chain_code, 32);
    for (unsigned i = 0; i < K.n; i++) {
        assert_false(K.stale[i]);
        assert_false(kg_mpc_point_eq(K.g, &K.pub[i], &before.pub[i])); /* everyone's share changed */
    }
    for (int id = 1; id <= N; id++) expect_epoch(id, K.epoch);
}

/* ------------------------------------------------------------- tests */

static void test_node_killed(void **state)
{
    (void)state;
    uint16_t ids[N] = {1, 2, 3};
    kg_err e = kg_mpc_coordinator_cggmp_keygen(M.co, &K, KG_MPC_GROUP_SECP256K1, 2, ids, N);
    if (e) fail_msg("2-of-3 keygen: %s", kg_err_detail(e));
    uint8_t b[KG_MPC_POINT_MAX_BYTES];
    assert_int_equal(kg_mpc_point_serialize(K.g, b, &K.group_public), KG_OK);
    memcpy(PUB, b, 33);
    sign_check(&K, "all up");
    mpc_nodes_kill(&M, 3); /* SIGKILL */
    sign_check(&K, "node 3 killed");
    /* CGGMP21's refresh is n-party: it fails naming node 3, nothing changes */
    kg_mpc_key k = K;
    e = kg_mpc_coordinator_cggmp_refresh(M.co, &k);
    assert_int_equal(e, KG_ERR_NETWORK);
    assert_non_null(strstr(kg_err_detail(e), "3"));
    same_record(&k, &K);
    expect_epoch(1, 0);
    expect_epoch(2, 0);
    sign_check(&K, "after the failed refresh");
    /* node 3 restarted on its data: at the current epoch, signs with 1 */
    store_files(3, "save");
    assert_int_equal(mpc_nodes_start(&M, 3, NULL), 0);
    expect_epoch(3, 0);
    sign_1_3(&K, "node 3 back");
}

static void test_repair_stale(void **state)
{
    (void)state;
    kg_err e = kg_mpc_coordinator_cggmp_refresh(M.co, &K);
    if (e) fail_msg("refresh: %s", kg_err_detail(e));
    assert_int_equal(K.epoch, 1);
    /* node 3 comes back from its data of epoch 0: stale */
    mpc_nodes_kill(&M, 3);
    store_files(3, "restore");
    assert_int_equal(mpc_nodes_start(&M, 3, NULL), 0);
    expect_epoch(3, 0);
    uint8_t dg[32], sig[64];
    int recid = -1;
    mpc_nodes_kill(&M, 2);
    assert_int_not_equal(try_sign(&K, "stale node 3", sig, &recid, dg), KG_OK); /* {1,3} cannot sign */
    /* a repair with a dealer down (only node 1 at epoch 1) changes nothing */
    kg_mpc_key k = K;
    e = kg_mpc_coordinator_cggmp_repair(M.co, &k, 3);
    assert_int_equal(e, KG_ERR_NETWORK);
    assert_non_null(strstr(kg_err_detail(e), "unchanged"));
    same_record(&k, &K);
    assert_int_equal(mpc_nodes_start(&M, 2, NULL), 0);
    /* not a holder */
    e = kg_mpc_coordinator_cggmp_repair(M.co, &k, 4);
    assert_int_equal(e, KG_ERR_BAD_INPUT);
    same_record(&k, &K);
    repair_ok(3, "stale");
    assert_int_equal(K.epoch, 2);
    sign_1_3(&K, "node 3 repaired");
}

static void test_repair_wiped(void **state)
{
    (void)state;
    mpc_nodes_kill(&M, 3);
    store_files(3, "wipe");
    assert_int_equal(mpc_nodes_start(&M, 3, NULL), 0);
    uint32_t ep = 0;
    assert_int_equal(node_epoch(3, &K, &ep), KG_ERR_NOT_FOUND);
    repair_ok(3, "store wiped");
    assert_int_equal(K.epoch, 3);
    sign_1_3(&K, "wiped node 3 repaired");
}

static void test_resync(void **state)
{
    (void)state;
    kg_mpc_key old = K, k;
    kg_err e = kg_mpc_coordinator_cggmp_refresh(M.co, &K); /* the coordinator "loses" this record */
    if (e) fail_msg("refresh: %s", kg_err_detail(e));
    uint8_t dg[32], sig[64];
    int recid = -1;
    assert_int_not_equal(try_sign(&old, "old record", sig, &recid, dg), KG_OK);
    k = old;
    e = kg_mpc_coordinator_cggmp_resync(M.co, &k);
    if (e) fail_msg("resync: %s", kg_err_detail(e));
    same_record(&k, &K); /* rebuilt exactly */
    uint32_t ep = 0;
    assert_int_equal(node_info(1, &K, 1, &ep), KG_OK); /* the public tail asked for */
    assert_int_equal(ep, K.epoch);
    assert_int_equal(node_info(1, &K, 2, &ep), KG_ERR_BAD_INPUT); /* an unknown flag */
    sign_check(&k, "resynced");
    e = kg_mpc_coordinator_cggmp_resync(M.co, &k); /* in sync: nothing changes */
    assert_int_equal(e, KG_OK);
    same_record(&k, &K);
    /* node 3 down: it stays a holder, marked stale; a repair clears it */
    mpc_nodes_kill(&M, 3);
    k = old;
    e = kg_mpc_coordinator_cggmp_resync(M.co, &k);
    if (e) fail_msg("resync with node 3 down: %s", kg_err_detail(e));
    assert_int_equal(k.epoch, K.epoch);
    assert_false(k.stale[0]);
    assert_false(k.stale[1]);
    assert_true(k.stale[2]);
    for (unsigned i = 0; i < 3; i++) assert_true(kg_mpc_point_eq(k.g, &k.pub[i], &K.pub[i]));
    /* a record newer than what t nodes report is not taken back */
    kg_mpc_key ahead = K;
    ahead.epoch++;
    e = kg_mpc_coordinator_cggmp_resync(M.co, &ahead);
    assert_int_equal(e, KG_ERR_CONFLICT);
    assert_non_null(strstr(kg_err_detail(e), "node 3: down"));
    assert_int_equal(ahead.epoch, K.epoch + 1);
    assert_int_equal(mpc_nodes_start(&M, 3, NULL), 0);
    K = k;
    repair_ok(3, "after resync");
    sign_1_3(&K, "repaired after resync");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_killed),
        cmocka_unit_test(test_repair_stale),
        cmocka_unit_test(test_repair_wiped),
        cmocka_unit_test(test_resync),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
