/* edwards25519 and ristretto255 for FROST (RFC 9591 §6.1, §6.2) over
 * libsodium.
 *
 * Both groups share the scalar field Z/L (L = 2^252 + 27742...), encoded in
 * 32 little-endian bytes, so one set of scalar functions serves both
 * (crypto_core_ed25519_scalar_*; the ristretto255 ones are the same code).
 *
 * Points are their canonical 32-byte encodings. libsodium's scalar
 * multiplications refuse some inputs and results: the *_noclamp ed25519
 * variants return -1 when the point is the identity or of small order or
 * when the result is the identity, and the ristretto255 ones when the result
 * is the identity. Our values are always canonical prime-order elements, so
 * the only such case is a zero scalar or an identity input, whose correct
 * result is the identity: we return that instead. The clamping variants
 * (crypto_scalarmult_ed25519 without _noclamp) are never used: clamping
 * changes the scalar. Everything here is constant time in scalars
 * (libsodium), except the early outs on the identity / zero, which are
 * public in FROST (a zero secret scalar has probability 2^-252). */
#include <string.h>
#include <sodium.h>

#include "mpc_int.h"

static void sc_random(kg_mpc_group_id g, kg_mpc_scalar *out)
{
    (void)g;
    crypto_core_ed25519_scalar_random(out->b); /* uniform in ]0, L[ */
}

static bool sc_canonical(kg_mpc_group_id g, const uint8_t in[32])
{
    uint8_t wide[64] = {0}, red[32];
    (void)g;
    memcpy(wide, in, 32);
    crypto_core_ed25519_scalar_reduce(red, wide);
    bool ok = sodium_memcmp(red, in, 32) == 0;
    sodium_memzero(wide, sizeof wide);
    sodium_memzero(red, sizeof red);
    return ok;
}

static void sc_reduce(kg_mpc_group_id g, kg_mpc_scalar *out, const uint8_t *in, size_t len)
{
    uint8_t wide[64] = {0};
    (void)g;
    memcpy(wide, in, len > 64 ? 64 : len);
    crypto_core_ed25519_scalar_reduce(out->b, wide);
    sodium_memzero(wide, sizeof wide);
}

static void sc_add(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_scalar *a, const kg_mpc_scalar *b)
{
    kg_mpc_scalar x = *a, y = *b;
    (void)g;
    crypto_core_ed25519_scalar_add(out->b, x.b, y.b);
    sodium_memzero(&x, sizeof x);
    sodium_memzero(&y, sizeof y);
}

static void sc_sub(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_scalar *a, const kg_mpc_scalar *b)
{
    kg_mpc_scalar x = *a, y = *b;
    (void)g;
    crypto_core_ed25519_scalar_sub(out->b, x.b, y.b);
    sodium_memzero(&x, sizeof x);
    sodium_memzero(&y, sizeof y);
}

static void sc_mul(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_scalar *a, const kg_mpc_scalar *b)
{
    kg_mpc_scalar x = *a, y = *b;
    (void)g;
    crypto_core_ed25519_scalar_mul(out->b, x.b, y.b);
    sodium_memzero(&x, sizeof x);
    sodium_memzero(&y, sizeof y);
}

static int sc_invert(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_scalar *a)
{
    kg_mpc_scalar x = *a;
    (void)g;
    int rc = crypto_core_ed25519_scalar_invert(out->b, x.b);
    return rc;
}

/* ------------------------------------------------------------ edwards25519 */

static void ed_identity(kg_mpc_point *out)
{
    memset(out, 0, sizeof *out);
    out->b[0] = 1; /* (0, 1): y = 1, x positive */
}

static void ed_base_mul(kg_mpc_group_id g, kg_mpc_point *out, const kg_mpc_scalar *k)
{
    kg_mpc_point r = {{0}};
    (void)g;
    int rc = crypto_scalarmult_ed25519_base_noclamp(r.b, k->b);
    kg_declassify(&rc, sizeof rc); /* k*G is public; rc != 0 only for k = 0 */
    if (rc != 0)
        ed_identity(&r);
    *out = r;
}

static void ed_mul(kg_mpc_group_id g, kg_mpc_point *out, const kg_mpc_scalar *k, const kg_mpc_point *p)
{
    kg_mpc_point r = {{0}};
    (void)g;
    if (crypto_scalarmult_ed25519_noclamp(r.b, k->b, p->b) != 0)
        ed_identity(&r); /* k = 0 or p = identity (p is in the prime-order group) */
    *out = r;
}

static void ed_add(kg_mpc_group_id g, kg_mpc_point *out, const kg_mpc_point *p, const kg_mpc_point *q)
{
    kg_mpc_point r = {{0}};
    (void)g;
    if (crypto_core_ed25519_add(r.b, p->b, q->b) != 0)
        kg_mpc_fatal("crypto_core_ed25519_add on a canonical point");
    *out = r;
}

static void ed_neg(kg_mpc_group_id g, kg_mpc_point *out, const kg_mpc_point *p)
{
    kg_mpc_point zero, r = {{0}};
    (void)g;
    ed_identity(&zero);
    if (crypto_core_ed25519_sub(r.b, zero.b, p->b) != 0)
        kg_mpc_fatal("crypto_core_ed25519_sub on a canonical point");
    *out = r;
}

static bool ed_valid(kg_mpc_group_id g, const uint8_t *in)
{
    (void)g;
    /* canonical, on the curve, not of small order, in the main subgroup */
    return crypto_core_ed25519_is_valid_point(in) == 1;
}

const kg_mpc_group_ops kg_mpc_group_ed25519_ops = {
    32, true, "FROST-ED25519-SHA512-v1", true,
    sc_random, sc_canonical, sc_reduce, sc_add, sc_sub, sc_mul, sc_invert,
    ed_identity, ed_base_mul, ed_mul, ed_add, ed_neg, ed_valid,
};

/* ------------------------------------------------------------ ristretto255 */

static void ri_identity(kg_mpc_point *out)
{
    memset(out, 0, sizeof *out);
}

static void ri_base_mul(kg_mpc_group_id g, kg_mpc_point *out, const kg_mpc_scalar *k)
{
    kg_mpc_point r = {{0}};
    (void)g;
    if (crypto_scalarmult_ristretto255_base(r.b, k->b) != 0)
        ri_identity(&r);
    *out = r;
}

static void ri_mul(kg_mpc_group_id g, kg_mpc_point *out, const kg_mpc_scalar *k, const kg_mpc_point *p)
{
    kg_mpc_point r = {{0}};
    (void)g;
    if (crypto_scalarmult_ristretto255(r.b, k->b, p->b) != 0)
        ri_identity(&r);
    *out = r;
}

static void ri_add(kg_mpc_group_id g, kg_mpc_point *out, const kg_mpc_point *p, const kg_mpc_point *q)
{
    kg_mpc_point r = {{0}};
    (void)g;
    if (crypto_core_ristretto255_add(r.b, p->b, q->b) != 0)
        kg_mpc_fatal("crypto_core_ristretto255_add on a canonical point");
    *out = r;
}

static void ri_neg(kg_mpc_group_id g, kg_mpc_point *out, const kg_mpc_point *p)
{
    kg_mpc_point zero, r = {{0}};
    (void)g;
    ri_identity(&zero);
    if (crypto_core_ristretto255_sub(r.b, zero.b, p->b) != 0)
        kg_mpc_fatal("crypto_core_ristretto255_sub on a canonical point");
    *out = r;
}

static bool ri_valid(kg_mpc_group_id g, const uint8_t *in)
{
    (void)g;
    return crypto_core_ristretto255_is_valid_point(in) == 1;
}

const kg_mpc_group_ops kg_mpc_group_ristretto255_ops = {
    32, true, "FROST-RISTRETTO255-SHA512-v1", true,
    sc_random, sc_canonical, sc_reduce, sc_add, sc_sub, sc_mul, sc_invert,
    ri_identity, ri_base_mul, ri_mul, ri_add, ri_neg, ri_valid,
};
