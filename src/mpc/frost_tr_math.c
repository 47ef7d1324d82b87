/* BIP 445 (FROST for BIP340) arithmetic on libsecp256k1 and OpenSSL.
 *
 * BIP 445 §Notation works with GE (points, including infinity) and Scalar
 * (integers mod the group order n). libsecp256k1 0.2.0 has no public group
 * or scalar API, only key operations, so this file builds the few
 * operations the BIP needs out of them:
 *   - points: secp256k1_pubkey plus an explicit infinity flag, because a
 *     pubkey cannot be infinity (pubkey_combine and pubkey_tweak_add fail
 *     on an infinite result, which we turn into the flag);
 *   - secret scalars meet no arithmetic here: the signing code uses
 *     libsecp256k1's constant-time seckey_tweak_add/tweak_mul/negate on
 *     them directly; kg_frost_tr_pt_gen (s*G, constant time) takes secrets
 *     and releases its result, public by design, with kg_declassify
 *     (tests/ctime/test_ctime.c checks this under Valgrind);
 *   - public scalars (Lagrange values, b, e, tweak accumulators, which may
 *     be zero and need inversion) use OpenSSL BIGNUM, variable time;
 *   - the one reduction of a secret hash mod n (nonce derivation) is
 *     constant time except when the hash is >= n, probability ~2^-128.
 * The tagged hash is SHA-256 from the crypto layer, fed incrementally
 * because messages have any length (BIP 445 §Notation, hash_tag).
 *
 * Our own libsecp256k1 context: the crypto layer's is private to it. We
 * create one, randomise it (side-channel blinding of pubkey_create) and then
 * only read it, so threads share it without a lock (libsecp256k1's rule). */
#include "frost_tr_int.h"

#include <pthread.h>
#include <string.h>

#include <openssl/bn.h>

/* The order n of secp256k1. */
static const uint8_t k_order[32] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
    0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48, 0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41};

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static secp256k1_context *g_ctx;

static void secp_once(void)
{
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (ctx == NULL)
        return;
    uint8_t seed[32];
    if (kg_crypto_random(seed, sizeof seed) != KG_OK || !secp256k1_context_randomize(ctx, seed)) {
        kg_wipe(seed, sizeof seed);
        secp256k1_context_destroy(ctx);
        return;
    }
    kg_wipe(seed, sizeof seed);
    g_ctx = ctx;
}

kg_err kg_frost_tr_ensure(void)
{
    if (pthread_once(&g_once, secp_once) != 0 || g_ctx == NULL)
        return kg_err_set(KG_ERR_CRYPTO, "frost-secp256k1-tr: the libsecp256k1 context could not be "
                          "created (out of memory, or the CSPRNG failed)");
    return KG_OK;
}

const secp256k1_context *kg_frost_tr_secp(void)
{
    return g_ctx;
}

/* ---------------------------------------------------------------- points */

int kg_frost_tr_pt_parse(kg_frost_tr_pt *out, const uint8_t in[static 33])
{
    memset(out, 0, sizeof *out);
    /* With 33 bytes libsecp256k1 accepts exactly 0x02/0x03 || x, x < p, on
     * the curve: BIP 445's cpoint. */
    if (in[0] != 0x02 && in[0] != 0x03)
        return 0;
    if (!secp256k1_ec_pubkey_parse(kg_frost_tr_secp(), &out->p, in, 33)) {
        memset(out, 0, sizeof *out);
        return 0;
    }
    return 1;
}

int kg_frost_tr_pt_parse_ext(kg_frost_tr_pt *out, const uint8_t in[static 33])
{
    uint8_t acc = 0;
    for (size_t i = 0; i < 33; i++)
        acc |= in[i];
    if (acc == 0) {
        memset(out, 0, sizeof *out);
        out->inf = 1;
        return 1;
    }
    return kg_frost_tr_pt_parse(out, in);
}

void kg_frost_tr_pt_ser(uint8_t out[static 33], const kg_frost_tr_pt *pt)
{
    size_t len = 33;
    if (pt->inf || !secp256k1_ec_pubkey_serialize(kg_frost_tr_secp(), out, &len, &pt->p,
                                                  SECP256K1_EC_COMPRESSED))
        memset(out, 0, 33);
}

void kg_frost_tr_pt_xonly(uint8_t out[static 32], const kg_frost_tr_pt *pt)
{
    uint8_t c[33];
    kg_frost_tr_pt_ser(c, pt);
    memcpy(out, c + 1, 32);
}

int kg_frost_tr_pt_even(const kg_frost_tr_pt *pt)
{
    uint8_t c[33];
    if (pt->inf)
        return 1;
    kg_frost_tr_pt_ser(c, pt);
    return c[0] == 0x02;
}

int kg_frost_tr_pt_eq(const kg_frost_tr_pt *a, const kg_frost_tr_pt *b)
{
    if (a->inf || b->inf)
        return a->inf && b->inf;
    return secp256k1_ec_pubkey_cmp(kg_frost_tr_secp(), &a->p, &b->p) == 0;
}

void kg_frost_tr_pt_neg(kg_frost_tr_pt *pt)
{
    if (!pt->inf && !secp256k1_ec_pubkey_negate(kg_frost_tr_secp(), &pt->p))
        pt->inf = 1; /* unreachable: negate fails only on a NULL argument */
}

void kg_frost_tr_pt_add(kg_frost_tr_pt *out, const kg_frost_tr_pt *a, const kg_frost_tr_pt *b)
{
    kg_frost_tr_pt r;
    memset(&r, 0, sizeof r);
    if (a->inf) {
        r = *b;
    } else if (b->inf) {
        r = *a;
    } else {
        const secp256k1_pubkey *ins[2] = {&a->p, &b->p};
        /* combine fails exactly when the sum is infinity (inputs valid). */
        if (!secp256k1_ec_pubkey_combine(kg_frost_tr_secp(), &r.p, ins, 2)) {
            memset(&r, 0, sizeof r);
            r.inf = 1;
        }
    }
    *out = r;
}

int kg_frost_tr_pt_mul(kg_frost_tr_pt *out, const kg_frost_tr_pt *a, const uint8_t s[static 32])
{
    if (!kg_frost_tr_sc_valid(s))
        return 0;
    kg_frost_tr_pt r = *a;
    if (r.inf || kg_frost_tr_sc_is_zero(s)) {
        memset(&r, 0, sizeof r);
        r.inf = 1;
    } else if (!secp256k1_ec_pubkey_tweak_mul(kg_frost_tr_secp(), &r.p, s)) {
        return 0;
    }
    *out = r;
    return 1;
}

int kg_frost_tr_pt_gen(kg_frost_tr_pt *out, const uint8_t s[static 32])
{
    memset(out, 0, sizeof *out);
    /* pubkey_create rejects 0 and s >= n; 0 is infinity, s >= n an error.
     * s may be secret (secshare, secnonce), but s*G is public by design in
     * every use here (pubshare, pubnonce, the psig self-check), and so is
     * which of the three cases s falls in: declassified for the ctime test
     * (tests/ctime/test_ctime.c). */
    int ok = secp256k1_ec_pubkey_create(kg_frost_tr_secp(), &out->p, s);
    kg_declassify(&ok, sizeof ok);
    if (ok) {
        kg_declassify(&out->p, sizeof out->p);
        return 1;
    }
    memset(out, 0, sizeof *out);
    int zero = kg_frost_tr_sc_is_zero(s);
    kg_declassify(&zero, sizeof zero);
    if (zero) {
        out->inf = 1;
        return 1;
    }
    return 0;
}

/* --------------------------------------------------------------- scalars */

int kg_frost_tr_sc_valid(const uint8_t s[static 32])
{
    return memcmp(s, k_order, 32) < 0;
}

int kg_frost_tr_sc_is_zero(const uint8_t s[static 32])
{
    uint8_t acc = 0;
    for (size_t i = 0; i < 32; i++)
        acc |= s[i];
    return acc == 0;
}

void kg_frost_tr_sc_from_u64(uint8_t out[static 32], uint64_t v)
{
    memset(out, 0, 32);
    for (int i = 0; i < 8; i++)
        out[31 - i] = (uint8_t)(v >> (8 * i));
}

enum { SC_ADD, SC_MUL, SC_NEG, SC_INV, SC_RED };

/* One BIGNUM operation mod n on 32-byte big-endian operands (b unused for
 * the unary ones). Secure heap and clear-on-free: SC_RED is given secrets. */
static kg_err sc_op(uint8_t out[static 32], int op, const uint8_t a[static 32], const uint8_t *b)
{
    kg_err err = KG_ERR_NOMEM;
    BN_CTX *bc = BN_CTX_secure_new();
    if (bc == NULL)
        return kg_err_set(KG_ERR_NOMEM, "frost-secp256k1-tr: out of memory (BN_CTX)");
    BN_CTX_start(bc);
    BIGNUM *n = BN_CTX_get(bc), *x = BN_CTX_get(bc), *y = BN_CTX_get(bc), *r = BN_CTX_get(bc);
    if (r == NULL || BN_bin2bn(k_order, 32, n) == NULL || BN_bin2bn(a, 32, x) == NULL ||
        (b != NULL && BN_bin2bn(b, 32, y) == NULL))
        goto out;
    int ok = 0;
    switch (op) {
    case SC_ADD: ok = BN_mod_add(r, x, y, n, bc); break;
    case SC_MUL: ok = BN_mod_mul(r, x, y, n, bc); break;
    case SC_NEG: BN_zero(y); ok = BN_mod_sub(r, y, x, n, bc); break;
    case SC_INV: ok = !BN_is_zero(x) && BN_mod_inverse(r, x, n, bc) != NULL; break;
    case SC_RED: ok = BN_nnmod(r, x, n, bc); break;
    default: break;
    }
    if (!ok || BN_bn2binpad(r, out, 32) != 32) {
        err = kg_err_set(KG_ERR_CRYPTO, "frost-secp256k1-tr: scalar arithmetic failed (OpenSSL BIGNUM)");
        goto out;
    }
    err = KG_OK;
out:
    BN_CTX_end(bc); /* clears: the ctx is a secure one */
    BN_CTX_free(bc);
    if (err != KG_OK)
        memset(out, 0, 32);
    return err;
}

kg_err kg_frost_tr_sc_add(uint8_t out[static 32], const uint8_t a[static 32], const uint8_t b[static 32])
{
    return sc_op(out, SC_ADD, a, b);
}

kg_err kg_frost_tr_sc_mul(uint8_t out[static 32], const uint8_t a[static 32], const uint8_t b[static 32])
{
    return sc_op(out, SC_MUL, a, b);
}

kg_err kg_frost_tr_sc_neg(uint8_t out[static 32], const uint8_t a[static 32])
{
    return sc_op(out, SC_NEG, a, NULL);
}

kg_err kg_frost_tr_sc_inv(uint8_t out[static 32], const uint8_t a[static 32])
{
    return sc_op(out, SC_INV, a, NULL);
}

kg_err kg_frost_tr_sc_reduce_secret(uint8_t out[static 32], const uint8_t in[static 32])
{
    /* seckey_verify is constant time; whether the hash is a valid key
     * (0 < h < n) is all that the branch reveals. */
    int valid = secp256k1_ec_seckey_verify(kg_frost_tr_secp(), in);
    kg_declassify(&valid, sizeof valid);
    if (valid) {
        memcpy(out, in, 32);
        return KG_OK;
    }
    return sc_op(out, SC_RED, in, NULL);
}

/* ----------------------------------------------------------- tagged hash */

void kg_frost_tr_tag_init(kg_crypto_sha256_ctx *h, const char *tag)
{
    uint8_t th[32];
    kg_crypto_sha256(th, (const uint8_t *)tag, strlen(tag));
    kg_crypto_sha256_init(h);
    kg_crypto_sha256_update(h, th, 32);
    kg_crypto_sha256_update(h, th, 32);
}

void kg_frost_tr_put_u32(kg_crypto_sha256_ctx *h, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    kg_crypto_sha256_update(h, b, 4);
}

void kg_frost_tr_put_u64(kg_crypto_sha256_ctx *h, uint64_t v)
{
    kg_frost_tr_put_u32(h, (uint32_t)(v >> 32));
    kg_frost_tr_put_u32(h, (uint32_t)v);
}

void kg_frost_tr_put_ids(kg_crypto_sha256_ctx *h, const uint32_t *ids, size_t u)
{
    /* Sorted without a copy: emit the identifiers in increasing order by
     * repeated selection (O(u^2), u is small, and no allocation). Equal ids
     * are emitted as often as they occur, as sorted() would. */
    uint64_t last = 0;
    size_t emitted = 0;
    int first = 1;
    while (emitted < u) {
        uint64_t best = UINT64_MAX;
        for (size_t i = 0; i < u; i++)
            if ((first || ids[i] > last) && ids[i] < best)
                best = ids[i];
        size_t count = 0;
        for (size_t i = 0; i < u; i++)
            if (ids[i] == best)
                count++;
        for (size_t c = 0; c < count; c++)
            kg_frost_tr_put_u32(h, (uint32_t)best);
        emitted += count;
        last = best;
        first = 0;
    }
}

void kg_frost_tr_blame(kg_mpc_frost_tr_blame *blame, kg_mpc_frost_tr_contrib c, size_t index)
{
    if (blame != NULL) {
        blame->contrib = c;
        blame->signer_index = index;
    }
}
