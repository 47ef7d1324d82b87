/* The node side of refresh (src/mpc/node_refresh.c, node_epoch.c) in
 * process: three nodes with their own stores and envelope keys hold a
 * 2-of-3 Ed25519 key; this file plays the coordinator (routing envelopes by
 * their header, as coord_refresh.c does).
 *
 * Two phases: after EPOCH_FINISH every node still signs with its old share
 * at epoch 0; EPOCH_COMMIT makes the new share active at epoch 1 (a retried
 * COMMIT is fine, one of another session is refused), the new shares
 * interpolate to the same secret as the old ones and differ from them.
 * EPOCH_ABORT after FINISH leaves the old share active and nothing to
 * commit. A request for another epoch is refused with the epoch error. A
 * tampered dealing or commitment names its dealer. Malformed bodies are
 * refused with KG_ERR_BAD_INPUT and change nothing (no session, same share). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "kashguard/crypto.h"
#include "../../src/mpc/node_int.h"

#define G KG_MPC_GROUP_ED25519
#define KEY "k-epoch"

static kg_mpc_nd nd[3];
static kg_mpc_node_config cfg[3];
static char db[3][64];
static kg_mpc_frost_key_share orig[3];
static kg_mpc_point orig_pub[3];

static void node_setup(int i)
{
    uint8_t k[32];
    memset(&nd[i], 0, sizeof nd[i]);
    cfg[i].id = (uint16_t)(i + 1);
    nd[i].cfg = &cfg[i];
    snprintf(db[i], sizeof db[i], "/tmp/kg-test-epoch-%d-%d.db", (int)getpid(), i);
    unlink(db[i]);
    assert_int_equal(kg_store_open(&nd[i].st, db[i]), KG_OK);
    assert_int_equal(kg_crypto_random(k, sizeof k), KG_OK);
    assert_non_null(nd[i].seal_key = kg_secret_from(k, sizeof k));
    assert_int_equal(kg_mpc_net_keys_generate(&nd[i].env, &nd[i].env_pub), KG_OK);
    assert_int_equal(kg_mpc_net_replay_new(&nd[i].replay, 256), KG_OK);
    assert_int_equal(kg_mpc_nd_share_save(&nd[i], KEY, &orig[i]), KG_OK);
}

static int setup(void **state)
{
    (void)state;
    kg_mpc_point vss[2];
    assert_int_equal(kg_mpc_frost_dealer_keygen(G, orig, vss, 2, 3, NULL, NULL), KG_OK);
    for (int i = 0; i < 3; i++) {
        orig_pub[i] = orig[i].public_share;
        node_setup(i);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++) {
        for (size_t j = 0; j < KG_MPC_ND_MAX_SESSIONS; j++) kg_mpc_nd_session_free(&nd[i], j);
        kg_store_close(nd[i].st);
        kg_secret_free(nd[i].seal_key);
        kg_secret_free(nd[i].env);
        kg_mpc_net_replay_free(nd[i].replay);
        unlink(db[i]);
        char p[256];
        snprintf(p, sizeof p, "%s-wal", db[i]);
        unlink(p);
        snprintf(p, sizeof p, "%s-shm", db[i]);
        unlink(p);
    }
    return 0;
}

/* Node i answers request type with body b in session sess. */
static kg_err call(kg_bytes *out, int i, uint8_t type, const uint8_t *sess, const uint8_t *b, size_t len)
{
    kg_mpc_node_msg m = {.type = type, .scheme = G, .body = b, .body_len = len};
    memcpy(m.session, sess, sizeof m.session);
    kg_mpc_node_wr w = {0};
    kg_err err = kg_mpc_nd_epoch_handle(&nd[i], kg_mpc_nd_session_find(&nd[i], sess), &m, &w);
    if (!err) err = kg_mpc_node_wr_done(&w);
    if (err) kg_bytes_free(&w.b);
    if (out) *out = err ? (kg_bytes){0} : w.b;
    else kg_bytes_free(&w.b);
    return err;
}

/* The active share and epoch of node i. */
static void active(kg_mpc_frost_key_share *sh, uint32_t *epoch, int i)
{
    kg_secret *s = NULL;
    assert_int_equal(kg_mpc_nd_share_load(&s, &nd[i], KEY), KG_OK);
    memcpy(sh, kg_secret_cdata(s), sizeof *sh);
    kg_secret_free(s);
    assert_int_equal(kg_mpc_nd_share_epoch(epoch, &nd[i], KEY), KG_OK);
}

static void head(kg_mpc_node_wr *w, uint32_t epoch)
{
    uint16_t ids[3] = {1, 2, 3};
    bool in_reg[KG_MPC_FROST_MAX_PARTICIPANTS + 1] = {false};
    kg_mpc_net_pubkeys reg[KG_MPC_FROST_MAX_PARTICIPANTS];
    for (int i = 0; i < 3; i++) reg[i] = nd[i].env_pub, in_reg[i + 1] = true;
    kg_mpc_node_wr_u16(w, 1);
    kg_mpc_node_wr_blob(w, (const uint8_t *)KEY, strlen(KEY));
    kg_mpc_co_wr_u32(w, epoch);
    kg_mpc_node_wr_u16(w, 2);
    kg_mpc_co_wr_ids(w, ids, 3);
    kg_mpc_co_wr_ids(w, ids, 3);
    kg_mpc_co_wr_reg(w, reg, in_reg);
}

typedef struct {
    kg_bytes commit[3];
    kg_mpc_node_wr inbox[3];
    unsigned cnt[3];
} routed;

/* DEAL on all three nodes at epoch, routing the answers; tamper: flip a
 * byte of node 2's dealing to node 1 (1) or of node 2's commitment (2). */
static kg_err deal_all(routed *r, const uint8_t *sess, uint32_t epoch, int tamper)
{
    kg_mpc_node_wr w = {0};
    head(&w, epoch);
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    kg_err err = KG_OK;
    for (int i = 0; i < 3 && !err; i++) {
        kg_bytes resp = {0};
        if ((err = call(&resp, i, KG_MPC_NODE_EPOCH_DEAL, sess, w.b.data, w.b.len))) break;
        kg_mpc_node_rd rd;
        size_t len = 0;
        kg_mpc_node_rd_init(&rd, resp.data, resp.len);
        const uint8_t *p = kg_mpc_node_rd_blob(&rd, &len, 1 << 20);
        assert_non_null(p);
        assert_int_equal(kg_bytes_set(&r->commit[i], p, len), KG_OK);
        if (tamper == 2 && i == 1) r->commit[i].data[len - 70] ^= 1;
        unsigned cnt = kg_mpc_node_rd_u16(&rd);
        assert_int_equal(cnt, 2);
        for (unsigned j = 0; j < cnt; j++) {
            kg_mpc_net_envelope e;
            p = kg_mpc_node_rd_blob(&rd, &len, 1 << 20);
            assert_int_equal(kg_mpc_net_envelope_decode(&e, p, len), KG_OK);
            assert_int_equal(e.h.sender, i + 1);
            uint8_t *copy = malloc(len);
            memcpy(copy, p, len);
            if (tamper == 1 && i == 1 && e.h.receiver == 1) copy[len - 1] ^= 1;
            kg_mpc_node_wr_blob(&r->inbox[e.h.receiver - 1], copy, len);
            r->cnt[e.h.receiver - 1]++;
            free(copy);
        }
        assert_int_equal(kg_mpc_node_rd_end(&rd, "deal"), KG_OK);
        kg_bytes_free(&resp);
    }
    kg_bytes_free(&w.b);
    return err;
}

static kg_err finish_one(kg_bytes *out, routed *r, int i, const uint8_t *sess)
{
    kg_mpc_node_wr w = {0};
    head(&w, 0);
    kg_mpc_co_wr_point(&w, G, &orig[0].group_public);
    kg_mpc_node_wr_u16(&w, 3);
    for (int j = 0; j < 3; j++) kg_mpc_co_wr_point(&w, G, &orig_pub[j]);
    kg_mpc_node_wr_u16(&w, 3);
    for (int j = 0; j < 3; j++) kg_mpc_node_wr_blob(&w, r->commit[j].data, r->commit[j].len);
    kg_mpc_node_wr_u16(&w, (uint16_t)r->cnt[i]);
    kg_mpc_node_wr_fixed(&w, r->inbox[i].b.data, r->inbox[i].b.len);
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    kg_err err = call(out, i, KG_MPC_NODE_EPOCH_FINISH, sess, w.b.data, w.b.len);
    kg_bytes_free(&w.b);
    return err;
}

static void routed_free(routed *r)
{
    for (int i = 0; i < 3; i++) {
        kg_bytes_free(&r->commit[i]);
        kg_bytes_free(&r->inbox[i].b);
    }
}

static kg_err key_epoch_call(int i, uint8_t type, const uint8_t *sess, bool with_epoch, uint32_t epoch)
{
    kg_mpc_node_wr w = {0};
    kg_mpc_node_wr_blob(&w, (const uint8_t *)KEY, strlen(KEY));
    if (with_epoch) kg_mpc_co_wr_u32(&w, epoch);
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    kg_err err = call(NULL, i, type, sess, w.b.data, w.b.len);
    kg_bytes_free(&w.b);
    return err;
}

static void same_as_orig(void)
{
    for (int i = 0; i < 3; i++) {
        kg_mpc_frost_key_share sh;
        uint32_t e = 99;
        active(&sh, &e, i);
        assert_int_equal(e, 0);
        assert_memory_equal(sh.secret.b, orig[i].secret.b, sizeof sh.secret.b);
    }
}

/* s = lambda_1 s_1 + lambda_2 s_2 over {1, 2}. */
static void combine(kg_mpc_scalar *out, const kg_mpc_frost_key_share *a, const kg_mpc_frost_key_share *b)
{
    uint16_t ids[2] = {a->id, b->id};
    kg_mpc_scalar la, lb, x, y;
    assert_int_equal(kg_mpc_frost_lagrange(G, &la, a->id, ids, 2), KG_OK);
    assert_int_equal(kg_mpc_frost_lagrange(G, &lb, b->id, ids, 2), KG_OK);
    kg_mpc_scalar_mul(G, &x, &la, &a->secret);
    kg_mpc_scalar_mul(G, &y, &lb, &b->secret);
    kg_mpc_scalar_add(G, out, &x, &y);
}

static void test_abort_keeps_old(void **state)
{
    (void)state;
    routed r;
    memset(&r, 0, sizeof r);
    uint8_t sess[32];
    memset(sess, 0x11, sizeof sess);
    assert_int_equal(deal_all(&r, sess, 0, 0), KG_OK);
    for (int i = 0; i < 3; i++) {
        kg_bytes out = {0};
        assert_int_equal(finish_one(&out, &r, i, sess), KG_OK);
        assert_int_equal(out.len, 4 * 32);
        kg_bytes_free(&out);
    }
    same_as_orig(); /* pending only */
    for (int i = 0; i < 3; i++) assert_int_equal(key_epoch_call(i, KG_MPC_NODE_EPOCH_ABORT, sess, false, 0), KG_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(key_epoch_call(i, KG_MPC_NODE_EPOCH_COMMIT, sess, true, 1), KG_ERR_NOT_FOUND);
    same_as_orig();
    routed_free(&r);
}

static void test_tampered(void **state)
{
    (void)state;
    for (int tamper = 1; tamper <= 2; tamper++) {
        routed r;
        memset(&r, 0, sizeof r);
        uint8_t sess[32];
        memset(sess, 0x20 + tamper, sizeof sess);
        assert_int_equal(deal_all(&r, sess, 0, tamper), KG_OK);
        kg_err err = finish_one(NULL, &r, 0, sess);
        assert_int_not_equal(err, KG_OK);
        assert_non_null(strstr(kg_err_detail(err), "party 2"));
        for (int i = 1; i < 3; i++) (void)finish_one(NULL, &r, i, sess);
        for (int i = 0; i < 3; i++) assert_int_equal(key_epoch_call(i, KG_MPC_NODE_EPOCH_ABORT, sess, false, 0), KG_OK);
        assert_int_equal(key_epoch_call(0, KG_MPC_NODE_EPOCH_COMMIT, sess, true, 1), KG_ERR_NOT_FOUND);
        same_as_orig();
        routed_free(&r);
    }
}

static void test_bad_bodies(void **state)
{
    (void)state;
    uint8_t sess[32];
    memset(sess, 0x33, sizeof sess);
    kg_mpc_node_wr w = {0};
    head(&w, 0);
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    for (size_t cut = 0; cut < w.b.len; cut += 7) /* every truncation */
        assert_int_equal(call(NULL, 0, KG_MPC_NODE_EPOCH_DEAL, sess, w.b.data, cut), KG_ERR_BAD_INPUT);
    uint8_t *b = malloc(w.b.len + 1);
    memcpy(b, w.b.data, w.b.len);
    b[w.b.len] = 0;
    assert_int_equal(call(NULL, 0, KG_MPC_NODE_EPOCH_DEAL, sess, b, w.b.len + 1), KG_ERR_BAD_INPUT); /* trailing */
    size_t ids_at = 2 + 4 + strlen(KEY) + 4 + 2; /* mode, key id blob, epoch, t */
    memcpy(b, w.b.data, w.b.len);
    b[1] = 7; /* unknown mode */
    assert_int_equal(call(NULL, 0, KG_MPC_NODE_EPOCH_DEAL, sess, b, w.b.len), KG_ERR_BAD_INPUT);
    memcpy(b, w.b.data, w.b.len);
    b[ids_at + 5] = 1; /* holders 1, 1, 3 */
    assert_int_equal(call(NULL, 0, KG_MPC_NODE_EPOCH_DEAL, sess, b, w.b.len), KG_ERR_BAD_INPUT);
    memcpy(b, w.b.data, w.b.len);
    b[ids_at - 1] = 4; /* t = 4 of 3 */
    assert_int_equal(call(NULL, 0, KG_MPC_NODE_EPOCH_DEAL, sess, b, w.b.len), KG_ERR_BAD_INPUT);
    memcpy(b, w.b.data, w.b.len);
    b[w.b.len - 1] ^= 1; /* node 3's registry keys changed: fine for node 1, refused by node 3 */
    assert_int_equal(call(NULL, 2, KG_MPC_NODE_EPOCH_DEAL, sess, b, w.b.len), KG_ERR_BAD_INPUT);
    for (size_t j = 0; j < KG_MPC_ND_MAX_SESSIONS; j++)
        for (int i = 0; i < 3; i++) assert_null(nd[i].s[j]);
    assert_int_equal(call(NULL, 0, KG_MPC_NODE_EPOCH_FINISH, sess, w.b.data, w.b.len), KG_ERR_NOT_FOUND);
    assert_int_equal(call(NULL, 0, KG_MPC_NODE_REPAIR_STEP1, sess, w.b.data, w.b.len), KG_ERR_BAD_INPUT);
    assert_int_equal(call(NULL, 0, KG_MPC_NODE_REPAIR_FINISH, sess, w.b.data, w.b.len), KG_ERR_BAD_INPUT);
    assert_int_equal(call(NULL, 0, KG_MPC_NODE_EPOCH_COMMIT, sess, b, 3), KG_ERR_BAD_INPUT);
    assert_int_equal(key_epoch_call(0, KG_MPC_NODE_EPOCH_DELETE, sess, true, 0), KG_OK); /* a valid one */
    kg_secret *gone = NULL;
    assert_int_equal(kg_mpc_nd_share_load(&gone, &nd[0], KEY), KG_ERR_NOT_FOUND);
    assert_int_equal(kg_mpc_nd_share_save(&nd[0], KEY, &orig[0]), KG_OK);
    free(b);
    kg_bytes_free(&w.b);
    same_as_orig();
}

static void test_commit(void **state)
{
    (void)state;
    routed r;
    memset(&r, 0, sizeof r);
    uint8_t sess[32], other[32];
    memset(sess, 0x44, sizeof sess);
    memset(other, 0x45, sizeof other);
    assert_int_equal(deal_all(&r, sess, 0, 0), KG_OK);
    kg_bytes res[3];
    for (int i = 0; i < 3; i++) assert_int_equal(finish_one(&res[i], &r, i, sess), KG_OK);
    assert_memory_equal(res[0].data, res[1].data, res[0].len);
    assert_memory_equal(res[0].data, res[2].data, res[0].len);
    assert_memory_equal(res[0].data, orig[0].group_public.b, 32); /* same group key */
    assert_int_equal(key_epoch_call(0, KG_MPC_NODE_EPOCH_COMMIT, other, true, 1), KG_ERR_CONFLICT);
    assert_int_equal(key_epoch_call(0, KG_MPC_NODE_EPOCH_COMMIT, sess, true, 2), KG_ERR_CONFLICT);
    for (int i = 0; i < 3; i++) assert_int_equal(key_epoch_call(i, KG_MPC_NODE_EPOCH_COMMIT, sess, true, 1), KG_OK);
    assert_int_equal(key_epoch_call(0, KG_MPC_NODE_EPOCH_COMMIT, sess, true, 1), KG_OK); /* retried */
    kg_mpc_frost_key_share now[3];
    for (int i = 0; i < 3; i++) {
        uint32_t e = 0;
        active(&now[i], &e, i);
        assert_int_equal(e, 1);
        assert_memory_not_equal(now[i].secret.b, orig[i].secret.b, 32);
        assert_memory_equal(now[i].public_share.b, res[0].data + 32 * (i + 1), 32);
    }
    kg_mpc_scalar s_old, s_new, s_mix;
    combine(&s_old, &orig[0], &orig[1]);
    combine(&s_new, &now[0], &now[2]);
    combine(&s_mix, &orig[0], &now[1]);
    assert_memory_equal(s_old.b, s_new.b, 32);      /* same secret */
    assert_memory_not_equal(s_old.b, s_mix.b, 32);  /* old and new do not combine */
    routed r2;
    memset(&r2, 0, sizeof r2);
    kg_err err = deal_all(&r2, other, 0, 0);       /* epoch 0 is gone */
    assert_int_equal(err, KG_ERR_CONFLICT);
    assert_non_null(strstr(kg_err_detail(err), "at epoch 1 on this node, not 0"));
    for (int i = 0; i < 3; i++) kg_bytes_free(&res[i]);
    routed_free(&r);
    routed_free(&r2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_abort_keeps_old),
        cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_bad_bodies),
        cmocka_unit_test(test_commit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
