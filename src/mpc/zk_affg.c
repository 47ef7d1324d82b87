/* Πaff-g, the "Paillier affine operation with group commitment in range"
 * proof of CGGMP21 (eprint 2021/060, Appendix, Fig. 15): presigning round
 * 2, where party i answers j's encrypted nonce K_j with
 * D = K_j^γ_i · enc_j(β; s) under j's key N0 and commits to β with
 * F = enc_i(β; r) under its own key N1, and to x = γ_i with X = γ_i·G
 * (or x = x_i, X = X_i for the χ shares). In the contract's names:
 *   D = C^x · (1+N0)^y · ρ^N0 mod N0^2, Y = enc_N1(y; ρy), X = x·G,
 *   x in ±2^ℓ, y in ±2^ℓ'.
 *
 *   prover: α ← ±2^(ℓ+ε), β ← ±2^(ℓ'+ε), r ← Z*_N0, ry ← Z*_N1,
 *           γ, δ ← ±2^(ℓ+ε)·N̂, m, μ ← ±2^ℓ·N̂
 *           A = C^α (1+N0)^β r^N0 mod N0^2, Bx = α·G,
 *           By = (1+N1)^β ry^N1 mod N1^2,
 *           E = s^α t^γ, S = s^x t^m, F = s^β t^δ, T = s^y t^μ (mod N̂)
 *   e ← ±q (Fiat-Shamir)
 *           z1 = α + e·x, z2 = β + e·y, z3 = γ + e·m, z4 = δ + e·μ,
 *           w = r·ρ^e mod N0, wy = ry·ρy^e mod N1
 *   verify: z1 ∈ ±2^(ℓ+ε), z2 ∈ ±2^(ℓ'+ε),
 *           C^z1 (1+N0)^z2 w^N0 = A·D^e mod N0^2, z1·G = Bx + e·X,
 *           (1+N1)^z2 wy^N1 = By·Y^e mod N1^2,
 *           s^z1 t^z3 = E·S^e, s^z2 t^z4 = F·T^e mod N̂
 *
 * Transcript (domain "kashguard/cggmp21/affg/v1", after the context):
 * Nhat, s, t, N0, N1, C, D, Y, X, A, Bx, By, E, F, S, T; then e. */
#include <string.h>

#include "zk_range_int.h"

#define AFFG_DOMAIN "kashguard/cggmp21/affg/v1"
#define AFFG_NBN 12

/* The proof's integers in struct (= wire) order. */
static BIGNUM **affg_fields(kg_mpc_zk_affg *pf, size_t i)
{
    BIGNUM **f[AFFG_NBN] = {&pf->A,  &pf->By, &pf->E,  &pf->F,  &pf->S, &pf->T,
                            &pf->z1, &pf->z2, &pf->z3, &pf->z4, &pf->w, &pf->wy};
    return f[i];
}
static const char *const affg_names[AFFG_NBN] = {"Πaff-g A",  "Πaff-g By", "Πaff-g E",  "Πaff-g F",
                                                  "Πaff-g S",  "Πaff-g T",  "Πaff-g z1", "Πaff-g z2",
                                                  "Πaff-g z3", "Πaff-g z4", "Πaff-g w",  "Πaff-g wy"};

typedef struct {
    const kg_mpc_rped *aux;
    const kg_mpc_paillier_pk *n0, *n1;
    const BIGNUM *C, *D, *Y;
    const kg_mpc_point *X;
} affg_stmt;

static kg_err affg_challenge(BIGNUM *e, const kg_mpc_zk_affg *pf, const kg_mpc_zk_ctx *ctx, const affg_stmt *st,
                             const BIGNUM *q)
{
    kg_mpc_group_id g = ctx->group;
    kg_mpc_fs fs;
    kg_err err = kg_mpc_fs_init(&fs, AFFG_DOMAIN, ctx);
    if (err) return err;
    kg_mpc_zk_fs_aux(&fs, st->aux);
    kg_mpc_fs_bn(&fs, "N0", st->n0->n);
    kg_mpc_fs_bn(&fs, "N1", st->n1->n);
    kg_mpc_fs_bn(&fs, "C", st->C);
    kg_mpc_fs_bn(&fs, "D", st->D);
    kg_mpc_fs_bn(&fs, "Y", st->Y);
    kg_mpc_fs_point(&fs, "X", g, st->X);
    kg_mpc_fs_bn(&fs, "A", pf->A);
    kg_mpc_fs_point(&fs, "Bx", g, &pf->Bx);
    kg_mpc_fs_bn(&fs, "By", pf->By);
    kg_mpc_fs_bn(&fs, "E", pf->E);
    kg_mpc_fs_bn(&fs, "F", pf->F);
    kg_mpc_fs_bn(&fs, "S", pf->S);
    kg_mpc_fs_bn(&fs, "T", pf->T);
    err = kg_mpc_fs_challenge_pm(&fs, e, q);
    kg_mpc_fs_free(&fs);
    return err;
}

/* The masks of the first message, secret throughout. */
enum { M_ALPHA, M_BETA, M_R, M_RY, M_GAMMA, M_M, M_DELTA, M_MU, M_COUNT };
_Static_assert(M_COUNT == KG_MPC_ZK_AFFG_MASKS, "kg_mpc_zk_affg_pre holds every mask");

static kg_err affg_masks(BIGNUM *mk[M_COUNT], const affg_stmt *st)
{
    const BIGNUM *nh = st->aux->mod.n;
    kg_err err = KG_OK;
    if ((err = kg_mpc_bn_rand_pm(mk[M_ALPHA], KG_CGGMP_ELL + KG_CGGMP_EPS, NULL)) ||
        (err = kg_mpc_bn_rand_pm(mk[M_BETA], KG_CGGMP_ELL_PRIME + KG_CGGMP_EPS, NULL)) ||
        (err = kg_mpc_bn_rand_unit(mk[M_R], st->n0->n)) || (err = kg_mpc_bn_rand_unit(mk[M_RY], st->n1->n)) ||
        (err = kg_mpc_bn_rand_pm(mk[M_GAMMA], KG_CGGMP_ELL + KG_CGGMP_EPS, nh)) ||
        (err = kg_mpc_bn_rand_pm(mk[M_M], KG_CGGMP_ELL, nh)) ||
        (err = kg_mpc_bn_rand_pm(mk[M_DELTA], KG_CGGMP_ELL + KG_CGGMP_EPS, nh)) ||
        (err = kg_mpc_bn_rand_pm(mk[M_MU], KG_CGGMP_ELL, nh)))
        return err;
    return KG_OK;
}

/* The message-independent part of the first message: A0 = (1+N0)^β·r^N0
 * (A = C^α·A0 once C is known), Bx, By, E, S, F, T. */
static kg_err affg_commit_pre(kg_mpc_zk_affg_pre *pre, kg_mpc_group_id g, const affg_stmt *st, const BIGNUM *x,
                              const BIGNUM *y)
{
    BIGNUM *const *mk = pre->mask;
    BN_CTX *bc = kg_mpc_bn_ctx();
    BN_CTX_start(bc);
    BIGNUM *t = BN_CTX_get(bc);
    kg_err err = t ? KG_OK : kg_err_set(KG_ERR_NOMEM, "Πaff-g: out of memory");
    if (t) BN_set_flags(t, BN_FLG_CONSTTIME);
    /* r is secret: the constant-time exponentiation for Paillier's r^N. */
    if (!err) err = kg_mpc_bn_exp_ct(pre->A0, mk[M_R], st->n0->n, &st->n0->mod_nn);
    if (!err) err = kg_mpc_zk_one_plus_n(t, mk[M_BETA], st->n0);
    if (!err && !BN_mod_mul(pre->A0, pre->A0, t, st->n0->nn, bc)) err = kg_err_set(KG_ERR_NOMEM, "Πaff-g: out of memory");
    if (t) BN_clear(t);
    BN_CTX_end(bc);
    if (!err) err = kg_mpc_point_mul_bn(g, &pre->Bx, mk[M_ALPHA], NULL);
    if (!err) err = kg_mpc_paillier_enc_with(st->n1, pre->By, mk[M_BETA], mk[M_RY]);
    if (!err) err = kg_mpc_rped_commit(st->aux, pre->E, mk[M_ALPHA], mk[M_GAMMA]);
    if (!err) err = kg_mpc_rped_commit(st->aux, pre->S, x, mk[M_M]);
    if (!err) err = kg_mpc_rped_commit(st->aux, pre->F, mk[M_BETA], mk[M_DELTA]);
    if (!err) err = kg_mpc_rped_commit(st->aux, pre->T, y, mk[M_MU]);
    return err;
}

static bool affg_in_range(const BIGNUM *x, const BIGNUM *y)
{
    return kg_mpc_bn_in_pm(x, KG_CGGMP_ELL, NULL) && kg_mpc_bn_in_pm(y, KG_CGGMP_ELL_PRIME, NULL);
}

kg_err kg_mpc_zk_affg_precommit(kg_mpc_zk_affg_pre *pre, kg_mpc_group_id g, const kg_mpc_rped *aux,
                                const kg_mpc_paillier_pk *n0, const kg_mpc_paillier_pk *n1, const BIGNUM *x,
                                const BIGNUM *y)
{
    const affg_stmt st = {aux, n0, n1, NULL, NULL, NULL, NULL};
    memset(pre, 0, sizeof *pre);
    if (!affg_in_range(x, y))
        return kg_err_set(KG_ERR_BAD_INPUT, "Πaff-g: witness out of range (x in ±2^ℓ, y in ±2^ℓ')");
    bool ok = true;
    for (size_t i = 0; i < M_COUNT; i++) ok = (pre->mask[i] = kg_mpc_bn_secret_new()) != NULL && ok;
    BIGNUM **f[] = {&pre->A0, &pre->By, &pre->E, &pre->F, &pre->S, &pre->T};
    for (size_t i = 0; i < sizeof f / sizeof *f; i++) ok = (*f[i] = BN_new()) != NULL && ok;
    ok = (pre->nh = BN_dup(aux->mod.n)) && (pre->n0 = BN_dup(n0->n)) && (pre->n1 = BN_dup(n1->n)) && ok;
    kg_err err = ok ? KG_OK : kg_err_set(KG_ERR_NOMEM, "Πaff-g: out of memory");
    if (!err) err = affg_masks(pre->mask, &st);
    if (!err) err = affg_commit_pre(pre, g, &st, x, y);
    if (err) kg_mpc_zk_affg_pre_clear(pre);
    return err;
}

void kg_mpc_zk_affg_pre_clear(kg_mpc_zk_affg_pre *pre)
{
    for (size_t i = 0; i < M_COUNT; i++) kg_mpc_bn_free(pre->mask[i]);
    BN_free(pre->A0), BN_free(pre->By), BN_free(pre->E), BN_free(pre->F), BN_free(pre->S), BN_free(pre->T);
    BN_free(pre->nh), BN_free(pre->n0), BN_free(pre->n1);
    kg_wipe(pre, sizeof *pre);
}

/* The precommitment is usable for this statement's parameters. */
static kg_err affg_pre_check(const kg_mpc_zk_affg_pre *pre, const kg_mpc_zk_ctx *ctx, const affg_stmt *st,
                             const BIGNUM *x, const BIGNUM *y)
{
    unsigned who = ctx->prover;
    if (!pre->A0) return kg_err_set(KG_ERR_BAD_INPUT, "Πaff-g: precomputation missing or already used (party %u)", who);
    if (BN_cmp(pre->nh, st->aux->mod.n) || BN_cmp(pre->n0, st->n0->n) || BN_cmp(pre->n1, st->n1->n))
        return kg_err_set(KG_ERR_BAD_INPUT, "Πaff-g: precomputation made for other parameters (party %u)", who);
    if (!affg_in_range(x, y))
        return kg_err_set(KG_ERR_BAD_INPUT, "Πaff-g: witness out of range (x in ±2^ℓ, y in ±2^ℓ') (party %u)", who);
    return KG_OK;
}

/* A = C^α·A0 (α secret), then the rest of the first message moves in. */
static kg_err affg_finish_commit(kg_mpc_zk_affg *pf, kg_mpc_zk_affg_pre *pre, const affg_stmt *st)
{
    BN_CTX *bc = kg_mpc_bn_ctx();
    kg_err err = kg_mpc_bn_exp_secret(pf->A, st->C, pre->mask[M_ALPHA], &st->n0->mod_nn);
    if (!err && !BN_mod_mul(pf->A, pf->A, pre->A0, st->n0->nn, bc)) err = kg_err_set(KG_ERR_NOMEM, "Πaff-g: out of memory");
    if (err) return err;
    pf->Bx = pre->Bx;
    BN_free(pf->By), BN_free(pf->E), BN_free(pf->F), BN_free(pf->S), BN_free(pf->T);
    pf->By = pre->By, pf->E = pre->E, pf->F = pre->F, pf->S = pre->S, pf->T = pre->T;
    pre->By = pre->E = pre->F = pre->S = pre->T = NULL;
    return KG_OK;
}

kg_err kg_mpc_zk_affg_prove_pre(kg_mpc_zk_affg *pf, kg_mpc_zk_affg_pre *pre, const kg_mpc_zk_ctx *ctx,
                                const kg_mpc_rped *aux, const kg_mpc_paillier_pk *n0, const kg_mpc_paillier_pk *n1,
                                const BIGNUM *C, const BIGNUM *D, const BIGNUM *Y, const kg_mpc_point *X,
                                const BIGNUM *x, const BIGNUM *y, const BIGNUM *rho, const BIGNUM *rho_y)
{
    const BIGNUM *q = NULL;
    const affg_stmt st = {aux, n0, n1, C, D, Y, X};
    BIGNUM *const *mk = pre->mask;
    memset(pf, 0, sizeof *pf);
    BIGNUM *e = NULL;
    kg_err err = kg_mpc_zk_order(ctx->group, &q, "Πaff-g");
    if (!err) err = affg_pre_check(pre, ctx, &st, x, y);
    if (err) goto out;
    bool ok = (e = BN_new()) != NULL;
    for (size_t i = 0; i < AFFG_NBN; i++) ok = (*affg_fields(pf, i) = BN_new()) != NULL && ok;
    if (!ok) {
        err = kg_err_set(KG_ERR_NOMEM, "Πaff-g: out of memory");
        goto out;
    }
    if ((err = affg_finish_commit(pf, pre, &st))) goto out;
    if ((err = affg_challenge(e, pf, ctx, &st, q))) goto out;
    if ((err = kg_mpc_zk_affine(pf->z1, mk[M_ALPHA], e, x)) || (err = kg_mpc_zk_affine(pf->z2, mk[M_BETA], e, y)) ||
        (err = kg_mpc_zk_affine(pf->z3, mk[M_GAMMA], e, mk[M_M])) ||
        (err = kg_mpc_zk_affine(pf->z4, mk[M_DELTA], e, mk[M_MU])) ||
        (err = kg_mpc_zk_nonce_resp(pf->w, mk[M_R], rho, e, &n0->mod_n)) ||
        (err = kg_mpc_zk_nonce_resp(pf->wy, mk[M_RY], rho_y, e, &n1->mod_n)))
        goto out;
out:
    kg_mpc_zk_affg_pre_clear(pre); /* single use, whatever happened */
    BN_free(e);
    if (err) kg_mpc_zk_affg_clear(pf);
    return err;
}

kg_err kg_mpc_zk_affg_prove(kg_mpc_zk_affg *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_rped *aux,
                            const kg_mpc_paillier_pk *n0, const kg_mpc_paillier_pk *n1, const BIGNUM *C,
                            const BIGNUM *D, const BIGNUM *Y, const kg_mpc_point *X, const BIGNUM *x,
                            const BIGNUM *y, const BIGNUM *rho, const BIGNUM *rho_y)
{
    const BIGNUM *q = NULL;
    kg_mpc_zk_affg_pre pre;
    memset(pf, 0, sizeof *pf);
    kg_err err = kg_mpc_zk_order(ctx->group, &q, "Πaff-g");
    if (err) return err;
    if (!affg_in_range(x, y))
        return kg_err_set(KG_ERR_BAD_INPUT, "Πaff-g: witness out of range (x in ±2^ℓ, y in ±2^ℓ') (party %u)",
                          (unsigned)ctx->prover);
    if ((err = kg_mpc_zk_affg_precommit(&pre, ctx->group, aux, n0, n1, x, y))) return err;
    return kg_mpc_zk_affg_prove_pre(pf, &pre, ctx, aux, n0, n1, C, D, Y, X, x, y, rho, rho_y);
}

/* Ranges, then every received value a unit of its modulus. */
static kg_err affg_check_values(const kg_mpc_zk_affg *pf, const kg_mpc_zk_ctx *ctx, const affg_stmt *st)
{
    unsigned who = ctx->prover;
    const char *P = "Πaff-g";
    const BIGNUM *nh = st->aux->mod.n;
    for (size_t i = 0; i < AFFG_NBN; i++)
        if (!*affg_fields((kg_mpc_zk_affg *)pf, i))
            return kg_err_set(KG_ERR_BAD_INPUT, "Πaff-g: incomplete proof (party %u)", who);
    if (!kg_mpc_bn_in_pm(pf->z1, KG_CGGMP_ELL + KG_CGGMP_EPS, NULL))
        return kg_err_set(KG_ERR_VERIFY, "Πaff-g: z1 out of range (party %u)", who);
    if (!kg_mpc_bn_in_pm(pf->z2, KG_CGGMP_ELL_PRIME + KG_CGGMP_EPS, NULL))
        return kg_err_set(KG_ERR_VERIFY, "Πaff-g: z2 out of range (party %u)", who);
    kg_err err = KG_OK;
    if ((err = kg_mpc_paillier_ct_check(st->n0, st->C, "Πaff-g: C")) ||
        (err = kg_mpc_paillier_ct_check(st->n0, st->D, "Πaff-g: D")) ||
        (err = kg_mpc_paillier_ct_check(st->n1, st->Y, "Πaff-g: Y")) ||
        (err = kg_mpc_paillier_ct_check(st->n0, pf->A, "Πaff-g: A")) ||
        (err = kg_mpc_paillier_ct_check(st->n1, pf->By, "Πaff-g: By")) ||
        (err = kg_mpc_zk_need_unit(pf->E, nh, P, "E", ctx->prover)) ||
        (err = kg_mpc_zk_need_unit(pf->F, nh, P, "F", ctx->prover)) ||
        (err = kg_mpc_zk_need_unit(pf->S, nh, P, "S", ctx->prover)) ||
        (err = kg_mpc_zk_need_unit(pf->T, nh, P, "T", ctx->prover)) ||
        (err = kg_mpc_zk_need_unit(pf->w, st->n0->n, P, "w", ctx->prover)) ||
        (err = kg_mpc_zk_need_unit(pf->wy, st->n1->n, P, "wy", ctx->prover)))
        return err;
    if (kg_mpc_point_is_identity(ctx->group, &pf->Bx))
        return kg_err_set(KG_ERR_BAD_INPUT, "Πaff-g: Bx is the identity (party %u)", who);
    return KG_OK;
}

kg_err kg_mpc_zk_affg_verify(const kg_mpc_zk_affg *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_rped *aux,
                             const kg_mpc_paillier_pk *n0, const kg_mpc_paillier_pk *n1, const BIGNUM *C,
                             const BIGNUM *D, const BIGNUM *Y, const kg_mpc_point *X)
{
    const BIGNUM *q = NULL;
    const affg_stmt st = {aux, n0, n1, C, D, Y, X};
    unsigned who = ctx->prover;
    kg_err err = kg_mpc_zk_order(ctx->group, &q, "Πaff-g");
    if (!err) err = affg_check_values(pf, ctx, &st);
    if (err) return err;
    BIGNUM *e = BN_new();
    if (!e) return kg_err_set(KG_ERR_NOMEM, "Πaff-g: out of memory");
    bool ok = false;
    /* Cheapest equations first: a forged proof is refused early. */
    err = affg_challenge(e, pf, ctx, &st, q);
    if (!err) err = kg_mpc_zk_point_eq(&ok, ctx->group, pf->z1, NULL, &pf->Bx, e, X);
    if (!err && !ok) err = kg_err_set(KG_ERR_VERIFY, "Πaff-g: group equation failed (party %u)", who);
    if (!err) err = kg_mpc_zk_rped_eq(&ok, aux, pf->z1, pf->z3, pf->E, pf->S, e);
    if (!err && !ok) err = kg_err_set(KG_ERR_VERIFY, "Πaff-g: ring-Pedersen equation for x failed (party %u)", who);
    if (!err) err = kg_mpc_zk_rped_eq(&ok, aux, pf->z2, pf->z4, pf->F, pf->T, e);
    if (!err && !ok) err = kg_err_set(KG_ERR_VERIFY, "Πaff-g: ring-Pedersen equation for y failed (party %u)", who);
    if (!err) err = kg_mpc_zk_paillier_eq(&ok, n1, NULL, NULL, pf->z2, pf->wy, pf->By, Y, e);
    if (!err && !ok) err = kg_err_set(KG_ERR_VERIFY, "Πaff-g: Paillier equation for Y failed (party %u)", who);
    if (!err) err = kg_mpc_zk_paillier_eq(&ok, n0, C, pf->z1, pf->z2, pf->w, pf->A, D, e);
    if (!err && !ok) err = kg_err_set(KG_ERR_VERIFY, "Πaff-g: Paillier equation for D failed (party %u)", who);
    BN_free(e);
    return err;
}

void kg_mpc_zk_affg_write(kg_mpc_node_wr *w, kg_mpc_group_id g, const kg_mpc_zk_affg *pf)
{
    for (size_t i = 0; i < AFFG_NBN; i++) kg_mpc_bn_write(w, *affg_fields((kg_mpc_zk_affg *)pf, i));
    kg_mpc_point_write(w, g, &pf->Bx);
}

kg_err kg_mpc_zk_affg_read(kg_mpc_node_rd *r, kg_mpc_group_id g, kg_mpc_zk_affg *pf)
{
    memset(pf, 0, sizeof *pf);
    kg_err err = KG_OK;
    for (size_t i = 0; i < AFFG_NBN && !err; i++)
        err = kg_mpc_bn_read(r, affg_fields(pf, i), KG_CGGMP_BN_MAX_BYTES, affg_names[i]);
    if (!err) err = kg_mpc_point_read(r, g, &pf->Bx, "Πaff-g Bx");
    if (err) kg_mpc_zk_affg_clear(pf);
    return err;
}

void kg_mpc_zk_affg_clear(kg_mpc_zk_affg *pf)
{
    for (size_t i = 0; i < AFFG_NBN; i++) BN_free(*affg_fields(pf, i));
    memset(pf, 0, sizeof *pf);
}
