/* Πdec: Paillier decryption modulo q (CGGMP21, eprint 2021/060, Fig. 30).
 *
 * Used by the identification of the signing phase (§4): a party accused of
 * a bad share shows that its ciphertext C = enc_N0(y; ρ) under its own
 * Paillier key decrypts to a value y with y ≡ x (mod q), x public, without
 * revealing y. The verifier holds ring-Pedersen parameters (N̂, s, t).
 *   prover: α <- ±2^(ℓ+ε)·N0 (see below), μ <- ±2^ℓ·N̂,
 *     ν <- ±2^(ℓ+ε)·N̂, r <- Z*_N0;
 *     S = s^y t^μ, T = s^α t^ν, A = enc_N0(α; r), γ = α mod q;
 *   e <- ±q;
 *   z1 = α + e·y, z2 = ν + e·μ, w = r·ρ^e mod N0;
 *   verifier: enc_N0(z1; w) = A·C^e (mod N0^2), z1 ≡ γ + e·x (mod q),
 *     s^z1 t^z2 = T·S^e (mod N̂).
 *
 * The size of α. The figure samples α <- ±2^(ℓ+ε), which hides e·y in
 * z1 = α + e·y only while |y| <= 2^ℓ (statistical distance about
 * 2^ℓ·|y|/2^(ℓ+ε)). In the identification y is a full Paillier plaintext
 * (|y| up to N0/2, e.g. a sum of MtA shares), so with that range z1 would
 * reveal y. We therefore sample α <- ±2^(ℓ+ε)·N0: then |e·y| <= 2^ℓ·N0/2
 * and z1 is within statistical distance 2^-(ε+1) of its distribution for
 * any other y; γ = α mod q and A = enc(α) reveal nothing more (α mod q is
 * 2^-(ℓ+ε)·q-close to uniform; A is semantically secure). We could not
 * confirm from the figure that the paper widens the range for this use;
 * the verifier's equations do not depend on it (enc is periodic in N0 and
 * the congruence is checked on the integer z1), so verifiers of either
 * choice interoperate. S hides y whatever its size (μ ranges over 2^ℓ
 * times the order of t). ν masks e·μ (|e·μ| <= 2^(2ℓ)·N̂) with distance
 * 2^(ℓ−ε). The encryption check reduces z1 into (−N0/2, N0/2] first.
 *
 * Transcript ("kashguard/cggmp21/dec/v1", after the context): "Nhat",
 * "s", "t", "N0", "C", "x" (as an integer in [0, q)), "S", "T", "A",
 * "gamma"; then e with kg_mpc_fs_challenge_pm(q). */
#include "cggmp_zk.h"

#include <string.h>

#define DEC_DOMAIN "kashguard/cggmp21/dec/v1"
#define DEC_MOD_BYTES (1u + KG_CGGMP_N_BITS_MAX / 8u)
#define DEC_MOD2_BYTES (1u + 2u * KG_CGGMP_N_BITS_MAX / 8u)

void kg_mpc_zk_dec_clear(kg_mpc_zk_dec *pf)
{
    BIGNUM **f[] = {&pf->S, &pf->T, &pf->A, &pf->gamma, &pf->z1, &pf->z2, &pf->w};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) kg_mpc_bn_free(*f[i]);
    memset(pf, 0, sizeof *pf);
}

/* r = a mod n as the signed representative in (−n/2, n/2] (n odd). */
static bool dec_signed_mod(BIGNUM *r, const BIGNUM *a, const BIGNUM *n, BN_CTX *bc)
{
    BN_CTX_start(bc);
    BIGNUM *h = BN_CTX_get(bc);
    bool ok = h && BN_nnmod(r, a, n, bc) && BN_lshift1(h, r);
    if (ok && BN_cmp(h, n) > 0) ok = BN_sub(r, r, n);
    if (h) BN_clear(h);
    BN_CTX_end(bc);
    return ok;
}

static kg_err dec_challenge(BIGNUM *e, const kg_mpc_zk_dec *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_rped *aux,
                            const kg_mpc_paillier_pk *n0, const BIGNUM *C, const BIGNUM *xb, const BIGNUM *q)
{
    kg_mpc_fs fs;
    kg_err err = kg_mpc_fs_init(&fs, DEC_DOMAIN, ctx);
    if (err) return err;
    kg_mpc_fs_bn(&fs, "Nhat", aux->mod.n);
    kg_mpc_fs_bn(&fs, "s", aux->s);
    kg_mpc_fs_bn(&fs, "t", aux->t);
    kg_mpc_fs_bn(&fs, "N0", n0->n);
    kg_mpc_fs_bn(&fs, "C", C);
    kg_mpc_fs_bn(&fs, "x", xb);
    kg_mpc_fs_bn(&fs, "S", pf->S);
    kg_mpc_fs_bn(&fs, "T", pf->T);
    kg_mpc_fs_bn(&fs, "A", pf->A);
    kg_mpc_fs_bn(&fs, "gamma", pf->gamma);
    err = kg_mpc_fs_challenge_pm(&fs, e, q);
    kg_mpc_fs_free(&fs);
    return err;
}

/* z = a + e·x over the integers. */
static bool dec_affine(BIGNUM *z, const BIGNUM *a, const BIGNUM *e, const BIGNUM *x, BN_CTX *bc)
{
    BN_CTX_start(bc);
    BIGNUM *t = BN_CTX_get(bc);
    bool ok = t && BN_mul(t, e, x, bc) && BN_add(z, a, t);
    if (t) BN_clear(t);
    BN_CTX_end(bc);
    return ok;
}

typedef struct { BIGNUM *alpha, *mu, *nu, *r, *tmp; } dec_masks;

/* Masks, then S, T, A, γ. */
static kg_err dec_commit(kg_mpc_zk_dec *pf, dec_masks *k, const kg_mpc_rped *aux, const kg_mpc_paillier_pk *n0,
                         const BIGNUM *y, const BIGNUM *q, BN_CTX *bc)
{
    const unsigned le = KG_CGGMP_ELL + KG_CGGMP_EPS;
    kg_err err;
    if ((err = kg_mpc_bn_rand_pm(k->alpha, le, n0->n)) || (err = kg_mpc_bn_rand_pm(k->mu, KG_CGGMP_ELL, aux->mod.n)) ||
        (err = kg_mpc_bn_rand_pm(k->nu, le, aux->mod.n)) || (err = kg_mpc_bn_rand_unit(k->r, n0->n)))
        return err;
    if ((err = kg_mpc_rped_commit(aux, pf->S, y, k->mu)) || (err = kg_mpc_rped_commit(aux, pf->T, k->alpha, k->nu)))
        return err;
    if (!dec_signed_mod(k->tmp, k->alpha, n0->n, bc) || !BN_nnmod(pf->gamma, k->alpha, q, bc))
        return kg_err_set(KG_ERR_NOMEM, "Πdec: out of memory");
    return kg_mpc_paillier_enc_with(n0, pf->A, k->tmp, k->r);
}

kg_err kg_mpc_zk_dec_prove(kg_mpc_zk_dec *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_rped *aux,
                           const kg_mpc_paillier_pk *n0, const BIGNUM *C, const kg_mpc_scalar *x,
                           const BIGNUM *y, const BIGNUM *rho)
{
    memset(pf, 0, sizeof *pf);
    const BIGNUM *q = kg_mpc_group_order(ctx->group);
    if (!q) return kg_err_set(KG_ERR_BAD_INPUT, "Πdec: not a CGGMP21 group");
    if (!n0->n || !aux->mod.n || !aux->s || !aux->t)
        return kg_err_set(KG_ERR_BAD_INPUT, "Πdec: party %u's keys are incomplete", ctx->prover);
    BN_CTX *bc = kg_mpc_bn_ctx();
    dec_masks k = {kg_mpc_bn_secret_new(), kg_mpc_bn_secret_new(), kg_mpc_bn_secret_new(), kg_mpc_bn_secret_new(),
                   kg_mpc_bn_secret_new()};
    BIGNUM *e = BN_new(), *xb = kg_mpc_scalar_to_bn(ctx->group, x);
    kg_err err = KG_OK;
    BIGNUM **pub[] = {&pf->S, &pf->T, &pf->A, &pf->gamma, &pf->z1, &pf->z2, &pf->w};
    bool ok = k.alpha && k.mu && k.nu && k.r && k.tmp && e && xb;
    for (size_t i = 0; ok && i < sizeof pub / sizeof pub[0]; i++) ok = (*pub[i] = BN_new()) != NULL;
    if (!ok) { err = kg_err_set(KG_ERR_NOMEM, "Πdec: out of memory"); goto out; }
    if ((err = dec_commit(pf, &k, aux, n0, y, q, bc))) goto out;
    if ((err = dec_challenge(e, pf, ctx, aux, n0, C, xb, q))) goto out;
    if (!dec_affine(pf->z1, k.alpha, e, y, bc) || !dec_affine(pf->z2, k.nu, e, k.mu, bc)) {
        err = kg_err_set(KG_ERR_NOMEM, "Πdec: out of memory");
        goto out;
    }
    /* w = r·ρ^e mod N0: ρ is secret, so the constant-time path. */
    if ((err = kg_mpc_bn_exp_secret(k.tmp, rho, e, &n0->mod_n))) goto out;
    if (!BN_mod_mul(pf->w, k.r, k.tmp, n0->n, bc)) err = kg_err_set(KG_ERR_NOMEM, "Πdec: out of memory");
out:
    kg_mpc_bn_free(k.alpha);
    kg_mpc_bn_free(k.mu);
    kg_mpc_bn_free(k.nu);
    kg_mpc_bn_free(k.r);
    kg_mpc_bn_free(k.tmp);
    kg_mpc_bn_free(xb);
    BN_free(e);
    if (err) kg_mpc_zk_dec_clear(pf);
    return err;
}

static kg_err dec_check_shape(const kg_mpc_zk_dec *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_rped *aux,
                              const kg_mpc_paillier_pk *n0, const BIGNUM *C, const BIGNUM *q)
{
    if (!n0->n || !aux->mod.n || !aux->s || !aux->t)
        return kg_err_set(KG_ERR_BAD_INPUT, "Πdec: party %u's keys are incomplete", ctx->prover);
    if (!pf->S || !pf->T || !pf->A || !pf->gamma || !pf->z1 || !pf->z2 || !pf->w)
        return kg_err_set(KG_ERR_BAD_INPUT, "Πdec: proof of party %u is incomplete", ctx->prover);
    kg_err err;
    if ((err = kg_mpc_paillier_ct_check(n0, C, "Πdec C")) || (err = kg_mpc_paillier_ct_check(n0, pf->A, "Πdec A")))
        return err;
    if (!kg_mpc_bn_is_unit(pf->S, aux->mod.n) || !kg_mpc_bn_is_unit(pf->T, aux->mod.n))
        return kg_err_set(KG_ERR_BAD_INPUT, "Πdec: S/T of party %u not a unit mod N̂", ctx->prover);
    if (!kg_mpc_bn_is_unit(pf->w, n0->n))
        return kg_err_set(KG_ERR_BAD_INPUT, "Πdec: w of party %u not a unit mod N0", ctx->prover);
    if (BN_is_negative(pf->gamma) || BN_cmp(pf->gamma, q) >= 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "Πdec: gamma of party %u not in [0, q)", ctx->prover);
    if (BN_num_bytes(pf->z1) >= (int)KG_CGGMP_BN_MAX_BYTES || BN_num_bytes(pf->z2) >= (int)KG_CGGMP_BN_MAX_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "Πdec: a response of party %u is too large", ctx->prover);
    return KG_OK;
}

/* The two Paillier-side checks: enc(z1; w) = A·C^e and z1 ≡ γ + e·x. */
static kg_err dec_check_enc(bool *ok, const kg_mpc_zk_dec *pf, const kg_mpc_paillier_pk *n0, const BIGNUM *C,
                            const BIGNUM *xb, const BIGNUM *e, const BIGNUM *q, BN_CTX *bc)
{
    BN_CTX_start(bc);
    BIGNUM *m = BN_CTX_get(bc), *l = BN_CTX_get(bc), *r = BN_CTX_get(bc);
    kg_err err = KG_OK;
    if (!r || !dec_signed_mod(m, pf->z1, n0->n, bc)) { err = kg_err_set(KG_ERR_NOMEM, "Πdec: out of memory"); goto out; }
    if ((err = kg_mpc_paillier_enc_with(n0, l, m, pf->w)) || (err = kg_mpc_bn_exp(r, C, e, &n0->mod_nn))) goto out;
    if (!BN_mod_mul(r, r, pf->A, n0->nn, bc)) { err = kg_err_set(KG_ERR_NOMEM, "Πdec: out of memory"); goto out; }
    bool enc_ok = BN_cmp(l, r) == 0;
    if (!BN_nnmod(l, pf->z1, q, bc) || !BN_mul(r, e, xb, bc) || !BN_add(r, r, pf->gamma) || !BN_nnmod(r, r, q, bc)) {
        err = kg_err_set(KG_ERR_NOMEM, "Πdec: out of memory");
        goto out;
    }
    *ok = enc_ok && BN_cmp(l, r) == 0;
out:
    BN_CTX_end(bc);
    return err;
}

kg_err kg_mpc_zk_dec_verify(const kg_mpc_zk_dec *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_rped *aux,
                            const kg_mpc_paillier_pk *n0, const BIGNUM *C, const kg_mpc_scalar *x)
{
    const BIGNUM *q = kg_mpc_group_order(ctx->group);
    if (!q) return kg_err_set(KG_ERR_BAD_INPUT, "Πdec: not a CGGMP21 group");
    kg_err err = dec_check_shape(pf, ctx, aux, n0, C, q);
    if (err) return err;
    BN_CTX *bc = kg_mpc_bn_ctx();
    BN_CTX_start(bc);
    BIGNUM *e = BN_CTX_get(bc), *l = BN_CTX_get(bc), *r = BN_CTX_get(bc);
    BIGNUM *xb = kg_mpc_scalar_to_bn(ctx->group, x);
    bool ok1 = false;
    if (!r || !xb) { err = kg_err_set(KG_ERR_NOMEM, "Πdec: out of memory"); goto out; }
    if ((err = dec_challenge(e, pf, ctx, aux, n0, C, xb, q))) goto out;
    if ((err = dec_check_enc(&ok1, pf, n0, C, xb, e, q, bc))) goto out;
    if (!ok1) {
        err = kg_err_set(KG_ERR_VERIFY, "Πdec: enc(z1; w) != A·C^e or z1 != γ + e·x mod q (party %u)", ctx->prover);
        goto out;
    }
    if ((err = kg_mpc_bn_exp2(l, aux->s, pf->z1, aux->t, pf->z2, &aux->mod, false)) ||
        (err = kg_mpc_bn_exp(r, pf->S, e, &aux->mod)))
        goto out;
    if (!BN_mod_mul(r, r, pf->T, aux->mod.n, bc)) { err = kg_err_set(KG_ERR_NOMEM, "Πdec: out of memory"); goto out; }
    if (BN_cmp(l, r)) err = kg_err_set(KG_ERR_VERIFY, "Πdec: s^z1 t^z2 != T·S^e (party %u)", ctx->prover);
out:
    kg_mpc_bn_free(xb);
    BN_CTX_end(bc);
    return err;
}

void kg_mpc_zk_dec_write(kg_mpc_node_wr *w, const kg_mpc_zk_dec *pf)
{
    const BIGNUM *f[] = {pf->S, pf->T, pf->A, pf->gamma, pf->z1, pf->z2, pf->w};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) kg_mpc_bn_write(w, f[i]);
}

kg_err kg_mpc_zk_dec_read(kg_mpc_node_rd *r, kg_mpc_zk_dec *pf)
{
    memset(pf, 0, sizeof *pf);
    BIGNUM **f[] = {&pf->S, &pf->T, &pf->A, &pf->gamma, &pf->z1, &pf->z2, &pf->w};
    static const size_t max[] = {DEC_MOD_BYTES,        DEC_MOD_BYTES,        DEC_MOD2_BYTES, 1u + KG_MPC_SCALAR_BYTES,
                                 KG_CGGMP_BN_MAX_BYTES, KG_CGGMP_BN_MAX_BYTES, DEC_MOD_BYTES};
    static const char *const names[] = {"Πdec S", "Πdec T", "Πdec A", "Πdec gamma", "Πdec z1", "Πdec z2", "Πdec w"};
    kg_err err = KG_OK;
    for (size_t i = 0; i < sizeof f / sizeof f[0] && !err; i++) err = kg_mpc_bn_read(r, f[i], max[i], names[i]);
    if (err) kg_mpc_zk_dec_clear(pf);
    return err;
}
