/* Πfac: the Paillier modulus N0 has no small factor (CGGMP21, eprint
 * 2021/060, the no-small-factor proof of the revised paper, Fig. 28 in the
 * numbering of cggmp_zk.h).
 *
 * The range proofs (Πenc, Πaff-g, Πlog*) are only sound when the prover's
 * N0 = p·q has both factors of size about √N0: a modulus with a small
 * factor lets a prover hide a large plaintext in a "small" range. The
 * prover commits to p and q with the verifier's ring-Pedersen parameters
 * (N̂, s, t) and shows p·q = N0 with both committed values in
 * ±2^(ℓ+ε)·√N0:
 *   α, β <- ±2^(ℓ+ε)·√N0,  μ, ν <- ±2^ℓ·N̂,  σ <- ±2^ℓ·N0·N̂,
 *   r <- ±2^(ℓ+ε)·N0·N̂,  x, y <- ±2^(ℓ+ε)·N̂;
 *   P = s^p t^μ, Q = s^q t^ν, A = s^α t^x, B = s^β t^y, T = Q^α t^r;
 *   sends (P, Q, A, B, T, σ); both set R = s^N0 t^σ;
 *   e <- ±q;  σ̂ = σ − ν·p;
 *   z1 = α + e·p, z2 = β + e·q, w1 = x + e·μ, w2 = y + e·ν, v = r + e·σ̂;
 *   verifier: z1, z2 in ±2^(ℓ+ε)·√N0, s^z1 t^w1 = A·P^e,
 *     s^z2 t^w2 = B·Q^e, Q^z1 t^v = T·R^e (mod N̂).
 * The third equation works because Q^p = s^(pq) t^(νp) = R · t^(−σ̂), so
 * it binds the product of the two committed values to N0.
 * √N0 is taken as floor(√N0) + 1 (an upper bound), by both sides.
 *
 * Transcript ("kashguard/cggmp21/fac/v1", after the context): "Nhat",
 * "s", "t" (the verifier's aux), "N0", "P", "Q", "A", "B", "T", "sigma";
 * then e with kg_mpc_fs_challenge_pm(q). */
#include "cggmp_zk.h"

#include <string.h>

#define FAC_DOMAIN "kashguard/cggmp21/fac/v1"
#define FAC_MOD_BYTES (1u + KG_CGGMP_N_BITS_MAX / 8u)

void kg_mpc_zk_fac_clear(kg_mpc_zk_fac *pf)
{
    BIGNUM **f[] = {&pf->P, &pf->Q, &pf->A, &pf->B, &pf->T, &pf->sigma, &pf->z1, &pf->z2, &pf->w1, &pf->w2, &pf->v};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) kg_mpc_bn_free(*f[i]);
    memset(pf, 0, sizeof *pf);
}

/* r = floor(√n) + 1 (n > 0, public): Newton's iteration from 2^⌈bits/2⌉,
 * which starts above √n and decreases to floor(√n). */
static bool fac_sqrt_bound(BIGNUM *r, const BIGNUM *n, BN_CTX *bc)
{
    BN_CTX_start(bc);
    BIGNUM *y = BN_CTX_get(bc), *d = BN_CTX_get(bc);
    bool ok = d && !BN_is_negative(n) && !BN_is_zero(n);
    if (ok) {
        BN_zero(r);
        ok = BN_set_bit(r, (BN_num_bits(n) + 1) / 2);
    }
    for (int it = 0; ok && it < 8192; it++) {
        ok = BN_div(d, NULL, n, r, bc) && BN_add(y, r, d) && BN_rshift1(y, y);
        if (!ok || BN_cmp(y, r) >= 0) break;
        ok = BN_copy(r, y) != NULL;
    }
    ok = ok && BN_add_word(r, 1);
    BN_CTX_end(bc);
    return ok;
}

static kg_err fac_challenge(BIGNUM *e, const kg_mpc_zk_fac *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_rped *aux,
                            const BIGNUM *n0, const BIGNUM *q)
{
    kg_mpc_fs fs;
    kg_err err = kg_mpc_fs_init(&fs, FAC_DOMAIN, ctx);
    if (err) return err;
    kg_mpc_fs_bn(&fs, "Nhat", aux->mod.n);
    kg_mpc_fs_bn(&fs, "s", aux->s);
    kg_mpc_fs_bn(&fs, "t", aux->t);
    kg_mpc_fs_bn(&fs, "N0", n0);
    kg_mpc_fs_bn(&fs, "P", pf->P);
    kg_mpc_fs_bn(&fs, "Q", pf->Q);
    kg_mpc_fs_bn(&fs, "A", pf->A);
    kg_mpc_fs_bn(&fs, "B", pf->B);
    kg_mpc_fs_bn(&fs, "T", pf->T);
    kg_mpc_fs_bn(&fs, "sigma", pf->sigma);
    err = kg_mpc_fs_challenge_pm(&fs, e, q);
    kg_mpc_fs_free(&fs);
    return err;
}

/* z = a + e·x over the integers. */
static bool fac_affine(BIGNUM *z, const BIGNUM *a, const BIGNUM *e, const BIGNUM *x, BN_CTX *bc)
{
    BN_CTX_start(bc);
    BIGNUM *t = BN_CTX_get(bc);
    bool ok = t && BN_mul(t, e, x, bc) && BN_add(z, a, t);
    if (t) BN_clear(t);
    BN_CTX_end(bc);
    return ok;
}

/* The prover's masks (all secret). */
typedef struct { BIGNUM *alpha, *beta, *mu, *nu, *r, *x, *y, *sig_hat; } fac_masks;

static void fac_masks_clear(fac_masks *k)
{
    BIGNUM **f[] = {&k->alpha, &k->beta, &k->mu, &k->nu, &k->r, &k->x, &k->y, &k->sig_hat};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) kg_mpc_bn_free(*f[i]);
}

/* Sample the masks and σ (pf->sigma), compute P, Q, A, B, T. */
static kg_err fac_commit(kg_mpc_zk_fac *pf, fac_masks *k, const kg_mpc_rped *aux, const kg_mpc_paillier_sk *sk,
                         BN_CTX *bc)
{
    const unsigned le = KG_CGGMP_ELL + KG_CGGMP_EPS;
    kg_err err = KG_OK;
    BN_CTX_start(bc);
    BIGNUM *sq = BN_CTX_get(bc), *nn = BN_CTX_get(bc);
    if (!nn || !fac_sqrt_bound(sq, sk->pk.n, bc) || !BN_mul(nn, sk->pk.n, aux->mod.n, bc)) {
        err = kg_err_set(KG_ERR_NOMEM, "Πfac: out of memory");
        goto out;
    }
    if ((err = kg_mpc_bn_rand_pm(k->alpha, le, sq)) || (err = kg_mpc_bn_rand_pm(k->beta, le, sq)) ||
        (err = kg_mpc_bn_rand_pm(k->mu, KG_CGGMP_ELL, aux->mod.n)) ||
        (err = kg_mpc_bn_rand_pm(k->nu, KG_CGGMP_ELL, aux->mod.n)) ||
        (err = kg_mpc_bn_rand_pm(pf->sigma, KG_CGGMP_ELL, nn)) || (err = kg_mpc_bn_rand_pm(k->r, le, nn)) ||
        (err = kg_mpc_bn_rand_pm(k->x, le, aux->mod.n)) || (err = kg_mpc_bn_rand_pm(k->y, le, aux->mod.n)))
        goto out;
    if ((err = kg_mpc_rped_commit(aux, pf->P, sk->p, k->mu)) || (err = kg_mpc_rped_commit(aux, pf->Q, sk->q, k->nu)) ||
        (err = kg_mpc_rped_commit(aux, pf->A, k->alpha, k->x)) ||
        (err = kg_mpc_rped_commit(aux, pf->B, k->beta, k->y)) ||
        (err = kg_mpc_bn_exp2(pf->T, pf->Q, k->alpha, aux->t, k->r, &aux->mod, true)))
        goto out;
    /* σ̂ = σ − ν·p */
    if (!BN_mul(k->sig_hat, k->nu, sk->p, bc) || !BN_sub(k->sig_hat, pf->sigma, k->sig_hat))
        err = kg_err_set(KG_ERR_NOMEM, "Πfac: out of memory");
out:
    BN_CTX_end(bc);
    return err;
}

kg_err kg_mpc_zk_fac_prove(kg_mpc_zk_fac *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_rped *aux,
                           const kg_mpc_paillier_sk *sk)
{
    memset(pf, 0, sizeof *pf);
    const BIGNUM *q = kg_mpc_group_order(ctx->group);
    if (!q) return kg_err_set(KG_ERR_BAD_INPUT, "Πfac: not a CGGMP21 group");
    if (!sk->pk.n || !sk->p || !sk->q || !aux->mod.n || !aux->s || !aux->t)
        return kg_err_set(KG_ERR_BAD_INPUT, "Πfac: party %u's key or the aux is incomplete", ctx->prover);
    BN_CTX *bc = kg_mpc_bn_ctx();
    fac_masks k;
    memset(&k, 0, sizeof k);
    BIGNUM *e = BN_new();
    kg_err err = KG_OK;
    BIGNUM **sec[] = {&k.alpha, &k.beta, &k.mu, &k.nu, &k.r, &k.x, &k.y, &k.sig_hat};
    BIGNUM **pub[] = {&pf->P, &pf->Q, &pf->A, &pf->B, &pf->T, &pf->sigma, &pf->z1, &pf->z2, &pf->w1, &pf->w2, &pf->v};
    bool ok = e != NULL;
    for (size_t i = 0; ok && i < sizeof sec / sizeof sec[0]; i++) ok = (*sec[i] = kg_mpc_bn_secret_new()) != NULL;
    for (size_t i = 0; ok && i < sizeof pub / sizeof pub[0]; i++) ok = (*pub[i] = BN_new()) != NULL;
    if (!ok) { err = kg_err_set(KG_ERR_NOMEM, "Πfac: out of memory"); goto out; }
    if ((err = fac_commit(pf, &k, aux, sk, bc))) goto out;
    if ((err = fac_challenge(e, pf, ctx, aux, sk->pk.n, q))) goto out;
    if (!fac_affine(pf->z1, k.alpha, e, sk->p, bc) || !fac_affine(pf->z2, k.beta, e, sk->q, bc) ||
        !fac_affine(pf->w1, k.x, e, k.mu, bc) || !fac_affine(pf->w2, k.y, e, k.nu, bc) ||
        !fac_affine(pf->v, k.r, e, k.sig_hat, bc))
        err = kg_err_set(KG_ERR_NOMEM, "Πfac: out of memory");
out:
    fac_masks_clear(&k);
    BN_free(e);
    if (err) kg_mpc_zk_fac_clear(pf);
    return err;
}

/* *ok = (b1^x1 · b2^x2 == C · D^e mod N̂), all public. */
static kg_err fac_eq(bool *ok, const kg_mpc_rped *aux, const BIGNUM *b1, const BIGNUM *x1, const BIGNUM *b2,
                     const BIGNUM *x2, const BIGNUM *C, const BIGNUM *D, const BIGNUM *e)
{
    BN_CTX *bc = kg_mpc_bn_ctx();
    BN_CTX_start(bc);
    BIGNUM *l = BN_CTX_get(bc), *r = BN_CTX_get(bc);
    kg_err err = r ? KG_OK : kg_err_set(KG_ERR_NOMEM, "Πfac: out of memory");
    if (!err) err = kg_mpc_bn_exp2(l, b1, x1, b2, x2, &aux->mod, false);
    if (!err) err = kg_mpc_bn_exp(r, D, e, &aux->mod);
    if (!err && !BN_mod_mul(r, r, C, aux->mod.n, bc)) err = kg_err_set(KG_ERR_NOMEM, "Πfac: out of memory");
    if (!err) *ok = BN_cmp(l, r) == 0;
    BN_CTX_end(bc);
    return err;
}

static kg_err fac_check_shape(const kg_mpc_zk_fac *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_rped *aux,
                              const BIGNUM *n0)
{
    int bits = BN_num_bits(n0);
    if (BN_is_negative(n0) || !BN_is_odd(n0) || bits < (int)KG_CGGMP_N_BITS_MIN || bits > (int)KG_CGGMP_N_BITS_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "Πfac: party %u's N0 is even or of a bad size", ctx->prover);
    if (!aux->mod.n || !aux->s || !aux->t) return kg_err_set(KG_ERR_BAD_INPUT, "Πfac: the aux is incomplete");
    const BIGNUM *units[] = {pf->P, pf->Q, pf->A, pf->B, pf->T};
    const BIGNUM *ints[] = {pf->sigma, pf->z1, pf->z2, pf->w1, pf->w2, pf->v};
    for (size_t i = 0; i < 5; i++) {
        if (!units[i]) return kg_err_set(KG_ERR_BAD_INPUT, "Πfac: proof of party %u is incomplete", ctx->prover);
        if (!kg_mpc_bn_is_unit(units[i], aux->mod.n))
            return kg_err_set(KG_ERR_BAD_INPUT, "Πfac: P/Q/A/B/T of party %u not a unit mod N̂", ctx->prover);
    }
    /* No size rule in the paper for these; the cap (the wire limit) keeps
     * the verifier's exponentiations bounded. */
    for (size_t i = 0; i < 6; i++) {
        if (!ints[i]) return kg_err_set(KG_ERR_BAD_INPUT, "Πfac: proof of party %u is incomplete", ctx->prover);
        if (BN_num_bytes(ints[i]) >= (int)KG_CGGMP_BN_MAX_BYTES)
            return kg_err_set(KG_ERR_BAD_INPUT, "Πfac: a response of party %u is too large", ctx->prover);
    }
    return KG_OK;
}

kg_err kg_mpc_zk_fac_verify(const kg_mpc_zk_fac *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_rped *aux,
                            const BIGNUM *n0)
{
    const BIGNUM *q = kg_mpc_group_order(ctx->group);
    if (!q) return kg_err_set(KG_ERR_BAD_INPUT, "Πfac: not a CGGMP21 group");
    kg_err err = fac_check_shape(pf, ctx, aux, n0);
    if (err) return err;
    BN_CTX *bc = kg_mpc_bn_ctx();
    BN_CTX_start(bc);
    BIGNUM *sq = BN_CTX_get(bc), *e = BN_CTX_get(bc), *R = BN_CTX_get(bc);
    if (!R || !fac_sqrt_bound(sq, n0, bc)) { err = kg_err_set(KG_ERR_NOMEM, "Πfac: out of memory"); goto out; }
    const unsigned le = KG_CGGMP_ELL + KG_CGGMP_EPS;
    if (!kg_mpc_bn_in_pm(pf->z1, le, sq) || !kg_mpc_bn_in_pm(pf->z2, le, sq)) {
        err = kg_err_set(KG_ERR_VERIFY, "Πfac: z1/z2 of party %u out of range", ctx->prover);
        goto out;
    }
    if ((err = fac_challenge(e, pf, ctx, aux, n0, q))) goto out;
    if ((err = kg_mpc_bn_exp2(R, aux->s, n0, aux->t, pf->sigma, &aux->mod, false))) goto out;
    bool ok1 = false, ok2 = false, ok3 = false;
    if ((err = fac_eq(&ok1, aux, aux->s, pf->z1, aux->t, pf->w1, pf->A, pf->P, e)) ||
        (err = fac_eq(&ok2, aux, aux->s, pf->z2, aux->t, pf->w2, pf->B, pf->Q, e)) ||
        (err = fac_eq(&ok3, aux, pf->Q, pf->z1, aux->t, pf->v, pf->T, R, e)))
        goto out;
    if (!ok1 || !ok2 || !ok3)
        err = kg_err_set(KG_ERR_VERIFY, "Πfac: equation %d of party %u does not hold", !ok1 ? 1 : !ok2 ? 2 : 3,
                         ctx->prover);
out:
    BN_CTX_end(bc);
    return err;
}

void kg_mpc_zk_fac_write(kg_mpc_node_wr *w, const kg_mpc_zk_fac *pf)
{
    const BIGNUM *f[] = {pf->P, pf->Q, pf->A, pf->B, pf->T, pf->sigma, pf->z1, pf->z2, pf->w1, pf->w2, pf->v};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) kg_mpc_bn_write(w, f[i]);
}

kg_err kg_mpc_zk_fac_read(kg_mpc_node_rd *r, kg_mpc_zk_fac *pf)
{
    memset(pf, 0, sizeof *pf);
    BIGNUM **f[] = {&pf->P, &pf->Q, &pf->A, &pf->B, &pf->T, &pf->sigma, &pf->z1, &pf->z2, &pf->w1, &pf->w2, &pf->v};
    static const char *const names[] = {"Πfac P", "Πfac Q", "Πfac A", "Πfac B", "Πfac T", "Πfac sigma",
                                        "Πfac z1", "Πfac z2", "Πfac w1", "Πfac w2", "Πfac v"};
    kg_err err = KG_OK;
    for (size_t i = 0; i < sizeof f / sizeof f[0] && !err; i++)
        err = kg_mpc_bn_read(r, f[i], i < 5 ? FAC_MOD_BYTES : KG_CGGMP_BN_MAX_BYTES, names[i]);
    if (err) kg_mpc_zk_fac_clear(pf);
    return err;
}
