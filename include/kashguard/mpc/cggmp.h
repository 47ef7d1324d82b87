/* KashGuard mpc layer: threshold ECDSA, CGGMP21.
 *
 * Canetti, Gennaro, Goldfeder, Makriyannis, Peled, "UC Non-Interactive,
 * Proactive, Threshold ECDSA with Identifiable Aborts" (eprint 2021/060).
 * Schemes: "cggmp21-secp256k1" (KG_MPC_GROUP_SECP256K1) and "cggmp21-p256"
 * (KG_MPC_GROUP_P256). Any t-of-n with 1 < t <= n <= KG_CGGMP_MAX_PARTIES:
 * key shares are Shamir shares; a signing set of t parties converts them to
 * additive shares with Lagrange coefficients.
 *
 * Phases (each a function per round and party; the library does no I/O):
 *   keygen      EC key generation with commitments and Schnorr proofs
 *               (cggmp_keygen.c): key share + chain code (HD)
 *   aux/refresh Paillier keys, ring-Pedersen parameters, Πmod/Πprm/Πfac,
 *               and (refresh) a re-randomisation of the key shares that
 *               keeps the public key (cggmp_aux.c)
 *   presign     three rounds with Πenc, Πaff-g, Πlog* for a signing set:
 *               one single-use presignature per party (cggmp_presign.c)
 *   sign        one round from a presignature (cggmp_sign.c); optional
 *               BIP32 non-hardened derivation of the signing key
 *               (cggmp_hd.c)
 *   blame       identifiable abort: who cheated, with the paper's
 *               Πdec/Πmul/Πmul* based identification (cggmp_blame.c)
 *
 * Messages. A round takes the messages every other party sent in the
 * previous round and returns the messages this party sends. A message is
 * a broadcast (to = 0: every party gets the same bytes; the transport
 * signs them and the parties echo-check them) or point-to-point (to = a
 * party id; the transport seals them). Bodies are the library's own
 * encodings; every decoder refuses malformed input with KG_ERR_BAD_INPUT
 * and changes no state.
 *
 * Identifiable abort. When a round fails because of another party, the
 * function returns KG_ERR_VERIFY (a proof or check failed) or
 * KG_ERR_BAD_INPUT (a malformed message), sets *culprit to that party's id
 * and the error detail to "party <id>: <what failed>". *culprit is 0 when
 * no party is to blame (local failure). The state stays usable only for
 * _free after an error.
 *
 * Secrets: key shares, aux info (Paillier primes, λ), round states and
 * presignatures hold secrets. Their encodings are for sealed storage only;
 * states are wiped by their _free functions. */
#ifndef KASHGUARD_MPC_CGGMP_H
#define KASHGUARD_MPC_CGGMP_H

#include "group.h"

#define KG_CGGMP_MAX_PARTIES 64
#define KG_CGGMP_CHAIN_CODE_BYTES 32
/* An ECDSA signature r || s, 32 bytes each, low-S. */
#define KG_CGGMP_SIG_BYTES 64

/** "cggmp21-secp256k1" | "cggmp21-p256"; NULL for another group. */
const char *kg_mpc_cggmp_scheme_name(kg_mpc_group_id g);
/** KG_OK | KG_ERR_BAD_INPUT (unknown; the detail lists the known names). */
kg_err kg_mpc_cggmp_scheme_parse(kg_mpc_group_id *g, const char *name) KG_WARN_UNUSED KG_NONNULL(1);

/** One message of a round. body is owned by the message. */
typedef struct {
    uint16_t from;
    uint16_t to; /* 0: broadcast */
    kg_bytes body;
} kg_mpc_cggmp_msg;
/** Free the bodies of msgs[0..n-1] and the array itself. */
void kg_mpc_cggmp_msgs_free(kg_mpc_cggmp_msg *msgs, size_t n);

/** One party's EC key share (secret). Party ids are 1..65535; ids[] lists
 *  all n parties in increasing order and X[i] is the public share of
 *  ids[i] (x_j·G for the Shamir share x_j). */
typedef struct {
    kg_mpc_group_id group;
    uint16_t id;
    uint16_t t, n;
    uint16_t ids[KG_CGGMP_MAX_PARTIES];
    kg_mpc_scalar x;                      /* this party's Shamir share */
    kg_mpc_point X[KG_CGGMP_MAX_PARTIES]; /* everyone's public shares */
    kg_mpc_point pub;                     /* the group public key */
    uint8_t chain_code[KG_CGGMP_CHAIN_CODE_BYTES];
    uint32_t epoch; /* bumped by every refresh / reshare */
} kg_mpc_cggmp_share;

/** Check a share's public consistency: t, n, sorted ids, own id present,
 *  the public shares interpolate to pub, x·G equals the own public share.
 *  KG_OK | KG_ERR_BAD_INPUT. */
kg_err kg_mpc_cggmp_share_check(const kg_mpc_cggmp_share *s) KG_WARN_UNUSED KG_NONNULL(1);
/** Sealed-storage encoding of a share (secret) and its checked decoder. */
kg_err kg_mpc_cggmp_share_encode(kg_bytes *out, const kg_mpc_cggmp_share *s) KG_WARN_UNUSED KG_NONNULL(1, 2);
kg_err kg_mpc_cggmp_share_decode(kg_mpc_cggmp_share *out, const uint8_t *in, size_t len) KG_WARN_UNUSED KG_NONNULL(1);

/** Auxiliary info of one party: its own Paillier and ring-Pedersen secret
 *  keys and every party's public ones (opaque; src/mpc/cggmp_int.h). */
typedef struct kg_mpc_cggmp_aux kg_mpc_cggmp_aux;
kg_err kg_mpc_cggmp_aux_encode(kg_bytes *out, const kg_mpc_cggmp_aux *a) KG_WARN_UNUSED KG_NONNULL(1, 2);
kg_err kg_mpc_cggmp_aux_decode(kg_mpc_cggmp_aux **out, const uint8_t *in, size_t len) KG_WARN_UNUSED KG_NONNULL(1);
void kg_mpc_cggmp_aux_free(kg_mpc_cggmp_aux *a);

/* Phase functions: declared below by phase (keygen and aux/refresh,
 * presign/sign/blame/HD). */

/* ------------------------------------------- keygen and aux/refresh
 * (cggmp_keygen.c: Fig. 5 made t-of-n with Feldman VSS; cggmp_aux.c:
 * Fig. 6 made t-of-n). Round functions follow the rules above: round k
 * takes the messages of round k-1 (exactly one of each expected kind from
 * every other party). A missing, duplicate, unexpected or unknown-sender
 * message is KG_ERR_BAD_INPUT naming that party in *culprit and changes no
 * state (call again with the right list); a malformed body or failed check
 * names its sender and leaves the state good only for _free. Calling a
 * round out of order is KG_ERR_ARG. */

/** One party's key generation run (opaque, holds secrets; wiped by _free). */
typedef struct kg_mpc_cggmp_keygen kg_mpc_cggmp_keygen;
/** Start keygen for party id among ids[0..n-1] (distinct, non-zero, any
 *  order: stored sorted), threshold t (1 < t <= n <= KG_CGGMP_MAX_PARTIES),
 *  group secp256k1 or P-256; session: unique per run (the coordinator's).
 *  Returns KG_OK | KG_ERR_BAD_INPUT | KG_ERR_NOMEM. */
kg_err kg_mpc_cggmp_keygen_new(kg_mpc_cggmp_keygen **st, kg_mpc_group_id g, uint16_t id, uint16_t t,
                               const uint16_t *ids, size_t n, const uint8_t *session,
                               size_t session_len) KG_WARN_UNUSED KG_NONNULL(1, 5);
/** Round 1: broadcast the commitment V_i. */
kg_err kg_mpc_cggmp_keygen_round1(kg_mpc_cggmp_keygen *st, kg_mpc_cggmp_msg **out, size_t *n_out) KG_WARN_UNUSED;
/** Round 2: takes the V_j; broadcasts the decommitment (rid_i, VSS F_i,
 *  Schnorr commitment A_i, salt). */
kg_err kg_mpc_cggmp_keygen_round2(kg_mpc_cggmp_keygen *st, const kg_mpc_cggmp_msg *in, size_t n_in,
                                  kg_mpc_cggmp_msg **out, size_t *n_out, uint16_t *culprit) KG_WARN_UNUSED;
/** Round 3: checks every decommitment; broadcasts the Schnorr response and
 *  sends f_i(j) point-to-point to each j. */
kg_err kg_mpc_cggmp_keygen_round3(kg_mpc_cggmp_keygen *st, const kg_mpc_cggmp_msg *in, size_t n_in,
                                  kg_mpc_cggmp_msg **out, size_t *n_out, uint16_t *culprit) KG_WARN_UNUSED;
/** Verify the shares and proofs; *out gets the key share (epoch 0, chain
 *  code from the joint rid), checked with kg_mpc_cggmp_share_check. */
kg_err kg_mpc_cggmp_keygen_finish(kg_mpc_cggmp_keygen *st, const kg_mpc_cggmp_msg *in, size_t n_in,
                                  kg_mpc_cggmp_share *out, uint16_t *culprit) KG_WARN_UNUSED;
void kg_mpc_cggmp_keygen_free(kg_mpc_cggmp_keygen *st);

/** One party's aux-info (and optionally refresh) run (opaque, secret). */
typedef struct kg_mpc_cggmp_aux_run kg_mpc_cggmp_aux_run;
struct bignum_st; /* OpenSSL's BIGNUM (declared again: the sections are independent) */
/** Start for the holder of share (copied). p, q: two distinct safe primes
 *  of equal size from the pool (copied; N = p·q must have at least
 *  KG_CGGMP_N_BITS_MIN bits). refresh: also re-randomise the key shares
 *  (same public key, epoch + 1). Returns KG_OK | KG_ERR_BAD_INPUT |
 *  KG_ERR_NOMEM. */
kg_err kg_mpc_cggmp_aux_run_new(kg_mpc_cggmp_aux_run **st, const kg_mpc_cggmp_share *share,
                                const struct bignum_st *p, const struct bignum_st *q, bool refresh,
                                const uint8_t *session, size_t session_len) KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4);
/** Round 1: Paillier key, ring-Pedersen parameters, Πprm and (refresh)
 *  the zero-polynomial; broadcast the commitment V_i. */
kg_err kg_mpc_cggmp_aux_run_round1(kg_mpc_cggmp_aux_run *st, kg_mpc_cggmp_msg **out, size_t *n_out) KG_WARN_UNUSED;
/** Round 2: takes the V_j; broadcasts the decommitment. */
kg_err kg_mpc_cggmp_aux_run_round2(kg_mpc_cggmp_aux_run *st, const kg_mpc_cggmp_msg *in, size_t n_in,
                                   kg_mpc_cggmp_msg **out, size_t *n_out, uint16_t *culprit) KG_WARN_UNUSED;
/** Round 3: checks V_j, N_j, (s_j, t_j) and Πprm_j; broadcasts Πmod and
 *  sends each j a Πfac (under j's ring-Pedersen parameters) and, when
 *  refreshing, g_i(j). */
kg_err kg_mpc_cggmp_aux_run_round3(kg_mpc_cggmp_aux_run *st, const kg_mpc_cggmp_msg *in, size_t n_in,
                                   kg_mpc_cggmp_msg **out, size_t *n_out, uint16_t *culprit) KG_WARN_UNUSED;
/** Verify Πmod, Πfac and the refresh shares; *aux_out gets the aux info
 *  (free with kg_mpc_cggmp_aux_free); share_out (refresh only; may be NULL
 *  otherwise) the refreshed share. */
kg_err kg_mpc_cggmp_aux_run_finish(kg_mpc_cggmp_aux_run *st, const kg_mpc_cggmp_msg *in, size_t n_in,
                                   kg_mpc_cggmp_aux **aux_out, kg_mpc_cggmp_share *share_out,
                                   uint16_t *culprit) KG_WARN_UNUSED;
void kg_mpc_cggmp_aux_run_free(kg_mpc_cggmp_aux_run *st);
/* ------------------------------------------- end keygen and aux/refresh */

/* ---------------------------------------------- HD derivation (cggmp_hd.c) */

/** Parse a BIP32 path of non-hardened indexes: "m" (depth 0) or "m/0/5".
 *  out gets up to max indexes (max <= 255 useful: BIP32's depth byte) and
 *  *depth their count. Refused with KG_ERR_BAD_INPUT and a detail: hardened
 *  components (' h H: MPC keys derive only non-hardened children),
 *  indexes >= 2^31, empty components, leading zeros, anything not
 *  decimal, a missing "m", more than max levels. *depth is 0 and out wiped
 *  on error. */
kg_err kg_mpc_cggmp_hd_path_parse(const char *path, uint32_t *out, size_t *depth, size_t max) KG_WARN_UNUSED;
/** BIP32 CKDpub (SLIP-10 for P-256) along path[0..depth-1] from the group
 *  key pub and the key's chain code: child_pub = pub + tweak·G with tweak
 *  = Σ I_L mod q, child_chain the last chain code. The signing key of the
 *  child is x + tweak. Outputs may alias inputs. Returns KG_OK |
 *  KG_ERR_BAD_INPUT (group not secp256k1/P-256, pub the identity, a
 *  hardened index, depth > 255, or "index i is invalid, use i+1" when
 *  I_L >= q or the child is the identity, as BIP32 prescribes); outputs
 *  zeroed on error. */
kg_err kg_mpc_cggmp_hd_derive(kg_mpc_group_id g, const kg_mpc_point *pub, const uint8_t chain_code[32],
                              const uint32_t *path, size_t depth, kg_mpc_scalar *tweak,
                              kg_mpc_point *child_pub, uint8_t child_chain[32]) KG_WARN_UNUSED;
/* --------------------------------------------------- end HD derivation */


/* ---------------------------------------------------- presign / sign
 * (cggmp_dealer.c, cggmp_presign.c, cggmp_sign.c; CGGMP21 §4, the
 * three-round presigning of Fig. 7 and the one-round signing of Fig. 8) */

/** Trusted dealer, FOR TESTS, BENCHMARKS AND KEY IMPORT ONLY: one party
 *  knows the whole key. Splits secret (NULL: a fresh random key) into t-of-n
 *  Shamir shares for ids 1..n with a random chain code, epoch 0.
 *  shares[0..n-1] get the n shares. Returns KG_OK | KG_ERR_BAD_INPUT (t, n
 *  or group out of range) | KG_ERR_CRYPTO. */
kg_err kg_mpc_cggmp_dealer(kg_mpc_group_id g, unsigned t, unsigned n, const kg_mpc_scalar *secret,
                           kg_mpc_cggmp_share *shares) KG_WARN_UNUSED KG_NONNULL(5);
/** Trusted aux dealer, FOR TESTS, BENCHMARKS AND KEY IMPORT ONLY (no
 *  Πmod/Πprm/Πfac are run: the dealer knows every Paillier key). Builds
 *  auxes[0..n-1] for the parties ids[0..n-1] (increasing) from 2n safe
 *  primes (party i gets primes[2i], primes[2i+1]). Free each with
 *  kg_mpc_cggmp_aux_free. Returns KG_OK | KG_ERR_BAD_INPUT | KG_ERR_NOMEM. */
struct bignum_st; /* OpenSSL's BIGNUM */
kg_err kg_mpc_cggmp_aux_dealer(kg_mpc_cggmp_aux **auxes, const uint16_t *ids, size_t n,
                               struct bignum_st *const *primes) KG_WARN_UNUSED KG_NONNULL(1, 2, 4);

/** One party's presigning run (opaque, holds secrets; wiped by _free). */
typedef struct kg_mpc_cggmp_presign kg_mpc_cggmp_presign;
/** One party's presignature: single use (opaque, secret). */
typedef struct kg_mpc_cggmp_presig kg_mpc_cggmp_presig;

/** Start presigning for the signing set signers[0..n_signers-1] (at least
 *  t parties of the key, this party among them; any order, stored sorted).
 *  session: unique per run (the coordinator's session id). share and aux
 *  are copied/borrowed: aux must stay alive until _free. Returns KG_OK |
 *  KG_ERR_BAD_INPUT | KG_ERR_NOMEM. */
kg_err kg_mpc_cggmp_presign_new(kg_mpc_cggmp_presign **st, const kg_mpc_cggmp_share *share,
                                const kg_mpc_cggmp_aux *aux, const uint16_t *signers, size_t n_signers,
                                const uint8_t *session, size_t len) KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4);
/** Round 1: K_i, G_i (broadcast) and a Πenc per other signer (p2p). */
kg_err kg_mpc_cggmp_presign_round1(kg_mpc_cggmp_presign *st, kg_mpc_cggmp_msg **out, size_t *n_out) KG_WARN_UNUSED;
/** Rounds 2 and 3 take every other signer's broadcast and p2p message of
 *  the previous round (in any order). A missing, duplicate or unknown
 *  message is KG_ERR_BAD_INPUT and changes no state: call again with the
 *  right list. A malformed body (KG_ERR_BAD_INPUT) or failed proof
 *  (KG_ERR_VERIFY) names its sender in *culprit. */
kg_err kg_mpc_cggmp_presign_round2(kg_mpc_cggmp_presign *st, const kg_mpc_cggmp_msg *in, size_t n_in,
                                   kg_mpc_cggmp_msg **out, size_t *n_out, uint16_t *culprit) KG_WARN_UNUSED;
kg_err kg_mpc_cggmp_presign_round3(kg_mpc_cggmp_presign *st, const kg_mpc_cggmp_msg *in, size_t n_in,
                                   kg_mpc_cggmp_msg **out, size_t *n_out, uint16_t *culprit) KG_WARN_UNUSED;
/** Verify round 3 and output the presignature. When δ·G != ΣΔ_j no single
 *  proof failed: KG_ERR_VERIFY with *culprit 0, and the state keeps what
 *  the identification of cggmp_blame.c needs (run it, then _free). */
kg_err kg_mpc_cggmp_presign_finish(kg_mpc_cggmp_presign *st, const kg_mpc_cggmp_msg *in, size_t n_in,
                                   kg_mpc_cggmp_presig **out, uint16_t *culprit) KG_WARN_UNUSED;
void kg_mpc_cggmp_presign_free(kg_mpc_cggmp_presign *st);

/** Sealed-storage encoding of a presignature (secret) and its decoder. */
kg_err kg_mpc_cggmp_presig_encode(kg_bytes *out, const kg_mpc_cggmp_presig *ps) KG_WARN_UNUSED KG_NONNULL(1, 2);
kg_err kg_mpc_cggmp_presig_decode(kg_mpc_cggmp_presig **out, const uint8_t *in, size_t len) KG_WARN_UNUSED KG_NONNULL(1);
void kg_mpc_cggmp_presig_free(kg_mpc_cggmp_presig *ps);
/** R = k^-1·G, the same at every signer. */
const kg_mpc_point *kg_mpc_cggmp_presig_R(const kg_mpc_cggmp_presig *ps) KG_NONNULL(1);
/** The (untweaked) group public key the presignature is for. */
const kg_mpc_point *kg_mpc_cggmp_presig_pub(const kg_mpc_cggmp_presig *ps) KG_NONNULL(1);
kg_mpc_group_id kg_mpc_cggmp_presig_group(const kg_mpc_cggmp_presig *ps) KG_NONNULL(1);
/** The signing set (sorted); *n gets its size. */
const uint16_t *kg_mpc_cggmp_presig_signers(const kg_mpc_cggmp_presig *ps, size_t *n) KG_NONNULL(1, 2);
/** 32 bytes: SHA-256 of the presign session id and R, equal at every
 *  signer (names the presignature to the coordinator and the used-list). */
const uint8_t *kg_mpc_cggmp_presig_id(const kg_mpc_cggmp_presig *ps) KG_NONNULL(1);

/** σ_i = k_i·(m + r·tweak) + r·χ_i (m = digest mod q, r = R.x mod q;
 *  tweak: the HD child tweak of cggmp_hd.c, or NULL). A presignature is
 *  SINGLE USE: two signatures from one leak the key. The caller must
 *  destroy it, or durably record it as used, BEFORE releasing σ_i.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (r = 0). */
kg_err kg_mpc_cggmp_sign_share(const kg_mpc_cggmp_presig *ps, const uint8_t digest[32], const kg_mpc_scalar *tweak,
                               kg_mpc_scalar *sigma_i) KG_WARN_UNUSED KG_NONNULL(1, 2, 4);
/** s = Σ sigmas[0..n-1], low-S, sig = r || s, *recovery_id = R.y parity
 *  | 2 if R.x >= q (flipped with s). pub is the (tweaked) key signed for.
 *  The signature is verified before it is returned: KG_ERR_VERIFY when it
 *  does not verify (a wrong σ_j: run the identification). */
kg_err kg_mpc_cggmp_sign_combine(kg_mpc_group_id g, const kg_mpc_point *R, const kg_mpc_point *pub,
                                 const uint8_t digest[32], const kg_mpc_scalar *sigmas, size_t n,
                                 uint8_t sig[KG_CGGMP_SIG_BYTES], int *recovery_id) KG_WARN_UNUSED
    KG_NONNULL(2, 3, 4, 5, 7);
/* --- presign precomputation engineer (cggmp_presign_prep.c) ---
 * The work of presigning that depends on neither the other signers'
 * messages nor the session can be done ahead, in idle time: the nonces
 * k_i, γ_i and their encryptions, the MtA masks β, β̂ with their
 * encryptions, and the first messages of this party's Πenc, Πaff-g and
 * Πlog* (masks, Paillier randomisers r^N on the peers' keys, ring-Pedersen
 * commitments on the peers' parameters). The proofs and their security
 * are unchanged: a presign with a prep computes the same values, earlier.
 * A prep is SECRET, kept in memory only, and single use: new_prep takes
 * its values (the object stays, empty and marked used: a second use is
 * refused) and every value is wiped when used. */
typedef struct kg_mpc_cggmp_presign_prep kg_mpc_cggmp_presign_prep;
/** Precompute for this party (share->id) and the signing set signers[0..
 *  n_signers-1] (any order; the same rules as kg_mpc_cggmp_presign_new).
 *  aux is only read. Seconds of CPU at 3072-bit moduli: run it off the
 *  request path. Returns KG_OK | KG_ERR_BAD_INPUT | KG_ERR_NOMEM |
 *  KG_ERR_CRYPTO. */
kg_err kg_mpc_cggmp_presign_prep_new(kg_mpc_cggmp_presign_prep **out, const kg_mpc_cggmp_share *share,
                                     const kg_mpc_cggmp_aux *aux, const uint16_t *signers,
                                     size_t n_signers) KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4);
/** kg_mpc_cggmp_presign_new using prep's values. KG_ERR_BAD_INPUT (prep
 *  and nothing else unchanged) when prep was used already or made for
 *  another key, epoch, aux info, party or signing set. On success prep is
 *  emptied and marked used (still free it with _prep_free). */
kg_err kg_mpc_cggmp_presign_new_prep(kg_mpc_cggmp_presign **st, const kg_mpc_cggmp_share *share,
                                     const kg_mpc_cggmp_aux *aux, const uint16_t *signers, size_t n_signers,
                                     const uint8_t *session, size_t len,
                                     kg_mpc_cggmp_presign_prep *prep) KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4, 8);
/** True when prep is unused and made for this signing set (any order). */
bool kg_mpc_cggmp_presign_prep_usable(const kg_mpc_cggmp_presign_prep *prep, const uint16_t *signers, size_t n)
    KG_NONNULL(1, 2);
/** Wipe and free (NULL is fine). */
void kg_mpc_cggmp_presign_prep_free(kg_mpc_cggmp_presign_prep *prep);
/* --- end presign precomputation --- */
/* ---------------------------------------------------- end presign / sign */

/* ------------------------------------------------- reshare (cggmp_reshare.c)
 * Move a key to a new set of parties and/or a new threshold t' with the
 * SAME public key and chain code (verifiable secret redistribution with
 * Feldman VSS, as FROST's frost_reshare.c, whose dealing it reuses):
 *   R1  each dealer i (a set D of at least t old parties) shares λ_i·x_i
 *       (λ_i its Lagrange coefficient in D) with a fresh degree t'-1
 *       polynomial and broadcasts a hash commitment V_i to its Feldman
 *       commitments and the chain code. Non-dealers send nothing.
 *   R2  takes every other dealer's V_j; a dealer broadcasts the
 *       decommitment and sends its share to each new party (p2p).
 *   fin (new parties only) takes every other dealer's decommitment and
 *       share: checks V_j, the chain code, the share against the
 *       commitments and the constant term against λ_j·X_j (X_j the
 *       dealer's old public share; so the constants add up to pub); the
 *       new share x' = Σ shares, new public shares from the commitments,
 *       epoch = old epoch + 1.
 * A party may be old and new. An old party outside the new set is done
 * after round 2 (its round 2 returns KG_OK; finish is KG_ERR_ARG); it
 * should delete its old share only once the new parties confirmed. A
 * missing, duplicate, unknown-sender or malformed message is
 * KG_ERR_BAD_INPUT naming its sender and changes no state (call again with
 * the right list); a failed check (commitment mismatch, chain code, share
 * vs commitments, constant term) is KG_ERR_VERIFY naming the dealer and
 * ends the run. Old and new shares do not combine.
 * The new shares have NO aux info: the new set must run
 * kg_mpc_cggmp_aux_run_* with refresh = false before presigning. */

/** One party's reshare run (opaque, holds secrets; wiped by _free). */
typedef struct kg_mpc_cggmp_reshare kg_mpc_cggmp_reshare;
/** Start for party id. old (copied): a dealer's (id in dealers) own old
 *  share (old->id == id; checked with kg_mpc_cggmp_share_check); for a
 *  party that only receives, the old key's public data: a share whose x
 *  and id are ignored, with t, n, ids, X, pub, chain code and epoch from a
 *  trusted source (the coordinator's record of the key): the new share
 *  gets that pub and chain code. dealers[0..n_dealers-1]: old parties, at
 *  least the old t; new_ids[0..n_new-1]: the new parties (any ids, old or
 *  new), threshold 2 <= new_t <= n_new <= KG_CGGMP_MAX_PARTIES; both any
 *  order (stored sorted). id must be a dealer or a new party. session:
 *  unique per run. Returns KG_OK | KG_ERR_BAD_INPUT (including dealers'
 *  old public shares that do not interpolate to pub) | KG_ERR_NOMEM. */
kg_err kg_mpc_cggmp_reshare_new(kg_mpc_cggmp_reshare **st, const kg_mpc_cggmp_share *old, uint16_t id,
                                const uint16_t *dealers, size_t n_dealers, const uint16_t *new_ids, size_t n_new,
                                uint16_t new_t, const uint8_t *session, size_t session_len) KG_WARN_UNUSED
    KG_NONNULL(1, 2, 4, 6);
/** Round 1: a dealer broadcasts V_i; a non-dealer returns no message. */
kg_err kg_mpc_cggmp_reshare_round1(kg_mpc_cggmp_reshare *st, kg_mpc_cggmp_msg **out, size_t *n_out) KG_WARN_UNUSED;
/** Round 2: takes V_j of every other dealer; a dealer broadcasts its
 *  decommitment and sends each other new party its share. */
kg_err kg_mpc_cggmp_reshare_round2(kg_mpc_cggmp_reshare *st, const kg_mpc_cggmp_msg *in, size_t n_in,
                                   kg_mpc_cggmp_msg **out, size_t *n_out, uint16_t *culprit) KG_WARN_UNUSED;
/** New parties: takes every other dealer's decommitment and share; *out
 *  gets the new share (t = new_t, ids = the new set, same pub and chain
 *  code, epoch + 1), checked with kg_mpc_cggmp_share_check; zeroed on
 *  error. */
kg_err kg_mpc_cggmp_reshare_finish(kg_mpc_cggmp_reshare *st, const kg_mpc_cggmp_msg *in, size_t n_in,
                                   kg_mpc_cggmp_share *out, uint16_t *culprit) KG_WARN_UNUSED;
/** The run's 64-byte session id (public; the same at every party): binds
 *  the session, the old key's public data, the dealers, the new set and
 *  t'; every commitment V_i is over it. */
const uint8_t *kg_mpc_cggmp_reshare_sid(const kg_mpc_cggmp_reshare *st) KG_NONNULL(1);
void kg_mpc_cggmp_reshare_free(kg_mpc_cggmp_reshare *st);
/* ------------------------------------------------------------ end reshare */

#endif
