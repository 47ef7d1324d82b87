/* The public prime-order group interface of the mpc layer
 * (include/kashguard/mpc/group.h): argument checks and dispatch to the
 * backend tables (group_sodium.c, group_ec.c), and the RFC 9591 §6 suite
 * hash functions H1..H5 plus the ZF FROST DKG's HDKG.
 *
 * SHA-512 suites (edwards25519, ristretto255): H(m) = SHA-512(contextString
 * || tag || m) reduced mod L as a little-endian integer; edwards25519's H2
 * omits the prefix so that the signature verifies as plain Ed25519
 * (RFC 8032 §5.1.7). SHA-256 suites (P-256, secp256k1): hash_to_field of
 * RFC 9380 §5.2 with count 1, L = 48, expand_message_xmd (§5.3.1) over
 * SHA-256 and DST = contextString || tag; H4/H5 are SHA-256(contextString ||
 * tag || m). expand_message_xmd is protocol code over SHA-256 (OpenSSL 3.0
 * has no public hash-to-field), written from RFC 9380. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "kashguard/crypto.h"
#include "mpc_int.h"

_Noreturn void kg_mpc_fatal(const char *what)
{
    fprintf(stderr, "kashguard mpc: fatal library failure: %s\n", what);
    abort();
}

const kg_mpc_group_ops *kg_mpc_group_ops_get(kg_mpc_group_id g)
{
    switch (g) {
    case KG_MPC_GROUP_ED25519: return &kg_mpc_group_ed25519_ops;
    case KG_MPC_GROUP_RISTRETTO255: return &kg_mpc_group_ristretto255_ops;
    case KG_MPC_GROUP_P256: return &kg_mpc_group_p256_ops;
    case KG_MPC_GROUP_SECP256K1: return &kg_mpc_group_secp256k1_ops;
    }
    return NULL;
}

/* The table of g; a bad id is a contract violation (abort via the hook). */
static const kg_mpc_group_ops *ops(kg_mpc_group_id g)
{
    const kg_mpc_group_ops *o = kg_mpc_group_ops_get(g);
    if (!o) {
        kg_illegal("kg_mpc_group_valid(g)");
        kg_mpc_fatal("invalid kg_mpc_group_id");
    }
    return o;
}

bool kg_mpc_group_valid(kg_mpc_group_id g)
{
    return kg_mpc_group_ops_get(g) != NULL;
}

size_t kg_mpc_group_point_len(kg_mpc_group_id g)
{
    const kg_mpc_group_ops *o = kg_mpc_group_ops_get(g);
    return o ? o->point_len : 0;
}

const char *kg_mpc_group_name(kg_mpc_group_id g)
{
    switch (g) {
    case KG_MPC_GROUP_ED25519: return "ed25519";
    case KG_MPC_GROUP_RISTRETTO255: return "ristretto255";
    case KG_MPC_GROUP_P256: return "p256";
    case KG_MPC_GROUP_SECP256K1: return "secp256k1";
    }
    return "?";
}

/* --------------------------------------------------------------- scalars */

kg_err kg_mpc_scalar_random(kg_mpc_group_id g, kg_mpc_scalar *out)
{
    if (sodium_init() < 0)
        return kg_err_set(KG_ERR_CRYPTO, "libsodium failed to initialise");
    ops(g)->scalar_random(g, out);
    return KG_OK;
}

kg_err kg_mpc_scalar_from_bytes(kg_mpc_group_id g, kg_mpc_scalar *out, const uint8_t *in, size_t in_len)
{
    const kg_mpc_group_ops *o = ops(g);
    memset(out, 0, sizeof *out);
    if (!in || in_len != KG_MPC_SCALAR_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "a %s scalar is %d bytes, got %zu",
                          kg_mpc_group_name(g), KG_MPC_SCALAR_BYTES, in_len);
    if (!o->scalar_canonical(g, in))
        return kg_err_set(KG_ERR_BAD_INPUT, "the %s scalar is not reduced modulo the group order",
                          kg_mpc_group_name(g));
    memcpy(out->b, in, KG_MPC_SCALAR_BYTES);
    return KG_OK;
}

void kg_mpc_scalar_from_u64(kg_mpc_group_id g, kg_mpc_scalar *out, uint64_t v)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < 8; i++) {
        uint8_t byte = (uint8_t)(v >> (8 * i));
        if (ops(g)->scalar_le)
            out->b[i] = byte;
        else
            out->b[31 - i] = byte;
    }
    /* every order here exceeds 2^64: no reduction needed */
}

void kg_mpc_scalar_reduce(kg_mpc_group_id g, kg_mpc_scalar *out, const uint8_t *in, size_t in_len)
{
    const kg_mpc_group_ops *o = ops(g);
    if (in_len > 64) {
        kg_illegal("in_len <= 64");
        kg_mpc_fatal("kg_mpc_scalar_reduce: input over 64 bytes");
    }
    o->scalar_reduce(g, out, in, in_len);
}

void kg_mpc_scalar_zero(kg_mpc_group_id g, kg_mpc_scalar *out)
{
    (void)ops(g);
    memset(out, 0, sizeof *out);
}

void kg_mpc_scalar_add(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_scalar *a, const kg_mpc_scalar *b)
{
    ops(g)->scalar_add(g, out, a, b);
}

void kg_mpc_scalar_sub(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_scalar *a, const kg_mpc_scalar *b)
{
    ops(g)->scalar_sub(g, out, a, b);
}

void kg_mpc_scalar_mul(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_scalar *a, const kg_mpc_scalar *b)
{
    ops(g)->scalar_mul(g, out, a, b);
}

void kg_mpc_scalar_neg(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_scalar *a)
{
    kg_mpc_scalar zero = {{0}};
    ops(g)->scalar_sub(g, out, &zero, a);
}

kg_err kg_mpc_scalar_invert(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_scalar *a)
{
    kg_mpc_scalar r = {{0}};
    if (ops(g)->scalar_invert(g, &r, a) != 0) {
        memset(out, 0, sizeof *out);
        return kg_err_set(KG_ERR_BAD_INPUT, "zero has no inverse (duplicate identifiers?)");
    }
    *out = r;
    return KG_OK;
}

bool kg_mpc_scalar_is_zero(kg_mpc_group_id g, const kg_mpc_scalar *a)
{
    (void)ops(g);
    return sodium_is_zero(a->b, KG_MPC_SCALAR_BYTES) == 1;
}

bool kg_mpc_scalar_eq(kg_mpc_group_id g, const kg_mpc_scalar *a, const kg_mpc_scalar *b)
{
    (void)ops(g);
    return sodium_memcmp(a->b, b->b, KG_MPC_SCALAR_BYTES) == 0;
}

/* ---------------------------------------------------------------- points */

void kg_mpc_point_identity(kg_mpc_group_id g, kg_mpc_point *out)
{
    ops(g)->point_identity(out);
}

void kg_mpc_point_base_mul(kg_mpc_group_id g, kg_mpc_point *out, const kg_mpc_scalar *k)
{
    ops(g)->point_base_mul(g, out, k);
}

void kg_mpc_point_mul(kg_mpc_group_id g, kg_mpc_point *out, const kg_mpc_scalar *k, const kg_mpc_point *p)
{
    ops(g)->point_mul(g, out, k, p);
}

void kg_mpc_point_add(kg_mpc_group_id g, kg_mpc_point *out, const kg_mpc_point *p, const kg_mpc_point *q)
{
    ops(g)->point_add(g, out, p, q);
}

void kg_mpc_point_sub(kg_mpc_group_id g, kg_mpc_point *out, const kg_mpc_point *p, const kg_mpc_point *q)
{
    kg_mpc_point nq;
    ops(g)->point_neg(g, &nq, q);
    ops(g)->point_add(g, out, p, &nq);
}

bool kg_mpc_point_eq(kg_mpc_group_id g, const kg_mpc_point *p, const kg_mpc_point *q)
{
    (void)ops(g);
    return sodium_memcmp(p->b, q->b, KG_MPC_POINT_MAX_BYTES) == 0;
}

bool kg_mpc_point_is_identity(kg_mpc_group_id g, const kg_mpc_point *p)
{
    kg_mpc_point id;
    ops(g)->point_identity(&id);
    return sodium_memcmp(p->b, id.b, KG_MPC_POINT_MAX_BYTES) == 0;
}

kg_err kg_mpc_point_serialize(kg_mpc_group_id g, uint8_t out[static KG_MPC_POINT_MAX_BYTES],
                              const kg_mpc_point *p)
{
    memset(out, 0, KG_MPC_POINT_MAX_BYTES);
    if (kg_mpc_point_is_identity(g, p))
        return kg_err_set(KG_ERR_BAD_INPUT, "the identity element has no serialization (RFC 9591 §6)");
    memcpy(out, p->b, ops(g)->point_len);
    return KG_OK;
}

kg_err kg_mpc_point_deserialize(kg_mpc_group_id g, kg_mpc_point *out, const uint8_t *in, size_t in_len)
{
    const kg_mpc_group_ops *o = ops(g);
    kg_mpc_point id;
    memset(out, 0, sizeof *out);
    if (!in || in_len != o->point_len)
        return kg_err_set(KG_ERR_BAD_INPUT, "a %s element is %zu bytes, got %zu",
                          kg_mpc_group_name(g), o->point_len, in_len);
    o->point_identity(&id);
    if (sodium_memcmp(id.b, in, o->point_len) == 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "the %s element is the identity, which RFC 9591 rejects",
                          kg_mpc_group_name(g));
    if (!o->point_valid(g, in))
        return kg_err_set(KG_ERR_BAD_INPUT, "not a canonical %s element of the prime-order group%s",
                          kg_mpc_group_name(g),
                          g == KG_MPC_GROUP_ED25519 ? " (small-order and mixed-order points are rejected)" : "");
    memcpy(out->b, in, o->point_len);
    return KG_OK;
}

/* ---------------------------------------------------------------- hashes */

static const char *hash_tag(kg_mpc_hash_fn h)
{
    switch (h) {
    case KG_MPC_H1: return "rho";
    case KG_MPC_H2: return "chal";
    case KG_MPC_H3: return "nonce";
    case KG_MPC_H4: return "msg";
    case KG_MPC_H5: return "com";
    case KG_MPC_HDKG: return "dkg";
    }
    return NULL;
}

/* SHA-512(prefix || tag || parts) into out[64]; prefix NULL = no prefix. */
static void sha512_parts(uint8_t out[64], const char *prefix, const char *tag,
                         const kg_mpc_slice *parts, size_t n)
{
    crypto_hash_sha512_state st;
    crypto_hash_sha512_init(&st);
    if (prefix) {
        crypto_hash_sha512_update(&st, (const uint8_t *)prefix, strlen(prefix));
        crypto_hash_sha512_update(&st, (const uint8_t *)tag, strlen(tag));
    }
    for (size_t i = 0; i < n; i++)
        if (parts[i].len)
            crypto_hash_sha512_update(&st, parts[i].data, parts[i].len);
    crypto_hash_sha512_final(&st, out);
}

static void sha256_parts(uint8_t out[32], const char *prefix, const char *tag,
                         const kg_mpc_slice *parts, size_t n)
{
    kg_crypto_sha256_ctx st;
    kg_crypto_sha256_init(&st);
    kg_crypto_sha256_update(&st, (const uint8_t *)prefix, strlen(prefix));
    kg_crypto_sha256_update(&st, (const uint8_t *)tag, strlen(tag));
    for (size_t i = 0; i < n; i++)
        if (parts[i].len)
            kg_crypto_sha256_update(&st, parts[i].data, parts[i].len);
    kg_crypto_sha256_final(out, &st);
}

kg_err kg_mpc_expand_message_xmd_sha256(uint8_t *out, size_t out_len, const uint8_t *dst, size_t dst_len,
                                        const kg_mpc_slice *parts, size_t n_parts)
{
    KG_ARG_CHECK(out && out_len >= 1 && out_len <= 255 * 32 && dst && dst_len >= 1 && dst_len <= 255);
    KG_ARG_CHECK(parts || n_parts == 0);
    static const uint8_t z_pad[64];
    const uint8_t lib[2] = {(uint8_t)(out_len >> 8), (uint8_t)out_len}, dlen = (uint8_t)dst_len;
    uint8_t b0[32], bi[32], x[32], ctr = 0;
    kg_crypto_sha256_ctx st;
    kg_crypto_sha256_init(&st); /* b_0 = H(Z_pad || msg || l_i_b_str || 0 || DST_prime) */
    kg_crypto_sha256_update(&st, z_pad, sizeof z_pad);
    for (size_t i = 0; i < n_parts; i++)
        if (parts[i].len)
            kg_crypto_sha256_update(&st, parts[i].data, parts[i].len);
    kg_crypto_sha256_update(&st, lib, 2);
    kg_crypto_sha256_update(&st, &ctr, 1);
    kg_crypto_sha256_update(&st, dst, dst_len);
    kg_crypto_sha256_update(&st, &dlen, 1);
    kg_crypto_sha256_final(b0, &st);
    memset(bi, 0, sizeof bi);
    for (size_t off = 0; off < out_len; off += 32) {
        for (int j = 0; j < 32; j++) /* b_i = H(strxor(b_0, b_(i-1)) || i || DST_prime); b_1 uses b_0 */
            x[j] = (uint8_t)(b0[j] ^ bi[j]);
        ctr++;
        kg_crypto_sha256_init(&st);
        kg_crypto_sha256_update(&st, x, 32);
        kg_crypto_sha256_update(&st, &ctr, 1);
        kg_crypto_sha256_update(&st, dst, dst_len);
        kg_crypto_sha256_update(&st, &dlen, 1);
        kg_crypto_sha256_final(bi, &st);
        memcpy(out + off, bi, out_len - off < 32 ? out_len - off : 32);
    }
    kg_wipe(b0, sizeof b0);
    kg_wipe(bi, sizeof bi);
    kg_wipe(x, sizeof x);
    return KG_OK;
}

kg_err kg_mpc_group_hash_scalar(kg_mpc_group_id g, kg_mpc_scalar *out, kg_mpc_hash_fn h,
                                const kg_mpc_slice *parts, size_t n_parts)
{
    memset(out, 0, sizeof *out);
    KG_ARG_CHECK(kg_mpc_group_valid(g));
    KG_ARG_CHECK(h == KG_MPC_H1 || h == KG_MPC_H2 || h == KG_MPC_H3 || h == KG_MPC_HDKG);
    KG_ARG_CHECK(parts || n_parts == 0);
    const kg_mpc_group_ops *o = ops(g);
    const char *tag = hash_tag(h);
    uint8_t wide[64];
    if (o->sha512) {
        bool plain = g == KG_MPC_GROUP_ED25519 && h == KG_MPC_H2;
        sha512_parts(wide, plain ? NULL : o->context, tag, parts, n_parts);
        o->scalar_reduce(g, out, wide, 64);
    } else {
        uint8_t dst[64];
        size_t cl = strlen(o->context), tl = strlen(tag);
        memcpy(dst, o->context, cl);
        memcpy(dst + cl, tag, tl);
        kg_err e = kg_mpc_expand_message_xmd_sha256(wide, 48, dst, cl + tl, parts, n_parts);
        if (e != KG_OK)
            return e;
        o->scalar_reduce(g, out, wide, 48);
    }
    kg_wipe(wide, sizeof wide); /* H3 hashes secrets */
    return KG_OK;
}

kg_err kg_mpc_group_hash_digest(kg_mpc_group_id g, uint8_t out[static KG_MPC_HASH_MAX_BYTES], size_t *out_len,
                                kg_mpc_hash_fn h, const kg_mpc_slice *parts, size_t n_parts)
{
    memset(out, 0, KG_MPC_HASH_MAX_BYTES);
    *out_len = 0;
    KG_ARG_CHECK(kg_mpc_group_valid(g));
    KG_ARG_CHECK(h == KG_MPC_H4 || h == KG_MPC_H5);
    KG_ARG_CHECK(parts || n_parts == 0);
    const kg_mpc_group_ops *o = ops(g);
    if (o->sha512) {
        sha512_parts(out, o->context, hash_tag(h), parts, n_parts);
        *out_len = 64;
    } else {
        sha256_parts(out, o->context, hash_tag(h), parts, n_parts);
        *out_len = 32;
    }
    return KG_OK;
}
