/* Πenc, the Paillier encryption-in-range proof of CGGMP21 (eprint 2021/060,
 * Appendix, "Paillier Encryption in Range ZK", Fig. 14), used in
 * presigning round 1 for K_i = enc_i(k_i; ρ_i): the prover shows that K
 * encrypts under N0 a plaintext k in ±2^ℓ, to a verifier holding the
 * ring-Pedersen parameters (N̂, s, t).
 *
 *   prover: α ← ±2^(ℓ+ε), μ ← ±2^ℓ·N̂, r ← Z*_N0, γ ← ±2^(ℓ+ε)·N̂
 *           S = s^k t^μ, A = (1+N0)^α r^N0, C = s^α t^γ
 *   e ← ±q (Fiat-Shamir)
 *           z1 = α + e·k, z2 = r·ρ^e mod N0, z3 = γ + e·μ
 *   verify: z1 ∈ ±2^(ℓ+ε), (1+N0)^z1 z2^N0 = A·K^e mod N0^2,
 *           s^z1 t^z3 = C·S^e mod N̂
 *
 * Transcript (domain "kashguard/cggmp21/enc/v1", after the context):
 * Nhat, s, t, N0, K, S, A, C; then e.
 *
 * The file also holds the helpers the four range proofs share
 * (zk_range_int.h): they are the same equations in every figure, and one
 * copy keeps the checks identical. */
#include <string.h>

#include "zk_range_int.h"

#define ENC_DOMAIN "kashguard/cggmp21/enc/v1"

/* ------------------------------------------------------------- shared helpers */

kg_err kg_mpc_zk_order(kg_mpc_group_id g, const BIGNUM **q, const char *proof)
{
    *q = kg_mpc_group_order(g);
    if (!*q) return kg_err_set(KG_ERR_ARG, "%s: group %s is not a CGGMP21 group", proof, kg_mpc_group_name(g));
    return KG_OK;
}

kg_err kg_mpc_zk_need_unit(const BIGNUM *x, const BIGNUM *n, const char *proof, const char *what, uint16_t party)
{
    if (!x || !kg_mpc_bn_is_unit(x, n))
        return kg_err_set(KG_ERR_BAD_INPUT, "%s: %s is not a unit (party %u)", proof, what, (unsigned)party);
    return KG_OK;
}

void kg_mpc_zk_fs_aux(kg_mpc_fs *fs, const kg_mpc_rped *aux)
{
    kg_mpc_fs_bn(fs, "Nhat", aux->mod.n);
    kg_mpc_fs_bn(fs, "s", aux->s);
    kg_mpc_fs_bn(fs, "t", aux->t);
}

kg_err kg_mpc_zk_one_plus_n(BIGNUM *r, const BIGNUM *m, const kg_mpc_paillier_pk *pk)
{
    /* (1+N)^m = 1 + m·N mod N^2; with m reduced mod N first, (m mod N)·N + 1
     * is already below N^2. */
    BN_CTX *bc = kg_mpc_bn_ctx();
    BN_CTX_start(bc);
    BIGNUM *t = BN_CTX_get(bc);
    bool ok = t && BN_nnmod(t, m, pk->n, bc) && BN_mul(r, t, pk->n, bc) && BN_add_word(r, 1);
    if (t) BN_clear(t);
    BN_CTX_end(bc);
    return ok ? KG_OK : kg_err_set(KG_ERR_NOMEM, "(1+N)^m: out of memory");
}

kg_err kg_mpc_zk_affine(BIGNUM *z, const BIGNUM *a, const BIGNUM *e, const BIGNUM *x)
{
    BN_CTX *bc = kg_mpc_bn_ctx();
    BN_CTX_start(bc);
    BIGNUM *t = BN_CTX_get(bc);
    BN_set_flags(z, BN_FLG_CONSTTIME);
    bool ok = t && BN_mul(t, e, x, bc) && BN_add(z, a, t);
    if (t) BN_clear(t); /* e·x reveals the witness */
    BN_CTX_end(bc);
    return ok ? KG_OK : kg_err_set(KG_ERR_NOMEM, "ZK response: out of memory");
}

kg_err kg_mpc_zk_nonce_resp(BIGNUM *w, const BIGNUM *r, const BIGNUM *rho, const BIGNUM *e, const kg_mpc_mod *m)
{
    BN_CTX *bc = kg_mpc_bn_ctx();
    BN_CTX_start(bc);
    BIGNUM *t = BN_CTX_get(bc);
    kg_err err = t ? KG_OK : kg_err_set(KG_ERR_NOMEM, "ZK nonce response: out of memory");
    /* ρ is secret (it would open the ciphertext): the constant-time path
     * even though e is public. */
    if (!err) err = kg_mpc_bn_exp_secret(t, rho, e, m);
    if (!err && !BN_mod_mul(w, r, t, m->n, bc)) err = kg_err_set(KG_ERR_NOMEM, "ZK nonce response: out of memory");
    if (t) BN_clear(t);
    BN_CTX_end(bc);
    return err;
}

kg_err kg_mpc_zk_rped_eq(bool *ok, const kg_mpc_rped *aux, const BIGNUM *z1, const BIGNUM *z2, const BIGNUM *C,
                         const BIGNUM *S, const BIGNUM *e)
{
    *ok = false;
    BN_CTX *bc = kg_mpc_bn_ctx();
    BN_CTX_start(bc);
    BIGNUM *l = BN_CTX_get(bc), *r = BN_CTX_get(bc);
    kg_err err = r ? KG_OK : kg_err_set(KG_ERR_NOMEM, "ring-Pedersen check: out of memory");
    if (!err) err = kg_mpc_bn_exp2(l, aux->s, z1, aux->t, z2, &aux->mod, false);
    if (!err) err = kg_mpc_bn_exp(r, S, e, &aux->mod);
    if (!err && !BN_mod_mul(r, r, C, aux->mod.n, bc))
        err = kg_err_set(KG_ERR_NOMEM, "ring-Pedersen check: out of memory");
    if (!err) *ok = BN_cmp(l, r) == 0;
    BN_CTX_end(bc);
    return err;
}

kg_err kg_mpc_zk_paillier_eq(bool *ok, const kg_mpc_paillier_pk *pk, const BIGNUM *base, const BIGNUM *zb,
                             const BIGNUM *zm, const BIGNUM *w, const BIGNUM *A, const BIGNUM *K, const BIGNUM *e)
{
    *ok = false;
    BN_CTX *bc = kg_mpc_bn_ctx();
    BN_CTX_start(bc);
    BIGNUM *l = BN_CTX_get(bc), *r = BN_CTX_get(bc), *t = BN_CTX_get(bc);
    kg_err err = t ? KG_OK : kg_err_set(KG_ERR_NOMEM, "Paillier check: out of memory");
    /* base^zb and w^N share one call (one multi-exponentiation where
     * kg_mpc_bn_exp2 does that); (1+N)^zm costs one multiplication. */
    if (!err && base) err = kg_mpc_bn_exp2(l, base, zb, w, pk->n, &pk->mod_nn, false);
    else if (!err) err = kg_mpc_bn_exp(l, w, pk->n, &pk->mod_nn);
    if (!err && zm) {
        err = kg_mpc_zk_one_plus_n(t, zm, pk);
        if (!err && !BN_mod_mul(l, l, t, pk->nn, bc)) err = kg_err_set(KG_ERR_NOMEM, "Paillier check: out of memory");
    }
    if (!err) err = kg_mpc_bn_exp(r, K, e, &pk->mod_nn);
    if (!err && !BN_mod_mul(r, r, A, pk->nn, bc)) err = kg_err_set(KG_ERR_NOMEM, "Paillier check: out of memory");
    if (!err) *ok = BN_cmp(l, r) == 0;
    BN_CTX_end(bc);
    return err;
}

kg_err kg_mpc_zk_point_eq(bool *ok, kg_mpc_group_id g, const BIGNUM *z, const kg_mpc_point *B,
                          const kg_mpc_point *Y, const BIGNUM *e, const kg_mpc_point *X)
{
    kg_mpc_point l, ex, r;
    *ok = false;
    kg_err err = kg_mpc_point_mul_bn(g, &l, z, B);
    if (!err) err = kg_mpc_point_mul_bn(g, &ex, e, X);
    if (err) return err;
    kg_mpc_point_add(g, &r, Y, &ex);
    *ok = kg_mpc_point_eq(g, &l, &r);
    return KG_OK;
}

/* ------------------------------------------------------------------------ Πenc */

/* The challenge e of Πenc: the same absorption at prover and verifier. */
static kg_err enc_challenge(BIGNUM *e, const kg_mpc_zk_enc *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_rped *aux,
                            const kg_mpc_paillier_pk *n0, const BIGNUM *K, const BIGNUM *q)
{
    kg_mpc_fs fs;
    kg_err err = kg_mpc_fs_init(&fs, ENC_DOMAIN, ctx);
    if (err) return err;
    kg_mpc_zk_fs_aux(&fs, aux);
    kg_mpc_fs_bn(&fs, "N0", n0->n);
    kg_mpc_fs_bn(&fs, "K", K);
    kg_mpc_fs_bn(&fs, "S", pf->S);
    kg_mpc_fs_bn(&fs, "A", pf->A);
    kg_mpc_fs_bn(&fs, "C", pf->C);
    err = kg_mpc_fs_challenge_pm(&fs, e, q);
    kg_mpc_fs_free(&fs);
    return err;
}

kg_err kg_mpc_zk_enc_commit(kg_mpc_zk_enc_pre *pre, const kg_mpc_rped *aux, const kg_mpc_paillier_pk *n0,
                            const BIGNUM *w, const char *proof, const char *witness)
{
    memset(pre, 0, sizeof *pre);
    /* An out-of-range witness would give a proof that cannot verify (or,
     * worse, leak through z1): refuse it here. */
    if (!kg_mpc_bn_in_pm(w, KG_CGGMP_ELL, NULL))
        return kg_err_set(KG_ERR_BAD_INPUT, "%s: witness %s out of range ±2^ℓ", proof, witness);
    pre->alpha = kg_mpc_bn_secret_new(), pre->mu = kg_mpc_bn_secret_new(), pre->r = kg_mpc_bn_secret_new();
    pre->gamma = kg_mpc_bn_secret_new(), pre->S = BN_new(), pre->A = BN_new(), pre->C = BN_new();
    pre->nh = BN_dup(aux->mod.n), pre->n0 = BN_dup(n0->n);
    kg_err err = KG_OK;
    if (!pre->alpha || !pre->mu || !pre->r || !pre->gamma || !pre->S || !pre->A || !pre->C || !pre->nh || !pre->n0)
        err = kg_err_set(KG_ERR_NOMEM, "%s: out of memory", proof);
    if (!err) err = kg_mpc_bn_rand_pm(pre->alpha, KG_CGGMP_ELL + KG_CGGMP_EPS, NULL);
    if (!err) err = kg_mpc_bn_rand_pm(pre->mu, KG_CGGMP_ELL, aux->mod.n);
    if (!err) err = kg_mpc_bn_rand_unit(pre->r, n0->n);
    if (!err) err = kg_mpc_bn_rand_pm(pre->gamma, KG_CGGMP_ELL + KG_CGGMP_EPS, aux->mod.n);
    if (!err) err = kg_mpc_rped_commit(aux, pre->S, w, pre->mu);
    if (!err) err = kg_mpc_paillier_enc_with(n0, pre->A, pre->alpha, pre->r);
    if (!err) err = kg_mpc_rped_commit(aux, pre->C, pre->alpha, pre->gamma);
    if (err) kg_mpc_zk_enc_pre_clear(pre);
    return err;
}

/* The first message (S, A, C) and its masks: everything of Πenc that the
 * session and the challenge do not touch (presign precomputation). */
kg_err kg_mpc_zk_enc_precommit(kg_mpc_zk_enc_pre *pre, const kg_mpc_rped *aux, const kg_mpc_paillier_pk *n0,
                               const BIGNUM *k)
{
    return kg_mpc_zk_enc_commit(pre, aux, n0, k, "Πenc", "k");
}

void kg_mpc_zk_enc_pre_clear(kg_mpc_zk_enc_pre *pre)
{
    kg_mpc_bn_free(pre->alpha);
    kg_mpc_bn_free(pre->mu);
    kg_mpc_bn_free(pre->r);
    kg_mpc_bn_free(pre->gamma);
    BN_free(pre->S);
    BN_free(pre->A);
    BN_free(pre->C);
    BN_free(pre->nh);
    BN_free(pre->n0);
    memset(pre, 0, sizeof *pre);
}

/* Challenge and responses from a precommitment; pre is consumed. */
kg_err kg_mpc_zk_enc_prove_pre(kg_mpc_zk_enc *pf, kg_mpc_zk_enc_pre *pre, const kg_mpc_zk_ctx *ctx,
                               const kg_mpc_rped *aux, const kg_mpc_paillier_pk *n0, const BIGNUM *K,
                               const BIGNUM *k, const BIGNUM *rho)
{
    const BIGNUM *q = NULL;
    BIGNUM *e = NULL;
    memset(pf, 0, sizeof *pf);
    kg_err err = kg_mpc_zk_order(ctx->group, &q, "Πenc");
    if (!err && !pre->S)
        err = kg_err_set(KG_ERR_BAD_INPUT, "Πenc: precomputation missing or already used (party %u)",
                         (unsigned)ctx->prover);
    else if (!err && (BN_cmp(pre->nh, aux->mod.n) || BN_cmp(pre->n0, n0->n)))
        err = kg_err_set(KG_ERR_BAD_INPUT, "Πenc: precomputation made for other parameters (party %u)",
                         (unsigned)ctx->prover);
    else if (!err && !kg_mpc_bn_in_pm(k, KG_CGGMP_ELL, NULL))
        err = kg_err_set(KG_ERR_BAD_INPUT, "Πenc: witness k out of range ±2^ℓ (party %u)", (unsigned)ctx->prover);
    if (err) goto out;
    pf->S = pre->S, pf->A = pre->A, pf->C = pre->C;
    pre->S = pre->A = pre->C = NULL;
    e = BN_new(), pf->z1 = BN_new(), pf->z2 = BN_new(), pf->z3 = BN_new();
    if (!e || !pf->z1 || !pf->z2 || !pf->z3) {
        err = kg_err_set(KG_ERR_NOMEM, "Πenc: out of memory");
        goto out;
    }
    if ((err = enc_challenge(e, pf, ctx, aux, n0, K, q))) goto out;
    if ((err = kg_mpc_zk_affine(pf->z1, pre->alpha, e, k)) ||
        (err = kg_mpc_zk_nonce_resp(pf->z2, pre->r, rho, e, &n0->mod_n)) ||
        (err = kg_mpc_zk_affine(pf->z3, pre->gamma, e, pre->mu)))
        goto out;
out:
    kg_mpc_zk_enc_pre_clear(pre); /* single use, whatever happened */
    BN_free(e);
    if (err) kg_mpc_zk_enc_clear(pf);
    return err;
}

kg_err kg_mpc_zk_enc_prove(kg_mpc_zk_enc *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_rped *aux,
                           const kg_mpc_paillier_pk *n0, const BIGNUM *K, const BIGNUM *k, const BIGNUM *rho)
{
    kg_mpc_zk_enc_pre pre;
    memset(pf, 0, sizeof *pf);
    const BIGNUM *q = NULL;
    kg_err err = kg_mpc_zk_order(ctx->group, &q, "Πenc");
    if (err) return err;
    if (!kg_mpc_bn_in_pm(k, KG_CGGMP_ELL, NULL))
        return kg_err_set(KG_ERR_BAD_INPUT, "Πenc: witness k out of range ±2^ℓ (party %u)", (unsigned)ctx->prover);
    if ((err = kg_mpc_zk_enc_precommit(&pre, aux, n0, k))) return err;
    return kg_mpc_zk_enc_prove_pre(pf, &pre, ctx, aux, n0, K, k, rho);
}

kg_err kg_mpc_zk_enc_verify(const kg_mpc_zk_enc *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_rped *aux,
                            const kg_mpc_paillier_pk *n0, const BIGNUM *K)
{
    const BIGNUM *q = NULL;
    unsigned who = ctx->prover;
    kg_err err = kg_mpc_zk_order(ctx->group, &q, "Πenc");
    if (err) return err;
    if (!pf->S || !pf->A || !pf->C || !pf->z1 || !pf->z2 || !pf->z3)
        return kg_err_set(KG_ERR_BAD_INPUT, "Πenc: incomplete proof (party %u)", who);
    if (!kg_mpc_bn_in_pm(pf->z1, KG_CGGMP_ELL + KG_CGGMP_EPS, NULL))
        return kg_err_set(KG_ERR_VERIFY, "Πenc: z1 out of range (party %u)", who);
    if ((err = kg_mpc_paillier_ct_check(n0, K, "Πenc: K")) || (err = kg_mpc_paillier_ct_check(n0, pf->A, "Πenc: A")) ||
        (err = kg_mpc_zk_need_unit(pf->S, aux->mod.n, "Πenc", "S", ctx->prover)) ||
        (err = kg_mpc_zk_need_unit(pf->C, aux->mod.n, "Πenc", "C", ctx->prover)) ||
        (err = kg_mpc_zk_need_unit(pf->z2, n0->n, "Πenc", "z2", ctx->prover)))
        return err;
    BIGNUM *e = BN_new();
    if (!e) return kg_err_set(KG_ERR_NOMEM, "Πenc: out of memory");
    bool ok = false;
    err = enc_challenge(e, pf, ctx, aux, n0, K, q);
    if (!err) err = kg_mpc_zk_paillier_eq(&ok, n0, NULL, NULL, pf->z1, pf->z2, pf->A, K, e);
    if (!err && !ok) err = kg_err_set(KG_ERR_VERIFY, "Πenc: Paillier equation failed (party %u)", who);
    if (!err) err = kg_mpc_zk_rped_eq(&ok, aux, pf->z1, pf->z3, pf->C, pf->S, e);
    if (!err && !ok) err = kg_err_set(KG_ERR_VERIFY, "Πenc: ring-Pedersen equation failed (party %u)", who);
    BN_free(e);
    return err;
}

void kg_mpc_zk_enc_write(kg_mpc_node_wr *w, const kg_mpc_zk_enc *pf)
{
    kg_mpc_bn_write(w, pf->S);
    kg_mpc_bn_write(w, pf->A);
    kg_mpc_bn_write(w, pf->C);
    kg_mpc_bn_write(w, pf->z1);
    kg_mpc_bn_write(w, pf->z2);
    kg_mpc_bn_write(w, pf->z3);
}

kg_err kg_mpc_zk_enc_read(kg_mpc_node_rd *r, kg_mpc_zk_enc *pf)
{
    const size_t mx = KG_CGGMP_BN_MAX_BYTES;
    memset(pf, 0, sizeof *pf);
    kg_err err = KG_OK;
    if ((err = kg_mpc_bn_read(r, &pf->S, mx, "Πenc S")) || (err = kg_mpc_bn_read(r, &pf->A, mx, "Πenc A")) ||
        (err = kg_mpc_bn_read(r, &pf->C, mx, "Πenc C")) || (err = kg_mpc_bn_read(r, &pf->z1, mx, "Πenc z1")) ||
        (err = kg_mpc_bn_read(r, &pf->z2, mx, "Πenc z2")) || (err = kg_mpc_bn_read(r, &pf->z3, mx, "Πenc z3")))
        kg_mpc_zk_enc_clear(pf);
    return err;
}

void kg_mpc_zk_enc_clear(kg_mpc_zk_enc *pf)
{
    BN_free(pf->S);
    BN_free(pf->A);
    BN_free(pf->C);
    BN_free(pf->z1);
    BN_free(pf->z2);
    BN_free(pf->z3);
    memset(pf, 0, sizeof *pf);
}
