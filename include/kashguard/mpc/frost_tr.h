/* KashGuard mpc: BIP 445 "FROST Signing Protocol for BIP340 Signatures"
 * (scheme name frost-secp256k1-tr), version 0.8.0 of the BIP.
 *
 * A t-of-n group of participants, set up by a trusted dealer or a DKG,
 * signs so that the result is one ordinary BIP340 Schnorr signature that
 * verifies under the x-only (optionally tweaked: BIP32, BIP341 Taproot)
 * threshold public key. One session:
 *   round 1  every signer: kg_mpc_frost_tr_nonce_gen -> pubnonce to the
 *            coordinator; coordinator: kg_mpc_frost_tr_nonce_agg -> aggnonce
 *            back to the signers;
 *   round 2  every signer: kg_mpc_frost_tr_sign -> psig to the coordinator;
 *            coordinator: kg_mpc_frost_tr_partial_sig_verify for each psig
 *            (identifies a cheater), kg_mpc_frost_tr_partial_sig_agg -> sig.
 * A single last signer may use kg_mpc_frost_tr_sign_deterministic instead.
 *
 * Encodings (BIP 445 §Algorithms): secshare 32-byte scalar; pubshare and
 * thresh_pk 33-byte compressed points; pubnonce 66 bytes (two compressed
 * points); aggnonce 66 bytes (two compressed points, each may be 33 zero
 * bytes for infinity); secnonce 64 bytes (k1 || k2); psig 32-byte scalar;
 * signature 64 bytes (BIP340). Participant identifiers are 0..n-1.
 *
 * Errors: every function returns kg_err, sets a detail with kg_err_set and
 * zeroes its outputs on error. Where BIP 445 blames a party ("identifiable
 * aborts"), the optional blame output names the contribution and the
 * signer's position in the input list (see kg_mpc_frost_tr_blame).
 *
 * Secrets: secshare and secnonce are handled with libsecp256k1's
 * constant-time scalar and point operations (seckey_tweak_add/mul/negate,
 * pubkey_create). Not constant time: reducing a 32-byte nonce hash modulo n
 * when it is >= n (probability ~2^-128; OpenSSL BIGNUM); everything else
 * that uses BIGNUM (Lagrange coefficients, b, e, tweak accumulators) is
 * public. No allocation other than OpenSSL BN_CTX scratch space.
 *
 * Deviations, both forced or harmless: the nonce coefficient b hashes
 * bytes(4, 4u) (the byte length of the sorted identifiers) where the BIP
 * text says bytes(4, u), because the BIP's published vectors are generated
 * that way; Sign also refuses a secshare whose pubshare is listed at a
 * different identifier's position than my_id (the BIP checks the two
 * memberships separately).
 *
 * Thread safety: functions share only a read-only, randomised
 * libsecp256k1 context created once; a session's data is the caller's. */
#ifndef KASHGUARD_MPC_FROST_TR_H
#define KASHGUARD_MPC_FROST_TR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../err.h"

#define KG_MPC_FROST_TR_SECSHARE_BYTES 32
#define KG_MPC_FROST_TR_PUBSHARE_BYTES 33
#define KG_MPC_FROST_TR_PUBKEY_BYTES 33   /* plain (compressed) threshold public key */
#define KG_MPC_FROST_TR_XONLY_BYTES 32    /* x-only (BIP340) public key */
#define KG_MPC_FROST_TR_SECNONCE_BYTES 64
#define KG_MPC_FROST_TR_PUBNONCE_BYTES 66
#define KG_MPC_FROST_TR_AGGNONCE_BYTES 66
#define KG_MPC_FROST_TR_PSIG_BYTES 32
#define KG_MPC_FROST_TR_SIG_BYTES 64
#define KG_MPC_FROST_TR_TWEAK_BYTES 32
#define KG_MPC_FROST_TR_CHAINCODE_BYTES 32

/** Which contribution an error blames (BIP 445 InvalidContributionError). */
typedef enum {
    KG_MPC_FROST_TR_BLAME_NONE = 0,      /* plain bad input, nobody blamed (ValueError) */
    KG_MPC_FROST_TR_BLAME_PUBNONCE,      /* signer at signer_index sent a bad pubnonce */
    KG_MPC_FROST_TR_BLAME_PSIG,          /* signer at signer_index sent a bad psig */
    KG_MPC_FROST_TR_BLAME_AGGNONCE,      /* the coordinator sent a bad aggnonce */
    KG_MPC_FROST_TR_BLAME_AGGOTHERNONCE  /* the coordinator sent a bad aggothernonce */
} kg_mpc_frost_tr_contrib;

#define KG_MPC_FROST_TR_NO_SIGNER SIZE_MAX

/** Blame of a failed call. signer_index is the position in the caller's
 *  input list (not the identifier), or KG_MPC_FROST_TR_NO_SIGNER for a
 *  coordinator-level fault or when contrib is NONE. */
typedef struct {
    kg_mpc_frost_tr_contrib contrib;
    size_t signer_index;
} kg_mpc_frost_tr_blame;

/** Signers Context (BIP 445 §Signers Context): a view of caller-owned
 *  arrays, which must outlive every call that is given it.
 *  n: participants (1..2^32-1); t: threshold (1..n); u: signers (t..n);
 *  ids[u]: distinct identifiers 0..n-1; pubshares[u]: their public shares;
 *  thresh_pk: the (untweaked) threshold public key. */
typedef struct {
    uint32_t n;
    uint32_t t;
    size_t u;
    const uint32_t *ids;
    const uint8_t (*pubshares)[KG_MPC_FROST_TR_PUBSHARE_BYTES];
    uint8_t thresh_pk[KG_MPC_FROST_TR_PUBKEY_BYTES];
} kg_mpc_frost_tr_signers;

/** The public part of a BIP 445 Session Context that does not change within
 *  a session: the signers, the tweaks (tweaks[i] applied in order, x-only
 *  when is_xonly[i]; n_tweaks must equal n_is_xonly) and the message (any
 *  length; msg may be NULL when msg_len is 0). The aggregate nonce is passed
 *  to each call separately. */
typedef struct {
    const kg_mpc_frost_tr_signers *signers;
    const uint8_t (*tweaks)[KG_MPC_FROST_TR_TWEAK_BYTES];
    size_t n_tweaks;
    const bool *is_xonly;
    size_t n_is_xonly;
    const uint8_t *msg;
    size_t msg_len;
} kg_mpc_frost_tr_session;

/** Tweak Context (BIP 445 §Tweak Context): Q as a compressed point, gacc
 *  (1, or -1 when gacc_neg), and the accumulated tweak tacc. Plain data. */
typedef struct {
    uint8_t q[KG_MPC_FROST_TR_PUBKEY_BYTES];
    uint8_t gacc_neg;
    uint8_t tacc[32];
} kg_mpc_frost_tr_tweak_ctx;

/* ------------------------------------------------ key material, tweaks */

/** ValidateSignersCtx: 1 <= t <= n, t <= u <= n, every id in 0..n-1 and
 *  distinct, every pubshare a point, and the Lagrange interpolation of the
 *  pubshares equal to thresh_pk.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (detail names the field and index). */
kg_err kg_mpc_frost_tr_signers_validate(const kg_mpc_frost_tr_signers *signers) KG_WARN_UNUSED KG_NONNULL(1);

/** DeriveThreshPubkey after validating the ids (0..n-1, distinct) and
 *  pubshares: out = sum lambda_i * P_i. Returns KG_OK | KG_ERR_BAD_INPUT. */
kg_err kg_mpc_frost_tr_thresh_pk_derive(uint8_t out[static KG_MPC_FROST_TR_PUBKEY_BYTES],
                                        uint32_t n, const uint32_t *ids,
                                        const uint8_t (*pubshares)[KG_MPC_FROST_TR_PUBSHARE_BYTES],
                                        size_t u) KG_WARN_UNUSED KG_NONNULL(1);

/** Lagrange interpolating value at zero for my_id within ids[u]
 *  (DeriveInterpolatingValue, identifiers shifted by one), as a 32-byte
 *  scalar. Returns KG_OK | KG_ERR_BAD_INPUT (my_id absent, duplicates). */
kg_err kg_mpc_frost_tr_lagrange(uint8_t out[static 32], const uint32_t *ids, size_t u,
                                uint32_t my_id) KG_WARN_UNUSED KG_NONNULL(1);

/** TweakCtxInit. Returns KG_OK | KG_ERR_BAD_INPUT (thresh_pk not a point). */
kg_err kg_mpc_frost_tr_tweak_init(kg_mpc_frost_tr_tweak_ctx *ctx,
                                  const uint8_t thresh_pk[static KG_MPC_FROST_TR_PUBKEY_BYTES]) KG_WARN_UNUSED KG_NONNULL(1);
/** ApplyTweak, in place: plain (Q + tG) or x-only (with_even_y(Q) + tG).
 *  Returns KG_OK | KG_ERR_BAD_INPUT (tweak >= n, result infinity; ctx
 *  unchanged). */
kg_err kg_mpc_frost_tr_tweak_apply(kg_mpc_frost_tr_tweak_ctx *ctx,
                                   const uint8_t tweak[static KG_MPC_FROST_TR_TWEAK_BYTES],
                                   bool is_xonly) KG_WARN_UNUSED KG_NONNULL(1);
/** GetXonlyPubkey / GetPlainPubkey (the control-block parity bit of a
 *  Taproot output is plain[0] & 1). */
void kg_mpc_frost_tr_tweak_xonly(uint8_t out[static KG_MPC_FROST_TR_XONLY_BYTES],
                                 const kg_mpc_frost_tr_tweak_ctx *ctx) KG_NONNULL(1, 2);
void kg_mpc_frost_tr_tweak_plain(uint8_t out[static KG_MPC_FROST_TR_PUBKEY_BYTES],
                                 const kg_mpc_frost_tr_tweak_ctx *ctx) KG_NONNULL(1, 2);
/** Check a tweak received from outside: exactly 32 bytes and < n; copies it
 *  to out. Returns KG_OK | KG_ERR_BAD_INPUT. */
kg_err kg_mpc_frost_tr_tweak_parse(uint8_t out[static KG_MPC_FROST_TR_TWEAK_BYTES],
                                   const uint8_t *in, size_t in_len) KG_WARN_UNUSED KG_NONNULL(1);
/** The BIP32 non-hardened child tweak of the current plain key:
 *  I = HMAC-SHA512(chaincode, cbytes(Q) || ser32(index)), tweak = I[0:32],
 *  child_chaincode = I[32:64]. Apply it with is_xonly = false. index must be
 *  < 2^31. Returns KG_OK | KG_ERR_BAD_INPUT (hardened index; I[0:32] >= n,
 *  where BIP32 says to move to the next index). */
kg_err kg_mpc_frost_tr_tweak_bip32(uint8_t tweak[static KG_MPC_FROST_TR_TWEAK_BYTES],
                                   uint8_t child_chaincode[static KG_MPC_FROST_TR_CHAINCODE_BYTES],
                                   const kg_mpc_frost_tr_tweak_ctx *ctx,
                                   const uint8_t chaincode[static KG_MPC_FROST_TR_CHAINCODE_BYTES],
                                   uint32_t index) KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
/** The BIP341 TapTweak of the current x-only key:
 *  hash_TapTweak(xbytes(Q) || merkle_root), merkle_root NULL for a key-path
 *  only output. Apply it with is_xonly = true. Returns KG_OK |
 *  KG_ERR_BAD_INPUT (hash >= n). */
kg_err kg_mpc_frost_tr_tweak_taproot(uint8_t tweak[static KG_MPC_FROST_TR_TWEAK_BYTES],
                                     const kg_mpc_frost_tr_tweak_ctx *ctx,
                                     const uint8_t *merkle_root) KG_WARN_UNUSED KG_NONNULL(1, 2);

/* ------------------------------------------------------------- round 1 */

/** NonceGen with fresh 32 bytes of randomness from the OS CSPRNG. Every
 *  argument after pubnonce is optional (NULL = absent) and is
 *  defence in depth (BIP 445 §Nonce Generation): secshare (32), pubshare
 *  (33), thresh_pk_xonly (32), msg (msg_len bytes; NULL means absent, which
 *  differs from an empty message: pass a non-NULL pointer with length 0),
 *  extra_in (extra_in_len bytes, < 2^32). Keep secnonce secret and use it
 *  for exactly one kg_mpc_frost_tr_sign.
 *  Returns KG_OK | KG_ERR_BAD_INPUT | KG_ERR_CRYPTO.
 *  Secrets: constant time in secshare and the randomness. */
kg_err kg_mpc_frost_tr_nonce_gen(uint8_t secnonce[static KG_MPC_FROST_TR_SECNONCE_BYTES],
                                 uint8_t pubnonce[static KG_MPC_FROST_TR_PUBNONCE_BYTES],
                                 const uint8_t *secshare, const uint8_t *pubshare,
                                 const uint8_t *thresh_pk_xonly,
                                 const uint8_t *msg, size_t msg_len,
                                 const uint8_t *extra_in, size_t extra_in_len) KG_WARN_UNUSED KG_NONNULL(1, 2);
/** NonceGen with the caller's 32 bytes rand (the vectors' nonce_gen_internal).
 *  Only for tests and for CounterNonceGen, where rand is a never-repeating
 *  counter and secshare is mandatory. Same rules as nonce_gen. */
kg_err kg_mpc_frost_tr_nonce_gen_internal(uint8_t secnonce[static KG_MPC_FROST_TR_SECNONCE_BYTES],
                                          uint8_t pubnonce[static KG_MPC_FROST_TR_PUBNONCE_BYTES],
                                          const uint8_t rand[static 32],
                                          const uint8_t *secshare, const uint8_t *pubshare,
                                          const uint8_t *thresh_pk_xonly,
                                          const uint8_t *msg, size_t msg_len,
                                          const uint8_t *extra_in, size_t extra_in_len) KG_WARN_UNUSED KG_NONNULL(1, 2, 3);

/** NonceAgg (coordinator): the sum of u pubnonces, half by half, each half
 *  encoded with infinity as 33 zero bytes. Returns KG_OK |
 *  KG_ERR_BAD_INPUT (u = 0, or blame PUBNONCE at the first bad signer). */
kg_err kg_mpc_frost_tr_nonce_agg(uint8_t aggnonce[static KG_MPC_FROST_TR_AGGNONCE_BYTES],
                                 kg_mpc_frost_tr_blame *blame,
                                 const uint8_t (*pubnonces)[KG_MPC_FROST_TR_PUBNONCE_BYTES],
                                 size_t u) KG_WARN_UNUSED KG_NONNULL(1);

/** Decoders of the wire encodings, for a coordinator or node that receives
 *  them: a pubnonce is two valid compressed points (66 bytes); an aggnonce
 *  two compressed points or 33 zero bytes each; a psig a scalar < n
 *  (32 bytes). Return KG_OK | KG_ERR_BAD_INPUT (wrong length, not a point,
 *  out of range). */
kg_err kg_mpc_frost_tr_pubnonce_check(const uint8_t *in, size_t len) KG_WARN_UNUSED;
kg_err kg_mpc_frost_tr_aggnonce_check(const uint8_t *in, size_t len) KG_WARN_UNUSED;
kg_err kg_mpc_frost_tr_psig_check(const uint8_t *in, size_t len) KG_WARN_UNUSED;

/* ------------------------------------------------------------- round 2 */

/** Sign (BIP 445 §Signing): the partial signature of participant my_id with
 *  secret share secshare, over the session and the coordinator's aggnonce.
 *  secnonce is wiped (set to 64 zero bytes) on every path, success or not,
 *  so it can never be used twice; an all-zero secnonce is rejected. The
 *  result is checked with PartialSigVerifyInternal before it is released.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (bad signers/tweaks/secnonce/secshare, or
 *  blame AGGNONCE) | KG_ERR_CRYPTO (self-check failed).
 *  Secrets: constant time in secshare and secnonce. */
kg_err kg_mpc_frost_tr_sign(uint8_t psig[static KG_MPC_FROST_TR_PSIG_BYTES],
                            kg_mpc_frost_tr_blame *blame,
                            uint8_t secnonce[static KG_MPC_FROST_TR_SECNONCE_BYTES],
                            const uint8_t secshare[static KG_MPC_FROST_TR_SECSHARE_BYTES],
                            uint32_t my_id, const kg_mpc_frost_tr_session *session,
                            const uint8_t aggnonce[static KG_MPC_FROST_TR_AGGNONCE_BYTES])
    KG_WARN_UNUSED KG_NONNULL(1, 3, 4, 6, 7);

/** DeterministicSign (BIP 445 §Deterministic and Stateless Signing): for
 *  the one signer that goes last (or a sole signer, aggothernonce NULL).
 *  aggothernonce is NonceAgg of all other signers' pubnonces; aux_rand (32
 *  bytes) is optional. Outputs this signer's pubnonce (for the
 *  coordinator) and psig. Returns as kg_mpc_frost_tr_sign, with blame
 *  AGGOTHERNONCE for a bad aggothernonce.
 *  Secrets: constant time in secshare. */
kg_err kg_mpc_frost_tr_sign_deterministic(uint8_t pubnonce[static KG_MPC_FROST_TR_PUBNONCE_BYTES],
                                          uint8_t psig[static KG_MPC_FROST_TR_PSIG_BYTES],
                                          kg_mpc_frost_tr_blame *blame,
                                          const uint8_t secshare[static KG_MPC_FROST_TR_SECSHARE_BYTES],
                                          uint32_t my_id, const kg_mpc_frost_tr_session *session,
                                          const uint8_t *aggothernonce, const uint8_t *aux_rand)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 4, 6);

/** PartialSigVerify (coordinator): is psig the valid partial signature of
 *  the signer at position signer_index (0..u-1) of the session's signers,
 *  given every signer's pubnonce (n_pubnonces must be u)?
 *  Returns KG_OK (valid) | KG_ERR_VERIFY (invalid: blame PSIG at
 *  signer_index) | KG_ERR_BAD_INPUT (bad signers or tweaks, or blame
 *  PUBNONCE). */
kg_err kg_mpc_frost_tr_partial_sig_verify(kg_mpc_frost_tr_blame *blame,
                                          const uint8_t psig[static KG_MPC_FROST_TR_PSIG_BYTES],
                                          const uint8_t (*pubnonces)[KG_MPC_FROST_TR_PUBNONCE_BYTES],
                                          size_t n_pubnonces,
                                          const kg_mpc_frost_tr_session *session,
                                          size_t signer_index) KG_WARN_UNUSED KG_NONNULL(2, 5);

/** PartialSigAgg (coordinator): the 64-byte BIP340 signature from the u
 *  partial signatures (n_psigs must be u), valid for the session's x-only
 *  tweaked key if every psig passed partial_sig_verify.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (count mismatch, bad signers/tweaks,
 *  blame AGGNONCE, blame PSIG at the first out-of-range psig). */
kg_err kg_mpc_frost_tr_partial_sig_agg(uint8_t sig[static KG_MPC_FROST_TR_SIG_BYTES],
                                       kg_mpc_frost_tr_blame *blame,
                                       const uint8_t (*psigs)[KG_MPC_FROST_TR_PSIG_BYTES],
                                       size_t n_psigs,
                                       const kg_mpc_frost_tr_session *session,
                                       const uint8_t aggnonce[static KG_MPC_FROST_TR_AGGNONCE_BYTES])
    KG_WARN_UNUSED KG_NONNULL(1, 5, 6);

/** The x-only public key the session's signature verifies under (the
 *  thresh_pk after all tweaks): GetXonlyPubkey of the final Tweak Context.
 *  Returns KG_OK | KG_ERR_BAD_INPUT. */
kg_err kg_mpc_frost_tr_session_xonly(uint8_t out[static KG_MPC_FROST_TR_XONLY_BYTES],
                                     const kg_mpc_frost_tr_session *session) KG_WARN_UNUSED KG_NONNULL(1, 2);

#endif
