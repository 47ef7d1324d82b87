/* Identifiable abort for CGGMP21 presigning and signing (eprint 2021/060,
 * Fig. 7 "output" step and Fig. 8: the identification that follows a
 * failed δ·G = ΣΔ_j check or an invalid signature).
 *
 * Neither failure is caught by a single proof: every party's messages
 * passed their checks, yet the sum is wrong. So every party shows that the
 * value it broadcast is the decryption of what it received:
 *
 *   δ-failure. Party i holds K_i = enc_i(k_i), G_i = enc_i(γ_i; ν_i), and
 *   for every peer j the ciphertext D_{i,j} it received (plaintext
 *   k_i·γ_j + β_{j,i}) and F_{j,i} = enc_i(β_{i,j}) it sent, all under its
 *   own key N_i. It publishes H_i = K_i^γ_i · ρ^N_i (fresh ρ) with Πmul
 *   (H_i holds k_i·γ_i with the γ_i inside G_i), and proves with Πdec,
 *   once per verifier (each with the verifier's ring-Pedersen
 *   parameters), that
 *       δ_i = dec_i(H_i ⊕ Σ_j (D_{i,j} ⊖ F_{j,i})) mod q.
 *   σ-failure. The same with the key share: Ĥ_i = K_i^w_i · ρ^N_i with
 *   Πmul* (X = W_i = w_i·G, the public additive share), and Πdec that
 *       σ_i = dec_i(K_i^(m + r·tweak) ⊕ (Ĥ_i ⊕ Σ_j (D̂_{i,j} ⊖ F̂_{j,i}))^r) mod q.
 *
 * A party whose proof does not verify is the culprit: an honest party can
 * always prove, a party that broadcast a wrong δ_i / σ_i cannot (Πdec is
 * sound for the x = y mod q relation). These functions work on the
 * statement (the ciphertexts and public values), not on the presign state,
 * so the presign and sign code can call them with what they kept.
 *
 * The combined plaintext y is an integer (the MtA masks β are up to
 * 2^ℓ' wide), recovered with kg_mpc_paillier_dec and its nonce with
 * kg_mpc_paillier_nonce: the prover owns N_i, so it can. */
#include "cggmp_int.h"

#include <stdio.h>
#include <string.h>

/* out = H ⊕ Σ_j (D_j ⊖ F_j) under pk, every ciphertext checked first. */
static kg_err blame_combine(const kg_mpc_paillier_pk *pk, BIGNUM *out, const BIGNUM *H, const BIGNUM *const *D,
                            const BIGNUM *const *F, size_t n, const char *proof)
{
    char what[64];
    snprintf(what, sizeof what, "%s: H", proof);
    kg_err err = kg_mpc_paillier_ct_check(pk, H, what);
    for (size_t j = 0; !err && j < n; j++) {
        if (!D[j] || !F[j])
            return kg_err_set(KG_ERR_BAD_INPUT, "%s: missing ciphertext of peer %zu", proof, j);
        snprintf(what, sizeof what, "%s: D_in[%zu]", proof, j);
        if ((err = kg_mpc_paillier_ct_check(pk, D[j], what)))
            return err;
        snprintf(what, sizeof what, "%s: F_out[%zu]", proof, j);
        if ((err = kg_mpc_paillier_ct_check(pk, F[j], what)))
            return err;
    }
    if (err)
        return err;
    BN_CTX *bc = kg_mpc_bn_ctx();
    BN_CTX_start(bc);
    BIGNUM *inv = BN_CTX_get(bc);
    bool ok = inv && BN_copy(out, H);
    for (size_t j = 0; ok && j < n; j++)
        ok = BN_mod_mul(out, out, D[j], pk->nn, bc) && BN_mod_inverse(inv, F[j], pk->nn, bc) &&
             BN_mod_mul(out, out, inv, pk->nn, bc);
    BN_CTX_end(bc);
    return ok ? KG_OK : kg_err_set(KG_ERR_NOMEM, "%s: out of memory", proof);
}

/* The σ statement's ciphertext: K^(m + r·tweak mod q) ⊕ (Ĥ ⊕ Σ(D̂ ⊖ F̂))^r. */
static kg_err blame_sigma_ct(const kg_mpc_paillier_pk *pk, kg_mpc_group_id g, BIGNUM *out, const BIGNUM *K,
                             const BIGNUM *H, const BIGNUM *const *D, const BIGNUM *const *F, size_t n,
                             const uint8_t digest[32], const kg_mpc_scalar *r, const kg_mpc_scalar *tweak)
{
    kg_mpc_scalar m, e1;
    kg_mpc_scalar_reduce(g, &m, digest, 32);
    e1 = m;
    if (tweak) {
        kg_mpc_scalar rt;
        kg_mpc_scalar_mul(g, &rt, r, tweak);
        kg_mpc_scalar_add(g, &e1, &m, &rt);
    }
    kg_err err = kg_mpc_paillier_ct_check(pk, K, "σ blame: K");
    BIGNUM *be = NULL, *br = NULL, *t = BN_new();
    if (!err && (!t || !(be = kg_mpc_scalar_to_bn(g, &e1)) || !(br = kg_mpc_scalar_to_bn(g, r))))
        err = kg_err_set(KG_ERR_NOMEM, "σ blame: out of memory");
    if (!err)
        err = blame_combine(pk, t, H, D, F, n, "σ blame");
    if (!err)
        err = kg_mpc_paillier_mul(pk, t, t, br, false);
    if (!err)
        err = kg_mpc_paillier_mul(pk, out, K, be, false);
    if (!err)
        err = kg_mpc_paillier_add(pk, out, out, t);
    BN_free(t);
    kg_mpc_bn_free(be);
    kg_mpc_bn_free(br);
    return err;
}

/* H = base^x · ρ^N under the prover's key, ρ fresh (returned). */
static kg_err blame_mask(const kg_mpc_paillier_sk *sk, BIGNUM **H, BIGNUM **rho, const BIGNUM *base,
                         const BIGNUM *x, const char *proof)
{
    BIGNUM *zero = BN_new(), *noise = BN_new();
    *H = BN_new();
    *rho = kg_mpc_bn_secret_new();
    kg_err err = KG_OK;
    if (!zero || !noise || !*H || !*rho)
        err = kg_err_set(KG_ERR_NOMEM, "%s: out of memory", proof);
    if (!err && (err = kg_mpc_paillier_ct_check(&sk->pk, base, proof)) == KG_OK) {
        BN_zero(zero);
        if (!(err = kg_mpc_bn_rand_unit(*rho, sk->pk.n)) &&
            !(err = kg_mpc_paillier_enc_sk(sk, noise, zero, *rho)) &&
            !(err = kg_mpc_paillier_mul(&sk->pk, *H, base, x, true)))
            err = kg_mpc_paillier_add(&sk->pk, *H, *H, noise);
    }
    BN_free(zero);
    BN_free(noise);
    return err;
}

/* y = dec(C) over the integers and its nonce, then one Πdec per verifier
 * that y mod q = x. */
static kg_err blame_decs(kg_mpc_zk_dec *dec, size_t *n_dec, const kg_mpc_zk_ctx *ctx,
                         const kg_mpc_rped *const *verifiers, size_t n_verifiers, const kg_mpc_paillier_sk *sk,
                         const BIGNUM *C, const kg_mpc_scalar *x, const char *proof)
{
    BIGNUM *y = kg_mpc_bn_secret_new(), *rho = kg_mpc_bn_secret_new();
    kg_err err = (!y || !rho) ? kg_err_set(KG_ERR_NOMEM, "%s: out of memory", proof) : KG_OK;
    if (!err && !(err = kg_mpc_paillier_dec(sk, y, C)))
        err = kg_mpc_paillier_nonce(sk, rho, C, y);
    for (size_t v = 0; !err && v < n_verifiers; v++) {
        if (!verifiers[v]) {
            err = kg_err_set(KG_ERR_ARG, "%s: no ring-Pedersen parameters for verifier %zu", proof, v);
            break;
        }
        err = kg_mpc_zk_dec_prove(&dec[v], ctx, verifiers[v], &sk->pk, C, x, y, rho);
        if (!err)
            *n_dec = v + 1;
    }
    kg_mpc_bn_free(y);
    kg_mpc_bn_free(rho);
    return err;
}

static kg_err blame_args(const kg_mpc_zk_ctx *ctx, size_t n_verifiers, size_t n_peers, const char *proof)
{
    if (!ctx || (ctx->group != KG_MPC_GROUP_SECP256K1 && ctx->group != KG_MPC_GROUP_P256))
        return kg_err_set(KG_ERR_ARG, "%s: no context or not a CGGMP21 group", proof);
    if (n_verifiers == 0 || n_verifiers > KG_CGGMP_MAX_PARTIES || n_peers >= KG_CGGMP_MAX_PARTIES)
        return kg_err_set(KG_ERR_BAD_INPUT, "%s: %zu verifiers / %zu peers out of range", proof, n_verifiers,
                          n_peers);
    return KG_OK;
}

/* ------------------------------------------------------------ δ-failure */

kg_err kg_mpc_cggmp_blame_delta_prove(kg_mpc_cggmp_blame_delta *out, const kg_mpc_zk_ctx *ctx,
                                      const kg_mpc_rped *const *verifiers, size_t n_verifiers,
                                      const kg_mpc_paillier_sk *sk, const BIGNUM *K, const BIGNUM *G,
                                      const BIGNUM *gamma, const BIGNUM *nu, const BIGNUM *const *D_in,
                                      const BIGNUM *const *F_out, size_t n_peers, const kg_mpc_scalar *delta)
{
    memset(out, 0, sizeof *out);
    kg_err err = blame_args(ctx, n_verifiers, n_peers, "δ blame");
    if (err)
        return err;
    BIGNUM *rho = NULL, *C = BN_new();
    if (!C)
        return kg_err_set(KG_ERR_NOMEM, "δ blame: out of memory");
    if (!(err = kg_mpc_paillier_ct_check(&sk->pk, G, "δ blame: G")) &&
        !(err = blame_mask(sk, &out->H, &rho, K, gamma, "δ blame: K")) &&
        !(err = kg_mpc_zk_mul_prove(&out->mul, ctx, &sk->pk, G, K, out->H, gamma, rho, nu)) &&
        !(err = blame_combine(&sk->pk, C, out->H, D_in, F_out, n_peers, "δ blame")))
        err = blame_decs(out->dec, &out->n_dec, ctx, verifiers, n_verifiers, sk, C, delta, "δ blame");
    kg_mpc_bn_free(rho);
    BN_free(C);
    if (err)
        kg_mpc_cggmp_blame_delta_clear(out);
    return err;
}

kg_err kg_mpc_cggmp_blame_delta_verify(const kg_mpc_cggmp_blame_delta *b, const kg_mpc_zk_ctx *ctx,
                                       const kg_mpc_rped *verifier, size_t verifier_index,
                                       const kg_mpc_paillier_pk *pk, const BIGNUM *K, const BIGNUM *G,
                                       const BIGNUM *const *D_in, const BIGNUM *const *F_out, size_t n_peers,
                                       const kg_mpc_scalar *delta)
{
    kg_err err = blame_args(ctx, 1, n_peers, "δ blame");
    if (err)
        return err;
    if (!b->H || verifier_index >= b->n_dec || b->n_dec > KG_CGGMP_MAX_PARTIES)
        return kg_err_set(KG_ERR_BAD_INPUT, "δ blame: no proof for verifier %zu (party %u)", verifier_index,
                          (unsigned)ctx->prover);
    if ((err = kg_mpc_paillier_ct_check(pk, K, "δ blame: K")) ||
        (err = kg_mpc_paillier_ct_check(pk, G, "δ blame: G")) ||
        (err = kg_mpc_paillier_ct_check(pk, b->H, "δ blame: H")))
        return err;
    if ((err = kg_mpc_zk_mul_verify(&b->mul, ctx, pk, G, K, b->H)))
        return err;
    BIGNUM *C = BN_new();
    if (!C)
        return kg_err_set(KG_ERR_NOMEM, "δ blame: out of memory");
    if (!(err = blame_combine(pk, C, b->H, D_in, F_out, n_peers, "δ blame")))
        err = kg_mpc_zk_dec_verify(&b->dec[verifier_index], ctx, verifier, pk, C, delta);
    BN_free(C);
    return err;
}

void kg_mpc_cggmp_blame_delta_write(kg_mpc_node_wr *w, const kg_mpc_cggmp_blame_delta *b)
{
    if (!b->H || b->n_dec == 0 || b->n_dec > KG_CGGMP_MAX_PARTIES) {
        w->bad = true; /* an unproven struct: our own bug */
        return;
    }
    kg_mpc_bn_write(w, b->H);
    kg_mpc_zk_mul_write(w, &b->mul);
    kg_mpc_node_wr_u16(w, (uint16_t)b->n_dec);
    for (size_t v = 0; v < b->n_dec; v++)
        kg_mpc_zk_dec_write(w, &b->dec[v]);
}

/* The proof count of an encoding: 1..KG_CGGMP_MAX_PARTIES. */
static kg_err blame_read_count(kg_mpc_node_rd *r, size_t *n, const char *proof)
{
    uint16_t c = kg_mpc_node_rd_u16(r);
    if (r->bad || c == 0 || c > KG_CGGMP_MAX_PARTIES)
        return kg_err_set(KG_ERR_BAD_INPUT, "%s: proof count %u out of range 1..%d", proof, (unsigned)c,
                          KG_CGGMP_MAX_PARTIES);
    *n = c;
    return KG_OK;
}

kg_err kg_mpc_cggmp_blame_delta_read(kg_mpc_node_rd *r, kg_mpc_cggmp_blame_delta *b)
{
    memset(b, 0, sizeof *b);
    size_t n = 0;
    kg_err err = kg_mpc_bn_read(r, &b->H, KG_CGGMP_BN_MAX_BYTES, "δ blame: H");
    if (!err)
        err = kg_mpc_zk_mul_read(r, &b->mul);
    if (!err)
        err = blame_read_count(r, &n, "δ blame");
    for (size_t v = 0; !err && v < n; v++) {
        err = kg_mpc_zk_dec_read(r, &b->dec[v]);
        if (!err)
            b->n_dec = v + 1;
    }
    if (err)
        kg_mpc_cggmp_blame_delta_clear(b);
    return err;
}

void kg_mpc_cggmp_blame_delta_clear(kg_mpc_cggmp_blame_delta *b)
{
    BN_free(b->H);
    kg_mpc_zk_mul_clear(&b->mul);
    for (size_t v = 0; v < KG_CGGMP_MAX_PARTIES; v++)
        kg_mpc_zk_dec_clear(&b->dec[v]);
    memset(b, 0, sizeof *b);
}

/* ------------------------------------------------------------ σ-failure */

kg_err kg_mpc_cggmp_blame_sigma_prove(kg_mpc_cggmp_blame_sigma *out, const kg_mpc_zk_ctx *ctx,
                                      const kg_mpc_rped *const *verifiers, size_t n_verifiers,
                                      const kg_mpc_paillier_sk *sk, const BIGNUM *K, const kg_mpc_point *W,
                                      const kg_mpc_scalar *w, const BIGNUM *const *D_in,
                                      const BIGNUM *const *F_out, size_t n_peers, const uint8_t digest[32],
                                      const kg_mpc_scalar *r, const kg_mpc_scalar *tweak, const kg_mpc_scalar *sigma)
{
    memset(out, 0, sizeof *out);
    kg_err err = blame_args(ctx, n_verifiers, n_peers, "σ blame");
    if (err)
        return err;
    kg_mpc_group_id g = ctx->group;
    BIGNUM *rho = NULL, *C = BN_new(), *bw = kg_mpc_scalar_to_bn(g, w);
    if (!C || !bw)
        err = kg_err_set(KG_ERR_NOMEM, "σ blame: out of memory");
    if (!err)
        err = blame_mask(sk, &out->H, &rho, K, bw, "σ blame: K");
    for (size_t v = 0; !err && v < n_verifiers; v++) {
        if (!verifiers[v]) {
            err = kg_err_set(KG_ERR_ARG, "σ blame: no ring-Pedersen parameters for verifier %zu", v);
            break;
        }
        err = kg_mpc_zk_mulstar_prove(&out->mulstar[v], ctx, verifiers[v], &sk->pk, K, out->H, W, bw, rho);
    }
    if (!err)
        err = blame_sigma_ct(&sk->pk, g, C, K, out->H, D_in, F_out, n_peers, digest, r, tweak);
    if (!err)
        err = blame_decs(out->dec, &out->n_ver, ctx, verifiers, n_verifiers, sk, C, sigma, "σ blame");
    kg_mpc_bn_free(rho);
    kg_mpc_bn_free(bw);
    BN_free(C);
    if (err)
        kg_mpc_cggmp_blame_sigma_clear(out);
    return err;
}

kg_err kg_mpc_cggmp_blame_sigma_verify(const kg_mpc_cggmp_blame_sigma *b, const kg_mpc_zk_ctx *ctx,
                                       const kg_mpc_rped *verifier, size_t verifier_index,
                                       const kg_mpc_paillier_pk *pk, const BIGNUM *K, const kg_mpc_point *W,
                                       const BIGNUM *const *D_in, const BIGNUM *const *F_out, size_t n_peers,
                                       const uint8_t digest[32], const kg_mpc_scalar *r,
                                       const kg_mpc_scalar *tweak, const kg_mpc_scalar *sigma)
{
    kg_err err = blame_args(ctx, 1, n_peers, "σ blame");
    if (err)
        return err;
    if (!b->H || verifier_index >= b->n_ver || b->n_ver > KG_CGGMP_MAX_PARTIES)
        return kg_err_set(KG_ERR_BAD_INPUT, "σ blame: no proof for verifier %zu (party %u)", verifier_index,
                          (unsigned)ctx->prover);
    if ((err = kg_mpc_paillier_ct_check(pk, b->H, "σ blame: H")) ||
        (err = kg_mpc_zk_mulstar_verify(&b->mulstar[verifier_index], ctx, verifier, pk, K, b->H, W)))
        return err;
    BIGNUM *C = BN_new();
    if (!C)
        return kg_err_set(KG_ERR_NOMEM, "σ blame: out of memory");
    err = blame_sigma_ct(pk, ctx->group, C, K, b->H, D_in, F_out, n_peers, digest, r, tweak);
    if (!err)
        err = kg_mpc_zk_dec_verify(&b->dec[verifier_index], ctx, verifier, pk, C, sigma);
    BN_free(C);
    return err;
}

void kg_mpc_cggmp_blame_sigma_write(kg_mpc_node_wr *w, kg_mpc_group_id g, const kg_mpc_cggmp_blame_sigma *b)
{
    if (!b->H || b->n_ver == 0 || b->n_ver > KG_CGGMP_MAX_PARTIES) {
        w->bad = true;
        return;
    }
    kg_mpc_bn_write(w, b->H);
    kg_mpc_node_wr_u16(w, (uint16_t)b->n_ver);
    for (size_t v = 0; v < b->n_ver; v++) {
        kg_mpc_zk_mulstar_write(w, g, &b->mulstar[v]);
        kg_mpc_zk_dec_write(w, &b->dec[v]);
    }
}

kg_err kg_mpc_cggmp_blame_sigma_read(kg_mpc_node_rd *r, kg_mpc_group_id g, kg_mpc_cggmp_blame_sigma *b)
{
    memset(b, 0, sizeof *b);
    size_t n = 0;
    kg_err err = kg_mpc_bn_read(r, &b->H, KG_CGGMP_BN_MAX_BYTES, "σ blame: H");
    if (!err)
        err = blame_read_count(r, &n, "σ blame");
    for (size_t v = 0; !err && v < n; v++) {
        err = kg_mpc_zk_mulstar_read(r, g, &b->mulstar[v]);
        if (!err)
            err = kg_mpc_zk_dec_read(r, &b->dec[v]);
        if (!err)
            b->n_ver = v + 1;
    }
    if (err)
        kg_mpc_cggmp_blame_sigma_clear(b);
    return err;
}

void kg_mpc_cggmp_blame_sigma_clear(kg_mpc_cggmp_blame_sigma *b)
{
    BN_free(b->H);
    for (size_t v = 0; v < KG_CGGMP_MAX_PARTIES; v++) {
        kg_mpc_zk_mulstar_clear(&b->mulstar[v]);
        kg_mpc_zk_dec_clear(&b->dec[v]);
    }
    memset(b, 0, sizeof *b);
}
