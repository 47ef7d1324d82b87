/* Private to the mpc layer: what the CGGMP21 phase files share.
 *
 * cggmp_common.c: scheme names, message lists, share and aux encodings,
 * the aux digest and the session-id builder every proof context uses. */
#ifndef KG_MPC_CGGMP_INT_H
#define KG_MPC_CGGMP_INT_H

#include "kashguard/mpc/cggmp.h"
#include "cggmp_zk.h"

/** Auxiliary info (CGGMP21 §3.2 / Fig. 6 output). Arrays are indexed by
 *  the position of a party in ids[] (the key's party list, increasing). */
struct kg_mpc_cggmp_aux {
    uint16_t id; /* the owner */
    uint16_t n;
    uint16_t ids[KG_CGGMP_MAX_PARTIES];
    kg_mpc_paillier_sk sk; /* the owner's Paillier key N = p·q */
    kg_mpc_rped_sk rsk;    /* the owner's ring-Pedersen parameters on the same N */
    kg_mpc_paillier_pk pk[KG_CGGMP_MAX_PARTIES]; /* every party's Paillier key (own included) */
    kg_mpc_rped rp[KG_CGGMP_MAX_PARTIES];        /* every party's (N̂, s, t) (own included) */
    uint8_t digest[64]; /* kg_mpc_cggmp_aux_digest: bound into every proof */
};

/** Position of id in ids[0..n-1], or -1. */
int kg_mpc_cggmp_index(const uint16_t *ids, size_t n, uint16_t id);

/** A fresh aux with room for n parties (all BIGNUM fields NULL). NULL on
 *  allocation failure. */
kg_mpc_cggmp_aux *kg_mpc_cggmp_aux_new(void);
/** a->digest = SHA-512 over "kashguard/cggmp21/aux/v1" and, for every
 *  party in ids order, (u16 id, N, s, t) in kg_mpc_bn_write form. Call
 *  after filling pk[] and rp[]. KG_OK | KG_ERR_NOMEM. */
kg_err kg_mpc_cggmp_aux_digest(kg_mpc_cggmp_aux *a) KG_WARN_UNUSED;

/** The session id bound into every Fiat-Shamir challenge of a phase:
 *  SHA-512 over length-prefixed fields: "kashguard/cggmp21/sid/v1", phase
 *  ("keygen", "aux", "presign", "sign", "blame"), the caller's session
 *  bytes (unique per run, chosen by the coordinator), the group, the
 *  key's public data when share is given (t, n, ids, X[], pub, chain
 *  code, epoch), the aux digest when aux is given, and the signing set
 *  when signers is given. KG_OK | KG_ERR_NOMEM. */
kg_err kg_mpc_cggmp_sid(uint8_t out[64], const char *phase, kg_mpc_group_id g,
                        const uint8_t *session, size_t session_len,
                        const kg_mpc_cggmp_share *share, const kg_mpc_cggmp_aux *aux,
                        const uint16_t *signers, size_t n_signers) KG_WARN_UNUSED;

/** Append a message (copies body) to a growing list. KG_OK | KG_ERR_NOMEM. */
kg_err kg_mpc_cggmp_msg_push(kg_mpc_cggmp_msg **list, size_t *n, uint16_t from, uint16_t to,
                             const uint8_t *body, size_t len) KG_WARN_UNUSED;
/** Set the blame outputs: *culprit = party, detail "party <id>: <fmt...>";
 *  returns err. */
kg_err kg_mpc_cggmp_blame(uint16_t *culprit, uint16_t party, kg_err err, const char *fmt, ...) KG_PRINTF(4, 5);


/* ------------------------------------------- presign / sign (cggmp_presign.c,
 * cggmp_sign.c). Ciphertext matrices are ns*ns, row-major: [a*ns + b] for
 * signer positions a, b (positions in the sorted signing set), NULL on the
 * diagonal. D[a*ns+b] = D_{a,b} = K_a^γ_b ⊕ enc_a(β_{a,b}) made by b under
 * N_a, F[a*ns+b] = enc_b(β_{a,b}) made by b; D̂, F̂ the same with w_b, β̂.
 * a's α_{a,b} = dec_a(D_{a,b}) = k_a·γ_b + β_{a,b}; b keeps −β_{a,b}, so
 * δ_a = k_a·γ_a + Σ_b α_{a,b} − Σ_b β_{b,a}. Every ciphertext is in a
 * broadcast (round 2), so every party holds all of them for identification. */

/** A presignature (Fig. 7 output plus what Fig. 8's identification needs). */
struct kg_mpc_cggmp_presig {
    kg_mpc_group_id group;
    uint16_t me;
    uint16_t ns, me_pos;
    uint16_t signers[KG_CGGMP_MAX_PARTIES]; /* sorted */
    uint8_t sid[64];                        /* the presign session id (proof context) */
    uint8_t id[32];                         /* SHA-256(sid || R) */
    kg_mpc_point R, pub;
    kg_mpc_point W[KG_CGGMP_MAX_PARTIES];   /* W_j = λ_j·X_j */
    kg_mpc_scalar k, chi, w;                /* secret: k_i, χ_i, w_i */
    BIGNUM *rho;                            /* secret: K_i = enc_i(k_i; ρ_i) */
    BIGNUM *K[KG_CGGMP_MAX_PARTIES];        /* every signer's K_j */
    BIGNUM **Dh, **Fh;                      /* ns*ns (see above) */
    BIGNUM *beta_hat[KG_CGGMP_MAX_PARTIES]; /* secret: [j] = β̂_{j,me} (me sent) */
    BIGNUM *r_hat[KG_CGGMP_MAX_PARTIES];    /* secret: nonce of F̂_{j,me} = enc_me(β̂_{j,me}) */
};

/** What the identification of cggmp_blame.c needs, borrowed (valid while
 *  the state / presignature lives; do not free). Arrays [ns] are by signer
 *  position; matrices [ns*ns] as above. Fields a presignature does not
 *  hold are NULL: G, Gamma, Delta, delta, Gamma_sum, D, F, gamma, nu,
 *  beta, s, r, s_hat. In a presign state, Delta/delta are set once
 *  finish accepted round 3's messages (whether its δ check failed or not). */
typedef struct {
    kg_mpc_group_id group;
    uint16_t me;
    size_t ns, me_pos;
    const uint16_t *signers;
    const uint8_t *sid; /* 64 bytes: the context every presign proof used */
    const BIGNUM *const *K, *const *G;
    const kg_mpc_point *Gamma, *Delta, *W, *Gamma_sum;
    const kg_mpc_scalar *delta;
    const BIGNUM *const *D, *const *F, *const *Dh, *const *Fh;
    /* own secrets */
    const kg_mpc_scalar *k, *w, *chi;
    const BIGNUM *gamma, *rho, *nu;
    const BIGNUM *const *beta, *const *s, *const *r;          /* [j]: β_{j,me}, nonce inside D_{j,me}, of F_{j,me} */
    const BIGNUM *const *beta_hat, *const *s_hat, *const *r_hat;
} kg_mpc_cggmp_blame_inputs;
/** From a presign state after round 3 or finish (δ check failed or passed).
 *  KG_OK | KG_ERR_BAD_INPUT (round 3 not reached). */
kg_err kg_mpc_cggmp_presign_blame_inputs(const kg_mpc_cggmp_presign *st, kg_mpc_cggmp_blame_inputs *out) KG_WARN_UNUSED;
/** From a presignature (signing-phase identification). Always KG_OK. */
kg_err kg_mpc_cggmp_presig_blame_inputs(const kg_mpc_cggmp_presig *ps, kg_mpc_cggmp_blame_inputs *out) KG_WARN_UNUSED;
/** A fresh zeroed presignature with ns*ns matrices; NULL on no memory. */
kg_mpc_cggmp_presig *kg_mpc_cggmp_presig_alloc(size_t ns);
/** m = digest mod q and r = R.x mod q (the ECDSA scalars). KG_OK |
 *  KG_ERR_BAD_INPUT (R the identity or r = 0). */
kg_err kg_mpc_cggmp_sign_scalars(kg_mpc_group_id g, const kg_mpc_point *R, const uint8_t digest[32],
                                 kg_mpc_scalar *m, kg_mpc_scalar *r) KG_WARN_UNUSED;
/* ------------------------------------------------------ end presign / sign */

/* --- performance engineer: CRT on the owner's entries of an aux --- */
/** Attach the owner's factorisation (a->sk.p, a->sk.q) to its own public
 *  entries a->pk[me] (mod N, N^2), a->rp[me] and a->rsk.pub (mod N̂ = N),
 *  me = the owner's position in ids, so its exponentiations there run by
 *  CRT (cggmp_crt.c). Call once the own entries and a->sk are set.
 *  KG_OK | KG_ERR_BAD_INPUT (the own entries are not on N = p·q) |
 *  KG_ERR_NOMEM. */
kg_err kg_mpc_cggmp_aux_own_crt(kg_mpc_cggmp_aux *a, size_t me) KG_WARN_UNUSED;
/** Run fn(arg, i) for i = 0..n-1 on up to min(n, online CPUs,
 *  $KG_CGGMP_THREADS) threads, the caller's among them (cggmp_par.c).
 *  Tasks must touch only their own outputs. Returns KG_OK, or the error of
 *  the lowest failing i with its detail re-set in the calling thread and
 *  *failed = i (n when none failed). Later tasks may or may not have run:
 *  the caller frees whatever they produced. */
kg_err kg_mpc_cggmp_par(size_t n, kg_err (*fn)(void *arg, size_t i), void *arg, size_t *failed) KG_WARN_UNUSED;
/* --- end CRT --- */

/* --- keygen and aux/refresh engineer: message sorting (cggmp_common.c) --- */
/** Sort a round's input by sender: bc[i] / p2p[i] (arrays of n) get the
 *  broadcast / point-to-point message from ids[i] (NULL at me's position);
 *  pass bc or p2p NULL when that kind is not expected. Exactly one of each
 *  expected kind from every other party; an unknown or own sender, a
 *  message addressed to another party, a duplicate, an unexpected kind or
 *  a missing message -> KG_ERR_BAD_INPUT blaming the sender (or the
 *  missing party). Nothing is written on error. */
kg_err kg_mpc_cggmp_msgs_collect(const kg_mpc_cggmp_msg **bc, const kg_mpc_cggmp_msg **p2p,
                                 const kg_mpc_cggmp_msg *in, size_t n_in, const uint16_t *ids, size_t n,
                                 uint16_t me, uint16_t *culprit) KG_WARN_UNUSED;
/** The commitment of a decommitment body (keygen and aux round 1):
 *  SHA-512 over length-prefixed domain, sid (64), u16 from, body. */
void kg_mpc_cggmp_commit(uint8_t out[64], const char *domain, const uint8_t sid[64], uint16_t from,
                         const uint8_t *body, size_t len);

/* ------------------------------ identifiable abort proofs (cggmp_blame.c)
 * Statement-level: prover i passes its own Paillier key, K_i, and for each
 * peer j (any order, the same at prover and verifier) D_in[j] = D_{i,j}
 * (received, under N_i) and F_out[j] = F_{j,i} = enc_i(β_{j,i}) (made by i,
 * under N_i); in the presign matrices: D_in[j] = D[i*ns+j], F_out[j] =
 * F[j*ns+i] (D̂, F̂ for σ). verifiers[v] are the verifiers' ring-Pedersen
 * parameters (usually every signer's, own included, so v = signer
 * position); verify checks the proof made for verifier_index. ctx: the
 * prover's context (ctx->prover = i). Verify returns KG_OK,
 * KG_ERR_VERIFY (the prover is the culprit) or KG_ERR_BAD_INPUT
 * (malformed or mismatched values: also the prover's fault when they came
 * from it). */

/** δ-failure (Fig. 7): H = K^γ·ρ^N with Πmul (X = G = enc(γ; ν), Y = K,
 *  C = H) and per verifier Πdec: δ = dec(H ⊕ Σ_j (D_in[j] ⊖ F_out[j])) mod q. */
typedef struct {
    BIGNUM *H;
    kg_mpc_zk_mul mul;
    size_t n_dec;
    kg_mpc_zk_dec dec[KG_CGGMP_MAX_PARTIES];
} kg_mpc_cggmp_blame_delta;
kg_err kg_mpc_cggmp_blame_delta_prove(kg_mpc_cggmp_blame_delta *out, const kg_mpc_zk_ctx *ctx,
                                      const kg_mpc_rped *const *verifiers, size_t n_verifiers,
                                      const kg_mpc_paillier_sk *sk, const BIGNUM *K, const BIGNUM *G,
                                      const BIGNUM *gamma, const BIGNUM *nu, const BIGNUM *const *D_in,
                                      const BIGNUM *const *F_out, size_t n_peers,
                                      const kg_mpc_scalar *delta) KG_WARN_UNUSED;
kg_err kg_mpc_cggmp_blame_delta_verify(const kg_mpc_cggmp_blame_delta *b, const kg_mpc_zk_ctx *ctx,
                                       const kg_mpc_rped *verifier, size_t verifier_index,
                                       const kg_mpc_paillier_pk *pk, const BIGNUM *K, const BIGNUM *G,
                                       const BIGNUM *const *D_in, const BIGNUM *const *F_out, size_t n_peers,
                                       const kg_mpc_scalar *delta) KG_WARN_UNUSED;
/** Wire form: H, Πmul, u16 count (1..64), count x Πdec. */
void kg_mpc_cggmp_blame_delta_write(kg_mpc_node_wr *w, const kg_mpc_cggmp_blame_delta *b);
kg_err kg_mpc_cggmp_blame_delta_read(kg_mpc_node_rd *r, kg_mpc_cggmp_blame_delta *b) KG_WARN_UNUSED;
void kg_mpc_cggmp_blame_delta_clear(kg_mpc_cggmp_blame_delta *b);

/** σ-failure (Fig. 8): Ĥ = K^w·ρ^N, per verifier Πmul* (C = K, D = Ĥ,
 *  X = W = w·G) and Πdec: σ = dec(K^(m + r·tweak) ⊕ (Ĥ ⊕ Σ_j (D_in[j] ⊖
 *  F_out[j]))^r) mod q, m = digest mod q, r = R.x mod q, tweak NULL = 0. */
typedef struct {
    BIGNUM *H;
    size_t n_ver;
    kg_mpc_zk_mulstar mulstar[KG_CGGMP_MAX_PARTIES];
    kg_mpc_zk_dec dec[KG_CGGMP_MAX_PARTIES];
} kg_mpc_cggmp_blame_sigma;
kg_err kg_mpc_cggmp_blame_sigma_prove(kg_mpc_cggmp_blame_sigma *out, const kg_mpc_zk_ctx *ctx,
                                      const kg_mpc_rped *const *verifiers, size_t n_verifiers,
                                      const kg_mpc_paillier_sk *sk, const BIGNUM *K, const kg_mpc_point *W,
                                      const kg_mpc_scalar *w, const BIGNUM *const *D_in,
                                      const BIGNUM *const *F_out, size_t n_peers, const uint8_t digest[32],
                                      const kg_mpc_scalar *r, const kg_mpc_scalar *tweak,
                                      const kg_mpc_scalar *sigma) KG_WARN_UNUSED;
kg_err kg_mpc_cggmp_blame_sigma_verify(const kg_mpc_cggmp_blame_sigma *b, const kg_mpc_zk_ctx *ctx,
                                       const kg_mpc_rped *verifier, size_t verifier_index,
                                       const kg_mpc_paillier_pk *pk, const BIGNUM *K, const kg_mpc_point *W,
                                       const BIGNUM *const *D_in, const BIGNUM *const *F_out, size_t n_peers,
                                       const uint8_t digest[32], const kg_mpc_scalar *r,
                                       const kg_mpc_scalar *tweak, const kg_mpc_scalar *sigma) KG_WARN_UNUSED;
/** Wire form: H, u16 count (1..64), count x (Πmul*, Πdec). */
void kg_mpc_cggmp_blame_sigma_write(kg_mpc_node_wr *w, kg_mpc_group_id g, const kg_mpc_cggmp_blame_sigma *b);
kg_err kg_mpc_cggmp_blame_sigma_read(kg_mpc_node_rd *r, kg_mpc_group_id g, kg_mpc_cggmp_blame_sigma *b) KG_WARN_UNUSED;
void kg_mpc_cggmp_blame_sigma_clear(kg_mpc_cggmp_blame_sigma *b);
/* ------------------------------------------ end identifiable abort proofs */

/* --- presign precomputation engineer (cggmp_presign_prep.c) --- */
/** One MtA of round 2 made ahead: β <- ±2^ℓ', Dp = enc_j(β; s) (D =
 *  K_j^x ⊕ Dp online), F = enc_me(β; r), and Πaff-g's first message. */
typedef struct {
    BIGNUM *beta, *s, *r, *Dp, *F; /* secret: beta, s, r */
    kg_mpc_zk_affg_pre pf;
} kg_mpc_cggmp_prep_mta;

/** Everything of one presign run that depends on neither the peers'
 *  messages nor the session (Fig. 7): k, γ, K = enc(k; ρ), G = enc(γ; ν),
 *  and per peer position j (in the sorted signing set): Πenc's first
 *  message (round 1), the MtA values for γ ([j][0]) and w ([j][1]) with
 *  Πaff-g's first message, and Πlog*'s for (G, Γ) (lg, round 2) and
 *  (K, Δ) (lk, round 3). bind = kg_mpc_cggmp_sid("presign-prep") over the
 *  key's public data, the aux digest and the signing set. */
struct kg_mpc_cggmp_presign_prep {
    kg_mpc_group_id g;
    uint16_t me;
    size_t ns, mp;
    uint16_t signers[KG_CGGMP_MAX_PARTIES];
    uint8_t bind[64];
    bool used; /* consumed by kg_mpc_cggmp_presign_new_prep */
    kg_mpc_scalar k, gamma;               /* secret */
    BIGNUM *kb, *gb, *rho, *nu, *K, *G;   /* kb, gb, rho, nu secret */
    kg_mpc_zk_enc_pre enc[KG_CGGMP_MAX_PARTIES];
    kg_mpc_cggmp_prep_mta mta[KG_CGGMP_MAX_PARTIES][2];
    kg_mpc_zk_logstar_pre lg[KG_CGGMP_MAX_PARTIES], lk[KG_CGGMP_MAX_PARTIES];
};
/** KG_OK when prep is unused and was made for (share, aux, signers in any
 *  order); else KG_ERR_BAD_INPUT with the reason. Changes nothing. */
kg_err kg_mpc_cggmp_presign_prep_check(const kg_mpc_cggmp_presign_prep *prep, const kg_mpc_cggmp_share *share,
                                       const kg_mpc_cggmp_aux *aux, const uint16_t *signers,
                                       size_t n_signers) KG_WARN_UNUSED;
/** Move prep's values into a new heap object (returned; NULL on no
 *  memory, prep unchanged) and leave prep empty and marked used. */
kg_mpc_cggmp_presign_prep *kg_mpc_cggmp_presign_prep_take(kg_mpc_cggmp_presign_prep *prep);
/* --- end presign precomputation --- */

#endif
