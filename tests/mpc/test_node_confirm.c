/* The node's DKG echo check (src/mpc/node_dkg.c, DKG_CONFIRM) in process:
 * a node of a 2-of-3 session with real envelope keys gets confirmations
 * built here. All good: the pending share becomes the key's share. A party
 * that confirms another signed round-1 broadcast is named as an
 * equivocator and the pending share is wiped; a different digest aborts
 * without a blame. Bad input (a wrong session id, an unknown participant,
 * a replayed confirmation, a bad signature) is refused with a clear error
 * and changes nothing: the session and its pending share stay. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "../../src/mpc/node_int.h"

static kg_mpc_nd nd;
static kg_mpc_node_config cfg = {.id = 1};
static kg_secret *keys[3];
static kg_mpc_net_pubkeys pub[3];
static char db[64];

static kg_mpc_nd_session *session(void)
{
    kg_mpc_nd_session *s = calloc(1, sizeof *s);
    assert_non_null(s);
    memset(s->id, 7, sizeof s->id);
    s->kind = KG_MPC_ND_S_DKG3;
    s->g = KG_MPC_GROUP_ED25519;
    s->t = 2;
    s->n = 3;
    memset(s->transcript, 0xAB, sizeof s->transcript);
    snprintf(s->key_id, sizeof s->key_id, "k-%d", rand());
    s->r1 = calloc(3, sizeof *s->r1);
    s->pending = kg_secret_new(sizeof(kg_mpc_frost_key_share));
    assert_non_null(s->pending);
    kg_mpc_frost_key_share *sh = (kg_mpc_frost_key_share *)kg_secret_data(s->pending);
    sh->group = KG_MPC_GROUP_ED25519;
    sh->id = 1;
    sh->min_signers = 2;
    sh->max_signers = 3;
    for (uint16_t i = 1; i <= 3; i++) {
        kg_mpc_net_header h;
        uint8_t pl[8] = {0, (uint8_t)i};
        s->reg[i - 1] = pub[i - 1];
        assert_int_equal(kg_mpc_nd_env_header(&h, s, KG_MPC_NODE_DKG_ROUND1, i, 0, 1, 1), KG_OK);
        assert_int_equal(kg_mpc_net_envelope_sign(&s->r1[i - 1], &h, keys[i - 1], pl, sizeof pl), KG_OK);
    }
    nd.s[0] = s;
    return s;
}

/* Party i's confirmation of digest d with round-1 envelope r1 (signed by
 * i), for session s, optionally with a changed session id or sender. */
static void confirm(kg_mpc_node_wr *w, const kg_mpc_nd_session *s, uint16_t i, uint8_t d, const kg_bytes *r1,
                    uint16_t as, uint8_t sess_byte)
{
    kg_mpc_node_wr pl = {0};
    uint8_t dg[32];
    memset(dg, d, sizeof dg);
    kg_mpc_node_wr_fixed(&pl, dg, 32);
    kg_mpc_node_wr_blob(&pl, r1->data, r1->len);
    assert_int_equal(kg_mpc_node_wr_done(&pl), KG_OK);
    kg_mpc_net_header h;
    kg_bytes e = {0};
    assert_int_equal(kg_mpc_nd_env_header(&h, s, KG_MPC_NODE_DKG_CONFIRM, as ? as : i, 0, 3, 4), KG_OK);
    h.session[0] = sess_byte;
    assert_int_equal(kg_mpc_net_envelope_sign(&e, &h, keys[i - 1], pl.b.data, pl.b.len), KG_OK);
    kg_mpc_node_wr_blob(w, e.data, e.len);
    kg_bytes_free(&e);
    kg_bytes_free(&pl.b);
}

typedef struct { uint16_t sender_as, dup; uint8_t digest2, sess2; bool equivocate; } twist;

static kg_err run(kg_mpc_nd_session *s, const twist *tw)
{
    kg_mpc_node_wr w = {0};
    kg_bytes alt = {0};
    kg_mpc_node_wr_u16(&w, 3);
    for (uint16_t i = 1; i <= 3; i++) {
        const kg_bytes *r1 = &s->r1[i - 1];
        if (i == 2 && tw->equivocate) {
            kg_mpc_net_header h;
            uint8_t pl[8] = {0, 2, 1};
            assert_int_equal(kg_mpc_nd_env_header(&h, s, KG_MPC_NODE_DKG_ROUND1, 2, 0, 1, 1), KG_OK);
            assert_int_equal(kg_mpc_net_envelope_sign(&alt, &h, keys[1], pl, sizeof pl), KG_OK);
            r1 = &alt;
        }
        uint16_t who = (i == 3 && tw->dup) ? 2 : i;
        confirm(&w, s, who, i == 2 && tw->digest2 ? tw->digest2 : 0xAB, who == i ? r1 : &s->r1[who - 1],
                i == 2 ? tw->sender_as : 0, i == 2 && tw->sess2 ? tw->sess2 : 7);
    }
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    kg_mpc_node_msg m = {.type = KG_MPC_NODE_DKG_CONFIRM, .scheme = KG_MPC_GROUP_ED25519, .body = w.b.data,
                         .body_len = w.b.len};
    memcpy(m.session, s->id, sizeof m.session);
    kg_mpc_node_wr out = {0};
    kg_err err = kg_mpc_nd_dkg_confirm(&nd, s, &m, &out);
    kg_bytes_free(&out.b);
    kg_bytes_free(&w.b);
    kg_bytes_free(&alt);
    return err;
}

static bool has_share(const char *key_id)
{
    kg_secret *sh = NULL;
    kg_err err = kg_mpc_nd_share_load(&sh, &nd, key_id);
    kg_secret_free(sh);
    return err == KG_OK;
}

/* A refused request: the error says why, the session and pending share stay. */
static void refused(const twist *tw, kg_err want, const char *text)
{
    kg_mpc_nd_session *s = session();
    char kid[sizeof s->key_id];
    memcpy(kid, s->key_id, sizeof kid);
    assert_int_equal(run(s, tw), want);
    if (!strstr(kg_err_detail(want), text)) fail_msg("'%s' lacks '%s'", kg_err_detail(want), text);
    assert_ptr_equal(nd.s[0], s);
    assert_int_equal(s->kind, KG_MPC_ND_S_DKG3);
    assert_non_null(s->pending);
    assert_false(has_share(kid));
    assert_int_equal(run(s, &(twist){0}), KG_OK); /* the good request still works afterwards */
    assert_true(has_share(kid));
    kg_mpc_nd_session_free(&nd, 0);
}

/* A failed check: the party is named, the pending share is gone. */
static void aborted(const twist *tw, kg_err want, const char *text)
{
    kg_mpc_nd_session *s = session();
    char kid[sizeof s->key_id];
    memcpy(kid, s->key_id, sizeof kid);
    assert_int_equal(run(s, tw), want);
    if (!strstr(kg_err_detail(want), text)) fail_msg("'%s' lacks '%s'", kg_err_detail(want), text);
    assert_null(nd.s[0]);
    assert_false(has_share(kid));
}

static void test_good(void **st)
{
    (void)st;
    kg_mpc_nd_session *s = session();
    char kid[sizeof s->key_id];
    memcpy(kid, s->key_id, sizeof kid);
    assert_int_equal(run(s, &(twist){0}), KG_OK);
    assert_int_equal(s->kind, KG_MPC_ND_S_DKGOK);
    assert_null(s->pending);
    assert_true(has_share(kid));
    kg_mpc_node_msg m = {.type = KG_MPC_NODE_DKG_ABORT, .scheme = KG_MPC_GROUP_ED25519};
    memcpy(m.session, s->id, sizeof m.session);
    assert_int_equal(kg_mpc_nd_dkg_abort(&nd, s, &m, NULL), KG_OK); /* the coordinator gave up: share deleted */
    assert_false(has_share(kid));
    assert_null(nd.s[0]);
}

static void test_equivocation(void **st)
{
    (void)st;
    aborted(&(twist){.equivocate = true}, KG_ERR_CONFLICT, "party 2 equivocated");
    aborted(&(twist){.digest2 = 0xCD}, KG_ERR_VERIFY, "transcript confirmed by party 2 differs");
}

static void test_bad_input(void **st)
{
    (void)st;
    refused(&(twist){.sess2 = 9}, KG_ERR_BAD_INPUT, "does not belong to this session");
    refused(&(twist){.sender_as = 9}, KG_ERR_BAD_INPUT, "party 9");
    refused(&(twist){.dup = 1}, KG_ERR_BAD_INPUT, "two DKG confirmations from party 2");
    refused(&(twist){.sender_as = 3}, KG_ERR_VERIFY, "bad signature");
}

int main(void)
{
    snprintf(db, sizeof db, "/tmp/kg-test-confirm-%d.db", (int)getpid());
    nd.cfg = &cfg;
    uint8_t sk[32] = {1};
    nd.seal_key = kg_secret_from(sk, sizeof sk);
    if (kg_store_open(&nd.st, db) || kg_mpc_net_replay_new(&nd.replay, 64)) return 1;
    for (int i = 0; i < 3; i++)
        if (kg_mpc_net_keys_generate(&keys[i], &pub[i])) return 1;
    nd.env = keys[0];
    nd.env_pub = pub[0];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_equivocation),
        cmocka_unit_test(test_bad_input),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    kg_store_close(nd.st);
    kg_mpc_net_replay_free(nd.replay);
    kg_secret_free(nd.seal_key);
    for (int i = 0; i < 3; i++) kg_secret_free(keys[i]);
    char p[80];
    unlink(db);
    snprintf(p, sizeof p, "%s-wal", db); unlink(p);
    snprintf(p, sizeof p, "%s-shm", db); unlink(p);
    return rc;
}
