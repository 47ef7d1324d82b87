/* Chinese-remainder exponentiation for the moduli a CGGMP21 party owns
 * (eprint 2021/060): its Paillier key N (and N^2) and its ring-Pedersen
 * modulus N̂ (the same N in this implementation).
 *
 * Why: nearly all of presigning is modular exponentiation, and the owner
 * of a modulus knows its factors. The prover works under its own N for
 * Πenc's A and z2, Πlog*'s A, Πaff-g's By and its encryptions K, G, F; the
 * verifier checks s^z1·t^z3 = C·S^e under its own N̂ and Πaff-g's
 * C^z1·(1+N0)^z2·w^N0 = A·D^e under its own N0^2. With N = p·q (or
 * N^2 = p^2·q^2) a power is computed mod p^k and q^k on half-size numbers
 * with the exponent reduced mod the group order φ(p^k) = p^(k-1)(p-1):
 * exponents of ℓ+ε+|N̂| ≈ 2800 bits shrink to ≈ 1024 and each
 * multiplication costs a quarter. A negative exponent uses the inverse
 * of the (reduced) base, so short exponents stay short. The proofs'
 * mathematics is unchanged: the result is the same integer.
 *
 * The reduced exponents and bases depend on the secret factors even when
 * e and a are public, so everything here is treated as secret:
 * BN_FLG_CONSTTIME on every temporary, BN_mod_exp_mont_consttime with the
 * Montgomery contexts cached in the kg_mpc_mod, the base a or a^-1 for a
 * secret sign of e chosen by a masked swap, and Garner's recombination with unsigned adds/subtracts
 * whose operand order is fixed (no value-dependent branch). */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>

#include "kashguard/err.h"
#include "cggmp_zk.h"

struct kg_mpc_mod_crt {
    unsigned k;
    kg_mpc_mod mp, mq;   /* p^k, q^k (secret, flagged) */
    BIGNUM *p, *q;       /* the primes (unit checks) */
    BIGNUM *op, *oq;     /* φ(p^k), φ(q^k) */
    BIGNUM *qinv;        /* (q^k)^-1 mod p^k */
};

static kg_err nomem(const char *what)
{
    return kg_err_set(KG_ERR_NOMEM, "cggmp crt: out of memory in %s", what);
}

static void crt_free(struct kg_mpc_mod_crt *c)
{
    if (!c) return;
    kg_mpc_mod_clear(&c->mp);
    kg_mpc_mod_clear(&c->mq);
    kg_mpc_bn_free(c->p);
    kg_mpc_bn_free(c->q);
    kg_mpc_bn_free(c->op);
    kg_mpc_bn_free(c->oq);
    kg_mpc_bn_free(c->qinv);
    kg_wipe(c, sizeof *c);
    free(c);
}

void kg_mpc_mod_crt_free(kg_mpc_mod *m)
{
    crt_free(m->crt);
    m->crt = NULL;
}

/* pk = p^k, o = φ(p^k) = p^(k-1)·(p-1), all flagged secret. */
static bool prime_power(BIGNUM *pk, BIGNUM *o, const BIGNUM *p, unsigned k, BN_CTX *ctx)
{
    BN_set_flags(pk, BN_FLG_CONSTTIME);
    BN_set_flags(o, BN_FLG_CONSTTIME);
    if (!BN_copy(pk, p) || !BN_copy(o, p) || !BN_sub_word(o, 1)) return false;
    for (unsigned i = 1; i < k; i++)
        if (!BN_mul(o, o, p, ctx) || !BN_mul(pk, pk, p, ctx)) return false;
    return true;
}

static struct kg_mpc_mod_crt *crt_alloc(void)
{
    struct kg_mpc_mod_crt *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->p = kg_mpc_bn_secret_new();
    c->q = kg_mpc_bn_secret_new();
    c->op = kg_mpc_bn_secret_new();
    c->oq = kg_mpc_bn_secret_new();
    c->qinv = kg_mpc_bn_secret_new();
    if (!c->p || !c->q || !c->op || !c->oq || !c->qinv) { crt_free(c); return NULL; }
    return c;
}

kg_err kg_mpc_mod_set_crt(kg_mpc_mod *m, const BIGNUM *p, const BIGNUM *q, unsigned k)
{
    if (!m->n || !p || !q || k < 1 || k > 2 || BN_is_negative(p) || BN_is_negative(q) || !BN_is_odd(p) ||
        !BN_is_odd(q) || BN_cmp(p, q) == 0 || BN_num_bits(p) < 2 || BN_num_bits(q) < 2)
        return kg_err_set(KG_ERR_BAD_INPUT, "cggmp crt: bad factors");
    struct kg_mpc_mod_crt *c = crt_alloc();
    if (!c) return nomem("set_crt");
    c->k = k;
    BN_CTX *ctx = kg_mpc_bn_ctx();
    BN_CTX_start(ctx);
    BIGNUM *pk = BN_CTX_get(ctx), *qk = BN_CTX_get(ctx), *n = BN_CTX_get(ctx);
    kg_err err = KG_OK;
    if (!n || !BN_copy(c->p, p) || !BN_copy(c->q, q) || !prime_power(pk, c->op, p, k, ctx) ||
        !prime_power(qk, c->oq, q, k, ctx) || !BN_mul(n, pk, qk, ctx))
        err = nomem("set_crt");
    else if (BN_cmp(n, m->n) != 0)
        err = kg_err_set(KG_ERR_BAD_INPUT, "cggmp crt: p^k·q^k is not the modulus");
    else if (!BN_mod_inverse(c->qinv, qk, pk, ctx))
        err = kg_err_set(KG_ERR_BAD_INPUT, "cggmp crt: factors not coprime");
    if (!err) err = kg_mpc_mod_init(&c->mp, pk);
    if (!err) err = kg_mpc_mod_init(&c->mq, qk);
    if (n) BN_clear(n);
    BN_CTX_end(ctx);
    if (err) { crt_free(c); return err; }
    kg_mpc_mod_crt_free(m);
    m->crt = c;
    return KG_OK;
}

/* Make x->dmax at least nwords (BN_consttime_swap reads that many words):
 * setting then clearing a bit above the value grows the word array. */
static bool widen(BIGNUM *x, int nwords)
{
    int bit = nwords * BN_BITS2 - 1;
    if (BN_is_bit_set(x, bit)) return true; /* already that wide: keep the bit */
    return BN_set_bit(x, bit) && BN_clear_bit(x, bit);
}

/* For e < 0 the power is (b^-1)^|e|: the exponent keeps its length (a
 * short z1 or e stays short, where e mod φ would be full length). Which
 * base is used follows the sign of e; when that sign is secret the
 * inverse is always computed (constant-time BN_mod_inverse on a flagged
 * value) and picked by a masked swap. b is a unit mod pk. */
static bool base_for_sign(BIGNUM *b, const BIGNUM *e, const kg_mpc_mod *pk, bool sign_secret, BN_CTX *ctx)
{
    if (!sign_secret && !BN_is_negative(e)) return true;
    BN_CTX_start(ctx);
    BIGNUM *inv = BN_CTX_get(ctx);
    bool ok = inv != NULL;
    if (ok) {
        BN_set_flags(inv, BN_FLG_CONSTTIME);
        ok = BN_mod_inverse(inv, b, pk->n, ctx) != NULL;
    }
    if (ok && !sign_secret) ok = BN_copy(b, inv) != NULL;
    if (ok && sign_secret) {
        int nw = (BN_num_bits(pk->n) + BN_BITS2 - 1) / BN_BITS2;
        ok = widen(b, nw) && widen(inv, nw);
        if (ok) BN_consttime_swap((BN_ULONG)BN_is_negative(e), b, inv, nw);
    }
    if (inv) BN_clear(inv);
    BN_CTX_end(ctx);
    return ok;
}

/* r = (a mod pk)^e mod pk with e reduced: |e| mod o on the base of
 * base_for_sign; *unit false when p divides a. */
static bool half(BIGNUM *r, bool *unit, const BIGNUM *a, const BIGNUM *e, const kg_mpc_mod *pk, const BIGNUM *p,
                 const BIGNUM *o, bool sign_secret, BN_CTX *ctx)
{
    BN_CTX_start(ctx);
    BIGNUM *b = BN_CTX_get(ctx), *t = BN_CTX_get(ctx), *x = BN_CTX_get(ctx);
    bool ok = x != NULL;
    if (ok) {
        BN_set_flags(b, BN_FLG_CONSTTIME);
        BN_set_flags(t, BN_FLG_CONSTTIME);
        BN_set_flags(x, BN_FLG_CONSTTIME);
        BN_set_flags(r, BN_FLG_CONSTTIME);
        ok = BN_nnmod(b, a, pk->n, ctx) && BN_nnmod(t, b, p, ctx);
    }
    /* A base divisible by p is not a unit: the caller decides (only whether
     * it is zero leaks, and that case ends the computation anyway). */
    *unit = ok && !BN_is_zero(t);
    if (ok && *unit) {
        ok = BN_copy(t, e) != NULL;
        if (ok) BN_set_negative(t, 0);
        ok = ok && BN_nnmod(x, t, o, ctx) && base_for_sign(b, e, pk, sign_secret, ctx);
        kg_mpc_bn_count_add(pk->n, 1);
        ok = ok && BN_mod_exp_mont_consttime(r, b, x, pk->n, ctx, pk->mont);
    }
    if (x) { BN_clear(b); BN_clear(t); BN_clear(x); }
    BN_CTX_end(ctx);
    return ok;
}

/* r = rq + q^k·((rp − rq)·(q^k)^-1 mod p^k) (Garner), r < p^k·q^k. The
 * difference is taken as rp + p^k − (rq mod p^k), always positive, so the
 * unsigned subtraction needs no comparison. */
static bool garner(BIGNUM *r, const struct kg_mpc_mod_crt *c, const BIGNUM *rp, const BIGNUM *rq, BN_CTX *ctx)
{
    BN_CTX_start(ctx);
    BIGNUM *t = BN_CTX_get(ctx), *h = BN_CTX_get(ctx);
    bool ok = h != NULL;
    if (ok) {
        BN_set_flags(t, BN_FLG_CONSTTIME);
        BN_set_flags(h, BN_FLG_CONSTTIME);
        ok = BN_nnmod(t, rq, c->mp.n, ctx) && BN_uadd(h, rp, c->mp.n) && BN_usub(h, h, t) &&
             BN_mod_mul(h, h, c->qinv, c->mp.n, ctx) && BN_mul(h, h, c->mq.n, ctx) && BN_uadd(r, h, rq);
        BN_clear(t);
        BN_clear(h);
    }
    BN_CTX_end(ctx);
    return ok;
}

kg_err kg_mpc_crt_exp(BIGNUM *r, const BIGNUM *a, const BIGNUM *e, const kg_mpc_mod *m, bool sign_secret,
                      bool *nonunit)
{
    const struct kg_mpc_mod_crt *c = m->crt;
    *nonunit = false;
    if (!c) return kg_err_set(KG_ERR_INTERNAL, "cggmp crt: modulus without factors");
    BN_CTX *ctx = kg_mpc_bn_ctx();
    BN_CTX_start(ctx);
    BIGNUM *rp = BN_CTX_get(ctx), *rq = BN_CTX_get(ctx), *out = BN_CTX_get(ctx);
    kg_err err = KG_OK;
    bool up = false, uq = false;
    if (!out) { err = nomem("crt_exp"); goto done; }
    BN_set_flags(out, BN_FLG_CONSTTIME);
    if (!half(rp, &up, a, e, &c->mp, c->p, c->op, sign_secret, ctx)) { err = nomem("crt_exp"); goto done; }
    if (up && !half(rq, &uq, a, e, &c->mq, c->q, c->oq, sign_secret, ctx)) { err = nomem("crt_exp"); goto done; }
    if (!up || !uq) { *nonunit = true; goto done; }
    /* Written to a temporary so r may alias a or e. */
    if (!garner(out, c, rp, rq, ctx) || !BN_copy(r, out)) err = nomem("crt_exp");
done:
    if (out) { BN_clear(rp); BN_clear(rq); BN_clear(out); }
    BN_CTX_end(ctx);
    return err;
}
