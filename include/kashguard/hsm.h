/* KashGuard hsm layer: the PKCS#11 client (foundation of the HSM backing
 * for the KMS and the HSM fleet manager).
 *
 * A module (a PKCS#11 shared library such as SoftHSM2's
 * /usr/lib/softhsm/libsofthsm2.so) is loaded once per path and reference
 * counted, so two users of one module do not C_Initialize it twice. A token
 * is opened by label with a PIN into a kg_hsm_token: a thread-safe, bounded
 * pool of logged-in sessions. An operation that fails with
 * CKR_SESSION_HANDLE_INVALID / CKR_SESSION_CLOSED / CKR_USER_NOT_LOGGED_IN
 * (fresh session and re-login) or CKR_DEVICE_REMOVED / CKR_TOKEN_NOT_PRESENT
 * (reconnect: drop the pool, find the token by label again, log in again)
 * is retried once.
 *
 * Keys are generated on the token, sensitive and non-extractable, with a
 * label and a CKA_ID. Every PKCS#11 failure becomes a kg_err whose detail
 * names the function and the CKR_ code ("C_Sign on token 'kg-test':
 * CKR_KEY_HANDLE_INVALID"). PINs are held only in kg_secret memory and never
 * appear in a detail or a log line.
 *
 * No PKCS#11 types appear here: slot ids, flags and mechanisms are the
 * CK_ULONG values of the PKCS#11 specification as unsigned long. */
#ifndef KASHGUARD_HSM_H
#define KASHGUARD_HSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "base.h"

typedef struct kg_hsm_module kg_hsm_module;
typedef struct kg_hsm_token kg_hsm_token;

/* --------------------------------------------------------------- modules */

/** Load the PKCS#11 module at path (dlopen, C_GetFunctionList, C_Initialize
 *  with CKF_OS_LOCKING_OK). A path already loaded returns the same module
 *  with its reference count raised. Returns KG_OK | KG_ERR_NOT_FOUND (no
 *  file at path; the detail names it) | KG_ERR_IO (not a PKCS#11 module) |
 *  KG_ERR_CRYPTO (C_Initialize failed) | KG_ERR_NOMEM. */
kg_err kg_hsm_module_load(kg_hsm_module **out, const char *path) KG_WARN_UNUSED KG_NONNULL(1, 2);
/** Drop one reference; the last one calls C_Finalize and unloads. NULL is ignored.
 *  Close every token of the module first. */
void kg_hsm_module_release(kg_hsm_module *m);
/** The path the module was loaded from. */
const char *kg_hsm_module_path(const kg_hsm_module *m);

/** One slot as C_GetSlotInfo / C_GetTokenInfo describe it. Strings are
 *  NUL-terminated with the PKCS#11 blank padding removed; the token fields
 *  are empty/zero when token_present is false. */
typedef struct {
    unsigned long slot_id;
    bool token_present;
    char slot_description[65];
    char label[33];
    char manufacturer[33];
    char model[17];
    char serial[17];
    unsigned long token_flags;         /* CKF_TOKEN_INITIALIZED, CKF_LOGIN_REQUIRED, ... */
    unsigned long free_public_memory;  /* bytes; ULONG_MAX when the token does not say */
    unsigned long free_private_memory;
    unsigned long total_public_memory;
    unsigned long total_private_memory;
} kg_hsm_slot_info;

/** Every slot of m (C_GetSlotList(FALSE)). *out is a malloc'd array of *n
 *  entries for free(). Returns KG_OK | KG_ERR_CRYPTO | KG_ERR_NOMEM. */
kg_err kg_hsm_slots(kg_hsm_module *m, kg_hsm_slot_info **out, size_t *n) KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
/** The mechanisms (CKM_* values) slot_id supports, as a malloc'd array for free(). */
kg_err kg_hsm_mechanisms(kg_hsm_module *m, unsigned long slot_id, unsigned long **out, size_t *n)
    KG_WARN_UNUSED KG_NONNULL(1, 3, 4);

/* ---------------------------------------------------------------- tokens */

/** Default bound of the session pool of a token. */
#define KG_HSM_DEFAULT_SESSIONS 8

/** Open the token labelled label (exact match after blank trimming) and log
 *  in as the user with pin. max_sessions bounds the pool (0 = default);
 *  callers beyond it wait for a free session. The token keeps its own copy of
 *  the PIN in guarded memory for re-login. Returns KG_OK |
 *  KG_ERR_NOT_FOUND (no such token) | KG_ERR_UNAUTHENTICATED ("wrong PIN
 *  for token X") | KG_ERR_DENIED (PIN locked) | KG_ERR_CRYPTO | KG_ERR_NOMEM. */
kg_err kg_hsm_token_open(kg_hsm_token **out, kg_hsm_module *m, const char *label,
                         const kg_secret *pin, size_t max_sessions) KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4);
/** Close the token's sessions and free it. NULL is ignored. Other users of
 *  the same token in this process keep their login only while one of their
 *  sessions stays open (PKCS#11 login state is per application). */
void kg_hsm_token_close(kg_hsm_token *t);
/** The token's label and current slot id. */
const char *kg_hsm_token_label(const kg_hsm_token *t);
/** Whether the token lists mechanism (CKM_* value). */
bool kg_hsm_token_has_mechanism(kg_hsm_token *t, unsigned long mechanism);

/* ------------------------------------------------------------------ keys */

typedef enum {
    KG_HSM_KEY_AES256,       /* CKK_AES, 32 bytes: AES-256-GCM */
    KG_HSM_KEY_EC_P256,      /* CKK_EC on prime256v1: ECDSA */
    KG_HSM_KEY_EC_SECP256K1, /* CKK_EC on secp256k1: ECDSA */
    KG_HSM_KEY_RSA3072,      /* CKK_RSA, 3072 bits, e = 65537: RSA-PSS SHA-256 */
    KG_HSM_KEY_ED25519,      /* CKK_EC_EDWARDS: EdDSA, only if the token lists it */
} kg_hsm_key_type;

/** Largest CKA_ID accepted. */
#define KG_HSM_MAX_ID 64

/** A reference to a key on a token (no key material). Plain value: copy it
 *  freely; it stays valid while the token handle lives. The object handles
 *  are a cache: after a reconnect the key is found again by CKA_ID. */
typedef struct {
    kg_hsm_key_type type;
    uint8_t id[KG_HSM_MAX_ID];
    size_t id_len;
    unsigned long priv;   /* private or secret key object handle */
    unsigned long pub;    /* public key object handle (0 for AES) */
    unsigned gen;         /* token generation the handles belong to */
} kg_hsm_key;

/** Generate a key of type on t, sensitive and non-extractable, as token
 *  objects labelled label with CKA_ID id. Returns KG_OK | KG_ERR_BAD_INPUT
 *  (empty or too long id) | KG_ERR_CONFLICT (a key with this id exists) |
 *  KG_ERR_WRONG_KEY_USAGE (the token lacks the mechanism, e.g. Ed25519) |
 *  KG_ERR_CRYPTO | KG_ERR_NOMEM. */
kg_err kg_hsm_key_generate(kg_hsm_token *t, kg_hsm_key *out, kg_hsm_key_type type,
                           const char *label, const uint8_t *id, size_t id_len) KG_WARN_UNUSED KG_NONNULL(1, 2, 4, 5);
/** Find the key with CKA_ID id. Returns KG_OK | KG_ERR_NOT_FOUND | KG_ERR_CRYPTO. */
kg_err kg_hsm_key_find(kg_hsm_token *t, kg_hsm_key *out, const uint8_t *id, size_t id_len)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
/** CKA_SENSITIVE and CKA_EXTRACTABLE of the key's private/secret object. */
kg_err kg_hsm_key_attrs(kg_hsm_token *t, const kg_hsm_key *key, bool *sensitive, bool *extractable)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4);
/** The public key as DER SubjectPublicKeyInfo (EC point with its curve, RSA
 *  modulus and exponent, Ed25519 point). KG_ERR_WRONG_KEY_USAGE for AES. */
kg_err kg_hsm_key_public_der(kg_hsm_token *t, kg_bytes *out, const kg_hsm_key *key)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3);

/* ------------------------------------------------------------ operations */

#define KG_HSM_GCM_IV_BYTES 12
#define KG_HSM_GCM_TAG_BYTES 16

/** AES-256-GCM (CKM_AES_GCM, 128-bit tag) with a 12-byte IV the caller
 *  never reuses under one key. out gets ciphertext || tag. */
kg_err kg_hsm_aes_gcm_encrypt(kg_hsm_token *t, kg_bytes *out, const kg_hsm_key *key,
                              const uint8_t iv[KG_HSM_GCM_IV_BYTES],
                              const uint8_t *aad, size_t aad_len,
                              const uint8_t *pt, size_t pt_len) KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4);
/** The inverse. Returns KG_ERR_DECRYPT when the tag, IV, AAD or ciphertext is wrong. */
kg_err kg_hsm_aes_gcm_decrypt(kg_hsm_token *t, kg_bytes *out, const kg_hsm_key *key,
                              const uint8_t iv[KG_HSM_GCM_IV_BYTES],
                              const uint8_t *aad, size_t aad_len,
                              const uint8_t *ct, size_t ct_len) KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4);

typedef enum {
    KG_HSM_SIG_DER, /* ECDSA: DER SEQUENCE { r, s } (X.509 / OpenSSL form) */
    KG_HSM_SIG_RAW, /* ECDSA: r || s, 32 bytes each, big-endian (PKCS#11 form) */
} kg_hsm_sig_format;

/** Sign msg with key:
 *   EC keys:  SHA-256 of msg computed here, then CKM_ECDSA on the token,
 *             returned in fmt (DER or raw r||s). The low-s form is not forced.
 *   RSA keys: CKM_SHA256_RSA_PKCS_PSS, MGF1-SHA-256, 32-byte salt (fmt ignored).
 *   Ed25519:  CKM_EDDSA (pure Ed25519) over msg, 64 bytes (fmt ignored).
 *  KG_ERR_WRONG_KEY_USAGE for AES keys. */
kg_err kg_hsm_sign(kg_hsm_token *t, kg_bytes *sig, const kg_hsm_key *key, kg_hsm_sig_format fmt,
                   const uint8_t *msg, size_t msg_len) KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
/** ECDSA over a 32-byte digest the caller computed (e.g. a Bitcoin sighash). */
kg_err kg_hsm_sign_digest(kg_hsm_token *t, kg_bytes *sig, const kg_hsm_key *key, kg_hsm_sig_format fmt,
                          const uint8_t digest[32]) KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 5);

/** "CKR_PIN_INCORRECT" for rv, or "CKR_0x..." in buf for unknown values. */
const char *kg_hsm_rv_name(unsigned long rv, char buf[static 24]);

#endif
