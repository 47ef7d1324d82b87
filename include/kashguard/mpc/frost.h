/* KashGuard mpc layer: FROST threshold Schnorr signatures (RFC 9591).
 *
 * Ciphersuites (the scheme names the API and CLI use):
 *   frost-ed25519       FROST(Ed25519, SHA-512)     KG_MPC_GROUP_ED25519
 *   frost-ristretto255  FROST(ristretto255, SHA-512) KG_MPC_GROUP_RISTRETTO255
 *   frost-p256          FROST(P-256, SHA-256)       KG_MPC_GROUP_P256
 *   frost-secp256k1     FROST(secp256k1, SHA-256)   KG_MPC_GROUP_SECP256K1
 * (frost-secp256k1-tr, BIP340/BIP 445, lives in mpc/frost_tr.h on the same
 * group interface.) A suite is named here by its kg_mpc_group_id.
 *
 * Identifiers are the RFC's: non-zero integers, used as scalars. A group
 * has 1 < t <= n <= KG_MPC_FROST_MAX_PARTICIPANTS members with identifiers
 * 1..n; lower-level functions accept any identifier 1..65535.
 *
 * Flow (RFC 9591 §5): each signer calls kg_mpc_frost_commit (round one)
 * and sends the commitment to the coordinator; the coordinator builds a
 * kg_mpc_frost_signing_package (message + commitments sorted by
 * identifier); each signer calls kg_mpc_frost_sign (round two), which
 * consumes and wipes its nonce; the coordinator calls kg_mpc_frost_aggregate,
 * which verifies every signature share first and names the cheaters.
 * Signatures are the suite's standard encoding: SerializeElement(R) ||
 * SerializeScalar(z), i.e. a plain RFC 8032 Ed25519 signature for
 * frost-ed25519 (64 bytes) and 33 + 32 = 65 bytes for P-256/secp256k1.
 *
 * Secrets: kg_mpc_frost_key_share and kg_mpc_frost_nonce hold secrets.
 * Keep them in guarded memory (kg_secret) or a stack scope, and wipe them
 * with kg_wipe; a nonce must never be used twice (kg_mpc_frost_sign refuses
 * a nonce that is not fresh and wipes it after use, on success or not). */
#ifndef KASHGUARD_MPC_FROST_H
#define KASHGUARD_MPC_FROST_H

#include "group.h"

#define KG_MPC_FROST_MAX_PARTICIPANTS 255
#define KG_MPC_FROST_SIG_MAX_BYTES 65
/* wire sizes (serialize/parse below); P is the group's point length */
#define KG_MPC_FROST_COMMITMENT_MAX_BYTES (2 + 2 * KG_MPC_POINT_MAX_BYTES)
#define KG_MPC_FROST_SIG_SHARE_BYTES (2 + KG_MPC_SCALAR_BYTES)

/** "frost-ed25519", ... (see the file comment); NULL for an invalid id. */
const char *kg_mpc_frost_scheme_name(kg_mpc_group_id g);
/** The suite of a scheme name. Returns KG_OK | KG_ERR_BAD_INPUT (unknown,
 *  with the list of known names in the detail). */
kg_err kg_mpc_frost_scheme_parse(kg_mpc_group_id *g, const char *name) KG_WARN_UNUSED KG_NONNULL(1);

/** One participant's long-lived key material (secret: wipe after use). */
typedef struct {
    kg_mpc_group_id group;
    uint16_t id;                /* identifier i */
    uint16_t min_signers;       /* t */
    uint16_t max_signers;       /* n */
    kg_mpc_scalar secret;       /* sk_i, the signing share */
    kg_mpc_point public_share;  /* PK_i = sk_i * G */
    kg_mpc_point group_public;  /* PK, the group public key */
} kg_mpc_frost_key_share;

/** A signer's round-one commitment (public). */
typedef struct {
    uint16_t id;
    kg_mpc_point hiding;   /* D_i */
    kg_mpc_point binding;  /* E_i */
} kg_mpc_frost_commitment;

/** A signer's round-one nonces (secret, single use). */
typedef struct {
    uint32_t state; /* fresh after kg_mpc_frost_commit; 0 once used or wiped */
    kg_mpc_group_id group;
    kg_mpc_scalar hiding, binding;
    kg_mpc_frost_commitment commitment;
} kg_mpc_frost_nonce;

typedef struct {
    uint16_t id;
    kg_mpc_scalar z;
} kg_mpc_frost_sig_share;

/** What the coordinator sends every signer for round two. commitments
 *  must be sorted by strictly increasing identifier. Not owned. */
typedef struct {
    kg_mpc_group_id group;
    kg_mpc_point group_public;
    const uint8_t *msg;
    size_t msg_len;
    const kg_mpc_frost_commitment *commitments;
    size_t n_commitments;
} kg_mpc_frost_signing_package;

/* ------------------------------------------------ key generation (dealer) */

/** Trusted-dealer key generation (RFC 9591 Appendix C): split a secret
 *  into n shares with threshold t and output the VSS commitment.
 *  Out:  shares:  n key shares (identifiers 1..n; secret).
 *        vss:     t points, the commitment to the polynomial (C_0 = PK).
 *  In:   secret:  the group secret key, or NULL for a fresh random one.
 *        coeffs:  t-1 polynomial coefficients, or NULL for random ones
 *                 (given only to reproduce test vectors).
 *  Returns KG_OK | KG_ERR_BAD_INPUT (t, n out of range, zero secret);
 *  outputs zeroed on error. Constant time in the secrets (see group.h). */
kg_err kg_mpc_frost_dealer_keygen(kg_mpc_group_id g, kg_mpc_frost_key_share *shares, kg_mpc_point *vss,
                                  unsigned t, unsigned n, const kg_mpc_scalar *secret,
                                  const kg_mpc_scalar *coeffs) KG_WARN_UNUSED KG_NONNULL(2, 3);
/** RFC 9591 Appendix C.2 vss_verify: sk_i * G == sum_j C_j * i^j, and the
 *  share's public values match. Returns KG_OK | KG_ERR_VERIFY (names the
 *  identifier). */
kg_err kg_mpc_frost_vss_verify(const kg_mpc_frost_key_share *share, const kg_mpc_point *vss,
                               unsigned t) KG_WARN_UNUSED KG_NONNULL(1, 2);
/** The public value of identifier id from a VSS commitment:
 *  sum_j C_j * id^j (derive_group_info of Appendix C.2). */
void kg_mpc_frost_vss_eval(kg_mpc_group_id g, kg_mpc_point *out, const kg_mpc_point *vss,
                           unsigned t, uint16_t id) KG_NONNULL(2, 3);
/** f(x) for the polynomial with coefficients c[0..t-1] (c[0] the constant),
 *  by Horner's rule. Constant time in the coefficients. */
void kg_mpc_frost_poly_eval(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_scalar *c,
                            unsigned t, const kg_mpc_scalar *x) KG_NONNULL(2, 3, 5);
/** The Lagrange coefficient of id for the set ids[0..n-1] at 0 (RFC 9591
 *  §4.2 derive_interpolating_value). Returns KG_OK | KG_ERR_BAD_INPUT
 *  (id not in ids, a zero or duplicate identifier). */
kg_err kg_mpc_frost_lagrange(kg_mpc_group_id g, kg_mpc_scalar *out, uint16_t id,
                             const uint16_t *ids, size_t n) KG_WARN_UNUSED KG_NONNULL(2, 4);
/** Recover the group secret from k shares (Appendix C.1
 *  secret_share_combine); for tests, key export and refresh checks. With
 *  fewer than t shares the result is a wrong value, not an error. */
kg_err kg_mpc_frost_secret_combine(kg_mpc_group_id g, kg_mpc_scalar *out,
                                   const kg_mpc_frost_key_share *shares, size_t k) KG_WARN_UNUSED KG_NONNULL(2, 3);

/* ----------------------------------------------------------------- signing */

/** RFC 9591 §4.1 nonce_generate: H3(random_bytes || SerializeScalar(secret)).
 *  random32 NULL: 32 fresh bytes from the CSPRNG (the only production use;
 *  a value is given only to reproduce test vectors). */
kg_err kg_mpc_frost_nonce_generate(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_scalar *secret,
                                   const uint8_t *random32) KG_WARN_UNUSED KG_NONNULL(2, 3);
/** Round one (RFC 9591 §5.1 commit): fresh hiding and binding nonces and
 *  their commitments. hiding_rand/binding_rand: NULL in production (fresh
 *  randomness); 32 bytes each to reproduce test vectors. */
kg_err kg_mpc_frost_commit(kg_mpc_frost_nonce *nonce, const kg_mpc_frost_key_share *share,
                           const uint8_t *hiding_rand, const uint8_t *binding_rand) KG_WARN_UNUSED KG_NONNULL(1, 2);
/** Check a signing package: known group, 1 <= n <= 65535 commitments sorted
 *  by strictly increasing non-zero identifiers, valid non-identity points.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (with the identifier at fault). */
kg_err kg_mpc_frost_package_check(const kg_mpc_frost_signing_package *pkg) KG_WARN_UNUSED KG_NONNULL(1);
/** RFC 9591 §4.4 compute_binding_factors: out[i] is the factor of
 *  pkg->commitments[i] (out has n_commitments entries). */
kg_err kg_mpc_frost_binding_factors(kg_mpc_scalar *out, const kg_mpc_frost_signing_package *pkg) KG_WARN_UNUSED KG_NONNULL(1, 2);
/** RFC 9591 §4.5 compute_group_commitment with the factors above. */
void kg_mpc_frost_group_commitment(kg_mpc_point *out, const kg_mpc_frost_signing_package *pkg,
                                   const kg_mpc_scalar *factors) KG_NONNULL(1, 2, 3);
/** RFC 9591 §4.6 compute_challenge: H2(R || PK || msg). */
kg_err kg_mpc_frost_challenge(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_point *R,
                              const kg_mpc_point *pk, const uint8_t *msg, size_t msg_len) KG_WARN_UNUSED KG_NONNULL(2, 3, 4);
/** Round two (RFC 9591 §5.2 sign). Checks the package, that this signer's
 *  commitment is in it and equals the nonce's, and that it has at least
 *  min_signers commitments; then z_i = d_i + e_i*rho_i + lambda_i*sk_i*c.
 *  The nonce is wiped in every case (a nonce is never used twice).
 *  Returns KG_OK | KG_ERR_BAD_INPUT | KG_ERR_CONFLICT (nonce used or not
 *  fresh); out zeroed on error. Secrets: constant time in sk_i and nonces. */
kg_err kg_mpc_frost_sign(kg_mpc_frost_sig_share *out, kg_mpc_frost_nonce *nonce,
                         const kg_mpc_frost_key_share *share,
                         const kg_mpc_frost_signing_package *pkg) KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4);
/** RFC 9591 §5.4 verify_signature_share of the signer share->id with public
 *  key public_share. Returns KG_OK | KG_ERR_VERIFY (detail names the
 *  identifier) | KG_ERR_BAD_INPUT (not in the package). */
kg_err kg_mpc_frost_verify_share(const kg_mpc_frost_signing_package *pkg, const kg_mpc_frost_sig_share *share,
                                 const kg_mpc_point *public_share) KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
/** RFC 9591 §5.3 aggregate, after verifying every share (§5.4).
 *  Out:  sig, *sig_len: the signature (64 or 65 bytes).
 *        culprits, *n_culprits: identifiers whose share failed (culprits has
 *        room for n_commitments entries; may be NULL when n_culprits is).
 *  In:   shares[i], public_shares[i]: the share and PK of
 *        pkg->commitments[i].id, in the package's order.
 *  Returns KG_OK | KG_ERR_VERIFY (a share is invalid: the detail names the
 *  first culprit; no signature) | KG_ERR_BAD_INPUT. The final signature is
 *  also verified before it is returned. */
kg_err kg_mpc_frost_aggregate(uint8_t sig[static KG_MPC_FROST_SIG_MAX_BYTES], size_t *sig_len,
                              uint16_t *culprits, size_t *n_culprits,
                              const kg_mpc_frost_signing_package *pkg,
                              const kg_mpc_frost_sig_share *shares,
                              const kg_mpc_point *public_shares) KG_WARN_UNUSED KG_NONNULL(1, 2, 5, 6, 7);
/** RFC 9591 §6 verify (prime-order groups: z*G == R + c*PK).
 *  Returns KG_OK | KG_ERR_VERIFY. */
kg_err kg_mpc_frost_verify(kg_mpc_group_id g, const uint8_t *sig, size_t sig_len,
                           const kg_mpc_point *pk, const uint8_t *msg, size_t msg_len) KG_WARN_UNUSED KG_NONNULL(4);

/* ------------------------------------------------------------ wire formats
 * Fixed layouts for the messages that cross the network (the suite is known
 * from the session, so it is not repeated): identifiers are 2 bytes
 * big-endian, points and scalars their RFC serializations (P bytes per
 * point). Parsers check every field (group.h deserialization rules). */

/** id || D || E: 2 + 2P bytes. */
kg_err kg_mpc_frost_commitment_serialize(kg_mpc_group_id g, uint8_t *out, size_t *out_len,
                                         const kg_mpc_frost_commitment *c) KG_WARN_UNUSED KG_NONNULL(2, 3, 4);
kg_err kg_mpc_frost_commitment_parse(kg_mpc_group_id g, kg_mpc_frost_commitment *out,
                                     const uint8_t *in, size_t in_len) KG_WARN_UNUSED KG_NONNULL(2);
/** id || z: 34 bytes. */
void kg_mpc_frost_sig_share_serialize(uint8_t out[static KG_MPC_FROST_SIG_SHARE_BYTES],
                                      const kg_mpc_frost_sig_share *s) KG_NONNULL(1, 2);
kg_err kg_mpc_frost_sig_share_parse(kg_mpc_group_id g, kg_mpc_frost_sig_share *out,
                                    const uint8_t *in, size_t in_len) KG_WARN_UNUSED KG_NONNULL(2);

/* ----------------------------------------------- DKG (frost_dkg.c)
 * Pedersen DKG with proofs of knowledge (FROST paper, Figure 1), as
 * ZF frost implements it: round 1 broadcasts the commitment C_i =
 * (a_i0*G, ..., a_i(t-1)*G) and a Schnorr proof (R_i, mu_i) with
 * c_i = HDKG(i || a_i0*G || R_i); round 2 sends f_i(l) to each l on a
 * confidential authenticated channel; finish checks every share against
 * the sender's commitment and sums them. Any invalid proof or share aborts
 * the session (state ABORTED, secrets wiped) and names the sender; no key
 * material is output. */

typedef struct kg_mpc_frost_dkg kg_mpc_frost_dkg; /* one participant's session */

/** Round-1 broadcast. commitment holds t points. */
typedef struct {
    uint16_t from;
    uint16_t t;
    kg_mpc_point commitment[KG_MPC_FROST_MAX_PARTICIPANTS];
    kg_mpc_point proof_R;
    kg_mpc_scalar proof_mu;
} kg_mpc_frost_dkg_round1;

/** Round-2 point-to-point message (secret: send encrypted). */
typedef struct {
    uint16_t from;
    uint16_t to;
    kg_mpc_scalar share; /* f_from(to) */
} kg_mpc_frost_dkg_round2;

/** A new session for participant id of a t-of-n group (1 < t <= n <= 255,
 *  1 <= id <= n). *out is freed with kg_mpc_frost_dkg_free.
 *  Returns KG_OK | KG_ERR_BAD_INPUT | KG_ERR_NOMEM. */
kg_err kg_mpc_frost_dkg_new(kg_mpc_frost_dkg **out, kg_mpc_group_id g, uint16_t id,
                            unsigned t, unsigned n) KG_WARN_UNUSED KG_NONNULL(1);
void kg_mpc_frost_dkg_free(kg_mpc_frost_dkg *dkg);
/** Round 1: draw the polynomial and the proof nonce, fill msg (to broadcast).
 *  coeffs (t scalars, coeffs[0] = a_i0) and proof_k: NULL in production;
 *  given only to reproduce test vectors. State NEW -> ROUND1. */
kg_err kg_mpc_frost_dkg_round1_run(kg_mpc_frost_dkg *dkg, kg_mpc_frost_dkg_round1 *msg,
                                   const kg_mpc_scalar *coeffs, const kg_mpc_scalar *proof_k) KG_WARN_UNUSED KG_NONNULL(1, 2);
/** Check one round-1 message's proof of knowledge and size (t points, valid
 *  non-identity C_0). Returns KG_OK | KG_ERR_VERIFY (names msg->from). */
kg_err kg_mpc_frost_dkg_round1_check(kg_mpc_group_id g, unsigned t, const kg_mpc_frost_dkg_round1 *msg) KG_WARN_UNUSED KG_NONNULL(3);
/** Round 2: take the n-1 round-1 messages of the others (any order),
 *  verify every proof, and output n-1 round-2 messages (out[k].to = the
 *  k-th other identifier in increasing order). On an invalid message the
 *  session aborts: KG_ERR_VERIFY, *culprit = its sender.
 *  State ROUND1 -> ROUND2. */
kg_err kg_mpc_frost_dkg_round2_run(kg_mpc_frost_dkg *dkg, kg_mpc_frost_dkg_round2 *out, uint16_t *culprit,
                                   const kg_mpc_frost_dkg_round1 *msgs, size_t n_msgs) KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
/** Finish: take the n-1 round-2 messages addressed to us, check each
 *  against its sender's commitment, and output our key share and (if not
 *  NULL) the n public shares (public_shares[i-1] = PK_i). On an invalid
 *  share: KG_ERR_VERIFY, *culprit = the sender, session aborted, nothing
 *  output. State ROUND2 -> DONE (secrets wiped). */
kg_err kg_mpc_frost_dkg_finish(kg_mpc_frost_dkg *dkg, kg_mpc_frost_key_share *share,
                               kg_mpc_point *public_shares, uint16_t *culprit,
                               const kg_mpc_frost_dkg_round2 *msgs, size_t n_msgs) KG_WARN_UNUSED KG_NONNULL(1, 2, 4);
/** Wire form of round 1: from || t || t*P || R || mu; *out_len gets the
 *  size (out must hold 4 + (t+1)*P + 32 bytes; max 4 + 256*33 + 32). */
#define KG_MPC_FROST_DKG_ROUND1_MAX_BYTES (4 + (KG_MPC_FROST_MAX_PARTICIPANTS + 1) * KG_MPC_POINT_MAX_BYTES + KG_MPC_SCALAR_BYTES)
kg_err kg_mpc_frost_dkg_round1_serialize(kg_mpc_group_id g, uint8_t *out, size_t *out_len,
                                         const kg_mpc_frost_dkg_round1 *msg) KG_WARN_UNUSED KG_NONNULL(2, 3, 4);
kg_err kg_mpc_frost_dkg_round1_parse(kg_mpc_group_id g, kg_mpc_frost_dkg_round1 *out,
                                     const uint8_t *in, size_t in_len) KG_WARN_UNUSED KG_NONNULL(2);

/* ------------------------------------- refresh and repair (frost_refresh.c)
 * Refresh (proactive secret sharing, Herzberg et al.): every participant
 * deals a random sharing of zero (f(0) = 0, commitment C_0 = identity);
 * each adds the n checked dealings to its share. The group key is unchanged;
 * old and new shares no longer combine. The dealings' commitments must be
 * broadcast consistently (as in the DKG).
 * Repair (repairable threshold scheme, as ZF frost's repairable.rs): t
 * helpers rebuild the share of a participant who lost it, without anyone
 * learning more than that share: step 1 each helper splits
 * lambda_i(r)*sk_i into t random pieces, one per helper; step 2 each helper
 * sums the pieces it got; step 3 the participant sums the t sums and checks
 * the result against its known public share. */

/** Refresh dealing by participant `from` of a t-of-n group: shares[l-1] =
 *  g(l) for l = 1..n (g(0) = 0; shares[from-1] is kept, the others are sent
 *  privately) and vss (t points, vss[0] the identity) to broadcast.
 *  Returns KG_OK | KG_ERR_BAD_INPUT. */
kg_err kg_mpc_frost_refresh_deal(kg_mpc_group_id g, kg_mpc_frost_dkg_round2 *shares, kg_mpc_point *vss,
                                 uint16_t from, unsigned t, unsigned n) KG_WARN_UNUSED KG_NONNULL(2, 3);
/** Apply k dealings to share (in place): msgs[i] from dealer msgs[i].from
 *  with commitment vss[i] (t points each, vss[i][0] must be the identity).
 *  Every dealing is checked first; on an invalid one: KG_ERR_VERIFY,
 *  *culprit = its dealer, share unchanged. public_shares (n points, may be
 *  NULL) are updated to the new PK_j as well. */
kg_err kg_mpc_frost_refresh_apply(kg_mpc_frost_key_share *share, kg_mpc_point *public_shares, uint16_t *culprit,
                                  const kg_mpc_point *const *vss, const kg_mpc_frost_dkg_round2 *msgs,
                                  size_t k) KG_WARN_UNUSED KG_NONNULL(1, 3, 4, 5);
/** Repair step 1, run by helper share->id for lost participant lost_id with
 *  helper set helpers[0..n-1] (t distinct identifiers, not lost_id):
 *  deltas[k] goes privately to helpers[k]. Secret outputs. */
kg_err kg_mpc_frost_repair_step1(kg_mpc_scalar *deltas, const kg_mpc_frost_key_share *share,
                                 const uint16_t *helpers, size_t n, uint16_t lost_id) KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
/** Repair step 2: sigma = sum of the n deltas this helper received. */
void kg_mpc_frost_repair_step2(kg_mpc_group_id g, kg_mpc_scalar *sigma, const kg_mpc_scalar *deltas,
                               size_t n) KG_NONNULL(2, 3);
/** Repair step 3, run by the participant: sum the helpers' sigmas into a
 *  key share and check it against public_share (its known PK_i from the
 *  group's public data). Returns KG_OK | KG_ERR_VERIFY (out zeroed). */
kg_err kg_mpc_frost_repair_step3(kg_mpc_frost_key_share *out, kg_mpc_group_id g, uint16_t id,
                                 unsigned t, unsigned n, const kg_mpc_scalar *sigmas, size_t n_sigmas,
                                 const kg_mpc_point *public_share,
                                 const kg_mpc_point *group_public) KG_WARN_UNUSED KG_NONNULL(1, 6, 8, 9);

/* ------------------------------------------------ reshare (frost_reshare.c)
 * Move the group key to a new participant set and/or threshold t' (raise
 * or lower t, add or remove parties) with the same group public key. A set
 * D of at least t old participants deals: dealer i shares lambda_i * s_i
 * (lambda_i its Lagrange coefficient for D) with a fresh degree t'-1
 * polynomial and broadcasts its Feldman commitment (t' points); each new
 * participant j checks every dealt share against its dealer's commitment,
 * checks that the constant terms add up to the group key, and sums the
 * shares. Old and new shares do not combine. Commitments must be broadcast
 * consistently; shares go on confidential authenticated channels. */

/** Dealer share->id, one of dealers[0..n_dealers-1] (>= t distinct old
 *  identifiers): shares[k] (n_new entries, .to = new_ids[k]; secret: send
 *  privately) and vss (new_t points, to broadcast) for the new set
 *  new_ids[0..n_new-1] (2 <= new_t <= n_new <= 255, distinct non-zero,
 *  any identifiers, old or new). Returns KG_OK | KG_ERR_BAD_INPUT. */
kg_err kg_mpc_frost_reshare_deal(kg_mpc_frost_dkg_round2 *shares, kg_mpc_point *vss,
                                 const kg_mpc_frost_key_share *share,
                                 const uint16_t *dealers, size_t n_dealers,
                                 const uint16_t *new_ids, size_t n_new, unsigned new_t) KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4, 6);
/** New participant id (in new_ids) builds its share from the k dealings
 *  msgs[i] (addressed to id, from dealer msgs[i].from, which must all be
 *  the dealer set D) with commitments vss[i] (new_t points each).
 *  old_publics (may be NULL): old_publics[i] = PK of dealer msgs[i].from;
 *  given, each dealer's constant term is checked to be lambda_i * PK_i, so
 *  a dealer who dealt a wrong value is named. Every dealing is checked
 *  before any is used; on a bad one: KG_ERR_VERIFY, *culprit = its dealer.
 *  The sum of the constant terms must equal group_public (KG_ERR_VERIFY,
 *  *culprit 0, if not). out: the new key share (min_signers = new_t,
 *  max_signers = n_new); public_shares (n_new points, may be NULL): the
 *  new PK of new_ids[j]. Outputs zeroed on error. */
kg_err kg_mpc_frost_reshare_finish(kg_mpc_frost_key_share *out, kg_mpc_point *public_shares, uint16_t *culprit,
                                   kg_mpc_group_id g, const kg_mpc_point *group_public, uint16_t id,
                                   const uint16_t *new_ids, size_t n_new, unsigned new_t,
                                   const kg_mpc_point *const *vss, const kg_mpc_frost_dkg_round2 *msgs, size_t k,
                                   const kg_mpc_point *old_publics) KG_WARN_UNUSED KG_NONNULL(1, 3, 5, 7, 10, 11);

/* ------------------------------------ durable nonces (frost_nonce_store.c)
 * Preprocessed round-one nonces kept in the party's kg_store, sealed with
 * AES-256-GCM under a caller-given 32-byte key (AAD = the record's key).
 * kg_mpc_frost_nonce_store_use consumes a nonce: in one transaction it
 * writes the "used" marker and deletes the sealed secret, and returns the
 * nonce only after that commit is durable -- a crash can never lead to a
 * second use; a second use returns KG_ERR_CONFLICT. With leasing
 * (set_lease) one such transaction consumes a block of nonces into memory,
 * handed out once each; what a crash leaves unused is lost, never reused. */
typedef struct kg_store kg_store;
typedef struct kg_mpc_frost_nonce_store kg_mpc_frost_nonce_store;
#define KG_MPC_FROST_NONCE_SEAL_KEY_BYTES 32
#define KG_MPC_FROST_NONCE_PREPROCESS_MAX 1000

/** A nonce store over st (not owned; must outlive it) with records under
 *  prefix ("<prefix>/nonce/...", "<prefix>/used/..."). The sealing key is
 *  copied into guarded memory. Returns KG_OK | KG_ERR_BAD_INPUT | KG_ERR_NOMEM. */
kg_err kg_mpc_frost_nonce_store_open(kg_mpc_frost_nonce_store **out, kg_store *st, const char *prefix,
                                     const uint8_t seal_key[static KG_MPC_FROST_NONCE_SEAL_KEY_BYTES]) KG_WARN_UNUSED KG_NONNULL(1);
/** Wipes the key copy; NULL is ignored. */
void kg_mpc_frost_nonce_store_close(kg_mpc_frost_nonce_store *ns);
/** Make n (1..KG_MPC_FROST_NONCE_PREPROCESS_MAX) nonce pairs for share,
 *  store them sealed (one transaction: all or none) and output their
 *  commitments (to publish). Returns KG_OK | KG_ERR_BAD_INPUT | KG_ERR_STORE
 *  | KG_ERR_CRYPTO; commitments zeroed on error. */
kg_err kg_mpc_frost_nonce_store_preprocess(kg_mpc_frost_nonce_store *ns, kg_mpc_frost_commitment *commitments,
                                           size_t n, const kg_mpc_frost_key_share *share) KG_WARN_UNUSED KG_NONNULL(1, 2, 4);
/** Consume the nonce of commitment c (suite g): out is a fresh nonce for
 *  kg_mpc_frost_sign, returned only after the consumption is committed.
 *  Returns KG_OK | KG_ERR_CONFLICT (already used) | KG_ERR_NOT_FOUND (never
 *  preprocessed here) | KG_ERR_DECRYPT (wrong sealing key) | KG_ERR_STORE;
 *  out zeroed on error. */
kg_err kg_mpc_frost_nonce_store_use(kg_mpc_frost_nonce *out, kg_mpc_frost_nonce_store *ns, kg_mpc_group_id g,
                                    const kg_mpc_frost_commitment *c) KG_WARN_UNUSED KG_NONNULL(1, 2, 4);
/** The number of unused nonces of participant id in suite g. */
kg_err kg_mpc_frost_nonce_store_count(size_t *out, kg_mpc_frost_nonce_store *ns, kg_mpc_group_id g,
                                      uint16_t id) KG_WARN_UNUSED KG_NONNULL(1, 2);
#define KG_MPC_FROST_NONCE_LEASE_MAX 64
/** Lease nonces in blocks of k (1..KG_MPC_FROST_NONCE_LEASE_MAX; 1, the
 *  default, is off): a use that misses the in-memory lease consumes its
 *  nonce and up to k-1 more (oldest preprocessed first) in ONE durable
 *  transaction; later uses of those are served from guarded memory, once
 *  each. A leased nonce not used before close, crash or kill is discarded
 *  (its record is already consumed) and a later use of it returns
 *  KG_ERR_CONFLICT naming the earlier run. Thread-safe. Returns KG_OK |
 *  KG_ERR_BAD_INPUT | KG_ERR_NOMEM. */
kg_err kg_mpc_frost_nonce_store_set_lease(kg_mpc_frost_nonce_store *ns, unsigned k) KG_WARN_UNUSED KG_NONNULL(1);
#define KG_MPC_FROST_NONCE_RUN_ID_BYTES 16
/** This store object's random run id (in its used markers; public): it
 *  changes with every open, so a peer can tell a restart. */
void kg_mpc_frost_nonce_store_run_id(const kg_mpc_frost_nonce_store *ns,
                                     uint8_t out[static KG_MPC_FROST_NONCE_RUN_ID_BYTES]) KG_NONNULL(1);
/** The number of leased nonces held in memory, not yet handed out. */
size_t kg_mpc_frost_nonce_store_leased(kg_mpc_frost_nonce_store *ns) KG_NONNULL(1);

/* ---------------------------------------------- signer seam (frost_signer.c)
 * A signer.h signer over a FROST group whose shares are all in this
 * process (the networked signer comes later). frost-ed25519 serves
 * KG_SIG_ED25519 (public key: the 32-byte group key; signatures: RFC 8032).
 * A secp256k1 group serves KG_SIG_BIP340 by running BIP 445
 * (frost-secp256k1-tr, mpc/frost_tr.h) on the same shares: x-only public
 * key, BIP341-tweaked when ref->taproot (ref->merkle_root or none);
 * RFC 9591's plain secp256k1 signatures are not BIP340 and are never
 * produced. Every other scheme/suite pair is refused with
 * KG_ERR_WRONG_KEY_USAGE (no suite makes ECDSA). Key references must have
 * no derivation path. sign runs both rounds with the t lowest identifiers
 * and aggregates (every share verified, and the final signature). */
typedef struct kg_signer kg_signer;

/** shares[0..n-1]: t <= n shares of one t-of-n group of suite g (copied
 *  into guarded memory; wiped by kg_signer_close). Returns KG_OK |
 *  KG_ERR_BAD_INPUT (mixed groups, duplicate ids, share/public mismatch) |
 *  KG_ERR_NOMEM. */
kg_err kg_mpc_frost_signer_new(kg_signer **out, kg_mpc_group_id g, unsigned t,
                               const kg_mpc_frost_key_share *shares, size_t n) KG_WARN_UNUSED KG_NONNULL(1, 4);

#endif
