/* CGGMP21 auxiliary info and refresh (src/mpc/cggmp_aux.c) and the aux
 * encoding of cggmp_common.c. Three parties (2-of-3) run in this process
 * with 1024-bit fixture safe primes (2048-bit moduli). Aux-only: every
 * party's aux has the same digest and every Paillier key encrypts for its
 * owner (decrypted by the owner's aux). Refresh: the key stays, every x_i
 * changes, new shares interpolate to the key and old ones mixed with new
 * ones do not. A cheater (commitment mismatch, bad Πprm, bad Πmod, bad
 * Πfac, bad refresh share) is named by every honest party. Aux encodings
 * round-trip; truncated and garbled ones are refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kashguard/crypto.h"
#include "kashguard/mpc/frost.h"
#include "../../src/mpc/cggmp_int.h"
#include "cggmp_fixture.h"

#define NP 3
static const uint8_t session[] = "aux-test-session";
static const kg_mpc_group_id G = KG_MPC_GROUP_SECP256K1;

typedef struct {
    kg_mpc_cggmp_msg *m;
    size_t n;
} list;

typedef struct {
    bool refresh;
    kg_mpc_cggmp_share old[NP], sh[NP];
    kg_mpc_cggmp_aux_run *st[NP];
    list out[NP];
    kg_mpc_cggmp_aux *aux[NP];
    kg_err err[NP];
    uint16_t culprit[NP];
    char detail[NP][256];
} run;

static kg_mpc_cggmp_share key[NP]; /* one 2-of-3 key from keygen, made once */

static void outs_free(run *r)
{
    for (unsigned i = 0; i < NP; i++) {
        kg_mpc_cggmp_msgs_free(r->out[i].m, r->out[i].n);
        r->out[i].m = NULL;
        r->out[i].n = 0;
    }
}

static void run_free(run *r)
{
    outs_free(r);
    for (unsigned i = 0; i < NP; i++) {
        kg_mpc_cggmp_aux_run_free(r->st[i]);
        kg_mpc_cggmp_aux_free(r->aux[i]);
    }
    free(r);
}

static size_t inbox(const list *out, uint16_t to, kg_mpc_cggmp_msg *in)
{
    size_t k = 0;
    for (unsigned j = 0; j < NP; j++)
        for (size_t m = 0; m < out[j].n; m++)
            if (out[j].m[m].from != to && (out[j].m[m].to == 0 || out[j].m[m].to == to)) in[k++] = out[j].m[m];
    return k;
}

/* Party i runs round `round` (2, 3, 4 = finish) on r->out into next[i]. */
static void one(run *r, unsigned i, int round, list *next)
{
    kg_mpc_cggmp_msg in[4 * NP];
    size_t k = inbox(r->out, key[i].id, in);
    r->culprit[i] = 0xffff;
    if (round == 2)
        r->err[i] = kg_mpc_cggmp_aux_run_round2(r->st[i], in, k, &next[i].m, &next[i].n, &r->culprit[i]);
    else if (round == 3)
        r->err[i] = kg_mpc_cggmp_aux_run_round3(r->st[i], in, k, &next[i].m, &next[i].n, &r->culprit[i]);
    else
        r->err[i] = kg_mpc_cggmp_aux_run_finish(r->st[i], in, k, &r->aux[i], r->refresh ? &r->sh[i] : NULL,
                                                &r->culprit[i]);
    snprintf(r->detail[i], sizeof r->detail[i], "%s", kg_err_detail(r->err[i]));
}

/* Every party but `skip` (NP: none) runs the round; outputs replace
 * r->out (skip's output is the one already in done, if any). */
static void step(run *r, int round, unsigned skip, list *done)
{
    list next[NP] = {0};
    for (unsigned i = 0; i < NP; i++)
        if (i != skip) one(r, i, round, next);
    if (skip < NP && done) next[skip] = *done;
    outs_free(r);
    memcpy(r->out, next, sizeof next);
}

static void step_ok(run *r, int round)
{
    step(r, round, NP, NULL);
    for (unsigned i = 0; i < NP; i++) {
        if (r->err[i]) print_message("party %u: %s\n", i, r->detail[i]);
        assert_int_equal(r->err[i], KG_OK);
        assert_int_equal(r->culprit[i], 0);
    }
}

static run *start(bool refresh, unsigned prime0)
{
    run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->refresh = refresh;
    for (unsigned i = 0; i < NP; i++) {
        BIGNUM *p = kg_fx_prime(1024, prime0 + 2 * i), *q = kg_fx_prime(1024, prime0 + 2 * i + 1);
        assert_non_null(p);
        assert_non_null(q);
        r->old[i] = key[i];
        assert_int_equal(kg_mpc_cggmp_aux_run_new(&r->st[i], &key[i], p, q, refresh, session, sizeof session), KG_OK);
        kg_mpc_bn_free(p);
        kg_mpc_bn_free(q);
    }
    for (unsigned i = 0; i < NP; i++)
        assert_int_equal(kg_mpc_cggmp_aux_run_round1(r->st[i], &r->out[i].m, &r->out[i].n), KG_OK);
    return r;
}

static void expect_blame(run *r, unsigned cheater, kg_err want)
{
    char txt[32];
    snprintf(txt, sizeof txt, "party %u:", key[cheater].id);
    for (unsigned i = 0; i < NP; i++) {
        if (i == cheater) continue;
        if (r->err[i] != want) print_message("party %u: %s\n", i, r->detail[i]);
        assert_int_equal(r->err[i], want);
        assert_int_equal(r->culprit[i], key[cheater].id);
        assert_non_null(strstr(r->detail[i], txt));
        assert_null(r->aux[i]);
    }
}

static void make_key(void)
{
    kg_mpc_cggmp_keygen *st[NP];
    list out[NP] = {0}, next[NP];
    kg_mpc_cggmp_msg in[4 * NP];
    uint16_t ids[NP] = {1, 2, 3}, c;
    for (unsigned i = 0; i < NP; i++) {
        assert_int_equal(kg_mpc_cggmp_keygen_new(&st[i], G, ids[i], 2, ids, NP, session, 3), KG_OK);
        assert_int_equal(kg_mpc_cggmp_keygen_round1(st[i], &out[i].m, &out[i].n), KG_OK);
    }
    for (int round = 2; round <= 4; round++) {
        memset(next, 0, sizeof next);
        for (unsigned i = 0; i < NP; i++) {
            size_t k = inbox(out, ids[i], in);
            if (round == 2) assert_int_equal(kg_mpc_cggmp_keygen_round2(st[i], in, k, &next[i].m, &next[i].n, &c), 0);
            if (round == 3) assert_int_equal(kg_mpc_cggmp_keygen_round3(st[i], in, k, &next[i].m, &next[i].n, &c), 0);
            if (round == 4) assert_int_equal(kg_mpc_cggmp_keygen_finish(st[i], in, k, &key[i], &c), 0);
        }
        for (unsigned i = 0; i < NP; i++) kg_mpc_cggmp_msgs_free(out[i].m, out[i].n);
        memcpy(out, next, sizeof out);
    }
    for (unsigned i = 0; i < NP; i++) kg_mpc_cggmp_keygen_free(st[i]);
}

/* m encrypted under party j's key (as every party holds it) decrypts
 * with j's own aux. */
static void check_paillier(run *r)
{
    BIGNUM *m = BN_new(), *c = BN_new(), *d = BN_new();
    assert_int_equal(BN_set_word(m, 123456789), 1);
    BN_set_negative(m, 1);
    for (unsigned i = 0; i < NP; i++)
        for (unsigned j = 0; j < NP; j++) {
            assert_int_equal(kg_mpc_paillier_enc(&r->aux[i]->pk[j], c, NULL, m), KG_OK);
            assert_int_equal(kg_mpc_paillier_dec(&r->aux[j]->sk, d, c), KG_OK);
            assert_int_equal(BN_cmp(d, m), 0);
        }
    BN_free(m);
    BN_free(c);
    BN_free(d);
}

static void check_aux(run *r)
{
    for (unsigned i = 0; i < NP; i++) {
        assert_non_null(r->aux[i]);
        assert_memory_equal(r->aux[i]->digest, r->aux[0]->digest, 64);
        assert_int_equal(r->aux[i]->id, key[i].id);
        assert_int_equal(BN_cmp(r->aux[i]->pk[i].n, r->aux[i]->sk.pk.n), 0);
        assert_true(BN_num_bits(r->aux[i]->sk.pk.n) >= 2047);
    }
    check_paillier(r);
}

static void test_aux_only(void **state)
{
    run *r = start(false, 0);
    step_ok(r, 2);
    step_ok(r, 3);
    step_ok(r, 4);
    check_aux(r);

    /* encode / decode round trip: same digest, keys still work */
    kg_bytes b = {0};
    kg_mpc_cggmp_aux *d = NULL;
    assert_int_equal(kg_mpc_cggmp_aux_encode(&b, r->aux[1]), KG_OK);
    assert_int_equal(kg_mpc_cggmp_aux_decode(&d, b.data, b.len), KG_OK);
    assert_memory_equal(d->digest, r->aux[1]->digest, 64);
    kg_mpc_cggmp_aux_free(r->aux[1]);
    r->aux[1] = d;
    check_paillier(r);
    for (size_t l = 0; l < b.len; l += 13) { /* truncations */
        assert_int_equal(kg_mpc_cggmp_aux_decode(&d, b.data, l), KG_ERR_BAD_INPUT);
        assert_null(d);
    }
    uint8_t *g = malloc(b.len + 1);
    memcpy(g, b.data, b.len);
    g[b.len] = 0;
    assert_int_equal(kg_mpc_cggmp_aux_decode(&d, g, b.len + 1), KG_ERR_BAD_INPUT);
    /* version, id, p, q, λ (inside their magnitudes), own N */
    size_t p_at = 6 + 4 + 1 + 20, q_at = 6 + 2 * (4 + 1 + 128) - 20, l_at = 6 + 2 * (4 + 1 + 128) + 30;
    size_t flips[] = {1, 3, p_at, q_at, l_at};
    for (size_t f = 0; f < sizeof flips / sizeof flips[0]; f++) {
        memcpy(g, b.data, b.len);
        g[flips[f]] ^= 4;
        assert_int_equal(kg_mpc_cggmp_aux_decode(&d, g, b.len), KG_ERR_BAD_INPUT);
        assert_null(d);
    }
    free(g);
    kg_bytes_free(&b);
    run_free(r);
}

static void test_refresh(void **state)
{
    run *r = start(true, 6);
    step_ok(r, 2);
    step_ok(r, 3);
    step_ok(r, 4);
    check_aux(r);
    kg_mpc_scalar x, l0, l1, t0, t1;
    kg_mpc_point p;
    uint16_t set[2];
    for (unsigned i = 0; i < NP; i++) {
        assert_int_equal(kg_mpc_cggmp_share_check(&r->sh[i]), KG_OK);
        assert_memory_equal(&r->sh[i].pub, &key[i].pub, sizeof key[i].pub);
        assert_memory_equal(r->sh[i].chain_code, key[i].chain_code, 32);
        assert_memory_equal(r->sh[i].X, r->sh[0].X, sizeof r->sh[0].X);
        assert_int_equal(r->sh[i].epoch, key[i].epoch + 1);
        assert_false(kg_mpc_scalar_eq(G, &r->sh[i].x, &key[i].x));
        assert_memory_not_equal(&r->sh[i].X[i], &key[i].X[i], sizeof key[i].X[i]);
    }
    /* every pair: new+new interpolate to the key, old+new do not */
    for (unsigned a = 0; a < NP; a++)
        for (unsigned b = a + 1; b < NP; b++) {
            set[0] = key[a].id;
            set[1] = key[b].id;
            assert_int_equal(kg_mpc_frost_lagrange(G, &l0, set[0], set, 2), KG_OK);
            assert_int_equal(kg_mpc_frost_lagrange(G, &l1, set[1], set, 2), KG_OK);
            for (int mix = 0; mix < 2; mix++) {
                kg_mpc_scalar_mul(G, &t0, &l0, mix ? &key[a].x : &r->sh[a].x);
                kg_mpc_scalar_mul(G, &t1, &l1, &r->sh[b].x);
                kg_mpc_scalar_add(G, &x, &t0, &t1);
                kg_mpc_point_base_mul(G, &p, &x);
                assert_int_equal(kg_mpc_point_eq(G, &p, &key[0].pub), !mix);
            }
        }
    run_free(r);
}

/* The cheater's round-2 body is rewritten (Πprm tampered) and committed
 * to again, so V matches and only Πprm fails. */
static void retamper_prm(run *r, unsigned cheater)
{
    list mine[NP] = {0};
    one(r, cheater, 2, mine);
    assert_int_equal(r->err[cheater], KG_OK);
    kg_mpc_cggmp_msg *m = &mine[cheater].m[0];
    kg_mpc_node_rd rd;
    kg_mpc_node_wr w = {0};
    BIGNUM *v[3] = {0};
    kg_mpc_zk_prm prm;
    memset(&prm, 0, sizeof prm);
    kg_mpc_node_rd_init(&rd, m->body.data + 1, m->body.len - 1);
    for (int k = 0; k < 3; k++) assert_int_equal(kg_mpc_bn_read(&rd, &v[k], 600, "x"), KG_OK);
    assert_int_equal(kg_mpc_zk_prm_read(&rd, &prm), KG_OK);
    assert_int_equal(BN_add_word(prm.z[5], 1), 1);
    kg_mpc_node_wr_fixed(&w, m->body.data, 1);
    for (int k = 0; k < 3; k++) kg_mpc_bn_write(&w, v[k]);
    kg_mpc_zk_prm_write(&w, &prm);
    kg_mpc_node_wr_fixed(&w, rd.p, rd.left);
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    kg_bytes_free(&m->body);
    m->body = w.b;
    uint8_t sid[64];
    assert_int_equal(kg_mpc_cggmp_sid(sid, r->refresh ? "refresh" : "aux", G, session, sizeof session, &key[cheater],
                                      NULL, NULL, 0),
                     KG_OK);
    kg_mpc_cggmp_msg *com = &r->out[cheater].m[0];
    kg_mpc_cggmp_commit(com->body.data + 1, "kashguard/cggmp21/aux-com/v1", sid, key[cheater].id, m->body.data,
                        m->body.len);
    step(r, 2, cheater, &mine[cheater]);
    for (int k = 0; k < 3; k++) BN_free(v[k]);
    kg_mpc_zk_prm_clear(&prm);
}

enum { CH_COM, CH_PRM, CH_MOD, CH_FAC, CH_SHARE };

/* Rewrite a proof message: tag, proof (one field bumped), rest. */
static void bump_proof(kg_mpc_cggmp_msg *m, bool mod)
{
    kg_mpc_node_rd rd;
    kg_mpc_node_wr w = {0};
    kg_mpc_zk_mod pm;
    kg_mpc_zk_fac pf;
    memset(&pm, 0, sizeof pm);
    memset(&pf, 0, sizeof pf);
    kg_mpc_node_rd_init(&rd, m->body.data + 1, m->body.len - 1);
    kg_mpc_node_wr_fixed(&w, m->body.data, 1);
    if (mod) {
        assert_int_equal(kg_mpc_zk_mod_read(&rd, &pm), KG_OK);
        assert_int_equal(BN_add_word(pm.z[3], 1), 1);
        kg_mpc_zk_mod_write(&w, &pm);
    } else {
        assert_int_equal(kg_mpc_zk_fac_read(&rd, &pf), KG_OK);
        assert_int_equal(BN_add_word(pf.z1, 1), 1);
        kg_mpc_zk_fac_write(&w, &pf);
    }
    kg_mpc_node_wr_fixed(&w, rd.p, rd.left);
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    kg_bytes_free(&m->body);
    m->body = w.b;
    kg_mpc_zk_mod_clear(&pm);
    kg_mpc_zk_fac_clear(&pf);
}

static void cheat(int how, unsigned cheater)
{
    run *r = start(false, 2 * how);
    if (how == CH_PRM) {
        retamper_prm(r, cheater);
    } else {
        step_ok(r, 2);
        r->out[cheater].m[0].body.data[r->out[cheater].m[0].body.len - 3] ^= 1; /* salt */
    }
    step(r, 3, NP, NULL);
    expect_blame(r, cheater, KG_ERR_VERIFY);
    run_free(r);
}

/* One refresh run, one cheat per receiver (its own copy of the message):
 * 0 gets a bad Πmod from 1, 1 a bad Πfac from 2, 2 a bad share from 0. */
static void cheat_finish(void)
{
    static const unsigned from[NP] = {1, 2, 0};
    static const int how[NP] = {CH_MOD, CH_FAC, CH_SHARE};
    run *r = start(true, 20);
    step_ok(r, 2);
    step_ok(r, 3);
    for (unsigned i = 0; i < NP; i++) {
        kg_mpc_cggmp_msg in[4 * NP];
        size_t k = inbox(r->out, key[i].id, in);
        kg_mpc_cggmp_msg *m = NULL;
        for (size_t j = 0; j < k; j++)
            if (in[j].from == key[from[i]].id && (in[j].to != 0) == (how[i] != CH_MOD)) m = &in[j];
        assert_non_null(m);
        kg_bytes orig = m->body;
        assert_int_equal(kg_bytes_set(&m->body, orig.data, orig.len), KG_OK);
        if (how[i] == CH_SHARE)
            m->body.data[m->body.len - 1] ^= 1;
        else
            bump_proof(m, how[i] == CH_MOD);
        r->err[i] = kg_mpc_cggmp_aux_run_finish(r->st[i], in, k, &r->aux[i], &r->sh[i], &r->culprit[i]);
        assert_int_equal(r->err[i], KG_ERR_VERIFY);
        assert_int_equal(r->culprit[i], key[from[i]].id);
        assert_null(r->aux[i]);
        kg_bytes_free(&m->body);
    }
    run_free(r);
}

static void test_cheaters(void **state)
{
    cheat(CH_COM, 0);
    cheat(CH_PRM, 1);
    cheat_finish();
}

static void test_bad_lists(void **state)
{
    run *r = start(false, 0);
    kg_mpc_cggmp_msg in[8], *o = NULL;
    size_t no = 0, k = inbox(r->out, key[0].id, in);
    uint16_t c = 0;
    assert_int_equal(kg_mpc_cggmp_aux_run_round3(r->st[0], in, k, &o, &no, &c), KG_ERR_ARG);
    assert_int_equal(kg_mpc_cggmp_aux_run_round2(r->st[0], in, 1, &o, &no, &c), KG_ERR_BAD_INPUT);
    assert_int_equal(c, key[2].id);
    in[2] = in[0];
    assert_int_equal(kg_mpc_cggmp_aux_run_round2(r->st[0], in, 3, &o, &no, &c), KG_ERR_BAD_INPUT);
    assert_int_equal(c, key[1].id);
    in[2].from = 77;
    assert_int_equal(kg_mpc_cggmp_aux_run_round2(r->st[0], in, 3, &o, &no, &c), KG_ERR_BAD_INPUT);
    assert_int_equal(c, 77);
    assert_null(o);
    step_ok(r, 2); /* the refused calls changed nothing */
    run_free(r);

    /* bad arguments to _new */
    kg_mpc_cggmp_aux_run *st = NULL;
    BIGNUM *p = kg_fx_prime(1024, 0), *small = BN_new();
    assert_int_equal(BN_set_word(small, 1019), 1);
    assert_int_equal(kg_mpc_cggmp_aux_run_new(&st, &key[0], p, p, false, session, 3), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_cggmp_aux_run_new(&st, &key[0], p, small, false, session, 3), KG_ERR_BAD_INPUT);
    kg_mpc_cggmp_share bad = key[0];
    bad.t = 7;
    assert_int_equal(kg_mpc_cggmp_aux_run_new(&st, &bad, p, small, false, session, 3), KG_ERR_BAD_INPUT);
    assert_null(st);
    kg_mpc_bn_free(p);
    BN_free(small);
}

static int setup(void **state)
{
    make_key();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_lists),
        cmocka_unit_test(test_aux_only),
        cmocka_unit_test(test_refresh),
        cmocka_unit_test(test_cheaters),
    };
    if (kg_crypto_init() != KG_OK) return 1;
    return cmocka_run_group_tests(tests, setup, NULL);
}
