/* Declarations shared by the BIP 445 FROST files of the mpc module only
 * (src/mpc/frost_tr*.c). The public contract is
 * include/kashguard/mpc/frost_tr.h. Nothing here is for other modules. */
#ifndef KG_MPC_FROST_TR_INT_H
#define KG_MPC_FROST_TR_INT_H

#include <kashguard/crypto.h>
#include <kashguard/mpc/frost_tr.h>

#include <secp256k1.h>

/* ------------------------------------------------------ frost_tr_math.c */

/** Our own randomised libsecp256k1 context, created once (pthread_once) and
 *  then only read. NULL if it could not be created: callers go through
 *  kg_frost_tr_ensure first. */
kg_err kg_frost_tr_ensure(void) KG_WARN_UNUSED;
const secp256k1_context *kg_frost_tr_secp(void);

/** A group element: a libsecp256k1 point, or the point at infinity, which
 *  libsecp256k1 cannot represent in a secp256k1_pubkey. */
typedef struct {
    secp256k1_pubkey p;
    int inf;
} kg_frost_tr_pt;

/** cpoint: a 33-byte compressed point (0x02/0x03, x < p, on the curve);
 *  1 on success. cpoint_ext also takes 33 zero bytes as infinity. */
int kg_frost_tr_pt_parse(kg_frost_tr_pt *out, const uint8_t in[static 33]);
int kg_frost_tr_pt_parse_ext(kg_frost_tr_pt *out, const uint8_t in[static 33]);
/** cbytes_ext: 33 bytes, all zero for infinity. */
void kg_frost_tr_pt_ser(uint8_t out[static 33], const kg_frost_tr_pt *pt);
/** xbytes (32 zero bytes for infinity, which callers never pass). */
void kg_frost_tr_pt_xonly(uint8_t out[static 32], const kg_frost_tr_pt *pt);
/** has_even_y (infinity counts as even, as with_even_y leaves it). */
int kg_frost_tr_pt_even(const kg_frost_tr_pt *pt);
int kg_frost_tr_pt_eq(const kg_frost_tr_pt *a, const kg_frost_tr_pt *b);
void kg_frost_tr_pt_neg(kg_frost_tr_pt *pt);
/** out = a + b (either may be infinity). */
void kg_frost_tr_pt_add(kg_frost_tr_pt *out, const kg_frost_tr_pt *a, const kg_frost_tr_pt *b);
/** out = s * a for a public scalar s < n (checked: 0 on s >= n). */
int kg_frost_tr_pt_mul(kg_frost_tr_pt *out, const kg_frost_tr_pt *a, const uint8_t s[static 32]);
/** out = s * G, constant time in s (libsecp256k1 pubkey_create); s < n. */
int kg_frost_tr_pt_gen(kg_frost_tr_pt *out, const uint8_t s[static 32]);

/** Scalars mod n as 32-byte big-endian strings. sc_valid: s < n (public
 *  data only: variable time). The arithmetic is OpenSSL BIGNUM and is for
 *  public values only. Return KG_OK | KG_ERR_NOMEM | KG_ERR_CRYPTO. */
int kg_frost_tr_sc_valid(const uint8_t s[static 32]);
int kg_frost_tr_sc_is_zero(const uint8_t s[static 32]);
void kg_frost_tr_sc_from_u64(uint8_t out[static 32], uint64_t v);
kg_err kg_frost_tr_sc_add(uint8_t out[static 32], const uint8_t a[static 32], const uint8_t b[static 32]) KG_WARN_UNUSED;
kg_err kg_frost_tr_sc_mul(uint8_t out[static 32], const uint8_t a[static 32], const uint8_t b[static 32]) KG_WARN_UNUSED;
kg_err kg_frost_tr_sc_neg(uint8_t out[static 32], const uint8_t a[static 32]) KG_WARN_UNUSED;
kg_err kg_frost_tr_sc_inv(uint8_t out[static 32], const uint8_t a[static 32]) KG_WARN_UNUSED;
/** scalar_from_bytes_wrapping for secret input: constant time unless
 *  in >= n (probability ~2^-128), which takes a BIGNUM path. */
kg_err kg_frost_tr_sc_reduce_secret(uint8_t out[static 32], const uint8_t in[static 32]) KG_WARN_UNUSED;

/** Incremental BIP340 tagged hash: SHA256(SHA256(tag) || SHA256(tag) || ...). */
void kg_frost_tr_tag_init(kg_crypto_sha256_ctx *h, const char *tag);
void kg_frost_tr_put_u32(kg_crypto_sha256_ctx *h, uint32_t v);
void kg_frost_tr_put_u64(kg_crypto_sha256_ctx *h, uint64_t v);
/** SerializeIds: the u identifiers sorted, 4 bytes big-endian each, hashed. */
void kg_frost_tr_put_ids(kg_crypto_sha256_ctx *h, const uint32_t *ids, size_t u);

/** Fill blame (if not NULL). */
void kg_frost_tr_blame(kg_mpc_frost_tr_blame *blame, kg_mpc_frost_tr_contrib c, size_t index);

/* ------------------------------------------------------------ frost_tr.c */

/** ValidateSignersCtx (no library initialisation: callers have done it). */
kg_err kg_frost_tr_signers_check(const kg_mpc_frost_tr_signers *s) KG_WARN_UNUSED;
/** TweakCtxInit + ApplyTweak for every tweak of the session (with the
 *  n_tweaks == n_is_xonly check). */
kg_err kg_frost_tr_tweaks_run(kg_mpc_frost_tr_tweak_ctx *tc, const kg_mpc_frost_tr_session *s) KG_WARN_UNUSED;
/** The nonce-derivation core shared by NonceGen and DeterministicSign:
 *  k1, k2 from two finished hash states h1, h2 (the common prefix, then
 *  bytes(1, 0) / bytes(1, 1)), secnonce and pubnonce. */
kg_err kg_frost_tr_nonce_finish(uint8_t secnonce[static 64], uint8_t pubnonce[static 66],
                                const uint8_t h1[static 32], const uint8_t h2[static 32]) KG_WARN_UNUSED;

/* ------------------------------------------------------- frost_tr_sign.c */

/** GetSessionValues output. */
typedef struct {
    kg_frost_tr_pt q;
    int gacc_neg;
    uint8_t tacc[32];
    uint8_t b[32];
    kg_frost_tr_pt r;
    uint8_t e[32];
} kg_frost_tr_values;

#endif
