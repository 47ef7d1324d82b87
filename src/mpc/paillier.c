/* Paillier encryption and ring-Pedersen parameters for CGGMP21
 * (eprint 2021/060, §2.3 and §3.2 / Fig. 6 "auxiliary info").
 *
 * Paillier with g = 1 + N: enc(m; r) = (1+N)^m · r^N mod N^2, and
 * (1+N)^m = 1 + m·N mod N^2, so only r^N costs an exponentiation.
 * Plaintexts are signed, in (-N/2, N/2]: the protocol's MtA shares are
 * differences of products and must come back with their sign.
 *
 * The key owner works modulo p^2 and q^2 and recombines (CRT): each
 * exponentiation is on half-size numbers, about three times faster than
 * mod N^2. The owner's N, N^2 and N̂ also carry the factorisation
 * (kg_mpc_mod_set_crt), so every proof's exponentiation on them is CRT
 * too (cggmp_crt.c). Decryption is m = L(c^φ mod N^2) · φ^-1 mod N with
 * L(u) = (u-1)/N, c^φ computed by CRT.
 *
 * Ring-Pedersen (N̂, s, t): t = τ^2 (a random quadratic residue), s = t^λ;
 * commitments s^x · t^y hide x and bind under the strong-RSA assumption
 * (the paper's §C: the verifier's parameters are the ones used in every
 * range proof it checks).
 *
 * Secret exponents and bases (r, p, q, φ, λ) go through
 * BN_mod_exp_mont_consttime; secret values carry BN_FLG_CONSTTIME and are
 * freed with BN_clear_free. */
#include <string.h>

#include <openssl/bn.h>

#include "kashguard/err.h"
#include "cggmp_zk.h"
#include "mpc_int.h"

static kg_err nomem(const char *what)
{
    return kg_err_set(KG_ERR_NOMEM, "paillier: out of memory in %s", what);
}

/* r = base^e mod m with a secret base (or exponent) and a non-negative
 * exponent. kg_mpc_bn_exp_secret would invert the base, which must not
 * happen on a secret base (BN_mod_inverse is not constant time). */
static bool exp_ct(BIGNUM *r, const BIGNUM *base, const BIGNUM *e, const kg_mpc_mod *m)
{
    return kg_mpc_bn_exp_ct(r, base, e, m) == KG_OK;
}

/* -------------------------------------------------------------- keys */

kg_err kg_mpc_paillier_pk_set(kg_mpc_paillier_pk *pk, const BIGNUM *n)
{
    memset(pk, 0, sizeof(*pk));
    int bits = BN_num_bits(n);
    if (BN_is_negative(n) || !BN_is_odd(n) || bits < (int)KG_CGGMP_N_BITS_MIN || bits > (int)KG_CGGMP_N_BITS_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "paillier: modulus must be odd with %u..%u bits (got %d)",
                          KG_CGGMP_N_BITS_MIN, KG_CGGMP_N_BITS_MAX, bits);
    pk->n = BN_dup(n);
    pk->nn = BN_new();
    if (!pk->n || !pk->nn || !BN_sqr(pk->nn, n, kg_mpc_bn_ctx())) {
        kg_mpc_paillier_pk_clear(pk);
        return nomem("pk_set");
    }
    kg_err err = kg_mpc_mod_init(&pk->mod_n, pk->n);
    if (!err) err = kg_mpc_mod_init(&pk->mod_nn, pk->nn);
    if (err) kg_mpc_paillier_pk_clear(pk);
    return err;
}

void kg_mpc_paillier_pk_clear(kg_mpc_paillier_pk *pk)
{
    BN_free(pk->n);
    BN_free(pk->nn);
    kg_mpc_mod_clear(&pk->mod_n);
    kg_mpc_mod_clear(&pk->mod_nn);
    memset(pk, 0, sizeof(*pk));
}

void kg_mpc_paillier_sk_clear(kg_mpc_paillier_sk *sk)
{
    kg_mpc_paillier_pk_clear(&sk->pk);
    kg_mpc_bn_free(sk->p);
    kg_mpc_bn_free(sk->q);
    kg_mpc_bn_free(sk->phi);
    kg_mpc_bn_free(sk->phi_inv);
    kg_mpc_bn_free(sk->qq_inv_pp);
    kg_mpc_mod_clear(&sk->mod_pp);
    kg_mpc_mod_clear(&sk->mod_qq);
    memset(sk, 0, sizeof(*sk));
}

static kg_err check_primes(const BIGNUM *p, const BIGNUM *q)
{
    BN_CTX *ctx = kg_mpc_bn_ctx();
    if (BN_cmp(p, q) == 0) return kg_err_set(KG_ERR_BAD_INPUT, "paillier: p and q are equal");
    if (BN_num_bits(p) != BN_num_bits(q))
        return kg_err_set(KG_ERR_BAD_INPUT, "paillier: p and q differ in bit length");
    if (BN_is_negative(p) || BN_is_negative(q) || BN_check_prime(p, ctx, NULL) != 1 ||
        BN_check_prime(q, ctx, NULL) != 1)
        return kg_err_set(KG_ERR_BAD_INPUT, "paillier: p or q is not prime");
    return KG_OK;
}

/* The secret fields of sk from p, q (sk->pk already set). */
static bool sk_fill(kg_mpc_paillier_sk *sk, const BIGNUM *p, const BIGNUM *q, BN_CTX *ctx)
{
    sk->p = kg_mpc_bn_secret_new();
    sk->q = kg_mpc_bn_secret_new();
    sk->phi = kg_mpc_bn_secret_new();
    sk->phi_inv = kg_mpc_bn_secret_new();
    sk->qq_inv_pp = kg_mpc_bn_secret_new();
    BIGNUM *pp = BN_CTX_get(ctx), *qq = BN_CTX_get(ctx), *t = BN_CTX_get(ctx);
    if (!sk->p || !sk->q || !sk->phi || !sk->phi_inv || !sk->qq_inv_pp || !t) return false;
    BN_set_flags(pp, BN_FLG_CONSTTIME);
    BN_set_flags(qq, BN_FLG_CONSTTIME);
    BN_set_flags(t, BN_FLG_CONSTTIME);
    return BN_copy(sk->p, p) && BN_copy(sk->q, q) && BN_sub(t, p, BN_value_one()) &&
           BN_sub(sk->phi, q, BN_value_one()) && BN_mul(sk->phi, sk->phi, t, ctx) &&
           BN_sqr(pp, p, ctx) && BN_sqr(qq, q, ctx) &&
           BN_mod_inverse(sk->qq_inv_pp, qq, pp, ctx) &&
           kg_mpc_mod_init(&sk->mod_pp, pp) == KG_OK && kg_mpc_mod_init(&sk->mod_qq, qq) == KG_OK;
}

kg_err kg_mpc_paillier_sk_from_primes(kg_mpc_paillier_sk *sk, const BIGNUM *p, const BIGNUM *q)
{
    memset(sk, 0, sizeof(*sk));
    kg_err err = check_primes(p, q);
    if (err) return err;
    BN_CTX *ctx = kg_mpc_bn_ctx();
    BN_CTX_start(ctx);
    BIGNUM *n = BN_CTX_get(ctx), *g = BN_CTX_get(ctx);
    if (!g || !BN_mul(n, p, q, ctx)) err = nomem("sk_from_primes");
    if (!err) err = kg_mpc_paillier_pk_set(&sk->pk, n);
    if (!err && !sk_fill(sk, p, q, ctx)) err = nomem("sk_from_primes");
    /* gcd(N, φ) = 1 makes (1+N) generate the order-N subgroup and φ
     * invertible mod N (decryption); equal-length primes guarantee it,
     * but the check is cheap. */
    if (!err && (!BN_gcd(g, sk->pk.n, sk->phi, ctx) || !BN_is_one(g)))
        err = kg_err_set(KG_ERR_BAD_INPUT, "paillier: gcd(N, phi(N)) != 1");
    if (!err && !BN_mod_inverse(sk->phi_inv, sk->phi, sk->pk.n, ctx)) err = nomem("sk_from_primes");
    /* The owner's own exponentiations mod N and N^2 go by CRT (cggmp_crt.c). */
    if (!err) err = kg_mpc_mod_set_crt(&sk->pk.mod_n, p, q, 1);
    if (!err) err = kg_mpc_mod_set_crt(&sk->pk.mod_nn, p, q, 2);
    BN_CTX_end(ctx);
    if (err) kg_mpc_paillier_sk_clear(sk);
    return err;
}

/* ------------------------------------------------------------ encryption */

/* |m| < N/2, i.e. 2|m| < N (N odd). */
static bool plain_ok(const kg_mpc_paillier_pk *pk, const BIGNUM *m)
{
    int mb = BN_num_bits(m), nb = BN_num_bits(pk->n);
    if (mb < nb - 1) return true;
    if (mb > nb - 1) return false;
    BN_CTX *ctx = kg_mpc_bn_ctx();
    BN_CTX_start(ctx);
    BIGNUM *t = BN_CTX_get(ctx);
    bool ok = t && BN_lshift1(t, m) && BN_ucmp(t, pk->n) < 0;
    BN_CTX_end(ctx);
    return ok;
}

/* c = (1 + m·N) · rn mod N^2, rn = r^N mod N^2 already computed. */
static bool enc_finish(const kg_mpc_paillier_pk *pk, BIGNUM *c, const BIGNUM *m, const BIGNUM *rn, BN_CTX *ctx)
{
    BIGNUM *g = BN_CTX_get(ctx);
    if (!g) return false;
    BN_set_flags(g, BN_FLG_CONSTTIME);
    return BN_nnmod(g, m, pk->n, ctx) && BN_mul(g, g, pk->n, ctx) && BN_add_word(g, 1) &&
           BN_mod_mul(c, g, rn, pk->nn, ctx);
}

static kg_err enc_args(const kg_mpc_paillier_pk *pk, const BIGNUM *m, const BIGNUM *r)
{
    if (!plain_ok(pk, m)) return kg_err_set(KG_ERR_BAD_INPUT, "paillier: plaintext out of range");
    if (!kg_mpc_bn_is_unit(r, pk->n)) return kg_err_set(KG_ERR_BAD_INPUT, "paillier: nonce not a unit mod N");
    return KG_OK;
}

kg_err kg_mpc_paillier_enc_with(const kg_mpc_paillier_pk *pk, BIGNUM *c, const BIGNUM *m, const BIGNUM *r)
{
    kg_err err = enc_args(pk, m, r);
    if (err) return err;
    BN_CTX *ctx = kg_mpc_bn_ctx();
    BN_CTX_start(ctx);
    BIGNUM *rn = BN_CTX_get(ctx);
    if (!rn || !exp_ct(rn, r, pk->n, &pk->mod_nn) || !enc_finish(pk, c, m, rn, ctx)) err = nomem("enc");
    BN_CTX_end(ctx);
    return err;
}

kg_err kg_mpc_paillier_enc(const kg_mpc_paillier_pk *pk, BIGNUM *c, BIGNUM *r_out, const BIGNUM *m)
{
    BIGNUM *r = kg_mpc_bn_secret_new();
    if (!r) return nomem("enc");
    kg_err err = kg_mpc_bn_rand_unit(r, pk->n);
    if (!err) err = kg_mpc_paillier_enc_with(pk, c, m, r);
    if (!err && r_out && !BN_copy(r_out, r)) err = nomem("enc");
    kg_mpc_bn_free(r);
    return err;
}

/* x mod N^2 from xp = x mod p^2 and xq = x mod q^2:
 * x = xq + q^2 · ((xp - xq) · (q^2)^-1 mod p^2). */
static bool crt_nn(const kg_mpc_paillier_sk *sk, BIGNUM *x, const BIGNUM *xp, const BIGNUM *xq, BN_CTX *ctx)
{
    BIGNUM *h = BN_CTX_get(ctx);
    if (!h) return false;
    BN_set_flags(h, BN_FLG_CONSTTIME);
    return BN_mod_sub(h, xp, xq, sk->mod_pp.n, ctx) && BN_mod_mul(h, h, sk->qq_inv_pp, sk->mod_pp.n, ctx) &&
           BN_mul(h, h, sk->mod_qq.n, ctx) && BN_add(x, h, xq);
}

kg_err kg_mpc_paillier_enc_sk(const kg_mpc_paillier_sk *sk, BIGNUM *c, const BIGNUM *m, const BIGNUM *r)
{
    const kg_mpc_paillier_pk *pk = &sk->pk;
    kg_err err = enc_args(pk, m, r);
    if (err) return err;
    BN_CTX *ctx = kg_mpc_bn_ctx();
    BN_CTX_start(ctx);
    BIGNUM *rp = BN_CTX_get(ctx), *rq = BN_CTX_get(ctx), *rn = BN_CTX_get(ctx);
    if (!rn || !exp_ct(rp, r, pk->n, &sk->mod_pp) || !exp_ct(rq, r, pk->n, &sk->mod_qq) ||
        !crt_nn(sk, rn, rp, rq, ctx) || !enc_finish(pk, c, m, rn, ctx))
        err = nomem("enc_sk");
    BN_CTX_end(ctx);
    return err;
}

kg_err kg_mpc_paillier_dec(const kg_mpc_paillier_sk *sk, BIGNUM *m, const BIGNUM *c)
{
    const kg_mpc_paillier_pk *pk = &sk->pk;
    kg_err err = kg_mpc_paillier_ct_check(pk, c, "paillier decryption");
    if (err) return err;
    BN_CTX *ctx = kg_mpc_bn_ctx();
    BN_CTX_start(ctx);
    BIGNUM *up = BN_CTX_get(ctx), *uq = BN_CTX_get(ctx), *u = BN_CTX_get(ctx), *rem = BN_CTX_get(ctx);
    /* u = c^φ mod N^2 = 1 + (m·φ mod N)·N (r^(Nφ) = 1), by CRT. */
    if (!rem || !exp_ct(up, c, sk->phi, &sk->mod_pp) || !exp_ct(uq, c, sk->phi, &sk->mod_qq) ||
        !crt_nn(sk, u, up, uq, ctx) || !BN_sub_word(u, 1) || !BN_div(u, rem, u, pk->n, ctx) ||
        !BN_mod_mul(m, u, sk->phi_inv, pk->n, ctx)) {
        err = nomem("dec");
    } else if (!BN_is_zero(rem)) {
        /* Impossible for c in Z*_{N^2} and a well-formed key. */
        err = kg_err_set(KG_ERR_INTERNAL, "paillier: decryption failed");
    } else {
        /* centre: [0, N) -> (-N/2, N/2] */
        BN_rshift1(rem, pk->n);
        if (BN_cmp(m, rem) > 0 && !BN_sub(m, m, pk->n)) err = nomem("dec");
    }
    if (err) BN_zero(m);
    BN_CTX_end(ctx);
    return err;
}

kg_err kg_mpc_paillier_nonce(const kg_mpc_paillier_sk *sk, BIGNUM *rho, const BIGNUM *c, const BIGNUM *m)
{
    const kg_mpc_paillier_pk *pk = &sk->pk;
    kg_err err = kg_mpc_paillier_ct_check(pk, c, "paillier nonce");
    if (!err && !plain_ok(pk, m)) err = kg_err_set(KG_ERR_BAD_INPUT, "paillier nonce: plaintext out of range");
    if (err) return err;
    BN_CTX *ctx = kg_mpc_bn_ctx();
    BN_CTX_start(ctx);
    BIGNUM *d = BN_CTX_get(ctx), *cm = BN_CTX_get(ctx), *r = BN_CTX_get(ctx), *chk = BN_CTX_get(ctx);
    /* (1+N)^-m = 1 mod N, so c mod N = ρ^N mod N and ρ = (c mod N)^(N^-1 mod φ). */
    if (chk) BN_set_flags(d, BN_FLG_CONSTTIME);
    if (!chk || !BN_mod_inverse(d, pk->n, sk->phi, ctx) || !BN_nnmod(cm, c, pk->n, ctx) ||
        !exp_ct(r, cm, d, &pk->mod_n))
        err = nomem("nonce");
    /* ... and c really is enc(m; ρ): otherwise ρ would mean nothing. */
    if (!err) err = kg_mpc_paillier_enc_sk(sk, chk, m, r);
    if (!err && BN_cmp(chk, c) != 0)
        err = kg_err_set(KG_ERR_BAD_INPUT, "paillier nonce: ciphertext does not encrypt the plaintext");
    if (!err && !BN_copy(rho, r)) err = nomem("nonce");
    BN_CTX_end(ctx);
    return err;
}

/* ---------------------------------------------------------- homomorphism */

static bool in_nn(const kg_mpc_paillier_pk *pk, const BIGNUM *a)
{
    return !BN_is_negative(a) && !BN_is_zero(a) && BN_cmp(a, pk->nn) < 0;
}

kg_err kg_mpc_paillier_add(const kg_mpc_paillier_pk *pk, BIGNUM *c, const BIGNUM *a, const BIGNUM *b)
{
    if (!in_nn(pk, a) || !in_nn(pk, b)) return kg_err_set(KG_ERR_BAD_INPUT, "paillier add: ciphertext out of range");
    BN_CTX *ctx = kg_mpc_bn_ctx();
    return BN_mod_mul(c, a, b, pk->nn, ctx) ? KG_OK : nomem("add");
}

kg_err kg_mpc_paillier_mul(const kg_mpc_paillier_pk *pk, BIGNUM *c, const BIGNUM *a, const BIGNUM *k, bool secret)
{
    if (!in_nn(pk, a)) return kg_err_set(KG_ERR_BAD_INPUT, "paillier mul: ciphertext out of range");
    return secret ? kg_mpc_bn_exp_secret(c, a, k, &pk->mod_nn) : kg_mpc_bn_exp(c, a, k, &pk->mod_nn);
}

kg_err kg_mpc_paillier_ct_check(const kg_mpc_paillier_pk *pk, const BIGNUM *c, const char *what)
{
    if (!in_nn(pk, c)) return kg_err_set(KG_ERR_BAD_INPUT, "%s: ciphertext not in (0, N^2)", what);
    BN_CTX *ctx = kg_mpc_bn_ctx();
    BN_CTX_start(ctx);
    BIGNUM *g = BN_CTX_get(ctx);
    kg_err err = KG_OK;
    /* gcd(c, N) = 1 iff c mod N is a unit: kg_mpc_bn_is_unit's inversion
     * on half-size numbers instead of OpenSSL 3's slow constant-time
     * BN_gcd (c is public). */
    if (!g || !BN_nnmod(g, c, pk->n, ctx)) err = nomem("ct_check");
    else if (!kg_mpc_bn_is_unit(g, pk->n))
        err = kg_err_set(KG_ERR_BAD_INPUT, "%s: ciphertext not a unit mod N", what);
    BN_CTX_end(ctx);
    return err;
}

/* ---------------------------------------------------------- ring-Pedersen */

/* s, t units mod N̂, neither ±1, s != t. */
static kg_err rped_check(const BIGNUM *n, const BIGNUM *s, const BIGNUM *t)
{
    BN_CTX *ctx = kg_mpc_bn_ctx();
    BN_CTX_start(ctx);
    BIGNUM *m1 = BN_CTX_get(ctx);
    kg_err err = KG_OK;
    if (!m1 || !BN_sub(m1, n, BN_value_one())) err = nomem("rped_set");
    else if (!kg_mpc_bn_is_unit(s, n) || !kg_mpc_bn_is_unit(t, n))
        err = kg_err_set(KG_ERR_BAD_INPUT, "ring-Pedersen: s or t is not a unit mod N");
    else if (BN_is_one(s) || BN_is_one(t) || BN_cmp(s, m1) == 0 || BN_cmp(t, m1) == 0)
        err = kg_err_set(KG_ERR_BAD_INPUT, "ring-Pedersen: s or t is +-1");
    else if (BN_cmp(s, t) == 0)
        err = kg_err_set(KG_ERR_BAD_INPUT, "ring-Pedersen: s equals t");
    BN_CTX_end(ctx);
    return err;
}

kg_err kg_mpc_rped_set(kg_mpc_rped *rp, const BIGNUM *n, const BIGNUM *s, const BIGNUM *t)
{
    memset(rp, 0, sizeof(*rp));
    int bits = BN_num_bits(n);
    if (BN_is_negative(n) || !BN_is_odd(n) || bits < (int)KG_CGGMP_N_BITS_MIN || bits > (int)KG_CGGMP_N_BITS_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "ring-Pedersen: modulus must be odd with %u..%u bits (got %d)",
                          KG_CGGMP_N_BITS_MIN, KG_CGGMP_N_BITS_MAX, bits);
    kg_err err = rped_check(n, s, t);
    if (err) return err;
    rp->s = BN_dup(s);
    rp->t = BN_dup(t);
    if (!rp->s || !rp->t) err = nomem("rped_set");
    if (!err) err = kg_mpc_mod_init(&rp->mod, n);
    if (err) kg_mpc_rped_clear(rp);
    return err;
}

void kg_mpc_rped_clear(kg_mpc_rped *rp)
{
    BN_free(rp->s);
    BN_free(rp->t);
    kg_mpc_mod_clear(&rp->mod);
    memset(rp, 0, sizeof(*rp));
}

void kg_mpc_rped_sk_clear(kg_mpc_rped_sk *sk)
{
    kg_mpc_rped_clear(&sk->pub);
    kg_mpc_bn_free(sk->lambda);
    kg_mpc_bn_free(sk->phi);
    memset(sk, 0, sizeof(*sk));
}

/* One draw of τ, λ: t = τ^2, s = t^λ (retried by the caller on the
 * negligible chance that s or t is ±1 or s = t). */
static kg_err rped_draw(kg_mpc_rped_sk *sk, const BIGNUM *n, BIGNUM *s, BIGNUM *t, BN_CTX *ctx)
{
    BIGNUM *tau = BN_CTX_get(ctx);
    if (!tau) return nomem("rped_generate");
    kg_err err = kg_mpc_bn_rand_unit(tau, n);
    if (!err && !BN_mod_sqr(t, tau, n, ctx)) err = nomem("rped_generate");
    if (!err && !BN_priv_rand_range(sk->lambda, sk->phi))
        err = kg_err_set(KG_ERR_CRYPTO, "ring-Pedersen: random lambda failed");
    if (!err) err = kg_mpc_bn_exp_secret(s, t, sk->lambda, &sk->pub.mod);
    return err;
}

kg_err kg_mpc_rped_generate(kg_mpc_rped_sk *sk, const BIGNUM *p, const BIGNUM *q)
{
    memset(sk, 0, sizeof(*sk));
    if (BN_cmp(p, q) == 0) return kg_err_set(KG_ERR_BAD_INPUT, "ring-Pedersen: p and q are equal");
    BN_CTX *ctx = kg_mpc_bn_ctx();
    BN_CTX_start(ctx);
    BIGNUM *n = BN_CTX_get(ctx), *s = BN_CTX_get(ctx), *t = BN_CTX_get(ctx), *a = BN_CTX_get(ctx);
    kg_err err = KG_OK;
    sk->lambda = kg_mpc_bn_secret_new();
    sk->phi = kg_mpc_bn_secret_new();
    if (a) BN_set_flags(a, BN_FLG_CONSTTIME);
    if (!a || !sk->lambda || !sk->phi || !BN_mul(n, p, q, ctx) || !BN_sub(a, p, BN_value_one()) ||
        !BN_sub(sk->phi, q, BN_value_one()) || !BN_mul(sk->phi, sk->phi, a, ctx))
        err = nomem("rped_generate");
    if (!err) err = kg_mpc_mod_init(&sk->pub.mod, n);
    if (!err) err = kg_mpc_mod_set_crt(&sk->pub.mod, p, q, 1); /* s = t^λ by CRT */
    for (int i = 0; !err && i < 100; i++) {
        err = rped_draw(sk, n, s, t, ctx);
        if (!err && rped_check(n, s, t) == KG_OK) break;
        if (!err && i == 99) err = kg_err_set(KG_ERR_CRYPTO, "ring-Pedersen: no valid parameters drawn");
    }
    if (!err) {
        kg_mpc_mod_clear(&sk->pub.mod); /* rped_set rebuilds it with the size checks */
        err = kg_mpc_rped_set(&sk->pub, n, s, t);
    }
    if (!err) err = kg_mpc_mod_set_crt(&sk->pub.mod, p, q, 1);
    BN_CTX_end(ctx);
    if (err) kg_mpc_rped_sk_clear(sk);
    return err;
}

kg_err kg_mpc_rped_commit(const kg_mpc_rped *rp, BIGNUM *c, const BIGNUM *x, const BIGNUM *y)
{
    return kg_mpc_bn_exp2(c, rp->s, x, rp->t, y, &rp->mod, true);
}
