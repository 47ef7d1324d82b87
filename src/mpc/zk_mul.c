/* Πmul: Paillier multiplication (CGGMP21, eprint 2021/060, Fig. 29).
 *
 * Used by the identification of the presigning phase (§4): a party shows
 * that C = Y^x · ρ^N (mod N^2) multiplies the ciphertext Y by the
 * plaintext x of its own ciphertext X = enc_N(x; ρx), all under its own
 * Paillier key N. No ring-Pedersen parameters: every check is over the
 * Paillier group itself.
 *   prover: α <- Z_N, r, s <- Z*_N; A = Y^α · r^N (mod N^2),
 *     B = enc_N(α; s);
 *   e <- ±q;
 *   z = α + e·x (over the integers), u = r·ρ^e, v = s·ρx^e (mod N);
 *   verifier: Y^z · u^N = A·C^e and enc_N(z; v) = B·X^e (mod N^2).
 * z stays an integer because the order of Y in Z*_N^2 is unknown (it may
 * be a multiple of N); enc is periodic in N, so the second check reduces
 * z into (−N/2, N/2] first.
 *
 * Hiding: α <- Z_N masks e·x with statistical distance about |e·x|/N, so
 * this is zero-knowledge for the small x of the protocol (x = γ_i or k_i,
 * |x| <= 2^ℓ: distance <= 2^(2ℓ)/N, below 2^-1500 for 2048-bit N). The
 * verifier bounds |z| by 2^(ℓ+1)·N, above any honest z for |x| < N/2, to
 * keep its exponentiations bounded.
 *
 * Transcript ("kashguard/cggmp21/mul/v1", after the context): "N", "X",
 * "Y", "C", "A", "B"; then e with kg_mpc_fs_challenge_pm(q). */
#include "cggmp_zk.h"

#include <string.h>

#define MUL_DOMAIN "kashguard/cggmp21/mul/v1"
#define MUL_MOD_BYTES (1u + KG_CGGMP_N_BITS_MAX / 8u)
#define MUL_MOD2_BYTES (1u + 2u * KG_CGGMP_N_BITS_MAX / 8u)

void kg_mpc_zk_mul_clear(kg_mpc_zk_mul *pf)
{
    BIGNUM **f[] = {&pf->A, &pf->B, &pf->z, &pf->u, &pf->v};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) kg_mpc_bn_free(*f[i]);
    memset(pf, 0, sizeof *pf);
}

/* r = a mod n as the signed representative in (−n/2, n/2] (n odd). */
static bool mul_signed_mod(BIGNUM *r, const BIGNUM *a, const BIGNUM *n, BN_CTX *bc)
{
    BN_CTX_start(bc);
    BIGNUM *h = BN_CTX_get(bc);
    bool ok = h && BN_nnmod(r, a, n, bc) && BN_lshift1(h, r);
    if (ok && BN_cmp(h, n) > 0) ok = BN_sub(r, r, n);
    if (h) BN_clear(h);
    BN_CTX_end(bc);
    return ok;
}

static kg_err mul_challenge(BIGNUM *e, const kg_mpc_zk_mul *pf, const kg_mpc_zk_ctx *ctx,
                            const kg_mpc_paillier_pk *n, const BIGNUM *X, const BIGNUM *Y, const BIGNUM *C,
                            const BIGNUM *q)
{
    kg_mpc_fs fs;
    kg_err err = kg_mpc_fs_init(&fs, MUL_DOMAIN, ctx);
    if (err) return err;
    kg_mpc_fs_bn(&fs, "N", n->n);
    kg_mpc_fs_bn(&fs, "X", X);
    kg_mpc_fs_bn(&fs, "Y", Y);
    kg_mpc_fs_bn(&fs, "C", C);
    kg_mpc_fs_bn(&fs, "A", pf->A);
    kg_mpc_fs_bn(&fs, "B", pf->B);
    err = kg_mpc_fs_challenge_pm(&fs, e, q);
    kg_mpc_fs_free(&fs);
    return err;
}

/* out = a · b^e mod n (b secret, e public of any sign). */
static kg_err mul_nonce(BIGNUM *out, const BIGNUM *a, const BIGNUM *b, const BIGNUM *e,
                        const kg_mpc_paillier_pk *n, BN_CTX *bc)
{
    BN_CTX_start(bc);
    BIGNUM *t = BN_CTX_get(bc);
    kg_err err = t ? KG_OK : kg_err_set(KG_ERR_NOMEM, "Πmul: out of memory");
    if (!err) {
        BN_set_flags(t, BN_FLG_CONSTTIME);
        err = kg_mpc_bn_exp_secret(t, b, e, &n->mod_n);
    }
    if (!err && !BN_mod_mul(out, a, t, n->n, bc)) err = kg_err_set(KG_ERR_NOMEM, "Πmul: out of memory");
    if (t) BN_clear(t);
    BN_CTX_end(bc);
    return err;
}

/* A = Y^α · r^N mod N^2, B = enc(α; s). */
static kg_err mul_commit(kg_mpc_zk_mul *pf, BIGNUM *alpha, BIGNUM *r, BIGNUM *s, BIGNUM *tmp,
                         const kg_mpc_paillier_pk *n, const BIGNUM *Y, BN_CTX *bc)
{
    kg_err err;
    if (!BN_priv_rand_range(alpha, n->n)) return kg_err_set(KG_ERR_CRYPTO, "Πmul: RNG failed");
    if ((err = kg_mpc_bn_rand_unit(r, n->n)) || (err = kg_mpc_bn_rand_unit(s, n->n))) return err;
    if ((err = kg_mpc_bn_exp_secret(pf->A, Y, alpha, &n->mod_nn)) || (err = kg_mpc_bn_exp_secret(tmp, r, n->n, &n->mod_nn)))
        return err;
    if (!BN_mod_mul(pf->A, pf->A, tmp, n->nn, bc) || !mul_signed_mod(tmp, alpha, n->n, bc))
        return kg_err_set(KG_ERR_NOMEM, "Πmul: out of memory");
    return kg_mpc_paillier_enc_with(n, pf->B, tmp, s);
}

kg_err kg_mpc_zk_mul_prove(kg_mpc_zk_mul *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_paillier_pk *n,
                           const BIGNUM *X, const BIGNUM *Y, const BIGNUM *C,
                           const BIGNUM *x, const BIGNUM *rho, const BIGNUM *rho_x)
{
    memset(pf, 0, sizeof *pf);
    const BIGNUM *q = kg_mpc_group_order(ctx->group);
    if (!q) return kg_err_set(KG_ERR_BAD_INPUT, "Πmul: not a CGGMP21 group");
    if (!n->n) return kg_err_set(KG_ERR_BAD_INPUT, "Πmul: party %u's key is incomplete", ctx->prover);
    BN_CTX *bc = kg_mpc_bn_ctx();
    BIGNUM *alpha = kg_mpc_bn_secret_new(), *r = kg_mpc_bn_secret_new(), *s = kg_mpc_bn_secret_new();
    BIGNUM *tmp = kg_mpc_bn_secret_new(), *e = BN_new();
    kg_err err = KG_OK;
    BIGNUM **pub[] = {&pf->A, &pf->B, &pf->z, &pf->u, &pf->v};
    bool ok = alpha && r && s && tmp && e;
    for (size_t i = 0; ok && i < sizeof pub / sizeof pub[0]; i++) ok = (*pub[i] = BN_new()) != NULL;
    if (!ok) { err = kg_err_set(KG_ERR_NOMEM, "Πmul: out of memory"); goto out; }
    if ((err = mul_commit(pf, alpha, r, s, tmp, n, Y, bc))) goto out;
    if ((err = mul_challenge(e, pf, ctx, n, X, Y, C, q))) goto out;
    if (!BN_mul(tmp, e, x, bc) || !BN_add(pf->z, alpha, tmp)) { err = kg_err_set(KG_ERR_NOMEM, "Πmul: out of memory"); goto out; }
    if ((err = mul_nonce(pf->u, r, rho, e, n, bc)) || (err = mul_nonce(pf->v, s, rho_x, e, n, bc))) goto out;
out:
    kg_mpc_bn_free(alpha);
    kg_mpc_bn_free(r);
    kg_mpc_bn_free(s);
    kg_mpc_bn_free(tmp);
    BN_free(e);
    if (err) kg_mpc_zk_mul_clear(pf);
    return err;
}

static kg_err mul_check_shape(const kg_mpc_zk_mul *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_paillier_pk *n,
                              const BIGNUM *X, const BIGNUM *Y, const BIGNUM *C)
{
    if (!n->n) return kg_err_set(KG_ERR_BAD_INPUT, "Πmul: party %u's key is incomplete", ctx->prover);
    if (!pf->A || !pf->B || !pf->z || !pf->u || !pf->v)
        return kg_err_set(KG_ERR_BAD_INPUT, "Πmul: proof of party %u is incomplete", ctx->prover);
    kg_err err;
    if ((err = kg_mpc_paillier_ct_check(n, X, "Πmul X")) || (err = kg_mpc_paillier_ct_check(n, Y, "Πmul Y")) ||
        (err = kg_mpc_paillier_ct_check(n, C, "Πmul C")) || (err = kg_mpc_paillier_ct_check(n, pf->A, "Πmul A")) ||
        (err = kg_mpc_paillier_ct_check(n, pf->B, "Πmul B")))
        return err;
    if (!kg_mpc_bn_is_unit(pf->u, n->n) || !kg_mpc_bn_is_unit(pf->v, n->n))
        return kg_err_set(KG_ERR_BAD_INPUT, "Πmul: u/v of party %u not a unit mod N", ctx->prover);
    if (!kg_mpc_bn_in_pm(pf->z, KG_CGGMP_ELL + 1, n->n))
        return kg_err_set(KG_ERR_BAD_INPUT, "Πmul: z of party %u too large", ctx->prover);
    return KG_OK;
}

/* r = M · base^e mod N^2 (the right-hand side of both checks). */
static kg_err mul_rhs(BIGNUM *r, const BIGNUM *M, const BIGNUM *base, const BIGNUM *e, const kg_mpc_paillier_pk *n,
                      BN_CTX *bc)
{
    kg_err err = kg_mpc_bn_exp(r, base, e, &n->mod_nn);
    if (!err && !BN_mod_mul(r, r, M, n->nn, bc)) err = kg_err_set(KG_ERR_NOMEM, "Πmul: out of memory");
    return err;
}

kg_err kg_mpc_zk_mul_verify(const kg_mpc_zk_mul *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_paillier_pk *n,
                            const BIGNUM *X, const BIGNUM *Y, const BIGNUM *C)
{
    const BIGNUM *q = kg_mpc_group_order(ctx->group);
    if (!q) return kg_err_set(KG_ERR_BAD_INPUT, "Πmul: not a CGGMP21 group");
    kg_err err = mul_check_shape(pf, ctx, n, X, Y, C);
    if (err) return err;
    BN_CTX *bc = kg_mpc_bn_ctx();
    BN_CTX_start(bc);
    BIGNUM *e = BN_CTX_get(bc), *l = BN_CTX_get(bc), *r = BN_CTX_get(bc), *m = BN_CTX_get(bc);
    if (!m) { err = kg_err_set(KG_ERR_NOMEM, "Πmul: out of memory"); goto out; }
    if ((err = mul_challenge(e, pf, ctx, n, X, Y, C, q))) goto out;
    /* Y^z · u^N = A · C^e */
    if ((err = kg_mpc_bn_exp(l, Y, pf->z, &n->mod_nn)) || (err = kg_mpc_bn_exp(m, pf->u, n->n, &n->mod_nn))) goto out;
    if (!BN_mod_mul(l, l, m, n->nn, bc)) { err = kg_err_set(KG_ERR_NOMEM, "Πmul: out of memory"); goto out; }
    if ((err = mul_rhs(r, pf->A, C, e, n, bc))) goto out;
    if (BN_cmp(l, r)) {
        err = kg_err_set(KG_ERR_VERIFY, "Πmul: Y^z u^N != A·C^e (party %u)", ctx->prover);
        goto out;
    }
    /* enc(z; v) = B · X^e */
    if (!mul_signed_mod(m, pf->z, n->n, bc)) { err = kg_err_set(KG_ERR_NOMEM, "Πmul: out of memory"); goto out; }
    if ((err = kg_mpc_paillier_enc_with(n, l, m, pf->v)) || (err = mul_rhs(r, pf->B, X, e, n, bc))) goto out;
    if (BN_cmp(l, r)) err = kg_err_set(KG_ERR_VERIFY, "Πmul: enc(z; v) != B·X^e (party %u)", ctx->prover);
out:
    BN_CTX_end(bc);
    return err;
}

void kg_mpc_zk_mul_write(kg_mpc_node_wr *w, const kg_mpc_zk_mul *pf)
{
    const BIGNUM *f[] = {pf->A, pf->B, pf->z, pf->u, pf->v};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) kg_mpc_bn_write(w, f[i]);
}

kg_err kg_mpc_zk_mul_read(kg_mpc_node_rd *r, kg_mpc_zk_mul *pf)
{
    memset(pf, 0, sizeof *pf);
    BIGNUM **f[] = {&pf->A, &pf->B, &pf->z, &pf->u, &pf->v};
    static const size_t max[] = {MUL_MOD2_BYTES, MUL_MOD2_BYTES, KG_CGGMP_BN_MAX_BYTES, MUL_MOD_BYTES, MUL_MOD_BYTES};
    static const char *const names[] = {"Πmul A", "Πmul B", "Πmul z", "Πmul u", "Πmul v"};
    kg_err err = KG_OK;
    for (size_t i = 0; i < sizeof f / sizeof f[0] && !err; i++) err = kg_mpc_bn_read(r, f[i], max[i], names[i]);
    if (err) kg_mpc_zk_mul_clear(pf);
    return err;
}
