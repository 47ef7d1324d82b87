/* Πmul*, the "multiplication Paillier vs group" proof of CGGMP21 (eprint
 * 2021/060, Appendix, Fig. 31 in the later revisions): D = C^x·ρ^N0 mod
 * N0^2 and X = x·G with x in ±2^ℓ, everything under the prover's own key
 * N0. The signing-phase identification uses it to show that the
 * prover's ciphertext of k_i·x_i was formed from its public share. The
 * verifier holds the ring-Pedersen parameters (N̂, s, t).
 *
 *   prover: α ← ±2^(ℓ+ε), m ← ±2^ℓ·N̂, r ← Z*_N0, γ ← ±2^(ℓ+ε)·N̂
 *           A = C^α r^N0 mod N0^2, Bx = α·G, E = s^α t^γ, S = s^x t^m
 *   e ← ±q (Fiat-Shamir)
 *           z1 = α + e·x, z2 = γ + e·m, w = r·ρ^e mod N0
 *   verify: z1 ∈ ±2^(ℓ+ε), C^z1 w^N0 = A·D^e mod N0^2,
 *           z1·G = Bx + e·X, s^z1 t^z2 = E·S^e mod N̂
 *
 * Transcript (domain "kashguard/cggmp21/mulstar/v1", after the context):
 * Nhat, s, t, N0, C, D, X, A, Bx, E, S; then e. */
#include <string.h>

#include "zk_range_int.h"

#define MULSTAR_DOMAIN "kashguard/cggmp21/mulstar/v1"

static kg_err mulstar_challenge(BIGNUM *e, const kg_mpc_zk_mulstar *pf, const kg_mpc_zk_ctx *ctx,
                                const kg_mpc_rped *aux, const kg_mpc_paillier_pk *n0, const BIGNUM *C,
                                const BIGNUM *D, const kg_mpc_point *X, const BIGNUM *q)
{
    kg_mpc_fs fs;
    kg_err err = kg_mpc_fs_init(&fs, MULSTAR_DOMAIN, ctx);
    if (err) return err;
    kg_mpc_zk_fs_aux(&fs, aux);
    kg_mpc_fs_bn(&fs, "N0", n0->n);
    kg_mpc_fs_bn(&fs, "C", C);
    kg_mpc_fs_bn(&fs, "D", D);
    kg_mpc_fs_point(&fs, "X", ctx->group, X);
    kg_mpc_fs_bn(&fs, "A", pf->A);
    kg_mpc_fs_point(&fs, "Bx", ctx->group, &pf->Bx);
    kg_mpc_fs_bn(&fs, "E", pf->E);
    kg_mpc_fs_bn(&fs, "S", pf->S);
    err = kg_mpc_fs_challenge_pm(&fs, e, q);
    kg_mpc_fs_free(&fs);
    return err;
}

kg_err kg_mpc_zk_mulstar_prove(kg_mpc_zk_mulstar *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_rped *aux,
                               const kg_mpc_paillier_pk *n0, const BIGNUM *C, const BIGNUM *D, const kg_mpc_point *X,
                               const BIGNUM *x, const BIGNUM *rho)
{
    const BIGNUM *q = NULL;
    memset(pf, 0, sizeof *pf);
    kg_err err = kg_mpc_zk_order(ctx->group, &q, "Πmul*");
    if (err) return err;
    if (!kg_mpc_bn_in_pm(x, KG_CGGMP_ELL, NULL))
        return kg_err_set(KG_ERR_BAD_INPUT, "Πmul*: witness x out of range ±2^ℓ (party %u)", (unsigned)ctx->prover);
    BIGNUM *alpha = kg_mpc_bn_secret_new(), *m = kg_mpc_bn_secret_new(), *r = kg_mpc_bn_secret_new();
    BIGNUM *gamma = kg_mpc_bn_secret_new(), *e = BN_new();
    pf->A = BN_new();
    pf->E = BN_new();
    pf->S = BN_new();
    pf->z1 = BN_new();
    pf->z2 = BN_new();
    pf->w = BN_new();
    if (!alpha || !m || !r || !gamma || !e || !pf->A || !pf->E || !pf->S || !pf->z1 || !pf->z2 || !pf->w) {
        err = kg_err_set(KG_ERR_NOMEM, "Πmul*: out of memory");
        goto out;
    }
    if ((err = kg_mpc_bn_rand_pm(alpha, KG_CGGMP_ELL + KG_CGGMP_EPS, NULL)) ||
        (err = kg_mpc_bn_rand_pm(m, KG_CGGMP_ELL, aux->mod.n)) || (err = kg_mpc_bn_rand_unit(r, n0->n)) ||
        (err = kg_mpc_bn_rand_pm(gamma, KG_CGGMP_ELL + KG_CGGMP_EPS, aux->mod.n)))
        goto out;
    /* A = C^α · r^N0: α and r both secret, one two-base call. */
    if ((err = kg_mpc_bn_exp2(pf->A, C, alpha, r, n0->n, &n0->mod_nn, true)) ||
        (err = kg_mpc_point_mul_bn(ctx->group, &pf->Bx, alpha, NULL)) ||
        (err = kg_mpc_rped_commit(aux, pf->E, alpha, gamma)) || (err = kg_mpc_rped_commit(aux, pf->S, x, m)))
        goto out;
    if ((err = mulstar_challenge(e, pf, ctx, aux, n0, C, D, X, q))) goto out;
    if ((err = kg_mpc_zk_affine(pf->z1, alpha, e, x)) || (err = kg_mpc_zk_affine(pf->z2, gamma, e, m)) ||
        (err = kg_mpc_zk_nonce_resp(pf->w, r, rho, e, &n0->mod_n)))
        goto out;
out:
    kg_mpc_bn_free(alpha);
    kg_mpc_bn_free(m);
    kg_mpc_bn_free(r);
    kg_mpc_bn_free(gamma);
    BN_free(e);
    if (err) kg_mpc_zk_mulstar_clear(pf);
    return err;
}

kg_err kg_mpc_zk_mulstar_verify(const kg_mpc_zk_mulstar *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_rped *aux,
                                const kg_mpc_paillier_pk *n0, const BIGNUM *C, const BIGNUM *D,
                                const kg_mpc_point *X)
{
    const BIGNUM *q = NULL;
    unsigned who = ctx->prover;
    kg_err err = kg_mpc_zk_order(ctx->group, &q, "Πmul*");
    if (err) return err;
    if (!pf->A || !pf->E || !pf->S || !pf->z1 || !pf->z2 || !pf->w)
        return kg_err_set(KG_ERR_BAD_INPUT, "Πmul*: incomplete proof (party %u)", who);
    if (!kg_mpc_bn_in_pm(pf->z1, KG_CGGMP_ELL + KG_CGGMP_EPS, NULL))
        return kg_err_set(KG_ERR_VERIFY, "Πmul*: z1 out of range (party %u)", who);
    if ((err = kg_mpc_paillier_ct_check(n0, C, "Πmul*: C")) || (err = kg_mpc_paillier_ct_check(n0, D, "Πmul*: D")) ||
        (err = kg_mpc_paillier_ct_check(n0, pf->A, "Πmul*: A")) ||
        (err = kg_mpc_zk_need_unit(pf->E, aux->mod.n, "Πmul*", "E", ctx->prover)) ||
        (err = kg_mpc_zk_need_unit(pf->S, aux->mod.n, "Πmul*", "S", ctx->prover)) ||
        (err = kg_mpc_zk_need_unit(pf->w, n0->n, "Πmul*", "w", ctx->prover)))
        return err;
    if (kg_mpc_point_is_identity(ctx->group, &pf->Bx))
        return kg_err_set(KG_ERR_BAD_INPUT, "Πmul*: Bx is the identity (party %u)", who);
    BIGNUM *e = BN_new();
    if (!e) return kg_err_set(KG_ERR_NOMEM, "Πmul*: out of memory");
    bool ok = false;
    err = mulstar_challenge(e, pf, ctx, aux, n0, C, D, X, q);
    if (!err) err = kg_mpc_zk_point_eq(&ok, ctx->group, pf->z1, NULL, &pf->Bx, e, X);
    if (!err && !ok) err = kg_err_set(KG_ERR_VERIFY, "Πmul*: group equation failed (party %u)", who);
    if (!err) err = kg_mpc_zk_rped_eq(&ok, aux, pf->z1, pf->z2, pf->E, pf->S, e);
    if (!err && !ok) err = kg_err_set(KG_ERR_VERIFY, "Πmul*: ring-Pedersen equation failed (party %u)", who);
    if (!err) err = kg_mpc_zk_paillier_eq(&ok, n0, C, pf->z1, NULL, pf->w, pf->A, D, e);
    if (!err && !ok) err = kg_err_set(KG_ERR_VERIFY, "Πmul*: Paillier equation failed (party %u)", who);
    BN_free(e);
    return err;
}

void kg_mpc_zk_mulstar_write(kg_mpc_node_wr *w, kg_mpc_group_id g, const kg_mpc_zk_mulstar *pf)
{
    kg_mpc_bn_write(w, pf->A);
    kg_mpc_bn_write(w, pf->E);
    kg_mpc_bn_write(w, pf->S);
    kg_mpc_bn_write(w, pf->z1);
    kg_mpc_bn_write(w, pf->z2);
    kg_mpc_bn_write(w, pf->w);
    kg_mpc_point_write(w, g, &pf->Bx);
}

kg_err kg_mpc_zk_mulstar_read(kg_mpc_node_rd *r, kg_mpc_group_id g, kg_mpc_zk_mulstar *pf)
{
    const size_t mx = KG_CGGMP_BN_MAX_BYTES;
    memset(pf, 0, sizeof *pf);
    kg_err err = KG_OK;
    if ((err = kg_mpc_bn_read(r, &pf->A, mx, "Πmul* A")) || (err = kg_mpc_bn_read(r, &pf->E, mx, "Πmul* E")) ||
        (err = kg_mpc_bn_read(r, &pf->S, mx, "Πmul* S")) || (err = kg_mpc_bn_read(r, &pf->z1, mx, "Πmul* z1")) ||
        (err = kg_mpc_bn_read(r, &pf->z2, mx, "Πmul* z2")) || (err = kg_mpc_bn_read(r, &pf->w, mx, "Πmul* w")) ||
        (err = kg_mpc_point_read(r, g, &pf->Bx, "Πmul* Bx")))
        kg_mpc_zk_mulstar_clear(pf);
    return err;
}

void kg_mpc_zk_mulstar_clear(kg_mpc_zk_mulstar *pf)
{
    BN_free(pf->A);
    BN_free(pf->E);
    BN_free(pf->S);
    BN_free(pf->z1);
    BN_free(pf->z2);
    BN_free(pf->w);
    memset(pf, 0, sizeof *pf);
}
