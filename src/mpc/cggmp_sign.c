/* CGGMP21 one-round signing (eprint 2021/060, Fig. 8 "Signing") and the
 * presignature it consumes: sealed-storage encoding, accessors, the
 * signature share σ_i = k_i·m' + r·χ_i and the combiner.
 *
 * With R = k^-1·G (δ^-1·Γ from presigning), Σk_i = k and Σχ_i = k·x, the
 * sum s = Σσ_i = k·(m + r·x) is the ECDSA s for nonce k^-1. An HD child
 * key x + τ (cggmp_hd.c's tweak) only adds k_i·r·τ to each share, which is
 * why the tweak is folded into m' = m + r·τ. The combiner verifies the
 * result itself: a wrong σ_j shows up there, and the caller then runs the
 * identification of cggmp_blame.c (Πmul*, Πdec on the presignature's
 * ciphertexts). */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>

#include "kashguard/crypto.h"
#include "cggmp_int.h"

#define PRESIG_VERSION 1
#define BNMAX KG_CGGMP_BN_MAX_BYTES

/* ---------------------------------------------------------- presignature */

kg_mpc_cggmp_presig *kg_mpc_cggmp_presig_alloc(size_t ns)
{
    if (ns < 1 || ns > KG_CGGMP_MAX_PARTIES) return NULL;
    kg_mpc_cggmp_presig *ps = calloc(1, sizeof *ps);
    if (!ps) return NULL;
    ps->ns = (uint16_t)ns;
    ps->Dh = calloc(ns * ns, sizeof(BIGNUM *));
    ps->Fh = calloc(ns * ns, sizeof(BIGNUM *));
    if (!ps->Dh || !ps->Fh) { kg_mpc_cggmp_presig_free(ps); return NULL; }
    return ps;
}

void kg_mpc_cggmp_presig_free(kg_mpc_cggmp_presig *ps)
{
    if (!ps) return;
    size_t nn = (size_t)ps->ns * ps->ns;
    for (size_t x = 0; x < nn; x++) {
        if (ps->Dh) BN_free(ps->Dh[x]);
        if (ps->Fh) BN_free(ps->Fh[x]);
    }
    free(ps->Dh);
    free(ps->Fh);
    for (size_t j = 0; j < KG_CGGMP_MAX_PARTIES; j++) {
        BN_free(ps->K[j]);
        kg_mpc_bn_free(ps->beta_hat[j]);
        kg_mpc_bn_free(ps->r_hat[j]);
    }
    kg_mpc_bn_free(ps->rho);
    kg_wipe(ps, sizeof *ps);
    free(ps);
}

const kg_mpc_point *kg_mpc_cggmp_presig_R(const kg_mpc_cggmp_presig *ps) { return &ps->R; }
const kg_mpc_point *kg_mpc_cggmp_presig_pub(const kg_mpc_cggmp_presig *ps) { return &ps->pub; }
kg_mpc_group_id kg_mpc_cggmp_presig_group(const kg_mpc_cggmp_presig *ps) { return ps->group; }
const uint8_t *kg_mpc_cggmp_presig_id(const kg_mpc_cggmp_presig *ps) { return ps->id; }
const uint16_t *kg_mpc_cggmp_presig_signers(const kg_mpc_cggmp_presig *ps, size_t *n)
{
    *n = ps->ns;
    return ps->signers;
}

kg_err kg_mpc_cggmp_presig_blame_inputs(const kg_mpc_cggmp_presig *ps, kg_mpc_cggmp_blame_inputs *o)
{
    memset(o, 0, sizeof *o);
    o->group = ps->group;
    o->me = ps->me;
    o->ns = ps->ns;
    o->me_pos = ps->me_pos;
    o->signers = ps->signers;
    o->sid = ps->sid;
    o->K = (const BIGNUM *const *)ps->K;
    o->W = ps->W;
    o->Dh = (const BIGNUM *const *)ps->Dh;
    o->Fh = (const BIGNUM *const *)ps->Fh;
    o->k = &ps->k;
    o->w = &ps->w;
    o->chi = &ps->chi;
    o->rho = ps->rho;
    o->beta_hat = (const BIGNUM *const *)ps->beta_hat;
    o->r_hat = (const BIGNUM *const *)ps->r_hat;
    return KG_OK;
}

/* Layout (all in kg_mpc_node_wr form): u16 version, group, me, ns, me_pos,
 * signers[ns], sid 64, id 32, R, pub, W[ns], k, χ, w (32 each), ρ, K[ns],
 * then off the diagonal in row order D̂, F̂, and for j != me β̂_j, r̂_j. */
kg_err kg_mpc_cggmp_presig_encode(kg_bytes *out, const kg_mpc_cggmp_presig *ps)
{
    memset(out, 0, sizeof *out);
    kg_mpc_node_wr w = {0};
    size_t ns = ps->ns;
    kg_mpc_node_wr_u16(&w, PRESIG_VERSION);
    kg_mpc_node_wr_u16(&w, (uint16_t)ps->group);
    kg_mpc_node_wr_u16(&w, ps->me);
    kg_mpc_node_wr_u16(&w, ps->ns);
    kg_mpc_node_wr_u16(&w, ps->me_pos);
    for (size_t j = 0; j < ns; j++) kg_mpc_node_wr_u16(&w, ps->signers[j]);
    kg_mpc_node_wr_fixed(&w, ps->sid, sizeof ps->sid);
    kg_mpc_node_wr_fixed(&w, ps->id, sizeof ps->id);
    kg_mpc_point_write(&w, ps->group, &ps->R);
    kg_mpc_point_write(&w, ps->group, &ps->pub);
    for (size_t j = 0; j < ns; j++) kg_mpc_point_write(&w, ps->group, &ps->W[j]);
    kg_mpc_node_wr_fixed(&w, ps->k.b, KG_MPC_SCALAR_BYTES);
    kg_mpc_node_wr_fixed(&w, ps->chi.b, KG_MPC_SCALAR_BYTES);
    kg_mpc_node_wr_fixed(&w, ps->w.b, KG_MPC_SCALAR_BYTES);
    kg_mpc_bn_write(&w, ps->rho);
    for (size_t j = 0; j < ns; j++) kg_mpc_bn_write(&w, ps->K[j]);
    for (size_t x = 0; x < ns * ns; x++)
        if (x / ns != x % ns) { kg_mpc_bn_write(&w, ps->Dh[x]); kg_mpc_bn_write(&w, ps->Fh[x]); }
    for (size_t j = 0; j < ns; j++)
        if (j != ps->me_pos) { kg_mpc_bn_write(&w, ps->beta_hat[j]); kg_mpc_bn_write(&w, ps->r_hat[j]); }
    kg_err err = kg_mpc_node_wr_done(&w);
    if (err) return err;
    *out = w.b;
    return KG_OK;
}

/* Header fields: version, group, ids, sid, id, points, scalars. */
static kg_err presig_read_head(kg_mpc_node_rd *r, kg_mpc_cggmp_presig **out)
{
    uint16_t ver = kg_mpc_node_rd_u16(r), g = kg_mpc_node_rd_u16(r), me = kg_mpc_node_rd_u16(r);
    uint16_t ns = kg_mpc_node_rd_u16(r), mp = kg_mpc_node_rd_u16(r);
    if (r->bad || ver != PRESIG_VERSION || !kg_mpc_cggmp_scheme_name((kg_mpc_group_id)g) || ns < 2 ||
        ns > KG_CGGMP_MAX_PARTIES || mp >= ns)
        return kg_err_set(KG_ERR_BAD_INPUT, "presignature: bad header");
    kg_mpc_cggmp_presig *ps = *out = kg_mpc_cggmp_presig_alloc(ns);
    if (!ps) return kg_err_set(KG_ERR_NOMEM, "presignature");
    ps->group = (kg_mpc_group_id)g;
    ps->me = me;
    ps->me_pos = mp;
    for (size_t j = 0; j < ns; j++) {
        ps->signers[j] = kg_mpc_node_rd_u16(r);
        if (!r->bad && (ps->signers[j] == 0 || (j && ps->signers[j] <= ps->signers[j - 1])))
            return kg_err_set(KG_ERR_BAD_INPUT, "presignature: signers not increasing");
    }
    if (r->bad || ps->signers[mp] != me) return kg_err_set(KG_ERR_BAD_INPUT, "presignature: bad signing set");
    const uint8_t *sid = kg_mpc_node_rd_fixed(r, sizeof ps->sid), *id = kg_mpc_node_rd_fixed(r, sizeof ps->id);
    if (!sid || !id) return kg_err_set(KG_ERR_BAD_INPUT, "presignature: truncated");
    memcpy(ps->sid, sid, sizeof ps->sid);
    memcpy(ps->id, id, sizeof ps->id);
    kg_err err = kg_mpc_point_read(r, ps->group, &ps->R, "presignature R");
    if (!err) err = kg_mpc_point_read(r, ps->group, &ps->pub, "presignature pub");
    for (size_t j = 0; !err && j < ns; j++) err = kg_mpc_point_read(r, ps->group, &ps->W[j], "presignature W");
    kg_mpc_scalar *sc[3] = {&ps->k, &ps->chi, &ps->w};
    for (size_t i = 0; !err && i < 3; i++) {
        const uint8_t *b = kg_mpc_node_rd_fixed(r, KG_MPC_SCALAR_BYTES);
        err = b ? kg_mpc_scalar_from_bytes(ps->group, sc[i], b, KG_MPC_SCALAR_BYTES)
                : kg_err_set(KG_ERR_BAD_INPUT, "presignature: truncated");
    }
    return err;
}

/* A positive integer (ciphertext, nonce) or a signed one (β̂). */
static kg_err rd_bn(kg_mpc_node_rd *r, BIGNUM **x, bool positive, bool secret, const char *what)
{
    kg_err err = kg_mpc_bn_read(r, x, BNMAX, what);
    if (err) return err;
    if (secret) BN_set_flags(*x, BN_FLG_CONSTTIME);
    if (positive && (BN_is_negative(*x) || BN_is_zero(*x)))
        return kg_err_set(KG_ERR_BAD_INPUT, "presignature: %s not positive", what);
    return KG_OK;
}

kg_err kg_mpc_cggmp_presig_decode(kg_mpc_cggmp_presig **out, const uint8_t *in, size_t len)
{
    *out = NULL;
    kg_mpc_cggmp_presig *ps = NULL;
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, in, len);
    kg_err err = presig_read_head(&r, &ps);
    size_t ns = ps ? ps->ns : 0;
    if (!err) err = rd_bn(&r, &ps->rho, true, true, "ρ");
    for (size_t j = 0; !err && j < ns; j++) err = rd_bn(&r, &ps->K[j], true, false, "K");
    for (size_t x = 0; !err && x < ns * ns; x++) {
        if (x / ns == x % ns) continue;
        err = rd_bn(&r, &ps->Dh[x], true, false, "D̂");
        if (!err) err = rd_bn(&r, &ps->Fh[x], true, false, "F̂");
    }
    for (size_t j = 0; !err && j < ns; j++) {
        if (j == ps->me_pos) continue;
        err = rd_bn(&r, &ps->beta_hat[j], false, true, "β̂");
        if (!err && !kg_mpc_bn_in_pm(ps->beta_hat[j], KG_CGGMP_ELL_PRIME, NULL))
            err = kg_err_set(KG_ERR_BAD_INPUT, "presignature: β̂ out of range");
        if (!err) err = rd_bn(&r, &ps->r_hat[j], true, true, "r̂");
    }
    if (!err) err = kg_mpc_node_rd_end(&r, "presignature");
    if (!err) {
        /* the id is derived, not trusted: recompute it */
        uint8_t rb[KG_MPC_POINT_MAX_BYTES], id[32];
        err = kg_mpc_point_serialize(ps->group, rb, &ps->R);
        kg_crypto_sha256_ctx h;
        kg_crypto_sha256_init(&h);
        kg_crypto_sha256_update(&h, ps->sid, sizeof ps->sid);
        kg_crypto_sha256_update(&h, rb, kg_mpc_group_point_len(ps->group));
        kg_crypto_sha256_final(id, &h);
        if (!err && memcmp(id, ps->id, sizeof id)) err = kg_err_set(KG_ERR_BAD_INPUT, "presignature: id mismatch");
    }
    if (err) {
        kg_mpc_cggmp_presig_free(ps);
        return err == KG_ERR_NOMEM ? err : KG_ERR_BAD_INPUT;
    }
    *out = ps;
    return KG_OK;
}

/* ---------------------------------------------------------------- signing */

kg_err kg_mpc_cggmp_sign_scalars(kg_mpc_group_id g, const kg_mpc_point *R, const uint8_t digest[32],
                                 kg_mpc_scalar *m, kg_mpc_scalar *r)
{
    kg_mpc_scalar_reduce(g, m, digest, 32);
    if (kg_mpc_point_is_identity(g, R)) return kg_err_set(KG_ERR_BAD_INPUT, "ECDSA: R is the identity");
    kg_mpc_scalar_reduce(g, r, R->b + 1, 32); /* x of the SEC1 compressed form */
    if (kg_mpc_scalar_is_zero(g, r)) return kg_err_set(KG_ERR_BAD_INPUT, "ECDSA: r = 0");
    return KG_OK;
}

kg_err kg_mpc_cggmp_sign_share(const kg_mpc_cggmp_presig *ps, const uint8_t digest[32], const kg_mpc_scalar *tweak,
                               kg_mpc_scalar *sigma_i)
{
    kg_mpc_group_id g = ps->group;
    kg_mpc_scalar m, r, t;
    memset(sigma_i, 0, sizeof *sigma_i);
    kg_err err = kg_mpc_cggmp_sign_scalars(g, &ps->R, digest, &m, &r);
    if (err) return err;
    if (tweak) {
        kg_mpc_scalar_mul(g, &t, &r, tweak);
        kg_mpc_scalar_add(g, &m, &m, &t); /* m' = m + r·τ */
    }
    kg_mpc_scalar_mul(g, &t, &r, &ps->chi);
    kg_mpc_scalar_mul(g, sigma_i, &ps->k, &m);
    kg_mpc_scalar_add(g, sigma_i, sigma_i, &t);
    kg_wipe(&t, sizeof t);
    return KG_OK;
}

/* Plain ECDSA verification of (r, s) on m under pub (public values). */
static bool ecdsa_ok(kg_mpc_group_id g, const kg_mpc_point *pub, const kg_mpc_scalar *m, const kg_mpc_scalar *r,
                     const kg_mpc_scalar *s)
{
    kg_mpc_scalar si, u1, u2, x;
    if (kg_mpc_scalar_invert(g, &si, s) != KG_OK) return false;
    kg_mpc_scalar_mul(g, &u1, m, &si);
    kg_mpc_scalar_mul(g, &u2, r, &si);
    kg_mpc_point P, Q;
    kg_mpc_point_base_mul(g, &P, &u1);
    kg_mpc_point_mul(g, &Q, &u2, pub);
    kg_mpc_point_add(g, &P, &P, &Q);
    if (kg_mpc_point_is_identity(g, &P)) return false;
    kg_mpc_scalar_reduce(g, &x, P.b + 1, 32);
    return kg_mpc_scalar_eq(g, &x, r);
}

/* s > q/2 ? and R.x >= q ? (both public). */
static kg_err order_checks(kg_mpc_group_id g, const kg_mpc_scalar *s, const kg_mpc_point *R, bool *high, bool *xbig)
{
    const BIGNUM *q = kg_mpc_group_order(g);
    BN_CTX *ctx = kg_mpc_bn_ctx();
    BN_CTX_start(ctx);
    BIGNUM *h = BN_CTX_get(ctx), *a = BN_CTX_get(ctx), *x = BN_CTX_get(ctx);
    kg_err err = KG_OK;
    if (!q || !x || !BN_rshift1(h, q) || !BN_bin2bn(s->b, 32, a) || !BN_bin2bn(R->b + 1, 32, x))
        err = kg_err_set(KG_ERR_NOMEM, "ECDSA combine");
    else {
        *high = BN_cmp(a, h) > 0;
        *xbig = BN_cmp(x, q) >= 0;
    }
    BN_CTX_end(ctx);
    return err;
}

kg_err kg_mpc_cggmp_sign_combine(kg_mpc_group_id g, const kg_mpc_point *R, const kg_mpc_point *pub,
                                 const uint8_t digest[32], const kg_mpc_scalar *sigmas, size_t n,
                                 uint8_t sig[KG_CGGMP_SIG_BYTES], int *recovery_id)
{
    memset(sig, 0, KG_CGGMP_SIG_BYTES);
    if (recovery_id) *recovery_id = 0;
    if (!kg_mpc_cggmp_scheme_name(g) || n == 0) return kg_err_set(KG_ERR_BAD_INPUT, "ECDSA combine: no shares");
    kg_mpc_scalar m, r, s = sigmas[0];
    kg_err err = kg_mpc_cggmp_sign_scalars(g, R, digest, &m, &r);
    if (err) return err;
    for (size_t i = 1; i < n; i++) kg_mpc_scalar_add(g, &s, &s, &sigmas[i]);
    bool high = false, xbig = false;
    err = order_checks(g, &s, R, &high, &xbig);
    if (err) return err;
    int rec = (R->b[0] == 0x03 ? 1 : 0) | (xbig ? 2 : 0);
    if (high) { kg_mpc_scalar_neg(g, &s, &s); rec ^= 1; } /* low-S: (r, q−s) is the signature for −R */
    if (kg_mpc_scalar_is_zero(g, &s) || !ecdsa_ok(g, pub, &m, &r, &s))
        return kg_err_set(KG_ERR_VERIFY, "ECDSA combine: the signature does not verify (a wrong σ_j: run the identification)");
    memcpy(sig, r.b, 32);
    memcpy(sig + 32, s.b, 32);
    if (recovery_id) *recovery_id = rec;
    return KG_OK;
}
