/* Declarations shared by the files of the crypto module only.
 *
 * The public contract is include/kashguard/crypto.h; everything here is an
 * implementation detail: the lazily initialised library state (init.c), the
 * OpenSSL key plumbing (keys.c) and the strict ECDSA signature codec
 * (ecdsa.c). */
#ifndef KG_CRYPTO_INT_H
#define KG_CRYPTO_INT_H

#include <kashguard/crypto.h>

#include <openssl/evp.h>
#include <secp256k1.h>

/* ------------------------------------------------------------- init.c */

/** Run kg_crypto_init once (pthread_once) and report whether it worked.
 *  Every public entry point that needs libsodium or libsecp256k1 calls
 *  this, so forgetting kg_crypto_init() is not a crash. */
kg_err kg_crypto_ensure(void) KG_WARN_UNUSED;
/** Pre-fetched OpenSSL algorithms (init.c): never NULL, shared read-only. */
const EVP_MD *kg_crypto_md_sha256(void);
const EVP_MD *kg_crypto_md_sha512(void);
const EVP_CIPHER *kg_crypto_cipher_aes256gcm(void);
/** The process-wide, randomised secp256k1 context (SIGN|VERIFY). Only
 *  valid after kg_crypto_ensure() returned KG_OK. Shared read-only by all
 *  threads: never pass it to a function that takes a non-const context. */
const secp256k1_context *kg_crypto_secp(void);

/* ------------------------------------------------------------- keys.c */

/** Size in bytes of an EC scalar / coordinate for both curves we support. */
#define KG_EC_SCALAR_BYTES 32
/** An uncompressed SEC1 point: 0x04 || X || Y. */
#define KG_EC_POINT_BYTES 65

/** True for the ECDSA key types (P-256, secp256k1). */
int kg_crypto_is_ec(kg_crypto_key_type t);
/** True for the RSA key types; *bits (optional) receives the modulus size. */
int kg_crypto_is_rsa(kg_crypto_key_type t, int *bits);
/** The OpenSSL group name of an EC key type ("prime256v1", "secp256k1"). */
const char *kg_crypto_ec_group_name(kg_crypto_key_type t);

/** Parse SPKI DER into an OpenSSL key of type t (curve and RSA modulus size
 *  checked, trailing bytes rejected). Returns KG_OK | KG_ERR_BAD_INPUT. */
kg_err kg_crypto_pkey_from_spki(EVP_PKEY **out, kg_crypto_key_type t,
                                const uint8_t *spki, size_t spki_len) KG_WARN_UNUSED;
/** An OpenSSL private key from a native-encoded private key of type t
 *  (P-256, Ed25519 or RSA; secp256k1 keys never enter OpenSSL). */
kg_err kg_crypto_pkey_from_priv(EVP_PKEY **out, kg_crypto_key_type t,
                                const kg_secret *priv) KG_WARN_UNUSED;
/** The uncompressed point of an EC OpenSSL key (65 bytes). */
kg_err kg_crypto_ec_point(uint8_t out[KG_EC_POINT_BYTES], const EVP_PKEY *pkey) KG_WARN_UNUSED;

/* ------------------------------------------------------------ ecdsa.c */

/** Strict DER decoding of an ECDSA-Sig-Value into r||s (32 bytes each).
 *  Rejects every BER variant (long-form or non-minimal lengths, negative or
 *  zero-padded integers, trailing data) and values wider than 32 bytes.
 *  Returns 1 on success, 0 otherwise. Range checks (0 < r,s < n) are left
 *  to the verifier. */
int kg_ecdsa_der_parse(uint8_t rs[64], const uint8_t *der, size_t der_len);
/** DER encoding of r||s into out (at most 72 bytes); returns the length. */
size_t kg_ecdsa_der_encode(uint8_t out[72], const uint8_t rs[64]);

/** ECDSA over P-256 (OpenSSL) and secp256k1 (libsecp256k1): sign a 32-byte
 *  digest into r||s (always low-S) / verify r||s over a digest. */
kg_err kg_ecdsa_sign_digest(uint8_t rs[64], kg_crypto_key_type t, const kg_secret *priv,
                            const uint8_t digest[32]) KG_WARN_UNUSED;
kg_err kg_ecdsa_verify_digest(kg_crypto_key_type t, const uint8_t *spki, size_t spki_len,
                              unsigned flags, const uint8_t digest[32],
                              const uint8_t rs[64]) KG_WARN_UNUSED;

#endif
