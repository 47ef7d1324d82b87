/* Tests of the identifiable-abort proofs of cggmp_blame.c (CGGMP21 Fig. 7
 * δ-failure and Fig. 8 σ-failure identification).
 *
 * The statement is built by hand from real Paillier keys (1024-bit fixture
 * primes, 2048-bit moduli) with the presign layout of cggmp_int.h:
 *   K_a = enc_a(k_a), G_a = enc_a(γ_a; ν_a),
 *   D_{a,b} = K_a^γ_b ⊕ enc_a(β_{a,b}) (made by b), F_{a,b} = enc_b(β_{a,b}),
 *   D̂, F̂ the same with w_b and β̂.
 * The expected δ_a and σ_a are computed independently with BIGNUM
 * arithmetic mod q from the secrets (never by decryption), and checked to
 * sum to k·γ and k·(m + r·(x + tweak)). Then: honest parties prove and every
 * other party verifies; a party that broadcast a wrong value runs the
 * honest prover and every verifier rejects it (and only it); tampered proofs,
 * mismatched ciphertexts and wrong contexts are refused; encodings round
 * trip and malformed ones are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kashguard/crypto.h"
#include "../../src/mpc/cggmp_int.h"
#include "cggmp_fixture.h"

#define NP 3 /* parties in the largest world */
#define G_ KG_MPC_GROUP_SECP256K1
#define SID "blame-test-session"

/* The keys of NP parties (loaded once: generating them is the slow part). */
static kg_mpc_paillier_sk g_sk[NP];
static kg_mpc_rped_sk g_rsk[NP];

typedef struct {
    kg_mpc_group_id g;
    size_t ns;
    BIGNUM *k[NP], *gamma[NP], *nu[NP], *w[NP];
    BIGNUM *K[NP], *G[NP];
    BIGNUM *D[NP * NP], *F[NP * NP], *Dh[NP * NP], *Fh[NP * NP];
    kg_mpc_scalar delta[NP], sigma[NP], r, tweak;
    kg_mpc_point W[NP];
    uint8_t digest[32];
    const kg_mpc_rped *ver[NP];
    /* per prover a: D_in[j] = D[a*ns+b_j], F_out[j] = F[b_j*ns+a] */
    const BIGNUM *Din[NP][NP], *Fout[NP][NP], *Dhin[NP][NP], *Fhout[NP][NP];
    size_t npeers;
} world;

static BIGNUM *rand_scalar_bn(kg_mpc_group_id g)
{
    kg_mpc_scalar s;
    assert_int_equal(kg_mpc_scalar_random(g, &s), KG_OK);
    BIGNUM *b = kg_mpc_scalar_to_bn(g, &s);
    assert_non_null(b);
    return b;
}

static BIGNUM *enc(const kg_mpc_paillier_pk *pk, const BIGNUM *m, BIGNUM **nonce)
{
    BIGNUM *c = BN_new(), *r = BN_new();
    assert_non_null(c);
    assert_int_equal(kg_mpc_paillier_enc(pk, c, r, m), KG_OK);
    if (nonce)
        *nonce = r;
    else
        BN_free(r);
    return c;
}

/* base^x ⊕ enc(beta) under pk. */
static BIGNUM *affine_ct(const kg_mpc_paillier_pk *pk, const BIGNUM *base, const BIGNUM *x, const BIGNUM *beta)
{
    BIGNUM *c = BN_new(), *e = enc(pk, beta, NULL);
    assert_int_equal(kg_mpc_paillier_mul(pk, c, base, x, true), KG_OK);
    assert_int_equal(kg_mpc_paillier_add(pk, c, c, e), KG_OK);
    BN_free(e);
    return c;
}

/* acc += a·b (+ c) mod q, all plain BIGNUM arithmetic. */
static void mac(BIGNUM *acc, const BIGNUM *a, const BIGNUM *b, const BIGNUM *q, BN_CTX *bc)
{
    BIGNUM *t = BN_new();
    assert_true(BN_mod_mul(t, a, b, q, bc));
    assert_true(BN_mod_add(acc, acc, t, q, bc));
    BN_free(t);
}

static void world_build(world *W, kg_mpc_group_id g, size_t ns)
{
    memset(W, 0, sizeof *W);
    W->g = g;
    W->ns = ns;
    W->npeers = ns - 1;
    const BIGNUM *q = kg_mpc_group_order(g);
    BN_CTX *bc = BN_CTX_new();
    BIGNUM *beta[NP * NP] = {0}, *beta_h[NP * NP] = {0};
    for (size_t a = 0; a < ns; a++) {
        W->k[a] = rand_scalar_bn(g);
        W->gamma[a] = rand_scalar_bn(g);
        W->w[a] = rand_scalar_bn(g);
        W->K[a] = enc(&g_sk[a].pk, W->k[a], NULL);
        W->G[a] = enc(&g_sk[a].pk, W->gamma[a], &W->nu[a]);
        assert_int_equal(kg_mpc_point_mul_bn(g, &W->W[a], W->w[a], NULL), KG_OK);
        W->ver[a] = &g_rsk[a].pub;
    }
    for (size_t a = 0; a < ns; a++)
        for (size_t b = 0; b < ns; b++) {
            if (a == b)
                continue;
            size_t ab = a * ns + b;
            beta[ab] = BN_new();
            beta_h[ab] = BN_new();
            assert_int_equal(kg_mpc_bn_rand_pm(beta[ab], KG_CGGMP_ELL_PRIME, NULL), KG_OK);
            assert_int_equal(kg_mpc_bn_rand_pm(beta_h[ab], KG_CGGMP_ELL_PRIME, NULL), KG_OK);
            W->D[ab] = affine_ct(&g_sk[a].pk, W->K[a], W->gamma[b], beta[ab]);
            W->F[ab] = enc(&g_sk[b].pk, beta[ab], NULL);
            W->Dh[ab] = affine_ct(&g_sk[a].pk, W->K[a], W->w[b], beta_h[ab]);
            W->Fh[ab] = enc(&g_sk[b].pk, beta_h[ab], NULL);
        }
    /* Expected δ_a, χ_a, σ_a from the secrets, mod q. */
    assert_int_equal(kg_mpc_scalar_random(g, &W->r), KG_OK);
    assert_int_equal(kg_mpc_scalar_random(g, &W->tweak), KG_OK);
    assert_int_equal(kg_crypto_random(W->digest, sizeof W->digest), KG_OK);
    BIGNUM *m = BN_bin2bn(W->digest, 32, NULL), *r = kg_mpc_scalar_to_bn(g, &W->r);
    BIGNUM *tw = kg_mpc_scalar_to_bn(g, &W->tweak), *mt = BN_new();
    assert_true(BN_nnmod(m, m, q, bc));
    BN_copy(mt, m);
    mac(mt, r, tw, q, bc); /* m + r·tweak */
    for (size_t a = 0; a < ns; a++) {
        BIGNUM *d = BN_new(), *chi = BN_new(), *s = BN_new();
        BN_zero(d);
        BN_zero(chi);
        BN_zero(s);
        mac(d, W->k[a], W->gamma[a], q, bc);
        mac(chi, W->k[a], W->w[a], q, bc);
        for (size_t b = 0; b < ns; b++) {
            if (a == b)
                continue;
            mac(d, W->k[a], W->gamma[b], q, bc);
            mac(chi, W->k[a], W->w[b], q, bc);
            assert_true(BN_mod_add(d, d, beta[a * ns + b], q, bc));
            assert_true(BN_mod_sub(d, d, beta[b * ns + a], q, bc));
            assert_true(BN_mod_add(chi, chi, beta_h[a * ns + b], q, bc));
            assert_true(BN_mod_sub(chi, chi, beta_h[b * ns + a], q, bc));
        }
        mac(s, W->k[a], mt, q, bc);
        mac(s, r, chi, q, bc);
        assert_int_equal(kg_mpc_bn_to_scalar(g, &W->delta[a], d), KG_OK);
        assert_int_equal(kg_mpc_bn_to_scalar(g, &W->sigma[a], s), KG_OK);
        size_t j = 0;
        for (size_t b = 0; b < ns; b++) {
            if (a == b)
                continue;
            W->Din[a][j] = W->D[a * ns + b];
            W->Fout[a][j] = W->F[b * ns + a];
            W->Dhin[a][j] = W->Dh[a * ns + b];
            W->Fhout[a][j] = W->Fh[b * ns + a];
            j++;
        }
        BN_free(d);
        BN_free(chi);
        BN_free(s);
    }
    /* Sanity of the hand-built statement: Σδ = k·γ, Σσ = k·(m + r·(x + tweak)). */
    kg_mpc_scalar sd, ss, k, gm, x, t, want;
    kg_mpc_scalar_zero(g, &sd);
    kg_mpc_scalar_zero(g, &ss);
    kg_mpc_scalar_zero(g, &k);
    kg_mpc_scalar_zero(g, &gm);
    kg_mpc_scalar_zero(g, &x);
    for (size_t a = 0; a < ns; a++) {
        kg_mpc_scalar_add(g, &sd, &sd, &W->delta[a]);
        kg_mpc_scalar_add(g, &ss, &ss, &W->sigma[a]);
        assert_int_equal(kg_mpc_bn_to_scalar(g, &t, W->k[a]), KG_OK);
        kg_mpc_scalar_add(g, &k, &k, &t);
        assert_int_equal(kg_mpc_bn_to_scalar(g, &t, W->gamma[a]), KG_OK);
        kg_mpc_scalar_add(g, &gm, &gm, &t);
        assert_int_equal(kg_mpc_bn_to_scalar(g, &t, W->w[a]), KG_OK);
        kg_mpc_scalar_add(g, &x, &x, &t);
    }
    kg_mpc_scalar_mul(g, &want, &k, &gm);
    assert_true(kg_mpc_scalar_eq(g, &sd, &want));
    kg_mpc_scalar_add(g, &x, &x, &W->tweak);
    kg_mpc_scalar_mul(g, &x, &x, &W->r);
    kg_mpc_scalar_reduce(g, &t, W->digest, 32);
    kg_mpc_scalar_add(g, &x, &x, &t);
    kg_mpc_scalar_mul(g, &want, &k, &x);
    assert_true(kg_mpc_scalar_eq(g, &ss, &want));
    for (size_t i = 0; i < NP * NP; i++) {
        BN_free(beta[i]);
        BN_free(beta_h[i]);
    }
    BN_free(m);
    BN_free(r);
    BN_free(tw);
    BN_free(mt);
    BN_CTX_free(bc);
}

static void world_free(world *W)
{
    for (size_t a = 0; a < NP; a++) {
        BN_free(W->k[a]);
        BN_free(W->gamma[a]);
        BN_free(W->nu[a]);
        BN_free(W->w[a]);
        BN_free(W->K[a]);
        BN_free(W->G[a]);
    }
    for (size_t i = 0; i < NP * NP; i++) {
        BN_free(W->D[i]);
        BN_free(W->F[i]);
        BN_free(W->Dh[i]);
        BN_free(W->Fh[i]);
    }
    memset(W, 0, sizeof *W);
}

/* ------------------------------------------------------------- δ helpers */

static kg_err delta_prove(kg_mpc_cggmp_blame_delta *b, const world *W, size_t a, const kg_mpc_scalar *delta)
{
    kg_mpc_zk_ctx ctx = kg_fx_zk_ctx(W->g, SID, (uint16_t)(a + 1));
    return kg_mpc_cggmp_blame_delta_prove(b, &ctx, W->ver, W->ns, &g_sk[a], W->K[a], W->G[a], W->gamma[a],
                                          W->nu[a], W->Din[a], W->Fout[a], W->npeers, delta);
}

static kg_err delta_verify(const kg_mpc_cggmp_blame_delta *b, const world *W, size_t a, size_t v,
                           const kg_mpc_scalar *delta)
{
    kg_mpc_zk_ctx ctx = kg_fx_zk_ctx(W->g, SID, (uint16_t)(a + 1));
    return kg_mpc_cggmp_blame_delta_verify(b, &ctx, W->ver[v], v, &g_sk[a].pk, W->K[a], W->G[a], W->Din[a],
                                           W->Fout[a], W->npeers, delta);
}

static kg_err sigma_prove(kg_mpc_cggmp_blame_sigma *b, const world *W, size_t a, const kg_mpc_scalar *sigma)
{
    kg_mpc_zk_ctx ctx = kg_fx_zk_ctx(W->g, SID, (uint16_t)(a + 1));
    kg_mpc_scalar w;
    assert_int_equal(kg_mpc_bn_to_scalar(W->g, &w, W->w[a]), KG_OK);
    return kg_mpc_cggmp_blame_sigma_prove(b, &ctx, W->ver, W->ns, &g_sk[a], W->K[a], &W->W[a], &w, W->Dhin[a],
                                          W->Fhout[a], W->npeers, W->digest, &W->r, &W->tweak, sigma);
}

static kg_err sigma_verify(const kg_mpc_cggmp_blame_sigma *b, const world *W, size_t a, size_t v,
                           const kg_mpc_scalar *sigma)
{
    kg_mpc_zk_ctx ctx = kg_fx_zk_ctx(W->g, SID, (uint16_t)(a + 1));
    return kg_mpc_cggmp_blame_sigma_verify(b, &ctx, W->ver[v], v, &g_sk[a].pk, W->K[a], &W->W[a], W->Dhin[a],
                                           W->Fhout[a], W->npeers, W->digest, &W->r, &W->tweak, sigma);
}

/* Identification: party `cheat` broadcast value+1; every party proves
 * with the honest code on what it broadcast; every other party verifies.
 * Exactly the cheater's proofs fail, at every verifier. */
static void identify(kg_mpc_group_id g, size_t ns, size_t cheat, bool sigma)
{
    world W;
    world_build(&W, g, ns);
    kg_mpc_scalar one;
    kg_mpc_scalar_from_u64(g, &one, 1);
    for (size_t a = 0; a < ns; a++) {
        kg_mpc_scalar val = sigma ? W.sigma[a] : W.delta[a];
        if (a == cheat)
            kg_mpc_scalar_add(g, &val, &val, &one);
        kg_mpc_cggmp_blame_delta bd;
        kg_mpc_cggmp_blame_sigma bs;
        if (sigma)
            assert_int_equal(sigma_prove(&bs, &W, a, &val), KG_OK);
        else
            assert_int_equal(delta_prove(&bd, &W, a, &val), KG_OK);
        for (size_t v = 0; v < ns; v++) {
            if (v == a)
                continue;
            kg_err e = sigma ? sigma_verify(&bs, &W, a, v, &val) : delta_verify(&bd, &W, a, v, &val);
            assert_int_equal(e, a == cheat ? KG_ERR_VERIFY : KG_OK);
        }
        if (sigma)
            kg_mpc_cggmp_blame_sigma_clear(&bs);
        else
            kg_mpc_cggmp_blame_delta_clear(&bd);
    }
    world_free(&W);
}

static void test_delta_identify_2(void **state)
{
    (void)state;
    identify(G_, 2, 0, false);
}

static void test_delta_identify_3(void **state)
{
    (void)state;
    identify(G_, 3, 1, false);
}

static void test_sigma_identify_2(void **state)
{
    (void)state;
    identify(G_, 2, 1, true);
}

static void test_sigma_identify_3(void **state)
{
    (void)state;
    identify(G_, 3, 2, true);
}

static void test_p256(void **state)
{
    (void)state;
    identify(KG_MPC_GROUP_P256, 2, 0, false);
    identify(KG_MPC_GROUP_P256, 2, 1, true);
}

/* ------------------------------------------------------ tampering (δ) */

static void bump(BIGNUM *x)
{
    assert_true(BN_add_word(x, 1));
}

static void test_delta_tamper(void **state)
{
    (void)state;
    world W;
    world_build(&W, G_, 3);
    const size_t a = 0, v = 2;
    kg_mpc_cggmp_blame_delta b;
    assert_int_equal(delta_prove(&b, &W, a, &W.delta[a]), KG_OK);
    assert_int_equal(b.n_dec, 3);
    assert_int_equal(delta_verify(&b, &W, a, v, &W.delta[a]), KG_OK);

    /* Every public field of the proof. */
    BIGNUM **fields[] = {&b.H, &b.mul.A, &b.mul.B, &b.mul.z, &b.mul.u, &b.mul.v, &b.dec[v].S, &b.dec[v].T,
                         &b.dec[v].A, &b.dec[v].gamma, &b.dec[v].z1, &b.dec[v].z2, &b.dec[v].w};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        bump(*fields[i]);
        kg_err e = delta_verify(&b, &W, a, v, &W.delta[a]);
        if (e != KG_ERR_VERIFY && e != KG_ERR_BAD_INPUT)
            fail_msg("tampered field %zu accepted (%d)", i, (int)e);
        assert_true(BN_sub_word(*fields[i], 1));
    }
    assert_int_equal(delta_verify(&b, &W, a, v, &W.delta[a]), KG_OK);
    /* Another verifier's Πdec does not verify at v. */
    kg_mpc_zk_dec keep = b.dec[v];
    b.dec[v] = b.dec[1];
    assert_int_equal(delta_verify(&b, &W, a, v, &W.delta[a]), KG_ERR_VERIFY);
    b.dec[v] = keep;
    kg_mpc_zk_ctx ctx = kg_fx_zk_ctx(G_, SID, 1);
    /* No proof for this verifier. */
    assert_int_equal(kg_mpc_cggmp_blame_delta_verify(&b, &ctx, W.ver[0], 3, &g_sk[a].pk, W.K[a], W.G[a], W.Din[a],
                                                     W.Fout[a], 2, &W.delta[a]), KG_ERR_BAD_INPUT);
    /* Mismatched ciphertexts: swapped D, F of two peers, one D replaced, G wrong. */
    const BIGNUM *D2[NP] = {W.Din[a][1], W.Din[a][0]};
    assert_int_equal(kg_mpc_cggmp_blame_delta_verify(&b, &ctx, W.ver[v], v, &g_sk[a].pk, W.K[a], W.G[a], D2,
                                                     W.Fout[a], 2, &W.delta[a]), KG_OK); /* a sum: order-free */
    const BIGNUM *D3[NP] = {W.Din[a][0], W.Fout[a][0]};
    assert_int_equal(kg_mpc_cggmp_blame_delta_verify(&b, &ctx, W.ver[v], v, &g_sk[a].pk, W.K[a], W.G[a], D3,
                                                     W.Fout[a], 2, &W.delta[a]), KG_ERR_VERIFY);
    assert_int_equal(kg_mpc_cggmp_blame_delta_verify(&b, &ctx, W.ver[v], v, &g_sk[a].pk, W.K[a], W.G[a], W.Din[a],
                                                     W.Fout[a], 1, &W.delta[a]), KG_ERR_VERIFY);
    assert_int_equal(kg_mpc_cggmp_blame_delta_verify(&b, &ctx, W.ver[v], v, &g_sk[a].pk, W.K[a], W.K[a], W.Din[a],
                                                     W.Fout[a], 2, &W.delta[a]), KG_ERR_VERIFY);
    /* Ciphertexts under another party's key / not units. */
    const BIGNUM *D4[NP] = {W.Din[1][0], W.Din[a][1]};
    kg_err e = kg_mpc_cggmp_blame_delta_verify(&b, &ctx, W.ver[v], v, &g_sk[a].pk, W.K[a], W.G[a], D4, W.Fout[a],
                                               2, &W.delta[a]);
    assert_true(e == KG_ERR_VERIFY || e == KG_ERR_BAD_INPUT);
    BIGNUM *zero = BN_new();
    BN_zero(zero);
    const BIGNUM *D5[NP] = {zero, W.Din[a][1]};
    assert_int_equal(kg_mpc_cggmp_blame_delta_verify(&b, &ctx, W.ver[v], v, &g_sk[a].pk, W.K[a], W.G[a], D5,
                                                     W.Fout[a], 2, &W.delta[a]), KG_ERR_BAD_INPUT);
    const BIGNUM *D6[NP] = {NULL, W.Din[a][1]};
    assert_int_equal(kg_mpc_cggmp_blame_delta_verify(&b, &ctx, W.ver[v], v, &g_sk[a].pk, W.K[a], W.G[a], D6,
                                                     W.Fout[a], 2, &W.delta[a]), KG_ERR_BAD_INPUT);
    BN_free(zero);
    /* Wrong prover id / session / group in the context; wrong public key. */
    kg_mpc_zk_ctx c2 = kg_fx_zk_ctx(G_, SID, 2);
    assert_int_equal(kg_mpc_cggmp_blame_delta_verify(&b, &c2, W.ver[v], v, &g_sk[a].pk, W.K[a], W.G[a], W.Din[a],
                                                     W.Fout[a], 2, &W.delta[a]), KG_ERR_VERIFY);
    kg_mpc_zk_ctx c3 = kg_fx_zk_ctx(G_, "another session", 1);
    assert_int_equal(kg_mpc_cggmp_blame_delta_verify(&b, &c3, W.ver[v], v, &g_sk[a].pk, W.K[a], W.G[a], W.Din[a],
                                                     W.Fout[a], 2, &W.delta[a]), KG_ERR_VERIFY);
    e = kg_mpc_cggmp_blame_delta_verify(&b, &ctx, W.ver[v], v, &g_sk[1].pk, W.K[a], W.G[a], W.Din[a], W.Fout[a],
                                        2, &W.delta[a]);
    assert_true(e == KG_ERR_VERIFY || e == KG_ERR_BAD_INPUT);
    /* The verifier's parameters must be those the proof was made for. */
    assert_int_equal(kg_mpc_cggmp_blame_delta_verify(&b, &ctx, W.ver[1], v, &g_sk[a].pk, W.K[a], W.G[a], W.Din[a],
                                                     W.Fout[a], 2, &W.delta[a]), KG_ERR_VERIFY);
    kg_mpc_cggmp_blame_delta_clear(&b);
    /* Prover refusals: no verifier, too many peers, NULL verifier. */
    assert_int_equal(kg_mpc_cggmp_blame_delta_prove(&b, &ctx, W.ver, 0, &g_sk[a], W.K[a], W.G[a], W.gamma[a],
                                                    W.nu[a], W.Din[a], W.Fout[a], 2, &W.delta[a]), KG_ERR_BAD_INPUT);
    const kg_mpc_rped *vn[2] = {W.ver[0], NULL};
    assert_int_equal(kg_mpc_cggmp_blame_delta_prove(&b, &ctx, vn, 2, &g_sk[a], W.K[a], W.G[a], W.gamma[a],
                                                    W.nu[a], W.Din[a], W.Fout[a], 2, &W.delta[a]), KG_ERR_ARG);
    assert_null(b.H);
    world_free(&W);
}

static void test_sigma_tamper(void **state)
{
    (void)state;
    world W;
    world_build(&W, G_, 2);
    const size_t a = 1, v = 0;
    kg_mpc_cggmp_blame_sigma b;
    assert_int_equal(sigma_prove(&b, &W, a, &W.sigma[a]), KG_OK);
    assert_int_equal(sigma_verify(&b, &W, a, v, &W.sigma[a]), KG_OK);
    BIGNUM **fields[] = {&b.H, &b.mulstar[v].A, &b.mulstar[v].E, &b.mulstar[v].S, &b.mulstar[v].z1,
                         &b.mulstar[v].z2, &b.mulstar[v].w, &b.dec[v].S, &b.dec[v].z1, &b.dec[v].w};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        bump(*fields[i]);
        kg_err e = sigma_verify(&b, &W, a, v, &W.sigma[a]);
        if (e != KG_ERR_VERIFY && e != KG_ERR_BAD_INPUT)
            fail_msg("tampered field %zu accepted (%d)", i, (int)e);
        assert_true(BN_sub_word(*fields[i], 1));
    }
    kg_mpc_point keep = b.mulstar[v].Bx;
    b.mulstar[v].Bx = W.W[0];
    assert_int_equal(sigma_verify(&b, &W, a, v, &W.sigma[a]), KG_ERR_VERIFY);
    b.mulstar[v].Bx = keep;
    assert_int_equal(sigma_verify(&b, &W, a, v, &W.sigma[a]), KG_OK);

    kg_mpc_zk_ctx ctx = kg_fx_zk_ctx(G_, SID, (uint16_t)(a + 1));
    kg_mpc_scalar w;
    assert_int_equal(kg_mpc_bn_to_scalar(G_, &w, W.w[a]), KG_OK);
    /* Wrong statement: another W (public share), digest, r, tweak. */
    assert_int_equal(kg_mpc_cggmp_blame_sigma_verify(&b, &ctx, W.ver[v], v, &g_sk[a].pk, W.K[a], &W.W[0],
                                                     W.Dhin[a], W.Fhout[a], 1, W.digest, &W.r, &W.tweak,
                                                     &W.sigma[a]), KG_ERR_VERIFY);
    uint8_t d2[32];
    memcpy(d2, W.digest, 32);
    d2[5] ^= 1;
    assert_int_equal(kg_mpc_cggmp_blame_sigma_verify(&b, &ctx, W.ver[v], v, &g_sk[a].pk, W.K[a], &W.W[a],
                                                     W.Dhin[a], W.Fhout[a], 1, d2, &W.r, &W.tweak, &W.sigma[a]),
                     KG_ERR_VERIFY);
    assert_int_equal(kg_mpc_cggmp_blame_sigma_verify(&b, &ctx, W.ver[v], v, &g_sk[a].pk, W.K[a], &W.W[a],
                                                     W.Dhin[a], W.Fhout[a], 1, W.digest, &W.tweak, &W.tweak,
                                                     &W.sigma[a]), KG_ERR_VERIFY);
    assert_int_equal(kg_mpc_cggmp_blame_sigma_verify(&b, &ctx, W.ver[v], v, &g_sk[a].pk, W.K[a], &W.W[a],
                                                     W.Dhin[a], W.Fhout[a], 1, W.digest, &W.r, NULL, &W.sigma[a]),
                     KG_ERR_VERIFY);
    /* Mismatched ciphertexts: D̂ and F̂ swapped for the δ ones. */
    assert_int_equal(kg_mpc_cggmp_blame_sigma_verify(&b, &ctx, W.ver[v], v, &g_sk[a].pk, W.K[a], &W.W[a],
                                                     W.Din[a], W.Fhout[a], 1, W.digest, &W.r, &W.tweak,
                                                     &W.sigma[a]), KG_ERR_VERIFY);
    assert_int_equal(kg_mpc_cggmp_blame_sigma_verify(&b, &ctx, W.ver[v], v, &g_sk[a].pk, W.G[a], &W.W[a],
                                                     W.Dhin[a], W.Fhout[a], 1, W.digest, &W.r, &W.tweak,
                                                     &W.sigma[a]), KG_ERR_VERIFY);
    kg_mpc_zk_ctx c2 = kg_fx_zk_ctx(G_, SID, 1);
    assert_int_equal(kg_mpc_cggmp_blame_sigma_verify(&b, &c2, W.ver[v], v, &g_sk[a].pk, W.K[a], &W.W[a],
                                                     W.Dhin[a], W.Fhout[a], 1, W.digest, &W.r, &W.tweak,
                                                     &W.sigma[a]), KG_ERR_VERIFY);
    assert_int_equal(kg_mpc_cggmp_blame_sigma_verify(&b, &ctx, W.ver[0], 2, &g_sk[a].pk, W.K[a], &W.W[a],
                                                     W.Dhin[a], W.Fhout[a], 1, W.digest, &W.r, &W.tweak,
                                                     &W.sigma[a]), KG_ERR_BAD_INPUT);
    kg_mpc_cggmp_blame_sigma_clear(&b);
    /* A tweakless signature proves with tweak NULL. */
    kg_mpc_scalar s0 = W.sigma[a], rt;
    BIGNUM *kb = W.k[a];
    kg_mpc_scalar k;
    assert_int_equal(kg_mpc_bn_to_scalar(G_, &k, kb), KG_OK);
    kg_mpc_scalar_mul(G_, &rt, &W.r, &W.tweak);
    kg_mpc_scalar_mul(G_, &rt, &rt, &k);
    kg_mpc_scalar_sub(G_, &s0, &s0, &rt); /* σ without the k·r·tweak term */
    assert_int_equal(kg_mpc_cggmp_blame_sigma_prove(&b, &ctx, W.ver, 1, &g_sk[a], W.K[a], &W.W[a], &w, W.Dhin[a],
                                                    W.Fhout[a], 1, W.digest, &W.r, NULL, &s0), KG_OK);
    assert_int_equal(kg_mpc_cggmp_blame_sigma_verify(&b, &ctx, W.ver[0], 0, &g_sk[a].pk, W.K[a], &W.W[a],
                                                     W.Dhin[a], W.Fhout[a], 1, W.digest, &W.r, NULL, &s0), KG_OK);
    kg_mpc_cggmp_blame_sigma_clear(&b);
    world_free(&W);
}

/* --------------------------------------------------------- encodings */

static kg_bytes enc_delta(const kg_mpc_cggmp_blame_delta *b)
{
    kg_mpc_node_wr w;
    memset(&w, 0, sizeof w);
    kg_mpc_cggmp_blame_delta_write(&w, b);
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    return w.b;
}

static kg_bytes enc_sigma(kg_mpc_group_id g, const kg_mpc_cggmp_blame_sigma *b)
{
    kg_mpc_node_wr w;
    memset(&w, 0, sizeof w);
    kg_mpc_cggmp_blame_sigma_write(&w, g, b);
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    return w.b;
}

static kg_err dec_delta(kg_mpc_cggmp_blame_delta *b, const uint8_t *p, size_t n)
{
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, p, n);
    kg_err e = kg_mpc_cggmp_blame_delta_read(&r, b);
    if (!e && (e = kg_mpc_node_rd_end(&r, "δ blame")))
        kg_mpc_cggmp_blame_delta_clear(b);
    return e;
}

static kg_err dec_sigma(kg_mpc_cggmp_blame_sigma *b, const uint8_t *p, size_t n)
{
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, p, n);
    kg_err e = kg_mpc_cggmp_blame_sigma_read(&r, G_, b);
    if (!e && (e = kg_mpc_node_rd_end(&r, "σ blame")))
        kg_mpc_cggmp_blame_sigma_clear(b);
    return e;
}

static void test_encodings(void **state)
{
    (void)state;
    world W;
    world_build(&W, G_, 2);
    kg_mpc_cggmp_blame_delta bd, bd2;
    kg_mpc_cggmp_blame_sigma bs, bs2;
    assert_int_equal(delta_prove(&bd, &W, 0, &W.delta[0]), KG_OK);
    assert_int_equal(sigma_prove(&bs, &W, 0, &W.sigma[0]), KG_OK);
    kg_bytes ed = enc_delta(&bd), es = enc_sigma(G_, &bs);
    assert_int_equal(dec_delta(&bd2, ed.data, ed.len), KG_OK);
    assert_int_equal(dec_sigma(&bs2, es.data, es.len), KG_OK);
    assert_int_equal(bd2.n_dec, 2);
    assert_int_equal(bs2.n_ver, 2);
    assert_int_equal(delta_verify(&bd2, &W, 0, 1, &W.delta[0]), KG_OK);
    assert_int_equal(sigma_verify(&bs2, &W, 0, 1, &W.sigma[0]), KG_OK);
    kg_bytes ed2 = enc_delta(&bd2), es2 = enc_sigma(G_, &bs2);
    assert_int_equal(ed.len, ed2.len);
    assert_memory_equal(ed.data, ed2.data, ed.len);
    assert_int_equal(es.len, es2.len);
    assert_memory_equal(es.data, es2.data, es.len);
    kg_mpc_cggmp_blame_delta_clear(&bd2);
    kg_mpc_cggmp_blame_sigma_clear(&bs2);

    /* Every truncation is refused, with the output cleared. */
    for (size_t n = 0; n < ed.len; n += (n < 64 ? 1 : 97)) {
        assert_int_equal(dec_delta(&bd2, ed.data, n), KG_ERR_BAD_INPUT);
        assert_null(bd2.H);
        assert_int_equal(bd2.n_dec, 0);
    }
    for (size_t n = 0; n < es.len; n += (n < 64 ? 1 : 97)) {
        assert_int_equal(dec_sigma(&bs2, es.data, n), KG_ERR_BAD_INPUT);
        assert_null(bs2.H);
    }
    /* Trailing byte. */
    uint8_t *ext = malloc(ed.len + 1);
    memcpy(ext, ed.data, ed.len);
    ext[ed.len] = 0;
    assert_int_equal(dec_delta(&bd2, ext, ed.len + 1), KG_ERR_BAD_INPUT);
    free(ext);
    /* Count 0 and count 65: build H || count by hand. */
    kg_mpc_node_wr w;
    memset(&w, 0, sizeof w);
    kg_mpc_bn_write(&w, bs.H);
    kg_mpc_node_wr_u16(&w, 0);
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    assert_int_equal(dec_sigma(&bs2, w.b.data, w.b.len), KG_ERR_BAD_INPUT);
    kg_bytes_free(&w.b);
    memset(&w, 0, sizeof w);
    kg_mpc_bn_write(&w, bs.H);
    kg_mpc_node_wr_u16(&w, KG_CGGMP_MAX_PARTIES + 1);
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    assert_int_equal(dec_sigma(&bs2, w.b.data, w.b.len), KG_ERR_BAD_INPUT);
    kg_bytes_free(&w.b);
    /* Writing an empty struct fails the writer rather than crash. */
    kg_mpc_cggmp_blame_delta empty;
    memset(&empty, 0, sizeof empty);
    memset(&w, 0, sizeof w);
    kg_mpc_cggmp_blame_delta_write(&w, &empty);
    assert_int_not_equal(kg_mpc_node_wr_done(&w), KG_OK);
    /* Verifying a cleared struct is refused. */
    assert_int_equal(delta_verify(&empty, &W, 0, 1, &W.delta[0]), KG_ERR_BAD_INPUT);

    kg_bytes_free(&ed);
    kg_bytes_free(&es);
    kg_bytes_free(&ed2);
    kg_bytes_free(&es2);
    kg_mpc_cggmp_blame_delta_clear(&bd);
    kg_mpc_cggmp_blame_sigma_clear(&bs);
    world_free(&W);
}

static int setup(void **state)
{
    (void)state;
    if (kg_crypto_init() != KG_OK)
        return -1;
    for (unsigned a = 0; a < NP; a++)
        if (kg_fx_paillier_sk(&g_sk[a], 1024, 2 * a) != KG_OK || kg_fx_rped_sk(&g_rsk[a], 1024, 2 * a) != KG_OK)
            return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (unsigned a = 0; a < NP; a++) {
        kg_mpc_paillier_sk_clear(&g_sk[a]);
        kg_mpc_rped_sk_clear(&g_rsk[a]);
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delta_identify_2), cmocka_unit_test(test_delta_identify_3),
        cmocka_unit_test(test_sigma_identify_2), cmocka_unit_test(test_sigma_identify_3),
        cmocka_unit_test(test_p256),             cmocka_unit_test(test_delta_tamper),
        cmocka_unit_test(test_sigma_tamper),     cmocka_unit_test(test_encodings),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
