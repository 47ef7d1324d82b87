/* Πmod: N is a Paillier-Blum modulus (CGGMP21, eprint 2021/060, Fig. 16).
 *
 * The auxiliary-info phase (§3.2) needs every party's Paillier modulus to
 * be N = p·q with p ≡ q ≡ 3 (mod 4) and gcd(N, φ(N)) = 1: the range proofs
 * and the simulation rely on it. The proof, repeated KG_CGGMP_M times with
 * challenges y_i derived from one transcript:
 *   prover: w with Jacobi(w, N) = -1 (a non-residue mod exactly one of p,
 *     q); for each y_i, the unique a_i, b_i in {0,1} making
 *     y'_i = (-1)^a_i · w^b_i · y_i a quadratic residue (−1 is a
 *     non-residue mod both primes since p, q ≡ 3 mod 4, w mod one of them:
 *     the four candidates cover every residuosity pattern); x_i = a fourth
 *     root of y'_i; z_i = y_i^(N^-1 mod φ(N)), an N-th root.
 *   verifier: N odd, composite (a prime N would pass every other check),
 *     w a unit of Jacobi symbol -1, z_i^N = y_i, x_i^4 = y'_i (mod N).
 * Fourth roots exist for every residue only because p, q ≡ 3 mod 4, and
 * N-th roots only because gcd(N, φ) = 1: a modulus that is not
 * Paillier-Blum fails about half the repetitions.
 *
 * Transcript ("kashguard/cggmp21/mod/v1", after the context): "N", "w";
 * then y_0..y_{m-1} drawn in order with kg_mpc_fs_challenge_mod.
 *
 * Cost: the prover works mod p and mod q (CRT): per repetition four
 * half-size exponentiations (a fourth root and an N-th root per prime; the
 * Legendre symbols are two more). For p ≡ 3 mod 4 the square root of a
 * residue is y^((p+1)/4), itself a residue (a power of a residue), so the
 * fourth root is one exponentiation by ((p+1)/4)^2 mod (p-1). The verifier
 * does one full exponentiation z_i^N and two squarings per repetition. */
#include "cggmp_zk.h"

#include <string.h>

#define MOD_DOMAIN "kashguard/cggmp21/mod/v1"
/* Every field is < N (at most KG_CGGMP_N_BITS_MAX bits) plus a sign byte. */
#define MOD_FIELD_BYTES (1u + KG_CGGMP_N_BITS_MAX / 8u)

void kg_mpc_zk_mod_clear(kg_mpc_zk_mod *pf)
{
    kg_mpc_bn_free(pf->w);
    for (size_t i = 0; i < KG_CGGMP_M; i++) {
        kg_mpc_bn_free(pf->x[i]);
        kg_mpc_bn_free(pf->z[i]);
    }
    memset(pf, 0, sizeof *pf);
}

/* y[0..m-1] from the transcript over (ctx, N, w). */
static kg_err mod_challenges(BIGNUM **y, const kg_mpc_zk_ctx *ctx, const BIGNUM *n, const BIGNUM *w)
{
    kg_mpc_fs fs;
    kg_err err = kg_mpc_fs_init(&fs, MOD_DOMAIN, ctx);
    if (err) return err;
    kg_mpc_fs_bn(&fs, "N", n);
    kg_mpc_fs_bn(&fs, "w", w);
    for (size_t i = 0; i < KG_CGGMP_M && !err; i++) err = kg_mpc_fs_challenge_mod(&fs, y[i], n);
    kg_mpc_fs_free(&fs);
    return err;
}

/* out = (-1)^a · w^b · y mod n (all public). */
static bool mod_twist(BIGNUM *out, const BIGNUM *y, const BIGNUM *w, uint8_t a, uint8_t b, const BIGNUM *n,
                      BN_CTX *bc)
{
    if (!BN_copy(out, y)) return false;
    if (b && !BN_mod_mul(out, out, w, n, bc)) return false;
    if (a && !BN_is_zero(out) && !BN_sub(out, n, out)) return false;
    return true;
}

/* What the prover precomputes per prime p (all secret). */
typedef struct {
    kg_mpc_mod m;
    BIGNUM *leg;  /* (p-1)/2: Euler's criterion */
    BIGNUM *root; /* ((p+1)/4)^2 mod (p-1): the fourth root of a residue */
    BIGNUM *nth;  /* (N^-1 mod φ) mod (p-1): the N-th root */
} mod_prime;

static void mod_prime_clear(mod_prime *k)
{
    kg_mpc_mod_clear(&k->m);
    kg_mpc_bn_free(k->leg);
    kg_mpc_bn_free(k->root);
    kg_mpc_bn_free(k->nth);
    memset(k, 0, sizeof *k);
}

static kg_err mod_prime_init(mod_prime *k, const BIGNUM *p, const BIGNUM *d, BN_CTX *bc)
{
    memset(k, 0, sizeof *k);
    kg_err err = kg_mpc_mod_init(&k->m, p);
    if (err) return err;
    k->leg = kg_mpc_bn_secret_new();
    k->root = kg_mpc_bn_secret_new();
    k->nth = kg_mpc_bn_secret_new();
    BIGNUM *pm1 = kg_mpc_bn_secret_new();
    bool ok = k->leg && k->root && k->nth && pm1 && BN_copy(pm1, p) && BN_sub_word(pm1, 1) &&
              BN_rshift1(k->leg, pm1) && BN_copy(k->root, p) && BN_add_word(k->root, 1) &&
              BN_rshift(k->root, k->root, 2) && BN_mod_sqr(k->root, k->root, pm1, bc) &&
              BN_nnmod(k->nth, d, pm1, bc);
    kg_mpc_bn_free(pm1);
    if (!ok) {
        mod_prime_clear(k);
        return kg_err_set(KG_ERR_NOMEM, "Πmod: out of memory");
    }
    return KG_OK;
}

/* *nr = 1 when v (reduced mod p here) is a non-residue mod p. */
static kg_err mod_nonres(int *nr, BIGNUM *t, const BIGNUM *v, const mod_prime *k, BN_CTX *bc)
{
    BN_CTX_start(bc);
    BIGNUM *vr = BN_CTX_get(bc);
    kg_err err = KG_OK;
    if (!vr || !BN_nnmod(vr, v, k->m.n, bc)) err = kg_err_set(KG_ERR_NOMEM, "Πmod: out of memory");
    if (!err) err = kg_mpc_bn_exp_secret(t, vr, k->leg, &k->m);
    if (!err && BN_is_zero(t)) err = kg_err_set(KG_ERR_CRYPTO, "Πmod: a challenge is not a unit");
    if (!err) *nr = !BN_is_one(t);
    BN_CTX_end(bc);
    return err;
}

/* r = CRT(rp mod p, rq mod q) = rq + q·((rp − rq)·qinv mod p). */
static bool mod_crt(BIGNUM *r, const BIGNUM *rp, const BIGNUM *rq, const BIGNUM *p, const BIGNUM *q,
                    const BIGNUM *qinv, BN_CTX *bc)
{
    BN_CTX_start(bc);
    BIGNUM *h = BN_CTX_get(bc);
    bool ok = h && BN_mod_sub(h, rp, rq, p, bc) && BN_mod_mul(h, h, qinv, p, bc) && BN_mul(h, h, q, bc) &&
              BN_add(r, h, rq);
    if (h) BN_clear(h);
    BN_CTX_end(bc);
    return ok;
}

/* One repetition: a, b, x = fourth root of y', z = N-th root of y. */
static kg_err mod_prove_one(kg_mpc_zk_mod *pf, size_t i, const BIGNUM *y, const mod_prime *kp,
                            const mod_prime *kq, const int wnr[2], const BIGNUM *qinv, const BIGNUM *n,
                            BN_CTX *bc)
{
    kg_err err = KG_OK;
    BN_CTX_start(bc);
    BIGNUM *t = BN_CTX_get(bc), *yt = BN_CTX_get(bc), *rp = BN_CTX_get(bc), *rq = BN_CTX_get(bc);
    BIGNUM *sp = BN_CTX_get(bc), *sq = BN_CTX_get(bc);
    if (!sq) { err = kg_err_set(KG_ERR_NOMEM, "Πmod: out of memory"); goto out; }
    BN_set_flags(rp, BN_FLG_CONSTTIME);
    BN_set_flags(rq, BN_FLG_CONSTTIME);
    BN_set_flags(sp, BN_FLG_CONSTTIME);
    BN_set_flags(sq, BN_FLG_CONSTTIME);
    int np = 0, nq = 0;
    if ((err = mod_nonres(&np, t, y, kp, bc)) || (err = mod_nonres(&nq, t, y, kq, bc))) goto out;
    /* −1 flips both symbols, w flips exactly the one where it is a
     * non-residue: pick the unique (a, b) that clears both. a, b are
     * sent in the proof, so branching on them leaks nothing more. */
    uint8_t b = (uint8_t)(np != nq);
    uint8_t a = (uint8_t)((np ^ (b ? wnr[0] : 0)) & 1);
    pf->a[i] = a;
    pf->b[i] = b;
    if (!mod_twist(yt, y, pf->w, a, b, n, bc) || !BN_nnmod(rp, yt, kp->m.n, bc) ||
        !BN_nnmod(rq, yt, kq->m.n, bc)) { err = kg_err_set(KG_ERR_NOMEM, "Πmod: out of memory"); goto out; }
    if ((err = kg_mpc_bn_exp_secret(sp, rp, kp->root, &kp->m)) ||
        (err = kg_mpc_bn_exp_secret(sq, rq, kq->root, &kq->m))) goto out;
    if (!mod_crt(pf->x[i], sp, sq, kp->m.n, kq->m.n, qinv, bc) || !BN_nnmod(rp, y, kp->m.n, bc) ||
        !BN_nnmod(rq, y, kq->m.n, bc)) { err = kg_err_set(KG_ERR_NOMEM, "Πmod: out of memory"); goto out; }
    if ((err = kg_mpc_bn_exp_secret(sp, rp, kp->nth, &kp->m)) ||
        (err = kg_mpc_bn_exp_secret(sq, rq, kq->nth, &kq->m))) goto out;
    if (!mod_crt(pf->z[i], sp, sq, kp->m.n, kq->m.n, qinv, bc)) err = kg_err_set(KG_ERR_NOMEM, "Πmod: out of memory");
out:
    if (sq) { BN_clear(rp); BN_clear(rq); BN_clear(sp); BN_clear(sq); }
    BN_CTX_end(bc);
    return err;
}

/* w: a random unit of Jacobi symbol −1 (half of all units qualify). */
static kg_err mod_pick_w(BIGNUM *w, const BIGNUM *n, BN_CTX *bc)
{
    for (int tries = 0; tries < 256; tries++) {
        kg_err err = kg_mpc_bn_rand_unit(w, n);
        if (err) return err;
        if (BN_kronecker(w, n, bc) == -1) return KG_OK;
    }
    return kg_err_set(KG_ERR_CRYPTO, "Πmod: no w of Jacobi symbol -1 found");
}

kg_err kg_mpc_zk_mod_prove(kg_mpc_zk_mod *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_paillier_sk *sk)
{
    memset(pf, 0, sizeof *pf);
    const BIGNUM *n = sk->pk.n, *p = sk->p, *q = sk->q;
    if (!n || !p || !q || !sk->phi || BN_mod_word(p, 4) != 3 || BN_mod_word(q, 4) != 3 || !BN_cmp(p, q))
        return kg_err_set(KG_ERR_BAD_INPUT, "Πmod: party %u's key is not a Paillier-Blum modulus", ctx->prover);
    BN_CTX *bc = kg_mpc_bn_ctx();
    BN_CTX_start(bc);
    mod_prime kp, kq;
    memset(&kp, 0, sizeof kp);
    memset(&kq, 0, sizeof kq);
    kg_err err = KG_OK;
    BIGNUM *y[KG_CGGMP_M];
    for (size_t i = 0; i < KG_CGGMP_M; i++) y[i] = BN_CTX_get(bc);
    BIGNUM *d = kg_mpc_bn_secret_new(), *qinv = kg_mpc_bn_secret_new();
    pf->w = BN_new();
    bool ok = y[KG_CGGMP_M - 1] && d && qinv && pf->w;
    for (size_t i = 0; ok && i < KG_CGGMP_M; i++) ok = (pf->x[i] = BN_new()) && (pf->z[i] = BN_new());
    if (!ok) { err = kg_err_set(KG_ERR_NOMEM, "Πmod: out of memory"); goto out; }
    if (!BN_mod_inverse(d, n, sk->phi, bc)) {
        err = kg_err_set(KG_ERR_BAD_INPUT, "Πmod: gcd(N, φ(N)) != 1 for party %u", ctx->prover);
        goto out;
    }
    if (!BN_mod_inverse(qinv, q, p, bc)) { err = kg_err_set(KG_ERR_BAD_INPUT, "Πmod: p, q not coprime"); goto out; }
    if ((err = mod_prime_init(&kp, p, d, bc)) || (err = mod_prime_init(&kq, q, d, bc))) goto out;
    if ((err = mod_pick_w(pf->w, n, bc))) goto out;
    int wnr[2] = {0, 0};
    if ((err = mod_nonres(&wnr[0], y[0], pf->w, &kp, bc)) || (err = mod_nonres(&wnr[1], y[0], pf->w, &kq, bc)))
        goto out;
    if ((err = mod_challenges(y, ctx, n, pf->w))) goto out;
    for (size_t i = 0; i < KG_CGGMP_M && !err; i++) err = mod_prove_one(pf, i, y[i], &kp, &kq, wnr, qinv, n, bc);
out:
    mod_prime_clear(&kp);
    mod_prime_clear(&kq);
    kg_mpc_bn_free(d);
    kg_mpc_bn_free(qinv);
    BN_CTX_end(bc);
    if (err) kg_mpc_zk_mod_clear(pf);
    return err;
}

/* The statement and the shape of the proof (KG_ERR_BAD_INPUT / VERIFY). */
static kg_err mod_check_shape(const kg_mpc_zk_mod *pf, const kg_mpc_zk_ctx *ctx, const BIGNUM *n, BN_CTX *bc)
{
    int bits = BN_num_bits(n);
    if (BN_is_negative(n) || !BN_is_odd(n) || bits < (int)KG_CGGMP_N_BITS_MIN || bits > (int)KG_CGGMP_N_BITS_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "Πmod: party %u's N is even or of a bad size", ctx->prover);
    if (!pf->w) return kg_err_set(KG_ERR_BAD_INPUT, "Πmod: proof of party %u is incomplete", ctx->prover);
    for (size_t i = 0; i < KG_CGGMP_M; i++) {
        if (!pf->x[i] || !pf->z[i])
            return kg_err_set(KG_ERR_BAD_INPUT, "Πmod: proof of party %u is incomplete", ctx->prover);
        if (pf->a[i] > 1 || pf->b[i] > 1)
            return kg_err_set(KG_ERR_BAD_INPUT, "Πmod: a/b of party %u not a bit", ctx->prover);
        if (BN_is_negative(pf->x[i]) || BN_cmp(pf->x[i], n) >= 0 || BN_is_negative(pf->z[i]) ||
            BN_cmp(pf->z[i], n) >= 0)
            return kg_err_set(KG_ERR_BAD_INPUT, "Πmod: x/z of party %u out of range", ctx->prover);
    }
    if (!kg_mpc_bn_is_unit(pf->w, n))
        return kg_err_set(KG_ERR_BAD_INPUT, "Πmod: w of party %u is not a unit", ctx->prover);
    if (BN_kronecker(pf->w, n, bc) != -1)
        return kg_err_set(KG_ERR_VERIFY, "Πmod: w of party %u has Jacobi symbol != -1", ctx->prover);
    /* A prime N passes every equation below (roots always exist). */
    int prime = BN_check_prime(n, bc, NULL);
    if (prime < 0) return kg_err_set(KG_ERR_NOMEM, "Πmod: primality test failed");
    if (prime) return kg_err_set(KG_ERR_VERIFY, "Πmod: party %u's N is prime", ctx->prover);
    return KG_OK;
}

kg_err kg_mpc_zk_mod_verify(const kg_mpc_zk_mod *pf, const kg_mpc_zk_ctx *ctx, const BIGNUM *n)
{
    BN_CTX *bc = kg_mpc_bn_ctx();
    kg_err err = mod_check_shape(pf, ctx, n, bc);
    if (err) return err;
    kg_mpc_mod m;
    memset(&m, 0, sizeof m);
    if ((err = kg_mpc_mod_init(&m, n))) return err;
    BN_CTX_start(bc);
    BIGNUM *y[KG_CGGMP_M];
    for (size_t i = 0; i < KG_CGGMP_M; i++) y[i] = BN_CTX_get(bc);
    BIGNUM *t = BN_CTX_get(bc), *u = BN_CTX_get(bc);
    if (!u) { err = kg_err_set(KG_ERR_NOMEM, "Πmod: out of memory"); goto out; }
    if ((err = mod_challenges(y, ctx, n, pf->w))) goto out;
    for (size_t i = 0; i < KG_CGGMP_M; i++) {
        if ((err = kg_mpc_bn_exp(t, pf->z[i], n, &m))) goto out;
        if (BN_cmp(t, y[i])) {
            err = kg_err_set(KG_ERR_VERIFY, "Πmod: z^N != y in round %zu (party %u)", i, ctx->prover);
            goto out;
        }
        if (!mod_twist(u, y[i], pf->w, pf->a[i], pf->b[i], n, bc) || !BN_mod_sqr(t, pf->x[i], n, bc) ||
            !BN_mod_sqr(t, t, n, bc)) { err = kg_err_set(KG_ERR_NOMEM, "Πmod: out of memory"); goto out; }
        if (BN_cmp(t, u)) {
            err = kg_err_set(KG_ERR_VERIFY, "Πmod: x^4 != (-1)^a w^b y in round %zu (party %u)", i, ctx->prover);
            goto out;
        }
    }
out:
    BN_CTX_end(bc);
    kg_mpc_mod_clear(&m);
    return err;
}

void kg_mpc_zk_mod_write(kg_mpc_node_wr *w, const kg_mpc_zk_mod *pf)
{
    kg_mpc_bn_write(w, pf->w);
    for (size_t i = 0; i < KG_CGGMP_M; i++) kg_mpc_bn_write(w, pf->x[i]);
    for (size_t i = 0; i < KG_CGGMP_M; i++) kg_mpc_bn_write(w, pf->z[i]);
    kg_mpc_node_wr_fixed(w, pf->a, KG_CGGMP_M);
    kg_mpc_node_wr_fixed(w, pf->b, KG_CGGMP_M);
}

kg_err kg_mpc_zk_mod_read(kg_mpc_node_rd *r, kg_mpc_zk_mod *pf)
{
    memset(pf, 0, sizeof *pf);
    kg_err err = kg_mpc_bn_read(r, &pf->w, MOD_FIELD_BYTES, "Πmod w");
    for (size_t i = 0; i < KG_CGGMP_M && !err; i++) err = kg_mpc_bn_read(r, &pf->x[i], MOD_FIELD_BYTES, "Πmod x");
    for (size_t i = 0; i < KG_CGGMP_M && !err; i++) err = kg_mpc_bn_read(r, &pf->z[i], MOD_FIELD_BYTES, "Πmod z");
    const uint8_t *a = err ? NULL : kg_mpc_node_rd_fixed(r, KG_CGGMP_M);
    const uint8_t *b = a ? kg_mpc_node_rd_fixed(r, KG_CGGMP_M) : NULL;
    if (!err && !b) err = kg_err_set(KG_ERR_BAD_INPUT, "Πmod: proof truncated");
    for (size_t i = 0; !err && i < KG_CGGMP_M; i++) {
        if (a[i] > 1 || b[i] > 1) err = kg_err_set(KG_ERR_BAD_INPUT, "Πmod: a/b not a bit");
        pf->a[i] = a[i];
        pf->b[i] = b[i];
    }
    if (err) kg_mpc_zk_mod_clear(pf);
    return err;
}
