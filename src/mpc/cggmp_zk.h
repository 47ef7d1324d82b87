/* Private to the mpc layer: the number theory of CGGMP21 threshold ECDSA.
 *
 * Canetti, Gennaro, Goldfeder, Makriyannis, Peled, "UC Non-Interactive,
 * Proactive, Threshold ECDSA with Identifiable Aborts" (eprint 2021/060,
 * revisions with the Πfac proof). Section and figure names below are the
 * paper's. This header is the contract between:
 *   cggmp_bn.c    big integers: thread-local BN_CTX, moduli with cached
 *                 Montgomery contexts, constant-time exponentiation for
 *                 secret exponents, sampling in ±2^k·M and Z*_N, wire encoding
 *   cggmp_fs.c    the Fiat-Shamir transcript and unbiased hash-to-range
 *   paillier.c    Paillier (CRT decryption) and ring-Pedersen parameters
 *   safeprime.c   the safe-prime pool (background filler, persisted)
 *   zk_enc.c zk_affg.c zk_logstar.c zk_mulstar.c   (presigning, blame)
 *   zk_mod.c zk_prm.c zk_fac.c                     (auxiliary info)
 *   zk_dec.c zk_mul.c                              (identifiable abort)
 *
 * Integers: OpenSSL BIGNUM. "±2^k" is the set of integers x with
 * |x| <= 2^k; "±2^k·M" those with |x| <= 2^k·M. Plaintexts of Paillier are
 * signed: the representative of m mod N in (-N/2, N/2].
 *
 * Secrets (key shares, nonces k and γ, Paillier primes, λ, the masks α, β,
 * μ, ... of the proofs): exponentiations with a secret exponent go through
 * kg_mpc_bn_exp_secret (BN_mod_exp_mont_consttime on cached Montgomery
 * contexts); secret BIGNUMs carry BN_FLG_CONSTTIME and are freed with
 * BN_clear_free (kg_mpc_bn_free does both).
 *
 * Errors: prove/verify/read return KG_OK or a kg_err with kg_err_set
 * detail naming the proof and the failed check ("Πenc: z1 out of range");
 * verify returns KG_ERR_VERIFY for a proof that does not hold and
 * KG_ERR_BAD_INPUT for malformed values (not invertible, out of range of
 * the modulus). Outputs are cleared on error. Proof structs own their
 * BIGNUMs: the prove/read functions allocate them, _clear frees them
 * (safe on a zeroed or half-filled struct). */
#ifndef KG_MPC_CGGMP_ZK_H
#define KG_MPC_CGGMP_ZK_H

#include <openssl/bn.h>

#include "kashguard/mpc/group.h"
#include "kashguard/mpc/node.h"

/* ----------------------------------------------------------- parameters */

/* The paper's §C.1 choice for 128-bit security with a 256-bit group order:
 * ℓ = 256, ε = 2ℓ, ℓ' = 5ℓ, m = 128 repetitions of the binary-challenge
 * proofs Πmod and Πprm (soundness error 2^-128). */
#define KG_CGGMP_ELL 256u
#define KG_CGGMP_EPS 512u
#define KG_CGGMP_ELL_PRIME 1280u
#define KG_CGGMP_M 128u
/* Paillier / ring-Pedersen modulus size: 3072 bits by default (128-bit
 * factoring security); verifiers refuse moduli under 2048 bits. */
#define KG_CGGMP_N_BITS_DEFAULT 3072u
#define KG_CGGMP_N_BITS_MIN 2048u
#define KG_CGGMP_N_BITS_MAX 4096u
/* Largest encoded integer (sign byte + magnitude): enough for a value of
 * ±2^(ℓ+ε)·N0·N̂ at the largest moduli (Πfac's r and v). */
#define KG_CGGMP_BN_MAX_BYTES 1280u

/* --------------------------------------------------- big integers (cggmp_bn.c) */

/** The calling thread's BN_CTX (created on first use, freed at thread exit).
 *  Callers bracket their temporaries with BN_CTX_start/BN_CTX_end. Aborts
 *  (kg_mpc_fatal) if OpenSSL cannot allocate it. */
BN_CTX *kg_mpc_bn_ctx(void);
/** BN_new with BN_FLG_CONSTTIME set (for secrets); NULL on allocation failure. */
BIGNUM *kg_mpc_bn_secret_new(void);
/** BN_clear_free (NULL is fine). */
void kg_mpc_bn_free(BIGNUM *x);

/** An odd modulus with its Montgomery context (built once, reused by every
 *  exponentiation: the paper's cost is dominated by them). */
typedef struct {
    BIGNUM *n;
    BN_MONT_CTX *mont;
    /* NULL, or the owner's factorisation (kg_mpc_mod_set_crt): then the
     * exponentiations below run mod p^k and q^k (cggmp_crt.c). */
    struct kg_mpc_mod_crt *crt;
} kg_mpc_mod;
/** Copy n (odd, > 1) and build its Montgomery context.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (even or < 3) | KG_ERR_NOMEM. */
kg_err kg_mpc_mod_init(kg_mpc_mod *m, const BIGNUM *n) KG_WARN_UNUSED;
void kg_mpc_mod_clear(kg_mpc_mod *m);
/* --- performance engineer: CRT for the owner's moduli (cggmp_crt.c) --- */
/** Attach the factorisation of m->n = p^k · q^k (k = 1: N or N̂; k = 2:
 *  N^2), p != q odd primes (secret, copied). From then on kg_mpc_bn_exp,
 *  kg_mpc_bn_exp_secret, kg_mpc_bn_exp2 and kg_mpc_bn_exp_ct on m work
 *  mod p^k and q^k with |e| reduced mod φ(p^k), φ(q^k) (for a unit
 *  base; any other base takes the plain path or is refused exactly
 *  as before), constant time in the secret factors, recombined by Garner.
 *  Results are identical. Freed by kg_mpc_mod_clear. Returns KG_OK |
 *  KG_ERR_BAD_INPUT (not the factorisation of m->n) | KG_ERR_NOMEM; m is
 *  unchanged on error. */
kg_err kg_mpc_mod_set_crt(kg_mpc_mod *m, const BIGNUM *p, const BIGNUM *q, unsigned k) KG_WARN_UNUSED;
/** Internal to cggmp_bn.c: r = a^e mod m through m->crt (which must be
 *  set), any sign of e, the exponentiation constant time (the reduced
 *  exponent depends on the factors); sign_secret: the sign of e is secret
 *  too (no branch on it). *nonunit is set, and r left alone, when a is not
 *  a unit mod m->n. Returns KG_OK | KG_ERR_NOMEM. */
kg_err kg_mpc_crt_exp(BIGNUM *r, const BIGNUM *a, const BIGNUM *e, const kg_mpc_mod *m, bool sign_secret,
                      bool *nonunit) KG_WARN_UNUSED;
/** Internal: free m->crt (kg_mpc_mod_clear calls it). */
void kg_mpc_mod_crt_free(kg_mpc_mod *m);
/* --- end CRT --- */

/** r = a^e mod m for a PUBLIC exponent e of any sign (a^-|e| = (a^-1)^|e|).
 *  Returns KG_OK | KG_ERR_BAD_INPUT (e < 0 and a not invertible). */
kg_err kg_mpc_bn_exp(BIGNUM *r, const BIGNUM *a, const BIGNUM *e, const kg_mpc_mod *m) KG_WARN_UNUSED;
/** r = a^e mod m for a SECRET exponent of any sign: the base (a or a^-1,
 *  both public) is picked with a constant-time swap and the exponentiation
 *  is BN_mod_exp_mont_consttime on |e|, so time depends only on the word
 *  length of e. Returns KG_OK | KG_ERR_BAD_INPUT (a not invertible). */
kg_err kg_mpc_bn_exp_secret(BIGNUM *r, const BIGNUM *a, const BIGNUM *e, const kg_mpc_mod *m) KG_WARN_UNUSED;
/** r = a^x · b^y mod m (ring-Pedersen commitments s^x t^y); secret selects
 *  kg_mpc_bn_exp_secret for both factors. */
kg_err kg_mpc_bn_exp2(BIGNUM *r, const BIGNUM *a, const BIGNUM *x, const BIGNUM *b, const BIGNUM *y,
                      const kg_mpc_mod *m, bool secret) KG_WARN_UNUSED;

/* --- performance engineer: exponentiation counters for bench/cggmp_bench.c --- */
/** Slots of the counters: slot b counts exponentiations whose modulus has
 *  256·(b-1) < bits <= 256·b (the last slot: anything larger). */
#define KG_MPC_BN_COUNT_SLOTS 33
/** Copy the process-wide counters of modular exponentiations (out[b][0]:
 *  public exponent, out[b][1]: constant-time) and return true; only in a
 *  build with -DKG_CGGMP_COUNT, otherwise out is zeroed and false is
 *  returned. Counted where OpenSSL is called, so a CRT exponentiation mod
 *  N counts twice at the size of p. */
bool kg_mpc_bn_count_get(unsigned long out[KG_MPC_BN_COUNT_SLOTS][2]);
void kg_mpc_bn_count_reset(void);
/** Count one exponentiation modulo n (no-op without -DKG_CGGMP_COUNT). */
void kg_mpc_bn_count_add(const BIGNUM *n, int secret);
/** r = a^e mod m for a SECRET non-negative exponent and a base that may be
 *  secret too (Paillier's r^N, c^φ): BN_mod_exp_mont_consttime, never an
 *  inverse of the base. Returns KG_OK | KG_ERR_BAD_INPUT (e < 0) |
 *  KG_ERR_NOMEM. */
kg_err kg_mpc_bn_exp_ct(BIGNUM *r, const BIGNUM *a, const BIGNUM *e, const kg_mpc_mod *m) KG_WARN_UNUSED;
/* --- end exponentiation counters --- */

/** Uniform x in ±2^bits·mult (mult NULL: ±2^bits), from the CSPRNG.
 *  Returns KG_OK | KG_ERR_CRYPTO. */
kg_err kg_mpc_bn_rand_pm(BIGNUM *x, unsigned bits, const BIGNUM *mult) KG_WARN_UNUSED;
/** Uniform x in Z*_n. Returns KG_OK | KG_ERR_CRYPTO. */
kg_err kg_mpc_bn_rand_unit(BIGNUM *x, const BIGNUM *n) KG_WARN_UNUSED;
/** |x| <= 2^bits·mult (mult NULL: 2^bits). */
bool kg_mpc_bn_in_pm(const BIGNUM *x, unsigned bits, const BIGNUM *mult);
/** 0 < x < n and gcd(x, n) = 1. */
bool kg_mpc_bn_is_unit(const BIGNUM *x, const BIGNUM *n);

/** The group order q of a CGGMP21 group (secp256k1 or P-256) as a BIGNUM
 *  (static, never freed); NULL for another group. */
const BIGNUM *kg_mpc_group_order(kg_mpc_group_id g);
/** x mod q (any sign) as a scalar. Returns KG_OK | KG_ERR_NOMEM. */
kg_err kg_mpc_bn_to_scalar(kg_mpc_group_id g, kg_mpc_scalar *out, const BIGNUM *x) KG_WARN_UNUSED;
/** A scalar as a non-negative BIGNUM (secret flag set). NULL on failure. */
BIGNUM *kg_mpc_scalar_to_bn(kg_mpc_group_id g, const kg_mpc_scalar *s);
/** out = x·P for an integer x of any sign (reduced mod q first; x may be
 *  secret: the multiplication is kg_mpc_point_mul / base_mul). p NULL: the
 *  generator. Returns KG_OK | KG_ERR_NOMEM. */
kg_err kg_mpc_point_mul_bn(kg_mpc_group_id g, kg_mpc_point *out, const BIGNUM *x, const kg_mpc_point *p) KG_WARN_UNUSED;

/** Wire form of an integer: a blob (u32 length) of one sign byte (0: >= 0,
 *  1: < 0) then the big-endian magnitude without leading zero bytes (zero
 *  is the single byte 00). */
void kg_mpc_bn_write(kg_mpc_node_wr *w, const BIGNUM *x);
/** Read one integer written by kg_mpc_bn_write; refuses non-minimal
 *  encodings, a negative zero and more than max_bytes (<=
 *  KG_CGGMP_BN_MAX_BYTES) bytes. *out is a new BIGNUM. Returns KG_OK |
 *  KG_ERR_BAD_INPUT (what names the field) | KG_ERR_NOMEM. */
kg_err kg_mpc_bn_read(kg_mpc_node_rd *r, BIGNUM **out, size_t max_bytes, const char *what) KG_WARN_UNUSED;
/** A point as a fixed kg_mpc_group_point_len(g)-byte field (identity
 *  refused) and its checked reader (kg_mpc_point_deserialize). */
void kg_mpc_point_write(kg_mpc_node_wr *w, kg_mpc_group_id g, const kg_mpc_point *p);
kg_err kg_mpc_point_read(kg_mpc_node_rd *r, kg_mpc_group_id g, kg_mpc_point *out, const char *what) KG_WARN_UNUSED;

/* ------------------------------------------------- Fiat-Shamir (cggmp_fs.c) */

/** What every challenge is bound to (the rule: session id, the
 *  full public parameter set, the prover's index). sid is the protocol's
 *  session id followed by (or hashed together with) the digest of every
 *  party's public auxiliary info (N_j, s_j, t_j) and the key's public data;
 *  the protocol layer builds it, the proofs absorb it whole. */
typedef struct {
    kg_mpc_group_id group;
    const uint8_t *sid;
    size_t sid_len;
    uint16_t prover;
} kg_mpc_zk_ctx;

/** A transcript: SHA-512 over length-prefixed, labelled fields:
 *    u32 len(domain) || domain || u32 len(sid) || sid || u16 prover ||
 *    u8 group || then per field: u32 len(label) || label || u32 len || value
 *  (integers as in kg_mpc_bn_write, points serialized). The challenge
 *  stream is SHA-512(seed || u64 counter) blocks, seed = the transcript
 *  hash; values are drawn by rejection sampling (no modular bias). */
typedef struct {
    void *md; /* EVP_MD_CTX */
    uint8_t seed[64];
    uint64_t counter;
    uint8_t block[64];
    size_t used; /* bytes of block consumed */
    bool final;
} kg_mpc_fs;

/** domain: the proof's name, e.g. "kashguard/cggmp21/enc/v1".
 *  Returns KG_OK | KG_ERR_NOMEM. */
kg_err kg_mpc_fs_init(kg_mpc_fs *fs, const char *domain, const kg_mpc_zk_ctx *ctx) KG_WARN_UNUSED;
void kg_mpc_fs_bn(kg_mpc_fs *fs, const char *label, const BIGNUM *x);
void kg_mpc_fs_bytes(kg_mpc_fs *fs, const char *label, const uint8_t *data, size_t len);
void kg_mpc_fs_point(kg_mpc_fs *fs, const char *label, kg_mpc_group_id g, const kg_mpc_point *p);
/** e uniform in [-q, q] (the paper's e <- ±q). Ends absorption. */
kg_err kg_mpc_fs_challenge_pm(kg_mpc_fs *fs, BIGNUM *e, const BIGNUM *q) KG_WARN_UNUSED;
/** x uniform in [0, n) (Πmod's y_i); call repeatedly for more values. */
kg_err kg_mpc_fs_challenge_mod(kg_mpc_fs *fs, BIGNUM *x, const BIGNUM *n) KG_WARN_UNUSED;
/** nbits uniform bits, one per byte of out (0 or 1) (Πprm's e_i). */
kg_err kg_mpc_fs_challenge_bits(kg_mpc_fs *fs, uint8_t *out, size_t nbits) KG_WARN_UNUSED;
void kg_mpc_fs_free(kg_mpc_fs *fs);

/* ------------------------------------------------------------ Paillier (paillier.c) */

typedef struct {
    BIGNUM *n;
    BIGNUM *nn; /* N^2 */
    kg_mpc_mod mod_n, mod_nn;
} kg_mpc_paillier_pk;

/** The owner's key: the primes and what CRT decryption needs. */
typedef struct {
    kg_mpc_paillier_pk pk;
    BIGNUM *p, *q;
    BIGNUM *phi;     /* (p-1)(q-1) */
    BIGNUM *phi_inv; /* φ^-1 mod N (decryption: m = L(c^φ mod N^2)·φ^-1 mod N) */
    kg_mpc_mod mod_pp, mod_qq; /* p^2, q^2 for CRT exponentiation mod N^2 */
    BIGNUM *qq_inv_pp; /* (q^2)^-1 mod p^2 (CRT recombination) */
} kg_mpc_paillier_sk;

/** Build a key from two distinct primes p, q of equal bit length with
 *  gcd(N, φ) = 1 (safe primes from the pool). Returns KG_OK |
 *  KG_ERR_BAD_INPUT | KG_ERR_NOMEM. */
kg_err kg_mpc_paillier_sk_from_primes(kg_mpc_paillier_sk *sk, const BIGNUM *p, const BIGNUM *q) KG_WARN_UNUSED;
/** A peer's public key: N odd, KG_CGGMP_N_BITS_MIN <= bits(N) <=
 *  KG_CGGMP_N_BITS_MAX. Returns KG_OK | KG_ERR_BAD_INPUT | KG_ERR_NOMEM. */
kg_err kg_mpc_paillier_pk_set(kg_mpc_paillier_pk *pk, const BIGNUM *n) KG_WARN_UNUSED;
void kg_mpc_paillier_pk_clear(kg_mpc_paillier_pk *pk);
void kg_mpc_paillier_sk_clear(kg_mpc_paillier_sk *sk);

/** c = (1+N)^m · r^N mod N^2 for a signed m (|m| < N/2) and r in Z*_N
 *  (r secret: constant-time exponentiation). Returns KG_OK |
 *  KG_ERR_BAD_INPUT (m out of range, r not a unit). */
kg_err kg_mpc_paillier_enc_with(const kg_mpc_paillier_pk *pk, BIGNUM *c, const BIGNUM *m, const BIGNUM *r) KG_WARN_UNUSED;
/** The same with a fresh r, returned in r_out (NULL: discarded). */
kg_err kg_mpc_paillier_enc(const kg_mpc_paillier_pk *pk, BIGNUM *c, BIGNUM *r_out, const BIGNUM *m) KG_WARN_UNUSED;
/** The owner's faster encryption (r^N by CRT mod p^2 and q^2). */
kg_err kg_mpc_paillier_enc_sk(const kg_mpc_paillier_sk *sk, BIGNUM *c, const BIGNUM *m, const BIGNUM *r) KG_WARN_UNUSED;
/** m = the signed plaintext of c, in (-N/2, N/2] (CRT). Returns KG_OK |
 *  KG_ERR_BAD_INPUT (c not in Z*_{N^2}). */
kg_err kg_mpc_paillier_dec(const kg_mpc_paillier_sk *sk, BIGNUM *m, const BIGNUM *c) KG_WARN_UNUSED;
/** The randomness ρ of c = enc(m; ρ) (the owner can recover it: the
 *  identification of the paper reveals nonces this way):
 *  ρ = (c · (1+N)^-m)^(N^-1 mod φ) mod N. */
kg_err kg_mpc_paillier_nonce(const kg_mpc_paillier_sk *sk, BIGNUM *rho, const BIGNUM *c, const BIGNUM *m) KG_WARN_UNUSED;
/** c = a ⊕ b = a·b mod N^2. */
kg_err kg_mpc_paillier_add(const kg_mpc_paillier_pk *pk, BIGNUM *c, const BIGNUM *a, const BIGNUM *b) KG_WARN_UNUSED;
/** c = k ⊙ a = a^k mod N^2 for a signed k; secret selects the
 *  constant-time path. */
kg_err kg_mpc_paillier_mul(const kg_mpc_paillier_pk *pk, BIGNUM *c, const BIGNUM *a, const BIGNUM *k, bool secret) KG_WARN_UNUSED;
/** A received ciphertext: 0 < c < N^2, gcd(c, N) = 1. KG_OK | KG_ERR_BAD_INPUT. */
kg_err kg_mpc_paillier_ct_check(const kg_mpc_paillier_pk *pk, const BIGNUM *c, const char *what) KG_WARN_UNUSED;

/** Ring-Pedersen parameters (N̂, s, t): t = τ^2 mod N̂, s = t^λ mod N̂
 *  (the paper's aux info uses the party's Paillier modulus as N̂). */
typedef struct {
    BIGNUM *s, *t;
    kg_mpc_mod mod; /* N̂ */
} kg_mpc_rped;
typedef struct {
    kg_mpc_rped pub;
    BIGNUM *lambda; /* in Z_φ(N̂) */
    BIGNUM *phi;    /* φ(N̂) */
} kg_mpc_rped_sk;
/** Fresh parameters on N̂ = p·q. Returns KG_OK | KG_ERR_BAD_INPUT | KG_ERR_NOMEM | KG_ERR_CRYPTO. */
kg_err kg_mpc_rped_generate(kg_mpc_rped_sk *sk, const BIGNUM *p, const BIGNUM *q) KG_WARN_UNUSED;
/** A peer's parameters: N̂ odd with KG_CGGMP_N_BITS_MIN..MAX bits; s, t
 *  units mod N̂, not ±1, s != t. Returns KG_OK | KG_ERR_BAD_INPUT. */
kg_err kg_mpc_rped_set(kg_mpc_rped *rp, const BIGNUM *n, const BIGNUM *s, const BIGNUM *t) KG_WARN_UNUSED;
void kg_mpc_rped_clear(kg_mpc_rped *rp);
void kg_mpc_rped_sk_clear(kg_mpc_rped_sk *sk);
/** c = s^x · t^y mod N̂ (x, y secret, any sign). */
kg_err kg_mpc_rped_commit(const kg_mpc_rped *rp, BIGNUM *c, const BIGNUM *x, const BIGNUM *y) KG_WARN_UNUSED;

/* -------------------------------------------------- safe primes (safeprime.c) */

/** A pool of safe primes p = 2p'+1 of one size, filled by a background
 *  thread and persisted to a file (one hex prime a line, written by
 *  write-then-rename, mode 0600) so a restarted node keeps what it made.
 *  Primes taken are removed from the file before they are returned. */
typedef struct kg_mpc_prime_pool kg_mpc_prime_pool;
/** Open the pool at path (created if missing; every line re-checked as a
 *  safe prime of `bits` bits, bad lines refused with an error) and start
 *  the filler thread when target > 0 (it keeps `target` primes ready).
 *  Returns KG_OK | KG_ERR_BAD_INPUT | KG_ERR_IO | KG_ERR_NOMEM. */
kg_err kg_mpc_prime_pool_open(kg_mpc_prime_pool **out, const char *path, unsigned bits, unsigned target) KG_WARN_UNUSED;
/** Take one prime (waits up to timeout_ms for the filler, or generates
 *  one in the calling thread when target is 0). Returns KG_OK |
 *  KG_ERR_CONFLICT (none ready in time) | KG_ERR_IO. */
kg_err kg_mpc_prime_pool_take(kg_mpc_prime_pool *pool, BIGNUM **out, unsigned timeout_ms) KG_WARN_UNUSED;
size_t kg_mpc_prime_pool_ready(kg_mpc_prime_pool *pool);
/** Raise the pool's target to at least target and start the filler thread
 *  if it is not running (a node opens its pool idle and starts filling on
 *  its first CGGMP21 request, so FROST-only nodes spend no CPU on primes).
 *  Returns KG_OK | KG_ERR_NOMEM (the thread could not start). */
kg_err kg_mpc_prime_pool_fill(kg_mpc_prime_pool *pool, unsigned target) KG_WARN_UNUSED;
/** Stop the filler (waits for it) and free. */
void kg_mpc_prime_pool_close(kg_mpc_prime_pool *pool);

/* --------------------------------------------------------------- proofs */

/* Every proof: prove fills *pf (a fresh struct, zeroed by the caller),
 * verify checks it, write/read are its wire form (fields in struct order),
 * clear frees. aux is the VERIFIER's ring-Pedersen parameters. */

/** Πenc (Fig. 14): K = enc_N0(k; ρ) with k in ±2^ℓ. */
typedef struct { BIGNUM *S, *A, *C, *z1, *z2, *z3; } kg_mpc_zk_enc;
kg_err kg_mpc_zk_enc_prove(kg_mpc_zk_enc *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_rped *aux,
                           const kg_mpc_paillier_pk *n0, const BIGNUM *K, const BIGNUM *k, const BIGNUM *rho) KG_WARN_UNUSED;
kg_err kg_mpc_zk_enc_verify(const kg_mpc_zk_enc *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_rped *aux,
                            const kg_mpc_paillier_pk *n0, const BIGNUM *K) KG_WARN_UNUSED;
void kg_mpc_zk_enc_write(kg_mpc_node_wr *w, const kg_mpc_zk_enc *pf);
kg_err kg_mpc_zk_enc_read(kg_mpc_node_rd *r, kg_mpc_zk_enc *pf) KG_WARN_UNUSED;
void kg_mpc_zk_enc_clear(kg_mpc_zk_enc *pf);

/** Πaff-g (Fig. 15): D = C^x · (1+N0)^y · ρ^N0 mod N0^2, Y = enc_N1(y; ρy),
 *  X = x·G, with x in ±2^ℓ and y in ±2^ℓ'. N0 is the verifier's Paillier
 *  key (C and D are under it), N1 the prover's. */
typedef struct {
    BIGNUM *A, *By, *E, *F, *S, *T, *z1, *z2, *z3, *z4, *w, *wy;
    kg_mpc_point Bx;
} kg_mpc_zk_affg;
kg_err kg_mpc_zk_affg_prove(kg_mpc_zk_affg *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_rped *aux,
                            const kg_mpc_paillier_pk *n0, const kg_mpc_paillier_pk *n1,
                            const BIGNUM *C, const BIGNUM *D, const BIGNUM *Y, const kg_mpc_point *X,
                            const BIGNUM *x, const BIGNUM *y, const BIGNUM *rho, const BIGNUM *rho_y) KG_WARN_UNUSED;
kg_err kg_mpc_zk_affg_verify(const kg_mpc_zk_affg *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_rped *aux,
                             const kg_mpc_paillier_pk *n0, const kg_mpc_paillier_pk *n1,
                             const BIGNUM *C, const BIGNUM *D, const BIGNUM *Y, const kg_mpc_point *X) KG_WARN_UNUSED;
void kg_mpc_zk_affg_write(kg_mpc_node_wr *w, kg_mpc_group_id g, const kg_mpc_zk_affg *pf);
kg_err kg_mpc_zk_affg_read(kg_mpc_node_rd *r, kg_mpc_group_id g, kg_mpc_zk_affg *pf) KG_WARN_UNUSED;
void kg_mpc_zk_affg_clear(kg_mpc_zk_affg *pf);

/** Πlog* (Fig. 25): C = enc_N0(x; ρ), X = x·B (B the base point; NULL =
 *  the generator), x in ±2^ℓ. */
typedef struct {
    BIGNUM *S, *A, *D, *z1, *z2, *z3;
    kg_mpc_point Y;
} kg_mpc_zk_logstar;
kg_err kg_mpc_zk_logstar_prove(kg_mpc_zk_logstar *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_rped *aux,
                               const kg_mpc_paillier_pk *n0, const BIGNUM *C, const kg_mpc_point *X,
                               const kg_mpc_point *B, const BIGNUM *x, const BIGNUM *rho) KG_WARN_UNUSED;
kg_err kg_mpc_zk_logstar_verify(const kg_mpc_zk_logstar *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_rped *aux,
                                const kg_mpc_paillier_pk *n0, const BIGNUM *C, const kg_mpc_point *X,
                                const kg_mpc_point *B) KG_WARN_UNUSED;
void kg_mpc_zk_logstar_write(kg_mpc_node_wr *w, kg_mpc_group_id g, const kg_mpc_zk_logstar *pf);
kg_err kg_mpc_zk_logstar_read(kg_mpc_node_rd *r, kg_mpc_group_id g, kg_mpc_zk_logstar *pf) KG_WARN_UNUSED;
void kg_mpc_zk_logstar_clear(kg_mpc_zk_logstar *pf);

/** Πmul* (Fig. 31): D = C^x · ρ^N0 mod N0^2, X = x·G, x in ±2^ℓ (all
 *  under N0, the prover's key: the signing-phase identification). */
typedef struct {
    BIGNUM *A, *E, *S, *z1, *z2, *w;
    kg_mpc_point Bx;
} kg_mpc_zk_mulstar;
kg_err kg_mpc_zk_mulstar_prove(kg_mpc_zk_mulstar *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_rped *aux,
                               const kg_mpc_paillier_pk *n0, const BIGNUM *C, const BIGNUM *D, const kg_mpc_point *X,
                               const BIGNUM *x, const BIGNUM *rho) KG_WARN_UNUSED;
kg_err kg_mpc_zk_mulstar_verify(const kg_mpc_zk_mulstar *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_rped *aux,
                                const kg_mpc_paillier_pk *n0, const BIGNUM *C, const BIGNUM *D,
                                const kg_mpc_point *X) KG_WARN_UNUSED;
void kg_mpc_zk_mulstar_write(kg_mpc_node_wr *w, kg_mpc_group_id g, const kg_mpc_zk_mulstar *pf);
kg_err kg_mpc_zk_mulstar_read(kg_mpc_node_rd *r, kg_mpc_group_id g, kg_mpc_zk_mulstar *pf) KG_WARN_UNUSED;
void kg_mpc_zk_mulstar_clear(kg_mpc_zk_mulstar *pf);

/** Πdec (Fig. 30): C = enc_N0(y; ρ) and x = y mod q (x public). */
typedef struct { BIGNUM *S, *T, *A, *gamma, *z1, *z2, *w; } kg_mpc_zk_dec;
kg_err kg_mpc_zk_dec_prove(kg_mpc_zk_dec *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_rped *aux,
                           const kg_mpc_paillier_pk *n0, const BIGNUM *C, const kg_mpc_scalar *x,
                           const BIGNUM *y, const BIGNUM *rho) KG_WARN_UNUSED;
kg_err kg_mpc_zk_dec_verify(const kg_mpc_zk_dec *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_rped *aux,
                            const kg_mpc_paillier_pk *n0, const BIGNUM *C, const kg_mpc_scalar *x) KG_WARN_UNUSED;
void kg_mpc_zk_dec_write(kg_mpc_node_wr *w, const kg_mpc_zk_dec *pf);
kg_err kg_mpc_zk_dec_read(kg_mpc_node_rd *r, kg_mpc_zk_dec *pf) KG_WARN_UNUSED;
void kg_mpc_zk_dec_clear(kg_mpc_zk_dec *pf);

/** Πmul (Fig. 29): C = Y^x · ρ^N mod N^2 and X = enc_N(x; ρx), all under
 *  the prover's key N (no ring-Pedersen: the verifier checks over Z). */
typedef struct { BIGNUM *A, *B, *z, *u, *v; } kg_mpc_zk_mul;
kg_err kg_mpc_zk_mul_prove(kg_mpc_zk_mul *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_paillier_pk *n,
                           const BIGNUM *X, const BIGNUM *Y, const BIGNUM *C,
                           const BIGNUM *x, const BIGNUM *rho, const BIGNUM *rho_x) KG_WARN_UNUSED;
kg_err kg_mpc_zk_mul_verify(const kg_mpc_zk_mul *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_paillier_pk *n,
                            const BIGNUM *X, const BIGNUM *Y, const BIGNUM *C) KG_WARN_UNUSED;
void kg_mpc_zk_mul_write(kg_mpc_node_wr *w, const kg_mpc_zk_mul *pf);
kg_err kg_mpc_zk_mul_read(kg_mpc_node_rd *r, kg_mpc_zk_mul *pf) KG_WARN_UNUSED;
void kg_mpc_zk_mul_clear(kg_mpc_zk_mul *pf);

/** Πmod (Fig. 16): N is a Paillier-Blum modulus (N = pq, p ≡ q ≡ 3 mod 4,
 *  gcd(N, φ(N)) = 1). KG_CGGMP_M repetitions; a[i], b[i] in {0,1}. */
typedef struct {
    BIGNUM *w;
    BIGNUM *x[KG_CGGMP_M];
    BIGNUM *z[KG_CGGMP_M];
    uint8_t a[KG_CGGMP_M], b[KG_CGGMP_M];
} kg_mpc_zk_mod;
kg_err kg_mpc_zk_mod_prove(kg_mpc_zk_mod *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_paillier_sk *sk) KG_WARN_UNUSED;
kg_err kg_mpc_zk_mod_verify(const kg_mpc_zk_mod *pf, const kg_mpc_zk_ctx *ctx, const BIGNUM *n) KG_WARN_UNUSED;
void kg_mpc_zk_mod_write(kg_mpc_node_wr *w, const kg_mpc_zk_mod *pf);
kg_err kg_mpc_zk_mod_read(kg_mpc_node_rd *r, kg_mpc_zk_mod *pf) KG_WARN_UNUSED;
void kg_mpc_zk_mod_clear(kg_mpc_zk_mod *pf);

/** Πprm (Fig. 17): s is in the group generated by t mod N̂ (s = t^λ).
 *  KG_CGGMP_M repetitions with binary challenges. */
typedef struct {
    BIGNUM *A[KG_CGGMP_M];
    BIGNUM *z[KG_CGGMP_M];
} kg_mpc_zk_prm;
kg_err kg_mpc_zk_prm_prove(kg_mpc_zk_prm *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_rped_sk *sk) KG_WARN_UNUSED;
kg_err kg_mpc_zk_prm_verify(const kg_mpc_zk_prm *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_rped *rp) KG_WARN_UNUSED;
void kg_mpc_zk_prm_write(kg_mpc_node_wr *w, const kg_mpc_zk_prm *pf);
kg_err kg_mpc_zk_prm_read(kg_mpc_node_rd *r, kg_mpc_zk_prm *pf) KG_WARN_UNUSED;
void kg_mpc_zk_prm_clear(kg_mpc_zk_prm *pf);

/** Πfac (Fig. 28): N0 = p·q has no factor below 2^ℓ·... (both factors in
 *  ±√N0·2^(ℓ+ε)); proved to a verifier holding aux. */
typedef struct { BIGNUM *P, *Q, *A, *B, *T, *sigma, *z1, *z2, *w1, *w2, *v; } kg_mpc_zk_fac;
kg_err kg_mpc_zk_fac_prove(kg_mpc_zk_fac *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_rped *aux,
                           const kg_mpc_paillier_sk *sk) KG_WARN_UNUSED;
kg_err kg_mpc_zk_fac_verify(const kg_mpc_zk_fac *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_rped *aux,
                            const BIGNUM *n0) KG_WARN_UNUSED;
void kg_mpc_zk_fac_write(kg_mpc_node_wr *w, const kg_mpc_zk_fac *pf);
kg_err kg_mpc_zk_fac_read(kg_mpc_node_rd *r, kg_mpc_zk_fac *pf) KG_WARN_UNUSED;
void kg_mpc_zk_fac_clear(kg_mpc_zk_fac *pf);

/* --- presign precomputation engineer: provers split in two (the same math) ---
 * The first message of Πenc, Πaff-g and Πlog* depends only on the witness,
 * the keys and the verifier's ring-Pedersen parameters, not on the session
 * or the other parties' messages (except Πaff-g's C^α and Πlog*'s α·B),
 * so it can be made ahead (kg_mpc_cggmp_presign_prep). _precommit samples
 * the masks and computes that part; _prove_pre takes the rest of the
 * statement, finishes the first message, draws the challenge and answers.
 * The plain _prove is _precommit then _prove_pre: one code path, identical
 * proofs. A _pre is SINGLE USE: _prove_pre always wipes and frees it
 * (success or not), and refuses an empty one, so masks are never answered
 * twice. The witness given to _prove_pre must be the one given to
 * _precommit; the moduli are checked (a _pre made for other parameters is
 * refused with KG_ERR_BAD_INPUT). _pre_clear wipes an unused one. */
typedef struct {
    BIGNUM *alpha, *mu, *r, *gamma; /* secret masks */
    BIGNUM *S, *A, *C;              /* the first message */
    BIGNUM *nh, *n0;                /* the moduli it was made for */
} kg_mpc_zk_enc_pre;
kg_err kg_mpc_zk_enc_precommit(kg_mpc_zk_enc_pre *pre, const kg_mpc_rped *aux, const kg_mpc_paillier_pk *n0,
                               const BIGNUM *k) KG_WARN_UNUSED;
kg_err kg_mpc_zk_enc_prove_pre(kg_mpc_zk_enc *pf, kg_mpc_zk_enc_pre *pre, const kg_mpc_zk_ctx *ctx,
                               const kg_mpc_rped *aux, const kg_mpc_paillier_pk *n0, const BIGNUM *K,
                               const BIGNUM *k, const BIGNUM *rho) KG_WARN_UNUSED;
void kg_mpc_zk_enc_pre_clear(kg_mpc_zk_enc_pre *pre);

#define KG_MPC_ZK_AFFG_MASKS 8
/** A0 = (1+N0)^β·r^N0 mod N0^2: _prove_pre makes A = C^α·A0 (C is the
 *  peer's K_j, known only online). */
typedef struct {
    BIGNUM *mask[KG_MPC_ZK_AFFG_MASKS]; /* secret: α, β, r, ry, γ, m, δ, μ */
    BIGNUM *A0, *By, *E, *F, *S, *T;
    kg_mpc_point Bx;
    BIGNUM *nh, *n0, *n1;
} kg_mpc_zk_affg_pre;
kg_err kg_mpc_zk_affg_precommit(kg_mpc_zk_affg_pre *pre, kg_mpc_group_id g, const kg_mpc_rped *aux,
                                const kg_mpc_paillier_pk *n0, const kg_mpc_paillier_pk *n1, const BIGNUM *x,
                                const BIGNUM *y) KG_WARN_UNUSED;
kg_err kg_mpc_zk_affg_prove_pre(kg_mpc_zk_affg *pf, kg_mpc_zk_affg_pre *pre, const kg_mpc_zk_ctx *ctx,
                                const kg_mpc_rped *aux, const kg_mpc_paillier_pk *n0, const kg_mpc_paillier_pk *n1,
                                const BIGNUM *C, const BIGNUM *D, const BIGNUM *Y, const kg_mpc_point *X,
                                const BIGNUM *x, const BIGNUM *y, const BIGNUM *rho, const BIGNUM *rho_y) KG_WARN_UNUSED;
void kg_mpc_zk_affg_pre_clear(kg_mpc_zk_affg_pre *pre);

/** Πlog*'s first message is Πenc's (S = s^x t^μ, A = enc(α; r), and
 *  s^α t^γ: Πenc's C, Πlog*'s D) with the same ranges, so it is the same
 *  precommitment; Y = α·B is made by _prove_pre (B may be known only
 *  online: Γ). */
typedef kg_mpc_zk_enc_pre kg_mpc_zk_logstar_pre;
kg_err kg_mpc_zk_logstar_precommit(kg_mpc_zk_logstar_pre *pre, const kg_mpc_rped *aux, const kg_mpc_paillier_pk *n0,
                                   const BIGNUM *x) KG_WARN_UNUSED;
kg_err kg_mpc_zk_logstar_prove_pre(kg_mpc_zk_logstar *pf, kg_mpc_zk_logstar_pre *pre, const kg_mpc_zk_ctx *ctx,
                                   const kg_mpc_rped *aux, const kg_mpc_paillier_pk *n0, const BIGNUM *C,
                                   const kg_mpc_point *X, const kg_mpc_point *B, const BIGNUM *x,
                                   const BIGNUM *rho) KG_WARN_UNUSED;
void kg_mpc_zk_logstar_pre_clear(kg_mpc_zk_logstar_pre *pre);
/* --- end presign precomputation --- */

#endif
