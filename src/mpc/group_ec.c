/* NIST P-256 and secp256k1 for FROST (RFC 9591 §6.4, §6.5).
 *
 * Scalars are 32-byte big-endian integers < n; points are 33-byte SEC1
 * compressed encodings, with 33 zero bytes standing for the point at
 * infinity inside the library (SEC1 would use the single byte 00; FROST never
 * serializes it). Points go through OpenSSL EC: each operation decodes into
 * OpenSSL objects, works, and encodes back (the encodings are what FROST
 * hashes anyway).
 *
 * The EC_GROUP, the order, a Montgomery context per curve and a randomised
 * libsecp256k1 context are built once (pthread_once) and only read
 * afterwards, so threads share them.
 *
 * Constant time (checked by tests/ctime/test_ctime.c under Valgrind):
 *  - secp256k1 scalars never touch OpenSSL BIGNUM. add, sub, mul, negate
 *    are libsecp256k1's constant-time seckey_tweak_add / tweak_mul / negate
 *    on the 32-byte big-endian strings themselves (no (de)serialisation).
 *    Those refuse a zero key or a zero result and leave the key
 *    "unspecified" when they do; the right answer in every such case is 0
 *    or the other operand, chosen with constant-time masks (ct_pick), never
 *    a branch. Reduction of wide hashes is Horner's rule in base 2^128 on
 *    the same add/mul; inversion is Fermat (a^(n-2)) by square-and-multiply
 *    over the public exponent. k*G is libsecp256k1's pubkey_create (blinded,
 *    constant time); the result is a public key, released with
 *    kg_declassify. k*P with a secret k (not used by FROST with secrets)
 *    stays on OpenSSL's ladder, whose BN_bin2bn skips leading zero bytes.
 *  - P-256 scalars use OpenSSL BIGNUM with BN_FLG_CONSTTIME: Montgomery
 *    multiplication, BN_mod_add_quick, Fermat inversion with
 *    BN_mod_exp_mont_consttime. This is NOT constant time and cannot be
 *    made so with OpenSSL's public API: BN_bin2bn skips leading zero bytes,
 *    every BIGNUM carries a value-dependent word count (top) that its loops
 *    run over and bn_correct_top recomputes after each operation,
 *    BN_mod_sub_quick is a plain subtraction plus a conditional add, and
 *    the fixed-width (fixed_top) internals are not exported. The leak is
 *    the number of leading zero bytes/words of the operands and results
 *    (what lattice attacks on nonces such as Minerva use). Point
 *    multiplication is OpenSSL's constant-time nistz256 / ladder. */
#include <pthread.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <secp256k1.h>
#include <sodium.h>

#include "mpc_int.h"

typedef struct {
    EC_GROUP *grp;
    BIGNUM *n;
    BN_MONT_CTX *mont;
    uint8_t n_be[32];
} ec_curve;

static ec_curve curves[2];
static secp256k1_context *k1_ctx; /* randomised: blinds pubkey_create */
static pthread_once_t curves_once = PTHREAD_ONCE_INIT;

static void curve_init_one(ec_curve *c, int nid)
{
    BN_CTX *ctx = BN_CTX_new();
    c->grp = EC_GROUP_new_by_curve_name(nid);
    c->n = BN_new();
    c->mont = BN_MONT_CTX_new();
    if (!ctx || !c->grp || !c->n || !c->mont || !EC_GROUP_get_order(c->grp, c->n, ctx)
        || !BN_MONT_CTX_set(c->mont, c->n, ctx) || BN_bn2binpad(c->n, c->n_be, 32) != 32)
        kg_mpc_fatal("OpenSSL EC group set-up");
    BN_CTX_free(ctx);
}

static void curves_init(void)
{
    curve_init_one(&curves[0], NID_X9_62_prime256v1);
    curve_init_one(&curves[1], NID_secp256k1);
    uint8_t seed[32];
    randombytes_buf(seed, sizeof seed);
    k1_ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (!k1_ctx || !secp256k1_context_randomize(k1_ctx, seed))
        kg_mpc_fatal("libsecp256k1 context set-up");
    sodium_memzero(seed, sizeof seed);
}

static const ec_curve *curve(kg_mpc_group_id g)
{
    pthread_once(&curves_once, curves_init);
    return &curves[g == KG_MPC_GROUP_SECP256K1 ? 1 : 0];
}

static BN_CTX *ctx_new(void)
{
    BN_CTX *ctx = BN_CTX_secure_new();
    if (!ctx)
        kg_mpc_fatal("BN_CTX_secure_new");
    return ctx;
}

/* A BIGNUM from a scalar, flagged constant time, allocated in ctx. */
static BIGNUM *bn_get(BN_CTX *ctx, const uint8_t *b, size_t len)
{
    BIGNUM *x = BN_CTX_get(ctx);
    if (!x || !BN_bin2bn(b, (int)len, x))
        kg_mpc_fatal("BN_bin2bn");
    BN_set_flags(x, BN_FLG_CONSTTIME);
    return x;
}

static void bn_put(kg_mpc_scalar *out, const BIGNUM *x)
{
    if (BN_bn2binpad(x, out->b, 32) != 32)
        kg_mpc_fatal("BN_bn2binpad");
}

/* a < b for 32-byte big-endian strings, without branches on the data. */
static bool ct_lt(const uint8_t a[32], const uint8_t b[32])
{
    unsigned lt = 0, eq = 1;
    for (size_t i = 0; i < 32; i++) {
        unsigned x = a[i], y = b[i];
        lt |= eq & ((x - y) >> 8 & 1); /* x < y at the first difference */
        eq &= ((x ^ y) - 1) >> 8 & 1;
    }
    return lt == 1;
}

static bool sc_canonical(kg_mpc_group_id g, const uint8_t in[32])
{
    return ct_lt(in, curve(g)->n_be);
}

static void sc_random(kg_mpc_group_id g, kg_mpc_scalar *out)
{
    static const uint8_t zero[32];
    for (;;) { /* rejection sampling: at most 2^-32 rejections per draw for P-256 */
        randombytes_buf(out->b, 32);
        if (sc_canonical(g, out->b) && sodium_memcmp(out->b, zero, 32) != 0)
            return;
    }
}

typedef void sc_binop_fn(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_scalar *a,
                         const kg_mpc_scalar *b);

/* A big-endian integer of up to 64 bytes mod n, by Horner's rule in base
 * 2^128 with the group's own add and mul (each 16-byte digit is < n), so it
 * is as constant time as they are: hash outputs here may be secret nonces
 * (H3). */
static void sc_reduce_with(kg_mpc_scalar *out, const uint8_t *in, size_t len, kg_mpc_group_id g,
                           sc_binop_fn *add, sc_binop_fn *mul)
{
    uint8_t wide[64] = {0};
    kg_mpc_scalar r = {{0}}, digit = {{0}}, base = {{0}};
    base.b[15] = 1; /* 2^128 */
    memcpy(wide + 64 - len, in, len); /* 1 <= len <= 64: checked by group.c */
    memcpy(r.b + 16, wide, 16);
    for (size_t i = 1; i < 4; i++) {
        memcpy(digit.b + 16, wide + 16 * i, 16);
        mul(g, &r, &r, &base);
        add(g, &r, &r, &digit);
    }
    *out = r;
    sodium_memzero(wide, sizeof wide);
    sodium_memzero(&r, sizeof r);
    sodium_memzero(&digit, sizeof digit);
}

typedef enum { OP_ADD, OP_SUB, OP_MUL } sc_op;

static void sc_binop(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_scalar *a,
                     const kg_mpc_scalar *b, sc_op op)
{
    const ec_curve *c = curve(g);
    BN_CTX *ctx = ctx_new();
    BN_CTX_start(ctx);
    BIGNUM *x = bn_get(ctx, a->b, 32), *y = bn_get(ctx, b->b, 32), *r = BN_CTX_get(ctx);
    int ok = r != NULL;
    if (ok) {
        BN_set_flags(r, BN_FLG_CONSTTIME);
        if (op == OP_ADD)
            ok = BN_mod_add_quick(r, x, y, c->n);
        else if (op == OP_SUB)
            ok = BN_mod_sub_quick(r, x, y, c->n);
        else /* mont(x*R, y) = x*y */
            ok = BN_to_montgomery(x, x, c->mont, ctx) && BN_mod_mul_montgomery(r, x, y, c->mont, ctx);
    }
    if (!ok)
        kg_mpc_fatal("BIGNUM scalar arithmetic");
    bn_put(out, r);
    BN_CTX_end(ctx); /* secure BN_CTX: cleared on free */
    BN_CTX_free(ctx);
}

static void sc_add(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_scalar *a, const kg_mpc_scalar *b)
{
    sc_binop(g, out, a, b, OP_ADD);
}

static void sc_sub(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_scalar *a, const kg_mpc_scalar *b)
{
    sc_binop(g, out, a, b, OP_SUB);
}

static void sc_mul(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_scalar *a, const kg_mpc_scalar *b)
{
    sc_binop(g, out, a, b, OP_MUL);
}

static void sc_reduce(kg_mpc_group_id g, kg_mpc_scalar *out, const uint8_t *in, size_t len)
{
    sc_reduce_with(out, in, len, g, sc_add, sc_mul);
}

/* Fermat: a^(n-2) with BN_mod_exp_mont_consttime. Zero has no inverse; the
 * callers invert public Lagrange denominators, so that test may branch. */
static int sc_invert(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_scalar *a)
{
    if (sodium_is_zero(a->b, 32))
        return -1;
    const ec_curve *c = curve(g);
    BN_CTX *ctx = ctx_new();
    BN_CTX_start(ctx);
    BIGNUM *x = bn_get(ctx, a->b, 32), *e = BN_CTX_get(ctx), *r = BN_CTX_get(ctx);
    if (!e || !r || !BN_copy(e, c->n) || !BN_sub_word(e, 2))
        kg_mpc_fatal("BIGNUM exponent n-2");
    BN_set_flags(r, BN_FLG_CONSTTIME);
    if (!BN_mod_exp_mont_consttime(r, x, e, c->n, ctx, c->mont))
        kg_mpc_fatal("BN_mod_exp_mont_consttime");
    bn_put(out, r);
    BN_CTX_end(ctx);
    BN_CTX_free(ctx);
    return 0;
}

/* ------------------------------------------------------ secp256k1 scalars */

static const uint8_t zero32[32];

static const secp256k1_context *k1(void)
{
    (void)curve(KG_MPC_GROUP_SECP256K1); /* creates k1_ctx once */
    return k1_ctx;
}

/* out = flag ? b : a (flag 0 or 1) without a branch; out may alias a or b. */
static void ct_pick(uint8_t out[32], const uint8_t a[32], const uint8_t b[32], int flag)
{
    volatile int vflag = flag; /* keep the compiler from turning this into a branch */
    uint8_t mask = (uint8_t)(0u - ((unsigned)vflag & 1u));
    for (size_t i = 0; i < 32; i++)
        out[i] = (uint8_t)(a[i] ^ (mask & (a[i] ^ b[i])));
}

/* tweak_add fails (key left unspecified) when a = 0, where the sum is b,
 * and when a + b = 0, where it is 0. */
static void k1_add(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_scalar *a, const kg_mpc_scalar *b)
{
    (void)g;
    uint8_t r[32];
    int a_zero = sodium_is_zero(a->b, 32);
    memcpy(r, a->b, 32);
    int ok = secp256k1_ec_seckey_tweak_add(k1(), r, b->b);
    ct_pick(r, zero32, r, ok);
    ct_pick(out->b, r, b->b, a_zero);
    sodium_memzero(r, sizeof r);
}

/* negate fails only on 0, whose negation is 0. */
static void k1_neg(kg_mpc_scalar *out, const kg_mpc_scalar *a)
{
    uint8_t r[32];
    memcpy(r, a->b, 32);
    int ok = secp256k1_ec_seckey_negate(k1(), r);
    ct_pick(out->b, zero32, r, ok);
    sodium_memzero(r, sizeof r);
}

static void k1_sub(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_scalar *a, const kg_mpc_scalar *b)
{
    kg_mpc_scalar nb;
    k1_neg(&nb, b);
    k1_add(g, out, a, &nb);
    sodium_memzero(&nb, sizeof nb);
}

/* tweak_mul fails exactly when a or b is 0 (inputs < n): the product is 0. */
static void k1_mul(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_scalar *a, const kg_mpc_scalar *b)
{
    (void)g;
    uint8_t r[32];
    memcpy(r, a->b, 32);
    int ok = secp256k1_ec_seckey_tweak_mul(k1(), r, b->b);
    ct_pick(out->b, zero32, r, ok);
    sodium_memzero(r, sizeof r);
}

static void k1_reduce(kg_mpc_group_id g, kg_mpc_scalar *out, const uint8_t *in, size_t len)
{
    sc_reduce_with(out, in, len, g, k1_add, k1_mul);
}

/* Fermat: a^(n-2) by square-and-multiply; the exponent is public. */
static int k1_invert(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_scalar *a)
{
    if (sodium_is_zero(a->b, 32)) /* callers invert public values */
        return -1;
    uint8_t e[32];
    memcpy(e, curve(g)->n_be, 32);
    e[31] = (uint8_t)(e[31] - 2); /* n ends in 0x41: no borrow */
    kg_mpc_scalar r = {{0}};
    r.b[31] = 1;
    for (size_t i = 0; i < 256; i++) {
        k1_mul(g, &r, &r, &r);
        if (e[i / 8] >> (7 - i % 8) & 1)
            k1_mul(g, &r, &r, a);
    }
    *out = r;
    sodium_memzero(&r, sizeof r);
    return 0;
}

/* ----------------------------------------------------------------- points */

static void pt_identity(kg_mpc_point *out)
{
    memset(out, 0, sizeof *out);
}

static EC_POINT *pt_get(const ec_curve *c, BN_CTX *ctx, const kg_mpc_point *p)
{
    EC_POINT *r = EC_POINT_new(c->grp);
    if (!r)
        kg_mpc_fatal("EC_POINT_new");
    int ok = p->b[0] == 0 ? EC_POINT_set_to_infinity(c->grp, r)
                          : EC_POINT_oct2point(c->grp, r, p->b, 33, ctx);
    if (!ok)
        kg_mpc_fatal("EC_POINT_oct2point on a canonical point");
    return r;
}

static void pt_put(const ec_curve *c, BN_CTX *ctx, kg_mpc_point *out, const EC_POINT *p)
{
    kg_mpc_point r = {{0}};
    if (!EC_POINT_is_at_infinity(c->grp, p)
        && EC_POINT_point2oct(c->grp, p, POINT_CONVERSION_COMPRESSED, r.b, 33, ctx) != 33)
        kg_mpc_fatal("EC_POINT_point2oct");
    *out = r;
}

/* out = k1*G + k2*P (either part may be absent). */
static void pt_mul2(kg_mpc_group_id g, kg_mpc_point *out, const kg_mpc_scalar *k1,
                    const kg_mpc_scalar *k2, const kg_mpc_point *p)
{
    const ec_curve *c = curve(g);
    BN_CTX *ctx = ctx_new();
    BN_CTX_start(ctx);
    BIGNUM *a = k1 ? bn_get(ctx, k1->b, 32) : NULL, *b = k2 ? bn_get(ctx, k2->b, 32) : NULL;
    EC_POINT *q = p ? pt_get(c, ctx, p) : NULL, *r = EC_POINT_new(c->grp);
    if (!r || !EC_POINT_mul(c->grp, r, a, q, b, ctx))
        kg_mpc_fatal("EC_POINT_mul");
    pt_put(c, ctx, out, r);
    EC_POINT_free(q);
    EC_POINT_free(r);
    BN_CTX_end(ctx);
    BN_CTX_free(ctx);
}

static void pt_base_mul(kg_mpc_group_id g, kg_mpc_point *out, const kg_mpc_scalar *k)
{
    pt_mul2(g, out, k, NULL, NULL);
}

/* k*G with libsecp256k1's constant-time, blinded pubkey_create. The result
 * is a public key (a commitment or public share): public by design, as is
 * whether it is the identity, i.e. whether k = 0. */
static void k1_base_mul(kg_mpc_group_id g, kg_mpc_point *out, const kg_mpc_scalar *k)
{
    (void)g;
    int zero = sodium_is_zero(k->b, 32);
    kg_declassify(&zero, sizeof zero);
    if (zero) {
        pt_identity(out);
        return;
    }
    secp256k1_pubkey pk;
    int ok = secp256k1_ec_pubkey_create(k1(), &pk, k->b);
    kg_declassify(&ok, sizeof ok);
    kg_declassify(&pk, sizeof pk);
    size_t len = 33;
    if (!ok || !secp256k1_ec_pubkey_serialize(k1(), out->b, &len, &pk, SECP256K1_EC_COMPRESSED) || len != 33)
        kg_mpc_fatal("secp256k1_ec_pubkey_create on a canonical scalar");
}

static void pt_mul(kg_mpc_group_id g, kg_mpc_point *out, const kg_mpc_scalar *k, const kg_mpc_point *p)
{
    pt_mul2(g, out, NULL, k, p);
}

static void pt_add(kg_mpc_group_id g, kg_mpc_point *out, const kg_mpc_point *p, const kg_mpc_point *q)
{
    const ec_curve *c = curve(g);
    BN_CTX *ctx = ctx_new();
    EC_POINT *a = pt_get(c, ctx, p), *b = pt_get(c, ctx, q);
    if (!EC_POINT_add(c->grp, a, a, b, ctx))
        kg_mpc_fatal("EC_POINT_add");
    pt_put(c, ctx, out, a);
    EC_POINT_free(a);
    EC_POINT_free(b);
    BN_CTX_free(ctx);
}

static void pt_neg(kg_mpc_group_id g, kg_mpc_point *out, const kg_mpc_point *p)
{
    const ec_curve *c = curve(g);
    BN_CTX *ctx = ctx_new();
    EC_POINT *a = pt_get(c, ctx, p);
    if (!EC_POINT_invert(c->grp, a, ctx))
        kg_mpc_fatal("EC_POINT_invert");
    pt_put(c, ctx, out, a);
    EC_POINT_free(a);
    BN_CTX_free(ctx);
}

/* SEC1 compressed, x < p, on the curve; re-encoding must give the same
 * bytes (cofactor 1: every curve point is in the prime-order group). */
static bool pt_valid(kg_mpc_group_id g, const uint8_t *in)
{
    const ec_curve *c = curve(g);
    if (in[0] != 2 && in[0] != 3)
        return false;
    BN_CTX *ctx = ctx_new();
    EC_POINT *a = EC_POINT_new(c->grp);
    uint8_t back[33];
    bool ok = a && EC_POINT_oct2point(c->grp, a, in, 33, ctx)
              && EC_POINT_is_on_curve(c->grp, a, ctx) == 1
              && EC_POINT_point2oct(c->grp, a, POINT_CONVERSION_COMPRESSED, back, 33, ctx) == 33
              && memcmp(back, in, 33) == 0;
    EC_POINT_free(a);
    BN_CTX_free(ctx);
    return ok;
}

const kg_mpc_group_ops kg_mpc_group_p256_ops = {
    33, false, "FROST-P256-SHA256-v1", false,
    sc_random, sc_canonical, sc_reduce, sc_add, sc_sub, sc_mul, sc_invert,
    pt_identity, pt_base_mul, pt_mul, pt_add, pt_neg, pt_valid,
};

const kg_mpc_group_ops kg_mpc_group_secp256k1_ops = {
    33, false, "FROST-secp256k1-SHA256-v1", false,
    sc_random, sc_canonical, k1_reduce, k1_add, k1_sub, k1_mul, k1_invert,
    pt_identity, k1_base_mul, pt_mul, pt_add, pt_neg, pt_valid,
};
