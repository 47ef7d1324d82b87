/* NIST P-256 and secp256k1 for FROST (RFC 9591 §6.4, §6.5) over OpenSSL.
 *
 * Scalars are 32-byte big-endian integers < n; points are 33-byte SEC1
 * compressed encodings, with 33 zero bytes standing for the point at
 * infinity inside the library (SEC1 would use the single byte 00; FROST never
 * serializes it). Each operation decodes into OpenSSL objects, works, and
 * encodes back: simple, and the encodings are what FROST hashes anyway.
 *
 * The EC_GROUP, the order and a Montgomery context per curve are built once
 * (pthread_once) and only read afterwards, so threads share them.
 *
 * Constant time: secret scalars get BN_FLG_CONSTTIME, which makes
 * EC_POINT_mul take OpenSSL's constant-time paths (the Montgomery ladder,
 * or ecp_nistz256 for P-256). Scalar addition uses BN_mod_add_quick
 * (OpenSSL's fixed-top constant-time addition) and multiplication
 * Montgomery multiplication; subtraction and reduction are not promised
 * constant time by OpenSSL (documented in group.h). Inversion (public values
 * only) is BN_mod_inverse. */
#include <pthread.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <sodium.h>

#include "mpc_int.h"

typedef struct {
    EC_GROUP *grp;
    BIGNUM *n;
    BN_MONT_CTX *mont;
    uint8_t n_be[32];
} ec_curve;

static ec_curve curves[2];
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

static void sc_reduce(kg_mpc_group_id g, kg_mpc_scalar *out, const uint8_t *in, size_t len)
{
    BN_CTX *ctx = ctx_new();
    BN_CTX_start(ctx);
    BIGNUM *x = bn_get(ctx, in, len), *r = BN_CTX_get(ctx);
    if (!r || !BN_nnmod(r, x, curve(g)->n, ctx))
        kg_mpc_fatal("BN_nnmod");
    bn_put(out, r);
    BN_CTX_end(ctx);
    BN_CTX_free(ctx);
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

static int sc_invert(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_scalar *a)
{
    BN_CTX *ctx = ctx_new();
    BN_CTX_start(ctx);
    BIGNUM *x = bn_get(ctx, a->b, 32), *r = BN_CTX_get(ctx);
    int rc = -1;
    if (r && !BN_is_zero(x) && BN_mod_inverse(r, x, curve(g)->n, ctx)) {
        bn_put(out, r);
        rc = 0;
    }
    BN_CTX_end(ctx);
    BN_CTX_free(ctx);
    return rc;
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
    sc_random, sc_canonical, sc_reduce, sc_add, sc_sub, sc_mul, sc_invert,
    pt_identity, pt_base_mul, pt_mul, pt_add, pt_neg, pt_valid,
};
