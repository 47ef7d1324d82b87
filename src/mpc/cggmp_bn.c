/* Big-integer layer of CGGMP21 (eprint 2021/060): what every Paillier,
 * ring-Pedersen and ZK-proof computation in the mpc layer stands on.
 *
 *  - One BN_CTX per thread (pthread key with a destructor), so the proofs
 *    never allocate a context per call and threads never share one.
 *  - kg_mpc_mod: a modulus with its Montgomery context built once; the
 *    paper's cost is almost all modular exponentiation on the same few
 *    moduli (N, N^2, N̂, p^2, q^2).
 *  - Exponentiation with a signed exponent (the proofs' responses z = α + e·x
 *    are signed integers, §2.2 "±2^k"): public exponents take the fast
 *    path; secret exponents (shares, nonces, masks, λ) go through
 *    BN_mod_exp_mont_consttime on |e| with the base a or a^-1 picked by
 *    BN_consttime_swap, so neither the sign nor the bits of e steer a branch.
 *  - The owner's moduli (N, N^2, N̂) carry their factorisation and every
 *    exponentiation on them runs by CRT (cggmp_crt.c); public two-base
 *    powers on other moduli share their squarings (BN_mod_exp2_mont).
 *  - Sampling: uniform in ±2^k·M (the masks of Figs. 14-31) and in Z*_N.
 *  - Bridges to the elliptic-curve group (secp256k1, P-256) and the wire
 *    encoding of signed integers (minimal sign + magnitude). */
#include <pthread.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>

#include "kashguard/err.h"
#include "cggmp_zk.h"
#include "mpc_int.h"

/* ---------------------------------------------------------------- BN_CTX */

static pthread_key_t ctx_key;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;

static void ctx_destroy(void *p)
{
    BN_CTX_free(p);
}

static void ctx_key_init(void)
{
    if (pthread_key_create(&ctx_key, ctx_destroy) != 0) kg_mpc_fatal("cggmp: pthread_key_create");
}

BN_CTX *kg_mpc_bn_ctx(void)
{
    pthread_once(&ctx_once, ctx_key_init);
    BN_CTX *c = pthread_getspecific(ctx_key);
    if (c) return c;
    c = BN_CTX_secure_new(); /* temporaries hold secrets: secure heap when configured */
    if (!c || pthread_setspecific(ctx_key, c) != 0) kg_mpc_fatal("cggmp: cannot allocate a BN_CTX");
    return c;
}

BIGNUM *kg_mpc_bn_secret_new(void)
{
    BIGNUM *x = BN_new();
    if (x) BN_set_flags(x, BN_FLG_CONSTTIME);
    return x;
}

void kg_mpc_bn_free(BIGNUM *x)
{
    BN_clear_free(x);
}

/* --------------------------------------------------------------- moduli */

kg_err kg_mpc_mod_init(kg_mpc_mod *m, const BIGNUM *n)
{
    memset(m, 0, sizeof(*m));
    if (!n || BN_is_negative(n) || !BN_is_odd(n) || BN_num_bits(n) < 2)
        return kg_err_set(KG_ERR_BAD_INPUT, "cggmp: modulus must be odd and at least 3");
    m->n = BN_dup(n);
    m->mont = BN_MONT_CTX_new();
    if (!m->n || !m->mont) goto nomem;
    /* A secret modulus (p^2, q^2) keeps its flag: BN_MONT_CTX_set then
     * copies it into the context's own N. */
    if (BN_get_flags(n, BN_FLG_CONSTTIME)) BN_set_flags(m->n, BN_FLG_CONSTTIME);
    if (!BN_MONT_CTX_set(m->mont, m->n, kg_mpc_bn_ctx())) goto nomem;
    return KG_OK;
nomem:
    kg_mpc_mod_clear(m);
    return kg_err_set(KG_ERR_NOMEM, "cggmp: out of memory building a Montgomery context");
}

void kg_mpc_mod_clear(kg_mpc_mod *m)
{
    kg_mpc_mod_crt_free(m);
    kg_mpc_bn_free(m->n);
    BN_MONT_CTX_free(m->mont);
    m->n = NULL;
    m->mont = NULL;
}

/* ------------------------------------------------------------- counters */

#ifdef KG_CGGMP_COUNT
static unsigned long exp_counts[KG_MPC_BN_COUNT_SLOTS][2];

void kg_mpc_bn_count_add(const BIGNUM *n, int secret)
{
    int slot = (BN_num_bits(n) + 255) / 256;
    if (slot >= KG_MPC_BN_COUNT_SLOTS) slot = KG_MPC_BN_COUNT_SLOTS - 1;
    __atomic_fetch_add(&exp_counts[slot][secret ? 1 : 0], 1, __ATOMIC_RELAXED);
}

bool kg_mpc_bn_count_get(unsigned long out[KG_MPC_BN_COUNT_SLOTS][2])
{
    for (int b = 0; b < KG_MPC_BN_COUNT_SLOTS; b++)
        for (int s = 0; s < 2; s++) out[b][s] = __atomic_load_n(&exp_counts[b][s], __ATOMIC_RELAXED);
    return true;
}

void kg_mpc_bn_count_reset(void)
{
    for (int b = 0; b < KG_MPC_BN_COUNT_SLOTS; b++)
        for (int s = 0; s < 2; s++) __atomic_store_n(&exp_counts[b][s], 0, __ATOMIC_RELAXED);
}
#else
void kg_mpc_bn_count_add(const BIGNUM *n, int secret)
{
    (void)n;
    (void)secret;
}

bool kg_mpc_bn_count_get(unsigned long out[KG_MPC_BN_COUNT_SLOTS][2])
{
    memset(out, 0, sizeof(unsigned long) * 2 * KG_MPC_BN_COUNT_SLOTS);
    return false;
}

void kg_mpc_bn_count_reset(void)
{
}
#endif

/* ------------------------------------------------------- exponentiation */

static kg_err nomem(const char *what)
{
    return kg_err_set(KG_ERR_NOMEM, "cggmp: out of memory in %s", what);
}

static kg_err exp_plain(BIGNUM *r, const BIGNUM *a, const BIGNUM *e, const kg_mpc_mod *m)
{
    BN_CTX *ctx = kg_mpc_bn_ctx();
    BN_CTX_start(ctx);
    BIGNUM *base = BN_CTX_get(ctx), *ae = BN_CTX_get(ctx), *out = BN_CTX_get(ctx);
    kg_err err = KG_OK;
    if (!out) { err = nomem("bn_exp"); goto done; }
    /* A secret base (flagged BN_FLG_CONSTTIME, e.g. a Paillier nonce ρ in
     * ρ^e) keeps its flag, so the inverse and BN_mod_exp_mont take
     * OpenSSL's constant-time paths. */
    if (BN_get_flags(a, BN_FLG_CONSTTIME)) BN_set_flags(base, BN_FLG_CONSTTIME);
    if (!BN_nnmod(base, a, m->n, ctx) || !BN_copy(ae, e)) { err = nomem("bn_exp"); goto done; }
    if (BN_is_negative(e)) {
        if (!BN_mod_inverse(base, base, m->n, ctx)) {
            err = kg_err_set(KG_ERR_BAD_INPUT, "cggmp: negative power of a non-invertible base");
            goto done;
        }
        BN_set_negative(ae, 0);
    }
    /* Written to a temporary so r may alias a or e. */
    kg_mpc_bn_count_add(m->n, BN_get_flags(base, BN_FLG_CONSTTIME) != 0);
    if (!BN_mod_exp_mont(out, base, ae, m->n, ctx, m->mont) || !BN_copy(r, out)) err = nomem("bn_exp");
done:
    BN_CTX_end(ctx);
    return err;
}

kg_err kg_mpc_bn_exp(BIGNUM *r, const BIGNUM *a, const BIGNUM *e, const kg_mpc_mod *m)
{
    /* The owner's modulus: mod p and q (cggmp_crt.c); a base that is not a
     * unit keeps the plain path and its exact semantics. */
    if (m->crt) {
        bool nonunit = false;
        kg_err err = kg_mpc_crt_exp(r, a, e, m, false, &nonunit);
        if (err || !nonunit) return err;
    }
    return exp_plain(r, a, e, m);
}

kg_err kg_mpc_bn_exp_ct(BIGNUM *r, const BIGNUM *a, const BIGNUM *e, const kg_mpc_mod *m)
{
    if (BN_is_negative(e)) return kg_err_set(KG_ERR_BAD_INPUT, "cggmp: negative exponent in bn_exp_ct");
    if (m->crt) {
        bool nonunit = false;
        kg_err err = kg_mpc_crt_exp(r, a, e, m, false, &nonunit); /* e >= 0 */
        if (err || !nonunit) return err;
    }
    BN_CTX *ctx = kg_mpc_bn_ctx();
    BN_CTX_start(ctx);
    BIGNUM *b = BN_CTX_get(ctx), *out = BN_CTX_get(ctx);
    kg_err err = KG_OK;
    if (!out) { err = nomem("bn_exp_ct"); goto done; }
    BN_set_flags(b, BN_FLG_CONSTTIME);
    BN_set_flags(out, BN_FLG_CONSTTIME);
    kg_mpc_bn_count_add(m->n, 1);
    if (!BN_nnmod(b, a, m->n, ctx) || !BN_mod_exp_mont_consttime(out, b, e, m->n, ctx, m->mont) || !BN_copy(r, out))
        err = nomem("bn_exp_ct");
done:
    BN_CTX_end(ctx);
    return err;
}

/* Make x->dmax at least nwords (BN_consttime_swap reads that many words):
 * setting then clearing the top bit grows the array with zero words. */
static bool bn_widen(BIGNUM *x, int nwords)
{
    int bit = nwords * BN_BITS2 - 1;
    if (BN_is_bit_set(x, bit)) return true;
    return BN_set_bit(x, bit) && BN_clear_bit(x, bit);
}

static kg_err exp_secret_plain(BIGNUM *r, const BIGNUM *a, const BIGNUM *e, const kg_mpc_mod *m)
{
    BN_CTX *ctx = kg_mpc_bn_ctx();
    BN_CTX_start(ctx);
    BIGNUM *base = BN_CTX_get(ctx), *inv = BN_CTX_get(ctx);
    BIGNUM *ae = BN_CTX_get(ctx), *out = BN_CTX_get(ctx);
    kg_err err = KG_OK;
    if (!out || !BN_nnmod(base, a, m->n, ctx) || !BN_copy(ae, e)) { err = nomem("bn_exp_secret"); goto done; }
    BN_set_flags(ae, BN_FLG_CONSTTIME);
    BN_set_flags(out, BN_FLG_CONSTTIME);
    /* The base may be secret too (a Paillier nonce ρ raised to e): the flag
     * makes BN_mod_inverse take OpenSSL's constant-time path. */
    BN_set_flags(base, BN_FLG_CONSTTIME);
    /* Which of a and a^-1 is used depends on the secret sign: a masked swap,
     * not a branch. */
    if (!BN_mod_inverse(inv, base, m->n, ctx)) {
        err = kg_err_set(KG_ERR_BAD_INPUT, "cggmp: base of a secret power is not invertible");
        goto done;
    }
    int nwords = (BN_num_bits(m->n) + BN_BITS2 - 1) / BN_BITS2;
    if (!bn_widen(base, nwords) || !bn_widen(inv, nwords)) { err = nomem("bn_exp_secret"); goto done; }
    BN_consttime_swap((BN_ULONG)BN_is_negative(e), base, inv, nwords);
    BN_set_negative(ae, 0);
    kg_mpc_bn_count_add(m->n, 1);
    if (!BN_mod_exp_mont_consttime(out, base, ae, m->n, ctx, m->mont) || !BN_copy(r, out))
        err = nomem("bn_exp_secret");
done:
    BN_CTX_end(ctx);
    return err;
}

kg_err kg_mpc_bn_exp_secret(BIGNUM *r, const BIGNUM *a, const BIGNUM *e, const kg_mpc_mod *m)
{
    if (!m->crt) return exp_secret_plain(r, a, e, m);
    /* The owner's modulus: mod p^k and q^k (cggmp_crt.c); a base that is
     * not a unit is refused as the plain path does. */
    bool nonunit = false;
    kg_err err = kg_mpc_crt_exp(r, a, e, m, true, &nonunit);
    if (!err && nonunit) err = kg_err_set(KG_ERR_BAD_INPUT, "cggmp: base of a secret power is not invertible");
    return err;
}

/* base = a mod n, inverted when e < 0; ae = |e|. Public values only.
 * *zero: the base is 0 mod n (BN_mod_exp2_mont would answer 0 even for a
 * zero exponent). */
static kg_err exp2_prep(BIGNUM *base, BIGNUM *ae, bool *zero, const BIGNUM *a, const BIGNUM *e, const kg_mpc_mod *m,
                        BN_CTX *ctx)
{
    if (!BN_nnmod(base, a, m->n, ctx) || !BN_copy(ae, e)) return nomem("bn_exp2");
    *zero = BN_is_zero(base);
    if (!BN_is_negative(e)) return KG_OK;
    if (!BN_mod_inverse(base, base, m->n, ctx))
        return kg_err_set(KG_ERR_BAD_INPUT, "cggmp: negative power of a non-invertible base");
    BN_set_negative(ae, 0);
    return KG_OK;
}

/* a^x · b^y for public exponents and public bases in one pass
 * (BN_mod_exp2_mont: the squarings are shared, about 40% fewer
 * multiplications than two exponentiations). *done false: not taken
 * (a zero base), the caller computes the two powers. */
static kg_err exp2_simul(BIGNUM *r, bool *done, const BIGNUM *a, const BIGNUM *x, const BIGNUM *b, const BIGNUM *y,
                         const kg_mpc_mod *m)
{
    *done = false;
    BN_CTX *ctx = kg_mpc_bn_ctx();
    BN_CTX_start(ctx);
    BIGNUM *ba = BN_CTX_get(ctx), *xa = BN_CTX_get(ctx), *bb = BN_CTX_get(ctx), *yb = BN_CTX_get(ctx);
    BIGNUM *out = BN_CTX_get(ctx);
    bool za = false, zb = false;
    kg_err err = out ? KG_OK : nomem("bn_exp2");
    if (!err) err = exp2_prep(ba, xa, &za, a, x, m, ctx);
    if (!err) err = exp2_prep(bb, yb, &zb, b, y, m, ctx);
    if (!err && !za && !zb) {
        kg_mpc_bn_count_add(m->n, 0);
        kg_mpc_bn_count_add(m->n, 0);
        if (!BN_mod_exp2_mont(out, ba, xa, bb, yb, m->n, ctx, m->mont) || !BN_copy(r, out)) err = nomem("bn_exp2");
        else *done = true;
    }
    BN_CTX_end(ctx);
    return err;
}

kg_err kg_mpc_bn_exp2(BIGNUM *r, const BIGNUM *a, const BIGNUM *x, const BIGNUM *b, const BIGNUM *y,
                      const kg_mpc_mod *m, bool secret)
{
    /* Public exponents and bases on a peer's modulus: one simultaneous
     * exponentiation (variable time: nothing here is secret). */
    if (!secret && !m->crt && !BN_get_flags(a, BN_FLG_CONSTTIME) && !BN_get_flags(b, BN_FLG_CONSTTIME)) {
        bool done = false;
        kg_err err = exp2_simul(r, &done, a, x, b, y, m);
        if (err || done) return err;
    }
    BN_CTX *ctx = kg_mpc_bn_ctx();
    BN_CTX_start(ctx);
    BIGNUM *u = BN_CTX_get(ctx), *v = BN_CTX_get(ctx);
    kg_err err = u && v ? KG_OK : nomem("bn_exp2");
    if (!err) err = secret ? kg_mpc_bn_exp_secret(u, a, x, m) : kg_mpc_bn_exp(u, a, x, m);
    if (!err) err = secret ? kg_mpc_bn_exp_secret(v, b, y, m) : kg_mpc_bn_exp(v, b, y, m);
    if (!err && !BN_mod_mul_montgomery(u, u, v, m->mont, ctx)) err = nomem("bn_exp2");
    /* u·v·R^-1: one more multiplication by R^2 (times R^-1) restores u·v. */
    if (!err && !BN_to_montgomery(r, u, m->mont, ctx)) err = nomem("bn_exp2");
    BN_CTX_end(ctx);
    return err;
}

/* ------------------------------------------------------------- sampling */

/* bound = 2^bits · mult (mult NULL: 1). */
static bool pm_bound(BIGNUM *bound, unsigned bits, const BIGNUM *mult)
{
    if (bits > 1u << 20) return false; /* far beyond any CGGMP range: a contract breach */
    if (mult) return BN_lshift(bound, mult, (int)bits) != 0;
    BN_zero(bound);
    return BN_set_bit(bound, (int)bits) != 0;
}

kg_err kg_mpc_bn_rand_pm(BIGNUM *x, unsigned bits, const BIGNUM *mult)
{
    KG_ARG_CHECK(!mult || (!BN_is_negative(mult) && !BN_is_zero(mult)));
    BN_CTX *ctx = kg_mpc_bn_ctx();
    BN_CTX_start(ctx);
    BIGNUM *bound = BN_CTX_get(ctx), *range = BN_CTX_get(ctx);
    kg_err err = KG_OK;
    BN_set_flags(x, BN_FLG_CONSTTIME);
    /* 2·bound + 1 values; BN_priv_rand_range is itself rejection sampling. */
    if (!range || !pm_bound(bound, bits, mult) || !BN_lshift1(range, bound) || !BN_add_word(range, 1)) {
        err = nomem("bn_rand_pm");
    } else if (!BN_priv_rand_range(x, range) || !BN_sub(x, x, bound)) {
        BN_zero(x);
        err = kg_err_set(KG_ERR_CRYPTO, "cggmp: random sampling in ±2^%u failed", bits);
    }
    BN_CTX_end(ctx);
    return err;
}

kg_err kg_mpc_bn_rand_unit(BIGNUM *x, const BIGNUM *n)
{
    KG_ARG_CHECK(n && !BN_is_negative(n) && BN_num_bits(n) >= 2);
    BN_set_flags(x, BN_FLG_CONSTTIME);
    /* For the moduli used here (products of two large primes) a non-unit
     * is found with negligible probability; the bound only stops a loop on
     * a broken RNG. */
    for (int i = 0; i < 1000; i++) {
        if (!BN_priv_rand_range(x, n)) break;
        if (kg_mpc_bn_is_unit(x, n)) return KG_OK;
    }
    BN_zero(x);
    return kg_err_set(KG_ERR_CRYPTO, "cggmp: random sampling in Z*_N failed");
}

bool kg_mpc_bn_in_pm(const BIGNUM *x, unsigned bits, const BIGNUM *mult)
{
    if (mult && (BN_is_negative(mult) || BN_is_zero(mult))) return false;
    BN_CTX *ctx = kg_mpc_bn_ctx();
    BN_CTX_start(ctx);
    BIGNUM *bound = BN_CTX_get(ctx);
    /* Fails closed: an allocation failure reads as "out of range". */
    bool ok = bound && pm_bound(bound, bits, mult) && BN_ucmp(x, bound) <= 0;
    BN_CTX_end(ctx);
    return ok;
}

bool kg_mpc_bn_is_unit(const BIGNUM *x, const BIGNUM *n)
{
    if (BN_is_negative(x) || BN_is_zero(x) || BN_cmp(x, n) >= 0) return false;
    BN_CTX *ctx = kg_mpc_bn_ctx();
    BN_CTX_start(ctx);
    BIGNUM *g = BN_CTX_get(ctx);
    /* x is a unit iff it has an inverse. BN_mod_inverse is several times
     * faster than OpenSSL 3's constant-time BN_gcd (a masked swap per
     * step: about a fifth of a presign's time under perf, since every
     * received ciphertext and proof value is checked); a secret x
     * (flagged, e.g. a fresh nonce) keeps OpenSSL's constant-time
     * inversion (bn_mod_inverse_no_branch). The error it queues for a
     * non-unit is popped. */
    bool ok = false;
    if (g) {
        if (BN_get_flags(x, BN_FLG_CONSTTIME)) BN_set_flags(g, BN_FLG_CONSTTIME);
        ERR_set_mark();
        ok = BN_mod_inverse(g, x, n, ctx) != NULL;
        ERR_pop_to_mark();
        BN_clear(g);
    }
    BN_CTX_end(ctx);
    return ok;
}

/* ------------------------------------------------------ the curve groups */

static BIGNUM *order_k1, *order_p256;
static pthread_once_t order_once = PTHREAD_ONCE_INIT;

static void order_init(void)
{
    if (!BN_hex2bn(&order_k1, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141") ||
        !BN_hex2bn(&order_p256, "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551"))
        kg_mpc_fatal("cggmp: cannot build the group orders");
}

const BIGNUM *kg_mpc_group_order(kg_mpc_group_id g)
{
    if (g != KG_MPC_GROUP_SECP256K1 && g != KG_MPC_GROUP_P256) return NULL;
    pthread_once(&order_once, order_init);
    return g == KG_MPC_GROUP_SECP256K1 ? order_k1 : order_p256;
}

kg_err kg_mpc_bn_to_scalar(kg_mpc_group_id g, kg_mpc_scalar *out, const BIGNUM *x)
{
    const BIGNUM *q = kg_mpc_group_order(g);
    KG_ARG_CHECK(q != NULL);
    memset(out, 0, sizeof(*out));
    BN_CTX *ctx = kg_mpc_bn_ctx();
    BN_CTX_start(ctx);
    BIGNUM *t = BN_CTX_get(ctx);
    uint8_t buf[KG_MPC_SCALAR_BYTES];
    kg_err err = KG_OK;
    if (t) BN_set_flags(t, BN_FLG_CONSTTIME);
    /* Both CGGMP groups encode scalars as 32-byte big-endian integers < q. */
    if (!t || !BN_nnmod(t, x, q, ctx) || BN_bn2binpad(t, buf, sizeof(buf)) != (int)sizeof(buf))
        err = nomem("bn_to_scalar");
    else if (kg_mpc_scalar_from_bytes(g, out, buf, sizeof(buf)) != KG_OK)
        err = kg_err_set(KG_ERR_INTERNAL, "cggmp: reduced integer is not a scalar");
    kg_wipe(buf, sizeof(buf));
    BN_CTX_end(ctx);
    return err;
}

BIGNUM *kg_mpc_scalar_to_bn(kg_mpc_group_id g, const kg_mpc_scalar *s)
{
    if (!kg_mpc_group_order(g)) return NULL;
    BIGNUM *x = kg_mpc_bn_secret_new();
    if (x && !BN_bin2bn(s->b, KG_MPC_SCALAR_BYTES, x)) {
        kg_mpc_bn_free(x);
        return NULL;
    }
    return x;
}

kg_err kg_mpc_point_mul_bn(kg_mpc_group_id g, kg_mpc_point *out, const BIGNUM *x, const kg_mpc_point *p)
{
    kg_mpc_scalar k;
    kg_err err = kg_mpc_bn_to_scalar(g, &k, x);
    if (err) {
        memset(out, 0, sizeof(*out));
        return err;
    }
    if (p) kg_mpc_point_mul(g, out, &k, p);
    else kg_mpc_point_base_mul(g, out, &k);
    kg_wipe(&k, sizeof(k));
    return KG_OK;
}

/* --------------------------------------------------------- wire encoding */

void kg_mpc_bn_write(kg_mpc_node_wr *w, const BIGNUM *x)
{
    uint8_t buf[KG_CGGMP_BN_MAX_BYTES];
    int n = BN_num_bytes(x);
    /* A value the readers would refuse is our own bug: fail the writer. */
    if (n < 0 || (size_t)n + 1 > sizeof(buf)) { w->bad = true; return; }
    /* Zero is the single byte 00 (sign only; OpenSSL has no negative zero). */
    buf[0] = BN_is_negative(x) ? 1 : 0;
    if (n) BN_bn2bin(x, buf + 1);
    kg_mpc_node_wr_blob(w, buf, (size_t)n + 1);
}

kg_err kg_mpc_bn_read(kg_mpc_node_rd *r, BIGNUM **out, size_t max_bytes, const char *what)
{
    *out = NULL;
    if (max_bytes > KG_CGGMP_BN_MAX_BYTES) max_bytes = KG_CGGMP_BN_MAX_BYTES;
    size_t len = 0;
    const uint8_t *p = kg_mpc_node_rd_blob(r, &len, max_bytes);
    if (!p) return kg_err_set(KG_ERR_BAD_INPUT, "%s: integer truncated or over %zu bytes", what, max_bytes);
    const char *bad = NULL;
    if (len == 0) bad = "empty integer";
    else if (p[0] > 1) bad = "bad sign byte";
    else if (len == 1 && p[0] == 1) bad = "negative zero";
    else if (len >= 2 && p[1] == 0) bad = "non-minimal integer"; /* also 00 00 and 01 00 */
    if (bad) {
        r->bad = true;
        return kg_err_set(KG_ERR_BAD_INPUT, "%s: %s", what, bad);
    }
    BIGNUM *x = BN_bin2bn(p + 1, (int)(len - 1), NULL);
    if (!x) return nomem("bn_read");
    BN_set_negative(x, p[0]);
    *out = x;
    return KG_OK;
}

void kg_mpc_point_write(kg_mpc_node_wr *w, kg_mpc_group_id g, const kg_mpc_point *p)
{
    uint8_t buf[KG_MPC_POINT_MAX_BYTES];
    size_t len = kg_mpc_group_point_len(g);
    if (!len || kg_mpc_point_serialize(g, buf, p) != KG_OK) { w->bad = true; return; }
    kg_mpc_node_wr_fixed(w, buf, len);
}

kg_err kg_mpc_point_read(kg_mpc_node_rd *r, kg_mpc_group_id g, kg_mpc_point *out, const char *what)
{
    memset(out, 0, sizeof(*out));
    size_t len = kg_mpc_group_point_len(g);
    const uint8_t *p = len ? kg_mpc_node_rd_fixed(r, len) : NULL;
    if (!p) return kg_err_set(KG_ERR_BAD_INPUT, "%s: point truncated", what);
    if (kg_mpc_point_deserialize(g, out, p, len) != KG_OK) {
        r->bad = true;
        return kg_err_set(KG_ERR_BAD_INPUT, "%s: not a valid %s point", what, kg_mpc_group_name(g));
    }
    return KG_OK;
}
