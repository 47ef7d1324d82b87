/* The node side of a trusted-dealer import (src/mpc/node_import.c) in
 * process: three nodes with real stores and envelope keys, this test as
 * the dealer. An honest deal: every node opens and checks its share,
 * confirms, activates; two shares recombine to the imported secret. A
 * dealer that gives node 3 another polynomial (same secret, same session,
 * its share consistent with its own commitments) is caught by the echo
 * check at every node and nothing is stored. A tampered sealed share names
 * the dealer and leaves no session; commitments that do not match the share
 * are refused; IMPORT_ABORT after activation deletes the share. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "../../src/mpc/node_int.h"
#include "kashguard/crypto.h"

#define G KG_MPC_GROUP_ED25519
#define N 3

static kg_mpc_nd nd[N];
static kg_mpc_node_config cfg[N];
static char db[N][64];
static kg_secret *dealer;
static kg_mpc_net_pubkeys dealer_pub;
static int key_no;

static int setup(void **state)
{
    (void)state;
    uint8_t k[32] = {3};
    for (int i = 0; i < N; i++) {
        cfg[i].id = (uint16_t)(i + 1);
        nd[i].cfg = &cfg[i];
        snprintf(db[i], sizeof db[i], "/tmp/kg-test-import-%d-%d.db", (int)getpid(), i);
        unlink(db[i]);
        if (kg_store_open(&nd[i].st, db[i]) || kg_mpc_net_replay_new(&nd[i].replay, 64) ||
            kg_mpc_net_keys_generate(&nd[i].env, &nd[i].env_pub) || !(nd[i].seal_key = kg_secret_from(k, sizeof k)))
            return -1;
    }
    return kg_mpc_net_keys_generate(&dealer, &dealer_pub) ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < N; i++) {
        for (size_t j = 0; j < KG_MPC_ND_MAX_SESSIONS; j++) kg_mpc_nd_session_free(&nd[i], j);
        kg_store_close(nd[i].st);
        kg_mpc_net_replay_free(nd[i].replay);
        kg_secret_free(nd[i].env);
        kg_secret_free(nd[i].seal_key);
        unlink(db[i]);
    }
    kg_secret_free(dealer);
    return 0;
}

/* One deal: shares of secret for nodes 1..3 (threshold 2) and their commitments. */
static void deal(kg_mpc_frost_key_share sh[N], kg_mpc_point vss[2], const kg_mpc_scalar *secret)
{
    assert_int_equal(kg_mpc_frost_dealer_keygen(G, sh, vss, 2, N, secret, NULL), KG_OK);
}

/* The IMPORT_SHARE request of node i (0-based) carrying sh's share, sealed
 * by the dealer for session sess, with commitments vss. */
static void request(kg_mpc_node_wr *w, int i, const kg_mpc_frost_key_share *sh, const kg_mpc_point *vss,
                    const uint8_t *sess, const char *key_id, bool tamper)
{
    uint16_t ids[N] = {1, 2, 3};
    kg_mpc_net_pubkeys reg[KG_MPC_FROST_MAX_PARTICIPANTS];
    bool in_reg[KG_MPC_FROST_MAX_PARTICIPANTS + 1] = {false};
    for (int j = 0; j < N; j++) reg[j] = nd[j].env_pub, in_reg[j + 1] = true;
    kg_mpc_net_header h = {.version = KG_MPC_NET_VERSION, .scheme = G, .type = KG_MPC_NODE_IMPORT_SHARE,
                           .sender = KG_MPC_IMPORT_DEALER, .receiver = (uint16_t)(i + 1), .round = 1, .seq = 1};
    memcpy(h.session, sess, 32);
    uint8_t pl[4 + 32] = {0, (uint8_t)(i + 1), 0, 2};
    memcpy(pl + 4, sh->secret.b, 32);
    kg_bytes env = {0};
    assert_int_equal(kg_mpc_net_envelope_seal(&env, &h, dealer, nd[i].env_pub.box, pl, sizeof pl), KG_OK);
    if (tamper) env.data[env.len - 1] ^= 1;
    kg_mpc_node_wr_u16(w, 2);
    kg_mpc_node_wr_blob(w, (const uint8_t *)key_id, strlen(key_id));
    kg_mpc_co_wr_ids(w, ids, N);
    kg_mpc_co_wr_reg(w, reg, in_reg);
    kg_mpc_node_wr_fixed(w, dealer_pub.box, 32);
    kg_mpc_node_wr_u16(w, 2);
    kg_mpc_co_wr_point(w, G, &vss[0]);
    kg_mpc_co_wr_point(w, G, &vss[1]);
    kg_mpc_node_wr_blob(w, env.data, env.len);
    assert_int_equal(kg_mpc_node_wr_done(w), KG_OK);
    kg_bytes_free(&env);
}

static kg_mpc_node_msg msg(uint8_t type, const uint8_t *sess, const kg_bytes *body)
{
    kg_mpc_node_msg m = {.type = type, .scheme = G, .body = body->data, .body_len = body->len};
    memcpy(m.session, sess, 32);
    return m;
}

/* IMPORT_SHARE at node i; on success appends its confirmation to conf. */
static kg_err share(int i, const kg_mpc_frost_key_share *sh, const kg_mpc_point *vss, const uint8_t *sess,
                    const char *key_id, bool tamper, kg_mpc_node_wr *conf)
{
    kg_mpc_node_wr req = {0}, w = {0};
    request(&req, i, sh, vss, sess, key_id, tamper);
    kg_mpc_node_msg m = msg(KG_MPC_NODE_IMPORT_SHARE, sess, &req.b);
    kg_err err = kg_mpc_nd_import_share(&nd[i], &m, &w);
    if (!err) assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    if (!err) {
        kg_mpc_node_rd r;
        size_t cl = 0;
        kg_mpc_node_rd_init(&r, w.b.data, w.b.len);
        assert_non_null(kg_mpc_node_rd_fixed(&r, 32));
        const uint8_t *c = kg_mpc_node_rd_blob(&r, &cl, 4096);
        assert_int_equal(kg_mpc_node_rd_end(&r, "answer"), KG_OK);
        kg_mpc_node_wr_blob(conf, c, cl);
    }
    kg_bytes_free(&req.b);
    kg_bytes_free(&w.b);
    return err;
}

static kg_err confirm_at(int i, const uint8_t *sess, const kg_mpc_node_wr *conf)
{
    kg_mpc_node_wr body = {0}, w = {0};
    kg_mpc_node_wr_u16(&body, N);
    kg_mpc_node_wr_fixed(&body, conf->b.data, conf->b.len);
    assert_int_equal(kg_mpc_node_wr_done(&body), KG_OK);
    kg_mpc_node_msg m = msg(KG_MPC_NODE_IMPORT_CONFIRM, sess, &body.b);
    kg_mpc_nd_session *s = kg_mpc_nd_session_find(&nd[i], sess);
    assert_non_null(s);
    kg_err err = kg_mpc_nd_import_confirm(&nd[i], s, &m, &w);
    kg_bytes_free(&body.b);
    kg_bytes_free(&w.b);
    return err;
}

static void new_key(char *key_id, uint8_t *sess)
{
    snprintf(key_id, 32, "imp-%d", ++key_no);
    assert_int_equal(kg_crypto_random(sess, 32), KG_OK);
}

static bool stored(int i, const char *key_id)
{
    kg_secret *s = NULL;
    kg_err err = kg_mpc_nd_share_load(&s, &nd[i], key_id);
    kg_secret_free(s);
    return err == KG_OK;
}

static void test_good(void **state)
{
    (void)state;
    kg_mpc_frost_key_share sh[N], got[2];
    kg_mpc_point vss[2];
    kg_mpc_scalar secret, back;
    char key_id[32];
    uint8_t sess[32];
    kg_mpc_node_wr conf = {0};
    new_key(key_id, sess);
    assert_int_equal(kg_mpc_scalar_random(G, &secret), KG_OK);
    deal(sh, vss, &secret);
    for (int i = 0; i < N; i++) assert_int_equal(share(i, &sh[i], vss, sess, key_id, false, &conf), KG_OK);
    assert_false(stored(0, key_id)); /* pending until the echo check */
    for (int i = 0; i < N; i++) assert_int_equal(confirm_at(i, sess, &conf), KG_OK);
    for (int i = 0; i < 2; i++) {
        kg_secret *s = NULL;
        assert_int_equal(kg_mpc_nd_share_load(&s, &nd[i * 2], key_id), KG_OK);
        got[i] = *(const kg_mpc_frost_key_share *)kg_secret_cdata(s);
        kg_secret_free(s);
    }
    assert_int_equal(kg_mpc_frost_secret_combine(G, &back, got, 2), KG_OK);
    assert_true(kg_mpc_scalar_eq(G, &back, &secret));
    assert_true(kg_mpc_point_eq(G, &got[0].group_public, &vss[0]));
    /* IMPORT_ABORT after activation removes the share */
    kg_bytes none = {0};
    kg_mpc_node_msg m = msg(KG_MPC_NODE_IMPORT_ABORT, sess, &none);
    kg_mpc_node_wr w = {0};
    assert_int_equal(kg_mpc_nd_import_abort(&nd[1], kg_mpc_nd_session_find(&nd[1], sess), &m, &w), KG_OK);
    assert_false(stored(1, key_id));
    assert_true(stored(0, key_id));
    kg_bytes_free(&conf.b);
}

static void test_dealer_equivocates(void **state)
{
    (void)state;
    kg_mpc_frost_key_share a[N], b[N];
    kg_mpc_point va[2], vb[2];
    kg_mpc_scalar secret;
    char key_id[32];
    uint8_t sess[32];
    kg_mpc_node_wr conf = {0};
    new_key(key_id, sess);
    assert_int_equal(kg_mpc_scalar_random(G, &secret), KG_OK);
    deal(a, va, &secret);
    deal(b, vb, &secret); /* same secret and group key, other polynomial */
    assert_int_equal(share(0, &a[0], va, sess, key_id, false, &conf), KG_OK);
    assert_int_equal(share(1, &a[1], va, sess, key_id, false, &conf), KG_OK);
    assert_int_equal(share(2, &b[2], vb, sess, key_id, false, &conf), KG_OK); /* consistent on its own */
    for (int i = 0; i < N; i++) {
        kg_err err = confirm_at(i, sess, &conf);
        assert_int_equal(err, KG_ERR_VERIFY);
        assert_non_null(strstr(kg_err_detail(err), "equivocated"));
        assert_false(stored(i, key_id));
        assert_null(kg_mpc_nd_session_find(&nd[i], sess));
    }
    kg_bytes_free(&conf.b);
}

static void test_bad_shares(void **state)
{
    (void)state;
    kg_mpc_frost_key_share sh[N];
    kg_mpc_point vss[2], wrong[2];
    kg_mpc_scalar secret;
    char key_id[32];
    uint8_t sess[32];
    kg_mpc_node_wr conf = {0};
    new_key(key_id, sess);
    assert_int_equal(kg_mpc_scalar_random(G, &secret), KG_OK);
    deal(sh, vss, &secret);
    kg_err err = share(0, &sh[0], vss, sess, key_id, true, &conf); /* tampered envelope */
    assert_int_equal(err, KG_ERR_DECRYPT);
    assert_non_null(strstr(kg_err_detail(err), "dealer"));
    assert_null(kg_mpc_nd_session_find(&nd[0], sess));
    wrong[0] = vss[0];
    kg_mpc_point_add(G, &wrong[1], &vss[1], &vss[0]); /* commitments that do not match the share */
    err = share(1, &sh[1], wrong, sess, key_id, false, &conf);
    assert_int_equal(err, KG_ERR_VERIFY);
    assert_non_null(strstr(kg_err_detail(err), "VSS"));
    assert_null(kg_mpc_nd_session_find(&nd[1], sess));
    err = share(2, &sh[1], vss, sess, key_id, false, &conf); /* node 2's share sent to node 3 */
    assert_int_equal(err, KG_ERR_VERIFY);
    assert_false(stored(0, key_id) || stored(1, key_id) || stored(2, key_id));
    assert_int_equal(conf.b.len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_dealer_equivocates),
        cmocka_unit_test(test_bad_shares),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
