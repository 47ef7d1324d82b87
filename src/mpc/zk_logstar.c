/* Πlog*, the "knowledge of exponent vs Paillier encryption" proof of
 * CGGMP21 (eprint 2021/060, Appendix, Fig. 25 in the later revisions):
 * C = enc_N0(x; ρ) and X = x·B with x in ±2^ℓ, B a base point (the
 * generator, or Γ in presigning round 3 where Δ_i = k_i·Γ). The verifier
 * holds the ring-Pedersen parameters (N̂, s, t).
 *
 *   prover: α ← ±2^(ℓ+ε), μ ← ±2^ℓ·N̂, r ← Z*_N0, γ ← ±2^(ℓ+ε)·N̂
 *           S = s^x t^μ, A = (1+N0)^α r^N0, Y = α·B, D = s^α t^γ
 *   e ← ±q (Fiat-Shamir)
 *           z1 = α + e·x, z2 = r·ρ^e mod N0, z3 = γ + e·μ
 *   verify: z1 ∈ ±2^(ℓ+ε), (1+N0)^z1 z2^N0 = A·C^e mod N0^2,
 *           z1·B = Y + e·X, s^z1 t^z3 = D·S^e mod N̂
 *
 * Transcript (domain "kashguard/cggmp21/logstar/v1", after the context):
 * Nhat, s, t, N0, C, X, B (the generator when NULL, so both spellings give
 * one proof), S, A, Y, D; then e. */
#include <string.h>

#include "zk_range_int.h"

#define LOGSTAR_DOMAIN "kashguard/cggmp21/logstar/v1"

static kg_err logstar_challenge(BIGNUM *e, const kg_mpc_zk_logstar *pf, const kg_mpc_zk_ctx *ctx,
                                const kg_mpc_rped *aux, const kg_mpc_paillier_pk *n0, const BIGNUM *C,
                                const kg_mpc_point *X, const kg_mpc_point *B, const BIGNUM *q)
{
    kg_mpc_group_id g = ctx->group;
    kg_mpc_point base;
    if (B) {
        base = *B;
    } else {
        kg_mpc_scalar one;
        kg_mpc_scalar_from_u64(g, &one, 1);
        kg_mpc_point_base_mul(g, &base, &one);
    }
    kg_mpc_fs fs;
    kg_err err = kg_mpc_fs_init(&fs, LOGSTAR_DOMAIN, ctx);
    if (err) return err;
    kg_mpc_zk_fs_aux(&fs, aux);
    kg_mpc_fs_bn(&fs, "N0", n0->n);
    kg_mpc_fs_bn(&fs, "C", C);
    kg_mpc_fs_point(&fs, "X", g, X);
    kg_mpc_fs_point(&fs, "B", g, &base);
    kg_mpc_fs_bn(&fs, "S", pf->S);
    kg_mpc_fs_bn(&fs, "A", pf->A);
    kg_mpc_fs_point(&fs, "Y", g, &pf->Y);
    kg_mpc_fs_bn(&fs, "D", pf->D);
    err = kg_mpc_fs_challenge_pm(&fs, e, q);
    kg_mpc_fs_free(&fs);
    return err;
}

/* The message-independent first message S, A, D and the masks (Y = α·B
 * waits for B: Γ is known only in round 3). */
kg_err kg_mpc_zk_logstar_precommit(kg_mpc_zk_logstar_pre *pre, const kg_mpc_rped *aux, const kg_mpc_paillier_pk *n0,
                                   const BIGNUM *x)
{
    return kg_mpc_zk_enc_commit(pre, aux, n0, x, "Πlog*", "x");
}

void kg_mpc_zk_logstar_pre_clear(kg_mpc_zk_logstar_pre *pre)
{
    kg_mpc_zk_enc_pre_clear(pre);
}

kg_err kg_mpc_zk_logstar_prove_pre(kg_mpc_zk_logstar *pf, kg_mpc_zk_logstar_pre *pre, const kg_mpc_zk_ctx *ctx,
                                   const kg_mpc_rped *aux, const kg_mpc_paillier_pk *n0, const BIGNUM *C,
                                   const kg_mpc_point *X, const kg_mpc_point *B, const BIGNUM *x, const BIGNUM *rho)
{
    const BIGNUM *q = NULL;
    BIGNUM *e = NULL;
    unsigned who = ctx->prover;
    memset(pf, 0, sizeof *pf);
    kg_err err = kg_mpc_zk_order(ctx->group, &q, "Πlog*");
    if (!err && !pre->S)
        err = kg_err_set(KG_ERR_BAD_INPUT, "Πlog*: precomputation missing or already used (party %u)", who);
    else if (!err && (BN_cmp(pre->nh, aux->mod.n) || BN_cmp(pre->n0, n0->n)))
        err = kg_err_set(KG_ERR_BAD_INPUT, "Πlog*: precomputation made for other parameters (party %u)", who);
    else if (!err && !kg_mpc_bn_in_pm(x, KG_CGGMP_ELL, NULL))
        err = kg_err_set(KG_ERR_BAD_INPUT, "Πlog*: witness x out of range ±2^ℓ (party %u)", who);
    if (err) goto out;
    pf->S = pre->S, pf->A = pre->A, pf->D = pre->C; /* Πenc's C is Πlog*'s D */
    pre->S = pre->A = pre->C = NULL;
    e = BN_new(), pf->z1 = BN_new(), pf->z2 = BN_new(), pf->z3 = BN_new();
    if (!e || !pf->z1 || !pf->z2 || !pf->z3) {
        err = kg_err_set(KG_ERR_NOMEM, "Πlog*: out of memory");
        goto out;
    }
    if ((err = kg_mpc_point_mul_bn(ctx->group, &pf->Y, pre->alpha, B))) goto out;
    if ((err = logstar_challenge(e, pf, ctx, aux, n0, C, X, B, q))) goto out;
    if ((err = kg_mpc_zk_affine(pf->z1, pre->alpha, e, x)) ||
        (err = kg_mpc_zk_nonce_resp(pf->z2, pre->r, rho, e, &n0->mod_n)) ||
        (err = kg_mpc_zk_affine(pf->z3, pre->gamma, e, pre->mu)))
        goto out;
out:
    kg_mpc_zk_logstar_pre_clear(pre); /* single use, whatever happened */
    BN_free(e);
    if (err) kg_mpc_zk_logstar_clear(pf);
    return err;
}

kg_err kg_mpc_zk_logstar_prove(kg_mpc_zk_logstar *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_rped *aux,
                               const kg_mpc_paillier_pk *n0, const BIGNUM *C, const kg_mpc_point *X,
                               const kg_mpc_point *B, const BIGNUM *x, const BIGNUM *rho)
{
    const BIGNUM *q = NULL;
    kg_mpc_zk_logstar_pre pre;
    memset(pf, 0, sizeof *pf);
    kg_err err = kg_mpc_zk_order(ctx->group, &q, "Πlog*");
    if (err) return err;
    if (!kg_mpc_bn_in_pm(x, KG_CGGMP_ELL, NULL))
        return kg_err_set(KG_ERR_BAD_INPUT, "Πlog*: witness x out of range ±2^ℓ (party %u)", (unsigned)ctx->prover);
    if ((err = kg_mpc_zk_logstar_precommit(&pre, aux, n0, x))) return err;
    return kg_mpc_zk_logstar_prove_pre(pf, &pre, ctx, aux, n0, C, X, B, x, rho);
}

kg_err kg_mpc_zk_logstar_verify(const kg_mpc_zk_logstar *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_rped *aux,
                                const kg_mpc_paillier_pk *n0, const BIGNUM *C, const kg_mpc_point *X,
                                const kg_mpc_point *B)
{
    const BIGNUM *q = NULL;
    unsigned who = ctx->prover;
    kg_err err = kg_mpc_zk_order(ctx->group, &q, "Πlog*");
    if (err) return err;
    if (!pf->S || !pf->A || !pf->D || !pf->z1 || !pf->z2 || !pf->z3)
        return kg_err_set(KG_ERR_BAD_INPUT, "Πlog*: incomplete proof (party %u)", who);
    if (!kg_mpc_bn_in_pm(pf->z1, KG_CGGMP_ELL + KG_CGGMP_EPS, NULL))
        return kg_err_set(KG_ERR_VERIFY, "Πlog*: z1 out of range (party %u)", who);
    if ((err = kg_mpc_paillier_ct_check(n0, C, "Πlog*: C")) ||
        (err = kg_mpc_paillier_ct_check(n0, pf->A, "Πlog*: A")) ||
        (err = kg_mpc_zk_need_unit(pf->S, aux->mod.n, "Πlog*", "S", ctx->prover)) ||
        (err = kg_mpc_zk_need_unit(pf->D, aux->mod.n, "Πlog*", "D", ctx->prover)) ||
        (err = kg_mpc_zk_need_unit(pf->z2, n0->n, "Πlog*", "z2", ctx->prover)))
        return err;
    /* Y arrives through kg_mpc_point_read (on the curve, not the identity);
     * a struct built otherwise gets the same refusal here. */
    if (kg_mpc_point_is_identity(ctx->group, &pf->Y))
        return kg_err_set(KG_ERR_BAD_INPUT, "Πlog*: Y is the identity (party %u)", who);
    BIGNUM *e = BN_new();
    if (!e) return kg_err_set(KG_ERR_NOMEM, "Πlog*: out of memory");
    bool ok = false;
    err = logstar_challenge(e, pf, ctx, aux, n0, C, X, B, q);
    if (!err) err = kg_mpc_zk_paillier_eq(&ok, n0, NULL, NULL, pf->z1, pf->z2, pf->A, C, e);
    if (!err && !ok) err = kg_err_set(KG_ERR_VERIFY, "Πlog*: Paillier equation failed (party %u)", who);
    if (!err) err = kg_mpc_zk_point_eq(&ok, ctx->group, pf->z1, B, &pf->Y, e, X);
    if (!err && !ok) err = kg_err_set(KG_ERR_VERIFY, "Πlog*: group equation failed (party %u)", who);
    if (!err) err = kg_mpc_zk_rped_eq(&ok, aux, pf->z1, pf->z3, pf->D, pf->S, e);
    if (!err && !ok) err = kg_err_set(KG_ERR_VERIFY, "Πlog*: ring-Pedersen equation failed (party %u)", who);
    BN_free(e);
    return err;
}

void kg_mpc_zk_logstar_write(kg_mpc_node_wr *w, kg_mpc_group_id g, const kg_mpc_zk_logstar *pf)
{
    kg_mpc_bn_write(w, pf->S);
    kg_mpc_bn_write(w, pf->A);
    kg_mpc_bn_write(w, pf->D);
    kg_mpc_bn_write(w, pf->z1);
    kg_mpc_bn_write(w, pf->z2);
    kg_mpc_bn_write(w, pf->z3);
    kg_mpc_point_write(w, g, &pf->Y);
}

kg_err kg_mpc_zk_logstar_read(kg_mpc_node_rd *r, kg_mpc_group_id g, kg_mpc_zk_logstar *pf)
{
    const size_t mx = KG_CGGMP_BN_MAX_BYTES;
    memset(pf, 0, sizeof *pf);
    kg_err err = KG_OK;
    if ((err = kg_mpc_bn_read(r, &pf->S, mx, "Πlog* S")) || (err = kg_mpc_bn_read(r, &pf->A, mx, "Πlog* A")) ||
        (err = kg_mpc_bn_read(r, &pf->D, mx, "Πlog* D")) || (err = kg_mpc_bn_read(r, &pf->z1, mx, "Πlog* z1")) ||
        (err = kg_mpc_bn_read(r, &pf->z2, mx, "Πlog* z2")) || (err = kg_mpc_bn_read(r, &pf->z3, mx, "Πlog* z3")) ||
        (err = kg_mpc_point_read(r, g, &pf->Y, "Πlog* Y")))
        kg_mpc_zk_logstar_clear(pf);
    return err;
}

void kg_mpc_zk_logstar_clear(kg_mpc_zk_logstar *pf)
{
    BN_free(pf->S);
    BN_free(pf->A);
    BN_free(pf->D);
    BN_free(pf->z1);
    BN_free(pf->z2);
    BN_free(pf->z3);
    memset(pf, 0, sizeof *pf);
}
