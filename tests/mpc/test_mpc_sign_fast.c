/* Fast networked signing across real `kashguard mpc-node` processes
 * (coord.c pool, coord_sign.c fan-out and failover, coord_cache.c and
 * node_sign.c preprocessing): a 2-of-3 frost-ed25519 key on three node
 * processes, one coordinator object in this process.
 *
 *   - many signatures on pooled connections, then with preprocessed
 *     commitments, then from 4 threads at once;
 *   - a used commitment replayed to a node is refused ("already used"), a
 *     commitment the node never made is refused ("holds no preprocessed
 *     nonce"), and the replay is still refused after the node restarts;
 *   - node 1 killed with SIGKILL after its commitments were cached: signing
 *     goes on with nodes 2 and 3; node 2 then stopped (SIGSTOP): the
 *     signature times out on it and fails naming nodes 1 and 2;
 *   - node 1 restarted on its data directory, re-preprocessed, node 3
 *     killed: signing with nodes 1 and 2 works.
 * Every signature is checked with libsodium. Node processes are killed at
 * the end whatever happens. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "../../src/mpc/node_int.h"
#include "kashguard/crypto.h"
#include "mpc_nodes.h"

#define N 3

static struct {
    mpc_nodes m;       /* the node processes and the coordinator (T.m.co) */
    kg_mpc_key k;
    uint8_t pub[32];
    uint64_t ctr;
    kg_bytes used_req; /* a SIGN_PRE request node 1 already answered */
} T;

static int group_setup(void **state)
{
    (void)state;
    if (sodium_init() < 0 || mpc_nodes_init(&T.m, "kg-signfast", N, true) != 0) return -1;
    uint16_t ids[N] = {1, 2, 3};
    kg_err err = kg_mpc_coordinator_keygen(T.m.co, &T.k, KG_MPC_GROUP_ED25519, false, 2, ids, N);
    size_t pl = 0;
    uint8_t pub[KG_MPC_POINT_MAX_BYTES];
    if (!err) err = kg_mpc_key_public(pub, &pl, &T.k);
    if (!err && pl == 32) memcpy(T.pub, pub, 32);
    if (err) fprintf(stderr, "setup: %s\n", kg_err_detail(err));
    return err ? -1 : 0;
}

static int group_teardown(void **state)
{
    (void)state;
    mpc_nodes_free(&T.m);
    kg_bytes_free(&T.used_req);
    return 0;
}

static kg_err sign_check(void)
{
    uint8_t msg[32], sig[KG_MPC_FROST_SIG_MAX_BYTES];
    size_t sl = 0;
    uint64_t c = __atomic_fetch_add(&T.ctr, 1, __ATOMIC_RELAXED);
    kg_crypto_sha256(msg, (const uint8_t *)&c, sizeof c);
    kg_err err = kg_mpc_coordinator_sign(T.m.co, sig, &sl, &T.k, msg, sizeof msg, NULL);
    if (!err && (sl != 64 || crypto_sign_verify_detached(sig, msg, sizeof msg, T.pub) != 0)) err = KG_ERR_VERIFY;
    return err;
}

static void test_pooled_many(void **state)
{
    (void)state;
    for (int i = 0; i < 20; i++) {
        kg_err err = sign_check();
        if (err) fail_msg("signature %d: %s", i, kg_err_detail(err));
    }
}

static void test_preprocessed_many(void **state)
{
    (void)state;
    assert_int_equal(kg_mpc_coordinator_set_preprocess(T.m.co, 101), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_coordinator_set_preprocess(T.m.co, 8), KG_OK);
    kg_err err = kg_mpc_coordinator_preprocess(T.m.co, &T.k, 5);
    if (err) fail_msg("preprocess: %s", kg_err_detail(err));
    for (int i = 0; i < 30; i++) /* beyond the 5 cached: background refills */
        if ((err = sign_check())) fail_msg("signature %d: %s", i, kg_err_detail(err));
}

static void *sign_thread(void *arg)
{
    kg_err *err = arg;
    for (int i = 0; i < 8 && !*err; i++) *err = sign_check();
    return NULL;
}

static void test_concurrent(void **state)
{
    (void)state;
    pthread_t th[4];
    kg_err err[4] = {0};
    for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&th[i], NULL, sign_thread, &err[i]), 0);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) assert_int_equal(err[i], KG_OK);
}

/* One request to node id; the error code of the answer. */
static kg_err call(uint16_t id, uint8_t type, const kg_bytes *body, kg_bytes *resp, kg_mpc_node_msg *m)
{
    uint8_t sess[KG_MPC_NET_SESSION_ID_BYTES] = {1};
    kg_mpc_net_conn *c = NULL;
    kg_err err = kg_mpc_co_connect(&c, T.m.co, id);
    if (!err) err = kg_mpc_coord_call(resp, m, c, type, KG_MPC_GROUP_ED25519, sess, body);
    kg_mpc_co_release(T.m.co, c, !err || err == KG_ERR_CONFLICT || err == KG_ERR_NOT_FOUND);
    return err;
}

/* One fresh commitment of node id (wire form). */
static void preprocess_one(uint16_t id, uint8_t *out, size_t *len)
{
    kg_mpc_node_wr w = {0};
    kg_mpc_node_wr_blob(&w, (const uint8_t *)T.k.key_id, strlen(T.k.key_id));
    kg_mpc_node_wr_u16(&w, 1);
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    kg_bytes resp = {0};
    kg_mpc_node_msg m;
    kg_err err = call(id, KG_MPC_NODE_SIGN_PREPROCESS, &w.b, &resp, &m);
    if (err) fail_msg("preprocess on node %u: %s", id, kg_err_detail(err));
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, m.body, m.body_len);
    assert_int_equal(kg_mpc_node_rd_u16(&r), 1);
    const uint8_t *p = kg_mpc_node_rd_blob(&r, len, KG_MPC_FROST_COMMITMENT_MAX_BYTES);
    assert_non_null(p);
    memcpy(out, p, *len);
    kg_bytes_free(&resp);
    kg_bytes_free(&w.b);
}

static void sign_pre_body(kg_bytes *out, const uint8_t *c1, size_t l1, const uint8_t *c2, size_t l2)
{
    kg_mpc_node_wr w = {0};
    kg_mpc_node_wr_blob(&w, (const uint8_t *)T.k.key_id, strlen(T.k.key_id));
    kg_mpc_node_wr_blob(&w, (const uint8_t *)"replay", 6);
    kg_mpc_node_wr_u16(&w, 2);
    kg_mpc_node_wr_blob(&w, c1, l1);
    kg_mpc_node_wr_blob(&w, c2, l2);
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    *out = w.b;
}

static void test_replay_refused(void **state)
{
    (void)state;
    uint8_t c1[KG_MPC_FROST_COMMITMENT_MAX_BYTES], c2[KG_MPC_FROST_COMMITMENT_MAX_BYTES];
    size_t l1 = 0, l2 = 0;
    preprocess_one(1, c1, &l1);
    preprocess_one(2, c2, &l2);
    sign_pre_body(&T.used_req, c1, l1, c2, l2);
    kg_bytes resp = {0};
    kg_mpc_node_msg m;
    kg_err err = call(1, KG_MPC_NODE_SIGN_PRE, &T.used_req, &resp, &m);
    if (err) fail_msg("first use: %s", kg_err_detail(err));
    assert_int_equal(m.body_len, KG_MPC_FROST_SIG_SHARE_BYTES);
    kg_bytes_free(&resp);
    err = call(1, KG_MPC_NODE_SIGN_PRE, &T.used_req, &resp, &m);
    assert_int_equal(err, KG_ERR_CONFLICT);
    assert_non_null(strstr(kg_err_detail(err), "already used"));
    assert_non_null(strstr(kg_err_detail(err), "node 1"));
    /* node 2's commitment relabelled as node 1's: never made by node 1 */
    uint8_t fake[KG_MPC_FROST_COMMITMENT_MAX_BYTES];
    memcpy(fake, c2, l2);
    fake[0] = 0, fake[1] = 1;
    kg_bytes body = {0};
    preprocess_one(2, c2, &l2);
    sign_pre_body(&body, fake, l2, c2, l2);
    err = call(1, KG_MPC_NODE_SIGN_PRE, &body, &resp, &m);
    assert_int_equal(err, KG_ERR_NOT_FOUND);
    assert_non_null(strstr(kg_err_detail(err), "holds no preprocessed nonce"));
    kg_bytes_free(&body);
}

static void test_failover_kill(void **state)
{
    (void)state;
    kg_err err = kg_mpc_coordinator_preprocess(T.m.co, &T.k, 5); /* node 1 has cached commitments */
    if (err) fail_msg("preprocess: %s", kg_err_detail(err));
    mpc_nodes_kill(&T.m, 1);
    for (int i = 0; i < 5; i++)
        if ((err = sign_check())) fail_msg("signature %d without node 1: %s", i, kg_err_detail(err));
    /* node 2 hangs: its answer times out, then too few nodes are left */
    assert_int_equal(kill(T.m.pid[2], SIGSTOP), 0);
    int st = 0; /* kill() does not wait for the stop to happen: make sure it did */
    assert_int_equal(waitpid(T.m.pid[2], &st, WUNTRACED), T.m.pid[2]);
    assert_true(WIFSTOPPED(st));
    err = sign_check();
    kill(T.m.pid[2], SIGCONT);
    assert_int_equal(err, KG_ERR_NETWORK);
    const char *d = kg_err_detail(err);
    assert_non_null(strstr(d, "node 1"));
    assert_non_null(strstr(d, "node 2"));
}

static void test_restart(void **state)
{
    (void)state;
    assert_int_equal(mpc_nodes_start(&T.m, 1, NULL), 0);
    kg_err err = kg_mpc_coordinator_preprocess(T.m.co, &T.k, 5);
    if (err) fail_msg("preprocess after restart: %s", kg_err_detail(err));
    kg_bytes resp = {0};
    kg_mpc_node_msg m;
    err = call(1, KG_MPC_NODE_SIGN_PRE, &T.used_req, &resp, &m); /* durable: still used */
    assert_int_equal(err, KG_ERR_CONFLICT);
    mpc_nodes_kill(&T.m, 3); /* signing now needs node 1 */
    for (int i = 0; i < 5; i++)
        if ((err = sign_check())) fail_msg("signature %d with the restarted node: %s", i, kg_err_detail(err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pooled_many),     cmocka_unit_test(test_preprocessed_many),
        cmocka_unit_test(test_concurrent),      cmocka_unit_test(test_replay_refused),
        cmocka_unit_test(test_failover_kill),   cmocka_unit_test(test_restart),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
