/* KashGuard crypto layer: the primitives every module above uses, over
 * OpenSSL 3 (hashes, HMAC, HKDF, AES-GCM, P-256, Ed25519, RSA),
 * libsecp256k1 (secp256k1 ECDSA, constant time, low-S) and libsodium
 * (CSPRNG, guarded memory). No primitive is written here; this layer only
 * gives them one small, uniform interface and the protocol code built on
 * them (Shamir secret sharing over GF(2^8)).
 *
 * Private keys are kg_secret buffers in a fixed encoding per key type:
 *   P-256, secp256k1: the 32-byte big-endian scalar;
 *   Ed25519:          the 32-byte RFC 8032 seed;
 *   RSA:              PKCS#8 DER.
 * Public keys travel as SubjectPublicKeyInfo DER (what `openssl pkey -pubin`
 * reads), with kg_crypto_pub_raw() for the raw form.
 *
 * Every function returns kg_err; outputs are empty/zero on error.
 * Secrets: every function taking a private key is constant time in it as far
 * as the underlying library is (libsecp256k1 and libsodium: yes; OpenSSL:
 * blinded). */
#ifndef KASHGUARD_CRYPTO_H
#define KASHGUARD_CRYPTO_H

#include "base.h"

#define KG_SHA256_BYTES 32
#define KG_SHA512_BYTES 64
#define KG_AES256_KEY_BYTES 32
#define KG_GCM_IV_BYTES 12
#define KG_GCM_TAG_BYTES 16
#define KG_GCM_IV_MAX_BYTES 128 /* OpenSSL's limit for GCM IVs */

/** Initialise the libraries (sodium_init, the secp256k1 context with
 *  randomisation). Call once before anything else; idempotent, thread-safe
 *  (pthread_once). Functions of this header that need the libraries also
 *  initialise them on first use, so a missing call is not a crash.
 *  Returns KG_OK | KG_ERR_CRYPTO | KG_ERR_NOMEM. */
kg_err kg_crypto_init(void) KG_WARN_UNUSED;

/* --------------------------------------------------------------- random */

/** Fill out with len bytes from the OS CSPRNG (libsodium randombytes:
 *  getrandom(2)). Never fails once the layer is initialised. */
kg_err kg_crypto_random(uint8_t *out, size_t len) KG_WARN_UNUSED;

/* --------------------------------------------------------- hashes, MACs */

/** One-shot SHA-256 / SHA-512 (OpenSSL). in may be NULL when len is 0.
 *  These cannot fail on valid arguments; if OpenSSL itself fails (memory
 *  exhausted, broken provider) the process aborts rather than continue
 *  with an unset digest. Constant time in the data. */
void kg_crypto_sha256(uint8_t out[static KG_SHA256_BYTES], const uint8_t *in, size_t len);
void kg_crypto_sha512(uint8_t out[static KG_SHA512_BYTES], const uint8_t *in, size_t len);
/** Incremental SHA-256 (for hash chains over several fields). The state
 *  lives entirely inside the struct (no allocation, nothing to free), so a
 *  context may be abandoned at any time without a leak; final wipes it.
 *  init must precede update/final; a context is not shared between threads
 *  without a lock. */
typedef struct { _Alignas(16) uint8_t opaque[128]; } kg_crypto_sha256_ctx;
void kg_crypto_sha256_init(kg_crypto_sha256_ctx *ctx);
void kg_crypto_sha256_update(kg_crypto_sha256_ctx *ctx, const uint8_t *in, size_t len);
void kg_crypto_sha256_final(uint8_t out[static KG_SHA256_BYTES], kg_crypto_sha256_ctx *ctx);

/** HMAC (RFC 2104) with SHA-256 / SHA-512; any key length (NULL if 0).
 *  Constant time in key and message. Compare tags with kg_ct_equal.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (key over INT_MAX) | KG_ERR_CRYPTO. */

kg_err kg_crypto_hmac_sha256(uint8_t out[static 32], const uint8_t *key, size_t key_len,
                             const uint8_t *msg, size_t msg_len) KG_WARN_UNUSED;
kg_err kg_crypto_hmac_sha512(uint8_t out[static 64], const uint8_t *key, size_t key_len,
                             const uint8_t *msg, size_t msg_len) KG_WARN_UNUSED;
/** HKDF-SHA256 (RFC 5869) extract-and-expand; out_len 1..255*32. An empty
 *  salt means HashLen zero bytes (RFC 5869 §2.2); salt, info and ikm may be
 *  NULL when their length is 0. Returns KG_OK | KG_ERR_BAD_INPUT (out_len)
 *  | KG_ERR_CRYPTO; out is wiped on error. */
kg_err kg_crypto_hkdf_sha256(uint8_t *out, size_t out_len,
                             const uint8_t *ikm, size_t ikm_len,
                             const uint8_t *salt, size_t salt_len,
                             const uint8_t *info, size_t info_len) KG_WARN_UNUSED;

/* ---------------------------------------------------------- AES-256-GCM */

/** Encrypt pt (pt_len bytes) into ct (pt_len bytes; may equal pt) and tag
 *  (tag_len bytes, 12..16). iv_len is normally KG_GCM_IV_BYTES; any length
 *  from 1 to KG_GCM_IV_MAX_BYTES is accepted for interoperability (non-96-bit
 *  IVs are hashed by GHASH). An IV must never repeat under one key (draw it from
 *  kg_crypto_random). aad may be NULL when aad_len is 0.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (IV or tag size) | KG_ERR_CRYPTO;
 *  ct and tag are wiped on error. Constant time in key and data
 *  (AES-NI/bitsliced AES in OpenSSL). */
kg_err kg_crypto_aes256gcm_encrypt(uint8_t *ct, uint8_t *tag, size_t tag_len,
                                   const uint8_t key[static KG_AES256_KEY_BYTES],
                                   const uint8_t *iv, size_t iv_len,
                                   const uint8_t *aad, size_t aad_len,
                                   const uint8_t *pt, size_t pt_len) KG_WARN_UNUSED;
/** Decrypt and authenticate (tag compared in constant time). Returns
 *  KG_OK | KG_ERR_DECRYPT (tag mismatch: pt is wiped) | KG_ERR_BAD_INPUT
 *  (sizes, as for encrypt). */
kg_err kg_crypto_aes256gcm_decrypt(uint8_t *pt,
                                   const uint8_t key[static KG_AES256_KEY_BYTES],
                                   const uint8_t *iv, size_t iv_len,
                                   const uint8_t *aad, size_t aad_len,
                                   const uint8_t *ct, size_t ct_len,
                                   const uint8_t *tag, size_t tag_len) KG_WARN_UNUSED;

/* ------------------------------------------------------ asymmetric keys */

typedef enum {
    KG_CRYPTO_P256,       /* ECDSA over NIST P-256 with SHA-256 */
    KG_CRYPTO_SECP256K1,  /* ECDSA over secp256k1 with SHA-256, low-S (libsecp256k1) */
    KG_CRYPTO_ED25519,    /* pure Ed25519 (RFC 8032) */
    KG_CRYPTO_RSA2048,    /* verification / wrapping interop only; not a KMS key spec */
    KG_CRYPTO_RSA3072,    /* RSASSA-PSS SHA-256 salt 32, RSAES-OAEP SHA-256 */
    KG_CRYPTO_RSA4096
} kg_crypto_key_type;

/** Generate a private key of type t (encoding: see the file comment):
 *  EC scalars uniformly in [1, n-1] from the CSPRNG, Ed25519 seeds of 32
 *  random bytes, RSA-3072/4096 with e = 65537 (OpenSSL). RSA-2048 is
 *  import-only: KG_ERR_WRONG_KEY_USAGE. */
kg_err kg_crypto_keygen(kg_secret **priv, kg_crypto_key_type t) KG_WARN_UNUSED;
/** Check and normalise an imported private key. Accepts the native encoding
 *  above or PKCS#8 DER for every type; the result is in the native encoding.
 *  Returns KG_ERR_BAD_INPUT when the bytes are not a valid key of type t. */
kg_err kg_crypto_priv_import(kg_secret **priv, kg_crypto_key_type t,
                             const uint8_t *in, size_t in_len) KG_WARN_UNUSED;
/** The SubjectPublicKeyInfo DER of a private key (EC points uncompressed).
 *  Constant time in the key (libsecp256k1; OpenSSL's constant-time ladder
 *  for P-256). */
kg_err kg_crypto_pub_from_priv(kg_bytes *spki, kg_crypto_key_type t, const kg_secret *priv) KG_WARN_UNUSED;
/** Raw public key from SPKI: EC: 65-byte uncompressed SEC1 point;
 *  Ed25519: 32 bytes; RSA: PKCS#1 RSAPublicKey DER. */
kg_err kg_crypto_pub_raw(kg_bytes *raw, kg_crypto_key_type t, const uint8_t *spki, size_t spki_len) KG_WARN_UNUSED;
/** PEM ("-----BEGIN PUBLIC KEY-----") of an SPKI; *pem is malloc'd and
 *  NUL-terminated (free() it). The SPKI must parse; its bytes are kept. */
kg_err kg_crypto_pub_pem(char **pem, const uint8_t *spki, size_t spki_len) KG_WARN_UNUSED;

/** How a signature input is given: the message itself (hashed with SHA-256
 *  by ECDSA/RSA; signed directly by Ed25519) or a 32-byte SHA-256 digest
 *  computed by the caller (not allowed for Ed25519). */
typedef enum { KG_CRYPTO_INPUT_MESSAGE, KG_CRYPTO_INPUT_DIGEST } kg_crypto_input;
/** ECDSA signature encoding: ASN.1 DER (what `openssl dgst -verify` takes)
 *  or raw r||s (64 bytes). Ignored by Ed25519 and RSA. */
typedef enum { KG_CRYPTO_SIG_DER, KG_CRYPTO_SIG_RAW } kg_crypto_sig_format;

/** Sign. ECDSA signatures are always low-S (normalised for P-256 too);
 *  secp256k1 uses RFC 6979 deterministic nonces, P-256 OpenSSL's random
 *  nonces, Ed25519 is deterministic, RSA is RSASSA-PSS (SHA-256, MGF1-SHA-256,
 *  32-byte salt). DER signatures are strict DER.
 *  Returns KG_OK | KG_ERR_WRONG_KEY_USAGE (digest with Ed25519) |
 *  KG_ERR_BAD_INPUT (digest not 32 bytes, bad key) | KG_ERR_CRYPTO. */
kg_err kg_crypto_sign(kg_bytes *sig, kg_crypto_key_type t, const kg_secret *priv,
                      kg_crypto_input input, kg_crypto_sig_format format,
                      const uint8_t *data, size_t data_len) KG_WARN_UNUSED;

/** Finish an ECDSA signature made elsewhere (an HSM returns raw r || s with
 *  either S): normalise it to low-S like kg_crypto_sign and encode it in
 *  format. rs_len must be 64. Returns KG_OK | KG_ERR_BAD_INPUT (t is not
 *  P-256/secp256k1) | KG_ERR_CRYPTO (not 64 bytes) | KG_ERR_NOMEM. */
kg_err kg_crypto_ecdsa_finish(kg_bytes *sig, kg_crypto_key_type t, const uint8_t *rs, size_t rs_len,
                              kg_crypto_sig_format format) KG_WARN_UNUSED;

#define KG_CRYPTO_VERIFY_LOW_S 1u  /* reject high-S ECDSA signatures (Bitcoin's rule) */
/** Verify sig over data with the public key spki. The signature format is
 *  taken from format; DER must be strict DER (BER variants are rejected).
 *  High-S ECDSA signatures verify unless flags has KG_CRYPTO_VERIFY_LOW_S.
 *  Returns KG_OK | KG_ERR_VERIFY (bad signature, or a malformed one) |
 *  KG_ERR_BAD_INPUT (bad key, digest not 32 bytes) |
 *  KG_ERR_WRONG_KEY_USAGE (digest with Ed25519). */
kg_err kg_crypto_verify(kg_crypto_key_type t, const uint8_t *spki, size_t spki_len,
                        kg_crypto_input input, kg_crypto_sig_format format, unsigned flags,
                        const uint8_t *data, size_t data_len,
                        const uint8_t *sig, size_t sig_len) KG_WARN_UNUSED;

/** RSAES-OAEP with SHA-256 and MGF1-SHA-256 and an optional label (NULL
 *  when label_len is 0), to an RSA-2048/3072/4096 SPKI. pt_len is at most
 *  modulus bytes - 66. Returns KG_OK | KG_ERR_BAD_INPUT | KG_ERR_CRYPTO. */
kg_err kg_crypto_rsa_oaep_encrypt(kg_bytes *ct, const uint8_t *spki, size_t spki_len,
                                  const uint8_t *label, size_t label_len,
                                  const uint8_t *pt, size_t pt_len) KG_WARN_UNUSED;
/** Decrypt with an RSA PKCS#8 private key; *pt is a new kg_secret.
 *  Returns KG_OK | KG_ERR_DECRYPT (any padding, label or size problem, one
 *  error and one message for all: no padding oracle) | KG_ERR_BAD_INPUT
 *  (the private key is not RSA). */
kg_err kg_crypto_rsa_oaep_decrypt(kg_secret **pt, const kg_secret *priv,
                                  const uint8_t *label, size_t label_len,
                                  const uint8_t *ct, size_t ct_len) KG_WARN_UNUSED;

/* --------------------------------------------------- Shamir over GF(2^8) */

/** Split secret into n shares of which any t recover it (1 <= t <= n <= 255).
 *  Each share is 1 + secret_len bytes: its x coordinate (1..n) then the
 *  y bytes. shares[] receives n new kg_secret buffers. Constant time in the
 *  secret (no log/exp tables). */
kg_err kg_crypto_shamir_split(kg_secret **shares, const kg_secret *secret,
                              unsigned n, unsigned t) KG_WARN_UNUSED;
/** Recombine k shares (all the same length, distinct non-zero x). With fewer
 *  than the threshold the result is garbage: callers authenticate the
 *  result (the KMS checks it with AES-GCM). Returns KG_ERR_BAD_INPUT on
 *  length mismatch or duplicate x. */
kg_err kg_crypto_shamir_combine(kg_secret **secret, const kg_secret *const *shares,
                                unsigned k) KG_WARN_UNUSED;

/* ============================================================ for chains
 * Primitives the chain and wallet layers need (Bitcoin, Ethereum, Cosmos,
 * Solana, BIP32/39, keystores). Plain C over the same three libraries; no
 * allocation where the output has a fixed size (secp256k1, Ed25519,
 * hashes), so that the firmware can reuse them. Implemented in
 * src/crypto/chainprims.c (hashes, KDFs, ciphers) and chainkeys.c (curves).
 *
 * Common rules: a pointer may be NULL only when its length is 0 or the doc
 * says so; on any error every output is zeroed, and so is an in/out secret
 * key (tweak a copy when the old key is still needed, as BIP32 does when it
 * skips an index). Secret keys, seeds, tweaks of secret keys, passwords and
 * plaintexts are handled in constant time (libsecp256k1, libsodium; OpenSSL
 * with BN_FLG_CONSTTIME for P-256); whether a key or result is valid is
 * public. Digests, messages, public keys and signatures are public. */

#define KG_RIPEMD160_BYTES 20
#define KG_KECCAK256_BYTES 32

/** RIPEMD-160 (OpenSSL: the default provider, or the legacy provider on
 *  OpenSSL < 3.0.7), HASH160 = RIPEMD160(SHA256(x)), SHA256d =
 *  SHA256(SHA256(x)). Cannot fail; abort if OpenSSL is broken (as
 *  kg_crypto_sha256). */
void kg_crypto_ripemd160(uint8_t out[static 20], const uint8_t *in, size_t len);
void kg_crypto_hash160(uint8_t out[static 20], const uint8_t *in, size_t len);
void kg_crypto_sha256d(uint8_t out[static 32], const uint8_t *in, size_t len);
/** BIP340 tagged hash: SHA256(SHA256(tag) || SHA256(tag) || msg); tag is a
 *  NUL-terminated string ("TapTweak", "BIP0340/challenge", ...). */
void kg_crypto_tagged_hash(uint8_t out[static 32], const char *tag, const uint8_t *msg, size_t len);
/** Keccak-256 as Ethereum uses it (original Keccak padding 0x01, not SHA3's
 *  0x06; rate 136 bytes). Ours (FIPS 202 Keccak-f[1600]): OpenSSL 3.0 has
 *  no Keccak-256. Constant time in the data. The incremental context is a
 *  plain struct: no allocation, nothing to free; init before update/final,
 *  final wipes it. */
void kg_crypto_keccak256(uint8_t out[static 32], const uint8_t *in, size_t len);
typedef struct { uint64_t st[25]; size_t pos; } kg_crypto_keccak_ctx;
void kg_crypto_keccak256_init(kg_crypto_keccak_ctx *ctx);
void kg_crypto_keccak256_update(kg_crypto_keccak_ctx *ctx, const uint8_t *in, size_t len);
void kg_crypto_keccak256_final(uint8_t out[static 32], kg_crypto_keccak_ctx *ctx);

/** PBKDF2 (RFC 8018) with HMAC-SHA512 (BIP39 seeds: pass = NFKD mnemonic,
 *  salt = "mnemonic" || passphrase, 2048 iterations, 64 bytes) and
 *  HMAC-SHA256 (keystore v3), through OpenSSL. out_len, pass_len, salt_len
 *  and iterations must each be 1..INT_MAX (pass and salt may be empty).
 *  Returns KG_OK | KG_ERR_BAD_INPUT | KG_ERR_CRYPTO. */
kg_err kg_crypto_pbkdf2_sha512(uint8_t *out, size_t out_len, const uint8_t *pass, size_t pass_len,
                               const uint8_t *salt, size_t salt_len, uint32_t iterations) KG_WARN_UNUSED;
kg_err kg_crypto_pbkdf2_sha256(uint8_t *out, size_t out_len, const uint8_t *pass, size_t pass_len,
                               const uint8_t *salt, size_t salt_len, uint32_t iterations) KG_WARN_UNUSED;
/** scrypt (RFC 7914). N a power of two > 1, r, p >= 1, r*p < 2^30, and the
 *  memory it needs, 128*r*(N+p+2) bytes, at most 2 GiB. OpenSSL's
 *  EVP_PBE_scrypt does the work; for N >= 2^(16r), which RFC 7914 forbids
 *  but Ethereum keystores use (N = 2^18, r = 1), libsodium's scrypt does.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (parameters) | KG_ERR_CRYPTO (out of
 *  memory). */
kg_err kg_crypto_scrypt(uint8_t *out, size_t out_len, const uint8_t *pass, size_t pass_len,
                        const uint8_t *salt, size_t salt_len, uint64_t n, uint32_t r, uint32_t p) KG_WARN_UNUSED;
/** AES-128-CTR (keystore v3): 16-byte key, 16-byte initial counter block
 *  incremented as a 128-bit big-endian number; out may equal in. Encrypts
 *  and decrypts. Returns KG_OK | KG_ERR_CRYPTO. */
kg_err kg_crypto_aes128ctr(uint8_t *out, const uint8_t key[static 16], const uint8_t iv[static 16],
                           const uint8_t *in, size_t len) KG_WARN_UNUSED;
/** Argon2id v1.3 (libsodium crypto_pwhash, ALG_ARGON2ID13). out_len >= 16,
 *  opslimit >= 1, memlimit >= 8192 bytes (libsodium's limits). Returns
 *  KG_OK | KG_ERR_BAD_INPUT (limits) | KG_ERR_NOMEM (memlimit not available). */
kg_err kg_crypto_argon2id(uint8_t *out, size_t out_len, const char *pass, size_t pass_len,
                          const uint8_t salt[static 16], uint64_t opslimit, size_t memlimit) KG_WARN_UNUSED;
/** XChaCha20-Poly1305 IETF (libsodium): ct holds pt_len + 16 bytes
 *  (ciphertext then tag); ct may equal pt. A random 24-byte nonce is safe.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (too long) | KG_ERR_CRYPTO. */
kg_err kg_crypto_xchacha_encrypt(uint8_t *ct, const uint8_t key[static 32], const uint8_t nonce[static 24],
                                 const uint8_t *aad, size_t aad_len,
                                 const uint8_t *pt, size_t pt_len) KG_WARN_UNUSED;
/** Decrypt ct_len bytes (>= 16) into pt (ct_len - 16 bytes; may be NULL
 *  when that is 0). KG_ERR_DECRYPT on a wrong key, nonce or aad, or damaged
 *  or truncated data (pt is wiped). */
kg_err kg_crypto_xchacha_decrypt(uint8_t *pt, const uint8_t key[static 32], const uint8_t nonce[static 24],
                                 const uint8_t *aad, size_t aad_len,
                                 const uint8_t *ct, size_t ct_len) KG_WARN_UNUSED;

/* ---- secp256k1 key arithmetic (libsecp256k1), for BIP32, Taproot, Ethereum */

/** Check a 32-byte secret key (0 < k < n). */
bool kg_crypto_k1_seckey_valid(const uint8_t seckey[static 32]);
/** Public key of seckey: 33-byte compressed, or 65-byte uncompressed when
 *  out_len is 65 (any other out_len is a contract violation, KG_ERR_ARG).
 *  Returns KG_OK | KG_ERR_BAD_INPUT (invalid seckey). */
kg_err kg_crypto_k1_pubkey(uint8_t *out, size_t out_len, const uint8_t seckey[static 32]) KG_WARN_UNUSED;
/** Parse any SEC1 encoding (33/65 bytes; hybrid 0x06/0x07 too, as
 *  libsecp256k1 does) and re-serialize to out_len (33 or 65).
 *  Returns KG_OK | KG_ERR_BAD_INPUT (not a point). */
kg_err kg_crypto_k1_pubkey_convert(uint8_t *out, size_t out_len, const uint8_t *in, size_t in_len) KG_WARN_UNUSED;
/** seckey = seckey + tweak mod n (BIP32 private derivation). KG_ERR_BAD_INPUT
 *  (seckey wiped) when seckey is invalid, tweak >= n or the sum is 0 (the
 *  caller moves to the next index). */
kg_err kg_crypto_k1_seckey_tweak_add(uint8_t seckey[static 32], const uint8_t tweak[static 32]) KG_WARN_UNUSED;
/** pub33 = pub33 + tweak*G (BIP32 public derivation), compressed in and out.
 *  KG_ERR_BAD_INPUT (pub33 zeroed) for a bad point, tweak >= n or infinity. */
kg_err kg_crypto_k1_pubkey_tweak_add(uint8_t pub33[static 33], const uint8_t tweak[static 32]) KG_WARN_UNUSED;
/** ECDSA over a 32-byte digest, RFC 6979, low-S: 64-byte r||s and the
 *  recovery id (0..3), as Ethereum and Bitcoin message signing need.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (invalid seckey). */
kg_err kg_crypto_k1_sign_recoverable(uint8_t sig64[static 64], int *recid, const uint8_t seckey[static 32],
                                     const uint8_t digest[static 32]) KG_WARN_UNUSED;
/** Recover the 65-byte uncompressed public key from a recoverable signature.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (recid not 0..3) | KG_ERR_VERIFY (r or s
 *  out of range, or no key recovers). High-S signatures are accepted here:
 *  callers that need low-S (Ethereum transactions) check it themselves. */
kg_err kg_crypto_k1_recover(uint8_t pub65[static 65], const uint8_t sig64[static 64], int recid,
                            const uint8_t digest[static 32]) KG_WARN_UNUSED;
/** Verify a compact r||s ECDSA signature (low-S required) with a 33/65-byte key.
 *  Returns KG_OK | KG_ERR_VERIFY | KG_ERR_BAD_INPUT (bad public key). */
kg_err kg_crypto_k1_verify(const uint8_t *pub, size_t pub_len, const uint8_t sig64[static 64],
                           const uint8_t digest[static 32]) KG_WARN_UNUSED;
/** 32-byte x-only public key of seckey (BIP340) and the parity of its full
 *  point's y (1 = odd); parity may be NULL. KG_ERR_BAD_INPUT for a bad key. */
kg_err kg_crypto_k1_xonly(uint8_t xonly[static 32], int *parity, const uint8_t seckey[static 32]) KG_WARN_UNUSED;
/** BIP341 key-path tweak: the output key Q = P + tG with
 *  t = hash_TapTweak(P || merkle_root), from an x-only internal key P;
 *  merkle_root (32 bytes) is NULL for a key with no script tree, and then
 *  t = hash_TapTweak(P). out_xonly gets x(Q), parity (may be NULL) the
 *  parity of Q's y (the control block's bit). KG_ERR_BAD_INPUT when P is
 *  not on the curve or t >= n. */
kg_err kg_crypto_k1_taproot_output(uint8_t out_xonly[static 32], int *parity,
                                   const uint8_t internal_xonly[static 32],
                                   const uint8_t *merkle_root) KG_WARN_UNUSED;
/** The matching secret key for signing the key path, in place (BIP341
 *  taproot_tweak_seckey): d is negated if d*G has odd y, then t is added.
 *  merkle_root as for kg_crypto_k1_taproot_output. */
kg_err kg_crypto_k1_taproot_tweak_seckey(uint8_t seckey[static 32], const uint8_t *merkle_root) KG_WARN_UNUSED;
/** BIP340 Schnorr sign of a 32-byte message with 32 bytes of aux randomness
 *  (NULL: 32 fresh bytes from the CSPRNG, as BIP340 recommends), and
 *  verify against an x-only key (any message length). sign returns KG_OK |
 *  KG_ERR_BAD_INPUT (invalid seckey); verify KG_OK | KG_ERR_VERIFY |
 *  KG_ERR_BAD_INPUT (xonly is not a valid x coordinate). */
kg_err kg_crypto_k1_schnorr_sign(uint8_t sig64[static 64], const uint8_t seckey[static 32],
                                 const uint8_t msg32[static 32], const uint8_t *aux32) KG_WARN_UNUSED;
kg_err kg_crypto_k1_schnorr_verify(const uint8_t sig64[static 64], const uint8_t *msg, size_t msg_len,
                                   const uint8_t xonly[static 32]) KG_WARN_UNUSED;
/** BIP340 sign of a message of any length (BIP340 "Messages of arbitrary
 *  size"; secp256k1_schnorrsig_sign_custom). Same rules as schnorr_sign. */
kg_err kg_crypto_k1_schnorr_sign_custom(uint8_t sig64[static 64], const uint8_t seckey[static 32],
                                        const uint8_t *msg, size_t msg_len,
                                        const uint8_t *aux32) KG_WARN_UNUSED;

/* ---- Ed25519 with raw keys (libsodium), for SLIP-10 and Solana */

/** 32-byte public key of a 32-byte RFC 8032 seed. Sign is deterministic
 *  (RFC 8032 pure Ed25519); verify is strict (canonical S, no small-order
 *  or non-canonical key or R) and returns KG_OK | KG_ERR_VERIFY. */
kg_err kg_crypto_ed25519_pubkey(uint8_t pub[static 32], const uint8_t seed[static 32]) KG_WARN_UNUSED;
kg_err kg_crypto_ed25519_sign(uint8_t sig[static 64], const uint8_t seed[static 32],
                              const uint8_t *msg, size_t len) KG_WARN_UNUSED;
kg_err kg_crypto_ed25519_verify(const uint8_t sig[static 64], const uint8_t pub[static 32],
                                const uint8_t *msg, size_t len) KG_WARN_UNUSED;

/* ---- NIST P-256 raw scalar arithmetic (OpenSSL), for SLIP-10 nist256p1 */

/** Compressed public key of a 32-byte big-endian scalar.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (not 0 < k < n) | KG_ERR_NOMEM | KG_ERR_CRYPTO. */
kg_err kg_crypto_p256_pubkey(uint8_t pub33[static 33], const uint8_t seckey[static 32]) KG_WARN_UNUSED;
/** seckey = seckey + tweak mod n; KG_ERR_BAD_INPUT (seckey wiped) when
 *  seckey is invalid, tweak >= n or the result is 0. */
kg_err kg_crypto_p256_seckey_tweak_add(uint8_t seckey[static 32], const uint8_t tweak[static 32]) KG_WARN_UNUSED;
/** 0 < seckey < n. */
bool kg_crypto_p256_seckey_valid(const uint8_t seckey[static 32]);

#endif
