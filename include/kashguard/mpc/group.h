/* KashGuard mpc layer: prime-order groups for threshold Schnorr (FROST).
 *
 * One small value-type interface over the four RFC 9591 groups:
 *   KG_MPC_GROUP_ED25519      edwards25519 prime-order subgroup (libsodium)
 *   KG_MPC_GROUP_RISTRETTO255 ristretto255 (libsodium)
 *   KG_MPC_GROUP_P256         NIST P-256 (OpenSSL EC)
 *   KG_MPC_GROUP_SECP256K1    secp256k1 (OpenSSL EC); also the group of the
 *                             BIP340/Taproot variants, which add their own
 *                             x-only handling and tagged hashes on top.
 *
 * Values are fixed-size and hold the suite's canonical encoding (RFC 9591
 * §6.x SerializeScalar / SerializeElement), so they can be copied, stored
 * and compared as bytes:
 *   kg_mpc_scalar: 32 bytes; little-endian for ED25519/RISTRETTO255,
 *                  big-endian for P256/SECP256K1; always < the group order.
 *   kg_mpc_point:  ED25519/RISTRETTO255: b[0..31] (b[32] is 0);
 *                  P256/SECP256K1: b[0..32], SEC1 compressed.
 *                  The identity element is representable internally
 *                  (ed25519: 01 00..00, ristretto255: 32 zero bytes,
 *                  P256/SECP256K1: 33 zero bytes) but is never serialized
 *                  (RFC 9591: SerializeElement fails on the identity).
 * A value is only ever built by these functions (or read back with
 * kg_mpc_scalar_from_bytes / kg_mpc_point_deserialize), so every operation
 * may assume canonical inputs; the group id passed must be the one the value
 * was made with (a contract, not checked).
 *
 * Arguments: the group id first (it plays the context's role), then
 * outputs, then inputs; outputs may alias inputs. Arithmetic on valid values
 * cannot fail: if the underlying library fails (out of memory inside
 * OpenSSL), the process aborts, as kg_crypto_sha256 does, rather than
 * continue with an unset value. Functions reading bytes from outside return
 * kg_err and zero their output on error.
 *
 * Secrets: scalars may be secret. ED25519/RISTRETTO255 scalar and point
 * arithmetic is constant time (libsodium). SECP256K1 scalar arithmetic and
 * k*G are constant time (libsecp256k1's seckey tweak functions, masked
 * selects for the zero cases; checked under Valgrind by tests/ctime); k*P
 * uses OpenSSL's ladder and FROST calls it with public scalars only. P256
 * point multiplication is constant time in the scalar (OpenSSL's nistz256),
 * but its scalar add/sub/mul use OpenSSL BIGNUM, which is not constant time
 * (value-dependent lengths, bn_correct_top): a known exception, documented
 * in docs/mpc.md. kg_mpc_scalar_invert is for public values only.
 * Comparisons (eq, is_zero) are constant time. */
#ifndef KASHGUARD_MPC_GROUP_H
#define KASHGUARD_MPC_GROUP_H

#include "../base.h"

typedef enum {
    KG_MPC_GROUP_ED25519 = 1,
    KG_MPC_GROUP_RISTRETTO255 = 2,
    KG_MPC_GROUP_P256 = 3,
    KG_MPC_GROUP_SECP256K1 = 4
} kg_mpc_group_id;

#define KG_MPC_SCALAR_BYTES 32
#define KG_MPC_POINT_MAX_BYTES 33 /* the largest kg_mpc_group_point_len */
#define KG_MPC_HASH_MAX_BYTES 64  /* the largest H4/H5 output (SHA-512) */

typedef struct { uint8_t b[KG_MPC_SCALAR_BYTES]; } kg_mpc_scalar;
typedef struct { uint8_t b[KG_MPC_POINT_MAX_BYTES]; } kg_mpc_point;

/** A piece of a hash input (hashes take a list of them: no concatenation
 *  buffer needed). data may be NULL when len is 0. */
typedef struct { const uint8_t *data; size_t len; } kg_mpc_slice;

/** true for the four ids above. */
bool kg_mpc_group_valid(kg_mpc_group_id g);
/** Serialized point size: 32 (ED25519, RISTRETTO255) or 33; 0 for an
 *  invalid id. Scalars are always KG_MPC_SCALAR_BYTES. */
size_t kg_mpc_group_point_len(kg_mpc_group_id g);
/** "ed25519", "ristretto255", "p256", "secp256k1"; "?" for an invalid id. */
const char *kg_mpc_group_name(kg_mpc_group_id g);

/* --------------------------------------------------------------- scalars */

/** Uniform non-zero scalar from the CSPRNG (libsodium / rejection sampling).
 *  Returns KG_OK | KG_ERR_CRYPTO. */
kg_err kg_mpc_scalar_random(kg_mpc_group_id g, kg_mpc_scalar *out) KG_WARN_UNUSED KG_NONNULL(2);
/** DeserializeScalar: exactly 32 bytes in the suite's byte order, < order.
 *  Zero is accepted (callers that need non-zero check kg_mpc_scalar_is_zero).
 *  Returns KG_OK | KG_ERR_BAD_INPUT (wrong length, not canonical). */
kg_err kg_mpc_scalar_from_bytes(kg_mpc_group_id g, kg_mpc_scalar *out,
                                const uint8_t *in, size_t in_len) KG_WARN_UNUSED KG_NONNULL(2);
/** A small integer as a scalar (FROST identifiers). */
void kg_mpc_scalar_from_u64(kg_mpc_group_id g, kg_mpc_scalar *out, uint64_t v) KG_NONNULL(2);
/** Reduce a wide integer (1..64 bytes) mod the order: little-endian for
 *  ED25519/RISTRETTO255, big-endian for P256/SECP256K1. This is how hash
 *  outputs become scalars (RFC 9591 §6: SHA-512 output mod L; RFC 9380
 *  hash_to_field uses 48 big-endian bytes). */
void kg_mpc_scalar_reduce(kg_mpc_group_id g, kg_mpc_scalar *out,
                          const uint8_t *in, size_t in_len) KG_NONNULL(2, 3);
void kg_mpc_scalar_zero(kg_mpc_group_id g, kg_mpc_scalar *out) KG_NONNULL(2);
void kg_mpc_scalar_add(kg_mpc_group_id g, kg_mpc_scalar *out,
                       const kg_mpc_scalar *a, const kg_mpc_scalar *b) KG_NONNULL(2, 3, 4);
void kg_mpc_scalar_sub(kg_mpc_group_id g, kg_mpc_scalar *out,
                       const kg_mpc_scalar *a, const kg_mpc_scalar *b) KG_NONNULL(2, 3, 4);
void kg_mpc_scalar_mul(kg_mpc_group_id g, kg_mpc_scalar *out,
                       const kg_mpc_scalar *a, const kg_mpc_scalar *b) KG_NONNULL(2, 3, 4);
void kg_mpc_scalar_neg(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_scalar *a) KG_NONNULL(2, 3);
/** out = 1/a mod order. Variable time (public values: Lagrange
 *  denominators). Returns KG_OK | KG_ERR_BAD_INPUT (a is zero). */
kg_err kg_mpc_scalar_invert(kg_mpc_group_id g, kg_mpc_scalar *out,
                            const kg_mpc_scalar *a) KG_WARN_UNUSED KG_NONNULL(2, 3);
/** Constant time. */
bool kg_mpc_scalar_is_zero(kg_mpc_group_id g, const kg_mpc_scalar *a) KG_NONNULL(2);
bool kg_mpc_scalar_eq(kg_mpc_group_id g, const kg_mpc_scalar *a, const kg_mpc_scalar *b) KG_NONNULL(2, 3);

/* ---------------------------------------------------------------- points */

void kg_mpc_point_identity(kg_mpc_group_id g, kg_mpc_point *out) KG_NONNULL(2);
/** out = k*G (constant time in k; the identity for k = 0). */
void kg_mpc_point_base_mul(kg_mpc_group_id g, kg_mpc_point *out, const kg_mpc_scalar *k) KG_NONNULL(2, 3);
/** out = k*P (constant time in k). */
void kg_mpc_point_mul(kg_mpc_group_id g, kg_mpc_point *out,
                      const kg_mpc_scalar *k, const kg_mpc_point *p) KG_NONNULL(2, 3, 4);
void kg_mpc_point_add(kg_mpc_group_id g, kg_mpc_point *out,
                      const kg_mpc_point *p, const kg_mpc_point *q) KG_NONNULL(2, 3, 4);
void kg_mpc_point_sub(kg_mpc_group_id g, kg_mpc_point *out,
                      const kg_mpc_point *p, const kg_mpc_point *q) KG_NONNULL(2, 3, 4);
bool kg_mpc_point_eq(kg_mpc_group_id g, const kg_mpc_point *p, const kg_mpc_point *q) KG_NONNULL(2, 3);
bool kg_mpc_point_is_identity(kg_mpc_group_id g, const kg_mpc_point *p) KG_NONNULL(2);
/** SerializeElement: writes kg_mpc_group_point_len(g) bytes to out.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (the identity; out zeroed). */
kg_err kg_mpc_point_serialize(kg_mpc_group_id g, uint8_t out[static KG_MPC_POINT_MAX_BYTES],
                              const kg_mpc_point *p) KG_WARN_UNUSED KG_NONNULL(2, 3);
/** DeserializeElement with the RFC 9591 §6 checks: exact length, canonical
 *  encoding, on the curve, in the prime-order subgroup (ED25519: no
 *  small-order or mixed-order points), not the identity.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (with a detail). */
kg_err kg_mpc_point_deserialize(kg_mpc_group_id g, kg_mpc_point *out,
                                const uint8_t *in, size_t in_len) KG_WARN_UNUSED KG_NONNULL(2);

/* ---------------------------------------------------------------- hashes */

/** The suite hash functions of RFC 9591 §6.1-6.5 (and the ZF FROST DKG's
 *  HDKG, domain "dkg"), with the suite's contextString:
 *    ED25519       "FROST-ED25519-SHA512-v1"; H2 is plain SHA-512 (RFC 8032)
 *    RISTRETTO255  "FROST-RISTRETTO255-SHA512-v1"
 *    P256          "FROST-P256-SHA256-v1"
 *    SECP256K1     "FROST-secp256k1-SHA256-v1"
 *  H1, H2, H3 and HDKG give scalars: SHA-512(contextString || tag || m) mod
 *  L for the SHA-512 suites; hash_to_field (RFC 9380 §5.2,
 *  expand_message_xmd with SHA-256, L = 48) with DST = contextString || tag
 *  for the SHA-256 suites. H4 and H5 give digests (64 or 32 bytes). */
typedef enum {
    KG_MPC_H1 = 1, /* "rho":   binding factors */
    KG_MPC_H2,     /* "chal":  challenge */
    KG_MPC_H3,     /* "nonce": nonce generation */
    KG_MPC_H4,     /* "msg":   message digest (digest) */
    KG_MPC_H5,     /* "com":   commitment list digest (digest) */
    KG_MPC_HDKG    /* "dkg":   DKG proof-of-knowledge challenge (ZF frost) */
} kg_mpc_hash_fn;

/** Hash the concatenation of parts[0..n-1] to a scalar with H1/H2/H3/HDKG.
 *  Returns KG_OK | KG_ERR_ARG (H4/H5 or a bad group: contract). */
kg_err kg_mpc_group_hash_scalar(kg_mpc_group_id g, kg_mpc_scalar *out, kg_mpc_hash_fn h,
                                const kg_mpc_slice *parts, size_t n_parts) KG_WARN_UNUSED KG_NONNULL(2);
/** H4/H5 digest of the concatenation of parts; *out_len gets 64 or 32.
 *  Returns KG_OK | KG_ERR_ARG (not H4/H5). */
kg_err kg_mpc_group_hash_digest(kg_mpc_group_id g, uint8_t out[static KG_MPC_HASH_MAX_BYTES],
                                size_t *out_len, kg_mpc_hash_fn h,
                                const kg_mpc_slice *parts, size_t n_parts) KG_WARN_UNUSED KG_NONNULL(2, 3);
/** RFC 9380 §5.3.1 expand_message_xmd with SHA-256, for suites with their
 *  own domain tags (the secp256k1 variants): out_len <= 8160, dst_len
 *  1..255. Returns KG_OK | KG_ERR_ARG. */
kg_err kg_mpc_expand_message_xmd_sha256(uint8_t *out, size_t out_len,
                                        const uint8_t *dst, size_t dst_len,
                                        const kg_mpc_slice *parts, size_t n_parts) KG_WARN_UNUSED;

#endif
