/* BIP 445 (frost-secp256k1-tr) and the node protocol across processes, the
 * hard cases: four real `kashguard mpc-node` processes on free loopback
 * ports (some runs use the test-only `kashguard-evil` binary, which cheats
 * or hangs on request, src/mpc/node_evil.h), a coordinator in this process.
 *
 *  - epochs: a key made by DKG on 2-of-3 nodes, refreshed, then reshared
 *    to 3-of-4; after each step BIP340 signatures (plain, BIP86 and with a
 *    merkle root) verified with libsecp256k1's secp256k1_schnorrsig_verify
 *    against the key as first made, which never changes;
 *  - failover mid-session: a node that answers round 1 and then stops
 *    (SIGSTOP) is replaced and the signature completes; with too few nodes
 *    left the error names each failed node;
 *  - cheating: a wrong BIP 445 psig, and a wrong RFC 9591 share on the
 *    preprocessed (one round) path, each named by the coordinator;
 *  - replay: captured request frames sent again (SIGN_TR_SIGN, DKG_ROUND2,
 *    SIGN_PRE), a wrong session id and an unknown participant id get a clear
 *    error, and the node still signs correctly afterwards. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>
#include <sodium.h>

#include "kashguard/crypto.h"
#include "kashguard/mpc/frost_tr.h"
#include "kashguard/mpc/node.h"
#include "../../src/mpc/node_int.h"

#include "../mpc/mpc_nodes.h"
#include "../mpc/bip340_check.h"

#define N 4
static mpc_nodes M; /* the nodes, their CA and the coordinator M.co */
static kg_mpc_key ktr; /* frost-secp256k1-tr 2-of-3 on nodes 1..3 */
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
    if (mpc_nodes_init(&M, "kg-mpc-trnet", N, true) != 0) return -1;
    uint16_t ids[3] = {1, 2, 3};
    kg_err e = kg_mpc_coordinator_keygen(M.co, &ktr, KG_MPC_GROUP_SECP256K1, true, 2, ids, 3);
    if (e != KG_OK) fprintf(stderr, "keygen: %s\n", kg_err_detail(e));
    return e == KG_OK ? 0 : -1;
}

/* ------------------------------------------------ independent checks */

static kg_err tr_sign(uint8_t sig[64], const kg_mpc_key *k, const uint8_t *msg, size_t len, const kg_mpc_sign_opts *o)
{
    uint8_t s[KG_MPC_FROST_SIG_MAX_BYTES];
    size_t sl = 0;
    kg_err e = kg_mpc_coordinator_sign(M.co, s, &sl, k, msg, len, o);
    if (e == KG_OK) assert_int_equal(sl, 64);
    else assert_int_equal(sl, 0);
    memcpy(sig, s, 64);
    return e;
}

/* Plain, BIP86 and script-tree signatures of k, checked against x (the
 * x-only key as first made) with libsecp256k1. */
static void sign_all_ways(const kg_mpc_key *k, const uint8_t x[32], const char *what)
{
    uint8_t msg[32], sig[64], out[32], mr[32];
    kg_err e;
    kg_crypto_sha256(msg, (const uint8_t *)what, strlen(what));
    if ((e = tr_sign(sig, k, msg, sizeof msg, NULL))) fail_msg("%s: plain sign: %s", what, kg_err_detail(e));
    assert_true(bip340_verify(ctx, sig, msg, sizeof msg, x));
    msg[5] ^= 1;
    assert_false(bip340_verify(ctx, sig, msg, sizeof msg, x));
    kg_mpc_sign_opts o = {.taproot_tweak = true};
    if ((e = tr_sign(sig, k, msg, sizeof msg, &o))) fail_msg("%s: BIP86 sign: %s", what, kg_err_detail(e));
    bip340_output_key(ctx, out, x, NULL);
    assert_true(bip340_verify(ctx, sig, msg, sizeof msg, out));
    assert_false(bip340_verify(ctx, sig, msg, sizeof msg, x));
    memset(mr, 0xa5, sizeof mr);
    o.has_merkle_root = true;
    memcpy(o.merkle_root, mr, 32);
    if ((e = tr_sign(sig, k, msg, sizeof msg, &o))) fail_msg("%s: script-tree sign: %s", what, kg_err_detail(e));
    bip340_output_key(ctx, out, x, mr);
    assert_true(bip340_verify(ctx, sig, msg, sizeof msg, out));
}

static void xonly_of(uint8_t x[32], const kg_mpc_key *k)
{
    uint8_t pub[KG_MPC_POINT_MAX_BYTES];
    size_t pl = 0;
    assert_int_equal(kg_mpc_key_public(pub, &pl, k), KG_OK);
    assert_int_equal(pl, 32);
    memcpy(x, pub, 32);
}

/* ------------------------------------------------------------ tests */

static void test_refresh_reshare(void **state)
{
    (void)state;
    kg_mpc_key k;
    uint16_t ids[3] = {1, 2, 3}, all[4] = {1, 2, 3, 4};
    uint8_t x0[32], x[32];
    kg_err e = kg_mpc_coordinator_keygen(M.co, &k, KG_MPC_GROUP_SECP256K1, true, 2, ids, 3);
    if (e) fail_msg("keygen: %s", kg_err_detail(e));
    kg_mpc_point gp = k.group_public, pub0 = k.pub[0];
    xonly_of(x0, &k);
    sign_all_ways(&k, x0, "epoch 0, 2-of-3");

    if ((e = kg_mpc_coordinator_refresh(M.co, &k))) fail_msg("refresh: %s", kg_err_detail(e));
    assert_int_equal(k.epoch, 1);
    assert_memory_equal(k.group_public.b, gp.b, sizeof gp.b);
    assert_memory_not_equal(k.pub[0].b, pub0.b, sizeof pub0.b); /* new shares */
    xonly_of(x, &k);
    assert_memory_equal(x, x0, 32);
    sign_all_ways(&k, x0, "epoch 1, refreshed");

    if ((e = kg_mpc_coordinator_reshare(M.co, &k, 3, all, 4))) fail_msg("reshare: %s", kg_err_detail(e));
    assert_int_equal(k.epoch, 2);
    assert_int_equal(k.t, 3);
    assert_int_equal(k.n, 4);
    assert_memory_equal(k.group_public.b, gp.b, sizeof gp.b);
    sign_all_ways(&k, x0, "epoch 2, 3-of-4 (nodes 1, 2, 3)");
    kg_mpc_key k2 = k; /* node 1 left out: nodes 2, 3, 4 sign */
    k2.stale[0] = true;
    sign_all_ways(&k2, x0, "epoch 2, 3-of-4 (nodes 2, 3, 4)");
    k2.stale[1] = true; /* only two holders left for a threshold of three */
    uint8_t sig[64], msg[32] = {7};
    assert_int_equal(tr_sign(sig, &k2, msg, 32, NULL), KG_ERR_NETWORK);
}

/* Node 1 answers round 1, then stops itself on SIGN_TR_SIGN: the
 * coordinator drops it and signs again with nodes 2 and 3. */
static void test_failover_mid_session(void **state)
{
    (void)state;
    if (!mpc_nodes_have_evil(&M)) return;
    uint8_t x[32], out[32], msg[32] = {0x42}, sig[64];
    int st = 0;
    xonly_of(x, &ktr);
    assert_int_equal(mpc_nodes_start(&M, 1, "stop-tr-sign"), 0);
    kg_mpc_sign_opts o = {.taproot_tweak = true};
    kg_err e = tr_sign(sig, &ktr, msg, sizeof msg, &o);
    if (e) fail_msg("sign with node 1 hanging in round 2: %s", kg_err_detail(e));
    bip340_output_key(ctx, out, x, NULL);
    assert_true(bip340_verify(ctx, sig, msg, sizeof msg, out));
    /* node 1 really took part and stopped mid-session */
    assert_int_equal(waitpid(M.pid[1], &st, WNOHANG | WUNTRACED), M.pid[1]);
    assert_true(WIFSTOPPED(st));

    /* nodes 1 and 2 both hang after round 1: only node 3 is left */
    assert_int_equal(mpc_nodes_start(&M, 1, "stop-tr-sign"), 0);
    assert_int_equal(mpc_nodes_start(&M, 2, "stop-tr-sign"), 0);
    e = tr_sign(sig, &ktr, msg, sizeof msg, NULL);
    assert_int_equal(e, KG_ERR_NETWORK);
    const char *d = kg_err_detail(e);
    assert_non_null(d);
    printf("too few nodes: %s\n", d);
    assert_non_null(strstr(d, "only 1 of the 2 nodes needed"));
    assert_non_null(strstr(d, "node 1:"));
    assert_non_null(strstr(d, "node 2:"));
    assert_null(strstr(d, "node 3:"));
    assert_int_equal(mpc_nodes_start(&M, 1, NULL), 0);
    assert_int_equal(mpc_nodes_start(&M, 2, NULL), 0);
    sign_all_ways(&ktr, x, "after the failover");
}

/* Node 2 answers a wrong BIP 445 psig: the coordinator names it. */
static void test_bad_psig(void **state)
{
    (void)state;
    if (!mpc_nodes_have_evil(&M)) return;
    uint8_t x[32], msg[32] = {1}, sig[64];
    xonly_of(x, &ktr);
    assert_int_equal(mpc_nodes_start(&M, 2, "bad-sig-share"), 0);
    kg_err e = tr_sign(sig, &ktr, msg, sizeof msg, NULL);
    assert_int_equal(e, KG_ERR_VERIFY);
    assert_non_null(strstr(kg_err_detail(e), "invalid BIP 445 partial signatures from node(s) 2"));
    assert_int_equal(mpc_nodes_start(&M, 2, NULL), 0);
    sign_all_ways(&ktr, x, "after the bad psig");
}

/* Preprocessed (one-round, SIGN_PRE) RFC 9591 signing with a cheating
 * node 2: the wrong share is named, and the honest node signs again. */
static void test_bad_pre_share(void **state)
{
    (void)state;
    if (!mpc_nodes_have_evil(&M)) return;
    kg_mpc_key ked;
    uint16_t ids[3] = {1, 2, 3};
    uint8_t s[KG_MPC_FROST_SIG_MAX_BYTES], msg[] = "preprocessed";
    size_t sl = 0;
    kg_err e = kg_mpc_coordinator_keygen(M.co, &ked, KG_MPC_GROUP_ED25519, false, 2, ids, 3);
    if (e) fail_msg("keygen: %s", kg_err_detail(e));
    assert_int_equal(mpc_nodes_start(&M, 2, "bad-sig-share"), 0);
    assert_int_equal(kg_mpc_coordinator_set_preprocess(M.co, 4), KG_OK);
    if ((e = kg_mpc_coordinator_preprocess(M.co, &ked, 4))) fail_msg("preprocess: %s", kg_err_detail(e));
    e = kg_mpc_coordinator_sign(M.co, s, &sl, &ked, msg, sizeof msg, NULL);
    assert_int_equal(e, KG_ERR_VERIFY);
    assert_int_equal(sl, 0);
    assert_non_null(strstr(kg_err_detail(e), "invalid signature shares from node(s) 2"));
    assert_int_equal(mpc_nodes_start(&M, 2, NULL), 0);
    if ((e = kg_mpc_coordinator_preprocess(M.co, &ked, 4))) fail_msg("preprocess: %s", kg_err_detail(e));
    if ((e = kg_mpc_coordinator_sign(M.co, s, &sl, &ked, msg, sizeof msg, NULL))) fail_msg("sign: %s", kg_err_detail(e));
    assert_int_equal(sl, 64);
    assert_int_equal(crypto_sign_verify_detached(s, msg, sizeof msg, ked.group_public.b), 0);
    assert_int_equal(kg_mpc_coordinator_set_preprocess(M.co, 0), KG_OK);
}

/* ---------------------------------------------------- replay driver */

/* Send a raw request frame (made by kg_mpc_node_msg_encode) on c and
 * decode the answer: KG_OK and the body, or the node's error. */
static kg_err raw_call(kg_bytes *resp, kg_mpc_node_msg *m, kg_mpc_net_conn *c, const kg_bytes *frame)
{
    kg_err e = kg_mpc_net_send(c, frame->data, frame->len, 10000);
    if (!e) e = kg_mpc_net_recv(resp, c, 10000);
    if (!e) e = kg_mpc_node_msg_decode(m, resp->data, resp->len);
    if (!e && m->type == KG_MPC_NODE_ERROR) e = kg_mpc_node_error_decode(m, kg_mpc_net_conn_peer(c));
    return e;
}

static void frame_of(kg_bytes *out, uint8_t type, kg_mpc_group_id g, const uint8_t *sess, const kg_bytes *body)
{
    kg_mpc_node_msg q = {.type = type, .scheme = (uint8_t)g, .body = body->data, .body_len = body->len};
    memcpy(q.session, sess, KG_MPC_NET_SESSION_ID_BYTES);
    assert_int_equal(kg_mpc_node_msg_encode(out, &q), KG_OK);
}

/* SIGN_TR_NONCE to nodes 1 and 2 in session sess; the aggnonce and the
 * SIGN_TR_SIGN body with signer ids id1, id2 (as written on the wire). */
static void tr_round1(kg_bytes *body2, kg_mpc_net_conn **c, const uint8_t *sess, const uint8_t *msg, uint16_t id2)
{
    uint8_t pub[2][KG_MPC_FROST_TR_PUBNONCE_BYTES], agg[KG_MPC_FROST_TR_AGGNONCE_BYTES];
    kg_mpc_node_wr w = {0};
    kg_mpc_node_wr_blob(&w, (const uint8_t *)ktr.key_id, strlen(ktr.key_id));
    kg_mpc_node_wr_blob(&w, msg, 32);
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    for (int i = 0; i < 2; i++) {
        kg_bytes resp;
        kg_mpc_node_msg m;
        kg_err e = kg_mpc_coord_call(&resp, &m, c[i], KG_MPC_NODE_SIGN_TR_NONCE, ktr.g, sess, &w.b);
        if (e) fail_msg("nonce: %s", kg_err_detail(e));
        assert_int_equal(m.body_len, sizeof pub[i]);
        memcpy(pub[i], m.body, sizeof pub[i]);
        kg_bytes_free(&resp);
    }
    kg_mpc_frost_tr_blame blame;
    assert_int_equal(kg_mpc_frost_tr_nonce_agg(agg, &blame, (const uint8_t (*)[KG_MPC_FROST_TR_PUBNONCE_BYTES])pub, 2),
                     KG_OK);
    kg_mpc_node_wr_u16(&w, 2);
    kg_mpc_node_wr_u16(&w, 1);
    kg_mpc_node_wr_fixed(&w, ktr.pub[0].b, KG_MPC_FROST_TR_PUBSHARE_BYTES);
    kg_mpc_node_wr_u16(&w, id2);
    kg_mpc_node_wr_fixed(&w, ktr.pub[1].b, KG_MPC_FROST_TR_PUBSHARE_BYTES);
    kg_mpc_node_wr_fixed(&w, agg, sizeof agg);
    kg_mpc_node_wr_u16(&w, 0);
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    *body2 = w.b;
}

static void expect_refused(kg_err e, kg_err code, const char *what, const char *needle)
{
    const char *d = kg_err_detail(e);
    printf("%s -> %s: %s\n", what, kg_err_str(e), d ? d : "");
    assert_int_equal(e, code);
    assert_non_null(d);
    assert_non_null(strstr(d, needle));
}

static void test_replay_tr(void **state)
{
    (void)state;
    kg_mpc_net_conn *c[2] = {NULL, NULL};
    uint8_t sess[KG_MPC_NET_SESSION_ID_BYTES], other[KG_MPC_NET_SESSION_ID_BYTES], msg[32] = {3}, x[32];
    kg_bytes body = {0}, frame = {0}, resp = {0};
    kg_mpc_node_msg m;
    xonly_of(x, &ktr);
    assert_int_equal(kg_mpc_co_connect(&c[0], M.co, 1), KG_OK);
    assert_int_equal(kg_mpc_co_connect(&c[1], M.co, 2), KG_OK);

    /* a round-2 frame answered once, then replayed byte for byte */
    assert_int_equal(kg_crypto_random(sess, sizeof sess), KG_OK);
    tr_round1(&body, c, sess, msg, 2);
    frame_of(&frame, KG_MPC_NODE_SIGN_TR_SIGN, ktr.g, sess, &body);
    kg_err e = raw_call(&resp, &m, c[0], &frame);
    if (e) fail_msg("first SIGN_TR_SIGN: %s", kg_err_detail(e));
    assert_int_equal(m.body_len, KG_MPC_FROST_TR_PSIG_BYTES);
    kg_bytes_free(&resp);
    e = raw_call(&resp, &m, c[0], &frame);
    kg_bytes_free(&resp);
    expect_refused(e, KG_ERR_NOT_FOUND, "SIGN_TR_SIGN replayed", "node 1: no session");
    kg_bytes_free(&frame);

    /* the same body under a session id the node never saw */
    assert_int_equal(kg_crypto_random(other, sizeof other), KG_OK);
    frame_of(&frame, KG_MPC_NODE_SIGN_TR_SIGN, ktr.g, other, &body);
    e = raw_call(&resp, &m, c[1], &frame);
    kg_bytes_free(&resp);
    expect_refused(e, KG_ERR_NOT_FOUND, "SIGN_TR_SIGN, unknown session", "node 2: no session");
    kg_bytes_free(&frame);
    kg_bytes_free(&body);

    /* an unknown participant (id 9 in the signer list) */
    assert_int_equal(kg_crypto_random(sess, sizeof sess), KG_OK);
    tr_round1(&body, c, sess, msg, 9);
    frame_of(&frame, KG_MPC_NODE_SIGN_TR_SIGN, ktr.g, sess, &body);
    e = raw_call(&resp, &m, c[0], &frame);
    kg_bytes_free(&resp);
    printf("unknown participant -> %s: %s\n", kg_err_str(e), kg_err_detail(e));
    assert_int_not_equal(e, KG_OK);
    assert_non_null(strstr(kg_err_detail(e), "node 1:"));
    kg_bytes_free(&frame);
    kg_bytes_free(&body);
    kg_mpc_co_release(M.co, c[0], true);
    kg_mpc_co_release(M.co, c[1], true);

    /* the nodes still sign, and correctly */
    sign_all_ways(&ktr, x, "after the replays");
}

/* DKG round 2 replayed: the session has moved on, the node refuses. */
static void test_replay_dkg(void **state)
{
    (void)state;
    kg_mpc_net_conn *c[3] = {NULL, NULL, NULL};
    kg_bytes r1[3] = {{0}}, resp = {0}, frame = {0};
    kg_mpc_node_msg m;
    uint8_t sess[KG_MPC_NET_SESSION_ID_BYTES];
    const char *kid = "mpc-replaytest";
    kg_mpc_node_wr w = {0};
    kg_mpc_node_wr_u16(&w, 2);
    kg_mpc_node_wr_u16(&w, 3);
    kg_mpc_node_wr_blob(&w, (const uint8_t *)kid, strlen(kid));
    for (uint16_t id = 1; id <= 3; id++) {
        kg_mpc_net_pubkeys pk;
        assert_int_equal(kg_mpc_co_registry_get(&pk, M.co, id), KG_OK);
        kg_mpc_node_wr_u16(&w, id);
        kg_mpc_node_wr_fixed(&w, pk.box, 32);
        kg_mpc_node_wr_fixed(&w, pk.sign, 32);
    }
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    assert_int_equal(kg_crypto_random(sess, sizeof sess), KG_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(kg_mpc_co_connect(&c[i], M.co, (uint16_t)(i + 1)), KG_OK);
        kg_err e = kg_mpc_coord_call(&resp, &m, c[i], KG_MPC_NODE_DKG_ROUND1, KG_MPC_GROUP_SECP256K1, sess, &w.b);
        if (e) fail_msg("round 1: %s", kg_err_detail(e));
        kg_mpc_node_rd r;
        size_t len = 0;
        kg_mpc_node_rd_init(&r, m.body, m.body_len);
        const uint8_t *p = kg_mpc_node_rd_blob(&r, &len, m.body_len);
        assert_non_null(p);
        assert_int_equal(kg_bytes_set(&r1[i], p, len), KG_OK);
        kg_bytes_free(&resp);
    }
    kg_bytes_free(&w.b);
    w = (kg_mpc_node_wr){0};
    kg_mpc_node_wr_u16(&w, 2); /* node 1's round 2: the envelopes of 2 and 3 */
    kg_mpc_node_wr_blob(&w, r1[1].data, r1[1].len);
    kg_mpc_node_wr_blob(&w, r1[2].data, r1[2].len);
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    frame_of(&frame, KG_MPC_NODE_DKG_ROUND2, KG_MPC_GROUP_SECP256K1, sess, &w.b);
    kg_err e = raw_call(&resp, &m, c[0], &frame);
    if (e) fail_msg("round 2: %s", kg_err_detail(e));
    kg_bytes_free(&resp);
    e = raw_call(&resp, &m, c[0], &frame);
    kg_bytes_free(&resp);
    expect_refused(e, KG_ERR_NOT_FOUND, "DKG_ROUND2 replayed", "node 1: no session in the right state");
    kg_bytes_free(&frame);
    kg_bytes_free(&w.b);
    w = (kg_mpc_node_wr){0};
    kg_bytes empty = {0};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(kg_mpc_coord_call(&resp, &m, c[i], KG_MPC_NODE_DKG_ABORT, KG_MPC_GROUP_SECP256K1, sess, &empty),
                         KG_OK);
        kg_bytes_free(&resp);
        kg_mpc_co_release(M.co, c[i], true);
        kg_bytes_free(&r1[i]);
    }
    /* the nodes hold nothing for that key id, and still sign */
    kg_mpc_key fake = ktr;
    snprintf(fake.key_id, sizeof fake.key_id, "%s", kid);
    uint8_t sig[64], msg[32] = {5}, x[32];
    e = tr_sign(sig, &fake, msg, sizeof msg, NULL);
    assert_int_not_equal(e, KG_OK);
    assert_non_null(strstr(kg_err_detail(e), "no key mpc-replaytest"));
    xonly_of(x, &ktr);
    sign_all_ways(&ktr, x, "after the DKG replay");
}

/* A SIGN_PRE frame (preprocessed nonce) replayed: the nonce signs once. */
static void test_replay_pre(void **state)
{
    (void)state;
    kg_mpc_key ked;
    uint16_t ids[3] = {1, 2, 3};
    kg_err e = kg_mpc_coordinator_keygen(M.co, &ked, KG_MPC_GROUP_ED25519, false, 2, ids, 3);
    if (e) fail_msg("keygen: %s", kg_err_detail(e));
    kg_mpc_net_conn *c[2] = {NULL, NULL};
    kg_bytes resp = {0}, cm[2] = {{0}}, frame = {0};
    kg_mpc_node_msg m;
    uint8_t sess[KG_MPC_NET_SESSION_ID_BYTES] = {0}, msg[] = "replay me";
    kg_mpc_node_wr w = {0};
    kg_mpc_node_wr_blob(&w, (const uint8_t *)ked.key_id, strlen(ked.key_id));
    kg_mpc_node_wr_u16(&w, 1);
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(kg_mpc_co_connect(&c[i], M.co, (uint16_t)(i + 1)), KG_OK);
        e = kg_mpc_coord_call(&resp, &m, c[i], KG_MPC_NODE_SIGN_PREPROCESS, ked.g, sess, &w.b);
        if (e) fail_msg("preprocess: %s", kg_err_detail(e));
        kg_mpc_node_rd r;
        size_t len = 0;
        kg_mpc_node_rd_init(&r, m.body, m.body_len);
        assert_int_equal(kg_mpc_node_rd_u16(&r), 1);
        const uint8_t *p = kg_mpc_node_rd_blob(&r, &len, m.body_len);
        assert_non_null(p);
        assert_int_equal(kg_bytes_set(&cm[i], p, len), KG_OK);
        kg_bytes_free(&resp);
    }
    kg_bytes_free(&w.b);
    w = (kg_mpc_node_wr){0};
    kg_mpc_node_wr_blob(&w, (const uint8_t *)ked.key_id, strlen(ked.key_id));
    kg_mpc_node_wr_blob(&w, msg, sizeof msg);
    kg_mpc_node_wr_u16(&w, 2);
    kg_mpc_node_wr_blob(&w, cm[0].data, cm[0].len);
    kg_mpc_node_wr_blob(&w, cm[1].data, cm[1].len);
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    assert_int_equal(kg_crypto_random(sess, sizeof sess), KG_OK);
    frame_of(&frame, KG_MPC_NODE_SIGN_PRE, ked.g, sess, &w.b);
    e = raw_call(&resp, &m, c[0], &frame);
    if (e) fail_msg("SIGN_PRE: %s", kg_err_detail(e));
    assert_int_equal(m.body_len, KG_MPC_FROST_SIG_SHARE_BYTES);
    kg_bytes_free(&resp);
    e = raw_call(&resp, &m, c[0], &frame);
    kg_bytes_free(&resp);
    expect_refused(e, KG_ERR_CONFLICT, "SIGN_PRE replayed", "already used");
    kg_bytes_free(&frame);
    kg_bytes_free(&w.b);
    w = (kg_mpc_node_wr){0};
    for (int i = 0; i < 2; i++) {
        kg_mpc_co_release(M.co, c[i], true);
        kg_bytes_free(&cm[i]);
    }
    uint8_t s[KG_MPC_FROST_SIG_MAX_BYTES];
    size_t sl = 0;
    if ((e = kg_mpc_coordinator_sign(M.co, s, &sl, &ked, msg, sizeof msg, NULL))) fail_msg("sign: %s", kg_err_detail(e));
    assert_int_equal(crypto_sign_verify_detached(s, msg, sizeof msg, ked.group_public.b), 0);
}

int main(void)
{
    if (access(KG_BINARY, X_OK) != 0) {
        printf("skip: %s is not built\n", KG_BINARY);
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refresh_reshare),
        cmocka_unit_test(test_replay_tr),
        cmocka_unit_test(test_replay_dkg),
        cmocka_unit_test(test_replay_pre),
        cmocka_unit_test(test_bad_psig),
        cmocka_unit_test(test_bad_pre_share),
        cmocka_unit_test(test_failover_mid_session),
    };
    return cmocka_run_group_tests_name("mpc_tr_net", tests, setup, teardown);
}
