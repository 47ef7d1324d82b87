/* CGGMP21 key generation (src/mpc/cggmp_keygen.c) and the share plumbing
 * of cggmp_common.c: all parties run in this process and the test routes
 * their messages. Honest runs (2-of-3, 3-of-5, secp256k1 and P-256) give
 * consistent shares: every t-subset interpolates to one secret whose ·G is
 * the public key (recomputed here independently with Lagrange from
 * frost.h). A party that cheats (decommitment not matching V, bad share,
 * bad Schnorr proof, wrong-length VSS) is named by every honest party; a
 * wrong message list is refused without a state change; share encodings
 * round-trip and malformed ones are refused. */
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

#define MAXP 5
static const uint8_t session[] = "keygen-test-session";

typedef struct {
    kg_mpc_cggmp_msg *m;
    size_t n;
} list;

typedef struct {
    kg_mpc_group_id g;
    unsigned t, n;
    uint16_t ids[MAXP];
    kg_mpc_cggmp_keygen *st[MAXP];
    list out[MAXP]; /* the last round's output of each party */
    kg_mpc_cggmp_share sh[MAXP];
    char detail[MAXP][256]; /* each party's error detail in the last step */
} run;

static void run_init(run *r, kg_mpc_group_id g, unsigned t, unsigned n)
{
    memset(r, 0, sizeof *r);
    r->g = g;
    r->t = t;
    r->n = n;
    for (unsigned i = 0; i < n; i++) r->ids[i] = (uint16_t)(3 * i + 2); /* not 1..n: ids are arbitrary */
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(kg_mpc_cggmp_keygen_new(&r->st[i], g, r->ids[i], (uint16_t)t, r->ids, n, session,
                                                 sizeof session),
                         KG_OK);
}

static void outs_free(run *r)
{
    for (unsigned i = 0; i < r->n; i++) {
        kg_mpc_cggmp_msgs_free(r->out[i].m, r->out[i].n);
        r->out[i].m = NULL;
        r->out[i].n = 0;
    }
}

static void run_free(run *r)
{
    outs_free(r);
    for (unsigned i = 0; i < r->n; i++) kg_mpc_cggmp_keygen_free(r->st[i]);
}

/* Shallow copies of what party i receives from the last outputs. */
static size_t inbox(const run *r, unsigned i, kg_mpc_cggmp_msg *in)
{
    size_t k = 0;
    for (unsigned j = 0; j < r->n; j++)
        for (size_t m = 0; m < r->out[j].n; m++)
            if (j != i && (r->out[j].m[m].to == 0 || r->out[j].m[m].to == r->ids[i])) in[k++] = r->out[j].m[m];
    return k;
}

/* Every party runs round `round` (2, 3 or 4 = finish) on the last
 * outputs; returns the culprits named (0: success) in culprit[]. */
static void step(run *r, int round, kg_err *err, uint16_t *culprit)
{
    list next[MAXP] = {0};
    kg_mpc_cggmp_msg in[4 * MAXP];
    for (unsigned i = 0; i < r->n; i++) {
        size_t k = inbox(r, i, in);
        culprit[i] = 0xffff;
        if (round == 2)
            err[i] = kg_mpc_cggmp_keygen_round2(r->st[i], in, k, &next[i].m, &next[i].n, &culprit[i]);
        else if (round == 3)
            err[i] = kg_mpc_cggmp_keygen_round3(r->st[i], in, k, &next[i].m, &next[i].n, &culprit[i]);
        else
            err[i] = kg_mpc_cggmp_keygen_finish(r->st[i], in, k, &r->sh[i], &culprit[i]);
        snprintf(r->detail[i], sizeof r->detail[i], "%s", kg_err_detail(err[i]));
    }
    outs_free(r);
    memcpy(r->out, next, sizeof next);
}

static void round1(run *r)
{
    for (unsigned i = 0; i < r->n; i++)
        assert_int_equal(kg_mpc_cggmp_keygen_round1(r->st[i], &r->out[i].m, &r->out[i].n), KG_OK);
}

static void step_ok(run *r, int round)
{
    kg_err err[MAXP];
    uint16_t c[MAXP];
    step(r, round, err, c);
    for (unsigned i = 0; i < r->n; i++) {
        assert_int_equal(err[i], KG_OK);
        assert_int_equal(c[i], 0);
    }
}

/* The secret of the t parties whose positions are set in mask. */
static void combine(const run *r, unsigned mask, kg_mpc_scalar *x)
{
    uint16_t set[MAXP];
    size_t k = 0;
    kg_mpc_scalar l, term;
    for (unsigned i = 0; i < r->n; i++)
        if (mask >> i & 1) set[k++] = r->ids[i];
    kg_mpc_scalar_zero(r->g, x);
    for (unsigned i = 0; i < r->n; i++) {
        if (!(mask >> i & 1)) continue;
        assert_int_equal(kg_mpc_frost_lagrange(r->g, &l, r->ids[i], set, k), KG_OK);
        kg_mpc_scalar_mul(r->g, &term, &l, &r->sh[i].x);
        kg_mpc_scalar_add(r->g, x, x, &term);
    }
}

static void check_shares(const run *r)
{
    kg_mpc_scalar x0, x;
    kg_mpc_point p;
    unsigned first = 1;
    for (unsigned i = 0; i < r->n; i++) {
        const kg_mpc_cggmp_share *s = &r->sh[i];
        assert_int_equal(kg_mpc_cggmp_share_check(s), KG_OK);
        assert_int_equal(s->id, r->ids[i]);
        assert_int_equal(s->t, r->t);
        assert_int_equal(s->epoch, 0);
        assert_memory_equal(s->chain_code, r->sh[0].chain_code, 32);
        assert_memory_equal(&s->pub, &r->sh[0].pub, sizeof s->pub);
        assert_memory_equal(s->X, r->sh[0].X, sizeof s->X);
        kg_mpc_point_base_mul(r->g, &p, &s->x);
        assert_true(kg_mpc_point_eq(r->g, &p, &s->X[i]));
    }
    for (unsigned mask = 0; mask < 1u << r->n; mask++) {
        if ((unsigned)__builtin_popcount(mask) != r->t) continue;
        combine(r, mask, &x);
        if (first) {
            x0 = x;
            kg_mpc_point_base_mul(r->g, &p, &x0);
            assert_true(kg_mpc_point_eq(r->g, &p, &r->sh[0].pub));
            first = 0;
        }
        assert_true(kg_mpc_scalar_eq(r->g, &x, &x0));
    }
    /* t-1 shares give another value */
    combine(r, (1u << (r->t - 1)) - 1, &x);
    assert_false(kg_mpc_scalar_eq(r->g, &x, &x0));
}

static void test_honest(void **state)
{
    static const kg_mpc_group_id gs[] = {KG_MPC_GROUP_SECP256K1, KG_MPC_GROUP_P256};
    static const unsigned tn[][2] = {{2, 3}, {3, 5}, {3, 3}};
    for (size_t gi = 0; gi < 2; gi++)
        for (size_t c = 0; c < 3; c++) {
            run r;
            run_init(&r, gs[gi], tn[c][0], tn[c][1]);
            round1(&r);
            step_ok(&r, 2);
            step_ok(&r, 3);
            step_ok(&r, 4);
            check_shares(&r);
            /* a second run gives another key and chain code */
            run r2;
            run_init(&r2, gs[gi], tn[c][0], tn[c][1]);
            round1(&r2);
            step_ok(&r2, 2);
            step_ok(&r2, 3);
            step_ok(&r2, 4);
            assert_memory_not_equal(&r2.sh[0].pub, &r.sh[0].pub, sizeof r.sh[0].pub);
            assert_memory_not_equal(r2.sh[0].chain_code, r.sh[0].chain_code, 32);
            run_free(&r);
            run_free(&r2);
        }
}

/* Every party but the cheater fails round `round` naming it. */
static void expect_blame(run *r, int round, unsigned cheater, kg_err want)
{
    kg_err err[MAXP];
    uint16_t c[MAXP];
    step(r, round, err, c);
    for (unsigned i = 0; i < r->n; i++) {
        if (i == cheater) continue;
        assert_int_equal(err[i], want);
        assert_int_equal(c[i], r->ids[cheater]);
        char want_txt[32];
        snprintf(want_txt, sizeof want_txt, "party %u:", r->ids[cheater]);
        assert_non_null(strstr(r->detail[i], want_txt));
    }
}

static kg_mpc_cggmp_msg *find(run *r, unsigned from, uint16_t to)
{
    for (size_t m = 0; m < r->out[from].n; m++)
        if (r->out[from].m[m].to == to) return &r->out[from].m[m];
    fail();
    return NULL;
}

enum { CHEAT_DECOM, CHEAT_SHARE, CHEAT_SCH, CHEAT_VSS_LEN };

static void cheat_run(kg_mpc_group_id g, unsigned t, unsigned n, unsigned cheater, int how)
{
    run r;
    run_init(&r, g, t, n);
    round1(&r);
    if (how == CHEAT_VSS_LEN) {
        /* The cheater commits to a VSS with t-1 points: V matches but
         * the length is wrong. Make its round-2 message first. */
        kg_err err[MAXP];
        uint16_t c[MAXP];
        step(&r, 2, err, c);
        kg_mpc_cggmp_msg *d = find(&r, cheater, 0);
        size_t pl = kg_mpc_group_point_len(g);
        uint8_t *b = d->body.data;
        b[65] = 0;
        b[66] = (uint8_t)(t - 1);
        memmove(b + 67 + (t - 1) * pl, b + 67 + t * pl, pl); /* drop F[t-1], keep A */
        d->body.len -= pl;
        /* restart the honest parties with the cheater's new V */
        uint8_t sid[64], v[64];
        assert_int_equal(kg_mpc_cggmp_sid(sid, "keygen", g, session, sizeof session, NULL, NULL, r.ids, n), KG_OK);
        kg_mpc_cggmp_commit(v, "kashguard/cggmp21/keygen-com/v1", sid, r.ids[cheater], d->body.data, d->body.len);
        /* the honest parties already took the old V: restart them */
        for (unsigned i = 0; i < n; i++)
            if (i != cheater) kg_mpc_cggmp_keygen_free(r.st[i]);
        list keep = r.out[cheater];
        r.out[cheater].m = NULL;
        r.out[cheater].n = 0;
        outs_free(&r);
        /* fresh honest parties: round 1, then feed them the cheater's V */
        for (unsigned i = 0; i < n; i++) {
            if (i == cheater) continue;
            assert_int_equal(kg_mpc_cggmp_keygen_new(&r.st[i], g, r.ids[i], (uint16_t)t, r.ids, n, session,
                                                     sizeof session), KG_OK);
            assert_int_equal(kg_mpc_cggmp_keygen_round1(r.st[i], &r.out[i].m, &r.out[i].n), KG_OK);
        }
        uint8_t body[65] = {0x11};
        memcpy(body + 1, v, 64);
        assert_int_equal(kg_mpc_cggmp_msg_push(&r.out[cheater].m, &r.out[cheater].n, r.ids[cheater], 0, body, 65),
                         KG_OK);
        step(&r, 2, err, c);
        for (unsigned i = 0; i < n; i++)
            if (i != cheater) assert_int_equal(err[i], KG_OK);
        kg_mpc_cggmp_msgs_free(r.out[cheater].m, r.out[cheater].n);
        r.out[cheater] = keep;
        expect_blame(&r, 3, cheater, KG_ERR_BAD_INPUT);
        run_free(&r);
        return;
    }
    step_ok(&r, 2);
    if (how == CHEAT_DECOM) {
        find(&r, cheater, 0)->body.data[5] ^= 1; /* a bit of rid */
        expect_blame(&r, 3, cheater, KG_ERR_VERIFY);
        run_free(&r);
        return;
    }
    step_ok(&r, 3);
    /* low bit of the scalar: still canonical */
    if (how == CHEAT_SCH) find(&r, cheater, 0)->body.data[32] ^= 1;
    for (unsigned i = 0; i < n && how == CHEAT_SHARE; i++)
        if (i != cheater) find(&r, cheater, r.ids[i])->body.data[32] ^= 1;
    expect_blame(&r, 4, cheater, KG_ERR_VERIFY);
    run_free(&r);
}

static void test_cheaters(void **state)
{
    static const kg_mpc_group_id gs[] = {KG_MPC_GROUP_SECP256K1, KG_MPC_GROUP_P256};
    for (size_t gi = 0; gi < 2; gi++)
        for (int how = CHEAT_DECOM; how <= CHEAT_VSS_LEN; how++) {
            cheat_run(gs[gi], 2, 3, 1, how);
            cheat_run(gs[gi], 3, 5, 4, how);
        }
}

/* Missing, duplicate, unknown-sender, misaddressed messages: refused with
 * the party named, no state change: the same call with the right list
 * succeeds. */
static void test_bad_lists(void **state)
{
    run r;
    kg_mpc_cggmp_msg in[16], *o = NULL;
    size_t no = 0, k;
    uint16_t c = 0;
    kg_mpc_cggmp_share sh;
    run_init(&r, KG_MPC_GROUP_SECP256K1, 2, 3);
    assert_int_equal(kg_mpc_cggmp_keygen_round2(r.st[0], NULL, 0, &o, &no, &c), KG_ERR_ARG); /* out of order */
    round1(&r);
    k = inbox(&r, 0, in);
    assert_int_equal(k, 2);
    assert_int_equal(kg_mpc_cggmp_keygen_round2(r.st[0], in, 1, &o, &no, &c), KG_ERR_BAD_INPUT);
    assert_int_equal(c, r.ids[2]); /* missing */
    assert_null(o);
    in[2] = in[1];
    assert_int_equal(kg_mpc_cggmp_keygen_round2(r.st[0], in, 3, &o, &no, &c), KG_ERR_BAD_INPUT);
    assert_int_equal(c, r.ids[2]); /* duplicate */
    in[2].from = 99;
    assert_int_equal(kg_mpc_cggmp_keygen_round2(r.st[0], in, 3, &o, &no, &c), KG_ERR_BAD_INPUT);
    assert_int_equal(c, 99); /* unknown sender */
    in[2].from = r.ids[0];
    assert_int_equal(kg_mpc_cggmp_keygen_round2(r.st[0], in, 3, &o, &no, &c), KG_ERR_BAD_INPUT);
    assert_int_equal(c, r.ids[0]); /* own id */
    in[1].to = r.ids[2];
    assert_int_equal(kg_mpc_cggmp_keygen_round2(r.st[0], in, 2, &o, &no, &c), KG_ERR_BAD_INPUT);
    assert_int_equal(c, r.ids[2]); /* addressed to someone else */
    in[1].to = r.ids[0];
    assert_int_equal(kg_mpc_cggmp_keygen_round2(r.st[0], in, 2, &o, &no, &c), KG_ERR_BAD_INPUT);
    assert_int_equal(c, r.ids[2]); /* p2p where a broadcast is expected */
    step_ok(&r, 2);
    step_ok(&r, 3);
    /* finish: a missing p2p share */
    k = inbox(&r, 1, in);
    assert_int_equal(k, 4);
    for (size_t m = 0; m < k; m++)
        if (in[m].to && in[m].from == r.ids[2]) in[m] = in[--k], m = k;
    assert_int_equal(kg_mpc_cggmp_keygen_finish(r.st[1], in, k, &sh, &c), KG_ERR_BAD_INPUT);
    assert_int_equal(c, r.ids[2]);
    step_ok(&r, 4);
    check_shares(&r);
    assert_int_equal(kg_mpc_cggmp_keygen_finish(r.st[1], in, k, &sh, &c), KG_ERR_ARG); /* done */
    run_free(&r);
}

static void test_new_args(void **state)
{
    kg_mpc_cggmp_keygen *st = NULL;
    uint16_t ids[3] = {1, 2, 3}, dup[3] = {1, 2, 2}, zero[3] = {0, 1, 2};
    assert_int_equal(kg_mpc_cggmp_keygen_new(&st, KG_MPC_GROUP_ED25519, 1, 2, ids, 3, session, 4), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_cggmp_keygen_new(&st, KG_MPC_GROUP_P256, 1, 1, ids, 3, session, 4), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_cggmp_keygen_new(&st, KG_MPC_GROUP_P256, 1, 4, ids, 3, session, 4), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_cggmp_keygen_new(&st, KG_MPC_GROUP_P256, 4, 2, ids, 3, session, 4), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_cggmp_keygen_new(&st, KG_MPC_GROUP_P256, 1, 2, dup, 3, session, 4), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_cggmp_keygen_new(&st, KG_MPC_GROUP_P256, 1, 2, zero, 3, session, 4), KG_ERR_BAD_INPUT);
    assert_null(st);
    kg_mpc_group_id g;
    assert_int_equal(kg_mpc_cggmp_scheme_parse(&g, "cggmp21-p256"), KG_OK);
    assert_int_equal(g, KG_MPC_GROUP_P256);
    assert_int_equal(kg_mpc_cggmp_scheme_parse(&g, "cggmp21-secp256k1"), KG_OK);
    assert_int_equal(g, KG_MPC_GROUP_SECP256K1);
    assert_int_equal(kg_mpc_cggmp_scheme_parse(&g, "frost-ed25519"), KG_ERR_BAD_INPUT);
    assert_null(kg_mpc_cggmp_scheme_name(KG_MPC_GROUP_ED25519));
}

static void test_share_encoding(void **state)
{
    run r;
    kg_bytes b = {0};
    kg_mpc_cggmp_share d;
    run_init(&r, KG_MPC_GROUP_P256, 3, 5);
    round1(&r);
    step_ok(&r, 2);
    step_ok(&r, 3);
    step_ok(&r, 4);
    r.sh[2].epoch = 7;
    assert_int_equal(kg_mpc_cggmp_share_encode(&b, &r.sh[2]), KG_OK);
    assert_int_equal(kg_mpc_cggmp_share_decode(&d, b.data, b.len), KG_OK);
    assert_memory_equal(&d, &r.sh[2], sizeof d);
    for (size_t l = 0; l < b.len; l++) /* every truncation */
        assert_int_equal(kg_mpc_cggmp_share_decode(&d, b.data, l), KG_ERR_BAD_INPUT);
    uint8_t *big = malloc(b.len + 1);
    memcpy(big, b.data, b.len);
    big[b.len] = 0;
    assert_int_equal(kg_mpc_cggmp_share_decode(&d, big, b.len + 1), KG_ERR_BAD_INPUT);
    /* flips in the version, group, id, x, t, n, an id, a public share, pub */
    size_t pl = 33, off_t = 2 + 1 + 2 + 32;
    size_t flips[] = {1, 2, 4, 10, 36, off_t + 1, off_t + 3, off_t + 5, off_t + 4 + 2 + 3,
                      off_t + 4 + 5 * (2 + pl) + 7};
    for (size_t f = 0; f < sizeof flips / sizeof flips[0]; f++) {
        memcpy(big, b.data, b.len);
        big[flips[f]] ^= 1;
        assert_int_equal(kg_mpc_cggmp_share_decode(&d, big, b.len), KG_ERR_BAD_INPUT);
        assert_true(d.t == 0 && d.n == 0);
    }
    /* share_check refuses inconsistent public data */
    kg_mpc_cggmp_share s = r.sh[0];
    s.X[3] = s.X[4];
    assert_int_equal(kg_mpc_cggmp_share_check(&s), KG_ERR_BAD_INPUT);
    s = r.sh[0];
    s.ids[1] = s.ids[2];
    assert_int_equal(kg_mpc_cggmp_share_check(&s), KG_ERR_BAD_INPUT);
    s = r.sh[0];
    s.t = 1;
    assert_int_equal(kg_mpc_cggmp_share_check(&s), KG_ERR_BAD_INPUT);
    free(big);
    kg_bytes_free(&b);
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_honest),        cmocka_unit_test(test_cheaters),
        cmocka_unit_test(test_bad_lists),     cmocka_unit_test(test_new_args),
        cmocka_unit_test(test_share_encoding),
    };
    if (kg_crypto_init() != KG_OK) return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
