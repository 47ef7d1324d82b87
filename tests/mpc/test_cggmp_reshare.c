/* Tests of CGGMP21 resharing (cggmp_reshare.c), every party in one process.
 *
 * Keys are dealt with a known secret, so the new shares are checked
 * independently: every t'-subset interpolates (plain Lagrange over the
 * scalars) to that secret, a set mixing old and new shares does not. The
 * public key and chain code stay, the epoch goes up by one. A reshared key
 * then gets aux info (the aux run with refresh = false, or the aux dealer on
 * the 1024-bit fixture primes) and presigns and signs; the signature is
 * verified with libsecp256k1. Cheating dealers (wrong share, wrong constant,
 * wrong coefficient commitment, other chain code, decommitment not matching
 * V) are named by every honest new party; malformed, missing, duplicate and
 * misaddressed messages are refused and the same call then succeeds with
 * the right list (no state change). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <secp256k1.h>

#include "kashguard/crypto.h"
#include "kashguard/mpc/cggmp.h"
#include "kashguard/mpc/frost.h"
#include "../../src/mpc/cggmp_int.h"
#include "cggmp_fixture.h"

#define MAXN 8
static const uint8_t session[] = "reshare test session";

enum { T_NONE, T_SHARE, T_CONST, T_COEF, T_CHAIN, T_DECOM };

typedef struct {
    kg_mpc_group_id g;
    kg_mpc_scalar secret;
    unsigned old_t, old_n;
    kg_mpc_cggmp_share old[MAXN]; /* old[id-1] */
    uint16_t parties[2 * MAXN], dealers[MAXN], news[MAXN];
    size_t np, nd, nn;
    uint16_t nt;
    kg_mpc_cggmp_reshare *st[2 * MAXN];
    kg_mpc_cggmp_msg *o1[2 * MAXN], *o2[2 * MAXN];
    size_t n1[2 * MAXN], n2[2 * MAXN];
    kg_mpc_cggmp_share out[2 * MAXN]; /* by party position */
    kg_err err[2 * MAXN];
    uint16_t culprit[2 * MAXN];
    bool named[2 * MAXN]; /* the error detail starts "party <culprit>:" */
    char detail[2 * MAXN][256];
} rs;

static bool in(const uint16_t *ids, size_t n, uint16_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id) return true;
    return false;
}

static void rs_init(rs *R, kg_mpc_group_id g, unsigned t, unsigned n, const uint16_t *dealers, size_t nd,
                    const uint16_t *news, size_t nn, uint16_t nt)
{
    memset(R, 0, sizeof *R);
    R->g = g, R->old_t = t, R->old_n = n, R->nd = nd, R->nn = nn, R->nt = nt;
    assert_int_equal(kg_mpc_scalar_random(g, &R->secret), KG_OK);
    assert_int_equal(kg_mpc_cggmp_dealer(g, t, n, &R->secret, R->old), KG_OK);
    for (unsigned i = 0; i < n; i++) R->old[i].epoch = 7;
    memcpy(R->dealers, dealers, nd * sizeof *dealers);
    memcpy(R->news, news, nn * sizeof *news);
    for (uint16_t id = 1; id < 2 * MAXN; id++)
        if (in(dealers, nd, id) || in(news, nn, id)) R->parties[R->np++] = id;
}

/* What party id passes as `old`: its share when it holds one, else the
 * key's public data (x and id wiped: must be ignored). */
static kg_mpc_cggmp_share old_arg(const rs *R, uint16_t id)
{
    kg_mpc_cggmp_share s;
    if (id <= R->old_n) return R->old[id - 1];
    s = R->old[0];
    memset(&s.x, 0, sizeof s.x);
    s.id = 0;
    return s;
}

static size_t inbox(kg_mpc_cggmp_msg *box, kg_mpc_cggmp_msg *const *out, const size_t *n, const rs *R, uint16_t id)
{
    size_t k = 0;
    for (size_t i = 0; i < R->np; i++) {
        if (R->parties[i] == id) continue;
        for (size_t j = 0; j < n[i]; j++)
            if (out[i][j].to == 0 || out[i][j].to == id) box[k++] = out[i][j];
    }
    return k;
}

static void rs_start(rs *R)
{
    for (size_t i = 0; i < R->np; i++) {
        uint16_t id = R->parties[i];
        kg_mpc_cggmp_share o = old_arg(R, id);
        assert_int_equal(kg_mpc_cggmp_reshare_new(&R->st[i], &o, id, R->dealers, R->nd, R->news, R->nn, R->nt,
                                                  session, sizeof session),
                         KG_OK);
        assert_int_equal(kg_mpc_cggmp_reshare_round1(R->st[i], &R->o1[i], &R->n1[i]), KG_OK);
        assert_int_equal(R->n1[i], in(R->dealers, R->nd, id) ? 1 : 0);
        assert_memory_equal(kg_mpc_cggmp_reshare_sid(R->st[i]), kg_mpc_cggmp_reshare_sid(R->st[0]), 64);
    }
}

/* ------------------------------------------------------------ tampering */

static void scalar_plus1(kg_mpc_group_id g, uint8_t *b)
{
    kg_mpc_scalar s, one;
    assert_int_equal(kg_mpc_scalar_from_bytes(g, &s, b, 32), KG_OK);
    kg_mpc_scalar_from_u64(g, &one, 1);
    kg_mpc_scalar_add(g, &s, &s, &one);
    memcpy(b, s.b, 32);
}

/* Decommitment body: tag, u16 t', t' points (33 bytes), chain code, salt. */
static void point_plus_G(kg_mpc_group_id g, uint8_t *b)
{
    kg_mpc_point p, G;
    kg_mpc_scalar one;
    kg_mpc_scalar_from_u64(g, &one, 1);
    kg_mpc_point_base_mul(g, &G, &one);
    assert_int_equal(kg_mpc_point_deserialize(g, &p, b, 33), KG_OK);
    kg_mpc_point_add(g, &p, &p, &G);
    assert_int_equal(kg_mpc_point_serialize(g, b, &p), KG_OK);
}

/* Applied to cheater position c's round-2 output; re-forges its round-1 V
 * over the changed decommitment (with the public sid) unless T_DECOM. */
static void tamper(rs *R, int kind, size_t c)
{
    uint16_t who = R->parties[c];
    for (size_t j = 0; j < R->n2[c]; j++) {
        kg_mpc_cggmp_msg *m = &R->o2[c][j];
        if (m->to != 0) {
            if (kind == T_SHARE || kind == T_CONST) scalar_plus1(R->g, m->body.data + 1);
            continue;
        }
        uint8_t *b = m->body.data;
        if (kind == T_CONST) point_plus_G(R->g, b + 3);
        if (kind == T_COEF) point_plus_G(R->g, b + 3 + 33);
        if (kind == T_CHAIN) b[3 + 33 * R->nt] ^= 1;
        if (kind == T_DECOM) b[m->body.len - 1] ^= 1;
        if (kind != T_DECOM)
            kg_mpc_cggmp_commit(R->o1[c][0].body.data + 1, "kashguard/cggmp21/reshare-com/v1",
                                kg_mpc_cggmp_reshare_sid(R->st[c]), who, b, m->body.len);
    }
}

/* Rounds 2 and finish; the cheater (if any) runs round 2 first so its
 * changed V reaches the others. */
static void rs_finish(rs *R, int kind, uint16_t cheater)
{
    kg_mpc_cggmp_msg box[4 * MAXN];
    char txt[32];
    size_t order[2 * MAXN], k = 0;
    for (size_t i = 0; i < R->np; i++)
        if (R->parties[i] == cheater) order[k++] = i;
    for (size_t i = 0; i < R->np; i++)
        if (R->parties[i] != cheater) order[k++] = i;
    for (size_t x = 0; x < R->np; x++) {
        size_t i = order[x];
        size_t nb = inbox(box, R->o1, R->n1, R, R->parties[i]);
        uint16_t c = 0xffff;
        assert_int_equal(kg_mpc_cggmp_reshare_round2(R->st[i], box, nb, &R->o2[i], &R->n2[i], &c), KG_OK);
        assert_int_equal(c, 0);
        if (R->parties[i] == cheater) tamper(R, kind, i);
    }
    for (size_t i = 0; i < R->np; i++) {
        uint16_t id = R->parties[i];
        size_t nb = inbox(box, R->o2, R->n2, R, id);
        R->culprit[i] = 0xffff;
        R->err[i] = kg_mpc_cggmp_reshare_finish(R->st[i], box, nb, &R->out[i], &R->culprit[i]);
        snprintf(R->detail[i], sizeof R->detail[i], "%s", kg_err_detail(R->err[i]));
        snprintf(txt, sizeof txt, "party %u:", R->culprit[i]);
        R->named[i] = strncmp(kg_err_detail(R->err[i]), txt, strlen(txt)) == 0;
        if (!in(R->news, R->nn, id)) assert_int_equal(R->err[i], KG_ERR_ARG); /* old-only: done after round 2 */
        else if (R->err[i] && !cheater) print_message("party %u: %s\n", id, kg_err_detail(R->err[i]));
    }
}

static void rs_free(rs *R)
{
    for (size_t i = 0; i < R->np; i++) {
        kg_mpc_cggmp_reshare_free(R->st[i]);
        kg_mpc_cggmp_msgs_free(R->o1[i], R->n1[i]);
        kg_mpc_cggmp_msgs_free(R->o2[i], R->n2[i]);
        R->st[i] = NULL, R->o1[i] = R->o2[i] = NULL, R->n1[i] = R->n2[i] = 0;
    }
}

/* ---------------------------------------------------- independent checks */

/* Σ λ_k·x_k over shares[0..k-1] (ids from the shares). */
static void combine(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_cggmp_share *const *sh, size_t k)
{
    uint16_t ids[MAXN];
    kg_mpc_scalar l, t;
    for (size_t i = 0; i < k; i++) ids[i] = sh[i]->id;
    kg_mpc_scalar_zero(g, out);
    for (size_t i = 0; i < k; i++) {
        assert_int_equal(kg_mpc_frost_lagrange(g, &l, ids[i], ids, k), KG_OK);
        kg_mpc_scalar_mul(g, &t, &l, &sh[i]->x);
        kg_mpc_scalar_add(g, out, out, &t);
    }
}

static const kg_mpc_cggmp_share *new_share(const rs *R, uint16_t id)
{
    for (size_t i = 0; i < R->np; i++)
        if (R->parties[i] == id) return &R->out[i];
    fail();
    return NULL;
}

static void check_result(const rs *R)
{
    const kg_mpc_cggmp_share *first = new_share(R, R->news[0]);
    for (size_t i = 0; i < R->nn; i++) {
        const kg_mpc_cggmp_share *s = new_share(R, R->news[i]);
        assert_int_equal(kg_mpc_cggmp_share_check(s), KG_OK);
        assert_int_equal(s->id, R->news[i]);
        assert_int_equal(s->t, R->nt);
        assert_int_equal(s->n, R->nn);
        assert_int_equal(s->epoch, 8);
        assert_true(kg_mpc_point_eq(R->g, &s->pub, &R->old[0].pub));
        assert_memory_equal(s->chain_code, R->old[0].chain_code, KG_CGGMP_CHAIN_CODE_BYTES);
        assert_memory_equal(s->X, first->X, sizeof s->X);
        assert_memory_equal(s->ids, first->ids, sizeof s->ids);
    }
    /* every t'-subset gives the secret; every (t'-1)-subset does not */
    kg_mpc_scalar x;
    for (unsigned mask = 1; mask < (1u << R->nn); mask++) {
        const kg_mpc_cggmp_share *sh[MAXN];
        size_t k = 0;
        for (size_t i = 0; i < R->nn; i++)
            if (mask & (1u << i)) sh[k++] = new_share(R, R->news[i]);
        if (k != R->nt && k + 1 != R->nt) continue;
        combine(R->g, &x, sh, k);
        assert_true(kg_mpc_scalar_eq(R->g, &x, &R->secret) == (k == R->nt));
    }
    /* old and new shares do not mix: t' - 1 new ones plus an old one of
     * another id (and, for an old id, the old share in place of the new) */
    for (unsigned oid = 1; oid <= R->old_n; oid++) {
        const kg_mpc_cggmp_share *sh[MAXN];
        size_t k = 0;
        for (size_t i = 0; i < R->nn && k + 1 < R->nt; i++)
            if (R->news[i] != oid) sh[k++] = new_share(R, R->news[i]);
        sh[k++] = &R->old[oid - 1];
        combine(R->g, &x, sh, k);
        assert_false(kg_mpc_scalar_eq(R->g, &x, &R->secret));
    }
}

static void reshare_ok(rs *R)
{
    rs_start(R);
    rs_finish(R, T_NONE, 0);
    for (size_t i = 0; i < R->np; i++)
        if (in(R->news, R->nn, R->parties[i])) assert_int_equal(R->err[i], KG_OK);
    check_result(R);
}

/* ------------------------------------------------------ presign and sign */

/* Party positions 0..n-1 of a generic in-process run: the messages of
 * the previous round that party ids[i] receives. */
static size_t inbox_of(kg_mpc_cggmp_msg *box, kg_mpc_cggmp_msg *const *out, const size_t *n, const uint16_t *ids,
                       size_t np, uint16_t id)
{
    size_t k = 0;
    for (size_t i = 0; i < np; i++) {
        if (ids[i] == id) continue;
        for (size_t j = 0; j < n[i]; j++)
            if (out[i][j].to == 0 || out[i][j].to == id) box[k++] = out[i][j];
    }
    return k;
}

static void outs_next(kg_mpc_cggmp_msg **out, size_t *n, kg_mpc_cggmp_msg **nout, size_t *nn, size_t np)
{
    for (size_t i = 0; i < np; i++) {
        kg_mpc_cggmp_msgs_free(out[i], n[i]);
        out[i] = nout[i], n[i] = nn[i];
        nout[i] = NULL, nn[i] = 0;
    }
}

/* The aux run (refresh = false) for the new set: fixture primes 2i, 2i+1. */
static void aux_run_all(const kg_mpc_cggmp_share *sh, size_t n, kg_mpc_cggmp_aux **aux)
{
    kg_mpc_cggmp_aux_run *st[MAXN];
    kg_mpc_cggmp_msg *out[MAXN] = {0}, *nout[MAXN] = {0}, box[4 * MAXN];
    size_t no[MAXN] = {0}, nno[MAXN] = {0};
    uint16_t ids[MAXN], c;
    for (size_t i = 0; i < n; i++) {
        BIGNUM *p = kg_fx_prime(1024, (unsigned)(2 * i)), *q = kg_fx_prime(1024, (unsigned)(2 * i + 1));
        assert_non_null(p);
        assert_non_null(q);
        ids[i] = sh[i].id;
        assert_int_equal(kg_mpc_cggmp_aux_run_new(&st[i], &sh[i], p, q, false, session, sizeof session), KG_OK);
        kg_mpc_bn_free(p);
        kg_mpc_bn_free(q);
        assert_int_equal(kg_mpc_cggmp_aux_run_round1(st[i], &out[i], &no[i]), KG_OK);
    }
    for (int round = 2; round <= 4; round++) {
        for (size_t i = 0; i < n; i++) {
            size_t k = inbox_of(box, out, no, ids, n, ids[i]);
            kg_err e = round == 2   ? kg_mpc_cggmp_aux_run_round2(st[i], box, k, &nout[i], &nno[i], &c)
                       : round == 3 ? kg_mpc_cggmp_aux_run_round3(st[i], box, k, &nout[i], &nno[i], &c)
                                    : kg_mpc_cggmp_aux_run_finish(st[i], box, k, &aux[i], NULL, &c);
            if (e) print_message("aux party %u: %s\n", ids[i], kg_err_detail(e));
            assert_int_equal(e, KG_OK);
        }
        outs_next(out, no, nout, nno, n);
    }
    for (size_t i = 0; i < n; i++) kg_mpc_cggmp_aux_run_free(st[i]);
}

static void check_secp256k1(const uint8_t sig[64], const uint8_t digest[32], const kg_mpc_point *pub)
{
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_VERIFY);
    secp256k1_ecdsa_signature s;
    secp256k1_pubkey pk;
    assert_int_equal(secp256k1_ecdsa_signature_parse_compact(ctx, &s, sig), 1);
    assert_int_equal(secp256k1_ec_pubkey_parse(ctx, &pk, pub->b, 33), 1);
    assert_int_equal(secp256k1_ecdsa_verify(ctx, &s, digest, &pk), 1);
    secp256k1_context_destroy(ctx);
}

/* Aux info for the new set sh[0..n-1] (run or dealt), then the signers
 * presign and sign a digest; the signature verifies under the old pub. */
static void sign_with(kg_mpc_cggmp_share *sh, size_t n, const uint16_t *signers, size_t ns, bool run_aux)
{
    kg_mpc_cggmp_aux *aux[MAXN] = {0};
    for (size_t i = 1; i < n; i++) /* increasing ids, as the key's ids[] */
        for (size_t j = i; j > 0 && sh[j - 1].id > sh[j].id; j--) {
            kg_mpc_cggmp_share x = sh[j];
            sh[j] = sh[j - 1], sh[j - 1] = x;
        }
    if (run_aux) {
        aux_run_all(sh, n, aux);
    } else {
        BIGNUM *pr[2 * MAXN] = {0};
        for (size_t i = 0; i < 2 * n; i++) assert_non_null(pr[i] = kg_fx_prime(1024, (unsigned)(10 + i)));
        assert_int_equal(kg_mpc_cggmp_aux_dealer(aux, sh[0].ids, n, pr), KG_OK);
        for (size_t i = 0; i < 2 * n; i++) kg_mpc_bn_free(pr[i]);
    }
    kg_mpc_cggmp_presign *st[MAXN];
    kg_mpc_cggmp_presig *ps[MAXN] = {0};
    kg_mpc_cggmp_msg *out[MAXN] = {0}, *nout[MAXN] = {0}, box[4 * MAXN];
    size_t no[MAXN] = {0}, nno[MAXN] = {0};
    uint16_t c;
    for (size_t i = 0; i < ns; i++) {
        int k = kg_mpc_cggmp_index(sh[0].ids, n, signers[i]);
        assert_true(k >= 0);
        assert_int_equal(kg_mpc_cggmp_presign_new(&st[i], &sh[k], aux[k], signers, ns, session, sizeof session),
                         KG_OK);
        assert_int_equal(kg_mpc_cggmp_presign_round1(st[i], &out[i], &no[i]), KG_OK);
    }
    for (int round = 2; round <= 4; round++) {
        for (size_t i = 0; i < ns; i++) {
            size_t k = inbox_of(box, out, no, signers, ns, signers[i]);
            kg_err e = round == 2   ? kg_mpc_cggmp_presign_round2(st[i], box, k, &nout[i], &nno[i], &c)
                       : round == 3 ? kg_mpc_cggmp_presign_round3(st[i], box, k, &nout[i], &nno[i], &c)
                                    : kg_mpc_cggmp_presign_finish(st[i], box, k, &ps[i], &c);
            if (e) print_message("presign party %u: %s\n", signers[i], kg_err_detail(e));
            assert_int_equal(e, KG_OK);
        }
        outs_next(out, no, nout, nno, ns);
    }
    uint8_t digest[32], sig[64];
    kg_mpc_scalar sigma[MAXN];
    int recid = -1;
    kg_crypto_sha256(digest, (const uint8_t *)"after reshare", 13);
    for (size_t i = 0; i < ns; i++) assert_int_equal(kg_mpc_cggmp_sign_share(ps[i], digest, NULL, &sigma[i]), KG_OK);
    assert_int_equal(kg_mpc_cggmp_sign_combine(sh[0].group, kg_mpc_cggmp_presig_R(ps[0]), &sh[0].pub, digest, sigma,
                                               ns, sig, &recid),
                     KG_OK);
    check_secp256k1(sig, digest, &sh[0].pub);
    for (size_t i = 0; i < ns; i++) {
        kg_mpc_cggmp_presign_free(st[i]);
        kg_mpc_cggmp_presig_free(ps[i]);
    }
    for (size_t i = 0; i < n; i++) kg_mpc_cggmp_aux_free(aux[i]);
}

/* ------------------------------------------------------------------ tests */

/* 2-of-3 -> 3-of-4: dealers 1, 3; party 2 holds an old share but does not
 * deal; party 4 is new. Then the aux run and a signature. */
static void test_grow(void **state)
{
    (void)state;
    rs *R = calloc(1, sizeof *R);
    assert_non_null(R);
    rs_init(R, KG_MPC_GROUP_SECP256K1, 2, 3, (const uint16_t[]){3, 1}, 2, (const uint16_t[]){1, 2, 3, 4}, 4, 3);
    reshare_ok(R);
    kg_mpc_cggmp_share sh[MAXN];
    for (size_t i = 0; i < R->nn; i++) sh[i] = *new_share(R, R->news[i]);
    sign_with(sh, R->nn, (const uint16_t[]){2, 3, 4}, 3, true);
    rs_free(R);
    free(R);
}

/* 3-of-5 -> 2-of-3: dealers 2, 4, 5; 4 and 5 leave; 1 and 3 only receive
 * (3 from public data only); party 6 is new. Aux dealer and a signature. */
static void test_shrink(void **state)
{
    (void)state;
    rs *R = calloc(1, sizeof *R);
    assert_non_null(R);
    rs_init(R, KG_MPC_GROUP_SECP256K1, 3, 5, (const uint16_t[]){2, 4, 5}, 3, (const uint16_t[]){6, 2, 1}, 3, 2);
    reshare_ok(R);
    kg_mpc_cggmp_share sh[MAXN];
    for (size_t i = 0; i < R->nn; i++) sh[i] = *new_share(R, R->news[i]);
    sign_with(sh, R->nn, (const uint16_t[]){6, 1}, 2, false);
    rs_free(R);
    free(R);
}

/* The same set, new threshold: 2-of-3 -> 3-of-3 (P-256) and back to 2-of-3
 * from the reshared key (epoch 8 -> 9); all parties deal. */
static void test_same_set(void **state)
{
    (void)state;
    rs *R = calloc(1, sizeof *R);
    assert_non_null(R);
    const uint16_t ids[3] = {1, 2, 3};
    rs_init(R, KG_MPC_GROUP_P256, 2, 3, ids, 3, ids, 3, 3);
    reshare_ok(R);
    kg_mpc_cggmp_share next[3];
    for (size_t i = 0; i < 3; i++) next[i] = *new_share(R, ids[i]);
    rs_free(R);
    memcpy(R->old, next, sizeof next);
    R->old_t = 3, R->nt = 2;
    rs_start(R);
    rs_finish(R, T_NONE, 0);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(R->err[i], KG_OK);
        assert_int_equal(R->out[i].epoch, 9);
        assert_int_equal(R->out[i].t, 2);
        assert_true(kg_mpc_point_eq(R->g, &R->out[i].pub, &next[0].pub));
    }
    const kg_mpc_cggmp_share *pair[2] = {&R->out[0], &R->out[2]};
    kg_mpc_scalar x;
    combine(R->g, &x, pair, 2);
    assert_true(kg_mpc_scalar_eq(R->g, &x, &R->secret));
    rs_free(R);
    free(R);
}

/* Each cheat by dealer 4 (of 2, 4, 5 in 3-of-5 -> 2-of-3 with 1, 3, 4):
 * every honest new party names 4 with KG_ERR_VERIFY and gets no share. */
static void test_cheating_dealer(void **state)
{
    (void)state;
    static const int kinds[] = {T_SHARE, T_CONST, T_COEF, T_CHAIN, T_DECOM};
    static const char *what[] = {"does not match its commitment", "constant term", "does not match its commitment",
                                 "chain code", "does not match its commitment V"};
    rs *R = calloc(1, sizeof *R);
    assert_non_null(R);
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        rs_init(R, KG_MPC_GROUP_SECP256K1, 3, 5, (const uint16_t[]){2, 4, 5}, 3, (const uint16_t[]){1, 3, 4}, 3, 2);
        rs_start(R);
        rs_finish(R, kinds[k], 4);
        for (size_t i = 0; i < R->np; i++) {
            uint16_t id = R->parties[i];
            if (id == 4 || !in(R->news, R->nn, id)) continue;
            assert_int_equal(R->err[i], KG_ERR_VERIFY);
            assert_int_equal(R->culprit[i], 4);
            assert_true(R->named[i]);
            if (!strstr(R->detail[i], what[k])) print_message("kind %zu: %s\n", k, R->detail[i]);
            assert_non_null(strstr(R->detail[i], what[k]));
            static const uint8_t zero[sizeof(kg_mpc_cggmp_share)];
            assert_memory_equal(&R->out[i], zero, sizeof zero);
            /* the run is over after a failed check */
            kg_mpc_cggmp_share s;
            uint16_t c;
            assert_int_equal(kg_mpc_cggmp_reshare_finish(R->st[i], NULL, 0, &s, &c), KG_ERR_ARG);
        }
        rs_free(R);
    }
    free(R);
}

/* ------------------------------------------------ refused input, no change */

static void expect_round2(rs *R, size_t i, const kg_mpc_cggmp_msg *box, size_t n, kg_err want, uint16_t who)
{
    kg_mpc_cggmp_msg *o = (kg_mpc_cggmp_msg *)1;
    size_t no = 99;
    uint16_t c = 0xffff;
    assert_int_equal(kg_mpc_cggmp_reshare_round2(R->st[i], box, n, &o, &no, &c), want);
    assert_int_equal(c, who);
    if (want) {
        assert_null(o);
        assert_int_equal(no, 0);
    } else {
        R->o2[i] = o, R->n2[i] = no;
    }
}

static void expect_finish(rs *R, size_t i, const kg_mpc_cggmp_msg *box, size_t n, kg_err want, uint16_t who)
{
    static const uint8_t zero[sizeof(kg_mpc_cggmp_share)];
    uint16_t c = 0xffff;
    memset(&R->out[i], 0xa5, sizeof R->out[i]);
    assert_int_equal(kg_mpc_cggmp_reshare_finish(R->st[i], box, n, &R->out[i], &c), want);
    assert_int_equal(c, who);
    if (want) assert_memory_equal(&R->out[i], zero, sizeof zero);
}

static size_t find(const kg_mpc_cggmp_msg *box, size_t n, uint16_t from, uint16_t to)
{
    for (size_t k = 0; k < n; k++)
        if (box[k].from == from && box[k].to == to) return k;
    fail();
    return 0;
}

/* Party 3 (receives only) of 2-of-3 -> 2-of-3 dealt by 1 and 2. */
static void test_bad_messages(void **state)
{
    (void)state;
    rs *R = calloc(1, sizeof *R);
    assert_non_null(R);
    rs_init(R, KG_MPC_GROUP_SECP256K1, 2, 3, (const uint16_t[]){1, 2}, 2, (const uint16_t[]){1, 2, 3}, 3, 2);
    rs_start(R);
    kg_mpc_cggmp_msg box[8], bad[8], *o = NULL;
    size_t no = 0;
    uint16_t c;
    uint8_t buf[2048];
    kg_mpc_cggmp_share s;
    /* out of order */
    assert_int_equal(kg_mpc_cggmp_reshare_round1(R->st[0], &o, &no), KG_ERR_ARG);
    assert_int_equal(kg_mpc_cggmp_reshare_finish(R->st[2], NULL, 0, &s, &c), KG_ERR_ARG);
    /* round 2 of party 3: V1, V2 */
    size_t n = inbox(box, R->o1, R->n1, R, 3);
    assert_int_equal(n, 2);
    size_t v2 = find(box, n, 2, 0);
    expect_round2(R, 2, &box[1 - v2], 1, KG_ERR_BAD_INPUT, 2); /* missing */
    memcpy(bad, box, sizeof box);
    bad[2] = box[1 - v2];
    expect_round2(R, 2, bad, 3, KG_ERR_BAD_INPUT, box[1 - v2].from); /* duplicate */
    memcpy(bad, box, sizeof box);
    bad[v2].body.len = 64;
    expect_round2(R, 2, bad, 2, KG_ERR_BAD_INPUT, 2); /* short */
    memcpy(buf, box[v2].body.data, 65);
    buf[0] ^= 0xff;
    bad[v2].body = (kg_bytes){buf, 65};
    expect_round2(R, 2, bad, 2, KG_ERR_BAD_INPUT, 2); /* wrong tag */
    memcpy(bad, box, sizeof box);
    bad[2] = box[0], bad[2].from = 5;
    expect_round2(R, 2, bad, 3, KG_ERR_BAD_INPUT, 5); /* not a dealer */
    bad[2] = box[0], bad[2].to = 3;
    expect_round2(R, 2, bad, 3, KG_ERR_BAD_INPUT, box[0].from); /* p2p where a broadcast is due */
    expect_round2(R, 2, box, n, KG_OK, 0);
    for (size_t i = 0; i < 2; i++) {
        n = inbox(box, R->o1, R->n1, R, R->parties[i]);
        expect_round2(R, i, box, n, KG_OK, 0);
        assert_int_equal(R->n2[i], 3); /* decommitment, shares to the other two */
    }
    assert_int_equal(R->n2[2], 0);
    /* finish of party 3: decom1, share1, decom2, share2 */
    n = inbox(box, R->o2, R->n2, R, 3);
    assert_int_equal(n, 4);
    size_t d2 = find(box, n, 2, 0), s1 = find(box, n, 1, 3), s2 = find(box, n, 2, 3);
    size_t dl = box[d2].body.len;
    assert_int_equal(dl, 1 + 2 + 2 * 33 + 32 + 32);
    memcpy(bad, box, sizeof box);
    bad[s2] = bad[n - 1];
    expect_finish(R, 2, bad, n - 1, KG_ERR_BAD_INPUT, 2); /* missing share */
    memcpy(bad, box, sizeof box);
    bad[n] = box[s1];
    expect_finish(R, 2, bad, n + 1, KG_ERR_BAD_INPUT, 1); /* duplicate share */
    bad[d2].body.len = dl - 1;
    expect_finish(R, 2, bad, n, KG_ERR_BAD_INPUT, 2); /* truncated decommitment */
    memcpy(buf, box[d2].body.data, dl);
    buf[dl] = 0;
    bad[d2].body = (kg_bytes){buf, dl + 1};
    expect_finish(R, 2, bad, n, KG_ERR_BAD_INPUT, 2); /* trailing byte */
    bad[d2].body.len = dl;
    buf[3] = 0x05;
    expect_finish(R, 2, bad, n, KG_ERR_BAD_INPUT, 2); /* not a point */
    memcpy(buf, box[d2].body.data, dl);
    buf[2] = 3;
    expect_finish(R, 2, bad, n, KG_ERR_BAD_INPUT, 2); /* t' + 1 commitments */
    memcpy(bad, box, sizeof box);
    memset(buf, 0xff, 33);
    buf[0] = box[s1].body.data[0];
    bad[s1].body = (kg_bytes){buf, 33};
    expect_finish(R, 2, bad, n, KG_ERR_BAD_INPUT, 1); /* share >= q */
    bad[s1].body = (kg_bytes){box[s1].body.data, 32};
    expect_finish(R, 2, bad, n, KG_ERR_BAD_INPUT, 1); /* short share */
    bad[s1] = box[s1], bad[s1].to = 2;
    expect_finish(R, 2, bad, n, KG_ERR_BAD_INPUT, 1); /* someone else's share */
    expect_finish(R, 2, box, n, KG_OK, 0); /* the right list still works */
    for (size_t i = 0; i < 2; i++) {
        n = inbox(box, R->o2, R->n2, R, R->parties[i]);
        expect_finish(R, i, box, n, KG_OK, 0);
    }
    check_result(R);
    /* done: every further call is out of order */
    assert_int_equal(kg_mpc_cggmp_reshare_finish(R->st[2], box, n, &s, &c), KG_ERR_ARG);
    rs_free(R);
    free(R);
}

static kg_err try_new(const kg_mpc_cggmp_share *old, uint16_t id, const uint16_t *d, size_t nd, const uint16_t *nw,
                      size_t nn, uint16_t nt)
{
    kg_mpc_cggmp_reshare *st = (kg_mpc_cggmp_reshare *)1;
    kg_err e = kg_mpc_cggmp_reshare_new(&st, old, id, d, nd, nw, nn, nt, session, 3);
    if (e) assert_null(st);
    kg_mpc_cggmp_reshare_free(e ? NULL : st);
    return e;
}

static void test_bad_args(void **state)
{
    (void)state;
    kg_mpc_cggmp_share sh[5], o;
    const uint16_t d3[3] = {1, 2, 3}, nw[3] = {1, 2, 6};
    assert_int_equal(kg_mpc_cggmp_dealer(KG_MPC_GROUP_SECP256K1, 3, 5, NULL, sh), KG_OK);
    assert_int_equal(try_new(&sh[0], 1, d3, 3, nw, 3, 2), KG_OK);
    assert_int_equal(try_new(&sh[0], 6, d3, 3, nw, 3, 2), KG_OK); /* receiver: x, id ignored */
    assert_int_equal(try_new(&sh[0], 1, d3, 2, nw, 3, 2), KG_ERR_BAD_INPUT); /* fewer than old t */
    assert_int_equal(try_new(&sh[0], 1, (const uint16_t[]){1, 2, 7}, 3, nw, 3, 2), KG_ERR_BAD_INPUT);
    assert_int_equal(try_new(&sh[0], 1, (const uint16_t[]){1, 2, 2}, 3, nw, 3, 2), KG_ERR_BAD_INPUT);
    assert_int_equal(try_new(&sh[0], 9, d3, 3, nw, 3, 2), KG_ERR_BAD_INPUT); /* no part */
    assert_int_equal(try_new(&sh[0], 1, d3, 3, nw, 3, 1), KG_ERR_BAD_INPUT);
    assert_int_equal(try_new(&sh[0], 1, d3, 3, nw, 3, 4), KG_ERR_BAD_INPUT);
    assert_int_equal(try_new(&sh[0], 1, d3, 3, (const uint16_t[]){1, 0, 6}, 3, 2), KG_ERR_BAD_INPUT);
    assert_int_equal(try_new(&sh[0], 1, d3, 3, (const uint16_t[]){1, 6, 6}, 3, 2), KG_ERR_BAD_INPUT);
    assert_int_equal(try_new(&sh[1], 1, d3, 3, nw, 3, 2), KG_ERR_BAD_INPUT); /* another's share */
    o = sh[0];
    o.x.b[31] ^= 1;
    assert_int_equal(try_new(&o, 1, d3, 3, nw, 3, 2), KG_ERR_BAD_INPUT); /* x·G != X_1 */
    o = sh[0];
    o.X[2] = o.X[3];
    assert_int_equal(try_new(&o, 6, d3, 3, nw, 3, 2), KG_ERR_BAD_INPUT); /* public data off the key */
    o = sh[0];
    o.pub = o.X[0];
    assert_int_equal(try_new(&o, 6, d3, 3, nw, 3, 2), KG_ERR_BAD_INPUT);
    o = sh[0];
    o.group = KG_MPC_GROUP_ED25519;
    assert_int_equal(try_new(&o, 6, d3, 3, nw, 3, 2), KG_ERR_BAD_INPUT);
    o = sh[0];
    o.epoch = UINT32_MAX;
    assert_int_equal(try_new(&o, 1, d3, 3, nw, 3, 2), KG_ERR_BAD_INPUT);
}

int main(void)
{
    if (kg_crypto_init() != KG_OK) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grow),          cmocka_unit_test(test_shrink),
        cmocka_unit_test(test_same_set),      cmocka_unit_test(test_cheating_dealer),
        cmocka_unit_test(test_bad_messages),  cmocka_unit_test(test_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
